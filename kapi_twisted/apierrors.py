"""
Errors as values: every failure the API reports is an L{APIError} carrying a
Kubernetes C{Status}, raised anywhere below the handlers and rendered once.

The constructors mirror k8s.io/apimachinery/pkg/api/errors so that code,
reason, message and details match what kube-apiserver sends.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Optional, Sequence

# Reasons (metav1.StatusReason).
BAD_REQUEST = "BadRequest"
UNAUTHORIZED = "Unauthorized"
FORBIDDEN = "Forbidden"
NOT_FOUND = "NotFound"
ALREADY_EXISTS = "AlreadyExists"
CONFLICT = "Conflict"
GONE = "Gone"
EXPIRED = "Expired"
INVALID = "Invalid"
SERVER_TIMEOUT = "ServerTimeout"
TIMEOUT = "Timeout"
TOO_MANY_REQUESTS = "TooManyRequests"
METHOD_NOT_ALLOWED = "MethodNotAllowed"
NOT_ACCEPTABLE = "NotAcceptable"
REQUEST_ENTITY_TOO_LARGE = "RequestEntityTooLarge"
UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaType"
INTERNAL_ERROR = "InternalError"
SERVICE_UNAVAILABLE = "ServiceUnavailable"

# Cause types (metav1.CauseType), serialised under the key "reason".
FIELD_VALUE_NOT_FOUND = "FieldValueNotFound"
FIELD_VALUE_REQUIRED = "FieldValueRequired"
FIELD_VALUE_DUPLICATE = "FieldValueDuplicate"
FIELD_VALUE_INVALID = "FieldValueInvalid"
FIELD_VALUE_NOT_SUPPORTED = "FieldValueNotSupported"
FIELD_VALUE_FORBIDDEN = "FieldValueForbidden"
FIELD_VALUE_TOO_LONG = "FieldValueTooLong"
FIELD_VALUE_TOO_MANY = "FieldValueTooMany"
FIELD_VALUE_TYPE_INVALID = "FieldValueTypeInvalid"
RESOURCE_VERSION_TOO_LARGE = "ResourceVersionTooLarge"


def qualified_resource(resource: str, group: str = "") -> str:
    """C{configmaps}, or C{deployments.apps} for a non-core group."""
    return f"{resource}.{group}" if group else resource


class APIError(Exception):
    """
    A failure with its Kubernetes C{Status}.

    @ivar code: the HTTP status code.
    @ivar reason: the C{StatusReason}.
    @ivar message: the human-readable message.
    @ivar details: the C{StatusDetails} dict, or L{None} to leave it out.
    @ivar headers: extra response headers (e.g. C{Retry-After}).
    """

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: Optional[dict] = None,
        headers: Optional[dict] = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = dict(headers or {})

    def status(self) -> dict:
        """The C{Status} object as kube-apiserver writes it."""
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            status["details"] = self.details
        status["code"] = self.code
        return status

    def body(self) -> bytes:
        """The compact JSON encoding of L{status}, as written on the wire."""
        return json.dumps(self.status(), separators=(",", ":")).encode()

    def __repr__(self) -> str:
        return f"APIError({self.code}, {self.reason!r}, {self.message!r})"


def _details(
    name: str = "", group: str = "", kind: str = "", **extra: Any
) -> dict:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    details.update({k: v for k, v in extra.items() if v not in (None, "", [])})
    return details


def not_found(resource: str, name: str, group: str = "") -> APIError:
    return APIError(
        404,
        NOT_FOUND,
        f'{qualified_resource(resource, group)} "{name}" not found',
        _details(name=name, group=group, kind=resource),
    )


def route_not_found() -> APIError:
    """go-restful's answer for an unknown route inside a served group-version."""
    return APIError(
        404, NOT_FOUND, "the server could not find the requested resource", {}
    )


def already_exists(resource: str, name: str, group: str = "") -> APIError:
    return APIError(
        409,
        ALREADY_EXISTS,
        f'{qualified_resource(resource, group)} "{name}" already exists',
        _details(name=name, group=group, kind=resource),
    )


def conflict(resource: str, name: str, reason_text: str, group: str = "") -> APIError:
    return APIError(
        409,
        CONFLICT,
        f"Operation cannot be fulfilled on {qualified_resource(resource, group)}"
        f' "{name}": {reason_text}',
        _details(name=name, group=group, kind=resource),
    )


OBJECT_MODIFIED = (
    "the object has been modified; please apply your changes to the latest "
    "version and try again"
)


def bad_request(message: str) -> APIError:
    return APIError(400, BAD_REQUEST, message)


def unauthorized(message: str = "Unauthorized") -> APIError:
    return APIError(401, UNAUTHORIZED, message)


def forbidden(
    resource: str, name: str, message: str, group: str = "",
    causes: Sequence[dict] = (),
) -> APIError:
    prefix = qualified_resource(resource, group)
    if name:
        prefix += f' "{name}"'
    details = _details(name=name, group=group, kind=resource)
    if causes:
        details["causes"] = list(causes)
    return APIError(403, FORBIDDEN, f"{prefix} is forbidden: {message}", details)


def gone(message: str) -> APIError:
    return APIError(410, GONE, message)


def expired(message: str) -> APIError:
    return APIError(410, EXPIRED, message)


def method_not_allowed(message: str = "") -> APIError:
    return APIError(
        405,
        METHOD_NOT_ALLOWED,
        message or "the server does not allow this method on the requested resource",
    )


def not_acceptable(accepted: Iterable[str]) -> APIError:
    return APIError(
        406,
        NOT_ACCEPTABLE,
        "only the following media types are accepted: " + ", ".join(accepted),
    )


def unsupported_media_type(content_type: str, accepted: Iterable[str]) -> APIError:
    return APIError(
        415,
        UNSUPPORTED_MEDIA_TYPE,
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted),
    )


MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024


def request_entity_too_large(message: str = "") -> APIError:
    return APIError(
        413,
        REQUEST_ENTITY_TOO_LARGE,
        message or f"Request entity too large: limit is {MAX_REQUEST_BODY_BYTES}",
    )


def field_error(cause_type: str, field: str, message: str) -> dict:
    """One C{StatusCause}: the cause type is written under C{reason}."""
    return {"reason": cause_type, "message": message, "field": field}


def invalid(
    kind: str, name: str, causes: Sequence[dict], group: str = ""
) -> APIError:
    """
    422 Invalid, with one cause per field path; the message joins the causes
    as kube-apiserver's C{NewInvalid} does.
    """
    qualified = f"{kind}.{group}" if group else kind
    texts = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
    if len(texts) == 1:
        summary = texts[0]
    else:
        summary = "[" + ", ".join(texts) + "]"
    message = f'{qualified} "{name}" is invalid: {summary}'
    details = _details(name=name, group=group, kind=kind)
    details["causes"] = list(causes)
    return APIError(422, INVALID, message, details)


def too_many_requests(message: str, retry_after: int = 1) -> APIError:
    return APIError(
        429,
        TOO_MANY_REQUESTS,
        message,
        {"retryAfterSeconds": retry_after},
        {"Retry-After": str(retry_after)},
    )


def timeout(message: str, retry_after: int = 0) -> APIError:
    details = {"retryAfterSeconds": retry_after} if retry_after else {}
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return APIError(504, TIMEOUT, f"Timeout: {message}", details, headers)


def server_timeout(resource: str, operation: str, retry_after: int = 0) -> APIError:
    return APIError(
        500,
        SERVER_TIMEOUT,
        f"The {operation} operation against {resource} could not be completed at "
        "this time, please try again.",
        _details(kind=resource, retryAfterSeconds=retry_after or None),
    )


def internal_error(cause: str) -> APIError:
    return APIError(
        500,
        INTERNAL_ERROR,
        f"Internal error occurred: {cause}",
        {"causes": [{"message": cause}]},
    )


def service_unavailable(message: str, retry_after: int = 0) -> APIError:
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return APIError(503, SERVICE_UNAVAILABLE, message, None, headers)
