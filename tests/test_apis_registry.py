"""
Tests for L{kapi_twisted.apis.registry}: the built-in resource table.
"""

import json
import os
import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.apis import registry

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_DISCOVERY = os.path.join(_ROOT, "..", "shared", "reference", "discovery")


class ResourceTableTests(SynchronousTestCase):
    """The table holds what kube-apiserver 1.37 lists in discovery."""

    def test_core_resources(self):
        """The core group serves the resources `kubectl api-resources` lists for v1."""
        plurals = {r.plural for r in registry.resources_for("", "v1")}
        for name in ("namespaces", "configmaps", "secrets", "serviceaccounts", "services",
                     "endpoints", "pods", "podtemplates", "replicationcontrollers", "events",
                     "limitranges", "resourcequotas", "persistentvolumes",
                     "persistentvolumeclaims", "nodes", "bindings", "componentstatuses"):
            self.assertIn(name, plurals)

    def test_pods(self):
        """Pods are namespaced, in category all, with short name po and their subresources."""
        pods = registry.lookup("", "v1", "pods")
        self.assertEqual(pods.kind, "Pod")
        self.assertEqual(pods.singular, "pod")
        self.assertTrue(pods.namespaced)
        self.assertEqual(pods.short_names, ("po",))
        self.assertEqual(pods.categories, ("all",))
        self.assertEqual(pods.list_kind, "PodList")
        self.assertEqual(pods.verbs, ("create", "delete", "deletecollection", "get", "list",
                                      "patch", "update", "watch"))
        self.assertEqual(pods.storage_version_hash, "xPOwRZ+Yhw8=")
        eviction = pods.subresource("eviction")
        self.assertEqual((eviction.group, eviction.version, eviction.kind, eviction.verbs),
                         ("policy", "v1", "Eviction", ("create",)))
        self.assertEqual(pods.subresource("status").kind, "Pod")
        self.assertIsNotNone(pods.subresource("resize"))
        self.assertEqual(pods.path_prefix, "/api/v1")
        self.assertEqual(pods.group_version, "v1")

    def test_deployment_scale(self):
        """deployments/scale answers autoscaling/v1 Scale; status answers apps/v1 Deployment."""
        deploy = registry.by_kind("apps", "v1", "Deployment")
        self.assertEqual(deploy.plural, "deployments")
        self.assertEqual(deploy.short_names, ("deploy",))
        scale = deploy.subresource("scale")
        self.assertEqual((scale.group, scale.version, scale.kind), ("autoscaling", "v1", "Scale"))
        status = deploy.subresource("status")
        self.assertEqual((status.group, status.version, status.kind), ("apps", "v1", "Deployment"))
        self.assertEqual(deploy.group_resource, "deployments.apps")
        self.assertEqual(deploy.path_prefix, "/apis/apps/v1")

    def test_namespaces_cluster_scoped(self):
        """Namespaces are cluster-scoped and have no deletecollection, as in kube-apiserver."""
        ns = registry.lookup("", "v1", "namespaces")
        self.assertFalse(ns.namespaced)
        self.assertEqual(ns.scope, "Cluster")
        self.assertNotIn("deletecollection", ns.verbs)
        self.assertEqual([s.name for s in ns.subresources], ["finalize", "status"])

    def test_etcd_prefixes(self):
        """Storage keys use kube-apiserver's resourcePrefix, exceptions included."""
        expected = {
            ("", "replicationcontrollers"): "controllers",
            ("", "endpoints"): "services/endpoints",
            ("", "nodes"): "minions",
            ("", "services"): "services/specs",
            ("networking.k8s.io", "ingresses"): "ingress",
            ("apps", "deployments"): "deployments",
            ("rbac.authorization.k8s.io", "clusterroles"): "clusterroles",
            ("apiextensions.k8s.io", "customresourcedefinitions"):
                "apiextensions.k8s.io/customresourcedefinitions",
            ("apiregistration.k8s.io", "apiservices"): "apiregistration.k8s.io/apiservices",
        }
        for (group, plural), prefix in expected.items():
            [info] = [r for r in registry.all_resources()
                      if r.group == group and r.plural == plural][:1]
            self.assertEqual(info.etcd_prefix, prefix)

    def test_no_alpha_or_beta(self):
        """Only GA versions are served by default."""
        for group, versions in registry.group_versions():
            for v in versions:
                self.assertNotIn("alpha", v, group)
                self.assertNotIn("beta", v, group)

    def test_group_order(self):
        """Groups come in /apis order: core, apiregistration, apps, events... flowcontrol."""
        names = [g for g, _ in registry.group_versions()]
        self.assertEqual(names[:4], ["", "apiregistration.k8s.io", "apps", "events.k8s.io"])
        for group in ("autoscaling", "batch", "policy", "networking.k8s.io",
                      "coordination.k8s.io", "rbac.authorization.k8s.io", "storage.k8s.io",
                      "scheduling.k8s.io", "discovery.k8s.io", "admissionregistration.k8s.io",
                      "node.k8s.io", "certificates.k8s.io", "flowcontrol.apiserver.k8s.io",
                      "resource.k8s.io"):
            self.assertIn(group, names)
        self.assertLess(names.index("apps"), names.index("events.k8s.io"))
        self.assertNotIn("internal.apiserver.k8s.io", names)

    def test_preferred_versions(self):
        """autoscaling prefers v2 over v1; unknown groups have no preferred version."""
        self.assertEqual(dict(registry.group_versions())["autoscaling"], ("v2", "v1"))
        self.assertEqual(registry.preferred_version("autoscaling"), "v2")
        self.assertEqual(registry.preferred_version(""), "v1")
        self.assertIsNone(registry.preferred_version("example.com"))

    def test_leases(self):
        """Leases (leader election) are served at coordination.k8s.io/v1."""
        lease = registry.lookup("coordination.k8s.io", "v1", "leases")
        self.assertEqual(lease.kind, "Lease")
        self.assertTrue(lease.namespaced)

    def test_find_ambiguous(self):
        """'events' names the core resource before events.k8s.io, as kubectl resolves it."""
        found = [(r.group, r.plural) for r in registry.find("events")]
        self.assertEqual(found[0], ("", "events"))
        self.assertIn(("events.k8s.io", "events"), found)
        self.assertEqual([(r.group, r.version) for r in registry.find("hpa")][0],
                         ("autoscaling", "v2"))
        self.assertEqual([r.group for r in registry.find("deployments.apps")], ["apps"])

    def test_server_for(self):
        """CRDs belong to the apiextensions server, APIServices to the aggregator."""
        self.assertEqual(registry.server_for("apiextensions.k8s.io"), "apiextensions")
        self.assertEqual(registry.server_for("apiregistration.k8s.io"), "aggregator")
        self.assertEqual(registry.server_for("apps"), "kube")
        self.assertEqual(registry.server_for(""), "kube")

    def test_frozen(self):
        """Records are immutable."""
        info = registry.lookup("", "v1", "configmaps")
        self.assertRaises(Exception, setattr, info, "plural", "x")

    def test_unknown(self):
        """Unknown resources are None, not errors."""
        self.assertIsNone(registry.lookup("apps", "v1", "nope"))
        self.assertIsNone(registry.by_kind("apps", "v1beta1", "Deployment"))
        self.assertEqual(registry.resources_for("apps", "v1beta1"), ())

    def test_core_matches_legacy_fixture(self):
        """Every core resource of the published /api/v1 list is in the table with its facts."""
        if not os.path.isdir(_DISCOVERY):
            raise self.skipTest("the shared discovery fixtures are not beside the checkout")
        with open(os.path.join(_DISCOVERY, "api__v1.json")) as f:
            legacy = json.load(f)
        for entry in legacy["resources"]:
            if "/" in entry["name"]:
                parent, sub = entry["name"].split("/")
                self.assertIsNotNone(registry.lookup("", "v1", parent).subresource(sub))
                continue
            info = registry.lookup("", "v1", entry["name"])
            self.assertEqual(info.kind, entry["kind"])
            self.assertEqual(list(info.verbs), entry["verbs"])
            self.assertEqual(info.namespaced, entry["namespaced"])
            self.assertEqual(info.storage_version_hash, entry.get("storageVersionHash", ""))

    def test_generator_reproduces_table(self):
        """The committed table is exactly what tools/gen_resource_table.py makes."""
        if not os.path.isdir(_DISCOVERY):
            raise self.skipTest("the shared discovery fixtures are not beside the checkout")
        out = subprocess.run(
            [sys.executable, os.path.join(_ROOT, "tools", "gen_resource_table.py"), _DISCOVERY],
            check=True, stdout=subprocess.PIPE).stdout.decode()
        with open(os.path.join(_ROOT, "kapi_twisted", "apis", "_resource_table.py")) as f:
            self.assertEqual(out, f.read())

    def test_import_is_fast(self):
        """Importing the registry stays cheap: it pulls in no schema or protobuf tables."""
        code = ("import sys, kapi_twisted.apis.registry; "
                "print(any(m.startswith('kapi_twisted.apis._openapi') or "
                "m.startswith('kapi_twisted.apis._proto') for m in sys.modules))")
        out = subprocess.run([sys.executable, "-c", code], check=True, cwd=_ROOT,
                             stdout=subprocess.PIPE).stdout.decode().strip()
        self.assertEqual(out, "False")
