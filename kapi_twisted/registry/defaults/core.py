"""
Defaults of the core (v1) kinds, as kube-apiserver applies them when it
decodes a request body: C{SetDefaults_*} of pkg/apis/core/v1/defaults.go,
the declarative C{+default} markers, and the conversion effects that show in
what clients read back (Secret C{stringData} folded into C{data}, base64
re-encoded; Go structs and plain fields that are always written). The
PodSpec walk lives in L{_podspec}, shared with the workload groups.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Callable, Dict

from . import _quantity
from ._podspec import (persistent_volume_source, pod_spec, pod_template_spec, pvc_spec,
                       resource_list)
from ._util import JSON, child, default, default_str, items, spec_of

__all__ = ["DEFAULTERS", "canonical_base64", "Base64Error", "METADATA_NAME_LABEL"]


# -- kinds ----------------------------------------------------------------------------


def _requests_from_limits(c: JSON) -> None:
    resources = child(c, "resources")
    if resources is None:
        return
    limits = resources.get("limits")
    if not isinstance(limits, dict):
        return
    requests = resources.get("requests")
    if not isinstance(requests, dict):
        requests = resources["requests"] = {}
    for name, value in limits.items():
        if name not in requests:
            requests[name] = value


_POD_LEVEL = ("cpu", "memory")


def _pod_level_requests(spec: JSON) -> None:
    """Pod-level requests from pod-level limits or the containers (PodLevelResources)."""
    resources = child(spec, "resources")
    if resources is None:
        return
    limits = resources.get("limits")
    if not isinstance(limits, dict) or not limits:
        return
    requests = resources.get("requests")
    requests = dict(requests) if isinstance(requests, dict) else {}
    aggregate = _aggregate_requests(spec)
    for name, total in aggregate.items():
        if name not in requests and name in _POD_LEVEL:
            requests[name] = _quantity.canonical_resource_value(_fraction_text(total))
    for name, value in limits.items():
        if name not in requests and (name in _POD_LEVEL or name.startswith("hugepages-")):
            requests[name] = value
    if requests:
        resources["requests"] = requests


def _fraction_text(value: Any) -> str:
    # A Fraction as a decimal string the quantity parser reads back exactly.
    if value.denominator == 1:
        return str(value.numerator)
    n = value * 10 ** 9
    return f"{n.numerator // n.denominator}n"


def _aggregate_requests(spec: JSON) -> Dict[str, Any]:
    """Effective container requests: max(sum of containers + sidecars, largest init)."""
    total: Dict[str, Any] = {}
    init_max: Dict[str, Any] = {}
    sidecars: Dict[str, Any] = {}
    for c in items(spec, "initContainers"):
        req = (child(c, "resources") or {}).get("requests") or {}
        for name, q in req.items():
            try:
                value = _quantity.value_of(q)[0]
            except _quantity.QuantityError:
                continue
            if c.get("restartPolicy") == "Always":
                sidecars[name] = sidecars.get(name, 0) + value
            else:
                init_max[name] = max(init_max.get(name, 0), value + sidecars.get(name, 0))
    for c in items(spec, "containers"):
        req = (child(c, "resources") or {}).get("requests") or {}
        for name, q in req.items():
            try:
                total[name] = total.get(name, 0) + _quantity.value_of(q)[0]
            except _quantity.QuantityError:
                continue
    for name, value in sidecars.items():
        total[name] = total.get(name, 0) + value
    for name, value in init_max.items():
        if value > total.get(name, 0):
            total[name] = value
    return total


def pod(obj: JSON) -> None:
    spec = spec_of(obj)
    for key in ("containers", "initContainers"):
        for c in items(spec, key):
            _requests_from_limits(c)
    pod_spec(spec)
    _pod_level_requests(spec)
    default(spec, "enableServiceLinks", True)
    if spec.get("hostNetwork") is True:
        for key in ("containers", "initContainers"):
            for c in items(spec, key):
                for port in items(c, "ports"):
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort")


def pod_template(obj: JSON) -> None:
    pod_template_spec(child(obj, "template", create=True))  # type: ignore[arg-type]


def replication_controller(obj: JSON) -> None:
    spec = spec_of(obj)
    template = child(spec, "template")
    labels = ((template or {}).get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        meta = child(obj, "metadata", create=True)
        if not meta.get("labels"):  # type: ignore[union-attr]
            meta["labels"] = dict(labels)  # type: ignore[index]
    default(spec, "replicas", 1)
    if template is not None:
        pod_template_spec(template)


def _externally_accessible(spec: JSON) -> bool:
    kind = spec.get("type")
    return kind in ("LoadBalancer", "NodePort") or (
        kind == "ClusterIP" and bool(spec.get("externalIPs")))


def service(obj: JSON) -> None:
    spec = spec_of(obj)
    default_str(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        config = child(spec, "sessionAffinityConfig")
        client_ip = child(config, "clientIP") if config is not None else None
        if client_ip is None or client_ip.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
    default_str(spec, "type", "ClusterIP")
    for port in items(spec, "ports"):
        default_str(port, "protocol", "TCP")
        target = port.get("targetPort")
        if target is None or target == 0 or target == "":
            if port.get("port") is not None:
                port["targetPort"] = port["port"]
    if _externally_accessible(spec):
        default_str(spec, "externalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer", "ClusterIP"):
        default(spec, "internalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        default(spec, "allocateLoadBalancerNodePorts", True)
        status = child(obj, "status")
        lb = child(status, "loadBalancer") if status is not None else None
        for ingress in items(lb, "ingress"):
            if ingress.get("ip") and ingress.get("ipMode") is None:
                ingress["ipMode"] = "VIP"


class Base64Error(ValueError):
    """Secret data that is not base64: the decoder's 400."""


_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def canonical_base64(text: Any) -> str:
    """
    C{text} decoded and encoded again, as Go's []byte fields are: line
    breaks dropped, padding required. Raises L{Base64Error} with Go's text.
    """
    if not isinstance(text, str):
        raise Base64Error("illegal base64 data at input byte 0")
    clean = text.replace("\r", "").replace("\n", "")
    for i, ch in enumerate(clean):
        if ch not in _B64_ALPHABET:
            if ch == "=" and len(clean) % 4 == 0 and i >= len(clean) - 2 and \
                    clean[i:].strip("=") == "":
                break
            raise Base64Error(f"illegal base64 data at input byte {i}")
    if len(clean) % 4:
        raise Base64Error(f"illegal base64 data at input byte {len(clean) - len(clean) % 4}")
    try:
        raw = base64.b64decode(clean, validate=True)
    except (binascii.Error, ValueError):
        raise Base64Error("illegal base64 data at input byte 0")
    return base64.b64encode(raw).decode("ascii")


def _base64_map(obj: JSON, key: str) -> None:
    data = obj.get(key)
    if not isinstance(data, dict):
        return
    for name, value in data.items():
        if value is not None:
            data[name] = canonical_base64(value)


def secret(obj: JSON) -> None:
    default_str(obj, "type", "Opaque")
    _base64_map(obj, "data")
    # Conversion to the internal type folds stringData into data (base64 on the wire).
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = obj.get("data")
        if not isinstance(data, dict):
            data = obj["data"] = {}
        for key, value in string_data.items():
            text = value if isinstance(value, str) else ("" if value is None else str(value))
            data[key] = base64.b64encode(text.encode("utf-8")).decode("ascii")


def config_map(obj: JSON) -> None:
    _base64_map(obj, "binaryData")


METADATA_NAME_LABEL = "kubernetes.io/metadata.name"


def namespace(obj: JSON) -> None:
    meta = child(obj, "metadata", create=True)
    name = meta.get("name")  # type: ignore[union-attr]
    if name:
        labels = child(meta, "labels", create=True)  # type: ignore[arg-type]
        labels[METADATA_NAME_LABEL] = name  # type: ignore[index]
    status = child(obj, "status")
    if status is not None:
        default_str(status, "phase", "Active")


def persistent_volume(obj: JSON) -> None:
    spec = spec_of(obj)
    status = child(obj, "status", create=True)
    default_str(status, "phase", "Pending")  # type: ignore[arg-type]
    default_str(spec, "persistentVolumeReclaimPolicy", "Retain")
    default(spec, "volumeMode", "Filesystem")
    resource_list(spec, "capacity")
    persistent_volume_source(spec)


def persistent_volume_claim(obj: JSON) -> None:
    status = child(obj, "status", create=True)
    default_str(status, "phase", "Pending")  # type: ignore[arg-type]
    pvc_spec(spec_of(obj))
    resource_list(status, "capacity")
    resource_list(status, "allocatedResources")


def endpoints(obj: JSON) -> None:
    for subset in items(obj, "subsets"):
        for port in items(subset, "ports"):
            default_str(port, "protocol", "TCP")


def node(obj: JSON) -> None:
    status = child(obj, "status")
    if status is None:
        return
    capacity = status.get("capacity")
    if status.get("allocatable") is None and isinstance(capacity, dict):
        status["allocatable"] = dict(capacity)
    resource_list(status, "capacity")
    resource_list(status, "allocatable")


def limit_range(obj: JSON) -> None:
    for item in items(spec_of(obj), "limits"):
        if item.get("type") == "Container":
            dflt = item.get("default")
            if not isinstance(dflt, dict):
                dflt = item["default"] = {}
            request = item.get("defaultRequest")
            if not isinstance(request, dict):
                request = item["defaultRequest"] = {}
            for name, value in (item.get("max") or {}).items():
                dflt.setdefault(name, value)
            for name, value in dflt.items():
                request.setdefault(name, value)
            for name, value in (item.get("min") or {}).items():
                request.setdefault(name, value)
            # Empty maps are omitted on the wire.
            if not dflt:
                del item["default"]
            if not request:
                del item["defaultRequest"]
        for key in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
            resource_list(item, key)


def resource_quota(obj: JSON) -> None:
    resource_list(child(obj, "spec"), "hard")
    status = child(obj, "status")
    resource_list(status, "hard")
    resource_list(status, "used")


def event(obj: JSON) -> None:
    # Go structs and plain fields of core/v1 Event that are always written.
    child(obj, "involvedObject", create=True)
    child(obj, "source", create=True)
    for key in ("firstTimestamp", "lastTimestamp", "eventTime"):
        obj.setdefault(key, None)
    for key in ("reportingComponent", "reportingInstance"):
        if obj.get(key) is None:
            obj[key] = ""


DEFAULTERS: Dict[str, Callable[[JSON], None]] = {
    "Pod": pod,
    "PodTemplate": pod_template,
    "ReplicationController": replication_controller,
    "Service": service,
    "Secret": secret,
    "ConfigMap": config_map,
    "Namespace": namespace,
    "PersistentVolume": persistent_volume,
    "PersistentVolumeClaim": persistent_volume_claim,
    "Endpoints": endpoints,
    "Node": node,
    "LimitRange": limit_range,
    "ResourceQuota": resource_quota,
    "Event": event,
}

