#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fieldbridge-web's gateway settings (GET/PUT/PATCH gateway, written into
the main file in place) and its Modbus TCP servers (CRUD on mbservers, with
the server's state read from its own table), over real HTTP against the
same temp gateway as test_web_api.py: a pymodbus slave, the real driver and
a real fieldbridge-mbserver.  Each case is its own ctest."""

import json
import os
import socket
import subprocess
import time

import fbtest
import gateway
from test_web_api import CTL, WebApi

MBSERVER = os.path.join(gateway.BUILD, "src", "mbserver", "fieldbridge-mbserver")


class WebGatewayMbservers(WebApi):
    def hand_comment(self):
        """The main file as a person keeps it: with a comment the tools
        must leave alone."""
        with open(self.gw.config_path) as f:
            text = f.read()
        text = "// written by hand: keep this line\n" + text
        with open(self.gw.config_path, "w") as f:
            f.write(text)
        return text

    def test_gateway_settings_are_edited_in_place_with_etags(self):
        self.hand_comment()
        c = self.logged_in()
        st, h, doc = c.request("GET", "gateway")
        self.assertEqual(st, 200, doc)
        etag = h["etag"]
        self.assertEqual(doc["_meta"]["etag"], etag)
        self.assertEqual(doc["_meta"]["file"], self.gw.config_path)
        self.assertEqual(doc["_hand_written"]["id"], self.gw.id)
        self.assertNotIn("log_level", doc)
        # The schema comes from the same field table as fieldbridgectl's.
        st, _, schema = c.request("GET", "schema")
        self.assertEqual(st, 200)
        ctl = json.loads(subprocess.run([CTL, "--json", "-c", self.gw.config_path, "gateway",
                                         "fields"], capture_output=True, text=True,
                                        check=True).stdout)["schema"]
        self.assertEqual(schema["gateway"], ctl)
        self.assertEqual(schema["gateway"]["properties"]["log_level"]["enum"],
                         ["warning", "info", "debug"])
        self.assertIn("server", schema)

        # A value outside the set: the field table's message, as fieldbridgectl says it.
        before = fbtest.read_text(self.gw.config_path)
        st, _, doc = c.request("PATCH", "gateway", {"log_level": "loud"},
                               headers={"If-Match": etag})
        self.assertEqual(st, 422, doc)
        msg = doc["diagnostics"][0]["message"]
        self.assertEqual(msg, 'gateway: log_level: expected one of warning, info, debug, '
                              'got "loud"')
        r = subprocess.run([CTL, "-c", self.gw.config_path, "--no-apply", "gateway", "modify",
                            "log_level=loud"], capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stderr.strip()), (3, "error: " + msg))
        st, _, doc = c.request("PATCH", "gateway", {"state_dir": "/tmp"},
                               headers={"If-Match": etag})
        self.assertEqual(st, 400, doc)
        self.assertIn("state_dir: not a field of a gateway", doc["error"])
        self.assertEqual(fbtest.read_text(self.gw.config_path), before)

        st, h2, doc = c.request("PATCH", "gateway", {"log_level": "warning"},
                                headers={"If-Match": etag})
        self.assertEqual(st, 200, doc)
        self.assertEqual(doc["log_level"], "warning")
        self.assertNotEqual(h2["etag"], etag)
        after = fbtest.read_text(self.gw.config_path)
        self.assertTrue(after.startswith("// written by hand: keep this line\n"), after[:80])
        # Only the member was added: the rest of the text is byte for byte the same.
        self.assertEqual(after.replace(', "log_level": "warning"', "")
                         .replace(',\n    "log_level": "warning"', ""), before)
        st, _, doc = c.request("POST", "config/validate")
        self.assertTrue(doc["ok"], doc)
        st, _, doc = c.request("GET", "config")
        self.assertEqual((doc["gateway"]["log_level"], doc["gateway"]["name"]),
                         ("warning", self.gw.config["gateway"]["name"]))
        self.assertEqual(doc["gateway"]["_defaults"], [])

        # The edit that read the old version is refused: 409, nothing written.
        st, _, doc = c.request("PUT", "gateway", {"log_level": "debug"},
                               headers={"If-Match": etag})
        self.assertEqual(st, 409, doc)
        self.assertEqual(doc["etag"], h2["etag"])
        self.assertEqual(fbtest.read_text(self.gw.config_path), after)
        # GET's answer PUT back as it is changes nothing but what was edited.
        st, h3, cur = c.request("GET", "gateway")
        cur["name"] = "Workshop"
        st, _, doc = c.request("PUT", "gateway", cur, headers={"If-Match": h3["etag"]})
        self.assertEqual(st, 200, doc)
        self.assertEqual((doc["name"], doc["log_level"]), ("Workshop", "warning"))
        # PUT without a field: back to its default (the member removed).
        st, h4, _ = c.request("GET", "gateway")
        st, _, doc = c.request("PUT", "gateway", {"name": "Workshop"},
                               headers={"If-Match": h4["etag"]})
        self.assertEqual(st, 200, doc)
        self.assertNotIn("log_level", doc)
        with open(self.gw.config_path) as f:
            text = f.read()
        self.assertNotIn("log_level", text)
        self.assertTrue(text.startswith("// written by hand"))
        for method in ("DELETE", "POST"):
            st, _, doc = c.request(method, "gateway", {})
            self.assertEqual(st, 405, (method, doc))
        log = self.web.stderr_text()
        self.assertIn("admin from 127.0.0.1 modified gateway (log_level)", log)

    def test_gateway_settings_viewer_reads_operator_cannot_edit(self):
        c = self.logged_in("view")
        st, h, doc = c.request("GET", "gateway")
        self.assertEqual(st, 200, doc)
        before = fbtest.read_text(self.gw.config_path)
        for user in ("view", "oper"):
            u = self.logged_in(user)
            st, _, doc = u.request("PATCH", "gateway", {"log_level": "debug"},
                                   headers={"If-Match": h["etag"]})
            self.assertEqual(st, 403, (user, doc))
        self.assertEqual(fbtest.read_text(self.gw.config_path), before)

    def test_mbservers_crud_with_etags_and_roles(self):
        c = self.logged_in()
        port = fbtest.free_port()
        st, h, doc = c.request("POST", "mbservers", {"name": "evcc", "bus": "meters",
                                                     "user": "admin", "port": port})
        self.assertEqual(st, 201, doc)
        etag = h["etag"]
        path = os.path.join(self.gw.dir, "modbus_servers.d", "evcc.json")
        with open(path) as f:
            self.assertEqual(json.load(f), {"bus": "meters", "user": "admin", "port": port})
        self.assertEqual((doc["name"], doc["port"]), ("evcc", port))
        self.assertEqual(doc["_status"], {"running": False, "reason": "not running"})
        # fieldbridgectl sees the same server.
        r = subprocess.run([CTL, "--json", "-c", self.gw.config_path, "server", "show", "evcc"],
                           capture_output=True, text=True, check=True)
        self.assertEqual(json.loads(r.stdout)["server"]["fields"]["port"], port)

        st, _, lst = c.request("GET", "mbservers")
        self.assertEqual([s["name"] for s in lst], ["evcc"])
        # Refusals: the field table's range, the loader's reference check, a duplicate.
        before = fbtest.read_text(path)
        st, _, doc = c.request("PATCH", "mbservers/evcc", {"port": 70000},
                               headers={"If-Match": etag})
        self.assertEqual(st, 422, doc)
        self.assertIn("port: expected 1..65535", doc["diagnostics"][0]["message"])
        st, _, doc = c.request("PATCH", "mbservers/evcc", {"bus": "nosuch"},
                               headers={"If-Match": etag})
        self.assertEqual(st, 422, doc)
        self.assertTrue(any("nosuch" in d["message"] for d in doc["diagnostics"]), doc)
        st, _, doc = c.request("POST", "mbservers", {"name": "evcc", "bus": "meters",
                                                     "user": "admin"})
        self.assertEqual(st, 409, doc)
        st, _, doc = c.request("POST", "mbservers", {"name": "x2", "bus": "meters"})
        self.assertEqual(st, 422, doc)
        self.assertTrue(any("user" in d["message"] for d in doc["diagnostics"]), doc)
        self.assertEqual(fbtest.read_text(path), before)

        st, h2, doc = c.request("PATCH", "mbservers/evcc", {"writes": "forward"},
                                headers={"If-Match": etag})
        self.assertEqual(st, 200, doc)
        self.assertEqual(doc["writes"], "forward")
        st, _, doc = c.request("DELETE", "mbservers/evcc", headers={"If-Match": etag})
        self.assertEqual(st, 409, doc)
        self.assertTrue(os.path.exists(path))

        # Viewers and operators read, only an admin changes.
        for user in ("view", "oper"):
            u = self.logged_in(user)
            st, _, doc = u.request("GET", "mbservers/evcc")
            self.assertEqual(st, 200, (user, doc))
            for method, p, body in (("POST", "mbservers", {"name": "y", "bus": "meters",
                                                           "user": "admin"}),
                                    ("PATCH", "mbservers/evcc", {"port": 5099}),
                                    ("DELETE", "mbservers/evcc", None)):
                st, _, doc = u.request(method, p, body)
                self.assertEqual(st, 403, (user, method, doc))
        st, _, doc = c.request("DELETE", "mbservers/evcc", headers={"If-Match": h2["etag"]})
        self.assertEqual(st, 204, doc)
        self.assertFalse(os.path.exists(path))
        st, _, doc = c.request("GET", "mbservers/evcc")
        self.assertEqual(st, 404, doc)
        log = self.web.stderr_text()
        self.assertIn("admin from 127.0.0.1 created server evcc", log)
        self.assertIn("admin from 127.0.0.1 deleted server evcc", log)

    def test_mbserver_several_buses_and_unit_ids_round_trip(self):
        c = self.logged_in()
        port = fbtest.free_port()
        st, h, doc = c.request("POST", "mbservers", {"name": "evcc", "bus": "meters",
                                                     "user": "admin", "port": port})
        self.assertEqual(st, 201, doc)
        st, _, doc = c.request("POST", "buses", {"name": "line2", "transport": "tcp",
                                                 "host": "127.0.0.1", "port": 1502})
        self.assertEqual(st, 201, doc)
        # The fields' text, as the page's form sends it ...
        st, h, doc = c.request("PATCH", "mbservers/evcc",
                               {"bus": "meters, line2", "unit_ids": "relays:7, meter:3"},
                               headers={"If-Match": h["etag"]})
        self.assertEqual(st, 200, doc)
        path = os.path.join(self.gw.dir, "modbus_servers.d", "evcc.json")
        with open(path) as f:
            written = json.load(f)
        self.assertEqual((written["bus"], written["unit_ids"]),
                         (["meters", "line2"], {"relays": 7, "meter": 3}))
        # ... and the file's shapes, as GET shows them, put back unchanged.
        st, h, doc = c.request("GET", "mbservers/evcc")
        self.assertEqual((doc["bus"], doc["unit_ids"]), (["meters", "line2"],
                                                         {"relays": 7, "meter": 3}))
        before = fbtest.read_text(path)
        body = {k: v for k, v in doc.items() if not k.startswith("_") and k != "name"}
        st, h, doc = c.request("PUT", "mbservers/evcc", body, headers={"If-Match": h["etag"]})
        self.assertEqual(st, 200, doc)
        self.assertEqual(fbtest.read_text(path), before)
        r = subprocess.run([CTL, "--json", "-c", self.gw.config_path, "server", "show", "evcc"],
                           capture_output=True, text=True, check=True)
        self.assertEqual(json.loads(r.stdout)["server"]["fields"]["unit_ids"],
                         {"relays": 7, "meter": 3})
        # Refusals at the field: the range, then the loader's own check.
        for value, message in (("relays:300", "unit_ids: expected DEVICE:ID with ID 0..255"),
                               ("relays", "unit_ids: expected DEVICE:ID with ID 0..255"),
                               ("nosuch:3", "expected a device on the server's buses")):
            st, _, doc = c.request("PATCH", "mbservers/evcc", {"unit_ids": value},
                                   headers={"If-Match": h["etag"]})
            self.assertEqual(st, 422, (value, doc))
            self.assertTrue(any(message in d["message"] for d in doc["diagnostics"]),
                            (value, doc))
        st, _, doc = c.request("PATCH", "mbservers/evcc", {"bus": "meters,,line2"},
                               headers={"If-Match": h["etag"]})
        self.assertEqual(st, 422, doc)
        self.assertEqual(fbtest.read_text(path), before)
        # Emptied: back to one bus and the bus's own unit ids.
        st, h, doc = c.request("PATCH", "mbservers/evcc", {"bus": "meters", "unit_ids": ""},
                               headers={"If-Match": h["etag"]})
        self.assertEqual(st, 200, doc)
        with open(path) as f:
            self.assertEqual(json.load(f), {"bus": "meters", "user": "admin", "port": port})

    def test_mbserver_status_comes_from_its_running_table(self):
        if not os.path.exists(MBSERVER):
            self.skipTest(f"{MBSERVER} not built")
        c = self.logged_in()
        port = fbtest.free_port()
        st, _, doc = c.request("POST", "mbservers", {"name": "evcc", "bus": "meters",
                                                     "user": "admin", "port": port})
        self.assertEqual(st, 201, doc)
        srv = self.procs.start("mbserver-evcc", [MBSERVER, "-c", self.gw.config_path,
                                                 "--server", "evcc", "-v"])
        self.assertTrue(fbtest.wait_port(port, 10), "fieldbridge-mbserver does not listen")
        client = socket.create_connection(("127.0.0.1", port))
        try:
            deadline = time.monotonic() + fbtest.slack(10)
            status = None
            while time.monotonic() < deadline:
                st, _, doc = c.request("GET", "mbservers/evcc")
                status = doc["_status"]
                if status.get("running") and status.get("clients") == 1:
                    break
                time.sleep(0.3)
            self.assertTrue(status["running"], status)
            self.assertEqual(status["clients"], 1, status)
            self.assertLess(status["heartbeat_age_ms"], 5000)
            self.assertIn("requests_per_s", status)
        finally:
            client.close()
        # Stopped: its table goes with it.
        srv.stop()
        deadline = time.monotonic() + fbtest.slack(10)
        while time.monotonic() < deadline:
            st, _, doc = c.request("GET", "mbservers")
            if not doc[0]["_status"]["running"]:
                break
            time.sleep(0.3)
        self.assertFalse(doc[0]["_status"]["running"], doc)


if __name__ == "__main__":
    fbtest.main(tools=("mosquitto", "openssl"))
