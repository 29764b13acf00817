"""
Malformed HTTP/2 requests over real TLS (ALPN h2), sent by the h2 library
with its own outbound checks off: each is refused as Go's HTTP/2 server
(kube-apiserver) refuses it, a stream reset with PROTOCOL_ERROR or a 400,
and the connection goes on serving the next request.
"""

from __future__ import annotations

from typing import Any, Callable, List, Tuple

import h2.events
from h2.errors import ErrorCodes
from twisted.internet.defer import inlineCallbacks
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource

from tests._serving_helpers import H2Client, client_context, port_of, start_serving, tls_connect

Header = Tuple[bytes, bytes]
GOOD: List[Header] = [(b":method", b"GET"), (b":path", b"/echo"), (b":scheme", b"https"),
                      (b":authority", b"localhost")]


def _with(*extra: Header) -> List[Header]:
    return GOOD + list(extra)


def _without(name: bytes) -> List[Header]:
    return [h for h in GOOD if h[0] != name]


def _replace(name: bytes, value: bytes) -> List[Header]:
    return [(n, value if n == name else v) for n, v in GOOD]


def _with_bad_trailers(extra):
    """An act: a POST with C{extra} fields and a body, then trailers carrying :path, all at once."""

    def act(c):
        sid = c.conn.get_next_available_stream_id()
        c.conn.send_headers(sid, _replace(b":method", b"POST") + extra)
        c.conn.send_data(sid, b"body")
        c.conn.send_headers(sid, [(b":path", b"/other")], end_stream=True)
        c.sock.sendall(c.conn.data_to_send())
        return sid

    return act


class _Echo(Resource):
    """Answers with the Cookie and Host the request carried, or a POST body's size."""

    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return b"cookie=%s host=%s" % (request.getHeader(b"cookie") or b"-",
                                       request.getHeader(b"host") or b"-")

    def render_POST(self, request: Any) -> bytes:
        return b"got %d" % len(request.content.read())


class _RawClient(H2Client):
    """An h2 client that sends whatever header list it is given."""

    def __init__(self, sock: Any) -> None:
        super().__init__(sock, validate_outbound_headers=False,
                         normalize_outbound_headers=False, validate_inbound_headers=False)

    def send_data(self, stream_id: int, data: bytes, end_stream: bool = False) -> None:
        self.conn.send_data(stream_id, data, end_stream=end_stream)
        self.sock.sendall(self.conn.data_to_send())


class MalformedRequestTests(TestCase):
    timeout = 30

    @inlineCallbacks
    def setUp(self):
        serving = yield start_serving(self, resource=_Echo())
        self.port = port_of(serving)

    def exchange(self, act: Callable[[_RawClient], int]) -> Any:
        """Run C{act} on a new connection; fire with its stream's outcome and a next GET's."""

        def client():
            with tls_connect(self.port, client_context(alpn=["h2"])) as sock:
                c = _RawClient(sock)
                outcome = c.outcome(act(c))
                follow = c.outcome(c.send(GOOD))
                return outcome, follow[:2]

        return deferToThread(client)

    @inlineCallbacks
    def assert_reset(self, headers: List[Header]):
        outcome, follow = yield self.exchange(lambda c: c.send(headers))
        self.assertEqual(outcome, ("reset", ErrorCodes.PROTOCOL_ERROR))
        self.assertEqual(follow, ("answer", b"200"))

    @inlineCallbacks
    def assert_400(self, headers: List[Header], message: bytes):
        outcome, follow = yield self.exchange(lambda c: c.send(headers))
        self.assertEqual(outcome[:2], ("answer", b"400"))
        self.assertEqual(outcome[3], message + b"\n")
        self.assertEqual(outcome[2][b"content-type"], b"text/plain; charset=utf-8")
        self.assertEqual(outcome[2][b"x-content-type-options"], b"nosniff")
        self.assertEqual(follow, ("answer", b"200"))

    def test_well_formed(self):
        """A well-formed request is answered (the baseline for the others)."""
        return self.exchange(lambda c: c.send(GOOD)).addCallback(
            lambda r: self.assertEqual(r[0][:2], ("answer", b"200")))

    def test_uppercase_field_name(self):
        """An upper-case field name resets the stream."""
        return self.assert_reset(_with((b"X-Upper", b"1")))

    def test_empty_field_name(self):
        """An empty field name resets the stream."""
        return self.assert_reset(_with((b"", b"1")))

    def test_field_name_not_a_token(self):
        """A field name that is not a token (here with a quote) resets the stream."""
        return self.assert_reset(_with((b'x"y', b"1")))

    def test_field_name_with_colon(self):
        """A regular field name with a colon inside resets the stream."""
        return self.assert_reset(_with((b"x:y", b"1")))

    def test_control_character_in_value(self):
        """A field value with a control character (here LF) resets the stream."""
        return self.assert_reset(_with((b"x-a", b"one\ntwo")))

    def test_nul_in_value(self):
        """A field value with NUL resets the stream."""
        return self.assert_reset(_with((b"x-a", b"one\x00two")))

    @inlineCallbacks
    def test_tab_in_value_accepted(self):
        """A field value with HTAB inside or around it is accepted, as Go accepts it."""
        outcome, _ = yield self.exchange(lambda c: c.send(_with((b"x-a", b"\tone\ttwo "))))
        self.assertEqual(outcome[:2], ("answer", b"200"))

    def test_pseudo_header_after_regular(self):
        """A pseudo-header after a regular field resets the stream."""
        headers = _without(b":authority") + [(b"x-a", b"1"), (b":authority", b"localhost")]
        return self.assert_reset(headers)

    def test_duplicate_pseudo_header(self):
        """A repeated :path resets the stream."""
        return self.assert_reset(GOOD[:2] + [(b":path", b"/echo")] + GOOD[2:])

    def test_unknown_pseudo_header(self):
        """An unknown pseudo-header resets the stream."""
        return self.assert_reset(GOOD + [(b":foo", b"bar")])

    def test_response_pseudo_header(self):
        """A request carrying :status resets the stream."""
        return self.assert_reset([(b":status", b"200")] + GOOD)

    def test_missing_method(self):
        """A request without :method resets the stream."""
        return self.assert_reset(_without(b":method"))

    def test_missing_path(self):
        """A request without :path resets the stream."""
        return self.assert_reset(_without(b":path"))

    def test_empty_path(self):
        """A request with an empty :path resets the stream."""
        return self.assert_reset(_replace(b":path", b""))

    def test_missing_scheme(self):
        """A request without :scheme resets the stream."""
        return self.assert_reset(_without(b":scheme"))

    def test_scheme_not_http(self):
        """A :scheme other than http or https resets the stream."""
        return self.assert_reset(_replace(b":scheme", b"ftp"))

    def test_connect_with_path(self):
        """A CONNECT with :path and :scheme resets the stream."""
        return self.assert_reset(_replace(b":method", b"CONNECT"))

    def test_connect_without_authority(self):
        """A CONNECT without :authority resets the stream."""
        return self.assert_reset([(b":method", b"CONNECT")])

    @inlineCallbacks
    def test_connect_well_formed(self):
        """A well-formed CONNECT (only :method and :authority) is answered, not reset."""
        outcome, follow = yield self.exchange(
            lambda c: c.send([(b":method", b"CONNECT"), (b":authority", b"localhost:443")]))
        self.assertEqual(outcome[0], "answer")
        self.assertEqual(follow, ("answer", b"200"))

    def test_extended_connect(self):
        """:protocol (extended CONNECT, not offered) resets the stream."""
        return self.assert_reset(_replace(b":method", b"CONNECT") + [(b":protocol", b"websocket")])

    def test_userinfo_in_authority(self):
        """Userinfo in :authority resets the stream."""
        return self.assert_reset(_replace(b":authority", b"user@localhost"))

    def test_path_bad_escape(self):
        """A :path with a broken percent escape resets the stream."""
        return self.assert_reset(_replace(b":path", b"/echo%zz"))

    def test_path_not_absolute(self):
        """A :path that is neither absolute, "*" nor a URI resets the stream."""
        return self.assert_reset(_replace(b":path", b"echo"))

    @inlineCallbacks
    def test_connection_specific_fields(self):
        """Each connection-specific field is answered 400 with Go's message."""
        for name, canonical in ((b"connection", b"Connection"), (b"keep-alive", b"Keep-Alive"),
                                (b"proxy-connection", b"Proxy-Connection"),
                                (b"transfer-encoding", b"Transfer-Encoding"),
                                (b"upgrade", b"Upgrade")):
            yield self.assert_400(_with((name, b"x")),
                                  b'request header "%s" is not valid in HTTP/2' % canonical)

    def test_te_other_than_trailers(self):
        """TE other than "trailers" is answered 400 with Go's message."""
        return self.assert_400(_with((b"te", b"gzip")),
                               b'request header "TE" may only be "trailers" in HTTP/2')

    def test_te_twice(self):
        """Two TE fields, even both "trailers", are answered 400."""
        return self.assert_400(_with((b"te", b"trailers"), (b"te", b"trailers")),
                               b'request header "TE" may only be "trailers" in HTTP/2')

    @inlineCallbacks
    def test_te_trailers(self):
        """TE: trailers is accepted."""
        outcome, _ = yield self.exchange(lambda c: c.send(_with((b"te", b"trailers"))))
        self.assertEqual(outcome[:2], ("answer", b"200"))

    @inlineCallbacks
    def test_rejected_body_refused(self):
        """A 400 before the request body ends is followed by RST_STREAM NO_ERROR."""

        def act(c):
            sid = c.send(_replace(b":method", b"POST") + [(b"connection", b"close")],
                         end_stream=False)
            self.sid = sid
            return sid

        def client():
            with tls_connect(self.port, client_context(alpn=["h2"])) as sock:
                c = _RawClient(sock)
                sid = act(c)
                answer = c.outcome(sid)
                reset = c.wait_for(lambda e: isinstance(e, h2.events.StreamReset)
                                   and e.stream_id == sid)
                return answer[:2], reset.error_code

        answer, code = yield deferToThread(client)
        self.assertEqual((answer, code), (("answer", b"400"), ErrorCodes.NO_ERROR))

    @inlineCallbacks
    def test_pseudo_header_in_trailers(self):
        """Trailers carrying a pseudo-header reset the stream."""

        def act(c):
            sid = c.send(_replace(b":method", b"POST"), end_stream=False)
            c.send_data(sid, b"body")
            c.conn.send_headers(sid, [(b":path", b"/other")], end_stream=True)
            c.sock.sendall(c.conn.data_to_send())
            return sid

        outcome, follow = yield self.exchange(act)
        self.assertEqual(outcome, ("reset", ErrorCodes.PROTOCOL_ERROR))
        self.assertEqual(follow, ("answer", b"200"))

    @inlineCallbacks
    def test_malformed_request_and_trailers_together(self):
        """A malformed request whose body and bad trailers arrive with it is reset once."""

        outcome, follow = yield self.exchange(_with_bad_trailers([(b"X-Upper", b"1")]))
        self.assertEqual(outcome, ("reset", ErrorCodes.PROTOCOL_ERROR))
        self.assertEqual(follow, ("answer", b"200"))

    @inlineCallbacks
    def test_rejected_request_and_trailers_together(self):
        """A request answered 400 whose bad trailers arrive with it still gets its 400."""

        outcome, follow = yield self.exchange(_with_bad_trailers([(b"upgrade", b"x")]))
        self.assertEqual(outcome[:2], ("answer", b"400"))
        self.assertEqual(follow, ("answer", b"200"))

    @inlineCallbacks
    def test_plain_trailers(self):
        """Trailers with ordinary fields end the request normally."""

        def act(c):
            sid = c.send(_replace(b":method", b"POST"), end_stream=False)
            c.send_data(sid, b"body")
            c.conn.send_headers(sid, [(b"x-checksum", b"1")], end_stream=True)
            c.sock.sendall(c.conn.data_to_send())
            return sid

        outcome, _ = yield self.exchange(act)
        self.assertEqual(outcome[:2], ("answer", b"200"))
        self.assertEqual(outcome[3], b"got 4")

    @inlineCallbacks
    def test_declared_trailer_not_allowed(self):
        """A declared trailer may not carry fields such as content-length (the stream is reset)."""

        def act(c):
            sid = c.send(_replace(b":method", b"POST") + [(b"trailer", b"x-sum")],
                         end_stream=False)
            c.send_data(sid, b"body")
            c.conn.send_headers(sid, [(b"content-length", b"4")], end_stream=True)
            c.sock.sendall(c.conn.data_to_send())
            return sid

        outcome, _ = yield self.exchange(act)
        self.assertEqual(outcome, ("reset", ErrorCodes.PROTOCOL_ERROR))

    @inlineCallbacks
    def test_cookies_joined(self):
        """Cookie fields sent separately reach the request as one "; "-joined Cookie."""
        outcome, _ = yield self.exchange(
            lambda c: c.send(_with((b"cookie", b"a=1"), (b"x-a", b"1"), (b"cookie", b"b=2"))))
        self.assertEqual(outcome[3], b"cookie=a=1; b=2 host=localhost")

    @inlineCallbacks
    def test_authority_is_host(self):
        """:authority is the request's Host even when a different host field is sent."""
        outcome, _ = yield self.exchange(lambda c: c.send(_with((b"host", b"elsewhere"))))
        self.assertEqual(outcome[:2], ("answer", b"200"))
        self.assertEqual(outcome[3], b"cookie=- host=localhost")

    @inlineCallbacks
    def test_host_without_authority(self):
        """Without :authority the host field is the Host."""
        outcome, _ = yield self.exchange(
            lambda c: c.send(_without(b":authority") + [(b"host", b"example")]))
        self.assertEqual(outcome[3], b"cookie=- host=example")
