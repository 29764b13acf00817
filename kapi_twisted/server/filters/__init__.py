"""
The filter chain around the outermost server (kube-apiserver's
C{DefaultBuildHandlerChain}): see L{kapi_twisted.server.filters._chain} for
the order and the filter contract.
"""

from kapi_twisted.server.filters._abort import abort_request
from kapi_twisted.server.filters._authorization import (
    ALLOW,
    DENY,
    NO_OPINION,
    AuthorizationFilter,
    Authorizer,
    forbidden,
)
from kapi_twisted.server.filters._bodylimit import MAX_REQUEST_BODY_BYTES
from kapi_twisted.server.filters._chain import PANIC_MESSAGE, HandlerChain, build_handler_chain
from kapi_twisted.server.filters._deadline import TIMEOUT_BODY
from kapi_twisted.server.filters._inflight import TOO_MANY_REQUESTS
from kapi_twisted.server.filters._waitgroup import exempt_from_shutdown

__all__ = [
    "ALLOW",
    "DENY",
    "NO_OPINION",
    "AuthorizationFilter",
    "Authorizer",
    "forbidden",
    "HandlerChain",
    "MAX_REQUEST_BODY_BYTES",
    "PANIC_MESSAGE",
    "TIMEOUT_BODY",
    "TOO_MANY_REQUESTS",
    "abort_request",
    "build_handler_chain",
    "exempt_from_shutdown",
]
