"""
What the memory and SQLite backends share: the whole state lives in an
L{Index} on the reactor thread, so every compare-and-swap is decided there
without a round trip. A subclass says how a decided write becomes durable
(L{LocalStorage._commit}).

Writes that are decided but not yet committed sit in an overlay
(C{_pending}): later compare-and-swaps are checked against it, reads are not
(a reader never sees a write that may still be lost).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from twisted.internet.defer import Deferred, fail, succeed

from .interface import (
    ADDED,
    DELETED,
    MODIFIED,
    ConflictError,
    Event,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    StorageError,
)
from ._index import Index


class _Gone:
    """Overlay marker: deleted by a write not yet committed."""


_GONE = _Gone()


class LocalStorage:
    """Base of the backends whose state is all in memory."""

    def __init__(self, reactor: Any = None) -> None:
        if reactor is None:
            from twisted.internet import reactor as _reactor

            reactor = _reactor
        self._reactor = reactor
        self._index = Index(reactor.callLater)
        self._pending: dict[str, Any] = {}
        self._next_revision = 0

    # -- subclass hook ------------------------------------------------------

    def _commit(self, event: Event, row: tuple) -> Deferred:
        """
        Make C{event} durable, apply it to the index (then L{_settled}),
        fire with C{event.kv}.
        C{row} is (revision, key, create_revision, deleted, value).
        """
        raise NotImplementedError

    # -- helpers --------------------------------------------------------------

    def _current(self, key: str) -> Optional[KeyValue]:
        """The key's newest decided state (committed or not)."""
        kv = self._pending.get(key)
        if kv is None:
            return self._index.state.get(key)
        return None if kv is _GONE else kv

    def _write(self, type_: str, kv: KeyValue, prev: Optional[KeyValue]) -> Deferred:
        self._next_revision = kv.mod_revision
        key = kv.key
        if type_ == DELETED:
            self._pending[key] = _GONE
            row = (kv.mod_revision, key, kv.create_revision, 1, b"")
        else:
            self._pending[key] = kv
            row = (kv.mod_revision, key, kv.create_revision, 0, kv.value)
        return self._commit(Event(type_, kv, prev), row)

    def _settled(self, event: Event) -> None:
        """A committed write no longer needs its overlay entry."""
        key = event.kv.key
        pending = self._pending.get(key)
        if pending is event.kv or (pending is _GONE and event.type == DELETED):
            del self._pending[key]

    def _abandon(self) -> None:
        """Every undecided write failed: forget the overlay."""
        self._pending.clear()
        self._next_revision = self._index.revision

    # -- IStorage -------------------------------------------------------------

    def get(self, key: str) -> Deferred:
        kv = self._index.state.get(key)
        if kv is None:
            return fail(KeyNotFoundError(key))
        return succeed(kv)

    def list(
        self,
        prefix: str,
        revision: Optional[int] = None,
        limit: int = 0,
        start_key: Optional[str] = None,
    ) -> Deferred:
        try:
            return succeed(self._index.list(prefix, revision, limit, start_key))
        except StorageError:
            return fail()

    def count(self, prefix: str) -> Deferred:
        return succeed(self._index.count(prefix))

    def create(self, key: str, value: bytes, parsed: Optional[dict] = None) -> Deferred:
        if self._current(key) is not None:
            return fail(KeyExistsError(key))
        rev = self._next_revision + 1
        return self._write(ADDED, KeyValue.with_parsed(key, value, rev, rev, parsed), None)

    def update(self, key: str, value: bytes, expected_revision: int) -> Deferred:
        cur = self._current(key)
        if cur is None:
            return fail(KeyNotFoundError(key))
        if cur.mod_revision != expected_revision:
            return fail(ConflictError(key, cur))
        rev = self._next_revision + 1
        kv = KeyValue(key, value, rev, cur.create_revision)
        return self._write(MODIFIED, kv, cur)

    def delete(self, key: str, expected_revision: Optional[int] = None) -> Deferred:
        cur = self._current(key)
        if cur is None:
            return fail(KeyNotFoundError(key))
        if expected_revision is not None and cur.mod_revision != expected_revision:
            return fail(ConflictError(key, cur))
        rev = self._next_revision + 1
        kv = KeyValue(key, cur.value, rev, cur.create_revision)
        return self._write(DELETED, kv, cur)

    def guaranteed_update(
        self,
        key: str,
        try_update: Callable[[Optional[KeyValue]], Any],
        ignore_not_found: bool = False,
    ) -> Deferred:
        cur = self._current(key)
        if cur is None and not ignore_not_found:
            return fail(KeyNotFoundError(key))
        return self._gu_step(key, try_update, ignore_not_found, cur)

    def _gu_step(self, key, try_update, ignore_not_found, cur) -> Deferred:
        try:
            new = try_update(cur)
        except Exception:
            return fail()
        if isinstance(new, Deferred):
            return new.addCallback(
                lambda value: self._gu_apply(key, try_update, ignore_not_found, cur, value)
            )
        return self._gu_apply(key, try_update, ignore_not_found, cur, new)

    def _gu_apply(self, key, try_update, ignore_not_found, cur, new) -> Deferred:
        latest = self._current(key)
        if latest is not cur:
            # Someone wrote while try_update was thinking: think again.
            if latest is None and not ignore_not_found:
                return fail(KeyNotFoundError(key))
            return self._gu_step(key, try_update, ignore_not_found, latest)
        if new is None or (cur is not None and new == cur.value):
            if cur is None:
                return fail(KeyNotFoundError(key))
            return self._settled_read(cur)
        if cur is None:
            return self.create(key, new)
        return self.update(key, new, cur.mod_revision)

    def _settled_read(self, kv: KeyValue) -> Deferred:
        """An unchanged result, once the write that made it has committed."""
        return succeed(kv)

    def watch(
        self,
        prefix: str,
        after_revision: int,
        on_event: Callable[[Event], Any],
        on_progress: Optional[Callable[[int], Any]] = None,
    ):
        return self._index.watch(prefix, after_revision, on_event, on_progress)

    def current_revision(self) -> Deferred:
        return succeed(self._index.revision)

    def check(self) -> Deferred:
        return succeed(None)
