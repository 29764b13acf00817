"""
The HTTP side of the Kubernetes REST API: routing inside a group-version,
verb handlers over an L{kapi_twisted.registry.interface.IResourceStore},
query options, content negotiation, watch streams and discovery documents.

    from kapi_twisted.endpoints import install_group_version, discovery_registry_of
"""

from kapi_twisted.endpoints.discovery import DiscoveryRegistry, discovery_registry_of
from kapi_twisted.endpoints.installer import install_group_version

__all__ = ["DiscoveryRegistry", "discovery_registry_of", "install_group_version"]
