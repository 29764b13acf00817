"""
A real operator framework against kapi: a small kopf operator (run with
C{kopf run} in a subprocess, logged in with the admin kubeconfig) sees a
custom resource created and patches its status, which the test reads back.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile

from twisted.internet import defer, reactor
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

from tests.test_crd_e2e import CRD, KUBECTL, start_kapi

try:
    import kopf  # noqa: F401
except ImportError:  # pragma: no cover
    kopf = None

OPERATOR = """\
import kopf


@kopf.on.startup()
def configure(settings, **_):
    settings.posting.enabled = True
    settings.watching.server_timeout = 60


@kopf.on.create("stable.example.com", "v1", "crontabs")
def created(spec, name, patch, logger, **_):
    patch.status["phase"] = "Seen"
    patch.status["replicas"] = spec.get("replicas", 0)
    logger.info("saw %s", name)
"""

CRONTAB = """\
apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: watched
spec:
  cronSpec: "* * * * *"
  replicas: 4
"""


class _Output(ProcessProtocol):
    def __init__(self) -> None:
        self.output = b""
        self.ended: defer.Deferred = defer.Deferred()

    def outReceived(self, data: bytes) -> None:
        self.output += data

    errReceived = outReceived

    def processEnded(self, reason) -> None:
        self.ended.callback(None)


class KopfOperatorTests(TestCase):
    timeout = 120

    @defer.inlineCallbacks
    def setUp(self):
        if KUBECTL is None:
            raise self.skipTest("kubectl is not on PATH")
        if kopf is None:
            raise self.skipTest("kopf is not installed (pip install kopf)")
        self.dir = tempfile.mkdtemp(prefix="kapi-kopf-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.top = yield start_kapi(self.dir)
        self.addCleanup(self.top.stopService)
        self.env = dict(os.environ, KUBECONFIG=os.path.join(self.dir, "admin.kubeconfig"),
                        HOME=self.dir)

    def kubectl(self, *args: str, stdin: str = ""):
        if stdin:
            path = os.path.join(self.dir, "manifest.yaml")
            with open(path, "w") as f:
                f.write(stdin)
            args = tuple(path if a == "-" else a for a in args)
        return getProcessOutputAndValue(KUBECTL, args, env=self.env)

    def start_operator(self) -> _Output:
        path = os.path.join(self.dir, "crontab_operator.py")
        with open(path, "w") as f:
            f.write(OPERATOR)
        proto = _Output()
        transport = reactor.spawnProcess(
            proto, sys.executable,
            [sys.executable, "-m", "kopf", "run", "--standalone", "--namespace=default",
             "--verbose", path],
            env=self.env, path=self.dir)

        @defer.inlineCallbacks
        def stop():
            if not proto.ended.called:
                transport.signalProcess(signal.SIGTERM)
            yield proto.ended

        self.addCleanup(stop)
        return proto

    @defer.inlineCallbacks
    def test_operator_patches_status_of_new_resource(self):
        """kopf sees a CronTab created and writes its status; the test reads it back."""
        out, err, code = yield self.kubectl("apply", "-f", "-", stdin=CRD)
        self.assertEqual(code, 0, err)
        out, err, code = yield self.kubectl(
            "wait", "--for", "condition=established", "--timeout=30s",
            "crd/crontabs.stable.example.com")
        self.assertEqual(code, 0, err)
        operator = self.start_operator()
        out, err, code = yield self.kubectl("apply", "-f", "-", stdin=CRONTAB)
        self.assertEqual(code, 0, err)
        out, err, code = yield self.kubectl(
            "wait", "--for=jsonpath={.status.phase}=Seen", "--timeout=60s", "ct/watched")
        self.assertEqual(code, 0, (err, operator.output.decode(errors="replace")[-3000:]))
        out, err, code = yield self.kubectl("get", "ct", "watched", "-o", "json")
        obj = json.loads(out)
        self.assertEqual(obj["status"]["phase"], "Seen")
        self.assertEqual(obj["status"]["replicas"], 4)
        # kopf's own bookkeeping went through as well.
        self.assertIn("kopf.zalando.org/last-handled-configuration",
                      obj["metadata"].get("annotations", {}))
        self.assertEqual(obj["metadata"]["generation"], 1)
        self.assertNotIn(b"inconsistencies", operator.output)
