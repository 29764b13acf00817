"""
The filter chain in front of the API (kapi_twisted.server.filters): what a
client sees when it is not authenticated, sends too much, asks too often,
waits too long, or arrives during shutdown.
"""

from __future__ import annotations

import json

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.server.filters import PANIC_MESSAGE, TIMEOUT_BODY
from tests.test_filters_harness import ADMIN, ALICE, BOB, ChainServer, parse_responses

PODS = b"/api/v1/namespaces/default/pods"
CONFIGMAPS = b"/api/v1/namespaces/default/configmaps"
UNAUTHORIZED = (
    b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
    b'"message":"Unauthorized","reason":"Unauthorized","code":401}'
)


class ChainTestCase(SynchronousTestCase):
    config: dict = {}

    def setUp(self) -> None:
        self.server = ChainServer(self.mktemp_dir(), **self.config)
        self.app = self.server.app

    def mktemp_dir(self) -> str:
        import os

        path = self.mktemp()
        os.makedirs(path)
        return path


class AuthenticationTests(ChainTestCase):
    def test_anonymous_health_and_version(self) -> None:
        """Without credentials, /healthz, /livez, /readyz (and their checks) and /version answer."""
        for path in (b"/healthz", b"/livez", b"/readyz", b"/readyz/ping", b"/version"):
            response = self.server.get(path)
            self.assertEqual(response.code, 200, path)
            self.assertEqual(response.json()["user"], "system:anonymous")
            self.assertEqual(response.json()["groups"], ["system:unauthenticated"])

    def test_anonymous_elsewhere_is_401(self) -> None:
        """Without credentials anything else is 401 with kube-apiserver's Unauthorized Status."""
        for path in (PODS, b"/api", b"/metrics", b"/healthzfoo", b"/"):
            response = self.server.get(path)
            self.assertEqual(response.code, 401, path)
            self.assertEqual(response.body, UNAUTHORIZED)
            self.assertEqual(response.header(b"content-type"), b"application/json")
        self.assertEqual(self.app.pending, [])

    def test_token_user(self) -> None:
        """A bearer token from --token-auth-file is its user, with groups and system:authenticated."""
        response = self.server.get(PODS, ALICE)
        self.assertEqual(response.code, 200)
        body = response.json()
        self.assertEqual(body["user"], "alice")
        self.assertEqual(body["groups"], ["dev", "ops", "system:authenticated"])
        self.assertEqual(body["verb"], "list")

    def test_authorization_header_removed(self) -> None:
        """After authentication handlers never see the bearer token."""
        self.assertIsNone(self.server.get(PODS, ALICE).json()["authorization"])

    def test_bad_token_is_401_even_on_health(self) -> None:
        """A wrong bearer token is refused, never treated as anonymous."""
        response = self.server.get(b"/healthz", {b"Authorization": b"Bearer nope"})
        self.assertEqual(response.code, 401)
        self.assertEqual(response.body, UNAUTHORIZED)

    def test_other_scheme_is_anonymous(self) -> None:
        """An Authorization header of another scheme is no credential: anonymous rules apply."""
        basic = {b"Authorization": b"Basic YWxpY2U6eA=="}
        self.assertEqual(self.server.get(b"/livez", basic).code, 200)
        self.assertEqual(self.server.get(PODS, basic).code, 401)


class CommonHeadersTests(ChainTestCase):
    def test_audit_id_echoed(self) -> None:
        """The client's Audit-ID comes back as Audit-Id and reaches the handler."""
        response = self.server.get(b"/healthz", {b"Audit-ID": b"my-audit-id"})
        self.assertEqual(response.header(b"audit-id"), b"my-audit-id")
        self.assertEqual(response.json()["auditID"], "my-audit-id")

    def test_audit_id_generated(self) -> None:
        """Without an Audit-ID each answer carries a new UUID."""
        first = self.server.get(b"/healthz").header(b"audit-id")
        second = self.server.get(b"/healthz").header(b"audit-id")
        self.assertEqual(len(first), 36)
        self.assertNotEqual(first, second)

    def test_cache_control(self) -> None:
        """Answers are marked Cache-Control: no-cache, private (errors too)."""
        self.assertEqual(self.server.get(b"/healthz").header(b"cache-control"),
                         b"no-cache, private")
        self.assertEqual(self.server.get(PODS).header(b"cache-control"), b"no-cache, private")


class PanicTests(ChainTestCase):
    def test_panic_is_500_and_serving_goes_on(self) -> None:
        """A handler that raises gives a 500 Status; the next request is served."""
        response = self.server.get(PODS + b"?boom=1", ALICE)
        self.assertEqual(response.code, 500)
        self.assertEqual(response.header(b"content-type"), b"application/json")
        self.assertEqual(response.json(), {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": PANIC_MESSAGE, "reason": "InternalError", "code": 500})
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        self.assertEqual(self.server.get(PODS, ALICE).code, 200)
        self.assertEqual(self.server.wait_group.count, 0)

    def test_panic_after_writing_aborts(self) -> None:
        """A handler that raises after it began answering has its connection cut."""
        original = self.app.render

        def render(request):
            request.write(b"half")
            raise ValueError("late")

        self.app.render = render
        _, transport = self.server.send(b"GET", PODS, ALICE)
        self.assertTrue(transport.disconnected)
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)
        self.app.render = original


class BodyLimitTests(ChainTestCase):
    LIMIT = 3 * 1024 * 1024
    TOO_LARGE = (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"Request entity too large: limit is 3145728",'
        b'"reason":"RequestEntityTooLarge","code":413}'
    )

    def test_body_over_limit(self) -> None:
        """A body over 3 MiB is refused with 413 RequestEntityTooLarge."""
        response = self.server.request(b"POST", CONFIGMAPS, ALICE, b"x" * (self.LIMIT + 1))
        self.assertEqual(response.code, 413)
        self.assertEqual(response.body, self.TOO_LARGE)
        self.assertEqual(response.header(b"content-type"), b"application/json")

    def test_chunked_body_over_limit(self) -> None:
        """A chunked body (no Content-Length) over 3 MiB is refused too."""
        response = self.server.request(b"PUT", CONFIGMAPS + b"/a", ALICE,
                                       b"x" * (self.LIMIT + 1), chunked=True)
        self.assertEqual(response.code, 413)
        self.assertEqual(response.body, self.TOO_LARGE)

    def test_oversized_body_not_kept(self) -> None:
        """The bytes of an oversized body are dropped as they arrive, not buffered."""
        kept = []
        original = self.server.chain.filters[-1]

        def spy(request, on_finish):
            kept.append(request.content.seek(0, 2))
            return original(request, on_finish)

        self.server.chain.filters[-1] = spy
        response = self.server.request(b"POST", CONFIGMAPS, ALICE, b"x" * (self.LIMIT + 10))
        self.assertEqual(response.code, 413)
        self.assertEqual(kept, [0])

    def test_body_at_limit(self) -> None:
        """A body of exactly 3 MiB is accepted."""
        response = self.server.request(b"POST", CONFIGMAPS, ALICE, b"x" * self.LIMIT)
        self.assertEqual(response.code, 200)


class InFlightTests(ChainTestCase):
    config = {"max_requests_inflight": 1, "max_mutating_requests_inflight": 1}

    def test_read_only_limit_429(self) -> None:
        """With every read-only slot taken, the next read gets 429 with Retry-After: 1."""
        self.assertIsNone(self.server.get(PODS + b"?hang=1", BOB))
        response = self.server.get(PODS, BOB)
        self.assertEqual(response.code, 429)
        self.assertEqual(response.body, b"Too many requests, please try again later.\n")
        self.assertEqual(response.header(b"retry-after"), b"1")
        self.assertEqual(response.header(b"content-type"), b"text/plain; charset=utf-8")
        self.assertEqual(response.header(b"x-content-type-options"), b"nosniff")

    def test_slot_freed_when_request_ends(self) -> None:
        """Once the request holding the slot is answered, the next one gets in."""
        self.server.get(PODS + b"?hang=1", BOB)
        self.app.answer()
        self.assertEqual(self.server.get(PODS, BOB).code, 200)

    def test_slot_freed_when_client_goes_away(self) -> None:
        """A client that disconnects gives its slot back."""
        protocol, _ = self.server.send(b"GET", PODS + b"?hang=1", BOB)
        from twisted.internet.error import ConnectionLost
        from twisted.python.failure import Failure

        protocol.connectionLost(Failure(ConnectionLost()))
        self.assertEqual(self.server.get(PODS, BOB).code, 200)

    def test_mutating_counted_apart(self) -> None:
        """A full read-only limit does not stop writes, and the other way round."""
        self.server.get(PODS + b"?hang=1", BOB)
        self.assertIsNone(self.server.request(b"POST", CONFIGMAPS + b"?hang=1", BOB, b"{}"))
        self.assertEqual(self.server.request(b"POST", CONFIGMAPS, BOB, b"{}").code, 429)
        self.assertEqual(self.server.request(b"DELETE", CONFIGMAPS + b"/x", BOB).code, 429)
        self.assertEqual(self.server.get(PODS, BOB).code, 429)

    def test_long_running_excluded(self) -> None:
        """Watches take no slot."""
        self.assertIsNone(self.server.get(PODS + b"?watch=true&hang=1", BOB))
        self.assertIsNone(self.server.get(PODS + b"?watch=1&hang=1", BOB))
        self.assertEqual(self.server.get(PODS, BOB).code, 200)

    def test_system_masters_pass(self) -> None:
        """Members of system:masters get in even when the slots are full."""
        self.server.get(PODS + b"?hang=1", BOB)
        self.assertEqual(self.server.get(PODS, ADMIN).code, 200)

    def test_unlimited(self) -> None:
        """0 means no limit."""
        server = ChainServer(self.mktemp_dir(), max_requests_inflight=0)
        for _ in range(5):
            self.assertIsNone(server.get(PODS + b"?hang=1", BOB))
        self.assertEqual(server.get(PODS, BOB).code, 200)


class TimeoutTests(ChainTestCase):
    TIMEOUT = (
        b'{"metadata":{},"status":"Failure","message":"Timeout: request did not complete '
        b'within the allotted timeout","reason":"Timeout","details":{},"code":504}\n'
    )

    def test_504_after_request_timeout(self) -> None:
        """A request still unanswered after --request-timeout (60s) gets kube-apiserver's 504."""
        _, transport = self.server.send(b"GET", PODS + b"?hang=1", ALICE)
        self.server.clock.advance(59.9)
        self.assertEqual(transport.value(), b"")
        self.server.clock.advance(0.1)
        [response] = parse_responses(transport.value())
        self.assertEqual(response.code, 504)
        self.assertEqual(response.body, self.TIMEOUT)
        self.assertEqual(TIMEOUT_BODY, self.TIMEOUT)

    def test_late_answer_thrown_away(self) -> None:
        """What the handler writes after the 504 never reaches the client."""
        _, transport = self.server.send(b"GET", PODS + b"?hang=1", ALICE)
        self.server.clock.advance(60)
        request = self.app.pending[0]
        self.assertTrue(request.timed_out)
        before = transport.value()
        self.app.answer()
        self.assertEqual(transport.value(), before)
        self.assertEqual(self.server.wait_group.count, 0)

    def test_timeout_parameter(self) -> None:
        """?timeout= shortens the deadline."""
        _, transport = self.server.send(b"GET", PODS + b"?hang=1&timeout=5s", ALICE)
        self.server.clock.advance(5)
        self.assertEqual(parse_responses(transport.value())[0].code, 504)

    def test_timeout_parameter_capped(self) -> None:
        """A ?timeout= above --request-timeout is capped at it."""
        _, transport = self.server.send(b"GET", PODS + b"?hang=1&timeout=10m", ALICE)
        self.server.clock.advance(60)
        self.assertEqual(parse_responses(transport.value())[0].code, 504)

    def test_bad_timeout_parameter(self) -> None:
        """A malformed ?timeout= is a 400 Status naming it."""
        response = self.server.get(PODS + b"?timeout=soon", ALICE)
        self.assertEqual(response.code, 400)
        self.assertEqual(response.json(), {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": 'invalid timeout specified in the request URL - '
                       'time: invalid duration "soon"',
            "reason": "BadRequest", "code": 400})

    def test_answer_in_time_cancels_deadline(self) -> None:
        """A request answered in time leaves no timer behind."""
        self.server.get(PODS + b"?hang=1", ALICE)
        self.app.answer()
        self.assertEqual(self.server.clock.getDelayedCalls(), [])

    def test_started_answer_is_cut_off(self) -> None:
        """When the answer had already begun at the deadline, the connection is cut."""
        _, transport = self.server.send(b"GET", PODS + b"?partial=1", ALICE)
        self.server.clock.advance(60)
        self.assertTrue(transport.disconnected)

    def test_watch_has_no_deadline(self) -> None:
        """Long-running requests (watches) are not timed out."""
        _, transport = self.server.send(b"GET", PODS + b"?watch=true&hang=1", ALICE)
        self.server.clock.advance(3600)
        self.assertEqual(transport.value(), b"")
        self.assertTrue(self.app.pending[0].long_running)


class ShutdownTests(ChainTestCase):
    SHUTTING_DOWN = (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"apiserver is shutting down","reason":"ServiceUnavailable","code":503}\n'
    )

    def test_in_flight_requests_counted(self) -> None:
        """Shutdown waits for non-long-running requests in flight; watches are not counted."""
        self.server.get(PODS + b"?hang=1", ALICE)
        self.server.get(PODS + b"?watch=1&hang=1", ALICE)
        self.assertEqual(self.server.wait_group.count, 1)
        self.assertEqual(len(self.server.long_running), 1)
        drained = self.server.wait_group.wait()
        self.assertNoResult(drained)
        self.app.answer(0)
        self.successResultOf(drained)

    def test_503_after_not_accepting(self) -> None:
        """After NotAcceptingNewRequest new requests get 503 with Retry-After: 1."""
        self.server.lifecycle.not_accepting_new_requests.fire()
        self.server.wait_group.wait()
        response = self.server.get(PODS, ALICE)
        self.assertEqual(response.code, 503)
        self.assertEqual(response.body, self.SHUTTING_DOWN)
        self.assertEqual(response.header(b"retry-after"), b"1")
        self.assertEqual(response.header(b"content-type"), b"application/json")
        self.assertEqual(response.header(b"x-content-type-options"), b"nosniff")

    def test_exempt_during_shutdown(self) -> None:
        """Health checks, /metrics and the apiserver's own requests still get through."""
        self.server.lifecycle.not_accepting_new_requests.fire()
        self.server.wait_group.wait()
        self.assertEqual(self.server.get(b"/readyz").code, 200)
        self.assertEqual(self.server.get(b"/livez/ping").code, 200)
        self.assertEqual(self.server.get(b"/healthz").code, 200)
        self.assertEqual(self.server.get(b"/metrics", ALICE).code, 200)
        loopback = {**ALICE, b"User-Agent": b"kube-apiserver/v1.37.0 (linux/amd64)"}
        self.assertEqual(self.server.get(PODS, loopback).code, 200)

    def test_long_running_ended_by_shutdown(self) -> None:
        """Shutdown ends open watches."""
        _, transport = self.server.send(b"GET", PODS + b"?watch=1&partial=1", ALICE)
        self.server.long_running.end_all()
        self.assertTrue(self.app.pending[0].finished)
        self.assertEqual(len(self.server.long_running), 0)


class MethodTests(ChainTestCase):
    def test_unsupported_method(self) -> None:
        """A resource without the method answers 405 with a Status and Allow header."""
        from twisted.web.resource import Resource

        class OnlyGet(Resource):
            isLeaf = True

            def render_GET(self, request):
                return b"ok"

        self.server.chain.handler = OnlyGet()
        response = self.server.request(b"POST", b"/healthz", body=b"")
        self.assertEqual(response.code, 405)
        self.assertEqual(json.loads(response.body)["reason"], "MethodNotAllowed")
        self.assertIn(b"GET", response.header(b"allow"))
        self.assertEqual(self.server.get(b"/healthz").body, b"ok")


class _Policy:
    """Bob may do nothing; everybody else anything; 'explode' breaks the authorizer."""

    def authorize(self, user, info):
        if user.name == "bob":
            return "deny", ""
        if info.name == "explode":
            raise RuntimeError("policy store unavailable")
        if info.name == "maybe":
            return "no-opinion", "no rule matched"
        return "allow", ""


class AuthorizationTests(ChainTestCase):
    def setUp(self) -> None:
        super().setUp()
        from kapi_twisted.server.filters import build_handler_chain

        old = self.server.chain
        self.server.chain = build_handler_chain(
            self.app, config=self.server.config, lifecycle=self.server.lifecycle,
            wait_group=self.server.wait_group, long_running=self.server.long_running,
            reactor=self.server.clock, authenticator=old.authenticator, authorizer=_Policy())
        self.server.site.resource = self.server.chain

    def test_allowed(self) -> None:
        """An allowed request reaches the handler."""
        self.assertEqual(self.server.get(PODS, ALICE).code, 200)

    def test_forbidden_resource(self) -> None:
        """A denied resource request is 403 with kube-apiserver's Forbidden Status."""
        response = self.server.get(b"/apis/apps/v1/namespaces/default/deployments/web", BOB)
        self.assertEqual(response.code, 403)
        self.assertEqual(response.header(b"x-content-type-options"), b"nosniff")
        self.assertEqual(response.json(), {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": 'deployments.apps "web" is forbidden: User "bob" cannot get resource '
                       '"deployments" in API group "apps" in the namespace "default"',
            "reason": "Forbidden",
            "details": {"name": "web", "group": "apps", "kind": "deployments"},
            "code": 403})

    def test_forbidden_cluster_scope_with_reason(self) -> None:
        """Cluster-scoped requests say so; the authorizer's reason is appended."""
        response = self.server.get(b"/api/v1/nodes/maybe/status", ALICE)
        self.assertEqual(response.code, 403)
        self.assertEqual(
            response.json()["message"],
            'nodes "maybe" is forbidden: User "alice" cannot get resource "nodes/status" '
            'in API group "" at the cluster scope: no rule matched')

    def test_forbidden_path(self) -> None:
        """A denied non-resource request names the path."""
        response = self.server.get(b"/metrics", BOB)
        self.assertEqual(response.code, 403)
        self.assertEqual(response.json()["message"],
                         'forbidden: User "bob" cannot get path "/metrics"')
        self.assertEqual(response.json()["details"], {})

    def test_authorizer_error(self) -> None:
        """An authorizer that fails gives a 500."""
        response = self.server.get(PODS + b"/explode", ALICE)
        self.assertEqual(response.code, 500)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_forbidden_message_escaped(self) -> None:
        """Names with &, < and > are HTML-escaped in the message, not in the reason."""
        from kapi_twisted.auth import UserInfo
        from kapi_twisted.server.filters import forbidden
        from kapi_twisted.server.requestinfo import parse_request_info

        info = parse_request_info("GET", "/healthz/<x>&y")
        error = forbidden(UserInfo("<eve>"), info, "because <reasons>")
        self.assertEqual(
            error.message,
            'forbidden: User "&lt;eve&gt;" cannot get path "/healthz/&lt;x&gt;&amp;y": '
            "because <reasons>")
