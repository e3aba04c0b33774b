"""The hub's side of GPUs and sensors (issue 16): what hubctl, the API,
/metrics, threshold rules and the history make of a heartbeat's "gpus",
"temps" and "fans".

Scripted agents speak the protocol over a raw WebSocket: one with two GPUs
(the figures of a real H200, tests/fixtures/nvidia-smi/h200-query.csv:
no fan on that card, so its "fan" is absent), CPU and disk sensors and a
fan; one with none of them.  A thread beats for each, from a metrics dict
the test changes to heat a card up and cool it down.
"""

import json
import re
import sqlite3
import threading
import time

import fakeapi
from fakeapi import WEBHOOK
from mtest import check, deadline, fail, wait_until

HB = 0.5
MIB = 1024 * 1024
H200 = {"index": 0, "vendor": "nvidia", "name": "NVIDIA H200",
        "uuid": "GPU-79d32954-53f7-0135-2bd5-d2f66d049441", "util": 0,
        "mem_util": 0, "mem_used": 0, "mem_total": 143771 * MIB,
        "temp": 42, "power": 108.38, "power_limit": 700, "sm_clock": 390}
BUSY = dict(H200, index=1, uuid="GPU-00000000-0000-0000-0000-000000000001",
            util=87, mem_used=71885 * MIB, temp=71, power=650.5,
            sm_clock=1980, fan=40)
TEMPS = [{"name": "coretemp/Package id 0", "kind": "cpu", "c": 61},
         {"name": "nvme/Composite", "kind": "disk", "c": 38}]
FANS = [{"name": "nct6798/fan2", "rpm": 1234}]


def base_metrics():
    return {"cpu": {"user": 10, "system": 5, "iowait": 0},
            "load": [0.5, 0.4, 0.3],
            "mem": {"used": 4 << 30, "total": 16 << 30},
            "swap": {"used": 0, "total": 0},
            "fs": [{"mount": "/", "used": 10 << 30, "total": 100 << 30}],
            "net": [], "uptime": 1000, "procs": 100}


def gpu_metrics():
    m = base_metrics()
    m.update(gpus=[dict(H200), dict(BUSY)], temps=list(TEMPS),
             fans=list(FANS))
    return m


class Agent:
    """A raw agent that beats every HB/2 seconds with self.m."""

    def __init__(self, t, hub, name, metrics):
        self.name, self.m = name, metrics
        self.ws = t.ws(hub)
        self.ws.send_json({"t": "hello", "v": 1, "name": name,
                           "enroll_key": hub.create_key(),
                           "hostname": name, "os": "Linux", "cpus": 8})
        w = self.ws.recv_json(5)
        check(w.get("t") == "welcome", "hello as %s: %r" % (name, w))
        self.stop = threading.Event()
        self.seq = 0
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()
        t.agents = getattr(t, "agents", []) + [self]
        wait_until(lambda: (hub.agent(name) or {}).get("metrics"), 5,
                   "%s's first heartbeat" % name)

    def run(self):
        while not self.stop.is_set():
            self.seq += 1
            try:
                self.ws.send_json({"t": "hb", "seq": self.seq,
                                   "m": json.loads(json.dumps(self.m))})
            except OSError:
                return
            self.stop.wait(HB / 2)

    def beats_with(self, hub, pred, what):
        """Wait until the hub's view of the agent satisfies pred."""
        return wait_until(lambda: (lambda a: a if a and pred(a) else None)(
            hub.agent(self.name)), 5, what)


def gpu_hub(t, extra="", args=()):
    conf = t.write("hub.conf", "log_level = info\n" + extra, mode=0o600)
    hub = t.hub(heartbeat=HB, extra=["--config", conf] + list(args))
    orig = t.cleanup

    def cleanup():
        for a in getattr(t, "agents", []):
            a.stop.set()
        orig()
    t.cleanup = cleanup
    return hub


def table(out):
    """hubctl's table as a list of rows (lists of cells)."""
    return [re.split(r"\s{2,}", ln.strip()) for ln in out.splitlines()
            if ln.strip()]


# ---- hubctl, the API, /metrics ----

def test_gpu_column_show_and_json(t):
    hub = gpu_hub(t)
    Agent(t, hub, "plain-box", base_metrics())
    r = t.hubctl(hub, "agents")
    check(r.rc == 0 and "GPU" not in r.out.splitlines()[0],
          "no agent has a GPU, yet hubctl agents has a GPU column:\n%s"
          % r.out)
    plain = hub.agent("plain-box")
    check(not any(k.startswith("gpu") or k == "cpu_temp" for k in plain),
          "an agent without GPU has GPU fields: %r" % plain)

    Agent(t, hub, "gpu-box", gpu_metrics())
    r = t.hubctl(hub, "agents")
    rows = table(r.out)
    check(r.rc == 0 and rows[0][:7] == ["NAME", "STATUS", "LAST-SEEN", "CPU",
                                        "MEM", "DISK", "GPU"],
          "hubctl agents head: %r" % r.out)
    by = {row[0]: row for row in rows[1:]}
    check(by["gpu-box"][6] == "87% 71°C" and by["plain-box"][6] == "-",
          "GPU cells (busiest GPU's util and temperature): %r" % rows)

    a = hub.agent("gpu-box")
    check(a["gpu_count"] == 2 and a["gpu_util"] == 87 and
          a["gpu_busy_temp"] == 71 and a["gpu_temp"] == 71 and
          a["cpu_temp"] == 61 and abs(a["gpu_mem"] - 50.0) < 0.01,
          "the agent's GPU summaries: %r" % a)

    r = t.hubctl(hub, "show", "gpu-box")
    check(r.rc == 0, "hubctl show: %r" % r)
    out = r.out
    g0 = re.search(r"^gpu 0: +NVIDIA H200 GPU-79d32954-53f7-0135-2bd5-"
                   r"d2f66d049441\n +(.*)$", out, re.M)
    g1 = re.search(r"^gpu 1: +NVIDIA H200 GPU-0+-0+-0+-0+-0+1\n +(.*)$",
                   out, re.M)
    check(g0 and g1, "hubctl show lists both GPUs:\n%s" % out)
    check(g0.group(1) == "util 0%, memory 0 B of 140.4 GiB (0%), 42°C, "
          "power 108.4 W of 700 W, clock 390 MHz",
          "the H200's line (no fan: it reports none): %r" % g0.group(1))
    check("fan 40%" in g1.group(1) and "util 87%" in g1.group(1) and
          "70.2 GiB of 140.4 GiB (50%)" in g1.group(1),
          "the busy GPU's line: %r" % g1.group(1))
    check(re.search(r"^temp coretemp/Package id 0: 61\.0°C \(cpu\)$", out,
                    re.M) and re.search(r"^temp nvme/Composite: 38\.0°C "
                                        r"\(disk\)$", out, re.M) and
          re.search(r"^fan nct6798/fan2: 1234 rpm$", out, re.M),
          "hubctl show lists the sensors:\n%s" % out)
    r = t.hubctl(hub, "show", "plain-box")
    check(r.rc == 0 and not re.search(r"^(gpu|temp|fan) ", r.out, re.M),
          "hubctl show of an agent without hardware:\n%s" % r.out)

    doc = json.loads(t.hubctl(hub, "--json", "show", "gpu-box").out)
    g = {x["index"]: x for x in doc["gpus"]}
    check(g[0]["name"] == "NVIDIA H200" and g[0]["util"] == 0 and
          g[0]["mem_used"] == 0 and g[0]["mem_total"] == 143771 * MIB and
          g[0]["temp"] == 42 and g[0]["power"] == 108.38 and
          "fan" not in g[0] and g[1]["util"] == 87 and g[1]["fan"] == 40,
          "show --json gpus: %r" % doc["gpus"])
    doc = json.loads(t.hubctl(hub, "--json", "show", "plain-box").out)
    check("gpus" not in doc, "gpus for an agent without: %r" % doc)

    prom = hub.request("GET", "/metrics").body.decode()
    lbl = 'agent="gpu-box",gpu="0",uuid="%s"' % H200["uuid"]
    for line in ('maestro_gpu_utilization_percent{%s} 0' % lbl,
                 'maestro_gpu_memory_total_bytes{%s} %d'
                 % (lbl, 143771 * MIB),
                 'maestro_gpu_memory_used_bytes{%s} 0' % lbl,
                 'maestro_gpu_temperature_celsius{%s} 42' % lbl,
                 'maestro_gpu_power_watts{%s} 108.38' % lbl,
                 'maestro_gpu_power_limit_watts{%s} 700' % lbl,
                 'maestro_gpu_info{%s,name="NVIDIA H200",vendor="nvidia"} 1'
                 % lbl,
                 'maestro_sensor_temperature_celsius{agent="gpu-box",'
                 'sensor="coretemp/Package id 0",kind="cpu"} 61',
                 'maestro_sensor_fan_rpm{agent="gpu-box",'
                 'sensor="nct6798/fan2"} 1234',
                 'maestro_agent_gpu_percent{agent="gpu-box"} 87',
                 'maestro_agent_gpu_temperature_celsius{agent="gpu-box"} 71',
                 'maestro_agent_cpu_temperature_celsius{agent="gpu-box"} 61'):
        check(line + "\n" in prom, "/metrics lacks %r" % line)
    check('maestro_gpu_fan_percent{%s}' % lbl not in prom and
          'maestro_gpu_fan_percent{agent="gpu-box",gpu="1"' in prom,
          "a fan sample for the fanless card, or none for the other")
    check('plain-box' not in "".join(
        ln for ln in prom.splitlines(True)
        if "gpu" in ln or "sensor" in ln or "temperature" in ln),
        "/metrics has GPU or sensor samples for plain-box")
    for fam in ("maestro_gpu_utilization_percent",
                "maestro_sensor_temperature_celsius"):
        check(prom.count("# TYPE %s gauge" % fam) == 1,
              "%s: one family header" % fam)


# ---- rules ----

def test_gpu_temp_rule_fires_recovers_and_spares_agents_without(t):
    fake = fakeapi.start(t)
    hub = gpu_hub(t, "webhook_url = %s\n"
                     "rule = gpu_temp_c > 85 for 1s\n"
                     "rule = gpu_util_pct >= 0 for 0s\n"
                     % fake.webhook_url)
    Agent(t, hub, "plain-box", base_metrics())
    hot = Agent(t, hub, "gpu-box", gpu_metrics())
    # gpu_util_pct >= 0 holds for any GPU at all: it fires for gpu-box
    # only, as plain-box reports no GPU figure
    (w,) = wait_msgs(fake, 0, 1, "the gpu_util_pct rule for gpu-box")
    check(w["title"] == "WARNING: gpu-box" and re.fullmatch(
        r"gpu-box: GPU utilisation is 87%, at or above 0% \(rule "
        r"gpu_util_pct >= 0 for 0s\)\.", w["text"]),
        "gpu_util_pct alert: %r" % w)
    since = time.monotonic()
    hot.m["gpus"][0]["temp"] = 91
    started = time.monotonic()
    (w,) = wait_msgs(fake, since, 1, "the gpu_temp_c alert")
    fired = fake.got(WEBHOOK, since)[0].mono
    check(w["event"] == "rule" and w["title"] == "WARNING: gpu-box" and
          re.fullmatch(r"gpu-box: GPU temperature is 91°C, above 85°C for "
                       r"1s \(rule gpu_temp_c > 85 for 1s\)\.", w["text"]),
          "gpu_temp_c alert: %r" % w)
    check(fired >= started + 1.0, "fired %.2f s after the card got hot, "
          "before the rule's 1 s" % (fired - started))
    since = time.monotonic()
    hot.m["gpus"][0]["temp"] = 50
    (w,) = wait_msgs(fake, since, 1, "the gpu_temp_c recovery")
    check(w["event"] == "rule_clear" and re.fullmatch(
        r"gpu-box: GPU temperature is back to 71°C \(rule gpu_temp_c > 85 "
        r"for 1s held for [0-9.ms ]+\)\.", w["text"]),
        "gpu_temp_c recovery: %r" % w)
    end = time.monotonic() + deadline(1.5)
    while time.monotonic() < end:
        got = [m for m in fake.messages(WEBHOOK) if "plain-box" in
               json.dumps(m)]
        if got:
            fail("a GPU rule fired for the agent without a GPU: %r" % got)
        time.sleep(0.1)


def wait_msgs(fake, since, n, what):
    return wait_until(lambda: (lambda m: m if len(m) >= n else None)(
        fake.messages(WEBHOOK, since)), 10, what)


def test_rule_parser_names_the_new_metrics(t):
    path = t.write("bad.conf", "rule = gpu_temp > 85 for 2m\n")
    r = t.run([hub_binary(), "--config", path, "--insecure-no-tls"],
              timeout=10)
    check(r.rc == 2 and "rule: unknown metric 'gpu_temp' (one of cpu_pct, "
          "mem_used_pct, disk_used_pct, swap_used_pct, load1, gpu_util_pct, "
          "gpu_mem_used_pct, gpu_temp_c, temp_c, container_restarts)"
          in r.err,
          "unknown metric error: %r" % r)
    path = t.write("bad.conf", "rule = gpu_temp_c > 400 for 2m\n")
    r = t.run([hub_binary(), "--config", path, "--insecure-no-tls"],
              timeout=10)
    check(r.rc == 2 and "'400' is not a number from 0 to 300" in r.err,
          "a temperature threshold out of range: %r" % r)


def hub_binary():
    from mtest import binary
    return binary("maestro-hub")


# ---- history ----

def test_gpu_history_per_minute(t):
    hub = gpu_hub(t)
    Agent(t, hub, "plain-box", base_metrics())
    Agent(t, hub, "gpu-box", gpu_metrics())

    def point(name):
        pts = hub.api("GET", "/api/agents/%s/history?range=1h"
                      % name)["points"]
        return pts[-1] if pts else None
    p = wait_until(lambda: point("gpu-box"), 5, "gpu-box's minute")
    check(p["gpu_util"] == 87 and p["gpu_temp"] == 71 and
          p["cpu_temp"] == 61 and abs(p["gpu_mem"] - 50) < 0.01,
          "the minute in progress: %r" % p)
    p = point("plain-box")
    check(p and set(p) == {"ts", "cpu", "mem", "disk", "rx", "tx"},
          "plain-box's point has GPU keys: %r" % p)

    db = "%s/hub.db" % hub.data

    def rows():
        con = sqlite3.connect(db, timeout=5)
        try:
            return dict(con.execute(
                "SELECT a.name, m.gpu_util IS NOT NULL AND m.gpu_temp IS NOT"
                " NULL AND m.cpu_temp IS NOT NULL OR m.gpu_mem IS NOT NULL"
                " FROM metrics_1m m JOIN agents a ON a.id = m.agent_id"
            ).fetchall()) or None
        finally:
            con.close()
    got = wait_until(lambda: (lambda r: r if r and len(r) == 2 else None)(
        rows()), 75, "a stored minute of both agents", interval=1)
    check(got == {"gpu-box": 1, "plain-box": 0},
          "stored GPU figures (NULL, not 0, without a GPU): %r" % got)
    pts = hub.api("GET", "/api/agents/gpu-box/history?range=24h")["points"]
    check(pts and pts[0]["gpu_util"] == 87 and pts[0]["cpu_temp"] == 61,
          "24 h history: %r" % pts)


test_gpu_history_per_minute.time_limit = 150


# ---- the dashboard ----

def test_dashboard_shows_the_gpu(t):
    import os
    import mtest
    from test_browser import CHROMIUM, need_tools
    need_tools()
    hub = gpu_hub(t, args=("--dashboard",
                           os.path.join(mtest.ROOT, "dashboard")))
    Agent(t, hub, "plain-box", base_metrics())
    Agent(t, hub, "gpu-box", gpu_metrics())
    cfg = {"url": hub.url, "token": hub.token, "chromium": CHROMIUM,
           "gpu": "gpu-box", "plain": "plain-box", "gpu_util": 87,
           "gpu_temp": 71, "cpu_temp": 61}
    path = t.write("gpu.json", json.dumps(cfg), mode=0o600)
    r = t.run(["node", os.path.join(mtest.ROOT, "tests", "browser",
                                    "gpu.mjs"), path], timeout=90)
    try:
        doc = json.loads(r.out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        fail("gpu.mjs printed no result (exit %s): %s" % (r.rc, r.err[-2000:]))
    for line in doc.get("checks", []):
        t.note(line)
    check(r.rc == 0 and doc.get("ok"), "the browser test failed: %s\n%s"
          % (doc.get("error"), "\n".join(doc.get("checks", []))))


test_dashboard_shows_the_gpu.time_limit = 120
