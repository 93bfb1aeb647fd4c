#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Components with a block in the definition (a dimmer light, cover, fan,
climate, text) over real processes: a pymodbus slave, fieldbridge-modbus,
fieldbridge-export, mosquitto.  For each, a command as Home Assistant
sends it goes MQTT -> register write -> read-back -> state; a payload out
of the point's range is refused with a log line and writes nothing; the
discovery payload carries the keys HA needs (research ha-discovery.md §12)
and the definition passes `fieldbridgectl definition check`."""

import json
import subprocess
import time

import fbtest
from device_case import CTL, DeviceCase


DEFINITION = {
    "manufacturer": "fieldbridge tests", "model": "Components 2", "protocol": "modbus",
    "points": [
        {"key": "dimmer", "name": "Dimmer", "table": "holding_register", "address": 0,
         "type": "uint16", "writable": True, "component": "light",
         "light": {"brightness_scale": 255}},
        {"key": "blind", "name": "Blind", "table": "holding_register", "address": 1,
         "type": "uint16", "scale": 0.1, "writable": True, "component": "cover",
         "device_class": "shutter", "cover": {"position_open": 100, "position_closed": 0}},
        {"key": "fan", "name": "Ventilation", "table": "holding_register", "address": 2,
         "type": "uint16", "writable": True, "component": "fan",
         "fan": {"off_value": 0, "speed_min": 1, "speed_max": 4, "on_value": 2,
                 "presets": {"9": "boost"}}},
        {"key": "room", "name": "Room", "table": "input_register", "address": 0,
         "type": "int16", "scale": 0.1, "unit": "°C", "device_class": "temperature",
         "state_class": "measurement"},
        {"key": "mode", "name": "Mode", "table": "holding_register", "address": 3,
         "type": "uint16", "writable": True, "component": "select",
         "options": {"0": "off", "1": "heat", "2": "cool", "3": "auto"}},
        {"key": "setpoint", "name": "Heat pump", "table": "holding_register", "address": 4,
         "type": "int16", "scale": 0.1, "unit": "°C", "writable": True,
         "component": "climate", "min": 10, "max": 28, "step": 0.5,
         "climate": {"current_temperature": "room", "mode": "mode"}},
        {"key": "label", "name": "Label", "table": "holding_register", "address": 10,
         "type": "string", "length": 4, "writable": True, "component": "text",
         "text": {"pattern": "[A-Z0-9 ]*"}},
    ],
}


class ComponentsExtE2E(DeviceCase):
    DEFINITION = DEFINITION
    DEFINITION_NAME = "test-components-ext"

    def prime(self):
        self.slave.set_registers(1, "ir", 0, [215])          # 21.5 °C
        self.slave.set_registers(1, "hr", 3, [1, 200])       # heat, 20.0 °C

    def command(self, key, payload, pred, what):
        """Publishes a command and waits for the read-back in the state."""
        return self.state(pred, what, self.send(key, payload))

    def container(self, value):
        return json.dumps({"value": value, "event_id": f"e2e-{time.monotonic_ns()}",
                           "ts": int(time.time() * 1000)})

    def refused(self, key, payload, reg, count=1):
        """A payload outside the point's range: a log line, no write."""
        before = self.slave.get_registers(1, "hr", reg, count)
        n = self.exporter.stderr_text().count(f"command for {key} refused")
        fbtest.publish(self.broker, f"{self.base}/c/{key}/set", payload)
        ok = fbtest.wait_for(lambda: self.exporter.stderr_text().count(
            f"command for {key} refused: invalid value") > n, fbtest.slack(5), 0.05)
        self.assertTrue(ok, f"no refusal logged for {key} {payload!r}")
        time.sleep(0.5)  # a write, had there been one, would be done by now
        self.assertEqual(self.slave.get_registers(1, "hr", reg, count), before)

    def test_definition_check_and_discovery_keys(self):
        r = subprocess.run([CTL, "definition", "check", self.def_path],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("warning", r.stdout + r.stderr)
        doc = self.sub.wait_message(f"homeassistant/device/{self.node}_c/config",
                                    timeout=fbtest.slack(10)).json()
        cmps, st = doc["cmps"], f"{self.base}/c/state"
        d = cmps["dimmer"]
        self.assertEqual((d["p"], d["brightness_scale"], d["brightness_state_topic"],
                          d["brightness_command_topic"]),
                         ("light", 255, st, f"{self.base}/c/dimmer/set"))
        c = cmps["blind"]
        self.assertEqual((c["p"], c["device_class"], c["position_topic"],
                          c["set_position_topic"], c["position_open"], c["position_closed"]),
                         ("cover", "shutter", st, f"{self.base}/c/blind/set", 100, 0))
        self.assertIsNone(c["payload_stop"])
        f = cmps["fan"]
        self.assertEqual((f["p"], f["speed_range_min"], f["speed_range_max"],
                          f["preset_modes"]), ("fan", 1, 4, ["boost"]))
        for k in ("command_topic", "percentage_command_topic", "preset_mode_command_topic"):
            self.assertEqual(f[k], f"{self.base}/c/fan/set")
        h = cmps["setpoint"]
        self.assertEqual((h["p"], h["temperature_unit"], h["min_temp"], h["max_temp"],
                          h["temp_step"], h["modes"], h["mode_command_topic"]),
                         ("climate", "C", 10, 28, 0.5, ["off", "heat", "cool", "auto"],
                          f"{self.base}/c/mode/set"))
        self.assertNotIn("command_topic", h)
        t = cmps["label"]
        self.assertEqual((t["p"], t["min"], t["max"], t["pattern"]),
                         ("text", 0, 8, "[A-Z0-9 ]*"))
        s = self.sub.latest(st).json()
        self.assertEqual((s["room"], s["mode"], s["setpoint"]), (21.5, "heat", 20.0))

    def test_dimmer_round_trip_and_refusal(self):
        # HA (on_command_type brightness) sends the level to the same topic
        self.command("dimmer", "128", lambda s: s["dimmer"] == 128, "level 128 not read back")
        self.assertEqual(self.slave.get_registers(1, "hr", 0, 1), [128])
        self.command("dimmer", "OFF", lambda s: s["dimmer"] == 0, "OFF not read back")
        self.command("dimmer", "ON", lambda s: s["dimmer"] == 255, "ON = full not read back")
        self.refused("dimmer", "256", 0)

    def test_cover_round_trip_and_refusal(self):
        # position 0..100 % held as 0.1 % counts in the register
        self.command("blind", "40", lambda s: s["blind"] == 40, "position not read back")
        self.assertEqual(self.slave.get_registers(1, "hr", 1, 1), [400])
        self.command("blind", "OPEN", lambda s: s["blind"] == 100, "OPEN not read back")
        self.assertEqual(self.slave.get_registers(1, "hr", 1, 1), [1000])
        self.command("blind", "CLOSE", lambda s: s["blind"] == 0, "CLOSE not read back")
        # the device moving on its own shows too (the state is read, not echoed)
        t0 = time.monotonic()
        self.slave.set_registers(1, "hr", 1, [655])
        self.state(lambda s: s["blind"] == 65.5, "device-side position not published", t0)
        self.refused("blind", "101", 1)
        self.refused("blind", "STOP", 1)

    def test_fan_round_trip_and_refusal(self):
        self.command("fan", "ON", lambda s: s["fan"] == 2, "ON (on_value 2) not read back")
        self.command("fan", "4", lambda s: s["fan"] == 4, "speed 4 not read back")
        self.command("fan", "boost", lambda s: s["fan"] == 9, "preset not read back")
        self.assertEqual(self.slave.get_registers(1, "hr", 2, 1), [9])
        self.command("fan", "OFF", lambda s: s["fan"] == 0, "OFF not read back")
        self.refused("fan", "5", 2)
        self.refused("fan", "9", 2)  # a preset only by its name

    def test_climate_round_trip_and_refusal(self):
        self.command("setpoint", self.container(22.5), lambda s: s["setpoint"] == 22.5,
                     "setpoint not read back")
        self.assertEqual(self.slave.get_registers(1, "hr", 4, 1), [225])
        # the mode goes to the mode point's topic (HA's mode_command_template)
        self.command("mode", self.container("cool"), lambda s: s["mode"] == "cool",
                     "mode not read back")
        self.assertEqual(self.slave.get_registers(1, "hr", 3, 1), [2])
        self.refused("setpoint", self.container(28.5), 4)
        self.refused("setpoint", self.container(9.5), 4)

    def test_text_round_trip_and_refusal(self):
        self.command("label", self.container("ROOM 12"), lambda s: s["label"] == "ROOM 12",
                     "text not read back")
        self.assertEqual(self.slave.get_registers(1, "hr", 10, 4),
                         [0x524F, 0x4F4D, 0x2031, 0x3200])
        self.refused("label", self.container("lower"), 10, 4)     # the pattern
        self.refused("label", self.container("NINE CHAR"), 10, 4)  # 9 > 8 characters


if __name__ == "__main__":
    fbtest.main(tools=fbtest.MQTT_TOOLS)
