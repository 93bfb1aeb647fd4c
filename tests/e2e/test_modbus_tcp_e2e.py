#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""End to end over real processes on 127.0.0.1: a pymodbus TCP slave (an
SDM120-like meter that changes its values, and an 8-coil relay board),
mosquitto, fieldbridge-modbus, fieldbridge-export, and mosquitto_sub /
mosquitto_pub as Home Assistant's side."""

import json
import os
import time

import fbtest
import gateway

POLL_MS = 500
SDM_POINTS = {  # key -> input register address (float32, ABCD)
    "voltage": 0x0000, "current": 0x0006, "active_power": 0x000C,
    "apparent_power": 0x0012, "reactive_power": 0x0018, "power_factor": 0x001E,
    "frequency": 0x0046, "import_energy": 0x0048, "export_energy": 0x004A,
    "total_energy": 0x0156,
}
RELAYS = [f"relay_{i}" for i in range(1, 9)]


class ModbusTcpE2E(fbtest.TestCase):
    def setUp(self):
        super().setUp()
        self.broker = fbtest.Broker(self.procs, self.tmp)
        self.slave = fbtest.ModbusSlave(self.procs, {1: "sdm120", 2: "relay8"},
                                        changing=True, period=0.3)
        self.gw = gateway.Gateway(self.procs, self.tmp, self.broker, buses=[
            gateway.tcp_bus(self.slave.port, [
                gateway.device("meter", "eastron-sdm120", 1, name="Main meter", area="Garage"),
                gateway.device("relays", "waveshare-relay-8ch", 2, name="Relay board"),
            ], poll_interval_ms=POLL_MS)])
        self.node = self.gw.node_id()
        self.base = self.gw.base()
        self.sub = fbtest.Subscriber(self.broker, ["homeassistant/#", "fieldbridge/#"])

    def start_gateway(self):
        self.gw.start_driver()
        self.gw.start_exporter()
        # Unchecked, a slow start let a test go on and fail later with a
        # misleading message.
        self.assertIsNotNone(self.sub.wait_message(f"{self.base}/meter/state",
                                                   timeout=fbtest.slack(15)),
                             "no state within the start-up time")
        # The first state comes before the first poll (null values, meter
        # offline).  A test that killed the driver then saw no "offline":
        # the meter never was online.  Started means the meter is online.
        avail = f"{self.base}/meter/availability"
        self.assertIsNotNone(self.sub.wait_message(
            lambda m: m.topic == avail and m.payload == "online", timeout=fbtest.slack(15)),
            "the meter did not come online")

    def latest_state(self, dev):
        return self.sub.latest(f"{self.base}/{dev}/state").json()

    # ---------------------------------------------------------------- discovery
    def test_discovery_configs_are_complete(self):
        self.start_gateway()
        meter = self.sub.wait_message(
            f"homeassistant/device/{self.node}_meter/config", timeout=10)
        relays = self.sub.wait_message(
            f"homeassistant/device/{self.node}_relays/config", timeout=10)
        gw = self.sub.wait_message(f"homeassistant/device/{self.node}/config", timeout=10)
        retained = fbtest.retained_snapshot(self.broker, "homeassistant/#")
        for msg in (meter, relays, gw):
            self.assertEqual(retained.get(msg.topic), msg.payload, f"{msg.topic} not retained")
            doc = msg.json()
            self.assertNotIn("object_id", msg.payload)
            self.assertEqual(doc["o"]["name"], "fieldbridge")
            self.assertTrue(doc["dev"]["ids"])
            self.assertTrue(doc["availability"])
            for key, c in doc["cmps"].items():
                self.assertIn("p", c)
                self.assertTrue(c["unique_id"].startswith(self.node), c["unique_id"])
        # every unique_id is unique across the gateway
        ids = [c["unique_id"] for m in (meter, relays, gw) for c in m.json()["cmps"].values()]
        self.assertEqual(len(ids), len(set(ids)))

        doc = meter.json()
        self.assertEqual(doc["dev"]["mf"], "Eastron")
        self.assertEqual(doc["dev"]["mdl"], "SDM120-Modbus")
        self.assertEqual(doc["dev"]["name"], "Main meter")
        self.assertEqual(doc["dev"]["sa"], "Garage")
        self.assertEqual(doc["dev"]["via_device"], self.node)
        self.assertEqual(doc["availability_mode"], "all")
        self.assertEqual([a["topic"] for a in doc["availability"]],
                         [f"{self.base}/status", f"{self.base}/meter/availability"])
        self.assertEqual(doc["state_topic"], f"{self.base}/meter/state")
        # plus the driver's statistics as diagnostic entities
        diag = {k for k in doc["cmps"] if k.startswith("_diag_")}
        self.assertEqual(set(doc["cmps"]) - diag, set(SDM_POINTS))
        self.assertIn("_diag_requests", diag)
        for k in diag:
            self.assertEqual(doc["cmps"][k]["entity_category"], "diagnostic")
        v = doc["cmps"]["voltage"]
        self.assertEqual((v["p"], v["device_class"], v["unit_of_measurement"], v["state_class"]),
                         ("sensor", "voltage", "V", "measurement"))
        self.assertEqual(v["value_template"], "{{ value_json.voltage }}")
        e = doc["cmps"]["import_energy"]
        self.assertEqual((e["device_class"], e["unit_of_measurement"], e["state_class"]),
                         ("energy", "kWh", "total_increasing"))
        for c in doc["cmps"].values():
            self.assertNotIn("command_topic", c)  # read-only meter

        doc = relays.json()
        self.assertEqual({k for k in doc["cmps"] if not k.startswith("_diag_")},
                         set(RELAYS))
        r = doc["cmps"]["relay_3"]
        self.assertEqual(r["p"], "switch")
        self.assertEqual(r["command_topic"], f"{self.base}/relays/relay_3/set")

    # ---------------------------------------------------------------- state
    def test_state_equals_slave_registers(self):
        self.slave.freeze()
        self.start_gateway()
        self.sub.wait_quiet(quiet=POLL_MS / 1000 * 2.5, timeout=10)
        expected = {k: self.slave.get_float(1, "ir", a) for k, a in SDM_POINTS.items()}
        state = self.latest_state("meter")
        self.assertEqual(state["node"], self.node)
        self.assertTrue(state["event_id"])
        self.assertLess(abs(state["ts"] - time.time() * 1000), 60_000)
        for key, value in expected.items():
            # float32 on the wire: compare at float32 precision
            self.assertAlmostEqual(state[key], value, delta=abs(value) * 1e-6 + 1e-6, msg=key)
        relays = self.latest_state("relays")
        self.assertEqual([relays[r] for r in RELAYS], ["OFF"] * 8)
        # every state message has its own event id
        ids = [m.json()["event_id"] for m in self.sub.messages(f"{self.base}/+/state")]
        self.assertEqual(len(ids), len(set(ids)))

    def test_slave_change_reaches_mqtt_within_one_poll_interval(self):
        self.slave.freeze()
        self.start_gateway()
        self.sub.wait_quiet(quiet=POLL_MS / 1000 * 2.5, timeout=10)
        t0 = time.monotonic()
        self.slave.set_float(1, "ir", SDM_POINTS["voltage"], 241.25)
        t_set = time.monotonic()
        msg = self.sub.wait_message(
            lambda m: m.topic == f"{self.base}/meter/state" and m.json()["voltage"] == 241.25,
            timeout=5, since=t0)
        self.assertIsNotNone(msg, "new voltage never published")
        # The bound is split at the slave's own clock: the driver reads the
        # register within one poll interval of the change, and the message
        # reaches MQTT shortly after the read that carried the new value
        # (the first one after the change, or an earlier one).
        voltage = SDM_POINTS["voltage"]
        read = self.slave.wait_request(
            lambda e: e["unit"] == 1 and e["fc"] == 4 and
            e["address"] <= voltage < e["address"] + e["count"], timeout=5, since=t_set)
        self.assertIsNotNone(read, "the driver stopped reading the voltage")
        self.assertLessEqual(read["t"] - t_set, POLL_MS / 1000 + fbtest.slack(0.1),
                             "the register was not read within one poll interval")
        self.assertLessEqual(msg.t - read["t"], fbtest.slack(0.3),
                             "the new value took too long from the read to MQTT")

    # ---------------------------------------------------------------- commands
    def test_command_switches_coil_and_publishes_confirmed_state(self):
        self.start_gateway()
        t0 = time.monotonic()
        fbtest.publish(self.broker, f"{self.base}/relays/relay_3/set", "ON")
        self.assertTrue(fbtest.wait_for(lambda: self.slave.coils(2)[2] is True, 5),
                        "coil 3 not switched on the slave")
        msg = self.sub.wait_message(
            lambda m: m.topic == f"{self.base}/relays/state" and m.json()["relay_3"] == "ON",
            timeout=5, since=t0)
        self.assertIsNotNone(msg)
        writes = self.slave.writes(unit=2)
        self.assertEqual(len(writes), 1)
        self.assertEqual((writes[0]["fc"], writes[0]["address"]), (5, 2))
        # and off again, as a container command
        fbtest.publish(self.broker, f"{self.base}/relays/relay_3/set",
                       json.dumps({"value": "OFF", "event_id": "e2e-1", "ts": int(time.time() * 1000)}))
        self.assertTrue(fbtest.wait_for(lambda: self.slave.coils(2)[2] is False, 5))
        self.assertEqual(self.slave.coils(2), [False] * 8)

    def test_command_on_read_only_point_never_reaches_the_slave(self):
        self.start_gateway()
        fbtest.publish(self.broker, f"{self.base}/meter/voltage/set", "1")
        fbtest.publish(self.broker, f"{self.base}/relays/relay_1/set", "maybe")
        err = self.gw.exporters["ha"].stderr_text
        self.assertTrue(fbtest.wait_for(
            lambda: "command for voltage refused: point is read-only" in err() and
            "command for relay_1 refused: invalid value" in err(), 10), err())
        # A valid command sent after them reaching the coil shows the refused
        # ones had their chance to reach the slave too.
        fbtest.publish(self.broker, f"{self.base}/relays/relay_2/set", "ON")
        self.assertTrue(fbtest.wait_for(lambda: self.slave.coils(2)[1] is True, 5))
        self.assertEqual([(w["unit"], w["address"]) for w in self.slave.writes()], [(2, 1)])

    def test_retained_command_is_cleared_not_executed(self):
        fbtest.publish(self.broker, f"{self.gw.base()}/relays/relay_5/set", "ON", retain=True)
        self.start_gateway()
        self.assertTrue(fbtest.wait_for(
            lambda: not fbtest.retained_snapshot(self.broker, f"{self.base}/+/+/set"), 5))
        self.assertEqual(self.slave.writes(), [])

    # ---------------------------------------------------------------- availability
    def test_slave_stop_takes_device_offline_and_back(self):
        self.start_gateway()
        avail = f"{self.base}/meter/availability"
        # Devices start offline until their first poll answers.
        self.assertIsNotNone(self.sub.wait_message(
            lambda m: m.topic == avail and m.payload == "online", timeout=5))
        t0 = time.monotonic()
        self.slave.stop()
        msg = self.sub.wait_message(lambda m: m.topic == avail and m.payload == "offline",
                                    timeout=10, since=t0)
        self.assertIsNotNone(msg, "device never went offline")
        self.assertEqual(fbtest.retained_snapshot(self.broker, avail).get(avail), "offline")
        # Three missed polls, plus slack for the pipeline behind them.
        self.assertLessEqual(msg.t - t0, 3 * POLL_MS / 1000 + fbtest.slack(0.3))
        t1 = time.monotonic()
        self.slave.start()
        msg = self.sub.wait_message(lambda m: m.topic == avail and m.payload == "online",
                                    timeout=40, since=t1)
        self.assertIsNotNone(msg, "device never came back online")

    def test_exporter_kill_publishes_lwt_offline(self):
        self.start_gateway()
        status = f"{self.base}/status"
        self.assertEqual(self.sub.latest(status).payload, "online")
        t0 = time.monotonic()
        self.gw.exporters["ha"].kill()
        msg = self.sub.wait_message(lambda m: m.topic == status and m.payload == "offline",
                                    timeout=10, since=t0)
        self.assertIsNotNone(msg, "no LWT")
        self.assertEqual(fbtest.retained_snapshot(self.broker, status).get(status), "offline")

    def test_driver_restart_is_reattached(self):
        self.start_gateway()
        avail = f"{self.base}/meter/availability"
        t0 = time.monotonic()
        self.gw.drivers["meters"].kill()
        msg = self.sub.wait_message(lambda m: m.topic == avail and m.payload == "offline",
                                    timeout=fbtest.slack(15), since=t0)
        self.assertIsNotNone(msg, "dead driver's devices not taken offline")
        t1 = time.monotonic()
        self.gw.start_driver()
        msg = self.sub.wait_message(lambda m: m.topic == avail and m.payload == "online",
                                    timeout=fbtest.slack(15), since=t1)
        self.assertIsNotNone(msg, "restarted driver's devices not back online")
        self.assertIsNotNone(self.sub.wait_message(f"{self.base}/meter/state",
                                                   timeout=fbtest.slack(5), since=t1))
        self.assertRegex(self.gw.exporters["ha"].stderr_text(),
                         r"attached to state table generation 2")
        # commands flow through the new generation's queue
        fbtest.publish(self.broker, f"{self.base}/relays/relay_8/set", "ON")
        self.assertTrue(fbtest.wait_for(lambda: self.slave.coils(2)[7] is True,
                                        fbtest.slack(5)))

    def test_clean_stop_leaves_nothing_behind(self):
        self.start_gateway()
        shm = self.gw.table_path("meters")
        self.assertTrue(os.path.exists(shm))
        self.assertEqual(self.gw.drivers["meters"].stop(), 0)
        self.assertEqual(self.gw.exporters["ha"].stop(), 0)
        self.assertFalse(os.path.exists(shm), "driver left its shm segment behind")
        status = f"{self.base}/status"
        self.assertEqual(fbtest.retained_snapshot(self.broker, status).get(status), "offline")


if __name__ == "__main__":
    fbtest.main(tools=fbtest.MQTT_TOOLS)
