"""
The patch algorithms behind PATCH: JSON patch (RFC 6902), JSON merge patch
(RFC 7386) and Kubernetes strategic merge patch.

They are pure functions over decoded JSON, with no Twisted or HTTP in them;
the REST layer picks one by Content-Type, calls it on the stored object and
turns a L{PatchFailure} into a C{Status} with the failure's C{code} and
C{reason}::

    from kapi_twisted.patch import json_patch, merge_patch, strategic
    from kapi_twisted.patch import OpenAPIPatchSchema, PatchFailure

    schema = OpenAPIPatchSchema.for_definition(definitions, "io.k8s.api.apps.v1.Deployment")
    try:
        new = strategic.apply(stored, patch_body, schema)
    except PatchFailure as e:
        raise APIError(e.code, e.reason, e.message)

None of them modifies its arguments; each returns a new document.
"""

from . import json_patch, merge_patch, strategic
from ._values import parse as decode
from .errors import PatchError, PatchFailure, PatchFormatError, PatchTooLargeError
from .schema import OpenAPIPatchSchema, PatchSchema, find_definition

__all__ = [
    "decode",
    "json_patch",
    "merge_patch",
    "strategic",
    "PatchFailure",
    "PatchError",
    "PatchFormatError",
    "PatchTooLargeError",
    "PatchSchema",
    "OpenAPIPatchSchema",
    "find_definition",
]
