"""
LIST continue tokens in kube-apiserver's format: unpadded base64url of
C{{"v":"meta.k8s.io/v1","rv":<revision>,"start":"<next key>"}}, the key
relative to the collection's prefix. C{rv} -1 marks an "inconsistent"
token that continues at the newest revision (offered when the snapshot expired).
"""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
from typing import Tuple

TOKEN_VERSION = "meta.k8s.io/v1"


class InvalidToken(ValueError):
    """A token that cannot be decoded; C{str()} is kube's reason text."""


def encode_continue(next_key: str, prefix: str, revision: int) -> str:
    """The token resuming at C{next_key} (a full key under C{prefix}) at C{revision}."""
    start = next_key[len(prefix):] if next_key.startswith(prefix) else next_key
    body = json.dumps({"v": TOKEN_VERSION, "rv": revision, "start": start},
                      separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).rstrip(b"=").decode()


def decode_continue(token: str, prefix: str) -> Tuple[str, int]:
    """(full start key, revision) of C{token}; L{InvalidToken} if it is not one of ours."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = base64.urlsafe_b64decode(padded.encode())
    except (binascii.Error, ValueError) as e:
        raise InvalidToken(f"continue key is not valid: {e}")
    try:
        decoded = json.loads(data)
    except ValueError as e:
        raise InvalidToken(f"continue key is not valid: {e}")
    if not isinstance(decoded, dict) or decoded.get("v") != TOKEN_VERSION:
        version = decoded.get("v", "") if isinstance(decoded, dict) else ""
        raise InvalidToken(
            "continue key is not valid: server does not recognize this encoded version "
            + json.dumps(version))
    rv = decoded.get("rv")
    if not isinstance(rv, int) or rv == 0:
        raise InvalidToken(
            "continue key is not valid: incorrect encoded start resourceVersion "
            "(version meta.k8s.io/v1)")
    start = decoded.get("start")
    if not isinstance(start, str) or not start:
        raise InvalidToken(
            "continue key is not valid: encoded start key empty (version meta.k8s.io/v1)")
    key = start if start.startswith("/") else "/" + start
    if posixpath.normpath(key) != key and not (key.endswith("\x00") and
                                                posixpath.normpath(key[:-1]) == key[:-1]):
        raise InvalidToken(f"continue key is not valid: {start}")
    return prefix + key[1:], rv
