"""
The in-memory core shared by the memory and SQLite backends and the watch
cache: the current state of every key (with a sorted key list for prefix
lists and pagination), the events since the compacted revision (so a list can
be answered at a past revision and a watch can resume), and the fan-out of new
events to watchers.

Everything here is synchronous and runs on the reactor thread; the owners
decide when an event is applied (the SQLite backend only after its commit).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from heapq import merge
from itertools import islice
from typing import Any, Callable, Iterable, Optional

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from .interface import (
    ADDED,
    DELETED,
    CompactedError,
    Event,
    FutureRevisionError,
    IWatch,
    KeyValue,
    ListResult,
)
from ._sortedkeys import SortedKeys

_log = Logger()


def prefix_end(prefix: str) -> Optional[str]:
    """
    The first string after every string starting with C{prefix} (L{None}: no
    upper bound), so C{[prefix, prefix_end(prefix))} is the prefix's range.
    """
    if not prefix:
        return None
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _bounds(prefix: str, start_key: Optional[str]) -> tuple:
    """The key range [low, high) a list of C{prefix} from C{start_key} on covers."""
    low = start_key if start_key is not None and start_key > prefix else prefix
    return low, prefix_end(prefix)


def _head(s: str) -> Optional[str]:
    """
    C{s} up to and including its third C{/} (C{/registry/pods/} of a pod's
    key), or None with fewer. A prefix with a head matches only keys with
    the same head.
    """
    i = s.find("/")
    if i >= 0:
        i = s.find("/", i + 1)
        if i >= 0:
            i = s.find("/", i + 1)
    return s[: i + 1] if i >= 0 else None


@implementer(IWatch)
class IndexWatch:
    """
    One watcher of an L{Index}: delivers events under C{prefix} with a
    revision greater than C{after}.

    @ivar revision: every change under the prefix up to this revision has
        been delivered (a safe bookmark revision).
    """

    def __init__(
        self,
        index: "Index",
        prefix: str,
        after: int,
        on_event: Callable[[Event], Any],
        on_progress: Optional[Callable[[int], Any]] = None,
    ) -> None:
        self._index = index
        self.prefix = prefix
        self._after = after
        self._on_event = on_event
        self.on_progress = on_progress
        self.live = False
        self.stopped = False
        self.done: Deferred = Deferred()
        self._progressed = after

    @property
    def revision(self) -> int:
        if self.live:
            return max(self._after, self._index.dispatched)
        return self._after

    def _deliver(self, event: Event) -> None:
        rev = event.kv.mod_revision
        if self.stopped or rev <= self._after:
            return
        self._after = rev
        try:
            self._on_event(event)
        except Exception:
            _log.failure("watch callback failed; ending that watch")
            self._end(Failure())

    def notify_progress(self) -> None:
        """Call C{on_progress} if the bookmark revision moved since last time."""
        if self.on_progress is None or self.stopped:
            return
        rev = self.revision
        if rev > self._progressed:
            self._progressed = rev
            try:
                self.on_progress(rev)
            except Exception:
                _log.failure("watch progress callback failed; ending that watch")
                self._end(Failure())

    def stop(self) -> None:
        self._end(None)

    def _end(self, result: Any) -> None:
        if self.stopped:
            return
        self.stopped = True
        self._index._forget(self)
        if isinstance(result, (Failure, Exception)):
            self.done.errback(result)
        else:
            self.done.callback(None)


class Index:
    """
    Current state + event history + watcher fan-out.

    @ivar revision: the newest applied revision.
    @ivar dispatched: the newest revision every live watcher has been given.
    @ivar compacted: history at and before this revision is gone; lists at
        it and watches after it still work.
    """

    def __init__(self, call_later: Callable[..., Any]) -> None:
        self._call_later = call_later
        self.state: dict[str, KeyValue] = {}
        self.keys = SortedKeys()
        self.revision = 0
        self.dispatched = 0
        self.compacted = 0
        self._history: list[Event] = []
        self._history_revs: list[int] = []
        self._prefixes: dict[str, dict[IndexWatch, None]] = {}
        self._routes: Optional[tuple] = None  # see _build_routes
        self._pending: set = set()
        self._queue: deque = deque()
        self._dispatching = False

    # -- loading and writing ------------------------------------------------

    def load(
        self,
        state: dict[str, KeyValue],
        revision: int,
        compacted: int,
        history: Iterable[Event] = (),
    ) -> None:
        """Replace everything with C{state} at C{revision} (start-up, relist)."""
        self.state = dict(state)
        self.keys = SortedKeys(self.state)
        self.revision = self.dispatched = revision
        self.compacted = compacted
        self._history = list(history)
        self._history_revs = [e.kv.mod_revision for e in self._history]

    def apply(self, event: Event) -> None:
        """Apply one change (its revision above every earlier one), then fan it out."""
        kv = event.kv
        key = kv.key
        state = self.state
        if event.type == DELETED:
            if state.pop(key, None) is not None:
                self.keys.discard(key)
        else:
            if key not in state:
                self.keys.add(key)
            state[key] = kv
        self.revision = kv.mod_revision
        self._history.append(event)
        self._history_revs.append(kv.mod_revision)
        self._queue.append(event)
        if not self._dispatching:
            self._drain()

    def advance(self, revision: int) -> None:
        """The source says nothing changed up to C{revision} (a progress note)."""
        if revision > self.revision:
            self.revision = revision
            if not self._dispatching and not self._queue:
                self.dispatched = revision

    def _drain(self) -> None:
        self._dispatching = True
        try:
            queue = self._queue
            while queue:
                event = queue.popleft()
                key = event.kv.key
                short, by_head = self._routes or self._build_routes()
                for routes in (short, by_head.get(_head(key), ())):
                    for prefix, watchers in routes:
                        if key.startswith(prefix):
                            for w in list(watchers):
                                w._deliver(event)
                self.dispatched = event.kv.mod_revision
            if self.revision > self.dispatched:
                self.dispatched = self.revision
        finally:
            self._dispatching = False

    def compact(self, revision: int) -> None:
        """Forget history at and before C{revision}."""
        if revision <= self.compacted:
            return
        if revision > self.revision:
            raise FutureRevisionError(revision, self.revision)
        cut = bisect_right(self._history_revs, revision)
        del self._history[:cut]
        del self._history_revs[:cut]
        self.compacted = revision

    @property
    def oldest_event_revision(self) -> int:
        return self._history_revs[0] if self._history_revs else self.revision + 1

    # -- reading --------------------------------------------------------------

    def get(self, key: str) -> Optional[KeyValue]:
        return self.state.get(key)

    def count(self, prefix: str) -> int:
        return self.keys.count(*_bounds(prefix, None))

    def check_revision(self, revision: int) -> None:
        if revision < self.compacted:
            raise CompactedError(revision, self.compacted, self.revision)
        if revision > self.revision:
            raise FutureRevisionError(revision, self.revision)

    def list(
        self,
        prefix: str,
        revision: Optional[int] = None,
        limit: int = 0,
        start_key: Optional[str] = None,
    ) -> ListResult:
        """
        The keys under C{prefix} at C{revision} (None or 0: the newest), from
        C{start_key} on, at most C{limit} of them.
        """
        if not revision or revision >= self.revision:
            if revision and revision > self.revision:
                raise FutureRevisionError(revision, self.revision)
            return self._list_current(prefix, limit, start_key)
        self.check_revision(revision)
        return self._list_past(prefix, revision, limit, start_key)

    def _list_current(self, prefix, limit, start_key) -> ListResult:
        low, high = _bounds(prefix, start_key)
        state = self.state
        if limit > 0:
            total = self.keys.count(low, high)
            if total > limit:
                items = [state[k] for k in self.keys.range(low, high, limit)]
                return ListResult(items, self.revision, True, total - limit)
        return ListResult([state[k] for k in self.keys.range(low, high)], self.revision)

    def _list_past(self, prefix, revision, limit, start_key) -> ListResult:
        lo_key, end = _bounds(prefix, start_key)
        # The state at `revision` of every key changed since: the state just
        # before its first later change.
        then: dict[str, Optional[KeyValue]] = {}
        first = bisect_right(self._history_revs, revision)
        for event in islice(self._history, first, None):
            key = event.kv.key
            if key in then or key < lo_key or (end is not None and key >= end):
                continue
            then[key] = None if event.type == ADDED else event.prev_kv
        state = self.state
        total = self.keys.count(lo_key, end) + sum(
            (v is not None) - (k in state) for k, v in then.items()
        )
        items = []
        want = limit if limit > 0 else total
        current = (k for k in self.keys.iter_range(lo_key, end) if k not in then)
        for key in merge(current, sorted(then)):
            if len(items) >= want:
                break
            kv = then[key] if key in then else state[key]
            if kv is not None:
                items.append(kv)
        remaining = total - len(items)
        return ListResult(items, revision, remaining > 0, remaining)

    # -- watching -------------------------------------------------------------

    def watch(
        self,
        prefix: str,
        after: int,
        on_event: Callable[[Event], Any],
        on_progress: Optional[Callable[[int], Any]] = None,
    ) -> IndexWatch:
        """
        Watch C{prefix} for events after revision C{after}. History is
        replayed on a later reactor turn, never inside this call.
        """
        w = IndexWatch(self, prefix, after, on_event, on_progress)
        if after < self.compacted:
            w._end(CompactedError(after, self.compacted, self.revision))
        elif after >= self.dispatched and not self._queue and not self._dispatching:
            self._register(w)
        else:
            self._register_pending(w)
            self._call_later(0, self._replay, w)
        return w

    def _build_routes(self) -> tuple:
        """
        The watched prefixes grouped by L{_head}, so an event is matched
        against the few prefixes that can match it rather than all of them
        (one per resource type in a cache's source). Rebuilt after the set
        of prefixes changes.
        """
        short: list = []
        by_head: dict = {}
        for prefix, watchers in self._prefixes.items():
            head = _head(prefix)
            if head is None:
                short.append((prefix, watchers))
            else:
                by_head.setdefault(head, []).append((prefix, watchers))
        self._routes = (short, by_head)
        return self._routes

    def _register(self, w: IndexWatch) -> None:
        w.live = True
        if w.prefix not in self._prefixes:
            self._routes = None
        self._prefixes.setdefault(w.prefix, {})[w] = None

    def _register_pending(self, w: IndexWatch) -> None:
        self._pending.add(w)

    def _replay(self, w: IndexWatch) -> None:
        self._pending.discard(w)
        if w.stopped:
            return
        if w._after < self.compacted:
            w._end(CompactedError(w._after, self.compacted, self.revision))
            return
        prefix = w.prefix
        history = self._history
        i = bisect_right(self._history_revs, w._after)
        # Index, not a slice: a callback may write, appending to history.
        while i < len(history) and not w.stopped:
            event = history[i]
            i += 1
            if event.kv.key.startswith(prefix):
                w._deliver(event)
        if not w.stopped:
            self._register(w)

    def _forget(self, w: IndexWatch) -> None:
        watchers = self._prefixes.get(w.prefix)
        if watchers is not None:
            watchers.pop(w, None)
            if not watchers:
                del self._prefixes[w.prefix]
                self._routes = None
        self._pending.discard(w)

    def watchers(self) -> list:
        """Every watcher, live or still replaying."""
        result = [w for ws in self._prefixes.values() for w in ws]
        result.extend(self._pending)
        return result

    def close(self, reason: Any = None) -> None:
        """End every watcher (with C{reason} in its C{done}, if given)."""
        for w in self.watchers():
            w._end(reason)
