"""
x-kubernetes-validations CEL rules on custom objects: the messages a client
gets for failed rules, transition rules on update, messageExpression, reason
and fieldPath, as in the Kubernetes CRD validation-rules docs.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.apiextensions.schema import CompiledSchema
from kapi_twisted.apiextensions.schema.cel import escape


def schema_with(spec_props: dict, rules: list, **spec_extra) -> CompiledSchema:
    spec = {"type": "object", "properties": spec_props, "x-kubernetes-validations": rules}
    spec.update(spec_extra)
    return CompiledSchema({"type": "object", "properties": {"spec": spec}})


REPLICAS = {"minReplicas": {"type": "integer"}, "replicas": {"type": "integer"},
            "maxReplicas": {"type": "integer"}}


def cr(spec: dict) -> dict:
    return {"apiVersion": "stable.example.com/v1", "kind": "CronTab", "metadata": {"name": "x"}, "spec": spec}


class RuleTests(SynchronousTestCase):
    def test_docs_example(self):
        """A failed rule with a message is Invalid value "object" at the node's path."""
        s = schema_with(REPLICAS, [
            {"rule": "self.minReplicas <= self.replicas", "message": "replicas should be greater than or equal to minReplicas."},
            {"rule": "self.replicas <= self.maxReplicas", "message": "replicas should be smaller than or equal to maxReplicas."},
        ])
        self.assertEqual(s.validate(cr({"minReplicas": 0, "replicas": 20, "maxReplicas": 10})), [
            {"reason": "FieldValueInvalid", "field": "spec",
             "message": 'Invalid value: "object": replicas should be smaller than or equal to maxReplicas.'}])
        self.assertEqual(s.validate(cr({"minReplicas": 0, "replicas": 5, "maxReplicas": 10})), [])

    def test_default_message(self):
        """Without a message the rule itself is quoted."""
        s = schema_with(REPLICAS, [{"rule": "self.replicas <= self.maxReplicas"}])
        self.assertEqual(s.validate(cr({"replicas": 20, "maxReplicas": 10}))[0]["message"],
                         'Invalid value: "object": failed rule: self.replicas <= self.maxReplicas')

    def test_scalar_rule(self):
        """A rule on a scalar reports the scalar's type and path."""
        s = CompiledSchema({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "name": {"type": "string", "x-kubernetes-validations": [
                {"rule": "self.startsWith('a') && size(self) < 5", "message": "bad name"}]}}}}})
        self.assertEqual(s.validate(cr({"name": "bcd"})), [
            {"reason": "FieldValueInvalid", "field": "spec.name", "message": 'Invalid value: "string": bad name'}])

    def test_items_and_map_values(self):
        """Rules on list items and map values report spec.list[i] and spec.map[key]."""
        s = CompiledSchema({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "list": {"type": "array", "items": {"type": "integer", "x-kubernetes-validations": [
                {"rule": "self > 0", "message": "must be positive"}]}},
            "map": {"type": "object", "additionalProperties": {"type": "string", "x-kubernetes-validations": [
                {"rule": "self != ''", "message": "must not be empty"}]}}}}}})
        got = s.validate(cr({"list": [1, -1], "map": {"a": "x", "b": ""}}))
        self.assertEqual([(c["field"], c["message"]) for c in got], [
            ("spec.list[1]", 'Invalid value: "integer": must be positive'),
            ("spec.map[b]", 'Invalid value: "string": must not be empty'),
        ])

    def test_message_expression_reason_field_path(self):
        """messageExpression, reason and fieldPath shape the cause as in the docs."""
        s = schema_with({"x": {"type": "integer"}, "maxLimit": {"type": "integer"}}, [{
            "rule": "self.x <= self.maxLimit",
            "messageExpression": '"x exceeded max limit of " + string(self.maxLimit)',
            "reason": "FieldValueForbidden", "fieldPath": ".x"}])
        self.assertEqual(s.validate(cr({"x": 150, "maxLimit": 100})), [
            {"reason": "FieldValueForbidden", "field": "spec.x", "message": "Forbidden: x exceeded max limit of 100"}])

    def test_required_reason(self):
        """reason FieldValueRequired gives a Required value cause."""
        s = schema_with({"a": {"type": "string"}}, [
            {"rule": "has(self.a)", "message": "a is required", "reason": "FieldValueRequired", "fieldPath": ".a"}])
        self.assertEqual(s.validate(cr({})), [
            {"reason": "FieldValueRequired", "field": "spec.a", "message": "Required value: a is required"}])

    def test_transition_rule(self):
        """self == oldSelf makes a field immutable on update, and is skipped on create."""
        s = CompiledSchema({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "name": {"type": "string", "x-kubernetes-validations": [
                {"rule": "self == oldSelf", "message": "Value is immutable"}]}}}}})
        self.assertEqual(s.validate(cr({"name": "a"})), [])
        self.assertEqual(s.validate(cr({"name": "a"}), cr({"name": "a"})), [])
        self.assertEqual(s.validate(cr({"name": "b"}), cr({"name": "a"})), [
            {"reason": "FieldValueInvalid", "field": "spec.name", "message": 'Invalid value: "string": Value is immutable'}])

    def test_transition_rule_needs_old_value(self):
        """A transition rule is skipped when the field did not exist before."""
        s = CompiledSchema({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "n": {"type": "integer", "x-kubernetes-validations": [
                {"rule": "self >= oldSelf", "message": "may not decrease"}]}}}}})
        self.assertEqual(s.validate(cr({"n": 1}), cr({})), [])
        self.assertEqual(len(s.validate(cr({"n": 1}), cr({"n": 2}))), 1)

    def test_optional_old_self(self):
        """With optionalOldSelf the rule also runs on create, oldSelf being empty."""
        s = CompiledSchema({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "n": {"type": "integer", "x-kubernetes-validations": [{
                "rule": "oldSelf.hasValue() ? self >= oldSelf.value() : self < 10",
                "optionalOldSelf": True, "message": "bad n"}]}}}}})
        self.assertEqual(s.validate(cr({"n": 5})), [])
        self.assertEqual(len(s.validate(cr({"n": 50}))), 1)
        self.assertEqual(s.validate(cr({"n": 50}), cr({"n": 40})), [])
        self.assertEqual(len(s.validate(cr({"n": 30}), cr({"n": 40}))), 1)

    def test_list_map_items_correlate(self):
        """Items of a list-type=map list see their old item as oldSelf, matched by key."""
        s = CompiledSchema({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                      "items": {"type": "object", "required": ["name"], "properties": {
                          "name": {"type": "string"}, "port": {"type": "integer"}},
                          "x-kubernetes-validations": [{"rule": "self.port == oldSelf.port",
                                                         "message": "port is immutable"}]}}}}}})
        old = cr({"ports": [{"name": "a", "port": 1}, {"name": "b", "port": 2}]})
        new = cr({"ports": [{"name": "b", "port": 2}, {"name": "a", "port": 3}, {"name": "c", "port": 4}]})
        self.assertEqual([(c["field"], c["message"]) for c in s.validate(new, old)],
                         [("spec.ports[1]", 'Invalid value: "object": port is immutable')])

    def test_ratcheting(self):
        """An unchanged value is not re-checked by rules that do not use oldSelf."""
        s = schema_with(REPLICAS, [{"rule": "self.replicas <= self.maxReplicas", "message": "too many"}])
        bad = cr({"replicas": 20, "maxReplicas": 10})
        self.assertEqual(s.validate(bad, bad), [])

    def test_runtime_error(self):
        """A rule that fails to evaluate reports the error and the rule."""
        s = schema_with({"a": {"type": "integer"}}, [{"rule": "self.a > 0"}])
        self.assertEqual(s.validate(cr({}))[0]["message"],
                         'Invalid value: "object": no such key: a evaluating rule: self.a > 0')

    def test_skipped_after_schema_errors(self):
        """Rules are not run when the object already fails type or required checks."""
        s = schema_with(REPLICAS, [{"rule": "self.replicas <= self.maxReplicas"}], required=["replicas"])
        self.assertEqual(s.validate(cr({"maxReplicas": 1}))[1], {
            "reason": "FieldValueInvalid", "field": "<nil>",
            "message": 'Invalid value: "null": some validation rules were not checked because the object '
                       "was invalid; correct the existing errors to complete validation"})

    def test_escaped_property_names(self):
        """Property names are escaped as kube escapes them: x-y is x__dash__y, namespace is __namespace__."""
        self.assertEqual(escape("x-y"), "x__dash__y")
        self.assertEqual(escape("namespace"), "__namespace__")
        self.assertEqual(escape("a.b/c__d"), "a__dot__b__slash__c__underscores__d")
        self.assertIsNone(escape("1abc"))
        s = schema_with({"max-replicas": {"type": "integer"}, "replicas": {"type": "integer"}},
                        [{"rule": "self.replicas <= self.max__dash__replicas"}])
        self.assertEqual(s.validate(cr({"replicas": 1, "max-replicas": 2})), [])
        self.assertEqual(len(s.validate(cr({"replicas": 3, "max-replicas": 2}))), 1)

    def test_root_rule(self):
        """A rule at the root sees metadata and reports at the nil path, as kube-apiserver does."""
        s = CompiledSchema({"type": "object", "x-kubernetes-validations": [
            {"rule": "self.metadata.name.size() <= 3", "message": "name too long"}],
            "properties": {"spec": {"type": "object"}}})
        self.assertEqual(s.validate(cr({})), [])
        self.assertEqual(s.validate({"metadata": {"name": "abcd"}, "spec": {}}), [
            {"reason": "FieldValueInvalid", "field": "<nil>", "message": 'Invalid value: "object": name too long'}])

    def test_library_functions(self):
        """Kubernetes list and string library functions are available."""
        s = schema_with({"l": {"type": "array", "items": {"type": "integer"}}, "s": {"type": "string"}}, [
            {"rule": "self.l.isSorted() && self.l.sum() == 6 && self.l.max() == 3 && self.l.indexOf(2) == 1"},
            {"rule": "self.s.lowerAscii() == 'abc' && self.s.split('B').size() == 2 && self.s.substring(1) == 'Bc'"},
            {"rule": "self.s.find('[A-Z]') == 'B' && ['a', 'b'].join('-') == 'a-b' && self.s.charAt(0) == 'a'"},
        ])
        self.assertEqual(s.validate(cr({"l": [1, 2, 3], "s": "aBc"})), [])
        self.assertEqual(len(s.validate(cr({"l": [3, 2, 1], "s": "aBc"}))), 1)

    def test_timestamps_and_numbers(self):
        """date-time strings are timestamps and number fields are doubles in rules."""
        s = schema_with({"start": {"type": "string", "format": "date-time"},
                         "end": {"type": "string", "format": "date-time"},
                         "ratio": {"type": "number"}},
                        [{"rule": "self.start < self.end"}, {"rule": "self.ratio < 1.5"}])
        self.assertEqual(s.validate(cr({"start": "2024-01-01T00:00:00Z", "end": "2024-02-01T00:00:00Z",
                                        "ratio": 1})), [])
        self.assertEqual(len(s.validate(cr({"start": "2024-03-01T00:00:00Z", "end": "2024-02-01T00:00:00Z",
                                            "ratio": 2}))), 2)

    def test_unsupported_library_not_evaluated(self):
        """Rules using library functions we lack (url, quantity...) are accepted and not evaluated."""
        s = schema_with({"u": {"type": "string"}}, [{"rule": "isURL(self.u)"}, {"rule": "self.?u.orValue('') != ''"},
                                                   {"rule": "sets.contains(['a'], [self.u])"}])
        self.assertEqual(s.validate(cr({"u": "not a url"})), [])

    def test_field_path_into_map(self):
        """A fieldPath through additionalProperties names the key as spec.labels[key]."""
        s = schema_with({"labels": {"type": "object", "additionalProperties": {"type": "string"}}}, [
            {"rule": "!has(self.labels.team) || self.labels.team != ''", "message": "team must not be empty",
             "fieldPath": ".labels['team']"}])
        self.assertEqual(s.validate(cr({"labels": {"team": ""}})), [
            {"reason": "FieldValueInvalid", "field": "spec.labels[team]",
             "message": 'Invalid value: "object": team must not be empty'}])

    def test_ratcheting_under_unchanged_list(self):
        """Rules on items of an unchanged atomic list are not re-checked on update."""
        s = CompiledSchema({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "tags": {"type": "array", "items": {"type": "string", "x-kubernetes-validations": [
                {"rule": "self.size() < 3", "message": "tag too long"}]}},
            "other": {"type": "string"}}}}})
        old = cr({"tags": ["long"], "other": "a"})
        self.assertEqual(s.validate(cr({"tags": ["long"], "other": "b"}), old), [])
        self.assertEqual([c["field"] for c in s.validate(cr({"tags": ["long", "x"]}), old)], ["spec.tags[0]"])
