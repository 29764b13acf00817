"""
Serving benchmark (not a test): the same small JSON answer (a /version
document) served over TLS on loopback by

  - bare:   a plain twisted.web Site over Twisted's own TLS options (ALPN h2,
            http/1.1; stock HTTPChannel and stock H2Connection), as it comes
            (one access-log line per request) and with its access log off
            (kapi writes none: metrics and audit cover requests),
  - kapi:   kapi's serving stack (ServingSite, our HTTP/1.1 and HTTP/2
            channels, reloading TLS) with the same resource,
  - kapi+filters: the same, behind kapi's filter chain as it stands
            (kapi_twisted.server.filters.build_handler_chain),

loaded by h2load (nghttp2-client) in turn, HTTP/1.1 and HTTP/2, and prints
requests per second and the ratio to bare for each. The servers run in this
process's reactor; h2load runs as a child process. Bounded in time.

    .venv/bin/python bench/bench_serving.py [--duration 5] [--connections 8] [--streams 10]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from typing import Any, Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from OpenSSL import crypto  # noqa: E402
from twisted.internet import defer, reactor, ssl  # noqa: E402
from twisted.internet.endpoints import TCP4ServerEndpoint  # noqa: E402
from twisted.internet.utils import getProcessOutputAndValue  # noqa: E402
from twisted.protocols.tls import TLSMemoryBIOFactory  # noqa: E402
from twisted.web.resource import Resource  # noqa: E402
from twisted.web.server import Site  # noqa: E402

from kapi_twisted.config import ServerConfig  # noqa: E402
from kapi_twisted.server import certs  # noqa: E402
from kapi_twisted.server.lifecycle import LifecycleSignals  # noqa: E402
from kapi_twisted.server.longrunning import LongRunningRequests  # noqa: E402
from kapi_twisted.server.serving import SecureServing  # noqa: E402
from kapi_twisted.server.waitgroup import WaitGroup  # noqa: E402

BODY = json.dumps({
    "major": "1", "minor": "32", "emulationMajor": "1", "emulationMinor": "32",
    "minCompatibilityMajor": "1", "minCompatibilityMinor": "31",
    "gitVersion": "v1.32.0", "gitCommit": "0" * 40, "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23", "compiler": "gc",
    "platform": "linux/amd64",
}, indent=2).encode() + b"\n"


class Version(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        return BODY


def root() -> Resource:
    r = Resource()
    r.putChild(b"version", Version())
    return r


class QuietSite(Site):
    def log(self, request: Any) -> None:
        pass


@defer.inlineCallbacks
def start_bare(bundle: certs.CertificateBundle, quiet: bool = False) -> Any:
    with open(bundle.serving_cert_file, "rb") as f:
        cert = crypto.load_certificate(crypto.FILETYPE_PEM, f.read())
    with open(bundle.serving_key_file, "rb") as f:
        key = crypto.load_privatekey(crypto.FILETYPE_PEM, f.read())
    options = ssl.CertificateOptions(privateKey=key, certificate=cert,
                                     acceptableProtocols=[b"h2", b"http/1.1"])
    site = (QuietSite if quiet else Site)(root())
    port = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
        TLSMemoryBIOFactory(options, False, site))
    return f"https://127.0.0.1:{port.getHost().port}"


@defer.inlineCallbacks
def start_kapi(config: ServerConfig, filters: bool) -> Any:
    resource: Any = root()
    if filters:
        from kapi_twisted.server.filters import build_handler_chain

        resource = build_handler_chain(
            resource, config=config, lifecycle=LifecycleSignals(), wait_group=WaitGroup(),
            long_running=LongRunningRequests(), reactor=reactor)
    serving = SecureServing(config, resource, LifecycleSignals(), reactor)
    serving.startService()
    yield serving.listening
    return serving.url()


_RATE = re.compile(rb"finished in [\d.]+m?s, ([\d.]+) req/s")
_DONE = re.compile(rb"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed")


@defer.inlineCallbacks
def load(h2load: str, url: str, http2: bool, args: Any) -> Any:
    """Requests per second h2load measured (None if it failed), and the failure count."""
    command = ["-c", str(args.connections), "-D", str(args.duration),
               "--warm-up-time", "1", "-t", "1"]
    command += ["-m", str(args.streams)] if http2 else ["--h1"]
    out, err, code = yield getProcessOutputAndValue(h2load, command + [url + "/version"],
                                                    env=dict(os.environ))
    rate = _RATE.search(out)
    done = _DONE.search(out)
    if code != 0 or rate is None:
        sys.stderr.write(out.decode(errors="replace") + err.decode(errors="replace"))
        return None, None
    failed = int(done.group(4)) if done else 0
    return float(rate.group(1)), failed


@defer.inlineCallbacks
def main(args: Any) -> Any:
    h2load = shutil.which("h2load")
    if h2load is None:
        print("h2load not found: apt-get install -y nghttp2-client")
        return
    data_dir = tempfile.mkdtemp(prefix="kapi-bench-")
    try:
        config = ServerConfig(port="ssl:0:interface=127.0.0.1", data_dir=data_dir,
                              max_requests_inflight=100000)
        bundle = certs.ensure_certificates(config)
        servers: List[Tuple[str, str]] = [("bare twisted.web", (yield start_bare(bundle)))]
        servers.append(("bare, no access log", (yield start_bare(bundle, quiet=True))))
        servers.append(("kapi serving", (yield start_kapi(config, filters=False))))
        try:
            servers.append(("kapi serving+filters", (yield start_kapi(config, filters=True))))
        except Exception as e:  # the chain is being built by others; still report the rest
            print(f"(filter chain unavailable: {e})")
        results: Dict[Tuple[str, str], Optional[float]] = {}
        print(f"{args.connections} connections, {args.streams} streams/connection for h2, "
              f"{args.duration}s each, {len(BODY)}-byte JSON body, TLS on loopback")
        for protocol in ("HTTP/1.1", "HTTP/2"):
            for name, url in servers:
                rate, failed = yield load(h2load, url, protocol == "HTTP/2", args)
                results[(protocol, name)] = rate
                base = results.get((protocol, servers[0][0]))
                ratio = f"{rate / base:5.2f}x bare" if rate and base else ""
                shown = f"{rate:9.0f} req/s" if rate else "   failed"
                extra = f" ({failed} failed)" if failed else ""
                print(f"{protocol:8} {name:22} {shown}  {ratio}{extra}", flush=True)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--streams", type=int, default=10,
                        help="concurrent streams per HTTP/2 connection")
    args = parser.parse_args()
    failures: List[Any] = []
    d = main(args)
    d.addErrback(failures.append)
    d.addBoth(lambda _: reactor.stop())
    reactor.run()
    if failures:
        failures[0].printTraceback()
        sys.exit(1)


if __name__ == "__main__":
    run()
