"""
Certificates generated on first start and the admin kubeconfig.

kube-apiserver writes a self-signed serving pair into C{--cert-dir} when no
C{--tls-cert-file} is given and reuses it on the next start. We do the same,
and also make a small CA so that the serving certificate and an admin client
certificate (C{O=system:masters}) share a root: C{<data-dir>/admin.kubeconfig}
then verifies the server with that CA (no insecure-skip) and authenticates
with the admin certificate.

Keys are ECDSA P-256: generating three of them takes milliseconds, where
RSA 2048 would add a noticeable pause to a first start.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import socket
import tempfile
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple, Union

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from twisted.logger import Logger

log = Logger()

CA_VALIDITY = datetime.timedelta(days=3650)
LEAF_VALIDITY = datetime.timedelta(days=365)
# A leaf this close to expiry is issued again at start.
RENEW_BEFORE = datetime.timedelta(days=1)
CLOCK_SKEW = datetime.timedelta(hours=1)

ADMIN_USER = "kubernetes-admin"
ADMIN_GROUP = "system:masters"
KUBERNETES_DNS_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)

_Key = ec.EllipticCurvePrivateKey
_Name = Union[x509.DNSName, x509.IPAddress]


@dataclass(frozen=True)
class CertificateBundle:
    """The generated files in C{--cert-dir} (PEM)."""

    ca_cert_file: str
    ca_key_file: str
    serving_cert_file: str
    serving_key_file: str
    admin_cert_file: str
    admin_key_file: str


def bundle_paths(cert_dir: str) -> CertificateBundle:
    """Where L{ensure_certificates} keeps its files for C{cert_dir}."""
    j = os.path.join
    return CertificateBundle(
        ca_cert_file=j(cert_dir, "ca.crt"),
        ca_key_file=j(cert_dir, "ca.key"),
        serving_cert_file=j(cert_dir, "apiserver.crt"),
        serving_key_file=j(cert_dir, "apiserver.key"),
        admin_cert_file=j(cert_dir, "admin.crt"),
        admin_key_file=j(cert_dir, "admin.key"),
    )


def ensure_certificates(config: Any) -> CertificateBundle:
    """
    Make sure C{config.cert_dir} holds a CA, a serving certificate and an
    admin client certificate; files that exist, parse, match and are not
    about to expire are reused, the rest are generated (a new CA re-issues
    both leaves).
    """
    paths = bundle_paths(config.cert_dir)
    os.makedirs(config.cert_dir, mode=0o700, exist_ok=True)
    now = _now()

    ca = _load_pair(paths.ca_cert_file, paths.ca_key_file, now)
    new_ca = ca is None
    if ca is None:
        ca = _make_ca(now)
        _write_pair(paths.ca_cert_file, paths.ca_key_file, *ca)
        log.info("Generated a certificate authority in {dir}", dir=config.cert_dir)
    ca_cert, ca_key = ca

    serving = None if new_ca else _load_pair(
        paths.serving_cert_file, paths.serving_key_file, now, issuer=ca_cert)
    if serving is None:
        serving = _make_serving(ca_cert, ca_key, now, serving_names(config))
        _write_pair(paths.serving_cert_file, paths.serving_key_file, *serving)
        log.info("Generated self-signed cert ({crt}, {key})",
                 crt=paths.serving_cert_file, key=paths.serving_key_file)

    admin = None if new_ca else _load_pair(
        paths.admin_cert_file, paths.admin_key_file, now, issuer=ca_cert)
    if admin is None:
        admin = _make_admin(ca_cert, ca_key, now)
        _write_pair(paths.admin_cert_file, paths.admin_key_file, *admin)
    return paths


def serving_names(config: Any) -> List[_Name]:
    """
    The serving certificate's SANs: localhost and the loopback addresses,
    the host name, the in-cluster names of the C{kubernetes} service and the
    first address of the service range (10.0.0.1 by default).
    """
    names: List[_Name] = [x509.DNSName("localhost")]
    host = socket.gethostname()
    if host and host != "localhost":
        names.append(x509.DNSName(host))
    names.extend(x509.DNSName(n) for n in KUBERNETES_DNS_NAMES)
    ips = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    cidr = getattr(config, "service_cluster_ip_range", "10.0.0.0/24")
    try:
        first = next(ipaddress.ip_network(cidr, strict=False).hosts())
    except (ValueError, StopIteration):
        first = None
    if first is not None and first not in ips:
        ips.append(first)
    names.extend(x509.IPAddress(ip) for ip in ips)
    return names


def write_admin_kubeconfig(config: Any, url: str) -> str:
    """
    Write C{<data-dir>/admin.kubeconfig} for C{url} (mode 0600) and return
    its path: the cluster is verified with the generated CA and the user is
    the admin client certificate.
    """
    paths = ensure_certificates(config)

    def b64(path: str) -> str:
        with open(path, "rb") as f:
            return base64.b64encode(f.read()).decode("ascii")

    name = "kapi"
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": name,
            "cluster": {
                "server": url,
                "certificate-authority-data": b64(paths.ca_cert_file),
            },
        }],
        "users": [{
            "name": ADMIN_USER,
            "user": {
                "client-certificate-data": b64(paths.admin_cert_file),
                "client-key-data": b64(paths.admin_key_file),
            },
        }],
        "contexts": [{
            "name": f"{ADMIN_USER}@{name}",
            "context": {"cluster": name, "user": ADMIN_USER},
        }],
        "current-context": f"{ADMIN_USER}@{name}",
        "preferences": {},
    }
    os.makedirs(config.data_dir, exist_ok=True)
    path = os.path.join(config.data_dir, "admin.kubeconfig")
    _atomic_write(path, yaml.safe_dump(document, sort_keys=False).encode("utf-8"), 0o600)
    return path


SERVICE_ACCOUNT_KEY = "sa.key"
SERVICE_ACCOUNT_PUBLIC_KEY = "sa.pub"


def ensure_service_account_key(cert_dir: str) -> ec.EllipticCurvePrivateKey:
    """
    The key service-account tokens are signed with (kube-apiserver's
    C{--service-account-signing-key-file}): C{<cert-dir>/sa.key} (PKCS#8,
    0600) with its public half in C{sa.pub}, generated the first time and
    reused afterwards, so tokens stay valid across restarts.
    """
    key_file = os.path.join(cert_dir, SERVICE_ACCOUNT_KEY)
    pub_file = os.path.join(cert_dir, SERVICE_ACCOUNT_PUBLIC_KEY)
    key: Any = None
    try:
        with open(key_file, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
    except (OSError, ValueError, TypeError):
        key = None
    if not (isinstance(key, ec.EllipticCurvePrivateKey)
            and isinstance(key.curve, ec.SECP256R1)):
        os.makedirs(cert_dir, mode=0o700, exist_ok=True)
        key = _new_key()
        _atomic_write(key_file, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()), 0o600)
        log.info("Generated a service-account signing key in {dir}", dir=cert_dir)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        with open(pub_file, "rb") as f:
            current = f.read()
    except OSError:
        current = b""
    if current != public:
        _atomic_write(pub_file, public, 0o644)
    return key


# -- generation ---------------------------------------------------------------


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _new_key() -> _Key:
    return ec.generate_private_key(ec.SECP256R1())


def _builder(subject: x509.Name, issuer: x509.Name, key: _Key, now: datetime.datetime,
             validity: datetime.timedelta) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + validity)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
    )


def _make_ca(now: datetime.datetime) -> Tuple[x509.Certificate, _Key]:
    key = _new_key()
    host = socket.gethostname() or "kapi"
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                         f"{host}-ca@{int(now.timestamp())}")])
    cert = (
        _builder(name, name, key, now, CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=True,
            data_encipherment=False, key_agreement=False, key_cert_sign=True,
            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(ca_cert: x509.Certificate, ca_key: _Key, subject: x509.Name,
          now: datetime.datetime, usage: Any,
          sans: Optional[Sequence[_Name]] = None) -> Tuple[x509.Certificate, _Key]:
    key = _new_key()
    builder = (
        _builder(subject, ca_cert.subject, key, now, LEAF_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=True,
            data_encipherment=False, key_agreement=False, key_cert_sign=False,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca_key.public_key()), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)),
                                        critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _make_serving(ca_cert: x509.Certificate, ca_key: _Key, now: datetime.datetime,
                  sans: Sequence[_Name]) -> Tuple[x509.Certificate, _Key]:
    host = socket.gethostname() or "kapi"
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                            f"{host}@{int(now.timestamp())}")])
    return _leaf(ca_cert, ca_key, subject, now, ExtendedKeyUsageOID.SERVER_AUTH, sans)


def _make_admin(ca_cert: x509.Certificate, ca_key: _Key,
                now: datetime.datetime) -> Tuple[x509.Certificate, _Key]:
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ADMIN_GROUP),
        x509.NameAttribute(NameOID.COMMON_NAME, ADMIN_USER),
    ])
    return _leaf(ca_cert, ca_key, subject, now, ExtendedKeyUsageOID.CLIENT_AUTH)


# -- files --------------------------------------------------------------------


def _load_pair(cert_file: str, key_file: str, now: datetime.datetime,
               issuer: Optional[x509.Certificate] = None,
               ) -> Optional[Tuple[x509.Certificate, _Key]]:
    """The pair in these files if usable (parses, matches, valid for a while, issued by C{issuer})."""
    try:
        with open(cert_file, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(key_file, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if _public_bytes(cert.public_key()) != _public_bytes(key.public_key()):
        return None
    if cert.not_valid_after_utc - RENEW_BEFORE < now:
        return None
    if issuer is not None:
        try:
            cert.verify_directly_issued_by(issuer)
        except Exception:  # InvalidSignature, or a different issuer
            return None
    return cert, key


def _public_bytes(public_key: Any) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def _write_pair(cert_file: str, key_file: str, cert: x509.Certificate, key: _Key) -> None:
    _atomic_write(key_file, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()), 0o600)
    _atomic_write(cert_file, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _atomic_write(path: str, data: bytes, mode: int) -> None:
    """Write to a temporary file next to C{path} and rename it into place."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
