"""
/openapi/v2, /openapi/v3 and /openapi/v3/<gv>: content negotiation, ETags,
hashes and redirects as kube-openapi serves them, built from what the
servers of the chain register.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import Any, List

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.server.openapi import OpenAPIRegistry, negotiate, one_year_later, parse_accept
from tests.test_healthz import fetch, make_chain, prepare

PROTO_V2 = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
PROTO_V3 = "application/com.github.proto-openapi.spec.v3@v1.0+protobuf"


def sha512(body: bytes) -> str:
    return hashlib.sha512(body).hexdigest().upper()


def v3_doc(title: str, **extra: Any) -> dict:
    doc = {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.37.0"},
           "paths": {f"/{title}": {"get": {"operationId": title}}}}
    doc.update(extra)
    return doc


class _Base(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(1_780_000_000)
        self.lifecycle, servers = make_chain(self.clock)
        self.apiext, self.kube, self.outer = servers
        self.servers = servers

    def start(self) -> None:
        prepare(self.servers, self.lifecycle)

    def get(self, path: str, **kw: Any):
        return fetch(self, self.outer.root, path, **kw)


class OpenAPIV2Tests(_Base):
    def setUp(self) -> None:
        super().setUp()
        self.kube.openapi.add_v2("built-in", lambda: (
            {"/api/v1/pods": {"get": {"operationId": "listPods"}}},
            {"io.k8s.api.core.v1.Pod": {"type": "object"}},
        ))
        self.apiext.openapi.add_v2("crds", lambda: (
            {"/apis/example.com/v1/widgets": {"get": {"operationId": "listWidgets"}}},
            {"com.example.v1.Widget": {"type": "object"}},
        ))
        self.start()

    def test_json_with_etag(self):
        """/openapi/v2 is JSON with a quoted uppercase SHA-512 ETag and Vary: Accept."""
        answer = self.get("/openapi/v2", headers={"Accept": "application/json"})
        self.assertEqual(answer.code, 200)
        self.assertEqual(answer.header("content-type"), "application/json")
        self.assertEqual(answer.header("etag"), '"%s"' % sha512(answer.body))
        self.assertIn("Accept", answer.header("vary"))
        doc = json.loads(answer.body)
        self.assertEqual(doc["swagger"], "2.0")
        self.assertEqual(doc["info"], {"title": "Kubernetes", "version": "v1.37.0"})

    def test_union_of_the_chain(self):
        """The outermost server publishes the paths and definitions of every server in the chain."""
        doc = json.loads(self.get("/openapi/v2").body)
        self.assertIn("/api/v1/pods", doc["paths"])
        self.assertIn("/apis/example.com/v1/widgets", doc["paths"])
        self.assertIn("com.example.v1.Widget", doc["definitions"])
        self.assertIn("io.k8s.api.core.v1.Pod", doc["definitions"])

    def test_if_none_match(self):
        """A client holding the current ETag gets 304 with no body; a stale one gets the document."""
        etag = self.get("/openapi/v2").header("etag")
        answer = self.get("/openapi/v2", headers={"If-None-Match": etag})
        self.assertEqual((answer.code, answer.body), (304, b""))
        self.assertEqual(answer.header("etag"), etag)
        self.assertEqual(self.get("/openapi/v2", headers={"If-None-Match": '"OLD"'}).code, 200)

    def test_protobuf_only_is_not_acceptable(self):
        """client-go's protobuf-only request gets 406 with an empty body (kubectl then falls back)."""
        answer = self.get("/openapi/v2", headers={"Accept": PROTO_V2})
        self.assertEqual((answer.code, answer.body), (406, b""))
        self.assertEqual(answer.header("vary"), "Accept")

    def test_protobuf_then_json(self):
        """An Accept preferring protobuf but taking JSON gets JSON."""
        answer = self.get("/openapi/v2", headers={"Accept": f"{PROTO_V2}, application/json;q=0.9"})
        self.assertEqual(answer.code, 200)
        self.assertEqual(answer.header("content-type"), "application/json")
        self.assertEqual(self.get("/openapi/v2", headers={"Accept": "*/*"}).code, 200)

    def test_gzip(self):
        """A client accepting gzip gets the same document compressed, with the same ETag."""
        big = {f"io.example.v1.Kind{i}": {"type": "object"} for i in range(200)}
        self.kube.openapi.add_v2("big", lambda: ({}, big))
        plain = self.get("/openapi/v2")
        packed = self.get("/openapi/v2", headers={"Accept-Encoding": "gzip, deflate"})
        self.assertIsNone(plain.header("content-encoding"))
        self.assertEqual(packed.header("content-encoding"), "gzip")
        self.assertEqual(gzip.decompress(packed.body), plain.body)
        self.assertLess(len(packed.body), len(plain.body))
        self.assertEqual(packed.header("etag"), plain.header("etag"))
        self.assertIn("Accept-Encoding", packed.header("vary"))

    def test_rebuilt_on_change(self):
        """A contribution added at run time appears, with a new ETag."""
        before = self.get("/openapi/v2").header("etag")
        self.kube.openapi.add_v2("late", lambda: ({"/apis/late/v1": {}}, {}))
        after = self.get("/openapi/v2")
        self.assertNotEqual(after.header("etag"), before)
        self.assertIn("/apis/late/v1", json.loads(after.body)["paths"])
        self.kube.openapi.remove_v2("late")
        self.assertEqual(self.get("/openapi/v2").header("etag"), before)


class OpenAPIV3Tests(_Base):
    def setUp(self) -> None:
        super().setUp()
        self.calls: List[str] = []

        def builder(name: str):
            def build() -> dict:
                self.calls.append(name)
                return v3_doc(name)

            return build

        self.kube.openapi.add_group_version("api/v1", builder("api/v1"))
        self.kube.openapi.add_group_version("apis/apps/v1", builder("apis/apps/v1"))
        self.apiext.openapi.add_group_version("apis/example.com/v1", builder("apis/example.com/v1"))
        self.start()

    def test_index(self):
        """/openapi/v3 lists every group-version of the chain, sorted, with its document's hash."""
        answer = self.get("/openapi/v3")
        self.assertEqual(answer.code, 200)
        self.assertEqual(answer.header("content-type"), "application/json")
        self.assertEqual(answer.header("etag"), '"%s"' % sha512(answer.body))
        paths = json.loads(answer.body)["paths"]
        self.assertEqual(list(paths), ["api/v1", "apis/apps/v1", "apis/example.com/v1", "version"])
        url = paths["apis/apps/v1"]["serverRelativeURL"]
        document = self.get("/openapi/v3/apis/apps/v1")
        self.assertEqual(url, "/openapi/v3/apis/apps/v1?hash=" + sha512(document.body))
        self.assertEqual(json.loads(document.body), v3_doc("apis/apps/v1"))

    def test_current_hash_is_cacheable(self):
        """The URL from the index answers with Cache-Control: public, immutable and a one-year Expires."""
        url = json.loads(self.get("/openapi/v3").body)["paths"]["api/v1"]["serverRelativeURL"]
        answer = self.get(url + "&timeout=32s", headers={"Accept": "application/json"})
        self.assertEqual(answer.code, 200)
        self.assertEqual(answer.header("cache-control"), "public, immutable")
        self.assertEqual(answer.header("expires"), "Fri, 28 May 2027 20:26:40 GMT")
        self.assertEqual(answer.header("etag"), '"%s"' % url.rsplit("=", 1)[1])
        self.assertIn("Accept", answer.header("vary"))

    def test_stale_hash_redirects(self):
        """A stale hash answers 301 to the current URL."""
        answer = self.get("/openapi/v3/api/v1?hash=ABC")
        self.assertEqual(answer.code, 301)
        current = sha512(self.get("/openapi/v3/api/v1").body)
        self.assertEqual(answer.header("location"), "/openapi/v3/api/v1?hash=" + current)

    def test_no_hash_etag_and_304(self):
        """Without a hash there are no cache headers, and If-None-Match gives 304."""
        answer = self.get("/openapi/v3/api/v1")
        self.assertIsNone(answer.header("cache-control"))
        self.assertIsNone(answer.header("expires"))
        again = self.get("/openapi/v3/api/v1", headers={"If-None-Match": answer.header("etag")})
        self.assertEqual((again.code, again.body), (304, b""))

    def test_unknown_group_version(self):
        """An unknown group-version is 404 with an empty body."""
        answer = self.get("/openapi/v3/apis/nosuch/v1")
        self.assertEqual((answer.code, answer.body), (404, b""))

    def test_not_acceptable(self):
        """Asking only for the v3 protobuf gets 406."""
        answer = self.get("/openapi/v3/api/v1", headers={"Accept": PROTO_V3})
        self.assertEqual((answer.code, answer.body), (406, b""))

    def test_lazy_and_cached(self):
        """Documents are built on first request, once, until their registration changes."""
        self.assertEqual(self.calls, [])
        self.get("/openapi/v3/api/v1")
        self.get("/openapi/v3/api/v1")
        self.get("/openapi/v3")
        self.assertEqual(sorted(self.calls), ["api/v1", "apis/apps/v1", "apis/example.com/v1"])

    def test_group_versions_come_and_go(self):
        """A group-version added at run time is listed and served; removed, it is gone (CRDs)."""
        self.apiext.openapi.add_group_version("apis/stable.example.com/v1", lambda: v3_doc("x"))
        paths = json.loads(self.get("/openapi/v3").body)["paths"]
        self.assertIn("apis/stable.example.com/v1", paths)
        self.assertEqual(self.get("/openapi/v3/apis/stable.example.com/v1").code, 200)
        self.apiext.openapi.remove_group_version("apis/stable.example.com/v1")
        self.assertNotIn("apis/stable.example.com/v1", json.loads(self.get("/openapi/v3").body)["paths"])
        self.assertEqual(self.get("/openapi/v3/apis/stable.example.com/v1").code, 404)

    def test_replaced_document_moves_hash(self):
        """A changed schema gets a new hash; the old URL redirects to the new one."""
        old_url = json.loads(self.get("/openapi/v3").body)["paths"]["apis/example.com/v1"]["serverRelativeURL"]
        self.apiext.openapi.add_group_version("apis/example.com/v1", lambda: v3_doc("changed"))
        new_url = json.loads(self.get("/openapi/v3").body)["paths"]["apis/example.com/v1"]["serverRelativeURL"]
        self.assertNotEqual(old_url, new_url)
        answer = self.get(old_url)
        self.assertEqual((answer.code, answer.header("location")), (301, new_url))

    def test_failing_rebuild_keeps_last_document(self):
        """A builder failing after invalidation leaves the last good document served."""
        state = {"fail": False}

        def build() -> dict:
            if state["fail"]:
                raise ValueError("schema broken")
            return v3_doc("flaky")

        self.kube.openapi.add_group_version("apis/flaky/v1", build)
        good = self.get("/openapi/v3/apis/flaky/v1").body
        state["fail"] = True
        self.kube.openapi.invalidate("apis/flaky/v1")
        self.assertEqual(self.get("/openapi/v3/apis/flaky/v1").body, good)
        self.flushLoggedErrors(ValueError)

    def test_failing_first_build_is_503(self):
        """A document that cannot be built at all answers 503 and is left out of the index."""

        def broken() -> dict:
            raise ValueError("schema broken")

        self.kube.openapi.add_group_version("apis/broken/v1", broken)
        self.assertEqual(self.get("/openapi/v3/apis/broken/v1").code, 503)
        self.assertNotIn("apis/broken/v1", json.loads(self.get("/openapi/v3").body)["paths"])
        self.flushLoggedErrors(ValueError)


class BuiltInDocumentsTests(_Base):
    def test_built_in_documents_keep_their_hash(self):
        """The built-in group-versions' JSON bytes are served as given, hash and all."""
        from kapi_twisted.apis import openapi as builtin

        for key in ("api/v1", "apis/apps/v1"):
            self.kube.openapi.add_group_version(key, lambda key=key: builtin.v3_document_json(key)[0])
        self.start()
        paths = json.loads(self.get("/openapi/v3").body)["paths"]
        self.assertEqual(
            paths["apis/apps/v1"]["serverRelativeURL"],
            "/openapi/v3/apis/apps/v1?hash=" + builtin.v3_document_json("apis/apps/v1")[1],
        )
        doc = json.loads(self.get(paths["api/v1"]["serverRelativeURL"]).body)
        self.assertIn("io.k8s.api.core.v1.Pod", doc["components"]["schemas"])


class NegotiationTests(SynchronousTestCase):
    def test_parse_accept_orders_by_quality_then_specificity(self):
        """Accept clauses are tried best first; q=0 is refused."""
        self.assertEqual(
            parse_accept("*/*;q=0.5, application/*, application/json, text/html;q=0"),
            [("application", "json"), ("application", "*"), ("*", "*")],
        )
        self.assertEqual(parse_accept(""), [("*", "*")])

    def test_negotiate(self):
        """kubectl's `application/json, */*` picks JSON; a protobuf-only header picks nothing offered."""
        offered = ["application/json"]
        self.assertEqual(negotiate("application/json, */*", offered), "application/json")
        self.assertIsNone(negotiate(PROTO_V2, offered))
        self.assertIsNone(negotiate("application/json;q=0", offered))

    def test_one_year_later(self):
        """Expires is a calendar year ahead, 29 February landing on 1 March."""
        import calendar

        leap = calendar.timegm((2028, 2, 29, 12, 0, 0))
        self.assertEqual(one_year_later(leap), calendar.timegm((2029, 3, 1, 12, 0, 0)))


class RegistryTests(SynchronousTestCase):
    def test_generation_moves_on_change(self):
        """Every registration change bumps the generation publishers compare."""
        registry = OpenAPIRegistry()
        seen = [registry.generation]
        registry.add_group_version("api/v1", dict)
        seen.append(registry.generation)
        registry.remove_group_version("api/v1")
        seen.append(registry.generation)
        registry.remove_group_version("api/v1")
        seen.append(registry.generation)
        self.assertEqual(seen, [0, 1, 2, 2])
