"""
Per-kind behaviour of the generic store: which name rule a kind uses, whether
it keeps C{metadata.generation}, what a create sets as initial status, whether
a PUT may create, whether a delete answers with the deleted object.

kube-apiserver keeps these facts in one strategy object per kind
(pkg/registry/<group>/<kind>/strategy.go); here a L{Strategy} holds them as
attributes with small hooks, and L{strategy_for} picks the one for a resource.
Fuller defaulting and per-kind validation come later (issue 5); hooks for
them exist so they slot in without touching the store.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from kapi_twisted.apis.registry import ResourceInfo

from . import _deletion, _workloads
from . import validation as v

__all__ = ["Strategy", "strategy_for"]


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

    def prepare_for_create(self, obj: Dict[str, Any]) -> None:
        """Reset what clients may not set on create; set initial status."""
        if self.has_status and not self.keep_status_on_create:
            obj["status"] = self.initial_status(obj)

    def initial_status(self, obj: Dict[str, Any]) -> Dict[str, Any]:
        return {}

    def prepare_for_update(self, new: Dict[str, Any], old: Dict[str, Any]) -> None:
        """Carry over what a main-resource write may not change."""

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

    def prepare_for_create(self, obj: Dict[str, Any]) -> None:
        obj["status"] = {"phase": "Active"}
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            spec = obj["spec"] = {}
        finalizers = spec.get("finalizers")
        if not isinstance(finalizers, list):
            finalizers = spec["finalizers"] = []
        if "kubernetes" not in finalizers:
            finalizers.append("kubernetes")

    def prepare_for_update(self, new: Dict[str, Any], old: Dict[str, Any]) -> None:
        # spec.finalizers are changed through the finalize subresource only.
        old_finalizers = _dig(old, "spec.finalizers")
        spec = new.get("spec")
        if not isinstance(spec, dict):
            spec = new["spec"] = {}
        if old_finalizers is None:
            spec.pop("finalizers", None)
        else:
            spec["finalizers"] = list(old_finalizers)
        if not spec and "spec" not in old:
            new.pop("spec", None)

    def mark_for_deletion(self, obj: Dict[str, Any], options: Any,
                          now: str) -> Optional[Dict[str, Any]]:
        return _deletion.mark_namespace_for_deletion(obj, options, now)

    def should_delete_during_update(self, new: Dict[str, Any], old: Dict[str, Any]) -> bool:
        return _deletion.namespace_should_delete_during_update(new, old)


class _ServiceStrategy(Strategy):
    name_rule = staticmethod(v.name_is_dns1035_label)  # type: ignore[assignment]

    def initial_status(self, obj: Dict[str, Any]) -> Dict[str, Any]:
        return {"loadBalancer": {}}


class _PodStrategy(Strategy):

    def initial_status(self, obj: Dict[str, Any]) -> Dict[str, Any]:
        return {"phase": "Pending", "qosClass": pod_qos_class(obj.get("spec") or {})}

    def mark_for_deletion(self, obj: Dict[str, Any], options: Any,
                          now: str) -> Optional[Dict[str, Any]]:
        return _deletion.mark_pod_for_deletion(obj, options, now, self.default_gc_policy)


class _JobStrategy(Strategy):
    # batch/v1 keeps a Job's pods unless the DELETE asks otherwise (back compatibility).
    default_gc_policy = _deletion.ORPHAN


class _PendingPhaseStrategy(Strategy):
    def initial_status(self, obj: Dict[str, Any]) -> Dict[str, Any]:
        return {"phase": "Pending"}


class _NodeStrategy(Strategy):
    keep_status_on_create = True


class _PathSegmentNamed(Strategy):
    name_rule = staticmethod(v.name_is_path_segment)  # type: ignore[assignment]


def pod_qos_class(spec: Dict[str, Any]) -> str:
    """Guaranteed, Burstable or BestEffort, from the containers' requests and limits."""
    containers = list(spec.get("containers") or ()) + list(spec.get("initContainers") or ())
    any_set = False
    guaranteed = True
    for c in containers:
        resources = (c or {}).get("resources") or {}
        requests = resources.get("requests") or {}
        limits = resources.get("limits") or {}
        if requests or limits:
            any_set = True
        for res in ("cpu", "memory"):
            if res not in limits:
                guaranteed = False
            elif res in requests and requests[res] != limits[res]:
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


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
    ("", "services"): _ServiceStrategy,
    ("", "pods"): _PodStrategy,
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
