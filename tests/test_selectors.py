"""Label and field selectors: the grammar, matching, and kube's 400 messages."""

from twisted.trial import unittest

from kapi_twisted.apierrors import APIError
from kapi_twisted.apis.registry import lookup
from kapi_twisted.registry.fieldselectors import field_set_for, parse_field_selector
from kapi_twisted.registry.selectors import parse_label_selector


def matches(selector, labels):
    return parse_label_selector(selector).matches(labels)


class LabelSelectorTests(unittest.SynchronousTestCase):
    def error(self, text):
        with self.assertRaises(APIError) as cm:
            parse_label_selector(text)
        self.assertEqual(cm.exception.code, 400)
        return cm.exception.message

    def test_equality(self):
        """k=v and k==v need the key with that value; k!=v also matches a missing key."""
        self.assertTrue(matches("app=web", {"app": "web"}))
        self.assertTrue(matches("app==web", {"app": "web"}))
        self.assertFalse(matches("app=web", {"app": "db"}))
        self.assertFalse(matches("app=web", {}))
        self.assertTrue(matches("app!=web", {}))
        self.assertFalse(matches("app!=web", {"app": "web"}))

    def test_sets(self):
        """in needs one of the values; notin matches other values and missing keys."""
        self.assertTrue(matches("env in (a, b)", {"env": "b"}))
        self.assertFalse(matches("env in (a,b)", {}))
        self.assertTrue(matches("env notin (a,b)", {}))
        self.assertFalse(matches("env notin (a,b)", {"env": "a"}))

    def test_exists(self):
        """A bare key needs the key; !key needs it absent."""
        self.assertTrue(matches("app", {"app": ""}))
        self.assertFalse(matches("!app", {"app": ""}))
        self.assertTrue(matches("!app", {"x": "y"}))

    def test_numeric(self):
        """k>n and k<n compare integers; a non-integer label does not match."""
        self.assertTrue(matches("n>5", {"n": "6"}))
        self.assertFalse(matches("n>5", {"n": "5"}))
        self.assertTrue(matches("n<5", {"n": "-1"}))
        self.assertFalse(matches("n<5", {"n": "x"}))

    def test_and_with_whitespace(self):
        """Terms are ANDed; whitespace around them is allowed."""
        self.assertTrue(matches(" app = web , tier in (fe) ,!canary", {"app": "web", "tier": "fe"}))
        self.assertFalse(matches("app=web,tier=fe", {"app": "web"}))
        self.assertTrue(parse_label_selector("").empty)

    def test_parse_errors(self):
        """Malformed selectors are 400 with kube's parser messages."""
        self.assertEqual(self.error("a b"), "unable to parse requirement: found 'b', expected: "
                                            "in, notin, =, ==, !=, gt, lt")
        self.assertEqual(self.error("a,"), "found '', expected: identifier after ','")
        self.assertEqual(self.error("=a"),
                         "found '=', expected: !, identifier, or 'end of string'")
        self.assertEqual(self.error("x in (a"),
                         "unable to parse requirement: found '', expected: ',' or ')'")
        self.assertEqual(self.error("x in a"),
                         "unable to parse requirement: found 'a' expected: '('")

    def test_invalid_key_and_value(self):
        """A bad key or value is reported as kube's field error inside the parse error."""
        self.assertEqual(self.error("a_=b"), (
            "unable to parse requirement: <nil>: Invalid value: \"a_\": name part must consist "
            "of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
            "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"))
        self.assertTrue(self.error("a=b_").startswith(
            "unable to parse requirement: values[0][a]: Invalid value: \"b_\": a valid label "
            "must be an empty string"))
        self.assertEqual(self.error("n>x"), (
            "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' "
            "operators, the value must be an integer"))


class FieldSelectorTests(unittest.SynchronousTestCase):
    def fields(self, plural, group=""):
        return field_set_for(lookup(group, "v1", plural))

    def error(self, text, plural="pods", group=""):
        with self.assertRaises(APIError) as cm:
            parse_field_selector(text, self.fields(plural, group))
        self.assertEqual(cm.exception.code, 400)
        return cm.exception.message

    def test_metadata_fields_everywhere(self):
        """metadata.name and metadata.namespace work on every kind, with = == and !=."""
        fs = self.fields("configmaps")
        obj = {"metadata": {"name": "a", "namespace": "ns"}}
        self.assertTrue(parse_field_selector("metadata.name=a", fs).matches(fs.fields(obj)))
        self.assertTrue(parse_field_selector("metadata.name==a,metadata.namespace=ns",
                                             fs).matches(fs.fields(obj)))
        self.assertFalse(parse_field_selector("metadata.namespace!=ns", fs).matches(fs.fields(obj)))

    def test_pod_fields(self):
        """Pods select on nodeName, phase, hostNetwork and podIP as kube renders them."""
        fs = self.fields("pods")
        pod = {"metadata": {"name": "p"}, "spec": {"nodeName": "n1"},
               "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}]}}
        f = fs.fields(pod)
        for text in ("spec.nodeName=n1", "status.phase=Running", "spec.hostNetwork=false",
                     "status.podIP=10.0.0.1", "spec.restartPolicy=", "spec.host=n1"):
            self.assertTrue(parse_field_selector(text, fs).matches(f), text)
        self.assertFalse(parse_field_selector("spec.nodeName!=n1", fs).matches(f))

    def test_event_fields(self):
        """Events select on involvedObject.*, reason, source and type."""
        fs = self.fields("events")
        ev = {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"},
              "reason": "Started", "source": {"component": "kubelet"}, "type": "Normal"}
        sel = parse_field_selector(
            "involvedObject.kind=Pod,involvedObject.name=p,reason=Started,source=kubelet,"
            "type=Normal", fs)
        self.assertTrue(sel.matches(fs.fields(ev)))

    def test_other_kinds(self):
        """secrets type, namespaces phase, nodes unschedulable, jobs successful, CSR signer."""
        cases = [
            ("secrets", "", "type=Opaque", {"type": "Opaque"}),
            ("namespaces", "", "status.phase=Active", {"status": {"phase": "Active"}}),
            ("nodes", "", "spec.unschedulable=true", {"spec": {"unschedulable": True}}),
            ("replicationcontrollers", "", "status.replicas=2", {"status": {"replicas": 2}}),
            ("jobs", "batch", "status.successful=0", {}),
            ("certificatesigningrequests", "certificates.k8s.io", "spec.signerName=x/y",
             {"spec": {"signerName": "x/y"}}),
        ]
        for plural, group, text, obj in cases:
            fs = self.fields(plural, group)
            obj.setdefault("metadata", {"name": "o"})
            self.assertTrue(parse_field_selector(text, fs).matches(fs.fields(obj)), text)

    def test_unsupported_fields(self):
        """An unknown field is 400 with the message of that kind's label conversion."""
        self.assertEqual(self.error("spec.foo=x"), "field label not supported: spec.foo")
        self.assertEqual(self.error("data.x=1", "configmaps"), (
            '"data.x" is not a known field selector: only "metadata.name", "metadata.namespace"'))

    def test_syntax_errors(self):
        """A term without an operator or with a bad escape is 400."""
        self.assertEqual(self.error("abc"), "invalid selector: 'abc'; can't understand 'abc'")
        self.assertEqual(self.error(r"metadata.name=a\b"),
                         r"invalid field selector: invalid escape sequence: \b")

    def test_escapes(self):
        """Escaped commas and equals signs are part of the value."""
        fs = self.fields("configmaps")
        sel = parse_field_selector(r"metadata.name=a\,b\=c", fs)
        self.assertTrue(sel.matches({"metadata.name": "a,b=c"}))

    def test_name_only_kinds(self):
        """Nodes and Namespaces accept metadata.name but not metadata.namespace."""
        self.assertEqual(self.error("metadata.namespace=x", "nodes"),
                         "field label not supported: metadata.namespace")
        self.assertEqual(self.error("metadata.namespace=x", "namespaces"),
                         "field label not supported: metadata.namespace")

    def test_service_fields(self):
        """Services select on spec.clusterIP and spec.type."""
        fs = self.fields("services")
        svc = {"metadata": {"name": "s"}, "spec": {"clusterIP": "10.0.0.1", "type": "ClusterIP"}}
        self.assertTrue(parse_field_selector("spec.type=ClusterIP,spec.clusterIP=10.0.0.1",
                                             fs).matches(fs.fields(svc)))
