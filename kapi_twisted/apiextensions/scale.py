"""
The C{scale} subresource of custom resources: an C{autoscaling/v1} C{Scale}
read from the paths the CRD names (C{specReplicasPath},
C{statusReplicasPath}, C{labelSelectorPath}); a write sets only the value at
C{specReplicasPath}. Serving it is L{kapi_twisted.endpoints.scale}'s; this
module only says where a CRD keeps the values.
"""

from __future__ import annotations

from typing import Any, Dict, List

from kapi_twisted.endpoints import patching
from kapi_twisted.endpoints import scale as _scale

__all__ = ["mapping", "scale_of", "serve"]


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
    spec = _get(obj, _path(paths.get("specReplicasPath", "")))
    status = _get(obj, _path(paths.get("statusReplicasPath", "")))
    selector = None
    if paths.get("labelSelectorPath"):
        selector = _get(obj, _path(paths["labelSelectorPath"]))
    return _scale.new_scale(obj, spec if isinstance(spec, int) else 0,
                            status if isinstance(status, int) else 0,
                            selector if isinstance(selector, str) else None)


def mapping(paths: Dict[str, str]) -> _scale.ScaleMapping:
    """Where the CRD's C{subresources.scale} keeps a custom object's Scale."""
    spec_path = _path(paths.get("specReplicasPath", ".spec.replicas"))
    return _scale.ScaleMapping(
        read=lambda obj: scale_of(obj, paths),
        write=lambda obj, replicas: _set(obj, spec_path, replicas),
        apply_patch_as=patching.MERGE_PATCH)


def serve(resource: Any, request: Any, route: Any, store: Any):
    """GET, PUT or PATCH <custom resource>/<name>/scale (C{resource}: the handler)."""
    return _scale.serve(resource, request, route, store, mapping(route.info.scale or {}))
