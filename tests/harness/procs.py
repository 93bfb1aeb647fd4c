# SPDX-License-Identifier: Apache-2.0
"""procs -- child processes for the fbtest harness: a registry that always
stops what it started, and small polling helpers.  Tests import these
through fbtest."""

import atexit
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import weakref


# ctest passes FB_SANITIZE=ON for the ASan/UBSan build, whose daemons run
# several times slower: latency bounds get their slack through slack().
SANITIZED = os.environ.get("FB_SANITIZE", "").upper() in ("1", "ON", "TRUE", "YES")


def slack(seconds):
    """A latency allowance of `seconds`, four times larger under sanitizers."""
    return seconds * (4 if SANITIZED else 1)


def free_port():
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    """True if something accepts TCP connections on host:port right now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_port(port, timeout=10.0, host="127.0.0.1"):
    """Wait until host:port accepts a TCP connection; return bool."""
    return wait_for(lambda: port_open(port, host), timeout, interval=0.05)


def wait_for(predicate, timeout=10.0, interval=0.02):
    """Poll predicate() until truthy or timeout; return bool (last check
    happens at/after the deadline so a slow predicate still gets a chance)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def which_or_skip(*tools):
    """Raise unittest.SkipTest unless all executables are on PATH."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        raise unittest.SkipTest("missing tools: " + ", ".join(missing))


def tail(path, lines=40):
    """Last `lines` lines of a text file ('' if missing)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


# --------------------------------------------------------------------------
# process registry
# --------------------------------------------------------------------------

_live_procs = weakref.WeakSet()     # every Proc not yet reaped, for the safety net
_live_lock = threading.Lock()
_PR_SET_PDEATHSIG = 1
try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover
    _libc = None


def _child_setup_pdeathsig():
    # Runs in the child between fork and exec: if the test runner dies (even by
    # SIGKILL, e.g. a ctest timeout) the child gets SIGTERM.
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Proc:
    """One started child process (leader of its own process group)."""

    def __init__(self, name, argv, popen, out_path, err_path):
        self.name = name
        self.argv = list(argv)
        self.popen = popen
        self.pid = popen.pid
        self.pgid = popen.pid          # start_new_session => pgid == pid
        self.out_path = out_path
        self.err_path = err_path
        self.started = time.monotonic()

    def __repr__(self):
        return f"<Proc {self.name} pid={self.pid} rc={self.popen.poll()}>"

    @property
    def returncode(self):
        return self.popen.poll()

    def alive(self):
        return self.popen.poll() is None

    def wait(self, timeout=None):
        """Wait for exit; returns returncode (raises subprocess.TimeoutExpired)."""
        return self.popen.wait(timeout)

    def signal(self, sig):
        """Send sig to the whole process group."""
        try:
            os.killpg(self.pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, grace=3.0):
        """SIGTERM the group, SIGKILL it after `grace` s; return returncode."""
        if self.alive():
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        # SIGKILL the group even if the leader exited: grandchildren may remain.
        self.signal(signal.SIGKILL)
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:  # pragma: no cover - unkillable
            pass
        with _live_lock:
            _live_procs.discard(self)
        return self.popen.returncode

    def kill(self):
        """SIGKILL the group immediately (crash simulation)."""
        self.signal(signal.SIGKILL)
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        with _live_lock:
            _live_procs.discard(self)
        return self.popen.returncode

    def stdout_text(self):
        return read_text(self.out_path)

    def stderr_text(self):
        return read_text(self.err_path)

    def log_tail(self, lines=40):
        out = tail(self.out_path, lines)
        err = tail(self.err_path, lines)
        return (f"----- {self.name} pid={self.pid} rc={self.popen.poll()} "
                f"argv={' '.join(self.argv)}\n"
                f"--- stdout ({self.out_path}):\n{out}\n"
                f"--- stderr ({self.err_path}):\n{err}\n")


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


class Procs:
    """Registry of child processes for one test.

        with Procs() as procs:          # or fbtest.TestCase's self.procs
            p = procs.start("exporter", ["./fb-exporter", "-c", conf])
            ...
        # all children are stopped here, log tails dumped if the block raised

    tmpdir: where logs/configs go (created with mkdtemp if None; a given dir
    is never removed).  A created dir is removed by close() unless keep=True,
    or keep=None (default) and FBTEST_KEEP is set or a failure was seen.
    dump=False suppresses the log dump on failure.
    """

    def __init__(self, tmpdir=None, name="fbtest", keep=None, dump=True):
        _install_safety_net()
        self.owns_tmp = tmpdir is None
        self.tmpdir = tmpdir or tempfile.mkdtemp(prefix=f"{_safe(name)}-")
        os.makedirs(self.tmpdir, exist_ok=True)
        self.keep = keep
        self.dump = dump
        self.procs = []
        self._counts = {}
        self.failed = False
        self.closed = False
        self._cleanups = []      # extra callables run by close() (threads etc.)

    # -- starting ----------------------------------------------------------
    def start(self, name, argv, *, env=None, cwd=None, stdin=subprocess.DEVNULL,
              stdout=None, pdeathsig=True):
        """Start argv in a new session/process group; stdout/stderr go to
        <tmp>/<name>.<n>.out.log / .err.log (stdout=subprocess.PIPE to read it
        yourself).  env entries are added to os.environ (None value removes)."""
        if self.closed:
            raise RuntimeError("Procs already closed")
        n = self._counts.get(name, 0)
        self._counts[name] = n + 1
        base = os.path.join(self.tmpdir, f"{_safe(name)}.{n}")
        out_path, err_path = base + ".out.log", base + ".err.log"
        full_env = dict(os.environ)
        full_env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
        full_env.setdefault("PYTHONUNBUFFERED", "1")
        for k, v in (env or {}).items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = str(v)
        # PDEATHSIG is tied to the forking *thread*: only use it from the main
        # thread, otherwise the child would die when a helper thread ends.
        use_pds = pdeathsig and threading.current_thread() is threading.main_thread()
        err_f = open(err_path, "wb")
        out_f = None if stdout is not None else open(out_path, "wb")
        try:
            popen = subprocess.Popen(
                [str(a) for a in argv], cwd=cwd, env=full_env, stdin=stdin,
                stdout=stdout if stdout is not None else out_f, stderr=err_f,
                start_new_session=True, close_fds=True,
                preexec_fn=_child_setup_pdeathsig if use_pds else None)
        finally:
            err_f.close()
            if out_f:
                out_f.close()
        p = Proc(name, argv, popen, out_path, err_path)
        self.procs.append(p)
        with _live_lock:
            _live_procs.add(p)
        return p

    def run(self, argv, timeout=30, check=True, **kw):
        """subprocess.run for short helper commands (text mode, captured)."""
        r = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                           timeout=timeout, **kw)
        if check and r.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed rc={r.returncode}\n"
                               f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def get(self, name):
        """Most recently started Proc called name."""
        for p in reversed(self.procs):
            if p.name == name:
                return p
        raise KeyError(name)

    def add_cleanup(self, fn):
        """Run fn() at close(), before processes are stopped (LIFO)."""
        self._cleanups.append(fn)

    # -- stopping ----------------------------------------------------------
    def stop_all(self, grace=3.0):
        # SIGTERM everything first so the graces overlap, then collect.
        live = [p for p in self.procs if p.alive()]
        for p in live:
            p.signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for p in self.procs:
            try:
                p.popen.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            p.stop(grace=0)

    def close(self):
        if self.closed:
            return
        self.closed = True
        while self._cleanups:
            try:
                self._cleanups.pop()()
            except Exception as exc:  # keep closing; report
                print(f"fbtest: cleanup error: {exc!r}", file=sys.stderr)
        self.stop_all()
        if self.owns_tmp:
            keep = self.keep
            if keep is None:
                keep = self.failed or bool(os.environ.get("FBTEST_KEEP"))
            if keep:
                print(f"fbtest: kept temp dir {self.tmpdir}", file=sys.stderr)
            else:
                shutil.rmtree(self.tmpdir, ignore_errors=True)

    def dump_logs(self, lines=40, file=None):
        """Print the tails of every child's stdout/stderr (to stderr)."""
        file = file or sys.stderr
        print(f"\n===== fbtest logs ({self.tmpdir}) =====", file=file)
        for p in self.procs:
            print(p.log_tail(lines), file=file)
        print("===== end fbtest logs =====", file=file)
        file.flush()

    def fail(self):
        """Mark as failed: logs get dumped and tmpdir kept at close()."""
        if not self.failed:
            self.failed = True
            if self.dump:
                self.dump_logs()

    def __enter__(self):
        return self

    def __exit__(self, etype, exc, tb):
        if etype is not None and not issubclass(etype, unittest.SkipTest):
            self.fail()
        self.close()
        return False


def _safe(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[-80:]


_net_installed = False


def _kill_all_live():
    with _live_lock:
        procs = list(_live_procs)
    for p in procs:
        p.signal(signal.SIGTERM)
    deadline = time.monotonic() + 2.0
    for p in procs:
        try:
            p.popen.wait(max(0.0, deadline - time.monotonic()))
        except Exception:
            pass
        p.signal(signal.SIGKILL)


def _on_fatal_signal(signum, frame):
    _kill_all_live()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_safety_net():
    """atexit + SIGTERM/SIGHUP handlers that kill every live child group.
    Handlers are only installed where nobody else installed one."""
    global _net_installed
    if _net_installed:
        return
    _net_installed = True
    atexit.register(_kill_all_live)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, _on_fatal_signal)
