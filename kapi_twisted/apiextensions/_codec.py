"""
L{VersionedStorage}: the storage as one served version of a custom resource
sees it (kube-apiserver's storage codec for custom resources).

Objects are written at the CRD's storage version and read at the served
version: every value going down is converted to the storage version, every
value coming up (gets, lists, watch events, the current state of a
read-modify-write) is converted to the served version and defaulted with
that version's schema. The generic store above never knows.

Conversion may be a webhook call, so each of these is asynchronous; watch
events are converted one after another so they keep their order.
"""

from __future__ import annotations

import json
from typing import Any, Callable, List, Optional

from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.python.failure import Failure
from zope.interface import implementer

from kapi_twisted.registry import _encoding
from kapi_twisted.storage import interface as st

__all__ = ["VersionedStorage"]


def _has_defaults(schema: Any) -> bool:
    if isinstance(schema, dict):
        if "default" in schema:
            return True
        return any(_has_defaults(v) for k, v in schema.items() if k not in ("enum", "example"))
    if isinstance(schema, list):
        return any(_has_defaults(v) for v in schema)
    return False


class _Defaulter:
    """The schema's defaults applied to objects read from storage (None: no defaults)."""

    def __init__(self, compiled: Any) -> None:
        self.compiled = compiled if compiled is not None and _has_defaults(
            compiled.schema) else None

    def __call__(self, obj: dict) -> Optional[dict]:
        """A defaulted copy of C{obj}, or None when defaulting changes nothing."""
        if self.compiled is None:
            return None
        copied = json.loads(json.dumps(obj))
        self.compiled.default(copied)
        return copied if copied != obj else None


@implementer(st.IStorage)
class VersionedStorage:
    """
    @param inner: the shared storage (the watch cache).
    @param converter: a L{kapi_twisted.apiextensions.conversion.Converter}.
    @param api_version: the served version's C{apiVersion} (C{g/v}).
    @param storage_api_version: the storage version's C{apiVersion}.
    @param compiled: the served version's L{CompiledSchema}, for read defaulting.
    """

    def __init__(self, inner: Any, converter: Any, api_version: str,
                 storage_api_version: str, compiled: Any = None) -> None:
        self.inner = inner
        self.converter = converter
        self.api_version = api_version
        self.storage_api_version = storage_api_version
        self._default = _Defaulter(compiled)

    # -- values up and down -------------------------------------------------------

    def _up_many(self, kvs: List[Any]) -> Deferred:
        """Stored key-values -> key-values at the served version (defaulted)."""
        kvs = list(kvs)
        objs = [kv.object for kv in kvs if kv is not None]
        if not objs:
            return succeed(kvs)
        d = self.converter.convert(objs, self.api_version)

        def rebuild(converted: List[dict]) -> List[Any]:
            out: List[Any] = []
            it = iter(converted)
            for kv in kvs:
                if kv is None:
                    out.append(None)
                    continue
                obj = next(it)
                defaulted = self._default(obj)
                if defaulted is not None:
                    obj = defaulted
                if obj is kv.object:
                    out.append(kv)
                else:
                    out.append(st.KeyValue(kv.key, _encoding.encode(obj), kv.mod_revision,
                                           kv.create_revision))
            return out

        return d.addCallback(rebuild)

    def _up(self, kv: Any) -> Deferred:
        return self._up_many([kv]).addCallback(lambda kvs: kvs[0])

    def _down(self, value: bytes) -> Deferred:
        """Bytes at the served version -> bytes at the storage version."""
        obj = json.loads(value)
        if obj.get("apiVersion") == self.storage_api_version:
            return succeed(value)
        d = self.converter.convert([obj], self.storage_api_version)
        return d.addCallback(lambda objs: _encoding.encode(objs[0]))

    # -- IStorage -----------------------------------------------------------------------

    def start(self) -> Deferred:
        return succeed(None)

    def stop(self) -> Deferred:
        return succeed(None)

    def get(self, key: str) -> Deferred:
        return self.inner.get(key).addCallback(self._up)

    def list(self, prefix: str, revision: Optional[int] = None, limit: int = 0,
             start_key: Optional[str] = None) -> Deferred:
        d = self.inner.list(prefix, revision, limit, start_key)

        def convert(result: st.ListResult) -> Deferred:
            return self._up_many(result.items).addCallback(
                lambda items: st.ListResult(items, result.revision, result.more,
                                            result.remaining))

        return d.addCallback(convert)

    def count(self, prefix: str) -> Deferred:
        return self.inner.count(prefix)

    def create(self, key: str, value: bytes, parsed: Optional[dict] = None) -> Deferred:
        # parsed: unused; what is stored is the object converted to the storage version.
        d = self._down(value)
        d.addCallback(lambda stored: self.inner.create(key, stored))
        return d.addCallback(self._up)

    def update(self, key: str, value: bytes, expected_revision: int) -> Deferred:
        d = self._down(value)
        d.addCallback(lambda stored: self.inner.update(key, stored, expected_revision))
        return d.addCallback(self._up)

    def delete(self, key: str, expected_revision: Optional[int] = None) -> Deferred:
        return self.inner.delete(key, expected_revision).addCallback(self._up)

    def guaranteed_update(self, key: str, try_update: Callable[[Any], Any],
                          ignore_not_found: bool = False) -> Deferred:
        def wrapped(current: Any) -> Deferred:
            d = self._up(current) if current is not None else succeed(None)
            d.addCallback(lambda cur: maybeDeferred(try_update, cur))

            def down(value: Any) -> Any:
                if value is None:
                    return None
                return self._down(value)

            return d.addCallback(down)

        d = self.inner.guaranteed_update(key, wrapped, ignore_not_found)
        return d.addCallback(self._up)

    def watch(self, prefix: str, after_revision: int, on_event: Callable[[st.Event], Any],
              on_progress: Optional[Callable[[int], Any]] = None) -> "_ConvertingWatch":
        return _ConvertingWatch(self, prefix, after_revision, on_event, on_progress)

    def current_revision(self) -> Deferred:
        return self.inner.current_revision()

    def compact(self, revision: int) -> Deferred:
        return self.inner.compact(revision)

    def check(self) -> Deferred:
        return self.inner.check()


@implementer(st.IWatch)
class _ConvertingWatch:
    """A storage watch whose events are converted, in order, before delivery."""

    def __init__(self, storage: VersionedStorage, prefix: str, after: int,
                 on_event: Callable[[st.Event], Any],
                 on_progress: Optional[Callable[[int], Any]]) -> None:
        self._storage = storage
        self._on_event = on_event
        self._on_progress = on_progress
        self._tail: Deferred = succeed(None)
        self._pending = 0
        self._delivered = after
        self._stopped = False
        self.done: Deferred = Deferred()
        self._inner = storage.inner.watch(
            prefix, after, self._event, self._progress if on_progress else None)
        self._inner.done.addBoth(self._inner_done)

    @property
    def revision(self) -> int:
        inner = int(getattr(self._inner, "revision", 0) or 0)
        return inner if self._pending == 0 else self._delivered

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._inner.stop()
        if not self.done.called:
            self.done.callback(None)

    def _event(self, event: st.Event) -> None:
        self._pending += 1
        storage = self._storage

        def convert(_: Any) -> Deferred:
            return storage._up_many([event.kv, event.prev_kv])

        def deliver(kvs: List[Any]) -> None:
            self._pending -= 1
            if self._stopped:
                return
            self._delivered = event.kv.mod_revision
            self._on_event(st.Event(event.type, kvs[0], kvs[1]))

        def failed(failure: Failure) -> None:
            self._pending -= 1
            self._fail(failure)

        self._tail.addCallback(convert)
        self._tail.addCallbacks(deliver, failed)

    def _progress(self, revision: int) -> None:
        def report(_: Any) -> None:
            if not self._stopped and self._on_progress is not None:
                self._on_progress(revision)

        self._tail.addCallback(report)

    def _fail(self, failure: Failure) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._inner.stop()
        if not self.done.called:
            self.done.errback(failure)

    def _inner_done(self, result: Any) -> None:
        def finish(_: Any) -> None:
            if self.done.called:
                return
            self._stopped = True
            if isinstance(result, Failure):
                self.done.errback(result)
            else:
                self.done.callback(None)

        self._tail.addBoth(finish)
        return None
