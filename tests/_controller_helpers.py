"""Shared set-up for the controller tests: every built-in store on a Clock, plus admission."""

from kapi_twisted.admission import install_admission
from kapi_twisted.registry.interface import DeleteOptions, GetOptions, WriteOptions

from ._registry_helpers import RegistryTestCase


class ControllerTestCase(RegistryTestCase):
    """Stores over the memory backend and its watch cache, with NamespaceLifecycle admission."""

    def setUp(self):
        super().setUp()
        install_admission(self.stores)
        self.namespace("default")

    def settle(self, rounds=50):
        """Run everything due now (watch deliveries, queued work) until quiet."""
        for _ in range(rounds):
            if not any(c.getTime() <= self.clock.seconds() for c in self.clock.getDelayedCalls()):
                return
            self.clock.advance(0)

    def namespace(self, name):
        return self.create("namespaces", "", {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": name}})

    def get(self, plural, namespace, name, group="", version="v1"):
        """The stored object, or None."""
        d = self.store(plural, group, version).get(self.ctx, namespace, name, GetOptions())
        failures = []
        d.addErrback(failures.append)
        result = self.successResultOf(d) if not failures else None
        if failures:
            failures[0].trap(Exception)
            return None
        return result.object

    def delete(self, plural, namespace, name, group="", version="v1", **options):
        return self.ok(self.store(plural, group, version).delete(
            self.ctx, namespace, name, DeleteOptions(**options)))

    def patch(self, plural, namespace, name, change, group="", version="v1", subresource=""):
        def apply(obj):
            change(obj)
            return obj

        return self.ok(self.store(plural, group, version).patch(
            self.ctx, namespace, name, apply, WriteOptions(), subresource=subresource))

    def owned(self, plural, namespace, name, kind, api_version, owner, group="", version="v1",
              block=None, body=None):
        """Create an object of C{plural} owned by C{owner} (a stored object)."""
        ref = {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
               "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"]}
        if block is not None:
            ref["blockOwnerDeletion"] = block
        obj = dict(body or {})
        obj.update({"apiVersion": api_version, "kind": kind})
        obj["metadata"] = {"name": name, "ownerReferences": [ref]}
        return self.create(plural, namespace, obj, group, version).kv.object
