"""
/metrics (kapi_twisted.server.metrics): kube-apiserver's request metrics,
with its names, labels and label values, in the Prometheus text format.
"""

from __future__ import annotations

import os
from typing import Dict, Optional

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from kapi_twisted.server.metrics import (
    CONTENT_TYPE,
    APIServerMetrics,
    clean_scope,
    clean_verb,
    install_metrics,
)
from kapi_twisted.server.requestinfo import parse_request_info
from tests.test_filters_harness import ADMIN, ALICE, BOB, ChainServer

PODS = b"/api/v1/namespaces/default/pods"


class FakeRequest:
    def __init__(self, method: bytes, args: Optional[Dict[bytes, list]] = None,
                 content_type: Optional[bytes] = None) -> None:
        self.method = method
        self.args = args or {}
        self.content_type = content_type

    def getHeader(self, name: bytes) -> Optional[bytes]:
        return self.content_type if name == b"content-type" else None


def labels_of(method: str, path: str, query: str = "", content_type: Optional[bytes] = None):
    args: Dict[bytes, list] = {}
    query_dict: Dict[str, list] = {}
    for pair in filter(None, query.split("&")):
        key, _, value = pair.partition("=")
        args.setdefault(key.encode(), []).append(value.encode())
        query_dict.setdefault(key, []).append(value)
    info = parse_request_info(method, path, query_dict)
    request = FakeRequest(method.encode(), args, content_type)
    scope = clean_scope(info)
    return clean_verb(request, info, scope), scope


class LabelValueTests(SynchronousTestCase):
    def test_verbs_and_scopes(self) -> None:
        """Verbs are canonical upper-case names and scopes follow the request info."""
        ns = "/api/v1/namespaces/default/pods"
        cases = [
            (("GET", ns), ("LIST", "namespace")),
            (("GET", ns + "/web"), ("GET", "resource")),
            (("HEAD", ns + "/web"), ("GET", "resource")),
            (("GET", "/api/v1/pods"), ("LIST", "cluster")),
            (("GET", ns, "watch=true"), ("WATCH", "namespace")),
            (("GET", "/api/v1/watch/namespaces/default/pods"), ("WATCH", "namespace")),
            (("GET", ns + "/web", "watch=1"), ("WATCH", "resource")),
            (("GET", ns, "watch=false"), ("LIST", "namespace")),
            (("POST", ns), ("POST", "resource")),
            (("PUT", ns + "/web"), ("PUT", "resource")),
            (("PATCH", ns + "/web"), ("PATCH", "resource")),
            (("DELETE", ns + "/web"), ("DELETE", "resource")),
            (("DELETE", ns), ("DELETE", "namespace")),
            (("GET", ns + "/web/log"), ("CONNECT", "resource")),
            (("POST", ns + "/web/exec"), ("CONNECT", "resource")),
            (("GET", ns + "/web/status"), ("GET", "resource")),
            (("GET", "/api/v1/namespaces/default"), ("GET", "resource")),
            (("OPTIONS", ns), ("other", "namespace")),
            (("GET", "/healthz"), ("GET", "")),
        ]
        for args, expected in cases:
            self.assertEqual(labels_of(*args), expected, args)

    def test_apply(self) -> None:
        """A server-side apply PATCH is APPLY."""
        self.assertEqual(
            labels_of("PATCH", "/apis/apps/v1/namespaces/a/deployments/d",
                      content_type=b"application/apply-patch+yaml")[0], "APPLY")

    def test_dry_run(self) -> None:
        """dry_run is empty, All, or invalid."""
        metrics = APIServerMetrics()
        for query, expected in (("", ""), ("dryRun=All", "All"),
                                ("dryRun=All&dryRun=All", "All"), ("dryRun=yes", "invalid")):
            args: Dict[bytes, list] = {}
            for pair in filter(None, query.split("&")):
                key, _, value = pair.partition("=")
                args.setdefault(key.encode(), []).append(value.encode())
            info = parse_request_info("POST", "/api/v1/namespaces/a/configmaps")
            labels = metrics.request_labels(FakeRequest(b"POST", args), info)
            self.assertEqual(labels[1], expected, query)


class MetricsEndpointTests(SynchronousTestCase):
    def setUp(self) -> None:
        tmp = self.mktemp()
        os.makedirs(tmp)
        self.server = ChainServer(tmp, max_requests_inflight=3, request_timeout=10)
        install_metrics(self.server.app, self.server.chain.metrics)

    def scrape(self) -> str:
        response = self.server.get(b"/metrics", ADMIN)
        self.assertEqual(response.code, 200)
        self.assertEqual(response.header(b"content-type"), CONTENT_TYPE.encode())
        return response.body.decode()

    def test_families_and_labels(self) -> None:
        """After a few requests /metrics shows them with kube-apiserver's names and labels."""
        self.server.get(PODS, ALICE)
        self.server.get(PODS, ALICE)
        self.server.get(b"/apis/apps/v1/namespaces/default/deployments/web", ALICE)
        self.server.request(b"POST", b"/api/v1/namespaces/default/configmaps", ALICE, b"{}")
        self.server.get(b"/healthz")
        self.server.get(PODS + b"?hang=1", ALICE)
        self.server.get(PODS + b"?watch=true&hang=1", ALICE)
        self.server.request(b"PUT", b"/api/v1/namespaces/default/configmaps/x?hang=1",
                            ALICE, b"{}")
        text = self.scrape()
        for line in (
            'apiserver_request_total{code="200",component="apiserver",dry_run="",group="",'
            'resource="pods",scope="namespace",subresource="",verb="LIST",version="v1"} 2.0',
            'apiserver_request_total{code="200",component="apiserver",dry_run="",group="apps",'
            'resource="deployments",scope="resource",subresource="",verb="GET",version="v1"} 1.0',
            'apiserver_request_total{code="200",component="apiserver",dry_run="",group="",'
            'resource="configmaps",scope="resource",subresource="",verb="POST",version="v1"} 1.0',
            'apiserver_request_total{code="200",component="",dry_run="",group="",resource="",'
            'scope="",subresource="/healthz",verb="GET",version=""} 1.0',
            'apiserver_request_duration_seconds_bucket{component="apiserver",dry_run="",'
            'group="",le="+Inf",resource="pods",scope="namespace",subresource="",'
            'verb="LIST",version="v1"} 2.0',
            'apiserver_request_duration_seconds_count{component="apiserver",dry_run="",'
            'group="",resource="pods",scope="namespace",subresource="",verb="LIST",'
            'version="v1"} 2.0',
            # the pending list and this scrape; the pending PUT
            'apiserver_current_inflight_requests{request_kind="readOnly"} 2.0',
            'apiserver_current_inflight_requests{request_kind="mutating"} 1.0',
            'apiserver_longrunning_requests{component="apiserver",group="",resource="pods",'
            'scope="namespace",subresource="",verb="WATCH",version="v1"} 1.0',
            "# TYPE apiserver_request_total counter",
            "# TYPE apiserver_request_duration_seconds histogram",
            "# TYPE apiserver_current_inflight_requests gauge",
        ):
            self.assertIn(line + "\n", text)
        self.assertNotIn("_created", text)
        for bound in ("0.005", "0.025", "1.25", "45.0", "60.0"):
            self.assertIn(f'le="{bound}"', text)

    def test_refused_requests(self) -> None:
        """401s are not requests served; 429 and 504 are counted as terminations."""
        self.server.get(PODS)
        for _ in range(3):
            self.server.get(PODS + b"?hang=1", BOB)
        self.assertEqual(self.server.get(PODS, BOB).code, 429)
        self.server.clock.advance(10)
        text = self.scrape()
        self.assertNotIn('code="401"', text)
        self.assertIn(
            'apiserver_request_terminations_total{code="429",component="apiserver",group="",'
            'resource="pods",scope="namespace",subresource="",verb="LIST",version="v1"} 1.0\n',
            text)
        self.assertIn(
            'apiserver_request_terminations_total{code="504",component="apiserver",group="",'
            'resource="pods",scope="namespace",subresource="",verb="LIST",version="v1"} 3.0\n',
            text)
        self.assertIn(
            'apiserver_request_total{code="504",component="apiserver",dry_run="",group="",'
            'resource="pods",scope="namespace",subresource="",verb="LIST",version="v1"} 3.0\n',
            text)
        self.assertIn('apiserver_current_inflight_requests{request_kind="readOnly"} 1.0\n', text)

    def test_unknown_paths_not_recorded(self) -> None:
        """Paths that are neither resources nor health checks add no series."""
        self.server.get(b"/some/random/path", ALICE)
        self.assertNotIn("/some/random/path", self.scrape())

    def test_known_resource_filter(self) -> None:
        """With a known_resource predicate, unserved resources are not recorded."""
        self.server.chain.metrics.known_resource = lambda info: info.resource == "pods"
        self.server.get(b"/api/v1/namespaces/default/nonsense", ALICE)
        self.server.get(PODS, ALICE)
        text = self.scrape()
        self.assertNotIn("nonsense", text)
        self.assertIn('resource="pods"', text)

    def test_process_metrics(self) -> None:
        """The process's CPU, memory and start time are published too (on Linux)."""
        if not os.path.exists("/proc/self/stat"):
            raise SkipTest("process metrics come from /proc, which this system lacks")
        text = self.scrape()
        for name in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                     "process_start_time_seconds"):
            self.assertIn("\n" + name + " ", text)

    def test_tls_handshake_errors(self) -> None:
        """Failed TLS handshakes counted by the serving site appear as a counter."""
        errors = [0]
        self.server.chain.metrics.track_tls_handshake_errors(lambda: errors[0])
        errors[0] = 3
        self.assertIn("\napiserver_tls_handshake_errors_total 3.0\n", self.scrape())

    def test_registries_are_separate(self) -> None:
        """Two servers in one process keep their own metrics."""
        self.server.get(PODS, ALICE)
        other = APIServerMetrics()
        self.assertNotIn(b'resource="pods"', other.exposition())


class HistogramTests(SynchronousTestCase):
    def test_buckets_are_cumulative(self) -> None:
        """A 0.3s request counts in every bucket from le=0.4 up, with its sum."""
        metrics = APIServerMetrics()
        labels = ("GET", "", "", "v1", "pods", "", "resource", "apiserver")
        metrics.observe(labels, 200, 0.3)
        metrics.observe(labels, 404, 0.2)
        text = metrics.exposition().decode()
        def series(name: str, le: str, value: str) -> str:
            return (name + '{component="apiserver",dry_run="",group="",' + le
                    + 'resource="pods",scope="resource",subresource="",verb="GET",'
                    + 'version="v1"} ' + value + "\n")

        bucket = "apiserver_request_duration_seconds_bucket"
        self.assertIn(series(bucket, 'le="0.1",', "0.0"), text)
        self.assertIn(series(bucket, 'le="0.2",', "1.0"), text)
        self.assertIn(series(bucket, 'le="0.4",', "2.0"), text)
        self.assertIn(series(bucket, 'le="+Inf",', "2.0"), text)
        self.assertIn(series("apiserver_request_duration_seconds_sum", "", "0.5"), text)
        self.assertIn('code="404"', text)
