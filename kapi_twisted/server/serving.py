"""
Secure serving (placeholder: plain TCP only until TLS + HTTP/2 land).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from twisted.application.service import Service
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import serverFromString
from twisted.web.server import Site

from kapi_twisted.server.request import APIRequest


class SecureServing(Service):
    def __init__(self, config: Any, resource: Any, lifecycle: Any, reactor: Any,
                 start_after: Optional[Callable[[], Deferred]] = None) -> None:
        self.config = config
        self.resource = resource
        self.lifecycle = lifecycle
        self.reactor = reactor
        self.start_after = start_after
        self.port: Any = None
        self.listening: Deferred = Deferred()
        self.site = Site(resource)
        self.site.requestFactory = APIRequest
        self.site.displayTracebacks = False

    def startService(self) -> None:
        super().startService()
        d = self.start_after() if self.start_after else succeed(None)
        d.addCallback(lambda _: serverFromString(self.reactor, self.config.port).listen(self.site))

        def listening(port: Any) -> Any:
            self.port = port
            self.listening.callback(port)
            return port

        d.addCallback(listening)
        d.addErrback(self.listening.errback)

    def url(self) -> str:
        host = self.port.getHost()
        return f"http://{host.host}:{host.port}"

    def stop_listening(self) -> Deferred:
        if self.port is None:
            return succeed(None)
        return self.port.stopListening()

    def close_connections(self) -> None:
        return None
