"""
The HTTP/2 connection: the h2 library's state machine (its framing and
stream checks) driven directly, producing ordinary twisted.web L{Request}s.
A request's header list is checked by L{_http2_headers} as Go checks it (a
malformed request resets its stream, h2 would end the connection).

Why not twisted.web's own C{H2Connection}: it speaks with h2's default
settings, and its per-stream machinery (a priority tree, a send loop that
re-schedules itself with C{callLater(0)} per frame, a Deferred per stream)
makes HTTP/2 about four times slower than HTTP/1.1 on the same bytes. Here a
response goes out as HEADERS + DATA(END_STREAM) in one write when it is
complete, and frames from all streams answered in one reactor turn share
one TLS write.

kube-apiserver's settings (C{SecureServingInfo.Serve}) are sent in the first
SETTINGS frame: MAX_CONCURRENT_STREAMS = the flag (250 by default in the
seed), MAX_FRAME_SIZE 256 KiB, INITIAL_WINDOW_SIZE 256 KiB per stream, and
the connection window is opened to streams x 256 KiB with a WINDOW_UPDATE
on stream 0. The header list is limited to 1 MiB like HTTP/1.1 (more ends
the connection).

Go's HTTP/2 idle timeout only counts while no stream is open (a quiet watch
is not idle). On shutdown the peer gets a GOAWAY naming the last stream we
will answer; streams in flight finish, newer ones are refused, and the
connection closes when the last one is done. Peer-initiated resets are rate
limited (a token bucket) against Rapid Reset (CVE-2023-44487).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
from h2.settings import SettingCodes
from hyperframe.frame import GoAwayFrame
from twisted.internet.error import ConnectionLost
from twisted.internet.interfaces import IPushProducer, ISSLTransport, ITCPTransport
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure
from twisted.web.http import datetimeToString
from zope.interface import implementer

from ._hpack import ResponseHeaderEncoder
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
_DEFAULT_WINDOW = 65535
_ERR = h2.errors.ErrorCodes


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
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=False, header_encoding=None,
            # h2 checks the peer's frames; the request's header list is
            # checked (as Go does) by read_request_head, cookies joined there.
            validate_inbound_headers=False, normalize_inbound_headers=False,
            # Ours are built lower-case and free of connection headers by
            # writeHeaders.
            validate_outbound_headers=False, normalize_outbound_headers=False))
        # Our header blocks without Huffman coding or dynamic-table churn,
        # and the peer's decoded faster than hpack does.
        self.conn.encoder = ResponseHeaderEncoder()
        self.conn.decoder = RequestHeaderDecoder()
        self.streams: Dict[int, _Stream] = {}
        self._blocked: List[_Stream] = []  # streams with data waiting for window
        self._dirty: List[_Stream] = []  # streams with data written this turn
        self._in_receive = False
        self._flush_call: Any = None
        self._draining = False
        self._lost = False
        self._closing = False
        self._transport_paused = False
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
        conn = self.conn
        s = self.settings
        conn.local_settings = h2.settings.Settings(client=False, initial_values={
            SettingCodes.MAX_CONCURRENT_STREAMS: s.max_concurrent_streams,
            SettingCodes.MAX_FRAME_SIZE: s.max_frame_size,
            SettingCodes.INITIAL_WINDOW_SIZE: s.initial_window_size,
            SettingCodes.MAX_HEADER_LIST_SIZE: s.max_header_list_size,
        })
        # The values apply at once (the peer may use them before it ACKs).
        conn.max_inbound_frame_size = s.max_frame_size
        conn.incoming_buffer.max_frame_size = s.max_frame_size
        conn.decoder.max_header_list_size = s.max_header_list_size
        conn.initiate_connection()
        if s.connection_window > _DEFAULT_WINDOW:
            conn.increment_flow_control_window(s.connection_window - _DEFAULT_WINDOW)
        self._flush()

    def dataReceived(self, data: bytes) -> None:
        self.resetTimeout()
        self._in_receive = True
        try:
            try:
                events = self.conn.receive_data(data)
            except h2.exceptions.ProtocolError as e:
                # h2 has queued a GOAWAY with the error code.
                log.debug("HTTP/2 protocol error from {peer}: {error}",
                          peer=str(self._peer), error=str(e))
                self._flush()
                self._lose()
                return
            for event in events:
                handler = _HANDLERS.get(type(event))
                if handler is not None:
                    handler(self, event)
        finally:
            self._in_receive = False
        if not self._lost:
            self._flush()

    def _lose(self) -> None:
        """Close after what is written (TLS waits for its producer to go first)."""
        if self._lost or self._closing:
            return
        self._closing = True
        self.transport.unregisterProducer()
        self.transport.loseConnection()

    def close(self) -> None:
        """Close now: GOAWAY if none was sent, then the connection."""
        if self._lost or self._closing:
            return
        if not self._draining:
            self._draining = True
            self.conn.close_connection(error_code=_ERR.NO_ERROR)
        self._flush()
        self._lose()

    def connectionLost(self, reason: Optional[Failure] = None) -> None:
        reason = reason or Failure(ConnectionLost())
        self._lost = True
        self.setTimeout(None)
        if self._flush_call is not None and self._flush_call.active():
            self._flush_call.cancel()
        streams, self.streams = self.streams, {}
        for stream in streams.values():
            stream.lost(reason)

    def timeoutConnection(self) -> None:
        if self.streams:
            # Not idle while a stream is open; the spent timer is replaced.
            self.setTimeout(self.timeOut)
            return
        log.debug("Timing out idle HTTP/2 client {peer}", peer=str(self._peer))
        self.conn.close_connection(error_code=_ERR.NO_ERROR)
        self._flush()
        self._lose()

    # -- writing -------------------------------------------------------------

    def _flush(self) -> None:
        """Send streamed data written this turn, then write what h2 has queued at once."""
        self._flush_call = None
        if self._dirty:
            dirty, self._dirty = self._dirty, []
            for stream in dirty:
                stream.send_pending()
        data = self.conn.data_to_send()
        if data and not self._lost:
            self.transport.write(data)

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
        for stream in list(self.streams.values()):
            stream.maybe_resume_producer()

    def stopProducing(self) -> None:
        pass

    # -- events --------------------------------------------------------------

    def _request_received(self, event: h2.events.RequestReceived) -> None:
        stream_id = event.stream_id
        if self._draining:
            # After our GOAWAY: the peer retries elsewhere.
            self.conn.reset_stream(stream_id, _ERR.REFUSED_STREAM)
            return
        try:
            head = read_request_head(event.headers)
        except MalformedRequest as e:
            self._reset_malformed(stream_id, e)
            return
        except RejectedRequest as e:
            self._reject(stream_id, e.message, ended=event.stream_ended is not None)
            return
        stream = _Stream(self, stream_id)
        self.streams[stream_id] = stream
        stream.start(head)

    def _trailers_received(self, event: h2.events.TrailersReceived) -> None:
        stream = self.streams.get(event.stream_id)
        if stream is None:
            return  # already reset or answered (they came with the request)
        declared = declares_trailers(stream.request.requestHeaders.getRawHeaders(b"trailer"))
        try:
            check_trailers(event.headers, declared)
        except MalformedRequest as e:
            self._reset_malformed(event.stream_id, e)

    def _reset_malformed(self, stream_id: int, error: MalformedRequest) -> None:
        """A malformed request or trailers: the stream is reset, the connection goes on."""
        log.debug("Malformed HTTP/2 request from {peer}: {error}",
                  peer=str(self._peer), error=str(error))
        try:
            self.conn.reset_stream(stream_id, _ERR.PROTOCOL_ERROR)
        except h2.exceptions.ProtocolError:  # the stream or connection is closed
            pass
        stream = self.streams.get(stream_id)
        if stream is not None:
            stream.lost(Failure(ConnectionLost(f"malformed request: {error}")))
            self.stream_done(stream)

    def _reject(self, stream_id: int, message: str, ended: bool) -> None:
        """
        Answer 400 with C{message} as Go's C{http.Error} does, outside the
        API (no filters, no audit); a request body still coming is refused
        with RST_STREAM NO_ERROR after the answer.
        """
        body = message.encode("utf-8") + b"\n"
        conn = self.conn
        try:
            conn.send_headers(stream_id, [
                (b":status", b"400"),
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"x-content-type-options", b"nosniff"),
                (b"content-length", b"%d" % len(body)),
                (b"date", datetimeToString()),
            ])
            conn.send_data(stream_id, body, end_stream=True)
            if not ended:
                conn.reset_stream(stream_id, _ERR.NO_ERROR)
        except h2.exceptions.ProtocolError:  # the connection is closing
            pass

    def _data_received(self, event: h2.events.DataReceived) -> None:
        # Request bodies are read whole (as twisted.web does); the window is
        # given back at once. Size limits are the filter chain's.
        stream = self.streams.get(event.stream_id)
        if event.flow_controlled_length:
            try:
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            except h2.exceptions.StreamClosedError:
                pass
        if stream is not None:
            stream.body(event.data)

    def _stream_ended(self, event: h2.events.StreamEnded) -> None:
        stream = self.streams.get(event.stream_id)
        if stream is not None:
            stream.request_complete()

    def _stream_reset(self, event: h2.events.StreamReset) -> None:
        stream = self.streams.get(event.stream_id)
        if stream is not None:
            stream.lost(Failure(ConnectionLost(f"Stream reset with code {event.error_code}")))
            self.stream_done(stream)
        if event.remote_reset:
            self._count_reset()

    def _count_reset(self) -> None:
        now = self.reactor.seconds()
        elapsed = max(0.0, now - self._reset_stamp)
        self._reset_stamp = now
        self._reset_tokens = min(float(self.reset_burst),
                                 self._reset_tokens + elapsed * self.reset_rate)
        if self._reset_tokens < 1:
            log.info("Closing {peer}: too many stream resets", peer=str(self._peer))
            self.conn.close_connection(error_code=_ERR.ENHANCE_YOUR_CALM)
            self._flush()
            self._lose()
        else:
            self._reset_tokens -= 1

    def _window_updated(self, event: Any) -> None:
        if event.stream_id:
            stream = self.streams.get(event.stream_id)
            if stream is not None and stream in self._blocked:
                stream.send_pending()
        else:
            self._send_blocked()

    def _send_blocked(self) -> None:
        for stream in list(self._blocked):
            stream.send_pending()

    def _terminated(self, event: h2.events.ConnectionTerminated) -> None:
        self._lose()

    # -- streams report back -------------------------------------------------

    def stream_done(self, stream: "_Stream") -> None:
        self.streams.pop(stream.stream_id, None)
        if stream in self._blocked:
            self._blocked.remove(stream)
        if self._draining and not self.streams:
            self._close_drained()

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
        # Written behind anything h2 has queued; h2 itself would refuse to
        # send more on the open streams after its own close_connection().
        self._flush()
        self.transport.write(GoAwayFrame(
            0, last_stream_id=self.conn.highest_inbound_stream_id,
            error_code=_ERR.NO_ERROR).serialize())
        if not self.streams:
            self._close_drained()

    def _close_drained(self) -> None:
        if self._lost:
            return
        self._flush()
        self.setTimeout(None)
        self._lose()


_HANDLERS = {
    h2.events.RequestReceived: HTTP2Connection._request_received,
    h2.events.TrailersReceived: HTTP2Connection._trailers_received,
    h2.events.DataReceived: HTTP2Connection._data_received,
    h2.events.StreamEnded: HTTP2Connection._stream_ended,
    h2.events.StreamReset: HTTP2Connection._stream_reset,
    h2.events.WindowUpdated: HTTP2Connection._window_updated,
    h2.events.RemoteSettingsChanged: lambda self, event: self._send_blocked(),
    h2.events.ConnectionTerminated: HTTP2Connection._terminated,
}


class _Stream:
    """
    One request/response exchange: the "channel" its L{Request} talks to
    (writeHeaders, write, requestDone, producers...).
    """

    # Request copies channel.transport; HTTP/2 streams have none of their own.
    transport = None

    def __init__(self, connection: HTTP2Connection, stream_id: int) -> None:
        self.connection = connection
        self.stream_id = stream_id
        self.site = connection.site
        self.factory = connection.factory
        self._pending: List[bytes] = []
        self._headers: Optional[List[Any]] = None
        self._ended = False
        self._finished = False
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
                try:
                    request.gotLength(int(value))
                except ValueError:
                    self._respondToBadRequestAndDisconnect()
                    return
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
            self.connection.conn.send_headers(self.stream_id, [(b":status", b"100")])

    def body(self, data: bytes) -> None:
        if not self._finished:
            self.request.handleContentChunk(data)

    def request_complete(self) -> None:
        if not self._finished:
            self.request.requestReceived(self.command, self.path, b"HTTP/2")

    def lost(self, reason: Failure) -> None:
        if self.producer is not None:
            try:
                self.producer.stopProducing()
            except Exception:
                pass
            self.producer = None
        self._finished = True
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
            try:
                self.connection.conn.end_stream(self.stream_id)
            except h2.exceptions.ProtocolError:  # stream or connection closed
                pass
            self.connection._changed()
        self._finish()

    def loseConnection(self) -> None:
        self.requestDone(self.request)

    def abortConnection(self) -> None:
        if self._finished:
            return
        try:
            self.connection.conn.reset_stream(self.stream_id, _ERR.CANCEL)
        except h2.exceptions.ProtocolError:  # stream or connection closed
            pass
        self._finish()
        self.request.connectionLost(Failure(ConnectionLost("stream aborted")))

    def _respondToBadRequestAndDisconnect(self) -> None:
        try:
            self.connection.conn.send_headers(
                self.stream_id, [(b":status", b"400")], end_stream=True)
        except h2.exceptions.ProtocolError:
            pass
        self._finish()
        self.request.connectionLost(Failure(ConnectionLost("invalid request")))

    # -- sending ----------------------------------------------------------------

    def _send_headers(self, end_stream: bool = False) -> None:
        if self._headers is None:
            return
        block, self._headers = self._headers, None
        try:
            self.connection.conn.send_headers(self.stream_id, block, end_stream=end_stream)
        except h2.exceptions.ProtocolError:
            # The stream is closed, or the whole connection is (the peer's
            # GOAWAY): nothing more can go out on it.
            self._finish()
            return
        self.connection._changed()

    def send_pending(self) -> None:
        """Send queued data as far as the flow-control windows allow."""
        connection = self.connection
        conn = connection.conn
        if self._finished:
            return
        self._send_headers()
        if self._finished:
            return
        try:
            while self._pending:
                window = conn.local_flow_control_window(self.stream_id)
                if window <= 0:
                    break
                size = min(window, conn.max_outbound_frame_size)
                chunk = self._pending[0]
                if len(chunk) > size:
                    # Slice a view: copying the rest of a large body once per
                    # frame made big LISTs quadratic.
                    if not isinstance(chunk, memoryview):
                        chunk = memoryview(chunk)
                    self._pending[0] = chunk[size:]
                    chunk = chunk[:size]
                else:
                    self._pending.pop(0)
                last = self._ended and not self._pending
                conn.send_data(self.stream_id, chunk, end_stream=last)
        except h2.exceptions.ProtocolError:  # stream or connection closed
            self._finish()
            return
        connection._changed()
        if self._pending:
            if self not in connection._blocked:
                connection._blocked.append(self)
            self.pause_producer()
            return
        if self in connection._blocked:
            connection._blocked.remove(self)
        if self._ended:
            self._finish()
        else:
            self.maybe_resume_producer()

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        self._pending = []
        self.connection.stream_done(self)

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
