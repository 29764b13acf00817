"""
Decoded JSON as CEL values, typed by the schema as kube-apiserver types them
(C{UnstructuredToVal}): doubles for C{type: number}, timestamps for C{date} and
C{date-time}, durations, bytes; declared property names escaped as kube
escapes them (C{x-y} is C{x__dash__y}, C{namespace} is C{__namespace__}).
"""

from __future__ import annotations

import base64
import re
from typing import Any, Dict, Optional

from celpy import celtypes

from ._nodes import Node

__all__ = ["escape", "to_cel"]


_RESERVED = frozenset({
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
    "function", "if", "import", "let", "loop", "package", "namespace", "return", "var",
    "void", "while",
})
_ESCAPE = re.compile(r"(__|[-./]|[^a-zA-Z0-9\-./_])")
_ESCAPES = {"__": "__underscores__", ".": "__dot__", "-": "__dash__", "/": "__slash__"}


def escape(ident: str) -> Optional[str]:
    """kube's CEL escaping of a property name, or L{None} if it cannot be a CEL field."""
    if not ident or ident[0].isdigit():
        return None
    if ident in _RESERVED:
        return f"__{ident}__"
    bad = False

    def repl(m: "re.Match[str]") -> str:
        nonlocal bad
        s = m.group(0)
        if s in _ESCAPES:
            return _ESCAPES[s]
        bad = True
        return ""

    out = _ESCAPE.sub(repl, ident)
    return None if bad else out


def to_cel(v: Any, node: Optional[Node]) -> Any:
    """A decoded JSON value as a CEL value, typed by its schema node."""
    if v is None:
        return None
    if isinstance(v, bool):
        return celtypes.BoolType(v)
    if isinstance(v, int):
        if node is not None and node.type == "number":
            return celtypes.DoubleType(v)
        return celtypes.IntType(v)
    if isinstance(v, float):
        if node is not None and node.type == "integer" and v == int(v):
            return celtypes.IntType(int(v))
        return celtypes.DoubleType(v)
    if isinstance(v, str):
        if node is not None and node.type == "string" and node.format:
            fmt = node.format.replace("-", "")
            try:
                if fmt == "datetime":
                    return celtypes.TimestampType(v)
                if fmt == "date":
                    return celtypes.TimestampType(v + "T00:00:00Z")
                if fmt == "duration":
                    return celtypes.DurationType(v)
                if fmt == "byte":
                    return celtypes.BytesType(base64.b64decode(v, validate=True))
            except Exception:
                pass
        return celtypes.StringType(v)
    if isinstance(v, list):
        items = node.items if node is not None else None
        return celtypes.ListType([to_cel(x, items) for x in v])
    if isinstance(v, dict):
        out: Dict[Any, Any] = {}
        props = node.properties if node is not None else {}
        add = node.additional if node is not None else None
        for k, x in v.items():
            sub = props.get(k)
            if sub is not None:
                name = escape(k)
                if name is None:
                    continue
                out[celtypes.StringType(name)] = to_cel(x, sub)
            else:
                out[celtypes.StringType(k)] = to_cel(x, add if isinstance(add, Node) else None)
        return celtypes.MapType(out)
    return v
