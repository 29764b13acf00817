"""
The apiserver's own metrics, as kube-apiserver names and labels them
(k8s.io/apiserver pkg/endpoints/metrics), in one C{CollectorRegistry} per
server process (never prometheus_client's global one, so several servers
can live in one process, as in tests), and served at C{/metrics} in the
Prometheus text format.

The filter chain (L{kapi_twisted.server.filters}) records each request once
it has reached a handler; the label values are computed as kube-apiserver
does (verbs made canonical, scope from the request info). Only resource
requests and the health endpoints are recorded, so random paths cannot
blow up label cardinality; C{known_resource} narrows resource requests to
served resources once the caller can tell.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from prometheus_client import CollectorRegistry, Counter, Gauge, ProcessCollector
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from kapi_twisted.server.requestinfo import RequestInfo
from kapi_twisted.server.responses import APIResource, Response

__all__ = [
    "APIServerMetrics",
    "MetricsResource",
    "install_metrics",
    "clean_scope",
    "clean_verb",
    "CONTENT_TYPE",
    "DURATION_BUCKETS",
]

APISERVER_COMPONENT = "apiserver"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4 + "; escaping=underscores"
DURATION_BUCKETS = (
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0,
    5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
)
REQUEST_LABELS = (
    "verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component",
)
_LONGRUNNING_LABELS = (
    "verb", "group", "version", "resource", "subresource", "scope", "component",
)
_VALID_VERBS = frozenset({
    "APPLY", "CONNECT", "CREATE", "DELETE", "DELETECOLLECTION", "GET", "LIST", "PATCH",
    "POST", "PROXY", "PUT", "UPDATE", "WATCH", "WATCHLIST",
})
_CONNECT_SUBRESOURCES = frozenset({"log", "exec", "portforward", "attach", "proxy"})
_APPLY_PATCH = b"application/apply-patch+yaml"
HEALTH_PATHS = frozenset({"/healthz", "/livez", "/readyz"})
"""Non-resource paths kube-apiserver instruments (C{subresource} = the path)."""

Labels = Tuple[str, ...]


def clean_scope(info: RequestInfo) -> str:
    """C{resource}, C{namespace}, C{cluster}, or "" for a non-resource request."""
    if info.name or info.verb == "create":
        return "resource"
    if info.namespace:
        return "namespace"
    if info.is_resource_request:
        return "cluster"
    return ""


def _watch_param(request: Any) -> bool:
    values = request.args.get(b"watch") if request.args else None
    return bool(values) and values[0].lower() not in (b"0", b"false")


def clean_verb(request: Any, info: RequestInfo, scope: str) -> str:
    """
    The C{verb} label: the HTTP method upper-cased, GET of a collection as
    LIST, watches as WATCH, server-side apply as APPLY, the streaming
    subresources as CONNECT, anything unknown as C{other}.
    """
    method = request.method.decode("ascii", "replace").upper()
    if info.verb == "watch" or (method == "GET" and _watch_param(request)):
        return "WATCH"
    if method in ("GET", "HEAD"):
        verb = "LIST" if scope not in ("resource", "") else "GET"
    elif method == "PATCH" and request.getHeader(b"content-type") == _APPLY_PATCH:
        verb = "APPLY"
    else:
        verb = method
    if info.is_resource_request and info.subresource in _CONNECT_SUBRESOURCES:
        verb = "CONNECT"
    return verb if verb in _VALID_VERBS else "other"


def _dry_run(request: Any) -> str:
    values = request.args.get(b"dryRun") if request.args else None
    if not values:
        return ""
    unique = sorted({v.decode("utf-8", "replace") for v in values})
    if any(v != "All" for v in unique):
        return "invalid"
    return ",".join(unique)


class APIServerMetrics:
    """
    The metric families of one server process.

    @ivar registry: the C{CollectorRegistry} they are registered in.
    @ivar known_resource: optional predicate; a resource request for which it
        answers False (an unserved resource) is not recorded.
    """

    def __init__(
        self,
        registry: Optional[CollectorRegistry] = None,
        known_resource: Optional[Callable[[RequestInfo], bool]] = None,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=False)
        self.known_resource = known_resource
        self.requests = _RequestCollector()
        self.registry.register(self.requests)
        # process_cpu_seconds_total, process_resident_memory_bytes,
        # process_start_time_seconds, process_open_fds... as Go's client has.
        ProcessCollector(registry=self.registry)
        self.current_inflight = Gauge(
            "apiserver_current_inflight_requests",
            "[STABLE] Number of requests currently being served by this apiserver, "
            "per request kind (readOnly or mutating).",
            ("request_kind",), registry=self.registry)
        self.longrunning = Gauge(
            "apiserver_longrunning_requests",
            "[STABLE] Gauge of all active long-running apiserver requests broken out "
            "by verb, group, version, resource, scope and component.",
            _LONGRUNNING_LABELS, registry=self.registry)
        self.terminations = Counter(
            "apiserver_request_terminations_total",
            "[ALPHA] Number of requests which apiserver terminated in self-defense.",
            _LONGRUNNING_LABELS + ("code",), registry=self.registry)

    def track_inflight(self, read_only: Callable[[], int], mutating: Callable[[], int]) -> None:
        """Report the in-flight counts by reading them at scrape time (no hot-path cost)."""
        self.current_inflight.labels("readOnly").set_function(read_only)
        self.current_inflight.labels("mutating").set_function(mutating)

    def track_tls_handshake_errors(self, read: Callable[[], int]) -> None:
        """
        Publish C{apiserver_tls_handshake_errors_total}, read at scrape time
        (e.g. C{lambda: serving.site.tls_handshake_errors}).
        """
        self.registry.register(_CallbackCounter(
            "apiserver_tls_handshake_errors_total",
            "[ALPHA] Number of requests dropped with 'TLS handshake error from' error",
            read))

    def request_labels(self, request: Any, info: RequestInfo) -> Optional[Labels]:
        """The C{REQUEST_LABELS} values of C{request}, or None if it is not recorded."""
        if info.is_resource_request:
            if self.known_resource is not None and not self.known_resource(info):
                return None
            scope = clean_scope(info)
            return (
                clean_verb(request, info, scope), _dry_run(request), info.api_group,
                info.api_version, info.resource, info.subresource, scope,
                APISERVER_COMPONENT,
            )
        if info.path in HEALTH_PATHS:
            return (clean_verb(request, info, ""), "", "", "", "", info.path, "", "")
        return None

    def observe(self, labels: Labels, code: int, seconds: float) -> None:
        """One finished request."""
        self.requests.observe(labels, code, seconds)

    def longrunning_started(self, labels: Labels) -> Any:
        """Count a long-running request; call C{.dec()} on the result when it ends."""
        gauge = self.longrunning.labels(labels[0], *labels[2:])
        gauge.inc()
        return gauge

    def terminated(self, request: Any, info: RequestInfo, code: int) -> None:
        """A request the server refused in self-defence (429) or cut off (504)."""
        scope = clean_scope(info)
        verb = clean_verb(request, info, scope)
        if info.is_resource_request:
            labels = (verb, info.api_group, info.api_version, info.resource,
                      info.subresource, scope)
        else:
            labels = (verb, "", "", "", info.path, scope)
        self.terminations.labels(*labels, APISERVER_COMPONENT, str(code)).inc()

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format (without C{_created} series)."""
        return generate_latest(_WithoutCreated(self.registry))


class _Series:
    """The counts of one label set: per status code, per duration bucket, and the sum."""

    __slots__ = ("codes", "buckets", "total_seconds")

    def __init__(self) -> None:
        self.codes: Dict[int, int] = {}
        self.buckets: List[int] = [0] * (len(DURATION_BUCKETS) + 1)
        self.total_seconds = 0.0


class _RequestCollector:
    """
    C{apiserver_request_total} and C{apiserver_request_duration_seconds},
    kept as plain counts and turned into metric families only when scraped:
    recording a request costs a few dictionary operations (prometheus_client's
    own metric objects take locks and several calls per observation, and
    everything here runs on the reactor thread anyway).
    """

    def __init__(self) -> None:
        self._series: Dict[Labels, _Series] = {}

    def observe(self, labels: Labels, code: int, seconds: float) -> None:
        series = self._series.get(labels)
        if series is None:
            series = self._series[labels] = _Series()
        codes = series.codes
        codes[code] = codes.get(code, 0) + 1
        series.buckets[bisect_left(DURATION_BUCKETS, seconds)] += 1
        series.total_seconds += seconds

    def describe(self) -> List[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        total = CounterMetricFamily(
            "apiserver_request_total",
            "[STABLE] Counter of apiserver requests broken out for each verb, dry run "
            "value, group, version, resource, scope, component, and HTTP response code.",
            labels=REQUEST_LABELS + ("code",))
        duration = HistogramMetricFamily(
            "apiserver_request_duration_seconds",
            "[STABLE] Response latency distribution in seconds for each verb, dry run "
            "value, group, version, resource, subresource, scope and component.",
            labels=REQUEST_LABELS)
        for labels, series in list(self._series.items()):
            for code, count in sorted(series.codes.items()):
                total.add_metric(list(labels) + [str(code)], count)
            cumulative = 0
            buckets = []
            for bound, count in zip(_BUCKET_NAMES, series.buckets):
                cumulative += count
                buckets.append((bound, cumulative))
            duration.add_metric(list(labels), buckets, series.total_seconds)
        yield total
        yield duration


_BUCKET_NAMES = [repr(float(b)) for b in DURATION_BUCKETS] + ["+Inf"]


class _CallbackCounter:
    """An unlabelled counter whose value something else keeps."""

    def __init__(self, name: str, documentation: str, read: Callable[[], int]) -> None:
        self._name = name
        self._documentation = documentation
        self._read = read

    def describe(self) -> List[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        yield CounterMetricFamily(self._name, self._documentation, value=self._read())


class _WithoutCreated:
    """kube-apiserver does not publish C{*_created} samples; leave them out."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Any:
        for metric in self._registry.collect():
            metric.samples = [s for s in metric.samples if not s.name.endswith("_created")]
            yield metric


class MetricsResource(APIResource):
    """C{/metrics}."""

    def __init__(self, metrics: APIServerMetrics) -> None:
        super().__init__()
        self.metrics = metrics

    def handle(self, request: Any) -> Response:
        return Response(self.metrics.exposition(), 200, CONTENT_TYPE)


def install_metrics(server: Any, metrics: APIServerMetrics) -> None:
    """Serve C{metrics} at C{/metrics} on C{server} (a GenericAPIServer)."""
    server.install("/metrics", MetricsResource(metrics))
