"""
Objects to stored bytes and back: compact JSON with C{apiVersion}, C{kind}
and C{metadata} first and without C{metadata.resourceVersion} (the storage
contract splices the revision in), metadata members in ObjectMeta's order,
and unknown fields pruned as kube-apiserver's decoder drops them.
"""

from __future__ import annotations

import copy
import json
from json.encoder import c_make_encoder, encode_basestring  # c_make_encoder may be None
from typing import Any, Callable, Dict, List, Tuple

from kapi_twisted.apis import openapi

_META_ORDER = (
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
    "annotations", "ownerReferences", "finalizers", "managedFields",
)
_META_RANK = {k: i for i, k in enumerate(_META_ORDER)}


def ordered(obj: Dict[str, Any]) -> Dict[str, Any]:
    """C{obj} with apiVersion, kind, metadata first (metadata in ObjectMeta order)."""
    out: Dict[str, Any] = {}
    for k in ("apiVersion", "kind"):
        if k in obj:
            out[k] = obj[k]
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        out["metadata"] = {
            k: meta[k] for k in sorted(meta, key=lambda k: _META_RANK.get(k, len(_META_RANK)))
        }
    for k, value in obj.items():
        if k not in out and k != "status":
            out[k] = value
    if "status" in obj:
        out["status"] = obj["status"]
    return out


def _compact_encoder() -> Callable[[Any], str]:
    """
    C{json.dumps(obj, separators=(",", ":"), ensure_ascii=False)} without
    what that call repeats each time: it builds a C{JSONEncoder} and then
    that encoder's C scanner for every object (about 2 us of a 4.5 us
    encode of a small object). Built once here; no circular-reference check
    (JSON-shaped values cannot hold cycles; one would end in RecursionError
    rather than ValueError).
    """
    encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)
    if c_make_encoder is None:  # an interpreter without the C accelerator
        return encoder.encode
    scan = c_make_encoder(None, encoder.default, encode_basestring, None,
                          encoder.key_separator, encoder.item_separator,
                          encoder.sort_keys, encoder.skipkeys, encoder.allow_nan)
    return lambda obj: "".join(scan(obj, 0))


#: Compact JSON text of a value (see L{_compact_encoder}).
compact_json = _compact_encoder()


def encode(obj: Dict[str, Any]) -> bytes:
    """The stored bytes of C{obj} (its resourceVersion left out)."""
    return encode_for_storage(obj)[0]


def encode_for_storage(obj: Dict[str, Any]) -> Tuple[bytes, Dict[str, Any]]:
    """
    The stored bytes of C{obj}, and the object they encode: a new top level
    and metadata (without resourceVersion) sharing C{obj}'s other members.
    Storage may keep that object as what readers of the new value get, so
    C{obj} must not change afterwards.
    """
    obj = ordered(obj)
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "resourceVersion" in meta:
        meta = dict(meta)
        del meta["resourceVersion"]
        obj["metadata"] = meta
    return compact_json(obj).encode("utf-8"), obj


def prune(group: str, version: str, kind: str, obj: Any) -> List[str]:
    """
    Drop, in place, the fields the kind's schema does not declare; return
    their paths as kube names them in C{unknown field "spec.foo"}
    (C{spec.containers[0].foo} inside lists).
    """
    schema = openapi.schema_for(group, version, kind)
    removed: List[str] = []
    if schema is not None:
        _prune(schema, obj, "", removed)
    return removed


#: What pruning needs of each schema node, by the node's id: (the node, its plan).
_PLANS: Dict[int, Tuple[Dict[str, Any], tuple]] = {}


def _plan(schema: Dict[str, Any]) -> tuple:
    """
    (preserve unknown fields, properties, additionalProperties, items) of
    C{schema} with its C{$ref} followed: worked out once per node of the
    (never changing, never freed) built-in definitions instead of on every
    visit of every request.
    """
    entry = _PLANS.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1]
    resolved = openapi.resolve(schema)
    extra = resolved.get("additionalProperties")
    items = resolved.get("items")
    plan = (bool(resolved.get("x-kubernetes-preserve-unknown-fields")),
            resolved.get("properties"),
            extra if isinstance(extra, dict) else None,
            items if isinstance(items, dict) else None)
    _PLANS[id(schema)] = (schema, plan)
    return plan


def _prune(schema: Dict[str, Any], value: Any, path: str, removed: List[str]) -> None:
    # Only objects and arrays can hold unknown fields: scalars are not
    # visited, and a member's path is only built when it is needed.
    preserve, props, extra, items = _plan(schema)
    if preserve:
        return
    if isinstance(value, dict):
        if props is not None:
            for key in list(value):
                sub = props.get(key)
                if sub is None:
                    del value[key]
                    removed.append("%s.%s" % (path, key) if path else key)
                else:
                    child = value[key]
                    if isinstance(child, (dict, list)):
                        _prune(sub, child, "%s.%s" % (path, key) if path else key, removed)
            return
        if extra is not None:
            for key, child in value.items():
                if isinstance(child, (dict, list)):
                    _prune(extra, child, "%s.%s" % (path, key) if path else key, removed)
    elif isinstance(value, list):
        if items is not None:
            for i, child in enumerate(value):
                if isinstance(child, (dict, list)):
                    _prune(items, child, "%s[%d]" % (path, i), removed)


def copy_json(value: Any) -> Any:
    """
    A deep copy of a JSON-shaped value (dicts, lists and immutable scalars),
    several times cheaper than C{copy.deepcopy}, which keeps a memo and
    dispatches on every value's type; anything else (a dict subclass, bytes
    from a protobuf decoder) is handed to C{copy.deepcopy}.
    """
    cls = type(value)
    if cls is dict:
        return {k: copy_json(v) for k, v in value.items()}
    if cls is list:
        return [copy_json(v) for v in value]
    if cls is str or cls is int or cls is float or cls is bool or value is None:
        return value
    return copy.deepcopy(value)
