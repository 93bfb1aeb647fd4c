# SPDX-License-Identifier: Apache-2.0
"""modbus -- the Modbus side of the fbtest harness: a pymodbus slave in a
child process (ModbusSlave, driven through modbus_slave.py's control
channel) and socat pty pairs for RTU (SerialPair).  Tests import these
through fbtest."""

import json
import os
import socket
import time

from procs import free_port, wait_for


HERE = os.path.dirname(os.path.abspath(__file__))
# Debian's interpreter: the only one that can import pymodbus.
PYTHON = "/usr/bin/python3"
MODBUS_SLAVE = os.path.join(HERE, "modbus_slave.py")
MODBUS_GATE = os.path.join(HERE, "modbus_gate.py")


# --------------------------------------------------------------------------
# Modbus
# --------------------------------------------------------------------------

class SerialPair:
    """socat pty pair: .a (give to the gateway) <-> .b (give to the slave)."""

    def __init__(self, procs, name="socat", timeout=5.0):
        d = procs.tmpdir
        self.a = os.path.join(d, f"{name}-A")
        self.b = os.path.join(d, f"{name}-B")
        self.proc = procs.start(name, [
            "socat", "-d", "-d",
            f"pty,raw,echo=0,link={self.a}", f"pty,raw,echo=0,link={self.b}"])
        if not wait_for(lambda: os.path.exists(self.a) and os.path.exists(self.b),
                        timeout):
            procs.fail()
            raise RuntimeError("socat pty links did not appear")

    def stop(self):
        self.proc.stop()


class Gate:
    """modbus_gate.py: a pty at .path that forwards requests to the slaves
    behind `backs` (SerialPair A ends) only at `framing` ("19200:E:1"), and
    logs every request frame it saw (.frames(): the sniffer).  Two backs
    answering one id collide like two devices on one RS-485 line."""

    def __init__(self, procs, backs, framing, name="gate", timeout=5.0):
        d = procs.tmpdir
        self.path = os.path.join(d, f"{name}-front")
        self.log = os.path.join(d, f"{name}.log")
        argv = [PYTHON, MODBUS_GATE, "--front", self.path, "--framing", framing,
                "--log", self.log]
        for b in backs:
            argv += ["--back", b]
        self.proc = procs.start(name, argv)
        if not wait_for(lambda: "READY" in self.proc.stdout_text()
                        or not self.proc.alive(), timeout, 0.05) or not self.proc.alive():
            procs.fail()
            raise RuntimeError(f"modbus_gate did not start:\n{self.proc.log_tail()}")

    def frames(self):
        """Every request frame seen so far: dicts t, hex, unit, fc, framing,
        forwarded."""
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        self.proc.stop()


class ModbusSlave:
    """modbus_slave.py (pymodbus) in a child process plus its control channel.

    units: {unit_id: profile} with profile in sdm120 | relay8 | holding.
    tcp: a port number (default: free port) -- or rtu=<pty path> (see
    SerialPair) with baud.  changing=True makes SDM120 values move every
    ~0.5 s.  Addresses everywhere are protocol (0-based) addresses.
    """

    def __init__(self, procs, units=None, *, port=None, rtu=None, baud=9600,
                 changing=False, period=0.5, name="modbus_slave", extra=(),
                 start=True, timeout=10.0):
        self.procs = procs
        self.units = dict(units or {1: "sdm120"})
        self.rtu = rtu
        self.baud = baud
        self.changing = changing
        self.period = period
        self.name = name
        self.extra = list(extra)
        self._fixed_port = port
        self.port = None if rtu else (port or free_port())
        self.control_port = free_port()
        self.proc = None
        if start:
            self.start(timeout)

    def _argv(self):
        a = [PYTHON, MODBUS_SLAVE, "--control", str(self.control_port)]
        a += ["--rtu", self.rtu, "--baud", str(self.baud)] if self.rtu \
            else ["--tcp", str(self.port)]
        for uid, prof in self.units.items():
            a += ["--unit", f"{uid}:{prof}"]
        if self.changing:
            a += ["--changing", "--period", str(self.period)]
        return a + self.extra

    def start(self, timeout=10.0):
        """Start; on the first start a port taken meanwhile is re-picked."""
        for attempt in range(5):
            self.proc = self.procs.start(self.name, self._argv())
            ok = wait_for(lambda: "READY" in self.proc.stdout_text()
                          or not self.proc.alive(), timeout, 0.05)
            if ok and self.proc.alive():
                self._started_once = True
                return self
            self.proc.stop(grace=1)
            if (not getattr(self, "_started_once", False) and self._fixed_port is None
                    and "address already in use" in self.proc.stderr_text().lower()):
                if not self.rtu:
                    self.port = free_port()
                self.control_port = free_port()
                continue
            break
        self.procs.fail()
        raise RuntimeError(f"modbus_slave did not start:\n{self.proc.log_tail()}")

    def stop(self, grace=3.0):
        if self.proc:
            return self.proc.stop(grace)

    def kill(self):
        if self.proc:
            return self.proc.kill()

    def restart(self, downtime=0.0):
        """Stop and start on the same port/pty (register contents reset)."""
        self.stop()
        if downtime:
            time.sleep(downtime)
        return self.start()

    def alive(self):
        return bool(self.proc and self.proc.alive())

    # -- control channel ---------------------------------------------------
    def control(self, cmd, timeout=5.0, **kw):
        """Send one JSON command ({'cmd': ...} or cmd name + kwargs); return
        the reply dict; raises RuntimeError if the reply has ok=false."""
        req = dict(cmd) if isinstance(cmd, dict) else {"cmd": cmd}
        req.update(kw)
        with socket.create_connection(("127.0.0.1", self.control_port), timeout) as s:
            s.sendall((json.dumps(req) + "\n").encode())
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        reply = json.loads(buf.decode())
        if not reply.get("ok"):
            raise RuntimeError(f"modbus_slave control {req}: {reply.get('error')}")
        return reply

    def get_registers(self, unit, table="hr", address=0, count=1):
        return self.control("get", unit=unit, table=table, address=address,
                            count=count)["values"]

    def set_registers(self, unit, table, address, values):
        self.control("set", unit=unit, table=table, address=address,
                     values=list(values))

    def coils(self, unit, address=0, count=8):
        return [bool(v) for v in self.get_registers(unit, "co", address, count)]

    def set_coils(self, unit, address, values):
        self.set_registers(unit, "co", address, [bool(v) for v in values])

    def get_float(self, unit, table, address):
        return self.control("get_float", unit=unit, table=table, address=address)["value"]

    def set_float(self, unit, table, address, value):
        self.control("set_float", unit=unit, table=table, address=address, value=value)

    def freeze(self):
        self.control("freeze")

    def unfreeze(self):
        self.control("unfreeze")

    def tick(self, n=1):
        return self.control("tick", n=n)["n"]

    def mute(self, unit, on=True):
        """Make `unit` stop answering (device offline) or answer again."""
        self.control("mute", unit=unit, on=on)

    def set_delay(self, seconds):
        """Delay every response by `seconds`."""
        self.control("delay", seconds=seconds)

    def drop(self):
        """TCP: close every client connection (the server keeps listening);
        returns how many were closed."""
        return self.control("drop")["dropped"]

    def hold(self, on=True):
        """Freeze: read requests but answer none until hold(False), which
        answers every held request at once, in order."""
        return self.control("hold", on=on)

    def requests(self, kind=None, unit=None, since=None):
        """Event log of requests received: dicts with seq, t (monotonic), kind
        ('read'|'write'|'readwrite'|'other'), fc, unit, address, count,
        values (writes), muted.  Filter by kind/unit/t >= since."""
        ev = self.control("events")["events"]
        return [e for e in ev
                if (kind is None or e["kind"] == kind)
                and (unit is None or e["unit"] == unit)
                and (since is None or e["t"] >= since)]

    def writes(self, unit=None, since=None):
        return self.requests("write", unit, since)

    def clear_requests(self):
        self.control("clear_events")

    def wait_request(self, pred, timeout=5.0, since=None):
        """Wait for a logged request with pred(event) true; return it or None."""
        found = []

        def check():
            for e in self.requests(since=since):
                if pred(e):
                    found.append(e)
                    return True
            return False
        return found[0] if wait_for(check, timeout, 0.05) else None


def float32_from_regs(hi, lo):
    """Decode two registers (big-endian, high word first) as IEEE float32."""
    import struct
    return struct.unpack(">f", struct.pack(">HH", hi, lo))[0]


def regs_from_float32(value):
    import struct
    return list(struct.unpack(">HH", struct.pack(">f", value)))
