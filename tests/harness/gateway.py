# SPDX-License-Identifier: Apache-2.0
"""gateway -- runs the real fieldbridge daemons for integration tests.

    gw = gateway.Gateway(self.procs, self.tmp, broker, buses=[gateway.tcp_bus(slave.port, [...])])
    gw.start_driver("meters"); gw.start_exporter("ha")

Writes a fieldbridge.json into the test's temp dir (a unique gateway id, and
the state tables in <tmp>/gateway/run), points definition_dirs at
the source tree's devices/ (plus any extra dir), and starts
fieldbridge-modbus / fieldbridge-export from FB_BUILD_DIR under fbtest.Procs,
so they are always stopped.
"""

import json
import os
import subprocess

import fbtest

BUILD = os.environ.get("FB_BUILD_DIR", os.path.join(fbtest.HERE, "..", "..", "build"))
SOURCE = os.environ.get("FB_SOURCE_DIR", os.path.join(fbtest.HERE, "..", ".."))
MODBUS = os.path.join(BUILD, "src", "drivers", "modbus", "fieldbridge-modbus")
EXPORT = os.path.join(BUILD, "src", "export", "ha", "fieldbridge-export")
DEVICES = os.path.join(SOURCE, "devices")


def tcp_bus(port, devices, name="meters", poll_interval_ms=500, **extra):
    bus = {"name": name, "transport": "tcp", "host": "127.0.0.1", "port": port,
           "poll_interval_ms": poll_interval_ms, "response_timeout_ms": 300,
           "devices": devices}
    bus.update(extra)
    return bus


def device(id, definition, unit_id, **extra):
    d = {"id": id, "definition": definition, "unit_id": unit_id}
    d.update(extra)
    return d


class Gateway:
    def __init__(self, procs, tmp, broker=None, *, buses=(), connections=None,
                 definition_dirs=(), conn_extra=None, users=None):
        self.procs = procs
        self.dir = os.path.join(tmp, "gateway")
        os.makedirs(self.dir, exist_ok=True)
        self.id = "t%d_%s" % (os.getpid(), os.urandom(3).hex())
        self.config_path = os.path.join(self.dir, "fieldbridge.json")
        # the state tables live here (the daemons create it 0750)
        self.runtime_dir = os.path.join(self.dir, "run")
        if connections is None:
            connections = []
            if broker is not None:
                c = {"name": "ha", "user": "homeassistant", "broker": "127.0.0.1",
                     "port": broker.port}
                c.update(conn_extra or {})
                connections.append(c)
        self.config = {
            "gateway": {"id": self.id, "name": "Test gateway",
                        "state_dir": os.path.join(self.dir, "state"),
                        "runtime_dir": self.runtime_dir,
                        "definition_dirs": list(definition_dirs) + [DEVICES]},
            "buses": list(buses),
            "connections": connections,
        }
        # users: {"name": {"rights": {...}, "password": "pw"}} -> users.json
        # (a "password" is hashed with openssl passwd -6); None = no file.
        self.users_path = os.path.join(self.dir, "users.json")
        if users is not None:
            self.config["gateway"]["users_file"] = self.users_path
            self.write_users(users)
        self.write()
        self.drivers = {}
        self.exporters = {}

    def write(self):
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)

    def write_users(self, users):
        """(Re)writes the users file, mode 0600 (it holds password hashes)."""
        doc = {"users": []}
        for name, u in users.items():
            entry = {"name": name, "rights": dict(u.get("rights", {}))}
            if u.get("password"):
                entry["password_hash"] = subprocess.run(
                    ["openssl", "passwd", "-6", "-stdin"], input=u["password"],
                    capture_output=True, text=True, check=True).stdout.strip()
            doc["users"].append(entry)
        tmp = self.users_path + ".tmp"
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            json.dump(doc, f, indent=2)
        os.replace(tmp, self.users_path)

    def table_path(self, bus="meters"):
        return os.path.join(self.runtime_dir, f"{self.id}.{bus}")

    def node_id(self, conn="ha"):
        for c in self.config["connections"]:
            if c["name"] == conn:
                return c.get("node_id", f"{self.id}_{conn}")
        raise KeyError(conn)

    def base(self, conn="ha"):
        return f"fieldbridge/{self.node_id(conn)}"

    def start_driver(self, bus="meters", verbose=True):
        argv = [MODBUS, "-c", self.config_path, "--bus", bus] + (["-v"] if verbose else [])
        self.drivers[bus] = self.procs.start(f"driver-{bus}", argv)
        return self.drivers[bus]

    def start_exporter(self, conn="ha", verbose=True, debug=False):
        argv = [EXPORT, "-c", self.config_path, "--connection", conn] + (["-v"] if verbose else [])
        if debug:
            argv.append("-v")
        self.exporters[conn] = self.procs.start(f"export-{conn}", argv)
        return self.exporters[conn]

    def check(self, binary="modbus", *args):
        exe = MODBUS if binary == "modbus" else EXPORT
        return subprocess.run([exe, "-c", self.config_path, "--check", *args],
                              capture_output=True, text=True, timeout=30)
