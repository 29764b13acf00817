"""
Our HPACK: the response header encoder (kapi_twisted.server._hpack) and the
request header decoder (kapi_twisted.server._http2_hpack_decoder), each
against hpack's own counterpart.
"""

import random

from hpack import Decoder, Encoder, HeaderTuple, NeverIndexedHeaderTuple
from hpack.exceptions import (
    HPACKDecodingError,
    InvalidTableIndexError,
    InvalidTableSizeError,
    OversizedHeaderListError,
)
from hpack.huffman import HuffmanEncoder
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH
from twisted.trial.unittest import TestCase

from kapi_twisted.server._hpack import ResponseHeaderEncoder
from kapi_twisted.server._http2_hpack_decoder import RequestHeaderDecoder, decode_huffman


class ResponseHeaderEncoderTests(TestCase):
    def test_round_trip(self):
        """Clients decode exactly the headers sent, in order, answer after answer."""
        encoder, decoder = ResponseHeaderEncoder(), Decoder()
        for i in range(3):
            block = [(b":status", b"200" if i else b"201"), (b"audit-id", b"id-%d" % i),
                     (b"content-type", b"application/json"), (b"x-long", b"v" * (300 + i)),
                     (b"accept-encoding", b"gzip, deflate"), (b"content-length", b"%d" % i)]
            self.assertEqual(decoder.decode(encoder.encode(block), raw=True), block)

    def test_sensitive_fields_never_indexed(self):
        """Fields marked sensitive go out as never-indexed literals."""
        encoder, decoder = ResponseHeaderEncoder(), Decoder()
        block = [(b":status", b"200"), NeverIndexedHeaderTuple(b"x-secret", b"s"),
                 (b"x-t", b"u", True)]
        decoded = decoder.decode(encoder.encode(block), raw=True)
        self.assertEqual(decoded, [(b":status", b"200"), (b"x-secret", b"s"), (b"x-t", b"u")])
        self.assertEqual([isinstance(h, NeverIndexedHeaderTuple) for h in decoded],
                         [False, True, True])

    def test_table_size_update_sent(self):
        """A header table size the peer's SETTINGS set is announced at the next block."""
        encoder, decoder = ResponseHeaderEncoder(), Decoder()
        encoder.header_table_size = 1000
        self.assertEqual(decoder.decode(encoder.encode([(b":status", b"204")]), raw=True),
                         [(b":status", b"204")])
        self.assertEqual(decoder.header_table.maxsize, 1000)


def _huffman(data: bytes) -> bytes:
    return HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH).encode(data)


class RequestHeaderDecoderTests(TestCase):
    def test_round_trip_with_indexing(self):
        """Blocks from hpack's encoder (indexed, literal, Huffman) decode to what was sent."""
        encoder, decoder = Encoder(), RequestHeaderDecoder()
        rng = random.Random(7)
        for i in range(200):
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(60)))
            block = [(b":method", rng.choice([b"GET", b"POST", b"PATCH"])),
                     (b":path", b"/api/v1/namespaces/ns-%d/configmaps" % rng.randrange(30)),
                     (b":scheme", b"https"), (b":authority", b"localhost:6443"),
                     NeverIndexedHeaderTuple(b"authorization", b"Bearer %x" % rng.getrandbits(400)),
                     HeaderTuple(b"x-raw-%d" % rng.randrange(5), raw),
                     (b"content-length", b"%d" % rng.randrange(100000)),
                     (b"x-long", b"v" * rng.randrange(100, 300))]
            huffman = bool(i % 2)
            self.assertEqual(decoder.decode(encoder.encode(block, huffman=huffman), raw=True),
                             [(bytes(n), bytes(v)) for n, v, *_ in block])

    def test_table_size_changes(self):
        """Table size updates shrink and evict as the encoder expects, over many blocks."""
        encoder, decoder = Encoder(), RequestHeaderDecoder()
        for size in (4096, 100, 0, 300, 4096):
            encoder.header_table_size = size
            for i in range(20):
                block = [(b"x-a", b"%d" % i), (b"x-b", b"b" * (i * 7)), (b"x-a", b"%d" % i)]
                self.assertEqual(decoder.decode(encoder.encode(block), raw=True), block)
            self.assertEqual(decoder.header_table.maxsize, size)

    def test_repeated_block_after_table_change(self):
        """The same block bytes decode afresh once the dynamic table has changed."""
        decoder = RequestHeaderDecoder()
        newest = b"\xbe"  # index 62: the newest dynamic entry
        decoder.decode(b"\x40\x03x-a\x011", raw=True)
        self.assertEqual(decoder.decode(newest, raw=True), [(b"x-a", b"1")])
        self.assertEqual(decoder.decode(newest, raw=True), [(b"x-a", b"1")])
        decoder.decode(b"\x40\x03x-b\x012", raw=True)
        self.assertEqual(decoder.decode(newest, raw=True), [(b"x-b", b"2")])
        decoder.decode(b"\x20", raw=True)  # table size 0: the entries are gone
        self.assertRaises(InvalidTableIndexError, decoder.decode, newest, True)

    def test_repeated_block_limits(self):
        """A remembered block is still held to a lowered header list limit."""
        decoder = RequestHeaderDecoder()
        block = b"\x00\x03x-a\x28" + b"a" * 40  # a literal, not indexed
        self.assertEqual(decoder.decode(block, raw=True), [(b"x-a", b"a" * 40)])
        decoder.max_header_list_size = 50
        self.assertRaises(OversizedHeaderListError, decoder.decode, block)

    def test_text(self):
        """Without raw the fields come back as text, as hpack's decoder gives them."""
        block = Encoder().encode([(b":method", b"GET"), (b"x-name", "d\u00e9j\u00e0".encode())])
        self.assertEqual(RequestHeaderDecoder().decode(block),
                         [(":method", "GET"), ("x-name", "d\u00e9j\u00e0")])

    def test_huffman_every_byte(self):
        """Every octet value survives Huffman coding, in short and long strings."""
        rng = random.Random(3)
        for length in list(range(40)) + [300, 2000]:
            data = bytes(rng.randrange(256) for _ in range(length))
            self.assertEqual(decode_huffman(_huffman(data)), data)
            self.assertEqual(decode_huffman(_huffman(data)), data)  # cached

    def test_huffman_bad_padding(self):
        """Huffman padding longer than 7 bits, or not all ones, is a decoding error."""
        self.assertRaises(HPACKDecodingError, decode_huffman, _huffman(b"ab") + b"\xff")
        # "0" is 00000 in the code: 00000 000 pads with zeros.
        self.assertRaises(HPACKDecodingError, decode_huffman, b"\x00")

    def test_huffman_eos(self):
        """The EOS symbol inside a string is a decoding error."""
        self.assertRaises(HPACKDecodingError, decode_huffman, b"\xff\xff\xff\xff")

    def test_truncated(self):
        """A block cut inside a string or an integer is a decoding error."""
        block = Encoder().encode([(b"x-name", b"value" * 40)], huffman=False)
        self.assertRaises(HPACKDecodingError, RequestHeaderDecoder().decode, block[:-1])
        self.assertRaises(HPACKDecodingError, RequestHeaderDecoder().decode, b"\xff")

    def test_bad_index(self):
        """An index of 0 or past the tables is a decoding error."""
        self.assertRaises(InvalidTableIndexError, RequestHeaderDecoder().decode, b"\x80")
        self.assertRaises(InvalidTableIndexError, RequestHeaderDecoder().decode, b"\xbe")
        self.assertRaises(InvalidTableIndexError, RequestHeaderDecoder().decode, b"\x0f\x30\x00")

    def test_oversized_list(self):
        """A header list past max_header_list_size is refused."""
        decoder = RequestHeaderDecoder()
        decoder.max_header_list_size = 100
        block = Encoder().encode([(b"x-a", b"a" * 40), (b"x-b", b"b" * 40)])
        self.assertRaises(OversizedHeaderListError, decoder.decode, block)

    def test_size_update_rules(self):
        """A table size update after a field, or above the allowed size, is refused."""
        self.assertRaises(HPACKDecodingError, RequestHeaderDecoder().decode, b"\x82\x20")
        decoder = RequestHeaderDecoder()
        decoder.max_allowed_table_size = 100
        self.assertRaises(InvalidTableSizeError, decoder.decode, b"\x3f\xe1\x1f\x82")
