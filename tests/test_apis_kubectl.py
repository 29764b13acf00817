"""
Real kubectl against a recording server that serves discovery from the resource table and
OpenAPI v3 from L{kapi_twisted.apis.openapi}: what kubectl sends must decode to what it
would have sent as JSON, and explain/apply must accept our OpenAPI documents.
"""

import json
import os
from typing import Any, Dict, List, Tuple

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.trial.unittest import TestCase
from twisted.web import resource, server

from kapi_twisted.apis import openapi, protobuf, registry
from tests._e2e import KUBECTL, kubectl_env, run_kubectl


# --- a recording server: discovery from the table, OpenAPI v3, writes recorded ----------


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


MANIFEST = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: applied
data:
  a: b
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: nginx}]
"""


class KubectlTests(TestCase):
    """kubectl 1.32 talks to a server built on these tables."""

    timeout = 120

    if KUBECTL is None:
        skip = "kubectl is not installed on this machine"

    def setUp(self):
        self.recorder = Recorder()
        self.port = reactor.listenTCP(0, site(self.recorder), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.home = self.mktemp()
        os.makedirs(self.home)
        self.config = kubeconfig(os.path.join(self.home, "config"),
                                          self.port.getHost().port)

    @inlineCallbacks
    def kubectl(self, *args):
        out, err, code = yield run_kubectl(kubectl_env(self.home, self.config), *args)
        self.assertEqual(code, 0, "kubectl %s failed: %s" % (" ".join(args), err))
        return out

    @inlineCallbacks
    def test_create_sends_protobuf_that_decodes_like_json(self):
        """`kubectl create configmap|secret|namespace|deployment` bodies read as kubectl's JSON."""
        commands = [
            ("create", "configmap", "x", "--from-literal=a=b", "--from-literal=empty="),
            ("create", "secret", "generic", "s", "--from-literal=k=v"),
            ("create", "namespace", "ns1"),
            ("create", "deployment", "web", "--image=nginx", "--replicas=0", "--port=80"),
            ("create", "service", "clusterip", "svc", "--tcp=80:8080", "--tcp=443:https"),
            ("create", "cronjob", "cj", "--image=busybox", "--schedule=*/1 * * * *"),
            ("create", "role", "r", "--verb=get,list", "--resource=pods,deployments.apps"),
            ("create", "quota", "q", "--hard=cpu=1,pods=2,memory=1Gi"),
            ("create", "poddisruptionbudget", "pdb", "--selector=app=x", "--min-available=0"),
            ("create", "priorityclass", "pc", "--value=0", "--preemption-policy=Never"),
            ("create", "ingress", "ing", "--rule=foo.com/bar=svc1:8080,tls=cert",
             "--class=nginx"),
        ]
        for command in commands:
            yield self.kubectl(*command)
            method, uri, content_type, body = self.recorder.writes[-1]
            self.assertEqual(content_type, protobuf.MEDIA_TYPE)
            self.assertTrue(body.startswith(protobuf.MAGIC))
            self.assertIn("fieldValidation=Strict", uri)
            as_json = json.loads((yield self.kubectl(*command + ("--dry-run=client", "-o",
                                                                 "json"))))
            self.assertEqual(protobuf.decode(body), as_json)
            self.assertEqual(protobuf.decode(protobuf.encode(as_json)), as_json)
        self.assertEqual([w[1].split("?")[0] for w in self.recorder.writes[:4]], [
            "/api/v1/namespaces/default/configmaps", "/api/v1/namespaces/default/secrets",
            "/api/v1/namespaces", "/apis/apps/v1/namespaces/default/deployments"])
        self.assertEqual(self.recorder.decoded[3]["spec"]["replicas"], 0)
        self.assertEqual(self.recorder.decoded[4]["spec"]["ports"][1]["targetPort"], "https")

    @inlineCallbacks
    def test_auth_can_i_sends_protobuf(self):
        """`kubectl auth can-i` sends a SelfSubjectAccessReview in protobuf that we can read."""
        out, err, code = yield run_kubectl(kubectl_env(self.home, self.config),
                                           "auth", "can-i", "create", "pods", "--subresource=log")
        self.assertEqual(out, "no\n")  # the recorder echoes the review back, not allowed
        method, uri, content_type, body = self.recorder.writes[-1]
        self.assertEqual(uri, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
        self.assertEqual(content_type, protobuf.MEDIA_TYPE)
        self.assertEqual(protobuf.decode(body), {
            "kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": {"resourceAttributes": {"namespace": "default", "verb": "create",
                                            "resource": "pods", "subresource": "log"}},
            "status": {"allowed": False}})

    @inlineCallbacks
    def test_explain(self):
        """`kubectl explain` finds kinds and field descriptions in our OpenAPI v3 documents."""
        out = yield self.kubectl("explain", "deployment.spec.replicas")
        self.assertIn("KIND:       Deployment", out)
        self.assertIn("replicas <integer>", out)
        self.assertIn("Number of desired pods", out)
        out = yield self.kubectl("explain", "leases")
        self.assertIn("coordination.k8s.io", out)
        self.assertIn("/openapi/v3/apis/apps/v1", self.recorder.openapi_requests)

    @inlineCallbacks
    def test_apply_validates_with_field_validation(self):
        """`kubectl apply` accepts our PATCH operations and sends fieldValidation=Strict."""
        path = os.path.join(self.home, "manifest.yaml")
        with open(path, "w") as f:
            f.write(MANIFEST)
        out = yield self.kubectl("apply", "-f", path)
        self.assertIn("configmap/applied created", out)
        self.assertIn("deployment.apps/web created", out)
        uris = [w[1] for w in self.recorder.writes]
        self.assertEqual(len(uris), 2)
        for uri in uris:
            self.assertIn("fieldValidation=Strict", uri)
