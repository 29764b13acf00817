"""
The service-account controller of kube-controller-manager
(C{pkg/controller/serviceaccount}): every active namespace has a
ServiceAccount named C{default}; it is created with the namespace and again
whenever it is deleted. Namespaces being terminated are left alone.
"""

from __future__ import annotations

from typing import Any, Callable

from twisted.internet.defer import Deferred, inlineCallbacks

from kapi_twisted.admission.namespace_lifecycle import NAMESPACE_TERMINATING_CAUSE
from kapi_twisted.apierrors import APIError
from kapi_twisted.registry.typebehaviour import default_service_account

from . import _util
from ._informer import InformerSet
from ._queue import WorkQueue

__all__ = ["EnsureInNamespace", "ServiceAccountsController", "default_service_account"]


class EnsureInNamespace:
    """
    Keeps one named object in every active namespace: created when missing
    (with the namespace, or after being deleted), and brought back in line by
    C{needs_update}/C{fix} when it drifts.

    @param namespaces: the C{v1 namespaces} store.
    @param store: the store of the object's resource.
    @param make: C{namespace -> object} to create.
    """

    name = ""

    def __init__(self, namespaces: Any, store: Any, informers: InformerSet, clock: Any,
                 object_name: str, make: Callable[[str], dict]) -> None:
        self.namespaces = namespaces
        self.store = store
        self.informers = informers
        self.object_name = object_name
        self.make = make
        self.queue = WorkQueue(clock, self.sync, self.name or object_name)

    def start(self) -> None:
        ns_informer = self.informers.for_store(self.namespaces)
        ns_informer.add_handler(
            on_add=self._namespace_changed,
            on_update=lambda old, new: self._namespace_changed(new))
        informer = self.informers.for_store(self.store)
        informer.add_handler(
            on_update=lambda old, new: self._object_changed(new),
            on_delete=self._object_changed)

    def stop(self) -> Deferred:
        """Stop; fires once work in progress has finished."""
        return self.queue.stop()

    def _namespace_changed(self, ns: dict) -> None:
        meta = _util.meta(ns)
        if (ns.get("status") or {}).get("phase", "Active") == "Active" and \
                not meta.get("deletionTimestamp"):
            self.queue.add(meta.get("name"))

    def _object_changed(self, obj: dict) -> None:
        meta = _util.meta(obj)
        if meta.get("name") == self.object_name and meta.get("namespace"):
            self.queue.add(meta["namespace"])

    def needs_update(self, current: dict) -> bool:
        return False

    def fix(self, current: dict) -> dict:
        return current

    @inlineCallbacks
    def sync(self, namespace: str):
        ctx = _util.context()
        ns = yield _util.get_or_none(self.namespaces, "", namespace)
        if ns is None:
            return
        if (ns.object.get("status") or {}).get("phase", "Active") != "Active" or \
                _util.meta(ns.object).get("deletionTimestamp"):
            return
        kv = yield _util.get_or_none(self.store, namespace, self.object_name)
        if kv is not None:
            if self.needs_update(kv.object):
                yield self.store.patch(ctx, namespace, self.object_name, self.fix,
                                       _util.write_options())
            return
        try:
            yield self.store.create(ctx, namespace, self.make(namespace), _util.write_options())
        except APIError as e:
            # Lost a race, or the namespace went away or began terminating.
            if e.code in (404, 409) or _util.has_cause(e, NAMESPACE_TERMINATING_CAUSE):
                return
            raise


class ServiceAccountsController(EnsureInNamespace):
    name = "serviceaccount-controller"

    def __init__(self, namespaces: Any, serviceaccounts: Any, informers: InformerSet,
                 clock: Any) -> None:
        super().__init__(namespaces, serviceaccounts, informers, clock, "default",
                         default_service_account)
