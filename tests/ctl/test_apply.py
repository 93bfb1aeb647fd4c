# SPDX-License-Identifier: Apache-2.0
"""config diff / apply / snapshots / rollback, logs and -H against a temp
config dir and the real daemons (a real mosquitto for the exporter; the
Modbus drivers poll a closed port, which is enough for them to run and
record what they loaded)."""

import json
import re
import os
import shlex
import shutil
import signal
import stat
import subprocess
import unittest

import fbtest

BUILD = os.environ.get("FB_BUILD_DIR", "build/dev")
SRC = os.environ.get("FB_SOURCE_DIR", ".")
CTL = os.path.join(BUILD, "src/ctl/fieldbridgectl")
EXPORT = os.path.join(BUILD, "src/export/ha/fieldbridge-export")
MODBUS = os.path.join(BUILD, "src/drivers/modbus/fieldbridge-modbus")
DEVICES = os.path.join(SRC, "devices")

SECRET = "n0t-in-any-output"


class Apply(fbtest.TestCase):
    def setUp(self):
        super().setUp()
        for exe in (CTL, EXPORT, MODBUS):
            if not os.path.exists(exe):
                self.skipTest(f"{exe} not built")
        self.dir = os.path.join(self.tmp, "etc")
        self.state = os.path.join(self.tmp, "state")
        os.makedirs(os.path.join(self.dir, "buses.d"))
        os.makedirs(os.path.join(self.dir, "connections.d"))
        self.main = os.path.join(self.dir, "fieldbridge.json")
        # Shared memory names carry the gateway id: one per test process,
        # so tests running in parallel never share a bus's table.
        self.gw = f"t{os.getpid()}"
        # A copy of the shipped definitions, so a test may change one.
        self.defs = os.path.join(self.tmp, "devices")
        shutil.copytree(DEVICES, self.defs)
        self.write("fieldbridge.json", """// hand-written
{ "gateway": { "id": "%s", "state_dir": "%s", "users_file": "users.json",
               "definition_dirs": ["%s"] } }
""" % (self.gw, self.state, self.defs))
        closed = fbtest.free_port()  # nothing listens: the drivers just retry
        for bus, dev, unit in (("meters", "m1", 1), ("spare", "m2", 2)):
            self.write(f"buses.d/{bus}.json", json.dumps(
                {"transport": "tcp", "host": "127.0.0.1", "port": closed,
                 "devices": [{"id": dev, "definition": "eastron-sdm120",
                              "unit_id": unit}]}, indent=2) + "\n")
        self.write("users.json", json.dumps(
            {"users": [{"name": "ha", "rights": {"*": "read"}},
                       {"name": "web", "rights": {"*": "write"}}]}) + "\n", 0o600)
        self.broker = None

    # -- helpers -------------------------------------------------------------
    def write(self, rel, text, mode=0o644):
        p = os.path.join(self.dir, rel)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)

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

    def jdoc(self, *args, code=0, input=None):
        r = self.ctl("--json", *args, input=input)
        self.assertEqual(r.returncode, code, f"{args}: {r.stdout}{r.stderr}")
        doc = json.loads(r.stdout)
        self.assertEqual(doc["fieldbridgectl"], 1)
        return doc

    def plan(self):
        """{unit: action} of every daemon with something to do (dry run)."""
        doc = self.jdoc("config", "apply", "--dry-run")
        return {d["unit"]: d["action"] for d in doc["plan"]["daemons"]
                if d["action"] != "none"}

    def files(self):
        return fbtest.tree_snapshot(self.dir)

    def start_broker(self):
        self.broker = fbtest.Broker(self.procs)
        self.write("connections.d/main.json", json.dumps(
            {"user": "ha", "broker": "127.0.0.1", "port": self.broker.port}) + "\n")

    def start_daemons(self, buses=("meters", "spare")):
        """The exporter and the bus drivers, each waited for until it has
        recorded what it loaded."""
        procs = {}
        if self.broker:
            procs["main"] = self.procs.start(
                "export", [EXPORT, "-c", self.main, "--connection", "main"])
        for b in buses:
            procs[b] = self.procs.start(f"modbus-{b}", [MODBUS, "-c", self.main, "--bus", b])
        for name, p in procs.items():
            kind = "connection" if name == "main" else "bus"
            rec = os.path.join(self.state, "loaded", f"{kind}-{name}.json")

            def recorded():
                try:
                    with open(rec) as f:
                        return json.load(f)["pid"] == p.pid
                except (OSError, ValueError, KeyError):
                    return False
            self.assertTrue(fbtest.wait_for(recorded, 10), p.log_tail())
            self.assertEqual(stat.S_IMODE(os.stat(rec).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.state, "loaded")).st_mode),
                         0o700)
        return procs

    # -- tests ---------------------------------------------------------------
    def test_diff_shows_a_no_apply_edit_and_nothing_after_apply(self):
        self.start_broker()
        procs = self.start_daemons()
        doc = self.jdoc("config", "diff")
        self.assertEqual(doc["diff"]["pending"], 0, doc)
        self.assertTrue(all(d["running"] for d in doc["diff"]["daemons"]), doc)

        r = self.ok("--no-apply", "user", "modify", "ha", "rights=*:write")
        self.assertIn("not applied", r.stdout)
        r = self.ok("config", "diff")
        self.assertIn('user ha: rights: {"*":"read"} -> {"*":"write"}', r.stdout)
        self.assertIn("1 change not applied", r.stdout)
        doc = self.jdoc("config", "diff")
        self.assertEqual(doc["diff"]["pending"], 1)
        ch = [c for d in doc["diff"]["daemons"] for c in d["changes"]]
        self.assertEqual(ch, [{"object": "user ha", "field": "rights",
                               "before": '{"*":"read"}', "after": '{"*":"write"}'}])

        self.ok("config", "apply")
        self.assertTrue(fbtest.wait_for(
            lambda: "SIGHUP: reloaded" in procs["main"].stderr_text(), 10),
            procs["main"].log_tail())
        r = self.ok("config", "diff")
        self.assertIn("no changes", r.stdout)
        self.assertEqual(self.jdoc("config", "diff")["diff"]["pending"], 0)

    def test_apply_plan_names_exactly_the_affected_units(self):
        self.start_broker()
        procs = self.start_daemons()
        pids = {n: p.pid for n, p in procs.items()}
        self.assertEqual(self.plan(), {})

        # A device: its bus driver, and the exporter (it discovers devices at start).
        self.ok("--no-apply", "device", "modify", "m1", "area=Garage")
        self.assertEqual(self.plan(), {"fieldbridge-modbus@meters.service": "restart",
                                       "fieldbridge-export@main.service": "restart"})
        r = self.ok("config", "diff")
        self.assertIn("device m1: area: (unset) -> Garage", r.stdout)
        self.ok("--no-apply", "device", "modify", "m1", "area=")
        self.assertEqual(self.plan(), {})

        # A definition file in use, changed behind the same path: every bus
        # using it, and the exporter.
        sdm = os.path.join(self.defs, "eastron-sdm120.json")
        with open(sdm) as f:
            orig = f.read()
        with open(sdm, "a") as f:
            f.write("\n")
        self.assertEqual(self.plan(), {"fieldbridge-modbus@meters.service": "restart",
                                       "fieldbridge-modbus@spare.service": "restart",
                                       "fieldbridge-export@main.service": "restart"})
        r = self.ok("config", "diff")
        self.assertIn(f"definition eastron-sdm120: file: {sdm} -> {sdm} (content changed)",
                      r.stdout)
        with open(sdm, "w") as f:
            f.write(orig)
        self.assertEqual(self.plan(), {})

        # A bus link parameter: that bus only (the exporter does not use it).
        self.ok("--no-apply", "bus", "modify", "spare", "response_timeout_ms=800")
        self.assertEqual(self.plan(), {"fieldbridge-modbus@spare.service": "restart"})
        self.ok("--no-apply", "bus", "modify", "spare", "response_timeout_ms=")

        # A secret of the connection: the exporter; shown only as "changed".
        self.ok("--no-apply", "connection", "modify", "main", "auth_user=fb",
                "auth_password=-", input=SECRET + "\n")
        self.assertEqual(self.plan(), {"fieldbridge-export@main.service": "restart"})
        r = self.ok("config", "diff")
        self.assertIn("connection main: auth_password_file: changed", r.stdout)
        for args in (("config", "diff"), ("--json", "config", "diff"),
                     ("--json", "config", "apply", "--dry-run")):
            out = self.ok(*args)
            self.assertNotIn(SECRET, out.stdout + out.stderr)
        self.ok("--no-apply", "connection", "modify", "main", "auth_user=", "auth_password=")
        self.assertEqual(self.plan(), {})

        # Another user of the users file: nobody; the exporter's own: a reload.
        self.ok("--no-apply", "user", "modify", "web", "rights=*:read")
        self.assertEqual(self.plan(), {})
        self.ok("--no-apply", "user", "modify", "ha", "rights=*:write")
        self.assertEqual(self.plan(), {"fieldbridge-export@main.service": "reload"})
        self.ok("--no-apply", "user", "modify", "ha", "rights=*:read")

        # A restart of hand-started daemons cannot be done: exit 7, said so,
        # and the daemons keep running as they were.
        self.ok("--no-apply", "device", "modify", "m2", "area=Cellar")
        r = self.ctl("config", "apply")
        self.assertEqual(r.returncode, 7, r.stdout + r.stderr)
        self.assertIn("daemon not running under systemd", r.stdout + r.stderr)
        self.assertIn("restart  fieldbridge-modbus@spare.service", r.stdout)
        self.assertNotIn("fieldbridge-modbus@meters.service", r.stdout)
        for n, p in procs.items():
            self.assertTrue(p.alive(), p.log_tail())
            self.assertEqual(p.pid, pids[n])

    def test_apply_sighups_the_exporter_when_only_users_changed(self):
        self.start_broker()
        os.makedirs(os.path.join(self.dir, "secrets"), mode=0o700)
        self.write("secrets/main.auth_password", SECRET + "\n", 0o600)
        self.write("connections.d/main.json", json.dumps(
            {"user": "ha", "broker": "127.0.0.1", "port": self.broker.port,
             "auth_user": "fb", "auth_password_file": "../secrets/main.auth_password"}) + "\n")
        procs = self.start_daemons(buses=())
        ex = procs["main"]
        # What the exporter recorded holds a digest of its secret, never the secret.
        with open(os.path.join(self.state, "loaded", "connection-main.json")) as f:
            rec = f.read()
        self.assertNotIn(SECRET, rec)
        self.assertIn('"secret"', rec)
        # The edit applies by default: the plan first, then the SIGHUP.
        r = self.ok("user", "modify", "ha", "rights=*:none,m1:read")
        self.assertIn("reload   fieldbridge-export@main.service", r.stdout)
        self.assertLess(r.stdout.index("plan:"), r.stdout.index("SIGHUP sent"))
        self.assertTrue(fbtest.wait_for(
            lambda: "connection main: SIGHUP: reloaded" in ex.stderr_text(), 10),
            ex.log_tail())
        self.assertTrue(ex.alive())
        self.assertEqual(self.plan(), {})

    def test_a_record_naming_another_process_is_not_trusted(self):
        # The records live in the daemons' account's state dir; root reads
        # them and signals the pid.  A record naming a process that is not a
        # fieldbridge daemon (here: sleep, which SIGHUP would kill) counts
        # as not running and is never signalled.
        self.write("connections.d/main.json",
                   json.dumps({"user": "ha", "broker": "192.0.2.1"}) + "\n")
        victim = self.procs.start("sleep", ["sleep", "60"])
        with open(f"/proc/{victim.pid}/stat") as f:
            start = int(f.read().rsplit(")", 1)[1].split()[19])
        os.makedirs(os.path.join(self.state, "loaded"), mode=0o700)
        rec = os.path.join(self.state, "loaded", "connection-main.json")
        with open(rec, "w") as f:
            json.dump({"fieldbridge_loaded": 1, "kind": "connection", "name": "main",
                       "unit": "fieldbridge-export@main.service", "pid": victim.pid,
                       "starttime_ticks": start, "time": 0, "systemd": False,
                       "config": self.main, "salt": "00", "slice": {}}, f)
        os.chmod(rec, 0o600)
        doc = self.jdoc("config", "diff")
        main = [d for d in doc["diff"]["daemons"] if d["name"] == "main"][0]
        self.assertFalse(main["running"], main)
        self.ok("user", "modify", "ha", "rights=*:write")
        self.ok("config", "apply")
        self.assertTrue(victim.alive())

    def test_snapshots_and_rollback_restore_exact_bytes_and_modes(self):
        self.write("connections.d/main.json",
                   json.dumps({"user": "ha", "broker": "192.0.2.1"}) + "\n")
        self.ok("connection", "modify", "main", "auth_user=fb", "auth_password=-",
                input=SECRET + "\n")
        first = self.files()
        self.assertEqual(first["secrets/main.auth_password"][0], 0o600)
        snaps = self.jdoc("config", "snapshots")["snapshots"]
        self.assertEqual(len(snaps), 1)
        one = snaps[0]["id"]
        self.assertEqual(snaps[0]["files"], 5)  # 2 buses, 1 connection, 1 secret, users
        self.assertTrue(snaps[0]["user"])

        self.ok("connection", "modify", "main", "auth_password=-", input="other\n")
        self.ok("connection", "add", "second", "user=web", "broker=192.0.2.2",
                "auth_user=x", "auth_password=-", input="third\n")
        self.ok("user", "modify", "ha", "rights=*:write")
        self.ok("bus", "delete", "spare")
        second = self.files()
        r = self.ok("config", "snapshots")
        lines = [l for l in r.stdout.splitlines() if l.strip()]
        self.assertGreaterEqual(len(lines), 2)
        self.assertIn(os.environ.get("SUDO_USER") or __import__("pwd").getpwuid(
            os.getuid()).pw_name, lines[-1])

        root = os.path.join(self.state, "snapshots")
        # others (the web, as user fieldbridge) may list root's snapshots
        # and read their meta.json, but not the files, and write nothing
        self.assertEqual(stat.S_IMODE(os.stat(root).st_mode), 0o755)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(root, str(one))).st_mode), 0o711)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(root, str(one), "meta.json"))
                                      .st_mode), 0o644)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(root, str(one), "files")).st_mode),
                         0o700)
        sec = os.path.join(root, str(one), "files", "secrets", "main.auth_password")
        self.assertEqual(stat.S_IMODE(os.stat(sec).st_mode), 0o600)

        r = self.ok("config", "rollback", str(one))
        self.assertIn(f"snapshot {one} restored", r.stdout)
        self.assertEqual(self.files(), first)
        with open(os.path.join(self.dir, "secrets/main.auth_password")) as f:
            self.assertEqual(f.read().strip(), SECRET)

        # No N: the newest snapshot that differs from the files now.
        self.ok("config", "rollback")
        self.assertEqual(self.files(), second)

    def test_definition_add_stores_a_checked_drop_in_that_snapshots_keep(self):
        drop = os.path.join(self.dir, "devices")
        self.write("fieldbridge.json", """// hand-written
{ "gateway": { "id": "%s", "state_dir": "%s", "users_file": "users.json",
               "definition_dirs": ["%s", "%s"] } }
""" % (self.gw, self.state, drop, self.defs))
        with open(os.path.join(self.defs, "eastron-sdm120.json")) as f:
            good = f.read()
        src = os.path.join(self.tmp, "my-meter.json")
        with open(src, "w") as f:
            f.write(good)
        r = self.ok("definition", "add", src)
        path = os.path.join(drop, "my-meter.json")
        self.assertRegex(r.stdout, r"^definition my-meter: added as " + re.escape(path) +
                         r" \([1-9][0-9]* vectors, [1-9][0-9]* checks passed\)\n$")
        with open(path) as f:
            self.assertEqual(f.read(), good)  # byte for byte
        self.ok("definition", "check", "my-meter")
        # the same id again only with --replace (exit 8 otherwise)
        r = self.ctl("definition", "add", src)
        self.assertEqual(r.returncode, 8, r.stdout + r.stderr)
        self.assertIn("exists already", r.stderr)
        doc = self.jdoc("definition", "add", src, "--id", "other-meter")
        self.assertEqual((doc["id"], doc["path"]), ("other-meter", os.path.join(drop,
                                                                                "other-meter.json")))
        self.assertGreater(doc["vectors"], 0)
        # a failing vector: exit 3 with its message, nothing written
        bad = os.path.join(self.tmp, "bad.json")
        with open(bad, "w") as f:
            f.write(good.replace('"expect": {"voltage": 238.7}', '"expect": {"voltage": 111.1}'))
        r = self.ctl("definition", "add", bad, "--id", "my-meter", "--replace")
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("voltage", r.stderr)
        with open(path) as f:
            self.assertEqual(f.read(), good)
        r = self.ctl("definition", "add", os.path.join(self.tmp, "missing.json"))
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        self.assertEqual(self.ctl("definition", "add").returncode, 2)
        # the drop-ins are in the next snapshot, and a rollback brings them back
        self.ok("connection", "add", "extra", "user=ha", "broker=192.0.2.1")
        one = self.jdoc("config", "snapshots")["snapshots"][-1]["id"]
        with open(os.path.join(self.state, "snapshots", str(one), "meta.json")) as f:
            held = [x["path"] for x in json.load(f)["files"]]
        self.assertIn("devices/my-meter.json", held)
        self.assertIn("devices/other-meter.json", held)
        with_defs = self.files()
        os.unlink(os.path.join(drop, "other-meter.json"))
        self.ok("connection", "delete", "extra")
        self.assertNotIn("devices/other-meter.json", self.files())
        self.ok("config", "rollback", str(one))
        self.assertEqual(self.files(), with_defs)

    def test_rollback_to_an_invalid_snapshot_refused_with_exit_3(self):
        self.ok("connection", "add", "extra", "user=ha", "broker=192.0.2.1")
        with_extra = self.jdoc("config", "snapshots")["snapshots"][-1]["id"]
        self.ok("connection", "delete", "extra")
        # By hand, the main file now defines "extra": the old drop-in would
        # make it a duplicate.
        self.write("fieldbridge.json", """// hand-written
{ "gateway": { "id": "%s", "state_dir": "%s", "users_file": "users.json",
               "definition_dirs": ["%s"] },
  "connections": [ { "name": "extra", "user": "ha", "broker": "192.0.2.9" } ] }
""" % (self.gw, self.state, self.defs))
        self.ok("config", "check")
        before = self.files()
        r = self.ctl("config", "rollback", str(with_extra))
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("extra", r.stderr)
        self.assertIn(f"snapshot {with_extra}: refused", r.stderr)
        self.assertEqual(self.files(), before)
        r = self.ctl("config", "rollback", "999")
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        # Snapshots the daemons' account could have written are not restored.
        root = os.path.join(self.state, "snapshots")
        os.chmod(root, 0o770)
        r = self.ctl("config", "rollback")
        self.assertEqual(r.returncode, 5, r.stdout + r.stderr)
        self.assertIn("not trusted", r.stderr)
        self.assertEqual(self.files(), before)

    def test_logs_without_journalctl_exit_1(self):
        empty = os.path.join(self.tmp, "bin")
        os.makedirs(empty)
        for args in (("logs",), ("logs", "meters", "-f", "-p", "warning")):
            r = self.ctl(*args, env={"PATH": empty})
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("journalctl not found", r.stderr)
        r = self.ctl("logs", "-p", "loud", env={"PATH": empty})
        self.assertEqual(r.returncode, 2, r.stderr)

    def test_remote_host_runs_the_same_command_over_ssh(self):
        # No second machine exists here: a recorder named ssh, first on
        # PATH, stands in for ssh and writes down its arguments and stdin.
        bin_dir = os.path.join(self.tmp, "bin")
        os.makedirs(bin_dir)
        rec = os.path.join(self.tmp, "ssh-record")
        with open(os.path.join(bin_dir, "ssh"), "w") as f:
            f.write("#!/usr/bin/python3\nimport json, sys\n"
                    f"json.dump({{'argv': sys.argv[1:], 'stdin': sys.stdin.read()}}, "
                    f"open({rec!r}, 'w'))\nsys.exit(3)\n")
        os.chmod(os.path.join(bin_dir, "ssh"), 0o755)
        env = {"PATH": bin_dir + ":" + os.environ["PATH"]}
        args = ["--json", "user", "add", "we b", "rights=*:read,a'b;$(x)", "password=-"]
        r = subprocess.run([CTL, "-H", "admin@gw1", "-c", "/etc/x y.json", *args],
                           input=SECRET + "\n", text=True, capture_output=True,
                           env=dict(os.environ, **env), timeout=30)
        self.assertEqual(r.returncode, 3, r.stderr)  # ssh's exit status, passed on
        with open(rec) as f:
            got = json.load(f)
        self.assertEqual(got["argv"][:3], ["--", "admin@gw1", "fieldbridgectl"])
        # ssh joins its arguments into one remote shell line: it must split
        # back into exactly the original arguments, without -H.
        self.assertEqual(shlex.split(" ".join(got["argv"][2:])),
                         ["fieldbridgectl", "-c", "/etc/x y.json", *args])
        self.assertEqual(got["stdin"], SECRET + "\n")
        self.assertNotIn(SECRET, " ".join(got["argv"]))
        for bad in ("-oProxyCommand=touch", "a;b"):
            r = subprocess.run([CTL, "-H", bad, "config", "check"], text=True,
                               capture_output=True, env=dict(os.environ, **env),
                               timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)


if __name__ == "__main__":
    fbtest.main(tools=fbtest.MQTT_TOOLS)
