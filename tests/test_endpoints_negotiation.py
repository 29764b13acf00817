"""
Answer negotiation: JSON, YAML, Table (kubectl get), PartialObjectMetadata
(metadata informers), protobuf Accept answered as JSON, 406 otherwise.
"""

from __future__ import annotations

import json

import yaml
from twisted.trial.unittest import SynchronousTestCase

from tests.test_endpoints import CM, Harness

TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
                "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")
PROTO_ACCEPT = "application/vnd.kubernetes.protobuf,application/json"
META_LIST_ACCEPT = ("application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"
                    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json")


class NegotiationTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.h = Harness(self)
        self.h.json("POST", "/api/v1/namespaces/default/configmaps", CM, code=201)

    def get(self, path, accept, code=200):
        response, content = self.h.request("GET", path, headers={"Accept": accept})
        self.assertEqual(response.code, code, content)
        return response, content

    def test_table_list(self) -> None:
        """kubectl get's Accept gets a meta.k8s.io/v1 Table with a name column and metadata rows."""
        response, content = self.get("/api/v1/namespaces/default/configmaps?limit=500", TABLE_ACCEPT)
        self.assertEqual(response.headers.getRawHeaders("content-type"), ["application/json"])
        table = json.loads(content)
        self.assertEqual((table["kind"], table["apiVersion"]), ("Table", "meta.k8s.io/v1"))
        name_cols = [c for c in table["columnDefinitions"] if c["format"] == "name"]
        self.assertEqual(len(name_cols), 1)
        row = table["rows"][0]
        self.assertEqual(row["cells"][0], "a")
        self.assertEqual(row["object"]["kind"], "PartialObjectMetadata")
        self.assertEqual(row["object"]["metadata"]["namespace"], "default")

    def test_table_v1beta1_and_include_object(self) -> None:
        """as=Table;v=v1beta1 with includeObject=None: no row objects."""
        _, content = self.get("/api/v1/namespaces/default/configmaps/a?includeObject=None",
                              "application/json;as=Table;v=v1beta1;g=meta.k8s.io")
        table = json.loads(content)
        self.assertEqual(table["apiVersion"], "meta.k8s.io/v1beta1")
        self.assertIsNone(table["rows"][0]["object"])

    def test_bad_include_object_is_400(self) -> None:
        """includeObject=Everything is 400."""
        self.get("/api/v1/namespaces/default/configmaps?includeObject=Everything", TABLE_ACCEPT, 400)

    def test_table_only_for_reads(self) -> None:
        """A Table-only Accept on a create is 406."""
        response, content = self.h.request(
            "POST", "/api/v1/namespaces/default/configmaps",
            raw=json.dumps(dict(CM, metadata={"name": "z"})).encode(),
            headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
        self.assertEqual(response.code, 406)

    def test_yaml(self) -> None:
        """Accept: application/yaml answers YAML."""
        response, content = self.get("/api/v1/namespaces/default/configmaps/a", "application/yaml")
        self.assertEqual(response.headers.getRawHeaders("content-type"), ["application/yaml"])
        self.assertEqual(yaml.safe_load(content)["data"], {"k": "v"})

    def test_partial_object_metadata_list(self) -> None:
        """The metadata client's Accept gets a PartialObjectMetadataList."""
        _, content = self.get("/api/v1/namespaces/default/configmaps", META_LIST_ACCEPT)
        body = json.loads(content)
        self.assertEqual(body["kind"], "PartialObjectMetadataList")
        self.assertEqual(body["items"][0]["kind"], "PartialObjectMetadata")
        self.assertNotIn("data", body["items"][0])

    def test_partial_object_metadata_get(self) -> None:
        """as=PartialObjectMetadata on a GET gets the object's metadata only."""
        _, content = self.get("/api/v1/namespaces/default/configmaps/a",
                              "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1")
        body = json.loads(content)
        self.assertEqual(body["kind"], "PartialObjectMetadata")
        self.assertEqual(body["metadata"]["name"], "a")

    def test_singular_partial_on_list_is_406(self) -> None:
        """as=PartialObjectMetadata (singular) on a list is 406."""
        self.get("/api/v1/namespaces/default/configmaps",
                 "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1", 406)

    def test_protobuf_accept_answered_as_json(self) -> None:
        """A protobuf-first Accept that also lists JSON gets JSON."""
        response, content = self.get("/api/v1/namespaces/default/configmaps/a", PROTO_ACCEPT)
        self.assertEqual(json.loads(content)["kind"], "ConfigMap")

    def test_nothing_acceptable_is_406(self) -> None:
        """Accept: text/html is 406 with kube's message."""
        _, content = self.get("/api/v1/namespaces/default/configmaps/a", "text/html", 406)
        self.assertEqual(
            json.loads(content)["message"],
            "only the following media types are accepted: application/json, "
            "application/yaml, application/vnd.kubernetes.protobuf")


class RepeatedNegotiationTests(SynchronousTestCase):
    def test_same_request_same_answer_and_errors_every_time(self) -> None:
        """Negotiation remembered from earlier requests answers alike, and refuses alike."""
        from kapi_twisted import apierrors
        from kapi_twisted.endpoints import negotiation

        for _ in range(2):
            self.assertEqual(negotiation.negotiate(TABLE_ACCEPT, "list", {}),
                             negotiation.Output(negotiation.JSON, negotiation.TABLE, "v1"))
            self.assertEqual(negotiation.negotiate(TABLE_ACCEPT, "create", {}, "curl/8"),
                             negotiation.Output(negotiation.JSON, pretty=True))
            self.assertEqual(
                negotiation.negotiate(TABLE_ACCEPT, "list", {"includeObject": ["Object"]}),
                negotiation.Output(negotiation.JSON, negotiation.TABLE, "v1",
                                   include_object="Object"))
            with self.assertRaises(apierrors.APIError) as bad:
                negotiation.negotiate(TABLE_ACCEPT, "list", {"includeObject": ["Nope"]})
            self.assertEqual(bad.exception.code, 400)
            with self.assertRaises(apierrors.APIError) as refused:
                negotiation.negotiate("text/html", "get", {})
            self.assertEqual(refused.exception.code, 406)

    def test_long_accept_headers_are_not_remembered(self) -> None:
        """Distinct long Accept headers (up to the 1 MiB header limit) do not pile up in the server's memory."""
        from kapi_twisted.endpoints import negotiation

        for i in range(3):
            accept = ("application/json;x=%d," % i) * 3000
            self.assertEqual(negotiation.negotiate(accept, "get", {}),
                             negotiation.Output(negotiation.JSON))
        kept = list(negotiation._ACCEPT_CACHE) + [key[0] for key in negotiation._NEGOTIATED]
        self.assertEqual([a for a in kept if len(a) > 4096], [])
