"""
The TLS side of secure serving: one pyOpenSSL context per certificate,
rebuilt when its files change on disk, chosen per connection by SNI.

kube-apiserver picks the certificate per handshake (C{GetConfigForClient}),
so a certificate replaced on disk is served to the next connection while
open connections keep the old one. L{ReloadingServerTLS} does the same: it
is an C{IOpenSSLServerConnectionCreator} whose every new connection starts
from the current context, after a cheap C{stat} of the files.

A client certificate is requested but not required, and any certificate is
accepted here (C{RequestClientCert}): the authenticator verifies it against
the client CA and decides who the user is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from OpenSSL import SSL
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from zope.interface import implementer

log = Logger()

ALPN_H2 = b"h2"
ALPN_HTTP11 = b"http/1.1"

TLS_VERSIONS = {
    "VersionTLS10": SSL.TLS1_VERSION,
    "VersionTLS11": SSL.TLS1_1_VERSION,
    "VersionTLS12": SSL.TLS1_2_VERSION,
    "VersionTLS13": SSL.TLS1_3_VERSION,
}

_SESSION_ID_CONTEXT = b"kapi-twisted"


class CertificateLoadError(Exception):
    """A certificate/key pair cannot be used; the message names the files."""


@dataclass(frozen=True)
class _Pair:
    certificates: Tuple[x509.Certificate, ...]  # leaf first, then the chain
    key: Any


class CertKeyFiles:
    """
    A certificate file (leaf, then any intermediates) and its key file, read
    again when either file changes (inode, size or mtime).
    """

    def __init__(self, cert_file: str, key_file: str) -> None:
        self.cert_file = cert_file
        self.key_file = key_file
        self._stamp: Optional[Tuple[Any, ...]] = None
        self.pair: Optional[_Pair] = None

    def _read_stamp(self) -> Tuple[Any, ...]:
        stamp: List[Any] = []
        for path in (self.cert_file, self.key_file):
            try:
                st = os.stat(path)
            except OSError:
                stamp.append(None)
            else:
                stamp.append((st.st_ino, st.st_size, st.st_mtime_ns))
        return tuple(stamp)

    def refresh(self) -> bool:
        """
        Load the pair if the files changed since the last look; True if a new
        pair was loaded. A pair that cannot be used is logged and the last good
        one kept (raises L{CertificateLoadError} only when there is none).
        """
        stamp = self._read_stamp()
        if stamp == self._stamp and self.pair is not None:
            return False
        try:
            pair = load_pair(self.cert_file, self.key_file)
        except CertificateLoadError as e:
            if self.pair is None:
                raise
            if stamp != self._stamp:
                log.error("Keeping the previous certificate: {error}", error=str(e))
            self._stamp = stamp
            return False
        self._stamp = stamp
        if self.pair is not None:
            log.info("Loaded a new serving certificate from {cert}", cert=self.cert_file)
        self.pair = pair
        return True


def load_pair(cert_file: str, key_file: str) -> _Pair:
    """Read and check a PEM certificate chain and its private key."""
    try:
        with open(cert_file, "rb") as f:
            certificates = tuple(x509.load_pem_x509_certificates(f.read()))
        with open(key_file, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise CertificateLoadError(f"cannot load {cert_file}, {key_file}: {e}") from None
    public = certificates[0].public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if public != key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        raise CertificateLoadError(
            f"the private key in {key_file} does not match the certificate in {cert_file}")
    return _Pair(certificates, key)


def certificate_names(certificate: x509.Certificate) -> List[str]:
    """The names a certificate serves for SNI: its DNS and IP SANs, else its CN."""
    names: List[str] = []
    try:
        sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        sans = None
    if sans is not None:
        names.extend(n.lower() for n in sans.get_values_for_type(x509.DNSName))
        names.extend(str(ip) for ip in sans.get_values_for_type(x509.IPAddress))
    if not names:
        names.extend(
            str(a.value).lower()
            for a in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME))
    return names


@dataclass(frozen=True)
class TLSSettings:
    """What every context shares: protocol floor, ALPN list, client CA names."""

    min_version: int = SSL.TLS1_2_VERSION
    alpn: Tuple[bytes, ...] = (ALPN_H2, ALPN_HTTP11)
    client_ca_file: str = ""


@implementer(IOpenSSLServerConnectionCreator)
class ReloadingServerTLS:
    """
    Builds each new server-side TLS connection from the current context.

    @param default: the certificate served without SNI or when no SNI name matches.
    @param sni: C{(files, names)}; empty names mean the certificate's own names.
        An exact name beats a wildcard (C{*.example.com}); a name given
        explicitly beats one read from a certificate; the earlier entry wins
        otherwise.
    """

    def __init__(self, default: CertKeyFiles, settings: TLSSettings,
                 sni: Sequence[Tuple[CertKeyFiles, Sequence[str]]] = ()) -> None:
        self.default = default
        self.settings = settings
        self.sni = list(sni)
        self._contexts: Dict[int, SSL.Context] = {}
        self._by_name: Dict[str, CertKeyFiles] = {}
        self._client_cas = _read_client_cas(settings.client_ca_file)
        self._refresh()

    # IOpenSSLServerConnectionCreator
    def serverConnectionForTLS(self, tlsProtocol: Any) -> SSL.Connection:
        self._refresh()
        return SSL.Connection(self._contexts[id(self.default)], None)

    def _all_files(self) -> List[CertKeyFiles]:
        return [self.default] + [files for files, _ in self.sni]

    def _refresh(self) -> None:
        """Rebuild the context of every pair whose files changed."""
        names_changed = False
        for files in self._all_files():
            if files.refresh() or id(files) not in self._contexts:
                self._contexts[id(files)] = self._context(files)
                names_changed = names_changed or files is not self.default
        if names_changed or (self.sni and not self._by_name):
            self._by_name = self._name_table()

    def _name_table(self) -> Dict[str, CertKeyFiles]:
        explicit: Dict[str, CertKeyFiles] = {}
        extracted: Dict[str, CertKeyFiles] = {}
        for files, names in self.sni:
            if names:
                for name in names:
                    explicit.setdefault(name.lower(), files)
            elif files.pair is not None:
                for name in certificate_names(files.pair.certificates[0]):
                    extracted.setdefault(name, files)
        extracted.update(explicit)
        return extracted

    def select(self, server_name: Optional[str]) -> CertKeyFiles:
        """The pair serving C{server_name} (exact match, then one-label wildcard)."""
        if server_name:
            name = server_name.lower().rstrip(".")
            found = self._by_name.get(name)
            if found is None and "." in name:
                found = self._by_name.get("*." + name.split(".", 1)[1])
            if found is not None:
                return found
        return self.default

    def _servername(self, connection: SSL.Connection) -> None:
        raw = connection.get_servername()
        if not raw or not self._by_name:
            return
        files = self.select(raw.decode("ascii", "replace"))
        if files is not self.default:
            connection.set_context(self._contexts[id(files)])

    def _context(self, files: CertKeyFiles) -> SSL.Context:
        pair = files.pair
        assert pair is not None
        ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
        ctx.set_min_proto_version(self.settings.min_version)
        ctx.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_CIPHER_SERVER_PREFERENCE
                        | SSL.OP_NO_RENEGOTIATION)
        ctx.set_mode(SSL.MODE_RELEASE_BUFFERS)
        ctx.use_certificate(pair.certificates[0])
        for extra in pair.certificates[1:]:
            ctx.add_extra_chain_cert(extra)
        ctx.use_privatekey(pair.key)
        ctx.check_privatekey()
        ctx.set_session_id(_SESSION_ID_CONTEXT)
        # Ask for a client certificate, accept whatever comes: the
        # authenticator verifies it (kube-apiserver's RequestClientCert).
        ctx.set_verify(SSL.VERIFY_PEER, _accept_any)
        for ca in self._client_cas:
            ctx.add_client_ca(ca)
        ctx.set_tlsext_servername_callback(self._servername)
        offered = self.settings.alpn

        def choose(connection: SSL.Connection, protocols: List[bytes]) -> bytes:
            for protocol in offered:
                if protocol in protocols:
                    return protocol
            return SSL.NO_OVERLAPPING_PROTOCOLS

        ctx.set_alpn_select_callback(choose)
        return ctx


def _accept_any(connection: Any, certificate: Any, errno: int, depth: int, ok: int) -> bool:
    return True


def _read_client_cas(path: str) -> List[x509.Certificate]:
    if not path:
        return []
    try:
        with open(path, "rb") as f:
            return list(x509.load_pem_x509_certificates(f.read()))
    except (OSError, ValueError) as e:
        log.warn("Cannot read client CA names from {path}: {error}", path=path, error=str(e))
        return []


# Go's answer to a cleartext request on a TLS port (net/http, server.go).
_PLAIN_HTTP_ANSWER = (
    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
_HTTP_METHOD_STARTS = (b"GET /", b"HEAD ", b"POST ", b"PUT /", b"OPTIO", b"DELET", b"PATCH")


class _HTTPSOnly(ProtocolWrapper):
    """
    Sits below TLS and looks at the first bytes once: a cleartext HTTP
    request gets Go's 400 answer instead of a TLS alert the client cannot read.
    """

    def dataReceived(self, data: bytes) -> None:
        # Looked at once; later reads go straight to TLS.
        self.dataReceived = self.wrappedProtocol.dataReceived  # type: ignore[method-assign]
        if data[:5] in _HTTP_METHOD_STARTS:
            log.debug("Cleartext HTTP request on the TLS port from {peer}",
                      peer=str(self.getPeer()))
            self.transport.write(_PLAIN_HTTP_ANSWER)
            self.transport.loseConnection()
            return
        self.wrappedProtocol.dataReceived(data)


class HTTPSOnlyFactory(WrappingFactory):
    """Wraps a TLS factory so cleartext HTTP clients are told what went wrong."""

    protocol = _HTTPSOnly
