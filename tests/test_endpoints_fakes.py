"""
An in-memory L{IResourceStore} for the handler unit tests (no test cases
here). End-to-end tests use the real generic store.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any, Callable, Dict, List

from twisted.internet.defer import Deferred, succeed, fail
from zope.interface import implementer

from kapi_twisted import apierrors
from kapi_twisted.registry.interface import (
    DeleteResult, IResourceStore, ListPage, WatchEvent, WriteResult,
)


class FakeKV:
    def __init__(self, obj: dict, rv: int) -> None:
        obj = copy.deepcopy(obj)
        obj.setdefault("metadata", {})["resourceVersion"] = str(rv)
        self.object = obj
        self.data = json.dumps(obj, separators=(",", ":")).encode()
        self.mod_revision = rv


class FakeWatch:
    def __init__(self, store: "FakeStore", send: Callable, namespace: str, name: str) -> None:
        self.store, self.send, self.namespace, self.name = store, send, namespace, name
        self.done: Deferred = Deferred()
        self.stopped = False

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.store.watchers.remove(self)


@implementer(IResourceStore)
class FakeStore:
    """A dict of objects per (namespace, name) with a shared revision counter."""

    def __init__(self, info: Any) -> None:
        self.info = info
        self.objects: Dict[tuple, FakeKV] = {}
        self.revision = 10
        self.watchers: List[FakeWatch] = []
        self.calls: List[tuple] = []

    def _notify(self, type_: str, kv: FakeKV) -> None:
        meta = kv.object["metadata"]
        for w in list(self.watchers):
            if (not w.namespace or w.namespace == meta.get("namespace")) and (
                not w.name or w.name == meta.get("name")
            ):
                w.send(WatchEvent(type_, kv=kv))

    def _missing(self, name: str) -> Deferred:
        return fail(apierrors.not_found(self.info.plural, name, self.info.group))

    def get(self, ctx, namespace, name, options):
        self.calls.append(("get", namespace, name, options))
        kv = self.objects.get((namespace, name))
        return succeed(kv) if kv else self._missing(name)

    def list(self, ctx, namespace, options):
        self.calls.append(("list", namespace, options))
        items = [kv for (ns, _), kv in sorted(self.objects.items()) if not namespace or ns == namespace]
        return succeed(ListPage(items, str(self.revision)))

    def watch(self, ctx, namespace, options, send):
        self.calls.append(("watch", namespace, options))
        name = ""
        if options.field_selector.startswith("metadata.name="):
            name = options.field_selector.split("=", 1)[1]
        w = FakeWatch(self, send, namespace, name)
        self.watchers.append(w)
        if options.resource_version in ("", "0"):
            for (ns, n), kv in sorted(self.objects.items()):
                if (not namespace or ns == namespace) and (not name or n == name):
                    send(WatchEvent("ADDED", kv=kv))
        if options.resource_version == "1":
            send(WatchEvent("ERROR", object=apierrors.expired("too old resource version: 1 (10)").status()))
            w.stop()
            w.done.callback(None)
        return succeed(w)

    def create(self, ctx, namespace, obj, options):
        self.calls.append(("create", namespace, obj, options))
        name = obj["metadata"].get("name")
        if (namespace, name) in self.objects:
            return fail(apierrors.already_exists(self.info.plural, name, self.info.group))
        obj = copy.deepcopy(obj)
        obj["metadata"]["uid"] = str(uuid.uuid4())
        if options.dry_run:
            return succeed(WriteResult(object=obj, created=True))
        self.revision += 1
        kv = FakeKV(obj, self.revision)
        self.objects[(namespace, name)] = kv
        self._notify("ADDED", kv)
        return succeed(WriteResult(kv=kv, created=True))

    def update(self, ctx, namespace, name, obj, options, subresource=""):
        self.calls.append(("update", namespace, name, obj, options, subresource))
        if (namespace, name) not in self.objects:
            return self._missing(name)
        self.revision += 1
        kv = FakeKV(obj, self.revision)
        self.objects[(namespace, name)] = kv
        self._notify("MODIFIED", kv)
        return succeed(WriteResult(kv=kv))

    def patch(self, ctx, namespace, name, apply_patch, options, subresource=""):
        self.calls.append(("patch", namespace, name, options, subresource))
        current = self.objects.get((namespace, name))
        if current is None:
            return self._missing(name)
        try:
            new = apply_patch(copy.deepcopy(current.object))
        except Exception as e:
            return fail(e)
        self.revision += 1
        kv = FakeKV(new, self.revision)
        self.objects[(namespace, name)] = kv
        self._notify("MODIFIED", kv)
        return succeed(WriteResult(kv=kv))

    def delete(self, ctx, namespace, name, options):
        self.calls.append(("delete", namespace, name, options))
        kv = self.objects.pop((namespace, name), None)
        if kv is None:
            return self._missing(name)
        self.revision += 1
        self._notify("DELETED", kv)
        return succeed(DeleteResult(kv=kv, finished=True))

    def delete_collection(self, ctx, namespace, list_options, options):
        self.calls.append(("deletecollection", namespace, list_options, options))
        gone = [kv for (ns, _), kv in sorted(self.objects.items()) if not namespace or ns == namespace]
        for kv in gone:
            meta = kv.object["metadata"]
            del self.objects[(meta.get("namespace", ""), meta["name"])]
        self.revision += 1
        return succeed(ListPage(gone, str(self.revision)))
