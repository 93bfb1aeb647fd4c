#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fieldbridge-mbserver against real clients: libmodbus (tests/mbserver/
mbsclient, a C program on the library evcc-like programs use) and pymodbus,
with a pymodbus slave behind the real driver (fieldbridge-modbus).  What
reached the bus is read from the slave's request log (monotonic times,
comparable with time.monotonic() here)."""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time

import fbtest
import gateway

from pymodbus.client import ModbusTcpClient

HERE = os.path.dirname(os.path.abspath(__file__))
MB_DEFS = os.path.join(HERE, "..", "modbus", "devices")
MBSERVER = os.path.join(gateway.BUILD, "src", "mbserver", "fieldbridge-mbserver")
MBSCLIENT = os.path.join(gateway.BUILD, "tests", "mbserver", "mbsclient")
sys.path.insert(0, os.path.join(HERE, "..", "ctl"))
from test_ctl import strip_comments  # noqa: E402  (JSON with comments)

SLAVE_TABLE = {"coil": "co", "discrete_input": "di", "holding_register": "hr",
               "input_register": "ir"}
READ_FC = {"coil": 1, "discrete_input": 2, "holding_register": 3, "input_register": 4}
UNPOLLED_HR = 190      # nothing in the types definition is there
POLL_MS = 300


def width(p):
    t = p.get("type", "bool")
    return {"uint32": 2, "int32": 2, "float32": 2, "uint64": 4, "int64": 4,
            "float64": 4, "bcd32": 2, "string": p.get("length", 1)}.get(t, 1)


def shipped_kinds():
    """One shipped point per (table, type, order) used by devices/*.json."""
    kinds = {}
    for name in sorted(os.listdir(gateway.DEVICES)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(gateway.DEVICES, name)) as f:
            d = strip_comments(f.read())
        if d.get("protocol", "modbus") != "modbus":
            continue
        for p in d["points"]:
            if "request" in p:
                continue  # a raw request button: it reads no register
            k = (p["table"], p.get("type", "bool"), p.get("order", "ABCD"))
            kinds.setdefault(k, p)
    return kinds


# Types the codec has that no shipped definition uses (yet): served all the same.
CONSTRUCTED = [
    {"table": "holding_register", "type": "int64", "order": "DCBA"},
    {"table": "holding_register", "type": "float64", "order": "BADC"},
    {"table": "holding_register", "type": "bcd16"},
    {"table": "holding_register", "type": "bcd32", "order": "CDAB"},
    {"table": "input_register", "type": "bit", "bit": 3, "component": "binary_sensor"},
    {"table": "input_register", "type": "uint16", "order": "BADC"},
]


def types_definition():
    """A definition with one point per kind, packed from address 0 in each
    table; returns (definition, [(point, table, address, width)])."""
    nxt = {t: 0 for t in SLAVE_TABLE}
    points, layout = [], []
    for i, p in enumerate(list(shipped_kinds().values()) + CONSTRUCTED):
        q = {k: v for k, v in p.items()
             if k not in ("poll", "heartbeat_s", "deadband", "sentinel", "writable",
                          "write_function", "coil_on", "coil_off")}
        q["key"] = f"p{i}"
        q["name"] = f"P{i} {p.get('type', 'bool')}"
        q["address"] = nxt[p["table"]]
        if q.get("component") in ("switch", "number", "select", "button"):
            q["component"] = "binary_sensor" if p["table"] in ("coil", "discrete_input") \
                else "sensor"
            for k in ("min", "max", "step", "options", "press"):
                q.pop(k, None)
        w = width(p)
        nxt[p["table"]] += w
        points.append(q)
        layout.append((q, p["table"], q["address"], w))
    assert nxt["holding_register"] < UNPOLLED_HR
    return {"manufacturer": "fieldbridge tests", "model": "Every type",
            "protocol": "modbus", "max_gap": 0, "points": points}, layout


class MbServer(fbtest.TestCase):
    # ------------------------------------------------------------ helpers
    def setUp(self):
        super().setUp()
        for exe in (MBSERVER, MBSCLIENT):
            if not os.access(exe, os.X_OK):
                self.skipTest(f"{exe} not built")

    def start(self, servers, users=None, rw_unit=True, seed_words=True, broker=None):
        """Slave (unit 1: the types definition, unit 2: test-rw), driver,
        and one fieldbridge-mbserver per entry of `servers`."""
        self.defs_dir = os.path.join(self.tmp, "defs")
        os.makedirs(self.defs_dir, exist_ok=True)
        defn, self.layout = types_definition()
        with open(os.path.join(self.defs_dir, "test-all-types.json"), "w") as f:
            json.dump(defn, f, indent=1)
        self.slave = fbtest.ModbusSlave(self.procs, {1: "holding", 2: "holding"})
        if seed_words:
            rnd = random.Random(18)
            for t in ("hr", "ir"):
                self.slave.set_registers(1, t, 0, [rnd.randrange(65536) for _ in range(200)])
            for t in ("co", "di"):
                self.slave.set_registers(1, t, 0, [rnd.random() < 0.5 for _ in range(200)])
        devices = [gateway.device("all", "test-all-types", 1)]
        if rw_unit:
            devices.append(gateway.device("rw", "test-rw", 2))
        self.ports = {}
        for s in servers:
            s.setdefault("port", fbtest.free_port())
            self.ports[s["name"]] = s["port"]
        self.gw = gateway.Gateway(
            self.procs, self.tmp, broker, definition_dirs=[self.defs_dir, MB_DEFS],
            buses=[gateway.tcp_bus(self.slave.port, devices, name="b",
                                   poll_interval_ms=POLL_MS)], users=users)
        self.gw.config["modbus_servers"] = servers
        self.gw.write()
        self.gw.start_driver("b")
        self.servers = {}
        for s in servers:
            self.servers[s["name"]] = self.procs.start(
                f"mbserver-{s['name']}", [MBSERVER, "-c", self.gw.config_path,
                                          "--server", s["name"], "-v"])
            if not fbtest.wait_port(s["port"], fbtest.slack(10)):
                self.procs.fail()
                self.fail(f"mbserver {s['name']} did not listen")

    def client(self, server="s"):
        c = ModbusTcpClient("127.0.0.1", port=self.ports[server], timeout=5)
        self.assertTrue(c.connect())
        self.addCleanup(c.close)
        return c

    def lib(self, *args, server="s"):
        r = subprocess.run([MBSCLIENT, args[0], "127.0.0.1", str(self.ports[server]),
                            *map(str, args[1:])], capture_output=True, text=True,
                           timeout=fbtest.slack(60))
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise AssertionError(f"mbsclient {args}: rc={r.returncode} {r.stdout} {r.stderr}")

    @staticmethod
    def read(c, table, address, count, unit):
        fn = {"coil": c.read_coils, "discrete_input": c.read_discrete_inputs,
              "holding_register": c.read_holding_registers,
              "input_register": c.read_input_registers}[table]
        rr = fn(address, count, slave=unit)
        if rr.isError():
            return ("exception", getattr(rr, "exception_code", None))
        if table in ("coil", "discrete_input"):
            return [int(b) for b in rr.bits[:count]]
        return list(rr.registers)

    def slave_words(self, unit, table, address, count):
        return [int(v) for v in self.slave.get_registers(unit, SLAVE_TABLE[table],
                                                         address, count)]

    def wait_served(self, c, table, address, count, unit, timeout=15):
        got = {}

        def ok():
            got["r"] = self.read(c, table, address, count, unit)
            return isinstance(got["r"], list)
        if not fbtest.wait_for(ok, fbtest.slack(timeout), 0.1):
            self.procs.fail()
            self.fail(f"{table} {address}+{count} of unit {unit} never served: {got}")
        return got["r"]

    def served_all(self, c):
        for q, table, address, w in self.layout:
            self.wait_served(c, table, address, w, 1)

    # ------------------------------------------------------------ reads
    def test_served_words_equal_the_slaves_for_every_type(self):
        self.start([{"name": "s", "bus": "b", "user": "any"}])
        c = self.client()
        self.served_all(c)
        kinds = shipped_kinds()
        self.assertGreaterEqual(len(self.layout), len(kinds))
        for q, table, address, w in self.layout:
            want = self.slave_words(1, table, address, w)
            self.assertEqual(self.read(c, table, address, w, 1), want,
                             f"pymodbus: {q['name']} ({table} {address}+{w})")
            got = self.lib("read", 1, READ_FC[table], address, w)
            self.assertEqual(got.get("words"), want,
                             f"libmodbus: {q['name']} ({table} {address}+{w})")
        # One read across many points, as a client scanning a register map.
        n = max(a + w for _, t, a, w in self.layout if t == "input_register")
        self.assertEqual(self.lib("read", 1, 4, 0, n)["words"],
                         self.slave_words(1, "input_register", 0, n))

    def test_client_reads_cause_no_bus_requests(self):
        self.start([{"name": "s", "bus": "b", "user": "any"}], rw_unit=False)
        c = self.client()
        self.served_all(c)
        window = 3.0

        def bus_reads(since, until):
            return len([e for e in self.slave.requests("read", since=since)
                        if e["t"] < until])
        t0 = time.monotonic()
        time.sleep(window)
        t1 = time.monotonic()
        quiet = bus_reads(t0, t1)
        load = self.lib("load", 1, 4, 0, 20, 4, 0, window)
        t2 = time.monotonic()
        busy = bus_reads(t1, t2)
        self.assertEqual(load["errors"], 0, load)
        self.assertGreater(load["requests"], 200, load)
        # The driver's own polling only: at most one cycle's blocks of jitter.
        blocks_per_cycle = max(1, quiet * POLL_MS / 1000.0 / window)
        self.assertLessEqual(busy, quiet * (t2 - t1) / window + 2 * blocks_per_cycle + 2,
                             f"{load['requests']} client reads caused bus reads: "
                             f"{quiet} in {window} s quiet, {busy} while loaded")

    def test_unpolled_register_is_exception_02(self):
        self.start([{"name": "s", "bus": "b", "user": "any"}], rw_unit=False)
        c = self.client()
        self.served_all(c)
        self.assertEqual(self.read(c, "holding_register", UNPOLLED_HR, 1, 1), ("exception", 2))
        self.assertEqual(self.lib("read", 1, 3, UNPOLLED_HR, 1), {"exception": 2})
        # A range running from polled into unpolled registers is refused whole.
        last = max(a + w for _, t, a, w in self.layout if t == "holding_register")
        self.assertEqual(self.lib("read", 1, 3, last - 1, 2), {"exception": 2})
        # A unit nobody serves: the gateway has no path to it.
        self.assertEqual(self.lib("read", 77, 3, 0, 1), {"exception": 10})
        # Functions the server does not have: illegal function.
        self.assertEqual(self.lib("write", 1, 6, 0, 1), {"exception": 1})

    def test_unit_id_remap(self):
        self.start([{"name": "s", "bus": "b", "user": "any", "unit_ids": {"all": 9}}])
        c = self.client()
        q, table, address, w = self.layout[0]
        got = self.wait_served(c, table, address, w, 9)
        self.assertEqual(got, self.slave_words(1, table, address, w))
        # Unit 1 is no longer served; the other device keeps its unit id.
        self.assertEqual(self.lib("read", 1, READ_FC[table], address, w), {"exception": 10})
        self.assertEqual(self.wait_served(c, "holding_register", 5, 1, 2),
                         self.slave_words(2, "holding_register", 5, 1))

    def test_dead_slave_is_exception_0B_or_the_last_words(self):
        self.start([{"name": "s", "bus": "b", "user": "any"},
                    {"name": "last", "bus": "b", "user": "any", "stale": "last"}],
                   rw_unit=False)
        c = self.client()
        self.served_all(c)
        q, table, address, w = next(x for x in self.layout if x[1] == "input_register")
        before = self.slave_words(1, table, address, w)
        self.slave.mute(1)
        fbtest.wait_for(lambda: self.lib("read", 1, 4, address, w) == {"exception": 11},
                        fbtest.slack(15), 0.2)
        self.assertEqual(self.lib("read", 1, 4, address, w), {"exception": 11})
        self.assertEqual(self.read(c, table, address, w, 1), ("exception", 11))
        # stale: last serves the last words the device answered.
        self.assertEqual(self.lib("read", 1, 4, address, w, server="last"),
                         {"words": before})

    # ------------------------------------------------------------ writes
    def test_forwarded_write_reaches_the_slave_after_read_back(self):
        self.start([{"name": "s", "bus": "b", "user": "any", "writes": "forward"}])
        c = self.client()
        self.wait_served(c, "holding_register", 5, 1, 2)
        t0 = time.monotonic()
        r = self.lib("write", 2, 6, 5, 1234)
        self.assertTrue(r.get("ok"), r)
        self.assertEqual(self.slave_words(2, "holding_register", 5, 1), [1234])
        ev = self.slave.requests(unit=2, since=t0)
        writes = [e for e in ev if e["kind"] == "write" and e["address"] == 5]
        self.assertEqual(len(writes), 1, ev)
        backs = [e for e in ev if e["kind"] == "read" and e["t"] > writes[0]["t"] and
                 e["address"] <= 5 < e["address"] + e["count"]]
        self.assertTrue(backs, f"no read-back after the write: {ev}")
        self.assertGreater(r["t"], backs[0]["t"], "reply came before the read-back")
        # The served word is the read-back one at once.
        self.assertEqual(self.lib("read", 2, 3, 5, 1), {"words": [1234]})
        # FC16 over a whole uint32, FC05 on a coil, through pymodbus.
        wr = c.write_registers(10, [0x0001, 0x2345], slave=2)
        self.assertFalse(wr.isError(), wr)
        self.assertEqual(self.slave_words(2, "holding_register", 10, 2), [1, 0x2345])
        wr = c.write_coil(3, True, slave=2)
        self.assertFalse(wr.isError(), wr)
        self.assertEqual(self.slave_words(2, "coil", 3, 1), [1])
        # Half a uint32, or a read-only point: illegal data address.
        self.assertEqual(self.lib("write", 2, 6, 10, 7), {"exception": 2})
        self.assertEqual(self.lib("write", 2, 6, 20, 7), {"exception": 2})
        # Out of the point's range (max 5000): illegal data value, not sent.
        self.assertEqual(self.lib("write", 2, 6, 5, 6000), {"exception": 3})
        self.assertEqual(self.slave_words(2, "holding_register", 5, 1), [1234])
        # The device does not answer the write: the driver's failure is 04.
        self.slave.mute(2)
        self.assertEqual(self.lib("write", 2, 6, 5, 77), {"exception": 4})

    def test_write_pending_across_a_driver_restart_gets_04_at_once(self):
        self.start([{"name": "s", "bus": "b", "user": "any", "writes": "forward"}])
        c = self.client()
        self.wait_served(c, "holding_register", 5, 1, 2)
        drv = self.gw.drivers["b"]
        drv.signal(signal.SIGSTOP)      # the command stays queued
        t0 = time.monotonic()
        w = subprocess.Popen([MBSCLIENT, "write", "127.0.0.1", str(self.ports["s"]), "2", "6",
                              "5", "321"], stdout=subprocess.PIPE, text=True)
        self.addCleanup(w.kill)
        time.sleep(1.0)
        self.assertIsNone(w.poll(), "answered before the driver could write")
        drv.kill()
        self.gw.start_driver("b")       # supersedes the table: the queue is gone
        out, _ = w.communicate(timeout=fbtest.slack(15))
        self.assertEqual(json.loads(out), {"exception": 4})
        # Not the 10 s result timeout: the table was let go, so at once.
        self.assertLess(time.monotonic() - t0, 8)
        self.wait_served(c, "holding_register", 5, 1, 2)

    def test_write_refused_for_a_read_only_user(self):
        self.start([{"name": "s", "bus": "b", "user": "reader", "writes": "forward"}],
                   users={"reader": {"rights": {"*": "read"}}})
        c = self.client()
        self.wait_served(c, "holding_register", 5, 1, 2)
        t0 = time.monotonic()
        self.assertEqual(self.lib("write", 2, 6, 5, 99), {"exception": 1})
        wr = c.write_coil(3, True, slave=2)
        self.assertTrue(wr.isError())
        time.sleep(1.0)
        self.assertEqual(self.slave.writes(unit=2, since=t0), [])

    def test_writes_off_refuses_every_write(self):
        self.start([{"name": "s", "bus": "b", "user": "any"}])
        c = self.client()
        self.wait_served(c, "holding_register", 5, 1, 2)
        t0 = time.monotonic()
        self.assertEqual(self.lib("write", 2, 6, 5, 99), {"exception": 1})
        self.assertEqual(self.lib("write", 2, 16, 10, 1, 2), {"exception": 1})
        time.sleep(0.5)
        self.assertEqual(self.slave.writes(unit=2, since=t0), [])

    def test_user_without_rights_sees_nothing(self):
        self.start([{"name": "s", "bus": "b", "user": "limited"}],
                   users={"limited": {"rights": {"rw": "read"}}})
        c = self.client()
        self.wait_served(c, "holding_register", 5, 1, 2)
        q, table, address, w = self.layout[0]
        self.assertEqual(self.lib("read", 1, READ_FC[table], address, w), {"exception": 2})

    # ------------------------------------------------------------ diagnostics
    def test_home_assistant_sees_the_servers_clients_and_rates(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        # The exporter's user may not see the error rate: hidden like any point.
        self.start([{"name": "s", "bus": "b", "user": "any"}], broker=broker,
                   users={"any": {"rights": {"*": "write"}},
                          "homeassistant": {"rights": {"*": "read",
                                                       "mbs-s/_diag_errors_per_s": "none"}}})
        node = self.gw.node_id()
        sub = fbtest.Subscriber(broker, ["homeassistant/#", self.gw.base() + "/#"])
        sub.wait_subscribed()
        self.gw.start_exporter()
        disc = sub.wait_message(f"homeassistant/device/{node}_mbs-s/config",
                                timeout=fbtest.slack(15))
        self.assertIsNotNone(disc, "no discovery for the server's device")
        doc = disc.json()
        self.assertEqual(doc["dev"]["name"], "Modbus server s")
        self.assertEqual(set(doc["cmps"]), {"_diag_clients", "_diag_requests_per_s"})
        for c in doc["cmps"].values():
            self.assertEqual(c["entity_category"], "diagnostic")
            self.assertEqual(c["p"], "sensor")
        state = f"{self.gw.base()}/mbs-s/state"

        def latest(key):
            m = sub.latest(state)
            return m.json().get(key) if m else None
        self.assertTrue(fbtest.wait_for(lambda: latest("_diag_clients") == 0,
                                        fbtest.slack(10), 0.1), sub.latest(state))
        self.assertNotIn("_diag_errors_per_s", sub.latest(state).json())
        self.assertTrue(fbtest.wait_for(lambda: "words" in self.lib("read", 2, 3, 5, 1),
                                        fbtest.slack(15), 0.2), "unit 2 never served")
        # Three libmodbus clients at 20 Hz for a while, then gone.
        load = subprocess.Popen([MBSCLIENT, "load", "127.0.0.1", str(self.ports["s"]), "2",
                                 "3", "5", "1", "3", "20", str(int(fbtest.slack(8)))],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(load.kill)
        self.assertTrue(fbtest.wait_for(lambda: latest("_diag_clients") == 3,
                                        fbtest.slack(10), 0.1), sub.latest(state))
        self.assertTrue(fbtest.wait_for(lambda: (latest("_diag_requests_per_s") or 0) > 20,
                                        fbtest.slack(10), 0.1), sub.latest(state))
        out, err = load.communicate(timeout=fbtest.slack(30))
        self.assertEqual(load.returncode, 0, err)
        self.assertTrue(fbtest.wait_for(lambda: latest("_diag_clients") == 0,
                                        fbtest.slack(10), 0.1), sub.latest(state))
        self.assertTrue(fbtest.wait_for(lambda: latest("_diag_requests_per_s") == 0,
                                        fbtest.slack(10), 0.1), sub.latest(state))
        # The server stops: its device goes unavailable like a dead driver's.
        self.servers["s"].stop()
        avail = f"{self.gw.base()}/mbs-s/availability"
        self.assertTrue(fbtest.wait_for(
            lambda: (sub.latest(avail) and sub.latest(avail).payload) == "offline",
            fbtest.slack(15), 0.2), sub.latest(avail))

    # ------------------------------------------------------------ clients
    def test_fifty_clients_at_10_hz_while_the_driver_polls(self):
        self.start([{"name": "s", "bus": "b", "user": "any", "max_clients": 64}],
                   rw_unit=False)
        c = self.client()
        self.served_all(c)
        seconds = 20
        t0 = time.monotonic()
        load = self.lib("load", 1, 4, 0, 20, 50, 10, seconds)
        t1 = time.monotonic()
        self.assertEqual(load["errors"], 0, load)
        self.assertGreaterEqual(load["requests"], 50 * 10 * seconds * 0.9, load)
        # The driver kept polling meanwhile.
        reads = [e for e in self.slave.requests("read", since=t0) if e["t"] < t1]
        self.assertGreater(len(reads), seconds * 1000 / POLL_MS * 0.5)
        self.assertTrue(self.servers["s"].alive())

    def test_hostile_clients_are_closed_and_others_served(self):
        self.start([{"name": "s", "bus": "b", "user": "any", "max_clients": 4,
                     "idle_timeout_s": 3}], rw_unit=False)
        c = self.client()
        self.served_all(c)
        port = self.ports["s"]
        # Not Modbus TCP (protocol id 0x4854 of "HTTP"): closed at once.
        s1 = socket.create_connection(("127.0.0.1", port))
        s1.sendall(b"GET / HTTP/1.1\r\n\r\n")
        s1.settimeout(fbtest.slack(3))
        self.assertEqual(s1.recv(100), b"")
        # Slowloris: half a request, then nothing: closed after the frame timeout.
        s2 = socket.create_connection(("127.0.0.1", port))
        s2.sendall(bytes([0, 1, 0, 0, 0, 6, 1]))
        s2.settimeout(fbtest.slack(10))
        t = time.monotonic()
        self.assertEqual(s2.recv(100), b"")
        self.assertLess(time.monotonic() - t, fbtest.slack(8))
        # Over max_clients: refused (closed), the existing ones keep working.
        extra = [socket.create_connection(("127.0.0.1", port)) for _ in range(6)]
        time.sleep(0.5)
        closed = 0
        for s in extra:
            s.settimeout(0.5)
            try:
                closed += s.recv(1) == b""
            except socket.timeout:
                pass
        self.assertGreaterEqual(closed, 2)
        for s in extra:
            s.close()
        # A request pipelined byte by byte still gets its answer.
        s3 = socket.create_connection(("127.0.0.1", port))
        req = bytes([0, 9, 0, 0, 0, 6, 1, 4, 0, 0, 0, 1])
        for b in req:
            s3.sendall(bytes([b]))
            time.sleep(0.01)
        s3.settimeout(fbtest.slack(3))
        rep = s3.recv(100)
        self.assertEqual(rep[:2], b"\x00\x09")
        self.assertEqual(rep[7], 4)
        s3.close()
        self.assertIsInstance(self.read(self.client(), "input_register", 0, 1, 1), list)
        # An idle client is closed after idle_timeout_s.
        s4 = socket.create_connection(("127.0.0.1", port))
        s4.settimeout(fbtest.slack(8))
        self.assertEqual(s4.recv(1), b"")
        self.assertTrue(self.servers["s"].alive())

    def test_check_reports_a_bad_server_section(self):
        self.start([{"name": "s", "bus": "b", "user": "any"}], rw_unit=False)
        self.gw.config["modbus_servers"] = [
            {"name": "x", "bus": ["nope"], "user": "any", "stale": "old", "portt": 1}]
        self.gw.write()
        r = subprocess.run([MBSERVER, "-c", self.gw.config_path, "--check", "--server", "x"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn('bus: expected the name of a configured bus, got "nope"', r.stdout)
        self.assertIn("stale", r.stdout)
        self.assertIn("did you mean", r.stdout)
        # Two devices under one unit id; a unit_ids entry naming no device.
        self.gw.config["modbus_servers"] = [
            {"name": "x", "bus": "b", "user": "any", "unit_ids": {"all": 2, "ghost": 9}}]
        self.gw.config["buses"][0]["devices"].append(gateway.device("two", "test-rw", 2))
        self.gw.write()
        r = subprocess.run([MBSERVER, "-c", self.gw.config_path, "--check", "--server", "x"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("devices all and two would both be served as unit 2", r.stdout)
        self.assertIn("unit_ids.ghost: expected a device on the server's buses", r.stdout)
        # Remapped apart, the same gateway is fine, and the remap is served.
        self.gw.config["modbus_servers"][0]["unit_ids"] = {"all": 9}
        self.gw.write()
        r = subprocess.run([MBSERVER, "-c", self.gw.config_path, "--check", "--server", "x"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout)


if __name__ == "__main__":
    fbtest.main()
