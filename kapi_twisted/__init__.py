"""
kapi-twisted: a Kubernetes API server on Twisted.

The public embedding API lives in L{kapi_twisted.testing}; the twistd plugin
in L{kapi_twisted.tap}.
"""

__version__ = "0.1.0"
