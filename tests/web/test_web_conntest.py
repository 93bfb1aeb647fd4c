#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fieldbridge-web's endpoints that run a helper program without blocking
its loop: POST connections/{name}/test (fieldbridge-export --test --json)
and GET logs (journalctl).  The same daemons as test_web_api.py: a temp
config, a real mosquitto and a pymodbus slave."""

import os
import shutil
import socket
import subprocess
import threading
import time

import fbtest
from test_web_api import WebApi


def journal_works():
    if not shutil.which("journalctl"):
        return False
    r = subprocess.run(["journalctl", "-o", "json", "--no-pager", "-q", "-n", "1",
                        "-u", "fieldbridge-*"], capture_output=True, timeout=15)
    return r.returncode == 0


class WebConnTest(WebApi):
    def set_conn(self, **fields):
        self.gw.config["connections"][0].update(fields)
        self.write_config()

    def silent_listener(self):
        """A port that accepts TCP (the backlog) but never answers MQTT."""
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        self.addCleanup(s.close)
        return s.getsockname()[1]

    def start_test_in_background(self, client, name="ha"):
        box = {}

        def run():
            box["answer"] = client.request("POST", f"connections/{name}/test", {})
        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.assertTrue(fbtest.wait_for(
            lambda: f"connection test of {name}" in self.web.stderr_text(), 5),
            "the test did not start")
        return t, box

    def test_connection_test_against_mosquitto_passes_every_stage(self):
        c = self.logged_in()
        st, _, doc = c.request("POST", "connections/ha/test", {})
        self.assertEqual(st, 200, doc)
        self.assertEqual(doc["connection"], "ha")
        self.assertTrue(doc["ok"], doc)
        names = [s["stage"] for s in doc["stages"]]
        for stage in ("config", "tcp", "mqtt"):
            self.assertIn(stage, names)
        for s in doc["stages"]:
            self.assertTrue(s["ok"], s)
            self.assertIsInstance(s["detail"], str)
        log = self.web.stderr_text()
        self.assertIn("web: admin from 127.0.0.1: connection test of ha", log)
        self.assertIn("connection test of ha: passed", log)
        # an operator may test too; the secret is in no answer
        o = self.logged_in("oper")
        st, _, doc = o.request("POST", "connections/ha/test", {})
        self.assertEqual((st, doc["ok"]), (200, True), doc)
        for b in self.bodies:
            self.assertNotIn("broker-pw-Zq81x", b)

    def test_connection_test_to_a_refused_port_fails_at_tcp_quickly(self):
        self.set_conn(port=fbtest.free_port())
        c = self.logged_in()
        t0 = time.monotonic()
        st, _, doc = c.request("POST", "connections/ha/test", {})
        took = time.monotonic() - t0
        self.assertEqual(st, 200, doc)
        self.assertFalse(doc["ok"])
        tcp = [s for s in doc["stages"] if s["stage"] == "tcp"]
        self.assertEqual(len(tcp), 1, doc)
        self.assertFalse(tcp[0]["ok"], doc)
        self.assertTrue(tcp[0]["detail"], doc)
        self.assertLess(took, fbtest.slack(5), "a refused port took long")
        self.assertIn("connection test of ha: failed", self.web.stderr_text())

    def test_viewer_cannot_test_a_connection(self):
        c = self.logged_in("view")
        st, _, doc = c.request("POST", "connections/ha/test", {})
        self.assertEqual(st, 403, doc)
        self.assertNotIn("connection test of ha", self.web.stderr_text())
        self.assertEqual(c.request("POST", "connections/ha/test", {}, csrf=False)[0], 403)

    def test_a_second_test_of_one_connection_is_409(self):
        self.set_conn(port=self.silent_listener(), timeout_s=10)
        c = self.logged_in()
        t, box = self.start_test_in_background(c)
        st, _, doc = c.request("POST", "connections/ha/test", {})
        self.assertEqual(st, 409, doc)
        self.assertIn("already running", doc["error"])
        t.join(40)
        self.assertFalse(t.is_alive(), "the first test never answered")
        st, _, doc = box["answer"]
        self.assertEqual(st, 200, doc)
        self.assertFalse(doc["ok"], doc)
        # once it ended, the connection can be tested again
        self.set_conn(port=self.broker.port, timeout_s=90)
        st, _, doc = c.request("POST", "connections/ha/test", {})
        self.assertEqual((st, doc.get("ok")), (200, True), doc)

    def test_the_loop_serves_other_requests_while_a_test_runs(self):
        self.set_conn(port=self.silent_listener(), timeout_s=10)
        c = self.logged_in()
        t, _ = self.start_test_in_background(c)
        for _ in range(3):
            t0 = time.monotonic()
            st, _, doc = c.request("GET", "status")
            self.assertEqual(st, 200, doc)
            # The test hangs for its 10 s timeout: a GET that waited for it
            # would take that long (slack(1.5) stays below it under ASan).
            self.assertLess(time.monotonic() - t0, fbtest.slack(1.5),
                            "GET status waited for the test")
            self.assertTrue(t.is_alive(), "the test ended too early to show anything")
            time.sleep(0.3)
        t.join(40)

    def test_logs_are_503_with_a_message_without_a_journal(self):
        if journal_works():
            self.skipTest("journalctl works on this machine: the 503 cannot be seen")
        c = self.logged_in("oper")
        st, _, doc = c.request("GET", "logs?priority=6&lines=50")
        self.assertEqual(st, 503, doc)
        self.assertIn("the journal cannot be read", doc["error"])
        self.assertEqual(c.request("GET", "status")[0], 200)
        v = self.logged_in("view")
        self.assertEqual(v.request("GET", "logs")[0], 403)
        self.assertEqual(c.request("GET", "logs?unit=sshd")[0], 400)
        self.assertEqual(c.request("GET", "logs?lines=0")[0], 400)
        self.assertEqual(c.request("GET", "logs?priority=9")[0], 400)

    def test_logs_lists_journal_entries(self):
        if not journal_works():
            self.skipTest("journalctl cannot read a journal on this machine")
        c = self.logged_in("oper")
        st, _, doc = c.request("GET", "logs?priority=7&lines=5")
        self.assertEqual(st, 200, doc)
        self.assertIsInstance(doc["entries"], list)
        self.assertLessEqual(len(doc["entries"]), 5)
        for e in doc["entries"]:
            self.assertTrue(e["unit"].startswith("fieldbridge-") or e["unit"], e)
            self.assertIn("message", e)


# Only this file's cases: the inherited ones run from test_web_api.py.
for _n in dir(WebApi):
    if _n.startswith("test_"):
        setattr(WebConnTest, _n, None)


if __name__ == "__main__":
    fbtest.main(tools=fbtest.MQTT_TOOLS + ("openssl",))
