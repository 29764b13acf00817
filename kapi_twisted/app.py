"""
C{create_server_chain}: kube-apiserver's C{CreateServerChain}, as one
L{KubeAPIServerService}.

Children, in start order: the storage, the APIExtensions server, the KubeAPI
server (delegating to APIExtensions), the Aggregator (delegating to KubeAPI),
the secure-serving service that listens with the Aggregator's tree wrapped in
the filter chain, and the in-server controllers (namespace deletion, garbage
collection, per-namespace ServiceAccount and CA ConfigMap), which
kube-controller-manager runs beside a real kube-apiserver. Stopping runs the graceful termination sequence
(L{kapi_twisted.server.termination}) before the children stop.
"""

from __future__ import annotations

from typing import Any, Optional

from twisted.application.service import MultiService, Service
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from kapi_twisted.config import ServerConfig
from kapi_twisted.server.generic import GenericAPIServer, HealthCheck
from kapi_twisted.server.lifecycle import LifecycleSignals
from kapi_twisted.server.longrunning import LongRunningRequests
from kapi_twisted.server.termination import graceful_shutdown
from kapi_twisted.server.waitgroup import WaitGroup

log = Logger()


class StorageService(Service):
    """
    Opens the store when started and closes it when stopped.

    @ivar ready: fires once the store serves (the listener waits for it).
    """

    name = "storage"

    def __init__(self, storage: Any) -> None:
        self.storage = storage
        self.ready: Deferred = Deferred()

    def startService(self) -> None:
        super().startService()
        d = maybeDeferred(self.storage.start)
        d.addCallbacks(self.ready.callback, self.ready.errback)

    def when_ready(self) -> Deferred:
        """A new Deferred with the outcome of L{ready}."""
        d: Deferred = Deferred()

        def relay(result: Any) -> None:
            if isinstance(result, Failure):
                d.errback(result)
            else:
                d.callback(result)

        self.ready.addBoth(relay)
        return d

    def stopService(self) -> Deferred:
        super().stopService()
        return maybeDeferred(self.storage.stop)


class KubeAPIServerService(MultiService):
    """
    The whole server process as one service.

    @ivar ready: fires with this service once it listens and its post-start
        hooks have run; fails if the store or the listener could not start.
    """

    def __init__(self, config: ServerConfig, reactor: Any) -> None:
        super().__init__()
        self.config = config
        self.reactor = reactor
        self.lifecycle = LifecycleSignals()
        self.wait_group = WaitGroup()
        self.long_running = LongRunningRequests()
        self.ready: Deferred = Deferred()
        self._stopping: Optional[Deferred] = None

    def startService(self) -> None:
        super().startService()
        d = self.serving.listening
        d.addCallback(self._listening)
        d.addCallbacks(lambda _: self.ready.callback(self), self._failed_to_start)

    def _listening(self, port: Any) -> Deferred:
        from kapi_twisted.server import certs

        certs.write_admin_kubeconfig(self.config, self.serving.url())
        log.info("Serving securely on {url}", url=self.serving.url())
        d = self.aggregator.run_post_start_hooks()
        # Every path (custom resources included) is installed once the
        # post-start hooks, crd-informer-synced among them, have finished.
        d.addCallback(lambda _: self.lifecycle.mux_and_discovery_complete.fire())
        return d

    def _failed_to_start(self, failure: Any) -> None:
        from kapi_twisted.server.serving import ServingError
        from kapi_twisted.storage import StorageError

        if failure.check(ServingError, StorageError):
            log.critical("kapi could not start: {error}", error=failure.getErrorMessage())
        else:
            log.failure("kapi could not start", failure)
        self.ready.errback(failure)

    def url(self) -> str:
        """The URL clients reach this server at (once L{ready} has fired)."""
        return self.serving.url()

    def advertise_address(self) -> tuple:
        """(host, port) the C{default/kubernetes} Endpoints point at."""
        return ("127.0.0.1", self.serving.port.getHost().port)

    def stopService(self) -> Deferred:
        """
        Graceful termination; the Deferred fires once the listener is closed,
        in-flight requests have drained (bounded by C{--shutdown-timeout}),
        long-running requests are ended and every child has stopped.
        """
        if self._stopping is not None:
            return self._stopping
        if not self.serving.running:
            self._stopping = maybeDeferred(MultiService.stopService, self)
            return self._stopping
        d = graceful_shutdown(
            self.lifecycle,
            self.serving,
            self.wait_group,
            self.long_running,
            self.aggregator.all_pre_shutdown_hooks(),
            self.config.shutdown_delay_duration,
            self.config.shutdown_timeout,
            self.reactor,
        )
        d.addCallback(lambda _: MultiService.stopService(self))
        self._stopping = d
        return d


def create_server_chain(config: ServerConfig, reactor: Any) -> KubeAPIServerService:
    """
    Build the chain (not started): storage -> APIExtensions -> KubeAPI ->
    Aggregator -> secure serving.
    """
    from kapi_twisted.admission import install_admission
    from kapi_twisted.aggregator import install_root_discovery
    from kapi_twisted.apiextensions import install_apiextensions
    from kapi_twisted.controlplane import install_builtin_apis
    from kapi_twisted.controlplane.controllers import install_controllers
    from kapi_twisted.controlplane.serviceaccounttokens import install_service_account_tokens
    from kapi_twisted.server.filters import build_handler_chain
    from kapi_twisted.server.metrics import APIServerMetrics, install_metrics
    from kapi_twisted.server.serving import SecureServing
    from kapi_twisted.storage import build_storage

    top = KubeAPIServerService(config, reactor)
    storage = build_storage(
        backend=config.storage_backend,
        data_dir=config.data_dir,
        etcd_servers=config.etcd_servers,
        prefix=config.etcd_prefix,
        compaction_interval=config.etcd_compaction_interval,
        reactor=reactor,
    )
    storage_service = StorageService(storage)
    storage_service.setServiceParent(top)
    top.storage = storage

    apiextensions = GenericAPIServer("apiextensions-apiserver", None, top.lifecycle, reactor)
    kube = GenericAPIServer("kube-apiserver", apiextensions, top.lifecycle, reactor)
    aggregator = GenericAPIServer("kube-aggregator", kube, top.lifecycle, reactor)
    apiextensions.add_healthz_checks(HealthCheck("etcd", storage.check, group="etcd"))
    top.apiextensions, top.kube, top.aggregator = apiextensions, kube, aggregator

    top.stores = install_builtin_apis(
        kube, storage, config, top.long_running, advertise=top.advertise_address
    )
    top.apiextensions_api = install_apiextensions(
        apiextensions, storage, config, top.long_running
    )
    install_root_discovery(aggregator)
    metrics = APIServerMetrics()
    install_metrics(aggregator, metrics)
    builtin_groups = {group for group, _, _ in top.stores}
    metrics.known_resource = lambda info: (
        (info.api_group, info.api_version, info.resource) in top.stores
        or info.api_group not in builtin_groups
    )
    for server in (apiextensions, kube, aggregator):
        server.setServiceParent(top)

    handler = build_handler_chain(
        aggregator.root,
        config=config,
        lifecycle=top.lifecycle,
        wait_group=top.wait_group,
        long_running=top.long_running,
        reactor=reactor,
        metrics=metrics,
    )
    install_service_account_tokens(handler.authenticator, top.stores)
    serving = SecureServing(
        config, handler, top.lifecycle, reactor, start_after=storage_service.when_ready
    )
    serving.setServiceParent(top)
    top.serving = serving
    admission = install_admission(top.stores)
    top.apiextensions_api.set_admission(admission)
    install_controllers(top, config, reactor)
    metrics.track_tls_handshake_errors(lambda: serving.site.tls_handshake_errors)
    return top
