"""
Whole servers on a real etcd: two kapi servers form one control plane, and
a server rides out etcd going away and coming back.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time

from twisted.internet import defer, reactor, threads
from twisted.internet.task import deferLater
from twisted.trial.unittest import SkipTest, TestCase

from kapi_twisted.storage.testing import EtcdServer
from kapi_twisted.testing import start_server

if not EtcdServer.available():
    print("\n*** etcd is not installed: the etcd end-to-end tests are SKIPPED "
          "(apt-get install etcd-server) ***\n")


def _configmap(name: str, value: str) -> bytes:
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": name}, "data": {"k": value}}).encode()


@defer.inlineCallbacks
def _request(server, method, path, body=None):
    client = server.http_client()
    response = yield client.request(
        method, server.url + path, data=body,
        headers={b"Content-Type": [b"application/json"]} if body else None)
    content = yield response.content()
    return response.code, content


@defer.inlineCallbacks
def _eventually(check, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        result = yield check()
        if result or time.monotonic() > deadline:
            return result
        yield deferLater(reactor, 0.1, lambda: None)


class EtcdServerTests(TestCase):
    timeout = 120

    def setUp(self):
        if not EtcdServer.available():
            raise SkipTest("etcd is not installed (Debian: apt-get install etcd-server)")
        self.tmp = tempfile.mkdtemp(prefix="kapi-etcd-e2e-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.etcd = EtcdServer(os.path.join(self.tmp, "etcd"))
        self.etcd.start()
        self.addCleanup(self._stop_etcd)

    def _stop_etcd(self):
        if self.etcd.process is not None and self.etcd.process.poll() is None:
            self.etcd.stop()

    @defer.inlineCallbacks
    def _server(self, **settings):
        server = yield start_server(
            reactor, storage_backend="etcd3", etcd_servers=[self.etcd.url], **settings)
        self.addCleanup(server.stop)
        return server

    @defer.inlineCallbacks
    def test_two_servers_one_control_plane(self):
        """A write through one server is read and watched through the other."""
        first = yield self._server()
        second = yield self._server()
        code, body = yield _request(
            second, "GET", "/api/v1/namespaces/default/configmaps")
        rv = json.loads(body)["metadata"]["resourceVersion"]
        client = second.http_client()
        watch = client.get(
            second.url + "/api/v1/namespaces/default/configmaps"
            f"?watch=true&resourceVersion={rv}&timeoutSeconds=3")
        code, _ = yield _request(
            first, "POST", "/api/v1/namespaces/default/configmaps", _configmap("shared", "1"))
        self.assertEqual(code, 201)
        response = yield watch
        events = [json.loads(line) for line in (yield response.content()).splitlines() if line]
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in events],
                         [("ADDED", "shared")])
        code, body = yield _request(second, "GET", "/api/v1/namespaces/default/configmaps/shared")
        self.assertEqual(code, 200)
        self.assertEqual(json.loads(body)["data"], {"k": "1"})

    @defer.inlineCallbacks
    def test_etcd_outage_and_recovery(self):
        """With etcd down health fails and requests get a Status quickly; then all recovers."""
        server = yield self._server(request_timeout=10.0)
        yield threads.deferToThread(self.etcd.stop)

        @defer.inlineCallbacks
        def readyz_fails():
            code, body = yield _request(server, "GET", "/readyz?verbose")
            return code == 500 and b"[-]etcd failed" in body

        self.assertTrue((yield _eventually(readyz_fails)))
        started = time.monotonic()
        code, body = yield _request(
            server, "POST", "/api/v1/namespaces/default/configmaps", _configmap("x", "1"))
        self.assertLess(time.monotonic() - started, 10.0)
        self.assertIn(code, (500, 503, 504))
        status = json.loads(body)
        self.assertEqual(status["kind"], "Status")
        self.assertEqual(status["code"], code)

        yield threads.deferToThread(self.etcd.start)

        @defer.inlineCallbacks
        def healthy():
            code, _ = yield _request(server, "GET", "/readyz")
            return code == 200

        self.assertTrue((yield _eventually(healthy, timeout=30)))

        @defer.inlineCallbacks
        def writable():
            code, _ = yield _request(
                server, "POST", "/api/v1/namespaces/default/configmaps", _configmap("y", "2"))
            return code == 201

        self.assertTrue((yield _eventually(writable, timeout=30)))
        code, body = yield _request(server, "GET", "/api/v1/namespaces/default/configmaps/y")
        self.assertEqual(code, 200)
