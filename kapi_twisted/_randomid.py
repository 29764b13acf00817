"""
Random (version 4) UUIDs as text, for object UIDs and audit IDs, from
C{os.urandom} read a few kilobytes at a time: one system call per 256 IDs
instead of one per ID (C{uuid.uuid4} makes one each time, and builds a
UUID object besides). The bytes are the same kernel randomness.
"""

from __future__ import annotations

import os
import threading

_PER_READ = 256
_pool = b""
_at = 0
_lock = threading.Lock()


def random_uuid() -> str:
    """A fresh random UUID, e.g. C{'6b3e0a6c-5f1e-4b7a-9c2d-0e8f1a2b3c4d'}."""
    global _pool, _at
    with _lock:
        if _at >= len(_pool):
            _pool, _at = os.urandom(16 * _PER_READ), 0
        raw = bytearray(_pool[_at : _at + 16])
        _at += 16
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
