"""
The in-server controllers on a Clock: namespace deletion, the garbage
collector, the default ServiceAccount, kube-root-ca.crt, and their work queue.
"""

from twisted.internet.defer import Deferred, fail
from twisted.internet.task import Clock
from twisted.trial import unittest

from kapi_twisted.controlplane.controllers import ControllerManager
from kapi_twisted.controlplane.controllers._queue import WorkQueue

from ._controller_helpers import ControllerTestCase

CA = "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"
APPS = "apps"


def _deployment(name="web"):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}}


def _rs_body(name="web"):
    return {"spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}}


_POD_BODY = {"spec": {"containers": [{"name": "c", "image": "i"}]}}


class ManagerTestCase(ControllerTestCase):
    """All controllers running over the stores."""

    def setUp(self):
        super().setUp()
        core = {p: self.store(p) for p in ("namespaces", "serviceaccounts", "configmaps")}
        self.manager = ControllerManager(lambda: self.stores.values(), core, self.clock,
                                         lambda: CA)
        self.manager.startService()
        self.manager.start_all()
        self.addCleanup(self.manager.stopService)
        self.settle()

    def chain(self, block=True):
        """Deployment -> ReplicaSet -> Pod, as a deployment controller would make them."""
        deploy = self.create("deployments", "default", _deployment(), group=APPS).kv.object
        rs = self.owned("replicasets", "default", "web-1", "ReplicaSet", "apps/v1", deploy,
                        group=APPS, block=block, body=_rs_body())
        pod = self.owned("pods", "default", "web-1-a", "Pod", "v1", rs, block=block,
                         body=_POD_BODY)
        self.settle()
        return deploy, rs, pod


class NamespaceControllerTests(ManagerTestCase):

    def test_deleting_namespace_empties_and_removes_it(self):
        """A deleted namespace loses its content, then disappears."""
        self.namespace("x")
        self.cm("a", namespace="x")
        self.create("pods", "x", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                  **_POD_BODY})
        self.settle()
        self.delete("namespaces", "", "x")
        self.settle()
        self.assertIsNone(self.get("configmaps", "x", "a"))
        self.assertIsNone(self.get("pods", "x", "p"))
        self.assertIsNone(self.get("namespaces", "", "x"))

    def test_finalizer_holds_namespace(self):
        """Content with a finalizer holds the namespace, reported in its conditions."""
        self.namespace("x")
        self.create("configmaps", "x", {"apiVersion": "v1", "kind": "ConfigMap",
                                        "metadata": {"name": "held",
                                                     "finalizers": ["example.com/hold"]}})
        self.settle()
        self.delete("namespaces", "", "x")
        self.settle()
        ns = self.get("namespaces", "", "x")
        conditions = {c["type"]: c for c in ns["status"]["conditions"]}
        self.assertEqual(conditions["NamespaceContentRemaining"]["message"],
                         "Some resources are remaining: configmaps. has 1 resource instances")
        self.assertEqual(conditions["NamespaceFinalizersRemaining"]["reason"],
                         "SomeFinalizerRemain")
        self.assertEqual(conditions["NamespaceFinalizersRemaining"]["message"],
                         "Some finalizers are remaining: example.com/hold in 1 resource instances")
        self.assertEqual(conditions["NamespaceDeletionDiscoveryFailure"]["status"], "False")
        self.patch("configmaps", "x", "held", lambda o: o["metadata"].pop("finalizers"))
        self.settle()
        self.assertIsNone(self.get("namespaces", "", "x"))

    def test_namespace_deleted_with_each_policy(self):
        """kubectl delete namespace --cascade=foreground|orphan completes too."""
        for policy in ("Foreground", "Orphan"):
            self.namespace("x")
            self.cm("a", namespace="x")
            self.settle()
            self.delete("namespaces", "", "x", propagation_policy=policy)
            self.settle()
            self.assertIsNone(self.get("namespaces", "", "x"), policy)
            self.assertIsNone(self.get("configmaps", "x", "a"), policy)

    def test_graceful_pod_holds_namespace_until_forced(self):
        """A bound pod's grace period holds the namespace; forcing the pod lets it go."""
        self.namespace("x")
        self.create("pods", "x", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                  "spec": {"nodeName": "n1", "terminationGracePeriodSeconds": 30,
                                           "containers": [{"name": "c", "image": "i"}]}})
        self.delete("namespaces", "", "x")
        self.settle()
        self.assertIsNotNone(self.get("namespaces", "", "x"))
        self.delete("pods", "x", "p", grace_period_seconds=0)
        self.settle()
        self.assertIsNone(self.get("namespaces", "", "x"))


class GarbageCollectorTests(ManagerTestCase):

    def test_background(self):
        """Deleting the owner in the background collects the whole chain afterwards."""
        self.chain()
        self.delete("deployments", "default", "web", group=APPS, propagation_policy="Background")
        self.settle()
        self.assertIsNone(self.get("replicasets", "default", "web-1", group=APPS))
        self.assertIsNone(self.get("pods", "default", "web-1-a"))

    def test_foreground(self):
        """Foreground: the owner stays until its blocking dependents are gone, then goes."""
        self.chain()
        result = self.delete("deployments", "default", "web", group=APPS,
                             propagation_policy="Foreground")
        self.assertFalse(result.finished)
        self.settle()
        self.assertIsNone(self.get("pods", "default", "web-1-a"))
        self.assertIsNone(self.get("replicasets", "default", "web-1", group=APPS))
        self.assertIsNone(self.get("deployments", "default", "web", group=APPS))

    def test_foreground_waits_for_blocking_dependent(self):
        """A blocking dependent held by a finalizer keeps the owner in foreground deletion."""
        deploy = self.create("deployments", "default", _deployment(), group=APPS).kv.object
        body = dict(_rs_body())
        self.owned("replicasets", "default", "web-1", "ReplicaSet", "apps/v1", deploy,
                   group=APPS, block=True, body=body)
        self.patch("replicasets", "default", "web-1",
                   lambda o: o["metadata"].update(finalizers=["example.com/hold"]), group=APPS)
        self.delete("deployments", "default", "web", group=APPS, propagation_policy="Foreground")
        self.settle()
        owner = self.get("deployments", "default", "web", group=APPS)
        self.assertEqual(owner["metadata"]["finalizers"], ["foregroundDeletion"])
        self.patch("replicasets", "default", "web-1",
                   lambda o: o["metadata"]["finalizers"].remove("example.com/hold"), group=APPS)
        self.settle()
        self.assertIsNone(self.get("deployments", "default", "web", group=APPS))

    def test_foreground_ignores_non_blocking_dependents(self):
        """Dependents without blockOwnerDeletion do not hold the owner."""
        deploy = self.create("deployments", "default", _deployment(), group=APPS).kv.object
        self.owned("configmaps", "default", "c", "ConfigMap", "v1", deploy, block=False)
        self.patch("configmaps", "default", "c",
                   lambda o: o["metadata"].update(finalizers=["example.com/hold"]))
        self.delete("deployments", "default", "web", group=APPS, propagation_policy="Foreground")
        self.settle()
        self.assertIsNone(self.get("deployments", "default", "web", group=APPS))

    def test_orphan(self):
        """Orphan: the dependents lose their owner reference and stay; the owner goes."""
        self.chain()
        self.delete("deployments", "default", "web", group=APPS, propagation_policy="Orphan")
        self.settle()
        self.assertIsNone(self.get("deployments", "default", "web", group=APPS))
        rs = self.get("replicasets", "default", "web-1", group=APPS)
        self.assertNotIn("ownerReferences", rs["metadata"])
        self.assertIsNotNone(self.get("pods", "default", "web-1-a"))

    def test_dangling_owner_collects_dependent(self):
        """A dependent whose owner never existed is collected."""
        ghost = {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "ghost", "uid": "0000-gone"}}
        self.owned("configmaps", "default", "orphaned", "ConfigMap", "v1", ghost)
        self.settle()
        self.assertIsNone(self.get("configmaps", "default", "orphaned"))

    def test_recreated_owner_does_not_adopt(self):
        """An owner recreated under the same name (another uid) does not save the dependent."""
        owner = self.cm("owner").kv.object
        self.manager.stopService()
        self.owned("configmaps", "default", "dep", "ConfigMap", "v1", owner)
        self.delete("configmaps", "default", "owner")
        self.cm("owner")
        core = {p: self.store(p) for p in ("namespaces", "serviceaccounts", "configmaps")}
        manager = ControllerManager(lambda: self.stores.values(), core, self.clock, lambda: CA)
        manager.startService()
        manager.start_all()
        self.addCleanup(manager.stopService)
        self.settle()
        self.assertIsNone(self.get("configmaps", "default", "dep"))

    def test_dangling_reference_dropped_when_another_owner_lives(self):
        """With one live owner left, only the dangling reference is removed."""
        live = self.cm("live").kv.object
        gone = self.cm("gone").kv.object
        refs = [{"apiVersion": "v1", "kind": "ConfigMap", "name": o["metadata"]["name"],
                 "uid": o["metadata"]["uid"]} for o in (live, gone)]
        self.create("configmaps", "default", {"apiVersion": "v1", "kind": "ConfigMap",
                                              "metadata": {"name": "dep",
                                                           "ownerReferences": refs}})
        self.settle()
        self.delete("configmaps", "default", "gone")
        self.settle()
        dep = self.get("configmaps", "default", "dep")
        self.assertEqual([r["name"] for r in dep["metadata"]["ownerReferences"]], ["live"])

    def test_cluster_scoped_owner(self):
        """A namespaced dependent of a cluster-scoped owner goes with it."""
        role = self.create("clusterroles", "", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "r"}}, group="rbac.authorization.k8s.io").kv.object
        self.owned("configmaps", "default", "dep", "ConfigMap", "v1", role)
        self.settle()
        self.assertIsNotNone(self.get("configmaps", "default", "dep"))
        self.delete("clusterroles", "", "r", group="rbac.authorization.k8s.io")
        self.settle()
        self.assertIsNone(self.get("configmaps", "default", "dep"))


class PerNamespaceObjectsTests(ManagerTestCase):

    def test_default_service_account_and_root_ca(self):
        """A new namespace gets the default ServiceAccount and kube-root-ca.crt."""
        self.namespace("x")
        self.settle()
        self.assertIsNotNone(self.get("serviceaccounts", "x", "default"))
        cm = self.get("configmaps", "x", "kube-root-ca.crt")
        self.assertEqual(cm["data"], {"ca.crt": CA})
        self.assertIn("kubernetes.io/description", cm["metadata"]["annotations"])

    def test_recreated_after_delete(self):
        """Deleting them brings them back."""
        self.namespace("x")
        self.settle()
        self.delete("serviceaccounts", "x", "default")
        self.delete("configmaps", "x", "kube-root-ca.crt")
        self.settle()
        self.assertIsNotNone(self.get("serviceaccounts", "x", "default"))
        self.assertIsNotNone(self.get("configmaps", "x", "kube-root-ca.crt"))

    def test_root_ca_put_right(self):
        """A changed kube-root-ca.crt gets its CA back."""
        self.settle()
        self.patch("configmaps", "default", "kube-root-ca.crt",
                   lambda o: o.update(data={"ca.crt": "tampered"}))
        self.settle()
        self.assertEqual(self.get("configmaps", "default", "kube-root-ca.crt")["data"],
                         {"ca.crt": CA})

    def test_not_recreated_in_terminating_namespace(self):
        """A terminating namespace is emptied, not refilled."""
        self.namespace("x")
        self.settle()
        self.delete("namespaces", "", "x")
        self.settle()
        self.assertIsNone(self.get("namespaces", "", "x"))
        self.assertIsNone(self.get("serviceaccounts", "x", "default"))


class WorkQueueTests(unittest.SynchronousTestCase):

    def test_key_added_twice_runs_once(self):
        """A key queued twice before it runs is processed once."""
        seen = []
        gate = Deferred()
        queue = WorkQueue(Clock(), lambda k: seen.append(k) or (gate if k == "block" else None))
        queue.add("block")
        queue.add("a")
        queue.add("a")
        gate.callback(None)
        self.assertEqual(seen, ["block", "a"])

    def test_key_added_while_running_runs_again(self):
        """A key added while it is being processed is processed again afterwards."""
        seen = []
        gates = [Deferred(), Deferred()]
        queue = WorkQueue(Clock(), lambda k: seen.append(k) or gates[len(seen) - 1])
        queue.add("a")
        queue.add("a")
        gates[0].callback(None)
        gates[1].callback(None)
        self.assertEqual(seen, ["a", "a"])

    def test_failure_retries_with_backoff(self):
        """A failing key is retried later, not at once."""
        clock = Clock()
        attempts = []

        def process(key):
            attempts.append(key)
            if len(attempts) == 1:
                return fail(RuntimeError("boom"))
            return None

        queue = WorkQueue(clock, process)
        queue.add("a")
        self.assertEqual(attempts, ["a"])
        self.flushLoggedErrors(RuntimeError)
        clock.advance(1)
        self.assertEqual(attempts, ["a", "a"])

    def test_add_after(self):
        """add_after runs the key once its delay has passed."""
        clock = Clock()
        seen = []
        queue = WorkQueue(clock, seen.append)
        queue.add_after("a", 5)
        clock.advance(4)
        self.assertEqual(seen, [])
        clock.advance(1)
        self.assertEqual(seen, ["a"])


class UnresolvableOwnerTests(ManagerTestCase):

    def test_unknown_owner_kind_keeps_dependent(self):
        """A reference to a kind the server does not serve never collects the dependent."""
        ghost = {"apiVersion": "example.com/v1", "kind": "Widget",
                 "metadata": {"name": "w", "uid": "0000-w"}}
        self.owned("configmaps", "default", "dep", "ConfigMap", "v1", ghost)
        self.settle()
        self.assertIsNotNone(self.get("configmaps", "default", "dep"))

    def test_cluster_scoped_dependent_of_namespaced_owner_kept(self):
        """A cluster-scoped object naming a namespaced owner is left alone, as kube does."""
        owner = self.cm("owner").kv.object
        self.owned("clusterroles", "", "r", "ClusterRole", "rbac.authorization.k8s.io/v1", owner,
                   group="rbac.authorization.k8s.io")
        self.settle()
        self.assertIsNotNone(self.get("clusterroles", "", "r", group="rbac.authorization.k8s.io"))

    def test_owner_in_another_namespace_is_absent(self):
        """An owner reference resolves in the dependent's own namespace only."""
        self.namespace("other")
        owner = self.cm("owner", namespace="other").kv.object
        self.owned("configmaps", "default", "dep", "ConfigMap", "v1", owner)
        self.settle()
        self.assertIsNone(self.get("configmaps", "default", "dep"))


class LeaderElectionTests(ControllerTestCase):

    def setUp(self):
        super().setUp()
        self.leases = self.store("leases", "coordination.k8s.io")
        self.events = []

    def elector(self, identity):
        if self.get("namespaces", "", "kube-system") is None:
            self.namespace("kube-system")
        from kapi_twisted.controlplane.controllers import LeaderElector

        elector = LeaderElector(
            self.leases, self.clock, identity,
            lambda: self.events.append(("start", identity)),
            lambda: self.events.append(("stop", identity)))
        self.addCleanup(elector.stop)
        return elector

    def lease(self):
        return self.get("leases", "kube-system", "kube-controller-manager",
                        group="coordination.k8s.io")

    def test_one_leader(self):
        """Of two candidates only the first leads; the lease names it."""
        a, b = self.elector("a"), self.elector("b")
        self.assertTrue(self.successResultOf(a.start()))
        self.assertFalse(self.successResultOf(b.start()))
        self.clock.advance(10)
        self.assertEqual(self.events, [("start", "a")])
        spec = self.lease()["spec"]
        self.assertEqual((spec["holderIdentity"], spec["leaseDurationSeconds"],
                          spec["leaseTransitions"]), ("a", 15, 0))

    def test_release_hands_over(self):
        """A leader that stops releases the lease; the other takes over at its next try."""
        a, b = self.elector("a"), self.elector("b")
        a.start()
        b.start()
        self.successResultOf(a.stop())
        self.assertEqual(self.lease()["spec"]["holderIdentity"], "")
        self.clock.advance(2)
        self.assertEqual(self.events, [("start", "a"), ("stop", "a"), ("start", "b")])
        self.assertEqual(self.lease()["spec"]["leaseTransitions"], 1)

    def test_silent_leader_replaced_after_lease_duration(self):
        """A leader that stops renewing is replaced once its lease has run out."""
        a, b = self.elector("a"), self.elector("b")
        a.start()
        a._running = False  # a hangs: no more renewals, no release
        a._call.cancel()
        b.start()
        self.clock.advance(14)
        self.assertEqual(self.events, [("start", "a")])
        self.clock.advance(4)
        self.assertEqual(self.events, [("start", "a"), ("start", "b")])

    def test_waits_for_namespace(self):
        """Before kube-system exists the election keeps trying, then leads."""
        from kapi_twisted.controlplane.controllers import LeaderElector

        a = LeaderElector(self.leases, self.clock, "a", lambda: None, lambda: None)
        self.addCleanup(a.stop)
        d = a.start()
        self.assertNoResult(d)
        self.namespace("kube-system")
        self.clock.advance(0.1)
        self.assertTrue(self.successResultOf(d))


class ElectedManagerTests(ControllerTestCase):

    def manager(self, identity):
        core = {p: self.store(p) for p in ("namespaces", "serviceaccounts", "configmaps")}
        core["leases"] = self.store("leases", "coordination.k8s.io")
        manager = ControllerManager(lambda: self.stores.values(), core, self.clock, lambda: CA,
                                    identity=identity)
        manager.startService()
        self.addCleanup(manager.stopService)
        return manager

    def test_only_the_leader_runs_controllers(self):
        """With two managers, the lease holder runs the controllers; the other waits."""
        for name in ("kube-system", "kube-public", "kube-node-lease"):
            self.namespace(name)
        first, second = self.manager("first"), self.manager("second")
        started = first.run()
        self.settle()
        self.successResultOf(started)
        self.assertIsNotNone(self.get("configmaps", "kube-public", "kube-root-ca.crt"))
        self.successResultOf(second.run())
        self.assertIsNotNone(first.controllers)
        self.assertIsNone(second.controllers)
        self.namespace("x")
        self.settle()
        self.assertIsNotNone(self.get("serviceaccounts", "x", "default"))

    def test_ready_waits_for_system_namespaces(self):
        """The start-up hook finishes once the system namespaces have their objects."""
        self.namespace("kube-system")
        manager = self.manager("only")
        started = manager.run()
        self.settle()
        self.assertNoResult(started)
        self.namespace("kube-public")
        self.namespace("kube-node-lease")
        self.clock.advance(0.05)
        self.settle()
        self.successResultOf(started)
        self.assertIsNotNone(self.get("serviceaccounts", "kube-node-lease", "default"))

    def test_stopping_hands_over(self):
        """When the leader stops, the other manager takes over at its next try."""
        self.namespace("kube-system")
        first, second = self.manager("first"), self.manager("second")
        first.run()
        second.run()
        self.successResultOf(first.stopService())
        self.assertIsNone(first.controllers)
        self.clock.advance(2)
        self.settle()
        self.assertIsNotNone(second.controllers)
