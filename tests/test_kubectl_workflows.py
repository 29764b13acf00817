"""
The everyday kubectl workflows against a whole kapi server: client-side
apply of a changed Deployment, diff, edit, scale and every patch type.
"""

from __future__ import annotations

import json
import sys

from twisted.internet import defer

from tests._e2e import ServerTestCase

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: app
        image: {app_image}
        env:
{env}
      - name: sidecar
        image: busybox:1.36
        env:
        - {{name: SIDE, value: "car"}}
"""


def _deployment(app_image: str, env: dict) -> str:
    lines = "\n".join(f'        - {{name: {k}, value: "{v}"}}' for k, v in env.items())
    return DEPLOYMENT.format(app_image=app_image, env=lines)


class KubectlWorkflowTests(ServerTestCase):
    timeout = 90

    @defer.inlineCallbacks
    def test_apply_changed_file_merges_containers(self):
        """A second apply removing one env var and changing one image leaves the other container alone."""
        first = self.write("v1.yaml", _deployment("nginx:1.25", {"A": "1", "B": "2", "C": "3"}))
        yield self.ok("apply", "-f", first)
        second = self.write("v2.yaml", _deployment("nginx:1.26", {"A": "1", "C": "3"}))
        diff_out, _, diff_code = yield self.kubectl("diff", "-f", second, ok=False)
        self.assertEqual(diff_code, 1, "diff exits 1 when the live object would change")
        self.assertIn("nginx:1.26", diff_out)
        yield self.ok("apply", "-f", second)
        deploy = yield self.get_json("deployment", "web")
        app, sidecar = deploy["spec"]["template"]["spec"]["containers"]
        self.assertEqual(app["image"], "nginx:1.26")
        self.assertEqual(app["env"], [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}])
        self.assertEqual(sidecar["image"], "busybox:1.36")
        self.assertEqual(sidecar["env"], [{"name": "SIDE", "value": "car"}])
        self.assertEqual(deploy["metadata"]["generation"], 2)
        _, _, unchanged = yield self.kubectl("diff", "-f", second, ok=False)
        self.assertEqual(unchanged, 0, "no difference after the apply")

    @defer.inlineCallbacks
    def test_edit_with_editor(self):
        """kubectl edit runs KUBE_EDITOR on the live object and patches what it changed."""
        yield self.ok("create", "configmap", "settings", "--from-literal=color=blue")
        editor = self.write("editor.py", (
            "import sys\n"
            "p = sys.argv[1]\n"
            "text = open(p).read().replace('color: blue', 'color: green')\n"
            "open(p, 'w').write(text)\n"))
        yield self.ok("edit", "configmap", "settings",
                      KUBE_EDITOR=f"{sys.executable} {editor}")
        cm = yield self.get_json("configmap", "settings")
        self.assertEqual(cm["data"], {"color": "green"})

    @defer.inlineCallbacks
    def test_scale(self):
        """kubectl scale changes spec.replicas through the scale subresource."""
        yield self.ok("apply", "-f", self.write("d.yaml", _deployment("nginx", {"A": "1"})))
        out = yield self.ok("scale", "deployment", "web", "--replicas=4")
        self.assertIn("scaled", out)
        deploy = yield self.get_json("deployment", "web")
        self.assertEqual(deploy["spec"]["replicas"], 4)
        scale = json.loads((yield self.ok(
            "get", "--raw", "/apis/apps/v1/namespaces/default/deployments/web/scale")))
        self.assertEqual((scale["kind"], scale["spec"]["replicas"]), ("Scale", 4))

    @defer.inlineCallbacks
    def test_patch_types(self):
        """Strategic, merge and JSON patches each do what their type says."""
        yield self.ok("apply", "-f", self.write("d.yaml", _deployment("nginx", {"A": "1"})))
        yield self.ok("patch", "deployment", "web", "-p",
                      '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:2"}]}}}}')
        deploy = yield self.get_json("deployment", "web")
        names = [c["name"] for c in deploy["spec"]["template"]["spec"]["containers"]]
        self.assertEqual(names, ["app", "sidecar"], "strategic merge keeps the other container")
        yield self.ok("patch", "deployment", "web", "--type=merge", "-p",
                      '{"metadata":{"labels":{"tier":"web"}}}')
        yield self.ok("patch", "deployment", "web", "--type=json", "-p",
                      '[{"op":"replace","path":"/spec/replicas","value":3}]')
        deploy = yield self.get_json("deployment", "web")
        self.assertEqual(deploy["metadata"]["labels"], {"tier": "web"})
        self.assertEqual(deploy["spec"]["replicas"], 3)
        self.assertEqual(deploy["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:2")
        out, err, code = yield self.kubectl(
            "patch", "deployment", "web", "--type=json",
            "-p", '[{"op":"test","path":"/spec/replicas","value":99}]', ok=False)
        self.assertNotEqual(code, 0)
        self.assertIn("The request is invalid", err)
        self.assertIn("test failed", err)
