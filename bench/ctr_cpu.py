#!/usr/bin/env python3
"""Listener CPU with the container tracker (issue 17): a private dockerd
with N busybox `sleep` containers, a hub over TLS at a 10 s heartbeat,
and two listeners on it: one following the engine, one with
containers = no (today's listener, the baseline).  CPU is the on-CPU
time of each listener and, for the first, its tracker child, read from
/proc/PID/schedstat over W windows of M minutes each and scaled to an hour.

    sudo python3 bench/ctr_cpu.py [--containers 20] [--windows 3]
                                  [--minutes 3] [--heartbeat 10]
                                  [--warmup 240]

Needs what tests/integration/docker_env.py needs (root, dockerd,
busybox-static) and a built tree (make).  A third listener at debug
level (not measured) shows the heartbeats' ctr part; the last one that
carried figures is printed at the end.
"""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import mtest  # noqa: E402
from docker_env import Dockerd  # noqa: E402

def cpu_of(pid):
    """Time pid ran on a CPU, in seconds (0 if gone): schedstat's
    nanoseconds, as /proc/PID/stat's 10 ms ticks are too coarse for a
    process that runs a few ms a minute.  Both are single-threaded."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            out.append(int(d))
    return out


def tree_cpu(pid):
    return cpu_of(pid) + sum(cpu_of(c) for c in children(pid))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--containers", type=int, default=20)
    ap.add_argument("--windows", type=int, default=3)
    ap.add_argument("--minutes", type=float, default=3)
    ap.add_argument("--heartbeat", type=float, default=10)
    # idle containers are sampled every minute at first, then less often
    # (60, 120, 240, then 300 s): measure past that ramp
    ap.add_argument("--warmup", type=float, default=240)
    a = ap.parse_args()

    t = mtest.T("bench-ctr-cpu")
    d = Dockerd(t).start()
    try:
        image = d.import_busybox("bench-bb:1")
        for i in range(a.containers):
            d.docker("run", "-d", "--name", "s%02d" % i, "--network", "none",
                     "--stop-signal", "KILL", image, "/bin/sleep", "1000000",
                     note=False)
        hub = t.hub(heartbeat=a.heartbeat, miss=3)
        key = hub.create_key()
        procs = {}
        for name, conf, extra in (
                ("with", "docker_socket = %s\n" % d.sock, []),
                ("without", "containers = no\n", []),
                ("debug", "docker_socket = %s\n" % d.sock,
                 ["--log-level", "debug"])):
            path = t.write("conf/%s.conf" % name, conf, 0o600)
            procs[name] = t.listener(hub, "pc-" + name, key=key,
                                     extra=["--config", path] + extra,
                                     wait_online=True)
        # past the start-up (enrollment, first list, first stats)
        time.sleep(a.warmup)
        res = {"with": [], "without": [], "child": []}
        lst = {"with": procs["with"].pid, "without": procs["without"].pid}
        kid = children(lst["with"])
        for w in range(a.windows):
            t0 = time.monotonic()
            c0 = {k: tree_cpu(pid) for k, pid in lst.items()}
            k0 = sum(cpu_of(c) for c in kid)
            time.sleep(a.minutes * 60)
            dt = time.monotonic() - t0
            for k, pid in lst.items():
                res[k].append((tree_cpu(pid) - c0[k]) * 3600 / dt)
            res["child"].append((sum(cpu_of(c) for c in kid) - k0) * 3600 /
                                dt)
            print("window %d: %s" % (w + 1, ", ".join(
                "%s %.3f s/h" % (k, res[k][-1]) for k in res)), flush=True)
        for k in res:
            print("%s: median %.3f s CPU per hour (%s)" % (
                k, statistics.median(res[k]),
                ", ".join("%.3f" % x for x in res[k])))
        last = [ln for ln in procs["debug"].stderr_text().splitlines()
                if "ctr-item" in ln and '"cpu"' in ln]
        print("last ctr item with figures: %s" % (last[-1] if last else
                                                  "none"))
    finally:
        for p in t.procs:
            if p.name.startswith("listener"):
                p.stop()
        d.stop()
        t.cleanup()


if __name__ == "__main__":
    main()
