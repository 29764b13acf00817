"""
Shared by the filter, authentication and metrics tests: a filter chain
served by a real twisted.web C{Site} (with L{APIRequest}) over an in-memory
transport, a small application behind it, and certificates made on the fly.
No tests here.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

from kapi_twisted.config import ServerConfig
from kapi_twisted.server.filters import build_handler_chain
from kapi_twisted.server.lifecycle import LifecycleSignals
from kapi_twisted.server.longrunning import LongRunningRequests
from kapi_twisted.server.request import APIRequest
from kapi_twisted.server.responses import json_response, write_response
from kapi_twisted.server.waitgroup import WaitGroup
from tests._serving_helpers import split_http11_responses

TOKENS = (
    'admintoken,admin,1,"system:masters"\n'
    'alicetoken,alice,2,"dev,ops"\n'
    "bobtoken,bob,3\n"
)
ADMIN = {b"Authorization": b"Bearer admintoken"}
ALICE = {b"Authorization": b"Bearer alicetoken"}
BOB = {b"Authorization": b"Bearer bobtoken"}


class App(Resource):
    """
    The application behind the chain: echoes who asked and what the filters
    found; C{?hang=1} leaves the request open (see L{pending}); C{?boom=1}
    raises; C{?partial=1} writes part of an answer and hangs.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.pending: List[APIRequest] = []
        self.routes: Dict[bytes, Resource] = {}

    def install(self, path: str, resource: Resource) -> None:
        """Serve C{resource} at C{path} (the GenericAPIServer method, in small)."""
        self.routes[path.encode()] = resource

    def render(self, request: Any) -> Any:
        route = self.routes.get(request.path)
        if route is not None:
            return route.render(request)
        if request.args.get(b"boom"):
            raise ZeroDivisionError("the handler broke")
        if request.args.get(b"partial"):
            request.setResponseCode(200)
            request.write(b"partial answer")
            self.pending.append(request)
            return NOT_DONE_YET
        if request.args.get(b"hang"):
            self.pending.append(request)
            return NOT_DONE_YET
        write_response(request, json_response(self.echo(request)))
        return NOT_DONE_YET

    @staticmethod
    def echo(request: Any) -> Dict[str, Any]:
        user = request.user
        info = request.request_info
        return {
            "user": user.name if user else None,
            "groups": list(user.groups) if user else None,
            "verb": info.verb,
            "authorization": request.getHeader(b"authorization"),
            "longRunning": request.long_running,
            "auditID": request.audit_id,
        }

    def answer(self, index: int = 0) -> None:
        """Finish a pending request with an echo (nothing is written if it is gone)."""
        request = self.pending.pop(index)
        write_response(request, json_response(self.echo(request)))


@dataclass
class HTTPResponse:
    code: int
    headers: Dict[bytes, List[bytes]]
    body: bytes

    def header(self, name: bytes) -> Optional[bytes]:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


def parse_responses(data: bytes) -> List[HTTPResponse]:
    """Every complete HTTP/1.1 response in C{data}."""
    return [HTTPResponse(int(status.split(b" ")[1]), headers, body)
            for status, headers, body in split_http11_responses(data)[0]]


class ChainServer:
    """A chain in front of L{App}, with a C{task.Clock} for deadlines."""

    def __init__(self, tmp: str, **config: Any) -> None:
        token_file = os.path.join(tmp, "tokens.csv")
        with open(token_file, "w") as f:
            f.write(TOKENS)
        config.setdefault("token_auth_file", token_file)
        self.config = ServerConfig(data_dir=tmp, **config)
        self.clock = Clock()
        self.lifecycle = LifecycleSignals()
        self.wait_group = WaitGroup()
        self.long_running = LongRunningRequests()
        self.app = App()
        self.chain = build_handler_chain(
            self.app,
            config=self.config,
            lifecycle=self.lifecycle,
            wait_group=self.wait_group,
            long_running=self.long_running,
            reactor=self.clock,
        )
        self.site = Site(self.chain, timeout=None, reactor=self.clock)
        self.site.requestFactory = APIRequest
        self.site.displayTracebacks = False

    def connect(self) -> Tuple[Any, StringTransport]:
        protocol = self.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
        transport = StringTransport()
        protocol.makeConnection(transport)
        return protocol, transport

    def send(
        self,
        method: bytes,
        path: bytes,
        headers: Optional[Dict[bytes, bytes]] = None,
        body: bytes = b"",
        chunked: bool = False,
    ) -> Tuple[Any, StringTransport]:
        """Send one request on a new connection; read answers from the transport."""
        protocol, transport = self.connect()
        lines = [method + b" " + path + b" HTTP/1.1", b"Host: kapi"]
        for name, value in (headers or {}).items():
            lines.append(name + b": " + value)
        if chunked:
            lines.append(b"Transfer-Encoding: chunked")
            payload = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
        else:
            if body or method in (b"POST", b"PUT", b"PATCH"):
                lines.append(b"Content-Length: %d" % len(body))
            payload = body
        protocol.dataReceived(b"\r\n".join(lines) + b"\r\n\r\n" + payload)
        return protocol, transport

    def request(self, method: bytes, path: bytes,
                headers: Optional[Dict[bytes, bytes]] = None, body: bytes = b"",
                chunked: bool = False) -> Optional[HTTPResponse]:
        """Send one request; its answer, or None while it is still open."""
        _, transport = self.send(method, path, headers, body, chunked)
        responses = parse_responses(transport.value())
        return responses[0] if responses else None

    def get(self, path: bytes, headers: Optional[Dict[bytes, bytes]] = None) -> Optional[HTTPResponse]:
        return self.request(b"GET", path, headers)


# -- certificates ---------------------------------------------------------

_NOW = datetime.datetime.now(datetime.timezone.utc)


def _name(common_name: str, organizations: Sequence[str] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else []
    attributes += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    return x509.Name(attributes)


@dataclass
class Issued:
    key: Any
    cert: x509.Certificate

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())


def make_ca(common_name: str = "test-ca") -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name)).issuer_name(_name(common_name))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(_NOW - datetime.timedelta(hours=1))
        .not_valid_after(_NOW + datetime.timedelta(days=10))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True,
            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(key, cert)


def issue(
    ca: Issued,
    common_name: str,
    organizations: Sequence[str] = (),
    usages: Sequence[Any] = (ExtendedKeyUsageOID.CLIENT_AUTH,),
    dns_names: Sequence[str] = (),
    not_after: Optional[datetime.datetime] = None,
) -> Issued:
    """A certificate signed by C{ca} (usages=() leaves out the EKU extension)."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organizations)).issuer_name(ca.cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(_NOW - datetime.timedelta(hours=1))
        .not_valid_after(not_after or _NOW + datetime.timedelta(days=1))
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
                       critical=False)
    )
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]
                                        + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    return Issued(key, builder.sign(ca.key, hashes.SHA256()))


def write_ca(path: str, *cas: Issued) -> None:
    with open(path, "wb") as f:
        for ca in cas:
            f.write(ca.cert_pem())
