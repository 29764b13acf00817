"""
The HTTP/1.1 channel: twisted.web's L{HTTPChannel} with kube-apiserver's
limits and graceful draining, reading requests a header block at a time.

Go's C{http.Server} as kube-apiserver configures it allows 1 MiB of request
line and headers (more gets C{431 Request Header Fields Too Large}), gives a
client 32 s to send complete headers once a request has begun (the idle
timeout of 90 s applies between requests), and during shutdown answers with
C{Connection: close} and closes connections that sit idle.

twisted.web reads a request through C{LineReceiver}: a Python call per
header line, each cutting the rest of the buffer in two, and a timer set and
cancelled per request for the header deadline. Nearly every request arrives
whole in one read, so this channel looks for the blank line that ends the
head, splits the head once, and checks all its lines in one loop; a body
that is already there is handed to the request in one piece. Heads that
arrive in pieces are read a complete line at a time, with the same rules in
the same order, so that a slow or broken client sees what it saw before
(the same 400s and 431s, at the same points).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from twisted.logger import Logger
from twisted.web.http import (
    HTTPChannel,
    _ChunkedTransferDecoder,
    _MalformedChunkedDataError,
)
from twisted.web.iweb import INonQueuedRequestFactory

from kapi_twisted.server._headers import add_checked
from kapi_twisted.server._http1_parse import (
    CONTENT_LENGTH,
    header_kind,
    parse_request_line,
    valid_value,
)

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

# What _read_lines reports.
_MORE = 0  # the head goes on
_DONE = 1  # the blank line that ends the head was read
_STOP = 2  # the connection was refused or is being closed: read nothing more


# Whether a request factory provides INonQueuedRequestFactory, by factory.
_non_queued: Dict[Any, bool] = {}


def _plain_head(data: bytes, end: int) -> bool:
    """
    C{data[:end]} (a head without its final blank line) has CR and LF only
    as line ends, no NUL, and no line folded onto the one before.
    """
    lines = data.count(b"\r\n", 0, end)
    return (data.count(b"\r", 0, end) == lines and data.count(b"\n", 0, end) == lines
            and data.find(b"\x00", 0, end) < 0
            and data.find(b"\r\n ", 0, end) < 0 and data.find(b"\r\n\t", 0, end) < 0)


class HTTP11Channel(HTTPChannel):
    """
    An L{HTTPChannel} that reads request heads in one pass.

    Of twisted.web's C{HTTPChannel} it replaces the reading side:
    C{dataReceived} (and with it C{LineReceiver}'s line splitting,
    C{lineReceived} and C{headerReceived}, which are no longer called) and
    C{_finishRequestBody}. It keeps using these of twisted.web's internals,
    all present (and used the same way) from Twisted 23.10 to 26.10: the
    attributes C{requests},
    C{_handlingRequest}, C{_dataBuffer}, C{_transferDecoder}, C{length},
    C{persistent}, C{_command}, C{_path}, C{_version},
    C{_networkProducer}, C{_waitingForTransport},
    C{_optimisticEagerReadSize}; the methods C{allHeadersReceived},
    C{allContentReceived}, C{requestDone} (which hands back data read while
    a request was served through C{setLineMode}, i.e. C{dataReceived}),
    C{_respondToBadRequestAndDisconnect}; and C{_ChunkedTransferDecoder}
    with C{_MalformedChunkedDataError} for chunked bodies.

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

    # Reading state. _partial: the start of a head line still incomplete;
    # _unread: data handed back to dataReceived (by requestDone) while it runs.
    _partial = b""
    _unread = b""
    _reading = False
    _started = False  # the request line of the current request was read
    _blank_skipped = False
    _folded = b""  # the header line being read (obs-fold joins lines to it)
    _head_size = 0
    _header_count = 0
    _length_known = False  # a Content-Length or chunked coding was given
    _body_left = 0  # Content-Length bytes still to come

    # -- reading -------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        if self._refused:
            return
        self.resetTimeout()
        if self._reading:
            # Called back from inside _read (requestDone hands back what was
            # buffered while a request was served): read it next.
            self._unread += data
            return
        self._reading = True
        try:
            self._read(data)
        finally:
            self._reading = False

    def _read(self, data: bytes) -> None:
        if self._partial:
            data = self._partial + data
            self._partial = b""
        while True:
            if not data:
                if not self._unread:
                    break
                data = self._partial + self._unread
                self._partial = self._unread = b""
            if self._refused or self.transport.disconnecting:
                return
            if self._handlingRequest:
                self._buffer_pipelined(data)
                data = b""
            elif self._body_left:
                data = self._read_body(data)
            elif self._transferDecoder is not None:
                try:
                    self._transferDecoder.dataReceived(data)
                except _MalformedChunkedDataError:
                    self._bad_request()
                    return
                data = b""
            else:
                data = self._read_head(data)
                if data is None:
                    return
        if (not self._handlingRequest and not self._refused
                and not self._body_left and self._transferDecoder is None
                and (self._partial or self._started or self._blank_skipped)):
            # Part of a head is in: the header deadline runs.
            self._start_header_timer()

    def _read_head(self, data: bytes) -> Optional[bytes]:
        """
        Read what C{data} holds of a request head; return what follows it
        (C{b""} when the head is not complete, C{None} once reading stops).
        """
        if data[:2] == b"\r\n":
            # An empty line first: the end of the head, the blank line some
            # clients send after a body, or a missing request line.
            lines: List[bytes] = [b""]
            rest = data[2:]
        else:
            end = data.find(b"\r\n\r\n")
            if end >= 0:
                rest = data[end + 4:]
                if (not self._started and not self._blank_skipped and self.persistent
                        and end <= self.totalHeadersSize and _plain_head(data, end)):
                    # The usual case: a whole head, not too large, every line
                    # ended by CRLF, nothing folded, no NUL.
                    if not self._read_whole_head(data[:end].split(b"\r\n")):
                        return None
                    return self._head_read(rest)
                # The whole head: its lines, the last one the empty line.
                lines = data[:end + 2].split(b"\r\n")
            else:
                cut = data.rfind(b"\r\n")
                if cut < 0:
                    if len(data) >= self.MAX_LENGTH + 2:
                        self._refuse_headers()
                        return None
                    self._partial = data
                    return b""
                lines = data[:cut].split(b"\r\n")
                rest = data[cut + 2:]
        state = self._read_lines(lines)
        if state == _STOP:
            return None
        if state == _DONE:
            return self._head_read(rest)
        return rest

    def _read_lines(self, lines: List[bytes]) -> int:
        """
        Apply twisted.web's rules to complete head lines, in order: the size
        limit first, then the request line, header lines (validated when the
        next line shows they are not folded on), and the empty line.
        """
        size = self._head_size
        limit = self.totalHeadersSize
        folded = self._folded
        for line in lines:
            size += len(line)
            if size > limit:
                self._refuse_headers()
                return _STOP
            if not self._started:
                if not self.persistent:
                    # Data after a request that closes the connection.
                    self._refused = True
                    return _STOP
                if not line and not self._blank_skipped:
                    self._blank_skipped = True
                    continue
                if not self._start_request(line):
                    return _STOP
                continue
            if not line:
                if folded and not self._header_received(folded):
                    return _STOP
                self._folded = b""
                return _DONE
            if line[0] in b" \t":
                folded += b" " + line.lstrip(b" \t")
                continue
            if folded and not self._header_received(folded):
                return _STOP
            folded = line
        self._folded = folded
        self._head_size = size
        return _MORE

    def _read_whole_head(self, lines: List[bytes]) -> bool:
        """
        L{_read_lines} for a head that L{_plain_head} passed: no line can
        break the size limit, be folded on, or hold CR, LF or NUL, so each
        header is taken as it comes.
        """
        if not self._start_request(lines[0]):
            return False
        if len(lines) - 1 > self.maxHeaders:
            self._bad_request()
            return False
        headers = self.requests[-1].requestHeaders
        for i in range(1, len(lines)):
            name, colon, value = lines[i].partition(b":")
            kind = header_kind(name)
            if kind is None or not colon:
                self._bad_request()
                return False
            value = value.strip(b" \t")
            if kind and not self._choose_length(kind, value):
                return False
            # A token name and a value without CR or LF (_plain_head).
            add_checked(headers, name, value)
        return True

    def _start_request(self, line: bytes) -> bool:
        parsed = parse_request_line(line)
        if parsed is None:
            self._bad_request()
            return False
        factory = self.requestFactory
        non_queued = _non_queued.get(factory)
        if non_queued is None:
            # Asking zope.interface costs about a microsecond; ask once per factory.
            non_queued = _non_queued[factory] = bool(INonQueuedRequestFactory.providedBy(factory))
        if non_queued:
            request = factory(self)
        else:
            request = factory(self, len(self.requests))
        self.requests.append(request)
        self._command, self._path, self._version = parsed
        self._started = True
        return True

    def _header_received(self, line: bytes) -> bool:
        name, colon, value = line.partition(b":")
        kind = header_kind(name) if colon else None
        if kind is None:
            self._bad_request()
            return False
        value = value.strip(b" \t")
        if not valid_value(value):
            self._bad_request()
            return False
        if kind and not self._choose_length(kind, value):
            return False
        self.requests[-1].requestHeaders.addRawHeader(name, value)
        self._header_count += 1
        if self._header_count > self.maxHeaders:
            self._bad_request()
            return False
        return True

    def _choose_length(self, kind: int, value: bytes) -> bool:
        """
        A Content-Length or Transfer-Encoding header: twisted.web's rules
        (digits only; C{chunked} or C{identity}; one length at most).
        """
        length: Optional[int]
        if kind == CONTENT_LENGTH:
            if not value.isdigit():
                self._bad_request()
                return False
            try:
                length = int(value)
            except ValueError:  # more digits than Python converts
                self._bad_request()
                return False
        else:
            coding = value.lower()
            if coding == b"identity":
                return True
            if coding != b"chunked":
                self._bad_request()
                return False
            length = None
        if self._length_known:
            self._bad_request()
            return False
        self._length_known = True
        self.length = length
        return True

    def _head_read(self, rest: bytes) -> bytes:
        """The head is complete: hand the request its length, then its body."""
        self._started = self._blank_skipped = False
        self._head_size = self._header_count = 0
        self._length_known = False
        self.allHeadersReceived()
        length = self.length
        if length is None:
            self._transferDecoder = _ChunkedTransferDecoder(
                self.requests[-1].handleContentChunk, self._finishRequestBody)
            return rest
        if length:
            self._body_left = length
            return rest
        self._finishRequestBody(rest)
        return b""

    def _read_body(self, data: bytes) -> bytes:
        left = self._body_left
        request = self.requests[-1]
        if len(data) < left:
            self._body_left = left - len(data)
            request.handleContentChunk(data)
            return b""
        self._body_left = 0
        if len(data) == left:
            request.handleContentChunk(data)
            self._finishRequestBody(b"")
        else:
            request.handleContentChunk(data[:left])
            self._finishRequestBody(data[left:])
        return b""

    def _finishRequestBody(self, data: bytes) -> None:
        """
        The body is complete: keep what follows it for the next request, then
        serve this one (if it finishes at once, requestDone hands the kept
        bytes back to L{dataReceived}).
        """
        if data:
            self._dataBuffer.append(data)
        self.allContentReceived()
        if self._handlingRequest and self._dataBuffer:
            self._maybe_pause()

    def _buffer_pipelined(self, data: bytes) -> None:
        """Keep data sent while a request is served (twisted.web's rule)."""
        self._dataBuffer.append(data)
        self._maybe_pause()

    def _maybe_pause(self) -> None:
        if (sum(map(len, self._dataBuffer)) > self._optimisticEagerReadSize
                and not self._waitingForTransport):
            # The client sends on without reading answers: stop reading it.
            self._networkProducer.pauseProducing()

    def _bad_request(self) -> None:
        self._refused = True
        # As before, the header deadline also bounds how long the closing
        # connection may take.
        self._start_header_timer()
        self._respondToBadRequestAndDisconnect()

    # -- header deadline -----------------------------------------------------

    def connectionMade(self) -> None:
        super().connectionMade()
        self._start_header_timer()

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
        # twisted.web turns the idle timeout off here (setTimeout(None)) and
        # on again in requestDone: let that keep the timer (see setTimeout).
        self._serving = True
        try:
            super().allHeadersReceived()
        finally:
            self._serving = False

    # -- idle timeout --------------------------------------------------------

    # TimeoutMixin's timer, kept for the life of the connection: twisted.web
    # cancels it when a request's headers are in and makes a new one when the
    # answer is done, a DelayedCall made and one cancelled per request. Here
    # the timer is only suspended meanwhile (timeOut is None); if it fires
    # then, it does nothing, and requestDone's setTimeout makes a new one.
    _idle_call: Optional[Any] = None
    _serving = False

    def setTimeout(self, period: Optional[float]) -> Optional[float]:
        previous = self.timeOut
        self.timeOut = period
        call = self._idle_call
        if period is None:
            if call is not None and not self._serving:
                self._idle_call = None
                if call.active():
                    call.cancel()
        elif call is not None and call.active():
            call.reset(period)
        else:
            self._idle_call = self.callLater(period, self._idle_timed_out)
        return previous

    def resetTimeout(self) -> None:
        call = self._idle_call
        if call is not None and self.timeOut is not None:
            call.reset(self.timeOut)

    def _idle_timed_out(self) -> None:
        self._idle_call = None
        if self.timeOut is not None:
            self.timeoutConnection()

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
