#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fbtest.main() tells ctest the truth: a module whose every selected case
skipped exits 77 (SKIP_RETURN_CODE) and says why, a failure exits 1, and a
skip among passing cases still exits 0.  Each case runs a small test module
in a child interpreter, as ctest runs the real ones."""

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

import fbtest

# Indented: the registration check in tests/CMakeLists.txt reads only
# top-level classes, so these cases are not taken for unregistered ones.
MODULE = '''
    import unittest
    import fbtest

    class Cases(unittest.TestCase):
        def test_passes(self):
            self.assertTrue(True)

        def test_fails(self):
            self.assertEqual(1, 2)

        def test_needs_a_missing_tool(self):
            fbtest.which_or_skip("fbtest-no-such-tool")

        def test_skips_in_the_body(self):
            self.skipTest("the helper is not built")

    class SkippedClass(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            raise unittest.SkipTest("nothing to talk to")

        def test_never_runs(self):
            self.fail("setUpClass skipped the class")

    if __name__ == "__main__":
        fbtest.main(tools=TOOLS)
'''


def run_module(*cases, tools=()):
    """Runs MODULE with `cases` selected; returns (exit code, output)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "child_test.py")
        with open(path, "w") as f:
            f.write(textwrap.dedent(MODULE).replace("TOOLS", repr(tuple(tools))))
        env = dict(os.environ, PYTHONPATH=fbtest.HERE, PYTHONDONTWRITEBYTECODE="1")
        r = subprocess.run([sys.executable, path, *cases], capture_output=True, text=True,
                           env=env, timeout=60)
    return r.returncode, r.stdout + r.stderr


class FbtestMain(unittest.TestCase):
    def test_a_skipped_case_exits_77_and_says_why(self):
        rc, out = run_module("Cases.test_needs_a_missing_tool")
        self.assertEqual(rc, fbtest.SKIP_EXIT, out)
        self.assertIn("missing tools: fbtest-no-such-tool", out)

    def test_every_selected_case_skipped_exits_77(self):
        rc, out = run_module("Cases.test_needs_a_missing_tool", "Cases.test_skips_in_the_body")
        self.assertEqual(rc, fbtest.SKIP_EXIT, out)
        self.assertIn("the helper is not built", out)

    def test_a_class_skipped_in_set_up_class_exits_77(self):
        rc, out = run_module("SkippedClass")
        self.assertEqual(rc, fbtest.SKIP_EXIT, out)
        self.assertIn("nothing to talk to", out)

    def test_a_missing_module_tool_exits_77_before_any_case(self):
        rc, out = run_module("Cases.test_fails", tools=("fbtest-no-such-tool",))
        self.assertEqual(rc, fbtest.SKIP_EXIT, out)
        self.assertIn("SKIP: missing tools: fbtest-no-such-tool", out)
        self.assertNotIn("test_fails", out)

    def test_a_skip_beside_a_passing_case_exits_0(self):
        rc, out = run_module("Cases.test_passes", "Cases.test_skips_in_the_body")
        self.assertEqual(rc, 0, out)

    def test_a_passing_case_exits_0(self):
        rc, out = run_module("Cases.test_passes")
        self.assertEqual(rc, 0, out)

    def test_a_failing_case_exits_1_even_beside_skips(self):
        rc, out = run_module("Cases.test_fails", "Cases.test_skips_in_the_body")
        self.assertEqual(rc, 1, out)
        self.assertIn("AssertionError", out)

    def test_a_case_that_does_not_exist_exits_1(self):
        rc, out = run_module("Cases.test_no_such_case")
        self.assertEqual(rc, 1, out)


if __name__ == "__main__":
    fbtest.main()
