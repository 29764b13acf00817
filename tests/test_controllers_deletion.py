"""
What a DELETE leaves behind in the store: propagation-policy finalizers,
graceful pod deletion, namespace termination (kapi_twisted.registry._deletion
through the strategies).
"""

from kapi_twisted.registry import _deletion
from kapi_twisted.registry.interface import DeleteOptions

from ._controller_helpers import ControllerTestCase

NOW = "2023-11-14T22:13:20Z"


class PropagationFinalizerTests(ControllerTestCase):

    def test_orphan_policy_keeps_object_with_orphan_finalizer(self):
        """DELETE with Orphan answers the object, terminating with the orphan finalizer."""
        self.cm("a")
        result = self.delete("configmaps", "default", "a", propagation_policy="Orphan")
        self.assertFalse(result.finished)
        meta = result.as_object()["metadata"]
        self.assertEqual(meta["finalizers"], ["orphan"])
        self.assertEqual(meta["deletionTimestamp"], NOW)
        self.assertEqual(meta["deletionGracePeriodSeconds"], 0)

    def test_foreground_policy_adds_foreground_finalizer(self):
        """DELETE with propagationPolicy=Foreground keeps the object with foregroundDeletion."""
        self.cm("a")
        result = self.delete("configmaps", "default", "a", propagation_policy="Foreground")
        self.assertFalse(result.finished)
        self.assertEqual(result.as_object()["metadata"]["finalizers"], ["foregroundDeletion"])

    def test_background_deletes_at_once(self):
        """DELETE with Background (kubectl's default) removes an object without finalizers."""
        self.cm("a")
        result = self.delete("configmaps", "default", "a", propagation_policy="Background")
        self.assertTrue(result.finished)
        self.assertIsNone(self.get("configmaps", "default", "a"))

    def test_orphan_dependents_legacy_flag(self):
        """orphanDependents=true orphans; orphanDependents=false deletes in the background."""
        self.cm("a")
        self.cm("b")
        kept = self.delete("configmaps", "default", "a", orphan_dependents=True)
        self.assertEqual(kept.as_object()["metadata"]["finalizers"], ["orphan"])
        self.assertTrue(self.delete("configmaps", "default", "b",
                                    orphan_dependents=False).finished)

    def test_user_finalizers_kept_alongside(self):
        """A user's finalizer stays first; the policy's finalizer joins it."""
        self.create("configmaps", "default", {"apiVersion": "v1", "kind": "ConfigMap",
                                              "metadata": {"name": "a",
                                                           "finalizers": ["example.com/x"]}})
        result = self.delete("configmaps", "default", "a", propagation_policy="Foreground")
        self.assertEqual(result.as_object()["metadata"]["finalizers"],
                         ["example.com/x", "foregroundDeletion"])

    def test_second_delete_can_change_policy(self):
        """Deleting again with Background drops the orphan finalizer, and the object goes."""
        self.cm("a")
        self.delete("configmaps", "default", "a", propagation_policy="Orphan")
        result = self.delete("configmaps", "default", "a", propagation_policy="Background")
        self.assertTrue(result.finished)
        self.assertIsNone(self.get("configmaps", "default", "a"))

    def test_batch_v1_jobs_orphan_by_default(self):
        """A Job deleted without a policy keeps its pods (orphan finalizer), as batch/v1 does."""
        job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
               "spec": {"template": {"spec": {"restartPolicy": "Never",
                                              "containers": [{"name": "c", "image": "i"}]}}}}
        self.create("jobs", "default", job, group="batch")
        result = self.delete("jobs", "default", "j", group="batch")
        self.assertEqual(result.as_object()["metadata"]["finalizers"], ["orphan"])
        self.assertEqual(self.ctx.warnings, [
            "child pods are preserved by default when jobs are deleted; set "
            "propagationPolicy=Background to remove them or set propagationPolicy=Orphan to "
            "suppress this warning"])

    def test_removing_last_finalizer_deletes(self):
        """Removing the last finalizer of a terminating object deletes it."""
        self.cm("a")
        self.delete("configmaps", "default", "a", propagation_policy="Orphan")
        self.patch("configmaps", "default", "a",
                   lambda o: o["metadata"].pop("finalizers"))
        self.assertIsNone(self.get("configmaps", "default", "a"))

    def test_dry_run_changes_nothing(self):
        """A dry-run delete answers the would-be object and stores nothing."""
        self.cm("a")
        result = self.delete("configmaps", "default", "a", propagation_policy="Orphan",
                             dry_run=True)
        self.assertEqual(result.as_object()["metadata"]["finalizers"], ["orphan"])
        self.assertNotIn("finalizers", self.get("configmaps", "default", "a")["metadata"])


def _pod(name, node="", grace=None):
    spec = {"containers": [{"name": "c", "image": "i"}]}
    if node:
        spec["nodeName"] = node
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


class PodDeletionTests(ControllerTestCase):

    def test_unscheduled_pod_goes_at_once(self):
        """A pod never bound to a node is deleted immediately, with the pod in the answer."""
        self.create("pods", "default", _pod("p"))
        result = self.delete("pods", "default", "p")
        self.assertTrue(result.finished)
        self.assertIsNone(self.get("pods", "default", "p"))

    def test_bound_pod_terminates_gracefully(self):
        """A bound pod stays Terminating: deletionTimestamp is now plus its grace period."""
        self.create("pods", "default", _pod("p", node="n1", grace=30))
        result = self.delete("pods", "default", "p")
        self.assertFalse(result.finished)
        meta = self.get("pods", "default", "p")["metadata"]
        self.assertEqual(meta["deletionGracePeriodSeconds"], 30)
        self.assertEqual(meta["deletionTimestamp"], "2023-11-14T22:13:50Z")

    def test_repeated_delete_changes_nothing(self):
        """Deleting a terminating pod again without a shorter grace period changes nothing."""
        self.create("pods", "default", _pod("p", node="n1", grace=30))
        first = self.delete("pods", "default", "p").as_object()
        again = self.delete("pods", "default", "p").as_object()
        self.assertEqual(first["metadata"]["resourceVersion"],
                         again["metadata"]["resourceVersion"])

    def test_shorter_grace_period_moves_deadline(self):
        """A shorter grace period moves the deletionTimestamp earlier."""
        self.create("pods", "default", _pod("p", node="n1", grace=30))
        self.delete("pods", "default", "p")
        self.delete("pods", "default", "p", grace_period_seconds=10)
        meta = self.get("pods", "default", "p")["metadata"]
        self.assertEqual(meta["deletionGracePeriodSeconds"], 10)
        self.assertEqual(meta["deletionTimestamp"], "2023-11-14T22:13:30Z")

    def test_force_delete_removes_terminating_pod(self):
        """gracePeriodSeconds=0 (kubectl delete --force --grace-period=0) removes it."""
        self.create("pods", "default", _pod("p", node="n1", grace=30))
        self.delete("pods", "default", "p")
        self.assertTrue(self.delete("pods", "default", "p", grace_period_seconds=0).finished)
        self.assertIsNone(self.get("pods", "default", "p"))


class NamespaceDeletionTests(ControllerTestCase):

    def test_delete_sets_terminating(self):
        """DELETE of a namespace answers it Terminating, with the kubernetes finalizer kept."""
        self.namespace("x")
        result = self.delete("namespaces", "", "x")
        self.assertFalse(result.finished)
        ns = self.get("namespaces", "", "x")
        self.assertEqual(ns["status"]["phase"], "Terminating")
        self.assertEqual(ns["metadata"]["deletionTimestamp"], NOW)
        self.assertNotIn("deletionGracePeriodSeconds", ns["metadata"])
        self.assertEqual(ns["spec"]["finalizers"], ["kubernetes"])

    def test_status_write_does_not_delete(self):
        """Writing a terminating namespace's status keeps it (its spec finalizer remains)."""
        self.namespace("x")
        self.delete("namespaces", "", "x")
        self.patch("namespaces", "", "x",
                   lambda o: o["status"].update(conditions=[]), subresource="status")
        self.assertIsNotNone(self.get("namespaces", "", "x"))

    def test_finalize_deletes(self):
        """Removing the kubernetes finalizer through /finalize deletes a terminating namespace."""
        self.namespace("x")
        self.delete("namespaces", "", "x")
        self.patch("namespaces", "", "x", lambda o: o["spec"].update(finalizers=[]),
                   subresource="finalize")
        self.assertIsNone(self.get("namespaces", "", "x"))

    def test_orphan_policy_on_namespace(self):
        """A namespace deleted with Orphan also carries the orphan finalizer."""
        self.namespace("x")
        result = self.delete("namespaces", "", "x", propagation_policy="Orphan")
        self.assertEqual(result.as_object()["metadata"]["finalizers"], ["orphan"])


class GCFinalizerRuleTests(ControllerTestCase):

    def test_unsupported_kinds_get_none(self):
        """A kind whose default policy is Unsupported never gets GC finalizers."""
        options = DeleteOptions(propagation_policy="Orphan")
        self.assertEqual(_deletion.gc_finalizers([], options, _deletion.UNSUPPORTED), [])

    def test_existing_finalizer_is_the_default(self):
        """Without a policy in the request, an orphan finalizer already there is kept."""
        self.assertEqual(_deletion.gc_finalizers(["orphan"], DeleteOptions()), ["orphan"])
