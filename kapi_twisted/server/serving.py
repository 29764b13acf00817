"""
Secure serving: kube-apiserver's C{SecureServingInfo.Serve} and C{RunServer}
as a Twisted service.

C{--port} is a Twisted server endpoint string. C{ssl:PORT[:interface=...]}
(the default, C{ssl:6443}) serves TLS with the certificate from the string's
C{certKey}/C{privateKey}, else C{--tls-cert-file}/C{--tls-private-key-file},
else the pair generated in C{--cert-dir}; files are re-read when they change
(L{kapi_twisted.server.tls}). C{tcp:PORT} serves cleartext HTTP/1.1 and
prior-knowledge HTTP/2, for tests and benchmarks only.

Graceful termination (L{kapi_twisted.server.termination}) calls
L{SecureServing.stop_listening} (the port closes; HTTP/2 peers get GOAWAY,
HTTP/1.1 answers carry C{Connection: close}, idle connections close) and,
once in-flight requests are done, L{SecureServing.close_connections}.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList, maybeDeferred, succeed
from twisted.internet.endpoints import (
    TCP4ServerEndpoint,
    TCP6ServerEndpoint,
    serverFromString,
)
from twisted.internet.error import CannotListenError
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure

from kapi_twisted.server import certs
from kapi_twisted._eager_tcp import listen_eager
from kapi_twisted.server.channel import ServingLimits, ServingSite
from kapi_twisted.server.http2 import HTTP2Settings
from kapi_twisted.server.request import APIRequest
from kapi_twisted.server.tls import (
    ALPN_H2,
    ALPN_HTTP11,
    TLS_VERSIONS,
    CertificateLoadError,
    CertKeyFiles,
    HTTPSOnlyFactory,
    ReloadingServerTLS,
    TLSSettings,
)

log = Logger()


class ServingError(Exception):
    """Serving cannot start; the message is one line naming the cause."""


@dataclass
class ListenSpec:
    """The parts of a C{--port} endpoint string that serving needs."""

    kind: str
    port: int = 0
    interface: str = ""
    backlog: int = 50
    cert_file: str = ""
    key_file: str = ""
    description: str = ""
    extra: Dict[str, str] = field(default_factory=dict)

    @property
    def secure(self) -> bool:
        return self.kind == "ssl"


def split_endpoint(description: str) -> List[str]:
    """Split an endpoint string at unescaped colons (C{\\:} is a literal colon)."""
    parts: List[str] = []
    current: List[str] = []
    chars = iter(description)
    for c in chars:
        if c == "\\":
            current.append(next(chars, ""))
        elif c == ":":
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
    parts.append("".join(current))
    return parts


def parse_port(description: str) -> ListenSpec:
    """Read C{ssl:...}/C{tcp:...} strings; other kinds are kept for L{serverFromString}."""
    parts = split_endpoint(description)
    kind = parts[0]
    spec = ListenSpec(kind=kind, description=description)
    if kind not in ("ssl", "tcp"):
        return spec
    positional: List[str] = []
    for part in parts[1:]:
        key, eq, value = part.partition("=")
        if eq:
            spec.extra[key] = value
        else:
            positional.append(part)
    port_text = spec.extra.pop("port", positional[0] if positional else "")
    try:
        spec.port = int(port_text)
        spec.backlog = int(spec.extra.pop("backlog", "50"))
    except ValueError:
        raise ServingError(f"--port: invalid port in {description!r}") from None
    spec.interface = spec.extra.pop("interface", "")
    spec.cert_file = spec.extra.pop("certKey", "")
    spec.key_file = spec.extra.pop("privateKey", "") or spec.cert_file
    if spec.extra:
        raise ServingError(
            f"--port: unsupported option(s) {', '.join(sorted(spec.extra))} in {description!r}")
    return spec


def build_tls(config: Any, spec: ListenSpec) -> ReloadingServerTLS:
    """The TLS connection creator for C{config} (certificates generated if needed)."""
    bundle = certs.ensure_certificates(config)
    if spec.cert_file:
        serving = CertKeyFiles(spec.cert_file, spec.key_file)
    elif config.tls_cert_file:
        serving = CertKeyFiles(config.tls_cert_file, config.tls_private_key_file)
    else:
        serving = CertKeyFiles(bundle.serving_cert_file, bundle.serving_key_file)
    sni = [(CertKeyFiles(s.cert_file, s.key_file), s.names) for s in config.tls_sni_cert_key]
    settings = TLSSettings(
        min_version=TLS_VERSIONS[config.tls_min_version],
        alpn=(ALPN_HTTP11,) if config.disable_http2 else (ALPN_H2, ALPN_HTTP11),
        client_ca_file=config.client_ca_file or bundle.ca_cert_file,
    )
    try:
        return ReloadingServerTLS(serving, settings, sni)
    except CertificateLoadError as e:
        raise ServingError(str(e)) from None


def http2_settings(config: Any) -> Optional[HTTP2Settings]:
    """The HTTP/2 SETTINGS for C{config}, or None with C{--disable-http2}."""
    if config.disable_http2:
        return None
    return HTTP2Settings(max_concurrent_streams=config.http2_max_streams_per_connection)


class SecureServing(Service):
    """
    Listens with C{resource} once C{start_after()} has fired.

    @ivar listening: fires with the C{IListeningPort}, or fails with a
        L{ServingError} (port in use, unusable certificate...).
    @ivar site: the L{ServingSite} (its C{connections} are the open ones).
    """

    name = "secure-serving"

    def __init__(self, config: Any, resource: Any, lifecycle: Any, reactor: Any,
                 start_after: Optional[Callable[[], Deferred]] = None,
                 limits: ServingLimits = ServingLimits()) -> None:
        self.config = config
        self.resource = resource
        self.lifecycle = lifecycle
        self.reactor = reactor
        self.start_after = start_after
        self.port: Any = None
        self.spec: Optional[ListenSpec] = None
        self.tls: Optional[ReloadingServerTLS] = None
        self.listening: Deferred = Deferred()
        self.port_closed = False
        self.site = ServingSite(resource, reactor=reactor, request_factory=APIRequest,
                                limits=limits, http2=http2_settings(config))
        self._stopped = False

    def startService(self) -> None:
        super().startService()
        d = maybeDeferred(self.start_after) if self.start_after else succeed(None)
        d.addCallback(lambda _: self._listen())
        d.addCallbacks(self._listened, self._failed)

    def _listen(self) -> Deferred:
        if self._stopped:
            raise ServingError("serving was stopped before it listened")
        spec = self.spec = parse_port(self.config.port)
        factory: Any = self.site
        if spec.secure:
            self.tls = build_tls(self.config, spec)
            factory = HTTPSOnlyFactory(TLSMemoryBIOFactory(self.tls, False, self.site))
            # TLS hands the socket one write per reactor turn: send it at once
            # (kapi_twisted._eager_tcp).
            d = listen_eager(self.reactor, spec.port, factory, spec.backlog, spec.interface)
            d.addErrback(self._listen_failed, spec)
            return d
        if spec.kind == "tcp":
            endpoint_type = TCP6ServerEndpoint if ":" in spec.interface else TCP4ServerEndpoint
            endpoint = endpoint_type(self.reactor, spec.port, spec.backlog, spec.interface)
        else:
            endpoint = serverFromString(self.reactor, spec.description)
        d = endpoint.listen(factory)
        d.addErrback(self._listen_failed, spec)
        return d

    def _listen_failed(self, failure: Failure, spec: ListenSpec) -> None:
        if failure.check(CannotListenError):
            error = failure.value
            where = f"{error.interface or '0.0.0.0'}:{error.port}"
            cause = getattr(error.socketError, "strerror", None) or str(error.socketError)
            raise ServingError(f"--port {spec.description}: cannot listen on {where}: {cause}")
        failure.raiseException()

    def _listened(self, port: Any) -> None:
        if self._stopped:
            port.stopListening()
            self.listening.errback(ServingError("serving was stopped before it listened"))
            return
        self.port = port
        self.listening.callback(port)

    def _failed(self, failure: Failure) -> None:
        # Reported once, by whoever waits on `listening` (a ServingError's
        # message is the whole story: no traceback needed).
        self.listening.errback(failure)

    def url(self) -> str:
        """Where clients reach the server (loopback for a wildcard bind)."""
        if self.port is None or self.spec is None:
            raise RuntimeError("not listening")
        host = self.port.getHost()
        address = getattr(host, "host", None)
        if address is None:
            return f"unix:{getattr(host, 'name', '')}"
        if address in ("", "0.0.0.0", "::"):
            address = "127.0.0.1"
        elif ":" in address:
            address = f"[{address}]"
        scheme = "https" if self.spec.secure else "http"
        return f"{scheme}://{address}:{host.port}"

    def stop_listening(self) -> Deferred:
        """
        Close the port (the Deferred fires when it is closed) and start
        draining open connections.
        """
        self._stopped = True
        self.site.drain()
        port, self.port_closed = self.port, True
        if port is None:
            return succeed(None)
        d = maybeDeferred(port.stopListening)
        # Connections accepted just before the port closed are drained too.
        d.addCallback(lambda _: self.site.drain())
        return d

    def close_connections(self) -> Deferred:
        """Close every remaining connection; fires when none is left."""
        return self.site.close_all()

    def stopService(self) -> Deferred:
        super().stopService()
        closing = [] if self.port_closed else [self.stop_listening()]
        closing.append(self.close_connections())
        return DeferredList(closing, consumeErrors=True).addCallback(lambda _: None)
