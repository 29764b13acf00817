"""
Defaults of storage.k8s.io/v1: StorageClass reclaim policy and binding mode;
CSIDriver's capability flags.
"""

from __future__ import annotations

from typing import Callable, Dict

from ._util import JSON, default, spec_of

__all__ = ["DEFAULTERS"]


def storage_class(obj: JSON) -> None:
    default(obj, "reclaimPolicy", "Delete")
    default(obj, "volumeBindingMode", "Immediate")


def csi_driver(obj: JSON) -> None:
    spec = spec_of(obj)
    default(spec, "attachRequired", True)
    default(spec, "podInfoOnMount", False)
    default(spec, "storageCapacity", False)
    default(spec, "fsGroupPolicy", "ReadWriteOnceWithFSType")
    if not spec.get("volumeLifecycleModes"):
        spec["volumeLifecycleModes"] = ["Persistent"]
    default(spec, "requiresRepublish", False)
    default(spec, "seLinuxMount", False)


DEFAULTERS: Dict[str, Callable[[JSON], None]] = {
    "StorageClass": storage_class,
    "CSIDriver": csi_driver,
}
