#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The bus scan (docs/bus-scan.md) against real pymodbus slaves.

RTU slaves sit behind modbus_gate.py: a pty that forwards a request to the
slaves only at one framing (a pty by itself has no baud rate or parity, so
any framing would "answer"), that lets two slaves on one id collide as on
RS-485, and that logs every request frame it saw (the sniffer).  A Modbus
TCP gateway answering exception 0x0B ("target device failed to respond")
for units behind it that are absent is a small server in this file."""

import json
import os
import socket
import struct
import subprocess
import threading
import time

import fbtest
import gateway

HERE = os.path.dirname(os.path.abspath(__file__))
DEFS = os.path.join(HERE, "devices")
SCAN = gateway.MODBUS
CTL = os.path.join(gateway.BUILD, "src", "ctl", "fieldbridgectl")
MBTOOL = os.path.join(gateway.BUILD, "tests", "modbus", "mbtool")
READ_FCS = {3, 4, 0x11, 0x2B}


class ExceptionGateway:
    """Modbus TCP: unit `present` answers FC03 with register value 42, every
    other unit gets exception 0x0B, like a TCP-to-RTU gateway whose device
    at that id did not answer."""

    def __init__(self, present):
        self.present = present
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        self.stop = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self.client, args=(conn,), daemon=True).start()

    def client(self, conn):
        buf = b""
        with conn:
            while not self.stop:
                data = conn.recv(512)
                if not data:
                    return
                buf += data
                while len(buf) >= 7 and len(buf) >= 6 + struct.unpack(">H", buf[4:6])[0]:
                    n = 6 + struct.unpack(">H", buf[4:6])[0]
                    adu, buf = buf[:n], buf[n:]
                    tid, unit, fc = adu[0:2], adu[6], adu[7]
                    self.requests.append((unit, fc))
                    if unit == self.present and fc == 3:
                        pdu = bytes([3, 2, 0, 42])
                    else:
                        pdu = bytes([fc | 0x80, 0x0B])
                    conn.sendall(tid + b"\0\0" + struct.pack(">H", len(pdu) + 1)
                                 + bytes([unit]) + pdu)

    def close(self):
        self.stop = True
        self.sock.close()


class ModbusScan(fbtest.TestCase):
    def setUp(self):
        super().setUp()
        fbtest.which_or_skip("socat")

    def line(self, units, framing="19200:E:1", copies=1):
        """`copies` slaves (each on its own socat pair) behind one gate."""
        slaves, backs = [], []
        for i in range(copies):
            pair = fbtest.SerialPair(self.procs, name=f"socat{i}")
            slaves.append(fbtest.ModbusSlave(self.procs, units, rtu=pair.b,
                                             baud=int(framing.split(":")[0]),
                                             name=f"slave{i}"))
            backs.append(pair.a)
        gate = fbtest.Gate(self.procs, backs, framing)
        return gate, slaves

    def scan(self, *args, rc=0, timeout=240):
        r = subprocess.run([SCAN, "--scan", "--json", "--definitions",
                            gateway.DEVICES, *map(str, args)],
                           capture_output=True, text=True, timeout=timeout)
        self.assertEqual(r.returncode, rc, f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return json.loads(r.stdout) if rc == 0 else r

    def test_scan_finds_exactly_the_ids_and_the_framing(self):
        gate, (slave,) = self.line({3: "holding", 17: "holding"})
        slave.set_registers(3, "hr", 0, [1234])
        slave.set_registers(17, "hr", 2, [17])     # PZEM-004T: its address register
        # A loaded machine's Python slave can answer later than a device:
        # more turnaround under sanitizers.
        doc = self.scan("--device", gate.path, "--ids", "1-30", "--fc11",
                        "--turnaround-ms", int(fbtest.slack(50)))
        found = {d["unit_id"]: d for d in doc["devices"]}
        self.assertEqual(sorted(found), [3, 17], doc)
        self.assertTrue(found[3]["server_id"].startswith("Pymodbus"), found[3])
        self.assertEqual(doc["framings_found"],
                         [{"baud": 19200, "parity": "E", "stop_bits": 1}])
        for d in found.values():
            self.assertEqual((d["baud"], d["parity"], d["stop_bits"]), (19200, "E", 1))
            self.assertFalse(d["duplicate_suspect"], d)
            self.assertFalse(d["late_reply"], d)
            self.assertGreater(d["samples"], 0)
            self.assertLessEqual(d["latency_ms_p50"], d["latency_ms_p99"])
        self.assertEqual(found[3]["value"], 1234)
        self.assertEqual(found[3]["definition_candidates"], [])
        self.assertIn("peacefair-pzem-004t", found[17]["definition_candidates"])
        # the sniffer: reads only, never unit 0, at every framing tried
        frames = gate.frames()
        self.assertGreater(len(frames), 30)
        self.assertEqual({f["fc"] for f in frames} - READ_FCS, set(), frames[:5])
        self.assertNotIn(0, {f["unit"] for f in frames})
        self.assertGreater(len({tuple(f["framing"]) for f in frames}), 3)
        self.assertEqual(slave.writes(), [])

    def test_two_devices_on_one_id_are_flagged(self):
        gate, slaves = self.line({5: "holding"}, copies=2)
        slaves[0].set_registers(5, "hr", 0, [0x00FF])
        slaves[1].set_registers(5, "hr", 0, [0x0F0F])
        doc = self.scan("--device", gate.path, "--bauds", 19200, "--parities", "E",
                        "--ids", "1-8")
        self.assertEqual([d["unit_id"] for d in doc["devices"]], [5], doc)
        self.assertTrue(doc["devices"][0]["duplicate_suspect"], doc)
        self.assertIn("two devices", doc["devices"][0]["duplicate_why"])
        self.assertGreater(doc["crc_errors"], 0)

    def test_late_reply_is_dropped_and_the_timeout_raised(self):
        gate, (slave,) = self.line({4: "holding"})
        # without the delay, and with room for a loaded machine: not late
        fast = self.scan("--device", gate.path, "--bauds", 19200, "--parities", "E",
                         "--ids", "1-8", "--turnaround-ms", 300)["devices"]
        self.assertEqual([d["unit_id"] for d in fast], [4])
        self.assertFalse(fast[0]["late_reply"])
        slave.set_delay(0.12)
        doc = self.scan("--device", gate.path, "--bauds", 19200, "--parities", "E",
                        "--ids", "1-8")
        self.assertEqual([d["unit_id"] for d in doc["devices"]], [4], doc)
        d = doc["devices"][0]
        self.assertTrue(d["late_reply"], d)
        self.assertIn("late reply from unit 4", d["late_note"])
        self.assertGreaterEqual(doc["late_replies"], 1)
        self.assertGreaterEqual(d["latency_ms_p50"], 120)
        # twice the latency, far above this scan's 70 ms probe timeout
        self.assertGreaterEqual(d["suggested_response_timeout_ms"], 240)

    def test_tcp_gateway_exception_0b_is_absent(self):
        gw = ExceptionGateway(present=7)
        self.addCleanup(gw.close)
        doc = self.scan("--host", "127.0.0.1", "--port", gw.port, "--ids", "1-20")
        self.assertEqual([d["unit_id"] for d in doc["devices"]], [7], doc)
        self.assertEqual(doc["devices"][0]["value"], 42)
        self.assertEqual(doc["gateway_absent"], 19)
        self.assertFalse(doc["ignores_unit_id"])
        self.assertEqual({fc for _, fc in gw.requests} - READ_FCS, set())

    def start_driver(self, gate):
        gw = gateway.Gateway(self.procs, self.tmp, None, definition_dirs=[DEFS], buses=[{
            "name": "b", "transport": "rtu", "device": gate.path, "baud": 19200,
            "parity": "E", "poll_interval_ms": 200, "response_timeout_ms": 200,
            "devices": [gateway.device("d3", "test-simple", 3)]}])
        drv = gw.start_driver("b")
        return gw, drv

    def test_a_running_driver_holding_the_line_is_named_and_exit_7(self):
        gate, (slave,) = self.line({3: "holding"})
        gw, drv = self.start_driver(gate)
        self.assertIsNotNone(slave.wait_request(lambda e: e["unit"] == 3, timeout=15),
                             "the driver never polled")
        r = self.scan("--device", gate.path, "--ids", "1-5", rc=7)
        self.assertIn("in use by", r.stderr)
        self.assertIn(f"pid {drv.pid}", r.stderr)

    def test_ctl_bus_scan_through_the_running_driver_resumes_polling(self):
        gate, (slave,) = self.line({3: "holding", 17: "holding"})
        slave.set_registers(17, "hr", 2, [17])
        gw, drv = self.start_driver(gate)
        self.assertIsNotNone(slave.wait_request(lambda e: e["unit"] == 3, timeout=15),
                             "the driver never polled")
        r = subprocess.run([CTL, "-c", gw.config_path, "--json", "bus", "scan", "b",
                            "--ids", "1-30", "--turnaround-ms", str(int(fbtest.slack(50)))],
                           capture_output=True, text=True, timeout=120)
        end = time.monotonic()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["status"], "done", doc)
        found = {d["unit_id"]: d for d in doc["devices"]}
        self.assertEqual(sorted(found), [3, 17], doc)
        self.assertEqual(found[3]["baud"], 19200)
        self.assertIn("peacefair-pzem-004t", found[17]["definition_candidates"])
        # while it ran, only the scan talked: unit 17 is no device of the bus
        self.assertIn("polling paused", drv.stderr_text())
        self.assertEqual({f["fc"] for f in gate.frames()} - READ_FCS, set())
        # polling resumes: unit 3's block is read again after the scan
        self.assertIsNotNone(slave.wait_request(lambda e: e["unit"] == 3 and e["t"] > end,
                                                timeout=fbtest.slack(5)),
                             "no poll after the scan")
        self.assertIn("polling resumes", drv.stderr_text())

    def scanning(self, gw):
        """The bus's _diag_bus_scanning point of device d3 (None if unset)."""
        r = subprocess.run([MBTOOL, "dump", gw.table_path("b")], capture_output=True,
                           text=True, timeout=30)
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)["points"].get("d3/_diag_bus_scanning", {}).get("v")

    def test_ctl_cancel_stops_a_running_scan_and_the_diag_point(self):
        gate, (slave,) = self.line({3: "holding"})
        gw, drv = self.start_driver(gate)
        self.assertIsNotNone(slave.wait_request(lambda e: e["unit"] == 3, timeout=15),
                             "the driver never polled")
        self.assertTrue(fbtest.wait_for(lambda: self.scanning(gw) is False, 15, 0.2),
                        "no _diag_bus_scanning=false before the scan")
        # 1-247 at 200 ms per absent id: ~50 s, far longer than the test waits
        scan = subprocess.Popen([CTL, "-c", gw.config_path, "--json", "bus", "scan", "b",
                                 "--ids", "1-247"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            self.assertTrue(fbtest.wait_for(lambda: self.scanning(gw) is True,
                                            fbtest.slack(10), 0.2),
                            "_diag_bus_scanning never went on")
            r = subprocess.run([CTL, "-c", gw.config_path, "--json", "bus", "scan", "b",
                                "--cancel"], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("cancelled the scan", json.loads(r.stdout)["summary"])
            out, err = scan.communicate(timeout=fbtest.slack(10))
        finally:
            if scan.poll() is None:
                scan.kill()
                scan.wait()
        self.assertNotEqual(scan.returncode, 0, out + err)
        doc = json.loads(out)
        self.assertEqual(doc["status"], "failed", doc)
        self.assertIn("cancelled by", doc["summary"])
        self.assertLess(max((f["unit"] for f in gate.frames()), default=0), 247,
                        "the scan ran to the end")
        self.assertTrue(fbtest.wait_for(lambda: self.scanning(gw) is False,
                                        fbtest.slack(5), 0.2),
                        "_diag_bus_scanning stayed on after the cancel")
        end = time.monotonic()
        self.assertIsNotNone(slave.wait_request(lambda e: e["unit"] == 3 and e["t"] > end,
                                                timeout=fbtest.slack(5)),
                             "no poll after the cancel")
        # with no scan running, a cancel says so
        r = subprocess.run([CTL, "-c", gw.config_path, "bus", "scan", "b", "--cancel"],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no scan is running on bus b", r.stdout + r.stderr)

    def test_add_stages_the_matched_device_validated(self):
        gate, (slave,) = self.line({3: "holding", 17: "holding"})
        slave.set_registers(17, "hr", 2, [17])     # PZEM-004T: its address register
        etc = os.path.join(self.tmp, "etc")
        os.makedirs(os.path.join(etc, "buses.d"))
        main = os.path.join(etc, "fieldbridge.json")
        with open(main, "w") as f:
            json.dump({"gateway": {"id": f"t{os.getpid()}", "state_dir":
                                   os.path.join(self.tmp, "state"),
                                   "definition_dirs": [gateway.DEVICES, DEFS]}}, f)
        bus = os.path.join(etc, "buses.d", "rs485.json")
        with open(bus, "w") as f:
            json.dump({"transport": "rtu", "device": gate.path, "baud": 19200,
                       "parity": "E", "devices": [
                           {"id": "d3", "definition": "test-simple", "unit_id": 3}]}, f)
        r = subprocess.run([SCAN, "--scan", "-c", main, "--device", gate.path,
                            "--bauds", "19200", "--parities", "E", "--ids", "1-20",
                            "--add", "rs485"], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("staged device peacefair_pzem_004t_17", r.stderr)
        self.assertIn("unit 3: not added (no definition matched)", r.stderr)
        with open(bus) as f:
            devices = {d["id"]: d for d in json.load(f)["devices"]}
        self.assertEqual(devices["peacefair_pzem_004t_17"]["definition"],
                         "peacefair-pzem-004t")
        self.assertEqual(devices["peacefair_pzem_004t_17"]["unit_id"], 17)
        self.assertEqual(sorted(devices), ["d3", "peacefair_pzem_004t_17"])
        chk = subprocess.run([SCAN, "-c", main, "--check", "--bus", "rs485"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(chk.returncode, 0, chk.stdout + chk.stderr)


if __name__ == "__main__":
    fbtest.main()
