"""
An etcd watch over the JSON gateway: one streaming C{/v3/watch} request whose
newline-separated JSON messages become L{Event}s. A broken stream reconnects
with backoff from the last revision delivered, so nothing is missed or
repeated; a compacted revision ends the watch with L{CompactedError}.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from zope.interface import implementer

from ._etcd_wire import (
    JSON_HEADERS,
    Body,
    decode_key,
    key64,
    kv_from,
    range_end64,
    read_body,
    revision_of,
)
from .interface import ADDED, DELETED, MODIFIED, CompactedError, Event, IWatch, KeyValue

_log = Logger()


class _Stream(Protocol):
    """Feeds a watch the newline-separated JSON messages of its stream."""

    def __init__(self, watch: "EtcdWatch") -> None:
        self.watch = watch
        self.buffer = b""

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        if b"\n" not in self.buffer:
            return
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            if not line.strip() or self.watch.stopped:
                continue
            try:
                message = json.loads(line)
            except ValueError:
                _log.warn("etcd watch sent something that is not JSON; reconnecting")
                self.watch._abort()
                return
            self.watch._message(message)

    def connectionLost(self, reason) -> None:
        self.watch._lost(self, reason)


@implementer(IWatch)
class EtcdWatch:
    """One etcd watch stream that reconnects from where it left off."""

    def __init__(
        self,
        storage: Any,
        prefix: str,
        after: int,
        on_event: Callable[[Event], Any],
        on_progress: Optional[Callable[[int], Any]],
    ) -> None:
        self._storage = storage
        self.prefix = prefix
        self.revision = after
        self._on_event = on_event
        self._on_progress = on_progress
        self.done: Deferred = Deferred()
        self.stopped = False
        self._stream: Optional[_Stream] = None
        self._delay = 0.1
        self._endpoint = storage._good
        self._pending = None
        self._connecting: Optional[Deferred] = None

    def _connect(self) -> None:
        self._pending = None
        if self.stopped:
            return
        s = self._storage
        body = {
            "create_request": {
                "key": key64(self.prefix),
                "range_end": range_end64(self.prefix),
                "start_revision": str(self.revision + 1),
                "prev_kv": True,
                "progress_notify": True,
            }
        }
        endpoint = s.endpoints[self._endpoint % len(s.endpoints)]
        d = s._stream_agent.request(
            b"POST",
            (endpoint + "/v3/watch").encode("ascii"),
            JSON_HEADERS,
            Body(json.dumps(body).encode()),
        )
        d.addTimeout(s.request_timeout, s._reactor)
        self._connecting = d
        d.addBoth(self._connect_finished)
        d.addCallbacks(self._connected, self._retry)

    def _connect_finished(self, result):
        self._connecting = None
        return result

    def _connected(self, response) -> None:
        if response.code != 200:
            body_d = read_body(response)
            body_d.addBoth(lambda _: self._retry(None))
            return
        stream = self._stream = _Stream(self)
        response.deliverBody(stream)
        if self.stopped:
            self._abort()

    def _retry(self, failure) -> None:
        if self.stopped:
            return
        if failure is not None:
            _log.debug("etcd watch connect failed: {e}", e=failure.getErrorMessage())
        self._endpoint += 1
        self._pending = self._storage._reactor.callLater(self._delay, self._connect)
        self._delay = min(self._delay * 2, 2.0)

    def _lost(self, stream, reason) -> None:
        if stream is not self._stream:
            return
        self._stream = None
        self._retry(reason)

    def _message(self, message: dict) -> None:
        result = message.get("result")
        if result is None:
            _log.warn("etcd watch error: {m}", m=message)
            self._abort()
            return
        if result.get("canceled"):
            compacted = int(result.get("compact_revision", 0))
            if compacted:
                self._end(CompactedError(self.revision, compacted))
            else:
                self._abort()
            return
        if result.get("created"):
            self._delay = 0.1
            return
        events = result.get("events")
        if not events:
            rev = revision_of(result)
            if rev > self.revision:
                self.revision = rev
                if self._on_progress is not None:
                    try:
                        self._on_progress(rev)
                    except Exception as error:
                        _log.failure("watch progress callback failed; ending that watch")
                        self._end(error)
            return
        for e in events:
            kv = e["kv"]
            rev = int(kv.get("mod_revision", 0))
            if rev <= self.revision:
                continue
            prev = kv_from(e["prev_kv"]) if e.get("prev_kv") else None
            if e.get("type") == "DELETE":
                value = prev.value if prev is not None else b"{}"
                create = prev.create_revision if prev is not None else 0
                event = Event(DELETED, KeyValue(decode_key(kv), value, rev, create), prev)
            else:
                new = kv_from(kv)
                kind = ADDED if new.create_revision == rev else MODIFIED
                event = Event(kind, new, prev if kind == MODIFIED else None)
            self.revision = rev
            try:
                self._on_event(event)
            except Exception as error:
                _log.failure("watch callback failed; ending that watch")
                self._end(error)
                return
            if self.stopped:
                return

    def _abort(self) -> None:
        stream = self._stream
        if stream is not None and stream.transport is not None:
            stream.transport.stopProducing()

    def stop(self) -> None:
        self._end(None)

    def _end(self, result) -> None:
        if self.stopped:
            return
        self.stopped = True
        if self._pending is not None and self._pending.active():
            self._pending.cancel()
        if self._connecting is not None:
            self._connecting.cancel()
        self._abort()
        if result is None:
            self.done.callback(None)
        else:
            self.done.errback(result)
