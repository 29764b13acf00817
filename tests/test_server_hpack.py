"""The HTTP/2 response header encoder (kapi_twisted.server._hpack)."""

from hpack import Decoder, NeverIndexedHeaderTuple
from twisted.trial.unittest import TestCase

from kapi_twisted.server._hpack import ResponseHeaderEncoder


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
