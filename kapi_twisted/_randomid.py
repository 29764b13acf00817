"""
Random (version 4) UUIDs as text, for object UIDs and audit IDs, from
C{os.urandom} read a few kilobytes at a time: one system call per 256 IDs
instead of one per ID (C{uuid.uuid4} makes one each time, and builds a
UUID object besides). The bytes are the same kernel randomness.

Each read is turned into hex text at once (one C{bytes.hex} per 256 IDs);
an ID is then 32 of those hex digits with the version nibble replaced by
C{4} and the variant nibble's top two bits set to C{10} (RFC 9562), which
on a hex digit is a table look-up.
"""

from __future__ import annotations

import os
import threading

_PER_READ = 256
_HEX_PER_ID = 32
# A hex digit with its top two bits set to 10: its low two bits, plus 8.
_VARIANT = {f"{n:x}": f"{8 | (n & 3):x}" for n in range(16)}
_pool = ""
_at = 0
_lock = threading.Lock()


def random_uuid() -> str:
    """A fresh random UUID, e.g. C{'6b3e0a6c-5f1e-4b7a-9c2d-0e8f1a2b3c4d'}."""
    global _pool, _at
    with _lock:
        at = _at
        if at >= len(_pool):
            _pool, at = os.urandom(16 * _PER_READ).hex(), 0
        h = _pool[at : at + _HEX_PER_ID]
        _at = at + _HEX_PER_ID
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"
