"""
The HTTP/2 connection (RFC 9113): frames read and written here, streams
kept here, producing ordinary twisted.web L{Request}s. The request's
header list is checked by L{_http2_headers} as Go checks it; header blocks
are coded by L{_hpack} and L{_http2_hpack_decoder}; the frames are named
in L{_http2_frames}.

Why not the h2 library's connection (which this module drove until it
measured the cost): its framing, its two state machines, its event
objects and the C{repr} it builds of every frame received took about 30%
of the server's CPU on a create over HTTP/2, where this takes under a
tenth of it. The protocol errors follow Go's server (kube-apiserver's),
and where Go and h2 differed Go's answer is the one kept: a stream that
breaks the rules is reset and the connection goes on; a frame that breaks
the connection's rules ends it with GOAWAY. And why not twisted.web's
C{H2Connection}: it speaks with default settings, and its per-stream send
loop reschedules itself with C{callLater(0)} per frame.

kube-apiserver's settings (C{SecureServingInfo.Serve}) are sent in the
first SETTINGS frame: MAX_CONCURRENT_STREAMS = the flag (250 by default in
the seed), MAX_FRAME_SIZE 256 KiB, INITIAL_WINDOW_SIZE 256 KiB per stream,
and the connection window is opened to streams x 256 KiB with a
WINDOW_UPDATE on stream 0. They apply from the start (a peer may use them
before it acknowledges them). The header list is limited to 1 MiB like
HTTP/1.1: a longer one is answered 431, unless (as Go) a CONTINUATION
frame follows after the limit was passed, or the coded block alone is
over it: that ends the connection. Received data is given back to the
peer's windows as Go gives it back: once 4 KiB, or as much as is left of
the window, are unacknowledged.

A response goes out as HEADERS + DATA(END_STREAM) in one write when it is
complete, and frames from all streams answered in one reactor turn share
one TLS write. Go's HTTP/2 idle timeout only counts while no stream is
open (a quiet watch is not idle), from when the last one ended; frames
such as PING do not restart it. On shutdown, or when the peer sends
GOAWAY, the peer gets a GOAWAY naming the last stream we will answer;
streams in flight finish, newer ones are refused, and the connection
closes a second after the last one is done (Go's goAwayTimeout).
Peer-initiated resets are rate limited (a token bucket) against Rapid
Reset (CVE-2023-44487). A peer that reads nothing of what we send gets
at most 10,000 control frames (Go's bound) and MAX_CONCURRENT_STREAMS
answers queued for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from h2.errors import ErrorCodes
from hpack.exceptions import HPACKError, OversizedHeaderListError
from twisted.internet.error import ConnectionLost
from twisted.internet.interfaces import IPushProducer, ISSLTransport, ITCPTransport
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure
from twisted.web.http import datetimeToString
from zope.interface import implementer

from . import _http2_frames as f
from ._hpack import ResponseHeaderEncoder
from ._http2_frames import ConnectionError, StreamError
from ._http2_hpack_decoder import RequestHeaderDecoder
from ._http2_headers import (
    CONNECTION_FIELD_NAMES,
    MalformedRequest,
    RejectedRequest,
    RequestHead,
    check_trailers,
    declares_trailers,
    read_request_head,
)

log = Logger()

# 99% of serialized objects in surveyed clusters are under 256 KiB (the seed).
RESOURCE_BODY_99_PERCENTILE = 256 * 1024
# Go's inflowMinRefresh: received data is given back in pieces of at least this.
_MIN_WINDOW_REFRESH = 4096
# Streams we reset whose late frames are ignored (RFC 9113 5.4.2), at most.
_MAX_RESET_REMEMBERED = 1024
_ERR = ErrorCodes
_PREFACE_SIZE = len(f.PREFACE)
# Go's maxQueuedControlFrames: PING and SETTINGS acknowledgements and
# RST_STREAMs queued for a peer that reads none of them, at most.
_MAX_QUEUED_CONTROL = 10000
# Go's goAwayTimeout: after a graceful GOAWAY, the connection is closed
# this much later (input unread at close would make it a reset).
_GOAWAY_CLOSE_DELAY = 1.0
# Go's answer to a header list over MAX_HEADER_LIST_SIZE.
_HEADERS_TOO_LARGE = b"<h1>HTTP Error 431</h1><p>Request Header Field(s) Too Large</p>"


@dataclass(frozen=True)
class HTTP2Settings:
    """What the server announces in its first SETTINGS frame."""

    max_concurrent_streams: int = 250
    max_frame_size: int = RESOURCE_BODY_99_PERCENTILE
    initial_window_size: int = RESOURCE_BODY_99_PERCENTILE
    max_header_list_size: int = 1 << 20

    @property
    def connection_window(self) -> int:
        """The connection receive window: one stream window per allowed stream."""
        return self.initial_window_size * self.max_concurrent_streams


class _HeaderBlock:
    """A header block being received: HEADERS, then CONTINUATION until END_HEADERS."""

    __slots__ = ("stream_id", "flags", "priority", "fragments", "size")

    def __init__(self, stream_id: int, flags: int, priority: int, fragment: bytes) -> None:
        self.stream_id = stream_id
        self.flags = flags
        self.priority = priority
        self.fragments = [fragment]
        self.size = len(fragment)


@implementer(IPushProducer)
class HTTP2Connection(Protocol, TimeoutMixin):
    """
    One HTTP/2 connection. C{site}, C{factory}, C{requestFactory},
    C{timeOut} and C{callLater} are set by the site, as for L{HTTPChannel}.

    @ivar streams: open streams by id.
    """

    site: Any = None
    factory: Any = None
    requestFactory: Any = None
    # Peer resets allowed in a burst, and refilled per second.
    reset_burst = 1000
    reset_rate = 33.0

    def __init__(self, settings: HTTP2Settings = HTTP2Settings(), reactor: Any = None) -> None:
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.reactor = reactor
        self.settings = settings
        self.encoder = ResponseHeaderEncoder()
        self.decoder = RequestHeaderDecoder()
        self.decoder.max_header_list_size = settings.max_header_list_size
        self.streams: Dict[int, _Stream] = {}
        # Reading.
        self._preface_seen = False
        self._settings_seen = False
        self._buffer = b""
        self._parts: List[bytes] = []  # an incomplete frame's pieces
        self._parts_size = 0
        self._wanted = 0  # octets the incomplete frame needs in all
        self._header_block: Optional[_HeaderBlock] = None
        self._max_client_stream = 0
        self._reset_ids: Dict[int, None] = {}
        self._unacked_settings = 0
        # The peer's settings and our send windows.
        self._peer_max_frame = f.DEFAULT_MAX_FRAME_SIZE
        self._peer_initial_window = f.DEFAULT_WINDOW
        self._send_window = f.DEFAULT_WINDOW
        # Our receive window and what was received but not yet given back.
        self._recv_window = settings.connection_window
        self._recv_unacked = 0
        # Writing.
        self._out: List[bytes] = []
        self._blocked: List[_Stream] = []  # streams with data waiting for window
        self._dirty: List[_Stream] = []  # streams with data written this turn
        self._in_receive = False
        self._flush_call: Any = None
        self._close_call: Any = None
        self._draining = False
        self._lost = False
        self._closing = False
        self._transport_paused = False
        self._control_while_paused = 0
        self._answered_while_paused = 0
        self._reset_tokens = float(self.reset_burst)
        self._reset_stamp = reactor.seconds()
        self.secure = False

    # -- connection ----------------------------------------------------------

    def connectionMade(self) -> None:
        transport = self.transport
        if ITCPTransport.providedBy(transport):
            transport.setTcpNoDelay(True)
        self.secure = ISSLTransport(transport, None) is not None
        self._peer = transport.getPeer()
        self._host = transport.getHost()
        transport.registerProducer(self, True)
        self.setTimeout(self.timeOut)
        s = self.settings
        # In Go's order.
        self._out.append(f.settings_frame([
            (f.MAX_FRAME_SIZE, s.max_frame_size),
            (f.MAX_CONCURRENT_STREAMS, s.max_concurrent_streams),
            (f.MAX_HEADER_LIST_SIZE, s.max_header_list_size),
            (f.INITIAL_WINDOW_SIZE, s.initial_window_size),
        ]))
        self._unacked_settings += 1
        if s.connection_window > f.DEFAULT_WINDOW:
            self._out.append(f.window_update(0, s.connection_window - f.DEFAULT_WINDOW))
        self._flush()

    def dataReceived(self, data: bytes) -> None:
        if self._closing or self._lost:
            return
        if self._parts:
            # The rest of an incomplete frame (joined once it is all here).
            self._parts.append(data)
            self._parts_size += len(data)
            if self._parts_size < self._wanted:
                return
            data = b"".join(self._parts)
            self._parts = []
        self._in_receive = True
        try:
            self._read_frames(data)
        except ConnectionError as e:
            self._connection_error(e.code, str(e))
        finally:
            self._in_receive = False
        if not self._lost:
            self._flush()

    def _read_frames(self, data: bytes) -> None:
        position = 0
        end = len(data)
        if not self._preface_seen:
            if end < _PREFACE_SIZE:
                if not f.PREFACE.startswith(data):
                    raise ConnectionError(_ERR.PROTOCOL_ERROR, "invalid connection preface")
                self._keep(data, _PREFACE_SIZE)
                return
            if not data.startswith(f.PREFACE):
                raise ConnectionError(_ERR.PROTOCOL_ERROR, "invalid connection preface")
            self._preface_seen = True
            position = _PREFACE_SIZE
        unpack = f.FRAME_HEADER.unpack_from
        handlers = _FRAME_HANDLERS
        limit = self.settings.max_frame_size
        header_size = f.FRAME_HEADER_SIZE
        while end - position >= header_size:
            high, low, frame_type, flags, stream_id = unpack(data, position)
            length = high << 8 | low
            if length > limit:
                raise ConnectionError(_ERR.FRAME_SIZE_ERROR, f"frame of {length} octets")
            start = position + header_size
            if end - start < length:
                break
            position = start + length
            stream_id &= f.STREAM_ID_MASK
            if self._header_block is not None and frame_type != f.CONTINUATION:
                raise ConnectionError(_ERR.PROTOCOL_ERROR, "header block interrupted")
            if not self._settings_seen:
                if frame_type != f.SETTINGS:
                    raise ConnectionError(_ERR.PROTOCOL_ERROR, "first frame is not SETTINGS")
                self._settings_seen = True
            if frame_type < f.FRAME_TYPES:
                try:
                    handlers[frame_type](self, flags, stream_id, data[start:position])
                except StreamError as e:
                    self._reset(e.stream_id, e.code, str(e))
            if self._closing or self._lost:
                return
        if position < end:
            rest = data[position:] if position else data
            needed = header_size
            if len(rest) >= header_size:
                high, low = rest[0], rest[1] << 8 | rest[2]
                needed = header_size + (high << 16 | low)
            self._keep(rest, needed)

    def _keep(self, rest: bytes, needed: int) -> None:
        """Hold an incomplete frame until C{needed} octets of it are here."""
        self._parts = [rest]
        self._parts_size = len(rest)
        self._wanted = needed

    def _connection_error(self, code: int, reason: str) -> None:
        log.debug("HTTP/2 protocol error from {peer}: {error}",
                  peer=str(self._peer), error=reason)
        self._draining = True
        self._out.append(f.goaway(self._max_client_stream, code))
        self._flush()
        self._lose()

    def _lose(self) -> None:
        """Close after what is written (TLS waits for its producer to go first)."""
        if self._lost or self._closing:
            return
        self._closing = True
        self.transport.unregisterProducer()
        self.transport.loseConnection()

    def _control(self, frame: bytes) -> None:
        """
        Queue a frame the peer asked for. While the transport's buffer is
        full (the peer is not reading) at most L{_MAX_QUEUED_CONTROL} are
        queued; past that the connection is dropped at once (as Go drops
        it: a close would wait for the peer to read).
        """
        self._out.append(frame)
        if self._transport_paused:
            self._control_while_paused += 1
            if self._control_while_paused > _MAX_QUEUED_CONTROL and not self._closing:
                log.info("Closing {peer}: too many control frames unread",
                         peer=str(self._peer))
                self._closing = True
                self._out = []
                self.transport.unregisterProducer()
                self.transport.abortConnection()

    def close(self) -> None:
        """Close now: GOAWAY if none was sent, then the connection."""
        if self._close_call is not None:
            self._close_call.cancel()
            self._close_now()
            return
        if self._lost or self._closing:
            return
        if not self._draining:
            self._draining = True
            self._out.append(f.goaway(self._max_client_stream, _ERR.NO_ERROR))
        self._flush()
        self._lose()

    def connectionLost(self, reason: Optional[Failure] = None) -> None:
        reason = reason or Failure(ConnectionLost())
        self._lost = True
        self.setTimeout(None)
        if self._flush_call is not None and self._flush_call.active():
            self._flush_call.cancel()
        if self._close_call is not None:
            self._close_call.cancel()
            self._close_call = None
        streams, self.streams = self.streams, {}
        for stream in streams.values():
            stream.lost(reason)

    def timeoutConnection(self) -> None:
        if self.streams:
            # Not idle while a stream is open; the spent timer is replaced.
            self.setTimeout(self.timeOut)
            return
        log.debug("Timing out idle HTTP/2 client {peer}", peer=str(self._peer))
        # As Go: GOAWAY, then the close a second later (a request the peer
        # sent meanwhile is read and dropped, not met with a reset).
        self.drain()

    # -- frames received -----------------------------------------------------

    def _on_data(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ConnectionError(_ERR.PROTOCOL_ERROR, "DATA on stream 0")
        length = len(payload)  # padding included: it counts against the windows
        if length > self._recv_window:
            raise ConnectionError(_ERR.FLOW_CONTROL_ERROR, "DATA beyond the connection window")
        self._recv_window -= length
        data = _unpad(flags, payload) if flags & f.PADDED else payload
        stream = self.streams.get(stream_id)
        if stream is None or stream.remote_ended:
            self._state_of_unknown(stream_id)
            # Not for anyone: the connection's window is given back at once.
            self._consumed(None, length)
            if stream_id in self._reset_ids:
                return  # late frames of a stream we reset
            raise StreamError(stream_id, _ERR.STREAM_CLOSED, "DATA on a closed stream")
        if length > stream.recv_window:
            self._consumed(None, length)
            raise StreamError(stream_id, _ERR.FLOW_CONTROL_ERROR, "DATA beyond the stream window")
        stream.recv_window -= length
        received = stream.received + len(data)
        declared = stream.declared_length
        if declared is not None and received > declared:
            self._consumed(None, length)
            raise StreamError(stream_id, _ERR.PROTOCOL_ERROR, "more DATA than Content-Length")
        stream.received = received
        if data:
            stream.body(data)
        if flags & f.END_STREAM:
            self._consumed(None, length)
            self._remote_end(stream)
        else:
            self._consumed(stream, length)

    def _consumed(self, stream: Optional["_Stream"], length: int) -> None:
        """Give C{length} received octets back to the peer's windows (as Go does, in pieces)."""
        if not length:
            return
        unacked = self._recv_unacked + length
        if unacked >= _MIN_WINDOW_REFRESH or unacked >= self._recv_window:
            self._recv_window += unacked
            self._recv_unacked = 0
            self._out.append(f.window_update(0, unacked))
        else:
            self._recv_unacked = unacked
        if stream is not None:
            unacked = stream.recv_unacked + length
            if unacked >= _MIN_WINDOW_REFRESH or unacked >= stream.recv_window:
                stream.recv_window += unacked
                stream.recv_unacked = 0
                self._out.append(f.window_update(stream.stream_id, unacked))
            else:
                stream.recv_unacked = unacked

    def _state_of_unknown(self, stream_id: int) -> None:
        """A frame other than HEADERS/PRIORITY on an idle stream ends the connection."""
        if stream_id > self._max_client_stream or not stream_id & 1:
            raise ConnectionError(_ERR.PROTOCOL_ERROR, f"frame on idle stream {stream_id}")

    def _remote_end(self, stream: "_Stream") -> None:
        """The request is complete (END_STREAM): check its length and hand it over."""
        stream.remote_ended = True
        declared = stream.declared_length
        if declared is not None and stream.received != declared:
            raise StreamError(stream.stream_id, _ERR.PROTOCOL_ERROR,
                              "less DATA than Content-Length")
        stream.request_complete()

    def _on_headers(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ConnectionError(_ERR.PROTOCOL_ERROR, "HEADERS on stream 0")
        start, end = 0, len(payload)
        if flags & f.PADDED:
            if not end or payload[0] >= end:
                raise ConnectionError(_ERR.PROTOCOL_ERROR, "padding longer than the frame")
            start, end = 1, end - payload[0]
        priority = 0
        if flags & f.PRIORITY_FLAG:
            if end - start < 5:
                raise ConnectionError(_ERR.FRAME_SIZE_ERROR, "HEADERS too short for its priority")
            priority = f.read_u32(payload, start) & f.STREAM_ID_MASK
            start += 5
        fragment = payload[start:end] if start or end != len(payload) else payload
        if flags & f.END_HEADERS:
            self._headers_complete(stream_id, flags, priority, fragment)
        else:
            self._header_block = _HeaderBlock(stream_id, flags, priority, fragment)

    def _on_continuation(self, flags: int, stream_id: int, payload: bytes) -> None:
        block = self._header_block
        if block is None or block.stream_id != stream_id:
            raise ConnectionError(_ERR.PROTOCOL_ERROR, "unexpected CONTINUATION")
        if payload:  # empty ones, however many, take no memory (as in Go)
            block.fragments.append(payload)
            block.size += len(payload)
        if block.size > self.settings.max_header_list_size:
            # A field list this long decodes longer still.
            raise ConnectionError(_ERR.ENHANCE_YOUR_CALM, "header block too large")
        if flags & f.END_HEADERS:
            self._header_block = None
            self._headers_complete(stream_id, block.flags, block.priority,
                                   b"".join(block.fragments), block.size - len(payload))

    def _headers_complete(self, stream_id: int, flags: int, priority: int,
                          block: bytes, last_fragment_at: int = 0) -> None:
        # Decoded first, whatever happens to the stream: the peer's HPACK
        # table has changed with it.
        try:
            fields: Optional[List[Any]] = self.decoder.decode(block, raw=True)
        except OversizedHeaderListError as e:
            if getattr(e, "position", 0) <= last_fragment_at:
                # Go hangs up on a CONTINUATION that follows a list already too long.
                raise ConnectionError(_ERR.PROTOCOL_ERROR, "header list too large") from None
            fields = None  # the table is up to date: only this request is refused
        except HPACKError as e:
            raise ConnectionError(_ERR.COMPRESSION_ERROR, f"header block: {e}") from None
        if not stream_id & 1:
            raise ConnectionError(_ERR.PROTOCOL_ERROR, f"client stream {stream_id} is even")
        ended = flags & f.END_STREAM
        stream = self.streams.get(stream_id)
        if stream is not None:
            if fields is None:
                raise StreamError(stream_id, _ERR.PROTOCOL_ERROR, "trailers too large")
            self._trailers(stream, ended, fields)
            return
        if stream_id <= self._max_client_stream:
            if stream_id in self._reset_ids:
                return  # late trailers of a stream we reset
            raise ConnectionError(_ERR.PROTOCOL_ERROR, f"HEADERS on closed stream {stream_id}")
        self._max_client_stream = stream_id
        if priority == stream_id:
            raise StreamError(stream_id, _ERR.PROTOCOL_ERROR, "stream depends on itself")
        if self._draining:
            # After our GOAWAY: the peer retries elsewhere.
            raise StreamError(stream_id, _ERR.REFUSED_STREAM, "connection is draining")
        if len(self.streams) >= self.settings.max_concurrent_streams:
            # Go's choice: a race with our SETTINGS is forgiven, later not.
            raise StreamError(stream_id, _ERR.REFUSED_STREAM if self._unacked_settings
                              else _ERR.PROTOCOL_ERROR, "too many concurrent streams")
        if (self._transport_paused
                and self._answered_while_paused >= self.settings.max_concurrent_streams):
            # The peer reads none of its answers: no more pile up in the
            # transport (in Go the handlers would block, holding streams).
            raise StreamError(stream_id, _ERR.REFUSED_STREAM, "answers not read")
        if fields is None:
            self._refuse(stream_id, b"431", [(b"content-type", b"text/html; charset=utf-8")],
                         _HEADERS_TOO_LARGE, ended=bool(ended))
            return
        try:
            head = read_request_head(fields)
        except MalformedRequest as e:
            self._reset_malformed(stream_id, e)
            return
        except RejectedRequest as e:
            # Go's http.Error.
            self._refuse(stream_id, b"400", [(b"content-type", b"text/plain; charset=utf-8"),
                                             (b"x-content-type-options", b"nosniff")],
                         e.message.encode("utf-8") + b"\n", ended=bool(ended))
            return
        stream = _Stream(self, stream_id)
        self.streams[stream_id] = stream
        stream.remote_ended = bool(ended)
        stream.start(head)
        if ended:
            stream.request_complete()

    def _trailers(self, stream: "_Stream", ended: int, fields: List[Any]) -> None:
        stream_id = stream.stream_id
        if stream.remote_ended:
            raise StreamError(stream_id, _ERR.STREAM_CLOSED, "HEADERS after END_STREAM")
        if stream.got_trailers:
            raise ConnectionError(_ERR.PROTOCOL_ERROR, "second trailers")
        stream.got_trailers = True
        if not ended:
            raise StreamError(stream_id, _ERR.PROTOCOL_ERROR, "trailers without END_STREAM")
        declared = declares_trailers(stream.request.requestHeaders.getRawHeaders(b"trailer"))
        try:
            check_trailers(fields, declared)
        except MalformedRequest as e:
            self._reset_malformed(stream_id, e)
            return
        self._remote_end(stream)

    def _on_priority(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ConnectionError(_ERR.PROTOCOL_ERROR, "PRIORITY on stream 0")
        if len(payload) != 5:
            raise ConnectionError(_ERR.FRAME_SIZE_ERROR, "PRIORITY of the wrong size")
        if f.read_u32(payload) & f.STREAM_ID_MASK == stream_id:
            raise StreamError(stream_id, _ERR.PROTOCOL_ERROR, "stream depends on itself")
        # Priorities are not acted on (RFC 9113 deprecates them).

    def _on_rst_stream(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ConnectionError(_ERR.PROTOCOL_ERROR, "RST_STREAM on stream 0")
        if len(payload) != 4:
            raise ConnectionError(_ERR.FRAME_SIZE_ERROR, "RST_STREAM of the wrong size")
        self._state_of_unknown(stream_id)
        stream = self.streams.get(stream_id)
        if stream is not None:
            code = f.read_u32(payload)
            stream.lost(Failure(ConnectionLost(f"Stream reset with code {code}")))
            self.stream_done(stream)
        self._count_reset()

    def _on_settings(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id:
            raise ConnectionError(_ERR.PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & f.ACK:
            if payload:
                raise ConnectionError(_ERR.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload")
            if not self._unacked_settings:
                raise ConnectionError(_ERR.PROTOCOL_ERROR, "SETTINGS ACK for nothing sent")
            self._unacked_settings -= 1
            return
        if len(payload) % 6:
            raise ConnectionError(_ERR.FRAME_SIZE_ERROR, "SETTINGS of the wrong size")
        settings = list(f.read_settings(payload))
        if len(settings) > 100 or len({setting for setting, _ in settings}) != len(settings):
            raise ConnectionError(_ERR.PROTOCOL_ERROR, "over 100 settings, or one given twice")
        grew = False
        for setting, value in settings:
            if setting == f.INITIAL_WINDOW_SIZE:
                if value > f.MAX_WINDOW:
                    raise ConnectionError(_ERR.FLOW_CONTROL_ERROR, "INITIAL_WINDOW_SIZE too large")
                delta = value - self._peer_initial_window
                self._peer_initial_window = value
                for stream in self.streams.values():
                    stream.send_window += delta
                    if stream.send_window > f.MAX_WINDOW:
                        raise ConnectionError(_ERR.FLOW_CONTROL_ERROR, "stream window overflow")
                grew = grew or delta > 0
            elif setting == f.MAX_FRAME_SIZE:
                if not f.DEFAULT_MAX_FRAME_SIZE <= value <= f.LARGEST_MAX_FRAME_SIZE:
                    raise ConnectionError(_ERR.PROTOCOL_ERROR, "MAX_FRAME_SIZE out of range")
                self._peer_max_frame = value
            elif setting == f.HEADER_TABLE_SIZE:
                encoder = self.encoder
                encoder.header_table_size = value
                changes = encoder.table_size_changes
                if len(changes) > 2:
                    # The next block need only name the smallest size and
                    # the last (RFC 7541 4.2); a flood must not grow this.
                    smallest = min(changes)
                    changes[:] = [value] if smallest == value else [smallest, value]
            elif setting == f.ENABLE_PUSH:
                if value > 1:
                    raise ConnectionError(_ERR.PROTOCOL_ERROR, "ENABLE_PUSH is not 0 or 1")
            # Anything else (MAX_CONCURRENT_STREAMS for pushes we never
            # make, MAX_HEADER_LIST_SIZE as advice, unknown ids) is ignored.
        self._control(f.settings_ack())
        if grew:
            self._send_blocked()

    def _on_push_promise(self, flags: int, stream_id: int, payload: bytes) -> None:
        raise ConnectionError(_ERR.PROTOCOL_ERROR, "PUSH_PROMISE from a client")

    def _on_ping(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id:
            raise ConnectionError(_ERR.PROTOCOL_ERROR, "PING on a stream")
        if len(payload) != 8:
            raise ConnectionError(_ERR.FRAME_SIZE_ERROR, "PING of the wrong size")
        if not flags & f.ACK:
            self._control(f.ping_ack(payload))

    def _on_goaway(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id:
            raise ConnectionError(_ERR.PROTOCOL_ERROR, "GOAWAY on a stream")
        if len(payload) < 8:
            raise ConnectionError(_ERR.FRAME_SIZE_ERROR, "GOAWAY too short")
        # As Go: the streams in flight are answered, then the connection closes.
        self.drain()

    def _on_window_update(self, flags: int, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise ConnectionError(_ERR.FRAME_SIZE_ERROR, "WINDOW_UPDATE of the wrong size")
        increment = f.read_u32(payload) & f.STREAM_ID_MASK
        if not stream_id:
            if not increment:
                raise ConnectionError(_ERR.PROTOCOL_ERROR, "WINDOW_UPDATE of 0")
            self._send_window += increment
            if self._send_window > f.MAX_WINDOW:
                raise ConnectionError(_ERR.FLOW_CONTROL_ERROR, "connection window overflow")
            self._send_blocked()
            return
        if not increment:
            raise StreamError(stream_id, _ERR.PROTOCOL_ERROR, "WINDOW_UPDATE of 0")
        self._state_of_unknown(stream_id)
        stream = self.streams.get(stream_id)
        if stream is None:
            return  # the stream is closed: allowed (RFC 9113 6.9)
        stream.send_window += increment
        if stream.send_window > f.MAX_WINDOW:
            raise StreamError(stream_id, _ERR.FLOW_CONTROL_ERROR, "stream window overflow")
        if stream in self._blocked:
            stream.send_pending()

    def _send_blocked(self) -> None:
        for stream in list(self._blocked):
            stream.send_pending()

    # -- stream errors -------------------------------------------------------

    def _reset(self, stream_id: int, code: int, reason: str = "") -> None:
        """Send RST_STREAM; the stream, if open, is lost to its request."""
        if self._lost or self._closing:
            return
        self._control(f.rst_stream(stream_id, code))
        self._remember_reset(stream_id)
        stream = self.streams.get(stream_id)
        if stream is not None:
            stream.lost(Failure(ConnectionLost(f"stream reset: {reason}")))
            self.stream_done(stream)
        self._changed()

    def _remember_reset(self, stream_id: int) -> None:
        reset_ids = self._reset_ids
        reset_ids[stream_id] = None
        if len(reset_ids) > _MAX_RESET_REMEMBERED:
            del reset_ids[next(iter(reset_ids))]

    def _reset_malformed(self, stream_id: int, error: MalformedRequest) -> None:
        """A malformed request or trailers: the stream is reset, the connection goes on."""
        log.debug("Malformed HTTP/2 request from {peer}: {error}",
                  peer=str(self._peer), error=str(error))
        self._reset(stream_id, _ERR.PROTOCOL_ERROR, str(error))

    def _refuse(self, stream_id: int, status: bytes, fields: List[Any], body: bytes,
                ended: bool) -> None:
        """
        Answer a request outside the API (no filters, no audit), as Go's
        server answers it; a request body still coming is refused with
        RST_STREAM NO_ERROR after the answer. The answer's DATA waits for
        the peer's windows like any other.
        """
        stream = _Refusal(self, stream_id)
        self.streams[stream_id] = stream
        stream.remote_ended = ended
        stream.answer([
            (b":status", status),
            *fields,
            (b"content-length", b"%d" % len(body)),
            (b"date", datetimeToString()),
        ], body)

    def _count_reset(self) -> None:
        now = self.reactor.seconds()
        elapsed = max(0.0, now - self._reset_stamp)
        self._reset_stamp = now
        self._reset_tokens = min(float(self.reset_burst),
                                 self._reset_tokens + elapsed * self.reset_rate)
        if self._reset_tokens < 1:
            log.info("Closing {peer}: too many stream resets", peer=str(self._peer))
            self._connection_error(_ERR.ENHANCE_YOUR_CALM, "too many stream resets")
        else:
            self._reset_tokens -= 1

    # -- writing -------------------------------------------------------------

    def write_headers(self, stream_id: int, fields: List[Any], end_stream: bool) -> None:
        """Queue a header block, in CONTINUATION frames past the peer's frame size."""
        block = self.encoder.encode(fields)
        size = self._peer_max_frame
        flags = f.END_STREAM if end_stream else 0
        out = self._out
        if len(block) <= size:
            out.append(f.frame_header(f.HEADERS, flags | f.END_HEADERS, stream_id, len(block)))
            out.append(block)
            return
        frame_type = f.HEADERS
        for start in range(0, len(block), size):
            piece = block[start:start + size]
            last = start + size >= len(block)
            out.append(f.frame_header(frame_type, flags | (f.END_HEADERS if last else 0),
                                      stream_id, len(piece)))
            out.append(piece)
            frame_type, flags = f.CONTINUATION, 0

    def local_end(self, stream: "_Stream") -> None:
        """
        Our END_STREAM is queued: the stream is done once the request is
        too; a request body still coming is refused with RST_STREAM
        NO_ERROR, as Go refuses it.
        """
        if self._transport_paused:
            self._answered_while_paused += 1
        if not stream.remote_ended:
            self._out.append(f.rst_stream(stream.stream_id, _ERR.NO_ERROR))
            self._remember_reset(stream.stream_id)
        self.stream_done(stream)
        self._changed()

    def _flush(self) -> None:
        """Send streamed data written this turn, then write what is queued at once."""
        self._flush_call = None
        if self._dirty:
            dirty, self._dirty = self._dirty, []
            for stream in dirty:
                stream.send_pending()
        out = self._out
        if out and not self._lost:
            self._out = []
            self.transport.write(b"".join(out))

    def _changed(self) -> None:
        """Frames were queued outside dataReceived: write them this reactor turn."""
        if self._in_receive or self._lost or self._flush_call is not None:
            return
        self._flush_call = self.reactor.callLater(0, self._flush)

    # -- IPushProducer (the transport's write buffer) ------------------------

    def pauseProducing(self) -> None:
        self._transport_paused = True
        for stream in list(self.streams.values()):
            stream.pause_producer()

    def resumeProducing(self) -> None:
        self._transport_paused = False
        self._control_while_paused = 0
        self._answered_while_paused = 0
        for stream in list(self.streams.values()):
            stream.maybe_resume_producer()

    def stopProducing(self) -> None:
        pass

    # -- streams report back -------------------------------------------------

    def stream_done(self, stream: "_Stream") -> None:
        streams = self.streams
        streams.pop(stream.stream_id, None)
        if stream in self._blocked:
            self._blocked.remove(stream)
        if not streams:
            if self._draining:
                self._close_drained()
            else:
                self.resetTimeout()  # idle from now

    # -- graceful termination ------------------------------------------------

    @property
    def idle(self) -> bool:
        return not self.streams

    def drain(self) -> None:
        """
        Send GOAWAY (NO_ERROR, last stream = the highest one received), refuse
        newer streams, and close once the open streams are done.
        """
        if self._draining or self._lost:
            return
        self._draining = True
        self._out.append(f.goaway(self._max_client_stream, _ERR.NO_ERROR))
        if self.streams:
            self._changed()
        else:
            self._close_drained()

    def _close_drained(self) -> None:
        """
        The last stream is done after our GOAWAY: what the peer still sends
        is read and ignored for a second (it may have sent a request before
        it saw the GOAWAY), then the connection closes, as Go closes it.
        """
        if self._lost or self._closing:
            return
        self._flush()
        self.setTimeout(None)
        self._closing = True
        self._close_call = self.reactor.callLater(_GOAWAY_CLOSE_DELAY, self._close_now)

    def _close_now(self) -> None:
        self._close_call = None
        self._closing = False
        self._lose()


_FRAME_HANDLERS = [
    HTTP2Connection._on_data,
    HTTP2Connection._on_headers,
    HTTP2Connection._on_priority,
    HTTP2Connection._on_rst_stream,
    HTTP2Connection._on_settings,
    HTTP2Connection._on_push_promise,
    HTTP2Connection._on_ping,
    HTTP2Connection._on_goaway,
    HTTP2Connection._on_window_update,
    HTTP2Connection._on_continuation,
]


def _unpad(flags: int, payload: bytes) -> bytes:
    """A padded DATA frame's data (RFC 9113 6.1)."""
    if not payload or payload[0] >= len(payload):
        raise ConnectionError(_ERR.PROTOCOL_ERROR, "padding longer than the frame")
    return payload[1:len(payload) - payload[0]]


class _Stream:
    """
    One request/response exchange: the "channel" its L{Request} talks to
    (writeHeaders, write, requestDone, producers...), and the stream's
    state: whether the request has ended, and its windows (a stream is
    dropped once our side ends it).
    """

    # Request copies channel.transport; HTTP/2 streams have none of their own.
    transport = None

    def __init__(self, connection: HTTP2Connection, stream_id: int) -> None:
        self.connection = connection
        self.stream_id = stream_id
        self.site = connection.site
        self.factory = connection.factory
        self.remote_ended = False  # the request's END_STREAM came
        self.got_trailers = False
        self.declared_length: Optional[int] = None  # a body's Content-Length
        self.received = 0
        self.send_window = connection._peer_initial_window
        self.recv_window = connection.settings.initial_window_size
        self.recv_unacked = 0
        self._pending: List[Any] = []
        self._headers: Optional[List[Any]] = None
        self._ended = False  # the response is complete (requestDone)
        self._finished = False  # nothing more goes out
        self.producer: Any = None
        self._streaming = True
        self._producer_paused = False
        self.request = connection.requestFactory(self, queued=False)

    # -- request side ---------------------------------------------------------

    def start(self, head: RequestHead) -> None:
        request = self.request
        self.command = head.method
        self.path = head.path
        got_length = expect_continue = cookies = False
        add = request.requestHeaders.addRawHeader
        if head.authority:
            add(b"host", head.authority)
        for name, value in head.fields:
            add(name, value)
            if name == b"content-length":
                if not value.isdigit():
                    self._respondToBadRequestAndDisconnect()
                    return
                length = int(value)
                request.gotLength(length)
                if not self.remote_ended:
                    self.declared_length = length
                got_length = True
            elif name == b"cookie":
                cookies = True
            elif name == b"expect" and value.lower() == b"100-continue":
                expect_continue = True
        if not got_length:
            request.gotLength(0 if self.command in (b"GET", b"HEAD") else None)
        if cookies:
            request.parseCookies()
        if expect_continue:
            self.connection.write_headers(self.stream_id, [(b":status", b"100")], False)

    def body(self, data: bytes) -> None:
        if not self._finished:
            self.request.handleContentChunk(data)

    def request_complete(self) -> None:
        if not self._finished:
            self.request.requestReceived(self.command, self.path, b"HTTP/2")

    def lost(self, reason: Failure) -> None:
        # Finished first: a producer that finishes its request when stopped
        # must not send on a reset stream.
        self._finished = True
        self._pending = []
        if self.producer is not None:
            try:
                self.producer.stopProducing()
            except Exception:
                pass
            self.producer = None
        self.request.connectionLost(reason)

    # -- what Request calls ----------------------------------------------------

    def getPeer(self) -> Any:
        return self.connection._peer

    def getHost(self) -> Any:
        return self.connection._host

    def isSecure(self) -> bool:
        return self.connection.secure

    def getPeerCertificate(self) -> Any:
        get = getattr(self.connection.transport, "getPeerCertificate", None)
        return get() if get is not None else None

    def writeHeaders(self, version: bytes, code: bytes, reason: bytes, headers: Any) -> None:
        block = [(b":status", code)]
        for name, values in headers.getAllRawHeaders():
            name = name.lower()
            if name in CONNECTION_FIELD_NAMES:
                continue
            for value in values:
                block.append((name, value))
        # Held until the first data or the end of the answer (so a small
        # answer is HEADERS + DATA(END_STREAM) in one write), at the latest
        # until the end of this reactor turn (a watch's headers go out at
        # once, as Go's Flush sends them).
        self._headers = block
        self._mark_dirty()

    def write(self, data: bytes) -> None:
        if self._finished or not data:
            return
        self._pending.append(data)
        self._mark_dirty()

    def _mark_dirty(self) -> None:
        """Send what is queued at requestDone, or at the end of this reactor turn."""
        connection = self.connection
        if self not in connection._dirty:
            connection._dirty.append(self)
        connection._changed()

    def writeSequence(self, chunks: List[bytes]) -> None:
        self.write(b"".join(chunks))

    def requestDone(self, request: Any) -> None:
        if self._finished or self._ended:
            return
        self._ended = True
        if self._pending:
            self.send_pending()
            return
        if self._headers is not None:
            self._send_headers(end_stream=True)
        else:
            self.connection._out.append(
                f.frame_header(f.DATA, f.END_STREAM, self.stream_id, 0))
        self._finish()

    def loseConnection(self) -> None:
        self.requestDone(self.request)

    def abortConnection(self) -> None:
        # Go resets a stream whose handler panicked (http.ErrAbortHandler
        # included) with INTERNAL_ERROR.
        if not self._finished:
            self.connection._reset(self.stream_id, _ERR.INTERNAL_ERROR, "stream aborted")

    def _respondToBadRequestAndDisconnect(self) -> None:
        self._headers = None
        self.connection.write_headers(self.stream_id, [(b":status", b"400")], True)
        self._finish()
        self.request.connectionLost(Failure(ConnectionLost("invalid request")))

    # -- sending ----------------------------------------------------------------

    def _send_headers(self, end_stream: bool = False) -> None:
        if self._headers is None:
            return
        block, self._headers = self._headers, None
        self.connection.write_headers(self.stream_id, block, end_stream)
        self.connection._changed()

    def send_pending(self) -> None:
        """Send queued data as far as the flow-control windows allow."""
        if self._finished:
            return
        connection = self.connection
        self._send_headers()
        out = connection._out
        pending = self._pending
        max_frame = connection._peer_max_frame
        stream_id = self.stream_id
        while pending:
            window = min(self.send_window, connection._send_window, max_frame)
            if window <= 0:
                break
            chunk = pending[0]
            if len(chunk) > window:
                # Slice a view: copying the rest of a large body once per
                # frame made big LISTs quadratic.
                if not isinstance(chunk, memoryview):
                    chunk = memoryview(chunk)
                pending[0] = chunk[window:]
                chunk = chunk[:window]
            else:
                pending.pop(0)
            size = len(chunk)
            last = self._ended and not pending
            out.append(f.frame_header(f.DATA, f.END_STREAM if last else 0, stream_id, size))
            out.append(chunk)
            self.send_window -= size
            connection._send_window -= size
        connection._changed()
        blocked = connection._blocked
        if pending:
            if self not in blocked:
                blocked.append(self)
            self.pause_producer()
            return
        if self in blocked:
            blocked.remove(self)
        if self._ended:
            self._finish()
        else:
            self.maybe_resume_producer()

    def _finish(self) -> None:
        """Our END_STREAM is queued: nothing more goes out on this stream."""
        if self._finished:
            return
        self._finished = True
        self._pending = []
        self.connection.local_end(self)

    # -- producers (IConsumer for the request) ----------------------------------

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        if self.producer is not None:
            raise ValueError(f"registering producer {producer} before the previous one "
                             f"({self.producer}) was unregistered")
        if not streaming:
            from twisted.internet._producer_helpers import _PullToPush

            producer = _PullToPush(producer, self)
            producer.startStreaming()
        self._streaming = streaming
        self.producer = producer
        self._producer_paused = False
        if self._pending or self.connection._transport_paused:
            self.pause_producer()

    def unregisterProducer(self) -> None:
        if self.producer is not None and not self._streaming:
            self.producer.stopStreaming()
        self.producer = None
        self._producer_paused = False

    def pause_producer(self) -> None:
        if self.producer is not None and not self._producer_paused:
            self._producer_paused = True
            self.producer.pauseProducing()

    def maybe_resume_producer(self) -> None:
        if (self.producer is not None and self._producer_paused and not self._pending
                and not self.connection._transport_paused):
            self._producer_paused = False
            self.producer.resumeProducing()

    # Request may pause the stream as a producer (it never needs to here).
    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        self.abortConnection()


class _Refusal(_Stream):
    """
    A stream the connection answers itself (L{HTTP2Connection._refuse}):
    its request never reaches the site, so a body or END_STREAM that
    still comes is only counted against the windows.
    """

    def answer(self, block: List[Any], body: bytes) -> None:
        self._headers = block
        self._pending = [body]
        self._ended = True
        self.send_pending()

    def body(self, data: bytes) -> None:
        pass

    def request_complete(self) -> None:
        pass
