"""
A fast HPACK decoder (RFC 7541) for HTTP/2 request header blocks.

hpack's own decoder copies the rest of the block for every literal, logs
every field and Huffman-decodes a nibble at a time: about 35 microseconds
a create under h2load (some 40% of the receiving work), most of it
re-decoding the same Huffman strings: h2load and other nghttp2 clients
never index C{:path}, C{content-length} or C{authorization}, so a bearer
token arrives Huffman-coded on every request.

This one reads the block in one loop over its bytes and decodes Huffman
strings a byte at a time through a 256-state table (built on first use,
some 40 ms and 1 MB). Decoded strings are remembered, keyed by their coded
bytes (a bounded cache shared by connections): a repeated token or path
costs a dictionary lookup. Whole blocks that leave the dynamic table alone
are remembered too, per connection, until the table next changes: a client
repeating a request sends the same bytes, decoded once. Such a block takes
about 6 microseconds with a new path each time, 0.2 when it repeats.

The dynamic table is hpack's L{HeaderTable}, and the decoder is an
L{hpack.Decoder} in its limits, attributes and exceptions; fields come
back as plain C{(name, value)} tuples. A header list over the limit is
still decoded to its end before L{OversizedHeaderListError} is raised, so
the table stays in step with the peer's and only that request is refused
(431, as Go refuses it).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Set, Tuple

from hpack import Decoder
from hpack.exceptions import (
    HPACKDecodingError,
    InvalidTableIndexError,
    InvalidTableSizeError,
    OversizedHeaderListError,
)
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH
from hpack.table import HeaderTable

_STATIC = HeaderTable.STATIC_TABLE
_STATIC_LENGTH = len(_STATIC)
_ENTRY_OVERHEAD = 32  # RFC 7541 4.1
_EOS = 256

# Decoded Huffman strings by their coded bytes; cleared when it holds more
# than _CACHE_ENTRIES strings or _CACHE_BYTES of coded input (a few MB).
_cache: Dict[bytes, bytes] = {}
_cache_bytes = 0
_CACHE_BYTES = 1 << 20
_CACHE_ENTRIES = 4096
_CACHE_MIN = 4  # shorter strings decode about as fast as they are looked up
# Header blocks remembered per connection, and the largest remembered (in
# octets and fields): a few dozen kilobytes a connection at most.
_BLOCKS = 16
_BLOCK_BYTES = 4096
_BLOCK_FIELDS = 64

# The byte-at-a-time Huffman machine: for state s (a node of the code tree,
# times 256) and input byte b, _NEXT[s + b] is the next state and
# _OUT[s + b] the symbols completed (None if that is EOS, which is an error).
_NEXT: List[int] = []
_OUT: List[Optional[bytes]] = []
_ACCEPT: Set[int] = set()  # states a string may end in (padding of <= 7 one bits)


def _build_huffman() -> None:
    children: List[List[int]] = [[0, 0]]  # internal nodes; a leaf is -1 - symbol
    padding = [True]  # whether the node is reached by one bits only (from the root)
    depth = [0]
    for symbol, (code, length) in enumerate(zip(REQUEST_CODES, REQUEST_CODES_LENGTH)):
        node = 0
        for shift in range(length - 1, -1, -1):
            bit = (code >> shift) & 1
            if shift == 0:
                children[node][bit] = -1 - symbol
                break
            child = children[node][bit]
            if child == 0:
                child = len(children)
                children.append([0, 0])
                padding.append(padding[node] and bit == 1)
                depth.append(depth[node] + 1)
                children[node][bit] = child
            node = child
    # A nibble at a time first, then two nibbles composed into a byte.
    nibbles: List[Tuple[int, Optional[bytes]]] = []
    for node in range(len(children)):
        for nibble in range(16):
            current, out, eos = node, bytearray(), False
            for shift in (3, 2, 1, 0):
                child = children[current][(nibble >> shift) & 1]
                if child < 0:
                    if -1 - child == _EOS:
                        eos = True
                    else:
                        out.append(-1 - child)
                    current = 0
                else:
                    current = child
            nibbles.append((current, None if eos else bytes(out)))
    states = [node * 256 for node in range(len(children))]
    shared: Dict[bytes, bytes] = {}
    next_: List[int] = []
    outs: List[Optional[bytes]] = []
    for node in range(len(children)):
        for byte in range(256):
            middle, first = nibbles[node * 16 + (byte >> 4)]
            end, second = nibbles[middle * 16 + (byte & 15)]
            next_.append(states[end])
            if first is None or second is None:
                outs.append(None)
            else:
                both = first + second
                outs.append(shared.setdefault(both, both))
    _ACCEPT.update(states[node] for node in range(len(children))
                   if padding[node] and depth[node] <= 7)
    _OUT[:] = outs
    _NEXT[:] = next_


def decode_huffman(data: bytes) -> bytes:
    """Decode an HPACK Huffman string (RFC 7541 5.2)."""
    global _cache_bytes
    cached = _cache.get(data)
    if cached is not None:
        return cached
    if not _NEXT:
        _build_huffman()
    next_, outs = _NEXT, _OUT
    state = 0
    parts: List[Optional[bytes]] = []
    append = parts.append
    for byte in data:
        index = state + byte
        state = next_[index]
        append(outs[index])
    if state not in _ACCEPT:
        raise HPACKDecodingError("Invalid Huffman string: bad padding")
    try:
        decoded = b"".join(parts)  # type: ignore[arg-type]
    except TypeError:
        raise HPACKDecodingError("Invalid Huffman string: EOS") from None
    if len(data) >= _CACHE_MIN:
        if _cache_bytes > _CACHE_BYTES or len(_cache) >= _CACHE_ENTRIES:
            _cache.clear()
            _cache_bytes = 0
        _cache[data] = decoded
        _cache_bytes += len(data)
    return decoded


def _integer(data: bytes, position: int, value: int) -> Tuple[int, int]:
    """
    The rest of an integer whose prefix was all ones (C{value}); the
    octets start at C{position}. Returns the integer and the next position.
    """
    shift = 0
    for _ in range(5):  # five octets after the prefix at most, as hpack allows
        try:
            octet = data[position]
        except IndexError:
            raise HPACKDecodingError("Truncated integer") from None
        position += 1
        value += (octet & 0x7F) << shift
        if octet < 0x80:
            return value, position
        shift += 7
    raise HPACKDecodingError("Integer representation too long")


def _string(data: bytes, position: int) -> Tuple[bytes, int]:
    """A string literal at C{position}; returns it and the next position."""
    try:
        first = data[position]
    except IndexError:
        raise HPACKDecodingError("Truncated header block") from None
    length = first & 0x7F
    position += 1
    if length == 0x7F:
        length, position = _integer(data, position, length)
    end = position + length
    if end > len(data):
        raise HPACKDecodingError("Truncated header block")
    value = data[position:end]
    if first & 0x80:
        value = decode_huffman(value)
    return value, end


class RequestHeaderDecoder(Decoder):
    """An L{hpack.Decoder} that decodes faster (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Decoded blocks that did not change the dynamic table, valid while
        # it stays as it is (cleared whenever a block changes it).
        self._blocks: Dict[bytes, Tuple[int, List[Tuple[bytes, bytes]]]] = {}

    def decode(self, data: Any, raw: bool = False) -> List[Any]:
        if not isinstance(data, bytes):
            data = bytes(data)
        blocks = self._blocks
        known = blocks.get(data)
        if (known is not None and known[0] <= self.max_header_list_size
                and self.header_table.maxsize <= self.max_allowed_table_size):
            headers = list(known[1])
        else:
            headers = self._decode(data)
        if not raw:
            return [(name.decode("utf-8"), value.decode("utf-8")) for name, value in headers]
        return headers

    def _decode(self, data: bytes) -> List[Tuple[bytes, bytes]]:
        table = self.header_table
        dynamic = table.dynamic_entries
        blocks = self._blocks
        limit = self.max_header_list_size
        headers: List[Tuple[bytes, bytes]] = []
        append = headers.append
        size = 0
        position = 0
        end = len(data)
        changed = False
        over_at: Optional[int] = None
        while position < end:
            first = data[position]
            position += 1
            if first & 0x80:
                # Indexed field.
                index = first & 0x7F
                if index == 0x7F:
                    index, position = _integer(data, position, index)
                header = self._entry(index, dynamic)
            elif first & 0x40 or not first & 0x20:
                # Literal: with incremental indexing (6-bit name index), or
                # without / never indexed (4-bit name index).
                if first & 0x40:
                    index, mask = first & 0x3F, 0x3F
                else:
                    index, mask = first & 0x0F, 0x0F
                if index == mask:
                    index, position = _integer(data, position, index)
                if index:
                    name = self._entry(index, dynamic)[0]
                else:
                    name, position = _string(data, position)
                value, position = _string(data, position)
                header = (name, value)
                if first & 0x40:
                    table.add(name, value)
                    changed = True
                    blocks.clear()
            else:
                # Dynamic table size update: only before the first field.
                if headers:
                    raise HPACKDecodingError("Table size update not at the start of the block")
                new_size = first & 0x1F
                if new_size == 0x1F:
                    new_size, position = _integer(data, position, new_size)
                if new_size > self.max_allowed_table_size:
                    raise InvalidTableSizeError("Encoder exceeded max allowable table size")
                table.maxsize = new_size
                changed = True
                blocks.clear()
                continue
            size += _ENTRY_OVERHEAD + len(header[0]) + len(header[1])
            if size <= limit:
                append(header)
            elif over_at is None:
                over_at = position
            # Past the limit the block is still decoded to its end (its
            # entries change the table, as the peer's encoder assumes), so
            # the connection can go on after the request is refused.
        if over_at is not None:
            error = OversizedHeaderListError(
                f"A header list larger than {limit} has been received")
            error.position = over_at  # where in the block the limit was passed
            raise error
        if table.maxsize > self.max_allowed_table_size:
            raise InvalidTableSizeError("Encoder did not shrink table size to within the max")
        if not changed and end <= _BLOCK_BYTES and len(headers) <= _BLOCK_FIELDS:
            if len(blocks) >= _BLOCKS:
                blocks.clear()
            blocks[data] = (size, list(headers))
        return headers

    @staticmethod
    def _entry(index: int, dynamic: Any) -> Tuple[bytes, bytes]:
        if 0 < index <= _STATIC_LENGTH:
            return _STATIC[index - 1]
        try:
            if index > _STATIC_LENGTH:
                return dynamic[index - _STATIC_LENGTH - 1]
        except IndexError:
            pass
        raise InvalidTableIndexError(f"Invalid table index {index}")
