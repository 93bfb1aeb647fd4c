#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The bus lock with real driver processes: a second fieldbridge-modbus for
a bus that is already served refuses at once, names the running driver's
pid, exits non-zero and leaves the first one (and its table) untouched; a
driver killed with SIGKILL leaves no lock behind, so its successor starts
and supersedes the old table."""

import os
import signal
import struct
import time

import fbtest
import gateway


def header(path):
    """(generation, superseded, driver_pid) from a table file's header."""
    with open(path, "rb") as f:
        raw = f.read(24)
    return struct.unpack_from("<IIi", raw, 12)


class TableDaemons(fbtest.TestCase):
    def setUp(self):
        super().setUp()
        self.slave = fbtest.ModbusSlave(self.procs, {2: "relay8"})
        self.gw = gateway.Gateway(self.procs, self.tmp, None, buses=[
            gateway.tcp_bus(self.slave.port, [
                gateway.device("relays", "waveshare-relay-8ch", 2)])])
        self.table = self.gw.table_path("meters")

    def start_first(self):
        first = self.gw.start_driver()
        self.assertTrue(fbtest.wait_for(lambda: "online" in first.stderr_text(), 15),
                        "first driver never served the bus")
        return first

    def test_second_driver_for_the_same_bus_refuses_and_leaves_the_first_running(self):
        first = self.start_first()
        ino = os.stat(self.table).st_ino
        argv = [gateway.MODBUS, "-c", self.gw.config_path, "--bus", "meters"]
        second = self.procs.start("driver-meters-second", argv)
        rc = second.wait(5)
        self.assertNotEqual(rc, 0, "the second driver must fail, not exit 0")
        self.assertIsNotNone(rc, "the second driver must refuse at once")
        self.assertIn(f"bus meters is already served by pid {first.pid}", second.stderr_text())
        time.sleep(1.0)
        self.assertTrue(first.alive(), "the first driver must keep running")
        self.assertNotIn("took over", first.stderr_text())
        self.assertEqual(os.stat(self.table).st_ino, ino, "the table was replaced")
        gen, superseded, pid = header(self.table)
        self.assertEqual((gen, superseded, pid), (1, 0, first.pid))
        self.assertEqual(first.stop(), 0)

    def test_driver_killed_leaves_no_lock_and_its_successor_supersedes_the_table(self):
        first = self.start_first()
        first.signal(signal.SIGKILL)
        first.wait(5)
        self.assertTrue(os.path.exists(self.table), "a killed driver cannot clean up")
        second = self.gw.start_driver()
        self.assertTrue(fbtest.wait_for(lambda: "online" in second.stderr_text(), 15),
                        "the successor of a killed driver must start")
        gen, superseded, pid = header(self.table)
        self.assertEqual((gen, superseded, pid), (2, 0, second.pid))
        self.assertEqual(second.stop(), 0)
        self.assertFalse(os.path.exists(self.table))


if __name__ == "__main__":
    fbtest.main()
