"""
The structural-schema invariants kube-apiserver requires of CRD schemas
(C{apiextensions-apiserver/pkg/apiserver/schema/validation.go} and
C{complete.go}): every specified node has a type (except under
C{x-kubernetes-int-or-string} / C{x-kubernetes-preserve-unknown-fields}),
value validations (C{allOf}, C{anyOf}, C{oneOf}, C{not}) carry no structure of
their own, root metadata restricts only C{name} and C{generateName}, and
patterns compile as Go regular expressions.
"""

from __future__ import annotations

from typing import Any, List

from .schema import _fielderr as fe
from .schema._nodes import PatternError, compile_pattern

__all__ = ["validate_structural"]


def _zero(v: Any) -> bool:
    return v is None or v is False or v == "" or v == 0 and not isinstance(v, bool)



_ROOT, _ITEM, _FIELD = 0, 1, 2
_INT_OR_STRING_ANY_OF = [{"type": "integer"}, {"type": "string"}]


def validate_structural(schema: dict, path: str) -> List[dict]:
    """Structural-schema errors, sorted by text as kube-apiserver sorts them."""
    errs: List[dict] = []
    _invariants(schema, _ROOT, path, errs)
    _completeness(schema, schema, path, path, errs)
    errs.sort(key=lambda e: f"{e['field']}: {e['message']}")
    return errs


def _invariants(s: Any, lvl: int, path: str, errs: List[dict]) -> None:
    if not isinstance(s, dict):
        return
    t = s.get("type") if isinstance(s.get("type"), str) else ""
    if t == "array" and not isinstance(s.get("items"), dict):
        errs.append(fe.required(f"{path}.items", "must be specified"))
    if isinstance(s.get("items"), dict):
        _invariants(s["items"], _ITEM, f"{path}.items", errs)
    props = s.get("properties") if isinstance(s.get("properties"), dict) else {}
    for k, v in props.items():
        _invariants(v, _FIELD, f"{path}.properties[{k}]", errs)
    ap = s.get("additionalProperties")
    if ap is not None:
        if lvl == _ROOT:
            errs.append(fe.forbidden(f"{path}.additionalProperties", "must not be used at the root"))
        if isinstance(ap, dict):
            _invariants(ap, _FIELD, f"{path}.additionalProperties", errs)
    ios = s.get("x-kubernetes-int-or-string") is True
    pu = s.get("x-kubernetes-preserve-unknown-fields") is True
    emb = s.get("x-kubernetes-embedded-resource") is True
    if ios and pu:
        errs.append(fe.invalid(f"{path}.x-kubernetes-preserve-unknown-fields", True,
            "must be false if x-kubernetes-int-or-string is true"))
    if ios and emb:
        errs.append(fe.invalid(f"{path}.x-kubernetes-embedded-resource", True,
            "must be false if x-kubernetes-int-or-string is true"))
    skip_any_of = s.get("anyOf") == _INT_OR_STRING_ANY_OF
    all_of = s.get("allOf") or []
    skip_first_all_of_any_of = bool(all_of) and isinstance(all_of[0], dict) and all_of[0].get("anyOf") == _INT_OR_STRING_ANY_OF
    _value_validation(s, skip_any_of, skip_first_all_of_any_of, lvl, path, errs)
    check_meta = lvl == _ROOT or emb
    if emb and t != "object":
        if not t:
            errs.append(fe.required(f"{path}.type", "must be object if x-kubernetes-embedded-resource is true"))
        else:
            errs.append(fe.invalid(f"{path}.type", t, "must be object if x-kubernetes-embedded-resource is true"))
    elif not t and not ios and not pu:
        detail = {_ROOT: "must not be empty at the root", _ITEM: "must not be empty for specified array items",
                  _FIELD: "must not be empty for specified object fields"}[lvl]
        errs.append(fe.required(f"{path}.type", detail))
    if emb and ap is not None:
        errs.append(fe.forbidden(f"{path}.additionalProperties", "must not be used if x-kubernetes-embedded-resource is set"))
    if lvl == _ROOT and t and t != "object":
        errs.append(fe.invalid(f"{path}.type", t, "must be object at the root"))
    for k in ("kind", "apiVersion"):
        if k in props and check_meta and isinstance(props[k], dict) and props[k].get("type") != "string":
            errs.append(fe.invalid(f"{path}.properties[{k}].type", props[k].get("type") or "", "must be string"))
    meta = props.get("metadata")
    if isinstance(meta, dict):
        mp = f"{path}.properties[metadata]"
        if check_meta and meta.get("type") != "object":
            errs.append(fe.invalid(f"{mp}.type", meta.get("type") or "", "must be object"))
        if lvl == _ROOT:
            rest = {k: v for k, v in meta.items() if k not in ("type", "default") and not _zero(v)}
            mprops = rest.pop("properties", None) or {}
            if set(mprops) - {"name", "generateName"} or rest:
                errs.append(fe.forbidden(mp,
                    "must not specify anything other than name and generateName, but metadata is implicitly specified"))
    if emb and not pu and not props:
        errs.append(fe.required(f"{path}.properties",
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"))


def _value_validation(s: dict, skip_any_of: bool, skip_first: bool, lvl: int, path: str,
                      errs: List[dict]) -> None:
    if not skip_any_of:
        for i, sub in enumerate(s.get("anyOf") or ()):
            _nested(sub, False, lvl, f"{path}.anyOf[{i}]", errs)
    for i, sub in enumerate(s.get("allOf") or ()):
        _nested(sub, skip_first and i == 0, lvl, f"{path}.allOf[{i}]", errs)
    for i, sub in enumerate(s.get("oneOf") or ()):
        _nested(sub, False, lvl, f"{path}.oneOf[{i}]", errs)
    if isinstance(s.get("not"), dict):
        _nested(s["not"], False, lvl, f"{path}.not", errs)
    pattern = s.get("pattern")
    if isinstance(pattern, str) and pattern:
        try:
            compile_pattern(pattern)
        except PatternError as e:
            errs.append(fe.invalid(f"{path}.pattern", pattern, f"must be a valid regular expression, but isn't: {e}"))


def _nested(v: Any, skip_any_of: bool, lvl: int, path: str, errs: List[dict]) -> None:
    if not isinstance(v, dict):
        return
    _value_validation(v, skip_any_of, False, lvl, path, errs)
    if isinstance(v.get("items"), dict):
        _nested(v["items"], False, lvl, f"{path}.items", errs)
    for k, sub in (v.get("properties") or {}).items():
        _nested(sub, False, _FIELD, f"{path}.properties[{k}]", errs)
    if v.get("type"):
        errs.append(fe.forbidden(f"{path}.type", "must be empty to be structural"))
    if v.get("additionalProperties") is not None:
        errs.append(fe.forbidden(f"{path}.additionalProperties", "must be undefined to be structural"))
    if v.get("default") is not None:
        errs.append(fe.forbidden(f"{path}.default", "must be undefined to be structural"))
    for k, word in (("title", "empty"), ("description", "empty")):
        if v.get(k):
            errs.append(fe.forbidden(f"{path}.{k}", f"must be {word} to be structural"))
    if v.get("nullable") is True:
        errs.append(fe.forbidden(f"{path}.nullable", "must be false to be structural"))
    if v.get("externalDocs") is not None:
        errs.append(fe.forbidden(f"{path}.externalDocs", "must be undefined to be structural"))
    for k in ("x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource", "x-kubernetes-int-or-string"):
        if v.get(k) is True:
            errs.append(fe.forbidden(f"{path}.{k}", "must be false to be structural"))
    if v.get("x-kubernetes-list-map-keys"):
        errs.append(fe.forbidden(f"{path}.x-kubernetes-list-map-keys", "must be empty to be structural"))
    for k in ("x-kubernetes-list-type", "x-kubernetes-map-type"):
        if v.get(k) is not None:
            errs.append(fe.forbidden(f"{path}.{k}", "must be undefined to be structural"))
    if v.get("x-kubernetes-validations"):
        errs.append(fe.forbidden(f"{path}.x-kubernetes-validations", "must be empty to be structural"))
    if "metadata" in (v.get("properties") or {}):
        errs.append(fe.forbidden(f"{path}.properties[metadata]", "must not be specified in a nested context"))


def _completeness(v: Any, s: Any, s_path: str, v_path: str, errs: List[dict]) -> None:
    """Every field a value validation mentions is also specified structurally (root level)."""
    if not isinstance(v, dict):
        return
    if isinstance(v.get("not"), dict):
        _nested_complete(v["not"], s, s_path, f"{v_path}.not", errs)
    for word in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(v.get(word) or ()):
            _nested_complete(sub, s, s_path, f"{v_path}.{word}[{i}]", errs)


def _nested_complete(v: Any, s: Any, s_path: str, v_path: str, errs: List[dict]) -> None:
    if not isinstance(v, dict):
        return
    if not isinstance(s, dict):
        errs.append(fe.required(s_path, f"because it is defined in {v_path}"))
        return
    _completeness(v, s, s_path, v_path, errs)
    if isinstance(v.get("items"), dict):
        _nested_complete(v["items"], s.get("items"), f"{s_path}.items", f"{v_path}.items", errs)
    sprops = s.get("properties") if isinstance(s.get("properties"), dict) else {}
    for k, sub in (v.get("properties") or {}).items():
        if k not in sprops:
            errs.append(fe.required(f"{s_path}.properties[{k}]", f"because it is defined in {v_path}.properties[{k}]"))
        else:
            _nested_complete(sub, sprops[k], f"{s_path}.properties[{k}]", f"{v_path}.properties[{k}]", errs)
