"""
Formatting shared by the server-side table printers: human durations, the
timestamps they are computed from, label selectors and label maps as
kube-apiserver prints them, and column definitions whose descriptions come
from the OpenAPI schema (the same Go comments kube-apiserver's SwaggerDoc
descriptions come from).
"""

from __future__ import annotations

import calendar
import datetime
import functools
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
CORE = "io.k8s.api.core.v1."

Doc = Union[str, Tuple[str, str]]
"""A description: literal text, or C{(definition name, property)} looked up lazily."""


@dataclass(frozen=True)
class Column:
    """One C{TableColumnDefinition}."""

    name: str
    type: str = "string"
    doc: Doc = ""
    priority: int = 0
    format: str = ""

    def definition(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": describe(self.doc),
            "priority": self.priority,
        }


NAME = Column("Name", doc=(META + "ObjectMeta", "name"), format="name")
AGE = Column("Age", doc=(META + "ObjectMeta", "creationTimestamp"))
CONTAINERS = Column("Containers", doc="Names of each container in the template.", priority=1)
IMAGES = Column("Images", doc="Images referenced by each container in the template.", priority=1)


@functools.lru_cache(maxsize=None)
def _lookup(definition: str, prop: str) -> str:
    try:
        from kapi_twisted.apis.openapi import definitions

        schema = definitions()[definition]
        return schema.get("properties", {}).get(prop, {}).get("description", "")
    except Exception:
        return ""


def describe(doc: Doc) -> str:
    if isinstance(doc, tuple):
        return _lookup(*doc)
    return doc


# -- time -----------------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[+-]\d{2}:?\d{2})?$"
)


def parse_time(value: Any) -> Optional[float]:
    """Seconds since the epoch of an RFC 3339 timestamp (Time or MicroTime); None if unset."""
    if not isinstance(value, str) or not value:
        return None
    match = _TIMESTAMP.match(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    if year <= 1:
        return None  # Go's zero time
    seconds = float(calendar.timegm((year, month, day, hour, minute, second)))
    if match.group(7):
        seconds += float(match.group(7))
    zone = match.group(8)
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds


def rfc3339(value: Any) -> str:
    """C{Time.UTC().Format(time.RFC3339)}: whole seconds, C{Z}; Go's zero time when unset."""
    seconds = parse_time(value)
    if seconds is None:
        return "0001-01-01T00:00:00Z"
    return datetime.datetime.fromtimestamp(int(seconds // 1), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def human_duration(seconds: float) -> str:
    """
    k8s.io/apimachinery's C{duration.HumanDuration}: C{45s}, C{5m30s}, C{42m},
    C{3h2m}, C{30h}, C{2d5h}, C{300d}, C{3y12d}, C{10y}; C{0s} for a second
    into the future, C{<invalid>} beyond.
    """
    whole = int(seconds)  # truncates toward zero, as Go's int(d.Seconds())
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 60 * 2:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


class Clock:
    """What the printers ask for the time: C{now()} in seconds since the epoch."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now

    def since(self, timestamp: Any) -> str:
        """C{translateTimestampSince}: the age of C{timestamp}, C{<unknown>} if unset."""
        seconds = parse_time(timestamp)
        if seconds is None:
            return "<unknown>"
        return human_duration(self.now() - seconds)

    def between(self, start: Any, end: Any) -> str:
        a, b = parse_time(start), parse_time(end)
        if a is None or b is None:
            return "<unknown>"
        return human_duration(b - a)


# -- labels and selectors ---------------------------------------------------------


def format_labels(labels: Optional[Dict[str, str]]) -> str:
    """C{labels.FormatLabels}: C{a=1,b=2} sorted by key, C{<none>} when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def selector_string(selector: Optional[Dict[str, Any]]) -> str:
    """
    A C{LabelSelector} as C{labels.Selector.String()} writes it: requirements
    sorted by key, C{k=v}, C{k in (a,b)}, C{k notin (a,b)}, C{k}, C{!k}.
    Raises ValueError for an operator it does not know.
    """
    if not selector:
        return ""
    requirements: List[Tuple[str, str]] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        requirements.append((key, f"{key}={value}"))
    for expr in selector.get("matchExpressions") or []:
        key = expr.get("key", "")
        op = expr.get("operator", "")
        values = sorted(expr.get("values") or [])
        if op == "In":
            text = f"{key} in ({','.join(values)})"
        elif op == "NotIn":
            text = f"{key} notin ({','.join(values)})"
        elif op == "Exists":
            text = key
        elif op == "DoesNotExist":
            text = f"!{key}"
        else:
            raise ValueError(f"{op!r} is not a valid label selector operator")
        requirements.append((key, text))
    requirements.sort(key=lambda r: r[0])
    return ",".join(text for _, text in requirements)


def format_selector(selector: Optional[Dict[str, Any]]) -> str:
    """C{metav1.FormatLabelSelector}: the selector, C{<none>} if empty, C{<error>} if invalid."""
    try:
        text = selector_string(selector)
    except ValueError:
        return "<error>"
    return text or "<none>"


# -- small accessors ----------------------------------------------------------------


def dig(obj: Any, *path: Union[str, int], default: Any = None) -> Any:
    """C{obj[path...]}, or C{default} where a step is missing or of the wrong kind."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(obj, list) or not -len(obj) <= step < len(obj):
                return default
            obj = obj[step]
        else:
            if not isinstance(obj, dict) or step not in obj:
                return default
            obj = obj[step]
    return default if obj is None else obj


def as_int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def int_or_string(value: Any) -> str:
    """C{intstr.IntOrString.String()}."""
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


def container_cells(containers: Iterable[Dict[str, Any]]) -> Tuple[str, str]:
    """C{layoutContainerCells}: names and images, each comma-joined."""
    containers = [c for c in containers or [] if isinstance(c, dict)]
    return (
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
    )


def list_with_more(items: List[str], total: int, limit: int, empty: str) -> str:
    """The first C{limit} items, then C{ + N more...}; C{empty} when there are none."""
    text = ",".join(items[:limit])
    if total > limit:
        return f"{text} + {total - limit} more..."
    return text or empty


def bool_ptr(value: Any) -> str:
    """C{printBoolPtr}: C{True}/C{False}, C{<unset>} when absent."""
    if value is None:
        return "<unset>"
    return "True" if value else "False"


def first_non_empty(*values: Any) -> str:
    for value in values:
        if value:
            return value
    return ""


# -- what every printer uses ------------------------------------------------------------

Cells = Callable[[Dict[str, Any], Clock], List[Any]]
"""A printer: the object and the clock in, the row's cells out."""

Conditions = Callable[[Dict[str, Any]], Optional[List[Dict[str, str]]]]
"""The row's C{conditions} for an object, or None."""

Printer = Tuple[List[Column], Cells, Optional[Conditions]]


def name_of(obj: Dict[str, Any]) -> str:
    return dig(obj, "metadata", "name", default="")


def age_of(obj: Dict[str, Any], clock: Clock) -> str:
    return clock.since(dig(obj, "metadata", "creationTimestamp"))


def deleting(obj: Dict[str, Any]) -> bool:
    return bool(dig(obj, "metadata", "deletionTimestamp"))
