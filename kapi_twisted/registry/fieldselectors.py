"""
Field selectors (C{?fieldSelector=}): the C{=}, C{==}, C{!=} grammar of
k8s.io/apimachinery pkg/fields, and the fields each kind lets clients select
on (kube-apiserver's per-kind field label conversions and GetAttrs), with the
exact 400 messages for fields a kind does not support.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

from kapi_twisted import apierrors
from kapi_twisted.apis.registry import ResourceInfo

__all__ = ["FieldSelector", "parse_field_selector", "field_set_for", "EVERYTHING"]


class FieldSelector:
    """The AND of (field, wanted value, equal?) terms."""

    def __init__(self, terms: List[Tuple[str, str, bool]] = ()) -> None:  # type: ignore[assignment]
        self.terms = list(terms)

    @property
    def empty(self) -> bool:
        return not self.terms

    def matches(self, fields: Dict[str, str]) -> bool:
        for name, value, equal in self.terms:
            if (fields.get(name, "") == value) != equal:
                return False
        return True

    def requires_exact(self, name: str) -> Optional[str]:
        """The value an C{=} term demands of C{name}, if any."""
        for field, value, equal in self.terms:
            if field == name and equal:
                return value
        return None


EVERYTHING = FieldSelector()


def _split_terms(text: str) -> List[str]:
    terms, start, escaped = [], 0, False
    for i, c in enumerate(text):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> Optional[Tuple[str, str, str]]:
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op):]
    return None


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\":
            if i + 1 >= len(value):
                raise ValueError("invalid field selector: invalid escape sequence: \\")
            nxt = value[i + 1]
            if nxt not in "\\,=":
                raise ValueError(f"invalid field selector: invalid escape sequence: \\{nxt}")
            out.append(nxt)
            i += 2
            continue
        if c in ",=":
            raise ValueError(f"invalid field selector: unescaped character in value: {c}")
        out.append(c)
        i += 1
    return "".join(out)


def _b(value: Any) -> str:
    return "true" if value else "false"


def _get(obj: Dict[str, Any], *path: str) -> Any:
    cur: Any = obj
    for p in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return cur


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _pod_ip(obj: Dict[str, Any]) -> str:
    ips = _get(obj, "status", "podIPs") or []
    if ips and isinstance(ips[0], dict):
        return _s(ips[0].get("ip"))
    return _s(_get(obj, "status", "podIP"))


_Getter = Callable[[Dict[str, Any]], str]

_DEFAULT_MESSAGE = (
    '"{label}" is not a known field selector: only "metadata.name", "metadata.namespace"')
#: Kinds whose conversion accepts metadata.name only (not metadata.namespace).
_NAME_ONLY = {("", "nodes"), ("", "namespaces")}

#: (group, plural) -> (extra fields, message for an unsupported label, aliases)
_KIND_FIELDS: Dict[Tuple[str, str], Tuple[Dict[str, _Getter], str]] = {
    ("", "pods"): ({
        "spec.nodeName": lambda o: _s(_get(o, "spec", "nodeName")),
        "spec.restartPolicy": lambda o: _s(_get(o, "spec", "restartPolicy")),
        "spec.schedulerName": lambda o: _s(_get(o, "spec", "schedulerName")),
        "spec.serviceAccountName": lambda o: _s(_get(o, "spec", "serviceAccountName")),
        "spec.hostNetwork": lambda o: _b(_get(o, "spec", "hostNetwork")),
        "status.phase": lambda o: _s(_get(o, "status", "phase")),
        "status.podIP": _pod_ip,
        "status.podIPs": lambda o: "",
        "status.nominatedNodeName": lambda o: _s(_get(o, "status", "nominatedNodeName")),
    }, "field label not supported: {label}"),
    ("", "events"): ({
        "involvedObject.kind": lambda o: _s(_get(o, "involvedObject", "kind")),
        "involvedObject.namespace": lambda o: _s(_get(o, "involvedObject", "namespace")),
        "involvedObject.name": lambda o: _s(_get(o, "involvedObject", "name")),
        "involvedObject.uid": lambda o: _s(_get(o, "involvedObject", "uid")),
        "involvedObject.apiVersion": lambda o: _s(_get(o, "involvedObject", "apiVersion")),
        "involvedObject.resourceVersion":
            lambda o: _s(_get(o, "involvedObject", "resourceVersion")),
        "involvedObject.fieldPath": lambda o: _s(_get(o, "involvedObject", "fieldPath")),
        "reason": lambda o: _s(o.get("reason")),
        "reportingComponent": lambda o: _s(o.get("reportingComponent")),
        "source": lambda o: _s(_get(o, "source", "component")),
        "type": lambda o: _s(o.get("type")),
    }, "field label not supported: {label}"),
    ("", "secrets"): ({"type": lambda o: _s(o.get("type"))},
                      "field label not supported: {label}"),
    ("", "namespaces"): ({"status.phase": lambda o: _s(_get(o, "status", "phase"))},
                         "field label not supported: {label}"),
    ("", "nodes"): ({"spec.unschedulable": lambda o: _b(_get(o, "spec", "unschedulable"))},
                    "field label not supported: {label}"),
    ("", "replicationcontrollers"): (
        {"status.replicas": lambda o: _s(_get(o, "status", "replicas") or 0)},
        "field label not supported: {label}"),
    ("", "services"): ({
        "spec.clusterIP": lambda o: _s(_get(o, "spec", "clusterIP")),
        "spec.type": lambda o: _s(_get(o, "spec", "type")),
    }, "field label not supported: {label}"),
    ("apps", "replicasets"): (
        {"status.replicas": lambda o: _s(_get(o, "status", "replicas") or 0)},
        _DEFAULT_MESSAGE),
    ("apps", "statefulsets"): (
        {"status.successful": lambda o: ""},
        "field label not supported for appsv1.StatefulSet: {label}"),
    ("batch", "jobs"): (
        {"status.successful": lambda o: _s(_get(o, "status", "succeeded") or 0)},
        'field label "{label}" not supported for batchv1.Job'),
    ("certificates.k8s.io", "certificatesigningrequests"): (
        {"spec.signerName": lambda o: _s(_get(o, "spec", "signerName"))},
        "field label not supported: {label}"),
}

_ALIASES = {("", "pods"): {"spec.host": "spec.nodeName"}}


class FieldSet:
    """The selectable fields of one kind."""

    def __init__(self, info: ResourceInfo) -> None:
        key = (info.group, info.plural)
        extra, message = _KIND_FIELDS.get(key, ({}, _DEFAULT_MESSAGE))
        self.extra = extra
        self.message = message
        self.aliases = _ALIASES.get(key, {})
        self.metadata = ("metadata.name",) if key in _NAME_ONLY else (
            "metadata.name", "metadata.namespace")

    def convert_label(self, label: str) -> str:
        if label in self.metadata or label in self.extra:
            return label
        if label in self.aliases:
            return self.aliases[label]
        raise apierrors.bad_request(self.message.format(label=label))

    def fields(self, obj: Dict[str, Any]) -> Dict[str, str]:
        meta = obj.get("metadata") or {}
        out = {"metadata.name": _s(meta.get("name")),
               "metadata.namespace": _s(meta.get("namespace"))}
        for name, getter in self.extra.items():
            out[name] = getter(obj)
        return out


_FIELD_SETS: Dict[Tuple[str, str, str], FieldSet] = {}


def field_set_for(info: ResourceInfo) -> FieldSet:
    key = (info.group, info.version, info.plural)
    fs = _FIELD_SETS.get(key)
    if fs is None:
        fs = _FIELD_SETS[key] = FieldSet(info)
    return fs


def parse_field_selector(text: str, field_set: Optional[FieldSet] = None) -> FieldSelector:
    """
    Parse C{text}, checking every field against C{field_set}; raise a 400
    L{apierrors.APIError} with kube's message when it is malformed or unsupported.
    """
    if not text:
        return EVERYTHING
    terms: List[Tuple[str, str, bool]] = []
    for part in sorted(_split_terms(text)):
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise apierrors.bad_request(
                f"invalid selector: '{text}'; can't understand '{part}'")
        lhs, op, rhs = split
        try:
            value = _unescape(rhs)
        except ValueError as e:
            raise apierrors.bad_request(str(e))
        terms.append((lhs, value, op != "!="))
    if field_set is not None:
        terms = [(field_set.convert_label(f), val, eq) for f, val, eq in terms]
    return FieldSelector(terms)
