"""Terminal session recordings: GET /api/sessions, GET /api/sessions/ID/cast,
hubctl sessions [play], the record_* settings, and what the hub does with
rows and casts on its own (a killed hub's open sessions, retention).

The tests up to the marker below need no terminal relay: they give the hub
recordings the way a killed or older hub leaves them (rows in hub.db,
files in DATA/sessions/) and check what it makes of them.  The ones after
it open real sessions through /ws/term (docs/api.md) and skip while this
tree has no relay."""

import http.client
import json
import os
import re
import signal
import sqlite3
import threading
import time

from mtest import (ASAN, WSClosed, binary, check, fail, free_port, skip,
                   tls_client_context, wait_until)

SID_RE = re.compile(r"^s-[0-9a-f]{16}$")


def one_line_error(r, what, must_contain):
    check(r.rc == 2, "%s: exit status %s, expected 2 (%r)" % (what, r.rc, r))
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    check(len(lines) == 1, "%s: expected one line on stderr, got %r"
          % (what, r.err))
    for s in must_contain:
        check(s in r.err, "%s: stderr %r does not mention %r"
              % (what, r.err, s))


def sessions(hub, query=""):
    doc = hub.api("GET", "/api/sessions" + query)
    check(isinstance(doc.get("sessions"), list),
          "GET /api/sessions: no sessions list: %r" % doc)
    return doc["sessions"]


def cast_lines(body):
    """A cast's header and events, parsed; fails on a bad line."""
    text = body.decode("utf-8")
    check(text.endswith("\n"), "the cast does not end with a newline: %r"
          % text[-200:])
    lines = text.split("\n")[:-1]
    check(lines, "empty cast")
    try:
        head = json.loads(lines[0])
        events = [json.loads(ln) for ln in lines[1:]]
    except ValueError as e:
        fail("the cast is not JSON lines (%s): %r" % (e, text[:500]))
    check(head.get("version") == 2, "header %r" % head)
    for ln, e in zip(lines[1:], events):
        check(isinstance(e, list) and len(e) == 3 and
              isinstance(e[0], (int, float)) and e[1] in ("o", "i", "r")
              and isinstance(e[2], str), "bad event %r" % (e,))
        check(re.match(r"^\[\d+(\.\d{1,6})?,", ln),
              "a time with more than 6 decimals: %r" % ln[:80])
    return head, events


# ---- recordings as a hub leaves them, without a relay ----

def store_rows(hub, rows):
    """Stop the hub, add session rows to its hub.db, start it again."""
    hub.stop()
    db = sqlite3.connect(os.path.join(hub.data, "hub.db"))
    try:
        db.executemany(
            "INSERT INTO sessions(id, agent, user, opened, closed, duration,"
            " reason, exit, bytes_in, bytes_out, cast_bytes, truncated)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.commit()
    finally:
        db.close()


def write_cast(hub, sid, text, mtime=None):
    path = os.path.join(hub.data, "sessions", sid + ".cast")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


HEADER = ('{"version":2,"width":80,"height":24,"timestamp":1795000000,'
          '"env":{"TERM":"xterm-256color"},"title":"pc-rec"}\n')
# 0.1 s, then 9.9 s of nothing (played as 2 s), then 0.5 s: about 2.6 s
PLAY_CAST = (HEADER +
             '[0.1,"o","first\\r\\n"]\n'
             '[5.0,"i","secret typed\\r"]\n'
             '[10.0,"o","second \\u00e9\\r\\n"]\n'
             '[10.2,"r","100x30"]\n'
             '[10.5,"o","42\\r\\n"]\n')
PLAY_OUT = "first\r\nsecond \u00e9\r\n42\r\n"


def test_sessions_empty_list(t):
    hub = t.hub()
    check(sessions(hub) == [], "a new hub lists sessions")
    check(sessions(hub, "?agent=nobody&limit=5") == [],
          "an unknown agent has sessions")
    r = hub.request("GET", "/api/sessions?limit=0")
    check(r.status == 400 and r.json().get("code") == "bad_request",
          "limit=0: %r" % r)
    r = hub.request("GET", "/api/sessions", token=None)
    check(r.status == 401, "no token: %r" % r)
    sdir = os.path.join(hub.data, "sessions")
    check(os.path.isdir(sdir), "no %s" % sdir)
    mode = os.stat(sdir).st_mode & 0o777
    check(mode == 0o700, "%s has mode %o, expected 700" % (sdir, mode))


def test_cast_unknown_is_404(t):
    hub = t.hub()
    for sid in ("s-0123456789abcdef", "s-0123456789ABCDEF", "s-nothex",
                "x", "s-0123456789abcdef0"):
        r = hub.request("GET", "/api/sessions/%s/cast" % sid)
        check(r.status == 404, "%s: %r" % (sid, r))
        doc = r.json()
        check(doc.get("code") == "not_found" and
              "no terminal session '%s'" % sid in doc.get("error", ""),
              "%s: error %r" % (sid, doc))
    # a path out of the directory is no id at all
    for path in ("/api/sessions/..%2Fhub.db/cast",
                 "/api/sessions/%2E%2E/cast"):
        r = hub.request("GET", path)
        check(r.status == 404 and r.json().get("code") == "not_found",
              "%s: %r" % (path, r))


def test_cast_needs_operator(t):
    hub = t.hub()
    viewer = hub.create_token("viewer", name="watcher")
    operator = hub.create_token("operator", name="ops")
    sid = "s-00000000000000aa"
    now = time.time()
    store_rows(hub, [(sid, "pc-rec", "admin", now - 20, now - 10, 10.0,
                      "exit", 0, 3, 9, len(PLAY_CAST), 0)])
    write_cast(hub, sid, PLAY_CAST)
    hub.start()
    r = hub.request("GET", "/api/sessions/%s/cast" % sid, token=viewer)
    check(r.status == 403 and r.json().get("code") == "forbidden",
          "a viewer got the cast: %r" % r)
    # the list is for viewers
    check([s["id"] for s in sessions_as(hub, viewer)] == [sid],
          "the viewer's list")
    r = hub.request("GET", "/api/sessions/%s/cast" % sid, token=operator)
    check(r.status == 200, "operator: %r" % r)
    ctype = {k.lower(): v for k, v in r.headers.items()}.get(
        "content-type", "")
    check(ctype.startswith("application/x-asciicast"),
          "content type %r" % ctype)
    check(r.body.decode() == PLAY_CAST, "the cast changed: %r" % r.body)
    res = t.hubctl(hub, "sessions", "play", sid, token=viewer)
    check(res.rc == 3 and "403" in res.err, "hubctl play as a viewer: %r"
          % res)


def sessions_as(hub, token):
    r = hub.request("GET", "/api/sessions", token=token)
    check(r.status == 200, "GET /api/sessions: %r" % r)
    return r.json()["sessions"]


def test_record_settings_errors_name_the_line(t):
    data = t.mkdir("data")
    port = free_port()
    cases = [
        ("# recordings\nrecord_max = 1K\n", 2, ["record_max", "'1K'",
                                                "64K to 1G"]),
        ("record_max = lots\n", 1, ["record_max", "'lots'", "64K"]),
        ("record_max = 2G\n", 1, ["record_max", "'2G'"]),
        ("\n\nrecord_input = maybe\n", 3, ["record_input", "true or false"]),
        ("record_retention = forever\n", 1, ["record_retention",
                                             "duration"]),
    ]
    for i, (text, line, words) in enumerate(cases):
        conf = t.write("hub-%d.conf" % i, text)
        r = t.run([binary("maestro-hub"), "--config", conf, "--data", data,
                   "--listen", "127.0.0.1:%d" % port], timeout=10)
        one_line_error(r, "config %r" % text, ["%s:%d" % (conf, line)] +
                       words)
    r = t.run([binary("maestro-hub"), "--data", data, "--listen",
               "127.0.0.1:%d" % port, "--record-max", "10"], timeout=10)
    one_line_error(r, "--record-max 10", ["--record-max", "'10'"])
    r = t.run([binary("maestro-hub"), "--help"], timeout=10)
    check(r.rc == 0 and "--record-max" in r.out and "--record-input" in
          r.out and "--record-retention" in r.out, "hub --help: %r" % r)


def test_record_max_bad_on_sighup_changes_nothing(t):
    conf = t.write("hub.conf", "record_max = 1M\n")
    hub = t.hub(extra=["--config", conf])
    with open(conf, "w") as f:
        f.write("# x\nrecord_max = 12\n")
    mark = hub.proc.log_size()
    hub.proc.signal(signal.SIGHUP)
    log = wait_until(lambda: (lambda s: s if "nothing was changed" in s
                              else None)(hub.proc.log_since(mark)), 5,
                     "the refused reload")
    check("%s:2: record_max" % conf in log, "no file:line: %r" % log)
    with open(conf, "w") as f:
        f.write("record_max = 128K\nrecord_input = yes\n"
                "record_retention = 30d\n")
    mark = hub.proc.log_size()
    hub.proc.signal(signal.SIGHUP)
    log = wait_until(lambda: (lambda s: s if "SIGHUP: reloaded" in s
                              else None)(hub.proc.log_since(mark)), 5,
                     "the reload")
    check("changed, which takes effect only" not in log,
          "a record setting needs a restart: %r" % log)


def test_hubctl_sessions_empty(t):
    hub = t.hub()
    r = t.hubctl(hub, "sessions")
    check(r.rc == 0, "rc %s: %r" % (r.rc, r))
    check(r.out.split() == ["ID", "AGENT", "USER", "OPENED", "DURATION",
                            "END", "OUTPUT"], "stdout: %r" % r.out)
    check("no terminal sessions recorded yet" in r.err, "stderr: %r" % r.err)
    r = t.hubctl(hub, "sessions", "pc-none")
    check(r.rc == 0 and "on pc-none" in r.err, "for an agent: %r" % r)
    r = t.hubctl(hub, "--json", "sessions")
    check(r.rc == 0 and r.json() == {"sessions": []}, "--json: %r" % r)
    r = t.hubctl(hub, "sessions", "--help")
    check(r.rc == 0 and "--speed" in r.out and "2 s" in r.out and
          "record_input" in r.out, "--help: %r" % r)
    r = t.hubctl(hub, "sessions", "--limit", "0")
    check(r.rc == 2 and "--limit" in r.err, "--limit 0: %r" % r)


def test_hubctl_play_unknown_id(t):
    hub = t.hub()
    r = t.hubctl(hub, "sessions", "play", "s-0123456789abcdef")
    check(r.rc == 1, "rc %s, expected 1 (as other not-found ids): %r"
          % (r.rc, r))
    check("no terminal session 's-0123456789abcdef'" in r.err and
          "hubctl sessions" in r.err and r.out == "", "output: %r" % r)
    r = t.hubctl(hub, "sessions", "play", "../../etc")
    check(r.rc == 1 and "no terminal session" in r.err, "odd id: %r" % r)
    r = t.hubctl(hub, "sessions", "play")
    check(r.rc == 2 and "session ID" in r.err, "no id: %r" % r)
    r = t.hubctl(hub, "sessions", "play", "s-0123456789abcdef", "--speed",
                 "0")
    check(r.rc == 2 and "--speed" in r.err, "--speed 0: %r" % r)


def test_hubctl_play_replays_with_timing(t):
    hub = t.hub()
    sid = "s-0000000000000b0b"
    now = time.time()
    store_rows(hub, [(sid, "pc-rec", "admin", now - 20, now - 9.5, 10.5,
                      "exit", 0, 13, 20, len(PLAY_CAST), 0)])
    write_cast(hub, sid, PLAY_CAST)
    hub.start()
    r = t.hubctl(hub, "sessions", "play", sid)
    check(r.rc == 0, "rc %s: %r" % (r.rc, r))
    check(r.out == PLAY_OUT, "played %r, expected %r" % (r.out, PLAY_OUT))
    check("secret" not in r.out, "input was played")
    # 0.1 + 2 (9.9 s idle, cut) + 0.5 s
    check(2.4 <= r.elapsed < 8, "speed 1 took %.2fs, expected about 2.6s"
          % r.elapsed)
    fast = t.hubctl(hub, "sessions", "play", sid, "--speed", "4")
    check(fast.rc == 0 and fast.out == PLAY_OUT, "--speed 4: %r" % fast)
    check(0.5 <= fast.elapsed < r.elapsed - 1.2,
          "--speed 4 took %.2fs (speed 1: %.2fs)" % (fast.elapsed, r.elapsed))
    raw = t.hubctl(hub, "--json", "sessions", "play", sid)
    check(raw.rc == 0 and raw.out == PLAY_CAST and raw.elapsed < 5,
          "--json play: %r" % raw)
    table = t.hubctl(hub, "sessions")
    check(table.rc == 0, "sessions: %r" % table)
    row = [ln for ln in table.out.splitlines() if sid in ln]
    check(len(row) == 1 and "pc-rec" in row[0] and "admin" in row[0] and
          "exit 0" in row[0] and "10.5s" in row[0] and "20 B" in row[0],
          "the table's row: %r" % table.out)


def test_killed_hubs_open_session_is_closed_at_start(t):
    hub = t.hub()
    now = time.time()
    sid = "s-00000000000000c1"
    nofile = "s-00000000000000c2"
    # a cast a killed hub left: the last line half written
    text = HEADER + '[0.5,"o","before the kill\\r\\n"]\n[1.2,"o","par'
    store_rows(hub, [(sid, "pc-rec", "ops", now - 100, None, None, None,
                      None, 0, 0, 0, 0),
                     (nofile, "pc-rec", "ops", now - 300, None, None, None,
                      None, 0, 0, 0, 0)])
    write_cast(hub, sid, text, mtime=now - 40)
    hub.start()
    rows = {s["id"]: s for s in wait_until(
        lambda: (lambda l: l if all(s["closed"] for s in l) else None)(
            sessions(hub)), 5, "the open rows to be closed")}
    s = rows[sid]
    check(s["reason"] == "shutdown" and s["exit"] is None, "row %r" % s)
    check(abs(s["closed"] - (now - 40)) < 2, "closed %r, expected the "
          "cast's last write %r" % (s["closed"], now - 40))
    check(abs(s["duration"] - 60) < 2, "duration %r" % s["duration"])
    check(s["cast_bytes"] == len(text), "cast_bytes %r" % s["cast_bytes"])
    check(rows[nofile]["reason"] == "shutdown" and
          abs(rows[nofile]["duration"]) < 1e-6, "no cast: %r" % rows[nofile])
    check(os.path.getsize(os.path.join(hub.data, "sessions", sid + ".cast"))
          == len(text), "the cast was changed")
    r = hub.request("GET", "/api/sessions/%s/cast" % sid)
    check(r.status == 200, "cast: %r" % r)
    head, events = cast_lines(r.body)
    check(events == [[0.5, "o", "before the kill\r\n"]],
          "served %r (the half line must go)" % events)
    r = hub.request("GET", "/api/sessions/%s/cast" % nofile)
    check(r.status == 404 and "has no recording" in r.json()["error"],
          "a row without its file: %r" % r)


def test_large_cast_is_served_in_pieces(t):
    # a 6 MB cast goes out whole, up to its last whole line, while the hub
    # holds a piece of it at a time: a client that leaves halfway and two
    # at once change nothing
    hub = t.hub()
    now = time.time()
    sid = "s-00000000000000d1"
    ev = ['[%d.%06d,"o","%s\\r\\n"]\n' % (i // 1000, i % 1000 * 1000,
                                         "%07d" % i + "x" * 80)
          for i in range(60000)]
    text = HEADER + "".join(ev)
    store_rows(hub, [(sid, "pc-rec", "ops", now - 100, now - 10, 90,
                      "exit", 0, 0, len(text), len(text), 0)])
    write_cast(hub, sid, text + '[61.0,"o","half a li')
    hub.start()
    rss0 = status_kib(hub.proc.pid, "VmRSS")
    conn = http.client.HTTPSConnection(hub.host, hub.port, timeout=10,
                                       context=tls_client_context())
    conn.request("GET", "/api/sessions/%s/cast" % sid,
                 headers={"Authorization": "Bearer " + hub.token})
    resp = conn.getresponse()
    check(resp.status == 200 and
          int(resp.getheader("content-length")) == len(text),
          "the leaving client's answer: %r %r" % (resp.status,
                                                  resp.getheaders()))
    check(len(resp.read(100000)) == 100000, "the first 100 kB")
    conn.close()                # gone with most of it unread
    results = [None, None]

    def fetch(i):
        results[i] = hub.request("GET", "/api/sessions/%s/cast" % sid,
                                 timeout=30)
    threads = [threading.Thread(target=fetch, args=(i,)) for i in (0, 1)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    for r in results:
        check(r is not None and r.status == 200, "cast: %r" % (r,))
        check(r.body == text.encode(), "served %d bytes, expected %d "
              "(the half line cut, nothing else)" % (len(r.body), len(text)))
    check(hub.request("GET", "/healthz", token=None).status == 200,
          "the hub after the downloads")
    # whole, three answers would have taken 18 MB at their peak (not
    # measurable under the sanitizers: ASan's quarantine keeps what is freed)
    grew = status_kib(hub.proc.pid, "VmHWM") - rss0
    check(ASAN or grew < 4096, "the hub's peak grew by %d KiB serving a 6 MB "
          "cast three times" % grew)


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith(field + ":"):
                return int(ln.split()[1])
    fail("no %s for pid %d" % (field, pid))
    return 0


def test_retention_deletes_old_casts_and_rows(t):
    hub = t.hub(extra=["--record-retention", "30d"])
    now = time.time()
    old, kept = "s-00000000000000d1", "s-00000000000000d2"
    store_rows(hub, [(old, "pc-rec", "ops", now - 40 * 86400,
                      now - 40 * 86400 + 5, 5.0, "closed", None, 1, 2,
                      len(HEADER), 0),
                     (kept, "pc-rec", "ops", now - 20 * 86400,
                      now - 20 * 86400 + 5, 5.0, "closed", None, 1, 2,
                      len(HEADER), 0)])
    old_path = write_cast(hub, old, HEADER)
    kept_path = write_cast(hub, kept, HEADER)
    hub.start()
    wait_until(lambda: [s["id"] for s in sessions(hub)] == [kept], 15,
               "the old session's row to go")
    wait_until(lambda: not os.path.exists(old_path), 5,
               "the old cast to be deleted")
    check(os.path.exists(kept_path), "a cast within retention was deleted")


# ---- real sessions through the relay ----

def term_open(t, hub, agent, cols=80, rows=24, token=None):
    """A /ws/term session, signed in: (ws, sid).  Skips when this hub has
    no terminal relay (a tree without it)."""
    try:
        ws = t.ws(hub, path="/ws/term", timeout=10)
    except (AssertionError, WSClosed) as e:
        if isinstance(e, WSClosed) or "handshake" in str(e):
            skip("this hub has no /ws/term (the terminal relay is not in "
                 "this tree)")
        raise
    ws.send_json({"t": "auth", "token": token or hub.token, "agent": agent,
                  "cols": cols, "rows": rows})
    m = ws.recv_json(10)
    check(m.get("t") == "open" and SID_RE.match(m.get("sid", "")),
          "expected open with a session id, got %r" % m)
    return ws, m["sid"]


class Screen:
    """What a session printed, read as it comes."""

    def __init__(self, ws):
        self.ws = ws
        self.out = b""
        self.texts = []
        self.end = None

    def pump(self, timeout=0.2):
        m = self.ws.recv(timeout)
        if m[0] == "binary":
            self.out += m[1]
        elif m[0] == "text":
            doc = json.loads(m[1])
            self.texts.append(doc)
            if doc.get("t") == "end":
                self.end = doc
        elif m[0] in ("close", "eof"):
            self.end = self.end or {"t": "closed", "how": m}
        return m

    def wait_for(self, what, timeout=15):
        def seen():
            self.pump()
            if what(self):
                return True
            check(self.end is None, "the session ended: %r; output %r"
                  % (self.end, self.out[-300:]))
            return False
        wait_until(seen, timeout, "terminal output (so far %r)"
                   % self.out[-200:], interval=0)

    def wait_end(self, timeout=15):
        def ended():
            self.pump()
            return self.end is not None
        wait_until(ended, timeout, "the session's end", interval=0)
        return self.end


def session_row(hub, sid, timeout=10):
    return wait_until(lambda: next((s for s in sessions(hub)
                                    if s["id"] == sid and s["closed"]),
                                   None), timeout,
                      "session %s's row to be closed" % sid)


def run_session(t, hub, agent, typed, marker):
    """Open a session, type, wait for marker in the output, exit."""
    ws, sid = term_open(t, hub, agent)
    sc = Screen(ws)
    ws.send_frame(0x2, typed)
    sc.wait_for(lambda s: marker in s.out)
    ws.send_frame(0x2, b"exit\n")
    end = sc.wait_end()
    check(end.get("reason") == "exit" and end.get("exit") == 0,
          "the end: %r" % end)
    return sid, sc


def test_recording_replays(t):
    hub = t.hub()
    t.enrolled(hub, ["pc-rec"])
    sid, sc = run_session(t, hub, "pc-rec", b"echo $((6*7))\n", b"42")
    row = session_row(hub, sid)
    check(row["agent"] == "pc-rec" and row["user"] and
          row["reason"] == "exit" and row["exit"] == 0 and
          not row["truncated"], "row %r" % row)
    check(row["bytes_in"] == len(b"echo $((6*7))\nexit\n"),
          "bytes_in %r" % row["bytes_in"])
    check(row["bytes_out"] >= len(sc.out) and row["cast_bytes"] > 0,
          "bytes %r (output seen %d)" % (row, len(sc.out)))
    r = hub.request("GET", "/api/sessions/%s/cast" % sid)
    check(r.status == 200, "cast: %r" % r)
    check(len(r.body) == row["cast_bytes"], "cast_bytes %d, served %d"
          % (row["cast_bytes"], len(r.body)))
    head, events = cast_lines(r.body)
    check(head["width"] == 80 and head["height"] == 24 and
          head["title"] == "pc-rec" and
          head["env"] == {"TERM": "xterm-256color"}, "header %r" % head)
    check(not [e for e in events if e[1] == "i"],
          "input was recorded without record_input")
    check("42" in "".join(e[2] for e in events if e[1] == "o"),
          "no 42 in the cast")
    times = [e[0] for e in events]
    check(times == sorted(times), "times go backwards: %r" % times)
    ev = [e for e in hub.events() if e.get("type") == "terminal" and
          sid in e.get("detail", "")]
    check(sorted(e["to"] for e in ev) == ["exit", "opened"],
          "terminal events %r" % ev)
    closed = next(e for e in ev if e["to"] == "exit")
    check(closed["agent"] == "pc-rec" and closed["from"] == row["user"] and
          re.search(r" \d+\.\d s, 19 bytes in, \d+ bytes out$",
                    closed["detail"]), "closed event %r" % closed)
    res = t.hubctl(hub, "sessions", "play", sid, "--speed", "10")
    check(res.rc == 0 and "42" in res.out, "hubctl play: %r" % res)
    table = t.hubctl(hub, "sessions", "pc-rec")
    check(table.rc == 0 and sid in table.out and "exit 0" in table.out,
          "hubctl sessions: %r" % table)
    path = os.path.join(hub.data, "sessions", sid + ".cast")
    check(os.stat(path).st_mode & 0o777 == 0o600, "cast mode %o"
          % (os.stat(path).st_mode & 0o777))


test_recording_replays.time_limit = 90


def test_record_input_keeps_what_was_typed(t):
    hub = t.hub(extra=["--record-input"])
    t.enrolled(hub, ["pc-in"])
    sid, _ = run_session(t, hub, "pc-in", b"echo in-$((2+3))\n", b"in-5")
    session_row(hub, sid)
    r = hub.request("GET", "/api/sessions/%s/cast" % sid)
    check(r.status == 200, "cast: %r" % r)
    _, events = cast_lines(r.body)
    typed = "".join(e[2] for e in events if e[1] == "i")
    check("echo in-$((2+3))" in typed and "exit" in typed,
          "input events %r" % typed)


test_record_input_keeps_what_was_typed.time_limit = 90


def test_record_max_truncates_and_the_session_goes_on(t):
    hub = t.hub(extra=["--record-max", "64K"])
    t.enrolled(hub, ["pc-big"])
    ws, sid = term_open(t, hub, "pc-big")
    sc = Screen(ws)
    ws.send_frame(0x2, b"head -c 300000 /dev/zero | tr '\\0' x; "
                       b"echo; echo done-$((1+1))\n")
    sc.wait_for(lambda s: b"done-2" in s.out, timeout=30)
    ws.send_frame(0x2, b"echo after-$((3+4))\n")
    sc.wait_for(lambda s: b"after-7" in s.out)
    ws.send_frame(0x2, b"exit\n")
    end = sc.wait_end()
    check(end.get("reason") == "exit", "the end: %r" % end)
    row = session_row(hub, sid)
    check(row["truncated"] is True, "row %r" % row)
    check(row["bytes_out"] >= 300000, "bytes_out %r" % row["bytes_out"])
    check(row["cast_bytes"] <= 64 * 1024, "cast_bytes %r over 64K"
          % row["cast_bytes"])
    r = hub.request("GET", "/api/sessions/%s/cast" % sid)
    check(r.status == 200 and len(r.body) == row["cast_bytes"],
          "cast %r (%d bytes)" % (r.status, len(r.body)))
    _, events = cast_lines(r.body)
    check(events[-1][1] == "o" and events[-1][2] ==
          "\r\n[maestro: recording stopped at 64 KiB]\r\n",
          "the last event %r" % (events[-1],))
    check("after-7" not in "".join(e[2] for e in events),
          "the cast went on past record_max")


test_record_max_truncates_and_the_session_goes_on.time_limit = 120


def test_hub_stop_closes_recordings(t):
    hub = t.hub()
    t.enrolled(hub, ["pc-stop"])
    ws, sid = term_open(t, hub, "pc-stop")
    sc = Screen(ws)
    ws.send_frame(0x2, b"echo up-$((8*8))\n")
    sc.wait_for(lambda s: b"up-64" in s.out)
    check(hub.stop() == 0, "the hub did not stop cleanly")
    db = sqlite3.connect(os.path.join(hub.data, "hub.db"))
    try:
        row = db.execute("SELECT reason, closed, cast_bytes FROM sessions"
                         " WHERE id = ?", (sid,)).fetchone()
    finally:
        db.close()
    check(row is not None and row[0] == "shutdown" and row[1] and
          row[2] > 0, "after a clean stop the row is %r" % (row,))
    size = os.path.getsize(os.path.join(hub.data, "sessions",
                                        sid + ".cast"))
    check(size == row[2], "cast_bytes %r, file %d" % (row[2], size))


test_hub_stop_closes_recordings.time_limit = 90

