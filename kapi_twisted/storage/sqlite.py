"""
The embedded default backend (C{--storage-backend=sqlite}): an append-only,
revision-numbered log in one SQLite file, with the whole current state (and
the history since the last compaction) held in memory.

Why this shape:
  - Every compare-and-swap is decided in memory on the reactor thread, so
    SQLite is only asked to append rows. One dedicated writer thread commits
    whatever writes queued up while it was busy in one transaction (group
    commit), and a write's Deferred fires only after that commit, so an
    acknowledged write survives C{kill -9} (with the default
    C{synchronous=FULL}, power loss too). A batch commits whole or not at all.
  - Start-up reads the log once (state + history for resuming watches).
  - Compaction deletes superseded rows and old tombstones in short
    transactions on the same writer thread, interleaved with write batches,
    then gives the pages back to the file system (incremental vacuum).
  - The file holds an exclusive lock while open and a schema version; a file
    that is corrupt, foreign, locked or newer raises L{StorageFileError} and
    is never replaced.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any, Optional

from twisted.internet.defer import Deferred, DeferredLock, fail, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from ._compactor import PeriodicCompactor
from ._local import LocalStorage
from ._writer import WriterThread
from .interface import (
    ADDED,
    DELETED,
    MODIFIED,
    Event,
    FutureRevisionError,
    IStorage,
    KeyValue,
    StorageError,
    StorageFileError,
)

_log = Logger()

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE log (
    rev INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    create_rev INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    value BLOB NOT NULL
);
CREATE INDEX log_key_rev ON log (key, rev);
CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

_INSERT = "INSERT INTO log (rev, key, create_rev, deleted, value) VALUES (?, ?, ?, ?, ?)"

# Rows at or before the compaction target that nothing needs any more: a
# tombstone, or a version with a newer version at or before the target.
_COMPACT_CHUNK = """
DELETE FROM log WHERE rev > ? AND rev <= ? AND (
    deleted = 1 OR EXISTS (
        SELECT 1 FROM log AS newer
        WHERE newer.key = log.key AND newer.rev > log.rev AND newer.rev <= ?))
"""

# Rows per INSERT statement (5 parameters each, far below SQLite's limit);
# the sqlite3 module's statement cache (128) keeps every size prepared.
ROWS_PER_INSERT = 100
_INSERT_ROWS = ["", _INSERT] + [
    _INSERT + ", (?, ?, ?, ?, ?)" * (n - 1) for n in range(2, ROWS_PER_INSERT + 1)
]


def _insert_rows(n: int) -> str:
    """An INSERT of C{n} rows (1 <= n <= ROWS_PER_INSERT)."""
    return _INSERT_ROWS[n]


COMPACT_BATCH = 1000
CHECKPOINT_ROWS = 2000
SHRINK_PAGES = 1000


class _Database:
    """The SQLite side; every method runs on the writer thread."""

    def __init__(self, path: str, synchronous: str, autocheckpoint: bool = True) -> None:
        self.path = path
        self.synchronous = synchronous
        self.autocheckpoint = autocheckpoint
        self.conn: Optional[sqlite3.Connection] = None

    def _error(self, problem: str) -> StorageFileError:
        return StorageFileError(
            f"storage file {self.path} {problem}; it was left untouched "
            f"(restore it from a backup or move it away)"
        )

    def open(self) -> tuple:
        """Open (or create) the file and read the log: (rows, compacted)."""
        try:
            return self._open()
        except sqlite3.OperationalError as e:
            self.close()
            if "locked" in str(e):
                raise StorageFileError(
                    f"storage file {self.path} is in use by another process"
                ) from e
            raise self._error(f"cannot be read ({e})") from e
        except sqlite3.DatabaseError as e:
            self.close()
            raise self._error(f"is corrupt or not a kapi database ({e})") from e

    def _open(self) -> tuple:
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        conn = self.conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=0.2
        )
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        tables = {
            row[0]
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if not tables:
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            conn.execute("COMMIT")
        elif "schema_version" not in tables:
            raise self._error("is not a kapi database (no schema_version table)")
        else:
            conn.execute("PRAGMA journal_mode=WAL")
            (version,) = conn.execute("SELECT version FROM schema_version").fetchone()
            if version > SCHEMA_VERSION:
                raise self._error(
                    f"has schema version {version}, newer than this kapi's {SCHEMA_VERSION}"
                )
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        if not self.autocheckpoint:
            conn.execute("PRAGMA wal_autocheckpoint=0")
        meta = dict(conn.execute("SELECT name, value FROM meta"))
        rows = conn.execute(
            "SELECT rev, key, create_rev, deleted, value FROM log ORDER BY rev"
        ).fetchall()
        return rows, meta.get("compacted", 0)

    def write(self, rows: list) -> None:
        """
        Append C{rows} in one transaction. Up to L{ROWS_PER_INSERT} rows go
        in one multi-row INSERT outside any explicit transaction: SQLite
        makes that one statement its own transaction (whole or nothing,
        committed with the connection's C{synchronous} mode before it
        returns), and the sqlite3 module releases the GIL once for the whole
        insert, commit and fsync. C{executemany} inside BEGIN/COMMIT takes
        the GIL back after every row and after BEGIN and COMMIT, and each
        such take-over forces the busy reactor thread to hand it over.
        """
        conn = self.conn
        if len(rows) <= ROWS_PER_INSERT:
            conn.execute(_insert_rows(len(rows)), [v for row in rows for v in row])
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            for i in range(0, len(rows), ROWS_PER_INSERT):
                chunk = rows[i : i + ROWS_PER_INSERT]
                conn.execute(_insert_rows(len(chunk)), [v for row in chunk for v in row])
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def set_compacted(self, revision: int) -> None:
        """Record the compaction target before any row goes."""
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (name, value) VALUES ('compacted', ?)",
            (revision,),
        )

    def compact_chunk(self, after: int, target: int) -> Optional[int]:
        """Compact rows in (after, ...]; return where to go on, or None when done."""
        conn = self.conn
        row = conn.execute(
            "SELECT rev FROM log WHERE rev > ? AND rev <= ? ORDER BY rev LIMIT 1 OFFSET ?",
            (after, target, COMPACT_BATCH - 1),
        ).fetchone()
        upto = row[0] if row else target
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_COMPACT_CHUNK, (after, upto, target))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return upto if upto < target else None

    def shrink_step(self, pages: int = SHRINK_PAGES) -> bool:
        """
        Give up to C{pages} free pages back to the file system; True while
        more remain. (Python's sqlite3 steps C{incremental_vacuum} once, which
        frees one page, hence the loop inside one transaction.)
        """
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for _ in range(pages):
                if not conn.execute("PRAGMA freelist_count").fetchone()[0]:
                    break
                conn.execute("PRAGMA incremental_vacuum(1)")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return bool(conn.execute("PRAGMA freelist_count").fetchone()[0])

    def truncate_wal(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def checkpoint(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def size(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            try:
                total += os.path.getsize(self.path + suffix)
            except OSError:
                pass
        return total

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def load_rows(rows: list, compacted: int) -> tuple:
    """
    Replay log rows into (state, history, revision): the state after every
    row, and the events after C{compacted}.
    """
    state: dict[str, KeyValue] = {}
    history: list[Event] = []
    revision = 0
    for rev, key, create_rev, deleted, value in rows:
        prev = state.get(key)
        if deleted:
            if prev is None:
                continue
            del state[key]
            if rev > compacted:
                kv = KeyValue(key, prev.value, rev, prev.create_revision)
                history.append(Event(DELETED, kv, prev))
        else:
            kv = KeyValue(key, value, rev, create_rev)
            state[key] = kv
            if rev > compacted:
                history.append(Event(MODIFIED if prev is not None else ADDED, kv, prev))
        revision = rev
    return state, history, revision


# Stands in for the in-flight batch while an inline commit runs.
_COMMITTING: Deferred = Deferred()


@implementer(IStorage)
class SQLiteStorage(LocalStorage):
    """
    An L{IStorage} in one SQLite file.

    @param path: the database file (created when missing).
    @param compaction_interval: seconds between compactions (0: never).
    @param synchronous: SQLite's C{synchronous} pragma; C{FULL} (default)
        survives power loss, C{NORMAL} only process crashes.
    @param commit_in_thread: commit on the writer thread (the default with
        C{FULL}/C{EXTRA}, whose commits wait for the disk) or on the reactor
        thread at the end of the current turn (the default otherwise: such
        a commit is a few tens of microseconds, less than a thread hop).
        Opening, checkpoints and compaction always use the writer thread.
    """

    def __init__(
        self,
        path: str,
        reactor: Any = None,
        compaction_interval: float = 300,
        synchronous: str = "FULL",
        commit_in_thread: Optional[bool] = None,
    ) -> None:
        super().__init__(reactor)
        synchronous = synchronous.upper()
        if synchronous not in ("FULL", "NORMAL", "EXTRA", "OFF"):
            raise ValueError(f"bad synchronous mode {synchronous!r}")
        if commit_in_thread is None:
            commit_in_thread = synchronous in ("FULL", "EXTRA")
        self.path = path
        self._inline = not commit_in_thread
        self._db = _Database(path, synchronous, autocheckpoint=commit_in_thread)
        self._writer = WriterThread(self._reactor, "kapi-sqlite")
        # One user of the connection at a time: a write batch (inline or on
        # the thread) or one step of opening, checkpointing or compaction.
        self._lock = DeferredLock()
        self._queue: list = []
        self._writing: Optional[Deferred] = None
        self._compacting: Optional[Deferred] = None
        self._unchecked_rows = 0
        self._write_error: Optional[str] = None
        self._reads: list = []  # (revision, Deferred): answers waiting for a commit
        self._compactor = PeriodicCompactor(self, compaction_interval, self._reactor)
        self._started = False

    def _run(self, f, *args) -> Deferred:
        """Run C{f} on the writer thread, alone on the connection."""
        return self._lock.run(self._writer.call, f, *args)

    # -- life cycle -----------------------------------------------------------

    def start(self) -> Deferred:
        self._writer.start()
        d = self._run(self._db.open)
        d.addCallback(self._loaded)
        d.addErrback(self._open_failed)
        return d

    def _loaded(self, opened: tuple) -> None:
        rows, compacted = opened
        state, history, revision = load_rows(rows, compacted)
        # Compaction may have removed the newest row (a tombstone at the
        # compaction target), never anything after it.
        revision = max(revision, compacted)
        self._index.load(state, revision, compacted, history)
        self._next_revision = revision
        self._started = True
        self._compactor.start()

    def _open_failed(self, failure: Failure) -> Failure:
        self._writer.stop()
        return failure

    def stop(self) -> Deferred:
        self._compactor.stop()
        self._index.close()
        if not self._started:
            return succeed(None)
        self._started = False
        d = self._idle()
        d.addBoth(lambda _: self._run(self._db.close))
        d.addBoth(lambda _: self._writer.stop())
        return d

    def _idle(self) -> Deferred:
        """Fire once queued writes and any compaction are finished."""
        if self._writing is None and self._compacting is None and not self._queue:
            return succeed(None)
        d: Deferred = Deferred()
        self._reactor.callLater(0.01, lambda: self._idle().chainDeferred(d))
        return d

    # -- writes ---------------------------------------------------------------

    def _commit(self, event: Event, row: tuple) -> Deferred:
        if not self._started:
            self._abandon()
            return fail(StorageError("storage is not running"))
        d: Deferred = Deferred()
        self._queue.append((event, row, d))
        if self._writing is None:
            self._schedule()
        return d

    def _schedule(self) -> None:
        if self._inline:
            # Commit what this reactor turn wrote, at its end.
            self._writing = Deferred()
            self._reactor.callLater(0, self._flush)
        else:
            self._flush()

    def _flush(self) -> None:
        batch, self._queue = self._queue, []
        rows = [row for _, row, _ in batch]
        if self._inline and not self._lock.locked:
            # The connection is free: no need for the lock's Deferreds.
            self._writing = _COMMITTING
            try:
                self._write_inline(rows)
            except Exception:
                self._write_failed(Failure(), batch)
            else:
                self._written(None, batch)
            return
        if self._inline:
            w = self._lock.run(self._write_inline, rows)
        else:
            w = self._run(self._db.write, rows)
        self._writing = w
        w.addCallbacks(self._written, self._write_failed, (batch,), None, (batch,))

    def _write_inline(self, rows: list) -> None:
        self._db.write(rows)
        self._unchecked_rows += len(rows)

    def _written(self, _: Any, batch: list) -> None:
        self._write_error = None
        index = self._index
        for event, _, d in batch:
            index.apply(event)
            self._settled(event)
        # Writes issued by these callbacks queue up for one next batch.
        for event, _, d in batch:
            d.callback(event.kv)
        self._writing = None
        if self._reads:
            revision = index.revision
            ready = [d for rev, d in self._reads if rev <= revision]
            self._reads = [(rev, d) for rev, d in self._reads if rev > revision]
            for d in ready:
                d.callback(None)
        if self._unchecked_rows >= CHECKPOINT_ROWS:
            # Inline commits leave checkpoints (which wait for the disk) to us.
            self._unchecked_rows = 0
            self._run(self._db.checkpoint).addErrback(
                lambda f: _log.warn("checkpoint failed: {e}", e=f.getErrorMessage())
            )
        if self._queue:
            self._schedule()

    def check(self) -> Deferred:
        """Healthy unless the last write to the file failed."""
        if self._write_error is not None:
            return fail(StorageError(f"storage file {self.path}: {self._write_error}"))
        return succeed(None)

    def _write_failed(self, failure: Failure, batch: list) -> None:
        self._write_error = f"last write failed: {failure.getErrorMessage()}"
        self._writing = None
        _log.failure("storage write failed", failure)
        queued, self._queue = self._queue, []
        self._abandon()
        error = StorageError(f"storage write failed: {failure.getErrorMessage()}")
        reads, self._reads = self._reads, []
        for d in [d for _, _, d in batch + queued] + [d for _, d in reads]:
            d.errback(error)

    def _settled_read(self, kv: KeyValue) -> Deferred:
        """Answer with C{kv} only once the write that made it has committed."""
        if kv.mod_revision <= self._index.revision:
            return succeed(kv)
        d: Deferred = Deferred()
        self._reads.append((kv.mod_revision, d))
        return d.addCallback(lambda _: kv)

    # -- compaction -----------------------------------------------------------

    def compact(self, revision: int) -> Deferred:
        index = self._index
        if revision > index.revision:
            return fail(FutureRevisionError(revision, index.revision))
        if revision <= index.compacted or self._compacting is not None:
            return succeed(None)
        index.compact(revision)
        self._compacting = d = self._run(self._db.set_compacted, revision)
        d.addCallback(lambda _: self._compact_from(0, revision))
        d.addCallback(lambda _: self._shrink())
        d.addCallback(lambda _: self._run(self._db.truncate_wal))

        def finished(result):
            self._compacting = None
            return result

        return d.addBoth(finished)

    def _compact_from(self, after: int, target: int) -> Deferred:
        # One short transaction per step; write batches go between steps.
        d = self._run(self._db.compact_chunk, after, target)

        def next_step(upto):
            if upto is None or not self._started:
                return None
            return self._compact_from(upto, target)

        return d.addCallback(next_step)

    def _shrink(self) -> Deferred:
        # Free pages go back in steps too, so writers wait little.
        d = self._run(self._db.shrink_step)

        def next_step(more):
            if more and self._started:
                return self._shrink()
            return None

        return d.addCallback(next_step)

    def file_size(self) -> int:
        """Bytes on disk (database + write-ahead log)."""
        return self._db.size()
