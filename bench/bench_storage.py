"""
Storage benchmark (not a test): create, get and list rates for each backend
behind the watch cache (the path the API takes), against the raw backend
operation rates measured in the same run (SQLite inserts with the same
durability settings; etcd txns over the same HTTP client), and the cost of
listing 10,000 objects from the cache against a json.dumps of the same list.

    .venv/bin/python bench/bench_storage.py [--n 2000] [--skip-etcd]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from twisted.internet import defer, reactor  # noqa: E402

from kapi_twisted.storage.cache import WatchCache  # noqa: E402
from kapi_twisted.storage.memory import MemoryStorage  # noqa: E402
from kapi_twisted.storage.sqlite import SQLiteStorage  # noqa: E402
from kapi_twisted.storage.testing import EtcdServer  # noqa: E402


def obj(name: str, i: int) -> bytes:
    """A configmap-sized object, encoded as the API layer encodes it."""
    o = {
        "metadata": {
            "name": name,
            "namespace": "bench",
            "uid": "6b3e0a6c-%012d" % i,
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": "bench", "tier": "t%d" % (i % 7)},
        },
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "data": {"key": "v" * 200, "index": str(i)},
    }
    return json.dumps(o, separators=(",", ":")).encode()


def rate(n: int, seconds: float) -> str:
    return "%9.0f/s" % (n / seconds if seconds else float("inf"))


@defer.inlineCallbacks
def timed(n: int, concurrency: int, make_call):
    """Run make_call(i) for i < n with `concurrency` in flight; return seconds."""
    start = time.perf_counter()
    it = iter(range(n))

    @defer.inlineCallbacks
    def worker():
        for i in it:
            yield make_call(i)

    yield defer.gatherResults([worker() for _ in range(concurrency)], consumeErrors=True)
    return time.perf_counter() - start


def raw_sqlite_rate(path: str, n: int, synchronous: str) -> float:
    """Seconds for n inserts, one committed transaction each, same pragmas."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA locking_mode=EXCLUSIVE")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute(
        "CREATE TABLE log (rev INTEGER PRIMARY KEY, key TEXT NOT NULL, create_rev INTEGER"
        " NOT NULL, deleted INTEGER NOT NULL, value BLOB NOT NULL)"
    )
    conn.execute("CREATE INDEX log_key_rev ON log (key, rev)")
    start = time.perf_counter()
    for i in range(1, n + 1):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO log VALUES (?, ?, ?, 0, ?)",
            (i, "/registry/configmaps/bench/r%06d" % i, i, obj("r%06d" % i, i)),
        )
        conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


@defer.inlineCallbacks
def bench_store(label: str, store, n: int, raw_seconds: dict):
    """create/get/list through the cache; print against the raw figures."""
    yield store.start()
    prefix = "/registry/configmaps/%s/" % label
    results = {}
    for concurrency in (1, 32):
        tag = "c%d" % concurrency
        secs = yield timed(
            n, concurrency, lambda i: store.create(prefix + "%s-%06d" % (tag, i), obj(str(i), i))
        )
        results["create", concurrency] = secs
    secs = yield timed(n, 1, lambda i: store.get(prefix + "c1-%06d" % (i % n)))
    results["get", 1] = secs
    secs = yield timed(n, 32, lambda i: store.get(prefix + "c1-%06d" % (i % n)))
    results["get", 32] = secs
    lists = max(5, 20000 // n)
    start = time.perf_counter()
    for _ in range(lists):
        r = yield store.list(prefix + "", 0)
    rv0 = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(lists):
        r = yield store.list(prefix, None)
    consistent = time.perf_counter() - start
    count = len(r.items)
    yield store.stop()

    print(f"\n== {label} (n={n}) ==")
    for (op, c), secs in sorted(results.items()):
        line = f"  {op:7s} concurrency {c:2d}: {rate(n, secs)}"
        raw = raw_seconds.get((op, c))
        if raw:
            ratio = (n / secs) / (n / raw)
            line += f"   raw backend {rate(n, raw)}   ratio {ratio:5.0%}"
        print(line)
    print(
        f"  list {count} objects rv=0: {rate(lists, rv0)} lists"
        f" ({count * lists / rv0:,.0f} objects/s); consistent: {rate(lists, consistent)}"
    )


@defer.inlineCallbacks
def bench_list_cost(objects: int = 10000):
    """LIST of 10,000 objects from the cache vs json.dumps of the same list."""
    store = WatchCache(MemoryStorage(compaction_interval=0))
    yield store.start()
    prefix = "/registry/configmaps/"
    yield defer.gatherResults(
        [store.create(prefix + "ns%d/o%05d" % (i % 10, i), obj("o%05d" % i, i)) for i in range(objects)]
    )
    first = yield store.list(prefix, 0)
    for kv in first.items:  # the cache holds encoded bytes once they were served
        kv.data
    parsed = [kv.object for kv in first.items]
    rounds = 20
    start = time.perf_counter()
    for _ in range(rounds):
        result = yield store.list(prefix, 0)
        body = b'{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"%d"},"items":[' % (
            result.revision,
        ) + b",".join(kv.data for kv in result.items) + b"]}"
    cache_cost = (time.perf_counter() - start) / rounds
    start = time.perf_counter()
    for _ in range(rounds):
        dumped = json.dumps(
            {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {}, "items": parsed},
            separators=(",", ":"),
        ).encode()
    dumps_cost = (time.perf_counter() - start) / rounds
    yield store.stop()
    assert len(json.loads(body)["items"]) == objects and len(dumped) > 0
    print(f"\n== LIST of {objects} objects ==")
    print(f"  from the cache (list + join of stored bytes): {cache_cost * 1000:7.2f} ms")
    print(f"  json.dumps of the same list:                  {dumps_cost * 1000:7.2f} ms")
    print(f"  ratio: {cache_cost / dumps_cost:.2f}x")


@defer.inlineCallbacks
def bench_compaction(tmp: str, keys: int = 200, versions: int = 250):
    """How long writers wait while SQLite compaction removes superseded rows."""
    store = SQLiteStorage(os.path.join(tmp, "compact.db"), compaction_interval=0)
    yield store.start()
    prefix = "/registry/configmaps/compact/"
    kvs = yield defer.gatherResults([store.create(prefix + "k%d" % i, obj("k", i)) for i in range(keys)])
    for v in range(versions):
        kvs = yield defer.gatherResults(
            [store.update(kv.key, obj("k", v), kv.mod_revision) for kv in kvs]
        )
    before = store.file_size()
    rows = keys * (versions + 1)
    target = yield store.current_revision()
    latencies = []
    start = time.perf_counter()
    finished = []
    compaction = store.compact(target).addBoth(lambda r: finished.append(r))
    i = 0
    while not finished:
        t = time.perf_counter()
        yield store.create(prefix + "during-%d" % i, obj("d", i))
        latencies.append(time.perf_counter() - t)
        i += 1
    yield compaction
    took = time.perf_counter() - start
    after = store.file_size()
    yield store.stop()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)] if latencies else 0
    print(f"\n== SQLite compaction of {rows:,} rows (synchronous=FULL) ==")
    print(f"  took {took:.2f} s; {len(latencies)} creates meanwhile;"
          f" create latency p99 {p99 * 1000:.1f} ms, max {max(latencies or [0]) * 1000:.1f} ms")
    print(f"  file {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB")


@defer.inlineCallbacks
def bench_start_up(tmp: str, objects: int = 10000):
    """How long opening an SQLite store of 10,000 objects takes."""
    path = os.path.join(tmp, "startup.db")
    store = SQLiteStorage(path, compaction_interval=0, synchronous="OFF")
    yield store.start()
    yield defer.gatherResults(
        [store.create("/registry/configmaps/ns%d/o%05d" % (i % 10, i), obj("o", i)) for i in range(objects)]
    )
    yield store.stop()
    start = time.perf_counter()
    store = WatchCache(SQLiteStorage(path, compaction_interval=0))
    yield store.start()
    took = time.perf_counter() - start
    n = yield store.count("/registry/configmaps/")
    yield store.stop()
    print(f"\n== start-up: SQLite store + watch cache with {n:,} objects ready in {took * 1000:.0f} ms ==")


@defer.inlineCallbacks
def raw_etcd(store, n: int) -> dict:
    """Seconds for n raw txn creates (and range gets) over the same HTTP client."""
    import base64

    out = {}
    for c in (1, 32):
        def txn(i, c=c):
            k = base64.b64encode(b"/raw/%d/%06d" % (c, i)).decode()
            v = base64.b64encode(obj(str(i), i)).decode()
            return store.call(
                "/v3/kv/txn",
                {
                    "compare": [{"target": "CREATE", "key": k, "create_revision": "0", "result": "EQUAL"}],
                    "success": [{"request_put": {"key": k, "value": v}}],
                },
            )

        out["create", c] = yield timed(n, c, txn)
        out["get", c] = yield timed(
            n,
            c,
            lambda i: store.call(
                "/v3/kv/range", {"key": base64.b64encode(b"/raw/1/%06d" % (i % n)).decode()}
            ),
        )
    return out


@defer.inlineCallbacks
def main(args):
    tmp = tempfile.mkdtemp(prefix="kapi-bench-")
    try:
        n = args.n
        yield bench_store("memory", WatchCache(MemoryStorage(compaction_interval=0)), n, {})
        for sync in ("FULL", "NORMAL"):
            path = os.path.join(tmp, f"raw-{sync}.db")
            raw = raw_sqlite_rate(path, n, sync)
            store = WatchCache(
                SQLiteStorage(os.path.join(tmp, f"kapi-{sync}.db"), compaction_interval=0, synchronous=sync)
            )
            yield bench_store(f"sqlite-{sync}", store, n, {("create", 1): raw})
        if not args.skip_etcd and EtcdServer.available():
            from kapi_twisted.storage.etcd3 import Etcd3Storage

            etcd = EtcdServer(os.path.join(tmp, "etcd"))
            etcd.start()
            try:
                raw_store = Etcd3Storage([etcd.url], compaction_interval=0)
                yield raw_store.start()
                raw = yield raw_etcd(raw_store, n)
                yield raw_store.stop()
                store = WatchCache(Etcd3Storage([etcd.url], compaction_interval=0))
                yield bench_store("etcd3", store, n, raw)
            finally:
                etcd.stop()
        elif not args.skip_etcd:
            print("\n(etcd not found: etcd3 figures skipped)")
        yield bench_list_cost()
        yield bench_compaction(tmp)
        yield bench_start_up(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--n", type=int, default=2000, help="operations per figure")
    parser.add_argument("--skip-etcd", action="store_true")
    args = parser.parse_args()

    def run():
        d = main(args)
        d.addErrback(lambda f: f.printTraceback())
        d.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(run)
    reactor.run()
