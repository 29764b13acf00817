"""
Informers: a controller's view of one resource, kept current by a watch on
the store (list, then watch from the list's resourceVersion; list again
when the watch ends or expires), as client-go's reflector and indexer do.

Handlers get C{on_add(obj)}, C{on_update(old, new)}, C{on_delete(obj)};
after a re-list the differences are delivered the same way, so a handler
never misses a deletion. The cache holds the stores' own parsed objects
(shared, read-only: copy before changing one).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.logger import Logger

from twisted.python.failure import Failure

from kapi_twisted.registry.interface import ListOptions, RequestContext

from . import _util

__all__ = ["Informer", "InformerSet", "custom_resource_stores", "watchable"]

log = Logger()

ObjKey = Tuple[str, str]
_RELIST_DELAY = 1.0
#: How often the set looks for resources that appeared or went (custom resources).
REFRESH_PERIOD = 1.0


def watchable(store: Any) -> bool:
    """A store whose resource can be listed and watched (not reviews or bindings)."""
    info = getattr(store, "info", None)
    return (info is not None and bool(getattr(info, "list_kind", ""))
            and "watch" in info.verbs and hasattr(store, "watch"))


def object_key(obj: dict) -> ObjKey:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or "", meta.get("name") or ""


class Informer:
    """
    The objects of one store, and the handlers told of their changes.

    @ivar synced: fires once the first list has been delivered.
    """

    def __init__(self, store: Any, clock: Any) -> None:
        self.store = store
        self.info = store.info
        self.clock = clock
        self.cache: Dict[ObjKey, dict] = {}
        self.handlers: List[Tuple[Any, Any, Any]] = []
        self.synced: Deferred = Deferred()
        self._watch: Any = None
        self._relist_call: Any = None
        self._running = False
        self._has_synced = False
        self._in_flight: Optional[Deferred] = None

    def add_handler(self, on_add: Optional[Callable[[dict], Any]] = None,
                    on_update: Optional[Callable[[dict, dict], Any]] = None,
                    on_delete: Optional[Callable[[dict], Any]] = None) -> None:
        """Register handlers; objects already cached are replayed to C{on_add}."""
        self.handlers.append((on_add, on_update, on_delete))
        if on_add is not None:
            for obj in list(self.cache.values()):
                self._call(on_add, obj)

    def get(self, namespace: str, name: str) -> Optional[dict]:
        return self.cache.get((namespace, name))

    def list(self, namespace: Optional[str] = None) -> List[dict]:
        if namespace is None:
            return list(self.cache.values())
        return [o for (ns, _), o in self.cache.items() if ns == namespace]

    def start(self) -> None:
        if self._running:
            return
        self._running = True
        self._track(self._list_and_watch())

    def stop(self) -> Deferred:
        """Stop watching; fires once a list or watch set-up in progress has ended."""
        self._running = False
        if self._relist_call is not None and self._relist_call.active():
            self._relist_call.cancel()
        self._relist_call = None
        if self._watch is not None:
            watch, self._watch = self._watch, None
            watch.stop()
        if self._in_flight is None:
            return succeed(None)
        done: Deferred = Deferred()
        self._in_flight.addBoth(lambda result: (done.callback(None), result)[1])
        return done

    def _track(self, d: Deferred) -> None:
        self._in_flight = d

        def finished(result: Any) -> Any:
            if self._in_flight is d:
                self._in_flight = None
            return result

        d.addBoth(finished)

    # -- the reflector ----------------------------------------------------------

    def _call(self, handler: Callable[..., Any], *args: Any) -> None:
        try:
            handler(*args)
        except Exception:
            log.failure("informer handler for {resource} failed", resource=self.info.plural)

    def _added(self, obj: dict) -> None:
        key = object_key(obj)
        old = self.cache.get(key)
        self.cache[key] = obj
        for on_add, on_update, _ in list(self.handlers):
            if old is None:
                if on_add is not None:
                    self._call(on_add, obj)
            elif on_update is not None:
                self._call(on_update, old, obj)

    def _deleted(self, obj: dict) -> None:
        key = object_key(obj)
        last = self.cache.pop(key, None)
        for _, _, on_delete in list(self.handlers):
            if on_delete is not None:
                self._call(on_delete, obj if obj is not None else last)

    @inlineCallbacks
    def _list_and_watch(self):
        try:
            page = yield self.store.list(RequestContext(), "", ListOptions())
        except Exception:
            _util.log_error(log, Failure(), "informer: listing {resource} failed",
                            resource=self.info.plural)
            self._schedule_relist()
            return
        if not self._running:
            return
        seen = set()
        for kv in page.items:
            obj = kv.object if hasattr(kv, "object") else kv
            key = object_key(obj)
            seen.add(key)
            cached = self.cache.get(key)
            if cached is None or (cached.get("metadata") or {}).get("resourceVersion") != \
                    (obj.get("metadata") or {}).get("resourceVersion"):
                self._added(obj)
        for key in [k for k in self.cache if k not in seen]:
            self._deleted(self.cache[key])
        if not self._has_synced:
            self._has_synced = True
            self.synced.callback(None)
        try:
            self._watch = yield self.store.watch(
                RequestContext(), "", ListOptions(resource_version=page.resource_version),
                self._event)
        except Exception:
            _util.log_error(log, Failure(), "informer: watching {resource} failed",
                            resource=self.info.plural)
            self._schedule_relist()
            return
        if not self._running:
            self._watch.stop()
            return
        watch = self._watch
        watch.done.addCallback(lambda _: self._watch_ended(watch))

    def _event(self, event: Any) -> None:
        if event.type in ("ADDED", "MODIFIED"):
            self._added(event.as_object())
        elif event.type == "DELETED":
            self._deleted(event.as_object())
        # BOOKMARK: nothing; ERROR: the watch ends and we list again.

    def _watch_ended(self, watch: Any) -> None:
        if self._watch is watch:
            self._watch = None
        if self._running:
            self._schedule_relist(0)

    def _schedule_relist(self, delay: float = _RELIST_DELAY) -> None:
        if not self._running:
            return
        if self._relist_call is not None and self._relist_call.active():
            return
        self._relist_call = self.clock.callLater(delay, self._relist)

    def _relist(self) -> None:
        self._relist_call = None
        if self._running:
            self._track(self._list_and_watch())


class InformerSet:
    """
    One shared L{Informer} per stored resource (versions sharing storage,
    such as C{autoscaling/v1} and C{v2} HorizontalPodAutoscalers, share one).

    @param stores: C{() -> iterable of stores}, read again by L{refresh}
        (every C{refresh_period} seconds) so resources added at run time
        (custom resources) are picked up.
    """

    def __init__(self, stores: Callable[[], Iterable[Any]], clock: Any,
                 refresh_period: float = REFRESH_PERIOD) -> None:
        self._stores = stores
        self.clock = clock
        self.refresh_period = refresh_period
        self.informers: Dict[Any, Informer] = {}
        self._listeners: List[Callable[[Informer], Any]] = []
        self._running = False
        self._refresh_call: Any = None

    @staticmethod
    def resource_key(store: Any) -> Any:
        info = store.info
        return info.etcd_prefix or f"{info.group}/{info.plural}"

    def stores(self) -> List[Any]:
        """One watchable store per stored resource, in a stable order."""
        provided = self._provided()
        offered = {id(s) for s in provided}
        chosen: Dict[Any, Any] = {}
        for store in provided:
            chosen.setdefault(self.resource_key(store), store)
        for key, informer in self.informers.items():
            # Keep the store already watched while it is still offered.
            if key in chosen and id(informer.store) in offered:
                chosen[key] = informer.store
        return list(chosen.values())

    def _provided(self) -> List[Any]:
        return [s for s in self._stores() if watchable(s)]

    def for_store(self, store: Any) -> Informer:
        key = self.resource_key(store)
        informer = self.informers.get(key)
        if informer is None:
            informer = self.informers[key] = Informer(store, self.clock)
            for listener in self._listeners:
                listener(informer)
            if self._running:
                informer.start()
        return informer

    def on_new_informer(self, listener: Callable[[Informer], Any]) -> None:
        """Call C{listener(informer)} for every informer, now and as resources appear."""
        self._listeners.append(listener)
        for informer in list(self.informers.values()):
            listener(informer)

    def refresh(self) -> None:
        """
        Inform about every current resource: new resources get an informer,
        a resource whose store was replaced (a changed custom resource
        definition) is watched through its new store, and informers of
        resources that went away stop.
        """
        current = {self.resource_key(s): s for s in self.stores()}
        for key, store in current.items():
            informer = self.informers.get(key)
            if informer is not None and informer.store is not store:
                self.informers.pop(key).stop()
            self.for_store(store)
        for key in [k for k in self.informers if k not in current]:
            self.informers.pop(key).stop()

    def start(self) -> Deferred:
        """Start every informer; fires once all have synced."""
        from twisted.internet.defer import gatherResults

        if not self._running:
            self._running = True
            self._schedule_refresh()
        self.refresh()
        for informer in self.informers.values():
            informer.start()
        return gatherResults([_util.relay(i.synced) for i in self.informers.values()])

    def _schedule_refresh(self) -> None:
        def tick() -> None:
            if not self._running:
                return
            self.refresh()
            self._schedule_refresh()

        self._refresh_call = self.clock.callLater(self.refresh_period, tick)

    def stop(self) -> Deferred:
        """Stop every informer; fires once none has a request in flight."""
        from twisted.internet.defer import gatherResults

        self._running = False
        if self._refresh_call is not None and self._refresh_call.active():
            self._refresh_call.cancel()
        return gatherResults([i.stop() for i in self.informers.values()])



def custom_resource_stores(serving: Any) -> List[Any]:
    """
    The stores of every custom resource a
    L{kapi_twisted.apiextensions.serving.CustomResourceServing} serves now
    (for L{InformerSet}'s C{stores}).
    """
    stores: List[Any] = []
    for crd in list(getattr(serving, "crds", {}).values()):
        stores.extend(crd.stores.values())
    return stores
