"""
Element identity and ordering for merged lists, following
k8s.io/apimachinery's strategicpatch.

A merged list is split into the items the patch names and the items only the
server has. Each part is sorted by its own reference order (the patch's, or
C{$setElementOrder}'s, and the original list's), then the two are interleaved:
a server item goes before a patch item only when both appear in the original
list and it comes first there. New items therefore usually come first.
"""

from __future__ import annotations

from typing import Any, Dict, Hashable, Tuple

from ._directives import DELETE, DIRECTIVE, SET_ELEMENT_ORDER
from ._values import scalar_key
from .errors import PatchError


def key_of(element: Any, merge_key: str) -> Hashable:
    """The identity of a list element: its merge key's value, or itself."""
    if merge_key:
        if type(element) is not dict:
            raise PatchError(f"value {element!r} is not a map")
        if merge_key not in element:
            raise no_merge_key(element, merge_key)
        return scalar_key(element[merge_key])
    return scalar_key(element)


def no_merge_key(element: Any, merge_key: str) -> PatchError:
    return PatchError(
        f"map: {element} does not contain declared merge key: {merge_key}"
    )


def partition(values: list, by: list, merge_key: str) -> Tuple[list, list]:
    """Split C{values} into those named in C{by} and the others."""
    named = {key_of(v, merge_key) for v in by} if merge_key else {
        scalar_key(v) for v in by
    }
    in_by, others = [], []
    for value in values:
        (in_by if key_of(value, merge_key) in named else others).append(value)
    return in_by, others


def positions(order: list, merge_key: str) -> Dict[Hashable, int]:
    positions: Dict[Hashable, int] = {}
    for i, v in enumerate(order):
        if merge_key and (type(v) is not dict or merge_key not in v):
            continue
        positions.setdefault(key_of(v, merge_key), i)
    return positions


def normalize_order(
    in_patch: list,
    server_only: list,
    patch_order: list,
    server_order: list,
    merge_key: str,
) -> list:
    """
    Sort the patch's items by C{patch_order} and the server-only items by
    C{server_order}, then interleave them: a server item goes before a patch
    item only when both appear in C{server_order} and it comes first there.
    """
    if merge_key:
        for v in patch_order:
            key_of(v, merge_key)  # every ordering entry needs the merge key
    by_patch = positions(patch_order, merge_key)
    by_server = positions(server_order, merge_key)
    missing = len(patch_order) + len(server_order)
    keyed_patch = [(key_of(v, merge_key), v) for v in in_patch]
    keyed_patch.sort(key=lambda kv: by_patch.get(kv[0], missing))
    keyed_server = [(key_of(v, merge_key), v) for v in server_only]
    keyed_server.sort(key=lambda kv: by_server.get(kv[0], missing))

    out = []
    i = j = 0
    while i < len(keyed_server) or j < len(keyed_patch):
        if j >= len(keyed_patch):
            out.append(keyed_server[i][1])
            i += 1
        elif i >= len(keyed_server):
            out.append(keyed_patch[j][1])
            j += 1
        else:
            left = by_server.get(keyed_server[i][0])
            right = by_server.get(keyed_patch[j][0])
            if left is not None and right is not None and left < right:
                out.append(keyed_server[i][1])
                i += 1
            else:
                out.append(keyed_patch[j][1])
                j += 1
    return out


def check_order(patch_list: list, order: list, merge_key: str) -> None:
    """
    The patch's own elements (deletions and directives aside) must appear in
    C{order}, in the same relative order.
    """
    if not order or not patch_list:
        return
    if merge_key:
        plain = [
            e
            for e in patch_list
            if not (type(e) is dict and e.get(DIRECTIVE) == DELETE)
        ]
    else:
        plain = patch_list
    p = o = 0
    while p < len(plain) and o < len(order):
        element = plain[p]
        if type(element) is dict and DIRECTIVE in element:
            p += 1
            continue
        if key_of(element, merge_key) == key_of(order[o], merge_key):
            p += 1
        o += 1
    if p < len(plain):
        raise PatchError(
            f"The order in patch list:\n{patch_list}\n doesn't match "
            f"{SET_ELEMENT_ORDER} list:\n{order}\n"
        )
