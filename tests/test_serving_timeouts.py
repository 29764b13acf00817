"""
Serving timeouts on a fake clock: the 32 s header deadline, the 90 s idle
timeout, and HTTP/2 connections that are quiet but have open streams.
"""

from __future__ import annotations

from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from kapi_twisted.server.channel import ServingSite
from kapi_twisted.server.http2 import HTTP2Settings
from kapi_twisted.server.request import APIRequest

_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


class _Hanging(Resource):
    isLeaf = True

    def __init__(self):
        super().__init__()
        self.requests = []

    def render_GET(self, request):
        if request.path == b"/hang":
            self.requests.append(request)
            return NOT_DONE_YET
        return b"ok"


class _Fixture:
    def __init__(self, http2=HTTP2Settings()):
        self.clock = MemoryReactorClock()
        self.resource = _Hanging()
        self.site = ServingSite(self.resource, reactor=self.clock,
                                request_factory=APIRequest, http2=http2)
        self.protocol = self.site.buildProtocol(None)
        self.transport = StringTransport()
        self.protocol.makeConnection(self.transport)

    @property
    def closed(self):
        return self.transport.disconnecting


class HeaderTimeoutTests(SynchronousTestCase):
    def test_silent_client_disconnected(self):
        """A client that connects and sends nothing is disconnected after 32 s."""
        f = _Fixture()
        f.clock.advance(31)
        self.assertFalse(f.closed)
        f.clock.advance(1)
        self.assertTrue(f.closed)

    def test_slow_headers_disconnected(self):
        """A client that has not finished its headers within 32 s is disconnected."""
        f = _Fixture()
        f.protocol.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n")
        f.clock.advance(31.9)
        self.assertFalse(f.closed)
        f.clock.advance(0.2)
        self.assertTrue(f.closed)

    def test_complete_headers_not_cut(self):
        """A request whose headers are complete may take longer than 32 s to be answered."""
        f = _Fixture()
        f.protocol.dataReceived(b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
        f.clock.advance(600)
        self.assertFalse(f.closed)
        f.resource.requests[0].write(b"late")
        f.resource.requests[0].finish()
        self.assertIn(b"late", f.transport.value())

    def test_next_request_has_its_own_deadline(self):
        """On a kept-alive connection the header deadline starts with the next request's first byte."""
        f = _Fixture()
        f.protocol.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        f.clock.advance(60)
        self.assertFalse(f.closed)
        f.protocol.dataReceived(b"GET / HTTP/1.1\r\n")
        f.clock.advance(31)
        self.assertFalse(f.closed)
        f.clock.advance(1.5)
        self.assertTrue(f.closed)


class IdleTimeoutTests(SynchronousTestCase):
    def test_idle_keepalive_closed_after_90s(self):
        """A kept-alive HTTP/1.1 connection with no request is closed after 90 s."""
        f = _Fixture()
        f.protocol.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn(b"200 OK", f.transport.value())
        f.clock.advance(89)
        self.assertFalse(f.closed)
        f.clock.advance(2)
        self.assertTrue(f.closed)

    def test_h2_open_stream_is_not_idle(self):
        """A quiet HTTP/2 connection with an open stream (a watch) is not timed out."""
        f = _Fixture()
        import h2.config
        import h2.connection

        client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        client.initiate_connection()
        client.send_headers(1, [(":method", "GET"), (":path", "/hang"),
                                (":scheme", "https"), (":authority", "x")], end_stream=True)
        f.protocol.dataReceived(client.data_to_send())
        self.assertEqual(len(f.resource.requests), 1)
        f.clock.advance(300)
        self.assertFalse(f.closed)
        f.resource.requests[0].finish()
        f.clock.advance(0)  # the sending loop runs on the reactor
        f.clock.advance(91)
        self.assertFalse(f.closed)  # GOAWAY sent; the close follows a second later
        f.clock.advance(1)
        self.assertTrue(f.closed)

    def test_cleartext_prior_knowledge_h2(self):
        """On a tcp: endpoint a client opening with the HTTP/2 preface is served HTTP/2."""
        f = _Fixture()
        f.protocol.dataReceived(_PREFACE[:10])
        self.assertIsNone(f.protocol.channel)
        f.protocol.dataReceived(_PREFACE[10:])
        self.assertEqual(type(f.protocol.channel).__name__, "HTTP2Connection")

    def test_cleartext_without_http2(self):
        """With HTTP/2 disabled a cleartext client is always served HTTP/1.1."""
        f = _Fixture(http2=None)
        f.protocol.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(type(f.protocol.channel).__name__, "HTTP11Channel")
        self.assertIn(b"200 OK", f.transport.value())
