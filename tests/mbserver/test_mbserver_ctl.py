#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fieldbridgectl's `server` object (modbus_servers.d/NAME.json): add, modify,
delete with the fields' validation and the loader's, against a temp config
dir (the Ctl fixture of tests/ctl/test_ctl.py)."""

import json
import os
import subprocess
import sys

import fbtest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ctl"))
import test_ctl  # noqa: E402
from test_ctl import BUILD, SRC  # noqa: E402

MBSERVER = os.path.join(BUILD, "src", "mbserver", "fieldbridge-mbserver")


class MbsCtl(test_ctl.Ctl):
    def test_server_verbs_validate_and_write_a_dropin(self):
        dropin = os.path.join(self.dir, "modbus_servers.d", "evcc.json")
        fields = json.loads(self.ok("--json", "server", "fields").stdout)["schema"]
        self.assertEqual(fields["required"], ["bus", "user"])
        self.assertEqual(fields["properties"]["writes"]["enum"], ["off", "forward"])
        with open(os.path.join(SRC, "docs/configuration.md")) as f:
            section = f.read().split('"modbus_servers": [', 1)[1].split("```", 1)[0]
        for name in fields["properties"]:
            self.assertIn(f'"{name}":', section, f"{name} is not documented")
        schema = json.loads(self.ok("--json", "config", "schema").stdout)["schema"]
        self.assertEqual(schema["server"]["properties"], fields["properties"])

        self.ok("server", "add", "evcc", "bus=meters", "user=ha", "port=5021")
        with open(dropin) as f:
            self.assertEqual(json.load(f), {"bus": "meters", "user": "ha", "port": 5021})
        srv = self.show("server", "evcc")
        self.assertEqual((srv["fields"]["port"], srv["fields"]["bus"]), (5021, "meters"))
        self.assertEqual(srv["file"], dropin)
        listed = json.loads(self.ok("--json", "server", "list").stdout)
        self.assertEqual([(s["name"], s["file"], s["in_main"]) for s in listed["servers"]],
                         [("evcc", dropin, False)])
        # The daemon loads the drop-in the tool wrote.
        r = subprocess.run([MBSERVER, "-c", self.main, "--check", "--server", "evcc"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        # The field table's checks, then the loader's: nothing written either way.
        self.assert_refused(["server", "modify", "evcc", "writes=maybe"], 3, "off, forward")
        self.assert_refused(["server", "modify", "evcc", "port=70000"], 3, "1..65535")
        self.assert_refused(["server", "modify", "evcc", "bus=nosuch"], 3, "nosuch")
        self.assert_refused(["server", "add", "evcc", "bus=meters", "user=ha"], 8)
        self.assert_refused(["server", "add", "x" * 28, "bus=meters", "user=ha"], 3,
                            "at most 27")
        self.assert_refused(["server", "add", "y", "bus=meters"], 3, "user")
        self.assert_refused(["server", "modify", "evcc", "colour=red"], 2)

        self.ok("server", "modify", "evcc", "writes=forward", "port=")
        with open(dropin) as f:
            self.assertEqual(json.load(f), {"bus": "meters", "user": "ha",
                                            "writes": "forward"})
        self.ok("server", "delete", "evcc")
        self.assertFalse(os.path.exists(dropin))
        self.assert_refused(["server", "show", "evcc"], 4)

    def test_config_diff_knows_what_a_running_server_loaded(self):
        with open(self.main) as f:
            text = f.read()
        with open(self.main, "w") as f:
            f.write(text.replace('"id": "gw",', '"id": "gw", "runtime_dir": "%s",'
                                 % os.path.join(self.tmp, "run")))
        self.ok("bus", "move-to-dropin", "meters")  # so a device can be added later
        port = fbtest.free_port()
        self.ok("server", "add", "evcc", "bus=meters", "user=ha", f"port={port}")
        srv = self.procs.start("mbserver", [MBSERVER, "-c", self.main, "--server", "evcc"])
        self.assertTrue(fbtest.wait_port(port, fbtest.slack(10)), srv)

        def server_entry():
            doc = json.loads(self.ok("--json", "config", "diff").stdout)["diff"]
            got = [d for d in doc["daemons"] if d["kind"] == "server"]
            self.assertEqual(len(got), 1, doc)
            return got[0]
        d = server_entry()
        self.assertEqual((d["name"], d["unit"], d["running"], d["action"]),
                         ("evcc", "fieldbridge-mbserver@evcc.service", True, "none"), d)
        self.ok("--no-apply", "server", "modify", "evcc", "max_clients=5")
        d = server_entry()
        self.assertEqual(d["action"], "restart", d)
        self.assertIn("max_clients", json.dumps(d["changes"]))
        # A device added to the bus it serves changes what it serves too.
        self.ok("--no-apply", "server", "modify", "evcc", "max_clients=")
        self.assertEqual(server_entry()["action"], "none")
        self.ok("--no-apply", "device", "add", "meters", "m2", "definition=eastron-sdm120",
                "unit_id=2")
        self.assertEqual(server_entry()["action"], "restart")
        # Removed while it runs: stop.
        self.ok("--no-apply", "server", "delete", "evcc")
        self.assertEqual(server_entry()["action"], "stop")
        srv.stop()


if __name__ == "__main__":
    fbtest.main()
