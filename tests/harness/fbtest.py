# SPDX-License-Identifier: Apache-2.0
"""fbtest -- process/broker/Modbus harness for fieldbridge integration tests.

Run tests with Debian's interpreter (/usr/bin/python3): it is the only one that
sees python3-pymodbus.  ctest sets PYTHONPATH to this directory, so a test does

    import unittest, fbtest

    class T(fbtest.TestCase):                 # gives self.procs / self.tmp
        def test_state(self):
            broker = fbtest.Broker(self.procs, self.tmp)
            sub = fbtest.Subscriber(broker, ["homeassistant/#"])
            slave = fbtest.ModbusSlave(self.procs, units={1: "sdm120"})
            gw = self.procs.start("exporter", [EXPORTER, "--port", str(broker.port)])
            msg = sub.wait_message("homeassistant/sensor/+/config", timeout=10)
            self.assertTrue(msg.retained)

Building blocks (all real processes, nothing mocked), in procs.py, broker.py
and modbus.py, all re-exported here:

* free_port(), wait_port(), wait_for()           -- small polling helpers
* Procs / Proc                                   -- process registry; every child
  runs in its own process group, logs to <tmp>/<name>.<n>.{out,err}.log and is
  SIGTERMed (then SIGKILLed after a grace) on close, on test failure, at exit,
  on SIGTERM/SIGHUP of the test runner and (PR_SET_PDEATHSIG) if the runner
  itself is SIGKILLed.
* TestCase                                       -- unittest base with self.procs,
  self.tmp; dumps log tails of all children when the test failed/errored.
* Certs(dir)                                     -- test PKI made with the openssl CLI
* Broker(procs, tmp, ...)                        -- a mosquitto with plain/TLS/ws
  listeners on free 127.0.0.1 ports
* Subscriber(broker, topics)                     -- mosquitto_sub in a thread
* publish(), clear_retained(), retained_snapshot()  -- mosquitto_pub/_sub one-shots
* ModbusSlave(procs, units=...)                  -- modbus_slave.py (pymodbus) with
  a JSON control channel; SerialPair(procs) -- socat pty pair for RTU

Timestamps (Message.t, slave request events) are time.monotonic() values; on
Linux that is CLOCK_MONOTONIC, shared by all processes, so times recorded by the
slave process can be compared with times taken in the test.

Environment: FBTEST_KEEP=1 keeps temp dirs even on success (they are always
kept, and their path printed, when a test fails); FB_SANITIZE=ON (set by
ctest in a sanitizer build) widens slack().

A test module ends with fbtest.main(tools=(...)): exit 77 (ctest: skipped)
when every case skipped or a tool is missing, 1 on a failure, 0 otherwise.
"""

import os
import shutil
import sys
import unittest

# The harness's parts (procs.py, broker.py, modbus.py); a test sees all of
# them as fbtest.<name>.
from procs import (SANITIZED, Proc, Procs, free_port, port_open, slack,
                   tail, wait_for, wait_port, which_or_skip)
from broker import (MQTT_TOOLS, Broker, Certs, Message, Subscriber,
                    clear_retained, client_args, publish, retained_snapshot,
                    topic_matches)
from modbus import (MODBUS_SLAVE, PYTHON, Gate, ModbusSlave, SerialPair,
                    float32_from_regs, regs_from_float32)

__all__ = [
    "SANITIZED", "Proc", "Procs", "free_port", "port_open", "slack", "tail", "wait_for",
    "wait_port", "which_or_skip",
    "MQTT_TOOLS", "Broker", "Certs", "Message", "Subscriber", "clear_retained",
    "client_args", "publish", "retained_snapshot", "topic_matches",
    "MODBUS_SLAVE", "PYTHON", "Gate", "ModbusSlave", "SerialPair", "float32_from_regs",
    "regs_from_float32",
    "HERE", "SKIP_EXIT", "TestCase", "main", "read_text", "skip_module", "tree_snapshot",
]


def tree_snapshot(root, skip=(".lock",)):
    """{relative path: (mode, sha256 or "")} of every file and directory
    under root: compare two to prove a refused command changed nothing."""
    import hashlib
    import stat
    snap = {}
    for top, dirs, files in os.walk(root):
        for n in files + dirs:
            p = os.path.join(top, n)
            rel = os.path.relpath(p, root)
            if rel in skip:
                continue
            st = os.lstat(p)
            h = ""
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()
            snap[rel] = (stat.S_IMODE(st.st_mode), h)
    return snap

HERE = os.path.dirname(os.path.abspath(__file__))


SKIP_EXIT = 77      # ctest's SKIP_RETURN_CODE for every test


def read_text(path):
    """The whole of a text file, closed again (no ResourceWarning)."""
    with open(path, encoding="utf-8") as f:
        return f.read()


def skip_module(reason):
    """Exit 77 (ctest: skipped) after printing why; for a module that cannot
    run at all (a helper program not built, a tool not installed)."""
    print(f"SKIP: {reason}", flush=True)
    sys.exit(SKIP_EXIT)


def main(tools=(), argv=None):
    """Run the calling module's unittest cases and exit the way ctest reads it:
    77 when every selected case was skipped (each skip's reason printed),
    1 when one failed or none ran, 0 otherwise.  `tools` are executables the
    whole module needs; a missing one skips it."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        skip_module("missing tools: " + ", ".join(missing))
    prog = unittest.main(module="__main__", argv=argv, exit=False, verbosity=2)
    r = prog.result
    if not r.wasSuccessful():
        sys.exit(1)
    # A skip raised in setUpClass is counted in r.skipped but not in testsRun.
    if r.skipped and len(r.skipped) >= r.testsRun:
        for case, why in r.skipped:
            print(f"SKIP: {case.id()}: {why}", flush=True)
        sys.exit(SKIP_EXIT)
    sys.exit(0 if r.testsRun else 1)


def _test_failed(tc):
    """Best effort: did the running unittest test fail/err so far?"""
    outcome = getattr(tc, "_outcome", None)
    if outcome is None:
        return False
    if getattr(outcome, "success", True) is False:          # 3.4 .. 3.11+
        return True
    for _, exc in getattr(outcome, "errors", []) or []:      # <= 3.10
        if exc is not None:
            return True
    result = getattr(outcome, "result", None)
    if result is not None:
        for lst in (result.errors, result.failures):
            if any(t is tc for t, _ in lst):
                return True
    return False


class TestCase(unittest.TestCase):
    """unittest base: self.procs (a Procs) and self.tmp (its dir) per test.
    On failure, log tails of all children are printed and the dir is kept."""

    def setUp(self):
        super().setUp()
        self.procs = Procs(name=self.id().split(".")[-1])
        self.tmp = self.procs.tmpdir
        self.addCleanup(self._fbtest_close)

    def _fbtest_close(self):
        if _test_failed(self):
            self.procs.fail()
        self.procs.close()
