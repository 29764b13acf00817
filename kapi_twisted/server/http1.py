"""
The HTTP/1.1 channel: twisted.web's L{HTTPChannel} with kube-apiserver's
limits and graceful draining.

Go's C{http.Server} as kube-apiserver configures it allows 1 MiB of request
line and headers (more gets C{431 Request Header Fields Too Large}), gives a
client 32 s to send complete headers once a request has begun (the idle
timeout of 90 s applies between requests), and during shutdown answers with
C{Connection: close} and closes connections that sit idle.
"""

from __future__ import annotations

from typing import Any, Optional

from twisted.logger import Logger
from twisted.web.http import HTTPChannel

log = Logger()

MAX_HEADER_BYTES = 1 << 20
HEADER_TIMEOUT = 32.0
IDLE_TIMEOUT = 90.0

_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Connection: close\r\n\r\n"
    b"431 Request Header Fields Too Large"
)


class HTTP11Channel(HTTPChannel):
    """
    @ivar header_timeout: seconds a client has, from the first byte of a
        request, to finish sending its headers.
    """

    MAX_LENGTH = MAX_HEADER_BYTES
    totalHeadersSize = MAX_HEADER_BYTES
    # Go limits header bytes, not their number.
    maxHeaders = 100_000

    header_timeout = HEADER_TIMEOUT
    _header_timer: Optional[Any] = None
    _draining = False
    _refused = False
    _reading_headers = False

    # -- header deadline -----------------------------------------------------

    def connectionMade(self) -> None:
        super().connectionMade()
        self._start_header_timer()

    def dataReceived(self, data: bytes) -> None:
        if self._refused:
            return
        if not self._handlingRequest and not self._reading_headers and self.line_mode:
            self._start_header_timer()
        super().dataReceived(data)

    def _start_header_timer(self) -> None:
        self._reading_headers = True
        if self._header_timer is None:
            self._header_timer = self.callLater(self.header_timeout, self._headers_too_slow)

    def _stop_header_timer(self) -> None:
        self._reading_headers = False
        if self._header_timer is not None:
            if self._header_timer.active():
                self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        log.debug("Closing {peer}: no complete request headers within {seconds}s",
                  peer=str(self.transport.getPeer()), seconds=self.header_timeout)
        self._refused = True
        self.transport.abortConnection()

    def allHeadersReceived(self) -> None:
        self._stop_header_timer()
        super().allHeadersReceived()

    # -- addresses -----------------------------------------------------------

    _host: Optional[Any] = None
    _peer: Optional[Any] = None

    def getHost(self) -> Any:
        """
        The local address, asked of the socket once per connection:
        twisted.web's Request asks for it on every request, and each ask is
        a getsockname() system call.
        """
        if self._host is None:
            self._host = self.transport.getHost()
        return self._host

    def getPeer(self) -> Any:
        """
        The remote address, built once per connection: twisted.web's Request
        asks for it on every request, through the TLS wrapper to a new
        address object each time.
        """
        if self._peer is None:
            self._peer = self.transport.getPeer()
        return self._peer

    # -- header size ---------------------------------------------------------

    def lineReceived(self, line: bytes) -> None:
        if self._refused:
            return
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            self._refuse_headers()
            return
        super().lineReceived(line)

    def rawDataReceived(self, data: bytes) -> None:
        if self._refused:
            return
        super().rawDataReceived(data)

    def lineLengthExceeded(self, line: bytes) -> None:
        self._refuse_headers()

    def _refuse_headers(self) -> None:
        self._refused = True
        self._stop_header_timer()
        self.transport.write(_TOO_LARGE)
        self.loseConnection()

    # -- draining ------------------------------------------------------------

    def checkPersistence(self, request: Any, version: bytes) -> bool:
        if self._draining:
            request.responseHeaders.setRawHeaders(b"connection", [b"close"])
            return False
        return super().checkPersistence(request, version)

    @property
    def idle(self) -> bool:
        """No request is being read or answered."""
        return not self.requests and not self._reading_headers

    def drain(self) -> None:
        """
        Serve what was asked, then close: idle connections close now, a request
        in progress is answered with C{Connection: close}.
        """
        if self._draining:
            return
        self._draining = True
        if self.idle:
            self.loseConnection()
            return
        if self.requests and not self._reading_headers:
            # The current request's headers are in: it decided to persist already.
            self.persistent = False
            for request in self.requests:
                if not request.startedWriting:
                    request.responseHeaders.setRawHeaders(b"connection", [b"close"])

    def close(self) -> None:
        """Close now, after what is already written."""
        self.loseConnection()

    def connectionLost(self, reason: Any) -> None:
        self._stop_header_timer()
        super().connectionLost(reason)
