#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""What fieldbridge-export sends, in which order, when everything goes out
again: at link up and after Home Assistant's birth every discovery config
precedes the first device state (a state Home Assistant cannot place yet
is lost), and a forced re-publish does not log availability again."""

import time
import unittest

import fbtest
import scenario

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


if __name__ == "__main__":
    fbtest.main(tools=fbtest.MQTT_TOOLS)
