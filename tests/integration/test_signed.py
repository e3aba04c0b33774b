"""Operator-signed commands end to end, with real Ed25519 keys made by the
openssl CLI (docs/protocol.md "Signed commands", docs/api.md): the hub
relays a signed envelope but cannot change or forge one, and a listener
that trusts keys runs what they signed and refuses the rest (unsigned
with require_signed, forged, an untrusted key, replayed, also after a
restart, expired, for another agent); without trust keys nothing
changes.  Also the fan-out with one envelope per agent, a terminal
refused unsigned, and install.sh --trust."""

import base64
import json
import os
import re
import subprocess
import time

from mtest import check, procs_with_cmdline, wait_until
from test_commands import conf_listener
from test_install import run_install, served_hub
from test_liveness import parent_of
from test_terminal import Term

DOMAIN = b"maestro-cmd-v1\n"


class Key:
    """An Ed25519 key made with openssl; signs payloads as hubctl does."""

    def __init__(self, t, name):
        self.t = t
        self.name = name
        os.makedirs(t.path("keys"), exist_ok=True)
        self.pem = t.path("keys", name + ".pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519",
                        "-out", self.pem], check=True, capture_output=True)
        der = subprocess.run(["openssl", "pkey", "-in", self.pem, "-pubout",
                              "-outform", "DER"], check=True,
                             capture_output=True).stdout
        self.b64 = base64.b64encode(der[-32:]).decode()
        self.line = "ed25519:%s %s" % (self.b64, name)
        self.n = 0

    def sign(self, payload):
        self.n += 1
        msg = self.t.path("keys", "%s-%d.msg" % (self.name, self.n))
        with open(msg, "wb") as f:
            f.write(DOMAIN + payload.encode())
        sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey",
                              self.pem, "-rawin", "-in", msg], check=True,
                             capture_output=True).stdout
        return base64.b64encode(sig).decode()

    def envelope(self, agent, kind, iat=None, exp=None, nonce=None, **kw):
        iat = int(time.time()) if iat is None else iat
        payload = {"v": 1, "agent": agent, "kind": kind,
                   "id": nonce or "n-" + os.urandom(8).hex(), "iat": iat,
                   "exp": iat + 120 if exp is None else exp}
        payload.update(kw)
        text = json.dumps(payload, separators=(",", ":"))
        return {"payload": text, "key": self.b64, "sig": self.sign(text)}


def send(hub, agent, env, expect=202, path="command", **body):
    body["signed"] = env
    return hub.api("POST", "/api/agents/%s/%s" % (agent, path), body,
                   expect=expect)


def run_signed(hub, agent, env, timeout=20, **body):
    return hub.wait_command(send(hub, agent, env, **body)["id"], timeout)


def failed_with(c, prefix):
    check(c.get("status") == "failed" and
          (c.get("error") or "").startswith(prefix),
          "expected failed with %r, got %r" % (prefix, c))


def signed_agent(t, name="pc-sig", keys=(), require=False):
    """A hub and an online listener trusting keys."""
    hub = t.hub()
    conf = "".join("trust = %s\n" % k.line for k in keys)
    if require:
        conf += "require_signed = yes\n"
    return hub, conf_listener(t, hub, name, hub.create_key(), conf=conf)


def test_signed_runs_the_payload(t):
    alice = Key(t, "alice")
    hub, _ = signed_agent(t, keys=[alice])
    a = hub.agent("pc-sig")
    check(a.get("trust") == [alice.line] and a.get("require_signed") is False,
          "agent JSON: trust %r require_signed %r"
          % (a.get("trust"), a.get("require_signed")))
    env = alice.envelope("pc-sig", "shell", cmd="echo from-payload")
    # the body's own type and cmd are not what runs
    c = run_signed(hub, "pc-sig", env, type="shell", cmd="echo outer")
    check(c.get("status") == "done" and "from-payload" in c.get("output", "")
          and "outer" not in c.get("output", ""), "signed shell: %r" % c)
    check(c.get("cmd") == "echo from-payload", "history shows %r"
          % c.get("cmd"))
    # without require_signed an unsigned command still runs
    c = hub.wait_command(hub.command("pc-sig", {"type": "shell",
                                                "cmd": "echo plain"}))
    check(c.get("status") == "done", "unsigned without require: %r" % c)


def test_signed_refusals(t):
    alice, mallory = Key(t, "alice"), Key(t, "mallory")
    hub, lst = signed_agent(t, keys=[alice], require=True)
    check(hub.agent("pc-sig").get("require_signed") is True,
          "require_signed not shown")
    # unsigned, with the admin token
    c = hub.wait_command(hub.command("pc-sig", {"type": "shell",
                                                "cmd": "echo no"}))
    failed_with(c, "unsigned: this agent runs only commands signed")
    # forged: the payload changed after signing; the hub sees it
    env = alice.envelope("pc-sig", "shell", cmd="echo a")
    env["payload"] = env["payload"].replace("echo a", "echo b")
    doc = send(hub, "pc-sig", env, expect=400)
    check("bad signature" in doc.get("error", ""), "forged: %r" % doc)
    # a key the agent does not trust: the hub relays, the agent refuses
    c = run_signed(hub, "pc-sig", mallory.envelope("pc-sig", "shell",
                                                   cmd="echo m"))
    failed_with(c, "bad signature: signed by a key this agent does not "
                "trust")
    # expired
    past = int(time.time()) - 1000
    c = run_signed(hub, "pc-sig", alice.envelope("pc-sig", "shell",
                                                 cmd="echo x", iat=past,
                                                 exp=past + 100))
    failed_with(c, "expired")
    # for another agent: the hub refuses it
    doc = send(hub, "pc-sig", alice.envelope("pc-other", "shell",
                                             cmd="echo o"), expect=400)
    check(doc.get("error") == "signed for agent pc-other, not pc-sig",
          "other agent: %r" % doc)
    # a queue longer than the signature lives
    doc = send(hub, "pc-sig", alice.envelope("pc-sig", "shell", cmd="true"),
               expect=400, queue="1h")
    check("queue is longer" in doc.get("error", ""), "queue: %r" % doc)
    # a terminal without a signature
    m = Term(t, hub, "pc-sig").end(10)
    check(m.get("reason") == "refused" and
          (m.get("msg") or "").startswith("unsigned:"),
          "unsigned terminal: %r" % m)
    check(re.search(r"refused: unsigned", lst.stderr_text()),
          "no refusal in the listener's log")


def fresh_listener(t, lst):
    def fresh():
        return [pid for pid, cmd in procs_with_cmdline(lst.state_dir)
                if pid != lst.pid and "maestro-listener" in cmd]
    found = wait_until(fresh, 10, "the fresh listener process")
    for pid in found:
        t.adopt(pid)
    return [pid for pid in found if parent_of(pid) not in found]


def test_signed_replay_also_after_restart(t):
    alice = Key(t, "alice")
    saved = t.env
    t.env = {k: v for k, v in t.env.items() if k != "INVOCATION_ID"}
    try:
        hub, lst = signed_agent(t, keys=[alice], require=True)
    finally:
        t.env = saved
    env = alice.envelope("pc-sig", "shell", cmd="echo once")
    check(run_signed(hub, "pc-sig", env).get("status") == "done",
          "first run")
    failed_with(run_signed(hub, "pc-sig", env),
                "replayed: this signed command already ran")
    seen = os.path.join(lst.state_dir, "signed-seen")
    check(os.stat(seen).st_mode & 0o777 == 0o600, "signed-seen mode %o"
          % (os.stat(seen).st_mode & 0o777))
    before = hub.agent("pc-sig")
    restart = alice.envelope("pc-sig", "restart")
    c = run_signed(hub, "pc-sig", restart, path="restart")
    check(c.get("status") == "done", "signed restart: %r" % c)
    check(lst.wait(10) == 0, "old listener exit %s" % lst.returncode)
    fresh_listener(t, lst)
    wait_until(lambda: (lambda a: a.get("status") == "online" and
                        (a.get("since") or 0) > (before.get("since") or 0))(
        hub.agent("pc-sig")), 15, "pc-sig back online")
    failed_with(run_signed(hub, "pc-sig", restart, path="restart"),
                "replayed")
    failed_with(run_signed(hub, "pc-sig", env), "replayed")
    # a restart path with a payload of another kind is no restart
    doc = send(hub, "pc-sig", alice.envelope("pc-sig", "shell", cmd="true"),
               path="restart", expect=400)
    check(doc.get("error") == "signed for shell, not restart",
          "kind mismatch: %r" % doc)


def test_signed_without_trust_changes_nothing(t):
    alice = Key(t, "alice")
    hub, _ = signed_agent(t)
    a = hub.agent("pc-sig")
    check(a.get("trust") == [] and a.get("require_signed") is False,
          "agent JSON: %r" % a)
    c = run_signed(hub, "pc-sig", alice.envelope("pc-sig", "shell",
                                                 cmd="echo relayed"))
    check(c.get("status") == "done" and "relayed" in c.get("output", ""),
          "signed without trust: %r" % c)
    c = hub.wait_command(hub.command("pc-sig", {"type": "shell",
                                                "cmd": "echo plain"}))
    check(c.get("status") == "done", "unsigned: %r" % c)


def test_signed_fanout(t):
    alice = Key(t, "alice")
    hub = t.hub()
    key = hub.create_key()
    conf = "trust = %s\nrequire_signed = yes\n" % alice.line
    for name in ("fan-a", "fan-b", "fan-c"):
        conf_listener(t, hub, name, key, conf=conf + "tags = lab\n")
    envs = [alice.envelope(n, "shell", cmd="echo hi-" + n)
            for n in ("fan-a", "fan-b")]
    doc = hub.api("POST", "/api/commands", {"target": {"tag": "lab"},
                                            "signed": envs}, expect=202)
    by = {c["agent"]: c for c in doc["commands"]}
    check(sorted(by) == ["fan-a", "fan-b", "fan-c"], "fan-out: %r" % doc)
    check(by["fan-c"].get("id") is None and by["fan-c"].get("error") ==
          "no signature for this agent", "fan-c: %r" % by["fan-c"])
    for n in ("fan-a", "fan-b"):
        c = hub.wait_command(by[n]["id"])
        check(c.get("status") == "done" and "hi-" + n in c.get("output", ""),
              "%s: %r" % (n, c))
    bad = dict(envs[0], sig=envs[1]["sig"])
    doc = hub.api("POST", "/api/commands", {"target": {"all": True},
                                            "signed": [bad]}, expect=400)
    check("bad signature" in doc.get("error", ""), "bad fan-out: %r" % doc)


def test_signed_install_trust(t):
    alice, bob = Key(t, "alice"), Key(t, "bob")
    hub, script = served_hub(t)
    root = t.path("root")
    r = run_install(t, script, root, "--enroll-key", hub.create_key(),
                    "--name", "inst-sig", "--trust", alice.line, "--trust",
                    bob.line, "--require-signed", "--no-start")
    check(r.rc == 0, "install: %r" % r)
    with open(os.path.join(root, "etc/maestro/listener.conf")) as f:
        text = f.read()
    for want in ("trust = " + alice.line, "trust = " + bob.line,
                 "require_signed = yes"):
        check(want + "\n" in text, "config lacks %r:\n%s" % (want, text))
    r = run_install(t, script, t.path("root2"), "--require-signed")
    check(r.rc == 2 and "--trust" in r.err, "require without trust: %r" % r)
    r = t.run(["sh", script, "--help"])
    check("--trust KEYLINE" in r.out and "--require-signed" in r.out,
          "--help: %r" % r.out)
