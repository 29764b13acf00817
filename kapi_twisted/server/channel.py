"""
The L{Site} that secure serving listens with, and the per-connection
protocol that picks HTTP/1.1 or HTTP/2.

twisted.web's own switch (C{_GenericHTTPChannelProtocol}) builds a stock
C{H2Connection} with the h2 library's default settings; ours builds
L{HTTP2Connection} with the seed's settings when ALPN says C{h2} (or, on
plain TCP, when the client opens with the HTTP/2 preface), and
L{HTTP11Channel} otherwise. The site also keeps every open connection, so
that graceful termination can drain them (GOAWAY, C{Connection: close},
idle connections closed) and finally close what remains.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any, List, Optional, Set

from OpenSSL import SSL
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import ITCPTransport
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper
from twisted.web.server import Site

from kapi_twisted.server.http1 import HEADER_TIMEOUT, IDLE_TIMEOUT, HTTP11Channel
from kapi_twisted.server.http2 import HTTP2Connection, HTTP2Settings

log = Logger()

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
KEEPALIVE_PERIOD = 180
# After close_all(), connections that have not closed cleanly are aborted.
CLOSE_GRACE = 2.0


@dataclass(frozen=True)
class ServingLimits:
    """Timeouts of the serving layer (kube-apiserver's C{http.Server} values)."""

    idle_timeout: float = IDLE_TIMEOUT
    header_timeout: float = HEADER_TIMEOUT
    keepalive_period: int = KEEPALIVE_PERIOD


def enable_keepalive(transport: Any, period: int) -> None:
    """SO_KEEPALIVE with probes after C{period} seconds idle, where the platform allows."""
    tcp = transport
    # Below TLS (a protocol wrapper that also claims ITCPTransport) the TCP
    # transport owns the socket.
    while isinstance(tcp, ProtocolWrapper):
        tcp = tcp.transport
    if not ITCPTransport.providedBy(tcp):
        return
    try:
        tcp.setTcpKeepAlive(True)
        sock = tcp.getHandle()
        for option in ("TCP_KEEPIDLE", "TCP_KEEPINTVL"):
            code = getattr(socket, option, None)
            if code is not None:
                sock.setsockopt(socket.IPPROTO_TCP, code, period)
    except (AttributeError, OSError) as e:
        log.debug("TCP keep-alive not set: {error}", error=str(e))


class ServingSite(Site):
    """
    A L{Site} building L{NegotiatingChannel}s and tracking them.

    @param http2: the HTTP/2 settings, or C{None} when HTTP/2 is disabled.
    """

    def __init__(self, resource: Any, *, reactor: Any, request_factory: Any,
                 limits: ServingLimits = ServingLimits(),
                 http2: Optional[HTTP2Settings] = HTTP2Settings()) -> None:
        super().__init__(resource, requestFactory=request_factory,
                         timeout=limits.idle_timeout, reactor=reactor,
                         parsePOSTFormSubmission=False)
        self.displayTracebacks = False
        self.limits = limits
        self.http2 = http2
        self.connections: Set[NegotiatingChannel] = set()
        self.draining = False
        # For apiserver_tls_handshake_errors_total.
        self.tls_handshake_errors = 0
        self._all_closed: List[Deferred] = []

    def buildProtocol(self, addr: Any) -> "NegotiatingChannel":
        return NegotiatingChannel(self)

    def log(self, request: Any) -> None:
        """No access log line per request (metrics and audit cover requests)."""

    def make_channel(self, http2: bool) -> Any:
        """A fresh HTTP/1.1 channel or HTTP/2 connection bound to this site."""
        channel: Any
        if http2:
            assert self.http2 is not None
            channel = HTTP2Connection(self.http2, reactor=self.reactor)
        else:
            channel = HTTP11Channel()
            channel.header_timeout = self.limits.header_timeout
        channel.site = self
        channel.factory = self
        channel.requestFactory = self.requestFactory
        channel.timeOut = self.timeOut
        channel.callLater = self.reactor.callLater
        return channel

    # -- graceful termination ------------------------------------------------

    def drain(self) -> None:
        """From now on: GOAWAY for HTTP/2, C{Connection: close} for HTTP/1.1, idle ones closed."""
        self.draining = True
        for connection in list(self.connections):
            connection.drain()

    def close_all(self) -> Deferred:
        """
        Close every connection (aborting those still open after a short
        grace); the Deferred fires once none is left.
        """
        self.drain()
        if not self.connections:
            return succeed(None)
        d: Deferred = Deferred()
        self._all_closed.append(d)
        for connection in list(self.connections):
            connection.close()
        timer = self.reactor.callLater(CLOSE_GRACE, self._abort_all)

        def closed(result: Any) -> Any:
            if timer.active():
                timer.cancel()
            return result

        return d.addBoth(closed)

    def _abort_all(self) -> None:
        for connection in list(self.connections):
            connection.abort()

    def connection_lost(self, connection: "NegotiatingChannel") -> None:
        self.connections.discard(connection)
        if not self.connections and self._all_closed:
            waiters, self._all_closed = self._all_closed, []
            for d in waiters:
                d.callback(None)


class NegotiatingChannel(Protocol):
    """
    Stands in front of the real channel until the first bytes arrive (the TLS
    handshake is done by then and ALPN has spoken), then hands everything to
    an L{HTTP11Channel} or L{HTTP2Connection}.
    """

    channel: Any = None
    _pending = b""
    _timer: Any = None

    def __init__(self, site: ServingSite) -> None:
        self.site = site

    def connectionMade(self) -> None:
        self.site.connections.add(self)
        enable_keepalive(self.transport, self.site.limits.keepalive_period)
        # The handshake and the first request's headers share the header deadline.
        self._timer = self.site.reactor.callLater(
            self.site.limits.header_timeout, self._too_slow)

    def _too_slow(self) -> None:
        self._timer = None
        log.debug("Closing {peer}: no request within {seconds}s",
                  peer=str(self.transport.getPeer()), seconds=self.site.limits.header_timeout)
        self.transport.abortConnection()

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def dataReceived(self, data: bytes) -> None:
        if self.channel is None:
            data = self._pending + data
            self._pending = b""
            use_h2 = self._wants_h2(data)
            if use_h2 is None:
                self._pending = data
                return
            self._cancel_timer()
            self.channel = self.site.make_channel(use_h2)
            self.channel.makeConnection(self.transport)
            if self.site.draining:
                self.channel.drain()
        self.channel.dataReceived(data)

    def _wants_h2(self, data: bytes) -> Optional[bool]:
        """True/False once known; None while a cleartext prefix may still be the preface."""
        if self.site.http2 is None:
            return False
        negotiated = getattr(self.transport, "negotiatedProtocol", _NOT_TLS)
        if negotiated is not _NOT_TLS:
            return negotiated == b"h2"
        # Cleartext (tcp: endpoints, for tests and benchmarks): prior knowledge.
        if len(data) < len(H2_PREFACE):
            return None if H2_PREFACE.startswith(data) else False
        return data.startswith(H2_PREFACE)

    def connectionLost(self, reason: Any) -> None:
        self._cancel_timer()
        self.site.connection_lost(self)
        if self.channel is not None:
            self.channel.connectionLost(reason)
        elif reason.check(SSL.Error):
            self.site.tls_handshake_errors += 1
            log.debug("TLS handshake error from {peer}: {error}",
                      peer=_peer(self.transport), error=_ssl_error_text(reason.value))

    # -- graceful termination ------------------------------------------------

    def drain(self) -> None:
        if self.channel is None:
            # No request yet: nothing to finish.
            self.transport.loseConnection()
        else:
            self.channel.drain()

    def close(self) -> None:
        if self.channel is not None:
            # The channels unregister themselves as producers first (TLS
            # waits for that before it closes).
            self.channel.close()
        else:
            self.transport.loseConnection()

    def abort(self) -> None:
        self.transport.abortConnection()


_NOT_TLS = object()


def _peer(transport: Any) -> str:
    try:
        peer = transport.getPeer()
        return f"{peer.host}:{peer.port}"
    except Exception:
        return "?"


def _ssl_error_text(error: Any) -> str:
    """OpenSSL's reason strings (e.g. 'unsupported protocol'), without the tuple noise."""
    args = getattr(error, "args", ())
    if args and isinstance(args[0], list):
        reasons = [str(item[-1]) for item in args[0] if isinstance(item, tuple) and item]
        if reasons:
            return "; ".join(reasons)
    return str(error) or error.__class__.__name__
