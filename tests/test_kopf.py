"""
A real operator framework against kapi: a small kopf operator (run with
C{kopf run} in a subprocess, logged in with the admin kubeconfig) sees a
custom resource created and patches its status, which the test reads back.
"""

from __future__ import annotations

import signal
import sys

from twisted.internet import defer, reactor

from tests._e2e import OutputWaiter, ServerTestCase
from tests.test_crd_e2e import CRD

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


class KopfOperatorTests(ServerTestCase):

    @defer.inlineCallbacks
    def setUp(self):
        if kopf is None:
            raise self.skipTest("kopf is not installed (pip install kopf)")
        yield super().setUp()

    def start_operator(self) -> OutputWaiter:
        path = self.write("crontab_operator.py", OPERATOR)
        proto = OutputWaiter(stderr=True)
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
        yield self.apply_crd(CRD, "crontabs.stable.example.com")
        operator = self.start_operator()
        yield self.ok("apply", "-f", "-", stdin=CRONTAB)
        out, err, code = yield self.kubectl(
            "wait", "--for=jsonpath={.status.phase}=Seen", "--timeout=60s", "ct/watched",
            ok=False)
        self.assertEqual(code, 0, (err, operator.output.decode(errors="replace")[-3000:]))
        obj = yield self.get_json("ct", "watched")
        self.assertEqual(obj["status"]["phase"], "Seen")
        self.assertEqual(obj["status"]["replicas"], 4)
        # kopf's own bookkeeping went through as well.
        self.assertIn("kopf.zalando.org/last-handled-configuration",
                      obj["metadata"].get("annotations", {}))
        self.assertEqual(obj["metadata"]["generation"], 1)
        self.assertNotIn(b"inconsistencies", operator.output)
