"""
Pods on create: the mutating admission plugins every kube-apiserver runs
(ServiceAccount with its projected token volume, LimitRanger,
DefaultTolerationSeconds, Priority) and the pod strategy's initial status
with the QoS class computed as kube's C{GetPodQOS} does.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any, Dict, List, Optional

from kapi_twisted import apierrors

from ..defaults import _quantity
from ._context import JSON, CreateContext

__all__ = ["admit_pod", "pod_status", "pod_qos_class", "token_volume",
           "apply_limit_range_defaults", "ROOT_CA_CONFIG_MAP", "LIMIT_RANGER_ANNOTATION"]

SERVICE_ACCOUNT_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
TOKEN_VOLUME_PREFIX = "kube-api-access-"
TOKEN_EXPIRATION_SECONDS = 3607  # an hour plus the kubelet's 7 s of warning
ROOT_CA_CONFIG_MAP = "kube-root-ca.crt"
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_DEFAULT_TOLERATION_SECONDS = 300
_SYSTEM_PRIORITY_CLASSES = {
    "system-node-critical": 2000001000,
    "system-cluster-critical": 2000000000,
}
_SCHEDULING_GATED_MESSAGE = "Scheduling is blocked due to non-empty scheduling gates"


def _pod_name(obj: JSON) -> str:
    meta = obj.get("metadata") or {}
    return meta.get("name") or meta.get("generateName") or ""


def _forbidden(obj: JSON, message: str) -> apierrors.APIError:
    return apierrors.forbidden("pods", _pod_name(obj), message)


def admit_pod(obj: JSON, context: CreateContext) -> None:
    """The pod strategy's generation and the mutating admission plugins, in kube's order."""
    # Pods track metadata.generation since 1.33 (PodObservedGenerationTracking).
    obj.setdefault("metadata", {})["generation"] = 1
    spec = obj.setdefault("spec", {})
    _admit_service_account(obj, spec, context)
    if context.limit_ranges is not None:
        namespace = (obj.get("metadata") or {}).get("namespace") or ""
        apply_limit_range_defaults(obj, context.limit_ranges(namespace))
    _admit_default_tolerations(spec)
    _admit_priority(obj, spec, context)


def _admit_service_account(obj: JSON, spec: JSON, context: CreateContext) -> None:
    meta = obj.get("metadata") or {}
    if (meta.get("annotations") or {}).get("kubernetes.io/config.mirror") is not None:
        return  # mirror pods belong to a kubelet
    name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = name
    spec["serviceAccount"] = name
    account: Optional[JSON] = None
    if context.service_account is not None:
        namespace = meta.get("namespace") or ""
        account = context.service_account(namespace, name)
        if account is None:
            raise _forbidden(obj, f"error looking up service account {namespace}/{name}: "
                                  f'serviceaccount "{name}" not found')
    if context.mount_service_account_token and _should_automount(spec, account):
        _mount_token(spec, context.rng)
    if account is not None and not spec.get("imagePullSecrets"):
        secrets = account.get("imagePullSecrets")
        if secrets:
            spec["imagePullSecrets"] = [dict(s) for s in secrets if isinstance(s, dict)]


def _should_automount(spec: JSON, account: Optional[JSON]) -> bool:
    if spec.get("automountServiceAccountToken") is not None:
        return bool(spec["automountServiceAccountToken"])
    if account is not None and account.get("automountServiceAccountToken") is not None:
        return bool(account["automountServiceAccountToken"])
    return True


def token_volume(name: str) -> JSON:
    """The projected volume the ServiceAccount admission plugin adds."""
    return {
        "name": name,
        "projected": {
            "defaultMode": 0o644,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS,
                                         "path": "token"}},
                {"configMap": {"name": ROOT_CA_CONFIG_MAP,
                               "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{
                    "path": "namespace",
                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                }]}},
            ],
        },
    }


def _mount_token(spec: JSON, rng: random.Random) -> None:
    volumes = spec.get("volumes")
    if not isinstance(volumes, list):
        volumes = []
    volume_name = ""
    for vol in volumes:
        if isinstance(vol, dict) and str(vol.get("name") or "").startswith(TOKEN_VOLUME_PREFIX):
            volume_name = vol["name"]
            break
    has_volume = bool(volume_name)
    if not volume_name:
        volume_name = TOKEN_VOLUME_PREFIX + "".join(rng.choice(_NAME_CHARS) for _ in range(5))
    needs_volume = False
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or ():
            if not isinstance(c, dict):
                continue
            mounts = c.get("volumeMounts")
            if not isinstance(mounts, list):
                mounts = []
            if any(isinstance(m, dict) and m.get("mountPath") == SERVICE_ACCOUNT_MOUNT_PATH
                   for m in mounts):
                continue
            mounts.append({"name": volume_name, "readOnly": True,
                           "mountPath": SERVICE_ACCOUNT_MOUNT_PATH})
            c["volumeMounts"] = mounts
            needs_volume = True
    if needs_volume and not has_volume:
        volumes.append(token_volume(volume_name))
        spec["volumes"] = volumes


LIMIT_RANGER_ANNOTATION = "kubernetes.io/limit-ranger"


def apply_limit_range_defaults(pod: JSON, limit_ranges: List[JSON]) -> None:
    """
    The LimitRanger plugin's mutation: containers lacking a request or limit
    take the Container defaults of the namespace's LimitRanges, and the pod
    is annotated with what was set.
    """
    requests: Dict[str, Any] = {}
    limits: Dict[str, Any] = {}
    for lr in limit_ranges:
        for item in (lr.get("spec") or {}).get("limits") or ():
            if isinstance(item, dict) and item.get("type") == "Container":
                requests.update(item.get("defaultRequest") or {})
                limits.update(item.get("default") or {})
    if not requests and not limits:
        return
    notes: List[str] = []
    spec = pod.get("spec") or {}
    for key, label in (("containers", "container"), ("initContainers", "init container")):
        for c in spec.get(key) or ():
            if not isinstance(c, dict):
                continue
            resources = c.get("resources")
            if not isinstance(resources, dict):
                resources = c["resources"] = {}
            for field_name, defaults, word in (("requests", requests, "request"),
                                               ("limits", limits, "limit")):
                current = resources.get(field_name)
                current = dict(current) if isinstance(current, dict) else {}
                added = sorted(name for name in defaults if name not in current)
                for name in added:
                    current[name] = defaults[name]
                if current:
                    resources[field_name] = current
                if added:
                    notes.append(f"{', '.join(added)} {word} for {label} {c.get('name') or ''}")
    if notes:
        meta = pod.setdefault("metadata", {})
        annotations = meta.get("annotations")
        if not isinstance(annotations, dict):
            annotations = meta["annotations"] = {}
        annotations[LIMIT_RANGER_ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)


def _admit_default_tolerations(spec: JSON) -> None:
    tolerations = spec.get("tolerations")
    if not isinstance(tolerations, list):
        tolerations = []
    wanted = {"node.kubernetes.io/not-ready": True, "node.kubernetes.io/unreachable": True}
    for t in tolerations:
        if not isinstance(t, dict):
            continue
        key, effect = t.get("key") or "", t.get("effect") or ""
        if effect in ("", "NoExecute"):
            for taint in wanted:
                if key in ("", taint):
                    wanted[taint] = False
    for taint, missing in wanted.items():
        if missing:
            tolerations.append({"key": taint, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": _DEFAULT_TOLERATION_SECONDS})
    if tolerations:
        spec["tolerations"] = tolerations


def _admit_priority(obj: JSON, spec: JSON, context: CreateContext) -> None:
    class_name = spec.get("priorityClassName") or ""
    preemption = "PreemptLowerPriority"
    if not class_name:
        pc = context.default_priority_class() if context.default_priority_class else None
        if pc is not None:
            class_name = (pc.get("metadata") or {}).get("name") or ""
            spec["priorityClassName"] = class_name
            priority = int(pc.get("value") or 0)
            preemption = pc.get("preemptionPolicy") or preemption
        else:
            priority = 0
    elif class_name in _SYSTEM_PRIORITY_CLASSES:
        priority = _SYSTEM_PRIORITY_CLASSES[class_name]
    else:
        pc = context.priority_class(class_name) if context.priority_class else None
        if pc is None:
            raise _forbidden(obj, f"no PriorityClass with name {class_name} was found")
        priority = int(pc.get("value") or 0)
        preemption = pc.get("preemptionPolicy") or preemption
    given = spec.get("priority")
    if given is not None and given != priority:
        raise _forbidden(obj, f"the integer value of priority ({given}) must not be provided "
                              "in pod spec; priority admission controller computed "
                              f"{priority} from the given PriorityClass name")
    given_policy = spec.get("preemptionPolicy")
    if given_policy is not None and given_policy != preemption:
        raise _forbidden(obj, f"the string value of PreemptionPolicy ({given_policy}) must not "
                              "be provided in pod spec; priority admission controller computed "
                              f"{preemption} from the given PriorityClass name")
    spec["priority"] = priority
    spec["preemptionPolicy"] = preemption


def pod_status(obj: JSON, now: str) -> JSON:
    """A new pod's status: Pending, its QoS class, a gated condition if gated."""
    spec = obj.get("spec") or {}
    status: JSON = {"phase": "Pending", "qosClass": pod_qos_class(spec)}
    if spec.get("schedulingGates"):
        status["conditions"] = [{
            "type": "PodScheduled",
            "status": "False",
            "lastProbeTime": None,
            "lastTransitionTime": now or None,
            "reason": "SchedulingGated",
            "message": _SCHEDULING_GATED_MESSAGE,
        }]
    return status


_QOS_RESOURCES = ("cpu", "memory")


def _quantities(rl: Any) -> Dict[str, Fraction]:
    out: Dict[str, Fraction] = {}
    if not isinstance(rl, dict):
        return out
    for name, q in rl.items():
        if name not in _QOS_RESOURCES or q is None:
            continue
        try:
            out[name] = _quantity.value_of(q)[0]
        except _quantity.QuantityError:
            continue
    return out


def pod_qos_class(spec: JSON) -> str:
    """Guaranteed, Burstable or BestEffort, as kube's C{GetPodQOS} computes it."""
    pod_resources = spec.get("resources") if isinstance(spec.get("resources"), dict) else None
    if pod_resources and (_quantities(pod_resources.get("requests"))
                          or _quantities(pod_resources.get("limits"))):
        requests = {k: v for k, v in _quantities(pod_resources.get("requests")).items() if v > 0}
        limits = {k: v for k, v in _quantities(pod_resources.get("limits")).items() if v > 0}
        guaranteed = all(r in limits for r in _QOS_RESOURCES)
    else:
        requests, limits = {}, {}
        guaranteed = True
        containers = list(spec.get("initContainers") or ()) + list(spec.get("containers") or ())
        for c in containers:
            resources = (c or {}).get("resources") or {}
            for name, value in _quantities(resources.get("requests")).items():
                if value > 0:
                    requests[name] = requests.get(name, 0) + value
            found = set()
            for name, value in _quantities(resources.get("limits")).items():
                if value > 0:
                    found.add(name)
                    limits[name] = limits.get(name, 0) + value
            if not all(r in found for r in _QOS_RESOURCES):
                guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed:
        for name, req in requests.items():
            if limits.get(name) != req:
                guaranteed = False
                break
    if guaranteed and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"
