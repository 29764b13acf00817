"""
A watch over HTTP/2 (curl --http2 against the real TLS server): events
arrive one compact JSON line each, as they happen, and the stream ends
cleanly at timeoutSeconds.
"""

from __future__ import annotations

import json
import shutil

from twisted.internet import defer, reactor

from tests._e2e import OutputWaiter, ServerTestCase

CURL = shutil.which("curl")


class HTTP2WatchTests(ServerTestCase):
    timeout = 60
    needs_kubectl = False

    def setUp(self):
        if CURL is None:
            raise self.skipTest("curl is not on PATH")
        return super().setUp()

    def curl(self, proto, path: str, *extra: str):
        url = self.server.url + path
        args = [CURL, "-sS", "-N", "--http2", "-o", "-", "-w", "\\n%{http_version}\\n",
                "--cacert", self.server.ca_cert, "--cert", self.server.admin_cert,
                "--key", self.server.admin_key, *extra, url]
        return reactor.spawnProcess(proto, CURL, args, env={})

    @defer.inlineCallbacks
    def test_watch_events_stream_over_http2(self):
        """Each write reaches an HTTP/2 watcher as its own line; timeoutSeconds ends the stream."""
        proto = OutputWaiter()
        self.curl(proto, "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=3")
        self.curl(OutputWaiter(), "/api/v1/namespaces/default/configmaps", "-X", "POST",
                            "-H", "Content-Type: application/json",
                            "-d", '{"metadata":{"name":"h2"}}')
        yield proto.wait_for(b'"name":"h2"')
        yield proto.ended
        body, _, version = proto.output.rstrip(b"\n").rpartition(b"\n")
        self.assertEqual(version, b"2")
        lines = body.split(b"\n")
        events = [json.loads(line) for line in lines if line]
        # Every namespace also holds the kube-root-ca.crt ConfigMap, as in kube.
        events = [e for e in events if e["object"]["metadata"]["name"] != "kube-root-ca.crt"]
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in events],
                         [("ADDED", "h2")])
