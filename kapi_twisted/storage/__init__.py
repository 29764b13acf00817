"""
Storage: an etcd3-shaped key-value contract, its backends, and the watch cache.

See L{kapi_twisted.storage.interface} for the contract every backend keeps.
"""
