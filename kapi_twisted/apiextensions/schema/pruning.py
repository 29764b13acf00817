"""
Pruning: dropping the fields a structural schema does not specify
(C{schema/pruning/algorithm.go}), and dropping C{null}s that are neither
nullable nor defaulted (C{schema/defaulting/prunenulls.go}).

The paths of the dropped fields feed C{fieldValidation}: C{Strict} turns them
into C{400 strict decoding error: unknown field "spec.foo"}, C{Warn} into
C{unknown field "spec.foo"} warnings.
"""

from __future__ import annotations

from typing import Any, List, Optional

from ._nodes import NO_DEFAULT, Node

__all__ = ["prune", "prune_nulls"]

_META_FIELDS = ("apiVersion", "kind", "metadata")

#: The fields of ObjectMeta; others are dropped from the metadata of custom
#: objects and embedded resources (kube-apiserver's C{objectmeta.Coerce}).
OBJECT_META_FIELDS = frozenset({
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
    "annotations", "ownerReferences", "finalizers", "managedFields",
})


def prune(obj: Any, node: Optional[Node], is_resource_root: bool = True) -> List[str]:
    """
    Remove, in place, every field of C{obj} that C{node} does not specify;
    return the sorted paths of the removed fields (C{spec.foo},
    C{spec.items[0].bar}). At a resource root (and in embedded resources)
    C{apiVersion}, C{kind} and C{metadata} are kept, minus the fields
    ObjectMeta does not have (C{metadata.foo}).
    """
    unknown: List[str] = []
    _prune(obj, node, "", unknown, root=is_resource_root, embedded=is_resource_root)
    unknown.sort()
    return unknown


def _join(parent: str, k: str) -> str:
    return f"{parent}.{k}" if parent else k


def _prune(x: Any, s: Optional[Node], parent: str, unknown: List[str],
           root: bool = False, embedded: bool = False) -> None:
    if s is not None:
        embedded = embedded or s.embedded
        if s.preserve_unknown:
            _skip_prune(x, s, parent, unknown, embedded)
            return
    if isinstance(x, dict):
        if s is None:
            for k in list(x):
                unknown.append(_join(parent, k))
                del x[k]
            return
        props = s.properties
        add = s.additional
        for k in list(x):
            v = x[k]
            if embedded and k in _META_FIELDS:
                if k == "metadata" and isinstance(v, dict):
                    _prune_meta(v, _join(parent, k), unknown)
                    continue
                if k != "metadata" and isinstance(v, str):
                    continue
            sub = props.get(k)
            if sub is not None:
                _prune(v, sub, _join(parent, k), unknown)
            elif add is not None:
                _prune(v, add if isinstance(add, Node) else None, _join(parent, k), unknown)
            else:
                if not (root and k in _META_FIELDS):
                    unknown.append(_join(parent, k))
                del x[k]
    elif isinstance(x, list):
        items = s.items if s is not None else None
        for i, v in enumerate(x):
            _prune(v, items, f"{parent}[{i}]", unknown)


def _skip_prune(x: Any, s: Node, parent: str, unknown: List[str], embedded: bool) -> None:
    if isinstance(x, dict):
        props = s.properties
        add = s.additional
        for k, v in x.items():
            if embedded and k in _META_FIELDS:
                if k == "metadata" and isinstance(v, dict):
                    _prune_meta(v, _join(parent, k), unknown)
                continue
            sub = props.get(k)
            if sub is not None:
                _prune(v, sub, _join(parent, k), unknown)
            elif isinstance(add, Node):
                _prune(v, add, _join(parent, k), unknown)
    elif isinstance(x, list) and s.items is not None:
        for i, v in enumerate(x):
            _skip_prune(v, s.items, f"{parent}[{i}]", unknown, s.items.embedded)


def _prune_meta(meta: dict, path: str, unknown: List[str]) -> None:
    for k in [k for k in meta if k not in OBJECT_META_FIELDS]:
        unknown.append(f"{path}.{k}")
        del meta[k]


def prune_nulls(x: Any, s: Optional[Node]) -> None:
    """Drop map entries that are C{null} where the schema is not nullable and has no default."""
    if s is None:
        return
    if isinstance(x, dict):
        props = s.properties
        add = s.additional
        for k in list(x):
            v = x[k]
            sub = props.get(k)
            if sub is None and isinstance(add, Node):
                sub = add
            if sub is None:
                continue
            if v is None:
                if not sub.nullable and sub.default is NO_DEFAULT:
                    del x[k]
            else:
                prune_nulls(v, sub)
    elif isinstance(x, list) and s.items is not None:
        for v in x:
            prune_nulls(v, s.items)
