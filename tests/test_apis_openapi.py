"""
Tests for L{kapi_twisted.apis.openapi}: the built-in types' schemas and the OpenAPI documents.
"""

import json
import os
import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.apis import openapi, registry

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_DATA = os.path.join(_ROOT, "kapi_twisted", "apis")

_PATCH_TYPES = {"application/apply-patch+yaml", "application/json-patch+json",
                "application/merge-patch+json", "application/strategic-merge-patch+json"}


class DefinitionTests(SynchronousTestCase):
    """The definitions are Kubernetes 1.37's, with their x-kubernetes-* extensions."""

    def test_version(self):
        """The schemas come from Kubernetes v1.37.0."""
        self.assertEqual(openapi.kubernetes_version(), "v1.37.0")

    def test_every_served_kind_has_a_schema(self):
        """Every served resource's kind and list kind has a definition."""
        for info in registry.all_resources():
            self.assertIsNotNone(openapi.schema_for(info.group, info.version, info.kind),
                                 info)
            if info.list_kind:
                self.assertIsNotNone(
                    openapi.schema_for(info.group, info.version, info.list_kind), info)

    def test_every_ga_kind_is_served(self):
        """Every GA kind in the schemas that has a list is a served resource (nothing missed)."""
        served = {(r.group, r.version, r.kind) for r in registry.all_resources()}
        for name, schema in openapi.definitions().items():
            gvks = schema.get("x-kubernetes-group-version-kind", [])
            if len(gvks) != 1:
                continue
            g, v, k = gvks[0]["group"], gvks[0]["version"], gvks[0]["kind"]
            if "alpha" in v or "beta" in v or not k.endswith("List"):
                continue
            if g in ("", "meta.k8s.io") and k in ("List", "APIGroupList", "APIResourceList"):
                continue
            self.assertIn((g, v, k[:-4]), served, name)

    def test_strategic_merge_metadata(self):
        """Pod containers merge by name; their list is a map keyed by name."""
        spec = openapi.definitions()["io.k8s.api.core.v1.PodSpec"]
        containers = spec["properties"]["containers"]
        self.assertEqual(containers["x-kubernetes-patch-merge-key"], "name")
        self.assertEqual(containers["x-kubernetes-patch-strategy"], "merge")
        self.assertEqual(containers["x-kubernetes-list-type"], "map")
        self.assertEqual(containers["x-kubernetes-list-map-keys"], ["name"])
        self.assertEqual(containers["items"],
                         {"$ref": "#/definitions/io.k8s.api.core.v1.Container"})

    def test_v2_forms(self):
        """Types are plain strings, IntOrString and Quantity use their v2 forms, no added enums."""
        defs = openapi.definitions()
        self.assertEqual(defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"],
                         "int-or-string")
        self.assertEqual(defs["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"], "string")
        cm = defs["io.k8s.api.core.v1.ConfigMap"]
        self.assertEqual(cm["properties"]["kind"]["type"], "string")
        self.assertNotIn("enum", cm["properties"]["kind"])
        self.assertEqual(cm["x-kubernetes-group-version-kind"],
                         [{"group": "", "kind": "ConfigMap", "version": "v1"}])
        self.assertEqual(defs["io.k8s.apimachinery.pkg.apis.meta.v1.Time"],
                         {"description": defs["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]
                          ["description"], "format": "date-time", "type": "string"})

    def test_schema_for(self):
        """schema_for finds a kind by group, version and kind; unknown kinds are None."""
        self.assertIn("spec", openapi.schema_for("apps", "v1", "Deployment")["properties"])
        self.assertEqual(openapi.definition_name("apps", "v1", "Deployment"),
                         "io.k8s.api.apps.v1.Deployment")
        self.assertIsNone(openapi.schema_for("apps", "v1", "Nope"))
        self.assertEqual(openapi.definition_name("", "v1", "DeleteOptions"),
                         "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions")

    def test_data_is_small(self):
        """The committed schema file stays well under 3 MB."""
        self.assertLess(os.path.getsize(os.path.join(_DATA, "openapi_definitions.json.gz")),
                        3 * 1024 * 1024)


class UnknownFieldTests(SynchronousTestCase):
    """fieldValidation=Strict finds unknown fields as kube-apiserver names them."""

    def test_paths(self):
        """Unknown fields at any depth are reported with dotted paths and list indexes."""
        obj = {"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "x", "labelz": {}},
               "spec": {"replicas": 1, "replicaz": 2, "template": {"spec": {"containers": [
                   {"name": "a", "image": "b"}, {"name": "c", "imagePullPolicyx": "x"}]}}}}
        self.assertEqual(openapi.unknown_fields("apps", "v1", "Deployment", obj),
                         ["metadata.labelz", "spec.replicaz",
                          "spec.template.spec.containers[1].imagePullPolicyx"])

    def test_known_and_free_form(self):
        """Known fields, maps and free-form parts (RawExtension, managedFields) pass."""
        obj = {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "x", "labels": {"a": "b"},
                            "managedFields": [{"manager": "m", "fieldsV1": {"f:data": {}}}]},
               "data": {"anything": "goes"}}
        self.assertEqual(openapi.unknown_fields("", "v1", "ConfigMap", obj), [])
        rev = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "r"},
               "revision": 1, "data": {"whatever": {"deep": 1}}}
        self.assertEqual(openapi.unknown_fields("apps", "v1", "ControllerRevision", rev), [])

    def test_prune(self):
        """Pruning removes exactly the unknown fields and reports them."""
        obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "x": 1},
               "spec": {"containers": [{"name": "c", "image": "i", "bogus": True}]},
               "extra": {}}
        self.assertEqual(openapi.prune_unknown_fields("", "v1", "Pod", obj),
                         ["metadata.x", "spec.containers[0].bogus", "extra"])
        self.assertEqual(obj, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                               "spec": {"containers": [{"name": "c", "image": "i"}]}})
        self.assertEqual(openapi.prune_unknown_fields("", "v1", "Pod", obj), [])

    def test_unknown_kind(self):
        """A kind without a schema reports nothing."""
        self.assertEqual(openapi.unknown_fields("example.com", "v1", "Widget", {"x": 1}), [])


class DocumentTests(SynchronousTestCase):
    """The /openapi/v2 and /openapi/v3 documents kubectl reads."""

    def test_index(self):
        """The v3 index lists api, api/v1, apis, each group and each served group-version."""
        index = openapi.v3_index()
        for key in ("api", "api/v1", "apis", "apis/apps", "apis/apps/v1",
                    "apis/autoscaling/v2", "apis/autoscaling/v1",
                    "apis/coordination.k8s.io/v1"):
            self.assertIn(key, index)
        self.assertNotIn("apis/apps/v1beta1", index)
        self.assertEqual(openapi.gv_key("", "v1"), "api/v1")
        self.assertEqual(openapi.gv_key("apps", "v1"), "apis/apps/v1")
        self.assertRaises(KeyError, openapi.v3_document, "apis/apps/v1beta1")

    def test_patch_declares_field_validation(self):
        """Every PATCH declares fieldValidation and the four patch media types (kubectl apply)."""
        for key in openapi.v3_index():
            doc = openapi.v3_document(key)
            for path, item in doc["paths"].items():
                op = item.get("patch")
                if op is None or op["x-kubernetes-action"] == "connect":
                    continue
                names = {p["name"] for p in op["parameters"] if p["in"] == "query"}
                self.assertIn("fieldValidation", names, path)
                self.assertEqual(set(op["requestBody"]["content"]), _PATCH_TYPES, path)
                self.assertIn("x-kubernetes-group-version-kind", op)

    def test_deployment_operations(self):
        """apps/v1 has kube-apiserver's paths and operation ids for deployments."""
        doc = openapi.v3_document("apis/apps/v1")
        paths = doc["paths"]
        item = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
        self.assertEqual(set(item), {"get", "put", "delete", "patch", "parameters"})
        self.assertEqual(item["patch"]["operationId"], "patchAppsV1NamespacedDeployment")
        self.assertEqual(item["patch"]["x-kubernetes-group-version-kind"],
                         {"group": "apps", "version": "v1", "kind": "Deployment"})
        self.assertEqual(item["get"]["x-kubernetes-action"], "get")
        collection = paths["/apis/apps/v1/namespaces/{namespace}/deployments"]
        self.assertEqual(collection["get"]["operationId"], "listAppsV1NamespacedDeployment")
        self.assertEqual(collection["post"]["x-kubernetes-action"], "post")
        self.assertEqual(collection["delete"]["x-kubernetes-action"], "deletecollection")
        self.assertIn("application/json;stream=watch",
                      collection["get"]["responses"]["200"]["content"])
        self.assertEqual(paths["/apis/apps/v1/deployments"]["get"]["operationId"],
                         "listAppsV1DeploymentForAllNamespaces")
        scale = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
        self.assertEqual(scale["patch"]["x-kubernetes-group-version-kind"],
                         {"group": "autoscaling", "version": "v1", "kind": "Scale"})
        self.assertIn("/apis/apps/v1/watch/namespaces/{namespace}/deployments/{name}", paths)
        self.assertIn("/apis/apps/v1/", paths)

    def test_components_schemas(self):
        """components.schemas holds each kind with its GVK list and v3 refs (kubectl explain)."""
        schemas = openapi.v3_document("apis/apps/v1")["components"]["schemas"]
        deploy = schemas["io.k8s.api.apps.v1.Deployment"]
        self.assertEqual(deploy["x-kubernetes-group-version-kind"],
                         [{"group": "apps", "kind": "Deployment", "version": "v1"}])
        self.assertIn("io.k8s.api.core.v1.PodSpec", schemas)
        self.assertIn("io.k8s.api.autoscaling.v1.Scale", schemas)
        self.assertIn("io.k8s.apimachinery.pkg.apis.meta.v1.Patch", schemas)
        self.assertNotIn("io.k8s.api.batch.v1.Job", schemas)
        spec = deploy["properties"]["spec"]
        self.assertEqual(spec["allOf"], [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}])
        self.assertNotIn("#/definitions/", json.dumps(schemas))

    def test_core_operations(self):
        """Core v1 has namespaced and cluster paths, connect and log operations."""
        paths = openapi.v3_document("api/v1")["paths"]
        self.assertEqual(paths["/api/v1/namespaces/{name}"]["patch"]["operationId"],
                         "patchCoreV1Namespace")
        self.assertEqual(
            paths["/api/v1/namespaces/{namespace}/pods/{name}/exec"]["post"]["operationId"],
            "connectCoreV1PostNamespacedPodExec")
        self.assertEqual(
            paths["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"]["operationId"],
            "readCoreV1NamespacedPodLog")
        self.assertEqual(
            paths["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"]
            ["x-kubernetes-group-version-kind"], {"group": "policy", "version": "v1",
                                                   "kind": "Eviction"})
        self.assertIn("/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", paths)

    def test_json_is_cached_with_hash(self):
        """Documents serialise once; the hash is stable and changes between documents."""
        body, digest = openapi.v3_document_json("apis/apps/v1")
        self.assertIs(openapi.v3_document_json("apis/apps/v1")[0], body)
        self.assertEqual(json.loads(body)["openapi"], "3.0.0")
        self.assertNotEqual(digest, openapi.v3_document_json("api/v1")[1])
        self.assertEqual(len(digest), 128)

    def test_v2(self):
        """The Swagger 2.0 document covers every group with body parameters and definitions."""
        doc = openapi.v2_document()
        self.assertEqual(doc["swagger"], "2.0")
        patch = doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"]
        self.assertEqual(set(patch["consumes"]), _PATCH_TYPES)
        self.assertIn("fieldValidation", {p["name"] for p in patch["parameters"]})
        self.assertEqual(patch["parameters"][0]["in"], "body")
        self.assertIn("io.k8s.api.coordination.v1.Lease", doc["definitions"])
        self.assertIn("/apis/rbac.authorization.k8s.io/v1/clusterroles", doc["paths"])
        body, _ = openapi.v2_document_json()
        self.assertEqual(json.loads(body)["info"]["version"], "v1.37.0")


class LazinessTests(SynchronousTestCase):
    """Schemas load on first use, not at import."""

    def test_import_does_not_load(self):
        """Importing the module reads no schema file."""
        code = ("import kapi_twisted.apis.openapi as o; "
                "print(o._data.cache_info().currsize)")
        out = subprocess.run([sys.executable, "-c", code], cwd=_ROOT, check=True,
                             stdout=subprocess.PIPE).stdout.decode().strip()
        self.assertEqual(out, "0")


class GeneratorTests(SynchronousTestCase):
    """The committed data files are what the generators make."""

    def _generate(self, script, *args):
        subprocess.run([sys.executable, os.path.join(_ROOT, "tools", script)] + list(args),
                       check=True, stderr=subprocess.DEVNULL)

    def test_openapi_definitions_reproducible(self):
        """tools/gen_openapi_definitions.py reproduces openapi_definitions.json.gz."""
        try:
            import kubernetes_validate  # noqa: F401
        except ImportError:
            raise self.skipTest("kubernetes-validate (the schemas' source) is not installed")
        path = os.path.join(_DATA, "openapi_definitions.json.gz")
        with open(path, "rb") as f:
            before = f.read()
        self._generate("gen_openapi_definitions.py")
        with open(path, "rb") as f:
            self.assertEqual(f.read(), before)

    def test_proto_table_reproducible(self):
        """tools/gen_proto_table.py reproduces protobuf_fields.json.gz."""
        proto_dir = os.path.join(_ROOT, "..", "shared", "k8s-proto")
        if not os.path.isdir(proto_dir):
            raise self.skipTest("the shared k8s-proto files are not beside the checkout")
        path = os.path.join(_DATA, "protobuf_fields.json.gz")
        with open(path, "rb") as f:
            before = f.read()
        self._generate("gen_proto_table.py", proto_dir)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), before)
