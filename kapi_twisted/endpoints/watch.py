"""
Watch streams over HTTP: 200 with C{Content-Type: application/json}, headers
flushed at once, then one compact JSON event per line, each written (and so
flushed: chunked on HTTP/1.1, a DATA frame on HTTP/2) as it happens.

A stream ends cleanly at C{timeoutSeconds} (else at a random point between
the minimum request timeout and twice it), when the store's watch is done
(after an ERROR event), when the client goes away (the store's watch is
stopped), and at shutdown (the request is registered with the process's
L{LongRunningRequests}, which finishes it).
"""

from __future__ import annotations

import random
from typing import Any, Callable, Optional

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from kapi_twisted.endpoints.negotiation import OBJECT, TABLE, Output
from kapi_twisted.endpoints.render import transform_object
from kapi_twisted.registry._encoding import compact_json
from kapi_twisted.registry.interface import WatchEvent

log = Logger()

_EVENT_HEAD = b'{"type":"%s","object":'


def watch_timeout(requested: Optional[int], min_request_timeout: float,
                  rand: Callable[[], float] = random.random) -> float:
    """Seconds until the stream ends: C{timeoutSeconds}, or random in [min, 2*min)."""
    if requested is not None and requested > 0:
        return float(requested)
    return min_request_timeout * (1.0 + rand())


class WatchStream:
    """
    One watch request being served: feeds the store's events to the client.

    Call L{start} with the Deferred of C{store.watch(...)} (created with
    L{send} as its callback); the stream writes headers as soon as the watch
    is set up or the first event arrives, whichever is first.
    """

    def __init__(self, request: Any, output: Output, info: Any, clock: Any,
                 timeout: float, long_running: Any = None) -> None:
        self.request = request
        self.output = output
        self.info = info
        self.clock = clock
        self.timeout = timeout
        self.long_running = long_running
        self.watch: Any = None
        self.closed = False
        self._started = False
        self._columns_sent = False
        self._timer: Any = None
        request.notifyFinish().addBoth(self._request_finished)

    # -- the store side ----------------------------------------------------

    def send(self, event: WatchEvent) -> None:
        """The store's callback: one event to the client."""
        if self.closed:
            return
        if not self._started:
            self._start_stream()
        try:
            line = self._encode(event)
        except Exception:
            log.failure("Could not encode a watch event")
            return
        if not self._writable():
            self.close()
            return
        self.request.write(line)

    def setup(self, watch: Any) -> None:
        """The store's watch is set up: start the stream and the timer."""
        self.watch = watch
        if self.closed:
            self._stop_watch()
            return
        if not self._started:
            self._start_stream()
        self._timer = self.clock.callLater(self.timeout, self.close)
        done = getattr(watch, "done", None)
        if isinstance(done, Deferred):
            done.addBoth(lambda _: self.close())

    # -- the HTTP side -----------------------------------------------------

    def _start_stream(self) -> None:
        self._started = True
        if not self._writable():
            return
        request = self.request
        if self.long_running is not None:
            self.long_running.add(request)
        request.setResponseCode(200)
        request.responseHeaders.setRawHeaders(b"content-type", [b"application/json"])
        request.responseHeaders.removeHeader(b"content-length")
        request.write(b"")

    @property
    def started(self) -> bool:
        return self._started

    def _writable(self) -> bool:
        request = self.request
        gone = getattr(request, "gone", None)
        if gone is not None:
            return not gone
        return not (request.finished or getattr(request, "_disconnected", False))

    def _request_finished(self, _: Any) -> None:
        # Finished by us, by shutdown (LongRunningRequests.end_all) or by
        # the client going away: stop feeding.
        self.closed = True
        self._cancel_timer()
        self._stop_watch()

    def close(self) -> None:
        """End the stream cleanly (the last complete event stays the last line)."""
        if self.closed:
            return
        self.closed = True
        self._cancel_timer()
        self._stop_watch()
        if not self._started:
            self._start_stream()
        if self._writable():
            self.request.finish()

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _stop_watch(self) -> None:
        watch, self.watch = self.watch, None
        if watch is not None:
            try:
                watch.stop()
            except Exception:
                log.failure("Stopping a store watch failed")

    # -- encoding ------------------------------------------------------------

    def _encode(self, event: WatchEvent) -> bytes:
        head = _EVENT_HEAD % event.type.encode("ascii")
        if event.type == "ERROR":
            return head + _dumps(event.as_object()) + b"}\n"
        output = self.output
        if output.transform == OBJECT:
            if event.object is None and event.kv is not None:
                return head + event.kv.data + b"}\n"
            return head + _dumps(event.object) + b"}\n"
        if event.type == "BOOKMARK" and output.transform == TABLE:
            rv = (event.as_object().get("metadata") or {}).get("resourceVersion", "")
            obj = {"kind": "Table", "apiVersion": output.meta_api_version,
                   "metadata": {"resourceVersion": rv}, "columnDefinitions": None,
                   "rows": None}
        else:
            source = event.kv if event.object is None else event.object
            obj = transform_object(source, output, self.info,
                                   with_columns=not self._columns_sent)
            if output.transform == TABLE:
                self._columns_sent = True
        return head + _dumps(obj) + b"}\n"


def _dumps(obj: Any) -> bytes:
    return compact_json(obj).encode("utf-8")
