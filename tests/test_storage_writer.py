"""The SQLite backend's writer thread: calls run in order off the reactor thread, answered on it."""

import threading

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.storage._writer import WriterThread


class _Reactor:
    """Collects what the thread hands back; the test runs it, as the reactor would."""

    def __init__(self):
        self.calls = []

    def callFromThread(self, f, *args):
        self.calls.append((f, args))

    def run_calls(self):
        calls, self.calls = self.calls, []
        for f, args in calls:
            f(*args)


class WriterThreadTests(SynchronousTestCase):
    def setUp(self):
        self.reactor = _Reactor()
        self.writer = WriterThread(self.reactor, "test-writer")

    def test_calls_run_in_order_on_the_thread(self):
        """Calls made before and after start run in order, on the writer thread, not the caller's."""
        ran = []
        first = self.writer.call(lambda: ran.append(threading.current_thread().name) or 1)
        self.writer.start()
        second = self.writer.call(lambda x: ran.append(x) or x * 2, 21)
        self.writer.stop()
        self.assertEqual(ran, ["test-writer", 21])
        self.assertNoResult(first)  # answers arrive through the reactor
        self.reactor.run_calls()
        self.assertEqual(self.successResultOf(first), 1)
        self.assertEqual(self.successResultOf(second), 42)

    def test_errors_are_failures_and_the_thread_goes_on(self):
        """A call that raises fails its Deferred; later calls still run."""
        self.writer.start()
        bad = self.writer.call(lambda: 1 / 0)
        good = self.writer.call(lambda: "ok")
        self.writer.stop()
        self.reactor.run_calls()
        self.failureResultOf(bad, ZeroDivisionError)
        self.assertEqual(self.successResultOf(good), "ok")

    def test_calls_after_stop_fail(self):
        """Once stopped, the writer refuses new calls at once."""
        self.writer.start()
        self.writer.stop()
        self.failureResultOf(self.writer.call(lambda: None), RuntimeError)
        self.writer.stop()  # stopping twice is harmless
