"""
Delegation: a path one server does not serve goes to the next server in the
chain, and the end of the chain answers 404.

In kube-apiserver each server's mux falls back to its delegate's handler
(C{NotFoundHandler = delegate.UnprotectedHandler()}), skipping the delegate's
filters. Here each server owns a tree of twisted.web resources made of
L{Router} nodes; a node that has no child for the next path segment hands the
whole request path to the delegate's root, and traversal continues there.
"""

from __future__ import annotations

from typing import Any, Optional

from twisted.web.resource import IResource, Resource, getChildForRequest
from twisted.web.server import NOT_DONE_YET

from kapi_twisted import apierrors
from kapi_twisted.server.lifecycle import Signal
from kapi_twisted.server.responses import write_error, write_text


def restart_traversal(request: Any) -> None:
    """Put every consumed path segment back, as if traversal had not begun."""
    request.postpath = request.prepath + request.postpath
    request.prepath = []


class Router(Resource):
    """
    A node of a server's resource tree. Children are looked up by path
    segment; an unknown segment (or a request for this node itself, when it
    has no C{index}) goes to C{delegate}, the delegate server's root.

    @ivar index: the resource that answers for this node's own path, if any.
    """

    def __init__(self, delegate: IResource, index: Optional[IResource] = None) -> None:
        super().__init__()
        self.delegate = delegate
        self.index = index

    def getChild(self, path: bytes, request: Any) -> IResource:
        restart_traversal(request)
        return self.delegate

    def render(self, request: Any) -> Any:
        if self.index is not None:
            return self.index.render(request)
        restart_traversal(request)
        return getChildForRequest(self.delegate, request).render(request)


class NotFoundResource(Resource):
    """
    The end of the chain (kube-apiserver's C{notfoundhandler}): Go's plain
    C{404 page not found}, or a 503 C{Status} for a request that arrived
    before every path was installed (C{MuxAndDiscoveryComplete}).
    """

    isLeaf = True

    def __init__(self, mux_and_discovery_complete: Optional[Signal] = None) -> None:
        super().__init__()
        self._complete = mux_and_discovery_complete

    def render(self, request: Any) -> Any:
        if self._complete is not None and not self._complete.fired:
            err = apierrors.service_unavailable(
                "the request has been made before all known HTTP paths have been "
                "installed, please try again",
                retry_after=5,
            )
            err.details = {"retryAfterSeconds": 5}
            write_error(request, err)
        else:
            write_text(request, 404, "404 page not found\n")
        return NOT_DONE_YET
