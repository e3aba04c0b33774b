"""Answering alerts from Telegram: the bot's commands by long polling, the
buttons on alerts, hubctl ack, and a Bot API that misbehaves.

fakeapi.py stands in for api.telegram.org: getUpdates is a real long poll
served from a queue the test fills (push_message, push_callback,
push_raw), and sendMessage, editMessageText and answerCallbackQuery are
recorded.  Listeners are real; SIGSTOP makes one silent so the hub alone
decides it is critical (heartbeat 0.2 s, miss 3)."""

import os
import re
import signal
import time

import fakeapi
from fakeapi import BOTCALL, TELEGRAM, UPDATES
from mtest import check, deadline, wait_until

HB = 0.2
ALICE, BOB, EVE = 111000111, 222000222, 999000999
ALICE_ACTOR = "telegram:%d (@alice)" % ALICE


def chat_conf(fake, extra=""):
    return "\n".join([
        "telegram_bot_token = " + fake.token,
        "telegram_chat_id = " + fake.chat_id,
        "telegram_api = " + fake.telegram_api,
        "telegram_commands = yes",
        "telegram_allow = %d:operator, %d:viewer" % (ALICE, BOB),
    ]) + "\n" + extra


def chat_hub(t, fake, extra="", wait=10):
    path = t.write("hub.conf", chat_conf(fake, extra), mode=0o600)
    hub = t.hub(heartbeat=HB, miss=3, extra=["--config", path])
    hub.conf_path = path
    wait_until(lambda: fake.polls > 0, wait, "the hub's first getUpdates")
    return hub


def reply_to(fake, mid, timeout=5, what=None):
    """The hub's sendMessage answering message mid."""
    def find():
        for m in fake.messages(TELEGRAM):
            if m and (m.get("reply_parameters") or {}).get("message_id") \
                    == mid:
                return m
        return None
    return wait_until(find, timeout, what or "the answer to message %d" % mid)


def ask(fake, text, user=ALICE, name="alice", **kw):
    """Send a command as user; the hub's answer (its text)."""
    _, mid = fake.push_message(user, text, username=name, **kw)
    return reply_to(fake, mid, what="the answer to %r" % text)["text"]


def no_reply(fake, mid, seconds):
    end = time.monotonic() + deadline(seconds)
    while time.monotonic() < end:
        for m in fake.messages(TELEGRAM):
            check((m.get("reply_parameters") or {}).get("message_id") != mid,
                  "message %d was answered: %r" % (mid, m))
        time.sleep(0.05)


def events(hub, typ):
    return [e for e in hub.events() if e.get("type") == typ]


def alert_with_buttons(fake, name, since):
    """The critical alert of agent name sent to Telegram after since."""
    def find():
        for r in fake.got(TELEGRAM, since):
            m = r.json or {}
            if m.get("text", "").startswith("<b>CRITICAL: %s</b>" % name):
                return m
        return None
    return wait_until(find, 10, "the critical alert of " + name)


# ---- tests ----

def test_chat_commands_and_strangers(t):
    fake = fakeapi.start(t)
    hub = chat_hub(t, fake)
    t.enrolled(hub, ["pc-a", "pc-b"], tags=["lab"])
    # the loop answers at once while the bot's request is held open
    check(fake.polls > 0, "no getUpdates held open")
    t0 = time.monotonic()
    r = hub.request("GET", "/healthz", token=None)
    took = time.monotonic() - t0
    check(r.status == 200 and took < deadline(0.5),
          "/healthz took %.3fs during a long poll" % took)
    t.note("/healthz during a held getUpdates: %.1f ms" % (took * 1000))
    text = ask(fake, "/status")
    check(text.startswith("<b>2 agents</b>: 2 online") and
          "All online." in text, "/status: %r" % text)
    text = ask(fake, "/show@MaestroBot pc-a")
    check(text.startswith("<b>pc-a</b>: online since ") and
          "tags: lab" in text, "/show: %r" % text)
    text = ask(fake, "/agents lab", user=BOB, name="bob", private=True)
    check(text.startswith("<pre>") and "pc-a  online" in text and
          "pc-b  online" in text, "/agents lab: %r" % text)
    text = ask(fake, "/ack pc-a", user=BOB, name="bob")
    check(text == "This needs the operator role.", "viewer /ack: %r" % text)
    text = ask(fake, "/help", user=BOB, name="bob")
    check("/status" in text and "/ack" not in text, "viewer help: %r" % text)
    text = ask(fake, "/show nobody")
    check(text.startswith("Unknown agent 'nobody'"), "unknown: %r" % text)
    # a stranger: no answer at all, one event; a flood: few events
    before = len(events(hub, "chat"))
    _, mid = fake.push_message(EVE, "/status", username="eve")
    _, cmid = fake.push_callback(EVE, "s:1", 1, "x", username="eve")
    ask(fake, "/status")        # handled after the stranger's
    no_reply(fake, mid, 0.5)
    check(not [r for r in fake.got(BOTCALL)], "a stranger's button was "
          "answered: %r" % fake.got(BOTCALL))
    ev = wait_until(lambda: (lambda e: e if len(e) >= before + 2 else None)(
        events(hub, "chat")), 5, "the stranger's events")
    check(any("Telegram user %d @eve" % EVE in e["detail"] and
              "sent a command" in e["detail"] for e in ev),
          "stranger event: %r" % ev)
    # an allowed user in another group is refused too
    _, gmid = fake.push_message(ALICE, "/status", username="alice",
                                chat_id=-100777)
    for i in range(30):
        fake.push_message(EVE, "/status %d" % i, username="eve")
    ask(fake, "/help")
    no_reply(fake, gmid, 0.3)
    n = len(events(hub, "chat")) - before
    check(3 <= n <= 5, "%d chat events for 33 attempts (at most 5 a "
          "minute)" % n)
    check(hub.proc.alive(), "the hub died")


def test_chat_silence_ack_and_buttons(t):
    fake = fakeapi.start(t)
    hub = chat_hub(t, fake)
    (pa, pb) = t.enrolled(hub, ["pc-a", "pc-b"])
    # /silence: the same silence object the API and hubctl show
    text = ask(fake, "/silence pc-a 30m kernel upgrade")
    m = re.match(r"Silenced pc-a for 30m \(until .*\) by @alice; id "
                 r"(s-[0-9a-f]+)\.$", text)
    check(m, "/silence answer: %r" % text)
    sid = m.group(1)
    r = t.hubctl(hub, "silence", "list")
    row = [ln for ln in r.out.splitlines() if sid in ln]
    check(r.rc == 0 and row and ALICE_ACTOR in row[0] and
          "kernel upgrade" in row[0], "hubctl silence list: %r" % r.out)
    audit = [e for e in events(hub, "audit") if ALICE_ACTOR in e["detail"]]
    check(audit and audit[0]["to"] == "silence", "audit: %r" % audit)
    # pc-a goes critical under the silence: muted; /ack; the silence ends
    # and the acknowledged incident is not alerted again
    pa.signal(signal.SIGSTOP)
    hub.wait_status("pc-a", "critical", 5)
    text = ask(fake, "/ack pc-a")
    check(text.startswith("Acknowledged by @alice"), "/ack: %r" % text)
    inc = hub.agent("pc-a")["incident"]
    check(inc["critical"] and inc["acked"] and inc["acked_by"] ==
          ALICE_ACTOR, "incident: %r" % inc)
    ev = events(hub, "ack")
    check(ev and ev[0]["agent"] == "pc-a" and ALICE_ACTOR in ev[0]["detail"],
          "ack event: %r" % ev)
    r = t.hubctl(hub, "show", "pc-a")
    check("acknowledged by " + ALICE_ACTOR in r.out, "show: %r" % r.out)
    since = time.monotonic()
    text = ask(fake, "/unsilence " + sid)
    check(text == "Silence %s cleared by @alice." % sid, "/unsilence %r"
          % text)
    time.sleep(deadline(1.5))
    again = [x for x in fake.messages(TELEGRAM, since)
             if "still CRITICAL" in x.get("text", "")]
    check(not again, "an acknowledged incident was alerted again: %r"
          % again)
    # pc-b goes critical: its alert carries buttons
    since = time.monotonic()
    pb.signal(signal.SIGSTOP)
    alert = alert_with_buttons(fake, "pc-b", since)
    rows = alert["reply_markup"]["inline_keyboard"]
    labels = [b["text"] for b in rows[0]]
    check(labels == ["Acknowledge", "Silence 1 h", "Show"], "buttons %r"
          % labels)
    data = {b["text"]: b["callback_data"] for b in rows[0]}
    check(all(len(d) <= 64 for d in data.values()), "callback_data %r" % data)
    mid = [r for r in fake.got(TELEGRAM, since) if (r.json or {}).get(
        "text") == alert["text"]][0].message_id
    # a stranger presses Silence: nothing happens
    fake.push_callback(EVE, data["Silence 1 h"], mid, "CRITICAL: pc-b",
                       username="eve")
    # alice presses it: the silence is in force, the message edited
    uid, cbid = fake.push_callback(ALICE, data["Silence 1 h"], mid,
                                   "CRITICAL: pc-b\npc-b is CRITICAL: ...",
                                   username="alice")
    s = wait_until(lambda: [x for x in hub.api("GET", "/api/silences")[
        "silences"] if x.get("agent") == "pc-b"], 5, "pc-b's silence",
        interval=0.005)
    seen = time.monotonic()
    check(s[0]["by"] == ALICE_ACTOR, "silence author: %r" % s)
    took = seen - fake.handed(uid)
    t.note("button press handed -> silence in force (via the API): "
           "%.1f ms" % (took * 1000))
    check(took < deadline(1.0), "the silence took %.3fs" % took)
    calls = wait_until(lambda: (lambda c: c if len(c) >= 2 else None)(
        fake.got(BOTCALL)), 5, "answerCallbackQuery and editMessageText")
    by = {c.path.rsplit("/", 1)[1]: c.json for c in calls}
    check(by["answerCallbackQuery"]["callback_query_id"] == cbid,
          "answer: %r" % by)
    ed = by["editMessageText"]
    check(ed["message_id"] == mid and ed["chat_id"] == int(fake.chat_id) and
          ed["text"].startswith("CRITICAL: pc-b\npc-b is CRITICAL: ...\n\n"
                                "Silenced pc-b for 1h") and
          ed["text"].endswith("by @alice; id %s." % s[0]["id"]) and
          "reply_markup" not in ed, "edit: %r" % ed)
    check(len(fake.got(BOTCALL)) == 2, "the stranger's press was "
          "answered: %r" % fake.got(BOTCALL))
    # hubctl ack: the same acknowledgement, through the API
    r = t.hubctl(hub, "ack", "pc-b")
    check(r.rc == 0 and "acknowledged the incident of pc-b" in r.out,
          "hubctl ack: %r" % r)
    r = t.hubctl(hub, "ack", "pc-b")
    check(r.rc == 1 and "already" in r.err, "second hubctl ack: %r" % r)
    r = t.hubctl(hub, "ack", "nobody")
    check(r.rc == 4, "hubctl ack of an unknown agent: %r" % r)
    pb.signal(signal.SIGCONT)
    hub.wait_status("pc-b", "online", 5)
    r = hub.request("POST", "/api/agents/pc-b/ack")
    check(r.status == 409 and r.json()["code"] == "no_incident",
          "ack without an incident: %r" % r)
    viewer = hub.create_token("viewer")
    r = hub.request("POST", "/api/agents/pc-a/ack", token=viewer)
    check(r.status == 403, "a viewer acked: %r" % r)
    pa.signal(signal.SIGCONT)


def test_chat_run(t):
    fake = fakeapi.start(t)
    hub = chat_hub(t, fake)
    t.enrolled(hub, ["pc-a"])
    text = ask(fake, "/run pc-a echo hi")
    check(text.startswith("/run is off on this hub"), "/run off: %r" % text)
    text = ask(fake, "/run pc-a echo hi", user=BOB, name="bob")
    check(text == "This needs the operator role.", "viewer /run: %r" % text)
    # chat_allow_run changes on SIGHUP
    with open(hub.conf_path, "a") as f:
        f.write("chat_allow_run = yes\n")
    size = hub.proc.log_size()
    hub.proc.signal(signal.SIGHUP)
    wait_until(lambda: "SIGHUP: reloaded" in hub.proc.log_since(size), 5,
               "the reload")
    text = ask(fake, "/run pc-a echo hi; exit 3")
    check(text == "pc-a: exit 3\n<pre>hi\n</pre>", "/run answer: %r" % text)
    hist = hub.api("GET", "/api/commands?agent=pc-a")["commands"]
    check(hist and hist[0]["requested_by"] == ALICE_ACTOR,
          "history requested_by: %r" % hist[:1])


def test_chat_bot_api_faults(t):
    fake = fakeapi.start(t)
    fake.plan(UPDATES, [("429", 1), "500", "notjson"])
    hub = chat_hub(t, fake, wait=15)
    got = fake.got(UPDATES)
    check(got[0].answer == "429", "first poll: %r" % got[:1])
    gap = got[1].mono - got[0].mono
    check(gap >= 0.9, "the 429's retry_after (1 s) was not honoured: %.2fs"
          % gap)
    # malformed updates: skipped, the offset moves past them
    bad = [fake.push_raw({"message": {"text": "/status"}}),
           fake.push_raw({"callback_query": {"id": "x"}}),
           fake.push_raw({"message": {"message_id": 5, "chat": {"id": 1},
                                      "from": {"id": ALICE},
                                      "text": "/status " + "x" * 5000}}),
           fake.push_raw({"edited_message": {}}),
           fake.push_raw({"message": "not an object"})]
    fake.push_raw([1, 2, 3], update_id=False)
    fake.push_raw({"no": "update_id"}, update_id=False)
    text = ask(fake, "/status")
    check(text.startswith("<b>0 agents</b>"), "after bad updates: %r" % text)
    wait_until(lambda: any((r.json or {}).get("offset", 0) > max(bad)
                           for r in fake.got(UPDATES)), 5,
               "an offset past the bad updates")
    log = hub.log()
    check(log.count("chat: update") >= 6 and "skipped since the start" in
          log, "skipped updates not logged: %s" % log[-3000:])
    check("getUpdates rate limited" in log and "getUpdates failed" in log,
          "429/500 not logged")
    # a message sent while the hub was away (10 min ago) is not acted on
    _, mid = fake.push_message(ALICE, "/status", username="alice",
                               date=time.time() - 3600)
    ask(fake, "/help")
    no_reply(fake, mid, 0.3)
    check(hub.proc.alive(), "the hub died")
    # stopping aborts the poll in flight at once
    wait_until(lambda: fake.polls > 0, 5, "a held poll")
    t0 = time.monotonic()
    hub.stop()
    took = time.monotonic() - t0
    check(took < deadline(3), "the hub took %.1fs to stop" % took)


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])    # utime + stime


def test_chat_idle_cpu(t):
    """Hub CPU while idle, polling on against off, measured over the same
    10 s on two hubs side by side (one agent each)."""
    fake = fakeapi.start(t)
    on = chat_hub(t, fake)
    off = t.hub(heartbeat=HB, miss=3, name="hub-off")
    t.enrolled(on, ["pc-on"])
    t.enrolled(off, ["pc-off"])
    tick = os.sysconf("SC_CLK_TCK")
    a0, b0 = cpu_ticks(on.proc.pid), cpu_ticks(off.proc.pid)
    time.sleep(10)
    a1, b1 = cpu_ticks(on.proc.pid), cpu_ticks(off.proc.pid)
    pon, poff = (a1 - a0) * 100.0 / tick / 10, (b1 - b0) * 100.0 / tick / 10
    t.note("idle hub CPU over 10 s (heartbeat 0.2 s, 1 agent): polling on "
           "%.2f%%, off %.2f%%" % (pon, poff))
    check(pon <= poff + 1.0, "polling costs %.2f%% against %.2f%%"
          % (pon, poff))
    check(len(fake.got(UPDATES)) <= 3, "getUpdates was not held: %d polls"
          % len(fake.got(UPDATES)))
    check(on.proc.alive(), "the hub died")
