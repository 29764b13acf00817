"""
Health endpoints: C{/healthz}, C{/livez}, C{/readyz} (placeholder; see the
health issue for the exact formats).
"""

from __future__ import annotations

from typing import Any, List

from twisted.internet.defer import inlineCallbacks

from kapi_twisted.server.generic import GenericAPIServer, HealthCheck
from kapi_twisted.server.responses import APIResource, Response, TEXT


def _ping() -> None:
    return None


class HealthResource(APIResource):
    def __init__(self, endpoint: str, checks: List[HealthCheck]) -> None:
        super().__init__()
        self.endpoint = endpoint
        self.checks = checks

    @inlineCallbacks
    def handle(self, request: Any) -> Any:
        lines = []
        ok = True
        for check in self.checks:
            try:
                yield check.run()
                lines.append(f"[+]{check.name} ok\n")
            except Exception:
                ok = False
                lines.append(f"[-]{check.name} failed: reason withheld\n")
        if ok:
            return Response(b"ok", 200, TEXT, {"X-Content-Type-Options": "nosniff"})
        body = "".join(lines) + f"{self.endpoint} check failed\n"
        return Response(body.encode(), 500, TEXT, {"X-Content-Type-Options": "nosniff"})


def install_health(server: GenericAPIServer) -> None:
    base = [HealthCheck("ping", _ping)]
    checks = base + server.all_healthz_checks() + server.post_start_hook_checks()
    server.install("/healthz", HealthResource("healthz", checks))
    server.install("/livez", HealthResource("livez", checks + server.livez_checks))

    def shutdown() -> None:
        if server.lifecycle.shutdown_initiated.fired:
            raise RuntimeError("process is shutting down")

    ready = checks + server.readyz_checks + [HealthCheck("shutdown", shutdown)]
    server.install("/readyz", HealthResource("readyz", ready))
