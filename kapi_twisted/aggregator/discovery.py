"""
C{/api} and C{/apis} for the whole chain.

kubectl and client-go ask for aggregated discovery
(C{apidiscovery.k8s.io} v2 or v2beta1 C{APIGroupDiscoveryList}) with an
C{Accept} header naming it, and fall back to the legacy documents
(C{APIVersions}, C{APIGroupList}) that kopf and the Python client always use;
both are answered here from the registries of every server in the chain, at
request time, so groups added later (custom resources) appear at once.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, List, Optional, Sequence, Tuple

from kapi_twisted import apierrors
from kapi_twisted.endpoints import discovery, negotiation
from kapi_twisted.endpoints.negotiation import Output
from kapi_twisted.server.responses import APIResource, Response

_AGGREGATED_VERSIONS = ("v2", "v2beta1")


def negotiate_discovery(accept: str) -> Optional[str]:
    """
    The aggregated version (C{v2}, C{v2beta1}) the client asks for first, or
    None for the legacy documents; 406 when neither is acceptable.
    """
    ranges = negotiation.parse_accept(accept) if accept.strip() else [
        negotiation.MediaRange("*/*")]
    for r in ranges:
        if r.type not in (negotiation.JSON, "*/*", "application/*"):
            continue
        kind = r.param("as")
        if not kind:
            return None
        if (kind == "APIGroupDiscoveryList" and r.param("g") == "apidiscovery.k8s.io"
                and r.param("v") in _AGGREGATED_VERSIONS):
            return r.param("v")
    raise apierrors.not_acceptable((negotiation.JSON,))


class RootDiscovery(APIResource):
    """
    C{/api} (C{legacy=True}) or C{/apis} for the servers C{servers()} returns
    (outermost first).
    """

    def __init__(self, servers: Callable[[], Sequence[Any]], core: bool,
                 server_address: Callable[[], str] = lambda: "") -> None:
        super().__init__()
        self.servers = servers
        self.core = core
        self.server_address = server_address

    def handle(self, request: Any) -> Response:
        if request.method not in (b"GET", b"HEAD"):
            raise apierrors.method_not_allowed()
        if [s for s in request.postpath if s]:
            raise apierrors.route_not_found()
        accept = request.getHeader(b"accept") or ""
        if isinstance(accept, bytes):
            accept = accept.decode("latin-1")
        version = negotiate_discovery(accept)
        groups = discovery.chain_groups(self.servers())
        if self.core:
            groups = [g for g in groups if g[0] == ""]
        else:
            groups = [g for g in groups if g[0] != ""]
        if version is None:
            return self._legacy(groups, request)
        return self._aggregated(request, groups, version)

    def _legacy(self, groups: List[Tuple[str, List[str], Any]], request: Any) -> Response:
        if self.core:
            versions = groups[0][1] if groups else []
            doc = discovery.api_versions(versions, self.server_address() or _host(request))
        else:
            doc = discovery.api_group_list((g, vs) for g, vs, _ in groups)
        return Response(negotiation.encode(doc, Output()), 200, negotiation.JSON)

    def _aggregated(self, request: Any, groups: List[Tuple[str, List[str], Any]],
                    version: str) -> Response:
        items = []
        for group, versions, reg in groups:
            served = []
            for v in versions:
                resources = reg.resources(group, v)
                if resources is not None:
                    served.append((v, resources))
            if served:
                items.append(discovery.aggregated_group(group, served))
        doc = discovery.aggregated_list(items, f"apidiscovery.k8s.io/{version}")
        body = negotiation.encode(doc, Output())
        etag = '"%s"' % hashlib.sha256(body).hexdigest()
        headers = {"ETag": etag, "Vary": "Accept", "Cache-Control": "public"}
        content_type = (f"application/json;g=apidiscovery.k8s.io;v={version};"
                        "as=APIGroupDiscoveryList")
        match = request.getHeader(b"if-none-match")
        if isinstance(match, bytes):
            match = match.decode("latin-1")
        if match and etag in [m.strip() for m in match.split(",")]:
            return Response(b"", 304, None, headers)
        return Response(body, 200, content_type, headers)


def _host(request: Any) -> str:
    """The address the client reached us at (the Host header), as host:port."""
    host = request.getHeader(b"host") or ""
    if isinstance(host, bytes):
        host = host.decode("latin-1")
    if host and ":" not in host.rsplit("]", 1)[-1]:
        host += ":443"
    return host


def install_root_discovery(server: Any,
                           server_address: Callable[[], str] = lambda: "") -> None:
    """
    Serve C{/api} and C{/apis} on C{server} (the outermost of the chain) for
    every server of its chain; paths below them still go to the servers that
    own them. C{server_address()} is the C{host:port} C{/api} advertises
    (the request's Host when it returns "").
    """
    for path, core in (("/api", True), ("/apis", False)):
        index = RootDiscovery(server.chain, core, server_address)
        router = server.install_router(path, index=index)
        router.putChild(b"", index)
