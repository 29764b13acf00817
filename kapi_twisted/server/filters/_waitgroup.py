"""
kube-apiserver's C{WithWaitGroup}: non-long-running requests are counted so
that graceful termination can wait for them; once the server no longer
accepts new requests, those that still arrive (on open connections) get 503
"apiserver is shutting down" with C{Retry-After: 1}, except health checks,
C{/metrics} and the apiserver's own loopback requests. Long-running requests
are registered instead, for shutdown to end them.
"""

from __future__ import annotations

from typing import Any, Optional

from kapi_twisted import apierrors
from kapi_twisted.server.filters._finish import OnFinish
from kapi_twisted.server.responses import JSON, Response, write_response

_EXEMPT_PATHS = (b"/readyz", b"/livez", b"/healthz", b"/metrics")
_LOOPBACK_AGENT = b"kube-apiserver/"
_SHUTTING_DOWN = apierrors.service_unavailable("apiserver is shutting down", retry_after=1)
_SHUTTING_DOWN_RESPONSE = Response(
    _SHUTTING_DOWN.body() + b"\n", 503, JSON,
    {"Retry-After": "1", "X-Content-Type-Options": "nosniff"},
)


def exempt_from_shutdown(request: Any) -> bool:
    """Requests still served after NotAcceptingNewRequest."""
    if request.path.startswith(_EXEMPT_PATHS):
        return True
    agent = request.getHeader(b"user-agent")
    return bool(agent) and agent.startswith(_LOOPBACK_AGENT)


class WaitGroupFilter:
    def __init__(self, wait_group: Any, long_running: Any, not_accepting: Optional[Any]) -> None:
        self.wait_group = wait_group
        self.long_running = long_running
        self.not_accepting = not_accepting

    def __call__(self, request: Any, on_finish: OnFinish) -> bool:
        if request.long_running:
            if self.long_running is not None:
                self.long_running.add(request)
            return True
        wait_group = self.wait_group
        if wait_group is None:
            return True
        if wait_group.closed or (self.not_accepting is not None and self.not_accepting.fired):
            if exempt_from_shutdown(request):
                return True
            write_response(request, _SHUTTING_DOWN_RESPONSE)
            return False
        wait_group.add()
        on_finish(wait_group.done)
        return True
