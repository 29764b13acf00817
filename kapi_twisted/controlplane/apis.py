"""
The KubeAPI server's own API: every built-in group-version kube-apiserver
1.37 serves by default, each resource backed by the generic store, the
OpenAPI documents of those group-versions, and the system namespaces hook.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Tuple

from kapi_twisted.apis import registry
from kapi_twisted.apis.registry import ResourceInfo
from kapi_twisted.controlplane.system_namespaces import HOOK_NAME, system_namespaces_hook
from kapi_twisted.endpoints.installer import install_group_version

StoreKey = Tuple[str, str, str]



def foreign_groups() -> Tuple[str, ...]:
    """Built-in groups another server of the chain serves (APIExtensions, aggregator)."""
    return tuple(g for g, _ in registry.group_versions() if registry.server_for(g) != "kube")


def build_builtin_stores(storage: Any, resources: Iterable[ResourceInfo],
                         **kwargs: Any) -> Dict[StoreKey, Any]:
    """The generic store of every listed resource, keyed by (group, version, plural)."""
    from kapi_twisted.registry.store import build_stores

    resources = tuple(resources)
    built = build_stores(storage, resources, **kwargs)
    stores: Dict[StoreKey, Any] = {}
    items = built.items() if isinstance(built, Mapping) else ((s.info, s) for s in built)
    for key, store in items:
        if isinstance(key, ResourceInfo):
            key = (key.group, key.version, key.plural)
        elif isinstance(key, str):
            info = store.info
            key = (info.group, info.version, info.plural)
        stores[key] = store
    return stores


def wire_type_behaviour(server: Any, stores: Mapping[StoreKey, Any], config: Any) -> None:
    """
    Give the stores what their kinds' write rules read beyond the object:
    Services allocate from C{--service-cluster-ip-range} and
    C{--service-node-port-range} (the state is rebuilt from the stored
    Services before the first Service write); pods read their ServiceAccount
    (checked only while this server runs the serviceaccount controller, see
    L{kapi_twisted.registry.strategy.PodStrategy}), PriorityClass and the
    namespace's LimitRanges.
    """
    from kapi_twisted.registry.allocators import (DEFAULT_NODE_PORT_RANGE,
                                                  DEFAULT_SERVICE_CIDR, ServiceAllocation)

    services = stores.get(("", "v1", "services"))
    strategy = getattr(services, "strategy", None)
    if hasattr(strategy, "use_allocation"):
        strategy.use_allocation(ServiceAllocation(
            getattr(config, "service_cluster_ip_range", "") or DEFAULT_SERVICE_CIDR,
            getattr(config, "service_node_port_range", "") or DEFAULT_NODE_PORT_RANGE))
    pods = stores.get(("", "v1", "pods"))
    strategy = getattr(pods, "strategy", None)
    if hasattr(strategy, "check_service_accounts"):
        strategy.service_accounts = stores.get(("", "v1", "serviceaccounts"))
        strategy.namespaces = stores.get(("", "v1", "namespaces"))
        strategy.priority_classes = stores.get(("scheduling.k8s.io", "v1", "priorityclasses"))
        strategy.limit_ranges = stores.get(("", "v1", "limitranges"))
        strategy.check_service_accounts = lambda: _runs_controllers(server)


def _runs_controllers(server: Any) -> bool:
    """Whether kube-controller-manager's controllers run with this server."""
    from kapi_twisted.controlplane.controllers.manager import HOOK_NAME as CONTROLLERS

    return CONTROLLERS in server.all_post_start_hooks()


def _default_advertise(config: Any) -> Callable[[], Tuple[str, int]]:
    def advertise() -> Tuple[str, int]:
        port = 6443
        for part in str(getattr(config, "port", "")).split(":")[1:]:
            if part.isdigit():
                port = int(part)
                break
        return "127.0.0.1", port

    return advertise


def register_openapi(server: Any, groups: Iterable[str]) -> None:
    """Publish the built-in group-versions' OpenAPI v3 documents and the v2 document."""
    from kapi_twisted.apis import openapi

    wanted = set(groups)
    add_v3 = getattr(server.openapi, "add_group_version", None) or server.openapi.add_v3
    for key in openapi.v3_index():
        parts = key.split("/")
        group = "" if parts[0] == "api" else (parts[1] if len(parts) > 1 else None)
        if group is not None and group not in wanted:
            continue
        add_v3(key, lambda key=key: openapi.v3_document_json(key)[0])
    add_v2 = getattr(server.openapi, "add_v2", None)
    if add_v2 is not None:
        def v2() -> Tuple[dict, dict]:
            doc = openapi.v2_document()
            return doc["paths"], doc["definitions"]

        add_v2("kube-apiserver-builtin", v2)


def install_groups(
    server: Any,
    groups: Iterable[str],
    storage: Any,
    config: Any,
    long_running: Any = None,
    clock: Any = None,
    stores: Optional[Mapping[StoreKey, Any]] = None,
) -> Dict[StoreKey, Any]:
    """
    Serve the built-in C{groups} (all their versions) on C{server} with the
    generic store, and publish their OpenAPI documents. Returns the stores.
    """
    groups = list(groups)
    clock = clock if clock is not None else server.reactor
    if stores is None:
        from kapi_twisted.controlplane.reviews import review_stores

        resources = [r for r in registry.all_resources() if r.group in groups and r.list_kind]
        stores = build_builtin_stores(storage, resources, clock=clock,
                                      prefix=getattr(config, "etcd_prefix", "/registry"))
        for key, store in review_stores().items():
            if key[0] in groups:
                stores.setdefault(key, store)
    min_timeout = float(getattr(config, "min_request_timeout", 1800))
    for group, versions in registry.group_versions():
        if group not in groups:
            continue
        for version in versions:
            gv_resources = registry.resources_for(group, version)
            gv_stores = {r.plural: stores[(group, version, r.plural)]
                         for r in gv_resources if (group, version, r.plural) in stores}
            install_group_version(server, group, version, gv_resources, gv_stores, clock,
                                  min_timeout, long_running)
    register_openapi(server, groups)
    return dict(stores)


def install_builtin_apis(
    server: Any,
    storage: Any,
    config: Any,
    long_running: Any = None,
    advertise: Optional[Callable[[], Tuple[str, int]]] = None,
    clock: Any = None,
    stores: Optional[Mapping[StoreKey, Any]] = None,
    skip_groups: Optional[Iterable[str]] = None,
) -> Dict[StoreKey, Any]:
    """
    Serve the built-in API on C{server} (the KubeAPI L{GenericAPIServer}):
    handlers and discovery for every built-in group-version (except
    C{skip_groups}, by default the groups L{foreign_groups} names, which
    L{install_groups} can put on their own servers), their OpenAPI documents, and the
    C{start-system-namespaces-controller} post-start hook.

    @param advertise: returns the (IP, port) clients reach the server at,
        for the C{default/kubernetes} Endpoints; read when the hook runs.
    @param stores: prebuilt stores (tests); built from C{storage} otherwise.
    @return: the stores, keyed by (group, version, plural).
    """
    skip = set(foreign_groups() if skip_groups is None else skip_groups)
    groups = [g for g, _ in registry.group_versions() if g not in skip]
    stores = install_groups(server, groups, storage, config, long_running, clock, stores)
    wire_type_behaviour(server, stores, config)
    hook_stores = {plural: stores[("", "v1", plural)]
                   for plural in ("namespaces", "services", "endpoints")}
    server.add_post_start_hook(HOOK_NAME, system_namespaces_hook(
        hook_stores, getattr(config, "service_cluster_ip_range", "10.0.0.0/24"),
        advertise or _default_advertise(config)))
    return dict(stores)
