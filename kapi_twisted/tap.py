"""
The twistd plugin's options (kube-apiserver's flag names and defaults) and
C{makeService}: C{twistd kapi --port ssl:6443}.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from twisted.application.service import IService
from twisted.python import usage

from kapi_twisted.config import ConfigError, config_from_options


class Options(usage.Options):
    """kube-apiserver's flags, as far as kapi implements them."""

    synopsis = "[options]"
    longdesc = (
        "A Kubernetes API server on Twisted. Serves HTTPS (HTTP/2 and HTTP/1.1) "
        "and keeps its data in --data-dir. Durations take Go syntax (4s, 1m30s)."
    )

    optFlags = [
        ["disable-http2", None, "Offer only HTTP/1.1 in ALPN."],
    ]

    optParameters = [
        ["port", None, "ssl:6443",
         "Twisted server endpoint to serve on. An ssl: endpoint without certificate "
         "arguments uses --tls-cert-file/--tls-private-key-file, or certificates "
         "generated in --cert-dir."],
        ["data-dir", None, "./kapi-data", "Directory for the store, certificates and kubeconfig."],
        ["cert-dir", None, None, "Directory of generated certificates (default <data-dir>/certs)."],
        ["tls-cert-file", None, None, "Serving certificate (PEM, intermediates appended)."],
        ["tls-private-key-file", None, None, "Key of --tls-cert-file (PEM)."],
        ["tls-min-version", None, "VersionTLS12",
         "Minimum TLS version: VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13."],
        ["http2-max-streams-per-connection", None, "250",
         "HTTP/2 MAX_CONCURRENT_STREAMS sent to clients."],
        ["shutdown-delay-duration", None, "0s",
         "Time /readyz fails before the listener closes on shutdown."],
        ["shutdown-timeout", None, "60s",
         "Longest wait for in-flight requests to finish on shutdown."],
        ["max-requests-inflight", None, "400",
         "Concurrent read-only requests before 429 (0: no limit)."],
        ["max-mutating-requests-inflight", None, "200",
         "Concurrent mutating requests before 429 (0: no limit)."],
        ["request-timeout", None, "60s", "Deadline of non-long-running requests."],
        ["min-request-timeout", None, "1800",
         "Seconds; watches last a random time between this and twice this."],
        ["client-ca-file", None, None,
         "CA bundle that verifies client certificates (default: the generated CA)."],
        ["token-auth-file", None, None,
         "Static bearer tokens, CSV: token,user,uid[,\"group1,group2\"]."],
        ["storage-backend", None, "sqlite", "sqlite (durable, embedded), memory, or etcd3."],
        ["etcd-servers", None, None, "Comma-separated etcd URLs for --storage-backend=etcd3."],
        ["etcd-prefix", None, "/registry", "Prefix of every key in the store."],
        ["etcd-compaction-interval", None, "5m", "How often old revisions are compacted (0: never)."],
        ["service-cluster-ip-range", None, "10.0.0.0/24", "CIDR that Service cluster IPs come from."],
        ["service-node-port-range", None, "30000-32767", "Ports that NodePort Services get."],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["tls-sni-cert-key"] = []

    def opt_tls_sni_cert_key(self, value: str) -> None:
        """certfile,keyfile[:name,...]; repeatable. SNI certificates."""
        self["tls-sni-cert-key"].append(value)


def makeService(options: Any, reactor: Any = None) -> IService:
    """Build the server chain from parsed options (twistd's entry point)."""
    if reactor is None:
        from twisted.internet import reactor as default_reactor

        reactor = default_reactor
    try:
        config = config_from_options(options)
    except ConfigError as e:
        raise SystemExit(f"kapi: {e}") from None
    from kapi_twisted.app import create_server_chain
    from kapi_twisted.server.signals import install_shutdown_handlers

    try:
        service = create_server_chain(config, reactor)
    except ConfigError as e:
        raise SystemExit(f"kapi: {e}") from None
    reactor.callWhenRunning(install_shutdown_handlers, reactor)
    from kapi_twisted.server import gctuning

    gctuning.tune_for_serving()
    service.ready.addCallbacks(
        gctuning.freeze_startup_objects, lambda _: exit_after_shutdown(reactor, 1)
    )
    return service


def exit_after_shutdown(reactor: Any, status: int) -> None:
    """
    Stop the reactor and end the process with C{status} once it has shut
    down: twistd itself always exits 0, but a server that could not start
    (port in use, unreadable store) must not look like a clean exit.
    """

    def leave() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)

    reactor.addSystemEventTrigger("after", "shutdown", leave)
    reactor.stop()
