"""
The TLS port's connections send at once when they can
(L{kapi_twisted.server._transport}): large answers still arrive whole,
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

from kapi_twisted.server._transport import EagerServer
from tests._serving_helpers import client_context, port_of, start_serving

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
