"""
End to end with the real kubectl against a whole kapi server (real TLS, the
memory store): a CRD applied and established, a custom resource with its
printer columns and defaulted field, an out-of-range value refused, explain,
the status and scale subresources, and the CRD's deletion taking its
resources with it.
"""

from __future__ import annotations

import json
import os

from twisted.internet import defer

from tests._e2e import ServerTestCase

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: [ct]
    categories: [all]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Image, type: string, jsonPath: .spec.image}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: The desired state of the cron tab.
            properties:
              cronSpec: {type: string, description: When to run.}
              image: {type: string, default: busybox}
              replicas: {type: integer, minimum: 1, maximum: 10}
          status:
            type: object
            properties:
              replicas: {type: integer}
              phase: {type: string}
"""

CRONTAB = """\
apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: my-ct
spec:
  cronSpec: "*/5 * * * *"
  replicas: 2
"""


class KubectlCRDTests(ServerTestCase):

    @defer.inlineCallbacks
    def test_crd_lifecycle_with_kubectl(self):
        """apply, wait, columns and defaults, refusal, explain, status, scale, delete."""
        out = yield self.ok("apply", "-f", "-", stdin=CRD)
        self.assertIn("customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com "
                      "created", out)
        out = yield self.ok("wait", "--for", "condition=established", "--timeout=30s",
                            "crd/crontabs.stable.example.com")
        self.assertIn("condition met", out)
        out = yield self.ok("apply", "-f", "-", stdin=CRONTAB)
        self.assertIn("crontab.stable.example.com/my-ct created", out)

        out = yield self.ok("get", "ct")
        header, row = out.splitlines()[:2]
        self.assertEqual(header.split(), ["NAME", "SPEC", "IMAGE", "REPLICAS", "AGE"])
        self.assertEqual(row.split()[:7], ["my-ct", "*/5", "*", "*", "*", "*", "busybox"])

        out, err, code = yield self.kubectl("patch", "ct", "my-ct", "--type=merge",
                                            "-p", '{"spec":{"replicas":11}}', ok=False)
        self.assertEqual(code, 1)
        self.assertIn('The CronTab "my-ct" is invalid: spec.replicas: Invalid value: 11',
                      err)

        out = yield self.ok("explain", "crontab.spec")
        self.assertIn("KIND:       CronTab", out)
        self.assertIn("The desired state of the cron tab.", out)
        self.assertIn("cronSpec\t<string>", out)

        yield self.ok("patch", "ct", "my-ct", "--subresource=status", "--type=merge",
                      "-p", '{"status":{"replicas":2,"phase":"Running"}}')
        yield self.ok("scale", "ct", "my-ct", "--replicas=3")
        out = yield self.ok("get", "ct", "my-ct", "-o", "json")
        obj = json.loads(out)
        self.assertEqual(obj["status"], {"phase": "Running", "replicas": 2})
        self.assertEqual(obj["spec"]["replicas"], 3)
        self.assertEqual(obj["metadata"]["generation"], 2)

        out = yield self.ok("get", "all", "-n", "default")
        self.assertIn("crontab.stable.example.com/my-ct", out)

        out = yield self.ok("delete", "crd", "crontabs.stable.example.com", "--timeout=60s")
        self.assertIn('"crontabs.stable.example.com" deleted', out)
        out = yield self.ok("get", "crd", "-o", "name")
        self.assertEqual(out.strip(), "")
        items = yield self.server.service.storage.list("/registry/stable.example.com/")
        self.assertEqual(items.items, [])

    @defer.inlineCallbacks
    def test_unknown_field_warning_and_strict_refusal(self):
        """--validate=warn prints kube's unknown-field warning; strict create is refused."""
        yield self.apply_crd(CRD, "crontabs.stable.example.com")
        bad = CRONTAB + "  bogus: 1\n"
        out, err, code = yield self.kubectl("create", "-f", "-", stdin=bad, ok=False)
        self.assertEqual(code, 1)
        self.assertIn('unknown field "spec.bogus"', err)
        out, err, code = yield self.kubectl("create", "--validate=warn", "-f", "-", stdin=bad,
                                            ok=False)
        self.assertEqual(code, 0, err)
        self.assertIn('Warning: unknown field "spec.bogus"', err)

    @defer.inlineCallbacks
    def test_deprecated_version_warns(self):
        """Requests to a deprecated version print kube's deprecation warning."""
        deprecated = CRD.replace(
            "  versions:\n  - name: v1\n",
            "  versions:\n  - name: v1beta1\n    served: true\n    storage: false\n"
            "    deprecated: true\n    schema:\n      openAPIV3Schema: {type: object, "
            "x-kubernetes-preserve-unknown-fields: true}\n  - name: v1\n")
        self.assertNotEqual(deprecated, CRD)
        yield self.apply_crd(deprecated, "crontabs.stable.example.com")
        out, err, code = yield self.kubectl("get", "crontabs.v1beta1.stable.example.com", ok=False)
        self.assertEqual(code, 0, err)
        self.assertIn("Warning: stable.example.com/v1beta1 CronTab is deprecated; use "
                      "stable.example.com/v1 CronTab", err)

    @defer.inlineCallbacks
    def test_python_client_custom_objects_and_dynamic_client(self):
        """The kubernetes Python client creates, patches status, watches and discovers CRs."""
        from twisted.internet import threads

        yield self.apply_crd(CRD, "crontabs.stable.example.com")
        kubeconfig = self.env["KUBECONFIG"]

        def run():
            from kubernetes import client, config, dynamic, watch

            api = config.new_client_from_config(kubeconfig)
            co = client.CustomObjectsApi(api)
            args = ("stable.example.com", "v1", "default", "crontabs")
            created = co.create_namespaced_custom_object(*args, {
                "apiVersion": "stable.example.com/v1", "kind": "CronTab",
                "metadata": {"name": "py"}, "spec": {"cronSpec": "x"}})
            status = co.patch_namespaced_custom_object_status(
                *args, "py", {"status": {"phase": "P"}})["status"]
            events = [(e["type"], e["object"]["metadata"]["name"]) for e in watch.Watch().stream(
                co.list_namespaced_custom_object, *args, timeout_seconds=1)]
            res = dynamic.DynamicClient(api).resources.get(
                api_version="stable.example.com/v1", kind="CronTab")
            names = [i.metadata.name for i in res.get(namespace="default").items]
            return created["spec"], status, events, names

        spec, status, events, names = yield threads.deferToThread(run)
        self.assertEqual(spec, {"cronSpec": "x", "image": "busybox"})
        self.assertEqual(status, {"phase": "P"})
        self.assertEqual(events, [("ADDED", "py")])
        self.assertEqual(names, ["py"])


class RestartTests(ServerTestCase):

    def settings(self):
        return {"data_dir": os.path.join(self.dir, "data"), "storage_backend": "sqlite"}

    @defer.inlineCallbacks
    def test_crds_served_again_after_restart(self):
        """After a restart on the same SQLite store, CRDs and their resources serve at once."""
        yield self.apply_crd(CRD, "crontabs.stable.example.com")
        yield self.ok("apply", "-f", "-", stdin=CRONTAB)
        yield self.server.stop()
        yield self.start_server(**self.settings())
        out, err, code = yield self.kubectl("get", "ct", "my-ct", "-o", "jsonpath={.spec.image}",
                                            ok=False)
        self.assertEqual((code, out), (0, "busybox"), err)
