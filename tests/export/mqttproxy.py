# SPDX-License-Identifier: Apache-2.0
"""A TCP proxy between an MQTT client and the broker that understands just
enough MQTT 3.1.1 framing to count QoS 1 PUBLISHes the client has in
flight: PUBACKs from the broker are held for `puback_delay` seconds, so a
burst fills the client's window and `max_outstanding` shows its size.

With `hold=True` it passes the client's CONNECT, then reads nothing more
from the client until release(): a broker that stopped reading, so the
client's socket fills (its receive buffer is kept small for that)."""

import socket
import threading
import time


def _packets(buf):
    """Splits complete MQTT packets off the front of buf: (packets, rest)."""
    out = []
    while len(buf) >= 2:
        mult, length, i = 1, 0, 1
        while True:
            if i >= len(buf):
                return out, buf
            b = buf[i]
            length += (b & 0x7F) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                break
        if len(buf) < i + length:
            return out, buf
        out.append((buf[0], buf[i:i + length], buf[:i + length]))
        buf = buf[i + length:]
    return out, buf


class MqttProxy:
    def __init__(self, upstream_port, puback_delay=0.3, host="127.0.0.1", hold=False):
        self.upstream = (host, upstream_port)
        self.delay = puback_delay
        self.released = threading.Event()
        if not hold:
            self.released.set()
        self.bytes_from_client = 0
        self.lock = threading.Lock()
        self.outstanding = set()
        self.max_outstanding = 0
        self.qos1_published = 0
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hold:
            # Before listen(): accepted sockets inherit it, window included.
            self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.srv.bind((host, 0))
        self.srv.listen(4)
        self.port = self.srv.getsockname()[1]
        self.closed = False
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            u = socket.create_connection(self.upstream)
            self.socks += [c, u]
            threading.Thread(target=self._up, args=(c, u), daemon=True).start()
            threading.Thread(target=self._down, args=(u, c), daemon=True).start()

    def _up(self, c, u):
        """client -> broker: note QoS 1 PUBLISH packet ids."""
        buf = b""
        while True:
            try:
                data = c.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            with self.lock:
                self.bytes_from_client += len(data)
            pkts, buf = _packets(buf + data)
            saw_connect = False
            for first, body, raw in pkts:
                saw_connect |= first >> 4 == 1
                if first >> 4 == 3 and (first >> 1) & 3 == 1:
                    tlen = int.from_bytes(body[0:2], "big")
                    pid = int.from_bytes(body[2 + tlen:4 + tlen], "big")
                    with self.lock:
                        self.qos1_published += 1
                        self.outstanding.add(pid)
                        self.max_outstanding = max(self.max_outstanding, len(self.outstanding))
                try:
                    u.sendall(raw)
                except OSError:
                    return
            if saw_connect:
                self.released.wait()
        self._shut(c, u)

    def release(self):
        """Read from the client again (hold=True)."""
        self.released.set()

    def _down(self, u, c):
        """broker -> client: PUBACKs are delayed; everything stays in order."""
        buf = b""
        while True:
            try:
                data = u.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            pkts, buf = _packets(buf + data)
            for first, body, raw in pkts:
                if first >> 4 == 4:
                    time.sleep(self.delay)
                    with self.lock:
                        self.outstanding.discard(int.from_bytes(body[0:2], "big"))
                try:
                    c.sendall(raw)
                except OSError:
                    return
        self._shut(c, u)

    @staticmethod
    def _shut(*socks):
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.closed = True
        self.released.set()
        self.srv.close()
        self._shut(*self.socks)
        for s in self.socks:
            s.close()
