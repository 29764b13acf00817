"""
Quantities as kube-apiserver writes them back: canonical forms, strings Go
keeps verbatim, rounding of resource lists to a milli-unit.
"""

from __future__ import annotations

from fractions import Fraction

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.registry.defaults import _quantity as q


class CanonicalTests(SynchronousTestCase):

    def test_canonical_forms(self) -> None:
        """Values come back in the form `kubectl get -o yaml` shows on a real cluster."""
        cases = {
            "0.5": "500m", "1000m": "1", "1024Mi": "1Gi", "1.5Gi": "1536Mi",
            "15000": "15k", "0.25": "250m", "2048Ki": "2Mi", "01": "1", "0": "0",
            "0m": "0", "1e3": "1e3", "1E3": "1E3", "100m": "100m", "128Mi": "128Mi",
            "1500": "1500", "512": "512", "1k": "1k", "1.1": "1100m", "3Ki": "3Ki",
            "1000Ki": "1000Ki", "0.1Gi": "107374182400m", "12e6": "12e6",
        }
        for text, expected in cases.items():
            self.assertEqual(q.canonical_resource_value(text), expected, text)

    def test_json_numbers(self) -> None:
        """Numbers in the JSON body come back as strings."""
        self.assertEqual(q.canonical_resource_value(1), "1")
        self.assertEqual(q.canonical_resource_value(0.5), "500m")
        self.assertEqual(q.canonical_resource_value(2048), "2048")

    def test_rounding(self) -> None:
        """Resource lists round up to a thousandth; other quantities keep nano precision."""
        self.assertEqual(q.canonical_resource_value("100u"), "1m")
        self.assertEqual(q.canonical_resource_value("1n"), "1m")
        self.assertEqual(q.canonical_resource_value("0.0001"), "1m")
        self.assertEqual(q.canonical("100u"), "100u")
        self.assertEqual(q.canonical("0.0000000001"), "1n")

    def test_verbatim_strings(self) -> None:
        """Strings already canonical are kept exactly, as Go caches them."""
        self.assertEqual(q.canonical_resource_value("1.500"), "1.500")
        self.assertEqual(q.canonical_resource_value("1500Mi"), "1500Mi")

    def test_invalid(self) -> None:
        """Malformed quantities raise QuantityError with the decoder's message."""
        for text in ("", "one", "1.2.3", "Ki", "1 Gi", "1Kb", ".", True, None, [1]):
            with self.assertRaises(q.QuantityError, msg=repr(text)) as caught:
                q.canonical(text)
            self.assertIn("quantities must match the regular expression", str(caught.exception))

    def test_value_of(self) -> None:
        """Exact values for comparisons across notations."""
        self.assertEqual(q.value_of("1")[0], q.value_of("1000m")[0])
        self.assertEqual(q.value_of("1Gi")[0], Fraction(2 ** 30))
        self.assertEqual(q.value_of("-2k")[0], Fraction(-2000))
