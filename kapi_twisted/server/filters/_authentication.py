"""
kube-apiserver's C{WithAuthentication}: the request's user comes from the
authenticator (client certificate, bearer token, or anonymous on the public
paths); on success the C{Authorization} header is removed so nothing later
is tempted to reuse it; otherwise 401 with an C{Unauthorized} Status.

Over HTTP/2, anonymous and refused requests are also marked
C{Connection: close} (kube-apiserver's UnauthenticatedHTTP2DOSMitigation):
the HTTP/2 channel may turn that into a GOAWAY after the answer, so an
unauthenticated client cannot keep a connection with many streams open.
"""

from __future__ import annotations

from typing import Any

from twisted.logger import Logger

from kapi_twisted import apierrors
from kapi_twisted.auth.user import AuthenticationError
from kapi_twisted.server.filters._finish import OnFinish
from kapi_twisted.server.responses import write_error

log = Logger()

_UNAUTHORIZED = apierrors.unauthorized()


class AuthenticationFilter:
    def __init__(self, authenticator: Any) -> None:
        self.authenticator = authenticator

    def __call__(self, request: Any, on_finish: OnFinish) -> bool:
        try:
            user = self.authenticator.authenticate(request)
        except AuthenticationError as e:
            log.info("Unable to authenticate the request: {error}", error=e)
            user = None
        if user is None:
            if request.clientproto == b"HTTP/2":
                request.responseHeaders.setRawHeaders(b"connection", [b"close"])
            write_error(request, _UNAUTHORIZED)
            return False
        if user.is_anonymous and request.clientproto == b"HTTP/2":
            request.responseHeaders.setRawHeaders(b"connection", [b"close"])
        request.user = user
        request.requestHeaders.removeHeader(b"authorization")
        return True
