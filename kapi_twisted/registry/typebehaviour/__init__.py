"""
Per-kind behaviour of built-in types on a write, in one call per write:
defaulting (L{kapi_twisted.registry.defaults}), the kind's strategy rules
(initial status, a Job's generated selector, a Namespace's finalizer...) and
the mutating admission plugins every kube-apiserver runs on pods
(ServiceAccount, DefaultTolerationSeconds, Priority).

The generic store calls L{prepare_for_create} after it has set the system
metadata (uid, creationTimestamp, name), L{prepare_for_update} on a
main-resource update, and L{prepare_for_status_update} on a status write.
Service IPs and NodePorts are allocated separately, by
L{kapi_twisted.registry.allocators.ServiceAllocation}, because that needs
state and an undo.

All functions mutate the object they are given: the caller's own copy.

Wiring, for example in the store's create path::

    tb.prepare_for_create(info, obj, tb.CreateContext(now=now_rfc3339))
    if info.kind == "Service" and info.group == "":
        txn = allocation.allocate_create(obj, dry_run=options.dry_run)
        try:
            kv = yield storage.create(key, encode(obj))
        except BaseException:
            txn.revert()
            raise
        txn.commit()
"""

from ._context import CreateContext, KindInfo
from ._hooks import (default_service_account, initial_status, prepare_for_create,
                     prepare_for_status_update, prepare_for_update, root_ca_config_map)
from ._pods import ROOT_CA_CONFIG_MAP, apply_limit_range_defaults, pod_qos_class, token_volume

__all__ = [
    "KindInfo", "CreateContext", "prepare_for_create", "prepare_for_update",
    "prepare_for_status_update", "initial_status", "pod_qos_class", "token_volume",
    "apply_limit_range_defaults", "default_service_account", "root_ca_config_map",
    "ROOT_CA_CONFIG_MAP",
]
