"""
Defaults of discovery.k8s.io/v1 EndpointSlices: port name and protocol,
and each endpoint's conditions (a Go struct, always written).
"""

from __future__ import annotations

from typing import Callable, Dict

from ._util import JSON, child, default, items

__all__ = ["DEFAULTERS"]


def endpoint_slice(obj: JSON) -> None:
    for port in items(obj, "ports"):
        default(port, "name", "")
        default(port, "protocol", "TCP")
    for endpoint in items(obj, "endpoints"):
        child(endpoint, "conditions", create=True)


DEFAULTERS: Dict[str, Callable[[JSON], None]] = {"EndpointSlice": endpoint_slice}
