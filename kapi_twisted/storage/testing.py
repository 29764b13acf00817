"""
The storage conformance suite: one set of trial test methods every
L{IStorage} must pass (memory, SQLite, etcd3, and the watch cache over each),
in the spirit of k8s.io/apiserver's C{pkg/storage/testing}.

Use it by mixing L{StorageConformanceMixin} into a
C{twisted.trial.unittest.TestCase} that defines C{make_storage()} (returning
an unstarted store, or a Deferred of one). Every test works under its own
key prefix (C{self.root}), so stores shared between tests (one etcd) do not
interfere.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults, inlineCallbacks, maybeDeferred
from twisted.internet.task import deferLater
from zope.interface.verify import verifyObject

from .interface import (
    ADDED,
    DELETED,
    MODIFIED,
    CompactedError,
    ConflictError,
    FutureRevisionError,
    IStorage,
    IWatch,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
)

_serial = itertools.count()


def value(name: str, **data: Any) -> bytes:
    """An object's stored bytes, encoded the way the API layer encodes them."""
    obj = {"metadata": {"name": name}, "data": data}
    return json.dumps(obj, separators=(",", ":")).encode()


class EventCollector:
    """Collects watch events; C{wait(n)} fires once n have arrived."""

    def __init__(self) -> None:
        self.events: list = []
        self.progress: list = []
        self._waiting: list = []

    def __call__(self, event) -> None:
        self.events.append(event)
        self._check()

    def on_progress(self, revision: int) -> None:
        self.progress.append(revision)

    def _check(self) -> None:
        ready = [(n, d) for n, d in self._waiting if len(self.events) >= n]
        self._waiting = [w for w in self._waiting if len(self.events) < w[0]]
        for n, d in ready:
            d.callback(self.events[:n])

    def wait(self, n: int) -> Deferred:
        d: Deferred = Deferred()
        self._waiting.append((n, d))
        self._check()
        return d

    def summary(self) -> list:
        return [(e.type, e.kv.key.rsplit("/", 1)[-1], e.kv.mod_revision) for e in self.events]


class StorageConformanceMixin:
    """
    Test methods for any IStorage. The TestCase defines C{make_storage()}.
    """

    timeout = 60

    def make_storage(self) -> Any:
        raise NotImplementedError

    @inlineCallbacks
    def setUp(self):
        self.root = "/registry/conformance%d-%d/" % (id(self) % 100000, next(_serial))
        store = yield maybeDeferred(self.make_storage)
        yield store.start()
        self.store = store
        self.addCleanup(store.stop)

    def key(self, name: str, ns: str = "default") -> str:
        return f"{self.root}{ns}/{name}"

    def assert_fails(self, d: Deferred, *errors) -> Deferred:
        return self.assertFailure(d, *errors)

    def settle(self) -> Deferred:
        """Give the reactor a couple of turns (for watches that replay history)."""
        return deferLater(reactor, 0.01, lambda: None)

    # -- basics ---------------------------------------------------------------

    def test_provides_interface(self):
        """The store provides the full IStorage contract."""
        self.assertTrue(verifyObject(IStorage, self.store))

    @inlineCallbacks
    def test_create_get(self):
        """A created object reads back with its revision as resourceVersion."""
        kv = yield self.store.create(self.key("a"), value("a", x=1))
        self.assertIsInstance(kv, KeyValue)
        self.assertGreater(kv.mod_revision, 0)
        self.assertEqual(kv.create_revision, kv.mod_revision)
        got = yield self.store.get(self.key("a"))
        self.assertEqual(got.value, value("a", x=1))
        self.assertEqual(got.mod_revision, kv.mod_revision)
        self.assertEqual(got.object["metadata"]["resourceVersion"], str(kv.mod_revision))
        self.assertEqual(json.loads(got.data), got.object)

    @inlineCallbacks
    def test_create_existing(self):
        """Creating an existing key fails with KeyExistsError and changes nothing."""
        kv = yield self.store.create(self.key("a"), value("a", x=1))
        yield self.assert_fails(self.store.create(self.key("a"), value("a", x=2)), KeyExistsError)
        got = yield self.store.get(self.key("a"))
        self.assertEqual((got.value, got.mod_revision), (kv.value, kv.mod_revision))

    @inlineCallbacks
    def test_get_missing(self):
        """Getting an absent key fails with KeyNotFoundError."""
        yield self.assert_fails(self.store.get(self.key("nope")), KeyNotFoundError)

    @inlineCallbacks
    def test_update_compare_and_swap(self):
        """An update on the current revision wins; a stale one is a conflict."""
        kv1 = yield self.store.create(self.key("a"), value("a", x=1))
        kv2 = yield self.store.update(self.key("a"), value("a", x=2), kv1.mod_revision)
        self.assertGreater(kv2.mod_revision, kv1.mod_revision)
        self.assertEqual(kv2.create_revision, kv1.create_revision)
        e = yield self.assert_fails(
            self.store.update(self.key("a"), value("a", x=3), kv1.mod_revision), ConflictError
        )
        self.assertEqual(e.current.mod_revision, kv2.mod_revision)
        self.assertEqual(e.current.value, value("a", x=2))
        got = yield self.store.get(self.key("a"))
        self.assertEqual(got.value, value("a", x=2))
        yield self.assert_fails(
            self.store.update(self.key("b"), value("b"), kv1.mod_revision), KeyNotFoundError
        )

    @inlineCallbacks
    def test_delete(self):
        """Delete honours the revision precondition and reports the deletion's revision."""
        kv = yield self.store.create(self.key("a"), value("a", x=1))
        kv2 = yield self.store.update(self.key("a"), value("a", x=2), kv.mod_revision)
        e = yield self.assert_fails(self.store.delete(self.key("a"), kv.mod_revision), ConflictError)
        self.assertEqual(e.current.mod_revision, kv2.mod_revision)
        gone = yield self.store.delete(self.key("a"), kv2.mod_revision)
        self.assertGreater(gone.mod_revision, kv2.mod_revision)
        self.assertEqual(gone.value, value("a", x=2))
        yield self.assert_fails(self.store.get(self.key("a")), KeyNotFoundError)
        yield self.assert_fails(self.store.delete(self.key("a")), KeyNotFoundError)
        yield self.store.create(self.key("b"), value("b"))
        yield self.store.delete(self.key("b"))
        yield self.assert_fails(self.store.get(self.key("b")), KeyNotFoundError)

    @inlineCallbacks
    def test_recreate_after_delete(self):
        """A deleted key can be created again with a fresh create revision."""
        kv = yield self.store.create(self.key("a"), value("a"))
        yield self.store.delete(self.key("a"))
        kv2 = yield self.store.create(self.key("a"), value("a", again=True))
        self.assertGreater(kv2.create_revision, kv.create_revision)
        self.assertEqual(kv2.create_revision, kv2.mod_revision)

    @inlineCallbacks
    def test_revisions_increase(self):
        """Every write gets a larger revision; current_revision reports the last."""
        seen = []
        for i in range(5):
            kv = yield self.store.create(self.key(f"k{i}"), value(f"k{i}"))
            seen.append(kv.mod_revision)
        self.assertEqual(seen, sorted(set(seen)))
        current = yield self.store.current_revision()
        self.assertGreaterEqual(current, seen[-1])

    @inlineCallbacks
    def test_check(self):
        """A running store passes its health check."""
        result = yield self.store.check()
        self.assertIsNone(result)

    # -- lists ----------------------------------------------------------------

    @inlineCallbacks
    def test_list_prefix(self):
        """A list of a directory returns its keys in order and nothing from siblings."""
        for ns, name in [("a", "z"), ("a", "b"), ("ab", "c"), ("b", "d")]:
            yield self.store.create(self.key(name, ns), value(name))
        result = yield self.store.list(self.root + "a/")
        self.assertEqual([kv.key for kv in result.items], [self.key("b", "a"), self.key("z", "a")])
        self.assertFalse(result.more)
        everything = yield self.store.list(self.root)
        self.assertEqual(len(everything.items), 4)
        self.assertEqual([kv.key for kv in everything.items], sorted(kv.key for kv in everything.items))
        current = yield self.store.current_revision()
        self.assertGreaterEqual(everything.revision, everything.items[-1].mod_revision)
        self.assertLessEqual(everything.revision, current)
        n = yield self.store.count(self.root + "a/")
        self.assertEqual(n, 2)

    @inlineCallbacks
    def test_list_sees_own_writes(self):
        """A consistent list right after a write includes it."""
        for i in range(3):
            kv = yield self.store.create(self.key(f"k{i}"), value(f"k{i}"))
            result = yield self.store.list(self.root)
            self.assertEqual(len(result.items), i + 1)
            self.assertGreaterEqual(result.revision, kv.mod_revision)

    @inlineCallbacks
    def test_list_cached_revision_zero(self):
        """A list at revision 0 answers (from whatever state is at hand)."""
        yield self.store.create(self.key("a"), value("a"))
        result = yield self.store.list(self.root, 0)
        self.assertLessEqual(len(result.items), 1)

    @inlineCallbacks
    def test_list_paginated_across_writes(self):
        """Paging at a fixed revision returns that snapshot even while keys change."""
        kvs = {}
        for i in range(10):
            kv = yield self.store.create(self.key("k%02d" % i), value("k%02d" % i, v=0))
            kvs[kv.key] = kv
        first = yield self.store.list(self.root, None, 3)
        self.assertEqual(len(first.items), 3)
        self.assertTrue(first.more)
        self.assertEqual(first.remaining, 7)
        snapshot = first.revision
        # Change the world between pages.
        yield self.store.delete(self.key("k05"))
        yield self.store.create(self.key("k05a"), value("k05a"))
        k07 = kvs[self.key("k07")]
        yield self.store.update(k07.key, value("k07", v=1), k07.mod_revision)
        yield self.store.create(self.key("k99"), value("k99"))
        pages = [first]
        while pages[-1].more:
            start = pages[-1].items[-1].key + "\x00"
            page = yield self.store.list(self.root, snapshot, 3, start)
            self.assertEqual(page.revision, snapshot)
            pages.append(page)
        items = [kv for p in pages for kv in p.items]
        self.assertEqual([kv.key for kv in items], sorted(kvs))
        self.assertEqual([kv.value for kv in items], [kvs[k].value for k in sorted(kvs)])
        self.assertEqual(len(pages), 4)
        latest = yield self.store.list(self.root)
        self.assertEqual(len(latest.items), 11)

    @inlineCallbacks
    def test_list_past_revision(self):
        """A list at a past revision shows the values of that revision."""
        kv = yield self.store.create(self.key("a"), value("a", v=1))
        yield self.store.create(self.key("b"), value("b", v=1))
        then = (yield self.store.list(self.root)).revision
        yield self.store.update(kv.key, value("a", v=2), kv.mod_revision)
        yield self.store.delete(self.key("b"))
        yield self.store.create(self.key("c"), value("c"))
        past = yield self.store.list(self.root, then)
        self.assertEqual(
            [(x.key, x.value) for x in past.items],
            [(self.key("a"), value("a", v=1)), (self.key("b"), value("b", v=1))],
        )
        self.assertEqual(past.revision, then)

    @inlineCallbacks
    def test_list_future_revision(self):
        """A list at a revision ahead of the store fails with FutureRevisionError."""
        current = yield self.store.current_revision()
        yield self.assert_fails(self.store.list(self.root, current + 1000), FutureRevisionError)

    # -- watches --------------------------------------------------------------

    @inlineCallbacks
    def test_watch_from_revision(self):
        """A watch from a revision replays later changes in order, then follows new ones."""
        base = yield self.store.create(self.key("before"), value("before"))
        kv = yield self.store.create(self.key("a"), value("a", v=1))
        kv2 = yield self.store.update(kv.key, value("a", v=2), kv.mod_revision)
        gone = yield self.store.delete(kv.key)
        events = EventCollector()
        w = self.store.watch(self.root, base.mod_revision, events)
        self.assertTrue(IWatch.providedBy(w))
        self.addCleanup(w.stop)
        got = yield events.wait(3)
        self.assertEqual(
            [(e.type, e.revision) for e in got],
            [(ADDED, kv.mod_revision), (MODIFIED, kv2.mod_revision), (DELETED, gone.mod_revision)],
        )
        self.assertIsNone(got[0].prev_kv)
        self.assertEqual(got[1].prev_kv.value, value("a", v=1))
        self.assertEqual(got[2].prev_kv.value, value("a", v=2))
        self.assertEqual(got[2].kv.value, value("a", v=2))
        self.assertEqual(got[2].kv.object["metadata"]["resourceVersion"], str(gone.mod_revision))
        later = yield self.store.create(self.key("later"), value("later"))
        got = yield events.wait(4)
        self.assertEqual((got[3].type, got[3].revision), (ADDED, later.mod_revision))
        self.assertEqual(got[3].kv.value, value("later"))

    @inlineCallbacks
    def test_watch_prefix_excludes_siblings(self):
        """A watch of one namespace does not see a namespace whose name extends it."""
        start = yield self.store.current_revision()
        events = EventCollector()
        w = self.store.watch(self.root + "a/", start, events)
        self.addCleanup(w.stop)
        yield self.store.create(self.key("x", "ab"), value("x"))
        yield self.store.create(self.key("y", "b"), value("y"))
        mine = yield self.store.create(self.key("z", "a"), value("z"))
        got = yield events.wait(1)
        yield self.settle()
        self.assertEqual([e.revision for e in events.events], [mine.mod_revision])
        self.assertEqual(got[0].kv.key, self.key("z", "a"))

    @inlineCallbacks
    def test_watch_stop(self):
        """After stop() a watch delivers nothing more and its done fires."""
        start = yield self.store.current_revision()
        events = EventCollector()
        w = self.store.watch(self.root, start, events)
        yield self.store.create(self.key("a"), value("a"))
        yield events.wait(1)
        w.stop()
        yield w.done
        yield self.store.create(self.key("b"), value("b"))
        yield self.settle()
        self.assertEqual(len(events.events), 1)

    @inlineCallbacks
    def test_watch_bookmark_revision(self):
        """A watch's revision reaches the last delivered change (a safe bookmark)."""
        start = yield self.store.current_revision()
        events = EventCollector()
        w = self.store.watch(self.root, start, events)
        self.addCleanup(w.stop)
        kv = yield self.store.create(self.key("a"), value("a"))
        yield events.wait(1)
        self.assertGreaterEqual(w.revision, kv.mod_revision)

    # -- compaction -----------------------------------------------------------

    @inlineCallbacks
    def test_compaction(self):
        """After compaction, old revisions are gone (CompactedError) and state is kept."""
        kv = yield self.store.create(self.key("a"), value("a", v=1))
        old = kv.mod_revision
        for i in range(2, 5):
            kv = yield self.store.update(kv.key, value("a", v=i), kv.mod_revision)
        yield self.store.create(self.key("b"), value("b"))
        gone = yield self.store.delete(self.key("b"))
        target = gone.mod_revision - 1
        yield self.store.compact(target)
        e = yield self.assert_fails(self.store.list(self.root, old), CompactedError)
        self.assertEqual(e.requested, old)
        at = yield self.store.list(self.root, target)
        self.assertEqual([x.key for x in at.items], [self.key("a"), self.key("b")])
        now = yield self.store.list(self.root)
        self.assertEqual([(x.key, x.value) for x in now.items], [(self.key("a"), value("a", v=4))])
        events = EventCollector()
        w = self.store.watch(self.root, old, events)
        yield self.assert_fails(w.done, CompactedError)
        self.assertEqual(events.events, [])
        # A watch from the compaction target still gets everything after it.
        w2 = self.store.watch(self.root, target, events)
        self.addCleanup(w2.stop)
        got = yield events.wait(1)
        self.assertEqual((got[0].type, got[0].revision), (DELETED, gone.mod_revision))

    # -- read-modify-write ----------------------------------------------------

    @inlineCallbacks
    def test_guaranteed_update_no_lost_update(self):
        """Many concurrent read-modify-writes on one key lose no increment."""
        yield self.store.create(self.key("counter"), value("counter", n=0))
        n = 25

        def increment(current):
            obj = json.loads(current.value)
            obj["data"]["n"] += 1
            new = json.dumps(obj, separators=(",", ":")).encode()
            # Answer on a later turn so the writers interleave.
            return deferLater(reactor, 0, lambda: new)

        results = yield gatherResults(
            [self.store.guaranteed_update(self.key("counter"), increment) for _ in range(n)],
            consumeErrors=True,
        )
        final = yield self.store.get(self.key("counter"))
        self.assertEqual(json.loads(final.value)["data"]["n"], n)
        self.assertEqual(len({r.mod_revision for r in results}), n)

    @inlineCallbacks
    def test_guaranteed_update_cases(self):
        """Read-modify-write: absent keys, unchanged results and errors behave."""
        yield self.assert_fails(
            self.store.guaranteed_update(self.key("a"), lambda cur: b"{}"), KeyNotFoundError
        )
        made = yield self.store.guaranteed_update(
            self.key("a"), lambda cur: value("a", made=cur is None), ignore_not_found=True
        )
        self.assertEqual(made.value, value("a", made=True))
        same = yield self.store.guaranteed_update(self.key("a"), lambda cur: None)
        self.assertEqual(same.mod_revision, made.mod_revision)
        same = yield self.store.guaranteed_update(self.key("a"), lambda cur: cur.value)
        self.assertEqual(same.mod_revision, made.mod_revision)

        class Refused(Exception):
            pass

        def refuse(cur):
            raise Refused()

        yield self.assert_fails(self.store.guaranteed_update(self.key("a"), refuse), Refused)
        got = yield self.store.get(self.key("a"))
        self.assertEqual(got.mod_revision, made.mod_revision)


def wait_for(predicate, interval: float = 0.02, timeout: float = 30.0) -> Deferred:
    """Poll C{predicate} (a callable returning a value or a Deferred) until truthy."""
    import time

    deadline = time.monotonic() + timeout

    @inlineCallbacks
    def loop():
        while True:
            result = yield maybeDeferred(predicate)
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            yield deferLater(reactor, interval, lambda: None)

    return loop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ETCD_MISSING = (
    "the etcd binary is not on PATH: the etcd3 storage tests were SKIPPED "
    "(install Debian's etcd-server package)"
)


class EtcdServer:
    """
    A real single-member etcd on free loopback ports, for tests. L{start}
    and L{stop} block (briefly) until etcd answers or has exited; the data
    directory and ports survive a stop, so a restart finds the same data.
    """

    def __init__(self, data_dir: str) -> None:
        import os

        self.data_dir = os.path.abspath(data_dir)
        self.client_port = free_port()
        self.peer_port = free_port()
        self.process: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @staticmethod
    def available() -> bool:
        import shutil

        return shutil.which("etcd") is not None

    def start(self, timeout: float = 30.0) -> None:
        import os
        import subprocess
        import time
        import urllib.request

        os.makedirs(self.data_dir, exist_ok=True)
        peer = f"http://127.0.0.1:{self.peer_port}"
        log = open(os.path.join(self.data_dir, "etcd.log"), "ab")
        self.process = subprocess.Popen(
            [
                "etcd",
                "--name", "kapi-test",
                "--data-dir", os.path.join(self.data_dir, "data"),
                "--listen-client-urls", self.url,
                "--advertise-client-urls", self.url,
                "--listen-peer-urls", peer,
                "--initial-advertise-peer-urls", peer,
                "--initial-cluster", f"kapi-test={peer}",
                "--log-level", "error",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"etcd exited early; see {self.data_dir}/etcd.log")
            try:
                request = urllib.request.Request(
                    self.url + "/v3/kv/range", data=b'{"key":"AA=="}', method="POST"
                )
                with urllib.request.urlopen(request, timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"etcd did not answer; see {self.data_dir}/etcd.log")
            time.sleep(0.05)

    def stop(self) -> None:
        import subprocess

        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


__all__ = [
    "ETCD_MISSING",
    "EtcdServer",
    "EventCollector",
    "StorageConformanceMixin",
    "free_port",
    "value",
    "wait_for",
]
