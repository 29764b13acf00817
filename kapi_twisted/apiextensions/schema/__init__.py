"""
Structural schemas of custom resources: validation, pruning, defaulting and
CEL rules, as kube-apiserver's apiextensions-apiserver applies them.

Pure functions over decoded JSON (dicts, lists, str, int, float, bool, None);
no HTTP, no Twisted. The serving code builds one L{CompiledSchema} per CRD
version and, for each request::

    from kapi_twisted.apiextensions.schema import CompiledSchema

    schema = CompiledSchema.cached(version["schema"]["openAPIV3Schema"])
    schema.default(obj)                  # on create, update and read
    unknown = schema.prune(obj)          # ["spec.foo", ...] for fieldValidation:
    # Strict: 400 f'{kind} in version "{v}" cannot be handled as a {kind}: '
    #              + strict_decoding_error(unknown)
    # Warn: one "299 -" warning per unknown_field_warnings(unknown)
    causes = schema.validate(obj, old)   # [] or the causes of a 422 Invalid
    if causes:
        raise apierrors.invalid(kind, name, causes, group)

(kube-apiserver defaults while decoding and prunes right after; defaults are
pruned values, so either order gives the same object.)

Causes are C{{"reason", "message", "field"}} dicts, worded as kube-apiserver
words them (C{spec.replicas: Invalid value: 11: spec.replicas in body should be
less than or equal to 10}). Field paths follow kube-apiserver too: schema
errors name map values C{spec.labels.key} (kube-openapi's naming), CEL rule,
embedded-resource and list-type errors C{spec.labels[key]} (C{field.Path}'s),
list items are C{spec.items[2]} everywhere.

Public names:
 - L{CompiledSchema}(openapi_v3_schema): C{.validate(obj, old=None) -> causes},
   C{.prune(obj) -> unknown_paths}, C{.default(obj) -> obj};
   C{CompiledSchema.cached(schema)} reuses a compiled equal schema.
 - L{validate}(obj, schema, old=None), L{prune}(obj, schema) -> (obj, paths),
   L{apply_defaults}(obj, schema) -> obj: one-shot functions over a schema dict
   (compiled through the cache).
 - L{validate_custom_resource}(obj, schema, kind=, api_version=, namespaced=,
   old=None, scale=None): type meta, object metadata, schema and scale
   subresource fields together, in kube-apiserver's order (for callers whose
   store does not validate the metadata itself); L{validate_scale}.
 - L{unknown_field_warnings}(paths), L{strict_decoding_error}(paths): the texts
   C{fieldValidation=Warn} and C{Strict} report for pruned fields.
 - L{compile_node} / L{Node}: the compiled schema tree, used by CRD validation.

L{validate}, L{prune} and L{apply_defaults} serialise the schema to find it in
the cache; request paths should keep the L{CompiledSchema} of each CRD
version instead.
"""

from __future__ import annotations

from ._nodes import Node, compile_node
from .compiled import (
    CompiledSchema,
    apply_defaults,
    prune,
    strict_decoding_error,
    unknown_field_warnings,
    validate,
)
from .resource import validate_custom_resource, validate_scale

__all__ = [
    "CompiledSchema", "Node", "compile_node", "validate", "prune", "apply_defaults",
    "validate_custom_resource", "validate_scale", "unknown_field_warnings",
    "strict_decoding_error",
]
