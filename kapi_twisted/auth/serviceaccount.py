"""
Service-account tokens: the JWTs the C{serviceaccounts/<name>/token}
subresource issues (C{kubectl create token}) and the authenticator that
accepts them as bearer tokens, as kube-apiserver's C{pkg/serviceaccount}
does.

A token is an ES256 JWT signed with the server's key (C{<cert-dir>/sa.key},
L{kapi_twisted.server.certs.ensure_service_account_key}). Its claims name
the issuer, the audiences, the validity window and, under C{kubernetes.io},
the namespace, the account (name and uid) and the object the token is bound
to (a Pod, Secret or Node). Verification checks the signature, the time
window (a minute of leeway, as go-jose allows), the audiences against the
API's, and that the account and the bound object still exist with the same
uid.

Authentication is synchronous (the filter chain asks for a user, not a
Deferred): existence is read from the stores' watch caches at revision 0,
as kube-apiserver reads its informers' listers, and a verified token's
claims are kept, so a repeated token costs a few dict look-ups and no
signature check.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from twisted.python.failure import Failure

from kapi_twisted.auth.tokenfile import bearer_token
from kapi_twisted.auth.user import AuthenticationError, UserInfo

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
"""C{iss} of issued tokens, and the API's audience, unless configured otherwise."""

USER_PREFIX = "system:serviceaccount:"
ALL_SERVICE_ACCOUNTS = "system:serviceaccounts"
GROUP_PREFIX = "system:serviceaccounts:"
PRIVATE_CLAIM = "kubernetes.io"

EXTRA_CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"
EXTRA_POD_NAME = "authentication.kubernetes.io/pod-name"
EXTRA_POD_UID = "authentication.kubernetes.io/pod-uid"
EXTRA_NODE_NAME = "authentication.kubernetes.io/node-name"
EXTRA_NODE_UID = "authentication.kubernetes.io/node-uid"

DEFAULT_EXPIRATION_SECONDS = 3600
MIN_EXPIRATION_SECONDS = 600
MAX_EXPIRATION_SECONDS = 1 << 32
#: The lifetime the kubelet asks for; kube-apiserver then issues a pod-bound
#: token valid for a year that only warns after the hour (safe transition
#: from the old never-expiring tokens).
WARN_ONLY_EXPIRATION_SECONDS = 3607
EXTENDED_EXPIRATION_SECONDS = 365 * 24 * 3600

#: go-jose's default leeway on exp, nbf and iat.
LEEWAY = 60.0
#: An account or bound object deleted less than this long ago still backs
#: its tokens (kube-apiserver's grace for a terminating object).
DELETION_GRACE = 60.0
_CACHE_LIMIT = 4096
_ALGORITHM = "ES256"

Key = ec.EllipticCurvePrivateKey


def username(namespace: str, name: str) -> str:
    """C{system:serviceaccount:<namespace>:<name>}."""
    return f"{USER_PREFIX}{namespace}:{name}"


def group_names(namespace: str) -> Tuple[str, ...]:
    """The groups every account of C{namespace} is in (C{system:authenticated} aside)."""
    return (ALL_SERVICE_ACCOUNTS, GROUP_PREFIX + namespace)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """The C{kid} header: base64url of the SHA-256 of the DER public key, as kube computes it."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return _b64(hashlib.sha256(der).digest())


def _ref(obj: Mapping[str, Any]) -> Dict[str, str]:
    meta = obj.get("metadata") or {}
    return {"name": meta.get("name") or "", "uid": meta.get("uid") or ""}


def _audience_list(value: Any) -> Tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list):
        return tuple(a for a in value if isinstance(a, str))
    return ()


def _go_quote(values: Sequence[str]) -> str:
    """A string slice as Go's C{%q} prints it: C{["a" "b"]}."""
    return "[" + " ".join(json.dumps(v) for v in values) + "]"


class ServiceAccountTokens:
    """
    The token issuer of one server: signs claims and checks signatures.

    @param key: the ES256 (P-256) signing key, or a callable returning it,
        called on first use (the key file is then made only when needed).
    @param issuer: C{iss} of issued tokens; a token naming another issuer
        is not ours (no opinion).
    @param api_audiences: what the API itself accepts (kube-apiserver's
        C{--api-audiences}); by default the issuer.
    """

    def __init__(self, key: Union[Key, Callable[[], Key]], issuer: str = DEFAULT_ISSUER,
                 api_audiences: Optional[Sequence[str]] = None) -> None:
        self._key_source = key
        self._key: Optional[Key] = key if isinstance(key, ec.EllipticCurvePrivateKey) else None
        self._key_id = ""
        self.issuer = issuer
        self.api_audiences: Tuple[str, ...] = tuple(api_audiences or (issuer,))

    @classmethod
    def from_config(cls, config: Any) -> "ServiceAccountTokens":
        """The issuer of a L{kapi_twisted.config.ServerConfig}: its key in C{--cert-dir}."""
        from kapi_twisted.server.certs import ensure_service_account_key

        cert_dir = config.cert_dir
        issuer = getattr(config, "service_account_issuer", "") or DEFAULT_ISSUER
        audiences = getattr(config, "api_audiences", None) or (issuer,)
        return cls(lambda: ensure_service_account_key(cert_dir), issuer, audiences)

    @property
    def key(self) -> Key:
        if self._key is None:
            self._key = self._key_source()  # type: ignore[operator]
        return self._key

    @property
    def key_id(self) -> str:
        if not self._key_id:
            self._key_id = key_id(self.key.public_key())
        return self._key_id

    # -- issuing ------------------------------------------------------------------

    def claims(self, account: Mapping[str, Any], audiences: Sequence[str], now: float,
               expiration_seconds: int, pod: Optional[Mapping[str, Any]] = None,
               secret: Optional[Mapping[str, Any]] = None,
               node: Optional[Mapping[str, Any]] = None,
               warn_after: int = 0) -> Dict[str, Any]:
        """
        The claims of a token for C{account} (a ServiceAccount object), bound
        to C{pod} (with its C{node} when known), C{secret} or C{node}.
        """
        meta = account.get("metadata") or {}
        namespace = meta.get("namespace") or ""
        issued = int(now)
        private: Dict[str, Any] = {"namespace": namespace, "serviceaccount": _ref(account)}
        if pod is not None:
            private["pod"] = _ref(pod)
            if node is not None:
                private["node"] = _ref(node)
        elif secret is not None:
            private["secret"] = _ref(secret)
        elif node is not None:
            private["node"] = _ref(node)
        if warn_after:
            private["warnafter"] = issued + int(warn_after)
        return {
            "aud": list(audiences),
            "exp": issued + int(expiration_seconds),
            "iat": issued,
            "iss": self.issuer,
            "jti": str(uuid.uuid4()),
            PRIVATE_CLAIM: private,
            "nbf": issued,
            "sub": username(namespace, meta.get("name") or ""),
        }

    def sign(self, claims: Mapping[str, Any]) -> str:
        """A compact JWS (ES256) of C{claims}."""
        header = {"alg": _ALGORITHM, "kid": self.key_id}
        signing_input = (
            _b64(json.dumps(header, separators=(",", ":")).encode("utf-8")) + "." +
            _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode("utf-8")))
        der = self.key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return signing_input + "." + _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    # -- verifying ------------------------------------------------------------------

    def verify(self, token: str) -> Optional[Dict[str, Any]]:
        """
        The claims of a token this issuer signed. L{None} for a token that is
        not ours (not a JWT, or another issuer's); raises
        L{AuthenticationError} for one of ours that does not verify.
        """
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(claims, dict) or claims.get("iss") != self.issuer:
            return None
        try:
            header = json.loads(_unb64(parts[0]))
            signature = _unb64(parts[2])
        except (ValueError, UnicodeDecodeError):
            raise AuthenticationError("invalid bearer token, malformed service account token")
        if not isinstance(header, dict) or header.get("alg") != _ALGORITHM or len(signature) != 64:
            raise AuthenticationError("invalid bearer token, unsupported signature algorithm")
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                   int.from_bytes(signature[32:], "big"))
        try:
            self.key.public_key().verify(der, f"{parts[0]}.{parts[1]}".encode("ascii"),
                                         ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, UnicodeEncodeError):
            raise AuthenticationError(
                "invalid bearer token, service account token signature is invalid")
        return claims


@dataclass(frozen=True)
class _Ref:
    name: str
    uid: str


@dataclass(frozen=True)
class _Verified:
    """A token whose signature checked out, its claims parsed once."""

    namespace: str
    account: _Ref
    pod: Optional[_Ref]
    secret: Optional[_Ref]
    node: Optional[_Ref]
    expiry: float
    not_before: Optional[float]
    issued_at: Optional[float]
    audiences: Tuple[str, ...]
    user: UserInfo


@dataclass(frozen=True)
class TokenResponse:
    """An authenticated token: who it is, and for which of the asked audiences."""

    user: UserInfo
    audiences: Tuple[str, ...]


def _claim_ref(private: Mapping[str, Any], name: str) -> Optional[_Ref]:
    value = private.get(name)
    if value is None:
        return None
    if not isinstance(value, dict) or not value.get("name"):
        raise AuthenticationError(f"service account token has an invalid {name} claim")
    return _Ref(str(value.get("name")), str(value.get("uid") or ""))


def _number(claims: Mapping[str, Any], name: str) -> Optional[float]:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AuthenticationError(f"service account token has an invalid {name} claim")
    return float(value)


def _parse(claims: Mapping[str, Any]) -> _Verified:
    private = claims.get(PRIVATE_CLAIM)
    if not isinstance(private, dict):
        raise AuthenticationError("service account token claims are missing")
    namespace = private.get("namespace")
    account = _claim_ref(private, "serviceaccount")
    if not isinstance(namespace, str) or not namespace or account is None:
        raise AuthenticationError("service account token claims are missing")
    if claims.get("sub") != username(namespace, account.name):
        raise AuthenticationError("service account token subject does not match its claims")
    expiry = _number(claims, "exp")
    if expiry is None:
        raise AuthenticationError("service account token has no expiry")
    pod = _claim_ref(private, "pod")
    secret = _claim_ref(private, "secret")
    node = _claim_ref(private, "node")
    extra: Dict[str, Tuple[str, ...]] = {}
    if pod is not None and pod.uid:
        extra[EXTRA_POD_NAME] = (pod.name,)
        extra[EXTRA_POD_UID] = (pod.uid,)
    jti = claims.get("jti")
    if isinstance(jti, str) and jti:
        extra[EXTRA_CREDENTIAL_ID] = ("JTI=" + jti,)
    if node is not None:
        extra[EXTRA_NODE_NAME] = (node.name,)
        if node.uid:
            extra[EXTRA_NODE_UID] = (node.uid,)
    user = UserInfo(username(namespace, account.name), account.uid,
                    group_names(namespace), extra)
    return _Verified(namespace, account, pod, secret, node, expiry,
                     _number(claims, "nbf"), _number(claims, "iat"),
                     _audience_list(claims.get("aud")), user)


def _deleted_before(obj: Mapping[str, Any], limit: float) -> bool:
    stamp = (obj.get("metadata") or {}).get("deletionTimestamp")
    if not stamp:
        return False
    try:
        when = calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        return True
    return when < limit


class StoreLookup:
    """
    The objects tokens name, as the stores' watch caches hold them now
    (revision 0, no round trip): synchronous, as an authenticator must be.

    @param stores: the server's stores keyed by (group, version, plural).
    """

    PLURALS = ("serviceaccounts", "pods", "secrets", "nodes")

    def __init__(self, stores: Mapping[Tuple[str, str, str], Any]) -> None:
        self._stores = {p: stores.get(("", "v1", p)) for p in self.PLURALS}

    def get(self, plural: str, namespace: str, name: str) -> Optional[Dict[str, Any]]:
        """The object, or L{None}; L{AuthenticationError} if it cannot be known now."""
        store = self._stores.get(plural)
        if store is None:
            raise AuthenticationError(f"{plural} cannot be looked up")
        key = store.keys.key(namespace, name)
        # The exact key sorts first among the keys it is a prefix of.
        d = store.storage.list(key, 0, 1, None)
        box: list = []
        d.addBoth(box.append)
        if not box:
            raise AuthenticationError(f"{plural} are not cached yet")
        result = box[0]
        if isinstance(result, Failure):
            raise AuthenticationError(
                f"looking up {plural} failed: {result.getErrorMessage()}")
        for kv in result.items:
            if kv.key == key:
                return kv.object
        return None


class ServiceAccountAuthenticator:
    """
    Authenticates bearer tokens this server issued to service accounts.
    Other bearer tokens (not JWTs, other issuers) get no opinion.

    @param tokens: the issuer whose signatures are trusted.
    @param clock: an C{IReactorTime} (C{seconds()}); the wall clock if None.
    @param lookup: where accounts and bound objects are found (anything with
        L{StoreLookup.get}); set later with L{use_stores}. Until then every
        token of ours fails, as its account cannot be checked.
    """

    def __init__(self, tokens: ServiceAccountTokens, clock: Any = None,
                 lookup: Any = None) -> None:
        self.tokens = tokens
        self.clock = clock
        self.lookup = lookup
        self._verified: Dict[str, Optional[_Verified]] = {}

    def use_stores(self, stores: Mapping[Tuple[str, str, str], Any]) -> None:
        """Look accounts and bound objects up in the server's stores."""
        self.lookup = StoreLookup(stores)

    def _now(self) -> float:
        return self.clock.seconds() if self.clock is not None else time.time()

    def authenticate(self, request: Any) -> Optional[UserInfo]:
        token = bearer_token(request)
        if token is None:
            return None
        response = self.authenticate_token(token, getattr(request, "token_audiences", None))
        return None if response is None else response.user

    def authenticate_token(self, token: str,
                           audiences: Optional[Sequence[str]] = None) -> Optional[TokenResponse]:
        """
        Who C{token} is, for C{audiences} (the API's when not given):
        L{None} if the token is not ours, L{AuthenticationError} if it is
        ours and not valid (now, for these audiences, or any more).
        """
        verified = self._verify(token)
        if verified is None:
            return None
        now = self._now()
        if now > verified.expiry + LEEWAY:
            raise AuthenticationError("service account token has expired")
        if verified.not_before is not None and now + LEEWAY < verified.not_before:
            raise AuthenticationError("service account token is not valid yet")
        if verified.issued_at is not None and now + LEEWAY < verified.issued_at:
            raise AuthenticationError("service account token is issued in the future")
        wanted = tuple(audiences) if audiences else self.tokens.api_audiences
        offered = verified.audiences or self.tokens.api_audiences
        matched = tuple(a for a in wanted if a in offered)
        if not matched:
            raise AuthenticationError(
                f"token audiences {_go_quote(offered)} is invalid for the target audiences "
                f"{_go_quote(wanted)}")
        self._check_objects(verified, now)
        return TokenResponse(verified.user, matched)

    def _verify(self, token: str) -> Optional[_Verified]:
        try:
            return self._verified[token]
        except KeyError:
            pass
        claims = self.tokens.verify(token)
        verified = None if claims is None else _parse(claims)
        if len(self._verified) >= _CACHE_LIMIT:
            self._verified.clear()
        self._verified[token] = verified
        return verified

    def _check_objects(self, verified: _Verified, now: float) -> None:
        if self.lookup is None:
            raise AuthenticationError("service accounts cannot be looked up yet")
        namespace = verified.namespace
        deleted_before = now - DELETION_GRACE
        self._check("serviceaccounts", "service account", namespace, verified.account,
                    deleted_before)
        if verified.pod is not None:
            self._check("pods", "pod", namespace, verified.pod, deleted_before)
        if verified.secret is not None:
            self._check("secrets", "secret", namespace, verified.secret, deleted_before)
        if verified.node is not None and verified.pod is None:
            self._check("nodes", "node", "", verified.node, deleted_before)

    def _check(self, plural: str, label: str, namespace: str, ref: _Ref,
               deleted_before: float) -> None:
        obj = self.lookup.get(plural, namespace, ref.name)
        if obj is None:
            raise AuthenticationError(f'{plural} "{ref.name}" not found')
        where = f"{namespace}/{ref.name}" if namespace else ref.name
        if _deleted_before(obj, deleted_before):
            raise AuthenticationError(f"{label} {where} has been deleted")
        uid = (obj.get("metadata") or {}).get("uid") or ""
        if uid != ref.uid:
            raise AuthenticationError(f"{label} UID ({uid}) does not match claim ({ref.uid})")
