"""
Per-kind behaviour of the generic store: which name rule a kind uses, whether
it keeps C{metadata.generation}, what a create sets as initial status, whether
a PUT may create, whether a delete answers with the deleted object.

kube-apiserver keeps these facts in one strategy object per kind
(pkg/registry/<group>/<kind>/strategy.go); here a L{Strategy} holds them as
attributes with small hooks, and L{strategy_for} picks the one for a resource.

Defaulting, the per-kind create and update rules and initial statuses come
from L{kapi_twisted.registry.typebehaviour} (one call per write). Two kinds
need more than the object: Services hold cluster IPs and NodePorts
(L{ServiceStrategy}, over a L{ServiceAllocation}, with kube's store hooks
C{BeginCreate}/C{BeginUpdate}/C{AfterDelete} as L{Strategy.begin_create},
L{Strategy.begin_update} and L{Strategy.after_delete}), and pods read their
ServiceAccount and PriorityClass (L{PodStrategy}, looked up before the
create by L{Strategy.create_context}).
"""

from __future__ import annotations

import random
from typing import Any, Callable, Dict, List, Optional, Tuple

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import deferLater
from twisted.python.failure import Failure

from kapi_twisted.apierrors import APIError
from kapi_twisted.apis.registry import ResourceInfo

from . import _deletion, _workloads
from . import typebehaviour as tb
from . import validation as v
from .allocators import ServiceAllocation, Transaction
from .interface import GetOptions, RequestContext

__all__ = ["Strategy", "ServiceStrategy", "PodStrategy", "strategy_for", "pod_qos_class"]

pod_qos_class = tb.pod_qos_class


class Strategy:
    """
    The default behaviour, shared by most built-in kinds.

    @ivar name_rule: validates C{metadata.name} (and generateName prefixes).
    @ivar uses_generation: C{metadata.generation} is 1 on create and grows by
        one when any of C{generation_fields} changes.
    @ivar allow_create_on_update: a PUT of a missing object creates it.
    @ivar allow_unconditional_update: a PUT without resourceVersion is allowed.
    @ivar returns_deleted_object: a finished DELETE answers with the object
        (else with a C{Status} of success).
    @ivar keep_status_on_create: a create keeps the client's status (nodes)
        rather than starting from an empty one.
    """

    name_rule: v.NameRule = staticmethod(v.name_is_dns_subdomain)  # type: ignore[assignment]
    uses_generation = False
    generation_fields: Tuple[str, ...] = ("spec",)
    allow_create_on_update = False
    allow_unconditional_update = True
    returns_deleted_object = False
    keep_status_on_create = False
    #: The propagation a DELETE without one gets (C{DefaultGarbageCollectionPolicy}).
    default_gc_policy = _deletion.BACKGROUND

    def __init__(self, info: ResourceInfo) -> None:
        self.info = info
        self.has_status = info.subresource("status") is not None

    # -- hooks ------------------------------------------------------------------

    def create_context(self, store: Any, namespace: str,
                       body: Any) -> Optional[Deferred]:
        """
        Look-ups a create needs before L{prepare_for_create}: None, or a
        Deferred firing with the L{tb.CreateContext} to pass it.
        """
        return None

    def prepare_for_create(self, obj: Dict[str, Any],
                           context: Optional[tb.CreateContext] = None) -> None:
        """
        Reset what clients may not set on create, then default the object and
        apply its kind's create rules and initial status (which win over the
        reset: a pod starts Pending, a namespace Active).
        """
        if self.has_status and not self.keep_status_on_create:
            obj["status"] = self.initial_status(obj)
        tb.prepare_for_create(self.info, obj, context)

    def initial_status(self, obj: Dict[str, Any]) -> Dict[str, Any]:
        return {}

    def prepare_for_update(self, new: Dict[str, Any], old: Dict[str, Any]) -> None:
        """Default C{new}; carry over what a main-resource write may not change."""
        tb.prepare_for_update(self.info, new, old)

    def prepare_for_status_update(self, new: Dict[str, Any], old: Dict[str, Any]) -> None:
        """Default a status write (kube decodes, hence defaults, every body)."""
        tb.prepare_for_status_update(self.info, new, old)

    def before_write(self, store: Any) -> Optional[Deferred]:
        """None, or a Deferred to wait for before a create, update or delete."""
        return None

    def begin_create(self, obj: Dict[str, Any], dry_run: bool) -> Optional[Transaction]:
        """
        What a create reserves beyond the object (kube's C{BeginCreate}): None,
        or a transaction the store reverts if the write fails, commits after.
        """
        return None

    def begin_update(self, new: Dict[str, Any], old: Dict[str, Any],
                     dry_run: bool) -> Optional[Transaction]:
        """The same for a main-resource update (reverted before a retry)."""
        return None

    def after_delete(self, obj: Dict[str, Any]) -> None:
        """The object is gone from storage (kube's C{AfterDelete})."""

    def validate(self, obj: Dict[str, Any]) -> List[v.FieldError]:
        """Kind-specific checks of a new object beyond its metadata."""
        return []

    def validate_update(self, new: Dict[str, Any], old: Dict[str, Any]) -> List[v.FieldError]:
        """Kind-specific checks of an update beyond its metadata."""
        return []

    def mark_for_deletion(self, obj: Dict[str, Any], options: Any,
                          now: str) -> Optional[Dict[str, Any]]:
        """
        What a DELETE leaves behind: None to remove C{obj} (a private copy)
        now, or the object to keep while it terminates (C{obj} itself,
        unchanged, when it already is terminating).

        Here (L{_deletion.mark_for_deletion}): the C{orphan} /
        C{foregroundDeletion} finalizers the propagation policy asks for are
        set; objects with finalizers get C{deletionTimestamp} and
        C{deletionGracePeriodSeconds: 0} (and one more generation).
        """
        return _deletion.mark_for_deletion(obj, options, now, self.default_gc_policy)

    def should_delete_during_update(self, new: Dict[str, Any], old: Dict[str, Any]) -> bool:
        """An update that empties a terminating object's finalizers deletes it."""
        return _deletion.should_delete_during_update(new, old)

    def delete_warnings(self, options: Any) -> List[str]:
        """Warnings a DELETE with C{options} answers with."""
        return []

    def generation_changed(self, new: Dict[str, Any], old: Dict[str, Any]) -> bool:
        for path in self.generation_fields:
            if _dig(new, path) != _dig(old, path):
                return True
        return False


def _dig(obj: Dict[str, Any], path: str) -> Any:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


class _WorkloadStrategy(Strategy):
    """apps/v1 workloads: a selector matching the template, immutable once set."""

    uses_generation = True
    kind_word = "deployment"

    def validate(self, obj: Dict[str, Any]) -> List[v.FieldError]:
        return _workloads.validate_selector_and_template(obj, self.kind_word)

    def validate_update(self, new: Dict[str, Any], old: Dict[str, Any]) -> List[v.FieldError]:
        return _workloads.selector_unchanged(new, old)


class _StatefulSetStrategy(_WorkloadStrategy):
    kind_word = "statefulset"


class _DaemonSetStrategy(_WorkloadStrategy):
    kind_word = "daemonset"


class _DeploymentStrategy(_WorkloadStrategy):

    # Annotation changes (e.g. rollback requests) bump it too.
    generation_fields = ("spec", "metadata.annotations")


class _WebhookConfigurationStrategy(Strategy):
    uses_generation = True

    generation_fields = ("webhooks",)


class _NamespaceStrategy(Strategy):
    name_rule = staticmethod(v.name_is_dns_label)  # type: ignore[assignment]

    def prepare_for_update(self, new: Dict[str, Any], old: Dict[str, Any]) -> None:
        # spec.finalizers are changed through the finalize subresource only.
        super().prepare_for_update(new, old)
        if not new.get("spec") and "spec" not in old:
            new.pop("spec", None)

    def mark_for_deletion(self, obj: Dict[str, Any], options: Any,
                          now: str) -> Optional[Dict[str, Any]]:
        return _deletion.mark_namespace_for_deletion(obj, options, now)

    def should_delete_during_update(self, new: Dict[str, Any], old: Dict[str, Any]) -> bool:
        return _deletion.namespace_should_delete_during_update(new, old)


class ServiceStrategy(Strategy):
    """
    Services: cluster IPs and NodePorts from a L{ServiceAllocation} (none
    until L{use_allocation}). The allocation's state lives in memory: it is
    rebuilt from the stored Services before the first write, and writes wait
    for that (L{before_write}), so a restarted server never hands out an
    address a stored Service holds.
    """

    name_rule = staticmethod(v.name_is_dns1035_label)  # type: ignore[assignment]

    def __init__(self, info: ResourceInfo) -> None:
        super().__init__(info)
        self.allocation: Optional[ServiceAllocation] = None
        self._rebuilt = False
        self._waiters: List[Deferred] = []

    def use_allocation(self, allocation: Optional[ServiceAllocation],
                       rebuilt: bool = False) -> None:
        """Allocate from C{allocation}; C{rebuilt}: its state is already current."""
        self.allocation = allocation
        self._rebuilt = rebuilt

    def before_write(self, store: Any) -> Optional[Deferred]:
        if self._rebuilt or self.allocation is None:
            return None
        waiter: Deferred = Deferred()
        self._waiters.append(waiter)
        if len(self._waiters) == 1:
            self._rebuild(store).addBoth(self._rebuild_done)
        return waiter

    @inlineCallbacks
    def _rebuild(self, store: Any):
        allocation = self.allocation
        result = yield store.storage.list(store.keys.list_prefix(""), None, 0, None)
        if allocation is not None:
            allocation.rebuild(kv.object for kv in result.items)

    def _rebuild_done(self, result: Any) -> None:
        waiters, self._waiters = self._waiters, []
        failed = isinstance(result, Failure)
        self._rebuilt = not failed
        for waiter in waiters:
            if failed:
                waiter.errback(result)
            else:
                waiter.callback(None)

    def begin_create(self, obj: Dict[str, Any], dry_run: bool) -> Optional[Transaction]:
        if self.allocation is None:
            return None
        return self.allocation.allocate_create(obj, dry_run=dry_run)

    def begin_update(self, new: Dict[str, Any], old: Dict[str, Any],
                     dry_run: bool) -> Optional[Transaction]:
        if self.allocation is None:
            return None
        return self.allocation.allocate_update(new, old, dry_run=dry_run)

    def after_delete(self, obj: Dict[str, Any]) -> None:
        if self.allocation is not None:
            self.allocation.release_service(obj)


def _cached_objects(store: Any, namespace: str) -> Deferred:
    """
    The objects of a store (in a namespace) as its cache has them, as an
    admission plugin reads its informer's lister: revision 0, no copies.
    """
    d = store.storage.list(store.keys.list_prefix(namespace), 0, 0, None)
    return d.addCallback(lambda result: [kv.object for kv in result.items])


def _value(priority_class: Dict[str, Any]) -> int:
    return priority_class.get("value") or 0


#: C{service_account} of a create context that skips the check.
_NO_CHECK = object()
_SYSTEM_PRIORITY_CLASSES = ("system-node-critical", "system-cluster-critical")
#: kube's ServiceAccount admission looks for C{default} ten times (its
#: controller may be about to create it), 100-200 ms apart.
_DEFAULT_SA_ATTEMPTS = 10


class PodStrategy(Strategy):
    """
    Pods: generational (kube 1.33+; the create rule sets generation 1), and
    on create the ServiceAccount and Priority admission plugins' look-ups.

    @ivar service_accounts: the C{v1 serviceaccounts} store; None skips
        the ServiceAccount check.
    @ivar check_service_accounts: C{() -> bool}, read on each create: the
        check runs only while something creates the C{default} accounts (the
        serviceaccount controller), as envtest-style servers without one
        disable the plugin.
    @ivar namespaces: the C{v1 namespaces} store: in a missing or
        terminating namespace the check is left to NamespaceLifecycle.
    @ivar priority_classes: the C{scheduling.k8s.io/v1 priorityclasses}
        store; None knows only the two system classes.
    @ivar limit_ranges: the C{v1 limitranges} store, whose Container defaults
        the LimitRanger plugin gives pods; None: no LimitRanger.
    """

    uses_generation = True

    def __init__(self, info: ResourceInfo) -> None:
        super().__init__(info)
        self.service_accounts: Any = None
        self.check_service_accounts: Callable[[], bool] = lambda: True
        self.namespaces: Any = None
        self.priority_classes: Any = None
        self.limit_ranges: Any = None

    def mark_for_deletion(self, obj: Dict[str, Any], options: Any,
                          now: str) -> Optional[Dict[str, Any]]:
        return _deletion.mark_pod_for_deletion(obj, options, now, self.default_gc_policy)

    def create_context(self, store: Any, namespace: str, body: Any) -> Any:
        now = store._now()
        if not isinstance(body, dict):
            return tb.CreateContext(now=now)
        spec = body.get("spec")
        spec = spec if isinstance(spec, dict) else {}
        meta = body.get("metadata")
        annotations = (meta.get("annotations") if isinstance(meta, dict) else None) or {}
        account = ""
        if (self.service_accounts is not None and self.check_service_accounts()
                and not (isinstance(annotations, dict)
                         and annotations.get("kubernetes.io/config.mirror") is not None)):
            account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        class_name = spec.get("priorityClassName") or ""
        if class_name in _SYSTEM_PRIORITY_CLASSES or self.priority_classes is None:
            class_name = None
        if not account and class_name is None and self.limit_ranges is None:
            return tb.CreateContext(now=now)
        return self._look_up(store, now, namespace, str(account), class_name)

    @inlineCallbacks
    def _look_up(self, store: Any, now: str, namespace: str, account_name: str,
                 class_name: Optional[str]):
        context = tb.CreateContext(now=now)
        if account_name:
            account = yield self._service_account(store, namespace, account_name)
            if account is not _NO_CHECK:
                context.service_account = lambda ns, name: account
        if class_name is not None:
            if class_name:
                try:
                    kv = yield self.priority_classes.get(
                        RequestContext(), "", class_name, GetOptions())
                    found: Optional[Dict[str, Any]] = kv.object
                except APIError as e:
                    if e.code != 404:
                        raise
                    found = None
                context.priority_class = lambda name: found
            else:
                default: Optional[Dict[str, Any]] = None
                for pc in (yield _cached_objects(self.priority_classes, "")):
                    # The highest of the classes marked globalDefault.
                    if pc.get("globalDefault") and (
                            default is None or _value(pc) > _value(default)):
                        default = pc
                context.default_priority_class = lambda: default
        if self.limit_ranges is not None:
            ranges = yield _cached_objects(self.limit_ranges, namespace)
            context.limit_ranges = lambda ns: ranges
        return context

    @inlineCallbacks
    def _service_account(self, store: Any, namespace: str, name: str):
        """The ServiceAccount, None when missing, L{_NO_CHECK} to skip the check."""
        ctx = RequestContext()
        attempts = _DEFAULT_SA_ATTEMPTS if name == "default" else 1
        interval = 0.1 + random.random() * 0.1
        for attempt in range(attempts):
            if attempt:
                yield deferLater(store.clock, interval, lambda: None)
            try:
                kv = yield self.service_accounts.get(ctx, namespace, name, GetOptions())
                return kv.object
            except APIError as e:
                if e.code != 404:
                    raise
            if attempt == 0 and self.namespaces is not None:
                try:
                    ns = yield self.namespaces.get(ctx, "", namespace, GetOptions())
                except APIError as e:
                    if e.code != 404:
                        raise
                    return _NO_CHECK
                ns_obj = ns.object
                if ((ns_obj.get("metadata") or {}).get("deletionTimestamp")
                        or (ns_obj.get("status") or {}).get("phase") == "Terminating"):
                    return _NO_CHECK
        return None


class _JobStrategy(Strategy):
    # batch/v1 keeps a Job's pods unless the DELETE asks otherwise (back compatibility).
    default_gc_policy = _deletion.ORPHAN

    def delete_warnings(self, options: Any) -> List[str]:
        if not options.propagation_policy and options.orphan_dependents is None:
            return [_deletion.JOB_ORPHAN_WARNING]
        return []


class _PendingPhaseStrategy(Strategy):
    def initial_status(self, obj: Dict[str, Any]) -> Dict[str, Any]:
        return {"phase": "Pending"}


class _NodeStrategy(Strategy):
    keep_status_on_create = True


class _PathSegmentNamed(Strategy):
    name_rule = staticmethod(v.name_is_path_segment)  # type: ignore[assignment]


_GENERATIONAL = {
    ("apps", "daemonsets"), ("apps", "replicasets"), ("apps", "statefulsets"),
    ("", "replicationcontrollers"), ("batch", "jobs"), ("batch", "cronjobs"),
    ("autoscaling", "horizontalpodautoscalers"), ("policy", "poddisruptionbudgets"),
    ("networking.k8s.io", "ingresses"), ("networking.k8s.io", "networkpolicies"),
    ("networking.k8s.io", "ingressclasses"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"),
    ("admissionregistration.k8s.io", "mutatingadmissionpolicies"),
    ("admissionregistration.k8s.io", "mutatingadmissionpolicybindings"),
    ("flowcontrol.apiserver.k8s.io", "flowschemas"),
    ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations"),
    ("apiextensions.k8s.io", "customresourcedefinitions"),
    ("resource.k8s.io", "deviceclasses"), ("resource.k8s.io", "resourceslices"),
}

#: Kinds a PUT may create (their strategies' AllowCreateOnUpdate).
_CREATE_ON_UPDATE = {
    ("", "services"), ("", "endpoints"), ("", "events"), ("events.k8s.io", "events"),
    ("", "limitranges"), ("", "serviceaccounts"), ("coordination.k8s.io", "leases"),
    ("policy", "poddisruptionbudgets"), ("node.k8s.io", "runtimeclasses"),
    ("rbac.authorization.k8s.io", "roles"), ("rbac.authorization.k8s.io", "clusterroles"),
    ("rbac.authorization.k8s.io", "rolebindings"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"),
    ("admissionregistration.k8s.io", "mutatingadmissionpolicies"),
    ("admissionregistration.k8s.io", "mutatingadmissionpolicybindings"),
}

#: Kinds whose finished DELETE answers with the object (the store's ReturnDeletedObject).
_RETURNS_DELETED = {
    ("", "pods"), ("", "services"), ("", "serviceaccounts"), ("storage.k8s.io", "storageclasses"),
    ("", "namespaces"),
}

_SPECIAL: Dict[Tuple[str, str], type] = {
    ("", "namespaces"): _NamespaceStrategy,
    ("", "services"): ServiceStrategy,
    ("", "pods"): PodStrategy,
    ("batch", "jobs"): _JobStrategy,
    ("", "nodes"): _NodeStrategy,
    ("", "persistentvolumes"): _PendingPhaseStrategy,
    ("", "persistentvolumeclaims"): _PendingPhaseStrategy,
    ("apps", "deployments"): _DeploymentStrategy,
    ("apps", "replicasets"): _WorkloadStrategy,
    ("apps", "statefulsets"): _StatefulSetStrategy,
    ("apps", "daemonsets"): _DaemonSetStrategy,
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"):
        _WebhookConfigurationStrategy,
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"):
        _WebhookConfigurationStrategy,
    ("rbac.authorization.k8s.io", "roles"): _PathSegmentNamed,
    ("rbac.authorization.k8s.io", "clusterroles"): _PathSegmentNamed,
    ("rbac.authorization.k8s.io", "rolebindings"): _PathSegmentNamed,
    ("rbac.authorization.k8s.io", "clusterrolebindings"): _PathSegmentNamed,
}


def strategy_for(info: ResourceInfo) -> Strategy:
    """The strategy of one resource (a fresh object per store)."""
    key = (info.group, info.plural)
    strategy = _SPECIAL.get(key, Strategy)(info)
    if key in _GENERATIONAL:
        strategy.uses_generation = True
    strategy.allow_create_on_update = key in _CREATE_ON_UPDATE
    strategy.returns_deleted_object = key in _RETURNS_DELETED
    return strategy
