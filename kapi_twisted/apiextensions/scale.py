"""
The C{scale} subresource of custom resources: an C{autoscaling/v1} C{Scale}
read from the paths the CRD names (C{specReplicasPath},
C{statusReplicasPath}, C{labelSelectorPath}); a write sets only the value at
C{specReplicasPath}, through the store's read-modify-write.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict, List

from twisted.internet.defer import inlineCallbacks, returnValue

from kapi_twisted import apierrors
from kapi_twisted.endpoints import negotiation, options as opts, patching
from kapi_twisted.endpoints._http import body_response as _body, header as _header
from kapi_twisted.endpoints._http import read_body as _read_body

__all__ = ["scale_of", "serve"]


def _path(json_path: str) -> List[str]:
    return [p for p in (json_path or "").lstrip(".").split(".") if p]


def _get(obj: Any, path: List[str]) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _set(obj: Dict[str, Any], path: List[str], value: Any) -> None:
    for part in path[:-1]:
        child = obj.get(part)
        if not isinstance(child, dict):
            child = obj[part] = {}
        obj = child
    obj[path[-1]] = value


def scale_of(obj: dict, paths: Dict[str, str]) -> dict:
    """The C{Scale} of a custom object under the CRD's C{subresources.scale}."""
    meta = obj.get("metadata") or {}
    scale_meta = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                        "creationTimestamp") if k in meta}
    spec = _get(obj, _path(paths.get("specReplicasPath", "")))
    status = _get(obj, _path(paths.get("statusReplicasPath", "")))
    scale: Dict[str, Any] = {
        "kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scale_meta,
        "spec": {"replicas": spec if isinstance(spec, int) else 0},
        "status": {"replicas": status if isinstance(status, int) else 0},
    }
    if paths.get("labelSelectorPath"):
        selector = _get(obj, _path(paths["labelSelectorPath"]))
        if isinstance(selector, str) and selector:
            scale["status"]["selector"] = selector
    return scale


def _updater(info: Any, name: str, change: Callable[[dict], dict]) -> Callable[[dict], dict]:
    paths = info.scale or {}

    def update(current: dict) -> dict:
        new_scale = change(scale_of(current, paths))
        if not isinstance(new_scale, dict):
            raise apierrors.bad_request("the Scale must be an object")
        rv = (new_scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != (current.get("metadata") or {}).get("resourceVersion"):
            raise apierrors.conflict(info.plural, name, apierrors.OBJECT_MODIFIED, info.group)
        replicas = (new_scale.get("spec") or {}).get("replicas", 0)
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise apierrors.invalid("Scale", name, [apierrors.field_error(
                apierrors.FIELD_VALUE_INVALID, "spec.replicas",
                f"Invalid value: {replicas!r}: must be greater than or equal to 0")],
                group="autoscaling")
        obj = copy.deepcopy(current)
        _set(obj, _path(paths.get("specReplicasPath", ".spec.replicas")), replicas)
        return obj

    return update


@inlineCallbacks
def serve(resource: Any, request: Any, route: Any, store: Any):
    """GET, PUT or PATCH <custom resource>/<name>/scale (C{resource}: the handler)."""
    query = opts.query_of(request)
    info = route.info
    output = resource._output(request, route.verb, query)
    ctx = resource._context(request)
    if route.verb == "get":
        kv = yield store.get(ctx, route.namespace, route.name, opts.parse_get_options(query))
        obj = kv.object
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
                kind = patching.MERGE_PATCH
            options = resource._write_options(request, query, "PatchOptions")
            patch = patching.decode_patch(kind, _read_body(request))
            change = patching.patch_function(kind, patch, "autoscaling", "v1", "Scale")
        result = yield store.patch(ctx, route.namespace, route.name,
                                   _updater(info, route.name, change), options)
        obj = result.as_object()
    resource._warn(request, ctx)
    returnValue(_body(negotiation.encode(scale_of(obj, info.scale or {}), output), output))
