"""The live feed /ws/ui (dashboard, hubctl watch), /metrics and the
downsampled metric history (docs/api.md)."""

import base64
import json
import os
import re
import signal
import socket
import sqlite3
import time

import mtest
from mtest import check, fail, wait_until

XSS = "<img src=x onerror=alert(1)>"


def ui(t, hub, token=None):
    """A signed-in /ws/ui session and its snapshot."""
    c = t.ws(hub, path="/ws/ui")
    c.send_json({"t": "auth", "token": token or hub.token})
    snap = c.recv_json(5)
    check(snap.get("t") == "snapshot", "the first answer is not a snapshot:"
          " %r" % snap)
    return c, snap


def next_where(c, pred, timeout, what):
    """The next message for which pred is true (others are skipped)."""
    end = time.monotonic() + mtest.deadline(timeout)
    while True:
        left = end - time.monotonic()
        if left <= 0:
            fail("no %s within %.1fs" % (what, mtest.deadline(timeout)))
        r = c.recv(left)
        if r[0] == "text":
            m = json.loads(r[1])
            if pred(m):
                return m, time.time()
        elif r[0] != "timeout":
            fail("the feed ended while waiting for %s: %r" % (what, r))


def test_ui_snapshot_then_live_status(t):
    hub = t.hub(heartbeat=0.3, miss=3)
    lst = t.enrolled(hub, ["pc-a", XSS], tags=["lab"])
    viewer = hub.create_token("viewer", "watcher")
    c, snap = ui(t, hub, viewer)
    check(snap["role"] == "viewer" and snap["name"] == "watcher",
          "the snapshot does not say who signed in: %r" % snap)
    names = sorted(a["name"] for a in snap["agents"])
    check(names == sorted(["pc-a", XSS]), "snapshot agents: %r" % names)
    for a in snap["agents"]:
        check(a["status"] == "online" and "rx" in a and "tags" in a,
              "snapshot agent %r" % a)
    # metrics come batched, at most once a second per agent
    m, _ = next_where(c, lambda m: m["t"] == "agents", 3, "a metrics batch")
    check(m["agents"] and all("cpu" in a for a in m["agents"]),
          "agents batch: %r" % m)
    batches = 0
    end = time.monotonic() + 3
    while time.monotonic() < end:
        r = c.recv(end - time.monotonic())
        if r[0] == "text" and json.loads(r[1])["t"] == "agents":
            batches += 1
    check(1 <= batches <= 4, "%d metrics batches in 3 s (heartbeat 0.3 s)"
          % batches)
    # a status change is pushed as soon as the hub decides it
    lst[0].signal(signal.SIGSTOP)
    m, got = next_where(c, lambda m: m["t"] == "agent" and
                        m["agent"]["name"] == "pc-a" and
                        m["agent"]["status"] == "critical", 10,
                        "pc-a critical")
    ev = [e for e in hub.events() if e["agent"] == "pc-a" and
          e["to"] == "critical"]
    check(ev, "no critical event")
    delay = got - ev[0]["ts"]
    t.note("critical pushed %.3f s after the hub decided" % delay)
    check(delay < 1.0, "the status change came %.3f s after the hub "
          "decided" % delay)
    m, _ = next_where(c, lambda m: m["t"] == "event" and
                      m["event"]["to"] == "critical", 3, "the event")
    check(m["event"]["agent"] == "pc-a" and m["event"]["type"] == "status",
          "event: %r" % m)
    lst[0].signal(signal.SIGCONT)
    next_where(c, lambda m: m["t"] == "agent" and
               m["agent"]["name"] == "pc-a" and
               m["agent"]["status"] == "online", 10, "pc-a back online")


def test_ui_command_changes(t):
    hub = t.hub()
    t.enrolled(hub, ["pc-a"])
    c, _ = ui(t, hub)
    cid = hub.command("pc-a", {"type": "shell", "cmd": "echo hi"})
    seen, event = [], None
    while "done" not in seen or event is None:
        m, _ = next_where(c, lambda m: m["t"] in ("command", "event"), 10,
                          "command %s changes (have %r)" % (cid, seen))
        if m["t"] == "event":
            if m["event"]["type"] == "command":
                event = m["event"]
            continue
        if m["command"]["id"] != cid:
            continue
        seen.append(m["command"]["status"])
        check(m["command"]["requested_by"] and m["command"]["agent"] ==
              "pc-a" and "output" not in m["command"],
              "command message: %r" % m)
    check(seen[0] in ("queued", "sent") and seen[-1] == "done",
          "command statuses pushed: %r" % seen)
    check(event["from"] == "admin" and cid in event.get("detail", ""),
          "the event does not say who ran it: %r" % event)
    check(event.get("cmd") == "echo hi", "the event does not say what ran:"
          " %r" % event)


def test_command_events_carry_the_command_text(t):
    # GET /api/events has the command's text too, cut to 255 bytes; a
    # hub.db made before the events had it gets the column at start
    hub = t.hub()
    hub.stop()
    db = sqlite3.connect(os.path.join(hub.data, "hub.db"))
    db.execute("ALTER TABLE events DROP COLUMN cmd")
    db.commit()
    db.close()
    hub.start()
    t.enrolled(hub, ["pc-a"])
    long_cmd = "echo " + "\u00e9" * 300
    ids = [hub.command("pc-a", {"type": "shell", "cmd": c})
           for c in ("echo hi", long_cmd)]
    for cid in ids:
        hub.wait_command(cid)
    ev = {e["detail"].split()[0]: e for e in hub.events()
          if e["type"] == "command"}
    check(ev[ids[0]].get("cmd") == "echo hi", "event: %r" % ev[ids[0]])
    cut = ev[ids[1]].get("cmd", "")
    check(len(cut.encode()) <= 255 and cut.endswith("\u2026") and
          long_cmd.startswith(cut[:-1]) and len(cut) > 100,
          "a long command in its event: %r" % cut)
    check(not [e for e in hub.events() if e["type"] == "status" and
               "cmd" in e], "a status event with a cmd")


def test_ui_refuses_bad_sessions(t):
    hub = t.hub()
    for first, what in (({"t": "auth", "token": "t0.nope"}, "a bad token"),
                        ({"t": "auth"}, "auth without a token"),
                        ({"t": "ping"}, "a ping before auth"),
                        ("not json", "text that is not JSON")):
        c = t.ws(hub, path="/ws/ui")
        if isinstance(first, dict):
            c.send_json(first)
        else:
            c.send_text(first)
        msgs, close = c.messages_until_closed(5)
        check(msgs and msgs[0].get("t") == "error" and
              msgs[0].get("code") in ("unauthorized", "bad_request"),
              "%s: %r" % (what, msgs))
        check(close[0] == "close" and close[1] == 1008,
              "%s: closed with %r" % (what, close))
    # a revoked token's session is closed
    tok = hub.create_token("viewer", "soon-gone")
    c, _ = ui(t, hub, tok)
    tid = [x["id"] for x in hub.api("GET", "/api/tokens")["tokens"]
           if x["name"] == "soon-gone"][0]
    hub.api("DELETE", "/api/tokens/" + tid)
    msgs, close = c.messages_until_closed(5)
    check(any(m.get("code") == "unauthorized" for m in msgs),
          "a revoked token's session: %r %r" % (msgs, close))
    # the token is never in the log, and never needed in a URL
    check(hub.token.split(".")[1] not in hub.log(), "the log has a token")
    # other paths are refused before the upgrade
    accepted = False
    try:
        t.ws(hub, path="/ws/other")
        accepted = True
    except (mtest.Failure, mtest.WSClosed, OSError):
        pass
    check(not accepted, "an upgrade to /ws/other was accepted")


def test_ui_session_must_sign_in_in_time(t):
    hub = t.hub()
    c = t.ws(hub, path="/ws/ui")
    msgs, close = c.messages_until_closed(14)
    check(msgs and msgs[0].get("code") == "unauthorized",
          "a silent session: %r %r" % (msgs, close))


test_ui_session_must_sign_in_in_time.time_limit = 40


def test_lagging_ui_is_culled(t):
    """A browser that does not read is dropped, not buffered forever; the
    other sessions and the hub go on."""
    hub = t.hub(tls=False, extra=["--api-rate", "100000",
                                  "--api-burst", "100000"])
    lst = t.listener(hub, "pc-off", key=hub.create_key(), wait_online=True)
    lst.stop()
    hub.wait_status("pc-off", "offline")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", hub.port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /ws/ui HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % key).encode())
    auth = json.dumps({"t": "auth", "token": hub.token}).encode()
    mask = os.urandom(4)
    s.sendall(bytes([0x81, 0x80 | len(auth)]) + mask +
              bytes(b ^ mask[i % 4] for i, b in enumerate(auth)))
    good, _ = ui(t, hub)
    big = "echo " + "x" * 8000
    start = hub.proc.log_size()
    for i in range(2000):
        hub.api("POST", "/api/agents/pc-off/command",
                {"type": "shell", "cmd": big, "queue": "1h"}, expect=202)
        if i % 100 == 99 and "not reading" in hub.proc.log_since(start):
            break
    wait_until(lambda: "not reading" in hub.proc.log_since(start), 10,
               "the hub to drop the session that does not read")
    t.note("dropped after %d commands" % (i + 1))
    s.close()
    # the good session still gets what happens
    cid = hub.command("pc-off", {"type": "shell", "cmd": "true",
                                 "queue": "1h"})
    next_where(good, lambda m: m["t"] == "command" and
               m["command"]["id"] == cid, 10, "the good session's update")
    check(hub.request("GET", "/healthz", token=None).status == 200,
          "the hub is not healthy")


test_lagging_ui_is_culled.time_limit = 180


def test_hubctl_watch(t):
    hub = t.hub(heartbeat=0.3)
    lst = t.enrolled(hub, ["pc-w", "pc-v"])
    argv = t.hubctl_argv(hub, ["watch"])
    w = mtest.Proc(t, "hubctl-watch", argv)
    wait_until(lambda: "watching" in w.stdout_text(), 10,
               "hubctl watch to connect")
    check("2 agents, 2 online" in w.stdout_text(), "the first line: %r"
          % w.stdout_text())
    hub.command("pc-w", {"type": "shell", "cmd": "true"})
    lst[0].signal(signal.SIGSTOP)
    wait_until(lambda: re.search(r"status\s+pc-w\s+late -> critical",
                                 w.stdout_text()), 10,
               "watch to print pc-w going critical")
    lst[0].signal(signal.SIGCONT)
    wait_until(lambda: re.search(r"command\s+pc-w\s+c-\S+ shell true by "
                                 r"admin: done exit 0", w.stdout_text()),
               10, "watch to print the command")
    out = w.stdout_text()
    for ln in out.splitlines():
        check(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  \S", ln),
              "a line without its time: %r" % ln)
    check("\x1b" not in out, "watch printed an escape character")
    w.stop()
    # a bad token and a wrong pin: exit 3, and the token is not sent
    r = t.hubctl(hub, "watch", token="t0.nope", timeout=15)
    check(r.rc == 3 and re.search(r"unauthorized|refused the token", r.err),
          "bad token: %r" % r)
    argv = [mtest.binary("hubctl"), "--hub", hub.url, "--token", hub.token,
            "--fingerprint", "sha256:" + "00" * 32, "watch"]
    r = t.run(argv, timeout=15)
    check(r.rc == 3 and "not sent" in r.err, "wrong pin: %r" % r)
    # --json: the messages as the hub sent them
    argv = t.hubctl_argv(hub, ["--json", "watch"])
    w = mtest.Proc(t, "hubctl-watch-json", argv)
    wait_until(lambda: '"t":"snapshot"' in w.stdout_text(), 10,
               "hubctl --json watch")
    first = json.loads(w.stdout_text().splitlines()[0])
    check(first["t"] == "snapshot", "--json: %r" % first)


test_hubctl_watch.time_limit = 90


# ---- /metrics ----

SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*='
                    r'"([^"\\\n]|\\[\\"n])*",?)*\})? -?[0-9.e+Inf-]+$')


def test_metrics(t):
    hub = t.hub()
    odd = 'we"ird\\name'
    t.enrolled(hub, ["pc-a", odd])
    cid = hub.command("pc-a", {"type": "shell", "cmd": "true"})
    hub.wait_command(cid)
    # CPU once the listener has measured a full second (test_metrics)
    wait_until(lambda: hub.agent("pc-a")["cpu"] is not None, 10,
               "pc-a's first CPU figure")
    r = hub.request("GET", "/metrics", token=None)
    check(r.status == 401, "/metrics without a token: %r" % r)
    viewer = hub.create_token("viewer")
    r = hub.request("GET", "/metrics", token=viewer)
    check(r.status == 200 and r.headers.get("content-type", "")
          .startswith("text/plain; version=0.0.4"), "/metrics: %r %r"
          % (r, r.headers))
    text = r.body.decode()
    for ln in text.splitlines():
        if ln.startswith("#"):
            check(re.match(r"^# (HELP|TYPE) \S+ ", ln), "comment %r" % ln)
            continue
        check(SAMPLE.match(ln), "not a Prometheus sample line: %r" % ln)
    for want in ('maestro_agents{status="online"} 2',
                 'maestro_commands_total{outcome="done"} 1',
                 'maestro_agent_cpu_percent{agent="pc-a"} ',
                 'maestro_agent_memory_percent{agent="we\\"ird\\\\name"} ',
                 'maestro_agent_disk_percent{agent="pc-a"} ',
                 'maestro_agent_up{agent="pc-a"} 1',
                 "# TYPE maestro_heartbeats_total counter",
                 "# TYPE maestro_alerts_total counter"):
        check(want in text, "/metrics lacks %r:\n%s" % (want, text[:3000]))
    hb = int(re.search(r"^maestro_heartbeats_total (\d+)$", text,
                       re.M).group(1))
    check(hb > 0, "no heartbeats counted")


def test_metrics_public_switch(t):
    conf = t.write("hub.conf", "metrics_public = true\n")
    hub = t.hub(extra=["--config", conf])
    r = hub.request("GET", "/metrics", token=None)
    check(r.status == 200 and b"maestro_agents" in r.body,
          "metrics_public = true: %r" % r)


# ---- history ----

def test_history_in_memory_then_stored(t):
    hub = t.hub(heartbeat=0.2)
    t.enrolled(hub, ["pc-h"])
    wait_until(lambda: hub.api("GET", "/api/agents/pc-h/history?range=1h")
               ["points"], 5, "the minute in progress")
    doc = hub.api("GET", "/api/agents/pc-h/history?range=1h")
    p = doc["points"][-1]
    check(doc["step"] == 60 and set(p) == {"ts", "cpu", "mem", "disk", "rx",
                                          "tx"} and p["ts"] % 60 == 0,
          "history point: %r" % doc)
    # once the minute is over the hub writes it, in one batch
    db = os.path.join(hub.data, "hub.db")

    def rows():
        con = sqlite3.connect(db, timeout=5)
        try:
            return con.execute("SELECT count(*) FROM metrics_1m").fetchone()[0]
        finally:
            con.close()
    wait_until(rows, 75, "a minute row in metrics_1m", interval=1)
    doc = hub.api("GET", "/api/agents/pc-h/history?range=24h")
    check(len(doc["points"]) >= 1, "24h history: %r" % doc)


test_history_in_memory_then_stored.time_limit = 120


def test_history_rollup_and_retention(t):
    hub = t.hub()
    t.enrolled(hub, ["pc-r"])
    hub.stop()
    db = os.path.join(hub.data, "hub.db")
    con = sqlite3.connect(db)
    aid = con.execute("SELECT id FROM agents WHERE name = 'pc-r'")\
        .fetchone()[0]
    now = int(time.time())
    q0 = now - now % 900 - 3 * 3600        # three hours ago, a quarter
    rows = [(aid, q0 + 60 * i, 10.0 + i, 20.0, 30.0, 100.0, 200.0)
            for i in range(15)]
    rows.append((aid, now - 3 * 86400 - now % 60, 5.0, 5.0, 5.0, 1.0, 1.0))
    rows.append((aid, now - 40 * 86400, 1.0, 1.0, 1.0, 1.0, 1.0))
    con.executemany("INSERT INTO metrics_1m(agent_id, ts, cpu, mem, disk,"
                    " rx, tx) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    hub.start()
    doc = wait_until(lambda: (lambda d: d if any(
        p["ts"] == q0 for p in d["points"]) else None)(
            hub.api("GET", "/api/agents/pc-r/history?range=7d")), 10,
        "the rolled-up quarter in the 7-day view")
    check(doc["step"] == 900, "7d step: %r" % doc["step"])
    p = [x for x in doc["points"] if x["ts"] == q0][0]
    check(abs(p["cpu"] - 17.0) < 1e-6 and abs(p["tx"] - 200.0) < 1e-6,
          "the quarter's average: %r" % p)
    check(all(x["ts"] >= now - 7 * 86400 - 900 for x in doc["points"]),
          "the 7-day view reaches back further: %r" % doc["points"][:3])

    def count(sql, *args):
        con = sqlite3.connect(db, timeout=5)
        try:
            return con.execute(sql, args).fetchone()[0]
        finally:
            con.close()
    # at start the hub rolls up the finished quarters and prunes: minutes
    # after 48 h, quarters after the retention (default 7 days)
    wait_until(lambda: count("SELECT count(*) FROM metrics_15m WHERE ts = ?",
                             q0) == 1, 10, "the quarter rolled up")
    wait_until(lambda: count("SELECT count(*) FROM metrics_1m WHERE ts < ?",
                             now - 2 * 86400) == 0, 10,
               "minute rows older than 48 h pruned")
    check(count("SELECT count(*) FROM metrics_15m WHERE ts < ?",
                now - 8 * 86400) == 0, "quarters past the retention kept")
    check(count("SELECT count(*) FROM metrics_15m WHERE ts < ?",
                now - 2 * 86400) == 1, "the 3-day-old quarter was lost")
    # a shorter retention prunes the 15-minute rows too
    hub.stop()
    hub.extra = ["--history-retention", "1h"]
    hub.start()
    wait_until(lambda: count("SELECT count(*) FROM metrics_15m WHERE ts < ?",
                             now - 3600) == 0, 10,
               "history_retention = 1h to prune old quarters")
    check(hub.api("GET", "/api/agents/pc-r/history?range=7d")["points"]
          is not None, "history after pruning")
