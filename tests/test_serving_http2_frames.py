"""
HTTP/2 at the frame level, in memory: what a client sees on the wire when it
sends well-formed and malformed frames, as RFC 9113 and Go's net/http2 server
(kube-apiserver's) answer them.

The client here is raw bytes: frames are built by hand (so that malformed
ones can be sent) with HPACK blocks from L{hpack.Encoder}, and whatever the
server writes is split into frames by a small reader of our own.  Nothing
here looks inside the server's HTTP/2 connection; these tests hold for any
implementation of it.

A connection error is a GOAWAY with the code, then the connection closes (Go
closes a second after its GOAWAY, so the clock is advanced past that); a
stream error is a RST_STREAM with the code on that stream while the
connection goes on serving.  Where RFC 9113 allows either of two codes or
either kind of error and Go's choice is not essential to clients, both are
accepted.
"""

from __future__ import annotations

import struct
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

import hpack
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from kapi_twisted.server.channel import ServingSite
from kapi_twisted.server.http2 import HTTP2Settings
from kapi_twisted.server.request import APIRequest

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types (RFC 9113 section 6).
(DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY,
 WINDOW_UPDATE, CONTINUATION) = range(10)
# Flags.
END_STREAM = ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20
# Error codes (section 7).
(NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR, SETTINGS_TIMEOUT,
 STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL, COMPRESSION_ERROR) = range(10)
ENHANCE_YOUR_CALM = 11
# Setting identifiers (section 6.5.2).
(HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE,
 MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE) = range(1, 7)

MAX_WINDOW = 2 ** 31 - 1
DEFAULT_WINDOW = 65535
DEFAULT_FRAME_SIZE = 16384
# Go closes a connection one second after a GOAWAY with an error.
GOAWAY_CLOSE_DELAY = 2.0
# Go gives received data back in pieces of at least this (inflowMinRefresh).
_MIN_REFRESH = 4096

Header = Tuple[bytes, bytes]
CONNECTION_SPECIFIC = {b"connection", b"keep-alive", b"proxy-connection",
                       b"transfer-encoding", b"upgrade"}


# -- frames out ---------------------------------------------------------------

def frame(type_: int, flags: int, stream_id: int, payload: bytes = b"",
          length: Optional[int] = None) -> bytes:
    """One frame; C{length} overrides the length field (for malformed frames)."""
    if length is None:
        length = len(payload)
    return (struct.pack(">I", length)[1:] + bytes([type_, flags])
            + struct.pack(">I", stream_id) + payload)


def settings_frame(*pairs: Tuple[int, int], ack: bool = False, stream_id: int = 0) -> bytes:
    payload = b"".join(struct.pack(">HI", key, value) for key, value in pairs)
    return frame(SETTINGS, ACK if ack else 0, stream_id, payload)


def window_update(stream_id: int, increment: int) -> bytes:
    return frame(WINDOW_UPDATE, 0, stream_id, struct.pack(">I", increment))


def ping_frame(opaque: bytes = b"pingpong", ack: bool = False, stream_id: int = 0) -> bytes:
    return frame(PING, ACK if ack else 0, stream_id, opaque)


def rst_frame(stream_id: int, code: int = CANCEL) -> bytes:
    return frame(RST_STREAM, 0, stream_id, struct.pack(">I", code))


def data_frame(stream_id: int, payload: bytes, end_stream: bool = False,
               pad: Optional[int] = None) -> bytes:
    flags = END_STREAM if end_stream else 0
    if pad is not None:
        flags |= PADDED
        payload = bytes([pad]) + payload + b"\0" * pad
    return frame(DATA, flags, stream_id, payload)


def goaway_frame(last_stream_id: int, code: int = NO_ERROR) -> bytes:
    return frame(GOAWAY, 0, 0, struct.pack(">II", last_stream_id, code))


def priority_frame(stream_id: int, depends_on: int = 0, weight: int = 15) -> bytes:
    return frame(PRIORITY, 0, stream_id, struct.pack(">IB", depends_on, weight))


# -- frames in ----------------------------------------------------------------

class Frame(NamedTuple):
    type: int
    flags: int
    stream_id: int
    payload: bytes


def split_frames(buffer: bytes) -> Tuple[List[Frame], bytes]:
    """The whole frames at the start of C{buffer}, and what is left over."""
    frames = []
    while len(buffer) >= 9:
        length = int.from_bytes(buffer[:3], "big")
        if len(buffer) < 9 + length:
            break
        stream_id = int.from_bytes(buffer[5:9], "big") & MAX_WINDOW
        frames.append(Frame(buffer[3], buffer[4], stream_id, buffer[9:9 + length]))
        buffer = buffer[9 + length:]
    return frames, buffer


def unpad(f: Frame) -> bytes:
    """The payload of a DATA or HEADERS frame without padding or priority fields."""
    payload = f.payload
    pad = 0
    if f.flags & PADDED:
        pad, payload = payload[0], payload[1:]
    if f.type == HEADERS and f.flags & PRIORITY_FLAG:
        payload = payload[5:]
    return payload[:len(payload) - pad]


class Response(NamedTuple):
    status: Optional[bytes]
    headers: List[Header]
    body: bytes
    ended: bool


class _Resource(Resource):
    """
    C{/} answers C{small}; C{/n/N} N bytes; C{/empty} nothing; C{/bigheader} a
    40 KB header; C{/hold} waits; POST counts the body.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.held: List[Any] = []
        self.seen: List[bytes] = []
        self.producers: List[Any] = []

    def render_GET(self, request: Any) -> Any:
        self.seen.append(request.path)
        if request.path.startswith(b"/n/"):
            return b"x" * int(request.path[3:])
        if request.path == b"/empty":
            return b""
        if request.path == b"/bigheader":
            request.setHeader(b"x-big", b"h" * 40000)
            return b"small"
        if request.path == b"/hold":
            self.held.append(request)
            return NOT_DONE_YET
        if request.path == b"/produce":
            self.producers.append(_FinishingProducer(request))
            return NOT_DONE_YET
        return b"small"

    def render_POST(self, request: Any) -> bytes:
        self.seen.append(request.path)
        return b"got %d" % len(request.content.read())


class _FinishingProducer:
    """A push producer that writes a line, and finishes its request when stopped."""

    def __init__(self, request: Any) -> None:
        self.request = request
        self.events: List[str] = []
        request.registerProducer(self, True)
        request.write(b"line\n")

    def pauseProducing(self) -> None:
        self.events.append("pause")

    def resumeProducing(self) -> None:
        self.events.append("resume")

    def stopProducing(self) -> None:
        self.events.append("stop")
        self.request.unregisterProducer()
        self.request.finish()


class Conn:
    """
    One server connection in memory and a raw HTTP/2 client for it.

    @ivar frames: every frame the server has written so far.
    @ivar blocks: the decoded header blocks the server sent, as
        C{(stream_id, headers, end_stream)}.
    """

    def __init__(self, settings: Sequence[Tuple[int, int]] = (),
                 http2: HTTP2Settings = HTTP2Settings(), alpn: bool = False,
                 handshake: bool = True) -> None:
        self.clock = MemoryReactorClock()
        self.resource = _Resource()
        self.site = ServingSite(self.resource, reactor=self.clock,
                                request_factory=APIRequest, http2=http2)
        self.server = self.site.buildProtocol(None)
        self.transport = StringTransport()
        if alpn:
            self.transport.negotiatedProtocol = b"h2"  # type: ignore[attr-defined]
        self.server.makeConnection(self.transport)
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.frames: List[Frame] = []
        self.blocks: List[Tuple[int, List[Header], bool]] = []
        self._buffer = b""
        self._block: Optional[Tuple[int, bytes, bool]] = None
        self.next_id = 1
        # Flow control of what the client sends: credit granted by the server.
        self.granted: Dict[int, int] = {}
        self.sent: Dict[int, int] = {}
        if handshake:
            self.send(PREFACE + settings_frame(*settings))
            self.send(settings_frame(ack=True))

    # -- the wire --

    def send(self, *chunks: bytes) -> None:
        self.server.dataReceived(b"".join(chunks))
        self.pump()

    def pump(self) -> None:
        """Run the server's deferred work and read what it wrote."""
        self.clock.advance(0)
        written = self.transport.value()
        self.transport.clear()
        frames, self._buffer = split_frames(self._buffer + written)
        for f in frames:
            self._note(f)
        self.frames.extend(frames)

    def _note(self, f: Frame) -> None:
        if f.type == WINDOW_UPDATE:
            increment = int.from_bytes(f.payload, "big") & MAX_WINDOW
            self.granted[f.stream_id] = self.granted.get(f.stream_id, 0) + increment
        elif f.type == HEADERS:
            self._block = (f.stream_id, unpad(f), bool(f.flags & END_STREAM))
            if f.flags & END_HEADERS:
                self._end_block()
        elif f.type == CONTINUATION and self._block is not None:
            stream_id, fragment, end_stream = self._block
            self._block = (stream_id, fragment + f.payload, end_stream)
            if f.flags & END_HEADERS:
                self._end_block()

    def _end_block(self) -> None:
        assert self._block is not None
        stream_id, fragment, end_stream = self._block
        self._block = None
        headers = [(bytes(n), bytes(v)) for n, v in self.decoder.decode(fragment, raw=True)]
        self.blocks.append((stream_id, headers, end_stream))

    # -- requests --

    def block(self, headers: Iterable[Header]) -> bytes:
        return self.encoder.encode(list(headers))

    def request_headers(self, path: bytes = b"/", method: bytes = b"GET",
                        extra: Iterable[Header] = ()) -> List[Header]:
        return [(b":method", method), (b":scheme", b"https"), (b":path", path),
                (b":authority", b"localhost"), *extra]

    def take_id(self) -> int:
        stream_id, self.next_id = self.next_id, self.next_id + 2
        return stream_id

    def headers_frame(self, stream_id: int, path: bytes = b"/", method: bytes = b"GET",
                      end_stream: bool = True, extra: Iterable[Header] = ()) -> bytes:
        flags = END_HEADERS | (END_STREAM if end_stream else 0)
        return frame(HEADERS, flags, stream_id, self.block(self.request_headers(path, method, extra)))

    def get(self, path: bytes = b"/", **kwargs: Any) -> int:
        """Send a request (HEADERS with END_STREAM unless told otherwise); its stream id."""
        stream_id = self.take_id()
        self.send(self.headers_frame(stream_id, path, **kwargs))
        return stream_id

    def data(self, stream_id: int, payload: bytes, end_stream: bool = False) -> bytes:
        """A DATA frame, counted against the windows the server granted."""
        self.sent[stream_id] = self.sent.get(stream_id, 0) + len(payload)
        self.sent[0] = self.sent.get(0, 0) + len(payload)
        return data_frame(stream_id, payload, end_stream)

    def send_window(self, stream_id: int) -> int:
        """What the client may still send on C{stream_id} (0: the connection)."""
        initial = DEFAULT_WINDOW if stream_id == 0 else self.server_settings().get(
            INITIAL_WINDOW_SIZE, DEFAULT_WINDOW)
        return initial + self.granted.get(stream_id, 0) - self.sent.get(stream_id, 0)

    def upload(self, stream_id: int, body: bytes, frame_size: int = DEFAULT_FRAME_SIZE) -> None:
        """Send C{body} as DATA frames within the granted windows, ending the stream."""
        while body:
            size = min(frame_size, len(body), self.send_window(stream_id), self.send_window(0))
            if size <= 0:
                raise AssertionError("the server gave no window back (%d bytes left)" % len(body))
            chunk, body = body[:size], body[size:]
            self.send(self.data(stream_id, chunk, end_stream=not body))

    # -- what the server said --

    def of_type(self, type_: int, stream_id: Optional[int] = None) -> List[Frame]:
        return [f for f in self.frames
                if f.type == type_ and (stream_id is None or f.stream_id == stream_id)]

    def server_settings(self) -> Dict[int, int]:
        values: Dict[int, int] = {}
        for f in self.of_type(SETTINGS):
            if not f.flags & ACK:
                for i in range(0, len(f.payload) - 5, 6):
                    key, value = struct.unpack(">HI", f.payload[i:i + 6])
                    values[key] = value
        return values

    def goaways(self) -> List[Tuple[int, int]]:
        """(last stream id, error code) of each GOAWAY."""
        return [(int.from_bytes(f.payload[:4], "big") & MAX_WINDOW,
                 int.from_bytes(f.payload[4:8], "big")) for f in self.of_type(GOAWAY)]

    def resets(self, stream_id: int) -> List[int]:
        return [int.from_bytes(f.payload, "big") for f in self.of_type(RST_STREAM, stream_id)]

    def response(self, stream_id: int) -> Response:
        status, headers, body, ended = None, [], b"", False
        for sid, block, end_stream in self.blocks:
            if sid != stream_id:
                continue
            fields = dict(block)
            if status is None and not fields.get(b":status", b"100").startswith(b"1"):
                status, headers = fields[b":status"], block
            ended = ended or end_stream
        for f in self.of_type(DATA, stream_id):
            body += unpad(f)
            ended = ended or bool(f.flags & END_STREAM)
        return Response(status, headers, body, ended)

    def data_frames(self, stream_id: int) -> List[Frame]:
        return self.of_type(DATA, stream_id)

    def finish_held(self, body: bytes = b"late") -> None:
        for request in self.resource.held:
            request.write(body)
            request.finish()
        self.resource.held = []
        self.pump()


class FrameTestCase(SynchronousTestCase):
    def assertConnectionError(self, c: Conn, *codes: int) -> None:
        """A GOAWAY carrying one of C{codes} was sent and the connection closes."""
        c.clock.advance(GOAWAY_CLOSE_DELAY)
        c.pump()
        sent = [code for _, code in c.goaways()]
        self.assertTrue(sent, "no GOAWAY was sent")
        self.assertIn(sent[-1], codes)
        self.assertTrue(c.transport.disconnecting, "the connection stayed open")

    def assertStillServing(self, c: Conn) -> None:
        """The connection has not failed: no error GOAWAY, and a fresh request is answered."""
        self.assertEqual([code for _, code in c.goaways() if code != NO_ERROR], [])
        self.assertFalse(c.transport.disconnecting)
        sid = c.get(b"/")
        self.assertEqual(c.response(sid)[::2], (b"200", b"small"))
        self.assertTrue(c.response(sid).ended)

    def assertStreamError(self, c: Conn, stream_id: int, *codes: int) -> None:
        """A RST_STREAM with one of C{codes} on C{stream_id}; the connection goes on."""
        resets = c.resets(stream_id)
        self.assertTrue(resets, "stream %d was not reset" % stream_id)
        self.assertIn(resets[0], codes)
        self.assertStillServing(c)

    def assertStreamOrConnectionError(self, c: Conn, stream_id: int, *codes: int) -> None:
        """Either a stream error on C{stream_id} or a connection error, with one of C{codes}."""
        if c.resets(stream_id) and not c.goaways():
            self.assertStreamError(c, stream_id, *codes)
        else:
            self.assertConnectionError(c, *codes)


# -- the connection preface ---------------------------------------------------

class PrefaceTests(FrameTestCase):
    def test_server_settings_first(self):
        """The server opens with its SETTINGS (Go's values), then a connection WINDOW_UPDATE."""
        c = Conn(handshake=False)
        c.send(PREFACE + settings_frame())
        self.assertEqual((c.frames[0].type, c.frames[0].flags, c.frames[0].stream_id),
                         (SETTINGS, 0, 0))
        settings = c.server_settings()
        self.assertEqual(settings[MAX_FRAME_SIZE], 256 * 1024)
        self.assertEqual(settings[INITIAL_WINDOW_SIZE], 256 * 1024)
        self.assertEqual(settings[MAX_CONCURRENT_STREAMS], 250)
        # Go announces http.Server's MaxHeaderBytes (1 MiB) plus 320 for field overhead.
        self.assertIn(settings[MAX_HEADER_LIST_SIZE], (1 << 20, (1 << 20) + 320))
        updates = c.of_type(WINDOW_UPDATE, 0)
        self.assertEqual(len(updates), 1)
        self.assertLess(c.frames.index(c.of_type(SETTINGS)[0]), c.frames.index(updates[0]))
        # The connection window holds at least one full stream window.
        self.assertGreaterEqual(c.send_window(0), settings[INITIAL_WINDOW_SIZE])

    def test_max_concurrent_streams_from_site(self):
        """The MAX_CONCURRENT_STREAMS announced is the site's."""
        c = Conn(http2=HTTP2Settings(max_concurrent_streams=7))
        self.assertEqual(c.server_settings()[MAX_CONCURRENT_STREAMS], 7)

    def test_client_settings_acked(self):
        """Each SETTINGS from the client is acknowledged with an empty SETTINGS ACK."""
        c = Conn(handshake=False)
        c.send(PREFACE + settings_frame((MAX_CONCURRENT_STREAMS, 100)))
        acks = [f for f in c.of_type(SETTINGS) if f.flags & ACK]
        self.assertEqual([(f.stream_id, f.payload) for f in acks], [(0, b"")])
        c.send(settings_frame((INITIAL_WINDOW_SIZE, 100000)))
        self.assertEqual(len([f for f in c.of_type(SETTINGS) if f.flags & ACK]), 2)
        self.assertStillServing(c)

    def test_preface_in_pieces(self):
        """A preface and SETTINGS arriving a few bytes at a time still open the connection."""
        c = Conn(handshake=False)
        opening = PREFACE + settings_frame() + c.headers_frame(c.take_id())
        for i in range(0, len(opening), 5):
            c.send(opening[i:i + 5])
        self.assertEqual(c.response(1)[::2], (b"200", b"small"))

    def test_invalid_preface_after_alpn_h2(self):
        """After ALPN chose h2, a bogus preface serves no request and the connection closes."""
        c = Conn(alpn=True, handshake=False)
        c.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n" + settings_frame())
        c.clock.advance(GOAWAY_CLOSE_DELAY)
        c.pump()
        self.assertEqual(c.resource.seen, [])
        self.assertTrue(c.transport.disconnecting)
        # Go hangs up without a word; a GOAWAY, if any, says PROTOCOL_ERROR.
        self.assertIn([code for _, code in c.goaways()], ([], [PROTOCOL_ERROR]))

    def test_first_frame_not_settings(self):
        """A preface followed by anything but SETTINGS is a connection error PROTOCOL_ERROR."""
        c = Conn(handshake=False)
        c.send(PREFACE + ping_frame())
        self.assertConnectionError(c, PROTOCOL_ERROR)
        self.assertEqual(c.of_type(PING), [])


# -- PING ---------------------------------------------------------------------

class PingTests(FrameTestCase):
    def test_ping_answered(self):
        """A PING is answered with a PING ACK carrying the same 8 bytes."""
        c = Conn()
        c.send(ping_frame(b"\x01\x02\x03\x04\x05\x06\x07\x08"))
        self.assertEqual([(f.flags, f.stream_id, f.payload) for f in c.of_type(PING)],
                         [(ACK, 0, b"\x01\x02\x03\x04\x05\x06\x07\x08")])

    def test_ping_wrong_length(self):
        """A PING whose payload is not 8 bytes is a connection error FRAME_SIZE_ERROR."""
        c = Conn()
        c.send(ping_frame(b"short"))
        self.assertConnectionError(c, FRAME_SIZE_ERROR)

    def test_ping_on_stream(self):
        """A PING on a stream other than 0 is a connection error PROTOCOL_ERROR."""
        c = Conn()
        c.send(ping_frame(stream_id=1))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_ping_ack_ignored(self):
        """A PING ACK from the client gets no answer and harms nothing."""
        c = Conn()
        c.send(ping_frame(ack=True))
        self.assertEqual(c.of_type(PING), [])
        self.assertStillServing(c)


    def test_ping_flood_without_reading(self):
        """A client sending PINGs but reading nothing is cut off after 10,000 answers (Go's bound)."""
        c = Conn()
        c.transport.producer.pauseProducing()  # the transport: its buffer is full
        c.send(ping_frame() * 5000)
        self.assertFalse(c.transport.disconnecting)
        c.send(ping_frame() * 5001)
        self.assertTrue(c.transport.disconnected)  # aborted: a close would wait on the peer

    def test_pings_while_reading(self):
        """PINGs answered while the client reads its answers are never too many."""
        c = Conn()
        for _ in range(3):
            c.transport.producer.pauseProducing()
            c.send(ping_frame() * 6000)
            c.transport.producer.resumeProducing()  # the buffer was written out
        c.send(ping_frame() * 20_000)
        self.assertEqual(len(c.of_type(PING)), 38_000)
        self.assertStillServing(c)

    def test_settings_flood_without_reading(self):
        """A client that sends SETTINGS but reads none of the acknowledgements is cut off."""
        c = Conn()
        c.transport.producer.pauseProducing()
        c.send(settings_frame((ENABLE_PUSH, 0)) * 10_001)
        self.assertTrue(c.transport.disconnected)  # aborted: a close would wait on the peer


# -- SETTINGS -----------------------------------------------------------------

class SettingsTests(FrameTestCase):
    def test_length_not_multiple_of_six(self):
        """A SETTINGS payload that is not a multiple of 6 bytes is FRAME_SIZE_ERROR."""
        c = Conn()
        c.send(frame(SETTINGS, 0, 0, b"\x00\x03\x00\x00\x00"))
        self.assertConnectionError(c, FRAME_SIZE_ERROR)

    def test_ack_with_payload(self):
        """A SETTINGS ACK with a payload is a connection error FRAME_SIZE_ERROR."""
        c = Conn()
        c.send(frame(SETTINGS, ACK, 0, struct.pack(">HI", MAX_CONCURRENT_STREAMS, 1)))
        self.assertConnectionError(c, FRAME_SIZE_ERROR)

    def test_on_a_stream(self):
        """SETTINGS on a stream other than 0 is a connection error PROTOCOL_ERROR."""
        c = Conn()
        c.send(settings_frame((MAX_CONCURRENT_STREAMS, 1), stream_id=1))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_enable_push_out_of_range(self):
        """ENABLE_PUSH other than 0 or 1 is a connection error PROTOCOL_ERROR."""
        c = Conn()
        c.send(settings_frame((ENABLE_PUSH, 2)))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_initial_window_too_large(self):
        """INITIAL_WINDOW_SIZE above 2^31-1 is a connection error FLOW_CONTROL_ERROR."""
        c = Conn()
        c.send(settings_frame((INITIAL_WINDOW_SIZE, 2 ** 31)))
        self.assertConnectionError(c, FLOW_CONTROL_ERROR)

    def test_max_frame_size_too_small(self):
        """MAX_FRAME_SIZE below 16384 is a connection error PROTOCOL_ERROR."""
        c = Conn()
        c.send(settings_frame((MAX_FRAME_SIZE, 16383)))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_max_frame_size_too_large(self):
        """MAX_FRAME_SIZE above 2^24-1 is a connection error PROTOCOL_ERROR."""
        c = Conn()
        c.send(settings_frame((MAX_FRAME_SIZE, 2 ** 24)))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_unknown_setting_ignored(self):
        """A setting with an unknown identifier is ignored (and the SETTINGS acknowledged)."""
        c = Conn()
        c.send(settings_frame((0x99, 5), (0xFFFF, 2 ** 32 - 1)))
        self.assertEqual(len([f for f in c.of_type(SETTINGS) if f.flags & ACK]), 2)
        self.assertStillServing(c)

    def test_unsolicited_ack(self):
        """A SETTINGS ACK when the server has no SETTINGS waiting for one is PROTOCOL_ERROR (Go's check)."""
        c = Conn()
        c.send(settings_frame(ack=True))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_setting_given_twice(self):
        """A SETTINGS frame naming one setting twice is PROTOCOL_ERROR (Go's check)."""
        c = Conn()
        c.send(settings_frame((MAX_FRAME_SIZE, 20000), (MAX_FRAME_SIZE, 30000)))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_more_than_100_settings(self):
        """A SETTINGS frame with over 100 entries is PROTOCOL_ERROR (Go's check); 100 are accepted."""
        c = Conn()
        c.send(settings_frame(*[(0x100 + i, i) for i in range(100)]))
        self.assertStillServing(c)
        c.send(settings_frame(*[(0x100 + i, i) for i in range(101)]))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_header_table_size_zero(self):
        """After HEADER_TABLE_SIZE 0 the next response block opens with a table size update to 0."""
        c = Conn()
        c.send(settings_frame((HEADER_TABLE_SIZE, 0)))
        sid = c.get(b"/")
        block = unpad(c.of_type(HEADERS, sid)[0])
        self.assertEqual(block[0], 0x20)
        self.assertEqual(c.response(sid)[::2], (b"200", b"small"))


    def test_header_table_size_flood(self):
        """Many HEADER_TABLE_SIZE changes cost the next block at most two size updates (RFC 7541 4.2)."""
        c = Conn()
        c.send(*[settings_frame((HEADER_TABLE_SIZE, size)) for size in (0, 4096) * 5000])
        sid = c.get(b"/")
        block = unpad(c.of_type(HEADERS, sid)[0])
        updates = 0
        while block and block[0] & 0xE0 == 0x20:  # a dynamic table size update: 001xxxxx
            updates += 1
            block = block[1:] if block[0] & 0x1F != 0x1F else block[3:]  # 4096: 0x3F 0xE1 0x1F
        self.assertLessEqual(updates, 2)
        self.assertEqual(c.response(sid)[::2], (b"200", b"small"))


# -- frame sizes on the way out -------------------------------------------------

class MaxFrameSizeTests(FrameTestCase):
    def _answer(self, c: Conn, size: int) -> List[Frame]:
        c.send(window_update(0, 1 << 20))
        sid = c.get(b"/n/%d" % size)
        response = c.response(sid)
        self.assertEqual((response.status, len(response.body), response.ended),
                         (b"200", size, True))
        return c.data_frames(sid)

    def test_default_client_max_frame_size(self):
        """A 100 KB answer comes in DATA frames of at most 16384 bytes when the client set none."""
        c = Conn(settings=[(INITIAL_WINDOW_SIZE, 1 << 20)])
        frames = self._answer(c, 100_000)
        self.assertLessEqual(max(len(f.payload) for f in frames), DEFAULT_FRAME_SIZE)

    def test_announced_client_max_frame_size(self):
        """DATA frames stay within the MAX_FRAME_SIZE the client announced."""
        c = Conn(settings=[(INITIAL_WINDOW_SIZE, 1 << 20), (MAX_FRAME_SIZE, 20000)])
        frames = self._answer(c, 100_000)
        self.assertLessEqual(max(len(f.payload) for f in frames), 20000)

    def test_max_frame_size_changed_later(self):
        """A MAX_FRAME_SIZE raised after the preface bounds the DATA frames of later answers."""
        c = Conn(settings=[(INITIAL_WINDOW_SIZE, 1 << 20)])
        c.send(settings_frame((MAX_FRAME_SIZE, 40000)))
        frames = self._answer(c, 100_000)
        self.assertLessEqual(max(len(f.payload) for f in frames), 40000)

    def test_large_response_headers_continued(self):
        """Response headers over the client's MAX_FRAME_SIZE come as HEADERS plus CONTINUATION frames."""
        c = Conn()
        sid = c.get(b"/bigheader")
        frames = [f for f in c.frames if f.stream_id == sid and f.type in (HEADERS, CONTINUATION)]
        self.assertEqual(frames[0].type, HEADERS)
        self.assertGreater(len(frames), 1)
        self.assertEqual([f.type for f in frames[1:]], [CONTINUATION] * (len(frames) - 1))
        self.assertEqual([bool(f.flags & END_HEADERS) for f in frames],
                         [False] * (len(frames) - 1) + [True])
        self.assertLessEqual(max(len(f.payload) for f in frames), DEFAULT_FRAME_SIZE)
        response = c.response(sid)
        self.assertEqual((response.status, response.body, response.ended), (b"200", b"small", True))
        self.assertEqual(dict(response.headers)[b"x-big"], b"h" * 40000)


# -- flow control of answers ----------------------------------------------------

class OutboundFlowControlTests(FrameTestCase):
    def _sent(self, c: Conn, sid: int) -> int:
        return len(c.response(sid).body)

    def test_stream_window(self):
        """With INITIAL_WINDOW_SIZE 1000 the server sends 1000 bytes, then more per WINDOW_UPDATE."""
        c = Conn(settings=[(INITIAL_WINDOW_SIZE, 1000)])
        sid = c.get(b"/n/5000")
        self.assertEqual(c.response(sid).status, b"200")
        self.assertEqual(self._sent(c, sid), 1000)
        c.send(window_update(sid, 1500))
        self.assertEqual(self._sent(c, sid), 2500)
        c.send(window_update(sid, 10000))
        self.assertEqual((self._sent(c, sid), c.response(sid).ended), (5000, True))

    def test_initial_window_change_adjusts_open_streams(self):
        """A later INITIAL_WINDOW_SIZE change moves open streams' windows, even below zero."""
        c = Conn(settings=[(INITIAL_WINDOW_SIZE, 1000)])
        sid = c.get(b"/n/10000")
        self.assertEqual(self._sent(c, sid), 1000)
        c.send(settings_frame((INITIAL_WINDOW_SIZE, 3000)))
        self.assertEqual(self._sent(c, sid), 3000)
        # The window is now 3000 - 3000 sent; 1000 makes it -2000.
        c.send(settings_frame((INITIAL_WINDOW_SIZE, 1000)))
        self.assertEqual(self._sent(c, sid), 3000)
        c.send(window_update(sid, 1999))
        self.assertEqual(self._sent(c, sid), 3000)
        c.send(window_update(sid, 101))
        self.assertEqual(self._sent(c, sid), 3100)

    def test_connection_window(self):
        """The connection window (65535 at first) limits answers until a WINDOW_UPDATE on stream 0."""
        c = Conn(settings=[(INITIAL_WINDOW_SIZE, 1 << 20)])
        first = c.get(b"/n/50000")
        second = c.get(b"/n/50000")
        self.assertEqual(self._sent(c, first) + self._sent(c, second), DEFAULT_WINDOW)
        c.send(window_update(0, 10000))
        self.assertEqual(self._sent(c, first) + self._sent(c, second), DEFAULT_WINDOW + 10000)
        c.send(window_update(0, 100000))
        self.assertEqual((self._sent(c, first), self._sent(c, second)), (50000, 50000))
        self.assertTrue(c.response(first).ended and c.response(second).ended)

    def test_reset_stream_drops_pending_data(self):
        """A stream the client resets while its answer waits for window gets no more DATA."""
        c = Conn(settings=[(INITIAL_WINDOW_SIZE, 1000)])
        sid = c.get(b"/n/5000")
        self.assertEqual(self._sent(c, sid), 1000)
        c.send(rst_frame(sid, CANCEL))
        c.send(settings_frame((INITIAL_WINDOW_SIZE, 100000)), window_update(0, 100000))
        self.assertEqual(self._sent(c, sid), 1000)
        self.assertFalse(c.response(sid).ended)
        self.assertStillServing(c)

    def test_refusal_obeys_stream_window(self):
        """A 400 the connection gives itself (a Connection header) waits for stream window like any answer."""
        c = Conn(settings=[(INITIAL_WINDOW_SIZE, 0)])
        sid = c.get(b"/", extra=[(b"connection", b"keep-alive")])
        self.assertEqual(c.response(sid)[::2], (b"400", b""))
        self.assertEqual([f for f in c.data_frames(sid) if f.payload], [])
        c.send(window_update(sid, 1000))
        response = c.response(sid)
        self.assertEqual((response.status, response.ended), (b"400", True))
        self.assertIn(b"Connection", response.body)
        self.assertEqual(c.resource.seen, [])
        c.send(settings_frame((INITIAL_WINDOW_SIZE, DEFAULT_WINDOW)))
        self.assertStillServing(c)

    def test_refusal_obeys_connection_window(self):
        """A 400 the connection answers itself is held while the connection window is spent."""
        c = Conn(settings=[(INITIAL_WINDOW_SIZE, 1 << 20)])
        first = c.get(b"/n/%d" % DEFAULT_WINDOW)
        self.assertEqual(self._sent(c, first), DEFAULT_WINDOW)
        refused = c.get(b"/", extra=[(b"te", b"gzip")])
        self.assertEqual(c.response(refused)[::2], (b"400", b""))
        c.send(window_update(0, 5))
        self.assertEqual(len(c.response(refused).body), 5)
        c.send(window_update(0, 1000))
        response = c.response(refused)
        self.assertEqual((response.status, response.ended), (b"400", True))
        self.assertIn(b"TE", response.body)

    def test_window_update_zero_on_stream(self):
        """A WINDOW_UPDATE of 0 on a stream is a stream error PROTOCOL_ERROR."""
        c = Conn()
        sid = c.get(b"/hold")
        c.send(window_update(sid, 0))
        self.assertStreamError(c, sid, PROTOCOL_ERROR)

    def test_window_update_zero_on_connection(self):
        """A WINDOW_UPDATE of 0 on stream 0 is a connection error PROTOCOL_ERROR."""
        c = Conn()
        c.send(window_update(0, 0))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_stream_window_overflow(self):
        """A WINDOW_UPDATE taking a stream window past 2^31-1 is a stream error FLOW_CONTROL_ERROR."""
        c = Conn()
        sid = c.get(b"/hold")
        c.send(window_update(sid, MAX_WINDOW))
        self.assertStreamError(c, sid, FLOW_CONTROL_ERROR)

    def test_connection_window_overflow(self):
        """A WINDOW_UPDATE taking the connection window past 2^31-1 is FLOW_CONTROL_ERROR."""
        c = Conn()
        c.send(window_update(0, MAX_WINDOW))
        self.assertConnectionError(c, FLOW_CONTROL_ERROR)

    def test_initial_window_change_overflow(self):
        """An INITIAL_WINDOW_SIZE change taking an open stream past 2^31-1 is FLOW_CONTROL_ERROR."""
        c = Conn()
        sid = c.get(b"/hold")
        c.send(window_update(sid, MAX_WINDOW - DEFAULT_WINDOW))
        c.send(settings_frame((INITIAL_WINDOW_SIZE, DEFAULT_WINDOW + 1)))
        self.assertConnectionError(c, FLOW_CONTROL_ERROR)

    def test_window_update_on_idle_stream(self):
        """A WINDOW_UPDATE on a stream never opened is a connection error PROTOCOL_ERROR."""
        c = Conn()
        c.send(window_update(9, 100))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_window_update_on_closed_stream(self):
        """A WINDOW_UPDATE on a stream already answered is ignored."""
        c = Conn()
        sid = c.get(b"/")
        self.assertTrue(c.response(sid).ended)
        c.send(window_update(sid, 100))
        self.assertEqual(c.resets(sid), [])
        self.assertStillServing(c)


# -- flow control of request bodies ---------------------------------------------

class InboundFlowControlTests(FrameTestCase):
    def test_large_body(self):
        """A 600 KB body sent within the granted windows is received whole; the server gives window back."""
        c = Conn()
        sid = c.get(b"/upload", method=b"POST", end_stream=False)
        c.upload(sid, b"y" * 600_000)
        self.assertEqual(c.response(sid)[::2], (b"200", b"got 600000"))
        self.assertTrue(c.of_type(WINDOW_UPDATE, sid))

    def test_body_in_small_frames(self):
        """A body over 64 KiB in many small DATA frames is received whole."""
        c = Conn()
        sid = c.get(b"/upload", method=b"POST", end_stream=False)
        c.upload(sid, b"y" * 70_000, frame_size=1000)
        self.assertEqual(c.response(sid)[::2], (b"200", b"got 70000"))

    def test_padded_data(self):
        """Padded DATA frames count their padding against the window and deliver only the data."""
        c = Conn()
        sid = c.get(b"/upload", method=b"POST", end_stream=False)
        c.send(data_frame(sid, b"abc", pad=10), data_frame(sid, b"de", end_stream=True, pad=0))
        self.assertEqual(c.response(sid)[::2], (b"200", b"got 5"))

    def test_window_given_back_every_4k(self):
        """Each 4 KiB of body is given back at once on the stream and the connection (Go's inflow rule)."""
        c = Conn()
        sid = c.get(b"/upload", method=b"POST", end_stream=False)
        c.send(c.data(sid, b"a" * 4095))
        self.assertEqual(c.of_type(WINDOW_UPDATE, sid), [])
        granted = c.granted.get(0, 0)
        c.send(c.data(sid, b"a"))
        self.assertEqual(c.granted[sid], 4096)
        self.assertEqual(c.granted[0] - granted, 4096)

    def test_data_on_reset_stream_given_back(self):
        """DATA arriving on a stream the server reset is counted and given back to the connection window."""
        c = Conn()
        sid = c.get(b"/upload", method=b"POST", end_stream=False,
                    extra=[(b"content-length", b"1")])
        c.send(c.data(sid, b"toolong"))  # reset: more than its content-length
        self.assertEqual(c.resets(sid), [PROTOCOL_ERROR])
        granted = c.granted.get(0, 0)
        for _ in range(7):
            c.send(c.data(sid, b"z" * 10_000))
        self.assertGreaterEqual(c.granted[0] - granted, 70_000 - _MIN_REFRESH)
        self.assertEqual(c.resets(sid), [PROTOCOL_ERROR])
        self.assertStillServing(c)

    def test_small_stream_window(self):
        """With a stream window under 4 KiB a longer body still gets through."""
        c = Conn(http2=HTTP2Settings(initial_window_size=1000))
        sid = c.get(b"/upload", method=b"POST", end_stream=False)
        c.upload(sid, b"y" * 5000, frame_size=1000)
        self.assertEqual(c.response(sid)[::2], (b"200", b"got 5000"))

    def test_data_beyond_stream_window(self):
        """A DATA frame larger than the stream window the server granted is a FLOW_CONTROL_ERROR."""
        # A server that gives window back as soon as it reads data can only be
        # overrun within one frame: the site announces windows smaller than its frames.
        c = Conn(http2=HTTP2Settings(initial_window_size=16384, max_frame_size=65536))
        sid = c.get(b"/upload", method=b"POST", end_stream=False)
        self.assertEqual(c.send_window(sid), 16384)
        c.send(c.data(sid, b"z" * 16385))
        # Go: a stream error; RFC 9113 6.9 allows a connection error too.
        self.assertStreamOrConnectionError(c, sid, FLOW_CONTROL_ERROR)


# -- stream states ------------------------------------------------------------

class StreamTests(FrameTestCase):
    def test_even_stream_id(self):
        """HEADERS on an even stream id is a connection error PROTOCOL_ERROR."""
        c = Conn()
        c.send(c.headers_frame(2))
        self.assertConnectionError(c, PROTOCOL_ERROR)
        self.assertEqual(c.resource.seen, [])

    def test_headers_on_stream_zero(self):
        """HEADERS on stream 0 is a connection error PROTOCOL_ERROR."""
        c = Conn()
        c.send(c.headers_frame(0))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_stream_id_reused(self):
        """HEADERS on a stream already answered and closed is a connection error."""
        c = Conn()
        sid = c.get(b"/")
        self.assertTrue(c.response(sid).ended)
        c.send(c.headers_frame(sid))
        # Go: PROTOCOL_ERROR (id not above the last); RFC 9113 5.1 also allows STREAM_CLOSED.
        self.assertConnectionError(c, PROTOCOL_ERROR, STREAM_CLOSED)
        self.assertEqual(c.resource.seen, [b"/"])

    def test_data_on_idle_stream(self):
        """DATA on a stream never opened is a connection error PROTOCOL_ERROR."""
        c = Conn()
        c.send(data_frame(1, b"hello", end_stream=True))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_data_on_stream_zero(self):
        """DATA on stream 0 is a connection error PROTOCOL_ERROR."""
        c = Conn()
        c.send(data_frame(0, b"hello"))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_data_after_end_stream(self):
        """DATA on a stream the client ended (still being answered) is a stream error STREAM_CLOSED."""
        c = Conn()
        sid = c.get(b"/hold")
        c.send(data_frame(sid, b"late"))
        self.assertStreamError(c, sid, STREAM_CLOSED)

    def test_data_on_closed_stream(self):
        """DATA on a stream already answered is STREAM_CLOSED (Go: a RST_STREAM)."""
        c = Conn()
        sid = c.get(b"/")
        self.assertTrue(c.response(sid).ended)
        c.send(data_frame(sid, b"late"))
        # RFC 9113 5.1 allows a connection error here too.
        self.assertStreamOrConnectionError(c, sid, STREAM_CLOSED)

    def test_data_after_client_reset(self):
        """DATA on a stream the client has reset is a stream error STREAM_CLOSED."""
        c = Conn()
        sid = c.get(b"/upload", method=b"POST", end_stream=False)
        c.send(rst_frame(sid, CANCEL))
        c.send(data_frame(sid, b"x"))
        self.assertStreamError(c, sid, STREAM_CLOSED)

    def test_data_padding_too_long(self):
        """DATA whose pad length is not less than its payload is a connection error PROTOCOL_ERROR."""
        c = Conn()
        sid = c.get(b"/upload", method=b"POST", end_stream=False)
        c.send(frame(DATA, PADDED, sid, bytes([10]) + b"abc"))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_rst_stream_idle(self):
        """RST_STREAM on a stream never opened is a connection error PROTOCOL_ERROR."""
        c = Conn()
        c.send(rst_frame(1))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_rst_stream_on_stream_zero(self):
        """RST_STREAM on stream 0 is a connection error PROTOCOL_ERROR."""
        c = Conn()
        c.send(rst_frame(0))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_rst_stream_wrong_length(self):
        """A RST_STREAM whose payload is not 4 bytes is a connection error FRAME_SIZE_ERROR."""
        c = Conn()
        sid = c.get(b"/hold")
        c.send(frame(RST_STREAM, 0, sid, b"\x00\x00\x00\x08\x00"))
        self.assertConnectionError(c, FRAME_SIZE_ERROR)

    def test_rst_stream_cancels(self):
        """RST_STREAM on an open stream ends its request without an answer; others go on."""
        c = Conn()
        sid = c.get(b"/hold")
        request = c.resource.held[0]
        lost: List[Any] = []
        request.notifyFinish().addErrback(lost.append)
        c.send(rst_frame(sid, CANCEL))
        self.assertEqual(len(lost), 1)
        self.assertEqual(c.resets(sid), [])
        self.assertStillServing(c)

    def test_connection_lost_ends_every_stream(self):
        """When the connection drops, each open request learns it once and producers are stopped."""
        from twisted.internet.error import ConnectionDone
        from twisted.python.failure import Failure

        c = Conn()
        c.get(b"/hold")
        c.get(b"/hold")
        c.get(b"/produce")
        lost: List[Any] = []
        for request in c.resource.held:
            request.notifyFinish().addErrback(lost.append)
        c.server.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(len(lost), 2)
        # (The producer finishes its request when stopped.)
        self.assertEqual(c.resource.producers[0].events, ["stop"])
        c.clock.advance(100)

    def test_abort_resets_stream(self):
        """An aborted answer (Go's ErrAbortHandler) resets just its stream, with INTERNAL_ERROR as in Go."""
        from kapi_twisted.server.filters._abort import abort_request

        c = Conn()
        sid = c.get(b"/hold")
        request = c.resource.held[0]
        lost: List[Any] = []
        request.notifyFinish().addErrback(lost.append)
        request.write(b"partial")
        abort_request(request)
        c.pump()
        self.assertEqual(len(lost), 1)
        self.assertEqual(c.resets(sid), [INTERNAL_ERROR])
        self.assertFalse(c.response(sid).ended)
        self.assertStillServing(c)

    def test_rst_stream_stops_producer(self):
        """A stream the client resets stops its producer; nothing more is sent on that stream."""
        c = Conn()
        sid = c.get(b"/produce")
        self.assertEqual(c.response(sid)[::2], (b"200", b"line\n"))
        sent = len([f for f in c.frames if f.stream_id == sid])
        c.send(rst_frame(sid, CANCEL))
        self.assertEqual(c.resource.producers[0].events, ["stop"])
        self.assertEqual([f for f in c.frames if f.stream_id == sid][sent:], [])
        self.assertStillServing(c)

    def test_stream_error_stops_producer(self):
        """A stream the server resets stops its producer; nothing follows the RST_STREAM on that stream."""
        c = Conn()
        sid = c.get(b"/produce")
        c.send(window_update(sid, MAX_WINDOW))
        self.assertEqual(c.resource.producers[0].events, ["stop"])
        after = [f.type for f in c.frames if f.stream_id == sid]
        self.assertEqual(after[after.index(RST_STREAM):], [RST_STREAM])
        self.assertEqual(c.resets(sid), [FLOW_CONTROL_ERROR])
        self.assertStillServing(c)

    def test_requests_while_not_reading(self):
        """A client reading nothing gets MAX_CONCURRENT_STREAMS answers, then REFUSED_STREAM until it reads."""
        c = Conn(http2=HTTP2Settings(max_concurrent_streams=10))
        c.transport.producer.pauseProducing()  # the server's send buffer is full
        sids = [c.get(b"/") for _ in range(15)]
        self.assertEqual([c.response(sid).status for sid in sids[:10]], [b"200"] * 10)
        for sid in sids[10:]:
            self.assertEqual((c.response(sid).status, c.resets(sid)), (None, [REFUSED_STREAM]))
        self.assertEqual(c.resource.seen, [b"/"] * 10)
        c.transport.producer.resumeProducing()
        self.assertStillServing(c)

    def test_rapid_reset(self):
        """Resetting streams beyond 1000 at once, then 33/s, is ENHANCE_YOUR_CALM (Rapid Reset)."""
        c = Conn()

        def burst(n: int) -> None:
            frames = []
            for _ in range(n):
                sid = c.take_id()
                frames += [c.headers_frame(sid, b"/hold"), rst_frame(sid)]
            c.send(*frames)

        burst(1000)
        self.assertEqual(c.goaways(), [])
        c.clock.advance(3)  # 99 more
        burst(99)
        self.assertEqual(c.goaways(), [])
        burst(1)
        self.assertConnectionError(c, ENHANCE_YOUR_CALM)

    def test_too_many_streams(self):
        """A stream beyond MAX_CONCURRENT_STREAMS is reset; those before it are still answered."""
        c = Conn(http2=HTTP2Settings(max_concurrent_streams=3))
        held = [c.get(b"/hold") for _ in range(3)]
        extra = c.get(b"/hold")
        # Go: PROTOCOL_ERROR once its SETTINGS are acknowledged, REFUSED_STREAM before.
        self.assertIn(c.resets(extra), ([PROTOCOL_ERROR], [REFUSED_STREAM]))
        self.assertEqual(len(c.resource.held), 3)
        self.assertEqual(c.goaways(), [])
        c.finish_held()
        for sid in held:
            self.assertEqual(c.response(sid)[::2], (b"200", b"late"))
            self.assertTrue(c.response(sid).ended)
        # With the others done, a new stream is accepted again.
        self.assertStillServing(c)


# -- header blocks ------------------------------------------------------------

    def test_stream_id_going_down(self):
        """HEADERS opening a stream id lower than one already used is a connection error PROTOCOL_ERROR."""
        # Go (server.go processHeaders, "stream_went_down") and RFC 9113 5.1.1.
        c = Conn()
        c.send(c.headers_frame(5, b"/hold"))
        c.send(c.headers_frame(3))
        self.assertConnectionError(c, PROTOCOL_ERROR)
        self.assertNotIn(b"/", c.resource.seen)


class HeaderBlockTests(FrameTestCase):
    def test_padded_headers(self):
        """A padded HEADERS frame is served."""
        c = Conn()
        block = c.block(c.request_headers(b"/"))
        c.send(frame(HEADERS, END_HEADERS | END_STREAM | PADDED, 1, bytes([7]) + block + b"\0" * 7))
        self.assertEqual(c.response(1)[::2], (b"200", b"small"))

    def test_headers_with_priority(self):
        """A HEADERS frame carrying priority fields is served."""
        c = Conn()
        block = c.block(c.request_headers(b"/"))
        priority = struct.pack(">IB", 0x80000000, 200)  # exclusive on stream 0, weight 201
        c.send(frame(HEADERS, END_HEADERS | END_STREAM | PRIORITY_FLAG, 1, priority + block))
        self.assertEqual(c.response(1)[::2], (b"200", b"small"))

    def test_padded_headers_with_priority(self):
        """A HEADERS frame both padded and with priority fields is served."""
        c = Conn()
        block = c.block(c.request_headers(b"/"))
        payload = bytes([3]) + struct.pack(">IB", 0, 15) + block + b"\0\0\0"
        c.send(frame(HEADERS, END_HEADERS | END_STREAM | PADDED | PRIORITY_FLAG, 1, payload))
        self.assertEqual(c.response(1)[::2], (b"200", b"small"))

    def test_continuation(self):
        """A header block split over HEADERS and two CONTINUATION frames is served."""
        c = Conn()
        block = c.block(c.request_headers(b"/", extra=[(b"x-filler", b"f" * 100)]))
        a, b = len(block) // 3, 2 * len(block) // 3
        c.send(frame(HEADERS, END_STREAM, 1, block[:a]),
               frame(CONTINUATION, 0, 1, block[a:b]))
        self.assertEqual(c.resource.seen, [])
        c.send(frame(CONTINUATION, END_HEADERS, 1, block[b:]))
        self.assertEqual(c.response(1)[::2], (b"200", b"small"))

    def test_continuation_then_body(self):
        """A POST whose headers span CONTINUATION frames gets its body after them."""
        c = Conn()
        block = c.block(c.request_headers(b"/upload", b"POST"))
        c.send(frame(HEADERS, 0, 1, block[:5]), frame(CONTINUATION, END_HEADERS, 1, block[5:]),
               data_frame(1, b"body", end_stream=True))
        self.assertEqual(c.response(1)[::2], (b"200", b"got 4"))

    def test_other_frame_inside_header_block(self):
        """A frame other than CONTINUATION inside a header block is a connection error PROTOCOL_ERROR."""
        c = Conn()
        block = c.block(c.request_headers(b"/"))
        c.send(frame(HEADERS, END_STREAM, 1, block[:3]), ping_frame(),
               frame(CONTINUATION, END_HEADERS, 1, block[3:]))
        self.assertConnectionError(c, PROTOCOL_ERROR)
        self.assertEqual(c.resource.seen, [])

    def test_continuation_on_other_stream(self):
        """A CONTINUATION for another stream inside a header block is a connection error PROTOCOL_ERROR."""
        c = Conn()
        block = c.block(c.request_headers(b"/"))
        c.send(frame(HEADERS, END_STREAM, 1, block[:3]),
               frame(CONTINUATION, END_HEADERS, 3, block[3:]))
        self.assertConnectionError(c, PROTOCOL_ERROR)
        self.assertEqual(c.resource.seen, [])

    def test_continuation_without_headers(self):
        """A CONTINUATION not following HEADERS is a connection error PROTOCOL_ERROR."""
        c = Conn()
        c.send(frame(CONTINUATION, END_HEADERS, 1, c.block(c.request_headers(b"/"))))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_continuation_after_finished_block(self):
        """A CONTINUATION after a block that had END_HEADERS is a connection error PROTOCOL_ERROR."""
        c = Conn()
        sid = c.get(b"/hold")
        c.send(frame(CONTINUATION, END_HEADERS, sid, c.block([(b"x-more", b"1")])))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_empty_continuation_flood(self):
        """Endless empty CONTINUATION frames cost the server no memory; the block, once ended, is served."""
        import tracemalloc

        c = Conn()
        block = c.block(c.request_headers(b"/"))
        flood = frame(CONTINUATION, 0, 1) * 50_000
        c.send(frame(HEADERS, END_STREAM, 1, block[:5]))
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            c.send(flood)
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        self.assertLess(grown, 100_000)
        c.send(frame(CONTINUATION, END_HEADERS, 1, block[5:]))
        self.assertEqual(c.response(1)[::2], (b"200", b"small"))

    def test_hpack_garbage(self):
        """A header block that cannot be HPACK-decoded is a connection error COMPRESSION_ERROR."""
        c = Conn()
        # Indexed field 70: past the static table, with an empty dynamic table.
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\xc6"))
        self.assertConnectionError(c, COMPRESSION_ERROR)
        self.assertEqual(c.resource.seen, [])

    def test_headers_larger_than_max_frame_size(self):
        """A HEADERS frame over the server's MAX_FRAME_SIZE is a connection error FRAME_SIZE_ERROR."""
        c = Conn()
        size = c.server_settings()[MAX_FRAME_SIZE] + 1
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\0" * size))
        self.assertConnectionError(c, FRAME_SIZE_ERROR)

    def test_data_larger_than_max_frame_size(self):
        """A DATA frame over the server's MAX_FRAME_SIZE is a FRAME_SIZE_ERROR (Go: connection error)."""
        c = Conn()
        sid = c.get(b"/upload", method=b"POST", end_stream=False)
        size = c.server_settings()[MAX_FRAME_SIZE] + 1
        c.send(data_frame(sid, b"\0" * size))
        self.assertStreamOrConnectionError(c, sid, FRAME_SIZE_ERROR)

    def test_header_list_too_large_over_continuations(self):
        """A header list far over MAX_HEADER_LIST_SIZE sent over CONTINUATION frames closes the connection."""
        c = Conn()
        fields = c.request_headers(b"/") + [(b"x-filler-%d" % i, b"a" * 8000) for i in range(140)]
        block = c.block(fields)
        pieces = [block[i:i + DEFAULT_FRAME_SIZE] for i in range(0, len(block), DEFAULT_FRAME_SIZE)]
        frames = [frame(HEADERS, END_STREAM, 1, pieces[0])]
        frames += [frame(CONTINUATION, 0, 1, piece) for piece in pieces[1:-1]]
        frames.append(frame(CONTINUATION, END_HEADERS, 1, pieces[-1]))
        c.send(*frames)
        # Go: PROTOCOL_ERROR (a CONTINUATION after the limit was passed).
        self.assertConnectionError(c, PROTOCOL_ERROR, ENHANCE_YOUR_CALM)
        self.assertEqual(c.resource.seen, [])

    def test_headers_padding_too_long(self):
        """HEADERS whose pad length exceeds its payload is a PROTOCOL_ERROR and serves nothing."""
        c = Conn()
        block = c.block(c.request_headers(b"/"))
        c.send(frame(HEADERS, END_HEADERS | END_STREAM | PADDED, 1, bytes([200]) + block))
        self.assertEqual(c.resource.seen, [])
        # Go: a stream error; RFC 9113 6.2 reads as a connection error.
        self.assertStreamOrConnectionError(c, 1, PROTOCOL_ERROR)

    def test_headers_on_half_closed_stream(self):
        """HEADERS again on a stream the client ended, still being answered, is STREAM_CLOSED."""
        c = Conn()
        sid = c.get(b"/hold")
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, sid, c.block([(b"x-late", b"1")])))
        self.assertStreamError(c, sid, STREAM_CLOSED)

    def test_trailers(self):
        """Trailers (HEADERS with END_STREAM after the body) end the request, which is served."""
        c = Conn()
        sid = c.get(b"/upload", method=b"POST", end_stream=False)
        c.send(data_frame(sid, b"body"),
               frame(HEADERS, END_HEADERS | END_STREAM, sid, c.block([(b"x-checksum", b"1")])))
        self.assertEqual(c.response(sid)[::2], (b"200", b"got 4"))


# -- request semantics seen at the frame level ----------------------------------

    def test_header_list_too_large_compressed(self):
        """A small header block that decodes to more than MAX_HEADER_LIST_SIZE is answered 431."""
        # 12,000 copies of one 100-byte field, indexed from the dynamic table: a
        # 12 KB block, 1.6 MB decoded. Go (handleHeaderListTooLong) answers the
        # stream 431 and the connection goes on.
        c = Conn()
        fields = c.request_headers(b"/") + [(b"x-big", b"v" * 100)] * 12000
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, c.block(fields)))
        c.next_id = 3
        self.assertEqual(c.response(1).status, b"431")
        self.assertTrue(c.response(1).ended)
        self.assertEqual(c.resource.seen, [])
        self.assertStillServing(c)


class RequestTests(FrameTestCase):
    def test_content_length_exceeded(self):
        """DATA beyond the declared content-length is a stream error PROTOCOL_ERROR."""
        c = Conn()
        sid = c.get(b"/upload", method=b"POST", end_stream=False,
                    extra=[(b"content-length", b"5")])
        c.send(data_frame(sid, b"0123456789", end_stream=True))
        self.assertStreamError(c, sid, PROTOCOL_ERROR)
        self.assertEqual(c.response(sid).status, None)

    def test_content_length_short(self):
        """A body shorter than its content-length is refused: a stream reset or an error status."""
        c = Conn()
        sid = c.get(b"/upload", method=b"POST", end_stream=False,
                    extra=[(b"content-length", b"10")])
        c.send(data_frame(sid, b"01234", end_stream=True))
        # RFC 9113 8.1.1: malformed, a stream error PROTOCOL_ERROR; Go's handler
        # instead fails reading the body and answers with an error.
        status = c.response(sid).status
        if c.resets(sid):
            self.assertStreamError(c, sid, PROTOCOL_ERROR)
        else:
            self.assertIsNotNone(status)
            self.assertGreaterEqual(int(status), 400)
            self.assertStillServing(c)

    def test_content_length_matching(self):
        """A body matching its content-length over several DATA frames is served."""
        c = Conn()
        sid = c.get(b"/upload", method=b"POST", end_stream=False,
                    extra=[(b"content-length", b"10")])
        c.send(data_frame(sid, b"01234"), data_frame(sid, b"56789"), data_frame(sid, b"", True))
        self.assertEqual(c.response(sid)[::2], (b"200", b"got 10"))

    def test_trailers_without_end_stream(self):
        """A second HEADERS without END_STREAM is malformed: a stream error PROTOCOL_ERROR (Go)."""
        c = Conn()
        sid = c.get(b"/upload", method=b"POST", end_stream=False)
        c.send(data_frame(sid, b"body"),
               frame(HEADERS, END_HEADERS, sid, c.block([(b"x-checksum", b"1")])))
        self.assertStreamError(c, sid, PROTOCOL_ERROR)

    def test_small_answer_frames(self):
        """A small answer is HEADERS (:status first, no connection headers), then DATA ending the stream."""
        c = Conn()
        sid = c.get(b"/")
        frames = [f for f in c.frames if f.stream_id == sid]
        self.assertEqual([f.type for f in frames], [HEADERS, DATA])
        self.assertFalse(frames[0].flags & END_STREAM)
        self.assertTrue(frames[1].flags & END_STREAM)
        headers = c.response(sid).headers
        self.assertEqual(headers[0], (b":status", b"200"))
        self.assertEqual([n for n, _ in headers if n.startswith(b":")], [b":status"])
        self.assertEqual([n for n, _ in headers if n in CONNECTION_SPECIFIC], [])
        self.assertEqual([n for n, _ in headers if n != n.lower()], [])
        self.assertEqual(c.response(sid).body, b"small")

    def test_empty_answer(self):
        """An empty answer ends its stream with no data (on the HEADERS or an empty DATA)."""
        c = Conn()
        sid = c.get(b"/empty")
        response = c.response(sid)
        self.assertEqual((response.status, response.body, response.ended), (b"200", b"", True))
        self.assertEqual(c.response(sid).headers[0][0], b":status")
        self.assertEqual([n for n, _ in response.headers if n in CONNECTION_SPECIFIC], [])

    def test_end_stream_on_empty_data(self):
        """A GET whose HEADERS lack END_STREAM, ended by an empty DATA frame, is served."""
        c = Conn()
        sid = c.get(b"/", end_stream=False)
        self.assertEqual(c.resource.seen, [])
        c.send(data_frame(sid, b"", end_stream=True))
        self.assertEqual(c.response(sid)[::2], (b"200", b"small"))

    def test_head_answer(self):
        """A HEAD answer carries headers only: the stream ends with no body bytes."""
        c = Conn()
        sid = c.get(b"/n/100", method=b"HEAD")
        response = c.response(sid)
        self.assertEqual((response.status, response.body, response.ended), (b"200", b"", True))

    def test_streams_answered_independently(self):
        """Frames of several streams in one read are all answered, each on its own stream."""
        c = Conn()
        frames = [c.headers_frame(sid, b"/n/%d" % (10 * sid)) for sid in (1, 3, 5)]
        c.next_id = 7
        c.send(*frames)
        for sid in (1, 3, 5):
            self.assertEqual(c.response(sid)[::2], (b"200", b"x" * (10 * sid)))


# -- other frames ---------------------------------------------------------------

class OtherFrameTests(FrameTestCase):
    def test_priority_on_idle_and_open_streams(self):
        """PRIORITY frames on an idle and on an open stream are accepted and change nothing visible."""
        c = Conn()
        sid = c.get(b"/hold")
        c.send(priority_frame(sid, 0, 100), priority_frame(sid + 2, sid, 5))
        self.assertEqual(c.resets(sid), [])
        c.finish_held()
        self.assertEqual(c.response(sid)[::2], (b"200", b"late"))
        self.assertStillServing(c)

    def test_priority_on_closed_stream(self):
        """A PRIORITY frame on a stream already answered is accepted."""
        c = Conn()
        sid = c.get(b"/")
        c.send(priority_frame(sid, 0, 10))
        self.assertStillServing(c)

    def test_priority_wrong_length(self):
        """A PRIORITY frame not 5 bytes long is a FRAME_SIZE_ERROR (RFC 9113: stream; Go: connection)."""
        c = Conn()
        sid = c.get(b"/hold")
        c.send(frame(PRIORITY, 0, sid, b"\x00\x00\x00\x00"))
        self.assertStreamOrConnectionError(c, sid, FRAME_SIZE_ERROR)

    def test_unknown_frame_types_ignored(self):
        """Frames of unknown types, on stream 0 or a stream, are ignored."""
        c = Conn()
        sid = c.get(b"/hold")
        c.send(frame(0x20, 0xFF, 0, b"whatever"), frame(0xBE, 0, sid, b"x" * 100),
               frame(0x0B, 0, 99, b""))
        self.assertEqual(c.resets(sid), [])
        c.finish_held()
        self.assertEqual(c.response(sid)[::2], (b"200", b"late"))
        self.assertStillServing(c)

    def test_push_promise_from_client(self):
        """A PUSH_PROMISE from a client is a connection error PROTOCOL_ERROR."""
        c = Conn()
        sid = c.get(b"/hold")
        promise = struct.pack(">I", 2) + c.block(c.request_headers(b"/"))
        c.send(frame(PUSH_PROMISE, END_HEADERS, sid, promise))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_priority_self_dependency(self):
        """A PRIORITY frame making a stream depend on itself is a stream error PROTOCOL_ERROR."""
        c = Conn()
        sid = c.get(b"/hold")
        c.send(priority_frame(sid, sid, 15))
        self.assertStreamError(c, sid, PROTOCOL_ERROR)

    def test_headers_self_dependency(self):
        """HEADERS whose priority makes the stream depend on itself is a stream error PROTOCOL_ERROR (Go)."""
        c = Conn()
        sid = c.take_id()
        block = c.block(c.request_headers(b"/", extra=[(b"x-a", b"a")]))
        c.send(frame(HEADERS, END_HEADERS | END_STREAM | PRIORITY_FLAG, sid,
                     struct.pack(">IB", sid, 15) + block))
        self.assertEqual(c.resource.seen, [])
        # The block was still decoded: the next request, reusing its table entries, is served.
        self.assertStreamError(c, sid, PROTOCOL_ERROR)
        again = c.get(b"/", extra=[(b"x-a", b"a")])
        self.assertEqual(c.response(again)[::2], (b"200", b"small"))

    def test_close_after_goaway_waits(self):
        """After its GOAWAY the server reads on for a second, then closes (Go): a racing request is no reset."""
        c = Conn()
        sid = c.get(b"/")
        c.send(goaway_frame(sid))
        self.assertEqual(c.goaways(), [(sid, NO_ERROR)])
        self.assertFalse(c.transport.disconnecting)
        c.send(c.headers_frame(c.take_id()), ping_frame())  # read, and ignored
        self.assertEqual(c.resource.seen, [b"/"])
        c.clock.advance(0.9)
        self.assertFalse(c.transport.disconnecting)
        c.clock.advance(0.1)
        self.assertTrue(c.transport.disconnecting)

    def test_close_during_goaway_wait(self):
        """Closing the server's connections (shutdown) during that second closes at once."""
        c = Conn()
        c.server.drain()
        c.pump()
        self.assertFalse(c.transport.disconnecting)
        c.server.close()
        self.assertTrue(c.transport.disconnecting)
        self.assertEqual(c.goaways(), [(0, NO_ERROR)])

    def test_pings_do_not_keep_an_idle_connection(self):
        """With no stream open the connection closes after 90 s idle though the client PINGs (Go)."""
        c = Conn()
        sid = c.get(b"/")
        self.assertTrue(c.response(sid).ended)
        for _ in range(8):
            c.clock.advance(10)
            c.send(ping_frame())
        c.clock.advance(11)
        c.pump()
        self.assertEqual(c.goaways(), [(sid, NO_ERROR)])
        c.clock.advance(1)  # Go closes a second after its GOAWAY
        self.assertTrue(c.transport.disconnecting)

    def test_idle_timeout_counts_from_last_stream(self):
        """The idle timeout starts when the last open stream ends, however long that stream lasted."""
        c = Conn()
        sid = c.get(b"/hold")
        for _ in range(15):
            c.clock.advance(10)
        c.pump()
        self.assertFalse(c.transport.disconnecting)
        c.finish_held()
        self.assertTrue(c.response(sid).ended)
        c.clock.advance(89)
        c.pump()
        self.assertFalse(c.transport.disconnecting)
        c.clock.advance(2)
        c.pump()
        self.assertEqual(c.goaways(), [(sid, NO_ERROR)])
        c.clock.advance(1)
        self.assertTrue(c.transport.disconnecting)

    def test_goaway_on_stream(self):
        """A GOAWAY on a stream other than 0 is a connection error PROTOCOL_ERROR."""
        c = Conn()
        c.send(frame(GOAWAY, 0, 1, struct.pack(">II", 0, NO_ERROR)))
        self.assertConnectionError(c, PROTOCOL_ERROR)

    def test_goaway_short(self):
        """A GOAWAY shorter than 8 bytes is a connection error FRAME_SIZE_ERROR."""
        c = Conn()
        c.send(frame(GOAWAY, 0, 0, b"\0\0\0\0"))
        self.assertConnectionError(c, FRAME_SIZE_ERROR)

    def test_window_update_wrong_length(self):
        """A WINDOW_UPDATE whose payload is not 4 bytes is a connection error FRAME_SIZE_ERROR."""
        c = Conn()
        c.send(frame(WINDOW_UPDATE, 0, 0, b"\0\0\0\1\0"))
        self.assertConnectionError(c, FRAME_SIZE_ERROR)

    def test_unknown_frame_too_large(self):
        """A frame of unknown type over the server's MAX_FRAME_SIZE is a connection error FRAME_SIZE_ERROR."""
        c = Conn()
        c.send(frame(0x20, 0, 0, b"\0" * (c.server_settings()[MAX_FRAME_SIZE] + 1)))
        self.assertConnectionError(c, FRAME_SIZE_ERROR)

    def test_settings_too_large(self):
        """A SETTINGS frame over the server's MAX_FRAME_SIZE is a connection error FRAME_SIZE_ERROR."""
        c = Conn()
        c.send(frame(SETTINGS, 0, 0, b"\0" * (c.server_settings()[MAX_FRAME_SIZE] + 2)))
        self.assertConnectionError(c, FRAME_SIZE_ERROR)

    def test_goaway_from_client(self):
        """After the client's GOAWAY a request in flight is still answered, then the connection closes."""
        c = Conn()
        sid = c.get(b"/hold")
        c.send(goaway_frame(sid, NO_ERROR))
        self.assertEqual(c.resets(sid), [])
        c.finish_held()
        self.assertEqual(c.response(sid)[::2], (b"200", b"late"))
        self.assertTrue(c.response(sid).ended)
        c.clock.advance(GOAWAY_CLOSE_DELAY)
        c.pump()
        self.assertTrue(c.transport.disconnecting)
        self.assertEqual([code for _, code in c.goaways()], [NO_ERROR] * len(c.goaways()))


# -- reading frames in pieces ---------------------------------------------------

def _exchange(c: Conn) -> bytes:
    """Everything a client sends in one busy session: requests, bodies, control frames."""
    # Header blocks in the order they are sent (they share the HPACK table).
    first = c.headers_frame(1, b"/n/5")
    big = c.block(c.request_headers(b"/n/3000", extra=[(b"x-long", b"v" * 300)]))
    post = c.block(c.request_headers(b"/upload", b"POST", extra=[(b"content-length", b"70000")]))
    body = bytes(range(256)) * 274
    return b"".join([
        PREFACE, settings_frame((INITIAL_WINDOW_SIZE, 100_000), (MAX_FRAME_SIZE, 20_000)),
        settings_frame(ack=True),
        first,
        ping_frame(b"12345678"),
        frame(HEADERS, END_STREAM, 3, big[:100]), frame(CONTINUATION, 0, 3, big[100:200]),
        frame(CONTINUATION, END_HEADERS, 3, big[200:]),
        frame(HEADERS, END_HEADERS, 5, post),
        data_frame(5, body[:30_000]), window_update(0, 1000), priority_frame(7, 0, 3),
        data_frame(5, body[30_000:60_000], pad=40), frame(0xEE, 0, 5, b"ignored"),
        data_frame(5, body[60_000:70_000], end_stream=True),
        c.headers_frame(7, b"/empty"), c.headers_frame(9, b"/hold", end_stream=False),
        rst_frame(9, CANCEL), settings_frame((HEADER_TABLE_SIZE, 0)),
        c.headers_frame(11, b"/n/100000"), window_update(11, 50_000), window_update(0, 200_000),
        c.headers_frame(13, b"/upload", b"POST", end_stream=False),
        data_frame(13, b"b" * 150_000, end_stream=True),
        goaway_frame(13),
    ])


def _seen(c: Conn) -> List[Any]:
    """What the client received, header blocks decoded and without their Date."""
    seen: List[Any] = [(sid, [h for h in headers if h[0] != b"date"], end)
                       for sid, headers, end in c.blocks]
    seen += [f for f in c.frames if f.type not in (HEADERS, CONTINUATION)]
    return seen


class IncrementalReadTests(FrameTestCase):
    def _feed(self, pieces: Iterable[int]) -> Conn:
        c = Conn(handshake=False)
        wire = _exchange(c)
        position = 0
        for size in pieces:
            if position >= len(wire):
                break
            c.send(wire[position:position + size])
            position += size
        if position < len(wire):
            c.send(wire[position:])
        return c

    def test_whole_exchange(self):
        """The session, sent at once, is served: every answer whole, in order."""
        c = self._feed([])
        self.assertEqual(c.response(1)[::2], (b"200", b"xxxxx"))
        self.assertEqual(c.response(3)[::2], (b"200", b"x" * 3000))
        self.assertEqual(c.response(5)[::2], (b"200", b"got 70000"))
        self.assertEqual(c.response(7)[::2], (b"200", b""))
        self.assertEqual(c.response(9).status, None)
        self.assertEqual(len(c.response(11).body), 100_000)
        self.assertEqual(c.response(13)[::2], (b"200", b"got 150000"))
        self.assertEqual([code for _, code in c.goaways()], [NO_ERROR])

    def test_one_byte_at_a_time(self):
        """The same session arriving one byte per read gets exactly the same answers."""
        whole = _seen(self._feed([]))
        c = self._feed(iter(lambda: 1, 0))
        self.assertEqual(_seen(c), whole)

    def test_random_pieces(self):
        """The same session cut at random places (several cuttings) gets exactly the same answers."""
        import random

        whole = _seen(self._feed([]))
        for seed in range(20):
            rng = random.Random(seed)
            c = self._feed(iter(lambda: rng.choice((1, 2, 3, 8, 9, 10, 17, 100, 5000, 40_000)), 0))
            self.assertEqual(_seen(c), whole, "seed %d" % seed)
