"""
HTTP for custom resources: one leaf resource per CRD group at
C{/apis/<group>} (kube's C{crdHandler} for that group), and the handlers of
each served group-version.

A request goes to the delegate (the end of the chain: a plain 404) unless it
is for something served now: the group (C{APIGroup}), a version with
established resources (C{APIResourceList}), or a resource of a CRD whose
names are accepted, in the right scope and a served version. Inside, the
verbs are the built-in ones (L{GroupVersionResource}), with the custom
resource differences: bodies in JSON or YAML only (protobuf is 415),
strategic merge patch 415, and the C{scale} subresource at the CRD's paths.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional

from twisted.web.resource import IResource, Resource, getChildForRequest

from kapi_twisted import apierrors
from kapi_twisted.endpoints import discovery, negotiation
from kapi_twisted.endpoints.handlers import GroupVersionResource
from kapi_twisted.endpoints.negotiation import Output
from kapi_twisted.server.delegation import restart_traversal
from kapi_twisted.server.responses import APIResource, Response

from . import scale as cr_scale

__all__ = ["CustomResourceGroup", "CustomResourceVersion"]

_CR_TYPES = (negotiation.JSON, negotiation.YAML)


class CustomResourceVersion(GroupVersionResource):
    """
    The verbs of one custom group-version.

    @param discovered: returns the resources discovery lists for this
        version now (established CRDs only).
    """

    def __init__(self, group: str, version: str, resources: Callable[[], List[Any]],
                 stores: dict, clock: Any, min_request_timeout: float, long_running: Any,
                 discovered: Callable[[], List[Any]]) -> None:
        super().__init__(group, version, resources, stores, clock, min_request_timeout,
                         long_running)
        self.discovered = discovered

    def handle(self, request: Any) -> Any:
        route = self.route(request)
        if route is None:
            if request.method not in (b"GET", b"HEAD"):
                raise apierrors.method_not_allowed()
            doc = discovery.api_resource_list(self.group, self.version, self.discovered())
            return Response(negotiation.encode(doc, Output()), 200, negotiation.JSON)
        warning = getattr(route.info, "deprecation_warning", "")
        add_warning = getattr(request, "add_warning", None)
        if warning and add_warning is not None:
            add_warning(warning)
        return super().handle(request)

    def _output(self, request: Any, verb: str, query: Any, streaming: bool = False) -> Output:
        try:
            return super()._output(request, verb, query, streaming)
        except apierrors.APIError as e:
            if e.code == 406:
                raise apierrors.not_acceptable(_CR_TYPES)
            raise

    def _decode_object(self, request: Any, route: Any, body: bytes,
                       options: Any = None, ctx: Any = None) -> dict:
        content_type = request.getHeader(b"content-type") or ""
        if isinstance(content_type, bytes):
            content_type = content_type.decode("latin-1")
        media, _ = negotiation.parse_media_type(content_type)
        if media == negotiation.PROTOBUF:
            raise apierrors.unsupported_media_type(media, _CR_TYPES)
        try:
            return super()._decode_object(request, route, body, options, ctx)
        except apierrors.APIError as e:
            if e.code == 415:
                raise apierrors.unsupported_media_type(media, _CR_TYPES)
            raise

    def _scale(self, request: Any, route: Any, store: Any):
        return cr_scale.serve(self, request, route, store)


class CustomResourceGroup(Resource):
    """
    C{/apis/<group>} and everything below it, for one group of CRDs.

    @param serving: the L{CustomResourceServing} that knows what is served.
    @param delegate: where anything else goes (the delegate server's root).
    """

    isLeaf = True

    def __init__(self, serving: Any, group: str, delegate: IResource) -> None:
        super().__init__()
        self.serving = serving
        self.group = group
        self.delegate = delegate
        self._group_doc = _GroupDocument(serving, group)

    def _delegate(self, request: Any) -> Any:
        restart_traversal(request)
        return getChildForRequest(self.delegate, request).render(request)

    def render(self, request: Any) -> Any:
        segments = [s.decode("utf-8", "replace") for s in request.postpath]
        while segments and segments[-1] == "":
            segments.pop()
        if not segments:
            if not self.serving.discovered_versions(self.group):
                return self._delegate(request)
            return self._group_doc.render(request)
        version = segments[0]
        handler = self.serving.version_handler(self.group, version)
        if handler is None:
            return self._delegate(request)
        rest = segments[1:]
        if not rest:
            if not self.serving.discovered(self.group, version):
                return self._delegate(request)
        elif not self._serves(handler, rest):
            return self._delegate(request)
        request.prepath.append(request.postpath.pop(0))
        return handler.render(request)

    @staticmethod
    def _serves(handler: CustomResourceVersion, rest: List[str]) -> bool:
        """Whether C{rest} (the path after the version) names a served resource."""
        if rest[0] == "watch" and len(rest) > 1:
            rest = rest[1:]
        namespaced = False
        if rest[0] == "namespaces" and len(rest) > 2 and rest[2] not in ("status", "finalize"):
            namespaced = True
            rest = rest[2:]
        info = handler.resources.get(rest[0])
        if info is None:
            return False
        return info.namespaced or not namespaced


class _GroupDocument(APIResource):
    """C{/apis/<group>}: the C{APIGroup} of the group's served versions."""

    def __init__(self, serving: Any, group: str) -> None:
        super().__init__()
        self.serving = serving
        self.group = group

    def handle(self, request: Any) -> Optional[Response]:
        if request.method not in (b"GET", b"HEAD"):
            raise apierrors.method_not_allowed()
        versions = self.serving.discovered_versions(self.group)
        if not versions:
            raise apierrors.route_not_found()
        doc = discovery.api_group_document(self.group, versions)
        return Response(negotiation.encode(doc, Output()), 200, negotiation.JSON)
