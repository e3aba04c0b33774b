"""Terminal sessions end to end: a /ws/term client -> hub -> listener ->
a login shell on a PTY and back (docs/api.md "WS /ws/term",
docs/protocol.md "Terminal sessions").

Keystrokes and output are real, the window size is the PTY's, output is
relayed whole and inside the windows (100 MB with a heartbeat still on
time and both daemons' memory flat), and every way a session ends says
so: the shell's exit, idle, the agent killed, the client gone (its process
group killed), refusals by the listener (allow) and by the hub (viewer,
busy)."""

import json
import os
import random
import re
import signal
import threading
import time

import mtest
from mtest import OP_BIN, check, fail, procs_with_cmdline, wait_until


class Term:
    """A /ws/term client: auth, then keystrokes out and output in."""

    def __init__(self, t, hub, agent, token=None, cols=80, rows=24):
        self.ws = t.ws(hub, path="/ws/term", timeout=10)
        self.out = bytearray()
        self.texts = []
        self.closed = None      # ("close", code, reason) or ("eof",)
        self.ws.send_json({"t": "auth", "token": token or hub.token,
                           "agent": agent, "cols": cols, "rows": rows})

    def _one(self, left):
        """Read one message into out/texts; False once the socket ended."""
        m = self.ws.recv(max(left, 0.01))
        if m[0] == "binary":
            self.out += m[1]
        elif m[0] == "text":
            self.texts.append(json.loads(m[1]))
        elif m[0] in ("close", "eof"):
            self.closed = m
            return False
        return True

    def text(self, timeout, what):
        """The next text message (output before it is kept)."""
        n = len(self.texts)
        end = time.monotonic() + mtest.deadline(timeout)
        while len(self.texts) == n:
            left = end - time.monotonic()
            if left <= 0 or self.closed:
                fail("no %s within %.1fs (closed: %r, texts %r, output "
                     "tail %r)" % (what, mtest.deadline(timeout),
                                   self.closed, self.texts,
                                   bytes(self.out[-300:])))
            self._one(left)
        return self.texts[n]

    def opened(self, timeout=15):
        m = self.text(timeout, "the open message")
        check(m.get("t") == "open" and m.get("sid", "").startswith("s-")
              and isinstance(m.get("pid"), int),
              "expected {t: open, sid, pid}, got %r" % m)
        return m

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        check(self.ws.send_frame(OP_BIN, data),
              "sending keystrokes failed: %r" % self.ws.send_error)

    def expect(self, regex, timeout=20):
        """Wait until the output matches regex (bytes); the match."""
        end = time.monotonic() + mtest.deadline(timeout)
        rx = re.compile(regex)
        while True:
            m = rx.search(bytes(self.out))
            if m:
                return m
            left = end - time.monotonic()
            if left <= 0 or self.closed:
                fail("output never matched %r within %.1fs (closed: %r, "
                     "texts %r); its tail: %r"
                     % (regex, mtest.deadline(timeout), self.closed,
                        self.texts, bytes(self.out[-500:])))
            self._one(left)

    def end(self, timeout=10):
        """The end message and how the connection closed."""
        m = self.text(timeout, "the end message")
        check(m.get("t") == "end", "expected {t: end}, got %r" % m)
        deadline_at = time.monotonic() + mtest.deadline(5)
        while not self.closed and time.monotonic() < deadline_at:
            self._one(deadline_at - time.monotonic())
        return m

    def refused(self, timeout=10):
        """The error message of a refusal and the close code."""
        m = self.text(timeout, "the error message")
        check(m.get("t") == "error", "expected {t: error}, got %r" % m)
        deadline_at = time.monotonic() + mtest.deadline(5)
        while not self.closed and time.monotonic() < deadline_at:
            self._one(deadline_at - time.monotonic())
        return m, self.closed


def line(text):
    """A regex for text as a whole line of terminal output (bash may put
    a mode switch such as bracketed paste's before it)."""
    return rb"[\r\n]" + re.escape(text) + rb"\r\n"


def agent_with(t, name="pc-term", conf=None, **hub_kw):
    """A hub and one online listener (with a config file if conf)."""
    hub = t.hub(**hub_kw)
    extra = []
    if conf is not None:
        extra = ["--config", t.write(name + ".conf", conf)]
    key = hub.create_key()
    lst = t.listener(hub, name, key=key, extra=extra, wait_online=True)
    return hub, lst


def gone(pid):
    """The process is gone (reaped), or a zombie nobody will run again."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    fail("no VmRSS for pid %d" % pid)
    return 0


def test_terminal_echo_size_resize_exit(t):
    hub, _ = agent_with(t)
    term = Term(t, hub, "pc-term", cols=100, rows=30)
    op = term.opened()
    check(op["agent"] == "pc-term", "open names agent %r" % op.get("agent"))
    term.send("echo $((6*7))\r")
    term.expect(line(b"42"))
    term.send("stty size; echo TERM=$TERM\r")
    term.expect(line(b"30 100"))
    term.expect(rb"TERM=xterm-256color")
    term.ws.send_json({"t": "resize", "cols": 120, "rows": 40})
    term.send("stty size\r")
    term.expect(line(b"40 120"))
    term.ws.send_json({"t": "ping"})
    check(term.text(5, "pong").get("t") == "pong", "no pong: %r"
          % term.texts[-1])
    term.send("exit 3\r")
    m = term.end()
    check(m.get("reason") == "exit" and m.get("exit") == 3,
          "exit 3 ended with %r" % m)
    check(term.closed and term.closed[0] == "close" and
          term.closed[1] == 1000, "closed with %r, not 1000" % (term.closed,))
    wait_until(lambda: gone(op["pid"]), 5, "the shell %d to be gone"
               % op["pid"])


def test_terminal_100mb_heartbeat_and_memory(t):
    hb = 0.5
    hub, lst = agent_with(t, heartbeat=hb)
    term = Term(t, hub, "pc-term")
    term.opened()
    term.send("echo READY-$((1+1))\r")
    term.expect(rb"READY-2\r\n")
    before = {"hub": rss_kib(hub.proc.pid), "listener": rss_kib(lst.pid)}
    peak = dict(before)
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            for k, pid in (("hub", hub.proc.pid), ("listener", lst.pid)):
                try:
                    peak[k] = max(peak[k], rss_kib(pid))
                except (OSError, mtest.Failure):
                    pass
            stop.wait(0.1)
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    total = 100 * 1000 * 1000
    started = time.monotonic()
    wall0 = time.time()
    term.send("printf 'BEG%%sIN\\n' -; head -c %d /dev/zero | tr '\\0' x; "
              "printf '\\nE%%sND\\n' -\r" % total)
    # stream: count the bytes between the markers without keeping them
    start_mark, end_mark = b"BEG-IN\r\n", b"\r\nE-ND"
    body = None
    xs = other = 0
    tail = b""
    end = time.monotonic() + mtest.deadline(120)
    while True:
        left = end - time.monotonic()
        if left <= 0 or term.closed:
            fail("the 100 MB did not arrive within %.0fs: %d x so far, "
                 "closed %r" % (mtest.deadline(120), xs, term.closed))
        m = term.ws.recv(left)
        if m[0] != "binary":
            check(m[0] in ("timeout", "text"), "stream ended: %r" % (m,))
            continue
        data = tail + m[1]
        if body is None:
            i = data.find(start_mark)
            if i < 0:
                tail = data[-len(start_mark):]
                continue
            data = data[i + len(start_mark):]
            body = True
        j = data.find(end_mark)
        if j >= 0:
            xs += data[:j].count(b"x")
            other += j - data[:j].count(b"x")
            break
        keep = len(end_mark) - 1
        chunk, tail = data[:-keep], data[-keep:]
        xs += chunk.count(b"x")
        other += len(chunk) - chunk.count(b"x")
    elapsed = time.monotonic() - started
    wall1 = time.time()
    stop.set()
    th.join(5)
    after = {"hub": rss_kib(hub.proc.pid), "listener": rss_kib(lst.pid)}
    t.note("100 MB through a terminal in %.1f s (%.0f MB/s); VmRSS KiB "
           "idle/peak/end: hub %d/%d/%d, listener %d/%d/%d"
           % (elapsed, total / elapsed / 1e6, before["hub"], peak["hub"],
              after["hub"], before["listener"], peak["listener"],
              after["listener"]))
    check(xs == total and other == 0, "got %d x and %d other bytes, "
          "expected %d x" % (xs, other, total))
    # under the sanitizers freed memory sits in ASan's quarantine (256 MB):
    # RSS measures that, not our buffers
    for k in () if mtest.ASAN else ("hub", "listener"):
        check(peak[k] - before[k] <= 8 * 1024,
              "%s VmRSS grew from %d to %d KiB during the session"
              % (k, before[k], peak[k]))
    # the heartbeats kept coming: no status change during the transfer
    a = hub.agent("pc-term")
    check(a["status"] == "online", "agent is %s after the transfer"
          % a["status"])
    # (the agent's "first connection" event may fall in the window: only
    # a change away from online counts)
    changes = [e for e in hub.events() if e.get("type") == "status" and
               e.get("agent") == "pc-term" and e.get("to") != "online" and
               wall0 - 1 <= e.get("ts", 0) <= wall1 + 1]
    check(not changes, "the agent's status changed during the transfer "
          "(heartbeats late): %r" % changes)
    term.send("exit\r")
    check(term.end(30).get("reason") == "exit", "no exit end")


def test_terminal_idle_ends_session(t):
    hub, _ = agent_with(t, conf="terminal_idle = 10s\n")
    term = Term(t, hub, "pc-term")
    op = term.opened()
    started = time.monotonic()
    m = term.text(25, "the end message")
    took = time.monotonic() - started
    check(m.get("reason") == "idle", "ended with %r, not idle" % m)
    check(took >= 9, "idle end after only %.1fs" % took)
    t.note("idle end after %.1fs" % took)
    wait_until(lambda: gone(op["pid"]), 5, "the idle shell to be gone")


def test_terminal_agent_killed_mid_session(t):
    hub, lst = agent_with(t)
    term = Term(t, hub, "pc-term")
    op = term.opened()
    term.send("echo ready\r")
    term.expect(line(b"ready"))
    lst.signal(signal.SIGKILL)
    lst.wait(5)
    m = term.end(10)
    check(m.get("reason") == "agent_gone", "ended with %r, not agent_gone"
          % m)
    # the shell dies with its listener (PR_SET_PDEATHSIG)
    wait_until(lambda: gone(op["pid"]), 5, "the shell to die with its "
               "listener")


def test_terminal_allow_refuses(t):
    hub, _ = agent_with(t, conf="allow = shell\n")
    term = Term(t, hub, "pc-term")
    m = term.end(10)
    check(m.get("reason") == "refused" and m.get("msg") ==
          "terminal is not allowed on this agent (allow = shell)",
          "expected a refusal naming allow = shell, got %r" % m)
    # the agent still runs shell commands
    cid = hub.command("pc-term", {"type": "shell", "cmd": "echo ok"})
    check(hub.wait_command(cid).get("status") == "done", "shell refused")


def test_terminal_hub_refusals(t):
    hub, _ = agent_with(t)
    viewer = hub.create_token("viewer", "looker")
    m, closed = Term(t, hub, "pc-term", token=viewer).refused()
    check(m.get("code") == "forbidden", "viewer token: %r" % m)
    check(closed and closed[0] == "close" and closed[1] == 1008,
          "viewer refusal closed with %r" % (closed,))
    m, _ = Term(t, hub, "pc-term", token="tnope.nope").refused()
    check(m.get("code") == "unauthorized", "bad token: %r" % m)
    m, _ = Term(t, hub, "no-such-agent").refused()
    check(m.get("code") == "not_found", "unknown agent: %r" % m)
    operator = hub.create_token("operator", "op")
    terms = [Term(t, hub, "pc-term", token=operator) for _ in range(4)]
    for term in terms:
        term.opened()
    m, _ = Term(t, hub, "pc-term", token=operator).refused()
    check(m.get("code") == "busy", "a fifth session: %r" % m)
    # one ends; the next may open
    terms[0].ws.send_json({"t": "close"})
    check(terms[0].end().get("reason") == "closed", "close: %r"
          % terms[0].texts)
    Term(t, hub, "pc-term", token=operator).opened()


def test_terminal_client_gone_kills_process_group(t):
    hub, _ = agent_with(t)
    term = Term(t, hub, "pc-term")
    op = term.opened()
    marker = "1%d.%06d" % (random.randrange(9), random.randrange(10 ** 6))
    term.send("sleep %s\r" % marker)
    sleepers = wait_until(lambda: procs_with_cmdline("sleep " + marker), 10,
                          "the sleep %s to run" % marker)
    term.ws.close()
    wait_until(lambda: gone(op["pid"]), 5, "the shell %d to be gone after "
               "its client left" % op["pid"])
    for pid, _ in sleepers:
        wait_until(lambda pid=pid: gone(pid), 5, "the sleep %d to be gone"
                   % pid)
    check(not os.path.exists("/proc/%d" % op["pid"]) or gone(op["pid"]),
          "shell left")


def test_terminal_client_gone_while_its_input_waits(t):
    # a shell that reads nothing and echoes nothing: the input window
    # fills, the hub stops reading the client, and the client's close must
    # still end the session (not only when the window opens or it idles)
    hub, _ = agent_with(t)
    term = Term(t, hub, "pc-term")
    op = term.opened()
    marker = "1%d.%06d" % (random.randrange(9), random.randrange(10 ** 6))
    term.send("stty -echo; sleep %s\r" % marker)
    wait_until(lambda: procs_with_cmdline("sleep " + marker), 10,
               "the sleep %s to run" % marker)
    mark = hub.proc.log_size()
    chunk = (b"x" * 1023 + b"\r") * 16          # 16 KiB of lines
    me, hub_port = term.ws.sock.getsockname()[1], hub.port
    # type until the hub stops reading, each piece taken by the hub's
    # kernel before the next: the close's FIN must not wait behind bytes
    # the hub never reads (then no peer could tell, and none is expected to)
    for _ in range(200):
        term.send(chunk)
        wait_until(lambda: tcp_queues(me, hub_port)[0] == 0, 5,
                   "the hub's kernel to take what was typed")
        held = tcp_queues(hub_port, me)[1]
        if held and unchanged(lambda: tcp_queues(hub_port, me)[1], held,
                              0.5):
            break           # bytes the hub leaves unread: it paused
    else:
        fail("the hub read 3 MiB typed into a shell that reads nothing: "
             "its input window does not hold")
    term.ws.close()
    wait_until(lambda: "went away while its input waited" in
               hub.proc.log_since(mark), 5, "the hub to notice the paused "
               "client's close")
    wait_until(lambda: gone(op["pid"]), 5, "the shell %d to be gone after "
               "its client left" % op["pid"])


def unchanged(fn, value, seconds):
    """fn() stays value for the whole of seconds (an absence of reading
    can only be shown by watching for a while)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if fn() != value:
            return False
        time.sleep(0.05)
    return True


def tcp_queues(local, remote):
    """(send, receive) queue bytes of the loopback TCP socket from port
    local to port remote (/proc/net/tcp), (0, 0) when there is none."""
    want = ("0100007F:%04X" % local, "0100007F:%04X" % remote)
    with open("/proc/net/tcp") as f:
        for ln in f.readlines()[1:]:
            fields = ln.split()
            if (fields[1], fields[2]) == want:
                tx, rx = fields[4].split(":")
                return int(tx, 16), int(rx, 16)
    return 0, 0


def raw_agent(t, hub, name, caps=("term",)):
    """A raw /ws/agent connection that enrolled and was welcomed."""
    ws = t.ws(hub)
    ws.send_json({"t": "hello", "v": 1, "name": name,
                  "enroll_key": hub.create_key(), "caps": list(caps)})
    m = ws.recv_json(5)
    check(m.get("t") == "welcome", "raw hello as %s: %r" % (name, m))
    return ws


def next_msg(ws, want, timeout=5):
    """The raw agent's next message of type want (a JSON object), or its
    next binary message (want "binary"); others are skipped."""
    end = time.monotonic() + mtest.deadline(timeout)
    while True:
        m = ws.recv(max(end - time.monotonic(), 0.01))
        if m[0] == "text":
            obj = json.loads(m[1])
            if obj.get("t") == want:
                return obj
        elif m[0] == "binary":
            if want == "binary":
                return m[1]
        else:
            fail("raw agent: waiting for %s, got %r" % (want, m))


def test_terminal_relay_protocol(t):
    # the hub's side of docs/protocol.md, against a scripted agent
    hub = t.hub()
    ag = raw_agent(t, hub, "fake")
    wait_until(lambda: hub.agent("fake")["connected"], 5, "fake connected")
    term = Term(t, hub, "fake", cols=90, rows=20)
    op = next_msg(ag, "term_open")
    ch = op["ch"]
    check(op["cols"] == 90 and op["rows"] == 20 and
          op["sid"].startswith("s-"), "term_open %r" % op)
    ag.send_json({"t": "term_started", "ch": ch, "pid": 4321})
    opened = term.opened()
    check(opened["pid"] == 4321 and opened["sid"] == op["sid"],
          "open %r after term_open %r" % (opened, op))
    hdr = bytes([1]) + ch.to_bytes(4, "big")
    # output: relayed as it is, acknowledged once written to the client
    ag.send_frame(OP_BIN, hdr + b"y" * 16384)
    term.expect(rb"y{16384}")
    ack = next_msg(ag, "term_ack")
    check(ack == {"t": "term_ack", "ch": ch, "n": 16384},
          "term_ack for the output: %r" % ack)
    # input: one frame on the agent's channel
    term.send(b"ls\r")
    check(next_msg(ag, "binary") == hdr + b"ls\r", "input frame")
    ag.send_json({"t": "term_ack", "ch": ch, "n": 3})
    term.ws.send_json({"t": "resize", "cols": 70, "rows": 10})
    rs = next_msg(ag, "term_resize")
    check(rs["cols"] == 70 and rs["rows"] == 10, "term_resize %r" % rs)
    term.ws.send_json({"t": "close"})
    next_msg(ag, "term_close")
    ag.send_json({"t": "term_end", "ch": ch, "reason": "closed"})
    check(term.end().get("reason") == "closed", "end %r" % term.texts)
    # a data frame of a channel that is not open (any more) is refused
    ag.send_frame(OP_BIN, hdr + b"late")
    msgs, end = ag.messages_until_closed(5)
    check(end[0] == "close" and end[1] == 1003, "a frame of a closed "
          "channel: closed with %r after %r" % (end, msgs))
    check(any(m.get("code") == "bad_message" for m in msgs),
          "no bad_message error: %r" % msgs)


def test_terminal_unsupported_agent(t):
    hub = t.hub()
    raw_agent(t, hub, "old", caps=())
    wait_until(lambda: hub.agent("old")["connected"], 5, "old connected")
    m, closed = Term(t, hub, "old").refused()
    check(m.get("code") == "unsupported", "no caps term: %r" % m)
    check(closed and closed[1] == 1008, "closed with %r" % (closed,))


def test_terminal_output_drained_before_exit(t):
    # what the shell printed just before it exited arrives whole, then
    # the exit: the PTY is read to the end first
    hub, _ = agent_with(t)
    term = Term(t, hub, "pc-term")
    term.opened()
    n = 5 * 1000 * 1000
    term.send("head -c %d /dev/zero | tr '\\0' '\\121'; exit 5\r" % n)
    m = term.end(60)
    check(m.get("reason") == "exit" and m.get("exit") == 5,
          "ended with %r" % m)
    got = bytes(term.out).count(b"Q")
    check(got == n, "%d of %d bytes printed before the exit arrived"
          % (got, n))


def test_terminal_hub_stop_ends_sessions(t):
    hub, lst = agent_with(t)
    term = Term(t, hub, "pc-term")
    op = term.opened()
    hub.proc.signal(signal.SIGTERM)
    m = term.end(10)
    check(m.get("reason") == "shutdown", "ended with %r" % m)
    check(hub.proc.wait(10) == 0, "hub exit status")
    # the listener lost its connection: the session ended with it
    wait_until(lambda: gone(op["pid"]), 5, "the shell to end with the "
               "hub connection")
    check(lst.alive(), "the listener died with the hub")
