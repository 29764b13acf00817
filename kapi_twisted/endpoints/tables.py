"""
C{Table} answers (C{kubectl get}): the negotiated C{Output} applied to the
per-type table convertors of L{kapi_twisted.registry.tables} (kube-apiserver's
columns, or the generic C{Name}/C{Created At} table for types without a
printer).
"""

from __future__ import annotations

import functools
from typing import Any, Dict, List, Optional

from kapi_twisted.endpoints.negotiation import Output
from kapi_twisted.registry import tables as registry_tables


@functools.lru_cache(maxsize=None)
def _convertor(group: str, plural: str) -> registry_tables.TableConvertor:
    return registry_tables.table_for(group, plural)


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
    if info is None:
        convertor = registry_tables.default_table()
    else:
        # Custom resources carry their own (additionalPrinterColumns).
        convertor = getattr(info, "table_convertor", None) or _convertor(info.group, info.plural)
    list_meta: Dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        list_meta["continue"] = continue_token
    if remaining is not None:
        list_meta["remainingItemCount"] = remaining
    return registry_tables.build_table(
        convertor, objects, output.include_object, list_meta,
        api_version=output.meta_api_version, no_headers=not with_columns)
