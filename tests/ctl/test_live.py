# SPDX-License-Identifier: Apache-2.0
"""fieldbridgectl watch / get / set / status / definition check against a
pymodbus slave and the real fieldbridge-modbus driver: bus "meters" (an
SDM120 and an 8-relay board) is polled by a running driver, bus "spare"
(a relay board on a closed port) has none."""

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import time

import fbtest
import gateway

BUILD = os.environ.get("FB_BUILD_DIR", "build/dev")
SRC = os.environ.get("FB_SOURCE_DIR", ".")
CTL = os.path.join(BUILD, "src/ctl/fieldbridgectl")
DEVICES = os.path.join(SRC, "devices")
POLL_MS = 500


class Lines:
    """Lines from a child's stdout, each with a deadline (no thread)."""

    def __init__(self, proc):
        self.proc = proc
        self.buf = b""

    def next(self, timeout):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if not r:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()


class Live(fbtest.TestCase):
    def setUp(self):
        super().setUp()
        for exe in (CTL, gateway.MODBUS):
            if not os.path.exists(exe):
                self.skipTest(f"{exe} not built")
        self.slave = fbtest.ModbusSlave(self.procs, {1: "sdm120", 2: "relay8"})
        closed = fbtest.free_port()  # nothing listens there
        self.gw = gateway.Gateway(self.procs, self.tmp, buses=[
            gateway.tcp_bus(self.slave.port, [
                gateway.device("m1", "eastron-sdm120", 1),
                gateway.device("relays", "waveshare-relay-8ch", 2)],
                name="meters", poll_interval_ms=POLL_MS),
            gateway.tcp_bus(closed, [gateway.device("r2", "waveshare-relay-8ch", 3)],
                            name="spare", poll_interval_ms=POLL_MS)],
            users={"ro": {"rights": {"*": "read"}}, "op": {"rights": {"*": "write"}}})
        self.main = self.gw.config_path

    # -- helpers -------------------------------------------------------------
    def ctl(self, *args, timeout=60):
        return subprocess.run([CTL, "-c", self.main, *args], text=True,
                              capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def start_driver(self):
        self.gw.start_driver("meters")
        # Running once `get` answers with a value the driver read.
        ok = fbtest.wait_for(lambda: self.quality("meters/m1/voltage") == "ok", 15, 0.1)
        self.assertTrue(ok, "driver did not publish values:\n"
                        + self.gw.drivers["meters"].log_tail())

    def quality(self, spec):
        r = self.ctl("--json", "get", spec)
        if r.returncode:
            return None
        return json.loads(r.stdout)["point"]["quality"]

    def get_json(self, spec):
        r = self.ctl("--json", "get", spec)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["fieldbridgectl"], 1)
        return doc["point"]

    # -- cases ---------------------------------------------------------------
    def test_watch_json_shows_a_register_change_within_one_poll_interval(self):
        self.start_driver()
        w = subprocess.Popen([CTL, "-c", self.main, "--json", "watch", "meters/m1/voltage",
                              "--timeout", "60"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            lines = Lines(w)
            first = lines.next(10)
            self.assertIsNotNone(first, "watch printed nothing")
            o = json.loads(first)
            self.assertEqual((o["bus"], o["device"], o["point"], o["unit"]),
                             ("meters", "m1", "voltage", "V"))
            self.assertEqual(set(o), {"bus", "device", "point", "value", "unit", "quality",
                                      "ts", "change_ts"})
            self.assertAlmostEqual(o["value"], self.slave.get_float(1, "ir", 0), places=3)
            self.slave.set_float(1, "ir", 0, 241.5)
            t0 = time.monotonic()
            seen = None
            limit = POLL_MS / 1000 + fbtest.slack(1.0)
            while time.monotonic() - t0 < limit:
                line = lines.next(limit - (time.monotonic() - t0))
                if line is None:
                    break
                o = json.loads(line)
                if abs(o["value"] - 241.5) < 1e-3:
                    seen = time.monotonic() - t0
                    break
            self.assertIsNotNone(seen, f"no change to 241.5 within {limit:.1f} s")
            # One object per change: nothing more while the register stays.
            self.assertIsNone(lines.next(POLL_MS / 1000 * 3))
            w.send_signal(signal.SIGINT)
            self.assertEqual(w.wait(10), 0)
        finally:
            if w.poll() is None:
                w.kill()
                w.wait()
            w.stdout.close()
            w.stderr.close()

    def test_watch_follows_a_restarted_driver(self):
        self.start_driver()
        w = subprocess.Popen([CTL, "-c", self.main, "--json", "watch", "meters/m1/voltage",
                              "--timeout", "60"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            lines = Lines(w)
            self.assertIsNotNone(lines.next(10), "watch printed nothing")
            self.gw.drivers["meters"].stop()
            self.slave.set_float(1, "ir", 0, 222.5)
            self.gw.start_driver("meters")
            seen = False
            end = time.monotonic() + 10
            while not seen and time.monotonic() < end:
                line = lines.next(end - time.monotonic())
                if line is None:
                    break
                o = json.loads(line)
                seen = o["quality"] == "ok" and abs(o["value"] - 222.5) < 1e-3
            self.assertTrue(seen, "no value from the restarted driver")
            w.terminate()
            self.assertEqual(w.wait(10), 0)
        finally:
            if w.poll() is None:
                w.kill()
                w.wait()
            w.stdout.close()
            w.stderr.close()

    def test_watch_count_and_timeout_end_it(self):
        self.start_driver()
        r = self.ctl("--json", "watch", "meters/relays", "--count", "3", timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        objs = [json.loads(x) for x in r.stdout.splitlines()]
        self.assertEqual(len(objs), 3)
        self.assertTrue(all(o["device"] == "relays" for o in objs), objs)
        t0 = time.monotonic()
        r = self.ctl("watch", "spare", "--timeout", "1", timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLess(time.monotonic() - t0, 1 + fbtest.slack(2.0))
        self.assertEqual(r.stdout, "")  # no driver on spare: no values
        self.assertEqual(self.ctl("watch", "nosuchbus", "--timeout", "1").returncode, 4)

    def test_watch_on_a_terminal_draws_a_table(self):
        self.slave.set_float(1, "ir", 0, 231.5)
        self.start_driver()
        master, slave = pty.openpty()
        try:
            w = subprocess.Popen([CTL, "-c", self.main, "watch", "meters/m1",
                                  "--timeout", "2.5"], stdout=slave, stderr=slave,
                                 stdin=subprocess.DEVNULL)
            os.close(slave)
            slave = -1
            out = b""
            while True:
                r, _, _ = select.select([master], [], [], 10)
                try:
                    chunk = os.read(master, 65536) if r else b""
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                if not chunk:
                    break
                out += chunk
            self.assertEqual(w.wait(10), 0)
        finally:
            os.close(master)
            if slave >= 0:
                os.close(slave)
        text = out.decode(errors="replace")
        self.assertIn("\x1b[H\x1b[J", text)  # redrawn in place
        last = text.rsplit("\x1b[H\x1b[J", 1)[1]
        self.assertRegex(last, r"DEVICE\s+POINT\s+VALUE\s+QUALITY\s+AGE")
        self.assertRegex(last, r"meters\s+m1\s+voltage\s+231\.5 V\s+ok\s+\d+\.\ds")
        self.assertNotIn("_diag_", last)
        self.assertGreaterEqual(text.count("\x1b[H\x1b[J"), 2)  # ages refresh

    def test_get_equals_the_slave(self):
        self.slave.set_float(1, "ir", 0, 229.25)
        self.start_driver()
        ok = fbtest.wait_for(lambda: abs(self.get_json("meters/m1/voltage")["value"]
                                         - 229.25) < 1e-3, 5, 0.1)
        self.assertTrue(ok, self.get_json("meters/m1/voltage"))
        p = self.get_json("meters/m1/voltage")
        self.assertAlmostEqual(p["value"], self.slave.get_float(1, "ir", 0), places=3)
        self.assertEqual((p["unit"], p["quality"]), ("V", "ok"))
        r = self.ctl("get", "meters/m1/voltage")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "229.25 V\n")
        r = self.ctl("get", "meters/relays/relay_1")
        self.assertEqual(r.stdout, "OFF\n")
        self.assertEqual(self.ctl("get", "meters/m1/nosuch").returncode, 4)
        self.assertEqual(self.ctl("get", "meters/m1").returncode, 2)

    def test_set_on_a_relay_returns_done_and_the_slave_holds_it(self):
        self.start_driver()
        r = self.ctl("set", "meters/relays/relay_3", "ON")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("done", r.stdout)
        self.assertTrue(self.slave.coils(2)[2])
        r = self.ctl("--json", "set", "meters/relays/relay_3", "OFF", "--as", "op")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual((doc["status"], doc["exit"], doc["ok"]), ("done", 0, True))
        self.assertFalse(self.slave.coils(2)[2])
        # A value this switch does not take: usage, nothing queued.
        self.assertEqual(self.ctl("set", "meters/relays/relay_3", "maybe").returncode, 2)
        # A sensor takes no commands.
        self.assertEqual(self.ctl("set", "meters/m1/voltage", "1").returncode, 1)

    def test_set_as_a_read_only_user_refused_with_exit_5_and_no_write(self):
        self.start_driver()
        self.slave.clear_requests()
        r = self.ctl("set", "meters/relays/relay_1", "ON", "--as", "ro")
        self.assertEqual(r.returncode, 5, r.stdout + r.stderr)
        self.assertIn("may not write", r.stderr)
        r = self.ctl("set", "meters/relays/relay_1", "ON", "--as", "nobody")
        self.assertEqual(r.returncode, 5, r.stdout + r.stderr)
        time.sleep(POLL_MS / 1000 * 3)  # a queued command would have run by now
        self.assertEqual(self.slave.writes(unit=2), [])
        self.assertFalse(self.slave.coils(2)[0])
        # The same user is refused on a bus without a driver too (5, not 7).
        r = self.ctl("set", "spare/r2/relay_1", "ON", "--as", "ro")
        self.assertEqual(r.returncode, 5, r.stdout + r.stderr)

    def test_set_without_a_result_in_time_exits_6(self):
        self.start_driver()
        pid = self.gw.drivers["meters"].pid
        os.kill(pid, signal.SIGSTOP)  # heartbeat still fresh, but no result comes
        try:
            t0 = time.monotonic()
            r = self.ctl("--json", "set", "meters/relays/relay_5", "ON", "--timeout", "1")
            took = time.monotonic() - t0
        finally:
            os.kill(pid, signal.SIGCONT)
        self.assertEqual(r.returncode, 6, r.stdout + r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual((doc["status"], doc["exit"]), ("timeout", 6))
        self.assertIn("no result", doc["reason"])
        self.assertGreaterEqual(took, 1.0)
        self.assertLess(took, 1 + fbtest.slack(3.0))
        # The command was queued: the driver carries it out once it runs again.
        self.assertTrue(fbtest.wait_for(lambda: self.slave.coils(2)[4], 5, 0.1))

    def test_tables_closed_to_the_caller_exit_5(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to run the tool as another user")
        self.start_driver()
        for d in (self.tmp, self.gw.dir):
            os.chmod(d, 0o755)
        as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                     CTL, "-c", self.main]
        for args in (["get", "meters/m1/voltage"], ["set", "meters/relays/relay_1", "ON"]):
            r = subprocess.run(as_nobody + args, capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 5, r.stdout + r.stderr)
            self.assertIn("Permission denied", r.stderr)
        self.assertFalse(self.slave.coils(2)[0])

    def test_set_with_no_driver_running_exits_7(self):
        r = self.ctl("set", "spare/r2/relay_1", "ON")
        self.assertEqual(r.returncode, 7, r.stdout + r.stderr)
        self.assertIn("not running", r.stderr)
        self.assertEqual(self.ctl("get", "spare/r2/relay_1").returncode, 7)
        # A driver that stopped: its table gone, 7 as well.
        self.start_driver()
        self.gw.drivers["meters"].stop()
        r = self.ctl("set", "meters/relays/relay_1", "ON")
        self.assertEqual(r.returncode, 7, r.stdout + r.stderr)

    def test_status_names_the_running_driver_and_a_stopped_one(self):
        self.start_driver()
        pid = self.gw.drivers["meters"].pid
        r = self.ctl("status")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, rf"bus meters: running \(pid {pid}\b")
        self.assertIn("bus spare: not running", r.stdout)
        r = self.ctl("--json", "status")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        doc = json.loads(r.stdout)
        buses = {b["name"]: b for b in doc["buses"]}
        self.assertTrue(buses["meters"]["running"])
        self.assertEqual(buses["meters"]["pid"], pid)
        self.assertEqual(buses["meters"]["devices"], 2)
        self.assertIn("utilisation_pct", buses["meters"])
        self.assertIn("errors", buses["meters"])
        self.assertFalse(buses["spare"]["running"])
        self.assertNotIn("pid", buses["spare"])
        self.assertIsInstance(doc["warnings"], list)

    def test_status_names_a_running_exporter_and_a_stopped_connection(self):
        broker = fbtest.Broker(self.procs)
        self.gw.config["connections"] = [
            {"name": "ha", "user": "op", "broker": "127.0.0.1", "port": broker.port},
            {"name": "off", "user": "ro", "broker": "127.0.0.1",
             "port": fbtest.free_port()}]
        self.gw.write()
        self.start_driver()
        exp = self.gw.start_exporter("ha")
        rec = os.path.join(self.gw.config["gateway"]["state_dir"], "loaded",
                           "connection-ha.json")
        self.assertTrue(fbtest.wait_for(lambda: os.path.exists(rec), 15, 0.1),
                        exp.log_tail())
        r = self.ctl("status")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, rf"connection ha: running \(pid {exp.pid}\b")
        self.assertIn("connection off: not running", r.stdout)
        doc = json.loads(self.ctl("--json", "status").stdout)
        conns = {c["name"]: c for c in doc["connections"]}
        self.assertEqual((conns["ha"]["running"], conns["ha"]["pid"]), (True, exp.pid))
        self.assertFalse(conns["off"]["running"])
        exp.stop()
        doc = json.loads(self.ctl("--json", "status").stdout)
        self.assertFalse({c["name"]: c for c in doc["connections"]}["ha"]["running"])

    def test_status_shows_each_daemons_last_error_from_the_journal(self):
        # No journald runs here: a stand-in named journalctl first on PATH
        # (it says so) records how it is asked and answers for one unit.
        bindir = os.path.join(self.tmp, "bin")
        os.makedirs(bindir)
        calls = os.path.join(self.tmp, "journalctl.calls")
        with open(os.path.join(bindir, "journalctl"), "w") as f:
            f.write("#!/bin/sh\n# stand-in for journalctl (no journald in this test)\n"
                    f"echo \"$*\" >> {calls}\n"
                    "case \"$*\" in *fieldbridge-modbus@spare.service*)"
                    " echo 'bus spare: cannot open /dev/ttyUSB9: No such file or directory';; esac\n")
        os.chmod(os.path.join(bindir, "journalctl"), 0o755)
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"])
        r = subprocess.run([CTL, "-c", self.main, "--json", "status"], text=True,
                           capture_output=True, timeout=60, stdin=subprocess.DEVNULL, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        buses = {b["name"]: b for b in json.loads(r.stdout)["buses"]}
        self.assertEqual(buses["spare"]["last_error"],
                         "bus spare: cannot open /dev/ttyUSB9: No such file or directory")
        self.assertIsNone(buses["meters"]["last_error"])
        asked = fbtest.read_text(calls)
        self.assertIn("-p err", asked)
        self.assertIn("-u fieldbridge-modbus@meters.service -u fieldbridge-gpio@meters.service",
                      asked)
        r = subprocess.run([CTL, "-c", self.main, "status"], text=True, capture_output=True,
                           timeout=60, stdin=subprocess.DEVNULL, env=env)
        self.assertIn("  last error: bus spare: cannot open /dev/ttyUSB9", r.stdout)

    def test_definition_check_passes_on_shipped_and_fails_on_a_wrong_vector(self):
        files = sorted(os.path.join(DEVICES, f) for f in os.listdir(DEVICES)
                       if f.endswith(".json"))
        r = self.ctl("definition", "check", *files)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(r.stdout.splitlines()), len(files), r.stdout)
        self.assertTrue(all(": ok (" in x for x in r.stdout.splitlines()), r.stdout)
        r = self.ctl("--json", "definition", "check", "eastron-sdm120")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        d = json.loads(r.stdout)["definitions"][0]
        self.assertTrue(d["ok"] and d["vectors"] > 0 and d["checks"] > 0, d)
        # One expectation changed: the vector fails, exit 3.
        with open(os.path.join(DEVICES, "eastron-sdm120.json")) as f:
            text = f.read()
        right = '"expect": {"voltage": 238.7}'
        self.assertIn(right, text)
        doc = text.replace(right, '"expect": {"voltage": 239.7}')
        key = "voltage"
        bad = os.path.join(self.tmp, "wrong-vector.json")
        with open(bad, "w") as f:
            f.write(doc)
        r = self.ctl("definition", "check", files[0], bad)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn(f"{bad}: FAILED", r.stdout)
        self.assertIn(key, r.stderr)
        self.assertIn(": ok (", r.stdout.splitlines()[0])


if __name__ == "__main__":
    fbtest.main(tools=fbtest.MQTT_TOOLS)
