"""
Periodic compaction as kube-apiserver does it: every interval, compact to
the revision seen one interval earlier, so at least one interval of history
stays available for watches to resume and paged lists to continue.
"""

from __future__ import annotations

from typing import Any, Optional

from twisted.internet.defer import Deferred
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

_log = Logger()


class PeriodicCompactor:
    """
    Calls C{storage.compact(previous)} every C{interval} seconds, where
    C{previous} is C{storage.current_revision()} of the tick before.
    C{interval} <= 0 turns it off.
    """

    def __init__(self, storage: Any, interval: float, clock: Any) -> None:
        self._storage = storage
        self._interval = interval
        self._clock = clock
        self._loop: Optional[LoopingCall] = None
        self._previous = 0
        self._running: Optional[Deferred] = None

    def start(self) -> None:
        if self._interval <= 0 or self._loop is not None:
            return
        self._loop = LoopingCall(self.tick)
        self._loop.clock = self._clock
        self._loop.start(self._interval, now=True)

    def stop(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None

    def tick(self) -> Optional[Deferred]:
        """One round; returns the round's Deferred (None if one still runs)."""
        if self._running is not None:
            return None
        d = self._storage.current_revision()
        d.addCallback(self._round)
        d.addErrback(self._failed)
        self._running = d

        def finished(result):
            self._running = None
            return result

        d.addBoth(finished)
        return d

    def _round(self, current: int) -> Any:
        target, self._previous = self._previous, current
        if target <= 0:
            return None
        return self._storage.compact(target)

    def _failed(self, failure) -> None:
        _log.warn("storage compaction failed: {error}", error=failure.getErrorMessage())
