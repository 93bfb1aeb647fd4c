#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Fault suite, Modbus side: a slave that stalls past the response timeout
and then answers everything at once, a muted unit and its way back.  The
driver's view is read from its state table with mbtool; what went over the
wire from the slave's request log.  Every case prints its figure
("FIGURE name: value") so a run documents the timings it saw."""

import json
import os
import subprocess
import time

import fbtest
import gateway

HERE = os.path.dirname(os.path.abspath(__file__))
DEFS = os.path.join(os.path.dirname(HERE), "modbus", "devices")
MBTOOL = os.path.join(gateway.BUILD, "tests", "modbus", "mbtool")


def figure(name, value):
    print(f"FIGURE {name}: {value}", flush=True)


class LinkFaults(fbtest.TestCase):
    def setUp(self):
        super().setUp()
        if not os.access(MBTOOL, os.X_OK):
            self.skipTest(f"{MBTOOL} not built")

    def start(self, bus):
        self.gw = gateway.Gateway(self.procs, self.tmp, None, buses=[bus],
                                  definition_dirs=[DEFS])
        self.instance = self.gw.table_path(bus["name"])
        self.driver = self.gw.start_driver(bus["name"])
        return self.driver

    def dump(self):
        r = subprocess.run([MBTOOL, "dump", self.instance], capture_output=True, text=True,
                           timeout=30)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def online(self, dev):
        d = self.dump()
        return d is not None and d["devices"].get(dev) is True

    def value(self, dev, point):
        d = self.dump()
        return d and d["points"].get(f"{dev}/{point}", {}).get("v")

    def wait_online(self, dev, online=True, timeout=15.0):
        ok = fbtest.wait_for(lambda: self.online(dev) is online, timeout, 0.05)
        self.assertTrue(ok, f"{dev} never {'online' if online else 'offline'}:\n"
                        + self.driver.stderr_text()[-3000:])

    def stalled_slave_resumes(self, slave, bus, tag):
        """Frozen for 3 response timeouts and more, then every held request
        answered at once: the next requests must read their own answers
        (a value changed on the slave shows up), and the device is back
        within one backoff period."""
        slave.set_registers(1, "hr", 0, [1, 2, 3, 4])
        cap_ms = bus["backoff_max_ms"]
        self.start(bus)
        self.wait_online("simple")
        slave.hold(True)
        self.wait_online("simple", False, timeout=15)
        time.sleep(3.0)                   # several probes time out, held by the slave
        slave.set_registers(1, "hr", 0, [101, 102, 103, 104])
        t0 = time.monotonic()
        released = slave.hold(False)["released"]
        self.wait_online("simple", True, timeout=cap_ms / 1000 + fbtest.slack(2))
        back = time.monotonic() - t0
        figure(f"stalled_{tag}_back_online_s", f"{back:.2f} (released {released} held requests)")
        self.assertGreater(released, 1, "the slave held no request: the test proved nothing")
        self.assertLessEqual(back, cap_ms / 1000 + fbtest.slack(1))
        # Its own answers: the new values, and they stay (a stale answer
        # to an earlier read of other registers would not match them).
        ok = fbtest.wait_for(lambda: [self.value("simple", f"h{i}") for i in range(4)]
                             == [101, 102, 103, 104], 5, 0.05)
        self.assertTrue(ok, f"table {self.dump()}")
        t1 = time.monotonic()
        time.sleep(2.0)
        self.assertTrue(self.online("simple"), "went offline again after resuming")
        reads = [e for e in slave.requests("read", 1, t1)]
        figure(f"stalled_{tag}_reads_in_2s_after_resync", len(reads))
        self.assertGreaterEqual(len(reads), 5, "polling did not resume at its rate")
        log = self.driver.stderr_text()
        figure(f"stalled_{tag}_stale_replies_logged", log.count("stale"))
        # Modbus TCP: the held answers carry old transaction ids, so they
        # must have been drained.  RTU frames carry no id: a held answer to
        # the same read is indistinguishable from ours (and, answered now,
        # holds current values); the checks above are what matters there.
        if tag == "tcp":
            self.assertRegex(log, r"stale repl")

    def test_stalled_tcp_slave_gets_its_own_answers_after_resuming(self):
        slave = fbtest.ModbusSlave(self.procs, {1: "holding"})
        self.stalled_slave_resumes(slave, gateway.tcp_bus(
            slave.port, [gateway.device("simple", "test-simple", 1)], name="b",
            poll_interval_ms=200, response_timeout_ms=300, retries=1, offline_after=3,
            backoff_max_ms=10000), "tcp")

    def test_stalled_rtu_slave_gets_its_own_answers_after_resuming(self):
        fbtest.which_or_skip("socat")
        pair = fbtest.SerialPair(self.procs)
        slave = fbtest.ModbusSlave(self.procs, {1: "holding"}, rtu=pair.b, baud=19200)
        self.stalled_slave_resumes(slave, {
            "name": "b", "transport": "rtu", "device": pair.a, "baud": 19200,
            "poll_interval_ms": 200, "response_timeout_ms": 300, "retries": 1,
            "offline_after": 3, "backoff_max_ms": 10000,
            "devices": [gateway.device("simple", "test-simple", 1)]}, "rtu")

    def test_muted_unit_goes_offline_after_offline_after_cycles_and_back_within_backoff(self):
        """Muted: offline after exactly offline_after failed transactions
        (each 1 + retries requests), the other unit keeps its rate; answering
        again: online within one backoff period (backoff_max_ms)."""
        slave = fbtest.ModbusSlave(self.procs, {1: "holding", 2: "holding"})
        offline_after, retries, cap_ms, poll_ms = 3, 1, 4000, 200
        self.start(gateway.tcp_bus(slave.port, [gateway.device("a", "test-simple", 1),
                                                gateway.device("b", "test-simple", 2)],
                                   name="b", poll_interval_ms=poll_ms, response_timeout_ms=200,
                                   retries=retries, offline_after=offline_after,
                                   backoff_max_ms=cap_ms))
        self.wait_online("a")
        self.wait_online("b")
        t0 = time.monotonic()
        slave.mute(2)
        self.wait_online("b", False, timeout=15)
        t_off = time.monotonic()
        muted = [e for e in slave.requests(None, 2, t0) if e["muted"]]
        # The transition is logged at the failed transaction that made it.
        m = self.driver.stderr_text()
        self.assertRegex(m, rf"device b \(unit 2\): offline: no answer to {offline_after} "
                            r"consecutive requests")
        figure("muted_offline_after_s", f"{t_off - t0:.2f}")
        figure("muted_requests_until_offline_seen", len(muted))
        self.assertGreaterEqual(len(muted), offline_after * (1 + retries))
        self.assertLessEqual(len(muted), offline_after * (1 + retries) + 1,
                             "more requests than offline_after x (1 + retries) before offline")
        reads_a = len(slave.requests("read", 1, t0))
        figure("other_unit_reads_per_s_while_muting", f"{reads_a / (t_off - t0):.1f}")
        time.sleep(cap_ms / 1000 * 2)     # the backoff reaches its cap
        t1 = time.monotonic()
        slave.mute(2, False)
        self.wait_online("b", True, timeout=cap_ms / 1000 + fbtest.slack(3))
        back = time.monotonic() - t1
        figure("unmuted_back_online_s", f"{back:.2f} (backoff_max_ms={cap_ms})")
        self.assertLessEqual(back, cap_ms / 1000 + fbtest.slack(1))


if __name__ == "__main__":
    fbtest.main()
