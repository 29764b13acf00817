"""
The connect subresources that need a kubelet (C{pods/log}, C{pods/exec},
C{pods/attach}, C{pods/portforward}, C{pods/proxy}, C{nodes/proxy},
C{services/proxy}): kapi runs no kubelet, so each answers at once with a
C{Status} that says so, after the usual 404 for a missing object.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import inlineCallbacks

from kapi_twisted.apierrors import SERVICE_UNAVAILABLE, APIError
from kapi_twisted.registry.interface import GetOptions, RequestContext

CONNECT_SUBRESOURCES = frozenset({"log", "exec", "attach", "portforward", "proxy"})


@inlineCallbacks
def refuse(store: Any, ctx: RequestContext, route: Any) -> Any:
    """Fail with the no-kubelet C{Status} (or 404 if the object is missing)."""
    if store is not None and route.name:
        yield store.get(ctx, route.namespace, route.name, GetOptions())
    what = route.info.group_resource
    raise APIError(
        503,
        SERVICE_UNAVAILABLE,
        f'{what} "{route.name}": {route.subresource} is not available: this API server '
        "runs no kubelet (kapi-twisted stores pods but never runs them)",
        {"name": route.name, "kind": route.info.plural},
    )
