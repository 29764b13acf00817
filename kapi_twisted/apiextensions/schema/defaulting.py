"""
Defaulting (C{schema/defaulting/algorithm.go}): C{default} values applied
where a field is absent, or C{null} in a field that is not nullable, then
recursively inside (so defaults nested in a default apply too). kube-apiserver
runs it on create, on update and whenever an object is read from storage.

Defaults are required to be pruned and valid when the CRD is written
(see L{kapi_twisted.apiextensions.validation}), so they are applied as is.
"""

from __future__ import annotations

import copy
from typing import Any, Optional

from ._nodes import NO_DEFAULT, Node

__all__ = ["apply_defaults"]


def _non_nullable_null(x: Any, s: Optional[Node]) -> bool:
    return x is None and s is not None and not s.nullable and s.default is not NO_DEFAULT


def apply_defaults(x: Any, s: Optional[Node]) -> Any:
    """Default C{x} in place against C{s}; returns C{x} for convenience."""
    if s is None:
        return x
    if isinstance(x, dict):
        props = s.properties
        for k, prop in props.items():
            d = prop.default
            if d is NO_DEFAULT:
                continue
            if k not in x or (x[k] is None and not prop.nullable):
                x[k] = copy.deepcopy(d)
        add = s.additional
        for k, v in x.items():
            prop = props.get(k)
            if prop is not None:
                if isinstance(v, (dict, list)):
                    apply_defaults(v, prop)
            elif isinstance(add, Node):
                if _non_nullable_null(v, add):
                    v = x[k] = copy.deepcopy(add.default)
                if isinstance(v, (dict, list)):
                    apply_defaults(v, add)
    elif isinstance(x, list):
        items = s.items
        if items is None:
            return x
        for i, v in enumerate(x):
            if _non_nullable_null(v, items):
                v = x[i] = copy.deepcopy(items.default)
            if isinstance(v, (dict, list)):
                apply_defaults(v, items)
    return x
