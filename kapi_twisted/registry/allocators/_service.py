"""
Cluster IPs, IP families and NodePorts of Service objects on create, update
and delete (kube's service REST storage, storage/alloc.go), as transactions.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

from kapi_twisted import apierrors
from kapi_twisted.apierrors import APIError
from kapi_twisted.registry import validation as v

from ._ranges import (DEFAULT_NODE_PORT_RANGE, DEFAULT_SERVICE_CIDR, AllocationError,
                      IPAllocator, PortAllocator, RangeFull)

__all__ = ["Transaction", "ServiceAllocation", "needs_cluster_ip", "needs_node_ports",
           "needs_health_check_node_port"]

JSON = Dict[str, Any]


class Transaction:
    """
    The allocation side of one Service write: C{revert()} when the write
    failed, C{commit()} once it is stored. Either is safe to call once.
    """

    def __init__(self) -> None:
        self._undo: List[Callable[[], None]] = []
        self._on_commit: List[Callable[[], None]] = []
        self._done = False

    def add_undo(self, fn: Callable[[], None]) -> None:
        self._undo.append(fn)

    def add_commit(self, fn: Callable[[], None]) -> None:
        self._on_commit.append(fn)

    def revert(self) -> None:
        if self._done:
            return
        self._done = True
        for fn in reversed(self._undo):
            fn()

    def commit(self) -> None:
        if self._done:
            return
        self._done = True
        for fn in self._on_commit:
            fn()

    __call__ = revert  # an undo callable


# -- Service helpers -------------------------------------------------------------------

def _spec(svc: JSON) -> JSON:
    spec = svc.get("spec")
    if not isinstance(spec, dict):
        spec = svc["spec"] = {}
    return spec


def _type(spec: JSON) -> str:
    return spec.get("type") or "ClusterIP"


def needs_cluster_ip(spec: JSON) -> bool:
    return _type(spec) != "ExternalName"


def _drop_ip_fields_of_external_name(spec: JSON) -> None:
    """An ExternalName Service has no cluster IPs nor IP families (cleared as kube does)."""
    if not needs_cluster_ip(spec):
        for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            spec.pop(key, None)


def needs_node_ports(spec: JSON) -> bool:
    kind = _type(spec)
    return kind == "NodePort" or (
        kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is not False)


def _has_node_port_type(spec: JSON) -> bool:
    return _type(spec) in ("NodePort", "LoadBalancer")


def needs_health_check_node_port(spec: JSON) -> bool:
    return _type(spec) == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def _ports(spec: JSON) -> List[JSON]:
    ports = spec.get("ports")
    return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []


def _cluster_ips(spec: JSON) -> List[str]:
    ips = spec.get("clusterIPs")
    if isinstance(ips, list) and ips:
        return [ip for ip in ips if isinstance(ip, str)]
    ip = spec.get("clusterIP")
    return [ip] if isinstance(ip, str) and ip else []


def _family_of(ip: str) -> Optional[str]:
    try:
        return "IPv6" if ipaddress.ip_address(ip).version == 6 else "IPv4"
    except ValueError:
        return None


def _invalid(svc: JSON, errs: List[v.FieldError]) -> APIError:
    return v.invalid("Service", (svc.get("metadata") or {}).get("name") or "", errs)


IPRanges = Union[str, Sequence[str]]


class ServiceAllocation:
    """
    Cluster IPs, IP families and NodePorts of Services.

    @param service_cidrs: C{--service-cluster-ip-range}: one CIDR, or two
        (comma-separated or a sequence) for a dual-stack cluster; the first
        is the default family.
    @param node_port_range: C{--service-node-port-range}.
    """

    def __init__(self, service_cidrs: IPRanges = DEFAULT_SERVICE_CIDR,
                 node_port_range: str = DEFAULT_NODE_PORT_RANGE,
                 rng: Optional[random.Random] = None) -> None:
        if isinstance(service_cidrs, str):
            service_cidrs = [c for c in service_cidrs.split(",") if c.strip()]
        rng = rng or random.Random()
        self.ip_allocators: Dict[str, IPAllocator] = {}
        self.default_family = ""
        for cidr in service_cidrs:
            alloc = IPAllocator(cidr, rng)
            self.ip_allocators.setdefault(alloc.family, alloc)
            self.default_family = self.default_family or alloc.family
        self.node_ports = PortAllocator(node_port_range, rng)

    # -- start-up ----------------------------------------------------------------------

    def rebuild(self, services: Iterable[JSON]) -> None:
        """Restore the state from every stored Service (at start-up)."""
        ips: Dict[str, List[str]] = {family: [] for family in self.ip_allocators}
        ports: List[int] = []
        for svc in services:
            spec = svc.get("spec") or {}
            for ip in _cluster_ips(spec):
                family = _family_of(ip)
                if family in ips:
                    ips[family].append(ip)
            for port in _ports(spec):
                if port.get("nodePort"):
                    ports.append(port["nodePort"])
            if spec.get("healthCheckNodePort"):
                ports.append(spec["healthCheckNodePort"])
        for family, alloc in self.ip_allocators.items():
            alloc.rebuild(ips[family])
        self.node_ports.rebuild(ports)

    # -- create ------------------------------------------------------------------------

    def allocate_create(self, svc: JSON, dry_run: bool = False) -> Transaction:
        """
        Fill C{spec.clusterIP(s)}, C{ipFamilies}, C{ipFamilyPolicy} and the
        NodePorts of a new Service (already defaulted). Raises L{APIError}
        (422 for a bad request, 500 when a range is full); nothing stays
        allocated then.
        """
        txn = Transaction()
        spec = _spec(svc)
        try:
            self._init_ip_families(svc, None)
            self._alloc_cluster_ips(svc, txn, dry_run)
            self._alloc_node_ports(svc, txn, dry_run, old=None)
        except BaseException:
            txn.revert()
            raise
        _drop_ip_fields_of_external_name(spec)
        return txn

    def _init_ip_families(self, svc: JSON, old: Optional[JSON]) -> None:
        spec = _spec(svc)
        if not needs_cluster_ip(spec):
            return
        old_spec = (old or {}).get("spec") or {}
        # clusterIP and clusterIPs describe the same thing (kube's normalizeClusterIPs).
        ip = spec.get("clusterIP") or ""
        ips = spec.get("clusterIPs") or []
        if old is None:
            if ip and not ips:
                ips = spec["clusterIPs"] = [ip]
        else:
            old_ip = old_spec.get("clusterIP") or ""
            old_ips = old_spec.get("clusterIPs") or []
            if old_ips and not ips and old_ip == ip:
                ips = spec["clusterIPs"] = list(old_ips)
            if old_ip != ip and ip and list(ips) == list(old_ips):
                ips = spec["clusterIPs"] = [ip]
        if ip and isinstance(ips, list) and ips and ips[0] != ip:
            raise _invalid(svc, [v.invalid_value("spec.clusterIPs", ips,
                                                 "first value must match `clusterIP`")])
        if not ip and ips:
            raise _invalid(svc, [v.invalid_value(
                "spec.clusterIPs", ips, "must be empty when `clusterIP` is not specified")])
        if spec.get("ipFamilyPolicy") is None:
            if old_spec.get("ipFamilyPolicy") is not None:
                spec["ipFamilyPolicy"] = old_spec["ipFamilyPolicy"]
            elif spec.get("clusterIP") == "None" and not spec.get("selector"):
                spec["ipFamilyPolicy"] = "RequireDualStack"
            else:
                spec["ipFamilyPolicy"] = "SingleStack"
        policy = spec["ipFamilyPolicy"]
        errs: List[v.FieldError] = []
        if policy not in ("SingleStack", "PreferDualStack", "RequireDualStack"):
            raise _invalid(svc, [v.not_supported(
                "spec.ipFamilyPolicy", policy,
                ["PreferDualStack", "RequireDualStack", "SingleStack"])])
        families = spec.get("ipFamilies")
        if not isinstance(families, list):
            families = []
        cluster_ips = _cluster_ips(spec)
        for i, cip in enumerate(cluster_ips):
            if cip == "None":
                if i == 0:
                    break
                errs.append(v.invalid_value(f"spec.clusterIPs[{i}]", cip,
                                            "must be a valid IP address"))
                continue
            family = _family_of(cip)
            if family is None:
                errs.append(v.invalid_value(
                    f"spec.clusterIPs[{i}]", cip,
                    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
                continue
            if i < len(families):
                if families[i] != family:
                    errs.append(v.invalid_value(
                        f"spec.clusterIPs[{i}]", cluster_ips,
                        f"expected an {families[i]} value as indicated by `ipFamilies[{i}]`"))
            elif family not in self.ip_allocators:
                errs.append(v.invalid_value(f"spec.clusterIPs[{i}]", cluster_ips,
                                            f"{family} is not configured on this cluster"))
            else:
                families.append(family)
        if policy == "SingleStack":
            if len(cluster_ips) == 2:
                errs.append(v.invalid_value(
                    "spec.ipFamilyPolicy", policy,
                    "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster "
                    "IPs are specified"))
            if len(families) == 2:
                errs.append(v.invalid_value(
                    "spec.ipFamilyPolicy", policy,
                    "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP "
                    "families are specified"))
        if errs:
            raise _invalid(svc, errs)
        if spec.get("clusterIP") == "None" and not spec.get("selector"):
            if not families:
                families = [self.default_family]
            if len(families) < 2 and policy != "SingleStack":
                families.append("IPv6" if families[0] == "IPv4" else "IPv4")
            spec["ipFamilies"] = families
            return
        if policy == "RequireDualStack" and len(self.ip_allocators) < 2:
            errs.append(v.invalid_value("spec.ipFamilyPolicy", policy,
                                        "this cluster is not configured for dual-stack services"))
        for i, family in enumerate(families):
            if family not in self.ip_allocators:
                errs.append(v.invalid_value(f"spec.ipFamilies[{i}]", family,
                                            "not configured on this cluster"))
        if errs:
            raise _invalid(svc, errs)
        if not families:
            families = [self.default_family]
        if policy != "SingleStack" and len(families) == 1 and len(self.ip_allocators) == 2:
            families.append("IPv6" if families[0] == "IPv4" else "IPv4")
        spec["ipFamilies"] = families

    def _alloc_cluster_ips(self, svc: JSON, txn: Transaction, dry_run: bool,
                           keep: Sequence[str] = ()) -> None:
        spec = _spec(svc)
        if not needs_cluster_ip(spec):
            return
        ips = list(_cluster_ips(spec))
        if ips and ips[0] == "None":
            spec["clusterIP"] = "None"
            spec["clusterIPs"] = ["None"]
            return
        families = spec.get("ipFamilies") or [self.default_family]
        while len(ips) < len(families):
            ips.append("")
        for i, family in enumerate(families):
            alloc = self.ip_allocators[family]
            requested = ips[i]
            if requested and requested in keep:
                continue  # already held by this Service
            try:
                got = alloc.allocate(requested or None, dry_run=dry_run)
            except RangeFull as e:
                raise apierrors.internal_error(f"failed to allocate a serviceIP: {e}")
            except AllocationError as e:
                raise _invalid(svc, [v.invalid_value(
                    "spec.clusterIPs", [ip for ip in _cluster_ips(spec)],
                    f"failed to allocate IP {requested}: {e}")])
            if not dry_run:
                txn.add_undo(lambda alloc=alloc, got=got: alloc.release(got))
            ips[i] = got
        spec["clusterIPs"] = ips
        spec["clusterIP"] = ips[0]

    def _alloc_port(self, svc: JSON, path: str, requested: int, txn: Transaction,
                    dry_run: bool) -> int:
        try:
            got = self.node_ports.allocate(requested or None, dry_run=dry_run)
        except RangeFull as e:
            raise apierrors.internal_error(f"failed to allocate a nodePort: {e}")
        except AllocationError as e:
            raise _invalid(svc, [v.invalid_value(path, requested, str(e))])
        if not dry_run:
            txn.add_undo(lambda: self.node_ports.release(got))
        return got

    def _alloc_node_ports(self, svc: JSON, txn: Transaction, dry_run: bool,
                          old: Optional[JSON]) -> None:
        spec = _spec(svc)
        held: Set[int] = set()
        if old is not None:
            old_spec = old.get("spec") or {}
            held = {p["nodePort"] for p in _ports(old_spec) if p.get("nodePort")}
        by_port: Dict[Any, int] = {}
        allocate_new = needs_node_ports(spec)
        ports = _ports(spec)
        for i, port in enumerate(ports):
            path = f"spec.ports[{i}].nodePort"
            node_port = port.get("nodePort") or 0
            if not node_port and not allocate_new:
                continue
            shared = by_port.get(port.get("port"))
            if shared is None:
                if not node_port:
                    # A later entry for the same port may ask for a specific one.
                    node_port = next((p.get("nodePort") for p in ports[i + 1:]
                                      if p.get("port") == port.get("port") and p.get("nodePort")),
                                     0)
                if node_port and node_port in held:
                    got = node_port
                else:
                    got = self._alloc_port(svc, path, node_port, txn, dry_run)
                port["nodePort"] = got
                by_port[port.get("port")] = got
            elif node_port != shared:
                if not node_port:
                    port["nodePort"] = shared
                elif node_port not in held:
                    port["nodePort"] = self._alloc_port(svc, path, node_port, txn, dry_run)
        if needs_health_check_node_port(spec):
            hc = spec.get("healthCheckNodePort") or 0
            old_hc = ((old or {}).get("spec") or {}).get("healthCheckNodePort")
            if not hc or hc != old_hc:
                spec["healthCheckNodePort"] = self._alloc_port(
                    svc, "spec.healthCheckNodePort", hc, txn, dry_run)

    # -- update ------------------------------------------------------------------------

    def allocate_update(self, new: JSON, old: JSON, dry_run: bool = False) -> Transaction:
        """
        Carry over what C{new} leaves out (cluster IPs, NodePorts), drop what
        its type no longer has, allocate what it newly needs. C{commit()} the
        transaction after the write to free what C{old} held and C{new} gave up.
        """
        txn = Transaction()
        spec, old_spec = _spec(new), old.get("spec") or {}
        self.patch_allocated_values(new, old)
        self.drop_type_dependent_fields(new, old)
        try:
            if needs_cluster_ip(spec):
                old_ips = _cluster_ips(old_spec) if needs_cluster_ip(old_spec) else []
                self._init_ip_families(new, old)
                new_ips = _cluster_ips(spec)
                if old_ips and new_ips and old_ips[0] != new_ips[0]:
                    raise _invalid(new, [v.invalid_value(
                        "spec.clusterIPs[0]", new_ips, "may not change once set")])
                self._alloc_cluster_ips(new, txn, dry_run, keep=old_ips)
            self._alloc_node_ports(new, txn, dry_run, old=old)
        except BaseException:
            txn.revert()
            raise
        _drop_ip_fields_of_external_name(spec)
        if not dry_run:
            kept_ips = set(_cluster_ips(spec)) if needs_cluster_ip(spec) else set()
            kept_ports = {p.get("nodePort") for p in _ports(spec) if p.get("nodePort")}
            if spec.get("healthCheckNodePort"):
                kept_ports.add(spec["healthCheckNodePort"])
            gone_ips = [ip for ip in _cluster_ips(old_spec) if ip not in kept_ips]
            gone_ports = [p["nodePort"] for p in _ports(old_spec)
                          if p.get("nodePort") and p["nodePort"] not in kept_ports]
            old_hc = old_spec.get("healthCheckNodePort")
            if old_hc and old_hc not in kept_ports:
                gone_ports.append(old_hc)
            txn.add_commit(lambda: self._release(gone_ips, gone_ports))
        return txn

    @staticmethod
    def patch_allocated_values(new: JSON, old: JSON) -> None:
        """An update that leaves out allocated values keeps the old ones (kube's PUT)."""
        spec, old_spec = _spec(new), old.get("spec") or {}
        if needs_cluster_ip(old_spec) and needs_cluster_ip(spec):
            if not spec.get("clusterIP") and old_spec.get("clusterIP"):
                spec["clusterIP"] = old_spec["clusterIP"]
            if not spec.get("clusterIPs") and old_spec.get("clusterIPs"):
                if spec.get("clusterIP") == old_spec.get("clusterIP"):
                    spec["clusterIPs"] = list(old_spec["clusterIPs"])
        if _has_node_port_type(old_spec) and _has_node_port_type(spec):
            used_new = {p.get("nodePort") for p in _ports(spec) if p.get("nodePort")}
            used_old = {p.get("nodePort") for p in _ports(old_spec) if p.get("nodePort")}
            used = used_new & used_old
            by_name = {p.get("name") or "": p.get("nodePort") for p in _ports(old_spec)}
            for port in _ports(spec):
                if not port.get("nodePort"):
                    value = by_name.get(port.get("name") or "")
                    if value and value not in used and value not in used_new:
                        port["nodePort"] = value
                        used_new.add(value)
        if needs_health_check_node_port(old_spec) and needs_health_check_node_port(spec):
            if not spec.get("healthCheckNodePort") and old_spec.get("healthCheckNodePort"):
                spec["healthCheckNodePort"] = old_spec["healthCheckNodePort"]

    @staticmethod
    def drop_type_dependent_fields(new: JSON, old: JSON) -> None:
        """A type change drops fields the new type has no use for, unless the client changed them."""
        spec, old_spec = _spec(new), old.get("spec") or {}

        def same(key: str) -> bool:
            return spec.get(key) == old_spec.get(key)

        if needs_cluster_ip(old_spec) and not needs_cluster_ip(spec):
            if same("clusterIP") and same("clusterIPs"):
                spec.pop("clusterIP", None)
                spec.pop("clusterIPs", None)
            if same("ipFamilies"):
                spec.pop("ipFamilies", None)
            if same("ipFamilyPolicy"):
                spec.pop("ipFamilyPolicy", None)
        if _has_node_port_type(old_spec) and not needs_node_ports(spec):
            old_ports = [p.get("nodePort") for p in _ports(old_spec)]
            new_ports = [p.get("nodePort") for p in _ports(spec)]
            if all(np is None or np in old_ports for np in new_ports):
                for port in _ports(spec):
                    port.pop("nodePort", None)
        if needs_health_check_node_port(old_spec) and not needs_health_check_node_port(spec):
            if same("healthCheckNodePort"):
                spec.pop("healthCheckNodePort", None)
        if _type(old_spec) == "LoadBalancer" and _type(spec) != "LoadBalancer":
            for key in ("allocateLoadBalancerNodePorts", "loadBalancerClass"):
                if same(key):
                    spec.pop(key, None)
        if _type(spec) == "ExternalName" and same("internalTrafficPolicy"):
            spec.pop("internalTrafficPolicy", None)
        externally = _type(spec) in ("NodePort", "LoadBalancer") or (
            _type(spec) == "ClusterIP" and spec.get("externalIPs"))
        if not externally and same("externalTrafficPolicy"):
            spec.pop("externalTrafficPolicy", None)

    # -- delete ------------------------------------------------------------------------

    def release_service(self, svc: JSON) -> None:
        """Free everything a deleted Service held."""
        spec = svc.get("spec") or {}
        ports = [p["nodePort"] for p in _ports(spec) if p.get("nodePort")]
        if spec.get("healthCheckNodePort"):
            ports.append(spec["healthCheckNodePort"])
        self._release(_cluster_ips(spec), ports)

    def _release(self, ips: Iterable[str], ports: Iterable[int]) -> None:
        for ip in ips:
            family = _family_of(ip)
            if family in self.ip_allocators:
                self.ip_allocators[family].release(ip)
        for port in ports:
            self.node_ports.release(port)

    # -- introspection -----------------------------------------------------------------

    def allocated_ips(self) -> Tuple[int, ...]:
        return tuple(a.used() for a in self.ip_allocators.values())
