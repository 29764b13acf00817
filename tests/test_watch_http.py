"""
Watch streams over a real HTTP/1.1 connection: chunked, one compact JSON
event per line, each flushed as it happens; clean ends on timeout, client
disconnect and shutdown.
"""

from __future__ import annotations

import json

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.trial.unittest import TestCase
from twisted.web.server import Site

from kapi_twisted.server.longrunning import LongRunningRequests
from tests.test_endpoints import CM, build


class RawClient(Protocol):
    """Collects raw response bytes; L{wait_for} fires once a predicate holds."""

    def __init__(self) -> None:
        self.data = b""
        self.waiting = []
        self.closed: Deferred = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.data += data
        for pred, d in list(self.waiting):
            if pred(self.data):
                self.waiting.remove((pred, d))
                d.callback(self.data)

    def connectionLost(self, reason) -> None:
        self.closed.callback(None)

    def wait_for(self, needle: bytes) -> Deferred:
        pred = lambda data: needle in data  # noqa: E731
        if pred(self.data):
            return _fired(self.data)
        d: Deferred = Deferred()
        d.addTimeout(10, reactor)
        self.waiting.append((pred, d))
        return d


def _fired(value):
    d: Deferred = Deferred()
    d.callback(value)
    return d


class WatchHTTPTests(TestCase):
    def setUp(self) -> None:
        self.server, self.stores, self.clock = build()
        self.long_running = LongRunningRequests()
        for resource in self._handlers():
            resource.long_running = self.long_running
        self.port = reactor.listenTCP(0, Site(self.server.root), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.cm = self.stores[("", "configmaps")]

    def _handlers(self):
        from kapi_twisted.endpoints.handlers import GroupVersionResource

        api = self.server.root.children[b"api"]
        yield api.children[b"v1"]
        assert isinstance(api.children[b"v1"], GroupVersionResource)

    @inlineCallbacks
    def connect(self, path: str, headers: str = ""):
        client = RawClient()
        factory = ClientFactory.forProtocol(lambda: client)
        from twisted.internet.endpoints import TCP4ClientEndpoint

        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port.getHost().port)
        yield endpoint.connect(factory)
        client.transport.write(
            f"GET {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
        self.addCleanup(lambda: client.transport.loseConnection())
        return client

    def create(self, name: str) -> None:
        from kapi_twisted.registry.interface import RequestContext, WriteOptions

        obj = json.loads(json.dumps(CM))
        obj["metadata"] = {"name": name, "namespace": "default"}
        self.cm.create(RequestContext(), "default", obj, WriteOptions())

    @staticmethod
    def events(raw: bytes):
        body = raw.split(b"\r\n\r\n", 1)[1]
        payload = b""
        while body:
            size, _, rest = body.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            payload += rest[:n]
            body = rest[n + 2:]
        return payload

    @inlineCallbacks
    def test_events_are_chunked_lines_flushed_as_they_happen(self) -> None:
        """Headers arrive at once; each event is its own chunk, one JSON line ending in newline."""
        self.create("a")
        client = yield self.connect("/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=30")
        raw = yield client.wait_for(b'"name":"a"')
        head = raw.split(b"\r\n\r\n")[0].lower()
        self.assertIn(b"200 ok", head)
        self.assertIn(b"content-type: application/json", head)
        self.assertIn(b"transfer-encoding: chunked", head)
        self.create("b")
        raw = yield client.wait_for(b'"name":"b"')
        lines = self.events(raw).split(b"\n")
        self.assertEqual(lines[-1], b"")
        events = [json.loads(line) for line in lines[:-1]]
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in events],
                         [("ADDED", "a"), ("ADDED", "b")])
        self.assertNotIn(b"\n", lines[0])
        self.assertNotIn(b": ", lines[0])

    @inlineCallbacks
    def test_timeout_ends_stream_cleanly(self) -> None:
        """At timeoutSeconds the stream ends with the terminating chunk and the store watch stops."""
        client = yield self.connect("/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=5")
        yield client.wait_for(b"\r\n\r\n")
        self.assertEqual(len(self.cm.watchers), 1)
        self.clock.advance(5)
        raw = yield client.wait_for(b"0\r\n\r\n")
        self.assertTrue(raw.endswith(b"0\r\n\r\n"))
        self.assertEqual(self.cm.watchers, [])

    @inlineCallbacks
    def test_client_disconnect_stops_store_watch(self) -> None:
        """A client that goes away stops the store's watch."""
        client = yield self.connect("/api/v1/namespaces/default/configmaps?watch=true")
        yield client.wait_for(b"\r\n\r\n")
        self.assertEqual(len(self.cm.watchers), 1)
        client.transport.loseConnection()
        yield client.closed
        for _ in range(20):
            if not self.cm.watchers:
                break
            d = Deferred()
            reactor.callLater(0.01, d.callback, None)
            yield d
        self.assertEqual(self.cm.watchers, [])

    @inlineCallbacks
    def test_shutdown_ends_watch(self) -> None:
        """Shutdown (LongRunningRequests.end_all) ends the stream cleanly."""
        client = yield self.connect("/api/v1/namespaces/default/configmaps?watch=true")
        yield client.wait_for(b"\r\n\r\n")
        self.assertEqual(len(self.long_running), 1)
        self.long_running.end_all()
        yield client.wait_for(b"0\r\n\r\n")
        self.assertEqual(self.cm.watchers, [])

    @inlineCallbacks
    def test_too_old_resource_version_is_an_error_event(self) -> None:
        """A too-old resourceVersion: 200, one ERROR event with a 410 Status, then the end."""
        client = yield self.connect("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1")
        raw = yield client.wait_for(b"0\r\n\r\n")
        event = json.loads(self.events(raw))
        self.assertEqual(event["type"], "ERROR")
        self.assertEqual(event["object"]["code"], 410)

    @inlineCallbacks
    def test_legacy_watch_path(self) -> None:
        """/api/v1/watch/namespaces/default/configmaps/a watches one object."""
        self.create("a")
        self.create("b")
        client = yield self.connect("/api/v1/watch/namespaces/default/configmaps/a?timeoutSeconds=1")
        yield client.wait_for(b'"name":"a"')
        self.clock.advance(1)
        raw = yield client.wait_for(b"0\r\n\r\n")
        self.assertNotIn(b'"name":"b"', raw)

    @inlineCallbacks
    def test_table_watch(self) -> None:
        """A Table watch: each event's object is a one-row Table, columns only in the first."""
        self.create("a")
        self.create("b")
        accept = "Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json\r\n"
        client = yield self.connect("/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1", accept)
        yield client.wait_for(b'"b"')
        self.clock.advance(1)
        raw = yield client.wait_for(b"0\r\n\r\n")
        events = [json.loads(line) for line in self.events(raw).splitlines()]
        self.assertEqual([e["object"]["kind"] for e in events], ["Table", "Table"])
        self.assertTrue(events[0]["object"]["columnDefinitions"])
        self.assertFalse(events[1]["object"]["columnDefinitions"])
        self.assertEqual(len(events[1]["object"]["rows"]), 1)

    @inlineCallbacks
    def test_yaml_watch_is_406(self) -> None:
        """Watch with Accept: application/yaml is 406."""
        client = yield self.connect("/api/v1/namespaces/default/configmaps?watch=true",
                                    "Accept: application/yaml\r\n")
        raw = yield client.wait_for(b"}")
        self.assertIn(b" 406 ", raw.split(b"\r\n")[0])


class WatchTimeoutTests(TestCase):
    def test_timeout_seconds_or_random_between_min_and_twice(self) -> None:
        """timeoutSeconds wins; without it a watch lasts between the minimum request timeout and twice it."""
        from kapi_twisted.endpoints.watch import watch_timeout

        self.assertEqual(watch_timeout(30, 1800), 30.0)
        self.assertEqual(watch_timeout(None, 1800, rand=lambda: 0.0), 1800.0)
        self.assertEqual(watch_timeout(0, 1800, rand=lambda: 0.5), 2700.0)
