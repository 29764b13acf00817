"""
Service cluster IPs and NodePorts, allocated as kube-apiserver's service
REST storage does (pkg/registry/core/service/{ipallocator,portallocator},
storage/alloc.go).

An L{IPAllocator} hands out addresses of C{--service-cluster-ip-range}
(never the network or IPv4 broadcast address); a L{PortAllocator} hands out
C{--service-node-port-range}. Both keep kube's split of the range: dynamic
allocation picks at random from the upper part first, so the lower part
(and the first address, which the C{kubernetes} Service holds) stays free
for static requests. The state lives in memory: L{ServiceAllocation.rebuild}
restores it from the stored Services at start-up.

L{ServiceAllocation} applies this to Service objects on create, update and
delete and returns a L{Transaction}: C{revert()} undoes the allocations of a
write that failed, C{commit()} releases what the written object gave up.
A write that is tried again (a compare-and-swap conflict) reverts its
transaction before the next attempt allocates again.
"""

from ._ranges import (DEFAULT_NODE_PORT_RANGE, DEFAULT_SERVICE_CIDR, AllocationError,
                      AlreadyAllocated, IPAllocator, NotInRange, PortAllocator, RangeFull)
from ._service import ServiceAllocation, Transaction

__all__ = [
    "AllocationError", "RangeFull", "AlreadyAllocated", "NotInRange",
    "IPAllocator", "PortAllocator", "ServiceAllocation", "Transaction",
    "DEFAULT_SERVICE_CIDR", "DEFAULT_NODE_PORT_RANGE",
]
