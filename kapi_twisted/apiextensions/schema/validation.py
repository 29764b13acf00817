"""
Validation of a custom object against its version's schema, worded as
kube-apiserver words it.

Three passes, in kube-apiserver's order (C{customresource/strategy.go}):

 1. L{validate_openapi}: kube-openapi's schema validator (C{type}, C{format},
    C{enum}, lengths, bounds, C{required}, C{allOf}/C{anyOf}/C{oneOf}/C{not}, ...)
    with its error names turned into field paths as
    C{kubeOpenAPIResultToFieldErrors} does, so a message reads
    C{Invalid value: 11: spec.replicas in body should be less than or equal to 10}.
    Paths use kube-openapi's naming: C{spec.items[2].name} for list items and
    C{spec.map.key} for values of C{additionalProperties} maps.
 2. L{validate_embedded}: C{apiVersion}, C{kind} and C{metadata} of
    C{x-kubernetes-embedded-resource} values (C{schema/objectmeta}).
 3. L{validate_list_types}: no duplicates in C{x-kubernetes-list-type: set}
    lists nor duplicate keys in C{map} lists (C{schema/listtype}).

On update, C{old} enables ratcheting (CRDValidationRatcheting, on in 1.32):
an unchanged value keeps validating even if the schema got stricter. Values
are correlated through object properties, map keys and the keys of
C{x-kubernetes-list-type: map} lists, as kube-apiserver correlates them.
"""

from __future__ import annotations

import math
from typing import Any, List

from kapi_twisted.registry import validation as metavalidation

from . import _fielderr as fe
from ._formats import check_format
from ._nodes import NO_DEFAULT, Node, PatternError, correlate_items

__all__ = ["validate_openapi", "validate_embedded", "validate_list_types", "MISSING"]

#: No old value (create, or nothing at this place before the update).
MISSING = object()

_IN = "body"


def _cause_path(name: str) -> str:
    return fe.at(name[1:] if name.startswith(".") else name)


def _json_type(v: Any) -> str:
    if isinstance(v, str):
        return "string"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    return ""


def _json_format(v: Any) -> str:
    if isinstance(v, bool) or isinstance(v, (str, list, dict)):
        return ""
    if isinstance(v, int):
        return "int64"
    if isinstance(v, float):
        return "double"
    return ""


def _is_json_integer(f: float) -> bool:
    return not (math.isnan(f) or math.isinf(f)) and f == math.floor(f)


def _type_error(name: str, types: str, found: str) -> dict:
    return fe.type_invalid(
        _cause_path(name), found, f"{name} in {_IN} must be of type {types}: {fe.go_quote(found)}"
    )


def validate_openapi(data: Any, node: Node, name: str = "", old: Any = MISSING) -> List[dict]:
    """kube-openapi's C{SchemaValidator.Validate} of C{data} at path C{name}."""
    errs: List[dict] = []
    _validate(data, node, name, errs, old)
    return errs


def _validate(data: Any, node: Node, name: str, errs: List[dict], old: Any) -> None:
    if old is not MISSING and old == data and _same_kinds(old, data):
        return  # ratcheting: an unchanged value is not re-validated
    if data is None:
        if node.types and not node.nullable:
            errs.append(_type_error(name, ",".join(node.types), "null"))
        if node.enum is not None and not node.nullable and None not in node.enum:
            errs.append(_enum_error(name, data, node.enum))
        return
    jtype = _json_type(data)
    # 1. type
    if node.types or node.format:
        _check_type(data, jtype, node, name, errs)
    # 2. allOf / anyOf / oneOf / not
    if node.all_of or node.any_of or node.one_of or node.not_ is not None:
        _check_junctors(data, node, name, errs, old)
    if jtype == "string":
        _check_string(data, node, name, errs)
    elif jtype in ("integer", "number"):
        _check_number(data, jtype, node, name, errs)
    elif jtype == "array":
        items = node.items
        if items is not None:
            olds = correlate_items(node, data, old, MISSING)
            for i, v in enumerate(data):
                _validate(v, items, f"{name}[{i}]", errs, olds[i] if olds else MISSING)
        n = len(data)
        if node.min_items is not None and n < node.min_items:
            errs.append(fe.invalid(
                _cause_path(name), n, f"{name} in {_IN} should have at least {node.min_items} items"))
        if node.max_items is not None and n > node.max_items:
            errs.append(fe.too_many(_cause_path(name), n, node.max_items))
        if node.unique_items and _has_duplicates(data):
            errs.append(fe.invalid(_cause_path(name), "", f"{name} in {_IN} shouldn't contain duplicates"))
    if node.enum is not None and not _in_enum(data, node.enum):
        errs.append(_enum_error(name, data, node.enum))
    if jtype == "object":
        _check_object(data, node, name, errs, old)


def _same_kinds(a: Any, b: Any) -> bool:
    # 1 == 1.0 == True in Python; Go's DeepEqual tells them apart.
    return type(a) is type(b)


def _check_type(data: Any, jtype: str, node: Node, name: str, errs: List[dict]) -> None:
    types = node.types
    fmt = node.format
    is_float_int = jtype == "number" and "integer" in types and _is_json_integer(data)
    is_int_float = jtype == "integer" and "number" in types
    if jtype not in ("string", "array") and fmt:
        dfmt = _json_format(data)
        if not (jtype in types or dfmt == fmt or is_float_int or is_int_float):
            errs.append(_type_error(name, fmt, dfmt))
            return
    if fmt and jtype in ("string", "array") and "number" not in types and "integer" not in types:
        return
    if not (jtype in types or is_float_int or is_int_float):
        errs.append(_type_error(name, ",".join(types), jtype))


def _check_string(data: str, node: Node, name: str, errs: List[dict]) -> None:
    path = _cause_path(name)
    if node.max_length is not None and len(data) > node.max_length:
        errs.append(fe.too_long(path, node.max_length))
    elif node.min_length is not None and len(data) < node.min_length:
        errs.append(fe.invalid(path, data, f"{name} in {_IN} should be at least {node.min_length} chars long"))
    elif node.pattern_src:
        rx = node.pattern
        if isinstance(rx, PatternError):
            errs.append(fe.invalid(
                path, data, f"{name} in {_IN} should match '{node.pattern_src}, but pattern is invalid: {rx}'"))
        elif not rx.search(data):
            errs.append(fe.invalid(path, data, f"{name} in {_IN} should match '{node.pattern_src}'"))
    if node.format and not check_format(node.format, data):
        errs.append(fe.type_invalid(
            path, data, f"{name} in {_IN} must be of type {node.raw.get('format')}: {fe.go_quote(data)}"))


def _num_text(v: Any) -> str:
    return str(v) if isinstance(v, int) else fe.go_float(v)


def _check_number(data: Any, jtype: str, node: Node, name: str, errs: List[dict]) -> None:
    path = _cause_path(name)
    is_int = jtype == "integer"
    mo = node.multiple_of
    if mo is not None:
        if mo < 0:
            errs.append(fe.invalid(path, mo, f"factor MultipleOf declared for {name} must be positive: {_num_text(mo)}"))
        elif is_int and mo >= 1 and int(mo) == mo:
            if data % int(mo) != 0:
                errs.append(fe.invalid(path, data, f"{name} in {_IN} should be a multiple of {int(mo)}"))
        elif mo > 0:
            mult = (1 / mo * data) if mo < 1 else (data / mo)
            if not _is_json_integer(mult):
                errs.append(fe.invalid(path, data, f"{name} in {_IN} should be a multiple of {fe.go_float(float(mo))}"))
    mn = node.minimum
    if mn is not None:
        bound = int(mn) if is_int else mn
        excl = node.exclusive_minimum
        if (data <= bound) if excl else (data < bound):
            word = "greater than" if excl else "greater than or equal to"
            errs.append(fe.invalid(path, data, f"{name} in {_IN} should be {word} {_num_text(bound if is_int else float(bound))}"))
    mx = node.maximum
    if mx is not None:
        bound = int(mx) if is_int else mx
        excl = node.exclusive_maximum
        if (data >= bound) if excl else (data > bound):
            word = "less than" if excl else "less than or equal to"
            errs.append(fe.invalid(path, data, f"{name} in {_IN} should be {word} {_num_text(bound if is_int else float(bound))}"))


def _in_enum(data: Any, enum: list) -> bool:
    for e in enum:
        if isinstance(e, bool) != isinstance(data, bool):
            continue
        if isinstance(e, (dict, list)) or isinstance(data, (dict, list)):
            if type(e) is type(data) and e == data:
                return True
            continue
        if isinstance(e, str) != isinstance(data, str):
            continue
        if e == data:
            return True
    return False


def _enum_error(name: str, data: Any, enum: list) -> dict:
    values = [v if isinstance(v, str) else fe.go_json(v) for v in enum]
    return fe.not_supported(_cause_path(name), data, values)


def _has_duplicates(data: list) -> bool:
    seen: List[Any] = []
    for v in data:
        for u in seen:
            if _same_kinds(u, v) and u == v:
                return True
        seen.append(v)
    return False


def _check_junctors(data: Any, node: Node, name: str, errs: List[dict], old: Any) -> None:
    if node.any_of:
        best = None
        ok = False
        for s in node.any_of:
            r = validate_openapi(data, s, name, old)
            if not r:
                ok = True
                break
            if best is None or len(r) < len(best):
                best = r
        if not ok:
            errs.append(fe.invalid(fe.NIL_PATH, "", f"{fe.go_quote(name)} must validate at least one schema (anyOf)"))
            errs.extend(best or ())
    if node.one_of:
        valid = 0
        best = None
        for s in node.one_of:
            r = validate_openapi(data, s, name, old)
            if not r:
                valid += 1
            elif valid == 0 and (best is None or len(r) < len(best)):
                best = r
        if valid != 1:
            extra = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
            errs.append(fe.invalid(
                fe.NIL_PATH, "", f"{fe.go_quote(name)} must validate one and only one schema (oneOf). {extra}"))
            if valid == 0 and best:
                errs.extend(best)
    if node.all_of:
        valid = 0
        for s in node.all_of:
            r = validate_openapi(data, s, name, old)
            if not r:
                valid += 1
            errs.extend(r)
        if valid != len(node.all_of):
            extra = ". None validated" if valid == 0 else ""
            errs.append(fe.invalid(fe.NIL_PATH, "", f"{fe.go_quote(name)} must validate all the schemas (allOf){extra}"))
    if node.not_ is not None and not validate_openapi(data, node.not_, name):
        errs.append(fe.invalid(fe.NIL_PATH, "", f"{fe.go_quote(name)} must not validate the schema (not)"))


def _check_object(data: dict, node: Node, name: str, errs: List[dict], old: Any) -> None:
    n = len(data)
    if node.min_properties is not None and n < node.min_properties:
        errs.append(fe.invalid(
            _cause_path(name), n, f"{name} in {_IN} should have at least {node.min_properties} properties"))
        return
    if node.max_properties is not None and n > node.max_properties:
        errs.append(fe.too_many(_cause_path(name), n, node.max_properties))
        return
    props = node.properties
    # An atomic map is one value: its entries do not correlate with old ones.
    old_map = old if isinstance(old, dict) and node.map_type != "atomic" else None
    additional = node.additional
    if additional is False:
        for k in data:
            if k not in props:
                errs.append(fe.invalid(_cause_path(name), k, f"{name}.{k} in {_IN} is a forbidden property"))
    elif isinstance(additional, Node):
        for k, v in data.items():
            if k not in props:
                _validate(v, additional, f"{name}.{k}", errs,
                          old_map.get(k, MISSING) if old_map is not None else MISSING)
    for k, sub in props.items():
        if k in data:
            _validate(data[k], sub, f"{name}.{k}" if name else k, errs,
                      old_map.get(k, MISSING) if old_map is not None else MISSING)
    for k in node.required:
        if k not in data:
            errs.append(fe.required(_cause_path(f"{name}.{k}")))


# --- embedded resources (schema/objectmeta/validation.go) ---------------------------------


def validate_embedded(data: Any, node: Node, path: str = "", is_root: bool = True) -> List[dict]:
    """TypeMeta and ObjectMeta checks of every C{x-kubernetes-embedded-resource} value."""
    errs: List[dict] = []
    _embedded(data, node, path, is_root, errs)
    return errs


def _embedded(data: Any, node: Node, path: str, is_root: bool, errs: List[dict]) -> None:
    if isinstance(data, dict):
        if node.embedded and not is_root:
            _validate_embedded_resource(data, path, errs)
        props = node.properties
        add = node.additional
        for k, v in data.items():
            sub = props.get(k)
            if sub is not None:
                _embedded(v, sub, fe.child(path, k), False, errs)
            elif isinstance(add, Node):
                _embedded(v, add, fe.key(path, k), False, errs)
    elif isinstance(data, list) and node.items is not None:
        for i, v in enumerate(data):
            _embedded(v, node.items, fe.index(path, i), False, errs)


def _validate_embedded_resource(x: dict, path: str, errs: List[dict]) -> None:
    if "apiVersion" not in x:
        errs.append(fe.required(fe.child(path, "apiVersion"), "must not be empty"))
    if "kind" not in x:
        errs.append(fe.required(fe.child(path, "kind"), "must not be empty"))
    for k, v in x.items():
        if k == "apiVersion":
            p = fe.child(path, "apiVersion")
            if not isinstance(v, str):
                errs.append(fe.invalid(p, v, "must be a string"))
            elif not v:
                errs.append(fe.invalid(p, v, "must not be empty"))
            elif v.count("/") > 1 or v.startswith("/") and v != "/":
                errs.append(fe.invalid(p, v, f"unexpected GroupVersion string: {v}"))
        elif k == "kind":
            p = fe.child(path, "kind")
            if not isinstance(v, str):
                errs.append(fe.invalid(p, v, "must be a string"))
            elif not v:
                errs.append(fe.invalid(p, v, "must not be empty"))
            else:
                msgs = metavalidation.is_dns1035_label(v.lower())
                if msgs:
                    errs.append(fe.invalid(p, v, "may have mixed case, but should otherwise match: " + ",".join(msgs)))
        elif k == "metadata":
            p = fe.child(path, "metadata")
            if not isinstance(v, dict):
                errs.append(fe.invalid(p, v, "expected map[string]interface{}"))
                continue
            meta = dict(v)
            if not meta.get("name"):
                meta["name"] = "fakename"
            namespaced = bool(meta.get("namespace"))
            for e in metavalidation.validate_object_meta(
                    meta, namespaced, metavalidation.name_is_path_segment, p):
                errs.append(e.cause())


# --- x-kubernetes-list-type (schema/listtype/validation.go) ------------------------------


def validate_list_types(data: Any, node: Node, path: str = "") -> List[dict]:
    """Duplicates in C{set} lists and duplicate keys in C{map} lists."""
    errs: List[dict] = []
    _list_types(data, node, path, errs)
    return errs


def _list_types(data: Any, node: Node, path: str, errs: List[dict]) -> None:
    if isinstance(data, dict):
        props = node.properties
        add = node.additional
        for k, v in data.items():
            sub = props.get(k)
            if sub is not None:
                _list_types(v, sub, fe.child(path, k), errs)
            elif isinstance(add, Node):
                _list_types(v, add, fe.key(path, k), errs)
    elif isinstance(data, list):
        if node.list_type == "set":
            _check_set(data, path, errs)
        elif node.list_type == "map":
            _check_map_list(data, node, path, errs)
        if node.items is not None:
            for i, v in enumerate(data):
                _list_types(v, node.items, fe.index(path, i), errs)


def _identity(v: Any) -> Any:
    if isinstance(v, (dict, list)):
        return ("compound", fe.go_json(v))
    return (type(v).__name__, v)


def _check_set(data: list, path: str, errs: List[dict]) -> None:
    if len(data) <= 1:
        return
    seen = {}
    for i, x in enumerate(data):
        ident = _identity(x)
        times = seen.get(ident, 0)
        if times == 1:
            errs.append(fe.duplicate(fe.index(path, i), x))
        seen[ident] = times + 1


def _check_map_list(data: list, node: Node, path: str, errs: List[dict]) -> None:
    for i, x in enumerate(data):
        if x is not None and not isinstance(x, dict):
            errs.append(fe.invalid(fe.index(path, i), x, "must be an object for an array of list-type map"))
            return
    if len(data) <= 1:
        return
    keys = node.list_map_keys
    item_props = node.items.properties if node.items is not None else {}
    for i, x in enumerate(data):
        if x is None:
            continue
        for k in keys:
            if k in x:
                v = x[k]
                if isinstance(v, (dict, list)) or v is None:
                    errs.append(fe.invalid(fe.child(fe.index(path, i), k), v, "must be a scalar value"))
                    return
    seen = set()
    for i, x in enumerate(data):
        if x is None:
            continue
        ident = []
        for k in keys:
            if k in x:
                ident.append(_identity(x[k]))
            else:
                sub = item_props.get(k)
                if sub is not None and sub.default is not NO_DEFAULT:
                    ident.append(_identity(sub.default))
                else:
                    ident.append(("unspecified",))
        t = tuple(ident)
        if t in seen:
            errs.append(fe.duplicate(fe.index(path, i), x))
        seen.add(t)

