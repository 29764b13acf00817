"""
Answer bodies: objects, lists, C{Table}s and C{PartialObjectMetadata} in the
negotiated representation. Stored objects are written as their stored bytes
(C{KeyValue.data}) wherever the representation allows, and a LIST body is
assembled from its items' bytes without decoding them.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from kapi_twisted.apis.registry import ResourceInfo
from kapi_twisted.endpoints import negotiation
from kapi_twisted.endpoints.negotiation import JSON, OBJECT, PARTIAL, PARTIAL_LIST, TABLE, Output
from kapi_twisted.registry._encoding import compact_json


def _dumps(obj: Any) -> bytes:
    return compact_json(obj).encode("utf-8")


def object_of(item: Any) -> dict:
    """The decoded object of a KeyValue (shared, read-only) or a plain dict."""
    if isinstance(item, dict):
        return item
    return item.object


def bytes_of(item: Any) -> bytes:
    """The compact JSON of a KeyValue (its stored bytes) or a plain dict."""
    if isinstance(item, dict):
        return _dumps(item)
    return item.data


def partial_metadata(obj: dict, output: Output) -> dict:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": output.meta_api_version,
        "metadata": obj.get("metadata") or {},
    }


def render_object(item: Any, output: Output, info: Optional[ResourceInfo] = None) -> bytes:
    """One object (KeyValue or dict) as the answer body."""
    if output.transform == OBJECT:
        if output.media == JSON and not output.pretty:
            return bytes_of(item)
        return negotiation.encode(object_of(item), output)
    return negotiation.encode(transform_object(item, output, info), output)


def transform_object(item: Any, output: Output, info: Optional[ResourceInfo],
                     with_columns: bool = True) -> dict:
    """The object as a C{Table} of one row or as C{PartialObjectMetadata}."""
    obj = object_of(item)
    if output.transform == TABLE:
        from kapi_twisted.endpoints import tables

        return tables.table(info, [obj], output, obj.get("metadata", {}).get("resourceVersion", ""),
                            with_columns=with_columns, single=True)
    if output.transform in (PARTIAL, PARTIAL_LIST):
        return partial_metadata(obj, output)
    return obj


def _list_metadata(page: Any) -> Dict[str, Any]:
    meta: Dict[str, Any] = {"resourceVersion": page.resource_version}
    if page.continue_token:
        meta["continue"] = page.continue_token
    if page.remaining_item_count is not None:
        meta["remainingItemCount"] = page.remaining_item_count
    return meta


def render_list(page: Any, output: Output, info: ResourceInfo, list_kind: str = "",
                api_version: str = "") -> bytes:
    """
    A LIST answer (C{ListPage}) as C{<Kind>List}, C{Table} or
    C{PartialObjectMetadataList}.
    """
    list_kind = list_kind or info.list_kind or info.kind + "List"
    api_version = api_version or info.group_version
    meta = _list_metadata(page)
    if output.transform == TABLE:
        from kapi_twisted.endpoints import tables

        table = tables.table(info, [object_of(i) for i in page.items], output,
                             page.resource_version, continue_token=page.continue_token,
                             remaining=page.remaining_item_count)
        return negotiation.encode(table, output)
    if output.transform in (PARTIAL, PARTIAL_LIST):
        body = {
            "kind": "PartialObjectMetadataList",
            "apiVersion": output.meta_api_version,
            "metadata": meta,
            "items": [partial_metadata(object_of(i), output) for i in page.items],
        }
        return negotiation.encode(body, output)
    if output.media == JSON and not output.pretty:
        head = b'{"kind":%s,"apiVersion":%s,"metadata":%s,"items":[' % (
            _dumps(list_kind), _dumps(api_version), _dumps(meta))
        return head + b",".join(bytes_of(i) for i in page.items) + b"]}"
    body = {
        "kind": list_kind,
        "apiVersion": api_version,
        "metadata": meta,
        "items": [object_of(i) for i in page.items],
    }
    return negotiation.encode(body, output)


def deleted_status(info: ResourceInfo, obj: dict) -> dict:
    """The C{Status} Success a DELETE answers for most types once the object is gone."""
    meta = obj.get("metadata") or {}
    details = {"name": meta.get("name", ""), "group": info.group, "kind": info.plural}
    if meta.get("uid"):
        details["uid"] = meta["uid"]
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }
