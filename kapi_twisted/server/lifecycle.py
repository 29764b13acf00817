"""
Lifecycle signals: named, one-shot events that other code waits on.

kube-apiserver coordinates start-up and graceful termination through channels
that are closed once (C{lifecycle_signals.go}); here each is a L{Signal} whose
L{Signal.when_fired} hands out a fresh Deferred.
"""

from __future__ import annotations

from typing import List

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger

log = Logger()


class Signal:
    """
    A one-shot, idempotent event.

    @ivar name: the name logged when it fires (kube-apiserver's signal name).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._fired = False
        self._waiters: List[Deferred] = []

    @property
    def fired(self) -> bool:
        return self._fired

    def fire(self) -> None:
        """Fire the signal; later calls do nothing."""
        if self._fired:
            return
        self._fired = True
        log.info("[graceful-termination] shutdown event name={name}", name=self.name)
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.callback(None)

    def when_fired(self) -> Deferred:
        """A new Deferred that fires (with None) once the signal has fired."""
        if self._fired:
            return succeed(None)
        d: Deferred = Deferred()
        self._waiters.append(d)
        return d

    def __repr__(self) -> str:
        return f"<Signal {self.name} fired={self._fired}>"


class LifecycleSignals:
    """The signals of one server process, shared by every server in the chain."""

    def __init__(self) -> None:
        self.shutdown_initiated = Signal("ShutdownInitiated")
        self.after_shutdown_delay_duration = Signal("AfterShutdownDelayDuration")
        self.pre_shutdown_hooks_stopped = Signal("PreShutdownHooksStopped")
        self.not_accepting_new_requests = Signal("NotAcceptingNewRequest")
        self.in_flight_requests_drained = Signal("InFlightRequestsDrained")
        self.http_server_stopped_listening = Signal("HTTPServerStoppedListening")
        self.has_been_ready = Signal("HasBeenReady")
        self.mux_and_discovery_complete = Signal("MuxAndDiscoveryComplete")
