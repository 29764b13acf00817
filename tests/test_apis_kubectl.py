"""
Real kubectl against a recording server that serves discovery from the resource table and
OpenAPI v3 from L{kapi_twisted.apis.openapi}: what kubectl sends must decode to what it
would have sent as JSON, and explain/apply must accept our OpenAPI documents.
"""

import json
import os
import shutil

from twisted.internet import reactor, utils
from twisted.internet.defer import inlineCallbacks
from twisted.trial.unittest import TestCase

from kapi_twisted.apis import protobuf
from tests import _kubectl_recorder as recorder

KUBECTL = shutil.which("kubectl")

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
        self.recorder = recorder.Recorder()
        self.port = reactor.listenTCP(0, recorder.site(self.recorder), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.home = self.mktemp()
        os.makedirs(self.home)
        self.config = recorder.kubeconfig(os.path.join(self.home, "config"),
                                          self.port.getHost().port)

    @inlineCallbacks
    def kubectl(self, *args):
        out, err, code = yield utils.getProcessOutputAndValue(
            KUBECTL, ("--kubeconfig", self.config) + args, env=recorder.kubectl_env(self.home))
        self.assertEqual(code, 0, "kubectl %s failed: %s" % (" ".join(args), err.decode()))
        return out.decode()

    @inlineCallbacks
    def test_create_sends_protobuf_that_decodes_like_json(self):
        """`kubectl create configmap|secret|namespace|deployment` bodies read as kubectl's JSON."""
        commands = [
            ("create", "configmap", "x", "--from-literal=a=b", "--from-literal=empty="),
            ("create", "secret", "generic", "s", "--from-literal=k=v"),
            ("create", "namespace", "ns1"),
            ("create", "deployment", "web", "--image=nginx", "--replicas=0", "--port=80"),
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
        self.assertEqual([w[1].split("?")[0] for w in self.recorder.writes], [
            "/api/v1/namespaces/default/configmaps", "/api/v1/namespaces/default/secrets",
            "/api/v1/namespaces", "/apis/apps/v1/namespaces/default/deployments"])
        self.assertEqual(self.recorder.decoded[-1]["spec"]["replicas"], 0)

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
