"""
Installing group-versions on a server: the handlers of each group-version at
C{/api/v1} or C{/apis/<g>/<v>}, the C{APIGroup} document at C{/apis/<g>}, and
the entries of the server's discovery registry the aggregator merges.

    install_group_version(server, "apps", "v1", resources, stores, clock=reactor)
"""

from __future__ import annotations

from typing import Any, Dict

from kapi_twisted import apierrors
from kapi_twisted.endpoints import discovery, negotiation
from kapi_twisted.endpoints.handlers import GroupVersionResource
from kapi_twisted.endpoints.negotiation import Output
from kapi_twisted.server.responses import APIResource, Response


class GroupDocument(APIResource):
    """C{/apis/<g>}: the group's C{APIGroup}, from the server's discovery registry."""

    def __init__(self, registry: discovery.DiscoveryRegistry, group: str) -> None:
        super().__init__()
        self.registry = registry
        self.group = group

    def handle(self, request: Any) -> Response:
        if request.method not in (b"GET", b"HEAD"):
            raise apierrors.method_not_allowed()
        if [s for s in request.postpath if s]:
            raise apierrors.route_not_found()
        versions = dict(self.registry.groups()).get(self.group)
        if not versions:
            raise apierrors.route_not_found()
        doc = discovery.api_group_document(self.group, versions)
        return Response(negotiation.encode(doc, Output()), 200, negotiation.JSON)


def gv_path(group: str, version: str) -> str:
    return f"/apis/{group}/{version}" if group else f"/api/{version}"


def install_group_version(
    server: Any,
    group: str,
    version: str,
    resources: discovery.Resources,
    stores: Dict[str, Any],
    clock: Any,
    min_request_timeout: float = 1800.0,
    long_running: Any = None,
) -> GroupVersionResource:
    """
    Serve one group-version on C{server} (a L{GenericAPIServer}): C{stores}
    maps plurals to their L{IResourceStore}; C{resources} is what discovery
    lists (resources without a store answer 405); it may be a callable
    returning them, read on every request, with C{stores} a dict its owner
    keeps up to date (custom resources).
    """
    handler = GroupVersionResource(group, version, resources, stores, clock,
                                   min_request_timeout, long_running)
    server.install(gv_path(group, version), handler)
    registry = discovery.discovery_registry_of(server)
    registry.add(group, version, resources if callable(resources) else tuple(resources))
    if group:
        server.install_router(f"/apis/{group}", index=GroupDocument(registry, group))
    return handler
