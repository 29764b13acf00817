"""
Anonymous access, first cut: until authorization (RBAC) exists, a request
without credentials is let in only for the paths kube-apiserver's default
policy opens to C{system:unauthenticated} (C{system:public-info-viewer}):
the health endpoints and C{/version}. Anything else is 401, as with
kube-apiserver's anonymous authenticator restricted to endpoint conditions.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Tuple

from kapi_twisted.auth.user import ANONYMOUS, UserInfo

PUBLIC_PATHS: Tuple[str, ...] = ("/healthz", "/livez", "/readyz", "/version")
"""Open to anonymous requests, with their subpaths (C{/readyz/ping})."""


class AnonymousAuthenticator:
    """Authenticates requests for C{paths} (and below them) as C{system:anonymous}."""

    def __init__(self, paths: Iterable[str] = PUBLIC_PATHS) -> None:
        self.paths = tuple(p.rstrip("/") for p in paths)
        self._prefixes = tuple(p + "/" for p in self.paths)

    def allows(self, path: str) -> bool:
        return path in self.paths or path.startswith(self._prefixes)

    def authenticate(self, request: Any) -> Optional[UserInfo]:
        path = request.path
        if isinstance(path, bytes):
            path = path.decode("latin-1")
        return ANONYMOUS if self.allows(path) else None
