"""Certificates and the admin kubeconfig (placeholder)."""

from typing import Any


def write_admin_kubeconfig(config: Any, url: str) -> None:
    return None
