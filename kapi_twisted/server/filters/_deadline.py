"""
kube-apiserver's C{WithRequestDeadline} and C{WithTimeoutForNonLongRunningRequests},
for non-long-running requests: the deadline is min(C{?timeout=},
C{--request-timeout}); a malformed C{?timeout=} is 400. When the deadline
passes before the handler answered, the client gets kube-apiserver's 504
and whatever the handler writes later is thrown away (the request is
C{timed_out}); if the answer had already begun, it is cut off instead.
"""

from __future__ import annotations

from typing import Any, Optional

from twisted.logger import Logger

from kapi_twisted import apierrors
from kapi_twisted.durations import parse_duration
from kapi_twisted.server.filters._abort import abort_request
from kapi_twisted.server.filters._finish import OnFinish
from kapi_twisted.server.responses import write_error

log = Logger()

TIMEOUT_BODY = (
    b'{"metadata":{},"status":"Failure","message":"Timeout: request did not complete '
    b'within the allotted timeout","reason":"Timeout","details":{},"code":504}\n'
)
"""Go encodes a bare Status here (no kind/apiVersion) and sets no Content-Type."""
_TIMEOUT_CONTENT_TYPE = b"text/plain; charset=utf-8"  # what Go sniffs for it


def requested_timeout(request: Any) -> Optional[float]:
    """
    The C{?timeout=} of C{request} in seconds, None when absent; raises
    L{apierrors.APIError} (400) when it is not a Go duration.
    """
    values = request.args.get(b"timeout") if request.args else None
    if not values or not values[0]:
        return None
    text = values[0].decode("utf-8", "replace")
    try:
        return parse_duration(text)
    except ValueError as e:
        raise apierrors.bad_request(
            f"invalid timeout specified in the request URL - {e}") from None


class DeadlineFilter:
    """
    @ivar request_timeout: C{--request-timeout} in seconds (0: no deadline).
    @ivar clock: schedules the deadline (the reactor; a C{task.Clock} in tests).
    @ivar metrics: records a C{504} termination (optional).
    """

    def __init__(self, request_timeout: float, clock: Any, metrics: Any = None) -> None:
        self.request_timeout = request_timeout
        self.clock = clock
        self.metrics = metrics

    def __call__(self, request: Any, on_finish: OnFinish) -> bool:
        if request.long_running:
            return True
        try:
            wanted = requested_timeout(request)
        except apierrors.APIError as e:
            write_error(request, e)
            return False
        timeout = self.request_timeout
        if wanted is not None and 0 < wanted < timeout:
            timeout = wanted
        if timeout <= 0:
            return True
        call = self.clock.callLater(timeout, self._expire, request)
        on_finish(lambda: call.active() and call.cancel())
        return True

    def _expire(self, request: Any) -> None:
        if request.finished or getattr(request, "_disconnected", False):
            return
        log.info("Timeout: {method} {uri} did not complete within the allotted timeout",
                 method=request.method, uri=request.uri)
        if self.metrics is not None and request.request_info is not None:
            self.metrics.terminated(request, request.request_info, 504)
        if request.startedWriting:
            request.timed_out = True
            abort_request(request)
            return
        request.setResponseCode(504)
        headers = request.responseHeaders
        headers.setRawHeaders(b"content-type", [_TIMEOUT_CONTENT_TYPE])
        headers.setRawHeaders(b"content-length", [b"%d" % len(TIMEOUT_BODY)])
        if request.method != b"HEAD":
            request.write(TIMEOUT_BODY)
        request.finish()
        request.timed_out = True
