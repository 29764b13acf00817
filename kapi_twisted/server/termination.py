"""
Graceful termination, in kube-apiserver's order (C{RunWithContext}):

ShutdownInitiated (readyz fails) -> C{--shutdown-delay-duration} and the
pre-shutdown hooks -> NotAcceptingNewRequest -> the listener closes
(HTTPServerStoppedListening; HTTP/2 peers get GOAWAY, HTTP/1.1 answers carry
C{Connection: close}) -> in-flight non-long-running requests finish, bounded
by C{--shutdown-timeout} (InFlightRequestsDrained) -> long-running requests
are ended -> done.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

from twisted.internet.defer import Deferred, DeferredList, inlineCallbacks, maybeDeferred, succeed
from twisted.internet.task import deferLater
from twisted.logger import Logger

from kapi_twisted.server.lifecycle import LifecycleSignals
from kapi_twisted.server.longrunning import LongRunningRequests
from kapi_twisted.server.waitgroup import WaitGroup

log = Logger()


@inlineCallbacks
def _run_pre_shutdown_hooks(hooks: Dict[str, Callable[[], Any]]) -> Any:
    for name, hook in hooks.items():
        try:
            yield maybeDeferred(hook)
        except Exception:
            log.failure("PreShutdownHook {name!r} failed", name=name)


def _bounded(d: Deferred, seconds: float, clock: Any) -> Deferred:
    """Fire when C{d} fires or after C{seconds}, whichever is first (True if C{d} won)."""
    result: Deferred = Deferred()
    timer = clock.callLater(seconds, lambda: result.called or result.callback(False))

    def fired(_: Any) -> None:
        if timer.active():
            timer.cancel()
        if not result.called:
            result.callback(True)

    d.addBoth(fired)
    return result


@inlineCallbacks
def graceful_shutdown(
    lifecycle: LifecycleSignals,
    serving: Any,
    wait_group: WaitGroup,
    long_running: LongRunningRequests,
    pre_shutdown_hooks: Dict[str, Callable[[], Any]],
    shutdown_delay: float,
    shutdown_timeout: float,
    clock: Any,
) -> Any:
    """
    Run the termination sequence; fires once the listener is closed and the
    in-flight requests have drained (or the timeout passed).
    """
    lifecycle.shutdown_initiated.fire()

    def delay_done(_: Any) -> None:
        lifecycle.after_shutdown_delay_duration.fire()

    def hooks_done(_: Any) -> None:
        lifecycle.pre_shutdown_hooks_stopped.fire()

    if shutdown_delay > 0:
        delay = deferLater(clock, shutdown_delay, lambda: None)
    else:
        delay = succeed(None)
    delay.addCallback(delay_done)
    hooks = _run_pre_shutdown_hooks(pre_shutdown_hooks).addCallback(hooks_done)
    yield DeferredList([delay, hooks])
    lifecycle.not_accepting_new_requests.fire()

    listener_closed = maybeDeferred(serving.stop_listening)
    listener_closed.addCallback(lambda _: lifecycle.http_server_stopped_listening.fire())
    drained = _bounded(wait_group.wait(), shutdown_timeout, clock)

    def drain_done(in_time: bool) -> None:
        if not in_time:
            log.warn(
                "[graceful-termination] {count} request(s) still in flight after "
                "the shutdown timeout", count=wait_group.count)
        lifecycle.in_flight_requests_drained.fire()

    drained.addCallback(drain_done)
    yield DeferredList([listener_closed, drained])
    long_running.end_all()
    yield maybeDeferred(serving.close_connections)
    log.info("[graceful-termination] apiserver is exiting")
