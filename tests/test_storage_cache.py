"""
The watch cache: conformance over the memory and SQLite backends, cheap
fan-out, bookmarks, its event window, and resuming watches older than it.
"""

import os

from twisted.internet.defer import inlineCallbacks
from twisted.internet.task import Clock
from twisted.trial import unittest

from kapi_twisted.storage import ADDED, CompactedError, MODIFIED, build_storage
from kapi_twisted.storage.cache import WatchCache
from kapi_twisted.storage.memory import MemoryStorage
from kapi_twisted.storage.sqlite import SQLiteStorage
from kapi_twisted.storage.testing import EventCollector, StorageConformanceMixin, value


class CacheOverMemoryConformanceTests(StorageConformanceMixin, unittest.TestCase):
    """The conformance suite on the watch cache over the memory backend."""

    def make_storage(self):
        return WatchCache(MemoryStorage(compaction_interval=0))


class CacheOverSQLiteConformanceTests(StorageConformanceMixin, unittest.TestCase):
    """The conformance suite on the watch cache over the SQLite backend."""

    def make_storage(self):
        path = os.path.join(self.mktemp(), "kapi.db")
        return WatchCache(SQLiteStorage(path, compaction_interval=0))


def _started(clock, backend=None, **kwargs):
    backend = backend or MemoryStorage(clock, compaction_interval=0)
    cache = WatchCache(backend, "/registry/", clock, **kwargs)
    d = cache.start()
    clock.advance(0)
    return cache, d


class WatchCacheTests(unittest.TestCase):
    """Behaviour particular to the cache, driven by a fake clock."""

    def setUp(self):
        self.clock = Clock()
        self.cache, d = _started(self.clock, window=10, progress_interval=1)
        self.successResultOf(d)
        self.addCleanup(self.cache.stop)

    def write(self, key, **data):
        return self.successResultOf(self.cache.create(key, value(key, **data)))

    def test_fan_out_to_many_watchers(self):
        """One write reaches a thousand watchers of its prefix, and none of the siblings'."""
        collectors = [EventCollector() for _ in range(1000)]
        for c in collectors:
            self.cache.watch("/registry/pods/", 0, c)
        sibling = EventCollector()
        self.cache.watch("/registry/podsx/", 0, sibling)
        kv = self.write("/registry/pods/ns/a")
        self.assertTrue(all(len(c.events) == 1 for c in collectors))
        self.assertIs(collectors[0].events[0].kv, collectors[-1].events[0].kv)
        self.assertEqual(collectors[0].events[0].revision, kv.mod_revision)
        self.assertEqual(sibling.events, [])

    def test_watch_started_inside_a_callback_misses_nothing(self):
        """A watch opened while an event is being delivered still receives that event."""
        late = EventCollector()

        def open_another(event):
            self.cache.watch("/registry/pods/", event.revision - 1, late)

        first = self.cache.watch("/registry/pods/", 0, open_another)
        kv = self.write("/registry/pods/ns/a")
        first.stop()
        self.clock.advance(0)
        self.assertEqual([e.revision for e in late.events], [kv.mod_revision])

    def test_objects_are_shared_not_reencoded(self):
        """A list returns the very objects the write produced, with their cached encoding."""
        kv = self.write("/registry/pods/ns/a", x=1)
        data = kv.data
        listed = self.successResultOf(self.cache.list("/registry/pods/", 0))
        self.assertIs(listed.items[0], kv)
        self.assertIs(listed.items[0].data, data)

    def test_progress_reports_bookmarks(self):
        """A quiet watcher is told the revision has moved on, once per interval."""
        events = EventCollector()
        w = self.cache.watch("/registry/pods/", 0, events, events.on_progress)
        kv = self.write("/registry/secrets/ns/a")
        self.assertEqual(events.events, [])
        self.clock.advance(1)
        self.assertEqual(events.progress, [kv.mod_revision])
        self.assertEqual(w.revision, kv.mod_revision)
        self.clock.advance(1)
        self.assertEqual(events.progress, [kv.mod_revision])

    def test_window_expires_old_events_then_backend_answers(self):
        """Watches older than the cache window are served by the backend's history."""
        first = self.write("/registry/pods/ns/a")
        for _ in range(12):
            self.clock.advance(1)
        second = self.write("/registry/pods/ns/b")
        self.clock.advance(1)
        self.assertGreaterEqual(self.cache._index.compacted, first.mod_revision)
        events = EventCollector()
        self.cache.watch("/registry/pods/", 0, events)
        self.clock.advance(0)
        self.assertEqual(
            [(e.type, e.revision) for e in events.events],
            [(ADDED, first.mod_revision), (ADDED, second.mod_revision)],
        )

    def test_watch_compacted_everywhere_fails(self):
        """A watch from a revision both cache and backend compacted fails with CompactedError."""
        kv = self.write("/registry/pods/ns/a")
        self.successResultOf(self.cache.update(kv.key, value("a", v=2), kv.mod_revision))
        current = self.successResultOf(self.cache.current_revision())
        self.successResultOf(self.cache.compact(current))
        w = self.cache.watch("/registry/pods/", kv.mod_revision - 1, EventCollector())
        self.failureResultOf(w.done, CompactedError)

    def test_future_list_waits_then_fails(self):
        """A list at a revision the store has not reached fails with FutureRevisionError."""
        from kapi_twisted.storage import FutureRevisionError

        self.write("/registry/pods/ns/a")
        d = self.cache.list("/registry/pods/", 99)
        self.failureResultOf(d, FutureRevisionError)

    def test_lost_backend_watch_reloads(self):
        """If the backend watch is lost, cache watchers get CompactedError and the cache reloads."""
        kv = self.write("/registry/pods/ns/a")
        w = self.cache.watch("/registry/pods/", kv.mod_revision, EventCollector())
        self.cache._source._end(CompactedError(kv.mod_revision, kv.mod_revision))
        self.failureResultOf(w.done, CompactedError)
        self.assertTrue(self.cache.ready)
        b = self.write("/registry/pods/ns/b")
        listed = self.successResultOf(self.cache.list("/registry/pods/", 0))
        self.assertEqual([x.key for x in listed.items], ["/registry/pods/ns/a", "/registry/pods/ns/b"])
        self.assertEqual(listed.revision, b.mod_revision)

    def test_stop_ends_watches(self):
        """Stopping the cache ends its watches cleanly."""
        w = self.cache.watch("/registry/pods/", 0, EventCollector())
        self.successResultOf(self.cache.stop())
        self.assertIsNone(self.successResultOf(w.done))


class WatchCacheRestartTests(unittest.TestCase):
    """The cache over SQLite across a restart."""

    @inlineCallbacks
    def test_watch_from_before_restart(self):
        """Through the cache, a watch from before a restart receives exactly the later events."""
        data_dir = self.mktemp()
        store = build_storage("sqlite", data_dir, compaction_interval=0)
        yield store.start()
        kv = yield store.create("/registry/pods/ns/a", value("a", v=1))
        taken = kv.mod_revision
        kv2 = yield store.update(kv.key, value("a", v=2), kv.mod_revision)
        yield store.stop()
        store = build_storage("sqlite", data_dir, compaction_interval=0)
        yield store.start()
        self.addCleanup(store.stop)
        events = EventCollector()
        w = store.watch("/registry/pods/", taken, events)
        self.addCleanup(w.stop)
        kv3 = yield store.update(kv.key, value("a", v=3), kv2.mod_revision)
        got = yield events.wait(2)
        self.assertEqual(
            [(e.type, e.revision) for e in got],
            [(MODIFIED, kv2.mod_revision), (MODIFIED, kv3.mod_revision)],
        )


class BuildStorageTests(unittest.TestCase):
    """The factory the server calls."""

    def test_backends(self):
        """Each backend name gives a watch cache over that backend; bad names are refused."""
        from kapi_twisted.storage.etcd3 import Etcd3Storage

        data_dir = self.mktemp()
        store = build_storage("sqlite", data_dir)
        self.assertIsInstance(store, WatchCache)
        self.assertIsInstance(store.backend, SQLiteStorage)
        self.assertEqual(store.backend.path, os.path.join(data_dir, "kapi.db"))
        self.assertFalse(os.path.exists(data_dir))
        self.assertIsInstance(build_storage("memory", data_dir).backend, MemoryStorage)
        etcd = build_storage("etcd3", data_dir, ["http://127.0.0.1:2379"], prefix="/other/")
        self.assertIsInstance(etcd.backend, Etcd3Storage)
        self.assertEqual(etcd.prefix, "/other/")
        self.assertEqual(etcd.backend.compaction_key, "/other/compact_rev_key")
        self.assertRaises(ValueError, build_storage, "etcd3", data_dir, [])
        self.assertRaises(ValueError, build_storage, "leveldb", data_dir)

    def test_public_names(self):
        """The package exports the contract and the factory."""
        import kapi_twisted.storage as storage

        for name in storage.__all__:
            self.assertTrue(hasattr(storage, name), name)


class _LaggingWatchStorage(MemoryStorage):
    """A memory backend whose watch events arrive a second late, as a remote store's may."""

    def __init__(self, clock, **kwargs):
        super().__init__(clock, **kwargs)
        self.clock = clock

    def watch(self, prefix, after_revision, on_event, on_progress=None):
        late = lambda event: self.clock.callLater(1, on_event, event)  # noqa: E731
        return super().watch(prefix, after_revision, late, on_progress)


class CachedReadTests(unittest.TestCase):
    """get_cached answers from the cache (kube's GET with resourceVersion=0); get is consistent."""

    def setUp(self):
        self.clock = Clock()
        self.backend = _LaggingWatchStorage(self.clock, compaction_interval=0)
        self.cache, d = _started(self.clock, self.backend)
        self.successResultOf(d)
        self.addCleanup(self.cache.stop)

    def test_cached_read_may_lag_consistent_read_does_not(self):
        """Right after a write, the cached read has not seen it yet; the plain read has."""
        from kapi_twisted.storage import KeyNotFoundError

        key = "/registry/namespaces/x"
        kv = self.successResultOf(self.backend.create(key, value("x")))
        self.assertEqual(self.successResultOf(self.cache.get(key)).mod_revision, kv.mod_revision)
        self.failureResultOf(self.cache.get_cached(key), KeyNotFoundError)
        self.clock.advance(1)
        self.assertEqual(self.successResultOf(self.cache.get_cached(key)).mod_revision,
                         kv.mod_revision)

    def test_keys_outside_the_cache_are_read_from_the_backend(self):
        """A key outside the cached prefix is read from the backend."""
        self.successResultOf(self.backend.create("/other/x", value("x")))
        self.assertEqual(self.successResultOf(self.cache.get_cached("/other/x")).key, "/other/x")
