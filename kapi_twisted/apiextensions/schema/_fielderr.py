"""
Field errors as kube-apiserver writes them (k8s.io/apimachinery
C{util/validation/field}), built directly as C{StatusCause} dicts, plus Go's
C{%v} / C{%#v} renderings of decoded JSON values that appear in the messages.

A cause is C{{"reason": <cause type>, "message": <ErrorBody>, "field": <path>}},
the shape of L{kapi_twisted.apierrors.field_error}.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any, Iterable, List

from kapi_twisted.apierrors import (
    FIELD_VALUE_DUPLICATE,
    FIELD_VALUE_FORBIDDEN,
    FIELD_VALUE_INVALID,
    FIELD_VALUE_NOT_SUPPORTED,
    FIELD_VALUE_REQUIRED,
    FIELD_VALUE_TOO_LONG,
    FIELD_VALUE_TOO_MANY,
    FIELD_VALUE_TYPE_INVALID,
)

INTERNAL = "InternalError"

_TEXT = {
    FIELD_VALUE_REQUIRED: "Required value",
    FIELD_VALUE_DUPLICATE: "Duplicate value",
    FIELD_VALUE_INVALID: "Invalid value",
    FIELD_VALUE_TYPE_INVALID: "Invalid value",
    FIELD_VALUE_NOT_SUPPORTED: "Unsupported value",
    FIELD_VALUE_FORBIDDEN: "Forbidden",
    FIELD_VALUE_TOO_LONG: "Too long",
    FIELD_VALUE_TOO_MANY: "Too many",
    INTERNAL: "Internal error",
}

#: Marks a value that the message leaves out (Go's C{omitValue}).
OMIT = object()

_NO_VALUE_TYPES = (FIELD_VALUE_REQUIRED, FIELD_VALUE_FORBIDDEN, FIELD_VALUE_TOO_LONG, INTERNAL)


def error(type_: str, field: str, value: Any = OMIT, detail: str = "") -> dict:
    """One cause, its message rendered as Go's C{field.Error.ErrorBody}."""
    text = _TEXT[type_]
    if type_ not in _NO_VALUE_TYPES and value is not OMIT:
        text += ": " + go_value(value)
    if detail:
        text += ": " + detail
    return {"reason": type_, "message": text, "field": field}


def invalid(field: str, value: Any, detail: str) -> dict:
    return error(FIELD_VALUE_INVALID, field, value, detail)


def type_invalid(field: str, value: Any, detail: str) -> dict:
    return error(FIELD_VALUE_TYPE_INVALID, field, value, detail)


def required(field: str, detail: str = "") -> dict:
    return error(FIELD_VALUE_REQUIRED, field, OMIT, detail)


def forbidden(field: str, detail: str) -> dict:
    return error(FIELD_VALUE_FORBIDDEN, field, OMIT, detail)


def duplicate(field: str, value: Any) -> dict:
    return error(FIELD_VALUE_DUPLICATE, field, value)


def internal(field: str, detail: str) -> dict:
    return error(INTERNAL, field, OMIT, detail)


def not_supported(field: str, value: Any, supported: Iterable[str]) -> dict:
    supported = list(supported)
    detail = ""
    if supported:
        detail = "supported values: " + ", ".join(go_quote(s) for s in supported)
    return error(FIELD_VALUE_NOT_SUPPORTED, field, value, detail)


def too_long(field: str, max_length: int) -> dict:
    if max_length >= 0:
        unit = "byte" if max_length == 1 else "bytes"
        detail = f"may not be more than {max_length} {unit}"
    else:
        detail = "value is too long"
    return error(FIELD_VALUE_TOO_LONG, field, OMIT, detail)


def too_many(field: str, actual: int, maximum: int) -> dict:
    if maximum >= 0:
        detail = f"must have at most {maximum} {'item' if maximum == 1 else 'items'}"
    else:
        detail = "has too many items"
    return error(FIELD_VALUE_TOO_MANY, field, actual if actual >= 0 else OMIT, detail)


# --- paths (field.Path.String()) ---------------------------------------------------------

#: How Go prints the nil C{*field.Path} of an error about the object itself.
NIL_PATH = "<nil>"


def at(path: str) -> str:
    """The C{field} of a cause at C{path} ("" is the object itself: C{<nil>})."""
    return path or NIL_PATH

def child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def key(path: str, k: str) -> str:
    return f"{path}[{k}]"


def index(path: str, i: int) -> str:
    return f"{path}[{i}]"


# --- Go value printing ---------------------------------------------------------------------

def go_quote(s: str) -> str:
    """Go's C{strconv.Quote} for the strings we meet."""
    return json.dumps(s, ensure_ascii=False)


def go_float(f: float) -> str:
    """Go's C{%v} of a float64: shortest digits, C{%e} form outside [1e-4, 1e6)."""
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if math.isnan(f):
        return "NaN"
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    sign, digits, exponent = Decimal(repr(f)).as_tuple()
    ds = "".join(str(d) for d in digits).rstrip("0") or "0"
    exp = len(digits) + exponent - 1  # decimal exponent of the first digit
    neg = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{neg}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp >= len(ds) - 1:
        return neg + ds + "0" * (exp - len(ds) + 1)
    if exp >= 0:
        return neg + ds[: exp + 1] + "." + ds[exp + 1:]
    return neg + "0." + "0" * (-exp - 1) + ds


def go_value(v: Any) -> str:
    """How C{ErrorBody} prints a bad value: C{%v} for scalars, C{%q} for strings,
    C{%#v} for maps and slices, C{"null"} for nil."""
    if v is None:
        return '"null"'
    if hasattr(v, "go_repr"):
        return v.go_repr()
    return go_sharp_v(v)  # the same as %v and %q for scalars


def go_sharp_v(v: Any) -> str:
    """Go's C{%#v} of a decoded JSON value (C{map[string]interface {}{...}})."""
    if v is None:
        return "interface {}(nil)"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, str):
        return go_quote(v)
    if isinstance(v, dict):
        inner = ", ".join(f"{go_quote(k)}:{go_sharp_v(v[k])}" for k in sorted(v))
        return "map[string]interface {}{" + inner + "}"
    if isinstance(v, (list, tuple)):
        return "[]interface {}{" + ", ".join(go_sharp_v(x) for x in v) + "}"
    return go_quote(str(v))


def go_string_slice(values: List[str]) -> str:
    """C{%#v} of a C{[]string}."""
    return "[]string{" + ", ".join(go_quote(s) for s in values) + "}"


class GoStrings:
    """A C{[]string} bad value, printed as Go's C{%#v} prints it."""

    def __init__(self, values: Iterable[Any]) -> None:
        self.values = [str(v) for v in values]

    def go_repr(self) -> str:
        return go_string_slice(self.values)


def go_json(v: Any) -> str:
    """C{json.Marshal} output (compact), as used for non-string enum values."""
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)
