#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Fault suite, MQTT side: real mosquitto, pymodbus slave and daemons.

Broker outages under a burst of QoS 1 commands (none may be lost), broker
restarts while values change (retained state equals the slave at the end),
the driver SIGKILLed at random points of a command burst (a button press
runs at most once, the newest value wins), and every malformed command
(nothing reaches the slave, one log line each).  Every case prints its
figures ("FIGURE name: value")."""

import json
import os
import random
import re
import subprocess
import sys
import time

import fbtest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "export"))
import scenario    # noqa: E402  (tests/export/scenario.py)

SETPOINT_HR = 1   # panel/setpoint: int16, scale 0.1, 5..30
RESET_HR = 3      # panel/reset: button, writes 1


def figure(name, value):
    print(f"FIGURE {name}: {value}", flush=True)


def container(value, event_id, ts=None):
    return json.dumps({"value": value, "event_id": event_id,
                       "ts": scenario.now_ms() if ts is None else ts})


def publish_lines(broker, topic, lines, qos=1):
    """Many messages through one mosquitto_pub (-l: one per line), as a
    client that queued them while it was cut off sends them on reconnect."""
    args = ["mosquitto_pub", "-q", str(qos), "-t", topic, "-l"] + fbtest.client_args(broker)
    r = subprocess.run(args, input="\n".join(lines) + "\n", text=True,
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"mosquitto_pub -l: rc={r.returncode} {r.stderr}")


class CommandFaults(fbtest.TestCase):
    def make(self, broker, conn=None):
        c = {"port": broker.port, "qos": 1}
        c.update(conn or {})
        return scenario.ExportScenario(self, broker, c)

    def setpoint_reg(self, sc):
        return sc.slave.get_registers(3, "hr", SETPOINT_HR, 1)[0]

    def persistent_broker(self):
        d = os.path.join(self.tmp, "mosquitto-db")
        os.makedirs(d, exist_ok=True)
        return fbtest.Broker(self.procs, self.tmp,
                             extra_global_conf=f"persistence true\npersistence_location {d}/")

    # -------------------------------------------------------- broker outages
    def outage_burst(self, sc, broker, outage_s, n, tag):
        """Broker down for outage_s; as it comes back, a client that queued
        n QoS 1 commands sends them all, before the exporter (on its
        reconnect backoff) is back.  Returns how many never reached it."""
        reconnects = sc.log().count("connected to")
        broker.stop()
        time.sleep(outage_s)
        broker.start()
        values = [5 + (i % 50) * 0.5 for i in range(n - 1)] + [22.5]
        publish_lines(broker, f"{sc.base}/panel/setpoint/set",
                      [container(v, f"{tag}-{i}") for i, v in enumerate(values)])
        published_before_reconnect = sc.log().count("connected to") == reconnects
        ok = fbtest.wait_for(lambda: sc.log().count("connected to") > reconnects, 30)
        self.assertTrue(ok, "exporter did not reconnect:\n" + sc.log()[-2000:])

        def seen():
            return {int(m) for m in re.findall(rf"\b{tag}-(\d+)\b", sc.log())}
        def failed():
            return {int(m) for m in re.findall(rf"command {tag}-(\d+) for \S+ failed", sc.log())}
        fbtest.wait_for(lambda: len(seen()) == n, 20, 0.2)
        lost = n - len(seen()) + len(failed())
        ok = fbtest.wait_for(lambda: self.setpoint_reg(sc) == 225, 15)
        figure(f"outage_{outage_s}s_commands_lost", f"{lost} of {n} (all published before "
               f"the exporter reconnected: {published_before_reconnect})")
        self.assertTrue(ok, f"final setpoint {self.setpoint_reg(sc)}, want 225 (the newest)")
        return lost, published_before_reconnect

    def test_qos1_commands_survive_broker_outages_of_1_5_and_8_s(self):
        broker = self.persistent_broker()
        sc = self.make(broker).start()
        sc.assert_state_equals_table()
        for outage, tag in ((1.5, "o15"), (8.0, "o80")):
            lost, early = self.outage_burst(sc, broker, outage, 200, tag)
            self.assertEqual(lost, 0, sc.log()[-3000:])
            # The broker queued them: they arrived while the exporter was away.
            self.assertTrue(early, "the exporter was back before the burst: nothing tested")

    def test_too_old_command_is_dropped_with_its_age(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        sc = self.make(broker, {"command_max_age_s": 5}).start()
        sc.assert_state_equals_table()
        fbtest.publish(broker, f"{sc.base}/panel/setpoint/set",
                       container(12, "old-1", scenario.now_ms() - 9000), qos=1)
        fbtest.publish(broker, f"{sc.base}/panel/setpoint/set", container(13, "new-1"), qos=1)
        self.assertTrue(fbtest.wait_for(lambda: self.setpoint_reg(sc) == 130, 10))
        m = re.search(r"command old-1 for setpoint dropped: (\d+\.\d) s old when it arrived "
                      r"\(command_max_age_s=5\)", sc.log())
        self.assertIsNotNone(m, sc.log()[-2000:])
        figure("too_old_command_age_s", m.group(1))
        self.assertNotIn(120, [w["values"][0] for w in sc.slave.writes(3)])

    # ------------------------------------------------------- broker restarts
    def test_broker_restarts_under_changing_values_retained_equals_slave(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        sc = self.make(broker).start()
        sc.assert_state_equals_table()
        recovery = []
        for k in range(4):
            broker.kill() if k % 2 == 0 else broker.stop()
            for step in range(3):
                sc.slave.set_registers(3, "hr", 0, [1000 * (k + 1) + step])
                sc.slave.set_coils(2, k, [step % 2 == 0])
                time.sleep(0.2)
            want = 1000 * (k + 1) + 2
            t0 = time.monotonic()
            broker.start()
            ok = fbtest.wait_for(lambda: (sc.state("panel") or {}).get("counter") == want, 30,
                                 0.05)
            self.assertTrue(ok, f"restart {k}: counter never {want}:\n" + sc.log()[-2000:])
            recovery.append(time.monotonic() - t0)
        time.sleep(0.5)
        sc.assert_retained_equals_table()
        figure("broker_restart_recovery_s", " ".join(f"{r:.2f}" for r in recovery))

    # ------------------------------------------------------- driver crashes
    def test_driver_sigkill_mid_burst_press_at_most_once_newest_wins(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        sc = self.make(broker).start()
        sc.assert_state_equals_table()
        rng = random.Random(19)
        rounds, burst = 20, 200
        twice = stale = presses_run = presses_failed = 0
        settle = []
        for r in range(rounds):
            t0 = time.monotonic()
            values = [5 + rng.randrange(50) * 0.5 for _ in range(burst - 1)] + [
                5 + (r % 40) * 0.5 + 0.5]
            want = round(values[-1] * 10)
            lines = [container(v, f"r{r}-v{i}") for i, v in enumerate(values)]
            press = container("PRESS", f"r{r}-press")
            pub = subprocess.Popen(
                ["mosquitto_pub", "-q", "1", "-t", f"{sc.base}/panel/setpoint/set", "-l"]
                + fbtest.client_args(broker), stdin=subprocess.PIPE, text=True)
            half = rng.randrange(burst)
            pub.stdin.write("\n".join(lines[:half]) + "\n")
            pub.stdin.flush()
            # Kill points: before the press, while it travels, after it.
            phase = r % 3
            if phase == 0:
                sc.gw.drivers["meters"].kill()
            presser = subprocess.Popen(["mosquitto_pub", "-q", "1", "-t",
                                        f"{sc.base}/panel/reset/set", "-m", press]
                                       + fbtest.client_args(broker))
            if phase == 1:
                time.sleep(rng.uniform(0, 0.03))
                sc.gw.drivers["meters"].kill()
            presser.wait(10)
            if phase == 2:
                time.sleep(rng.uniform(0, 0.4))
                sc.gw.drivers["meters"].kill()
            pub.stdin.write("\n".join(lines[half:]) + "\n")
            pub.stdin.close()
            pub.wait(30)
            time.sleep(rng.uniform(0.1, 1.0))
            sc.gw.start_driver()
            ok = fbtest.wait_for(lambda: self.setpoint_reg(sc) == want, 20, 0.1)
            stale += not ok
            settle.append(time.monotonic() - t0)
            fbtest.wait_for(lambda: re.search(rf"r{r}-press (done|failed)|command r{r}-press "
                                              r"for reset failed", sc.log()), 10)
            runs = len([w for w in sc.slave.writes(3, since=t0)
                        if w["address"] == RESET_HR])
            twice += runs > 1
            presses_run += runs == 1
            presses_failed += bool(re.search(rf"r{r}-press for reset failed: driver restarted",
                                             sc.log()))
            sc.slave.set_registers(3, "hr", RESET_HR, [0])
        figure("driver_kill_rounds", f"{rounds} rounds of {burst} set-values + 1 press")
        figure("driver_kill_presses_run_twice", twice)
        figure("driver_kill_presses_run_once", presses_run)
        figure("driver_kill_presses_failed_driver_restarted", presses_failed)
        figure("driver_kill_rounds_with_stale_final_value", stale)
        figure("driver_kill_round_s_max", f"{max(settle):.2f}")
        self.assertEqual(twice, 0)
        self.assertEqual(stale, 0, sc.log()[-3000:])

    def test_exporter_sigkill_mid_burst_loses_nothing_newest_wins(self):
        """The exporter killed at random points of a burst and started
        again: its persistent session holds what arrived meanwhile, so the
        newest value still wins and no command is lost."""
        broker = fbtest.Broker(self.procs, self.tmp)
        sc = self.make(broker).start()
        sc.assert_state_equals_table()
        rng = random.Random(1919)
        rounds, burst = 20, 200
        stale, back = 0, []
        for r in range(rounds):
            values = [5 + rng.randrange(50) * 0.5 for _ in range(burst - 1)] + [
                5 + (r % 40) * 0.5 + 0.5]
            want = round(values[-1] * 10)
            pub = subprocess.Popen(
                ["mosquitto_pub", "-q", "1", "-t", f"{sc.base}/panel/setpoint/set", "-l"]
                + fbtest.client_args(broker), stdin=subprocess.PIPE, text=True)
            cut = rng.randrange(burst)
            pub.stdin.write("\n".join(container(v, f"x{r}-{i}") for i, v in
                                      enumerate(values[:cut])) + "\n")
            pub.stdin.flush()
            time.sleep(rng.uniform(0, 0.2))
            sc.exporter().kill()
            pub.stdin.write("\n".join(container(v, f"x{r}-{i + cut}") for i, v in
                                      enumerate(values[cut:])) + "\n")
            pub.stdin.close()
            pub.wait(30)
            t0 = time.monotonic()
            sc.gw.start_exporter(sc.conn_name, debug=True)
            ok = fbtest.wait_for(lambda: self.setpoint_reg(sc) == want, 20, 0.05)
            back.append(time.monotonic() - t0)
            stale += not ok
        figure("exporter_kill_rounds", f"{rounds} rounds of {burst} set-values")
        figure("exporter_kill_rounds_with_stale_final_value", stale)
        figure("exporter_kill_newest_value_applied_after_restart_s_max", f"{max(back):.2f}")
        self.assertEqual(stale, 0)

    # ----------------------------------------------------- malformed commands
    def test_every_malformed_command_is_refused_logged_and_never_written(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        sc = self.make(broker).start()
        sc.assert_state_equals_table()
        base = sc.base
        long_key = "l" * 32
        cases = [
            ("lamp/set", b"ON\x00junk", r"lamp refused: the payload contains a NUL byte"),
            ("setpoint/set", b'{"value": 12, "event_id": "m1", "ts": %d} junk'
             % scenario.now_ms(), r"setpoint refused: not a JSON object \(or trailing"),
            ("setpoint/set", b'{"value": 12, "event_id": 42}',
             r"setpoint refused: event_id must be a string"),
            ("setpoint/set", b'{"value": 12, "event_id": "m2", "ts": "yesterday"}',
             r"setpoint refused: ts must be a number"),
            ("setpoint/set", b'{"value": 12, "event_id": "m3", "extra": 1}',
             r"setpoint refused: unknown field"),
            ("setpoint/set", json.dumps({"value": 12, "event_id": "e" * 1500}).encode(),
             None),
            ("setpoint/set", json.dumps({"value": 12, "event_id": "e" * 48}).encode(),
             r"setpoint refused: event_id must be 1 to 47"),
            ("setpoint/set", b"A" * (1 << 20), None),
            ("setpoint/set", b'{"value": "' + b"A" * (1 << 20) + b'"}', None),
            ("setpoint/set", b" 12", r"setpoint refused: invalid value"),
            (long_key + "/set", b"ON", rf"unknown point \S+/panel/{long_key}/set"),
        ]
        # Oversized: the line names the size.
        cases = [(t, p, pat or rf"setpoint/set dropped: {len(p)} bytes, at most 1023")
                 for t, p, pat in cases]
        t0 = time.monotonic()
        before = len(sc.log().splitlines())
        for topic, payload, _ in cases:
            fbtest.publish(broker, f"{base}/panel/{topic}", payload, qos=1)
        missing = []
        for topic, _, pattern in cases:
            if not fbtest.wait_for(lambda: re.search(pattern, sc.log()), 10):
                missing.append(pattern)
        self.assertEqual(missing, [], sc.log()[-4000:])
        counts = {p: len(re.findall(p, sc.log())) for _, _, p in cases}
        # A witness that went through the same path: every earlier one had its chance.
        fbtest.publish(broker, f"{base}/relays/relay_1/set", "ON", qos=1)
        self.assertIsNotNone(sc.slave.wait_request(
            lambda e: e["kind"] == "write" and e["unit"] == 2, timeout=10, since=t0))
        writes = [w for w in sc.slave.writes(since=t0) if w["unit"] == 3]
        lines = sc.log().splitlines()[before:]
        refusals = [ln for ln in lines if re.search(r"refused|dropped|unknown point", ln)]
        figure("malformed_cases", len(cases))
        figure("malformed_writes_reaching_slave", len(writes))
        figure("malformed_log_lines", len(refusals))
        self.assertEqual(writes, [], "a malformed command reached the slave")
        for p, c in counts.items():
            self.assertEqual(c, 1, f"{p!r} logged {c} times")
    def test_retained_command_is_cleared_and_never_replayed(self):
        """A retained command is replayed by the broker at every subscribe:
        that replay is cleared and never executed.  Published while the
        exporter is away, the same message is also queued in the exporter's
        persistent session, without the retain flag (MQTT 3.1.1): that copy
        is an ordinary command and runs once -- never twice, and never again
        after further reconnects."""
        broker = fbtest.Broker(self.procs, self.tmp)
        sc = self.make(broker).start()
        sc.assert_state_equals_table()
        sc.exporter().kill()
        t1 = time.monotonic()
        fbtest.publish(broker, f"{sc.base}/panel/mode/set", "Cool", qos=1, retain=True)
        for k in range(2):
            sc.gw.start_exporter(sc.conn_name, debug=True)
            self.assertTrue(fbtest.wait_for(
                lambda: not fbtest.retained_snapshot(broker, f"{sc.base}/+/+/set"), 15))
            if k == 0:
                self.assertTrue(fbtest.wait_for(lambda: re.search(
                    r"clearing retained command on \S+/panel/mode/set",
                    sc.exporter().stderr_text()), 10), sc.exporter().stderr_text()[-2000:])
            fbtest.publish(broker, f"{sc.base}/relays/relay_2/set", "ON", qos=1)
            self.assertIsNotNone(sc.slave.wait_request(
                lambda e: e["kind"] == "write" and e["unit"] == 2, timeout=15, since=t1))
            sc.exporter().kill()
        runs = len([w for w in sc.slave.writes(3, since=t1) if w["address"] == 2])
        figure("retained_command_runs", f"{runs} (the queued live copy; the replay never)")
        self.assertLessEqual(runs, 1)


if __name__ == "__main__":
    fbtest.main(tools=fbtest.MQTT_TOOLS)
