"""
Header storage without twisted.web's per-call work for values that need none.

twisted.web's L{Headers} canonicalises the name (C{_NameEncoder.encode}) and
replaces line breaks in every value (C{_sanitizeLinearWhitespace}: a split
and a join) on every C{setRawHeaders}/C{addRawHeader}. The headers kapi sets
on a response are bytes without line breaks, and those the HTTP/1.1 channel
stores have been checked already, so both steps change nothing there but
cost a few microseconds per request.

L{ResponseHeaders} stores such values directly under the name twisted.web
would have chosen (asked of twisted.web once per name), and leaves anything
else to twisted.web; what is stored, and so what goes on the wire, is the
same. L{add_checked} does the same for a request header.

This relies on C{Headers._rawHeaders} (name -> list of values, present
throughout Twisted's history) and C{twisted.web.http_headers._nameEncoder}
(from Twisted 24.7); without the latter everything goes through twisted.web.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence

from twisted.web import http_headers
from twisted.web.http_headers import Headers

_encode: Optional[Callable[[bytes], bytes]] = getattr(
    getattr(http_headers, "_nameEncoder", None), "encode", None)

# name as given -> canonical name; bounded (names come from kapi's own code
# for responses, but request header names come from clients).
_canonical: Dict[bytes, bytes] = {}
_MAX_NAMES = 1000


def _canonical_name(name: bytes) -> Optional[bytes]:
    found = _canonical.get(name)
    if found is None and _encode is not None and len(_canonical) < _MAX_NAMES:
        found = _canonical[name] = _encode(name)  # raises for a name that is no token
    return found


class ResponseHeaders(Headers):
    """L{Headers} whose C{setRawHeaders} stores plain bytes values directly."""

    def setRawHeaders(self, name: Any, values: Sequence[Any]) -> None:
        if name.__class__ is bytes:
            for value in values:
                if value.__class__ is not bytes or b"\n" in value or b"\r" in value:
                    break
            else:
                canonical = _canonical.get(name) or _canonical_name(name)
                if canonical is not None:
                    self._rawHeaders[canonical] = list(values)
                    return
        super().setRawHeaders(name, values)


def add_checked(headers: Headers, name: bytes, value: bytes) -> None:
    """
    C{headers.addRawHeader(name, value)} for a token C{name} and a C{value}
    known to hold no CR or LF.
    """
    canonical = _canonical.get(name) or _canonical_name(name)
    if canonical is None:
        headers.addRawHeader(name, value)
        return
    raw = headers._rawHeaders
    values = raw.get(canonical)
    if values is None:
        raw[canonical] = [value]
    else:
        values.append(value)
