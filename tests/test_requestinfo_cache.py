"""
Request info for query-less requests comes from a per (method, path) table,
and random UUIDs (audit IDs, object uids) are version 4: what clients see
must not depend on either shortcut.
"""

from __future__ import annotations

import uuid

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted._randomid import random_uuid
from kapi_twisted.server import requestinfo
from kapi_twisted.server.requestinfo import parse_request_info, request_info_for


class _Request:
    def __init__(self, method: bytes, path: bytes, args: dict) -> None:
        self.method = method
        self.path = path
        self.uri = path
        self.args = args


class RequestInfoCacheTests(SynchronousTestCase):
    def test_same_answer_as_parsing(self) -> None:
        """A query-less request is described exactly as parsing its method and path does."""
        for method, path in [
            (b"POST", b"/api/v1/namespaces/ns/configmaps"),
            (b"GET", b"/api/v1/namespaces/ns/configmaps"),
            (b"GET", b"/api/v1/namespaces/ns/configmaps/x"),
            (b"DELETE", b"/apis/apps/v1/namespaces/ns/deployments"),
            (b"GET", b"/api/v1/namespaces/ns/pods/p/log"),
            (b"GET", b"/healthz"),
            (b"GET", b"/api/v1/namespaces/a%2Fb/pods"),
        ]:
            for _ in range(2):  # parsed, then from the table
                got = request_info_for(_Request(method, path, {}))
                self.assertEqual(got, parse_request_info(method.decode(), path.decode()))

    def test_query_is_not_cached(self) -> None:
        """A GET with ?watch=1 is a watch even though the same path without a query is a list."""
        path = b"/api/v1/namespaces/ns/pods"
        self.assertEqual(request_info_for(_Request(b"GET", path, {})).verb, "list")
        info = request_info_for(_Request(b"GET", path, {b"watch": [b"1"]}))
        self.assertEqual(info.verb, "watch")
        self.assertTrue(info.long_running)
        self.assertEqual(request_info_for(_Request(b"GET", path, {})).verb, "list")

    def test_table_is_bounded(self) -> None:
        """Many distinct paths (e.g. object names) do not grow the table without limit."""
        for n in range(requestinfo._CACHE_LIMIT + 10):
            request_info_for(_Request(b"GET", b"/api/v1/namespaces/ns/pods/p%d" % n, {}))
        self.assertLessEqual(len(requestinfo._by_method_and_path), requestinfo._CACHE_LIMIT)

    def test_non_ascii_method_still_fails(self) -> None:
        """A method that is not ASCII is refused by the parser, not remembered."""
        self.assertRaises(UnicodeDecodeError, request_info_for,
                          _Request(b"G\xffT", b"/api/v1/pods", {}))


class RandomUUIDTests(SynchronousTestCase):
    def test_version_4(self) -> None:
        """Every ID is a canonical RFC 4122 version 4 UUID, and they differ."""
        ids = [random_uuid() for _ in range(2000)]
        self.assertEqual(len(set(ids)), len(ids))
        for text in ids:
            parsed = uuid.UUID(text)
            self.assertEqual(parsed.version, 4)
            self.assertEqual(parsed.variant, uuid.RFC_4122)
            self.assertEqual(str(parsed), text)

    def test_variant_digit_keeps_its_randomness(self) -> None:
        """The variant digit takes all four values 8, 9, a and b."""
        self.assertEqual({random_uuid()[19] for _ in range(2000)}, set("89ab"))
