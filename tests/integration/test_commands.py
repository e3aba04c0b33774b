"""Remote commands end to end, against the real things: docker_ps and
docker_restart on a dockerd of the test's own, screenshots of an Xvfb,
delivery across a killed listener and a cut connection, restart keeping
the agent's identity, a fan-out with every kind of outcome, and the
allow list.

Shell basics (streaming, exit status, timeouts, cap, queue) are in
test_shell.py; restart/stop liveness in test_liveness.py."""

import json
import os
import random
import re
import signal
import subprocess
import time

from docker_env import Dockerd
from mtest import check, deadline, fail, procs_with_cmdline, wait_until
from test_admission import metric
from test_liveness import parent_of
from test_release_hub import FakeAgent
from xvfb_env import Xvfb, png_decode

X_VARS = ("DISPLAY", "XAUTHORITY", "WAYLAND_DISPLAY")


def conf_listener(t, hub, name, key, conf="", env=None, wait=True):
    """A listener with a --config file holding conf, started with env
    (default: the test's), online when wait."""
    extra = []
    if conf:
        extra = ["--config", t.write("conf/%s.conf" % name, conf, 0o600)]
    saved = t.env
    if env is not None:
        t.env = env
    try:
        p = t.listener(hub, name, key=key, extra=extra)
    finally:
        t.env = saved
    if wait:
        wait_until(lambda: t._lst_online(hub, p), 15,
                   "listener %s to be online" % name)
    return p


def run_cmd(hub, agent, body, timeout=20):
    return hub.wait_command(hub.command(agent, body), timeout)


def command_ids(hub, agent):
    return [c.get("id") for c in
            hub.api("GET", "/api/commands?agent=%s&limit=1000"
                    % agent)["commands"]]


def status_of(hub, cid):
    return hub.api("GET", "/api/commands/" + cid).get("status")


# ---- docker ----

def test_docker_ps_and_restart_real_engine(t):
    d = Dockerd(t).start()
    try:
        docker_checks(t, d)
    finally:
        d.stop()


def docker_checks(t, d):
    image = d.import_busybox("mtest-bb:1")
    # --stop-signal KILL: busybox sleep as PID 1 ignores SIGTERM, and the
    # restart would wait out the engine's 10 s stop timeout
    d.docker("run", "-d", "--name", "web", "--network", "none",
             "--stop-signal", "KILL", image, "/bin/sleep", "100000")
    d.docker("run", "--name", "job", "--network", "none", image, "/bin/sh",
             "-c", "exit 0")
    engine = {}
    for ln in d.docker("inspect", "-f", "{{.Id}} {{.Name}} {{.Config.Image}}"
                       " {{.State.Status}}", "web", "job").out.splitlines():
        cid, name, img, state = ln.split()
        engine[name.lstrip("/")] = (cid[:12], img, state)
    check(engine.get("web", ("",) * 3)[2] == "running" and
          engine.get("job", ("",) * 3)[2] == "exited",
          "the engine's containers are not as set up: %r" % engine)

    hub = t.hub()
    key = hub.create_key()
    conf_listener(t, hub, "pc-docker", key, "docker_socket = %s\n" % d.sock)
    missing = os.path.join(d.dir, "missing.sock")
    conf_listener(t, hub, "pc-nodocker", key,
                  "docker_socket = %s\n" % missing)

    # docker_ps: one JSON array of every container, as the engine has them
    c = run_cmd(hub, "pc-docker", {"type": "docker_ps"})
    check(c.get("status") == "done" and c.get("exit") == 0,
          "docker_ps: %r" % c)
    try:
        listed = json.loads(c.get("output") or "")
    except ValueError as e:
        fail("docker_ps output is not JSON (%s): %r" % (e, c.get("output")))
    check(isinstance(listed, list), "docker_ps output %r" % listed)
    by_name = {}
    for e in listed:
        check(isinstance(e, dict) and set(e) == {
            "id", "name", "image", "state", "status", "ports"},
              "docker_ps entry %r: not the documented fields" % e)
        by_name[e["name"]] = e
    check(sorted(by_name) == sorted(engine), "docker_ps lists %r, the "
          "engine has %r" % (sorted(by_name), sorted(engine)))
    for name, (cid, img, state) in engine.items():
        e = by_name[name]
        check((e["id"], e["image"], e["state"]) == (cid, img, state),
              "docker_ps %s: %r, the engine says id %s image %s state %s"
              % (name, e, cid, img, state))
    web = by_name["web"]
    check(web["state"] == "running" and web["image"] == "mtest-bb:1" and
          web["status"].startswith("Up") and web["ports"] == "",
          "web: %r" % web)
    check(by_name["job"]["status"].startswith("Exited (0)"),
          "job: %r" % by_name["job"])

    # what hubctl makes of it: a table
    r = t.hubctl(hub, "send", "pc-docker", "docker_ps")
    check(r.rc == 0, "hubctl send docker_ps: %r" % r)
    check(any(re.search(r"\bweb\b.*\bmtest-bb:1\b.*\brunning\b", ln)
              for ln in r.out.splitlines()),
          "hubctl's table has no row for web: %r" % r.out)

    # docker_restart web: done, and the engine really restarted it
    before = d.inspect("web", "{{.State.StartedAt}}")
    c = run_cmd(hub, "pc-docker", {"type": "docker_restart", "arg": "web"},
                timeout=30)
    check(c.get("status") == "done" and c.get("exit") == 0 and
          c.get("output") == "restarted web\n", "docker_restart web: %r" % c)
    after = d.inspect("web", "{{.State.StartedAt}} {{.State.Running}}")
    check(after.split()[0] != before and after.endswith(" true"),
          "web's StartedAt %s before, %s after docker_restart"
          % (before, after))
    t.note("web StartedAt %s -> %s" % (before, after))

    # an unknown container: the engine's own words (a failed result's
    # exit -1 on the wire is null in the API, as for any command that did
    # not run to an exit status)
    c = run_cmd(hub, "pc-docker", {"type": "docker_restart", "arg": "nope"})
    check(c.get("status") == "failed" and c.get("exit") is None and
          c.get("error") == "No such container: nope",
          "docker_restart nope: %r" % c)

    # no engine at the socket: the reason names it and the fix
    want = ("no Docker socket at %s (is Docker installed and running? set "
            "docker_socket)" % missing)
    for body in ({"type": "docker_ps"},
                 {"type": "docker_restart", "arg": "web"}):
        c = run_cmd(hub, "pc-nodocker", body)
        check(c.get("status") == "failed" and c.get("error") == want,
              "%s with docker_socket %s: %r (expected the error %r)"
              % (body["type"], missing, c, want))
    r = t.hubctl(hub, "send", "pc-nodocker", "docker_ps")
    check(r.rc != 0 and missing in r.err,
          "hubctl send docker_ps without an engine: %r" % r)


# ---- screenshots ----

def check_screenshot(t, hub, agent, want_rgb=b"\x33\x66\xcc"):
    out = t.path("%s.png" % agent)
    r = t.hubctl(hub, "send", agent, "screenshot", "-o", out)
    check(r.rc == 0, "hubctl send %s screenshot -o: %r" % (agent, r))
    with open(out, "rb") as f:
        data = f.read()
    w, h, rows = png_decode(data)
    check((w, h) == (320, 200), "%s: a %dx%d picture of a 320x200 screen"
          % (agent, w, h))
    bad = [(x, y, rows[y][3 * x:3 * x + 3]) for y in range(h)
           for x in range(w) if rows[y][3 * x:3 * x + 3] != want_rgb]
    check(not bad, "%s: %d of %d pixels are not #%s, e.g. %r"
          % (agent, len(bad), w * h, want_rgb.hex(), bad[:3]))
    cmds = hub.api("GET", "/api/commands?agent=%s" % agent)["commands"]
    check(cmds and cmds[0].get("type") == "screenshot",
          "%s: history %r" % (agent, cmds[:2]))
    c = hub.api("GET", "/api/commands/" + cmds[0]["id"])
    check(c.get("status") == "done" and c.get("exit") == 0 and
          c.get("output") == "320x200 PNG, %d bytes\n" % len(data) and
          c.get("png_bytes") == len(data),
          "%s: the screenshot's record %r (file of %d bytes)"
          % (agent, c, len(data)))
    r = hub.request("GET", "/api/commands/%s/png" % c["id"])
    check(r.status == 200 and r.body == data,
          "GET /api/commands/%s/png: HTTP %d, %d bytes, the same as "
          "hubctl's file: %s" % (c["id"], r.status, len(r.body),
                                 r.body == data))
    ctype = {k.lower(): v for k, v in r.headers.items()}.get("content-type")
    check(ctype == "image/png", "GET .../png: Content-Type %r" % ctype)


def test_screenshot_xvfb(t):
    x = Xvfb(t, "320x200x24").start()
    x.run("xsetroot", "-solid", "#3366cc")
    hub = t.hub()
    key = hub.create_key()
    bare = {k: v for k, v in t.env.items() if k not in X_VARS}
    # DISPLAY and XAUTHORITY in the listener's environment
    conf_listener(t, hub, "pc-x-env", key, env=x.env(bare))
    check_screenshot(t, hub, "pc-x-env")
    # neither: the display is found by its socket, the cookie by the X
    # server's -auth argument
    conf = ""
    lower = x.lower_displays()
    if lower:
        conf = "display = %s\n" % x.display
        t.note("X displays %r exist below %s: the listener's own search "
               "would find them first, so this listener is given display "
               "= %s and only the cookie is found by itself"
               % (lower, x.display, x.display))
    conf_listener(t, hub, "pc-x-find", key, conf=conf, env=bare)
    check_screenshot(t, hub, "pc-x-find")


# ---- delivery ----

def test_killed_listener_command_is_lost_at_hello(t):
    hub = t.hub()
    (lst,) = t.enrolled(hub, ["pc-kill9"])
    marker = "30.%06d" % random.randrange(10 ** 6)
    try:
        cid = hub.command("pc-kill9", {"type": "shell", "cmd":
                                       "sleep %s" % marker, "timeout": 60})
        wait_until(lambda: status_of(hub, cid) == "running", 10,
                   "the command to run")
        lst.signal(signal.SIGKILL)
        lst.wait(5)
        # a dropped connection settles nothing by itself
        time.sleep(0.3)
        check(status_of(hub, cid) == "running", "the command is %s before "
              "the listener came back" % status_of(hub, cid))
        t0 = time.monotonic()
        lst2 = t.listener(hub, "pc-kill9", state_dir=lst.state_dir)
        c = wait_until(lambda: (lambda c: c if c.get("status") != "running"
                                else None)(hub.api("GET", "/api/commands/" +
                                                   cid)),
                       10, "the command to be settled after the restart")
        took = time.monotonic() - t0
        check(c.get("status") == "lost", "a command of a killed listener "
              "is %r after the new process said hello: %r"
              % (c.get("status"), c))
        check("restart" in (c.get("error") or ""),
              "the lost command's error does not mention the restart: %r"
              % c.get("error"))
        check(took < deadline(5), "lost only %.1fs after the new listener "
              "started" % took)
        check("welcomed us" in lst2.stderr_text(),
              "the new listener never got a welcome")
        check(re.search(r"command %s on 'pc-kill9' is lost" % cid,
                        hub.log()), "the hub did not log the loss")
        check(command_ids(hub, "pc-kill9").count(cid) == 1,
              "the history does not list the command once")
        t.note("lost %.2fs after the new listener started" % took)
    finally:
        # the killed listener's child lives on: stop it by its PID
        for pid, _ in procs_with_cmdline("sleep " + marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def listener_conn(hub, pid):
    """The local port of pid's established connection to the hub."""
    r = subprocess.run(["ss", "-Htnp", "state", "established", "dst",
                        "127.0.0.1", "dport", "=", ":%d" % hub.port],
                       capture_output=True, text=True, timeout=10,
                       check=False)
    for ln in r.stdout.splitlines():
        m = re.search(r"127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:%d\b" % hub.port,
                      ln)
        if m and "pid=%d," % pid in ln:
            return int(m.group(1))
    return None


def cut_connection(t, hub, lst):
    """Kill the listener's TCP connection (not its process).  Returns
    how: "ss -K", or "SIGSTOP" when this kernel cannot destroy sockets."""
    off = lst.log_size()
    lport = wait_until(lambda: listener_conn(hub, lst.pid), 5,
                       "the listener's connection in ss -tnp")
    r = subprocess.run(["ss", "-HK", "state", "established", "src",
                        "127.0.0.1", "sport", "=", ":%d" % lport, "dst",
                        "127.0.0.1", "dport", "=", ":%d" % hub.port],
                       capture_output=True, text=True, timeout=10,
                       check=False)
    t.note("ss -K: rc %s, %r %r" % (r.returncode, r.stdout, r.stderr))
    if ":%d" % lport in r.stdout:
        wait_until(lambda: "retrying in" in lst.log_since(off), 5,
                   "the listener to notice its connection was killed")
        return "ss -K"
    t.note("ss -K did not kill the connection here (%s); stopping the hub "
           "for 1.5s instead" % (r.stderr.strip().replace("\n", "; ") or
                                 "no socket listed"))
    hub.proc.signal(signal.SIGSTOP)
    try:
        time.sleep(1.5)
    finally:
        hub.proc.signal(signal.SIGCONT)
    return "SIGSTOP"


def test_cut_connection_result_delivered_once(t):
    hub = t.hub()
    (lst,) = t.enrolled(hub, ["pc-net"])
    mark = t.path("ran")
    cid = hub.command("pc-net", {"type": "shell", "cmd":
                                 "echo start-once; echo ran >> %s; sleep 3; "
                                 "echo done-once" % mark})
    wait_until(lambda: "start-once" in (hub.api(
        "GET", "/api/commands/" + cid).get("output") or ""), 10,
               "the command's first line on the hub")
    welcomes = lst.stderr_text().count("welcomed us")
    how = cut_connection(t, hub, lst)
    t.note("connection cut by %s" % how)
    if how == "ss -K":
        wait_until(lambda: lst.stderr_text().count("welcomed us") >
                   welcomes, 10, "the listener to reconnect")
        check(status_of(hub, cid) == "running",
              "the command was %s when the listener came back (it sleeps "
              "3 s)" % status_of(hub, cid))
    c = hub.wait_command(cid, 20)
    out = c.get("output") or ""
    check(c.get("status") == "done" and c.get("exit") == 0,
          "after the cut (%s): %r" % (how, c))
    check(out == "start-once\ndone-once\n",
          "output %r: expected start-once and done-once, once each" % out)
    check(command_ids(hub, "pc-net").count(cid) == 1,
          "the history lists the command %d times"
          % command_ids(hub, "pc-net").count(cid))
    log = lst.stderr_text()
    check(log.count("command %s started" % cid) == 1,
          "the listener started the command %d times:\n%s"
          % (log.count("command %s started" % cid), log[-3000:]))
    with open(mark) as f:
        check(f.read() == "ran\n", "the command ran more than once")
    # the hub kept it once: no second result changed it afterwards
    time.sleep(0.5)
    again = hub.api("GET", "/api/commands/" + cid)
    check(again.get("output") == out and again.get("status") == "done",
          "the record changed after the end: %r" % again)


def test_result_for_an_unknown_command_is_acknowledged(t):
    """A listener holding a result for a command the hub does not run (a
    hub killed after storing it but before its ack; one that no longer
    keeps it) is told to forget it, once the store is written; a known
    command's result still is acknowledged as before."""
    hub = t.hub()
    ag = FakeAgent(t, hub, "pc-held", "1.0.0")
    for cid in ("c-00112233aabbccdd", "c-8899aabbccddeeff"):
        ag.result(cid, "done")
        end = time.monotonic() + deadline(5)
        got = None
        while got is None and time.monotonic() < end:
            m = ag.ws.recv_json(max(0.1, end - time.monotonic()))
            if m.get("t") == "ack":
                got = m
        check(got == {"t": "ack", "id": cid},
              "the hub's answer to a result for unknown %s: %r" % (cid, got))
    check(metric(hub, "maestro_results_unknown_total") == 2,
          "maestro_results_unknown_total after two unknown results")
    check("result for command c-00112233aabbccdd, which this hub does not "
          "run" in hub.log(), "the hub does not say it:\n%s"
          % hub.log()[-2000:])
    check(not hub.api("GET", "/api/commands?agent=pc-held")["commands"],
          "an unknown result was recorded as a command")


# ---- restart keeps the identity ----

def test_restart_keeps_identity(t):
    hub = t.hub()
    saved = t.env
    t.env = {k: v for k, v in t.env.items() if k != "INVOCATION_ID"}
    try:
        (lst,) = t.enrolled(hub, ["pc-reboot"])
    finally:
        t.env = saved
    cred_path = os.path.join(lst.state_dir, "credential")
    with open(cred_path, "rb") as f:
        cred = f.read()
    st = os.stat(cred_path)
    before = hub.agent("pc-reboot")
    r = t.hubctl(hub, "send", "pc-reboot", "restart")
    check(r.rc == 0, "hubctl send restart: %r" % r)
    check(lst.wait(10) == 0, "the old process exit status %s"
          % lst.returncode)

    def fresh():
        out = []
        for pid, cmd in procs_with_cmdline(lst.state_dir):
            if pid == lst.pid or "maestro-listener" not in cmd:
                continue
            out.append(pid)
        return out

    found = wait_until(fresh, 10, "the fresh listener process")
    for pid in found:
        t.adopt(pid)
    # the listener's container tracker is a fork of it: the same command
    # line, the listener its parent
    pids = [pid for pid in found if parent_of(pid) not in found]
    check(len(pids) == 1, "fresh listener processes: %r" % pids)
    check(re.search(r"restarted: \S+ runs as pid %d\b" % pids[0],
                    lst.stderr_text()), "the old process did not log the "
          "fresh one's pid %d" % pids[0])
    wait_until(lambda: (lambda a: a.get("status") == "online" and
                        a.get("connected") and (a.get("since") or 0) >
                        (before.get("since") or 0))(hub.agent("pc-reboot")),
               10, "pc-reboot back online")
    # the same identity: the credential untouched, no second agent
    with open(cred_path, "rb") as f:
        check(f.read() == cred, "the credential changed across a restart")
    st2 = os.stat(cred_path)
    check((st2.st_ino, st2.st_mtime_ns) == (st.st_ino, st.st_mtime_ns),
          "the credential file was rewritten")
    check(sorted(hub.agents()) == ["pc-reboot"], "agents after the "
          "restart: %r" % sorted(hub.agents()))
    c = run_cmd(hub, "pc-reboot", {"type": "shell", "cmd": "echo again"})
    check(c.get("status") == "done" and c.get("output") == "again\n",
          "a command on the fresh process: %r" % c)
    evs = [e for e in hub.events() if e.get("agent") == "pc-reboot"]
    bad = [e for e in evs if e.get("to") == "critical" or
           (e.get("type") == "alert" and e.get("from") == "critical")]
    check(not bad, "critical after a restart command: %r" % bad)
    check(any(e.get("type") == "status" and e.get("to") == "restarting"
              for e in evs), "no status event to restarting: %r" % evs)


# ---- fan-out ----

# Each agent finds its own name on its listener's command line (the
# command's parent), so one command line behaves differently per agent.
FAN_CMD = ("n=$(tr '\\0' '\\n' </proc/$PPID/cmdline | grep -x -A1 -e "
           "--name | tail -n 1); echo \"hello from $n\"; case $n in "
           "fo-exit) exit 3;; fo-slow) sleep 5;; esac")

SUMMARY_RE = re.compile(
    r"^summary: (\d+) ok(?:, (\d+) failed \(([^)]*)\))?"
    r"(?:, (\d+) timed out \(([^)]*)\))?(?:, (\d+) offline \(([^)]*)\))?$",
    re.M)


def parse_summary(err):
    m = SUMMARY_RE.search(err)
    check(m, "no summary line on stderr: %r" % err)

    def names(s):
        return sorted(x.strip() for x in s.split(",")) if s else []
    return {"ok": int(m.group(1)),
            "failed": (int(m.group(2) or 0), names(m.group(3))),
            "timed out": (int(m.group(4) or 0), names(m.group(5))),
            "offline": (int(m.group(6) or 0), names(m.group(7)))}


def test_fanout_mixed_outcomes(t):
    hub = t.hub()
    key = hub.create_key()
    for name in ("fo-ok", "fo-exit", "fo-slow", "fo-off"):
        conf_listener(t, hub, name, key, wait=False)
    conf_listener(t, hub, "fo-deny", key, conf="allow = metrics\n",
                  wait=False)
    lst = {p.agent: p for p in t.procs if getattr(p, "agent", None)}
    for p in lst.values():
        wait_until(lambda p=p: t._lst_online(hub, p), 15,
                   "%s online" % p.agent)
    lst["fo-off"].signal(signal.SIGTERM)
    lst["fo-off"].wait(10)
    hub.wait_status("fo-off", "offline", 5)

    r = t.hubctl(hub, "send", "--all", "shell", "--timeout", "1", "--",
                 FAN_CMD)
    check(r.rc == 1, "a fan-out with failures: exit status %s, expected 1: "
          "%r" % (r.rc, r))
    s = parse_summary(r.err)
    want = {"ok": 1, "failed": (2, ["fo-deny failed", "fo-exit exit 3"]),
            "timed out": (1, ["fo-slow"]), "offline": (1, ["fo-off"])}
    check(s == want, "summary %r, expected %r; stderr %r" % (s, want, r.err))
    lines = r.out.splitlines()
    for n in ("fo-ok", "fo-exit", "fo-slow"):
        check(lines.count("%s: hello from %s" % (n, n)) == 1,
              "no single line '%s: hello from %s' on stdout: %r"
              % (n, n, r.out))
    check(not [ln for ln in lines if ln.startswith(("fo-deny", "fo-off"))],
          "output from an agent that ran nothing: %r" % r.out)
    for n, why in (("fo-deny", "not allowed on this agent"),
                   ("fo-off", "not sent"), ("fo-slow", "timed out")):
        check(any(ln.startswith("hubctl: %s: " % n) and why in ln
                  for ln in r.err.splitlines()),
              "stderr says nothing of %s (%s): %r" % (n, why, r.err))
    # what the hub recorded for each
    for n, st in (("fo-ok", "done"), ("fo-exit", "done"),
                  ("fo-slow", "timeout"), ("fo-deny", "failed")):
        cmds = hub.api("GET", "/api/commands?agent=" + n)["commands"]
        check(cmds and cmds[0].get("status") == st,
              "%s's last command %r, expected %s" % (n, cmds[:1], st))
    check(not hub.api("GET", "/api/commands?agent=fo-off")["commands"],
          "a command was recorded for the offline agent")

    # every agent reached ran it and exited 0: exit 0, "N ok" alone
    r = t.hubctl(hub, "send", "--all", "shell", "--", "echo", "fine")
    check(r.rc == 1, "with fo-off offline, --all must fail: %r" % r)
    lst["fo-off"] = t.listener(hub, "fo-off",
                               state_dir=lst["fo-off"].state_dir)
    wait_until(lambda: t._lst_online(hub, lst["fo-off"]), 15,
               "fo-off back online")
    r = t.hubctl(hub, "send", "--all", "shell", "--", "echo", "fine")
    check(r.rc == 1 and parse_summary(r.err)["failed"] == (
        1, ["fo-deny failed"]), "only fo-deny refuses: %r" % r)
    r = t.hubctl(hub, "send", "--all", "metrics")
    check(r.rc == 0, "metrics on all five: %r" % r)
    s = parse_summary(r.err)
    check(s["ok"] == 5 and re.search(r"^summary: 5 ok$", r.err, re.M),
          "summary for an all-ok fan-out: %r" % r.err)


# ---- allow ----

def test_allow_list_refuses(t):
    hub = t.hub()
    key = hub.create_key()
    conf_listener(t, hub, "pc-metrics-only", key, conf="allow = metrics\n")
    mark = t.path("must-not-exist")
    c = run_cmd(hub, "pc-metrics-only", {"type": "shell",
                                         "cmd": "touch " + mark})
    check(c.get("status") == "failed" and c.get("exit") is None and
          c.get("error") == "not allowed on this agent",
          "shell on an agent with allow = metrics: %r" % c)
    check(not os.path.exists(mark), "the refused command ran")
    hist = hub.api("GET", "/api/commands?agent=pc-metrics-only")["commands"]
    check(any(h.get("id") == c["id"] and h.get("status") == "failed" and
              h.get("error") == "not allowed on this agent" for h in hist),
          "the refusal is not in the history: %r" % hist)
    r = t.hubctl(hub, "send", "pc-metrics-only", "shell", "--", "true")
    check(r.rc != 0 and "not allowed on this agent" in r.err,
          "hubctl send shell to it: %r" % r)
    for kind in ("restart", "stop", "screenshot"):
        c = run_cmd(hub, "pc-metrics-only", {"type": kind})
        check(c.get("status") == "failed" and
              c.get("error") == "not allowed on this agent",
              "%s on an agent with allow = metrics: %r" % (kind, c))
    c = run_cmd(hub, "pc-metrics-only", {"type": "metrics"})
    check(c.get("status") == "done" and c.get("exit") == 0,
          "metrics: %r" % c)
    try:
        m = json.loads(c.get("output") or "")
    except ValueError as e:
        fail("metrics output is not JSON (%s): %r" % (e, c.get("output")))
    # cpu too once the listener has measured a full second (test_metrics)
    check(isinstance(m, dict) and "mem" in m and "load" in m,
          "metrics output %r" % m)
    check(hub.status("pc-metrics-only") == "online",
          "the agent is %s after refused restart and stop"
          % hub.status("pc-metrics-only"))
