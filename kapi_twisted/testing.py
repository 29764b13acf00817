"""
Embedding kapi in a Twisted program or a test.

    from kapi_twisted.testing import start_server

    server = yield start_server()          # port 0, a temporary data dir
    server.url                             # "https://127.0.0.1:<port>"
    server.kubeconfig                      # path of an admin kubeconfig
    yield server.stop()                    # graceful termination

To run kapi as one service among others in your own application, build the
service yourself and parent it::

    from kapi_twisted.app import create_server_chain
    from kapi_twisted.config import ServerConfig

    kapi = create_server_chain(ServerConfig(port="ssl:6443", data_dir="state"), reactor)
    kapi.setServiceParent(application)
    kapi.ready.addCallback(lambda _: print("serving on", kapi.url()))
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any, Optional

from twisted.internet.defer import Deferred
from twisted.internet.ssl import Certificate, PrivateCertificate, optionsForClientTLS
from twisted.web.iweb import IPolicyForHTTPS
from zope.interface import implementer

from kapi_twisted.app import KubeAPIServerService, create_server_chain
from kapi_twisted.config import ServerConfig

__all__ = ["RunningServer", "admin_http_client", "start_server"]


@dataclass
class RunningServer:
    """
    A started kapi server.

    @ivar url: where clients reach it (C{https://127.0.0.1:<port>}).
    @ivar kubeconfig: path of a kubeconfig that verifies the server with its
        CA and authenticates as a C{system:masters} administrator.
    @ivar service: the running L{KubeAPIServerService}.
    """

    service: KubeAPIServerService
    config: ServerConfig
    _owned_data_dir: Optional[str] = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return self.service.url()

    @property
    def port(self) -> int:
        return self.service.serving.port.getHost().port

    @property
    def data_dir(self) -> str:
        return self.config.data_dir

    @property
    def kubeconfig(self) -> str:
        return os.path.join(self.config.data_dir, "admin.kubeconfig")

    @property
    def ca_cert(self) -> str:
        """The CA certificate file clients verify the server with."""
        return os.path.join(self.config.cert_dir, "ca.crt")

    @property
    def admin_cert(self) -> str:
        return os.path.join(self.config.cert_dir, "admin.crt")

    @property
    def admin_key(self) -> str:
        return os.path.join(self.config.cert_dir, "admin.key")

    def http_client(self) -> Any:
        """
        A treq C{HTTPClient} that verifies this server with its CA and
        authenticates as the admin (HTTP/1.1 or HTTP/2, as ALPN picks).
        """
        return admin_http_client(self.service.reactor, self.ca_cert, self.admin_cert, self.admin_key)

    def stop(self) -> Deferred:
        """
        Stop gracefully; the Deferred fires once the listener is closed and
        requests have drained. A temporary data dir made by L{start_server}
        is removed afterwards.
        """
        d = self.service.stopService()

        def cleanup(result: Any) -> Any:
            if self._owned_data_dir:
                shutil.rmtree(self._owned_data_dir, ignore_errors=True)
            return result

        return d.addBoth(cleanup)


@implementer(IPolicyForHTTPS)
class _TrustOneCA:
    def __init__(self, ca_pem: bytes, client_pem: bytes) -> None:
        self._ca = Certificate.loadPEM(ca_pem)
        self._client = PrivateCertificate.loadPEM(client_pem)

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
        return optionsForClientTLS(
            hostname.decode("ascii"), trustRoot=self._ca, clientCertificate=self._client
        )


def admin_http_client(reactor: Any, ca_cert: str, client_cert: str, client_key: str) -> Any:
    """A treq C{HTTPClient} trusting C{ca_cert} and presenting the given client certificate."""
    from treq.client import HTTPClient
    from twisted.web.client import Agent, HTTPConnectionPool

    with open(ca_cert, "rb") as f:
        ca_pem = f.read()
    with open(client_cert, "rb") as f:
        client_pem = f.read()
    with open(client_key, "rb") as f:
        client_pem += b"\n" + f.read()
    pool = HTTPConnectionPool(reactor, persistent=False)
    agent = Agent(reactor, contextFactory=_TrustOneCA(ca_pem, client_pem), pool=pool)
    return HTTPClient(agent)


def start_server(
    reactor: Any = None,
    data_dir: Optional[str] = None,
    storage_backend: str = "memory",
    port: str = "ssl:0:interface=127.0.0.1",
    **settings: Any,
) -> Deferred:
    """
    Build and start a whole kapi server; the Deferred fires with a
    L{RunningServer} once it serves (post-start hooks done).

    @param data_dir: where certificates, kubeconfig and the store go; a new
        temporary directory (removed on stop) when not given.
    @param storage_backend: C{memory} (default, fastest for tests), C{sqlite}
        or C{etcd3} (then pass C{etcd_servers=[...]}).
    @param settings: any other L{ServerConfig} field, e.g.
        C{shutdown_delay_duration=2.0} or C{request_timeout=5.0}.
    """
    if reactor is None:
        from twisted.internet import reactor as default_reactor

        reactor = default_reactor
    owned = None
    if data_dir is None:
        owned = data_dir = tempfile.mkdtemp(prefix="kapi-")
    config = ServerConfig(
        port=port, data_dir=data_dir, storage_backend=storage_backend, **settings
    ).validate()
    service = create_server_chain(config, reactor)
    service.startService()
    running = RunningServer(service, config, owned)

    def failed(failure: Any) -> Any:
        if owned:
            shutil.rmtree(owned, ignore_errors=True)
        return failure

    return service.ready.addCallbacks(lambda _: running, failed)
