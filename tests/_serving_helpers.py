"""
Helpers for the serving tests: a server on a real loopback port with a tiny
resource, and blocking TLS clients (the ssl module and the h2 library) run in
a thread so the reactor keeps serving; for timing, one HTTP/1.1 connection on
a fake clock (L{FakeConnection}); and a parser for HTTP/1.1 responses.
"""

from __future__ import annotations

import json
import socket
import ssl
import tempfile
from typing import Any, Dict, List, Optional, Tuple

import h2.config
import h2.connection
import h2.events
from cryptography import x509
from cryptography.x509.oid import NameOID
from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from kapi_twisted.config import ServerConfig
from kapi_twisted.server.channel import ServingSite
from kapi_twisted.server.lifecycle import LifecycleSignals
from kapi_twisted.server.request import APIRequest
from kapi_twisted.server.serving import SecureServing


class EchoResource(Resource):
    """
    C{/healthz} -> "ok"; C{/whoami} -> the client certificate's CN (or
    "anonymous") and the protocol; C{/slow} -> answered when the test fires
    the Deferred it finds in C{slow}.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.slow: List[Deferred] = []
        self.arrived: List[Deferred] = []

    def render_GET(self, request: Any) -> Any:
        if request.path == b"/slow":
            d: Deferred = Deferred()
            self.slow.append(d)

            def answer(body: bytes) -> None:
                request.setHeader(b"content-type", b"text/plain")
                request.setHeader(b"content-length", str(len(body)).encode())
                request.write(body)
                request.finish()

            d.addCallback(answer)
            for waiter in self.arrived:
                waiter.callback(None)
            self.arrived = []
            return NOT_DONE_YET
        if request.path == b"/whoami":
            certificate = request.peer_certificate()
            name = "anonymous"
            if certificate is not None:
                cn = certificate.to_cryptography().subject.get_attributes_for_oid(
                    NameOID.COMMON_NAME)
                name = str(cn[0].value) if cn else "?"
            return f"{name} {request.clientproto.decode()}".encode()
        request.setHeader(b"content-type", b"text/plain")
        return b"ok"

    def when_slow_arrives(self) -> Deferred:
        d: Deferred = Deferred()
        if self.slow:
            d.callback(None)
        else:
            self.arrived.append(d)
        return d


class RequestEcho(Resource):
    """Answers every request with what it saw, as JSON; C{/hang} is never answered."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.hanging: List[Any] = []

    def render(self, request: Any) -> Any:
        if request.path == b"/hang":
            self.hanging.append(request)
            return NOT_DONE_YET
        headers = {k.decode("latin-1"): [v.decode("latin-1") for v in vs]
                   for k, vs in request.requestHeaders.getAllRawHeaders()}
        return json.dumps({
            "method": request.method.decode(), "uri": request.uri.decode("latin-1"),
            "version": request.clientproto.decode(), "headers": headers,
            "body": request.content.read().decode("latin-1"),
        }).encode()


def make_config(**overrides: Any) -> ServerConfig:
    data_dir = tempfile.mkdtemp(prefix="kapi-serving-")
    values: Dict[str, Any] = {"port": "ssl:0:interface=127.0.0.1", "data_dir": data_dir}
    values.update(overrides)
    return ServerConfig(**values)


@inlineCallbacks
def start_serving(testcase: Any, config: Optional[ServerConfig] = None,
                  resource: Optional[Resource] = None) -> Any:
    """Start a L{SecureServing} for the test; it is stopped at cleanup."""
    config = config or make_config()
    resource = resource or EchoResource()
    serving = SecureServing(config, resource, LifecycleSignals(), reactor)
    serving.startService()
    testcase.addCleanup(serving.stopService)
    yield serving.listening
    return serving


def port_of(serving: SecureServing) -> int:
    return serving.port.getHost().port


def client_context(ca_file: Optional[str] = None, alpn: Optional[List[str]] = None,
                   cert: Optional[Tuple[str, str]] = None,
                   maximum_version: Optional[ssl.TLSVersion] = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_file:
        ctx.load_verify_locations(ca_file)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if cert:
        ctx.load_cert_chain(*cert)
    if maximum_version is not None:
        ctx.maximum_version = maximum_version
    return ctx


def tls_connect(port: int, ctx: ssl.SSLContext, server_hostname: str = "localhost") -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        return ctx.wrap_socket(raw, server_hostname=server_hostname)
    except BaseException:
        raw.close()
        raise


def peer_common_name(sock: ssl.SSLSocket) -> str:
    der = sock.getpeercert(binary_form=True)
    cert = x509.load_der_x509_certificate(der)
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


Response = Tuple[bytes, Dict[bytes, List[bytes]], bytes]


def split_http11_responses(data: bytes) -> Tuple[List[Response], bytes]:
    """
    The complete HTTP/1.1 responses at the start of C{data} (status line,
    headers by lower-cased name, body) and the bytes after them. A body is
    framed by Content-Length or chunked encoding; a 1xx has none; any other
    body runs to the end of C{data}.
    """
    responses: List[Response] = []
    while b"\r\n\r\n" in data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        headers: Dict[bytes, List[bytes]] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        if b"content-length" in headers:
            length = int(headers[b"content-length"][0])
            if len(rest) < length:
                break
            body, data = rest[:length], rest[length:]
        elif headers.get(b"transfer-encoding") == [b"chunked"]:
            body = b""
            while True:
                size_line, sep, after = rest.partition(b"\r\n")
                if not sep:
                    return responses, data
                size = int(size_line.partition(b";")[0], 16)
                if len(after) < size + 2:
                    return responses, data
                rest = after[size + 2:]
                if size == 0:
                    break
                body += after[:size]
            data = rest
        elif lines[0].split(b" ")[1][:1] == b"1":
            body, data = b"", rest
        else:
            body, data = rest, b""
        responses.append((lines[0], headers, body))
    return responses, data


def read_http11(sock: socket.socket) -> Tuple[bytes, Dict[bytes, bytes], bytes]:
    """Read one response (Content-Length or until close): status line, headers, body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    length = headers.get(b"content-length")
    if length is not None:
        while len(body) < int(length):
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    else:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return lines[0], headers, body


def http11_get(sock: socket.socket, path: str, extra: bytes = b"") -> Tuple[bytes, Dict[bytes, bytes], bytes]:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n".encode() + extra + b"\r\n")
    return read_http11(sock)


class H2Client:
    """A blocking HTTP/2 client over one TLS socket (for tests only)."""

    def __init__(self, sock: ssl.SSLSocket, **config: Any) -> None:
        """C{config}: more L{h2.config.H2Configuration} settings."""
        self.sock = sock
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None, **config))
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())
        self.events: List[Any] = []

    def pump(self) -> Optional[List[Any]]:
        """Read once from the socket; return the new events (None on EOF)."""
        data = self.sock.recv(65536)
        if not data:
            return None
        events = self.conn.receive_data(data)
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)
        self.events.extend(events)
        return events

    def wait_for(self, predicate: Any) -> Any:
        for event in self.events:
            if predicate(event):
                return event
        while True:
            events = self.pump()
            if events is None:
                raise ConnectionError("connection closed")
            for event in events:
                if predicate(event):
                    return event

    def send(self, headers: List[Tuple[bytes, bytes]], end_stream: bool = True) -> int:
        """Open a stream with C{headers}; return its id."""
        stream_id = self.conn.get_next_available_stream_id()
        self.conn.send_headers(stream_id, headers, end_stream=end_stream)
        self.sock.sendall(self.conn.data_to_send())
        return stream_id

    def request(self, path: str) -> int:
        return self.send([
            (b":method", b"GET"), (b":path", path.encode()),
            (b":scheme", b"https"), (b":authority", b"localhost"),
        ])

    def outcome(self, stream_id: int) -> Tuple[Any, ...]:
        """("reset", code) or ("answer", status, headers, body) for the stream."""
        headers: Dict[bytes, bytes] = {}
        body = b""
        seen = 0
        while True:
            while seen >= len(self.events):
                if self.pump() is None:
                    raise ConnectionError("connection closed before the response ended")
            event = self.events[seen]
            seen += 1
            if getattr(event, "stream_id", None) != stream_id:
                continue
            if isinstance(event, h2.events.StreamReset):
                return ("reset", event.error_code)
            if isinstance(event, h2.events.ResponseReceived):
                headers = dict(event.headers)
            elif isinstance(event, h2.events.DataReceived):
                body += event.data
                self.conn.acknowledge_received_data(event.flow_controlled_length, stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                return ("answer", headers.get(b":status"), headers, body)

    def response(self, stream_id: int) -> Tuple[Dict[bytes, bytes], bytes]:
        """The stream's response headers and body (a reset raises L{ConnectionError})."""
        result = self.outcome(stream_id)
        if result[0] == "reset":
            raise ConnectionError(f"stream reset: {result[1]}")
        return result[2], result[3]


class FakeConnection:
    """A site on a fake clock with one connection whose bytes land in a StringTransport."""

    def __init__(self) -> None:
        self.clock = MemoryReactorClock()
        self.resource = RequestEcho()
        self.site = ServingSite(self.resource, reactor=self.clock, request_factory=APIRequest,
                                http2=None)
        self.protocol = self.site.buildProtocol(None)
        self.transport = StringTransport()
        self.protocol.makeConnection(self.transport)

    def send(self, data: bytes) -> None:
        self.protocol.dataReceived(data)

    @property
    def channel(self) -> Any:
        return self.protocol.channel

    @property
    def closed(self) -> bool:
        return self.transport.disconnecting

    def responses(self) -> List[Response]:
        return split_http11_responses(self.transport.value())[0]


def write_self_signed(directory: str, stem: str, common_name: str,
                      dns_names: Tuple[str, ...] = ()) -> Tuple[str, str]:
    """Write C{<stem>.crt}/C{<stem>.key} (ECDSA, self-signed) and return their paths."""
    import datetime
    import os

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    cert_file = os.path.join(directory, stem + ".crt")
    key_file = os.path.join(directory, stem + ".key")
    with open(key_file + ".tmp", "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(cert_file + ".tmp", "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(key_file + ".tmp", key_file)
    os.replace(cert_file + ".tmp", cert_file)
    return cert_file, key_file
