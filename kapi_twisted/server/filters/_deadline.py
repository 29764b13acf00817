"""
kube-apiserver's C{WithRequestDeadline} and C{WithTimeoutForNonLongRunningRequests},
for non-long-running requests: the deadline is min(C{?timeout=},
C{--request-timeout}); a malformed C{?timeout=} is 400. When the deadline
passes before the handler answered, the client gets kube-apiserver's 504
and whatever the handler writes later is thrown away (the request is
C{timed_out}); if the answer had already begun, it is cut off instead.

Nearly every request has the same deadline, C{--request-timeout} after its
arrival, so those wait in arrival order (which is deadline order) in one
L{_DeadlineQueue} behind one timer set for the earliest: a request costs an
append and, when it ends, a flag, instead of a reactor timer made and
cancelled. Each still expires at its own deadline, and when no request is
waiting the timer is cancelled. A shorter C{?timeout=} gets its own timer.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Deque, Optional

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
        self._queue = _DeadlineQueue(clock, request_timeout, self._expire)

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
        if timeout == self.request_timeout:
            on_finish(self._queue.add(request))
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


class _Waiting:
    """One request in a L{_DeadlineQueue}; C{request} is None once it has ended."""

    __slots__ = ("deadline", "request", "queue")

    def __init__(self, deadline: float, request: Any, queue: "_DeadlineQueue") -> None:
        self.deadline = deadline
        self.request = request
        self.queue = queue

    def ended(self) -> None:
        """The request ended (answered, timed out or gone): forget it."""
        if self.request is not None:
            self.request = None
            self.queue._ended()


class _DeadlineQueue:
    """
    Requests that all get the same C{timeout}, in deadline order, behind one
    timer (see the module docstring). Deadlines follow C{clock.seconds()} at
    arrival; should the wall clock step back, a request arriving then expires
    with the one before it, no earlier.
    """

    def __init__(self, clock: Any, timeout: float, expire: Callable[[Any], None]) -> None:
        self.clock = clock
        self.timeout = timeout
        self.expire = expire
        self._waiting: Deque[_Waiting] = deque()
        self._live = 0
        self._timer: Any = None
        self._timer_at = 0.0

    def add(self, request: Any) -> Callable[[], None]:
        """Time C{request} out at its deadline unless the returned callable runs first."""
        waiting = self._waiting
        while waiting and waiting[0].request is None:
            waiting.popleft()
        entry = _Waiting(self.clock.seconds() + self.timeout, request, self)
        waiting.append(entry)
        self._live += 1
        if self._timer is None:
            self._schedule(entry.deadline)
        return entry.ended

    def _ended(self) -> None:
        self._live -= 1
        if not self._live:
            self._waiting.clear()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _schedule(self, at: float) -> None:
        if self._timer is not None:
            if self._timer_at <= at:
                return
            self._timer.cancel()
        self._timer_at = at
        self._timer = self.clock.callLater(max(0.0, at - self.clock.seconds()), self._sweep)

    def _sweep(self) -> None:
        self._timer = None
        # The timer fired because its deadline came (the clock may read a hair earlier).
        now = max(self.clock.seconds(), self._timer_at)
        waiting = self._waiting
        while waiting:
            entry = waiting[0]
            request = entry.request
            if request is None:
                waiting.popleft()
                continue
            if entry.deadline > now:
                self._schedule(entry.deadline)
                return
            waiting.popleft()
            entry.ended()
            # May finish the request, and start the connection's next one (add).
            self.expire(request)
