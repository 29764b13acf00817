"""
kube-apiserver's C{WithAuthorization}: the slot for RBAC (a later issue).

An authorizer answers C{authorize(user, request_info)} with a decision
(L{ALLOW}, L{DENY} or L{NO_OPINION}) and a reason; anything but allow is
403 with kube-apiserver's Forbidden Status; an authorizer that raises is
500. Until an authorizer is configured the chain has no such filter and
every authenticated request is allowed.
"""

from __future__ import annotations

from typing import Any, Protocol, Tuple

from twisted.logger import Logger

from kapi_twisted import apierrors
from kapi_twisted.server.filters._finish import OnFinish
from kapi_twisted.server.responses import write_error, write_text

log = Logger()

ALLOW = "allow"
DENY = "deny"
NO_OPINION = "no-opinion"


class Authorizer(Protocol):
    def authorize(self, user: Any, info: Any) -> Tuple[str, str]:
        """C{(decision, reason)} for C{user} doing what C{info} (a RequestInfo) describes."""
        ...


def _sanitize(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def forbidden(user: Any, info: Any, reason: str = "") -> apierrors.APIError:
    """kube-apiserver's C{ForbiddenStatusError} for this request."""
    name = user.name if user is not None else ""
    if not info.is_resource_request:
        message = f'User "{name}" cannot {info.verb} path "{info.path}"'
    else:
        resource = info.resource
        if info.subresource:
            resource += "/" + info.subresource
        where = (f'in the namespace "{info.namespace}"' if info.namespace
                 else "at the cluster scope")
        message = (f'User "{name}" cannot {info.verb} resource "{resource}" '
                   f'in API group "{info.api_group}" {where}')
    message = _sanitize(message)
    if reason:
        message = f"{message}: {reason}"
    if not info.resource and not info.api_group:
        error = apierrors.APIError(403, apierrors.FORBIDDEN, f"forbidden: {message}", {})
    else:
        error = apierrors.forbidden(info.resource, info.name, message, info.api_group)
    error.headers["X-Content-Type-Options"] = "nosniff"
    return error


class AuthorizationFilter:
    def __init__(self, authorizer: Authorizer) -> None:
        self.authorizer = authorizer

    def __call__(self, request: Any, on_finish: OnFinish) -> bool:
        info = request.request_info
        try:
            decision, reason = self.authorizer.authorize(request.user, info)
        except Exception as e:
            log.failure("Authorization failed for {uri}", uri=request.uri)
            write_text(request, 500,
                       f'Internal Server Error: "{request.uri.decode("latin-1")}": {e}')
            return False
        if decision == ALLOW:
            return True
        write_error(request, forbidden(request.user, info, reason))
        return False
