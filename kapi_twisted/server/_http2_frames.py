"""
HTTP/2 frames (RFC 9113 sections 4 and 6): the fixed 9-octet frame header,
the frame types, flags, settings and limits, and builders for the frames
the server sends.

Frames are read by L{kapi_twisted.server.http2} straight off the header
(a create over HTTP/2 is three to five frames, and building an object per
frame cost more than handling it); this module only names what the wire
carries and writes it.
"""

from __future__ import annotations

import struct
from typing import Iterable, Tuple

from h2.errors import ErrorCodes

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# The 24-bit length as 16 + 8 bits, type, flags, reserved bit + stream id.
FRAME_HEADER = struct.Struct(">HBBBL")
FRAME_HEADER_SIZE = 9

# Frame types (RFC 9113 6).
DATA = 0x0
HEADERS = 0x1
PRIORITY = 0x2
RST_STREAM = 0x3
SETTINGS = 0x4
PUSH_PROMISE = 0x5
PING = 0x6
GOAWAY = 0x7
WINDOW_UPDATE = 0x8
CONTINUATION = 0x9
FRAME_TYPES = 10  # types at or above this are unknown and ignored

# Flags.
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20

# Settings identifiers (RFC 9113 6.5.2).
HEADER_TABLE_SIZE = 0x1
ENABLE_PUSH = 0x2
MAX_CONCURRENT_STREAMS = 0x3
INITIAL_WINDOW_SIZE = 0x4
MAX_FRAME_SIZE = 0x5
MAX_HEADER_LIST_SIZE = 0x6

# Limits.
DEFAULT_WINDOW = 65535
MAX_WINDOW = (1 << 31) - 1
DEFAULT_MAX_FRAME_SIZE = 16384
LARGEST_MAX_FRAME_SIZE = (1 << 24) - 1
STREAM_ID_MASK = 0x7FFFFFFF

_U32 = struct.Struct(">L")
_SETTING = struct.Struct(">HL")
_GOAWAY = struct.Struct(">LL")


class ConnectionError(Exception):
    """The connection is to end with GOAWAY carrying C{code} (RFC 9113 5.4.1)."""

    def __init__(self, code: ErrorCodes, reason: str) -> None:
        super().__init__(reason)
        self.code = code


class StreamError(Exception):
    """Stream C{stream_id} is to be reset with C{code} (RFC 9113 5.4.2)."""

    def __init__(self, stream_id: int, code: ErrorCodes, reason: str) -> None:
        super().__init__(reason)
        self.stream_id = stream_id
        self.code = code


def frame_header(frame_type: int, flags: int, stream_id: int, length: int) -> bytes:
    """The 9 octets in front of a payload of C{length} octets."""
    return FRAME_HEADER.pack(length >> 8, length & 0xFF, frame_type, flags, stream_id)


def frame(frame_type: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """A whole frame."""
    n = len(payload)
    return FRAME_HEADER.pack(n >> 8, n & 0xFF, frame_type, flags, stream_id) + payload


def settings_frame(values: Iterable[Tuple[int, int]]) -> bytes:
    return frame(SETTINGS, 0, 0, b"".join(_SETTING.pack(k, v) for k, v in values))


def settings_ack() -> bytes:
    return frame(SETTINGS, ACK, 0)


def window_update(stream_id: int, increment: int) -> bytes:
    return frame(WINDOW_UPDATE, 0, stream_id, _U32.pack(increment))


def rst_stream(stream_id: int, code: int) -> bytes:
    return frame(RST_STREAM, 0, stream_id, _U32.pack(code))


def goaway(last_stream_id: int, code: int, debug: bytes = b"") -> bytes:
    return frame(GOAWAY, 0, 0, _GOAWAY.pack(last_stream_id, code) + debug)


def ping_ack(opaque: bytes) -> bytes:
    return frame(PING, ACK, 0, opaque)


def read_u32(payload: bytes, offset: int = 0) -> int:
    return _U32.unpack_from(payload, offset)[0]


def read_settings(payload: bytes) -> Iterable[Tuple[int, int]]:
    """The (identifier, value) pairs of a SETTINGS payload (a multiple of 6 octets)."""
    return _SETTING.iter_unpack(payload)
