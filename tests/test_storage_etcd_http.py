"""
The etcd backend's HTTP: its own HTTP/1.1 client for unary calls
(kapi_twisted.storage._etcd_http) with its parser and pool driven byte by
byte in memory, its edge cases against a tiny scripted TCP server on
loopback, and its calls against a real etcd; what Etcd3Storage resends and
reports through it; and the watch stream over treq.
"""

from __future__ import annotations

import base64
import json
import re
import socket

from twisted.internet import reactor
from twisted.internet.defer import CancelledError, TimeoutError, inlineCallbacks
from twisted.internet.error import ConnectionDone, ConnectionRefusedError
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial import unittest

from kapi_twisted._eager_tcp import EagerClient
from kapi_twisted.storage._etcd_http import (
    BadResponse,
    EtcdHTTPClient,
    ResponseNotReceived,
)
from kapi_twisted.storage.testing import wait_for

URL = "http://127.0.0.1:2379"


def _results(d):
    """Collect a Deferred's outcome into a list (value, or Failure)."""
    out: list = []
    d.addBoth(out.append)
    return out


class _Memory:
    """A client on a memory reactor, with helpers to play the server's part."""

    def __init__(self, **kwargs) -> None:
        self.reactor = MemoryReactorClock()
        self.client = EtcdHTTPClient(self.reactor, check_idle_after=1000, **kwargs)

    def accept(self, index: int = -1):
        """Complete the connection the client asked for; return (protocol, transport)."""
        factory = self.reactor.tcpClients[index][2]
        protocol = factory.buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        return protocol, transport


class ParserTests(unittest.SynchronousTestCase):
    """Responses arriving in any shape are read whole."""

    def call(self, body: bytes = b"{}"):
        """A call in flight on a fresh client: (the client, its outcome list, protocol, transport)."""
        m = _Memory()
        got = _results(m.client.post(URL, b"/v3/kv/range", body))
        protocol, transport = m.accept()
        return m, got, protocol, transport

    def feed_bytewise(self, protocol, data: bytes) -> None:
        for i in range(len(data)):
            protocol.dataReceived(data[i : i + 1])

    def test_request_bytes(self):
        """The request is a plain HTTP/1.1 POST with Host, JSON type and length."""
        _, _, protocol, transport = self.call(b'{"key":"AA=="}')
        self.assertEqual(
            transport.value(),
            b"POST /v3/kv/range HTTP/1.1\r\nHost: 127.0.0.1:2379\r\n"
            b"Content-Type: application/json\r\nContent-Length: 14\r\n\r\n"
            b'{"key":"AA=="}',
        )

    def test_content_length_byte_by_byte(self):
        """A Content-Length response delivered one byte at a time is read whole."""
        m, got, protocol, _ = self.call()
        self.feed_bytewise(
            protocol, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: 11\r\n\r\n{\"a\": \"bc\"}")
        self.assertEqual(got, [(200, b'{"a": "bc"}')])
        self.assertEqual(m.client.idle_connections(URL), 1)

    def test_chunked_byte_by_byte(self):
        """A chunked response (extensions, trailer) delivered byte by byte is read whole."""
        m, got, protocol, _ = self.call()
        self.feed_bytewise(
            protocol, b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            b"5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Trailer: y\r\n\r\n")
        self.assertEqual(got, [(200, b"hello, world!!!")])
        self.assertEqual(m.client.idle_connections(URL), 1)

    def test_chunked_in_one_piece(self):
        """A chunked response arriving in one read is read whole and the connection kept."""
        m, got, protocol, _ = self.call()
        protocol.dataReceived(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        self.assertEqual(got, [(200, b"abcde")])
        self.assertEqual(m.client.idle_connections(URL), 1)

    def test_interim_response_skipped(self):
        """A 100 Continue before the answer is skipped."""
        m, got, protocol, _ = self.call()
        protocol.dataReceived(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno")
        self.assertEqual(got, [(404, b"no")])

    def test_body_until_close(self):
        """A response without a length ends at the close, and its connection is not reused."""
        m, got, protocol, _ = self.call()
        protocol.dataReceived(b"HTTP/1.0 200 OK\r\n\r\npart one, ")
        protocol.dataReceived(b"part two")
        self.assertEqual(got, [])
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(got, [(200, b"part one, part two")])
        self.assertEqual(m.client.idle_connections(URL), 0)

    def test_connection_close_not_reused(self):
        """A response saying Connection: close closes its connection after it is read."""
        m, got, protocol, transport = self.call()
        protocol.dataReceived(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")
        self.assertEqual(got, [(200, b"{}")])
        self.assertTrue(transport.disconnecting)
        self.assertEqual(m.client.idle_connections(URL), 0)

    def test_not_http(self):
        """Something that is not HTTP fails the call as BadResponse and drops the connection."""
        m, got, protocol, transport = self.call()
        protocol.dataReceived(b"SSH-2.0-OpenSSH\r\n\r\n")
        self.assertIsInstance(got[0], Failure)
        got[0].trap(BadResponse)
        self.assertTrue(transport.disconnecting)

    def test_bad_chunk_size(self):
        """A chunk size that is not hex fails the call as BadResponse."""
        m, got, protocol, transport = self.call()
        protocol.dataReceived(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        got[0].trap(BadResponse)
        self.assertTrue(transport.disconnecting)

    def test_closed_mid_response(self):
        """A connection lost halfway through the body fails the call as ResponseNotReceived."""
        m, got, protocol, _ = self.call()
        protocol.dataReceived(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345")
        protocol.connectionLost(Failure(ConnectionDone()))
        got[0].trap(ResponseNotReceived)

    def test_extra_bytes_not_reused(self):
        """Bytes after a whole response (etcd never pipelines) make the connection unusable."""
        m, got, protocol, transport = self.call()
        protocol.dataReceived(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}garbage")
        self.assertEqual(got, [(200, b"{}")])
        self.assertTrue(transport.disconnecting)
        self.assertEqual(m.client.idle_connections(URL), 0)


class PoolTests(unittest.SynchronousTestCase):
    """Connections are reused, bounded, and closed when a call is abandoned."""

    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"

    def test_reuse(self):
        """A second call goes over the connection the first one left idle."""
        m = _Memory()
        first = _results(m.client.post(URL, b"/v3/kv/range", b"{}"))
        protocol, transport = m.accept()
        protocol.dataReceived(self.answer)
        transport.clear()
        second = _results(m.client.post(URL, b"/v3/kv/txn", b"{}"))
        self.assertEqual(len(m.reactor.tcpClients), 1)
        self.assertTrue(transport.value().startswith(b"POST /v3/kv/txn "))
        protocol.dataReceived(self.answer)
        self.assertEqual((first, second), ([(200, b"{}")], [(200, b"{}")]))

    def test_bounded(self):
        """Past max_connections, calls wait for a connection to come free."""
        m = _Memory(max_connections=2)
        results = [_results(m.client.post(URL, b"/v3/kv/range", b"%d" % i)) for i in range(3)]
        self.assertEqual(len(m.reactor.tcpClients), 2)
        (p0, t0), (p1, _) = m.accept(0), m.accept(1)
        t0.clear()
        p0.dataReceived(self.answer)
        self.assertTrue(t0.value().endswith(b"\r\n\r\n2"))
        p0.dataReceived(self.answer)
        p1.dataReceived(self.answer)
        self.assertEqual(results, [[(200, b"{}")]] * 3)
        self.assertEqual(len(m.reactor.tcpClients), 2)

    def test_cancel_queued(self):
        """A waiting call that is cancelled never goes out."""
        m = _Memory(max_connections=1)
        first = _results(m.client.post(URL, b"/v3/kv/range", b"1"))
        d = m.client.post(URL, b"/v3/kv/range", b"2")
        second = _results(d)
        d.cancel()
        second[0].trap(CancelledError)
        protocol, transport = m.accept()
        protocol.dataReceived(self.answer)
        self.assertEqual(first, [(200, b"{}")])
        self.assertFalse(transport.value().endswith(b"2"))
        self.assertEqual(m.client.idle_connections(URL), 1)

    def test_cancel_in_flight_closes_connection(self):
        """A call cancelled (timed out) after it was sent closes its connection."""
        m = _Memory()
        d = m.client.post(URL, b"/v3/kv/txn", b"{}")
        got = _results(d)
        protocol, transport = m.accept()
        d.cancel()
        got[0].trap(CancelledError)
        self.assertTrue(transport.disconnected)
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(m.client.idle_connections(URL), 0)
        _results(m.client.post(URL, b"/v3/kv/txn", b"{}"))
        self.assertEqual(len(m.reactor.tcpClients), 2)

    def test_cancel_while_connecting(self):
        """A call cancelled while its connection is being made stops the connecting."""
        m = _Memory()
        d = m.client.post(URL, b"/v3/kv/range", b"{}")
        got = _results(d)
        d.cancel()
        got[0].trap(CancelledError)
        self.assertTrue(m.reactor.connectors[0].stoppedConnecting)

    def test_connect_failure(self):
        """A connection that cannot be made fails the call with the connect error."""
        m = _Memory()
        got = _results(m.client.post(URL, b"/v3/kv/range", b"{}"))
        factory = m.reactor.tcpClients[0][2]
        factory.clientConnectionFailed(m.reactor.connectors[0], Failure(ConnectionRefusedError()))
        got[0].trap(ConnectionRefusedError)
        _results(m.client.post(URL, b"/v3/kv/range", b"{}"))
        self.assertEqual(len(m.reactor.tcpClients), 2)

    def test_idle_close_leaves_pool(self):
        """An idle connection that the server closes is not used again."""
        m = _Memory()
        _results(m.client.post(URL, b"/v3/kv/range", b"{}"))
        protocol, _ = m.accept()
        protocol.dataReceived(self.answer)
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(m.client.idle_connections(URL), 0)
        _results(m.client.post(URL, b"/v3/kv/range", b"{}"))
        self.assertEqual(len(m.reactor.tcpClients), 2)

    def test_close(self):
        """close() closes idle connections and fires once they are gone."""
        m = _Memory()
        _results(m.client.post(URL, b"/v3/kv/range", b"{}"))
        protocol, transport = m.accept()
        protocol.dataReceived(self.answer)
        closed = _results(m.client.close())
        self.assertTrue(transport.disconnecting)
        self.assertEqual(closed, [])
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(closed, [None])

    def test_close_waits_for_busy(self):
        """close() lets a call in flight finish, then closes its connection."""
        m = _Memory()
        got = _results(m.client.post(URL, b"/v3/kv/range", b"{}"))
        protocol, transport = m.accept()
        closed = _results(m.client.close())
        self.assertFalse(transport.disconnecting)
        protocol.dataReceived(self.answer)
        self.assertEqual(got, [(200, b"{}")])
        self.assertTrue(transport.disconnecting)
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(closed, [None])

    def test_bad_url(self):
        """A URL that is not http(s) fails the call with ValueError, and the store refuses it."""
        from kapi_twisted.storage.etcd3 import Etcd3Storage

        m = _Memory()
        got = _results(m.client.post("unix:///etcd.sock", b"/v3/kv/range", b"{}"))
        got[0].trap(ValueError)
        self.assertRaises(ValueError, Etcd3Storage, ["127.0.0.1:2379"], m.reactor)
        self.assertRaises(ValueError, Etcd3Storage, ["http://127.0.0.1:port"], m.reactor)


class _Scripted(Protocol):
    """A loopback HTTP server that answers each request as its factory says."""

    def connectionMade(self) -> None:
        self.buffer = b""
        self.factory.connections.append(self)

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self.factory.requests.append(body)
            self.factory.answer(self, body)

    def connectionLost(self, reason) -> None:
        self.factory.closed.append(self)


class _ScriptedFactory(Factory):
    protocol = _Scripted
    noisy = False

    def __init__(self, answer) -> None:
        self.answer = answer
        self.connections: list = []
        self.closed: list = []
        self.requests: list = []


def _ok(protocol, body) -> None:
    protocol.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


class LoopbackTests(unittest.TestCase):
    """The client against a scripted server over real loopback sockets."""

    timeout = 30

    def serve(self, answer, **kwargs):
        self.server = _ScriptedFactory(answer)
        port = reactor.listenTCP(0, self.server, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.url = f"http://127.0.0.1:{port.getHost().port}"
        self.client = EtcdHTTPClient(reactor, **kwargs)
        self.addCleanup(self.client.close)
        self.addCleanup(self.close_server_side)
        return self.client

    def close_server_side(self):
        for p in self.server.connections:
            if p not in self.server.closed:
                p.transport.abortConnection()
        return wait_for(lambda: len(self.server.closed) == len(self.server.connections))

    @inlineCallbacks
    def test_chunked_reused(self):
        """A chunked answer written in pieces is read whole, and the connection reused."""

        def chunked(protocol, body):
            t = protocol.transport
            t.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for piece in (body[:3], body[3:]):
                t.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            t.write(b"0\r\n\r\n")

        client = self.serve(chunked)
        for body in (b'{"first": 1}', b'{"second": 2}'):
            got = yield client.post(self.url, b"/v3/kv/range", body)
            self.assertEqual(got, (200, body))
        self.assertEqual(len(self.server.connections), 1)

    @inlineCallbacks
    def test_request_sent_at_once(self):
        """A request on a pooled connection reaches the socket from the call itself, without waiting a reactor turn."""
        client = self.serve(_ok)
        yield client.post(self.url, b"/v3/kv/range", b"1")
        [conn] = client._endpoints[self.url].idle
        transport = conn.transport
        d = client.post(self.url, b"/v3/kv/range", b"2")
        self.assertIsInstance(transport, EagerClient)
        self.assertEqual((transport.dataBuffer, transport._tempDataLen), (b"", 0))
        self.assertNotIn(transport, reactor.getWriters())
        got = yield d
        self.assertEqual(got, (200, b"2"))

    @inlineCallbacks
    def test_connection_close(self):
        """An answer with Connection: close is read, and the next call opens a new connection."""

        def close(protocol, body):
            protocol.transport.write(
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
                % (len(body), body))

        client = self.serve(close)
        first = yield client.post(self.url, b"/v3/kv/range", b"1")
        second = yield client.post(self.url, b"/v3/kv/range", b"2")
        self.assertEqual((first, second), ((200, b"1"), (200, b"2")))
        self.assertEqual(len(self.server.connections), 2)

    @inlineCallbacks
    def test_server_closes_idle_connection(self):
        """A pooled connection the server closed is dropped; the next call still works."""
        client = self.serve(_ok)
        yield client.post(self.url, b"/v3/kv/range", b"1")
        self.server.connections[0].transport.loseConnection()
        yield wait_for(lambda: client.idle_connections(self.url) == 0)
        got = yield client.post(self.url, b"/v3/kv/range", b"2")
        self.assertEqual(got, (200, b"2"))
        self.assertEqual(len(self.server.connections), 2)

    @inlineCallbacks
    def test_close_crossing_the_request(self):
        """A close that reached the socket but not yet the reactor does not cost the call."""
        client = self.serve(_ok, check_idle_after=0)
        yield client.post(self.url, b"/v3/kv/txn", b"1")
        # The server's FIN is in the client's socket before the reactor has
        # seen it: the next call must not be written into that connection.
        self.server.connections[0].transport.getHandle().shutdown(socket.SHUT_WR)
        got = yield client.post(self.url, b"/v3/kv/txn", b"2")
        self.assertEqual(got, (200, b"2"))
        self.assertEqual(len(self.server.connections), 2)
        self.assertEqual(self.server.requests, [b"1", b"2"])

    @inlineCallbacks
    def test_no_answer_times_out_and_closes(self):
        """A server that never answers: the call times out and its connection is closed."""
        client = self.serve(lambda protocol, body: None)
        d = client.post(self.url, b"/v3/kv/range", b"{}")
        d.addTimeout(0.2, reactor)
        yield self.assertFailure(d, TimeoutError)
        yield wait_for(lambda: len(self.server.closed) == 1)
        self.assertEqual(client.idle_connections(self.url), 0)

    @inlineCallbacks
    def test_refused(self):
        """Nothing listening: the call fails with ConnectionRefusedError."""
        probe = reactor.listenTCP(0, Factory(), interface="127.0.0.1")
        port = probe.getHost().port
        yield probe.stopListening()
        client = EtcdHTTPClient(reactor)
        d = client.post(f"http://127.0.0.1:{port}", b"/v3/kv/range", b"{}")
        yield self.assertFailure(d, ConnectionRefusedError)

    @inlineCallbacks
    def test_server_drops_request(self):
        """The server closes without answering: ResponseNotReceived (outcome unknown)."""
        client = self.serve(lambda protocol, body: protocol.transport.loseConnection())
        d = client.post(self.url, b"/v3/kv/txn", b"{}")
        yield self.assertFailure(d, ResponseNotReceived)


def _etcd():
    from tests.test_storage_etcd3 import _SKIP, shared_etcd

    if _SKIP:
        raise unittest.SkipTest(_SKIP)
    return shared_etcd()


def _b64(s: bytes) -> str:
    return base64.b64encode(s).decode()


class RealEtcdTests(unittest.TestCase):
    """The client against a real etcd."""

    timeout = 60

    def setUp(self):
        self.url = _etcd().url
        self.client = EtcdHTTPClient(reactor, max_connections=4)
        self.addCleanup(self.client.close)

    @inlineCallbacks
    def test_range(self):
        """A range call answers 200 with etcd's JSON header."""
        code, body = yield self.client.post(self.url, b"/v3/kv/range", b'{"key":"AA=="}')
        self.assertEqual(code, 200)
        self.assertIn("revision", json.loads(body)["header"])

    @inlineCallbacks
    def test_large_value(self):
        """A value large enough that etcd answers chunked comes back intact."""
        value = bytes(range(256)) * 800
        key = _b64(b"/kapi-test/etcd-http/large")
        put = json.dumps({"key": key, "value": _b64(value)}).encode()
        code, _ = yield self.client.post(self.url, b"/v3/kv/put", put)
        self.assertEqual(code, 200)
        code, body = yield self.client.post(
            self.url, b"/v3/kv/range", json.dumps({"key": key}).encode())
        self.assertEqual(base64.b64decode(json.loads(body)["kvs"][0]["value"]), value)

    @inlineCallbacks
    def test_error_status(self):
        """etcd's error answers come back as their status and body."""
        code, body = yield self.client.post(self.url, b"/v3/kv/range", b"not json")
        self.assertEqual(code, 400)
        self.assertIn("message", json.loads(body))

    @inlineCallbacks
    def test_many_at_once(self):
        """Many concurrent calls over a pool of four connections all succeed."""
        from twisted.internet.defer import gatherResults

        ds = [
            self.client.post(self.url, b"/v3/kv/range", b'{"key":"AA==","count_only":true}')
            for _ in range(100)
        ]
        results = yield gatherResults(ds)
        self.assertEqual({code for code, _ in results}, {200})
        self.assertLessEqual(self.client.idle_connections(self.url), 4)


class StorageRetryTests(unittest.TestCase):
    """Etcd3Storage's use of the client: what it sends again and what it reports."""

    timeout = 30

    def storage(self, endpoints, **kwargs):
        from kapi_twisted.storage.etcd3 import Etcd3Storage

        store = Etcd3Storage(endpoints, compaction_interval=0, **kwargs)
        self.addCleanup(store.stop)
        return store

    def scripted(self, answer):
        server = _ScriptedFactory(answer)
        port = reactor.listenTCP(0, server, interface="127.0.0.1")
        self.addCleanup(port.stopListening)

        def close():
            for p in server.connections:
                if p not in server.closed:
                    p.transport.abortConnection()
            return wait_for(lambda: len(server.closed) == len(server.connections))

        self.addCleanup(close)
        return server, f"http://127.0.0.1:{port.getHost().port}"

    def drop_first(self, protocol, body):
        """Close the connection on the first request; answer later ones."""
        if len(protocol.factory.requests) == 1:
            protocol.transport.loseConnection()
        else:
            _ok(protocol, b'{"header":{"revision":"7"},"count":"3"}')

    @inlineCallbacks
    def test_next_server_after_refusal(self):
        """With the first etcd refusing connections, calls go to the next one."""
        probe = reactor.listenTCP(0, Factory(), interface="127.0.0.1")
        dead = f"http://127.0.0.1:{probe.getHost().port}"
        yield probe.stopListening()
        store = self.storage([dead, _etcd().url])
        kv = yield store.create("/kapi-test/etcd-http/next-server", b"{}")
        got = yield store.get(kv.key)
        self.assertEqual(got.mod_revision, kv.mod_revision)

    @inlineCallbacks
    def test_read_sent_again(self):
        """A read whose connection broke before the answer is sent again and answers."""
        server, url = self.scripted(self.drop_first)
        store = self.storage([url])
        count = yield store.count("/registry/pods/")
        self.assertEqual(count, 3)
        self.assertEqual(len(server.requests), 2)

    @inlineCallbacks
    def test_write_not_sent_again(self):
        """A write whose connection broke before the answer is reported unavailable, not resent."""
        from kapi_twisted.storage import UnavailableError

        server, url = self.scripted(self.drop_first)
        store = self.storage([url])
        yield self.assertFailure(store.create("/registry/pods/ns/a", b"{}"), UnavailableError)
        self.assertEqual(len(server.requests), 1)

    @inlineCallbacks
    def test_timeout_reported(self):
        """An etcd that never answers: the call fails as unavailable after its timeout."""
        from kapi_twisted.storage import UnavailableError

        server, url = self.scripted(lambda protocol, body: None)
        store = self.storage([url], request_timeout=0.3)
        yield self.assertFailure(store.get("/registry/pods/ns/a"), UnavailableError)
        yield wait_for(lambda: len(server.closed) == 1)


class WatchStreamTests(unittest.TestCase):
    """The watch stream (over treq) against a real etcd."""

    timeout = 30

    @inlineCallbacks
    def started(self):
        from kapi_twisted.storage.etcd3 import Etcd3Storage

        store = Etcd3Storage([_etcd().url], compaction_interval=0)
        yield store.start()
        self.addCleanup(store.stop)
        return store

    @inlineCallbacks
    def test_broken_stream_resumes(self):
        """A watch whose connection breaks picks up after the last event, without repeats."""
        from kapi_twisted.storage.testing import EventCollector

        store = yield self.started()
        prefix = "/kapi-test/etcd-http/resume/"
        start = yield store.current_revision()
        events = EventCollector()
        w = store.watch(prefix, start, events)
        self.addCleanup(w.stop)
        first = yield store.create(prefix + "a", b"{}")
        yield events.wait(1)
        broken = w._protocol
        broken.transport.abortConnection()
        second = yield store.create(prefix + "b", b"{}")
        got = yield events.wait(2)
        self.assertEqual([e.kv.mod_revision for e in got], [first.mod_revision, second.mod_revision])
        self.assertIsNot(w._protocol, broken)

    @inlineCallbacks
    def test_stop_closes_quiet_stream(self):
        """Stopping a watch that has nothing to deliver closes its connection."""
        store = yield self.started()
        start = yield store.current_revision()
        w = store.watch("/kapi-test/etcd-http/quiet/", start, lambda event: None)
        yield wait_for(lambda: w._stream is not None)
        protocol = w._protocol
        w.stop()
        yield w.done
        yield wait_for(lambda: protocol.transport is None or not protocol.transport.connected)
