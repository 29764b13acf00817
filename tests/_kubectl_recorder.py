"""
A tiny HTTP server that answers kubectl's discovery from the resource table and records
the bodies of its writes, so tests can see exactly what kubectl sends (protobuf bodies
for typed commands).  It answers each write with the JSON form the server decoded, which
is what kubectl prints.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Tuple

from twisted.web import resource, server

from kapi_twisted.apis import openapi, protobuf, registry


def _api_resource_list(group: str, version: str) -> Dict[str, Any]:
    resources = []
    for info in registry.resources_for(group, version):
        resources.append({
            "name": info.plural, "singularName": info.singular, "namespaced": info.namespaced,
            "kind": info.kind, "verbs": list(info.verbs), "shortNames": list(info.short_names),
            "categories": list(info.categories)})
        for sub in info.subresources:
            entry = {"name": "%s/%s" % (info.plural, sub.name), "singularName": "",
                     "namespaced": info.namespaced, "kind": sub.kind, "verbs": list(sub.verbs)}
            if (sub.group, sub.version) != (group, version):
                entry.update(group=sub.group, version=sub.version)
            resources.append(entry)
    out = {"kind": "APIResourceList", "groupVersion": "%s/%s" % (group, version) if group
           else version, "resources": resources}
    if group:
        out["apiVersion"] = "v1"
    return out


def _group(name: str, versions: Tuple[str, ...]) -> Dict[str, Any]:
    gvs = [{"groupVersion": "%s/%s" % (name, v), "version": v} for v in versions]
    return {"name": name, "versions": gvs, "preferredVersion": gvs[0]}


class Recorder(resource.Resource):
    """Answers discovery; records (method, path, content type, body) of every write."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.writes: List[Tuple[str, str, str, bytes]] = []
        self.decoded: List[Dict[str, Any]] = []
        self.openapi_requests: List[str] = []

    def _json(self, request: Any, code: int, obj: Any) -> bytes:
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(obj).encode()

    def render_GET(self, request: Any) -> bytes:
        path = request.path.decode()
        if path == "/version":
            return self._json(request, 200, {"major": "1", "minor": "37", "gitVersion": "v1.37.0",
                                             "platform": "linux/amd64"})
        if path == "/api":
            return self._json(request, 200, {"kind": "APIVersions", "versions": ["v1"]})
        if path == "/apis":
            return self._json(request, 200, {
                "kind": "APIGroupList", "apiVersion": "v1",
                "groups": [_group(g, vs) for g, vs in registry.group_versions() if g]})
        if path == "/openapi/v3":
            self.openapi_requests.append(path)
            paths = {}
            for key in openapi.v3_index():
                _, digest = openapi.v3_document_json(key)
                paths[key] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (key, digest)}
            return self._json(request, 200, {"paths": paths})
        if path.startswith("/openapi/v3/"):
            key = path[len("/openapi/v3/"):]
            self.openapi_requests.append(path)
            if key in openapi.v3_index():
                body, _ = openapi.v3_document_json(key)
                request.setHeader(b"content-type", b"application/json")
                return body
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) == 2:
            return self._json(request, 200, _api_resource_list("", parts[1]))
        if parts[0] == "apis" and len(parts) == 3:
            if registry.resources_for(parts[1], parts[2]):
                return self._json(request, 200, _api_resource_list(parts[1], parts[2]))
        return self._json(request, 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                         "reason": "NotFound", "code": 404})

    def render_POST(self, request: Any) -> bytes:
        body = request.content.read()
        ctype = (request.getHeader(b"content-type") or b"").decode()
        self.writes.append(("POST", request.uri.decode(), ctype, body))
        if ctype.startswith(protobuf.MEDIA_TYPE):
            obj = protobuf.decode(body)
        else:
            obj = json.loads(body)
        self.decoded.append(obj)
        return self._json(request, 201, obj)


def site(recorder: Recorder) -> server.Site:
    return server.Site(recorder)


def kubeconfig(path: str, port: int) -> str:
    """Write a kubeconfig pointing at the recorder and return its path."""
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "rec",
        "clusters": [{"name": "rec", "cluster": {"server": "http://127.0.0.1:%d" % port}}],
        "contexts": [{"name": "rec", "context": {"cluster": "rec", "user": "rec",
                                                  "namespace": "default"}}],
        "users": [{"name": "rec", "user": {"token": "t"}}],
    }
    with open(path, "w") as f:
        json.dump(config, f)
    return path


def kubectl_env(home: str) -> Dict[str, str]:
    env = dict(os.environ)
    env["HOME"] = home
    env.pop("KUBECONFIG", None)
    return env
