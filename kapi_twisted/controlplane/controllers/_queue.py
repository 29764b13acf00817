"""
A work queue in the manner of client-go's C{workqueue}: keys, not events.
A key added while waiting is queued once; a key added while being processed
is processed again afterwards; a failed key is retried with exponential
backoff; C{add_after} schedules a key on the clock. Controllers are
therefore level-driven: C{process(key)} reads the current state and acts.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Dict, Hashable

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.logger import Logger

from ._util import log_error

__all__ = ["WorkQueue"]

log = Logger()

_BASE_DELAY = 0.05
_MAX_DELAY = 30.0


class WorkQueue:
    """
    @param clock: an C{IReactorTime}.
    @param process: C{key -> Deferred or None}; a failure retries the key.
    @param workers: how many keys are processed at once.
    """

    def __init__(self, clock: Any, process: Callable[[Any], Any], name: str = "",
                 workers: int = 1) -> None:
        self.clock = clock
        self.process = process
        self.name = name
        self.workers = workers
        self._queued: "OrderedDict[Hashable, None]" = OrderedDict()
        self._processing: set = set()
        self._dirty: set = set()
        self._timers: Dict[Hashable, Any] = {}
        self._failures: Dict[Hashable, int] = {}
        self._running = 0
        self._idle_waiters: list = []
        self._pumping = False
        self.stopped = False

    def __len__(self) -> int:
        return len(self._queued) + len(self._processing)

    def add(self, key: Hashable) -> None:
        """Process C{key} soon (once, however often it is added meanwhile)."""
        if self.stopped:
            return
        if key in self._processing:
            self._dirty.add(key)
            return
        if key not in self._queued:
            self._queued[key] = None
        self._pump()

    def add_after(self, key: Hashable, delay: float) -> None:
        """Process C{key} after C{delay} seconds (the earliest request wins)."""
        if self.stopped:
            return
        if delay <= 0:
            self.add(key)
            return
        timer = self._timers.get(key)
        if timer is not None and timer.active():
            if timer.getTime() <= self.clock.seconds() + delay:
                return
            timer.cancel()

        def fire() -> None:
            self._timers.pop(key, None)
            self.add(key)

        self._timers[key] = self.clock.callLater(delay, fire)

    def forget(self, key: Hashable) -> None:
        """Reset C{key}'s backoff."""
        self._failures.pop(key, None)

    def stop(self) -> Deferred:
        """
        Drop queued keys and timers; the Deferred fires once the keys being
        processed have finished.
        """
        self.stopped = True
        self._queued.clear()
        self._dirty.clear()
        for timer in self._timers.values():
            if timer.active():
                timer.cancel()
        self._timers.clear()
        return self.when_idle()

    def when_idle(self) -> Deferred:
        """A Deferred that fires once nothing is queued or being processed (tests)."""
        d: Deferred = Deferred()
        if not self._queued and not self._processing:
            d.callback(None)
        else:
            self._idle_waiters.append(d)
        return d

    def _pump(self) -> None:
        if self._pumping:
            return  # a synchronous process() finished inside the loop below
        self._pumping = True
        try:
            self._pump_once()
        finally:
            self._pumping = False
        if not self._queued and not self._processing:
            waiters, self._idle_waiters = self._idle_waiters, []
            for d in waiters:
                d.callback(None)

    def _pump_once(self) -> None:
        while self._queued and self._running < self.workers and not self.stopped:
            key, _ = self._queued.popitem(last=False)
            self._processing.add(key)
            self._running += 1
            d = maybeDeferred(self.process, key)
            d.addCallbacks(self._succeeded, self._failed, callbackArgs=(key,),
                           errbackArgs=(key,))
            d.addBoth(self._finished, key)

    def _succeeded(self, result: Any, key: Hashable) -> None:
        self._failures.pop(key, None)

    def _failed(self, failure: Any, key: Hashable) -> None:
        count = self._failures.get(key, 0)
        self._failures[key] = count + 1
        delay = min(_BASE_DELAY * (2 ** count), _MAX_DELAY)
        log_error(log, failure, "{queue}: processing {key!r} failed; retrying in {delay}s",
                  queue=self.name, key=key, delay=delay)
        self.add_after(key, delay)

    def _finished(self, result: Any, key: Hashable) -> None:
        self._processing.discard(key)
        self._running -= 1
        if key in self._dirty:
            self._dirty.discard(key)
            self.add(key)
        self._pump()
