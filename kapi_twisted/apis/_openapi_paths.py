"""
The operations of the OpenAPI documents: which paths, verbs, parameters, bodies and
responses kube-apiserver declares for each resource, rendered as OpenAPI v3 or Swagger 2.0.

Operation ids follow kube-apiserver's scheme (C{listCoreV1NamespacedPod},
C{patchAppsV1NamespacedDeploymentScale}, C{watchCoreV1PodListForAllNamespaces}...), since
generated clients and docs key on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from kapi_twisted.apis.registry import ResourceInfo

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
STATUS = META + "Status"
DELETE_OPTIONS = META + "DeleteOptions"
WATCH_EVENT = META + "WatchEvent"
PATCH = META + "Patch"

OBJECT_MEDIA = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
LIST_MEDIA = OBJECT_MEDIA + ("application/json;stream=watch",
                             "application/vnd.kubernetes.protobuf;stream=watch")
PATCH_MEDIA = ("application/apply-patch+yaml", "application/json-patch+json",
               "application/merge-patch+json", "application/strategic-merge-patch+json")

# name -> (in, type, description); descriptions are our own short summaries.
PARAMETERS: Dict[str, Tuple[str, str, str]] = {
    "name": ("path", "string", "name of the object"),
    "namespace": ("path", "string", "object name and auth scope, such as for teams and projects"),
    "path": ("path", "string", "path to the resource"),
    "pretty": ("query", "string", "If 'true', the output is pretty printed."),
    "allowWatchBookmarks": ("query", "boolean",
                            "Ask for BOOKMARK watch events; servers may ignore it."),
    "continue": ("query", "string",
                 "The continue token of a previous paged list, to fetch the next page."),
    "fieldSelector": ("query", "string", "Only return objects whose fields match this selector."),
    "labelSelector": ("query", "string", "Only return objects whose labels match this selector."),
    "limit": ("query", "integer", "The most items a list returns; the rest come with continue."),
    "resourceVersion": ("query", "string",
                        "Which resourceVersion the read must be at least as new as (or exactly, "
                        "with resourceVersionMatch)."),
    "resourceVersionMatch": ("query", "string",
                             "How resourceVersion applies to a list: NotOlderThan or Exact."),
    "sendInitialEvents": ("query", "boolean",
                          "With watch: first send the current state as ADDED events, then a "
                          "bookmark annotated k8s.io/initial-events-end."),
    "timeoutSeconds": ("query", "integer", "Ends the list or watch call after this many seconds."),
    "watch": ("query", "boolean", "Watch for changes instead of listing."),
    "dryRun": ("query", "string",
               "'All' processes every stage of the request but persists nothing."),
    "fieldManager": ("query", "string", "The name of the actor making these changes."),
    "fieldValidation": ("query", "string",
                        "What to do with unknown or duplicate fields in the body: Ignore, Warn "
                        "(the default: a Warning header) or Strict (the request fails)."),
    "force": ("query", "boolean",
              "For apply patches: take over fields other managers own."),
    "gracePeriodSeconds": ("query", "integer",
                           "Seconds before the object is deleted; 0 deletes at once."),
    "ignoreStoreReadErrorWithClusterBreakingPotential": (
        "query", "boolean",
        "Delete even if the stored object cannot be read or decoded (unsafe)."),
    "orphanDependents": ("query", "boolean",
                         "Deprecated: use propagationPolicy. Whether dependents are orphaned."),
    "propagationPolicy": ("query", "string",
                          "Garbage collection of dependents: Orphan, Background or Foreground."),
    "command": ("query", "string", "Command to run (repeatable)."),
    "container": ("query", "string", "The container to use."),
    "stdin": ("query", "boolean", "Redirect standard input."),
    "stdout": ("query", "boolean", "Redirect standard output."),
    "stderr": ("query", "boolean", "Redirect standard error."),
    "tty": ("query", "boolean", "Allocate a terminal."),
    "ports": ("query", "integer", "Ports to forward."),
    "follow": ("query", "boolean", "Stream the log as it grows."),
    "previous": ("query", "boolean", "The log of the previous instance of the container."),
    "sinceSeconds": ("query", "integer", "Only the log of the last seconds."),
    "tailLines": ("query", "integer", "Only the last lines of the log."),
    "timestamps": ("query", "boolean", "Prefix each line with its timestamp."),
    "limitBytes": ("query", "integer", "At most this many bytes of log."),
    "insecureSkipTLSVerifyBackend": ("query", "boolean",
                                     "Do not verify the kubelet's serving certificate."),
    "stream": ("query", "string", "Which log stream: All, Stdout or Stderr."),
}

LIST_PARAMS = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
               "resourceVersion", "resourceVersionMatch", "sendInitialEvents",
               "timeoutSeconds", "watch")
WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
PATCH_PARAMS = WRITE_PARAMS + ("force",)
DELETE_PARAMS = ("dryRun", "gracePeriodSeconds",
                 "ignoreStoreReadErrorWithClusterBreakingPotential", "orphanDependents",
                 "propagationPolicy")
DELETECOLLECTION_PARAMS = DELETE_PARAMS + ("continue", "fieldSelector", "labelSelector", "limit",
                                           "resourceVersion", "resourceVersionMatch",
                                           "sendInitialEvents", "timeoutSeconds")
CONNECT_PARAMS = {
    "exec": ("command", "container", "stderr", "stdin", "stdout", "tty"),
    "attach": ("container", "stderr", "stdin", "stdout", "tty"),
    "portforward": ("ports",),
    "proxy": ("path",),
}
LOG_PARAMS = ("container", "follow", "insecureSkipTLSVerifyBackend", "limitBytes", "previous",
              "sinceSeconds", "stream", "tailLines", "timestamps")


@dataclass
class Operation:
    """One HTTP method on one path, independent of the OpenAPI version."""

    path: str
    method: str
    operation_id: str
    action: str
    gvk: Optional[Dict[str, str]]
    params: Tuple[str, ...] = ()
    path_params: Tuple[str, ...] = ()
    #: C{(definition name, media types)} of the request body, or C{None}.
    body: Optional[Tuple[str, Tuple[str, ...]]] = None
    #: response codes -> definition name (C{""}: no body, C{"string"}: a plain string).
    responses: Dict[str, str] = field(default_factory=dict)
    produces: Tuple[str, ...] = OBJECT_MEDIA
    tag: str = ""
    description: str = ""

    def definitions(self) -> List[str]:
        names = [d for d in self.responses.values() if d not in ("", "string")]
        if self.body:
            names.append(self.body[0])
        return names


#: Maps (group, version, kind) to a definition name, or None.
DefinitionResolver = Callable[[str, str, str], Optional[str]]


def camel_group(group: str) -> str:
    """C{""} -> C{Core}, C{rbac.authorization.k8s.io} -> C{RbacAuthorization}."""
    if not group:
        return "Core"
    trimmed = group[:-len(".k8s.io")] if group.endswith(".k8s.io") else group
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[.\-]", trimmed) if p)


def _tag(group: str, version: str) -> str:
    base = "core" if not group else re.sub(r"\.k8s\.io$", "", group).replace(".", "")
    return "%s_%s" % (base, version)


def resource_list_operation(group: str, version: str) -> Operation:
    """C{GET /apis/<g>/<v>/}: the group-version's APIResourceList."""
    prefix = "/apis/%s/%s/" % (group, version) if group else "/api/%s/" % version
    return Operation(
        path=prefix, method="get",
        operation_id="get%s%sAPIResources" % (camel_group(group), version.capitalize()),
        action="", gvk=None, responses={"200": META + "APIResourceList", "401": ""},
        produces=OBJECT_MEDIA, tag=_tag(group, version),
        description="get available resources")


def discovery_operation(key: str) -> Operation:
    """C{GET /api/}, C{GET /apis/} or C{GET /apis/<group>/}."""
    if key == "api":
        return Operation("/api/", "get", "getCoreAPIVersions", "", None,
                         responses={"200": META + "APIVersions", "401": ""}, tag="core",
                         description="get available API versions")
    if key == "apis":
        return Operation("/apis/", "get", "getAPIVersions", "", None,
                         responses={"200": META + "APIGroupList", "401": ""}, tag="apis",
                         description="get available API versions")
    group = key.split("/", 1)[1]
    return Operation("/apis/%s/" % group, "get", "get%sAPIGroup" % camel_group(group), "", None,
                     responses={"200": META + "APIGroup", "401": ""},
                     tag=re.sub(r"\.k8s\.io$", "", group).replace(".", ""),
                     description="get information of a group")


def operations(info: ResourceInfo, resolve: DefinitionResolver) -> Iterator[Operation]:
    """Every operation kube-apiserver declares for one resource and its subresources."""
    g, v, kind = info.group, info.version, info.kind
    prefix = "/apis/%s/%s" % (g, v) if g else "/api/%s" % v
    ns = "Namespaced" if info.namespaced else ""
    stem = camel_group(g) + v.capitalize()
    gvk = {"group": g, "version": v, "kind": kind}
    tag = _tag(g, v)
    obj = resolve(g, v, kind)
    lst = resolve(g, v, info.list_kind) if info.list_kind else None
    verbs = set(info.verbs)
    ns_path = "/namespaces/{namespace}" if info.namespaced else ""
    scope = ("namespace",) if info.namespaced else ()
    collection = "%s%s/%s" % (prefix, ns_path, info.plural)
    item = collection + "/{name}"

    def op(path: str, method: str, verb: str, suffix: str, action: str, **kw: Any) -> Operation:
        kw.setdefault("path_params", scope)
        return Operation(path=path, method=method,
                         operation_id="%s%s%s" % (verb, stem, suffix),
                         action=action, gvk=kw.pop("gvk", gvk), tag=tag, **kw)

    if obj is not None:
        if "list" in verbs and lst:
            yield op(collection, "get", "list", ns + kind, "list",
                     params=LIST_PARAMS, responses={"200": lst, "401": ""}, produces=LIST_MEDIA,
                     path_params=scope + ("pretty",),
                     description="list or watch objects of kind %s" % kind)
            if info.namespaced:
                yield op("%s/%s" % (prefix, info.plural), "get", "list",
                         kind + "ForAllNamespaces", "list", params=LIST_PARAMS,
                         responses={"200": lst, "401": ""}, produces=LIST_MEDIA,
                         path_params=("pretty",),
                         description="list or watch objects of kind %s" % kind)
        if "create" in verbs:
            yield op(collection, "post", "create", ns + kind, "post", params=WRITE_PARAMS,
                     path_params=scope + ("pretty",), body=(obj, ("*/*",)),
                     responses={"200": obj, "201": obj, "202": obj, "401": ""},
                     description="create a %s" % kind)
        if "deletecollection" in verbs:
            yield op(collection, "delete", "delete", "Collection" + ns + kind, "deletecollection",
                     params=DELETECOLLECTION_PARAMS, path_params=scope + ("pretty",),
                     body=(DELETE_OPTIONS, ("*/*",)), responses={"200": STATUS, "401": ""},
                     description="delete collection of %s" % kind)
        item_scope = ("name",) + scope + ("pretty",)
        if "get" in verbs:
            yield op(item, "get", "read", ns + kind, "get", path_params=item_scope,
                     responses={"200": obj, "401": ""},
                     description="read the specified %s" % kind)
        if "update" in verbs:
            yield op(item, "put", "replace", ns + kind, "put", params=WRITE_PARAMS,
                     path_params=item_scope, body=(obj, ("*/*",)),
                     responses={"200": obj, "201": obj, "401": ""},
                     description="replace the specified %s" % kind)
        if "delete" in verbs:
            yield op(item, "delete", "delete", ns + kind, "delete", params=DELETE_PARAMS,
                     path_params=item_scope, body=(DELETE_OPTIONS, ("*/*",)),
                     responses={"200": STATUS, "202": STATUS, "401": ""},
                     description="delete a %s" % kind)
        if "patch" in verbs:
            yield op(item, "patch", "patch", ns + kind, "patch", params=PATCH_PARAMS,
                     path_params=item_scope, body=(PATCH, PATCH_MEDIA),
                     responses={"200": obj, "201": obj, "401": ""},
                     description="partially update the specified %s" % kind)
        if "watch" in verbs:
            watch_prefix = "%s/watch%s/%s" % (prefix, ns_path, info.plural)
            yield op(watch_prefix, "get", "watch", ns + kind + "List", "watchlist",
                     params=LIST_PARAMS, path_params=scope + ("pretty",),
                     responses={"200": WATCH_EVENT, "401": ""}, produces=LIST_MEDIA,
                     description="watch individual changes to a list of %s" % kind)
            yield op(watch_prefix + "/{name}", "get", "watch", ns + kind, "watch",
                     params=LIST_PARAMS, path_params=item_scope,
                     responses={"200": WATCH_EVENT, "401": ""}, produces=LIST_MEDIA,
                     description="watch changes to an object of kind %s" % kind)
            if info.namespaced:
                yield op("%s/watch/%s" % (prefix, info.plural), "get", "watch",
                         kind + "ListForAllNamespaces", "watchlist", params=LIST_PARAMS,
                         path_params=("pretty",), responses={"200": WATCH_EVENT, "401": ""},
                         produces=LIST_MEDIA,
                         description="watch individual changes to a list of %s" % kind)

    for sub in info.subresources:
        yield from _subresource_operations(info, sub, resolve, item, stem, ns, tag, scope)


_CONNECT_METHODS = (("get", "get", "Get"), ("create", "post", "Post"), ("update", "put", "Put"),
                    ("patch", "patch", "Patch"), ("delete", "delete", "Delete"))


def _subresource_operations(info: ResourceInfo, sub: Any, resolve: DefinitionResolver,
                            item: str, stem: str, ns: str, tag: str,
                            scope: Tuple[str, ...]) -> Iterator[Operation]:
    path = "%s/%s" % (item, sub.name)
    suffix = ns + info.kind + sub.name[:1].upper() + sub.name[1:]
    verbs = set(sub.verbs)
    item_scope = ("name",) + scope
    sub_gvk = {"group": sub.group, "version": sub.version, "kind": sub.kind}
    if sub.kind.endswith("Options") and sub.kind != "DeleteOptions":
        # exec, attach, portforward, proxy: connect operations answering plain strings.
        params = CONNECT_PARAMS.get(sub.name, ())
        for verb, method, word in _CONNECT_METHODS:
            if verb in verbs:
                yield Operation(path, method, "connect%s%s%s" % (stem, word, suffix), "connect",
                                sub_gvk, params=params, path_params=item_scope,
                                responses={"200": "string", "401": ""}, produces=("*/*",),
                                tag=tag, description="connect %s requests to %s of %s"
                                % (method.upper(), sub.name, info.kind))
                if sub.name == "proxy":
                    yield Operation(path + "/{path}", method,
                                    "connect%s%s%sWithPath" % (stem, word, suffix), "connect",
                                    sub_gvk, params=("path",), path_params=item_scope + ("path",),
                                    responses={"200": "string", "401": ""}, produces=("*/*",),
                                    tag=tag, description="connect %s requests to proxy of %s"
                                    % (method.upper(), info.kind))
        return
    if sub.name == "log":
        yield Operation(path, "get", "read%s%s" % (stem, suffix), "get", sub_gvk,
                        params=LOG_PARAMS, path_params=item_scope + ("pretty",),
                        responses={"200": "string", "401": ""},
                        produces=("text/plain", "application/json", "application/yaml",
                                  "application/vnd.kubernetes.protobuf"),
                        tag=tag, description="read log of the specified %s" % info.kind)
        return
    defn = resolve(sub.group, sub.version, sub.kind)
    if defn is None:
        return
    pp = item_scope + ("pretty",)
    if "get" in verbs:
        yield Operation(path, "get", "read%s%s" % (stem, suffix), "get", sub_gvk,
                        path_params=pp, responses={"200": defn, "401": ""}, tag=tag,
                        description="read %s of the specified %s" % (sub.name, info.kind))
    if "create" in verbs:
        yield Operation(path, "post", "create%s%s" % (stem, suffix), "post", sub_gvk,
                        params=WRITE_PARAMS, path_params=pp, body=(defn, ("*/*",)),
                        responses={"200": defn, "201": defn, "202": defn, "401": ""}, tag=tag,
                        description="create %s of a %s" % (sub.name, info.kind))
    if "update" in verbs:
        yield Operation(path, "put", "replace%s%s" % (stem, suffix), "put", sub_gvk,
                        params=WRITE_PARAMS, path_params=pp, body=(defn, ("*/*",)),
                        responses={"200": defn, "201": defn, "401": ""}, tag=tag,
                        description="replace %s of the specified %s" % (sub.name, info.kind))
    if "patch" in verbs:
        yield Operation(path, "patch", "patch%s%s" % (stem, suffix), "patch", sub_gvk,
                        params=PATCH_PARAMS, path_params=pp, body=(PATCH, PATCH_MEDIA),
                        responses={"200": defn, "201": defn, "401": ""}, tag=tag,
                        description="partially update %s of the specified %s"
                        % (sub.name, info.kind))


# --- rendering ----------------------------------------------------------------------------

def _schema_ref(defn: str, prefix: str) -> Dict[str, Any]:
    if defn == "string":
        return {"type": "string"}
    return {"$ref": prefix + defn}


def _param_v3(name: str) -> Dict[str, Any]:
    where, typ, desc = PARAMETERS[name]
    out: Dict[str, Any] = {"name": name, "in": where, "description": desc,
                           "schema": {"type": typ, "uniqueItems": True}}
    if where == "path":
        out["required"] = True
    return out


def _param_v2(name: str) -> Dict[str, Any]:
    where, typ, desc = PARAMETERS[name]
    out: Dict[str, Any] = {"name": name, "in": where, "description": desc, "type": typ,
                           "uniqueItems": True}
    if where == "path":
        out["required"] = True
    return out


def render_v3_params(names: Tuple[str, ...]) -> List[Dict[str, Any]]:
    return [_param_v3(n) for n in names]


def render_v2_params(names: Tuple[str, ...]) -> List[Dict[str, Any]]:
    return [_param_v2(n) for n in names]


def _common(op: Operation) -> Dict[str, Any]:
    out: Dict[str, Any] = {"description": op.description, "operationId": op.operation_id,
                           "tags": [op.tag]}
    if op.action:
        out["x-kubernetes-action"] = op.action
    if op.gvk is not None:
        out["x-kubernetes-group-version-kind"] = dict(op.gvk)
    return out


def render_v3(op: Operation) -> Dict[str, Any]:
    out = _common(op)
    if op.params:
        out["parameters"] = [_param_v3(n) for n in op.params]
    if op.body:
        defn, media = op.body
        out["requestBody"] = {
            "content": {m: {"schema": _schema_ref(defn, "#/components/schemas/")}
                        for m in media},
            "required": defn != DELETE_OPTIONS}
    responses: Dict[str, Any] = {}
    for code, defn in op.responses.items():
        if not defn:
            responses[code] = {"description": "Unauthorized" if code == "401" else ""}
            continue
        schema = _schema_ref(defn, "#/components/schemas/")
        responses[code] = {
            "description": {"200": "OK", "201": "Created", "202": "Accepted"}.get(code, ""),
            "content": {m: {"schema": schema} for m in op.produces}}
    out["responses"] = responses
    return out


def render_v2(op: Operation) -> Dict[str, Any]:
    out = _common(op)
    params = [_param_v2(n) for n in op.params]
    if op.body:
        defn, media = op.body
        params.insert(0, {"name": "body", "in": "body", "required": defn != DELETE_OPTIONS,
                          "schema": _schema_ref(defn, "#/definitions/")})
        out["consumes"] = list(media)
    if params:
        out["parameters"] = params
    out["produces"] = list(op.produces)
    out["schemes"] = ["https"]
    responses: Dict[str, Any] = {}
    for code, defn in op.responses.items():
        if not defn:
            responses[code] = {"description": "Unauthorized" if code == "401" else ""}
            continue
        responses[code] = {
            "description": {"200": "OK", "201": "Created", "202": "Accepted"}.get(code, ""),
            "schema": _schema_ref(defn, "#/definitions/")}
    out["responses"] = responses
    return out
