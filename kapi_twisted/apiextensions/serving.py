"""
L{CustomResourceServing}: what the APIExtensions server serves for custom
resources right now, kept in step with the CRDs (kube's C{crdHandler} with
its C{crdInfo} cache, and the discovery and OpenAPI controllers).

Fed by the CRD informer (L{kapi_twisted.apiextensions.controllers}) with
every CRD as it changes, it keeps:
  - per CRD, a store for each served version (over a L{VersionedStorage}
    that converts to and from the storage version), rebuilt when the CRD's
    spec or accepted names change; the watches of a replaced store are ended
    so clients re-watch with the new definition;
  - per group, a L{CustomResourceGroup} at C{/apis/<group>} in the server's
    tree, and the group's versions in the server's discovery registry
    (established CRDs only, versions in kube's priority order);
  - the OpenAPI v3 document of each served group-version and one v2
    contribution per CRD.
"""

from __future__ import annotations

import json
import weakref
from typing import Any, Dict, List, Optional, Tuple

from twisted.logger import Logger

from kapi_twisted.endpoints.discovery import discovery_registry_of
from kapi_twisted.registry.interface import ListOptions, RequestContext

from . import _crd
from . import openapi as cr_openapi
from ._codec import VersionedStorage
from .conversion import Converter
from .customresource import (
    CustomResourceInfo,
    CustomResourceStore,
    CustomResourceStrategy,
    custom_resource_info,
    register_selectable_fields,
)
from .handler import CustomResourceGroup, CustomResourceVersion
from .schema import CompiledSchema

__all__ = ["CRDServing", "CustomResourceServing"]

log = Logger()


def _fingerprint(crd: dict) -> str:
    """What the stores depend on: the spec, the accepted names and the storage version."""
    return json.dumps([_crd.spec(crd), _crd.accepted_names(crd),
                       (crd.get("metadata") or {}).get("uid")], sort_keys=True)


class _TrackingStore(CustomResourceStore):
    """Remembers its running watches so they can be ended when the CRD changes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.live_watches: "weakref.WeakSet[Any]" = weakref.WeakSet()

    def watch(self, ctx: RequestContext, namespace: str, options: ListOptions, send: Any):
        d = super().watch(ctx, namespace, options, send)

        def remember(w: Any) -> Any:
            self.live_watches.add(w)
            return w

        return d.addCallback(remember)

    def end_watches(self) -> None:
        for w in list(self.live_watches):
            try:
                w.stop()
            except Exception:
                log.failure("ending a custom resource watch failed")


class CRDServing:
    """The stores of one CRD as it is now."""

    def __init__(self, crd: dict, storage: Any, clock: Any, prefix: str, reactor: Any,
                 admission: Any = None) -> None:
        self.crd = crd
        self.admission = admission
        self.name = _crd.name_of(crd)
        self.group = _crd.group(crd)
        self.fingerprint = _fingerprint(crd)
        self.converter = Converter(crd, reactor)
        storage_version = _crd.storage_version(crd)
        self.storage_api_version = f"{self.group}/{storage_version}"
        self.infos: Dict[str, CustomResourceInfo] = {}
        self.stores: Dict[str, _TrackingStore] = {}
        for version in _crd.served_versions(crd):
            self.infos[version] = info = custom_resource_info(crd, version)
            register_selectable_fields(info, _crd.selectable_fields_of(crd, version))
            self.stores[version] = self._store(info, storage, clock, prefix)
        cleanup_info = self.infos.get(storage_version) or custom_resource_info(
            crd, storage_version)
        self.cleanup_store = self.stores.get(storage_version) or self._store(
            cleanup_info, storage, clock, prefix)
        self.update_state(crd)

    def _store(self, info: CustomResourceInfo, storage: Any, clock: Any,
               prefix: str) -> _TrackingStore:
        schema = _crd.schema_of(self.crd, info.version)
        compiled = CompiledSchema.cached(schema) if schema is not None else None
        versioned = VersionedStorage(storage, self.converter, info.group_version,
                                     self.storage_api_version, compiled)
        store = _TrackingStore(info, versioned, CustomResourceStrategy(info, compiled), clock,
                               prefix)
        store.admission = self.admission
        return store

    def update_state(self, crd: dict) -> None:
        """Take the CRD's latest conditions (no rebuild needed)."""
        self.crd = crd
        self.serving = _crd.serving_allowed(crd)
        self.established = _crd.condition_true(crd, _crd.ESTABLISHED)
        terminating = _crd.terminating(crd)
        for store in self.all_stores():
            store.terminating = terminating

    def all_stores(self) -> List[Any]:
        stores = list(self.stores.values())
        if self.cleanup_store not in stores:
            stores.append(self.cleanup_store)
        return stores

    def close(self) -> None:
        for store in self.stores.values():
            store.end_watches()


class CustomResourceServing:
    """
    @param server: the APIExtensions L{GenericAPIServer}.
    @param storage: the shared storage (the watch cache).
    """

    def __init__(self, server: Any, storage: Any, clock: Any, prefix: str = "/registry",
                 min_request_timeout: float = 1800.0, long_running: Any = None,
                 reactor: Any = None) -> None:
        self.server = server
        self.storage = storage
        self.clock = clock
        self.prefix = prefix
        self.min_request_timeout = min_request_timeout
        self.long_running = long_running
        self.reactor = reactor if reactor is not None else clock
        self.crds: Dict[str, CRDServing] = {}
        self._handlers: Dict[Tuple[str, str], CustomResourceVersion] = {}
        self._stores: Dict[Tuple[str, str], Dict[str, Any]] = {}
        self._groups: Dict[str, CustomResourceGroup] = {}
        self._published_gvs: Dict[str, List[str]] = {}
        #: Admission run by every custom resource store (set with L{set_admission}).
        self.admission: Any = None

    def set_admission(self, admission: Any) -> None:
        """Run C{admission} (an C{IAdmission}) on every custom resource store, now and later."""
        self.admission = admission
        for crd in self.crds.values():
            crd.admission = admission
            for store in crd.all_stores():
                store.admission = admission

    # -- what the informer tells us ----------------------------------------------------

    def crd_changed(self, crd: dict) -> None:
        """A CRD was created or changed (or is seen at start-up)."""
        name = _crd.name_of(crd)
        current = self.crds.get(name)
        if current is not None and current.fingerprint == _fingerprint(crd):
            current.update_state(crd)
        else:
            if current is not None:
                current.close()
            self.crds[name] = CRDServing(crd, self.storage, self.clock, self.prefix,
                                         self.reactor, self.admission)
            if current is not None and current.group != _crd.group(crd):
                self._refresh_group(current.group)
        self._refresh_group(_crd.group(crd))

    def crd_deleted(self, name: str) -> None:
        current = self.crds.pop(name, None)
        if current is None:
            return
        current.close()
        self.server.openapi.remove_v2(f"crd/{name}")
        self._refresh_group(current.group)

    # -- queries (handlers, discovery, controllers) -------------------------------------

    def serving_of(self, name: str) -> Optional[CRDServing]:
        return self.crds.get(name)

    def _in_group(self, group: str) -> List[CRDServing]:
        return [c for c in self.crds.values() if c.group == group]

    def served(self, group: str, version: str) -> List[CustomResourceInfo]:
        """Resources a request may reach now: names accepted (or established)."""
        return [c.infos[version] for c in self._in_group(group)
                if c.serving and version in c.infos]

    def discovered(self, group: str, version: str) -> List[CustomResourceInfo]:
        """Resources discovery lists: established CRDs only."""
        return [c.infos[version] for c in self._in_group(group)
                if c.established and version in c.infos]

    def discovered_versions(self, group: str) -> List[str]:
        versions = {v for c in self._in_group(group) if c.established for v in c.infos}
        return _crd.sort_versions(list(versions))

    def version_handler(self, group: str, version: str) -> Optional[CustomResourceVersion]:
        if not self.served(group, version):
            return None
        return self._handlers.get((group, version))

    # -- keeping the tree, discovery and OpenAPI in step ---------------------------------

    def _refresh_group(self, group: str) -> None:
        crds = self._in_group(group)
        versions = _crd.sort_versions([v for c in crds for v in c.infos])
        for version in versions:
            key = (group, version)
            stores = self._stores.setdefault(key, {})
            stores.clear()
            for c in crds:
                if version in c.stores:
                    stores[c.infos[version].plural] = c.stores[version]
            if key not in self._handlers:
                self._handlers[key] = CustomResourceVersion(
                    group, version, lambda g=group, v=version: self.served(g, v), stores,
                    self.clock, self.min_request_timeout, self.long_running,
                    lambda g=group, v=version: self.discovered(g, v))
        for key in [k for k in self._handlers if k[0] == group and k[1] not in versions]:
            del self._handlers[key]
            self._stores.pop(key, None)
        self._install_group(group, bool(crds))
        self._publish_discovery(group)
        self._publish_openapi(group)
        for c in crds:
            self._publish_v2(c)

    def _apis_router(self) -> Any:
        return self.server.install_router("/apis")

    def _install_group(self, group: str, wanted: bool) -> None:
        router = self._apis_router()
        segment = group.encode()
        if wanted and group not in self._groups:
            if segment in router.children:
                log.warn("CRD group {group} is served by another handler here", group=group)
                return
            self._groups[group] = resource = CustomResourceGroup(self, group, router.delegate)
            router.putChild(segment, resource)
        elif not wanted and group in self._groups:
            del self._groups[group]
            if router.children.get(segment) is not None:
                del router.children[segment]

    def _publish_discovery(self, group: str) -> None:
        registry = discovery_registry_of(self.server)
        versions = self.discovered_versions(group)
        registry.set_versions(group, {
            v: (lambda g=group, v=v: self.discovered(g, v)) for v in versions})

    def _publish_openapi(self, group: str) -> None:
        registry = self.server.openapi
        versions = self.discovered_versions(group)
        old = self._published_gvs.get(group, [])
        for version in old:
            if version not in versions:
                registry.remove_group_version(f"apis/{group}/{version}")
        for version in versions:
            registry.add_group_version(
                f"apis/{group}/{version}",
                lambda g=group, v=version: cr_openapi.v3_document(g, v, self._pairs(g, v)))
        if versions:
            self._published_gvs[group] = versions
        else:
            self._published_gvs.pop(group, None)

    def _pairs(self, group: str, version: str) -> List[Tuple[dict, CustomResourceInfo]]:
        return [(c.crd, c.infos[version]) for c in self._in_group(group)
                if c.established and version in c.infos]

    def _publish_v2(self, c: CRDServing) -> None:
        key = f"crd/{c.name}"
        if not c.established or not c.infos:
            self.server.openapi.remove_v2(key)
            return
        name = c.name

        def build() -> Tuple[dict, dict]:
            current = self.crds.get(name)
            if current is None:
                return {}, {}
            return cr_openapi.v2_parts([(current.crd, info) for info in current.infos.values()])

        self.server.openapi.add_v2(key, build)
