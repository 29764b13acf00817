"""
Generated certificates and the admin kubeconfig: made once in --cert-dir,
reused on the next start, and shaped so clients verify the server.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import stat

import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from twisted.trial.unittest import SynchronousTestCase

from kapi_twisted.config import ServerConfig
from kapi_twisted.server import certs


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _cert(path):
    return x509.load_pem_x509_certificate(_read(path))


class CertificateTests(SynchronousTestCase):
    def setUp(self):
        self.config = ServerConfig(data_dir=self.mktemp())

    def _files(self, bundle):
        return [bundle.ca_cert_file, bundle.ca_key_file, bundle.serving_cert_file,
                bundle.serving_key_file, bundle.admin_cert_file, bundle.admin_key_file]

    def test_generated_once_and_reused(self):
        """A second start reuses the CA, serving and admin certificates byte for byte."""
        first = certs.ensure_certificates(self.config)
        contents = [_read(p) for p in self._files(first)]
        second = certs.ensure_certificates(self.config)
        self.assertEqual([_read(p) for p in self._files(second)], contents)
        self.assertEqual(sorted(os.listdir(self.config.cert_dir)),
                         ["admin.crt", "admin.key", "apiserver.crt", "apiserver.key",
                          "ca.crt", "ca.key"])

    def test_keys_private(self):
        """Private keys are readable by the owner only."""
        bundle = certs.ensure_certificates(self.config)
        for path in (bundle.ca_key_file, bundle.serving_key_file, bundle.admin_key_file):
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)

    def test_serving_names(self):
        """The serving certificate covers localhost, loopback, the host name and the in-cluster names."""
        bundle = certs.ensure_certificates(self.config)
        cert = _cert(bundle.serving_cert_file)
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = set(sans.get_values_for_type(x509.DNSName))
        ips = set(sans.get_values_for_type(x509.IPAddress))
        self.assertTrue({"localhost", "kubernetes", "kubernetes.default",
                         "kubernetes.default.svc",
                         "kubernetes.default.svc.cluster.local"} <= dns)
        self.assertEqual(ips, {ipaddress.ip_address(a) for a in ("127.0.0.1", "::1", "10.0.0.1")})
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        self.assertEqual(list(usage), [ExtendedKeyUsageOID.SERVER_AUTH])
        cert.verify_directly_issued_by(_cert(bundle.ca_cert_file))

    def test_admin_identity(self):
        """The admin client certificate is kubernetes-admin in group system:masters."""
        bundle = certs.ensure_certificates(self.config)
        cert = _cert(bundle.admin_cert_file)
        self.assertEqual(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value,
                         "kubernetes-admin")
        self.assertEqual(
            cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value,
            "system:masters")
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        self.assertEqual(list(usage), [ExtendedKeyUsageOID.CLIENT_AUTH])

    def test_missing_leaf_reissued_from_same_ca(self):
        """A deleted serving certificate is issued again by the existing CA."""
        bundle = certs.ensure_certificates(self.config)
        ca = _read(bundle.ca_cert_file)
        admin = _read(bundle.admin_cert_file)
        os.unlink(bundle.serving_key_file)
        certs.ensure_certificates(self.config)
        self.assertEqual(_read(bundle.ca_cert_file), ca)
        self.assertEqual(_read(bundle.admin_cert_file), admin)
        _cert(bundle.serving_cert_file).verify_directly_issued_by(_cert(bundle.ca_cert_file))

    def test_new_ca_reissues_leaves(self):
        """If the CA is lost, both leaves are issued again by the new CA."""
        bundle = certs.ensure_certificates(self.config)
        os.unlink(bundle.ca_key_file)
        certs.ensure_certificates(self.config)
        ca = _cert(bundle.ca_cert_file)
        _cert(bundle.serving_cert_file).verify_directly_issued_by(ca)
        _cert(bundle.admin_cert_file).verify_directly_issued_by(ca)

    def test_kubeconfig(self):
        """admin.kubeconfig names the server, carries the CA and the admin credentials."""
        path = certs.write_admin_kubeconfig(self.config, "https://127.0.0.1:6443")
        self.assertEqual(path, os.path.join(self.config.data_dir, "admin.kubeconfig"))
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as f:
            document = yaml.safe_load(f)
        bundle = certs.bundle_paths(self.config.cert_dir)
        cluster = document["clusters"][0]["cluster"]
        user = document["users"][0]["user"]
        self.assertEqual(cluster["server"], "https://127.0.0.1:6443")
        self.assertNotIn("insecure-skip-tls-verify", cluster)
        self.assertEqual(base64.b64decode(cluster["certificate-authority-data"]),
                         _read(bundle.ca_cert_file))
        self.assertEqual(base64.b64decode(user["client-certificate-data"]),
                         _read(bundle.admin_cert_file))
        self.assertEqual(base64.b64decode(user["client-key-data"]),
                         _read(bundle.admin_key_file))
        context = document["contexts"][0]
        self.assertEqual(document["current-context"], context["name"])
        self.assertEqual(context["context"]["cluster"], document["clusters"][0]["name"])
        self.assertEqual(context["context"]["user"], document["users"][0]["name"])
