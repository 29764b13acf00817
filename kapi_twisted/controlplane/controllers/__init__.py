"""
In-server controllers: what kube-controller-manager does next to
kube-apiserver and clients rely on (namespace deletion, garbage collection,
the C{default} ServiceAccount and C{kube-root-ca.crt} in every namespace).

    from kapi_twisted.controlplane.controllers import install_controllers

    top = create_server_chain(config, reactor)   # top.stores set
    install_controllers(top)                     # hooks on top.kube, a child service of top
"""

from kapi_twisted.controlplane.controllers._informer import InformerSet, custom_resource_stores
from kapi_twisted.controlplane.controllers.garbagecollector import GarbageCollector
from kapi_twisted.controlplane.controllers.leaderelection import LeaderElector
from kapi_twisted.controlplane.controllers.manager import (
    HOOK_NAME,
    HOOK_NAMES,
    ControllerManager,
    cluster_ca_pem,
    install_controllers,
)
from kapi_twisted.controlplane.controllers.namespace import NamespaceController
from kapi_twisted.controlplane.controllers.rootca import RootCACertPublisher
from kapi_twisted.controlplane.controllers.serviceaccounts import ServiceAccountsController

__all__ = [
    "HOOK_NAME", "HOOK_NAMES", "ControllerManager", "GarbageCollector", "InformerSet",
    "LeaderElector", "NamespaceController", "RootCACertPublisher", "ServiceAccountsController",
    "cluster_ca_pem", "custom_resource_stores", "install_controllers",
]
