"""
Tests for L{kapi_twisted.patch.json_patch}: RFC 6902 with kube-apiserver's
limits and edge behaviour.
"""

import copy
import json

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.patch import (
    PatchError,
    PatchFailure,
    PatchFormatError,
    PatchTooLargeError,
    decode,
    json_patch,
)


class RFC6902AppendixATests(SynchronousTestCase):
    """
    The examples of RFC 6902 appendix A.
    """

    def check(self, doc, patch, expected):
        self.assertEqual(json_patch.apply(doc, patch), expected)

    def test_add_object_member(self):
        """A.1: adding a member to an object."""
        self.check(
            {"foo": "bar"},
            [{"op": "add", "path": "/baz", "value": "qux"}],
            {"baz": "qux", "foo": "bar"},
        )

    def test_add_array_element(self):
        """A.2: adding into an array shifts the later elements."""
        self.check(
            {"foo": ["bar", "baz"]},
            [{"op": "add", "path": "/foo/1", "value": "qux"}],
            {"foo": ["bar", "qux", "baz"]},
        )

    def test_remove_object_member(self):
        """A.3: removing a member."""
        self.check(
            {"baz": "qux", "foo": "bar"},
            [{"op": "remove", "path": "/baz"}],
            {"foo": "bar"},
        )

    def test_remove_array_element(self):
        """A.4: removing an array element."""
        self.check(
            {"foo": ["bar", "qux", "baz"]},
            [{"op": "remove", "path": "/foo/1"}],
            {"foo": ["bar", "baz"]},
        )

    def test_replace_value(self):
        """A.5: replacing a value."""
        self.check(
            {"baz": "qux", "foo": "bar"},
            [{"op": "replace", "path": "/baz", "value": "boo"}],
            {"baz": "boo", "foo": "bar"},
        )

    def test_move_value(self):
        """A.6: moving a member between objects."""
        self.check(
            {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
            [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
            {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
        )

    def test_move_array_element(self):
        """A.7: moving an element within an array."""
        self.check(
            {"foo": ["all", "grass", "cows", "eat"]},
            [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
            {"foo": ["all", "cows", "eat", "grass"]},
        )

    def test_test_success(self):
        """A.8: passing tests leave the document as it was."""
        doc = {"baz": "qux", "foo": ["a", 2, "c"]}
        self.check(
            doc,
            [
                {"op": "test", "path": "/baz", "value": "qux"},
                {"op": "test", "path": "/foo/1", "value": 2},
            ],
            doc,
        )

    def test_test_failure(self):
        """A.9: a failing test fails the patch with a 422 error."""
        e = self.assertRaises(
            PatchError,
            json_patch.apply,
            {"baz": "qux"},
            [{"op": "test", "path": "/baz", "value": "bar"}],
        )
        self.assertEqual(e.code, 422)
        self.assertEqual(e.reason, "Invalid")
        self.assertEqual(e.message, "testing value /baz failed: test failed")

    def test_add_nested_member(self):
        """A.10: adding an object value."""
        self.check(
            {"foo": "bar"},
            [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
            {"foo": "bar", "child": {"grandchild": {}}},
        )

    def test_ignore_unrecognized_members(self):
        """A.11: unknown members of an operation are ignored."""
        self.check(
            {"foo": "bar"},
            [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
            {"foo": "bar", "baz": "qux"},
        )

    def test_add_to_missing_target(self):
        """A.12: adding below a member that does not exist fails."""
        e = self.assertRaises(
            PatchError,
            json_patch.apply,
            {"foo": "bar"},
            [{"op": "add", "path": "/baz/bat", "value": "qux"}],
        )
        self.assertIn('doc is missing path: "/baz/bat"', e.message)

    def test_escaped_pointer(self):
        """A.14: ~01 in a pointer is the member named ~1."""
        self.check(
            {"/": 9, "~1": 10},
            [{"op": "test", "path": "/~01", "value": 10}],
            {"/": 9, "~1": 10},
        )
        self.check(
            {"/": 9, "~1": 10},
            [{"op": "replace", "path": "/~1", "value": 8}],
            {"/": 8, "~1": 10},
        )

    def test_strings_are_not_numbers(self):
        """A.15: the string "10" does not test equal to the number 10."""
        self.assertRaises(
            PatchError,
            json_patch.apply,
            {"/": 9, "~1": 10},
            [{"op": "test", "path": "/~01", "value": "10"}],
        )

    def test_add_array_value(self):
        """A.16: appending with - adds the array as one element."""
        self.check(
            {"foo": ["bar"]},
            [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
            {"foo": ["bar", ["abc", "def"]]},
        )


class KubernetesBehaviourTests(SynchronousTestCase):
    """
    Limits and edge cases where kube-apiserver's JSON patch is the spec.
    """

    def test_ten_thousand_operations_allowed(self):
        """A patch of exactly 10,000 operations is applied."""
        ops = [{"op": "test", "path": "/a", "value": 1}] * 10000
        self.assertEqual(json_patch.apply({"a": 1}, ops), {"a": 1})

    def test_too_many_operations(self):
        """More than 10,000 operations is a 413 with kube-apiserver's message."""
        ops = [{"op": "test", "path": "/a", "value": 1}] * 10001
        e = self.assertRaises(PatchTooLargeError, json_patch.apply, {"a": 1}, ops)
        self.assertEqual(e.code, 413)
        self.assertEqual(e.reason, "RequestEntityTooLarge")
        self.assertEqual(
            e.message,
            "Request entity too large: The allowed maximum operations in a JSON "
            "patch is 10000, got 10001",
        )

    def test_copy_limit(self):
        """Copies adding up to more than 3 MiB of JSON fail the patch (422)."""
        big = "x" * (1024 * 1024 - 2)  # 1 MiB encoded, quotes included
        ops = [{"op": "copy", "from": "/a", "path": "/b%d" % i} for i in range(4)]
        e = self.assertRaises(PatchError, json_patch.apply, {"a": big}, ops)
        self.assertIn("exceeding the limit 3145728", e.message)
        self.assertEqual(len(json_patch.apply({"a": big}, ops[:3])), 4)

    def test_copy_is_independent(self):
        """A copied value is a copy: later changes to it leave the source alone."""
        result = json_patch.apply(
            {"a": {"x": 1}},
            [
                {"op": "copy", "from": "/a", "path": "/b"},
                {"op": "add", "path": "/b/y", "value": 2},
            ],
        )
        self.assertEqual(result, {"a": {"x": 1}, "b": {"x": 1, "y": 2}})

    def test_kopf_resource_version_precondition(self):
        """kopf's test-then-patch succeeds on a match and is 422 on a race."""
        obj = {"metadata": {"name": "a", "resourceVersion": "5"}, "spec": {}}
        ops = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": "5"},
            {"op": "add", "path": "/spec/x", "value": 1},
        ]
        self.assertEqual(json_patch.apply(obj, ops)["spec"], {"x": 1})
        obj["metadata"]["resourceVersion"] = "6"
        e = self.assertRaises(PatchError, json_patch.apply, obj, ops)
        self.assertEqual(e.code, 422)

    def test_negative_index(self):
        """A negative index counts from the end, as kube-apiserver allows."""
        ops = [{"op": "remove", "path": "/a/-1"}]
        self.assertEqual(json_patch.apply({"a": [1, 2, 3]}, ops), {"a": [1, 2]})
        ops = [{"op": "add", "path": "/a/-1", "value": 9}]
        self.assertEqual(json_patch.apply({"a": [1, 2]}, ops), {"a": [1, 2, 9]})

    def test_index_out_of_range(self):
        """Adding past the end or removing a missing element fails."""
        self.assertRaises(
            PatchError,
            json_patch.apply,
            {"a": [1]},
            [{"op": "add", "path": "/a/2", "value": 0}],
        )
        self.assertRaises(
            PatchError, json_patch.apply, {"a": [1]}, [{"op": "remove", "path": "/a/1"}]
        )
        self.assertRaises(
            PatchError,
            json_patch.apply,
            {"a": [1]},
            [{"op": "replace", "path": "/a/1", "value": 0}],
        )

    def test_add_at_end_index(self):
        """Adding at index len(array) appends."""
        self.assertEqual(
            json_patch.apply({"a": [1]}, [{"op": "add", "path": "/a/1", "value": 2}]),
            {"a": [1, 2]},
        )

    def test_non_numeric_index(self):
        """An array index that is not a number fails the patch."""
        self.assertRaises(
            PatchError,
            json_patch.apply,
            {"a": [1]},
            [{"op": "add", "path": "/a/x", "value": 2}],
        )

    def test_remove_missing_member(self):
        """Removing a member that is not there fails."""
        e = self.assertRaises(
            PatchError, json_patch.apply, {"a": 1}, [{"op": "remove", "path": "/b"}]
        )
        self.assertIn("Unable to remove nonexistent key: b", e.message)

    def test_replace_missing_member_adds(self):
        """Replacing a missing object member adds it, as kube-apiserver does."""
        self.assertEqual(
            json_patch.apply({"a": 1}, [{"op": "replace", "path": "/b", "value": 2}]),
            {"a": 1, "b": 2},
        )

    def test_test_missing_member(self):
        """A missing member tests equal to null and to nothing else."""
        json_patch.apply({"a": 1}, [{"op": "test", "path": "/b", "value": None}])
        self.assertRaises(
            PatchError,
            json_patch.apply,
            {"a": 1},
            [{"op": "test", "path": "/b", "value": 1}],
        )

    def test_test_compares_structures(self):
        """test compares objects and arrays deeply, and true is not 1."""
        doc = {"a": {"b": [1, {"c": True}]}}
        json_patch.apply(doc, [{"op": "test", "path": "/a", "value": {"b": [1, {"c": True}]}}])
        self.assertRaises(
            PatchError,
            json_patch.apply,
            doc,
            [{"op": "test", "path": "/a/b/1/c", "value": 1}],
        )
        self.assertRaises(
            PatchError,
            json_patch.apply,
            doc,
            [{"op": "test", "path": "/a", "value": {"b": [1, {"c": True}], "d": 1}}],
        )

    def test_root_pointer_rejected(self):
        """The whole-document pointer "" is not a target (422)."""
        self.assertRaises(
            PatchError,
            json_patch.apply,
            {"a": 1},
            [{"op": "replace", "path": "", "value": {}}],
        )

    def test_move_into_own_child(self):
        """Moving a value into its own child fails."""
        self.assertRaises(
            PatchError,
            json_patch.apply,
            {"a": {"b": {}}},
            [{"op": "move", "from": "/a", "path": "/a/b/c"}],
        )

    def test_missing_path_field(self):
        """An operation without its path is a 422, not a crash."""
        self.assertRaises(PatchError, json_patch.apply, {}, [{"op": "add", "value": 1}])
        self.assertRaises(
            PatchError, json_patch.apply, {}, [{"op": "add", "path": 5, "value": 1}]
        )

    def test_unknown_operation(self):
        """An unknown op is a 422 naming it."""
        e = self.assertRaises(
            PatchError, json_patch.apply, {}, [{"op": "frobnicate", "path": "/a"}]
        )
        self.assertEqual(e.message, "Unexpected kind: frobnicate")

    def test_malformed_documents(self):
        """A body that is not a list of objects is a 400."""
        for body in ({"op": "add"}, "x", None, [1], [["op"]]):
            e = self.assertRaises(PatchFormatError, json_patch.apply, {}, body)
            self.assertEqual(e.code, 400)
            self.assertEqual(e.reason, "BadRequest")
            self.assertIsInstance(e, PatchFailure)

    def test_invalid_json_body(self):
        """decode() turns invalid JSON into a 400."""
        self.assertRaises(PatchFormatError, decode, b"[{")
        self.assertEqual(decode(b'[{"op":"test"}]'), [{"op": "test"}])

    def test_input_not_mutated(self):
        """Neither the document nor the patch is changed, and the result aliases neither."""
        doc = {"a": {"b": [1, 2]}, "c": {"d": 1}}
        ops = [
            {"op": "add", "path": "/a/b/-", "value": {"n": 1}},
            {"op": "add", "path": "/a/b/2/m", "value": 2},
            {"op": "remove", "path": "/c/d"},
            {"op": "move", "from": "/a/b/0", "path": "/e"},
        ]
        doc_before, ops_before = copy.deepcopy(doc), copy.deepcopy(ops)
        result = json_patch.apply(doc, ops)
        self.assertEqual(doc, doc_before)
        self.assertEqual(ops, ops_before)
        self.assertEqual(result, {"a": {"b": [2, {"n": 1, "m": 2}]}, "c": {}, "e": 1})
        result["a"]["b"].append(3)
        self.assertEqual(doc, doc_before)

    def test_error_messages_are_json_safe(self):
        """Error messages are plain strings a Status can carry."""
        e = self.assertRaises(
            PatchError, json_patch.apply, {}, [{"op": "remove", "path": "/x~1y"}]
        )
        json.dumps(e.message)
        self.assertIn("x/y", e.message)
