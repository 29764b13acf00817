"""
Installing the APIExtensions server's API: C{apiextensions.k8s.io/v1}
CustomResourceDefinitions (with C{/status}), the live serving of the custom
resources they define, and the in-server controllers, started as
kube-apiserver starts them (post-start hooks C{start-apiextensions-informers},
C{start-apiextensions-controllers} and C{crd-informer-synced}, which finishes
once the CRDs already stored are served).

    ext = install_apiextensions(top.apiextensions, storage, config, top.long_running)
    ext.serving        # CustomResourceServing: what is served now
    ext.crd_store      # the CRD store
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kapi_twisted.controlplane import install_groups

from .controllers import CRDController, CRDInformer
from .crd_registry import build_crd_store
from .serving import CustomResourceServing

__all__ = ["APIExtensions", "install_apiextensions", "INFORMERS_HOOK", "CONTROLLERS_HOOK",
           "SYNCED_HOOK"]

INFORMERS_HOOK = "start-apiextensions-informers"
CONTROLLERS_HOOK = "start-apiextensions-controllers"
SYNCED_HOOK = "crd-informer-synced"
GROUP = "apiextensions.k8s.io"


@dataclass
class APIExtensions:
    """What L{install_apiextensions} set up."""

    crd_store: Any
    serving: CustomResourceServing
    informer: CRDInformer
    controller: CRDController

    def set_admission(self, admission: Any) -> None:
        """Run C{admission} on CRD writes and on every custom resource store."""
        self.crd_store.admission = admission
        self.serving.set_admission(admission)

    def stop(self) -> None:
        self.informer.stop()
        self.controller.stop()


def install_apiextensions(server: Any, storage: Any, config: Any, long_running: Any = None,
                          clock: Any = None) -> APIExtensions:
    """
    Serve CRDs and custom resources on C{server} (the APIExtensions
    L{GenericAPIServer}): C{/apis/apiextensions.k8s.io/v1}, and
    C{/apis/<group>/...} for every CRD as soon as its names are accepted.
    The informer and controllers start in post-start hooks; the informer
    hook finishes once the CRDs already stored are served.
    """
    clock = clock if clock is not None else server.reactor
    prefix = getattr(config, "etcd_prefix", "/registry") or "/registry"
    crd_store = build_crd_store(storage, clock, prefix)
    info = crd_store.info
    install_groups(server, [GROUP], storage, config, long_running, clock,
                   stores={(info.group, info.version, info.plural): crd_store})
    serving = CustomResourceServing(
        server, storage, clock, prefix,
        float(getattr(config, "min_request_timeout", 1800)), long_running, server.reactor)
    informer = CRDInformer(storage, crd_store.keys.list_prefix(), clock)
    informer.listen(lambda name, crd: serving.crd_deleted(name) if crd is None
                    else serving.crd_changed(crd))
    controller = CRDController(informer, crd_store, serving, clock)
    ext = APIExtensions(crd_store, serving, informer, controller)
    server.add_post_start_hook(INFORMERS_HOOK, lambda context: informer.start())
    server.add_post_start_hook(CONTROLLERS_HOOK, lambda context: None)
    server.add_post_start_hook(SYNCED_HOOK, lambda context: informer.when_synced())
    server.add_pre_shutdown_hook("stop-apiextensions-controllers", ext.stop)
    return ext
