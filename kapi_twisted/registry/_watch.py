"""
Watches of one resource, with kube-apiserver's cacher semantics on top of
the storage's ordered event stream:

  - C{resourceVersion} unset or C{"0"}: synthetic ADDED events for the
    current state, then every change after that state's revision;
    C{"N"}: the changes after N. A list's revision followed by a watch from
    it misses nothing and repeats nothing, because the storage replays its
    history after N.
  - selectors: an object that stops matching is sent as DELETED (its
    previous state at the event's revision), one that starts matching as
    ADDED.
  - C{sendInitialEvents=true}: the ADDED events, then a BOOKMARK annotated
    C{k8s.io/initial-events-end} when bookmarks were allowed.
  - C{allowWatchBookmarks}: a BOOKMARK (only C{metadata.resourceVersion})
    every L{BOOKMARK_INTERVAL} seconds; one shared timer per store serves
    every watch.
  - a compacted C{resourceVersion}: one ERROR event with the 410 Expired
    C{Status}, then the watch is done.

Events reach C{send} in revision order and never from inside C{watch()}.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable, Dict, Optional

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from kapi_twisted import apierrors
from kapi_twisted.storage import interface as st

from . import _options
from .interface import ListOptions, WatchEvent

_log = Logger()

BOOKMARK_INTERVAL = 60.0
DEADLINE_BOOKMARK_LEAD = 2.0
INITIAL_EVENTS_END = "k8s.io/initial-events-end"
LIST_BLUEPRINT = "kubernetes.io/initial-events-list-blueprint"


class Watch:
    """
    One running watch, as L{kapi_twisted.registry.interface.IResourceStore.watch}
    hands it out: C{stop()} ends it; C{done} fires (with None) once it ended.
    """

    def __init__(self, dispatcher: "WatchDispatcher", send: Callable[[WatchEvent], Any],
                 predicate: Any, bookmarks: bool) -> None:
        self._dispatcher = dispatcher
        self._send = send
        self._predicate = predicate
        self.bookmarks = bookmarks
        self.done: Deferred = Deferred()
        self.source: Any = None
        self.stopped = False
        self.last_revision = 0
        self.deadline_call: Any = None

    # -- life cycle ---------------------------------------------------------------

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self._dispatcher._forget(self)
        if self.deadline_call is not None and self.deadline_call.active():
            self.deadline_call.cancel()
        if self.source is not None:
            self.source.stop()
        self.done.callback(None)

    def _fail(self, error: apierrors.APIError) -> None:
        """Deliver one ERROR event, then end."""
        if self.stopped:
            return
        self._emit(WatchEvent("ERROR", object=error.status()))
        self.stop()

    def _source_ended(self, result: Any) -> None:
        if self.stopped:
            return
        if isinstance(result, Failure):
            error = result.value
            if isinstance(error, st.CompactedError):
                self._fail(apierrors.expired(
                    f"too old resource version: {error.requested} ({error.compacted})"))
                return
            _log.failure("watch source failed", result)
            self._fail(apierrors.internal_error(str(error)))
            return
        self.stop()

    # -- delivery -----------------------------------------------------------------

    def _emit(self, event: WatchEvent) -> None:
        try:
            self._send(event)
        except Exception:
            _log.failure("watch consumer failed; stopping that watch")
            self.stop()

    def on_event(self, event: st.Event) -> None:
        if self.stopped:
            return
        self.last_revision = event.kv.mod_revision
        store = self._dispatcher.store
        if store._shared_prefix:
            prev = event.prev_kv
            event = st.Event(event.type, store.present(event.kv),
                             store.present(prev) if prev is not None else None)
        kind = self._translate(event)
        if kind is not None:
            type_, kv = kind
            self._emit(WatchEvent(type_, kv=kv))

    def _translate(self, event: st.Event):
        predicate = self._predicate
        kv = event.kv
        if predicate is None or predicate.empty:
            return event.type, kv
        if event.type == st.DELETED:
            return (st.DELETED, kv) if predicate.matches(kv.object) else None
        now = predicate.matches(kv.object)
        before = event.prev_kv is not None and predicate.matches(event.prev_kv.object)
        if event.type == st.ADDED or event.prev_kv is None:
            return (st.ADDED, kv) if now else None
        if now and before:
            return st.MODIFIED, kv
        if now:
            return st.ADDED, kv
        if before:
            prev = event.prev_kv
            return st.DELETED, st.KeyValue(prev.key, prev.value, kv.mod_revision,
                                           prev.create_revision)
        return None

    def bookmark(self, annotations: Optional[Dict[str, str]] = None,
                 revision: Optional[int] = None) -> None:
        if self.stopped:
            return
        if revision is None:
            revision = self.last_revision
            if self.source is not None:
                revision = max(revision, int(getattr(self.source, "revision", 0) or 0))
        if revision <= 0:
            return
        self.last_revision = revision
        self._emit(WatchEvent("BOOKMARK", object=self._dispatcher.bookmark_object(
            revision, annotations)))


class WatchDispatcher:
    """The watches of one store and their shared bookmark timer."""

    def __init__(self, store: Any, clock: Any) -> None:
        self.store = store
        self.clock = clock
        self._bookmarked: Dict[Watch, None] = {}
        self._timer: Optional[LoopingCall] = None

    def bookmark_object(self, revision: int, annotations: Optional[Dict[str, str]] = None):
        info = self.store.info
        meta: Dict[str, Any] = {"resourceVersion": str(revision), "creationTimestamp": None}
        if annotations:
            meta["annotations"] = annotations
        return {"kind": info.kind, "apiVersion": info.group_version, "metadata": meta}

    def _blueprint(self) -> str:
        info = self.store.info
        empty = {"kind": info.list_kind, "apiVersion": info.group_version,
                 "metadata": {}, "items": []}
        return base64.b64encode(json.dumps(empty, separators=(",", ":")).encode()).decode()

    # -- bookmarks ------------------------------------------------------------------

    def _remember(self, w: Watch) -> None:
        if not w.bookmarks:
            return
        self._bookmarked[w] = None
        if self._timer is None:
            self._timer = LoopingCall(self._tick)
            self._timer.clock = self.clock
            self._timer.start(BOOKMARK_INTERVAL, now=False)

    def _forget(self, w: Watch) -> None:
        self._bookmarked.pop(w, None)
        if not self._bookmarked and self._timer is not None:
            if self._timer.running:
                self._timer.stop()
            self._timer = None

    def _tick(self) -> None:
        for w in list(self._bookmarked):
            w.bookmark()

    # -- starting -------------------------------------------------------------------

    def watch(self, namespace: str, options: ListOptions, send: Callable[[WatchEvent], Any]):
        from .store import Predicate

        try:
            _options.validate_watch_options(options)
            predicate = Predicate(self.store.info, options.label_selector,
                                  options.field_selector)
            rv = _options.parse_resource_version(options.resource_version)
        except apierrors.APIError:
            from twisted.internet.defer import fail
            return fail()
        w = Watch(self, send, predicate, bool(options.allow_watch_bookmarks))
        return self._start(w, namespace, options, rv)

    @inlineCallbacks
    def _start(self, w: Watch, namespace: str, options: ListOptions, rv: Optional[int]):
        storage = self.store.storage
        prefix = self.store.scan_prefix(namespace, w._predicate)
        send_initial = options.send_initial_events
        if send_initial is None:
            send_initial = rv in (None, 0)
        if rv:
            current = yield storage.current_revision()
            if rv > current:
                try:
                    # The store may catch up briefly (the watch cache waits).
                    yield storage.list(prefix, rv, 1)
                except st.FutureRevisionError as e:
                    raise self.store._storage_error(e)
                except st.CompactedError:
                    pass
        if send_initial:
            try:
                if rv:
                    current = yield storage.current_revision()
                    snapshot = yield storage.list(prefix, None if rv <= current else rv)
                else:
                    snapshot = yield storage.list(prefix, None if rv is None else 0)
            except st.StorageError as e:
                raise self.store._storage_error(e)
            after = snapshot.revision
        elif not rv:
            # No state wanted: start at the newest revision.
            after = yield storage.current_revision()
            snapshot = None
        else:
            after = rv
            snapshot = None
        w.last_revision = after
        # Nothing reaches send() before the caller holds the watch.
        self.clock.callLater(0, self._begin, w, prefix, after, snapshot, options)
        return w

    def _begin(self, w: Watch, prefix: str, after: int, snapshot: Any,
               options: ListOptions) -> None:
        if w.stopped:
            return
        if snapshot is not None:
            store = self.store
            predicate = w._predicate
            filtering = not predicate.empty
            for kv in snapshot.items:
                if w.stopped:
                    return
                kv = store.present(kv)
                if filtering and not predicate.matches(kv.object):
                    continue
                w._emit(WatchEvent("ADDED", kv=kv))
            if options.send_initial_events and options.allow_watch_bookmarks:
                w.bookmark({INITIAL_EVENTS_END: "true", LIST_BLUEPRINT: self._blueprint()},
                           revision=after)
        if w.stopped:
            return
        w.source = self.store.storage.watch(prefix, after, w.on_event)
        w.source.done.addBoth(w._source_ended)
        if not w.stopped:
            self._remember(w)
            timeout = options.timeout_seconds
            if w.bookmarks and timeout:
                # As kube's cacher: one last bookmark shortly before the handler's deadline.
                w.deadline_call = self.clock.callLater(
                    max(float(timeout) - DEADLINE_BOOKMARK_LEAD, 0), w.bookmark)
