# SPDX-License-Identifier: Apache-2.0
"""The export test scenario, parameterised by connection settings.

The same code runs for every way fieldbridge-export can reach a broker:
socket mode (plain, TLS, client certificates) here, and websocket mode
(ws://, wss://) in tests/ws/test_ws_export.py -- only the `conn` dict
differs:

    sc = scenario.ExportScenario(self, broker, {"port": broker.tls_port,
                                                "ssl": "on",
                                                "ssl_server_crt": broker.cafile})
    sc.start()
    sc.check_all()        # discovery, state, command round trip, birth
                          # re-publish, broker restart mid stream

`conn` is merged into the gateway's connection object (see
docs/configuration.md).  The test's own MQTT clients (mosquitto_sub/_pub)
always use the broker's plain listener, so what is under test is the
exporter's connection only.

Devices: "relays" (Waveshare 8-channel relay board, unit 2) and "panel"
(tests/export/devices/fbtest-panel.json, unit 3: a sensor, number, select,
button, switch and a diagnostic point) on one Modbus TCP slave.
"""

import json
import os
import time

import fbtest
import gateway

HERE = os.path.dirname(os.path.abspath(__file__))
TEST_DEVICES = os.path.join(HERE, "devices")
POLL_MS = 300
RELAYS = [f"relay_{i}" for i in range(1, 9)]
PANEL = ["counter", "setpoint", "mode", "reset", "lamp", "errors"]


def now_ms():
    return int(time.time() * 1000)


def container(value, event_id, ts=None):
    return json.dumps({"value": value, "event_id": event_id,
                       "ts": now_ms() if ts is None else ts})


class ExportScenario:
    """Broker-side view of one gateway export.  `tc` is the fbtest.TestCase
    (assertions, procs, tmp); `broker` an fbtest.Broker."""

    def __init__(self, tc, broker, conn=None, *, users=None, start_slave=True,
                 conn_name="ha", devices=None, prefix=None):
        self.tc = tc
        self.broker = broker
        self.conn = dict(conn or {})
        self.prefix = prefix or self.conn.get("discovery_prefix", "homeassistant")
        self.slave = fbtest.ModbusSlave(tc.procs, {2: "relay8", 3: "holding"},
                                        changing=False)
        devs = devices if devices is not None else [
            gateway.device("relays", "waveshare-relay-8ch", 2, name="Relay board"),
            gateway.device("panel", "fbtest-panel", 3, name="Panel"),
        ]
        self.gw = gateway.Gateway(tc.procs, tc.tmp, broker, buses=[
            gateway.tcp_bus(self.slave.port, devs, poll_interval_ms=POLL_MS)],
            definition_dirs=[TEST_DEVICES], conn_extra=self.conn, users=users)
        self.conn_name = conn_name
        self.node = self.gw.node_id()
        self.base = self.gw.base()
        self.sub = fbtest.Subscriber(broker, [f"{self.prefix}/#", "fieldbridge/#"], qos=2)

    # -- helpers -----------------------------------------------------------
    def exporter(self):
        return self.gw.exporters[self.conn_name]

    def log(self):
        return self.exporter().stderr_text()

    def config_topic(self, dev=None):
        return f"{self.prefix}/device/{self.node}{'_' + dev if dev else ''}/config"

    def state(self, dev):
        m = self.sub.latest(f"{self.base}/{dev}/state")
        return m.json() if m else None

    def wait_state(self, dev, pred, timeout=10, since=None):
        return self.sub.wait_message(
            lambda m: m.topic == f"{self.base}/{dev}/state" and m.payload and pred(m.json()),
            timeout=timeout, since=since)

    def start(self, driver=True, wait=True, timeout=20):
        if driver:
            self.gw.start_driver()
        self.gw.start_exporter(self.conn_name, debug=True)
        if wait:
            msg = self.sub.wait_message(f"{self.base}/+/state", timeout=timeout)
            self.tc.assertIsNotNone(msg, "no state published:\n" + self.log()[-3000:])
        return self

    def wait_connected(self, timeout=20):
        ok = fbtest.wait_for(lambda: "connected to" in self.log(), timeout)
        self.tc.assertTrue(ok, "exporter never connected:\n" + self.log()[-3000:])

    def table(self):
        """What the slave holds, as the exporter should publish it."""
        hr = self.slave.get_registers(3, "hr", 0, 5)
        return {
            "relays": {r: "ON" if c else "OFF" for r, c in zip(RELAYS, self.slave.coils(2))},
            "panel": {"counter": hr[0], "setpoint": round((hr[1] - (65536 if hr[1] > 32767 else 0)) * 0.1, 1),
                      "mode": {0: "Off", 1: "Heat", 2: "Cool"}.get(hr[2]),
                      "lamp": "ON" if self.slave.coils(3, 0, 1)[0] else "OFF",
                      "errors": hr[4]},
        }

    def assert_state_equals_table(self, timeout=10):
        def same():
            want = self.table()
            for dev, vals in want.items():
                st = self.state(dev)
                if not st:
                    return False
                for k, v in vals.items():
                    got = st.get(k)
                    if isinstance(v, float):
                        if got is None or abs(got - v) > 1e-6:
                            return False
                    elif got != v:
                        return False
            return True
        ok = fbtest.wait_for(same, timeout, 0.1)
        self.tc.assertTrue(ok, f"state != table: {self.table()} vs "
                               f"{ {d: self.state(d) for d in ('relays', 'panel')} }")

    def assert_retained_equals_table(self):
        snap = fbtest.retained_snapshot(self.broker, f"{self.base}/#", timeout=3, quiet=0.5)
        want = self.table()
        for dev, vals in want.items():
            doc = json.loads(snap[f"{self.base}/{dev}/state"])
            for k, v in vals.items():
                if isinstance(v, float):
                    self.tc.assertAlmostEqual(doc[k], v, places=5, msg=f"{dev}.{k}")
                else:
                    self.tc.assertEqual(doc[k], v, f"retained {dev}.{k}")
            self.tc.assertEqual(snap[f"{self.base}/{dev}/availability"], "online")
        self.tc.assertEqual(snap[f"{self.base}/status"], "online")

    # -- the checks --------------------------------------------------------
    def check_discovery(self):
        tc = self.tc
        panel = self.sub.wait_message(self.config_topic("panel"), timeout=10)
        relays = self.sub.wait_message(self.config_topic("relays"), timeout=10)
        gw = self.sub.wait_message(self.config_topic(), timeout=10)
        tc.assertIsNotNone(panel and relays and gw, "discovery missing")
        for m in (panel, relays, gw):
            tc.assertNotIn("object_id", m.payload)
            doc = m.json()
            tc.assertEqual(doc["o"]["name"], "fieldbridge")
            tc.assertEqual(doc["qos"], self.conn.get("qos", 0))
            for c in doc["cmps"].values():
                tc.assertTrue(c["unique_id"].startswith(self.node))
                if "command_topic" in c:
                    tc.assertTrue(c["command_topic"].startswith(self.base + "/"))
        snap = fbtest.retained_snapshot(self.broker, f"{self.prefix}/device/+/config")
        for m in (panel, relays, gw):
            tc.assertEqual(snap.get(m.topic), m.payload, "discovery must be retained")
        p = panel.json()
        tc.assertEqual(p["dev"]["via_device"], self.node)
        # _diag_* are the driver's statistics (diagnostics.c), always diagnostic
        tc.assertEqual({k for k in p["cmps"] if not k.startswith("_diag_")}, set(PANEL))
        for k, c in p["cmps"].items():
            if k.startswith("_diag_"):
                tc.assertEqual(c["entity_category"], "diagnostic", k)
        tc.assertEqual(p["cmps"]["errors"]["entity_category"], "diagnostic")
        tc.assertEqual(p["cmps"]["setpoint"]["p"], "number")
        tc.assertIn("event_id", p["cmps"]["setpoint"]["command_template"])
        tc.assertIn("event_id", p["cmps"]["reset"]["command_template"])
        tc.assertIn("event_id", p["cmps"]["mode"]["command_template"])
        tc.assertNotIn("command_topic", p["cmps"]["counter"])
        g = gw.json()
        tc.assertEqual(g["cmps"]["connected"]["entity_category"], "diagnostic")
        tc.assertIn("devices_online", g["cmps"])
        gs = self.sub.wait_message(f"{self.base}/gateway/state", timeout=5).json()
        tc.assertEqual(gs["connected"], "ON")
        fbtest.wait_for(lambda: self.sub.latest(f"{self.base}/gateway/state").json()
                        ["devices_online"] == 2, 10)
        tc.assertEqual(self.sub.latest(f"{self.base}/gateway/state").json()["devices_online"], 2)

    def check_state(self):
        self.assert_state_equals_table()
        st = self.state("panel")
        self.tc.assertEqual(st["node"], self.node)
        self.tc.assertTrue(st["event_id"])
        self.tc.assertLess(abs(st["ts"] - now_ms()), 60_000)
        self.tc.assertNotIn("reset", st)  # a button has no state
        ids = [m.json()["event_id"] for m in self.sub.messages(f"{self.base}/+/state") if m.payload]
        self.tc.assertEqual(len(ids), len(set(ids)), "event ids must be unique")

    def check_command_round_trip(self):
        t0 = time.monotonic()
        fbtest.publish(self.broker, f"{self.base}/relays/relay_2/set", "ON", qos=1)
        self.tc.assertTrue(fbtest.wait_for(lambda: self.slave.coils(2)[1] is True, 10),
                           "relay_2 not switched")
        self.tc.assertIsNotNone(self.wait_state("relays", lambda s: s["relay_2"] == "ON",
                                                since=t0), "confirmed state not published")
        fbtest.publish(self.broker, f"{self.base}/panel/setpoint/set",
                       container(21.5, f"rt-{os.getpid()}-sp"), qos=1)
        self.tc.assertTrue(fbtest.wait_for(
            lambda: self.slave.get_registers(3, "hr", 1, 1)[0] == 215, 10), "setpoint not written")
        self.tc.assertIsNotNone(self.wait_state("panel", lambda s: s["setpoint"] == 21.5, since=t0))
        snap = fbtest.retained_snapshot(self.broker, f"{self.base}/+/+/set")
        self.tc.assertEqual(snap, {}, "a command topic holds a retained message")

    def check_birth_republish(self):
        t0 = time.monotonic()
        fbtest.publish(self.broker, f"{self.prefix}/status", "online")
        cfg = self.sub.wait_message(self.config_topic("panel"), timeout=10, since=t0)
        self.tc.assertIsNotNone(cfg, "discovery not re-published after the birth message")
        st = self.sub.wait_message(f"{self.base}/panel/state", timeout=10, since=cfg.t)
        self.tc.assertIsNotNone(st, "states not re-published after discovery")
        return cfg.t - t0

    def check_broker_restart(self, kill=True):
        """Changes keep coming while the broker is down; afterwards the
        broker's retained state equals the table (persistence is off, so
        everything retained must come from the exporter again)."""
        self.broker.kill() if kill else self.broker.stop()
        for i, v in enumerate([True, False, True]):
            self.slave.set_coils(2, 4 + i, [v])
        self.slave.set_registers(3, "hr", 0, [4242])
        time.sleep(POLL_MS / 1000 * 3)
        self.broker.start()
        self.sub.wait_subscribed(count=2, timeout=15)
        ok = fbtest.wait_for(lambda: self.log().count("connected to") >= 2, 30)
        self.tc.assertTrue(ok, "exporter did not reconnect:\n" + self.log()[-2000:])
        fbtest.wait_for(lambda: self.state("panel") and self.state("panel").get("counter") == 4242, 10)
        time.sleep(0.5)
        self.assert_retained_equals_table()

    def check_all(self):
        self.check_discovery()
        self.check_state()
        self.check_command_round_trip()
        self.check_birth_republish()
        self.check_broker_restart()
