"""
The string formats kube-apiserver checks in custom objects (kube-openapi's
C{strfmt.Default} registry, restricted to the formats CRD schemas support).

The checks follow the Go parsers they stand for (C{net.ParseIP},
C{net.ParseCIDR}, C{net.ParseMAC}, C{net/mail}, C{time.ParseDuration}, RFC
3339 dates); where a Go library's corner cases are not worth copying the
check errs on the side of accepting.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from email.utils import parseaddr
from typing import Callable, Dict

__all__ = ["FORMAT_CHECKS", "check_format"]

_HOSTNAME = re.compile(
    r"^([a-zA-Z0-9\u00a1-\uffff]((-?[a-zA-Z0-9\u00a1-\uffff]{0,62})?)|"
    r"([a-zA-Z0-9\u00a1-\uffff](([a-zA-Z0-9\-\u00a1-\uffff]{0,61}[a-zA-Z0-9\u00a1-\uffff])?)(\.)){1,}"
    r"([a-zA-Z0-9\u00a1-\uffff])(-?[a-zA-Z0-9\u00a1-\uffff]){1,62})$"
)
_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.I)
_UUID3 = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.I)
_UUID4 = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$", re.I)
_UUID5 = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$", re.I)
_BSON = re.compile(r"^[0-9a-fA-F]{24}$")
_MAC = re.compile(
    r"^([0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\2){4,18}[0-9A-Fa-f]{2}|"
    r"[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}(?:\.[0-9A-Fa-f]{4}){0,4})$"
)
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$"
)
_DURATION_GO = re.compile(r"^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$")
_DURATION_SCALA = re.compile(
    r"^\s*(\d+)\s*(ns|nano|nanos|nanosecond|nanoseconds|us|micro|micros|microsecond|"
    r"microseconds|ms|milli|millis|millisecond|milliseconds|s|sec|secs|second|seconds|"
    r"m|min|mins|minute|minutes|h|hr|hour|hours|d|day|days|w|wk|week|weeks)\s*$"
)
_HEXCOLOR = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_RGBCOLOR = re.compile(
    r"^rgb\(\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])"
    r"\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*\)$"
)
_SSN = re.compile(r"^\d{3}[- ]?\d{2}[- ]?\d{4}$")
_CREDITCARD = re.compile(
    r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|(222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|"
    r"27[01][0-9]|2720)[0-9]{12}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|"
    r"3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11}|6[27][0-9]{14})$"
)
_QUANTITY = re.compile(
    r"^[+-]?(\d+(\.\d*)?|\.\d+)(([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$"
)
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def _ipv4(s: str) -> bool:
    try:
        ipaddress.IPv4Address(s)
        return True
    except ValueError:
        return False


def _ipv6(s: str) -> bool:
    # govalidator.IsIPv6: net.ParseIP succeeds and the text has a colon.
    if ":" not in s:
        return False
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


def _cidr(s: str) -> bool:
    if "/" not in s:
        return False
    try:
        ipaddress.ip_interface(s)
        return True
    except ValueError:
        return False


def _hostname(s: str) -> bool:
    if not _HOSTNAME.match(s) or len(s) > 255:
        return False
    return all(len(p) <= 63 for p in s.split("."))


def _email(s: str) -> bool:
    name, addr = parseaddr(s)
    return bool(addr) and "@" in addr and not addr.startswith("@") and not addr.endswith("@")


def _uri(s: str) -> bool:
    # url.ParseRequestURI: an absolute URI or an absolute path, no fragment parsing.
    if not s or " " in s:
        return False
    return s.startswith("/") or bool(_URI_SCHEME.match(s))


def _byte(s: str) -> bool:
    try:
        base64.b64decode(s, validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


def _date(s: str) -> bool:
    m = _DATE.match(s)
    return bool(m) and _valid_ymd(*map(int, m.groups()))


def _valid_ymd(y: int, mo: int, d: int) -> bool:
    if not 1 <= mo <= 12 or d < 1:
        return False
    days = [31, 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28,
            31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return d <= days[mo - 1]


def _datetime(s: str) -> bool:
    m = _DATETIME.match(s)
    if not m:
        return False
    y, mo, d, h, mi, sec = (int(g) for g in m.groups()[:6])
    return _valid_ymd(y, mo, d) and h < 24 and mi < 60 and sec < 61


def _duration(s: str) -> bool:
    return bool(_DURATION_GO.match(s) or _DURATION_SCALA.match(s))


def _isbn10(s: str) -> bool:
    s = re.sub(r"[\s-]", "", s)
    if not re.match(r"^\d{9}[\dX]$", s):
        return False
    total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(s))
    return total % 11 == 0


def _isbn13(s: str) -> bool:
    s = re.sub(r"[\s-]", "", s)
    if not re.match(r"^\d{13}$", s):
        return False
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(s))
    return total % 10 == 0


def _creditcard(s: str) -> bool:
    digits = re.sub(r"[^0-9]", "", s)
    if not _CREDITCARD.match(digits):
        return False
    total, double = 0, False
    for c in reversed(digits):
        d = int(c)
        if double:
            d *= 2
            if d > 9:
                d -= 9
        total += d
        double = not double
    return total % 10 == 0


FORMAT_CHECKS: Dict[str, Callable[[str], bool]] = {
    "bsonobjectid": lambda s: bool(_BSON.match(s)),
    "uri": _uri,
    "email": _email,
    "hostname": _hostname,
    "ipv4": _ipv4,
    "ipv6": _ipv6,
    "cidr": _cidr,
    "mac": lambda s: bool(_MAC.match(s)),
    "uuid": lambda s: bool(_UUID.match(s)),
    "uuid3": lambda s: bool(_UUID3.match(s)),
    "uuid4": lambda s: bool(_UUID4.match(s)),
    "uuid5": lambda s: bool(_UUID5.match(s)),
    "isbn": lambda s: _isbn10(s) or _isbn13(s),
    "isbn10": _isbn10,
    "isbn13": _isbn13,
    "creditcard": _creditcard,
    "ssn": lambda s: bool(_SSN.match(s)),
    "hexcolor": lambda s: bool(_HEXCOLOR.match(s)),
    "rgbcolor": lambda s: bool(_RGBCOLOR.match(s)),
    "byte": _byte,
    "password": lambda s: True,
    "date": _date,
    "duration": _duration,
    "datetime": _datetime,
    "quantity": lambda s: bool(_QUANTITY.match(s)),
}


def check_format(fmt: str, value: str) -> bool:
    """Whether C{value} is valid for the (supported) string format C{fmt}."""
    check = FORMAT_CHECKS.get(fmt.replace("-", ""))
    return True if check is None else check(value)
