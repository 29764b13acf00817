"""
OpenAPI schemas of the built-in types, and the OpenAPI documents kube-apiserver publishes.

kubectl needs them: C{kubectl explain} reads C{components.schemas} (each kind carries an
C{x-kubernetes-group-version-kind} list), and C{kubectl apply}/C{create -f}/C{replace}
check that the group-version document's PATCH operation for the kind declares a
C{fieldValidation} query parameter before they send anything.  The server itself uses
the definitions for strategic-merge-patch metadata (C{x-kubernetes-patch-merge-key},
C{x-kubernetes-patch-strategy}, list types) and for C{fieldValidation=Strict}
(L{unknown_fields}).

The definitions are Kubernetes 1.37's published OpenAPI v2 definitions, derived by
C{tools/gen_openapi_definitions.py} into C{openapi_definitions.json.gz}.  Nothing is read
at import: the file loads on first use and every document is built once, then cached.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from kapi_twisted.apis import _openapi_paths
from kapi_twisted.apis.registry import group_versions, resources_for
from kapi_twisted.server.openapi import security, security_schemes

__all__ = [
    "definitions",
    "kubernetes_version",
    "definition_name",
    "schema_for",
    "resolve",
    "unknown_fields",
    "prune_unknown_fields",
    "gv_key",
    "v2_document",
    "v2_document_json",
    "v3_index",
    "v3_document",
    "v3_document_json",
]

_DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "openapi_definitions.json.gz")
_V2_PREFIX = "#/definitions/"
_V3_PREFIX = "#/components/schemas/"


@functools.lru_cache(maxsize=None)
def _data() -> Dict[str, Any]:
    with gzip.open(_DATA_FILE, "rb") as f:
        return json.loads(f.read())


def definitions() -> Dict[str, Dict[str, Any]]:
    """All v2-style definitions by name (C{io.k8s.api.core.v1.Pod}...). Do not mutate."""
    return _data()["definitions"]


def kubernetes_version() -> str:
    """The Kubernetes release the definitions come from, e.g. C{v1.37.0}."""
    return _data()["kubernetesVersion"]


@functools.lru_cache(maxsize=None)
def _gvk_index() -> Dict[Tuple[str, str, str], str]:
    index: Dict[Tuple[str, str, str], str] = {}
    for name, schema in definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind", ()):
            index.setdefault((gvk["group"], gvk["version"], gvk["kind"]), name)
    return index


def definition_name(group: str, version: str, kind: str) -> Optional[str]:
    """The definition name for a kind (C{("apps","v1","Deployment")} -> C{io.k8s.api.apps.v1.Deployment})."""
    return _gvk_index().get((group, version, kind))


def schema_for(group: str, version: str, kind: str) -> Optional[Dict[str, Any]]:
    """The v2 definition of a kind, with C{$ref}s unresolved; C{None} if unknown."""
    name = definition_name(group, version, kind)
    return definitions()[name] if name else None


def resolve(schema: Dict[str, Any]) -> Dict[str, Any]:
    """Follow a C{$ref} (v2 or v3 form) to its definition; other schemas are returned as is."""
    seen = 0
    while "$ref" in schema and seen < 32:
        schema = definitions()[schema["$ref"].rsplit("/", 1)[-1]]
        seen += 1
    if "allOf" in schema and len(schema["allOf"]) == 1 and "properties" not in schema:
        return resolve(schema["allOf"][0])
    return schema


# --- fieldValidation=Strict ------------------------------------------------------------

def unknown_fields(group: str, version: str, kind: str, obj: Any) -> List[str]:
    """
    The fields of C{obj} its schema does not know, as kube-apiserver names them in
    C{unknown field "spec.foo"} (C{spec.containers[0].foo} inside lists).

    Free-form parts of a schema (RawExtension, FieldsV1, C{x-kubernetes-preserve-unknown-fields})
    accept anything.  An unknown kind reports nothing.
    """
    schema = schema_for(group, version, kind)
    found: List[str] = []
    if schema is not None:
        _walk_unknown(schema, obj, "", found, False)
    return found


def prune_unknown_fields(group: str, version: str, kind: str, obj: Any) -> List[str]:
    """
    Remove, in place, the fields of C{obj} its schema does not know, and return their
    paths as L{unknown_fields} names them.  kube-apiserver's decoder drops them for
    built-in types (C{fieldValidation=Ignore}, or C{Warn} with a Warning header per path).
    """
    schema = schema_for(group, version, kind)
    found: List[str] = []
    if schema is not None:
        _walk_unknown(schema, obj, "", found, True)
    return found


def _walk_unknown(schema: Dict[str, Any], value: Any, path: str, found: List[str],
                  remove: bool) -> None:
    schema = resolve(schema)
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        if props is not None:
            unknown = []
            for key, sub in value.items():
                child = "%s.%s" % (path, key) if path else key
                if key in props:
                    _walk_unknown(props[key], sub, child, found, remove)
                else:
                    found.append(child)
                    unknown.append(key)
            if remove:
                for key in unknown:
                    del value[key]
            return
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key, sub in value.items():
                _walk_unknown(extra, sub, "%s.%s" % (path, key) if path else key, found, remove)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, sub in enumerate(value):
                _walk_unknown(items, sub, "%s[%d]" % (path, i), found, remove)


# --- documents ---------------------------------------------------------------------------

def _refs(node: Any, out: Set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            out.add(ref.rsplit("/", 1)[-1])
        for key, value in node.items():
            if key != "$ref":
                _refs(value, out)
    elif isinstance(node, list):
        for value in node:
            _refs(value, out)


def _closure(names: Set[str]) -> Set[str]:
    defs = definitions()
    todo = [n for n in names if n in defs]
    seen: Set[str] = set(todo)
    while todo:
        found: Set[str] = set()
        _refs(defs[todo.pop()], found)
        for name in found - seen:
            if name in defs:
                seen.add(name)
                todo.append(name)
    return seen


def _to_v3(node: Any) -> Any:
    """A v2 schema in OpenAPI v3 form: refs under components, refs with siblings in allOf."""
    if isinstance(node, list):
        return [_to_v3(x) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = {"$ref": node["$ref"].replace(_V2_PREFIX, _V3_PREFIX)}
        if len(node) == 1:
            return ref
        out = {k: _to_v3(v) for k, v in node.items() if k != "$ref"}
        out["allOf"] = [ref]
        return out
    out = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _to_v3(schema) for name, schema in value.items()}
        else:
            out[key] = _to_v3(value)
    return out


def gv_key(group: str, version: str) -> str:
    """The L{v3_document} key of a group-version: C{api/v1} or C{apis/apps/v1}."""
    return "apis/%s/%s" % (group, version) if group else "api/%s" % version


def _ops(group: str, version: str) -> Iterator[_openapi_paths.Operation]:
    yield _openapi_paths.resource_list_operation(group, version)
    for info in resources_for(group, version):
        for op in _openapi_paths.operations(info, definition_name):
            yield op


@functools.lru_cache(maxsize=None)
def v3_document(key: str) -> Dict[str, Any]:
    """
    The OpenAPI v3 document kube-apiserver serves at C{/openapi/v3/<key>}: C{key} is
    C{api/v1} or C{apis/<group>/<version>} (also C{api}, C{apis}, C{apis/<group>}).

    Raises C{KeyError} for keys that are not served.
    """
    if key not in v3_index():
        raise KeyError(key)
    if key in ("api", "apis") or (key.startswith("apis/") and key.count("/") == 1):
        ops = [_openapi_paths.discovery_operation(key)]
    else:
        parts = key.split("/")
        group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
        ops = list(_ops(group, version))
    paths: Dict[str, Dict[str, Any]] = {}
    wanted: Set[str] = set()
    for op in ops:
        item = paths.setdefault(op.path, {})
        item[op.method] = _openapi_paths.render_v3(op)
        if op.path_params:
            item["parameters"] = _openapi_paths.render_v3_params(op.path_params)
        wanted.update(op.definitions())
    defs = definitions()
    schemas = {name: _to_v3(defs[name]) for name in sorted(_closure(wanted))}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": kubernetes_version()},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": security_schemes(),
        },
        "security": security(),
    }


@functools.lru_cache(maxsize=None)
def v3_document_json(key: str) -> Tuple[bytes, str]:
    """C{(compact JSON bytes, hash)} of L{v3_document}; the hash goes in C{?hash=} and the ETag."""
    body = json.dumps(v3_document(key), separators=(",", ":"), sort_keys=True).encode()
    return body, hashlib.sha512(body).hexdigest().upper()


@functools.lru_cache(maxsize=None)
def v3_index() -> Tuple[str, ...]:
    """The keys of C{/openapi/v3}'s C{paths}: C{api}, C{api/v1}, C{apis}, C{apis/apps}, ..."""
    keys = ["api", "apis"]
    for group, versions in group_versions():
        if group:
            keys.append("apis/%s" % group)
        keys.extend(gv_key(group, v) for v in versions)
    return tuple(keys)


@functools.lru_cache(maxsize=None)
def v2_document() -> Dict[str, Any]:
    """The Swagger 2.0 document kube-apiserver serves at C{/openapi/v2}."""
    paths: Dict[str, Dict[str, Any]] = {}
    wanted: Set[str] = set()
    for key in ("api", "apis"):
        op = _openapi_paths.discovery_operation(key)
        paths.setdefault(op.path, {})[op.method] = _openapi_paths.render_v2(op)
    for group, versions in group_versions():
        if group:
            op = _openapi_paths.discovery_operation("apis/" + group)
            paths.setdefault(op.path, {})[op.method] = _openapi_paths.render_v2(op)
        for version in versions:
            for op in _ops(group, version):
                item = paths.setdefault(op.path, {})
                item[op.method] = _openapi_paths.render_v2(op)
                if op.path_params:
                    item["parameters"] = _openapi_paths.render_v2_params(op.path_params)
                wanted.update(op.definitions())
    defs = definitions()
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": kubernetes_version()},
        "paths": paths,
        "definitions": {name: defs[name] for name in sorted(_closure(wanted))},
        "securityDefinitions": security_schemes(),
        "security": security(),
    }


@functools.lru_cache(maxsize=None)
def v2_document_json() -> Tuple[bytes, str]:
    """C{(compact JSON bytes, ETag value)} of L{v2_document}."""
    body = json.dumps(v2_document(), separators=(",", ":"), sort_keys=True).encode()
    return body, hashlib.sha512(body).hexdigest().upper()

