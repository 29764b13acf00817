"""
The C{scale} subresource: an C{autoscaling/v1} C{Scale} computed from the
object; writes change only the object's replica count, through the store's
read-modify-write (C{store.patch}).

Built-in workloads (deployments, replicasets, statefulsets,
replicationcontrollers) keep it at C{spec.replicas} (L{WORKLOADS}); custom
resources say where in their CRD and bring their own L{ScaleMapping}
(L{kapi_twisted.apiextensions.scale}). Reading, checking and writing the
Scale is the same for both.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from twisted.internet.defer import inlineCallbacks

from kapi_twisted import apierrors
from kapi_twisted.endpoints import negotiation, options as opts, patching, render
from kapi_twisted.endpoints._http import body_response as _body, header as _header
from kapi_twisted.endpoints._http import read_body as _read_body


def _selector_string(selector: Any) -> str:
    """A label selector (map, or LabelSelector) as the text C{kubectl} shows."""
    if not isinstance(selector, dict):
        return ""
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    terms: List[str] = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        if op == "In":
            terms.append(f"{key} in ({','.join(sorted(values))})")
        elif op == "NotIn":
            terms.append(f"{key} notin ({','.join(sorted(values))})")
        elif op == "Exists":
            terms.append(key)
        elif op == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(sorted(terms))


def new_scale(obj: dict, spec_replicas: Any, status_replicas: Any,
              selector: Optional[str]) -> dict:
    """A C{Scale} for C{obj} (its identity in C{metadata}) with these values."""
    meta = obj.get("metadata") or {}
    scale_meta = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                        "creationTimestamp") if k in meta}
    scale: Dict[str, Any] = {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta,
        "spec": {"replicas": spec_replicas},
        "status": {"replicas": status_replicas},
    }
    if selector:
        scale["status"]["selector"] = selector
    return scale


def scale_of(obj: dict) -> dict:
    """The C{Scale} of a workload object."""
    spec = obj.get("spec") or {}
    replicas = spec.get("replicas")
    return new_scale(obj, 1 if replicas is None else replicas,
                     (obj.get("status") or {}).get("replicas", 0),
                     _selector_string(spec.get("selector")))


def _set_spec_replicas(obj: dict, replicas: int) -> None:
    obj.setdefault("spec", {})["replicas"] = replicas


@dataclass(frozen=True)
class ScaleMapping:
    """
    Where a kind keeps what its Scale shows.

    @ivar read: the Scale of an object.
    @ivar write: sets the replica count in (a copy of) an object.
    @ivar apply_patch_as: the patch type a server-side apply of a Scale is
        applied as (strategic merge for built-in kinds, merge for custom ones).
    """

    read: Callable[[dict], dict]
    write: Callable[[dict, int], None]
    apply_patch_as: str


WORKLOADS = ScaleMapping(scale_of, _set_spec_replicas, patching.STRATEGIC_MERGE_PATCH)


def scale_updater(resource: str, name: str, group: str, change: Callable[[dict], dict],
                  mapping: ScaleMapping = WORKLOADS) -> Callable[[dict], dict]:
    """
    C{apply_patch} for C{store.patch}: C{change(current Scale) -> new Scale};
    the object gets the new replica count. A C{resourceVersion} in the new
    Scale that differs from the object's is a 409 Conflict.
    """

    def update(current: dict) -> dict:
        new_scale = change(mapping.read(current))
        if not isinstance(new_scale, dict):
            raise apierrors.bad_request("the Scale must be an object")
        rv = (new_scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != (current.get("metadata") or {}).get("resourceVersion"):
            raise apierrors.conflict(resource, name, apierrors.OBJECT_MODIFIED, group)
        replicas = (new_scale.get("spec") or {}).get("replicas", 0)
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise apierrors.invalid("Scale", name, [apierrors.field_error(
                apierrors.FIELD_VALUE_INVALID, "spec.replicas",
                f"Invalid value: {replicas!r}: must be greater than or equal to 0")],
                group="autoscaling")
        obj = copy.deepcopy(current)
        mapping.write(obj, replicas)
        return obj

    return update


@inlineCallbacks
def serve(resource: Any, request: Any, route: Any, store: Any,
          mapping: ScaleMapping = WORKLOADS):
    """GET, PUT or PATCH <resource>/<name>/scale (C{resource}: the handler)."""
    query = opts.query_of(request)
    info = route.info
    output = resource._output(request, route.verb, query)
    ctx = resource._context(request)
    if route.verb == "get":
        kv = yield store.get(ctx, route.namespace, route.name, opts.parse_get_options(query))
        obj = render.object_of(kv)
    else:
        if route.verb == "update":
            options = resource._write_options(request, query, "UpdateOptions")
            body = negotiation.decode_body(_header(request, b"content-type"),
                                           _read_body(request), "autoscaling/v1", "Scale")
            if not isinstance(body, dict):
                raise apierrors.bad_request("the object provided is unrecognized")
            change = lambda current: body  # noqa: E731
        else:
            kind = patching.patch_type(_header(request, b"content-type"))
            if kind == patching.APPLY_PATCH:
                kind = mapping.apply_patch_as
            options = resource._write_options(request, query, "PatchOptions")
            patch = patching.decode_patch(kind, _read_body(request))
            change = patching.patch_function(kind, patch, "autoscaling", "v1", "Scale")
        result = yield store.patch(
            ctx, route.namespace, route.name,
            scale_updater(info.plural, route.name, info.group, change, mapping), options)
        obj = result.as_object()
    resource._warn(request, ctx)
    return _body(negotiation.encode(mapping.read(obj), output), output)
