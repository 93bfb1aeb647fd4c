# SPDX-License-Identifier: Apache-2.0
"""fieldbridgectl connection/bus move-to-dropin against a temp config dir:
the main file loses exactly the object's text, byte for byte."""

import json
import os
import subprocess

import fbtest

BUILD = os.environ.get("FB_BUILD_DIR", "build/dev")
SRC = os.environ.get("FB_SOURCE_DIR", ".")
CTL = os.path.join(BUILD, "src/ctl/fieldbridgectl")
EXPORT = os.path.join(BUILD, "src/export/ha/fieldbridge-export")
MODBUS = os.path.join(BUILD, "src/drivers/modbus/fieldbridge-modbus")
DEVICES = os.path.join(SRC, "devices")

HEAD = """// hand-written; keep these comments
{
  "gateway": { "id": "gw", "state_dir": "%s", "users_file": "users.json",
               "definition_dirs": ["%s"] },
  /* two buses */
  "buses": [
    // the meters bus comes first
"""
METERS = """    { "name": "meters", "transport": "tcp", "host": "127.0.0.1", /* inside */
      "devices": [ { "id": "m1", "definition": "eastron-sdm120" } ] },
"""
MIDDLE = """    { "name": "other", "transport": "tcp", "host": "127.0.0.2", // tail of other
      "devices": [ { "id": "m2", "definition": "eastron-sdm120" } ] }
  ],
  "connections": [
    { "name": "main", "user": "ha", "broker": "192.0.2.1" }"""
COMMA = ","
AFTER_MAIN = """ // after main, with a "quote" and a } brace
    /* before second, with a { brace */
"""
SECOND = """    { "name": "second", "user": "ha", "broker": "192.0.2.2",
      // inside second, "name": "main"
      "port": 1884 }
"""
TAIL = """    // after second, the last one
  ]
}
// the end
"""


class Dropin(fbtest.TestCase):
    def setUp(self):
        super().setUp()
        for exe in (CTL, EXPORT, MODBUS):
            if not os.path.exists(exe):
                self.skipTest(f"{exe} not built")
        self.dir = os.path.join(self.tmp, "etc")
        os.makedirs(self.dir)
        self.main = os.path.join(self.dir, "fieldbridge.json")
        self.head = HEAD % (os.path.join(self.tmp, "state"), os.path.abspath(DEVICES))
        self.text = self.head + METERS + MIDDLE + COMMA + AFTER_MAIN + SECOND + TAIL
        with open(self.main, "w") as f:
            f.write(self.text)
        users = os.path.join(self.dir, "users.json")
        with open(users, "w") as f:
            json.dump({"users": [{"name": "ha", "rights": {"*": "read"}}]}, f)
        os.chmod(users, 0o600)

    def ctl(self, *args):
        return subprocess.run([CTL, "-c", self.main, *args], text=True,
                              capture_output=True, timeout=60, stdin=subprocess.DEVNULL)

    def ok(self, *args):
        r = self.ctl(*args)
        self.assertEqual(r.returncode, 0, f"{args}: {r.stdout}{r.stderr}")
        return r

    def main_text(self):
        with open(self.main) as f:
            return f.read()

    def snapshot(self):
        return fbtest.tree_snapshot(self.dir)

    def test_move_first_and_last_elements_removes_exactly_their_text(self):
        check = self.ok("config", "check")
        r = self.ok("connection", "move-to-dropin", "second")
        self.assertIn("connections.d/second.json", r.stdout)
        self.assertIn("comments inside the object were not carried over", r.stdout)
        # The last element: its lines and the comma before it go.
        self.assertEqual(self.main_text(),
                         self.head + METERS + MIDDLE + AFTER_MAIN + TAIL)
        # The last connection stays last: the same output, line for line.
        r = self.ok("config", "check")
        self.assertEqual((r.stdout, r.stderr), (check.stdout, check.stderr))
        with open(os.path.join(self.dir, "connections.d/second.json")) as f:
            self.assertEqual(json.load(f), {"name": "second", "user": "ha",
                                            "broker": "192.0.2.2", "port": 1884})
        # The first element: its lines with its comma.
        self.ok("--no-apply", "bus", "move-to-dropin", "meters")
        self.assertEqual(self.main_text(), self.head + MIDDLE + AFTER_MAIN + TAIL)
        with open(os.path.join(self.dir, "buses.d/meters.json")) as f:
            self.assertEqual(json.load(f), {
                "name": "meters", "transport": "tcp", "host": "127.0.0.1",
                "devices": [{"id": "m1", "definition": "eastron-sdm120"}]})
        # The loader reads drop-ins after the main file's objects: the
        # same lines, meters now listed after other.
        after = self.ok("config", "check")
        self.assertEqual(sorted(after.stdout.splitlines()),
                         sorted(check.stdout.splitlines()))
        self.assertEqual(after.stderr, check.stderr)
        # Now tools edit the drop-in, and the main file stays as it is.
        moved = self.main_text()
        self.ok("--no-apply", "connection", "modify", "second", "port=1885")
        self.ok("--no-apply", "device", "modify", "m1", "unit_id=5")
        with open(os.path.join(self.dir, "connections.d/second.json")) as f:
            self.assertEqual(json.load(f)["port"], 1885)
        with open(os.path.join(self.dir, "buses.d/meters.json")) as f:
            self.assertEqual(json.load(f)["devices"][0]["unit_id"], 5)
        self.assertEqual(self.main_text(), moved)
        self.assertEqual(self.ctl("connection", "modify", "main", "qos=1").returncode, 8)

    def test_move_a_middle_element_and_an_only_element(self):
        self.ok("--no-apply", "connection", "move-to-dropin", "main")
        self.assertEqual(self.main_text(), self.head + METERS + MIDDLE.replace(
            """{ "name": "main", "user": "ha", "broker": "192.0.2.1" }""", "")
            + AFTER_MAIN + SECOND + TAIL)
        self.ok("--no-apply", "connection", "move-to-dropin", "second")
        r = self.ok("--json", "connection", "show", "main")
        self.assertFalse(json.loads(r.stdout)["connection"]["in_main"])
        self.assertEqual(self.ctl("config", "check").returncode, 0)

    def test_relative_paths_of_a_connection_name_the_same_files(self):
        with open(os.path.join(self.dir, "pw.txt"), "w") as f:
            f.write("s3cret\n")
        os.chmod(os.path.join(self.dir, "pw.txt"), 0o600)
        self.text = self.text.replace('"port": 1884 }', '"port": 1884, "auth_user": "u",'
                                      ' "auth_password_file": "pw.txt" }')
        with open(self.main, "w") as f:
            f.write(self.text)
        check = self.ok("config", "check")
        self.ok("--no-apply", "connection", "move-to-dropin", "second")
        with open(os.path.join(self.dir, "connections.d/second.json")) as f:
            self.assertEqual(json.load(f)["auth_password_file"], "../pw.txt")
        r = self.ok("config", "check")
        self.assertEqual((r.stdout, r.stderr), (check.stdout, check.stderr))
        r = self.ok("--json", "connection", "show", "second")
        self.assertEqual(json.loads(r.stdout)["connection"]["fields"]["auth_password"],
                         {"set": True})

    def test_a_move_the_loader_reads_differently_exits_3_and_changes_nothing(self):
        # The error would name the drop-in: an error the move adds.
        self.text = self.text.replace('"port": 1884 }', '"port": 1884, "qos": 7 }')
        with open(self.main, "w") as f:
            f.write(self.text)
        self.assertEqual(self.ctl("config", "check").returncode, 3)
        before = self.snapshot()
        r = self.ctl("connection", "move-to-dropin", "second")
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("nothing moved", r.stderr)
        self.assertIn("connections.d/second.json", r.stderr)
        self.assertEqual(self.snapshot(), before)

    def test_a_warning_that_moves_along_does_not_block_a_move(self):
        self.text = self.text.replace('"port": 1884 }',
                                      '"port": 1884, "ssl_server_crt": "/nonexistent.pem" }')
        with open(self.main, "w") as f:
            f.write(self.text)
        check = self.ok("config", "check")
        self.assertIn("connections[1] (second).ssl_server_crt: ignored because ssl is off",
                      check.stdout + check.stderr)
        self.ok("--no-apply", "connection", "move-to-dropin", "main")
        r = self.ok("config", "check")
        self.assertIn("connections[0] (second).ssl_server_crt: ignored because ssl is off",
                      r.stdout + r.stderr)
        self.ok("--no-apply", "connection", "move-to-dropin", "second")
        r = self.ok("config", "check")
        self.assertIn("connections.d/second.json: connection (second).ssl_server_crt: "
                      "ignored because ssl is off", r.stdout + r.stderr)

    def test_unknown_object_exits_4_and_changes_nothing(self):
        before = self.snapshot()
        for args in (["connection", "move-to-dropin", "nope"],
                     ["bus", "move-to-dropin", "main"]):
            r = self.ctl(*args)
            self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
            self.assertIn("not found", r.stderr)
        self.assertEqual(self.snapshot(), before)

    def test_existing_dropin_exits_8_and_changes_nothing(self):
        os.makedirs(os.path.join(self.dir, "buses.d"))
        with open(os.path.join(self.dir, "buses.d/other.json"), "w") as f:
            f.write('{ "transport": "tcp", "host": "127.0.0.3" }\n')
        before = self.snapshot()
        r = self.ctl("bus", "move-to-dropin", "other")
        self.assertEqual(r.returncode, 8, r.stdout + r.stderr)
        self.assertIn("exists already", r.stderr)
        self.assertEqual(self.snapshot(), before)


if __name__ == "__main__":
    fbtest.main()
