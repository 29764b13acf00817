"""
Long-running requests (watches, proxies, logs): not counted in the wait
group, so shutdown ends them itself once the other requests have drained.
"""

from __future__ import annotations

from typing import Any, Set


class LongRunningRequests:
    """The open long-running requests of one server process."""

    def __init__(self) -> None:
        self._requests: Set[Any] = set()

    def __len__(self) -> int:
        return len(self._requests)

    def add(self, request: Any) -> None:
        """Track C{request} until it finishes, however it finishes."""
        self._requests.add(request)
        request.notifyFinish().addBoth(lambda _: self._requests.discard(request))

    def end_all(self) -> None:
        """
        Finish every open long-running request cleanly (a watch stream ends
        with its last complete event); handlers learn of it through
        C{notifyFinish}.
        """
        for request in list(self._requests):
            self._requests.discard(request)
            if not (request.finished or getattr(request, "_disconnected", False)):
                try:
                    request.finish()
                except Exception:
                    pass
