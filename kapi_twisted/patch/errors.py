"""
The three ways a patch can fail, as plain exceptions the REST layer turns into a
Kubernetes C{Status}.

The patch algorithms are pure functions with no dependency on the HTTP layer,
so they do not build C{APIError}s themselves. Each class carries the HTTP
C{code} and the C{reason} kube-apiserver answers with; the handler maps them
(C{APIError(e.code, e.reason, ...)}).

How kube-apiserver words these (AS C{endpoints/handlers/patch.go}):
  - a JSON patch whose operation fails (a failed C{test} included) is 422
    C{Invalid} with the generic message C{the server rejected our request due
    to an error in our request} and the operation's error text as the single
    cause's message (C{NewGenericServerResponse}); L{PatchError.message} is
    that cause text;
  - a patch body that is not the right JSON shape is 400 C{BadRequest} with
    the message as is;
  - a JSON patch with more than 10,000 operations is 413
    C{RequestEntityTooLarge}, C{Request entity too large: The allowed maximum
    operations in a JSON patch is 10000, got N}.
"""

from __future__ import annotations

__all__ = ["PatchFailure", "PatchError", "PatchFormatError", "PatchTooLargeError"]


class PatchFailure(Exception):
    """
    Base of the patch errors: catch this one and answer with C{code} and
    C{reason}.

    @ivar code: the HTTP status code kube-apiserver answers with.
    @ivar reason: the C{StatusReason}.
    @ivar message: what went wrong, for the Status message or cause.
    """

    code = 500
    reason = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PatchError(PatchFailure):
    """
    The patch is well formed but cannot be applied to this document: a failed
    JSON-patch operation or C{test}, a strategic-merge list element without
    its merge key, and the like. Answered with 422 C{Invalid}.
    """

    code = 422
    reason = "Invalid"


class PatchFormatError(PatchFailure):
    """
    The patch document itself is malformed: not JSON, not the expected JSON
    shape, or a strategic-merge directive in an invalid format. Answered with
    400 C{BadRequest}.
    """

    code = 400
    reason = "BadRequest"


class PatchTooLargeError(PatchFailure):
    """
    The patch exceeds a size limit (more than 10,000 JSON-patch operations).
    Answered with 413 C{RequestEntityTooLarge}.
    """

    code = 413
    reason = "RequestEntityTooLarge"
