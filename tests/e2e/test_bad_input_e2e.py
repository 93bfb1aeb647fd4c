#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Bad input through the real daemons: a broken device definition disables
that device only; a broken configuration starts nothing and says exactly
what is wrong, with file and field."""

import os
import time

import fbtest
import gateway

BAD_DEFINITION = """// a meter whose second point is broken
{
  "manufacturer": "Acme", "model": "Broken meter", "protocol": "modbus",
  "points": [
    { "key": "voltage", "name": "Voltage", "table": "input_register", "address": 0,
      "type": "float32", "unit": "V", "device_class": "voltage", "state_class": "measurement" },
    { "key": "current", "name": "Current", "table": "input_register", "address": 70000,
      "type": "float32", "unit": "A", "device_class": "current" }
  ]
}
"""


class BadInputE2E(fbtest.TestCase):
    def test_bad_definition_disables_only_its_device(self):
        defs = os.path.join(self.tmp, "defs")
        os.makedirs(defs)
        bad_path = os.path.join(defs, "acme-broken.json")
        with open(bad_path, "w") as f:
            f.write(BAD_DEFINITION)
        broker = fbtest.Broker(self.procs, self.tmp)
        slave = fbtest.ModbusSlave(self.procs, {1: "sdm120", 2: "relay8", 3: "sdm120"})
        gw = gateway.Gateway(self.procs, self.tmp, broker, definition_dirs=[defs], buses=[
            gateway.tcp_bus(slave.port, [
                gateway.device("meter", "eastron-sdm120", 1),
                gateway.device("relays", "waveshare-relay-8ch", 2),
                gateway.device("broken", "acme-broken", 3),
            ])])
        expected = f"{bad_path}: points[1] (current).address: expected 0..65535, got 70000"

        check = gw.check("modbus")
        self.assertEqual(check.returncode, 1, check.stdout)
        self.assertIn(expected, check.stdout)
        self.assertIn("broken", check.stdout)

        sub = fbtest.Subscriber(broker, ["homeassistant/#", "fieldbridge/#"])
        gw.start_driver()
        gw.start_exporter()
        base = gw.base()
        self.assertIsNotNone(sub.wait_message(f"{base}/meter/state", timeout=15))
        self.assertIsNotNone(sub.wait_message(f"{base}/relays/state", timeout=5))
        fbtest.publish(broker, f"{base}/relays/relay_2/set", "ON")
        self.assertTrue(fbtest.wait_for(lambda: slave.coils(2)[1] is True, 5))
        time.sleep(0.5)
        self.assertEqual(sub.messages(f"homeassistant/device/{gw.node_id()}_broken/config"), [])
        self.assertEqual(sub.messages(f"{base}/broken/#"), [])
        for proc in (gw.drivers["meters"], gw.exporters["ha"]):
            self.assertTrue(proc.alive())
            self.assertIn(expected, proc.stderr_text())

    def test_invalid_config_starts_nothing_and_names_every_field(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        gw = gateway.Gateway(self.procs, self.tmp, broker, buses=[
            gateway.tcp_bus(1502, [gateway.device("meter", "eastron-sdm120", 1)])],
            conn_extra={"port": 70000, "qos": 3, "timeout_s": 7, "broker": "mqtt://127.0.0.1"})
        path = gw.config_path
        for binary, inst in (("modbus", ["--bus", "meters"]), ("export", ["--connection", "ha"])):
            check = gw.check(binary)
            self.assertEqual(check.returncode, 1)
            out = check.stdout
            self.assertIn(f"{path}: connections[0] (ha).port: expected 1..65535, got 70000", out)
            self.assertIn("connections[0] (ha).qos: expected", out)
            self.assertIn("connections[0] (ha).timeout_s:", out)
            self.assertIn("expected one of 0, 10, 15, 30, 60, 90, 120, 150, 180, 300, 600, 1200, 1800, 3600 (seconds), got 7", out)
            self.assertIn("connections[0] (ha).broker:", out)

        sub = fbtest.Subscriber(broker, ["#"])
        drv = gw.start_driver()
        exp = gw.start_exporter()
        self.assertEqual(drv.wait(10), 78)  # EX_CONFIG
        self.assertEqual(exp.wait(10), 78)
        self.assertIn("port: expected 1..65535, got 70000", exp.stderr_text())
        self.assertIn("nothing started", drv.stderr_text())
        self.assertFalse(os.path.exists(gw.table_path("meters")))
        time.sleep(0.3)
        self.assertEqual([m for m in sub.messages() if not m.topic.startswith("$SYS")], [])

    def test_syntax_error_gives_file_line_and_column(self):
        gw = gateway.Gateway(self.procs, self.tmp, None, buses=[])
        with open(gw.config_path, "w") as f:
            f.write('// comment lines count too\n{\n  "gateway": { "id": "x" },\n  "buses": [ oops ]\n}\n')
        check = gw.check("modbus")
        self.assertEqual(check.returncode, 1)
        self.assertRegex(check.stdout, rf"{gw.config_path}:4:\d+: invalid JSON")


if __name__ == "__main__":
    fbtest.main(tools=fbtest.MQTT_TOOLS)
