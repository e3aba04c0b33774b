"""hubctl survives a hub restart: send, fan-out and watch pick up where
they were (issue 12 item 11)."""

import json
import os
import sqlite3

from mtest import Proc, check, sh_wait_for, wait_until


def restart_hub(hub):
    """Restart the hub as an upgrade does (SIGTERM, start again)."""
    hub.stop()
    hub.start()


def ctl_proc(t, hub, name, *args):
    return Proc(t, name, t.hubctl_argv(hub, list(args)))


def test_send_follows_its_command_across_a_hub_restart(t):
    hub = t.hub(heartbeat=0.5)
    t.enrolled(hub, ["pc-ra"])
    p = ctl_proc(t, hub, "send", "send", "pc-ra", "shell", "--", "sh", "-c",
                 "echo one; sleep 3; echo two")
    wait_until(lambda: "one" in p.stdout_text(), 15, "the first line")
    restart_hub(hub)
    rc = p.wait(30, "hubctl send to end")
    out, err = p.stdout_text(), p.stderr_text()
    check(rc == 0, "hubctl send exited %s across the restart: %s" % (rc, err))
    check(out.split() == ["one", "two"], "output %r, expected one and two, "
          "each once" % out)
    check("lost the hub" in err and "the hub is back" in err,
          "hubctl did not say it lost and found the hub: %r" % err)


def stored_output(hub, cid):
    db = sqlite3.connect(os.path.join(hub.data, "hub.db"))
    try:
        row = db.execute("SELECT output FROM commands WHERE id = ?",
                         (cid,)).fetchone()
        return bytes(row[0]) if row and row[0] is not None else b""
    finally:
        db.close()


def test_running_output_is_stored_before_a_kill9(t):
    # A running command's output reaches the store within a few seconds,
    # so a kill -9 of the hub loses none of what was stored before it.
    hub = t.hub(heartbeat=0.5)
    t.enrolled(hub, ["pc-ra9"])
    p = ctl_proc(t, hub, "send", "send", "pc-ra9", "shell", "--", "sh",
                 "-c", "echo one; sleep 4; echo two")
    wait_until(lambda: "one" in p.stdout_text(), 15, "the first line")
    cid = hub.api("GET", "/api/commands?agent=pc-ra9")["commands"][0]["id"]
    wait_until(lambda: stored_output(hub, cid) == b"one\n", 10,
               "the running command's output in hub.db")
    hub.kill9()
    hub.start()
    rc = p.wait(30, "hubctl send to end")
    out = p.stdout_text()
    check(rc == 0 and out.split() == ["one", "two"],
          "after kill -9: exit %s, output %r: %s" % (rc, out,
                                                     p.stderr_text()))
    doc = hub.api("GET", "/api/commands/%s" % cid)
    check(doc.get("output") == "one\ntwo\n" and not doc.get("error"),
          "the stored command: %r" % doc)


def test_output_not_stored_before_a_kill9_is_sent_again(t):
    # The hub stores a running command's output every 2 s: what it read
    # after its last store dies with a kill -9.  The listener keeps the
    # output it wrote until the result's ack and writes it again to the
    # restarted hub, which fills the hole and skips what it has.
    hub = t.hub(heartbeat=0.5)
    (lst,) = t.enrolled(hub, ["pc-tail"])
    go, go2 = t.path("go"), t.path("go2")
    cid = hub.command("pc-tail", {"type": "shell", "timeout": 60, "cmd":
                                  "echo one; %s; echo two; %s; echo three"
                                  % (sh_wait_for(go), sh_wait_for(go2))})
    # just stored: the next store is 2 s away
    wait_until(lambda: stored_output(hub, cid) == b"one\n", 10,
               "the first line in hub.db")
    open(go, "w").close()
    wait_until(lambda: hub.api("GET", "/api/commands/" + cid)
               .get("output") == "one\ntwo\n", 10, "the second line at the hub")
    hub.kill9()
    check(stored_output(hub, cid) == b"one\n", "the hub stored %r before "
          "the kill: no hole to fill" % stored_output(hub, cid))
    off = len(lst.stderr_text())
    hub.start()
    wait_until(lambda: "welcomed us" in lst.stderr_text()[off:], 15,
               "the listener back at the restarted hub")
    open(go2, "w").close()
    doc = hub.wait_command(cid, 30)
    check(doc.get("status") == "done" and
          doc.get("output") == "one\ntwo\nthree\n" and not doc.get("error"),
          "after the kill -9: %r" % doc)
    check(stored_output(hub, cid) == b"one\ntwo\nthree\n",
          "stored: %r" % stored_output(hub, cid))
    check("writing again the last" in lst.stderr_text()[off:],
          "the listener did not say it wrote its output again:\n%s"
          % lst.stderr_text()[off:])


def test_fanout_follows_its_commands_across_a_hub_restart(t):
    hub = t.hub(heartbeat=0.5)
    t.enrolled(hub, ["pc-fa", "pc-fb"], tags=["lab"])
    p = ctl_proc(t, hub, "fanout", "send", "--tag", "lab", "shell", "--",
                 "sh", "-c", "echo one; sleep 3; echo two")
    wait_until(lambda: p.stdout_text().count("one") == 2, 15,
               "both agents' first line")
    restart_hub(hub)
    rc = p.wait(30, "the fan-out to end")
    lines = sorted(p.stdout_text().splitlines())
    check(rc == 0 and lines == ["pc-fa: one", "pc-fa: two", "pc-fb: one",
                                "pc-fb: two"],
          "fan-out across a restart: exit %s, lines %r: %s"
          % (rc, lines, p.stderr_text()))
    check("the hub is back" in p.stderr_text(), "stderr: %r"
          % p.stderr_text())


def key_lines(text):
    return [ln for ln in text.splitlines() if "key_create" in ln]


def test_watch_resumes_without_losing_or_repeating(t):
    hub = t.hub(heartbeat=0.5)
    w = ctl_proc(t, hub, "watch", "watch")
    wait_until(lambda: "watching" in w.stdout_text(), 10, "watch to start")
    ids = [hub.create_key_doc(uses=1)["id"]]
    wait_until(lambda: len(key_lines(w.stdout_text())) == 1, 10,
               "the first key's audit event")
    restart_hub(hub)
    # made while watch is still away: it must read them from the store
    ids += [hub.create_key_doc(uses=1)["id"] for _ in range(2)]
    wait_until(lambda: len(key_lines(w.stdout_text())) >= 3, 30,
               "watch to catch up after the restart")
    ids.append(hub.create_key_doc(uses=1)["id"])
    wait_until(lambda: len(key_lines(w.stdout_text())) >= 4, 10,
               "the live event after the catch-up")
    lines = key_lines(w.stdout_text())
    for i in ids:
        n = sum(1 for ln in lines if i in ln)
        check(n == 1, "key %s shows %d times in watch: %r" % (i, n, lines))
    check(len(lines) == 4, "key events shown: %r" % lines)
    check(w.alive(), "watch exited: %s" % w.stderr_text())
    check("the hub is back" in w.stderr_text(), "stderr: %r"
          % w.stderr_text())

    # --since shows the stored ones first, oldest first, as JSON too
    s = ctl_proc(t, hub, "since", "--json", "watch", "--since", "1h")
    wait_until(lambda: len(key_lines(s.stdout_text())) >= 4, 10,
               "watch --since 1h to show the stored events")
    evs = [json.loads(ln)["event"] for ln in key_lines(s.stdout_text())]
    got = [e["id"] for e in evs]
    check(got == sorted(got) and len(set(got)) == 4,
          "--since ids %r" % got)
    r = t.hubctl(hub, "watch", "--since", "yesterday")
    check(r.rc == 2 and "--since" in r.err, "bad --since: %r" % r)
