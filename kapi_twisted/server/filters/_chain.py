"""
The handler chain (kube-apiserver's C{DefaultBuildHandlerChain}) as one
twisted.web resource: the C{Site}'s root, a leaf that runs the filters in
kube-apiserver's order and then traverses the wrapped server's tree.

Each filter is a callable C{(request, on_finish) -> bool}: True lets the
request go on, False means the filter has answered it. C{on_finish}
registers what must happen when the request ends (the wait group's
C{done}, the in-flight slot, the deadline timer, metrics). Handlers may
answer later (C{NOT_DONE_YET}); the end of a request is its
C{notifyFinish}, not the return of C{render}.

Order (outermost first; kube-apiserver's numbering in the reference, the
filters that need flags we do not have are left out):
audit ID -> panic recovery -> received time -> request info ->
Cache-Control -> wait group -> deadline/timeout -> authentication ->
[audit] -> [impersonation] -> in-flight limit -> authorization ->
(handler side) body limit, metrics -> the server's tree.
"""

from __future__ import annotations

import time
from typing import Any, Callable, List

from twisted.logger import Logger
from twisted.web.resource import Resource, getChildForRequest
from twisted.web.server import NOT_DONE_YET, UnsupportedMethod

from kapi_twisted import apierrors
from kapi_twisted._randomid import random_uuid
from kapi_twisted.server.filters._abort import abort_request
from kapi_twisted.server.filters._authentication import AuthenticationFilter
from kapi_twisted.server.filters._authorization import AuthorizationFilter
from kapi_twisted.server.filters._bodylimit import BodyLimitFilter
from kapi_twisted.server.filters._deadline import DeadlineFilter
from kapi_twisted.server.filters._finish import OnFinish
from kapi_twisted.server.filters._inflight import MaxInFlightFilter
from kapi_twisted.server.filters._waitgroup import WaitGroupFilter
from kapi_twisted.server.requestinfo import request_info_for
from kapi_twisted.server.responses import write_error, write_text

log = Logger()

Filter = Callable[[Any, OnFinish], bool]

PANIC_MESSAGE = "This request caused apiserver to panic. Look in the logs for details."
_PANIC = apierrors.APIError(500, apierrors.INTERNAL_ERROR, PANIC_MESSAGE)
_CACHE_CONTROL = [b"no-cache, private"]


def new_audit_id() -> bytes:
    """A random (version 4) UUID, as text: what kube-apiserver makes up."""
    return random_uuid().encode("ascii")


class HandlerChain(Resource):
    """
    @ivar handler: the wrapped server's root resource.
    @ivar filters: the filters, in order (see the module docstring).
    @ivar metrics: the L{kapi_twisted.server.metrics.APIServerMetrics} recorded into.
    @ivar authenticator: the request authenticator.
    @ivar authorizer: the authorizer, or None while there is none (RBAC is a later issue).
    """

    isLeaf = True

    def __init__(
        self,
        handler: Any,
        filters: List[Filter],
        metrics: Any = None,
        authenticator: Any = None,
        authorizer: Any = None,
    ) -> None:
        super().__init__()
        self.handler = handler
        self.filters = filters
        self.metrics = metrics
        self.authenticator = authenticator
        self.authorizer = authorizer

    def render(self, request: Any) -> Any:
        # WithAuditInit
        audit_id = request.getHeader(b"audit-id")
        if not audit_id:
            audit_id = new_audit_id()
        request.audit_id = audit_id.decode("latin-1")
        request.responseHeaders.setRawHeaders(b"audit-id", [audit_id])
        # WithPanicRecovery
        try:
            return self._serve(request)
        except UnsupportedMethod as e:
            return self._method_not_allowed(request, e)
        except Exception:
            log.failure("This request caused apiserver to panic: {method} {uri}",
                        method=request.method, uri=request.uri)
            if request.finished or getattr(request, "_disconnected", False):
                return NOT_DONE_YET
            if request.startedWriting:
                abort_request(request)
            else:
                write_error(request, _PANIC)
            return NOT_DONE_YET

    def _serve(self, request: Any) -> Any:
        if getattr(request, "_disconnected", False):
            return NOT_DONE_YET
        started = time.perf_counter()  # WithRequestReceivedTimestamp (received_at is set on arrival)
        # WithRequestInfo
        try:
            info = request_info_for(request)
        except Exception as e:
            write_text(request, 500, f'Internal Server Error: "{request.uri.decode("latin-1")}": '
                                     f"failed to create RequestInfo: {e}")
            return NOT_DONE_YET
        request.request_info = info
        request.long_running = info.long_running
        # WithCacheControl: handlers may still set their own.
        request.responseHeaders.setRawHeaders(b"cache-control", _CACHE_CONTROL)
        on_finish = OnFinish(request)
        for run_filter in self.filters:
            if not run_filter(request, on_finish):
                return NOT_DONE_YET
        metrics = self.metrics
        if metrics is not None:
            labels = metrics.request_labels(request, info)
            if labels is not None:
                if request.long_running:
                    on_finish(metrics.longrunning_started(labels).dec)
                on_finish(lambda: metrics.observe(
                    labels, request.code, time.perf_counter() - started))
        return getChildForRequest(self.handler, request).render(request)

    @staticmethod
    def _method_not_allowed(request: Any, error: UnsupportedMethod) -> Any:
        allowed = b", ".join(error.allowedMethods or ())
        err = apierrors.method_not_allowed()
        if allowed:
            err.headers["Allow"] = allowed.decode("ascii")
        write_error(request, err)
        return NOT_DONE_YET


def build_handler_chain(
    handler: Any,
    config: Any = None,
    lifecycle: Any = None,
    wait_group: Any = None,
    long_running: Any = None,
    reactor: Any = None,
    metrics: Any = None,
    authenticator: Any = None,
    authorizer: Any = None,
) -> HandlerChain:
    """
    Wrap C{handler} (the outermost server's root resource) in the filters.

    @param config: a L{kapi_twisted.config.ServerConfig} (defaults if None).
    @param lifecycle: the process's L{LifecycleSignals} (for the 503 after
        NotAcceptingNewRequest).
    @param wait_group: counts non-long-running requests for shutdown.
    @param long_running: registry of long-running requests shutdown ends.
    @param reactor: schedules request deadlines (a C{task.Clock} in tests).
    @param metrics: an L{APIServerMetrics}; a new one if None (C{chain.metrics}).
    @param authenticator: defaults to the one C{config} describes
        (L{kapi_twisted.auth.build_authenticator}).
    @param authorizer: decides what each user may do
        (L{kapi_twisted.server.filters._authorization.Authorizer}); without
        one (until RBAC exists) every authenticated request is allowed.
    """
    from kapi_twisted.auth import build_authenticator
    from kapi_twisted.config import ServerConfig
    from kapi_twisted.server.metrics import APIServerMetrics

    if config is None:
        config = ServerConfig()
    if reactor is None:
        from twisted.internet import reactor as default_reactor

        reactor = default_reactor
    if metrics is None:
        metrics = APIServerMetrics()
    if authenticator is None:
        authenticator = build_authenticator(config, reactor)
    not_accepting = lifecycle.not_accepting_new_requests if lifecycle is not None else None

    filters: List[Filter] = [
        WaitGroupFilter(wait_group, long_running, not_accepting),
        DeadlineFilter(config.request_timeout, reactor, metrics),
        AuthenticationFilter(authenticator),
        # WithAudit and WithImpersonation go here once they exist.
        MaxInFlightFilter(
            config.max_requests_inflight, config.max_mutating_requests_inflight, metrics),
    ]
    if authorizer is not None:
        filters.append(AuthorizationFilter(authorizer))
    filters.append(BodyLimitFilter())
    return HandlerChain(handler, filters, metrics, authenticator, authorizer)
