"""
Answers clients get where a real cluster would reach a kubelet, and for
request bodies that give a field twice.
"""

from __future__ import annotations

import json

from twisted.internet import defer

from tests._e2e import KUBECTL, ServerTestCase

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
       "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


class KubeletLessTests(ServerTestCase):
    timeout = 60
    needs_kubectl = False

    @defer.inlineCallbacks
    def setUp(self):
        yield super().setUp()
        self.client = self.server.http_client()

    def post(self, path, body, query=""):
        return self.request_json("POST", path, body, query)

    @defer.inlineCallbacks
    def test_connect_subresources_refused_at_once(self):
        """pods/log, exec, attach, portforward and proxy answer a 503 saying no kubelet runs."""
        code, _, _ = yield self.post("/api/v1/namespaces/default/pods", POD)
        self.assertEqual(code, 201)
        for sub, method in (("log", "GET"), ("exec", "POST"), ("attach", "POST"),
                            ("portforward", "POST"), ("proxy", "GET")):
            response = yield self.client.request(
                method, self.server.url + f"/api/v1/namespaces/default/pods/p/{sub}")
            status = json.loads((yield response.content()))
            self.assertEqual((response.code, status["reason"]), (503, "ServiceUnavailable"), sub)
            self.assertIn("runs no kubelet", status["message"])

    @defer.inlineCallbacks
    def test_connect_on_missing_pod_is_404(self):
        """A log request for a pod that does not exist is a 404, not the no-kubelet answer."""
        response = yield self.client.get(
            self.server.url + "/api/v1/namespaces/default/pods/nope/log")
        self.assertEqual(response.code, 404)

    @defer.inlineCallbacks
    def test_kubectl_logs_fails_fast(self):
        """`kubectl logs` ends at once with the server's explanation."""
        if KUBECTL is None:
            raise self.skipTest("kubectl is not on PATH")
        yield self.post("/api/v1/namespaces/default/pods", POD)
        out, err, code = yield self.kubectl("logs", "p", "--request-timeout=10s", ok=False)
        self.assertNotEqual(code, 0)
        self.assertIn("runs no kubelet", err)

    @defer.inlineCallbacks
    def test_duplicate_field_strict_is_400(self):
        """With fieldValidation=Strict a field given twice is refused, and nothing is stored."""
        body = (b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d"},'
                b'"data":{"a":"1"},"data":{"b":"2"}}')
        code, status, _ = yield self.post(
            "/api/v1/namespaces/default/configmaps", body, "?fieldValidation=Strict")
        self.assertEqual(code, 400)
        self.assertEqual(
            status["message"],
            'ConfigMap in version "v1" cannot be handled as a ConfigMap: '
            'strict decoding error: duplicate field "data"')
        response = yield self.client.get(
            self.server.url + "/api/v1/namespaces/default/configmaps/d")
        self.assertEqual(response.code, 404)

    @defer.inlineCallbacks
    def test_duplicate_field_warns_by_default(self):
        """Without fieldValidation a repeated nested field is kept (last wins) with a Warning header."""
        body = (b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w",'
                b'"labels":{"a":"1","a":"2"}}}')
        code, obj, headers = yield self.post("/api/v1/namespaces/default/configmaps", body)
        self.assertEqual(code, 201)
        self.assertEqual(obj["metadata"]["labels"], {"a": "2"})
        self.assertEqual(headers.getRawHeaders(b"warning"),
                         [b'299 - "duplicate field \\"metadata.labels.a\\""'])
