"""
Resource quantities as kube-apiserver writes them back.

A C{resource.Quantity} is decoded and encoded again on every write, so what a
client reads is the canonical form: C{0.5} becomes C{500m}, C{1024Mi} becomes
C{1Gi}, C{1000m} becomes C{1}; values below a milli-unit in resource lists are
rounded up (C{SetDefaults_ResourceList}). Strings already in canonical form
come back untouched, as Go caches them. Exact arithmetic with L{Fraction}.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache
from typing import Any, Optional, Tuple

__all__ = ["QuantityError", "parse", "canonical", "canonical_resource_value",
           "QUANTITY_REGEX_MESSAGE"]

QUANTITY_REGEX_MESSAGE = (
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15,
            "E": 18}
_DECIMAL_SUFFIX = {v: k for k, v in _DECIMAL.items()}
_BINARY_SUFFIX = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
_SHAPE = re.compile(r"^([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)$")
_EXPONENT = re.compile(r"^[eE]([+-]?[0-9]+)$")
_INT64_MAX = (1 << 63) - 1

BINARY_SI = "BinarySI"
DECIMAL_SI = "DecimalSI"
DECIMAL_EXPONENT = "DecimalExponent"


class QuantityError(ValueError):
    """The text is no quantity (the decoder's 400)."""


class _Parsed:
    __slots__ = ("value", "format", "cached")

    def __init__(self, value: Fraction, fmt: str, cached: Optional[str]) -> None:
        self.value = value
        self.format = fmt
        self.cached = cached  # the input, when Go would reuse it verbatim


_CACHE_MAX_LEN = 64  # long (hostile) strings are parsed but never kept


def parse(text: str) -> _Parsed:
    """Parse C{text} as Go's C{resource.ParseQuantity} does (short texts cached)."""
    if len(text) <= _CACHE_MAX_LEN:
        return _parse_cached(text)
    return _parse(text)


def _parse(text: str) -> _Parsed:
    text = text.strip()
    m = _SHAPE.match(text)
    if not text or m is None:
        raise QuantityError(QUANTITY_REGEX_MESSAGE)
    sign, num, denom, suffix = m.group(1), m.group(2), m.group(3) or "", m.group(4)
    if not num and not denom:
        raise QuantityError(QUANTITY_REGEX_MESSAGE)
    if suffix in _BINARY:
        fmt, base, exponent = BINARY_SI, 2, _BINARY[suffix]
    elif suffix in _DECIMAL:
        fmt, base, exponent = DECIMAL_SI, 10, _DECIMAL[suffix]
    else:
        em = _EXPONENT.match(suffix)
        if em is None:
            raise QuantityError(QUANTITY_REGEX_MESSAGE)
        fmt, base, exponent = DECIMAL_EXPONENT, 10, int(em.group(1))
    digits = Fraction(int(num or "0")) + (Fraction(int(denom), 10 ** len(denom)) if denom else 0)
    value = digits * (Fraction(base) ** exponent)
    if sign == "-":
        value = -value
    return _Parsed(value, fmt, _reusable(text, num, denom, fmt, exponent))


_parse_cached = lru_cache(maxsize=4096)(_parse)


def _reusable(text: str, num: str, denom: str, fmt: str, exponent: int) -> Optional[str]:
    """C{text} when Go's fast path keeps the string as its canonical form."""
    if fmt == BINARY_SI:
        if denom:
            return None
        precision = 15 - len(num) - int(exponent * 3 / 10) - 1
        scale = 0
    else:
        precision = 18 - (len(num) + len(denom))
        scale = exponent
    if precision < 0:
        return None
    scale -= len(denom)
    if scale < -9:
        return None
    shifted = num + denom
    value = int(shifted or "0")
    mantissa = (1 << exponent) if fmt == BINARY_SI else 1
    if value * mantissa > _INT64_MAX:
        return None
    if fmt == BINARY_SI:
        return text if exponent % 10 == 0 and value & 7 != 0 else None
    if scale % 3 == 0 and not shifted.endswith("000") and shifted[:1] != "0":
        return text
    return None


def _round_up(value: Fraction, exponent: int) -> Fraction:
    """Round away from zero to a multiple of 10**exponent."""
    unit = Fraction(10) ** exponent
    scaled = value / unit
    if scaled.denominator == 1:
        return value
    whole = -((-abs(scaled.numerator)) // scaled.denominator)
    return (whole if value > 0 else -whole) * unit


def _format(value: Fraction, fmt: str) -> str:
    if value == 0:
        return "0"
    if fmt == BINARY_SI:
        if -1024 < value < 1024 or value.denominator != 1:
            fmt = DECIMAL_SI
        else:
            amount = value.numerator
            exp = 0
            while amount % 1024 == 0 and exp < 6:
                amount //= 1024
                exp += 1
            return f"{amount}{_BINARY_SUFFIX[exp]}"
    # mantissa * 10**exp with an integral mantissa free of trailing zeros
    exp = 0
    amount = value
    while amount.denominator != 1:
        amount *= 10
        exp -= 1
    n = amount.numerator
    while n % 10 == 0:
        n //= 10
        exp += 1
    r = exp % 3
    if r:
        n *= 10 ** r
        exp -= r
    if fmt == DECIMAL_SI and exp in _DECIMAL_SUFFIX:
        return f"{n}{_DECIMAL_SUFFIX[exp]}"
    return f"{n}e{exp}" if exp else str(n)


def canonical(text: Any, milli: bool = False) -> str:
    """
    The form kube-apiserver writes for quantity C{text} (a string or JSON
    number). C{milli} rounds up to a thousandth first, as resource lists do.
    Raises L{QuantityError}.
    """
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise QuantityError(QUANTITY_REGEX_MESSAGE)
    text_str = text if isinstance(text, str) else repr(text)
    fn = _canonical_cached if len(text_str) <= _CACHE_MAX_LEN else _canonical
    return fn(text_str, isinstance(text, str), milli)


def _canonical(text: str, verbatim_ok: bool, milli: bool) -> str:
    parsed = parse(text)
    value = parsed.value
    # Go keeps nano precision at most (rounding up), and resource lists milli.
    rounded = _round_up(value, -3 if milli else -9)
    if rounded == value and parsed.cached is not None and verbatim_ok:
        return parsed.cached
    return _format(rounded, parsed.format)


_canonical_cached = lru_cache(maxsize=4096)(_canonical)


def canonical_resource_value(text: Any) -> str:
    """A value of a C{ResourceList} (requests, limits, capacity, hard...)."""
    return canonical(text, milli=True)


def value_of(text: Any) -> Tuple[Fraction, str]:
    """The exact value and format of a quantity (for comparisons: QoS, sums)."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise QuantityError(QUANTITY_REGEX_MESSAGE)
    parsed = parse(text if isinstance(text, str) else repr(text))
    return parsed.value, parsed.format
