# SPDX-License-Identifier: Apache-2.0
"""webtest -- the real fieldbridge-web in a headless Chromium, for the
web-browser tests.

    class T(webtest.BrowserCase):
        def test_x(self):
            site = self.start_site()             # slave + driver + web daemon
            b = self.browser(site.url)           # Chromium via chromedriver
            b.first_run(site.setup_code())       # the setup flow, as a user would

Everything is real: a pymodbus slave (meter on unit 1, 8 relays on unit 2),
fieldbridge-modbus, fieldbridge-web serving the source tree's www/, and a
mosquitto when a test asks for one. Screenshots go to
$FB_BUILD_DIR/web-screenshots/<test>-<step>.png. A missing browser, driver,
selenium or daemon skips with exit 77 and the reason.
"""

import http.server
import json
import os
import re
import socketserver
import sys
import threading
import time
import urllib.request
import urllib.error

import fbtest
import gateway

WEB = os.path.join(gateway.BUILD, "src", "web", "fieldbridge-web")
WWW = os.path.join(gateway.SOURCE, "www")
SHOTS = os.path.join(gateway.BUILD, "web-screenshots")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ADMIN, PASSWORD = "admin", "correct horse 42"
POLL_MS = 300


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


def require():
    """Exits 77 unless everything a browser test needs is here."""
    for path, pkg in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            skip(f"{path} not found: install {pkg} (scripts/deps.sh)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        skip("python3-selenium is not installed (scripts/deps.sh)")
    if not os.access(WEB, os.X_OK):
        skip(f"{WEB} is not built")


CONTROLS_DEFINITION = {
    "manufacturer": "fieldbridge tests", "model": "Control panel", "protocol": "modbus",
    "points": [
        {"key": "setpoint", "name": "Setpoint", "table": "holding_register", "address": 100,
         "type": "int16", "scale": 0.1, "unit": "°C", "writable": True, "component": "number",
         "min": 5, "max": 30, "step": 0.5},
        {"key": "mode", "name": "Mode", "table": "holding_register", "address": 101,
         "type": "uint16", "writable": True, "component": "select",
         "options": {"0": "Off", "1": "Heat", "2": "Cool"}},
        {"key": "reset", "name": "Reset", "table": "holding_register", "address": 102,
         "type": "uint16", "writable": True, "component": "button", "press": 1},
    ],
}


class Site:
    """A gateway with a Modbus TCP bus and the web daemon on a free port."""

    def __init__(self, case, broker=None, connection=False, controls=False, broken=False,
                 tls=False, web_env=None):
        self.case = case
        units = {1: "sdm120", 2: "relay8"}
        devices = [gateway.device("meter", "eastron-sdm120", 1, name="Main meter"),
                   gateway.device("relays", "waveshare-relay-8ch", 2, name="Relay board")]
        defdirs = []
        if controls:
            # A number, a select and a button on holding registers 100..102.
            defdirs = [os.path.join(case.tmp, "definitions")]
            os.makedirs(defdirs[0], exist_ok=True)
            with open(os.path.join(defdirs[0], "test-controls.json"), "w") as f:
                json.dump(CONTROLS_DEFINITION, f)
            units[3] = "holding"
            devices.append(gateway.device("panel", "test-controls", 3, name="Control panel"))
        self.slave = fbtest.ModbusSlave(case.procs, units)
        self.port = fbtest.free_port()
        # connection=True: one export connection "ha" (of a read-only user)
        # in the main file, as a hand-written config would have it.
        conns, users = [], {}
        if connection:
            conns = [{"name": "ha", "user": "homeassistant", "broker": "127.0.0.1",
                      "port": broker.port if broker else 1883}]
            users = {"homeassistant": {"rights": {"*": "read"}}}
        self.gw = gateway.Gateway(case.procs, case.tmp, broker, connections=conns, users=users,
                                  definition_dirs=defdirs, buses=[
            gateway.tcp_bus(self.slave.port, devices, poll_interval_ms=POLL_MS)])
        self.gw.config["web"] = {"listen": ["127.0.0.1"], "port": self.port,
                                 "tls": "auto" if tls else "off"}
        if broken:
            # An error the web page must show: the driver cannot start on it.
            self.gw.config["buses"][0]["port"] = 70000
        self.gw.write()
        self.state_dir = self.gw.config["gateway"]["state_dir"]
        if not broken:
            self.gw.start_driver()
        self.web = case.procs.start("web", [WEB, "-c", self.gw.config_path, "--www", WWW, "-v"],
                                    env=web_env)
        if not fbtest.wait_port(self.port, timeout=15):
            raise AssertionError("fieldbridge-web did not listen:\n" + self.web.log_tail())
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}/"

    def setup_code(self, timeout=10.0):
        path = os.path.join(self.state_dir, "web", "setup-code")
        code = {}

        def found():
            try:
                with open(path) as f:
                    code["v"] = f.read().strip()
            except OSError:
                m = re.search(r"setup code (\S+)", self.web.stderr_text() + self.web.stdout_text())
                if m:
                    code["v"] = m.group(1).rstrip(".,)")
            return bool(code.get("v"))

        if not fbtest.wait_for(found, timeout):
            raise AssertionError("no setup code in the journal or the state dir:\n" + self.web.log_tail())
        return code["v"]

    def api(self, method, path, body=None, cookie=None, csrf=None):
        """A direct API call (for setting up state a test does not examine)."""
        req = urllib.request.Request(self.url + "api/v1/" + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header("Content-Type", "application/json")
        req.add_header("Origin", self.url.rstrip("/"))
        if cookie:
            req.add_header("Cookie", cookie)
        if csrf:
            req.add_header("X-CSRF-Token", csrf)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode(), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), e.headers


class PrefixProxy:
    """A tiny reverse proxy: http://127.0.0.1:PORT/PREFIX/x -> upstream /x,
    as a sub-path mount in front of the gateway would do."""

    def __init__(self, upstream_port, prefix="/fieldbridge/gw1"):
        self.prefix = prefix.rstrip("/")
        self.upstream = upstream_port
        self.requests = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                proxy.requests.append(self.path)
                if not self.path.startswith(proxy.prefix + "/"):
                    body = b"outside the mount"
                    self.send_response(404)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                path = self.path[len(proxy.prefix):]
                n = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(n) if n else None
                req = urllib.request.Request(f"http://127.0.0.1:{proxy.upstream}{path}",
                                             data=data, method=self.command)
                # Host passes through (the daemon compares Origin with it),
                # as a proxy_set_header Host $host would do.
                for k, v in self.headers.items():
                    if k.lower() not in ("connection", "content-length", "accept-encoding"):
                        req.add_header(k, v)
                req.add_header("X-Forwarded-Prefix", proxy.prefix)
                try:
                    resp = urllib.request.urlopen(req, timeout=60)
                except urllib.error.HTTPError as e:
                    resp = e
                self.send_response(resp.status if hasattr(resp, "status") else resp.code)
                stream = "text/event-stream" in (resp.headers.get("Content-Type") or "")
                for k, v in resp.headers.items():
                    if k.lower() in ("connection", "transfer-encoding", "content-length"):
                        continue
                    if k.lower() == "set-cookie":
                        v = re.sub(r"Path=/(?=;|$)", f"Path={proxy.prefix}/", v)
                    self.send_header(k, v)
                if stream:
                    self.send_header("Connection", "close")
                    self.end_headers()
                    try:
                        while True:
                            chunk = resp.read1(4096) if hasattr(resp, "read1") else resp.read(1)
                            if not chunk:
                                break
                            self.wfile.write(chunk)
                            self.wfile.flush()
                    except (OSError, ValueError):
                        pass
                    self.close_connection = True
                    return
                body = resp.read()
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _any

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.port}{self.prefix}/"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Browser:
    def __init__(self, case, url, width=1280, height=900):
        from selenium import webdriver
        from selenium.webdriver.chromium.remote_connection import ChromiumRemoteConnection

        self.case = case
        self.url = url
        opts = webdriver.ChromeOptions()
        # The browser's parent is chromedriver, which dies with the test
        # runner; PDEATHSIG makes the browser follow it even after a SIGKILL.
        wrapper = os.path.join(case.tmp, "chromium")
        with open(wrapper, "w") as f:
            f.write(f'#!/bin/sh\nexec setpriv --pdeathsig TERM {CHROMIUM} "$@"\n')
        os.chmod(wrapper, 0o755)
        opts.binary_location = wrapper
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  f"--window-size={width},{height}", "--ignore-certificate-errors",
                  "--no-first-run", "--disable-extensions", f"--user-data-dir={case.tmp}/chromium-profile"):
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # chromedriver runs under the test's process registry, so it and its
        # browser are stopped even when the test runner is killed.
        port = fbtest.free_port()
        case.procs.start("chromedriver", [CHROMEDRIVER, f"--port={port}"])
        if not fbtest.wait_port(port, timeout=15):
            raise AssertionError("chromedriver did not listen")
        conn = ChromiumRemoteConnection(f"http://127.0.0.1:{port}", vendor_prefix="goog",
                                        browser_name="chrome")
        self.d = webdriver.Remote(command_executor=conn, options=opts)
        # chromedriver is local: file inputs take paths as they are.
        from selenium.webdriver.remote.file_detector import UselessFileDetector
        self.d.file_detector = UselessFileDetector()
        self.d.set_page_load_timeout(30)
        self.width = width
        self.console = []

    def close(self):
        try:
            self.d.quit()
        except Exception:
            pass

    def cdp(self, cmd, params):
        """A Chrome DevTools Protocol command (media emulation and the like)."""
        return self.d.execute("executeCdpCommand", {"cmd": cmd, "params": params})["value"]

    # ---------------------------------------------------------------- finding
    def css(self, sel):
        from selenium.webdriver.common.by import By
        return self.d.find_elements(By.CSS_SELECTOR, sel)

    def wait(self, sel, timeout=10.0, visible=True):
        """The first element matching sel, once it is there (and shown)."""
        found = {}

        def ok():
            for e in self.css(sel):
                try:
                    if not visible or e.is_displayed():
                        found["e"] = e
                        return True
                except Exception:
                    continue
            return False

        if not fbtest.wait_for(ok, timeout, 0.1):
            self.shot("timeout")
            raise AssertionError(f"no {sel!r} on the page after {timeout} s; text:\n{self.text()[:2000]}")
        return found["e"]

    def wait_text(self, sel, pattern, timeout=10.0):
        """Waits until an element matching sel has text matching pattern."""
        rx = re.compile(pattern)
        hit = {}

        def ok():
            for e in self.css(sel):
                try:
                    t = e.text
                except Exception:
                    continue
                if rx.search(t):
                    hit["t"] = t
                    return True
            return False

        if not fbtest.wait_for(ok, timeout, 0.1):
            self.shot("timeout")
            raise AssertionError(f"no {sel!r} with text /{pattern}/ after {timeout} s; page:\n{self.text()[:3000]}")
        return hit["t"]

    def text(self):
        try:
            return self.d.find_element("css selector", "body").text
        except Exception:
            return ""

    def field(self, label):
        """The control labelled `label` (exact label text, required mark ignored)."""
        for lab in self.css("label[for]"):
            t = lab.text.replace("*", "").strip()
            if t == label:
                return self.d.find_element("id", lab.get_attribute("for"))
        raise AssertionError(f"no field labelled {label!r}")

    def fill(self, label, value):
        from selenium.webdriver.support.ui import Select
        el = self.field(label)
        tag = el.tag_name.lower()
        typ = (el.get_attribute("type") or "").lower()
        if tag == "select":
            Select(el).select_by_value(str(value))
        elif typ == "checkbox":
            if el.is_selected() != bool(value):
                self.d.execute_script("arguments[0].click()", el)
        elif typ == "file":
            el.send_keys(value)
        else:
            el.clear()
            el.send_keys(str(value))
        return el

    def click(self, sel):
        e = self.wait(sel)
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", e)
        e.click()
        return e

    def go(self, route):
        """Opens a page and waits until the router has rendered it."""
        try:
            self.d.execute_script("const m = document.getElementById('main'); if (m) m.dataset.page = ''")
        except Exception:
            pass
        target = self.url + "#/" + route
        if self.d.current_url == target:
            self.d.refresh()     # same fragment: no hashchange, so reload
        else:
            self.d.get(target)
        self.wait(f"main[data-page='{route.split('/')[0]}'] h1")

    # ---------------------------------------------------------------- records
    def shot(self, step):
        """Full-page screenshot: $FB_BUILD_DIR/web-screenshots/<test>-<step>.png."""
        os.makedirs(SHOTS, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{self.case.id().split('.')[-1]}-{step}")
        path = os.path.join(SHOTS, name + ".png")
        try:
            h = self.d.execute_script("return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)")
            self.d.set_window_size(self.width, min(max(int(h) + 140, 600), 5000))
            time.sleep(0.2)
            self.d.save_screenshot(path)
            self.d.set_window_size(self.width, 900)
        except Exception as e:
            print(f"screenshot {path} failed: {e}")
        return path

    def logs(self):
        try:
            self.console += self.d.get_log("browser")
        except Exception:
            pass
        return self.console

    def assert_clean_console(self):
        """No JavaScript error and no Content-Security-Policy violation."""
        bad = [e for e in self.logs() if e.get("level") == "SEVERE" and e.get("source") != "network"]
        bad += [e for e in self.console if "Content Security Policy" in e.get("message", "")]
        self.case.assertEqual(bad, [], "browser console errors")

    # ---------------------------------------------------------------- flows
    def first_run(self, code, user=ADMIN, password=PASSWORD, shots=False):
        """The setup page: setup code -> first administrator -> logged in."""
        self.d.get(self.url)
        self.wait("#setup-code")
        if shots:
            self.shot("setup-code")
        self.fill("Setup code", code)
        self.fill("Administrator name", user)
        self.fill("Password", password)
        self.fill("Password again", password)
        self.click("#setup-form button[type=submit]")
        self.wait_text("#who", re.escape(user))

    def login(self, user=ADMIN, password=PASSWORD):
        self.d.get(self.url + "#/login")
        self.wait("#login-form")
        self.fill("User", user)
        self.fill("Password", password)
        self.click("#login-form button[type=submit]")
        self.wait_text("#who", re.escape(user))


class BrowserCase(fbtest.TestCase):
    def setUp(self):
        super().setUp()
        # This run's screenshots only.
        mine = self.id().split(".")[-1] + "-"
        if os.path.isdir(SHOTS):
            for f in os.listdir(SHOTS):
                if f.startswith(mine):
                    os.unlink(os.path.join(SHOTS, f))
        self.browsers = []

    def tearDown(self):
        for b in self.browsers:
            b.logs()
            if b.console and fbtest._test_failed(self):
                print("browser console:", *b.console, sep="\n  ")
            b.close()
        super().tearDown()

    def start_site(self, broker=None, connection=False, controls=False, broken=False, tls=False,
                   web_env=None):
        return Site(self, broker, connection, controls, broken, tls, web_env)

    def browser(self, url, **kw):
        b = Browser(self, url, **kw)
        self.browsers.append(b)
        return b

