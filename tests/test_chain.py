"""
The server chain: delegation between GenericAPIServers, the end of the
chain, post-start hooks and health checks aggregated along it.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource, getChildForRequest
from twisted.web.test.requesthelper import DummyRequest

from kapi_twisted.server.delegation import Router
from kapi_twisted.server.generic import HealthCheck, HookError
from tests.test_healthz import _Text, make_chain


def _chain():
    lifecycle, servers = make_chain()
    return (lifecycle, *servers)


def _get(root: Resource, path: str) -> DummyRequest:
    request = DummyRequest([s.encode() for s in path.strip("/").split("/")])
    request.path = path.encode()
    request.uri = path.encode()
    resource = getChildForRequest(root, request)
    resource.render(request)
    return request


class DelegationTests(SynchronousTestCase):
    def test_outermost_reaches_innermost_path(self):
        """A path only the APIExtensions server serves is answered through the Aggregator."""
        lifecycle, apiext, kube, aggregator = _chain()
        apiext.install("/apis/example.com/v1", _Text("from apiextensions"))
        request = _get(aggregator.root, "/apis/example.com/v1")
        self.assertEqual(b"".join(request.written), b"from apiextensions")

    def test_own_path_wins(self):
        """A server answers its own paths; its delegate is not asked."""
        lifecycle, apiext, kube, aggregator = _chain()
        apiext.install("/shared", _Text("inner"))
        kube.install("/shared", _Text("middle"))
        request = _get(aggregator.root, "/shared")
        self.assertEqual(b"".join(request.written), b"middle")

    def test_partial_match_delegates(self):
        """A server serving /apis/a falls through to its delegate for /apis/b."""
        lifecycle, apiext, kube, aggregator = _chain()
        kube.install("/apis/a", _Text("a"))
        apiext.install("/apis/b", _Text("b"))
        self.assertEqual(b"".join(_get(aggregator.root, "/apis/b").written), b"b")
        self.assertEqual(b"".join(_get(aggregator.root, "/apis/a").written), b"a")

    def test_end_of_chain_plain_404(self):
        """An unknown path ends in Go's plain-text 404 once all paths are installed."""
        lifecycle, apiext, kube, aggregator = _chain()
        lifecycle.mux_and_discovery_complete.fire()
        request = _get(aggregator.root, "/apis/nosuch.group/v1/things")
        self.assertEqual(request.responseCode, 404)
        self.assertEqual(b"".join(request.written), b"404 page not found\n")
        self.assertEqual(
            request.responseHeaders.getRawHeaders(b"content-type"),
            [b"text/plain; charset=utf-8"],
        )
        self.assertEqual(
            request.responseHeaders.getRawHeaders(b"x-content-type-options"), [b"nosniff"]
        )

    def test_before_paths_installed_503(self):
        """Before every path is installed the end of the chain answers 503 with Retry-After 5."""
        lifecycle, apiext, kube, aggregator = _chain()
        request = _get(aggregator.root, "/nothing")
        self.assertEqual(request.responseCode, 503)
        self.assertEqual(request.responseHeaders.getRawHeaders(b"retry-after"), [b"5"])
        self.assertIn(b'"reason":"ServiceUnavailable"', b"".join(request.written))

    def test_router_index(self):
        """A router node with an index answers its own path; without one it delegates."""
        lifecycle, apiext, kube, aggregator = _chain()
        apiext.install("/apis", _Text("inner apis"))
        self.assertEqual(b"".join(_get(aggregator.root, "/apis").written), b"inner apis")
        kube.install_router("/apis", _Text("kube apis"))
        self.assertEqual(b"".join(_get(aggregator.root, "/apis").written), b"kube apis")

    def test_install_refuses_overwriting_a_leaf(self):
        """Installing below a leaf resource is refused rather than silently shadowing it."""
        lifecycle, apiext, kube, aggregator = _chain()
        kube.install("/version", _Text("v"))
        self.assertRaises(ValueError, kube.install, "/version/x", _Text("x"))
        self.assertIsInstance(kube.root.children[b"version"], _Text)
        self.assertIsInstance(kube.root, Router)

    def test_listed_paths_union(self):
        """The index lists every server's paths, sorted and without duplicates."""
        lifecycle, apiext, kube, aggregator = _chain()
        apiext.install("/apis/x", _Text("x"))
        kube.install("/api", _Text("api"))
        aggregator.install("/api", _Text("api"))
        self.assertEqual(aggregator.listed_paths(), ["/api", "/apis/x"])


class HookAndCheckTests(SynchronousTestCase):
    def test_post_start_hooks_along_the_chain(self):
        """Hooks of every server run once, and their checks pass only once finished."""
        lifecycle, apiext, kube, aggregator = _chain()
        ran = []
        apiext.add_post_start_hook("start-apiextensions-controllers", lambda ctx: ran.append("apiext"))
        kube.add_post_start_hook("start-system-namespaces-controller", lambda ctx: ran.append("kube"))
        names = [c.name for c in aggregator.post_start_hook_checks()]
        self.assertEqual(
            names,
            ["poststarthook/start-apiextensions-controllers",
             "poststarthook/start-system-namespaces-controller"],
        )
        failures = []
        aggregator.post_start_hook_checks()[0].run().addErrback(failures.append)
        self.assertEqual(str(failures[0].value), "not finished")
        self.successResultOf(aggregator.run_post_start_hooks())
        self.assertEqual(sorted(ran), ["apiext", "kube"])
        for check in aggregator.post_start_hook_checks():
            self.successResultOf(check.run())

    def test_failing_hook_keeps_check_failing(self):
        """A hook that fails leaves its poststarthook check failing with the error."""
        lifecycle, apiext, kube, aggregator = _chain()

        def broken(ctx):
            raise RuntimeError("boom")

        kube.add_post_start_hook("broken", broken)
        self.successResultOf(aggregator.run_post_start_hooks())
        failure = self.failureResultOf(aggregator.post_start_hook_checks()[0].run())
        self.assertEqual(str(failure.value), "boom")
        self.flushLoggedErrors(RuntimeError)

    def test_hook_registration_rules(self):
        """Empty and duplicate hook names, and hooks added after start, are refused."""
        lifecycle, apiext, kube, aggregator = _chain()
        self.assertRaises(HookError, kube.add_post_start_hook, "", lambda ctx: None)
        kube.add_post_start_hook("a", lambda ctx: None)
        self.assertRaises(HookError, aggregator.add_post_start_hook, "a", lambda ctx: None)
        aggregator.run_post_start_hooks()
        self.assertRaises(HookError, apiext.add_post_start_hook, "late", lambda ctx: None)

    def test_healthz_checks_aggregate_without_duplicates(self):
        """A delegate's health check appears once on the outer server, after its own."""
        lifecycle, apiext, kube, aggregator = _chain()
        apiext.add_healthz_checks(HealthCheck("etcd", lambda: None))
        kube.add_healthz_checks(HealthCheck("etcd", lambda: None), HealthCheck("kube", lambda: None))
        self.assertEqual([c.name for c in aggregator.all_healthz_checks()], ["etcd", "kube"])
        self.assertEqual([c.name for c in apiext.all_healthz_checks()], ["etcd"])

    def test_pre_shutdown_hooks_aggregate(self):
        """Pre-shutdown hooks of the whole chain are visible from the outermost server."""
        lifecycle, apiext, kube, aggregator = _chain()
        kube.add_pre_shutdown_hook("bootstrap-controller", lambda: None)
        self.assertEqual(list(aggregator.all_pre_shutdown_hooks()), ["bootstrap-controller"])
        self.assertRaises(HookError, kube.add_pre_shutdown_hook, "bootstrap-controller", lambda: None)
