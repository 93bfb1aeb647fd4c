#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fieldbridge-web's endpoints that run a helper program without blocking
its loop: POST connections/{name}/test (fieldbridge-export --test --json)
and GET logs (journalctl).  The same daemons as test_web_api.py: a temp
config, a real mosquitto and a pymodbus slave."""

import os
import shutil
import urllib.parse
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
        # A real journal file (systemd-journal-remote writes the export
        # format into one, with the units' trusted fields as journald would
        # set them), read by the real journalctl: no journald runs here.
        remote = "/lib/systemd/systemd-journal-remote"
        if not os.access(remote, os.X_OK) or not shutil.which("journalctl"):
            self.skipTest("systemd-journal-remote or journalctl missing (scripts/deps.sh)")
        jdir = os.path.join(self.tmp, "journal")
        os.makedirs(jdir)
        now = int(time.time() * 1e6)
        records = [("fieldbridge-modbus@meters.service", 6, "device m1 online"),
                   ("sshd.service", 6, "not one of ours"),
                   ("fieldbridge-export@ha.service", 7, "a debug line"),
                   ("fieldbridge-export@ha.service", 3, "broker refused the connection")]
        export = "".join(
            f"__CURSOR=s=0;i={i}\n__REALTIME_TIMESTAMP={now - 1000000 * (10 - i)}\n"
            f"__MONOTONIC_TIMESTAMP={1000000 * (i + 1)}\n_BOOT_ID={'ab' * 16}\n"
            f"_SYSTEMD_UNIT={u}\nPRIORITY={p}\nMESSAGE={m}\n\n"
            for i, (u, p, m) in enumerate(records))
        r = subprocess.run([remote, "-o", os.path.join(jdir, "test.journal"), "-"],
                           input=export, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.start_web(env={"FB_JOURNAL_DIR": jdir})
        c = self.logged_in("oper")
        st, _, doc = c.request("GET", "logs?lines=10")
        self.assertEqual(st, 200, doc)
        got = [(e["unit"], e["priority"], e["message"]) for e in doc["entries"]]
        self.assertEqual(got, [records[0], records[2], records[3]])  # no sshd
        self.assertAlmostEqual(doc["entries"][0]["ts_ms"], (now - 10000000) // 1000, delta=1)
        self.assertEqual(doc["cursor"], doc["entries"][-1]["cursor"])
        # the level filter: info and above
        st, _, doc = c.request("GET", "logs?priority=6")
        self.assertEqual([e["message"] for e in doc["entries"]],
                         ["device m1 online", "broker refused the connection"])
        # one unit; then follow: only what came after a cursor
        st, _, doc = c.request("GET", "logs?unit=fieldbridge-export@ha.service")
        self.assertEqual([e["message"] for e in doc["entries"]],
                         ["a debug line", "broker refused the connection"])
        first = c.request("GET", "logs?lines=10")[2]["entries"][0]["cursor"]
        st, _, doc = c.request("GET", "logs?since=" + urllib.parse.quote(first))
        self.assertEqual(st, 200, doc)
        self.assertEqual([e["message"] for e in doc["entries"]],
                         ["a debug line", "broker refused the connection"])
        st, _, doc = c.request("GET", "logs?lines=2")
        self.assertEqual([e["message"] for e in doc["entries"]],
                         ["a debug line", "broker refused the connection"])
        # refusals: another unit, a viewer
        self.assertEqual(c.request("GET", "logs?unit=sshd.service")[0], 400)
        self.assertEqual(self.logged_in("view").request("GET", "logs")[0], 403)


# Only this file's cases: the inherited ones run from test_web_api.py.
for _n in dir(WebApi):
    if _n.startswith("test_"):
        setattr(WebConnTest, _n, None)


if __name__ == "__main__":
    fbtest.main(tools=fbtest.MQTT_TOOLS + ("openssl",))
