"""
The etcd v3 JSON gateway's wire format: base64 keys and values, string
integers, error bodies, and which failures mean "could not connect".
"""

from __future__ import annotations

import base64
import json

from twisted.internet.error import ConnectError, ConnectingCancelledError, DNSLookupError

from ._index import prefix_end
from .interface import (
    CompactedError,
    FutureRevisionError,
    KeyValue,
    StorageError,
    UnavailableError,
)

# Nothing was sent: the next server may be tried.
CONNECT_ERRORS = (ConnectError, ConnectingCancelledError, DNSLookupError)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def key64(key: str) -> str:
    return base64.b64encode(key.encode("utf-8")).decode("ascii")


def range_end64(prefix: str) -> str:
    end = prefix_end(prefix)
    return key64(end) if end is not None else b64(b"\0")


def kv_from(d: dict) -> KeyValue:
    return KeyValue(
        base64.b64decode(d["key"]).decode("utf-8"),
        base64.b64decode(d.get("value", "")),
        int(d.get("mod_revision", 0)),
        int(d.get("create_revision", 0)),
    )


def revision_of(response: dict) -> int:
    return int(response.get("header", {}).get("revision", 0))


class EtcdError(StorageError):
    """etcd answered with an error we have no better name for."""


def error_from(status: int, body: bytes, requested: int = 0) -> StorageError:
    try:
        parsed = json.loads(body)
        message = parsed.get("message") or parsed.get("error") or ""
        code = parsed.get("code", 0)
    except ValueError:
        message, code = body[:200].decode("utf-8", "replace"), 0
    if "required revision has been compacted" in message:
        return CompactedError(requested, 0)
    if "required revision is a future revision" in message:
        return FutureRevisionError(requested, 0)
    if code in (4, 14) or status in (502, 503, 504) or "leader" in message:
        return UnavailableError(f"etcd: {message or status}")
    return EtcdError(f"etcd: {message or status}")


def decode_key(kv: dict) -> str:
    return base64.b64decode(kv["key"]).decode("utf-8")
