"""
The HTTP/2 connection in memory, against the h2 library as the client:
flow control on large answers, request bodies, streamed answers, resets,
draining, and protocol errors.
"""

from __future__ import annotations

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from h2.errors import ErrorCodes
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from kapi_twisted.server.channel import ServingSite
from kapi_twisted.server.request import APIRequest

BIG = b"x" * (1 << 20)


class _Resource(Resource):
    isLeaf = True

    def __init__(self):
        super().__init__()
        self.held = []

    def render_GET(self, request):
        if request.path == b"/big":
            return BIG
        if request.path == b"/stream":
            request.setHeader(b"content-type", b"application/json")
            request.write(b"first\n")
            self.held.append(request)
            return NOT_DONE_YET
        if request.path == b"/hold":
            self.held.append(request)
            return NOT_DONE_YET
        return b"small"

    def render_POST(self, request):
        return b"got %d" % len(request.content.read())


class _Client:
    """An h2 client wired to one server connection through StringTransports."""

    def __init__(self, testcase):
        self.clock = MemoryReactorClock()
        self.resource = _Resource()
        self.site = ServingSite(self.resource, reactor=self.clock, request_factory=APIRequest)
        self.server = self.site.buildProtocol(None)
        self.transport = StringTransport()
        self.server.makeConnection(self.transport)
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None))
        self.conn.initiate_connection()
        self.events = []
        self.send()

    def send(self):
        data = self.conn.data_to_send()
        if data:
            self.server.dataReceived(data)
        self.receive()

    def receive(self):
        self.clock.advance(0)
        data = self.transport.value()
        self.transport.clear()
        if data:
            self.events.extend(self.conn.receive_data(data))
            if self.conn.data_to_send():
                self.send()

    def get(self, path, end_stream=True, method=b"GET", body=None, extra=()):
        stream_id = self.conn.get_next_available_stream_id()
        headers = [(b":method", method), (b":path", path), (b":scheme", b"https"),
                   (b":authority", b"localhost"), *extra]
        if body is not None:
            headers.append((b"content-length", b"%d" % len(body)))
        self.conn.send_headers(stream_id, headers, end_stream=end_stream and body is None)
        if body is not None:
            self.send_body(stream_id, body)
        self.send()
        return stream_id

    def send_body(self, stream_id, body):
        while body:
            size = min(self.conn.local_flow_control_window(stream_id),
                       self.conn.max_outbound_frame_size)
            self.conn.send_data(stream_id, body[:size], end_stream=len(body) <= size)
            body = body[size:]
            self.send()

    def response(self, stream_id, read_window=True):
        status, body, ended = None, b"", False
        for event in self.events:
            if getattr(event, "stream_id", None) != stream_id:
                continue
            if isinstance(event, h2.events.ResponseReceived):
                status = dict(event.headers)[b":status"]
            elif isinstance(event, h2.events.DataReceived):
                body += event.data
            elif isinstance(event, h2.events.StreamEnded):
                ended = True
        return status, body, ended

    def open_windows(self, stream_id):
        """Give back what was read so far (as a reading client does)."""
        for event in list(self.events):
            if isinstance(event, h2.events.DataReceived) and not getattr(event, "_acked", False):
                event._acked = True
                if event.stream_id == stream_id:
                    self.conn.acknowledge_received_data(event.flow_controlled_length, stream_id)
        self.send()


class HTTP2ConnectionTests(SynchronousTestCase):
    def test_small_answer(self):
        """A small answer arrives as headers and data with the stream ended."""
        c = _Client(self)
        sid = c.get(b"/")
        self.assertEqual(c.response(sid), (b"200", b"small", True))
        self.assertEqual(c.server.channel.streams, {})

    def test_large_answer_flow_controlled(self):
        """A 1 MiB answer respects the client's 64 KiB windows and completes as it reads."""
        c = _Client(self)
        sid = c.get(b"/big")
        status, body, ended = c.response(sid)
        self.assertEqual(len(body), 65535)
        self.assertFalse(ended)
        for _ in range(40):
            c.open_windows(sid)
            if c.response(sid)[2]:
                break
        status, body, ended = c.response(sid)
        self.assertEqual((status, len(body), ended), (b"200", len(BIG), True))

    def test_request_body(self):
        """A request body larger than the default window is received whole."""
        c = _Client(self)
        sid = c.get(b"/upload", method=b"POST", body=b"y" * 300_000)
        self.assertEqual(c.response(sid), (b"200", b"got 300000", True))

    def test_expect_continue(self):
        """A request expecting 100-continue gets the interim 100 before its answer."""
        c = _Client(self)
        sid = c.get(b"/upload", method=b"POST", body=b"y" * 10,
                    extra=[(b"expect", b"100-continue")])
        interim = [e for e in c.events if isinstance(e, h2.events.InformationalResponseReceived)]
        self.assertEqual([dict(e.headers)[b":status"] for e in interim], [b"100"])
        self.assertEqual(c.response(sid), (b"200", b"got 10", True))

    def test_streamed_answer(self):
        """A streamed answer (a watch) sends each write as it is made, then ends."""
        c = _Client(self)
        sid = c.get(b"/stream")
        c.receive()
        self.assertEqual(c.response(sid), (b"200", b"first\n", False))
        request = c.resource.held[0]
        request.write(b"second\n")
        c.receive()
        self.assertEqual(c.response(sid), (b"200", b"first\nsecond\n", False))
        request.finish()
        c.receive()
        self.assertEqual(c.response(sid), (b"200", b"first\nsecond\n", True))

    def test_client_reset(self):
        """A stream the client resets reaches its request as a lost connection; others go on."""
        c = _Client(self)
        held = c.get(b"/hold")
        request = c.resource.held[0]
        lost = []
        request.notifyFinish().addErrback(lost.append)
        c.conn.reset_stream(held, ErrorCodes.CANCEL)
        c.send()
        self.assertEqual(len(lost), 1)
        sid = c.get(b"/")
        self.assertEqual(c.response(sid), (b"200", b"small", True))

    def test_concurrent_streams(self):
        """Many streams in flight at once are answered independently."""
        c = _Client(self)
        held = [c.get(b"/hold") for _ in range(20)]
        quick = c.get(b"/")
        self.assertEqual(c.response(quick), (b"200", b"small", True))
        for request in reversed(c.resource.held):
            request.write(b"late")
            request.finish()
        c.receive()
        for sid in held:
            self.assertEqual(c.response(sid), (b"200", b"late", True))

    def test_drain(self):
        """Draining sends GOAWAY, refuses new streams, and closes after the last answer."""
        c = _Client(self)
        held = c.get(b"/hold")
        c.server.drain()
        c.receive()
        goaway = [e for e in c.events if isinstance(e, h2.events.ConnectionTerminated)]
        self.assertEqual((goaway[0].error_code, goaway[0].last_stream_id), (0, held))
        self.assertFalse(c.transport.disconnecting)
        request = c.resource.held[0]
        request.write(b"done")
        request.finish()
        c.clock.advance(0)
        self.assertFalse(c.transport.disconnecting)
        c.clock.advance(1)  # Go closes a second after the last answer
        self.assertTrue(c.transport.disconnecting)

    def test_protocol_error_closes(self):
        """A peer breaking the protocol gets GOAWAY and the connection closes."""
        c = _Client(self)
        c.server.dataReceived(b"\x00\x00\x04\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00")
        self.assertTrue(c.transport.disconnecting)

    def test_header_list_too_large(self):
        """A header list over 1 MiB is refused by closing the connection."""
        c = _Client(self)
        c.conn.max_outbound_frame_size = 16384
        sid = c.conn.get_next_available_stream_id()
        headers = [(b":method", b"GET"), (b":path", b"/"), (b":scheme", b"https"),
                   (b":authority", b"localhost")]
        headers += [(b"x-filler-%d" % i, b"a" * 8000) for i in range(140)]
        c.conn.send_headers(sid, headers, end_stream=True)
        c.server.dataReceived(c.conn.data_to_send())
        self.assertTrue(c.transport.disconnecting)
        self.assertEqual(c.resource.held, [])

    def test_peer_address(self):
        """Requests over HTTP/2 know the client's address."""
        c = _Client(self)
        c.get(b"/hold")
        request = c.resource.held[0]
        self.assertEqual(request.getClientAddress(), c.transport.getPeer())
        self.assertEqual(request.clientproto, b"HTTP/2")

    def test_headers_sent_before_first_event(self):
        """A watch that has written only its headers has them on the wire by the end of the turn."""
        c = _Client(self)
        sid = c.get(b"/hold")
        request = c.resource.held[0]
        request.setHeader(b"content-type", b"application/json")
        request.write(b"")
        c.receive()
        self.assertEqual(c.response(sid), (b"200", b"", False))
