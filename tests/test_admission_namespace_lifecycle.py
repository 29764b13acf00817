"""The NamespaceLifecycle admission plugin, as the generic store runs it."""

from twisted.internet.defer import succeed
from zope.interface.verify import verifyObject

from kapi_twisted.admission import (
    AdmissionChain,
    IAdmission,
    NamespaceLifecycle,
)
from kapi_twisted.registry.interface import DeleteOptions, WriteOptions

from ._controller_helpers import ControllerTestCase


def _cm(name="a", generate=""):
    meta = {"generateName": generate} if generate else {"name": name}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


class NamespaceLifecycleTests(ControllerTestCase):

    def create_error(self, namespace, obj=None, plural="configmaps"):
        return self.error(self.store(plural).create(self.ctx, namespace, obj or _cm(),
                                                    WriteOptions()))

    def test_interfaces(self):
        """The plugin and the chain provide IAdmission."""
        verifyObject(IAdmission, NamespaceLifecycle(self.store("namespaces")))
        verifyObject(IAdmission, AdmissionChain())

    def test_missing_namespace_is_404(self):
        """Creating in a namespace that does not exist: 404 namespaces "x" not found."""
        err = self.create_error("nope")
        self.assertEqual(err.code, 404)
        self.assertEqual(err.message, 'namespaces "nope" not found')
        self.assertEqual(err.details["kind"], "namespaces")

    def test_terminating_namespace_is_403(self):
        """Creating in a terminating namespace: 403 with a NamespaceTerminating cause."""
        self.namespace("x")
        self.delete("namespaces", "", "x")
        err = self.create_error("x")
        self.assertEqual(err.code, 403)
        self.assertEqual(err.reason, "Forbidden")
        self.assertEqual(
            err.message, 'configmaps "a" is forbidden: unable to create new content in '
                         'namespace x because it is being terminated')
        self.assertEqual(err.details["causes"], [{
            "reason": "NamespaceTerminating", "message": "namespace x is being terminated",
            "field": "metadata.namespace"}])

    def test_generate_name_in_message(self):
        """With generateName the refusal names the prefix, as kube does before naming."""
        self.namespace("x")
        self.delete("namespaces", "", "x")
        err = self.create_error("x", _cm(generate="web-"))
        self.assertTrue(err.message.startswith('configmaps "web-" is forbidden'))

    def test_immortal_namespaces(self):
        """default, kube-system and kube-public may not be deleted; kube-node-lease may."""
        for name in ("kube-system", "kube-public", "kube-node-lease"):
            self.namespace(name)
        for name in ("default", "kube-system", "kube-public"):
            err = self.error(self.store("namespaces").delete(self.ctx, "", name,
                                                             DeleteOptions()))
            self.assertEqual(err.code, 403)
            self.assertEqual(err.message,
                             f'namespaces "{name}" is forbidden: this namespace may not be deleted')
        self.assertFalse(self.delete("namespaces", "", "kube-node-lease").finished)

    def test_deletes_and_updates_in_terminating_namespace_allowed(self):
        """Inside a terminating namespace, objects can still be changed and deleted."""
        self.namespace("x")
        self.cm("a", namespace="x")
        self.delete("namespaces", "", "x")
        self.patch("configmaps", "x", "a", lambda o: o.update(data={"k": "2"}))
        self.assertTrue(self.delete("configmaps", "x", "a").finished)

    def test_cluster_scoped_unaffected(self):
        """Cluster-scoped objects are created without any namespace check."""
        self.create("clusterroles", "", {"apiVersion": "rbac.authorization.k8s.io/v1",
                                         "kind": "ClusterRole", "metadata": {"name": "r"}},
                    group="rbac.authorization.k8s.io")

    def test_namespace_admitted_before_validation(self):
        """A missing namespace is reported before the object's own validation errors."""
        err = self.create_error("nope", _cm(name="Bad_Name"))
        self.assertEqual(err.code, 404)

    def test_put_that_creates_is_admitted(self):
        """A PUT that would create (create-on-update kinds) in a missing namespace is 404."""
        body = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "e"}}
        err = self.error(self.store("endpoints").update(self.ctx, "nope", "e", body,
                                                        WriteOptions()))
        self.assertEqual(err.message, 'namespaces "nope" not found')


class NamespaceLifecycleCachedReadTests(NamespaceLifecycleTests):
    """The same rules when the namespace cache lags behind storage."""

    def setUp(self):
        super().setUp()
        self.cached_reads = []
        namespaces = self.store("namespaces")
        plain = namespaces.get

        def counting_get(ctx, namespace, name, options=None):
            self.cached_reads.append(getattr(options, "resource_version", "") == "0")
            return plain(ctx, namespace, name, options)

        namespaces.get = counting_get

    def test_reads_the_cache_first(self):
        """A create in a namespace the watch cache holds is judged from the cache, no store read."""
        self.namespace("x")
        self.cached_reads.clear()
        self.cm("a", namespace="x")
        self.assertEqual(self.cached_reads, [])

    def test_store_without_a_cache_is_read(self):
        """Over a namespace store that cannot answer from a cache, the check reads it (cache first)."""
        self.namespace("x")
        namespaces = self.store("namespaces")
        namespaces.peek_cached = lambda namespace, name: None
        self.addCleanup(delattr, namespaces, "peek_cached")
        self.cached_reads.clear()
        self.cm("a", namespace="x")
        self.assertEqual(self.cached_reads, [True])

    def test_namespace_missing_from_cache_is_read_live(self):
        """A namespace the cache has not seen yet is looked up live before refusing (kube does)."""
        self.cached_reads.clear()
        self.create_error("nope")
        self.assertEqual(self.cached_reads, [True, False])

    def stale_cache(self, name, peek=True):
        """From now on the namespace cache shows C{name} as it is now (its watch lags behind)."""
        namespaces = self.store("namespaces")
        real_peek = namespaces.peek_cached
        stale = real_peek("", name)
        self.assertIsNotNone(stale)
        # The stores are built afresh for each test: no clean-up needed.
        namespaces.peek_cached = lambda namespace, n: (
            real_peek(namespace, n) if n != name else stale if peek else None)
        counting_get = namespaces.get

        def stale_get(ctx, namespace, n, options=None):
            if n == name and getattr(options, "resource_version", "") == "0":
                self.cached_reads.append(True)
                return succeed(stale)
            return counting_get(ctx, namespace, n, options)

        namespaces.get = stale_get

    def test_create_after_namespace_delete_reads_live(self):
        """Right after a namespace's deletion, a create in it is refused though the cache still shows it Active."""
        for peek in (True, False):
            name = "x" if peek else "y"
            self.namespace(name)
            self.stale_cache(name, peek)
            self.delete("namespaces", "", name)
            err = self.create_error(name)
            self.assertEqual(err.code, 403)
            self.assertEqual(err.details["causes"][0]["reason"], "NamespaceTerminating")

    def test_deleted_namespace_trusted_from_cache_after_30s(self):
        """30 s after a namespace's deletion was admitted, its cached state is trusted again (kube's TTL)."""
        self.namespace("x")
        self.namespace("y")
        self.stale_cache("x")
        self.delete("namespaces", "", "x")
        self.cached_reads.clear()
        self.cm("a", namespace="y")
        self.assertEqual(self.cached_reads, [])
        self.clock.advance(31)
        self.cm("a", namespace="x")
        self.assertEqual(self.cached_reads, [])

    def test_expired_deletions_are_forgotten(self):
        """Deletions older than 30 s leave nothing behind: the remembered names empty out."""
        lifecycle = self.stores_admission_plugin()
        self.namespace("x")
        self.delete("namespaces", "", "x")
        self.assertEqual(list(lifecycle._deleted), ["x"])
        self.clock.advance(31)
        self.cm("a", namespace="default")
        self.assertEqual(lifecycle._deleted, {})

    def stores_admission_plugin(self):
        """The NamespaceLifecycle plugin the stores run."""
        chain = self.store("configmaps").admission
        return next(p for p in chain.plugins if isinstance(p, NamespaceLifecycle))
