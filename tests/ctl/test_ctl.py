# SPDX-License-Identifier: Apache-2.0
"""fieldbridgectl against a temp config dir: the real binary, the real
daemons' --check, files compared byte by byte before and after refusals."""

import json
import os
import re
import stat
import struct
import subprocess
import random
import unittest
import warnings

import fbtest

with warnings.catch_warnings():
    # Deprecated since 3.11 but still the libcrypt binding here; it checks
    # the yescrypt hashes independently of the tool.
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

BUILD = os.environ.get("FB_BUILD_DIR", "build/dev")
SRC = os.environ.get("FB_SOURCE_DIR", ".")
CTL = os.path.join(BUILD, "src/ctl/fieldbridgectl")
EXPORT = os.path.join(BUILD, "src/export/ha/fieldbridge-export")
MODBUS = os.path.join(BUILD, "src/drivers/modbus/fieldbridge-modbus")
DEVICES = os.path.join(SRC, "devices")

SECRET = "s3cr3t-Pass word"
KEY_SECRET = fbtest.Certs.PASSWORD


def strip_comments(text):
    """JSON with // and /* */ comments, outside strings, blanked."""
    out, i, n, in_str = [], 0, len(text), False
    while i < n:
        ch = text[i]
        if in_str:
            out.append(ch)
            if ch == "\\":
                out.append(text[i + 1])
                i += 1
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
            out.append(ch)
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        elif text.startswith("/*", i):
            i = text.find("*/", i) + 2
            continue
        else:
            out.append(ch)
        i += 1
    return json.loads("".join(out))


class Ctl(fbtest.TestCase):
    def setUp(self):
        super().setUp()
        for exe in (CTL, EXPORT, MODBUS):
            if not os.path.exists(exe):
                self.skipTest(f"{exe} not built")
        self.dir = os.path.join(self.tmp, "etc")
        os.makedirs(self.dir)
        self.main = os.path.join(self.dir, "fieldbridge.json")
        with open(self.main, "w") as f:
            f.write("""// hand-written; tools never rewrite this file
{
  "gateway": { "id": "gw", "state_dir": "%s", "users_file": "users.json",
               "definition_dirs": ["%s"] },
  "buses": [ { "name": "meters", "transport": "tcp", "host": "127.0.0.1",
               "devices": [ { "id": "m1", "definition": "eastron-sdm120" } ] } ],
  "connections": [ { "name": "main", "user": "ha", "broker": "192.0.2.1" } ]
}
""" % (os.path.join(self.tmp, "state"), os.path.abspath(DEVICES)))
        users = os.path.join(self.dir, "users.json")
        with open(users, "w") as f:
            json.dump({"users": [{"name": "ha", "rights": {"*": "read"}}]}, f)
        os.chmod(users, 0o600)

    # -- helpers -------------------------------------------------------------
    def ctl(self, *args, input=None, env=None):
        e = dict(os.environ)
        e.update(env or {})
        return subprocess.run([CTL, "-c", self.main, *args], input=input, text=True,
                              capture_output=True, timeout=60, env=e,
                              stdin=None if input is not None else subprocess.DEVNULL)

    def ok(self, *args, input=None):
        r = self.ctl(*args, input=input)
        self.assertEqual(r.returncode, 0, f"{args}: {r.stdout}{r.stderr}")
        return r

    def show(self, kind, name):
        r = self.ok("--json", kind, "show", name)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["fieldbridgectl"], 1)
        return doc[kind]

    def snapshot(self):
        return fbtest.tree_snapshot(self.dir)

    def assert_refused(self, args, code, allowed=None, input=None):
        before = self.snapshot()
        r = self.ctl(*args, input=input)
        self.assertEqual(r.returncode, code, f"{args}: {r.stdout}{r.stderr}")
        if allowed:
            self.assertIn(allowed, r.stderr)
        self.assertEqual(self.snapshot(), before, f"{args} changed files")
        return r

    # -- tests ---------------------------------------------------------------
    def test_field_table_is_exactly_the_documented_connection_parameters(self):
        with open(os.path.join(SRC, "docs/configuration.md")) as f:
            doc = f.read()
        section = doc.split("## `connections`", 1)[1].split("\n## ", 1)[0]
        documented = []
        for m in re.finditer(r"^\| `([a-z_]+)`(?: / `([a-z_]+)`)? \|", section, re.M):
            documented.append(m.group(1))
        documented.remove("name")  # the drop-in's file name / the argument
        r = self.ok("--json", "connection", "fields")
        fields = list(json.loads(r.stdout)["schema"]["properties"])
        self.assertEqual(fields, documented)
        schema = json.loads(r.stdout)["schema"]["properties"]
        self.assertEqual(schema["timeout_s"]["enum"],
                         [0, 10, 15, 30, 60, 90, 120, 150, 180, 300, 600, 1200, 1800, 3600])
        self.assertEqual((schema["max_inflight"]["minimum"], schema["max_inflight"]["maximum"]),
                         (1, 65000))

    def test_every_parameter_set_and_read_back(self):
        certs = fbtest.Certs(os.path.join(self.tmp, "pki"))
        plain = {
            "user": "ha", "connection_mode": "websocket", "broker": "broker.example",
            "port": "8883", "auth_user": "fb", "ssl": "on",
            "hostname_verification": "off", "qos": "2", "retain": "off",
            "timeout_s": "30", "keep_alive_s": "120", "max_inflight": "65000",
            "discovery_prefix": "ha/disc", "ws_path": "/ws", "node_id": "node_1",
        }
        args = [f"{k}={v}" for k, v in plain.items()]
        args += [f"ssl_server_crt={certs.ca}", f"ssl_client_crt={certs.client_cert}",
                 f"ssl_client_key={certs.client_key_encrypted}",
                 "auth_password=-", "ssl_client_key_password=-"]
        self.ok("connection", "add", "ha", *args, input=f"{SECRET}\n{KEY_SECRET}\n")
        got = self.show("connection", "ha")
        f = got["fields"]
        expect = {"port": 8883, "qos": 2, "timeout_s": 30, "keep_alive_s": 120,
                  "max_inflight": 65000, "retain": False, "hostname_verification": False}
        for k, v in plain.items():
            self.assertEqual(f[k], expect.get(k, v), k)
        self.assertEqual(got["file"], os.path.join(self.dir, "connections.d/ha.json"))
        self.assertEqual(f["auth_password"], {"set": True})
        self.assertEqual(f["ssl_client_key_password"], {"set": True})
        self.assertIn("fieldbridge test CA", f["ssl_server_crt"]["subject"])
        self.assertIn("CN = fieldbridge", f["ssl_client_crt"]["subject"].replace("/CN=", "CN = "))
        self.assertIn("fieldbridge test CA", f["ssl_client_crt"]["issuer"])
        self.assertFalse(f["ssl_client_crt"]["expired"])
        self.assertTrue(f["ssl_client_key"]["matches_certificate"])
        self.assertEqual(f["ssl_server_crt"]["path"],
                         os.path.join(self.dir, "certs/ha/ssl_server_crt.pem"))
        key = os.path.join(self.dir, "certs/ha/ssl_client_key.pem")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        with open(key, "rb") as a, open(certs.client_key_encrypted, "rb") as b:
            self.assertEqual(a.read(), b.read())
        # Text form of the same.
        text = self.ok("connection", "show", "ha").stdout
        self.assertIn("auth_password: set\n", text)
        self.assertIn("key matches certificate: yes", text)
        self.assertIn("expires: ", text)

        # Every parameter modified, then read back again.
        changed = {
            "user": "ha", "connection_mode": "socket", "broker": "10.0.0.7",
            "port": "1", "auth_user": "other", "ssl": "trust_all",
            "hostname_verification": "on", "qos": "0", "retain": "on",
            "timeout_s": "0", "keep_alive_s": "3600", "max_inflight": "1",
            "discovery_prefix": "homeassistant", "ws_path": "/mqtt", "node_id": "n-2",
        }
        self.ok("connection", "modify", "ha", *[f"{k}={v}" for k, v in changed.items()],
                f"ssl_server_crt={certs.other_ca}", "auth_password=-",
                input="another secret\n")
        f = self.show("connection", "ha")["fields"]
        expect = {"port": 1, "qos": 0, "timeout_s": 0, "keep_alive_s": 3600,
                  "max_inflight": 1, "retain": True, "hostname_verification": True}
        for k, v in changed.items():
            self.assertEqual(f[k], expect.get(k, v), k)
        self.assertIn("untrusted other CA", f["ssl_server_crt"]["subject"])
        with open(os.path.join(self.dir, "secrets/ha.auth_password")) as s:
            self.assertEqual(s.read(), "another secret\n")
        # Removing fields returns them to their defaults.
        self.ok("connection", "modify", "ha", "qos=", "ssl=", "ssl_server_crt=",
                "ssl_client_crt=", "ssl_client_key=", "ssl_client_key_password=")
        got = self.show("connection", "ha")
        self.assertEqual(got["fields"]["qos"], 0)
        self.assertIn("qos", got["defaults"])
        self.assertIsNone(got["fields"]["ssl_server_crt"])
        self.assertEqual(got["fields"]["ssl_client_key_password"], {"set": False})
        self.assertEqual(self.ctl("config", "check").returncode, 0)

    def test_out_of_range_values_refused_with_allowed_values_nothing_written(self):
        self.ok("connection", "add", "ha", "user=ha", "broker=127.0.0.1")
        cases = [
            ("qos=3", "expected 0..2"),
            ("timeout_s=45", "expected one of 0, 10, 15, 30, 60, 90, 120, 150, 180, 300, "
                             "600, 1200, 1800, 3600"),
            ("keep_alive_s=45", "expected one of 0, 10, 15"),
            ("port=0", "expected 1..65535"),
            ("port=65536", "expected 1..65535"),
            ("max_inflight=70000", "expected 1..65000"),
            ("max_inflight=0", "expected 1..65000"),
            ("connection_mode=tcp", "expected one of socket, websocket"),
            ("ssl=yes", "expected one of off, on, trust_all"),
            ("retain=maybe", "expected on or off"),
            ("hostname_verification=2", "expected on or off"),
            ("qos=one", "expected 0..2"),
            # refused by the daemons' loader, with its message
            ("broker=mqtt://x", ".broker: expected a host name"),
            ("discovery_prefix=a/#", "discovery_prefix: expected"),
            ("ws_path=mqtt", "ws_path: expected"),
            ("node_id=a.b", "node_id: expected"),
            ("user=", "user"),
        ]
        for arg, allowed in cases:
            with self.subTest(arg=arg):
                self.assert_refused(["connection", "modify", "ha", arg], 3, allowed)
                self.assert_refused(["connection", "add", "new", "user=ha",
                                     "broker=192.0.2.9", arg], 3, allowed)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "connections.d/new.json")))
        # The one-connection-per-broker rule, from the loader.
        r = self.assert_refused(["connection", "add", "dup", "user=ha", "broker=192.0.2.1"], 3)
        self.assertIn("at most one export connection per broker", r.stderr)
        # Unknown field: usage.
        self.assert_refused(["connection", "modify", "ha", "adress=x"], 2)
        self.assert_refused(["connection", "modify", "nosuch", "qos=1"], 4)
        self.assert_refused(["connection", "add", "ha", "user=ha", "broker=192.0.2.3"], 8)

    def test_literal_secret_refused(self):
        self.ok("connection", "add", "ha", "user=ha", "broker=127.0.0.1", "auth_user=u")
        for args in (["connection", "modify", "ha", f"auth_password={SECRET}"],
                     ["connection", "modify", "ha", f"ssl_client_key_password={SECRET}"],
                     ["connection", "add", "x", "user=ha", "broker=192.0.2.5",
                      "auth_user=u", f"auth_password={SECRET}"],
                     ["user", "add", "bob", f"password={SECRET}"],
                     ["--json", "user", "add", "bob", f"password={SECRET}"]):
            with self.subTest(args=args):
                r = self.assert_refused(args, 2)
                self.assertNotIn(SECRET, r.stdout + r.stderr)
                self.assertIn("=-", r.stdout + r.stderr)

    def test_secrets_absent_from_every_output_and_only_in_0600_files(self):
        certs = fbtest.Certs(os.path.join(self.tmp, "pki"))
        self.ok("connection", "add", "ha", "user=ha", "broker=127.0.0.1", "auth_user=u",
                "auth_password=-", "ssl=on", f"ssl_client_crt={certs.client_cert}",
                f"ssl_client_key={certs.client_key_encrypted}", "ssl_client_key_password=-",
                input=f"{SECRET}\n{KEY_SECRET}\n")
        printf = self.ok("user", "add", "web", "role=admin", "rights=*:write",
                         "password=-", input=f"{SECRET}\n")
        outputs = [printf.stdout + printf.stderr]
        for args in (["connection", "list"], ["connection", "show", "ha"],
                     ["--json", "connection", "show", "ha"], ["--json", "connection", "list"],
                     ["user", "show", "web"], ["--json", "user", "show", "web"],
                     ["config", "check"], ["--json", "config", "check"]):
            r = self.ctl(*args)
            outputs.append(r.stdout + r.stderr)
        for exe in (EXPORT, MODBUS):
            r = subprocess.run([exe, "-c", self.main, "--check"], capture_output=True,
                               text=True, timeout=60)
            outputs.append(r.stdout + r.stderr)
        for out in outputs:
            self.assertNotIn(SECRET, out)
            self.assertNotIn(KEY_SECRET, out)
        holders = []
        for root, _, files in os.walk(self.dir):
            for n in files:
                p = os.path.join(root, n)
                with open(p, "rb") as f:
                    data = f.read()
                if SECRET.encode() in data or KEY_SECRET.encode() in data:
                    holders.append((os.path.relpath(p, self.dir),
                                    stat.S_IMODE(os.stat(p).st_mode)))
        self.assertEqual(sorted(holders), [("secrets/ha.auth_password", 0o600),
                                           ("secrets/ha.ssl_client_key_password", 0o600)])
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.dir, "secrets")).st_mode),
                         0o700)
        with open(os.path.join(self.dir, "connections.d/ha.json")) as f:
            drop = json.load(f)
        self.assertEqual(drop["auth_password_file"], "../secrets/ha.auth_password")
        self.assertNotIn("auth_password", drop)
        # A replaced secret keeps its owner (the daemon's account must read it).
        if os.geteuid() == 0:
            path = os.path.join(self.dir, "secrets/ha.auth_password")
            os.chown(path, 65534, 65534)
            self.ok("connection", "modify", "ha", "auth_password=-", input="next\n")
            st = os.stat(path)
            self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                             (65534, 65534, 0o600))

    def test_new_warnings_of_an_edit_are_reported(self):
        certs = fbtest.Certs(os.path.join(self.tmp, "pki"))
        r = self.ok("connection", "add", "ha", "user=ha", "broker=127.0.0.1",
                    f"ssl_server_crt={certs.ca}")
        self.assertIn("warning: ", r.stderr)
        self.assertIn("ssl_server_crt: ignored because ssl is off", r.stderr)
        r = self.ok("connection", "modify", "ha", "qos=1")
        self.assertNotIn("warning", r.stderr)  # only warnings the edit adds

    def test_config_check_byte_identical_to_daemons_check(self):
        self.ok("connection", "add", "ha", "user=ha", "broker=127.0.0.1")
        self.ok("bus", "add", "tcp2", "transport=tcp", "host=127.0.0.2")
        self.ok("device", "add", "tcp2", "m2", "definition=eastron-sdm120", "unit_id=2")

        def compare(expect_ok):
            ours = self.ctl("config", "check")
            self.assertEqual(ours.returncode, 0 if expect_ok else 3, ours.stdout)
            for exe in (EXPORT, MODBUS):
                theirs = subprocess.run([exe, "-c", self.main, "--check"],
                                        capture_output=True, text=True, timeout=60)
                self.assertEqual(theirs.returncode, 0 if expect_ok else 1)
                self.assertEqual(ours.stdout, theirs.stdout, exe)
            return ours.stdout

        out = compare(True)
        self.assertTrue(out.endswith("configuration OK (0 warnings)\n"), out)
        # Errors written by hand: an unknown field, then bad values.
        with open(os.path.join(self.dir, "connections.d/typo.json"), "w") as f:
            json.dump({"user": "ha", "broker": "192.0.2.77", "adress": 1}, f)
        out = compare(False)
        self.assertIn('unknown field "adress"', out)
        with open(os.path.join(self.dir, "connections.d/bad.json"), "w") as f:
            json.dump({"user": "ha", "broker": "192.0.2.78", "qos": 5, "port": 0}, f)
        out = compare(False)
        self.assertIn("bad.json: connection (bad).qos: expected 0..2, got 5", out)
        # --json carries the same messages.
        doc = json.loads(self.ctl("--json", "config", "check").stdout)
        msgs = [d["severity"] + ": " + d["message"] for d in doc["diagnostics"]]
        self.assertEqual("\n".join(msgs) + "\n", out.rsplit("\n", 2)[0] + "\n")

    def test_concurrent_edits_from_two_processes_never_lose_one(self):
        self.ok("bus", "add", "shared", "transport=tcp", "host=127.0.0.3")
        n = 8
        script = ("for i in $(seq 0 %d); do "
                  "printf 'pw\\n' | \"$CTL\" -c \"$MAIN\" user add \"$P$i\" rights='*:read' "
                  "password=- >/dev/null || exit 1; "
                  "\"$CTL\" -c \"$MAIN\" device add shared \"d$P$i\" "
                  "definition=waveshare-relay-8ch unit_id=$((i+1+OFF)) >/dev/null || exit 1; "
                  "done" % (n - 1))
        procs = [subprocess.Popen(["sh", "-c", script], env=dict(
            os.environ, CTL=CTL, MAIN=self.main, P=p, OFF=off))
            for p, off in (("a", "0"), ("b", "100"))]
        for p in procs:
            self.assertEqual(p.wait(timeout=240), 0)
        users = {u["name"] for u in json.loads(self.ok("--json", "user", "list").stdout)["users"]}
        devs = {d["name"] for d in json.loads(self.ok("--json", "device", "list",
                                                      "shared").stdout)["devices"]}
        for p in ("a", "b"):
            for i in range(n):
                self.assertIn(f"{p}{i}", users)
                self.assertIn(f"d{p}{i}", devs)
        self.assertEqual(len(devs), 2 * n)
        r = self.ctl("config", "check")
        self.assertEqual((r.returncode, r.stdout.splitlines()[-1]),
                         (0, "configuration OK (0 warnings)"), r.stdout)
        leftovers = [n for n in os.listdir(self.dir) if n.startswith(".fieldbridge-edit")]
        self.assertEqual(leftovers, [])
        # A mirror left by a killed writer is swept by the next one.
        stale = os.path.join(self.dir, ".fieldbridge-edit.dead01")
        os.makedirs(os.path.join(stale, "connections.d"))
        self.ok("user", "modify", "a0", "role=viewer")
        self.assertFalse(os.path.exists(stale))

    def test_read_only_commands_for_others_changes_refused_with_exit_5(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to run the tool as another user")
        self.ok("connection", "add", "ha", "user=ha", "broker=127.0.0.1")
        for d in (self.tmp, self.dir, os.path.join(self.dir, "connections.d")):
            os.chmod(d, 0o755)
        as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                     CTL, "-c", self.main]
        r = subprocess.run(as_nobody + ["--json", "connection", "show", "ha"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["connection"]["fields"]["broker"], "127.0.0.1")
        before = self.snapshot()
        for args in (["connection", "modify", "ha", "qos=1"],
                     ["connection", "add", "x", "user=ha", "broker=192.0.2.4"],
                     ["connection", "delete", "ha"]):
            r = subprocess.run(as_nobody + args, capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 5, r.stdout + r.stderr)
            self.assertIn("need write access", r.stderr)
        self.assertEqual(self.snapshot(), before)

    def test_an_edit_by_root_leaves_the_lock_usable_by_the_group(self):
        # The package's layout: /etc/fieldbridge is root's, setgid to the
        # daemons' group, which the unprivileged web belongs to.  An edit by
        # root (umask 022) creates the edit lock; the web must still lock.
        if os.geteuid() != 0:
            self.skipTest("needs root to run the tool as another user")
        os.chmod(self.tmp, 0o755)
        for d in ("buses.d", "connections.d", "devices", "certs"):  # as postinst makes them
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        state = os.path.join(self.tmp, "state")  # the daemons' state dir
        os.makedirs(state, exist_ok=True)
        os.chown(state, 65534, 65534)
        for root, dirs, files in os.walk(self.dir):
            os.chown(root, 0, 65534)
            os.chmod(root, 0o2770)
            for f in files:
                os.chown(os.path.join(root, f), 0, 65534)
                os.chmod(os.path.join(root, f), 0o640)
        r = subprocess.run([CTL, "-c", self.main, "connection", "add", "ha", "user=ha",
                            "broker=127.0.0.1"], capture_output=True, text=True, timeout=60,
                           preexec_fn=lambda: os.umask(0o022))
        self.assertEqual(r.returncode, 0, r.stderr)
        lock = os.stat(os.path.join(self.dir, ".lock"))
        self.assertEqual((stat.S_IMODE(lock.st_mode), lock.st_uid, lock.st_gid),
                         (0o660, 0, 65534))
        # the web edits without applying (an apply goes through root's request)
        as_group = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    CTL, "-c", self.main, "--no-apply"]
        r = subprocess.run(as_group + ["connection", "modify", "ha", "qos=1"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.show("connection", "ha")["fields"]["qos"], 1)
        # A lock left by an older version (root's, 0600 ... here 0640) can
        # still be taken by one who may only read it.
        os.chmod(os.path.join(self.dir, ".lock"), 0o640)
        r = subprocess.run(as_group + ["connection", "modify", "ha", "qos=2"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.show("connection", "ha")["fields"]["qos"], 2)

    def test_object_in_main_file_refused_with_move_to_dropin(self):
        for args in (["connection", "modify", "main", "qos=1"],
                     ["connection", "delete", "main"],
                     ["bus", "modify", "meters", "retries=2"],
                     ["device", "modify", "m1", "unit_id=5"],
                     ["device", "add", "meters", "m9", "definition=eastron-sdm120"]):
            with self.subTest(args=args):
                r = self.assert_refused(args, 8)
                self.assertIn("move-to-dropin", r.stderr)
                self.assertIn("fieldbridge.json", r.stderr)
        got = self.show("connection", "main")
        self.assertTrue(got["in_main"])
        self.assertEqual(got["json_path"], "connections[0]")
        dev = self.show("device", "m1")
        self.assertEqual((dev["bus"], dev["json_path"]), ("meters", "buses[0].devices[0]"))

    def test_certificates_checked_before_copy(self):
        certs = fbtest.Certs(os.path.join(self.tmp, "pki"))
        self.ok("connection", "add", "ha", "user=ha", "broker=127.0.0.1", "ssl=on")
        junk = os.path.join(self.tmp, "junk.pem")
        with open(junk, "w") as f:
            f.write("not a certificate\n")
        r = self.assert_refused(["connection", "modify", "ha", f"ssl_server_crt={junk}"], 3)
        self.assertIn("expected a PEM certificate", r.stderr)
        self.assert_refused(["connection", "modify", "ha", f"ssl_client_key={certs.ca}"], 3)
        r = self.assert_refused(["connection", "modify", "ha",
                                 f"ssl_client_key={certs.client_key_encrypted}",
                                 f"ssl_client_crt={certs.client_cert}"], 3)
        self.assertIn("encrypted", r.stderr)
        r = self.assert_refused(["connection", "modify", "ha",
                                 f"ssl_client_key={certs.client_key_encrypted}",
                                 f"ssl_client_crt={certs.client_cert}",
                                 "ssl_client_key_password=-"], 3, input="wrong\n")
        self.assertIn("wrong ssl_client_key_password", r.stderr)
        self.assertNotIn("wrong\n", r.stdout)
        # A key that does not belong to the certificate is refused (the
        # check opens both), and reported by show when written by hand.
        r = self.assert_refused(["connection", "modify", "ha",
                                 f"ssl_client_crt={certs.client_cert}",
                                 f"ssl_client_key={certs.server_key}"], 3)
        self.assertIn("is not the key of ssl_client_crt", r.stderr)
        drop = os.path.join(self.dir, "connections.d/ha.json")
        with open(drop) as f:
            saved = f.read()
        doc = json.loads(saved)
        doc.update(ssl_client_crt=certs.client_cert, ssl_client_key=certs.server_key)
        with open(drop, "w") as f:
            json.dump(doc, f)
        f = self.show("connection", "ha")["fields"]
        self.assertFalse(f["ssl_client_key"]["matches_certificate"])
        with open(drop, "w") as f:
            f.write(saved)
        self.ok("connection", "modify", "ha", f"ssl_server_crt={certs.expired_cert}")
        self.assertTrue(self.show("connection", "ha")["fields"]["ssl_server_crt"]["expired"])

    def test_delete_removes_dropin_secrets_and_certs(self):
        certs = fbtest.Certs(os.path.join(self.tmp, "pki"))
        self.ok("connection", "add", "ha", "user=ha", "broker=127.0.0.1", "auth_user=u",
                "auth_password=-", "ssl=on", f"ssl_server_crt={certs.ca}", input="x\n")
        self.ok("connection", "delete", "ha")
        self.assertEqual(self.ctl("connection", "show", "ha").returncode, 4)
        for rel in ("connections.d/ha.json", "secrets/ha.auth_password", "certs/ha"):
            self.assertFalse(os.path.exists(os.path.join(self.dir, rel)), rel)
        self.assertEqual(self.ctl("connection", "delete", "ha").returncode, 4)

    def test_bus_and_device_verbs(self):
        self.ok("bus", "add", "rs485", "transport=rtu", "device=/dev/ttyUSB9", "baud=19200",
                "parity=E")
        self.ok("device", "add", "rs485", "sdm", "definition=eastron-sdm120", "unit_id=3",
                "name=Meter 2")
        self.assert_refused(["bus", "modify", "rs485", "baud=1234"], 3,
                            "expected one of 300, 600, 1200")
        self.assert_refused(["device", "modify", "sdm", "unit_id=0"], 3, "1..247")
        self.assert_refused(["device", "add", "rs485", "m1", "definition=eastron-sdm120"], 8)
        self.assert_refused(["device", "add", "rs485", "x", "definition=nosuch"], 3, "nosuch")
        self.ok("device", "modify", "rs485", "sdm", "unit_id=4")
        dev = self.show("device", "sdm")
        self.assertEqual((dev["fields"]["unit_id"], dev["fields"]["name"]), (4, "Meter 2"))
        bus = self.show("bus", "rs485")
        self.assertEqual((bus["fields"]["baud"], bus["fields"]["parity"], bus["devices"]),
                         (19200, "E", ["sdm"]))
        self.ok("device", "delete", "sdm")
        self.assertEqual(self.show("bus", "rs485")["devices"], [])
        self.ok("bus", "delete", "rs485")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "buses.d/rs485.json")))

    def test_user_verbs_hash_with_yescrypt(self):
        self.ok("user", "add", "web", "role=operator", "rights=*:read,relays/*:write",
                "password=-", input="first\n")
        with open(os.path.join(self.dir, "users.json")) as f:
            u = {x["name"]: x for x in json.load(f)["users"]}["web"]
        self.assertTrue(u["password_hash"].startswith("$y$"))
        self.assertEqual(crypt.crypt("first", u["password_hash"]), u["password_hash"])
        self.assertEqual(u["rights"], {"*": "read", "relays/*": "write"})
        self.assertEqual(u["role"], "operator")
        self.ok("user", "passwd", "web", input="second\n")
        with open(os.path.join(self.dir, "users.json")) as f:
            h = {x["name"]: x for x in json.load(f)["users"]}["web"]["password_hash"]
        self.assertEqual(crypt.crypt("second", h), h)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.dir, "users.json")).st_mode),
                         0o600)
        self.assert_refused(["user", "modify", "web", "role=root"], 3,
                            "expected one of admin, operator, viewer")
        self.assert_refused(["user", "modify", "web", "rights=*:all"], 3)
        self.assert_refused(["user", "add", "web"], 8)
        self.assertEqual(self.show("user", "web")["fields"]["password"], {"set": True})
        self.ok("user", "delete", "web")
        self.assertEqual(self.ctl("user", "show", "web").returncode, 4)
        # Deleting the user a connection exports as is refused by the loader.
        self.assert_refused(["user", "delete", "ha"], 3, "ha")
        self.assertEqual(self.ctl("config", "check").returncode, 0)

    def test_edit_reopens_until_valid_and_keeps_the_file(self):
        self.ok("connection", "add", "ha", "user=ha", "broker=127.0.0.1")
        bad = os.path.join(self.tmp, "bad-editor.sh")
        with open(bad, "w") as f:
            f.write("#!/bin/sh\nsed -i 's/\"broker\"/\"qos\": 7, \"broker\"/' \"$1\"\n")
        good = os.path.join(self.tmp, "good-editor.sh")
        with open(good, "w") as f:
            f.write("#!/bin/sh\nsed -i 's/\"broker\"/\"qos\": 2, \"broker\"/' \"$1\"\n")
        os.chmod(bad, 0o755)
        os.chmod(good, 0o755)
        before = self.snapshot()
        r = self.ctl("connection", "edit", "ha", env={"EDITOR": bad, "VISUAL": ""})
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("qos: expected 0..2, got 7", r.stderr)
        self.assertEqual(self.snapshot(), before)
        r = self.ctl("connection", "edit", "ha", env={"EDITOR": good, "VISUAL": ""})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.show("connection", "ha")["fields"]["qos"], 2)

    def test_definition_decode_shipped_definitions(self):
        rng = random.Random(12)
        with open(os.path.join(DEVICES, "eastron-sdm120.json")) as f:
            sdm = strip_comments(f.read())
        for p in sdm["points"]:
            self.assertEqual((p["type"], p.get("order", "ABCD")), ("float32", "ABCD"))
            value = struct.unpack(">f", struct.pack(">f", rng.uniform(-5000, 5000)))[0]
            hi, lo = struct.unpack(">HH", struct.pack(">f", value))
            r = self.ok("--json", "definition", "decode", "eastron-sdm120", p["key"],
                        hex(hi), str(lo))
            pts = json.loads(r.stdout)["points"]
            self.assertEqual(len(pts), 1)
            self.assertEqual(pts[0]["key"], p["key"])
            self.assertAlmostEqual(pts[0]["value"], value * p.get("scale", 1), places=3)
            self.assertEqual(pts[0]["unit"], p.get("unit"))
            # The same point found by its address.
            addr = int(p["address"], 0) if isinstance(p["address"], str) else p["address"]
            r = self.ok("--json", "definition", "decode", "eastron-sdm120",
                        f"input:{addr}", hex(hi), hex(lo))
            self.assertEqual([x["key"] for x in json.loads(r.stdout)["points"]], [p["key"]])
        # Text form: precision as the definition says.
        r = self.ok("definition", "decode", "eastron-sdm120", "voltage", "0x4366", "0x0000")
        self.assertEqual(r.stdout, "voltage = 230.0 V\n")
        with open(os.path.join(DEVICES, "waveshare-relay-8ch.json")) as f:
            relay = strip_comments(f.read())
        for p in relay["points"]:
            for bit, want in (("1", True), ("0", False)):
                r = self.ok("--json", "definition", "decode", "waveshare-relay-8ch",
                            p["key"], bit)
                self.assertEqual(json.loads(r.stdout)["points"][0]["value"], want)
        # A definition file with integer types, scale, offset and word orders.
        path = os.path.join(self.tmp, "test-ints.json")
        with open(path, "w") as f:
            json.dump({"manufacturer": "t", "model": "t", "protocol": "modbus", "points": [
                {"key": "temp", "name": "T", "table": "holding_register", "address": 10,
                 "type": "int16", "scale": 0.1, "offset": -40, "unit": "°C"},
                {"key": "energy", "name": "E", "table": "holding_register", "address": 20,
                 "type": "uint32", "order": "CDAB", "scale": 0.01, "unit": "kWh"}]}, f)
        r = self.ok("--json", "definition", "decode", path, "temp", hex(0xFF38))
        self.assertAlmostEqual(json.loads(r.stdout)["points"][0]["value"], -200 * 0.1 - 40)
        raw = 123456789
        r = self.ok("--json", "definition", "decode", path, "holding:20",
                    hex(raw & 0xFFFF), hex(raw >> 16))
        self.assertAlmostEqual(json.loads(r.stdout)["points"][0]["value"], raw * 0.01)
        self.assertEqual(self.ctl("definition", "decode", path, "energy", "1").returncode, 2)
        self.assertEqual(self.ctl("definition", "decode", path, "nope", "1").returncode, 4)
        self.assertEqual(self.ctl("definition", "decode", "no-such-def", "x", "1").returncode, 4)
        ids = [d["id"] for d in json.loads(self.ok("--json", "definition", "list").stdout)
               ["definitions"]]
        self.assertIn("eastron-sdm120", ids)


if __name__ == "__main__":
    fbtest.main()
