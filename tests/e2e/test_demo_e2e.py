#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""scripts/demo.sh, run for a few seconds on the daemons of this build: its
discovery reaches the broker, two demos side by side keep their own gateway
ids (a shared one let the second demo's driver take over the first one's
state table), a process that dies is reported, and the broker listens on
every address when asked."""

import os
import re
import signal
import subprocess
import time

import fbtest

SOURCE = os.environ.get("FB_SOURCE_DIR",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("FB_BUILD_DIR", os.path.join(SOURCE, "build"))
DEMO = os.path.join(SOURCE, "scripts", "demo.sh")


class Demo:
    """One scripts/demo.sh in its own process group; output in a file."""

    def __init__(self, tc, name, seconds, **env):
        self.out_path = os.path.join(tc.tmp, f"{name}.out")
        self.port = fbtest.free_port()
        e = dict(os.environ, FIELDBRIDGE_DEMO_BUILD_DIR=BUILD, TMPDIR=tc.tmp,
                 FIELDBRIDGE_DEMO_PORT=str(self.port),
                 FIELDBRIDGE_DEMO_SECONDS=str(seconds), **env)
        with open(self.out_path, "w") as out:
            self.p = subprocess.Popen(["bash", DEMO], stdout=out, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=e, start_new_session=True)
        tc.addCleanup(self.stop)

    def text(self):
        with open(self.out_path, errors="replace") as f:
            return f.read()

    def wait_text(self, pattern, timeout):
        found = []

        def seen():
            m = re.search(pattern, self.text(), re.M)
            if m:
                found.append(m)
            return bool(m)
        if not fbtest.wait_for(seen, timeout, interval=0.1):
            raise AssertionError(f"demo output has no /{pattern}/ after {timeout} s:\n"
                                 + self.text()[-3000:])
        return found[0]

    def wait_exit(self, timeout):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("demo still running:\n" + self.text()[-3000:])

    def stop(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()


def gateway_id(demo):
    """The gateway id, from the node of the demo's first discovery config
    ("<gateway id>_ha" is the connection's node id)."""
    return demo.wait_text(r"^homeassistant/device/(\S+)_ha_meter/config ",
                          fbtest.slack(20)).group(1)


def driver_pid(demo):
    """The pid of the demo's Modbus driver, found by its config path."""
    work = demo.wait_text(r"logs in (\S+)$", 5).group(1)
    conf = os.path.join(work, "fieldbridge.json").encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"fieldbridge-modbus") and conf in argv and b"--bus" in argv:
            return int(pid)
    raise AssertionError("no driver process for " + conf.decode())


def listening_on_any(port):
    """True if /proc/net/tcp has a socket listening on 0.0.0.0:port."""
    want = "00000000:%04X" % port
    with open("/proc/net/tcp") as f:
        return any(line.split()[1] == want and line.split()[3] == "0A"
                   for line in f.readlines()[1:])


class DemoE2E(fbtest.TestCase):
    def test_two_demos_side_by_side_keep_their_own_ids(self):
        a = Demo(self, "a", 12)
        b = Demo(self, "b", 12)
        ida, idb = gateway_id(a), gateway_id(b)
        # The same id would give both the same shared-memory table.
        self.assertNotEqual(ida, idb)
        for d, gw in ((a, ida), (b, idb)):
            d.wait_text(rf"^homeassistant/device/{re.escape(gw)}_ha_relays/config ", 20)
        for d in (a, b):
            self.assertEqual(d.wait_exit(fbtest.slack(30)), 0, d.text()[-3000:])
            self.assertNotIn("exited with status", d.text())
            self.assertIn("demo: stopped;", d.text())

    def test_demo_says_when_its_driver_dies(self):
        d = Demo(self, "d", 60)
        gateway_id(d)
        pid = driver_pid(d)
        os.kill(pid, signal.SIGKILL)
        self.assertEqual(d.wait_exit(fbtest.slack(10)), 1, d.text()[-3000:])
        self.assertIn(f"demo: the Modbus driver (pid {pid}) exited with status 137",
                      d.text())

    def test_demo_listens_on_all_addresses_when_asked(self):
        d = Demo(self, "l", 30, FIELDBRIDGE_DEMO_LISTEN="0.0.0.0")
        d.wait_text(r"broker on ", fbtest.slack(20))
        self.assertTrue(fbtest.wait_for(lambda: listening_on_any(d.port), 10),
                        f"nothing listens on 0.0.0.0:{d.port}")
        self.assertIn(f"broker on 0.0.0.0:{d.port}", d.text())
        d.stop()
        plain = Demo(self, "p", 30)
        plain.wait_text(r"broker on 127\.0\.0\.1:\d+", fbtest.slack(20))
        self.assertTrue(fbtest.wait_port(plain.port, 10))
        self.assertFalse(listening_on_any(plain.port))


if __name__ == "__main__":
    fbtest.main(tools=("mosquitto", "mosquitto_sub", "bash"))
