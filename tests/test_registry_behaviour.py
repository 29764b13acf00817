"""
The generic store with the per-kind write rules wired in: defaulting on
create, update and status writes, pods' generation, ServiceAccount and
PriorityClass look-ups, and Service cluster IPs and NodePorts allocated,
kept, released and rebuilt as kube-apiserver's service storage does.
"""

from __future__ import annotations

import ipaddress
import random
import shutil
import tempfile

from twisted.internet import defer, reactor
from twisted.trial import unittest

from kapi_twisted.registry.allocators import ServiceAllocation
from kapi_twisted.registry.interface import DeleteOptions, RequestContext, WriteOptions
from kapi_twisted.registry.store import build_stores

from ._registry_helpers import RegistryTestCase


def service(name, **spec):
    spec.setdefault("ports", [{"port": 80}])
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def pod(name, **spec):
    spec.setdefault("containers", [{"name": "c", "image": "busybox:1.36"}])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


class _ServiceTestCase(RegistryTestCase):
    def setUp(self):
        super().setUp()
        self.alloc = ServiceAllocation("10.0.0.0/24", "30000-32767", rng=random.Random(7))
        self.store("services").strategy.use_allocation(self.alloc)
        self.ipv4 = self.alloc.ip_allocators["IPv4"]

    def svc(self, name, **spec):
        return self.create("services", "default", service(name, **spec)).kv.object

    def update_svc(self, name, obj, **options):
        return self.store("services").update(self.ctx, "default", name, obj,
                                             WriteOptions(**options))


class ServiceAllocationTests(_ServiceTestCase):

    def test_created_services_get_unique_ips_in_range(self):
        """Every new Service gets its own cluster IP of 10.0.0.0/24, never 10.0.0.1."""
        ips = [self.svc(f"s{i}")["spec"]["clusterIP"] for i in range(40)]
        self.assertEqual(len(set(ips)), 40)
        network = ipaddress.ip_network("10.0.0.0/24")
        for ip in ips:
            self.assertIn(ipaddress.ip_address(ip), network)
        self.assertNotIn("10.0.0.1", ips)
        self.assertEqual(self.ipv4.used(), 40)

    def test_node_port_in_range(self):
        """A NodePort Service gets a port in 30000-32767 and defaulted families."""
        spec = self.svc("np", type="NodePort")["spec"]
        self.assertTrue(30000 <= spec["ports"][0]["nodePort"] <= 32767)
        self.assertEqual((spec["ipFamilies"], spec["ipFamilyPolicy"]), (["IPv4"], "SingleStack"))
        self.assertEqual(spec["externalTrafficPolicy"], "Cluster")

    def test_dry_run_allocates_nothing(self):
        """A dry-run create answers an IP yet holds none; a dry-run update holds no port."""
        r = self.create("services", "default", service("a"), dry_run=["All"])
        self.assertTrue(r.object["spec"]["clusterIP"])
        self.assertEqual(self.ipv4.used(), 0)
        current = self.svc("b")
        changed = dict(current, spec=dict(current["spec"], type="NodePort"))
        r = self.ok(self.update_svc("b", changed, dry_run=["All"]))
        self.assertTrue(r.object["spec"]["ports"][0]["nodePort"])
        self.assertEqual((self.ipv4.used(), self.alloc.node_ports.used()), (1, 0))

    def test_failed_create_releases_its_ip(self):
        """A create that fails in storage (the name exists) leaves its requested IP free."""
        self.svc("a", clusterIP="10.0.0.50")
        err = self.error(self.store("services").create(
            self.ctx, "default", service("a", clusterIP="10.0.0.60"), WriteOptions()))
        self.assertEqual(err.code, 409)
        self.assertFalse(self.ipv4.is_allocated("10.0.0.60"))
        self.assertTrue(self.ipv4.is_allocated("10.0.0.50"))

    def test_taken_ip_is_invalid(self):
        """Asking for a held IP is 422 with kube's message; nothing more is held."""
        self.svc("a", clusterIP="10.0.0.50")
        err = self.error(self.store("services").create(
            self.ctx, "default", service("b", clusterIP="10.0.0.50"), WriteOptions()))
        self.assertEqual(err.code, 422)
        self.assertEqual(err.message, (
            'Service "b" is invalid: spec.clusterIPs: Invalid value: ["10.0.0.50"]: '
            "failed to allocate IP 10.0.0.50: provided IP is already allocated"))
        self.assertEqual(self.ipv4.used(), 1)

    def test_delete_frees_ip_and_port(self):
        """Deleting a Service frees its IP and NodePort for the next one that asks."""
        self.svc("a", type="NodePort", clusterIP="10.0.0.50", ports=[
            {"port": 80, "nodePort": 30080}])
        self.ok(self.store("services").delete(self.ctx, "default", "a", DeleteOptions()))
        self.assertEqual((self.ipv4.used(), self.alloc.node_ports.used()), (0, 0))
        self.svc("b", type="NodePort", clusterIP="10.0.0.50", ports=[
            {"port": 80, "nodePort": 30080}])

    def test_dry_run_delete_keeps_ip(self):
        """A dry-run delete holds on to the IP."""
        self.svc("a", clusterIP="10.0.0.50")
        self.ok(self.store("services").delete(self.ctx, "default", "a",
                                              DeleteOptions(dry_run=["All"])))
        self.assertTrue(self.ipv4.is_allocated("10.0.0.50"))

    def test_finalizers_hold_ip_until_the_service_goes(self):
        """A Service held by a finalizer keeps its IP; removing the finalizer frees it."""
        body = service("a", clusterIP="10.0.0.50")
        body["metadata"]["finalizers"] = ["example.com/hold"]
        self.create("services", "default", body)
        r = self.ok(self.store("services").delete(self.ctx, "default", "a", DeleteOptions()))
        self.assertFalse(r.finished)
        self.assertTrue(self.ipv4.is_allocated("10.0.0.50"))
        self.ok(self.store("services").patch(
            self.ctx, "default", "a",
            lambda cur: dict(cur, metadata=dict(cur["metadata"], finalizers=[])),
            WriteOptions()))
        self.assertFalse(self.ipv4.is_allocated("10.0.0.50"))

    def test_update_keeps_ip_and_type_changes_allocate_and_release(self):
        """A PUT without clusterIP keeps it; to NodePort takes a port, back frees it."""
        current = self.svc("a")
        ip = current["spec"]["clusterIP"]
        body = service("a", type="NodePort")
        r = self.ok(self.update_svc("a", body))
        spec = r.kv.object["spec"]
        self.assertEqual(spec["clusterIP"], ip)
        port = spec["ports"][0]["nodePort"]
        self.assertTrue(self.alloc.node_ports.is_allocated(port))
        r = self.ok(self.update_svc("a", service("a", type="ClusterIP")))
        self.assertNotIn("nodePort", r.kv.object["spec"]["ports"][0])
        self.assertFalse(self.alloc.node_ports.is_allocated(port))
        self.assertEqual(self.ipv4.used(), 1)

    def test_conflict_retry_reverts_the_first_attempt(self):
        """A patch that loses a compare-and-swap race holds one NodePort, not two."""
        store = self.store("services")
        self.svc("a")
        raced = []

        def to_node_port(cur):
            if not raced:
                raced.append(True)
                self.ok(store.patch(self.ctx, "default", "a", lambda c: dict(
                    c, metadata=dict(c["metadata"], labels={"x": "y"})), WriteOptions()))
            return dict(cur, spec=dict(cur["spec"], type="NodePort"))

        r = self.ok(store.patch(self.ctx, "default", "a", to_node_port, WriteOptions()))
        self.assertEqual(r.kv.object["metadata"]["labels"], {"x": "y"})
        self.assertEqual(self.alloc.node_ports.used(), 1)
        self.assertTrue(self.alloc.node_ports.is_allocated(
            r.kv.object["spec"]["ports"][0]["nodePort"]))

    def test_headless_and_external_name_hold_nothing(self):
        """clusterIP None and ExternalName Services take no address."""
        self.assertEqual(self.svc("h", clusterIP="None")["spec"]["clusterIPs"], ["None"])
        spec = self.svc("e", type="ExternalName", externalName="example.com")["spec"]
        self.assertNotIn("clusterIP", spec)
        self.assertEqual(self.ipv4.used(), 0)


class ServiceRebuildTests(unittest.TestCase):
    """Allocations survive a restart on SQLite."""

    timeout = 60

    @defer.inlineCallbacks
    def open(self, data_dir):
        from kapi_twisted.storage import build_storage

        storage = build_storage("sqlite", data_dir, reactor=reactor)
        yield storage.start()
        stores = build_stores(storage, clock=reactor)
        services = stores[("", "v1", "services")]
        # The same seed both times: without the rebuild the second run would
        # pick the very addresses the first one stored.
        services.strategy.use_allocation(ServiceAllocation(rng=random.Random(3)))
        return storage, services

    @defer.inlineCallbacks
    def create_many(self, services, prefix, count):
        ips = []
        for i in range(count):
            r = yield services.create(RequestContext(), "default",
                                      service(f"{prefix}{i}", type="NodePort"), WriteOptions())
            spec = r.kv.object["spec"]
            ips.append((spec["clusterIP"], spec["ports"][0]["nodePort"]))
        return ips

    @defer.inlineCallbacks
    def test_restart_hands_out_no_duplicates(self):
        """After a restart no cluster IP or NodePort a stored Service holds is handed out again."""
        data_dir = tempfile.mkdtemp(prefix="kapi-alloc-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        storage, services = yield self.open(data_dir)
        first = yield self.create_many(services, "a", 30)
        yield storage.stop()
        storage, services = yield self.open(data_dir)
        try:
            second = yield self.create_many(services, "b", 30)
        finally:
            yield storage.stop()
        ips = [ip for ip, _ in first + second]
        ports = [port for _, port in first + second]
        self.assertEqual((len(set(ips)), len(set(ports))), (60, 60))


class PodTests(RegistryTestCase):

    def setUp(self):
        super().setUp()
        self.pods = self.store("pods")
        strategy = self.pods.strategy
        strategy.service_accounts = self.store("serviceaccounts")
        strategy.namespaces = self.store("namespaces")
        strategy.priority_classes = self.store("priorityclasses", "scheduling.k8s.io")
        strategy.limit_ranges = self.store("limitranges")
        self.create("namespaces", "", {"metadata": {"name": "default"}})
        self.create("serviceaccounts", "default", {"metadata": {"name": "default"}})

    def create_pod(self, body, namespace="default"):
        return self.pods.create(self.ctx, namespace, body, WriteOptions())

    def test_pod_starts_pending_with_generation_one(self):
        """A new pod is Pending with its QoS class and generation 1; spec changes bump it."""
        obj = self.ok(self.create_pod(pod("p"))).kv.object
        self.assertEqual(obj["status"], {"phase": "Pending", "qosClass": "BestEffort"})
        self.assertEqual(obj["metadata"]["generation"], 1)
        self.assertEqual(obj["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent")
        self.assertEqual(obj["spec"]["serviceAccountName"], "default")

        def change(mutate):
            def apply(cur):
                mutate(cur)
                return cur
            return self.ok(self.pods.patch(self.ctx, "default", "p", apply, WriteOptions()))

        r = change(lambda cur: cur["metadata"].update(labels={"a": "b"}))
        self.assertEqual(r.kv.object["metadata"]["generation"], 1)
        r = change(lambda cur: cur["spec"].update(activeDeadlineSeconds=5))
        self.assertEqual(r.kv.object["metadata"]["generation"], 2)

    def test_guaranteed_qos(self):
        """Equal requests and limits of cpu and memory make a Guaranteed pod."""
        containers = [{"name": "c", "image": "x", "resources": {
            "limits": {"cpu": "1", "memory": "1Gi"}}}]
        obj = self.ok(self.create_pod(pod("p", containers=containers))).kv.object
        self.assertEqual(obj["status"]["qosClass"], "Guaranteed")
        self.assertEqual(obj["spec"]["containers"][0]["resources"]["requests"],
                         {"cpu": "1", "memory": "1Gi"})

    def test_missing_service_account_is_forbidden(self):
        """A pod naming a ServiceAccount that does not exist is 403, as kube says it."""
        err = self.error(self.create_pod(pod("p", serviceAccountName="robot")))
        self.assertEqual(err.code, 403)
        self.assertEqual(err.message, 'pods "p" is forbidden: error looking up service account '
                                      'default/robot: serviceaccount "robot" not found')

    def test_default_service_account_is_waited_for(self):
        """In a new namespace the pod waits (as kube retries) for the controller's default."""
        self.create("namespaces", "", {"metadata": {"name": "fresh"}})
        d = self.create_pod(pod("p"), "fresh")
        self.assertNoResult(d)
        self.clock.advance(0.25)
        self.assertNoResult(d)
        self.create("serviceaccounts", "fresh", {"metadata": {"name": "default"}})
        self.clock.advance(0.25)
        self.assertEqual(self.ok(d).kv.object["metadata"]["namespace"], "fresh")

    def test_default_service_account_never_created(self):
        """If the default ServiceAccount never appears the pod is refused after the retries."""
        self.create("namespaces", "", {"metadata": {"name": "fresh"}})
        d = self.create_pod(pod("p"), "fresh")
        self.clock.pump([0.2] * 12)
        err = self.error(d)
        self.assertEqual(err.message, 'pods "p" is forbidden: error looking up service account '
                                      'fresh/default: serviceaccount "default" not found')

    def test_no_check_without_the_controller_or_namespace(self):
        """Without the serviceaccount controller, or the namespace, nothing is looked up."""
        self.ok(self.create_pod(pod("p"), "missing"))
        self.pods.strategy.check_service_accounts = lambda: False
        self.create("namespaces", "", {"metadata": {"name": "fresh"}})
        self.ok(self.create_pod(pod("p"), "fresh"))

    def test_service_account_settings_apply(self):
        """The account's automount=false and imagePullSecrets reach the pod."""
        self.create("serviceaccounts", "default", {
            "metadata": {"name": "robot"}, "automountServiceAccountToken": False,
            "imagePullSecrets": [{"name": "registry"}]})
        spec = self.ok(self.create_pod(pod("p", serviceAccountName="robot"))).kv.object["spec"]
        self.assertNotIn("volumes", spec)
        self.assertEqual(spec["imagePullSecrets"], [{"name": "registry"}])

    def test_priority_classes(self):
        """Named and global-default PriorityClasses set the priority; unknown ones are 403."""
        err = self.error(self.create_pod(pod("p", priorityClassName="high")))
        self.assertEqual(err.message, 'pods "p" is forbidden: no PriorityClass with name high '
                                      "was found")
        for name, value, default in (("high", 1000, False), ("base", 10, True)):
            self.create("priorityclasses", "", {
                "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                "metadata": {"name": name}, "value": value, "globalDefault": default},
                group="scheduling.k8s.io")
        spec = self.ok(self.create_pod(pod("p", priorityClassName="high"))).kv.object["spec"]
        self.assertEqual(spec["priority"], 1000)
        spec = self.ok(self.create_pod(pod("q"))).kv.object["spec"]
        self.assertEqual((spec["priorityClassName"], spec["priority"]), ("base", 10))
        spec = self.ok(self.create_pod(pod(
            "r", priorityClassName="system-node-critical"))).kv.object["spec"]
        self.assertEqual(spec["priority"], 2000001000)


    def test_limit_range_defaults(self):
        """A namespace's LimitRange gives containers its default requests and limits."""
        self.create("limitranges", "default", {"metadata": {"name": "lr"}, "spec": {"limits": [
            {"type": "Container", "default": {"cpu": "500m"},
             "defaultRequest": {"cpu": "100m"}}]}})
        obj = self.ok(self.create_pod(pod("p"))).kv.object
        self.assertEqual(obj["spec"]["containers"][0]["resources"],
                         {"limits": {"cpu": "500m"}, "requests": {"cpu": "100m"}})
        self.assertEqual(obj["status"]["qosClass"], "Burstable")
        self.assertEqual(obj["metadata"]["annotations"]["kubernetes.io/limit-ranger"],
                         "LimitRanger plugin set: cpu request for container c; "
                         "cpu limit for container c")
        other = self.ok(self.create_pod(pod("q"), "missing")).kv.object
        self.assertEqual(other["spec"]["containers"][0]["resources"], {})


class DefaultingTests(RegistryTestCase):

    def test_deployment_defaults_on_create_and_update(self):
        """A Deployment is defaulted on create and again on an update that drops defaults."""
        body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                "spec": {"selector": {"matchLabels": {"app": "w"}}, "template": {
                    "metadata": {"labels": {"app": "w"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
        obj = self.create("deployments", "default", body, group="apps").kv.object
        spec = obj["spec"]
        self.assertEqual((spec["replicas"], spec["revisionHistoryLimit"],
                          spec["progressDeadlineSeconds"]), (1, 10, 600))
        self.assertEqual(spec["strategy"], {"type": "RollingUpdate", "rollingUpdate": {
            "maxUnavailable": "25%", "maxSurge": "25%"}})
        self.assertEqual(obj["status"], {})
        r = self.ok(self.store("deployments", "apps").update(
            self.ctx, "default", "d", body, WriteOptions()))
        self.assertEqual(r.kv.object["spec"], spec)
        self.assertEqual(r.kv.object["metadata"]["generation"], 1)

    def test_secret_string_data_on_create_and_update(self):
        """stringData is folded into base64 data on create and update, and never stored."""
        store = self.store("secrets")
        obj = self.create("secrets", "default", {
            "metadata": {"name": "s"}, "stringData": {"user": "admin"},
            "data": {"a": "Yg=="}}).kv.object
        self.assertEqual(obj["data"], {"a": "Yg==", "user": "YWRtaW4="})
        self.assertNotIn("stringData", obj)
        self.assertEqual(obj["type"], "Opaque")
        r = self.ok(store.update(self.ctx, "default", "s", {
            "metadata": {"name": "s"}, "data": obj["data"], "stringData": {"user": "root"}},
            WriteOptions()))
        self.assertEqual(r.kv.object["data"]["user"], "cm9vdA==")
        self.assertNotIn("stringData", r.kv.object)

    def test_status_write_is_defaulted(self):
        """A status write goes through the kind's defaulting (a PV's phase)."""
        self.create("persistentvolumes", "", {"metadata": {"name": "pv"}, "spec": {
            "capacity": {"storage": "1Gi"}, "hostPath": {"path": "/x"},
            "accessModes": ["ReadWriteOnce"]}})
        r = self.ok(self.store("persistentvolumes").update(
            self.ctx, "", "pv", {"metadata": {"name": "pv"}, "status": {"message": "m"}},
            WriteOptions(), "status"))
        self.assertEqual(r.kv.object["status"], {"message": "m", "phase": "Pending"})

    def test_namespace_active_with_finalizer(self):
        """A namespace starts Active with the kubernetes finalizer and its name label."""
        obj = self.create("namespaces", "", {"metadata": {"name": "n"}}).kv.object
        self.assertEqual(obj["status"], {"phase": "Active"})
        self.assertEqual(obj["spec"], {"finalizers": ["kubernetes"]})
        self.assertEqual(obj["metadata"]["labels"], {"kubernetes.io/metadata.name": "n"})

    def test_job_selector_generated(self):
        """A Job gets the controller-uid selector and labels kube generates."""
        obj = self.create("jobs", "default", {"metadata": {"name": "j"}, "spec": {"template": {
            "spec": {"containers": [{"name": "c", "image": "busybox"}],
                     "restartPolicy": "Never"}}}}, group="batch").kv.object
        uid = obj["metadata"]["uid"]
        self.assertEqual(obj["spec"]["selector"], {"matchLabels": {
            "batch.kubernetes.io/controller-uid": uid}})
        self.assertEqual(obj["metadata"]["labels"]["job-name"], "j")
        self.assertEqual(obj["spec"]["template"]["metadata"]["labels"]["controller-uid"], uid)
