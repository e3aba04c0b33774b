"""The listener's container tracker (issue 17): heartbeats carry a "ctr"
part built from the Docker engine's event stream, against a private
dockerd per test (docker_env.Dockerd).

The hub keeps no containers yet, so what each heartbeat carried is read
from the listener's own debug log: lst_ctr_log() writes one line for the
part's head ("heartbeat N ctr K {...}", K containers follow) and one per
container ("heartbeat N ctr-item {...}"), or "heartbeat N without ctr".
"""

import json
import os
import re
import signal

from docker_env import Dockerd
from mtest import Proc, check, wait_until

HB_RE = re.compile(r" heartbeat (\d+) (without ctr|ctr-item|ctr (\d+))"
                   r"(?: (.*))?$")


def beats(p, since=0):
    """The heartbeats p logged after byte offset since, whole ones only:
    dicts {"seq", "ctr" (the part's head, or None), "items"}."""
    out = []
    for line in p.log_since(since).splitlines():
        m = HB_RE.search(line)
        if m is None:
            continue
        if m.group(2) == "without ctr":
            out.append({"seq": int(m.group(1)), "ctr": None, "items": [],
                        "want": 0})
        elif m.group(2) == "ctr-item":
            if out and out[-1]["ctr"] is not None:
                out[-1]["items"].append(json.loads(m.group(4)))
        else:
            out.append({"seq": int(m.group(1)),
                        "ctr": json.loads(m.group(4))["ctr"], "items": [],
                        "want": int(m.group(3))})
    return [b for b in out if len(b["items"]) == b["want"]]


def by_name(items):
    return {c.get("name"): c for c in items if "name" in c}


def find_beat(p, since, pred, timeout, what):
    """The first whole heartbeat after since for which pred holds."""
    found = []

    def look():
        for b in beats(p, since):
            if pred(b):
                found.append(b)
                return True
        return False
    wait_until(look, timeout, what, interval=0.1)
    return found[0]


def item_is(name, **want):
    def pred(b):
        c = by_name(b["items"]).get(name)
        return c is not None and all(c.get(k) == v for k, v in want.items())
    return pred


def lines_with(p, text, since=0):
    """The log lines above debug level after since that hold text."""
    return [ln for ln in p.log_since(since).splitlines()
            if text in ln and " debug: " not in ln]


def listener(t, hub, key, name, conf):
    path = t.write("conf/%s.conf" % name, conf, 0o600)
    p = t.listener(hub, name, key=key,
                   extra=["--config", path, "--log-level", "debug"])
    wait_until(lambda: t._lst_online(hub, p), 15,
               "listener %s to be online" % name)
    return p


def run_setup(d, image):
    # --stop-signal KILL: busybox sleep as PID 1 ignores SIGTERM, and a
    # stop (or dockerd's own shutdown) would wait out its 10 s
    for name in ("web1", "web2"):
        d.docker("run", "-d", "--name", name, "--network", "none",
                 "--stop-signal", "KILL", image, "/bin/sleep", "100000")
    d.docker("run", "--name", "job", "--network", "none", image, "/bin/sh",
             "-c", "exit 3", check=False)


def check_full(b, engine_names):
    ctr = b["ctr"]
    check(ctr.get("full") is True, "not full: %r" % ctr)
    got = by_name(b["items"])
    check(sorted(got) == sorted(engine_names), "full list %r, the engine "
          "has %r" % (sorted(got), sorted(engine_names)))
    return got


def restart_engine(t, d):
    """Stop dockerd by its pid and start it again on the same dirs."""
    argv = d.proc.argv
    d.proc.signal(signal.SIGTERM)
    d.proc.wait(30, "dockerd to stop")
    return argv


def start_engine(t, d, argv):
    d.proc = Proc(t, "dockerd-2", argv)
    wait_until(lambda: d.docker("version", check=False, note=False).rc == 0,
               30, "dockerd to answer again", interval=0.2)


def test_heartbeats_follow_the_engine(t):
    d = Dockerd(t).start()
    try:
        engine_checks(t, d)
    finally:
        d.stop()


test_heartbeats_follow_the_engine.time_limit = 240


def engine_checks(t, d):
    image = d.import_busybox("mtest-bb:1")
    run_setup(d, image)
    hub = t.hub(heartbeat=0.5)
    key = hub.create_key()
    p = listener(t, hub, key, "pc-ctr", "docker_socket = %s\n" % d.sock)

    # at connect: every container, counts by state
    b = find_beat(p, 0, lambda b: b["ctr"] is not None and
                  b["ctr"].get("full"), 20, "a full ctr heartbeat")
    check(b["ctr"]["n"] == {"running": 2, "exited": 1},
          "counts: %r" % b["ctr"])
    got = check_full(b, ["web1", "web2", "job"])
    web1, job = got["web1"], got["job"]
    check(re.fullmatch(r"[0-9a-f]{12}", web1["id"]) and
          web1["image"] == image and web1["state"] == "running" and
          web1["image_id"].startswith("sha256:") and
          web1["started"] > 0 and "exit" not in web1 and
          web1["restarts"] == 0 and "digest" not in web1, "web1: %r" % web1)
    check(job["state"] == "exited" and job["exit"] == 3 and
          job["finished"] >= job["started"] > 0 and "stopped" not in job,
          "job: %r" % job)

    # a quiet heartbeat: counts and an empty list
    quiet = find_beat(p, 0, lambda b: b["ctr"] is not None and
                      not b["ctr"].get("full") and b["want"] == 0, 10,
                      "a heartbeat with nothing changed")
    check(quiet["ctr"]["list"] == [] and
          quiet["ctr"]["n"] == {"running": 2, "exited": 1},
          "quiet heartbeat: %r" % quiet)

    # docker kill: exited 137, not a stop
    off = p.log_size()
    d.docker("kill", "web1")
    b = find_beat(p, off, item_is("web1", state="exited"), 15,
                  "web1 to be listed exited")
    c = by_name(b["items"])["web1"]
    check(c.get("exit") == 137 and "stopped" not in c and
          b["ctr"]["n"] == {"running": 1, "exited": 2},
          "killed web1: %r in %r" % (c, b["ctr"]))

    # docker stop: exited and stopped, never first as a crash
    off = p.log_size()
    d.docker("stop", "web2")
    find_beat(p, off, item_is("web2", state="exited", stopped=True), 15,
              "web2 to be listed exited and stopped")
    for b in beats(p, off):
        c = by_name(b["items"]).get("web2")
        check(c is None or c["state"] != "exited" or c.get("stopped"),
              "web2 was sent exited without stopped: %r" % c)

    # a failing health check: unhealthy, with its output
    off = p.log_size()
    d.docker("run", "-d", "--name", "sick", "--network", "none",
             "--stop-signal", "KILL", "--health-cmd", "echo sick; false",
             "--health-interval", "1s", "--health-retries", "1", image,
             "/bin/sleep", "100000")
    b = find_beat(p, off, item_is("sick", health="unhealthy"), 30,
                  "sick to be listed unhealthy")
    c = by_name(b["items"])["sick"]
    check("sick" in c.get("health_log", "") and
          b["ctr"]["n"].get("unhealthy") == 1, "sick: %r in %r"
          % (c, b["ctr"]))

    # docker rm: gone
    off = p.log_size()
    d.docker("rm", "job")
    b = find_beat(p, off, lambda b: any(
        c.get("id") == job["id"] and c.get("gone") for c in b["items"]),
        15, "job to be listed gone")
    check("job" not in by_name(b["items"]) and
          b["ctr"]["n"].get("exited", 0) == 2, "after rm: %r" % b["ctr"])

    engine_restart_checks(t, d, hub, p)


def engine_restart_checks(t, d, hub, p):
    # dockerd goes away: heartbeats go on, without ctr, one line
    off = p.log_size()
    argv = restart_engine(t, d)
    first = find_beat(p, off, lambda b: b["ctr"] is None, 15,
                      "a heartbeat without ctr")
    wait_until(lambda: len([b for b in beats(p, off)
                            if b["seq"] > first["seq"]]) >= 6, 10,
               "heartbeats to go on every 0.5 s without the engine")
    late = [b for b in beats(p, off) if b["seq"] >= first["seq"] and
            b["ctr"] is not None]
    check(late == [], "ctr while the engine is down: %r" % late[:1])
    check(hub.status("pc-ctr") == "online", "status %r" %
          hub.status("pc-ctr"))
    said = lines_with(p, "containers:", off)
    check(len(said) == 1 and "lost the Docker engine" in said[0],
          "log lines about the engine: %r" % said)

    # back: a full list again
    off = p.log_size()
    start_engine(t, d, argv)
    names = d.docker("ps", "-a", "--format", "{{.Names}}").out.split()
    b = find_beat(p, off, lambda b: b["ctr"] is not None and
                  b["ctr"].get("full"), 45, "a full ctr heartbeat after "
                  "the engine came back")
    check_full(b, names)
    check(lines_with(p, "following the Docker engine", off) != [],
          "no line saying the engine is back")


def test_no_engine_no_ctr(t):
    hub = t.hub(heartbeat=0.5)
    key = hub.create_key()
    missing = os.path.join(t.mkdir("nodocker"), "docker.sock")
    p = listener(t, hub, key, "pc-nodocker", "docker_socket = %s\n"
                 % missing)
    q = listener(t, hub, key, "pc-off", "containers = no\n"
                 "docker_socket = %s\n" % missing)
    for x in (p, q):
        wait_until(lambda x=x: len(beats(x)) >= 8, 15,
                   "8 heartbeats from %s" % x.agent)
        got = [b for b in beats(x) if b["ctr"] is not None]
        check(got == [], "%s sent ctr: %r" % (x.agent, got[:1]))
        check(hub.status(x.agent) == "online", "%s: %r"
              % (x.agent, hub.status(x.agent)))
    said = lines_with(p, "containers:")
    check(len(said) == 1 and "no Docker socket" in said[0],
          "log lines about the engine: %r" % said)
    check(lines_with(q, "containers:") == [] and
          lines_with(q, "containers = no") != [],
          "containers = no: %r" % q.stderr_text()[-2000:])
    check(lines_with(p, "container tracker stopped") == [],
          "the tracker restarted: %r" % lines_with(p, "container tracker"))
