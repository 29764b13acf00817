"""
How the HTTP/1.1 channel reads requests: whole heads in one pass, heads and
bodies in pieces, pipelining, the 400 and 431 refusals, the header deadline
and draining. End to end over real TLS sockets, and on a fake clock where
time matters.
"""

from __future__ import annotations

import json
import socket
from typing import Any, Dict, Optional, Sequence

from twisted.internet.defer import inlineCallbacks
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SynchronousTestCase, TestCase

from kapi_twisted.server.http1 import MAX_HEADER_BYTES

from tests._serving_helpers import (
    FakeConnection, RequestEcho, Response, client_context, port_of, split_http11_responses,
    start_serving, tls_connect)

_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Connection: close\r\n\r\n"
    b"431 Request Header Fields Too Large"
)
_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\n\r\n"


def _converse(port: int, writes: Sequence[bytes], count: Optional[int] = None,
              raw: bool = False) -> Any:
    """
    Send each of C{writes} separately (each becomes its own TLS record), then
    read C{count} responses, or everything until the server closes. Returns
    the responses (or the raw bytes) and whether the server closed.
    """
    with tls_connect(port, client_context(alpn=["http/1.1"])) as sock:
        for data in writes:
            sock.sendall(data)
        received = b""
        closed = False
        while count is None or len(split_http11_responses(received)[0]) < count:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                chunk = b""
            if not chunk:
                closed = True
                break
            received += chunk
        return (received if raw else split_http11_responses(received)[0]), closed


def _echoed(response: Response) -> Dict[str, Any]:
    status, _, body = response
    if not status.endswith(b" 200 OK"):
        raise AssertionError(f"not a 200: {status!r} {body!r}")
    return json.loads(body)


class RequestReadingTests(TestCase):
    """Requests over a real TLS connection."""

    @inlineCallbacks
    def setUp(self):
        self.serving = yield start_serving(self, resource=RequestEcho())
        self.port = port_of(self.serving)

    def converse(self, writes: Sequence[bytes], count: Optional[int] = None, raw: bool = False):
        return deferToThread(_converse, self.port, writes, count, raw)

    @inlineCallbacks
    def test_body_in_pieces(self):
        """A body sent apart from its head, and in pieces, reaches the handler whole."""
        (response,), _ = yield self.converse([
            b"PUT /p HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", b"hello", b" ", b"world",
        ], count=1)
        echoed = _echoed(response)
        self.assertEqual((echoed["method"], echoed["body"]), ("PUT", "hello world"))

    @inlineCallbacks
    def test_head_in_pieces(self):
        """A head sent a few bytes at a time (even CR apart from LF) is read as if sent at once."""
        request = (b"POST /a?b=c HTTP/1.1\r\nHost: x\r\nX-Multi: 1\r\nx-multi: 2\r\n"
                   b"Content-Length: 3\r\n\r\nabc")
        pieces = [request[i:i + 3] for i in range(0, len(request), 3)]
        (response,), _ = yield self.converse(pieces, count=1)
        echoed = _echoed(response)
        self.assertEqual(echoed["uri"], "/a?b=c")
        self.assertEqual(echoed["headers"]["X-Multi"], ["1", "2"])
        self.assertEqual(echoed["body"], "abc")

    @inlineCallbacks
    def test_chunked_body(self):
        """A chunked body (with extensions and trailers) is decoded."""
        (response,), _ = yield self.converse([
            b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n",
            b"6\r\n world\r\n0\r\nTrailer: t\r\n\r\n",
        ], count=1)
        self.assertEqual(_echoed(response)["body"], "hello world")

    @inlineCallbacks
    def test_pipelined_requests(self):
        """Requests sent back to back in one write are answered in order on the same connection."""
        requests = (b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
                    b"POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"
                    b"POST /3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
                    b"\r\n"  # a stray blank line between requests is tolerated
                    b"GET /4 HTTP/1.1\r\nHost: x\r\n\r\n")
        responses, closed = yield self.converse([requests], count=4)
        self.assertEqual([_echoed(r)["uri"] for r in responses], ["/1", "/2", "/3", "/4"])
        self.assertEqual([_echoed(r)["body"] for r in responses], ["", "body", "ok", ""])
        self.assertFalse(closed)

    @inlineCallbacks
    def test_expect_continue(self):
        """C{Expect: 100-continue} gets an interim 100 before the client sends its body."""

        def client():
            with tls_connect(self.port, client_context(alpn=["http/1.1"])) as sock:
                sock.sendall(b"POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                             b"Content-Length: 4\r\n\r\n")
                interim = b""
                while not interim.endswith(b"\r\n\r\n"):
                    chunk = sock.recv(1)
                    if not chunk:
                        break
                    interim += chunk
                sock.sendall(b"data")
                received = b""
                while not split_http11_responses(received)[0]:
                    received += sock.recv(65536)
                return interim, split_http11_responses(received)[0][0]

        interim, response = yield deferToThread(client)
        self.assertEqual(interim, b"HTTP/1.1 100 Continue\r\n\r\n")
        self.assertEqual(_echoed(response)["body"], "data")

    @inlineCallbacks
    def test_http10_closes(self):
        """An HTTP/1.0 request is answered, then the connection is closed."""
        (response,), closed = yield self.converse([b"GET /old HTTP/1.0\r\n\r\n"])
        self.assertEqual(_echoed(response)["version"], "HTTP/1.0")
        self.assertTrue(closed)

    @inlineCallbacks
    def test_connection_close(self):
        """After a C{Connection: close} request the connection closes; a request sent after it is not served."""
        responses, closed = yield self.converse([
            b"GET /1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"])
        self.assertEqual([_echoed(r)["uri"] for r in responses], ["/1"])
        self.assertEqual(responses[0][1][b"connection"], [b"close"])
        self.assertTrue(closed)

    @inlineCallbacks
    def test_folded_header_joined(self):
        """An obs-folded header value is joined with single spaces; spaces around values are dropped."""
        (response,), _ = yield self.converse([
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Folded: one\r\n  two\r\n\tthree\r\nX-Spaced: \t v \t\r\n\r\n"],
            count=1)
        headers = _echoed(response)["headers"]
        self.assertEqual(headers["X-Folded"], ["one two three"])
        self.assertEqual(headers["X-Spaced"], ["v"])

    @inlineCallbacks
    def test_bad_requests(self):
        """Malformed request lines, headers and lengths are answered 400 and the connection is closed."""
        bad = {
            "no version": b"GET /\r\n\r\n",
            "two spaces": b"GET  / HTTP/1.1\r\n\r\n",
            "unknown version": b"GET / HTTP/2.0\r\n\r\n",
            "method not a token": b"GE(T / HTTP/1.1\r\n\r\n",
            "control byte in target": b"GET /\x01 HTTP/1.1\r\n\r\n",
            "two blank lines": b"\r\n\r\nGET / HTTP/1.1\r\n\r\n",
            "no colon": b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
            "space before colon": b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
            "empty name": b"GET / HTTP/1.1\r\n: x\r\n\r\n",
            "fold before any header": b"GET / HTTP/1.1\r\n x: y\r\n\r\n",
            "NUL in value": b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
            "CR in value": b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
            "LF in value": b"GET / HTTP/1.1\r\nX: a\nb\r\n\r\n",
            "length not digits": b"POST / HTTP/1.1\r\nContent-Length: 1a\r\n\r\n",
            "signed length": b"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\nx",
            "two lengths": b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
            "length and chunked": (b"POST / HTTP/1.1\r\nContent-Length: 1\r\n"
                                   b"Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"),
            "unknown coding": b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            "bad chunk size": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        }
        for name, request in bad.items():
            received, closed = yield self.converse([request], raw=True)
            self.assertEqual((name, received, closed), (name, _BAD_REQUEST, True))

    @inlineCallbacks
    def test_bad_request_after_good_one(self):
        """A malformed request pipelined after a good one: the first is answered, then 400."""
        received, closed = yield self.converse(
            [b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\nBROKEN\r\n\r\n"], raw=True)
        self.assertTrue(received.endswith(b"}" + _BAD_REQUEST), received)
        self.assertTrue(closed)

    @inlineCallbacks
    def test_header_limit_boundary(self):
        """Request line plus header lines of exactly 1 MiB (line ends not counted) are served; one byte more gets 431."""
        request_line = b"GET /big HTTP/1.1"
        value = b"v" * (MAX_HEADER_BYTES - len(request_line) - len(b"X-Big: "))
        at_limit = request_line + b"\r\nX-Big: " + value + b"\r\n\r\n"
        (response,), _ = yield self.converse([at_limit], count=1)
        self.assertEqual(len(_echoed(response)["headers"]["X-Big"][0]), len(value))
        over = request_line + b"\r\nX-Big: " + value + b"v\r\n\r\n"
        received, closed = yield self.converse([over], raw=True)
        self.assertEqual(received, _TOO_LARGE)
        self.assertTrue(closed)

    @inlineCallbacks
    def test_431_before_head_ends(self):
        """A header line growing past 1 MiB is refused with 431 before the client finishes it."""
        received, closed = yield self.converse(
            [b"GET / HTTP/1.1\r\nX-Endless: " + b"a" * (MAX_HEADER_BYTES + 2)], raw=True)
        self.assertEqual(received, _TOO_LARGE)
        self.assertTrue(closed)


class ChannelStateTests(SynchronousTestCase):
    """Deadlines and draining, byte by byte, on a fake clock."""

    def test_every_split_of_a_request(self):
        """However a request's bytes are cut into reads, the handler sees the same request."""
        request = (b"POST /s HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n"
                   b"Content-Length: 2\r\n\r\nokGET /t HTTP/1.1\r\n\r\n")
        for cut in range(1, len(request)):
            f = FakeConnection()
            f.send(request[:cut])
            f.send(request[cut:])
            echoed = [_echoed(r) for r in f.responses()]
            self.assertEqual([(e["uri"], e["body"], e["headers"].get("X-Folded")) for e in echoed],
                             [("/s", "ok", ["a b"]), ("/t", "", None)], f"cut at {cut}")

    def test_partial_head_after_answer_has_deadline(self):
        """Part of a next request arriving with the end of a body starts that request's 32 s deadline."""
        f = FakeConnection()
        f.send(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n")
        f.send(b"okGET /next HTTP/1.1\r\n")
        self.assertEqual(len(f.responses()), 1)
        f.clock.advance(31.9)
        self.assertFalse(f.closed)
        f.clock.advance(0.2)
        self.assertTrue(f.closed)

    def test_completed_head_stops_deadline(self):
        """A head finished in a second read within 32 s is served, and the connection then stays up."""
        f = FakeConnection()
        f.send(b"GET /hang HTTP/1.1\r\nHo")
        f.clock.advance(20)
        f.send(b"st: x\r\n\r\n")
        f.clock.advance(60)
        self.assertFalse(f.closed)
        self.assertEqual(len(f.resource.hanging), 1)

    def test_stray_blank_line_has_deadline(self):
        """A client that sends only a blank line after its request is cut off at the header deadline."""
        f = FakeConnection()
        f.send(b"GET / HTTP/1.1\r\n\r\n")
        f.clock.advance(10)
        f.send(b"\r\n")
        f.clock.advance(31.9)
        self.assertFalse(f.closed)
        f.clock.advance(0.2)
        self.assertTrue(f.closed)

    def test_pipelined_while_busy(self):
        """Requests sent while one is being answered are served after it, in order."""
        f = FakeConnection()
        f.send(b"GET /hang HTTP/1.1\r\n\r\nGET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
        self.assertEqual(f.responses(), [])
        hanging = f.resource.hanging[0]
        hanging.setHeader(b"content-length", b"5")
        hanging.write(b"first")
        hanging.finish()
        bodies = [r[2] for r in f.responses()]
        self.assertEqual(bodies[0], b"first")
        self.assertEqual([json.loads(b)["uri"] for b in bodies[1:]], ["/a", "/b"])

    def test_drain_during_partial_head(self):
        """Draining while a head is half read: the request is still served, with C{Connection: close}."""
        f = FakeConnection()
        f.send(b"GET /x HTTP/1.1\r\nHost: x\r\n")
        self.assertFalse(f.channel.idle)
        f.site.drain()
        self.assertFalse(f.closed)
        f.send(b"\r\n")
        (response,) = f.responses()
        self.assertEqual(_echoed(response)["uri"], "/x")
        self.assertEqual(response[1][b"connection"], [b"close"])
        self.assertTrue(f.closed)

    def test_drain_while_answering(self):
        """Draining while a request is answered: its answer says C{Connection: close}, pipelined ones are dropped."""
        f = FakeConnection()
        f.send(b"GET /hang HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n")
        f.site.drain()
        hanging = f.resource.hanging[0]
        hanging.setHeader(b"content-length", b"1")
        hanging.write(b"x")
        hanging.finish()
        responses = f.responses()
        self.assertEqual(len(responses), 1)
        self.assertEqual(responses[0][1][b"connection"], [b"close"])
        self.assertTrue(f.closed)

    def test_idle_after_answer(self):
        """A connection whose request was answered in full counts as idle and closes when draining."""
        f = FakeConnection()
        f.send(b"GET / HTTP/1.1\r\n\r\n")
        self.assertTrue(f.channel.idle)
        f.site.drain()
        self.assertTrue(f.closed)
