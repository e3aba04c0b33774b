"""The numbers a user sees first: a listener's CPU figure after its start.

CPU use is a share of the ticks between two readings; the first heartbeat
follows the start by milliseconds, where the few ticks counted once read
as "user 0, system 100".  The listener now leaves CPU out until a window
of at least a second has passed, and every consumer (the agent's JSON,
/metrics, the minute history, alert text, hubctl show) says "not
measured" rather than a number.  A busy loop on one core makes the first
real figure checkable: system-wide user time is at least most of one
core's share.
"""

import json
import os
import sys
import time

import mtest
from mtest import check, wait_until


def burner(t):
    """One core kept busy in user space for the test's length."""
    return mtest.Proc(t, "burner", [sys.executable, "-c",
                                    "while True: pass"])


def one_core_pct():
    return 100.0 / (os.cpu_count() or 1)


def check_busy(cpu, what):
    """cpu: the protocol's {"user", "system", "iowait"} object."""
    floor = 0.6 * one_core_pct()
    check(isinstance(cpu, dict) and cpu.get("user", -1) >= floor and
          cpu.get("user", 101) <= 100 and cpu.get("system", 101) < 50,
          "%s: user should be at least %.0f %% with one of %d cores busy, "
          "and system well under 100: %r"
          % (what, floor, os.cpu_count() or 1, cpu))


def test_first_cpu_figure_comes_from_a_full_window(t):
    burner(t)
    hub = t.hub(heartbeat=0.3)
    key = hub.create_key()
    t0 = time.monotonic()
    p = t.listener(hub, "pc-cpu", key=key)

    def first_heartbeat():
        check(p.alive(), "the listener exited:\n%s" % p.stderr_text())
        a = hub.agent("pc-cpu")
        return a if a and a.get("metrics") else None
    a = wait_until(first_heartbeat, 15, "the first heartbeat", interval=0.01)
    t.note("first metrics seen %.2f s after the start" %
           (time.monotonic() - t0))
    check(a["cpu"] is None and "cpu" not in a["metrics"],
          "the first heartbeat carries a CPU figure from a window of "
          "milliseconds: cpu %r, metrics.cpu %r"
          % (a["cpu"], a["metrics"].get("cpu")))
    check(a["mem"] is not None and "mem" in a["metrics"],
          "the rest of the first heartbeat is there: %r" % a)
    prom = hub.request("GET", "/metrics").body.decode()
    if hub.agent("pc-cpu")["cpu"] is None:	# still the first window
        check('maestro_agent_cpu_percent{agent="pc-cpu"}' not in prom,
              "/metrics has a CPU sample for an agent not measured yet")
    show = t.hubctl(hub, "show", "pc-cpu")
    check(show.rc == 0, "hubctl show: %r" % show)
    if "not measured yet" not in show.out:
        check_busy(hub.agent("pc-cpu")["metrics"].get("cpu"),
                   "hubctl show printed a CPU figure")

    # the metrics command right after the start: none, or a full window
    r = t.hubctl(hub, "send", "pc-cpu", "metrics")
    check(r.rc == 0, "hubctl send metrics: %r" % r)
    m = json.loads(r.out)
    if "cpu" in m:
        check_busy(m["cpu"], "the metrics command right after the start")

    def measured():
        a = hub.agent("pc-cpu")
        return a if a["cpu"] is not None else None
    a = wait_until(measured, 10, "a CPU figure")
    t.note("first CPU figure %.2f s after the start: %r"
           % (time.monotonic() - t0, a["metrics"]["cpu"]))
    check_busy(a["metrics"]["cpu"], "the first CPU figure")
    check(abs(a["cpu"] - sum(a["metrics"]["cpu"].values())) < 1e-6,
          "the agent's cpu %r is not the sum of %r"
          % (a["cpu"], a["metrics"]["cpu"]))
    hist = hub.api("GET", "/api/agents/pc-cpu/history?range=1h")["points"]
    check(hist and hist[-1]["cpu"] is not None,
          "the minute in progress has no CPU: %r" % hist)
    for pt in hist:
        check(pt["cpu"] is None or pt["cpu"] >= 0.6 * one_core_pct(),
              "a minute's CPU average counts the unmeasured heartbeat: %r"
              % hist)
