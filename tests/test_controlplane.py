"""
The KubeAPI server's built-in API: every built-in group-version installed,
OpenAPI registered, and the system namespaces hook (idempotent).
"""

from __future__ import annotations


from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from treq.testing import StubTreq

from kapi_twisted.apis import registry
from kapi_twisted.config import ServerConfig
from kapi_twisted.controlplane import HOOK_NAME, foreign_groups, install_builtin_apis
from kapi_twisted.controlplane.system_namespaces import first_service_ip
from kapi_twisted.server.generic import GenericAPIServer
from kapi_twisted.server.lifecycle import LifecycleSignals
from tests.test_endpoints_fakes import FakeStore


def kube_server():
    lifecycle = LifecycleSignals()
    lifecycle.mux_and_discovery_complete.fire()
    clock = Clock()
    kube = GenericAPIServer("kube-apiserver", None, lifecycle, clock)
    stores = {(r.group, r.version, r.plural): FakeStore(r)
              for r in registry.all_resources() if r.list_kind}
    install_builtin_apis(kube, None, ServerConfig(port="ssl:7443"), stores=stores,
                         advertise=lambda: ("192.0.2.5", 7443))
    return kube, stores


class ControlPlaneTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.kube, self.stores = kube_server()
        self.stub = StubTreq(self.kube.root)

    def run_hook(self) -> None:
        hook = self.kube.all_post_start_hooks()[HOOK_NAME].hook
        self.successResultOf(hook(None))

    def test_every_builtin_group_version_is_served(self) -> None:
        """Each built-in group-version of the KubeAPI server answers its APIResourceList."""
        for group, versions in registry.group_versions():
            if group in foreign_groups():
                continue
            for version in versions:
                path = f"/apis/{group}/{version}" if group else f"/api/{version}"
                response = self.successResultOf(self.stub.get("https://x" + path))
                self.assertEqual(response.code, 200, path)

    def test_system_namespaces_and_kubernetes_service(self) -> None:
        """After the hook the four system namespaces and default/kubernetes exist."""
        self.run_hook()
        namespaces = self.stores[("", "v1", "namespaces")]
        self.assertEqual(sorted(n for _, n in namespaces.objects),
                         ["default", "kube-node-lease", "kube-public", "kube-system"])
        service = self.stores[("", "v1", "services")].objects[("default", "kubernetes")].object
        self.assertEqual(service["spec"]["clusterIP"], "10.0.0.1")
        self.assertEqual(service["spec"]["ports"][0]["port"], 443)
        endpoints = self.stores[("", "v1", "endpoints")].objects[("default", "kubernetes")].object
        self.assertEqual(endpoints["subsets"][0]["addresses"], [{"ip": "192.0.2.5"}])
        self.assertEqual(endpoints["subsets"][0]["ports"][0]["port"], 7443)

    def test_hook_is_idempotent(self) -> None:
        """Running the hook again (a restart) creates nothing new."""
        self.run_hook()
        namespaces = self.stores[("", "v1", "namespaces")]
        revision = namespaces.revision
        self.run_hook()
        self.assertEqual(namespaces.revision, revision)

    def test_foreign_groups_left_to_their_servers(self) -> None:
        """apiextensions.k8s.io and apiregistration.k8s.io are not installed on the KubeAPI server."""
        self.assertEqual(set(foreign_groups()), {"apiextensions.k8s.io", "apiregistration.k8s.io"})
        response = self.successResultOf(self.stub.get("https://x/apis/apiextensions.k8s.io/v1"))
        self.assertEqual(response.code, 404)

    def test_first_service_ip(self) -> None:
        """The kubernetes Service takes the first address of the service range."""
        self.assertEqual(first_service_ip("10.96.0.0/12"), "10.96.0.1")

    def test_openapi_registered(self) -> None:
        """The built-in group-versions' OpenAPI v3 documents are registered on the server."""
        self.assertTrue(self.kube.openapi.has_group_version("api/v1"))
        self.assertTrue(self.kube.openapi.has_group_version("apis/apps/v1"))
