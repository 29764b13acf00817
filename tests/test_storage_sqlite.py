"""
The SQLite backend: conformance, durability across kill -9, resuming
watches across restarts, compaction bounding the file, and clear errors for
files it cannot use.
"""

import os
import signal
import sys
import textwrap

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.defer import Deferred
from twisted.trial import unittest

from kapi_twisted.storage import DELETED, MODIFIED, ADDED, StorageFileError
from kapi_twisted.storage.sqlite import SQLiteStorage
from kapi_twisted.storage.testing import EventCollector, StorageConformanceMixin, value


class SQLiteConformanceTests(StorageConformanceMixin, unittest.TestCase):
    """The conformance suite on the SQLite backend (commits on the writer thread)."""

    def make_storage(self):
        return SQLiteStorage(os.path.join(self.mktemp(), "kapi.db"), compaction_interval=0)


class SQLiteInlineConformanceTests(StorageConformanceMixin, unittest.TestCase):
    """The conformance suite on the SQLite backend committing on the reactor thread."""

    def make_storage(self):
        return SQLiteStorage(
            os.path.join(self.mktemp(), "kapi.db"), compaction_interval=0, synchronous="NORMAL"
        )


_WRITER = textwrap.dedent(
    """
    import sys
    from twisted.internet import reactor, defer
    from kapi_twisted.storage.sqlite import SQLiteStorage

    store = SQLiteStorage(sys.argv[1], compaction_interval=0, synchronous=sys.argv[2])

    @defer.inlineCallbacks
    def writer(n):
        i = 0
        while True:
            key = "/registry/configmaps/w%d/k%06d" % (n, i)
            kv = yield store.create(key, b'{"metadata":{"name":"k"},"i":%d}' % i)
            print("%s %d" % (key, kv.mod_revision), flush=True)
            i += 1

    def go(_):
        print("ready", flush=True)
        for n in range(8):
            writer(n)

    store.start().addCallback(go)
    reactor.run()
    """
)


class _Lines(ProcessProtocol):
    def __init__(self, enough):
        self.lines = []
        self.buffer = b""
        self.enough = enough
        self.got_enough = Deferred()
        self.ended = Deferred()
        self.stderr = b""

    def outReceived(self, data):
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        self.lines.extend(line.decode() for line in lines)
        if len(self.lines) >= self.enough and not self.got_enough.called:
            self.got_enough.callback(None)

    def errReceived(self, data):
        self.stderr += data

    def processEnded(self, reason):
        if not self.got_enough.called:
            self.got_enough.errback(RuntimeError(self.stderr.decode()))
        self.ended.callback(None)


class SQLiteDurabilityTests(unittest.TestCase):
    """What survives a crash or a restart."""

    timeout = 120

    def setUp(self):
        self.path = os.path.join(self.mktemp(), "kapi.db")

    @inlineCallbacks
    def open(self, **kwargs):
        store = SQLiteStorage(self.path, compaction_interval=0, **kwargs)
        yield store.start()
        self.addCleanup(store.stop)
        return store

    @inlineCallbacks
    def kill_9_keeps_acknowledged_writes(self, synchronous):
        os.makedirs(os.path.dirname(self.path))
        proto = _Lines(enough=400)
        env = dict(os.environ, PYTHONPATH=_repo_root())
        proc = reactor.spawnProcess(
            proto,
            sys.executable,
            [sys.executable, "-c", _WRITER, self.path, synchronous],
            env=env,
        )
        yield proto.got_enough
        proc.signalProcess(signal.SIGKILL)
        yield proto.ended
        acknowledged = {}
        for line in proto.lines:
            if line != "ready" and line.strip():
                key, rev = line.split()
                acknowledged[key] = int(rev)
        self.assertGreaterEqual(len(acknowledged), 390)
        store = yield self.open()
        for key, rev in acknowledged.items():
            kv = yield store.get(key)
            self.assertEqual(kv.mod_revision, rev)
        # Nothing half-applied: revisions are dense and every row parses.
        result = yield store.list("/registry/")
        revs = sorted(kv.mod_revision for kv in result.items)
        self.assertEqual(revs, list(range(1, len(revs) + 1)))
        for kv in result.items:
            self.assertEqual(kv.object["metadata"]["resourceVersion"], str(kv.mod_revision))

    def test_kill_9_keeps_acknowledged_writes(self):
        """Every write acknowledged before kill -9 is there after reopening."""
        return self.kill_9_keeps_acknowledged_writes("FULL")

    def test_kill_9_keeps_acknowledged_writes_inline(self):
        """With synchronous=NORMAL (reactor-thread commits) kill -9 loses no acknowledged write."""
        return self.kill_9_keeps_acknowledged_writes("NORMAL")

    @inlineCallbacks
    def test_unchanged_update_waits_for_pending_commit(self):
        """A no-op read-modify-write right after a write answers only once that write committed."""
        store = yield self.open()
        kv = yield store.create("/registry/pods/ns/a", value("a", v=1))
        pending = store.update(kv.key, value("a", v=2), kv.mod_revision)
        same = store.guaranteed_update(kv.key, lambda cur: cur.value)
        result = yield same
        self.assertTrue(pending.called)
        self.assertLessEqual(result.mod_revision, (yield store.current_revision()))
        self.assertEqual(result.value, value("a", v=2))

    @inlineCallbacks
    def test_failed_commit_is_reported_and_not_applied(self):
        """A write whose commit fails errors out, is invisible, and health fails until a write succeeds."""
        import sqlite3

        from kapi_twisted.storage import KeyNotFoundError, StorageError

        store = yield self.open()
        kv = yield store.create("/registry/pods/ns/a", value("a"))
        real_write = store._db.write

        def broken(rows):
            raise sqlite3.OperationalError("disk I/O error")

        store._db.write = broken
        yield self.assertFailure(store.create("/registry/pods/ns/b", value("b")), StorageError)
        yield self.assertFailure(store.get("/registry/pods/ns/b"), KeyNotFoundError)
        yield self.assertFailure(store.check(), StorageError)
        store._db.write = real_write
        self.assertEqual(len(self.flushLoggedErrors(sqlite3.OperationalError)), 1)
        c = yield store.create("/registry/pods/ns/c", value("c"))
        self.assertEqual(c.mod_revision, kv.mod_revision + 1)
        yield store.check()

    @inlineCallbacks
    def test_restart_resumes_watch(self):
        """A watch from a revision taken before a restart gets exactly the later events."""
        store = yield self.open()
        kv = yield store.create("/registry/pods/ns/a", value("a", v=1))
        taken = yield store.current_revision()
        kv2 = yield store.update(kv.key, value("a", v=2), kv.mod_revision)
        b = yield store.create("/registry/pods/ns/b", value("b"))
        gone = yield store.delete(kv.key)
        yield store.stop()
        store = yield self.open()
        events = EventCollector()
        w = store.watch("/registry/pods/", taken, events)
        self.addCleanup(w.stop)
        got = yield events.wait(3)
        self.assertEqual(
            [(e.type, e.revision) for e in got],
            [(MODIFIED, kv2.mod_revision), (ADDED, b.mod_revision), (DELETED, gone.mod_revision)],
        )
        self.assertEqual(got[0].prev_kv.value, value("a", v=1))
        self.assertEqual(got[2].prev_kv.value, value("a", v=2))
        later = yield store.create("/registry/pods/ns/c", value("c"))
        got = yield events.wait(4)
        self.assertEqual(got[3].revision, later.mod_revision)
        self.assertEqual(later.mod_revision, gone.mod_revision + 1)

    @inlineCallbacks
    def test_compaction_survives_restart(self):
        """After compaction and a restart, state and the compacted revision are kept."""
        store = yield self.open()
        kv = yield store.create("/registry/pods/ns/a", value("a", v=0))
        for i in range(1, 50):
            kv = yield store.update(kv.key, value("a", v=i), kv.mod_revision)
        yield store.create("/registry/pods/ns/b", value("b"))
        gone = yield store.delete("/registry/pods/ns/b")
        yield store.compact(gone.mod_revision)
        yield store.stop()
        store = yield self.open()
        self.assertEqual(store._index.compacted, gone.mod_revision)
        current = yield store.current_revision()
        self.assertEqual(current, gone.mod_revision)
        result = yield store.list("/registry/")
        self.assertEqual([(x.key, x.value) for x in result.items], [(kv.key, value("a", v=49))])
        rows = store._db.conn.execute("SELECT COUNT(*) FROM log").fetchone()[0]
        self.assertEqual(rows, 1)
        nxt = yield store.create("/registry/pods/ns/c", value("c"))
        self.assertEqual(nxt.mod_revision, gone.mod_revision + 1)

    @inlineCallbacks
    def test_compaction_bounds_file(self):
        """Rewriting the same objects with compaction in between keeps the file from growing."""
        store = yield self.open(synchronous="NORMAL")
        blob = "x" * 2000
        kvs = {}
        for i in range(50):
            kvs[i] = yield store.create("/registry/cm/ns/k%d" % i, value("k", b=blob, r=0))

        @inlineCallbacks
        def rewrite_round(r):
            for i in range(50):
                kvs[i] = yield store.update(
                    kvs[i].key, value("k", b=blob, r=r), kvs[i].mod_revision
                )
            current = yield store.current_revision()
            yield store.compact(current)

        for r in range(1, 6):
            yield rewrite_round(r)
        size_after_warmup = store.file_size()
        for r in range(6, 30):
            yield rewrite_round(r)
        self.assertLessEqual(store.file_size(), size_after_warmup * 1.5)

    @inlineCallbacks
    def test_corrupt_file_is_a_clear_error(self):
        """A file that is not a database stops start-up with one clear line and stays as it was."""
        os.makedirs(os.path.dirname(self.path))
        junk = b"this is not a database at all\n" * 200
        with open(self.path, "wb") as f:
            f.write(junk)
        store = SQLiteStorage(self.path, compaction_interval=0)
        e = yield self.assertFailure(store.start(), StorageFileError)
        self.assertIn(self.path, str(e))
        self.assertIn("corrupt", str(e))
        self.assertNotIn("\n", str(e))
        with open(self.path, "rb") as f:
            self.assertEqual(f.read(), junk)

    @inlineCallbacks
    def test_damaged_pages_are_a_clear_error(self):
        """A database whose pages were overwritten fails to open with StorageFileError."""
        store = yield self.open()
        for i in range(300):
            yield store.create("/registry/cm/ns/k%d" % i, value("k", pad="y" * 300))
        yield store.stop()
        size = os.path.getsize(self.path)
        with open(self.path, "r+b") as f:
            f.seek(4096)
            f.write(b"\xff" * (size - 8192))
        store = SQLiteStorage(self.path, compaction_interval=0)
        e = yield self.assertFailure(store.start(), StorageFileError)
        self.assertIn(self.path, str(e))

    @inlineCallbacks
    def test_foreign_database_is_refused(self):
        """An SQLite file that is not ours is refused, not adopted."""
        import sqlite3

        os.makedirs(os.path.dirname(self.path))
        conn = sqlite3.connect(self.path)
        conn.execute("CREATE TABLE other (x)")
        conn.commit()
        conn.close()
        store = SQLiteStorage(self.path, compaction_interval=0)
        e = yield self.assertFailure(store.start(), StorageFileError)
        self.assertIn("not a kapi database", str(e))

    @inlineCallbacks
    def test_second_opener_is_refused(self):
        """A second store on the same file fails with 'in use by another process'."""
        yield self.open()
        other = SQLiteStorage(self.path, compaction_interval=0)
        e = yield self.assertFailure(other.start(), StorageFileError)
        self.assertIn("in use", str(e))

    @inlineCallbacks
    def test_start_up_loads_many_objects(self):
        """Ten thousand stored objects are all there after a restart."""
        store = yield self.open(synchronous="OFF")
        from twisted.internet.defer import gatherResults

        for chunk in range(10):
            yield gatherResults(
                [
                    store.create("/registry/cm/ns%d/k%d" % (chunk, i), value("k%d" % i))
                    for i in range(1000)
                ]
            )
        yield store.stop()
        store = yield self.open()
        n = yield store.count("/registry/cm/")
        self.assertEqual(n, 10000)


def _repo_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
