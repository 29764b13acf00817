"""
Conversion webhooks end to end: the test serves a ConversionReview webhook
over TLS (its own CA, given to the CRD as C{caBundle}); kapi converts custom
objects through it between the served version and the storage version, and
refuses with a 500 naming the webhook when TLS cannot be verified.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
from typing import Any, List, Tuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet import defer, reactor, ssl
from twisted.web.resource import Resource
from twisted.web.server import Site

from tests._e2e import ServerTestCase


def _ca_and_leaf() -> Tuple[bytes, bytes, bytes]:
    """(CA PEM, leaf certificate PEM for 127.0.0.1, leaf key PEM)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webhook-test-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webhook")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return (ca.public_bytes(pem), leaf.public_bytes(pem),
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


class ConvertingWebhook(Resource):
    """v1 keeps C{spec.cronSpec}; v2 calls it C{spec.schedule}."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.reviews: List[dict] = []

    def render_POST(self, request: Any) -> bytes:
        review = json.loads(request.content.read())
        self.reviews.append(review)
        desired = review["request"]["desiredAPIVersion"]
        converted = []
        for obj in review["request"]["objects"]:
            obj = dict(obj, apiVersion=desired)
            spec = dict(obj.get("spec") or {})
            if desired.endswith("/v2") and "cronSpec" in spec:
                spec["schedule"] = spec.pop("cronSpec")
            if desired.endswith("/v1") and "schedule" in spec:
                spec["cronSpec"] = spec.pop("schedule")
            obj["spec"] = spec
            converted.append(obj)
        request.setHeader(b"content-type", b"application/json")
        return json.dumps({
            "apiVersion": review["apiVersion"], "kind": "ConversionReview",
            "response": {"uid": review["request"]["uid"], "convertedObjects": converted,
                         "result": {"status": "Success"}}}).encode()


def _crd(url: str, ca_bundle: str) -> str:
    def version(name: str, field: str, storage: bool) -> dict:
        return {"name": name, "served": True, "storage": storage,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {field: {"type": "string"}}}}}}}

    return json.dumps({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "crontabs.stable.example.com"},
        "spec": {
            "group": "stable.example.com", "scope": "Namespaced",
            "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab"},
            "versions": [version("v1", "cronSpec", True), version("v2", "schedule", False)],
            "conversion": {"strategy": "Webhook", "webhook": {
                "conversionReviewVersions": ["v1"],
                "clientConfig": {"url": url, "caBundle": ca_bundle}}},
        }})


class ConversionWebhookTests(ServerTestCase):

    @defer.inlineCallbacks
    def setUp(self):
        yield super().setUp()
        ca_pem, cert_pem, key_pem = _ca_and_leaf()
        self.ca_bundle = base64.b64encode(ca_pem).decode()
        self.webhook = ConvertingWebhook()
        cert = ssl.PrivateCertificate.loadPEM(key_pem + cert_pem)
        port = reactor.listenSSL(0, Site(self.webhook), cert.options(),
                                 interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.url = f"https://127.0.0.1:{port.getHost().port}/convert"

    @defer.inlineCallbacks
    def install(self, ca_bundle: str):
        yield self.apply_crd(_crd(self.url, ca_bundle), "crontabs.stable.example.com")

    @defer.inlineCallbacks
    def test_objects_converted_through_the_webhook(self):
        """Written at v2, stored at v1 by the webhook, read and watched at either version."""
        yield self.install(self.ca_bundle)
        collection = "/apis/stable.example.com/v2/namespaces/default/crontabs"
        out = yield self.ok("get", "--raw", collection)
        rv = json.loads(out)["metadata"]["resourceVersion"]
        v2 = json.dumps({"apiVersion": "stable.example.com/v2", "kind": "CronTab",
                         "metadata": {"name": "converted", "namespace": "default",
                                      "labels": {"app": "x"}},
                         "spec": {"schedule": "*/5 * * * *"}})
        yield self.ok("create", "-f", "-", stdin=v2)
        kv = yield self.server.service.storage.get(
            "/registry/stable.example.com/crontabs/default/converted")
        self.assertEqual(kv.object["apiVersion"], "stable.example.com/v1")
        self.assertEqual(kv.object["spec"], {"cronSpec": "*/5 * * * *"})
        out = yield self.ok("get", "crontabs.v1.stable.example.com", "converted", "-o", "json")
        self.assertEqual(json.loads(out)["spec"], {"cronSpec": "*/5 * * * *"})
        out = yield self.ok("get", "crontabs.v2.stable.example.com", "-o", "json")
        items = json.loads(out)["items"]
        self.assertEqual([(i["apiVersion"], i["spec"]) for i in items],
                         [("stable.example.com/v2", {"schedule": "*/5 * * * *"})])
        self.assertEqual(items[0]["metadata"]["labels"], {"app": "x"})
        out = yield self.ok(
            "get", "--raw", f"{collection}?watch=1&resourceVersion={rv}&timeoutSeconds=1")
        events = [json.loads(line) for line in out.splitlines() if line]
        self.assertEqual([(e["type"], e["object"]["apiVersion"], e["object"]["spec"])
                          for e in events],
                         [("ADDED", "stable.example.com/v2", {"schedule": "*/5 * * * *"})])
        review = self.webhook.reviews[0]
        self.assertEqual(review["apiVersion"], "apiextensions.k8s.io/v1")
        self.assertEqual(review["kind"], "ConversionReview")
        self.assertEqual(review["request"]["desiredAPIVersion"], "stable.example.com/v1")

    @defer.inlineCallbacks
    def test_untrusted_webhook_fails_the_request(self):
        """A webhook whose certificate the caBundle does not verify fails with a 500."""
        other_ca, _, _ = _ca_and_leaf()
        yield self.install(base64.b64encode(other_ca).decode())
        v2 = json.dumps({"apiVersion": "stable.example.com/v2", "kind": "CronTab",
                         "metadata": {"name": "refused", "namespace": "default"},
                         "spec": {"schedule": "* * * * *"}})
        out, err, code = yield self.kubectl("create", "-f", "-", stdin=v2, ok=False)
        self.assertEqual(code, 1)
        self.assertIn("conversion webhook for stable.example.com/v2, Kind=CronTab failed: Post "
                      f'"{self.url}": tls: failed to verify certificate', err)
        self.assertEqual(self.webhook.reviews, [])
