"""
/healthz, /livez and /readyz: kube-apiserver's exact texts, codes and
headers, check by check, through a chain of three servers.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import readBody
from twisted.web.http_headers import Headers
from treq.testing import RequestTraversalAgent

from kapi_twisted.server.generic import GenericAPIServer, HealthCheck
from kapi_twisted.server.healthz import LogHealthCheck, checks_for
from kapi_twisted.server.lifecycle import LifecycleSignals
from kapi_twisted.server.responses import APIResource, Response


class Answer:
    """What a client got: code, headers (lower-case names) and body."""

    def __init__(self, code: int, headers: Dict[str, List[str]], body: bytes) -> None:
        self.code = code
        self.headers = headers
        self.body = body

    def header(self, name: str) -> Optional[str]:
        values = self.headers.get(name.lower())
        return values[0] if values else None


def fetch(
    case: SynchronousTestCase,
    root: Any,
    path: str,
    method: bytes = b"GET",
    headers: Optional[Dict[str, str]] = None,
    settle: Any = None,
) -> Answer:
    """
    Send one request through a real HTTP client and twisted.web server in
    memory; C{settle} (e.g. advancing a Clock) runs before the answer is read.
    """
    agent = RequestTraversalAgent(root)
    raw = Headers({k.encode(): [v.encode()] for k, v in (headers or {}).items()})
    d = agent.request(method, b"http://kapi.test" + path.encode(), raw)
    agent.flush()
    if settle is not None:
        settle()
        agent.flush()
    response = case.successResultOf(d)
    body_d = readBody(response)
    agent.flush()
    body = case.successResultOf(body_d)
    found: Dict[str, List[str]] = {}
    for name, values in response.headers.getAllRawHeaders():
        found[name.decode().lower()] = [v.decode() for v in values]
    return Answer(response.code, found, body)


def make_chain(clock: Optional[Clock] = None) -> Tuple[LifecycleSignals, List[GenericAPIServer]]:
    """APIExtensions <- KubeAPI <- Aggregator, not yet prepared."""
    lifecycle = LifecycleSignals()
    clock = clock or Clock()
    apiext = GenericAPIServer("apiextensions-apiserver", None, lifecycle, clock)
    kube = GenericAPIServer("kube-apiserver", apiext, lifecycle, clock)
    aggregator = GenericAPIServer("kube-aggregator", kube, lifecycle, clock)
    return lifecycle, [apiext, kube, aggregator]


def prepare(servers: List[GenericAPIServer], lifecycle: LifecycleSignals) -> None:
    """Start the servers innermost first, as the MultiService does."""
    for server in servers:
        server.startService()
    lifecycle.mux_and_discovery_complete.fire()


def ok() -> None:
    return None


def failing(reason: str = "boom"):
    def check() -> None:
        raise RuntimeError(reason)

    return check


class _Text(APIResource):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def handle(self, request):
        return Response(self.text.encode(), 200, "text/plain")


class HealthFormatTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.lifecycle, servers = make_chain()
        self.apiext, self.kube, self.outer = servers
        self.servers = servers

    def start(self) -> None:
        prepare(self.servers, self.lifecycle)

    def get(self, path: str, **kw: Any) -> Answer:
        return fetch(self, self.outer.root, path, **kw)

    def assertPlainText(self, answer: Answer, nosniff: bool = True) -> None:
        self.assertEqual(answer.header("content-type"), "text/plain; charset=utf-8")
        if nosniff:
            self.assertEqual(answer.header("x-content-type-options"), "nosniff")

    def test_all_pass_plain_ok(self):
        """GET /healthz answers 200 with the body exactly `ok`, as text with nosniff."""
        self.start()
        for endpoint in ("/healthz", "/livez", "/readyz"):
            answer = self.get(endpoint)
            self.assertEqual((answer.code, answer.body), (200, b"ok"), endpoint)
            self.assertPlainText(answer)

    def test_verbose_lists_every_check(self):
        """?verbose lists `[+]name ok` per check and ends with `<endpoint> check passed`."""
        self.kube.add_healthz_checks(HealthCheck("etcd", ok, group="etcd"))
        self.start()
        self.assertEqual(
            self.get("/readyz?verbose").body,
            b"[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]shutdown ok\nreadyz check passed\n",
        )
        self.assertEqual(
            self.get("/livez?verbose").body,
            b"[+]ping ok\n[+]log ok\n[+]etcd ok\nlivez check passed\n",
        )
        self.assertEqual(
            self.get("/healthz?verbose=1").body,
            b"[+]ping ok\n[+]log ok\n[+]etcd ok\nhealthz check passed\n",
        )

    def test_failure_lists_everything_and_withholds_reason(self):
        """A failing check gives 500 with the full list, `reason withheld`, and `readyz check failed`."""
        self.kube.add_healthz_checks(HealthCheck("etcd", failing("connection refused"), group="etcd"))
        self.start()
        answer = self.get("/readyz")
        self.assertEqual(answer.code, 500)
        self.assertEqual(
            answer.body,
            b"[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\n[+]shutdown ok\n"
            b"readyz check failed\n",
        )
        self.assertNotIn(b"connection refused", answer.body)
        self.assertPlainText(answer)

    def test_exclude_by_name_group_and_unknown(self):
        """?exclude skips checks by name or group and warns about names that match nothing."""
        self.kube.add_healthz_checks(
            HealthCheck("etcd", failing(), group="etcd"),
            HealthCheck("etcd-readiness", failing(), group="etcd"),
            HealthCheck("informer-sync", ok),
        )
        self.start()
        answer = self.get("/readyz?verbose&exclude=etcd&exclude=zeta&exclude=alpha&exclude=informer-sync")
        self.assertEqual(answer.code, 200)
        self.assertEqual(
            answer.body,
            b"[+]ping ok\n[+]log ok\n[+]etcd excluded: ok\n"
            b"[+]etcd-readiness excluded with etcd: ok\n[+]informer-sync excluded: ok\n"
            b"[+]shutdown ok\n"
            b'warn: some health checks cannot be excluded: no matches for "alpha","zeta"\n'
            b"readyz check passed\n",
        )
        self.assertEqual(self.get("/readyz?exclude=etcd").body, b"ok")

    def test_single_check(self):
        """/readyz/<name> answers `ok`, or 500 `internal server error: <reason>` with the real reason."""
        self.kube.add_healthz_checks(
            HealthCheck("etcd", ok, group="etcd"), HealthCheck("kms-providers", failing("kms down"))
        )
        self.start()
        good = self.get("/readyz/etcd")
        self.assertEqual((good.code, good.body), (200, b"ok"))
        self.assertPlainText(good, nosniff=False)
        bad = self.get("/livez/kms-providers")
        self.assertEqual((bad.code, bad.body), (500, b"internal server error: kms down\n"))
        self.assertPlainText(bad)

    def test_unknown_single_check_is_plain_404(self):
        """/readyz/<unknown> goes down the chain and ends in `404 page not found`."""
        self.start()
        answer = self.get("/readyz/nosuch")
        self.assertEqual((answer.code, answer.body), (404, b"404 page not found\n"))

    def test_shutdown_fails_readyz_only(self):
        """Once shutdown begins /readyz fails on `shutdown` while /livez and /healthz stay ok."""
        self.start()
        self.lifecycle.shutdown_initiated.fire()
        answer = self.get("/readyz")
        self.assertEqual(answer.code, 500)
        self.assertTrue(answer.body.endswith(b"[-]shutdown failed: reason withheld\nreadyz check failed\n"))
        self.assertEqual(self.get("/livez").code, 200)
        self.assertEqual(self.get("/healthz").code, 200)
        single = self.get("/readyz/shutdown")
        self.assertEqual(single.body, b"internal server error: process is shutting down\n")
        self.assertEqual(self.get("/healthz/shutdown").code, 404)

    def test_has_been_ready_fires_on_first_pass(self):
        """HasBeenReady fires the first time /readyz passes, not while it fails."""
        state = {"healthy": False}

        def flaky() -> None:
            if not state["healthy"]:
                raise RuntimeError("not yet")

        self.outer.add_readyz_checks(HealthCheck("informer-sync", flaky))
        self.start()
        self.assertEqual(self.get("/readyz").code, 500)
        self.assertFalse(self.lifecycle.has_been_ready.fired)
        self.assertEqual(self.get("/livez").code, 200)
        self.assertFalse(self.lifecycle.has_been_ready.fired)
        state["healthy"] = True
        self.assertEqual(self.get("/readyz").code, 200)
        self.assertTrue(self.lifecycle.has_been_ready.fired)

    def test_post_start_hooks(self):
        """`poststarthook/<name>` checks fail until the hooks ran, on every endpoint."""
        self.apiext.add_post_start_hook("start-apiextensions-informers", lambda ctx: None)
        self.kube.add_post_start_hook("rbac/bootstrap-roles", lambda ctx: None)
        self.start()
        before = self.get("/livez")
        self.assertEqual(before.code, 500)
        self.assertIn(b"[-]poststarthook/rbac/bootstrap-roles failed: reason withheld\n", before.body)
        single = self.get("/readyz/poststarthook/rbac/bootstrap-roles")
        self.assertEqual(single.body, b"internal server error: not finished\n")
        self.outer.run_post_start_hooks()
        self.assertEqual(
            self.get("/healthz?verbose").body,
            b"[+]ping ok\n[+]log ok\n[+]poststarthook/start-apiextensions-informers ok\n"
            b"[+]poststarthook/rbac/bootstrap-roles ok\nhealthz check passed\n",
        )
        self.assertEqual(self.get("/readyz/poststarthook/rbac/bootstrap-roles").body, b"ok")

    def test_asynchronous_check(self):
        """A check returning a Deferred holds the answer until it fires."""
        clock = Clock()
        pending: List[Deferred] = []

        def slow() -> Deferred:
            d: Deferred = Deferred()
            pending.append(d)
            clock.callLater(1, d.callback, None)
            return d

        self.kube.add_healthz_checks(HealthCheck("etcd", slow, group="etcd"))
        self.start()
        answer = self.get("/readyz?verbose", settle=lambda: clock.advance(1))
        self.assertEqual(answer.code, 200)
        self.assertIn(b"[+]etcd ok\n", answer.body)
        self.assertEqual(len(pending), 1)

    def test_head_request(self):
        """HEAD /readyz answers 200 with no body, as probes expect."""
        self.start()
        answer = self.get("/readyz", method=b"HEAD")
        self.assertEqual((answer.code, answer.body), (200, b""))


class ChainTests(SynchronousTestCase):
    def test_three_server_chain(self):
        """The outer /readyz lists a delegate's check once; an innermost path is reached from outside."""
        lifecycle, servers = make_chain()
        apiext, kube, outer = servers
        apiext.add_healthz_checks(HealthCheck("etcd", ok, group="etcd"), HealthCheck("crd-check", ok))
        kube.add_healthz_checks(HealthCheck("etcd", ok, group="etcd"))
        kube.add_readyz_checks(HealthCheck("etcd-readiness", ok, group="etcd"))
        apiext.add_readyz_checks(HealthCheck("inner-readiness", failing("inner only")))
        outer.add_healthz_checks(HealthCheck("autoregister-completion", ok))
        apiext.install("/apis/apiextensions.k8s.io/v1", _Text("crds"))
        prepare(servers, lifecycle)

        answer = fetch(self, outer.root, "/readyz?verbose")
        self.assertEqual(answer.code, 200)
        self.assertEqual(
            answer.body,
            b"[+]ping ok\n[+]log ok\n[+]autoregister-completion ok\n[+]etcd ok\n"
            b"[+]crd-check ok\n[+]shutdown ok\nreadyz check passed\n",
        )
        names = [c.name for c in checks_for(kube, "readyz")]
        self.assertEqual(names, ["etcd", "etcd-readiness", "crd-check", "shutdown"])

        # A delegate's readyz-only check is its own: reached as a single check
        # through the chain, not part of the outer list.
        single = fetch(self, outer.root, "/readyz/inner-readiness")
        self.assertEqual((single.code, single.body), (500, b"internal server error: inner only\n"))
        self.assertEqual(fetch(self, outer.root, "/readyz/crd-check").body, b"ok")

        inner = fetch(self, outer.root, "/apis/apiextensions.k8s.io/v1")
        self.assertEqual((inner.code, inner.body), (200, b"crds"))


class LogCheckTests(SynchronousTestCase):
    def test_flushes_and_passes(self):
        """The `log` check passes while the log streams flush."""
        flushed = []

        class Stream:
            def flush(self) -> None:
                flushed.append(1)

        clock = Clock()
        check = LogHealthCheck(clock, lambda: [Stream()])
        check()
        check()
        self.assertEqual(len(flushed), 1)
        clock.advance(60)
        check()
        self.assertEqual(len(flushed), 2)

    def test_broken_stream_blocks(self):
        """A log stream that cannot be flushed makes `log` fail with `logging blocked`."""

        class Broken:
            def flush(self) -> None:
                raise BrokenPipeError("pipe closed")

        check = LogHealthCheck(Clock(), lambda: [Broken()])
        self.assertRaises(RuntimeError, check)
        try:
            check()
        except RuntimeError as e:
            self.assertEqual(str(e), "logging blocked")
