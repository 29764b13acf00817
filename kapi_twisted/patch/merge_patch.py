"""
JSON Merge Patch (RFC 7386), the C{application/merge-patch+json} patch type.

Objects merge recursively, C{null} removes a member, and everything else
(arrays included) replaces the target whole. L{apply} is the RFC's algorithm
for any JSON values; L{apply_object} adds kube-apiserver's rule that a merge
patch for an API object must itself be an object (evanphx/json-patch answers
C{Invalid JSON Patch}, 400).
"""

from __future__ import annotations

from typing import Any

from ._values import deep_copy
from .errors import PatchFormatError

__all__ = ["apply", "apply_object"]


def apply(doc: Any, patch: Any) -> Any:
    """
    RFC 7386 C{MergePatch(doc, patch)}.

    @return: a new value; neither argument is modified and the result shares
        no mutable value with them.
    """
    if type(patch) is not dict:
        return _without_nulls(patch)
    target = deep_copy(doc) if type(doc) is dict else {}
    _merge_into(target, patch)
    return target


def apply_object(doc: dict, patch: Any) -> dict:
    """
    Merge-patch an API object: C{patch} must be a JSON object.

    @raise PatchFormatError: C{patch} is not an object (400).
    """
    if type(patch) is not dict:
        raise PatchFormatError("Invalid JSON Patch")
    return apply(doc, patch)


def _merge_into(target: dict, patch: dict) -> None:
    """Merge C{patch} into C{target}, which this call owns and may change."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif type(value) is dict:
            current = target.get(key)
            if type(current) is dict:
                _merge_into(current, value)
            else:
                target[key] = _without_nulls(value)
        else:
            target[key] = _without_nulls(value)


def _without_nulls(value: Any) -> Any:
    """A copy of a patch value with C{null} object members dropped."""
    if type(value) is dict:
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if type(value) is list:
        return [_copy_plain(v) for v in value]
    return value


def _copy_plain(value: Any) -> Any:
    # Array elements are taken literally (RFC 7386: arrays replace), nulls kept.
    if type(value) is dict:
        return {k: _copy_plain(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy_plain(v) for v in value]
    return value
