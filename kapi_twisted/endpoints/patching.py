"""
PATCH bodies: the patch type from the C{Content-Type}, and the function the
store calls on the current object to get the patched one
(L{kapi_twisted.patch} does the work; failures become C{Status} errors).

Server-side apply (C{application/apply-patch+yaml}) is approximated: the
applied configuration is merged into the live object as a strategic merge
patch (creating the object when it is absent); field ownership, conflicts and
the removal of fields a manager stopped applying are not implemented yet.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

from kapi_twisted import apierrors
from kapi_twisted.endpoints import negotiation
from kapi_twisted.patch import PatchFailure, json_patch, merge_patch, strategic

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, APPLY_PATCH, STRATEGIC_MERGE_PATCH)


def patch_type(content_type: str, strategic_allowed: bool = True) -> str:
    """The patch type named by C{content_type} (parameters ignored), or 415."""
    media, _ = negotiation.parse_media_type(content_type or "")
    accepted = PATCH_TYPES if strategic_allowed else PATCH_TYPES[:3]
    if media in accepted:
        return media
    raise apierrors.unsupported_media_type(media, accepted)


def decode_patch(kind: str, body: bytes) -> Any:
    if kind == APPLY_PATCH:
        return negotiation.decode_yaml(body)
    return negotiation.decode_json(body)


@functools.lru_cache(maxsize=None)
def _schema(group: str, version: str, kind: str) -> Optional[Any]:
    from kapi_twisted.apis import openapi
    from kapi_twisted.patch import OpenAPIPatchSchema

    name = openapi.definition_name(group, version, kind)
    if name is None:
        return None
    return OpenAPIPatchSchema.for_definition(openapi.definitions(), name)


def strategic_allowed(group: str, version: str, kind: str) -> bool:
    """Strategic merge patch needs the type's merge metadata: built-ins have it, custom resources do not (415)."""
    return _schema(group, version, kind) is not None


def patch_function(kind: str, patch: Any, group: str, version: str,
                   object_kind: str) -> Callable[[dict], dict]:
    """C{apply_patch(current) -> new} for C{store.patch}."""

    def apply_patch(current: dict) -> dict:
        try:
            if kind == JSON_PATCH:
                return json_patch.apply(current, patch)
            if kind == MERGE_PATCH:
                return merge_patch.apply(current, patch)
            return strategic.apply(current, patch, _schema(group, version, object_kind))
        except PatchFailure as e:
            raise as_api_error(e) from None

    return apply_patch


def as_api_error(error: PatchFailure) -> apierrors.APIError:
    if error.code == 422:
        return apierrors.APIError(
            422, apierrors.INVALID,
            "the server rejected our request due to an error in our request",
            {"causes": [{"message": error.message}]},
        )
    return apierrors.APIError(error.code, error.reason, error.message)
