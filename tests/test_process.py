"""
The server as a process: `twistd -n kapi` started, used over real TLS with
the generated admin credentials, stopped with SIGTERM or killed with SIGKILL.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any, List, Optional

from twisted.trial.unittest import SynchronousTestCase


def _twistd() -> str:
    here = os.path.join(os.path.dirname(sys.executable), "twistd")
    return here if os.path.exists(here) else (shutil.which("twistd") or "twistd")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class KapiProcess:
    """One `twistd -n kapi` child process on a free loopback port."""

    def __init__(self, data_dir: str, *flags: str) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.log_path = os.path.join(data_dir, "server.log")
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [_twistd(), "-n", "--pidfile=", "kapi",
             "--port", f"ssl:{self.port}:interface=127.0.0.1",
             "--data-dir", data_dir, *flags],
            stdout=log, stderr=subprocess.STDOUT, cwd=data_dir,
        )
        log.close()
        self.url = f"https://127.0.0.1:{self.port}"
        self._wait_serving()

    def _wait_serving(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"kapi exited early:\n{self.log()}")
            try:
                status, _ = self.request("GET", "/readyz")
                if status == 200:
                    return
            except (OSError, ssl.SSLError):
                pass
            time.sleep(0.05)
        raise AssertionError(f"kapi did not become ready:\n{self.log()}")

    def log(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")[-4000:]

    def _context(self) -> ssl.SSLContext:
        certs = os.path.join(self.data_dir, "certs")
        ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
        ctx.load_cert_chain(os.path.join(certs, "admin.crt"), os.path.join(certs, "admin.key"))
        return ctx

    def request(self, method: str, path: str, body: Optional[dict] = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self._context(), timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


def _configmap(name: str, value: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name}, "data": {"k": value}}


class ProcessTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.data_dir = tempfile.mkdtemp(prefix="kapi-proc-")
        self.addCleanup(shutil.rmtree, self.data_dir, True)
        self.processes: List[KapiProcess] = []
        self.addCleanup(self._kill_all)

    def _kill_all(self) -> None:
        for p in self.processes:
            if p.proc.poll() is None:
                p.proc.kill()
                p.proc.wait()

    def start(self, *flags: str) -> KapiProcess:
        p = KapiProcess(self.data_dir, *flags)
        self.processes.append(p)
        return p

    def test_sigterm_exits_zero_after_readyz_fails(self):
        """On SIGTERM readyz fails during the shutdown delay while livez passes; then exit 0."""
        p = self.start("--shutdown-delay-duration", "1500ms")
        p.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        readyz = None
        while time.monotonic() < deadline:
            readyz = p.request("GET", "/readyz?verbose")
            if readyz[0] == 500:
                break
            time.sleep(0.02)
        self.assertEqual(readyz[0], 500)
        self.assertIn(b"[-]shutdown failed: reason withheld", readyz[1])
        self.assertEqual(p.request("GET", "/livez")[0], 200)
        self.assertEqual(p.proc.wait(30), 0, p.log())

    def test_acknowledged_writes_survive_sigkill(self):
        """Every write answered 201 before a SIGKILL is there after a restart on SQLite."""
        p = self.start()
        acknowledged = []
        for i in range(40):
            status, _ = p.request("POST", "/api/v1/namespaces/default/configmaps",
                                  _configmap(f"cm-{i}", str(i)))
            if status == 201:
                acknowledged.append(f"cm-{i}")
        self.assertEqual(len(acknowledged), 40)
        p.stop(signal.SIGKILL)
        q = self.start()
        status, body = q.request("GET", "/api/v1/namespaces/default/configmaps")
        self.assertEqual(status, 200)
        names = {item["metadata"]["name"] for item in json.loads(body)["items"]}
        self.assertTrue(set(acknowledged) <= names)
        self.assertEqual(q.stop(), 0, q.log())

    def test_watch_resumes_across_restart(self):
        """A watch from a resourceVersion taken before a restart receives exactly the later events."""
        p = self.start()
        status, body = p.request("POST", "/api/v1/namespaces/default/configmaps",
                                 _configmap("before", "0"))
        self.assertEqual(status, 201)
        rv = json.loads(body)["metadata"]["resourceVersion"]
        self.assertEqual(p.request("POST", "/api/v1/namespaces/default/configmaps",
                                   _configmap("after-1", "1"))[0], 201)
        self.assertEqual(p.stop(), 0, p.log())
        q = self.start()
        self.assertEqual(q.request("POST", "/api/v1/namespaces/default/configmaps",
                                   _configmap("after-2", "2"))[0], 201)
        status, body = q.request(
            "GET", f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}"
                   "&timeoutSeconds=1")
        self.assertEqual(status, 200)
        events = [json.loads(line) for line in body.splitlines() if line.strip()]
        self.assertEqual(
            [(e["type"], e["object"]["metadata"]["name"]) for e in events],
            [("ADDED", "after-1"), ("ADDED", "after-2")],
        )
        self.assertEqual(q.stop(), 0, q.log())

    def test_second_sigterm_exits_at_once(self):
        """A second SIGTERM during a long shutdown delay ends the process with status 1."""
        p = self.start("--shutdown-delay-duration", "1m")
        p.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and p.request("GET", "/readyz")[0] != 500:
            time.sleep(0.02)
        p.proc.send_signal(signal.SIGTERM)
        self.assertEqual(p.proc.wait(10), 1)

    def test_certificates_reused(self):
        """A second start reuses the generated CA, so an old kubeconfig still verifies."""
        p = self.start()
        with open(os.path.join(self.data_dir, "certs", "ca.crt"), "rb") as f:
            ca = f.read()
        self.assertEqual(p.stop(), 0, p.log())
        q = self.start()
        with open(os.path.join(self.data_dir, "certs", "ca.crt"), "rb") as f:
            self.assertEqual(f.read(), ca)
        self.assertEqual(q.request("GET", "/version")[0], 200)
        self.assertEqual(q.stop(), 0, q.log())

    def _run_to_exit(self, *flags: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [_twistd(), "-n", "--pidfile=", "kapi", "--data-dir", self.data_dir, *flags],
            capture_output=True, text=True, timeout=60, cwd=self.data_dir)

    def test_corrupt_store_stops_with_one_line(self):
        """An unreadable store file ends the process with status 1, one clear line, and the file untouched."""
        path = os.path.join(self.data_dir, "kapi.db")
        with open(path, "wb") as f:
            f.write(b"this is not a database, but someone's data" * 100)
        with open(path, "rb") as f:
            before = f.read()
        out = self._run_to_exit("--port", f"ssl:{_free_port()}:interface=127.0.0.1")
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        text = out.stdout + out.stderr
        self.assertIn("kapi could not start: storage file", text)
        self.assertNotIn("Traceback", text)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), before)

    def test_port_in_use_stops_with_one_line(self):
        """A port already taken ends the process with status 1 and one clear line."""
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            out = self._run_to_exit("--port", f"ssl:{port}:interface=127.0.0.1")
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        text = out.stdout + out.stderr
        self.assertIn("kapi could not start", text)
        self.assertIn("in use", text)
        self.assertNotIn("Traceback", text)
