"""
The REST handlers over HTTP in memory (treq's StubTreq against a real
server tree with fake stores): routing, verbs, status codes, bodies.
"""

from __future__ import annotations

import json

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from treq.testing import StubTreq

from kapi_twisted.apis import registry
from kapi_twisted.endpoints.installer import install_group_version
from kapi_twisted.server.generic import GenericAPIServer
from kapi_twisted.server.lifecycle import LifecycleSignals
from tests.test_endpoints_fakes import FakeStore

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}


def build(groups=(("", "v1"), ("apps", "v1"))):
    """A kube server in front of an empty delegate, with fake stores."""
    lifecycle = LifecycleSignals()
    lifecycle.mux_and_discovery_complete.fire()
    clock = Clock()
    ext = GenericAPIServer("apiextensions-apiserver", None, lifecycle, clock)
    kube = GenericAPIServer("kube-apiserver", ext, lifecycle, clock)
    stores = {}
    for group, version in groups:
        resources = registry.resources_for(group, version)
        gv_stores = {r.plural: FakeStore(r) for r in resources if r.list_kind}
        stores.update({(group, r): s for r, s in gv_stores.items()})
        install_group_version(kube, group, version, resources, gv_stores, clock)
    return kube, stores, clock


class Harness:
    def __init__(self, case: SynchronousTestCase) -> None:
        self.case = case
        self.server, self.stores, self.clock = build()
        self.stub = StubTreq(self.server.root)

    def request(self, method: str, path: str, body=None, headers=None, raw=None):
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        d = self.stub.request(method, "https://example" + path, data=data, headers=headers or {})
        response = self.case.successResultOf(d)
        content = self.case.successResultOf(self.stub.content(response))
        return response, content

    def json(self, method: str, path: str, body=None, headers=None, code=200, raw=None):
        response, content = self.request(method, path, body, headers, raw)
        self.case.assertEqual(response.code, code, content)
        return response, json.loads(content)


class RoutingTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.h = Harness(self)

    def test_unknown_resource_in_served_group_version_is_json_404(self) -> None:
        """GET /api/v1/foos answers a JSON Status 404 'the server could not find the requested resource'."""
        response, body = self.h.json("GET", "/api/v1/foos", code=404)
        self.assertEqual(response.headers.getRawHeaders("content-type"), ["application/json"])
        self.assertEqual(body["message"], "the server could not find the requested resource")
        self.assertEqual(body["reason"], "NotFound")
        self.assertEqual(body["details"], {})

    def test_unknown_group_falls_through_to_plain_404(self) -> None:
        """GET /apis/nosuch.group/v1/things reaches the end of the chain: plain-text 404."""
        response, content = self.h.request("GET", "/apis/nosuch.group/v1/things")
        self.assertEqual(response.code, 404)
        self.assertEqual(content, b"404 page not found\n")

    def test_unsupported_verb_is_405(self) -> None:
        """DELETE on the namespaces collection (no deletecollection verb) is 405 MethodNotAllowed."""
        _, body = self.h.json("DELETE", "/api/v1/namespaces", code=405)
        self.assertEqual(body["reason"], "MethodNotAllowed")

    def test_cluster_resource_under_namespace_is_404(self) -> None:
        """A cluster-scoped resource under /namespaces/<ns>/ is not a route."""
        self.h.json("GET", "/api/v1/namespaces/default/nodes", code=404)

    def test_resource_list_document(self) -> None:
        """GET /apis/apps/v1 is the APIResourceList with subresources as 'deployments/scale'."""
        _, body = self.h.json("GET", "/apis/apps/v1")
        self.assertEqual(body["kind"], "APIResourceList")
        self.assertEqual(body["apiVersion"], "v1")
        names = [r["name"] for r in body["resources"]]
        self.assertIn("deployments/scale", names)
        scale = body["resources"][names.index("deployments/scale")]
        self.assertEqual((scale["group"], scale["version"], scale["kind"]), ("autoscaling", "v1", "Scale"))

    def test_core_resource_list_has_no_api_version(self) -> None:
        """GET /api/v1 is an APIResourceList without apiVersion, pods with shortNames and categories."""
        _, body = self.h.json("GET", "/api/v1")
        self.assertNotIn("apiVersion", body)
        pods = [r for r in body["resources"] if r["name"] == "pods"][0]
        self.assertEqual(pods["shortNames"], ["po"])
        self.assertEqual(pods["categories"], ["all"])
        self.assertTrue(pods["storageVersionHash"])
        status = [r for r in body["resources"] if r["name"] == "pods/status"][0]
        self.assertNotIn("group", status)

    def test_group_document(self) -> None:
        """GET /apis/apps is the APIGroup with its preferred version."""
        _, body = self.h.json("GET", "/apis/apps")
        self.assertEqual(body["kind"], "APIGroup")
        self.assertEqual(body["preferredVersion"], {"groupVersion": "apps/v1", "version": "v1"})


class VerbTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.h = Harness(self)
        self.cm = self.h.stores[("", "configmaps")]

    def create(self, body=CM, ns="default", **kw):
        return self.h.json("POST", f"/api/v1/namespaces/{ns}/configmaps", body, **kw)

    def test_create_answers_201_with_the_stored_object(self) -> None:
        """POST a ConfigMap: 201, the namespace filled in from the URL."""
        _, body = self.create(code=201)
        self.assertEqual(body["metadata"]["namespace"], "default")
        self.assertEqual(body["metadata"]["resourceVersion"], "11")

    def test_create_without_content_type_is_json(self) -> None:
        """The Python client's POST without Content-Type is read as JSON."""
        _, body = self.h.json("POST", "/api/v1/namespaces/default/configmaps",
                              raw=json.dumps(CM).encode(), code=201)
        self.assertEqual(body["data"], {"k": "v"})

    def test_create_yaml_body(self) -> None:
        """A YAML body is accepted."""
        raw = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  k: v\n"
        _, body = self.h.json("POST", "/api/v1/namespaces/default/configmaps", raw=raw,
                              headers={"Content-Type": "application/yaml"}, code=201)
        self.assertEqual(body["metadata"]["name"], "y")

    def test_create_protobuf_body(self) -> None:
        """A protobuf body (kubectl create configmap) is decoded and stored."""
        from kapi_twisted.apis import protobuf

        raw = protobuf.encode(CM)
        _, body = self.h.json(
            "POST", "/api/v1/namespaces/default/configmaps?fieldManager=kubectl-create", raw=raw,
            headers={"Content-Type": "application/vnd.kubernetes.protobuf",
                     "Accept": "application/vnd.kubernetes.protobuf,application/json"},
            code=201)
        self.assertEqual(body["data"], {"k": "v"})
        self.assertEqual(self.cm.calls[-1][3].field_manager, "kubectl-create")

    def test_unknown_body_type_is_415(self) -> None:
        """A text/plain body is 415 UnsupportedMediaType."""
        _, body = self.h.json("POST", "/api/v1/namespaces/default/configmaps", raw=b"x",
                              headers={"Content-Type": "text/plain"}, code=415)
        self.assertEqual(body["reason"], "UnsupportedMediaType")

    def test_namespace_mismatch_is_400(self) -> None:
        """A body namespace other than the URL's is 400."""
        other = dict(CM, metadata={"name": "a", "namespace": "other"})
        _, body = self.create(other, code=400)
        self.assertIn("does not match the namespace", body["message"])

    def test_wrong_kind_is_400(self) -> None:
        """A Secret posted to configmaps is 400."""
        _, body = self.create(dict(CM, kind="Secret"), code=400)
        self.assertEqual(body["reason"], "BadRequest")

    def test_get_writes_stored_bytes(self) -> None:
        """GET answers the stored bytes, compact JSON."""
        self.create(code=201)
        _, content = self.h.request("GET", "/api/v1/namespaces/default/configmaps/a")
        self.assertEqual(content, self.cm.objects[("default", "a")].data)

    def test_get_missing_is_404(self) -> None:
        """GET of a missing object is 404 'configmaps "x" not found'."""
        _, body = self.h.json("GET", "/api/v1/namespaces/default/configmaps/x", code=404)
        self.assertEqual(body["message"], 'configmaps "x" not found')

    def test_pretty_for_curl(self) -> None:
        """curl gets indented JSON."""
        self.create(code=201)
        _, content = self.h.request("GET", "/api/v1/namespaces/default/configmaps/a",
                                    headers={"User-Agent": "curl/8.0"})
        self.assertIn(b'\n  "', content)

    def test_list(self) -> None:
        """GET the collection: a ConfigMapList with the list's resourceVersion and all items."""
        self.create(code=201)
        self.create(dict(CM, metadata={"name": "b"}), code=201)
        _, body = self.h.json("GET", "/api/v1/namespaces/default/configmaps?limit=500&shardSelector=x")
        self.assertEqual(body["kind"], "ConfigMapList")
        self.assertEqual(body["apiVersion"], "v1")
        self.assertEqual(body["metadata"]["resourceVersion"], "12")
        self.assertEqual([i["metadata"]["name"] for i in body["items"]], ["a", "b"])
        self.assertEqual(self.cm.calls[-1][2].limit, 500)

    def test_list_all_namespaces(self) -> None:
        """GET /api/v1/configmaps lists every namespace."""
        self.create(code=201)
        self.create(code=201, ns="other")
        _, body = self.h.json("GET", "/api/v1/configmaps")
        self.assertEqual(len(body["items"]), 2)

    def test_post_to_all_namespaces_collection_is_405(self) -> None:
        """POST /api/v1/configmaps (no namespace) is 405."""
        self.h.json("POST", "/api/v1/configmaps", CM, code=405)

    def test_bad_limit_is_400(self) -> None:
        """limit=abc is 400 BadRequest."""
        self.h.json("GET", "/api/v1/namespaces/default/configmaps?limit=abc", code=400)

    def test_resource_version_match_without_rv_is_422(self) -> None:
        """resourceVersionMatch without resourceVersion is 422 on ListOptions."""
        _, body = self.h.json(
            "GET", "/api/v1/namespaces/default/configmaps?resourceVersionMatch=Exact", code=422)
        self.assertEqual(body["details"]["kind"], "ListOptions")
        self.assertEqual(body["details"]["group"], "meta.k8s.io")

    def test_bad_dry_run_is_422(self) -> None:
        """dryRun=Foo is 422."""
        _, body = self.h.json("POST", "/api/v1/namespaces/default/configmaps?dryRun=Foo", CM, code=422)
        self.assertEqual(body["details"]["kind"], "CreateOptions")

    def test_dry_run_create_stores_nothing(self) -> None:
        """dryRun=All answers 201 with the would-be object and stores nothing."""
        self.h.json("POST", "/api/v1/namespaces/default/configmaps?dryRun=All", CM, code=201)
        self.assertEqual(self.cm.objects, {})

    def test_field_manager_defaults_to_user_agent_prefix(self) -> None:
        """Without fieldManager the manager is the User-Agent up to its first '/'."""
        self.create(code=201, headers={"User-Agent": "OpenAPI-Generator/37.0.2/python"})
        self.assertEqual(self.cm.calls[-1][3].field_manager, "OpenAPI-Generator")

    def test_update(self) -> None:
        """PUT answers 200 with the new object."""
        self.create(code=201)
        new = dict(CM, metadata={"name": "a"}, data={"k": "w"})
        _, body = self.h.json("PUT", "/api/v1/namespaces/default/configmaps/a", new)
        self.assertEqual(body["data"], {"k": "w"})

    def test_update_name_mismatch_is_400(self) -> None:
        """A PUT whose body names another object is 400."""
        self.create(code=201)
        _, body = self.h.json("PUT", "/api/v1/namespaces/default/configmaps/b", CM, code=400)
        self.assertEqual(body["message"], "the name of the object (a) does not match the name on the URL (b)")

    def test_status_subresource_update(self) -> None:
        """PUT .../status goes to the store with subresource 'status'."""
        deployments = self.h.stores[("apps", "deployments")]
        dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}
        self.h.json("POST", "/apis/apps/v1/namespaces/default/deployments", dep, code=201)
        self.h.json("PUT", "/apis/apps/v1/namespaces/default/deployments/d/status", dep)
        self.assertEqual(deployments.calls[-1][5], "status")

    def test_delete_answers_status_success(self) -> None:
        """DELETE of a ConfigMap answers Status Success with details.kind the plural."""
        self.create(code=201)
        _, body = self.h.json("DELETE", "/api/v1/namespaces/default/configmaps/a",
                              {"propagationPolicy": "Background"})
        self.assertEqual(body["status"], "Success")
        self.assertEqual(body["details"]["kind"], "configmaps")
        self.assertEqual(self.cm.calls[-1][3].propagation_policy, "Background")

    def test_delete_options_from_query(self) -> None:
        """Without a body, DeleteOptions come from the query."""
        self.create(code=201)
        self.h.json("DELETE", "/api/v1/namespaces/default/configmaps/a?propagationPolicy=Foreground&gracePeriodSeconds=5")
        options = self.cm.calls[-1][3]
        self.assertEqual((options.propagation_policy, options.grace_period_seconds), ("Foreground", 5))

    def test_bad_propagation_policy_is_422(self) -> None:
        """propagationPolicy=Sideways is 422 on DeleteOptions."""
        self.create(code=201)
        _, body = self.h.json("DELETE", "/api/v1/namespaces/default/configmaps/a?propagationPolicy=Sideways", code=422)
        self.assertEqual(body["details"]["kind"], "DeleteOptions")

    def test_delete_collection(self) -> None:
        """DELETE on the collection answers the list of deleted items."""
        self.create(code=201)
        _, body = self.h.json("DELETE", "/api/v1/namespaces/default/configmaps")
        self.assertEqual(body["kind"], "ConfigMapList")
        self.assertEqual(len(body["items"]), 1)


class DynamicResourcesTests(SynchronousTestCase):
    def test_resources_added_at_run_time_are_served(self) -> None:
        """A group-version installed with a callable serves resources added later (custom resources)."""
        from kapi_twisted.apis.registry import ResourceInfo

        lifecycle = LifecycleSignals()
        lifecycle.mux_and_discovery_complete.fire()
        server = GenericAPIServer("apiextensions-apiserver", None, lifecycle, Clock())
        served, stores = [], {}
        install_group_version(server, "example.com", "v1", lambda: served, stores, Clock())
        stub = StubTreq(server.root)
        response = self.successResultOf(stub.get("https://x/apis/example.com/v1/namespaces/d/widgets"))
        self.assertEqual(response.code, 404)
        widget = ResourceInfo(
            group="example.com", version="v1", plural="widgets", singular="widget", kind="Widget",
            namespaced=True, verbs=("get", "list"), short_names=(), categories=(),
            subresources=(), etcd_prefix="example.com/widgets", list_kind="WidgetList",
            storage_version_hash="")
        served.append(widget)
        stores["widgets"] = FakeStore(widget)
        response = self.successResultOf(stub.get("https://x/apis/example.com/v1/namespaces/d/widgets"))
        self.assertEqual(response.code, 200)
        body = json.loads(self.successResultOf(stub.content(response)))
        self.assertEqual(body["kind"], "WidgetList")

    def test_strategic_merge_patch_on_custom_resource_is_415(self) -> None:
        """A custom resource (no merge metadata) answers a strategic merge patch with 415; merge patch works."""
        from kapi_twisted.apis.registry import ResourceInfo

        lifecycle = LifecycleSignals()
        lifecycle.mux_and_discovery_complete.fire()
        server = GenericAPIServer("apiextensions-apiserver", None, lifecycle, Clock())
        widget = ResourceInfo(
            group="example.com", version="v1", plural="widgets", singular="widget", kind="Widget",
            namespaced=True, verbs=("create", "get", "patch"), short_names=(), categories=(),
            subresources=(), etcd_prefix="example.com/widgets", list_kind="WidgetList",
            storage_version_hash="")
        install_group_version(server, "example.com", "v1", [widget], {"widgets": FakeStore(widget)}, Clock())
        stub = StubTreq(server.root)
        url = "https://x/apis/example.com/v1/namespaces/d/widgets"
        obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
        response = self.successResultOf(stub.post(url, data=json.dumps(obj).encode()))
        self.assertEqual(response.code, 201)
        response = self.successResultOf(stub.patch(
            url + "/w", data=b'{"spec":{"a":1}}',
            headers={"Content-Type": "application/strategic-merge-patch+json"}))
        self.assertEqual(response.code, 415)
        response = self.successResultOf(stub.patch(
            url + "/w", data=b'{"spec":{"a":1}}',
            headers={"Content-Type": "application/merge-patch+json"}))
        self.assertEqual(response.code, 200)
