"""
The syntax checks of an HTTP/1.1 request head, as plain functions.

L{kapi_twisted.server.http1.HTTP11Channel} parses a request's whole header
block in one pass; these are the per-line rules it applies, the same ones
twisted.web's C{HTTPChannel} (Twisted 26.10) enforces line by line, written
with C{bytes.translate} so that a check is one C call instead of a Python
loop over the characters:

 - request line: exactly C{method SP target SP version}; the method a token;
   the target non-empty, of bytes 33..176 (twisted.web's range); the
   version C{HTTP/1.0} or C{HTTP/1.1};
 - header names: tokens (RFC 9110 5.1);
 - header values: no NUL, CR or LF once the surrounding spaces and tabs are
   stripped (RFC 9110 5.5).

Keeping them here, rather than calling twisted.web's private helpers, makes
the channel behave the same on every Twisted that setup.py allows (23.10,
for one, had none of the token checks).
"""

from __future__ import annotations

from typing import Dict, Optional, Set, Tuple

_TCHAR = (
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    b"!#$%&'*+-.^_`|~"
)
# twisted.web accepts request-target bytes 33..176 (sic: its test is "c > 176").
_TARGET = bytes(range(33, 177))
_VERSIONS = (b"HTTP/1.1", b"HTTP/1.0")

# What a header name means to the channel.
PLAIN = 0
CONTENT_LENGTH = 1
TRANSFER_ENCODING = 2

_MAX_CACHED_NAMES = 10_000
_kinds: Dict[bytes, int] = {}
# Methods known to be tokens (bounded like the names).
_MAX_CACHED_METHODS = 1_000
_methods: Set[bytes] = set()


def parse_request_line(line: bytes) -> Optional[Tuple[bytes, bytes, bytes]]:
    """
    C{(method, target, version)} of a request line, or C{None} when it is
    malformed (the channel answers 400).
    """
    parts = line.split(b" ")
    if len(parts) != 3:
        return None
    method, target, version = parts
    if method not in _methods:
        if not method or method.translate(None, _TCHAR):
            return None
        if len(_methods) < _MAX_CACHED_METHODS:
            _methods.add(method)
    if not target or target.translate(None, _TARGET) or version not in _VERSIONS:
        return None
    return method, target, version


def header_kind(name: bytes) -> Optional[int]:
    """
    L{PLAIN}, L{CONTENT_LENGTH} or L{TRANSFER_ENCODING} for a header name as
    received, or C{None} when it is not a token. Answers are cached (up to
    a bound, so that made-up names cannot grow the cache without end).
    """
    kind = _kinds.get(name)
    if kind is not None:
        return kind
    if not name or name.translate(None, _TCHAR):
        return None
    lower = name.lower()
    if lower == b"content-length":
        kind = CONTENT_LENGTH
    elif lower == b"transfer-encoding":
        kind = TRANSFER_ENCODING
    else:
        kind = PLAIN
    if len(_kinds) < _MAX_CACHED_NAMES:
        _kinds[name] = kind
    return kind


def valid_value(value: bytes) -> bool:
    """A (stripped) header value holds no NUL, CR or LF."""
    return b"\n" not in value and b"\r" not in value and b"\x00" not in value
