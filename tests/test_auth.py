"""
Authentication, first cut (kapi_twisted.auth): static tokens, client
certificates verified against the client CA, anonymous access to the public
paths only, and how they combine.
"""

from __future__ import annotations

import datetime
import os

from cryptography.x509.oid import ExtendedKeyUsageOID
from OpenSSL import crypto
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.auth import (
    ANONYMOUS,
    AnonymousAuthenticator,
    AuthenticationError,
    ClientCertAuthenticator,
    TokenFileAuthenticator,
    TokenFileError,
    UnionAuthenticator,
    UserInfo,
    bearer_token,
    build_authenticator,
    parse_token_file,
)
from kapi_twisted.config import ConfigError, ServerConfig
from tests.test_filters_harness import issue, make_ca, write_ca


class FakeRequest:
    """Just what authenticators read: headers, path and the peer certificate."""

    def __init__(self, path: bytes = b"/api", authorization: bytes = b"",
                 certificate=None) -> None:
        self.path = path
        self.headers = {b"authorization": authorization} if authorization else {}
        self.certificate = certificate

    def getHeader(self, name: bytes):
        return self.headers.get(name.lower())

    def peer_certificate(self):
        return self.certificate


class TokenFileTests(SynchronousTestCase):
    def test_records(self) -> None:
        """Each line maps a token to user, uid and the quoted, comma-separated groups."""
        tokens = parse_token_file(
            'secret1,alice,uid-1,"dev,ops"\n'
            "secret2,bob,uid-2\n"
            "secret3,carol,uid-3,solo,ignored-column\n"
        )
        self.assertEqual(tokens["secret1"], UserInfo("alice", "uid-1", ("dev", "ops")))
        self.assertEqual(tokens["secret2"], UserInfo("bob", "uid-2", ()))
        self.assertEqual(tokens["secret3"], UserInfo("carol", "uid-3", ("solo",)))

    def test_leading_spaces_and_blank_lines(self) -> None:
        """Spaces after commas are dropped and blank lines skipped, as Go's csv reader does."""
        tokens = parse_token_file('\nt, alice, 1, "a,b"\n\n')
        self.assertEqual(tokens["t"], UserInfo("alice", "1", ("a", "b")))

    def test_too_few_columns(self) -> None:
        """A record without token, user and uid stops the server with one clear line."""
        with self.assertRaises(TokenFileError) as caught:
            parse_token_file("t,alice\n", "/etc/tokens.csv")
        self.assertEqual(
            str(caught.exception),
            "token file '/etc/tokens.csv' must have at least 3 columns "
            "(token, user name, user uid), found 2")

    def test_empty_token_skipped_duplicate_last_wins(self) -> None:
        """An empty token is ignored; a repeated token keeps its last record."""
        tokens = parse_token_file(",nobody,0\nt,first,1\nt,second,2\n")
        self.assertEqual(list(tokens), ["t"])
        self.assertEqual(tokens["t"].name, "second")

    def test_bad_file_is_config_error(self) -> None:
        """--token-auth-file with a malformed record fails at start naming the flag."""
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("only-a-token\n")
        with self.assertRaises(ConfigError) as caught:
            build_authenticator(ServerConfig(data_dir=os.path.dirname(path),
                                             token_auth_file=path))
        self.assertTrue(str(caught.exception).startswith("--token-auth-file: token file"))

    def test_bearer_header(self) -> None:
        """Only 'Bearer <token>' (any case) carries a token; empty tokens do not."""
        self.assertEqual(bearer_token(FakeRequest(authorization=b"Bearer abc")), "abc")
        self.assertEqual(bearer_token(FakeRequest(authorization=b"bearer abc extra")), "abc")
        self.assertIsNone(bearer_token(FakeRequest(authorization=b"Basic abc")))
        self.assertIsNone(bearer_token(FakeRequest(authorization=b"Bearer ")))
        self.assertIsNone(bearer_token(FakeRequest()))

    def test_unknown_token_fails(self) -> None:
        """An unknown token is an authentication failure, not 'no opinion'."""
        authenticator = TokenFileAuthenticator(parse_token_file("t,alice,1\n"))
        self.assertEqual(authenticator.authenticate(FakeRequest(authorization=b"Bearer t")).name,
                         "alice")
        self.assertRaises(AuthenticationError, authenticator.authenticate,
                          FakeRequest(authorization=b"Bearer x"))
        self.assertIsNone(authenticator.authenticate(FakeRequest()))


class ClientCertTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.ca = make_ca("kapi-ca")
        self.ca_file = self.mktemp()
        write_ca(self.ca_file, self.ca)
        self.clock = Clock()
        self.authenticator = ClientCertAuthenticator(self.ca_file, self.clock)

    def authenticate(self, issued):
        return self.authenticator.authenticate(
            FakeRequest(certificate=crypto.X509.from_cryptography(issued.cert)))

    def test_user_from_certificate(self) -> None:
        """CN is the user name, each O a group."""
        user = self.authenticate(issue(self.ca, "admin", ["system:masters", "ops"]))
        self.assertEqual(user, UserInfo("admin", "", ("system:masters", "ops")))

    def test_other_ca_refused(self) -> None:
        """A certificate signed by another CA is refused."""
        other = make_ca("other-ca")
        with self.assertRaises(AuthenticationError):
            self.authenticate(issue(other, "admin", ["system:masters"]))

    def test_same_name_other_ca_refused(self) -> None:
        """A CA impersonating the real one by name does not help."""
        impostor = make_ca("kapi-ca")
        self.assertRaises(AuthenticationError, self.authenticate,
                          issue(impostor, "admin", ["system:masters"]))

    def test_expired_refused(self) -> None:
        """An expired certificate is refused."""
        past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
        self.assertRaises(AuthenticationError, self.authenticate,
                          issue(self.ca, "admin", not_after=past))

    def test_server_only_usage_refused(self) -> None:
        """A certificate whose extended key usage excludes clientAuth is refused."""
        self.assertRaises(AuthenticationError, self.authenticate,
                          issue(self.ca, "web", usages=[ExtendedKeyUsageOID.SERVER_AUTH]))

    def test_no_usage_extension_accepted(self) -> None:
        """A certificate without an extended key usage is good for any use (as in Go)."""
        self.assertEqual(self.authenticate(issue(self.ca, "old-client", usages=())).name,
                         "old-client")

    def test_no_common_name_no_opinion(self) -> None:
        """A valid certificate without a common name identifies nobody."""
        self.assertIsNone(self.authenticate(issue(self.ca, "")))

    def test_no_certificate_no_opinion(self) -> None:
        """A connection without a client certificate is left to other authenticators."""
        self.assertIsNone(self.authenticator.authenticate(FakeRequest()))

    def test_ca_file_replaced(self) -> None:
        """A replaced CA file is read again: old clients are refused, new ones accepted."""
        old_client = issue(self.ca, "old")
        self.assertEqual(self.authenticate(old_client).name, "old")
        new_ca = make_ca("kapi-ca-2")
        write_ca(self.ca_file, new_ca)
        os.utime(self.ca_file, ns=(1, 1))  # a different stamp even within one tick
        self.clock.advance(1)
        self.assertRaises(AuthenticationError, self.authenticate, old_client)
        self.assertEqual(self.authenticate(issue(new_ca, "new")).name, "new")

    def test_bundle_of_cas(self) -> None:
        """Every CA in the bundle file is trusted."""
        second = make_ca("second")
        write_ca(self.ca_file, self.ca, second)
        self.assertEqual(self.authenticate(issue(second, "two")).name, "two")

    def test_missing_ca_file(self) -> None:
        """Without a CA file, a presented certificate cannot be verified (401)."""
        authenticator = ClientCertAuthenticator(self.mktemp())
        self.assertRaises(
            AuthenticationError, authenticator.authenticate,
            FakeRequest(certificate=crypto.X509.from_cryptography(issue(self.ca, "x").cert)))


class _Fixed:
    def __init__(self, result) -> None:
        self.result = result

    def authenticate(self, request):
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


class UnionTests(SynchronousTestCase):
    def test_first_success_wins(self) -> None:
        """The first authenticator that knows the request decides, even after a failure."""
        union = UnionAuthenticator([_Fixed(AuthenticationError("bad")),
                                    _Fixed(UserInfo("alice"))])
        self.assertEqual(union.authenticate(FakeRequest()),
                         UserInfo("alice", groups=("system:authenticated",)))

    def test_failure_is_not_anonymous(self) -> None:
        """When credentials fail and none succeed, the request fails even on public paths."""
        union = UnionAuthenticator([_Fixed(AuthenticationError("bad")), _Fixed(None)],
                                   AnonymousAuthenticator())
        self.assertRaises(AuthenticationError, union.authenticate,
                          FakeRequest(path=b"/healthz"))

    def test_anonymous_only_on_public_paths(self) -> None:
        """Without credentials: anonymous on /healthz, /livez, /readyz, /version and below."""
        union = UnionAuthenticator([_Fixed(None)], AnonymousAuthenticator())
        for path in (b"/healthz", b"/livez/ping", b"/readyz", b"/version"):
            self.assertEqual(union.authenticate(FakeRequest(path=path)), ANONYMOUS)
        for path in (b"/api", b"/metrics", b"/versions", b"/healthzx"):
            self.assertIsNone(union.authenticate(FakeRequest(path=path)))

    def test_authenticated_group_once(self) -> None:
        """system:authenticated is added once."""
        union = UnionAuthenticator([_Fixed(UserInfo("a", groups=("system:authenticated",)))])
        self.assertEqual(union.authenticate(FakeRequest()).groups, ("system:authenticated",))
