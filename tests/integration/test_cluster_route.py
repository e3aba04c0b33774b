"""A request at one hub for an agent another hub holds (issue 20, item 2).

A private redis-server and three real hubs a, b and c with bus =
redis://...; real listeners connect to a only, so b and c have never seen
them (no shared store here: b and c do not even know the agents' names).
What is checked:
- `hubctl send AGENT shell -- echo hi` through b and through c prints
  the output the agent gave at a, with its exit status; the API at b
  answers 202 and GET /api/commands/ID at b follows the command to its
  end; a signed-off (unknown) agent and one that left answer as before
  (404 / exit 4);
- the live feed /ws/ui of c: its snapshot holds the agent held by a
  (with "hub": "a"), and a status change at a reaches c's session;
  GET /api/agents and hubctl agents on b and c list them too;
- a signed command through b: the envelope reaches the listener at a
  verbatim (it runs; an unsigned one is refused by the listener);
- Redis killed: b answers 503 bus_unreachable for the remote agent while
  a still runs commands for it; Redis back: routing works again;
- a terminal (/ws/term) through b and c: the shell at a, its size,
  a resize, 60,000 lines in order, the exit status, the recording at a;
- the hub holding the agent killed mid-command: the command at b ends
  "lost" once b sees that hub down, saying why;
- a screenshot through b of an agent at a (a real Xvfb): hubctl's file,
  the record and GET /api/commands/ID/png at b hold the picture the
  listener took, byte for byte as a has it;
- the round trip of ~200 commands through b against the same at a (p50,
  p99 in the test's notes: MAESTRO_VERBOSE=1).
"""

import http.client
import json
import re
import signal
import time

from cluster_env import Redis, bus_hub
from test_cluster_bus import wait_sees
from mtest import check, quote, tls_client_context, wait_until
from test_signed_ctl import make_key, signed_listener
from test_commands import X_VARS, conf_listener
from test_terminal import Term, line
from test_ui_feed import next_where, ui
from xvfb_env import Xvfb, png_decode

ROUNDS = 200


def send(t, h, agent, *cmd):
    return t.hubctl(h, "send", agent, "shell", "--", *cmd)


def post(h, agent, body):
    return h.request("POST", "/api/agents/%s/command" % quote(agent), body)


def routed(h, agent):
    """b reaches the agent: its hold is in Redis (written at connect)."""
    r = post(h, agent, {"type": "metrics"})
    return r.status == 202


def three_hubs(t):
    redis = Redis(t).start()
    a, b, c = (bus_hub(t, redis, n) for n in "abc")
    return redis, a, b, c


def test_route_command_and_feed(t):
    redis, a, b, c = three_hubs(t)
    key = a.create_key()
    lst = t.listener(a, "pc-1", key=key, wait_online=True)
    t.listener(a, "pc-2", key=key, wait_online=True)
    wait_until(lambda: routed(b, "pc-1"), 10, "b to reach pc-1 held by a")

    for h in (b, c):
        r = send(t, h, "pc-1", "sh", "-c", "echo hi; echo oops >&2; exit 3")
        check(r.rc == 3 and r.out == "hi\n" and "oops" in r.err,
              "send through %s: %r" % (h.hub_name, r))
    cid = b.command("pc-1", {"type": "shell", "cmd": "echo via-b"})
    doc = b.wait_command(cid)
    check(doc["status"] == "done" and doc["output"] == "via-b\n" and
          doc["agent"] == "pc-1", "the command at b: %r" % doc)
    at_a = a.wait_command(cid)
    check(at_a["output"] == "via-b\n" and at_a["requested_by"] ==
          doc["requested_by"], "the same command at a: %r" % at_a)

    # nobody holds it: as without a bus
    r = post(b, "ghost", {"type": "shell", "cmd": "true"})
    check(r.status == 404 and r.json()["code"] == "not_found",
          "unknown agent: %r" % r)
    r = send(t, c, "ghost", "true")
    check(r.rc == 4, "hubctl send to an unknown agent: %r" % r)
    # a bad body is answered by the hub that got it
    r = post(b, "pc-1", {"type": "shell"})
    check(r.status == 400, "bad body through b: %r" % r)

    # the UI feed of c holds the agents held by a
    wait_until(lambda: {x["name"]: x for x in ui(t, c)[1]["agents"]}
               .get("pc-2", {}).get("hub") == "a", 10,
               "c's snapshot to hold pc-2 held by a")
    sess, snap = ui(t, c)
    agents = {x["name"]: x for x in snap["agents"]}
    check(agents["pc-1"]["status"] == "online" and
          agents["pc-1"]["hub"] == "a", "c's snapshot: %r" % agents)
    # GET /api/agents, /api/agents/NAME and hubctl agents on b: the same
    check(b.agents()["pc-2"]["hub"] == "a" and
          b.agent("pc-2")["status"] == "online", "b's agents: %r"
          % b.agents())
    r = t.hubctl(c, "agents")
    check(r.rc == 0 and "pc-1" in r.out and "pc-2" in r.out,
          "hubctl agents on c: %r" % r)
    # c announces its session, so a sends its agents' metrics every
    # heartbeat (not only once a minute)
    def c_watching_at_a():
        hubs = {x["name"]: x for x in a.api("GET", "/api/hubs")["hubs"]}
        return hubs.get("c", {}).get("watching", 0) >= 1
    wait_until(c_watching_at_a, 5, "a to see c's session")
    next_where(sess, lambda m: m["t"] == "agents" and
               any(x["name"] == "pc-1" for x in m["agents"]), 5,
               "pc-1's metrics from a on c's feed")
    lst.signal(signal.SIGTERM)
    seen = set()

    def offline(m):
        if m["t"] == "agent" and m["agent"]["name"] == "pc-1" and \
                m["agent"]["status"] == "offline":
            seen.add("agent")
        if m["t"] == "event" and m["event"].get("agent") == "pc-1" and \
                m["event"].get("to") == "offline" and \
                m["event"].get("hub") == "a":
            seen.add("event")
        return len(seen) == 2
    next_where(sess, offline, 10, "pc-1 offline and its event from a on "
               "c's feed")
    lst.wait(10)
    # it left cleanly: its hold is gone, b answers as for any unknown
    r = send(t, b, "pc-1", "true")
    check(r.rc == 4, "send to an agent that left: %r" % r)
    redis.kill()


def rtt(conn, agent):
    """POST a metrics command, then read its stream to the end: seconds
    to the 202 and to the end."""
    start = time.perf_counter()
    conn.request("POST", "/api/agents/%s/command" % agent,
                 body=json.dumps({"type": "metrics"}),
                 headers=conn.hdrs)
    r = conn.getresponse()
    body = r.read()
    check(r.status == 202, "POST: %d %r" % (r.status, body))
    accepted = time.perf_counter() - start
    conn.request("GET", "/api/commands/%s/stream" % json.loads(body)["id"],
                 headers=conn.hdrs)
    r = conn.getresponse()
    text = r.read()
    check(b'"t":"end"' in text, "stream without an end: %r" % text[-300:])
    return accepted, time.perf_counter() - start


def connect(h):
    conn = http.client.HTTPSConnection(h.host, h.port, timeout=10,
                                       context=tls_client_context())
    conn.hdrs = {"Authorization": "Bearer " + h.token,
                 "Content-Type": "application/json"}
    return conn


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))] * 1000


def bench(t, h, agent, what):
    conn = connect(h)
    acc, full = [], []
    for _ in range(ROUNDS):
        x, y = rtt(conn, agent)
        acc.append(x)
        full.append(y)
    conn.close()
    t.note("%s: %d metrics commands: POST->202 p50 %.2f ms p99 %.2f ms; "
           "POST->stream end p50 %.2f ms p99 %.2f ms"
           % (what, ROUNDS, pct(acc, 50), pct(acc, 99), pct(full, 50),
              pct(full, 99)))
    return pct(full, 50)


def test_route_bus_down_and_round_trip(t):
    redis, a, b, c = three_hubs(t)
    t.listener(a, "pc-1", key=a.create_key(), wait_online=True)
    wait_until(lambda: routed(b, "pc-1"), 10, "b to reach pc-1 held by a")

    direct = bench(t, a, "pc-1", "direct at a (holder)")
    through = bench(t, b, "pc-1", "through b (not holder)")
    check(through < direct + 50, "routing costs %.1f ms more than direct"
          % (through - direct))

    redis.kill()
    r = post(b, "pc-1", {"type": "shell", "cmd": "true"})
    check(r.status == 503 and r.json()["code"] == "bus_unreachable" and
          "bus is unreachable" in r.json()["error"],
          "b with Redis down: %r" % r)
    r = send(t, b, "pc-1", "true")
    check(r.rc != 0 and "bus is unreachable" in r.err,
          "hubctl send through b with Redis down: %r" % r)
    r = send(t, a, "pc-1", "echo", "local")
    check(r.rc == 0 and r.out == "local\n", "a with Redis down: %r" % r)

    redis.start()
    wait_until(lambda: routed(b, "pc-1"), 20,
               "b to reach pc-1 again once Redis is back")
    r = send(t, c, "pc-1", "echo", "back")
    check(r.rc == 0 and r.out == "back\n", "through c after: %r" % r)


def test_route_fanout(t):
    redis, a, b, c = three_hubs(t)
    t.listener(a, "pc-1", key=a.create_key(), tags=["lab"],
               wait_online=True)
    t.listener(b, "pc-2", key=b.create_key(), tags=["lab"],
               wait_online=True)
    t.listener(a, "pc-3", key=a.create_key(), tags=["prod"],
               wait_online=True)
    wait_sees([c], ["a", "b", "c"], 10, "c to see a and b")
    wait_until(lambda: routed(c, "pc-1") and routed(c, "pc-2"), 10,
               "c to reach pc-1 at a and pc-2 at b")

    # through c, which holds none of them: each holder runs its part
    r = t.hubctl(c, "send", "--tag", "lab", "shell", "--", "echo", "fanned")
    check(r.rc == 0 and sorted(r.out.splitlines()) ==
          ["pc-1: fanned", "pc-2: fanned"] and
          re.search(r"^summary: 2 ok$", r.err, re.M),
          "hubctl send --tag lab through c: %r" % r)
    doc = c.api("POST", "/api/commands", {"target": {"all": True},
                                          "type": "shell", "cmd": "echo all"},
                expect=202)
    got = sorted((e["agent"], bool(e.get("id"))) for e in doc["commands"])
    check(got == [("pc-1", True), ("pc-2", True), ("pc-3", True)],
          "the fan-out's entries at c: %r" % doc)
    check(sorted((h["name"], h["ok"]) for h in doc["hubs"]) ==
          [("a", True), ("b", True)], "the hubs that took part: %r" % doc)
    for e in doc["commands"]:
        cmd = c.wait_command(e["id"])
        check(cmd["status"] == "done" and cmd["output"] == "all\n" and
              cmd["agent"] == e["agent"], "%s's command followed at c: %r"
              % (e["agent"], cmd))
        holder = b if e["agent"] == "pc-2" else a
        check(holder.wait_command(e["id"])["output"] == "all\n",
              "%s's command at its holder" % e["agent"])

    # b frozen: c answers without b's part once its time is up, names b,
    # and b, woken, runs nothing behind the operator's back
    ran = len(b.api("GET", "/api/commands?agent=pc-2")["commands"])
    b.proc.signal(signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        r = t.hubctl(c, "send", "--tag", "lab", "shell", "--", "echo",
                     "again")
        took = time.monotonic() - t0
    finally:
        b.proc.signal(signal.SIGCONT)
    check(r.rc == 1 and r.out == "pc-1: again\n" and
          "hub b did not answer within 5 s" in r.err and
          "not in this fan-out" in r.err,
          "hubctl send --tag lab with b frozen: %r" % r)
    check(4.5 < took < 15, "c answered without b after %.1f s" % took)
    wait_until(lambda: "not run here" in b.log(), 15,
               "b to drop the fan-out it got too late")
    check(len(b.api("GET", "/api/commands?agent=pc-2")["commands"]) == ran,
          "b ran the late fan-out")
    redis.kill()


test_route_fanout.time_limit = 90


def test_route_signed_command(t):
    redis, a, b, c = three_hubs(t)
    line = make_key(t, "alice")
    signed_listener(t, a, "pc-sig", [line])
    # (an unsigned metrics command reaches a, which the agent refuses)
    wait_until(lambda: routed(b, "pc-sig"), 10, "b to reach pc-sig at a")
    # the envelope reaches the listener verbatim: it checks the signature
    r = t.hubctl(b, "--key", "alice", "send", "pc-sig", "shell", "--",
                 "printf", "%s|", "it's", "a b")
    check(r.rc == 0 and r.out == "it's|a b|", "signed through b: %r" % r)
    r = t.hubctl(c, "send", "pc-sig", "shell", "--", "echo no")
    check(r.rc == 1 and "unsigned" in r.err, "unsigned through c: %r" % r)
    # a signed fan-out through b: a runs its agent's envelope
    r = t.hubctl(b, "--key", "alice", "send", "--all", "shell", "--",
                 "echo", "signed-fan")
    check(r.rc == 0 and r.out == "pc-sig: signed-fan\n",
          "signed fan-out through b: %r" % r)
    redis.kill()


def test_route_holder_killed_mid_command(t):
    redis = Redis(t).start()
    a, b = (bus_hub(t, redis, n) for n in "ab")
    t.listener(a, "pc-1", key=a.create_key(), wait_online=True)
    wait_until(lambda: routed(b, "pc-1"), 10, "b to reach pc-1 held by a")
    cid = b.command("pc-1", {"type": "shell", "cmd": "echo started; "
                             "sleep 60"})
    wait_until(lambda: b.api("GET", "/api/commands/" + cid)["output"] ==
               "started\n", 10, "the command's first output at b")
    a.kill9()
    doc = wait_until(lambda: (lambda d: d if d["status"] == "lost" else
                              None)(b.api("GET", "/api/commands/" + cid)),
                     20, "the command to be lost at b once a is down")
    check("hub a" in doc["error"] and "went down" in doc["error"],
          "why it is lost: %r" % doc)
    redis.kill()


def test_route_screenshot(t):
    x = Xvfb(t, "320x200x24").start()
    x.run("xsetroot", "-solid", "#3366cc")
    redis = Redis(t).start()
    a, b = (bus_hub(t, redis, n) for n in "ab")
    bare = {k: v for k, v in t.env.items() if k not in X_VARS}
    conf_listener(t, a, "pc-shot", a.create_key(), env=x.env(bare))
    wait_until(lambda: routed(b, "pc-shot"), 10, "b to reach pc-shot at a")
    out = t.path("shot.png")
    r = t.hubctl(b, "send", "pc-shot", "screenshot", "-o", out)
    check(r.rc == 0, "hubctl send pc-shot screenshot -o through b: %r" % r)
    with open(out, "rb") as f:
        data = f.read()
    w, h, rows = png_decode(data)
    check((w, h) == (320, 200) and rows[0][:3] == b"\x33\x66\xcc",
          "hubctl's file through b: %dx%d, first pixel %r"
          % (w, h, rows[0][:3]))

    cid = b.api("POST", "/api/agents/pc-shot/screenshot", {},
                expect=202)["id"]
    doc = b.wait_command(cid, 20)
    at_a = a.request("GET", "/api/commands/%s/png" % cid)
    at_b = b.request("GET", "/api/commands/%s/png" % cid)
    check(doc["status"] == "done" and at_a.status == 200 and
          doc.get("png") == "/api/commands/%s/png" % cid and
          doc.get("png_bytes") == len(at_a.body),
          "the record at b: %r (the picture at a: HTTP %d, %d bytes)"
          % (doc, at_a.status, len(at_a.body)))
    ctype = {k.lower(): v for k, v in at_b.headers.items()}.get(
        "content-type")
    check(at_b.status == 200 and at_b.body == at_a.body and
          ctype == "image/png", "GET .../png at b: HTTP %d, %d bytes, %r, "
          "the same as at a: %s" % (at_b.status, len(at_b.body), ctype,
                                    at_b.body == at_a.body))
    redis.kill()


def test_route_terminal(t):
    redis, a, b, c = three_hubs(t)
    t.listener(a, "pc-term", key=a.create_key(), wait_online=True)
    wait_until(lambda: routed(b, "pc-term"), 10, "b to reach pc-term at a")
    term = Term(t, b, "pc-term", cols=100, rows=30)
    opened = term.opened()
    term.send("stty size; echo routed-$((6*7))\n")
    term.expect(line(b"30 100"))
    term.expect(line(b"routed-42"))
    # a resize goes through too
    term.ws.send_json({"t": "resize", "cols": 90, "rows": 20})
    term.send("stty size\n")
    term.expect(line(b"20 90"))
    # more output than a window, in order, through c
    big = Term(t, c, "pc-term")
    big.opened()
    big.send("seq 1 60000; echo seq-done\n")
    m = big.expect(line(b"seq-done"), timeout=30)
    out = bytes(big.out[:m.start() + 1])
    nums = re.findall(rb"[\r\n](\d+)\r(?=\n)", out)
    check([int(x) for x in nums[-60000:]] == list(range(1, 60001)),
          "seq through c: %d numbers, first %r, around the first: %r"
          % (len(nums), nums[:3], out[out.find(b"seq-done") + 8:][:80]))
    big.send("exit 5\n")
    check(big.end().get("exit") == 5, "exit status through c")
    # the session is recorded at a, the holder, as b's user
    sessions = a.api("GET", "/api/sessions")["sessions"]
    check(any(s["id"] == opened["sid"] for s in sessions),
          "a's sessions: %r" % sessions)
    term.ws.send_json({"t": "close"})
    term.end()
    # nobody holds it: refused as before
    m, _ = Term(t, b, "ghost").refused()
    check(m["code"] == "not_found", "unknown agent: %r" % m)
    redis.kill()
