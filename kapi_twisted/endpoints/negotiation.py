"""
Content negotiation, as k8s.io/apiserver's C{negotiation} package does it:
which representation an answer takes (JSON, YAML; the object itself, a
C{Table}, or C{PartialObjectMetadata[List]}) from the C{Accept} header, and
how a request body is decoded from its C{Content-Type}.

Protobuf is understood in request bodies; answers are JSON, which clients
asking for protobuf also accept (they list C{application/json} after it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from kapi_twisted import apierrors
from kapi_twisted.registry._encoding import compact_json

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"

#: What kube-apiserver lists for built-in resources in 406 and 415 answers.
SERVED_TYPES = (JSON, YAML, PROTOBUF)

# Outputs: the object itself, or a transformation of it.
OBJECT = ""
TABLE = "Table"
PARTIAL = "PartialObjectMetadata"
PARTIAL_LIST = "PartialObjectMetadataList"

_META_VERSIONS = ("v1", "v1beta1")


@dataclass(frozen=True)
class MediaRange:
    type: str
    params: Tuple[Tuple[str, str], ...] = ()
    q: float = 1.0

    def param(self, name: str) -> str:
        for key, value in self.params:
            if key == name:
                return value
        return ""


@dataclass(frozen=True)
class Output:
    """
    A negotiated answer: C{media} is C{application/json} or
    C{application/yaml}; C{transform} one of L{OBJECT}, L{TABLE}, L{PARTIAL},
    L{PARTIAL_LIST}; C{version} the C{meta.k8s.io} version of the transform;
    C{pretty} asks for indented JSON.
    """

    media: str = JSON
    transform: str = OBJECT
    version: str = "v1"
    pretty: bool = False
    include_object: str = "Metadata"

    @property
    def meta_api_version(self) -> str:
        return f"meta.k8s.io/{self.version}"


def parse_media_type(text: str) -> Tuple[str, Dict[str, str]]:
    """C{"application/json; charset=utf-8"} -> C{("application/json", {"charset": "utf-8"})}."""
    parts = text.split(";")
    media = parts[0].strip().lower()
    params: Dict[str, str] = {}
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        if sep:
            params[key.strip().lower()] = value.strip().strip('"')
    return media, params


# Parsed Accept headers: clients send the same few on every request.
_ACCEPT_CACHE: Dict[str, Tuple[MediaRange, ...]] = {}
_ACCEPT_CACHE_SIZE = 256
# Only headers up to this long are remembered (here and in negotiate): real
# clients' are short (kubectl's longest is about 130 characters), and a
# header may be up to 1 MiB, whose parsed clauses take some 15 MB.
_MEMO_MAX_ACCEPT = 1024


def parse_accept(header: str) -> List[MediaRange]:
    """The clauses of an C{Accept} header, best first (stable for equal C{q})."""
    cached = _ACCEPT_CACHE.get(header)
    if cached is None:
        cached = tuple(_parse_accept(header))
        if len(header) <= _MEMO_MAX_ACCEPT:
            if len(_ACCEPT_CACHE) >= _ACCEPT_CACHE_SIZE:
                _ACCEPT_CACHE.clear()
            _ACCEPT_CACHE[header] = cached
    return list(cached)


def _parse_accept(header: str) -> List[MediaRange]:
    ranges = []
    for clause in header.split(","):
        clause = clause.strip()
        if not clause:
            continue
        media, params = parse_media_type(clause)
        q = 1.0
        if "q" in params:
            try:
                q = float(params.pop("q"))
            except ValueError:
                q = 0.0
        if q <= 0:
            continue
        ranges.append(MediaRange(media, tuple(params.items()), q))
    ranges.sort(key=lambda r: -r.q)
    return ranges


_PRETTY_AGENTS = ("curl", "Wget", "Mozilla/5.0")


def wants_pretty(query: Dict[str, List[str]], user_agent: str) -> bool:
    """C{?pretty=true}, or a curl/Wget/browser User-Agent (without C{?pretty=false})."""
    pretty = (query.get("pretty") or [""])[0]
    if pretty:
        return pretty in ("1", "t", "T", "TRUE", "true", "True")
    return user_agent.startswith(_PRETTY_AGENTS)


# Answers of negotiate by everything they depend on: clients send the same
# few Accept headers on every request. Outputs are immutable; bounded (the
# header is the client's: short ones only, emptied when full).
_NEGOTIATED: Dict[tuple, Output] = {}
_MAX_NEGOTIATED = 256


def negotiate(
    accept: str,
    verb: str,
    query: Dict[str, List[str]],
    user_agent: str = "",
    streaming: bool = False,
) -> Output:
    """
    Pick the answer's representation for a request of C{verb} (C{get},
    C{list}, C{watch} or a write). Raises 406 when nothing acceptable is
    offered, and 400 for a bad C{includeObject}.
    """
    pretty = wants_pretty(query, user_agent)
    include = query.get("includeObject")
    key = (accept, verb, streaming, pretty, include[0] if include else None)
    output = _NEGOTIATED.get(key)
    if output is None:
        output = _negotiate(accept, verb, query, pretty, streaming)
        if len(accept) <= _MEMO_MAX_ACCEPT:
            if len(_NEGOTIATED) >= _MAX_NEGOTIATED:
                _NEGOTIATED.clear()
            _NEGOTIATED[key] = output
    return output


def _negotiate(accept: str, verb: str, query: Dict[str, List[str]], pretty: bool,
               streaming: bool) -> Output:
    ranges = parse_accept(accept) if accept.strip() else [MediaRange("*/*")]
    for r in ranges:
        if r.type in (JSON, "*/*", "application/*"):
            media = JSON
        elif r.type == YAML and not streaming:
            media = YAML
        else:
            continue
        transform = r.param("as")
        if not transform:
            return Output(media, OBJECT, pretty=pretty)
        if r.param("g") != "meta.k8s.io" or r.param("v") not in _META_VERSIONS:
            continue
        version = r.param("v")
        if transform == TABLE and verb in ("get", "list", "watch"):
            return Output(media, TABLE, version, pretty, _include_object(query))
        if transform == PARTIAL and verb in ("get", "watch", "patch", "update", "create"):
            return Output(media, PARTIAL, version, pretty)
        if transform == PARTIAL_LIST and verb in ("list", "watch", "deletecollection"):
            return Output(media, PARTIAL_LIST if verb != "watch" else PARTIAL, version, pretty)
    raise apierrors.not_acceptable(SERVED_TYPES)


def _include_object(query: Dict[str, List[str]]) -> str:
    value = (query.get("includeObject") or [""])[0]
    if value in ("", "Metadata"):
        return "Metadata"
    if value in ("None", "Object"):
        return value
    raise apierrors.bad_request(
        f'includeObject: Unsupported value: "{value}": supported values: '
        '"None", "Object", "Metadata"'
    )


# -- request bodies ---------------------------------------------------------


def decode_body(content_type: str, body: bytes, api_version: str = "",
                kind: str = "", duplicates: Optional[List[str]] = None) -> Any:
    """
    Decode a request body by its C{Content-Type}: JSON (also when absent),
    YAML or Kubernetes protobuf (C{api_version}/C{kind}: the expected type);
    anything else is 415. With C{duplicates}, the paths of JSON fields given
    twice are appended to it (for C{fieldValidation}).
    """
    media, _ = parse_media_type(content_type or "")
    if media in ("", JSON):
        if duplicates is not None:
            return decode_json_noting_duplicates(body, duplicates)
        return decode_json(body)
    if media in (YAML, "application/x-yaml", "text/yaml"):
        return decode_yaml(body)
    if media == PROTOBUF:
        return decode_protobuf(body, api_version, kind)
    raise apierrors.unsupported_media_type(media, SERVED_TYPES)


def decode_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise apierrors.bad_request(f"the object provided is unrecognized: {_first_line(e)}") from None


class _Repeated(dict):
    """A JSON object in which some keys appeared more than once (the last wins)."""

    repeated: List[str] = []


def _repeated_paths(value: Any, path: str, found: List[str]) -> None:
    if isinstance(value, dict):
        if isinstance(value, _Repeated):
            found.extend(f"{path}.{k}" if path else k for k in value.repeated)
        for key, child in value.items():
            _repeated_paths(child, f"{path}.{key}" if path else key, found)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _repeated_paths(child, f"{path}[{index}]", found)


# Repeated keys seen so far (by any thread): a decode that sees this move
# looks for the marked objects in what it decoded.
_repeats = [0]


def _note_repeats(pairs: list) -> dict:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set = set()
    repeated = _Repeated(obj)
    repeated.repeated = sorted({k for k, _ in pairs if k in seen or seen.add(k)})
    _repeats[0] += 1
    return repeated


# One decoder for every request: building a JSONDecoder (its scanner) costs
# about as much as decoding a small object.
_NOTING_DECODER = json.JSONDecoder(object_pairs_hook=_note_repeats)


def decode_json_noting_duplicates(body: bytes, duplicates: List[str]) -> Any:
    """Decode JSON, appending to C{duplicates} the paths of fields given twice."""
    before = _repeats[0]
    try:
        if isinstance(body, (bytes, bytearray)):  # as json.loads reads bytes
            text = body.decode(json.detect_encoding(body), "surrogatepass")
        else:
            text = body
            if text.startswith("\ufeff"):
                raise ValueError("Unexpected UTF-8 BOM (decode using utf-8-sig)")
        value = _NOTING_DECODER.decode(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise apierrors.bad_request(f"the object provided is unrecognized: {_first_line(e)}") from None
    if _repeats[0] != before:
        _repeated_paths(value, "", duplicates)
    return value


def decode_yaml(body: bytes) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        value = yaml.load(body, Loader=loader)
    except yaml.YAMLError as e:
        raise apierrors.bad_request(f"error converting YAML to JSON: {_first_line(e)}") from None
    return _jsonable(value)


def _jsonable(value: Any) -> Any:
    """YAML's timestamps and dates become RFC 3339 text, as sigs.k8s.io/yaml does."""
    import datetime

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def decode_protobuf(body: bytes, api_version: str = "", kind: str = "") -> Any:
    try:
        from kapi_twisted.apis import protobuf
    except ImportError:
        raise apierrors.unsupported_media_type(PROTOBUF, (JSON, YAML)) from None
    try:
        return protobuf.decode(body, api_version, kind)
    except apierrors.APIError:
        raise
    except Exception as e:
        raise apierrors.bad_request(
            f"the object provided is unrecognized: {_first_line(e)}"
        ) from None


def _first_line(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:300]


# -- answers ----------------------------------------------------------------


def encode(obj: Any, output: Output) -> bytes:
    """An object (or list, Table, Status...) in the negotiated media type."""
    if output.media == YAML:
        return encode_yaml(obj)
    if output.pretty:
        return json.dumps(obj, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    return compact_json(obj).encode("utf-8")


def encode_yaml(obj: Any) -> bytes:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(
        obj, Dumper=dumper, default_flow_style=False, allow_unicode=True, sort_keys=True
    ).encode("utf-8")
