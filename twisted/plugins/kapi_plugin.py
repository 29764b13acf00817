"""The twistd plugin: C{twistd kapi}."""

from twisted.application.service import ServiceMaker

kapi = ServiceMaker(
    "kapi", "kapi_twisted.tap", "A Kubernetes API server on Twisted.", "kapi"
)
