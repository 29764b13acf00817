"""
OpenAPI: what the servers register, published at C{/openapi/v2} and
C{/openapi/v3} (placeholder registry; see the OpenAPI issue).
"""

from __future__ import annotations

from typing import Any, Callable, Dict


class OpenAPIRegistry:
    """Group-version documents a server publishes, built lazily."""

    def __init__(self) -> None:
        self.v3: Dict[str, Callable[[], dict]] = {}

    def add_v3(self, gv_path: str, build: Callable[[], dict]) -> None:
        self.v3[gv_path] = build


def install_openapi(server: Any) -> None:
    return None
