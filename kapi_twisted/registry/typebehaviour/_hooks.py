"""
The per-kind table behind L{prepare_for_create} and friends: defaults, then
the kind's create or update rule, then the initial status.
"""

from __future__ import annotations

import copy
from typing import Callable, Dict, Optional, Tuple

from ..allocators import ServiceAllocation
from ..defaults import apply_defaults
from ..defaults.batch import generate_job_selector
from ._context import DEFAULT_CONTEXT, JSON, CreateContext, KindInfo
from ._pods import ROOT_CA_CONFIG_MAP, admit_pod, pod_status

__all__ = ["prepare_for_create", "prepare_for_update", "prepare_for_status_update",
           "initial_status", "default_service_account", "root_ca_config_map"]


# -- entry points ------------------------------------------------------------------------


def prepare_for_create(info: KindInfo, obj: JSON,
                       context: Optional[CreateContext] = None) -> None:
    """Defaults, admission mutations and create rules of a new object of C{info}'s kind."""
    context = context or DEFAULT_CONTEXT
    apply_defaults(info.group, info.version, info.kind, obj)
    hook = _CREATE.get((info.group, info.kind))
    if hook is not None:
        hook(obj, context)
    status = initial_status(info, obj, context.now)
    if status is not None:
        obj["status"] = status


def prepare_for_update(info: KindInfo, new: JSON, old: JSON) -> None:
    """Defaults and update rules of a main-resource update (status comes from C{old})."""
    apply_defaults(info.group, info.version, info.kind, new)
    hook = _UPDATE.get((info.group, info.kind))
    if hook is not None:
        hook(new, old)


def prepare_for_status_update(info: KindInfo, new: JSON, old: JSON) -> None:
    """Defaults of a status write (kube decodes, hence defaults, every body)."""
    apply_defaults(info.group, info.version, info.kind, new)


def initial_status(info: KindInfo, obj: JSON, now: str = "") -> Optional[JSON]:
    """
    The status a create starts from (an empty Go status struct as Go writes
    it: plain counters appear as 0), or None to leave the store's rule alone.
    """
    key = (info.group, info.kind)
    if key == ("", "Pod"):
        return pod_status(obj, now)
    if key == ("autoscaling", "HorizontalPodAutoscaler"):
        if info.version == "v1":
            return {"currentReplicas": 0, "desiredReplicas": 0}
        return {"desiredReplicas": 0}
    status = _INITIAL_STATUS.get(key)
    return copy.deepcopy(status) if status is not None else None


_INITIAL_STATUS: Dict[Tuple[str, str], JSON] = {
    ("", "Namespace"): {"phase": "Active"},
    ("", "Service"): {"loadBalancer": {}},
    ("networking.k8s.io", "Ingress"): {"loadBalancer": {}},
    ("", "PersistentVolumeClaim"): {"phase": "Pending"},
    ("", "PersistentVolume"): {"phase": "Pending"},
    ("", "ReplicationController"): {"replicas": 0},
    ("apps", "ReplicaSet"): {"replicas": 0},
    ("apps", "StatefulSet"): {"availableReplicas": 0, "replicas": 0},
    ("apps", "DaemonSet"): {"currentNumberScheduled": 0, "desiredNumberScheduled": 0,
                            "numberMisscheduled": 0, "numberReady": 0},
    ("policy", "PodDisruptionBudget"): {"currentHealthy": 0, "desiredHealthy": 0,
                                        "disruptionsAllowed": 0, "expectedPods": 0},
    ("apps", "Deployment"): {},
    ("batch", "Job"): {},
    ("batch", "CronJob"): {},
    ("", "ResourceQuota"): {},
}


# -- namespaces ----------------------------------------------------------------------------


def _namespace_create(obj: JSON, context: CreateContext) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    finalizers = spec.get("finalizers")
    if not isinstance(finalizers, list):
        finalizers = spec["finalizers"] = []
    if "kubernetes" not in finalizers:
        finalizers.append("kubernetes")


def _namespace_update(new: JSON, old: JSON) -> None:
    # spec.finalizers change only through the finalize subresource.
    old_finalizers = (old.get("spec") or {}).get("finalizers")
    spec = new.get("spec")
    if not isinstance(spec, dict):
        spec = new["spec"] = {}
    if old_finalizers is None:
        spec.pop("finalizers", None)
    else:
        spec["finalizers"] = list(old_finalizers)


# -- jobs ----------------------------------------------------------------------------------


def _job_create(obj: JSON, context: CreateContext) -> None:
    generate_job_selector(obj)
    # kube defaults again on its way back from storage: a Job without labels
    # takes its template's (now with the generated ones).
    meta = obj.setdefault("metadata", {})
    labels = ((obj["spec"].get("template") or {}).get("metadata") or {}).get("labels")
    if not meta.get("labels") and isinstance(labels, dict):
        meta["labels"] = dict(labels)


# -- services ------------------------------------------------------------------------------


def _service_update(new: JSON, old: JSON) -> None:
    ServiceAllocation.patch_allocated_values(new, old)
    ServiceAllocation.drop_type_dependent_fields(new, old)


# -- what kube-controller-manager puts in every namespace ------------------------------------


def default_service_account(namespace: str) -> JSON:
    """The C{default} ServiceAccount the serviceaccount controller creates."""
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": namespace}}


def root_ca_config_map(namespace: str, ca_pem: str) -> JSON:
    """The C{kube-root-ca.crt} ConfigMap the root-ca-cert-publisher controller creates."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": ROOT_CA_CONFIG_MAP,
            "namespace": namespace,
            "annotations": {
                "kubernetes.io/description": (
                    "Contains a CA bundle that can be used to verify the kube-apiserver when "
                    "using internal endpoints such as the internal service IP or "
                    "kubernetes.default.svc. No other usage is guaranteed across "
                    "distributions of Kubernetes clusters."),
            },
        },
        "data": {"ca.crt": ca_pem},
    }


def _add_finalizer(obj: JSON, finalizer: str) -> None:
    meta = obj.setdefault("metadata", {})
    finalizers = meta.get("finalizers")
    if not isinstance(finalizers, list):
        finalizers = meta["finalizers"] = []
    if finalizer not in finalizers:
        finalizers.append(finalizer)


def _pvc_create(obj: JSON, context: CreateContext) -> None:
    if context.storage_protection_finalizers:
        _add_finalizer(obj, "kubernetes.io/pvc-protection")


def _pv_create(obj: JSON, context: CreateContext) -> None:
    if context.storage_protection_finalizers:
        _add_finalizer(obj, "kubernetes.io/pv-protection")


_CREATE: Dict[Tuple[str, str], Callable[[JSON, CreateContext], None]] = {
    ("", "Namespace"): _namespace_create,
    ("", "Pod"): admit_pod,
    ("batch", "Job"): _job_create,
    ("", "PersistentVolumeClaim"): _pvc_create,
    ("", "PersistentVolume"): _pv_create,
}

_UPDATE: Dict[Tuple[str, str], Callable[[JSON, JSON], None]] = {
    ("", "Namespace"): _namespace_update,
    ("", "Service"): _service_update,
}
