"""
Small request/answer helpers shared by the handlers.
"""

from __future__ import annotations

from typing import Any

from kapi_twisted import apierrors
from kapi_twisted.endpoints.negotiation import Output
from kapi_twisted.server.responses import Response


def header(request: Any, name: bytes) -> str:
    """One request header as text ("" when absent)."""
    value = request.getHeader(name)
    return value if isinstance(value, str) else (value or b"").decode("latin-1")


def read_body(request: Any) -> bytes:
    """The request body; 413 beyond kube-apiserver's 3 MiB limit."""
    content = getattr(request, "content", None)
    if content is None:
        return b""
    content.seek(0)
    body = content.read(apierrors.MAX_REQUEST_BODY_BYTES + 1)
    if len(body) > apierrors.MAX_REQUEST_BODY_BYTES:
        raise apierrors.request_entity_too_large()
    return body


def body_response(data: bytes, output: Output) -> Response:
    """A 200 answer in the negotiated media type."""
    return Response(data, 200, output.media)
