"""
The namespace controller of kube-controller-manager
(C{pkg/controller/namespace}): once a namespace has a C{deletionTimestamp}
it deletes everything in it, of every namespaced resource the server
stores (custom resources included), waits for finalizers and grace periods
to let go, reports progress in the namespace's status conditions as kube
does, and finally removes its C{kubernetes} finalizer through the
C{finalize} subresource, upon which the namespace store deletes the
namespace.

Event driven: a namespace is synced when it changes, and again when an
object in a terminating namespace goes away; a timer re-checks namespaces
whose content is still held by finalizers.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict, List, Optional, Tuple

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.logger import Logger

from kapi_twisted import apierrors
from kapi_twisted.apierrors import APIError
from kapi_twisted.registry.interface import DeleteOptions, ListOptions

from . import _util
from ._informer import Informer, InformerSet
from ._queue import WorkQueue

__all__ = ["NamespaceController", "FINALIZER", "CONDITION_TYPES", "content_conditions"]

log = Logger()

FINALIZER = "kubernetes"
#: How long content held by finalizers waits before the namespace is looked at again
#: (deletions in the namespace wake it up sooner).
FINALIZER_RECHECK = 5.0
RESYNC_PERIOD = 300.0

DISCOVERY_FAILURE = "NamespaceDeletionDiscoveryFailure"
GV_PARSING_FAILURE = "NamespaceDeletionGroupVersionParsingFailure"
CONTENT_FAILURE = "NamespaceDeletionContentFailure"
CONTENT_REMAINING = "NamespaceContentRemaining"
FINALIZERS_REMAINING = "NamespaceFinalizersRemaining"
CONDITION_TYPES = (DISCOVERY_FAILURE, GV_PARSING_FAILURE, CONTENT_FAILURE, CONTENT_REMAINING,
                   FINALIZERS_REMAINING)
_OK = {
    DISCOVERY_FAILURE: ("ResourcesDiscovered", "All resources successfully discovered"),
    GV_PARSING_FAILURE: ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
    CONTENT_FAILURE: ("ContentDeleted",
                      "All content successfully deleted, may be waiting on finalization"),
    CONTENT_REMAINING: ("ContentRemoved", "All content successfully removed"),
    FINALIZERS_REMAINING: ("ContentRemoved", "All content successfully removed"),
}


def content_conditions(remaining: Dict[Tuple[str, str], int], finalizers: Dict[str, int],
                       errors: List[str]) -> Dict[str, Tuple[str, str, str]]:
    """
    The failing conditions (type -> (status, reason, message)) for what one
    pass left: C{remaining} counts objects by (group, resource),
    C{finalizers} counts objects by finalizer, C{errors} are delete failures.
    """
    failing: Dict[str, Tuple[str, str, str]] = {}
    parts = sorted(f"{resource}.{group} has {n} resource instances"
                   for (group, resource), n in remaining.items() if n)
    if parts:
        failing[CONTENT_REMAINING] = ("True", "SomeResourcesRemain",
                                      "Some resources are remaining: " + ", ".join(parts))
    parts = sorted(f"{f} in {n} resource instances" for f, n in finalizers.items() if n)
    if parts:
        failing[FINALIZERS_REMAINING] = ("True", "SomeFinalizerRemain",
                                         "Some finalizers are remaining: " + ", ".join(parts))
    if errors:
        failing[CONTENT_FAILURE] = (
            "True", "ContentDeletionFailed",
            f"Failed to delete all resource types, {len(errors)} remaining: "
            + ", ".join(sorted(errors)))
    return failing


def updated_conditions(conditions: List[dict], failing: Dict[str, Tuple[str, str, str]],
                       now: str) -> Optional[List[dict]]:
    """C{conditions} with every deletion condition set; None when nothing changes."""
    result = copy.deepcopy(conditions or [])
    changed = False
    for ctype in CONDITION_TYPES:
        status, reason, message = failing.get(ctype) or ("False",) + _OK[ctype]
        old = next((c for c in result if c.get("type") == ctype), None)
        if old is None:
            result.append({"type": ctype, "status": status, "lastTransitionTime": now,
                           "reason": reason, "message": message})
            changed = True
        elif (old.get("status"), old.get("reason"), old.get("message")) != (
                status, reason, message):
            if old.get("status") != status:
                old["lastTransitionTime"] = now
            old.update(status=status, reason=reason, message=message)
            changed = True
    return result if changed else None


class NamespaceController:
    """
    @param namespaces: the C{v1 namespaces} store.
    @param informers: the shared L{InformerSet} (its stores are the content swept).
    @param clock: an C{IReactorTime}.
    """

    def __init__(self, namespaces: Any, informers: InformerSet, clock: Any,
                 finalizer_recheck: float = FINALIZER_RECHECK,
                 resync_period: float = RESYNC_PERIOD) -> None:
        self.namespaces = namespaces
        self.informers = informers
        self.clock = clock
        self.finalizer_recheck = finalizer_recheck
        self.resync_period = resync_period
        self.queue = WorkQueue(clock, self.sync, "namespace-controller")
        self._ns_informer: Optional[Informer] = None
        self._resync_call: Any = None

    # -- wiring -------------------------------------------------------------------

    def start(self) -> None:
        self._ns_informer = self.informers.for_store(self.namespaces)
        self._ns_informer.add_handler(on_add=self._namespace_changed,
                                      on_update=lambda old, new: self._namespace_changed(new))
        self.informers.on_new_informer(self._watch_content)
        self._schedule_resync()

    def stop(self) -> Deferred:
        """Stop; fires once work in progress has finished."""
        if self._resync_call is not None and self._resync_call.active():
            self._resync_call.cancel()
        return self.queue.stop()

    def _schedule_resync(self) -> None:
        self._resync_call = self.clock.callLater(self.resync_period, self._resync)

    def _resync(self) -> None:
        if self._ns_informer is not None:
            for ns in self._ns_informer.list():
                self._namespace_changed(ns)
        self._schedule_resync()

    def _namespace_changed(self, ns: dict) -> None:
        if _util.meta(ns).get("deletionTimestamp"):
            self.queue.add(_util.meta(ns).get("name"))

    def _watch_content(self, informer: Informer) -> None:
        if informer.info.namespaced:
            informer.add_handler(on_delete=self._content_deleted)

    def _content_deleted(self, obj: dict) -> None:
        namespace = _util.meta(obj).get("namespace")
        if not namespace or self._ns_informer is None:
            return
        ns = self._ns_informer.get("", namespace)
        if ns is not None and _util.meta(ns).get("deletionTimestamp"):
            self.queue.add(namespace)

    # -- one namespace ------------------------------------------------------------

    def content_stores(self) -> List[Any]:
        """One store per namespaced resource, pods first (their grace periods run longest)."""
        stores = [s for s in self.informers.stores()
                  if s.info.namespaced and "delete" in s.info.verbs]
        stores.sort(key=lambda s: (s.info.group, s.info.plural) != ("", "pods"))
        return stores

    @inlineCallbacks
    def sync(self, name: str):
        kv = yield _util.get_or_none(self.namespaces, "", name)
        if kv is None:
            return
        ns = kv.object
        meta = _util.meta(ns)
        if not meta.get("deletionTimestamp"):
            return
        if (ns.get("status") or {}).get("phase") != "Terminating":
            yield self._patch_status(name, lambda status: status.update(phase="Terminating"))
        if FINALIZER not in ((ns.get("spec") or {}).get("finalizers") or ()):
            return
        remaining, finalizers, errors, wait = yield self._delete_all_content(name)
        failing = content_conditions(remaining, finalizers, errors)
        now = _util.now_rfc3339(self.clock)

        def set_conditions(status: dict) -> None:
            new = updated_conditions(status.get("conditions") or [], failing, now)
            if new is not None:
                status["conditions"] = new

        yield self._patch_status(name, set_conditions)
        if errors:
            raise apierrors.internal_error(f"namespace {name}: " + "; ".join(errors))
        if any(remaining.values()):
            self.queue.add_after(name, wait or self.finalizer_recheck)
            return
        yield self._finalize(name)

    @inlineCallbacks
    def _delete_all_content(self, namespace: str):
        ctx = _util.context()
        remaining: Dict[Tuple[str, str], int] = {}
        finalizers: Dict[str, int] = {}
        errors: List[str] = []
        wait = 0.0
        for store in self.content_stores():
            info = store.info
            try:
                if "deletecollection" in info.verbs:
                    yield store.delete_collection(
                        ctx, namespace, ListOptions(),
                        DeleteOptions(propagation_policy="Background"))
                else:
                    page = yield store.list(ctx, namespace, ListOptions())
                    for item in page.items:
                        obj = getattr(item, "object", item)
                        try:
                            yield store.delete(ctx, namespace, _util.meta(obj)["name"],
                                               DeleteOptions(propagation_policy="Background"))
                        except APIError as e:
                            if e.code != 404:
                                raise
                page = yield store.list(ctx, namespace, ListOptions())
            except APIError as e:
                errors.append(f"{info.plural}.{info.group}: {e.message}")
                continue
            if not page.items:
                continue
            remaining[(info.group, info.plural)] = len(page.items)
            for item in page.items:
                meta = _util.meta(getattr(item, "object", item))
                for f in meta.get("finalizers") or ():
                    finalizers[f] = finalizers.get(f, 0) + 1
                grace = meta.get("deletionGracePeriodSeconds") or 0
                if grace and not meta.get("finalizers"):
                    wait = max(wait, float(grace))
        return remaining, finalizers, errors, wait

    def _patch_status(self, name: str, change: Callable[[dict], None]):
        def apply(obj: dict) -> dict:
            status = obj.get("status")
            if not isinstance(status, dict):
                status = obj["status"] = {}
            change(status)
            return obj

        d = self.namespaces.patch(_util.context(), "", name, apply, _util.write_options(),
                                  subresource="status")
        return d.addErrback(self._ignore_not_found)

    def _finalize(self, name: str):
        def apply(obj: dict) -> dict:
            spec = obj.get("spec")
            if not isinstance(spec, dict):
                spec = obj["spec"] = {}
            spec["finalizers"] = [f for f in spec.get("finalizers") or () if f != FINALIZER]
            return obj

        d = self.namespaces.patch(_util.context(), "", name, apply, _util.write_options(),
                                  subresource="finalize")
        return d.addErrback(self._ignore_not_found)

    @staticmethod
    def _ignore_not_found(failure: Any) -> None:
        failure.trap(APIError)
        if failure.value.code != 404:
            return failure
        return None
