"""
JSON paths into a schema (C{.spec.x}, C{.labels['a.b']}) as kube-apiserver
resolves them for a rule's C{fieldPath} and for C{selectableFields}
(C{cel.ValidFieldPath}): declared properties are children, keys of
C{additionalProperties} maps are keys.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from . import _fielderr as fe
from ._nodes import Node

__all__ = ["resolve_field_path", "find_field"]


def _field_path_tokens(path: str) -> Optional[List[Tuple[str, str]]]:
    """C{.a['b.c'].d} as [(".", "a"), ("[", "b.c"), (".", "d")], or None if malformed."""
    out: List[Tuple[str, str]] = []
    i = 0
    while i < len(path):
        c = path[i]
        if c == ".":
            j = i + 1
            while j < len(path) and path[j] not in ".[]":
                j += 1
            if j == i + 1:
                return None
            out.append((".", path[i + 1:j]))
            i = j
        elif c == "[":
            if i + 1 >= len(path) or path[i + 1] != "'":
                return None
            j = i + 2
            while j < len(path) and not (path[j] == "'" and path[j - 1] != "\\"):
                j += 1
            if j + 1 >= len(path) or path[j + 1] != "]":
                return None
            out.append(("[", path[i + 2:j].replace("\\'", "'").replace("\\\\", "\\")))
            i = j + 2
        else:
            return None
    return out


def resolve_field_path(path: str, node: Optional[Node], allow_brackets: bool = True) -> Optional[str]:
    """
    A rule's C{fieldPath} (C{.spec.x}, C{.labels['a.b']}) as the field path it
    names below its node (C{spec.x}, C{labels[a.b]}): property names are
    children, C{additionalProperties} keys are keys (kube's C{ValidFieldPath}).
    L{None} if it does not name a field of the schema.
    """
    found = find_field(path, node, allow_brackets)
    return None if found is None else found[0]


def find_field(path: str, node: Optional[Node], allow_brackets: bool = True) -> Optional[Tuple[str, Node]]:
    """The field path a JSON path names below C{node}, and the node it names."""
    tokens = _field_path_tokens(path)
    if not tokens or node is None:
        return None
    out = ""
    cur = node
    for kind, name in tokens:
        if kind == "[" and not allow_brackets:
            return None
        if cur.properties:
            if name not in cur.properties:
                return None
            out = fe.child(out, name)
            cur = cur.properties[name]
        elif isinstance(cur.additional, Node):
            out = fe.key(out, name)
            cur = cur.additional
        else:
            return None
    return out, cur
