"""
Label selectors: the grammar of C{?labelSelector=} (k8s.io/apimachinery
pkg/labels), with kube-apiserver's parse errors word for word, since clients
show them to users as the 400 message.

    selector    ::= requirement ("," requirement)*
    requirement ::= ["!"] KEY [ ("in"|"notin") "(" VALUES ")" | ("="|"=="|"!="|">"|"<") VALUE ]
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from kapi_twisted import apierrors

from . import validation as v

__all__ = ["LabelSelector", "parse_label_selector", "EVERYTHING"]

# Operators (selection.Operator values).
IN, NOT_IN = "in", "notin"
EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "=", "==", "!="
GREATER, LESS = "gt", "lt"
EXISTS, DOES_NOT_EXIST = "exists", "!"
_BINARY = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER, LESS)

# Tokens.
_ERROR, _END, _CLOSE, _COMMA, _NOT, _DEQ, _EQ, _GT, _ID, _IN, _LT, _NEQ, _NOTIN, _OPEN = range(14)
_LITERALS = {
    ")": _CLOSE, ",": _COMMA, "!": _NOT, "==": _DEQ, "=": _EQ, ">": _GT, "in": _IN,
    "<": _LT, "!=": _NEQ, "notin": _NOTIN, "(": _OPEN,
}
_SPECIAL = set("=!(),><")
_SPACE = set(" \t\r\n")


class SelectorError(Exception):
    """A label selector that does not parse; C{str()} is kube's message."""


class Requirement:
    __slots__ = ("key", "op", "values")

    def __init__(self, key: str, op: str, values: Sequence[str]) -> None:
        self.key = key
        self.op = op
        self.values = list(values)

    def matches(self, labels: Dict[str, str]) -> bool:
        op = self.op
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_IN, NOT_EQUALS):
            return self.key not in labels or labels[self.key] not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GREATER, LESS):
            if self.key not in labels:
                return False
            try:
                have = int(labels[self.key])
                want = int(self.values[0])
            except (ValueError, IndexError):
                return False
            return have > want if op == GREATER else have < want
        return False


class LabelSelector:
    """A parsed selector: the AND of its requirements."""

    def __init__(self, requirements: Sequence[Requirement] = ()) -> None:
        self.requirements = sorted(requirements, key=lambda r: r.key)

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, labels: Optional[Dict[str, str]]) -> bool:
        labels = labels or {}
        for r in self.requirements:
            if not r.matches(labels):
                return False
        return True


EVERYTHING = LabelSelector()


def _lex(s: str) -> List[Tuple[int, str]]:
    items: List[Tuple[int, str]] = []
    i, n = 0, len(s)
    while True:
        while i < n and s[i] in _SPACE:
            i += 1
        if i >= n:
            items.append((_END, ""))
            return items
        if s[i] in _SPECIAL:
            buf = ""
            last: Optional[Tuple[int, str]] = None
            while i < n and s[i] in _SPECIAL:
                buf += s[i]
                tok = _LITERALS.get(buf)
                if tok is not None:
                    last = (tok, buf)
                    i += 1
                elif last is not None:
                    break
                else:
                    i += 1
            if last is None:
                items.append((_ERROR, f"error expected: keyword found '{buf}'"))
            else:
                items.append(last)
        else:
            start = i
            while i < n and s[i] not in _SPECIAL and s[i] not in _SPACE:
                i += 1
            word = s[start:i]
            items.append((_LITERALS.get(word, _ID), word))


class _Parser:
    def __init__(self, s: str) -> None:
        self.items = _lex(s)
        self.pos = 0

    def _peek(self, values: bool = True) -> Tuple[int, str]:
        tok, lit = self.items[self.pos]
        if values and tok in (_IN, _NOTIN):
            tok = _ID
        return tok, lit

    def _take(self, values: bool = True) -> Tuple[int, str]:
        item = self._peek(values)
        self.pos += 1
        return item

    def parse(self) -> List[Requirement]:
        reqs: List[Requirement] = []
        while True:
            tok, lit = self._peek()
            if tok in (_ID, _NOT):
                try:
                    reqs.append(self._requirement())
                except SelectorError as e:
                    raise SelectorError(f"unable to parse requirement: {e}")
                t, l = self._take()
                if t == _END:
                    return reqs
                if t == _COMMA:
                    t2, l2 = self._peek()
                    if t2 not in (_ID, _NOT):
                        raise SelectorError(f"found '{l2}', expected: identifier after ','")
                else:
                    raise SelectorError(f"found '{l}', expected: ',' or 'end of string'")
            elif tok == _END:
                return reqs
            else:
                raise SelectorError(
                    f"found '{lit}', expected: !, identifier, or 'end of string'")

    def _requirement(self) -> Requirement:
        op = ""
        tok, lit = self._take()
        if tok == _NOT:
            op = DOES_NOT_EXIST
            tok, lit = self._take()
        if tok != _ID:
            raise SelectorError(f"found '{lit}', expected: identifier")
        key = lit
        msgs = v.is_qualified_name(key)
        if msgs:
            raise SelectorError(
                "<nil>: " + v.invalid_value("", key, "; ".join(msgs)).body())
        t, _ = self._peek()
        if t in (_END, _COMMA):
            if op != DOES_NOT_EXIST:
                op = EXISTS
        if op in (EXISTS, DOES_NOT_EXIST):
            return _new_requirement(key, op, [])
        op = self._operator()
        if op in (IN, NOT_IN):
            values = self._values()
        else:
            values = self._exact_value()
        return _new_requirement(key, op, sorted(set(values)))

    def _operator(self) -> str:
        tok, lit = self._take(values=False)
        ops = {_IN: IN, _EQ: EQUALS, _DEQ: DOUBLE_EQUALS, _GT: GREATER, _LT: LESS,
               _NOTIN: NOT_IN, _NEQ: NOT_EQUALS}
        if tok not in ops:
            raise SelectorError(f"found '{lit}', expected: {', '.join(_BINARY)}")
        return ops[tok]

    def _values(self) -> List[str]:
        tok, lit = self._take()
        if tok != _OPEN:
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self._peek()
        if tok in (_ID, _COMMA):
            values = self._identifiers()
            if self._take()[0] != _CLOSE:
                raise SelectorError(f"found '{lit}', expected: ')'")
            return values
        if tok == _CLOSE:
            self._take()
            return [""]
        raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")

    def _identifiers(self) -> List[str]:
        values: List[str] = []
        while True:
            tok, lit = self._take()
            if tok == _ID:
                values.append(lit)
                t2, l2 = self._peek()
                if t2 == _COMMA:
                    continue
                if t2 == _CLOSE:
                    return values
                raise SelectorError(f"found '{l2}', expected: ',' or ')'")
            if tok == _COMMA:
                if not values:
                    values.append("")
                t2, _ = self._peek()
                if t2 == _CLOSE:
                    values.append("")
                    return values
                if t2 == _COMMA:
                    self._take()
                    values.append("")
                continue
            raise SelectorError(f"found '{lit}', expected: ',', or identifier")

    def _exact_value(self) -> List[str]:
        tok, _ = self._peek()
        if tok in (_END, _COMMA):
            return [""]
        tok, lit = self._take()
        if tok == _ID:
            return [lit]
        raise SelectorError(f"found '{lit}', expected: identifier")


def _new_requirement(key: str, op: str, values: List[str]) -> Requirement:
    errs: List[v.FieldError] = []
    if op in (GREATER, LESS):
        for i, val in enumerate(values):
            try:
                int(val)
            except ValueError:
                errs.append(v.invalid_value(
                    f"values[{i}]", val, "for 'Gt', 'Lt' operators, the value must be an integer"))
    for i, val in enumerate(values):
        msgs = v.is_valid_label_value(val)
        if msgs:
            errs.append(v.invalid_value(f"values[{i}][{key}]", val, "; ".join(msgs)))
    if errs:
        raise SelectorError(v.aggregate_message(errs))
    return Requirement(key, op, values)


def parse_label_selector(text: str) -> LabelSelector:
    """Parse C{text}; raise L{APIError} 400 with kube's message if it is malformed."""
    if not text:
        return EVERYTHING
    try:
        return LabelSelector(_Parser(text).parse())
    except SelectorError as e:
        raise apierrors.bad_request(str(e))
