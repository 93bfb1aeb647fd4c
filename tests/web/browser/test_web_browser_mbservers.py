# SPDX-License-Identifier: Apache-2.0
"""The Modbus Servers page and the System page's gateway settings in a real
browser (headless Chromium) against the real fieldbridge-web, the driver, a
pymodbus slave and a real fieldbridge-mbserver. Each test is its own ctest
(label web-browser); screenshots in <build>/web-screenshots/."""

import json
import os
import socket

import fbtest
import gateway
import webtest
from webtest import ADMIN

MBSERVER = os.path.join(gateway.BUILD, "src", "mbserver", "fieldbridge-mbserver")
SERVER_LABELS = ["Bus", "User", "Listen address", "Port", "Writes", "Stale points",
                 "Max clients", "Idle timeout (s)", "Unit IDs"]


def read_json(path):
    with open(path) as f:
        return json.load(f)


class WebBrowserMbservers(webtest.BrowserCase):
    def test_a_modbus_server_is_added_edited_and_deleted_through_the_page(self):
        site = self.start_site()
        b = self.browser(site.url)
        b.first_run(site.setup_code())
        b.go("mbservers")
        b.wait_text("main", "No Modbus server yet")
        b.shot("1-empty")
        b.click("#mbs-add")
        b.wait("fieldset.params")
        labels = [l.text.replace("*", "").strip() for l in b.css("fieldset.params .field > label")]
        self.assertEqual(labels, SERVER_LABELS)
        opts = lambda label: [o.get_attribute("value") for o in
                              b.field(label).find_elements("css selector", "option")]
        self.assertEqual(opts("Writes"), ["off", "forward"])
        self.assertEqual(opts("Stale points"), ["exception", "last"])
        self.assertEqual(b.field("Writes").get_attribute("value"), "off")
        self.assertEqual(b.field("Port").get_attribute("placeholder"), "5020")
        self.assertEqual(b.field("Listen address").get_attribute("placeholder"), "127.0.0.1")
        for f in b.css("fieldset.params .field"):
            self.assertTrue(f.find_element("css selector", ".help").text.strip(), f.text)

        # Refusals at their fields, in the field table's and the loader's words.
        b.fill("Server name", "evcc")
        b.fill("Bus", "meters")
        b.fill("User", ADMIN)
        b.fill("Port", "70000")
        b.click("#mbs-save")
        msg = b.wait_text(".field[data-field=port] .field-msg", r"\S")
        self.assertIn("expected 1..65535", msg)
        b.shot("2-refused-at-the-field")
        b.fill("Port", str(fbtest.free_port()))
        b.fill("Bus", "nosuch")
        b.click("#mbs-save")
        msg = b.wait_text(".field[data-field=bus] .field-msg", r"nosuch")
        self.assertFalse(b.wait_text(".field[data-field=port] .field-msg", r"^$"))
        path = os.path.join(site.gw.dir, "modbus_servers.d", "evcc.json")
        self.assertFalse(os.path.exists(path))

        port = fbtest.free_port()
        b.fill("Bus", "meters")
        b.fill("Port", str(port))
        b.fill("Stale points", "last")
        b.click("#mbs-save")
        b.wait_text(".form-status", "Saved Modbus server evcc", timeout=15)
        b.shot("3-saved")
        # The selects send what they show (defaults included), as on IoT Export.
        self.assertEqual(read_json(path), {"bus": "meters", "user": ADMIN, "port": port,
                                           "writes": "off", "stale": "last"})

        # The list says it does not run yet; started, it shows its clients.
        b.go("mbservers")
        row = b.wait_text("tr[data-name=evcc]", "stopped")
        self.assertIn(f"127.0.0.1:{port}", row)
        self.assertIn("not running", row)
        self.procs.start("mbserver-evcc", [MBSERVER, "-c", site.gw.config_path,
                                           "--server", "evcc", "-v"])
        self.assertTrue(fbtest.wait_port(port, 10), "fieldbridge-mbserver does not listen")
        client = socket.create_connection(("127.0.0.1", port))
        try:
            def shows_client():
                b.go("mbservers")
                return "1 client" in b.wait("tr[data-name=evcc]").text
            self.assertTrue(fbtest.wait_for(shows_client, fbtest.slack(10)),
                            b.wait("tr[data-name=evcc]").text)
            self.assertIn("running", b.wait("tr[data-name=evcc]").text)
            b.shot("4-list-running")
        finally:
            client.close()

        # Edit: the stored values are shown, a change is written.
        b.go("mbservers/edit/evcc")
        b.wait("fieldset.params")
        self.assertEqual(b.field("Port").get_attribute("value"), str(port))
        self.assertEqual(b.field("Stale points").get_attribute("value"), "last")
        self.assertEqual(b.field("Server name").get_attribute("readonly"), "true")
        b.fill("Writes", "forward")
        b.fill("Unit IDs", "relays:7, meter:3")
        b.click("#mbs-save")
        b.wait_text(".form-status", "Saved Modbus server evcc")
        self.assertEqual((read_json(path)["writes"], read_json(path)["unit_ids"]),
                         ("forward", {"relays": 7, "meter": 3}))
        b.shot("5-edited")
        # Shown again in the tools' syntax; a bad id is refused at the field.
        b.go("mbservers/edit/evcc")
        b.wait("fieldset.params")
        self.assertEqual(b.field("Unit IDs").get_attribute("value"), "relays:7, meter:3")
        b.fill("Unit IDs", "relays:300")
        b.click("#mbs-save")
        msg = b.wait_text(".field[data-field=unit_ids] .field-msg", r"\S")
        self.assertIn("expected DEVICE:ID with ID 0..255", msg)
        self.assertEqual(read_json(path)["unit_ids"], {"relays": 7, "meter": 3})

        # Delete, after a confirmation.
        b.go("mbservers")
        b.click("tr[data-name=evcc] button.danger")
        b.wait_text("#dialog-body", "Delete Modbus server evcc")
        b.click("#dialog-actions button.primary")
        self.assertTrue(fbtest.wait_for(lambda: not os.path.exists(path), 10),
                        "drop-in not removed")
        b.wait_text("main", "No Modbus server yet")
        b.assert_clean_console()

    def test_the_log_level_is_set_on_the_system_page(self):
        site = self.start_site()
        b = self.browser(site.url)
        b.first_run(site.setup_code())
        b.go("system")
        b.wait("#gateway-settings form")
        self.assertEqual([o.get_attribute("value") for o in
                          b.field("Log level").find_elements("css selector", "option")],
                         ["warning", "info", "debug"])
        self.assertEqual(b.field("Log level").get_attribute("value"), "info")
        self.assertEqual(b.field("Gateway name").get_attribute("value"),
                         site.gw.config["gateway"]["name"])
        b.shot("1-system")
        with open(site.gw.config_path) as f:
            before = f.read()
        b.fill("Log level", "warning")
        b.click("#gateway-save")
        b.wait_text("#gateway-settings .form-status", "Saved in the main file")
        cfg = read_json(site.gw.config_path)
        self.assertEqual(cfg["gateway"]["log_level"], "warning")
        cfg["gateway"].pop("log_level")
        self.assertEqual(cfg, json.loads(before))
        # The change waits in the "not applied" bar like any other.
        b.wait_text("#changes-text", r"\d+ change")
        b.shot("2-saved")
        # Reloaded, the page shows what the file says.
        b.go("system")
        b.wait("#gateway-settings form")
        self.assertEqual(b.field("Log level").get_attribute("value"), "warning")
        b.assert_clean_console()


if __name__ == "__main__":
    fbtest.main()
