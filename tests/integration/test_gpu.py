"""GPUs, temperatures and fans in the listener's heartbeats (issue 16).

No GPU is needed: a fake nvidia-smi (fakes/nvidia-smi) first on PATH
replays what a real NVIDIA H200 printed (tests/fixtures/nvidia-smi/),
and the listener reads hwmon and amdgpu files from a fake sysfs tree
(--sysfs-root).  What the listener sent is checked where a user sees it:
the hub's GET /api/agents/NAME (the metrics as the hub decoded them) and
the metrics command's output.
"""

import json
import os
import time

import mtest
from mtest import check, fail, wait_until
from test_terminal import gone

# a copy of ../shared/fixtures/nvidia-smi, so any checkout runs these
FIXTURES = os.path.join(mtest.ROOT, "tests", "fixtures", "nvidia-smi")
FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fakes")
MIB = 1048576
# the listener's query, in its order; clocks.sm is the fixture's
# clocks.current.sm
FIELDS = ["index", "name", "uuid", "utilization.gpu", "utilization.memory",
          "memory.used", "memory.total", "temperature.gpu", "power.draw",
          "power.limit", "fan.speed", "clocks.sm"]
QUERY = ("--query-gpu=" + ",".join(FIELDS) +
         " --format=csv,noheader,nounits")
H200_UUID = "GPU-79d32954-53f7-0135-2bd5-d2f66d049441"


def fixture_line():
    """The fixture's noheader,nounits line, cut to the listener's fields."""
    path = os.path.join(FIXTURES, "h200-query.csv")
    if not os.path.exists(path):
        fail("%s is missing: the GPU tests replay it (a copy of "
             "../shared/fixtures/nvidia-smi)" % path)
    with open(path) as f:
        lines = [ln.rstrip("\n") for ln in f]
    names = [h.split(" [")[0].strip() for h in lines[0].split(",")]
    row = [v.strip() for v in lines[2].split(",")]
    check(len(row) == len(names) and "%" not in lines[2],
          "%s: line 3 is not the noheader,nounits answer" % path)
    alias = {"clocks.sm": "clocks.current.sm"}
    return ", ".join(row[names.index(alias.get(f, f))] for f in FIELDS)


def fake_nvidia(t, gpus, apps="", mode="ok"):
    """A directory for the fake's answers; the listener's PATH starts
    with fakes/.  Returns the directory."""
    d = t.mkdir("nvsmi")
    t.write(os.path.join(d, "gpus.csv"), "".join(ln + "\n" for ln in gpus))
    t.write(os.path.join(d, "apps.csv"), "".join(ln + "\n" for ln in apps))
    set_mode(d, mode)
    t.env["FAKE_NVSMI_DIR"] = d
    t.env["PATH"] = FAKE + ":" + t.env.get("PATH", "/usr/bin:/bin")
    return d


def set_mode(d, mode):
    with open(os.path.join(d, "mode.new"), "w") as f:
        f.write(mode + "\n")
    os.rename(os.path.join(d, "mode.new"), os.path.join(d, "mode"))


def calls(d):
    try:
        with open(os.path.join(d, "calls")) as f:
            return [ln.split(" ", 1) for ln in f.read().splitlines()]
    except OSError:
        return []


def no_nvidia(t):
    """PATH without nvidia-smi (and none where drivers put it)."""
    for p in ("/usr/bin/nvidia-smi", "/usr/local/nvidia/bin/nvidia-smi"):
        if os.path.exists(p):
            mtest.skip("this machine has a real %s" % p)
    t.env["PATH"] = "/usr/bin:/bin"


def empty_root(t):
    return t.mkdir("sysfs-empty")


def start(t, hub, name, root, extra=()):
    key = hub.create_key()
    return t.listener(hub, name, key=key, wait_online=True,
                      extra=["--sysfs-root", root] + list(extra))


def metrics(hub, name):
    a = hub.agent(name)
    return (a or {}).get("metrics") or {}


def wait_metrics(hub, p, pred, what, timeout=15):
    def ok():
        check(p.alive(), "the listener exited:\n%s" % p.stderr_text())
        m = metrics(hub, p.agent)
        return m if pred(m) else None
    return wait_until(ok, timeout, what)


def send_metrics(t, hub, name):
    r = t.hubctl(hub, "send", name, "metrics")
    check(r.rc == 0, "hubctl send metrics: %r" % r)
    return json.loads(r.out)


def warnings(p, word="nvidia-smi"):
    return [ln for ln in p.stderr_text().splitlines()
            if " warn: " in ln and word in ln]


# ---- NVIDIA ----

def test_h200_fixture_replayed(t):
    d = fake_nvidia(t, [fixture_line()])
    hub = t.hub()
    p = start(t, hub, "gpu-h200", empty_root(t))
    m = wait_metrics(hub, p, lambda m: m.get("gpus"), "a GPU in a heartbeat")
    want = {"index": 0, "vendor": "nvidia", "name": "NVIDIA H200",
            "uuid": H200_UUID, "util": 0, "mem_util": 0, "mem_used": 0,
            "mem_total": 143771 * MIB, "temp": 42, "power": 106.08,
            "power_limit": 700, "sm_clock": 390}
    check(m["gpus"] == [want],
          "the H200 as the hub decoded it:\n  got  %r\n  want %r"
          % (m["gpus"], want))
    check("fan" not in m["gpus"][0],
          "[N/A] fan.speed must be absent, not 0: %r" % m["gpus"])
    check("temps" not in m and "fans" not in m,
          "an empty sysfs tree gave sensors: %r" % m)
    check(any(args == QUERY for _, args in calls(d)),
          "the listener's query was not %r: %r" % (QUERY, calls(d)))
    out = send_metrics(t, hub, "gpu-h200")
    check(out.get("gpus") and out["gpus"][0]["uuid"] == H200_UUID,
          "the metrics command has no GPU: %r" % out)
    check(out.get("gpu_procs") == [],
          "no process on the GPU is an empty gpu_procs: %r" % out)
    check(not warnings(p), "warnings: %r" % warnings(p))


def test_two_gpus_with_processes(t):
    gpus = [fixture_line(),
            "1, NVIDIA H200, GPU-0b5e1c1e-0000-4000-8000-000000000001, 87, "
            "[Not Supported], 70000, 143771, 65, 512.3, [N/A], 45, "]
    apps = ["%s, 4242, /usr/bin/python3 train.py, 69000" % H200_UUID,
            "GPU-0b5e1c1e-0000-4000-8000-000000000001, 4343, "
            "/opt/app, with comma/bin/serve, [N/A]"]
    fake_nvidia(t, gpus, apps)
    hub = t.hub()
    p = start(t, hub, "gpu-two", empty_root(t))
    m = wait_metrics(hub, p, lambda m: len(m.get("gpus") or []) == 2,
                     "two GPUs in a heartbeat")
    g1 = m["gpus"][1]
    check(g1["index"] == 1 and g1["util"] == 87 and g1["fan"] == 45 and
          g1["mem_used"] == 70000 * MIB and g1["temp"] == 65 and
          g1["power"] == 512.3,
          "the second GPU: %r" % g1)
    for k in ("mem_util", "power_limit", "sm_clock"):
        check(k not in g1, "[Not Supported], [N/A] and an empty field are "
              "absent, never 0: %s in %r" % (k, g1))
    a = hub.agent("gpu-two")
    t.note("the agent object: %r" % {k: v for k, v in a.items()
                                     if k != "metrics"})
    out = send_metrics(t, hub, "gpu-two")
    want = [{"gpu": H200_UUID, "index": 0, "pid": 4242,
             "name": "/usr/bin/python3 train.py", "mem": 69000 * MIB},
            {"gpu": "GPU-0b5e1c1e-0000-4000-8000-000000000001", "index": 1,
             "pid": 4343, "name": "/opt/app, with comma/bin/serve"}]
    check(out.get("gpu_procs") == want,
          "gpu_procs:\n  got  %r\n  want %r" % (out.get("gpu_procs"), want))


def test_hung_nvidia_smi_delays_no_heartbeat(t):
    d = fake_nvidia(t, [fixture_line()])
    hub = t.hub(heartbeat=0.2, miss=3)
    p = start(t, hub, "gpu-hang", empty_root(t))
    wait_metrics(hub, p, lambda m: m.get("gpus"), "a GPU in a heartbeat")
    set_mode(d, "hang")
    ncalls = len(calls(d))

    # two hung calls: each killed at its 5 s deadline, the second after a
    # back-off; all along every heartbeat is on time (one missed beat
    # would make the agent "late")
    def hung_twice():
        st = hub.agents()["gpu-hang"]["status"]
        check(st == "online", "the agent went %s while nvidia-smi hung"
              % st)
        sleeps = [int(a) for w, a in calls(d)[ncalls:] if w == "sleep"]
        return sleeps if len(sleeps) >= 2 and all(map(gone, sleeps)) \
            else None
    sleeps = wait_until(hung_twice, 40, "two hung calls killed",
                        interval=0.05)
    # one SIGKILL to the group: each process dies when it is next
    # scheduled, so a shell may outlive its sleep by a moment
    shells = [int(w) for w, a in calls(d)[ncalls:] if w != "sleep"]
    wait_until(lambda: all(map(gone, shells)), 5,
               "the hung nvidia-smi shells %r to be gone" % shells)
    t.note("hung calls (sh, sleep): %r %r" % (shells, sleeps))
    check("gpus" not in metrics(hub, "gpu-hang"),
          "a sample older than 3 intervals is still sent: %r"
          % metrics(hub, "gpu-hang").get("gpus"))
    w = warnings(p)
    check(len(w) == 1 and "killed" in w[0],
          "one warning for two hung calls, saying it was killed: %r" % w)
    # the metrics command does not wait for a nvidia-smi that hangs
    t0 = time.monotonic()
    out = send_metrics(t, hub, "gpu-hang")
    check("gpu_procs" not in out and time.monotonic() - t0 < 2,
          "the metrics command waited for a hung nvidia-smi: %.1f s, %r"
          % (time.monotonic() - t0, out.get("gpu_procs")))


def test_garbage_then_exit_9_then_recovery(t):
    d = fake_nvidia(t, [fixture_line()], mode="garbage")
    hub = t.hub()
    p = start(t, hub, "gpu-bad", empty_root(t), ["--log-level", "debug"])
    wait_until(lambda: len(calls(d)) >= 1 and warnings(p), 10,
               "a warning about nvidia-smi's garbage")
    check("gpus" not in metrics(hub, "gpu-bad"),
          "garbage became a GPU: %r" % metrics(hub, "gpu-bad"))
    set_mode(d, "exit9")
    wait_until(lambda: "exited with status 9" in p.stderr_text(), 30,
               "a call that exits 9, logged (at debug level) as a failure")
    check("gpus" not in metrics(hub, "gpu-bad"), "exit 9 gave GPUs")
    w = warnings(p)
    check(len(w) == 1, "one warning an hour, not one a failure: %r" % w)
    # good lines among garbage count; the listener comes back by itself
    with open(os.path.join(d, "gpus.csv"), "a") as f:
        f.write("not, a, gpu\n")
    set_mode(d, "ok")
    wait_metrics(hub, p, lambda m: m.get("gpus"), "GPUs back after the "
                 "failures (within the back-off)", timeout=30)
    check("answering again" in p.stderr_text(),
          "no word that nvidia-smi answers again:\n%s" % p.stderr_text())
    check(p.alive(), "the listener exited")


# ---- sysfs: AMD, hwmon ----

def fake_sysfs(t):
    """coretemp, an NVMe drive, a board chip with fans, an amdgpu card."""
    root = t.mkdir("sysfs")
    files = {
        "class/hwmon/hwmon0/name": "coretemp",
        "class/hwmon/hwmon0/temp1_input": "61000",
        "class/hwmon/hwmon0/temp1_label": "Package id 0",
        "class/hwmon/hwmon0/temp2_input": "55500",      # a package's
        "class/hwmon/hwmon0/temp2_label": "Core 0",     # core: left out
        "class/hwmon/hwmon4/name": "k10temp",
        "class/hwmon/hwmon4/temp1_input": "55500",
        "class/hwmon/hwmon4/temp1_label": "Tctl",
        "class/hwmon/hwmon1/name": "nvme",
        "class/hwmon/hwmon1/temp1_input": "38850",
        "class/hwmon/hwmon1/temp1_label": "Composite",
        "class/hwmon/hwmon1/temp2_input": "-273150",    # absurd: left out
        "class/hwmon/hwmon2/name": "nct6798",
        "class/hwmon/hwmon2/fan1_input": "1234",
        "class/hwmon/hwmon2/fan2_input": "0",           # no fan on it
        "class/hwmon/hwmon2/temp7_input": "127000",     # unconnected
        "class/hwmon/hwmon3/name": "amdgpu",            # the GPU's own
        "class/hwmon/hwmon3/temp1_input": "50000",
        "class/hwmon/hwmon10/name": "nvme",             # a second drive
        "class/hwmon/hwmon10/temp1_input": "41000",
        "class/hwmon/hwmon10/temp1_label": "Composite",
        "class/drm/card0/device/vendor": "0x1002",
        "class/drm/card0/device/device": "0x73bf",
        "class/drm/card0/device/gpu_busy_percent": "37",
        "class/drm/card0/device/mem_busy_percent": "12",
        "class/drm/card0/device/mem_info_vram_used": "1073741824",
        "class/drm/card0/device/mem_info_vram_total": "17163091968",
        "class/drm/card0/device/hwmon/hwmon3/temp1_input": "50000",
        "class/drm/card0/device/hwmon/hwmon3/power1_average": "123000000",
        "class/drm/card0/device/hwmon/hwmon3/power1_cap": "250000000",
        "class/drm/card0/device/hwmon/hwmon3/pwm1": "128",
        "class/drm/card0/device/hwmon/hwmon3/freq1_input": "2100000000",
        "class/drm/card0-DP-1/status": "connected",      # a connector
        "class/drm/card1/device/vendor": "0x8086",        # not AMD
        "class/drm/card1/device/gpu_busy_percent": "5",
    }
    for rel, text in files.items():
        t.write(os.path.join(root, "sys", rel), text + "\n")
    return root


def test_sysfs_sensors_fans_and_amd_gpu(t):
    no_nvidia(t)
    root = fake_sysfs(t)
    hub = t.hub()
    p = start(t, hub, "gpu-sysfs", root)
    m = wait_metrics(hub, p, lambda m: m.get("temps"), "temps in a heartbeat")
    temps = {x["name"]: (x["kind"], x["c"]) for x in m["temps"]}
    want = {"coretemp/Package id 0": ("cpu", 61), "k10temp/Tctl":
            ("cpu", 55.5), "nvme/Composite": ("disk", 38.9),
            "nvme#2/Composite": ("disk", 41)}
    check(temps == want, "temps:\n  got  %r\n  want %r" % (temps, want))
    check(m.get("fans") == [{"name": "nct6798/fan1", "rpm": 1234}],
          "fans (a header at 0 rpm that never turned is left out): %r"
          % m.get("fans"))
    want_gpu = {"index": 0, "vendor": "amd", "name": "AMD GPU 0x73bf",
                "util": 37, "mem_util": 12, "mem_used": 1073741824,
                "mem_total": 17163091968, "temp": 50, "power": 123,
                "power_limit": 250, "fan": 50.2, "sm_clock": 2100}
    check(m.get("gpus") == [want_gpu],
          "the amdgpu card:\n  got  %r\n  want %r" % (m.get("gpus"),
                                                      want_gpu))
    # a fan that stops after turning is reported at 0 rpm
    t.write(os.path.join(root, "sys/class/hwmon/hwmon2/fan1_input"), "0\n")
    wait_metrics(hub, p, lambda m: m.get("fans") == [
        {"name": "nct6798/fan1", "rpm": 0}], "the stopped fan at 0 rpm")
    out = send_metrics(t, hub, "gpu-sysfs")
    check(out.get("temps") and "gpu_procs" not in out,
          "the metrics command: sensors, and no gpu_procs without "
          "NVIDIA: %r" % out)


def test_machine_without_gpu_or_sensors(t):
    no_nvidia(t)
    hub = t.hub()
    p = start(t, hub, "gpu-none", empty_root(t))
    m = wait_metrics(hub, p, lambda m: m.get("mem"), "a heartbeat")
    for k in ("gpus", "temps", "fans"):
        check(k not in m, "a machine without hardware sensors sent %s: %r"
              % (k, m))
    out = send_metrics(t, hub, "gpu-none")
    for k in ("gpus", "temps", "fans", "gpu_procs"):
        check(k not in out, "the metrics command has %s: %r" % (k, out))
    check(not warnings(p, ""), "warnings: %r" % warnings(p, ""))
