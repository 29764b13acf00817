"""
Tables of custom resources: C{Name} plus the CRD version's
C{additionalPrinterColumns} (by default C{Age}, a C{date} column on
C{.metadata.creationTimestamp}), filled by evaluating each column's JSONPath
on the object, as apiextensions-apiserver's table convertor does.

Only the JSONPath kube-apiserver expects here is understood: fields
(C{.spec.replicas}, C{['a.b']}), indices and C{[*]}, and filters comparing
a field with a literal (C{[?(@.type=="Ready")]}); the first match is
printed. A path that finds nothing gives an empty (null) cell.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from kapi_twisted.registry._table_format import NAME, Clock, Column, name_of, parse_time

DEFAULT_COLUMNS = [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
"""What apiextensions defaults C{additionalPrinterColumns} to."""

Step = Tuple[str, Any]

_TOKEN = re.compile(
    r"""\.\s*(?P<field>[A-Za-z0-9_\-]+|\*)"""
    r"""|\[\s*(?P<quoted>'[^']*'|"[^"]*")\s*\]"""
    r"""|\[\s*(?P<index>-?\d+|\*)\s*\]"""
    r"""|\[\s*\?\(\s*@\.(?P<fpath>[A-Za-z0-9_.\-]+)\s*(?P<op>==|!=)\s*(?P<lit>'[^']*'|"[^"]*"|-?\d+(?:\.\d+)?|true|false)\s*\)\s*\]"""
)


class JSONPathError(ValueError):
    """A column's JSONPath this server does not understand."""


def parse_path(path: str) -> List[Step]:
    """The steps of a printer column's JSONPath (with or without C{{}})."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    steps: List[Step] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise JSONPathError(f"unrecognized column definition {path!r}")
        if match.group("field") is not None:
            field = match.group("field")
            steps.append(("all", None) if field == "*" else ("field", field))
        elif match.group("quoted") is not None:
            steps.append(("field", match.group("quoted")[1:-1]))
        elif match.group("index") is not None:
            index = match.group("index")
            steps.append(("all", None) if index == "*" else ("index", int(index)))
        else:
            literal = match.group("lit")
            if literal[0] in "'\"":
                value: Any = literal[1:-1]
            elif literal in ("true", "false"):
                value = literal == "true"
            else:
                value = float(literal) if "." in literal else int(literal)
            steps.append(("filter", (match.group("fpath").split("."), match.group("op"), value)))
        position = match.end()
    if not steps:
        raise JSONPathError(f"unrecognized column definition {path!r}")
    return steps


def find(obj: Any, steps: Sequence[Step]) -> List[Any]:
    """Every value the steps reach in C{obj}, in document order; missing keys reach nothing."""
    current = [obj]
    for kind, arg in steps:
        found: List[Any] = []
        for value in current:
            if kind == "field":
                if isinstance(value, dict) and arg in value:
                    found.append(value[arg])
            elif kind == "index":
                if isinstance(value, list) and -len(value) <= arg < len(value):
                    found.append(value[arg])
            elif kind == "all":
                if isinstance(value, list):
                    found.extend(value)
                elif isinstance(value, dict):
                    found.extend(value.values())
            else:
                path, op, literal = arg
                for item in value if isinstance(value, list) else []:
                    got: Any = item
                    for key in path:
                        got = got.get(key) if isinstance(got, dict) else None
                    if (got == literal) == (op == "=="):
                        found.append(item)
        current = found
    return current


def _text(value: Any) -> str:
    """How Kubernetes' JSONPath prints one result."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None:
        return "<nil>"
    return str(value)


def cell(kind: str, value: Any, clock: Clock) -> Any:
    """C{cellForJSONValue}: the value as the column's type, or None when it is not one."""
    if value is None:
        return None
    if kind == "string":
        return _text(value)
    if kind == "integer" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "date" and isinstance(value, str):
        if not value:
            return "<unknown>"
        if parse_time(value) is None:
            return "<invalid>"
        return clock.since(value)
    return None


def crd_columns(printer_columns: Optional[Sequence[Dict[str, Any]]]) -> Tuple[List[Column], Callable]:
    """
    The columns and the cell function for a CRD version's
    C{additionalPrinterColumns} (None or empty: the default C{Age}).

    @raise JSONPathError: for a path this server cannot evaluate.
    """
    definitions = list(printer_columns or DEFAULT_COLUMNS)
    columns = [NAME]
    paths = []
    for definition in definitions:
        path = definition.get("jsonPath", "")
        paths.append(parse_path(path))
        columns.append(Column(
            definition.get("name", ""),
            definition.get("type", "string"),
            definition.get("description") or f"Custom resource definition column (in JSONPath format): {path}",
            int(definition.get("priority") or 0),
            definition.get("format", ""),
        ))
    kinds = [definition.get("type", "string") for definition in definitions]

    def cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
        row: List[Any] = [name_of(obj)]
        for kind, steps in zip(kinds, paths):
            found = find(obj, steps)
            row.append(cell(kind, found[0], clock) if found else None)
        return row

    return columns, cells
