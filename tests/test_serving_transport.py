"""
The TLS port's connections send at once when they can
(L{kapi_twisted._eager_tcp}): large answers still arrive whole,
streaming producers are still paused and resumed by a slow reader, and a
peer that resets the connection mid-answer still ends the request.
"""

from __future__ import annotations

import hashlib
import socket
import struct
from typing import Any, List

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.error import ConnectionLost
from twisted.internet.interfaces import IPushProducer
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET
from zope.interface import implementer

from kapi_twisted._eager_tcp import EagerServer
from tests._serving_helpers import FakeConnection, client_context, port_of, start_serving

_PIECE = bytes(range(256)) * 256  # 64 KiB
_PIECES = 160  # 10 MiB, about a 10,000-object LIST


def _body(pieces: int) -> bytes:
    return b"".join(_PIECE[i % 256:] + _PIECE[:i % 256] for i in range(pieces))


@implementer(IPushProducer)
class _Streamer:
    """Writes a piece whenever it is not paused, until all pieces are out."""

    def __init__(self, request: Any, pieces: int) -> None:
        self.request = request
        self.left = pieces
        self.index = 0
        self.paused = False
        self.pauses = 0

    def start(self) -> None:
        self.request.registerProducer(self, True)
        self.resumeProducing()

    def resumeProducing(self) -> None:
        self.paused = False
        while not self.paused and self.left:
            i = self.index
            self.index += 1
            self.left -= 1
            self.request.write(_PIECE[i % 256:] + _PIECE[:i % 256])
        if not self.left and self.request is not None:
            request, self.request = self.request, None
            request.unregisterProducer()
            request.finish()

    def pauseProducing(self) -> None:
        self.paused = True
        self.pauses += 1

    def stopProducing(self) -> None:
        self.left = 0
        self.request = None


class _Big(Resource):
    """
    C{/whole}: 10 MiB written at once with a Content-Length; C{/chunked}:
    10 MiB written at once, chunked; C{/stream}: 10 MiB from a push producer.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.streamers: List[_Streamer] = []
        self.finished: List[Deferred] = []

    def render_GET(self, request: Any) -> Any:
        self.finished.append(request.notifyFinish())
        request.setHeader(b"content-type", b"application/octet-stream")
        if request.path == b"/stream":
            streamer = _Streamer(request, _PIECES)
            self.streamers.append(streamer)
            streamer.start()
            return NOT_DONE_YET
        body = _body(_PIECES)
        if request.path == b"/whole":
            request.setHeader(b"content-length", b"%d" % len(body))
        for i in range(0, len(body), 1 << 20):
            request.write(body[i:i + (1 << 20)])
        request.finish()
        return NOT_DONE_YET


def _read_chunked(body: bytes) -> bytes:
    out = []
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if not size:
            return b"".join(out)
        out.append(body[:size])
        body = body[size + 2:]


class EagerTransportTests(TestCase):
    """Answers over the TLS port with eager sending."""

    @inlineCallbacks
    def setUp(self) -> Any:
        self.resource = _Big()
        self.serving = yield start_serving(self, resource=self.resource)
        self.port = port_of(self.serving)

    def _connect(self) -> Any:
        """A TLS client with a small receive buffer: it cannot absorb the answer at once."""
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        raw.settimeout(30)
        raw.connect(("127.0.0.1", self.port))
        return client_context(alpn=["http/1.1"]).wrap_socket(raw, server_hostname="localhost")

    def _get(self, path: str) -> Any:
        """GET C{path}; the status line, headers and raw body (de-chunked if chunked)."""
        def run() -> Any:
            sock = self._connect()
            try:
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
                data = b""
                while b"\r\n\r\n" not in data:
                    data += sock.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    headers[name.strip().lower()] = value.strip()
                if b"content-length" in headers:
                    while len(body) < int(headers[b"content-length"]):
                        chunk = sock.recv(65536)
                        if not chunk:
                            break
                        body += chunk
                else:
                    while not body.endswith(b"\r\n0\r\n\r\n"):
                        chunk = sock.recv(65536)
                        if not chunk:
                            break
                        body += chunk
                    body = _read_chunked(body)
                return lines[0], headers, body
            finally:
                sock.close()
        return deferToThread(run)

    def test_connections_send_eagerly(self):
        """The TLS port's connections are the eager kind."""
        self.assertIs(self.serving.port.transport, EagerServer)

    @inlineCallbacks
    def test_large_answer_with_length(self):
        """A 10 MiB answer with a Content-Length arrives whole and in order."""
        status, headers, body = yield self._get("/whole")
        self.assertEqual(status, b"HTTP/1.1 200 OK")
        self.assertEqual(headers[b"content-length"], b"%d" % (_PIECES << 16))
        self.assertEqual(hashlib.sha256(body).digest(), hashlib.sha256(_body(_PIECES)).digest())

    @inlineCallbacks
    def test_large_chunked_answer(self):
        """A 10 MiB chunked answer written in one go arrives whole and in order."""
        status, headers, body = yield self._get("/chunked")
        self.assertEqual(status, b"HTTP/1.1 200 OK")
        self.assertEqual(headers[b"transfer-encoding"], b"chunked")
        self.assertEqual(hashlib.sha256(body).digest(), hashlib.sha256(_body(_PIECES)).digest())

    @inlineCallbacks
    def test_producer_paused_and_resumed(self):
        """A push producer streaming 10 MiB is paused while the client lags, resumed, and all arrives."""
        status, headers, body = yield self._get("/stream")
        self.assertEqual(status, b"HTTP/1.1 200 OK")
        self.assertEqual(hashlib.sha256(body).digest(), hashlib.sha256(_body(_PIECES)).digest())
        self.assertGreater(self.resource.streamers[0].pauses, 0)
        yield self.resource.finished[0]

    @inlineCallbacks
    def test_reset_mid_answer_ends_request(self):
        """A client resetting the connection mid-answer: the request learns the connection was lost."""

        def run() -> None:
            sock = self._connect()
            sock.sendall(b"GET /stream HTTP/1.1\r\nHost: localhost\r\n\r\n")
            got = 0
            while got < 1 << 20:
                got += len(sock.recv(65536))
            # Close with RST (linger 0) while the server still has lots to send.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()

        yield deferToThread(run)
        error = yield self.resource.finished[0].addCallbacks(lambda _: None, lambda f: f.value)
        self.assertIsInstance(error, ConnectionLost)
        self.assertLess(self.resource.streamers[0].index, _PIECES)
        # The connection leaves the site once the reset is seen.
        for _ in range(200):
            if not self.serving.site.connections:
                break
            yield deferLater(reactor, 0.01, lambda: None)
        self.assertEqual(len(self.serving.site.connections), 0)


class HeaderStorageTests(TestCase):
    """Headers kapi stores directly hold what twisted.web's Headers would hold."""

    CASES = [
        (b"content-type", [b"application/json"]),
        (b"Content-Length", [b"12"]),
        (b"etag", [b'"abc"']),
        (b"www-authenticate", [b"Bearer", b"Basic"]),
        (b"x-folded", [b"a\r\n b", b"c\nd"]),
        ("content-type", ["text/plain"]),
        (b"warning", ['299 - "caf\u00e9"']),
        (b"audit-id", []),
    ]

    def test_response_headers_same_as_twisted(self):
        """Every response header a handler sets is stored (and so sent) exactly as twisted.web stores it."""
        from twisted.web.http_headers import Headers

        from kapi_twisted.server._headers import ResponseHeaders
        for name, values in self.CASES:
            ours, theirs = ResponseHeaders(), Headers()
            ours.setRawHeaders(name, values)
            theirs.setRawHeaders(name, values)
            self.assertEqual(list(ours.getAllRawHeaders()), list(theirs.getAllRawHeaders()),
                             (name, values))

    def test_response_header_bad_name_refused(self):
        """A response header name that is no token is refused as twisted.web refuses it."""
        from kapi_twisted.server._headers import ResponseHeaders
        from twisted.web.http_headers import Headers
        for headers in (ResponseHeaders(), Headers()):
            self.assertRaises(Exception, headers.setRawHeaders, b"bad name", [b"x"])

    def test_request_headers_same_as_twisted(self):
        """Request headers read in one pass are stored as twisted.web stores them, repeats in order."""
        from twisted.web.http_headers import Headers

        from kapi_twisted.server._headers import add_checked
        ours, theirs = Headers(), Headers()
        for name, value in [(b"accept", b"a"), (b"ACCEPT", b"b"), (b"te", b"trailers"),
                            (b"X-Custom", b"1"), (b"dnt", b"1")]:
            add_checked(ours, name, value)
            theirs.addRawHeader(name, value)
        self.assertEqual(list(ours.getAllRawHeaders()), list(theirs.getAllRawHeaders()))


class IdleTimerTests(TestCase):
    """The HTTP/1.1 idle timeout (90 s) with one timer per connection."""

    def setUp(self) -> None:
        connection = FakeConnection()
        self.clock = connection.clock
        self.resource = connection.resource
        self.protocol = connection.protocol
        self.transport = connection.transport

    def test_long_request_then_idle(self):
        """A request answered after 200 s is not cut; the connection then closes after 90 s idle."""
        self.protocol.dataReceived(b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
        self.clock.advance(200)
        self.assertFalse(self.transport.disconnecting)
        request = self.resource.hanging[0]
        request.write(b"late")
        request.finish()
        self.clock.advance(89)
        self.assertFalse(self.transport.disconnecting)
        self.clock.advance(1)
        self.assertTrue(self.transport.disconnecting)

    def test_idle_counts_from_last_answer(self):
        """Requests every 60 s keep the connection; 90 s without one closes it."""
        for _ in range(5):
            self.protocol.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            self.clock.advance(60)
            self.assertFalse(self.transport.disconnecting)
        self.clock.advance(30)
        self.assertTrue(self.transport.disconnecting)

    def test_no_timer_pile_up(self):
        """Many requests on one connection leave one idle timer pending, not one per request."""
        for _ in range(100):
            self.protocol.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertLessEqual(len([c for c in self.clock.getDelayedCalls() if c.active()]), 2)

    def test_lost_connection_leaves_no_timer(self):
        """A connection that is gone leaves no timer behind."""
        from twisted.internet.error import ConnectionDone
        from twisted.python.failure import Failure
        self.protocol.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual([c for c in self.clock.getDelayedCalls() if c.active()], [])
