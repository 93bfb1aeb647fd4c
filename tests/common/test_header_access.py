#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The header access gate (header_access.py) on the real src/ tree, and on
small planted trees to show it can fail."""

import os
import subprocess
import sys
import tempfile
import unittest

import fbtest

HERE = os.path.dirname(os.path.abspath(__file__))
GATE = os.path.join(HERE, "header_access.py")
SRC = os.path.join(os.environ.get("FB_SOURCE_DIR", os.path.join(HERE, "..", "..")), "src")


def gate(src):
    r = subprocess.run([sys.executable, GATE, src], capture_output=True, text=True,
                       timeout=60)
    return r.returncode, r.stdout + r.stderr


class HeaderAccess(unittest.TestCase):
    def tree(self, files):
        """A temporary src/ holding `files` ({relative path: text})."""
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        for rel, text in files.items():
            path = os.path.join(d.name, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        return d.name

    BASE = {
        "table/table.h": "int fb_table(void);\n",
        "table/table-internal.h": "#include \"table.h\"\n",
        "table/table.c": "#include \"table-internal.h\"\n",
        "table/journal/walk.c": "#include \"../table-internal.h\"\n",
        "common/log.h": "void fb_log(void);\n",
        "export/ha/export-internal.h": "#include \"table.h\"\n#include \"log.h\"\n",
        "export/ha/exporter.c": "#include \"export-internal.h\"\n#include <stdio.h>\n",
    }

    def test_src_includes_no_private_header_of_another_part(self):
        rc, out = gate(SRC)
        self.assertEqual(rc, 0, out)

    def test_public_headers_and_own_internals_pass(self):
        rc, out = gate(self.tree(self.BASE))
        self.assertEqual(rc, 0, out)

    def test_a_planted_include_of_another_parts_internal_header_fails(self):
        files = dict(self.BASE)
        files["export/ha/exporter.c"] += "#include \"table-internal.h\"\n"
        rc, out = gate(self.tree(files))
        self.assertEqual(rc, 1, out)
        self.assertIn("export/ha/exporter.c:3: includes table-internal.h, private to table/",
                      out)

    def test_a_relative_path_or_angle_brackets_do_not_get_around_it(self):
        files = dict(self.BASE)
        files["export/ha/a.c"] = "#include \"../../table/table-internal.h\"\n"
        files["export/ha/b.c"] = "#  include <table-internal.h>\n"
        rc, out = gate(self.tree(files))
        self.assertEqual(rc, 1, out)
        self.assertIn("export/ha/a.c:1: includes ../../table/table-internal.h", out)
        self.assertIn("export/ha/b.c:1: includes table-internal.h", out)

    def test_a_topic_header_is_private_too(self):
        files = dict(self.BASE)
        files["table/table-follow.h"] = "\n"
        files["export/ha/exporter.c"] += "#include \"table-follow.h\"\n"
        rc, out = gate(self.tree(files))
        self.assertEqual(rc, 1, out)
        self.assertIn("includes table-follow.h, private to table/", out)


if __name__ == "__main__":
    fbtest.main()
