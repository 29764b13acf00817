"""
Request bodies over 3 MiB are refused with 413 (kube-apiserver's
C{MaxRequestBodyBytes}), by the declared C{Content-Length} and by what
actually arrived (a chunked body declares nothing).
"""

from __future__ import annotations

import os
from typing import Any

from kapi_twisted import apierrors
from kapi_twisted.server.filters._finish import OnFinish
from kapi_twisted.server.responses import write_error

MAX_REQUEST_BODY_BYTES = apierrors.MAX_REQUEST_BODY_BYTES


def body_size(request: Any) -> int:
    """The number of body bytes the request carries (declared or received)."""
    if getattr(request, "body_too_large", False):
        return MAX_REQUEST_BODY_BYTES + 1
    declared = request.getHeader(b"content-length")
    size = 0
    if declared:
        try:
            size = int(declared)
        except ValueError:
            size = 0
    content = request.content
    if content is not None:
        position = content.tell()
        received = content.seek(0, os.SEEK_END)
        content.seek(position)
        size = max(size, received)
    return size


class BodyLimitFilter:
    def __init__(self, limit: int = MAX_REQUEST_BODY_BYTES) -> None:
        self.limit = limit
        self._error = apierrors.request_entity_too_large(
            f"Request entity too large: limit is {limit}")

    def __call__(self, request: Any, on_finish: OnFinish) -> bool:
        if body_size(request) > self.limit:
            write_error(request, self._error)
            return False
        return True
