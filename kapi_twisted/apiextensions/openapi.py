"""
OpenAPI documents of custom resources, as kube-apiserver's CRD OpenAPI
builder publishes them, so C{kubectl explain}, C{apply} and C{create -f} work
on custom resources.

Each served version becomes C{components.schemas["<reversed group>.<version>.<Kind>"]}
(its C{openAPIV3Schema} with C{apiVersion}, C{kind} and a C{metadata}
reference to ObjectMeta, tagged with C{x-kubernetes-group-version-kind}) plus
the C{<Kind>List} schema; the paths are those of a built-in resource, except
that bodies are JSON or YAML only and PATCH takes JSON patch, merge patch and
apply patch (no strategic merge patch: that is how kubectl knows to send a
merge patch to a custom resource).

    doc = v3_document(group, version, [(crd, info), ...])
    paths, definitions = v2_parts([(crd, info), ...])
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from kapi_twisted.apis import _openapi_paths as paths_mod
from kapi_twisted.apis import openapi as builtin
from kapi_twisted.server.openapi import security, security_schemes

from . import _crd

__all__ = ["definition_name", "v3_document", "v2_parts"]

_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_V3_REF = "#/components/schemas/"
_V2_REF = "#/definitions/"
_SCALE = "io.k8s.api.autoscaling.v1.Scale"
_CR_MEDIA = ("application/json", "application/yaml")
_CR_LIST_MEDIA = _CR_MEDIA + ("application/json;stream=watch",)
_CR_PATCH_MEDIA = ("application/apply-patch+yaml", "application/json-patch+json",
                   "application/merge-patch+json")

_API_VERSION_DOC = (
    "APIVersion defines the versioned schema of this representation of an object. Servers "
    "should convert recognized schemas to the latest internal value, and may reject "
    "unrecognized values. More info: https://git.k8s.io/community/contributors/devel/"
    "sig-architecture/api-conventions.md#resources")
_KIND_DOC = (
    "Kind is a string value representing the REST resource this object represents. Servers "
    "may infer this from the endpoint the client submits requests to. Cannot be updated. In "
    "CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/"
    "api-conventions.md#types-kinds")
_META_DOC = ("Standard object's metadata. More info: https://git.k8s.io/community/contributors/"
             "devel/sig-architecture/api-conventions.md#metadata")
_LIST_META_DOC = ("Standard list metadata. More info: https://git.k8s.io/community/contributors/"
                  "devel/sig-architecture/api-conventions.md#types-kinds")

CRDVersion = Tuple[dict, Any]
"""A CRD and the L{CustomResourceInfo} of one of its served versions."""


def definition_name(group: str, version: str, kind: str) -> str:
    """C{stable.example.com}, C{v1}, C{CronTab} -> C{com.example.stable.v1.CronTab}."""
    return f"{_crd.reversed_group(group)}.{version}.{kind}"


def _object_schema(crd: dict, info: Any, ref: str) -> Dict[str, Any]:
    schema = copy.deepcopy(_crd.schema_of(crd, info.version) or {})
    schema.setdefault("type", "object")
    props = schema.setdefault("properties", {})
    props["apiVersion"] = {"description": _API_VERSION_DOC, "type": "string"}
    props["kind"] = {"description": _KIND_DOC, "type": "string"}
    if ref == _V3_REF:
        props["metadata"] = {"allOf": [{"$ref": ref + _META + "ObjectMeta"}],
                             "description": _META_DOC}
    else:
        props["metadata"] = {"$ref": ref + _META + "ObjectMeta", "description": _META_DOC}
    schema["x-kubernetes-group-version-kind"] = [
        {"group": info.group, "kind": info.kind, "version": info.version}]
    return schema


def _list_schema(info: Any, item_name: str, ref: str) -> Dict[str, Any]:
    meta: Dict[str, Any]
    if ref == _V3_REF:
        meta = {"allOf": [{"$ref": ref + _META + "ListMeta"}], "description": _LIST_META_DOC}
    else:
        meta = {"$ref": ref + _META + "ListMeta", "description": _LIST_META_DOC}
    return {
        "description": f"{info.kind}List is a list of {info.kind}",
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"description": _API_VERSION_DOC, "type": "string"},
            "items": {"description": f"List of {info.plural}. More info: https://git.k8s.io/"
                                     "community/contributors/devel/sig-architecture/"
                                     "api-conventions.md",
                      "type": "array", "items": {"$ref": ref + item_name}},
            "kind": {"description": _KIND_DOC, "type": "string"},
            "metadata": meta,
        },
        "x-kubernetes-group-version-kind": [
            {"group": info.group, "kind": info.list_kind, "version": info.version}],
    }


def _v2_schema(node: Any) -> Any:
    """A v3 schema as Swagger 2.0 can hold it (no nullable, no v3-only combinators)."""
    if isinstance(node, list):
        return [_v2_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("nullable", "anyOf", "oneOf", "not", "x-kubernetes-validations"):
            continue
        if key in ("properties", "patternProperties") and isinstance(value, dict):
            out[key] = {k: _v2_schema(s) for k, s in value.items()}
        else:
            out[key] = _v2_schema(value)
    return out


def _resolver(versions: Iterable[CRDVersion]):
    known = {(info.group, info.version, info.kind): definition_name(
        info.group, info.version, info.kind) for _, info in versions}
    known.update({(info.group, info.version, info.list_kind): definition_name(
        info.group, info.version, info.list_kind) for _, info in versions})

    def resolve(group: str, version: str, kind: str) -> Optional[str]:
        if (group, version, kind) == ("autoscaling", "v1", "Scale"):
            return _SCALE
        return known.get((group, version, kind))

    return resolve


def _operations(versions: List[CRDVersion]) -> List[Any]:
    resolve = _resolver(versions)
    ops = []
    for _, info in versions:
        for op in paths_mod.operations(info, resolve):
            op.produces = _CR_LIST_MEDIA if "stream=watch" in " ".join(op.produces) \
                else _CR_MEDIA
            if op.body is not None and op.body[0] == paths_mod.PATCH:
                op.body = (paths_mod.PATCH, _CR_PATCH_MEDIA)
            ops.append(op)
    return ops


def _closure(names: Set[str]) -> Set[str]:
    defs = builtin.definitions()
    todo = [n for n in names if n in defs]
    seen = set(todo)
    while todo:
        found: Set[str] = set()
        builtin._refs(defs[todo.pop()], found)
        for name in found - seen:
            if name in defs:
                seen.add(name)
                todo.append(name)
    return seen


def v3_document(group: str, version: str, versions: List[CRDVersion]) -> Dict[str, Any]:
    """The C{/openapi/v3/apis/<group>/<version>} document of the CRDs serving it."""
    paths: Dict[str, Dict[str, Any]] = {}
    wanted: Set[str] = set()
    ops = [paths_mod.resource_list_operation(group, version)] + _operations(versions)
    for op in ops:
        item = paths.setdefault(op.path, {})
        item[op.method] = paths_mod.render_v3(op)
        if op.path_params:
            item["parameters"] = paths_mod.render_v3_params(op.path_params)
        wanted.update(op.definitions())
    schemas: Dict[str, Any] = {}
    for crd, info in versions:
        name = definition_name(info.group, info.version, info.kind)
        schemas[name] = _object_schema(crd, info, _V3_REF)
        schemas[definition_name(info.group, info.version, info.list_kind)] = _list_schema(
            info, name, _V3_REF)
    builtin_names = {n for n in wanted if n not in schemas} | {
        _META + "ObjectMeta", _META + "ListMeta"}
    defs = builtin.definitions()
    for name in sorted(_closure(builtin_names)):
        schemas[name] = builtin._to_v3(defs[name])
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"},
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": security_schemes(),
        },
        "security": security(),
    }


def v2_parts(versions: List[CRDVersion]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """C{(paths, definitions)} of one CRD's served versions for C{/openapi/v2}."""
    paths: Dict[str, Dict[str, Any]] = {}
    definitions: Dict[str, Any] = {}
    wanted: Set[str] = set()
    for op in _operations(versions):
        item = paths.setdefault(op.path, {})
        item[op.method] = paths_mod.render_v2(op)
        if op.path_params:
            item["parameters"] = paths_mod.render_v2_params(op.path_params)
        wanted.update(op.definitions())
    for crd, info in versions:
        name = definition_name(info.group, info.version, info.kind)
        definitions[name] = _v2_schema(_object_schema(crd, info, _V2_REF))
        definitions[definition_name(info.group, info.version, info.list_kind)] = _list_schema(
            info, name, _V2_REF)
    defs = builtin.definitions()
    for name in _closure({n for n in wanted if n not in definitions}):
        definitions[name] = defs[name]
    return paths, definitions
