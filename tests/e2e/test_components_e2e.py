#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Home Assistant components beyond the first six (light, valve) and the
raw-request button, from a definition, over real processes: a pymodbus
slave, fieldbridge-modbus, fieldbridge-export, mosquitto.  The discovery
payload is checked against HA's rules for each component
(../shared/research/ha-discovery.md §12) and the definition against the
project's own (fieldbridgectl definition check, fb_model_check_ha); commands
go round trip: MQTT -> coil/register -> read back -> state."""

import json
import subprocess
import time

import fbtest
from device_case import CTL, DeviceCase


DEFINITION = {
    "manufacturer": "fieldbridge tests", "model": "Components", "protocol": "modbus",
    "points": [
        {"key": "lamp", "name": "Lamp", "table": "coil", "address": 0, "writable": True,
         "component": "light"},
        {"key": "strip", "name": "Strip", "table": "holding_register", "address": 3,
         "type": "uint16", "writable": True, "component": "light",
         "on_value": "0xAA", "off_value": "0x55"},
        {"key": "water", "name": "Water", "table": "coil", "address": 1, "writable": True,
         "component": "valve", "device_class": "water"},
        {"key": "energy", "name": "Energy", "table": "input_register", "address": 5,
         "type": "uint32", "order": "CDAB", "unit": "Wh", "device_class": "energy",
         "state_class": "total_increasing"},
        {"key": "energy_reset", "name": "Energy reset", "writable": True,
         "component": "button", "request": "42", "entity_category": "config"},
    ],
}


class ComponentsE2E(DeviceCase):
    DEFINITION = DEFINITION
    DEFINITION_NAME = "test-components"

    def prime(self):
        self.slave.set_registers(1, "hr", 3, [0x55])
        self.slave.set_registers(1, "ir", 5, [40, 0])

    def test_light_valve_and_raw_button_discovery_and_round_trip(self):
        r = subprocess.run([CTL, "definition", "check", self.def_path],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("warning", r.stdout + r.stderr)

        doc = self.sub.wait_message(f"homeassistant/device/{self.node}_c/config",
                                    timeout=10).json()
        cmps = doc["cmps"]
        self.assertEqual(doc["state_topic"], f"{self.base}/c/state")
        for key in ("lamp", "strip"):
            c = cmps[key]
            self.assertEqual(c["p"], "light")
            # basic schema: the state comes through state_value_template,
            # the commands are payload_on/off's defaults ON/OFF
            self.assertEqual(c["state_value_template"], f"{{{{ value_json.{key} }}}}")
            self.assertNotIn("value_template", c)
            self.assertEqual(c["command_topic"], f"{self.base}/c/{key}/set")
            self.assertNotIn("device_class", c)
        v = cmps["water"]
        self.assertEqual((v["p"], v["device_class"]), ("valve", "water"))
        self.assertEqual((v["payload_open"], v["payload_close"], v["state_open"],
                          v["state_closed"]), ("ON", "OFF", "ON", "OFF"))
        self.assertNotIn("reports_position", v)  # with it these keys are rejected
        self.assertEqual(v["value_template"], "{{ value_json.water }}")
        b = cmps["energy_reset"]
        self.assertEqual(b["p"], "button")
        self.assertIn("PRESS", b["command_template"])

        # the first state may come before the driver's first poll (nulls)
        def polled():
            m = self.sub.latest(f"{self.base}/c/state")
            return m is not None and m.json()["lamp"] is not None
        fbtest.wait_for(polled, timeout=10)
        st = self.sub.latest(f"{self.base}/c/state").json()
        self.assertEqual((st["lamp"], st["strip"], st["water"]), ("OFF", "OFF", "OFF"))
        self.assertNotIn("energy_reset", st)

        # light on a coil
        t0 = self.send("lamp", "ON")
        self.state(lambda s: s["lamp"] == "ON", "lamp ON never published", t0)
        self.assertEqual(self.slave.coils(1, 0, 2), [True, False])
        # light on a register with raw on/off values
        t0 = self.send("strip", "ON")
        self.state(lambda s: s["strip"] == "ON", "strip ON never published", t0)
        self.assertEqual(self.slave.get_registers(1, "hr", 3, 1), [0xAA])
        t0 = self.send("strip", "OFF")
        self.state(lambda s: s["strip"] == "OFF", "strip OFF never published", t0)
        self.assertEqual(self.slave.get_registers(1, "hr", 3, 1), [0x55])
        # valve: HA sends payload_open (ON)
        t0 = self.send("water", "ON")
        self.state(lambda s: s["water"] == "ON", "valve open never published", t0)
        self.assertEqual(self.slave.coils(1, 0, 2), [True, True])
        # raw button, pressed the way HA's command_template does it
        t0 = time.monotonic()
        fbtest.publish(self.broker, f"{self.base}/c/energy_reset/set",
                       json.dumps({"value": "PRESS", "event_id": "e2e-reset",
                                   "ts": int(time.time() * 1000)}))
        self.state(lambda s: s["energy"] == 0, "energy not reset", t0)
        self.assertEqual(len([e for e in self.slave.requests(unit=1) if e["fc"] == 0x42]), 1)


if __name__ == "__main__":
    fbtest.main(tools=fbtest.MQTT_TOOLS)
