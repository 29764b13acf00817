"""
C{/} and C{/index.html}: the sorted list of the paths the chain serves, as
kube-apiserver's index (C{{"paths": [...]}}, indented with two spaces).

kube-apiserver answers both with 200 from every server (they are not listed
themselves); the list is the union of what each server along the chain
registered as listed (L{GenericAPIServer.listed_paths}), with, as in Go's
mux, every single health check path (C{/readyz/etcd}) and the
C{/openapi/v3/} prefix.
"""

from __future__ import annotations

import json
from typing import Any, List

from kapi_twisted.server.responses import JSON, APIResource, Response

__all__ = ["IndexResource", "index_body", "install_index", "listed_paths"]


def index_body(paths: list) -> bytes:
    """C{metav1.RootPaths} as go-restful's C{WriteRawJSON} writes it."""
    return json.dumps({"paths": sorted(paths)}, indent=2).encode("utf-8")


class IndexResource(APIResource):
    """The index of C{server}: worked out per request, so late paths appear."""

    def __init__(self, server: Any, code: int = 200) -> None:
        super().__init__()
        self.api_server = server
        self.code = code

    def handle(self, request: Any) -> Response:
        return Response(index_body(listed_paths(self.api_server)), self.code, JSON)


def listed_paths(server: Any) -> List[str]:
    """What the index of C{server} lists."""
    from kapi_twisted.server.healthz import check_paths

    paths = set(server.listed_paths())
    for member in server.chain():
        paths.update(check_paths(member))
    if "/openapi/v3" in paths:
        paths.add("/openapi/v3/")
    return sorted(paths)


def install_index(server: Any) -> None:
    """Serve C{/} and C{/index.html} from C{server}'s tree (both unlisted)."""
    resource = IndexResource(server)
    server.install("/", resource, listed=False)
    server.install("/index.html", resource, listed=False)
