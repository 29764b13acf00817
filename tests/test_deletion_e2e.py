"""
End to end with the real kubectl: namespace deletion that completes,
finalizers that hold an object, a Deployment -> ReplicaSet -> Pod owner
chain collected in each propagation mode, NamespaceLifecycle refusals, and
what kube-controller-manager puts in every namespace.
"""

from __future__ import annotations

from twisted.internet import defer

from tests._e2e import ServerTestCase


MANIFEST_RS = """
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-1
  labels: {app: web}
  ownerReferences:
  - {apiVersion: apps/v1, kind: Deployment, name: web, uid: %s, controller: true,
     blockOwnerDeletion: true}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx}]}
"""

MANIFEST_POD = """
apiVersion: v1
kind: Pod
metadata:
  name: web-1-a
  labels: {app: web}
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-1, uid: %s, controller: true,
     blockOwnerDeletion: true}
spec: {containers: [{name: c, image: nginx}]}
"""


CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""


class DeletionE2ETests(ServerTestCase):

    @defer.inlineCallbacks
    def test_namespace_deletion_completes(self):
        """kubectl delete namespace waits and returns; the namespace and its content are gone."""
        yield self.kubectl("create", "namespace", "x")
        yield self.kubectl("create", "configmap", "a", "-n", "x", "--from-literal=k=v")
        yield self.kubectl("create", "secret", "generic", "s", "-n", "x", "--from-literal=k=v")
        out, _, _ = yield self.kubectl("delete", "namespace", "x", "--timeout=60s")
        self.assertIn('namespace "x" deleted', out)
        self.assertTrue((yield self.gone("namespace", "x")))
        self.assertTrue((yield self.gone("configmap", "a", "-n", "x")))

    @defer.inlineCallbacks
    def test_finalizer_holds_object_until_removed(self):
        """A finalizer keeps a deleted object (and its namespace) until a patch removes it."""
        yield self.kubectl("create", "namespace", "held")
        yield self.kubectl("apply", "-f", "-", stdin=(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  namespace: held\n"
            "  finalizers: [example.com/hold]\ndata: {k: v}\n"))
        yield self.kubectl("delete", "configmap", "held", "-n", "held", "--wait=false")
        yield self.kubectl("delete", "namespace", "held", "--wait=false")
        cm = yield self.get_json("configmap", "held", "-n", "held")
        self.assertIn("deletionTimestamp", cm["metadata"])
        ns = yield self.get_json("namespace", "held")
        self.assertEqual(ns["status"]["phase"], "Terminating")
        _, err, code = yield self.kubectl("create", "configmap", "new", "-n", "held", ok=False)
        self.assertNotEqual(code, 0)
        self.assertIn("unable to create new content in namespace held because it is being "
                      "terminated", err)
        yield self.kubectl("patch", "configmap", "held", "-n", "held", "--type=json",
                           "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
        yield self.kubectl("wait", "--for=delete", "namespace/held", "--timeout=60s")
        self.assertTrue((yield self.gone("configmap", "held", "-n", "held")))

    @defer.inlineCallbacks
    def make_chain(self):
        yield self.kubectl("create", "deployment", "web", "--image=nginx")
        deploy = yield self.get_json("deployment", "web")
        yield self.kubectl("apply", "-f", "-", stdin=MANIFEST_RS % deploy["metadata"]["uid"])
        rs = yield self.get_json("replicaset", "web-1")
        yield self.kubectl("apply", "-f", "-", stdin=MANIFEST_POD % rs["metadata"]["uid"])

    @defer.inlineCallbacks
    def test_owner_chain_in_each_propagation_mode(self):
        """kubectl delete deploy --cascade=background|foreground|orphan collects as kube does."""
        for mode in ("background", "foreground", "orphan"):
            yield self.make_chain()
            yield self.kubectl("delete", "deployment", "web", f"--cascade={mode}",
                               "--timeout=60s")
            self.assertTrue((yield self.gone("deployment", "web")))
            if mode == "orphan":
                rs = yield self.get_json("replicaset", "web-1")
                self.assertNotIn("ownerReferences", rs["metadata"])
                pod = yield self.get_json("pod", "web-1-a")
                self.assertEqual(pod["metadata"]["ownerReferences"][0]["name"], "web-1")
            else:
                if mode == "background":
                    yield self.kubectl("wait", "--for=delete", "replicaset/web-1",
                                       "pod/web-1-a", "--timeout=60s", ok=False)
                self.assertTrue((yield self.gone("replicaset", "web-1")), mode)
                self.assertTrue((yield self.gone("pod", "web-1-a")), mode)
            yield self.kubectl("delete", "replicaset", "web-1", "--ignore-not-found")
            yield self.kubectl("delete", "pod", "web-1-a", "--ignore-not-found")

    @defer.inlineCallbacks
    def test_namespace_lifecycle_refusals(self):
        """Missing namespaces are 404; the system namespaces cannot be deleted."""
        _, err, code = yield self.kubectl("create", "configmap", "a", "-n", "nope", ok=False)
        self.assertNotEqual(code, 0)
        self.assertIn('namespaces "nope" not found', err)
        _, err, code = yield self.kubectl("delete", "namespace", "kube-system", ok=False)
        self.assertIn('Error from server (Forbidden): namespaces "kube-system" is forbidden: '
                      "this namespace may not be deleted", err)

    @defer.inlineCallbacks
    def test_every_namespace_gets_service_account_and_root_ca(self):
        """A new namespace gets the default ServiceAccount and kube-root-ca.crt with the CA."""
        yield self.kubectl("create", "namespace", "fresh")
        yield self.kubectl("wait", "--for=create", "serviceaccount/default",
                           "configmap/kube-root-ca.crt", "-n", "fresh", "--timeout=30s")
        cm = yield self.get_json("configmap", "kube-root-ca.crt", "-n", "fresh")
        with open(self.server.ca_cert) as f:
            self.assertEqual(cm["data"]["ca.crt"], f.read())
        yield self.kubectl("delete", "serviceaccount", "default", "-n", "fresh")
        yield self.kubectl("wait", "--for=create", "serviceaccount/default", "-n", "fresh",
                           "--timeout=30s")

    @defer.inlineCallbacks
    def test_bound_pod_terminates_until_forced(self):
        """A pod bound to a node stays Terminating (no kubelet) until deleted with --force."""
        yield self.kubectl("apply", "-f", "-", stdin=(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: bound}\n"
            "spec: {nodeName: node-1, containers: [{name: c, image: nginx}]}\n"))
        yield self.kubectl("delete", "pod", "bound", "--wait=false")
        out, _, _ = yield self.kubectl("get", "pod", "bound")
        self.assertIn("Terminating", out)
        pod = yield self.get_json("pod", "bound")
        self.assertEqual(pod["metadata"]["deletionGracePeriodSeconds"], 30)
        yield self.kubectl("delete", "pod", "bound", "--force", "--grace-period=0")
        self.assertTrue((yield self.gone("pod", "bound")))


    @defer.inlineCallbacks
    def test_delete_answers(self):
        """DELETE answers a Status when gone, the object when kept, 202 if orphanDependents=false."""
        base = "/api/v1/namespaces/default/configmaps/"
        for name in ("a", "b", "c"):
            yield self.kubectl("create", "configmap", name)

        @defer.inlineCallbacks
        def delete(name, options):
            code, body, _ = yield self.request_json("DELETE", base + name, options)
            return code, body

        code, body = yield delete("a", {"propagationPolicy": "Background"})
        self.assertEqual((code, body["kind"], body["status"], body["details"]["kind"]),
                         (200, "Status", "Success", "configmaps"))
        code, body = yield delete("b", {"propagationPolicy": "Orphan"})
        self.assertEqual((code, body["kind"], body["metadata"]["finalizers"]),
                         (200, "ConfigMap", ["orphan"]))
        yield self.kubectl("patch", "configmap", "c", "--type=merge",
                           "-p", '{"metadata":{"finalizers":["example.com/hold"]}}')
        code, body = yield delete("c", {"orphanDependents": False})
        self.assertEqual((code, body["kind"]), (202, "ConfigMap"))
        self.assertIn("deletionTimestamp", body["metadata"])


class CustomResourceDeletionE2ETests(ServerTestCase):
    """The same server with CRDs: custom resources are namespace content and GC citizens."""

    @defer.inlineCallbacks
    def setUp(self):
        yield super().setUp()
        yield self.kubectl("apply", "-f", "-", stdin=CRD)
        yield self.kubectl("wait", "--for=condition=Established",
                           "crd/widgets.example.com", "--timeout=30s")

    @defer.inlineCallbacks
    def test_namespace_deletion_removes_custom_resources(self):
        """Deleting a namespace deletes its custom resources, waiting for their finalizers."""
        yield self.kubectl("create", "namespace", "cr")
        yield self.kubectl("apply", "-f", "-", stdin=(
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"
            "  namespace: cr\n  finalizers: [example.com/hold]\n"))
        yield self.kubectl("delete", "namespace", "cr", "--wait=false")
        widget = yield self.get_json("widget", "w", "-n", "cr")
        self.assertIn("deletionTimestamp", widget["metadata"])
        ns = yield self.get_json("namespace", "cr")
        remaining = {c["type"]: c["message"] for c in ns["status"]["conditions"]}
        self.assertEqual(remaining["NamespaceContentRemaining"],
                         "Some resources are remaining: widgets.example.com has 1 resource "
                         "instances")
        yield self.kubectl("patch", "widget", "w", "-n", "cr", "--type=merge",
                           "-p", '{"metadata":{"finalizers":null}}')
        yield self.kubectl("wait", "--for=delete", "namespace/cr", "--timeout=60s")

    @defer.inlineCallbacks
    def test_custom_resource_collected_with_owner(self):
        """A custom resource owned by a ConfigMap goes when the ConfigMap is deleted."""
        yield self.kubectl("create", "configmap", "owner")
        owner = yield self.get_json("configmap", "owner")
        yield self.kubectl("apply", "-f", "-", stdin=(
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: owned\n"
            "  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: %s}]\n"
            % owner["metadata"]["uid"]))
        yield self.kubectl("delete", "configmap", "owner")
        yield self.kubectl("wait", "--for=delete", "widget/owned", "--timeout=30s")

    @defer.inlineCallbacks
    def test_custom_resource_in_missing_namespace_refused(self):
        """NamespaceLifecycle admission covers custom resources too."""
        yield self.kubectl("create", "namespace", "present")
        _, err, code = yield self.kubectl("apply", "-f", "-", ok=False, stdin=(
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: nope}\n"))
        self.assertNotEqual(code, 0)
        self.assertIn('namespaces "nope" not found', err)
