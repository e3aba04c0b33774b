"""Answering alerts from Discord: the interactions endpoint (signed with a
test Ed25519 key, and wrongly), the slash commands, the buttons on alerts
sent through the bot, and /run's follow-up.

The test plays Discord: it signs each interaction (timestamp + body) with
its own application key and POSTs it to the hub's /api/discord/
interactions.  fakeapi.py stands in for Discord's API (the bot's channel
messages and the interactions' webhooks).  Listeners are real; SIGSTOP
makes one silent so the hub alone decides it is critical."""

import json
import os
import re
import signal
import subprocess
import tempfile
import time

import fakeapi
from fakeapi import DCBOT, DCHOOK, DISCORD
from mtest import check, wait_until

HB = 0.2
ALICE, BOB, EVE = 300000000000000001, 300000000000000002, 399999999999999999
ALICE_ACTOR = "discord:%d (alice)" % ALICE
APP_ID = "555000555000555000"
CHANNEL = "777000777000777000"
PATH = "/api/discord/interactions"


class Key:
    """An Ed25519 application key: python's cryptography when it is
    there, else the openssl command (OpenSSL 3: pkeyutl -rawin)."""

    def __init__(self, t):
        try:
            from cryptography.hazmat.primitives.asymmetric.ed25519 import \
                Ed25519PrivateKey
            from cryptography.hazmat.primitives import serialization
            self.priv = Ed25519PrivateKey.generate()
            raw = self.priv.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            self.pem = None
        except ImportError:
            self.priv = None
            self.pem = os.path.join(t.dir, "dc-%d.pem" % id(self))
            subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519",
                            "-out", self.pem], check=True)
            der = subprocess.run(["openssl", "pkey", "-in", self.pem,
                                  "-pubout", "-outform", "DER"],
                                 check=True, capture_output=True).stdout
            raw = der[-32:]
        self.public_hex = raw.hex()

    def sign(self, msg):
        if self.priv is not None:
            return self.priv.sign(msg)
        with tempfile.NamedTemporaryFile() as f:
            f.write(msg)
            f.flush()
            return subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin",
                                   "-inkey", self.pem, "-in", f.name],
                                  check=True, capture_output=True).stdout


class Discord:
    """Sends interactions to a hub as Discord would."""

    def __init__(self, hub, key):
        self.hub = hub
        self.key = key
        self.n = 0

    def post(self, body, key=None, ts=None, headers=None):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        ts = str(int(time.time()) if ts is None else ts)
        sig = (key or self.key).sign(ts.encode() + raw).hex()
        h = {"X-Signature-Ed25519": sig, "X-Signature-Timestamp": ts,
             "Content-Type": "application/json"}
        if headers is not None:
            h = headers(h)
        return self.hub.request("POST", PATH, token=None, raw=raw,
                                headers=h)

    def interaction(self, typ, data, user=ALICE, name="alice", **extra):
        self.n += 1
        body = {"id": str(900 + self.n), "application_id": APP_ID,
                "type": typ, "token": "itoken-SECRET-%d-abcdef" % self.n,
                "version": 1, "channel_id": CHANNEL,
                "member": {"user": {"id": str(user), "username": name}}}
        if data is not None:
            body["data"] = data
        body.update(extra)
        return body

    def command(self, name, user=ALICE, uname="alice", **opts):
        """A slash command; the hub's answer (its JSON)."""
        data = {"id": "1", "name": name, "type": 1, "options": [
            {"name": k, "type": 3, "value": v} for k, v in opts.items()]}
        body = self.interaction(2, data, user, uname)
        r = self.post(body)
        check(r.status == 200, "/%s: HTTP %d %r" % (name, r.status, r.body))
        return r.json(), body

    def press(self, custom_id, user=ALICE, uname="alice"):
        body = self.interaction(3, {"custom_id": custom_id,
                                    "component_type": 2}, user, uname,
                                message={"id": "4242", "content": ""})
        r = self.post(body)
        check(r.status == 200, "press: HTTP %d %r" % (r.status, r.body))
        return r.json()


def dc_hub(t, fake, key, extra=""):
    conf = "\n".join([
        "discord_public_key = " + key.public_hex,
        "discord_allow = %d:operator, %d:viewer" % (ALICE, BOB),
        "discord_api = " + fake.discord_api,
    ]) + "\n" + extra
    path = t.write("hub.conf", conf, mode=0o600)
    hub = t.hub(heartbeat=HB, miss=3, extra=["--config", path])
    return hub, Discord(hub, key)


def plain(md):
    """Markdown as Discord shows it: a backslash shows what follows."""
    return re.sub(r"\\(.)", r"\1", md)


def content(ans, typ=4):
    check(ans.get("type") == typ, "answer type %r, expected %d: %r"
          % (ans.get("type"), typ, ans))
    return ans["data"]["content"]


def test_discord_signatures_and_commands(t):
    fake = fakeapi.start(t)
    key = Key(t)
    hub, dc = dc_hub(t, fake, key)
    t.enrolled(hub, ["pc-a", "pc-b"], tags=["lab"])
    ping = dc.interaction(1, None)
    # not signed, signed by another key, too old, too new, body changed,
    # bad hex: 401 and nothing else
    bad = [dc.post(ping, headers=lambda h: {}),
           dc.post(ping, key=Key(t)),
           dc.post(ping, ts=int(time.time()) - 400),
           dc.post(ping, ts=int(time.time()) + 400),
           dc.post(ping, headers=lambda h: dict(
               h, **{"X-Signature-Ed25519": "zz" * 64})),
           dc.post(ping, headers=lambda h: dict(
               h, **{"X-Signature-Timestamp": "12x"}))]
    for i, r in enumerate(bad):
        check(r.status == 401 and r.json()["code"] == "bad_signature",
              "bad request %d: HTTP %d %r" % (i, r.status, r.body))
    raw = json.dumps(ping).encode()
    ts = str(int(time.time()))
    sig = key.sign(ts.encode() + raw).hex()
    hdr = {"X-Signature-Ed25519": sig, "X-Signature-Timestamp": ts}
    r = hub.request("POST", PATH, token=None, raw=raw + b" ", headers=hdr)
    check(r.status == 401, "a changed body: HTTP %d" % r.status)
    # PING, then the same request again: a replay
    r = hub.request("POST", PATH, token=None, raw=raw, headers=hdr)
    check(r.status == 200 and r.json() == {"type": 1}, "PING: %d %r"
          % (r.status, r.body))
    r = hub.request("POST", PATH, token=None, raw=raw, headers=hdr)
    check(r.status == 401 and "replay" in r.json()["error"],
          "a replay: %d %r" % (r.status, r.body))
    # the commands, answered at once
    text = content(dc.command("status")[0])
    check(text.startswith("**2 agents**: 2 online") and "All online." in
          text, "/status: %r" % text)
    text = content(dc.command("show", agent="pc-a")[0])
    check(text.startswith("**pc-a**: online since ") and "tags: lab" in text,
          "/show: %r" % text)
    text = content(dc.command("agents", user=BOB, uname="bob",
                              tag="lab")[0])
    check(text.startswith("```\n") and "pc-a  online" in text and
          text.endswith("```"), "/agents lab: %r" % text)
    text = content(dc.command("ack", user=BOB, uname="bob", agent="pc-a")[0])
    check(text == "This needs the operator role.", "viewer /ack %r" % text)
    text = content(dc.command("help", user=BOB, uname="bob")[0])
    check("/status" in text and "/ack" not in text, "help: %r" % text)
    text = content(dc.command("run", agent="pc-a", command="echo hi")[0])
    check(text.startswith("/run is off on this hub"), "/run off: %r" % text)
    ans = dc.command("run", agent="pc-a", command="echo " + "x" * 2000)[0]
    check(content(ans) == "The command is too long." and
          ans["data"]["flags"] == 64, "a long /run: %r" % ans)
    # /silence: the same silence hubctl lists, by the Discord user
    text = plain(content(dc.command("silence", target="pc-a",
                                    duration="30m",
                                    reason="kernel upgrade")[0]))
    m = re.match(r"Silenced pc-a for 30m \(until .*\) by alice; id "
                 r"(s-[0-9a-f]+)\.$", text)
    check(m, "/silence: %r" % text)
    r = t.hubctl(hub, "silence", "list")
    row = [ln for ln in r.out.splitlines() if m.group(1) in ln]
    check(r.rc == 0 and row and ALICE_ACTOR in row[0] and
          "kernel upgrade" in row[0], "silence list: %r" % r.out)
    audit = [e for e in hub.events() if e.get("type") == "audit" and
             ALICE_ACTOR in e.get("detail", "")]
    check(audit and audit[0]["from"] == "discord", "audit: %r" % audit)
    # a stranger: refused, only they see it; an event
    ans, _ = dc.command("status", user=EVE, uname="eve")
    check(content(ans).startswith("You are not allowed") and
          ans["data"]["flags"] == 64, "stranger: %r" % ans)
    ans = dc.press("s:1", user=EVE, uname="eve")
    check(ans["data"]["flags"] == 64, "stranger's press: %r" % ans)
    ev = wait_until(lambda: [e for e in hub.events() if e.get("type") ==
                             "chat" and "Discord user %d" % EVE in
                             e.get("detail", "")], 5, "the stranger event")
    check(ev[0]["from"] == "discord", "event: %r" % ev)
    check(not [s for s in hub.api("GET", "/api/silences")["silences"]
               if "eve" in s.get("by", "")], "a stranger silenced")
    # malformed: 400; too large: 413; nothing crashes
    for body, want in [(b"{not json", 400), (b"[1,2]", 400),
                       (json.dumps({"type": 99}).encode(), 400),
                       (json.dumps({"type": 2, "data": {}}).encode(), 400),
                       (json.dumps(dc.interaction(2, {"x": 1})).encode(),
                        400),
                       (b"{" + b" " * (70 * 1024) + b"}", 413)]:
        r = dc.post(body)
        check(r.status == want, "%r...: HTTP %d, expected %d: %r"
              % (body[:30], r.status, want, r.body[:200]))
    check(hub.proc.alive(), "the hub died")
    log = hub.log()
    for s in fake.secrets() + ["itoken-SECRET"]:
        check(s not in log, "a secret in the log: %s" % s)


def test_discord_buttons_and_run(t):
    fake = fakeapi.start(t)
    key = Key(t)
    hub, dc = dc_hub(t, fake, key, "\n".join([
        "discord_bot_token = " + fake.discord_bot_token,
        "discord_channel_id = " + CHANNEL,
        "discord_webhook_url = " + fake.discord_url,
        "chat_allow_run = yes", ""]))
    (pa, pb) = t.enrolled(hub, ["pc-a", "pc-b"])
    # pc-b goes critical: the alert goes through the bot, with buttons
    since = time.monotonic()
    pb.signal(signal.SIGSTOP)
    msg = wait_until(lambda: [r for r in fake.got(DCBOT, since) if
                              "CRITICAL" in json.dumps(r.json)], 10,
                     "the bot's critical alert")[0]
    check(msg.path == "/v10/channels/%s/messages" % CHANNEL and
          msg.answer == "ok", "bot message: %r" % msg)
    emb = msg.json["embeds"][0]
    check(emb["title"].startswith("CRITICAL: pc-b"), "embed %r" % emb)
    row = msg.json["components"][0]
    check(row["type"] == 1, "action row: %r" % row)
    labels = [b["label"] for b in row["components"]]
    check(labels == ["Acknowledge", "Silence 1 h", "Show"], "%r" % labels)
    ids = {b["label"]: b["custom_id"] for b in row["components"]}
    check(not fake.got(DISCORD), "the webhook was used too: %r"
          % fake.got(DISCORD))
    # Show: the agent's text; Acknowledge: done, the message edited
    text = content(dc.press(ids["Show"]))
    check(text.startswith("**pc-b**: critical since"), "show: %r" % text)
    ans = dc.press(ids["Acknowledge"])
    text = content(ans, 7)
    check(text.startswith("Acknowledged by alice: pc-b's alert is not "
                          "repeated") and ans["data"]["components"] == [],
          "ack press: %r" % ans)
    inc = hub.agent("pc-b")["incident"]
    check(inc["acked"] and inc["acked_by"] == ALICE_ACTOR, "incident %r"
          % inc)
    ans = dc.press(ids["Acknowledge"])
    check(ans["data"]["flags"] == 64 and "already" in content(ans),
          "second press: %r" % ans)
    ans = dc.press(ids["Silence 1 h"], user=BOB, uname="bob")
    check(content(ans) == "This needs the operator role.", "viewer %r" % ans)
    t0 = time.monotonic()
    ans = dc.press(ids["Silence 1 h"])
    took = time.monotonic() - t0
    check(plain(content(ans, 7)).startswith("Silenced pc-b for 1h (until "),
          "%r" % ans)
    s = [x for x in hub.api("GET", "/api/silences")["silences"]
         if x.get("agent") == "pc-b"]
    check(s and s[0]["by"] == ALICE_ACTOR, "silence: %r" % s)
    t.note("Silence 1 h press -> answered, silence in force: %.1f ms"
           % (took * 1000))
    # /run: deferred, then the outcome edits the "thinking" answer
    ans, body = dc.command("run", agent="pc-a", command="echo hi")
    check(ans == {"type": 5}, "/run answer: %r" % ans)
    hook = wait_until(lambda: fake.got(DCHOOK), 15, "the follow-up")[0]
    check(hook.path == "/v10/webhooks/%s/%s/messages/@original"
          % (APP_ID, body["token"]) and
          hook.json["content"] == "pc-a: exit 0\n```\nhi\n```",
          "follow-up: %r" % hook)
    hist = hub.api("GET", "/api/commands?agent=pc-a")["commands"]
    check(hist and hist[0]["requested_by"] == ALICE_ACTOR, "history %r"
          % hist[:1])
    pb.signal(signal.SIGCONT)
    check(hub.proc.alive(), "the hub died")
    log = hub.log()
    for sec in fake.secrets() + ["itoken-SECRET"]:
        check(sec not in log, "a secret in the log: %s" % sec)
