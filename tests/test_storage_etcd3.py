"""
The etcd3 backend against a real etcd started by the tests: conformance
(plain and behind the watch cache), several servers on one etcd, and etcd
going away and coming back under a running store.
"""

import json
import tempfile

from twisted.internet.defer import inlineCallbacks
from twisted.trial import unittest

from kapi_twisted.storage import (
    ADDED,
    MODIFIED,
    UnavailableError,
    build_storage,
)
from kapi_twisted.storage.cache import WatchCache
from kapi_twisted.storage.etcd3 import Etcd3Storage
from kapi_twisted.storage.testing import (
    ETCD_MISSING,
    EtcdServer,
    EventCollector,
    StorageConformanceMixin,
    value,
    wait_for,
)

_SKIP = None if EtcdServer.available() else ETCD_MISSING


_shared = []


def shared_etcd() -> EtcdServer:
    """One etcd for every test in this module, started on first use, stopped at exit."""
    if not _shared:
        import atexit
        import shutil

        directory = tempfile.mkdtemp(prefix="kapi-etcd-")
        etcd = EtcdServer(directory)
        etcd.start()
        atexit.register(shutil.rmtree, directory, True)
        atexit.register(etcd.stop)
        _shared.append(etcd)
    return _shared[0]


class _SharedEtcd:
    """Gives each test C{self.etcd}, the module's shared etcd."""

    skip = _SKIP

    def setUp(self):
        self.etcd = shared_etcd()
        return super().setUp()


class Etcd3ConformanceTests(_SharedEtcd, StorageConformanceMixin, unittest.TestCase):
    """The conformance suite on the etcd3 backend."""

    def make_storage(self):
        return Etcd3Storage([self.etcd.url], compaction_interval=0)


class CacheOverEtcd3ConformanceTests(_SharedEtcd, StorageConformanceMixin, unittest.TestCase):
    """The conformance suite on the watch cache over the etcd3 backend."""

    def make_storage(self):
        return WatchCache(Etcd3Storage([self.etcd.url], compaction_interval=0))


class Etcd3ClusterTests(_SharedEtcd, unittest.TestCase):
    """Several kapi stores on one etcd."""

    timeout = 60

    @inlineCallbacks
    def started(self, **kwargs):
        store = build_storage("etcd3", "", [self.etcd.url], **kwargs)
        yield store.start()
        self.addCleanup(store.stop)
        return store

    @inlineCallbacks
    def test_values_are_plain_json_in_etcd(self):
        """What etcdctl get shows for a key is the object's JSON."""
        store = yield self.started(compaction_interval=0)
        kv = yield store.create("/registry/configmaps/default/plain", value("plain", x="1"))
        raw = yield store.backend.call(
            "/v3/kv/range", {"key": "L3JlZ2lzdHJ5L2NvbmZpZ21hcHMvZGVmYXVsdC9wbGFpbg=="}
        )
        import base64

        stored = base64.b64decode(raw["kvs"][0]["value"])
        self.assertEqual(json.loads(stored), json.loads(value("plain", x="1")))
        self.assertEqual(int(raw["kvs"][0]["mod_revision"]), kv.mod_revision)

    @inlineCallbacks
    def test_write_through_one_seen_by_other(self):
        """A write through one server is read and watched through another."""
        one = yield self.started(compaction_interval=0)
        two = yield self.started(compaction_interval=0)
        start = yield two.current_revision()
        events = EventCollector()
        w = two.watch("/registry/secrets/", start, events)
        self.addCleanup(w.stop)
        kv = yield one.create("/registry/secrets/ns/s1", value("s1"))
        got = yield events.wait(1)
        self.assertEqual((got[0].type, got[0].revision), (ADDED, kv.mod_revision))
        read = yield two.get("/registry/secrets/ns/s1")
        self.assertEqual(read.value, value("s1"))
        listed = yield two.list("/registry/secrets/ns/")
        self.assertEqual([x.key for x in listed.items], ["/registry/secrets/ns/s1"])
        kv2 = yield two.update(kv.key, value("s1", v=2), kv.mod_revision)
        mine = EventCollector()
        w1 = one.watch("/registry/secrets/", kv.mod_revision, mine)
        self.addCleanup(w1.stop)
        got = yield mine.wait(1)
        self.assertEqual((got[0].type, got[0].revision), (MODIFIED, kv2.mod_revision))

    @inlineCallbacks
    def test_shared_compaction(self):
        """Two servers' compaction rounds agree, and old revisions then read as compacted."""
        one = yield self.started(compaction_interval=0)
        two = yield self.started(compaction_interval=0)
        kv = yield one.create("/registry/pods/ns/c", value("c"))
        yield one.backend._compact_round()
        yield two.backend._compact_round()
        kv = yield one.update(kv.key, value("c", v=2), kv.mod_revision)
        yield one.backend._compact_round()
        yield two.backend._compact_round()
        # The round's winner compacted to the revision it saw a round before.
        yield wait_for(lambda: one.backend.compacted or two.backend.compacted)
        compacted = max(one.backend.compacted, two.backend.compacted)
        self.assertGreaterEqual(compacted, kv.create_revision)
        d = one.backend.list("/registry/pods/", compacted - 1)
        from kapi_twisted.storage import CompactedError

        yield self.assertFailure(d, CompactedError)


class Etcd3OutageTests(unittest.TestCase):
    """etcd stops and comes back under a running store."""

    skip = _SKIP
    timeout = 120

    @inlineCallbacks
    def test_outage_and_recovery(self):
        """While etcd is down health fails and calls fail fast; afterwards all recovers."""
        etcd = EtcdServer(self.mktemp())
        etcd.start()
        self.addCleanup(etcd.stop)
        store = build_storage("etcd3", "", [etcd.url], compaction_interval=0, request_timeout=2)
        yield store.start()
        self.addCleanup(store.stop)
        before = yield store.create("/registry/pods/ns/a", value("a"))
        events = EventCollector()
        w = store.watch("/registry/pods/", before.mod_revision, events)
        self.addCleanup(w.stop)

        etcd.stop()
        yield self.assertFailure(store.check(), UnavailableError)
        yield self.assertFailure(store.create("/registry/pods/ns/b", value("b")), UnavailableError)
        yield self.assertFailure(store.get("/registry/pods/ns/a"), UnavailableError)
        yield self.assertFailure(store.list("/registry/pods/"), UnavailableError)

        etcd.start()
        yield wait_for(lambda: store.check().addCallbacks(lambda _: True, lambda _: False))
        after = yield store.create("/registry/pods/ns/b", value("b"))
        got = yield events.wait(1)
        self.assertEqual((got[0].type, got[0].revision), (ADDED, after.mod_revision))
        listed = yield store.list("/registry/pods/")
        self.assertEqual(len(listed.items), 2)
