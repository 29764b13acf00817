"""
The REST handlers of one group-version (C{/api/v1}, C{/apis/apps/v1}): one
leaf resource that routes the rest of the path to a resource and verb, parses
the request into the registry's options, calls that resource's
L{IResourceStore} and renders the answer.

Inside a served group-version an unknown resource is a JSON 404 C{Status}
(go-restful's answer), and a method the resource does not offer is 405.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional, Sequence

from twisted.internet.defer import inlineCallbacks

from kapi_twisted import apierrors
from kapi_twisted.apis.registry import ResourceInfo
from kapi_twisted.endpoints import connect, discovery, negotiation, options as opts, patching, render
from kapi_twisted.endpoints._http import body_response as _body, header as _header
from kapi_twisted.endpoints._http import read_body as _read_body
from kapi_twisted.endpoints.negotiation import Output
from kapi_twisted.registry.store import report_field_problems, then
from kapi_twisted.endpoints.watch import WatchStream, watch_timeout
from kapi_twisted.registry.interface import RequestContext
from kapi_twisted.server.responses import STREAMING, APIResource, Response

#: Types whose DELETE answers with the deleted object rather than a Status,
#: when the store's strategy does not say.
RETURNS_DELETED_OBJECT = frozenset(
    {"pods", "podtemplates", "serviceaccounts", "services", "storageclasses",
     "priorityclasses"}
)


def returns_deleted_object(store: Any, info: ResourceInfo) -> bool:
    value = getattr(store, "returns_deleted_object", None)
    if not isinstance(value, bool):
        value = getattr(getattr(store, "strategy", None), "returns_deleted_object", None)
    if isinstance(value, bool):
        return value
    return info.plural in RETURNS_DELETED_OBJECT

#: Subresources the generic store writes itself (C{store.update/patch(subresource=...)}).
STORE_SUBRESOURCES = frozenset({"status", "finalize", "ephemeralcontainers", "resize"})


class Route:
    """Where a request inside a group-version goes."""

    def __init__(self, info: ResourceInfo, verb: str, namespace: str, name: str,
                 subresource: str) -> None:
        self.info = info
        self.verb = verb
        self.namespace = namespace
        self.name = name
        self.subresource = subresource


class GroupVersionResource(APIResource):
    """
    Serves C{<prefix>/<group-version>/...}: the C{APIResourceList} at its own
    path, and every resource of the group-version below it.

    @param resources: the L{ResourceInfo}s of the group-version, or a
        callable returning them (servers whose resources change at run time,
        such as custom resources; C{stores} may then be a dict they update).
    @param stores: C{{plural: IResourceStore}}; resources listed in
        discovery without a store answer 405 (for instance C{bindings}).
    @param clock: an C{IReactorTime} (watch timeouts).
    @param long_running: the process's L{LongRunningRequests} (or None when
        the filter chain registers watches itself).
    """

    def __init__(
        self,
        group: str,
        version: str,
        resources: Sequence[ResourceInfo],
        stores: Dict[str, Any],
        clock: Any,
        min_request_timeout: float = 1800.0,
        long_running: Any = None,
    ) -> None:
        super().__init__()
        self.group = group
        self.version = version
        self._resources = resources
        self._by_plural: Optional[tuple] = None
        self.stores = stores
        self.clock = clock
        self.min_request_timeout = min_request_timeout
        self.long_running = long_running

    @property
    def resources(self) -> Dict[str, ResourceInfo]:
        """C{{plural: ResourceInfo}} served now (C{resources} may be a callable)."""
        current = self._resources() if callable(self._resources) else self._resources
        # Built again only when the served list is another object or changed
        # length (routing asks on every request).
        cached = self._by_plural
        if cached is None or cached[0] is not current or cached[1] != len(current):
            cached = self._by_plural = (current, len(current), {r.plural: r for r in current})
        return cached[2]

    # -- routing -------------------------------------------------------------

    def route(self, request: Any) -> Optional[Route]:
        """The L{Route} of C{request}, or None for the group-version itself."""
        segments = [s.decode("utf-8", "replace") for s in request.postpath]
        while segments and segments[-1] == "":
            segments.pop()
        if not segments:
            return None
        method = request.method.decode("ascii", "replace").upper()
        watch_path = False
        if segments[0] == "watch" and len(segments) > 1:
            watch_path = True
            segments = segments[1:]
        namespace = ""
        if segments[0] == "namespaces" and len(segments) > 2 and segments[2] not in (
            "status", "finalize"
        ):
            namespace = segments[1]
            segments = segments[2:]
        if len(segments) > 3 or "" in segments:
            raise apierrors.route_not_found()
        plural = segments[0]
        name = segments[1] if len(segments) > 1 else ""
        sub = segments[2] if len(segments) > 2 else ""
        info = self.resources.get(plural)
        if info is None:
            raise apierrors.route_not_found()
        if namespace and not info.namespaced:
            raise apierrors.route_not_found()
        if info.namespaced and not namespace and name:
            raise apierrors.route_not_found()
        if sub and info.subresource(sub) is None:
            raise apierrors.route_not_found()
        if watch_path:
            if method not in ("GET", "HEAD") or sub:
                raise apierrors.method_not_allowed()
            verb = "watch"
        else:
            verb = _verb(method, name, sub, request)
        allowed = info.subresource(sub).verbs if sub else info.verbs
        if verb == "watch" and name and "watch" in allowed:
            pass
        elif verb not in allowed:
            raise apierrors.method_not_allowed()
        if info.namespaced and not namespace and verb not in ("list", "watch"):
            raise apierrors.method_not_allowed()
        return Route(info, verb, namespace, name, sub)

    # -- handling ------------------------------------------------------------

    def handle(self, request: Any) -> Any:
        route = self.route(request)
        if route is None:
            if request.method not in (b"GET", b"HEAD"):
                raise apierrors.method_not_allowed()
            resources = list(self.resources.values())
            doc = discovery.api_resource_list(self.group, self.version, resources)
            return _json(doc)
        store = self.stores.get(route.info.plural)
        if store is not None and route.subresource == "scale":
            return self._scale(request, route, store)
        if store is not None and route.subresource == "token" and route.verb == "create":
            from kapi_twisted.endpoints import serviceaccounttoken

            return serviceaccounttoken.serve(self, request, route, store)
        pods = self.stores.get("pods")
        if pods is not None and route.verb == "create" and (
                (route.info.plural, route.subresource) in (
                    ("pods", "binding"), ("pods", "eviction"), ("bindings", ""))):
            return self._pod_subresource(request, route, pods)
        if route.subresource in connect.CONNECT_SUBRESOURCES:
            return connect.refuse(store, self._context(request), route)
        if store is None or (route.subresource and route.subresource not in STORE_SUBRESOURCES):
            raise apierrors.method_not_allowed(
                f"{route.verb} is not supported on resources of kind "
                f'"{route.info.plural}{"/" + route.subresource if route.subresource else ""}"'
            )
        handler = getattr(self, "_" + route.verb)
        return handler(request, route, store)

    def _context(self, request: Any) -> RequestContext:
        return RequestContext(user=getattr(request, "user", None))

    def _output(self, request: Any, verb: str, query: Dict[str, List[str]],
                streaming: bool = False) -> Output:
        return negotiation.negotiate(
            _header(request, b"accept"), verb, query,
            _header(request, b"user-agent"), streaming=streaming,
        )

    @staticmethod
    def _warn(request: Any, ctx: RequestContext) -> None:
        add = getattr(request, "add_warning", None)
        if add is None:
            return
        for text in ctx.warnings:
            add(text)

    # GET ---------------------------------------------------------------------

    # Reads and creates use plain callbacks (see L{then}) rather than
    # inlineCallbacks: they are the hottest requests, and the generator
    # machinery was a measurable share of their CPU.

    def _get(self, request: Any, route: Route, store: Any) -> Any:
        query = opts.query_of(request)
        output = self._output(request, "get", query)
        options = opts.parse_get_options(query)
        ctx = self._context(request)
        return then(store.get(ctx, route.namespace, route.name, options), self._answer_read,
                    render.render_object, request, ctx, output, route)

    def _list(self, request: Any, route: Route, store: Any) -> Any:
        query = opts.query_of(request)
        output = self._output(request, "list", query)
        options = opts.parse_list_options(query, watch=False)
        ctx = self._context(request)
        return then(store.list(ctx, route.namespace, options), self._answer_read,
                    render.render_list, request, ctx, output, route)

    def _answer_read(self, result: Any, render_result: Any, request: Any,
                     ctx: RequestContext, output: Output, route: Route) -> Response:
        """The answer to a GET or LIST once the store has read C{result}."""
        self._warn(request, ctx)
        return _body(render_result(result, output, route.info), output)

    def _watch(self, request: Any, route: Route, store: Any):
        query = opts.query_of(request)
        output = self._output(request, "watch", query, streaming=True)
        options = opts.parse_list_options(query, watch=True)
        if route.name:
            # /watch/namespaces/ns/pods/name: a watch of one object.
            term = f"metadata.name={route.name}"
            options.field_selector = (
                f"{options.field_selector},{term}" if options.field_selector else term
            )
        ctx = self._context(request)
        timeout = watch_timeout(options.timeout_seconds, self.min_request_timeout)
        stream = WatchStream(request, output, route.info, self.clock, timeout,
                             self.long_running)
        d = store.watch(ctx, route.namespace, options, stream.send)

        def set_up(watch: Any) -> Any:
            stream.setup(watch)
            return STREAMING

        def failed(failure: Any) -> Any:
            if stream.started:
                stream.close()
                return STREAMING
            stream.closed = True
            return failure

        d.addCallbacks(set_up, failed)
        return d

    # writes ------------------------------------------------------------------

    def _decode_object(self, request: Any, route: Route, body: bytes,
                       options: Any = None, ctx: Optional[RequestContext] = None) -> dict:
        duplicates: List[str] = []
        obj = negotiation.decode_body(_header(request, b"content-type"), body,
                                      route.info.group_version, route.info.kind,
                                      duplicates=duplicates)
        if duplicates and options is not None and ctx is not None:
            _report_duplicates(route.info, duplicates, options, ctx)
        if not isinstance(obj, dict):
            raise apierrors.bad_request(
                "the object provided is unrecognized: expected a JSON object"
            )
        info = route.info
        expected_version = info.group_version
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        if api_version and api_version != expected_version:
            raise apierrors.bad_request(
                f"the API version in the data ({api_version}) does not match the "
                f"expected API version ({expected_version})"
            )
        if kind and kind != info.kind:
            raise apierrors.bad_request(
                f'{kind} in version "{info.version}" cannot be handled as a '
                f"{info.kind}: the kind in the data ({kind}) does not match the "
                f"expected kind ({info.kind})"
            )
        obj["apiVersion"] = expected_version
        obj["kind"] = info.kind
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        elif not isinstance(meta, dict):
            raise apierrors.bad_request("metadata: expected an object")
        if info.namespaced and route.namespace:
            body_ns = meta.get("namespace") or ""
            if body_ns and body_ns != route.namespace:
                raise apierrors.bad_request(
                    "the namespace of the provided object does not match the "
                    "namespace sent on the request"
                )
            meta["namespace"] = route.namespace
        return obj

    def _write_options(self, request: Any, query: Dict[str, List[str]], kind: str):
        return opts.parse_write_options(query, kind, _header(request, b"user-agent"))

    def _create(self, request: Any, route: Route, store: Any) -> Any:
        query = opts.query_of(request)
        output = self._output(request, "create", query)
        options = self._write_options(request, query, "CreateOptions")
        ctx = self._context(request)
        obj = self._decode_object(request, route, _read_body(request), options, ctx)
        # Decoded for this request alone: the store need not copy it.
        ctx.body_owned = True
        return then(store.create(ctx, route.namespace, obj, options), self._answer_write,
                    request, ctx, output, route, 201)

    def _answer_write(self, result: Any, request: Any, ctx: RequestContext, output: Output,
                      route: Route, code: int) -> Response:
        """The answer to a write once the store has written (C{result}: a WriteResult)."""
        self._warn(request, ctx)
        return self._written(result, output, route, code)

    @inlineCallbacks
    def _update(self, request: Any, route: Route, store: Any):
        query = opts.query_of(request)
        output = self._output(request, "update", query)
        options = self._write_options(request, query, "UpdateOptions")
        ctx = self._context(request)
        obj = self._decode_object(request, route, _read_body(request), options, ctx)
        body_name = obj["metadata"].get("name") or ""
        if body_name != route.name:
            raise apierrors.bad_request(
                f"the name of the object ({body_name}) does not match the name on "
                f"the URL ({route.name})"
            )
        result = yield store.update(ctx, route.namespace, route.name, obj, options,
                                    subresource=route.subresource)
        self._warn(request, ctx)
        return self._written(result, output, route, 201 if result.created else 200)

    @inlineCallbacks
    def _patch(self, request: Any, route: Route, store: Any):
        query = opts.query_of(request)
        output = self._output(request, "patch", query)
        info = route.info
        kind = patching.patch_type(
            _header(request, b"content-type"),
            patching.strategic_allowed(info.group, info.version, info.kind))
        options = self._write_options(request, query, "PatchOptions")
        force = opts.parse_bool(query, "force")
        if force is not None and kind != patching.APPLY_PATCH:
            raise apierrors.invalid(
                "PatchOptions", "", [apierrors.field_error(
                    apierrors.FIELD_VALUE_FORBIDDEN, "force",
                    "Forbidden: may not be specified for non-apply patch")],
                group="meta.k8s.io")
        body = _read_body(request)
        patch = patching.decode_patch(kind, body)
        ctx = self._context(request)
        if kind == patching.APPLY_PATCH:
            if not (opts._first(query, "fieldManager") or ""):
                raise apierrors.invalid(
                    "PatchOptions", "", [apierrors.field_error(
                        apierrors.FIELD_VALUE_REQUIRED, "fieldManager",
                        "Required value: is required for apply patch")],
                    group="meta.k8s.io")
            result = yield self._apply(ctx, route, store, patch, options)
        else:
            apply_patch = patching.patch_function(kind, patch, info.group, info.version,
                                                  info.kind)
            result = yield store.patch(ctx, route.namespace, route.name, apply_patch,
                                       options, subresource=route.subresource)
        self._warn(request, ctx)
        return self._written(result, output, route, 201 if result.created else 200)

    @inlineCallbacks
    def _apply(self, ctx: RequestContext, route: Route, store: Any, config: Any,
               options: Any):
        """Server-side apply, approximated (see L{kapi_twisted.endpoints.patching})."""
        if not isinstance(config, dict):
            raise apierrors.bad_request("the apply configuration must be an object")
        meta = config.get("metadata") or {}
        if "managedFields" in meta:
            raise apierrors.bad_request(
                "metadata.managedFields must be nil"
            )
        info = route.info
        merge = (patching.STRATEGIC_MERGE_PATCH
                 if patching.strategic_allowed(info.group, info.version, info.kind)
                 else patching.MERGE_PATCH)
        apply_patch = patching.patch_function(merge, config, info.group, info.version, info.kind)
        try:
            result = yield store.patch(ctx, route.namespace, route.name, apply_patch,
                                       options, subresource=route.subresource)
        except apierrors.APIError as e:
            if e.code != 404 or route.subresource:
                raise
            obj = copy.deepcopy(config)
            obj.setdefault("apiVersion", info.group_version)
            obj.setdefault("kind", info.kind)
            obj_meta = obj.setdefault("metadata", {})
            obj_meta.setdefault("name", route.name)
            if info.namespaced:
                obj_meta.setdefault("namespace", route.namespace)
            result = yield store.create(ctx, route.namespace, obj, options)
            result.created = True
        return result

    @staticmethod
    def _written(result: Any, output: Output, route: Route, code: int) -> Response:
        item = result.kv if result.object is None else result.object
        response = _body(render.render_object(item, output, route.info), output)
        response.code = code
        return response

    # subresources served here rather than by the store ------------------------

    def _pod_subresource(self, request: Any, route: Route, pods: Any):
        from kapi_twisted.endpoints import subresources

        return subresources.serve(self, request, route, pods)

    def _scale(self, request: Any, route: Route, store: Any):
        from kapi_twisted.endpoints import scale

        return scale.serve(self, request, route, store)

    # DELETE ------------------------------------------------------------------

    def _delete_body(self, request: Any) -> Optional[dict]:
        body = _read_body(request)
        if not body.strip():
            return None
        return negotiation.decode_body(_header(request, b"content-type"), body)

    @inlineCallbacks
    def _delete(self, request: Any, route: Route, store: Any):
        query = opts.query_of(request)
        output = self._output(request, "delete", query)
        options = opts.parse_delete_options(query, self._delete_body(request))
        ctx = self._context(request)
        result = yield store.delete(ctx, route.namespace, route.name, options)
        self._warn(request, ctx)
        item = result.kv if result.object is None else result.object
        if result.finished and not returns_deleted_object(store, route.info):
            obj = render.object_of(item) if item is not None else {
                "metadata": {"name": route.name}}
            status = render.deleted_status(route.info, obj)
            return _body(negotiation.encode(status, output), output)
        response = _body(render.render_object(item, output, route.info), output)
        if not result.finished and options.orphan_dependents is False:
            # kube-apiserver's legacy answer to a cascading delete still in progress.
            response.code = 202
        return response

    @inlineCallbacks
    def _deletecollection(self, request: Any, route: Route, store: Any):
        query = opts.query_of(request)
        output = self._output(request, "deletecollection", query)
        list_options = opts.parse_list_options(query, watch=False)
        options = opts.parse_delete_options(query, self._delete_body(request))
        ctx = self._context(request)
        page = yield store.delete_collection(ctx, route.namespace, list_options, options)
        self._warn(request, ctx)
        return _body(render.render_list(page, output, route.info), output)


def _verb(method: str, name: str, sub: str, request: Any) -> str:
    if method in ("GET", "HEAD"):
        if name:
            return "get"
        query = opts.query_of(request)
        return "watch" if opts.parse_bool(query, "watch") else "list"
    if method == "POST":
        if name and not sub:
            raise apierrors.method_not_allowed()
        return "create"
    if method == "PUT":
        if not name:
            raise apierrors.method_not_allowed()
        return "update"
    if method == "PATCH":
        if not name:
            raise apierrors.method_not_allowed()
        return "patch"
    if method == "DELETE":
        if sub:
            return "delete"
        return "delete" if name else "deletecollection"
    raise apierrors.method_not_allowed()


def _json(doc: Any) -> Response:
    return Response(negotiation.encode(doc, Output()), 200, negotiation.JSON)


def _report_duplicates(info: Any, paths: List[str], options: Any, ctx: RequestContext) -> None:
    """Fields given twice: 400 under C{fieldValidation=Strict}, warnings under C{Warn}."""
    report_field_problems(info, [f'duplicate field "{path}"' for path in paths], options, ctx)
