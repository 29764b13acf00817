"""
The generic API server: the server chain, prepare-run, secure serving,
filters, health, OpenAPI and graceful termination (k8s.io/apiserver's
C{pkg/server}, in Twisted).
"""
