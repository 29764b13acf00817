"""
The compiled form of an C{openAPIV3Schema}: one L{Node} per schema object,
with every keyword read once into a slot so that validating, pruning and
defaulting walk plain attributes instead of dict look-ups.

A node keeps the whole schema (including C{allOf}/C{anyOf}/C{oneOf}/C{not},
which kube-openapi validates as full schemas); the structural part that
pruning and defaulting follow is C{properties}, C{items} and
C{additionalProperties} of the node itself.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Union

try:  # RE2 has Go's regexp syntax; the stdlib is the fallback.
    import re2 as _re2

    _RE2_OPTIONS = _re2.Options()
    _RE2_OPTIONS.log_errors = False
except ImportError:  # pragma: no cover - re2 comes with cel-python
    _re2 = None

__all__ = ["Node", "compile_node", "compile_pattern", "PatternError", "NO_DEFAULT"]

#: C{default} is absent (a C{null} default counts as absent, as in kube).
NO_DEFAULT = object()

#: String formats kube-apiserver validates in CRD schemas, by their normalised
#: name (go-openapi drops dashes: C{date-time} is C{datetime}).
SUPPORTED_STRING_FORMATS = frozenset(
    {
        "bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac",
        "uuid", "uuid3", "uuid4", "uuid5", "isbn", "isbn10", "isbn13", "creditcard",
        "ssn", "hexcolor", "rgbcolor", "byte", "password", "date", "duration",
        "datetime", "quantity",
    }
)


class PatternError(ValueError):
    """A C{pattern} Go's regexp package would not compile."""


def compile_pattern(pattern: str) -> Any:
    """
    Compile C{pattern} with Go's syntax: it must be valid RE2; matching uses
    Python's C{re} (ASCII classes, as Go's) when it accepts the pattern.
    """
    if _re2 is not None:
        try:
            rx2 = _re2.compile(pattern, options=_RE2_OPTIONS)
        except Exception as e:
            raise PatternError(_re2_message(e)) from None
        try:
            return re.compile(pattern, re.ASCII)
        except re.error:
            return rx2
    try:
        return re.compile(pattern, re.ASCII)
    except re.error as e:
        raise PatternError(str(e)) from None


def _re2_message(e: Exception) -> str:
    arg = e.args[0] if e.args else str(e)
    if isinstance(arg, bytes):
        arg = arg.decode("utf-8", "replace")
    return f"error parsing regexp: {arg}"


class Node:
    """One schema object of a structural schema."""

    __slots__ = (
        "raw", "type", "format", "nullable", "properties", "required",
        "additional", "items", "enum", "pattern", "pattern_src",
        "maximum", "minimum", "exclusive_maximum", "exclusive_minimum",
        "multiple_of", "max_length", "min_length", "max_items", "min_items",
        "unique_items", "max_properties", "min_properties",
        "all_of", "any_of", "one_of", "not_", "default",
        "preserve_unknown", "embedded", "int_or_string",
        "list_type", "list_map_keys", "map_type", "rules", "types",
        "has_value_checks", "has_rules_below", "cel", "is_root",
    )

    raw: dict
    properties: Dict[str, "Node"]
    additional: Union[None, bool, "Node"]
    items: Optional["Node"]

    def __repr__(self) -> str:
        return f"<Node type={self.type!r} props={list(self.properties)}>"


def _int(v: Any) -> Optional[int]:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return int(v)
    return None


def _num(v: Any) -> Optional[float]:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return v
    return None


def compile_node(raw: Any, is_root: bool = False) -> Node:
    """Build the L{Node} tree of a schema dict (the dict is not copied);
    C{is_root} marks a resource's root schema (its CEL C{self} has TypeMeta and
    ObjectMeta)."""
    if not isinstance(raw, dict):
        raw = {}
    n = Node()
    n.raw = raw
    n.is_root = is_root
    t = raw.get("type")
    n.type = t if isinstance(t, str) else ""
    n.int_or_string = raw.get("x-kubernetes-int-or-string") is True
    n.preserve_unknown = raw.get("x-kubernetes-preserve-unknown-fields") is True
    n.embedded = raw.get("x-kubernetes-embedded-resource") is True
    # The JSON types the type validator accepts.
    if n.int_or_string:
        n.types = ("integer", "string")
    elif n.type:
        n.types = (n.type,)
    else:
        n.types = ()
    fmt = raw.get("format")
    fmt = fmt if isinstance(fmt, str) else ""
    # kube strips the formats it does not support before validating.
    if fmt:
        if n.type in ("", "string"):
            if fmt.replace("-", "") not in SUPPORTED_STRING_FORMATS:
                fmt = ""
        elif n.type == "integer":
            fmt = fmt if fmt in ("int32", "int64") else ""
        elif n.type == "number":
            fmt = fmt if fmt in ("float", "double") else ""
        else:
            fmt = ""
        if n.int_or_string:
            fmt = ""
    n.format = fmt
    n.nullable = raw.get("nullable") is True
    props = raw.get("properties")
    n.properties = {k: compile_node(v) for k, v in props.items()} if isinstance(props, dict) else {}
    req = raw.get("required")
    n.required = [r for r in req if isinstance(r, str)] if isinstance(req, list) else []
    ap = raw.get("additionalProperties")
    if isinstance(ap, bool):
        n.additional = ap
    elif isinstance(ap, dict):
        n.additional = compile_node(ap)
    else:
        n.additional = None
    items = raw.get("items")
    n.items = compile_node(items) if isinstance(items, dict) else None
    enum = raw.get("enum")
    n.enum = enum if isinstance(enum, list) and enum else None
    pattern = raw.get("pattern")
    n.pattern_src = pattern if isinstance(pattern, str) and pattern else ""
    n.pattern = None
    if n.pattern_src:
        try:
            n.pattern = compile_pattern(n.pattern_src)
        except PatternError as e:
            n.pattern = e
    n.maximum = _num(raw.get("maximum"))
    n.minimum = _num(raw.get("minimum"))
    n.exclusive_maximum = raw.get("exclusiveMaximum") is True
    n.exclusive_minimum = raw.get("exclusiveMinimum") is True
    n.multiple_of = _num(raw.get("multipleOf"))
    n.max_length = _int(raw.get("maxLength"))
    n.min_length = _int(raw.get("minLength"))
    n.max_items = _int(raw.get("maxItems"))
    n.min_items = _int(raw.get("minItems"))
    n.unique_items = raw.get("uniqueItems") is True
    n.max_properties = _int(raw.get("maxProperties"))
    n.min_properties = _int(raw.get("minProperties"))
    n.all_of = [compile_node(s) for s in raw.get("allOf") or () if isinstance(s, dict)]
    n.any_of = [compile_node(s) for s in raw.get("anyOf") or () if isinstance(s, dict)]
    n.one_of = [compile_node(s) for s in raw.get("oneOf") or () if isinstance(s, dict)]
    nt = raw.get("not")
    n.not_ = compile_node(nt) if isinstance(nt, dict) else None
    n.default = raw["default"] if raw.get("default") is not None else NO_DEFAULT
    lt = raw.get("x-kubernetes-list-type")
    n.list_type = lt if isinstance(lt, str) else None
    keys = raw.get("x-kubernetes-list-map-keys")
    n.list_map_keys = [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []
    mt = raw.get("x-kubernetes-map-type")
    n.map_type = mt if isinstance(mt, str) else None
    rules = raw.get("x-kubernetes-validations")
    n.rules = [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []
    n.cel = None
    n.has_value_checks = bool(
        n.enum is not None or n.pattern_src or n.maximum is not None or n.minimum is not None
        or n.multiple_of is not None or n.max_length is not None or n.min_length is not None
        or n.max_items is not None or n.min_items is not None or n.unique_items
        or n.max_properties is not None or n.min_properties is not None
        or n.all_of or n.any_of or n.one_of or n.not_ is not None or n.format
    )
    below = [c for c in n.properties.values()]
    if isinstance(n.additional, Node):
        below.append(n.additional)
    if n.items is not None:
        below.append(n.items)
    n.has_rules_below = bool(n.rules) or any(c.has_rules_below for c in below)
    return n


_ABSENT = object()


def _map_key(item: dict, keys: List[str]) -> tuple:
    return tuple((type(item.get(k)).__name__, repr(item.get(k, _ABSENT))) for k in keys)


def correlate_items(node: Node, data: list, old: Any, missing: Any) -> list:
    """
    For a list-map (C{x-kubernetes-list-type: map}), the old item each new
    item corresponds to by its map keys (C{missing} where none does); an
    empty list where items do not correlate (other list types, no old list).
    Ratcheting validation and CEL transition rules compare with these.
    """
    if node.list_type != "map" or not isinstance(old, list) or not node.list_map_keys:
        return []
    keys = node.list_map_keys
    by_key = {}
    for o in old:
        if isinstance(o, dict):
            by_key[_map_key(o, keys)] = o
    return [by_key.get(_map_key(v, keys), missing) if isinstance(v, dict) else missing
            for v in data]
