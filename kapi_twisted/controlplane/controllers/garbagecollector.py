"""
The garbage collector of kube-controller-manager
(C{pkg/controller/garbagecollector}): objects whose owners
(C{metadata.ownerReferences}) are gone are deleted, and the C{orphan} and
C{foregroundDeletion} finalizers a DELETE's propagation policy puts on an
owner are acted upon:

  - Background (the default): the owner goes at once; its dependents are
    deleted when the collector sees it gone.
  - Foreground: the owner stays (C{foregroundDeletion}) while its
    dependents are deleted (in foreground too); once no dependent whose
    reference has C{blockOwnerDeletion: true} remains, the finalizer is
    removed and the owner goes.
  - Orphan: the dependents lose their reference to the owner, then the
    C{orphan} finalizer is removed.
  - A reference to an owner that does not exist (or exists with another
    uid, or in another namespace) is dangling: a dependent without any
    existing owner is deleted. References the collector cannot resolve (an
    unknown kind, a namespaced owner of a cluster-scoped object) keep the
    dependent.

The collector keeps a graph of every stored object that owns or is owned
(uid -> identity, owners; owner uid -> dependents), fed by the shared
informers; decisions read the current objects from the stores, as kube's
collector reads the API, so a stale graph never deletes a live object's
dependents. A periodic resync re-examines every owned object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Tuple

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.logger import Logger

from kapi_twisted.apierrors import APIError
from kapi_twisted.registry.interface import DeleteOptions

from . import _util
from ._informer import Informer, InformerSet
from ._queue import WorkQueue

__all__ = ["GarbageCollector", "FINALIZER_ORPHAN", "FINALIZER_FOREGROUND"]

log = Logger()

FINALIZER_ORPHAN = "orphan"
FINALIZER_FOREGROUND = "foregroundDeletion"
RESYNC_PERIOD = 60.0
WORKERS = 5

_DELETE = "delete"
_ORPHAN = "orphan"


@dataclass
class _Node:
    """What the graph knows of one object."""

    uid: str
    store: Any
    namespace: str
    name: str
    owners: List[dict] = field(default_factory=list)
    deleting: bool = False
    finalizers: Tuple[str, ...] = ()

    @property
    def deleting_dependents(self) -> bool:
        return self.deleting and FINALIZER_FOREGROUND in self.finalizers

    @property
    def orphaning(self) -> bool:
        return self.deleting and FINALIZER_ORPHAN in self.finalizers

    def owner_uids(self) -> Set[str]:
        return {r.get("uid") for r in self.owners if r.get("uid")}

    def blocks(self, owner_uid: str) -> bool:
        return any(r.get("uid") == owner_uid and r.get("blockOwnerDeletion")
                   for r in self.owners)


def _api_group_version(api_version: str) -> Tuple[str, str]:
    if "/" in api_version:
        group, version = api_version.rsplit("/", 1)
        return group, version
    return "", api_version


class GarbageCollector:
    """
    @param informers: the shared L{InformerSet}; every resource it informs
        about is part of the graph.
    @param clock: an C{IReactorTime}.
    """

    def __init__(self, informers: InformerSet, clock: Any,
                 resync_period: float = RESYNC_PERIOD, workers: int = WORKERS) -> None:
        self.informers = informers
        self.clock = clock
        self.resync_period = resync_period
        self.nodes: Dict[str, _Node] = {}
        self.dependents: Dict[str, Set[str]] = {}
        self.queue = WorkQueue(clock, self._process, "garbage-collector", workers)
        self._kinds: Dict[Tuple[str, str, str], Any] = {}
        self._group_kinds: Dict[Tuple[str, str], Any] = {}
        self._resync_call: Any = None

    # -- wiring -------------------------------------------------------------------

    def start(self) -> None:
        self.informers.on_new_informer(self._observe)
        self._schedule_resync()

    def stop(self) -> Deferred:
        """Stop; fires once work in progress has finished."""
        if self._resync_call is not None and self._resync_call.active():
            self._resync_call.cancel()
        return self.queue.stop()

    def _observe(self, informer: Informer) -> None:
        store = informer.store
        info = store.info
        self._kinds.setdefault((info.group, info.version, info.kind), store)
        self._group_kinds.setdefault((info.group, info.kind), store)
        informer.add_handler(
            on_add=lambda obj: self._changed(store, obj),
            on_update=lambda old, new: self._changed(store, new),
            on_delete=self._deleted)

    def _schedule_resync(self) -> None:
        self._resync_call = self.clock.callLater(self.resync_period, self._resync)

    def _resync(self) -> None:
        self.informers.refresh()
        self._rebuild_kinds()
        for node in list(self.nodes.values()):
            if node.orphaning:
                self.queue.add((_ORPHAN, node.uid))
            if node.deleting_dependents or self._needs_check(node):
                self.queue.add((_DELETE, node.uid))
        self._schedule_resync()

    def _needs_check(self, node: _Node) -> bool:
        """
        An owned object with an owner the graph does not know (or knows under
        another name or namespace than the reference says), or whose owner is
        deleting in foreground.
        """
        for ref in node.owners:
            owner = self.nodes.get(ref.get("uid"))
            if owner is None or owner.deleting_dependents or owner.name != ref.get("name"):
                return True
            if owner.store.info.namespaced and owner.namespace != node.namespace:
                return True
        return False

    def _rebuild_kinds(self) -> None:
        self._kinds.clear()
        self._group_kinds.clear()
        for store in self.informers.stores():
            info = store.info
            self._kinds.setdefault((info.group, info.version, info.kind), store)
            self._group_kinds.setdefault((info.group, info.kind), store)

    def store_for(self, api_version: str, kind: str) -> Optional[Any]:
        """The store of C{kind} in C{api_version} (any served version of its group)."""
        group, version = _api_group_version(api_version)
        return self._kinds.get((group, version, kind)) or self._group_kinds.get((group, kind))

    # -- the graph ----------------------------------------------------------------

    def _changed(self, store: Any, obj: dict) -> None:
        meta = _util.meta(obj)
        uid = meta.get("uid")
        if not uid:
            return
        old = self.nodes.get(uid)
        owners = [r for r in meta.get("ownerReferences") or () if isinstance(r, dict)]
        node = _Node(uid, store, meta.get("namespace") or "", meta.get("name") or "", owners,
                     bool(meta.get("deletionTimestamp")), tuple(meta.get("finalizers") or ()))
        self.nodes[uid] = node
        old_owners = old.owner_uids() if old is not None else set()
        new_owners = node.owner_uids()
        for owner_uid in old_owners - new_owners:
            self._unlink(owner_uid, uid)
        for owner_uid in new_owners:
            self.dependents.setdefault(owner_uid, set()).add(uid)
        if self._needs_check(node):
            self.queue.add((_DELETE, uid))
        if old is not None:
            for owner_uid in old_owners & new_owners:
                if old.blocks(owner_uid) and not node.blocks(owner_uid):
                    self._wake_owner(owner_uid)
        if node.orphaning:
            self.queue.add((_ORPHAN, uid))
        if node.deleting_dependents:
            if old is None or not old.deleting_dependents:
                for dep in self.dependents.get(uid, ()):
                    self.queue.add((_DELETE, dep))
            self.queue.add((_DELETE, uid))

    def _deleted(self, obj: dict) -> None:
        uid = _util.meta(obj).get("uid")
        node = self.nodes.get(uid) if uid else None
        if node is None:
            return
        del self.nodes[uid]
        for owner_uid in node.owner_uids():
            self._unlink(owner_uid, uid)
        for dep in self.dependents.get(uid, ()):
            self.queue.add((_DELETE, dep))

    def _unlink(self, owner_uid: str, dep_uid: str) -> None:
        deps = self.dependents.get(owner_uid)
        if deps is not None:
            deps.discard(dep_uid)
            if not deps and owner_uid not in self.nodes:
                del self.dependents[owner_uid]
        self._wake_owner(owner_uid)

    def _wake_owner(self, owner_uid: str) -> None:
        owner = self.nodes.get(owner_uid)
        if owner is not None and owner.deleting_dependents:
            self.queue.add((_DELETE, owner_uid))

    # -- decisions ----------------------------------------------------------------

    def _process(self, item: Tuple[str, str]):
        action, uid = item
        if action == _ORPHAN:
            return self._attempt_to_orphan(uid)
        return self._attempt_to_delete(uid)

    @inlineCallbacks
    def _latest(self, node: _Node):
        """The node's current object, or None when gone (or replaced by another uid)."""
        kv = yield _util.get_or_none(node.store, node.namespace, node.name)
        if kv is None:
            return None
        obj = kv.object
        if _util.meta(obj).get("uid") != node.uid:
            return None
        return obj

    @inlineCallbacks
    def _current(self, uid: str):
        """The node of C{uid} and its object's metadata as stored now; None when gone."""
        node = self.nodes.get(uid)
        if node is None:
            return None
        latest = yield self._latest(node)
        if latest is None:
            return None
        return node, _util.meta(latest)

    @inlineCallbacks
    def _classify(self, ref: dict, namespace: str):
        """'solid', 'dangling', 'waiting' (owner deleting in foreground) or 'unknown'."""
        store = self.store_for(ref.get("apiVersion") or "", ref.get("kind") or "")
        if store is None:
            return "unknown"
        if store.info.namespaced and not namespace:
            # A cluster-scoped dependent cannot name a namespaced owner: kube leaves
            # such a reference unresolved (never collected).
            return "unknown"
        kv = yield _util.get_or_none(store, namespace if store.info.namespaced else "",
                                     ref.get("name") or "")
        if kv is None:
            return "dangling"
        meta = _util.meta(kv.object)
        if meta.get("uid") != ref.get("uid"):
            return "dangling"
        if meta.get("deletionTimestamp") and FINALIZER_FOREGROUND in (meta.get("finalizers") or ()):
            return "waiting"
        return "solid"

    @inlineCallbacks
    def _attempt_to_delete(self, uid: str):
        found = yield self._current(uid)
        if found is None:
            return
        node, meta = found
        finalizers = meta.get("finalizers") or ()
        if meta.get("deletionTimestamp"):
            if FINALIZER_FOREGROUND in finalizers:
                yield self._process_deleting_dependents(node)
            return
        refs = [r for r in meta.get("ownerReferences") or () if isinstance(r, dict)]
        if not refs:
            return
        solid, dangling, waiting, unknown = [], [], [], []
        for ref in refs:
            state = yield self._classify(ref, node.namespace)
            {"solid": solid, "dangling": dangling, "waiting": waiting,
             "unknown": unknown}[state].append(ref)
        if solid or unknown:
            drop = {r.get("uid") for r in dangling + waiting}
            if drop:
                yield self._patch(node, lambda obj: _drop_owner_refs(obj, drop))
            return
        if waiting and self.dependents.get(uid):
            deps = [self.nodes.get(d) for d in self.dependents.get(uid, ())]
            if any(d is not None and d.deleting_dependents for d in deps):
                # A cycle of foreground deletions: stop blocking our owners.
                yield self._patch(node, _unblock_owner_refs)
            yield self._delete(node, "Foreground")
            return
        if FINALIZER_ORPHAN in finalizers:
            policy = "Orphan"
        elif FINALIZER_FOREGROUND in finalizers:
            policy = "Foreground"
        else:
            policy = "Background"
        yield self._delete(node, policy)

    @inlineCallbacks
    def _process_deleting_dependents(self, node: _Node):
        blocking = []
        for dep_uid in list(self.dependents.get(node.uid, ())):
            dep = self.nodes.get(dep_uid)
            if dep is not None and dep.blocks(node.uid):
                blocking.append(dep)
        if not blocking:
            yield self._patch(node, lambda obj: _remove_finalizer(obj, FINALIZER_FOREGROUND))
            return
        for dep in blocking:
            if not dep.deleting_dependents:
                self.queue.add((_DELETE, dep.uid))

    @inlineCallbacks
    def _attempt_to_orphan(self, uid: str):
        found = yield self._current(uid)
        if found is None:
            return
        node, meta = found
        if not meta.get("deletionTimestamp") or FINALIZER_ORPHAN not in (meta.get("finalizers")
                                                                        or ()):
            return
        for dep_uid in list(self.dependents.get(uid, ())):
            dep = self.nodes.get(dep_uid)
            if dep is not None:
                yield self._patch(dep, lambda obj: _drop_owner_refs(obj, {uid}))
        yield self._patch(node, lambda obj: _remove_finalizer(obj, FINALIZER_ORPHAN))

    # -- writes -------------------------------------------------------------------

    def _patch(self, node: _Node, change: Any):
        """Apply C{change} to the node's current object (nothing if it is gone or replaced)."""
        def apply(obj: dict) -> dict:
            if _util.meta(obj).get("uid") != node.uid:
                return obj
            change(obj)
            return obj

        d = node.store.patch(_util.context(), node.namespace, node.name, apply,
                             _util.write_options())
        return d.addErrback(_ignore_gone)

    def _delete(self, node: _Node, policy: str):
        log.debug("garbage collector: deleting {resource} {namespace}/{name} ({policy})",
                  resource=node.store.info.plural, namespace=node.namespace, name=node.name,
                  policy=policy)
        d = node.store.delete(_util.context(), node.namespace, node.name,
                              DeleteOptions(propagation_policy=policy,
                                            precondition_uid=node.uid))
        return d.addErrback(_ignore_gone)

    # -- tests --------------------------------------------------------------------

    def when_idle(self):
        """Fires once no work is queued or running (tests)."""
        return self.queue.when_idle()


def _ignore_gone(failure: Any) -> None:
    """A 404 (already gone) or 409 (uid precondition: replaced) ends the work quietly."""
    failure.trap(APIError)
    if failure.value.code not in (404, 409):
        return failure
    return None


def _drop_owner_refs(obj: dict, uids: Set[str]) -> None:
    meta = obj.setdefault("metadata", {})
    refs = [r for r in meta.get("ownerReferences") or () if r.get("uid") not in uids]
    if refs:
        meta["ownerReferences"] = refs
    else:
        meta.pop("ownerReferences", None)


def _unblock_owner_refs(obj: dict) -> None:
    for ref in _util.meta(obj).get("ownerReferences") or ():
        if ref.get("blockOwnerDeletion"):
            ref["blockOwnerDeletion"] = False


def _remove_finalizer(obj: dict, finalizer: str) -> None:
    meta = obj.setdefault("metadata", {})
    finalizers = [f for f in meta.get("finalizers") or () if f != finalizer]
    if finalizers:
        meta["finalizers"] = finalizers
    else:
        meta.pop("finalizers", None)
