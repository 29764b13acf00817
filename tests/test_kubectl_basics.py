"""
The generated kubeconfig works with the real kubectl out of the box:
`kubectl version` and `kubectl get --raw /readyz?verbose`.
"""

from __future__ import annotations

from twisted.internet import defer

from tests._e2e import ServerTestCase


class KubectlBasicsTests(ServerTestCase):
    timeout = 60

    @defer.inlineCallbacks
    def test_version(self):
        """`kubectl version` verifies the server with the generated CA and prints its version."""
        out, err, code = yield self.kubectl("version", ok=False)
        self.assertEqual(code, 0, err)
        self.assertIn("Server Version: v1.37.0", out)

    @defer.inlineCallbacks
    def test_readyz_verbose(self):
        """`kubectl get --raw /readyz?verbose` lists every check, post-start hooks and shutdown last."""
        out, err, code = yield self.kubectl("get", "--raw", "/readyz?verbose", ok=False)
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        for check in ("[+]ping ok", "[+]log ok", "[+]etcd ok",
                      "[+]poststarthook/start-system-namespaces-controller ok"):
            self.assertIn(check, lines)
        self.assertEqual(lines[-2:], ["[+]shutdown ok", "readyz check passed"])

    @defer.inlineCallbacks
    def test_unknown_path_plain_404(self):
        """A path nobody serves ends in the chain's plain-text 404."""
        out, err, code = yield self.kubectl("get", "--raw", "/apis/nosuch.example.com/v1/things",
                                            ok=False)
        self.assertNotEqual(code, 0)
        self.assertIn("NotFound", err)
