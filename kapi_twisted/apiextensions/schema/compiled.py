"""
L{CompiledSchema}: one CRD version's C{openAPIV3Schema}, compiled once and
used for every request (validate, prune, default), and one-shot functions
over a schema dict that go through a cache of compiled schemas.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, List, Optional, Tuple

from . import _fielderr as fe
from .cel import validate_rules
from .defaulting import apply_defaults as _apply_defaults
from ._nodes import Node, compile_node
from .pruning import prune as _prune, prune_nulls
from .validation import MISSING, validate_embedded, validate_list_types, validate_openapi

__all__ = [
    "CompiledSchema", "BLOCKING_CAUSE_TYPES", "validate", "prune", "apply_defaults",
    "unknown_field_warnings", "strict_decoding_error",
]

#: Cause types after which kube-apiserver does not run CEL rules.
BLOCKING_CAUSE_TYPES = frozenset({
    "FieldValueNotSupported", "FieldValueRequired", "FieldValueTooLong",
    "FieldValueTooMany", "FieldValueTypeInvalid",
})

_SKIPPED_RULES = (
    "some validation rules were not checked because the object was invalid; "
    "correct the existing errors to complete validation"
)

_CACHE_SIZE = 256


class CompiledSchema:
    """
    A structural schema ready to validate, prune and default custom objects.

    Build it once per CRD version (or use L{CompiledSchema.cached}); the CEL
    rules are compiled on first use and kept.
    """

    _cache: "OrderedDict[str, CompiledSchema]" = OrderedDict()

    def __init__(self, openapi_v3_schema: Optional[dict]) -> None:
        self.schema = openapi_v3_schema or {}
        self.root: Node = compile_node(self.schema, is_root=True)

    @classmethod
    def cached(cls, openapi_v3_schema: Optional[dict]) -> "CompiledSchema":
        """The compiled schema for an equal schema, compiling it the first time."""
        key = json.dumps(openapi_v3_schema, sort_keys=True, separators=(",", ":"))
        found = cls._cache.get(key)
        if found is not None:
            cls._cache.move_to_end(key)
            return found
        compiled = cls(openapi_v3_schema)
        cls._cache[key] = compiled
        if len(cls._cache) > _CACHE_SIZE:
            cls._cache.popitem(last=False)
        return compiled

    def validate(self, obj: Any, old: Any = None) -> List[dict]:
        """
        The causes of a 422 C{Invalid} for C{obj} (empty when valid); C{old} is
        the stored object on update (transition rules, ratcheting). Object
        metadata at the root (name, namespace, labels...) is the generic store's
        business and is not checked here.
        """
        root = self.root
        o = MISSING if old is None else old
        errs = validate_openapi(obj, root, "", o)
        errs.extend(validate_embedded(obj, root))
        errs.extend(validate_list_types(obj, root))
        if root.has_rules_below:
            if any(e["reason"] in BLOCKING_CAUSE_TYPES for e in errs):
                errs.append(fe.invalid(fe.NIL_PATH, None, _SKIPPED_RULES))
            else:
                errs.extend(validate_rules(obj, root, old))
        return errs

    def prune(self, obj: Any) -> List[str]:
        """Drop unknown fields (and non-nullable nulls) in place; return the unknown field paths.
        Without a schema (C{None}) nothing is pruned."""
        if not self.schema:
            return []
        unknown = _prune(obj, self.root, True)
        prune_nulls(obj, self.root)
        return unknown

    def default(self, obj: Any) -> Any:
        """Apply the schema's defaults to C{obj} in place; returns C{obj}."""
        return _apply_defaults(obj, self.root)

def unknown_field_warnings(unknown_paths: List[str]) -> List[str]:
    """The C{Warning} texts for C{fieldValidation=Warn} (C{unknown field "spec.foo"})."""
    return [f'unknown field "{p}"' for p in unknown_paths]


def strict_decoding_error(unknown_paths: List[str]) -> str:
    """The text after C{<Kind> in version "v1" cannot be handled as a <Kind>: } for C{Strict}."""
    return "strict decoding error: " + ", ".join(unknown_field_warnings(unknown_paths))


def validate(obj: Any, schema: Optional[dict], old: Any = None) -> List[dict]:
    """The causes of a 422 for custom object C{obj} under C{schema} (empty if valid)."""
    return CompiledSchema.cached(schema).validate(obj, old)


def prune(obj: Any, schema: Optional[dict]) -> Tuple[Any, List[str]]:
    """Prune C{obj} in place; return it with the sorted paths of the unknown fields."""
    return obj, CompiledSchema.cached(schema).prune(obj)


def apply_defaults(obj: Any, schema: Optional[dict]) -> Any:
    """Apply C{schema}'s defaults to C{obj} in place and return it."""
    return CompiledSchema.cached(schema).default(obj)
