"""
Client-certificate authentication end to end: a real TLS socket to the
secure-serving listener (which asks for, but does not require, a client
certificate) with the filter chain behind it, over HTTP/1.1 and HTTP/2.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional, Tuple

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from kapi_twisted.server.certs import bundle_paths
from kapi_twisted.server.filters import build_handler_chain
from kapi_twisted.server.lifecycle import LifecycleSignals
from kapi_twisted.server.longrunning import LongRunningRequests
from kapi_twisted.server.waitgroup import WaitGroup
from tests._serving_helpers import (
    H2Client,
    client_context,
    http11_get,
    make_config,
    port_of,
    start_serving,
    tls_connect,
)
from tests.test_filters_harness import App, issue, make_ca

PODS = "/api/v1/namespaces/default/pods"


class ClientCertificateOverTLSTests(TestCase):
    @inlineCallbacks
    def setUp(self) -> Any:
        self.config = make_config()
        chain = build_handler_chain(
            App(), config=self.config, lifecycle=LifecycleSignals(),
            wait_group=WaitGroup(), long_running=LongRunningRequests(), reactor=reactor)
        self.serving = yield start_serving(self, self.config, chain)
        self.paths = bundle_paths(self.config.cert_dir)

    def get(self, path: str, cert: Optional[Tuple[str, str]]) -> Any:
        def blocking() -> Tuple[int, bytes]:
            ctx = client_context(self.paths.ca_cert_file, alpn=["http/1.1"], cert=cert)
            with tls_connect(port_of(self.serving), ctx) as sock:
                status, _, body = http11_get(sock, path)
            return int(status.split(b" ")[1]), body

        return deferToThread(blocking)

    def other_ca_client(self) -> Tuple[str, str]:
        issued = issue(make_ca("kapi-ca"), "kubernetes-admin", ["system:masters"])
        directory = self.mktemp()
        os.makedirs(directory)
        cert, key = os.path.join(directory, "c.crt"), os.path.join(directory, "c.key")
        with open(cert, "wb") as f:
            f.write(issued.cert_pem())
        with open(key, "wb") as f:
            f.write(issued.key_pem())
        return cert, key

    @inlineCallbacks
    def test_admin_certificate(self) -> Any:
        """The generated admin certificate authenticates as a system:masters user."""
        admin = (self.paths.admin_cert_file, self.paths.admin_key_file)
        code, body = yield self.get(PODS, admin)
        self.assertEqual(code, 200)
        echo = json.loads(body)
        self.assertEqual(echo["user"], "kubernetes-admin")
        self.assertEqual(echo["groups"], ["system:masters", "system:authenticated"])

    @inlineCallbacks
    def test_certificate_from_another_ca(self) -> Any:
        """A certificate from another CA (even with the same names) gets 401."""
        code, body = yield self.get(PODS, self.other_ca_client())
        self.assertEqual(code, 401)
        self.assertEqual(json.loads(body)["reason"], "Unauthorized")
        code, _ = yield self.get("/healthz", self.other_ca_client())
        self.assertEqual(code, 401)

    @inlineCallbacks
    def test_no_certificate(self) -> Any:
        """Without a certificate only the public paths answer."""
        code, _ = yield self.get(PODS, None)
        self.assertEqual(code, 401)
        code, body = yield self.get("/healthz", None)
        self.assertEqual(code, 200)
        self.assertEqual(json.loads(body)["user"], "system:anonymous")

    @inlineCallbacks
    def test_admin_certificate_over_http2(self) -> Any:
        """HTTP/2 streams see the connection's client certificate too."""
        admin = (self.paths.admin_cert_file, self.paths.admin_key_file)

        def blocking() -> Tuple[Any, bytes]:
            ctx = client_context(self.paths.ca_cert_file, alpn=["h2"], cert=admin)
            with tls_connect(port_of(self.serving), ctx) as sock:
                client = H2Client(sock)
                return client.response(client.request(PODS))

        headers, body = yield deferToThread(blocking)
        self.assertEqual(headers[b":status"], b"200")
        self.assertEqual(json.loads(body)["user"], "kubernetes-admin")

    @inlineCallbacks
    def test_anonymous_over_http2(self) -> Any:
        """Anonymous HTTP/2 requests are answered (401 or the public paths) without breaking the stream."""

        def blocking() -> Any:
            ctx = client_context(self.paths.ca_cert_file, alpn=["h2"])
            answers = []
            for path in ("/healthz", PODS):  # one connection each: it may be closed after
                with tls_connect(port_of(self.serving), ctx) as sock:
                    client = H2Client(sock)
                    answers.append(client.response(client.request(path)))
            return answers

        (health_headers, _), (pods_headers, pods_body) = yield deferToThread(blocking)
        self.assertEqual(health_headers[b":status"], b"200")
        self.assertEqual(pods_headers[b":status"], b"401")
        self.assertEqual(json.loads(pods_body)["reason"], "Unauthorized")
        self.assertNotIn(b"connection", health_headers)
