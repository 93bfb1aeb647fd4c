#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fieldbridge-export --test and fieldbridgectl connection test against a
real mosquitto: the stages (DNS, TCP, TLS, WebSocket, CONNACK, SUBACK) with
the exporter's own error texts, and nothing published."""

import json
import os
import re
import subprocess
import time

import fbtest
import gateway

CTL = os.path.join(gateway.BUILD, "src", "ctl", "fieldbridgectl")


class ConnTest(fbtest.TestCase):
    def certs(self):
        return fbtest.Certs(os.path.join(self.tmp, "certs"))

    def gw(self, broker, conn):
        return gateway.Gateway(self.procs, self.tmp, broker, buses=[
            gateway.tcp_bus(fbtest.free_port(), [
                gateway.device("relays", "waveshare-relay-8ch", 2)])], conn_extra=conn)

    def run_test(self, gw, *extra, json_out=False, timeout=30):
        argv = [gateway.EXPORT, "--test", "--connection", "ha", "-c", gw.config_path]
        if json_out:
            argv.append("--json")
        t0 = time.monotonic()
        r = subprocess.run(argv + list(extra), capture_output=True, text=True,
                           timeout=timeout)
        r.elapsed = time.monotonic() - t0
        return r

    def stages(self, gw):
        r = self.run_test(gw, json_out=True)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["connection"], "ha")
        self.assertEqual(doc["ok"], r.returncode == 0, r.stdout)
        for s in doc["stages"]:
            self.assertEqual(set(s), {"stage", "ok", "detail"})
        return r, {s["stage"]: s for s in doc["stages"]}, [s["stage"] for s in doc["stages"]]

    def assert_passed(self, r, stages, order):
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(all(s["ok"] for s in stages.values()), r.stdout)
        self.assertEqual(order[-2:], ["mqtt", "subscribe"])
        self.assertIn("CONNACK 0", stages["mqtt"]["detail"])
        self.assertRegex(stages["subscribe"]["detail"],
                         r"^fieldbridge/\S+/\+/\+/set: SUBACK granted QoS 0 ")

    def assert_failed_at(self, r, stages, order, name):
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(order[-1], name, r.stdout)
        self.assertFalse(stages[name]["ok"])
        self.assertTrue(all(stages[s]["ok"] for s in order[:-1]), r.stdout)
        return stages[name]["detail"]

    # ---------------------------------------------------------------- plain
    def test_plain_ok(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        r, st, order = self.stages(self.gw(broker, {"port": broker.port}))
        self.assertEqual(order, ["config", "dns", "tcp", "mqtt", "subscribe"])
        self.assert_passed(r, st, order)
        self.assertIn("127.0.0.1", st["dns"]["detail"])
        self.assertIn(f"connected to 127.0.0.1 port {broker.port}", st["tcp"]["detail"])
        # text mode: one line per stage, same verdicts
        t = self.run_test(self.gw(broker, {"port": broker.port}))
        self.assertEqual(t.returncode, 0)
        lines = t.stdout.splitlines()
        self.assertEqual([l.split()[0] for l in lines], order)
        self.assertTrue(all(l.split()[1] == "ok" for l in lines), t.stdout)

    def test_nothing_is_published(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        sub = fbtest.Subscriber(broker, ["#"], qos=2)
        gw = self.gw(broker, {"port": broker.port, "retain": True, "qos": 1})
        r = self.run_test(gw)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # the test client was really there, and left cleanly (no will)
        self.assertTrue(broker.wait_log(rf"Client {re.escape(gw.node_id())} disconnected\.",
                                        timeout=5), broker.log_text()[-2000:])
        time.sleep(0.5)
        self.assertEqual(sub.messages(), [], "the test published something")
        self.assertEqual(fbtest.retained_snapshot(broker), {}, "retained messages left")

    def test_refused_port_fails_at_tcp_at_once(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        port = fbtest.free_port()
        r, st, order = self.stages(self.gw(broker, {"port": port}))
        detail = self.assert_failed_at(r, st, order, "tcp")
        self.assertEqual(detail, f"connection ha: broker 127.0.0.1:{port}: unreachable "
                                 "broker: Connection refused")
        self.assertLess(r.elapsed, fbtest.slack(2.0))

    def test_unknown_host_fails_at_dns(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        r, st, order = self.stages(self.gw(broker, {"port": broker.port,
                                                    "broker": "no-such-host.invalid"}))
        detail = self.assert_failed_at(r, st, order, "dns")
        self.assertIn("cannot resolve the host name (broker)", detail)

    # ---------------------------------------------------------------- TLS
    def tls_broker(self, kind="server", **kw):
        return fbtest.Broker(self.procs, self.tmp, tls=kind, certs=self.certs(), **kw)

    def test_tls_ok_shows_verify_subject_issuer_expiry_hostname(self):
        broker = self.tls_broker()
        r, st, order = self.stages(self.gw(broker, {
            "port": broker.tls_port, "ssl": "on", "ssl_server_crt": broker.cafile}))
        self.assertEqual(order, ["config", "dns", "tcp", "tls", "mqtt", "subscribe"])
        self.assert_passed(r, st, order)
        d = st["tls"]["detail"]
        self.assertRegex(d, r"^verify ok \(TLSv1\.[23]\); subject \S*CN=")
        self.assertRegex(d, r"; issuer \S*CN=")
        self.assertRegex(d, r"; expires \w{3} +\d+ [\d:]+ \d{4} GMT;")
        self.assertIn('hostname check ok for "127.0.0.1"', d)

    def test_client_certificate_ok(self):
        broker = self.tls_broker(require_certificate=True)
        c = broker.certs
        r, st, order = self.stages(self.gw(broker, {
            "port": broker.tls_port, "ssl": "on", "ssl_server_crt": c.ca,
            "ssl_client_crt": c.client_cert, "ssl_client_key": c.client_key}))
        self.assert_passed(r, st, order)

    def test_wrong_ca_is_named(self):
        broker = self.tls_broker()
        r, st, order = self.stages(self.gw(broker, {
            "port": broker.tls_port, "ssl": "on", "ssl_server_crt": broker.certs.other_ca}))
        detail = self.assert_failed_at(r, st, order, "tls")
        self.assertIn("TLS: wrong CA: the broker's certificate is not signed by "
                      f"ssl_server_crt {broker.certs.other_ca}", detail)

    def test_hostname_mismatch_is_named(self):
        broker = self.tls_broker("wrong_name")
        r, st, order = self.stages(self.gw(broker, {
            "port": broker.tls_port, "ssl": "on", "ssl_server_crt": broker.cafile}))
        detail = self.assert_failed_at(r, st, order, "tls")
        self.assertIn("TLS: hostname mismatch: the broker's certificate is not issued for "
                      '"127.0.0.1"', detail)

    def test_hostname_verification_off_reports_the_mismatch(self):
        broker = self.tls_broker("wrong_name")
        r, st, order = self.stages(self.gw(broker, {
            "port": broker.tls_port, "ssl": "on", "ssl_server_crt": broker.cafile,
            "hostname_verification": False}))
        self.assert_passed(r, st, order)
        self.assertIn('hostname check FAILED for "127.0.0.1" (not enforced', st["tls"]["detail"])

    # ---------------------------------------------------------------- websocket
    def test_websocket_ok(self):
        broker = fbtest.Broker(self.procs, self.tmp, websockets=True)
        gw = self.gw(broker, {"connection_mode": "websocket", "port": broker.ws_port})
        r, st, order = self.stages(gw)
        self.assertEqual(order, ["config", "dns", "websocket", "mqtt", "subscribe"])
        self.assert_passed(r, st, order)
        self.assertIn(f"upgrade to ws://127.0.0.1:{broker.ws_port}/mqtt accepted",
                      st["websocket"]["detail"])
        # through the websockets listener, and a clean DISCONNECT at the end
        node = re.escape(gw.node_id())
        self.assertTrue(broker.wait_log(rf"Client {node} disconnected\.", timeout=5),
                        broker.log_text()[-2000:])
        self.assertRegex(broker.log_text(), rf"New client connected from 127\.0\.0\.1:\d+ as {node}")

    def test_websocket_refused_port_fails_at_websocket(self):
        broker = fbtest.Broker(self.procs, self.tmp, websockets=True)
        port = fbtest.free_port()
        r, st, order = self.stages(self.gw(broker, {
            "connection_mode": "websocket", "port": port}))
        detail = self.assert_failed_at(r, st, order, "websocket")
        self.assertIn(f"websocket transport: ws://127.0.0.1:{port}/mqtt", detail)
        self.assertLess(r.elapsed, fbtest.slack(5.0))

    def test_wss_hostname_mismatch_is_named(self):
        broker = fbtest.Broker(self.procs, self.tmp, websockets=True, ws_tls=True,
                               tls="wrong_name", certs=self.certs())
        r, st, order = self.stages(self.gw(broker, {
            "connection_mode": "websocket", "port": broker.wss_port, "ssl": "on",
            "ssl_server_crt": broker.cafile}))
        detail = self.assert_failed_at(r, st, order, "websocket")
        self.assertIn("hostname mismatch", detail)

    # ---------------------------------------------------------------- ctl
    def test_ctl_output_equals_export_test(self):
        broker = self.tls_broker()
        gw = self.gw(broker, {"port": broker.tls_port, "ssl": "on",
                              "ssl_server_crt": broker.certs.other_ca})
        env = dict(os.environ)
        env["PATH"] = os.path.dirname(gateway.EXPORT) + os.pathsep + env.get("PATH", "")
        for extra in ([], ["--json"]):
            exp = self.run_test(gw, *extra)
            ctl = subprocess.run([CTL, "-c", gw.config_path, "connection", "test", "ha"] + extra,
                                 capture_output=True, text=True, timeout=30, env=env)
            self.assertEqual(ctl.returncode, exp.returncode)
            self.assertEqual(exp.returncode, 1)
            self.assertEqual(ctl.stdout, exp.stdout)
        plain = fbtest.Broker(self.procs, self.tmp)
        gw2 = self.gw(plain, {"port": plain.port})
        ctl = subprocess.run([CTL, "-c", gw2.config_path, "connection", "test", "ha"],
                             capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(ctl.returncode, 0, ctl.stdout + ctl.stderr)
        self.assertEqual(ctl.stdout.splitlines()[-1].split()[:2], ["subscribe", "ok"])


if __name__ == "__main__":
    fbtest.main(tools=fbtest.MQTT_TOOLS + ("openssl",))
