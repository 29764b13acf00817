"""
API benchmark (not a test): a whole kapi server (``twistd -n kapi`` in its
own process, so it has a core to itself) driven over TLS on loopback by
h2load (nghttp2-client, a C load generator on the other core) and by small
Python clients, on each storage backend, against baselines measured in the
same run. It prints ratios; absolute figures only say what this noisy
2-core machine did today.

  1. Per backend (sqlite with its default durability, memory, etcd3 when the
     ``etcd`` binary exists): the backend's own raw write rate (SQLite
     single-row insert + commit with kapi's pragmas and schema; an etcd txn
     shaped like kapi's create over etcd's JSON gateway, driven by h2load;
     MemoryStorage.create in this process) and the API's create rate
     (POST with metadata.generateName), serial and concurrent (HTTP/2
     streams, and HTTP/1.1 connections), with their ratio (target: create
     >= 50% of the raw write rate); GET of one object and LIST of 100
     objects, serial and concurrent.
     etcd is a separate process that would take both cores when measured
     alone, while in the API run kapi holds one of them. So that both
     figures are taken on the same hardware, etcd and the load generator
     are kept on one core and kapi on the other (``--no-pin`` leaves
     placement to the OS); etcd's rate with both cores is printed too.
  2. LIST of 10,000 stored objects (resourceVersion=0, served from the
     watch cache, and a plain consistent list), time per list over HTTP/2
     and HTTP/1.1, against json.dumps of the same list in this process
     (target: <= 2x).
  3. WATCH fan-out: 1,000 watches on one collection (bench/_watchers.py in
     its own process), then a few creates one at a time: delay from each
     write until each watcher has its event, min/median/max
     (CLOCK_MONOTONIC is one clock for all processes on Linux).
  Items 2 and 3 run on the first backend listed.

Every loop is bounded in count and time; servers, etcd and helpers are
stopped and temp dirs removed on exit, Ctrl-C included. About 2 minutes.

    .venv/bin/python bench/bench_api.py [--duration 3] [--backends sqlite,memory,etcd3]
        [--list-objects 10000] [--watchers 1000] [--fanout-writes 3]
        [--connections 4] [--streams 8] [--no-pin]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Set, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

TOKEN = "kapi-bench-" + secrets.token_hex(12)
BACKENDS = ("sqlite", "memory", "etcd3")
CONFIGMAPS = "/api/v1/namespaces/%s/configmaps"


# -- objects ------------------------------------------------------------------

def configmap(name: Optional[str] = None, i: int = 0) -> dict:
    """A small ConfigMap; with no name, one the server names (generateName)."""
    meta: Dict[str, Any] = {"labels": {"app": "bench", "tier": "t%d" % (i % 7)}}
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = "bench-"
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
            "data": {"key": "v" * 200, "index": str(i)}}


def stored_bytes(i: int = 0) -> bytes:
    """About what kapi stores for such a create (server-set metadata included)."""
    o = configmap("bench-%05x" % i, i)
    o["metadata"].update({
        "namespace": "bench", "uid": "6b3e0a6c-0000-4000-8000-%012d" % i,
        "resourceVersion": str(i), "creationTimestamp": "2026-01-01T00:00:00Z",
        "managedFields": [{"manager": "h2load", "operation": "Update", "apiVersion": "v1",
                           "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:data": {".": {}, "f:index": {}, "f:key": {}},
                                        "f:metadata": {"f:labels": {".": {}, "f:app": {},
                                                                    "f:tier": {}}}}}],
    })
    return json.dumps(o, separators=(",", ":")).encode()


# -- processes and clean-up ---------------------------------------------------

class Cleanup:
    """Things to undo at exit, newest first."""

    def __init__(self) -> None:
        self._actions: List[Callable[[], None]] = []

    def add(self, action: Callable[[], None]) -> Callable[[], None]:
        self._actions.append(action)
        return action

    def remove(self, action: Callable[[], None]) -> None:
        if action in self._actions:
            self._actions.remove(action)

    def run(self) -> None:
        while self._actions:
            try:
                self._actions.pop()()
            except Exception as e:  # keep cleaning up
                print(f"(clean-up: {e})", file=sys.stderr)


CLEANUP = Cleanup()


def stop_process(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def twistd() -> str:
    here = os.path.join(os.path.dirname(sys.executable), "twistd")
    return here if os.path.exists(here) else (shutil.which("twistd") or "twistd")


def child_env() -> Dict[str, str]:
    """This checkout first on the path (its kapi_twisted and its twistd plugin)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, env.get("PYTHONPATH")) if p)
    return env


# -- CPU placement ----------------------------------------------------------------

def can_pin() -> bool:
    return hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2


def placement() -> Tuple[Set[int], Set[int]]:
    """(kapi's core, the core etcd and the load generator share)."""
    cpus = sorted(os.sched_getaffinity(0))
    return {cpus[0]}, {cpus[1]}


def on_cpus(cpus: Optional[Set[int]]) -> Optional[Callable[[], None]]:
    """A preexec_fn that keeps a child on `cpus` (None: anywhere)."""
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


@contextmanager
def children_on(cpus: Optional[Set[int]]) -> Iterator[None]:
    """Children started inside run on `cpus` (Go sized to match), as if started there."""
    if cpus is None:
        yield
        return
    before, maxprocs = os.sched_getaffinity(0), os.environ.get("GOMAXPROCS")
    os.sched_setaffinity(0, cpus)
    os.environ["GOMAXPROCS"] = str(len(cpus))
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)
        if maxprocs is None:
            os.environ.pop("GOMAXPROCS", None)
        else:
            os.environ["GOMAXPROCS"] = maxprocs


class Client:
    """A persistent HTTP/1.1 connection to kapi with the bench bearer token."""

    def __init__(self, port: int, cafile: str) -> None:
        self.port = port
        self.context = ssl.create_default_context(cafile=cafile)
        self.conn: Optional[http.client.HTTPSConnection] = None

    def request(self, method: str, path: str, body: Any = None,
                timeout: float = 60.0) -> Tuple[int, bytes]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(
                    "127.0.0.1", self.port, context=self.context, timeout=timeout)
            try:
                self.conn.request(
                    method, path, body=None if body is None else json.dumps(body),
                    headers={"Authorization": f"Bearer {TOKEN}",
                             "Content-Type": "application/json",
                             "Accept": "application/json", "User-Agent": "kapi-bench"})
                response = self.conn.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: Any = None, expect: Tuple[int, ...] = (200,),
             timeout: float = 60.0) -> Any:
        status, data = self.request(method, path, body, timeout)
        if status not in expect:
            raise RuntimeError(f"{method} {path}: {status} {data[:300]!r}")
        return json.loads(data)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Kapi:
    """One ``twistd -n kapi`` server process on a free loopback port."""

    def __init__(self, tmp: str, backend: str, *flags: str,
                 cpus: Optional[Set[int]] = None) -> None:
        self.backend = backend
        self.data_dir = os.path.join(tmp, f"kapi-{backend}")
        os.makedirs(self.data_dir, exist_ok=True)
        tokens = os.path.join(tmp, "tokens.csv")
        if not os.path.exists(tokens):
            with open(tokens, "w") as f:
                f.write(f'{TOKEN},kapi-bench,kapi-bench-uid,"system:masters"\n')
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.log_path = os.path.join(self.data_dir, "server.log")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [twistd(), "-n", "--pidfile=", "kapi",
                 "--port", f"ssl:{self.port}:interface=127.0.0.1",
                 "--data-dir", self.data_dir, "--storage-backend", backend,
                 "--token-auth-file", tokens, *flags],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.data_dir, env=child_env(),
                preexec_fn=on_cpus(cpus))
        self._undo = CLEANUP.add(lambda: stop_process(self.proc))
        self.cafile = os.path.join(self.data_dir, "certs", "ca.crt")
        self.client: Optional[Client] = None
        #: Where load generators aimed at this server run (None: anywhere).
        self.load_cpus: Optional[Set[int]] = None
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kapi exited early:\n{self.log()}")
            if os.path.exists(self.cafile):
                try:
                    client = Client(self.port, self.cafile)
                    if client.request("GET", "/readyz", timeout=5)[0] == 200:
                        self.client = client
                        return
                    client.close()
                except (OSError, ssl.SSLError, http.client.HTTPException):
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"kapi did not become ready in {timeout:.0f}s:\n{self.log()}")

    def log(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")[-3000:]

    def create_namespace(self, name: str) -> None:
        self.client.json("POST", "/api/v1/namespaces", {"metadata": {"name": name}},
                         expect=(201,))

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        CLEANUP.remove(self._undo)
        stop_process(self.proc)


# -- h2load -------------------------------------------------------------------

@dataclass
class Load:
    """What one h2load run measured."""

    rate: float            # 2xx answers per second
    ok: int                # 2xx answers
    failed: int            # everything else (non-2xx, errors, timeouts)
    seconds: float         # measured period
    mean_ms: float         # mean time per request

    def per_request_ms(self) -> float:
        return self.seconds * 1000 / self.ok if self.ok else float("nan")


_FINISHED = re.compile(r"finished in ([\d.]+)(ms|s|us), ([\d.]+) req/s")
_REQUESTS = re.compile(
    r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed")
_CODES = re.compile(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx")
_TIME = re.compile(r"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\s")
_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def h2load(url: str, *, connections: int = 1, streams: int = 1,
           duration: Optional[float] = None, requests: Optional[int] = None,
           body: Any = None, h1: bool = False, tmp: str = "/tmp",
           headers: Tuple[str, ...] = (), cpus: Optional[Set[int]] = None) -> Load:
    """Run h2load against `url` (bounded by `duration` seconds or `requests`)."""
    command = [shutil.which("h2load") or "h2load", "-t", "1", "-c", str(connections)]
    command += ["--h1"] if h1 else ["-m", str(streams)]
    if duration is not None:
        command += ["-D", "%dms" % (duration * 1000), "--warm-up-time", "500ms"]
        limit = duration + 60
    else:
        command += ["-n", str(requests)]
        limit = 300
    if body is not None:
        path = os.path.join(tmp, "h2load-body-%s.json" % secrets.token_hex(4))
        with open(path, "wb") as f:
            f.write(body if isinstance(body, bytes) else json.dumps(body).encode())
        command += ["-d", path, "-H", "Content-Type: application/json"]
    for h in headers:
        command += ["-H", h]
    command.append(url)
    run = subprocess.run(command, capture_output=True, text=True, timeout=limit,
                         preexec_fn=on_cpus(cpus))
    out = run.stdout
    finished, codes = _FINISHED.search(out), _CODES.search(out)
    done = _REQUESTS.search(out)
    if not (finished and codes and done):
        raise RuntimeError(f"h2load did not report:\n{out[-2000:]}{run.stderr[-1000:]}")
    ok = int(done.group(4))
    failed = max(int(done.group(5)), int(codes.group(3)) + int(codes.group(4)))
    if duration is not None:  # "finished in" counts the warm-up too
        seconds = duration
        rate = float(finished.group(3)) * ok / max(1, int(done.group(3)))
    else:
        seconds = float(finished.group(1)) * _UNIT[finished.group(2)] / 1000
        rate = ok / seconds if seconds else 0.0
    mean = _TIME.search(out)
    mean_ms = float(mean.group(1)) * _UNIT[mean.group(2)] if mean else float("nan")
    return Load(rate, ok, failed, seconds, mean_ms)


def kapi_load(kapi: Kapi, path: str, tmp: str, **kw: Any) -> Load:
    kw.setdefault("cpus", kapi.load_cpus)
    return h2load(kapi.url + path, tmp=tmp, headers=(f"Authorization: Bearer {TOKEN}",), **kw)


# -- raw backend rates --------------------------------------------------------

def raw_sqlite(path: str, seconds: float, limit: int = 200000) -> Tuple[float, int]:
    """Writes/s of single-row insert + commit, with kapi's schema and pragmas."""
    from kapi_twisted.storage import sqlite as kapi_sqlite

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(kapi_sqlite._SCHEMA)
        conn.execute("PRAGMA synchronous=FULL")  # SQLiteStorage's default
        value = stored_bytes()
        i, start = 0, time.perf_counter()
        end = start + seconds
        while i < limit:
            i += 1
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(kapi_sqlite._INSERT,
                         (i, "/registry/configmaps/bench/raw-%07d" % i, i, 0, value))
            conn.execute("COMMIT")
            if time.perf_counter() > end:
                break
        return i / (time.perf_counter() - start), i
    finally:
        conn.close()


def raw_memory(seconds: float, limit: int = 500000) -> Tuple[float, int]:
    """Writes/s of MemoryStorage.create (fires synchronously: no reactor needed)."""
    from kapi_twisted.storage.memory import MemoryStorage

    store = MemoryStorage(compaction_interval=0)
    store.start()
    value = stored_bytes()
    i, start = 0, time.perf_counter()
    end = start + seconds
    while i < limit:
        i += 1
        store.create("/registry/configmaps/bench/raw-%07d" % i, value)
        if time.perf_counter() > end:
            break
    rate = i / (time.perf_counter() - start)
    store.stop()
    return rate, i


def etcd_txn_body() -> bytes:
    """A txn shaped like kapi's create: compare on a create revision, then put."""
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return json.dumps({
        "compare": [{"target": "CREATE", "key": b64(b"/rawbench/absent"),
                     "create_revision": "0", "result": "EQUAL"}],
        "success": [{"request_put": {"key": b64(b"/rawbench/object"),
                                     "value": b64(stored_bytes())}}],
    }).encode()


# -- figures ------------------------------------------------------------------

def fmt_rate(r: Optional[float]) -> str:
    return "%8.0f/s" % r if r is not None else "        -"


def ratio(a: Optional[float], b: Optional[float], backend: str = "") -> str:
    if backend == "memory":  # the raw figure is a dict insert: no useful ratio
        return "   n/a"
    return "%5.0f%%" % (100 * a / b) if a and b else "     -"


def note_failures(load: Load) -> str:
    return f"  ({load.failed} not 2xx)" if load.failed else ""


def seed(kapi: Kapi, ns: str, count: int, tmp: str, connections: int, streams: int) -> None:
    """Create `count` ConfigMaps in `ns` (generateName), in a bounded number of rounds."""
    path = CONFIGMAPS % ns
    for _ in range(3):
        listed = kapi.client.json("GET", path + "?resourceVersion=0")["items"]
        # Not the kube-root-ca.crt ConfigMap the controllers add to every namespace.
        have = sum(1 for i in listed if i["metadata"]["name"].startswith("bench-"))
        if have >= count:
            return
        kapi_load(kapi, path, tmp, connections=connections, streams=streams,
                  requests=count - have, body=configmap())
    raise RuntimeError(f"could not store {count} objects in {ns}")


def bench_backend(backend: str, tmp: str, args: argparse.Namespace,
                  results: Dict[str, Dict[str, Any]], extras: bool) -> None:
    """Raw rate, then create/get/list through the API; big list and fan-out if `extras`."""
    row: Dict[str, Any] = results.setdefault(backend, {})
    flags: List[str] = []
    etcd = None
    # Only etcd runs beside kapi as a process of its own; SQLite and memory
    # work inside kapi (the SQLite writer is a thread of the server).
    server_cpus: Optional[Set[int]] = None
    backend_cpus: Optional[Set[int]] = None
    conc = dict(connections=args.connections, streams=args.streams)
    in_flight = args.connections * args.streams
    print(f"\n== {backend} ==", flush=True)
    if backend == "sqlite":
        rate, n = raw_sqlite(os.path.join(tmp, "raw.db"), args.duration)
        row["raw"] = row["raw_conc"] = rate
        print(f"  raw: SQLite single-row insert + commit, synchronous=FULL: "
              f"{fmt_rate(rate)} ({n} rows)", flush=True)
    elif backend == "memory":
        rate, n = raw_memory(args.duration)
        row["raw"] = row["raw_conc"] = rate
        print(f"  raw: MemoryStorage.create in process: {fmt_rate(rate)} ({n} creates)",
              flush=True)
    elif backend == "etcd3":
        from kapi_twisted.storage.testing import EtcdServer

        body = etcd_txn_body()
        txn = "/v3/kv/txn"
        if args.pin:
            server_cpus, backend_cpus = placement()
            alone = EtcdServer(os.path.join(tmp, "etcd-alone"))
            alone.start()
            CLEANUP.add(alone.stop)
            both = h2load(alone.url + txn, h1=True, connections=in_flight,
                          duration=args.duration, body=body, tmp=tmp)
            CLEANUP.remove(alone.stop)
            alone.stop()
            row["raw_unpinned"] = both.rate
            print(f"  raw: etcd alone on every core, {in_flight} connections "
                  f"{fmt_rate(both.rate)} (for reference)", flush=True)
            print(f"  placement: kapi on CPU {sorted(server_cpus)}; etcd and h2load on CPU "
                  f"{sorted(backend_cpus)}, for the raw and the API figures alike", flush=True)
        etcd = EtcdServer(os.path.join(tmp, "etcd"))
        with children_on(backend_cpus):
            etcd.start()
        CLEANUP.add(etcd.stop)
        serial = h2load(etcd.url + txn, h1=True, duration=args.duration,
                        body=body, tmp=tmp, cpus=backend_cpus)
        parallel = h2load(etcd.url + txn, h1=True, connections=in_flight,
                          duration=args.duration, body=body, tmp=tmp, cpus=backend_cpus)
        row["raw"], row["raw_conc"] = serial.rate, parallel.rate
        print(f"  raw: etcd /v3/kv/txn (compare + put), HTTP/1.1 keep-alive: serial "
              f"{fmt_rate(serial.rate)}, {in_flight} connections {fmt_rate(parallel.rate)}",
              flush=True)
        flags = ["--etcd-servers", etcd.url]
    kapi = Kapi(tmp, backend, *flags, cpus=server_cpus)
    kapi.load_cpus = backend_cpus
    try:
        for ns in ("bench-create", "bench-read"):
            kapi.create_namespace(ns)
        create = CONFIGMAPS % "bench-create"
        s = kapi_load(kapi, create, tmp, duration=args.duration, body=configmap())
        c = kapi_load(kapi, create, tmp, duration=args.duration, body=configmap(), **conc)
        h = kapi_load(kapi, create, tmp, duration=args.duration, body=configmap(),
                      connections=in_flight, h1=True)
        row["create"], row["create_conc"], row["create_h1"] = s.rate, c.rate, h.rate
        for label, load, raw in (
                ("serial (HTTP/2, 1 stream)", s, row["raw"]),
                (f"HTTP/2 {args.connections}x{args.streams} streams", c, row["raw_conc"]),
                (f"HTTP/1.1 {in_flight} connections", h, row["raw_conc"])):
            print(f"  create {label:28s} {fmt_rate(load.rate)}  "
                  f"{ratio(load.rate, raw, backend)} of raw{note_failures(load)}",
                  flush=True)

        read = CONFIGMAPS % "bench-read"
        kapi.client.json("POST", read, configmap("get-me"), expect=(201,))
        seed(kapi, "bench-read", 100, tmp, args.connections, args.streams)
        for name, path in (("get", read + "/get-me"), ("list100", read)):
            s = kapi_load(kapi, path, tmp, duration=args.duration)
            c = kapi_load(kapi, path, tmp, duration=args.duration, **conc)
            row[name], row[name + "_conc"], row[name + "_ms"] = s.rate, c.rate, s.per_request_ms()
            print(f"  {name:8s} serial {fmt_rate(s.rate)} ({s.per_request_ms():.2f} ms each)"
                  f"   {args.connections}x{args.streams} streams {fmt_rate(c.rate)}"
                  f"{note_failures(s) or note_failures(c)}", flush=True)
        if extras:
            bench_big_list(kapi, tmp, args, results)
            bench_fan_out(kapi, tmp, args, results)
    except Exception:
        print(f"  kapi log tail:\n{kapi.log()}", file=sys.stderr)
        raise
    finally:
        kapi.stop()
        if etcd is not None:
            CLEANUP.remove(etcd.stop)
            etcd.stop()


def bench_big_list(kapi: Kapi, tmp: str, args: argparse.Namespace,
                   results: Dict[str, Dict[str, Any]]) -> None:
    """LIST of many objects over HTTP against json.dumps of the same list here."""
    n = args.list_objects
    row = results.setdefault("big_list", {"objects": n, "backend": kapi.backend})
    kapi.create_namespace("bench-list")
    start = time.perf_counter()
    seed(kapi, "bench-list", n, tmp, args.connections, args.streams)
    print(f"\n  -- LIST of {n:,} objects ({kapi.backend}; stored in "
          f"{time.perf_counter() - start:.1f} s) --", flush=True)
    path = CONFIGMAPS % "bench-list"
    # A consistent read: resourceVersion=0 may answer from a cache a write behind.
    listed = kapi.client.json("GET", path)
    # The namespace also holds the kube-root-ca.crt ConfigMap the controllers add.
    ours = [i for i in listed["items"] if i["metadata"]["name"] != "kube-root-ca.crt"]
    if len(ours) != n:
        raise RuntimeError(f"listed {len(ours)} objects, expected {n}")
    size = len(json.dumps(listed, separators=(",", ":")))
    rounds = args.list_rounds
    dumps: List[float] = []
    for _ in range(rounds):
        t = time.perf_counter()
        json.dumps(listed, separators=(",", ":")).encode()
        dumps.append(time.perf_counter() - t)
    dumps_ms = statistics.median(dumps) * 1000
    row["dumps_ms"] = dumps_ms
    print(f"  json.dumps of the same list in this process: {dumps_ms:7.1f} ms"
          f" ({size / 1e6:.1f} MB)", flush=True)
    for name, query in (("rv0", "?resourceVersion=0"), ("plain", "")):
        for protocol, h1 in (("HTTP/2", False), ("HTTP/1.1", True)):
            load = kapi_load(kapi, path + query, tmp, requests=rounds, h1=h1)
            ms = load.per_request_ms()
            row[f"{name}_{'h1' if h1 else 'h2'}_ms"] = ms
            print(f"  GET {query or '(plain list)':20s} over {protocol:8s}: {ms:7.1f} ms per list "
                  f"({rounds} in turn)  {ms / dumps_ms:5.2f}x json.dumps"
                  f"{note_failures(load)}", flush=True)


def read_message(proc: subprocess.Popen, timeout: float) -> dict:
    """The next JSON line from a helper's stdout, within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    line = b""
    fd = proc.stdout.fileno()
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None and not select.select([fd], [], [], 0)[0]:
            raise RuntimeError(f"watchers gave no answer ({line!r})")
        if select.select([fd], [], [], min(left, 0.5))[0]:
            chunk = os.read(fd, 1)
            if not chunk:
                raise RuntimeError(f"watchers exited ({line!r})")
            line += chunk
    return json.loads(line)


def bench_fan_out(kapi: Kapi, tmp: str, args: argparse.Namespace,
                  results: Dict[str, Dict[str, Any]]) -> None:
    """N watches on one collection; writes one at a time: delay until each watch has it."""
    n = args.watchers
    kapi.create_namespace("bench-watch")
    path = CONFIGMAPS % "bench-watch"
    rv = kapi.client.json("GET", path)["metadata"]["resourceVersion"]
    marker = "fanout-" + secrets.token_hex(6)
    print(f"\n  -- WATCH fan-out ({kapi.backend}): {n} watches (HTTP/1.1, one connection each),"
          f" {args.fanout_writes} creates one at a time --", flush=True)
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, os.path.join(REPO, "bench", "_watchers.py"),
         "--port", str(kapi.port), "--token", TOKEN, "--cafile", kapi.cafile,
         "--count", str(n), "--marker", marker, "--rounds", str(args.fanout_writes),
         "--timeout", "90", "--event-timeout", "30",
         "--path", f"{path}?watch=true&resourceVersion={rv}&timeoutSeconds=300"],
        stdout=subprocess.PIPE, env=child_env())
    undo = CLEANUP.add(lambda: stop_process(proc, 2))
    rounds: List[Dict[str, float]] = []
    try:
        ready = read_message(proc, 120)
        if ready["ready"] != n:
            raise RuntimeError(f"only {ready['ready']} of {n} watches started: {ready['errors']}")
        print(f"  {n} watches open in {time.monotonic() - start:.1f} s", flush=True)
        for r in range(args.fanout_writes):
            time.sleep(0.5)  # let the server settle (connection storm, previous round)
            written = time.monotonic()
            kapi.client.json("POST", path, configmap(f"{marker}-{r}"), expect=(201,))
            answered = time.monotonic()
            report = read_message(proc, 60)
            delays = sorted((a - written) * 1000 for a in report["arrivals"])
            if not delays:
                raise RuntimeError(f"no watcher saw the event: {report['errors']}")
            figures = dict(received=len(delays), create_ms=(answered - written) * 1000,
                           min_ms=delays[0], median_ms=statistics.median(delays),
                           p90_ms=delays[max(0, int(len(delays) * 0.9) - 1)], max_ms=delays[-1])
            rounds.append(figures)
            print(f"  write {r + 1}: create answered after {figures['create_ms']:.1f} ms; "
                  f"{len(delays)}/{n} watchers got it: min {delays[0]:.1f}, median "
                  f"{figures['median_ms']:.1f}, p90 {figures['p90_ms']:.1f}, max "
                  f"{delays[-1]:.1f} ms after the write", flush=True)
            if report["missing"]:
                print(f"  {report['missing']} watchers did not get it: {report['errors']}",
                      flush=True)
                break
    finally:
        CLEANUP.remove(undo)
        stop_process(proc, 2)
    results["fan_out"] = {"watchers": n, "rounds": rounds}


def summary(results: Dict[str, Dict[str, Any]], args: argparse.Namespace) -> None:
    n = args.connections * args.streams
    c = f"{args.connections}x{args.streams}"
    print(f"\n== Summary: requests/s; (ratio) = API create / raw backend write; serial = 1 in "
          f"flight, h2 {c} = HTTP/2 {args.connections} connections x {args.streams} streams, "
          f"h1 {n} = HTTP/1.1 {n} connections; target: create >= 50% of raw; SQLite has one "
          f"writer, so its raw figure is the same serial rate in both columns ==")
    columns = ["backend", "raw serial", "create serial", f"raw {n} in flight", f"create h2 {c}",
               f"create h1 {n}", "get serial", f"get h2 {c}", "list100 serial", f"list100 h2 {c}"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---" for _ in columns) + "|")
    for backend in args.backends:
        r = results.get(backend)
        if not r or "create" not in r:
            continue
        cells = [backend, "%.0f" % r["raw"],
                 "%.0f (%s)" % (r["create"], ratio(r["create"], r["raw"], backend).strip()),
                 "%.0f" % r["raw_conc"]]
        for key in ("create_conc", "create_h1"):
            cells.append("%.0f (%s)" % (r[key], ratio(r[key], r["raw_conc"], backend).strip()))
        cells += ["%.0f" % r[k] for k in ("get", "get_conc", "list100", "list100_conc")]
        print("| " + " | ".join(cells) + " |")
    e = results.get("etcd3")
    if e and "raw_unpinned" in e and "create_conc" in e:
        print(f"\netcd3 figures above: kapi on one core, etcd and h2load on the other. etcd alone "
              f"on every core: {e['raw_unpinned']:.0f}/s; against that, create h2 {c} is "
              f"{ratio(e['create_conc'], e['raw_unpinned']).strip()} and h1 {n} "
              f"{ratio(e['create_h1'], e['raw_unpinned']).strip()}.")
    b = results.get("big_list")
    if b and "plain_h1_ms" in b:
        d = b["dumps_ms"]
        print(f"\nLIST of {b['objects']:,} objects ({b['backend']}), ms per list "
              f"(x json.dumps of the same list here, {d:.1f} ms; target <= 2x):")
        for name, label in (("rv0", "resourceVersion=0"), ("plain", "plain list")):
            h2, h1 = b[f"{name}_h2_ms"], b[f"{name}_h1_ms"]
            print(f"  {label:18s} HTTP/2 {h2:7.1f} ms ({h2 / d:.2f}x)   "
                  f"HTTP/1.1 {h1:7.1f} ms ({h1 / d:.2f}x)")
    f = results.get("fan_out")
    if f and f["rounds"]:
        print(f"\nWATCH fan-out, {f['watchers']} watchers, one create at a time; ms after the "
              f"write (create answered / min / median / max; got it):")
        for i, r in enumerate(f["rounds"]):
            print(f"  write {i + 1}: {r['create_ms']:6.1f} / {r['min_ms']:6.1f} / "
                  f"{r['median_ms']:6.1f} / {r['max_ms']:6.1f}; {r['received']}/{f['watchers']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3.0,
                        help="seconds per rate measurement (after 0.5 s warm-up)")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="comma-separated, from sqlite, memory, etcd3")
    parser.add_argument("--list-objects", type=int, default=10000)
    parser.add_argument("--list-rounds", type=int, default=10, help="big lists timed, each way")
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--fanout-writes", type=int, default=3,
                        help="writes to the watched collection, one at a time")
    parser.add_argument("--connections", type=int, default=4, help="h2load connections")
    parser.add_argument("--streams", type=int, default=8, help="h2load streams per connection")
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="let the OS place etcd, kapi and h2load (default: one core for "
                             "kapi, the other for etcd and h2load)")
    args = parser.parse_args()
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if args.pin and not can_pin():
        print("(fewer than 2 CPUs or no sched_setaffinity: placement left to the OS)")
        args.pin = False
    for b in args.backends:
        if b not in BACKENDS:
            parser.error(f"unknown backend {b!r}")
    if shutil.which("h2load") is None:
        print("h2load not found: apt-get install -y nghttp2-client")
        return 1
    if "etcd3" in args.backends and shutil.which("etcd") is None:
        print("(etcd not found: etcd3 figures skipped; apt-get install -y etcd-server)")
        args.backends.remove("etcd3")
    try:  # every watch is a socket, here and in the server
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard, max(soft, 2 * args.watchers + 512))
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ImportError, ValueError, OSError):
        pass

    def terminated(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminated)
    signal.signal(signal.SIGINT, terminated)  # also when started with SIGINT ignored (&)
    tmp = tempfile.mkdtemp(prefix="kapi-bench-api-")
    CLEANUP.add(lambda: shutil.rmtree(tmp, ignore_errors=True))
    results: Dict[str, Dict[str, Any]] = {}
    print(f"kapi server: twistd in its own process, TLS on loopback; load: h2load (HTTP/2, "
          f"serial = 1 stream, concurrent = {args.connections} connections x {args.streams} "
          f"streams), {args.duration:g} s per figure")
    try:
        for i, backend in enumerate(args.backends):
            bench_backend(backend, tmp, args, results, extras=(i == 0))
        summary(results, args)
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        CLEANUP.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
