# SPDX-License-Identifier: Apache-2.0
"""broker -- a real mosquitto for tests (Broker), its test PKI (Certs) and
the MQTT side of Home Assistant through mosquitto_sub / mosquitto_pub
(Subscriber, publish, retained_snapshot).  Tests import these through
fbtest."""

import json
import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field

from procs import read_text, free_port, port_open, wait_for


# What Broker, Subscriber and publish() run.
MQTT_TOOLS = ("mosquitto", "mosquitto_sub", "mosquitto_pub")


def topic_matches(filt, topic):
    """MQTT topic-filter match ('+' = one level, '#' = rest, incl. parent).
    Like brokers do, wildcards at the first level do not match '$' topics."""
    if filt == topic:
        return True
    fparts, tparts = filt.split("/"), topic.split("/")
    if topic.startswith("$") and fparts[0] in ("+", "#"):
        return False
    for i, f in enumerate(fparts):
        if f == "#":
            return True          # '#' also matches the parent level ("a/#" ~ "a")
        if i >= len(tparts):
            return False
        if f != "+" and f != tparts[i]:
            return False
    return len(fparts) == len(tparts)


# --------------------------------------------------------------------------
# certificates
# --------------------------------------------------------------------------

class Certs:
    """Test PKI generated with the openssl CLI into `dir` (idempotent: existing
    files are reused, so one Certs per test module/class is cheap).

    Attributes (paths):
      ca, ca_key                       test CA ("fieldbridge test CA")
      server_cert, server_key          CN/SAN localhost + IP 127.0.0.1, by CA
      wrong_cert, wrong_key            CN/SAN wrong.example only, by CA
      self_signed_cert, self_signed_key  localhost/127.0.0.1, self-signed
      expired_cert, expired_key        localhost/127.0.0.1 by CA, 2020..2021
      client_cert, client_key          CN=fieldbridge, clientAuth, by CA
      client_key_encrypted             same key, PKCS#8 AES-256, password below
      client_key_encrypted_legacy      same key, traditional PEM AES-256-CBC
      client_key_password              "fieldbridge-test"
      other_ca, other_ca_key           an unrelated CA
      untrusted_client_cert/_key       client cert signed by other_ca
    server_pair(kind) -> (cert, key) for kind in server|wrong_name|self_signed|expired
    """

    PASSWORD = "fieldbridge-test"

    def __init__(self, dir):
        self.dir = os.path.abspath(dir)
        os.makedirs(self.dir, exist_ok=True)
        p = lambda n: os.path.join(self.dir, n)  # noqa: E731
        self.ca, self.ca_key = p("ca.crt"), p("ca.key")
        self.server_cert, self.server_key = p("server.crt"), p("server.key")
        self.wrong_cert, self.wrong_key = p("wrong.crt"), p("wrong.key")
        self.self_signed_cert, self.self_signed_key = p("selfsigned.crt"), p("selfsigned.key")
        self.expired_cert, self.expired_key = p("expired.crt"), p("expired.key")
        self.client_cert, self.client_key = p("client.crt"), p("client.key")
        self.client_key_encrypted = p("client.enc.key")
        self.client_key_encrypted_legacy = p("client.enc-legacy.key")
        self.client_key_password = self.PASSWORD
        self.other_ca, self.other_ca_key = p("other-ca.crt"), p("other-ca.key")
        self.untrusted_client_cert = p("untrusted-client.crt")
        self.untrusted_client_key = p("untrusted-client.key")
        self._lock_path = p(".done")
        if not os.path.exists(self._lock_path):
            self._generate()
            with open(self._lock_path, "w") as f:
                f.write("ok\n")

    def server_pair(self, kind="server"):
        return {
            "server": (self.server_cert, self.server_key),
            "wrong_name": (self.wrong_cert, self.wrong_key),
            "self_signed": (self.self_signed_cert, self.self_signed_key),
            "expired": (self.expired_cert, self.expired_key),
        }[kind]

    # -- generation --------------------------------------------------------
    def _ssl(self, *args):
        r = subprocess.run(["openssl", *args], cwd=self.dir, capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(args)} failed:\n{r.stderr}")
        return r.stdout

    def _ext(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def _ca(self, crt, key, cn):
        self._ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                  "-out", crt, "-days", "3650", "-subj", f"/CN={cn}",
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                  "-addext", "subjectKeyIdentifier=hash")

    def _leaf(self, crt, key, cn, san, usage, ca=None, ca_key=None):
        """Key + cert for cn with SAN list; CA-signed, or self-signed if ca is None."""
        ext = (f"basicConstraints=critical,CA:FALSE\n"
               f"keyUsage=critical,digitalSignature,keyEncipherment\n"
               f"extendedKeyUsage={usage}\n"
               f"subjectKeyIdentifier=hash\n"
               + (f"subjectAltName={san}\n" if san else ""))
        extfile = self._ext(os.path.basename(crt) + ".ext", ext)
        csr = crt + ".csr"
        self._ssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                  "-out", csr, "-subj", f"/CN={cn}")
        if ca is None:
            self._ssl("x509", "-req", "-in", csr, "-signkey", key, "-out", crt,
                      "-days", "3650", "-extfile", extfile, "-set_serial", _serial())
        else:
            self._ssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                      "-out", crt, "-days", "3650", "-extfile", extfile,
                      "-set_serial", _serial())

    def _expired(self):
        # openssl 3.0's x509 has no -not_after; `openssl ca` takes explicit
        # -startdate/-enddate, so the validity window can lie in the past.
        d = os.path.join(self.dir, "ca-db")
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write(_serial()[2:] + "\n")
        conf = self._ext("ca-expired.cnf", f"""
[ ca ]
default_ca = tca
[ tca ]
dir = {d}
database = {d}/index.txt
new_certs_dir = {d}
serial = {d}/serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
x509_extensions = leaf
[ anything ]
commonName = supplied
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
""")
        csr = self.expired_cert + ".csr"
        self._ssl("req", "-new", "-newkey", "rsa:2048", "-nodes",
                  "-keyout", self.expired_key, "-out", csr, "-subj", "/CN=localhost")
        self._ssl("ca", "-batch", "-config", conf, "-cert", self.ca, "-keyfile",
                  self.ca_key, "-in", csr, "-out", self.expired_cert, "-notext",
                  "-startdate", "20200101000000Z", "-enddate", "20210101000000Z")

    def _generate(self):
        self._ca(self.ca, self.ca_key, "fieldbridge test CA")
        srv_san = "DNS:localhost,IP:127.0.0.1"
        self._leaf(self.server_cert, self.server_key, "localhost", srv_san,
                   "serverAuth", self.ca, self.ca_key)
        self._leaf(self.wrong_cert, self.wrong_key, "wrong.example",
                   "DNS:wrong.example", "serverAuth", self.ca, self.ca_key)
        self._leaf(self.self_signed_cert, self.self_signed_key, "localhost",
                   srv_san, "serverAuth")
        self._expired()
        self._leaf(self.client_cert, self.client_key, "fieldbridge", None,
                   "clientAuth", self.ca, self.ca_key)
        self._ssl("pkey", "-in", self.client_key, "-aes256", "-passout",
                  f"pass:{self.PASSWORD}", "-out", self.client_key_encrypted)
        self._ssl("rsa", "-in", self.client_key, "-aes256", "-traditional",
                  "-passout", f"pass:{self.PASSWORD}",
                  "-out", self.client_key_encrypted_legacy)
        self._ca(self.other_ca, self.other_ca_key, "untrusted other CA")
        self._leaf(self.untrusted_client_cert, self.untrusted_client_key,
                   "fieldbridge", None, "clientAuth", self.other_ca, self.other_ca_key)
        for n in os.listdir(self.dir):
            path = os.path.join(self.dir, n)
            if os.path.isfile(path):
                os.chmod(path, 0o644)   # test keys: readable by anyone is fine


def _serial():
    return "0x" + os.urandom(8).hex()


# --------------------------------------------------------------------------
# mosquitto broker
# --------------------------------------------------------------------------

class Broker:
    """A mosquitto on 127.0.0.1 with free ports.

    Always: plain listener .port.  tls=<kind> adds .tls_port serving the
    Certs server pair <kind> ('server', 'wrong_name', 'self_signed',
    'expired'); require_certificate=True makes that listener demand a client
    cert signed by certs.ca.  websockets=True adds a plain websockets listener
    .ws_port; ws_tls=True adds a TLS websockets listener .wss_port (cert of
    `tls` kind, default 'server'); ws_require_certificate=True makes that
    listener demand a client cert signed by certs.ca.  users={'name': 'pw'} writes a password
    file (mosquitto_passwd); allow_anonymous applies to all listeners.
    extra_conf is appended verbatim (global options belong before listeners:
    use extra_global_conf for those).
    """

    def __init__(self, procs, tmpdir=None, *, tls=None, require_certificate=False,
                 websockets=False, ws_tls=False, ws_require_certificate=False, users=None, allow_anonymous=True,
                 certs=None, extra_conf="", extra_global_conf="", name="mosquitto",
                 start=True):
        self.procs = procs
        self.name = name
        self.dir = os.path.join(tmpdir or procs.tmpdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.tls = tls
        self.require_certificate = require_certificate
        self.websockets = websockets
        self.ws_tls = ws_tls
        self.ws_require_certificate = ws_require_certificate
        self.users = dict(users or {})
        self.allow_anonymous = allow_anonymous
        self.extra_conf = extra_conf
        self.extra_global_conf = extra_global_conf
        if certs is None and (tls or ws_tls):
            certs = Certs(os.path.join(self.dir, "certs"))
        self.certs = certs
        self.conf_path = os.path.join(self.dir, "mosquitto.conf")
        self.log_path = os.path.join(self.dir, "mosquitto.log")
        self.passwd_path = os.path.join(self.dir, "passwd") if self.users else None
        self.proc = None
        self.port = self.tls_port = self.ws_port = self.wss_port = None
        if self.passwd_path:
            self._write_passwd()
        if start:
            self.start()

    host = "127.0.0.1"

    @property
    def cafile(self):
        return self.certs.ca if self.certs else None

    def _write_passwd(self):
        first = True
        for user, pw in self.users.items():
            args = ["mosquitto_passwd", "-b"] + (["-c"] if first else []) + \
                   [self.passwd_path, user, pw]
            self.procs.run(args)
            first = False

    def _pick_ports(self):
        # Distinct: free_port() closes its socket, so two calls can return
        # the same port (seen in CI: ws and wss listeners on one port).
        taken = set()

        def pick(wanted):
            if not wanted:
                return None
            while True:
                p = free_port()
                if p not in taken:
                    taken.add(p)
                    return p
        self.port = pick(True)
        self.tls_port = pick(self.tls)
        self.ws_port = pick(self.websockets)
        self.wss_port = pick(self.ws_tls)

    def _conf_text(self):
        g = [
            f"# generated by fbtest for {self.name}",
            "user root",                 # so it can read any key file we made
            "persistence false",
            f"log_dest file {self.log_path}",   # file logs are flushed; stdout is not
            "log_type all",
            "log_timestamp true",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            "connection_messages true",
            f"allow_anonymous {'true' if self.allow_anonymous else 'false'}",
        ]
        if self.passwd_path:
            g.append(f"password_file {self.passwd_path}")
        if self.extra_global_conf:
            g.append(self.extra_global_conf)
        # Plain listener always present (Debian's 2.0.11 needs it for websockets).
        g += ["", f"listener {self.port} 127.0.0.1", "socket_domain ipv4"]
        if self.tls:
            cert, key = self.certs.server_pair(self.tls)
            g += ["", f"listener {self.tls_port} 127.0.0.1", "socket_domain ipv4",
                  f"cafile {self.certs.ca}", f"certfile {cert}", f"keyfile {key}",
                  f"require_certificate {'true' if self.require_certificate else 'false'}"]
        if self.websockets:
            g += ["", f"listener {self.ws_port} 127.0.0.1", "socket_domain ipv4",
                  "protocol websockets"]
        if self.ws_tls:
            cert, key = self.certs.server_pair(self.tls or "server")
            g += ["", f"listener {self.wss_port} 127.0.0.1", "socket_domain ipv4",
                  "protocol websockets", f"cafile {self.certs.ca}",
                  f"certfile {cert}", f"keyfile {key}"]
            if self.ws_require_certificate:
                g += ["require_certificate true"]
        if self.extra_conf:
            g += ["", self.extra_conf]
        return "\n".join(g) + "\n"

    def ports(self):
        return [p for p in (self.port, self.tls_port, self.ws_port, self.wss_port) if p]

    def start(self, timeout=10.0):
        """Start (first time: on fresh free ports, retried if a port got taken)."""
        first = self.port is None
        for attempt in range(5 if first else 1):
            if first:
                self._pick_ports()
            with open(self.conf_path, "w") as f:
                f.write(self._conf_text())
            log_mark = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
            self.proc = self.procs.start(self.name, ["mosquitto", "-c", self.conf_path])
            if self._wait_ready(timeout):
                return self
            log = self.log_text()[log_mark:]
            self.proc.stop(grace=1)
            # libwebsockets says only that it could not listen
            if first and ("Address already in use" in log or
                          "Unable to create websockets listener" in log):
                continue
            self.procs.fail()
            raise RuntimeError(f"mosquitto did not become ready:\n{log[-3000:]}")
        raise RuntimeError("mosquitto: could not find free ports")

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        for port in self.ports():
            while not port_open(port):
                if not self.proc.alive() or time.monotonic() > deadline:
                    return False
                time.sleep(0.03)
        # A real MQTT round trip: $SYS/broker/version is retained from startup,
        # so one subscribe proves CONNECT/SUBSCRIBE work (if we can log in).
        creds = self._any_creds()
        if creds is None:
            return True
        while time.monotonic() < deadline:
            r = subprocess.run(["mosquitto_sub", "-h", self.host, "-p", str(self.port),
                                "-t", "$SYS/broker/version", "-C", "1", "-W", "2",
                                *creds], capture_output=True, timeout=10)
            if r.returncode == 0:
                return True
            if not self.proc.alive():
                return False
            time.sleep(0.1)
        return False

    def _any_creds(self):
        if self.allow_anonymous:
            return []
        for u, pw in self.users.items():
            return ["-u", u, "-P", pw]
        return None

    def stop(self, grace=5.0):
        """Graceful stop (SIGTERM); ports are kept for restart()."""
        if self.proc:
            self.proc.stop(grace)

    def kill(self):
        """SIGKILL (no clean disconnects, no will suppression)."""
        if self.proc:
            self.proc.kill()

    def restart(self, downtime=0.0, kill=False):
        """Stop (or kill) and start again on the same ports; waits for readiness."""
        self.kill() if kill else self.stop()
        if downtime:
            time.sleep(downtime)
        return self.start()

    def alive(self):
        return bool(self.proc and self.proc.alive())

    def log_text(self):
        """Everything mosquitto logged (all incarnations, log file)."""
        return read_text(self.log_path)

    def wait_log(self, pattern, timeout=5.0):
        """Wait until regex pattern appears in the broker log; return the match."""
        rx = re.compile(pattern)
        found = []

        def check():
            m = rx.search(self.log_text())
            if m:
                found.append(m)
            return bool(m)
        return found[0] if wait_for(check, timeout, 0.05) else None

    def url(self, scheme="mqtt"):
        port = {"mqtt": self.port, "mqtts": self.tls_port, "ws": self.ws_port,
                "wss": self.wss_port}[scheme]
        return f"{scheme}://127.0.0.1:{port}"


def client_args(broker, *, tls=False, port=None, cafile=None, cert=None, key=None,
                insecure=False, os_certs=False, username=None, password=None,
                client_id=None, host=None, version=None, extra=()):
    """Connection arguments for mosquitto_sub/_pub.

    tls=True targets broker.tls_port with --cafile broker.certs.ca unless
    cafile is given; cafile=False (or os_certs=True) means "without our CA":
    --tls-use-os-certs is passed so TLS is still attempted and must fail."""
    args = ["-h", host or broker.host]
    if tls:
        args += ["-p", str(port or broker.tls_port)]
        if os_certs or cafile is False:
            args += ["--tls-use-os-certs"]
        else:
            args += ["--cafile", cafile or broker.cafile]
        if cert:
            args += ["--cert", cert]
        if key:
            args += ["--key", key]
        if insecure:
            args += ["--insecure"]
    else:
        args += ["-p", str(port or broker.port)]
    if username is not None:
        args += ["-u", username]
    if password is not None:
        args += ["-P", password]
    if client_id:
        args += ["-i", client_id]
    if version:
        args += ["-V", version]
    return args + list(extra)


# --------------------------------------------------------------------------
# MQTT clients (real mosquitto_sub / mosquitto_pub)
# --------------------------------------------------------------------------

@dataclass
class Message:
    topic: str
    payload: str            # utf-8 decoded (errors replaced)
    retained: bool
    qos: int
    t: float                # time.monotonic() when the line was read
    raw: bytes = field(default=b"", repr=False)

    def json(self):
        return json.loads(self.payload)


# mosquitto_sub output line: hex payload keeps arbitrary bytes on one line,
# topic goes last because it may contain spaces.
_SUB_FORMAT = "FBMSG %r %q %l %x %t"


class Subscriber:
    """mosquitto_sub -d -F ... on `topics`, collected by a reader thread.

    Construction returns once the SUBACK has arrived (mosquitto_sub -d prints
    "Subscribed (mid..."), so anything published afterwards is seen.
    Connection kwargs are those of client_args() (tls=True, cafile, cert, key,
    username, password, ...).  qos = subscription QoS.
    raise_on_fail=False lets a test assert that the connection is refused:
    check .wait_subscribed() / .connected / .error_text().
    """

    def __init__(self, broker, topics=("#",), *, qos=0, name="mosquitto_sub",
                 timeout=10.0, raise_on_fail=True, extra=(), **conn):
        self.broker = broker
        self.topics = [topics] if isinstance(topics, str) else list(topics)
        self.msgs = []
        self.cond = threading.Condition()
        self.subscribed = False
        self.connected = False
        self._eof = False
        self.subscribed_at = None
        self.subscribe_count = 0     # > 1 after reconnects (broker restarts)
        self.debug_lines = []
        # stdbuf: mosquitto_sub fflush()es message lines but not its -d debug
        # lines, which we need (SUBACK) -- force line buffering on the pipe.
        args = ["stdbuf", "-oL", "mosquitto_sub", "-d", "-F", _SUB_FORMAT,
                "-q", str(qos)]
        args += client_args(broker, **conn)
        for t in self.topics:
            args += ["-t", t]
        args += list(extra)
        self.proc = broker.procs.start(name, args, stdout=subprocess.PIPE)
        self._log = open(self.proc.out_path, "w")
        self._thread = threading.Thread(target=self._reader, daemon=True,
                                        name=f"fbtest-{name}")
        self._thread.start()
        broker.procs.add_cleanup(self.stop)
        if not self.wait_subscribed(timeout) and raise_on_fail:
            self.stop()
            raise RuntimeError("mosquitto_sub did not subscribe:\n"
                               + self.error_text() + "\n".join(self.debug_lines[-20:]))

    def _reader(self):
        f = self.proc.popen.stdout
        for raw in iter(f.readline, b""):
            now = time.monotonic()
            line = raw.decode("utf-8", "replace").rstrip("\n")
            try:
                self._log.write(line + "\n")
                self._log.flush()
            except ValueError:
                pass
            if line.startswith("FBMSG "):
                parts = line.split(" ", 5)
                try:
                    data = bytes.fromhex(parts[4]) if len(parts) == 6 else None
                except ValueError:
                    data = None  # mosquitto_sub cuts a huge payload's hex short
                if data is not None:
                    m = Message(parts[5], data.decode("utf-8", "replace"),
                                parts[1] == "1", int(parts[2]), now, data)
                    with self.cond:
                        self.msgs.append(m)
                        self.cond.notify_all()
                continue
            with self.cond:
                self.debug_lines.append(line)
                if "received CONNACK (0)" in line:
                    self.connected = True
                if line.startswith("Subscribed (mid"):
                    self.subscribed = True
                    self.subscribed_at = now
                    self.subscribe_count += 1
                self.cond.notify_all()
        with self.cond:
            self._eof = True
            self.cond.notify_all()

    def wait_subscribed(self, timeout=10.0, count=1):
        """Wait for the count-th SUBACK.  mosquitto_sub reconnects and
        resubscribes by itself after a broker restart (~1 s later), so
        wait_subscribed(count=2) waits for the first re-subscription."""
        with self.cond:
            self.cond.wait_for(lambda: self.subscribe_count >= count or self._eof,
                               timeout)
            return self.subscribe_count >= count

    def error_text(self):
        return self.proc.stderr_text()

    def alive(self):
        return self.proc.alive()

    # -- queries -----------------------------------------------------------
    @staticmethod
    def _matcher(match):
        if match is None:
            return lambda m: True
        if callable(match):
            return match
        return lambda m: topic_matches(match, m.topic)

    def messages(self, match=None, since=None):
        """Messages (oldest first) whose topic matches filter `match` (or
        predicate(msg) is true), received at/after monotonic time `since`."""
        pred = self._matcher(match)
        with self.cond:
            return [m for m in self.msgs
                    if (since is None or m.t >= since) and pred(m)]

    def latest(self, match=None):
        """Newest matching message or None."""
        got = self.messages(match)
        return got[-1] if got else None

    def topics_seen(self, match=None):
        return sorted({m.topic for m in self.messages(match)})

    def wait_message(self, match=None, timeout=5.0, since=None):
        """First matching message (already received ones count unless `since`
        excludes them); None on timeout."""
        got = self.wait_messages(match, 1, timeout, since)
        return got[0] if got else None

    def wait_messages(self, match=None, count=1, timeout=5.0, since=None):
        """The first `count` matching messages, or None on timeout."""
        pred = self._matcher(match)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                got = [m for m in self.msgs
                       if (since is None or m.t >= since) and pred(m)]
                if len(got) >= count:
                    return got[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.2))

    def wait_quiet(self, quiet=0.3, timeout=5.0):
        """Wait until no message arrived for `quiet` s (counting from the
        SUBACK at the earliest); returns bool."""
        def calm():
            with self.cond:
                last = max(self.msgs[-1].t if self.msgs else 0.0,
                           self.subscribed_at or time.monotonic())
            return time.monotonic() - last >= quiet
        return wait_for(calm, timeout, 0.02)

    def clear(self):
        with self.cond:
            self.msgs.clear()

    def stop(self):
        self.proc.stop(grace=2)
        self._thread.join(3)
        try:
            self.proc.popen.stdout.close()
            self._log.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def publish(broker, topic, payload="", qos=0, retain=False, *, null=False,
            check=True, timeout=10, extra=(), **conn):
    """One mosquitto_pub.  payload str/bytes (bytes go via stdin -s).
    null=True (or payload None) sends a zero-length message (-n); with
    retain=True that clears the retained message.  Returns CompletedProcess;
    raises on non-zero exit unless check=False."""
    args = ["mosquitto_pub", "-q", str(qos), "-t", topic] + client_args(broker, **conn)
    if retain:
        args.append("-r")
    inp = None
    if null or payload is None:
        args.append("-n")
    elif isinstance(payload, bytes):
        args.append("-s")
        inp = payload
    else:
        args += ["-m", payload]
    args += list(extra)
    r = subprocess.run(args, input=inp, capture_output=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"mosquitto_pub failed rc={r.returncode}: "
                           f"{r.stderr.decode(errors='replace')}")
    return r


def clear_retained(broker, topic, **conn):
    """Remove the retained message on `topic` (mosquitto_pub -r -n)."""
    return publish(broker, topic, None, retain=True, **conn)


def retained_snapshot(broker, filt="#", timeout=1.0, quiet=0.25, **conn):
    """dict topic -> payload of retained messages under filter `filt`.

    Retained messages follow the SUBACK immediately, so we stop after `quiet`
    s without new messages (or `timeout`), instead of mosquitto_sub -W's
    whole-second granularity."""
    sub = Subscriber(broker, [filt], name="mosquitto_sub-snapshot", **conn)
    try:
        sub.wait_quiet(quiet, timeout)
        return {m.topic: m.payload for m in sub.messages() if m.retained}
    finally:
        sub.stop()
