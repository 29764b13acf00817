"""
Service-account tokens end to end, with the real kubectl against a real
server: `kubectl create token` prints a JWT that authenticates as the
account (`kubectl auth whoami`, `get --raw /api` with `--token`), stops
working once the account is deleted, and is reviewed by a TokenReview; the
TokenRequest's errors and bound objects over the API.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any, Dict

from twisted.internet import defer

from kapi_twisted.apis import protobuf
from kapi_twisted.controlplane.serviceaccounttokens import install_service_account_tokens
from tests._e2e import ServerTestCase

ISSUER = "https://kubernetes.default.svc.cluster.local"
TOKEN_PATH = "/api/v1/namespaces/default/serviceaccounts/{}/token"


def claims_of(token: str) -> Dict[str, Any]:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def token_review(token: str, audiences: Any = None) -> str:
    spec: Dict[str, Any] = {"token": token}
    if audiences:
        spec["audiences"] = audiences
    return json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                       "spec": spec})


class _TokenServer(ServerTestCase):
    """A server whose service-account tokens are wired, and kubectl with a bare token."""

    timeout = 90

    @defer.inlineCallbacks
    def start_server(self, **settings: Any):
        server = yield super().start_server(**settings)
        # What the application does once the chain is built (harmless if done already).
        install_service_account_tokens(server.service.serving.resource.authenticator,
                                       server.service.stores)
        return server

    def as_token(self, token: str, *args: str, ok: bool = True):
        """kubectl with only the server URL, its CA and the bearer token (no kubeconfig)."""
        return self.kubectl("--server", self.server.url, "--certificate-authority",
                            self.server.ca_cert, "--token", token, *args, ok=ok,
                            KUBECONFIG=os.devnull)

    def review(self, token: str, audiences: Any = None):
        """
        C{kubectl create -f} of a TokenReview; its answer's status. (Client-side
        validation is off: for a create-only kind kubectl 1.32 falls back to
        OpenAPI v2 in protobuf, which the server does not offer yet.)
        """
        d = self.ok("create", "--validate=false", "-o", "json", "-f", "-",
                    stdin=token_review(token, audiences))
        return d.addCallback(lambda out: json.loads(out)["status"])


class ServiceAccountTokenTests(_TokenServer):
    """On the memory store: issuing, using, reviewing and refusing tokens."""

    @defer.inlineCallbacks
    def test_create_token_authenticates(self):
        """`kubectl create token default` prints a JWT; with it kubectl is the default account."""
        token = (yield self.ok("create", "token", "default")).strip()
        self.assertEqual(token.count("."), 2)
        claims = claims_of(token)
        self.assertEqual(claims["sub"], "system:serviceaccount:default:default")
        self.assertEqual((claims["iss"], claims["aud"]), (ISSUER, [ISSUER]))
        self.assertEqual(claims["exp"] - claims["iat"], 3600)
        account = yield self.get_json("serviceaccount", "default")
        self.assertEqual(claims["kubernetes.io"]["serviceaccount"],
                         {"name": "default", "uid": account["metadata"]["uid"]})

        out, _, _ = yield self.as_token(token, "get", "--raw", "/api")
        self.assertEqual(json.loads(out)["kind"], "APIVersions")
        out, _, _ = yield self.as_token(token, "auth", "whoami", "-o", "json")
        user = json.loads(out)["status"]["userInfo"]
        self.assertEqual(user["username"], "system:serviceaccount:default:default")
        self.assertEqual(user["uid"], account["metadata"]["uid"])
        self.assertEqual(user["groups"], ["system:serviceaccounts",
                                          "system:serviceaccounts:default",
                                          "system:authenticated"])

        status = yield self.review(token)
        self.assertTrue(status["authenticated"])
        self.assertEqual(status["user"]["username"], "system:serviceaccount:default:default")
        self.assertEqual(status["audiences"], [ISSUER])

    @defer.inlineCallbacks
    def test_deleted_account(self):
        """A token stops working once its account is deleted, and reviews as unauthenticated."""
        yield self.ok("create", "serviceaccount", "robot")
        token = (yield self.ok("create", "token", "robot", "--duration=20m")).strip()
        self.assertEqual(claims_of(token)["exp"] - claims_of(token)["iat"], 1200)
        out, _, _ = yield self.as_token(token, "auth", "whoami", "-o", "json")
        self.assertEqual(json.loads(out)["status"]["userInfo"]["username"],
                         "system:serviceaccount:default:robot")

        yield self.ok("delete", "serviceaccount", "robot")
        _, err, code = yield self.as_token(token, "get", "--raw", "/api", ok=False)
        self.assertNotEqual(code, 0)
        self.assertIn("Unauthorized", err)
        status = yield self.review(token)
        self.assertNotIn("authenticated", status)
        self.assertIn('serviceaccounts "robot" not found', status["error"])

    @defer.inlineCallbacks
    def test_audience_and_bound_secret(self):
        """--audience and --bound-object-kind Secret land in the token; the review checks both."""
        yield self.ok("create", "secret", "generic", "creds", "--from-literal=a=b")
        secret = yield self.get_json("secret", "creds")
        token = (yield self.ok("create", "token", "default", "--audience=vault",
                               "--bound-object-kind=Secret", "--bound-object-name=creds")).strip()
        claims = claims_of(token)
        self.assertEqual(claims["aud"], ["vault"])
        self.assertEqual(claims["kubernetes.io"]["secret"],
                         {"name": "creds", "uid": secret["metadata"]["uid"]})
        # Not for the API's audience...
        _, err, code = yield self.as_token(token, "get", "--raw", "/api", ok=False)
        self.assertNotEqual(code, 0)
        # ...but valid for vault while the secret lives.
        status = yield self.review(token, ["vault"])
        self.assertEqual(status["audiences"], ["vault"])
        yield self.ok("delete", "secret", "creds")
        status = yield self.review(token, ["vault"])
        self.assertIn('secrets "creds" not found', status["error"])

    @defer.inlineCallbacks
    def test_token_request_errors(self):
        """A missing account is 404, a short lifetime 422, a bad binding 400 or 409, as in kube."""
        def request(name: str, spec: Dict[str, Any]):
            return self.request_json("POST", TOKEN_PATH.format(name), {
                "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": spec})

        code, body, _ = yield request("nobody", {})
        self.assertEqual((code, body["reason"]), (404, "NotFound"))
        self.assertEqual(body["message"], 'serviceaccounts "nobody" not found')

        code, body, _ = yield request("default", {"expirationSeconds": 60})
        self.assertEqual((code, body["reason"]), (422, "Invalid"))
        self.assertEqual(body["message"], 'TokenRequest.authentication.k8s.io "" is invalid: '
                         "spec.expirationSeconds: Invalid value: 60: may not specify a "
                         "duration less than 10 minutes")

        code, body, _ = yield request("default", {"boundObjectRef": {
            "kind": "ConfigMap", "apiVersion": "v1", "name": "kube-root-ca.crt"}})
        self.assertEqual((code, body["message"]),
                         (400, "cannot bind token to object of type /v1, Kind=ConfigMap"))

        yield self.ok("create", "serviceaccount", "robot")
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
               "spec": {"serviceAccountName": "robot",
                        "containers": [{"name": "c", "image": "nginx"}]}}
        code, created, _ = yield self.request_json("POST", "/api/v1/namespaces/default/pods",
                                                   pod)
        self.assertEqual(code, 201, created)
        code, body, _ = yield request("default", {"boundObjectRef": {
            "kind": "Pod", "apiVersion": "v1", "name": "web"}})
        self.assertEqual(code, 400)
        self.assertIn("different serviceaccount name", body["message"])
        code, body, _ = yield request("robot", {"boundObjectRef": {
            "kind": "Pod", "apiVersion": "v1", "name": "web", "uid": "not-the-uid"}})
        self.assertEqual((code, body["reason"]), (409, "Conflict"))
        code, body, _ = yield request("robot", {"expirationSeconds": 3607, "boundObjectRef": {
            "kind": "Pod", "apiVersion": "v1", "name": "web",
            "uid": created["metadata"]["uid"]}})
        self.assertEqual(code, 201, body)
        self.assertEqual(body["spec"]["expirationSeconds"], 3607)
        claims = claims_of(body["status"]["token"])
        self.assertEqual(claims["kubernetes.io"]["pod"],
                         {"name": "web", "uid": created["metadata"]["uid"]})
        # The kubelet's 3607 seconds: a year-long token that warns after the hour.
        self.assertEqual(claims["kubernetes.io"]["warnafter"] - claims["iat"], 3607)
        self.assertEqual(claims["exp"] - claims["iat"], 365 * 24 * 3600)

    @defer.inlineCallbacks
    def test_protobuf_request(self):
        """A TokenRequest sent as protobuf (as kubectl sends it) is answered 201 with a token."""
        body = protobuf.encode({"apiVersion": "authentication.k8s.io/v1",
                                "kind": "TokenRequest",
                                "spec": {"audiences": ["vault"], "expirationSeconds": 900}},
                               "authentication.k8s.io/v1", "TokenRequest")
        code, answer, _ = yield self.request_json(
            "POST", TOKEN_PATH.format("default"), body,
            headers={b"Content-Type": [b"application/vnd.kubernetes.protobuf"],
                     b"Accept": [b"application/json"]})
        self.assertEqual(code, 201, answer)
        self.assertEqual(answer["kind"], "TokenRequest")
        self.assertEqual(answer["spec"], {"audiences": ["vault"], "expirationSeconds": 900})
        claims = claims_of(answer["status"]["token"])
        self.assertEqual((claims["aud"], claims["exp"] - claims["iat"]), (["vault"], 900))


class ServiceAccountTokenRestartTests(_TokenServer):
    """On SQLite, tokens outlive a restart: the signing key stays in the cert dir."""

    def settings(self) -> Dict[str, Any]:
        return {"data_dir": os.path.join(self.dir, "data"), "storage_backend": "sqlite"}

    @defer.inlineCallbacks
    def test_token_survives_restart(self):
        """A token issued before a restart still authenticates after it."""
        token = (yield self.ok("create", "token", "default")).strip()
        yield self.server.stop()
        yield self.start_server(**self.settings())
        out, _, _ = yield self.as_token(token, "auth", "whoami", "-o", "json")
        self.assertEqual(json.loads(out)["status"]["userInfo"]["username"],
                         "system:serviceaccount:default:default")
