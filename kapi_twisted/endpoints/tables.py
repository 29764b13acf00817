"""
C{Table} answers (C{kubectl get}): the columns come from the per-type table
definitions of L{kapi_twisted.registry.tables} when that module knows the
resource, else kube-apiserver's generic server-side table (C{Name} and
C{Created At}).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from kapi_twisted.endpoints.negotiation import Output

_NAME_COLUMN = {
    "name": "Name", "type": "string", "format": "name", "priority": 0,
    "description": "Name must be unique within a namespace. Is required when creating "
    "resources, although some resources may allow a client to request the generation of an "
    "appropriate name automatically. Name is primarily intended for creation idempotence and "
    "configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
}
_CREATED_COLUMN = {
    "name": "Created At", "type": "date", "format": "", "priority": 0,
    "description": "CreationTimestamp is a timestamp representing the server time when this "
    "object was created. It is not guaranteed to be set in happens-before order across "
    "separate operations. Clients may not set this value. It is represented in RFC3339 form "
    "and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
}


def _typed(info: Any):
    """(column definitions, row function) for C{info} from the registry, or None."""
    if info is None:
        return None
    try:
        from kapi_twisted.registry import tables as registry_tables
    except ImportError:
        return None
    finder = getattr(registry_tables, "table_for", None)
    if finder is None:
        return None
    try:
        return finder(info.group, info.plural)
    except Exception:
        return None


def _generic_cells(obj: dict) -> List[Any]:
    meta = obj.get("metadata") or {}
    return [meta.get("name", ""), meta.get("creationTimestamp")]


def table(
    info: Any,
    objects: List[dict],
    output: Output,
    resource_version: str,
    continue_token: str = "",
    remaining: Optional[int] = None,
    with_columns: bool = True,
    single: bool = False,
) -> Dict[str, Any]:
    """A C{meta.k8s.io} C{Table} of C{objects} (C{includeObject} from C{output})."""
    typed = _typed(info)
    if typed is not None and hasattr(typed, "columns") and hasattr(typed, "cells"):
        columns = list(typed.columns)
        cells_of = typed.cells
    else:
        columns = [_NAME_COLUMN, _CREATED_COLUMN]
        cells_of = _generic_cells
    rows = []
    for obj in objects:
        row: Dict[str, Any] = {"cells": cells_of(obj)}
        if output.include_object == "Metadata":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": output.meta_api_version,
                "metadata": obj.get("metadata") or {},
            }
        elif output.include_object == "Object":
            row["object"] = obj
        rows.append(row)
    meta: Dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    if remaining is not None:
        meta["remainingItemCount"] = remaining
    return {
        "kind": "Table",
        "apiVersion": output.meta_api_version,
        "metadata": meta,
        "columnDefinitions": columns if with_columns else None,
        "rows": rows,
    }
