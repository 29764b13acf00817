"""
The whole validation of a custom object, in kube-apiserver's order
(C{customresource/validator.go} then C{strategy.go}): type meta (which stops
everything else), object metadata (names are DNS-1123 subdomains), the schema,
the C{scale} subresource's replica and selector fields, then embedded
resources, list types and CEL rules (L{CompiledSchema.validate}).

The generic store may do the metadata part itself; then call
L{CompiledSchema.validate} and L{validate_scale} only.
"""

from __future__ import annotations

from typing import Any, List, Optional

from kapi_twisted.registry import validation as meta

from . import _fielderr as fe
from .compiled import CompiledSchema

__all__ = ["validate_custom_resource", "validate_type_meta", "validate_scale"]

_MAX_INT32 = 2**31 - 1


def validate_type_meta(obj: dict, kind: str, api_version: str) -> List[dict]:
    """C{kind} and C{apiVersion} must be the resource's."""
    errs: List[dict] = []
    if obj.get("kind") != kind:
        errs.append(fe.invalid("kind", obj.get("kind") or "", f"must be {kind}"))
    if obj.get("apiVersion") != api_version:
        errs.append(fe.invalid("apiVersion", obj.get("apiVersion") or "", f"must be {api_version}"))
    return errs


def _nested(obj: Any, json_path: str) -> tuple:
    """(value, found) at a C{.a.b} path, as C{unstructured.Nested*} walks it."""
    cur = obj
    for part in json_path.lstrip(".").split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None, False
        cur = cur[part]
    return cur, True


def _go_type(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int64"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, list):
        return "[]interface {}"
    return "<nil>"


def _go_plain(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return fe.go_float(v)
    if v is None:
        return "<nil>"
    return str(v)


def _replicas(obj: dict, path: str) -> List[dict]:
    v, found = _nested(obj, path)
    if not found:
        return []
    if not isinstance(v, int) or isinstance(v, bool):
        return [fe.invalid(path, 0, f"{path} accessor error: {_go_plain(v)} is of the type {_go_type(v)}, expected int64")]
    if v < 0:
        return [fe.invalid(path, v, "should be a non-negative integer")]
    if v > _MAX_INT32:
        return [fe.invalid(path, v, f"should be less than or equal to {_MAX_INT32}")]
    return []


def validate_scale(obj: dict, scale: Optional[dict]) -> List[dict]:
    """The scale subresource's replica counts and label selector in C{obj}."""
    if not scale:
        return []
    errs: List[dict] = []
    if scale.get("specReplicasPath"):
        errs.extend(_replicas(obj, scale["specReplicasPath"]))
    if scale.get("statusReplicasPath"):
        errs.extend(_replicas(obj, scale["statusReplicasPath"]))
    sel = scale.get("labelSelectorPath")
    if sel:
        v, found = _nested(obj, sel)
        if found and not isinstance(v, str):
            errs.append(fe.invalid(sel, "", f"{sel} accessor error: {_go_plain(v)} is of the type {_go_type(v)}, expected string"))
    return errs


def validate_custom_resource(
    obj: dict,
    schema: CompiledSchema,
    *,
    kind: str,
    api_version: str,
    namespaced: bool,
    old: Optional[dict] = None,
    scale: Optional[dict] = None,
) -> List[dict]:
    """All the causes of a 422 for custom object C{obj} (C{old} on update)."""
    errs = validate_type_meta(obj, kind, api_version)
    if errs:
        return errs
    md = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    if old is None:
        errs.extend(e.cause() for e in meta.validate_object_meta(md, namespaced, meta.name_is_dns_subdomain))
    else:
        omd = old.get("metadata") if isinstance(old.get("metadata"), dict) else {}
        errs.extend(e.cause() for e in meta.validate_object_meta_update(md, omd))
        errs.extend(e.cause() for e in meta.validate_labels(md.get("labels"), "metadata.labels"))
        errs.extend(e.cause() for e in meta.validate_annotations(md.get("annotations"), "metadata.annotations"))
        errs.extend(e.cause() for e in meta.validate_owner_references(md.get("ownerReferences"), "metadata.ownerReferences"))
        errs.extend(e.cause() for e in meta.validate_finalizers(md.get("finalizers"), "metadata.finalizers"))
    schema_errs = schema.validate(obj, old)
    errs.extend(schema_errs)
    errs.extend(validate_scale(obj, scale))
    return errs
