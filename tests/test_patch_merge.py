"""
Tests for L{kapi_twisted.patch.merge_patch}: RFC 7386 JSON merge patch.
"""

import copy

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.patch import PatchFormatError, merge_patch


# RFC 7386 appendix A: (original, patch, result).
APPENDIX_A = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


class RFC7386Tests(SynchronousTestCase):
    """
    The test cases of RFC 7386 appendix A.
    """

    def test_appendix_a(self):
        """Every example of the RFC gives the RFC's result."""
        for original, patch, expected in APPENDIX_A:
            self.assertEqual(
                merge_patch.apply(original, patch),
                expected,
                f"{original!r} + {patch!r}",
            )

    def test_input_not_mutated(self):
        """The document and the patch are unchanged and not aliased by the result."""
        doc = {"a": {"b": {"c": 1}, "l": [1]}, "x": 1}
        patch = {"a": {"b": {"d": 2}, "n": {"m": None, "k": 1}}, "x": None}
        doc_before, patch_before = copy.deepcopy(doc), copy.deepcopy(patch)
        result = merge_patch.apply(doc, patch)
        self.assertEqual(
            result, {"a": {"b": {"c": 1, "d": 2}, "l": [1], "n": {"k": 1}}}
        )
        self.assertEqual(doc, doc_before)
        self.assertEqual(patch, patch_before)
        result["a"]["l"].append(2)
        result["a"]["n"]["z"] = 1
        self.assertEqual(doc, doc_before)
        self.assertEqual(patch, patch_before)


class KubernetesMergePatchTests(SynchronousTestCase):
    """
    Merge patch as kubectl uses it on API objects.
    """

    def test_lists_replaced_whole(self):
        """A merge patch replaces a container list rather than merging it (kubectl docs)."""
        deployment = {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "patch-demo-ctr", "image": "nginx"},
                            {"name": "patch-demo-ctr-2", "image": "redis"},
                        ]
                    }
                }
            }
        }
        patch = {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "patch-demo-ctr-3",
                                "image": "gcr.io/google-samples/hello-app:2.0",
                            }
                        ]
                    }
                }
            }
        }
        result = merge_patch.apply(deployment, patch)
        self.assertEqual(
            result["spec"]["template"]["spec"]["containers"],
            [{"name": "patch-demo-ctr-3", "image": "gcr.io/google-samples/hello-app:2.0"}],
        )

    def test_label_removed_by_null(self):
        """kubectl label x- sends a null, which removes the label."""
        obj = {"metadata": {"name": "a", "labels": {"x": "1", "y": "2"}}}
        result = merge_patch.apply(obj, {"metadata": {"labels": {"x": None}}})
        self.assertEqual(result["metadata"], {"name": "a", "labels": {"y": "2"}})

    def test_apply_object_requires_object(self):
        """For an API object, a merge patch that is not an object is a 400."""
        for patch in (["c"], "bar", None, 1):
            e = self.assertRaises(
                PatchFormatError, merge_patch.apply_object, {"a": 1}, patch
            )
            self.assertEqual(e.code, 400)
        self.assertEqual(merge_patch.apply_object({"a": 1}, {"b": 2}), {"a": 1, "b": 2})
