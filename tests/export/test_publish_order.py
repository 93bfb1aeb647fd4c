#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""What fieldbridge-export sends, in which order, when everything goes out
again: at link up and after Home Assistant's birth every discovery config
precedes the first device state (a state Home Assistant cannot place yet
is lost), and a forced re-publish does not log availability again.
The order also holds when the broker stops reading in the middle of the
discovery burst: the states changed meanwhile wait for the last config."""

import json
import os
import time
import unittest

import fbtest
import gateway
import scenario
from mqttproxy import MqttProxy

DEVICES = ("relays", "panel")


class PublishOrder(fbtest.TestCase):
    def setUp(self):
        super().setUp()
        self.broker = fbtest.Broker(self.procs, self.tmp)
        self.sc = scenario.ExportScenario(self, self.broker, {"port": self.broker.port})

    def wait_states(self, since=None):
        for dev in DEVICES:
            self.assertIsNotNone(
                self.sc.sub.wait_message(f"{self.sc.base}/{dev}/state", timeout=15, since=since),
                f"no state for {dev}:\n" + self.sc.log()[-3000:])

    def assert_configs_before_states(self, since=None):
        """From the first discovery config received at/after `since` (the
        start of a burst: states before it belong to the steady state)."""
        msgs = self.sc.sub.messages(since=since)
        topics = [m.topic for m in msgs]
        configs = [self.sc.config_topic()] + [self.sc.config_topic(d) for d in DEVICES]
        start = min(topics.index(c) for c in configs if c in topics)
        topics = topics[start:]
        states = [f"{self.sc.base}/{d}/state" for d in DEVICES]
        first_state = min(topics.index(t) for t in states if t in topics)
        for c in configs:
            self.assertIn(c, topics, f"{c} not published")
            self.assertLess(topics.index(c), first_state,
                            f"{c} came after a device state: {topics}")

    def test_link_up_sends_every_config_before_any_state(self):
        self.sc.start()
        self.wait_states()
        self.assert_configs_before_states()

    def test_birth_sends_every_config_before_any_state(self):
        self.sc.start()
        self.wait_states()
        t0 = time.monotonic()
        fbtest.publish(self.broker, f"{self.sc.prefix}/status", "online")
        cfg = self.sc.sub.wait_message(self.sc.config_topic(), timeout=10, since=t0)
        self.assertIsNotNone(cfg, "discovery not re-published after the birth message")
        self.wait_states(since=cfg.t)
        self.assert_configs_before_states(since=t0)

    def test_forced_republish_logs_availability_only_once(self):
        self.sc.start()
        avail = f"{self.sc.base}/relays/availability"
        self.assertIsNotNone(self.sc.sub.wait_message(
            lambda m: m.topic == avail and m.payload == "online", timeout=15))
        t0 = time.monotonic()
        fbtest.publish(self.broker, f"{self.sc.prefix}/status", "online")
        # The witness that the forced re-publish happened: availability sent again.
        self.assertIsNotNone(self.sc.sub.wait_message(
            lambda m: m.topic == avail and m.payload == "online", timeout=10, since=t0))
        self.assertEqual(self.sc.log().count("device relays: online"), 1, self.sc.log()[-3000:])


# Enough discovery to fill the exporter's socket and more: 16 devices
# of 2000 points, each config some 400 kB (a loopback socket's send
# buffer grows to 2.5 MB or more on its own).
WIDE_DEVICES = 16
WIDE_POINTS = 2000
READS_PER_POLL = -(-WIDE_POINTS // 125)   # a device's requests (125 registers at most)


def write_wide_definition(folder):
    points = [{"key": f"r{i:04d}", "name": f"Register {i}", "table": "holding_register",
               "address": i, "type": "uint16", "state_class": "measurement"}
              for i in range(WIDE_POINTS)]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "fbtest-wide.json"), "w") as f:
        json.dump({"manufacturer": "fieldbridge tests", "model": "Wide",
                   "protocol": "modbus", "points": points}, f)


class PublishOrderBackPressured(fbtest.TestCase):
    def test_states_wait_while_the_broker_stops_reading_mid_discovery(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        proxy = MqttProxy(broker.port, puback_delay=0, hold=True)
        self.addCleanup(proxy.close)
        units = list(range(1, WIDE_DEVICES + 1))
        slave = fbtest.ModbusSlave(self.procs, {u: "full" for u in units})
        defs = os.path.join(self.tmp, "definitions")
        write_wide_definition(defs)
        devices = [gateway.device(f"wide{u}", "fbtest-wide", u) for u in units]
        gw = gateway.Gateway(self.procs, self.tmp, broker, buses=[
            gateway.tcp_bus(slave.port, devices, poll_interval_ms=5000,
                            response_timeout_ms=2000)],
            definition_dirs=[defs], conn_extra={"port": proxy.port})
        prefix, base, node = "homeassistant", gw.base(), gw.node_id()
        sub = fbtest.Subscriber(broker, [f"{prefix}/device/#", f"{base}/#"], qos=2)
        gw.start_driver()
        self.assertTrue(fbtest.wait_for(
            lambda: "online" in gw.drivers["meters"].stderr_text()
            and len(slave.requests("read")) >= READS_PER_POLL * WIDE_DEVICES, 30),
            gw.drivers["meters"].log_tail())
        exporter = gw.start_exporter()
        self.assertTrue(fbtest.wait_for(lambda: "connected to" in exporter.stderr_text(), 20),
                        exporter.log_tail())
        # The broker reads nothing: the burst stops at the full socket and
        # has not ended a while later.
        self.assertFalse(fbtest.wait_for(
            lambda: "discovery published" in exporter.stderr_text(), fbtest.slack(2)),
            "the discovery burst ended although the broker read nothing "
            f"(the proxy read {proxy.bytes_from_client} bytes)")
        # A value changes while the configs wait; its device is dirty now.
        t_set = time.monotonic()
        slave.set_registers(1, "hr", 7, [4242])
        self.assertIsNotNone(slave.wait_request(
            lambda e: e["unit"] == 1 and e["kind"] == "read" and e["address"] == 0,
            timeout=10, since=t_set), "no poll of wide1 after the change")
        time.sleep(0.5)   # the poll's answer is in the table
        self.assertEqual(sub.messages(), [], "the broker got something while not reading")
        held = proxy.bytes_from_client
        proxy.release()
        self.assertTrue(fbtest.wait_for(
            lambda: f"discovery published for {WIDE_DEVICES} devices" in exporter.stderr_text(),
            30), exporter.log_tail())
        state1 = f"{base}/wide1/state"
        got = sub.wait_message(lambda m: m.topic == state1 and m.payload
                               and m.json().get("r0007") == 4242, timeout=20)
        self.assertIsNotNone(got, f"the changed value never came: {sub.latest(state1)}")
        for u in units:
            self.assertIsNotNone(sub.wait_message(f"{base}/wide{u}/state", timeout=20),
                                 f"no state for wide{u}")
        msgs = sub.messages()
        topics = [m.topic for m in msgs]
        configs = [f"{prefix}/device/{node}_wide{u}/config" for u in units]
        # (The gateway's own device goes first, its state right after its config.)
        states = {f"{base}/wide{u}/state" for u in units}
        first_state = min(i for i, t in enumerate(topics) if t in states)
        for c in configs:
            self.assertIn(c, topics, f"{c} not published")
            self.assertLess(topics.index(c), first_state,
                            f"{c} came after a device state: {topics[:40]}")
        # The hold was real: most of the burst was still in the exporter.
        total = sum(len(m.payload) for m in msgs if m.topic in configs)
        print(f"FIGURE discovery_bytes: {total}; read by the proxy while holding: {held}")
        self.assertLess(held, total / 2)


if __name__ == "__main__":
    fbtest.main(tools=fbtest.MQTT_TOOLS)
