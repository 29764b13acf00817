"""
A watch over HTTP/2 (curl --http2 against the real TLS server): events
arrive one compact JSON line each, as they happen, and the stream ends
cleanly at timeoutSeconds.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from tests.test_endpoints_e2e import _Lines, _store_available, start_kapi

CURL = shutil.which("curl")


class HTTP2WatchTests(TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        if CURL is None:
            raise self.skipTest("curl is not on PATH")
        if not _store_available():
            raise self.skipTest("the generic store (kapi_twisted.registry.store) is not importable")
        self.dir = tempfile.mkdtemp(prefix="kapi-h2-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.top, self.config = yield start_kapi(os.path.join(self.dir, "data"))
        self.addCleanup(self.top.stopService)

    def curl(self, proto, path: str, *extra: str):
        certs = self.config.cert_dir
        url = self.top.url() + path
        args = [CURL, "-sS", "-N", "--http2", "-o", "-", "-w", "\\n%{http_version}\\n",
                "--cacert", os.path.join(certs, "ca.crt"),
                "--cert", os.path.join(certs, "admin.crt"),
                "--key", os.path.join(certs, "admin.key"), *extra, url]
        return reactor.spawnProcess(proto, CURL, args, env={})

    @defer.inlineCallbacks
    def test_watch_events_stream_over_http2(self):
        """Each write reaches an HTTP/2 watcher as its own line; timeoutSeconds ends the stream."""
        proto = _Lines()
        self.curl(proto, "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=3")
        self.curl(_Lines(), "/api/v1/namespaces/default/configmaps", "-X", "POST",
                            "-H", "Content-Type: application/json",
                            "-d", '{"metadata":{"name":"h2"}}')
        yield proto.wait_for(b'"name":"h2"')
        yield proto.ended
        body, _, version = proto.out.rstrip(b"\n").rpartition(b"\n")
        self.assertEqual(version, b"2")
        lines = body.split(b"\n")
        events = [json.loads(line) for line in lines if line]
        # Every namespace also holds the kube-root-ca.crt ConfigMap, as in kube.
        events = [e for e in events if e["object"]["metadata"]["name"] != "kube-root-ca.crt"]
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in events],
                         [("ADDED", "h2")])
