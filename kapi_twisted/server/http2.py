"""
The HTTP/2 connection: twisted.web's L{H2Connection} with kube-apiserver's
settings and graceful draining.

The stock connection speaks with the h2 library's defaults. kube-apiserver
sends (C{SecureServingInfo.Serve}): MAX_CONCURRENT_STREAMS = the flag (250
by default in the seed), MAX_FRAME_SIZE 256 KiB, INITIAL_WINDOW_SIZE 256 KiB
per stream, and opens the connection window to streams x 256 KiB with a
WINDOW_UPDATE on stream 0. The header list is limited to 1 MiB like HTTP/1.1.

Go's HTTP/2 idle timeout only counts while no stream is open (a quiet watch
is not idle); on shutdown the peer gets a GOAWAY naming the last stream we
will answer, streams in flight finish, and the connection closes when the
last one is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import h2.errors
import h2.settings
from h2.settings import SettingCodes
from hyperframe.frame import GoAwayFrame
from twisted.internet.interfaces import ITCPTransport
from twisted.logger import Logger
from twisted.web._http2 import H2Connection, H2Stream

log = Logger()

# 99% of serialized objects in surveyed clusters are under 256 KiB (the seed).
RESOURCE_BODY_99_PERCENTILE = 256 * 1024
_DEFAULT_WINDOW = 65535


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


class _Stream(H2Stream):
    """A stream that can hand the connection's client certificate to its request."""

    def getPeerCertificate(self) -> Any:
        get = getattr(self._conn.transport, "getPeerCertificate", None)
        return get() if get is not None else None


class HTTP2Connection(H2Connection):
    """One HTTP/2 connection with our settings; see the module docstring."""

    _draining = False

    def __init__(self, settings: HTTP2Settings, reactor: Any = None) -> None:
        super().__init__(reactor=reactor)
        self.settings = settings

    def connectionMade(self) -> None:
        if ITCPTransport.providedBy(self.transport):
            self.transport.setTcpNoDelay(True)
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
        self.transport.write(conn.data_to_send())

    # -- idle timeout: only while no stream is open -------------------------

    def timeoutConnection(self) -> None:
        if self.streams:
            # The timer that fired is spent: arm a new one.
            self.setTimeout(self.timeOut)
            return
        super().timeoutConnection()

    # -- streams -------------------------------------------------------------

    def _requestReceived(self, event: Any) -> None:
        if self._draining:
            # After our GOAWAY: the peer retries elsewhere.
            self.conn.reset_stream(event.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
            self._tryToWriteControlData()
            return
        super()._requestReceived(event)
        # Swap in our stream class (same state, adds getPeerCertificate).
        stream = self.streams[event.stream_id]
        stream.__class__ = _Stream

    def _requestDataReceived(self, event: Any) -> None:
        if event.stream_id not in self.streams:
            self._ack_dropped(event)
            return
        super()._requestDataReceived(event)

    def _ack_dropped(self, event: Any) -> None:
        try:
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        except Exception:
            return
        self._tryToWriteControlData()

    def _requestEnded(self, event: Any) -> None:
        if event.stream_id in self.streams:
            super()._requestEnded(event)

    def _requestAborted(self, event: Any) -> None:
        if event.stream_id in self.streams:
            super()._requestAborted(event)

    def _requestDone(self, streamID: int) -> None:
        super()._requestDone(streamID)
        if self._draining and not self.streams:
            self._close_drained()

    # -- draining ------------------------------------------------------------

    @property
    def idle(self) -> bool:
        return not self.streams

    def drain(self) -> None:
        """
        Send GOAWAY (NO_ERROR, last stream = the highest one received), refuse
        newer streams, and close once the open streams are done.
        """
        if self._draining or self.transport is None:
            return
        self._draining = True
        goaway = GoAwayFrame(
            0, last_stream_id=self.conn.highest_inbound_stream_id,
            error_code=h2.errors.ErrorCodes.NO_ERROR)
        # Flush what h2 has queued first, so the GOAWAY follows it.
        self._tryToWriteControlData()
        self.transport.write(goaway.serialize())
        if not self.streams:
            self._close_drained()

    def _close_drained(self) -> None:
        if not self._stillProducing:  # already lost
            return
        self.setTimeout(None)
        self.transport.loseConnection()
