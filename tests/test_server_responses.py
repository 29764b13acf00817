"""
L{APIResource.render}: whatever a handler gives back (an answer, a Deferred,
a coroutine, a Failure or a raised error) becomes exactly one HTTP answer.
"""

import json

from twisted.internet.defer import Deferred, fail, succeed
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.server import NOT_DONE_YET
from twisted.web.test.requesthelper import DummyRequest

from kapi_twisted import apierrors
from kapi_twisted.server.responses import APIResource, Response


class _Handler(APIResource):
    def __init__(self, handle):
        super().__init__()
        self.handle = handle


def _render(handle):
    request = DummyRequest([b""])
    request.method = b"GET"
    result = _Handler(handle).render(request)
    return request, result


class RenderTests(SynchronousTestCase):
    def test_plain_answer_is_written_at_once(self):
        """A handler's ready answer is on the wire when render returns."""
        request, result = _render(lambda r: Response(b"{}", 200))
        self.assertIs(result, NOT_DONE_YET)
        self.assertEqual(request.responseCode, 200)
        self.assertEqual(b"".join(request.written), b"{}")
        self.assertEqual(request.finished, 1)

    def test_raised_api_error_is_its_status(self):
        """A handler raising an APIError answers with that error's Status."""
        def handle(r):
            raise apierrors.bad_request("nope")

        request, _ = _render(handle)
        self.assertEqual(request.responseCode, 400)
        self.assertEqual(json.loads(b"".join(request.written))["message"], "nope")

    def test_pending_answer_is_written_when_it_arrives(self):
        """A Deferred answer is written once it fires, not before."""
        d = Deferred()
        request, _ = _render(lambda r: d)
        self.assertEqual(request.written, [])
        d.callback(Response(b"late", 201))
        self.assertEqual(request.responseCode, 201)
        self.assertEqual(b"".join(request.written), b"late")

    def test_failed_deferred_and_returned_failure_are_statuses(self):
        """A failed Deferred or a returned Failure both answer with the Status."""
        request, _ = _render(lambda r: fail(apierrors.bad_request("a")))
        self.assertEqual(request.responseCode, 400)
        request, _ = _render(lambda r: Failure(apierrors.bad_request("b")))
        self.assertEqual(request.responseCode, 400)
        self.assertEqual(json.loads(b"".join(request.written))["message"], "b")

    def test_coroutine_answer_is_awaited(self):
        """An async handler's answer is written once the coroutine finishes."""
        async def handle(r):
            return await succeed(Response(b"co", 200))

        request, _ = _render(handle)
        self.assertEqual(b"".join(request.written), b"co")

    def test_unexpected_error_is_a_logged_500(self):
        """Any other exception is a 500 Status and is logged."""
        def handle(r):
            raise ZeroDivisionError("boom")

        request, _ = _render(handle)
        self.assertEqual(request.responseCode, 500)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
