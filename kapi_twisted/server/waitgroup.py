"""
A wait group: counts in-flight non-long-running requests so that graceful
termination can wait for them to finish (apimachinery's C{SafeWaitGroup}).
"""

from __future__ import annotations

from typing import List

from twisted.internet.defer import Deferred, succeed


class WaitGroupClosed(Exception):
    """L{WaitGroup.add} after L{WaitGroup.wait}: no new work is accepted."""


class WaitGroup:
    def __init__(self) -> None:
        self.count = 0
        self._closed = False
        self._waiters: List[Deferred] = []

    @property
    def closed(self) -> bool:
        return self._closed

    def add(self) -> None:
        """Count one more unit of work; refused once L{wait} has been called."""
        if self._closed:
            raise WaitGroupClosed()
        self.count += 1

    def done(self) -> None:
        """One unit of work ended."""
        self.count -= 1
        if self.count <= 0 and self._closed:
            self._release()

    def wait(self) -> Deferred:
        """Refuse new work, and fire once the count reaches zero."""
        self._closed = True
        if self.count <= 0:
            return succeed(None)
        d: Deferred = Deferred()
        self._waiters.append(d)
        return d

    def _release(self) -> None:
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.callback(None)
