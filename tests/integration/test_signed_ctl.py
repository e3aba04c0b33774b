"""The operator's side of signed commands (docs/protocol.md "Signed
commands"): `hubctl key create|list` makes and shows Ed25519 keys, and
`hubctl send` / `hubctl term` sign with --key or hubctl.conf's key = for
a listener that trusts the key and requires signatures; without a key
such a listener refuses, and hubctl says how to sign."""

import json
import os
import stat

from mtest import check
from test_commands import conf_listener

PASS_ENV = "MAESTRO_KEY_PASSPHRASE"


def key_dir(t):
    return os.path.join(t.env["HOME"], ".config", "maestro", "keys")


def make_key(t, name, env=None, *extra):
    r = t.run(t.hubctl_argv(None, ["key", "create", "--name", name] +
                            list(extra), global_=False),
              env=env if env is not None else t.env)
    check(r.rc == 0, "key create %s: %r" % (name, r))
    return r.out.strip()


def signed_listener(t, hub, name, lines, tags=None, key=None):
    conf = "".join("trust = %s\n" % ln for ln in lines)
    conf += "require_signed = yes\n"
    if tags:
        conf += "tags = %s\n" % ",".join(tags)
    return conf_listener(t, hub, name, key or hub.create_key(), conf=conf)


def test_key_create_and_list(t):
    line = make_key(t, "alice")
    d = key_dir(t)
    check(line.startswith("ed25519:") and line.endswith(" alice") and
          len(line.split()[0]) == len("ed25519:") + 44,
          "public line %r" % line)
    check(stat.S_IMODE(os.stat(d).st_mode) == 0o700, "keys dir mode %o"
          % stat.S_IMODE(os.stat(d).st_mode))
    priv = os.path.join(d, "alice.key")
    check(stat.S_IMODE(os.stat(priv).st_mode) == 0o600, "key mode %o"
          % stat.S_IMODE(os.stat(priv).st_mode))
    with open(priv) as f:
        check(f.read().startswith("-----BEGIN PRIVATE KEY-----"),
              "not an unencrypted PKCS#8 PEM")
    with open(os.path.join(d, "alice.pub")) as f:
        check(f.read() == line + "\n", "alice.pub is not the printed line")
    # never overwritten
    r = t.run(t.hubctl_argv(None, ["key", "create", "--name", "alice"],
                            global_=False))
    check(r.rc == 1 and "exists already" in r.err, "overwrite: %r" % r)
    with open(os.path.join(d, "alice.pub")) as f:
        check(f.read() == line + "\n", "alice.pub changed")
    # bad names and arguments are usage errors
    for args in (["--name", "../x"], ["--name", "a b"], ["extra"],
                 ["--name"]):
        r = t.run(t.hubctl_argv(None, ["key", "create"] + args,
                                global_=False))
        check(r.rc == 2 and r.err.count("\n") == 1, "%r: %r" % (args, r))
    # encrypted with a passphrase from the environment
    env = dict(t.env, **{PASS_ENV: "correct horse"})
    make_key(t, "enc", env)
    with open(os.path.join(d, "enc.key")) as f:
        check(f.read().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
              "enc.key is not encrypted")
    # ... or a passphrase file
    pf = t.write("pass.txt", "from a file\n", 0o600)
    make_key(t, "enc2", None, "--passphrase-file", pf)
    r = t.run(t.hubctl_argv(None, ["--key", "enc", "key", "list"],
                            global_=False))
    check(r.rc == 0, "key list: %r" % r)
    rows = {ln.split()[0]: ln.split() for ln in r.out.splitlines()[1:]}
    check(sorted(rows) == ["alice", "enc", "enc2"], "key list: %r" % r.out)
    check(rows["alice"][1:3] == ["-", "no"] and
          rows["enc"][1:3] == ["yes", "yes"] and
          rows["enc2"][2] == "yes", "key list columns: %r" % r.out)
    check(" ".join(rows["alice"][3:]) == line, "key list line: %r" % r.out)
    r = t.run(t.hubctl_argv(None, ["--json", "key", "list"], global_=False))
    doc = json.loads(r.out)
    check([k["name"] for k in doc["keys"]] == ["alice", "enc", "enc2"] and
          doc["keys"][0]["public"] == line and
          doc["keys"][1]["encrypted"] is True, "key list --json: %r" % doc)
    # the default name is the user's
    r = t.run(t.hubctl_argv(None, ["key", "create"], global_=False))
    check(r.rc == 0 and r.out.strip().split()[1:] != ["alice"],
          "default name: %r" % r)


def test_send_signed(t):
    hub = t.hub()
    line = make_key(t, "alice")
    other = make_key(t, "mallory")
    signed_listener(t, hub, "pc-sig", [line])
    # signed: runs the exact command line, output and exit status
    r = t.hubctl(hub, "--key", "alice", "send", "pc-sig", "shell", "--",
                 "printf", "%s|", "it's", "a b")
    check(r.rc == 0 and r.out == "it's|a b|", "signed send: %r" % r)
    r = t.hubctl(hub, "--key", "alice", "send", "pc-sig", "shell", "--",
                 "echo out; exit 3")
    check(r.rc == 3 and r.out == "out\n", "exit status: %r" % r)
    hist = hub.api("GET", "/api/commands?agent=pc-sig&limit=10")["commands"]
    check(hist[0].get("cmd") == "echo out; exit 3", "history: %r" % hist[0])
    # a command by path (no cmd): metrics
    r = t.hubctl(hub, "--key", "alice", "send", "pc-sig", "metrics")
    check(r.rc == 0 and '"mem"' in r.out, "signed metrics: %r" % r)
    # unsigned: refused by the listener, with the hint
    r = t.hubctl(hub, "send", "pc-sig", "shell", "--", "echo no")
    check(r.rc == 1 and "unsigned" in r.err and "hubctl key create" in r.err
          and "trust" in r.err, "unsigned: %r" % r)
    # a key the agent does not trust
    r = t.hubctl(hub, "--key", "mallory", "send", "pc-sig", "shell", "--",
                 "echo m")
    check(r.rc == 1 and "does not trust" in r.err, "untrusted: %r" % r)
    check(other.endswith(" mallory"), "mallory's line")
    # --queue over the signature's 5 minutes
    r = t.hubctl(hub, "--key", "alice", "send", "--queue", "10m", "pc-sig",
                 "shell", "--", "true")
    check(r.rc == 2 and "expires after 5 minutes" in r.err,
          "long queue: %r" % r)
    r = t.hubctl(hub, "--key", "alice", "send", "--queue", "5m", "pc-sig",
                 "shell", "--", "echo q")
    check(r.rc == 0 and r.out == "q\n", "--queue 5m: %r" % r)
    # bad --key values
    r = t.hubctl(hub, "--key", "nobody", "send", "pc-sig", "metrics")
    check(r.rc == 1 and "hubctl key create --name nobody" in r.err,
          "missing key: %r" % r)
    r = t.hubctl(hub, "--key", "a b", "send", "pc-sig", "metrics")
    check(r.rc == 2, "bad key name: %r" % r)
    bad = t.write("bad.pem", "not a key\n", 0o600)
    r = t.hubctl(hub, "--key", bad, "send", "pc-sig", "metrics")
    check(r.rc == 1 and "not a PEM private key" in r.err, "bad pem: %r" % r)
    # a key file others can read is refused; one by path is taken
    priv = os.path.join(key_dir(t), "alice.key")
    os.chmod(priv, 0o644)
    r = t.hubctl(hub, "--key", priv, "send", "pc-sig", "metrics")
    check(r.rc == 1 and "readable by others" in r.err, "0644 key: %r" % r)
    os.chmod(priv, 0o600)
    r = t.hubctl(hub, "--key", priv, "send", "pc-sig", "shell", "--",
                 "echo by-path")
    check(r.rc == 0 and r.out == "by-path\n", "key by path: %r" % r)


def test_send_signed_passphrase_and_config(t):
    hub = t.hub()
    env = dict(t.env, **{PASS_ENV: "s3cret pass"})
    line = make_key(t, "ops", env)
    signed_listener(t, hub, "pc-sig", [line])
    # encrypted, no passphrase and no terminal (a new session): refused
    r = t.hubctl(hub, "--key", "ops", "send", "pc-sig", "shell", "--",
                 "echo x")
    check(r.rc == 1 and PASS_ENV in r.err and "--passphrase-file" in r.err,
          "no passphrase: %r" % r)
    r = t.hubctl(hub, "--key", "ops", "send", "pc-sig", "shell", "--",
                 "echo x", env=dict(t.env, **{PASS_ENV: "wrong"}))
    check(r.rc == 1 and "wrong passphrase" in r.err, "wrong: %r" % r)
    r = t.hubctl(hub, "--key", "ops", "send", "pc-sig", "shell", "--",
                 "echo env", env=env)
    check(r.rc == 0 and r.out == "env\n", "passphrase from env: %r" % r)
    pf = t.write("pass.txt", "s3cret pass\n", 0o600)
    r = t.hubctl(hub, "--key", "ops", "--passphrase-file", pf, "send",
                 "pc-sig", "shell", "--", "echo file")
    check(r.rc == 0 and r.out == "file\n", "passphrase file: %r" % r)
    # the default key from hubctl.conf, its passphrase file too
    t.write(os.path.join("home", ".config", "maestro", "hubctl.conf"),
            "key = ops\npassphrase_file = %s\n" % pf, 0o600)
    r = t.hubctl(hub, "send", "pc-sig", "shell", "--", "echo conf")
    check(r.rc == 0 and r.out == "conf\n", "key = in hubctl.conf: %r" % r)
    r = t.hubctl(hub, "key", "list")
    check(r.rc == 0 and r.out.splitlines()[1].split()[:3] ==
          ["ops", "yes", "yes"], "default from config: %r" % r)


def test_fanout_signed(t):
    hub = t.hub()
    line = make_key(t, "alice")
    key = hub.create_key()
    for name in ("fan-a", "fan-b"):
        signed_listener(t, hub, name, [line], tags=["lab"], key=key)
    signed_listener(t, hub, "fan-other", [line], tags=["other"], key=key)
    r = t.hubctl(hub, "--key", "alice", "send", "--tag", "lab", "shell",
                 "--", "echo hi-$((1+1))")
    check(r.rc == 0, "signed fan-out: %r" % r)
    check(sorted(r.out.splitlines()) == ["fan-a: hi-2", "fan-b: hi-2"],
          "fan-out output: %r" % r.out)
    check("summary: 2 ok" in r.err, "summary: %r" % r.err)
    # unsigned: every agent refuses, the hint once
    r = t.hubctl(hub, "send", "--all", "shell", "--", "echo no")
    check(r.rc == 1 and r.err.count("hubctl key create") == 1 and
          "3 failed" in r.err, "unsigned fan-out: %r" % r)
    r = t.hubctl(hub, "--key", "alice", "send", "--tag", "none", "shell",
                 "--", "true")
    check(r.rc == 4, "no match: %r" % r)


def test_term_signed(t):
    hub = t.hub()
    line = make_key(t, "alice")
    signed_listener(t, hub, "pc-sig", [line])
    r = t.run(t.hubctl_argv(hub, ["--key", "alice", "term", "pc-sig"]),
              stdin=b"echo term-$((2+3))\nexit 0\n")
    check(r.rc == 0 and "term-5" in r.out, "signed term: %r" % r)
    r = t.run(t.hubctl_argv(hub, ["term", "pc-sig"]), stdin=b"exit 0\n")
    check(r.rc == 5 and "unsigned" in r.err and
          "hubctl key create" in r.err, "unsigned term: %r" % r)


def test_dashboard_signed(t):
    import mtest
    from test_browser import CHROMIUM, need_tools
    need_tools()
    hub = t.hub(extra=["--dashboard", os.path.join(mtest.ROOT, "dashboard")])
    line = make_key(t, "alice")
    make_key(t, "enc", dict(t.env, **{PASS_ENV: "secret"}))
    signed_listener(t, hub, "pc-sig", [line])
    with open(os.path.join(key_dir(t), "alice.key")) as f:
        pem = f.read()
    with open(os.path.join(key_dir(t), "enc.key")) as f:
        enc = f.read()
    cfg = {"url": hub.url, "token": hub.token, "chromium": CHROMIUM,
           "agent": "pc-sig", "pem": pem, "enc_pem": enc, "line": line}
    path = t.write("signed.json", json.dumps(cfg), mode=0o600)
    r = t.run(["node", os.path.join(mtest.ROOT, "tests", "browser",
                                    "signed.mjs"), path], timeout=120)
    try:
        doc = json.loads(r.out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        doc = {"error": "no result (exit %s): %s" % (r.rc, r.err[-2000:])}
    for ln in doc.get("checks", []):
        t.note(ln)
    check(r.rc == 0 and doc.get("ok"), "the browser test failed: %s\n%s"
          % (doc.get("error"), "\n".join(doc.get("checks", []))))
    # what ran was signed: the hub kept the payload's command
    hist = hub.api("GET", "/api/commands?agent=pc-sig&limit=10")["commands"]
    check(any(c.get("cmd") == "echo signed-$((20+22))" and
              c.get("status") == "done" for c in hist),
          "the dashboard's command in history: %r" % hist)
    check(pem.split("\n")[1] not in hub.log(), "the key reached the hub")


test_dashboard_signed.time_limit = 180
