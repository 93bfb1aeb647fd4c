#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""test_harness.py -- exercises the fbtest harness against the real tools.

    PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 tests/harness/test_harness.py [-v] [Test.name]

Covers: process registry cleanup (incl. grandchildren, exceptions), plain
broker retained/non-retained flags and QoS, retained snapshots and clearing,
password auth, TLS with CA verification (and its failures: no CA, wrong name,
self-signed, expired), client-certificate listeners, websockets upgrade (ws and
wss), broker restart on the same ports, the pymodbus slave over TCP (SDM120
float at address 0, coil writes in the event log, changing values, mute,
restart) and over RTU through a socat pty pair with two unit ids.
Exit code 0 when everything passed, 1 on a failure, 77 if the required tools are missing.
"""

import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fbtest  # noqa: E402

TOOLS = ("mosquitto", "mosquitto_sub", "mosquitto_pub", "mosquitto_passwd",
         "openssl", "socat")


def pid_gone(pid):
    """True if pid no longer exists (or is a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].startswith("Z")
    except FileNotFoundError:
        return True


def ws_upgrade(port, use_tls=False, cafile=None):
    """Send an HTTP websocket upgrade for /mqtt; return the status line."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock = raw
    if use_tls:
        ctx = ssl.create_default_context(cafile=cafile)
        sock = ctx.wrap_socket(raw, server_hostname="localhost")
    req = (f"GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n")
    try:
        sock.sendall(req.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.decode("latin-1")
    finally:
        sock.close()


class CertsMixin:
    @classmethod
    def setUpClass(cls):
        cls._certdir = tempfile.mkdtemp(prefix="fbtest-certs-")
        cls.certs = fbtest.Certs(cls._certdir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls._certdir, ignore_errors=True)


class T01Procs(fbtest.TestCase):
    def test_group_killed_on_exception(self):
        with self.assertRaises(ZeroDivisionError):
            with fbtest.Procs(name="inner", keep=False, dump=False) as procs:
                # sh forks a grandchild: the group kill must take both.
                p = procs.start("sh", ["sh", "-c", "sleep 300 & echo $!; wait"])
                self.assertTrue(fbtest.wait_for(lambda: p.stdout_text().strip(), 5))
                grandchild = int(p.stdout_text().split()[0])
                _ = 1 / 0
        self.assertTrue(fbtest.wait_for(lambda: pid_gone(p.pid), 5))
        self.assertTrue(fbtest.wait_for(lambda: pid_gone(grandchild), 5))

    def test_sigterm_ignored_gets_sigkill(self):
        with fbtest.Procs(name="stubborn", keep=False) as procs:
            p = procs.start("stubborn", ["sh", "-c", "trap '' TERM; echo up; sleep 300"])
            self.assertTrue(fbtest.wait_for(lambda: "up" in p.stdout_text(), 5))
            t0 = time.monotonic()
            p.stop(grace=0.5)
            self.assertLess(time.monotonic() - t0, 3)
        self.assertTrue(pid_gone(p.pid))

    def test_helpers(self):
        self.assertTrue(fbtest.topic_matches("a/+/c", "a/b/c"))
        self.assertTrue(fbtest.topic_matches("a/#", "a"))
        self.assertTrue(fbtest.topic_matches("#", "x/y"))
        self.assertFalse(fbtest.topic_matches("#", "$SYS/x"))
        self.assertFalse(fbtest.topic_matches("a/+", "a/b/c"))
        self.assertFalse(fbtest.topic_matches("a/b", "a/b/c"))
        port = fbtest.free_port()
        self.assertFalse(fbtest.wait_port(port, 0.2))
        self.assertEqual(fbtest.regs_from_float32(230.0), [0x4366, 0])
        self.assertEqual(fbtest.float32_from_regs(0x4366, 0), 230.0)


class T02PlainBroker(fbtest.TestCase):
    def test_retained_flags_qos_snapshot(self):
        b = fbtest.Broker(self.procs, self.tmp)
        fbtest.publish(b, "fb/old", '{"v": "before sub"}', retain=True)
        sub = fbtest.Subscriber(b, ["fb/#"], qos=1)
        m = sub.wait_message("fb/old", 5)
        self.assertIsNotNone(m)
        self.assertTrue(m.retained)          # delivered from the retained store
        self.assertEqual(m.json(), {"v": "before sub"})

        t0 = time.monotonic()
        fbtest.publish(b, "fb/live", "two words", qos=1)
        fbtest.publish(b, "fb/kept", "{}", qos=1, retain=True)
        live = sub.wait_message("fb/live", 5, since=t0)
        kept = sub.wait_message("fb/kept", 5, since=t0)
        self.assertEqual((live.payload, live.retained, live.qos), ("two words", False, 1))
        # A live publish is forwarded with retain=0 even if it was retained.
        self.assertFalse(kept.retained)
        self.assertEqual(kept.qos, 1)
        fbtest.publish(b, "fb/bin", b"\x00\x01\n\xff")
        self.assertEqual(sub.wait_message("fb/bin", 5).raw, b"\x00\x01\n\xff")
        self.assertEqual(len(sub.messages("fb/+")), 4)
        self.assertEqual(sub.latest("fb/#").topic, "fb/bin")

        snap = fbtest.retained_snapshot(b, "fb/#")
        self.assertEqual(snap, {"fb/old": '{"v": "before sub"}', "fb/kept": "{}"})
        fbtest.clear_retained(b, "fb/old")
        self.assertEqual(set(fbtest.retained_snapshot(b, "fb/#")), {"fb/kept"})
        sub.clear()
        self.assertEqual(sub.messages(), [])
        self.assertIn("New client connected", b.log_text())

    def test_restart_keeps_ports(self):
        b = fbtest.Broker(self.procs, self.tmp, websockets=True)
        ports = (b.port, b.ws_port)
        old_pid = b.proc.pid
        sub = fbtest.Subscriber(b, ["x"])
        b.restart()
        self.assertNotEqual(b.proc.pid, old_pid)
        self.assertEqual((b.port, b.ws_port), ports)
        # the running mosquitto_sub reconnects and resubscribes on its own
        self.assertTrue(sub.wait_subscribed(10, count=2))
        fbtest.publish(b, "x", "after restart")
        self.assertEqual(sub.wait_message("x", 5).payload, "after restart")
        b.restart(kill=True)             # SIGKILL path too
        self.assertTrue(fbtest.port_open(b.port))
        self.assertTrue(pid_gone(old_pid))

    def test_password_auth(self):
        b = fbtest.Broker(self.procs, self.tmp, users={"fb": "s3cret", "other": "x"},
                          allow_anonymous=False)
        sub = fbtest.Subscriber(b, ["a"], username="fb", password="s3cret")
        fbtest.publish(b, "a", "hi", username="other", password="x")
        self.assertIsNotNone(sub.wait_message("a", 5))
        r = fbtest.publish(b, "a", "hi", check=False)
        self.assertNotEqual(r.returncode, 0)
        r = fbtest.publish(b, "a", "hi", username="fb", password="bad", check=False)
        self.assertNotEqual(r.returncode, 0)


class T03Tls(CertsMixin, fbtest.TestCase):
    def test_ca_verification(self):
        b = fbtest.Broker(self.procs, self.tmp, tls="server", certs=self.certs)
        sub = fbtest.Subscriber(b, ["t"], tls=True)          # --cafile ca.crt
        fbtest.publish(b, "t", "over tls", tls=True)
        self.assertEqual(sub.wait_message("t", 5).payload, "over tls")
        # Without our CA (system CAs only) the handshake must fail.
        bad = fbtest.Subscriber(b, ["t"], tls=True, cafile=False, timeout=5,
                                raise_on_fail=False, name="sub-noca")
        self.assertFalse(bad.subscribed)
        r = fbtest.publish(b, "t", "x", tls=True, cafile=False, check=False)
        self.assertNotEqual(r.returncode, 0)
        # A plain MQTT client on the TLS port gets nowhere either.
        r = fbtest.publish(b, "t", "x", port=b.tls_port, check=False, timeout=15)
        self.assertNotEqual(r.returncode, 0)

    def test_bad_server_certs(self):
        for kind in ("wrong_name", "self_signed", "expired"):
            with self.subTest(kind=kind):
                b = fbtest.Broker(self.procs, self.tmp, tls=kind, certs=self.certs,
                                  name=f"mosq-{kind}")
                r = fbtest.publish(b, "t", "x", tls=True, check=False)
                self.assertNotEqual(r.returncode, 0, kind)
                if kind == "wrong_name":
                    # same CA, so only the name check fails: --insecure passes.
                    fbtest.publish(b, "t", "x", tls=True, insecure=True)
                b.stop()

    def test_client_cert_required(self):
        c = self.certs
        b = fbtest.Broker(self.procs, self.tmp, tls="server", certs=c,
                          require_certificate=True)
        sub = fbtest.Subscriber(b, ["t"], tls=True, cert=c.client_cert, key=c.client_key)
        fbtest.publish(b, "t", "with cert", tls=True, cert=c.client_cert, key=c.client_key)
        self.assertEqual(sub.wait_message("t", 5).payload, "with cert")
        r = fbtest.publish(b, "t", "x", tls=True, check=False)
        self.assertNotEqual(r.returncode, 0)
        r = fbtest.publish(b, "t", "x", tls=True, cert=c.untrusted_client_cert,
                           key=c.untrusted_client_key, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIsNone(sub.wait_message(lambda m: m.payload == "x", 0.5))

    def test_cert_files(self):
        c = self.certs

        def text(*args):
            return subprocess.run(["openssl", *args], capture_output=True,
                                  text=True, check=True).stdout
        self.assertIn("IP Address:127.0.0.1", text("x509", "-in", c.server_cert,
                                                  "-noout", "-ext", "subjectAltName"))
        self.assertNotIn("127.0.0.1", text("x509", "-in", c.wrong_cert, "-noout",
                                           "-ext", "subjectAltName"))
        r = subprocess.run(["openssl", "x509", "-in", c.expired_cert, "-noout",
                            "-checkend", "0"], capture_output=True)
        self.assertNotEqual(r.returncode, 0)          # already expired
        r = subprocess.run(["openssl", "verify", "-CAfile", c.ca, c.expired_cert],
                           capture_output=True, text=True)
        self.assertIn("expired", r.stdout + r.stderr)
        text("verify", "-CAfile", c.ca, c.server_cert, c.client_cert, c.wrong_cert)
        self.assertIn("CN = fieldbridge", text("x509", "-in", c.client_cert,
                                               "-noout", "-subject"))
        with open(c.client_key_encrypted) as f:
            self.assertIn("ENCRYPTED", f.read())
        with open(c.client_key_encrypted_legacy) as f:
            self.assertIn("Proc-Type: 4,ENCRYPTED", f.read())
        plain = text("pkey", "-in", c.client_key, "-pubout")
        for enc in (c.client_key_encrypted, c.client_key_encrypted_legacy):
            self.assertEqual(text("pkey", "-in", enc, "-passin",
                                  f"pass:{c.client_key_password}", "-pubout"), plain)
        r = subprocess.run(["openssl", "pkey", "-in", c.client_key_encrypted,
                            "-passin", "pass:wrong"], capture_output=True)
        self.assertNotEqual(r.returncode, 0)


class T04Websockets(CertsMixin, fbtest.TestCase):
    def test_ws_and_wss_upgrade(self):
        b = fbtest.Broker(self.procs, self.tmp, websockets=True, ws_tls=True,
                          certs=self.certs)
        resp = ws_upgrade(b.ws_port)
        self.assertTrue(resp.startswith("HTTP/1.1 101"), resp)
        self.assertIn("sec-websocket-protocol: mqtt", resp.lower())
        resp = ws_upgrade(b.wss_port, use_tls=True, cafile=self.certs.ca)
        self.assertTrue(resp.startswith("HTTP/1.1 101"), resp)
        # listeners are bound to 127.0.0.1 only
        out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout \
            if shutil.which("ss") else ""
        for line in out.splitlines():
            if f":{b.ws_port} " in line:
                self.assertIn("127.0.0.1:", line)


class T05ModbusTcp(fbtest.TestCase):
    def client(self, port):
        from pymodbus.client import ModbusTcpClient
        c = ModbusTcpClient("127.0.0.1", port=port, timeout=2)
        self.assertTrue(c.connect())
        self.addCleanup(c.close)
        return c

    def test_sdm120_and_relay(self):
        s = fbtest.ModbusSlave(self.procs, {1: "sdm120", 2: "relay8", 3: "holding"})
        c = self.client(s.port)
        r = c.read_input_registers(0, 2, slave=1)
        self.assertFalse(r.isError(), r)
        self.assertAlmostEqual(fbtest.float32_from_regs(*r.registers), 230.0, places=3)
        r = c.read_input_registers(0x0046, 2, slave=1)
        self.assertAlmostEqual(fbtest.float32_from_regs(*r.registers), 50.0, places=3)
        self.assertAlmostEqual(s.get_float(1, "ir", 0x0048), 100.0, places=3)

        t0 = time.monotonic()
        self.assertFalse(c.write_coil(5, True, slave=2).isError())
        self.assertEqual(s.coils(2), [False] * 5 + [True, False, False])
        ev = s.writes(unit=2)
        self.assertEqual(len(ev), 1)
        self.assertEqual((ev[0]["fc"], ev[0]["address"], ev[0]["values"]), (5, 5, [True]))
        self.assertGreaterEqual(ev[0]["t"], t0)           # shared CLOCK_MONOTONIC
        self.assertLessEqual(ev[0]["t"], time.monotonic())
        c.write_coils(0, [True, True], slave=2)
        self.assertEqual(s.writes(unit=2)[-1]["values"], [True, True])
        # Out of range (relay8 has 8 coils) -> exception 2.
        r = c.read_coils(0, 9, slave=2)
        self.assertTrue(r.isError())
        self.assertEqual(getattr(r, "exception_code", None), 2)

        c.write_registers(10, [1, 2, 3], slave=3)
        self.assertEqual(s.get_registers(3, "hr", 10, 3), [1, 2, 3])
        s.set_registers(3, "hr", 199, [777])
        self.assertEqual(c.read_holding_registers(199, 1, slave=3).registers, [777])
        s.set_float(1, "ir", 0, 231.5)
        r = c.read_input_registers(0, 2, slave=1)
        self.assertEqual(fbtest.float32_from_regs(*r.registers), 231.5)

        kinds = [(e["kind"], e["unit"]) for e in s.requests()]
        self.assertEqual(kinds[0], ("read", 1))
        self.assertEqual(sum(1 for k in kinds if k[0] == "write"), 3)
        s.clear_requests()
        self.assertEqual(s.requests(), [])

    def test_changing_freeze_mute_restart(self):
        s = fbtest.ModbusSlave(self.procs, {1: "sdm120"}, changing=True, period=0.1)
        seen = set()
        self.assertTrue(fbtest.wait_for(
            lambda: seen.add(round(s.get_float(1, "ir", 0), 1)) or len(seen) >= 3, 5))
        s.freeze()
        v = s.get_float(1, "ir", 0x0048)
        time.sleep(0.3)
        self.assertEqual(s.get_float(1, "ir", 0x0048), v)
        s.tick(10)
        self.assertAlmostEqual(s.get_float(1, "ir", 0x0048), v + 0.1, places=3)

        c = self.client(s.port)
        s.mute(1)
        r = c.read_input_registers(0, 2, slave=1)
        self.assertTrue(r.isError())                      # no answer -> timeout
        self.assertTrue(s.requests(unit=1)[-1]["muted"])
        s.mute(1, False)
        c.close()
        port = s.port
        s.restart()
        self.assertEqual(s.port, port)
        c2 = self.client(port)
        r = c2.read_input_registers(0, 2, slave=1)
        self.assertFalse(r.isError(), r)
        s.stop()
        self.assertEqual(s.proc.returncode, 0)            # clean exit on SIGTERM
        self.assertIn("STOPPED", s.proc.stdout_text())


class T06ModbusRtu(fbtest.TestCase):
    def test_two_units_over_pty(self):
        from pymodbus.client import ModbusSerialClient
        from pymodbus.framer.rtu_framer import ModbusRtuFramer
        pair = fbtest.SerialPair(self.procs)
        s = fbtest.ModbusSlave(self.procs, {1: "sdm120", 2: "sdm120", 7: "relay8"},
                               rtu=pair.b, baud=9600)
        c = ModbusSerialClient(port=pair.a, framer=ModbusRtuFramer, baudrate=9600,
                               timeout=1)
        self.assertTrue(c.connect())
        self.addCleanup(c.close)
        for unit in (1, 2):
            r = c.read_input_registers(0x0048, 2, slave=unit)
            self.assertFalse(r.isError(), r)
            self.assertAlmostEqual(fbtest.float32_from_regs(*r.registers),
                                   100.0 * unit, places=3)
        self.assertFalse(c.write_coil(7, True, slave=7).isError())
        self.assertEqual(s.coils(7)[7], True)
        r = c.read_input_registers(0, 2, slave=9)        # unknown unit: silence
        self.assertTrue(r.isError())
        self.assertEqual([e["unit"] for e in s.requests()], [1, 2, 7])


if __name__ == "__main__":
    try:
        import pymodbus  # noqa: F401
    except ImportError as exc:
        fbtest.skip_module(f"pymodbus: {exc}")
    fbtest.main(tools=TOOLS)
