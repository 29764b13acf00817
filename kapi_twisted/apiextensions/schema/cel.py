"""
C{x-kubernetes-validations}: CEL rules evaluated with cel-python (C{celpy}),
as kube-apiserver evaluates them (C{apiextensions-apiserver/pkg/apiserver/schema/cel}).

Each schema node's rules are compiled once (L{compile_node_rules}, cached on
the node). At validation time C{self} is the node's value, typed by the schema
(integers, doubles for C{type: number}, strings, lists, maps; C{date} and
C{date-time} strings are timestamps, C{duration} strings durations, C{byte}
strings bytes; declared property
names are escaped as kube escapes them, so C{x-y} is C{self.x__dash__y}).
C{oldSelf} is the correlated old value on update: rules that use it are
transition rules, skipped when there is no old value unless
C{optionalOldSelf} is set (then C{oldSelf} is an optional:
C{oldSelf.hasValue()}, C{oldSelf.value()}, C{oldSelf.orValue(x)}).

A rule that evaluates to false gives C{Invalid value: "<type>": <message>} at
the node's path (plus C{fieldPath}), or a C{Required}/C{Forbidden}/C{Duplicate}
cause when C{reason} says so; C{messageExpression} computes the message.
Unchanged values are not re-checked by rules that do not use C{oldSelf}
(ratcheting). Compilation reports syntax errors and, as cel-go's checker does,
C{self.a.b} selections of fields the schema does not declare (only C{name} and
C{generateName} of C{metadata}). Differences from kube-apiserver: no other
static type checking and no cost estimation, and the runtime budget is a
wall-clock bound checked between rules. Rules that call library
functions we lack (C{url}, C{quantity}, C{ip}, ...; see L{_cellib}) or use
the optional-field syntax (C{self.?x}) are accepted in CRDs but not evaluated.
"""

from __future__ import annotations

import re
import time
from typing import Any, Dict, List, Optional, Tuple

import celpy
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError
from lark import Token

from . import _fielderr as fe
from ._cellib import FUNCTIONS, Optional_
from ._celvalues import escape, to_cel
from ._fieldpath import find_field, resolve_field_path
from ._nodes import Node, correlate_items

__all__ = [
    "CompiledRule", "compile_node_rules", "validate_rules", "rule_compile_errors",
    "escape", "resolve_field_path", "find_field", "RULE_BUDGET_SECONDS",
]

#: Wall-clock budget for all the rules of one object (kube: a cost budget).
RULE_BUDGET_SECONDS = 2.0

_ENV: Optional[celpy.Environment] = None


def _env() -> celpy.Environment:
    global _ENV
    if _ENV is None:
        _ENV = celpy.Environment()
    return _ENV


class CompiledRule:
    """One C{x-kubernetes-validations} entry, compiled."""

    __slots__ = (
        "raw", "rule", "message", "message_expression", "reason", "field_path",
        "optional_old_self", "uses_old_self", "program", "message_program",
        "error", "message_error", "unsupported",
    )

    def __init__(self, raw: dict, node: Optional[Node] = None) -> None:
        self.raw = raw
        self.rule = raw.get("rule") if isinstance(raw.get("rule"), str) else ""
        self.message = raw.get("message") if isinstance(raw.get("message"), str) else ""
        me = raw.get("messageExpression")
        self.message_expression = me if isinstance(me, str) else ""
        self.reason = raw.get("reason") if isinstance(raw.get("reason"), str) else None
        fp = raw.get("fieldPath")
        self.field_path = ""
        if isinstance(fp, str) and fp.strip():
            self.field_path = resolve_field_path(fp.strip(), node) or ""
        self.optional_old_self = raw.get("optionalOldSelf") is True
        self.uses_old_self = False
        self.program: Any = None
        self.message_program: Any = None
        self.error: Optional[str] = None
        self.message_error: Optional[str] = None
        #: Why the rule is not evaluated here (a library or syntax we lack), or None.
        self.unsupported: Optional[str] = None
        env = _env()
        if self.rule.strip():
            try:
                ast = env.compile(self.rule)
                self.uses_old_self = _uses_old_self(ast)
                undefined = _undefined_field(ast, node, self.rule)
                if undefined:
                    self.error = "compilation failed: " + undefined
                    return
                missing = sorted(_functions(ast) - _KNOWN_FUNCTIONS)
                if missing:
                    self.unsupported = "unsupported functions: " + ", ".join(missing)
                self.program = env.program(ast, functions=FUNCTIONS)
            except CELParseError as e:
                if _OPTIONAL_SYNTAX.search(self.rule):
                    self.unsupported = "optional field syntax"
                    self.uses_old_self = bool(re.search(r"\boldSelf\b", self.rule))
                else:
                    self.error = "compilation failed: " + _parse_error(e, self.rule)
            except Exception as e:  # pragma: no cover - celpy internals
                self.error = f"compilation failed: {e}"
        if self.message_expression.strip():
            try:
                ast = env.compile(self.message_expression)
                undefined = _undefined_field(ast, node, self.message_expression)
                if undefined:
                    self.message_error = "messageExpression compilation failed: " + undefined
                else:
                    self.message_program = env.program(ast, functions=FUNCTIONS)
            except CELParseError as e:
                self.message_error = "messageExpression compilation failed: " + _parse_error(e, self.message_expression)

    def error_string(self) -> str:
        """kube's C{ruleErrorString}: the message if any, else the rule."""
        if self.message.strip():
            return self.message.strip()
        return self.rule.strip()

    def message_or_default(self) -> str:
        if not self.message:
            return f"failed rule: {self.error_string()}"
        return self.message.strip()


_OPTIONAL_SYNTAX = re.compile(r"\.\?|\[\?")

#: Functions and macros cel-python provides plus our library (see L{_cellib}).
_KNOWN_FUNCTIONS = frozenset({
    "has", "all", "exists", "exists_one", "map", "filter", "size", "contains", "type",
    "endsWith", "startsWith", "matches", "getDate", "getDayOfMonth", "getDayOfWeek",
    "getDayOfYear", "getFullYear", "getMonth", "getHours", "getMilliseconds", "getMinutes",
    "getSeconds", "bool", "bytes", "double", "duration", "int", "list", "string",
    "timestamp", "uint", "dyn",
}) | frozenset(FUNCTIONS)


#: Namespaces of CEL extension functions (C{sets.contains(...)}); none is supported.
_NAMESPACES = frozenset({"sets", "optional", "strings", "math", "base64", "lists", "encoders"})


def _functions(ast: Any) -> set:
    names = set()
    for t in ast.iter_subtrees():
        if t.data == "member_dot_arg" and len(t.children) > 1:
            name = str(t.children[1])
            base = _bare_ident(t.children[0])
            names.add(f"{base}.{name}" if base in _NAMESPACES else name)
        elif t.data == "ident_arg" and t.children:
            names.add(str(t.children[0]))
    return names


def _bare_ident(tree: Any) -> Optional[str]:
    if isinstance(tree, Token) or tree.data != "member" or len(tree.children) != 1:
        return None
    primary = tree.children[0]
    if isinstance(primary, Token) or primary.data != "primary" or len(primary.children) != 1:
        return None
    ident = primary.children[0]
    if isinstance(ident, Token):
        return str(ident) if ident.type == "IDENT" else None
    if ident.data == "ident" and ident.children:
        return str(ident.children[0])
    return None


#: What CEL sees of ObjectMeta at a resource root or in an embedded resource.
_TYPE_META_NAMES = ("apiVersion", "kind")
_OBJECT_META_NAMES = ("name", "generateName")


def _self_chain(tree: Any) -> Optional[List[Any]]:
    """The field names selected from C{self} by a C{member}/C{member_dot} tree."""
    if tree.data == "member_dot":
        base = _self_chain(tree.children[0])
        return None if base is None else base + [tree.children[1]]
    if tree.data == "member" and len(tree.children) == 1:
        child = tree.children[0]
        if isinstance(child, Token):
            return None
        if child.data == "primary" and len(child.children) == 1:
            ident = child.children[0]
            if isinstance(ident, Token) and str(ident) == "self":
                return []
            if not isinstance(ident, Token) and ident.data == "ident" and str(ident.children[0]) == "self":
                return []
            return None
        return _self_chain(child)
    return None


def _undefined_field(ast: Any, node: Optional[Node], source: str) -> Optional[str]:
    """cel-go's C{undefined field} check for C{self.a.b} chains on declared objects."""
    if node is None:
        return None
    for t in ast.iter_subtrees_topdown():
        if t.data != "member_dot":
            continue
        chain = _self_chain(t)
        if not chain:
            continue
        cur: Optional[Node] = node
        meta = False
        for tok in chain:
            name = str(tok)
            if meta:
                if name not in _OBJECT_META_NAMES:
                    return _undefined(tok, name, source)
                cur = None
                break
            if cur is None:
                break
            if cur.is_root or cur.embedded:
                if name in _TYPE_META_NAMES:
                    cur = None
                    break
                if name == "metadata":
                    meta = True
                    continue
            if cur.properties and not cur.preserve_unknown:
                match = [p for k, p in cur.properties.items() if escape(k) == name]
                if not match:
                    return _undefined(tok, name, source)
                cur = match[0]
            elif isinstance(cur.additional, Node):
                cur = cur.additional
            else:
                break
    return None


def _undefined(tok: Any, name: str, source: str) -> str:
    line = getattr(tok, "line", 1) or 1
    col = max(0, (getattr(tok, "column", 2) or 2) - 2)  # the "." before the name, 0-based
    lines = source.splitlines() or [""]
    src = lines[min(line, len(lines)) - 1]
    return f"ERROR: <input>:{line}:{col + 1}: undefined field '{name}'\n | {src}\n | {'.' * col}^"


def _uses_old_self(ast: Any) -> bool:
    return any(
        str(t) == "oldSelf"
        for t in ast.scan_values(lambda t: isinstance(t, Token) and t.type == "IDENT")
    )


def _parse_error(e: CELParseError, source: str) -> str:
    """A syntax error in cel-go's layout (cel-python's own wording is not cel-go's)."""
    line = getattr(e, "line", None) or 1
    col = getattr(e, "column", None) or 0
    lines = source.splitlines() or [""]
    src = lines[min(line, len(lines)) - 1]
    col = max(0, min(col, len(src)))
    return (f"ERROR: <input>:{line}:{col + 1}: Syntax error: unexpected input\n"
            f" | {src}\n | {'.' * col}^")


def compile_node_rules(node: Node) -> List[CompiledRule]:
    """The node's compiled rules (compiled on first use, then cached)."""
    if node.cel is None:
        node.cel = [CompiledRule(r, node) for r in node.rules]
    return node.cel


def rule_compile_errors(node: Node, path: str) -> List[dict]:
    """Compilation errors of a node's rules, as CRD validation reports them."""
    errs: List[dict] = []
    for i, cr in enumerate(compile_node_rules(node)):
        p = f"{path}.x-kubernetes-validations[{i}]"
        if cr.error:
            errs.append(fe.invalid(f"{p}.rule", _RuleValue(cr.raw), cr.error))
        if cr.message_error:
            errs.append(fe.invalid(f"{p}.messageExpression", _RuleValue(cr.raw), cr.message_error))
    return errs


class _RuleValue:
    """Prints as Go's C{%#v} of an C{apiextensions.ValidationRule}."""

    def __init__(self, raw: dict, node: Optional[Node] = None) -> None:
        self.raw = raw

    def go_repr(self) -> str:
        r = self.raw

        def s(k: str) -> str:
            v = r.get(k)
            return fe.go_quote(v if isinstance(v, str) else "")

        reason = "(*apiextensions.FieldValueErrorReason)(nil)"
        if isinstance(r.get("reason"), str):
            reason = "(*apiextensions.FieldValueErrorReason)(0xc000000000)"
        oos = "(*bool)(nil)"
        if isinstance(r.get("optionalOldSelf"), bool):
            oos = "(*bool)(0xc000000000)"
        return (
            f"apiextensions.ValidationRule{{Rule:{s('rule')}, Message:{s('message')}, "
            f"MessageExpression:{s('messageExpression')}, Reason:{reason}, "
            f"FieldPath:{s('fieldPath')}, OptionalOldSelf:{oos}}}"
        )


# --- evaluation -------------------------------------------------------------------------


def validate_rules(obj: Any, root: Node, old: Any = None, path: str = "") -> List[dict]:
    """Evaluate every C{x-kubernetes-validations} rule of C{root}'s tree on C{obj}
    (C{old}: the old object on update, else L{None})."""
    if not root.has_rules_below:
        return []
    errs: List[dict] = []
    state = {"deadline": time.monotonic() + RULE_BUDGET_SECONDS, "out": False}
    _walk(obj, root, path, old, errs, state)
    return errs


def _walk(x: Any, node: Node, path: str, old: Any, errs: List[dict], state: dict,
          parent_unchanged: bool = False) -> None:
    if x is None or not node.has_rules_below:
        return
    # Ratcheting: a value equal to its correlated old value, or an uncorrelatable
    # value under an unchanged ancestor, is not re-checked.
    unchanged = (old == x and type(old) is type(x)) if old is not None else parent_unchanged
    if node.rules:
        _eval_node(x, node, path, old, unchanged, errs, state)
    if isinstance(x, dict):
        props = node.properties
        add = node.additional
        old_map = old if isinstance(old, dict) and node.map_type != "atomic" else None
        for k, v in x.items():
            sub = props.get(k)
            if sub is None and isinstance(add, Node):
                sub, child = add, fe.key(path, k)
            else:
                child = fe.child(path, k)
            if sub is not None and sub.has_rules_below:
                _walk(v, sub, child, old_map.get(k) if old_map else None, errs, state, unchanged)
    elif isinstance(x, list) and node.items is not None and node.items.has_rules_below:
        olds = correlate_items(node, x, old, None)
        for i, v in enumerate(x):
            _walk(v, node.items, fe.index(path, i), olds[i] if olds else None, errs, state, unchanged)


def _eval_node(x: Any, node: Node, path: str, old: Any, unchanged: bool, errs: List[dict],
               state: dict) -> None:
    rules = compile_node_rules(node)
    activation: Dict[str, Any] = {}
    for cr in rules:
        if cr.program is None or cr.unsupported:
            continue
        if cr.uses_old_self:
            if old is None and not cr.optional_old_self:
                continue
        elif unchanged:
            continue  # ratcheting
        if state["out"] or time.monotonic() > state["deadline"]:
            if not state["out"]:
                state["out"] = True
                errs.append(fe.invalid(
                    fe.at(path), node.type,
                    "validation failed due to running out of cost budget, no further validation rules will be run"))
            return
        if "self" not in activation:
            activation["self"] = to_cel(x, node)
        if cr.uses_old_self:
            old_val = to_cel(old, node) if old is not None else None
            activation["oldSelf"] = Optional_(old_val) if cr.optional_old_self else old_val
        try:
            result = cr.program.evaluate(activation)
        except CELEvalError as e:
            result = e
        except Exception as e:  # celpy raises plain exceptions for some type errors
            result = CELEvalError(str(e), type(e), None)
        if isinstance(result, CELEvalError):
            errs.append(fe.invalid(fe.at(path), node.type, _eval_error_detail(result, cr)))
            continue
        if isinstance(result, celtypes.BoolType) and bool(result):
            continue
        fpath = fe.child(path, cr.field_path) if cr.field_path else fe.at(path)
        if isinstance(result, celtypes.BoolType):
            errs.append(_rule_failure(cr, fpath, node, activation))
        else:
            errs.append(fe.invalid(
                fe.at(path), node.type, f"rule did not evaluate to a bool evaluating rule: {cr.error_string()}"))


def _rule_failure(cr: CompiledRule, path: str, node: Node, activation: Dict[str, Any]) -> dict:
    detail = cr.message_or_default()
    if cr.message_program is not None:
        try:
            msg = cr.message_program.evaluate(activation)
            if isinstance(msg, str) and msg.strip() and "\n" not in msg.strip():
                detail = str(msg).strip()
        except Exception:
            pass
    reason = cr.reason
    if reason == "FieldValueForbidden":
        return fe.forbidden(path, detail)
    if reason == "FieldValueRequired":
        return fe.required(path, detail)
    if reason == "FieldValueDuplicate":
        return fe.duplicate(path, node.type)
    return fe.invalid(path, node.type, detail)


def _eval_error_detail(e: CELEvalError, cr: CompiledRule) -> str:
    text, kind = _describe(e)
    if kind == "overload":
        return (f"'{text}': call arguments did not match a supported operator, function or "
                f"macro signature for rule: {cr.error_string()}")
    return f"{text} evaluating rule: {cr.error_string()}"


_MEMBER = re.compile(r"no such member in mapping: '(.*)'")


def _describe(e: CELEvalError) -> Tuple[str, str]:
    args = e.args
    msg = str(args[0]) if args else str(e)
    exc = args[1] if len(args) > 1 else None
    m = _MEMBER.search(msg)
    if m or exc is KeyError:
        return (f"no such key: {m.group(1)}" if m else "no such key"), "key"
    if "overload" in msg or exc is TypeError:
        return "no such overload", "overload"
    if exc is ZeroDivisionError:
        return ("modulus by zero" if "modulus" in msg and "divide" not in msg else "division by zero"), "arith"
    if exc is IndexError:
        return "index out of bounds", "index"
    return msg, "other"
