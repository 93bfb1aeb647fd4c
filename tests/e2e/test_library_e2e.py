#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The device library end to end: every shipped Modbus definition is served
by a pymodbus slave from its own test vectors, read by the real
fieldbridge-modbus, published by the real fieldbridge-export through a real
mosquitto; each published value must equal the vector's expected value, and
each discovery component must pass the project's Home Assistant rules (the
loader's fb_model_check_ha, run by `fieldbridgectl definition check` over the
components as published).  One slave and one driver serve every definition
on its own unit id, so this catches a map, codec or discovery error in one
run of a few seconds per round of vectors.

Also the format features on the same real parts: byte types, raw switch
values, scale registers and the definition's pacing."""

import ast
import importlib.util
import json
import os
import re
import struct
import subprocess
import time

import fbtest
import gateway

BUILD = os.environ.get("FB_BUILD_DIR", "build/dev")
CTL = os.path.join(BUILD, "src/ctl/fieldbridgectl")
TABLES = {"coil": "co", "discrete_input": "di", "input_register": "ir",
          "holding_register": "hr"}
POLL_MS = 200


def _doc_script():
    """scripts/gen-devices-doc.py as a module: its comment stripper is the
    one that reads the library for docs/devices.md."""
    path = os.path.join(gateway.SOURCE, "scripts", "gen-devices-doc.py")
    spec = importlib.util.spec_from_file_location("gen_devices_doc", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def strip_comments(text):
    """The definition text as JSON (comments removed, as the loader does)."""
    return json.loads(_doc_script().strip_comments(text))


def num(x):
    return int(x, 0) if isinstance(x, str) else int(x)


def load_library():
    """{id: definition} of every shipped Modbus definition with vectors."""
    defs = {}
    for f in sorted(os.listdir(gateway.DEVICES)):
        if not f.endswith(".json"):
            continue
        with open(os.path.join(gateway.DEVICES, f)) as fh:
            d = strip_comments(fh.read())
        if d.get("protocol") == "modbus" and d.get("tests"):
            defs[f[:-5]] = d
    return defs


def published_form(point, value):
    """The state JSON value the exporter publishes for an expected value."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = value["value"]
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    return value


# SunSpec model lengths (sunspec/models JSON) for the chains served below.
SUNSPEC_LEN = {1: 65, 101: 50, 102: 50, 103: 50, 111: 60, 112: 60, 113: 60, 160: 88,
               201: 105, 202: 105, 203: 105, 204: 105, 211: 124, 212: 124, 213: 124,
               214: 124, 802: 62}


def sunspec_layout(definition):
    """{model: address} of a definition's sunspec.models ("203:2" is the
    second meter: served as model 203 there)."""
    return {a: int(k.split(":")[0]) for k, a in definition["sunspec"]["models"].items()}


def sunspec_chain_of(triples, base=40000):
    """{address: words} of the chain a vector's sunspec_chain describes
    ([model, address, length], in order), gaps filled as sunspec_chain."""
    regs = {base: [0x5375, 0x6E53]}
    at = base + 2
    for model, addr, length in triples:
        if addr > at:
            regs[at] = [64999, addr - at - 2]
        regs[addr] = [model, length]
        at = addr + 2 + length
    regs[at] = [0xFFFF, 0]
    return regs


def sunspec_chain(models, base=40000, common_len=65):
    """{address: words} of a SunSpec map: "SunS" at base, then each
    {address: model} in order; gaps are filled with an unknown model
    (skipped by its length, as real chains have models a definition does
    not map), and 0xFFFF ends the chain."""
    regs = {base: [0x5375, 0x6E53]}
    at = base + 2
    for addr, model in sorted(models.items()):
        if addr > at:
            regs[at] = [64999, addr - at - 2]
        length = common_len if model == 1 else SUNSPEC_LEN[model]
        regs[addr] = [model, length]
        at = addr + 2 + length
    regs[at] = [0xFFFF, 0]
    return regs


def option_raw(point, label):
    for raw, lab in point["options"].items():
        if lab == label:
            return num(raw)
    raise AssertionError(f"{point['key']}: no option {label!r}")


def option_form(point, value):
    """A select publishes its label; an enum sensor its raw value (the
    discovery template shows the label)."""
    if not point.get("options") or value is None:
        return value
    if point.get("component") == "select":
        return value if isinstance(value, str) else point["options"][str(int(value))]
    return option_raw(point, value) if isinstance(value, str) else value


def template_labels(template):
    """{raw: label} of an enum sensor's value_template."""
    m = re.fullmatch(r"\{\{ (\{.*\})\.get\(value_json\.\w+\) \}\}", template)
    return ast.literal_eval(m.group(1)) if m else None


def close(got, want, tol, tol_pct):
    if isinstance(want, str) or got is None or want is None:
        return got == want
    if isinstance(got, str):
        return False
    allowed = abs(want) * tol / 100 if tol_pct else tol
    allowed = max(allowed, 1e-9 + 1e-6 * abs(want))  # the JSON number's digits
    return abs(got - want) <= allowed


def tolerance(spec):
    if isinstance(spec, str) and spec.endswith("%"):
        return float(spec[:-1]), True
    return float(spec or 0), False


def points_as_definition(cmps):
    """Discovery components as a definition: each becomes a point with the
    component, device_class, unit and state_class as published, so the
    loader applies Home Assistant's rules to exactly what HA receives."""
    points = []
    for i, (key, c) in enumerate(sorted(cmps.items())):
        p = {"key": "c%d" % i, "name": key, "address": 2 * i}
        comp = c["p"]
        if comp == "sensor":
            p.update(table="input_register",
                     type="string" if c.get("device_class") in ("enum", "timestamp", "date")
                     and not c.get("options") else "float32")
            if c.get("device_class") == "enum" and c.get("options"):
                p.update(type="uint16", options={str(k): o for k, o in enumerate(c["options"])})
        elif comp == "binary_sensor":
            p.update(table="discrete_input")
        elif comp in ("switch", "button"):
            p.update(table="coil", writable=True)
        elif comp == "number":
            p.update(table="holding_register", type="float32", writable=True,
                     min=c.get("min", 0), max=c.get("max", 1), step=c.get("step", 1))
        elif comp == "select":
            p.update(table="holding_register", type="uint16", writable=True,
                     options={str(k): o for k, o in enumerate(c["options"])})
        elif comp == "light" and "brightness_scale" in c:
            p.update(table="holding_register", type="uint16", writable=True,
                     light={"brightness_scale": c["brightness_scale"]})
        elif comp in ("light", "valve"):
            p.update(table="coil", writable=True)
        elif comp == "fan":
            p.update(table="holding_register", type="uint16", writable=True,
                     fan={"speed_min": c["speed_range_min"], "speed_max": c["speed_range_max"],
                          "off_value": c["speed_range_min"] - 1})
        elif comp == "cover":
            p.update(table="holding_register", type="uint16", writable=True,
                     cover={"position_open": c["position_open"],
                            "position_closed": c["position_closed"]})
        elif comp == "climate":
            # the modes as published must be Home Assistant's
            p.update(table="holding_register", type="int16", writable=True,
                     min=c["min_temp"], max=c["max_temp"], step=c["temp_step"],
                     unit="°" + c["temperature_unit"],
                     climate={"precision": c["precision"]})
            mode = {"key": "m%d" % i, "name": key + " mode", "table": "holding_register",
                    "address": 2 * i + 1, "type": "uint16", "writable": True,
                    "component": "select",
                    "options": {str(k): o for k, o in enumerate(c["modes"])}}
            points.append(mode)
            p["climate"]["mode"] = mode["key"]
        elif comp == "text":
            p.update(table="holding_register", type="string", length=max(1, c["max"] // 2),
                     writable=True)
        else:
            raise AssertionError(f"{key}: unknown component {comp!r}")
        p["component"] = comp
        for src, dst in (("device_class", "device_class"), ("state_class", "state_class"),
                         ("unit_of_measurement", "unit"), ("entity_category", "entity_category")):
            if c.get(src) is not None:
                p[dst] = c[src]
        points.append(p)
    return {"manufacturer": "discovery", "model": "as published", "protocol": "modbus",
            "points": points}


class LibraryE2E(fbtest.TestCase):
    def setUp(self):
        super().setUp()
        for exe in (CTL, gateway.MODBUS, gateway.EXPORT):
            if not os.path.exists(exe):
                self.skipTest(f"{exe} not built")
        self.broker = fbtest.Broker(self.procs, self.tmp)

    def gateway_for(self, devices, defs_dir=None, poll_ms=POLL_MS):
        units = {d["unit_id"]: "full" for d in devices}
        self.slave = fbtest.ModbusSlave(self.procs, units)
        self.gw = gateway.Gateway(
            self.procs, self.tmp, self.broker,
            buses=[gateway.tcp_bus(self.slave.port, devices, poll_interval_ms=poll_ms,
                                   response_timeout_ms=500)],
            definition_dirs=[defs_dir] if defs_dir else ())
        self.base = self.gw.base()
        self.node = self.gw.node_id()
        self.sub = fbtest.Subscriber(self.broker, ["homeassistant/#", "fieldbridge/#"])

    def state(self, dev, since=None):
        """The device's last published state (received at or after since)."""
        ms = self.sub.messages(f"{self.base}/{dev}/state", since=since)
        return ms[-1].json() if ms and ms[-1].payload else None

    # ------------------------------------------------------------ the library
    def test_every_shipped_definition_publishes_its_vectors(self):
        defs = load_library()
        self.assertGreaterEqual(len(defs), 40)
        ids = sorted(defs)
        devices = [gateway.device(f"d{u}", ids[u - 1], u) for u in range(1, len(ids) + 1)]
        self.gateway_for(devices)
        rounds = max(len(d["tests"]) for d in defs.values())
        checked = 0
        for rnd in range(rounds):
            # Round rnd serves vector rnd of every definition that has one;
            # driver and exporter restart so "once" points are read again
            # (a fresh exporter attaches at once; a running one waits out
            # its re-attach delay).
            want = {}
            for u, def_id in enumerate(ids, 1):
                vecs = defs[def_id]["tests"]
                if rnd >= len(vecs):
                    continue
                v = vecs[rnd]
                if "sunspec_chain" in v:
                    for addr, words in sunspec_chain_of(v["sunspec_chain"]).items():
                        self.slave.set_registers(u, "hr", addr, words)
                elif "sunspec" in defs[def_id]:
                    for addr, words in sunspec_chain(sunspec_layout(defs[def_id])).items():
                        self.slave.set_registers(u, "hr", addr, words)
                table = TABLES[v["table"]]
                blocks = v.get("blocks") or [{"address": v["address"], "words": v["words"]}]
                for b in blocks:
                    words = [num(w) for w in b["words"]]
                    if table in ("co", "di"):
                        words = [bool(w) for w in words]
                    self.slave.control("set", unit=u, table=table, address=num(b["address"]),
                                       values=words)
                tol, pct = tolerance(v.get("tolerance"))
                pts = {p["key"]: p for p in defs[def_id]["points"]}
                for key, e in v["expect"].items():
                    t, tp = (tolerance(e.get("tolerance")) if isinstance(e, dict)
                             and "tolerance" in e else (tol, pct))
                    value = published_form(pts[key], e)
                    value = option_form(pts[key], value)
                    want.setdefault(f"d{u}", {})[key] = (value, t, tp, v["name"], def_id)
            t0 = time.monotonic()
            drv = self.gw.start_driver(verbose=False)
            exporter = self.gw.start_exporter(verbose=False)

            def all_published():
                for dev, exp in want.items():
                    st = self.state(dev, since=t0)
                    if not st:
                        return False
                    for key, (value, t, tp, _, _) in exp.items():
                        if not close(st.get(key), value, t, tp):
                            return False
                return True
            fbtest.wait_for(all_published, fbtest.slack(20), 0.2)
            wrong = []
            for dev, exp in want.items():
                st = self.state(dev, since=t0) or {}
                for key, (value, t, tp, vname, def_id) in exp.items():
                    if not close(st.get(key), value, t, tp):
                        wrong.append(f"{def_id} vector {vname!r}: {key} published "
                                     f"{st.get(key)!r}, expected {value!r}")
                    checked += 1
            self.assertEqual(wrong, [], "\n".join(wrong) + "\n" + drv.log_tail())
            print(f"round {rnd}: {sum(len(e) for e in want.values())} values from "
                  f"{len(want)} devices in {time.monotonic() - t0:.1f} s")
            drv.stop()
            exporter.stop()
        print(f"{len(ids)} definitions, {checked} published values equal their vectors")

        # Discovery: every component passes Home Assistant's rules.
        self.gw.start_exporter(verbose=False)
        for u, def_id in enumerate(ids, 1):
            m = self.sub.wait_message(f"homeassistant/device/{self.node}_d{u}/config",
                                      timeout=10)
            self.assertIsNotNone(m, f"{def_id}: no discovery")
            cmps = {k: c for k, c in m.json()["cmps"].items()}
            keys = {p["key"] for p in defs[def_id]["points"]}
            self.assertTrue(keys <= set(cmps), f"{def_id}: missing {keys - set(cmps)}")
            for p in defs[def_id]["points"]:
                if p.get("options") and p.get("component", "sensor") == "sensor":
                    c = cmps[p["key"]]
                    labels = {num(k): v for k, v in p["options"].items()}
                    self.assertEqual(template_labels(c["value_template"]), labels,
                                     f"{def_id}.{p['key']}: {c['value_template']}")
                    self.assertEqual(sorted(c["options"]), sorted(labels.values()))
            path = os.path.join(self.tmp, f"disc-{u}.json")
            with open(path, "w") as f:
                json.dump(points_as_definition(cmps), f)
            r = subprocess.run([CTL, "definition", "check", path], capture_output=True,
                               text=True, timeout=30)
            self.assertNotIn("error:", r.stderr, f"{def_id}: discovery breaks HA's rules")
            self.assertIn(": ok", r.stdout + r.stderr, r.stdout + r.stderr)

    # ------------------------------------------------------ format features
    def write_feature_definition(self):
        d = os.path.join(self.tmp, "defs")
        os.makedirs(d, exist_ok=True)
        doc = {
            "manufacturer": "Test", "model": "Features", "protocol": "modbus",
            "request_gap_ms": 150, "min_interval_ms": 1000, "connect_delay_ms": 1500,
            "points": [
                {"key": "t_ctrl", "name": "Controller temperature", "table": "holding_register",
                 "address": 259, "type": "int8_sm", "byte": "high", "unit": "°C",
                 "device_class": "temperature", "state_class": "measurement"},
                {"key": "t_batt", "name": "Battery temperature", "table": "holding_register",
                 "address": 259, "type": "int8_sm", "byte": "low", "unit": "°C",
                 "device_class": "temperature", "state_class": "measurement"},
                {"key": "export_limit", "name": "Export limit", "table": "holding_register",
                 "address": 13086, "type": "uint16", "writable": True, "component": "switch",
                 "on_value": "0xAA", "off_value": "0x55"},
                {"key": "power", "name": "AC power", "table": "holding_register",
                 "address": 40083, "type": "int16", "scale_register": 40084, "unit": "W",
                 "device_class": "power", "state_class": "measurement"},
            ],
        }
        with open(os.path.join(d, "test-features.json"), "w") as f:
            json.dump(doc, f)
        return d

    def test_format_features_on_a_pymodbus_slave(self):
        self.gateway_for([gateway.device("f", "test-features", 7)],
                         defs_dir=self.write_feature_definition(), poll_ms=100)
        s = self.slave
        s.set_registers(7, "hr", 259, [0x8A19])        # -10 °C / +25 °C
        s.set_registers(7, "hr", 13086, [0x55])        # off
        s.set_registers(7, "hr", 40083, [2303, 0xFFFF])  # 2303 W x 10^-1
        self.gw.start_exporter()
        t_start = time.monotonic()
        self.gw.start_driver()
        want = {"t_ctrl": -10, "t_batt": 25, "export_limit": "OFF", "power": 230.3}
        ok = fbtest.wait_for(lambda: (self.state("f") or {}).items() >= want.items(),
                             fbtest.slack(15), 0.1)
        self.assertTrue(ok, f"{self.state('f')} != {want}\n" + self.gw.drivers["meters"].log_tail())
        # connect_delay_ms: nothing reached the slave for 1.5 s after the start.
        reqs = s.requests(unit=7)
        self.assertGreaterEqual(reqs[0]["t"] - t_start, 1.5, reqs[:2])
        # The exponent changes at run time and is read with the value.
        s.set_registers(7, "hr", 40084, [1])
        self.assertTrue(fbtest.wait_for(lambda: (self.state("f") or {}).get("power") == 23030,
                                        fbtest.slack(10), 0.1), self.state("f"))
        s.set_registers(7, "hr", 40084, [0x8000])      # not implemented: unknown
        self.assertTrue(fbtest.wait_for(lambda: (self.state("f") or {}).get("power", 0) is None,
                                        fbtest.slack(10), 0.1), self.state("f"))
        reads = [r for r in s.requests("read", 7) if r["address"] <= 40083 <= r["address"] + r["count"] - 1]
        self.assertTrue(reads and all(r["address"] + r["count"] - 1 >= 40084 for r in reads),
                        "the value was read without its scale factor")
        # The raw switch writes 0xAA, reads back ON; any other value is unknown.
        t0 = time.monotonic()
        fbtest.publish(self.broker, f"{self.base}/f/export_limit/set", "ON", qos=1)
        self.assertTrue(fbtest.wait_for(lambda: s.get_registers(7, "hr", 13086, 1)[0] == 0xAA,
                                        fbtest.slack(10)), "0xAA not written")
        w = s.writes(7, since=t0)
        self.assertEqual([(x["fc"], x["address"], x["values"]) for x in w], [(6, 13086, [0xAA])])
        self.assertTrue(fbtest.wait_for(lambda: (self.state("f") or {}).get("export_limit") == "ON",
                                        fbtest.slack(10), 0.1))
        s.set_registers(7, "hr", 13086, [3])
        self.assertTrue(fbtest.wait_for(
            lambda: (self.state("f") or {}).get("export_limit", "x") is None, fbtest.slack(10), 0.1))
        # request_gap_ms / min_interval_ms against a configured 100 ms poll.
        reqs = s.requests(unit=7)
        gaps = [b["t"] - a["t"] for a, b in zip(reqs, reqs[1:])]
        self.assertGreaterEqual(min(gaps), 0.15 - 0.005, gaps)
        same = [r["t"] for r in reqs if r["kind"] == "read" and r["address"] == 259]
        periods = [b - a for a, b in zip(same, same[1:])]
        self.assertTrue(periods, reqs)
        self.assertGreaterEqual(min(periods), 1.0 - 0.02, periods)
        print(f"request gaps min {min(gaps) * 1000:.0f} ms, block period min "
              f"{min(periods) * 1000:.0f} ms, first request {reqs[0]['t'] - t_start:.2f} s "
              "after start")


    # ------------------------------------------------------------- SunSpec
    def test_sunspec_scan_on_a_pymodbus_slave(self):
        """The generic SunSpec definition on two maps unlike the one its
        addresses assume: a Fronius-like chain (common model 66 long, meter
        right after the inverter) at 40000, and an inverter without a meter
        whose marker is at 0.  Values come with their scale factors from the
        same read; a new scale factor shows in the next poll; what the
        device does not have stays unknown."""
        self.gateway_for([gateway.device("fronius", "sunspec", 1),
                          gateway.device("nometer", "sunspec", 2)], poll_ms=200)
        s = self.slave
        fronius = {1: 40002, 103: 40070, 203: 40122}
        for addr, words in sunspec_chain({a: m for m, a in fronius.items()}, common_len=66).items():
            s.set_registers(1, "hr", addr, words)
        for addr, words in sunspec_chain({2: 1, 69: 103}, base=0).items():
            s.set_registers(2, "hr", addr, words)
        for unit, m103 in ((1, 40070), (2, 69)):
            s.set_registers(unit, "hr", m103 + 14, [2303, 0xFFFF])   # W, W_SF -1
            s.set_registers(unit, "hr", m103 + 10, [2305, 2311, 0xFFFF, 0xFFFF])  # PhV, V_SF
            s.set_registers(unit, "hr", m103 + 38, [4])              # St: MPPT
            s.set_registers(unit, "hr", m103 + 24, [0x0001, 0xE240, 0])  # 123456 Wh
        s.set_registers(1, "hr", 40122 + 18, [0xF4C5, 0, 0, 0, 0xFFFF])  # meter W -2875 x 10^-1
        s.set_registers(1, "hr", 40002 + 2, [0x4672, 0x6F6E, 0x6975, 0x7300])  # "Fronius"
        self.gw.start_exporter()
        self.gw.start_driver()
        want1 = {"power": 230.3, "voltage_l1": 230.5, "voltage_l2": 231.1, "voltage_l3": None,
                 "operating_state": 4, "energy": 123.456, "meter_power": -287.5,
                 "manufacturer": "Fronius"}
        want2 = dict(want1, meter_power=None, manufacturer="")
        for dev, want in (("fronius", want1), ("nometer", want2)):
            ok = fbtest.wait_for(lambda: all(close((self.state(dev) or {}).get(k, "absent"),
                                                   v, 0, False) for k, v in want.items()),
                                 fbtest.slack(15), 0.1)
            self.assertTrue(ok, f"{dev}: {self.state(dev)} != {want}\n"
                            + str(sorted({(r["address"], r["count"]) for r in s.requests("read", 2)}))
                            + str(s.get_registers(2, "hr", 100, 10))
                            + self.gw.drivers["meters"].log_tail())
        log = self.gw.drivers["meters"].log_tail()
        self.assertIn("SunS at 40000: 1@40002 103@40070 203@40122", log)
        self.assertIn("SunS at 0: 1@2 103@69", log)
        # W_SF changes between polls: the next value uses the new one.
        t0 = time.monotonic()
        s.set_registers(1, "hr", 40070 + 15, [0xFFFE])
        self.assertTrue(fbtest.wait_for(lambda: (self.state("fronius") or {}).get("power") == 23.03,
                                        fbtest.slack(10), 0.1), self.state("fronius"))
        reads = [r for r in s.requests("read", 1, since=t0)
                 if r["address"] <= 40070 + 14 < r["address"] + r["count"]]
        self.assertTrue(reads)
        self.assertTrue(all(r["address"] + r["count"] > 40070 + 15 for r in reads),
                        "W was read without W_SF")
        s.set_registers(1, "hr", 40070 + 15, [0x8000])   # not implemented
        self.assertTrue(fbtest.wait_for(
            lambda: (self.state("fronius") or {}).get("power", 0) is None, fbtest.slack(10), 0.1))
        # fieldbridgectl decodes a value with its scale register from the
        # words of one read, and says how many it needs.
        path = os.path.join(gateway.DEVICES, "sunspec.json")
        r = subprocess.run([CTL, "--json", "definition", "decode", path, "power", "0x08FF",
                            "0xFFFF"], capture_output=True, text=True, timeout=30)
        self.assertEqual(json.loads(r.stdout)["points"][0]["value"], 230.3, r.stderr)
        r = subprocess.run([CTL, "definition", "decode", path, "power", "0x08FF"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("needs 2 words from address 40083", r.stderr)

    def test_sunspec_rescan_finds_meters_added_while_the_link_is_up(self):
        """A device whose chain changes while the link stays up (a meter
        wired in, a firmware update): after sunspec.rescan_s the driver
        walks it again and maps every meter in it, the first a float 213
        and the second an integer 201, as distinct entities."""
        d = os.path.join(self.tmp, "defs")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(gateway.DEVICES, "sunspec.json")) as f:
            doc = strip_comments(f.read())
        doc["sunspec"]["rescan_s"] = 2
        with open(os.path.join(d, "sunspec-rescan.json"), "w") as f:
            json.dump(doc, f)
        self.gateway_for([gateway.device("inv", "sunspec-rescan", 1)], defs_dir=d, poll_ms=200)
        s = self.slave
        for addr, words in sunspec_chain({40002: 1, 40069: 103}).items():
            s.set_registers(1, "hr", addr, words)
        s.set_registers(1, "hr", 40069 + 14, [2303, 0xFFFF])   # W, W_SF -1
        self.gw.start_exporter()
        self.gw.start_driver()
        ok = fbtest.wait_for(lambda: (self.state("inv") or {}).get("power") == 230.3,
                             fbtest.slack(15), 0.1)
        self.assertTrue(ok, self.state("inv"))
        st = self.state("inv")
        self.assertIsNone(st.get("meter_power", 0))
        self.assertIsNone(st.get("meter2_power", 0))
        # Two meters appear behind the inverter: a float one and an integer one.
        f32 = lambda x: list(struct.unpack(">HH", struct.pack(">f", x)))
        s.set_registers(1, "hr", 40121 + 28, f32(-2875.0))            # 213 W
        s.set_registers(1, "hr", 40247 + 18, [1180, 1180, 0, 0, 0])    # 201 W, WphA, W_SF 0
        s.set_registers(1, "hr", 40247 + 2, [512, 0, 0, 0, 0xFFFE])    # 201 A, A_SF -2
        for addr, words in sunspec_chain_of([[1, 40002, 65], [103, 40069, 50],
                                             [213, 40121, 124], [201, 40247, 105]]).items():
            s.set_registers(1, "hr", addr, words)
        want = {"power": 230.3, "meter_power": -2875, "meter2_power": 1180,
                "meter2_current": 5.12, "meter3_power": None}
        ok = fbtest.wait_for(lambda: all(close((self.state("inv") or {}).get(k, "absent"), v,
                                               0.01, False) for k, v in want.items()),
                             fbtest.slack(20), 0.2)
        log = self.gw.drivers["meters"].log_tail(80)
        self.assertTrue(ok, f"{self.state('inv')} != {want}\n{log}")
        self.assertIn("SunS at 40000: 1@40002 103@40069", log)
        self.assertIn("SunS at 40000: 1@40002 103@40069 213@40121 201@40247", log)
        # The link stayed up: one connect.
        self.assertEqual(log.count("SunS at 40000: 1@40002 103@40069\n") +
                         log.count("SunS at 40000: 1@40002 103@40069 213"), 2, log)

    # ------------------------------------------------------- point overrides
    def test_point_overrides_rename_reclass_and_disable(self):
        """Two SDM120 of one definition: the first renames voltage, gives it
        an icon, makes current a plain sensor... and drops frequency; the
        second is untouched.  Bad overrides fail --check with did-you-mean."""
        self.gateway_for([
            gateway.device("m1", "eastron-sdm120", 1, points={
                "voltage": {"name": "Mains voltage", "icon": "mdi:flash"},
                "frequency": {"disabled": True},
                "power_factor": {"device_class": "power_factor", "name": "cos phi"}}),
            gateway.device("m2", "eastron-sdm120", 2)], poll_ms=200)
        for u in (1, 2):
            self.slave.set_registers(u, "ir", 0, [0x4366, 0x6666])  # 230.4 V
            self.slave.set_registers(u, "ir", 0x46, [0x4248, 0x0000])  # 50 Hz
        r = self.gw.check()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.gw.start_exporter()
        self.gw.start_driver()
        c1 = self.sub.wait_message(f"homeassistant/device/{self.node}_m1/config", timeout=15)
        c2 = self.sub.wait_message(f"homeassistant/device/{self.node}_m2/config", timeout=15)
        self.assertIsNotNone(c1 and c2)
        m1, m2 = c1.json()["cmps"], c2.json()["cmps"]
        self.assertEqual((m1["voltage"]["name"], m1["voltage"]["icon"]),
                         ("Mains voltage", "mdi:flash"))
        self.assertEqual(m1["power_factor"]["name"], "cos phi")
        self.assertNotIn("frequency", m1)
        self.assertEqual(m2["voltage"]["name"], "Voltage")
        self.assertNotIn("icon", m2["voltage"])
        self.assertIn("frequency", m2)
        ok = fbtest.wait_for(lambda: (self.state("m1") or {}).get("voltage") == 230.4
                             and (self.state("m2") or {}).get("frequency") == 50.0,
                             fbtest.slack(10), 0.1)
        self.assertTrue(ok, f"{self.state('m1')} / {self.state('m2')}")
        self.assertNotIn("frequency", self.state("m1"))
        self.assertFalse([q for q in self.slave.requests("read", 1)
                          if q["address"] <= 0x46 < q["address"] + q["count"]],
                         "a disabled point was read")
        # Mistakes: an unknown field (the configuration's own check) ...
        dev = self.gw.config["buses"][0]["devices"][0]
        dev["points"] = {"current": {"devce_class": "current"}}
        self.gw.write()
        r = self.gw.check()
        out = r.stdout + r.stderr
        self.assertNotEqual(r.returncode, 0, out)
        self.assertIn('(m1).points.current: unknown field "devce_class": did you mean '
                      '"device_class"?', out)
        # ... then, against the definition, an unknown point and a class
        # Home Assistant refuses; the device is disabled, the other not.
        dev["points"] = {"voltag": {"name": "x"}, "voltage": {"device_class": "door"}}
        self.gw.write()
        r = self.gw.check()
        out = r.stdout + r.stderr
        self.assertIn('(m1).points.voltag: definition "eastron-sdm120" has no point "voltag": '
                      'did you mean "voltage"?', out)
        self.assertIn("(m1).points.voltage.device_class", out)
        self.assertIn("bus meters: device m1: disabled: its point overrides have the errors "
                      "above", out)
        self.assertNotIn("device m2: disabled", out)

    # ------------------------------------------------ the lint in both checks
    def test_lint_runs_in_definition_check_and_daemon_check(self):
        """The peer's SDM630 mistake (L2 reactive power on L1's register) in
        a local definition: `fieldbridgectl definition check` and the
        driver's --check both name the point and the rule; the definition's
        vectors then fail too.  A poll interval below a definition's
        min_interval_ms is a --check warning."""
        d = os.path.join(self.tmp, "defs")
        os.makedirs(d)
        with open(os.path.join(gateway.DEVICES, "eastron-sdm630.json")) as f:
            text = f.read()
        right = '"key": "reactive_power_l2", "name": "L2 reactive power", ' \
                '"table": "input_register", "address": "0x001A"'
        self.assertIn(right, text)
        with open(os.path.join(d, "sdm630-peer.json"), "w") as f:
            f.write(text.replace(right, right.replace("0x001A", "0x0018")))
        r = subprocess.run([CTL, "definition", "check", os.path.join(d, "sdm630-peer.json")],
                           capture_output=True, text=True, timeout=30)
        out = r.stdout + r.stderr
        self.assertIn("points[13] (reactive_power_l2).address: registers 0x0018..0x0019 overlap "
                      "points[12] (reactive_power_l1)", out)
        self.assertIn("[overlap]", out)
        self.assertIn("[stride]", out)
        self.assertNotEqual(r.returncode, 0, out)  # its L2 vector now fails
        self.gateway_for([gateway.device("m", "sdm630-peer", 1),
                          gateway.device("inv", "sungrow-sh", 2)], defs_dir=d, poll_ms=1000)
        r = self.gw.check()
        out = r.stdout + r.stderr
        self.assertIn("(reactive_power_l2).address: registers 0x0018..0x0019 overlap", out)
        self.assertIn("[overlap]", out)
        self.assertIn("device inv: poll_interval_ms 1000 is shorter than definition "
                      "\"sungrow-sh\"'s min_interval_ms 10000", out)


if __name__ == "__main__":
    fbtest.main(tools=fbtest.MQTT_TOOLS)
