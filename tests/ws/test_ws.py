# SPDX-License-Identifier: Apache-2.0
"""The fb_ws bridge against a real mosquitto: every case runs the same
client code (tests/ws/ws_client.c, built like fieldbridge-export's link) in
socket mode and in websocket mode where the case exists in both, so the
websocket mode is checked to behave exactly like the socket mode.

Usage: test_ws.py <path to fb_ws_client> [unittest args]"""
import os
import pwd
import re
import socket
import stat
import subprocess
import sys
import threading
import time

import fbtest

CLIENT = None


def run_client(procs, *args, timeout=60):
    """Runs the client to completion; returns (returncode, stdout)."""
    r = subprocess.run([CLIENT, *map(str, args)], capture_output=True, text=True,
                       timeout=timeout)
    out = r.stdout + ("\n[stderr]\n" + r.stderr if r.stderr.strip() else "")
    return r.returncode, out


class FakeHttpServer:
    """Answers every request with one fixed HTTP status: a "broker" that
    refuses the WebSocket upgrade (wrong path, authentication)."""

    def __init__(self, status_line):
        self.status_line = status_line
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                data = b""
                c.settimeout(5)
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = c.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    self.requests.append(data.decode(errors="replace"))
                    c.sendall(f"HTTP/1.1 {self.status_line}\r\nContent-Length: 0\r\n"
                              "Connection: close\r\n\r\n".encode())
                except OSError:
                    pass

    def close(self):
        self.sock.close()


class WsBase(fbtest.TestCase):
    def certs(self):
        return fbtest.Certs(os.path.join(self.tmp, "certs"))

    def both(self, broker, *args, expect_ok=True, attempts=2, modes=("socket", "websocket")):
        """Runs the client in each mode against the matching listener;
        returns {mode: stdout}."""
        outs = {}
        for mode in modes:
            tls = "--ssl" in args and args[args.index("--ssl") + 1] != "off"
            if mode == "socket":
                port = broker.tls_port if tls else broker.port
            else:
                port = broker.wss_port if tls else broker.ws_port
            rc, out = run_client(self.procs, "--mode", mode, "--port", port,
                                 "--attempts", attempts, "--timeout", 5, *args)
            outs[mode] = out
            if expect_ok:
                self.assertEqual(rc, 0, f"{mode}: expected success:\n{out}")
                self.assertIn("RESULT roundtrip ok", out, f"{mode}:\n{out}")
            else:
                self.assertEqual(rc, 3, f"{mode}: expected a refused connection:\n{out}")
        return outs


class TestPlain(WsBase):
    def test_ws_round_trip(self):
        broker = fbtest.Broker(self.procs, self.tmp, websockets=True)
        outs = self.both(broker, "--count", 50)
        self.assertIn("URL ws://127.0.0.1:%d/mqtt" % broker.ws_port, outs["websocket"])
        # The upgrade offered the "mqtt" subprotocol on the default path.
        self.assertIsNotNone(broker.wait_log(r"New client connected from 127\.0\.0\.1", 2))

    def test_socket_dir_is_private(self):
        broker = fbtest.Broker(self.procs, self.tmp, websockets=True)
        rdir = os.path.join(self.tmp, "run")
        os.makedirs(rdir, mode=0o755)
        p = subprocess.Popen([CLIENT, "--mode", "websocket", "--port", str(broker.ws_port),
                              "--scenario", "stream", "--duration", "4",
                              "--runtime-dir", rdir],
                             stdout=subprocess.PIPE, text=True)
        try:
            line = p.stdout.readline()
            m = re.match(r"SOCKET (\S+)", line)
            self.assertIsNotNone(m, line)
            path = m.group(1)
            d = os.path.dirname(path)
            self.assertEqual(os.path.dirname(d), rdir)
            st = os.stat(d)
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o700)
            self.assertEqual(st.st_uid, os.geteuid())
            sst = os.stat(path)
            self.assertTrue(stat.S_ISSOCK(sst.st_mode))
            self.assertEqual(stat.S_IMODE(sst.st_mode) & 0o077, 0)
            # Another user cannot even reach the socket.
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                probe = ("import socket,sys\ns=socket.socket(socket.AF_UNIX)\n"
                         "try:\n s.connect(sys.argv[1]); print('CONNECTED')\n"
                         "except PermissionError: print('EACCES')\n"
                         "except OSError as e: print('ERR', e)\n")
                r = subprocess.run(["setpriv", f"--reuid={nobody.pw_uid}",
                                    f"--regid={nobody.pw_gid}", "--clear-groups",
                                    sys.executable, "-c", probe, path],
                                   capture_output=True, text=True, timeout=10)
                self.assertEqual(r.stdout.strip(), "EACCES", r.stdout + r.stderr)
            out, _ = p.communicate(timeout=30)
            self.assertEqual(p.returncode, 0, out)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        # Removed on exit.
        self.assertFalse(os.path.exists(d))
        self.assertEqual(os.listdir(rdir), [])

    def test_wrong_path_404_names_url_and_status(self):
        srv = FakeHttpServer("404 Not Found")
        self.addCleanup(srv.close)
        rc, out = run_client(self.procs, "--mode", "websocket", "--port", srv.port,
                             "--path", "/wrong", "--attempts", 1)
        self.assertEqual(rc, 3, out)
        self.assertIn(f"ws://127.0.0.1:{srv.port}/wrong: HTTP 404", out)
        req = srv.requests[0]
        self.assertTrue(req.startswith("GET /wrong HTTP/1.1"), req)
        self.assertRegex(req, r"(?im)^Sec-WebSocket-Protocol: mqtt\r?$")
        self.assertRegex(req, r"(?im)^Upgrade: websocket\r?$")

    def test_unauthorized_401_names_url_and_status(self):
        srv = FakeHttpServer("401 Unauthorized")
        self.addCleanup(srv.close)
        rc, out = run_client(self.procs, "--mode", "websocket", "--port", srv.port,
                             "--attempts", 1)
        self.assertEqual(rc, 3, out)
        self.assertIn(f"ws://127.0.0.1:{srv.port}/mqtt: HTTP 401", out)

    def test_connection_refused_is_reported(self):
        port = fbtest.free_port()
        rc, out = run_client(self.procs, "--mode", "websocket", "--port", port,
                             "--attempts", 2)
        self.assertEqual(rc, 3, out)
        self.assertIn(f"ws://127.0.0.1:{port}/mqtt: cannot connect", out)
        # Retried with backoff through libmosquitto's normal reconnect.
        self.assertEqual(out.count("LOST "), 2, out)

    def test_broker_killed_mid_stream_reconnects(self):
        broker = fbtest.Broker(self.procs, self.tmp, websockets=True)
        topic = "fbws/stream"
        p = subprocess.Popen([CLIENT, "--mode", "websocket", "--port", str(broker.ws_port),
                              "--scenario", "stream", "--duration", "8", "--topic", topic],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            time.sleep(2.5)
            broker.restart(downtime=1.0, kill=True)
            out, _ = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 0, out)
        m = re.search(r"RESULT stream FINAL (\d+) CONNECTS (\d+)", out)
        self.assertIsNotNone(m, out)
        self.assertGreaterEqual(int(m.group(2)), 2, out)
        self.assertIn("WSERROR", out)   # the loss was explained
        snap = fbtest.retained_snapshot(broker, topic)
        got = snap.get(topic)
        got = got.payload if hasattr(got, "payload") else got
        if isinstance(got, bytes):
            got = got.decode()
        self.assertEqual(str(got), m.group(1), f"retained {snap!r}\n{out}")


class TestKeepalive(WsBase):
    def test_mqtt_keepalive_holds_an_idle_link(self):
        broker = fbtest.Broker(self.procs, self.tmp, websockets=True)
        rc, out = run_client(self.procs, "--mode", "websocket", "--port", broker.ws_port,
                             "--scenario", "idle", "--keepalive", 5, "--duration", 14)
        self.assertEqual(rc, 0, out)
        self.assertIn("RESULT idle ok connects=1", out)
        self.assertNotIn("exceeded timeout", broker.log_text())
        # The broker saw MQTT PINGREQs, which only libmosquitto sends.
        self.assertIsNotNone(broker.wait_log(r"Received PINGREQ", 1), broker.log_text()[-2000:])

    def test_websocket_traffic_alone_does_not_keep_alive(self):
        """No PINGREQ from the client: the broker must drop it after 1.5 x
        keepalive, i.e. nothing in the bridge (no WebSocket pings) hides a
        dead MQTT session."""
        broker = fbtest.Broker(self.procs, self.tmp, websockets=True)
        rc, out = run_client(self.procs, "--mode", "websocket", "--port", broker.ws_port,
                             "--scenario", "nopingreq", "--keepalive", 5, "--duration", 20)
        self.assertEqual(rc, 0, out)
        m = re.search(r"dropped after ([\d.]+) s", out)
        self.assertIsNotNone(m, out)
        # mosquitto drops after 1.5 x keepalive (libmosquitto's minimum is 5 s),
        # checked on its own coarse timer, so allow slack on a loaded machine;
        # a session kept alive by anything else would last the whole 20 s.
        self.assertLess(float(m.group(1)), 18.0, out)
        self.assertGreaterEqual(float(m.group(1)), 7.0, out)
        log = broker.log_text()
        self.assertNotIn("Received PINGREQ", log)
        # 2.0.11 logs a keepalive drop of a websockets client as a close.
        self.assertRegex(log, r"exceeded timeout|closed its connection")


class TestTls(WsBase):
    def test_wss_verified_ca(self):
        c = self.certs()
        broker = fbtest.Broker(self.procs, self.tmp, tls="server", ws_tls=True, certs=c)
        self.both(broker, "--ssl", "on", "--ca", c.ca)

    def test_wss_verified_ca_by_name(self):
        c = self.certs()
        broker = fbtest.Broker(self.procs, self.tmp, tls="server", ws_tls=True, certs=c)
        self.both(broker, "--ssl", "on", "--ca", c.ca, "--host", "localhost")

    def test_wss_unknown_ca_refused(self):
        c = self.certs()
        broker = fbtest.Broker(self.procs, self.tmp, tls="server", ws_tls=True, certs=c)
        outs = self.both(broker, "--ssl", "on", "--ca", c.other_ca, expect_ok=False)
        self.assertRegex(outs["websocket"],
                         r"wss://127\.0\.0\.1:\d+/mqtt: TLS handshake failed")

    def test_wss_client_certificate_required(self):
        c = self.certs()
        broker = fbtest.Broker(self.procs, self.tmp, tls="server", require_certificate=True,
                               ws_tls=True, ws_require_certificate=True, certs=c)
        self.both(broker, "--ssl", "on", "--ca", c.ca, "--cert", c.client_cert,
                  "--key", c.client_key)
        self.both(broker, "--ssl", "on", "--ca", c.ca, "--cert", c.client_cert,
                  "--key", c.client_key_encrypted, "--keypass", c.client_key_password)
        # Without a certificate the broker refuses.
        self.both(broker, "--ssl", "on", "--ca", c.ca, expect_ok=False)

    def test_wss_wrong_key_password_fails_at_setup(self):
        c = self.certs()
        broker = fbtest.Broker(self.procs, self.tmp, ws_tls=True, certs=c)
        rc, out = run_client(self.procs, "--mode", "websocket", "--port", broker.wss_port,
                             "--ssl", "on", "--ca", c.ca, "--cert", c.client_cert,
                             "--key", c.client_key_encrypted, "--keypass", "wrong")
        self.assertNotEqual(rc, 0, out)

    def test_wss_hostname_verification_on_refuses_other_name(self):
        c = self.certs()
        broker = fbtest.Broker(self.procs, self.tmp, tls="wrong_name", ws_tls=True, certs=c)
        outs = self.both(broker, "--ssl", "on", "--ca", c.ca, expect_ok=False)
        self.assertRegex(outs["websocket"],
                         r"wss://127\.0\.0\.1:\d+/mqtt: TLS handshake failed")

    def test_wss_hostname_verification_off_accepts_other_name(self):
        c = self.certs()
        broker = fbtest.Broker(self.procs, self.tmp, tls="wrong_name", ws_tls=True, certs=c)
        self.both(broker, "--ssl", "on", "--ca", c.ca, "--no-verify-host")

    def test_wss_trust_all_self_signed(self):
        c = self.certs()
        broker = fbtest.Broker(self.procs, self.tmp, tls="self_signed", ws_tls=True, certs=c)
        self.both(broker, "--ssl", "trust_all")
        # ...and verification is real when it is on.
        self.both(broker, "--ssl", "on", "--ca", c.ca, expect_ok=False)

    def test_wss_trust_all_expired_and_other_name(self):
        c = self.certs()
        for kind in ("expired", "wrong_name"):
            broker = fbtest.Broker(self.procs, self.tmp, tls=kind, ws_tls=True, certs=c,
                                   name=f"mosquitto-{kind}")
            self.both(broker, "--ssl", "trust_all")
            broker.stop()


if __name__ == "__main__":
    CLIENT = sys.argv.pop(1)
    if not os.access(CLIENT, os.X_OK):
        fbtest.skip_module(f"{CLIENT} not built")
    fbtest.main(tools=("mosquitto", "openssl", "setpriv"))
