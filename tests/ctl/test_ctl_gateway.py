# SPDX-License-Identifier: Apache-2.0
"""fieldbridgectl gateway: the gateway section's settings (name, log_level)
edited in the hand-written main file in place, against the same temp config
dir as test_ctl.py: every other byte, comments included, stays."""

import json
import os
import re
import subprocess

import fbtest
from test_ctl import CTL, EXPORT, SRC, Ctl


class CtlGateway(Ctl):
    def test_gateway_fields_are_documented_in_the_gateway_table_in_order(self):
        with open(os.path.join(SRC, "docs/configuration.md")) as f:
            doc = f.read()
        section = doc.split("## `gateway`", 1)[1].split("\n## ", 1)[0]
        documented = re.findall(r"^\| `([a-z_]+)` \|", section, re.M)
        fields = list(json.loads(self.ok("--json", "gateway", "fields").stdout)
                      ["schema"]["properties"])
        self.assertEqual(fields, ["name", "log_level"])
        self.assertEqual([d for d in documented if d in fields], fields)
        # The table says which ones a tool may set.
        for name in fields:
            row = next(ln for ln in section.splitlines() if ln.startswith(f"| `{name}` |"))
            self.assertIn("fieldbridgectl gateway modify", row, name)
        schema = json.loads(self.ok("--json", "config", "schema").stdout)["schema"]
        self.assertEqual(list(schema["gateway"]["properties"]), fields)
        self.assertEqual(schema["gateway"]["properties"]["log_level"]["enum"],
                         ["warning", "info", "debug"])

    def test_gateway_modify_edits_the_main_file_in_place(self):
        with open(self.main) as f:
            original = f.read()
        r = self.ok("--json", "gateway", "show")
        got = json.loads(r.stdout)["gateway"]
        self.assertEqual(got["fields"], {"name": "fieldbridge", "log_level": "info"})
        self.assertEqual(sorted(got["defaults"]), ["log_level", "name"])
        self.assertEqual((got["file"], got["in_main"]), (self.main, True))

        self.ok("--no-apply", "gateway", "modify", "log_level=warning", "name=Workshop gw")
        with open(self.main) as f:
            text = f.read()
        self.assertTrue(text.startswith("// hand-written; tools never rewrite this file\n"))
        self.assertIn('"log_level": "warning"', text)
        self.assertIn('"name": "Workshop gw"', text)
        # Only the two members were added: the rest is byte for byte the same.
        self.assertEqual(re.sub(r',\s*"(log_level|name)": "[^"]*"', "", text), original)
        got = json.loads(self.ok("--json", "gateway", "show").stdout)["gateway"]
        self.assertEqual(got["fields"], {"name": "Workshop gw", "log_level": "warning"})
        self.assertEqual(got["defaults"], [])
        # The daemons load it.
        r = subprocess.run([EXPORT, "-c", self.main, "--check"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        # Refusals change nothing: the allowed words, an unknown field, no name.
        r = self.assert_refused(["--no-apply", "gateway", "modify", "log_level=loud"], 3,
                                "warning, info, debug")
        self.assertEqual(r.stderr.strip(), 'error: gateway: log_level: expected one of '
                                           'warning, info, debug, got "loud"')
        self.assert_refused(["--no-apply", "gateway", "modify", "state_dir=/tmp"], 2,
                            'no field "state_dir"')
        self.assert_refused(["--no-apply", "gateway", "modify"], 2, "FIELD=VALUE")
        for verb in ("add", "delete", "list", "edit"):
            self.assert_refused(["--no-apply", "gateway", verb, "x"], 2, "expected show")

        # Removing both returns the file to exactly what was written by hand.
        self.ok("--no-apply", "gateway", "modify", "log_level=", "name=")
        with open(self.main) as f:
            self.assertEqual(f.read(), original)

    def test_gateway_section_is_added_when_the_file_has_none(self):
        with open(self.main, "w") as f:
            f.write('/* no gateway section */ {\n  "connections": []\n}\n')
        self.ok("--no-apply", "gateway", "modify", "log_level=debug")
        with open(self.main) as f:
            text = f.read()
        self.assertEqual(text, '/* no gateway section */ {\n  "gateway": { "log_level": '
                               '"debug" },\n  "connections": []\n}\n')
        got = json.loads(self.ok("--json", "gateway", "show").stdout)["gateway"]
        self.assertEqual(got["fields"]["log_level"], "debug")


if __name__ == "__main__":
    fbtest.main()
