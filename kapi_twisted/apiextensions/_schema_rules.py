"""
What a CRD's C{openAPIV3Schema} must satisfy (kube-apiserver's
C{validateCustomResourceDefinitionValidation}): the OpenAPI subset CRDs
accept, structural-schema invariants (C{schema/validation.go},
C{schema/complete.go}), list and map types, valid and pruned defaults, and
C{x-kubernetes-validations} entries that compile.

Paths are the internal API's: C{spec.validation.openAPIV3Schema...} when all
versions share one schema, else C{spec.versions[i].schema.openAPIV3Schema...},
with C{properties[name]} for properties.
"""

from __future__ import annotations

import copy
from typing import Any, List, Optional

from .schema import _fielderr as fe
from .schema._nodes import NO_DEFAULT, Node, compile_node
from .schema.cel import compile_node_rules, resolve_field_path
from .schema.pruning import prune
from .schema.validation import validate_embedded, validate_openapi
from ._structural import validate_structural

__all__ = ["validate_schema"]

_OPENAPI_TYPES = ["array", "boolean", "integer", "number", "object", "string"]
_META_FIELDS = ("metadata", "kind", "apiVersion")
_ROOT_ALLOWED_WITH_STATUS = {
    "description": "Description", "type": "Type", "format": "Format", "title": "Title",
    "maximum": "Maximum", "exclusiveMaximum": "ExclusiveMaximum", "minimum": "Minimum",
    "exclusiveMinimum": "ExclusiveMinimum", "maxLength": "MaxLength", "minLength": "MinLength",
    "pattern": "Pattern", "maxItems": "MaxItems", "minItems": "MinItems",
    "uniqueItems": "UniqueItems", "multipleOf": "MultipleOf", "required": "Required",
    "items": "Items", "properties": "Properties", "externalDocs": "ExternalDocs",
    "example": "Example", "x-kubernetes-preserve-unknown-fields": "XPreserveUnknownFields",
    "x-kubernetes-validations": "XValidations",
}
_SUPPORTED_REASONS = ["FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"]


def _zero(v: Any) -> bool:
    return v is None or v is False or v == "" or v == 0 and not isinstance(v, bool)


def validate_schema(schema: Any, path: str, status_enabled: bool) -> List[dict]:
    """All the errors of one C{openAPIV3Schema} at C{path} (ends in C{openAPIV3Schema})."""
    if not isinstance(schema, dict):
        return []
    errs: List[dict] = []
    if status_enabled:
        # Go walks the struct fields, and Type comes before the other keywords.
        t = schema.get("type")
        if not _zero(t) and t != "object":
            errs.append(fe.invalid(f"{path}.type", t,
                'only "object" is allowed as the type at the root of the schema if the status subresource is enabled'))
        else:
            for k, v in schema.items():
                if k != "type" and not _zero(v) and k not in _ROOT_ALLOWED_WITH_STATUS:
                    allowed = " ".join(_ROOT_ALLOWED_WITH_STATUS.values())
                    errs.append(fe.invalid(path, schema,
                        f"only [{allowed}] fields are allowed at the root of the schema if the status subresource is enabled"))
                    break
    if schema.get("nullable") is True:
        errs.append(fe.forbidden(f"{path}.nullable", "nullable cannot be true at the root"))

    root = compile_node(schema)
    structural = validate_structural(schema, path)
    cel_ok = False
    if structural:
        errs.extend(structural)
    else:
        default_errs = validate_defaults(root, path)
        if default_errs:
            errs.extend(default_errs)
        else:
            cel_ok = True
    schema_errs: List[dict] = []
    cel_errs: List[dict] = []
    _openapi(schema, root, path, schema_errs, cel_errs, cel_ok, is_root=True,
             allow_defaults=True, defaults_reason="", inside_meta=False, uncorrelatable=None)
    errs.extend(schema_errs)
    errs.extend(cel_errs)
    return errs


# --- ValidateCustomResourceDefinitionOpenAPISchema -----------------------------------------


def _openapi(s: dict, node: Node, path: str, errs: List[dict], cel_errs: List[dict], cel_ok: bool,
             is_root: bool, allow_defaults: bool, defaults_reason: str, inside_meta: bool,
             uncorrelatable: Optional[str]) -> None:
    n_before = len(errs)
    _standard(s, path, allow_defaults, defaults_reason, inside_meta, errs)
    if s.get("uniqueItems") is True:
        errs.append(fe.forbidden(f"{path}.uniqueItems",
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"))
    props = s.get("properties") if isinstance(s.get("properties"), dict) else {}
    ap = s.get("additionalProperties")
    if ap is not None:
        if props and (ap is False or isinstance(ap, dict)):
            errs.append(fe.forbidden(f"{path}.additionalProperties",
                "additionalProperties and properties are mutual exclusive"))
        if isinstance(ap, dict):
            sub_allow, sub_reason = allow_defaults, defaults_reason
            if inside_meta:
                sub_allow, sub_reason = False, "inside additionalProperties applying to object metadata"
            _openapi(ap, node.additional if isinstance(node.additional, Node) else compile_node(ap),
                     f"{path}.additionalProperties", errs, cel_errs, cel_ok, False,
                     sub_allow, sub_reason, inside_meta, uncorrelatable)
    for k, sub in props.items():
        if not isinstance(sub, dict):
            continue
        sub_unc = uncorrelatable
        if s.get("x-kubernetes-map-type") == "atomic" and sub_unc is None:
            sub_unc = path
        sub_meta, sub_allow, sub_reason = inside_meta, allow_defaults, defaults_reason
        if (is_root or s.get("x-kubernetes-embedded-resource") is True) and k in _META_FIELDS:
            sub_meta = True
            if is_root:
                sub_allow, sub_reason = False, f"in top-level {k}"
        _openapi(sub, node.properties.get(k) or compile_node(sub), f"{path}.properties[{k}]", errs,
                 cel_errs, cel_ok, False, sub_allow, sub_reason, sub_meta, sub_unc)
    for word in ("not",):
        if isinstance(s.get(word), dict):
            _openapi(s[word], compile_node(s[word]), f"{path}.{word}", errs, cel_errs, False, False,
                     allow_defaults, defaults_reason, inside_meta, uncorrelatable)
    for word in ("allOf", "oneOf", "anyOf"):
        for i, sub in enumerate(s.get(word) or ()):
            if isinstance(sub, dict):
                _openapi(sub, compile_node(sub), f"{path}.{word}[{i}]", errs, cel_errs, False, False,
                         allow_defaults, defaults_reason, inside_meta, uncorrelatable)
    items = s.get("items")
    if isinstance(items, dict):
        sub_unc = uncorrelatable
        if s.get("x-kubernetes-list-type") != "map" and sub_unc is None:
            sub_unc = path
        _openapi(items, node.items or compile_node(items), f"{path}.items", errs, cel_errs, cel_ok,
                 False, allow_defaults, defaults_reason, inside_meta, sub_unc)
    _extensions(s, path, errs)
    _map_list_keys_map_set(s, path, errs)
    rules = s.get("x-kubernetes-validations")
    if isinstance(rules, list) and rules:
        _rules(s, node, rules, path, errs, cel_errs, cel_ok and len(errs) == n_before, uncorrelatable)


def _standard(s: dict, path: str, allow_defaults: bool, reason: str, inside_meta: bool,
              errs: List[dict]) -> None:
    t = s.get("type")
    if isinstance(t, str) and t and t not in _OPENAPI_TYPES:
        errs.append(fe.not_supported(f"{path}.type", t, _OPENAPI_TYPES))
    if s.get("default") is not None and not allow_defaults:
        detail = "must not be set"
        if reason:
            detail += " " + reason
        errs.append(fe.forbidden(f"{path}.default", detail))
    if s.get("id"):
        errs.append(fe.forbidden(f"{path}.id", "id is not supported"))
    if s.get("additionalItems") is not None:
        errs.append(fe.forbidden(f"{path}.additionalItems", "additionalItems is not supported"))
    if s.get("patternProperties"):
        errs.append(fe.forbidden(f"{path}.patternProperties", "patternProperties is not supported"))
    if s.get("definitions"):
        errs.append(fe.forbidden(f"{path}.definitions", "definitions is not supported"))
    if s.get("dependencies") is not None:
        errs.append(fe.forbidden(f"{path}.dependencies", "dependencies is not supported"))
    if s.get("$ref") is not None:
        errs.append(fe.forbidden(f"{path}.$ref", "$ref is not supported"))
    if t == "null":
        errs.append(fe.forbidden(f"{path}.type", "type cannot be set to null, use nullable as an alternative"))
    if isinstance(s.get("items"), list) and s["items"]:
        errs.append(fe.forbidden(f"{path}.items", "items must be a schema object and not an array"))
    if inside_meta and s.get("x-kubernetes-embedded-resource") is True:
        errs.append(fe.forbidden(f"{path}.x-kubernetes-embedded-resource", "must not be used inside of resource meta"))


def _extensions(s: dict, path: str, errs: List[dict]) -> None:
    t = s.get("type") or ""
    pu = s.get("x-kubernetes-preserve-unknown-fields")
    if pu is False:
        errs.append(fe.invalid(f"{path}.x-kubernetes-preserve-unknown-fields", False, "must be true or undefined"))
    mt = s.get("x-kubernetes-map-type")
    if mt is not None and t != "object":
        if not t:
            errs.append(fe.required(f"{path}.type", "must be object if x-kubernetes-map-type is specified"))
        else:
            errs.append(fe.invalid(f"{path}.type", t, "must be object if x-kubernetes-map-type is specified"))
    if mt is not None and mt not in ("atomic", "granular"):
        errs.append(fe.not_supported(f"{path}.x-kubernetes-map-type", mt, ["atomic", "granular"]))
    lt = s.get("x-kubernetes-list-type")
    items = s.get("items") if isinstance(s.get("items"), dict) else None
    if lt is not None and t != "array":
        if not t:
            errs.append(fe.required(f"{path}.type", "must be array if x-kubernetes-list-type is specified"))
        else:
            errs.append(fe.invalid(f"{path}.type", t, "must be array if x-kubernetes-list-type is specified"))
    elif lt == "set" and items is not None:
        it = items.get("type")
        if it == "array":
            ilt = items.get("x-kubernetes-list-type")
            if ilt is not None and ilt != "atomic":
                errs.append(fe.invalid(f"{path}.items.x-kubernetes-list-type", ilt,
                    "must be atomic as item of a list with x-kubernetes-list-type=set"))
        elif it == "object":
            if items.get("x-kubernetes-map-type") != "atomic":
                errs.append(fe.invalid(f"{path}.items.x-kubernetes-map-type", items.get("x-kubernetes-list-type"),
                    "must be atomic as item of a list with x-kubernetes-list-type=set"))
    if lt is not None and lt not in ("atomic", "set", "map"):
        errs.append(fe.not_supported(f"{path}.x-kubernetes-list-type", lt, ["atomic", "set", "map"]))
    keys = s.get("x-kubernetes-list-map-keys") or []
    if keys:
        if lt is None:
            errs.append(fe.required(f"{path}.x-kubernetes-list-type",
                "must be map if x-kubernetes-list-map-keys is non-empty"))
        elif lt != "map":
            errs.append(fe.invalid(f"{path}.x-kubernetes-list-type", lt,
                "must be map if x-kubernetes-list-map-keys is non-empty"))
    if lt == "map":
        if not keys:
            errs.append(fe.required(f"{path}.x-kubernetes-list-map-keys",
                "must not be empty if x-kubernetes-list-type is map"))
        if s.get("items") is None:
            errs.append(fe.required(f"{path}.items", "must have a schema if x-kubernetes-list-type is map"))
        if items is not None and items.get("type") != "object":
            errs.append(fe.invalid(f"{path}.items.type", items.get("type") or "",
                "must be object if parent array's x-kubernetes-list-type is map"))
        if items is not None and items.get("type") == "object":
            iprops = items.get("properties") or {}
            seen = set()
            for k in keys:
                if k in iprops:
                    if (iprops[k] or {}).get("type") in ("array", "object"):
                        errs.append(fe.invalid(f"{path}.items.properties[{k}].type", items.get("type"),
                            "must be a scalar type if parent array's x-kubernetes-list-type is map"))
                else:
                    errs.append(fe.invalid(f"{path}.x-kubernetes-list-map-keys", fe.GoStrings(keys),
                        "entries must all be names of item properties"))
                if k in seen:
                    errs.append(fe.invalid(f"{path}.x-kubernetes-list-map-keys", fe.GoStrings(keys),
                        "must not contain duplicate entries"))
                seen.add(k)


def _map_list_keys_map_set(s: dict, path: str, errs: List[dict]) -> None:
    items = s.get("items")
    lt = s.get("x-kubernetes-list-type")
    if not isinstance(items, dict) or lt not in ("set", "map"):
        return
    if items.get("nullable") is True:
        errs.append(fe.forbidden(f"{path}.items.nullable", f"cannot be nullable when x-kubernetes-list-type is {lt}"))
    if lt == "map":
        required = set(items.get("required") or ())
        iprops = items.get("properties") or {}
        for k in s.get("x-kubernetes-list-map-keys") or ():
            prop = iprops.get(k)
            if not isinstance(prop, dict):
                continue
            if k not in required and prop.get("default") is None:
                errs.append(fe.required(f"{path}.items.properties[{k}].default",
                    "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"))
            if prop.get("nullable") is True:
                errs.append(fe.forbidden(f"{path}.items.properties[{k}].nullable",
                    "this property is in x-kubernetes-list-map-keys, so it cannot be nullable"))


def _has_newline(s: str) -> bool:
    return "\n" in s or "\r" in s


def _rules(s: dict, node: Node, rules: list, path: str, errs: List[dict], cel_errs: List[dict],
           compile_ok: bool, uncorrelatable: Optional[str]) -> None:
    base = f"{path}.x-kubernetes-validations"
    for i, r in enumerate(rules):
        if not isinstance(r, dict):
            continue
        p = f"{base}[{i}]"
        rule = r.get("rule") if isinstance(r.get("rule"), str) else ""
        msg = r.get("message") if isinstance(r.get("message"), str) else ""
        mexpr = r.get("messageExpression") if isinstance(r.get("messageExpression"), str) else ""
        if not rule.strip():
            errs.append(fe.required(f"{p}.rule", "rule is not specified"))
        elif msg and not msg.strip():
            errs.append(fe.invalid(f"{p}.message", msg, "message must be non-empty if specified"))
        elif _has_newline(msg.strip()):
            errs.append(fe.invalid(f"{p}.message", msg, "message must not contain line breaks"))
        elif _has_newline(rule.strip()) and not msg.strip():
            errs.append(fe.required(f"{p}.message", "message must be specified if rule contains line breaks"))
        if mexpr and not mexpr.strip():
            errs.append(fe.required(f"{p}.messageExpression", "messageExpression must be non-empty if specified"))
        reason = r.get("reason")
        if reason is not None and reason not in _SUPPORTED_REASONS:
            errs.append(fe.not_supported(f"{p}.reason", reason, _SUPPORTED_REASONS))
        fp = r.get("fieldPath")
        if isinstance(fp, str) and fp:
            if not fp.strip():
                errs.append(fe.invalid(f"{p}.fieldPath", fp, "fieldPath must be non-empty if specified"))
            if _has_newline(fp):
                errs.append(fe.invalid(f"{p}.fieldPath", fp, "fieldPath must not contain line breaks"))
            if fp.strip() and not _field_path_valid(node, fp):
                errs.append(fe.invalid(f"{p}.fieldPath", fp, "fieldPath must be a valid path"))
    if not compile_ok:
        return
    for i, cr in enumerate(compile_node_rules(node)):
        p = f"{base}[{i}]"
        if cr.error:
            cel_errs.extend(e for e in _compile_errs(cr, p, "rule", cr.error))
        if cr.message_error:
            cel_errs.extend(_compile_errs(cr, p, "messageExpression", cr.message_error))
        if cr.program is None:
            continue
        if cr.uses_old_self:
            if uncorrelatable is not None:
                cel_errs.append(fe.invalid(f"{p}.rule", cr.rule,
                    f"oldSelf cannot be used on the uncorrelatable portion of the schema within {uncorrelatable}"))
        elif isinstance(cr.raw.get("optionalOldSelf"), bool):
            cel_errs.append(fe.invalid(f"{p}.optionalOldSelf", cr.raw["optionalOldSelf"],
                "may not be set if oldSelf is not used in rule"))


def _compile_errs(cr: Any, p: str, field: str, detail: str) -> List[dict]:
    from .schema.cel import _RuleValue

    return [fe.invalid(f"{p}.{field}", _RuleValue(cr.raw), detail)]


def _field_path_valid(node: Node, fp: str) -> bool:
    return resolve_field_path(fp.strip(), node) is not None


# --- defaults (schema/defaulting/validation.go) -------------------------------------------


def validate_defaults(root: Node, path: str) -> List[dict]:
    """Defaults must be pruned and valid against their schema."""
    errs: List[dict] = []
    _defaults(root, path, errs, is_root=True)
    return errs


def _defaults(node: Node, path: str, errs: List[dict], is_root: bool = False) -> None:
    d = node.default
    if d is not NO_DEFAULT:
        dp = f"{path}.default"
        pruned = copy.deepcopy(d)
        prune(pruned, node, node.embedded)
        if pruned != d:
            errs.append(fe.invalid(dp, d, "must not have unknown fields"))
        meta_errs = validate_embedded(d, node, dp, is_root=node.embedded)
        if meta_errs:
            errs.extend(meta_errs)
        else:
            for e in validate_openapi(d, node, ""):
                e = dict(e)
                e["field"] = dp if e["field"] == fe.NIL_PATH else f"{dp}.{e['field']}"
                errs.append(e)
    if node.items is not None:
        _defaults(node.items, f"{path}.items", errs)
    for k, sub in node.properties.items():
        _defaults(sub, f"{path}.properties[{k}]", errs)
