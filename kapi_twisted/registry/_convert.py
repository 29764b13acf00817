"""
Conversion between versions that share one etcd prefix, so an object written
through one version reads sensibly through the other:

  - core/v1 Event <-> events.k8s.io/v1 Event (renamed fields: involvedObject
    and regarding, message and note, source and deprecatedSource...);
  - autoscaling/v1 <-> autoscaling/v2 HorizontalPodAutoscaler (the CPU
    utilization target and current value; other v2 metrics are kept in the
    annotations kube-apiserver uses for them, as JSON).

Objects are stored as written; L{convert} runs on reads.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable, Dict, Tuple

_Obj = Dict[str, Any]

# core/v1 name -> events.k8s.io/v1 name
_EVENT_RENAMES = (
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
)
_EVENT_COMMON = ("action", "reason", "type", "eventTime", "series", "related",
                 "reportingInstance")


def _event_core_to_events(obj: _Obj) -> _Obj:
    out = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": obj.get("metadata")}
    for core, new in _EVENT_RENAMES:
        if core in obj:
            out[new] = obj[core]
    for field in _EVENT_COMMON:
        if field in obj:
            out[field] = obj[field]
    return out


def _event_events_to_core(obj: _Obj) -> _Obj:
    out = {"apiVersion": "v1", "kind": "Event", "metadata": obj.get("metadata")}
    for core, new in _EVENT_RENAMES:
        if new in obj:
            out[core] = obj[new]
    for field in _EVENT_COMMON:
        if field in obj:
            out[field] = obj[field]
    return out


_HPA_METRICS = "autoscaling.alpha.kubernetes.io/metrics"
_HPA_CURRENT = "autoscaling.alpha.kubernetes.io/current-metrics"


def _is_cpu_utilization(metric: Any) -> bool:
    resource = (metric or {}).get("resource") or {}
    return (metric or {}).get("type") == "Resource" and resource.get("name") == "cpu" and \
        (resource.get("target") or {}).get("type") == "Utilization"


def _hpa_v2_to_v1(obj: _Obj) -> _Obj:
    out = copy.deepcopy(obj)
    out["apiVersion"] = "autoscaling/v1"
    spec = out.get("spec") or {}
    metrics = spec.pop("metrics", None) or []
    spec.pop("behavior", None)
    others = []
    for m in metrics:
        if _is_cpu_utilization(m):
            spec["targetCPUUtilizationPercentage"] = m["resource"]["target"].get(
                "averageUtilization")
        else:
            others.append(m)
    meta = out.setdefault("metadata", {})
    if others:
        annotations = dict(meta.get("annotations") or {})
        annotations[_HPA_METRICS] = json.dumps(others, separators=(",", ":"))
        meta["annotations"] = annotations
    status = out.get("status")
    if isinstance(status, dict):
        current = status.pop("currentMetrics", None) or []
        status.pop("conditions", None)
        for m in current:
            res = (m or {}).get("resource") or {}
            if (m or {}).get("type") == "Resource" and res.get("name") == "cpu":
                value = (res.get("current") or {}).get("averageUtilization")
                if value is not None:
                    status["currentCPUUtilizationPercentage"] = value
    return out


def _hpa_v1_to_v2(obj: _Obj) -> _Obj:
    out = copy.deepcopy(obj)
    out["apiVersion"] = "autoscaling/v2"
    spec = out.get("spec") or {}
    meta = out.get("metadata") or {}
    metrics = []
    annotations = dict(meta.get("annotations") or {})
    extra = annotations.pop(_HPA_METRICS, None)
    annotations.pop(_HPA_CURRENT, None)
    if extra:
        try:
            metrics.extend(json.loads(extra))
        except ValueError:
            pass
    if "annotations" in meta:
        if annotations:
            meta["annotations"] = annotations
        else:
            del meta["annotations"]
    target = spec.pop("targetCPUUtilizationPercentage", None)
    if target is not None:
        metrics.append({"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}})
    if metrics:
        spec["metrics"] = metrics
    status = out.get("status")
    if isinstance(status, dict):
        current = status.pop("currentCPUUtilizationPercentage", None)
        if current is not None:
            status["currentMetrics"] = [{"type": "Resource", "resource": {
                "name": "cpu", "current": {"averageUtilization": current}}}]
    return out


_CONVERTERS: Dict[Tuple[str, str], Callable[[_Obj], _Obj]] = {
    ("v1/Event", "events.k8s.io/v1"): _event_core_to_events,
    ("events.k8s.io/v1/Event", "v1"): _event_events_to_core,
    ("autoscaling/v2/HorizontalPodAutoscaler", "autoscaling/v1"): _hpa_v2_to_v1,
    ("autoscaling/v1/HorizontalPodAutoscaler", "autoscaling/v2"): _hpa_v1_to_v2,
}


def convert(obj: _Obj, api_version: str) -> _Obj:
    """C{obj} (not changed) as C{api_version} shows it; a copy."""
    source = f"{obj.get('apiVersion')}/{obj.get('kind')}"
    converter = _CONVERTERS.get((source, api_version))
    if converter is None:
        out = copy.deepcopy(obj)
        out["apiVersion"] = api_version
        return out
    return converter(copy.deepcopy(obj))
