"""
The merge metadata a strategic merge patch needs, and an adapter that reads it
from OpenAPI v2 definitions.

kube-apiserver reads C{patchStrategy}/C{patchMergeKey} from Go struct tags;
the same data is published as the C{x-kubernetes-patch-strategy} and
C{x-kubernetes-patch-merge-key} extensions on the properties of the OpenAPI
definitions, which is where we take it from. The strategic merge algorithm
only needs the small L{PatchSchema} protocol, so tests and other callers can
describe a type by hand.
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional, Protocol, Tuple

__all__ = ["PatchSchema", "OpenAPIPatchSchema", "find_definition"]

_REF_PREFIX = "#/definitions/"


class PatchSchema(Protocol):
    """
    What strategic merge patch needs to know about one value in an object.

    @ivar patch_strategy: the field's C{x-kubernetes-patch-strategy}, e.g.
        C{"merge"}, C{"retainKeys"} or C{"merge,retainKeys"}; L{None} if the
        field has none (lists are then replaced whole).
    @ivar patch_merge_key: the field's C{x-kubernetes-patch-merge-key} for
        lists of objects merged by key, else L{None}.
    """

    patch_strategy: Optional[str]
    patch_merge_key: Optional[str]

    def field(self, name: str) -> Optional["PatchSchema"]:
        """The schema of member C{name} of this object (or of any value of a
        map), or L{None} if unknown."""

    def items(self) -> Optional["PatchSchema"]:
        """The schema of this list's elements, or L{None} if unknown."""


class OpenAPIPatchSchema:
    """
    L{PatchSchema} over an OpenAPI v2 C{definitions} mapping, as served at
    C{/openapi/v2} (keys like C{io.k8s.api.core.v1.PodSpec}).

    Follows C{$ref} (also wrapped in a single-element C{allOf}), C{items} and
    C{additionalProperties}. The extensions are read from the property that
    holds the field, as Kubernetes publishes them.
    """

    __slots__ = (
        "_definitions",
        "_schema",
        "patch_strategy",
        "patch_merge_key",
        "_resolved",
        "_fields",
        "_items",
    )

    def __init__(
        self,
        definitions: Mapping[str, dict],
        schema: Mapping,
        patch_strategy: Optional[str] = None,
        patch_merge_key: Optional[str] = None,
    ) -> None:
        self._definitions = definitions
        self._schema = schema
        self.patch_strategy = patch_strategy
        self.patch_merge_key = patch_merge_key
        self._resolved: Optional[Mapping] = None
        self._fields: Dict[str, Optional[OpenAPIPatchSchema]] = {}
        self._items: Tuple[Optional[OpenAPIPatchSchema], ...] = ()

    @classmethod
    def for_definition(
        cls, definitions: Mapping[str, dict], name: str
    ) -> "OpenAPIPatchSchema":
        """
        The schema of the definition called C{name}
        (e.g. C{io.k8s.api.apps.v1.Deployment}).

        @raise KeyError: no such definition.
        """
        return cls(definitions, definitions[name])

    @classmethod
    def for_kind(
        cls, definitions: Mapping[str, dict], group: str, version: str, kind: str
    ) -> Optional["OpenAPIPatchSchema"]:
        """
        The schema of the definition whose C{x-kubernetes-group-version-kind}
        names C{group}/C{version}/C{kind}, or L{None}.
        """
        name = find_definition(definitions, group, version, kind)
        return None if name is None else cls(definitions, definitions[name])

    def _target(self) -> Mapping:
        """This schema with C{$ref}s followed."""
        if self._resolved is None:
            schema = self._schema
            seen = 0
            while True:
                ref = schema.get("$ref")
                if ref is None:
                    all_of = schema.get("allOf")
                    if isinstance(all_of, list) and len(all_of) == 1:
                        ref = all_of[0].get("$ref") if isinstance(all_of[0], dict) else None
                if not isinstance(ref, str) or not ref.startswith(_REF_PREFIX):
                    break
                target = self._definitions.get(ref[len(_REF_PREFIX):])
                seen += 1
                if not isinstance(target, dict) or seen > 32:
                    break
                schema = target
            self._resolved = schema
        return self._resolved

    def field(self, name: str) -> Optional["OpenAPIPatchSchema"]:
        if name in self._fields:
            return self._fields[name]
        target = self._target()
        node = None
        properties = target.get("properties")
        if isinstance(properties, dict) and isinstance(properties.get(name), dict):
            node = self._child(properties[name])
        else:
            extra = target.get("additionalProperties")
            if isinstance(extra, dict):
                node = self._child(extra)
        self._fields[name] = node
        return node

    def items(self) -> Optional["OpenAPIPatchSchema"]:
        if not self._items:
            items = self._target().get("items")
            self._items = (self._child(items) if isinstance(items, dict) else None,)
        return self._items[0]

    def _child(self, schema: Mapping) -> "OpenAPIPatchSchema":
        strategy = schema.get("x-kubernetes-patch-strategy")
        key = schema.get("x-kubernetes-patch-merge-key")
        return OpenAPIPatchSchema(
            self._definitions,
            schema,
            strategy if isinstance(strategy, str) and strategy else None,
            key if isinstance(key, str) and key else None,
        )

    def __repr__(self) -> str:
        return (
            f"OpenAPIPatchSchema(strategy={self.patch_strategy!r}, "
            f"merge_key={self.patch_merge_key!r})"
        )


def find_definition(
    definitions: Mapping[str, dict], group: str, version: str, kind: str
) -> Optional[str]:
    """The name of the definition tagged with this group/version/kind."""
    for name, schema in definitions.items():
        gvks = schema.get("x-kubernetes-group-version-kind") if isinstance(schema, dict) else None
        for gvk in gvks or ():
            if (
                isinstance(gvk, dict)
                and gvk.get("group", "") == group
                and gvk.get("version") == version
                and gvk.get("kind") == kind
            ):
                return name
    return None
