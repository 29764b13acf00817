"""
The server's configuration: kube-apiserver's flags, validated once before
anything is built (a bad value is one clear line, never a traceback).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Any, List, Mapping, Tuple

from kapi_twisted.durations import parse_duration
from kapi_twisted.storage._etcd_http import check_url as check_etcd_url

TLS_VERSIONS = ("VersionTLS10", "VersionTLS11", "VersionTLS12", "VersionTLS13")
STORAGE_BACKENDS = ("sqlite", "memory", "etcd3")


class ConfigError(ValueError):
    """A flag has a value the server cannot use; the message names the flag."""


@dataclass(frozen=True)
class SNICertKey:
    """One C{--tls-sni-cert-key}: files and the names they serve (empty = from the cert)."""

    cert_file: str
    key_file: str
    names: Tuple[str, ...] = ()


@dataclass
class ServerConfig:
    """Every setting of one kapi process; defaults are kube-apiserver's."""

    port: str = "ssl:6443"
    data_dir: str = "./kapi-data"
    cert_dir: str = ""
    tls_cert_file: str = ""
    tls_private_key_file: str = ""
    tls_sni_cert_key: List[SNICertKey] = field(default_factory=list)
    tls_min_version: str = "VersionTLS12"
    disable_http2: bool = False
    http2_max_streams_per_connection: int = 250
    shutdown_delay_duration: float = 0.0
    shutdown_timeout: float = 60.0
    max_requests_inflight: int = 400
    max_mutating_requests_inflight: int = 200
    request_timeout: float = 60.0
    min_request_timeout: int = 1800
    client_ca_file: str = ""
    token_auth_file: str = ""
    storage_backend: str = "sqlite"
    etcd_servers: List[str] = field(default_factory=list)
    etcd_prefix: str = "/registry"
    etcd_compaction_interval: float = 300.0
    service_cluster_ip_range: str = "10.0.0.0/24"
    service_node_port_range: str = "30000-32767"

    def __post_init__(self) -> None:
        if not self.cert_dir:
            self.cert_dir = os.path.join(self.data_dir, "certs")

    def validate(self) -> "ServerConfig":
        """Raise L{ConfigError} for the first unusable value; return self."""
        if self.tls_min_version not in TLS_VERSIONS:
            raise ConfigError(
                f"--tls-min-version: unknown TLS version {self.tls_min_version!r} "
                f"(use one of {', '.join(TLS_VERSIONS)})"
            )
        if bool(self.tls_cert_file) != bool(self.tls_private_key_file):
            raise ConfigError(
                "--tls-cert-file and --tls-private-key-file must be given together"
            )
        for name in ("tls_cert_file", "tls_private_key_file", "client_ca_file", "token_auth_file"):
            path = getattr(self, name)
            if path and not os.path.isfile(path):
                raise ConfigError(f"--{name.replace('_', '-')}: no such file: {path}")
        for sni in self.tls_sni_cert_key:
            for path in (sni.cert_file, sni.key_file):
                if not os.path.isfile(path):
                    raise ConfigError(f"--tls-sni-cert-key: no such file: {path}")
        for name in ("max_requests_inflight", "max_mutating_requests_inflight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')}: must not be negative")
        if self.http2_max_streams_per_connection <= 0:
            raise ConfigError("--http2-max-streams-per-connection: must be positive")
        for name in ("shutdown_delay_duration", "shutdown_timeout", "request_timeout",
                     "etcd_compaction_interval"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')}: must not be negative")
        if self.storage_backend not in STORAGE_BACKENDS:
            raise ConfigError(
                f"--storage-backend: unknown backend {self.storage_backend!r} "
                f"(use one of {', '.join(STORAGE_BACKENDS)})"
            )
        if self.storage_backend == "etcd3" and not self.etcd_servers:
            raise ConfigError("--etcd-servers must be specified for --storage-backend=etcd3")
        for server in self.etcd_servers:
            try:
                check_etcd_url(server)
            except ValueError as e:
                raise ConfigError(f"--etcd-servers: {e}")
        try:
            ipaddress.ip_network(self.service_cluster_ip_range)
        except ValueError as e:
            raise ConfigError(f"--service-cluster-ip-range: {e}") from None
        low, _, high = self.service_node_port_range.partition("-")
        if not (low.isdigit() and high.isdigit() and 0 < int(low) <= int(high) <= 65535):
            raise ConfigError(
                f"--service-node-port-range: expected a range like 30000-32767, "
                f"got {self.service_node_port_range!r}"
            )
        _check_port(self.port)
        return self


def _check_port(description: str) -> None:
    kind = description.split(":", 1)[0]
    if kind not in ("ssl", "tcp", "tcp6", "unix"):
        raise ConfigError(
            f"--port: unsupported endpoint {description!r} (use e.g. ssl:6443)"
        )
    if kind in ("ssl", "tcp", "tcp6"):
        parts = description.split(":")
        port = parts[1] if len(parts) > 1 else ""
        if port.startswith("port="):
            port = port[5:]
        if not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ConfigError(f"--port: invalid port in {description!r}")


def _duration(flag: str, text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as e:
        raise ConfigError(f"--{flag}: {e}") from None


def _integer(flag: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"--{flag}: invalid integer {text!r}") from None


def parse_sni_cert_key(text: str) -> SNICertKey:
    """C{cert,key} or C{cert,key:name1,name2} (kube-apiserver's format)."""
    files, _, names = text.partition(":")
    parts = files.split(",")
    if len(parts) != 2 or not all(parts):
        raise ConfigError(
            f"--tls-sni-cert-key: expected certfile,keyfile[:name,...], got {text!r}"
        )
    return SNICertKey(parts[0], parts[1], tuple(n for n in names.split(",") if n))


def config_from_options(options: Mapping[str, Any]) -> ServerConfig:
    """Build and validate a L{ServerConfig} from parsed command-line options."""
    data_dir = options.get("data-dir") or "./kapi-data"
    config = ServerConfig(
        port=options.get("port") or "ssl:6443",
        data_dir=data_dir,
        cert_dir=options.get("cert-dir") or "",
        tls_cert_file=options.get("tls-cert-file") or "",
        tls_private_key_file=options.get("tls-private-key-file") or "",
        tls_sni_cert_key=[parse_sni_cert_key(t) for t in options.get("tls-sni-cert-key") or []],
        tls_min_version=options.get("tls-min-version") or "VersionTLS12",
        disable_http2=bool(options.get("disable-http2")),
        http2_max_streams_per_connection=_integer(
            "http2-max-streams-per-connection",
            options.get("http2-max-streams-per-connection") or "250"),
        shutdown_delay_duration=_duration(
            "shutdown-delay-duration", options.get("shutdown-delay-duration") or "0s"),
        shutdown_timeout=_duration("shutdown-timeout", options.get("shutdown-timeout") or "60s"),
        max_requests_inflight=_integer(
            "max-requests-inflight", options.get("max-requests-inflight") or "400"),
        max_mutating_requests_inflight=_integer(
            "max-mutating-requests-inflight",
            options.get("max-mutating-requests-inflight") or "200"),
        request_timeout=_duration("request-timeout", options.get("request-timeout") or "60s"),
        min_request_timeout=_integer(
            "min-request-timeout", options.get("min-request-timeout") or "1800"),
        client_ca_file=options.get("client-ca-file") or "",
        token_auth_file=options.get("token-auth-file") or "",
        storage_backend=options.get("storage-backend") or "sqlite",
        etcd_servers=[s for s in (options.get("etcd-servers") or "").split(",") if s],
        etcd_prefix=options.get("etcd-prefix") or "/registry",
        etcd_compaction_interval=_duration(
            "etcd-compaction-interval", options.get("etcd-compaction-interval") or "5m"),
        service_cluster_ip_range=options.get("service-cluster-ip-range") or "10.0.0.0/24",
        service_node_port_range=options.get("service-node-port-range") or "30000-32767",
    )
    return config.validate()
