"""
The controllers inside the APIExtensions server, over one CRD informer.

  - L{CRDInformer}: lists the CRDs from storage, then watches them (relisting
    when the watch ends), and tells its listeners of every change, in order.
  - naming and establishing (kube's C{NamingConditionController} and
    C{EstablishingController}): a CRD's requested names are checked against
    the names other CRDs of its group have been given; free names are
    accepted (C{status.acceptedNames}, C{NamesAccepted: True "NoConflicts"}),
    a taken one is refused (C{NamesAccepted: False}, reason
    C{PluralConflict}, C{SingularConflict}, C{ShortNamesConflict},
    C{KindConflict} or C{ListKindConflict}, message C{"x" is already in use}).
    Once its names are accepted the CRD becomes C{Established: True
    "InitialNamesAccepted"}; custom resources are served from then on.
  - finalizing (kube's C{CRDFinalizer}): a CRD being deleted has all its
    custom resources deleted through their store (so their own finalizers
    hold), then C{Terminating: False "InstanceDeletionCompleted"}, then its
    C{customresourcecleanup.apiextensions.k8s.io} finalizer is removed and
    the CRD is gone.

Status writes go through the CRD store (L{kapi_twisted.apiextensions.crd_registry}),
one CRD at a time, retried on conflicts.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable, Dict, List, Optional, Set

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.logger import Logger

from kapi_twisted import apierrors
from kapi_twisted.registry.interface import (
    DeleteOptions,
    ListOptions,
    RequestContext,
    WriteOptions,
)
from kapi_twisted.registry.store import rfc3339
from kapi_twisted.storage import interface as st

from . import _crd

__all__ = ["CRDInformer", "CRDController", "CHECK_INTERVAL"]

log = Logger()

#: Seconds between checks that a deleting CRD's custom resources are gone.
CHECK_INTERVAL = 5.0
_RETRY = 1.0


class CRDInformer:
    """
    The CRDs in storage, kept current by a watch.

    @ivar crds: C{{name: crd}} as last seen (shared; copy before changing).
    @ivar synced: fires once the first list has been delivered.
    """

    def __init__(self, storage: Any, key_prefix: str, clock: Any) -> None:
        self.storage = storage
        self.prefix = key_prefix
        self.clock = clock
        self.crds: Dict[str, dict] = {}
        self.synced: Deferred = Deferred()
        self._listeners: List[Callable[[str, Optional[dict]], Any]] = []
        self._watch: Any = None
        self._stopped = False

    def when_synced(self) -> Deferred:
        """A new Deferred firing once the first list has been delivered."""
        d: Deferred = Deferred()
        self.synced.addBoth(lambda result: (d.callback(None), result)[1])
        return d

    def listen(self, listener: Callable[[str, Optional[dict]], Any]) -> None:
        """C{listener(name, crd)} on every change; C{crd} is None once deleted."""
        self._listeners.append(listener)

    def _notify(self, name: str, crd: Optional[dict]) -> None:
        for listener in self._listeners:
            try:
                listener(name, crd)
            except Exception:
                log.failure("CRD listener failed for {name}", name=name)

    @inlineCallbacks
    def start(self):
        """Fires once the CRDs present at start have been delivered."""
        yield self._relist()
        if not self.synced.called:
            self.synced.callback(None)

    def stop(self) -> None:
        self._stopped = True
        if self._watch is not None:
            self._watch.stop()
            self._watch = None

    @inlineCallbacks
    def _relist(self):
        result = yield self.storage.list(self.prefix)
        seen: Set[str] = set()
        for kv in result.items:
            crd = kv.object
            name = _crd.name_of(crd)
            seen.add(name)
            if self.crds.get(name) != crd:
                self.crds[name] = crd
                self._notify(name, crd)
        for name in [n for n in self.crds if n not in seen]:
            del self.crds[name]
            self._notify(name, None)
        if self._stopped:
            return
        self._watch = self.storage.watch(self.prefix, result.revision, self._event)
        self._watch.done.addBoth(self._watch_ended)

    def _event(self, event: st.Event) -> None:
        crd = event.kv.object
        name = _crd.name_of(crd)
        if event.type == st.DELETED:
            self.crds.pop(name, None)
            self._notify(name, None)
        else:
            self.crds[name] = crd
            self._notify(name, crd)

    def _watch_ended(self, result: Any) -> None:
        if self._stopped:
            return
        self._watch = None

        def again() -> None:
            if not self._stopped:
                self._relist().addErrback(
                    lambda f: log.failure("CRD relist failed", f) or self._watch_ended(None))

        self.clock.callLater(_RETRY, again)


def _names_in_use(crds: Dict[str, dict], group: str, skip: str):
    """Plural/singular/short names and kinds other CRDs of C{group} have been given."""
    resources: Set[str] = set()
    kinds: Set[str] = set()
    for name, crd in crds.items():
        if name == skip or _crd.group(crd) != group:
            continue
        accepted = (crd.get("status") or {}).get("acceptedNames") or {}
        for key in ("plural", "singular"):
            if accepted.get(key):
                resources.add(accepted[key])
        resources.update(accepted.get("shortNames") or [])
        for key in ("kind", "listKind"):
            if accepted.get(key):
                kinds.add(accepted[key])
    return resources, kinds


def _fresh(requested: Any, accepted: Any, used: Set[str]) -> Optional[str]:
    """None when C{requested} may be given; else kube's error text."""
    if requested == accepted or requested not in used:
        return None
    return f"{json.dumps(requested)} is already in use"


def names_and_conditions(crd: dict, crds: Dict[str, dict]):
    """C{(accepted names, NamesAccepted condition, Established condition)} for C{crd}."""
    requested = (_crd.spec(crd).get("names") or {})
    accepted = (crd.get("status") or {}).get("acceptedNames") or {}
    new_names = dict(accepted)
    resources, kinds = _names_in_use(crds, _crd.group(crd), _crd.name_of(crd))
    cond: Dict[str, str] = {"type": _crd.NAMES_ACCEPTED, "status": "Unknown"}

    def refuse(reason: str, message: str) -> None:
        cond.update(status="False", reason=reason, message=message)

    for key, reason, used in (("plural", "PluralConflict", resources),
                              ("singular", "SingularConflict", resources)):
        err = _fresh(requested.get(key), accepted.get(key), used)
        if err:
            refuse(reason, err)
        elif requested.get(key) is not None:
            new_names[key] = requested.get(key)
    req_short = requested.get("shortNames") or []
    acc_short = accepted.get("shortNames") or []
    if req_short != acc_short:
        errs = [e for e in (_fresh(s, "", resources) for s in req_short if s not in acc_short)
                if e]
        if errs:
            refuse("ShortNamesConflict", errs[0] if len(errs) == 1 else
                   "[" + ", ".join(errs) + "]")
        elif req_short:
            new_names["shortNames"] = list(req_short)
        else:
            new_names.pop("shortNames", None)
    for key, reason in (("kind", "KindConflict"), ("listKind", "ListKindConflict")):
        err = _fresh(requested.get(key), accepted.get(key), kinds)
        if err:
            refuse(reason, err)
        elif requested.get(key) is not None:
            new_names[key] = requested.get(key)
    if requested.get("categories"):
        new_names["categories"] = list(requested["categories"])
    else:
        new_names.pop("categories", None)
    if cond["status"] == "Unknown":
        cond.update(status="True", reason="NoConflicts", message="no conflicts found")
    established = _crd.condition(crd, _crd.ESTABLISHED)
    established = dict(established) if established else {
        "type": _crd.ESTABLISHED, "status": "False", "reason": "NotAccepted",
        "message": "not all names are accepted"}
    if established.get("status") != "True" and cond["status"] == "True":
        established = {"type": _crd.ESTABLISHED, "status": "False", "reason": "Installing",
                       "message": "the initial names have been accepted"}
    established.pop("lastTransitionTime", None)
    return _ordered_names(new_names), cond, established


_APPROVAL = "api-approved.kubernetes.io"
_APPROVAL_REASONS = {"approved": ("True", "ApprovedAnnotation"),
                     "bypassed": ("False", "UnapprovedAnnotation"),
                     "missing": ("False", "MissingAnnotation"),
                     "invalid": ("False", "InvalidAnnotation")}


def approval_condition(crd: dict) -> Optional[dict]:
    """
    C{KubernetesAPIApprovalPolicyConformant} for CRDs in protected groups
    (C{*.k8s.io}, C{*.kubernetes.io}); None elsewhere.
    """
    from .validation import _approval_state, _protected_group

    if not _protected_group(_crd.group(crd)):
        return None
    annotations = (crd.get("metadata") or {}).get("annotations") or {}
    state, message = _approval_state(annotations)
    if state == "approved":
        message = f"approved in {annotations[_APPROVAL]}"
    elif state == "bypassed":
        message = f"not approved: {json.dumps(annotations[_APPROVAL])}"
    status, reason = _APPROVAL_REASONS[state]
    return {"type": "KubernetesAPIApprovalPolicyConformant", "status": status,
            "reason": reason, "message": message}


_NAME_ORDER = ("plural", "singular", "shortNames", "kind", "listKind", "categories")


def _ordered_names(names: dict) -> dict:
    return {k: names[k] for k in _NAME_ORDER if k in names and names[k] is not None}


class CRDController:
    """
    Naming, establishing and finalizing, one CRD at a time.

    @param store: the CRD store (writes status and finalizers through it).
    @param serving: the L{CustomResourceServing} (custom resource stores for cleanup).
    """

    def __init__(self, informer: CRDInformer, store: Any, serving: Any, clock: Any) -> None:
        self.informer = informer
        self.store = store
        self.serving = serving
        self.clock = clock
        self._queue: List[str] = []
        self._running = False
        self._checks: Dict[str, Any] = {}
        #: Seconds between looks at a deleting CRD's remaining custom resources.
        self.check_interval = CHECK_INTERVAL
        informer.listen(self._changed)

    def _changed(self, name: str, crd: Optional[dict]) -> None:
        if crd is None:
            call = self._checks.pop(name, None)
            if call is not None and call.active():
                call.cancel()
            # Another CRD of the group may now get the names this one held.
            for other, c in self.informer.crds.items():
                if not _crd.condition_true(c, _crd.NAMES_ACCEPTED):
                    self.enqueue(other)
            return
        self.enqueue(name)

    def enqueue(self, name: str) -> None:
        if name not in self._queue:
            self._queue.append(name)
        if not self._running:
            self._running = True
            self.clock.callLater(0, self._drain)

    def stop(self) -> None:
        for call in self._checks.values():
            if call.active():
                call.cancel()
        self._checks.clear()
        self._queue.clear()

    @inlineCallbacks
    def _drain(self):
        while self._queue:
            name = self._queue.pop(0)
            crd = self.informer.crds.get(name)
            if crd is None:
                continue
            try:
                yield self._sync(name, crd)
            except Exception:
                log.failure("CRD controller failed on {name}", name=name)
                self.clock.callLater(_RETRY, self.enqueue, name)
        self._running = False

    def _now(self) -> str:
        return rfc3339(self.clock.seconds())

    @inlineCallbacks
    def _sync(self, name: str, crd: dict):
        if (crd.get("metadata") or {}).get("deletionTimestamp"):
            yield self._finalize(name, crd)
            return
        names, accepted, established = names_and_conditions(crd, self.informer.crds)
        new = copy.deepcopy(crd)
        status = new.setdefault("status", {})
        status["acceptedNames"] = names
        now = self._now()
        _crd.set_condition(new, accepted, now)
        _crd.set_condition(new, established, now)
        approval = approval_condition(crd)
        if approval is not None:
            _crd.set_condition(new, approval, now)
        if (accepted["status"] == "True" and established.get("status") != "True"
                and _crd.condition_true(crd, _crd.NAMES_ACCEPTED)
                and (crd.get("status") or {}).get("acceptedNames") == names):
            # The names are already being served: establish.
            _crd.set_condition(new, {
                "type": _crd.ESTABLISHED, "status": "True", "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted"}, now)
        if new.get("status") != crd.get("status"):
            yield self._write_status(name, new)

    @inlineCallbacks
    def _write_status(self, name: str, new: dict):
        try:
            yield self.store.update(RequestContext(), "", name, new,
                                    WriteOptions(field_validation="Ignore"),
                                    subresource="status")
        except apierrors.APIError as e:
            if e.code in (404, 409):
                return
            raise

    # -- deletion ----------------------------------------------------------------------

    @inlineCallbacks
    def _finalize(self, name: str, crd: dict):
        if _crd.CLEANUP_FINALIZER not in ((crd.get("metadata") or {}).get("finalizers") or []):
            return
        if _crd.condition_true(crd, _crd.ESTABLISHED):
            cond = yield self._delete_instances(name, crd)
        else:
            cond = {"type": _crd.TERMINATING, "status": "False", "reason": "NeverEstablished",
                    "message": "resource was never established"}
        new = copy.deepcopy(crd)
        _crd.set_condition(new, cond, self._now())
        if new.get("status") != crd.get("status"):
            yield self._write_status(name, new)
        if cond["status"] == "True":
            # Instances remain (finalizers of their own): look again later.
            if name not in self._checks or not self._checks[name].active():
                self._checks[name] = self.clock.callLater(self.check_interval, self.enqueue, name)
            return
        yield self._remove_finalizer(name)

    @inlineCallbacks
    def _delete_instances(self, name: str, crd: dict):
        serving = self.serving.serving_of(name)
        if serving is None:
            return {"type": _crd.TERMINATING, "status": "False",
                    "reason": "InstanceDeletionCompleted", "message": "removed all instances"}
        store = serving.cleanup_store
        ctx = RequestContext()
        try:
            yield store.delete_collection(ctx, "", ListOptions(), DeleteOptions())
            page = yield store.list(ctx, "", ListOptions())
        except Exception as e:
            log.failure("deleting the custom resources of {name} failed", name=name)
            return {"type": _crd.TERMINATING, "status": "True",
                    "reason": "InstanceDeletionFailed",
                    "message": f"could not issue all deletes: {e}"}
        if page.items:
            return {"type": _crd.TERMINATING, "status": "True",
                    "reason": "InstanceDeletionInProgress",
                    "message": "CustomResource deletion is in progress"}
        return {"type": _crd.TERMINATING, "status": "False",
                "reason": "InstanceDeletionCompleted", "message": "removed all instances"}

    @inlineCallbacks
    def _remove_finalizer(self, name: str):
        def without_finalizer(current: dict) -> dict:
            meta = current.setdefault("metadata", {})
            meta["finalizers"] = [f for f in meta.get("finalizers") or []
                                  if f != _crd.CLEANUP_FINALIZER]
            if not meta["finalizers"]:
                del meta["finalizers"]
            return current

        try:
            yield self.store.patch(RequestContext(), "", name, without_finalizer,
                                   WriteOptions(field_validation="Ignore"))
        except apierrors.APIError as e:
            if e.code != 404:
                raise
