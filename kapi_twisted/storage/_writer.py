"""
The SQLite backend's writer thread: one thread that runs the calls handed
to it in order, each answered through a Deferred on the reactor thread.

A one-thread C{ThreadPool} with C{deferToThreadPool} does the same with
more machinery on the reactor thread for every call (its team coordinator,
worker locks and a C{queue.Queue} whose C{put} takes a C{Condition} in
Python): about 1% of the reactor's time under a stream of creates, where
the backend hands the thread one commit per batch of writes. Here a call is
one C{SimpleQueue.put}; the answer comes back with C{callFromThread}, as
C{deferToThreadPool}'s does.
"""

from __future__ import annotations

import threading
from queue import SimpleQueue
from typing import Any, Callable, Optional

from twisted.internet.defer import Deferred, fail
from twisted.python.failure import Failure

_STOP = object()


class WriterThread:
    """
    @param reactor: where answers are delivered (C{callFromThread}).
    @param name: the thread's name.
    """

    def __init__(self, reactor: Any, name: str) -> None:
        self._reactor = reactor
        self._name = name
        self._calls: SimpleQueue = SimpleQueue()
        self._thread: Optional[threading.Thread] = None
        self._stopped = False

    def start(self) -> None:
        """Start the thread; calls made before wait for it."""
        if self._thread is None and not self._stopped:
            self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
            self._thread.start()

    def call(self, f: Callable[..., Any], *args: Any) -> Deferred:
        """
        C{f(*args)} on the thread, after the calls before it: a Deferred of
        its result (a failed one once the writer is stopped).
        """
        if self._stopped:
            return fail(RuntimeError(f"{self._name}: the writer thread has stopped"))
        d: Deferred = Deferred()
        self._calls.put((d, f, args))
        return d

    def stop(self) -> None:
        """Let the thread finish the calls queued so far, then wait for it to end."""
        self._stopped = True
        thread, self._thread = self._thread, None
        if thread is not None:
            self._calls.put(_STOP)
            thread.join()

    def _work(self) -> None:
        calls = self._calls
        call_from_thread = self._reactor.callFromThread
        while True:
            item = calls.get()
            if item is _STOP:
                return
            d, f, args = item
            try:
                result = f(*args)
            except BaseException:
                call_from_thread(d.errback, Failure())
            else:
                call_from_thread(d.callback, result)
            # Keep nothing alive while waiting for the next call.
            item = d = f = args = result = None
