#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fieldbridge-export against hostile or unlucky input: rights that are
revoked at run time (users file, diagnostics, queued commands), labels and
event ids that try to break out of JSON or log lines, command timestamps
far from now, oversized messages, a device too big for a fixed buffer,
restarts against a broker that keeps its retained messages, a TLS broker
that refuses the TCP connection, and log lines on a terminal.

Real mosquitto, pymodbus slave and daemons throughout (fbtest)."""

import json
import os
import pty
import re
import select
import signal
import subprocess
import time
import unittest

import fbtest
import gateway
import scenario
from scenario import container

HERE = os.path.dirname(os.path.abspath(__file__))
EVIL_HEAT = 'Heat", "counter": 99999, "x": "'
EVIL_COOL = 'Cool "eco" \\ end'


def no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise ValueError(f"duplicate keys {sorted(dup)}")
    return dict(pairs)


def try_json(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


class Hardening(fbtest.TestCase):
    def setUp(self):
        super().setUp()
        self.broker = fbtest.Broker(self.procs, self.tmp)

    def make(self, conn=None, broker=None, **kw):
        broker = broker or self.broker
        c = {"port": broker.port}
        c.update(conn or {})
        return scenario.ExportScenario(self, broker, c, **kw)

    def expect_log(self, sc, pattern, timeout=10):
        ok = fbtest.wait_for(lambda: re.search(pattern, sc.log()), timeout)
        self.assertTrue(ok, f"log lacks {pattern!r}:\n{sc.log()[-3000:]}")

    def definition_dir(self, name, doc):
        d = os.path.join(self.tmp, "defs")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name + ".json"), "w") as f:
            json.dump(doc, f)
        return d

    def use_definitions(self, sc, d):
        sc.gw.config["gateway"]["definition_dirs"].insert(0, d)
        sc.gw.write()

    def panel_definition(self):
        with open(os.path.join(HERE, "devices", "fbtest-panel.json")) as f:
            text = f.read()
        return json.loads(text[text.index("{"):])

    def wait_config(self, sc, dev, pred, since=None, timeout=10):
        return sc.sub.wait_message(
            lambda m: m.topic == sc.config_topic(dev) and pred(m.payload),
            timeout=timeout, since=since)

    # ------------------------------------------------------------- rights
    def test_revoked_user_loses_rights_on_sighup(self):
        sc = self.make(users={"homeassistant": {"rights": {"*": "write"}}}).start()
        sc.check_discovery()
        # A broken file (a half-written edit) keeps the previous rights.
        with open(os.open(sc.gw.users_path, os.O_WRONLY | os.O_TRUNC), "w") as f:
            f.write('{"users": [')
        sc.exporter().signal(signal.SIGHUP)
        self.expect_log(sc, r"SIGHUP: users file .* not reloaded; keeping the previous rights")
        fbtest.publish(self.broker, f"{sc.base}/relays/relay_1/set", "ON", qos=1)
        self.assertTrue(fbtest.wait_for(lambda: sc.slave.coils(2)[0], 10),
                        "a broken users file dropped the rights")
        # A valid file without our user: nothing is exported, nothing runs.
        t0 = time.monotonic()
        sc.gw.write_users({"viewer": {"rights": {"*": "write"}}})
        sc.exporter().signal(signal.SIGHUP)
        self.expect_log(sc, r"SIGHUP")
        time.sleep(1)
        fbtest.publish(self.broker, f"{sc.base}/relays/relay_3/set", "ON", qos=1)
        time.sleep(1.5)
        self.assertFalse(sc.slave.coils(2)[2], "a removed user switched a relay")
        self.expect_log(sc, r"command for relay_3 refused")
        for dev in ("relays", "panel"):
            self.assertIsNotNone(self.wait_config(sc, dev, lambda p: p == "", since=t0),
                                 f"{dev} discovery not removed")
        self.expect_log(sc, r"user homeassistant is no longer defined in .*: nothing is "
                            r"exported and every command is refused")
        snap = fbtest.retained_snapshot(self.broker, "#", timeout=3, quiet=0.5)
        self.assertNotIn(sc.config_topic("relays"), snap)
        self.assertNotIn(f"{sc.base}/relays/state", snap)
        gs = json.loads(snap[f"{sc.base}/gateway/state"])
        self.assertEqual(gs["devices_total"], 0)

    def test_diagnostic_entities_obey_the_users_file(self):
        rights = {"panel/counter": "read", "panel/_diag_*": "none", "relays": "read"}
        sc = self.make(users={"homeassistant": {"rights": rights}}).start()
        panel = sc.sub.wait_message(sc.config_topic("panel"), timeout=10).json()
        self.assertEqual(set(panel["cmps"]), {"counter"})
        relays = sc.sub.wait_message(sc.config_topic("relays"), timeout=10).json()
        self.assertTrue(any(k.startswith("_diag_") for k in relays["cmps"]),
                        "a device-wide read right shows the statistics too")
        st = sc.wait_state("panel", lambda s: "counter" in s)
        self.assertIsNotNone(st)
        self.assertEqual(set(st.json()) - {"node", "event_id", "ts"}, {"counter"})
        # Granting one statistic at run time adds exactly that component.
        t0 = time.monotonic()
        rights["panel/_diag_errors"] = "read"
        sc.gw.write_users({"homeassistant": {"rights": rights}})
        sc.exporter().signal(signal.SIGHUP)
        cfg = self.wait_config(sc, "panel", lambda p: "_diag_errors" in p, since=t0)
        self.assertIsNotNone(cfg, "granted statistic not discovered")
        self.assertEqual(set(cfg.json()["cmps"]), {"counter", "_diag_errors"})
        self.assertIsNotNone(sc.wait_state("panel", lambda s: "_diag_errors" in s, since=t0))
        # ... and revoking it removes it again.
        t1 = time.monotonic()
        del rights["panel/_diag_errors"]
        sc.gw.write_users({"homeassistant": {"rights": rights}})
        sc.exporter().signal(signal.SIGHUP)
        cfg = self.wait_config(sc, "panel", lambda p: "_diag_errors" in p, since=t1)
        self.assertIsNotNone(cfg)
        self.assertEqual(cfg.json()["cmps"]["_diag_errors"], {"p": "sensor"})

    def test_queued_command_is_refused_after_sighup_revokes_write(self):
        sc = self.make(users={"homeassistant": {"rights": {"*": "write"}}}).start()
        sc.assert_state_equals_table()
        sc.gw.drivers["meters"].kill()
        # The heartbeat goes stale (5 s): commands wait for the driver.  A
        # fixed sleep could end before the exporter noticed on a loaded machine.
        self.expect_log(sc, r"bus meters: driver heartbeat stopped", fbtest.slack(15))
        fbtest.publish(self.broker, f"{sc.base}/relays/relay_5/set", "ON", qos=1)
        self.expect_log(sc, r"command .* for relay_5 waits: driver for bus meters is not running")
        sc.gw.write_users({"homeassistant": {"rights": {"*": "read"}}})
        sc.exporter().signal(signal.SIGHUP)
        self.expect_log(sc, r"SIGHUP: reloaded")
        sc.slave.clear_requests()
        sc.gw.start_driver()
        self.assertIsNotNone(sc.wait_state("relays", lambda s: "relay_5" in s, 20,
                                           since=time.monotonic()))
        time.sleep(2)
        self.assertFalse(sc.slave.coils(2)[4], "a revoked command reached the hardware")
        self.assertEqual(sc.slave.writes(), [])
        self.expect_log(sc, r"command .* for relay_5 failed: user homeassistant may no "
                            r"longer write it")

    # ------------------------------------------------------------- payloads
    def test_select_labels_with_quotes_keep_the_state_json_valid(self):
        doc = self.panel_definition()
        mode = next(p for p in doc["points"] if p["key"] == "mode")
        mode["options"] = {"0": "Off", "1": EVIL_HEAT, "2": EVIL_COOL}
        sc = self.make(devices=[gateway.device("panel", "evil-panel", 3, name="Panel")])
        self.use_definitions(sc, self.definition_dir("evil-panel", doc))
        sc.slave.set_registers(3, "hr", 0, [7, 200, 0])  # Off: both labels below are changes
        sc.start()
        for raw, label in ((1, EVIL_HEAT), (2, EVIL_COOL)):
            t0 = time.monotonic()
            sc.slave.set_registers(3, "hr", 2, [raw])
            msg = sc.sub.wait_message(
                lambda m: m.topic == f"{sc.base}/panel/state" and
                (try_json(m.payload) or {}).get("mode") == label, timeout=10, since=t0)
            self.assertIsNotNone(msg, "no valid state with the label: " +
                                 repr([m.payload for m in sc.sub.messages(
                                     f"{sc.base}/panel/state", since=t0)][-2:]))
            st = json.loads(msg.payload, object_pairs_hook=no_duplicate_keys)
            self.assertEqual(st["counter"], 7, "a label overrode another point")
            self.assertNotIn("x", st)

    def test_definition_with_control_characters_is_refused(self):
        doc = self.panel_definition()
        mode = next(p for p in doc["points"] if p["key"] == "mode")
        mode["options"]["1"] = "Heat\u0001"
        lamp = next(p for p in doc["points"] if p["key"] == "lamp")
        lamp["name"] = "Lamp\n<0>forged"
        sc = self.make(devices=[gateway.device("panel", "ctl-panel", 3, name="Panel")])
        self.use_definitions(sc, self.definition_dir("ctl-panel", doc))
        r = sc.gw.check("modbus")
        self.assertRegex(r.stdout + r.stderr,
                         r"points\[\d+\].*options\.\"1\": expected a label without control")
        self.assertRegex(r.stdout + r.stderr,
                         r"points\[\d+\].*name: expected text without control characters")
        self.assertNotEqual(r.returncode, 0, r.stdout)

    def test_command_ts_outside_the_window_is_refused_and_next_command_runs(self):
        sc = self.make().start()
        sc.assert_state_equals_table()
        sp = f"{sc.base}/panel/setpoint/set"
        evil = (9e15, 1e300, -5, scenario.now_ms() + 3_600_000)
        for i, ts in enumerate(evil):
            fbtest.publish(self.broker, sp, json.dumps(
                {"value": 10, "event_id": f"evil-{i}", "ts": ts}), qos=1)
        time.sleep(1)
        self.assertNotEqual(sc.slave.get_registers(3, "hr", 1, 1)[0], 100,
                            "a command with a ts far from now ran")
        fbtest.publish(self.broker, sp, container(21.5, "legit-1"), qos=1)
        self.assertTrue(fbtest.wait_for(
            lambda: sc.slave.get_registers(3, "hr", 1, 1)[0] == 215, 10),
            "Home Assistant's next command was blocked:\n" + sc.log()[-2000:])
        for i in range(len(evil)):
            self.expect_log(sc, rf"command evil-{i} for setpoint refused: its ts is not a time")

    def test_oversized_command_is_logged(self):
        sc = self.make().start()
        payload = container(20, "big-" + "x" * 20) [:-1] + ', "pad": "' + "p" * 1200 + '"}'
        fbtest.publish(self.broker, f"{sc.base}/panel/setpoint/set", payload, qos=1)
        self.expect_log(sc, rf"command on {re.escape(sc.base)}/panel/setpoint/set dropped: "
                            rf"{len(payload)} bytes, at most 1023 accepted")

    def test_event_id_with_newline_cannot_forge_log_lines(self):
        sc = self.make().start()
        sc.assert_state_equals_table()
        evil = "e1\n<0>fieldbridge-export: FORGED"
        fbtest.publish(self.broker, f"{sc.base}/panel/setpoint/set",
                       json.dumps({"value": 12, "event_id": evil, "ts": scenario.now_ms()}), qos=1)
        self.assertTrue(fbtest.wait_for(
            lambda: sc.slave.get_registers(3, "hr", 1, 1)[0] == 120, 10))
        self.expect_log(sc, r"FORGED")
        for line in sc.log().splitlines():
            self.assertFalse(line.startswith("<0>"), f"forged line: {line!r}")
            self.assertRegex(line, r"^<\d>fieldbridge-export: ")
        self.expect_log(sc, r"e1\\n<0>fieldbridge-export: FORGED")

    def test_device_with_1000_points_gets_a_state(self):
        pad = "_register_point_"
        points = []
        for i in range(200):
            points.append({"key": f"hr{pad}{i:03d}", "name": f"HR {i}",
                           "table": "holding_register", "address": i, "type": "uint16"})
            points.append({"key": f"co{pad}{i:03d}", "name": f"Coil {i}",
                           "table": "coil", "address": i})
            for b in range(3):
                points.append({"key": f"ir{pad}{i:03d}_{b}", "name": f"IR {i}.{b}",
                               "table": "input_register", "address": i, "type": "bit",
                               "bit": b})
        self.assertEqual(len(points), 1000)
        doc = {"manufacturer": "fieldbridge tests", "model": "Big", "protocol": "modbus",
               "points": points}
        sc = self.make(devices=[gateway.device("big", "big-1000", 3, name="Big")])
        self.use_definitions(sc, self.definition_dir("big-1000", doc))
        sc.slave.set_registers(3, "hr", 5, [4242])
        sc.start(timeout=30)
        msg = sc.wait_state("big", lambda s: s.get(f"hr{pad}005") == 4242, timeout=20)
        self.assertIsNotNone(msg, "no state for a 1000-point device:\n" + sc.log()[-2000:])
        st = msg.json()
        self.assertGreater(len(msg.payload), 16384)
        self.assertEqual(len([k for k in st if pad in k]), 1000)
        self.assertNotIn("too large", sc.log())

    def test_oversized_retained_config_is_logged_and_not_parsed(self):
        # The test's own subscriber watches another prefix: it need not
        # carry the 5 MiB message.
        sc = self.make(prefix="unwatched")
        topic = f"homeassistant/device/{sc.node}_ghost/config"
        big = json.dumps({"dev": {"ids": [f"{sc.node}_ghost"], "via_device": sc.node},
                          "cmps": {}, "pad": "g" * (5 * 1024 * 1024)})
        path = os.path.join(self.tmp, "ghost.json")
        with open(path, "w") as f:
            f.write(big)
        self.procs.run(["mosquitto_pub", *fbtest.client_args(self.broker), "-r", "-q", "1",
                        "-t", topic, "-f", path])
        sc.start()
        self.expect_log(sc, rf"retained config {re.escape(topic)} ignored: "
                            rf"{len(big)} bytes, at most 4194304 accepted")
        time.sleep(1)
        r = self.procs.run(["mosquitto_sub", *fbtest.client_args(self.broker), "-t", topic,
                            "-C", "1", "-W", "5", "-F", "%l"], check=False)
        self.assertEqual(r.stdout.strip(), str(len(big)), "an unread config was acted on")

    # ------------------------------------------------------------- restarts
    def test_restart_keeps_diagnostic_entities(self):
        db = os.path.join(self.tmp, "mosquitto-db")
        os.makedirs(db, exist_ok=True)
        broker = fbtest.Broker(self.procs, self.tmp, name="mosquitto-persist",
                               extra_global_conf=f"persistence true\n"
                                                 f"persistence_location {db}/")
        sc = self.make(broker=broker)
        configs = f"{sc.prefix}/device/+/config"
        sc.start()
        self.assertIsNotNone(sc.sub.wait_message(sc.config_topic("panel"), timeout=10))
        time.sleep(6)  # past the stale-cleanup window
        first = fbtest.retained_snapshot(broker, configs, timeout=3, quiet=0.5)
        self.assertTrue(any(k.startswith("_diag_")
                            for k in json.loads(first[sc.config_topic("panel")])["cmps"]))
        logs = []
        for run in range(3):
            sc.exporter().stop()
            logs.append(sc.log())
            t0 = time.monotonic()
            sc.gw.start_exporter("ha", debug=True)
            self.assertIsNotNone(sc.sub.wait_message(sc.config_topic("panel"), timeout=15,
                                                     since=t0))
            time.sleep(6)
            snap = fbtest.retained_snapshot(broker, configs, timeout=3, quiet=0.5)
            for topic, payload in snap.items():
                json.loads(payload, object_pairs_hook=no_duplicate_keys)
            self.assertEqual(snap, first, f"retained discovery changed on restart {run + 1}")
        logs.append(sc.log())
        for log in logs:
            self.assertNotIn("stale entit", log)

    # ------------------------------------------------------------- link
    def test_tls_refused_connection_is_logged_at_once(self):
        certs = fbtest.Certs(os.path.join(self.tmp, "certs"))
        port = fbtest.free_port()  # nothing listens there
        sc = self.make({"port": port, "ssl": "on", "ssl_server_crt": certs.ca,
                        "timeout_s": 60})
        t0 = time.monotonic()
        sc.start(wait=False)
        self.expect_log(sc, rf"broker 127\.0\.0\.1:{port}: unreachable broker: "
                            r"Connection refused", timeout=fbtest.slack(5))
        self.assertLess(time.monotonic() - t0, fbtest.slack(5))

    def run_on_terminal(self, sc, env=None, seconds=1.5):
        """Starts the exporter with stderr on a pseudo-terminal; returns its
        output lines."""
        master, slave = pty.openpty()
        argv = [gateway.EXPORT, "-c", sc.gw.config_path, "--connection", "ha"]
        full_env = dict(os.environ, **(env(slave) if env else {}))
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=slave, env=full_env, start_new_session=True)
        os.close(slave)
        out = b""
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                r, _, _ = select.select([master], [], [], 0.1)
                if r:
                    try:
                        out += os.read(master, 65536)
                    except OSError:
                        break
        finally:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            os.close(master)
        return [l for l in out.decode("utf-8", "replace").splitlines() if l.strip()]

    def test_terminal_log_lines_are_plain_text_with_a_timestamp(self):
        sc = self.make()
        sc.gw.write()
        lines = self.run_on_terminal(sc)
        self.assertTrue(lines, "nothing logged on the terminal")
        for line in lines:
            self.assertRegex(line, r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} "
                                   r"fieldbridge-export: ")
            self.assertNotRegex(line, r"<\d>")
        self.assertTrue(any(re.search(r"fieldbridge-export: warning: .*users_file", l)
                            for l in lines), lines)
        # journald hands a service its own stream: priorities again.
        def journal(fd):
            st = os.fstat(fd)
            return {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        lines = self.run_on_terminal(sc, env=journal)
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, r"^<\d>fieldbridge-export: ")


if __name__ == "__main__":
    fbtest.main(tools=fbtest.MQTT_TOOLS + ("openssl",))
