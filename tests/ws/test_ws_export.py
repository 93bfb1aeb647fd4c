#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fieldbridge-export in connection_mode websocket, against a real mosquitto
websockets listener: the same export scenario code as socket mode
(tests/export/scenario.py), only the connection settings differ."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "export"))

import fbtest      # noqa: E402
import scenario    # noqa: E402


class WebSocketExport(fbtest.TestCase):
    def ws_broker(self, kind="server", **kw):
        return fbtest.Broker(self.procs, self.tmp, websockets=True, ws_tls=True, tls=kind, **kw)

    def expect_log(self, sc, pattern, timeout=20):
        ok = fbtest.wait_for(lambda: re.search(pattern, sc.log()), timeout)
        self.assertTrue(ok, f"log lacks {pattern!r}:\n{sc.log()[-3000:]}")

    def test_ws_full_scenario(self):
        broker = fbtest.Broker(self.procs, self.tmp, websockets=True)
        sc = scenario.ExportScenario(self, broker, {
            "connection_mode": "websocket", "port": broker.ws_port}).start()
        sc.check_discovery()
        sc.check_state()
        sc.check_command_round_trip()
        sc.check_birth_republish()
        # traffic really went over the websockets listener
        self.assertRegex(broker.log_text(), rf"New client connected from 127\.0\.0\.1:\d+ as {sc.node}")

    def test_ws_broker_killed_mid_stream_retained_equals_table(self):
        broker = fbtest.Broker(self.procs, self.tmp, websockets=True)
        sc = scenario.ExportScenario(self, broker, {
            "connection_mode": "websocket", "port": broker.ws_port, "qos": 1}).start()
        sc.assert_state_equals_table()
        sc.check_broker_restart(kill=True)

    def test_wss_verified_ca_full_scenario(self):
        broker = self.ws_broker()
        sc = scenario.ExportScenario(self, broker, {
            "connection_mode": "websocket", "port": broker.wss_port,
            "ssl": "on", "ssl_server_crt": broker.cafile}).start()
        sc.check_discovery()
        sc.check_state()
        sc.check_command_round_trip()
        sc.check_birth_republish()

    def test_wss_client_certificate_required(self):
        broker = self.ws_broker(ws_require_certificate=True)
        c = broker.certs
        sc = scenario.ExportScenario(self, broker, {
            "connection_mode": "websocket", "port": broker.wss_port, "ssl": "on",
            "ssl_server_crt": c.ca, "ssl_client_crt": c.client_cert,
            "ssl_client_key": c.client_key_encrypted,
            "ssl_client_key_password": "fieldbridge-test"}).start()
        sc.check_state()
        sc.check_command_round_trip()
        self.assertNotIn("fieldbridge-test", sc.log())

    def test_wss_hostname_verification_on_refuses_wrong_name(self):
        broker = self.ws_broker("wrong_name")
        sc = scenario.ExportScenario(self, broker, {
            "connection_mode": "websocket", "port": broker.wss_port,
            "ssl": "on", "ssl_server_crt": broker.cafile})
        sc.start(wait=False)
        self.expect_log(sc, rf"wss://127\.0\.0\.1:{broker.wss_port}/mqtt: TLS handshake failed.*"
                            r"hostname mismatch: the broker's certificate is not issued for \"127\.0\.0\.1\"")
        time.sleep(1.0)
        self.assertNotIn("connected to", sc.log())
        self.assertTrue(sc.exporter().alive(), "exporter died instead of retrying")
        self.assertEqual(sc.sub.messages(f"{sc.base}/+/state"), [])

    def test_wss_hostname_verification_off_accepts_wrong_name(self):
        broker = self.ws_broker("wrong_name")
        sc = scenario.ExportScenario(self, broker, {
            "connection_mode": "websocket", "port": broker.wss_port, "ssl": "on",
            "ssl_server_crt": broker.cafile, "hostname_verification": False}).start()
        sc.check_state()
        sc.check_command_round_trip()

    def test_wss_encrypted_key_with_wrong_password_is_a_clear_error(self):
        broker = self.ws_broker(ws_require_certificate=True)
        c = broker.certs
        sc = scenario.ExportScenario(self, broker, {
            "connection_mode": "websocket", "port": broker.wss_port, "ssl": "on",
            "ssl_server_crt": c.ca, "ssl_client_crt": c.client_cert,
            "ssl_client_key": c.client_key_encrypted,
            "ssl_client_key_password": "not-the-password"})
        sc.start(wait=False)
        self.expect_log(sc, r"ssl_client_key .*: cannot decrypt the key: wrong ssl_client_key_password")
        self.assertNotIn("not-the-password", sc.log())

    def test_wss_trust_all_accepts_self_signed(self):
        broker = self.ws_broker("self_signed")
        sc = scenario.ExportScenario(self, broker, {
            "connection_mode": "websocket", "port": broker.wss_port,
            "ssl": "trust_all"}).start()
        self.assertRegex(sc.log(), r"<4>.*trust_all")
        sc.check_state()
        sc.check_command_round_trip()

    def test_ws_wrong_path_is_a_clear_error(self):
        # Debian's mosquitto accepts any path, so the refusal comes from a
        # broker that is not there: a closed port names URL and cause.
        port = fbtest.free_port()
        broker = fbtest.Broker(self.procs, self.tmp)
        sc = scenario.ExportScenario(self, broker, {
            "connection_mode": "websocket", "port": port, "ws_path": "/other"})
        sc.start(wait=False)
        self.expect_log(sc, rf"ws://127\.0\.0\.1:{port}/other")
        self.assertTrue(sc.exporter().alive())

    # -- the plugin (src/export/ws/ws_plugin.h): loaded only in websocket mode
    def mapped(self, sc):
        with open(f"/proc/{sc.exporter().pid}/maps") as f:
            return {os.path.basename(line.split()[-1]) for line in f if "/" in line}

    def test_socket_mode_maps_no_websocket_library(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        sc = scenario.ExportScenario(self, broker).start()
        sc.check_state()
        libs = self.mapped(sc)
        self.assertTrue([x for x in libs if x.startswith("libmosquitto.so")], libs)  # read at all
        for name in ("fieldbridge-ws.so", "libwebsockets", "libuv"):
            self.assertFalse([x for x in libs if x.startswith(name)], f"{name} mapped: {libs}")

    def test_ws_mode_loads_the_plugin(self):
        broker = fbtest.Broker(self.procs, self.tmp, websockets=True)
        sc = scenario.ExportScenario(self, broker, {
            "connection_mode": "websocket", "port": broker.ws_port}).start()
        sc.check_state()
        libs = self.mapped(sc)
        self.assertIn("fieldbridge-ws.so", libs)
        self.assertTrue([x for x in libs if x.startswith("libwebsockets.so")], libs)

    def plugin_env(self, path):
        os.environ["FB_WS_PLUGIN"] = path
        self.addCleanup(os.environ.pop, "FB_WS_PLUGIN", None)

    def test_missing_plugin_is_a_clear_error(self):
        missing = os.path.join(self.tmp, "no-such-dir", "fieldbridge-ws.so")
        self.plugin_env(missing)
        broker = fbtest.Broker(self.procs, self.tmp, websockets=True)
        sc = scenario.ExportScenario(self, broker, {
            "connection_mode": "websocket", "port": broker.ws_port})
        sc.start(wait=False)
        ok = fbtest.wait_for(lambda: not sc.exporter().alive(), fbtest.slack(20))
        self.assertTrue(ok, "exporter kept running without its plugin:\n" + sc.log()[-3000:])
        self.assertNotEqual(sc.exporter().popen.returncode, 0)
        self.assertRegex(sc.log(), r"connection_mode websocket needs the WebSocket plugin "
                         + re.escape(missing) + r", which cannot be loaded: .*No such file")

    def test_plugin_without_entry_is_refused(self):
        # any shared object that is not the plugin: the C library
        other = next(x.split()[-1] for x in open(f"/proc/{os.getpid()}/maps")
                     if "/libc.so" in x)
        self.plugin_env(other)
        broker = fbtest.Broker(self.procs, self.tmp, websockets=True)
        sc = scenario.ExportScenario(self, broker, {
            "connection_mode": "websocket", "port": broker.ws_port})
        sc.start(wait=False)
        ok = fbtest.wait_for(lambda: not sc.exporter().alive(), fbtest.slack(20))
        self.assertTrue(ok, "exporter kept running with a foreign plugin:\n" + sc.log()[-3000:])
        self.assertRegex(sc.log(), re.escape(other) + r" is not a fieldbridge WebSocket plugin "
                         r"\(no fb_ws_plugin_v1\)")


if __name__ == "__main__":
    fbtest.main(tools=fbtest.MQTT_TOOLS + ("mosquitto_passwd", "openssl"))
