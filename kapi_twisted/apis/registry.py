"""
The built-in resources kube-apiserver 1.37 serves by default, as facts.

Discovery documents, URL routing, storage keys and `kubectl api-resources` all need the
same few facts per resource (plural, kind, scope, verbs, subresources, etcd prefix...).
They come from L{kapi_twisted.apis._resource_table}, generated from the discovery
documents Kubernetes publishes (see C{tools/gen_resource_table.py}).  Importing this
module only builds small frozen records; schemas and protobuf tables live elsewhere and
load lazily.

Group order (L{group_versions}) is the order of C{/apis}: kubectl resolves an ambiguous
short name by discovery order.  The core group is C{""} and comes first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterator, Optional, Tuple

from kapi_twisted.apis import _resource_table

__all__ = [
    "SubresourceInfo",
    "ResourceInfo",
    "all_resources",
    "group_versions",
    "preferred_version",
    "lookup",
    "by_kind",
    "resources_for",
    "find",
    "server_for",
]

#: Groups served by the other servers of the chain (DESIGN.md section 1).
_SERVER_BY_GROUP = {"apiextensions.k8s.io": "apiextensions",
                    "apiregistration.k8s.io": "aggregator"}


@dataclass(frozen=True)
class SubresourceInfo:
    """
    One subresource (C{status}, C{scale}, C{exec}...) of a resource.

    C{group}/C{version}/C{kind} is the response kind; aggregated discovery writes
    empty group and version when they equal the parent's.
    """

    name: str
    group: str
    version: str
    kind: str
    verbs: Tuple[str, ...]


@dataclass(frozen=True)
class ResourceInfo:
    """One resource of one group-version."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    verbs: Tuple[str, ...]
    short_names: Tuple[str, ...]
    categories: Tuple[str, ...]
    subresources: Tuple[SubresourceInfo, ...]
    #: kube-apiserver's resourcePrefix: the key is /registry/<etcd_prefix>/[<ns>/]<name>.
    etcd_prefix: str
    #: C{""} for resources that cannot be listed (bindings, reviews).
    list_kind: str
    #: Legacy discovery's storageVersionHash; C{""} for resources that are not stored.
    storage_version_hash: str

    @property
    def group_version(self) -> str:
        """The C{apiVersion} of objects of this resource: C{v1} or C{apps/v1}."""
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    api_version = group_version

    @property
    def path_prefix(self) -> str:
        """The URL prefix of this group-version: C{/api/v1} or C{/apis/apps/v1}."""
        if self.group:
            return "/apis/%s/%s" % (self.group, self.version)
        return "/api/%s" % (self.version,)

    @property
    def group_resource(self) -> str:
        """C{configmaps} or C{deployments.apps}, as in kube-apiserver's error messages."""
        return "%s.%s" % (self.plural, self.group) if self.group else self.plural

    @property
    def scope(self) -> str:
        """Aggregated discovery's scope: C{Namespaced} or C{Cluster}."""
        return "Namespaced" if self.namespaced else "Cluster"

    def subresource(self, name: str) -> Optional[SubresourceInfo]:
        """The subresource called C{name}, or C{None}."""
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None


def _build() -> Tuple[Tuple[ResourceInfo, ...], Tuple[Tuple[str, Tuple[str, ...]], ...]]:
    resources = []
    for (group, version, plural, singular, kind, namespaced, verbs, short_names,
         categories, subs, prefix, list_kind, svh) in _resource_table.RESOURCES:
        resources.append(ResourceInfo(
            group=group, version=version, plural=plural, singular=singular, kind=kind,
            namespaced=namespaced, verbs=verbs, short_names=short_names,
            categories=categories,
            subresources=tuple(SubresourceInfo(*s) for s in subs),
            etcd_prefix=prefix, list_kind=list_kind, storage_version_hash=svh))
    return tuple(resources), tuple(_resource_table.GROUP_VERSIONS)


_RESOURCES, _GROUP_VERSIONS = _build()
_BY_PLURAL: Dict[Tuple[str, str, str], ResourceInfo] = {
    (r.group, r.version, r.plural): r for r in _RESOURCES}
_BY_KIND: Dict[Tuple[str, str, str], ResourceInfo] = {}
for _r in _RESOURCES:
    _BY_KIND.setdefault((_r.group, _r.version, _r.kind), _r)
_BY_GV: Dict[Tuple[str, str], Tuple[ResourceInfo, ...]] = {}
for _r in _RESOURCES:
    _BY_GV[(_r.group, _r.version)] = _BY_GV.get((_r.group, _r.version), ()) + (_r,)
del _r


def all_resources() -> Tuple[ResourceInfo, ...]:
    """Every served resource, in discovery order (group order, then version, then plural)."""
    return _RESOURCES


def group_versions() -> Tuple[Tuple[str, Tuple[str, ...]], ...]:
    """C{((group, (preferred version, other versions...)), ...)} in C{/apis} order, core first."""
    return _GROUP_VERSIONS


def preferred_version(group: str) -> Optional[str]:
    """The version kube-apiserver prefers for C{group}, or C{None} if it is not served."""
    for name, versions in _GROUP_VERSIONS:
        if name == group:
            return versions[0]
    return None


def lookup(group: str, version: str, plural: str) -> Optional[ResourceInfo]:
    """The resource C{plural} of C{group/version}, or C{None}."""
    return _BY_PLURAL.get((group, version, plural))


def by_kind(group: str, version: str, kind: str) -> Optional[ResourceInfo]:
    """The resource whose objects are C{kind} in C{group/version}, or C{None}."""
    return _BY_KIND.get((group, version, kind))


def resources_for(group: str, version: str) -> Tuple[ResourceInfo, ...]:
    """The resources of one group-version, sorted by plural (empty if not served)."""
    return _BY_GV.get((group, version), ())


def find(name: str) -> Iterator[ResourceInfo]:
    """
    Resources a kubectl-style name could mean (plural, singular, short name, kind, or
    C{plural.group}), in discovery order, preferred versions first.
    """
    lowered = name.lower()
    plural_part, _, group_part = lowered.partition(".")
    preferred = {g: vs[0] for g, vs in _GROUP_VERSIONS}
    ordered = sorted(_RESOURCES, key=lambda r: r.version != preferred.get(r.group))
    for r in ordered:
        names = {r.plural, r.singular, r.kind.lower()} | set(r.short_names)
        if lowered in names or (group_part and plural_part in names and group_part == r.group):
            yield r


def server_for(group: str) -> str:
    """Which server of the chain serves C{group}: C{kube}, C{apiextensions} or C{aggregator}."""
    return _SERVER_BY_GROUP.get(group, "kube")
