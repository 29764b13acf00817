"""
The APIExtensions server in memory: CRDs stored and established, custom
resources served live with every verb, discovery, delegation and the
naming conflicts kube-apiserver reports.
"""

from __future__ import annotations

import copy
import json

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.endpoints.discovery import discovery_registry_of
from tests._apiextensions_helpers import CRD_PATH, Harness, condition, crontab, crontab_crd

CT = "/apis/stable.example.com/v1/namespaces/default/crontabs"


class CRDTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.h = Harness(self)

    def test_crd_established_with_accepted_names(self) -> None:
        """A new CRD gets NamesAccepted and Established, its accepted names and stored versions."""
        crd = self.h.create_crd()
        self.assertEqual(condition(crd, "NamesAccepted"),
                         ("True", "NoConflicts", "no conflicts found"))
        self.assertEqual(condition(crd, "Established"),
                         ("True", "InitialNamesAccepted", "the initial names have been accepted"))
        status = crd["status"]
        self.assertEqual(status["storedVersions"], ["v1"])
        self.assertEqual(status["acceptedNames"]["kind"], "CronTab")
        self.assertEqual(status["acceptedNames"]["shortNames"], ["ct"])
        self.assertEqual(crd["metadata"]["generation"], 1)

    def test_crd_stored_at_kube_key(self) -> None:
        """CRDs live at /registry/apiextensions.k8s.io/customresourcedefinitions/<name>."""
        self.h.create_crd()
        stored = self.h.stored(
            "/registry/apiextensions.k8s.io/customresourcedefinitions/crontabs.stable.example.com")
        self.assertEqual(stored["spec"]["names"]["plural"], "crontabs")

    def test_invalid_crd_refused(self) -> None:
        """A CRD whose name is not plural.group is a 422 naming metadata.name."""
        crd = crontab_crd()
        crd["metadata"]["name"] = "wrong.stable.example.com"
        answer = self.h.request("POST", CRD_PATH, crd)
        self.assertEqual(answer.code, 422)
        fields = [c["field"] for c in answer.json["details"]["causes"]]
        self.assertIn("metadata.name", fields)

    def test_kind_conflict_reported_not_crashed(self) -> None:
        """A second CRD asking for a kind in use gets NamesAccepted False (last conflict found)."""
        self.h.create_crd()
        other = crontab_crd(names={"plural": "othertabs", "kind": "CronTab"})
        other["metadata"]["name"] = "othertabs.stable.example.com"
        crd = self.h.create_crd(other)
        self.assertEqual(condition(crd, "NamesAccepted"),
                         ("False", "ListKindConflict", '"CronTabList" is already in use'))
        self.assertEqual(condition(crd, "Established"),
                         ("False", "NotAccepted", "not all names are accepted"))
        self.assertEqual(self.h.get(
            "/apis/stable.example.com/v1/namespaces/default/othertabs").code, 404)

    def test_short_name_conflict(self) -> None:
        """A short name another CRD of the group holds is a ShortNamesConflict."""
        self.h.create_crd()
        other = crontab_crd(names={"plural": "jobtabs", "kind": "JobTab", "shortNames": ["ct"]})
        other["metadata"]["name"] = "jobtabs.stable.example.com"
        crd = self.h.create_crd(other)
        self.assertEqual(condition(crd, "NamesAccepted"),
                         ("False", "ShortNamesConflict", '"ct" is already in use'))

    def test_generation_grows_with_spec(self) -> None:
        """Changing a CRD's spec bumps its generation; status writes do not."""
        crd = self.h.create_crd()
        crd["spec"]["names"]["shortNames"] = ["ct", "cts"]
        answer = self.h.request("PUT", f"{CRD_PATH}/{crd['metadata']['name']}", crd)
        self.assertEqual(answer.code, 200, answer.body)
        self.assertEqual(answer.json["metadata"]["generation"], 2)
        self.h.turn()
        crd = self.h.crd("crontabs.stable.example.com")
        self.assertEqual(crd["status"]["acceptedNames"]["shortNames"], ["ct", "cts"])
        self.assertEqual(crd["metadata"]["generation"], 2)


class CustomResourceTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.h = Harness(self)
        self.h.create_crd()

    def create(self, name: str = "my-ct", **spec) -> dict:
        answer = self.h.request("POST", CT, crontab(name, **spec))
        self.assertEqual(answer.code, 201, answer.body)
        return answer.json

    def test_create_get_list(self) -> None:
        """A created custom resource reads back, lists with its kind, and defaults apply."""
        created = self.create()
        self.assertEqual(created["metadata"]["generation"], 1)
        self.assertEqual(created["spec"]["image"], "busybox")
        got = self.h.get(f"{CT}/my-ct").json
        self.assertEqual(got["metadata"]["uid"], created["metadata"]["uid"])
        listed = self.h.get(CT).json
        self.assertEqual(listed["kind"], "CronTabList")
        self.assertEqual(listed["apiVersion"], "stable.example.com/v1")
        self.assertEqual([i["metadata"]["name"] for i in listed["items"]], ["my-ct"])
        self.assertEqual(listed["items"][0]["kind"], "CronTab")
        all_ns = self.h.get("/apis/stable.example.com/v1/crontabs").json
        self.assertEqual(len(all_ns["items"]), 1)

    def test_stored_at_group_plural_key(self) -> None:
        """Custom resources live at /registry/<group>/<plural>/<namespace>/<name>."""
        self.create()
        stored = self.h.stored("/registry/stable.example.com/crontabs/default/my-ct")
        self.assertEqual(stored["apiVersion"], "stable.example.com/v1")

    def test_update_needs_resource_version(self) -> None:
        """A PUT of a custom resource without resourceVersion is 422; with it, 200."""
        created = self.create()
        body = copy.deepcopy(created)
        del body["metadata"]["resourceVersion"]
        answer = self.h.request("PUT", f"{CT}/my-ct", body)
        self.assertEqual(answer.code, 422)
        self.assertIn("metadata.resourceVersion", answer.json["message"])
        body["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
        body["spec"]["replicas"] = 3
        answer = self.h.request("PUT", f"{CT}/my-ct", body)
        self.assertEqual(answer.code, 200, answer.body)
        self.assertEqual(answer.json["metadata"]["generation"], 2)

    def test_patch_types(self) -> None:
        """Merge and JSON patches apply; strategic merge patch is 415 on custom resources."""
        self.create()
        answer = self.h.request("PATCH", f"{CT}/my-ct", {"spec": {"replicas": 5}},
                                headers={"Content-Type": "application/merge-patch+json"})
        self.assertEqual(answer.json["spec"]["replicas"], 5)
        answer = self.h.request(
            "PATCH", f"{CT}/my-ct",
            [{"op": "replace", "path": "/spec/cronSpec", "value": "1 * * * *"}],
            headers={"Content-Type": "application/json-patch+json"})
        self.assertEqual(answer.json["spec"]["cronSpec"], "1 * * * *")
        answer = self.h.request("PATCH", f"{CT}/my-ct", {"spec": {"replicas": 6}},
                                headers={"Content-Type": "application/strategic-merge-patch+json"})
        self.assertEqual(answer.code, 415)
        self.assertEqual(answer.json["reason"], "UnsupportedMediaType")

    def test_protobuf_body_refused(self) -> None:
        """Custom resources take JSON or YAML bodies only: protobuf is 415."""
        answer = self.h.request("POST", CT, b"k8s\x00",
                                headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
        self.assertEqual(answer.code, 415)
        self.assertEqual(answer.json["message"],
                         "the body of the request was in an unknown format - accepted media "
                         "types include: application/json, application/yaml")
        answer = self.h.request("POST", CT, b"x", headers={"Content-Type": "text/plain"})
        self.assertEqual(answer.code, 415)
        self.assertNotIn("protobuf", answer.json["message"])

    def test_yaml_body(self) -> None:
        """A YAML body creates the object."""
        body = b"apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: y}\n"
        answer = self.h.request("POST", CT, body, headers={"Content-Type": "application/yaml"})
        self.assertEqual(answer.code, 201, answer.body)

    def test_delete_and_deletecollection(self) -> None:
        """DELETE answers a success Status; deletecollection empties the collection."""
        self.create("a")
        self.create("b")
        self.create("c")
        answer = self.h.request("DELETE", f"{CT}/a")
        self.assertEqual(answer.code, 200)
        self.assertEqual(answer.json["kind"], "Status")
        self.assertEqual(answer.json["details"]["kind"], "crontabs")
        answer = self.h.request("DELETE", CT)
        self.assertEqual(answer.code, 200)
        self.assertEqual(sorted(i["metadata"]["name"] for i in answer.json["items"]), ["b", "c"])
        self.assertEqual(self.h.get(CT).json["items"], [])

    def test_not_found_names_group_resource(self) -> None:
        """A missing object is 404 crontabs.stable.example.com "x" not found."""
        answer = self.h.get(f"{CT}/x")
        self.assertEqual(answer.code, 404)
        self.assertEqual(answer.json["message"], 'crontabs.stable.example.com "x" not found')

    def test_watch_resumes_from_list(self) -> None:
        """A watch from a list's resourceVersion sees only later changes, as JSON lines."""
        self.create("before")
        rv = self.h.get(CT).json["metadata"]["resourceVersion"]
        lines = []
        d = self.h.stub.request(
            "GET", f"https://kapi.test{CT}?watch=true&resourceVersion={rv}&timeoutSeconds=5")
        response = self.h.wait(d)
        from treq import collect

        done = collect(response, lines.append)
        self.h.turn()
        self.create("after")
        self.h.turn(6)
        self.h.stub.flush()
        self.h.wait(done)
        events = [json.loads(l) for l in b"".join(lines).splitlines() if l]
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in events],
                         [("ADDED", "after")])

    def test_unknown_resource_in_crd_group_goes_to_delegate(self) -> None:
        """A path of a CRD group that no CRD serves is the chain's plain 404."""
        answer = self.h.get("/apis/stable.example.com/v1/namespaces/default/nothings")
        self.assertEqual(answer.code, 404)
        self.assertEqual(answer.body, b"404 page not found\n")
        answer = self.h.get("/apis/stable.example.com/v9/namespaces/default/crontabs")
        self.assertEqual(answer.body, b"404 page not found\n")
        answer = self.h.get("/apis/stable.example.com/v1/crontabs/x/status")
        self.assertEqual(answer.code, 404)

    def test_table_with_printer_columns(self) -> None:
        """kubectl's Table Accept gets Name plus the CRD's additionalPrinterColumns."""
        self.create()
        answer = self.h.get(CT, headers={
            "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
        table = answer.json
        self.assertEqual([c["name"] for c in table["columnDefinitions"]],
                         ["Name", "Spec", "Replicas", "Age"])
        self.assertEqual(table["rows"][0]["cells"][:3], ["my-ct", "* * * * */5", 2])


class DiscoveryTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.h = Harness(self)
        self.h.create_crd()

    def test_legacy_discovery(self) -> None:
        """/apis/<g>/<v> lists the resource with short names, categories and subresources."""
        doc = self.h.get("/apis/stable.example.com/v1").json
        self.assertEqual(doc["groupVersion"], "stable.example.com/v1")
        entries = {r["name"]: r for r in doc["resources"]}
        ct = entries["crontabs"]
        self.assertEqual(ct["singularName"], "crontab")
        self.assertEqual(ct["shortNames"], ["ct"])
        self.assertEqual(ct["categories"], ["all"])
        self.assertTrue(ct["namespaced"])
        self.assertEqual(ct["verbs"], ["delete", "deletecollection", "get", "list", "patch",
                                       "create", "update", "watch"])
        self.assertEqual(entries["crontabs/status"]["verbs"], ["get", "patch", "update"])
        self.assertEqual(entries["crontabs/scale"]["group"], "autoscaling")
        self.assertEqual(entries["crontabs/scale"]["kind"], "Scale")
        group = self.h.get("/apis/stable.example.com").json
        self.assertEqual(group["preferredVersion"]["version"], "v1")

    def test_registry_feeds_aggregated_discovery(self) -> None:
        """The server's discovery registry carries the CRD group for the aggregator."""
        registry = discovery_registry_of(self.h.server)
        groups = dict(registry.groups())
        self.assertEqual(groups["stable.example.com"], ["v1"])
        infos = registry.resources("stable.example.com", "v1")
        self.assertEqual([i.plural for i in infos], ["crontabs"])

    def test_new_version_and_unserved_version_live(self) -> None:
        """Adding a version serves it at once; un-serving a version stops serving it."""
        crd = self.h.crd("crontabs.stable.example.com")
        v2 = copy.deepcopy(crd["spec"]["versions"][0])
        v2.update(name="v2", storage=False)
        crd["spec"]["versions"].append(v2)
        answer = self.h.request("PUT", f"{CRD_PATH}/crontabs.stable.example.com", crd)
        self.assertEqual(answer.code, 200, answer.body)
        self.h.turn()
        self.assertEqual(self.h.request(
            "POST", "/apis/stable.example.com/v2/namespaces/default/crontabs",
            dict(crontab(), apiVersion="stable.example.com/v2")).code, 201)
        got = self.h.get(f"{CT}/my-ct").json
        self.assertEqual(got["apiVersion"], "stable.example.com/v1")
        stored = self.h.stored("/registry/stable.example.com/crontabs/default/my-ct")
        self.assertEqual(stored["apiVersion"], "stable.example.com/v1")
        self.assertEqual(self.h.get("/apis/stable.example.com").json["versions"],
                         [{"groupVersion": "stable.example.com/v2", "version": "v2"},
                          {"groupVersion": "stable.example.com/v1", "version": "v1"}])
        crd = self.h.crd("crontabs.stable.example.com")
        crd["spec"]["versions"][1]["served"] = False
        self.assertEqual(self.h.request(
            "PUT", f"{CRD_PATH}/crontabs.stable.example.com", crd).code, 200)
        self.h.turn()
        answer = self.h.get("/apis/stable.example.com/v2/namespaces/default/crontabs")
        self.assertEqual(answer.body, b"404 page not found\n")

    def test_openapi_v3_document(self) -> None:
        """The group-version's OpenAPI v3 has the schema tagged with its GVK and no SMP on PATCH."""
        doc = self.h.server.openapi.v3_document("apis/stable.example.com/v1", 0)
        spec = json.loads(doc.body)
        schema = spec["components"]["schemas"]["com.example.stable.v1.CronTab"]
        self.assertEqual(schema["x-kubernetes-group-version-kind"],
                         [{"group": "stable.example.com", "kind": "CronTab", "version": "v1"}])
        self.assertIn("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                      spec["components"]["schemas"])
        patch = spec["paths"][
            "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"]["patch"]
        self.assertIn("fieldValidation", [p["name"] for p in patch["parameters"]])
        self.assertNotIn("application/strategic-merge-patch+json",
                         patch["requestBody"]["content"])


class SelectableFieldsTests(SynchronousTestCase):
    def test_selectable_field_in_field_selector(self) -> None:
        """A version's selectableFields filter lists; other fields are refused with 400."""
        h = Harness(self)
        crd = crontab_crd()
        crd["spec"]["versions"][0]["selectableFields"] = [{"jsonPath": ".spec.cronSpec"}]
        h.create_crd(crd)
        for name, spec in (("a", "1 * * * *"), ("b", "2 * * * *")):
            self.assertEqual(h.request("POST", CT, crontab(name, cronSpec=spec)).code, 201)
        answer = h.get(CT + "?fieldSelector=spec.cronSpec%3D2%20*%20*%20*%20*")
        self.assertEqual([i["metadata"]["name"] for i in answer.json["items"]], ["b"])
        self.assertEqual(h.get(CT + "?fieldSelector=spec.image%3Dx").code, 400)

    def test_names_freed_by_deletion_are_accepted(self) -> None:
        """When the CRD holding a name goes, a CRD waiting for that name gets it."""
        h = Harness(self)
        h.create_crd()
        other = crontab_crd(names={"plural": "othertabs", "kind": "CronTab"})
        other["metadata"]["name"] = "othertabs.stable.example.com"
        h.create_crd(other)
        self.assertEqual(h.request(
            "DELETE", f"{CRD_PATH}/crontabs.stable.example.com").code, 200)
        h.turn()
        crd = h.crd("othertabs.stable.example.com")
        self.assertEqual(condition(crd, "NamesAccepted")[0], "True")
        self.assertEqual(condition(crd, "Established")[0], "True")

    def test_protected_group_approval_condition(self) -> None:
        """A CRD in a *.k8s.io group carries KubernetesAPIApprovalPolicyConformant."""
        h = Harness(self)
        crd = crontab_crd(group="widgets.k8s.io")
        crd["metadata"]["name"] = "crontabs.widgets.k8s.io"
        crd["metadata"]["annotations"] = {"api-approved.kubernetes.io": "unapproved, testing"}
        crd = h.create_crd(crd)
        self.assertEqual(condition(crd, "KubernetesAPIApprovalPolicyConformant"),
                         ("False", "UnapprovedAnnotation", 'not approved: "unapproved, testing"'))
        self.assertEqual(condition(crd, "Established")[0], "True")


class _Refuse:
    """An admission plugin that refuses every create in namespace "closed"."""

    def admit(self, attributes):
        from twisted.internet.defer import fail, succeed

        from kapi_twisted import apierrors

        if attributes.namespace == "closed":
            return fail(apierrors.forbidden(attributes.resource.plural, attributes.name,
                                            "namespace closed"))
        return succeed(None)


class AdmissionTests(SynchronousTestCase):
    def test_admission_runs_on_custom_resources(self) -> None:
        """Admission set on the APIExtensions server applies to custom resource stores."""
        h = Harness(self)
        h.ext.set_admission(_Refuse())
        h.create_crd()
        closed = "/apis/stable.example.com/v1/namespaces/closed/crontabs"
        self.assertEqual(h.request("POST", closed, crontab()).code, 403)
        self.assertEqual(h.request("POST", CT, crontab()).code, 201)
