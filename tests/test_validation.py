"""Name, label, annotation and metadata validation, and the 422 they produce."""

from twisted.trial import unittest

from kapi_twisted.registry import validation as v
from kapi_twisted.registry.continuetoken import InvalidToken, decode_continue, encode_continue


class NameRuleTests(unittest.SynchronousTestCase):
    def test_dns_subdomain(self):
        """Subdomains allow dots and dashes inside, up to 253 characters."""
        self.assertEqual(v.is_dns1123_subdomain("a.b-c.d"), [])
        self.assertEqual(len(v.is_dns1123_subdomain("A")), 1)
        self.assertEqual(v.is_dns1123_subdomain("a" * 254)[0],
                         "must be no more than 253 bytes")

    def test_dns_label(self):
        """Labels allow no dots and at most 63 characters."""
        self.assertEqual(v.is_dns1123_label("abc-1"), [])
        self.assertEqual(v.is_dns1123_label("a.b"), ["must not contain dots"])
        self.assertEqual(v.is_dns1123_label("a_b"), [
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
            "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
            "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"])
        self.assertEqual(v.is_dns1123_label("a" * 64), ["must be no more than 63 bytes"])

    def test_dns1035_label(self):
        """DNS-1035 labels must start with a letter."""
        self.assertEqual(v.is_dns1035_label("a1"), [])
        self.assertEqual(len(v.is_dns1035_label("1a")), 1)

    def test_generate_name_prefix_may_end_in_dash(self):
        """A generateName prefix may end with '-' (masked before the check)."""
        self.assertEqual(v.name_is_dns_subdomain("web-", True), [])
        self.assertEqual(len(v.name_is_dns_subdomain("web-", False)), 1)

    def test_path_segments(self):
        """Path-segment names refuse '.', '..', '/' and '%'."""
        self.assertEqual(v.path_segment_errors("."), ["may not be '.'"])
        self.assertEqual(v.path_segment_errors("a/b%c"), ["may not contain '/'",
                                                          "may not contain '%'"])
        self.assertEqual(v.path_segment_errors("system:node"), [])
        self.assertEqual(v.path_segment_errors("..", prefix=True), [])


class QualifiedNameTests(unittest.SynchronousTestCase):
    def test_valid(self):
        """Keys with and without a DNS prefix are valid."""
        for key in ("app", "app.kubernetes.io/name", "A_b.c-d", "x/y"):
            self.assertEqual(v.is_qualified_name(key), [], key)

    def test_invalid(self):
        """Empty parts, long names, bad prefixes and extra slashes are reported."""
        self.assertEqual(v.is_qualified_name("/a"), ["prefix part must be non-empty"])
        self.assertEqual(v.is_qualified_name("a/")[0], "name part must be non-empty")
        self.assertEqual(len(v.is_qualified_name("a/")), 2)
        self.assertEqual(v.is_qualified_name("a" * 64)[0],
                         "name part must be no more than 63 bytes")
        self.assertTrue(v.is_qualified_name("Bad_/x")[0].startswith(
            "prefix part a lowercase RFC 1123 subdomain"))
        self.assertTrue(v.is_qualified_name("a/b/c")[0].startswith(
            "a valid label key must consist of"))

    def test_label_values(self):
        """Label values may be empty, at most 63 characters, alphanumeric at both ends."""
        self.assertEqual(v.is_valid_label_value(""), [])
        self.assertEqual(v.is_valid_label_value("a-b_c.d"), [])
        self.assertEqual(len(v.is_valid_label_value("-a")), 1)
        self.assertEqual(v.is_valid_label_value("a" * 64)[0],
                         "must be no more than 63 bytes")


class MetadataTests(unittest.SynchronousTestCase):
    def test_namespace_required_or_forbidden(self):
        """A namespaced object needs a namespace; a cluster-scoped one may not have one."""
        errs = v.validate_object_meta({"name": "a"}, True, v.name_is_dns_subdomain)
        self.assertEqual([str(e) for e in errs], ["metadata.namespace: Required value"])
        errs = v.validate_object_meta({"name": "a", "namespace": "x"}, False,
                                      v.name_is_dns_subdomain)
        self.assertEqual([str(e) for e in errs],
                         ["metadata.namespace: Forbidden: not allowed on this type"])

    def test_labels_seen_valid_before_still_report_new_problems(self):
        """Labels checked valid once do not hide a bad key or value next to them."""
        path = "metadata.labels"
        self.assertEqual(v.validate_labels({"app": "web", "tier": "t1"}, path), [])
        self.assertEqual(v.validate_labels({"app": "web", "tier": "t1"}, path), [])
        errs = v.validate_labels({"app": "web", "tier": "t1", "x": "bad value"}, path)
        self.assertEqual([e.bad_value for e in errs], ["bad value"])
        errs = v.validate_labels({"app": "web", "bad key": "t1"}, path)
        self.assertEqual([e.bad_value for e in errs], ["bad key"])
        errs = v.validate_labels({"app": "x" * 64}, path)
        self.assertEqual([e.detail for e in errs], ["must be no more than 63 bytes"])

    def test_label_memory_is_bounded(self):
        """Remembering valid labels stops growing: the memory is emptied when full."""
        self.patch(v, "_GOOD_LABELS_MAX", 3)
        for i in range(10):
            self.assertEqual(v.validate_labels({f"k{i}": f"v{i}"}, "metadata.labels"), [])
            self.assertLessEqual(len(v._GOOD_LABEL_KEYS), 3)
        self.assertEqual(len(v.validate_labels({"k9": "bad value"}, "metadata.labels")), 1)

    def test_annotation_keys_case_insensitive(self):
        """Annotation keys are checked in lower case, so capitals are fine."""
        self.assertEqual(v.validate_annotations({"Example.COM/Key": "v"}, "a"), [])

    def test_finalizers(self):
        """Finalizers are qualified names; orphan with foregroundDeletion is refused."""
        errs = v.validate_finalizers(["orphan", "foregroundDeletion"], "metadata.finalizers")
        self.assertEqual(errs[0].detail,
                         "finalizer orphan and foregroundDeletion cannot be both set")
        errs = v.validate_finalizers(["bad/key/x"], "metadata.finalizers")
        self.assertEqual(errs[0].field, "metadata.finalizers")

    def test_update_immutables(self):
        """name, namespace, uid and creationTimestamp may not change on update."""
        old = {"name": "a", "namespace": "n", "uid": "u", "creationTimestamp": "t"}
        new = dict(old, uid="v", name="b")
        fields = [e.field for e in v.validate_object_meta_update(new, old)]
        self.assertEqual(fields, ["metadata.name", "metadata.uid"])

    def test_no_new_finalizers_while_deleting(self):
        """A deleting object may lose finalizers but not gain them."""
        old = {"name": "a", "deletionTimestamp": "t", "finalizers": ["a.io/x"]}
        self.assertEqual(v.validate_object_meta_update(dict(old, finalizers=[]), old), [])
        errs = v.validate_object_meta_update(dict(old, finalizers=["a.io/x", "b.io/y"]), old)
        self.assertEqual(str(errs[0]), (
            'metadata.finalizers: Forbidden: no new finalizers can be added if the object is '
            'being deleted, found new finalizers []string{"b.io/y"}'))


class InvalidErrorTests(unittest.SynchronousTestCase):
    def test_single_and_aggregate_messages(self):
        """One error is quoted as is; several are bracketed; repeats appear once in the text."""
        one = v.invalid("ConfigMap", "a", [v.required("metadata.name")])
        self.assertEqual(one.message, 'ConfigMap "a" is invalid: metadata.name: Required value')
        errs = [v.required("a"), v.required("a"), v.forbidden("b", "no")]
        many = v.invalid("Deployment", "d", errs, group="apps")
        self.assertEqual(many.message, 'Deployment.apps "d" is invalid: [a: Required value, '
                                       'b: Forbidden: no]')
        self.assertEqual(len(many.details["causes"]), 3)
        self.assertEqual(many.details["kind"], "Deployment")

    def test_value_rendering(self):
        """Bad values render as Go does: quoted strings, bare numbers, JSON for the rest."""
        self.assertEqual(v.invalid_value("f", "x", "d").body(), 'Invalid value: "x": d')
        self.assertEqual(v.invalid_value("f", 3, "d").body(), "Invalid value: 3: d")
        self.assertEqual(v.invalid_value("f", True, "d").body(), "Invalid value: true: d")
        self.assertEqual(v.invalid_value("f", {"a": "b"}, "d").body(),
                         'Invalid value: {"a":"b"}: d')
        self.assertEqual(v.not_supported("f", "x", ["a", "b"]).body(),
                         'Unsupported value: "x": supported values: "a", "b"')


class ContinueTokenTests(unittest.SynchronousTestCase):
    def test_round_trip(self):
        """A token decodes to the full key and revision it was made from."""
        token = encode_continue("/registry/pods/ns/b\x00", "/registry/pods/", 42)
        self.assertNotIn("=", token)
        self.assertEqual(decode_continue(token, "/registry/pods/"),
                         ("/registry/pods/ns/b\x00", 42))

    def test_rejects_foreign_and_traversal(self):
        """Tokens of another version, without a revision, or climbing out of the prefix fail."""
        import base64
        import json

        def make(body):
            return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")

        for body in ({"v": "x", "rv": 1, "start": "a"}, {"v": "meta.k8s.io/v1", "rv": 0,
                                                        "start": "a"},
                     {"v": "meta.k8s.io/v1", "rv": 1, "start": ""},
                     {"v": "meta.k8s.io/v1", "rv": 1, "start": "../secrets/x"}):
            self.assertRaises(InvalidToken, decode_continue, make(body), "/registry/pods/")
        self.assertRaises(InvalidToken, decode_continue, "%%%", "/registry/pods/")


class OwnerReferenceTests(unittest.SynchronousTestCase):
    def test_two_controllers(self):
        """At most one ownerReference may be the controller."""
        refs = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": n, "uid": n,
                 "controller": True} for n in ("a", "b")]
        errs = v.validate_owner_references(refs, "metadata.ownerReferences")
        self.assertEqual(errs[0].detail, 'Only one reference can have Controller set to true. '
                                         'Found "true" in references for ReplicaSet/a and '
                                         'ReplicaSet/b')

    def test_events_cannot_own(self):
        """A core Event may not be an owner."""
        errs = v.validate_owner_references(
            [{"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "u"}], "m")
        self.assertEqual(errs[0].detail, "/v1, Kind=Event is disallowed from being an owner")
