#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""modbus_slave.py -- a real Modbus slave (Debian's pymodbus 3.0.0rc1) for tests.

    /usr/bin/python3 modbus_slave.py --tcp PORT  --unit 1:sdm120 --unit 2:relay8 \
        [--control CPORT] [--changing [--period 0.5]] [--verbose]
    /usr/bin/python3 modbus_slave.py --rtu /path/to/pty --baud 9600 --unit 1:sdm120 ...

Prints "READY modbus=<port|pty> control=<cport>" on stdout once serving (port 0
= pick a free one and report it).  Exits 0 on SIGTERM/SIGINT.  fbtest.ModbusSlave
wraps all of this.

Addressing: protocol (on-the-wire, 0-based) addresses everywhere.  The slave
contexts run with zero_mode=True and data blocks start at 0, so PDU address 0
is the first register (pymodbus' default would add 1 -- the classic off-by-one).
Requests to unit ids that are not configured get no answer at all (the pymodbus
framers drop them), as on a real bus.

Profiles (per unit):
  sdm120   Eastron SDM120: input registers (FC4), float32 big-endian, high
           word first: 0x0000 voltage V, 0x0006 current A, 0x000C active
           power W, 0x0012 apparent power VA, 0x0018 reactive power var,
           0x001E power factor, 0x0046 frequency Hz, 0x0048 import kWh,
           0x004A export kWh, 0x0156 total kWh.  400 input registers, 64
           holding registers (zeros), no coils/discrete inputs.
           Values for step n (n stays 0 unless --changing; +1 every --period s):
             V = 230.0 + (n % 10) * 0.1     I = 2.0 + (n % 5) * 0.1
             PF = 0.95   P = V*I*PF   S = V*I   Q = sqrt(S^2 - P^2)   f = 50.0
             import = 100.0 * unit + 0.01 * n   export = 0.001 * n
             total = import + export
  relay8   8 coils at 0x0000..0x0007 (all off), 8 discrete inputs; no registers.
  holding  200 holding registers 0..199 (zeros), plus 200 input registers,
           200 coils and 200 discrete inputs, for generic tests.
  full     every address 0..65535 of all four tables exists (zeros until set;
           stored sparsely), for serving any definition's register map.
  holes    like holding, but holding registers 20..29 and 60..63 do not exist:
           any read touching them gets exception 2 (a register map with
           undeclared holes, for learned block splits).
Addresses outside a block get exception 2 (illegal data address).

Control channel (--control PORT, 127.0.0.1): one JSON object per line in,
one JSON reply per line out ({"ok": true, ...} or {"ok": false, "error": ...}).
Tables: "hr" holding, "ir" input, "co" coils, "di" discrete inputs.
  {"cmd":"ping"}                                   -> units, n, frozen
  {"cmd":"get","unit":1,"table":"ir","address":0,"count":2}  -> values
  {"cmd":"set","unit":1,"table":"co","address":0,"values":[true,false]}
  {"cmd":"get_float","unit":1,"table":"ir","address":0}      -> value
  {"cmd":"set_float","unit":1,"table":"ir","address":0,"value":231.5}
  {"cmd":"freeze"} / {"cmd":"unfreeze"}            stop/resume --changing steps
  {"cmd":"tick","n":1}                             advance n by hand (and apply)
  {"cmd":"events"}                                 -> events (request log)
  {"cmd":"clear_events"}
  {"cmd":"mute","unit":1,"on":true}                unit stops answering (logged)
  {"cmd":"delay","seconds":0.2}                    delay every response
  {"cmd":"hold","on":true}                         frozen: requests are read but
                                                   answered only at "on":false,
                                                   all at once and in order (a
                                                   slave that stalls, then resumes)
  {"cmd":"drop"}                                   TCP: closes every client
                                                   connection (-> dropped: how
                                                   many), keeps listening
  {"cmd":"clamp","unit":1,"table":"hr","address":5,"max":100}
                                                   writes above max store max
                                                   (a device that limits a set
                                                   point; read-back shows it)
Each event: {"seq","t" (time.monotonic(), CLOCK_MONOTONIC => comparable with
the test process), "kind" read|write|readwrite|other, "fc", "unit", "address",
"count", "values" (writes), "muted"}.  One event per request decoded from the
wire (logged in the request handler, before execution: a single-coil write
is one "write" event even though pymodbus reads the coil back internally).
"""

import argparse
import asyncio
import json
import logging
import math
import os
import signal
import struct
import sys
import time

from pymodbus.datastore import ModbusServerContext, ModbusSlaveContext
from pymodbus.datastore.store import ModbusSequentialDataBlock
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.pdu import ModbusRequest, ModbusResponse
from pymodbus.framer.socket_framer import ModbusSocketFramer
from pymodbus.server.async_io import (ModbusConnectedRequestHandler,
                                      ModbusSerialServer,
                                      ModbusSingleRequestHandler,
                                      ModbusTcpServer)

log = logging.getLogger("modbus_slave")


class ResetEnergyResponse(ModbusResponse):
    """PZEM's answer to its energy reset: the bare function code."""
    function_code = 0x42
    _rtu_frame_size = 4

    def encode(self):
        return b""

    def decode(self, data):
        pass


class ResetEnergyRequest(ModbusRequest):
    """PZEM-004T/017 energy reset, custom function 0x42 with no data: the
    energy counter (input registers 5..6) goes to 0."""
    function_code = 0x42
    _rtu_frame_size = 4

    def encode(self):
        return b""

    def decode(self, data):
        pass

    def execute(self, context):
        if context.validate(4, 5, 2):
            context.setValues(4, 5, [0, 0])
        return ResetEnergyResponse()

SDM120 = {  # name -> input register address
    "voltage": 0x0000, "current": 0x0006, "active_power": 0x000C,
    "apparent_power": 0x0012, "reactive_power": 0x0018, "power_factor": 0x001E,
    "frequency": 0x0046, "import_kwh": 0x0048, "export_kwh": 0x004A,
    "total_kwh": 0x0156,
}
TABLES = {"hr": "h", "ir": "i", "co": "c", "di": "d"}
READ_FC = {1, 2, 3, 4}
WRITE_FC = {5, 6, 15, 16, 22}


HOLES = [(20, 29), (60, 63)]   # "holes" profile: missing holding registers


class Block(ModbusSequentialDataBlock):
    """Sequential block starting at protocol address 0; may be empty (the
    pymodbus base class cannot be constructed with no values)."""

    def __init__(self, size, value=0):
        if size:
            super().__init__(0, [value] * size)
        else:
            self.address, self.values, self.default_value = 0, [], value


class SparseBlock(Block):
    """All 65536 addresses exist; only those set are stored."""

    def __init__(self, value=0):
        super().__init__(0, value)
        self.cells = {}

    def validate(self, address, count=1):
        return 0 <= address and address + count <= 65536

    def getValues(self, address, count=1):
        return [self.cells.get(a, self.default_value) for a in range(address, address + count)]

    def setValues(self, address, values):
        if not isinstance(values, list):
            values = [values]
        for i, v in enumerate(values):
            self.cells[address + i] = v


class HoleBlock(Block):
    """A block whose addresses in HOLES do not exist (exception 2)."""

    def validate(self, address, count=1):
        last = address + count - 1
        if any(address <= h1 and last >= h0 for h0, h1 in HOLES):
            return False
        return super().validate(address, count)


def sdm120_values(n, unit):
    v = 230.0 + (n % 10) * 0.1
    i = 2.0 + (n % 5) * 0.1
    pf = 0.95
    s = v * i
    p = s * pf
    q = math.sqrt(max(0.0, s * s - p * p))
    imp = 100.0 * unit + 0.01 * n
    exp = 0.001 * n
    return {"voltage": v, "current": i, "active_power": p, "apparent_power": s,
            "reactive_power": q, "power_factor": pf, "frequency": 50.0,
            "import_kwh": imp, "export_kwh": exp, "total_kwh": imp + exp}


def f2regs(x):
    return list(struct.unpack(">HH", struct.pack(">f", float(x))))


def regs2f(hi, lo):
    return struct.unpack(">f", struct.pack(">HH", hi, lo))[0]


class State:
    """Everything the control channel and the request handler share."""

    def __init__(self, units, changing):
        self.units = units                 # unit id -> profile name
        self.changing = changing
        self.frozen = False
        self.n = 0
        self.events = []
        self.seq = 0
        self.muted = set()
        self.delay = 0.0
        self.hold = False
        self.held = []
        self.server = None      # the TCP server, for "drop"
        self.clamps = []                   # (unit, table, address, max)
        slaves = {}
        for uid, prof in units.items():
            if prof == "sdm120":
                blocks = dict(ir=Block(400), hr=Block(64), co=Block(0, False),
                              di=Block(0, False))
            elif prof == "relay8":
                blocks = dict(ir=Block(0), hr=Block(0), co=Block(8, False),
                              di=Block(8, False))
            elif prof == "holding":
                blocks = dict(ir=Block(200), hr=Block(200), co=Block(200, False),
                              di=Block(200, False))
            elif prof == "full":
                blocks = dict(ir=SparseBlock(), hr=SparseBlock(), co=SparseBlock(False),
                              di=SparseBlock(False))
            elif prof == "holes":
                blocks = dict(ir=Block(200), hr=HoleBlock(200), co=Block(200, False),
                              di=Block(200, False))
            else:
                raise SystemExit(f"unknown profile {prof!r}")
            slaves[uid] = ModbusSlaveContext(zero_mode=True, **blocks)
        self.context = ModbusServerContext(slaves=slaves, single=False)
        self.apply()

    def block(self, unit, table):
        if unit not in self.units:
            raise ValueError(f"no unit {unit}")
        if table not in TABLES:
            raise ValueError(f"bad table {table!r} (hr, ir, co, di)")
        return self.context[unit].store[TABLES[table]]

    def apply(self):
        """Write the step-n SDM120 values into every sdm120 unit."""
        for uid, prof in self.units.items():
            if prof != "sdm120":
                continue
            blk = self.block(uid, "ir")
            for name, val in sdm120_values(self.n, uid).items():
                blk.setValues(SDM120[name], f2regs(val))

    def apply_clamps(self):
        for unit, table, addr, mx in self.clamps:
            blk = self.block(unit, table)
            if blk.validate(addr, 1) and blk.getValues(addr, 1)[0] > mx:
                blk.setValues(addr, [mx])

    def log_request(self, req):
        fc = req.function_code
        ev = {"seq": self.seq, "t": time.monotonic(), "fc": fc,
              "unit": req.unit_id, "muted": req.unit_id in self.muted,
              "address": getattr(req, "address", None),
              "count": getattr(req, "count", None), "values": None}
        if fc in READ_FC:
            ev["kind"] = "read"
        elif fc in WRITE_FC:
            ev["kind"] = "write"
            if fc in (5, 6):
                ev["values"] = [req.value]
                ev["count"] = 1
            elif fc == 22:
                ev["values"] = [req.and_mask, req.or_mask]
            else:
                ev["values"] = list(req.values)
                ev["count"] = len(req.values)
        elif fc == 23:
            ev["kind"] = "readwrite"
            ev.update(address=req.read_address, count=req.read_count,
                      write_address=req.write_address,
                      values=list(req.write_registers))
        else:
            ev["kind"] = "other"
        self.seq += 1
        self.events.append(ev)
        log.info("request %s", ev)

    # -- control commands ----------------------------------------------------
    def command(self, req):
        cmd = req.get("cmd")
        if cmd == "ping":
            return {"units": {str(k): v for k, v in self.units.items()},
                    "n": self.n, "frozen": self.frozen}
        if cmd == "get":
            blk = self.block(int(req["unit"]), req["table"])
            addr, count = int(req.get("address", 0)), int(req.get("count", 1))
            if not blk.validate(addr, count):
                raise ValueError(f"address range {addr}+{count} outside block")
            vals = blk.getValues(addr, count)
            if req["table"] in ("co", "di"):
                vals = [bool(v) for v in vals]
            return {"values": vals}
        if cmd == "set":
            blk = self.block(int(req["unit"]), req["table"])
            addr, vals = int(req.get("address", 0)), list(req["values"])
            if not blk.validate(addr, len(vals)):
                raise ValueError(f"address range {addr}+{len(vals)} outside block")
            if req["table"] in ("co", "di"):
                vals = [bool(v) for v in vals]
            else:
                vals = [int(v) & 0xFFFF for v in vals]
            blk.setValues(addr, vals)
            return {}
        if cmd == "get_float":
            blk = self.block(int(req["unit"]), req["table"])
            addr = int(req["address"])
            if not blk.validate(addr, 2):
                raise ValueError("address outside block")
            return {"value": regs2f(*blk.getValues(addr, 2))}
        if cmd == "set_float":
            blk = self.block(int(req["unit"]), req["table"])
            addr = int(req["address"])
            if not blk.validate(addr, 2):
                raise ValueError("address outside block")
            blk.setValues(addr, f2regs(req["value"]))
            return {}
        if cmd == "freeze":
            self.frozen = True
            return {"n": self.n}
        if cmd == "unfreeze":
            self.frozen = False
            return {"n": self.n}
        if cmd == "tick":
            self.n += int(req.get("n", 1))
            self.apply()
            return {"n": self.n}
        if cmd == "events":
            return {"events": self.events}
        if cmd == "clear_events":
            self.events = []
            return {}
        if cmd == "mute":
            unit = int(req["unit"])
            (self.muted.add if req.get("on", True) else self.muted.discard)(unit)
            return {"muted": sorted(self.muted)}
        if cmd == "clamp":
            self.clamps.append((int(req["unit"]), req.get("table", "hr"),
                                int(req["address"]), int(req["max"])))
            return {}
        if cmd == "delay":
            self.delay = float(req.get("seconds", 0))
            return {}
        if cmd == "drop":
            conns = list(self.server.active_connections.values()) if self.server else []
            for handler in conns:
                handler.transport.close()
            return {"dropped": len(conns)}
        if cmd == "hold":
            self.hold = bool(req.get("on", True))
            if not self.hold:
                held, self.held = self.held, []
                for run in held:
                    run()
                return {"released": len(held)}
            return {}
        raise ValueError(f"unknown cmd {cmd!r}")


STATE = None


class LoggingMixin:
    """Hook on the decoded request: log it, then maybe drop/delay the answer."""

    def execute(self, request, *addr):
        STATE.log_request(request)
        if request.unit_id in STATE.muted:
            return                       # like a device that is off the bus
        execute = super().execute

        def run():
            execute(request, *addr)
            if STATE.clamps and request.function_code in WRITE_FC:
                STATE.apply_clamps()
        if STATE.hold:
            STATE.held.append(run)
        elif STATE.delay > 0:
            asyncio.get_running_loop().call_later(STATE.delay, run)
        else:
            run()


class TcpHandler(LoggingMixin, ModbusConnectedRequestHandler):
    pass


class SerialHandler(LoggingMixin, ModbusSingleRequestHandler):
    pass


async def control_client(reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            if not line.strip():
                continue
            try:
                req = json.loads(line)
                reply = {"ok": True, **STATE.command(req)}
            except Exception as exc:  # report, keep serving
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            writer.write((json.dumps(reply) + "\n").encode())
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def ticker(period):
    while True:
        await asyncio.sleep(period)
        if not STATE.frozen:
            STATE.n += 1
            STATE.apply()


async def main(args):
    global STATE
    units = {}
    for spec in args.unit or ["1:sdm120"]:
        uid, _, prof = spec.partition(":")
        units[int(uid)] = prof or "sdm120"
    STATE = State(units, args.changing)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    ready = False

    def on_signal():
        if ready:
            stop.set()
        else:
            os._exit(1)   # stuck in startup: nothing worth a graceful exit yet
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)

    ctl = await asyncio.start_server(control_client, "127.0.0.1", args.control)
    ctl_port = ctl.sockets[0].getsockname()[1]

    tasks = []
    if args.tcp is not None:
        server = ModbusTcpServer(STATE.context, ModbusSocketFramer,
                                 address=("127.0.0.1", args.tcp),
                                 handler=TcpHandler, allow_reuse_address=True)
        server.decoder.register(ResetEnergyRequest)
        STATE.server = server
        serve = asyncio.create_task(server.serve_forever())
        tasks.append(serve)
        # serve_forever() binds inside the task: a bind error ends the task
        # and `serving` would never resolve, so wait for whichever comes first.
        await asyncio.wait([serve, server.serving],
                           return_when=asyncio.FIRST_COMPLETED)
        if serve.done():
            serve.result()      # re-raise e.g. OSError: address already in use
        where = server.server.sockets[0].getsockname()[1]
    else:
        # The RTU framer must be given explicitly (StartAsyncSerialServer would
        # default to ASCII).  auto_reconnect re-opens the pty if it goes away.
        server = ModbusSerialServer(STATE.context, framer=ModbusRtuFramer,
                                    port=args.rtu, baudrate=args.baud,
                                    handler=SerialHandler, auto_reconnect=True,
                                    reconnect_delay=0.5)
        server.decoder.register(ResetEnergyRequest)
        await server.start()
        if server.transport is None:   # auto_reconnect swallowed the open error
            raise SystemExit(f"cannot open serial port {args.rtu}")
        where = args.rtu
    if args.changing:
        tasks.append(asyncio.create_task(ticker(args.period)))

    ready = True
    print(f"READY modbus={where} control={ctl_port}", flush=True)
    await stop.wait()

    # orderly shutdown
    for t in tasks:
        t.cancel()
    try:
        if args.tcp is not None:
            await server.server_close()
        else:
            server.auto_reconnect = False
            await server.shutdown()
    except Exception as exc:  # shutdown must not turn into a non-zero exit
        log.warning("shutdown: %r", exc)
    ctl.close()
    await ctl.wait_closed()
    print("STOPPED", flush=True)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--tcp", type=int, metavar="PORT", help="Modbus TCP on 127.0.0.1")
    where.add_argument("--rtu", metavar="PATH", help="Modbus RTU on serial/pty PATH")
    ap.add_argument("--baud", type=int, default=9600)
    ap.add_argument("--unit", action="append", metavar="ID:PROFILE",
                    help="sdm120 | relay8 | holding (repeatable)")
    ap.add_argument("--control", type=int, default=0, metavar="PORT")
    ap.add_argument("--changing", action="store_true")
    ap.add_argument("--period", type=float, default=0.5)
    ap.add_argument("--verbose", action="store_true")
    return ap.parse_args(argv)


if __name__ == "__main__":
    a = parse_args()
    logging.basicConfig(stream=sys.stderr,
                        level=logging.DEBUG if a.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not a.verbose:
        # pymodbus logs every handler cancel at ERROR level; not an error for us.
        logging.getLogger("pymodbus.server.async_io").setLevel(logging.CRITICAL)
        # ...and every exception response (e.g. illegal address) at ERROR too.
        logging.getLogger("pymodbus.pdu").setLevel(logging.CRITICAL)
    asyncio.run(main(a))
    sys.exit(0)
