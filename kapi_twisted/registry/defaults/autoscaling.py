"""
Defaults of autoscaling v1 and v2 HorizontalPodAutoscalers: minReplicas 1;
in v2 a CPU utilization target of 80% when no metric is given, and, when a
C{behavior} is given, the scale-up and scale-down rules it leaves out.
"""

from __future__ import annotations

import copy
from typing import Callable, Dict, Optional

from ._util import JSON, child, default, spec_of

__all__ = ["DEFAULTERS_V1", "DEFAULTERS_V2"]

DEFAULT_CPU_UTILIZATION = 80

_SCALE_UP = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ],
}
_SCALE_DOWN = {
    "selectPolicy": "Max",
    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
}


def _rules(current: Optional[JSON], defaults: JSON) -> JSON:
    if current is None:
        return copy.deepcopy(defaults)
    for key in ("policies", "selectPolicy", "stabilizationWindowSeconds"):
        if current.get(key) is None and key in defaults:
            current[key] = copy.deepcopy(defaults[key])
    return current


def hpa_v1(obj: JSON) -> None:
    default(spec_of(obj), "minReplicas", 1)


def hpa_v2(obj: JSON) -> None:
    spec = spec_of(obj)
    default(spec, "minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization",
                           "averageUtilization": DEFAULT_CPU_UTILIZATION},
            },
        }]
    behavior = child(spec, "behavior")
    if behavior is not None:
        behavior["scaleUp"] = _rules(child(behavior, "scaleUp"), _SCALE_UP)
        behavior["scaleDown"] = _rules(child(behavior, "scaleDown"), _SCALE_DOWN)


DEFAULTERS_V1: Dict[str, Callable[[JSON], None]] = {"HorizontalPodAutoscaler": hpa_v1}
DEFAULTERS_V2: Dict[str, Callable[[JSON], None]] = {"HorizontalPodAutoscaler": hpa_v2}
