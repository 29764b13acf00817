"""
An etcd watch over the JSON gateway: one streaming C{/v3/watch} request whose
newline-separated JSON messages become L{Event}s. A broken stream reconnects
with backoff from the last revision delivered, so nothing is missed or
repeated; a compacted revision ends the watch with L{CompactedError}.

The stream goes through treq (C{HTTPClient} over an C{Agent} whose pool keeps
no connections, C{unbuffered=True} so the stream is not kept in memory, and
C{treq.collect} feeding the body as it arrives). Per request, the C{Agent}
under treq cost about five times the CPU of the unary calls' own client
(L{_etcd_http}) in profiles of creates, but a watch makes one request for
its whole life: parsing its stream is ~1% of the same profile. Each watch
has its own agent whose endpoints remember the connection they made, so
L{EtcdWatch.stop} can close a stream that is quiet.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

import treq
from treq.client import HTTPClient
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.ssl import optionsForClientTLS
from twisted.logger import Logger
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.iweb import IAgentEndpointFactory
from twisted.internet.interfaces import IStreamClientEndpoint
from zope.interface import implementer

from ._etcd_wire import (
    decode_key,
    key64,
    kv_from,
    range_end64,
    revision_of,
)
from .interface import ADDED, DELETED, MODIFIED, CompactedError, Event, IWatch, KeyValue

_log = Logger()


class _Stream:
    """One watch request's body: splits it into lines and feeds the watch."""

    def __init__(self, watch: "EtcdWatch") -> None:
        self.watch = watch
        self.buffer = b""
        self.dead = False

    def feed(self, data: bytes) -> None:
        self.buffer += data
        if b"\n" not in self.buffer:
            return
        *lines, self.buffer = self.buffer.split(b"\n")
        watch = self.watch
        for line in lines:
            if self.dead or watch.stopped:
                return
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except ValueError:
                _log.warn("etcd watch sent something that is not JSON; reconnecting")
                watch._abort()
                return
            watch._message(message)


@implementer(IStreamClientEndpoint)
class _Remembering:
    """An endpoint that tells its watch which connection it made."""

    def __init__(self, endpoint: Any, watch: "EtcdWatch") -> None:
        self._endpoint = endpoint
        self._watch = watch

    def connect(self, factory: Any) -> Deferred:
        def made(protocol):
            self._watch._protocol = protocol
            return protocol

        return self._endpoint.connect(factory).addCallback(made)


@implementer(IAgentEndpointFactory)
class _Endpoints:
    """TCP for C{http}, TLS for C{https}, as C{Agent} does; remembered."""

    def __init__(self, reactor: Any, timeout: float, watch: "EtcdWatch") -> None:
        self._reactor = reactor
        self._timeout = timeout
        self._watch = watch

    def endpointForURI(self, uri: Any) -> IStreamClientEndpoint:
        host = uri.host.decode("ascii")
        endpoint = HostnameEndpoint(self._reactor, host, uri.port, timeout=self._timeout)
        if uri.scheme == b"https":
            endpoint = wrapClientTLS(optionsForClientTLS(host), endpoint)
        return _Remembering(endpoint, self._watch)


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
        self._protocol: Any = None
        self._delay = 0.1
        self._endpoint = storage._good
        self._pending = None
        self._connecting: Optional[Deferred] = None
        reactor = storage._reactor
        agent = Agent.usingEndpointFactory(
            reactor,
            _Endpoints(reactor, storage.request_timeout, self),
            HTTPConnectionPool(reactor, persistent=False),
        )
        self._client = HTTPClient(agent)

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
        # unbuffered: a buffered response would keep the whole stream in memory.
        d = self._client.post(endpoint + "/v3/watch", json=body, unbuffered=True)
        d.addTimeout(s.request_timeout, s._reactor)
        self._connecting = d
        d.addBoth(self._connect_finished)
        d.addCallbacks(self._connected, self._retry)

    def _connect_finished(self, result):
        self._connecting = None
        return result

    def _connected(self, response) -> None:
        if response.code != 200:
            treq.content(response).addBoth(lambda _: self._retry(None))
            return
        stream = self._stream = _Stream(self)
        treq.collect(response, stream.feed).addBoth(lambda reason: self._lost(stream, reason))
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
        """The stream ended (cleanly or not): reconnect, unless it was replaced or stopped."""
        stream.dead = True
        if stream is not self._stream:
            return
        self._stream = None
        self._protocol = None
        self._retry(reason if reason is not None else None)

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
                    self._call(
                        self._on_progress, rev, "watch progress callback failed; ending that watch"
                    )
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
            self._call(self._on_event, event, "watch callback failed; ending that watch")
            if self.stopped:
                return

    def _call(self, callback: Callable[[Any], Any], arg: Any, failed: str) -> None:
        """Run the watcher's C{callback}; one that raises ends (stops) this watch."""
        try:
            callback(arg)
        except Exception as error:
            _log.failure(failed)
            self._end(error)

    def _abort(self) -> None:
        """Close the current stream; unless stopped, the watch reconnects."""
        if self._stream is not None:
            self._stream.dead = True
        protocol = self._protocol
        if protocol is not None:
            protocol.abort()

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
