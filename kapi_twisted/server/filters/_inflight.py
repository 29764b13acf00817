"""
kube-apiserver's C{WithMaxInFlightLimit} (the limiter used without priority
and fairness): read-only requests (get, list, watch) and mutating ones each
have their own number of slots (C{--max-requests-inflight},
C{--max-mutating-requests-inflight}; 0 = unlimited); long-running requests
take none. When the slots are full, members of C{system:masters} still get
in; everybody else gets 429 with C{Retry-After: 1}.
"""

from __future__ import annotations

from typing import Any

from kapi_twisted.auth.user import SYSTEM_MASTERS
from kapi_twisted.server.filters._finish import OnFinish
from kapi_twisted.server.responses import write_text

TOO_MANY_REQUESTS = "Too many requests, please try again later.\n"


class MaxInFlightFilter:
    """
    @ivar read_only: read-only requests in flight now.
    @ivar mutating: mutating requests in flight now.
    """

    def __init__(self, max_read_only: int, max_mutating: int, metrics: Any = None) -> None:
        self.max_read_only = max_read_only
        self.max_mutating = max_mutating
        self.metrics = metrics
        self.read_only = 0
        self.mutating = 0
        if metrics is not None:
            metrics.track_inflight(lambda: self.read_only, lambda: self.mutating)

    def _release_read_only(self) -> None:
        self.read_only -= 1

    def _release_mutating(self) -> None:
        self.mutating -= 1

    def __call__(self, request: Any, on_finish: OnFinish) -> bool:
        if request.long_running:
            return True
        info = request.request_info
        if info.read_only:
            if self.max_read_only and self.read_only >= self.max_read_only:
                return self._full(request)
            self.read_only += 1
            on_finish(self._release_read_only)
        else:
            if self.max_mutating and self.mutating >= self.max_mutating:
                return self._full(request)
            self.mutating += 1
            on_finish(self._release_mutating)
        return True

    def _full(self, request: Any) -> bool:
        user = request.user
        if user is not None and SYSTEM_MASTERS in user.groups:
            return True
        if self.metrics is not None:
            self.metrics.terminated(request, request.request_info, 429)
        write_text(request, 429, TOO_MANY_REQUESTS, {"Retry-After": "1"})
        return False
