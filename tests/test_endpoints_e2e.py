"""
End to end: a whole kapi server (real TLS, the real generic store over the
memory backend) driven by the real kubectl and the kubernetes Python client.
"""

from __future__ import annotations

import json

from twisted.internet import defer, reactor, threads

from tests._e2e import KUBECTL, OutputWaiter, ServerTestCase


class KubectlTests(ServerTestCase):

    @defer.inlineCallbacks
    def test_api_resources(self):
        """kubectl api-resources lists the built-in resources with short names and kinds."""
        out = yield self.ok("api-resources")
        rows = [line.split() for line in out.splitlines()]
        self.assertIn(["configmaps", "cm", "v1", "true", "ConfigMap"], rows)
        self.assertIn(["deployments", "deploy", "apps/v1", "true", "Deployment"], rows)

    @defer.inlineCallbacks
    def test_system_namespaces(self):
        """kubectl get namespaces shows the four system namespaces."""
        out = yield self.ok("get", "namespaces", "-o", "name")
        self.assertEqual(sorted(out.split()), [
            "namespace/default", "namespace/kube-node-lease", "namespace/kube-public",
            "namespace/kube-system"])
        out = yield self.ok("get", "service", "kubernetes", "-o", "jsonpath={.spec.clusterIP}")
        self.assertEqual(out, "10.0.0.1")

    @defer.inlineCallbacks
    def test_create_get_delete_configmap(self):
        """create configmap (a protobuf body), get -o yaml, get (Table), delete (waits by name)."""
        out = yield self.ok("create", "configmap", "c1", "--from-literal=k=v")
        self.assertIn("configmap/c1 created", out)
        out = yield self.ok("get", "configmap", "c1", "-o", "yaml")
        self.assertIn("k: v", out)
        self.assertIn("name: c1", out)
        out = yield self.ok("get", "configmaps")
        self.assertEqual(out.splitlines()[0].split(), ["NAME", "DATA", "AGE"])
        self.assertIn("c1", out)
        out = yield self.ok("delete", "configmap", "c1")
        self.assertIn('configmap "c1" deleted', out)
        out, err, code = yield self.kubectl("get", "configmap", "c1", ok=False)
        self.assertEqual(code, 1)
        self.assertIn('configmaps "c1" not found', err)

    @defer.inlineCallbacks
    def test_apply_and_patch(self):
        """kubectl apply -f of a multi-document manifest (twice), then label and scale."""
        manifest = self.write(
            "d.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
            "  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n"
            "    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n"
            "      - {name: web, image: nginx}\n"
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n"
            "data:\n  a: '1'\n")
        out = yield self.ok("apply", "-f", manifest)
        self.assertIn("deployment.apps/web created", out)
        self.assertIn("configmap/web-config created", out)
        out = yield self.ok("apply", "-f", manifest)
        self.assertIn("deployment.apps/web unchanged", out)
        yield self.ok("label", "deployment", "web", "tier=front")
        yield self.ok("scale", "deployment", "web", "--replicas=3")
        out = yield self.ok("get", "deployment", "web", "-o", "json")
        obj = json.loads(out)
        self.assertEqual(obj["spec"]["replicas"], 3)
        self.assertEqual(obj["metadata"]["labels"], {"tier": "front"})

    @defer.inlineCallbacks
    def test_selectors_chunks_and_wide(self):
        """get -l, --field-selector, --chunk-size and -o wide select and page as kube does."""
        for name, tier in (("a1", "web"), ("a2", "db"), ("a3", "web")):
            yield self.ok("create", "configmap", name)
            yield self.ok("label", "configmap", name, f"tier={tier}")
        out = yield self.ok("get", "configmaps", "-l", "tier=web", "-o", "name")
        self.assertEqual(out.split(), ["configmap/a1", "configmap/a3"])
        out = yield self.ok("get", "configmaps", "--field-selector", "metadata.name=a2", "-o", "name")
        self.assertEqual(out.split(), ["configmap/a2"])
        out = yield self.ok("get", "configmaps", "-l", "tier", "--chunk-size=1", "-o", "name")
        self.assertEqual(out.split(), ["configmap/a1", "configmap/a2", "configmap/a3"])
        out = yield self.ok("get", "configmaps", "-o", "wide")
        self.assertIn("a2", out)

    @defer.inlineCallbacks
    def test_replace_conflict_invalid_and_dry_run(self):
        """replace with a stale resourceVersion is 409; an invalid name 422; a dry-run create stores nothing."""
        yield self.ok("create", "configmap", "r1", "--from-literal=k=v")
        stale = yield self.ok("get", "configmap", "r1", "-o", "json")
        yield self.ok("label", "configmap", "r1", "x=y")
        path = self.write("stale.json", stale)
        out, err, code = yield self.kubectl("replace", "-f", path, ok=False)
        self.assertNotEqual(code, 0)
        self.assertIn("Error from server (Conflict)", err)
        out, err, code = yield self.kubectl("create", "configmap", "Bad_Name", ok=False)
        self.assertIn('ConfigMap "Bad_Name" is invalid: metadata.name', err)
        out = yield self.ok("create", "configmap", "dry", "--dry-run=server")
        self.assertIn("configmap/dry created (server dry run)", out)
        out, err, code = yield self.kubectl("get", "configmap", "dry", ok=False)
        self.assertIn("NotFound", err)

    @defer.inlineCallbacks
    def test_explain(self):
        """kubectl explain reads the OpenAPI v3 documents."""
        out = yield self.ok("explain", "deployments.spec.replicas")
        self.assertIn("replicas", out)
        self.assertIn("integer", out)

    @defer.inlineCallbacks
    def test_get_watch(self):
        """kubectl get -w prints a configmap created while it watches."""
        yield self.ok("create", "configmap", "first")
        proto = OutputWaiter()
        process = reactor.spawnProcess(
            proto, KUBECTL, [KUBECTL, "--kubeconfig", self.kubeconfig, "get", "configmaps", "-w"],
            env=self.env)
        try:
            yield proto.wait_for(b"first")
            yield self.ok("create", "configmap", "watched")
            yield proto.wait_for(b"watched")
        finally:
            process.signalProcess("TERM")
            yield proto.ended


class PythonClientTests(ServerTestCase):
    timeout = 120
    needs_kubectl = False

    def test_create_list_watch(self):
        """The kubernetes client creates, lists and watches configmaps."""

        def client_work():
            from kubernetes import client, config, watch

            api_client = config.new_client_from_config(self.kubeconfig)
            v1 = client.CoreV1Api(api_client)
            v1.create_namespaced_config_map(
                "default", {"metadata": {"name": "py"}, "data": {"a": "b"}})
            listed = v1.list_namespaced_config_map("default")
            names = [i.metadata.name for i in listed.items]
            events = []
            for event in watch.Watch().stream(
                    v1.list_namespaced_config_map, "default", timeout_seconds=1):
                events.append((event["type"], event["object"].metadata.name))
            v1.delete_namespaced_config_map("py", "default")
            return names, events, listed.metadata.resource_version

        def check(result):
            names, events, rv = result
            self.assertIn("py", names)
            self.assertIn(("ADDED", "py"), events)
            self.assertTrue(rv)

        return threads.deferToThread(client_work).addCallback(check)


class PodSubresourceE2ETests(ServerTestCase):
    timeout = 60
    needs_kubectl = False

    def test_bind_then_evict(self):
        """A scheduler's binding sets nodeName and PodScheduled; an eviction starts deleting the pod.

        The pod is bound, so its deletion is graceful: it stays Terminating
        until a kubelet (there is none) or a forced delete removes it.
        """

        def client_work():
            from kubernetes import client, config
            from kubernetes.client.rest import ApiException

            v1 = client.CoreV1Api(config.new_client_from_config(self.kubeconfig))
            v1.create_namespaced_pod("default", {
                "metadata": {"name": "p"},
                "spec": {"containers": [{"name": "c", "image": "x"}]}})
            v1.create_namespaced_binding("default", {
                "metadata": {"name": "p"}, "target": {"kind": "Node", "name": "n1"}},
                _preload_content=False)
            pod = v1.read_namespaced_pod("p", "default")
            scheduled = [c.status for c in pod.status.conditions if c.type == "PodScheduled"]
            v1.create_namespaced_pod_eviction("p", "default", {
                "apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p"}},
                _preload_content=False)
            try:
                evicted = v1.read_namespaced_pod("p", "default")
                terminating = evicted.metadata.deletion_timestamp is not None
            except ApiException as e:
                terminating = e.status == 404
            return pod.spec.node_name, scheduled, terminating

        def check(result):
            self.assertEqual(result, ("n1", ["True"], True))

        return threads.deferToThread(client_work).addCallback(check)


class AuthCommandTests(ServerTestCase):
    timeout = 60

    @defer.inlineCallbacks
    def test_auth_can_i_and_whoami(self):
        """kubectl auth can-i (a protobuf SelfSubjectAccessReview) answers yes; auth whoami names the admin."""
        out, err, code = yield self.kubectl("auth", "can-i", "get", "pods", ok=False)
        self.assertEqual((out.strip(), code), ("yes", 0), err)
        out, err, code = yield self.kubectl("auth", "whoami", "-o", "json", ok=False)
        self.assertEqual(code, 0, err)
        info = json.loads(out)["status"]["userInfo"]
        self.assertIn("system:masters", info["groups"])
