"""
Custom resources under their CRD's schema and subresources: validation,
pruning with fieldValidation, defaulting (also on read), CEL transition
rules, the status and scale subresources, and deletion of a CRD with its
custom resources.
"""

from __future__ import annotations


from twisted.trial.unittest import SynchronousTestCase

from tests._apiextensions_helpers import CRD_PATH, Harness, condition, crontab, crontab_crd

CT = "/apis/stable.example.com/v1/namespaces/default/crontabs"
MERGE = {"Content-Type": "application/merge-patch+json"}


class SchemaTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.h = Harness(self)
        self.h.create_crd()

    def test_out_of_range_is_invalid_with_field_path(self) -> None:
        """A value past the schema's maximum is 422 Invalid with one cause at its path."""
        answer = self.h.request("POST", CT, crontab(replicas=11))
        self.assertEqual(answer.code, 422)
        status = answer.json
        self.assertEqual(status["reason"], "Invalid")
        self.assertEqual(status["details"]["kind"], "CronTab")
        self.assertEqual(status["details"]["group"], "stable.example.com")
        self.assertEqual([c["field"] for c in status["details"]["causes"]], ["spec.replicas"])
        self.assertIn("spec.replicas: Invalid value: 11", status["message"])

    def test_several_fields_one_cause_each(self) -> None:
        """Two bad fields give two causes, one per field path."""
        answer = self.h.request("POST", CT, crontab(replicas=0, cronSpec=5))
        self.assertEqual(answer.code, 422)
        fields = [c["field"] for c in answer.json["details"]["causes"]]
        self.assertIn("spec.cronSpec", fields)
        self.assertIn("spec.replicas", fields)
        self.assertEqual(len(fields), len(set(fields)))

    def test_unknown_fields_strict_warn_ignore(self) -> None:
        """Unknown fields: Strict is 400; Warn (the default) stores the object without them."""
        body = crontab()
        body["spec"]["bogus"] = 1
        answer = self.h.request("POST", CT + "?fieldValidation=Strict", body)
        self.assertEqual(answer.code, 400)
        self.assertIn('strict decoding error: unknown field "spec.bogus"', answer.json["message"])
        answer = self.h.request("POST", CT + "?fieldValidation=Warn", body)
        self.assertEqual(answer.code, 201)
        self.assertNotIn("bogus", answer.json["spec"])

    def test_defaults_on_create_update_and_read(self) -> None:
        """Defaults apply on create, and a default added later shows when reading old objects."""
        created = self.h.request("POST", CT, crontab()).json
        self.assertEqual(created["spec"]["image"], "busybox")
        crd = self.h.crd("crontabs.stable.example.com")
        props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
        props["spec"]["properties"]["suspend"] = {"type": "boolean", "default": False}
        self.assertEqual(self.h.request(
            "PUT", f"{CRD_PATH}/crontabs.stable.example.com", crd).code, 200)
        self.h.turn()
        got = self.h.get(f"{CT}/my-ct").json
        self.assertIs(got["spec"]["suspend"], False)
        stored = self.h.stored("/registry/stable.example.com/crontabs/default/my-ct")
        self.assertNotIn("suspend", stored["spec"])

    def test_cel_transition_rule(self) -> None:
        """A rule on oldSelf refuses changing the field on update, with its message."""
        self.h.request("POST", CT, crontab(owner="alice"))
        answer = self.h.request("PATCH", f"{CT}/my-ct", {"spec": {"owner": "bob"}},
                                headers=MERGE)
        self.assertEqual(answer.code, 422, answer.body)
        self.assertIn("owner is immutable", answer.json["message"])
        answer = self.h.request("PATCH", f"{CT}/my-ct", {"spec": {"replicas": 3}},
                                headers=MERGE)
        self.assertEqual(answer.code, 200, answer.body)


class SubresourceTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.h = Harness(self)
        self.h.create_crd()
        self.h.request("POST", CT, crontab())

    def test_status_split_and_generation(self) -> None:
        """Main writes keep status; /status writes keep spec; only spec changes bump generation."""
        answer = self.h.request("PATCH", f"{CT}/my-ct/status",
                                {"status": {"phase": "Running"}, "spec": {"replicas": 9}},
                                headers=MERGE)
        self.assertEqual(answer.code, 200, answer.body)
        obj = answer.json
        self.assertEqual(obj["status"], {"phase": "Running"})
        self.assertEqual(obj["spec"]["replicas"], 2)
        self.assertEqual(obj["metadata"]["generation"], 1)
        answer = self.h.request("PATCH", f"{CT}/my-ct",
                                {"status": {"phase": "Lost"}, "spec": {"replicas": 4}},
                                headers=MERGE)
        obj = answer.json
        self.assertEqual(obj["status"], {"phase": "Running"})
        self.assertEqual(obj["spec"]["replicas"], 4)
        self.assertEqual(obj["metadata"]["generation"], 2)
        answer = self.h.request("PATCH", f"{CT}/my-ct",
                                {"metadata": {"labels": {"a": "b"}}}, headers=MERGE)
        self.assertEqual(answer.json["metadata"]["generation"], 2)

    def test_status_write_validated(self) -> None:
        """A /status write is checked against the schema too."""
        answer = self.h.request("PATCH", f"{CT}/my-ct/status",
                                {"status": {"replicas": "many"}}, headers=MERGE)
        self.assertEqual(answer.code, 422)
        self.assertEqual(answer.json["details"]["causes"][0]["field"], "status.replicas")

    def test_create_drops_status(self) -> None:
        """With the status subresource, a create does not keep a status."""
        body = crontab("with-status")
        body["status"] = {"phase": "Running"}
        answer = self.h.request("POST", CT, body)
        self.assertNotIn("status", answer.json)

    def test_scale_subresource(self) -> None:
        """scale reads and writes the CRD's replica paths as an autoscaling/v1 Scale."""
        self.h.request("PATCH", f"{CT}/my-ct/status",
                       {"status": {"replicas": 1, "selector": "app=x"}}, headers=MERGE)
        scale = self.h.get(f"{CT}/my-ct/scale").json
        self.assertEqual(scale["kind"], "Scale")
        self.assertEqual(scale["apiVersion"], "autoscaling/v1")
        self.assertEqual(scale["spec"], {"replicas": 2})
        self.assertEqual(scale["status"], {"replicas": 1, "selector": "app=x"})
        answer = self.h.request("PATCH", f"{CT}/my-ct/scale", {"spec": {"replicas": 5}},
                                headers=MERGE)
        self.assertEqual(answer.json["spec"], {"replicas": 5})
        self.assertEqual(self.h.get(f"{CT}/my-ct").json["spec"]["replicas"], 5)


class ScaleValidationTests(SynchronousTestCase):
    """Replicas at a CRD's scale paths are checked whatever its schema allows there."""

    def setUp(self) -> None:
        self.h = Harness(self)
        crd = crontab_crd()
        schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        for part in ("spec", "status"):
            schema["properties"][part] = {"type": "object",
                                          "x-kubernetes-preserve-unknown-fields": True}
        self.h.create_crd(crd)

    def causes(self, answer):
        self.assertEqual(answer.code, 422, answer.body)
        return [(c["field"], c["message"]) for c in answer.json["details"]["causes"]]

    def test_create_with_bad_replicas(self) -> None:
        """A negative or non-integer spec replicas is a 422 naming the scale path."""
        self.assertEqual(self.causes(self.h.request("POST", CT, crontab("a", replicas=-5))),
                         [(".spec.replicas", "Invalid value: -5: should be a non-negative integer")])
        causes = self.causes(self.h.request("POST", CT, crontab("b", replicas="x")))
        self.assertEqual(causes[0][0], ".spec.replicas")
        self.assertIn("expected int64", causes[0][1])

    def test_update_and_status_update_checked(self) -> None:
        """Main and /status writes are refused past int32's range or with a non-string selector."""
        self.assertEqual(self.h.request("POST", CT, crontab()).code, 201)
        answer = self.h.request("PATCH", f"{CT}/my-ct", {"spec": {"replicas": 3000000000}},
                                headers=MERGE)
        self.assertEqual(self.causes(answer), [
            (".spec.replicas", "Invalid value: 3000000000: should be less than or equal to 2147483647")])
        answer = self.h.request("PATCH", f"{CT}/my-ct/status", {"status": {"selector": 5}},
                                headers=MERGE)
        self.assertEqual(self.causes(answer)[0][0], ".status.selector")
        answer = self.h.request("PATCH", f"{CT}/my-ct/status", {"status": {"replicas": 3}},
                                headers=MERGE)
        self.assertEqual(answer.code, 200, answer.body)


class DeletionTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.h = Harness(self)
        self.h.create_crd()

    def test_delete_crd_removes_resources_then_itself(self) -> None:
        """Deleting a CRD makes it Terminating, deletes its custom resources, then the CRD."""
        for name in ("a", "b"):
            self.h.request("POST", CT, crontab(name))
        answer = self.h.request("DELETE", f"{CRD_PATH}/crontabs.stable.example.com")
        self.assertEqual(answer.code, 200)
        crd = answer.json
        self.assertIn("customresourcecleanup.apiextensions.k8s.io",
                      crd["metadata"]["finalizers"])
        self.assertEqual(condition(crd, "Terminating")[:2], ("True", "InstanceDeletionPending"))
        self.h.turn()
        self.assertEqual(self.h.get(f"{CRD_PATH}/crontabs.stable.example.com").code, 404)
        answer = self.h.get(CT)
        self.assertEqual(answer.body, b"404 page not found\n")
        self.assertEqual(self.h.wait(self.h.storage.list(
            "/registry/stable.example.com/")).items, [])

    def test_finalized_resource_holds_crd(self) -> None:
        """A custom resource with a finalizer keeps the CRD terminating until it is gone."""
        body = crontab("held")
        body["metadata"]["finalizers"] = ["example.com/hold"]
        self.h.request("POST", CT, body)
        self.h.ext.controller.check_interval = 1.0
        self.h.request("DELETE", f"{CRD_PATH}/crontabs.stable.example.com")
        self.h.turn()
        crd = self.h.crd("crontabs.stable.example.com")
        self.assertEqual(condition(crd, "Terminating")[:2], ("True", "InstanceDeletionInProgress"))
        create = self.h.request("POST", CT, crontab("new"))
        self.assertEqual(create.code, 405)
        self.assertIn("terminating", create.json["message"])
        answer = self.h.request("PATCH", f"{CT}/held", {"metadata": {"finalizers": None}},
                                headers=MERGE)
        self.assertEqual(answer.code, 200, answer.body)
        self.h.turn(1.5)
        self.assertEqual(self.h.get(f"{CRD_PATH}/crontabs.stable.example.com").code, 404)
