"""
The aggregator server's part of the API: discovery at C{/api} and C{/apis}
for the whole chain (legacy and aggregated), merged from every server's
discovery registry (L{kapi_twisted.endpoints.discovery.discovery_registry_of}).
"""

from kapi_twisted.aggregator.discovery import RootDiscovery, install_root_discovery

__all__ = ["RootDiscovery", "install_root_discovery"]
