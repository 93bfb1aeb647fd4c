# SPDX-License-Identifier: Apache-2.0
"""The web configuration page in a real browser (headless Chromium) against
the real fieldbridge-web, fieldbridge-modbus, a pymodbus slave and, where a
case needs one, a mosquitto. Each test is its own ctest (label web-browser).
"""

import json
import os
import re
import time

import fbtest
import webtest
from webtest import ADMIN, PASSWORD

# The IoT Export form: exactly these labels, in this order.
CONNECTION_LABELS = [
    "User", "Connection Mode", "Broker", "Port", "Auth User", "Auth Password", "SSL",
    "SSL Server CRT", "SSL Client CRT", "SSL Client Key", "SSL Client Key Password",
    "Hostname Verification", "QoS", "Retain", "Timeout", "Keep Alive", "Max Inflight",
    "Discovery Prefix",
]
INTERVALS = ["0", "10", "15", "30", "60", "90", "120", "150", "180", "300", "600", "1200",
             "1800", "3600"]
PAGES = ["overview", "devices", "export", "export/new", "buses", "buses/new", "mbservers",
         "mbservers/new", "users", "users/new", "logs", "system"]


def read_json(path):
    with open(path) as f:
        return json.load(f)


def upload(b, field, label, path):
    """Chooses a PEM file as a user does: Save only once the page says it
    read that file (under load the change event can come after an
    immediate click)."""
    b.css(f"input[data-upload='{label}']")[0].send_keys(path)
    b.wait_text(f".field[data-field={field}] .certinfo",
                re.escape(os.path.basename(path)) + r": \d+ bytes of PEM")


class WebBrowser(webtest.BrowserCase):
    # ------------------------------------------------------------ first run
    def test_first_run_with_the_setup_code(self):
        site = self.start_site()
        b = self.browser(site.url)
        code = site.setup_code()
        b.d.get(site.url)
        # No administrator yet: the page opens the first-run flow by itself.
        b.wait("#setup-code")
        b.shot("1-setup-code")
        b.fill("Setup code", "wrong-" + code)
        b.fill("Administrator name", ADMIN)
        b.fill("Password", PASSWORD)
        b.fill("Password again", PASSWORD)
        b.click("#setup-form button[type=submit]")
        b.wait_text("#setup-form .notice.error", "setup code")
        self.assertEqual(b.css("#who")[0].text, "")
        # A wrong code backs off (1 s first); a person reads the message first.
        time.sleep(1.5)
        b.fill("Setup code", code)
        b.click("#setup-form button[type=submit]")
        b.wait_text("#who", ADMIN)
        users = read_json(site.gw.users_path)["users"]
        self.assertEqual([(u["name"], u.get("role")) for u in users], [(ADMIN, "admin")])
        self.assertTrue(users[0]["password_hash"].startswith("$"))
        self.assertNotIn(PASSWORD, fbtest.read_text(site.gw.users_path))

        # Step 2: a bus, through the schema-driven bus form.
        b.wait_text("ol.steps li.current", "Bus")
        b.fill("Bus name", "line2")
        b.fill("Transport", "tcp")
        b.fill("Host", "127.0.0.1")
        b.fill("Port", str(site.slave.port))
        b.shot("2-bus")
        b.click("#bus-save")
        b.wait_text(".form-status", "Saved bus line2")
        bus = read_json(os.path.join(site.gw.dir, "buses.d", "line2.json"))
        self.assertEqual((bus["transport"], bus["host"], bus["port"]), ("tcp", "127.0.0.1", site.slave.port))
        b.click("#setup-next")

        # Step 3: a connection.
        b.wait_text("ol.steps li.current", "Connection")
        b.fill("Connection name", "ha")
        b.fill("User", ADMIN)
        b.fill("Broker", "127.0.0.1")
        b.fill("Port", "1883")
        b.shot("3-connection")
        b.click("#conn-save")
        b.wait_text(".form-status", "Saved connection ha")
        conn = read_json(os.path.join(site.gw.dir, "connections.d", "ha.json"))
        self.assertEqual((conn["user"], conn["broker"]), (ADMIN, "127.0.0.1"))
        b.click("#setup-next")

        # Steps 4 and 5: test and apply are offered; the page says plainly
        # what the gateway cannot do yet.
        b.wait_text("ol.steps li.current", "Test")
        b.wait("#setup-test")
        b.shot("4-test")
        b.click("#setup-next")
        b.wait_text("ol.steps li.current", "Apply")
        b.shot("5-apply")
        # A reload keeps the session (GET session gives the CSRF token back).
        b.d.refresh()
        b.wait_text("#who", ADMIN)
        # The new bus takes a device on the Buses page.
        b.go("buses/add-device/line2")
        b.fill("Device ID", "meter2")
        # The definition from the searchable list of the gateway's definitions.
        b.fill("Find a definition", "sdm120")
        b.wait_text("ul.picker", "eastron-sdm120")
        self.assertNotIn("waveshare", b.css("ul.picker")[0].text)
        b.click("ul.picker li button")
        self.assertEqual(b.field("Definition").get_attribute("value"), "eastron-sdm120")
        b.fill("Unit ID", "7")
        b.shot("6-device")
        b.click("main form button[type=submit]")
        b.wait_text(".form-status", "Saved device meter2")
        bus = read_json(os.path.join(site.gw.dir, "buses.d", "line2.json"))
        self.assertEqual([(d["id"], d["definition"], d["unit_id"]) for d in bus["devices"]],
                         [("meter2", "eastron-sdm120", 7)])
        b.go("buses")
        b.wait_text("main", r"line2 TCP 127\.0\.0\.1:\d+")
        b.shot("7-buses")
        b.assert_clean_console()

    # ------------------------------------------------------------ IoT Export
    def test_connection_with_every_parameter(self):
        certs = fbtest.Certs(os.path.join(self.tmp, "certs"))
        site = self.start_site()
        b = self.browser(site.url)
        b.first_run(site.setup_code())
        b.go("export/new")
        b.wait("fieldset.params")
        labels = [l.text.replace("*", "").strip() for l in b.css("fieldset.params .field > label")]
        self.assertEqual(labels, CONNECTION_LABELS)
        opts = lambda label: [o.get_attribute("value") for o in b.field(label).find_elements("css selector", "option")]
        self.assertEqual(opts("Connection Mode"), ["socket", "websocket"])
        self.assertEqual(opts("SSL"), ["off", "on", "trust_all"])
        self.assertEqual(opts("QoS"), ["0", "1", "2"])
        self.assertEqual(opts("Timeout"), INTERVALS)
        self.assertEqual(opts("Keep Alive"), INTERVALS)
        # Defaults from the schema, help text at each field.
        self.assertEqual(b.field("Timeout").get_attribute("value"), "90")
        self.assertEqual(b.field("Keep Alive").get_attribute("value"), "60")
        self.assertEqual(b.field("Port").get_attribute("placeholder"), "1883")
        self.assertTrue(b.field("Retain").is_selected())
        self.assertEqual(b.field("Auth Password").get_attribute("type"), "password")
        for f in b.css("fieldset.params .field"):
            self.assertTrue(f.find_element("css selector", ".help").text.strip(), f.text)

        # A refusal appears at its field, in the loader's words.
        b.fill("Connection name", "ha")
        b.fill("User", ADMIN)
        b.fill("Broker", "mqtt://127.0.0.1")
        b.click("#conn-save")
        msg = b.wait_text(".field[data-field=broker] .field-msg", r"\S")
        self.assertIn("broker", msg)
        b.shot("1-refused-at-the-field")

        values = {
            "User": ADMIN, "Connection Mode": "socket", "Broker": "127.0.0.1", "Port": "8883",
            "Auth User": "fbuser", "Auth Password": "broker-pass", "SSL": "on",
            "SSL Client Key Password": certs.client_key_password,
            "Hostname Verification": True, "QoS": "1", "Retain": False, "Timeout": "30",
            "Keep Alive": "120", "Max Inflight": "500", "Discovery Prefix": "ha-test",
        }
        for label, v in values.items():
            b.fill(label, v)
        upload(b, "ssl_server_crt", "SSL Server CRT", certs.ca)
        upload(b, "ssl_client_crt", "SSL Client CRT", certs.client_cert)
        upload(b, "ssl_client_key", "SSL Client Key", certs.client_key_encrypted)
        b.click("#conn-save")
        b.wait_text(".form-status", "Saved connection ha", timeout=15)
        # What the gateway read from the uploaded files is shown.
        info = b.wait_text(".field[data-field=ssl_server_crt] .certinfo", "Subject")
        self.assertRegex(info, r"Subject\s+\S*CN=fieldbridge test CA")
        self.assertRegex(info, r"Issuer\s+\S*CN=fieldbridge test CA")
        self.assertRegex(info, r"Expires\s+20\d\d-")
        info = b.wait_text(".field[data-field=ssl_client_crt] .certinfo", "Subject")
        self.assertRegex(info, r"Subject\s+\S*CN=fieldbridge\b")
        b.shot("2-saved")

        path = os.path.join(site.gw.dir, "connections.d", "ha.json")
        conn = read_json(path)
        want = {"user": ADMIN, "broker": "127.0.0.1", "port": 8883, "auth_user": "fbuser",
                "ssl": "on", "qos": 1, "timeout_s": 30, "keep_alive_s": 120,
                "max_inflight": 500, "discovery_prefix": "ha-test"}
        for k, v in want.items():
            self.assertEqual(conn.get(k), v, k)
        self.assertIn(conn.get("retain"), (False, "off"))
        self.assertIn(conn.get("hostname_verification"), (True, "on"))
        text = fbtest.read_text(path)
        self.assertNotIn("broker-pass", text)
        self.assertNotIn(certs.client_key_password, text)
        for f in ("ssl_server_crt", "ssl_client_crt", "ssl_client_key"):
            self.assertIn(f, conn)

        # Reopened: secrets are write-only ("set"), certificates described.
        b.go("export/edit/ha")
        b.wait("fieldset.params")
        self.assertEqual(b.field("Auth Password").get_attribute("value"), "")
        self.assertEqual(b.field("Auth Password").get_attribute("placeholder"), "set")
        self.assertEqual(b.field("SSL Client Key Password").get_attribute("placeholder"), "set")
        self.assertEqual(b.field("QoS").get_attribute("value"), "1")
        self.assertFalse(b.field("Retain").is_selected())
        self.assertNotIn("broker-pass", b.d.page_source)
        b.wait_text(".field[data-field=ssl_client_crt] .certinfo", "Issuer")
        b.shot("3-reopened")

        # Saving again unchanged keeps the stored secrets and files.
        b.click("#conn-save")
        b.wait_text(".form-status", "Saved connection ha")
        again = read_json(path)
        self.assertEqual(again, conn)
        # Another key: the page says whether it belongs to the certificate.
        upload(b, "ssl_client_key", "SSL Client Key", certs.client_key)
        b.click("#conn-save")
        b.wait_text(".form-status", "Saved connection ha")
        b.wait_text(".field[data-field=ssl_client_key] .certinfo", r"Key matches certificate\s*yes")
        # A key of another certificate: the exporter could never connect,
        # so the save is refused at that field in the loader's words and the
        # stored key stays.
        key_file = os.path.join(site.gw.dir, "certs", "ha", "ssl_client_key.pem")
        before = fbtest.read_text(key_file)
        upload(b, "ssl_client_key", "SSL Client Key", certs.untrusted_client_key)
        b.click("#conn-save")
        b.wait_text(".field[data-field=ssl_client_key] .field-msg",
                    r"is not the key of ssl_client_crt")
        self.assertEqual(fbtest.read_text(key_file), before)
        b.shot("4-key-mismatch")
        # The list shows it.
        b.go("export")
        b.wait_text("tr[data-name=ha]", r"127\.0\.0\.1:8883")
        b.shot("5-list")
        # Delete, after a confirmation.
        b.click("tr[data-name=ha] button.danger")
        b.wait_text("#dialog-body", "Delete connection ha")
        b.click("#dialog-actions button.primary")
        self.assertTrue(fbtest.wait_for(lambda: not os.path.exists(path), 10), "drop-in not removed")
        b.wait_text("main", "No export connection yet")
        b.assert_clean_console()

    def test_connection_test_against_the_local_broker(self):
        broker = fbtest.Broker(self.procs, self.tmp)
        site = self.start_site(broker)
        b = self.browser(site.url)
        b.first_run(site.setup_code())
        b.go("export/new")
        b.fill("Connection name", "ha")
        b.fill("User", ADMIN)
        b.fill("Broker", "127.0.0.1")
        b.fill("Port", str(broker.port))
        b.click("#conn-test")
        out = b.wait_text(".test-out", r"test (passed|failed)", timeout=30)
        b.shot("1-test")
        self.assertIn("test passed", out)
        # A wrong port fails, at a stage, with the exporter's words.
        b.fill("Port", str(fbtest.free_port()))
        b.click("#conn-test")
        # The first result stays on the page until the new one replaces it:
        # wait for the failure itself (a page stuck on "passed" times out).
        out = b.wait_text(".test-out", r"test failed", timeout=30)
        self.assertTrue(b.css(".test-out li.bad"), out)
        b.shot("2-test-failed")

    # ------------------------------------------------------------ live values
    def _devices_page(self, b):
        b.go("devices")
        b.wait_text("section.device[data-device=meter] tr[data-point=voltage] td.value", r"\d")

    def test_live_value_change(self):
        site = self.start_site()
        b = self.browser(site.url)
        b.first_run(site.setup_code())
        self._devices_page(b)
        cell = "section.device[data-device=meter] tr[data-point=voltage] td.value"
        before = b.css(cell)[0].text
        site.slave.set_float(1, "ir", 0, 241.25)
        # One poll interval plus the SSE coalescing window, with room.
        b.wait_text(cell, r"^241\.2", timeout=5)
        self.assertNotEqual(before, b.css(cell)[0].text)
        # Names and units from the definition and the configuration.
        row = b.css("section.device[data-device=meter] tr[data-point=voltage]")[0].text
        self.assertRegex(row, r"^Voltage\b")
        self.assertIn(" V", row)
        self.assertIn("Main meter", b.css("section.device[data-device=meter] h2")[0].text)
        self.assertIn(b.css("section.device[data-device=meter] tr[data-point=voltage] td:nth-child(4)")[0].text,
                      ("ok", "good"))
        b.shot("devices-live")
        # No reload happened: the value came over the event stream.
        self.assertEqual(b.d.execute_script("return performance.getEntriesByType('navigation').length"), 1)
        b.assert_clean_console()

    def test_relay_switch_reaches_the_slave(self):
        site = self.start_site()
        b = self.browser(site.url)
        b.first_run(site.setup_code())
        self._devices_page(b)
        row = "section.device[data-device=relays] tr[data-point=relay_3]"
        # The input is transparent over its slider: present, not "displayed".
        sw = b.wait(f"{row} input[role=switch]", visible=False)
        self.assertFalse(sw.is_selected())
        self.assertEqual(site.slave.coils(2)[2], False)
        b.d.execute_script("arguments[0].click()", sw)
        b.wait_text(f"{row} .result", r"^done$", timeout=12)
        self.assertTrue(fbtest.wait_for(lambda: site.slave.coils(2)[2] is True, 5),
                        f"coil 2 not set: {site.slave.coils(2)}")
        self.assertEqual(site.slave.coils(2), [False, False, True] + [False] * 5)
        b.wait_text(f"{row} td.value", "on")
        b.shot("relay-on")
        # Back off from the keyboard: focus the switch, press Space.
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys
        b.d.execute_script("arguments[0].focus()", b.wait(f"{row} input[role=switch]", visible=False))
        ActionChains(b.d).send_keys(Keys.SPACE).perform()
        self.assertTrue(fbtest.wait_for(lambda: site.slave.coils(2)[2] is False, 12))
        b.wait_text(f"{row} td.value", "off")
        b.assert_clean_console()

    def test_an_operator_switches_only_what_its_rights_allow(self):
        site = self.start_site()
        b = self.browser(site.url)
        b.first_run(site.setup_code())
        # The admin adds an operator on the Users page.
        b.go("users/new")
        b.fill("User name", "op")
        b.fill("Role", "operator")
        b.fill("Password", "operator pass 1")
        b.field("Rights").send_keys("relays: read\nrelays/relay_1: write\nmeter/voltage: read")
        b.wait_text(".preview", r"Matches: 1 writable, 16 read-only")
        b.click("main form button[type=submit]")
        b.wait_text(".form-status", "Saved user op")
        users = {u["name"]: u for u in read_json(site.gw.users_path)["users"]}
        self.assertEqual(users["op"].get("role"), "operator")
        self.assertNotIn("operator pass 1", fbtest.read_text(site.gw.users_path))
        b.shot("1-user-saved")
        b.click("#logout")
        b.wait("#login-form")
        b.login("op", "operator pass 1")
        # Admin pages are not offered; only the points the rights allow show.
        nav = [a.text for a in b.css("#nav li:not([hidden]) a")]
        self.assertNotIn("Users", nav)
        self.assertNotIn("System", nav)
        b.go("devices")
        b.wait_text("section.device[data-device=meter] tr[data-point=voltage] td.value", r"\d")
        self.assertEqual(b.css("section.device[data-device=meter] tr[data-point=current]"), [])
        # The gateway marks what this user may write: relay_1 only.
        relays = "section.device[data-device=relays]"
        b.wait(f"{relays} tr[data-point=relay_4]")
        self.assertEqual(b.css(f"{relays} tr[data-point=relay_4] input[role=switch]"), [])
        self.assertEqual(len(b.css(f"{relays} input[role=switch]")), 1)
        row = f"{relays} tr[data-point=relay_1]"
        sw = b.wait(f"{row} input[role=switch]", visible=False)
        # A command the driver cannot carry out (the slave does not answer)
        # fails, and the switch shows the relay's real state again.
        site.slave.mute(2, True)
        b.d.execute_script("arguments[0].click()", sw)
        why = b.wait_text(f"{row} .result", r"^failed", timeout=15)
        self.assertNotIn("HTTP", why)     # the driver's reason, not a status code
        self.assertFalse(sw.is_selected())
        b.shot("2-failed")
        self.assertEqual(site.slave.coils(2)[0], False)
        # Still silent, the board goes offline (the failed write and the
        # polls count), and the gateway sends nothing to an offline device.
        # Answering again, it comes back; the user switches once it shows
        # "available". (Unmuting at once raced the failures in flight.)
        b.wait_text(f"{relays} h2 .badge", r"^unavailable$", timeout=15)
        b.shot("3-offline")
        site.slave.mute(2, False)
        b.wait_text(f"{relays} h2 .badge", r"^available$", timeout=15)
        b.d.execute_script("arguments[0].click()", sw)
        b.wait_text(f"{row} .result", r"^done$", timeout=15)
        self.assertTrue(fbtest.wait_for(lambda: site.slave.coils(2)[0] is True, 5))
        self.assertEqual(site.slave.coils(2)[3], False)
        b.assert_clean_console()

    def test_number_select_and_button_reach_the_slave(self):
        site = self.start_site(controls=True)
        b = self.browser(site.url)
        b.first_run(site.setup_code())
        b.go("devices")
        panel = "section.device[data-device=panel]"
        b.wait_text(f"{panel} tr[data-point=setpoint] td.value", r"\d")
        # Number: within the definition's range, scaled on the wire.
        num = b.wait(f"{panel} tr[data-point=setpoint] input[type=number]")
        self.assertEqual((num.get_attribute("min"), num.get_attribute("max"), num.get_attribute("step")),
                         ("5", "30", "0.5"))
        num.clear()
        num.send_keys("21.5")
        b.click(f"{panel} tr[data-point=setpoint] button[type=submit]")
        b.wait_text(f"{panel} tr[data-point=setpoint] .result", r"^done$", timeout=12)
        self.assertTrue(fbtest.wait_for(lambda: site.slave.get_registers(3, "hr", 100)[0] == 215, 5),
                        site.slave.get_registers(3, "hr", 100))
        b.wait_text(f"{panel} tr[data-point=setpoint] td.value", r"^21\.5")
        # Select: the label chosen, its raw value written.
        from selenium.webdriver.support.ui import Select
        sel = b.wait(f"{panel} tr[data-point=mode] select")
        self.assertEqual([o.text for o in Select(sel).options][1:], ["Off", "Heat", "Cool"])
        Select(sel).select_by_visible_text("Cool")
        b.wait_text(f"{panel} tr[data-point=mode] .result", r"^done$", timeout=12)
        self.assertTrue(fbtest.wait_for(lambda: site.slave.get_registers(3, "hr", 101)[0] == 2, 5))
        # Button: its press value.
        b.click(f"{panel} tr[data-point=reset] button")
        b.wait_text(f"{panel} tr[data-point=reset] .result", r"^done$", timeout=12)
        self.assertTrue(fbtest.wait_for(lambda: site.slave.get_registers(3, "hr", 102)[0] == 1, 5))
        # Out of the definition's range: the browser refuses to send it.
        writes = len(site.slave.writes(unit=3))
        num.clear()
        num.send_keys("99")
        b.click(f"{panel} tr[data-point=setpoint] button[type=submit]")
        self.assertFalse(b.d.execute_script("return arguments[0].checkValidity()", num))
        time.sleep(1)
        self.assertEqual(len(site.slave.writes(unit=3)), writes)
        self.assertEqual(site.slave.get_registers(3, "hr", 100)[0], 215)
        b.shot("controls")
        b.assert_clean_console()

    # ------------------------------------------------------------ apply
    def test_apply_shows_each_stage_while_units_start(self):
        # systemd as apply sees it: its marker directory and a systemctl whose
        # `enable --now` takes 3 s (a unit slow to send READY=1).
        bindir = os.path.join(self.tmp, "bin")
        os.makedirs(bindir)
        os.makedirs(os.path.join(self.tmp, "run-systemd"))
        with open(os.path.join(bindir, "systemctl"), "w") as f:
            f.write("#!/bin/sh\n"
                    "case \"$1\" in\n"
                    "  is-enabled|is-active) exit 1 ;;\n"
                    "  enable) sleep 3; exit 0 ;;\n"
                    "esac\nexit 0\n")
        os.chmod(os.path.join(bindir, "systemctl"), 0o755)
        site = self.start_site(web_env={
            "PATH": bindir + ":" + os.environ["PATH"],
            "FB_SYSTEMD_RUN_DIR": os.path.join(self.tmp, "run-systemd")})
        b = self.browser(site.url)
        b.first_run(site.setup_code())
        # A connection written by hand: the bar counts it, Apply starts it.
        os.makedirs(os.path.join(site.gw.dir, "connections.d"), exist_ok=True)
        with open(os.path.join(site.gw.dir, "connections.d", "ha.json"), "w") as f:
            json.dump({"name": "ha", "user": ADMIN, "broker": "127.0.0.1"}, f)
        b.d.refresh()
        b.wait_text("#who", ADMIN)
        b.wait_text("#changes-text", r"changes? not applied yet")
        b.click("#changes-apply")
        b.wait_text("#dialog-title", "Apply these changes")
        b.wait_text("#dialog-body", r"Starts: .*fieldbridge-export@ha")
        b.click("#dialog-actions button.primary")
        # While systemctl waits: the snapshot is done, the start is running.
        b.wait_text("#dialog-title", "Applying")
        b.wait_text("ol.apply-stages li.stage.done", r"^Snapshot 1 of the configuration: done$")
        b.wait_text("ol.apply-stages li.stage.running",
                    r"^Start fieldbridge-export@ha\.service: running…$")
        b.shot("apply-running")
        # Then the answer, with what each unit did.
        b.wait_text("#dialog-title", r"^Apply$", timeout=15)
        b.wait_text("#dialog-body", "Applied")
        b.wait_text("#dialog-body ul.apply-results", r"fieldbridge-export@ha\.service: systemctl enable done")
        b.shot("apply-done")
        b.click("#dialog-actions button")
        self.assertFalse(b.css("#dialog")[0].is_displayed())
        b.assert_clean_console()

    # ------------------------------------------------------------ sub-path
    def test_under_a_sub_path_behind_a_reverse_proxy(self):
        site = self.start_site()
        proxy = webtest.PrefixProxy(site.port, "/fieldbridge/gw1")
        self.addCleanup(proxy.close)
        b = self.browser(proxy.url)
        b.first_run(site.setup_code())
        self._devices_page(b)
        cell = "section.device[data-device=meter] tr[data-point=voltage] td.value"
        site.slave.set_float(1, "ir", 0, 228.5)
        b.wait_text(cell, r"^228\.5", timeout=5)
        row = "section.device[data-device=relays] tr[data-point=relay_1]"
        b.d.execute_script("arguments[0].click()", b.wait(f"{row} input[role=switch]", visible=False))
        b.wait_text(f"{row} .result", r"^done$", timeout=12)
        self.assertTrue(fbtest.wait_for(lambda: site.slave.coils(2)[0] is True, 5))
        for page in ("overview", "export", "logs"):
            b.go(page)
            b.wait("main h1")
        b.shot("sub-path")
        # Every request the page made stayed under the mount point.
        outside = [p for p in proxy.requests if not p.startswith(proxy.prefix + "/")]
        self.assertEqual(outside, [])
        self.assertTrue(any(p.startswith(proxy.prefix + "/api/v1/events") for p in proxy.requests))
        b.assert_clean_console()

    # ------------------------------------------------------------ HTTPS
    def test_over_https_with_the_generated_certificate(self):
        site = self.start_site(tls=True)
        self.assertTrue(site.url.startswith("https://"))
        fp_rx = re.compile(r"fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})")
        self.assertTrue(fbtest.wait_for(lambda: fp_rx.search(site.web.stderr_text()), 10),
                        site.web.log_tail())
        fingerprint = fp_rx.search(site.web.stderr_text()).group(1)
        b = self.browser(site.url)
        # The session cookie is Secure here: logging in proves it came back.
        b.first_run(site.setup_code())
        self._devices_page(b)
        b.go("system")
        txt = b.wait_text("main section.card", "SHA-256 fingerprint")
        self.assertIn(fingerprint, txt)
        self.assertIn("TLS\non", txt)
        b.shot("system")
        b.assert_clean_console()

    # ------------------------------------------------------------ broken config
    def test_a_broken_configuration_is_shown_not_hidden(self):
        site = self.start_site(broken=True)
        b = self.browser(site.url)
        b.first_run(site.setup_code())
        b.go("overview")
        msg = b.wait_text("main .notice.error", r"expected 1\.\.65535, got 70000", timeout=10)
        self.assertIn("port", msg)
        b.shot("overview")
        b.assert_clean_console()

    # ------------------------------------------------------------ every page
    def test_scan_button_finds_the_slave_behind_the_running_driver(self):
        site = self.start_site()
        b = self.browser(site.url)
        b.first_run(site.setup_code())
        b.go("buses")
        card = "section.card:has(.scan)"
        btn = b.wait(f"{card} .scan + .actions > button")
        self.assertEqual(btn.text, "Scan")
        btn.click()
        b.wait_text(f"{card} .scan", r"polling is paused", timeout=5)
        self.assertFalse(btn.is_enabled(), "Scan stays pressable while scanning")
        # live: the progress line, and the units found so far before the end
        b.wait_text(f"{card} .scan p.progress", r"^progress \d+/\d+ eta \d+ s$",
                    timeout=fbtest.slack(10))
        b.wait_text(f"{card} .scan ul.found", r"found unit=1 ", timeout=fbtest.slack(30))
        self.assertNotIn("Scan of meters", b.css(f"{card} .scan")[0].text)
        b.shot("scan-progress")
        # 247 ids over Modbus TCP: every absent id waits one probe timeout.
        b.wait_text(f"{card} .scan", r"Scan of meters: done", timeout=fbtest.slack(90))
        rows = {r.find_element("css selector", "th").text: r.text
                for r in b.css(f"{card} .scan tbody tr")}
        self.assertEqual(sorted(rows), ["1", "2"], rows)
        self.assertRegex(rows["1"], r"value \d+")
        self.assertTrue(btn.is_enabled())
        b.shot("scan-found")
        # polling resumed: the meter's value is live again
        site.slave.set_float(1, "ir", 0, 236.5)
        self._devices_page(b)
        b.wait_text("section.device[data-device=meter] tr[data-point=voltage] td.value",
                    r"^236\.5", timeout=fbtest.slack(10))
        b.assert_clean_console()

    def test_every_page_renders(self):
        site = self.start_site(connection=True)
        b = self.browser(site.url)
        b.first_run(site.setup_code())
        # Devices: each device's MQTT topics, for each connection.
        self._devices_page(b)
        det = b.wait("section.device[data-device=relays] details.mqtt")
        det.find_element("css selector", "summary").click()
        topics = b.wait_text("section.device[data-device=relays] details.mqtt pre", "state")
        base = f"fieldbridge/{site.gw.id}_ha"
        self.assertIn(f"homeassistant/device/{site.gw.id}_ha_relays/config", topics)
        self.assertIn(f"{base}/relays/state", topics)
        # the connection's user (homeassistant) may only read: the exporter
        # publishes no command topic, and the page says what it publishes
        self.assertNotIn("/set", topics)
        payload = b.wait_text("section.device[data-device=relays] details.mqtt", r"Discovery payload")
        self.assertIn(f'"unique_id": "{site.gw.id}_ha_relays_relay_1"', payload)
        b.shot("devices_mqtt")
        # Overview: the bus and its framing, the connection.
        b.go("overview")
        row = b.wait_text("tr[data-bus=meters]", r"TCP 127\.0\.0\.1:\d+")
        self.assertIn("2 / 2 online", row)
        b.wait_text("tr[data-bus=meters]", r"timeouts \d+")
        b.wait("tr[data-connection=ha]")
        for page in PAGES:
            b.go(page)
            b.wait("main h1")
            # Let the page's requests finish before judging it.
            fbtest.wait_for(lambda: not b.css("main .result.busy"), 3)
            b.shot(page.replace("/", "_"))
            self.assertNotIn("Loading the page", b.text())
            unlabelled = b.d.execute_script(
                "return [...document.querySelectorAll('main input, main select, main textarea')]"
                ".filter(e => e.type !== 'hidden' && !e.labels.length && !e.getAttribute('aria-label')"
                " && !e.getAttribute('aria-labelledby')).map(e => e.outerHTML.slice(0, 160))")
            self.assertEqual(unlabelled, [], f"controls without a label on {page}")
            for e in b.css("main .notice.todo"):
                self.assertRegex(e.text, r"answers (501|404)")
        # Users: the rights preview counts the live points a pattern set gives.
        b.go("users/new")
        area = b.field("Rights")
        area.send_keys("meter: read\nmeter/_diag_*: none\nrelays/relay_[12]: write")
        txt = b.wait_text(".preview", r"Matches: 2 writable")
        self.assertIn("2 writable, 10 read-only", txt)
        b.shot("users_rights-preview")
        # Dark mode follows the system setting.
        b.cdp("Emulation.setEmulatedMedia",
              {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        b.go("overview")
        b.wait("tr[data-bus=meters]")
        bg = b.d.execute_script("return getComputedStyle(document.body).backgroundColor")
        self.assertNotEqual(bg, "rgb(245, 246, 248)")
        b.shot("dark-overview")
        b.cdp("Emulation.setEmulatedMedia", {"features": []})
        # Readable on a phone: the menu folds, nothing scrolls sideways.
        b.d.set_window_size(390, 844)
        b.width = 390
        b.go("devices")
        b.wait_text("section.device[data-device=meter] td.value", r"\d")
        self.assertTrue(b.wait("#menu-toggle").is_displayed())
        self.assertLessEqual(b.d.execute_script("return document.documentElement.scrollWidth"), 392)
        b.shot("phone-devices")
        b.go("export/new")
        self.assertLessEqual(b.d.execute_script("return document.documentElement.scrollWidth"), 392)
        b.shot("phone-export")
        b.assert_clean_console()


if __name__ == "__main__":
    webtest.require()
    fbtest.main()
