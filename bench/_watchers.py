"""
Watch fan-out load for bench_api.py, run as its own process so that the
watchers do not share a core (or a GIL) with the server or the writer.

Opens N TLS connections (HTTP/1.1), sends one watch request on each, says
``{"ready": n}`` on stdout once every watch has its response headers, then
stamps (time.monotonic(), CLOCK_MONOTONIC: the same clock as the writer's in
another process on Linux) the moment each connection's body contains the
marker (the written object's name), and prints ``{"round": r, "arrivals":
[...]}`` once every watcher has it; with --rounds R, R writes one by one
(marker-0, marker-1, ...).
Standard library only; bounded by --timeout.

    python bench/_watchers.py --port P --path '/api/v1/...?watch=true&resourceVersion=R' \
        --token T --cafile ca.crt --count 1000 --marker NAME
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import time
from typing import List, Optional


def say(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class Watcher:
    """One watch on its own connection; stamps when each round's marker arrives."""

    def __init__(self, args: argparse.Namespace, context: ssl.SSLContext,
                 rounds: List["Round"]) -> None:
        self.args = args
        self.context = context
        self.rounds = rounds
        self.headers = asyncio.get_running_loop().create_future()
        self.arrivals: List[Optional[float]] = [None] * len(rounds)
        self.writer: Optional[asyncio.StreamWriter] = None

    async def connect(self, opening: asyncio.Semaphore) -> None:
        args = self.args
        async with opening:  # the server's listen backlog is small: open in waves
            reader, self.writer = await asyncio.open_connection(
                "127.0.0.1", args.port, ssl=self.context, server_hostname="127.0.0.1")
            self.writer.write(
                f"GET {args.path} HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\n"
                f"Authorization: Bearer {args.token}\r\nAccept: application/json\r\n"
                f"User-Agent: kapi-bench-watcher\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        if status != b"200":
            raise RuntimeError(f"watch answered {status.decode()}: {head[:200]!r}")
        self.headers.set_result(None)
        buffer = b""
        for number, round_ in enumerate(self.rounds):
            marker = round_.marker
            while marker not in buffer:
                data = await reader.read(65536)
                if not data:
                    raise RuntimeError("watch closed before the event")
                buffer = buffer[-len(marker):] + data
            self.arrivals[number] = time.monotonic()
            buffer = buffer[buffer.index(marker) + len(marker):]
            round_.arrived()


class Round:
    """One write: its marker, and whether every watcher has it yet."""

    def __init__(self, marker: str, count: int) -> None:
        self.marker = b'"%s"' % marker.encode()  # the whole JSON string: -1 is not -10
        self.waiting = count
        self.complete = asyncio.Event()

    def arrived(self) -> None:
        self.waiting -= 1
        if self.waiting == 0:
            self.complete.set()


async def run(args: argparse.Namespace) -> None:
    context = ssl.create_default_context(cafile=args.cafile)
    opening = asyncio.Semaphore(args.opening)
    rounds = [Round(f"{args.marker}-{r}", args.count) for r in range(args.rounds)]
    watchers = [Watcher(args, context, rounds) for _ in range(args.count)]
    tasks = [asyncio.ensure_future(w.connect(opening)) for w in watchers]
    deadline = time.monotonic() + args.timeout
    errors: List[str] = []

    def failed(task: asyncio.Task) -> bool:
        if task.done() and not task.cancelled() and task.exception() is not None:
            errors.append(str(task.exception()))
            return True
        return False

    pending = [w.headers for w in watchers]
    while not all(h.done() for h in pending):
        if any(failed(t) for t in tasks) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.01)
    ready = sum(1 for h in pending if h.done())
    say({"ready": ready, "errors": errors[:5]})
    if ready == args.count:
        for number, round_ in enumerate(rounds):
            try:
                await asyncio.wait_for(round_.complete.wait(), args.event_timeout)
            except asyncio.TimeoutError:
                pass
            arrivals = [w.arrivals[number] for w in watchers if w.arrivals[number] is not None]
            for t in tasks:
                failed(t)
            say({"round": number, "arrivals": arrivals,
                 "missing": args.count - len(arrivals), "errors": errors[:5]})
            if round_.waiting:
                break
    for t in tasks:
        t.cancel()
    for w in watchers:
        if w.writer is not None:
            w.writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--marker", required=True,
                        help="round r waits for <marker>-<r> (the written object's name)")
    parser.add_argument("--rounds", type=int, default=1, help="writes to wait for, one by one")
    parser.add_argument("--opening", type=int, default=32, help="connections opened at once")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to open every watch")
    parser.add_argument("--event-timeout", type=float, default=30.0,
                        help="seconds to wait for the event once ready")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
