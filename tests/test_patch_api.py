"""
Tests for the public surface of L{kapi_twisted.patch}.
"""

from twisted.trial.unittest import SynchronousTestCase

import kapi_twisted.patch as patch


class PublicSurfaceTests(SynchronousTestCase):
    """
    The names the REST layer relies on stay where they are.
    """

    def test_all(self):
        """The package exports the three algorithms, the errors and the schema adapter."""
        self.assertEqual(
            sorted(patch.__all__),
            sorted(
                [
                    "decode",
                    "json_patch",
                    "merge_patch",
                    "strategic",
                    "PatchFailure",
                    "PatchError",
                    "PatchFormatError",
                    "PatchTooLargeError",
                    "PatchSchema",
                    "OpenAPIPatchSchema",
                    "find_definition",
                ]
            ),
        )
        for name in patch.__all__:
            self.assertTrue(hasattr(patch, name), name)

    def test_error_codes(self):
        """Each error carries the HTTP code and reason kube-apiserver answers with."""
        self.assertEqual(
            [(e.code, e.reason) for e in (patch.PatchError, patch.PatchFormatError, patch.PatchTooLargeError)],
            [(422, "Invalid"), (400, "BadRequest"), (413, "RequestEntityTooLarge")],
        )
        for cls in (patch.PatchError, patch.PatchFormatError, patch.PatchTooLargeError):
            self.assertTrue(issubclass(cls, patch.PatchFailure))
            self.assertEqual(cls("boom").message, "boom")
        self.assertFalse(issubclass(patch.PatchFormatError, patch.PatchError))
