#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fieldbridge-export behaviour beyond the connection: user rights, command
containers and duplicates, discovery (stale cleanup, birth), several
instances, reconnects and commands during a driver restart, --check."""

import json
import os
import re
import signal
import time

import fbtest
import scenario
from scenario import container

PANEL_READ_ONLY = {"*": "none", "relays": "write", "panel": "read"}


class Behaviour(fbtest.TestCase):
    def setUp(self):
        super().setUp()
        self.broker = fbtest.Broker(self.procs, self.tmp)

    def make(self, conn=None, **kw):
        c = {"port": self.broker.port}
        c.update(conn or {})
        return scenario.ExportScenario(self, self.broker, c, **kw)

    def expect_log(self, sc, pattern, timeout=10, count=1):
        ok = fbtest.wait_for(lambda: len(re.findall(pattern, sc.log())) >= count, timeout)
        self.assertTrue(ok, f"log lacks {count} x {pattern!r}:\n{sc.log()[-3000:]}")

    def barrier(self, sc, relay):
        """Switches relays/relay_<relay> on and waits for the slave to see
        the write.  Commands travel one broker link, one exporter and one
        driver queue in order, so once this one reached the hardware every
        command published before it had its chance to, and a check that
        nothing else was written has a positive witness."""
        t0 = time.monotonic()
        fbtest.publish(self.broker, f"{sc.base}/relays/relay_{relay}/set", "ON", qos=1)
        self.assertIsNotNone(sc.slave.wait_request(
            lambda e: e["kind"] == "write" and e["unit"] == 2 and e["address"] == relay - 1,
            timeout=10, since=t0), f"relay_{relay}: the witness command never arrived")

    def wait_online(self, sc):
        """The exporter has published the devices online: it saw the
        driver, so what happens after stopping the driver is about the
        stop (a driver stopped sooner may never be seen online at all)."""
        avail = f"{sc.base}/relays/availability"
        self.assertIsNotNone(sc.sub.wait_message(
            lambda m: m.topic == avail and m.payload == "online", timeout=fbtest.slack(15)),
            "the devices never came online")

    def wait_offline(self, sc, since):
        """The driver's heartbeat went stale: the exporter knows it is gone.
        Only an "offline" after the devices were seen online counts: the
        exporter can say "offline" at its start, before the driver's first
        heartbeat, and that one says nothing about the stopped driver."""
        avail = f"{sc.base}/relays/availability"
        online = sc.sub.wait_message(lambda m: m.topic == avail and m.payload == "online",
                                     timeout=15)
        self.assertIsNotNone(online, "the devices never came online")
        self.assertIsNotNone(sc.sub.wait_message(
            lambda m: m.topic == avail and m.payload == "offline", timeout=15,
            since=max(since, online.t)),
            "the stopped driver's devices never went offline")

    @staticmethod
    def writes_beside_barriers(sc):
        return [w for w in sc.slave.writes() if w["unit"] != 2]

    # -------------------------------------------------------------- users
    def test_check_fails_for_unknown_user(self):
        sc = self.make({"user": "ghost"}, users={"homeassistant": {"rights": {"*": "read"}}})
        r = sc.gw.check("export", "--connection", "ha")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn('connection (ha).user: expected a user defined in', r.stdout)
        self.assertIn('got "ghost"', r.stdout)
        sc.gw.write_users({"ghost": {"rights": {"*": "read"}}})
        r = sc.gw.check("export", "--connection", "ha")
        self.assertEqual(r.returncode, 0, r.stdout)
        # and the daemon refuses to start with a bad users file
        sc.gw.write_users({"homeassistant": {}})
        p = sc.gw.start_exporter()
        self.assertEqual(p.wait(10), 78)  # EX_CONFIG: not restarted

    def test_read_only_rights_no_command_topic_and_commands_refused(self):
        sc = self.make(users={"homeassistant": {"rights": PANEL_READ_ONLY}}).start()
        cfg = sc.sub.wait_message(sc.config_topic("panel"), timeout=10).json()
        for key, c in cfg["cmps"].items():
            self.assertNotIn("command_topic", c, key)
        self.assertNotIn("reset", cfg["cmps"], "a button needs write access")
        # Home Assistant rejects a number, select or switch without a
        # command_topic: each is its read-only counterpart
        self.assertEqual(cfg["cmps"]["setpoint"]["p"], "sensor")
        self.assertEqual(cfg["cmps"]["mode"]["p"], "sensor")
        self.assertEqual(cfg["cmps"]["mode"]["device_class"], "enum")
        self.assertEqual(cfg["cmps"]["lamp"]["p"], "binary_sensor")
        relays = sc.sub.wait_message(sc.config_topic("relays"), timeout=10).json()
        self.assertIn("command_topic", relays["cmps"]["relay_1"])
        sc.assert_state_equals_table()
        sc.slave.clear_requests()
        keys = ("setpoint", "lamp", "mode", "reset")
        for key, payload in zip(keys, (container(20, "ro-1"), "ON", "Heat",
                                       container("PRESS", "ro-2"))):
            fbtest.publish(self.broker, f"{sc.base}/panel/{key}/set", payload, qos=1)
        for key in keys:
            self.expect_log(sc, rf"command for {key} refused: user homeassistant may not write it")
        # relays are writable: the command reaches the slave, and is the
        # witness that the refused ones would have by now
        self.barrier(sc, 1)
        self.assertTrue(sc.slave.coils(2)[0])
        self.assertEqual(sc.slave.writes(unit=3), [], "a refused command reached the hardware")

    def test_no_rights_device_not_discovered_nor_published(self):
        users = {"homeassistant": {"rights": {"relays": "write", "relays/relay_8": "none"}}}
        sc = self.make(users=users).start()
        sc.sub.wait_message(sc.config_topic("relays"), timeout=10)
        # The panel is polled.  A relay switched on the slave after that shows
        # up in a relays state only once the exporter has handled the table's
        # earlier changes too, the panel's first values among them (withheld).
        self.assertIsNotNone(sc.slave.wait_request(
            lambda e: e["unit"] == 3 and e["kind"] == "read", timeout=10),
            "the panel was never polled")
        sc.slave.set_coils(2, 6, [True])
        self.assertIsNotNone(sc.wait_state("relays", lambda st: st.get("relay_7") == "ON"),
                             "relay_7 switched on the slave never published")
        self.assertIsNotNone(sc.sub.wait_message(f"{sc.base}/gateway/state", timeout=10))
        self.assertEqual(sc.sub.messages(sc.config_topic("panel")), [])
        self.assertEqual(sc.sub.messages(f"{sc.base}/panel/#"), [])
        st = sc.state("relays")
        self.assertNotIn("relay_8", st)
        cfg = sc.sub.latest(sc.config_topic("relays")).json()
        self.assertNotIn("relay_8", cfg["cmps"])
        gs = sc.sub.latest(f"{sc.base}/gateway/state").json()
        self.assertEqual(gs["devices_total"], 1)
        fbtest.publish(self.broker, f"{sc.base}/panel/lamp/set", "ON", qos=1)
        fbtest.publish(self.broker, f"{sc.base}/relays/relay_8/set", "ON", qos=1)
        self.expect_log(sc, r"command for lamp refused: user homeassistant may not write it")
        self.expect_log(sc, r"command for relay_8 refused: user homeassistant may not write it")
        self.barrier(sc, 1)
        self.assertEqual([(w["unit"], w["address"]) for w in sc.slave.writes()], [(2, 0)],
                         "a refused command reached the hardware")

    def test_sighup_removes_discovery_for_lost_rights(self):
        sc = self.make(users={"homeassistant": {"rights": {"*": "write"}}}).start()
        sc.check_discovery()
        t0 = time.monotonic()
        sc.gw.write_users({"homeassistant": {"rights": {"relays": "write", "relays/relay_2": "none",
                                                        "panel": "none"}}})
        sc.exporter().signal(signal.SIGHUP)
        gone = sc.sub.wait_message(lambda m: m.topic == sc.config_topic("panel") and m.payload == "",
                                   timeout=10, since=t0)
        self.assertIsNotNone(gone, "panel discovery not removed")
        relays = sc.sub.wait_message(sc.config_topic("relays"), timeout=10, since=t0).json()
        self.assertEqual(relays["cmps"]["relay_2"], {"p": "switch"}, "component not removed")
        snap = fbtest.retained_snapshot(self.broker, "#", timeout=3, quiet=0.5)
        self.assertNotIn(sc.config_topic("panel"), snap)
        self.assertNotIn(f"{sc.base}/panel/state", snap)
        self.assertNotIn("relay_2", json.loads(snap[f"{sc.base}/relays/state"]))
        fbtest.publish(self.broker, f"{sc.base}/panel/lamp/set", "ON", qos=1)
        self.expect_log(sc, r"command for lamp refused")
        # and back
        t1 = time.monotonic()
        sc.gw.write_users({"homeassistant": {"rights": {"*": "write"}}})
        sc.exporter().signal(signal.SIGHUP)
        self.assertIsNotNone(sc.sub.wait_message(
            lambda m: m.topic == sc.config_topic("panel") and m.payload, timeout=10, since=t1))

    def test_sighup_to_read_only_moves_a_switch_to_binary_sensor(self):
        sc = self.make(users={"homeassistant": {"rights": {"*": "write"}}}).start()
        sc.check_discovery()
        t0 = time.monotonic()
        sc.gw.write_users({"homeassistant": {"rights": {"*": "write", "relays/relay_1": "read"}}})
        sc.exporter().signal(signal.SIGHUP)
        topic = sc.config_topic("relays")
        # first the switch is removed under its own platform (HA keeps
        # an entity until then), then the key comes back as binary_sensor
        first = sc.sub.wait_message(topic, timeout=10, since=t0)
        self.assertIsNotNone(first, "no discovery after SIGHUP")
        self.assertEqual(first.json()["cmps"]["relay_1"], {"p": "switch"})
        self.assertTrue(fbtest.wait_for(
            lambda: sc.sub.latest(topic).json()["cmps"]["relay_1"].get("p") == "binary_sensor",
            timeout=10), sc.sub.latest(topic).json()["cmps"]["relay_1"])
        relay = sc.sub.latest(topic).json()["cmps"]["relay_1"]
        self.assertNotIn("command_topic", relay)
        self.assertEqual(relay["value_template"], "{{ value_json.relay_1 }}")
        self.assertIn("command_topic", sc.sub.latest(topic).json()["cmps"]["relay_2"])
        snap = fbtest.retained_snapshot(self.broker, "#", timeout=3, quiet=0.5)
        self.assertEqual(json.loads(snap[topic])["cmps"]["relay_1"]["p"], "binary_sensor")

    # -------------------------------------------------------------- containers
    def test_redelivered_qos1_container_runs_once(self):
        sc = self.make({"qos": 1}).start()
        sc.assert_state_equals_table()
        sc.slave.clear_requests()
        press = container("PRESS", f"press-{os.getpid()}")
        for _ in range(3):  # the identical container, as a QoS 1 redelivery
            fbtest.publish(self.broker, f"{sc.base}/panel/reset/set", press, qos=1)
        self.expect_log(sc, r"duplicate command press-\d+ for reset dropped", count=2)
        self.barrier(sc, 1)
        w = [e for e in sc.slave.writes(unit=3) if e["address"] == 3]
        self.assertEqual(len(w), 1, f"the hardware saw {len(w)} presses")
        # the same for a setpoint
        sp = container(12.5, f"sp-{os.getpid()}")
        fbtest.publish(self.broker, f"{sc.base}/panel/setpoint/set", sp, qos=1)
        fbtest.publish(self.broker, f"{sc.base}/panel/setpoint/set", sp, qos=1)
        self.assertTrue(fbtest.wait_for(lambda: sc.slave.get_registers(3, "hr", 1, 1)[0] == 125, 5))
        self.expect_log(sc, r"duplicate command sp-\d+ for setpoint dropped")
        self.barrier(sc, 2)
        self.assertEqual(len([e for e in sc.slave.writes(unit=3) if e["address"] == 1]), 1)

    def test_plain_button_press_refused(self):
        sc = self.make().start()
        fbtest.publish(self.broker, f"{sc.base}/panel/reset/set", "PRESS", qos=1)
        self.expect_log(sc, r"command for reset refused: a button press must be a container")
        self.barrier(sc, 1)
        self.assertEqual(sc.slave.writes(unit=3), [])

    def test_command_older_than_last_applied_dropped(self):
        sc = self.make().start()
        t = scenario.now_ms()
        fbtest.publish(self.broker, f"{sc.base}/panel/setpoint/set", container(20, "new", t), qos=1)
        self.assertTrue(fbtest.wait_for(lambda: sc.slave.get_registers(3, "hr", 1, 1)[0] == 200, 5))
        fbtest.publish(self.broker, f"{sc.base}/panel/setpoint/set",
                       container(10, "old", t - 5000), qos=1)
        self.expect_log(sc, r"command old for setpoint is older than the last applied one")
        self.barrier(sc, 1)
        self.assertEqual(sc.slave.get_registers(3, "hr", 1, 1)[0], 200)

    def test_plain_and_container_commands_for_every_component(self):
        sc = self.make().start()
        fbtest.publish(self.broker, f"{sc.base}/panel/lamp/set", "ON")
        fbtest.publish(self.broker, f"{sc.base}/panel/mode/set", "Cool")
        fbtest.publish(self.broker, f"{sc.base}/panel/setpoint/set", "22.5")
        self.assertTrue(fbtest.wait_for(lambda: sc.slave.coils(3, 0, 1)[0], 5))
        self.assertTrue(fbtest.wait_for(lambda: sc.slave.get_registers(3, "hr", 1, 2) == [225, 2], 5))
        fbtest.publish(self.broker, f"{sc.base}/panel/mode/set", container("Heat", "m-1"))
        self.assertTrue(fbtest.wait_for(lambda: sc.slave.get_registers(3, "hr", 2, 1) == [1], 5))
        sc.assert_state_equals_table()

    # -------------------------------------------------------------- discovery
    def test_stale_cleanup_at_startup(self):
        sc = self.make()
        node = sc.node
        # what an earlier run of this node left behind: a device no longer
        # configured, a component no longer defined, and another node's
        # config that must stay
        old_dev = {"dev": {"ids": [f"{node}_gone"], "name": "Gone", "via_device": node},
                   "state_topic": f"{sc.base}/gone/state",
                   "availability": [{"topic": f"{sc.base}/status"},
                                    {"topic": f"{sc.base}/gone/availability"}],
                   "cmps": {"x": {"p": "sensor", "unique_id": f"{node}_gone_x"}}}
        old_panel = {"dev": {"ids": [f"{node}_panel"], "name": "Panel", "via_device": node},
                     "cmps": {"counter": {"p": "sensor", "unique_id": "u1"},
                              "old_point": {"p": "sensor", "unique_id": "u2"}}}
        foreign = {"dev": {"ids": ["other_x"], "via_device": "other_node"}, "cmps": {}}
        fbtest.publish(self.broker, sc.config_topic("gone"), json.dumps(old_dev), retain=True)
        fbtest.publish(self.broker, f"{sc.base}/gone/state", '{"x": 1}', retain=True)
        fbtest.publish(self.broker, f"{sc.base}/gone/availability", "online", retain=True)
        fbtest.publish(self.broker, sc.config_topic("panel"), json.dumps(old_panel), retain=True)
        fbtest.publish(self.broker, "homeassistant/device/other_x/config", json.dumps(foreign),
                       retain=True)
        t0 = time.monotonic()
        sc.start()
        self.expect_log(sc, r"removing stale discovery .*_gone/config \(device no longer configured\)")
        # The clears and the panel's re-publication witness that the cleanup
        # ran, so another node's config still retained afterwards was spared.
        for topic in (sc.config_topic("gone"), f"{sc.base}/gone/state",
                      f"{sc.base}/gone/availability"):
            self.assertIsNotNone(sc.sub.wait_message(
                lambda m, t=topic: m.topic == t and m.payload == "", timeout=10, since=t0),
                f"{topic} not cleared")
        self.assertTrue(fbtest.wait_for(lambda: any(
            "old_point" in m.payload for m in sc.sub.messages(sc.config_topic("panel"),
                                                              since=t0)), 10))
        snap = fbtest.retained_snapshot(self.broker, "#", timeout=3, quiet=0.5)
        self.assertNotIn(sc.config_topic("gone"), snap)
        self.assertNotIn(f"{sc.base}/gone/state", snap)
        self.assertNotIn(f"{sc.base}/gone/availability", snap)
        self.assertIn("homeassistant/device/other_x/config", snap, "another node's config cleared")
        panel = json.loads(snap[sc.config_topic("panel")])
        self.assertEqual(panel["cmps"]["old_point"], {"p": "sensor"})
        self.assertIn("unique_id", panel["cmps"]["counter"])
        self.assertEqual(snap[f"{sc.base}/status"], "online")

    def test_stale_cleanup_removes_devices_no_longer_permitted(self):
        sc = self.make(users={"homeassistant": {"rights": {"*": "write"}}}).start()
        sc.sub.wait_message(sc.config_topic("panel"), timeout=10)
        sc.exporter().stop()
        sc.gw.write_users({"homeassistant": {"rights": {"relays": "write"}}})
        sc.start(driver=False)
        self.expect_log(sc, r"removing stale discovery .*_panel/config \(device no longer permitted\)")
        snap = {}

        def panel_gone():
            snap.update(fbtest.retained_snapshot(self.broker, "#", timeout=3, quiet=0.5))
            return not {sc.config_topic("panel"), f"{sc.base}/panel/state"} & set(snap)
        self.assertTrue(fbtest.wait_for(panel_gone, 10, 0.2), f"panel still retained: {snap}")
        self.assertIn(sc.config_topic("relays"), snap)

    def test_stale_cleanup_removes_a_platform_changed_while_down(self):
        sc = self.make(users={"homeassistant": {"rights": {"*": "write"}}}).start()
        topic = sc.config_topic("relays")
        sc.sub.wait_message(topic, timeout=10)
        sc.exporter().stop()
        sc.gw.write_users({"homeassistant": {"rights": {"*": "write", "relays/relay_1": "read"}}})
        t0 = time.monotonic()
        sc.start(driver=False)
        # the retained switch is removed under its platform, then relay_1
        # is published as the binary_sensor it is now
        self.assertIsNotNone(sc.sub.wait_message(
            lambda m: m.topic == topic and m.payload and
            json.loads(m.payload)["cmps"]["relay_1"] == {"p": "switch"}, timeout=10, since=t0),
            "the old switch was not removed")
        snap = {}

        def moved():
            snap.update(fbtest.retained_snapshot(self.broker, "#", timeout=3, quiet=0.5))
            return json.loads(snap[topic])["cmps"]["relay_1"].get("p") == "binary_sensor"
        self.assertTrue(fbtest.wait_for(moved, 10, 0.2), snap.get(topic))

    def test_birth_republishes_after_small_random_delay(self):
        sc = self.make().start()
        sc.sub.wait_message(sc.config_topic("panel"), timeout=10)
        delays = []
        for _ in range(3):
            sc.sub.wait_quiet(0.5, 5)
            delays.append(sc.check_birth_republish())
        for d in delays:
            self.assertGreaterEqual(d, 0.15, "re-published without a delay")
            self.assertLess(d, 3.0, "delay too long")
        # an "offline" birth topic changes nothing
        t0 = time.monotonic()
        fbtest.publish(self.broker, "homeassistant/status", "offline")
        # The exporter read the birth topic before the command behind it; a
        # re-publish it had scheduled would follow within the 1 s maximum.
        self.barrier(sc, 1)
        self.assertIsNone(sc.sub.wait_message(sc.config_topic("panel"), timeout=1.5, since=t0))

    def test_retained_command_is_cleared_never_executed(self):
        sc = self.make()
        fbtest.publish(self.broker, f"{sc.base}/panel/lamp/set", "ON", retain=True)
        sc.start()
        self.assertTrue(fbtest.wait_for(
            lambda: not fbtest.retained_snapshot(self.broker, f"{sc.base}/+/+/set"), 10))
        self.expect_log(sc, r"clearing retained command on \S+/panel/lamp/set")
        self.barrier(sc, 1)
        self.assertEqual(self.writes_beside_barriers(sc), [])

    # -------------------------------------------------------------- instances
    def test_two_instances_run_at_once_with_distinct_topics(self):
        broker2 = fbtest.Broker(self.procs, self.tmp, name="mosquitto-b")
        sc = self.make()
        sc.gw.config["connections"].append({"name": "second", "user": "homeassistant",
                                            "broker": "127.0.0.1", "port": broker2.port})
        sc.gw.write()
        r = sc.gw.check("export", "--connection", "second")
        self.assertEqual(r.returncode, 0, r.stdout)
        sub2 = fbtest.Subscriber(broker2, ["#"])
        sc.start()
        sc.gw.start_exporter("second")
        node2 = sc.gw.node_id("second")
        self.assertNotEqual(node2, sc.node)
        self.assertIsNotNone(sub2.wait_message(f"fieldbridge/{node2}/panel/state", timeout=15))
        self.assertIsNotNone(sub2.wait_message(f"homeassistant/device/{node2}_panel/config", 10))
        self.assertEqual(sub2.messages(f"fieldbridge/{sc.node}/#"), [])
        self.assertEqual(sc.sub.messages(f"fieldbridge/{node2}/#"), [])
        # commands through both
        fbtest.publish(self.broker, f"{sc.base}/relays/relay_1/set", "ON")
        fbtest.publish(broker2, f"fieldbridge/{node2}/relays/relay_2/set", "ON")
        self.assertTrue(fbtest.wait_for(lambda: sc.slave.coils(2)[:2] == [True, True], 10))
        # both ids' unique_ids differ
        a = sc.sub.latest(sc.config_topic("panel")).json()
        b = sub2.latest(f"homeassistant/device/{node2}_panel/config").json()
        self.assertFalse(set(c["unique_id"] for c in a["cmps"].values()) &
                         set(c["unique_id"] for c in b["cmps"].values()))

    def test_check_refuses_two_connections_to_one_broker_and_bad_broker(self):
        sc = self.make()
        sc.gw.config["connections"].append({"name": "dup", "user": "homeassistant",
                                            "broker": "127.0.0.1", "port": self.broker.port})
        sc.gw.config["connections"].append({"name": "scheme", "user": "homeassistant",
                                            "broker": "mqtt://127.0.0.1"})
        sc.gw.config["connections"].append({"name": "withport", "user": "homeassistant",
                                            "broker": "localhost:1883", "port": 1884})
        sc.gw.write()
        r = sc.gw.check("export")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stdout, r"\(dup\)\.broker: expected at most one export connection per broker")
        self.assertRegex(r.stdout, r"\(scheme\)\.broker: expected .*got \"mqtt://127\.0\.0\.1\"")
        self.assertRegex(r.stdout, r"\(withport\)\.broker: expected .*got \"localhost:1883\"")

    # -------------------------------------------------------------- reconnect
    def test_commands_during_driver_restart_are_executed(self):
        sc = self.make().start()
        sc.assert_state_equals_table()
        t0 = time.monotonic()
        sc.gw.drivers["meters"].kill()
        fbtest.publish(self.broker, f"{sc.base}/relays/relay_4/set", "ON", qos=1)
        self.wait_offline(sc, t0)
        fbtest.publish(self.broker, f"{sc.base}/relays/relay_5/set", "ON", qos=1)
        self.expect_log(sc, r"command .* for relay_5 waits: driver for bus meters is not running")
        self.assertEqual(sc.slave.writes(), [])
        sc.gw.start_driver()
        self.assertTrue(fbtest.wait_for(lambda: sc.slave.coils(2)[3:5] == [True, True], 15),
                        "queued commands not executed after the driver came back")
        sc.assert_state_equals_table()

    def test_commands_fail_loudly_when_driver_stays_away(self):
        sc = self.make().start()
        self.wait_online(sc)
        t0 = time.monotonic()
        sc.gw.drivers["meters"].stop()
        self.wait_offline(sc, t0)
        fbtest.publish(self.broker, f"{sc.base}/relays/relay_6/set", "ON", qos=1)
        self.expect_log(sc, r"for relay_6 waits")
        self.expect_log(sc, r"command .* for relay_6 failed: the driver did not come back within 30 s", 40)

    def test_clean_driver_restart_is_reattached(self):
        sc = self.make().start()
        sc.gw.drivers["meters"].stop()
        time.sleep(1)
        sc.gw.start_driver()
        t0 = time.monotonic()
        sc.slave.set_registers(3, "hr", 0, [777])
        self.assertIsNotNone(sc.wait_state("panel", lambda s: s["counter"] == 777, 20, since=t0),
                             "exporter stuck on the old table after a clean driver restart")


if __name__ == "__main__":
    fbtest.main(tools=fbtest.MQTT_TOOLS + ("openssl",))
