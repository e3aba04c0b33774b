"""Shell commands end to end: hubctl -> hub -> listener -> child and back.

Output must stream while the command runs, the remote exit status must be
hubctl's, a timeout must kill the whole process group, output over the cap
is cut and reported, and a running command must not delay heartbeats."""

import json
import os
import random
import re
import signal
import time

from mtest import (LineReader, Proc, check, deadline, procs_with_cmdline,
                   wait_until)


def one_agent(t, name="pc-sh", **hub_kw):
    hub = t.hub(**hub_kw)
    t.enrolled(hub, [name])
    return hub


def test_shell_round_trip(t):
    hub = one_agent(t)
    r = t.hubctl(hub, "send", "pc-sh", "shell", "--", "sh", "-c",
                 "echo out-line; echo err-line >&2; printf 'a b\\tc\\n'")
    check(r.rc == 0, "rc %s: %r" % (r.rc, r))
    check("out-line\n" in r.out, "stdout lacks out-line: %r" % r)
    check("a b\tc\n" in r.out, "arguments were re-split: %r" % r)
    check("err-line" in r.out + r.err, "stderr output lost: %r" % r)


def test_shell_streams_output_live(t):
    hub = one_agent(t)
    argv = t.hubctl_argv(hub, ["send", "pc-sh", "shell", "--", "sh", "-c",
                               "echo first; sleep 2; echo second"])
    start = time.monotonic()
    p = Proc(t, "hubctl-stream", argv, stdout_pipe=True)
    reader = LineReader(p.p.stdout)
    wait_until(lambda: reader.lines, 10, "the first line from hubctl")
    t_first, first = reader.lines[0]
    check(first == b"first\n", "first line %r" % first)
    check(p.alive(), "hubctl had already exited when the first line came")
    rc = p.wait(15)
    reader.join(5)
    check(rc == 0, "hubctl exit status %s" % rc)
    check(reader.text() == "first\nsecond\n", "output %r" % reader.text())
    t_second = reader.lines[1][0]
    check(t_second - t_first >= 1.5,
          "'first' came only %.2fs before 'second' (after %.2fs): output "
          "is not streamed" % (t_second - t_first, t_first - start))


def test_shell_exit_status_propagates(t):
    hub = one_agent(t)
    for cmd, want in (("exit 7", 7), ("true", 0), ("exit 1", 1),
                      ("kill -TERM $$", 128 + 15), ("exit 255", 255)):
        r = t.hubctl(hub, "send", "pc-sh", "shell", "--", "sh", "-c", cmd)
        check(r.rc == want, "%r: hubctl exited %s, expected %s: %r"
              % (cmd, r.rc, want, r))
    r = t.hubctl(hub, "send", "pc-sh", "shell", "--",
                 "/no/such/program-%d" % os.getpid())
    check(r.rc == 127, "a missing program: rc %s, expected 127 (sh's "
          "'not found'): %r" % (r.rc, r))


def test_shell_timeout_kills_process_group(t):
    hub = one_agent(t)
    marker = "31.%06d" % random.randrange(10 ** 6)
    argv = t.hubctl_argv(hub, ["send", "pc-sh", "shell", "--timeout", "1",
                               "--", "sh", "-c",
                               "sleep %s; echo never" % marker])
    start = time.monotonic()
    p = Proc(t, "hubctl-timeout", argv)
    # the command really runs on the agent (hubctl's own argv holds the
    # marker too: leave it out)
    wait_until(lambda: [x for x in procs_with_cmdline("sleep " + marker)
                        if x[0] != p.pid], 5,
               "the sleep %s process to start" % marker)
    rc = p.wait(10)
    took = time.monotonic() - start
    out = (p.stdout_text() + p.stderr_text())
    check(rc == 124, "hubctl exit status %s, expected 124; output %r"
          % (rc, out))
    check(took < 1 + deadline(3), "hubctl took %.1fs for a 1s timeout"
          % took)
    check("timed out" in out.lower(), "no 'timed out' in %r" % out)
    check("never" not in out, "the command went on after its timeout")
    wait_until(lambda: not procs_with_cmdline(marker), 3,
               "every process of the timed-out command to be gone "
               "(left: %r)" % procs_with_cmdline(marker))


def test_shell_timeout_in_api(t):
    hub = one_agent(t)
    cid = hub.command("pc-sh", {"type": "shell", "cmd": "sleep 20",
                                "timeout": 0.5})
    c = hub.wait_command(cid, 10)
    check(c.get("status") == "timeout", "status %r: %r" % (c.get("status"),
                                                          c))
    check(c.get("error"), "no error text for a timeout: %r" % c)


def test_shell_output_cap(t):
    hub = one_agent(t)
    gen = "head -c %d /dev/zero | tr '\\0' %s"
    # an explicit cap
    r = t.hubctl(hub, "send", "pc-sh", "shell", "--cap", "1000", "--", "sh",
                 "-c", gen % (5000, "x"))
    check(r.rc == 0, "rc %s: %r" % (r.rc, r))
    check(r.out.count("x") == 1000, "%d bytes printed with --cap 1000"
          % r.out.count("x"))
    check("truncat" in r.err.lower(), "truncation not reported on stderr: "
          "%r" % r.err)
    # the default cap, 1 MiB
    r = t.hubctl(hub, "send", "pc-sh", "shell", "--", "sh", "-c",
                 gen % (1100000, "y"), timeout=60)
    check(r.rc == 0, "rc %s (stderr %r)" % (r.rc, r.err))
    check(r.out.count("y") == 1024 * 1024, "%d bytes printed, expected the "
          "default cap of 1048576" % r.out.count("y"))
    check("truncat" in r.err.lower(), "truncation not reported on stderr: "
          "%r" % r.err)
    # what the API keeps
    cid = hub.command("pc-sh", {"type": "shell", "cmd": gen % (5000, "z"),
                                "cap": 1000})
    c = hub.wait_command(cid)
    check(c.get("status") == "done" and c.get("exit") == 0, "%r" % c)
    check(c.get("truncated") is True, "truncated %r" % c.get("truncated"))
    check(c.get("output") == "z" * 1000, "output of %d bytes"
          % len(c.get("output") or ""))
    check(c.get("out_bytes") == 5000, "out_bytes %r" % c.get("out_bytes"))
    # the cap is not a loss: no error (it said bytes "were lost: the hub
    # stopped" until 2026-12-07)
    check(c.get("error") is None, "error %r" % c.get("error"))
    cid = hub.command("pc-sh", {"type": "shell", "cmd": "echo small"})
    c = hub.wait_command(cid)
    check(c.get("truncated") is False and c.get("output") == "small\n",
          "%r" % c)


def test_api_command_stream(t):
    hub = one_agent(t)
    cid = hub.command("pc-sh", {"type": "shell", "cmd":
                                "echo one; echo two >&2; exit 3"})
    r = hub.request("GET", "/api/commands/%s/stream" % cid, timeout=15)
    check(r.status == 200, "stream: %r" % r)
    events = [json.loads(ln) for ln in r.body.decode().splitlines()
              if ln.strip()]
    check(events and events[-1].get("t") == "end", "no end line: %r"
          % events)
    outs = [(e.get("stream"), e.get("data")) for e in events
            if e.get("t") == "out"]
    check(("stdout", "one\n") in outs and ("stderr", "two\n") in outs,
          "out lines %r" % outs)
    end = events[-1]
    check(end.get("status") == "done" and end.get("exit") == 3,
          "end line %r" % end)
    c = hub.api("GET", "/api/commands/" + cid)
    for k in ("agent", "type", "cmd", "status", "exit", "output",
              "created", "started", "finished"):
        check(k in c, "GET /api/commands/ID lacks %r: %r" % (k, c))
    check(c["agent"] == "pc-sh" and c["exit"] == 3, "%r" % c)
    # an unknown command id
    r = hub.request("GET", "/api/commands/c-doesnotexist")
    check(r.status == 404, "unknown command: %r" % r)


def test_command_refused_when_not_online(t):
    hub = one_agent(t)
    hub.command("nobody", {"type": "shell", "cmd": "true"}, expect=404)
    lst = [p for p in t.procs if getattr(p, "agent", None) == "pc-sh"][0]
    lst.signal(signal.SIGTERM)
    lst.wait(10)
    hub.wait_status("pc-sh", "offline", 5)
    hub.command("pc-sh", {"type": "shell", "cmd": "true"}, expect=409)
    hub.command("pc-sh", {"type": "frobnicate"}, expect=400)


def test_heartbeats_continue_during_command(t):
    hub = one_agent(t)
    argv = t.hubctl_argv(hub, ["send", "pc-sh", "shell", "--", "sh", "-c",
                               "sleep 3; echo finished"])
    p = Proc(t, "hubctl-long", argv)
    seen = []
    end = time.monotonic() + 3.0
    while time.monotonic() < end and p.alive():
        a = hub.agents()["pc-sh"]
        seen.append((round(time.monotonic() - end + 3.0, 2), a.get("status"),
                     a.get("last_seen")))
        time.sleep(0.1)
    bad = [s for s in seen if s[1] != "online"]
    check(not bad, "agent not online while a command ran: %r" % bad[:10])
    stamps = sorted(set(s[2] for s in seen))
    # 3 s at a 0.2 s interval: about 15 heartbeats; ask for a third
    check(len(stamps) >= 5, "last_seen moved only %d times in 3s: %r"
          % (len(stamps), stamps))
    rc = p.wait(10)
    check(rc == 0 and "finished" in p.stdout_text(),
          "the command: rc %s, output %r" % (rc, p.stdout_text()))


def test_fanout_all_and_tag(t):
    hub = t.hub()
    t.enrolled(hub, ["fan-a"], tags=["gpu"])
    t.enrolled(hub, ["fan-b"], tags=["cpu"])
    r = t.hubctl(hub, "send", "--all", "shell", "--", "echo", "hi-all")
    check(r.rc == 0, "send --all: %r" % r)
    for n in ("fan-a", "fan-b"):
        check([ln for ln in r.out.splitlines() if n in ln and "hi-all" in ln],
              "send --all: no line with %s and its output: %r" % (n, r.out))
    r = t.hubctl(hub, "send", "--tag", "gpu", "shell", "--", "echo",
                 "hi-gpu")
    check(r.rc == 0, "send --tag gpu: %r" % r)
    check(any("fan-a" in ln and "hi-gpu" in ln for ln in r.out.splitlines()),
          "send --tag gpu: fan-a's line missing: %r" % r.out)
    check("fan-b" not in r.out, "send --tag gpu reached fan-b: %r" % r.out)
    r = t.hubctl(hub, "send", "--all", "shell", "--", "sh", "-c", "exit 3")
    check(r.rc != 0, "send --all with failing commands exited 0: %r" % r)


def test_queue_runs_once_when_back(t):
    hub = t.hub()
    (lst,) = t.enrolled(hub, ["pc-q"])
    lst.signal(signal.SIGTERM)
    lst.wait(10)
    hub.wait_status("pc-q", "offline", 5)
    mark = t.path("queued-ran")
    argv = t.hubctl_argv(hub, ["send", "--queue", "30s", "pc-q", "shell",
                               "--", "sh", "-c", "echo ran >> " + mark])
    p = Proc(t, "hubctl-queue", argv)
    time.sleep(0.5)
    check(p.alive(), "hubctl --queue returned at once: rc %s, %r"
          % (p.returncode, p.stderr_text()))
    check(not os.path.exists(mark), "the command ran while offline")
    t.listener(hub, "pc-q", state_dir=lst.state_dir)
    rc = p.wait(20)
    check(rc == 0, "hubctl --queue: rc %s, stderr %r" % (rc, p.stderr_text()))
    time.sleep(1.0)
    with open(mark) as f:
        runs = f.read()
    check(runs == "ran\n", "a queued command ran %d times"
          % runs.count("ran"))


def test_command_dies_with_a_killed_listener(t):
    # kill -9 of the listener (the OOM killer, say) must not leave its
    # command running with nobody to report or stop it
    hub = t.hub()
    (lst,) = t.enrolled(hub, ["pc-kill9"])
    marker = "32.%06d" % random.randrange(10 ** 6)
    hub.command("pc-kill9", {"type": "shell", "cmd": "exec sleep " + marker,
                             "timeout": 60})
    wait_until(lambda: procs_with_cmdline("sleep " + marker), 5,
               "the sleep %s process to start" % marker)
    lst.signal(signal.SIGKILL)
    lst.wait(5)
    wait_until(lambda: not procs_with_cmdline("sleep " + marker), 5,
               "the command to die with its listener (left: %r)"
               % procs_with_cmdline("sleep " + marker))


def proc_stat(pid):
    """(state, session id) of pid, or None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[3])


def proc_alive(pid):
    """pid runs; a zombie is dead (nothing here may reap it)."""
    st = proc_stat(pid)
    return st is not None and st[0] != "Z"


def session_pids(sid):
    """The live processes of session sid."""
    return [int(d) for d in os.listdir("/proc") if d.isdigit() and
            (lambda st: st is not None and st[0] != "Z" and st[1] == sid)(
                proc_stat(int(d)))]


def read_pids(path):
    """The PIDs a command wrote to path (all of them, or None yet)."""
    try:
        with open(path) as f:
            words = f.read().split()
    except OSError:
        return None
    return [int(w) for w in words] if len(words) == 3 else None


def test_leftovers_of_a_killed_listener_die_at_its_next_start(t):
    # PR_SET_PDEATHSIG kills only a command's first process with its
    # listener; the rest of the command's session must die when the
    # listener starts again - but nothing outside that session
    hub = t.hub()
    (lst,) = t.enrolled(hub, ["pc-orphan"])
    bystander = Proc(t, "bystander", ["sleep", "300"])
    pidfile = t.path("command.pids")
    # its shell (the session), a background job, and one that left the
    # session on purpose (the documented escape)
    cid = hub.command("pc-orphan", {"type": "shell", "timeout": 120, "cmd":
                                    "sleep 300 & b=$!; setsid sleep 300 & "
                                    "echo $$ $b $! > %s.tmp; mv %s.tmp %s; "
                                    "wait" % (pidfile, pidfile, pidfile)})
    sid, job, escaped = wait_until(lambda: read_pids(pidfile), 10,
                                   "the command to write its PIDs")
    try:
        wait_until(lambda: proc_alive(job) and proc_alive(escaped), 5,
                   "the command's background processes")
        lst.signal(signal.SIGKILL)
        lst.wait(5)
        wait_until(lambda: not proc_alive(sid), 5,
                   "the command's shell to die with its listener")
        check(proc_alive(job), "the background job died with the listener "
              "already: nothing left to test")
        lst2 = t.listener(hub, "pc-orphan", state_dir=lst.state_dir)
        wait_until(lambda: not session_pids(sid), 10,
                   "the command's session to be killed at the next start")
        log = wait_until(
            lambda: re.search(r"command %s: killed \d+ leftover process"
                              % re.escape(cid), lst2.stderr_text()), 5,
            "the restarted listener to log the kill")
        t.note(log.group(0))
        check(proc_alive(escaped), "a process that left the command's "
              "session with setsid was killed")
        check(bystander.alive(), "a process outside the command was killed")
        check(not os.path.exists(os.path.join(lst.state_dir, "running")),
              "the running file is still there after the sweep")
    finally:
        for pid in session_pids(sid) + [escaped]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
