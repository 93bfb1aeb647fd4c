#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fieldbridge-export against a real mosquitto on loopback: every connection
parameter (docs/configuration.md), one test per behaviour.  The shared
scenario (scenario.py) takes the connection settings, so the WebSocket tests
can run the same code in websocket mode."""

import os
import re
import socket
import threading
import time

import fbtest
import scenario
from mqttproxy import MqttProxy

SECRET = "s3cret-Pa55-do-not-log"


def all_logs(tc):
    """Every log the test's processes wrote (exporter, driver, broker)."""
    text = []
    for root, _, files in os.walk(tc.tmp):
        for f in files:
            if f.endswith(".log"):
                try:
                    with open(os.path.join(root, f), errors="replace") as fh:
                        text.append(fh.read())
                except OSError:
                    pass
    return "\n".join(text)


class Connection(fbtest.TestCase):
    def certs(self):
        return fbtest.Certs(os.path.join(self.tmp, "certs"))

    def tls_broker(self, kind="server", **kw):
        return fbtest.Broker(self.procs, self.tmp, tls=kind, certs=self.certs(), **kw)

    def expect_log(self, sc, pattern, timeout=20):
        ok = fbtest.wait_for(lambda: re.search(pattern, sc.log()), timeout)
        self.assertTrue(ok, f"log lacks {pattern!r}:\n{sc.log()[-3000:]}")

    def assert_not_connected(self, sc, seconds=1.0):
        time.sleep(seconds)
        self.assertNotIn("connected to", sc.log())
        self.assertTrue(sc.exporter().alive(), "exporter died instead of retrying")

    # -------------------------------------------------------------- socket
    def test_plain_socket_full_scenario(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        sc = scenario.ExportScenario(self, broker, {"port": broker.port}).start()
        sc.check_all()

    def test_broker_restart_mid_stream_retained_equals_table(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        sc = scenario.ExportScenario(self, broker, {"port": broker.port, "qos": 1}).start()
        sc.assert_state_equals_table()
        sc.check_broker_restart(kill=True)

    # -------------------------------------------------------------- TLS
    def test_tls_on_verifies_with_ssl_server_crt(self):
        broker = self.tls_broker()
        sc = scenario.ExportScenario(self, broker, {
            "port": broker.tls_port, "ssl": "on", "ssl_server_crt": broker.cafile}).start()
        self.assertIn("TLS verified", sc.log())
        sc.check_discovery()
        sc.check_state()
        sc.check_command_round_trip()
        sc.check_birth_republish()

    def test_tls_on_without_ca_uses_system_store_and_refuses_test_ca(self):
        broker = self.tls_broker()
        sc = scenario.ExportScenario(self, broker, {"port": broker.tls_port, "ssl": "on"})
        sc.start(wait=False)
        self.expect_log(sc, r"wrong CA: the broker's certificate is not signed by the system CA store")
        self.assert_not_connected(sc)

    def test_tls_on_wrong_ca_is_named(self):
        broker = self.tls_broker()
        sc = scenario.ExportScenario(self, broker, {
            "port": broker.tls_port, "ssl": "on", "ssl_server_crt": broker.certs.other_ca})
        sc.start(wait=False)
        self.expect_log(sc, r"wrong CA: the broker's certificate is not signed by ssl_server_crt "
                            + re.escape(broker.certs.other_ca))
        self.assert_not_connected(sc)

    def test_tls_on_refuses_self_signed(self):
        broker = self.tls_broker("self_signed")
        sc = scenario.ExportScenario(self, broker, {
            "port": broker.tls_port, "ssl": "on", "ssl_server_crt": broker.cafile})
        sc.start(wait=False)
        self.expect_log(sc, r"wrong CA")
        self.assert_not_connected(sc)

    def test_tls_on_expired_certificate_is_named(self):
        broker = self.tls_broker("expired")
        sc = scenario.ExportScenario(self, broker, {
            "port": broker.tls_port, "ssl": "on", "ssl_server_crt": broker.cafile})
        sc.start(wait=False)
        self.expect_log(sc, r"certificate has expired")
        self.assert_not_connected(sc)

    def test_trust_all_accepts_self_signed_with_warning(self):
        broker = self.tls_broker("self_signed")
        sc = scenario.ExportScenario(self, broker, {"port": broker.tls_port,
                                                    "ssl": "trust_all"}).start()
        self.assertRegex(sc.log(), r"<4>.*ssl \"trust_all\": the broker's certificate is NOT verified")
        self.assertIn("TLS NOT verified", sc.log())
        sc.check_command_round_trip()

    def test_hostname_verification_on_refuses_wrong_name(self):
        broker = self.tls_broker("wrong_name")
        sc = scenario.ExportScenario(self, broker, {
            "port": broker.tls_port, "ssl": "on", "ssl_server_crt": broker.cafile})
        sc.start(wait=False)
        self.expect_log(sc, r"hostname mismatch")
        self.assert_not_connected(sc)

    def test_hostname_verification_off_accepts_wrong_name(self):
        broker = self.tls_broker("wrong_name")
        sc = scenario.ExportScenario(self, broker, {
            "port": broker.tls_port, "ssl": "on", "ssl_server_crt": broker.cafile,
            "hostname_verification": False}).start()
        self.assertRegex(sc.log(), r"<4>.*hostname_verification is off")
        sc.check_state()

    def test_client_certificate_required_and_accepted(self):
        broker = self.tls_broker(require_certificate=True)
        c = broker.certs
        sc = scenario.ExportScenario(self, broker, {
            "port": broker.tls_port, "ssl": "on", "ssl_server_crt": c.ca,
            "ssl_client_crt": c.client_cert, "ssl_client_key": c.client_key}).start()
        sc.check_command_round_trip()

    def test_client_certificate_missing_is_refused_by_broker(self):
        broker = self.tls_broker(require_certificate=True)
        sc = scenario.ExportScenario(self, broker, {
            "port": broker.tls_port, "ssl": "on", "ssl_server_crt": broker.cafile})
        sc.start(wait=False)
        self.expect_log(sc, r"TLS: the broker requires a client certificate: set ssl_client_crt")
        self.assert_not_connected(sc)

    def test_encrypted_client_key_with_right_password(self):
        broker = self.tls_broker(require_certificate=True)
        c = broker.certs
        sc = scenario.ExportScenario(self, broker, {
            "port": broker.tls_port, "ssl": "on", "ssl_server_crt": c.ca,
            "ssl_client_crt": c.client_cert, "ssl_client_key": c.client_key_encrypted,
            "ssl_client_key_password": c.client_key_password}).start()
        sc.check_state()
        self.assertNotIn(c.client_key_password, all_logs(self))

    def test_encrypted_client_key_with_wrong_password_is_a_clear_error(self):
        broker = self.tls_broker(require_certificate=True)
        c = broker.certs
        sc = scenario.ExportScenario(self, broker, {
            "port": broker.tls_port, "ssl": "on", "ssl_server_crt": c.ca,
            "ssl_client_crt": c.client_cert, "ssl_client_key": c.client_key_encrypted,
            "ssl_client_key_password": SECRET})
        sc.start(wait=False)
        self.expect_log(sc, r"ssl_client_key .*: cannot decrypt the key: wrong ssl_client_key_password")
        self.assert_not_connected(sc, 2.5)
        # logged once, retried quietly: no crash loop, no log flood
        errs = [l for l in sc.log().splitlines() if l.startswith("<3>")]
        self.assertEqual(sum("wrong ssl_client_key_password" in l for l in errs), 1, sc.log())
        self.assertNotIn(SECRET, all_logs(self))

    # -------------------------------------------------------------- auth
    def test_wrong_password_refused_retries_with_backoff(self):
        # anonymous clients (the test's own) are allowed; "fb" must match
        broker = fbtest.Broker(self.procs, self.tmp, users={"fb": "right-password"})
        sc = scenario.ExportScenario(self, broker, {"port": broker.port, "auth_user": "fb",
                                                    "auth_password": SECRET})
        sc.start(wait=False)
        self.expect_log(sc, r"refused the connection: .*refused credentials: check auth_user "
                            r"and auth_password")
        # attempts at 0, +1, +2 (=3), +4 (=7) s: backoff, not a tight loop
        fbtest.wait_for(lambda: len(re.findall(r"New connection from 127\.0\.0\.1",
                                               broker.log_text())) >= 4, 15)
        n = len(re.findall(r"New connection from", broker.log_text()))
        self.assertGreaterEqual(n, 3)
        time.sleep(3)
        n2 = len(re.findall(r"New connection from", broker.log_text()))
        self.assertLessEqual(n2 - n, 2, "reconnects are not backing off")
        self.assertTrue(sc.exporter().alive())
        errs = [l for l in sc.log().splitlines() if l.startswith("<3>")]
        self.assertEqual(sum("refused credentials" in l for l in errs), 1, "logged per attempt")
        self.assertNotIn(SECRET, all_logs(self))

    def test_right_password_connects(self):
        broker = fbtest.Broker(self.procs, self.tmp, users={"fb": SECRET},
                               allow_anonymous=True)
        scenario.ExportScenario(self, broker, {"port": broker.port, "auth_user": "fb",
                                               "auth_password": SECRET}).start()
        self.assertRegex(broker.log_text(), r"as \S+ \(p\d, c0, k60, u'fb'\)")
        self.assertNotIn(SECRET, all_logs(self))

    def test_unreachable_broker_is_named_and_retried(self):
        # The scenario's own clients need a broker; the exporter is pointed
        # at a closed port.
        broker = fbtest.Broker(self.procs, self.tmp)
        port = fbtest.free_port()
        sc = scenario.ExportScenario(self, broker, {"port": port})
        sc.start(wait=False)
        self.expect_log(sc, rf"broker 127\.0\.0\.1:{port}: unreachable broker: Connection refused")
        self.assert_not_connected(sc, 2)

    # -------------------------------------------------------------- qos / retain
    def check_qos(self, qos):
        broker = fbtest.Broker(self.procs, self.tmp)
        sc = scenario.ExportScenario(self, broker, {"port": broker.port, "qos": qos}).start()
        cfg = sc.sub.wait_message(sc.config_topic("panel"), timeout=10)
        self.assertEqual(cfg.qos, qos, "discovery qos")
        st = sc.sub.wait_message(f"{sc.base}/panel/state", timeout=10)
        self.assertEqual(st.qos, qos, "state qos")
        av = sc.sub.wait_message(f"{sc.base}/panel/availability", timeout=10)
        self.assertEqual(av.qos, qos, "availability qos")
        self.assertIsNotNone(broker.wait_log(
            rf"{re.escape(sc.base)}/\+/\+/set \(QoS {qos}\)", 5), "command subscription qos")
        sc.check_command_round_trip()

    def test_qos_0(self):
        self.check_qos(0)

    def test_qos_1(self):
        self.check_qos(1)

    def test_qos_2(self):
        self.check_qos(2)

    def test_retain_on(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        sc = scenario.ExportScenario(self, broker, {"port": broker.port, "retain": True}).start()
        sc.assert_state_equals_table()
        time.sleep(0.5)
        sc.assert_retained_equals_table()

    def test_retain_off_state_and_availability_not_retained(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        sc = scenario.ExportScenario(self, broker, {"port": broker.port, "retain": False}).start()
        sc.assert_state_equals_table()
        time.sleep(0.5)
        snap = fbtest.retained_snapshot(broker, "#", timeout=3, quiet=0.5)
        self.assertIn(sc.config_topic("panel"), snap, "discovery must stay retained")
        self.assertIn(sc.config_topic(), snap)
        for t in snap:
            self.assertFalse(t.startswith("fieldbridge/"), f"{t} retained with retain off")

    # -------------------------------------------------------------- timeout
    def silent_listener(self):
        """A TCP listener that accepts and never says a word."""
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        conns = []
        stop = threading.Event()

        def run():
            srv.settimeout(0.2)
            while not stop.is_set():
                try:
                    c, _ = srv.accept()
                    conns.append((time.monotonic(), c))
                except socket.timeout:
                    pass
                except OSError:
                    return
        th = threading.Thread(target=run, daemon=True)
        th.start()

        def close():
            stop.set()
            th.join(2)
            srv.close()
            for _, c in conns:
                c.close()
        self.addCleanup(close)
        return srv.getsockname()[1], conns

    def test_timeout_fires_against_silent_listener_and_retries(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        port, conns = self.silent_listener()
        sc = scenario.ExportScenario(self, broker, {"port": port, "timeout_s": 10})
        t0 = time.monotonic()
        sc.start(wait=False)
        self.expect_log(sc, rf"broker 127\.0\.0\.1:{port}: no answer within timeout_s=10", 25)
        t_err = time.monotonic() - t0
        self.assertGreaterEqual(t_err, 9.5)
        self.assertLess(t_err, 20)
        self.assertTrue(fbtest.wait_for(lambda: len(conns) >= 2, 10), "no retry after the timeout")
        self.assertGreaterEqual(conns[1][0] - conns[0][0], 10.5, "retry without backoff")
        self.assertTrue(sc.exporter().alive())

    def test_timeout_0_waits_forever(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        port, conns = self.silent_listener()
        sc = scenario.ExportScenario(self, broker, {"port": port, "timeout_s": 0})
        sc.start(wait=False)
        self.assertTrue(fbtest.wait_for(lambda: len(conns) >= 1, 10))
        time.sleep(12)
        self.assertNotIn("no answer within", sc.log())
        self.assertEqual(len(conns), 1, "a second attempt means it gave up")
        self.assertTrue(sc.exporter().alive())

    # -------------------------------------------------------------- keep alive
    def test_keep_alive_sends_pings(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        sc = scenario.ExportScenario(self, broker, {"port": broker.port,
                                                    "keep_alive_s": 10}).start()
        self.assertIsNotNone(broker.wait_log(rf"as {re.escape(sc.node)} \(p\d, c0, k10", 5))
        self.assertIsNotNone(broker.wait_log(rf"Received PINGREQ from {re.escape(sc.node)}", 20),
                             "no PINGREQ within 2 keep-alive periods")

    def test_keep_alive_pings_every_period_and_link_stays(self):
        # The keepalive check is a deadline from the last packet each way
        # (mqtt_link.c), sharing other wake-ups up to a quarter period: an
        # idle link gets a PINGREQ every 10 to 12.5 s with keep_alive_s 10
        # (the log has whole seconds: 9..14), never late enough for the
        # broker (15 s) to drop it.
        broker = fbtest.Broker(self.procs, self.tmp)
        sc = scenario.ExportScenario(self, broker, {"port": broker.port,
                                                    "keep_alive_s": 10}).start()
        rx = re.compile(rf"^(\S+): Received PINGREQ from {re.escape(sc.node)}$", re.M)
        self.assertTrue(fbtest.wait_for(lambda: len(rx.findall(broker.log_text())) >= 3,
                                        fbtest.slack(45)),
                        "fewer than 3 PINGREQs:\n" + broker.log_text()[-2000:])
        t = [time.mktime(time.strptime(x, "%Y-%m-%dT%H:%M:%S"))
             for x in rx.findall(broker.log_text())[:3]]
        gaps = [b - a for a, b in zip(t, t[1:])]
        for g in gaps:
            self.assertTrue(9 <= g <= 14, f"PINGREQ gaps {gaps} s with keep_alive_s 10")
        self.assertNotIn("exceeded timeout", broker.log_text())
        self.assertEqual(sc.log().count("connected to"), 1, sc.log()[-2000:])

    def test_keep_alive_0_disables(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        sc = scenario.ExportScenario(self, broker, {"port": broker.port,
                                                    "keep_alive_s": 0}).start()
        self.assertIsNotNone(broker.wait_log(rf"as {re.escape(sc.node)} \(p\d, c0, k0", 5))
        time.sleep(3)
        self.assertNotIn(f"PINGREQ from {sc.node}", broker.log_text())

    # -------------------------------------------------------------- inflight
    def inflight_peak(self, max_inflight):
        broker = fbtest.Broker(self.procs, self.tmp)
        proxy = MqttProxy(broker.port, puback_delay=0.3)
        self.addCleanup(proxy.close)
        sc = scenario.ExportScenario(self, broker, {"port": proxy.port, "qos": 1,
                                                    "max_inflight": max_inflight}).start()
        sc.assert_state_equals_table()
        # a burst: Home Assistant's birth makes the exporter re-send everything
        sc.check_birth_republish()
        time.sleep(2)
        return proxy, sc

    def test_max_inflight_limits_unacknowledged_qos1(self):
        proxy, sc = self.inflight_peak(2)
        self.assertGreater(proxy.qos1_published, 6, "burst not larger than the window")
        self.assertEqual(proxy.max_outstanding, 2,
                         f"window not respected: {proxy.max_outstanding} in flight")

    def test_max_inflight_large_window_is_used(self):
        proxy, sc = self.inflight_peak(10000)
        self.assertGreater(proxy.max_outstanding, 2,
                           "a large window should let more than 2 messages fly")

    # -------------------------------------------------------------- prefix
    def test_discovery_prefix(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        sc = scenario.ExportScenario(self, broker, {"port": broker.port,
                                                    "discovery_prefix": "ha/test"}).start()
        self.assertEqual(sc.prefix, "ha/test")
        sc.check_discovery()
        sc.check_birth_republish()
        snap = fbtest.retained_snapshot(broker, "homeassistant/#")
        self.assertEqual(snap, {})


if __name__ == "__main__":
    fbtest.main(tools=fbtest.MQTT_TOOLS + ("mosquitto_passwd", "openssl"))
