"""
Small helpers shared by the per-group defaulters.

Go's defaulters test "unset" two ways: a pointer field is unset when nil (in
JSON: missing or null), a plain string when empty. L{unset} and L{blank}
mirror them; L{child} fetches a nested object, making it when asked (a Go
struct, never nil).
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, Optional

JSON = Dict[str, Any]


def child(obj: JSON, key: str, create: bool = False) -> Optional[JSON]:
    """C{obj[key]} when it is an object; a new empty one if C{create}."""
    value = obj.get(key)
    if isinstance(value, dict):
        return value
    if create:
        value = obj[key] = {}
        return value
    return None


def items(obj: Optional[JSON], key: str) -> Iterator[JSON]:
    """The objects of list C{obj[key]} (non-objects skipped)."""
    if obj is None:
        return
    value = obj.get(key)
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                yield item


def unset(obj: JSON, key: str) -> bool:
    """A pointer field that is nil."""
    return obj.get(key) is None


def blank(obj: JSON, key: str) -> bool:
    """A string field that is empty."""
    value = obj.get(key)
    return value is None or value == ""


def default(obj: JSON, key: str, value: Any) -> None:
    """Set a pointer field when nil."""
    if obj.get(key) is None:
        obj[key] = value


def default_str(obj: JSON, key: str, value: str) -> None:
    """Set a string field when empty."""
    current = obj.get(key)
    if current is None or current == "":
        obj[key] = value


def default_int(obj: JSON, key: str, value: int) -> None:
    """Set a plain int32 when zero (or missing)."""
    current = obj.get(key)
    if current is None or current == 0:
        obj[key] = value


def spec_of(obj: JSON) -> JSON:
    """C{obj.spec}, made when missing (spec is a Go struct)."""
    return child(obj, "spec", create=True)  # type: ignore[return-value]
