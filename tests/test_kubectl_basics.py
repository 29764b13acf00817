"""
The generated kubeconfig works with the real kubectl out of the box:
`kubectl version` and `kubectl get --raw /readyz?verbose`.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from twisted.internet import defer, reactor
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import SkipTest, TestCase

from kapi_twisted.testing import start_server

KUBECTL = shutil.which("kubectl")


class KubectlBasicsTests(TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        if KUBECTL is None:
            raise SkipTest("kubectl is not on PATH")
        self.home = tempfile.mkdtemp(prefix="kapi-home-")
        self.addCleanup(shutil.rmtree, self.home, True)
        self.server = yield start_server(reactor)
        self.addCleanup(self.server.stop)

    def kubectl(self, *args):
        env = {"PATH": os.environ.get("PATH", ""), "HOME": self.home,
               "KUBECONFIG": self.server.kubeconfig}
        return getProcessOutputAndValue(KUBECTL, list(args), env=env)

    @defer.inlineCallbacks
    def test_version(self):
        """`kubectl version` verifies the server with the generated CA and prints its version."""
        out, err, code = yield self.kubectl("version")
        self.assertEqual(code, 0, err)
        self.assertIn(b"Server Version: v1.37.0", out)

    @defer.inlineCallbacks
    def test_readyz_verbose(self):
        """`kubectl get --raw /readyz?verbose` lists every check, post-start hooks and shutdown last."""
        out, err, code = yield self.kubectl("get", "--raw", "/readyz?verbose")
        self.assertEqual(code, 0, err)
        lines = out.decode().splitlines()
        for check in ("[+]ping ok", "[+]log ok", "[+]etcd ok",
                      "[+]poststarthook/start-system-namespaces-controller ok"):
            self.assertIn(check, lines)
        self.assertEqual(lines[-2:], ["[+]shutdown ok", "readyz check passed"])

    @defer.inlineCallbacks
    def test_unknown_path_plain_404(self):
        """A path nobody serves ends in the chain's plain-text 404."""
        out, err, code = yield self.kubectl("get", "--raw", "/apis/nosuch.example.com/v1/things")
        self.assertNotEqual(code, 0)
        self.assertIn(b"NotFound", err)
