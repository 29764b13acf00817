"""
Kubernetes' protobuf encoding of built-in objects (C{application/vnd.kubernetes.protobuf}).

kubectl 1.32 and client-go typed clients send request bodies in protobuf and do not retry
a 415 as JSON, so the server must read them.  L{decode} turns a body into exactly the dict
the JSON encoding of the same object would be, so everything past content negotiation
handles one form; L{encode} writes the protobuf form of a dict for clients that prefer it.

The wire format: the 4 bytes C{k8s\\0}, then a C{runtime.Unknown} message
C{{1: typeMeta{1: apiVersion, 2: kind}, 2: raw, 3: contentEncoding, 4: contentType}} whose
C{raw} is the object's own message.  Field numbers and types come from the table
C{tools/gen_proto_table.py} derives from Kubernetes' C{generated.proto} files (loaded on
first use).  Types whose JSON differs from their message are converted here: Time and
MicroTime (RFC 3339 strings), Duration (Go duration strings), Quantity (a string),
IntOrString (an int or a string), RawExtension and FieldsV1 (embedded JSON), bytes
(base64), named slices such as ExtraValue (bare lists) and embedded structs (inlined).

Zero values: Go writes plain (non-pointer) fields even when zero, while JSON omits them
(C{omitempty}); pointer fields are written only when set, and JSON keeps an explicit zero
(C{replicas: 0}).  The table records which zero scalars belong in the JSON form.
"""

from __future__ import annotations

import base64
import calendar
import functools
import gzip
import json
import os
import re
import struct
import time
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["ProtobufError", "MEDIA_TYPE", "WATCH_MEDIA_TYPE", "MAGIC", "decode", "encode",
           "decode_message", "encode_message", "message_for", "encode_watch_event",
           "decode_watch_event", "format_duration", "parse_duration"]

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
WATCH_MEDIA_TYPE = MEDIA_TYPE + ";stream=watch"
MAGIC = b"k8s\x00"

_TABLE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "protobuf_fields.json.gz")

_META = "k8s.io.apimachinery.pkg.apis.meta.v1."
_TIME = _META + "Time"
_MICROTIME = _META + "MicroTime"
_DURATION = _META + "Duration"
_FIELDSV1 = _META + "FieldsV1"
_QUANTITY = "k8s.io.apimachinery.pkg.api.resource.Quantity"
_QUANTITY_VALUE = "k8s.io.apimachinery.pkg.api.resource.QuantityValue"
_INT_OR_STRING = "k8s.io.apimachinery.pkg.util.intstr.IntOrString"
_RAW_EXTENSION = "k8s.io.apimachinery.pkg.runtime.RawExtension"

_VARINT_TYPES = {"int32", "int64", "uint32", "uint64", "sint32", "sint64", "bool"}
_FIXED64 = {"double", "fixed64", "sfixed64"}
_FIXED32 = {"float", "fixed32", "sfixed32"}


class ProtobufError(ValueError):
    """The body is not a Kubernetes protobuf object this server can read."""


# --- the field table ----------------------------------------------------------------------

Field = Tuple[int, str, str, str, int]  # number, JSON name, type, label (o/r/m), emit zero


@functools.lru_cache(maxsize=None)
def _table() -> Dict[str, Any]:
    with gzip.open(_TABLE_FILE, "rb") as f:
        data = json.loads(f.read())
    messages = {}
    for name, entry in data["messages"].items():
        fields = [tuple(f) for f in entry["f"]]
        messages[name] = {
            "fields": fields,
            "by_number": {f[0]: f for f in fields},
            "wrapper": bool(entry.get("w")),
        }
    return {"messages": messages, "kinds": data["kinds"]}


def message_for(api_version: str, kind: str) -> Optional[str]:
    """The protobuf message name of a kind (C{"apps/v1", "Deployment"} -> C{k8s.io.api.apps.v1.Deployment})."""
    group, _, version = api_version.rpartition("/")
    return _table()["kinds"].get("%s/%s/%s" % (group, version, kind))


# --- wire reading -------------------------------------------------------------------------

def _varint(buf: bytes, pos: int) -> Tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ProtobufError("varint too long")


def _fields(buf: bytes) -> List[Tuple[int, int, Any]]:
    """(field number, wire type, raw value) of every field of one message."""
    out = []
    pos = 0
    end = len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            if pos + 8 > end:
                raise ProtobufError("truncated fixed64")
            value = buf[pos:pos + 8]
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > end:
                raise ProtobufError("truncated length-delimited field")
            value = buf[pos:pos + length]
            pos += length
        elif wire == 5:
            if pos + 4 > end:
                raise ProtobufError("truncated fixed32")
            value = buf[pos:pos + 4]
            pos += 4
        else:
            raise ProtobufError("unsupported wire type %d" % wire)
        out.append((number, wire, value))
    return out


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _scalar(ftype: str, wire: int, value: Any) -> Any:
    if ftype == "string":
        if wire != 2:
            raise ProtobufError("string field with wire type %d" % wire)
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtobufError("string field is not UTF-8")
    if ftype == "bytes":
        if wire != 2:
            raise ProtobufError("bytes field with wire type %d" % wire)
        return base64.b64encode(value).decode("ascii")
    expected = 1 if ftype in _FIXED64 else 5 if ftype in _FIXED32 else 0
    if wire != expected:
        raise ProtobufError("%s field with wire type %d" % (ftype, wire))
    if ftype == "bool":
        return value != 0
    if ftype == "int32":
        return _signed(value, 32)
    if ftype == "int64":
        return _signed(value, 64)
    if ftype in ("uint32", "uint64"):
        return value
    if ftype in ("sint32", "sint64"):
        return (value >> 1) ^ -(value & 1)
    if ftype == "double":
        return struct.unpack("<d", value)[0]
    if ftype == "float":
        return struct.unpack("<f", value)[0]
    if ftype in ("fixed32", "fixed64"):
        return int.from_bytes(value, "little")
    if ftype in ("sfixed32", "sfixed64"):
        return int.from_bytes(value, "little", signed=True)
    raise ProtobufError("unknown scalar type %s" % ftype)


def _unpack(ftype: str, value: bytes) -> List[Any]:
    """A packed repeated scalar field."""
    out = []
    if ftype in _VARINT_TYPES:
        pos = 0
        while pos < len(value):
            v, pos = _varint(value, pos)
            out.append(_scalar(ftype, 0, v))
    else:
        size = 8 if ftype in _FIXED64 else 4
        for i in range(0, len(value), size):
            out.append(_scalar(ftype, 1, value[i:i + size]))
    return out


def _is_zero(value: Any) -> bool:
    return value is False or value == 0 or value == "" or value is None


# --- special types -------------------------------------------------------------------------

def _format_time(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _decode_special(name: str, buf: bytes) -> Any:
    raw = {number: value for number, _, value in _fields(buf)}
    if name == _TIME:
        if not buf:
            return None  # the zero Time: JSON null
        # Go drops sub-second precision when it reads a Time.
        return _format_time(_signed(raw.get(1, 0), 64))
    if name == _MICROTIME:
        if not buf:
            return None
        seconds = _signed(raw.get(1, 0), 64)
        micros = _signed(raw.get(2, 0), 32) // 1000
        return "%s.%06dZ" % (_format_time(seconds)[:-1], micros)
    if name == _DURATION:
        return format_duration(_signed(raw.get(1, 0), 64))
    if name in (_QUANTITY, _QUANTITY_VALUE):
        return raw.get(1, b"").decode("utf-8")
    if name == _INT_OR_STRING:
        if _signed(raw.get(1, 0), 64) == 1:
            return raw.get(3, b"").decode("utf-8")
        return _signed(raw.get(2, 0), 32)
    if name in (_RAW_EXTENSION, _FIELDSV1):
        data = raw.get(1, b"")
        if not data:
            return None if name == _RAW_EXTENSION else {}
        try:
            return json.loads(data)
        except ValueError:
            raise ProtobufError("%s does not hold JSON" % name.rsplit(".", 1)[-1])
    raise AssertionError(name)


_SPECIAL = frozenset([_TIME, _MICROTIME, _DURATION, _QUANTITY, _QUANTITY_VALUE, _INT_OR_STRING,
                      _RAW_EXTENSION, _FIELDSV1])


# --- decoding -------------------------------------------------------------------------------

def _decode_value(ftype: str, wire: int, value: Any, messages: Dict[str, Any]) -> Any:
    if ftype in _SPECIAL:
        return _decode_special(ftype, value)
    if ftype in messages:
        if wire != 2:
            raise ProtobufError("message field with wire type %d" % wire)
        return _decode(ftype, value, messages)
    return _scalar(ftype, wire, value)


def _decode(name: str, buf: bytes, messages: Dict[str, Any]) -> Any:
    msg = messages.get(name)
    if msg is None:
        raise ProtobufError("no protobuf schema for %s" % name)
    by_number = msg["by_number"]
    values: Dict[int, Any] = {}
    for number, wire, raw in _fields(buf):
        field = by_number.get(number)
        if field is None:
            continue  # unknown fields are dropped, as Go does
        _, _, ftype, label, _ = field
        if label == "r":
            items = values.setdefault(number, [])
            if wire == 2 and ftype not in messages and ftype not in ("string", "bytes") \
                    and ftype not in _SPECIAL:
                items.extend(_unpack(ftype, raw))
            else:
                items.append(_decode_value(ftype, wire, raw, messages))
        elif label == "m":
            entry = {n: (w, v) for n, w, v in _fields(raw)}
            key = entry[1][1].decode("utf-8") if 1 in entry else ""
            if 2 in entry:
                item = _decode_value(ftype, entry[2][0], entry[2][1], messages)
            else:
                item = _empty_value(ftype, messages)
            values.setdefault(number, {})[key] = item
        else:
            values[number] = _decode_value(ftype, wire, raw, messages)
    if msg["wrapper"]:
        return values.get(msg["fields"][0][0], [])
    out: Dict[str, Any] = {}
    for number, json_name, ftype, label, emit_zero in msg["fields"]:
        if number not in values:
            continue
        value = values[number]
        if not json_name:
            out.update(value)  # an embedded struct: JSON inlines its fields
            continue
        if label == "o" and not emit_zero and ftype not in messages and _is_zero(value):
            continue
        out[json_name] = value
    return out


def _empty_value(ftype: str, messages: Dict[str, Any]) -> Any:
    if ftype in _SPECIAL or ftype in messages:
        return _decode_value(ftype, 2, b"", messages)
    return {"string": "", "bytes": "", "bool": False}.get(ftype, 0)


def decode_message(message: str, raw: bytes) -> Dict[str, Any]:
    """The JSON form of one encoded message (no envelope, no apiVersion/kind)."""
    try:
        return _decode(message, raw, _table()["messages"])
    except ProtobufError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError, struct.error, OverflowError,
            RecursionError) as e:
        # A field whose wire type does not fit its schema, deep in a special type.
        raise ProtobufError("malformed %s: %s" % (message.rsplit(".", 1)[-1], e))


def _unwrap(body: bytes) -> Tuple[str, str, bytes]:
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with the protobuf envelope prefix")
    api_version = kind = ""
    raw = b""
    content_encoding = ""
    for number, wire, value in _fields(body[len(MAGIC):]):
        if number == 1 and wire == 2:
            for n, w, v in _fields(value):
                if n == 1 and w == 2:
                    api_version = v.decode("utf-8")
                elif n == 2 and w == 2:
                    kind = v.decode("utf-8")
        elif number == 2 and wire == 2:
            raw = value
        elif number == 3 and wire == 2:
            content_encoding = value.decode("utf-8")
    if content_encoding:
        raise ProtobufError("unsupported contentEncoding %r" % content_encoding)
    return api_version, kind, raw


def decode(body: bytes, api_version: str = "", kind: str = "") -> Dict[str, Any]:
    """
    The dict the JSON encoding of the same object would be, C{kind} and C{apiVersion} first.

    C{api_version}/C{kind} are used when the envelope leaves them empty.  Raises
    L{ProtobufError} for anything unreadable (the caller answers 400).
    """
    try:
        wire_version, wire_kind, raw = _unwrap(body)
    except (AttributeError, UnicodeDecodeError) as e:
        raise ProtobufError("malformed protobuf envelope: %s" % (e,))
    api_version = wire_version or api_version
    kind = wire_kind or kind
    if not api_version or not kind:
        raise ProtobufError("the protobuf envelope does not name the object's kind")
    message = message_for(api_version, kind)
    if message is None:
        raise ProtobufError("no protobuf schema for %s, Kind=%s" % (api_version, kind))
    obj: Dict[str, Any] = {"kind": kind, "apiVersion": api_version}
    obj.update(decode_message(message, raw))
    return obj


# --- encoding -------------------------------------------------------------------------------

def _write_varint(out: bytearray, value: int) -> None:
    value &= (1 << 64) - 1
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return


def _write_key(out: bytearray, number: int, wire: int) -> None:
    _write_varint(out, (number << 3) | wire)


def _write_bytes(out: bytearray, number: int, data: bytes) -> None:
    _write_key(out, number, 2)
    _write_varint(out, len(data))
    out += data


_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?"
                      r"(?:([Zz])|([+-])(\d\d):(\d\d))$")


def _parse_time(value: str) -> Tuple[int, int]:
    m = _RFC3339.match(value)
    if not m:
        raise ProtobufError("invalid time %r" % value)
    seconds = calendar.timegm(tuple(int(m.group(i)) for i in range(1, 7)) + (0, 0, 0))
    nanos = int((m.group(7) or "0")[:9].ljust(9, "0"))
    if m.group(9):
        offset = int(m.group(10)) * 3600 + int(m.group(11)) * 60
        seconds -= offset if m.group(9) == "+" else -offset
    return seconds, nanos


def _encode_special(name: str, value: Any) -> bytes:
    out = bytearray()
    if name in (_TIME, _MICROTIME):
        seconds, nanos = _parse_time(value)
        if name == _TIME:
            nanos = 0
        if seconds:
            _write_key(out, 1, 0)
            _write_varint(out, seconds)
        if nanos:
            _write_key(out, 2, 0)
            _write_varint(out, nanos)
    elif name == _DURATION:
        _write_key(out, 1, 0)
        _write_varint(out, parse_duration(value))
    elif name in (_QUANTITY, _QUANTITY_VALUE):
        _write_bytes(out, 1, str(value).encode("utf-8"))
    elif name == _INT_OR_STRING:
        if isinstance(value, str):
            _write_key(out, 1, 0)
            _write_varint(out, 1)
            _write_key(out, 2, 0)
            _write_varint(out, 0)
            _write_bytes(out, 3, value.encode("utf-8"))
        else:
            _write_key(out, 1, 0)
            _write_varint(out, 0)
            _write_key(out, 2, 0)
            _write_varint(out, int(value))
            _write_bytes(out, 3, b"")
    elif name in (_RAW_EXTENSION, _FIELDSV1):
        _write_bytes(out, 1, json.dumps(value, separators=(",", ":")).encode("utf-8"))
    return bytes(out)


def _encode_scalar(out: bytearray, number: int, ftype: str, value: Any) -> None:
    if ftype == "string":
        _write_bytes(out, number, str(value).encode("utf-8"))
    elif ftype == "bytes":
        try:
            _write_bytes(out, number, base64.b64decode(value, validate=True))
        except (ValueError, TypeError):
            raise ProtobufError("bytes field is not base64")
    elif ftype in ("double", "float"):
        if ftype == "double":
            _write_key(out, number, 1)
            out += struct.pack("<d", float(value))
        else:
            _write_key(out, number, 5)
            out += struct.pack("<f", float(value))
    elif ftype in ("sint32", "sint64"):
        _write_key(out, number, 0)
        v = int(value)
        _write_varint(out, (v << 1) ^ (v >> 63))
    elif ftype in ("fixed32", "sfixed32"):
        _write_key(out, number, 5)
        out += int(value).to_bytes(4, "little", signed=ftype == "sfixed32")
    elif ftype in ("fixed64", "sfixed64"):
        _write_key(out, number, 1)
        out += int(value).to_bytes(8, "little", signed=ftype == "sfixed64")
    else:
        _write_key(out, number, 0)
        _write_varint(out, int(bool(value)) if ftype == "bool" else int(value))


def _encode_value(out: bytearray, number: int, ftype: str, value: Any,
                  messages: Dict[str, Any]) -> None:
    if ftype in _SPECIAL:
        _write_bytes(out, number, _encode_special(ftype, value))
    elif ftype in messages:
        _write_bytes(out, number, _encode(ftype, value, messages))
    else:
        _encode_scalar(out, number, ftype, value)


def _encode(name: str, obj: Any, messages: Dict[str, Any]) -> bytes:
    msg = messages.get(name)
    if msg is None:
        raise ProtobufError("no protobuf schema for %s" % name)
    if msg["wrapper"]:
        obj = {msg["fields"][0][1]: obj}
    if not isinstance(obj, dict):
        raise ProtobufError("%s must be an object" % name.rsplit(".", 1)[-1])
    out = bytearray()
    for number, json_name, ftype, label, _ in msg["fields"]:
        if not json_name:
            _write_bytes(out, number, _encode(ftype, obj, messages))
            continue
        value = obj.get(json_name)
        if value is None:
            if json_name in obj and label == "o" and ftype in (_TIME, _MICROTIME):
                _write_bytes(out, number, b"")  # the zero Time, as Go writes it
            continue
        if label == "r":
            for item in value:
                _encode_value(out, number, ftype, item, messages)
        elif label == "m":
            for key in sorted(value):
                entry = bytearray()
                _write_bytes(entry, 1, key.encode("utf-8"))
                if value[key] is not None:
                    _encode_value(entry, 2, ftype, value[key], messages)
                _write_bytes(out, number, bytes(entry))
        else:
            _encode_value(out, number, ftype, value, messages)
    return bytes(out)


def encode_message(message: str, obj: Dict[str, Any]) -> bytes:
    """One message's bytes from its JSON form (no envelope)."""
    try:
        return _encode(message, obj, _table()["messages"])
    except ProtobufError:
        raise
    except (AttributeError, TypeError, ValueError, OverflowError, RecursionError) as e:
        # A value whose JSON type does not fit its field (a string where an int belongs).
        raise ProtobufError("cannot encode %s: %s" % (message.rsplit(".", 1)[-1], e))


def encode(obj: Dict[str, Any], api_version: str = "", kind: str = "") -> bytes:
    """The protobuf envelope and message for a JSON-form object (its own apiVersion/kind win)."""
    api_version = obj.get("apiVersion") or api_version
    kind = obj.get("kind") or kind
    message = message_for(api_version, kind)
    if message is None:
        raise ProtobufError("no protobuf schema for %s, Kind=%s" % (api_version, kind))
    raw = encode_message(message, obj)
    type_meta = bytearray()
    _write_bytes(type_meta, 1, api_version.encode("utf-8"))
    _write_bytes(type_meta, 2, kind.encode("utf-8"))
    out = bytearray(MAGIC)
    _write_bytes(out, 1, bytes(type_meta))
    _write_bytes(out, 2, raw)
    _write_bytes(out, 3, b"")
    _write_bytes(out, 4, b"")
    return bytes(out)


def encode_watch_event(event_type: str, obj: Dict[str, Any]) -> bytes:
    """
    One frame of a protobuf watch stream (C{WATCH_MEDIA_TYPE}): a 4-byte big-endian length,
    then a bare C{WatchEvent{type, object: RawExtension{raw}}} whose C{raw} is the object
    in the ordinary enveloped encoding (L{encode}).
    """
    event = bytearray()
    _write_bytes(event, 1, event_type.encode("utf-8"))
    raw = bytearray()
    _write_bytes(raw, 1, encode(obj))
    _write_bytes(event, 2, bytes(raw))
    return struct.pack(">I", len(event)) + bytes(event)


def decode_watch_event(message: bytes) -> Dict[str, Any]:
    """C{{"type": ..., "object": ...}} from one frame's message (without the length prefix)."""
    event_type = ""
    raw = b""
    try:
        for number, wire, value in _fields(message):
            if number == 1 and wire == 2:
                event_type = value.decode("utf-8")
            elif number == 2 and wire == 2:
                for n, w, v in _fields(value):
                    if n == 1 and w == 2:
                        raw = v
    except UnicodeDecodeError as e:
        raise ProtobufError("malformed watch event: %s" % (e,))
    return {"type": event_type, "object": decode(raw)}


# --- Go durations ----------------------------------------------------------------------------

def _fraction(value: int, digits: int) -> str:
    """C{value / 10**digits} as Go prints it: no trailing zeros, no dot if whole."""
    whole, frac = divmod(value, 10 ** digits)
    if not frac:
        return str(whole)
    return "%d.%s" % (whole, ("%0*d" % (digits, frac)).rstrip("0"))


def format_duration(nanos: int) -> str:
    """Go's C{time.Duration.String()}: C{1h0m0s}, C{1.5s}, C{300ms}, C{0s}."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    u = abs(nanos)
    if u < 1000:
        return "%s%dns" % (sign, u)
    if u < 1000000:
        return "%s%s\u00b5s" % (sign, _fraction(u, 3))
    if u < 1000000000:
        return "%s%sms" % (sign, _fraction(u, 6))
    seconds, frac = divmod(u, 1000000000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    text = _fraction(seconds * 1000000000 + frac, 9) + "s"
    if hours or minutes:
        text = "%dm%s" % (minutes, text)
    if hours:
        text = "%dh%s" % (hours, text)
    return sign + text


_DURATION_UNITS = {"ns": 1, "us": 1000, "\u00b5s": 1000, "\u03bcs": 1000, "ms": 1000000,
                   "s": 1000000000, "m": 60000000000, "h": 3600000000000}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse_duration(text: str) -> int:
    """Go's C{time.ParseDuration}, in nanoseconds."""
    s = text.strip()
    sign = 1
    if s[:1] in "+-" and s:
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ProtobufError("invalid duration %r" % text)
    total = 0
    pos = 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if not m:
            raise ProtobufError("invalid duration %r" % text)
        number, unit = m.groups()
        whole, _, frac = number.partition(".")
        scale = _DURATION_UNITS[unit]
        total += int(whole or "0") * scale
        if frac:
            total += int(frac) * scale // (10 ** len(frac))
        pos = m.end()
    return sign * total
