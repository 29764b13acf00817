"""
OpenAPI publishing: C{/openapi/v2}, C{/openapi/v3} and C{/openapi/v3/<gv>},
served from what the servers of the chain register in their
L{OpenAPIRegistry}.

kubectl reads these before C{apply}, C{create -f}, C{replace} and C{explain}
(the v3 index, then each group-version document by the URL the index gives,
hash included); client-go's OpenAPI v2 client asks for protobuf only, which
is not offered here, so it gets kube-openapi's 406 and kubectl falls back to
its compiled-in types. The wire behaviour follows kube-openapi's handlers:
ETag = quoted uppercase hex SHA-512 of the JSON, C{If-None-Match} -> 304,
C{Vary: Accept}, 406 for an Accept nothing offered matches, and for v3
C{?hash=} (current -> cacheable for a year, stale -> 301 to the current URL).

The outermost server publishes the union of every registry along its chain.
Documents are built lazily on the first request and kept, with their ETag
and gzip form, until a registration changes (CRDs come and go at run time).
"""

from __future__ import annotations

import calendar
import datetime
import email.utils
import gzip
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from twisted.logger import Logger

from kapi_twisted.server.responses import JSON, APIResource, Response

__all__ = [
    "Document",
    "OpenAPIRegistry",
    "OpenAPIPublisher",
    "OpenAPIV2Resource",
    "OpenAPIV3Resource",
    "install_openapi",
    "parse_accept",
]

log = Logger()

V3Builder = Callable[[], Union[dict, bytes]]
"""Returns a group-version's OpenAPI v3 document, as a dict or as JSON bytes."""

V2Builder = Callable[[], Tuple[Dict[str, Any], Dict[str, Any]]]
"""Returns C{(paths, definitions)} to merge into the one Swagger 2.0 document."""

# kube-openapi also offers these; they are not offered here (JSON only), so a
# client asking for nothing else is answered 406.
V2_PROTOBUF = (
    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
)
V3_PROTOBUF = (
    "application/com.github.proto-openapi.spec.v3@v1.0+protobuf",
    "application/com.github.proto-openapi.spec.v3.v1.0+protobuf",
)

_GZIP_MIN_SIZE = 1400
"""Bodies smaller than this go out uncompressed (as with Go's gziphandler)."""


def _etag(body: bytes) -> str:
    return hashlib.sha512(body).hexdigest().upper()


def _to_json(document: Union[dict, bytes]) -> bytes:
    if isinstance(document, (bytes, bytearray)):
        return bytes(document)
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")


@dataclass
class Document:
    """
    One built document: its JSON bytes, ETag value (unquoted) and the time it
    was built (the C{Last-Modified} of the answer).
    """

    body: bytes
    etag: str
    built_at: float
    _gzipped: Optional[bytes] = field(default=None, repr=False)

    @classmethod
    def of(cls, document: Union[dict, bytes], now: float) -> "Document":
        body = _to_json(document)
        return cls(body, _etag(body), now)

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped


class _Entry:
    """
    A registration and what it last built: a L{Document} (v3) or the
    C{(paths, definitions)} pair (v2). The value is kept when invalidated, so
    a builder that fails later leaves the last good one in place.
    """

    def __init__(self, build: Callable[[], Any]) -> None:
        self.build = build
        self.value: Any = None
        self.stale = True

    def get(self, convert: Callable[[Any], Any], what: str) -> Any:
        if self.stale or self.value is None:
            try:
                self.value = convert(self.build())
            except Exception:
                if self.value is None:
                    raise
                log.failure("OpenAPI {what} could not be rebuilt; serving the previous one",
                            what=what)
            self.stale = False
        return self.value


class OpenAPIRegistry:
    """
    The OpenAPI a server publishes.

    The REST layer registers one v3 document per group-version path
    (C{api/v1}, C{apis/apps/v1}, also C{api}, C{apis}, C{apis/<group>},
    C{version}) and any number of v2 contributions, each a builder called
    lazily; the result is cached until the registration changes or
    L{invalidate} is called.

        registry.add_group_version("apis/apps/v1", lambda: openapi.v3_document("apis/apps/v1"))
        registry.add_v2("built-in", lambda: (doc["paths"], doc["definitions"]))

    @ivar generation: bumped by every change; publishers compare it to know
        when their merged documents are out of date.
    """

    def __init__(self) -> None:
        self.generation = 0
        self._v3: Dict[str, _Entry] = {}
        self._v2: Dict[str, _Entry] = {}

    # -- registration ---------------------------------------------------

    def add_group_version(self, gv_path: str, build_v3: V3Builder) -> None:
        """Publish (or replace) the v3 document of C{gv_path}, e.g. C{apis/apps/v1}."""
        self._v3[gv_path.strip("/")] = _Entry(build_v3)
        self.generation += 1

    add_v3 = add_group_version

    def remove_group_version(self, gv_path: str) -> None:
        """Stop publishing C{gv_path}; unknown paths are ignored."""
        if self._v3.pop(gv_path.strip("/"), None) is not None:
            self.generation += 1

    def add_v2(self, key: str, build: V2Builder) -> None:
        """Add (or replace) the v2 contribution named C{key}."""
        self._v2[key] = _Entry(build)
        self.generation += 1

    def remove_v2(self, key: str) -> None:
        if self._v2.pop(key, None) is not None:
            self.generation += 1

    def invalidate(self, gv_path: Optional[str] = None, v2_key: Optional[str] = None) -> None:
        """
        Rebuild on the next request: the named v3 document and/or v2
        contribution, or everything when neither is given.
        """
        if gv_path is None and v2_key is None:
            entries = list(self._v3.values()) + list(self._v2.values())
        else:
            entries = []
            if gv_path is not None and gv_path.strip("/") in self._v3:
                entries.append(self._v3[gv_path.strip("/")])
            if v2_key is not None and v2_key in self._v2:
                entries.append(self._v2[v2_key])
        for entry in entries:
            entry.stale = True
        self.generation += 1

    # -- reading ----------------------------------------------------------

    def group_versions(self) -> List[str]:
        return sorted(self._v3)

    def has_group_version(self, gv_path: str) -> bool:
        return gv_path in self._v3

    def v3_document(self, gv_path: str, now: float) -> Optional[Document]:
        """
        The built document of C{gv_path}, or None if it is not registered.
        A builder that fails leaves the previous document in place (logged);
        with none, the failure is raised.
        """
        entry = self._v3.get(gv_path)
        if entry is None:
            return None
        return entry.get(lambda built: Document.of(built, now), f"v3 document {gv_path}")

    def v2_parts(self) -> List[Tuple[Dict[str, Any], Dict[str, Any]]]:
        """Every v2 contribution's C{(paths, definitions)}, built if needed."""
        return [self._v2[key].get(tuple, f"v2 contribution {key}") for key in sorted(self._v2)]


def v2_swagger(parts: Sequence[Tuple[Dict[str, Any], Dict[str, Any]]], version: str) -> dict:
    """The Swagger 2.0 document kube-apiserver serves, from merged contributions."""
    paths: Dict[str, Any] = {}
    definitions: Dict[str, Any] = {}
    for part_paths, part_definitions in parts:
        for path, item in part_paths.items():
            if path in paths:
                merged = dict(paths[path])
                merged.update(item)
                paths[path] = merged
            else:
                paths[path] = item
        definitions.update(part_definitions)
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": version},
        "paths": paths,
        "definitions": definitions,
        "securityDefinitions": security_schemes(),
        "security": security(),
    }


class OpenAPIPublisher:
    """
    The union of the registries along C{server}'s chain, outermost first (a
    group-version registered twice is served from the outermost server),
    with the merged v2 document and the v3 index cached per state of the
    registries.
    """

    def __init__(self, server: Any) -> None:
        self.server = server
        self._v2: Optional[Document] = None
        self._v2_key: Any = None
        self._index: Optional[Document] = None
        self._index_key: Any = None

    def now(self) -> float:
        return self.server.reactor.seconds()

    def registries(self) -> List[OpenAPIRegistry]:
        return [s.openapi for s in self.server.chain()]

    def _state(self) -> Tuple:
        return tuple((id(r), r.generation) for r in self.registries())

    def v2(self) -> Document:
        state = self._state()
        if self._v2 is None or state != self._v2_key:
            from kapi_twisted.server.version import GIT_VERSION

            try:
                parts = []
                for registry in reversed(self.registries()):
                    parts.extend(registry.v2_parts())
                self._v2 = Document.of(v2_swagger(parts, GIT_VERSION), self.now())
            except Exception:
                if self._v2 is None:
                    raise
                log.failure("OpenAPI v2 document could not be rebuilt")
            self._v2_key = state
        return self._v2

    def group_versions(self) -> List[str]:
        found = set()
        for registry in self.registries():
            found.update(registry.group_versions())
        return sorted(found)

    def v3(self, gv_path: str) -> Optional[Document]:
        for registry in self.registries():
            if registry.has_group_version(gv_path):
                return registry.v3_document(gv_path, self.now())
        return None

    def v3_index(self) -> Document:
        state = self._state()
        if self._index is None or state != self._index_key:
            paths = {}
            for gv in self.group_versions():
                try:
                    document = self.v3(gv)
                except Exception:
                    log.failure("OpenAPI v3 document for {gv} could not be built", gv=gv)
                    continue
                if document is not None:
                    paths[gv] = {"serverRelativeURL": server_relative_url(gv, document.etag)}
            self._index = Document.of({"paths": paths}, self.now())
            self._index_key = state
        return self._index


def server_relative_url(gv_path: str, etag: str) -> str:
    return f"/openapi/v3/{gv_path}?hash={etag}"


# -- content negotiation and conditional answers ---------------------------


def parse_accept(header: Optional[str]) -> List[Tuple[str, str]]:
    """
    C{(type, subtype)} pairs of an Accept header, best first: by quality,
    then the more specific. An empty header means C{*/*}; clauses with
    C{q=0} are dropped.
    """
    if header is None or not header.strip():
        header = "*/*"
    clauses = []
    for position, raw in enumerate(header.split(",")):
        pieces = [p.strip() for p in raw.split(";")]
        media = pieces[0].lower()
        if not media:
            continue
        if media == "*":
            media = "*/*"
        if "/" not in media:
            continue
        major, minor = media.split("/", 1)
        q = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        specificity = (major != "*") + (minor != "*")
        clauses.append((-q, -specificity, position, major, minor))
    clauses.sort()
    return [(major, minor) for _, _, _, major, minor in clauses]


def negotiate(header: Optional[str], offered: Sequence[str]) -> Optional[str]:
    """The first offered media type the Accept header takes, or None."""
    for major, minor in parse_accept(header):
        for media in offered:
            o_major, o_minor = media.split("/", 1)
            if major in ("*", o_major) and minor in ("*", o_minor):
                return media
    return None


def _header(request: Any, name: bytes) -> Optional[str]:
    value = request.getHeader(name)
    if value is None:
        return None
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _accepts_gzip(request: Any) -> bool:
    header = _header(request, b"accept-encoding")
    if not header:
        return False
    for raw in header.split(","):
        pieces = [p.strip() for p in raw.split(";")]
        if pieces[0].lower() not in ("gzip", "*"):
            continue
        q = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            return True
    return False


def _etag_matches(header: str, etag: str) -> bool:
    quoted = f'"{etag}"'
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == "*" or candidate == quoted:
            return True
    return False


def http_date(when: float) -> str:
    return email.utils.formatdate(when, usegmt=True)


def _parse_http_date(text: str) -> Optional[float]:
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.timestamp()


def one_year_later(when: float) -> float:
    """C{when} plus one calendar year (29 February becomes 1 March, as in Go)."""
    moment = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
    try:
        later = moment.replace(year=moment.year + 1)
    except ValueError:
        later = moment.replace(year=moment.year + 1, month=3, day=1)
    return calendar.timegm(later.utctimetuple()) + later.microsecond / 1e6


def serve_document(
    request: Any,
    document: Document,
    content_type: str,
    headers: Optional[Dict[str, str]] = None,
) -> Response:
    """
    Go's C{http.ServeContent} for a built document, behind gzip: ETag,
    Last-Modified, C{If-None-Match}/C{If-Modified-Since} -> 304, and the
    gzip form when the client takes it.
    """
    out = dict(headers or {})
    out["Vary"] = ", ".join(v for v in (out.get("Vary"), "Accept-Encoding") if v)
    out["Etag"] = f'"{document.etag}"'
    out["Last-Modified"] = http_date(document.built_at)
    if _not_modified(request, document):
        out.pop("Last-Modified", None)
        return Response(b"", 304, None, out)
    body = document.body
    if len(body) >= _GZIP_MIN_SIZE and _accepts_gzip(request):
        out["Content-Encoding"] = "gzip"
        body = document.gzipped()
    return Response(body, 200, content_type, out)


def _not_modified(request: Any, document: Document) -> bool:
    if request.method not in (b"GET", b"HEAD"):
        return False
    if_none_match = _header(request, b"if-none-match")
    if if_none_match is not None:
        return _etag_matches(if_none_match, document.etag)
    if_modified_since = _header(request, b"if-modified-since")
    if if_modified_since:
        since = _parse_http_date(if_modified_since)
        if since is not None and int(document.built_at) <= since:
            return True
    return False


# -- the resources -------------------------------------------------------------


class OpenAPIV2Resource(APIResource):
    """C{/openapi/v2}: the merged Swagger 2.0 document, JSON only."""

    def __init__(self, publisher: OpenAPIPublisher) -> None:
        super().__init__()
        self.publisher = publisher

    def handle(self, request: Any) -> Response:
        if request.postpath:
            return Response(b"404 page not found\n", 404, "text/plain; charset=utf-8",
                            {"X-Content-Type-Options": "nosniff"})
        vary = {"Vary": "Accept"}
        if negotiate(_header(request, b"accept"), [JSON]) is None:
            return Response(b"", 406, None, vary)
        try:
            document = self.publisher.v2()
        except Exception:
            log.failure("OpenAPI v2 document could not be built")
            return Response(b"", 503, None, vary)
        return serve_document(request, document, JSON, vary)


class OpenAPIV3Resource(APIResource):
    """
    C{/openapi/v3} (the index of group-versions with their hashes) and
    C{/openapi/v3/<gv>} (one group-version's document).
    """

    def __init__(self, publisher: OpenAPIPublisher) -> None:
        super().__init__()
        self.publisher = publisher

    def handle(self, request: Any) -> Response:
        if not request.postpath:
            return self._index(request)
        gv_path = b"/".join(request.postpath).decode("utf-8", "replace")
        return self._group_version(request, gv_path)

    def _index(self, request: Any) -> Response:
        return serve_document(request, self.publisher.v3_index(), JSON)

    def _group_version(self, request: Any, gv_path: str) -> Response:
        vary = {"Vary": "Accept"}
        if negotiate(_header(request, b"accept"), [JSON]) is None:
            return Response(b"", 406, None, vary)
        try:
            document = self.publisher.v3(gv_path)
        except Exception:
            log.failure("OpenAPI v3 document for {gv} could not be built", gv=gv_path)
            return Response(b"", 503, None, vary)
        if document is None:
            return Response(b"", 404, None, vary)
        args = getattr(request, "args", {}) or {}
        hashes = args.get(b"hash") or [b""]
        wanted = hashes[0].decode("latin-1")
        if wanted:
            if wanted != document.etag:
                return _redirect(request, server_relative_url(gv_path, document.etag), vary)
            vary["Cache-Control"] = "public, immutable"
            vary["Expires"] = http_date(one_year_later(self.publisher.now()))
        return serve_document(request, document, JSON, vary)


def _redirect(request: Any, location: str, headers: Dict[str, str]) -> Response:
    """Go's C{http.Redirect} with 301."""
    out = dict(headers)
    out["Location"] = location
    body = b""
    content_type = None
    if request.method in (b"GET", b"HEAD"):
        content_type = "text/html; charset=utf-8"
        escaped = location.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        escaped = escaped.replace('"', "&#34;").replace("'", "&#39;")
        body = f'<a href="{escaped}">Moved Permanently</a>.\n\n'.encode()
    return Response(body, 301, content_type, out)


def install_openapi(server: Any) -> None:
    """
    Install C{/openapi/v2} and C{/openapi/v3} on C{server}'s tree (its part
    of C{PrepareRun}); they publish what C{server} and its delegates register.
    """
    publisher = OpenAPIPublisher(server)
    server.install("/openapi/v2", OpenAPIV2Resource(publisher))
    server.install("/openapi/v3", OpenAPIV3Resource(publisher))


def security_schemes() -> Dict[str, Any]:
    """
    The bearer-token scheme every kube OpenAPI document declares (v2
    C{securityDefinitions}, v3 C{components.securitySchemes}); a new dict
    each call, as documents are built and cached separately.
    """
    return {"BearerToken": {"type": "apiKey", "name": "authorization", "in": "header",
                            "description": "Bearer token authentication"}}


def security() -> List[Dict[str, List[str]]]:
    """The document-wide C{security} requirement naming that scheme."""
    return [{"BearerToken": []}]
