"""
Cutting off a response that has already started (Go's C{http.ErrAbortHandler}):
HTTP/2 resets just the stream, HTTP/1.1 drops the connection, so the client
sees an incomplete answer instead of a wrong one.
"""

from __future__ import annotations

from typing import Any


def abort_request(request: Any) -> None:
    channel = getattr(request, "channel", None)
    if channel is None:
        return
    # An HTTP/2 stream (twisted.web._http2.H2Stream) resets itself.
    abort = getattr(channel, "abortConnection", None)
    if abort is None:
        transport = getattr(channel, "transport", None)
        abort = getattr(transport, "abortConnection", None)
    if abort is not None:
        abort()
    else:
        channel.loseConnection()
