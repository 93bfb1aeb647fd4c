#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""modbus_gate.py -- a serial line with a framing, between a scanner and
pymodbus slaves on socat pty pairs (tests of the bus scan).

    /usr/bin/python3 modbus_gate.py --front PATH --back A1 [--back A2] \
        --framing 19200:E:1 --log FILE

A pty has no baud rate or parity: whatever one side writes the other reads.
The gate makes one that behaves like a real line: it creates the pty whose
slave end is linked at --front (the scanner opens it), keeps that end open
itself so it can read the termios the scanner set, and forwards a request
to the slaves (the --back paths: the A ends of socat pairs whose B ends a
pymodbus slave serves) only if the scanner's baud, parity and stop bits
equal --framing (see framing_of for what a pty keeps of them).  A device at another framing would see garbage and stay
silent, so a request at a wrong framing is dropped.

With two --back slaves both get every request; replies that arrive within
20 ms of each other collide as on RS-485 (byte-wise AND of the frames, so
their CRC fails) -- two devices with one unit id.

Every request frame is logged as one JSON line to --log (the sniffer):
{"t", "hex", "unit", "fc", "forwarded"}.  Prints READY once serving.
"""

import argparse
import json
import os
import select
import signal
import sys
import termios
import time
import tty

SILENCE = 0.003     # end of a frame on the pty
COLLIDE = 0.020     # replies this close together collide

BAUDS = {getattr(termios, f"B{b}"): b for b in
         (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)}


def framing_of(fd):
    """(baud, parity, stop bits) the scanner set.  Linux's pty clears PARENB
    (it has no parity), but keeps PARODD and CSTOPB, so the framings a scan
    uses stay apart: 2 stop bits = N (sent as 8N2), PARODD = O, else E.  An
    8N1 opener therefore reads as E."""
    attrs = termios.tcgetattr(fd)
    cflag, ospeed = attrs[2], attrs[5]
    if cflag & termios.CSTOPB:
        return BAUDS.get(ospeed, 0), "N", 2
    return BAUDS.get(ospeed, 0), "O" if cflag & termios.PARODD else "E", 1


def split_requests(data):
    """Request frames in data by their function code's length (reads and
    single writes 8 bytes, FC15/16 by their byte count); the rest as is."""
    out = []
    while data:
        fc = data[1] if len(data) > 1 else 0
        n = len(data)
        if 1 <= fc <= 6:
            n = 8
        elif fc in (15, 16) and len(data) > 6:
            n = 9 + data[6]
        out.append(data[:n])
        data = data[n:]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--front", required=True)
    ap.add_argument("--back", action="append", required=True)
    ap.add_argument("--framing", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    b, p, s = a.framing.split(":")
    want = (int(b), p, int(s))

    master, slave = os.openpty()
    tty.setraw(slave)
    if os.path.lexists(a.front):
        os.unlink(a.front)
    os.symlink(os.ttyname(slave), a.front)
    backs = []
    for path in a.back:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd)
        backs.append(fd)
    log = open(a.log, "a", buffering=1)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    print("READY", flush=True)

    req, req_t = b"", 0.0
    rsp = {fd: b"" for fd in backs}
    rsp_t = {fd: 0.0 for fd in backs}
    done = []            # (time completed, frame) replies waiting to go out
    while not stop:
        now = time.monotonic()
        timeout = 0.05
        if req or any(rsp.values()):
            timeout = SILENCE
        if done:
            timeout = min(timeout, max(0.0, done[0][0] + COLLIDE - now))
        try:
            r, _, _ = select.select([master] + backs, [], [], timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd in r:
            try:
                data = os.read(fd, 512)
            except OSError:
                data = b""
            if fd == master:
                req, req_t = req + data, now
            else:
                rsp[fd], rsp_t[fd] = rsp[fd] + data, now
        if req and now - req_t >= SILENCE:
            fr = framing_of(slave)
            ok = fr == want
            # A stalled gate (a busy test machine) reads several requests
            # at once; a line would have carried them one by one.
            for frame in split_requests(req):
                log.write(json.dumps({"t": now, "hex": frame.hex(), "unit": frame[0],
                                      "fc": frame[1] if len(frame) > 1 else None,
                                      "framing": list(fr), "forwarded": ok}) + "\n")
                if ok:
                    for fd in backs:
                        os.write(fd, frame)
                    time.sleep(SILENCE)
            req = b""
        for fd in backs:
            if rsp[fd] and now - rsp_t[fd] >= SILENCE:
                done.append((now, rsp[fd]))
                rsp[fd] = b""
        if done and (len(backs) == 1 or len(done) == len(backs)
                     or now - done[0][0] >= COLLIDE):
            frames = [f for _, f in done]
            out = frames[0]
            for f in frames[1:]:
                n = max(len(out), len(f))
                out = bytes((out[i] if i < len(out) else 0xFF) &
                            (f[i] if i < len(f) else 0xFF) for i in range(n))
            os.write(master, out)
            done = []
    os.unlink(a.front)


if __name__ == "__main__":
    main()
    sys.exit(0)
