"""
The KubeAPI server of the chain: the built-in groups and the controllers
that run inside kube-apiserver (the system namespaces).

    install_builtin_apis(kube_server, storage, config, long_running,
                         advertise=lambda: ("127.0.0.1", port))
"""

from kapi_twisted.controlplane.apis import (
    foreign_groups,
    install_builtin_apis,
    install_groups,
    register_openapi,
)
from kapi_twisted.controlplane.system_namespaces import (
    HOOK_NAME,
    SYSTEM_NAMESPACES,
    system_namespaces_hook,
)

__all__ = [
    "HOOK_NAME",
    "SYSTEM_NAMESPACES",
    "foreign_groups",
    "install_builtin_apis",
    "install_groups",
    "register_openapi",
    "system_namespaces_hook",
]
