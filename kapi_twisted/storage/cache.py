"""
The watch cache: an L{IStorage} in front of any backend that answers LIST and
WATCH from memory, fed by one backend watch of the whole key prefix.

  - C{list(revision=0)}: the cache's newest state, no backend round trip.
  - C{list(revision=None)}: consistent. Ask the backend for its current
    revision, wait (briefly) until the cache has applied it, answer from
    memory; if the cache does not catch up within C{consistent_wait}
    seconds, the backend answers.
  - C{list(revision=N)}: from memory while N is inside the cache's window
    (waiting up to C{future_wait} for a revision the cache has not reached);
    older revisions go to the backend, which may still have them.
  - C{watch(after=N)}: from memory while N is inside the window, else from the
    backend (so a watch resumes across restarts as long as the backend keeps
    the history); C{CompactedError} when neither has it.
  - Bookmarks: each watch's C{revision} attribute is the newest revision it
    is complete up to; C{on_progress(revision)} is called every
    C{progress_interval} seconds when it moved.

Gets and writes go straight to the backend. Objects are the backend's
L{KeyValue}s, whose encoded bytes (C{data}) and parsed form (C{object}) are
computed once and shared by every reader.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Optional

from twisted.internet.defer import Deferred, fail, inlineCallbacks, succeed
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from zope.interface import implementer

from ._index import Index
from .interface import (
    CompactedError,
    Event,
    FutureRevisionError,
    IStorage,
    KeyNotFoundError,
    KeyValue,
)

_log = Logger()


@implementer(IStorage)
class WatchCache:
    """
    An L{IStorage} caching C{backend}'s keys under C{prefix}.

    @param window: seconds of events kept for watches and past lists.
    @param progress_interval: seconds between C{on_progress} calls and
        window trimming.
    """

    def __init__(
        self,
        backend: Any,
        prefix: str = "/registry/",
        reactor: Any = None,
        window: float = 75.0,
        progress_interval: float = 1.0,
        consistent_wait: float = 1.0,
        future_wait: float = 3.0,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as _reactor

            reactor = _reactor
        self.backend = backend
        self.prefix = prefix
        self._reactor = reactor
        self._window = window
        self._progress_interval = progress_interval
        self._consistent_wait = consistent_wait
        self._future_wait = future_wait
        self._index = Index(reactor.callLater)
        self._ignored = frozenset(getattr(backend, "internal_keys", ()))
        self.ready = False
        self._stopping = False
        self._source: Any = None
        self._waiters: list = []
        self._marks: deque = deque()
        self._loop: Optional[LoopingCall] = None

    # -- life cycle -----------------------------------------------------------

    @inlineCallbacks
    def start(self):
        yield self.backend.start()
        yield self._fill()
        self._loop = LoopingCall(self._tick)
        self._loop.clock = self._reactor
        self._loop.start(self._progress_interval, now=False)

    @inlineCallbacks
    def _fill(self):
        """(Re)load from the backend and follow its watch."""
        result = yield self.backend.list(self.prefix)
        state = {kv.key: kv for kv in result.items if kv.key not in self._ignored}
        index = self._index
        index.load(state, result.revision, result.revision)
        self._marks.clear()
        self._source = self.backend.watch(
            self.prefix, result.revision, self._on_event, self._on_progress
        )
        self._source.done.addBoth(self._source_ended, self._source)
        self.ready = True

    def _source_ended(self, result: Any, source: Any) -> None:
        if self._stopping or source is not self._source:
            return
        self.ready = False
        reason = getattr(result, "value", None)
        _log.warn(
            "watch cache for {prefix} lost its backend watch ({reason}); reloading",
            prefix=self.prefix,
            reason=reason,
        )
        # Clients must relist: what they saw may not lead to the new state.
        self._index.close(CompactedError(self._index.revision, self._index.revision))
        self._refill()

    def _refill(self) -> None:
        if self._stopping:
            return
        d = self._fill()

        def retry(failure):
            _log.warn("watch cache reload failed: {e}", e=failure.getErrorMessage())
            self._reactor.callLater(1.0, self._refill)

        d.addErrback(retry)

    def stop(self) -> Deferred:
        self._stopping = True
        self.ready = False
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self._source is not None:
            self._source.stop()
        self._index.close()
        for _, d, call in self._waiters:
            call.cancel()
            d.callback(False)
        self._waiters = []
        return self.backend.stop()

    # -- feeding --------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if event.kv.key in self._ignored:
            self._index.advance(event.kv.mod_revision)
        else:
            self._index.apply(event)
        if self._waiters:
            self._wake()

    def _on_progress(self, revision: int) -> None:
        self._index.advance(revision)
        if self._waiters:
            self._wake()

    def _wake(self) -> None:
        revision = self._index.revision
        ready = [w for w in self._waiters if w[0] <= revision]
        if not ready:
            return
        # Off the list before firing: a waiter's callbacks may run stop()
        # or wake others.
        self._waiters = [w for w in self._waiters if w[0] > revision]
        for _, d, call in ready:
            call.cancel()
            d.callback(True)

    def _wait_for(self, revision: int, timeout: float) -> Deferred:
        """Fire with True once the cache reached C{revision}, False on timeout."""
        if self._index.revision >= revision:
            return succeed(True)
        d: Deferred = Deferred()

        def expire():
            self._waiters = [w for w in self._waiters if w[1] is not d]
            d.callback(False)

        call = self._reactor.callLater(timeout, expire)
        self._waiters.append((revision, d, call))
        return d

    def _tick(self) -> None:
        index = self._index
        now = self._reactor.seconds()
        self._marks.append((now, index.revision))
        oldest = None
        while self._marks and self._marks[0][0] <= now - self._window:
            oldest = self._marks.popleft()[1]
        if oldest is not None and oldest > index.compacted:
            index.compact(oldest)
        for w in index.watchers():
            w.notify_progress()

    # -- reads ----------------------------------------------------------------

    def get(self, key: str) -> Deferred:
        return self.backend.get(key)

    def get_cached(self, key: str) -> Deferred:
        """
        The key as this cache holds it, which may be a write or two behind
        the backend (kube's GET with C{resourceVersion=0}); the backend's
        answer while the cache is not filled or the key is not cached here.
        """
        if not self.ready or not key.startswith(self.prefix):
            return self.backend.get(key)
        kv = self._index.get(key)
        if kv is None:
            return fail(KeyNotFoundError(key))
        return succeed(kv)

    def peek(self, key: str) -> Optional[KeyValue]:
        """
        L{get_cached}'s answer at once, without a Deferred, when the cache
        holds the key; None otherwise (missing, not filled yet, or outside
        this cache), where a caller asks L{get_cached} or L{get} instead.
        """
        if not self.ready or not key.startswith(self.prefix):
            return None
        return self._index.get(key)

    def count(self, prefix: str) -> Deferred:
        if not self.ready:
            return self.backend.count(prefix)
        return succeed(self._index.count(prefix))

    def list(
        self,
        prefix: str,
        revision: Optional[int] = None,
        limit: int = 0,
        start_key: Optional[str] = None,
    ) -> Deferred:
        if not self.ready or not prefix.startswith(self.prefix):
            return self.backend.list(prefix, revision, limit, start_key)
        index = self._index
        if revision == 0:
            return succeed(index.list(prefix, None, limit, start_key))
        if revision is None:
            return self._list_consistent(prefix, limit, start_key)
        if revision < index.compacted:
            return self.backend.list(prefix, revision, limit, start_key)
        if revision <= index.revision:
            return succeed(index.list(prefix, revision, limit, start_key))
        return self._list_future(prefix, revision, limit, start_key)

    @inlineCallbacks
    def _list_consistent(self, prefix, limit, start_key):
        target = yield self.backend.current_revision()
        caught_up = yield self._wait_for(target, self._consistent_wait)
        if not caught_up or not self.ready:
            result = yield self.backend.list(prefix, None, limit, start_key)
            return result
        return self._index.list(prefix, None, limit, start_key)

    @inlineCallbacks
    def _list_future(self, prefix, revision, limit, start_key):
        current = yield self.backend.current_revision()
        if revision > current:
            raise FutureRevisionError(revision, current)
        caught_up = yield self._wait_for(revision, self._future_wait)
        if not caught_up or not self.ready or revision < self._index.compacted:
            result = yield self.backend.list(prefix, revision, limit, start_key)
            return result
        return self._index.list(prefix, revision, limit, start_key)

    def current_revision(self) -> Deferred:
        return self.backend.current_revision()

    # -- writes (straight through) --------------------------------------------

    def create(self, key: str, value: bytes, parsed: Optional[dict] = None) -> Deferred:
        return self.backend.create(key, value, parsed)

    def update(self, key: str, value: bytes, expected_revision: int) -> Deferred:
        return self.backend.update(key, value, expected_revision)

    def delete(self, key: str, expected_revision: Optional[int] = None) -> Deferred:
        return self.backend.delete(key, expected_revision)

    def guaranteed_update(self, key, try_update, ignore_not_found: bool = False) -> Deferred:
        return self.backend.guaranteed_update(key, try_update, ignore_not_found)

    def compact(self, revision: int) -> Deferred:
        """Compact the backend, and the cache's window with it."""

        def also_here(result):
            index = self._index
            if self.ready:
                index.compact(min(revision, index.revision))
            return result

        return self.backend.compact(revision).addCallback(also_here)

    def check(self) -> Deferred:
        return self.backend.check()

    # -- watches --------------------------------------------------------------

    def watch(
        self,
        prefix: str,
        after_revision: int,
        on_event: Callable[[Event], Any],
        on_progress: Optional[Callable[[int], Any]] = None,
    ):
        index = self._index
        if (
            self.ready
            and prefix.startswith(self.prefix)
            and after_revision >= index.compacted
        ):
            return index.watch(prefix, after_revision, on_event, on_progress)
        return self.backend.watch(prefix, after_revision, on_event, on_progress)

