"""
Table printers for services and networking: services, endpoints,
endpoint slices, ingresses, ingress classes, network policies.

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
    as_int,
    dig,
    format_labels,
    format_selector,
    list_with_more,
    name_of,
)

# -- services and networking -----------------------------------------------------------

SERVICE_COLUMNS = [
    NAME,
    Column("Type", doc=(CORE + "ServiceSpec", "type")),
    Column("Cluster-IP", doc=(CORE + "ServiceSpec", "clusterIP")),
    Column("External-IP", doc=(CORE + "ServiceSpec", "externalIPs")),
    Column("Port(s)", doc=(CORE + "ServiceSpec", "ports")),
    AGE,
    Column("Selector", doc=(CORE + "ServiceSpec", "selector"), priority=1),
]


def _load_balancer(ingress: Sequence[Dict[str, Any]]) -> str:
    found = set()
    for entry in ingress or []:
        if entry.get("ip"):
            found.add(entry["ip"])
        elif entry.get("hostname"):
            found.add(entry["hostname"])
    return ",".join(sorted(found))


def _external_ip(svc: Dict[str, Any]) -> str:
    spec = dig(svc, "spec", default={})
    kind = spec.get("type") or "ClusterIP"
    external = spec.get("externalIPs") or []
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        lb = _load_balancer(dig(svc, "status", "loadBalancer", "ingress", default=[]))
        if external:
            return ",".join(([lb] if lb else []) + list(external))
        return lb or "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def service_cells(svc: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(svc, "spec", default={})
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    ports = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol") or "TCP"
        if as_int(port.get("nodePort")) > 0:
            ports.append(f"{as_int(port.get('port'))}:{as_int(port.get('nodePort'))}/{protocol}")
        else:
            ports.append(f"{as_int(port.get('port'))}/{protocol}")
    return [
        name_of(svc),
        spec.get("type") or "ClusterIP",
        cluster_ips[0] if cluster_ips else "<none>",
        _external_ip(svc),
        ",".join(ports) or "<none>",
        age_of(svc, clock),
        format_labels(spec.get("selector")),
    ]


ENDPOINTS_COLUMNS = [NAME, Column("Endpoints", doc=(CORE + "Endpoints", "subsets")), AGE]


def endpoints_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    subsets = obj.get("subsets") or []
    if not subsets:
        return [name_of(obj), "<none>", age_of(obj, clock)]
    shown: List[str] = []
    total = 0
    for subset in subsets:
        addresses = [a.get("ip", "") for a in subset.get("addresses") or []]
        ports = subset.get("ports") or []
        if not ports:
            total += len(addresses)
            shown += addresses[: max(0, 3 - len(shown))]
            continue
        for port in ports:
            total += len(addresses)
            for ip in addresses:
                if len(shown) < 3:
                    host = f"[{ip}]" if ":" in ip else ip
                    shown.append(f"{host}:{as_int(port.get('port'))}")
    return [name_of(obj), list_with_more(shown, total, 3, ""), age_of(obj, clock)]


INGRESS_COLUMNS = [
    NAME,
    Column("Class", doc="The name of the IngressClass resource that should be used for additional configuration"),
    Column("Hosts", doc="Hosts that incoming requests are matched against before the ingress rule"),
    Column("Address", doc="Address is a list containing ingress points for the load-balancer"),
    Column("Ports", doc="Ports of TLS configurations that open"),
    AGE,
]


def ingress_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    spec = dig(obj, "spec", default={})
    rules = spec.get("rules") or []
    hosts: List[str] = []
    more = False
    for rule in rules:
        if len(hosts) == 3:
            more = True
        if not more and rule.get("host"):
            hosts.append(rule["host"])
    if not hosts:
        hosts_text = "*"
    elif more:
        hosts_text = f"{','.join(hosts)} + {len(rules) - 3} more..."
    else:
        hosts_text = ",".join(hosts)
    return [
        name_of(obj),
        spec.get("ingressClassName") or "<none>",
        hosts_text,
        _load_balancer(dig(obj, "status", "loadBalancer", "ingress", default=[])),
        "80, 443" if spec.get("tls") else "80",
        age_of(obj, clock),
    ]


INGRESSCLASS_COLUMNS = [
    NAME,
    Column("Controller", doc="Controller that is responsible for handling this class"),
    Column("Parameters", doc="A reference to a resource with additional parameters"),
    AGE,
]


def ingressclass_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    params = dig(obj, "spec", "parameters")
    text = "<none>"
    if params:
        text = params.get("kind", "")
        if params.get("apiGroup"):
            text += "." + params["apiGroup"]
        text += "/" + params.get("name", "")
    return [name_of(obj), dig(obj, "spec", "controller", default=""), text, age_of(obj, clock)]


NETWORKPOLICY_COLUMNS = [
    NAME,
    Column("Pod-Selector", doc=("io.k8s.api.networking.v1.NetworkPolicySpec", "podSelector")),
    AGE,
]


def networkpolicy_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    return [name_of(obj), format_selector(dig(obj, "spec", "podSelector", default={})), age_of(obj, clock)]


ENDPOINTSLICE_COLUMNS = [
    NAME,
    Column("AddressType", doc=("io.k8s.api.discovery.v1.EndpointSlice", "addressType")),
    Column("Ports", doc=("io.k8s.api.discovery.v1.EndpointSlice", "ports")),
    Column("Endpoints", doc=("io.k8s.api.discovery.v1.EndpointSlice", "endpoints")),
    AGE,
]


def endpointslice_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    ports = []
    for port in obj.get("ports") or []:
        if port.get("port") is not None:
            ports.append(str(as_int(port.get("port"))))
        elif port.get("name") is not None:
            ports.append(port["name"])
        else:
            ports.append("*")
    addresses = [a for e in obj.get("endpoints") or [] for a in e.get("addresses") or []]
    return [
        name_of(obj),
        obj.get("addressType", ""),
        list_with_more(ports, len(ports), 3, "<unset>"),
        list_with_more(addresses, len(addresses), 3, "<unset>"),
        age_of(obj, clock),
    ]


SERVICECIDR_COLUMNS = [
    NAME,
    Column("CIDRs", doc=("io.k8s.api.networking.v1.ServiceCIDRSpec", "cidrs")),
    AGE,
]


def servicecidr_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    return [name_of(obj), ",".join(dig(obj, "spec", "cidrs", default=[])), age_of(obj, clock)]


IPADDRESS_COLUMNS = [
    NAME,
    Column("ParentRef", doc=("io.k8s.api.networking.v1.IPAddressSpec", "parentRef")),
]


def ipaddress_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    ref = dig(obj, "spec", "parentRef")
    parent = "<none>"
    if ref:
        resource = ref.get("resource", "")
        parent = (f"{resource}.{ref['group']}" if ref.get("group") else resource).lower()
        if ref.get("namespace"):
            parent += "/" + ref["namespace"]
        parent += "/" + ref.get("name", "")
    return [name_of(obj), parent]


PRINTERS: Dict[Tuple[str, str], Printer] = {
    ("networking.k8s.io", "servicecidrs"): (SERVICECIDR_COLUMNS, servicecidr_cells, None),
    ("networking.k8s.io", "ipaddresses"): (IPADDRESS_COLUMNS, ipaddress_cells, None),
    ("", "services"): (SERVICE_COLUMNS, service_cells, None),
    ("", "endpoints"): (ENDPOINTS_COLUMNS, endpoints_cells, None),
    ("networking.k8s.io", "ingresses"): (INGRESS_COLUMNS, ingress_cells, None),
    ("networking.k8s.io", "ingressclasses"): (INGRESSCLASS_COLUMNS, ingressclass_cells, None),
    ("networking.k8s.io", "networkpolicies"): (NETWORKPOLICY_COLUMNS, networkpolicy_cells, None),
    ("discovery.k8s.io", "endpointslices"): (ENDPOINTSLICE_COLUMNS, endpointslice_cells, None),
}
