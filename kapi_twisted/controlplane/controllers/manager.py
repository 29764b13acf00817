"""
The controllers kube-controller-manager would run next to kube-apiserver,
run inside kapi: namespace deletion, garbage collection, the C{default}
ServiceAccount and the C{kube-root-ca.crt} ConfigMap of every namespace.

They share one set of informers (L{InformerSet}) over the stores and talk
to the stores directly (no HTTP). Each starts in its own post-start hook on
the KubeAPI server, so C{/readyz} says when it runs; all stop with the
L{ControllerManager} service, before storage closes.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Iterable, List, Optional

from twisted.application.service import Service
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.logger import Logger

from ._informer import InformerSet
from .garbagecollector import GarbageCollector
from .namespace import NamespaceController
from .rootca import RootCACertPublisher
from .serviceaccounts import ServiceAccountsController

__all__ = ["ControllerManager", "HOOK_NAMES", "install_controllers", "cluster_ca_pem"]

log = Logger()

NAMESPACE_HOOK = "start-namespace-controller"
GC_HOOK = "start-garbage-collector-controller"
SERVICEACCOUNT_HOOK = "start-serviceaccount-controller"
ROOTCA_HOOK = "start-root-ca-cert-publisher"
HOOK_NAMES = (NAMESPACE_HOOK, GC_HOOK, SERVICEACCOUNT_HOOK, ROOTCA_HOOK)


def cluster_ca_pem(config: Any) -> Optional[str]:
    """The CA bundle pods should trust: C{<cert-dir>/ca.crt}, else the serving certificate."""
    for path in (os.path.join(getattr(config, "cert_dir", "") or "", "ca.crt"),
                 getattr(config, "tls_cert_file", "") or ""):
        if path and os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                return f.read()
    return None


class ControllerManager(Service):
    """
    Owns the controllers and their informers.

    @param stores: C{() -> iterable of stores}: every resource the server
        stores, read again on resync (custom resources appear at run time).
    @param core: C{plural -> store} of C{v1} namespaces, serviceaccounts, configmaps.
    @param ca_pem: C{() -> PEM or None}, read when the root CA publisher starts.
    """

    name = "controller-manager"

    def __init__(self, stores: Callable[[], Iterable[Any]], core: Dict[str, Any], clock: Any,
                 ca_pem: Callable[[], Optional[str]] = lambda: None) -> None:
        self.clock = clock
        self.informers = InformerSet(stores, clock)
        self.namespaces = NamespaceController(core["namespaces"], self.informers, clock)
        self.garbage_collector = GarbageCollector(self.informers, clock)
        self.serviceaccounts = ServiceAccountsController(
            core["namespaces"], core["serviceaccounts"], self.informers, clock)
        self._core = core
        self._ca_pem = ca_pem
        self.root_ca: Optional[RootCACertPublisher] = None
        self._started: List[Any] = []
        self._stopped = False

    def _start(self, controller: Any) -> Deferred:
        if self._stopped:
            return Deferred()
        controller.start()
        self._started.append(controller)
        return self.informers.start()

    def start_namespace_controller(self, context: Any = None) -> Deferred:
        return self._start(self.namespaces)

    def start_garbage_collector(self, context: Any = None) -> Deferred:
        return self._start(self.garbage_collector)

    def start_serviceaccounts(self, context: Any = None) -> Deferred:
        return self._start(self.serviceaccounts)

    def start_root_ca_publisher(self, context: Any = None) -> Deferred:
        pem = self._ca_pem()
        if pem is None:
            log.warn("No cluster CA found: kube-root-ca.crt ConfigMaps are not published")
            return self.informers.start()
        self.root_ca = RootCACertPublisher(self._core["namespaces"], self._core["configmaps"],
                                           self.informers, self.clock, pem)
        return self._start(self.root_ca)

    def start_all(self) -> Deferred:
        """Start every controller (without post-start hooks: embedding, tests)."""
        from twisted.internet.defer import gatherResults

        return gatherResults([maybeDeferred(f) for f in (
            self.start_namespace_controller, self.start_garbage_collector,
            self.start_serviceaccounts, self.start_root_ca_publisher)])

    def register_hooks(self, server: Any) -> None:
        """One post-start hook per controller on C{server} (a GenericAPIServer)."""
        server.add_post_start_hook(NAMESPACE_HOOK, self.start_namespace_controller)
        server.add_post_start_hook(GC_HOOK, self.start_garbage_collector)
        server.add_post_start_hook(SERVICEACCOUNT_HOOK, self.start_serviceaccounts)
        server.add_post_start_hook(ROOTCA_HOOK, self.start_root_ca_publisher)

    def stopService(self) -> None:
        super().stopService()
        self._stopped = True
        for controller in self._started:
            controller.stop()
        self.informers.stop()


def install_controllers(top: Any, config: Any = None, clock: Any = None,
                        stores: Optional[Callable[[], Iterable[Any]]] = None) -> ControllerManager:
    """
    Run the controllers in C{top} (the L{kapi_twisted.app.KubeAPIServerService}
    after C{top.stores} is set): their post-start hooks go on C{top.kube},
    their service becomes a child of C{top}.

    @param stores: C{() -> stores}; by default C{top.stores.values()}, read
        each time (add custom-resource stores to it, or pass your own).
    """
    config = config if config is not None else top.config
    clock = clock if clock is not None else top.reactor
    if stores is None:
        def stores() -> Iterable[Any]:
            return list(top.stores.values())
    core = {plural: top.stores[("", "v1", plural)]
            for plural in ("namespaces", "serviceaccounts", "configmaps")}
    manager = ControllerManager(stores, core, clock, lambda: cluster_ca_pem(config))
    manager.register_hooks(top.kube)
    manager.setServiceParent(top)
    top.controller_manager = manager
    return manager
