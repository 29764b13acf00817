"""
What runs when a request ends: one C{notifyFinish} per request, whose
callbacks (registered by the filters: wait group, in-flight slot, deadline
timer, metrics) run last-in first-out, like Go's deferred calls, whether the
request finished or its connection was lost.
"""

from __future__ import annotations

from typing import Any, Callable, List

from twisted.logger import Logger

log = Logger()


class OnFinish:
    """The end-of-request callbacks of one request."""

    __slots__ = ("_callbacks",)

    def __init__(self, request: Any) -> None:
        self._callbacks: List[Callable[[], Any]] = []
        request.notifyFinish().addBoth(self._run)

    def __call__(self, callback: Callable[[], Any]) -> None:
        """Run C{callback} (no arguments) when the request ends."""
        self._callbacks.append(callback)

    def _run(self, _: Any) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for callback in reversed(callbacks):
            try:
                callback()
            except Exception:
                log.failure("Error at the end of a request")
