"""
Signals as kube-apiserver handles them: the first SIGTERM or SIGINT starts
graceful termination and the process then exits 0; a second one exits 1 at
once (C{pkg/server/signal.go}).

twistd's own handlers re-raise the signal once the reactor stops, so the
process would die "by SIGTERM" instead of exiting 0; these handlers replace
them once the reactor runs.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from twisted.logger import Logger

log = Logger()


def install_shutdown_handlers(reactor: Any) -> None:
    """Replace the reactor's SIGTERM/SIGINT handlers (call once it runs)."""
    received = []

    def handler(signum: int, frame: Any) -> None:
        if received:
            log.warn("Received a second signal {signum}, exiting at once", signum=signum)
            os._exit(1)
        received.append(signum)
        log.info("Received signal {signum}, shutting down gracefully", signum=signum)
        reactor.callFromThread(reactor.stop)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)
