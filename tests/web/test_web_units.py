#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The privileged apply path's units (fieldbridge-apply.path and .service)
with fieldbridge-web.service: `systemd-analyze verify` on the configured
units (binaries pointed into the build tree), and the request-file protocol
they agree on: the web daemon writes the file the path unit watches, the
service consumes it and writes the result beside it."""

import os
import re
import shutil
import subprocess

import fbtest
import gateway

RUN = "/run/fieldbridge"


def unit_text(name):
    built = os.path.join(gateway.BUILD, "systemd", name)
    path = built if os.path.exists(built) else os.path.join(gateway.SOURCE, "systemd", name)
    with open(path) as f:
        return f.read()


def keys(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z]+)=(.*)$", line)
        if m:
            out.setdefault(m.group(1), []).append(m.group(2))
    return out


class WebUnits(fbtest.TestCase):
    def test_apply_units_verify_and_agree_on_the_request_file(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze missing")
        names = ("fieldbridge-apply.path", "fieldbridge-apply.service",
                 "fieldbridge-web.service", "fieldbridge.target")
        bins = {"fieldbridgectl": os.path.join(gateway.BUILD, "src", "ctl", "fieldbridgectl"),
                "fieldbridge-web": os.path.join(gateway.BUILD, "src", "web", "fieldbridge-web")}
        d = os.path.join(self.tmp, "units")
        os.makedirs(d)
        for n in names:
            text = unit_text(n)
            for b, path in bins.items():
                text = re.sub(r"/\S*/bin/" + b + r"\b", path, text)
            with open(os.path.join(d, n), "w") as f:
                f.write(text)
        r = subprocess.run(["systemd-analyze", "verify", "--man=no"] +
                           [os.path.join(d, n) for n in names],
                           capture_output=True, text=True, cwd=d)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))
        path = keys(unit_text("fieldbridge-apply.path"))
        svc = keys(unit_text("fieldbridge-apply.service"))
        web = keys(unit_text("fieldbridge-web.service"))
        request = f"{RUN}/apply.request"
        self.assertEqual(path["PathExists"], [request])
        self.assertEqual(path["Unit"], ["fieldbridge-apply.service"])
        self.assertEqual(path["WantedBy"], ["fieldbridge.target"])
        # taken (renamed away) by fieldbridgectl itself, so a request written
        # meanwhile runs it again; checked there, not trusted
        self.assertNotIn("ExecStartPre", svc)
        self.assertRegex(svc["ExecStart"][0], r"/fieldbridgectl --json config apply --request " +
                         re.escape(request) + "$")
        self.assertEqual(svc["StandardOutput"], [f"truncate:{RUN}/apply.result"])
        self.assertEqual(svc["Type"], ["oneshot"])
        self.assertNotIn("User", svc)  # root: systemctl restart needs it
        # the web daemon writes exactly that file, as user fieldbridge, in
        # its own runtime directory
        self.assertRegex(web["ExecStart"][0], r"/fieldbridge-web --apply-request " +
                         re.escape(request) + "$")
        self.assertEqual(web["User"], ["fieldbridge"])
        self.assertEqual(web["RuntimeDirectory"], ["fieldbridge"])


if __name__ == "__main__":
    fbtest.main()
