"""
Options: kube-apiserver's flag names and defaults, Go durations, and one
clear line for a bad value.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.config import ConfigError, ServerConfig, config_from_options
from kapi_twisted.durations import format_duration, parse_duration
from kapi_twisted.tap import Options, makeService


def _parse(*args: str) -> Options:
    options = Options()
    options.parseOptions(list(args))
    return options


class DurationTests(SynchronousTestCase):
    def test_go_durations(self):
        """Go-style durations parse to seconds."""
        self.assertEqual(parse_duration("4s"), 4.0)
        self.assertEqual(parse_duration("1m30s"), 90.0)
        self.assertEqual(parse_duration("250ms"), 0.25)
        self.assertEqual(parse_duration("1h"), 3600.0)
        self.assertEqual(parse_duration("1.5s"), 1.5)
        self.assertEqual(parse_duration("0"), 0.0)

    def test_invalid_durations(self):
        """Durations without units or with junk are refused with Go's wording."""
        for text in ("5", "abc", "1x", "", "s"):
            self.assertRaises(ValueError, parse_duration, text)
        with self.assertRaises(ValueError) as raised:
            parse_duration("xyz")
        self.assertEqual(str(raised.exception), 'time: invalid duration "xyz"')

    def test_format(self):
        """Durations print in Go's style."""
        self.assertEqual(format_duration(90), "1m30s")
        self.assertEqual(format_duration(0), "0s")


class OptionsTests(SynchronousTestCase):
    def test_defaults(self):
        """With no flags the defaults are kube-apiserver's (and the seed's 250 streams)."""
        config = config_from_options(_parse())
        self.assertEqual(config.port, "ssl:6443")
        self.assertEqual(config.data_dir, "./kapi-data")
        self.assertEqual(config.cert_dir, os.path.join("./kapi-data", "certs"))
        self.assertEqual(config.tls_min_version, "VersionTLS12")
        self.assertEqual(config.http2_max_streams_per_connection, 250)
        self.assertEqual(config.shutdown_delay_duration, 0.0)
        self.assertEqual(config.shutdown_timeout, 60.0)
        self.assertEqual(config.max_requests_inflight, 400)
        self.assertEqual(config.max_mutating_requests_inflight, 200)
        self.assertEqual(config.request_timeout, 60.0)
        self.assertEqual(config.storage_backend, "sqlite")
        self.assertEqual(config.etcd_prefix, "/registry")
        self.assertFalse(config.disable_http2)

    def test_values(self):
        """Flags set their fields; durations take Go syntax; SNI pairs repeat."""
        config = config_from_options(_parse(
            "--port", "ssl:0", "--data-dir", "/tmp/x", "--shutdown-delay-duration", "1m30s",
            "--request-timeout", "4s", "--disable-http2", "--http2-max-streams-per-connection", "100",
            "--max-requests-inflight", "0",
        ))
        self.assertEqual(config.shutdown_delay_duration, 90.0)
        self.assertEqual(config.request_timeout, 4.0)
        self.assertTrue(config.disable_http2)
        self.assertEqual(config.http2_max_streams_per_connection, 100)
        self.assertEqual(config.max_requests_inflight, 0)
        self.assertEqual(config.cert_dir, "/tmp/x/certs")

    def test_sni_pairs(self):
        """--tls-sni-cert-key parses certfile,keyfile[:names] and repeats."""
        here = os.path.abspath(__file__)
        options = _parse("--tls-sni-cert-key", f"{here},{here}",
                         "--tls-sni-cert-key", f"{here},{here}:a.example,*.b.example")
        config = config_from_options(options)
        self.assertEqual([s.names for s in config.tls_sni_cert_key], [(), ("a.example", "*.b.example")])

    def test_bad_values_name_the_flag(self):
        """Each unusable value is refused with a message naming its flag."""
        cases = [
            (["--request-timeout", "ten"], "--request-timeout"),
            (["--tls-min-version", "VersionTLS99"], "--tls-min-version"),
            (["--max-requests-inflight", "-1"], "--max-requests-inflight"),
            (["--storage-backend", "mysql"], "--storage-backend"),
            (["--storage-backend", "etcd3"], "--etcd-servers"),
            (["--storage-backend", "etcd3", "--etcd-servers", "127.0.0.1:2379"], "--etcd-servers"),
            (["--storage-backend", "etcd3", "--etcd-servers", "http://127.0.0.1:99999"],
             "--etcd-servers"),
            (["--port", "ssl:notaport"], "--port"),
            (["--service-node-port-range", "30000"], "--service-node-port-range"),
            (["--tls-cert-file", "/nonexistent.crt", "--tls-private-key-file", "/nonexistent.key"],
             "--tls-cert-file"),
            (["--tls-cert-file", __file__], "--tls-cert-file"),
        ]
        for args, flag in cases:
            with self.assertRaises(ConfigError) as raised:
                config_from_options(_parse(*args))
            self.assertIn(flag, str(raised.exception))
            self.assertNotIn("\n", str(raised.exception))

    def test_make_service_exits_with_one_line(self):
        """makeService turns a bad value into SystemExit with one line, not a traceback."""
        with self.assertRaises(SystemExit) as raised:
            makeService(_parse("--shutdown-timeout", "forever"))
        self.assertEqual(
            str(raised.exception.code),
            'kapi: --shutdown-timeout: time: invalid duration "forever"',
        )

    def test_config_dataclass_defaults(self):
        """ServerConfig built directly has the same defaults and derives its cert dir."""
        config = ServerConfig(data_dir="d").validate()
        self.assertEqual(config.cert_dir, os.path.join("d", "certs"))


def _twistd() -> str:
    """The twistd beside this interpreter (the project's environment)."""
    here = os.path.join(os.path.dirname(sys.executable), "twistd")
    return here if os.path.exists(here) else (shutil.which("twistd") or "twistd")


class TwistdTests(SynchronousTestCase):
    def test_help_lists_flags(self):
        """`twistd kapi --help` lists kube-apiserver's flags."""
        out = subprocess.run(
            [_twistd(), "kapi", "--help"],
            capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(out.returncode, 0, out.stderr)
        for flag in ("--port", "--data-dir", "--cert-dir", "--tls-cert-file", "--tls-private-key-file",
                     "--tls-sni-cert-key", "--tls-min-version", "--disable-http2",
                     "--http2-max-streams-per-connection", "--shutdown-delay-duration",
                     "--shutdown-timeout", "--max-requests-inflight",
                     "--max-mutating-requests-inflight", "--request-timeout", "--client-ca-file",
                     "--token-auth-file", "--storage-backend", "--etcd-servers"):
            self.assertIn(flag, out.stdout)

    def test_bad_flag_value_one_line(self):
        """A bad flag value stops twistd with one clear line on stderr and no traceback."""
        out = subprocess.run(
            [_twistd(), "-n", "--pidfile=", "kapi", "--request-timeout", "soon"],
            capture_output=True, text=True, timeout=60,
        )
        self.assertNotEqual(out.returncode, 0)
        self.assertIn('kapi: --request-timeout: time: invalid duration "soon"', out.stderr)
        self.assertNotIn("Traceback", out.stderr + out.stdout)
