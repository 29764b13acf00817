"""
End to end: a whole kapi server (real TLS, the real generic store over the
memory backend) driven by the real kubectl and the kubernetes Python client.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

from twisted.internet import defer, reactor, threads
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

KUBECTL = shutil.which("kubectl")


def _store_available() -> bool:
    import importlib

    try:
        importlib.import_module("kapi_twisted.registry.store")
    except ImportError:
        return False
    return True


@defer.inlineCallbacks
def start_kapi(data_dir: str, storage_backend: str = "memory"):
    """Start the chain with the built-in API installed (unless app.py already does)."""
    from kapi_twisted.aggregator import install_root_discovery
    from kapi_twisted.app import create_server_chain
    from kapi_twisted.config import ServerConfig
    from kapi_twisted.controlplane import HOOK_NAME, install_builtin_apis

    config = ServerConfig(port="ssl:0:interface=127.0.0.1", data_dir=data_dir,
                          storage_backend=storage_backend).validate()
    top = create_server_chain(config, reactor)
    if HOOK_NAME not in top.aggregator.all_post_start_hooks():
        install_builtin_apis(
            top.kube, top.storage, config, top.long_running,
            advertise=lambda: ("127.0.0.1", top.serving.port.getHost().port))
        install_root_discovery(top.aggregator)
    top.startService()
    yield top.ready
    return top, config


class _Lines(ProcessProtocol):
    def __init__(self) -> None:
        self.out = b""
        self.waiting = []
        self.ended: defer.Deferred = defer.Deferred()

    def outReceived(self, data: bytes) -> None:
        self.out += data
        for needle, d in list(self.waiting):
            if needle in self.out:
                self.waiting.remove((needle, d))
                d.callback(self.out)

    def wait_for(self, needle: bytes) -> defer.Deferred:
        d: defer.Deferred = defer.Deferred()
        if needle in self.out:
            d.callback(self.out)
        else:
            self.waiting.append((needle, d))
        return d.addTimeout(30, reactor)

    def processEnded(self, reason) -> None:
        self.ended.callback(None)


class KubectlTests(TestCase):
    timeout = 120

    @defer.inlineCallbacks
    def setUp(self):
        if KUBECTL is None:
            raise self.skipTest("kubectl is not on PATH")
        if not _store_available():
            raise self.skipTest("the generic store (kapi_twisted.registry.store) is not importable")
        self.dir = tempfile.mkdtemp(prefix="kapi-e2e-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.top, self.config = yield start_kapi(os.path.join(self.dir, "data"))
        self.addCleanup(self.top.stopService)
        self.kubeconfig = os.path.join(self.config.data_dir, "admin.kubeconfig")
        self.env = {"HOME": self.dir, "PATH": os.environ.get("PATH", "")}

    def kubectl(self, *args: str, stdin: bytes = b""):
        d = getProcessOutputAndValue(
            KUBECTL, ("--kubeconfig", self.kubeconfig) + args, env=self.env)
        return d

    @defer.inlineCallbacks
    def ok(self, *args: str) -> defer.Deferred:
        out, err, code = yield self.kubectl(*args)
        self.assertEqual(code, 0, (args, out, err))
        return out.decode()

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
        out, err, code = yield self.kubectl("get", "configmap", "c1")
        self.assertEqual(code, 1)
        self.assertIn(b'configmaps "c1" not found', err)

    @defer.inlineCallbacks
    def test_apply_and_patch(self):
        """kubectl apply -f of a multi-document manifest (twice), then label and scale."""
        manifest = os.path.join(self.dir, "d.yaml")
        with open(manifest, "w") as f:
            f.write(
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
        path = os.path.join(self.dir, "stale.json")
        with open(path, "w") as f:
            f.write(stale)
        out, err, code = yield self.kubectl("replace", "-f", path)
        self.assertNotEqual(code, 0)
        self.assertIn(b"Error from server (Conflict)", err)
        out, err, code = yield self.kubectl("create", "configmap", "Bad_Name")
        self.assertIn(b'ConfigMap "Bad_Name" is invalid: metadata.name', err)
        out = yield self.ok("create", "configmap", "dry", "--dry-run=server")
        self.assertIn("configmap/dry created (server dry run)", out)
        out, err, code = yield self.kubectl("get", "configmap", "dry")
        self.assertIn(b"NotFound", err)

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
        proto = _Lines()
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


class PythonClientTests(TestCase):
    timeout = 120

    @defer.inlineCallbacks
    def setUp(self):
        if not _store_available():
            raise self.skipTest("the generic store (kapi_twisted.registry.store) is not importable")
        self.dir = tempfile.mkdtemp(prefix="kapi-e2e-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.top, self.config = yield start_kapi(os.path.join(self.dir, "data"))
        self.addCleanup(self.top.stopService)
        self.kubeconfig = os.path.join(self.config.data_dir, "admin.kubeconfig")

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


class PodSubresourceE2ETests(TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        if not _store_available():
            raise self.skipTest("the generic store (kapi_twisted.registry.store) is not importable")
        self.dir = tempfile.mkdtemp(prefix="kapi-e2e-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.top, self.config = yield start_kapi(os.path.join(self.dir, "data"))
        self.addCleanup(self.top.stopService)
        self.kubeconfig = os.path.join(self.config.data_dir, "admin.kubeconfig")

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


class AuthCommandTests(TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        if KUBECTL is None:
            raise self.skipTest("kubectl is not on PATH")
        if not _store_available():
            raise self.skipTest("the generic store (kapi_twisted.registry.store) is not importable")
        self.dir = tempfile.mkdtemp(prefix="kapi-e2e-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.top, self.config = yield start_kapi(os.path.join(self.dir, "data"))
        self.addCleanup(self.top.stopService)
        self.kubeconfig = os.path.join(self.config.data_dir, "admin.kubeconfig")
        self.env = {"HOME": self.dir, "PATH": os.environ.get("PATH", "")}

    @defer.inlineCallbacks
    def test_auth_can_i_and_whoami(self):
        """kubectl auth can-i (a protobuf SelfSubjectAccessReview) answers yes; auth whoami names the admin."""
        out, err, code = yield getProcessOutputAndValue(
            KUBECTL, ("--kubeconfig", self.kubeconfig, "auth", "can-i", "get", "pods"), env=self.env)
        self.assertEqual((out.strip(), code), (b"yes", 0), err)
        out, err, code = yield getProcessOutputAndValue(
            KUBECTL, ("--kubeconfig", self.kubeconfig, "auth", "whoami", "-o", "json"), env=self.env)
        self.assertEqual(code, 0, err)
        info = json.loads(out)["status"]["userInfo"]
        self.assertIn("system:masters", info["groups"])
