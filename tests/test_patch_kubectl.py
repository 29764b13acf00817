"""
The patches the real kubectl sends, applied by L{kapi_twisted.patch}.

A small in-test HTTP resource plays the part of the API server for one
Deployment: it answers discovery, stores what kubectl creates and applies each
PATCH with the algorithm its Content-Type names. kubectl computes client-side
apply patches itself, so this checks that our algorithms understand exactly
what it generates.
"""

import json
import os
import shutil

from twisted.internet import reactor
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase
from twisted.web import resource, server

from kapi_twisted.patch import (
    OpenAPIPatchSchema,
    PatchFailure,
    json_patch,
    merge_patch,
    strategic,
)

from .test_patch_schema import APPS, DEFINITIONS

KUBECTL = shutil.which("kubectl")

_DISCOVERY = {
    "/api": {"kind": "APIVersions", "versions": ["v1"]},
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": []},
    "/apis": {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": "apps",
                "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
            }
        ],
    },
    "/apis/apps/v1": {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "apps/v1",
        "resources": [
            {
                "name": "deployments",
                "singularName": "deployment",
                "namespaced": True,
                "kind": "Deployment",
                "verbs": ["create", "get", "list", "patch", "update"],
            }
        ],
    },
}

_COLLECTION = "/apis/apps/v1/namespaces/default/deployments"


def _status(code, reason, message):
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class _Deployments(resource.Resource):
    """Just enough of an API server for kubectl create/apply/patch/label."""

    isLeaf = True

    def __init__(self):
        super().__init__()
        self.objects = {}
        self.patches = []
        self.schema = OpenAPIPatchSchema.for_definition(DEFINITIONS, APPS + "Deployment")

    def render(self, request):
        request.setHeader(b"content-type", b"application/json")
        code, body = self._answer(request)
        request.setResponseCode(code)
        return json.dumps(body).encode()

    def _answer(self, request):
        path = request.path.decode()
        method = request.method.decode()
        if path in _DISCOVERY and method == "GET":
            return 200, _DISCOVERY[path]
        if path == _COLLECTION and method == "POST":
            obj = json.loads(request.content.read())
            obj["metadata"].update(namespace="default", uid="u-1", resourceVersion="1")
            self.objects[obj["metadata"]["name"]] = obj
            return 201, obj
        if path.startswith(_COLLECTION + "/"):
            name = path[len(_COLLECTION) + 1 :]
            if name not in self.objects:
                return 404, _status(404, "NotFound", f'deployments.apps "{name}" not found')
            if method == "GET":
                return 200, self.objects[name]
            if method == "PATCH":
                return self._patch(name, request)
        return 404, _status(404, "NotFound", "the server could not find the requested resource")

    def _patch(self, name, request):
        kind = request.getHeader(b"content-type").split(b";")[0].decode()
        body = json.loads(request.content.read())
        self.patches.append((kind, body))
        current = self.objects[name]
        try:
            if kind == "application/strategic-merge-patch+json":
                result = strategic.apply(current, body, self.schema)
            elif kind == "application/merge-patch+json":
                result = merge_patch.apply_object(current, body)
            elif kind == "application/json-patch+json":
                result = json_patch.apply(current, body)
            else:
                return 415, _status(415, "UnsupportedMediaType", kind)
        except PatchFailure as e:
            return e.code, _status(e.code, e.reason, e.message)
        self.objects[name] = result
        return 200, result


_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        env:
        - {name: A, value: "1"}
        - {name: B, value: "2"}
        - {name: C, value: "3"}
      - name: sidecar
        image: busybox:1.36
        args: [sleep, infinity]
"""


class KubectlPatchTests(TestCase):
    """
    kubectl apply, patch and label against the patch algorithms.
    """

    if KUBECTL is None:
        skip = "kubectl is not installed"

    def setUp(self):
        self.api = _Deployments()
        self.port = reactor.listenTCP(0, server.Site(self.api), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.home = self.mktemp()
        os.makedirs(self.home)
        with open(os.path.join(self.home, "kubeconfig"), "w"):
            pass

    def kubectl(self, *args, stdin_file=None):
        """Run kubectl against the test server; fire with (out, err, code)."""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": self.home,
            "KUBECONFIG": os.path.join(self.home, "kubeconfig"),
        }
        base = (
            f"--server=http://127.0.0.1:{self.port.getHost().port}",
            f"--cache-dir={os.path.join(self.home, 'cache')}",
        )
        return getProcessOutputAndValue(KUBECTL, base + args, env=env)

    def write(self, name, text):
        path = os.path.join(self.home, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def containers(self):
        return self.api.objects["web"]["spec"]["template"]["spec"]["containers"]

    async def apply(self, text):
        out, err, code = await self.kubectl(
            "apply", "--validate=false", "-f", self.write("d.yaml", text)
        )
        self.assertEqual(code, 0, err)
        return out

    async def test_apply_changed_file(self):
        """Re-applying a file without one env var and with a new image changes just that."""
        await self.apply(_DEPLOYMENT)
        out = await self.apply(
            _DEPLOYMENT.replace("nginx:1.25", "nginx:1.26").replace(
                '        - {name: B, value: "2"}\n', ""
            )
        )
        self.assertIn(b"deployment.apps/web configured", out)
        kind, body = self.api.patches[-1]
        self.assertEqual(kind, "application/strategic-merge-patch+json")
        self.assertIn("$setElementOrder/containers", body["spec"]["template"]["spec"])
        self.assertEqual(
            self.containers(),
            [
                {
                    "env": [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}],
                    "image": "nginx:1.26",
                    "name": "web",
                },
                {"args": ["sleep", "infinity"], "image": "busybox:1.36", "name": "sidecar"},
            ],
        )

    async def test_apply_adds_env_in_place(self):
        """An env var added in the middle of the file lands in the middle."""
        await self.apply(_DEPLOYMENT)
        await self.apply(
            _DEPLOYMENT.replace(
                '        - {name: B, value: "2"}\n',
                '        - {name: NEW, value: "0"}\n        - {name: B, value: "2"}\n',
            )
        )
        self.assertEqual(
            [e["name"] for e in self.containers()[0]["env"]], ["A", "NEW", "B", "C"]
        )

    async def test_patch_types(self):
        """kubectl patch with each patch type gives the documented result."""
        await self.apply(_DEPLOYMENT)
        spec = '{"spec":{"template":{"spec":{"containers":[{"name":"extra","image":"redis"}]}}}}'
        _, err, code = await self.kubectl("patch", "deployment", "web", "-p", spec)
        self.assertEqual(code, 0, err)
        self.assertEqual([c["name"] for c in self.containers()], ["extra", "web", "sidecar"])

        _, err, code = await self.kubectl(
            "patch", "deployment", "web", "--type=json",
            "-p", '[{"op":"replace","path":"/spec/replicas","value":3}]',
        )
        self.assertEqual(code, 0, err)
        self.assertEqual(self.api.objects["web"]["spec"]["replicas"], 3)

        _, err, code = await self.kubectl(
            "patch", "deployment", "web", "--type=merge", "-p", spec
        )
        self.assertEqual(code, 0, err)
        self.assertEqual([c["name"] for c in self.containers()], ["extra"])

    async def test_failed_json_patch_test(self):
        """A failing JSON-patch test is reported by kubectl and changes nothing."""
        await self.apply(_DEPLOYMENT)
        before = json.dumps(self.api.objects["web"])
        _, err, code = await self.kubectl(
            "patch", "deployment", "web", "--type=json",
            "-p", '[{"op":"test","path":"/spec/replicas","value":7},'
                  '{"op":"replace","path":"/spec/replicas","value":3}]',
        )
        self.assertNotEqual(code, 0)
        self.assertIn(b"testing value /spec/replicas failed", err)
        self.assertEqual(json.dumps(self.api.objects["web"]), before)

    async def test_label_and_unlabel(self):
        """kubectl label adds a label and label x- removes it."""
        await self.apply(_DEPLOYMENT)
        _, err, code = await self.kubectl("label", "deployment", "web", "tier=front")
        self.assertEqual(code, 0, err)
        self.assertEqual(self.api.objects["web"]["metadata"]["labels"], {"tier": "front"})
        _, err, code = await self.kubectl("label", "deployment", "web", "tier-")
        self.assertEqual(code, 0, err)
        self.assertNotIn("tier", self.api.objects["web"]["metadata"].get("labels", {}))
