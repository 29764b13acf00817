"""
The create path's plain-callback steps (L{kapi_twisted.registry.store.then}):
steps that decide at once run synchronously, steps that wait are waited for,
and every outcome still reaches the caller as a Deferred.
"""

import json

from twisted.internet.defer import Deferred, fail, succeed
from twisted.python.failure import Failure

from kapi_twisted import apierrors
from kapi_twisted.registry import store as store_module
from kapi_twisted.registry.interface import RequestContext, WriteOptions
from kapi_twisted.registry.store import then
from kapi_twisted.storage import KeyValue
from kapi_twisted.storage.testing import EventCollector

from ._registry_helpers import RegistryTestCase


def configmap(name="cm"):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"k": "v"}}


class _Admission:
    """Admission that answers with whatever Deferred the test hands it."""

    def __init__(self, answer):
        self.answer = answer
        self.seen = []

    def admit(self, attributes):
        self.seen.append(attributes)
        return self.answer


class ThenTests(RegistryTestCase):
    def test_plain_value_and_fired_deferred_run_the_step_now(self):
        """A step whose input is ready runs at once and returns its own value."""
        self.assertEqual(then(2, lambda x, y: x + y, 3), 5)
        self.assertEqual(then(succeed(2), lambda x, y: x + y, 3), 5)
        self.assertEqual(self.flushWarnings(), [])

    def test_pending_deferred_runs_the_step_when_it_fires(self):
        """A step whose input is pending runs once the input arrives."""
        d = Deferred()
        result = then(d, lambda x: x * 2)
        self.assertIs(result, d)
        self.assertNoResult(result)
        d.callback(21)
        self.assertEqual(self.successResultOf(result), 42)

    def test_failed_deferred_skips_the_step(self):
        """A failed input reaches the caller as the same failure; the step never runs."""
        result = then(fail(ValueError("no")), lambda x: self.fail("ran"))
        self.failureResultOf(result, ValueError)


class CreatePathTests(RegistryTestCase):
    def test_create_answers_through_a_deferred(self):
        """A create whose steps all decide at once still answers with a fired Deferred."""
        d = self.store("configmaps").create(self.ctx, "default", configmap(), WriteOptions())
        self.assertIsInstance(d, Deferred)
        result = self.ok(d)
        self.assertTrue(result.created)
        self.assertEqual(result.kv.object["metadata"]["name"], "cm")

    def test_bad_options_fail_the_deferred_rather_than_raise(self):
        """Invalid create options are an APIError in the Deferred, not an exception."""
        d = self.store("configmaps").create(
            self.ctx, "default", configmap(), WriteOptions(field_validation="Sometimes"))
        self.assertEqual(self.error(d).code, 422)

    def test_pending_admission_is_waited_for(self):
        """Nothing is stored until a slow admission plugin admits the object."""
        store = self.store("configmaps")
        answer = Deferred()
        store.admission = _Admission(answer)
        d = store.create(self.ctx, "default", configmap(), WriteOptions())
        self.assertNoResult(d)
        self.assertEqual(self.error(store.get(self.ctx, "default", "cm")).code, 404)
        answer.callback(None)
        self.assertTrue(self.ok(d).created)
        self.ok(store.get(self.ctx, "default", "cm"))

    def test_late_admission_refusal_is_the_answer(self):
        """A refusal that arrives later is the create's answer and nothing is stored."""
        store = self.store("configmaps")
        answer = Deferred()
        store.admission = _Admission(answer)
        d = store.create(self.ctx, "default", configmap(), WriteOptions())
        answer.errback(Failure(apierrors.forbidden("configmaps", "cm", "no")))
        self.assertEqual(self.error(d).code, 403)
        self.assertEqual(self.error(store.get(self.ctx, "default", "cm")).code, 404)

    def test_admission_sees_generate_name_and_caller_dict_is_untouched(self):
        """Admission sees the generateName asked for; the caller's dict is not changed."""
        store = self.store("configmaps")
        store.admission = _Admission(succeed(None))
        body = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"generateName": "gen-"}, "data": {"k": "v"}}
        result = self.ok(store.create(self.ctx, "default", body, WriteOptions()))
        self.assertEqual(store.admission.seen[0].name, "gen-")
        self.assertTrue(result.kv.object["metadata"]["name"].startswith("gen-"))
        self.assertEqual(body["metadata"], {"generateName": "gen-"})


class OwnedBodyTests(RegistryTestCase):
    """A body the request owns (RequestContext.body_owned) is used in place, not copied."""

    def owned(self):
        return RequestContext(body_owned=True)

    def test_owned_body_becomes_the_stored_object(self):
        """An owned body is created like a copied one (same stored object and answer)."""
        copied = self.ok(self.store("configmaps").create(
            self.ctx, "default", configmap("a"), WriteOptions()))
        body = configmap("b")
        owned = self.ok(self.store("configmaps").create(
            self.owned(), "default", body, WriteOptions()))
        self.assertEqual(body["metadata"]["uid"], owned.kv.object["metadata"]["uid"])
        for kv in (copied.kv, owned.kv):
            self.assertEqual(kv.object, json.loads(kv.data))
        self.assertEqual(sorted(owned.kv.object["metadata"]), sorted(copied.kv.object["metadata"]))

    def test_admission_sees_the_generate_name_sent(self):
        """Admission of an owned generateName body is named after the generateName."""
        store = self.store("configmaps")
        store.admission = _Admission(succeed(None))
        body = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"generateName": "gen-"}, "data": {"k": "v"}}
        result = self.ok(store.create(self.owned(), "default", body, WriteOptions()))
        self.assertEqual(store.admission.seen[0].name, "gen-")
        self.assertTrue(result.kv.object["metadata"]["name"].startswith("gen-"))

    def test_generated_name_clash_is_generated_again(self):
        """A taken generated name of an owned body is generated again, not 409."""
        names = iter(["b", "b", "c"])
        self.patch(store_module, "_generate_name", lambda base: base + next(names))
        store = self.store("configmaps")
        for expected in ("a-b", "a-c"):
            result = self.ok(store.create(self.owned(), "default",
                                          {"metadata": {"generateName": "a-"}}, WriteOptions()))
            self.assertEqual(result.kv.object["metadata"]["name"], expected)

    def test_given_name_clash_is_409(self):
        """A taken name the client gave (with a generateName too) is 409 at once."""
        store = self.store("configmaps")
        self.ok(store.create(self.ctx, "default", configmap("a"), WriteOptions()))
        err = self.error(store.create(
            self.owned(), "default", {"metadata": {"name": "a", "generateName": "x-"}},
            WriteOptions()))
        self.assertEqual((err.code, err.message), (409, 'configmaps "a" already exists'))

    def test_bad_metadata_is_still_400(self):
        """Metadata that is not an object is 400 for an owned body too."""
        err = self.error(self.store("configmaps").create(
            self.owned(), "default", {"metadata": ["x"]}, WriteOptions()))
        self.assertEqual(err.code, 400)


class HandedOverObjectTests(RegistryTestCase):
    """What a create stores reaches watchers as the encoded copy, equal to the stored bytes."""

    def test_watchers_get_the_stored_object_with_its_resource_version(self):
        """A watcher of the store sees exactly what decoding the stored bytes gives."""
        events = EventCollector()
        self.storage.watch("/registry/configmaps/", 0, events)
        body = configmap("seen")
        body["metadata"]["labels"] = {"a": "1"}
        result = self.ok(self.store("configmaps").create(self.ctx, "default", body,
                                                         WriteOptions()))
        kv = result.kv
        (event,) = [e for e in events.events if e.kv.key.endswith("/seen")]
        self.assertEqual(event.kv.object, json.loads(kv.data))
        self.assertEqual(event.kv.object["metadata"]["resourceVersion"], str(kv.mod_revision))
        self.assertEqual(body["metadata"], {"name": "seen", "labels": {"a": "1"}})

    def test_with_parsed_sets_the_revision(self):
        """KeyValue.with_parsed serves the handed-over object, resourceVersion set."""
        kv = KeyValue.with_parsed("/k", b'{"metadata":{"name":"x"}}', 7, 7,
                                  {"metadata": {"name": "x"}})
        self.assertEqual(kv.object, {"metadata": {"name": "x", "resourceVersion": "7"}})
        self.assertEqual(kv.object, json.loads(kv.data))
        plain = KeyValue.with_parsed("/k", b'{"metadata":{"name":"x"}}', 7, 7, None)
        self.assertEqual(plain.object, {"metadata": {"resourceVersion": "7", "name": "x"}})


class GeneratedNameTests(RegistryTestCase):
    def test_every_character_equally_likely_at_every_position(self):
        """Generated suffixes are 5 characters of kube's alphabet, each about equally likely at each position."""
        import collections
        import random

        state = random.getstate()
        self.addCleanup(random.setstate, state)
        random.seed(20261126)
        alphabet = "bcdfghjklmnpqrstvwxz2456789"
        counts = [collections.Counter() for _ in range(5)]
        draws = 27 * 400
        for _ in range(draws):
            name = store_module._generate_name("web-")
            self.assertEqual(len(name), 9)
            for position, char in enumerate(name[4:]):
                counts[position][char] += 1
        for counted in counts:
            self.assertEqual(set(counted), set(alphabet))
            # 400 expected each; a seeded draw, so no flakiness: within +-25%.
            self.assertTrue(all(300 <= n <= 500 for n in counted.values()), counted)
