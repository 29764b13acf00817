"""
Address and port ranges with kube's allocation order (ipallocator and
portallocator of pkg/registry/core/service): a random free slot above the
range's static band first, then below it; kube's error messages.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any, Iterable, Optional, Set, Tuple, Type

__all__ = ["AllocationError", "RangeFull", "AlreadyAllocated", "NotInRange",
           "IPAllocator", "PortAllocator", "DEFAULT_SERVICE_CIDR", "DEFAULT_NODE_PORT_RANGE"]

DEFAULT_SERVICE_CIDR = "10.0.0.0/24"
DEFAULT_NODE_PORT_RANGE = "30000-32767"
_MAX_IPV6_RANGE = 65536


class AllocationError(Exception):
    """An allocation that cannot be made; C{str()} is kube's message."""


class RangeFull(AllocationError):
    def __init__(self) -> None:
        super().__init__("range is full")


class AlreadyAllocated(AllocationError):
    def __init__(self, what: str = "IP") -> None:
        super().__init__(f"provided {what} is already allocated")


class NotInRange(AllocationError):
    pass


class _Bitmap:
    """
    Allocation state of C{size} slots. Dynamic allocation tries a random
    free slot at or above C{offset} first, then below it.
    """

    def __init__(self, size: int, offset: int, rng: random.Random,
                 reserved: Iterable[int] = ()) -> None:
        self.size = max(0, size)
        self.offset = min(offset, self.size)
        self.rng = rng
        self.used: Set[int] = set()
        self.reserved = set(reserved)  # never handed out dynamically

    def free(self) -> int:
        return self.size - len(self.used)

    def _pick(self, lo: int, hi: int) -> Optional[int]:
        span = hi - lo
        if span <= 0:
            return None
        taken = sum(1 for i in self.used | self.reserved if lo <= i < hi)
        if taken >= span:
            return None
        if taken < span // 2:
            while True:  # mostly free: random probing is quick
                i = lo + self.rng.randrange(span)
                if i not in self.used and i not in self.reserved:
                    return i
        start = self.rng.randrange(span)
        for k in range(span):
            i = lo + (start + k) % span
            if i not in self.used and i not in self.reserved:
                return i
        return None

    def next_free(self) -> Optional[int]:
        i = self._pick(self.offset, self.size)
        if i is None:
            i = self._pick(0, self.offset)
        return i


def _range_offset(size: int, minimum: int, maximum: int, step: int) -> int:
    if size <= minimum:
        return 0
    return min(size // step, maximum)


class _RangeAllocator:
    """
    What IP and port ranges share: slots in a L{_Bitmap}, handed out in
    kube's order or on request. Subclasses map values to slots (C{_index},
    raising L{NotInRange}) and back (C{_value}).
    """

    _bits: _Bitmap
    _what = ""  # in kube's "provided ... is already allocated"
    # Errors of C{_index} that mean "not one of ours" to release and rebuild.
    _foreign: Tuple[Type[Exception], ...] = (NotInRange,)

    def _index(self, value: Any) -> int:
        raise NotImplementedError

    def _value(self, index: int) -> Any:
        raise NotImplementedError

    def allocate(self, requested: Any = None, dry_run: bool = False) -> Any:
        """The requested value, or a free one when None. Raises L{AllocationError}."""
        if requested:
            index = self._index(requested)
            if index in self._bits.used:
                raise AlreadyAllocated(self._what)
        else:
            found = self._bits.next_free()
            if found is None:
                raise RangeFull()
            index = found
        if not dry_run:
            self._bits.used.add(index)
        return self._value(index)

    def release(self, value: Any) -> None:
        """Free C{value} (unknown or foreign values are ignored)."""
        try:
            self._bits.used.discard(self._index(value))
        except self._foreign:
            pass

    def is_allocated(self, value: Any) -> bool:
        try:
            return self._index(value) in self._bits.used
        except NotInRange:
            return False

    def rebuild(self, existing: Iterable[Any]) -> None:
        """Forget everything, then mark C{existing} (those in range) as used."""
        self._bits.used.clear()
        for value in existing:
            try:
                self._bits.used.add(self._index(value))
            except self._foreign:
                continue

    def free(self) -> int:
        return self._bits.free()

    def used(self) -> int:
        return len(self._bits.used)


class IPAllocator(_RangeAllocator):
    """
    Addresses of one service CIDR. The first usable address (the
    C{kubernetes} Service's) is only given on request.
    """

    _what = "IP"

    def __init__(self, cidr: str = DEFAULT_SERVICE_CIDR,
                 rng: Optional[random.Random] = None) -> None:
        self.network = ipaddress.ip_network(cidr.strip(), strict=False)
        self.cidr = str(self.network)
        self.family = "IPv6" if self.network.version == 6 else "IPv4"
        size = self.network.num_addresses
        if self.network.version == 6:
            size = min(size, _MAX_IPV6_RANGE)
        else:
            size -= 1  # the broadcast address
        size -= 1  # the network address
        self._base = int(self.network.network_address) + 1
        offset = _range_offset(self.network.num_addresses, 16, 256, 16)
        self._bits = _Bitmap(size, offset, rng or random.Random(), reserved=(0,))

    def _index(self, ip: str) -> int:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            raise NotInRange(self._not_in_range(ip))
        index = int(addr) - self._base
        if addr.version != self.network.version or not 0 <= index < self._bits.size:
            raise NotInRange(self._not_in_range(ip))
        return index

    def _not_in_range(self, ip: str) -> str:
        return (f"the provided IP ({ip}) is not in the valid range. "
                f"The range of valid IPs is {self.cidr}")

    def _value(self, index: int) -> str:
        return str(ipaddress.ip_address(self._base + index))

    def contains(self, ip: str) -> bool:
        try:
            self._index(ip)
        except NotInRange:
            return False
        return True


class PortAllocator(_RangeAllocator):
    """NodePorts of C{--service-node-port-range} (C{"30000-32767"})."""

    _what = "port"
    _foreign = (NotInRange, TypeError, ValueError)

    def __init__(self, port_range: str = DEFAULT_NODE_PORT_RANGE,
                 rng: Optional[random.Random] = None) -> None:
        text = port_range.strip()
        lo, sep, hi = text.partition("-")
        base = int(lo)
        size = int(hi) - base + 1 if sep else 1
        if base < 0 or size <= 0 or base + size - 1 > 65535:
            raise ValueError(f"invalid port range: {port_range!r}")
        self.base = base
        self.range = f"{base}-{base + size - 1}"
        offset = _range_offset(size, 16, 128, 32)
        self._bits = _Bitmap(size, offset, rng or random.Random())

    def _index(self, port: int) -> int:
        index = int(port) - self.base
        if not 0 <= index < self._bits.size:
            raise NotInRange("provided port is not in the valid range. "
                             f"The range of valid ports is {self.range}")
        return index

    def _value(self, index: int) -> int:
        return self.base + index
