"""
Defaults of apps/v1 (pkg/apis/apps/v1/defaults.go and its generated walk):
the workload fields every client sees after a create (replicas, strategies,
revisionHistoryLimit...), the pod template's defaults, and a StatefulSet's
volume claim templates as written back (apiVersion/kind, volumeMode,
status.phase Pending).
"""

from __future__ import annotations

from typing import Callable, Dict

from . import _podspec as podspec
from ._util import JSON, child, default, default_str, items, spec_of

__all__ = ["DEFAULTERS"]


def _template(spec: JSON) -> None:
    podspec.pod_template_spec(child(spec, "template", create=True))  # type: ignore[arg-type]


def deployment(obj: JSON) -> None:
    spec = spec_of(obj)
    default(spec, "replicas", 1)
    strategy = child(spec, "strategy", create=True)
    default_str(strategy, "type", "RollingUpdate")  # type: ignore[arg-type]
    if strategy["type"] == "RollingUpdate":  # type: ignore[index]
        rolling = child(strategy, "rollingUpdate", create=True)  # type: ignore[arg-type]
        default(rolling, "maxUnavailable", "25%")  # type: ignore[arg-type]
        default(rolling, "maxSurge", "25%")  # type: ignore[arg-type]
    default(spec, "revisionHistoryLimit", 10)
    default(spec, "progressDeadlineSeconds", 600)
    _template(spec)


def daemon_set(obj: JSON) -> None:
    spec = spec_of(obj)
    strategy = child(spec, "updateStrategy", create=True)
    default_str(strategy, "type", "RollingUpdate")  # type: ignore[arg-type]
    if strategy["type"] == "RollingUpdate":  # type: ignore[index]
        rolling = child(strategy, "rollingUpdate", create=True)  # type: ignore[arg-type]
        default(rolling, "maxUnavailable", 1)  # type: ignore[arg-type]
        default(rolling, "maxSurge", 0)  # type: ignore[arg-type]
    default(spec, "revisionHistoryLimit", 10)
    _template(spec)


def stateful_set(obj: JSON) -> None:
    spec = spec_of(obj)
    default_str(spec, "podManagementPolicy", "OrderedReady")
    strategy = child(spec, "updateStrategy", create=True)
    if not strategy.get("type"):  # type: ignore[union-attr]
        strategy["type"] = "RollingUpdate"  # type: ignore[index]
        child(strategy, "rollingUpdate", create=True)  # type: ignore[arg-type]
    rolling = child(strategy, "rollingUpdate")  # type: ignore[arg-type]
    if strategy["type"] == "RollingUpdate" and rolling is not None:  # type: ignore[index]
        default(rolling, "partition", 0)
    policy = child(spec, "persistentVolumeClaimRetentionPolicy", create=True)
    default_str(policy, "whenDeleted", "Retain")  # type: ignore[arg-type]
    default_str(policy, "whenScaled", "Retain")  # type: ignore[arg-type]
    default(spec, "replicas", 1)
    default(spec, "revisionHistoryLimit", 10)
    _template(spec)
    for claim in items(spec, "volumeClaimTemplates"):
        # Written back as full PersistentVolumeClaims.
        claim.setdefault("apiVersion", "v1")
        claim.setdefault("kind", "PersistentVolumeClaim")
        podspec.template_metadata(claim)
        podspec.pvc_spec(spec_of(claim))
        status = child(claim, "status", create=True)
        default_str(status, "phase", "Pending")  # type: ignore[arg-type]


def replica_set(obj: JSON) -> None:
    spec = spec_of(obj)
    default(spec, "replicas", 1)
    _template(spec)


DEFAULTERS: Dict[str, Callable[[JSON], None]] = {
    "Deployment": deployment,
    "DaemonSet": daemon_set,
    "StatefulSet": stateful_set,
    "ReplicaSet": replica_set,
}
