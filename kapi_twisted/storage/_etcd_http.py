"""
A lean HTTP/1.1 client for etcd's unary JSON calls: POST a body, get the
status and the whole reply body back.

Why not twisted.web's C{Agent}: profiling kapi's creates over etcd showed
the Agent path (URI parsing and IDNA per request, endpoint and pool
plumbing, the line-by-line response parser and its state machine, pausing
and resuming the transport around every response) taking about a quarter
of the server's CPU. This client does only what etcd's gateway needs:
requests are built as one bytes object, and a response's head is parsed
with a handful of C-level searches. Creates through Etcd3Storage alone (16
in flight, one process) took ~235 microseconds of CPU each over C{Agent}
and ~77 over this client, most of the rest being the send and receive
system calls.

It keeps a small pool of keep-alive connections per endpoint; each carries
one request at a time (no pipelining), and at most C{max_connections} are
open per endpoint (more requests wait for a free connection).

What a caller can tell apart, and may do about it:
  - a C{ConnectError} (or C{DNSLookupError}): no connection could be made,
    nothing was sent; try the next server.
  - L{ResponseNotReceived}: the request was sent but the connection ended
    before a whole response: etcd may or may not have acted on it (safe
    to send again only if it is a read).
  - L{BadResponse} (a L{ResponseNotReceived}): etcd answered with something
    that is not HTTP/1.x as we understand it.
A pooled connection that etcd closed is never used: it leaves the pool as
soon as the reactor sees the close, and one that sat idle for a while is
checked (a non-blocking peek) before it is given a request, so a request
is not lost to a close that crossed it on the wire. Cancelling a request's
Deferred (as C{addTimeout} does) closes its connection.
"""

from __future__ import annotations

import socket
from collections import deque
from typing import Any, Deque, Dict, List, Optional, Set, Tuple
from urllib.parse import urlsplit

from twisted.internet.defer import Deferred, fail, gatherResults, succeed
from twisted.internet.error import ConnectionDone, NotConnectingError
from twisted.internet.protocol import ClientFactory, Protocol, connectionDone
from twisted.python.failure import Failure

from kapi_twisted._eager_tcp import connect_eager

__all__ = [
    "BadResponse",
    "EtcdHTTPClient",
    "ResponseNotReceived",
    "check_url",
]


class ResponseNotReceived(Exception):
    """The request went out but no whole response came back: outcome unknown."""


class BadResponse(ResponseNotReceived):
    """The server's answer was not HTTP/1.x as we understand it."""


_MAX_HEAD = 64 * 1024

# Parser states.
_IDLE, _HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER, _UNTIL_CLOSE = range(8)


def check_url(url: str) -> Any:
    """C{url} split, if it is an C{http://} or C{https://} server URL; else ValueError."""
    parts = urlsplit(url)
    try:
        parts.port
    except ValueError:
        raise ValueError(f"bad port in {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return parts


class _Endpoint:
    """One server (scheme, host, port): its idle connections, its count, its queue."""

    __slots__ = ("host", "port", "tls", "prefix", "idle", "open", "waiting")

    def __init__(self, url: str) -> None:
        parts = check_url(url)
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path.rstrip("/").encode("ascii")
        self.idle: List[_Connection] = []
        self.open = 0
        self.waiting: Deque[_Request] = deque()

    def head(self, path: bytes) -> bytes:
        """The part of a POST to C{path} that does not depend on the body."""
        netloc = self.host if ":" not in self.host else f"[{self.host}]"
        return (
            b"POST %s%s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
            b"Content-Length: " % (self.prefix, path, netloc.encode("idna"), self.port)
        )


class _Request:
    """One call: its bytes, its Deferred, and where it is (queued, connecting, sent)."""

    __slots__ = ("data", "d", "conn", "attempt", "endpoint")

    def __init__(self, endpoint: _Endpoint, data: bytes) -> None:
        self.endpoint = endpoint
        self.data = data
        self.conn: Optional[_Connection] = None
        self.attempt: Optional[_Attempt] = None
        self.d: Deferred = Deferred(self._cancel)

    def _cancel(self, d: Deferred) -> None:
        conn, attempt = self.conn, self.attempt
        self.conn = self.attempt = None
        if conn is not None:
            # Sent (or being sent): the only way to stop it is to drop the
            # connection; its answer, if any, would belong to no one.
            conn.request = None
            conn.drop()
        elif attempt is not None:
            attempt.request = None
            attempt.stop()
        else:
            try:
                self.endpoint.waiting.remove(self)
            except ValueError:
                pass


class _Attempt(ClientFactory):
    """
    One connection's life, from connecting to closed: makes the protocol,
    reports a failed connect to the request that asked for it, and fires
    the Deferreds of L{when_gone} once the connection is gone.
    """

    noisy = False

    def __init__(self, client: "EtcdHTTPClient", endpoint: _Endpoint, request: _Request) -> None:
        self.client = client
        self.endpoint = endpoint
        self.request: Optional[_Request] = request
        self.connector: Any = None
        self.protocol_instance: Optional[_Connection] = None
        self.close_when_done = False
        self.gone = False
        self._finished: List[Deferred] = []

    def buildProtocol(self, addr: Any) -> "_Connection":
        p = _Connection(self)
        self.protocol_instance = p
        return p

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        request, self.request = self.request, None
        if request is not None:
            request.attempt = None
            request.d.errback(reason)
        self._gone()

    def stop(self) -> None:
        """Give up on connecting (the request went away)."""
        if self.protocol_instance is None and self.connector is not None:
            try:
                self.connector.stopConnecting()
            except NotConnectingError:
                pass

    def when_gone(self) -> Deferred:
        if self.gone:
            return succeed(None)
        d: Deferred = Deferred()
        self._finished.append(d)
        return d

    def _gone(self) -> None:
        if self.gone:
            return
        self.gone = True
        self.client._attempt_gone(self)
        waiting, self._finished = self._finished, []
        for d in waiting:
            d.callback(None)


class _Connection(Protocol):
    """One keep-alive connection to etcd: sends a request, parses its response."""

    def __init__(self, attempt: _Attempt) -> None:
        self.attempt = attempt
        self.endpoint = attempt.endpoint
        self.request: Optional[_Request] = None
        self.reusable = True
        self.alive = False
        self.idle_since = 0.0
        self._state = _IDLE
        self._buf = b""
        self._parts: List[bytes] = []
        self._remaining = 0
        self._code = 0

    # -- connection events ----------------------------------------------------

    def connectionMade(self) -> None:
        self.alive = True
        attempt = self.attempt
        request, attempt.request = attempt.request, None
        if not self.endpoint.tls:
            try:
                self.transport.setTcpNoDelay(True)
            except (AttributeError, OSError):
                pass
        if request is None:
            # Its request was cancelled while connecting: the connection is
            # still useful to the next one.
            self.attempt.client._release(self)
            return
        request.attempt = None
        self.send(request)

    def still_open(self) -> bool:
        """
        Whether the peer has not closed this idle connection: a peek at the
        socket finds nothing to read (a close, or anything else the peer
        sent unasked, means the connection must not carry a request).
        """
        try:
            sock = self.transport.getHandle()
            sock.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            return True
        except (AttributeError, OSError):
            return False
        return False

    def send(self, request: _Request) -> None:
        request.conn = self
        self.request = request
        self._state = _HEAD
        self.transport.write(request.data)

    def dataReceived(self, data: bytes) -> None:
        state = self._state
        if state == _HEAD:
            buf = self._buf + data if self._buf else data
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_HEAD:
                    self._fail(BadResponse("response head too long"))
                else:
                    self._buf = buf
                return
            self._buf = b""
            try:
                self._head(buf[:end])
            except (ValueError, BadResponse) as e:
                self._fail(BadResponse(f"bad response head: {e}"))
                return
            data = buf[end + 4 :]
            state = self._state
            if state == _HEAD:  # an interim (1xx) response
                if data:
                    self.dataReceived(data)
                return
            if state == _IDLE:  # a response with no body
                self._done(data)
                return
            if not data:
                return
        if state == _LENGTH:
            remaining = self._remaining - len(data)
            if remaining > 0:
                self._parts.append(data)
                self._remaining = remaining
                return
            if remaining == 0:
                self._parts.append(data)
                self._done(b"")
            else:
                self._parts.append(data[:remaining])
                self._done(data[remaining:])
        elif state == _UNTIL_CLOSE:
            self._parts.append(data)
        elif state == _IDLE:
            # etcd never speaks unasked; whatever this is, the connection
            # is no longer in a state we understand.
            self.drop()
        else:
            self._chunked(data)

    def _head(self, head: bytes) -> None:
        """Read the status line and the three headers that frame the body."""
        if head[:7] != b"HTTP/1." or len(head) < 12 or head[12:13] not in (b" ", b"\r", b""):
            raise BadResponse(repr(head[:40]))
        code = self._code = int(head[9:12])
        keep_alive = head[7:8] == b"1"
        lower = head.lower()
        length: Optional[int] = None
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            start = at + 17
            stop = lower.find(b"\r\n", start)
            length = int(lower[start:stop] if stop >= 0 else lower[start:])
            if length < 0:
                raise BadResponse("negative Content-Length")
            again = lower.find(b"\r\ncontent-length:", start)
            if again >= 0:
                stop2 = lower.find(b"\r\n", again + 17)
                other = lower[again + 17 : stop2] if stop2 >= 0 else lower[again + 17 :]
                if int(other) != length:
                    raise BadResponse("conflicting Content-Length")
        chunked = False
        at = lower.find(b"\r\ntransfer-encoding:")
        if at >= 0:
            stop = lower.find(b"\r\n", at + 20)
            encoding = lower[at + 20 : stop] if stop >= 0 else lower[at + 20 :]
            chunked = encoding.strip() == b"chunked"
            if not chunked:
                raise BadResponse(f"unsupported Transfer-Encoding {encoding.strip()!r}")
        at = lower.find(b"\r\nconnection:")
        if at >= 0:
            stop = lower.find(b"\r\n", at + 13)
            tokens = lower[at + 13 : stop] if stop >= 0 else lower[at + 13 :]
            if b"close" in tokens:
                keep_alive = False
            elif b"keep-alive" in tokens:
                keep_alive = True
        if 100 <= code < 200:
            if code == 101:
                raise BadResponse("unexpected protocol switch")
            self._state = _HEAD
            return
        if not keep_alive:
            self.reusable = False
        if chunked:
            if length is not None:
                # Both framings at once: trust chunked, but never reuse.
                self.reusable = False
            self._state = _CHUNK_SIZE
        elif length is not None:
            if length == 0:
                self._state = _IDLE
            else:
                self._remaining = length
                self._state = _LENGTH
        elif code == 204 or code == 304:
            self._state = _IDLE
        else:
            self.reusable = False
            self._state = _UNTIL_CLOSE

    def _chunked(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        pos = 0
        size = len(buf)
        state = self._state
        parts = self._parts
        while pos < size:
            if state == _CHUNK_SIZE:
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    if size - pos > 1024:
                        self._fail(BadResponse("chunk size line too long"))
                        return
                    break
                line = buf[pos:end].split(b";", 1)[0].strip()
                try:
                    n = int(line, 16)
                except ValueError:
                    self._fail(BadResponse(f"bad chunk size {line[:20]!r}"))
                    return
                if n < 0:
                    self._fail(BadResponse("negative chunk size"))
                    return
                pos = end + 2
                if n == 0:
                    state = _TRAILER
                else:
                    state = _CHUNK_DATA
                    self._remaining = n
            elif state == _CHUNK_DATA:
                take = min(self._remaining, size - pos)
                if take:
                    parts.append(buf[pos : pos + take])
                    pos += take
                    self._remaining -= take
                if self._remaining:
                    break
                state = _CHUNK_END
            elif state == _CHUNK_END:
                if size - pos < 2:
                    break
                if buf[pos : pos + 2] != b"\r\n":
                    self._fail(BadResponse("chunk not followed by CRLF"))
                    return
                pos += 2
                state = _CHUNK_SIZE
            else:  # _TRAILER: header lines until an empty one
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    if size - pos > _MAX_HEAD:
                        self._fail(BadResponse("trailer too long"))
                        return
                    break
                line_empty = end == pos
                pos = end + 2
                if line_empty:
                    self._state = _IDLE
                    self._buf = b""
                    self._done(buf[pos:])
                    return
        self._state = state
        self._buf = buf[pos:] if pos < size else b""

    def _done(self, extra: bytes) -> None:
        """A whole response is in: free the connection, then answer."""
        request, self.request = self.request, None
        body = b"".join(self._parts) if len(self._parts) != 1 else self._parts[0]
        self._parts = []
        self._state = _IDLE
        if extra:
            self.reusable = False
        if request is not None:
            request.conn = None
        self.attempt.client._release(self)
        if request is not None:
            request.d.callback((self._code, body))

    def _fail(self, error: Exception) -> None:
        """The response cannot be understood: fail the request, drop the connection."""
        request, self.request = self.request, None
        self._state = _IDLE
        self.drop()
        if request is not None:
            request.conn = None
            request.d.errback(error)

    def drop(self) -> None:
        """Close now and never reuse: whatever is in flight on it is lost."""
        self.reusable = False
        if self.transport is not None:
            self.transport.abortConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.alive = False
        self.reusable = False
        request, self.request = self.request, None
        if request is not None:
            request.conn = None
            if self._state == _UNTIL_CLOSE and reason.check(ConnectionDone):
                body = b"".join(self._parts)
                self._parts = []
                self._state = _IDLE
                request.d.callback((self._code, body))
            else:
                self._state = _IDLE
                request.d.errback(
                    ResponseNotReceived(
                        "etcd closed the connection before answering: "
                        + reason.getErrorMessage()
                    )
                )
        self.attempt._gone()


class EtcdHTTPClient:
    """
    POSTs to etcd's JSON gateway over pooled keep-alive HTTP/1.1 connections.

    @param reactor: provides C{IReactorTCP} (and C{IReactorSSL} for
        C{https} URLs), and C{IReactorTime}.
    @param max_connections: connections open at once per endpoint; more
        requests queue for a free one.
    @param connect_timeout: seconds a connection may take to be made.
    @param check_idle_after: a connection idle this many seconds is checked
        for a close before it carries a request.
    """

    def __init__(
        self,
        reactor: Any,
        max_connections: int = 64,
        connect_timeout: float = 30.0,
        check_idle_after: float = 1.0,
    ) -> None:
        self._reactor = reactor
        self.max_connections = max_connections
        self.connect_timeout = connect_timeout
        self.check_idle_after = check_idle_after
        self._endpoints: Dict[str, _Endpoint] = {}
        self._heads: Dict[Tuple[str, bytes], Tuple[_Endpoint, bytes]] = {}
        self._attempts: Set[_Attempt] = set()

    def post(self, url: str, path: bytes, body: bytes) -> Deferred:
        """
        POST C{body} (JSON) to C{path} on the server at C{url}
        (C{http://host:port}); fire with C{(status, body bytes)}.
        """
        key = (url, path)
        try:
            endpoint, head = self._heads[key]
        except KeyError:
            endpoint = self._endpoints.get(url)
            if endpoint is None:
                try:
                    endpoint = self._endpoints[url] = _Endpoint(url)
                except ValueError:
                    return fail()
            endpoint, head = self._heads[key] = (endpoint, endpoint.head(path))
        request = _Request(endpoint, b"%s%d\r\n\r\n%s" % (head, len(body), body))
        idle = endpoint.idle
        if idle:
            stale = self._reactor.seconds() - self.check_idle_after
            while idle:
                conn = idle.pop()
                if conn.alive and (conn.idle_since > stale or conn.still_open()):
                    conn.send(request)
                    return request.d
                if conn.alive:
                    # Closed under us before anything was sent: drop it and
                    # try another.
                    conn.alive = False
                    conn.drop()
        if endpoint.open < self.max_connections:
            self._connect(endpoint, request)
        else:
            endpoint.waiting.append(request)
        return request.d

    def _connect(self, endpoint: _Endpoint, request: _Request) -> None:
        endpoint.open += 1
        attempt = _Attempt(self, endpoint, request)
        request.attempt = attempt
        self._attempts.add(attempt)
        if endpoint.tls:
            from twisted.internet.ssl import optionsForClientTLS

            attempt.connector = self._reactor.connectSSL(
                endpoint.host, endpoint.port, attempt,
                optionsForClientTLS(endpoint.host), timeout=self.connect_timeout,
            )
        else:
            attempt.connector = connect_eager(
                self._reactor, endpoint.host, endpoint.port, attempt, timeout=self.connect_timeout
            )

    def _release(self, conn: _Connection) -> None:
        """A connection finished its request: hand it on, keep it, or close it."""
        attempt = conn.attempt
        if not conn.reusable or not conn.alive or attempt.close_when_done:
            conn.alive = False
            if conn.transport is not None:
                conn.transport.loseConnection()
            return
        endpoint = conn.endpoint
        if endpoint.waiting:
            conn.send(endpoint.waiting.popleft())
        else:
            conn.idle_since = self._reactor.seconds()
            endpoint.idle.append(conn)

    def _attempt_gone(self, attempt: _Attempt) -> None:
        self._attempts.discard(attempt)
        endpoint = attempt.endpoint
        endpoint.open -= 1
        conn = attempt.protocol_instance
        if conn is not None:
            try:
                endpoint.idle.remove(conn)
            except ValueError:
                pass
        if endpoint.waiting and endpoint.open < self.max_connections:
            self._connect(endpoint, endpoint.waiting.popleft())

    def idle_connections(self, url: str) -> int:
        """How many connections to C{url} wait in the pool (for tests and metrics)."""
        endpoint = self._endpoints.get(url)
        return len(endpoint.idle) if endpoint is not None else 0

    def close(self) -> Deferred:
        """
        Close every connection: idle ones now, busy ones once their request
        is answered. Fires when all of them are closed. The client stays
        usable; later requests open new connections.
        """
        attempts = list(self._attempts)
        for attempt in attempts:
            attempt.close_when_done = True
        for endpoint in self._endpoints.values():
            idle, endpoint.idle = endpoint.idle, []
            for conn in idle:
                conn.alive = False
                if conn.transport is not None:
                    conn.transport.loseConnection()
        return gatherResults([a.when_gone() for a in attempts]).addCallback(lambda _: None)
