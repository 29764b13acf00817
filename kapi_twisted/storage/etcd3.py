"""
The etcd3 backend (C{--storage-backend=etcd3 --etcd-servers=...}): a real
etcd reached over its v3 JSON gateway (C{/v3/kv/range}, C{/v3/kv/txn},
C{/v3/kv/deleterange}, C{/v3/kv/compaction}, C{/v3/watch}).

Two HTTP clients, each where it pays:
  - The unary calls (range, txn, deleterange, compaction) go through
    L{_etcd_http}, a small keep-alive HTTP/1.1 client of this package's
    own. Profiled under concurrent creates (32 HTTP/1.1 clients, py-spy),
    twisted.web's C{Agent} path took ~27% of the server's CPU (URI and
    IDNA work per request, endpoint and pool plumbing, its line parser,
    pausing the transport around each response); this client, JSON
    included, takes ~5%. The server's CPU per create fell from ~600 to
    ~420 microseconds and its create rate over etcd rose by ~40%.
  - Watches go through treq (L{_etcd_watch}): one long-lived streaming
    request each, so treq's per-request cost does not show (its parsing
    of the stream is ~1% of the same profile).

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

import json
from typing import Any, Callable, Optional, Sequence

from twisted.internet.defer import (
    CancelledError,
    Deferred,
    TimeoutError as DeferredTimeoutError,
    inlineCallbacks,
)
from twisted.internet.task import LoopingCall, deferLater
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from . import _common
from ._etcd_http import EtcdHTTPClient, ResponseNotReceived, check_url
from ._etcd_wire import (
    CONNECT_ERRORS,
    EtcdError,
    b64,
    error_from,
    key64,
    kv_from,
    range_end64,
    revision_of,
)
from ._etcd_watch import EtcdWatch
from .interface import (
    CompactedError,
    ConflictError,
    Event,
    FutureRevisionError,
    IStorage,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    StorageError,
    UnavailableError,
)

_log = Logger()


def _parsed(reply) -> Any:
    """etcd's JSON answer, or the storage error its status says."""
    code, body = reply
    if code != 200:
        raise error_from(code, body)
    return json.loads(body)


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
        for url in self.endpoints:
            check_url(url)
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
        self._http = EtcdHTTPClient(
            reactor, max_connections=64, connect_timeout=request_timeout
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
        index = self._good % len(self.endpoints)
        # The common case is one attempt, so it is plain callbacks; only a
        # failed attempt enters the retry loop.
        d = self._http.post(self.endpoints[index], path.encode("ascii"), data)
        d.addCallbacks(
            _parsed, self._call,
            errbackArgs=(path, data, self._reactor.seconds() + min(timeout, self.connect_retry), index),
        )
        d.addTimeout(timeout, self._reactor)
        d.addErrback(self._unavailable, path, timeout)
        return d

    @inlineCallbacks
    def _call(self, failure, path: str, data: bytes, deadline: float, index: int):
        """
        Retry after C{failure}: refused connections on the next server with
        a short backoff until C{deadline} (an etcd restarting, not a down
        one: that should be reported soon), broken connections only where
        sending again is safe.
        """
        delay = 0.05
        attempt = stale = 0
        read = path == "/v3/kv/range"
        wire_path = path.encode("ascii")
        while True:
            if failure.check(ResponseNotReceived):
                # The connection broke under the request (say, etcd
                # restarted). Sending again is safe for reads; for writes
                # the outcome is unknown: report it.
                stale += 1
                if not read or stale > 2:
                    failure.raiseException()
            elif failure.check(*CONNECT_ERRORS):
                attempt += 1
                if attempt % len(self.endpoints) == 0:
                    if self._reactor.seconds() + delay >= deadline:
                        failure.raiseException()
                    yield deferLater(self._reactor, delay, lambda: None)
                    delay = min(delay * 2, 1.0)
                self._good = index + 1
            else:
                failure.raiseException()
            index = self._good % len(self.endpoints)
            try:
                reply = yield self._http.post(self.endpoints[index], wire_path, data)
            except Exception:
                failure = Failure()
                continue
            return _parsed(reply)

    def _unavailable(self, failure, path: str, timeout: float):
        if failure.check(StorageError):
            return failure
        if failure.check(DeferredTimeoutError, CancelledError):
            raise UnavailableError(f"etcd did not answer {path} within {timeout:g}s")
        if failure.check(ResponseNotReceived, *CONNECT_ERRORS) or failure.check(
            OSError, ConnectionError
        ):
            raise UnavailableError(f"etcd unreachable: {failure.getErrorMessage()}")
        return failure

    # -- life cycle -----------------------------------------------------------

    def start(self) -> Deferred:
        d = self.call("/v3/kv/range", {"key": key64(self.compaction_key), "count_only": True})

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
        return self._http.close()

    # -- reads ----------------------------------------------------------------

    def get(self, key: str) -> Deferred:
        d = self.call("/v3/kv/range", {"key": key64(key)})

        def got(response):
            kvs = response.get("kvs")
            if not kvs:
                raise KeyNotFoundError(key)
            return kv_from(kvs[0])

        return d.addCallback(got)

    def list(
        self,
        prefix: str,
        revision: Optional[int] = None,
        limit: int = 0,
        start_key: Optional[str] = None,
    ) -> Deferred:
        start = start_key if start_key is not None and start_key > prefix else prefix
        body: dict = {"key": key64(start), "range_end": range_end64(prefix)}
        if limit > 0:
            body["limit"] = str(limit)
        if revision:
            body["revision"] = str(revision)
        d = self.call("/v3/kv/range", body)

        def got(response):
            items = [kv_from(x) for x in response.get("kvs", ())]
            more = bool(response.get("more"))
            remaining = int(response.get("count", 0)) - len(items) if more else 0
            return ListResult(items, revision or revision_of(response), more, remaining)

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
            {"key": key64(prefix), "range_end": range_end64(prefix), "count_only": True},
        )
        return d.addCallback(lambda response: int(response.get("count", 0)))

    def current_revision(self) -> Deferred:
        d = self.call("/v3/kv/range", {"key": key64(self.compaction_key), "count_only": True})
        return d.addCallback(revision_of)

    def check(self) -> Deferred:
        d = self.call(
            "/v3/kv/range",
            {"key": key64(self.compaction_key), "count_only": True},
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
                "failure": [{"request_range": {"key": key64(failure_key)}}],
            },
        )

    @staticmethod
    def _current_of(response: dict) -> Optional[KeyValue]:
        responses = response.get("responses") or [{}]
        kvs = responses[0].get("response_range", {}).get("kvs")
        return kv_from(kvs[0]) if kvs else None

    def create(self, key: str, value: bytes, parsed: Optional[dict] = None) -> Deferred:
        # parsed: unused; watchers here decode what etcd's watch sends them.
        k = key64(key)
        d = self._txn(
            {"target": "CREATE", "key": k, "create_revision": "0", "result": "EQUAL"},
            {"request_put": {"key": k, "value": b64(value)}},
            key,
        )

        def done(response):
            if not response.get("succeeded"):
                raise KeyExistsError(key)
            rev = revision_of(response)
            return KeyValue(key, value, rev, rev)

        return d.addCallback(done)

    def _if_unchanged(self, key: str, expected_revision: int, request: dict) -> Deferred:
        """
        Run C{request} only while C{key} is at C{expected_revision}; fires
        with the transaction's response, or fails with L{KeyNotFoundError}
        (the key is gone) or L{ConflictError} (it has moved on).
        """
        k = key64(key)
        d = self._txn(
            {"target": "MOD", "key": k, "mod_revision": str(expected_revision), "result": "EQUAL"},
            request,
            key,
        )

        def checked(response):
            if not response.get("succeeded"):
                current = self._current_of(response)
                if current is None:
                    raise KeyNotFoundError(key)
                raise ConflictError(key, current)
            return response

        return d.addCallback(checked)

    def update(self, key: str, value: bytes, expected_revision: int) -> Deferred:
        d = self._if_unchanged(
            key, expected_revision,
            {"request_put": {"key": key64(key), "value": b64(value), "prev_kv": True}})

        def done(response):
            put = (response.get("responses") or [{}])[0].get("response_put", {})
            prev = put.get("prev_kv") or {}
            return KeyValue(key, value, revision_of(response), int(prev.get("create_revision", 0)))

        return d.addCallback(done)

    def delete(self, key: str, expected_revision: Optional[int] = None) -> Deferred:
        k = key64(key)
        if expected_revision is None:
            d = self.call("/v3/kv/deleterange", {"key": k, "prev_kv": True})

            def deleted(response):
                prev = response.get("prev_kvs")
                if not prev:
                    raise KeyNotFoundError(key)
                kv = kv_from(prev[0])
                return KeyValue(key, kv.value, revision_of(response), kv.create_revision)

            return d.addCallback(deleted)
        d = self._if_unchanged(key, expected_revision,
                               {"request_delete_range": {"key": k, "prev_kv": True}})

        def done(response):
            dr = (response.get("responses") or [{}])[0].get("response_delete_range", {})
            prev = (dr.get("prev_kvs") or [None])[0]
            if prev is None:
                raise KeyNotFoundError(key)
            kv = kv_from(prev)
            return KeyValue(key, kv.value, revision_of(response), kv.create_revision)

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
        k = key64(self.compaction_key)
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
                "success": [{"request_put": {"key": k, "value": b64(b"")}}],
                "failure": [{"request_range": {"key": k}}],
            },
        )

        def decided(response):
            current = revision_of(response)
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


__all__ = ["Etcd3Storage", "EtcdError", "EtcdWatch"]
