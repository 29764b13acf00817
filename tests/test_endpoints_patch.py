"""
PATCH: the four patch content types, their failures as Status, and the
server-side apply approximation.
"""

from __future__ import annotations

import json

from twisted.trial.unittest import SynchronousTestCase

from tests.test_endpoints import CM, Harness

DEPLOY = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"template": {"spec": {"containers": [
        {"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}}},
}
CM_PATH = "/api/v1/namespaces/default/configmaps/a"


class PatchTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.h = Harness(self)
        self.h.json("POST", "/api/v1/namespaces/default/configmaps", CM, code=201)

    def patch(self, path, body, content_type, code=200, query=""):
        return self.h.json("PATCH", path + query, raw=json.dumps(body).encode(),
                           headers={"Content-Type": content_type}, code=code)[1]

    def test_merge_patch(self) -> None:
        """A merge patch sets and deletes keys (null)."""
        body = self.patch(CM_PATH, {"data": {"k": None, "n": "1"}}, "application/merge-patch+json")
        self.assertEqual(body["data"], {"n": "1"})

    def test_json_patch(self) -> None:
        """A JSON patch applies its operations."""
        body = self.patch(CM_PATH, [{"op": "add", "path": "/data/x", "value": "y"}],
                          "application/json-patch+json")
        self.assertEqual(body["data"], {"k": "v", "x": "y"})

    def test_failed_test_op_is_422(self) -> None:
        """A failing 'test' op (kopf's resourceVersion guard) is 422 Invalid."""
        body = self.patch(CM_PATH, [{"op": "test", "path": "/metadata/resourceVersion", "value": "1"}],
                          "application/json-patch+json", code=422)
        self.assertEqual(body["reason"], "Invalid")
        self.assertEqual(body["message"], "the server rejected our request due to an error in our request")

    def test_strategic_merge_patch_merges_containers_by_name(self) -> None:
        """A strategic merge patch merges containers by name."""
        self.h.json("POST", "/apis/apps/v1/namespaces/default/deployments", DEPLOY, code=201)
        body = self.patch("/apis/apps/v1/namespaces/default/deployments/web",
                          {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:2"}]}}}},
                          "application/strategic-merge-patch+json; charset=utf-8")
        containers = body["spec"]["template"]["spec"]["containers"]
        self.assertEqual([(c["name"], c["image"]) for c in containers], [("a", "a:1"), ("b", "b:2")])

    def test_unknown_patch_type_is_415(self) -> None:
        """PATCH with Content-Type application/json is 415."""
        body = self.patch(CM_PATH, {}, "application/json", code=415)
        self.assertEqual(body["reason"], "UnsupportedMediaType")

    def test_missing_object_is_404(self) -> None:
        """A merge patch of a missing object is 404."""
        self.patch("/api/v1/namespaces/default/configmaps/zz", {}, "application/merge-patch+json", code=404)

    def test_force_without_apply_is_422(self) -> None:
        """force=true on a merge patch is 422 on PatchOptions."""
        body = self.patch(CM_PATH, {}, "application/merge-patch+json", code=422, query="?force=true")
        self.assertEqual(body["details"]["kind"], "PatchOptions")

    def test_apply_requires_field_manager(self) -> None:
        """An apply patch without fieldManager is 422."""
        self.patch(CM_PATH, CM, "application/apply-patch+yaml", code=422)

    def test_apply_creates_missing_object(self) -> None:
        """Server-side apply of a missing object creates it: 201."""
        obj = dict(CM, metadata={"name": "new"})
        body = self.patch("/api/v1/namespaces/default/configmaps/new", obj,
                          "application/apply-patch+yaml", code=201, query="?fieldManager=kubectl")
        self.assertEqual(body["metadata"]["namespace"], "default")

    def test_apply_merges_into_existing(self) -> None:
        """Server-side apply of an existing object merges the configuration."""
        obj = dict(CM, data={"z": "1"})
        body = self.patch(CM_PATH, obj, "application/apply-patch+yaml", query="?fieldManager=kubectl")
        self.assertEqual(body["data"]["z"], "1")


class ScaleTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.h = Harness(self)
        dep = json.loads(json.dumps(DEPLOY))
        dep["spec"]["replicas"] = 2
        dep["spec"]["selector"] = {"matchLabels": {"app": "web"}}
        self.h.json("POST", "/apis/apps/v1/namespaces/default/deployments", dep, code=201)
        self.path = "/apis/apps/v1/namespaces/default/deployments/web/scale"

    def test_get_scale(self) -> None:
        """GET .../scale answers an autoscaling/v1 Scale with the selector as text."""
        _, body = self.h.json("GET", self.path)
        self.assertEqual((body["kind"], body["apiVersion"]), ("Scale", "autoscaling/v1"))
        self.assertEqual(body["spec"], {"replicas": 2})
        self.assertEqual(body["status"]["selector"], "app=web")

    def test_kubectl_scale(self) -> None:
        """kubectl scale's merge patch of .../scale sets spec.replicas and answers a Scale."""
        _, body = self.h.json("PATCH", self.path, raw=b'{"spec":{"replicas":3}}',
                              headers={"Content-Type": "application/merge-patch+json"})
        self.assertEqual(body["kind"], "Scale")
        self.assertEqual(body["spec"]["replicas"], 3)
        _, dep = self.h.json("GET", "/apis/apps/v1/namespaces/default/deployments/web")
        self.assertEqual(dep["spec"]["replicas"], 3)

    def test_put_scale_with_stale_resource_version_is_409(self) -> None:
        """PUT .../scale with a stale resourceVersion is 409 Conflict."""
        scale = {"kind": "Scale", "apiVersion": "autoscaling/v1",
                 "metadata": {"name": "web", "resourceVersion": "1"}, "spec": {"replicas": 5}}
        self.h.json("PUT", self.path, scale, code=409)


POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
       "spec": {"containers": [{"name": "c", "image": "x"}]}}


class PodSubresourceTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.h = Harness(self)
        self.h.json("POST", "/api/v1/namespaces/default/pods", POD, code=201)
        self.pods = self.h.stores[("", "pods")]

    def test_binding_assigns_node(self) -> None:
        """POST pods/p/binding sets spec.nodeName and answers 201 Success."""
        binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"},
                   "target": {"kind": "Node", "name": "n1"}}
        _, body = self.h.json("POST", "/api/v1/namespaces/default/pods/p/binding", binding, code=201)
        self.assertEqual(body["status"], "Success")
        pod = self.pods.objects[("default", "p")].object
        self.assertEqual(pod["spec"]["nodeName"], "n1")
        _, body = self.h.json("POST", "/api/v1/namespaces/default/bindings", binding, code=409)
        self.assertIn('already assigned to node "n1"', body["message"])

    def test_eviction_deletes_pod(self) -> None:
        """POST pods/p/eviction (kubectl drain) deletes the pod: 201 Success."""
        eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p"}}
        self.h.json("POST", "/api/v1/namespaces/default/pods/p/eviction", eviction, code=201)
        self.assertEqual(self.pods.objects, {})
