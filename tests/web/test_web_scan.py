#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""POST buses/{bus}/scan, the buses page's Scan button: fieldbridge-web runs
`fieldbridgectl bus scan`, which has the bus's running driver scan its link
(docs/bus-scan.md).  The daemons of test_web_api.py: a pymodbus TCP slave
with units 1 (sdm120) and 2 (relay8: no registers, so exception 02)."""

import time

import fbtest
from test_web_api import WebApi


class WebScan(WebApi):
    def test_scan_lists_the_units_behind_the_running_driver(self):
        c = self.logged_in()
        st, _, doc = c.request("POST", "buses/meters/scan", {"ids": "1-4"})
        self.assertEqual(st, 200, doc)
        self.assertTrue(doc["ok"], doc)
        self.assertEqual(doc["status"], "done")
        found = {d["unit_id"]: d for d in doc["devices"]}
        self.assertEqual(sorted(found), [1, 2], doc)
        t_done = time.monotonic()
        self.assertIn("value", found[1])
        self.assertEqual(found[2]["exception"], 2)
        self.assertTrue(fbtest.wait_for(
            lambda: "scan of bus meters: done" in self.web.stderr_text(), fbtest.slack(5)))
        # GET: nothing running any more (the live case is the browser test's)
        st, _, doc = c.request("GET", "buses/meters/scan")
        self.assertEqual((st, doc), (200, {"running": False, "progress": "", "found": []}))
        st, _, doc = c.request("GET", "buses/nosuch/scan")
        self.assertEqual(st, 404, doc)
        # polling resumed.  The driver reports the scan done before it logs
        # this line, so the answer can come first: wait for it.
        drv = self.gw.drivers["meters"]
        self.assertTrue(fbtest.wait_for(lambda: "polling resumes" in drv.stderr_text(),
                                        fbtest.slack(5)), drv.stderr_text())
        self.assertIsNotNone(self.slave.wait_request(lambda e: e["kind"] == "read",
                                                     fbtest.slack(5), since=t_done),
                             "no poll after the scan")

    def test_scan_needs_the_operator_role_and_valid_ids(self):
        v = self.logged_in("view")
        st, _, doc = v.request("POST", "buses/meters/scan", {})
        self.assertEqual(st, 403, doc)
        a = self.logged_in("admin")
        st, _, doc = a.request("POST", "buses/meters/scan", {"ids": "1-4; rm -rf"})
        self.assertEqual(st, 400, doc)
        st, _, doc = a.request("POST", "buses/nosuch/scan", {})
        self.assertEqual(st, 404, doc)


if __name__ == "__main__":
    fbtest.main()
