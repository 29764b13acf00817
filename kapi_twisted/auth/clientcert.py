"""
Client certificates (kube-apiserver's x509 authenticator): a certificate the
client presented during the TLS handshake is verified against the client CA
bundle (C{--client-ca-file}, else the CA generated in C{--cert-dir}); the
user is its Common Name and the groups its Organization values.

The TLS layer only requests a certificate and accepts any, so verification
happens here, per request: the chain up to a CA of the bundle, the validity
dates, and the extended key usage (clientAuth, or none at all, as Go's
verifier allows). Results are cached per certificate, so a connection's
many requests cost one verification. The CA file is read lazily and re-read
when it changes on disk.
"""

from __future__ import annotations

import datetime
import os
import time
from collections import OrderedDict
from typing import Any, List, Optional, Sequence, Tuple

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import crypto as _crypto
from twisted.logger import Logger

from kapi_twisted.auth.user import AuthenticationError, UserInfo

log = Logger()

try:  # cryptography >= 45: chain building with adjustable extension policies
    from cryptography.x509 import verification as _verification

    _HAVE_POLICIES = hasattr(_verification.PolicyBuilder, "extension_policies")
except ImportError:  # pragma: no cover
    _verification = None  # type: ignore[assignment]
    _HAVE_POLICIES = False

_CACHE_SIZE = 1024
_STAT_INTERVAL = 1.0  # seconds between checks of the CA file


def user_from_certificate(cert: x509.Certificate) -> Optional[UserInfo]:
    """CN -> name, O -> groups; L{None} when the CN is empty (no opinion)."""
    subject = cert.subject
    names = subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    name = str(names[0].value) if names else ""
    if not name:
        return None
    groups = tuple(
        str(a.value) for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    )
    return UserInfo(name, groups=groups)


def _eku_allows_client_auth(_policy: Any, _cert: Any, ext: Any) -> None:
    if ext is None:
        return
    if ExtendedKeyUsageOID.CLIENT_AUTH in ext or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in ext:
        return
    raise ValueError("certificate specifies an incompatible key usage")


def _policies() -> Tuple[Any, Any]:
    """
    The web-PKI defaults, loosened to what Go accepts for client
    certificates: leaves need no SAN or AKI; CAs need no key usage, AKI or
    SKI; an EKU, when present, must allow clientAuth.
    """
    policy = _verification.ExtensionPolicy
    agnostic = _verification.Criticality.AGNOSTIC
    ee = (
        policy.webpki_defaults_ee()
        .may_be_present(x509.SubjectAlternativeName, agnostic, None)
        .may_be_present(x509.AuthorityKeyIdentifier, agnostic, None)
        .may_be_present(x509.ExtendedKeyUsage, agnostic, _eku_allows_client_auth)
    )
    ca = (
        policy.webpki_defaults_ca()
        .may_be_present(x509.KeyUsage, agnostic, None)
        .may_be_present(x509.AuthorityKeyIdentifier, agnostic, None)
        .may_be_present(x509.SubjectKeyIdentifier, agnostic, None)
    )
    return ca, ee


_POLICIES = _policies() if _HAVE_POLICIES else (None, None)


class CABundle:
    """
    The client CA certificates from one PEM file, re-read when the file
    changes (checked at most once a second by C{clock}).

    @ivar generation: bumped at every reload (verification caches key on it).
    """

    def __init__(self, path: str, clock: Any = None) -> None:
        self.path = path
        self._clock = clock
        self._stamp: Optional[Tuple[int, int, int]] = None
        self._checked_at: Optional[float] = None
        self.certificates: List[x509.Certificate] = []
        self.generation = 0
        self._store: Any = None

    def _now(self) -> float:
        if self._clock is not None:
            return float(self._clock.seconds())
        return time.monotonic()

    def refresh(self) -> None:
        """Re-read the file if it changed (and it was not checked in the last second)."""
        now = self._now()
        if self._checked_at is not None and now - self._checked_at < _STAT_INTERVAL:
            return
        self._checked_at = now
        try:
            st = os.stat(self.path)
        except OSError:
            stamp = None
        else:
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        certificates: List[x509.Certificate] = []
        if stamp is not None:
            try:
                with open(self.path, "rb") as f:
                    certificates = x509.load_pem_x509_certificates(f.read())
            except (OSError, ValueError) as e:
                log.error("Could not load client CA file {path}: {error}",
                          path=self.path, error=e)
        self.certificates = certificates
        self.generation += 1
        self._store = None

    def verifier(self) -> Any:
        """
        A cryptography C{ClientVerifier} for the current bundle, checking
        validity at the current time (a verifier keeps the time it was built
        at, so build one per verification: it costs about a microsecond).
        """
        if self._store is None:
            self._store = _verification.Store(self.certificates)
        ca, ee = _POLICIES
        return (
            _verification.PolicyBuilder()
            .store(self._store)
            .extension_policies(ca_policy=ca, ee_policy=ee)
            .build_client_verifier()
        )


def verify_client_certificate(
    bundle: CABundle, cert: x509.Certificate, intermediates: Sequence[x509.Certificate] = ()
) -> None:
    """Raise L{AuthenticationError} unless C{cert} chains to C{bundle} for clientAuth."""
    if not bundle.certificates:
        raise AuthenticationError(f"no client CA certificates in {bundle.path}")
    if not _HAVE_POLICIES:  # pragma: no cover (cryptography < 45)
        _verify_directly_issued(bundle, cert)
        return
    try:
        bundle.verifier().verify(cert, list(intermediates))
    except _verification.VerificationError as e:
        raise AuthenticationError(_describe(cert, e)) from None


def _verify_directly_issued(bundle: CABundle, cert: x509.Certificate) -> None:
    """For cryptography < 45: the leaf must be signed by a CA of the bundle."""
    now = datetime.datetime.now(datetime.timezone.utc)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise AuthenticationError(_describe(cert, "certificate has expired or is not yet valid"))
    try:
        ext = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        ext = None
    try:
        _eku_allows_client_auth(None, cert, ext)
    except ValueError as e:
        raise AuthenticationError(_describe(cert, e)) from None
    for ca in bundle.certificates:
        if ca.subject != cert.issuer:
            continue
        try:
            cert.verify_directly_issued_by(ca)
        except Exception:
            continue
        return
    raise AuthenticationError(_describe(cert, "certificate signed by unknown authority"))


def _describe(cert: x509.Certificate, error: Any) -> str:
    return f"verifying certificate SN={cert.serial_number} failed: {error}"


class ClientCertAuthenticator:
    """
    Authenticates requests whose TLS peer presented a certificate that
    chains to the CA bundle; requests without one get no opinion.
    """

    def __init__(self, ca_file: str, clock: Any = None) -> None:
        self.bundle = CABundle(ca_file, clock)
        self._cache: "OrderedDict[bytes, Tuple[int, float, Optional[UserInfo]]]" = OrderedDict()

    def authenticate(self, request: Any) -> Optional[UserInfo]:
        get_peer = getattr(request, "peer_certificate", None)
        peer = get_peer() if get_peer is not None else None
        if peer is None:
            return None
        return self.authenticate_certificate(peer)

    def authenticate_certificate(self, peer: Any) -> Optional[UserInfo]:
        """
        Verify C{peer} (a pyOpenSSL C{X509} or a cryptography certificate)
        and return its user; L{AuthenticationError} if it does not verify.
        """
        self.bundle.refresh()
        if isinstance(peer, x509.Certificate):
            cert: Optional[x509.Certificate] = peer
            key = peer.public_bytes(Encoding.DER)
        else:
            cert = None
            key = _crypto.dump_certificate(_crypto.FILETYPE_ASN1, peer)
        cached = self._cache.get(key)
        if cached is not None:
            generation, expires, user = cached
            if generation == self.bundle.generation and time.time() < expires:
                return user
            del self._cache[key]
        if cert is None:
            cert = peer.to_cryptography()
        verify_client_certificate(self.bundle, cert)
        user = user_from_certificate(cert)
        self._cache[key] = (
            self.bundle.generation, cert.not_valid_after_utc.timestamp(), user)
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return user
