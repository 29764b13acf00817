"""
Service-account tokens without a server: signing and its claims, the
authenticator's checks (signature, time window, audiences, the account and
bound object still there with the same uid), the signing key kept in the
cert dir, and TokenReviews over the authenticator union.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from typing import Any, Dict, Optional, Tuple

from cryptography.hazmat.primitives.asymmetric import ec
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.auth import (
    ALL_AUTHENTICATED,
    AuthenticationError,
    ServiceAccountAuthenticator,
    ServiceAccountTokens,
    TokenFileAuthenticator,
    TokenReviewer,
    UnionAuthenticator,
    UserInfo,
    build_authenticator,
    service_account_authenticator,
)
from kapi_twisted.auth.serviceaccount import DEFAULT_ISSUER, key_id
from kapi_twisted.config import ServerConfig
from kapi_twisted.server.certs import ensure_service_account_key

NOW = 1_800_000_000.0


def account(name: str = "robot", namespace: str = "team", uid: str = "sa-uid-1") -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace, "uid": uid}}


def payload(token: str) -> Dict[str, Any]:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def header(token: str) -> Dict[str, Any]:
    part = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class FakeLookup:
    """The objects a token may name, keyed by (plural, namespace, name)."""

    def __init__(self, *objects: Tuple[str, dict]) -> None:
        self.objects: Dict[Tuple[str, str, str], dict] = {}
        for plural, obj in objects:
            self.add(plural, obj)

    def add(self, plural: str, obj: dict) -> None:
        meta = obj["metadata"]
        self.objects[(plural, meta.get("namespace", ""), meta["name"])] = obj

    def remove(self, plural: str, namespace: str, name: str) -> None:
        del self.objects[(plural, namespace, name)]

    def get(self, plural: str, namespace: str, name: str) -> Optional[dict]:
        return self.objects.get((plural, namespace, name))


class FakeRequest:
    path = b"/api"

    def __init__(self, token: Optional[str] = None) -> None:
        self.token = token

    def getHeader(self, name: bytes) -> Optional[bytes]:
        if name.lower() == b"authorization" and self.token is not None:
            return b"Bearer " + self.token.encode()
        return None


class CountingTokens(ServiceAccountTokens):
    verified = 0

    def verify(self, token: str):
        self.verified += 1
        return super().verify(token)


class Fixture(SynchronousTestCase):
    def setUp(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.tokens = CountingTokens(self.key)
        self.clock = Clock()
        self.clock.advance(NOW)
        self.account = account()
        self.lookup = FakeLookup(("serviceaccounts", self.account))
        self.authenticator = ServiceAccountAuthenticator(self.tokens, self.clock, self.lookup)

    def issue(self, expiration: int = 3600, audiences: Any = None, **bound: Any) -> str:
        claims = self.tokens.claims(self.account, audiences or [DEFAULT_ISSUER],
                                    self.clock.seconds(), expiration, **bound)
        return self.tokens.sign(claims)


class SigningTests(Fixture):
    def test_claims_as_kube_issues_them(self) -> None:
        """A token carries iss, sub, aud, exp, iat, nbf, jti and the kubernetes.io claim."""
        token = self.issue()
        claims = payload(token)
        self.assertEqual(claims["iss"], "https://kubernetes.default.svc.cluster.local")
        self.assertEqual(claims["sub"], "system:serviceaccount:team:robot")
        self.assertEqual(claims["aud"], ["https://kubernetes.default.svc.cluster.local"])
        self.assertEqual((claims["iat"], claims["nbf"], claims["exp"]),
                         (int(NOW), int(NOW), int(NOW) + 3600))
        self.assertEqual(len(claims["jti"]), 36)
        self.assertEqual(claims["kubernetes.io"], {
            "namespace": "team", "serviceaccount": {"name": "robot", "uid": "sa-uid-1"}})
        self.assertEqual(header(token), {"alg": "ES256", "kid": key_id(self.key.public_key())})

    def test_bound_claims(self) -> None:
        """A pod-bound token names the pod and its node; a secret-bound one the secret."""
        pod = {"metadata": {"name": "web", "namespace": "team", "uid": "pod-uid"}}
        node = {"metadata": {"name": "n1", "uid": "node-uid"}}
        claims = payload(self.issue(pod=pod, node=node))["kubernetes.io"]
        self.assertEqual(claims["pod"], {"name": "web", "uid": "pod-uid"})
        self.assertEqual(claims["node"], {"name": "n1", "uid": "node-uid"})
        secret = {"metadata": {"name": "s", "namespace": "team", "uid": "secret-uid"}}
        claims = payload(self.issue(secret=secret))["kubernetes.io"]
        self.assertEqual(claims["secret"], {"name": "s", "uid": "secret-uid"})
        self.assertNotIn("pod", claims)

    def test_signature_verifies(self) -> None:
        """The issuer verifies its own tokens and returns their claims."""
        token = self.issue()
        self.assertEqual(self.tokens.verify(token), payload(token))

    def test_tampered_token_fails(self) -> None:
        """Changing the payload (here: the account name) breaks the signature."""
        head, body, signature = self.issue().split(".")
        claims = payload(f"{head}.{body}.{signature}")
        claims["kubernetes.io"]["serviceaccount"]["name"] = "admin"
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        with self.assertRaises(AuthenticationError):
            self.tokens.verify(f"{head}.{forged}.{signature}")

    def test_other_key_fails(self) -> None:
        """A token with our issuer signed by another key is refused, not ignored."""
        other = ServiceAccountTokens(ec.generate_private_key(ec.SECP256R1()))
        token = other.sign(other.claims(self.account, [DEFAULT_ISSUER], NOW, 3600))
        with self.assertRaises(AuthenticationError):
            self.tokens.verify(token)

    def test_not_ours_is_no_opinion(self) -> None:
        """Opaque tokens and other issuers' JWTs are left to other authenticators."""
        self.assertIsNone(self.tokens.verify("static-token"))
        self.assertIsNone(self.tokens.verify("a.b.c"))
        other = ServiceAccountTokens(self.key, issuer="https://elsewhere.example.com")
        token = other.sign(other.claims(self.account, ["x"], NOW, 3600))
        self.assertIsNone(self.tokens.verify(token))
        self.assertIsNone(self.authenticator.authenticate(FakeRequest(token)))
        self.assertIsNone(self.authenticator.authenticate(FakeRequest()))


class AuthenticatorTests(Fixture):
    def test_user(self) -> None:
        """The token authenticates as system:serviceaccount:<ns>:<name> with the account's uid."""
        user = self.authenticator.authenticate(FakeRequest(self.issue()))
        self.assertEqual(user.name, "system:serviceaccount:team:robot")
        self.assertEqual(user.uid, "sa-uid-1")
        self.assertEqual(user.groups, ("system:serviceaccounts", "system:serviceaccounts:team"))
        [credential] = user.extra["authentication.kubernetes.io/credential-id"]
        self.assertTrue(credential.startswith("JTI="))

    def test_repeated_token_verified_once(self) -> None:
        """A token seen before is not verified again and yields the same user."""
        token = self.issue()
        first = self.authenticator.authenticate(FakeRequest(token))
        second = self.authenticator.authenticate(FakeRequest(token))
        self.assertIs(first, second)
        self.assertEqual(self.tokens.verified, 1)

    def test_expiry(self) -> None:
        """A token works until its exp (plus a minute of leeway), then is refused."""
        token = self.issue(expiration=600)
        self.clock.advance(600 + 60)
        self.assertIsNotNone(self.authenticator.authenticate(FakeRequest(token)))
        self.clock.advance(1)
        with self.assertRaises(AuthenticationError) as caught:
            self.authenticator.authenticate(FakeRequest(token))
        self.assertEqual(str(caught.exception), "service account token has expired")

    def test_not_yet_valid(self) -> None:
        """A token whose nbf is more than a minute ahead is refused."""
        claims = self.tokens.claims(self.account, [DEFAULT_ISSUER], NOW + 120, 3600)
        with self.assertRaises(AuthenticationError):
            self.authenticator.authenticate(FakeRequest(self.tokens.sign(claims)))

    def test_audience(self) -> None:
        """A token for another audience does not authenticate to the API."""
        token = self.issue(audiences=["vault"])
        with self.assertRaises(AuthenticationError) as caught:
            self.authenticator.authenticate(FakeRequest(token))
        self.assertIn('token audiences ["vault"] is invalid for the target audiences',
                      str(caught.exception))
        response = self.authenticator.authenticate_token(token, ["vault", "other"])
        self.assertEqual(response.audiences, ("vault",))

    def test_deleted_account(self) -> None:
        """Once the account is deleted its tokens stop working."""
        token = self.issue()
        self.assertIsNotNone(self.authenticator.authenticate(FakeRequest(token)))
        self.lookup.remove("serviceaccounts", "team", "robot")
        with self.assertRaises(AuthenticationError) as caught:
            self.authenticator.authenticate(FakeRequest(token))
        self.assertEqual(str(caught.exception), 'serviceaccounts "robot" not found')

    def test_recreated_account(self) -> None:
        """An account deleted and created again (new uid) does not inherit old tokens."""
        token = self.issue()
        self.lookup.add("serviceaccounts", account(uid="sa-uid-2"))
        with self.assertRaises(AuthenticationError) as caught:
            self.authenticator.authenticate(FakeRequest(token))
        self.assertEqual(str(caught.exception),
                         "service account UID (sa-uid-2) does not match claim (sa-uid-1)")

    def test_terminating_account(self) -> None:
        """An account being deleted keeps its tokens for a minute after its deletionTimestamp."""
        token = self.issue()
        terminating = account()
        terminating["metadata"]["deletionTimestamp"] = "2027-01-15T08:00:00Z"  # NOW
        self.lookup.add("serviceaccounts", terminating)
        self.assertIsNotNone(self.authenticator.authenticate(FakeRequest(token)))
        self.clock.advance(61)
        with self.assertRaises(AuthenticationError) as caught:
            self.authenticator.authenticate(FakeRequest(token))
        self.assertEqual(str(caught.exception), "service account team/robot has been deleted")

    def test_bound_pod(self) -> None:
        """A pod-bound token names the pod in the user's extra and dies with the pod."""
        pod = {"metadata": {"name": "web", "namespace": "team", "uid": "pod-uid"}}
        self.lookup.add("pods", pod)
        token = self.issue(pod=pod)
        user = self.authenticator.authenticate(FakeRequest(token))
        self.assertEqual(user.extra["authentication.kubernetes.io/pod-name"], ("web",))
        self.assertEqual(user.extra["authentication.kubernetes.io/pod-uid"], ("pod-uid",))
        self.lookup.remove("pods", "team", "web")
        with self.assertRaises(AuthenticationError):
            self.authenticator.authenticate(FakeRequest(token))

    def test_bound_secret_and_node(self) -> None:
        """Secret- and node-bound tokens are checked against their object."""
        secret = {"metadata": {"name": "s", "namespace": "team", "uid": "secret-uid"}}
        node = {"metadata": {"name": "n1", "uid": "node-uid"}}
        self.lookup.add("secrets", secret)
        self.lookup.add("nodes", node)
        by_secret, by_node = self.issue(secret=secret), self.issue(node=node)
        self.assertIsNotNone(self.authenticator.authenticate(FakeRequest(by_secret)))
        user = self.authenticator.authenticate(FakeRequest(by_node))
        self.assertEqual(user.extra["authentication.kubernetes.io/node-name"], ("n1",))
        self.lookup.add("nodes", {"metadata": {"name": "n1", "uid": "other"}})
        with self.assertRaises(AuthenticationError) as caught:
            self.authenticator.authenticate(FakeRequest(by_node))
        self.assertEqual(str(caught.exception), "node UID (other) does not match claim (node-uid)")

    def test_without_lookup(self) -> None:
        """Before the stores are wired, our tokens fail rather than pass unchecked."""
        unwired = ServiceAccountAuthenticator(self.tokens, self.clock)
        with self.assertRaises(AuthenticationError):
            unwired.authenticate(FakeRequest(self.issue()))


class UnionAndReviewTests(Fixture):
    def setUp(self) -> None:
        super().setUp()
        self.union = UnionAuthenticator([
            TokenFileAuthenticator({"static": UserInfo("alice", "1", ("dev",))}),
            self.authenticator,
        ])

    def test_union_adds_authenticated_group(self) -> None:
        """Through the union the account is also in system:authenticated, beside a token file."""
        user = self.union.authenticate(FakeRequest(self.issue()))
        self.assertEqual(user.groups, ("system:serviceaccounts", "system:serviceaccounts:team",
                                       ALL_AUTHENTICATED))

    def test_review(self) -> None:
        """A TokenReview of a valid token names the user and the matched audiences."""
        reviewer = TokenReviewer(self.union, self.tokens.api_audiences)
        result = reviewer.review(self.issue())
        self.assertEqual(result.user.name, "system:serviceaccount:team:robot")
        self.assertIn(ALL_AUTHENTICATED, result.user.groups)
        self.assertEqual(result.audiences, (DEFAULT_ISSUER,))
        self.assertEqual(result.error, "")

    def test_review_other_audience(self) -> None:
        """A review for another audience accepts tokens made for it, not static tokens."""
        reviewer = TokenReviewer(self.union, self.tokens.api_audiences)
        result = reviewer.review(self.issue(audiences=["vault"]), ["vault"])
        self.assertEqual(result.audiences, ("vault",))
        self.assertIsNone(reviewer.review("static", ["vault"]).user)
        self.assertEqual(reviewer.review("static").user.name, "alice")

    def test_review_failures(self) -> None:
        """An unknown token and a deleted account's token are reviewed as unauthenticated."""
        reviewer = TokenReviewer(self.union, self.tokens.api_audiences)
        unknown = reviewer.review("nobody")
        self.assertIsNone(unknown.user)
        self.assertEqual(unknown.error, "invalid bearer token")
        token = self.issue()
        self.lookup.remove("serviceaccounts", "team", "robot")
        gone = reviewer.review(token)
        self.assertIsNone(gone.user)
        self.assertIn('serviceaccounts "robot" not found', gone.error)


class KeyFileTests(SynchronousTestCase):
    def test_generated_once(self) -> None:
        """sa.key (0600) and sa.pub are made on first use and the same key is read back."""
        cert_dir = os.path.join(self.mktemp(), "certs")
        first = ensure_service_account_key(cert_dir)
        mode = stat.S_IMODE(os.stat(os.path.join(cert_dir, "sa.key")).st_mode)
        self.assertEqual(mode, 0o600)
        self.assertTrue(os.path.isfile(os.path.join(cert_dir, "sa.pub")))
        second = ensure_service_account_key(cert_dir)
        self.assertEqual(first.private_numbers(), second.private_numbers())

    def test_server_authenticator_signs_with_cert_dir_key(self) -> None:
        """The server's union holds a service-account authenticator keyed by <cert-dir>/sa.key."""
        data_dir = self.mktemp()
        union = build_authenticator(ServerConfig(data_dir=data_dir))
        accounts = service_account_authenticator(union)
        self.assertIsNotNone(accounts)
        self.assertFalse(os.path.exists(os.path.join(data_dir, "certs", "sa.key")))
        token = accounts.tokens.sign(accounts.tokens.claims(account(), [DEFAULT_ISSUER], NOW, 600))
        on_disk = ensure_service_account_key(os.path.join(data_dir, "certs"))
        self.assertEqual(header(token)["kid"], key_id(on_disk.public_key()))
