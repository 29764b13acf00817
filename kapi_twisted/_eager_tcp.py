"""
TCP connections that send at once when they can: the API server's
accepted connections, and the etcd client's.

Twisted's TCP transport never sends from C{write}: it buffers the bytes,
asks the reactor to watch the socket for writability (an C{epoll_ctl}),
sends on the next reactor turn and stops watching (another C{epoll_ctl}).
Under TLS every response already reaches the socket as one write per
reactor turn (C{TLSMemoryBIOProtocol} gathers a turn's small writes), and
the socket is nearly always writable then, so the two system calls and the
extra turn are pure cost per response.

L{EagerWrites} sends from C{write} when nothing is buffered before it, and
hands Twisted's own buffered path whatever did not go out: the rest of a
partial send (the reactor then waits for writability as usual and pauses a
streaming producer when the buffer grows), and all of a send that failed,
so that the error (C{EPIPE}, C{ECONNRESET}...) is met again by the
transport's C{doWrite} and ends the connection through C{connectionLost}
as it always did. The etcd client's plain-TCP requests gain the same
(one send per request instead of two C{epoll_ctl} calls and a turn).
A connection that is closing, that has a pull
(non-streaming) producer (which Twisted resumes from C{doWrite}), or that
runs C{startTLS}, keeps Twisted's path unchanged.

The buffered path is twisted.internet.abstract.FileDescriptor's; this
module reads its C{dataBuffer}, C{offset}, C{_tempDataLen},
C{_writeDisconnected}, C{producer} and C{streamingProducer} attributes,
present with this meaning from Twisted 23.10 to 26.10.
"""

from __future__ import annotations

from typing import Any, Iterable

from twisted.internet import tcp
from twisted.internet.defer import Deferred, execute
from twisted.internet.posixbase import PosixReactorBase


class EagerWrites:
    """Mixed into a TCP transport: C{write} sends at once when it can."""

    def write(self, data: bytes) -> None:
        if (data.__class__ is not bytes or not data
                or self.offset != len(self.dataBuffer) or self._tempDataLen
                or not self.connected or self.disconnecting or self._writeDisconnected
                or self.TLS or (self.producer is not None and not self.streamingProducer)):
            # Something is queued already, or this connection is in a state
            # Twisted's path handles (non-bytes data get its TypeError).
            super().write(data)
            return
        try:
            sent = self.socket.send(data)
        except OSError:
            # Would block: buffer it all. Any other error: buffer it too, so
            # that doWrite meets the error and the connection ends as usual.
            sent = 0
        if sent < len(data):
            super().write(data[sent:])

    def writeSequence(self, iovec: Iterable[bytes]) -> None:
        chunks = list(iovec)
        if all(isinstance(c, bytes) for c in chunks):
            self.write(b"".join(chunks))
        else:
            super().writeSequence(chunks)


class EagerServer(EagerWrites, tcp.Server):
    """A server-side TCP connection whose C{write} sends at once when it can."""


class EagerClient(EagerWrites, tcp.Client):
    """A client-side TCP connection whose C{write} sends at once when it can."""


class _EagerConnector(tcp.Connector):
    def _makeTransport(self) -> EagerClient:
        return EagerClient(self.host, self.port, self.bindAddress, self, self.reactor)


class EagerPort(tcp.Port):
    """A TCP listening port whose connections are L{EagerServer}s."""

    transport = EagerServer


def listen_eager(reactor: Any, port: int, factory: Any, backlog: int = 50,
                 interface: str = "") -> Deferred:
    """
    Listen on C{interface:port} with an L{EagerPort} (IPv6 when C{interface}
    is an IPv6 address), as C{TCP4ServerEndpoint}/C{TCP6ServerEndpoint}
    would: the Deferred fires with the port or fails with
    C{CannotListenError}.
    """

    def start() -> EagerPort:
        p = EagerPort(port, factory, backlog, interface, reactor)
        p.startListening()
        return p

    return execute(start)


def connect_eager(reactor: Any, host: str, port: int, factory: Any,
                  timeout: float = 30) -> Any:
    """
    C{reactor.connectTCP} with an L{EagerClient} transport. Reactors that
    are not Twisted's own socket reactors (a test's memory reactor) connect
    their usual way.
    """
    if not isinstance(reactor, PosixReactorBase):
        return reactor.connectTCP(host, port, factory, timeout=timeout)
    connector = _EagerConnector(host, port, factory, timeout, None, reactor)
    connector.connect()
    return connector
