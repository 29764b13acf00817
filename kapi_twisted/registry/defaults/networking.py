"""
Defaults of networking.k8s.io/v1: NetworkPolicy policyTypes and port
protocols (and its podSelector, a Go struct that is always written);
IngressClass parameter scope. Ingress has none.
"""

from __future__ import annotations

from typing import Callable, Dict

from ._util import JSON, child, default, items, spec_of

__all__ = ["DEFAULTERS"]


def network_policy(obj: JSON) -> None:
    spec = spec_of(obj)
    child(spec, "podSelector", create=True)
    for direction in ("ingress", "egress"):
        for rule in items(spec, direction):
            for port in items(rule, "ports"):
                default(port, "protocol", "TCP")
    if not spec.get("policyTypes"):
        types = ["Ingress"]
        if spec.get("egress"):
            types.append("Egress")
        spec["policyTypes"] = types


def ingress_class(obj: JSON) -> None:
    parameters = child(spec_of(obj), "parameters")
    if parameters is not None:
        default(parameters, "scope", "Cluster")


DEFAULTERS: Dict[str, Callable[[JSON], None]] = {
    "NetworkPolicy": network_policy,
    "IngressClass": ingress_class,
}
