"""
The C{start-system-namespaces-controller} post-start hook: once the server
serves, the namespaces kube-apiserver always has (C{default},
C{kube-system}, C{kube-public}, C{kube-node-lease}) exist, and so do the
C{default/kubernetes} Service (the first address of the service IP range,
port 443) and its Endpoints pointing at this server. Only what is missing is
created, so a restart on an existing store changes nothing.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Callable, Dict, Tuple

from twisted.internet.defer import inlineCallbacks
from twisted.logger import Logger

from kapi_twisted.apierrors import APIError
from kapi_twisted.registry.interface import GetOptions, RequestContext, WriteOptions

log = Logger()

HOOK_NAME = "start-system-namespaces-controller"
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_MANAGER = "kube-apiserver"


def first_service_ip(cidr: str) -> str:
    """C{10.0.0.0/24} -> C{10.0.0.1}: the kubernetes Service's cluster IP."""
    network = ipaddress.ip_network(cidr.split(",")[0].strip(), strict=False)
    return str(network.network_address + 1)


def kubernetes_service(cluster_ip: str, port: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": cluster_ip,
            "clusterIPs": [cluster_ip],
            "ipFamilies": ["IPv6" if ":" in cluster_ip else "IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
            "sessionAffinity": "None",
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
        },
    }


def kubernetes_endpoints(ip: str, port: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"},
        },
        "subsets": [{
            "addresses": [{"ip": ip}],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
        }],
    }


@inlineCallbacks
def _ensure(store: Any, namespace: str, obj: dict):
    """Create C{obj} unless an object of its name exists. Fires True if created."""
    ctx = RequestContext()
    name = obj["metadata"]["name"]
    try:
        yield store.get(ctx, namespace, name, GetOptions())
        return False
    except APIError as e:
        if e.code != 404:
            raise
    try:
        yield store.create(ctx, namespace, obj, WriteOptions(field_manager=_MANAGER))
    except APIError as e:
        if e.code != 409:
            raise
        return False
    return True


def system_namespaces_hook(
    stores: Dict[str, Any],
    service_cidr: str,
    advertise: Callable[[], Tuple[str, int]],
) -> Callable[[Any], Any]:
    """
    The post-start hook. C{stores} maps C{namespaces}, C{services} and
    C{endpoints} to their stores; C{advertise()} gives the (IP, port)
    clients reach this server at (read when the hook runs, after listening).
    """

    @inlineCallbacks
    def hook(context: Any):
        for name in SYSTEM_NAMESPACES:
            namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            yield _ensure(stores["namespaces"], "", namespace)
        ip, port = advertise()
        if not port:
            log.warn("No serving port known: the default/kubernetes Service is not created")
            return
        yield _ensure(stores["services"], "default",
                      kubernetes_service(first_service_ip(service_cidr), port))
        yield _ensure(stores["endpoints"], "default", kubernetes_endpoints(ip, port))

    return hook
