"""
Pruning and defaulting of custom objects, from the Kubernetes CRD docs: what
a client reads back after creating an object with unknown fields, nulls or
absent fields.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.apiextensions.schema import CompiledSchema, apply_defaults, prune

DEFAULTED = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "cronSpec": {"type": "string", "pattern": r"^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$",
                             "default": "5 0 * * *"},
                "image": {"type": "string"},
                "replicas": {"type": "integer", "minimum": 1, "default": 1},
            },
        },
    },
}


class PruningTests(SynchronousTestCase):
    def test_unknown_fields_dropped(self):
        """A field the schema does not specify is dropped and reported by its path."""
        o = {"apiVersion": "stable.example.com/v1", "kind": "CronTab", "metadata": {"name": "a", "labelz": {}},
             "spec": {"cronSpec": "* * * * */5", "image": "my-awesome-cron-image", "junk": {"a": 1}},
             "someRandomField": 42}
        pruned, unknown = prune(o, DEFAULTED)
        self.assertEqual(unknown, ["metadata.labelz", "someRandomField", "spec.junk"])
        self.assertEqual(pruned, {"apiVersion": "stable.example.com/v1", "kind": "CronTab",
                                  "metadata": {"name": "a"},
                                  "spec": {"cronSpec": "* * * * */5", "image": "my-awesome-cron-image"}})

    def test_list_items(self):
        """Unknown fields inside list items are reported as spec.list[i].field."""
        schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}}}}}}
        o = {"spec": {"items": [{"name": "a"}, {"name": "b", "extra": True}]}}
        self.assertEqual(prune(o, schema)[1], ["spec.items[1].extra"])
        self.assertEqual(o, {"spec": {"items": [{"name": "a"}, {"name": "b"}]}})

    def test_preserve_unknown_fields(self):
        """x-kubernetes-preserve-unknown-fields keeps unknown fields, but specified ones are still pruned."""
        schema = {"type": "object", "properties": {"json": {
            "x-kubernetes-preserve-unknown-fields": True, "type": "object",
            "properties": {"spec": {"type": "object", "properties": {"foo": {"type": "string"},
                                                                     "bar": {"type": "string"}}}}}}}
        o = {"json": {"spec": {"foo": "abc", "bar": "def", "something": "x"}, "status": {"something": "x"}}}
        self.assertEqual(prune(o, schema)[1], ["json.spec.something"])
        self.assertEqual(o, {"json": {"spec": {"foo": "abc", "bar": "def"}, "status": {"something": "x"}}})

    def test_embedded_resource_keeps_type_and_object_meta(self):
        """An embedded resource keeps apiVersion, kind and metadata; the rest is pruned."""
        schema = {"type": "object", "properties": {"foo": {
            "type": "object", "x-kubernetes-embedded-resource": True,
            "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}
        o = {"foo": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "nam": "q"},
                     "spec": {"containers": []}, "status": {}}}
        self.assertEqual(prune(o, schema)[1], ["foo.metadata.nam", "foo.status"])
        self.assertEqual(o["foo"], {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                    "spec": {"containers": []}})

    def test_nulls(self):
        """Nulls survive only in nullable fields or where a default will replace them."""
        schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "foo": {"type": "string", "nullable": False, "default": "default"},
            "bar": {"type": "string", "nullable": True},
            "baz": {"type": "string"}}}}}
        o = {"spec": {"foo": None, "bar": None, "baz": None}}
        compiled = CompiledSchema(schema)
        self.assertEqual(compiled.prune(o), [])
        compiled.default(o)
        self.assertEqual(o, {"spec": {"foo": "default", "bar": None}})


    def test_no_schema_prunes_nothing(self):
        """Without a schema nothing is pruned."""
        o = {"spec": {"a": 1}}
        self.assertEqual(CompiledSchema(None).prune(o), [])
        self.assertEqual(o, {"spec": {"a": 1}})


class DefaultingTests(SynchronousTestCase):
    def test_docs_example(self):
        """Absent cronSpec and replicas take the schema's defaults."""
        o = {"spec": {"image": "my-awesome-cron-image"}}
        self.assertEqual(apply_defaults(o, DEFAULTED),
                         {"spec": {"image": "my-awesome-cron-image", "cronSpec": "5 0 * * *", "replicas": 1}})

    def test_present_values_kept(self):
        """A field that is set keeps its value."""
        o = {"spec": {"cronSpec": "* * * * */5", "replicas": 3}}
        self.assertEqual(apply_defaults(o, DEFAULTED), {"spec": {"cronSpec": "* * * * */5", "replicas": 3}})

    def test_nested_defaults_in_default(self):
        """A defaulted object is defaulted inside too."""
        schema = {"type": "object", "properties": {"spec": {"type": "object", "default": {}, "properties": {
            "a": {"type": "integer", "default": 5}}}}}
        self.assertEqual(apply_defaults({}, schema), {"spec": {"a": 5}})

    def test_items_and_maps(self):
        """Defaults apply inside list items and map values, and replace non-nullable nulls there."""
        schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "ports": {"type": "array", "items": {"type": "object", "properties": {
                "protocol": {"type": "string", "default": "TCP"}}}},
            "m": {"type": "object", "additionalProperties": {"type": "string", "default": "x"}}}}}}
        o = {"spec": {"ports": [{}, {"protocol": "UDP"}], "m": {"a": None, "b": "y"}}}
        apply_defaults(o, schema)
        self.assertEqual(o, {"spec": {"ports": [{"protocol": "TCP"}, {"protocol": "UDP"}],
                                      "m": {"a": "x", "b": "y"}}})

    def test_default_values_are_copies(self):
        """Two objects defaulted from one schema do not share the default value."""
        schema = {"type": "object", "properties": {"l": {"type": "array", "items": {"type": "string"},
                                                         "default": ["a"]}}}
        a = apply_defaults({}, schema)
        a["l"].append("b")
        self.assertEqual(apply_defaults({}, schema), {"l": ["a"]})
