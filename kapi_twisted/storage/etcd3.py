"""
The etcd3 backend (C{--storage-backend=etcd3 --etcd-servers=...}): a real
etcd reached over its v3 JSON gateway (C{/v3/kv/range}, C{/v3/kv/txn},
C{/v3/kv/deleterange}, C{/v3/kv/compaction}, C{/v3/watch}).

The HTTP client is twisted.web's C{Agent} with a persistent connection
pool: the layer treq wraps. treq's own layers (cookies, redirects, content
decoding, URL parsing) cost 15-25% of etcd's request rate here and give
nothing to a JSON-over-POST protocol.

Values are the objects' JSON, so C{etcdctl get /registry/...} shows them.
Every call is bounded by C{request_timeout}: while etcd is down, calls fail
with L{UnavailableError} instead of hanging, and work again by themselves
once it is back. A call that could not connect is retried on the next
server with a short backoff until the deadline. A watch whose stream breaks
reconnects (with backoff) from the last revision it delivered.

Several processes may share one etcd: each sees the others' writes through
its own watch, and periodic compaction is coordinated through a
compare-and-swap on the version of C{compaction_key}, as kube-apiserver does
(the winner of a round compacts to the revision seen one round earlier).
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable, Optional, Sequence

from twisted.internet.defer import (
    CancelledError,
    Deferred,
    TimeoutError as DeferredTimeoutError,
    inlineCallbacks,
    succeed,
)
from twisted.internet.error import ConnectError, ConnectingCancelledError
from twisted.internet.protocol import Protocol
from twisted.internet.task import LoopingCall, deferLater
from twisted.logger import Logger
from twisted.web.client import (
    Agent,
    HTTPConnectionPool,
    RequestTransmissionFailed,
    ResponseDone,
    ResponseNeverReceived,
)
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer
from zope.interface import implementer

from . import _common
from ._index import prefix_end
from .interface import (
    ADDED,
    DELETED,
    MODIFIED,
    CompactedError,
    ConflictError,
    Event,
    FutureRevisionError,
    IStorage,
    IWatch,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    StorageError,
    UnavailableError,
)

_log = Logger()

_JSON = Headers({b"content-type": [b"application/json"]})
_CONNECT_ERRORS = (ConnectError, ConnectingCancelledError)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _key64(key: str) -> str:
    return base64.b64encode(key.encode("utf-8")).decode("ascii")


def _range_end64(prefix: str) -> str:
    end = prefix_end(prefix)
    return _key64(end) if end is not None else _b64(b"\0")


def _kv(d: dict) -> KeyValue:
    return KeyValue(
        base64.b64decode(d["key"]).decode("utf-8"),
        base64.b64decode(d.get("value", "")),
        int(d.get("mod_revision", 0)),
        int(d.get("create_revision", 0)),
    )


def _revision(response: dict) -> int:
    return int(response.get("header", {}).get("revision", 0))


class EtcdError(StorageError):
    """etcd answered with an error we have no better name for."""


def _error(status: int, body: bytes, requested: int = 0) -> StorageError:
    try:
        parsed = json.loads(body)
        message = parsed.get("message") or parsed.get("error") or ""
        code = parsed.get("code", 0)
    except ValueError:
        message, code = body[:200].decode("utf-8", "replace"), 0
    if "required revision has been compacted" in message:
        return CompactedError(requested, 0)
    if "required revision is a future revision" in message:
        return FutureRevisionError(requested, 0)
    if code in (4, 14) or status in (502, 503, 504) or "leader" in message:
        return UnavailableError(f"etcd: {message or status}")
    return EtcdError(f"etcd: {message or status}")


@implementer(IStorage)
class Etcd3Storage:
    """
    An L{IStorage} on etcd 3.4+.

    @param endpoints: client URLs (C{http://host:port}); calls go to the
        first that answers.
    @param request_timeout: seconds any call may take before it fails with
        L{UnavailableError}.
    @param health_timeout: seconds L{check} may take.
    @ivar internal_keys: keys this backend writes for itself (the watch
        cache skips them).
    """

    def __init__(
        self,
        endpoints: Sequence[str],
        reactor: Any = None,
        compaction_interval: float = 300,
        request_timeout: float = 5.0,
        health_timeout: float = 2.0,
        compaction_key: str = "/registry/compact_rev_key",
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as _reactor

            reactor = _reactor
        if not endpoints:
            raise ValueError("no etcd servers given")
        self._reactor = reactor
        self.endpoints = [e.rstrip("/") for e in endpoints]
        self._good = 0
        self.request_timeout = request_timeout
        self.connect_retry = 1.0
        self.health_timeout = health_timeout
        self.compaction_key = compaction_key
        self.internal_keys = frozenset([compaction_key])
        self._compaction_interval = compaction_interval
        self._compact_loop: Optional[LoopingCall] = None
        self._compact_version = 0
        self._compact_previous = 0
        self.compacted = 0
        self._pool = HTTPConnectionPool(reactor, persistent=True)
        self._pool.maxPersistentPerHost = 64
        self._pool.retryAutomatically = False
        self._agent = Agent(reactor, pool=self._pool, connectTimeout=request_timeout)
        self._stream_pool = HTTPConnectionPool(reactor, persistent=False)
        self._stream_agent = Agent(
            reactor, pool=self._stream_pool, connectTimeout=request_timeout
        )
        self._watches: set = set()
        self._running = False

    # -- transport ------------------------------------------------------------

    def call(self, path: str, body: dict, timeout: Optional[float] = None) -> Deferred:
        """
        POST C{body} to C{path} on the first etcd that answers, within
        C{timeout} (default C{request_timeout}); fire with the parsed reply.
        """
        timeout = self.request_timeout if timeout is None else timeout
        data = json.dumps(body).encode("utf-8")
        # Refused connections are retried for a moment (an etcd restarting),
        # not for the whole timeout: a down etcd should be reported soon.
        retry_for = min(timeout, self.connect_retry)
        d = self._call(path, data, self._reactor.seconds() + retry_for)
        d.addTimeout(timeout, self._reactor)
        d.addErrback(self._unavailable, path, timeout)
        return d

    @inlineCallbacks
    def _call(self, path: str, data: bytes, deadline: float):
        delay = 0.05
        attempt = stale = 0
        while True:
            index = self._good % len(self.endpoints)
            url = (self.endpoints[index] + path).encode("ascii")
            try:
                response = yield self._agent.request(b"POST", url, _JSON, _Body(data))
            except (RequestTransmissionFailed, ResponseNeverReceived) as e:
                # A pooled connection that etcd closed (say, it restarted).
                # Sending again is safe for reads, and for any request that
                # never left; otherwise the outcome is unknown: report it.
                stale += 1
                safe = path == "/v3/kv/range" or isinstance(e, RequestTransmissionFailed)
                if not safe or stale > 2:
                    raise
                continue
            except _CONNECT_ERRORS:
                attempt += 1
                if attempt % len(self.endpoints) == 0:
                    if self._reactor.seconds() + delay >= deadline:
                        raise
                    yield deferLater(self._reactor, delay, lambda: None)
                    delay = min(delay * 2, 1.0)
                self._good = index + 1
                continue
            body = yield _read_body(response)
            if response.code != 200:
                raise _error(response.code, body)
            return json.loads(body)

    def _unavailable(self, failure, path: str, timeout: float):
        if failure.check(StorageError):
            return failure
        if failure.check(DeferredTimeoutError, CancelledError):
            raise UnavailableError(f"etcd did not answer {path} within {timeout:g}s")
        if failure.check(
            ResponseNeverReceived, RequestTransmissionFailed, *_CONNECT_ERRORS
        ) or failure.check(
            OSError, ConnectionError
        ):
            raise UnavailableError(f"etcd unreachable: {failure.getErrorMessage()}")
        return failure

    # -- life cycle -----------------------------------------------------------

    def start(self) -> Deferred:
        d = self.call("/v3/kv/range", {"key": _key64(self.compaction_key), "count_only": True})

        def started(_):
            self._running = True
            if self._compaction_interval > 0:
                self._compact_loop = LoopingCall(self._compact_round)
                self._compact_loop.clock = self._reactor
                self._compact_loop.start(self._compaction_interval, now=True)

        return d.addCallback(started)

    def stop(self) -> Deferred:
        self._running = False
        if self._compact_loop is not None and self._compact_loop.running:
            self._compact_loop.stop()
        for w in list(self._watches):
            w.stop()
        self._stream_pool.closeCachedConnections()
        return self._pool.closeCachedConnections()

    # -- reads ----------------------------------------------------------------

    def get(self, key: str) -> Deferred:
        d = self.call("/v3/kv/range", {"key": _key64(key)})

        def got(response):
            kvs = response.get("kvs")
            if not kvs:
                raise KeyNotFoundError(key)
            return _kv(kvs[0])

        return d.addCallback(got)

    def list(
        self,
        prefix: str,
        revision: Optional[int] = None,
        limit: int = 0,
        start_key: Optional[str] = None,
    ) -> Deferred:
        start = start_key if start_key is not None and start_key > prefix else prefix
        body: dict = {"key": _key64(start), "range_end": _range_end64(prefix)}
        if limit > 0:
            body["limit"] = str(limit)
        if revision:
            body["revision"] = str(revision)
        d = self.call("/v3/kv/range", body)

        def got(response):
            items = [_kv(x) for x in response.get("kvs", ())]
            more = bool(response.get("more"))
            remaining = int(response.get("count", 0)) - len(items) if more else 0
            return ListResult(items, revision or _revision(response), more, remaining)

        return d.addCallbacks(got, self._revision_error, errbackArgs=(revision,))

    def _revision_error(self, failure, requested):
        """Fill in what a compacted or future revision error lacks."""
        if failure.check(CompactedError):
            raise CompactedError(requested, self.compacted)
        if failure.check(FutureRevisionError):
            d = self.current_revision()

            def current(rev):
                raise FutureRevisionError(requested, rev)

            return d.addCallback(current)
        return failure

    def count(self, prefix: str) -> Deferred:
        d = self.call(
            "/v3/kv/range",
            {"key": _key64(prefix), "range_end": _range_end64(prefix), "count_only": True},
        )
        return d.addCallback(lambda response: int(response.get("count", 0)))

    def current_revision(self) -> Deferred:
        d = self.call("/v3/kv/range", {"key": _key64(self.compaction_key), "count_only": True})
        return d.addCallback(_revision)

    def check(self) -> Deferred:
        d = self.call(
            "/v3/kv/range",
            {"key": _key64(self.compaction_key), "count_only": True},
            timeout=self.health_timeout,
        )
        return d.addCallback(lambda _: None)

    # -- writes ---------------------------------------------------------------

    def _txn(self, compare: dict, success: dict, failure_key: str) -> Deferred:
        return self.call(
            "/v3/kv/txn",
            {
                "compare": [compare],
                "success": [success],
                "failure": [{"request_range": {"key": _key64(failure_key)}}],
            },
        )

    @staticmethod
    def _current_of(response: dict) -> Optional[KeyValue]:
        responses = response.get("responses") or [{}]
        kvs = responses[0].get("response_range", {}).get("kvs")
        return _kv(kvs[0]) if kvs else None

    def create(self, key: str, value: bytes) -> Deferred:
        k = _key64(key)
        d = self._txn(
            {"target": "CREATE", "key": k, "create_revision": "0", "result": "EQUAL"},
            {"request_put": {"key": k, "value": _b64(value)}},
            key,
        )

        def done(response):
            if not response.get("succeeded"):
                raise KeyExistsError(key)
            rev = _revision(response)
            return KeyValue(key, value, rev, rev)

        return d.addCallback(done)

    def update(self, key: str, value: bytes, expected_revision: int) -> Deferred:
        k = _key64(key)
        d = self._txn(
            {"target": "MOD", "key": k, "mod_revision": str(expected_revision), "result": "EQUAL"},
            {"request_put": {"key": k, "value": _b64(value), "prev_kv": True}},
            key,
        )

        def done(response):
            if not response.get("succeeded"):
                current = self._current_of(response)
                if current is None:
                    raise KeyNotFoundError(key)
                raise ConflictError(key, current)
            put = (response.get("responses") or [{}])[0].get("response_put", {})
            prev = put.get("prev_kv") or {}
            return KeyValue(key, value, _revision(response), int(prev.get("create_revision", 0)))

        return d.addCallback(done)

    def delete(self, key: str, expected_revision: Optional[int] = None) -> Deferred:
        k = _key64(key)
        if expected_revision is None:
            d = self.call("/v3/kv/deleterange", {"key": k, "prev_kv": True})

            def deleted(response):
                prev = response.get("prev_kvs")
                if not prev:
                    raise KeyNotFoundError(key)
                kv = _kv(prev[0])
                return KeyValue(key, kv.value, _revision(response), kv.create_revision)

            return d.addCallback(deleted)
        d = self._txn(
            {"target": "MOD", "key": k, "mod_revision": str(expected_revision), "result": "EQUAL"},
            {"request_delete_range": {"key": k, "prev_kv": True}},
            key,
        )

        def done(response):
            if not response.get("succeeded"):
                current = self._current_of(response)
                if current is None:
                    raise KeyNotFoundError(key)
                raise ConflictError(key, current)
            dr = (response.get("responses") or [{}])[0].get("response_delete_range", {})
            prev = (dr.get("prev_kvs") or [None])[0]
            if prev is None:
                raise KeyNotFoundError(key)
            kv = _kv(prev)
            return KeyValue(key, kv.value, _revision(response), kv.create_revision)

        return d.addCallback(done)

    def guaranteed_update(
        self, key: str, try_update: Callable, ignore_not_found: bool = False
    ) -> Deferred:
        return _common.guaranteed_update(self, key, try_update, ignore_not_found)

    # -- compaction -----------------------------------------------------------

    def compact(self, revision: int) -> Deferred:
        d = self.call("/v3/kv/compaction", {"revision": str(revision)})

        def done(_):
            self.compacted = max(self.compacted, revision)

        def already(failure):
            failure.trap(CompactedError)
            return None

        def future(failure):
            failure.trap(FutureRevisionError)
            return self._revision_error(failure, revision)

        return d.addCallbacks(done, already).addErrback(future)

    def _compact_round(self) -> Deferred:
        """One round of the compaction shared by every server on this etcd."""
        k = _key64(self.compaction_key)
        d = self.call(
            "/v3/kv/txn",
            {
                "compare": [
                    {
                        "target": "VERSION",
                        "key": k,
                        "version": str(self._compact_version),
                        "result": "EQUAL",
                    }
                ],
                "success": [{"request_put": {"key": k, "value": _b64(b"")}}],
                "failure": [{"request_range": {"key": k}}],
            },
        )

        def decided(response):
            current = _revision(response)
            if not response.get("succeeded"):
                kv = (response.get("responses") or [{}])[0]
                kvs = kv.get("response_range", {}).get("kvs") or [{}]
                self._compact_version = int(kvs[0].get("version", 0))
                self._compact_previous = current
                return None
            self._compact_version += 1
            target, self._compact_previous = self._compact_previous, current
            if target > 0:
                return self.compact(target)
            return None

        def failed(failure):
            _log.warn("etcd compaction round failed: {e}", e=failure.getErrorMessage())

        return d.addCallbacks(decided, failed)

    # -- watches --------------------------------------------------------------

    def watch(
        self,
        prefix: str,
        after_revision: int,
        on_event: Callable[[Event], Any],
        on_progress: Optional[Callable[[int], Any]] = None,
    ) -> "EtcdWatch":
        w = EtcdWatch(self, prefix, after_revision, on_event, on_progress)
        self._watches.add(w)
        w.done.addBoth(self._unwatch, w)
        self._reactor.callLater(0, w._connect)
        return w

    def _unwatch(self, result, w):
        self._watches.discard(w)
        return result


@implementer(IBodyProducer)
class _Body:
    """A request body already in memory, written in one go."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.length = len(data)

    def startProducing(self, consumer) -> Deferred:
        consumer.write(self.data)
        return succeed(None)

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


def _read_body(response) -> Deferred:
    d: Deferred = Deferred()
    response.deliverBody(_Collect(d))
    return d


class _Collect(Protocol):
    def __init__(self, d: Deferred) -> None:
        self.d = d
        self.chunks: list = []

    def dataReceived(self, data: bytes) -> None:
        self.chunks.append(data)

    def connectionLost(self, reason) -> None:
        if reason.check(ResponseDone, PotentialDataLoss):
            self.d.callback(b"".join(self.chunks))
        else:
            self.d.errback(reason)


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

    def __init__(self, storage, prefix, after, on_event, on_progress) -> None:
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
                "key": _key64(self.prefix),
                "range_end": _range_end64(self.prefix),
                "start_revision": str(self.revision + 1),
                "prev_kv": True,
                "progress_notify": True,
            }
        }
        endpoint = s.endpoints[self._endpoint % len(s.endpoints)]
        d = s._stream_agent.request(
            b"POST",
            (endpoint + "/v3/watch").encode("ascii"),
            _JSON,
            _Body(json.dumps(body).encode()),
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
            body_d = _read_body(response)
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
            rev = _revision(result)
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
            prev = _kv(e["prev_kv"]) if e.get("prev_kv") else None
            if e.get("type") == "DELETE":
                value = prev.value if prev is not None else b"{}"
                create = prev.create_revision if prev is not None else 0
                event = Event(DELETED, KeyValue(_decode_key(kv), value, rev, create), prev)
            else:
                new = _kv(kv)
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


def _decode_key(kv: dict) -> str:
    return base64.b64decode(kv["key"]).decode("utf-8")


__all__ = ["Etcd3Storage", "EtcdError", "EtcdWatch"]
