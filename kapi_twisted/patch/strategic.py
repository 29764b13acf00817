"""
Strategic merge patch, the C{application/strategic-merge-patch+json} patch
type, as k8s.io/apimachinery's C{util/strategicpatch} applies it on the server.

It is JSON merge patch (objects merge, C{null} deletes) except where the
schema says otherwise:
  - a list whose field has strategy C{merge} and a merge key (containers by
    C{name}, volumeMounts by C{mountPath}...) is merged element by element;
  - a list of primitives with strategy C{merge} (C{finalizers}) is merged as
    a set;
  - every other list is replaced whole.

and except for the directives clients put in the patch (kubectl's client-side
apply generates most of them):
  - C{"$patch": "replace"} in an object replaces it; C{{"$patch": "replace"}}
    as a list element replaces the list with the patch's other elements;
  - C{"$patch": "delete"} in an object empties it; in a list element it
    removes the element with that merge key;
  - C{"$deleteFromPrimitiveList/<field>": [...]} removes values from a
    primitive list;
  - C{"$setElementOrder/<field>": [...]} gives the order of the merged list;
  - C{"$retainKeys": [...]} clears every member of the object not listed.

Ordering follows the Go code: items named by the patch come in the patch's
(or C{$setElementOrder}'s) order, items only on the server keep their
relative order, and a new item is placed before the server items it does not
follow in the original list, so new elements usually come first.

Directives and C{null}s in values taken from the patch never reach the
result: kube-apiserver drops them when it decodes the result into its typed
object, we drop them while merging.
"""

from __future__ import annotations

from typing import Any, Dict, Hashable, List, Optional, Tuple

from ._directives import (
    DELETE,
    DELETE_FROM_PRIMITIVE_LIST,
    DIRECTIVE,
    MERGE,
    REPLACE,
    RETAIN_KEYS,
    RETAIN_KEYS_STRATEGY,
    SET_ELEMENT_ORDER,
    is_directive_key,
)
from ._ordering import check_order, no_merge_key, normalize_order, partition
from ._values import deep_copy, scalar_key
from .errors import PatchError, PatchFormatError
from .schema import PatchSchema

__all__ = ["apply"]

_BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
_BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
_BAD_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list"

_DROP = object()  # a value removed because it carries a directive


def apply(doc: dict, patch: Any, schema: Optional[PatchSchema]) -> dict:
    """
    Apply the strategic merge patch C{patch} (decoded JSON) to C{doc}.

    @param schema: the merge metadata of C{doc}'s type; L{None} applies the
        patch with no list merging at all (every list is replaced).
    @return: a new object; C{doc} and C{patch} are left untouched and the
        result shares no mutable value with either.
    @raise PatchFormatError: the patch or one of its directives is malformed
        (400, as kube-apiserver answers).
    @raise PatchError: the patch does not fit the document, e.g. a list
        element without its merge key (422).
    """
    if patch is None:
        patch = {}  # Go decodes a JSON null into an empty patch
    if type(patch) is not dict:
        raise PatchFormatError(
            "json: cannot unmarshal array into Go value of type map[string]interface {}"
            if type(patch) is list
            else "json: cannot unmarshal non-object into Go value of type "
            "map[string]interface {}"
        )
    if type(doc) is not dict:
        raise PatchError("the original document is not a JSON object")
    return _merge_map(deep_copy(doc), patch, schema)


# -- schema helpers ---------------------------------------------------------


def _strategy(schema: Optional[PatchSchema]) -> str:
    """The field's list/map strategy with C{retainKeys} split off."""
    if schema is None or not schema.patch_strategy:
        return ""
    parts = [p.strip() for p in schema.patch_strategy.split(",") if p.strip()]
    others = [p for p in parts if p != RETAIN_KEYS_STRATEGY]
    if len(parts) > 2 or (len(parts) == 2 and len(others) != 1):
        raise PatchError(f"unexpected patch strategy: {parts}")
    return others[0] if others else ""


def _merge_key(schema: Optional[PatchSchema]) -> str:
    return (schema.patch_merge_key or "") if schema is not None else ""


def _field(schema: Optional[PatchSchema], name: str) -> Optional[PatchSchema]:
    return schema.field(name) if schema is not None else None


def _items(schema: Optional[PatchSchema]) -> Optional[PatchSchema]:
    return schema.items() if schema is not None else None


def _extract_key(key: str, prefix: str, message: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        raise PatchFormatError(message)
    return rest


# -- cleaning values taken from the patch -----------------------------------


def _take(value: Any) -> Any:
    """
    A patch value for a field the document does not have (or has with
    another type): a copy without C{null} members and without the objects
    that carry a C{$patch} directive (L{_DROP} if C{value} itself does).
    """
    t = type(value)
    if t is dict:
        if DIRECTIVE in value:
            return _DROP
        out = {}
        for k, v in value.items():
            if v is None or is_directive_key(k):
                continue
            v = _take(v)
            if v is not _DROP:
                out[k] = v
        return out
    if t is list:
        out_list = []
        for v in value:
            v = _take(v)
            if v is not _DROP:
                out_list.append(v)
        return out_list
    return value


def _literal(value: Any) -> Any:
    """
    A patch value used literally (a replaced list or object): a copy with the
    directive keys and C{null} members removed, as kube-apiserver's typed
    decoding leaves it.
    """
    t = type(value)
    if t is dict:
        return {
            k: _literal(v)
            for k, v in value.items()
            if v is not None and not is_directive_key(k)
        }
    if t is list:
        return [_literal(v) for v in value]
    return value


# -- maps -------------------------------------------------------------------


def _merge_map(
    original: dict, patch: dict, schema: Optional[PatchSchema]
) -> dict:
    """Merge C{patch} into C{original}, which this call owns and may change."""
    if DIRECTIVE in patch:
        directive = patch[DIRECTIVE]
        if directive == REPLACE:
            return _literal(patch)
        if directive == DELETE:
            return {}
        raise PatchError(f"unknown patch type: {directive} in map: {patch}")

    if RETAIN_KEYS in patch:
        _retain_keys(original, patch)

    done = _apply_element_orders(original, patch, schema)

    for key, value in patch.items():
        if key == RETAIN_KEYS or key in done:
            continue
        delete_list = False
        if key.startswith(DELETE_FROM_PRIMITIVE_LIST):
            key = _extract_key(key, DELETE_FROM_PRIMITIVE_LIST, _BAD_PRIMITIVE_LIST)
            delete_list = True

        if value is None:
            original.pop(key, None)
            continue

        current = original.get(key, _DROP)
        kind = type(value)
        if current is _DROP or type(current) is not kind or kind not in (dict, list):
            if delete_list:
                continue
            taken = _take(value)
            if taken is _DROP:
                original.pop(key, None)
            else:
                original[key] = taken
            continue

        sub = _field(schema, key)
        strategy = _strategy(sub)
        if kind is dict:
            if strategy == REPLACE:
                original[key] = _literal(value)
            else:
                original[key] = _merge_map(current, value, sub)
        else:
            original[key] = _merge_list_field(
                current, value, sub, strategy, delete_list
            )
    return original


def _retain_keys(original: dict, patch: dict) -> None:
    keys = patch[RETAIN_KEYS]
    if type(keys) is not list:
        raise PatchFormatError(_BAD_RETAIN_KEYS)
    retained = {scalar_key(k) for k in keys}
    for key, value in patch.items():
        if (
            key == RETAIN_KEYS
            or value is None
            or key.startswith(DELETE_FROM_PRIMITIVE_LIST)
            or key.startswith(SET_ELEMENT_ORDER)
        ):
            continue
        if key not in retained:
            raise PatchFormatError(_BAD_RETAIN_KEYS)
    for key in [k for k in original if k not in retained]:
        del original[key]


# -- lists ------------------------------------------------------------------


def _merge_list_field(
    original: list,
    patch: list,
    schema: Optional[PatchSchema],
    strategy: str,
    delete_list: bool,
) -> list:
    if strategy == MERGE or delete_list:
        return _merge_list(original, patch, _items(schema), _merge_key(schema), delete_list)
    return _literal(patch)


def _element_kind(*lists: list) -> Optional[type]:
    """C{dict} or a scalar marker for the elements; lists must be uniform."""
    kind = None
    for values in lists:
        for value in values:
            t = type(value)
            if t is list:
                raise PatchError("lists of lists are not supported")
            t = _kind_of(t)
            if kind is None:
                kind = t
            elif kind is not t:
                raise PatchError(f"list element types are not identical: {lists}")
    return kind


def _kind_of(t: type) -> type:
    if t is int or t is float:
        return float
    return t


def _merge_list(
    original: list,
    patch: list,
    items: Optional[PatchSchema],
    merge_key: str,
    delete_list: bool,
) -> list:
    """Merge list C{patch} into C{original} (owned) by strategy C{merge}."""
    if not original and not patch:
        return original
    kind = _element_kind(original, patch)
    if kind is not dict:
        if delete_list:
            doomed = {scalar_key(v) for v in patch}
            return [v for v in original if scalar_key(v) not in doomed]
        merged = _unique(original + [_literal(v) for v in patch])
        order: List[Any] = patch
        merge_key = ""
    else:
        if not merge_key:
            raise PatchError("cannot merge lists without merge key")
        original, order = _special_elements(original, patch, merge_key)
        merged = _merge_by_key(original, order, merge_key, items)
    in_patch, server_only = partition(merged, order, merge_key)
    return normalize_order(in_patch, server_only, order, original, merge_key)


def _unique(values: list) -> list:
    seen = set()
    out = []
    for v in values:
        k = scalar_key(v)
        if k not in seen:
            seen.add(k)
            out.append(v)
    return out


def _special_elements(
    original: list, patch: list, merge_key: str
) -> Tuple[list, list]:
    """
    Apply the C{$patch} list elements: deletions by merge key and
    C{replace}. Returns the new original and the plain patch elements.
    """
    plain = []
    replace = False
    for element in patch:
        if DIRECTIVE not in element:
            plain.append(element)
            continue
        directive = element[DIRECTIVE]
        if directive == DELETE:
            if merge_key not in element:
                raise no_merge_key(element, merge_key)
            doomed = scalar_key(element[merge_key])
            kept = []
            for item in original:
                if type(item) is not dict:
                    raise PatchError(f"value {item!r} is not a map")
                if merge_key in item and scalar_key(item[merge_key]) == doomed:
                    continue
                kept.append(item)
            original = kept
        elif directive == REPLACE:
            replace = True
        elif directive == MERGE:
            raise PatchError("merging lists cannot yet be specified in the patch")
        else:
            raise PatchError(f"unknown patch type: {directive} in map: {element}")
    if replace:
        return [_literal(e) for e in plain], []
    return original, plain


def _merge_by_key(
    original: list, patch: list, merge_key: str, items: Optional[PatchSchema]
) -> list:
    """Merge each patch element into the original element with its key."""
    merged = list(original)
    index: Dict[Hashable, int] = {}
    for position, item in enumerate(merged):
        if type(item) is not dict:
            raise PatchError(f"value for key {position} is not a map")
        if merge_key in item:
            index.setdefault(scalar_key(item[merge_key]), position)
    for element in patch:
        if merge_key not in element:
            raise no_merge_key(element, merge_key)
        key = scalar_key(element[merge_key])
        position = index.get(key)
        if position is None:
            index[key] = len(merged)
            merged.append(_literal(element))
        else:
            merged[position] = _merge_map(merged[position], element, items)
    return merged


# -- $setElementOrder -------------------------------------------------------


def _apply_element_orders(
    original: dict, patch: dict, schema: Optional[PatchSchema]
) -> set:
    """
    Merge every list that has a C{$setElementOrder/<field>} in the patch and
    put it in that order. Returns the patch keys it has dealt with.
    """
    done: set = set()
    for key, order in patch.items():
        if not key.startswith(SET_ELEMENT_ORDER):
            continue
        done.add(key)
        if type(order) is not list:
            raise PatchError(
                f"invalid type for {key}: expected a list, got {type(order).__name__}"
            )
        field = _extract_key(key, SET_ELEMENT_ORDER, _BAD_SET_ELEMENT_ORDER)
        in_original = field in original
        in_patch = field in patch
        current = original.get(field)
        value = patch.get(field)
        if in_original and type(current) is not list:
            raise PatchError(f"invalid type for {field}: expected a list")
        if in_patch and type(value) is not list:
            raise PatchError(f"invalid type for {field}: expected a list")
        sub = _field(schema, field)
        strategy = _strategy(sub)
        merge_key = _merge_key(sub)
        check_order(value if in_patch else [], order, merge_key)

        if in_original and not in_patch:
            merged = current
        elif in_patch and not in_original:
            merged = _take(value)
        elif in_original and in_patch:
            merged = _merge_list_field(current, value, sub, strategy, False)
        else:
            continue
        done.add(field)
        in_order, server_only = partition(merged, order, merge_key)
        original[field] = normalize_order(
            in_order, server_only, order, current if in_original else [], merge_key
        )
    return done
