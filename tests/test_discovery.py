"""
Discovery at /api and /apis for the whole chain: legacy documents and
aggregated discovery (apidiscovery.k8s.io v2/v2beta1) as kubectl asks for it.
"""

from __future__ import annotations

import json

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from treq.testing import StubTreq

from kapi_twisted.aggregator import install_root_discovery
from kapi_twisted.apis import registry
from kapi_twisted.apis.registry import ResourceInfo
from kapi_twisted.endpoints import discovery_registry_of, install_group_version
from kapi_twisted.server.generic import GenericAPIServer
from kapi_twisted.server.lifecycle import LifecycleSignals

KUBECTL_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)


def chain():
    lifecycle = LifecycleSignals()
    lifecycle.mux_and_discovery_complete.fire()
    clock = Clock()
    ext = GenericAPIServer("apiextensions-apiserver", None, lifecycle, clock)
    kube = GenericAPIServer("kube-apiserver", ext, lifecycle, clock)
    agg = GenericAPIServer("kube-aggregator", kube, lifecycle, clock)
    for group, versions in registry.group_versions():
        for version in versions:
            install_group_version(kube, group, version, registry.resources_for(group, version), {}, clock)
    install_root_discovery(agg, lambda: "10.0.0.1:6443")
    return ext, kube, agg


class DiscoveryTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.ext, self.kube, self.agg = chain()
        self.stub = StubTreq(self.agg.root)

    def get(self, path: str, accept: str = "application/json", headers=None):
        hdrs = {"Accept": accept}
        hdrs.update(headers or {})
        response = self.successResultOf(self.stub.get("https://x" + path, headers=hdrs))
        content = self.successResultOf(self.stub.content(response))
        return response, content

    def test_api_versions(self) -> None:
        """GET /api is APIVersions without apiVersion."""
        response, content = self.get("/api")
        body = json.loads(content)
        self.assertEqual(body["kind"], "APIVersions")
        self.assertEqual(body["versions"], ["v1"])
        self.assertNotIn("apiVersion", body)
        self.assertEqual(body["serverAddressByClientCIDRs"][0]["serverAddress"], "10.0.0.1:6443")

    def test_api_group_list_in_kube_order(self) -> None:
        """GET /apis lists the groups in kube-apiserver's order, preferred versions first."""
        _, content = self.get("/apis")
        body = json.loads(content)
        self.assertEqual(body["kind"], "APIGroupList")
        names = [g["name"] for g in body["groups"]]
        expected = [g for g, _ in registry.group_versions() if g]
        self.assertEqual(names, expected)
        autoscaling = body["groups"][names.index("autoscaling")]
        self.assertEqual(autoscaling["preferredVersion"]["version"], "v2")

    def test_aggregated_discovery_for_kubectl(self) -> None:
        """kubectl's Accept gets an APIGroupDiscoveryList v2 with g, v, as in the Content-Type."""
        response, content = self.get("/apis", KUBECTL_ACCEPT)
        self.assertEqual(
            response.headers.getRawHeaders("content-type"),
            ["application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"])
        self.assertEqual(response.headers.getRawHeaders("vary"), ["Accept"])
        self.assertEqual(response.headers.getRawHeaders("cache-control"), ["public"])
        body = json.loads(content)
        self.assertEqual(body["apiVersion"], "apidiscovery.k8s.io/v2")
        apps = [i for i in body["items"] if i["metadata"]["name"] == "apps"][0]
        deployments = [r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments"][0]
        self.assertEqual(deployments["scope"], "Namespaced")
        self.assertEqual(deployments["shortNames"], ["deploy"])
        scale = [s for s in deployments["subresources"] if s["subresource"] == "scale"][0]
        self.assertEqual(scale["responseKind"], {"group": "autoscaling", "version": "v1", "kind": "Scale"})

    def test_aggregated_core_has_one_unnamed_item(self) -> None:
        """Aggregated /api has a single item whose metadata has no name."""
        _, content = self.get("/api", KUBECTL_ACCEPT)
        body = json.loads(content)
        self.assertEqual(len(body["items"]), 1)
        self.assertNotIn("name", body["items"][0]["metadata"])

    def test_v2beta1(self) -> None:
        """Asking only for v2beta1 answers v2beta1."""
        response, content = self.get(
            "/apis", "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList")
        self.assertEqual(json.loads(content)["apiVersion"], "apidiscovery.k8s.io/v2beta1")

    def test_etag_and_304(self) -> None:
        """A matching If-None-Match is answered 304."""
        response, _ = self.get("/apis", KUBECTL_ACCEPT)
        etag = response.headers.getRawHeaders("etag")[0]
        response, content = self.get("/apis", KUBECTL_ACCEPT, {"If-None-Match": etag})
        self.assertEqual(response.code, 304)

    def test_not_acceptable(self) -> None:
        """Accept: application/yaml only on /apis is 406."""
        response, _ = self.get("/apis", "application/yaml")
        self.assertEqual(response.code, 406)

    def test_group_added_later_to_delegate_appears(self) -> None:
        """A group the APIExtensions server registers after start shows up in /apis at once."""
        widget = ResourceInfo(
            group="example.com", version="v1", plural="widgets", singular="widget",
            kind="Widget", namespaced=True, verbs=("get", "list"), short_names=(),
            categories=(), subresources=(), etcd_prefix="example.com/widgets",
            list_kind="WidgetList", storage_version_hash="")
        discovery_registry_of(self.ext).add("example.com", "v1", lambda: [widget])
        _, content = self.get("/apis")
        names = [g["name"] for g in json.loads(content)["groups"]]
        self.assertEqual(names[-1], "example.com")
        _, content = self.get("/apis", KUBECTL_ACCEPT)
        item = json.loads(content)["items"][-1]
        self.assertEqual(item["versions"][0]["resources"][0]["resource"], "widgets")

    def test_group_version_documents_pass_through_the_aggregator(self) -> None:
        """/api/v1 and /apis/apps/v1 reach the KubeAPI server behind the aggregator."""
        response, content = self.get("/api/v1")
        self.assertEqual(json.loads(content)["groupVersion"], "v1")
        response, content = self.get("/apis/apps")
        self.assertEqual(json.loads(content)["kind"], "APIGroup")
