"""
C{/} and C{/index.html}: the sorted list of the paths the chain serves, as
kube-apiserver's index (C{{"paths": [...]}}, indented with two spaces).

kube-apiserver answers both with 200 from every server (they are not listed
themselves); the list is the union of what each server along the chain
registered as listed (L{GenericAPIServer.listed_paths}).
"""

from __future__ import annotations

import json
from typing import Any

from kapi_twisted.server.responses import JSON, APIResource, Response

__all__ = ["IndexResource", "install_index", "index_body"]


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
        return Response(index_body(self.api_server.listed_paths()), self.code, JSON)


def install_index(server: Any) -> None:
    """Serve C{/} and C{/index.html} from C{server}'s tree (both unlisted)."""
    resource = IndexResource(server)
    server.install("/", resource, listed=False)
    server.install("/index.html", resource, listed=False)
