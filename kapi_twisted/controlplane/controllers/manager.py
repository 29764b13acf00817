"""
The controllers kube-controller-manager would run next to kube-apiserver,
run inside kapi: namespace deletion, garbage collection, the C{default}
ServiceAccount and the C{kube-root-ca.crt} ConfigMap of every namespace.

They share one set of informers (L{InformerSet}) over the stores and talk
to the stores directly (no HTTP). As kube-controller-manager does, they run
only while this server holds the C{kube-system/kube-controller-manager}
Lease (L{LeaderElector}), so several servers over one etcd do not fight.
The C{start-kube-controller-manager} post-start hook starts the election;
everything stops with the L{ControllerManager} service, before storage
closes.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Iterable, List, Optional

from twisted.application.service import Service
from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.logger import Logger

from . import _util
from ._informer import InformerSet, custom_resource_stores
from .garbagecollector import GarbageCollector
from .leaderelection import LeaderElector, new_identity
from .namespace import NamespaceController
from .rootca import RootCACertPublisher
from .serviceaccounts import ServiceAccountsController

__all__ = ["ControllerManager", "HOOK_NAME", "HOOK_NAMES", "install_controllers",
           "cluster_ca_pem"]

log = Logger()

HOOK_NAME = "start-kube-controller-manager"
HOOK_NAMES = (HOOK_NAME,)
STOP_HOOK_NAME = "stop-kube-controller-manager"
#: How long stopping waits for the controllers' requests in flight.
STOP_TIMEOUT = 5.0
#: How long the start-up hook waits for the system namespaces' ServiceAccounts and CA maps.
SETTLE_TIMEOUT = 10.0


def cluster_ca_pem(config: Any) -> Optional[str]:
    """The CA bundle pods should trust: C{<cert-dir>/ca.crt}, else the serving certificate."""
    for path in (os.path.join(getattr(config, "cert_dir", "") or "", "ca.crt"),
                 getattr(config, "tls_cert_file", "") or ""):
        if path and os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                return f.read()
    return None


class _Controllers:
    """One term of leadership: informers and controllers, started and stopped together."""

    def __init__(self, stores: Callable[[], Iterable[Any]], core: Dict[str, Any], clock: Any,
                 ca_pem: Optional[str]) -> None:
        self.informers = InformerSet(stores, clock)
        self.namespaces = NamespaceController(core["namespaces"], self.informers, clock)
        self.garbage_collector = GarbageCollector(self.informers, clock)
        self.serviceaccounts = ServiceAccountsController(
            core["namespaces"], core["serviceaccounts"], self.informers, clock)
        self.root_ca: Optional[RootCACertPublisher] = None
        if ca_pem is not None:
            self.root_ca = RootCACertPublisher(core["namespaces"], core["configmaps"],
                                               self.informers, clock, ca_pem)
        else:
            log.warn("No cluster CA found: kube-root-ca.crt ConfigMaps are not published")
        self.all: List[Any] = [c for c in (self.namespaces, self.garbage_collector,
                                           self.serviceaccounts, self.root_ca) if c is not None]

    def start(self) -> Deferred:
        for controller in self.all:
            controller.start()
        return self.informers.start()

    def stop(self) -> Deferred:
        """Stop everything; fires once no request of theirs is in flight."""
        stopping = [controller.stop() for controller in self.all]
        stopping.append(self.informers.stop())
        return gatherResults(stopping, consumeErrors=True)


class ControllerManager(Service):
    """
    Owns the controllers and their informers.

    @param stores: C{() -> iterable of stores}: every resource the server
        stores, read again on resync (custom resources appear at run time).
    @param core: C{plural -> store} of C{v1} namespaces, serviceaccounts,
        configmaps, and C{leases} (coordination.k8s.io/v1) for the election.
    @param ca_pem: C{() -> PEM or None}, read when the controllers start.
    @ivar controllers: the running L{_Controllers}, or None.
    """

    name = "controller-manager"

    def __init__(self, stores: Callable[[], Iterable[Any]], core: Dict[str, Any], clock: Any,
                 ca_pem: Callable[[], Optional[str]] = lambda: None,
                 identity: Optional[str] = None) -> None:
        self.clock = clock
        self._stores = stores
        self._core = core
        self._ca_pem = ca_pem
        self.controllers: Optional[_Controllers] = None
        self._synced: Deferred = succeed(None)
        self.elector: Optional[LeaderElector] = None
        if "leases" in core:
            self.elector = LeaderElector(core["leases"], clock, identity or new_identity(),
                                         self._started_leading, self._stopped_leading)
        self._stopped = False
        self._stopping: Deferred = succeed(None)
        self._stop_result: Deferred = succeed(None)

    # -- starting -----------------------------------------------------------------

    def _started_leading(self) -> Deferred:
        if self._stopped or self.controllers is not None:
            return self._synced
        self.controllers = _Controllers(self._stores, self._core, self.clock, self._ca_pem())
        self._synced = self.controllers.start()
        return self._synced

    def _stopped_leading(self) -> None:
        controllers, self.controllers = self.controllers, None
        if controllers is not None:
            self._stopping = controllers.stop()

    def start_all(self) -> Deferred:
        """Run the controllers now, without an election (embedding, tests)."""
        return self._started_leading()

    def run(self, context: Any = None) -> Deferred:
        """
        The post-start hook: take part in the election; fires once the first
        round is over (and, when leading, once the informers have synced).
        """
        if self.elector is None:
            d = self.start_all()
        else:
            d = self.elector.start()
            d.addCallback(lambda leading: self._synced if leading else None)
        return d.addCallback(lambda _: self._system_namespaces_filled())

    def _system_namespaces_filled(self) -> Deferred:
        """
        Fires once the system namespaces exist and have their ServiceAccount
        and root CA ConfigMap (or after L{SETTLE_TIMEOUT}), so that a server
        that says it is ready already shows them, as a running cluster does.
        """
        from kapi_twisted.controlplane.system_namespaces import SYSTEM_NAMESPACES

        controllers = self.controllers
        if controllers is None:
            return succeed(None)
        namespaces = controllers.informers.for_store(self._core["namespaces"])
        done: Deferred = Deferred()
        deadline = self.clock.seconds() + SETTLE_TIMEOUT

        def check() -> None:
            if all(namespaces.get("", name) is not None for name in SYSTEM_NAMESPACES):
                queues = [c.queue.when_idle() for c in (controllers.serviceaccounts,
                                                         controllers.root_ca) if c is not None]
                gatherResults(queues).addBoth(lambda _: done.callback(None))
            elif self.clock.seconds() >= deadline or self.controllers is not controllers:
                done.callback(None)
            else:
                self.clock.callLater(0.05, check)

        check()
        return done

    def register_hooks(self, server: Any) -> None:
        """
        The C{start-kube-controller-manager} post-start hook on C{server}, and
        a pre-shutdown hook that stops the controllers while storage still
        serves (children of a MultiService stop all at once).
        """
        server.add_post_start_hook(HOOK_NAME, self.run)
        server.add_pre_shutdown_hook(STOP_HOOK_NAME, self.stopService)

    # -- stopping -----------------------------------------------------------------

    def stopService(self) -> Deferred:
        """
        Stop the controllers (and release the lease); fires once their work
        in progress has finished, or after L{STOP_TIMEOUT} seconds.
        """
        if self._stopped:
            return self._stop_result
        if self.running:
            super().stopService()
        self._stopped = True
        if self.elector is not None:
            d = self.elector.stop()
        else:
            self._stopped_leading()
            d = succeed(None)
        d.addCallback(lambda _: self._stopping)
        d.addTimeout(STOP_TIMEOUT, self.clock)
        d.addErrback(lambda f: log.warn("controllers did not stop cleanly: {f}", f=f.value))
        self._stop_result = d
        return _util.relay(d)

    # -- convenience --------------------------------------------------------------

    @property
    def informers(self) -> Optional[InformerSet]:
        return self.controllers.informers if self.controllers is not None else None


def install_controllers(top: Any, config: Any = None, clock: Any = None,
                        stores: Optional[Callable[[], Iterable[Any]]] = None,
                        identity: Optional[str] = None) -> ControllerManager:
    """
    Run the controllers in C{top} (the L{kapi_twisted.app.KubeAPIServerService}
    after C{top.stores} is set): the post-start hook goes on C{top.kube},
    the service becomes a child of C{top} (set as C{top.controller_manager}).

    @param stores: C{() -> stores}, read each time; by default
        C{top.stores.values()} and the custom resources' stores of
        C{top.apiextensions_api} (when the chain has one).
    """
    config = config if config is not None else top.config
    clock = clock if clock is not None else top.reactor
    if stores is None:
        def stores() -> Iterable[Any]:
            found = list(top.stores.values())
            extensions = getattr(top, "apiextensions_api", None)
            if extensions is not None:
                found.extend(custom_resource_stores(extensions.serving))
            return found
    core = {plural: top.stores[("", "v1", plural)]
            for plural in ("namespaces", "serviceaccounts", "configmaps")}
    core["leases"] = top.stores[("coordination.k8s.io", "v1", "leases")]
    manager = ControllerManager(stores, core, clock, lambda: cluster_ca_pem(config), identity)
    manager.register_hooks(top.kube)
    manager.setServiceParent(top)
    top.controller_manager = manager
    return manager
