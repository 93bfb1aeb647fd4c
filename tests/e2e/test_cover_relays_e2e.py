#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A cover on two relays with a run time (docs/device-definitions.md,
"Covers on two relays") over real processes: a pymodbus slave with the two
relay coils (and a second cover on two bits of a holding register),
fieldbridge-modbus, fieldbridge-export, mosquitto.  Commands as Home
Assistant sends them switch the relays for the run time; the slave's own
write log (every write, in the order it applied them) shows the two
relays never on together, and the rest before a reversal."""

import subprocess
import threading
import time

import fbtest
from device_case import CTL, DeviceCase

RUN_S, PAUSE_MS = 2.0, 400

DEFINITION = {
    "manufacturer": "fieldbridge tests", "model": "Blind relays", "protocol": "modbus",
    "points": [
        {"key": "up", "name": "Up relay", "table": "coil", "address": 0},
        {"key": "down", "name": "Down relay", "table": "coil", "address": 1},
        {"key": "blind", "name": "Blind", "component": "cover", "writable": True,
         "device_class": "shutter",
         "cover": {"open": "up", "close": "down", "run_time_s": RUN_S,
                   "reverse_pause_ms": PAUSE_MS}},
        {"key": "bits", "name": "Bits", "table": "holding_register", "address": 5,
         "type": "uint16"},
        {"key": "up2", "name": "Up 2", "table": "holding_register", "address": 6,
         "type": "bit", "bit": 0},
        {"key": "down2", "name": "Down 2", "table": "holding_register", "address": 6,
         "type": "bit", "bit": 1},
        {"key": "awning", "name": "Awning", "component": "cover", "writable": True,
         "cover": {"open": "up2", "close": "down2", "open_time_s": 1.0,
                   "close_time_s": 1.5}},
    ],
}


class CoverRelaysE2E(DeviceCase):
    DEFINITION = DEFINITION
    DEFINITION_NAME = "test-cover-relays"

    def prime(self):
        # A previous run left both relays on (a crash): they must go off.
        self.slave.set_coils(1, 0, [True, True])
        self.slave.set_registers(1, "hr", 6, [0x0103])

    def setUp(self):
        self.samples, self.sampling = [], True
        self.sampler = threading.Thread(target=self.sample, daemon=True)
        super().setUp()
        self.sampler.start()

    def tearDown(self):
        self.sampling = False
        if self.sampler.is_alive():
            self.sampler.join(5)
        super().tearDown()

    def sample(self):
        """The relays as the slave holds them, as often as it answers."""
        while self.sampling:
            try:
                self.samples.append(self.slave.coils(1, 0, 2))
            except Exception:  # the slave stopping at the end of the test
                return

    def relay_log(self):
        """[(t, coil, on)] of every coil write, in the order applied."""
        out = []
        for e in self.slave.writes(1):
            if e["fc"] in (5, 15):
                for i, v in enumerate(e["values"]):
                    out.append((e["t"], e["address"] + i, bool(v)))
        return out

    def assert_never_both_on(self):
        on = {0: None, 1: None}
        for t, coil, v in self.relay_log():
            on[coil] = v
            self.assertFalse(on[0] and on[1], f"both relays on after the write at {t}")
        self.assertNotIn([True, True], self.samples[1:],
                         "the slave held both relays on")  # [0]: before the driver

    def on_periods(self, coil):
        """[(t_on, t_off)] of one coil from the write log."""
        periods, start = [], None
        for t, c, v in self.relay_log():
            if c != coil:
                continue
            if v and start is None:
                start = t
            elif not v and start is not None:
                periods.append((start, t))
                start = None
        return periods

    def open_fully(self):
        self.send("blind", "OPEN")
        self.state(lambda s: s["up"] == "ON" and s["down"] == "OFF", "up relay not on")
        s = self.state(lambda s: s["blind"] == 100 and s["up"] == "OFF",
                       "no end of the opening run", timeout=RUN_S + 10)
        return s

    def test_start_switches_both_off_and_discovery(self):
        self.assertTrue(fbtest.wait_for(lambda: self.slave.coils(1, 0, 2) == [False, False],
                                        fbtest.slack(10), 0.05), "relays not off at start")
        self.assertTrue(fbtest.wait_for(
            lambda: self.slave.get_registers(1, "hr", 6, 1) == [0x0100],
            fbtest.slack(10), 0.05), "register bits not cleared (or other bits touched)")
        s = self.state(lambda s: "blind" in s, "no cover in the state")
        self.assertIsNone(s["blind"])  # unknown until an end stop
        r = subprocess.run([CTL, "definition", "check", self.def_path],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        doc = self.sub.wait_message(f"homeassistant/device/{self.node}_c/config",
                                    timeout=fbtest.slack(10)).json()
        c, st = doc["cmps"]["blind"], f"{self.base}/c/state"
        self.assertEqual((c["p"], c["command_topic"], c["position_topic"],
                          c["set_position_topic"], c["position_open"], c["position_closed"]),
                         ("cover", f"{self.base}/c/blind/set", st, f"{self.base}/c/blind/set",
                          100, 0))
        self.assertNotIn("payload_stop", c)  # HA's default STOP
        self.assertIn("value_json.get('up')", c["value_template"])
        self.assertEqual(doc["cmps"]["up"]["p"], "binary_sensor")  # no switch to bypass it
        # between the ends an unknown position is refused: nothing moves
        n = len(self.relay_log())
        self.send("blind", "50")
        self.assertTrue(fbtest.wait_for(lambda: "position unknown" in self.exporter.stderr_text(),
                                        fbtest.slack(5), 0.05), "no failure for set_position")
        self.assertEqual(len(self.relay_log()), n)

    def test_open_stop_and_set_position(self):
        self.open_fully()
        up = self.on_periods(0)
        self.assertEqual(len(up), 1)
        # from an unknown position: the full run time
        self.assertGreaterEqual(up[0][1] - up[0][0], RUN_S - 0.05)
        self.assertLess(up[0][1] - up[0][0], RUN_S + fbtest.slack(1.0))
        # close, and stop about half way
        t0 = self.send("blind", "CLOSE")
        self.state(lambda s: s["down"] == "ON", "down relay not on", since=t0)
        time.sleep(RUN_S / 2)
        t0 = self.send("blind", "STOP")
        s = self.state(lambda s: s["down"] == "OFF" and s["up"] == "OFF", "STOP: relays on",
                       since=t0)
        s = self.state(lambda s: s["blind"] is not None and 0 < s["blind"] < 100,
                       "no position between the ends after STOP", since=t0)
        down = self.on_periods(1)
        ran = down[-1][1] - down[-1][0]
        expect = round(100 - ran / RUN_S * 100)
        self.assertLessEqual(abs(s["blind"] - expect), 3, (s["blind"], ran))
        self.assertEqual(self.slave.coils(1, 0, 2), [False, False])
        # set_position: the proportional time from the estimate
        pos = s["blind"]
        target = min(pos + 30, 95)
        t0 = self.send("blind", str(target))
        self.state(lambda s: s["up"] == "ON", "set_position did not start", since=t0)
        self.state(lambda s: s["blind"] == target and s["up"] == "OFF",
                   "set_position did not end at its target", since=t0, timeout=RUN_S + 10)
        up = self.on_periods(0)
        ran = up[-1][1] - up[-1][0]
        want = (target - pos) / 100 * RUN_S
        self.assertGreaterEqual(ran, want - 0.05, (ran, want))
        self.assertLess(ran, want + fbtest.slack(1.0), (ran, want))
        self.assert_never_both_on()

    def test_reversal_rests_and_never_both_on(self):
        self.open_fully()
        t0 = self.send("blind", "CLOSE")
        self.state(lambda s: s["down"] == "ON", "down relay not on", since=t0)
        time.sleep(0.5)
        t0 = self.send("blind", "OPEN")  # reverse while running
        self.state(lambda s: s["up"] == "ON", "the reversed run did not start", since=t0)
        self.state(lambda s: s["blind"] == 100 and s["up"] == "OFF" and s["down"] == "OFF",
                   "the reversed run did not end open", since=t0, timeout=RUN_S + 10)
        log = self.relay_log()
        down_off = [t for t, c, v in log if c == 1 and not v][-1]
        up_on = [t for t, c, v in log if c == 0 and v][-1]
        self.assertGreater(up_on, down_off, log)
        self.assertGreaterEqual(up_on - down_off, PAUSE_MS / 1000 - 0.02,
                                "no rest before reversing")
        self.assert_never_both_on()

    def test_register_bits_cover(self):
        self.assertTrue(fbtest.wait_for(
            lambda: self.slave.get_registers(1, "hr", 6, 1) == [0x0100],
            fbtest.slack(10), 0.05), "register bits not cleared at start")
        self.send("awning", "OPEN")
        self.assertTrue(fbtest.wait_for(
            lambda: self.slave.get_registers(1, "hr", 6, 1) == [0x0101],
            fbtest.slack(5), 0.01), "open bit not set")
        self.state(lambda s: s["awning"] == 100 and s["up2"] == "OFF",
                   "awning did not end open", timeout=10)
        self.assertEqual(self.slave.get_registers(1, "hr", 6, 1), [0x0100])
        t0 = self.send("awning", "CLOSE")
        self.state(lambda s: s["down2"] == "ON", "close bit not set", since=t0)
        self.state(lambda s: s["awning"] == 0 and s["down2"] == "OFF",
                   "awning did not end closed", since=t0, timeout=10)
        self.assertEqual(self.slave.get_registers(1, "hr", 6, 1), [0x0100])


if __name__ == "__main__":
    fbtest.main(tools=fbtest.MQTT_TOOLS)
