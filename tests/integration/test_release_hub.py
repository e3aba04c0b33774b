"""The hub's side of listener self-update (issue 18 part 2): hubctl
release publish/list/roll/status, POST/GET /api/releases, the ticketed
download GET /releases/VERSION/maestro-listener and a roll's state
machine, driven by scripted agents over a raw WebSocket so it does not
depend on which listener build answers listener_update (the listener
side is tested with real listeners where it is built).

The release is a second listener built with VERSION=9.9.9 into
build/release-9.9.9 (make keeps it up to date; made once per run).
"""

import hashlib
import os
import subprocess
import time

from mtest import binary, build_dir, check, fail, wait_until

VERSION = "9.9.9"
_release = {}


def release_bin():
    """The 9.9.9 listener, built (or brought up to date) once per run."""
    if "path" not in _release:
        out = os.path.join(build_dir(), "release-" + VERSION)
        exe = os.path.join(out, "maestro-listener")
        root = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
        r = subprocess.run(["make", "-j2", "BUILD=" + out,
                            "VERSION=" + VERSION, exe], cwd=root,
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            fail("make VERSION=%s failed:\n%s" % (VERSION, r.stderr[-3000:]))
        _release["path"] = exe
    return _release["path"]


def keypair(t, name="ops"):
    """An Ed25519 PKCS#8 PEM as hubctl key create writes it."""
    path = t.path("%s.key" % name)
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out",
                    path], check=True, capture_output=True)
    return path


def publish(t, hub, path, *args):
    return t.hubctl(hub, "release", "publish", path, *args, timeout=60)


def upload(hub, data, query=""):
    return hub.request("POST", "/api/releases" + query, raw=data,
                       headers={"Content-Type": "application/octet-stream"},
                       timeout=60)


def test_publish_and_refusals(t):
    hub = t.hub()
    rel = release_bin()
    data = open(rel, "rb").read()
    sha = hashlib.sha256(data).hexdigest()
    key = keypair(t)

    r = publish(t, hub, rel)
    check(r.rc == 2 and "--unsigned" in r.err,
          "publish without a key must ask for one: %r" % r)
    r = publish(t, hub, rel, "--key", key)
    check(r.rc == 0 and sha in r.out and "published" in r.out,
          "signed publish: %r" % r)
    lst = hub.api("GET", "/api/releases")["releases"]
    check(len(lst) == 1 and lst[0]["version"] == VERSION and
          lst[0]["sha256"] == sha and lst[0]["size"] == len(data) and
          lst[0]["signed"] and lst[0]["signer"] == "ops",
          "the release as listed: %r" % lst)
    stored = os.path.join(hub.data, "releases", VERSION, "maestro-listener")
    check(open(stored, "rb").read() == data, "the stored file differs")
    r = publish(t, hub, rel, "--key", key)
    check(r.rc == 0 and "already" in r.out, "the same file again: %r" % r)
    r = t.hubctl(hub, "release", "list")
    check(r.rc == 0 and VERSION in r.out and sha[:12] in r.out and
          "ops" in r.out, "release list: %r" % r)

    # the hub refuses what hubctl would: ask it directly
    hubexe = open(binary("maestro-hub"), "rb").read()
    r = upload(hub, hubexe)
    check(r.status == 400 and b"dynamically linked" in r.body,
          "a dynamic program: %r" % r)
    arm = bytearray(data)
    arm[18:20] = (183).to_bytes(2, "little")    # e_machine: aarch64
    r = upload(hub, bytes(arm))
    check(r.status == 400 and b"aarch64" in r.body, "aarch64: %r" % r)
    r = upload(hub, data[:1000])
    check(r.status == 400, "a truncated file: %r" % r)
    other = bytearray(data)
    other[-1] ^= 0xff                           # same version, other bytes
    r = upload(hub, bytes(other), "?key=" + "11" * 32 + "&sig=" + "22" * 64)
    check(r.status == 400 and b"signature does not match" in r.body,
          "a wrong signature: %r" % r)
    r = upload(hub, bytes(other))
    check(r.status == 409 and sha.encode() in r.body,
          "another file under a published version: %r" % r)
    r = hub.request("POST", "/api/releases", raw=b"x" * 70000,
                    token=hub.create_token("operator"))
    check(r.status == 413, "an operator's big body: %r" % r)
    # the same hub after a restart still has it (persisted)
    hub.stop()
    hub.start()
    lst = hub.api("GET", "/api/releases")["releases"]
    check([x["version"] for x in lst] == [VERSION],
          "releases after a restart: %r" % lst)


class FakeAgent:
    """An agent speaking the protocol itself: hello with a version, one
    heartbeat, and the commands it is sent, answered by the test."""

    def __init__(self, t, hub, name, version, key=None):
        self.t, self.hub, self.name = t, hub, name
        self.key = key or hub.create_key()
        self.cred = None
        self.connect(version)

    def connect(self, version, update=None):
        self.ws = self.t.ws(self.hub)
        hello = {"t": "hello", "v": 1, "name": self.name, "version": version,
                 "hostname": self.name, "os": "Linux", "cpus": 1}
        if update:
            hello["update"] = update
        if self.cred:
            hello["cred"] = self.cred
        else:
            hello["enroll_key"] = self.key
        self.ws.send_json(hello)
        w = self.ws.recv_json(5)
        check(w.get("t") == "welcome", "hello as %s: %r" % (self.name, w))
        self.cred = w.get("cred") or self.cred
        self.ws.send_json({"t": "hb", "seq": 1, "m": {}})

    def next_cmd(self, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            m = self.ws.recv_json(max(0.1, end - time.time()))
            if m.get("t") == "cmd":
                return m
        fail("%s got no cmd" % self.name)

    def result(self, cid, status, error=""):
        m = {"t": "result", "id": cid, "status": status, "exit":
             0 if status == "done" else -1}
        if error:
            m["error"] = error
        self.ws.send_json(m)

    def reconnect(self, version, update=None):
        self.ws.close()
        self.connect(version, update)


def roll(t, hub, *args):
    r = t.hubctl(hub, "release", "roll", VERSION, *args)
    check(r.rc == 0 and r.out.strip().startswith("r-"), "roll: %r" % r)
    return r.out.strip()


def roll_state(hub, rid):
    return hub.api("GET", "/api/rolls/" + rid)


def wait_roll(hub, rid, state):
    wait_until(lambda: roll_state(hub, rid)["state"] == state, 15,
               "roll %s to be %s" % (rid, state))
    return roll_state(hub, rid)


def test_roll_state_machine(t):
    hub = t.hub(heartbeat=5)
    rel = release_bin()
    data = open(rel, "rb").read()
    r = publish(t, hub, rel, "--unsigned")
    check(r.rc == 0 and "unsigned" in r.err, "unsigned publish: %r" % r)
    a = FakeAgent(t, hub, "a1", "0.1.0")
    b = FakeAgent(t, hub, "b1", "0.1.0", key=a.key)
    cur = FakeAgent(t, hub, "c1", VERSION, key=a.key)

    rid = roll(t, hub, "--all", "--batch", "2")
    c = a.next_cmd()
    check(c["kind"] == "listener_update" and
          c["release"]["version"] == VERSION and
          c["release"]["sha256"] == hashlib.sha256(data).hexdigest() and
          c["release"]["size"] == len(data) and
          "ticket=" in c["release"]["path"], "the command: %r" % c)
    # the ticket downloads the release, with no token; others do not
    path = c["release"]["path"]
    got = hub.request("GET", path, token=None, timeout=30)
    check(got.status == 200 and got.body == data,
          "download with the ticket: %d, %d bytes" % (got.status,
                                                      len(got.body)))
    base, ticket = path.split("?ticket=")
    for q in ("", "?ticket=" + "0" * 32, "?ticket=" + ticket[:-1]):
        r = hub.request("GET", base + q, token=None)
        check(r.status == 403, "download with %r: %r" % (q, r))
    st = roll_state(hub, rid)
    states = {x["agent"]: x["state"] for x in st["agents"]}
    check(states == {"a1": "sent", "b1": "sent", "c1": "pending"},
          "first batch sent: %r" % st)

    # a1 installs and comes back new; b1 installs, comes back old
    a.result(c["id"], "done")
    cb = b.next_cmd()
    b.result(cb["id"], "done")
    wait_until(lambda: {x["agent"]: x["state"] for x in
                        roll_state(hub, rid)["agents"]}["b1"] ==
               "installed", 10, "b1 installed")
    a.reconnect(VERSION)
    b.reconnect("0.1.0", update={"version": VERSION,
                                 "error": "no hello within 60 s"})
    st = wait_roll(hub, rid, "stopped")
    by = {x["agent"]: x for x in st["agents"]}
    check(by["a1"]["state"] == "updated" and by["a1"]["after"] == VERSION
          and by["b1"]["state"] == "rolled_back" and
          "no hello" in by["b1"]["error"] and by["c1"]["state"] == "pending"
          and "b1" in st["stopped"], "the stopped roll: %r" % st)
    r = hub.request("GET", path, token=None)
    check(r.status == 403, "the ticket after its command ended: %r" % r)
    r = t.hubctl(hub, "release", "status", rid)
    check(r.rc == 1 and "rolled_back" in r.out and "stopped" in r.out,
          "release status of a stopped roll: %r" % r)

    # again: a1 is skipped (on it already), b1 answers as an older
    # listener does: not supported -> failed -> stopped before c1
    rid = roll(t, hub, "--all", "--batch", "1")
    cb = b.next_cmd()
    b.result(cb["id"], "failed", "command kind 'listener_update' is not "
             "supported by this listener")
    st = wait_roll(hub, rid, "stopped")
    by = {x["agent"]: x for x in st["agents"]}
    check(by["a1"]["state"] == "skipped" and by["c1"]["state"] ==
          "pending" and by["b1"]["state"] == "failed" and
          "not supported" in by["b1"]["error"], "roll 2: %r" % st)
    ev = [e["type"] for e in hub.events()]
    check("roll_started" in ev and "roll_stopped" in ev,
          "roll events: %r" % ev[:20])

    # the last: b1 alone, installs and comes back new -> done
    rid = roll(t, hub, "b1")
    cb = b.next_cmd()
    b.result(cb["id"], "done")
    wait_until(lambda: roll_state(hub, rid)["agents"][0]["state"] ==
               "installed", 10, "b1 installed")
    b.reconnect(VERSION)
    st = wait_roll(hub, rid, "done")
    r = t.hubctl(hub, "release", "status")
    check(r.rc == 0 and "updated" in r.out and rid in r.out,
          "release status (newest): %r" % r)
    r = t.hubctl(hub, "release", "roll", "1.2.3", "--all")
    check(r.rc == 1 and "no release" in r.err, "unknown version: %r" % r)
    r = t.hubctl(hub, "release", "roll", VERSION, "nobody")
    check(r.rc == 4, "unknown agent: %r" % r)


def test_update_lost_on_restart(t):
    """A listener_update unfinished when the hub stopped ends lost at the
    restart, saying so: its release and ticket were in memory only, so it
    is never sent again without them."""
    hub = t.hub(heartbeat=5)
    publish(t, hub, release_bin(), "--unsigned")
    a = FakeAgent(t, hub, "a1", "0.1.0")
    roll(t, hub, "a1")
    c = a.next_cmd()
    a.ws.close()
    check(hub.stop() == 0, "hub exit status")
    hub.start()
    got = hub.api("GET", "/api/commands/" + c["id"])
    check(got["status"] == "lost" and "roll again" in (got.get("error")
          or ""), "the command after the restart: %r" % got)
