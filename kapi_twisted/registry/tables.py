"""
Server-side tables: what C{kubectl get} prints.

kubectl asks for C{application/json;as=Table;v=v1;g=meta.k8s.io} and prints
the columns the server sends, so the columns (names, types, priorities) and
cells must be kube-apiserver's own: C{NAME READY STATUS RESTARTS AGE} for
pods, C{-o wide} adding the C{priority: 1} columns, and so on. Types with no
printer of their own (roles, clusterroles, CRDs, limitranges...) get the
generic server's table: C{Name} and C{Created At}.

    convertor = table_for("apps", "deployments")
    table = build_table(convertor, [deployment], "Metadata", {"resourceVersion": "812"})

Ages are worked out against C{now}, which tests replace.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from kapi_twisted import apierrors
from kapi_twisted.registry import (
    _table_cluster,
    _table_network,
    _table_platform,
    _table_storage,
    _table_workloads,
)
from kapi_twisted.registry._table_format import (
    META,
    NAME,
    Cells,
    Clock,
    Column,
    Conditions,
    Printer,
    dig,
    human_duration,
    rfc3339,
)

__all__ = [
    "INCLUDE_METADATA",
    "INCLUDE_NONE",
    "INCLUDE_OBJECT",
    "TableConvertor",
    "build_table",
    "custom_resource_table",
    "default_table",
    "human_duration",
    "partial_object_metadata",
    "table_for",
]

INCLUDE_NONE = "None"
INCLUDE_METADATA = "Metadata"
INCLUDE_OBJECT = "Object"

PRINTERS: Dict[Tuple[str, str], Printer] = {
    **_table_workloads.PRINTERS,
    **_table_network.PRINTERS,
    **_table_cluster.PRINTERS,
    **_table_storage.PRINTERS,
    **_table_platform.PRINTERS,
}
"""Every type with a printer of its own, by C{(group, resource)}."""

_CREATED_AT = Column("Created At", "date", (META + "ObjectMeta", "creationTimestamp"))


class TableConvertor:
    """
    The columns of one resource and how to fill them.

    @ivar null_when_empty: the generic table writes C{"rows": null} for an
        empty list (its row slice is never made); the printers write C{[]}.
    """

    def __init__(
        self,
        columns: Sequence[Column],
        cells: Cells,
        conditions: Optional[Conditions] = None,
        now: Optional[Callable[[], float]] = None,
        null_when_empty: bool = False,
        order: Optional[Callable[[List[Dict[str, Any]]], List[Dict[str, Any]]]] = None,
    ) -> None:
        self.columns = list(columns)
        self._cells = cells
        self._conditions = conditions
        self._order = order
        self.clock = Clock(now or time.time)
        self.null_when_empty = null_when_empty

    def column_definitions(self) -> List[Dict[str, Any]]:
        """C{TableColumnDefinition}s: name, type, format, description, priority."""
        return [column.definition() for column in self.columns]

    def row(self, obj: Dict[str, Any]) -> List[Any]:
        """The cells of C{obj}, one per column (wide columns included)."""
        return self._cells(obj, self.clock)

    def order(self, objects: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """The objects in the order the rows are printed (FlowSchemas sort by precedence)."""
        return self._order(objects) if self._order is not None else objects

    def conditions(self, obj: Dict[str, Any]) -> Optional[List[Dict[str, str]]]:
        """C{rows[].conditions} for C{obj} (a finished pod is C{Completed}), or None."""
        return self._conditions(obj) if self._conditions is not None else None


def _default_cells(obj: Dict[str, Any], clock: Clock) -> List[Any]:
    return [dig(obj, "metadata", "name", default=""), rfc3339(dig(obj, "metadata", "creationTimestamp"))]


def default_table(now: Optional[Callable[[], float]] = None) -> TableConvertor:
    """The generic server's table: C{Name} and C{Created At} (RFC 3339)."""
    return TableConvertor([NAME, _CREATED_AT], _default_cells, now=now, null_when_empty=True)


def table_for(group: str, resource: str, now: Optional[Callable[[], float]] = None) -> TableConvertor:
    """
    The convertor kube-apiserver uses for C{resource} in C{group} (C{""} for
    core), or the generic one.

    @param now: seconds since the epoch, for ages; the wall clock by default.
    """
    printer = PRINTERS.get((group, resource))
    if printer is None:
        return default_table(now)
    columns, cells, conditions = printer
    order = _table_platform.ORDERS.get((group, resource))
    return TableConvertor(columns, cells, conditions, now=now, order=order)


def custom_resource_table(
    printer_columns: Optional[Sequence[Dict[str, Any]]] = None,
    now: Optional[Callable[[], float]] = None,
) -> TableConvertor:
    """
    The table of a custom resource: C{Name} and the CRD version's
    C{additionalPrinterColumns} (the default C{Age} when there are none).

    @raise ValueError: for a column JSONPath this server cannot evaluate (a
        CRD with it should be refused, as kube-apiserver refuses it).
    """
    from kapi_twisted.registry._table_crd import crd_columns

    columns, cells = crd_columns(printer_columns)
    return TableConvertor(columns, cells, now=now)


def partial_object_metadata(obj: Dict[str, Any], api_version: str = "meta.k8s.io/v1") -> Dict[str, Any]:
    """C{meta.AsPartialObjectMetadata}: the object's whole metadata, nothing else."""
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": api_version,
        "metadata": obj.get("metadata") or {},
    }


_LIST_META_FIELDS = ("selfLink", "resourceVersion", "continue", "remainingItemCount")


def build_table(
    convertor: TableConvertor,
    objects: List[Dict[str, Any]],
    include_object: str = INCLUDE_METADATA,
    list_meta: Optional[Dict[str, Any]] = None,
    api_version: str = "meta.k8s.io/v1",
    no_headers: bool = False,
) -> Dict[str, Any]:
    """
    A C{Table} of C{objects} as kube-apiserver answers a GET or LIST with a
    Table Accept.

    @param include_object: the C{includeObject} parameter: C{Metadata} (the
        default, also for C{""}) embeds a C{PartialObjectMetadata}, C{Object}
        the object itself, C{None} nothing (C{"object": null}); anything else
        is a 400.
    @param list_meta: C{resourceVersion}, C{continue}, C{remainingItemCount}
        of the list (or of the single object); empty values are left out.
    @param api_version: C{meta.k8s.io/v1} or C{meta.k8s.io/v1beta1}, as
        negotiated; the embedded C{PartialObjectMetadata} carries the same.
    @param no_headers: leave C{columnDefinitions} null (C{TableOptions.noHeaders},
        and watch events after the first).
    @raise APIError: 400 for an unknown C{include_object}.
    """
    if include_object not in (INCLUDE_NONE, INCLUDE_METADATA, INCLUDE_OBJECT, ""):
        raise apierrors.bad_request(f'unrecognized includeObject value: "{include_object}"')
    rows: Optional[List[Dict[str, Any]]] = []
    for obj in convertor.order(list(objects)):
        row: Dict[str, Any] = {"cells": convertor.row(obj)}
        conditions = convertor.conditions(obj)
        if conditions:
            row["conditions"] = conditions
        if include_object == INCLUDE_OBJECT:
            row["object"] = obj
        elif include_object == INCLUDE_NONE:
            row["object"] = None
        else:
            row["object"] = partial_object_metadata(obj, api_version)
        rows.append(row)
    if not rows and convertor.null_when_empty:
        rows = None
    metadata = {
        key: (list_meta or {})[key]
        for key in _LIST_META_FIELDS
        if (list_meta or {}).get(key) not in (None, "")
    }
    return {
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": metadata,
        "columnDefinitions": None if no_headers else convertor.column_definitions(),
        "rows": rows,
    }
