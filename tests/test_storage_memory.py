"""The memory backend passes the storage conformance suite."""

from twisted.trial import unittest

from kapi_twisted.storage.memory import MemoryStorage
from kapi_twisted.storage.testing import StorageConformanceMixin


class MemoryConformanceTests(StorageConformanceMixin, unittest.TestCase):
    """The conformance suite on the memory backend."""

    def make_storage(self):
        return MemoryStorage(compaction_interval=0)


class PeriodicCompactionTests(unittest.TestCase):
    """The periodic compactor keeps one interval of history."""

    def test_compacts_to_the_revision_of_the_previous_round(self):
        """Each round compacts to what the store's revision was one interval earlier."""
        from twisted.internet.task import Clock

        from kapi_twisted.storage import CompactedError
        from kapi_twisted.storage.testing import value

        clock = Clock()
        store = MemoryStorage(clock, compaction_interval=300)
        self.successResultOf(store.start())
        self.addCleanup(store.stop)
        self.successResultOf(store.create("/registry/cm/ns/0", value("0")))
        first = self.successResultOf(store.create("/registry/cm/ns/a", value("a")))
        clock.advance(300)
        self.assertEqual(store._index.compacted, 0)
        second = self.successResultOf(store.create("/registry/cm/ns/b", value("b")))
        clock.advance(300)
        self.assertEqual(store._index.compacted, first.mod_revision)
        self.failureResultOf(store.list("/registry/", first.mod_revision - 1), CompactedError)
        self.successResultOf(store.list("/registry/", first.mod_revision))
        clock.advance(300)
        self.assertEqual(store._index.compacted, second.mod_revision)
