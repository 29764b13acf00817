"""
/version and the index at / and /index.html: kube-apiserver's formats, and
the real kubectl reading them over a socket.
"""

from __future__ import annotations

import json
import os
import shutil

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.server import Site

from kapi_twisted.server import index
from kapi_twisted.server.generic import GenericAPIServer, HealthCheck
from kapi_twisted.server.lifecycle import LifecycleSignals
from kapi_twisted.server.version import VersionInfo, default_version_info, go_platform
from tests.test_healthz import fetch, make_chain, prepare

FIELD_ORDER = [
    "major",
    "minor",
    "emulationMajor",
    "emulationMinor",
    "minCompatibilityMajor",
    "minCompatibilityMinor",
    "gitVersion",
    "gitCommit",
    "gitTreeState",
    "buildDate",
    "goVersion",
    "compiler",
    "platform",
]


class VersionTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.lifecycle, self.servers = make_chain()
        prepare(self.servers, self.lifecycle)
        self.outer = self.servers[-1]

    def test_version_document(self):
        """GET /version is Kubernetes 1.37 as 2-space-indented JSON, fields in kube's order."""
        answer = fetch(self, self.outer.root, "/version")
        self.assertEqual(answer.code, 200)
        self.assertEqual(answer.header("content-type"), "application/json")
        info = json.loads(answer.body)
        self.assertEqual(list(info), FIELD_ORDER)
        self.assertEqual((info["major"], info["minor"], info["gitVersion"]), ("1", "37", "v1.37.0"))
        self.assertTrue(all(isinstance(v, str) for v in info.values()))
        self.assertTrue(answer.body.startswith(b'{\n  "major": "1",\n  "minor": "37",\n'))
        self.assertTrue(answer.body.endswith(b"}"))
        self.assertEqual(info["platform"], go_platform())
        self.assertEqual(fetch(self, self.outer.root, "/version/").body, answer.body)

    def test_empty_compatibility_fields_are_left_out(self):
        """Empty emulation and compatibility fields are omitted, the others always present."""
        info = VersionInfo(emulationMajor="", emulationMinor="", minCompatibilityMajor="",
                           minCompatibilityMinor="", gitCommit="", platform="linux/arm64")
        self.assertEqual(
            list(info.as_dict()),
            ["major", "minor", "gitVersion", "gitCommit", "gitTreeState", "buildDate",
             "goVersion", "compiler", "platform"],
        )

    def test_other_methods_and_paths(self):
        """POST /version is a 405 Status and /version/x a 404 Status, as go-restful answers."""
        post = fetch(self, self.outer.root, "/version", method=b"POST")
        self.assertEqual(post.code, 405)
        self.assertEqual(json.loads(post.body)["reason"], "MethodNotAllowed")
        deeper = fetch(self, self.outer.root, "/version/x")
        self.assertEqual(deeper.code, 404)
        self.assertEqual(json.loads(deeper.body)["message"], "the server could not find the requested resource")

    def test_platform_names(self):
        """The platform is spelled as Go spells GOOS/GOARCH."""
        self.assertEqual(go_platform("linux", "x86_64"), "linux/amd64")
        self.assertEqual(go_platform("darwin", "arm64"), "darwin/arm64")
        self.assertEqual(go_platform("win32", "AMD64"), "windows/amd64")
        self.assertEqual(go_platform("linux", "aarch64"), "linux/arm64")

    def test_version_in_openapi(self):
        """/version is published in OpenAPI: a `version` v3 document and the v2 path `/version/`."""
        v3 = json.loads(fetch(self, self.outer.root, "/openapi/v3").body)["paths"]
        self.assertIn("version", v3)
        doc = json.loads(fetch(self, self.outer.root, v3["version"]["serverRelativeURL"]).body)
        self.assertEqual(doc["paths"]["/version/"]["get"]["operationId"], "getCodeVersion")
        self.assertIn("io.k8s.apimachinery.pkg.version.Info", doc["components"]["schemas"])
        v2 = json.loads(fetch(self, self.outer.root, "/openapi/v2").body)
        self.assertIn("/version/", v2["paths"])
        self.assertIn("io.k8s.apimachinery.pkg.version.Info", v2["definitions"])


class IndexTests(SynchronousTestCase):
    def test_index_lists_paths_of_the_chain(self):
        """GET / and /index.html list every server's paths and health checks, sorted, 2-space indented."""
        lifecycle, servers = make_chain()
        apiext, kube, outer = servers
        apiext.install("/apis/apiextensions.k8s.io/v1", index.IndexResource(apiext))
        kube.install("/api/v1", index.IndexResource(kube))
        kube.add_healthz_checks(HealthCheck("etcd", lambda: None, group="etcd"))
        apiext.add_readyz_checks(HealthCheck("etcd-readiness", lambda: None))
        prepare(servers, lifecycle)
        for path in ("/", "/index.html"):
            answer = fetch(self, outer.root, path)
            self.assertEqual(answer.code, 200)
            self.assertEqual(answer.header("content-type"), "application/json")
            self.assertEqual(
                answer.body,
                index.index_body([
                    "/api/v1", "/apis/apiextensions.k8s.io/v1",
                    "/healthz", "/healthz/etcd", "/healthz/log", "/healthz/ping",
                    "/livez", "/livez/etcd", "/livez/log", "/livez/ping",
                    "/openapi/v2", "/openapi/v3", "/openapi/v3/",
                    "/readyz", "/readyz/etcd", "/readyz/etcd-readiness", "/readyz/log",
                    "/readyz/ping", "/readyz/shutdown", "/version",
                ]),
            )
        self.assertTrue(answer.body.startswith(b'{\n  "paths": [\n    "/api/v1",\n'))


class KubectlTests(TestCase):
    """The real kubectl against a chain served over a real socket."""

    def setUp(self) -> None:
        self.kubectl = shutil.which("kubectl")
        if self.kubectl is None:
            raise self.skipTest("kubectl is not on PATH")
        lifecycle = LifecycleSignals()
        apiext = GenericAPIServer("apiextensions-apiserver", None, lifecycle, reactor)
        kube = GenericAPIServer("kube-apiserver", apiext, lifecycle, reactor)
        outer = GenericAPIServer("kube-aggregator", kube, lifecycle, reactor)
        kube.add_healthz_checks(HealthCheck("etcd", lambda: None, group="etcd"))
        servers = [apiext, kube, outer]
        for server in servers:
            server.startService()
        lifecycle.mux_and_discovery_complete.fire()
        self.port = reactor.listenTCP(0, Site(outer.root), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        home = self.mktemp()
        os.makedirs(home)
        self.env = {"HOME": home, "KUBECONFIG": os.path.join(home, "none"), "PATH": os.environ.get("PATH", "")}

    def kubectl_run(self, *args: str):
        server = "http://127.0.0.1:%d" % self.port.getHost().port
        return getProcessOutputAndValue(self.kubectl, ("--server", server) + args, env=self.env)

    @inlineCallbacks
    def test_kubectl_version(self):
        """`kubectl version` prints `Server Version: v1.37.0`."""
        out, err, code = yield self.kubectl_run("version")
        self.assertEqual(code, 0, err)
        self.assertIn(b"Server Version: v1.37.0", out)
        out, err, code = yield self.kubectl_run("version", "-o", "json")
        self.assertEqual(code, 0, err)
        server = json.loads(out)["serverVersion"]
        self.assertEqual((server["major"], server["minor"]), ("1", "37"))
        self.assertEqual(server["platform"], default_version_info().platform)

    @inlineCallbacks
    def test_kubectl_readyz_verbose(self):
        """`kubectl get --raw /readyz?verbose` prints the check list."""
        out, err, code = yield self.kubectl_run("get", "--raw", "/readyz?verbose")
        self.assertEqual(code, 0, err)
        self.assertEqual(
            out,
            b"[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]shutdown ok\nreadyz check passed\n",
        )
