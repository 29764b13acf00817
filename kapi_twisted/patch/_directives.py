"""
The markers strategic merge patches carry, as k8s.io/apimachinery names them.
"""

DIRECTIVE = "$patch"
REPLACE = "replace"
DELETE = "delete"
MERGE = "merge"
RETAIN_KEYS = "$retainKeys"
RETAIN_KEYS_STRATEGY = "retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
SET_ELEMENT_ORDER = "$setElementOrder"


def is_directive_key(key: str) -> bool:
    """Whether C{key} is a directive rather than a field of the object."""
    return key.startswith("$") and (
        key == DIRECTIVE
        or key == RETAIN_KEYS
        or key.startswith(SET_ELEMENT_ORDER)
        or key.startswith(DELETE_FROM_PRIMITIVE_LIST)
    )
