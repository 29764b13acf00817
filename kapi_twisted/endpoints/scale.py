"""
The C{scale} subresource (deployments, replicasets, statefulsets,
replicationcontrollers): an C{autoscaling/v1} C{Scale} computed from the
object; writes change only the object's C{spec.replicas}, through the
store's read-modify-write (C{store.patch}).
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict, List

from twisted.internet.defer import inlineCallbacks, returnValue

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


def scale_of(obj: dict) -> dict:
    """The C{Scale} of a workload object."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    scale_meta = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                        "creationTimestamp") if k in meta}
    replicas = spec.get("replicas")
    scale: Dict[str, Any] = {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta,
        "spec": {"replicas": 1 if replicas is None else replicas},
        "status": {"replicas": status.get("replicas", 0)},
    }
    selector = _selector_string(spec.get("selector"))
    if selector:
        scale["status"]["selector"] = selector
    return scale


def scale_updater(resource: str, name: str, group: str,
                  change: Callable[[dict], dict]) -> Callable[[dict], dict]:
    """
    C{apply_patch} for C{store.patch}: C{change(current Scale) -> new Scale};
    the object gets the new C{spec.replicas}. A C{resourceVersion} in the new
    Scale that differs from the object's is a 409 Conflict.
    """

    def update(current: dict) -> dict:
        new_scale = change(scale_of(current))
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
        obj.setdefault("spec", {})["replicas"] = replicas
        return obj

    return update


@inlineCallbacks
def serve(resource: Any, request: Any, route: Any, store: Any):
    """GET, PUT or PATCH <workload>/<name>/scale (C{resource}: the handler)."""
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
                kind = patching.STRATEGIC_MERGE_PATCH
            options = resource._write_options(request, query, "PatchOptions")
            patch = patching.decode_patch(kind, _read_body(request))
            change = patching.patch_function(kind, patch, "autoscaling", "v1", "Scale")
        result = yield store.patch(
            ctx, route.namespace, route.name,
            scale_updater(info.plural, route.name, info.group, change), options)
        obj = result.as_object()
    resource._warn(request, ctx)
    returnValue(_body(negotiation.encode(scale_of(obj), output), output))
