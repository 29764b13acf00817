"""
The Kubernetes CEL library functions operators commonly use, for cel-python.

kube-apiserver adds several libraries to CEL (k8s.io/apiserver/pkg/cel/library
and cel-go's extensions). Supported here:

 - lists: C{isSorted}, C{sum}, C{min}, C{max}, C{indexOf}, C{lastIndexOf};
 - strings (cel-go ext): C{charAt}, C{indexOf}, C{lastIndexOf}, C{lowerAscii},
   C{upperAscii}, C{replace}, C{split}, C{substring}, C{trim}, C{join},
   C{reverse};
 - regex: C{find}, C{findAll};
 - optionals for C{optionalOldSelf}: C{hasValue}, C{value}, C{orValue}.

Not supported: C{url}/C{isURL}, C{quantity}, C{ip}/C{cidr}, C{authz},
C{format}, C{sets.*} and the C{optional.*} constructors.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict

from celpy import celtypes
from celpy.evaluation import CELEvalError

__all__ = ["FUNCTIONS", "Optional_"]


class Optional_:
    """C{oldSelf} under C{optionalOldSelf: true}: a value that may be absent."""

    __slots__ = ("v",)

    def __init__(self, v: Any = None) -> None:
        self.v = v


def _err(msg: str) -> CELEvalError:
    return CELEvalError(msg, ValueError, None)


def _has_value(o: Any) -> Any:
    if isinstance(o, Optional_):
        return celtypes.BoolType(o.v is not None)
    return celtypes.BoolType(True)


def _value(o: Any) -> Any:
    if isinstance(o, Optional_):
        if o.v is None:
            return _err("optional.none() dereference")
        return o.v
    return o


def _or_value(o: Any, default: Any) -> Any:
    if isinstance(o, Optional_):
        return default if o.v is None else o.v
    return o


def _is_sorted(lst: Any) -> Any:
    items = list(lst)
    return celtypes.BoolType(all(items[i] <= items[i + 1] for i in range(len(items) - 1)))


def _sum(lst: Any) -> Any:
    items = list(lst)
    if not items:
        return celtypes.IntType(0)
    total = items[0]
    for x in items[1:]:
        total = total + x
    return total


def _min(lst: Any) -> Any:
    items = list(lst)
    if not items:
        return _err("min called on empty list")
    return min(items)


def _max(lst: Any) -> Any:
    items = list(lst)
    if not items:
        return _err("max called on empty list")
    return max(items)


def _index_of(target: Any, x: Any, start: Any = None) -> Any:
    if isinstance(target, str):
        s = str(target)
        if start is None:
            return celtypes.IntType(s.find(str(x)))
        if int(start) < 0 or int(start) > len(s):
            return _err(f"index out of range: {int(start)}")
        return celtypes.IntType(s.find(str(x), int(start)))
    for i, v in enumerate(target):
        if v == x:
            return celtypes.IntType(i)
    return celtypes.IntType(-1)


def _last_index_of(target: Any, x: Any, last: Any = None) -> Any:
    if isinstance(target, str):
        s = str(target)
        if last is None:
            return celtypes.IntType(s.rfind(str(x)))
        return celtypes.IntType(s.rfind(str(x), 0, int(last) + len(str(x))))
    items = list(target)
    for i in range(len(items) - 1, -1, -1):
        if items[i] == x:
            return celtypes.IntType(i)
    return celtypes.IntType(-1)


def _char_at(s: Any, i: Any) -> Any:
    s, i = str(s), int(i)
    if i < 0 or i > len(s):
        return _err(f"index out of range: {i}")
    return celtypes.StringType(s[i:i + 1])


def _lower_ascii(s: Any) -> Any:
    return celtypes.StringType("".join(c.lower() if c.isascii() else c for c in str(s)))


def _upper_ascii(s: Any) -> Any:
    return celtypes.StringType("".join(c.upper() if c.isascii() else c for c in str(s)))


def _replace(s: Any, old: Any, new: Any, n: Any = None) -> Any:
    count = -1 if n is None else int(n)
    return celtypes.StringType(str(s).replace(str(old), str(new), count))


def _split(s: Any, sep: Any, n: Any = None) -> Any:
    s, sep = str(s), str(sep)
    if n is not None and int(n) == 0:
        return celtypes.ListType([])
    maxsplit = -1 if n is None or int(n) < 0 else int(n) - 1
    parts = list(s) if sep == "" else s.split(sep, maxsplit)
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


def _substring(s: Any, start: Any, end: Any = None) -> Any:
    s = str(s)
    a = int(start)
    b = len(s) if end is None else int(end)
    if a < 0 or a > len(s) or b < a or b > len(s):
        return _err(f"index out of range: {b if b > len(s) else a}")
    return celtypes.StringType(s[a:b])


def _trim(s: Any) -> Any:
    return celtypes.StringType(str(s).strip())


def _join(lst: Any, sep: Any = "") -> Any:
    return celtypes.StringType(str(sep).join(str(x) for x in lst))


def _reverse(x: Any) -> Any:
    if isinstance(x, str):
        return celtypes.StringType(str(x)[::-1])
    return celtypes.ListType(list(x)[::-1])


def _find(s: Any, pattern: Any) -> Any:
    m = re.search(str(pattern), str(s))
    return celtypes.StringType(m.group(0) if m else "")


def _find_all(s: Any, pattern: Any, n: Any = None) -> Any:
    found = [m.group(0) for m in re.finditer(str(pattern), str(s))]
    if n is not None and int(n) >= 0:
        found = found[: int(n)]
    return celtypes.ListType([celtypes.StringType(f) for f in found])


FUNCTIONS: Dict[str, Callable[..., Any]] = {
    "hasValue": _has_value,
    "value": _value,
    "orValue": _or_value,
    "isSorted": _is_sorted,
    "sum": _sum,
    "min": _min,
    "max": _max,
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "charAt": _char_at,
    "lowerAscii": _lower_ascii,
    "upperAscii": _upper_ascii,
    "replace": _replace,
    "split": _split,
    "substring": _substring,
    "trim": _trim,
    "join": _join,
    "reverse": _reverse,
    "find": _find,
    "findAll": _find_all,
}
