#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fieldbridge-web's API over real HTTP on 127.0.0.1: the web daemon on a
temp config, a pymodbus TCP slave (an SDM120-like meter and an 8-coil relay
board) polled by the real fieldbridge-modbus driver, and mosquitto as the
export connection's broker.  Each case is its own ctest."""

import http.client
import json
import os
import queue
import re
import socket
import ssl
import subprocess
import threading
import time
import unittest

import fbtest
import gateway

POLL_MS = 500
WEB = os.path.join(gateway.BUILD, "src", "web", "fieldbridge-web")
CTL = os.path.join(gateway.BUILD, "src", "ctl", "fieldbridgectl")
BROKER_PASSWORD = "broker-pw-Zq81x"
PASSWORDS = {"admin": "admin-pw-7hG2k", "oper": "oper-pw-Lm4sQ", "view": "view-pw-Xc9dR"}


def crypt6(password):
    return subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password,
                          capture_output=True, text=True, check=True).stdout.strip()


def yescrypt(password):
    """A hash as fieldbridgectl writes it ($y$, libxcrypt's default cost:
    a 16 MiB region while it runs)."""
    import ctypes
    lib = ctypes.CDLL("libcrypt.so.1")
    lib.crypt_gensalt.restype = lib.crypt.restype = ctypes.c_char_p
    lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    return lib.crypt(password.encode(), lib.crypt_gensalt(b"$y$", 0, None, 0)).decode()


def proc_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith(key + ":"))


class Client:
    """One browser: its cookie, its CSRF token, every body it received."""

    def __init__(self, port, bodies):
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self.cookie = None
        self.csrf = None
        self.bodies = bodies

    def request(self, method, path, body=None, headers=None, origin=True, csrf=True,
                raw=None):
        h = {}
        if self.cookie:
            h["Cookie"] = f"fb_session={self.cookie}"
        if method not in ("GET", "HEAD"):
            if origin is True:
                h["Origin"] = self.origin
            elif origin:
                h["Origin"] = origin
            if csrf is True and self.csrf:
                h["X-CSRF-Token"] = self.csrf
            elif isinstance(csrf, str):
                h["X-CSRF-Token"] = csrf
        h.update(headers or {})
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            h["Content-Type"] = "application/json"
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            c.request(method, "/" + path.lstrip("/") if path.startswith("/") else
                      "/api/v1/" + path, body=data, headers=h)
            r = c.getresponse()
            text = r.read().decode("utf-8", "replace")
        finally:
            c.close()
        self.bodies.append(text)
        for k, v in r.getheaders():
            if k.lower() == "set-cookie" and v.startswith("fb_session="):
                val = v.split(";", 1)[0].split("=", 1)[1]
                self.cookie = val or None
        try:
            doc = json.loads(text) if text else None
        except ValueError:
            doc = None
        return r.status, {k.lower(): v for k, v in r.getheaders()}, doc

    def login(self, user, password=None):
        st, h, doc = self.request("POST", "session",
                                  {"user": user, "password": password or PASSWORDS[user]},
                                  csrf=False)
        if st == 200:
            self.csrf = doc["csrf"]
        return st, h, doc


class Events:
    """A GET events stream read in a thread: (monotonic time, event, data)."""

    def __init__(self, client):
        self.q = queue.Queue()
        self.conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=30)
        self.conn.request("GET", "/api/v1/events",
                          headers={"Cookie": f"fb_session={client.cookie}",
                                   "Accept": "text/event-stream"})
        self.sock = self.conn.sock
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = {k.lower(): v for k, v in self.resp.getheaders()}
        self.bodies = client.bodies
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        event, data = None, []
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                line = line.decode().rstrip("\n")
                self.bodies.append(line)
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "":
                    if event:
                        self.q.put((time.monotonic(), event, json.loads("".join(data))))
                    event, data = None, []
        except (OSError, ValueError, AttributeError):
            pass
        self.q.put(None)

    def next(self, pred, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                item = self.q.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                return None
            if item is None:
                return None
            if pred(item):
                return item
        return None

    def ended(self, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if self.q.get(timeout=max(0.01, end - time.monotonic())) is None:
                    return True
            except queue.Empty:
                return False
        return False

    def close(self):
        # The reader thread holds the response's buffer: shut the socket
        # down under it first, or close() waits for the next heartbeat.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()


class WebApi(fbtest.TestCase):
    idle_s = 30

    def setUp(self):
        super().setUp()
        self.bodies = []
        self.broker = fbtest.Broker(self.procs, self.tmp)
        self.slave = fbtest.ModbusSlave(self.procs, {1: "sdm120", 2: "relay8"})
        self.port = fbtest.free_port()
        self.gw = gateway.Gateway(self.procs, self.tmp, self.broker, buses=[
            gateway.tcp_bus(self.slave.port, [
                gateway.device("meter", "eastron-sdm120", 1),
                gateway.device("relays", "waveshare-relay-8ch", 2),
            ], poll_interval_ms=POLL_MS)],
            conn_extra={"auth_user": "fb", "auth_password": BROKER_PASSWORD})
        self.gw.config["gateway"]["users_file"] = self.gw.users_path
        self.gw.config["web"] = {"listen": ["127.0.0.1"], "port": self.port, "tls": "off",
                                 "session_idle_s": self.idle_s}
        self.write_config()
        self.hashes = {}
        self.write_users({
            "admin": {"role": "admin", "rights": {"*": "write"}},
            "oper": {"role": "operator", "rights": {"*": "read", "relays/relay_1": "write"}},
            "view": {"role": "viewer", "rights": {"*": "write"}},
            "homeassistant": {"role": "viewer", "rights": {"*": "write"}},
        })
        self.web = None

    def write_config(self):
        path = self.gw.config_path
        with open(os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                  "w") as f:
            json.dump(self.gw.config, f, indent=2)
        os.replace(path + ".tmp", path)

    def write_users(self, users):
        doc = {"users": []}
        for name, u in users.items():
            e = {"name": name, "role": u["role"], "rights": u["rights"]}
            if name in PASSWORDS:
                self.hashes[name] = e["password_hash"] = crypt6(PASSWORDS[name])
            doc["users"].append(e)
        path = self.gw.users_path
        with open(os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                  "w") as f:
            json.dump(doc, f, indent=2)
        os.replace(path + ".tmp", path)

    def start_web(self, driver=True, args=(), env=None):
        if driver:
            self.gw.start_driver("meters")
        www = os.path.join(self.tmp, "www")
        os.makedirs(os.path.join(www, "js"), exist_ok=True)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write("<!doctype html><title>fieldbridge</title>")
        with open(os.path.join(www, "js", "app.js"), "w") as f:
            f.write("export const x = 1;\n")
        self.web = self.procs.start("web", [WEB, "-c", self.gw.config_path, "--www", www, "-v",
                                            *args], env=env)
        self.assertTrue(fbtest.wait_port(self.port, 10), "fieldbridge-web does not listen")
        return Client(self.port, self.bodies)

    def logged_in(self, user="admin"):
        c = self.start_web() if self.web is None else Client(self.port, self.bodies)
        st, _, doc = c.login(user)
        self.assertEqual(st, 200, doc)
        return c

    # ------------------------------------------------------------------ auth
    def test_login_sets_strict_cookie_and_logout_ends_the_session(self):
        c = self.start_web()
        st, _, doc = c.login("admin", "wrong")
        self.assertEqual(st, 401)
        self.assertEqual(doc["error"], "wrong user name or password")
        time.sleep(1.1)  # the failure's backoff
        st, h, doc = c.login("admin")
        self.assertEqual(st, 200, doc)
        cookie = h["set-cookie"]
        self.assertRegex(cookie, r"^fb_session=[0-9a-f]{64}; ")
        for flag in ("HttpOnly", "SameSite=Strict", "Path=/"):
            self.assertIn(flag, cookie)
        self.assertNotIn("Secure", cookie)  # plain HTTP on loopback only
        self.assertEqual((doc["user"], doc["role"]), ("admin", "admin"))
        self.assertRegex(doc["csrf"], r"^[0-9a-f]{64}$")
        self.assertGreater(doc["expires"], time.time())
        self.assertEqual(c.request("GET", "status")[0], 200)
        st, _, doc = c.request("GET", "session")
        self.assertEqual((st, doc["user"], doc["csrf"]), (200, "admin", c.csrf))
        old = c.cookie
        ev = Events(c)
        self.assertIsNotNone(ev.next(lambda e: e[1] == "snapshot", 5))
        st, h, _ = c.request("DELETE", "session")
        self.assertEqual(st, 204)
        self.assertTrue(ev.ended(2), "the event stream outlived the logout")
        ev.close()
        self.assertIn("Max-Age=0", h["set-cookie"])
        c.cookie = old  # a stolen copy of the cookie is worthless now
        self.assertEqual(c.request("GET", "status")[0], 401)
        self.assertIn("logged in from 127.0.0.1", self.web.stderr_text())
        self.assertIn("logged out from 127.0.0.1", self.web.stderr_text())

    def test_session_expires_when_idle(self):
        self.gw.config["web"]["session_idle_s"] = 5
        self.write_config()
        c = self.logged_in()
        time.sleep(3)
        self.assertEqual(c.request("GET", "status")[0], 200)  # use keeps it alive
        time.sleep(3)
        self.assertEqual(c.request("GET", "status")[0], 200)
        time.sleep(5.5)
        st, _, doc = c.request("GET", "status")
        self.assertEqual(st, 401, doc)

    def test_changing_a_users_role_or_password_ends_its_sessions(self):
        admin = self.logged_in("admin")
        oper = Client(self.port, self.bodies)
        self.assertEqual(oper.login("oper")[0], 200)
        ev = Events(oper)
        self.assertIsNotNone(ev.next(lambda e: e[1] == "snapshot", 5))
        st, h, doc = admin.request("GET", "users/oper")
        st, _, doc = admin.request("PATCH", "users/oper", {"role": "viewer"},
                                   headers={"If-Match": h["etag"]})
        self.assertEqual(st, 200, doc)
        self.assertEqual(oper.request("GET", "status")[0], 401)
        self.assertTrue(ev.ended(2), "the event stream outlived the session")
        ev.close()
        st, _, doc = oper.login("oper")
        self.assertEqual((st, doc["role"]), (200, "viewer"))
        st, _, doc = admin.request("PATCH", "users/oper", {"password": "new-pw-Hy5"})
        self.assertEqual(st, 200, doc)
        self.assertEqual(oper.request("GET", "status")[0], 401)
        self.assertEqual(oper.login("oper", "new-pw-Hy5")[0], 200)
        self.assertEqual(admin.request("GET", "status")[0], 200)  # others stay
        # a change made elsewhere (fieldbridgectl) ends the stream on its own
        ev = Events(oper)
        self.assertIsNotNone(ev.next(lambda e: e[1] == "snapshot", 5))
        r = subprocess.run([CTL, "-c", self.gw.config_path, "user", "delete", "oper"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(ev.ended(3), "the stream of a deleted user went on")
        ev.close()

    def test_failed_logins_back_off_per_address_and_user(self):
        c = self.start_web()
        self.assertEqual(c.login("admin", "wrong1")[0], 401)
        st, h, doc = c.login("admin")  # even the right password waits
        self.assertEqual(st, 429, doc)
        self.assertIn("retry-after", h)
        self.assertEqual(c.login("nosuchuser", "x")[0], 429)  # the address waits too
        time.sleep(1.1)
        self.assertEqual(c.login("nosuchuser", "x")[0], 401)  # unknown: same answer
        time.sleep(0.5)
        st, h, _ = c.login("admin")
        self.assertEqual(st, 429)  # the second failure doubled the wait to 2 s
        time.sleep(2.1)
        self.assertEqual(c.login("admin")[0], 200)
        log = self.web.stderr_text()
        self.assertIn('failed login of "admin" from 127.0.0.1', log)
        self.assertIn('failed login of "nosuchuser" from 127.0.0.1', log)

    def test_password_hashes_run_outside_the_daemons_memory(self):
        # yescrypt (the dummy hash at start, and each login) needs a 16 MiB
        # region: in a child it never shows in the daemon's peak (VmHWM).
        self.hashes["admin"] = h = yescrypt(PASSWORDS["admin"])
        self.assertTrue(h.startswith("$y$"), h)
        doc = json.load(open(self.gw.users_path))
        next(u for u in doc["users"] if u["name"] == "admin")["password_hash"] = h
        with open(self.gw.users_path, "w") as f:
            json.dump(doc, f)
        c = self.start_web(driver=False)
        self.assertEqual(c.login("admin", "wrong")[0], 401)
        time.sleep(1.1)  # the failure's backoff
        self.assertEqual(c.login("nosuchuser", "x")[0], 401)  # the dummy hash
        time.sleep(2.1)
        st, _, doc = c.login("admin")
        self.assertEqual(st, 200, doc)
        pid = self.web.popen.pid
        hwm, rss = proc_kb(pid, "VmHWM"), proc_kb(pid, "VmRSS")
        self.assertLess(hwm - rss, 8 * 1024, f"peak {hwm} kB over {rss} kB now: a hash ran inside")

    def test_another_users_password_never_logs_in(self):
        # An unknown name, or one without a password, is checked against a
        # real user's hash (the same cost); a match there must not count.
        c = self.start_web(driver=False)
        self.assertEqual(c.login("homeassistant", PASSWORDS["admin"])[0], 401)
        time.sleep(1.1)
        self.assertEqual(c.login("nosuchuser", PASSWORDS["admin"])[0], 401)
        time.sleep(2.1)
        self.assertEqual(c.login("oper", PASSWORDS["admin"])[0], 401)
        self.assertIsNone(c.cookie)

    def test_non_get_without_csrf_token_is_403(self):
        c = self.logged_in()
        self.assertEqual(c.request("POST", "config/validate", {}, csrf=False)[0], 403)
        self.assertEqual(c.request("POST", "config/validate", {}, csrf="0" * 64)[0], 403)
        st, _, doc = c.request("POST", "connections", {"name": "x", "user": "admin",
                                                       "broker": "10.0.0.1"}, csrf=False)
        self.assertEqual(st, 403, doc)
        self.assertFalse(os.path.exists(os.path.join(self.gw.dir, "connections.d", "x.json")))
        self.assertEqual(c.request("DELETE", "session", csrf=False)[0], 403)
        self.assertEqual(c.request("GET", "status")[0], 200)  # still logged in
        self.assertEqual(c.request("POST", "config/validate", {})[0], 200)
        self.assertIn("missing or wrong X-CSRF-Token", self.web.stderr_text())

    def test_foreign_or_missing_origin_is_403(self):
        c = self.logged_in()
        for origin in ("http://evil.example", f"https://127.0.0.1:{self.port}",
                       f"http://127.0.0.1:{self.port + 1}", "null", None):
            st, _, doc = c.request("POST", "config/validate", {}, origin=origin)
            self.assertEqual(st, 403, (origin, doc))
        # login is refused too without this site's Origin (login CSRF)
        c2 = Client(self.port, self.bodies)
        st, _, _ = c2.request("POST", "session", {"user": "admin", "password":
                                                  PASSWORDS["admin"]}, origin="http://evil.example")
        self.assertEqual(st, 403)
        self.assertIsNone(c2.cookie)

    def test_forwarded_headers_only_from_trusted_proxies(self):
        fwd = {"X-Forwarded-For": "10.9.8.7", "X-Forwarded-Proto": "https",
               "X-Forwarded-Host": "gw.example:443"}
        c = self.logged_in()
        # not trusted: the headers change nothing, the proxy's Origin is foreign
        st, _, _ = c.request("POST", "config/validate", {}, origin="https://gw.example:443",
                             headers=fwd)
        self.assertEqual(st, 403)
        self.web.stop()
        self.gw.config["web"]["trusted_proxies"] = ["127.0.0.1"]
        self.write_config()
        self.start_web(driver=False)
        c = Client(self.port, self.bodies)
        c.origin = "https://gw.example:443"
        st, h, doc = c.request("POST", "session", {"user": "admin",
                                                   "password": PASSWORDS["admin"]},
                               headers=fwd, csrf=False)
        self.assertEqual(st, 200, doc)
        self.assertIn("; Secure", h["set-cookie"])  # the browser's side is HTTPS
        c.csrf = doc["csrf"]
        st, _, doc = c.request("POST", "config/validate", {}, headers=fwd)
        self.assertEqual(st, 200, doc)
        # this site's own Origin does not match what the proxy says the site is
        st, _, _ = c.request("POST", "config/validate", {}, headers=fwd,
                             origin=f"http://127.0.0.1:{self.port}")
        self.assertEqual(st, 403)
        self.assertIn("admin logged in from 10.9.8.7", self.web.stderr_text())

    # ------------------------------------------------------------------ config
    def test_stale_etag_is_409_and_changes_nothing(self):
        c = self.logged_in()
        st, h, doc = c.request("POST", "connections", {"name": "ha2", "user": "admin",
                                                       "broker": "10.0.0.2", "qos": 1})
        self.assertEqual(st, 201, doc)
        etag = h["etag"]
        self.assertEqual(doc["_meta"]["etag"], etag)
        self.assertEqual((doc["name"], doc["qos"]), ("ha2", 1))
        st, h, doc = c.request("GET", "connections/ha2")
        self.assertEqual((st, h["etag"]), (200, etag))
        st, h2, doc = c.request("PATCH", "connections/ha2", {"qos": 2}, headers={"If-Match": etag})
        self.assertEqual(st, 200, doc)
        self.assertNotEqual(h2["etag"], etag)
        path = os.path.join(self.gw.dir, "connections.d", "ha2.json")
        before = fbtest.read_text(path)
        for method, body in (("PATCH", {"qos": 0}), ("PUT", {"user": "admin", "broker": "x"}),
                             ("DELETE", None)):
            st, _, doc = c.request(method, "connections/ha2", body, headers={"If-Match": etag})
            self.assertEqual(st, 409, (method, doc))
            self.assertEqual(doc["etag"], h2["etag"])
        self.assertEqual(fbtest.read_text(path), before)
        st, _, _ = c.request("DELETE", "connections/ha2", headers={"If-Match": h2["etag"]})
        self.assertEqual(st, 204)
        self.assertFalse(os.path.exists(path))
        log = self.web.stderr_text()
        self.assertIn("admin from 127.0.0.1 created connection ha2", log)
        self.assertIn("admin from 127.0.0.1 modified connection ha2 (qos)", log)
        self.assertIn("admin from 127.0.0.1 deleted connection ha2", log)

    def test_edit_refused_with_the_loaders_message(self):
        c = self.logged_in()
        st, _, doc = c.request("POST", "connections", {"name": "ha3", "user": "admin",
                                                       "broker": "10.0.0.3", "timeout_s": 45})
        self.assertEqual(st, 422, doc)
        self.assertEqual(doc["diagnostics"][0]["message"],
                         'connection ha3: timeout_s: expected one of 0, 10, 15, 30, 60, 90, '
                         '120, 150, 180, 300, 600, 1200, 1800, 3600, got "45"')
        # the same refusal as fieldbridgectl's
        r = subprocess.run([CTL, "-c", self.gw.config_path, "connection", "add", "ha3",
                            "user=admin", "broker=10.0.0.3", "timeout_s=45"],
                           capture_output=True, text=True)
        self.assertEqual(r.stderr.strip(), "error: " + doc["diagnostics"][0]["message"])
        st, _, doc = c.request("POST", "connections", {"name": "ha4", "user": "admin",
                                                       "broker": "10.0.0.3", "nosuch": 1})
        self.assertEqual(st, 400, doc)
        st, _, doc = c.request("PATCH", "connections/ha", {"qos": 1})
        self.assertEqual(st, 409, doc)  # defined in the main file: edited by hand
        self.assertFalse(os.path.exists(os.path.join(self.gw.dir, "connections.d")) and
                         os.listdir(os.path.join(self.gw.dir, "connections.d")))

    def test_certificates_uploaded_as_pem_are_checked_and_described(self):
        certs = fbtest.Certs(os.path.join(self.tmp, "pki"))
        c = self.logged_in()
        pem = fbtest.read_text
        st, _, doc = c.request("POST", "connections", {
            "name": "tls", "user": "admin", "broker": "localhost", "port": 8883, "ssl": "on",
            "ssl_server_crt": pem(certs.ca), "ssl_client_crt": pem(certs.client_cert),
            "ssl_client_key": pem(certs.client_key)})
        self.assertEqual(st, 201, doc)
        self.assertIn("fieldbridge test CA", doc["_certs"]["ssl_server_crt"]["subject"])
        self.assertFalse(doc["_certs"]["ssl_server_crt"]["expired"])
        self.assertTrue(doc["_certs"]["key_matches_certificate"])
        key = os.path.join(self.gw.dir, "certs", "tls", "ssl_client_key.pem")
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        self.assertNotIn("PRIVATE KEY", "\n".join(self.bodies))
        # a client certificate of another key: refused at the key field in
        # the loader's words (the exporter could never connect), nothing stored
        crt = os.path.join(self.gw.dir, "certs", "tls", "ssl_client_crt.pem")
        before = fbtest.read_text(crt)
        st, _, doc = c.request("PATCH", "connections/tls", {
            "ssl_client_crt": pem(certs.untrusted_client_cert)})
        self.assertEqual(st, 422, doc)
        self.assertEqual(doc["diagnostics"][0].get("field"), "ssl_client_key", doc)
        self.assertIn("is not the key of ssl_client_crt", doc["diagnostics"][0]["message"])
        self.assertEqual(fbtest.read_text(crt), before)
        # not a certificate: refused, naming what was uploaded, not a temporary path
        st, _, doc = c.request("PATCH", "connections/tls", {"ssl_server_crt": "-----BEGIN "
                                                            "CERTIFICATE-----\nAAAA\n"})
        self.assertEqual(st, 422, doc)
        self.assertIn("the uploaded file", doc["diagnostics"][0]["message"])
        self.assertNotIn("upload-", json.dumps(doc))
        st, _, doc = c.request("PATCH", "connections/tls", {"ssl_server_crt": "/etc/passwd"})
        self.assertEqual(st, 400, doc)  # a server path is not an upload
        self.assertEqual([f for f in os.listdir(os.path.join(
            self.gw.config["gateway"]["state_dir"], "web")) if f.startswith("upload-")], [])

    def test_validate_messages_equal_config_check(self):
        c = self.logged_in()
        d = os.path.join(self.gw.dir, "connections.d")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "bad.json"), "w") as f:
            json.dump({"user": "nobody", "broker": "10.0.0.9", "timeout_s": 45, "qos": 7,
                       "typo_field": 1}, f)
        st, _, doc = c.request("POST", "config/validate", {})
        self.assertEqual(st, 200, doc)
        self.assertFalse(doc["ok"])
        r = subprocess.run([CTL, "-c", self.gw.config_path, "config", "check"],
                           capture_output=True, text=True)
        lines = [l for l in r.stdout.splitlines() if l.startswith(("error: ", "warning: "))]
        got = [f"{x['severity']}: {x['message']}" for x in doc["diagnostics"]]
        self.assertTrue(lines)
        self.assertEqual(got, lines)
        fields = {x.get("field") for x in doc["diagnostics"]}
        self.assertTrue({"timeout_s", "qos"} <= fields, doc["diagnostics"])
        self.assertTrue(all(x.get("file", "").endswith("bad.json")
                            for x in doc["diagnostics"] if x.get("field") == "qos"))

    def test_no_secret_in_any_response_or_log(self):
        c = self.logged_in()
        st, _, doc = c.request("POST", "connections", {
            "name": "sec", "user": "admin", "broker": "10.0.0.5", "auth_user": "u",
            "auth_password": "api-secret-Pw3"})
        self.assertEqual(st, 201, doc)
        self.assertEqual(doc["auth_password"], {"set": True})
        st, _, doc = c.request("POST", "users", {"name": "newbie", "role": "viewer",
                                                 "password": "newbie-pw-Ty6"})
        self.assertEqual(st, 201, doc)
        self.assertEqual(doc["password"], {"set": True})
        for path in ("session", "status", "schema", "config", "connections", "connections/ha",
                     "connections/sec", "buses", "buses/meters", "buses/meters/devices",
                     "users", "users/admin", "users/newbie"):
            st, _, doc = c.request("GET", path)
            self.assertEqual(st, 200, (path, doc))
        self.assertEqual(c.request("POST", "config/validate", {})[0], 200)
        ev = Events(c)
        self.assertIsNotNone(ev.next(lambda e: e[1] == "snapshot", 5))
        ev.close()
        ha = [x for x in c.request("GET", "config")[2]["connections"] if x["name"] == "ha"][0]
        self.assertEqual(ha["auth_password"], {"set": True})
        secrets = [BROKER_PASSWORD, "api-secret-Pw3", "newbie-pw-Ty6", *PASSWORDS.values(),
                   *self.hashes.values(), "$6$"]
        text = "\n".join(self.bodies)
        for s in secrets:
            self.assertNotIn(s, text)
        log = self.web.stderr_text()
        for s in secrets[:-1]:
            self.assertNotIn(s, log)
        self.assertIn("created connection sec (user, broker, auth_user, auth_password)", log)

    # ------------------------------------------------------------------ values
    def test_reloads_do_not_pile_up_event_streams(self):
        # A page reload leaves its old stream suspended and unnoticed; one
        # session keeps at most 4, so reloading never uses up the limits.
        c = self.logged_in("view")
        streams = []
        for i in range(12):
            s = Events(c)
            self.assertEqual(s.status, 200, i)
            self.assertTrue(s.next(lambda e: e[1] == "snapshot", 5), i)
            streams.append(s)
            if i >= 4:  # the oldest still open ended when this one opened
                self.assertTrue(streams[i - 4].ended(5), i)
        for s in streams[-4:]:
            self.assertFalse(s.ended(0.1))
        # Another session's streams are not touched.
        other = Events(self.logged_in("view"))
        self.assertTrue(other.next(lambda e: e[1] == "snapshot", 5))
        for s in streams[-4:]:
            self.assertFalse(s.ended(0.1))
        # And the page's files still load, beside the open streams.
        for _ in range(8):
            self.assertEqual(c.request("GET", "status")[0], 200)
        for s in streams + [other]:
            s.close()

    def test_sse_event_within_one_poll_interval_of_a_register_change(self):
        c = self.logged_in("view")
        self.slave.freeze()
        ev = Events(c)
        self.assertEqual(ev.status, 200)
        self.assertTrue(ev.headers["content-type"].startswith("text/event-stream"))
        self.assertEqual(ev.headers["cache-control"], "no-store")
        first = ev.next(lambda e: e[1] == "snapshot", 5)
        self.assertIsNotNone(first)
        # the driver's first reads: in the snapshot, or as the first updates
        snap = first[2]["buses"]["meters"]["devices"].get("meter", {}).get("points", {})
        if snap.get("voltage", {}).get("quality") != "ok":
            self.assertIsNotNone(ev.next(lambda e: any(
                p["device"] == "meter" and p["point"] == "voltage" and p["quality"] == "ok"
                for p in e[2].get("points", [])), 10), "no first reading of the meter")
        time.sleep(POLL_MS / 1000 * 2)
        while not ev.q.empty():
            ev.q.get()
        t0 = time.monotonic()
        self.slave.set_float(1, "ir", 0x0000, 241.25)
        got = ev.next(lambda e: e[1] == "update" and any(
            p["device"] == "meter" and p["point"] == "voltage" and p["value"] == 241.25
            for p in e[2]["points"]), 5)
        self.assertIsNotNone(got, "no update event for the new voltage")
        # One interval plus the push; a loaded machine adds latency, but
        # below two intervals (normal build) it still was the first poll.
        self.assertLessEqual(got[0] - t0, POLL_MS / 1000 + fbtest.slack(0.4))
        points = [p for p in got[2]["points"] if p["point"] == "voltage"]
        self.assertEqual(len(points), 1)  # coalesced: one entry per point
        ev.close()

    def test_streams_of_different_users_are_filtered_each_by_its_own_rights(self):
        # Streams of one user share one update text per flush; another
        # user's must still be filtered by that user's rights.
        self.write_users({
            "admin": {"role": "admin", "rights": {"*": "write"}},
            "oper": {"role": "operator", "rights": {"meter/*": "read"}},
            "homeassistant": {"role": "viewer", "rights": {"*": "write"}},
        })
        admin = self.logged_in("admin")
        oper = Client(self.port, self.bodies)
        self.assertEqual(oper.login("oper")[0], 200)
        streams = {"admin": [Events(admin), Events(admin)], "oper": [Events(oper)]}
        for evs in streams.values():
            for ev in evs:
                self.assertIsNotNone(ev.next(lambda e: e[1] == "snapshot", 5))
        self.slave.set_float(1, "ir", 0x0000, 239.5)
        self.slave.set_coils(2, 0, [True])
        seen = {}
        for who, evs in streams.items():
            for i, ev in enumerate(evs):
                devs = set()
                end = time.monotonic() + fbtest.slack(3)
                while time.monotonic() < end and not ({"meter", "relays"} <= devs):
                    e = ev.next(lambda e: e[1] == "update", max(0.1, end - time.monotonic()))
                    if e:
                        devs |= {p["device"] for p in e[2]["points"]}
                seen[(who, i)] = devs
                ev.close()
        self.assertEqual(seen[("admin", 0)], {"meter", "relays"})
        self.assertEqual(seen[("admin", 1)], {"meter", "relays"})
        self.assertEqual(seen[("oper", 0)], {"meter"})  # never a relay point

    def test_operator_switches_a_relay_within_its_rights(self):
        c = self.logged_in("oper")
        self.assertTrue(fbtest.wait_for(lambda: c.request("GET", "status")[2]["buses"][0]
                                        ["attached"], 10))
        # the snapshot says what this user may switch
        ev = Events(c)
        snap = ev.next(lambda e: e[1] == "snapshot", 5)[2]["buses"]["meters"]["devices"]
        ev.close()
        relays, meter = snap["relays"]["points"], snap["meter"]["points"]
        self.assertEqual((relays["relay_1"]["writable"], relays["relay_2"]["writable"]),
                         (True, False))
        self.assertEqual(relays["relay_1"]["component"], "switch")
        self.assertEqual((meter["voltage"]["unit"], meter["voltage"]["writable"]), ("V", False))
        st, _, doc = c.request("POST", "points/meters/relays/relay_1", {"value": True})
        self.assertEqual((st, doc), (200, {"status": "done"}))
        self.assertTrue(self.slave.coils(2)[0])
        st, _, doc = c.request("POST", "points/meters/relays/relay_2", {"value": True})
        self.assertEqual(st, 403, doc)  # rights: read only
        st, _, doc = c.request("POST", "points/meters/meter/voltage", {"value": 1})
        self.assertEqual(st, 403, doc)
        self.assertFalse(self.slave.coils(2)[1])
        self.assertEqual(len(self.slave.writes(unit=2)), 1)
        st, _, doc = c.request("POST", "points/meters/relays/relay_1", {"value": "maybe"})
        self.assertEqual(st, 400, doc)
        log = self.web.stderr_text()
        self.assertRegex(log, r"oper from 127\.0\.0\.1: command web-[0-9a-f]+ for "
                              r"meters/relays/relay_1 = true")
        self.assertIn("command for relays/relay_2 refused: no write right", log)

    def test_viewer_cannot_write(self):
        c = self.logged_in("view")  # rights say write; the role does not
        self.assertTrue(fbtest.wait_for(lambda: c.request("GET", "status")[2]["buses"][0]
                                        ["attached"], 10))
        ev = Events(c)
        snap = ev.next(lambda e: e[1] == "snapshot", 5)[2]["buses"]["meters"]["devices"]
        ev.close()
        self.assertFalse(snap["relays"]["points"]["relay_1"]["writable"])
        st, _, doc = c.request("POST", "points/meters/relays/relay_1", {"value": True})
        self.assertEqual(st, 403, doc)
        st, _, doc = c.request("POST", "connections", {"name": "v", "user": "admin",
                                                       "broker": "10.0.0.1"})
        self.assertEqual(st, 403, doc)
        time.sleep(POLL_MS / 1000 * 2)
        self.assertEqual(self.slave.coils(2), [False] * 8)
        self.assertEqual(self.slave.writes(unit=2), [])

    def test_operator_cannot_edit_config(self):
        c = self.logged_in("oper")
        self.assertEqual(c.request("GET", "config")[0], 200)
        self.assertNotIn("users", c.request("GET", "config")[2])
        for method, path, body in (
                ("POST", "connections", {"name": "o", "user": "admin", "broker": "10.0.0.1"}),
                ("PATCH", "connections/ha", {"qos": 1}),
                ("DELETE", "connections/ha", None),
                ("POST", "buses/meters/devices", {"id": "m2", "definition": "eastron-sdm120",
                                                  "unit_id": 5}),
                ("POST", "users", {"name": "evil", "role": "admin"}),
                ("GET", "users", None),
                ("PATCH", "users/oper", {"role": "admin"})):
            st, _, doc = c.request(method, path, body)
            self.assertEqual(st, 403, (method, path, doc))
        self.assertFalse(os.path.exists(os.path.join(self.gw.dir, "connections.d")))
        self.assertFalse(os.path.exists(os.path.join(self.gw.dir, "buses.d")))
        self.assertNotIn("evil", fbtest.read_text(self.gw.users_path))

    # ------------------------------------------------------------------ first run
    def test_setup_code_creates_the_first_admin_once(self):
        self.write_users({"view": {"role": "viewer", "rights": {"*": "read"}},
                          "homeassistant": {"role": "viewer", "rights": {"*": "write"}}})
        c = self.start_web(driver=False)
        self.assertTrue(fbtest.wait_for(lambda: "setup code" in self.web.stderr_text(), 5))
        code = re.search(r"setup code ([0-9A-F]{4}-[0-9A-F]{4})", self.web.stderr_text()).group(1)
        r = subprocess.run([CTL, "-c", self.gw.config_path, "web", "setup-code"],
                           capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, code))
        stored = os.path.join(self.gw.config["gateway"]["state_dir"], "web", "setup-code")
        self.assertEqual(os.stat(stored).st_mode & 0o777, 0o600)
        st, _, doc = c.request("GET", "session")
        self.assertEqual((st, doc["setup_required"]), (401, True))
        st, _, doc = c.request("POST", "setup", {"code": "0000-0000", "user": "boss",
                                                 "password": "boss-pw-Qa1"})
        self.assertEqual(st, 403, doc)
        time.sleep(1.1)
        st, h, doc = c.request("POST", "setup", {"code": code, "user": "boss",
                                                 "password": "boss-pw-Qa1"})
        self.assertEqual(st, 201, doc)
        self.assertEqual((doc["user"], doc["role"]), ("boss", "admin"))
        self.assertIn("HttpOnly", h["set-cookie"])
        c.csrf = doc["csrf"]
        self.assertEqual(c.request("GET", "users")[0], 200)
        self.assertFalse(os.path.exists(stored))
        st, _, doc = c.request("POST", "setup", {"code": code, "user": "boss2",
                                                 "password": "x-pw-2"})
        self.assertEqual(st, 409, doc)
        c2 = Client(self.port, self.bodies)
        self.assertEqual(c2.login("boss", "boss-pw-Qa1")[0], 200)
        r = subprocess.run([CTL, "-c", self.gw.config_path, "web", "setup-code"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 4)

    def test_starts_on_a_config_with_errors_so_it_can_be_fixed(self):
        d = os.path.join(self.gw.dir, "connections.d")
        os.makedirs(d)
        with open(os.path.join(d, "bad.json"), "w") as f:
            json.dump({"user": "admin", "broker": "10.0.0.9", "timeout_s": 45}, f)
        c = self.start_web(driver=False)
        self.assertIn("has errors: serving the page to fix them", self.web.stderr_text())
        self.assertEqual(c.login("admin")[0], 200)
        st, _, doc = c.request("GET", "status")
        self.assertEqual((st, doc["degraded"], doc["buses"]), (200, True, []))
        st, _, doc = c.request("POST", "config/validate", {})
        self.assertFalse(doc["ok"])
        self.assertIn("timeout_s", [x.get("field") for x in doc["diagnostics"]])
        st, _, doc = c.request("PATCH", "connections/bad", {"timeout_s": 30})
        self.assertEqual(st, 200, doc)
        st, _, doc = c.request("POST", "config/validate", {})
        self.assertTrue(doc["ok"], doc)
        # a main file that is not JSON at all: nothing to serve
        self.web.stop()
        with open(self.gw.config_path, "w") as f:
            f.write("{ not json")
        p = self.procs.start("web-broken", [WEB, "-c", self.gw.config_path, "--www", self.tmp])
        self.assertEqual(p.wait(10), 78)  # EX_CONFIG
        self.assertIn("not started", p.stderr_text())

    # ------------------------------------------------------------------ hygiene
    def test_static_files_from_whitelist_with_security_headers(self):
        c = self.start_web(driver=False)
        st, h, _ = c.request("GET", "/")
        self.assertEqual(st, 200)
        self.assertIn("script-src 'self'", h["content-security-policy"])
        self.assertNotIn("unsafe-inline", h["content-security-policy"])
        self.assertEqual(h["x-content-type-options"], "nosniff")
        self.assertEqual(h["referrer-policy"], "no-referrer")
        self.assertEqual(h["content-type"], "text/html; charset=utf-8")
        st, h, _ = c.request("GET", "/js/app.js")
        self.assertEqual((st, h["content-type"]), (200, "text/javascript; charset=utf-8"))
        # a file added after the start is not served: the list is built once
        with open(os.path.join(self.tmp, "www", "late.js"), "w") as f:
            f.write("1")
        for path in ("/late.js", "/js/../index.html", "/../gateway/fieldbridge.json",
                     "/%2e%2e/gateway/fieldbridge.json", "/js", "/index.html/"):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", path)
            self.assertEqual(conn.getresponse().status, 404, path)
            conn.close()
        st, h, _ = c.request("GET", "status")
        self.assertEqual((st, h["cache-control"]), (401, "no-store"))
        self.assertEqual(h["x-content-type-options"], "nosniff")

    def test_tls_auto_makes_a_certificate_and_logs_its_fingerprint(self):
        self.gw.config["web"]["tls"] = "auto"
        self.write_config()
        self.start_web()
        crt = os.path.join(self.gw.config["gateway"]["state_dir"], "web", "cert.pem")
        key = os.path.join(self.gw.config["gateway"]["state_dir"], "web", "key.pem")
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        fp = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-fingerprint",
                             "-sha256"], capture_output=True, text=True, check=True)
        fp = fp.stdout.strip().split("=", 1)[1]
        self.assertTrue(fbtest.wait_for(lambda: "fingerprint" in self.web.stderr_text(), 5))
        self.assertIn(f"TLS certificate SHA-256 fingerprint {fp}", self.web.stderr_text())
        ctx = ssl.create_default_context(cafile=crt)
        ctx.check_hostname = False  # the certificate names this host, not 127.0.0.1's
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=10)
        conn.request("POST", "/api/v1/session", body=json.dumps(
            {"user": "admin", "password": PASSWORDS["admin"]}),
            headers={"Origin": f"https://127.0.0.1:{self.port}",
                     "Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 200)
        self.assertIn("; Secure", r.getheader("Set-Cookie"))
        conn.close()
        # plain HTTP on the TLS port gets no API
        try:
            st = Client(self.port, []).request("GET", "status")[0]
        except (http.client.HTTPException, OSError):
            st = None
        self.assertIsNone(st, "plain HTTP answered on the TLS port")
        # the same certificate at the next start
        self.web.stop()
        before = fbtest.read_text(crt)
        self.start_web(driver=False)
        self.assertEqual(fbtest.read_text(crt), before)
        # Its RSS (target <= 8 MB) is a bench figure, not a test: machines
        # here are noisy and a 30 KB swing made this test flaky.

    def test_body_size_limit(self):
        c = self.logged_in()
        big = json.dumps({"name": "x" * (300 * 1024)})
        st, _, doc = c.request("POST", "connections", raw=big)
        self.assertEqual(st, 413, doc)
        deep = "[" * 40 + "]" * 40
        st, _, doc = c.request("POST", "connections", raw='{"a":' + deep + "}")
        self.assertEqual(st, 400, doc)
        self.assertEqual(c.request("GET", "status")[0], 200)  # still serving

    def test_definitions_and_serial_ports_for_the_pickers(self):
        c = self.logged_in("view")
        st, _, doc = c.request("GET", "definitions")
        self.assertEqual(st, 200, doc)
        defs = {d["id"]: d for d in doc["definitions"]}
        shipped = {f[:-5] for f in os.listdir(gateway.DEVICES) if f.endswith(".json")}
        self.assertEqual(set(defs), shipped)
        self.assertEqual((defs["eastron-sdm120"]["manufacturer"], defs["eastron-sdm120"]
                          ["protocol"]), ("Eastron", "modbus"))
        self.assertGreater(defs["eastron-sdm120"]["points"], 5)
        st, _, doc = c.request("GET", "serial-ports")
        self.assertEqual(st, 200, doc)
        by_id = "/dev/serial/by-id"
        names = sorted(os.listdir(by_id)) if os.path.isdir(by_id) else []
        self.assertEqual([p["name"] for p in doc["ports"]], names)
        self.assertEqual(Client(self.port, []).request("GET", "definitions")[0], 401)

    def test_gpio_chips_for_the_line_picker(self):
        c = self.logged_in("view")
        st, _, doc = c.request("GET", "gpio-chips")
        self.assertEqual(st, 200, doc)
        chips = sorted(f for f in os.listdir("/dev") if f.startswith("gpiochip"))
        self.assertEqual(sorted(ch["name"] for ch in doc["chips"]), chips)
        self.assertRegex(doc["backend"], r"^libgpiod ")
        if not chips:  # this machine: no GPIO at all, said in the driver's words
            self.assertEqual(doc["message"],
                             "no GPIO chips on this machine: none (no /dev/gpiochip*)")
        for ch in doc["chips"]:
            self.assertEqual(ch["path"], "/dev/" + ch["name"])
            self.assertTrue("error" in ch or "label" in ch, ch)
            if "label" in ch:
                self.assertEqual([ln["offset"] for ln in ch["lines"]],
                                 list(range(len(ch["lines"]))))
        self.assertEqual(c.request("POST", "gpio-chips", {})[0], 405)
        self.assertEqual(Client(self.port, []).request("GET", "gpio-chips")[0], 401)

    def test_gpio_chips_lists_fake_chip_files_each_with_its_error(self):
        # FB_GPIO_DEV_DIR: a directory of chip files the backend must open;
        # regular files are not GPIO character devices, so each is listed
        # with the backend's refusal, in version order, and the rest skipped
        dev = os.path.join(self.tmp, "dev")
        os.makedirs(dev)
        for name in ("gpiochip10", "gpiochip2", "gpiochip0", "ttyS0", "gpiomem"):
            with open(os.path.join(dev, name), "w") as f:
                f.write("not a chip")
        c = self.start_web(driver=False, env={"FB_GPIO_DEV_DIR": dev})
        self.assertEqual(c.login("view")[0], 200)
        st, _, doc = c.request("GET", "gpio-chips")
        self.assertEqual(st, 200, doc)
        self.assertEqual([ch["name"] for ch in doc["chips"]],
                         ["gpiochip0", "gpiochip2", "gpiochip10"])
        for ch in doc["chips"]:
            self.assertEqual(ch["path"], os.path.join(dev, ch["name"]))
            self.assertRegex(ch["error"], r"^cannot open: \S", ch)
            self.assertNotIn("label", ch)
        self.assertNotIn("message", doc)  # there are chips, they just cannot be opened

    def test_device_discovery_payload_is_what_the_exporter_publishes(self):
        c = self.logged_in()
        node = self.gw.node_id()
        sub = fbtest.Subscriber(self.broker, ["homeassistant/device/+/config"])
        self.gw.start_exporter("ha")
        for dev in ("meter", "relays"):
            topic = f"homeassistant/device/{node}_{dev}/config"
            msg = sub.wait_message(topic, timeout=fbtest.slack(10))
            self.assertIsNotNone(msg, f"the exporter published no {topic}")
            st, _, doc = c.request("GET", f"buses/meters/devices/{dev}/discovery")
            self.assertEqual(st, 200, doc)
            (one,) = doc["connections"]
            self.assertEqual((one["connection"], one["node_id"], one["topic"]),
                             ("ha", node, topic))
            self.assertEqual(one["payload"].encode(), msg.raw)  # byte for byte
            base = self.gw.base()
            self.assertEqual(one["state_topic"], f"{base}/{dev}/state")
            self.assertEqual(one["availability_topics"],
                             [f"{base}/status", f"{base}/{dev}/availability"])
            cmps = json.loads(one["payload"])["cmps"]
            if dev == "relays":  # writable points carry their command topic
                self.assertEqual(cmps["relay_1"]["command_topic"], f"{base}/relays/relay_1/set")
        sub.stop()
        view = Client(self.port, self.bodies)
        self.assertEqual(view.login("view")[0], 200)  # may read every point: sees it
        self.assertEqual(view.request("GET", "buses/meters/devices/meter/discovery")[0], 200)
        oper = Client(self.port, self.bodies)
        self.assertEqual(oper.login("oper")[0], 200)
        self.write_users({  # oper loses one point of the meter: the payload names it
            "admin": {"role": "admin", "rights": {"*": "write"}},
            "oper": {"role": "operator", "rights": {"*": "read", "meter/voltage": "none"}},
            "homeassistant": {"role": "viewer", "rights": {"*": "write"}},
        })
        self.assertEqual(oper.login("oper")[0], 200)
        st, _, doc = oper.request("GET", "buses/meters/devices/meter/discovery")
        self.assertEqual((st, doc["error"]), (403, "the discovery payload names points "
                                                    "outside your rights"))
        st, _, doc = c.login("admin")
        st, _, doc = c.request("GET", "buses/meters/devices/nosuch/discovery")
        self.assertEqual((st, doc["error"]), (404, 'no device "nosuch" on bus "meters"'))
        # the connection's user may only read the relays: the preview shows
        # them as Home Assistant would accept them, binary sensors
        self.write_users({
            "admin": {"role": "admin", "rights": {"*": "write"}},
            "homeassistant": {"role": "viewer", "rights": {"*": "read"}},
        })
        self.assertEqual(c.login("admin")[0], 200)
        st, _, doc = c.request("GET", "buses/meters/devices/relays/discovery")
        self.assertEqual(st, 200, doc)
        relay = json.loads(doc["connections"][0]["payload"])["cmps"]["relay_1"]
        self.assertEqual(relay["p"], "binary_sensor")
        self.assertNotIn("command_topic", relay)

    def test_definition_upload_is_validated_with_its_vectors_and_stored_as_a_drop_in(self):
        dropins = os.path.join(self.gw.dir, "devices")
        self.gw.config["gateway"]["definition_dirs"] = [dropins, gateway.DEVICES]
        self.write_config()
        c = self.logged_in()
        with open(os.path.join(gateway.DEVICES, "eastron-sdm120.json")) as f:
            good = f.read()
        st, _, doc = c.request("POST", "definitions", {"id": "my-meter", "content": good})
        self.assertEqual(st, 201, doc)
        path = os.path.join(dropins, "my-meter.json")
        self.assertEqual((doc["id"], doc["path"]), ("my-meter", path))
        self.assertEqual(doc["vectors"]["failed"], 0)
        self.assertGreaterEqual(doc["vectors"]["vectors"], 5)  # they ran
        with open(path) as f:
            self.assertEqual(f.read(), good)  # as uploaded, comments and all
        r = subprocess.run([CTL, "-c", self.gw.config_path, "definition", "check", "my-meter"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("web: admin from 127.0.0.1 added definition my-meter: done",
                      self.web.stderr_text())
        # the same id again only when replacing explicitly
        st, _, doc = c.request("POST", "definitions", {"id": "my-meter", "content": good})
        self.assertEqual(st, 409, doc)
        self.assertIn("exists already", doc["diagnostics"][0]["message"])
        # a failing vector: refused with the vector's message, nothing written
        bad = good.replace('"expect": {"voltage": 238.7}', '"expect": {"voltage": 111.1}')
        self.assertNotEqual(bad, good)
        st, _, doc = c.request("POST", "definitions",
                               {"id": "my-meter", "content": bad, "replace": True})
        self.assertEqual(st, 422, doc)
        self.assertGreaterEqual(doc["vectors"]["failed"], 1)
        msgs = [d["message"] for d in doc["diagnostics"] if d["severity"] == "error"]
        self.assertTrue(msgs and all(m.startswith(path) for m in msgs), msgs)
        self.assertTrue(any("voltage" in m and "111.1" in m for m in msgs), msgs)
        with open(path) as f:
            self.assertEqual(f.read(), good)
        # a syntax error: file and line, as the loader says them
        lines = good.split("\n")
        at = next(i for i, ln in enumerate(lines) if '"manufacturer"' in ln)
        lines[at] = lines[at].replace('"manufacturer":', '"manufacturer"')
        st, _, doc = c.request("POST", "definitions", {"id": "broken", "content": "\n".join(lines)})
        self.assertEqual(st, 422, doc)
        msg = doc["diagnostics"][0]["message"]
        self.assertTrue(msg.startswith(f"{dropins}/broken.json:{at + 1}:"), msg)
        self.assertFalse(os.path.exists(os.path.join(dropins, "broken.json")))
        # an unknown field, with the loader's "did you mean"
        st, _, doc = c.request("POST", "definitions", {
            "id": "typo", "content": good.replace('"manufacturer":', '"manufacturr":')})
        self.assertEqual(st, 422, doc)
        self.assertTrue(any("manufacturer" in d["message"] for d in doc["diagnostics"]), doc)
        # bad ids and bodies
        st, _, doc = c.request("POST", "definitions", {"id": "../etc", "content": good})
        self.assertEqual((st, doc["diagnostics"][0]["field"]), (400, "id"), doc)
        self.assertEqual(c.request("POST", "definitions", {"id": "x"})[0], 400)
        # listed for the picker
        st, _, doc = c.request("GET", "definitions")
        self.assertIn("my-meter", [d["id"] for d in doc["definitions"]])
        # only an admin
        view = Client(self.port, self.bodies)
        self.assertEqual(view.login("view")[0], 200)
        self.assertEqual(view.request("POST", "definitions",
                                      {"id": "v", "content": good})[0], 403)
        self.assertFalse(os.path.exists(os.path.join(dropins, "v.json")))
        # staging mirrors are gone
        self.assertEqual([f for f in os.listdir(self.gw.dir) if f.startswith(".fieldbridge-edit")],
                         [])

    def test_backup_leaves_secrets_out_unless_asked_and_restore_is_validated(self):
        c = self.logged_in()  # the driver runs and recorded what it loaded
        self.assertTrue(fbtest.wait_for(lambda: c.request("GET", "status")[2]["buses"][0]
                                        ["attached"], 10))
        main = os.path.basename(self.gw.config_path)
        users = os.path.relpath(self.gw.users_path, self.gw.dir)
        st, h, plain = c.request("GET", "backup?secrets=0")
        self.assertEqual(st, 200, plain)
        self.assertRegex(h["content-disposition"],
                         r'^attachment; filename="fieldbridge-t\d+_[0-9a-f]+-\d{8}\.json"$')
        self.assertEqual((plain["fieldbridge_backup"], plain["secrets"]), (1, False))
        # the main file holds the broker password inline: a secret like the users file
        self.assertEqual(sorted(plain["omitted"]), sorted([main, users]))
        text = json.dumps(plain)
        for secret in [BROKER_PASSWORD] + list(self.hashes.values()):
            self.assertNotIn(secret, text)
        st, _, full = c.request("GET", "backup?secrets=1")
        self.assertEqual(st, 200, full)
        self.assertEqual(full["omitted"], [])
        files = {f["path"]: f for f in full["files"]}
        with open(self.gw.config_path) as f:
            self.assertEqual(files[main]["content"], f.read())
        self.assertEqual(files[users]["mode"], 0o600)
        log = self.web.stderr_text()
        self.assertIn("admin from 127.0.0.1 downloaded a backup (secrets left out)", log)
        self.assertIn("admin from 127.0.0.1 downloaded a backup (with secrets)", log)
        # changes after the backup: a new connection and a hand edit
        st, _, doc = c.request("POST", "connections", {"name": "ha2", "user": "admin",
                                                       "broker": "10.0.0.2"})
        self.assertEqual(st, 201, doc)
        self.gw.config["buses"][0]["poll_interval_ms"] = 700
        self.write_config()
        self.assertGreater(c.request("GET", "changes")[2]["count"], 0)
        # a bundle that would not load is refused with the loader's words
        broken = json.loads(json.dumps(full))
        for f in broken["files"]:
            if f["path"] == main:
                cfg = json.loads(f["content"])
                cfg["buses"][0]["poll_interval_ms"] = -5
                f["content"] = json.dumps(cfg, indent=2)
        before = fbtest.read_text(self.gw.config_path)
        st, _, doc = c.request("POST", "restore", broken)
        self.assertEqual(st, 422, doc)
        self.assertTrue(any("poll_interval_ms" in d["message"] for d in doc["diagnostics"]),
                        doc)
        self.assertEqual(fbtest.read_text(self.gw.config_path), before)
        # paths outside what fieldbridge writes, and non-bundles
        evil = {"fieldbridge_backup": 1, "files": [
            {"path": "../evil.json", "mode": 0o644, "content": "{}"}]}
        st, _, doc = c.request("POST", "restore", evil)
        self.assertEqual(st, 400, doc)
        self.assertIn("is not a configuration file fieldbridge writes",
                      doc["diagnostics"][0]["message"])
        self.assertEqual(c.request("POST", "restore", {"files": []})[0], 400)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "evil.json")))
        # the real one: back to what the driver runs, nothing left to apply
        st, _, doc = c.request("POST", "restore", full)
        self.assertEqual(st, 200, doc)
        self.assertEqual(doc["removed"], 1)  # connections.d/ha2.json
        self.assertFalse(os.path.exists(os.path.join(self.gw.dir, "connections.d", "ha2.json")))
        with open(self.gw.config_path) as f:
            self.assertEqual(f.read(), files[main]["content"])
        st, _, doc = c.request("GET", "changes")
        self.assertEqual((st, doc["count"]), (200, 0), doc)
        # a bundle without secrets keeps the secret files as they are
        os.chmod(self.gw.users_path, 0o600)
        with open(self.gw.users_path) as f:
            users_now = f.read()
        st, _, doc = c.request("POST", "restore", plain)
        self.assertEqual(st, 200, doc)
        with open(self.gw.users_path) as f:
            self.assertEqual(f.read(), users_now)
        self.assertIn("admin from 127.0.0.1 restored a backup: written, not applied yet",
                      self.web.stderr_text())
        view = Client(self.port, self.bodies)
        self.assertEqual(view.login("view")[0], 200)
        self.assertEqual(view.request("GET", "backup?secrets=0")[0], 403)
        self.assertEqual(view.request("POST", "restore", full)[0], 403)

    def test_a_listener_change_rolls_back_unless_confirmed_from_the_new_address(self):
        timeout = 3
        c = self.start_web(driver=False, args=("--confirm-timeout-s", str(timeout)))
        self.assertEqual(c.login("admin")[0], 200)
        # what runs: applied once, so a snapshot holds it
        st, _, res = c.request("POST", "apply", {})
        self.assertEqual(st, 200, res)
        self.assertNotIn("confirm", res)
        original = fbtest.read_text(self.gw.config_path)
        dropin = os.path.join(os.path.dirname(self.gw.config_path), "connections.d", "ha2.json")

        def change_listener_and_a_connection():
            st, _, doc = c.request("POST", "connections", {"name": "ha2", "user": "admin",
                                                           "broker": "10.0.0.2", "qos": 1})
            self.assertEqual(st, 201, doc)
            self.gw.config["web"]["port"] = new_port
            self.write_config()

        new_port = fbtest.free_port()
        change_listener_and_a_connection()
        st, _, doc = c.request("GET", "changes")
        self.assertEqual(st, 200, doc)
        (ch,) = [x for x in doc["changes"] if x["kind"] == "web"]
        self.assertEqual((ch["op"], ch["unit"], ch["confirm_timeout_s"]),
                         ("restart", "fieldbridge-web.service", timeout))
        self.assertEqual([(f["field"], f["before"], f["after"]) for f in ch["fields"]],
                         [("port", str(self.port), str(new_port))])
        st, _, plan = c.request("POST", "apply", {"dry_run": True})
        self.assertEqual((st, plan["changes"]), (200, doc["changes"]))
        self.assertTrue(fbtest.port_open(self.port))  # a dry run switches nothing
        # not confirmed: back on the old port, the main file as it was, and
        # the connection added with it gone again, applied once more
        st, _, res = c.request("POST", "apply", {})
        self.assertEqual(st, 200, res)
        self.assertRegex(res["confirm"].pop("id"), r"^[0-9a-f]{16}$")
        self.assertEqual(res["confirm"], {"timeout_s": timeout, "port": new_port, "tls": False,
                                          "path": "api/v1/apply/{id}/confirm"})
        self.assertTrue(os.path.exists(dropin))
        self.assertTrue(fbtest.wait_port(new_port, 5), "the new listener did not open")
        self.assertTrue(fbtest.wait_for(lambda: not fbtest.port_open(self.port), 5))
        t0 = time.monotonic()
        self.assertTrue(fbtest.wait_port(self.port, timeout + fbtest.slack(5)),
                        "the old listener did not come back")
        self.assertGreater(time.monotonic() - t0, timeout - 1.5)  # not before the deadline
        self.assertTrue(fbtest.wait_for(lambda: not fbtest.port_open(new_port), 5))
        self.assertEqual(fbtest.read_text(self.gw.config_path), original)
        self.assertTrue(fbtest.wait_for(lambda: "the configuration from before it is applied "
                                        "again" in self.web.stderr_text(), fbtest.slack(10)),
                        self.web.stderr_text())
        self.assertFalse(os.path.exists(dropin), "the connection applied with it stayed")
        web = c.request("GET", "status")[2]["web"]
        self.assertEqual((web["listen"], web["port"]), (["127.0.0.1"], self.port))
        self.assertIn(f"not confirmed in time: rolled back to port {self.port}",
                      self.web.stderr_text())
        st, _, doc = c.request("GET", "changes")
        self.assertEqual((st, doc["count"]), (200, 0), doc)  # what runs is what is written
        # the session lives on; apply again, and confirm from the new address
        change_listener_and_a_connection()
        st, _, res = c.request("POST", "apply", {})
        self.assertEqual(st, 200, res)
        job = res["confirm"]["id"]
        st, _, doc = c.request("POST", "apply", {})
        self.assertEqual(st, 409, doc)  # one change at a time
        self.assertTrue(fbtest.wait_port(new_port, 5))
        moved = Client(new_port, self.bodies)
        moved.cookie, moved.csrf = c.cookie, c.csrf  # the browser, at the new address
        st, _, doc = moved.request("GET", "changes")
        self.assertEqual((st, doc["listener"]["pending"], doc["listener"]["id"]),
                         (200, True, job), doc)
        wrong = ("0" if job[0] != "0" else "1") + job[1:]
        st, _, doc = moved.request("POST", f"apply/{wrong}/confirm", {})
        self.assertEqual(st, 404, doc)  # another apply's id confirms nothing
        self.assertIn("does not wait for confirmation", doc["error"])
        self.assertEqual(moved.request("POST", "apply/confirm", {})[0], 404)  # no id at all
        st, _, doc = moved.request("POST", f"apply/{job}/confirm", {})
        self.assertEqual(st, 200, doc)
        time.sleep(timeout + 1)
        self.assertTrue(fbtest.port_open(new_port), "a confirmed change rolled back")
        self.assertFalse(fbtest.port_open(self.port))
        self.assertEqual(json.load(open(self.gw.config_path))["web"]["port"], new_port)
        self.assertTrue(os.path.exists(dropin), "a confirmed apply lost its connection")
        self.assertEqual(moved.request("GET", "status")[2]["web"]["port"], new_port)
        self.assertEqual(moved.request("POST", f"apply/{job}/confirm", {})[0], 409)
        st, _, doc = moved.request("GET", "changes")
        self.assertEqual([x for x in doc["changes"] if x["kind"] == "web"], [])
        log = self.web.stderr_text()
        self.assertIn(f"refused: the change waiting is another one", log)
        self.assertIn(f"admin from 127.0.0.1 confirmed the listener change (apply {job})", log)
        self.assertIn("listener change by admin from 127.0.0.1 confirmed", log)

    def test_the_loop_serves_while_an_apply_waits_for_slow_restarts(self):
        # systemd as apply sees it: its marker directory, and a systemctl
        # whose `enable --now` takes 2 s a unit (a unit slow to send READY=1)
        bindir = os.path.join(self.tmp, "bin")
        os.makedirs(bindir)
        os.makedirs(os.path.join(self.tmp, "run-systemd"))
        calls = os.path.join(self.tmp, "systemctl.calls")
        with open(os.path.join(bindir, "systemctl"), "w") as f:
            f.write("#!/bin/sh\n"
                    f"echo \"$*\" >> '{calls}'\n"
                    "case \"$1\" in\n"
                    "  is-enabled) exit 1 ;;\n"
                    "  enable) sleep 2; exit 0 ;;\n"
                    "esac\nexit 0\n")
        os.chmod(os.path.join(bindir, "systemctl"), 0o755)
        notify_path = os.path.join(self.tmp, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        notify.settimeout(0.2)
        self.addCleanup(notify.close)
        c = self.start_web(driver=False, env={
            "PATH": bindir + ":" + os.environ["PATH"],
            "FB_SYSTEMD_RUN_DIR": os.path.join(self.tmp, "run-systemd"),
            "NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": None})
        self.assertEqual(c.login("admin")[0], 200)
        st, _, plan = c.request("POST", "apply", {"dry_run": True})
        self.assertEqual(st, 200, plan)
        units = sorted(plan["start"])
        self.assertEqual(len(units), 2, plan)  # the bus and the connection: new units
        self.assertEqual(c.request("GET", "apply")[2], {"running": False})
        stream = Events(c)
        self.assertTrue(stream.next(lambda e: e[1] == "snapshot", 5))
        answer = {}

        def post_apply():
            t = time.monotonic()
            answer["res"] = c.request("POST", "apply", {})
            answer["s"] = time.monotonic() - t

        pings = []
        poster = threading.Thread(target=post_apply)
        t0 = time.monotonic()
        poster.start()
        self.assertTrue(fbtest.wait_for(lambda: c.request("GET", "apply")[2]["running"], 5))
        # while systemctl sleeps: status, a new event stream, the progress
        slow = []
        for _ in range(3):
            t = time.monotonic()
            st, _, doc = c.request("GET", "status")
            slow.append(time.monotonic() - t)
            self.assertEqual(st, 200, doc)
        self.assertLess(max(slow), fbtest.slack(0.5), slow)
        t = time.monotonic()
        second = Events(c)
        self.assertTrue(second.next(lambda e: e[1] == "snapshot", fbtest.slack(1)),
                        "no snapshot on a new stream during the apply")
        self.assertLess(time.monotonic() - t, fbtest.slack(1))
        second.close()
        st, _, doc = c.request("POST", "apply", {})
        self.assertEqual(st, 409, doc)
        self.assertIn("an apply is running", doc["error"])
        self.assertEqual(c.request("POST", "snapshots/1/restore", {"apply": True})[0], 409)
        # The child writes its snapshot (fsync) before the first start: on a
        # loaded machine that can outlast the requests above, so wait for it.
        self.assertTrue(fbtest.wait_for(
            lambda: len(c.request("GET", "apply")[2].get("stages", [])) >= 2, 5))
        st, _, prog = c.request("GET", "apply")
        self.assertTrue(prog["running"], prog)
        self.assertEqual(prog["by"], "admin from 127.0.0.1")
        self.assertEqual(prog["stages"][0], {"stage": "snapshot", "snapshot": 1, "done": True})
        self.assertIn(prog["stages"][1]["unit"], units, prog)
        self.assertEqual(prog["stages"][1]["stage"], "start")
        while poster.is_alive() or not pings:
            try:
                if notify.recv(256) == b"WATCHDOG=1":
                    pings.append(time.monotonic())
            except socket.timeout:
                pass
            poster.join(0)
        poster.join()
        st, _, res = answer["res"]
        self.assertEqual(st, 200, res)
        self.assertGreater(answer["s"], 3.5)  # both slow starts were waited for ...
        self.assertTrue(res["applied"], res)
        self.assertRegex(res["id"], r"^[0-9a-f]{16}$")
        self.assertEqual(sorted((x["unit"], x["done"], x["result"]) for x in res["changes"]),
                         [(u, True, "systemctl enable done") for u in units])
        with open(calls) as f:
            self.assertEqual(sorted(ln.strip() for ln in f if ln.startswith("enable")),
                             [f"enable --now {u}" for u in units])
        # ... and the watchdog was pinged all along (every 0.5 s for 1 s)
        pings = [p for p in pings if p > t0]
        gaps = [b - a for a, b in zip([t0] + pings, pings)]
        self.assertGreater(len(pings), 4, pings)
        self.assertLess(max(gaps), fbtest.slack(0.9), gaps)
        self.assertFalse(stream.ended(0.1), "the first stream ended during the apply")
        stream.close()
        self.assertEqual(c.request("GET", "apply")[2], {"running": False})
        self.assertIn(f"admin from 127.0.0.1 applied the configuration (apply {res['id']}, "
                      "snapshot 1): done", self.web.stderr_text())

    def test_a_listener_that_cannot_open_rolls_back_at_once(self):
        c = self.start_web(driver=False, args=("--confirm-timeout-s", "60"))
        self.assertEqual(c.login("admin")[0], 200)
        original = fbtest.read_text(self.gw.config_path)
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        self.gw.config["web"]["port"] = busy.getsockname()[1]
        self.write_config()
        st, _, res = c.request("POST", "apply", {})
        self.assertEqual(st, 200, res)
        self.assertTrue(fbtest.wait_for(lambda: "failed (the new listener does not open): "
                                        "rolled back" in self.web.stderr_text(), 10))
        busy.close()
        self.assertTrue(fbtest.wait_port(self.port, 5))
        self.assertEqual(fbtest.read_text(self.gw.config_path), original)
        self.assertEqual(c.request("GET", "status")[0], 200)

    def test_apply_without_root_goes_through_the_request_file(self):
        run = os.path.join(self.tmp, "run-fieldbridge")
        os.makedirs(run)
        request = os.path.join(run, "apply.request")
        result = os.path.join(run, "apply.result")
        c = self.start_web(args=("--apply-request", request))
        self.assertEqual(c.login("admin")[0], 200)
        self.assertTrue(fbtest.wait_for(lambda: c.request("GET", "status")[2]["buses"][0]
                                        ["attached"], 10))
        self.assertEqual(c.request("GET", "apply/result")[0], 404)  # nothing asked yet
        self.gw.config["buses"][0]["poll_interval_ms"] = 700
        self.write_config()
        with open(result, "w") as f:
            f.write('{"stale": true}')  # an earlier run's output does not count
        os.utime(result, (time.time() - 60, time.time() - 60))
        st, _, doc = c.request("POST", "apply", {})
        self.assertEqual(st, 202, doc)
        self.assertEqual((doc["requested"], doc["result"]), (True, "api/v1/apply/result"))
        self.assertEqual(doc["restart"], [doc["changes"][0]["unit"]])  # the plan it asked for
        req = json.load(open(request))
        self.assertEqual((req["user"], req["from"]), ("admin", "127.0.0.1"))
        self.assertEqual(oct(os.stat(request).st_mode & 0o777), oct(0o640))
        self.assertEqual(c.request("GET", "apply/result")[2], {"done": False})
        st, _, doc = c.request("POST", "apply", {})
        self.assertEqual(st, 409, doc)  # one request at a time
        self.assertIn("waits for fieldbridge-apply.service", doc["error"])
        # what fieldbridge-apply.service does (its ExecStart and
        # StandardOutput=truncate:), here as this user
        with open(result, "w") as out:
            r = subprocess.run([CTL, "--json", "-c", self.gw.config_path, "config", "apply",
                                "--request", request],
                               stdout=out, stderr=subprocess.PIPE, text=True)
        self.assertFalse(os.path.exists(request))  # taken: it runs once
        st, _, doc = c.request("GET", "apply/result")
        self.assertEqual((st, doc["done"]), (200, True), doc)
        self.assertEqual(doc["result"], json.load(open(result)))
        self.assertEqual((doc["result"]["fieldbridgectl"], doc["result"]["command"]),
                         (1, "config apply"))
        self.assertEqual(doc["result"]["request"], {"action": "apply"})
        self.assertEqual(doc["result"]["exit"], r.returncode)
        self.assertIn("admin from 127.0.0.1 asked to apply the configuration", self.web.stderr_text())
        # root's snapshot of that apply is listed by the web ...
        st, _, snaps = c.request("GET", "snapshots")
        self.assertEqual(st, 200, snaps)
        ids = [s["id"] for s in snaps["snapshots"]]
        self.assertTrue(ids, snaps)
        # ... and by another account (user fieldbridge in the package;
        # nobody here): the list and meta.json, never the files
        if os.geteuid() == 0:
            state = os.path.realpath(self.gw.config["gateway"]["state_dir"])
            d = state
            while d.startswith(os.path.realpath(self.tmp)):  # our tmp: let others pass
                os.chmod(d, os.stat(d).st_mode | 0o001)
                d = os.path.dirname(d)
            script = ("import json, os, sys\n"
                      "root = sys.argv[1]\n"
                      "ids = sorted(int(n) for n in os.listdir(root) if n.isdigit())\n"
                      "print(json.dumps([json.load(open(f'{root}/{i}/meta.json'))['id'] "
                      "for i in ids]))\n"
                      "try:\n    os.listdir(f'{root}/{ids[0]}/files')\n    print('files open')\n"
                      "except PermissionError:\n    print('files private')\n")
            r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                "/usr/bin/python3", "-c", script,
                                os.path.join(state, "snapshots")],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            listed, files = r.stdout.splitlines()
            self.assertEqual(sorted(json.loads(listed)), sorted(ids))
            self.assertEqual(files, "files private")
        view = Client(self.port, self.bodies)
        self.assertEqual(view.login("view")[0], 200)
        self.assertEqual(view.request("POST", "apply", {})[0], 403)
        self.assertEqual(view.request("GET", "apply/result")[0], 403)

    def test_an_unprivileged_web_restores_roots_snapshot_through_the_request_file(self):
        if os.geteuid() != 0:
            self.skipTest("needs root: it creates a local user to run the web as")
        user = "fbwebtest"
        if subprocess.run(["id", "-u", user], capture_output=True).returncode != 0:
            r = subprocess.run(["useradd", "--system", "--no-create-home", "--user-group",
                                "--shell", "/usr/sbin/nologin", user],
                               capture_output=True, text=True)
            if r.returncode != 0:
                self.skipTest(f"cannot create the local user {user}: {r.stderr.strip()}")
            self.addCleanup(subprocess.run, ["userdel", user], capture_output=True)
        import pwd
        pw = pwd.getpwnam(user)
        # the package's layout: the configuration and the state dir belong
        # to the daemons' account; root's snapshots in the state dir to root
        state = self.gw.config["gateway"]["state_dir"]
        run = os.path.join(self.tmp, "run-fieldbridge")
        os.makedirs(state, exist_ok=True)
        os.makedirs(run)
        d = self.tmp
        while d != "/":  # our tmp: let others pass
            os.chmod(d, os.stat(d).st_mode | 0o001)
            d = os.path.dirname(d)
        os.chown(run, pw.pw_uid, pw.pw_gid)
        request = os.path.join(run, "apply.request")
        result = os.path.join(run, "apply.result")

        def service():
            """fieldbridge-apply.service: root, the request, the result."""
            with open(result, "w") as out:
                r = subprocess.run([CTL, "--json", "-c", self.gw.config_path, "config", "apply",
                                    "--request", request], stdout=out, stderr=subprocess.PIPE,
                                   text=True)
            return r.returncode, json.load(open(result))

        r = subprocess.run([CTL, "--json", "-c", self.gw.config_path, "config", "apply"],
                           capture_output=True, text=True)
        self.assertEqual(json.loads(r.stdout)["snapshot"], 1, r.stdout + r.stderr)
        snaps = os.path.join(state, "snapshots")
        for root, dirs, files in os.walk(self.gw.dir):  # the edit lock too
            dirs[:] = [x for x in dirs if os.path.join(root, x) != snaps]
            for n in [root] + [os.path.join(root, f) for f in files]:
                os.chown(n, pw.pw_uid, pw.pw_gid)
        self.assertEqual(os.stat(snaps).st_uid, 0)
        www = os.path.join(self.tmp, "www")
        os.makedirs(www)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write("<!doctype html><title>fieldbridge</title>")
        self.web = self.procs.start("web", [
            "setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups",
            WEB, "-c", self.gw.config_path, "--www", www, "-v", "--apply-request", request])
        self.assertTrue(fbtest.wait_port(self.port, 10), self.web.stderr_text())
        with open(f"/proc/{self.web.pid}/status") as f:  # setpriv exec'd the web
            uid = next(int(ln.split()[1]) for ln in f if ln.startswith("Uid:"))
        self.assertEqual(uid, pw.pw_uid)
        c = Client(self.port, self.bodies)
        self.assertEqual(c.login("admin")[0], 200)
        # a connection added on the page, applied by root: snapshot 2
        st, _, doc = c.request("POST", "connections", {"name": "ha2", "user": "admin",
                                                       "broker": "10.0.0.2", "qos": 1})
        self.assertEqual(st, 201, doc)
        dropin = os.path.join(self.gw.dir, "connections.d", "ha2.json")
        self.assertEqual(os.stat(dropin).st_uid, pw.pw_uid)
        self.assertEqual(c.request("POST", "apply", {})[0], 202)
        rc, res = service()
        self.assertEqual((rc, res["request"], res["snapshot"]), (0, {"action": "apply"}, 2), res)
        self.assertEqual(c.request("GET", "apply/result")[2]["result"], res)
        st, _, doc = c.request("GET", "snapshots")
        self.assertEqual([(s["id"], s["user"]) for s in doc["snapshots"]],
                         [(2, "admin (web)"), (1, "root")], doc)
        # the web's own account cannot restore root's snapshot ...
        r = subprocess.run(["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
                            "--clear-groups", CTL, "-c", self.gw.config_path, "config",
                            "rollback", "1", "--no-apply"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 5, r.stdout + r.stderr)
        # ... the page asks root to, with nothing but the id
        st, _, doc = c.request("POST", "snapshots/1/restore", {})
        self.assertEqual(st, 202, doc)
        self.assertEqual((doc["requested"], doc["snapshot"]), (True, 1))
        req = json.load(open(request))
        self.assertEqual(sorted(req), ["action", "from", "snapshot", "time", "user"])
        self.assertEqual((req["action"], req["snapshot"], req["user"]), ("restore", 1, "admin"))
        self.assertEqual(c.request("POST", "snapshots/2/restore", {})[0], 409)  # one at a time
        self.assertEqual(c.request("GET", "apply/result")[2], {"done": False})
        self.assertTrue(os.path.exists(dropin))
        rc, res = service()
        self.assertEqual((rc, res["restored"], res["request"]),
                         (0, 1, {"action": "restore", "snapshot": 1}), res)
        self.assertNotIn("plan", res)  # restored, not applied
        self.assertFalse(os.path.exists(dropin), "snapshot 1 has no connection ha2")
        st, _, doc = c.request("GET", "apply/result")
        self.assertEqual((st, doc["done"], doc["result"]["restored"]), (200, True, 1), doc)
        self.assertEqual(c.request("GET", "connections/ha2")[0], 404)
        st, _, doc = c.request("GET", "changes")
        self.assertEqual(st, 200, doc)
        # restore and apply in one: snapshot 2 again, through the same path
        st, _, doc = c.request("POST", "snapshots/2/restore", {"apply": True})
        self.assertEqual(st, 202, doc)
        self.assertEqual(json.load(open(request))["action"], "rollback")
        rc, res = service()
        self.assertEqual((rc, res["restored"], res["snapshot"]), (0, 2, 2), res)
        self.assertTrue(os.path.exists(dropin))
        self.assertIn("admin from 127.0.0.1 asked to restore snapshot 1",
                      self.web.stderr_text())
        # root reads nothing else: forged requests are refused, unread
        for forged, why in [
                ({"action": "restore", "snapshot": 1, "path": "/etc/shadow"}, "path"),
                ({"action": "restore", "snapshot": "../1"}, "snapshot"),
                ({"action": "rollback"}, "snapshot"),
                ({"action": "chmod", "snapshot": 1}, "action")]:
            with open(request, "w") as f:
                json.dump(forged, f)
            rc, res = service()
            self.assertEqual(rc, 2, res)
            self.assertIn(why, json.dumps(res["diagnostics"]), res)
            self.assertFalse(os.path.exists(request))
        os.symlink("/etc/shadow", request)
        rc, res = service()
        self.assertEqual(rc, 2, res)
        self.assertIn("not a symbolic link", json.dumps(res))
        self.assertNotIn("root:", json.dumps(res))
        self.assertTrue(os.path.exists(dropin))  # none of them restored anything

    def test_changes_show_the_diff_and_apply_plans_the_restart(self):
        c = self.logged_in()  # the driver of bus meters runs and recorded its load
        self.assertTrue(fbtest.wait_for(lambda: c.request("GET", "status")[2]["buses"][0]
                                        ["attached"], 10))
        st, _, doc = c.request("GET", "changes")
        self.assertEqual((st, doc["count"], doc["changes"]), (200, 0, []), doc)
        # edited by hand while the driver runs
        self.gw.config["buses"][0]["poll_interval_ms"] = 700
        self.write_config()
        st, _, doc = c.request("GET", "changes")
        self.assertEqual((st, doc["count"]), (200, 1), doc)
        (ch,) = doc["changes"]
        self.assertEqual((ch["kind"], ch["name"], ch["op"], ch["running"]),
                         ("bus", "meters", "restart", True), ch)
        self.assertEqual([(f["field"], f["before"], f["after"]) for f in ch["fields"]],
                         [("poll_interval_ms", "500", "700")])
        self.assertEqual(doc["restart"], [ch["unit"]])
        st, _, plan = c.request("POST", "apply", {"dry_run": True})
        self.assertEqual((st, plan["changes"]), (200, doc["changes"]), plan)
        snaps = os.path.join(self.gw.config["gateway"]["state_dir"], "snapshots")
        self.assertFalse(os.path.exists(snaps) and os.listdir(snaps))  # dry: nothing done
        # the driver was started by hand here, not by systemd: not restarted,
        # and the answer says so; a snapshot is taken first all the same
        st, _, res = c.request("POST", "apply", {})
        self.assertEqual(st, 200, res)
        self.assertFalse(res["applied"])
        self.assertTrue(res["changes"][0]["result"], res)
        self.assertGreater(res["snapshot"], 0)
        self.assertTrue(self.gw.drivers["meters"].alive())
        st, _, doc = c.request("GET", "snapshots")
        self.assertEqual((st, [x["id"] for x in doc["snapshots"]]), (200, [res["snapshot"]]))
        self.assertEqual(doc["snapshots"][0]["user"], "admin")
        self.assertIn("admin from 127.0.0.1 applied the configuration", self.web.stderr_text())
        view = Client(self.port, self.bodies)
        self.assertEqual(view.login("view")[0], 200)
        self.assertEqual(view.request("GET", "changes")[0], 200)
        self.assertEqual(view.request("POST", "apply", {})[0], 403)
        self.assertEqual(view.request("GET", "snapshots")[0], 403)
        self.assertEqual(view.request("POST", f"snapshots/{res['snapshot']}/restore", {})[0],
                         403)


if __name__ == "__main__":
    fbtest.main(tools=("mosquitto", "openssl"))
