"""The memory backend passes the storage conformance suite."""

from twisted.trial import unittest

from kapi_twisted.storage.memory import MemoryStorage
from kapi_twisted.storage.testing import StorageConformanceMixin


class MemoryConformanceTests(StorageConformanceMixin, unittest.TestCase):
    """The conformance suite on the memory backend."""

    def make_storage(self):
        return MemoryStorage(compaction_interval=0)
