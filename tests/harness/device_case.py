# SPDX-License-Identifier: Apache-2.0
"""device_case -- one device of the test's own definition, over real processes.

    class LightE2E(device_case.DeviceCase):
        DEFINITION = {"manufacturer": ..., "points": [...]}
        DEFINITION_NAME = "test-light"

        def prime(self):                  # the slave before the driver starts
            self.slave.set_registers(1, "hr", 3, [0x55])

setUp writes DEFINITION to <tmp>/defs/DEFINITION_NAME.json and starts
mosquitto, a pymodbus slave (unit 1), fieldbridge-modbus polling it every
300 ms as device "c" and fieldbridge-export, then waits for c's first state
message.  self.state() waits for a state message matching a predicate.
"""

import json
import os
import time

import fbtest
import gateway

CTL = os.path.join(gateway.BUILD, "src", "ctl", "fieldbridgectl")


class DeviceCase(fbtest.TestCase):
    DEFINITION = None
    DEFINITION_NAME = None

    def setUp(self):
        super().setUp()
        if not os.access(CTL, os.X_OK):
            self.skipTest(f"{CTL} not built")
        self.defs = os.path.join(self.tmp, "defs")
        os.makedirs(self.defs)
        self.def_path = os.path.join(self.defs, self.DEFINITION_NAME + ".json")
        with open(self.def_path, "w") as f:
            json.dump(self.DEFINITION, f)
        self.broker = fbtest.Broker(self.procs, self.tmp)
        self.slave = fbtest.ModbusSlave(self.procs, {1: "holding"})
        self.prime()
        self.gw = gateway.Gateway(self.procs, self.tmp, self.broker, definition_dirs=[self.defs],
                                  buses=[gateway.tcp_bus(self.slave.port, [
                                      gateway.device("c", self.DEFINITION_NAME, 1)],
                                      poll_interval_ms=300)])
        self.base = self.gw.base()
        self.node = self.gw.node_id()
        self.sub = fbtest.Subscriber(self.broker, ["homeassistant/#", "fieldbridge/#"])
        self.gw.start_driver()
        self.exporter = self.gw.start_exporter()
        self.sub.wait_message(f"{self.base}/c/state", timeout=fbtest.slack(15))

    def prime(self):
        """Sets the slave's registers before the driver first reads them."""

    def state(self, pred, what, since=None, timeout=10):
        """The first state message of c since `since` for which pred(doc) holds."""
        msg = self.sub.wait_message(
            lambda m: m.topic == f"{self.base}/c/state" and pred(m.json()),
            timeout=fbtest.slack(timeout), since=since)
        self.assertIsNotNone(msg, what)
        return msg.json()

    def send(self, key, payload):
        """Publishes a command to c's point key; returns when it was sent."""
        t0 = time.monotonic()
        fbtest.publish(self.broker, f"{self.base}/c/{key}/set", payload)
        return t0
