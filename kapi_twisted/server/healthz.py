"""
Health endpoints: C{/healthz}, C{/livez} and C{/readyz}, answered exactly as
kube-apiserver answers them (k8s.io/apiserver C{pkg/server/healthz}).

Load balancers, kubelet probes and C{kubectl get --raw /readyz?verbose} read
these texts, so the formats are byte for byte the reference's: C{ok} when
everything passes, C{[+]name ok} lines with C{?verbose}, the full list with
C{[-]name failed: reason withheld} and a 500 when anything fails (the real
reason goes to the log only), C{?exclude=} by check or group name, and one
path per check (C{/readyz/etcd}) that does show the reason.

The lists are worked out per request from the server and its delegates, so a
check or post-start hook registered along the chain appears once, in
kube-apiserver's order: C{ping}, C{log}, this server's own checks, its
endpoint-only checks, the delegates' checks not already named, the
C{poststarthook/<name>} checks of the whole chain, and on C{/readyz} the
C{shutdown} check last.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List, Optional, Sequence
from urllib.parse import parse_qs

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.logger import Logger
from twisted.web.resource import getChildForRequest

from kapi_twisted.server.delegation import restart_traversal
from kapi_twisted.server.generic import GenericAPIServer, HealthCheck
from kapi_twisted.server.responses import TEXT, APIResource, Response

__all__ = [
    "HealthResource",
    "LogHealthCheck",
    "check_paths",
    "checks_for",
    "install_health",
    "ping",
]

log = Logger()

HEALTHZ = "healthz"
LIVEZ = "livez"
READYZ = "readyz"

_NOSNIFF = {"X-Content-Type-Options": "nosniff"}


def ping() -> None:
    """The C{ping} check: the server answers, so it passes."""
    return None


class LogHealthCheck:
    """
    The C{log} check: fails with C{logging blocked} when the process can no
    longer write its log.

    kube-apiserver flushes its log once a minute in the background and fails
    the check when a flush has not completed for two minutes. Twisted logs
    synchronously on the reactor thread, so a log that truly blocks would
    block this check too; what can go wrong and be seen is a log stream that
    fails (closed, broken pipe). The check flushes the process's output
    streams at most once per C{interval} seconds and remembers whether that
    worked.
    """

    def __init__(
        self,
        clock: Any,
        streams: Optional[Callable[[], Sequence[Any]]] = None,
        interval: float = 60.0,
    ) -> None:
        self._clock = clock
        self._streams = streams or (lambda: (sys.stdout, sys.stderr))
        self._interval = interval
        self._last_flush: Optional[float] = None
        self._error: Optional[str] = None

    def __call__(self) -> None:
        now = self._clock.seconds()
        if self._last_flush is None or now - self._last_flush >= self._interval:
            self._last_flush = now
            self._error = None
            for stream in self._streams():
                if stream is None:
                    continue
                try:
                    stream.flush()
                except (OSError, ValueError) as e:
                    self._error = str(e) or type(e).__name__
        if self._error is not None:
            raise RuntimeError("logging blocked")


def _shutdown_check(server: GenericAPIServer) -> Callable[[], None]:
    def shutdown() -> None:
        if server.lifecycle.shutdown_initiated.fired:
            raise RuntimeError("process is shutting down")

    return shutdown


def checks_for(
    server: GenericAPIServer, endpoint: str, defaults: Sequence[HealthCheck] = ()
) -> List[HealthCheck]:
    """
    The checks C{/<endpoint>} of C{server} runs, in order, each name once.

    @param endpoint: C{healthz}, C{livez} or C{readyz}.
    @param defaults: the checks every registry starts with (C{ping},
        C{log}); names here win over the same names further down the chain.
    """
    ordered: List[HealthCheck] = list(defaults)
    ordered += server.healthz_checks
    if endpoint == LIVEZ:
        ordered += server.livez_checks
    elif endpoint == READYZ:
        ordered += server.readyz_checks
    if server.delegate is not None:
        ordered += server.delegate.all_healthz_checks()
    ordered += server.post_start_hook_checks()
    if endpoint == READYZ:
        ordered.append(HealthCheck("shutdown", _shutdown_check(server)))
    seen = set()
    unique = []
    for check in ordered:
        if check.name not in seen:
            seen.add(check.name)
            unique.append(check)
    return unique


def _text(body: str, code: int = 200, nosniff: bool = True) -> Response:
    return Response(body.encode("utf-8"), code, TEXT, dict(_NOSNIFF) if nosniff else {})


def _query(request: Any) -> Dict[str, List[str]]:
    """
    The query as Go's C{URL.Query()} reads it: a key alone (C{?verbose})
    counts, with an empty value. (twisted.web's C{request.args} drops it.)
    """
    uri = request.uri.decode("latin-1") if isinstance(request.uri, bytes) else request.uri
    _, _, raw = uri.partition("?")
    return parse_qs(raw, keep_blank_values=True)


class HealthResource(APIResource):
    """
    One health endpoint of one server: the root (C{/readyz}) and the single
    checks below it (C{/readyz/<name>}). A path below it that names no check
    goes to the delegate, as Go's mux would send it.

    @ivar on_first_pass: called once, the first time the root passes
        (C{/readyz} fires C{HasBeenReady} with it).
    """

    def __init__(
        self,
        server: GenericAPIServer,
        endpoint: str,
        defaults: Sequence[HealthCheck],
        on_first_pass: Optional[Callable[[], None]] = None,
    ) -> None:
        super().__init__()
        self.api_server = server
        self.endpoint = endpoint
        self.defaults = list(defaults)
        self.on_first_pass = on_first_pass

    def checks(self) -> List[HealthCheck]:
        return checks_for(self.api_server, self.endpoint, self.defaults)

    def render(self, request: Any) -> Any:
        if request.postpath:
            name = b"/".join(request.postpath).decode("utf-8", "replace")
            if not any(c.name == name for c in self.checks()):
                restart_traversal(request)
                delegate = self.api_server.root.delegate
                return getChildForRequest(delegate, request).render(request)
        return super().render(request)

    def handle(self, request: Any) -> Deferred:
        if request.postpath:
            name = b"/".join(request.postpath).decode("utf-8", "replace")
            return self._single(name)
        return self._root(request)

    @inlineCallbacks
    def _single(self, name: str) -> Any:
        check = next(c for c in self.checks() if c.name == name)
        try:
            yield check.run()
        except Exception as e:
            return _text(f"internal server error: {_reason(e)}\n", 500)
        return _text("ok", nosniff=False)

    @inlineCallbacks
    def _root(self, request: Any) -> Any:
        query = _query(request)
        excluded = set(query.get("exclude", []))
        matched = set()
        lines: List[str] = []
        failed: List[str] = []
        for check in self.checks():
            if check.name in excluded:
                matched.add(check.name)
                lines.append(f"[+]{check.name} excluded: ok\n")
                continue
            if check.group and check.group in excluded:
                matched.add(check.group)
                lines.append(f"[+]{check.name} excluded with {check.group}: ok\n")
                continue
            try:
                yield check.run()
            except Exception as e:
                lines.append(f"[-]{check.name} failed: reason withheld\n")
                failed.append(f"[-]{check.name} failed: {_reason(e)}")
            else:
                lines.append(f"[+]{check.name} ok\n")
        unmatched = sorted(excluded - matched)
        if unmatched:
            quoted = ",".join(_go_quote(n) for n in unmatched)
            lines.append(f"warn: some health checks cannot be excluded: no matches for {quoted}\n")
            log.warn(
                "cannot exclude some health checks, no health checks are installed matching {names}",
                names=quoted,
            )
        if failed:
            log.debug(
                "{endpoint} check failed: {details}",
                endpoint=self.endpoint,
                details="; ".join(failed),
            )
            return _text("".join(lines) + f"{self.endpoint} check failed\n", 500)
        if self.on_first_pass is not None:
            first, self.on_first_pass = self.on_first_pass, None
            first()
        if "verbose" not in query:
            return _text("ok")
        return _text("".join(lines) + f"{self.endpoint} check passed\n")


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__


def _go_quote(text: str) -> str:
    """Go's C{%q} for the plain names health checks have."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def check_paths(server: GenericAPIServer) -> List[str]:
    """
    The single-check paths C{server} answers (C{/healthz/ping},
    C{/readyz/shutdown}...), which kube-apiserver lists in its index; none
    before its health endpoints are installed.
    """
    paths = []
    for endpoint in (HEALTHZ, LIVEZ, READYZ):
        resource = server.root.children.get(endpoint.encode())
        if isinstance(resource, HealthResource):
            paths += [f"/{endpoint}/{check.name}" for check in resource.checks()]
    return paths


def install_health(server: GenericAPIServer) -> None:
    """
    Install C{/healthz}, C{/livez} and C{/readyz} on C{server}'s tree (its
    part of C{PrepareRun}). C{/readyz} fires C{lifecycle.has_been_ready} the
    first time it passes.
    """
    defaults = [
        HealthCheck("ping", ping),
        HealthCheck("log", LogHealthCheck(server.reactor)),
    ]
    server.install("/" + HEALTHZ, HealthResource(server, HEALTHZ, defaults))
    server.install("/" + LIVEZ, HealthResource(server, LIVEZ, defaults))
    server.install(
        "/" + READYZ,
        HealthResource(server, READYZ, defaults, server.lifecycle.has_been_ready.fire),
    )
