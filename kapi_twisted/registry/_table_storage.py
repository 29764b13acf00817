"""
Table printers for storage: persistent volumes and claims, storage classes.

Rewritten from kube-apiserver's printers (kubernetes C{pkg/printers/internalversion})
over the JSON the server stores; every printer returns the full (wide) row.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

from kapi_twisted.registry._table_format import (
    AGE,
    CORE,
    NAME,
    Clock,
    Column,
    Printer,
    age_of,
    deleting,
    dig,
    name_of,
)

# -- storage -------------------------------------------------------------------------

PV_COLUMNS = [
    NAME,
    Column("Capacity", doc=(CORE + "PersistentVolumeSpec", "capacity")),
    Column("Access Modes", doc=(CORE + "PersistentVolumeSpec", "accessModes")),
    Column("Reclaim Policy", doc=(CORE + "PersistentVolumeSpec", "persistentVolumeReclaimPolicy")),
    Column("Status", doc=(CORE + "PersistentVolumeStatus", "phase")),
    Column("Claim", doc=(CORE + "PersistentVolumeSpec", "claimRef")),
    Column("StorageClass", doc="StorageClass of the pv"),
    Column("VolumeAttributesClass", doc="VolumeAttributesClass of the pv"),
    Column("Reason", doc=(CORE + "PersistentVolumeStatus", "reason")),
    AGE,
    Column("VolumeMode", doc=(CORE + "PersistentVolumeSpec", "volumeMode"), priority=1),
]

_BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"


def access_modes(modes: Sequence[str]) -> str:
    """C{GetAccessModesAsString}: RWO, ROX, RWX, RWOP in that order."""
    short = [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
             ("ReadWriteOncePod", "RWOP")]
    return ",".join(abbrev for mode, abbrev in short if mode in (modes or []))


def pv_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(obj, "spec", default={})
    claim = spec.get("claimRef")
    annotations = dig(obj, "metadata", "annotations", default={})
    storage_class = annotations.get(_BETA_STORAGE_CLASS, spec.get("storageClassName") or "")
    phase = "Terminating" if deleting(obj) else dig(obj, "status", "phase", default="")
    return [
        name_of(obj),
        str(dig(spec, "capacity", "storage", default="0")),
        access_modes(spec.get("accessModes") or []),
        spec.get("persistentVolumeReclaimPolicy", ""),
        phase,
        f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else "",
        storage_class,
        spec.get("volumeAttributesClassName") or "<unset>",
        dig(obj, "status", "reason", default=""),
        age_of(obj, clock),
        spec.get("volumeMode") or "<unset>",
    ]


PVC_COLUMNS = [
    NAME,
    Column("Status", doc=(CORE + "PersistentVolumeClaimStatus", "phase")),
    Column("Volume", doc=(CORE + "PersistentVolumeClaimSpec", "volumeName")),
    Column("Capacity", doc=(CORE + "PersistentVolumeClaimStatus", "capacity")),
    Column("Access Modes", doc=(CORE + "PersistentVolumeClaimStatus", "accessModes")),
    Column("StorageClass", doc="StorageClass of the pvc"),
    Column("VolumeAttributesClass", doc="VolumeAttributesClass of the pvc"),
    AGE,
    Column("VolumeMode", doc=(CORE + "PersistentVolumeClaimSpec", "volumeMode"), priority=1),
]


def pvc_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(obj, "spec", default={})
    status = dig(obj, "status", default={})
    annotations = dig(obj, "metadata", "annotations", default={})
    if _BETA_STORAGE_CLASS in annotations:
        storage_class = annotations[_BETA_STORAGE_CLASS]
    else:
        storage_class = spec.get("storageClassName") or ""
    capacity = modes = ""
    if spec.get("volumeName"):
        modes = access_modes(status.get("accessModes") or [])
        capacity = str(dig(status, "capacity", "storage", default="0"))
    return [
        name_of(obj),
        "Terminating" if deleting(obj) else status.get("phase", ""),
        spec.get("volumeName", ""),
        capacity,
        modes,
        storage_class,
        spec.get("volumeAttributesClassName") or "<unset>",
        age_of(obj, clock),
        spec.get("volumeMode") or "<unset>",
    ]


STORAGECLASS_COLUMNS = [
    NAME,
    Column("Provisioner", doc=("io.k8s.api.storage.v1.StorageClass", "provisioner")),
    Column("ReclaimPolicy", doc=("io.k8s.api.storage.v1.StorageClass", "reclaimPolicy")),
    Column("VolumeBindingMode", doc=("io.k8s.api.storage.v1.StorageClass", "volumeBindingMode")),
    Column("AllowVolumeExpansion", doc=("io.k8s.api.storage.v1.StorageClass", "allowVolumeExpansion")),
    AGE,
]


def storageclass_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    annotations = dig(obj, "metadata", "annotations", default={})
    name = name_of(obj)
    if "true" in (
        annotations.get("storageclass.kubernetes.io/is-default-class"),
        annotations.get("storageclass.beta.kubernetes.io/is-default-class"),
    ):
        name += " (default)"
    return [
        name,
        obj.get("provisioner", ""),
        obj.get("reclaimPolicy") or "Delete",
        obj.get("volumeBindingMode") or "Immediate",
        bool(obj.get("allowVolumeExpansion")),
        age_of(obj, clock),
    ]


STORAGE = "io.k8s.api.storage.v1."

VOLUMEATTACHMENT_COLUMNS = [
    NAME,
    Column("Attacher", doc=(STORAGE + "VolumeAttachmentSpec", "attacher"), format="name"),
    Column("PV", doc=(STORAGE + "VolumeAttachmentSource", "persistentVolumeName")),
    Column("Node", doc=(STORAGE + "VolumeAttachmentSpec", "nodeName")),
    Column("Attached", "boolean", (STORAGE + "VolumeAttachmentStatus", "attached")),
    AGE,
]


def volumeattachment_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(obj, "spec", default={})
    return [
        name_of(obj),
        spec.get("attacher", ""),
        dig(spec, "source", "persistentVolumeName", default=""),
        spec.get("nodeName", ""),
        bool(dig(obj, "status", "attached")),
        age_of(obj, clock),
    ]


CSINODE_COLUMNS = [
    NAME,
    Column("Drivers", "integer", "Drivers indicates the number of CSI drivers registered on the node"),
    AGE,
]


def csinode_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    return [name_of(obj), len(dig(obj, "spec", "drivers", default=[])), age_of(obj, clock)]


CSIDRIVER_COLUMNS = [
    NAME,
    Column("AttachRequired", "boolean", (STORAGE + "CSIDriverSpec", "attachRequired")),
    Column("PodInfoOnMount", "boolean", (STORAGE + "CSIDriverSpec", "podInfoOnMount")),
    Column("StorageCapacity", "boolean", (STORAGE + "CSIDriverSpec", "storageCapacity")),
    Column("TokenRequests", doc=(STORAGE + "CSIDriverSpec", "tokenRequests")),
    Column("RequiresRepublish", "boolean", (STORAGE + "CSIDriverSpec", "requiresRepublish")),
    Column("Modes", doc=(STORAGE + "CSIDriverSpec", "volumeLifecycleModes")),
    AGE,
]


def csidriver_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(obj, "spec", default={})
    requests = spec.get("tokenRequests")
    return [
        name_of(obj),
        spec.get("attachRequired", True) is not False,
        bool(spec.get("podInfoOnMount")),
        bool(spec.get("storageCapacity")),
        ",".join(r.get("audience", "") for r in requests) if requests is not None else "<unset>",
        bool(spec.get("requiresRepublish")),
        ",".join(spec.get("volumeLifecycleModes") or []) or "<none>",
        age_of(obj, clock),
    ]


CSISTORAGECAPACITY_COLUMNS = [
    NAME,
    Column("StorageClassName", doc=(STORAGE + "CSIStorageCapacity", "storageClassName")),
    Column("Capacity", doc=(STORAGE + "CSIStorageCapacity", "capacity")),
]


def csistoragecapacity_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    capacity = obj.get("capacity")
    return [name_of(obj), obj.get("storageClassName", ""), str(capacity) if capacity is not None else "<unset>"]


VOLUMEATTRIBUTESCLASS_COLUMNS = [
    NAME,
    Column("DriverName", doc=(STORAGE + "VolumeAttributesClass", "driverName")),
    AGE,
]


def volumeattributesclass_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    name = name_of(obj)
    if dig(obj, "metadata", "annotations", "storage.kubernetes.io/is-default-class") == "true":
        name += " (default)"
    return [name, obj.get("driverName", ""), age_of(obj, clock)]


PRINTERS: Dict[Tuple[str, str], Printer] = {
    ("storage.k8s.io", "volumeattachments"): (VOLUMEATTACHMENT_COLUMNS, volumeattachment_cells, None),
    ("storage.k8s.io", "csinodes"): (CSINODE_COLUMNS, csinode_cells, None),
    ("storage.k8s.io", "csidrivers"): (CSIDRIVER_COLUMNS, csidriver_cells, None),
    ("storage.k8s.io", "csistoragecapacities"): (CSISTORAGECAPACITY_COLUMNS, csistoragecapacity_cells, None),
    ("storage.k8s.io", "volumeattributesclasses"): (
        VOLUMEATTRIBUTESCLASS_COLUMNS, volumeattributesclass_cells, None),
    ("", "persistentvolumes"): (PV_COLUMNS, pv_cells, None),
    ("", "persistentvolumeclaims"): (PVC_COLUMNS, pvc_cells, None),
    ("storage.k8s.io", "storageclasses"): (STORAGECLASS_COLUMNS, storageclass_cells, None),
}
