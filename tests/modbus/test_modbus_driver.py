#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fieldbridge-modbus against real slaves (Debian's pymodbus) over Modbus TCP,
RTU on a socat pty pair and RTU-over-TCP.  The driver's output is read from
its state table with tests/modbus/mbtool (no MQTT in between); what went
over the wire is read from the slave's request log (monotonic timestamps,
comparable with time.monotonic() here)."""

import json
import os
import re
import subprocess
import time

import fbtest
import gateway

HERE = os.path.dirname(os.path.abspath(__file__))
DEFS = os.path.join(HERE, "devices")
MBTOOL = os.path.join(gateway.BUILD, "tests", "modbus", "mbtool")
HOLES = [(20, 29), (60, 63)]      # modbus_slave.py "holes" profile
READ_FC = {"coil": 1, "discrete_input": 2, "holding_register": 3, "input_register": 4}


def load_def(name):
    with open(os.path.join(DEFS, name + ".json")) as f:
        return json.load(f)


def width(p):
    t = p.get("type", "bool")
    return {"uint32": 2, "int32": 2, "float32": 2, "uint64": 4, "int64": 4,
            "float64": 4, "bcd32": 2, "string": p.get("length", 1)}.get(t, 1)


def optimum_blocks(defn):
    """Fewest reads for a definition, by dynamic programming over every
    partition of each table's points in address order -- independent of the
    driver's greedy planner."""
    max_regs = defn.get("max_registers_per_read", 125)
    max_bits = defn.get("max_bits_per_read", 2000)
    gap_max = defn.get("max_gap", 8)
    forbidden = defn.get("forbidden_ranges", [])
    total = 0
    tables = {}
    for p in defn["points"]:
        tables.setdefault(p["table"], []).append((p["address"], p["address"] + width(p)))
    for table, spans in tables.items():
        spans.sort()
        limit = max_bits if table in ("coil", "discrete_input") else max_regs
        n = len(spans)

        def ok(i, j):
            end = spans[i][1]
            for k in range(i + 1, j + 1):
                s, e = spans[k]
                if s > end:
                    if s - end > gap_max:
                        return False
                    if any(s - 1 >= f0 and end <= f1 for f0, f1 in forbidden):
                        return False
                end = max(end, e)
            return end - spans[i][0] <= limit
        best = [0] + [10 ** 9] * n
        for j in range(n):
            for i in range(j + 1):
                if ok(i, j):
                    best[j + 1] = min(best[j + 1], best[i] + 1)
        total += best[n]
    return total


class ModbusDriver(fbtest.TestCase):
    # ------------------------------------------------------------ helpers
    def setUp(self):
        super().setUp()
        if not os.access(MBTOOL, os.X_OK):
            self.skipTest(f"{MBTOOL} not built")

    def start(self, bus, verbose=True):
        self.gw = gateway.Gateway(self.procs, self.tmp, None, buses=[bus],
                                  definition_dirs=[DEFS])
        self.instance = self.gw.table_path(bus["name"])
        return self.gw.start_driver(bus["name"], verbose=verbose)

    def tool(self, *args, timeout=90):
        r = subprocess.run([MBTOOL, args[0], self.instance, *map(str, args[1:])],
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"mbtool {args}: rc={r.returncode} {r.stderr}")
        return json.loads(r.stdout)

    def dump(self):
        return self.tool("dump")

    def value(self, dev, point):
        return self.dump()["points"][f"{dev}/{point}"]["v"]

    def wait_table(self, pred, timeout=15.0, what="table condition"):
        last = {}

        def check():
            try:
                last["d"] = self.dump()
            except (RuntimeError, subprocess.TimeoutExpired, ValueError):
                return False
            return pred(last["d"])
        if not fbtest.wait_for(check, timeout, 0.1):
            self.procs.fail()
            self.fail(f"timed out waiting for {what}; last table: {last.get('d')}")
        return last["d"]

    def wait_online(self, dev, online=True, timeout=15.0):
        return self.wait_table(lambda d: d["devices"].get(dev) is online, timeout,
                               f"{dev} {'online' if online else 'offline'}")

    def serial(self):
        fbtest.which_or_skip("socat")
        return fbtest.SerialPair(self.procs)

    @staticmethod
    def rtu_bus(path, devices, **extra):
        bus = {"name": "b", "transport": "rtu", "device": path, "baud": 19200,
               "poll_interval_ms": 300, "response_timeout_ms": 200, "devices": devices}
        bus.update(extra)
        return bus

    @staticmethod
    def reads(slave, unit=None, since=None, until=None):
        return [e for e in slave.requests("read", unit, since)
                if until is None or e["t"] < until]

    # ------------------------------------------------------------ transports
    def test_tcp_real_slave_values_and_diagnostics(self):
        slave = fbtest.ModbusSlave(self.procs, {1: "holding", 2: "relay8"})
        slave.set_registers(1, "hr", 0, [11, 22, 33, 44])
        slave.set_coils(2, 0, [True, False, True])
        self.start(gateway.tcp_bus(slave.port, [
            gateway.device("simple", "test-simple", 1),
            gateway.device("relays", "waveshare-relay-8ch", 2)], name="b"))
        want = {"simple/h0": 11, "simple/h1": 22, "simple/h2": 33, "simple/h3": 44,
                "relays/relay_1": True, "relays/relay_2": False, "relays/relay_3": True}
        self.wait_table(lambda d: all(d["points"][k]["v"] == v for k, v in want.items()),
                        what="slave values in the table")
        # statistics are diagnostic points of every device, refreshed every 10 s
        d = self.wait_table(lambda d: (d["points"]["simple/_diag_requests"]["v"] or 0) > 0,
                            timeout=20, what="diagnostic request counter")
        self.assertIs(d["points"]["simple/_diag_bus_connected"]["v"], True)
        self.assertEqual(d["points"]["simple/_diag_timeouts"]["v"], 0)
        self.assertIsNotNone(d["points"]["relays/_diag_latency_ms"]["v"])
        self.assertGreaterEqual(d["points"]["relays/_diag_bus_utilisation"]["v"], 0)

    def test_diagnostics_reach_home_assistant(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        slave = fbtest.ModbusSlave(self.procs, {1: "holding"})
        gw = gateway.Gateway(self.procs, self.tmp, broker, definition_dirs=[DEFS], buses=[
            gateway.tcp_bus(slave.port, [gateway.device("simple", "test-simple", 1)],
                            name="b", poll_interval_ms=200)])
        sub = fbtest.Subscriber(broker, ["homeassistant/#", "fieldbridge/#"])
        gw.start_driver("b")
        gw.start_exporter("ha")
        node, base = gw.node_id(), gw.base()
        disc = sub.wait_message(f"homeassistant/device/{node}_simple/config", timeout=15)
        cmps = disc.json()["cmps"]
        for key in ("_diag_requests", "_diag_errors", "_diag_timeouts", "_diag_crc_errors",
                    "_diag_latency_ms", "_diag_bus_utilisation", "_diag_bus_connected",
                    "_diag_bus_scanning"):
            self.assertEqual(cmps[key]["entity_category"], "diagnostic", key)
        self.assertEqual(cmps["_diag_bus_connected"]["p"], "binary_sensor")
        self.assertEqual(cmps["_diag_bus_scanning"]["p"], "binary_sensor")
        self.assertEqual(cmps["_diag_bus_scanning"]["device_class"], "running")
        self.assertEqual(cmps["_diag_latency_ms"]["unit_of_measurement"], "ms")

        def counted():
            m = sub.latest(f"{base}/simple/state")
            return m is not None and (m.json().get("_diag_requests") or 0) > 0
        self.assertTrue(fbtest.wait_for(counted, 25, 0.2),
                        "no state message with a request count")
        st = sub.latest(f"{base}/simple/state").json()
        self.assertIs(st["_diag_bus_connected"], True)
        self.assertGreaterEqual(st["_diag_bus_utilisation"], 0)

    def test_rtu_several_units_on_one_line(self):
        pair = self.serial()
        slave = fbtest.ModbusSlave(self.procs, {1: "holding", 2: "holding", 3: "holding"},
                                   rtu=pair.b, baud=19200)
        for u in (1, 2, 3):
            slave.set_registers(u, "hr", 0, [u * 100 + i for i in range(4)])
        # a pty has no RS-485 mode: "not supported by this port", not fatal
        drv = self.start(self.rtu_bus(pair.a, [gateway.device(f"d{u}", "test-simple", u)
                                               for u in (1, 2, 3)], rs485="on"))
        self.wait_table(lambda d: all(d["points"][f"d{u}/h{i}"]["v"] == u * 100 + i
                                      for u in (1, 2, 3) for i in range(4)),
                        what="three units' values")
        d = self.dump()
        self.assertEqual(d["devices"], {"d1": True, "d2": True, "d3": True})
        self.assertIn("RS-485 mode not supported by this port", drv.stderr_text())

    def test_rtu_over_tcp_through_a_serial_server(self):
        fbtest.which_or_skip("socat")
        port = fbtest.free_port()
        pty = os.path.join(self.tmp, "rtu-server-pty")
        # socat opens the pty first, then waits for the driver: a TCP serial
        # server passing raw RTU frames.
        self.procs.start("serial-server", ["socat", "-d", "-d", f"pty,raw,echo=0,link={pty}",
                                           f"tcp-listen:{port},reuseaddr,bind=127.0.0.1"])
        self.assertTrue(fbtest.wait_for(lambda: os.path.exists(pty), 5))
        slave = fbtest.ModbusSlave(self.procs, {5: "holding", 6: "holding"}, rtu=pty,
                                   baud=19200)
        slave.set_registers(5, "hr", 0, [7, 8, 9, 10])
        self.start({"name": "b", "transport": "rtu_over_tcp", "host": "127.0.0.1",
                    "port": port, "baud": 19200, "poll_interval_ms": 300,
                    "response_timeout_ms": 300,
                    "devices": [gateway.device("far", "test-simple", 5),
                                gateway.device("farrw", "test-rw", 6)]})
        self.wait_table(lambda d: [d["points"][f"far/h{i}"]["v"] for i in range(4)]
                        == [7, 8, 9, 10], what="values over RTU-over-TCP")
        r = self.tool("cmd", "far", "h0", 1)  # read-only point: refused, not sent
        self.assertEqual(r["last_status"], "failed")
        self.assertIn("read-only", r["last_reason"])
        self.wait_online("farrw")
        r = self.tool("cmd", "farrw", "counter32", 123456)  # FC16, read back
        self.assertEqual(r["last_status"], "done", r)
        self.assertEqual(slave.get_registers(6, "hr", 10, 2), [1, 123456 - 65536])
        self.assertEqual(self.value("farrw", "counter32"), 123456)

    # ------------------------------------------------------------ batching
    def test_requests_per_cycle_equal_the_optimum(self):
        defn = load_def("test-gappy")
        optimum = optimum_blocks(defn)
        slave = fbtest.ModbusSlave(self.procs, {1: "holding"})
        self.start(gateway.tcp_bus(slave.port, [gateway.device("g", "test-gappy", 1)],
                                   name="b", poll_interval_ms=250))
        self.wait_online("g")
        time.sleep(0.6)
        t0 = time.monotonic()
        time.sleep(3.0)
        reads = self.reads(slave, 1, since=t0, until=time.monotonic())
        distinct = {(e["fc"], e["address"], e["count"]) for e in reads}
        self.assertEqual(len(distinct), optimum, f"reads {sorted(distinct)}")
        per_block = [sum(1 for e in reads if (e["fc"], e["address"], e["count"]) == b)
                     for b in distinct]
        # every block read once per cycle: same count (+-1 at the window edges)
        self.assertLessEqual(max(per_block) - min(per_block), 1, per_block)
        cycles = max(per_block)
        self.assertGreaterEqual(cycles, 8)
        self.assertLessEqual(len(reads), optimum * cycles)
        # each read honours the definition's limits
        forbidden = defn["forbidden_ranges"]
        for fc, addr, count in distinct:
            if fc in (3, 4):
                self.assertLessEqual(count, defn["max_registers_per_read"])
            self.assertFalse(any(addr <= f1 and addr + count - 1 >= f0 and fc == 3
                                 for f0, f1 in forbidden), (fc, addr, count))

    def test_rejected_range_is_split_and_the_split_survives_a_restart(self):
        slave = fbtest.ModbusSlave(self.procs, {1: "holes"})
        addrs = [p["address"] for p in load_def("test-holes")["points"]]
        slave.set_registers(1, "hr", 0, list(range(1000, 1020)))
        bus = gateway.tcp_bus(slave.port, [gateway.device("h", "test-holes", 1)], name="b",
                              poll_interval_ms=200)
        drv = self.start(bus)

        def touches_hole(e):
            last = e["address"] + e["count"] - 1
            return e["fc"] == 3 and any(e["address"] <= h1 and last >= h0 for h0, h1 in HOLES)
        splits = os.path.join(self.gw.dir, "state", "modbus-b.splits.json")
        self.wait_table(lambda d: all(d["points"][f"h/h{a}"]["q"] == 1 for a in addrs),
                        what="every point read despite the holes")
        self.assertTrue(os.path.exists(splits), "learned splits not persisted")
        self.assertEqual(self.value("h", "h5"), 1005)
        self.assertTrue(any(touches_hole(e) for e in slave.requests("read", 1)),
                        "the planner never tried the merged read (test is void)")
        drv.stop()
        with open(splits) as f:
            learned = json.load(f)
        self.assertEqual(learned["devices"][0]["id"], "h")
        slave.clear_requests()
        self.gw.start_driver("b")
        self.wait_table(lambda d: all(d["points"][f"h/h{a}"]["q"] == 1 for a in addrs),
                        what="every point read after the restart")
        time.sleep(1.5)    # a window for exceptions; the count is waited for
        self.assertTrue(fbtest.wait_for(lambda: len(slave.requests("read", 1)) >= 8,
                                        fbtest.slack(10)), "the restarted driver stopped polling")
        reads = slave.requests("read", 1)
        self.assertEqual([e for e in reads if touches_hole(e)], [],
                         "the restarted driver provoked new exceptions")

    # ------------------------------------------------------------ isolation
    def test_dead_slave_is_isolated_on_an_rtu_line(self):
        pair = self.serial()
        slave = fbtest.ModbusSlave(self.procs, {1: "holding", 2: "holding", 3: "holding"},
                                   rtu=pair.b, baud=19200)
        cap_ms, poll_ms = 2000, 200
        self.start(self.rtu_bus(pair.a, [gateway.device(f"d{u}", "test-simple", u)
                                         for u in (1, 2, 3)],
                                poll_interval_ms=poll_ms, response_timeout_ms=150,
                                retries=1, offline_after=3, backoff_max_ms=cap_ms))
        for u in (1, 2, 3):
            self.wait_online(f"d{u}")
        window = 5.0
        t0 = time.monotonic()
        time.sleep(window)
        base = {u: len(self.reads(slave, u, t0, t0 + window)) for u in (1, 3)}

        slave.mute(2)
        self.wait_online("d2", False, timeout=10)
        time.sleep(0.5)
        t1 = time.monotonic()
        time.sleep(window)
        after = {u: len(self.reads(slave, u, t1, t1 + window)) for u in (1, 3)}
        probes = self.reads(slave, 2, t1, t1 + window)
        nominal = window * 1000 / poll_ms
        for u in (1, 3):
            ref = min(base[u], nominal)
            self.assertGreaterEqual(after[u], 0.9 * ref,
                                    f"unit {u}: {after[u]} reads vs {ref} before")
        # one short probe per backoff period, no retries
        self.assertLessEqual(len(probes), window * 1000 / 1000 + 1, probes)

        slave.mute(2, False)
        t2 = time.monotonic()
        # The backoff is capped: the next probe, on the slave's own clock,
        # comes within cap_ms of the unit answering again.
        probe = slave.wait_request(lambda e: e["unit"] == 2 and not e["muted"],
                                   timeout=10, since=t2)
        self.assertIsNotNone(probe, "the muted unit was never probed again")
        back = probe["t"] - t2
        self.assertLessEqual(back, cap_ms / 1000 + fbtest.slack(0.3),
                             f"probed again after {back:.2f} s")
        self.wait_online("d2", True, timeout=10)

    def test_command_to_offline_device_fails_with_a_reason(self):
        slave = fbtest.ModbusSlave(self.procs, {1: "holding"})
        self.start(gateway.tcp_bus(slave.port, [gateway.device("rw", "test-rw", 1)],
                                   name="b", poll_interval_ms=200, offline_after=2))
        self.wait_online("rw")
        slave.mute(1)
        self.wait_online("rw", False)
        since = time.monotonic()
        r = self.tool("cmd", "rw", "setpoint", 42)
        self.assertEqual(r["last_status"], "failed")
        self.assertIn("offline", r["last_reason"])
        self.assertEqual(slave.writes(1, since), [])

    # ------------------------------------------------------------ writes
    def test_write_preempts_polling_at_the_next_frame(self):
        pair = self.serial()
        slave = fbtest.ModbusSlave(self.procs, {1: "holding"}, rtu=pair.b, baud=19200)
        slave.set_delay(0.03)  # 9 reads per cycle: the bus is busy polling
        self.start(self.rtu_bus(pair.a, [gateway.device("rw", "test-rw", 1)],
                                poll_interval_ms=300, response_timeout_ms=300))
        self.wait_online("rw", timeout=20)
        for i, (point, value, fc) in enumerate([("setpoint", 101, 6), ("setpoint", 202, 6),
                                                ("counter32", 70000, 16),
                                                ("out", "true", 5), ("setpoint", 303, 6)]):
            time.sleep(0.05 + 0.07 * i)
            r = self.tool("cmd", "rw", point, value)
            self.assertEqual(r["last_status"], "done", r)
            w = slave.wait_request(lambda e: e["kind"] == "write" and e["t"] >= r["push_t"],
                                   since=r["push_t"])
            self.assertIsNotNone(w)
            self.assertEqual(w["fc"], fc)
            between = [e for e in slave.requests("read", 1, r["push_t"]) if e["t"] < w["t"]]
            # at most the read already on the wire when the command came
            self.assertLessEqual(len(between), 1, between)
        self.assertEqual(slave.get_registers(1, "hr", 10, 2), [1, 70000 - 65536])

    def test_read_back_value_is_what_gets_published(self):
        slave = fbtest.ModbusSlave(self.procs, {1: "holding"})
        slave.control("clamp", unit=1, table="hr", address=5, max=100)
        self.start(gateway.tcp_bus(slave.port, [gateway.device("rw", "test-rw", 1)],
                                   name="b", poll_interval_ms=200))
        self.wait_online("rw")
        watch = subprocess.Popen([MBTOOL, "watch", self.instance, "rw", "setpoint", "2500"],
                                 stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(0.3)
            r = self.tool("cmd", "rw", "setpoint", 150)
            seen = json.loads(watch.communicate(timeout=10)[0])
        finally:
            if watch.poll() is None:
                watch.kill()
                watch.wait()
        self.assertEqual(r["last_status"], "done")
        self.assertIn("read back 100", r["last_reason"])
        self.assertEqual(self.value("rw", "setpoint"), 100)
        self.assertIn(100, seen)
        self.assertNotIn(150, seen, "the requested (not the confirmed) value was published")
        # the slave saw the write, then the read-back of that register
        ev = slave.requests(unit=1)
        wi = next(i for i, e in enumerate(ev) if e["kind"] == "write")
        self.assertTrue(any(e["kind"] == "read" and e["fc"] == 3 and e["address"] == 5
                            for e in ev[wi + 1:wi + 3]), ev[wi:wi + 3])

    def test_raw_request_buttons_over_tcp_and_rtu(self):
        """A button with "request": PZEM's bare 0x42 reset (an answer libmodbus
        cannot parse), an FC16 spelled out in hex, and a function the slave
        does not know: refused with the device's exception, sent once."""
        pair = self.serial()
        tcp = fbtest.ModbusSlave(self.procs, {1: "holding"})
        rtu = fbtest.ModbusSlave(self.procs, {2: "holding"}, rtu=pair.b, baud=19200)
        for slave, unit in ((tcp, 1), (rtu, 2)):
            slave.set_registers(unit, "ir", 5, [1234, 5])   # CDAB: 5 * 65536 + 1234
        self.gw = gateway.Gateway(
            self.procs, self.tmp, None, definition_dirs=[DEFS],
            buses=[gateway.tcp_bus(tcp.port, [gateway.device("t", "test-raw", 1)],
                                   name="bt", poll_interval_ms=200),
                   self.rtu_bus(pair.a, [gateway.device("r", "test-raw", 2)], name="br")])
        for bus, dev, slave, unit in (("bt", "t", tcp, 1), ("br", "r", rtu, 2)):
            self.instance = self.gw.table_path(bus)
            self.gw.start_driver(bus)
            self.wait_table(lambda d: d["points"][f"{dev}/energy"]["v"] == 5 * 65536 + 1234,
                            what=f"{dev} energy before the reset")
            since = time.monotonic()
            r = self.tool("cmd", dev, "energy_reset", 1)
            self.assertEqual(r["last_status"], "done", r)
            self.assertEqual(slave.get_registers(unit, "ir", 5, 2), [0, 0])
            self.wait_table(lambda d: d["points"][f"{dev}/energy"]["v"] == 0,
                            what=f"{dev} energy after the reset")
            sent = [e for e in slave.requests(unit=unit, since=since) if e["fc"] == 0x42]
            self.assertEqual(len(sent), 1, sent)
            r = self.tool("cmd", dev, "preset", 1)
            self.assertEqual(r["last_status"], "done", r)
            self.assertEqual(slave.get_registers(unit, "hr", 20, 2), [7, 9])
            since = time.monotonic()
            r = self.tool("cmd", dev, "unknown_fc", 1)
            self.assertEqual(r["last_status"], "failed", r)
            if bus == "bt":   # pymodbus' RTU framer drops a frame it cannot size
                self.assertIn("Illegal function", r["last_reason"])
            sent = [e for e in slave.requests(unit=unit, since=since) if e["fc"] == 0x41]
            self.assertLessEqual(len(sent), 1, sent)   # a press is never repeated
            # the link still works after the raw exchanges
            slave.set_registers(unit, "ir", 5, [3, 0])
            self.wait_table(lambda d: d["points"][f"{dev}/energy"]["v"] == 3,
                            what=f"{dev} polling after the raw requests")

    def test_thousand_rapid_commands_latest_wins_none_lost(self):
        slave = fbtest.ModbusSlave(self.procs, {1: "holding"})
        self.start(gateway.tcp_bus(slave.port, [gateway.device("rw", "test-rw", 1)],
                                   name="b", poll_interval_ms=200), verbose=False)
        self.wait_online("rw")
        r = self.tool("flood", "rw", "setpoint", 1000)
        self.assertEqual(r["pushed"], 1000)
        self.assertEqual(r["missing"], 0, r)
        self.assertEqual(r["duplicates"], 0, r)
        self.assertEqual(r["done"] + r["superseded"], 1000, r)
        self.assertEqual(r["last_status"], "done", r)
        self.assertGreater(r["superseded"], 0, "nothing was coalesced")
        self.assertEqual(slave.get_registers(1, "hr", 5, 1), [1000])
        self.wait_table(lambda d: d["points"]["rw/setpoint"]["v"] == 1000,
                        what="final state == last command")

    # ------------------------------------------------------------ link
    def test_tcp_reconnects_after_the_slave_drops_the_connection(self):
        # Modbus TCP reads go through the driver's own path (tcp_xact.c):
        # a closed connection must read as a broken link (reconnect), not
        # as a device that stopped answering.
        slave = fbtest.ModbusSlave(self.procs, {1: "holding"})
        slave.set_registers(1, "hr", 0, [1, 2, 3, 4])
        drv = self.start(gateway.tcp_bus(slave.port, [gateway.device("d1", "test-simple", 1)],
                                         name="b", poll_interval_ms=200))
        self.wait_table(lambda d: d["points"]["d1/h0"]["v"] == 1, what="first values")
        for i in range(3):
            self.assertGreaterEqual(slave.drop(), 1)
            slave.set_registers(1, "hr", 0, [10 + i, 20 + i, 30 + i, 40 + i])
            self.wait_table(lambda d, i=i: d["devices"]["d1"] is True and
                            [d["points"][f"d1/h{k}"]["v"] for k in range(4)] ==
                            [10 + i, 20 + i, 30 + i, 40 + i],
                            timeout=20, what=f"values read after drop {i + 1}")
        # A closed connection is seen at once (recv() returns 0), never
        # waited out as a timeout: the statistics refreshed after the drops
        # (every 10 s) count none.
        seen = self.dump()["points"]["d1/_diag_requests"]["v"] or 0
        d = self.wait_table(lambda d: (d["points"]["d1/_diag_requests"]["v"] or 0) > seen,
                            timeout=25, what="statistics refreshed after the drops")
        self.assertEqual(d["points"]["d1/_diag_timeouts"]["v"], 0)
        log = drv.stderr_text() + drv.stdout_text()
        self.assertGreaterEqual(log.count("link lost"), 3, log[-3000:])
        self.assertGreaterEqual(log.count("connected to 127.0.0.1"), 4, log[-3000:])

    def test_driver_reconnects_after_the_pty_is_recreated(self):
        pair = self.serial()
        slave = fbtest.ModbusSlave(self.procs, {1: "holding"}, rtu=pair.b, baud=19200)
        slave.set_registers(1, "hr", 0, [5, 6, 7, 8])
        self.start(self.rtu_bus(pair.a, [gateway.device("d1", "test-simple", 1)]))
        self.wait_table(lambda d: d["points"]["d1/h0"]["v"] == 5, what="first values")
        # unplug: the pty pair and its links disappear
        slave.stop()
        pair.stop()
        self.assertTrue(fbtest.wait_for(lambda: not os.path.exists(pair.a), 5))
        self.wait_table(lambda d: d["devices"]["d1"] is False and
                        d["points"]["d1/_diag_bus_connected"]["v"] is False,
                        what="bus reported down")
        time.sleep(1.0)
        # replug: same link paths, a new pty behind them
        pair2 = fbtest.SerialPair(self.procs)
        self.assertEqual(pair2.a, pair.a)
        slave2 = fbtest.ModbusSlave(self.procs, {1: "holding"}, rtu=pair2.b, baud=19200,
                                    name="modbus_slave2")
        slave2.set_registers(1, "hr", 0, [50, 60, 70, 80])
        self.wait_table(lambda d: d["devices"]["d1"] is True and
                        d["points"]["d1/h0"]["v"] == 50, timeout=20,
                        what="reconnected to the new pty")

    # ------------------------------------------------------------ budget
    def test_check_reports_an_over_budget_configuration(self):
        devices = [gateway.device(f"g{u}", "test-gappy", u) for u in (1, 2, 3)]
        self.gw = gateway.Gateway(self.procs, self.tmp, None, definition_dirs=[DEFS],
                                  buses=[self.rtu_bus("/dev/ttyUSB9", devices, baud=9600,
                                                      poll_interval_ms=300)])
        r = self.gw.check("modbus", "--bus", "b")
        self.assertEqual(r.returncode, 1, r.stdout)
        m = re.search(r"error: .*bus b: airtime budget: needs (\d+\.\d+) s per cycle at "
                      r"9600 baud, intervals ask for 0\.30 s", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        self.assertGreater(float(m.group(1)), 0.30)
        # the same devices at 115200 baud fit
        self.gw.config["buses"][0]["baud"] = 115200
        self.gw.write()
        r = self.gw.check("modbus", "--bus", "b")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("configuration OK", r.stdout)

    # ------------------------------------------------------------ timing
    def test_poll_classes_and_inter_frame_silence(self):
        pair = self.serial()
        slave = fbtest.ModbusSlave(self.procs, {1: "holding"}, rtu=pair.b, baud=19200)
        guard_ms, poll_ms = 25, 400
        # A reply that comes after the response timeout is stamped by the
        # slave after the driver's next request: two stamps with no gap.  The
        # pymodbus slave can stall that long on a loaded machine, so the
        # timeout here is far above any such stall.
        self.start(self.rtu_bus(pair.a, [gateway.device("c", "test-classes", 1)],
                                poll_interval_ms=poll_ms, guard_time_ms=guard_ms,
                                response_timeout_ms=1500))
        self.wait_online("c")
        self.assertIsNotNone(slave.wait_request(lambda e: e["address"] == 30))
        t0 = time.monotonic()
        time.sleep(4.0)
        reads = self.reads(slave, 1, t0, time.monotonic())
        n = {a: sum(1 for e in reads if e["address"] == a) for a in (0, 10, 20, 30)}
        self.assertGreaterEqual(n[0], 3.2 * n[10], n)    # fast: interval / 4
        self.assertLessEqual(n[20], 1, n)                 # slow: interval x 10
        self.assertEqual(n[30], 0, n)                     # once: only after connect
        self.assertEqual(sum(1 for e in slave.requests("read", 1) if e["address"] == 30), 1)
        # t3.5 (1.75 ms at 19200 baud) + guard time between frames, enforced
        # by the driver (the pty itself has no timing)
        ts = sorted(e["t"] for e in slave.requests(unit=1))
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        self.assertGreaterEqual(min(gaps), (guard_ms + 1.75) / 1000 - 0.001, min(gaps))

    # ------------------------------------------------------------ values
    def test_heartbeat_republishes_unchanged_values(self):
        slave = fbtest.ModbusSlave(self.procs, {1: "holding"})
        slave.set_registers(1, "hr", 0, [100, 100, 1, 2])
        self.start(gateway.tcp_bus(slave.port, [gateway.device("f", "test-filters", 1)],
                                   name="b", poll_interval_ms=100))
        self.wait_table(lambda d: d["points"]["f/hb"]["v"] == 1, what="first values")
        hb = self.tool("journal", "f", "hb", 3500)["entries"]
        self.assertGreaterEqual(hb, 2, "heartbeat_s 1: unchanged value not re-published")
        self.assertLessEqual(hb, 5)
        self.assertEqual(self.tool("journal", "f", "abs", 1500)["entries"], 0,
                         "an unchanged value without heartbeat was re-published")

    def test_deadband_and_sentinel(self):
        slave = fbtest.ModbusSlave(self.procs, {1: "holding"})
        slave.set_registers(1, "hr", 0, [100, 100, 1, 0xFFFF])
        self.start(gateway.tcp_bus(slave.port, [gateway.device("f", "test-filters", 1)],
                                   name="b", poll_interval_ms=100))
        d = self.wait_table(lambda d: d["points"]["f/abs"]["v"] == 100, what="first values")
        self.assertIsNone(d["points"]["f/na"]["v"], "sentinel 0xFFFF must be unknown")
        slave.set_registers(1, "hr", 0, [103, 109])     # inside both deadbands
        # Two reads after the change: the first one's values are in the
        # table by the time the second one arrives.
        t0 = time.monotonic()
        self.assertTrue(fbtest.wait_for(lambda: len(self.reads(slave, 1, t0)) >= 2, 5),
                        "the driver stopped polling")
        self.assertEqual(self.value("f", "abs"), 100)
        self.assertEqual(self.value("f", "pct"), 100)
        slave.set_registers(1, "hr", 0, [106, 111, 1, 7])
        self.wait_table(lambda d: d["points"]["f/abs"]["v"] == 106 and
                        d["points"]["f/pct"]["v"] == 111 and d["points"]["f/na"]["v"] == 7,
                        what="values beyond the deadband")


if __name__ == "__main__":
    fbtest.main()
