"""
Graceful termination runs in kube-apiserver's order, with the shutdown
delay and the drain bounded by the shutdown timeout.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.server.lifecycle import LifecycleSignals, Signal
from kapi_twisted.server.longrunning import LongRunningRequests
from kapi_twisted.server.termination import graceful_shutdown
from kapi_twisted.server.waitgroup import WaitGroup, WaitGroupClosed


class _Serving:
    """Records what termination asks of the listener."""

    def __init__(self, log):
        self.log = log
        self.closed = Deferred()

    def stop_listening(self):
        self.log.append("stop_listening")
        return self.closed

    def close_connections(self):
        self.log.append("close_connections")


class _Request:
    def __init__(self):
        self.finished = False
        self._finish = Deferred()

    def notifyFinish(self):
        return self._finish

    def finish(self):
        self.finished = True
        self._finish.callback(None)


def _record(lifecycle, log):
    for name in ("shutdown_initiated", "after_shutdown_delay_duration",
                 "pre_shutdown_hooks_stopped", "not_accepting_new_requests",
                 "http_server_stopped_listening", "in_flight_requests_drained"):
        signal = getattr(lifecycle, name)
        signal.when_fired().addCallback(lambda _, n=signal.name: log.append(n))


class TerminationTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.lifecycle = LifecycleSignals()
        self.log = []
        _record(self.lifecycle, self.log)
        self.serving = _Serving(self.log)
        self.wait_group = WaitGroup()
        self.long_running = LongRunningRequests()

    def shutdown(self, delay=0.0, timeout=60.0, hooks=None):
        return graceful_shutdown(
            self.lifecycle, self.serving, self.wait_group, self.long_running,
            hooks or {}, delay, timeout, self.clock)

    def test_order_of_signals(self):
        """Signals fire in kube-apiserver's order and the stop waits for listener and drain."""
        self.wait_group.add()
        watch = _Request()
        self.long_running.add(watch)
        d = self.shutdown(delay=5.0, hooks={"hook": lambda: self.log.append("pre-shutdown hook")})
        self.assertEqual(self.log, ["ShutdownInitiated", "pre-shutdown hook", "PreShutdownHooksStopped"])
        self.clock.advance(5)
        self.assertEqual(self.log[3:], ["AfterShutdownDelayDuration", "NotAcceptingNewRequest", "stop_listening"])
        self.assertNoResult(d)
        self.serving.closed.callback(None)
        self.assertNoResult(d)
        self.assertFalse(watch.finished, "watches outlive the non-long-running drain")
        self.wait_group.done()
        self.successResultOf(d)
        self.assertEqual(
            self.log[6:],
            ["HTTPServerStoppedListening", "InFlightRequestsDrained", "close_connections"],
        )
        self.assertTrue(watch.finished)

    def test_readyz_window(self):
        """During the shutdown delay ShutdownInitiated has fired but the listener is still open."""
        self.shutdown(delay=3.0)
        self.clock.advance(2.9)
        self.assertTrue(self.lifecycle.shutdown_initiated.fired)
        self.assertNotIn("stop_listening", self.log)
        self.clock.advance(0.1)
        self.assertIn("stop_listening", self.log)

    def test_drain_bounded_by_timeout(self):
        """A request that never finishes holds shutdown only until the shutdown timeout."""
        self.wait_group.add()
        self.serving.closed.callback(None)
        d = self.shutdown(timeout=10.0)
        self.clock.advance(9.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        self.successResultOf(d)
        self.assertTrue(self.lifecycle.in_flight_requests_drained.fired)
        self.assertEqual(self.wait_group.count, 1)

    def test_wait_group_refuses_after_wait(self):
        """Once draining has begun the wait group accepts no new work."""
        self.wait_group.wait()
        self.assertRaises(WaitGroupClosed, self.wait_group.add)


class SignalTests(SynchronousTestCase):
    def test_fire_once(self):
        """A signal fires its waiters once; later waiters fire at once."""
        signal = Signal("X")
        early = signal.when_fired()
        self.assertNoResult(early)
        signal.fire()
        signal.fire()
        self.successResultOf(early)
        self.successResultOf(signal.when_fired())
        self.assertTrue(signal.fired)
