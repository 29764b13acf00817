"""
What the end-to-end tests share, so each module holds only its scenarios.

A whole server comes from the public embedding API
(L{kapi_twisted.testing.start_server}), the same one our users are told to
use; the real kubectl runs against it with a HOME of its own (so no
developer's ~/.kube leaks in); JSON requests go over the server's admin
client; and a child process's output can be waited on.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Any, Dict, List, Optional, Tuple

from twisted.internet import defer, reactor
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

KUBECTL: Optional[str] = shutil.which("kubectl")

JSON_HEADERS = {b"Content-Type": [b"application/json"]}


def kubectl_env(home: str, kubeconfig: str, **extra: str) -> Dict[str, str]:
    """The environment for kubectl: ours, but its own HOME and the given kubeconfig."""
    os.makedirs(home, exist_ok=True)
    return dict(os.environ, HOME=home, KUBECONFIG=kubeconfig, **extra)


def run_kubectl(env: Dict[str, str], *args: str) -> defer.Deferred:
    """Run kubectl; fires with (stdout, stderr, exit code) as text."""
    d = getProcessOutputAndValue(KUBECTL, args, env=env)
    return d.addCallback(lambda r: (r[0].decode(), r[1].decode(), r[2]))


class OutputWaiter(ProcessProtocol):
    """
    Collects a child's stdout (and with C{stderr}, its stderr too);
    C{wait_for} fires once a needle shows.
    """

    def __init__(self, timeout: float = 30, stderr: bool = False) -> None:
        self.output = b""
        self.timeout = timeout
        self.stderr = stderr
        self.ended: defer.Deferred = defer.Deferred()
        self._waiting: List[Tuple[bytes, defer.Deferred]] = []

    def outReceived(self, data: bytes) -> None:
        self.output += data
        for needle, d in list(self._waiting):
            if needle in self.output:
                self._waiting.remove((needle, d))
                d.callback(self.output)

    def errReceived(self, data: bytes) -> None:
        if self.stderr:
            self.outReceived(data)

    def wait_for(self, needle: bytes) -> defer.Deferred:
        d: defer.Deferred = defer.Deferred()
        if needle in self.output:
            d.callback(self.output)
        else:
            self._waiting.append((needle, d))
        return d.addTimeout(self.timeout, reactor)

    def processEnded(self, reason: Any) -> None:
        self.ended.callback(None)


class ServerTestCase(TestCase):
    """
    A whole server per test (memory store unless C{server_settings} says
    otherwise), with kubectl and JSON helpers. Subclasses that do not run
    kubectl set C{needs_kubectl = False}.
    """

    timeout = 120
    needs_kubectl = True
    server_settings: Dict[str, Any] = {}

    @defer.inlineCallbacks
    def setUp(self):
        if self.needs_kubectl and KUBECTL is None:
            raise self.skipTest("kubectl is not on PATH")
        self.dir = tempfile.mkdtemp(prefix="kapi-e2e-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        yield self.start_server(**self.settings())

    def settings(self) -> Dict[str, Any]:
        """What L{start_server} is given; C{server_settings} unless overridden."""
        return dict(self.server_settings)

    @defer.inlineCallbacks
    def start_server(self, **settings: Any):
        """Start (or, after a stop, start again) the server this test talks to."""
        from kapi_twisted.testing import start_server

        server = yield start_server(reactor, **settings)
        self.addCleanup(server.stop)  # stopping twice is harmless
        self.server = server
        self.kubeconfig = server.kubeconfig
        self.env = kubectl_env(self.dir, server.kubeconfig)
        return server

    def write(self, name: str, text: str) -> str:
        """Write a file in this test's directory; its path."""
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    @defer.inlineCallbacks
    def kubectl(self, *args: str, stdin: str = "", ok: bool = True, **env: str):
        """
        Run kubectl; (stdout, stderr, exit code) as text. With C{stdin}, a
        C{-} among the arguments names a file holding it. With C{ok}, a
        non-zero exit fails the test.
        """
        if stdin:
            path = self.write("stdin.yaml", stdin)
            args = tuple(path if a == "-" else a for a in args)
        out, err, code = yield run_kubectl(dict(self.env, **env), *args)
        if ok and code != 0:
            self.fail(f"kubectl {' '.join(args)} exited {code}: {err}")
        return out, err, code

    @defer.inlineCallbacks
    def ok(self, *args: str, stdin: str = "", **env: str):
        """kubectl's stdout; a non-zero exit fails the test."""
        out, _, _ = yield self.kubectl(*args, stdin=stdin, **env)
        return out

    @defer.inlineCallbacks
    def get_json(self, *args: str):
        """C{kubectl get ARGS -o json}, decoded."""
        out = yield self.ok("get", *args, "-o", "json")
        return json.loads(out)

    @defer.inlineCallbacks
    def apply_crd(self, manifest: str, name: str):
        """Apply a CustomResourceDefinition and wait until it is Established."""
        yield self.ok("apply", "-f", "-", stdin=manifest)
        yield self.ok("wait", "--for", "condition=established", "--timeout=30s", f"crd/{name}")

    @defer.inlineCallbacks
    def gone(self, *args: str):
        """Whether C{kubectl get ARGS} says NotFound."""
        _, err, code = yield self.kubectl("get", *args, ok=False)
        return code != 0 and "NotFound" in err

    @defer.inlineCallbacks
    def request_json(self, method: str, path: str, body: Any = None,
                     query: str = "", headers: Optional[dict] = None):
        """
        One request over the admin client; (code, decoded JSON body or None,
        response headers). A dict or list body is sent as JSON.
        """
        client = self.server.http_client()
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        response = yield client.request(method, self.server.url + path + query, data=body,
                                        headers=headers or JSON_HEADERS)
        content = yield response.content()
        return response.code, (json.loads(content) if content else None), response.headers
