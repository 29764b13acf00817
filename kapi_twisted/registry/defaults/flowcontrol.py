"""
Defaults of flowcontrol.apiserver.k8s.io/v1: FlowSchema precedence and
priority levels' shares, lending and queuing shape.
"""

from __future__ import annotations

from typing import Callable, Dict

from ._util import JSON, child, default, default_int, spec_of

__all__ = ["DEFAULTERS"]


def flow_schema(obj: JSON) -> None:
    default_int(spec_of(obj), "matchingPrecedence", 1000)


def priority_level(obj: JSON) -> None:
    spec = spec_of(obj)
    exempt = child(spec, "exempt")
    if exempt is not None:
        default(exempt, "nominalConcurrencyShares", 0)
        default(exempt, "lendablePercent", 0)
    limited = child(spec, "limited")
    if limited is not None:
        default(limited, "nominalConcurrencyShares", 30)
        default(limited, "lendablePercent", 0)
        response = child(limited, "limitResponse")
        queuing = child(response, "queuing") if response is not None else None
        if queuing is not None:
            default_int(queuing, "handSize", 8)
            default_int(queuing, "queues", 64)
            default_int(queuing, "queueLengthLimit", 50)


DEFAULTERS: Dict[str, Callable[[JSON], None]] = {
    "FlowSchema": flow_schema,
    "PriorityLevelConfiguration": priority_level,
}
