"""
The checks HTTP/2 asks of a request's header list (RFC 9113 8.2 and 8.3),
made as Go's HTTP/2 server (kube-apiserver's) makes them, in the one pass
that also splits the list into what twisted.web's Request wants.

Why not h2's own inbound validation: it chains seven generators over the
fields and walks every name and value byte by byte in Python (about 15
microseconds a request, some 4% of a create over HTTP/2; this pass takes
3), and it makes every malformed request a connection error, where Go
resets only the stream. What Go does, and so we
do:

  - a field value with a control character other than HTAB, a field name
    that is empty, upper-case or not an RFC 9110 token, a pseudo-header after
    a regular field, a repeated, unknown or response (C{:status}) pseudo-header,
    C{:protocol} (extended CONNECT is not offered), a request without
    C{:method}, C{:path} or an C{http}/C{https} C{:scheme} (CONNECT: without
    C{:path} and C{:scheme}, with C{:authority}), userinfo in C{:authority},
    or a C{:path} Go's C{url.ParseRequestURI} refuses (a control character,
    a broken percent escape, neither "/...", "*" nor "scheme:..."; the
    authority of an absolute URI is not checked further): the stream is
    reset with PROTOCOL_ERROR (L{MalformedRequest});
  - a connection-specific field (Connection, Keep-Alive, Proxy-Connection,
    Transfer-Encoding, Upgrade) or TE other than a single "trailers": the
    request is answered 400 with Go's message, without reaching the API
    (L{RejectedRequest});
  - trailers with a pseudo-header or a bad field: the stream is reset.

Multiple C{cookie} fields are joined with "; " (RFC 9113 8.2.3), and
a non-empty C{:authority} is the request's Host (a C{host} field is then
ignored).
"""

from __future__ import annotations

import re
from typing import Iterable, List, NamedTuple, Optional, Set, Tuple

Header = Tuple[bytes, bytes]

# Go's httpguts.ValidHeaderFieldValue: no control characters but HTAB.
_bad_value = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]").search
# Go's validWireHeaderFieldName: a non-empty token, lower case.
_token_name = re.compile(rb"[-!#$%&'*+.^_`|~0-9a-z]+\Z").match
# url.ParseRequestURI: no control character (HTAB included: the others are
# refused in any value) and each % in the path (before any ?) followed by
# two hex digits.
_bad_escape = re.compile(rb"%(?![0-9A-Fa-f]{2})").search
_scheme = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]*:").match

# Names already found to be tokens (a bound, should a client invent names).
_GOOD_NAMES: Set[bytes] = set()
_MAX_GOOD_NAMES = 1024

# In the order Go checks them (its message names the first one present).
_CONNECTION_FIELDS = (
    (b"connection", "Connection"),
    (b"keep-alive", "Keep-Alive"),
    (b"proxy-connection", "Proxy-Connection"),
    (b"transfer-encoding", "Transfer-Encoding"),
    (b"upgrade", "Upgrade"),
)
# Hop-by-hop fields HTTP/2 forbids (RFC 9113 8.2.2), in requests and responses.
CONNECTION_FIELD_NAMES = frozenset(name for name, _ in _CONNECTION_FIELDS)

# httpguts.ValidTrailerHeader: fields a declared trailer may not carry.
_BAD_TRAILERS = frozenset((
    b"authorization", b"cache-control", b"connection", b"content-encoding",
    b"content-length", b"content-range", b"content-type", b"expect", b"host",
    b"keep-alive", b"max-forwards", b"pragma", b"proxy-authenticate",
    b"proxy-authorization", b"proxy-connection", b"range", b"realm", b"te",
    b"trailer", b"transfer-encoding", b"www-authenticate",
))


class MalformedRequest(Exception):
    """The stream is to be reset with PROTOCOL_ERROR; the reason is for logs."""


class RejectedRequest(Exception):
    """The request is to be answered 400 with C{message} (Go's text) as its body."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RequestHead(NamedTuple):
    """A well-formed request's pseudo-headers and regular fields."""

    method: bytes
    path: bytes
    authority: Optional[bytes]
    fields: List[Header]


def _name_ok(name: bytes) -> bool:
    if name in _GOOD_NAMES:
        return True
    if _token_name(name) is None:
        return False
    if len(_GOOD_NAMES) >= _MAX_GOOD_NAMES:
        _GOOD_NAMES.clear()
    _GOOD_NAMES.add(name)
    return True


def _path_ok(path: bytes) -> bool:
    """What Go's url.ParseRequestURI accepts as a request target (a valid value)."""
    if b"\t" in path:
        return False
    if path[:1] != b"/":
        # "*" (OPTIONS) or an absolute URI (scheme first).
        return path == b"*" or _scheme(path) is not None
    if b"%" in path:
        return _bad_escape(path.partition(b"?")[0]) is None
    return True


def read_request_head(headers: Iterable[Header]) -> RequestHead:
    """
    Check a request's header list and split it.

    @raise MalformedRequest: the stream is to be reset (PROTOCOL_ERROR).
    @raise RejectedRequest: the request is to be answered 400.
    """
    method = path = scheme = authority = protocol = None
    fields: List[Header] = []
    cookies: Optional[List[bytes]] = None
    connection: Optional[Set[bytes]] = None
    te: Optional[List[bytes]] = None
    regular = False
    for name, value in headers:
        if value and _bad_value(value) is not None:
            raise MalformedRequest(f"invalid value for {name!r}")
        if name[:1] == b":":
            if regular:
                raise MalformedRequest("pseudo-header field after regular")
            if name == b":method":
                if method is not None:
                    raise MalformedRequest("duplicate :method")
                method = value
            elif name == b":path":
                if path is not None:
                    raise MalformedRequest("duplicate :path")
                path = value
            elif name == b":scheme":
                if scheme is not None:
                    raise MalformedRequest("duplicate :scheme")
                scheme = value
            elif name == b":authority":
                if authority is not None:
                    raise MalformedRequest("duplicate :authority")
                authority = value
            elif name == b":protocol":
                # Extended CONNECT (RFC 8441) is not offered.
                if protocol is not None:
                    raise MalformedRequest("duplicate :protocol")
                protocol = value
            else:
                # :status included: a request's block cannot carry it.
                raise MalformedRequest(f"invalid pseudo-header {name!r}")
            continue
        regular = True
        if name not in _GOOD_NAMES and not _name_ok(name):
            raise MalformedRequest(f"invalid field name {name!r}")
        if name == b"cookie":
            if cookies is None:
                cookies = []
            cookies.append(value)
        elif name in CONNECTION_FIELD_NAMES:
            if connection is None:
                connection = set()
            connection.add(name)
        elif name == b"te":
            if te is None:
                te = []
            te.append(value)
            fields.append((name, value))
        elif name == b"host" and authority:
            pass  # :authority is the Host
        else:
            fields.append((name, value))
    if protocol is not None:
        raise MalformedRequest(":protocol in a request")
    if method == b"CONNECT":
        if path is not None or scheme is not None or not authority:
            raise MalformedRequest("malformed CONNECT")
        path = b""
    elif not method or not path or (scheme != b"https" and scheme != b"http"):
        raise MalformedRequest("missing or empty :method, :path or :scheme")
    elif (authority is not None and b"@" in authority) or not _path_ok(path):
        raise MalformedRequest("userinfo in :authority, or a bad :path")
    if connection is not None:
        for name, canonical in _CONNECTION_FIELDS:
            if name in connection:
                raise RejectedRequest(f'request header "{canonical}" is not valid in HTTP/2')
    if te is not None and (len(te) > 1 or te[0] not in (b"trailers", b"")):
        raise RejectedRequest('request header "TE" may only be "trailers" in HTTP/2')
    if cookies is not None:
        fields.append((b"cookie", b"; ".join(cookies)))
    return RequestHead(method, path, authority, fields)


def check_trailers(headers: Iterable[Header], declared: bool) -> None:
    """
    Check a request's trailers; C{declared} says whether the request named
    them in a C{Trailer} field (Go then also refuses fields such as
    C{content-length} there).

    @raise MalformedRequest: the stream is to be reset (PROTOCOL_ERROR).
    """
    for name, value in headers:
        if name[:1] == b":":
            raise MalformedRequest("pseudo-header in trailers")
        if value and _bad_value(value) is not None:
            raise MalformedRequest(f"invalid value for {name!r}")
        if not _name_ok(name):
            raise MalformedRequest(f"invalid field name {name!r}")
        if declared and (name in _BAD_TRAILERS or name[:3] == b"if-"):
            raise MalformedRequest(f"{name!r} is not allowed in trailers")


def declares_trailers(values: Optional[Iterable[bytes]]) -> bool:
    """Whether C{Trailer} field values name a trailer Go would keep."""
    for value in values or ():
        for key in value.split(b","):
            key = key.strip(b" \t").lower()
            if key not in (b"transfer-encoding", b"trailer", b"content-length"):
                return True
    return False
