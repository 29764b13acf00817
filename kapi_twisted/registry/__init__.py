"""
The registry: one generic store over the storage contract, with small
per-kind strategies (scope, defaulting, validation, status/spec split, field
selectors). The seam to HTTP handlers is L{kapi_twisted.registry.interface}.
"""
