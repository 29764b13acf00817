"""Stored bytes: compact JSON as Go writes it, and unknown fields pruned as kube's decoder drops them."""

import json

from twisted.trial import unittest

from kapi_twisted.registry import _encoding


class CompactJSONTests(unittest.SynchronousTestCase):
    def test_same_text_as_json_dumps(self):
        """Stored and answered JSON is exactly json.dumps' compact, non-ASCII-escaping text."""
        values = [
            {"a": 1, "b": [1, 2.5, None, True, False], "c": {"d": "é\u2028\"\\x\n\x00"}},
            "text", 7, [], {}, 1e100, -0.0, 10 ** 30,
            {"nan": float("nan"), "inf": float("-inf")},
            {1: "int key", True: "bool key", None: "null key", 2.5: "float key"},
        ]
        for value in values:
            self.assertEqual(_encoding.compact_json(value),
                             json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    def test_values_json_cannot_hold_are_type_errors(self):
        """A value JSON cannot represent fails as json.dumps fails (TypeError)."""
        self.assertRaises(TypeError, _encoding.compact_json, {"x": object()})
        self.assertRaises(TypeError, _encoding.compact_json, {(1, 2): "tuple key"})
        # And the encoder still works afterwards.
        self.assertEqual(_encoding.compact_json({"x": [1]}), '{"x":[1]}')

    def test_stored_bytes_are_utf8_compact_json(self):
        """encode() stores UTF-8 compact JSON with apiVersion, kind and metadata first."""
        data = _encoding.encode({"data": {"k": "ü"}, "kind": "ConfigMap", "apiVersion": "v1",
                                 "metadata": {"resourceVersion": "5", "name": "a"}})
        self.assertEqual(data, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},'
                               '"data":{"k":"ü"}}'.encode("utf-8"))


class PruneTests(unittest.SynchronousTestCase):
    def test_unknown_fields_dropped_and_named(self):
        """Unknown fields anywhere (inside lists and maps too) are dropped and reported by path."""
        pod = {"apiVersion": "v1", "kind": "Pod", "bogus": 1,
               "metadata": {"name": "p", "labels": {"a": "b"}, "extra": {}},
               "spec": {"containers": [{"name": "c", "image": "x", "nope": True,
                                        "ports": [{"containerPort": 80, "bad": 1}]}],
                        "nodeSelector": {"k": "v"}}}
        for attempt in range(2):  # the second walk uses what the first worked out
            obj = json.loads(json.dumps(pod))
            removed = _encoding.prune("", "v1", "Pod", obj)
            self.assertEqual(removed, ["bogus", "metadata.extra", "spec.containers[0].nope",
                                       "spec.containers[0].ports[0].bad"])
            self.assertEqual(obj["spec"]["containers"][0],
                             {"name": "c", "image": "x", "ports": [{"containerPort": 80}]})
            self.assertEqual(obj["spec"]["nodeSelector"], {"k": "v"})

    def test_free_form_fields_are_kept(self):
        """Free-form members (a ConfigMap's data, managedFields' fieldsV1) keep every field."""
        cm = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "c", "managedFields": [
                  {"manager": "m", "fieldsV1": {"f:data": {"f:any": {}}}}]},
              "data": {"anything": "goes"}}
        obj = json.loads(json.dumps(cm))
        self.assertEqual(_encoding.prune("", "v1", "ConfigMap", obj), [])
        self.assertEqual(obj, cm)
