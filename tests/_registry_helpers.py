"""Shared set-up for the registry tests: stores over the memory backend and its watch cache."""

from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial import unittest

from kapi_twisted.apierrors import APIError
from kapi_twisted.registry.interface import RequestContext, WriteOptions
from kapi_twisted.registry.store import build_stores
from kapi_twisted.storage.cache import WatchCache
from kapi_twisted.storage.memory import MemoryStorage

START = 1700000000  # 2023-11-14T22:13:20Z


class RegistryTestCase(unittest.SynchronousTestCase):
    """Every built-in store over one memory store with its watch cache, on a Clock."""

    def setUp(self):
        self.clock = Clock()
        self.clock.advance(START)
        self.backend = MemoryStorage(self.clock)
        self.storage = WatchCache(self.backend, "/registry/", self.clock)
        self.successResultOf(self.storage.start())
        self.addCleanup(self.storage.stop)
        self.stores = build_stores(self.storage, clock=self.clock)
        self.ctx = RequestContext()

    def store(self, plural, group="", version="v1"):
        return self.stores[(group, version, plural)]

    def ok(self, d):
        """The result of an already-fired Deferred."""
        return self.successResultOf(d)

    def error(self, d) -> APIError:
        """The APIError an already-fired Deferred failed with."""
        f = self.failureResultOf(d)
        self.assertIsInstance(f, Failure)
        f.trap(APIError)
        return f.value

    def create(self, plural, namespace, obj, group="", version="v1", **options):
        return self.ok(self.store(plural, group, version).create(
            self.ctx, namespace, obj, WriteOptions(**options)))

    def cm(self, name, namespace="default", labels=None, data=None):
        meta = {"name": name}
        if labels:
            meta["labels"] = labels
        return self.create("configmaps", namespace,
                           {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                            "data": data or {"k": "v"}})
