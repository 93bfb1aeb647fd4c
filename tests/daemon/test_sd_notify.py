#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The daemons' sd_notify path, as systemd sees it: each daemon runs with
NOTIFY_SOCKET naming a unix datagram socket this test binds and reads
(what systemd does for Type=notify units), against a real pymodbus slave
and a real mosquitto.  READY=1 must come only once the daemon serves,
STATUS= must follow its state, WATCHDOG=1 must keep coming while
WATCHDOG_USEC is set (and not at all without it), STOPPING=1 on SIGTERM,
and a broken configuration must exit 78 (EX_CONFIG), which the units name
in RestartPreventExitStatus=."""

import json
import os
import signal
import socket
import threading
import time

import fbtest
import gateway

GPIO = os.path.join(gateway.BUILD, "src", "drivers", "gpio", "fieldbridge-gpio")
WEB = os.path.join(gateway.BUILD, "src", "web", "fieldbridge-web")
MBSERVER = os.path.join(gateway.BUILD, "src", "mbserver", "fieldbridge-mbserver")
EX_CONFIG = 78


class NotifySocket:
    """A bound AF_UNIX datagram socket; a thread records every datagram as
    (time.monotonic(), text)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.messages.append((time.monotonic(), data.decode()))

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def wait(self, pred, timeout=10.0):
        """The first recorded (t, text) with pred(text), or None."""
        found = []

        def check():
            for m in self.snapshot():
                if pred(m[1]):
                    found.append(m)
                    return True
            return False
        fbtest.wait_for(check, timeout=fbtest.slack(timeout))
        return found[0] if found else None

    def statuses(self):
        out = []
        for _, text in self.snapshot():
            for line in text.split("\n"):
                if line.startswith("STATUS="):
                    out.append(line[len("STATUS="):])
        return out

    def wait_status(self, pred, timeout=10.0):
        m = self.wait(lambda t: any(line.startswith("STATUS=") and pred(line[7:])
                                    for line in t.split("\n")), timeout)
        return m

    def pings(self):
        return [t for t, text in self.snapshot() if "WATCHDOG=1" in text.split("\n")]


class SdNotify(fbtest.TestCase):
    def notify_socket(self, name="notify"):
        ns = NotifySocket(os.path.join(self.tmp, name))
        self.addCleanup(ns.close)
        return ns

    def env(self, ns, watchdog_s=None):
        env = {"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": None, "WATCHDOG_PID": None}
        if watchdog_s is not None:
            env["WATCHDOG_USEC"] = str(int(watchdog_s * 1e6))
        return env

    def start_driver(self, gw, ns, watchdog_s=None):
        return self.procs.start("driver", [gateway.MODBUS, "-c", gw.config_path, "--bus",
                                           "meters", "-v"], env=self.env(ns, watchdog_s))

    def start_exporter(self, gw, ns, watchdog_s=None):
        return self.procs.start("export", [gateway.EXPORT, "-c", gw.config_path,
                                           "--connection", "ha", "-v"],
                                env=self.env(ns, watchdog_s))

    def assert_stops_cleanly(self, proc, ns):
        proc.signal(signal.SIGTERM)
        self.assertEqual(proc.wait(fbtest.slack(10)), 0, proc.stderr_text())
        self.assertIsNotNone(ns.wait(lambda t: "STOPPING=1" in t.split("\n"), 2),
                             ns.snapshot())

    def assert_pings(self, ns, watchdog_s, window_s):
        """WATCHDOG=1 keeps coming: every gap (and the one to now) is well
        inside the interval systemd would kill the process after."""
        first = ns.wait(lambda t: "WATCHDOG=1" in t.split("\n"), watchdog_s)
        self.assertIsNotNone(first, "no WATCHDOG=1 at all")
        time.sleep(window_s)
        pings = [t for t in ns.pings() if t >= first[0]] + [time.monotonic()]
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        # Pinged at half the interval: a gap near the whole interval means
        # the loop nearly missed its deadline.
        self.assertLess(max(gaps), watchdog_s * 0.8, gaps)
        self.assertGreaterEqual(len(pings) - 1, int(window_s / watchdog_s), gaps)

    # ------------------------------------------------------------ Modbus driver
    def modbus_gateway(self, units=(1, 2)):
        slave = fbtest.ModbusSlave(self.procs, units={u: "sdm120" for u in units})
        gw = gateway.Gateway(self.procs, self.tmp, None, buses=[gateway.tcp_bus(
            slave.port, [gateway.device(f"m{u}", "eastron-sdm120", u) for u in units],
            offline_after=2)])
        return slave, gw

    def test_modbus_ready_after_first_cycle_and_status_follows_devices(self):
        slave, gw = self.modbus_gateway()
        ns = self.notify_socket()
        drv = self.start_driver(gw, ns)
        ready = ns.wait(lambda t: "READY=1" in t.split("\n"))
        self.assertIsNotNone(ready, drv.stderr_text())
        # The table exists and the first reads went out before READY=1.
        self.assertTrue(os.path.exists(gw.table_path()))
        reads = slave.requests()
        self.assertTrue(reads, "READY=1 without a single request")
        self.assertLess(reads[0]["t"], ready[0])
        # Ready after the first read: one or both devices are online by then.
        self.assertRegex(ready[1], r"STATUS=[12] of 2 devices online, 0 errors, bus "
                         r"utilisation \d+ %")
        self.assertEqual(len([m for m in ns.snapshot() if "READY=1" in m[1]]), 1)

        slave.mute(2)
        m = ns.wait_status(lambda s: s.startswith("1 of 2 devices online"))
        self.assertIsNotNone(m, ns.statuses())
        slave.stop()
        m = ns.wait_status(lambda s: s.startswith("bus down, reconnecting; 0 of 2 devices "
                                                  "online"))
        self.assertIsNotNone(m, ns.statuses())
        slave.start()
        m = ns.wait_status(lambda s: s.startswith("2 of 2 devices online"), 15)
        self.assertIsNotNone(m, ns.statuses())
        self.assert_stops_cleanly(drv, ns)

    def test_modbus_ready_while_bus_is_down(self):
        """A bus that cannot be reached is still served (the driver keeps
        trying): READY=1 after the first connect attempt, and the status
        says so."""
        port = fbtest.free_port()
        gw = gateway.Gateway(self.procs, self.tmp, None, buses=[gateway.tcp_bus(
            port, [gateway.device("m1", "eastron-sdm120", 1)])])
        ns = self.notify_socket()
        drv = self.start_driver(gw, ns)
        ready = ns.wait(lambda t: "READY=1" in t.split("\n"))
        self.assertIsNotNone(ready, drv.stderr_text())
        self.assertIn("STATUS=bus down, reconnecting; 0 of 1 devices online", ready[1])
        self.assertTrue(drv.alive())

    def test_modbus_watchdog_pings_only_when_asked(self):
        slave, gw = self.modbus_gateway(units=(1,))
        ns = self.notify_socket()
        drv = self.start_driver(gw, ns)
        self.assertIsNotNone(ns.wait(lambda t: "READY=1" in t.split("\n")))
        time.sleep(1.5)
        self.assertEqual(ns.pings(), [], "WATCHDOG=1 without WATCHDOG_USEC")
        drv.stop()

        # Longer than the slowest step of the loop: a muted device's read
        # blocks response_timeout_ms 300 x (retries 1 + 1) in libmodbus.
        watchdog_s = fbtest.slack(3.0)
        ns2 = self.notify_socket("notify2")
        drv = self.start_driver(gw, ns2, watchdog_s)
        self.assertIsNotNone(ns2.wait(lambda t: "READY=1" in t.split("\n")))
        self.assert_pings(ns2, watchdog_s, 2 * watchdog_s)
        # Still pinging while every transaction times out.
        slave.mute(1)
        self.assert_pings(ns2, watchdog_s, 2 * watchdog_s)
        self.assert_stops_cleanly(drv, ns2)

    def test_modbus_broken_config_exits_78(self):
        _, gw = self.modbus_gateway(units=(1,))
        gw.config["buses"][0]["response_timeout_ms"] = "fast"
        gw.write()
        ns = self.notify_socket()
        drv = self.start_driver(gw, ns)
        self.assertEqual(drv.wait(fbtest.slack(10)), EX_CONFIG, drv.stderr_text())
        self.assertIn("response_timeout_ms", drv.stderr_text())
        # An instance the configuration does not name is a configuration error too.
        gw.config["buses"][0]["response_timeout_ms"] = 300
        gw.write()
        p = self.procs.start("driver-unknown", [gateway.MODBUS, "-c", gw.config_path,
                                                "--bus", "nosuchbus"], env=self.env(ns))
        self.assertEqual(p.wait(fbtest.slack(10)), EX_CONFIG, p.stderr_text())
        self.assertIn('no bus named "nosuchbus"', p.stderr_text())
        self.assertFalse([m for m in ns.snapshot() if "READY=1" in m[1]])

    # ------------------------------------------------------------ exporter
    def test_export_ready_once_connected_and_status_counts_buses(self):
        slave, gw0 = self.modbus_gateway(units=(1,))
        broker = fbtest.Broker(self.procs, self.tmp)
        gw = gateway.Gateway(self.procs, self.tmp, broker, buses=gw0.config["buses"])
        ns = self.notify_socket()
        exp = self.start_exporter(gw, ns)
        ready = ns.wait(lambda t: "READY=1" in t.split("\n"))
        self.assertIsNotNone(ready, exp.stderr_text())
        self.assertRegex(ready[1], r"STATUS=connected to 127\.0\.0\.1:%d, \d+ entities on 1 "
                         r"devices, 0 of 1 buses alive" % broker.port)
        entities = int(ready[1].split(", ")[1].split()[0])
        self.assertGreater(entities, 0)
        self.assertIn("connected to 127.0.0.1:%d" % broker.port, exp.stderr_text())
        gw.start_driver()
        m = ns.wait_status(lambda s: s.endswith("1 of 1 buses alive"))
        self.assertIsNotNone(m, ns.statuses())
        broker.stop()
        m = ns.wait_status(lambda s: not s.startswith("connected"))
        self.assertIsNotNone(m, ns.statuses())
        self.assert_stops_cleanly(exp, ns)

    def test_export_ready_when_the_first_connect_fails_with_the_reason(self):
        port = fbtest.free_port()
        gw = gateway.Gateway(self.procs, self.tmp, None, buses=[], connections=[
            {"name": "ha", "user": "homeassistant", "broker": "127.0.0.1", "port": port}])
        ns = self.notify_socket()
        exp = self.start_exporter(gw, ns)
        ready = ns.wait(lambda t: "READY=1" in t.split("\n"))
        self.assertIsNotNone(ready, exp.stderr_text())
        self.assertIn("STATUS=not connected: broker 127.0.0.1:%d" % port, ready[1])
        self.assertIn("retrying", ready[1])
        self.assertTrue(exp.alive())

    def test_export_silent_broker_is_ready_after_the_bound(self):
        """A listener that accepts and never answers (timeout_s 0 waits
        forever): no READY=1 while connecting, then READY=1 after 10 s,
        saying it is still connecting, before systemd's start timeout."""
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(4)
        self.addCleanup(lsock.close)
        port = lsock.getsockname()[1]
        gw = gateway.Gateway(self.procs, self.tmp, None, buses=[], connections=[
            {"name": "ha", "user": "homeassistant", "broker": "127.0.0.1", "port": port,
             "timeout_s": 0}])
        ns = self.notify_socket()
        t0 = time.monotonic()
        exp = self.start_exporter(gw, ns)
        m = ns.wait_status(lambda s: s.startswith("connecting to 127.0.0.1:%d" % port))
        self.assertIsNotNone(m, exp.stderr_text())
        ready = ns.wait(lambda t: "READY=1" in t.split("\n"), 20)
        self.assertIsNotNone(ready, exp.stderr_text())
        self.assertGreaterEqual(ready[0] - t0, 9.5)
        self.assertIn("STATUS=connecting to 127.0.0.1:%d" % port, ready[1])

    def test_export_watchdog_pings_and_stops_cleanly(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        gw = gateway.Gateway(self.procs, self.tmp, broker, buses=[])
        watchdog_s = fbtest.slack(1.0)
        ns = self.notify_socket()
        exp = self.start_exporter(gw, ns, watchdog_s)
        self.assertIsNotNone(ns.wait(lambda t: "READY=1" in t.split("\n")))
        self.assert_pings(ns, watchdog_s, 3 * watchdog_s)
        self.assert_stops_cleanly(exp, ns)

    def test_export_broken_config_or_users_file_exits_78(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        gw = gateway.Gateway(self.procs, self.tmp, broker, buses=[],
                             users={"homeassistant": {"rights": {"*": "read"}}})
        ns = self.notify_socket()
        with open(gw.users_path, "w") as f:
            f.write('{ "users": [ { "name": "homeassistant", "rigths": {} } ] }\n')
        exp = self.start_exporter(gw, ns)
        self.assertEqual(exp.wait(fbtest.slack(10)), EX_CONFIG, exp.stderr_text())
        self.assertIn("users file", exp.stderr_text())
        gw.write_users({"homeassistant": {"rights": {"*": "read"}}})
        gw.config["connections"][0]["qos"] = 7
        gw.write()
        exp = self.start_exporter(gw, ns)
        self.assertEqual(exp.wait(fbtest.slack(10)), EX_CONFIG, exp.stderr_text())
        self.assertIn("qos", exp.stderr_text())
        self.assertFalse([m for m in ns.snapshot() if "READY=1" in m[1]])

    # ------------------------------------------------------------ web page
    def test_web_ready_once_listening_watchdog_and_78(self):
        port = fbtest.free_port()
        gw = gateway.Gateway(self.procs, self.tmp, None, buses=[])
        gw.config["web"] = {"listen": ["127.0.0.1"], "port": port, "tls": "off"}
        gw.write()
        www = os.path.join(self.tmp, "www")
        os.makedirs(www)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write("<!doctype html><title>fieldbridge</title>")
        watchdog_s = fbtest.slack(1.0)
        ns = self.notify_socket()
        web = self.procs.start("web", [WEB, "-c", gw.config_path, "--www", www],
                               env=self.env(ns, watchdog_s))
        ready = ns.wait(lambda t: "READY=1" in t.split("\n"))
        self.assertIsNotNone(ready, web.stderr_text())
        self.assertTrue(fbtest.port_open(port), "READY=1 before the port listens")
        # fieldbridge-web sends its status right after READY=1.
        self.assertIsNotNone(ns.wait_status(lambda t: t.startswith("port %d, plain HTTP" % port)),
                             ns.statuses())
        self.assert_pings(ns, watchdog_s, 3 * watchdog_s)
        self.assert_stops_cleanly(web, ns)
        with open(gw.config_path, "w") as f:
            f.write("{ not json")
        p = self.procs.start("web-broken", [WEB, "-c", gw.config_path, "--www", www],
                             env=self.env(ns))
        self.assertEqual(p.wait(fbtest.slack(10)), EX_CONFIG, p.stderr_text())

    # ------------------------------------------------------- Modbus server
    def test_mbserver_ready_once_listening_watchdog_and_78(self):
        slave, gw = self.modbus_gateway(units=(1,))
        port = fbtest.free_port()
        gw.config["modbus_servers"] = [{"name": "s", "bus": "meters", "user": "any", "port": port}]
        gw.write()
        watchdog_s = fbtest.slack(1.0)
        ns = self.notify_socket()
        srv = self.procs.start("mbserver", [MBSERVER, "-c", gw.config_path, "--server", "s"],
                               env=self.env(ns, watchdog_s))
        ready = ns.wait(lambda t: "READY=1" in t.split("\n"))
        self.assertIsNotNone(ready, srv.stderr_text())
        self.assertTrue(fbtest.port_open(port), "READY=1 before the port listens")
        self.assertIsNotNone(ns.wait_status(lambda t: t.startswith("port %d, 0 clients" % port)),
                             ns.statuses())
        self.assert_pings(ns, watchdog_s, 3 * watchdog_s)
        self.assert_stops_cleanly(srv, ns)
        # A server section naming no configured bus: a configuration error.
        gw.config["modbus_servers"] = [{"name": "s", "bus": "nope", "user": "any", "port": port}]
        gw.write()
        p = self.procs.start("mbserver-broken", [MBSERVER, "-c", gw.config_path,
                                                 "--server", "s"], env=self.env(ns))
        self.assertEqual(p.wait(fbtest.slack(10)), EX_CONFIG, p.stderr_text())

    # ------------------------------------------------------------ GPIO driver
    def test_gpio_broken_config_exits_78(self):
        """The configuration is read before any chip is opened, so this
        runs without GPIO hardware (READY=1 and the watchdog of
        fieldbridge-gpio are checked on gpio-sim: tests/gpio-kernel)."""
        gw = gateway.Gateway(self.procs, self.tmp, None, buses=[
            {"name": "io", "transport": "gpio", "chip": "fb-sim", "devices": [
                {"id": "relays", "definition": "waveshare-rpi-relay-board",
                 "lines": {"relay1": "out4"}, "debounce": 5}]}])
        ns = self.notify_socket()
        p = self.procs.start("gpio", [GPIO, "-c", gw.config_path, "--bus", "io"],
                             env=self.env(ns))
        self.assertEqual(p.wait(fbtest.slack(10)), EX_CONFIG, p.stderr_text())
        self.assertIn("debounce", p.stderr_text())
        # A Modbus bus is not this driver's: a configuration error as well.
        slave, gw2 = self.modbus_gateway(units=(1,))
        p = self.procs.start("gpio-modbus", [GPIO, "-c", gw2.config_path, "--bus", "meters"],
                             env=self.env(ns))
        self.assertEqual(p.wait(fbtest.slack(10)), EX_CONFIG, p.stderr_text())
        self.assertIn("fieldbridge-modbus", p.stderr_text())


if __name__ == "__main__":
    fbtest.main()
