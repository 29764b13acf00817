"""
Where objects live in storage, laid out as kube-apiserver lays them out in
etcd: C{<prefix>/<etcd_prefix>/<namespace>/<name>} for namespaced resources,
C{<prefix>/<etcd_prefix>/<name>} for cluster-scoped ones.

The storage contract takes full keys: L{kapi_twisted.storage.build_storage}
puts its watch cache over C{prefix + "/"} but does not add the prefix itself,
so the registry is given the same C{--etcd-prefix} (default C{/registry}).
"""

from __future__ import annotations

from kapi_twisted.apis.registry import ResourceInfo

DEFAULT_PREFIX = "/registry"


class KeyLayout:
    """The keys of one resource under one C{--etcd-prefix}."""

    def __init__(self, info: ResourceInfo, prefix: str = DEFAULT_PREFIX) -> None:
        self.namespaced = info.namespaced
        self.root = "%s/%s/" % (prefix.rstrip("/"), info.etcd_prefix.strip("/"))

    def key(self, namespace: str, name: str) -> str:
        if self.namespaced:
            return "%s%s/%s" % (self.root, namespace, name)
        return self.root + name

    def list_prefix(self, namespace: str = "") -> str:
        """The prefix of a collection: one namespace's, or everything."""
        if self.namespaced and namespace:
            return "%s%s/" % (self.root, namespace)
        return self.root
