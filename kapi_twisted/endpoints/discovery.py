"""
Discovery documents, legacy and aggregated, and the per-server registry of
what each server of the chain serves.

Each server fills its L{DiscoveryRegistry} (found with
L{discovery_registry_of}) with the group-versions it serves, as lists of
L{ResourceInfo}; a group-version may be given as a callable so that servers
whose resources change (custom resources) answer with what they serve now.
The aggregator (L{kapi_twisted.aggregator}) merges the registries of the
whole chain for C{/api} and C{/apis}; each server answers C{/api/v1},
C{/apis/<g>} and C{/apis/<g>/<v>} for its own group-versions.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from kapi_twisted.apis import registry as apis_registry
from kapi_twisted.apis.registry import ResourceInfo

Resources = Union[Sequence[ResourceInfo], Callable[[], Sequence[ResourceInfo]]]


class DiscoveryRegistry:
    """
    The group-versions one server serves, in the order they were added
    (a group's versions in preference order).
    """

    def __init__(self) -> None:
        self._groups: Dict[str, Dict[str, Resources]] = {}

    def add(self, group: str, version: str, resources: Resources) -> None:
        """Serve C{group/version} with C{resources} (a list, or a callable giving one)."""
        self._groups.setdefault(group, {})[version] = resources

    def set_versions(self, group: str, versions: Dict[str, Resources]) -> None:
        """Replace a group's versions (preferred first); an empty dict removes the group."""
        if versions:
            self._groups[group] = dict(versions)
        else:
            self._groups.pop(group, None)

    def remove(self, group: str, version: Optional[str] = None) -> None:
        if version is None:
            self._groups.pop(group, None)
            return
        versions = self._groups.get(group)
        if versions is not None:
            versions.pop(version, None)
            if not versions:
                del self._groups[group]

    def groups(self) -> List[Tuple[str, List[str]]]:
        """C{[(group, [versions, preferred first])]}."""
        return [(g, list(vs)) for g, vs in self._groups.items() if vs]

    def resources(self, group: str, version: str) -> Optional[List[ResourceInfo]]:
        """The resources of C{group/version}, or None when not served here."""
        versions = self._groups.get(group)
        if versions is None or version not in versions:
            return None
        entry = versions[version]
        return list(entry() if callable(entry) else entry)


_REGISTRIES: "weakref.WeakKeyDictionary[Any, DiscoveryRegistry]" = weakref.WeakKeyDictionary()


def discovery_registry_of(server: Any) -> DiscoveryRegistry:
    """The discovery registry of one server of the chain (made on first use)."""
    reg = _REGISTRIES.get(server)
    if reg is None:
        reg = _REGISTRIES[server] = DiscoveryRegistry()
    return reg


# -- merged view of a chain ---------------------------------------------------


def _builtin_order() -> Dict[str, int]:
    return {g: i for i, (g, _) in enumerate(apis_registry.group_versions())}


def chain_groups(servers: Iterable[Any]) -> List[Tuple[str, List[str], Any]]:
    """
    C{[(group, versions, registry)]} across a chain, outermost server first
    winning a group; built-in groups in kube-apiserver's C{/apis} order,
    others (custom resource groups) after them by name.
    """
    seen: Dict[str, Tuple[List[str], DiscoveryRegistry]] = {}
    for server in servers:
        reg = _REGISTRIES.get(server)
        if reg is None:
            continue
        for group, versions in reg.groups():
            if group not in seen:
                seen[group] = (versions, reg)
    order = _builtin_order()
    names = sorted(seen, key=lambda g: (0, order[g], "") if g in order else (1, 0, g))
    return [(g, seen[g][0], seen[g][1]) for g in names]


# -- legacy documents -----------------------------------------------------------


def _gv(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def api_versions(versions: Sequence[str], server_address: str = "") -> dict:
    """C{/api}: C{APIVersions}, without apiVersion (kube strips it for the core group)."""
    doc: Dict[str, Any] = {"kind": "APIVersions", "versions": list(versions)}
    doc["serverAddressByClientCIDRs"] = [
        {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
    ] if server_address else None
    if doc["serverAddressByClientCIDRs"] is None:
        del doc["serverAddressByClientCIDRs"]
    return doc


def api_group(group: str, versions: Sequence[str]) -> dict:
    gvs = [{"groupVersion": _gv(group, v), "version": v} for v in versions]
    return {
        "name": group,
        "versions": gvs,
        "preferredVersion": gvs[0],
    }


def api_group_document(group: str, versions: Sequence[str]) -> dict:
    """C{/apis/<g>}: one C{APIGroup}."""
    doc = {"kind": "APIGroup", "apiVersion": "v1"}
    doc.update(api_group(group, versions))
    return doc


def api_group_list(groups: Iterable[Tuple[str, Sequence[str]]]) -> dict:
    """C{/apis}: C{APIGroupList} (the core group left out)."""
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [api_group(g, vs) for g, vs in groups if g],
    }


def _legacy_entry(info: ResourceInfo) -> dict:
    entry: Dict[str, Any] = {
        "name": info.plural,
        "singularName": info.singular,
        "namespaced": info.namespaced,
        "kind": info.kind,
        "verbs": list(info.verbs),
    }
    if info.short_names:
        entry["shortNames"] = list(info.short_names)
    if info.categories:
        entry["categories"] = list(info.categories)
    if info.storage_version_hash:
        entry["storageVersionHash"] = info.storage_version_hash
    return entry


def _legacy_sub_entry(info: ResourceInfo, sub: Any) -> dict:
    entry: Dict[str, Any] = {
        "name": f"{info.plural}/{sub.name}",
        "singularName": "",
        "namespaced": info.namespaced,
    }
    if (sub.group, sub.version) != (info.group, info.version):
        entry["group"] = sub.group
        entry["version"] = sub.version
    entry["kind"] = sub.kind
    entry["verbs"] = list(sub.verbs)
    return entry


def api_resource_list(group: str, version: str, resources: Sequence[ResourceInfo]) -> dict:
    """C{/api/v1} (no apiVersion) or C{/apis/<g>/<v>} (apiVersion v1): C{APIResourceList}."""
    doc: Dict[str, Any] = {"kind": "APIResourceList"}
    if group:
        doc["apiVersion"] = "v1"
    doc["groupVersion"] = _gv(group, version)
    entries = []
    for info in sorted(resources, key=lambda r: r.plural):
        entries.append(_legacy_entry(info))
        for sub in sorted(info.subresources, key=lambda s: s.name):
            entries.append(_legacy_sub_entry(info, sub))
    doc["resources"] = entries
    return doc


# -- aggregated documents (apidiscovery.k8s.io) -------------------------------


def _aggregated_resource(info: ResourceInfo) -> dict:
    entry: Dict[str, Any] = {
        "resource": info.plural,
        "responseKind": {"group": info.group, "version": info.version, "kind": info.kind},
        "scope": info.scope,
        "singularResource": info.singular,
        "verbs": list(info.verbs),
    }
    if info.short_names:
        entry["shortNames"] = list(info.short_names)
    if info.categories:
        entry["categories"] = list(info.categories)
    if info.subresources:
        entry["subresources"] = [
            {
                "subresource": sub.name,
                "responseKind": {"group": sub.group, "version": sub.version, "kind": sub.kind},
                "verbs": list(sub.verbs),
            }
            for sub in sorted(info.subresources, key=lambda s: s.name)
        ]
    return entry


def aggregated_group(group: str, versions: Sequence[Tuple[str, Sequence[ResourceInfo]]]) -> dict:
    """One C{APIGroupDiscovery}: its versions (preferred first) and their resources."""
    metadata: Dict[str, Any] = {"creationTimestamp": None}
    if group:
        metadata = {"name": group, "creationTimestamp": None}
    return {
        "metadata": metadata,
        "versions": [
            {
                "version": version,
                "resources": [_aggregated_resource(r)
                              for r in sorted(resources, key=lambda r: r.plural)],
                "freshness": "Current",
            }
            for version, resources in versions
        ],
    }


def aggregated_list(groups: Iterable[dict], api_version: str = "apidiscovery.k8s.io/v2") -> dict:
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": api_version,
        "metadata": {},
        "items": list(groups),
    }
