#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The TLS files' checks have two backends (config_tls_pem.h): OpenSSL for
fieldbridgectl and the exporter, GnuTLS for the web daemon.  The page must
show the exporter's own --check texts and the same certificate description
as `fieldbridgectl connection show`, so for every kind of file both
backends' helpers (tests/config/tls_describe.c) must print the same bytes,
and those bytes must say the right thing."""
import os
import shutil
import subprocess
import tempfile
import unittest

import fbtest

BUILD = os.environ.get("FB_BUILD_DIR", "build/dev")
HELPERS = {b: os.path.join(BUILD, "tests", "config", f"tls_describe_{b}")
           for b in ("openssl", "gnutls")}


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class Backends(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fb-tls-backends-")
        cls.certs = fbtest.Certs(os.path.join(cls.tmp, "pki"))
        d = cls.d = cls.certs.dir
        # A name of several parts with a non-ASCII one and an e-mail (its
        # short name differs between the libraries), and an EC key.
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", "ec.key", "-out", "ec.crt", "-days", "30", "-utf8",
                "-subj", "/C=DE/ST=Bayern/O=Feld Brücke GmbH/OU=ops/CN=gw-1.example"
                "/emailAddress=ops@example.org", cwd=d)
        # A chain whose second certificate has expired, and one with text
        # and a key block around the certificates.
        for name, parts in (("chain-expired.crt", ["ca.crt", "expired.crt"]),
                            ("bundle.pem", ["client.key", "ca.crt", "other-ca.crt"])):
            with open(os.path.join(d, name), "w") as out:
                out.write("# a comment before the first block\n")
                for p in parts:
                    out.write(fbtest.read_text(os.path.join(d, p)))
        with open(os.path.join(d, "garbage.pem"), "w") as f:
            f.write("this is not a certificate\n")
        with open(os.path.join(d, "broken.crt"), "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nMIIB!!notbase64\n"
                    "-----END CERTIFICATE-----\n")
        with open(os.path.join(d, "half-broken.crt"), "w") as f:
            f.write(fbtest.read_text(os.path.join(d, "ca.crt")))
            f.write(fbtest.read_text(os.path.join(d, "broken.crt")))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def describe(self, crt, key, password="-", ca=None):
        out = {}
        args = [os.path.join(self.d, crt), os.path.join(self.d, key), password]
        if ca:
            args.append(os.path.join(self.d, ca))
        for b, exe in HELPERS.items():
            r = subprocess.run([exe, *args], capture_output=True, text=True,
                               cwd=self.d, timeout=fbtest.slack(30))
            self.assertEqual(r.returncode, 0, r.stderr)
            out[b] = r.stdout.replace(self.d + "/", "")
        self.assertEqual(out["gnutls"], out["openssl"], (crt, key, password, ca))
        return out["openssl"]

    def test_both_backends_say_the_same_of_every_kind_of_file(self):
        pw = self.certs.client_key_password
        cases = [
            (("client.crt", "client.key", "-", "ca.crt"),
             ["cert: subject /CN=fieldbridge | issuer /CN=fieldbridge test CA",
              "key: 0", "match: 1", "check: 0 errors, 0 warnings"]),
            (("ec.crt", "ec.key", "-", "bundle.pem"),
             ["subject /C=DE/ST=Bayern/O=Feld Br\\xC3\\xBCcke GmbH/OU=ops/CN=gw-1.example"
              "/emailAddress=ops@example.org", "match: 1", "check: 0 errors, 0 warnings"]),
            (("client.crt", "untrusted-client.key", "-", "other-ca.crt"),
             ["match: 0", 'ssl_client_key: "untrusted-client.key" is not the key of '
              'ssl_client_crt "client.crt"']),
            (("client.crt", "client.enc.key", pw, None), ["key: 0", "match: 1"]),
            (("client.crt", "client.enc-legacy.key", pw, None), ["key: 0", "match: 1"]),
            (("client.crt", "client.enc.key", "-", None),
             ["key: 1 client.enc.key: the key is encrypted", "match: -1",
              'is encrypted: expected ssl_client_key_password']),
            (("client.crt", "client.enc-legacy.key", "wrong", None),
             ["key: -1 client.enc-legacy.key: cannot decrypt the key: wrong "
              "ssl_client_key_password", "match: -1"]),
            (("expired.crt", "expired.key", "-", "chain-expired.crt"),
             ["expired 1", 'ssl_server_crt: "chain-expired.crt" (certificate 2 in the file) '
              "expired on 2021-01-01", 'ssl_client_crt: "expired.crt" expired on 2021-01-01',
              "check: 0 errors, 2 warnings"]),
            (("garbage.pem", "garbage.pem", "-", "broken.crt"),
             ['cert: error garbage.pem: expected a PEM certificate ("-----BEGIN '
              'CERTIFICATE-----"), the file holds none that parses',
              "key: -1 garbage.pem: expected a PEM private key", "match: -1",
              'ssl_server_crt: expected a PEM certificate file ("-----BEGIN '
              'CERTIFICATE-----"), "broken.crt" holds none', "check: 3 errors"]),
            (("half-broken.crt", "ca.key", "-", "half-broken.crt"),
             ["issuer /CN=fieldbridge test CA", "match: 1", "check: 0 errors, 0 warnings"]),
            (("client.crt", "missing.key", "-", None),
             ["key: -1 missing.key: cannot open: ", "match: -1",
              'ssl_client_key: cannot read "missing.key"']),
        ]
        for args, wants in cases:
            with self.subTest(args=args):
                text = self.describe(*args)
                for want in wants:
                    self.assertIn(want, text)


if __name__ == "__main__":
    fbtest.main(tools=("openssl",))
