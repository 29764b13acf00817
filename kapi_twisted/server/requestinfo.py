"""
Request info: what a request is about (verb, group, version, resource,
subresource, namespace, name), parsed from its method, path and query as
kube-apiserver's C{RequestInfoFactory} does. Filters (in-flight limits,
timeouts, metrics, authorization) and handlers read it.

A request without a query string is fully described by its method and
path, so L{request_info_for} keeps the answers for those (a bounded table):
a busy server sees the same few collection paths over and over. The
L{RequestInfo} it hands out may therefore be shared between requests and
must be treated as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import parse_qs, unquote

API_PREFIXES = ("api", "apis")
GROUPLESS_PREFIX = "api"

# Verbs that skip the wait group, deadline, timeout and in-flight limits.
LONG_RUNNING_VERBS: FrozenSet[str] = frozenset({"watch", "proxy"})
LONG_RUNNING_SUBRESOURCES: FrozenSet[str] = frozenset(
    {"attach", "exec", "proxy", "log", "portforward"}
)
READ_ONLY_VERBS: FrozenSet[str] = frozenset({"get", "list", "watch"})

_METHOD_VERBS = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}


@dataclass
class RequestInfo:
    is_resource_request: bool = False
    path: str = "/"
    verb: str = ""
    api_prefix: str = ""
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    parts: List[str] = field(default_factory=list)
    field_selector: str = ""
    label_selector: str = ""

    @property
    def long_running(self) -> bool:
        """Watches, proxies and the streaming subresources (exec, log, ...)."""
        if self.is_resource_request:
            return (
                self.verb in LONG_RUNNING_VERBS
                or self.subresource in LONG_RUNNING_SUBRESOURCES
            )
        return self.path.startswith("/debug/pprof/")

    @property
    def read_only(self) -> bool:
        return self.verb in READ_ONLY_VERBS


def _first(query: Mapping[str, Sequence[str]], key: str) -> Optional[str]:
    values = query.get(key)
    return values[0] if values else None


def parse_request_info(
    method: str, path: str, query: Optional[Mapping[str, Sequence[str]]] = None
) -> RequestInfo:
    """
    Parse one request. C{path} is the URL path (percent-encoded or not);
    C{query} maps parameter names to their values.
    """
    query = query or {}
    info = RequestInfo(path=path, verb=method.lower())
    parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
    info.parts = parts
    if len(parts) < 3 or parts[0] not in API_PREFIXES:
        return info
    info.api_prefix = parts[0]
    rest = parts[1:]
    if info.api_prefix != GROUPLESS_PREFIX:
        if len(rest) < 3:
            return info
        info.api_group = rest[0]
        rest = rest[1:]
    info.api_version = rest[0]
    rest = rest[1:]
    info.is_resource_request = True

    verb_from_path = ""
    if rest[0] in ("watch", "proxy") and len(rest) > 1:
        verb_from_path = rest[0]
        rest = rest[1:]
    info.verb = verb_from_path or _METHOD_VERBS.get(method.upper(), "")

    if rest[0] == "namespaces":
        if len(rest) > 1:
            info.namespace = rest[1]
            if len(rest) > 2 and rest[2] not in ("status", "finalize"):
                rest = rest[2:]
    info.parts = rest
    if rest:
        info.resource = rest[0]
    if len(rest) > 1:
        info.name = rest[1]
    if len(rest) > 2 and info.verb != "proxy":
        info.subresource = rest[2]

    if info.verb == "get" and not info.name:
        info.verb = "watch" if _watch_requested(query) else "list"
    elif info.verb == "delete" and not info.name:
        info.verb = "deletecollection"

    if info.verb in ("list", "watch", "deletecollection"):
        info.field_selector = _first(query, "fieldSelector") or ""
        info.label_selector = _first(query, "labelSelector") or ""
        if not info.name and info.field_selector:
            name = _name_from_field_selector(info.field_selector)
            if name:
                info.name = name
    return info


def _watch_requested(query: Mapping[str, Sequence[str]]) -> bool:
    value = _first(query, "watch")
    return value is not None and value not in ("false", "0", "f", "F", "FALSE", "False")


def _name_from_field_selector(selector: str) -> str:
    for term in selector.split(","):
        key, sep, value = term.partition("=")
        if value.startswith("="):
            value = value[1:]
        if sep and key.strip() == "metadata.name" and not key.endswith("!"):
            return value.strip()
    return ""


class _ArgsView(Mapping[str, Sequence[str]]):
    """twisted.web's already parsed C{request.args} (bytes), read as text on demand."""

    __slots__ = ("_args",)

    def __init__(self, args: Mapping[bytes, Sequence[bytes]]) -> None:
        self._args = args

    def __getitem__(self, key: str) -> Sequence[str]:
        return [v.decode("utf-8", "replace") for v in self._args[key.encode("utf-8")]]

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        values = self._args.get(key.encode("utf-8"))
        if values is None:
            return default
        return [v.decode("utf-8", "replace") for v in values]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (k.decode("utf-8", "replace") for k in self._args)

    def __len__(self) -> int:
        return len(self._args)


_CACHE_LIMIT = 2048
_by_method_and_path: Dict[Tuple[bytes, bytes], RequestInfo] = {}


def request_info_for(request: object) -> RequestInfo:
    """
    Parse a twisted.web request (path, method and query). The result is
    read-only: without a query it is shared with other requests for the
    same method and path.
    """
    parsed = getattr(request, "args", None)
    if parsed is not None and not parsed:
        # The hot path: no query string, so method and path say it all.
        key = (request.method, request.path)  # type: ignore[attr-defined]
        info = _by_method_and_path.get(key)
        if info is None:
            info = parse_request_info(key[0].decode("ascii"), key[1].decode("latin-1"))
            if len(_by_method_and_path) >= _CACHE_LIMIT:
                _by_method_and_path.clear()
            _by_method_and_path[key] = info
        return info
    raw_path = request.path.decode("latin-1")  # type: ignore[attr-defined]
    method = request.method.decode("ascii")  # type: ignore[attr-defined]
    if parsed is not None:
        # twisted.web has parsed the query string already.
        return parse_request_info(method, raw_path, _ArgsView(parsed))
    args: Dict[str, List[str]] = {}
    uri = request.uri  # type: ignore[attr-defined]
    if b"?" in uri:
        args = parse_qs(uri.split(b"?", 1)[1].decode("latin-1"), keep_blank_values=True)
    return parse_request_info(method, raw_path, args)
