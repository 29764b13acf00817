"""
The memory backend (C{--storage-backend=memory}): the whole store in one
L{Index}, nothing on disk. For tests and throw-away servers; a restart starts
empty.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import implementer

from ._compactor import PeriodicCompactor
from ._local import LocalStorage
from .interface import Event, FutureRevisionError, IStorage


@implementer(IStorage)
class MemoryStorage(LocalStorage):
    """
    An L{IStorage} held in memory.

    @param compaction_interval: seconds between compactions (0: never); each
        compacts to the revision seen one interval earlier.
    """

    def __init__(self, reactor: Any = None, compaction_interval: float = 0) -> None:
        super().__init__(reactor)
        self._compactor = PeriodicCompactor(self, compaction_interval, self._reactor)

    def start(self) -> Deferred:
        self._compactor.start()
        return succeed(None)

    def stop(self) -> Deferred:
        self._compactor.stop()
        self._index.close()
        return succeed(None)

    def _commit(self, event: Event, row: tuple) -> Deferred:
        self._index.apply(event)
        self._settled(event)
        return succeed(event.kv)

    def compact(self, revision: int) -> Deferred:
        try:
            self._index.compact(revision)
        except FutureRevisionError:
            return fail()
        return succeed(None)
