"""
The conversion webhook client against a real local webhook (plain HTTP on
loopback, to check what kapi does with each kind of bad answer): kube's
error texts for a failed result, a wrong UID, a wrong count and a wrong
version; metadata other than labels and annotations kept from the original.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from kapi_twisted.apiextensions.conversion import ConversionError, Converter


class _Webhook(Resource):
    isLeaf = True

    def __init__(self, answer: Callable[[dict], dict]) -> None:
        super().__init__()
        self.answer = answer

    def render_POST(self, request: Any) -> bytes:
        review = json.loads(request.content.read())
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(self.answer(review)).encode()


def _converted(review: dict, **changes: Any) -> dict:
    req = review["request"]
    objs = [dict(o, apiVersion=req["desiredAPIVersion"]) for o in req["objects"]]
    response = {"uid": req["uid"], "convertedObjects": objs, "result": {"status": "Success"}}
    response.update(changes)
    return {"apiVersion": review["apiVersion"], "kind": "ConversionReview",
            "response": response}


OBJ = {"apiVersion": "stable.example.com/v1", "kind": "CronTab",
       "metadata": {"name": "a", "namespace": "default", "uid": "u-1",
                    "labels": {"old": "1"}}, "spec": {}}


class WebhookClientTests(TestCase):
    def converter(self, answer: Callable[[dict], dict]) -> Converter:
        port = reactor.listenTCP(0, Site(_Webhook(answer)), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        crd = {"spec": {"group": "stable.example.com", "names": {"kind": "CronTab"},
                        "conversion": {"strategy": "Webhook", "webhook": {
                            "conversionReviewVersions": ["v1beta1", "v1"],
                            "clientConfig": {
                                "url": f"http://127.0.0.1:{port.getHost().port}/c"}}}}}
        return Converter(crd, reactor)

    @defer.inlineCallbacks
    def failure_text(self, answer: Callable[[dict], dict]) -> defer.Deferred:
        try:
            yield self.converter(answer).convert([OBJ], "stable.example.com/v2")
        except ConversionError as e:
            self.assertEqual(e.code, 500)
            return e.message
        self.fail("conversion succeeded")

    @defer.inlineCallbacks
    def test_labels_and_annotations_only(self):
        """The webhook's labels and annotations are kept; other metadata comes from the original."""
        def answer(review: dict) -> dict:
            out = _converted(review)
            meta = out["response"]["convertedObjects"][0]["metadata"]
            meta.update(labels={"new": "2"}, annotations={"a": "b"}, uid="forged")
            return out

        converted = yield self.converter(answer).convert([OBJ], "stable.example.com/v2")
        meta = converted[0]["metadata"]
        self.assertEqual(meta["uid"], "u-1")
        self.assertEqual(meta["labels"], {"new": "2"})
        self.assertEqual(meta["annotations"], {"a": "b"})
        self.assertEqual(converted[0]["apiVersion"], "stable.example.com/v2")

    @defer.inlineCallbacks
    def test_first_offered_review_version_used(self):
        """The first of conversionReviewVersions kapi speaks is the review's apiVersion."""
        seen = []

        def answer(review: dict) -> dict:
            seen.append(review["apiVersion"])
            return _converted(review)

        yield self.converter(answer).convert([OBJ], "stable.example.com/v2")
        self.assertEqual(seen, ["apiextensions.k8s.io/v1beta1"])

    @defer.inlineCallbacks
    def test_failed_result(self):
        """A result other than Success fails the request with the webhook's message."""
        text = yield self.failure_text(lambda r: _converted(
            r, result={"status": "Failure", "message": "cannot convert"}))
        self.assertEqual(text, "conversion webhook for stable.example.com/v1, Kind=CronTab "
                               "failed: cannot convert")

    @defer.inlineCallbacks
    def test_wrong_uid_count_and_version(self):
        """A wrong UID, object count or apiVersion in the answer fails the request."""
        text = yield self.failure_text(lambda r: _converted(r, uid="other"))
        self.assertIn('expected response uid', text)
        text = yield self.failure_text(lambda r: _converted(r, convertedObjects=[]))
        self.assertIn("expected 1 converted objects, got 0", text)

        def wrong_version(review: dict) -> dict:
            out = _converted(review)
            out["response"]["convertedObjects"][0]["apiVersion"] = "stable.example.com/v9"
            return out

        text = yield self.failure_text(wrong_version)
        self.assertIn('expected apiVersion "stable.example.com/v2"', text)
