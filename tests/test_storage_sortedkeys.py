"""The blocked sorted key list behind storage lists: same answers as one sorted list, at any size."""

import random
from bisect import bisect_left

from twisted.trial import unittest

from kapi_twisted.storage._index import prefix_end
from kapi_twisted.storage._sortedkeys import SortedKeys


class SortedKeysTests(unittest.SynchronousTestCase):
    def check(self, keys, model):
        """Every count and range of C{keys} equals the plain sorted list's."""
        self.assertEqual(list(keys), model)
        self.assertEqual(len(keys), len(model))
        bounds = ["", "/a/", "/a/b", "/b/", "/c/x", "/z", "~"] + random.sample(model, min(5, len(model)))
        for low in bounds:
            for high in bounds + [None]:
                lo = bisect_left(model, low)
                hi = len(model) if high is None else max(lo, bisect_left(model, high))
                self.assertEqual(keys.count(low, high), hi - lo, (low, high))
                self.assertEqual(list(keys.range(low, high)), model[lo:hi], (low, high))
                for limit in (1, 3, 10, 40):
                    self.assertEqual(keys.range(low, high, limit), model[lo:hi][:limit])
                self.assertEqual(list(keys.iter_range(low, high)), model[lo:hi], (low, high))

    def test_random_adds_and_removals_match_a_sorted_list(self):
        """Keys added and removed in any order list like a plain sorted list (blocks split and empty)."""
        rng = random.Random(7)
        keys, model = SortedKeys(load=4), []
        pool = ["/%s/%s/%03d" % (rng.choice("abc"), rng.choice("xy"), i) for i in range(300)]
        for step in range(2000):
            key = rng.choice(pool)
            i = bisect_left(model, key)
            present = i < len(model) and model[i] == key
            if present and rng.random() < 0.5:
                self.assertTrue(keys.discard(key))
                del model[i]
            elif not present:
                keys.add(key)
                model.insert(i, key)
            else:
                self.assertFalse(keys.discard(key + "-missing"))
            if step % 250 == 0:
                self.check(keys, model)
        self.check(keys, model)
        for key in list(model):
            self.assertTrue(keys.discard(key))
        self.check(keys, [])
        self.assertFalse(keys.discard("/a/x/000"))

    def test_bounds_at_block_edges(self):
        """Ranges starting or ending at, just after or just before any block's first or last key list like a sorted list."""
        rng = random.Random(11)
        for trial in range(25):
            load = rng.choice([1, 2, 3, 5])
            pool = ["%s%02d" % (rng.choice("ab"), rng.randint(0, 40)) for _ in range(60)]
            model = sorted(rng.sample(sorted(set(pool)), 10))
            keys = SortedKeys(model, load=load)
            for _ in range(rng.randint(0, 150)):
                key = rng.choice(pool)
                i = bisect_left(model, key)
                if i < len(model) and model[i] == key:
                    if rng.random() < 0.6:
                        keys.discard(key)
                        del model[i]
                else:
                    keys.add(key)
                    model.insert(i, key)
            edges = {""}
            for block in keys._blocks:
                for key in (block[0], block[-1]):
                    edges.update((key, key + "\x00", key[:-1]))
            for low in sorted(edges):
                for high in sorted(edges) + [None]:
                    lo = bisect_left(model, low)
                    hi = len(model) if high is None else max(lo, bisect_left(model, high))
                    want = model[lo:hi]
                    self.assertEqual(keys.count(low, high), len(want), (low, high))
                    self.assertEqual(list(keys.iter_range(low, high)), want, (low, high))
                    for limit in (0, 1, 2, load, 2 * load + 1):
                        self.assertEqual(keys.range(low, high, limit),
                                         want[:limit] if limit else want, (low, high, limit))

    def test_built_from_keys(self):
        """A list built from existing keys (start-up, relist) is sorted and complete."""
        model = sorted("/r/k/%04d" % i for i in range(1000))
        keys = SortedKeys(reversed(model), load=16)
        self.check(keys, model)
        self.assertEqual(keys.count("/r/k/", prefix_end("/r/k/")), 1000)
        self.assertEqual(list(keys.range("/r/k/0998", None)), ["/r/k/0998", "/r/k/0999"])
