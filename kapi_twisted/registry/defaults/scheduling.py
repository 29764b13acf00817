"""Defaults of scheduling.k8s.io/v1: a PriorityClass preempts lower priorities."""

from __future__ import annotations

from typing import Callable, Dict

from ._util import JSON, default

__all__ = ["DEFAULTERS"]


def priority_class(obj: JSON) -> None:
    default(obj, "preemptionPolicy", "PreemptLowerPriority")


DEFAULTERS: Dict[str, Callable[[JSON], None]] = {"PriorityClass": priority_class}
