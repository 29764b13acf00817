"""
Secure serving end to end: real loopback sockets, real TLS, real clients
(the ssl module, the h2 library, kubectl) against L{SecureServing}.
"""

from __future__ import annotations

import os
import socket
import ssl
from typing import Any, List

import h2.events
import hpack
from h2.settings import SettingCodes
from hyperframe.frame import DataFrame, Frame, GoAwayFrame, HeadersFrame, SettingsFrame
from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.threads import deferToThread
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import TestCase

from kapi_twisted.config import SNICertKey
from kapi_twisted.server import certs
from kapi_twisted.server.lifecycle import LifecycleSignals
from kapi_twisted.server.longrunning import LongRunningRequests
from kapi_twisted.server.serving import SecureServing, ServingError
from kapi_twisted.server.termination import graceful_shutdown
from kapi_twisted.server.waitgroup import WaitGroup

from tests._e2e import KUBECTL, kubectl_env, run_kubectl
from tests._serving_helpers import (
    EchoResource,
    H2Client,
    client_context,
    http11_get,
    make_config,
    peer_common_name,
    port_of,
    read_http11,
    start_serving,
    tls_connect,
    write_self_signed,
)


def _log_events_matching(text: str) -> tuple:
    """Collect log events whose format contains C{text}; the Deferred fires on the first."""
    seen: List[dict] = []
    first: Deferred = Deferred()

    def observer(event: dict) -> None:
        if text in (event.get("log_format") or ""):
            seen.append(event)
            if not first.called:
                first.callback(event)

    globalLogPublisher.addObserver(observer)
    return seen, first, lambda: globalLogPublisher.removeObserver(observer)


class HTTP2Tests(TestCase):
    @inlineCallbacks
    def test_h2_settings(self):
        """A client negotiating h2 reads the seed's SETTINGS and a 64 MiB connection window."""
        serving = yield start_serving(self)
        port = port_of(serving)

        def client():
            sock = tls_connect(port, client_context(alpn=["h2", "http/1.1"]))
            with sock:
                protocol = sock.selected_alpn_protocol()
                h2c = H2Client(sock)
                settings = h2c.wait_for(lambda e: isinstance(e, h2.events.RemoteSettingsChanged))
                window = h2c.wait_for(
                    lambda e: isinstance(e, h2.events.WindowUpdated) and e.stream_id == 0)
                stream = h2c.request("/healthz")
                headers, body = h2c.response(stream)
                return protocol, settings, window, headers, body

        protocol, settings, window, headers, body = yield deferToThread(client)
        self.assertEqual(protocol, "h2")
        values = {code: change.new_value for code, change in settings.changed_settings.items()}
        self.assertEqual(values[SettingCodes.MAX_CONCURRENT_STREAMS], 250)
        self.assertEqual(values[SettingCodes.MAX_FRAME_SIZE], 262144)
        self.assertEqual(values[SettingCodes.INITIAL_WINDOW_SIZE], 262144)
        self.assertEqual(window.delta, 250 * 262144 - 65535)
        self.assertEqual(headers[b":status"], b"200")
        self.assertEqual(body, b"ok")

    @inlineCallbacks
    def test_max_streams_flag(self):
        """--http2-max-streams-per-connection is what the client is told, and sizes the window."""
        serving = yield start_serving(self, make_config(http2_max_streams_per_connection=100))

        def client():
            with tls_connect(port_of(serving), client_context(alpn=["h2"])) as sock:
                h2c = H2Client(sock)
                settings = h2c.wait_for(lambda e: isinstance(e, h2.events.RemoteSettingsChanged))
                window = h2c.wait_for(
                    lambda e: isinstance(e, h2.events.WindowUpdated) and e.stream_id == 0)
                return settings, window

        settings, window = yield deferToThread(client)
        self.assertEqual(
            settings.changed_settings[SettingCodes.MAX_CONCURRENT_STREAMS].new_value, 100)
        self.assertEqual(window.delta, 100 * 262144 - 65535)

    @inlineCallbacks
    def test_disable_http2(self):
        """With --disable-http2 a client offering h2 and http/1.1 gets http/1.1."""
        serving = yield start_serving(self, make_config(disable_http2=True))

        def client():
            with tls_connect(port_of(serving), client_context(alpn=["h2", "http/1.1"])) as sock:
                protocol = sock.selected_alpn_protocol()
                status, _, body = http11_get(sock, "/healthz")
                return protocol, status, body

        protocol, status, body = yield deferToThread(client)
        self.assertEqual(protocol, "http/1.1")
        self.assertEqual((status, body), (b"HTTP/1.1 200 OK", b"ok"))


class HTTP11Tests(TestCase):
    @inlineCallbacks
    def test_http11_over_tls(self):
        """An HTTP/1.1 client over TLS gets its answer and a keep-alive connection."""
        serving = yield start_serving(self)

        def client():
            with tls_connect(port_of(serving), client_context(alpn=["http/1.1"])) as sock:
                first = http11_get(sock, "/healthz")
                second = http11_get(sock, "/whoami")
                return first, second

        first, second = yield deferToThread(client)
        self.assertEqual(first[0], b"HTTP/1.1 200 OK")
        self.assertEqual(first[2], b"ok")
        self.assertEqual(second[2], b"anonymous HTTP/1.1")

    @inlineCallbacks
    def test_client_certificate_reaches_request(self):
        """A request made with the admin client certificate sees that certificate."""
        config = make_config()
        serving = yield start_serving(self, config)
        bundle = certs.ensure_certificates(config)

        def client():
            ctx = client_context(ca_file=bundle.ca_cert_file, alpn=["http/1.1"],
                                 cert=(bundle.admin_cert_file, bundle.admin_key_file))
            with tls_connect(port_of(serving), ctx, server_hostname="localhost") as sock:
                return http11_get(sock, "/whoami")

        status, _, body = yield deferToThread(client)
        self.assertEqual(body, b"kubernetes-admin HTTP/1.1")

    @inlineCallbacks
    def test_huge_headers_431(self):
        """Request headers over 1 MiB are answered 431 and the connection is closed."""
        serving = yield start_serving(self)

        def client():
            with tls_connect(port_of(serving), client_context(alpn=["http/1.1"])) as sock:
                line = b"X-Filler: " + b"a" * 8000 + b"\r\n"
                headers = line * ((1 << 20) // len(line) + 2)
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n" + headers + b"\r\n")
                return read_http11(sock)

        status, headers, body = yield deferToThread(client)
        self.assertEqual(status, b"HTTP/1.1 431 Request Header Fields Too Large")
        self.assertEqual(headers[b"connection"], b"close")

    @inlineCallbacks
    def test_headers_under_limit(self):
        """Headers just under 1 MiB are accepted."""
        serving = yield start_serving(self)

        def client():
            with tls_connect(port_of(serving), client_context(alpn=["http/1.1"])) as sock:
                line = b"X-Filler: " + b"a" * 8000 + b"\r\n"
                return http11_get(sock, "/healthz", line * 120)

        status, _, body = yield deferToThread(client)
        self.assertEqual((status, body), (b"HTTP/1.1 200 OK", b"ok"))


class TLSTests(TestCase):
    @inlineCallbacks
    def test_certificate_replaced_on_disk(self):
        """A serving certificate replaced on disk is served to the next connection, no restart."""
        directory = self.mktemp()
        os.makedirs(directory)
        cert, key = write_self_signed(directory, "serving", "first")
        serving = yield start_serving(
            self, make_config(tls_cert_file=cert, tls_private_key_file=key))
        port = port_of(serving)

        def name():
            with tls_connect(port, client_context()) as sock:
                return peer_common_name(sock)

        self.assertEqual((yield deferToThread(name)), "first")
        write_self_signed(directory, "serving", "second")
        self.assertEqual((yield deferToThread(name)), "second")

    @inlineCallbacks
    def test_broken_replacement_keeps_last_good(self):
        """A half-written certificate file does not break serving: the last good one is used."""
        directory = self.mktemp()
        os.makedirs(directory)
        cert, key = write_self_signed(directory, "serving", "good")
        serving = yield start_serving(
            self, make_config(tls_cert_file=cert, tls_private_key_file=key))
        with open(cert, "wb") as f:
            f.write(b"-----BEGIN CERTIFICATE-----\ngarbage")

        def name():
            with tls_connect(port_of(serving), client_context()) as sock:
                return peer_common_name(sock)

        self.assertEqual((yield deferToThread(name)), "good")
        self.flushLoggedErrors()

    @inlineCallbacks
    def test_sni(self):
        """SNI picks the certificate by name: explicit names, then exact, then wildcard, else default."""
        directory = self.mktemp()
        os.makedirs(directory)
        explicit = write_self_signed(directory, "explicit", "sni-explicit", ("ignored.example",))
        wild = write_self_signed(directory, "wild", "sni-wild", ("*.wild.example",))
        exact = write_self_signed(directory, "exact", "sni-exact", ("exact.wild.example",))
        config = make_config(tls_sni_cert_key=[
            SNICertKey(*explicit, names=("named.example",)),
            SNICertKey(*wild),
            SNICertKey(*exact),
        ])
        serving = yield start_serving(self, config)

        def names():
            out = {}
            for host in ("named.example", "a.wild.example", "exact.wild.example",
                         "ignored.example", "other.example"):
                with tls_connect(port_of(serving), client_context(), server_hostname=host) as sock:
                    out[host] = peer_common_name(sock)
            return out

        served = yield deferToThread(names)
        self.assertEqual(served["named.example"], "sni-explicit")
        self.assertEqual(served["a.wild.example"], "sni-wild")
        self.assertEqual(served["exact.wild.example"], "sni-exact")
        # Explicit names replace the certificate's own names.
        self.assertNotIn(served["ignored.example"], ("sni-explicit",))
        self.assertNotIn(served["other.example"], ("sni-explicit", "sni-wild", "sni-exact"))

    @inlineCallbacks
    def test_min_version(self):
        """A client below --tls-min-version fails the handshake; the server logs one line."""
        seen, first, stop = _log_events_matching("TLS handshake error")
        self.addCleanup(stop)
        serving = yield start_serving(self, make_config(tls_min_version="VersionTLS13"))

        def client():
            ctx = client_context(maximum_version=ssl.TLSVersion.TLSv1_2)
            try:
                tls_connect(port_of(serving), ctx).close()
            except (ssl.SSLError, ConnectionError) as e:
                return e
            return None

        error = yield deferToThread(client)
        self.assertIsNotNone(error)
        event = yield first
        self.assertEqual(len(seen), 1)
        self.assertNotIn("log_failure", event)
        self.assertEqual(serving.site.tls_handshake_errors, 1)

    @inlineCallbacks
    def test_tls12_accepted_by_default(self):
        """By default a TLS 1.2 client is served."""
        serving = yield start_serving(self)

        def client():
            ctx = client_context(alpn=["http/1.1"], maximum_version=ssl.TLSVersion.TLSv1_2)
            with tls_connect(port_of(serving), ctx) as sock:
                return sock.version(), http11_get(sock, "/healthz")[2]

        version, body = yield deferToThread(client)
        self.assertEqual((version, body), ("TLSv1.2", b"ok"))

    @inlineCallbacks
    def test_port_in_use(self):
        """A port already in use fails start-up with one clear line."""
        first = yield start_serving(self)
        second = SecureServing(make_config(port=f"ssl:{port_of(first)}:interface=127.0.0.1"),
                               EchoResource(), LifecycleSignals(), reactor)
        second.startService()
        self.addCleanup(second.stopService)
        error = yield self.assertFailure(second.listening, ServingError)
        message = str(error)
        self.assertIn("cannot listen on 127.0.0.1:", message)
        self.assertIn("in use", message)
        self.assertNotIn("\n", message)
        self.flushLoggedErrors()

    @inlineCallbacks
    def test_url(self):
        """The URL names the loopback address and the port actually bound."""
        serving = yield start_serving(self, make_config(port="ssl:0"))
        self.assertEqual(serving.url(), f"https://127.0.0.1:{port_of(serving)}")


class KubeconfigTests(TestCase):
    skip = None if KUBECTL else "kubectl is not on PATH"

    @inlineCallbacks
    def test_kubectl_verifies_and_authenticates(self):
        """kubectl with the admin kubeconfig verifies TLS and presents the admin certificate over h2."""
        config = make_config()
        serving = yield start_serving(self, config)
        path = certs.write_admin_kubeconfig(config, serving.url())
        env = kubectl_env(self.mktemp(), path)
        out, err, code = yield run_kubectl(env, "get", "--raw", "/healthz")
        self.assertEqual((code, out), (0, "ok"), err)
        out, err, code = yield run_kubectl(env, "get", "--raw", "/whoami")
        self.assertEqual((code, out), (0, "kubernetes-admin HTTP/2"), err)


class _Draining(EchoResource):
    """Counts requests in a wait group, as the filter chain does."""

    def __init__(self, wait_group: WaitGroup) -> None:
        super().__init__()
        self.wait_group = wait_group

    def render_GET(self, request: Any) -> Any:
        self.wait_group.add()
        request.notifyFinish().addBoth(lambda _: self.wait_group.done())
        return super().render_GET(request)


def _connect_refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def _read_frames(sock: ssl.SSLSocket, decoder: hpack.Decoder) -> List[Any]:
    """Every frame until the server closes, headers decoded."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    frames = []
    while len(data) >= 9:
        frame, length = Frame.parse_frame_header(memoryview(data[:9]))
        frame.parse_body(memoryview(data[9:9 + length]))
        data = data[9 + length:]
        if isinstance(frame, HeadersFrame):
            frame.decoded = dict(decoder.decode(frame.data, raw=True))
        frames.append(frame)
    return frames


class GracefulStopTests(TestCase):
    @inlineCallbacks
    def _shutdown_with_slow_request(self, client):
        wait_group = WaitGroup()
        resource = _Draining(wait_group)
        serving = yield start_serving(self, resource=resource)
        port = port_of(serving)
        answered = deferToThread(client, port)
        yield resource.when_slow_arrives()

        lifecycle = LifecycleSignals()
        done = graceful_shutdown(lifecycle, serving, wait_group, LongRunningRequests(), {},
                                 0.0, 60.0, reactor)
        yield lifecycle.http_server_stopped_listening.when_fired()
        refused = yield deferToThread(_connect_refused, port)
        self.assertTrue(refused, "a new connection was accepted after the listener closed")
        self.assertFalse(done.called)
        resource.slow[0].callback(b"finished late")
        result = yield answered
        yield done
        self.assertEqual(serving.site.connections, set())
        return result

    @inlineCallbacks
    def test_http11_request_finishes_during_shutdown(self):
        """An in-flight HTTP/1.1 request completes with Connection: close while new connections are refused."""

        def client(port):
            with tls_connect(port, client_context(alpn=["http/1.1"])) as sock:
                response = http11_get(sock, "/slow")
                eof = sock.recv(1) == b""
                return response, eof

        (status, headers, body), eof = yield self._shutdown_with_slow_request(client)
        self.assertEqual((status, body), (b"HTTP/1.1 200 OK", b"finished late"))
        self.assertEqual(headers[b"connection"], b"close")
        self.assertTrue(eof)

    @inlineCallbacks
    def test_http2_request_finishes_after_goaway(self):
        """An HTTP/2 peer gets GOAWAY, its in-flight stream still completes, then the connection closes."""

        def client(port):
            with tls_connect(port, client_context(alpn=["h2"])) as sock:
                encoder = hpack.Encoder()
                headers = HeadersFrame(1, encoder.encode([
                    (b":method", b"GET"), (b":path", b"/slow"),
                    (b":scheme", b"https"), (b":authority", b"localhost")]),
                    flags=["END_HEADERS", "END_STREAM"])
                sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + SettingsFrame(0).serialize()
                             + headers.serialize())
                return _read_frames(sock, hpack.Decoder())

        frames = yield self._shutdown_with_slow_request(client)
        kinds = [type(f).__name__ for f in frames]
        goaways = [f for f in frames if isinstance(f, GoAwayFrame)]
        self.assertEqual(len(goaways), 1, kinds)
        self.assertEqual((goaways[0].last_stream_id, goaways[0].error_code), (1, 0))
        after = frames[frames.index(goaways[0]):]
        response = [f for f in after if isinstance(f, HeadersFrame) and f.stream_id == 1]
        self.assertEqual(response[0].decoded[b":status"], b"200")
        body = b"".join(f.data for f in after if isinstance(f, DataFrame) and f.stream_id == 1)
        self.assertEqual(body, b"finished late")

    @inlineCallbacks
    def test_idle_connection_closed_on_stop(self):
        """An idle keep-alive connection is closed when the listener stops."""
        serving = yield start_serving(self)

        served: Deferred = Deferred()

        def client(port):
            with tls_connect(port, client_context(alpn=["http/1.1"])) as sock:
                http11_get(sock, "/healthz")
                reactor.callFromThread(served.callback, None)
                return sock.recv(1)

        closed = deferToThread(client, port_of(serving))
        yield served
        yield serving.stop_listening()
        self.assertEqual((yield closed), b"")


class ServerChainTests(TestCase):
    skip = None if KUBECTL else "kubectl is not on PATH"

    @inlineCallbacks
    def test_chain_serves_kubectl_and_stops(self):
        """The whole server on port 0 answers kubectl with its admin.kubeconfig, and refuses connections once stopped."""
        from kapi_twisted.app import create_server_chain

        config = make_config(storage_backend="memory")
        server = create_server_chain(config, reactor)
        server.startService()
        self.addCleanup(lambda: server.running and server.stopService())
        yield server.ready
        self.assertTrue(server.url().startswith("https://127.0.0.1:"))
        kubeconfig = os.path.join(config.data_dir, "admin.kubeconfig")
        out, err, code = yield run_kubectl(kubectl_env(self.mktemp(), kubeconfig),
                                           "get", "--raw", "/readyz?verbose")
        self.assertEqual(code, 0, err)
        self.assertIn("readyz check passed", out)
        port = port_of(server.serving)
        yield server.stopService()
        self.assertTrue((yield deferToThread(_connect_refused, port)))


class KeepAliveTests(TestCase):
    @inlineCallbacks
    def test_tcp_keepalive_on_accepted_sockets(self):
        """Accepted connections have TCP keep-alive on, probing after 3 minutes idle."""
        serving = yield start_serving(self)
        served: Deferred = Deferred()
        release: Deferred = Deferred()

        def client(port):
            with tls_connect(port, client_context(alpn=["http/1.1"])) as sock:
                http11_get(sock, "/healthz")
                reactor.callFromThread(served.callback, None)
                threads_wait(release)

        done = deferToThread(client, port_of(serving))
        yield served
        [connection] = list(serving.site.connections)
        sock = connection.transport.transport.getHandle()
        try:
            self.assertTrue(sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
            if hasattr(socket, "TCP_KEEPIDLE"):
                self.assertEqual(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE), 180)
        finally:
            release.callback(None)
            yield done


def threads_wait(d: Deferred) -> None:
    """Block a client thread until the reactor fires C{d}."""
    import threading

    event = threading.Event()
    reactor.callFromThread(d.addCallback, lambda _: event.set())
    event.wait(10)


class CloseTests(TestCase):
    @inlineCallbacks
    def test_stop_service_closes_open_connections(self):
        """Stopping serving closes open HTTP/1.1 and HTTP/2 connections promptly, mid-request too."""
        resource = EchoResource()
        serving = yield start_serving(self, resource=resource)
        port = port_of(serving)

        def h1(port):
            with tls_connect(port, client_context(alpn=["http/1.1"])) as sock:
                sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
                return sock.recv(65536)

        def h2_idle(port):
            with tls_connect(port, client_context(alpn=["h2"])) as sock:
                client = H2Client(sock)
                client.wait_for(lambda e: isinstance(e, h2.events.RemoteSettingsChanged))
                reactor.callFromThread(h2_ready.callback, None)
                try:
                    client.wait_for(lambda e: isinstance(e, h2.events.ConnectionTerminated))
                except ConnectionError:
                    return "closed"
                return "goaway"

        h2_ready: Deferred = Deferred()
        first = deferToThread(h1, port)
        second = deferToThread(h2_idle, port)
        yield resource.when_slow_arrives()
        yield h2_ready
        yield serving.stopService()
        self.assertEqual(serving.site.connections, set())
        self.assertEqual((yield first), b"")
        self.assertIn((yield second), ("goaway", "closed"))


class PlainHTTPTests(TestCase):
    @inlineCallbacks
    def test_cleartext_request_on_tls_port(self):
        """A cleartext HTTP request on the TLS port gets Go's 400 explanation."""
        serving = yield start_serving(self)

        def client(port):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                data = b""
                while True:
                    chunk = sock.recv(4096)
                    if not chunk:
                        return data
                    data += chunk

        answer = yield deferToThread(client, port_of(serving))
        self.assertEqual(answer, b"HTTP/1.0 400 Bad Request\r\n\r\n"
                                 b"Client sent an HTTP request to an HTTPS server.\n")
