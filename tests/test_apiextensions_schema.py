"""
Validation of custom objects against a CRD version's structural schema: the
causes of the 422 a client sees, with kube-apiserver's field paths and words.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.apiextensions.schema import CompiledSchema, validate
from kapi_twisted.apiextensions.schema._fielderr import go_float, go_sharp_v

CRONTAB = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "cronSpec": {"type": "string", "pattern": r"^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$"},
                "image": {"type": "string"},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 10},
            },
        },
    },
}


def obj(spec: dict) -> dict:
    return {"apiVersion": "stable.example.com/v1", "kind": "CronTab",
            "metadata": {"name": "my-new-cron-object"}, "spec": spec}


def spec_schema(props: dict, **extra) -> dict:
    spec = {"type": "object", "properties": props}
    spec.update(extra)
    return {"type": "object", "properties": {"spec": spec}}


def messages(causes):
    return [(c["field"], c["message"]) for c in causes]


class OpenAPIValidationTests(SynchronousTestCase):
    def test_crontab_doc_example(self):
        """The CronTab from the Kubernetes docs is refused for its cronSpec and replicas."""
        causes = validate(obj({"cronSpec": "* * * *", "image": "my-awesome-cron-image", "replicas": 15}), CRONTAB)
        self.assertEqual(messages(causes), [
            ("spec.cronSpec", "Invalid value: \"* * * *\": spec.cronSpec in body should match "
                              "'^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'"),
            ("spec.replicas", "Invalid value: 15: spec.replicas in body should be less than or equal to 10"),
        ])
        self.assertEqual([c["reason"] for c in causes], ["FieldValueInvalid", "FieldValueInvalid"])

    def test_valid_object(self):
        """A valid CronTab has no causes."""
        self.assertEqual(validate(obj({"cronSpec": "* * * * */5", "replicas": 3}), CRONTAB), [])

    def test_wrong_type(self):
        """A string where an integer belongs is a FieldValueTypeInvalid naming both types."""
        causes = validate(obj({"replicas": "three"}), CRONTAB)
        self.assertEqual(causes, [{
            "reason": "FieldValueTypeInvalid", "field": "spec.replicas",
            "message": 'Invalid value: "string": spec.replicas in body must be of type integer: "string"',
        }])

    def test_integral_float_is_an_integer(self):
        """2.0 is accepted where an integer is expected, 2.5 is not."""
        self.assertEqual(validate(obj({"replicas": 2.0}), CRONTAB), [])
        self.assertEqual(messages(validate(obj({"replicas": 2.5}), CRONTAB)), [
            ("spec.replicas", 'Invalid value: "number": spec.replicas in body must be of type integer: "number"')])

    def test_null_needs_nullable(self):
        """null in a non-nullable field is a type error; nullable fields accept it."""
        schema = spec_schema({"a": {"type": "string"}, "b": {"type": "string", "nullable": True}})
        self.assertEqual(messages(validate(obj({"a": None, "b": None}), schema)), [
            ("spec.a", 'Invalid value: "null": spec.a in body must be of type string: "null"')])

    def test_required(self):
        """A missing required field is a Required value at its path."""
        schema = spec_schema({"image": {"type": "string"}}, required=["image"])
        self.assertEqual(validate(obj({}), schema), [
            {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.image"}])
        root_required = {"type": "object", "required": ["spec"], "properties": {"spec": {"type": "object"}}}
        self.assertEqual(messages(validate({"metadata": {}}, root_required)), [("spec", "Required value")])

    def test_enum(self):
        """A value outside the enum is Unsupported, listing the values (JSON for non-strings)."""
        schema = spec_schema({"mode": {"type": "string", "enum": ["a", "b"]},
                              "n": {"type": "integer", "enum": [1, 2]}})
        self.assertEqual(validate(obj({"mode": "x", "n": 3}), schema), [
            {"reason": "FieldValueNotSupported", "field": "spec.mode",
             "message": 'Unsupported value: "x": supported values: "a", "b"'},
            {"reason": "FieldValueNotSupported", "field": "spec.n",
             "message": 'Unsupported value: 3: supported values: "1", "2"'},
        ])

    def test_string_lengths_count_characters(self):
        """maxLength and minLength count Unicode characters, not bytes."""
        schema = spec_schema({"s": {"type": "string", "maxLength": 3, "minLength": 2}})
        self.assertEqual(validate(obj({"s": "äöü"}), schema), [])
        self.assertEqual(validate(obj({"s": "abcd"}), schema), [
            {"reason": "FieldValueTooLong", "field": "spec.s", "message": "Too long: may not be more than 3 bytes"}])
        self.assertEqual(messages(validate(obj({"s": "a"}), schema)), [
            ("spec.s", 'Invalid value: "a": spec.s in body should be at least 2 chars long')])

    def test_numbers(self):
        """Bounds, exclusive bounds and multipleOf are worded as kube-openapi words them."""
        schema = spec_schema({
            "i": {"type": "integer", "minimum": 0, "exclusiveMinimum": True, "multipleOf": 5},
            "f": {"type": "number", "maximum": 1.5, "exclusiveMaximum": True},
        })
        self.assertEqual(messages(validate(obj({"i": 0, "f": 1.5}), schema)), [
            ("spec.i", "Invalid value: 0: spec.i in body should be greater than 0"),
            ("spec.f", "Invalid value: 1.5: spec.f in body should be less than 1.5"),
        ])
        self.assertEqual(messages(validate(obj({"i": 7}), schema)), [
            ("spec.i", "Invalid value: 7: spec.i in body should be a multiple of 5")])

    def test_arrays(self):
        """Items are validated at spec.list[i]; minItems and maxItems at the list."""
        schema = spec_schema({"items": {"type": "array", "minItems": 1, "maxItems": 2, "items": {
            "type": "object", "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}}}}})
        self.assertEqual(messages(validate(obj({"items": [{"name": "a"}, {"name": "b"}, {"name": "C"}]}), schema)), [
            ("spec.items[2].name", "Invalid value: \"C\": spec.items[2].name in body should match '^[a-z]+$'"),
            ("spec.items", "Too many: 3: must have at most 2 items"),
        ])
        self.assertEqual(messages(validate(obj({"items": []}), schema)), [
            ("spec.items", "Invalid value: 0: spec.items in body should have at least 1 items")])

    def test_maps(self):
        """additionalProperties values are validated at spec.map.key, property counts at the map."""
        schema = spec_schema({"labels": {"type": "object", "maxProperties": 2,
                                         "additionalProperties": {"type": "string", "minLength": 2}}})
        self.assertEqual(messages(validate(obj({"labels": {"a": "b"}}), schema)), [
            ("spec.labels.a", 'Invalid value: "b": spec.labels.a in body should be at least 2 chars long')])
        self.assertEqual(messages(validate(obj({"labels": {"a": "bb", "c": "dd", "e": "ff"}}), schema)), [
            ("spec.labels", "Too many: 3: must have at most 2 items")])

    def test_int_or_string(self):
        """x-kubernetes-int-or-string accepts 80 and "http" but not 1.5 or true."""
        schema = spec_schema({"port": {"x-kubernetes-int-or-string": True}})
        self.assertEqual(validate(obj({"port": 80}), schema), [])
        self.assertEqual(validate(obj({"port": "http"}), schema), [])
        self.assertEqual(messages(validate(obj({"port": True}), schema)), [
            ("spec.port", 'Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"')])

    def test_formats(self):
        """Supported string formats are checked; unknown formats are ignored."""
        schema = spec_schema({
            "ip": {"type": "string", "format": "ipv4"},
            "when": {"type": "string", "format": "date-time"},
            "id": {"type": "string", "format": "uuid"},
            "other": {"type": "string", "format": "no-such-format"},
        })
        good = {"ip": "10.0.0.1", "when": "2024-05-01T12:00:00Z",
                "id": "123e4567-e89b-12d3-a456-426614174000", "other": "anything"}
        self.assertEqual(validate(obj(good), schema), [])
        self.assertEqual(messages(validate(obj({"ip": "10.0.0.256", "when": "yesterday"}), schema)), [
            ("spec.ip", 'Invalid value: "10.0.0.256": spec.ip in body must be of type ipv4: "10.0.0.256"'),
            ("spec.when", 'Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"'),
        ])

    def test_more_formats(self):
        """email, hostname, cidr, mac, byte, duration and quantity formats are checked."""
        cases = {
            "email": ("a@example.com", "not-an-email"),
            "hostname": ("my-host.example.com", "-bad-"),
            "cidr": ("10.0.0.0/8", "10.0.0.0"),
            "mac": ("01:23:45:67:89:ab", "01:23:45"),
            "byte": ("aGVsbG8=", "!!"),
            "duration": ("1h30m", "soon"),
            "quantity": ("10Gi", "ten"),
            "ipv6": ("::1", "1.2.3.4"),
        }
        for fmt, (good, bad) in cases.items():
            schema = spec_schema({"v": {"type": "string", "format": fmt}})
            self.assertEqual(validate(obj({"v": good}), schema), [], fmt)
            self.assertEqual(len(validate(obj({"v": bad}), schema)), 1, fmt)

    def test_junctors(self):
        """anyOf/oneOf/not failures add kube-openapi's generic message at the <nil> path."""
        schema = spec_schema({"v": {"type": "integer", "anyOf": [{"minimum": 10}, {"maximum": 0}]},
                              "w": {"type": "integer", "not": {"minimum": 5}}})
        self.assertEqual(messages(validate(obj({"v": 5, "w": 7}), schema)), [
            ("<nil>", 'Invalid value: "": "spec.v" must validate at least one schema (anyOf)'),
            ("spec.v", "Invalid value: 5: spec.v in body should be greater than or equal to 10"),
            ("<nil>", 'Invalid value: "": "spec.w" must not validate the schema (not)'),
        ])

    def test_list_type_set(self):
        """A duplicate in an x-kubernetes-list-type=set list is a Duplicate value at its index."""
        schema = spec_schema({"tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}})
        self.assertEqual(validate(obj({"tags": ["a", "b", "a", "a"]}), schema), [
            {"reason": "FieldValueDuplicate", "field": "spec.tags[2]", "message": 'Duplicate value: "a"'}])

    def test_list_type_map(self):
        """Two items of a list-type=map list with the same keys are a Duplicate value."""
        schema = spec_schema({"ports": {
            "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["port", "protocol"],
            "items": {"type": "object", "required": ["port"], "properties": {
                "port": {"type": "integer"}, "protocol": {"type": "string", "default": "TCP"}}}}})
        ports = [{"port": 80, "protocol": "TCP"}, {"port": 80, "protocol": "UDP"}, {"port": 80, "protocol": "TCP"}]
        self.assertEqual(messages(validate(obj({"ports": ports}), schema)), [
            ("spec.ports[2]", 'Duplicate value: map[string]interface {}{"port":80, "protocol":"TCP"}')])

    def test_embedded_resource(self):
        """An embedded resource needs apiVersion and kind, and its metadata is validated."""
        schema = spec_schema({"template": {"type": "object", "x-kubernetes-embedded-resource": True,
                                           "x-kubernetes-preserve-unknown-fields": True}})
        self.assertEqual(validate(obj({"template": {"apiVersion": "v1", "kind": "Pod",
                                                    "metadata": {"name": "a"}}}), schema), [])
        self.assertEqual(messages(validate(obj({"template": {"metadata": {"labels": {"a": "b c"}}}}), schema)), [
            ("spec.template.apiVersion", "Required value: must not be empty"),
            ("spec.template.kind", "Required value: must not be empty"),
            ("spec.template.metadata.labels", 'Invalid value: "b c": a valid label must be an empty string or '
             "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
             "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
             "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"),
        ])

    def test_ratcheting(self):
        """On update an unchanged invalid value is accepted; a changed one is not."""
        old = obj({"replicas": 15, "image": "a"})
        self.assertEqual(CompiledSchema(CRONTAB).validate(obj({"replicas": 15, "image": "b"}), old), [])
        self.assertEqual(len(CompiledSchema(CRONTAB).validate(obj({"replicas": 16}), old)), 1)


class GoFormattingTests(SynchronousTestCase):
    def test_float(self):
        """Floats print as Go's %v prints a float64."""
        self.assertEqual([go_float(f) for f in (1.0, 1.5, 123456.0, 1e6, 1234567.0, 1e-5)],
                         ["1", "1.5", "123456", "1e+06", "1.234567e+06", "1e-05"])

    def test_sharp_v(self):
        """Maps and slices print as Go's %#v of decoded JSON."""
        self.assertEqual(go_sharp_v({"b": [1, "x", None], "a": True}),
                         'map[string]interface {}{"a":true, "b":[]interface {}{1, "x", interface {}(nil)}}')


class CustomResourceTests(SynchronousTestCase):
    def check(self, o, old=None, scale=None):
        from kapi_twisted.apiextensions.schema import validate_custom_resource

        return messages(validate_custom_resource(
            o, CompiledSchema(CRONTAB), kind="CronTab", api_version="stable.example.com/v1",
            namespaced=True, old=old, scale=scale))

    def test_type_meta_first(self):
        """A wrong kind or apiVersion is reported alone."""
        o = obj({"replicas": 50})
        o["kind"] = "Other"
        self.assertEqual(self.check(o), [("kind", 'Invalid value: "Other": must be CronTab')])

    def test_metadata_then_schema(self):
        """Metadata errors (DNS subdomain names, namespace) come before schema errors."""
        o = obj({"replicas": 50})
        o["metadata"] = {"name": "Bad_Name"}
        got = self.check(o)
        self.assertEqual([f for f, _ in got], ["metadata.name", "metadata.namespace", "spec.replicas"])
        self.assertTrue(got[0][1].startswith('Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain'))

    def test_scale_fields(self):
        """The scale subresource's replica fields must be non-negative integers."""
        scale = {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}
        o = obj({"replicas": 2})
        o["metadata"]["namespace"] = "default"
        o["status"] = {"replicas": -1}
        self.assertEqual(self.check(o, scale=scale),
                         [(".status.replicas", "Invalid value: -1: should be a non-negative integer")])


class PublicSurfaceTests(SynchronousTestCase):
    def test_names(self):
        """The schema package exports the documented names."""
        from kapi_twisted.apiextensions import schema

        self.assertEqual(sorted(schema.__all__), sorted([
            "CompiledSchema", "Node", "compile_node", "validate", "prune", "apply_defaults",
            "validate_custom_resource", "validate_scale", "unknown_field_warnings", "strict_decoding_error"]))

    def test_cached(self):
        """Equal schemas share one compiled schema."""
        self.assertIs(CompiledSchema.cached(CRONTAB), CompiledSchema.cached(dict(CRONTAB)))

    def test_field_validation_texts(self):
        """Pruned paths become kube's Warn and Strict texts."""
        from kapi_twisted.apiextensions.schema import strict_decoding_error, unknown_field_warnings

        self.assertEqual(unknown_field_warnings(["spec.foo"]), ['unknown field "spec.foo"'])
        self.assertEqual(strict_decoding_error(["spec.a", "spec.b"]),
                         'strict decoding error: unknown field "spec.a", unknown field "spec.b"')

    def test_atomic_map_not_ratcheted_per_entry(self):
        """Entries of an atomic map are re-validated when the map changes."""
        schema = CompiledSchema(spec_schema({"m": {"type": "object", "x-kubernetes-map-type": "atomic",
                                                   "additionalProperties": {"type": "string", "maxLength": 1}}}))
        old = obj({"m": {"a": "xx"}})
        self.assertEqual(schema.validate(obj({"m": {"a": "xx", "b": "y"}}), old)[0]["field"], "spec.m.a")
        granular = CompiledSchema(spec_schema({"m": {"type": "object",
                                                     "additionalProperties": {"type": "string", "maxLength": 1}}}))
        self.assertEqual(granular.validate(obj({"m": {"a": "xx", "b": "y"}}), old), [])
