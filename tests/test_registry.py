"""The generic store: create, get, update, patch, delete and the metadata rules."""

import json

from twisted.internet import defer
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from kapi_twisted.registry.store import build_stores
from kapi_twisted.registry.interface import (
    DeleteOptions,
    GetOptions,
    IResourceStore,
    RequestContext,
    ListOptions,
    WriteOptions,
)
from kapi_twisted.registry.keys import KeyLayout
from kapi_twisted.apis.registry import lookup

from ._registry_helpers import RegistryTestCase

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def deployment_spec(replicas):
    return {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}}}


class StoreSurfaceTests(RegistryTestCase):
    def test_every_stored_resource_has_a_store(self):
        """Every built-in resource with storage gets a store; bindings and reviews do not."""
        self.assertIn(("apps", "v1", "deployments"), self.stores)
        self.assertIn(("autoscaling", "v1", "horizontalpodautoscalers"), self.stores)
        self.assertNotIn(("", "v1", "bindings"), self.stores)
        self.assertNotIn(("authorization.k8s.io", "v1", "subjectaccessreviews"), self.stores)
        for store in self.stores.values():
            verifyObject(IResourceStore, store)

    def test_keys_follow_etcd_layout(self):
        """Keys are /registry/<etcd prefix>/<namespace>/<name>, cluster-scoped without namespace."""
        self.assertEqual(KeyLayout(lookup("", "v1", "services")).key("ns", "a"),
                         "/registry/services/specs/ns/a")
        self.assertEqual(KeyLayout(lookup("", "v1", "nodes")).key("", "n1"),
                         "/registry/minions/n1")
        kv = self.cm("a")
        self.assertEqual(kv.kv.key, "/registry/configmaps/default/a")


class CreateTests(RegistryTestCase):
    def test_create_sets_system_fields(self):
        """A create answers 201 with uid, creationTimestamp and the storage revision."""
        result = self.cm("a")
        self.assertTrue(result.created)
        meta = result.kv.object["metadata"]
        self.assertEqual(meta["creationTimestamp"], "2023-11-14T22:13:20Z")
        self.assertEqual(len(meta["uid"]), 36)
        self.assertEqual(meta["resourceVersion"], str(result.kv.mod_revision))
        self.assertEqual(meta["namespace"], "default")
        self.assertNotIn("generation", meta)
        stored = json.loads(result.kv.value)
        self.assertNotIn("resourceVersion", stored["metadata"])
        self.assertEqual(list(stored)[:3], ["apiVersion", "kind", "metadata"])

    def test_create_ignores_client_system_fields(self):
        """uid, creationTimestamp and deletionTimestamp from the client are replaced or dropped."""
        result = self.create("configmaps", "default", {"metadata": {
            "name": "a", "uid": "mine", "creationTimestamp": "2000-01-01T00:00:00Z",
            "deletionTimestamp": "2000-01-01T00:00:00Z", "generation": 7}})
        meta = result.kv.object["metadata"]
        self.assertNotEqual(meta["uid"], "mine")
        self.assertEqual(meta["creationTimestamp"], "2023-11-14T22:13:20Z")
        self.assertNotIn("deletionTimestamp", meta)
        self.assertNotIn("generation", meta)

    def test_generation_starts_at_one_for_workloads(self):
        """A Deployment starts at generation 1 with an empty status."""
        result = self.create("deployments", "default", {
            "metadata": {"name": "web"}, "spec": deployment_spec(1), "status": {"replicas": 9}},
            group="apps")
        self.assertEqual(result.kv.object["metadata"]["generation"], 1)
        self.assertEqual(result.kv.object["status"], {})

    def test_invalid_name_is_422(self):
        """A bad name is 422 Invalid with kube's exact message and one cause."""
        err = self.error(self.store("configmaps").create(
            self.ctx, "default", {"metadata": {"name": "Bad_Name"}}, WriteOptions()))
        self.assertEqual(err.code, 422)
        self.assertEqual(err.message,
                         'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: '
                         '"Bad_Name": ' + SUBDOMAIN_MSG)
        self.assertEqual(err.status()["details"], {
            "name": "Bad_Name", "kind": "ConfigMap",
            "causes": [{"reason": "FieldValueInvalid", "field": "metadata.name",
                        "message": 'Invalid value: "Bad_Name": ' + SUBDOMAIN_MSG}]})

    def test_missing_name_is_required(self):
        """No name and no generateName is 422 'name or generateName is required'."""
        err = self.error(self.store("configmaps").create(
            self.ctx, "default", {"metadata": {}}, WriteOptions()))
        self.assertEqual(err.message, 'ConfigMap "" is invalid: metadata.name: Required '
                                      'value: name or generateName is required')

    def test_name_rules_per_kind(self):
        """Namespaces need a DNS label, Services a DNS-1035 label, RBAC only a path segment."""
        err = self.error(self.store("namespaces").create(
            self.ctx, "", {"metadata": {"name": "a.b"}}, WriteOptions()))
        self.assertEqual(err.message, 'Namespace "a.b" is invalid: metadata.name: Invalid value: '
                                      '"a.b": must not contain dots')
        err = self.error(self.store("services").create(
            self.ctx, "default", {"metadata": {"name": "1abc"}}, WriteOptions()))
        self.assertEqual(
            err.message,
            'Service "1abc" is invalid: metadata.name: Invalid value: "1abc": a DNS-1035 label '
            "must consist of lower case alphanumeric characters or '-', start with an "
            "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
            "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
        role = self.create("clusterroles", "", {"metadata": {"name": "system:Admin"}},
                           group="rbac.authorization.k8s.io")
        self.assertEqual(role.kv.object["metadata"]["name"], "system:Admin")
        err = self.error(self.store("clusterroles", "rbac.authorization.k8s.io").create(
            self.ctx, "", {"metadata": {"name": "a/b"}}, WriteOptions()))
        self.assertEqual(err.message, 'ClusterRole.rbac.authorization.k8s.io "a/b" is invalid: '
                                      "metadata.name: Invalid value: \"a/b\": may not contain '/'")
        err = self.error(self.store("clusterroles", "rbac.authorization.k8s.io").create(
            self.ctx, "", {"metadata": {"name": ".."}}, WriteOptions()))
        self.assertIn("may not be '..'", err.message)

    def test_generate_name(self):
        """generateName gives base + 5 characters from kube's alphabet, base cut to 58."""
        result = self.create("configmaps", "default", {"metadata": {"generateName": "x" * 70}})
        name = result.kv.object["metadata"]["name"]
        self.assertEqual(len(name), 63)
        self.assertTrue(name.startswith("x" * 58))
        self.assertTrue(set(name[58:]) <= set("bcdfghjklmnpqrstvwxz2456789"))

    def test_generate_name_retries_collisions(self):
        """A generated name that is taken is generated again."""
        import kapi_twisted.registry.store as store_module
        names = iter(["b", "b", "c"])
        self.patch(store_module, "_generate_name", lambda base: base + next(names))
        self.create("configmaps", "default", {"metadata": {"generateName": "a-"}})
        second = self.create("configmaps", "default", {"metadata": {"generateName": "a-"}})
        self.assertEqual(second.kv.object["metadata"]["name"], "a-c")

    def test_duplicate_is_409(self):
        """Creating a taken name is 409 AlreadyExists."""
        self.cm("a")
        err = self.error(self.store("configmaps").create(
            self.ctx, "default", {"metadata": {"name": "a"}}, WriteOptions()))
        self.assertEqual((err.code, err.reason, err.message),
                         (409, "AlreadyExists", 'configmaps "a" already exists'))
        self.assertEqual(err.details, {"name": "a", "kind": "configmaps"})

    def test_namespace_mismatch_is_400(self):
        """A body namespace other than the URL's is 400; an empty one is filled in."""
        err = self.error(self.store("configmaps").create(
            self.ctx, "default", {"metadata": {"name": "a", "namespace": "other"}},
            WriteOptions()))
        self.assertEqual((err.code, err.message), (400, (
            "the namespace of the provided object does not match the namespace sent on the "
            "request")))

    def test_cluster_scoped_drops_namespace(self):
        """A namespace in the body of a cluster-scoped object is dropped."""
        result = self.create("namespaces", "", {"metadata": {"name": "x", "namespace": "y"}})
        self.assertNotIn("namespace", result.kv.object["metadata"])

    def test_wrong_kind_is_400(self):
        """A body of another kind is 400, worded as kube's decoder words it."""
        err = self.error(self.store("configmaps").create(
            self.ctx, "default", {"apiVersion": "v1", "kind": "Pod",
                                  "metadata": {"name": "a"}}, WriteOptions()))
        self.assertEqual(err.code, 400)
        self.assertTrue(err.message.startswith(
            'Pod in version "v1" cannot be handled as a ConfigMap: '), err.message)
        err = self.error(self.store("deployments", "apps").create(
            self.ctx, "default", {"apiVersion": "apps/v2", "kind": "Deployment",
                                  "metadata": {"name": "a"}}, WriteOptions()))
        self.assertEqual(err.message, "the API version in the data (apps/v2) does not match "
                                      "the expected API version (apps/v1)")

    def test_resource_version_on_create_is_400(self):
        """A create carrying a resourceVersion is refused."""
        err = self.error(self.store("configmaps").create(
            self.ctx, "default", {"metadata": {"name": "a", "resourceVersion": "5"}},
            WriteOptions()))
        self.assertEqual((err.code, err.message),
                         (400, "resourceVersion should not be set on objects to be created"))

    def test_labels_and_annotations_validated(self):
        """Bad label keys and values, and annotations over 256 KiB, are 422 with one cause each."""
        err = self.error(self.store("configmaps").create(self.ctx, "default", {"metadata": {
            "name": "a", "labels": {"-bad": "ok", "good": "bad value"}}}, WriteOptions()))
        causes = err.details["causes"]
        self.assertEqual([c["field"] for c in causes], ["metadata.labels", "metadata.labels"])
        self.assertEqual(causes[0]["message"], (
            "Invalid value: \"-bad\": name part must consist of alphanumeric characters, '-', "
            "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  "
            "or 'my.name',  or '123-abc', regex used for validation is "
            "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"))
        self.assertTrue(err.message.startswith('ConfigMap "a" is invalid: [metadata.labels: '))
        err = self.error(self.store("configmaps").create(self.ctx, "default", {"metadata": {
            "name": "a", "annotations": {"big": "x" * (256 * 1024)}}}, WriteOptions()))
        self.assertEqual(err.message, 'ConfigMap "a" is invalid: metadata.annotations: '
                                      "Too long: may not be more than 262144 bytes")

    def test_owner_references_required_fields(self):
        """An ownerReference without uid and name is 422."""
        err = self.error(self.store("configmaps").create(self.ctx, "default", {"metadata": {
            "name": "a", "ownerReferences": [{"apiVersion": "v1", "kind": "Pod"}]}},
            WriteOptions()))
        self.assertEqual([c["field"] for c in err.details["causes"]],
                         ["metadata.ownerReferences.name", "metadata.ownerReferences.uid"])

    def test_namespace_and_pod_initial_status(self):
        """A Namespace starts Active with the kubernetes finalizer; a Pod starts Pending."""
        ns = self.create("namespaces", "", {"metadata": {"name": "x"}}).kv.object
        self.assertEqual(ns["status"], {"phase": "Active"})
        self.assertEqual(ns["spec"], {"finalizers": ["kubernetes"]})
        pod = self.create("pods", "default", {"metadata": {"name": "p"}, "spec": {
            "containers": [{"name": "c", "image": "i"}]}, "status": {"phase": "Running"}})
        self.assertEqual(pod.kv.object["status"], {"phase": "Pending", "qosClass": "BestEffort"})

    def test_unknown_fields_warn_and_are_pruned(self):
        """By default an unknown field is a warning and is not stored."""
        result = self.create("configmaps", "default", {"metadata": {"name": "a", "x": 1},
                                                       "spec": {"foo": 1}})
        self.assertEqual(self.ctx.warnings, ['unknown field "metadata.x"', 'unknown field "spec"'])
        self.assertNotIn("spec", result.kv.object)
        self.assertNotIn("x", result.kv.object["metadata"])

    def test_unknown_fields_strict_is_400(self):
        """fieldValidation=Strict refuses unknown fields with kube's strict decoding message."""
        err = self.error(self.store("deployments", "apps").create(
            self.ctx, "default", {"metadata": {"name": "a"}, "spec": {"foo": 1}},
            WriteOptions(field_validation="Strict")))
        self.assertEqual((err.code, err.message), (400, (
            'Deployment in version "v1" cannot be handled as a Deployment: strict decoding '
            'error: unknown field "spec.foo"')))

    def test_unknown_fields_ignore(self):
        """fieldValidation=Ignore drops unknown fields silently."""
        self.create("configmaps", "default", {"metadata": {"name": "a"}, "foo": 1},
                    field_validation="Ignore")
        self.assertEqual(self.ctx.warnings, [])

    def test_write_options_validated(self):
        """A fieldManager over 128 characters or an unknown fieldValidation is 422."""
        err = self.error(self.store("configmaps").create(
            self.ctx, "default", {"metadata": {"name": "a"}},
            WriteOptions(field_manager="m" * 129)))
        self.assertEqual((err.code, err.message), (422, (
            'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more '
            'than 128 bytes')))
        self.assertEqual(err.details["group"], "meta.k8s.io")
        err = self.error(self.store("configmaps").create(
            self.ctx, "default", {"metadata": {"name": "a"}},
            WriteOptions(field_validation="Loud")))
        self.assertEqual(err.message, (
            'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: '
            '"Loud": supported values: "Ignore", "Warn", "Strict"'))

    def test_dry_run_create_stores_nothing(self):
        """A dry-run create answers the would-be object and stores nothing."""
        before = self.ok(self.storage.current_revision())
        result = self.create("configmaps", "default", {"metadata": {"name": "a"}}, dry_run=True)
        self.assertTrue(result.created)
        self.assertIsNone(result.kv)
        self.assertEqual(result.object["metadata"]["name"], "a")
        self.assertEqual(self.ok(self.storage.current_revision()), before)
        self.error(self.store("configmaps").get(self.ctx, "default", "a", GetOptions()))

    def test_dry_run_create_sees_conflicts(self):
        """A dry-run create of a taken name is still 409."""
        self.cm("a")
        err = self.error(self.store("configmaps").create(
            self.ctx, "default", {"metadata": {"name": "a"}}, WriteOptions(dry_run=True)))
        self.assertEqual(err.code, 409)


class GetTests(RegistryTestCase):
    def test_get_missing_is_404(self):
        """A missing object is 404 with kube's message, group-qualified outside core."""
        err = self.error(self.store("configmaps").get(self.ctx, "default", "x", GetOptions()))
        self.assertEqual((err.code, err.reason, err.message),
                         (404, "NotFound", 'configmaps "x" not found'))
        err = self.error(self.store("deployments", "apps").get(
            self.ctx, "default", "x", GetOptions()))
        self.assertEqual(err.message, 'deployments.apps "x" not found')
        self.assertEqual(err.details, {"name": "x", "group": "apps", "kind": "deployments"})

    def test_get_returns_stored_bytes(self):
        """GET answers the stored key-value; its bytes carry the resourceVersion."""
        created = self.cm("a")
        kv = self.ok(self.store("configmaps").get(self.ctx, "default", "a", GetOptions()))
        self.assertEqual(kv.data, created.kv.data)

    def test_shared_prefix_presents_requested_version(self):
        """An HPA written as autoscaling/v2 reads as autoscaling/v1 through the v1 store."""
        self.create("horizontalpodautoscalers", "default", {
            "metadata": {"name": "h"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"}, "maxReplicas": 3}},
            group="autoscaling", version="v2")
        kv = self.ok(self.store("horizontalpodautoscalers", "autoscaling", "v1").get(
            self.ctx, "default", "h", GetOptions()))
        self.assertEqual(kv.object["apiVersion"], "autoscaling/v1")
        page = self.ok(self.store("horizontalpodautoscalers", "autoscaling", "v1").list(
            self.ctx, "default", ListOptions()))
        self.assertEqual(page.items[0].object["apiVersion"], "autoscaling/v1")


class UpdateTests(RegistryTestCase):
    def update(self, name, obj, namespace="default", plural="configmaps", group="",
               subresource="", **options):
        return self.store(plural, group).update(self.ctx, namespace, name, obj,
                                                WriteOptions(**options), subresource)

    def test_update_with_current_version(self):
        """A PUT with the current resourceVersion writes and bumps it."""
        first = self.cm("a").kv
        result = self.ok(self.update("a", {"metadata": {
            "name": "a", "resourceVersion": first.object["metadata"]["resourceVersion"]},
            "data": {"k": "2"}}))
        self.assertGreater(result.kv.mod_revision, first.mod_revision)
        self.assertEqual(result.kv.object["data"], {"k": "2"})
        self.assertEqual(result.kv.object["metadata"]["uid"], first.object["metadata"]["uid"])
        self.assertFalse(result.created)

    def test_stale_version_is_409(self):
        """A PUT with an old resourceVersion is 409 Conflict with kube's message."""
        first = self.cm("a").kv
        self.ok(self.update("a", {"metadata": {"name": "a"}, "data": {"k": "2"}}))
        err = self.error(self.update("a", {"metadata": {
            "name": "a", "resourceVersion": first.object["metadata"]["resourceVersion"]},
            "data": {"k": "3"}}))
        self.assertEqual((err.code, err.reason, err.message), (409, "Conflict", (
            'Operation cannot be fulfilled on configmaps "a": the object has been modified; '
            "please apply your changes to the latest version and try again")))

    def test_unconditional_update(self):
        """A PUT without resourceVersion overwrites whatever is stored."""
        self.cm("a")
        result = self.ok(self.update("a", {"metadata": {"name": "a"}, "data": {"k": "9"}}))
        self.assertEqual(result.kv.object["data"], {"k": "9"})

    def test_noop_update_writes_nothing(self):
        """An update that changes nothing keeps the resourceVersion and sends no event."""
        first = self.cm("a", data={"k": "v"}).kv
        events = []
        self.ok(self.store("configmaps").watch(
            self.ctx, "default", ListOptions(resource_version=str(first.mod_revision)),
            events.append))
        self.clock.advance(0)
        result = self.ok(self.update("a", {"data": {"k": "v"}, "metadata": {"name": "a"}}))
        self.clock.advance(0)
        self.assertEqual(result.kv.mod_revision, first.mod_revision)
        self.assertEqual(events, [])

    def test_missing_object_is_404(self):
        """A PUT of a missing ConfigMap is 404."""
        err = self.error(self.update("x", {"metadata": {"name": "x"}}))
        self.assertEqual(err.message, 'configmaps "x" not found')

    def test_create_on_update_where_allowed(self):
        """A PUT of a missing Lease creates it (201)."""
        result = self.ok(self.update("l", {"metadata": {"name": "l"}, "spec": {}},
                                     plural="leases", group="coordination.k8s.io"))
        self.assertTrue(result.created)

    def test_name_mismatch_is_400(self):
        """A body name other than the URL's is 400."""
        self.cm("a")
        err = self.error(self.update("a", {"metadata": {"name": "b"}}))
        self.assertEqual((err.code, err.message), (
            400, "the name of the object (b) does not match the name on the URL (a)"))

    def test_immutable_fields(self):
        """Changing uid is 422 'field is immutable'; a changed creationTimestamp is ignored."""
        first = self.cm("a").kv.object["metadata"]
        err = self.error(self.update("a", {"metadata": {"name": "a", "uid": "other"}}))
        self.assertEqual(err.code, 422)
        self.assertEqual(err.message, 'ConfigMap "a" is invalid: metadata.uid: Invalid value: '
                                      '"other": field is immutable')
        r = self.ok(self.update("a", {"metadata": {
            "name": "a", "creationTimestamp": "2023-11-14T22:13:20.000+00:00"},
            "data": {"k": "v"}}))
        self.assertEqual(r.kv.object["metadata"]["creationTimestamp"],
                         first["creationTimestamp"])
        err = self.error(self.update("a", {"metadata": {
            "name": "a", "deletionTimestamp": "2023-11-14T22:13:20Z"}}))
        self.assertIn("metadata.deletionTimestamp: Invalid value: \"2023-11-14T22:13:20Z\": "
                      "field is immutable", err.message)

    def test_generation_bumps_on_spec_change_only(self):
        """A Deployment's generation grows on spec changes, not on label changes."""
        self.create("deployments", "default", {"metadata": {"name": "d"}, "spec": deployment_spec(1)},
            group="apps")
        r = self.ok(self.update("d", {"metadata": {"name": "d", "labels": {"a": "b"}},
                                      "spec": deployment_spec(1)},
                                plural="deployments", group="apps"))
        self.assertEqual(r.kv.object["metadata"]["generation"], 1)
        r = self.ok(self.update("d", {"metadata": {"name": "d", "generation": 40},
                                      "spec": deployment_spec(2)},
                                plural="deployments", group="apps"))
        self.assertEqual(r.kv.object["metadata"]["generation"], 2)

    def test_status_split(self):
        """A main write keeps the stored status; a status write keeps everything else."""
        self.create("deployments", "default", {"metadata": {"name": "d"}, "spec": deployment_spec(1)},
            group="apps")
        r = self.ok(self.update("d", {"metadata": {"name": "d"}, "spec": deployment_spec(2),
                                      "status": {"replicas": 7}},
                                plural="deployments", group="apps"))
        self.assertEqual(r.kv.object["status"], {})
        r = self.ok(self.update("d", {"metadata": {"name": "d", "labels": {"x": "y"}},
                                      "spec": deployment_spec(5), "status": {"replicas": 7}},
                                plural="deployments", group="apps", subresource="status"))
        self.assertEqual(r.kv.object["status"], {"replicas": 7})
        self.assertEqual(r.kv.object["spec"]["replicas"], 2)
        self.assertNotIn("labels", r.kv.object["metadata"])
        self.assertEqual(r.kv.object["metadata"]["generation"], 2)

    def test_dry_run_update_stores_nothing(self):
        """A dry-run update answers the would-be object and leaves the stored one alone."""
        first = self.cm("a", data={"k": "v"}).kv
        r = self.ok(self.update("a", {"metadata": {"name": "a"}, "data": {"k": "new"}},
                                dry_run=True))
        self.assertEqual(r.object["data"], {"k": "new"})
        kv = self.ok(self.store("configmaps").get(self.ctx, "default", "a", GetOptions()))
        self.assertEqual(kv.mod_revision, first.mod_revision)

    def test_patch_applies_and_retries(self):
        """A patch reads, applies the function and writes; a patch setting an old RV is 409."""
        first = self.cm("a", data={"k": "v"}).kv

        def add(obj):
            obj["data"]["extra"] = "1"
            return obj

        store = self.store("configmaps")
        r = self.ok(store.patch(self.ctx, "default", "a", add, WriteOptions()))
        self.assertEqual(r.kv.object["data"], {"k": "v", "extra": "1"})

        def stale(obj):
            obj["metadata"]["resourceVersion"] = str(first.mod_revision)
            return obj

        err = self.error(store.patch(self.ctx, "default", "a", stale, WriteOptions()))
        self.assertEqual(err.code, 409)
        err = self.error(store.patch(self.ctx, "default", "zz", add, WriteOptions()))
        self.assertEqual(err.code, 404)


class DeleteTests(RegistryTestCase):
    def delete(self, name, plural="configmaps", namespace="default", **options):
        return self.store(plural).delete(self.ctx, namespace, name, DeleteOptions(**options))

    def test_delete_removes_at_once(self):
        """Without finalizers a delete removes the object; a second delete is 404."""
        self.cm("a")
        result = self.ok(self.delete("a"))
        self.assertTrue(result.finished)
        self.assertEqual(result.kv.object["metadata"]["name"], "a")
        self.assertEqual(self.error(self.delete("a")).code, 404)

    def test_finalizers_hold_the_object(self):
        """With finalizers a delete marks the object; removing the last finalizer deletes it."""
        self.create("configmaps", "default", {"metadata": {"name": "a",
                                                           "finalizers": ["x.io/f"]}})
        result = self.ok(self.delete("a"))
        self.assertFalse(result.finished)
        meta = result.kv.object["metadata"]
        self.assertEqual(meta["deletionTimestamp"], "2023-11-14T22:13:20Z")
        self.assertEqual(meta["deletionGracePeriodSeconds"], 0)
        again = self.ok(self.delete("a"))
        self.assertEqual(again.kv.mod_revision, result.kv.mod_revision)
        store = self.store("configmaps")
        err = self.error(store.update(self.ctx, "default", "a", {"metadata": {
            "name": "a", "finalizers": ["x.io/f", "y.io/g"]}}, WriteOptions()))
        self.assertEqual(err.code, 422)
        self.assertIn("no new finalizers can be added if the object is being deleted", err.message)
        r = self.ok(store.update(self.ctx, "default", "a", {"metadata": {"name": "a"}},
                                 WriteOptions()))
        self.assertEqual(r.kv.object["metadata"]["name"], "a")
        self.assertEqual(self.error(store.get(self.ctx, "default", "a", GetOptions())).code, 404)

    def test_preconditions(self):
        """A uid or resourceVersion precondition that does not hold is 409."""
        self.cm("a")
        err = self.error(self.delete("a", precondition_uid="nope"))
        self.assertEqual(err.code, 409)
        self.assertTrue(err.message.startswith(
            'Operation cannot be fulfilled on ConfigMap "a": the UID in the precondition (nope) '
            "does not match the UID in record ("), err.message)
        err = self.error(self.delete("a", precondition_resource_version="999"))
        self.assertEqual(err.code, 409)

    def test_dry_run_delete_keeps_object(self):
        """A dry-run delete answers as a delete would and removes nothing."""
        self.cm("a")
        self.assertTrue(self.ok(self.delete("a", dry_run=True)).finished)
        self.ok(self.store("configmaps").get(self.ctx, "default", "a", GetOptions()))

    def test_delete_collection_with_selector(self):
        """deletecollection removes only what the selector picks and lists it."""
        self.cm("a", labels={"app": "x"})
        self.cm("b", labels={"app": "y"})
        store = self.store("configmaps")
        page = self.ok(store.delete_collection(self.ctx, "default",
                                               ListOptions(label_selector="app=x"),
                                               DeleteOptions()))
        self.assertEqual([kv.object["metadata"]["name"] for kv in page.items], ["a"])
        left = self.ok(store.list(self.ctx, "default", ListOptions()))
        self.assertEqual([kv.object["metadata"]["name"] for kv in left.items], ["b"])

    def test_pods_return_deleted_object(self):
        """Pods answer a finished delete with the object; configmaps do not."""
        self.assertTrue(self.store("pods").returns_deleted_object)
        self.assertFalse(self.store("configmaps").returns_deleted_object)


class SubresourceAndOptionTests(RegistryTestCase):
    def test_namespace_finalize_subresource(self):
        """Only the finalize subresource changes a namespace's spec.finalizers."""
        self.create("namespaces", "", {"metadata": {"name": "x"}})
        store = self.store("namespaces")
        r = self.ok(store.update(self.ctx, "", "x", {"metadata": {"name": "x"},
                                                     "spec": {"finalizers": []}}, WriteOptions()))
        self.assertEqual(r.kv.object["spec"], {"finalizers": ["kubernetes"]})
        r = self.ok(store.update(self.ctx, "", "x", {"metadata": {"name": "x", "labels": {"a": "b"}},
                                                     "spec": {"finalizers": []}}, WriteOptions(),
                                 "finalize"))
        self.assertEqual(r.kv.object["spec"], {"finalizers": []})
        self.assertEqual(r.kv.object["metadata"]["labels"],
                         {"kubernetes.io/metadata.name": "x"})

    def test_delete_options_validated(self):
        """An unknown propagationPolicy, or one with orphanDependents, is 422 on DeleteOptions."""
        self.cm("a")
        store = self.store("configmaps")
        err = self.error(store.delete(self.ctx, "default", "a",
                                      DeleteOptions(propagation_policy="Sideways")))
        self.assertEqual((err.code, err.message), (422, (
            'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
            '"Sideways": supported values: "Foreground", "Background", "Orphan", "nil"')))
        err = self.error(store.delete(self.ctx, "default", "a", DeleteOptions(
            propagation_policy="Orphan", orphan_dependents=True)))
        self.assertIn("orphanDependents and deletionPropagation cannot be both set", err.message)

    def test_create_on_update_kinds(self):
        """Services, Endpoints, Events, RBAC and Leases may be created by PUT; ConfigMaps not."""
        allowed = {(s.info.group, s.info.plural) for s in self.stores.values()
                   if s.strategy.allow_create_on_update}
        for key in [("", "services"), ("", "endpoints"), ("", "events"),
                    ("rbac.authorization.k8s.io", "roles"), ("coordination.k8s.io", "leases")]:
            self.assertIn(key, allowed)
        self.assertNotIn(("", "configmaps"), allowed)
        self.assertNotIn(("apps", "deployments"), allowed)

    def test_versioned_put_of_missing_creates(self):
        """A PUT with a resourceVersion of a missing Lease creates it, as kube does."""
        r = self.ok(self.store("leases", "coordination.k8s.io").update(
            self.ctx, "default", "l", {"metadata": {"name": "l", "resourceVersion": "3"}},
            WriteOptions()))
        self.assertTrue(r.created)
        self.assertNotEqual(r.kv.object["metadata"]["resourceVersion"], "3")

    def test_create_over_terminating_object(self):
        """Creating a name whose object is terminating says so."""
        self.create("configmaps", "default", {"metadata": {"name": "a",
                                                           "finalizers": ["x.io/f"]}})
        self.ok(self.store("configmaps").delete(self.ctx, "default", "a", DeleteOptions()))
        err = self.error(self.store("configmaps").create(
            self.ctx, "default", {"metadata": {"name": "a"}}, WriteOptions()))
        self.assertEqual(err.message, 'object is being deleted: configmaps "a" already exists')

    def test_metadata_of_wrong_type_is_400(self):
        """Metadata of the wrong JSON type is 400 with Go's decoding message."""
        err = self.error(self.store("configmaps").create(
            self.ctx, "default", {"metadata": {"name": "a", "labels": {"x": 1}}},
            WriteOptions()))
        self.assertEqual((err.code, err.message), (400, (
            'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal '
            "number into Go struct field ObjectMeta.metadata.labels of type string")))

    def test_null_label_and_annotation_values_are_empty(self):
        """A null label or annotation value is stored and answered as "", as Go decodes it."""
        r = self.create("configmaps", "default", {"metadata": {
            "name": "a", "labels": {"x": None}, "annotations": {"y": None}}})
        meta = r.kv.object["metadata"]
        self.assertEqual((meta["labels"], meta["annotations"]), ({"x": ""}, {"y": ""}))
        r = self.ok(self.store("configmaps").update(self.ctx, "default", "a", {"metadata": {
            "name": "a", "labels": {"x": "1", "z": None}}}, WriteOptions()))
        self.assertEqual(r.kv.object["metadata"]["labels"], {"x": "1", "z": ""})

    def test_null_finalizer_and_owner_reference_are_invalid(self):
        """A null finalizer or owner reference is 422 (Go decodes it to "" or an empty reference), not 400."""
        err = self.error(self.store("configmaps").create(
            self.ctx, "default", {"metadata": {"name": "a", "finalizers": [None]}},
            WriteOptions()))
        self.assertEqual(err.code, 422)
        self.assertEqual(err.details["causes"][0], {
            "reason": "FieldValueInvalid", "field": "metadata.finalizers",
            "message": 'Invalid value: "": name part must be non-empty'})
        err = self.error(self.store("configmaps").create(
            self.ctx, "default", {"metadata": {"name": "a", "ownerReferences": [None]}},
            WriteOptions()))
        self.assertEqual(err.code, 422)
        self.assertIn("metadata.ownerReferences.apiVersion",
                      [c["field"] for c in err.details["causes"]])

    def test_pod_resize_and_ephemeral_containers(self):
        """pods/resize changes only container resources; ephemeralcontainers only that list."""
        self.create("pods", "default", {"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "c", "image": "old"}]}})
        store = self.store("pods")
        body = {"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "c", "image": "new", "resources": {"limits": {"cpu": "1"}}}]}}
        r = self.ok(store.update(self.ctx, "default", "p", body, WriteOptions(), "resize"))
        container = r.kv.object["spec"]["containers"][0]
        self.assertEqual((container["image"], container["resources"]),
                         ("old", {"limits": {"cpu": "1"}}))
        body = {"metadata": {"name": "p"}, "spec": {"containers": [], "ephemeralContainers": [
            {"name": "debug", "image": "busybox"}]}}
        r = self.ok(store.update(self.ctx, "default", "p", body, WriteOptions(),
                                 "ephemeralcontainers"))
        self.assertEqual(len(r.kv.object["spec"]["containers"]), 1)
        self.assertEqual(r.kv.object["spec"]["ephemeralContainers"][0]["name"], "debug")


class WorkloadValidationTests(RegistryTestCase):
    def test_selector_required_and_matching(self):
        """A Deployment without a selector is 422 with both of kube's causes."""
        err = self.error(self.store("deployments", "apps").create(
            self.ctx, "default", {"metadata": {"name": "d"}, "spec": {
                "template": {"metadata": {"labels": {"app": "x"}}}}}, WriteOptions()))
        self.assertEqual(err.message, (
            'Deployment.apps "d" is invalid: [spec.selector: Required value, '
            'spec.template.metadata.labels: Invalid value: {"app":"x"}: `selector` does not '
            "match template `labels`]"))
        self.assertEqual(err.details["group"], "apps")

    def test_selector_mismatch_and_empty(self):
        """A selector that misses the template labels, or an empty one, is 422."""
        err = self.error(self.store("statefulsets", "apps").create(
            self.ctx, "default", {"metadata": {"name": "s"}, "spec": {
                "selector": {}, "template": {"metadata": {"labels": {"app": "x"}}}}},
            WriteOptions()))
        self.assertIn("spec.selector: Invalid value: {}: empty selector is invalid for "
                      "statefulset", err.message)

    def test_selector_is_immutable(self):
        """Changing a Deployment's selector is 422 'field is immutable'."""
        self.create("deployments", "default", {"metadata": {"name": "d"},
                                               "spec": deployment_spec(1)}, group="apps")
        spec = deployment_spec(1)
        spec["selector"]["matchLabels"]["tier"] = "fe"
        spec["template"]["metadata"]["labels"]["tier"] = "fe"
        err = self.error(self.store("deployments", "apps").update(
            self.ctx, "default", "d", {"metadata": {"name": "d"}, "spec": spec}, WriteOptions()))
        self.assertEqual(err.message, (
            'Deployment.apps "d" is invalid: spec.selector: Invalid value: '
            '{"matchLabels":{"app":"web","tier":"fe"}}: field is immutable'))


class SharedPrefixTests(RegistryTestCase):
    def test_events_read_through_both_groups(self):
        """A core Event reads as an events.k8s.io Event (regarding, note) and back."""
        self.create("events", "default", {"metadata": {"name": "e"}, "involvedObject": {
            "kind": "Pod", "name": "p"}, "message": "hello", "reason": "Started",
            "type": "Normal", "source": {"component": "kubelet"}})
        new = self.ok(self.store("events", "events.k8s.io").get(
            self.ctx, "default", "e", GetOptions())).object
        self.assertEqual(new["apiVersion"], "events.k8s.io/v1")
        self.assertEqual(new["regarding"], {"kind": "Pod", "name": "p"})
        self.assertEqual(new["note"], "hello")
        self.assertEqual(new["deprecatedSource"], {"component": "kubelet"})
        self.create("events", "default", {"metadata": {"name": "f"}, "regarding": {
            "kind": "Node", "name": "n"}, "note": "hi", "reason": "R", "type": "Normal",
            "eventTime": "2023-11-14T22:13:20.000000Z", "reportingController": "c",
            "reportingInstance": "i", "action": "A"}, group="events.k8s.io")
        page = self.ok(self.store("events").list(self.ctx, "default", ListOptions(
            field_selector="involvedObject.kind=Node")))
        self.assertEqual([kv.object["message"] for kv in page.items], ["hi"])

    def test_hpa_cpu_target_converts(self):
        """An autoscaling/v1 CPU target reads as a v2 Utilization metric and back."""
        self.create("horizontalpodautoscalers", "default", {"metadata": {"name": "h"}, "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "d"}, "maxReplicas": 3,
            "targetCPUUtilizationPercentage": 50}}, group="autoscaling", version="v1")
        v2 = self.ok(self.store("horizontalpodautoscalers", "autoscaling", "v2").get(
            self.ctx, "default", "h", GetOptions())).object
        self.assertEqual(v2["spec"]["metrics"], [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}])
        self.assertNotIn("targetCPUUtilizationPercentage", v2["spec"])


class RacingWriterTests(RegistryTestCase):
    def race_once(self, write):
        """Make the storage run C{write} just before the store's next compare-and-swap."""
        original = self.storage.update
        fired = []

        def update(key, value, expected):
            if not fired:
                fired.append(True)
                self.ok(write())
            return original(key, value, expected)

        self.patch(self.storage, "update", update)

    def test_patch_retries_on_conflict(self):
        """A patch that loses a race is re-applied to the newer object."""
        self.cm("a", data={"k": "v"})
        store = self.store("configmaps")
        self.race_once(lambda: store.update(self.ctx, "default", "a", {
            "metadata": {"name": "a"}, "data": {"k": "v", "other": "1"}}, WriteOptions()))

        def add(obj):
            obj["data"]["mine"] = "1"
            return obj

        r = self.ok(store.patch(self.ctx, "default", "a", add, WriteOptions()))
        self.assertEqual(r.kv.object["data"], {"k": "v", "other": "1", "mine": "1"})

    def test_versioned_update_loses_race(self):
        """A PUT carrying the resourceVersion it read is 409 when another write came first."""
        kv = self.cm("a").kv
        store = self.store("configmaps")
        self.race_once(lambda: store.update(self.ctx, "default", "a", {
            "metadata": {"name": "a"}, "data": {"k": "other"}}, WriteOptions()))
        err = self.error(store.update(self.ctx, "default", "a", {"metadata": {
            "name": "a", "resourceVersion": kv.object["metadata"]["resourceVersion"]},
            "data": {"k": "mine"}}, WriteOptions()))
        self.assertEqual(err.code, 409)


class CommittingBackendTests(unittest.TestCase):
    """Writes in one reactor turn over a backend that commits at the turn's end (SQLite)."""

    @defer.inlineCallbacks
    def setUp(self):
        import os

        from twisted.internet import reactor

        from kapi_twisted.storage.cache import WatchCache
        from kapi_twisted.storage.sqlite import SQLiteStorage

        os.makedirs(self.mktemp())
        backend = SQLiteStorage(os.path.join(self.mktemp(), "kapi.db"), reactor,
                                compaction_interval=0, synchronous="NORMAL")
        self.storage = WatchCache(backend, "/registry/", reactor)
        yield self.storage.start()
        self.addCleanup(self.storage.stop)
        self.store = build_stores(self.storage, clock=reactor)[("", "v1", "configmaps")]
        self.ctx = RequestContext()

    @defer.inlineCallbacks
    def test_updates_in_one_turn(self):
        """Two unconditional updates, a patch and a delete in one turn all apply, none is 409."""
        store = self.store
        yield store.create(self.ctx, "default", {"metadata": {"name": "a"}}, WriteOptions())

        def add(obj):
            obj["data"]["p"] = "x"
            return obj

        results = yield defer.gatherResults([
            store.update(self.ctx, "default", "a", {"metadata": {"name": "a"},
                                                    "data": {"k": "1"}}, WriteOptions()),
            store.update(self.ctx, "default", "a", {"metadata": {"name": "a"},
                                                    "data": {"k": "2"}}, WriteOptions()),
            store.patch(self.ctx, "default", "a", add, WriteOptions()),
            store.delete(self.ctx, "default", "a", DeleteOptions()),
        ], consumeErrors=True)
        self.assertEqual(results[2].kv.object["data"], {"k": "2", "p": "x"})
        self.assertTrue(results[3].finished)


class SubresourceCreateTests(RegistryTestCase):
    def test_status_put_of_missing_is_404(self):
        """PUT services/x/status of a missing Service is 404 even though PUT may create Services."""
        err = self.error(self.store("services").update(
            self.ctx, "default", "x", {"metadata": {"name": "x"}, "status": {}},
            WriteOptions(), "status"))
        self.assertEqual(err.message, 'services "x" not found')
