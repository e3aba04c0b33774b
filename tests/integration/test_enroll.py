"""Enrollment, credentials, the agent list and hubctl's exit statuses."""

import json
import os
import re
import signal
import sqlite3
import stat
import time

from mtest import (agent_online_pred, binary, check, free_port, wait_until)


def file_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def secret_part(s):
    """The SECRET of ID.SECRET (or the whole string)."""
    return s.rsplit(".", 1)[-1]


def test_hub_first_start_files(t):
    hub = t.hub()
    tok = os.path.join(hub.data, "admin.token")
    check(file_mode(tok) == 0o600, "admin.token mode %o, expected 600"
          % file_mode(tok))
    key = os.path.join(hub.data, "tls", "key.pem")
    check(file_mode(key) & 0o077 == 0,
          "tls/key.pem is readable by others: mode %o" % file_mode(key))
    # the hub prints the fingerprint of the certificate it serves
    check(hub.fingerprint in hub.log(),
          "hub log does not show its fingerprint %s" % hub.fingerprint)
    r = hub.request("GET", "/healthz", token=None)
    check(r.status == 200, "/healthz: %r" % r)
    doc = r.json()
    check(doc.get("status") == "ok", "/healthz: %r" % doc)


def test_enrollment_and_restart_without_key(t):
    hub = t.hub()
    kdoc = hub.create_key_doc()
    key = kdoc["key"]
    lst = t.listener(hub, "pc-enroll", key=key, tags=["lab", "gpu"])
    wait_until(lambda: t._lst_online(hub, lst), 15, "pc-enroll online")
    cred = os.path.join(lst.state_dir, "credential")
    wait_until(lambda: os.path.exists(cred), 5, "credential file")
    check(file_mode(cred) == 0o600, "credential mode %o, expected 600"
          % file_mode(cred))
    with open(cred) as f:
        secret = f.read().strip()
    check(len(secret) >= 32, "credential looks too short: %r" % secret)
    check(secret_part(key) not in secret,
          "the credential file holds the enrollment key")
    a = hub.agent("pc-enroll")
    check(sorted(a.get("tags") or []) == ["gpu", "lab"],
          "tags %r" % a.get("tags"))
    check(a.get("connected") is True, "connected: %r" % a.get("connected"))

    # stop it, revoke the key: the listener must not need it any more
    lst.signal(signal.SIGTERM)
    check(lst.wait(10) == 0, "listener exit status %s" % lst.returncode)
    hub.api("DELETE", "/api/enroll-keys/" + kdoc["id"], expect=200)
    keys = hub.api("GET", "/api/enroll-keys")["keys"]
    mine = [k for k in keys if k.get("id") == kdoc["id"]]
    check(mine and mine[0].get("revoked") is True,
          "key %s not shown revoked: %r" % (kdoc["id"], mine))
    hub.wait_status("pc-enroll", "offline", 5)
    lst2 = t.listener(hub, "pc-enroll", state_dir=lst.state_dir)
    wait_until(lambda: t._lst_online(hub, lst2), 15,
               "pc-enroll online again without --enroll-key")
    with open(cred) as f:
        check(f.read().strip() == secret,
              "the credential changed on a restart")
    # a revoked key enrolls nobody
    other = t.listener(hub, "pc-late", key=key)
    wait_until(lambda: re.search(r"refused.*(revoked|enroll)",
                                 other.stderr_text(), re.I), 10,
               "pc-late's log to say why it is refused")
    check(hub.agent("pc-late") is None,
          "a revoked key enrolled pc-late: %r" % hub.agent("pc-late"))


def test_secrets_stored_hashed(t):
    hub = t.hub()
    key = hub.create_key()
    lst = t.listener(hub, "pc-hash", key=key)
    wait_until(lambda: t._lst_online(hub, lst), 15, "pc-hash online")
    # the hub marks it online on hello; the file is written on welcome
    credfile = os.path.join(lst.state_dir, "credential")
    wait_until(lambda: os.path.exists(credfile), 5, "the credential file")
    with open(credfile) as f:
        cred = f.read().strip()
    secrets = {"enrollment key": secret_part(key),
               "agent credential": secret_part(cred),
               "admin token": secret_part(hub.token)}
    # let the store write everything out
    hub.stop()
    for root, _, files in os.walk(hub.data):
        for fn in files:
            path = os.path.join(root, fn)
            if fn == "admin.token" or root.endswith("tls"):
                continue
            with open(path, "rb") as f:
                data = f.read()
            for what, s in secrets.items():
                check(s.encode() not in data,
                      "%s stored in clear in %s" % (what, path))


def test_agents_listing(t):
    hub = t.hub()
    names = ["pc-one", "pc <two>"]
    t.enrolled(hub, names, tags=["lab"])
    r = t.hubctl(hub, "agents")
    check(r.rc == 0, "hubctl agents: %r" % r)
    for n in names:
        row = [ln for ln in r.out.splitlines() if n in ln]
        check(row, "hubctl agents does not list %r: %r" % (n, r.out))
        check("online" in row[0], "%r not online in %r" % (n, row[0]))
    r = t.hubctl(hub, "--json", "agents")
    check(r.rc == 0, "hubctl --json agents: %r" % r)
    doc = r.json()
    agents = doc.get("agents") if isinstance(doc, dict) else doc
    check(isinstance(agents, list), "--json agents: no list: %r" % doc)
    by = {a.get("name"): a for a in agents}
    for n in names:
        check(n in by, "--json agents lacks %r" % n)
        check(by[n].get("status") == "online", "%r: %r" % (n, by[n]))
    # the API carries what the hello said
    a = hub.agent("pc <two>")
    check(a and a.get("status") == "online", "GET agent: %r" % a)
    for k in ("hostname", "os", "kernel", "arch", "version"):
        check(isinstance(a.get(k), str) and a.get(k),
              "agent field %s missing: %r" % (k, a))
    check(a.get("version") == "0.1.0", "version %r" % a.get("version"))
    check(isinstance(a.get("last_seen"), (int, float)),
          "last_seen %r" % a.get("last_seen"))
    r = t.hubctl(hub, "show", "pc <two>")
    check(r.rc == 0 and "pc <two>" in r.out, "hubctl show: %r" % r)
    # metrics arrive with heartbeats
    wait_until(lambda: hub.agent("pc-one").get("metrics"), 5,
               "pc-one's metrics")
    m = hub.agent("pc-one")["metrics"]
    check(m.get("mem", {}).get("total", 0) > 0, "mem.total in %r" % m)


def test_hubctl_exit_statuses(t):
    hub = t.hub()
    t.enrolled(hub, ["pc-x"])
    r = t.hubctl(hub, "show", "no-such-agent")
    check(r.rc == 4, "show unknown agent: rc %s, expected 4: %r" % (r.rc, r))
    r = t.hubctl(hub, "send", "no-such-agent", "shell", "--", "true")
    check(r.rc == 4, "send to unknown agent: rc %s, expected 4: %r"
          % (r.rc, r))
    r = t.hubctl(hub, "agents", token="tnope.0123456789abcdef")
    check(r.rc == 3, "bad token: rc %s, expected 3: %r" % (r.rc, r))
    wrong = "sha256:" + "ab" * 32
    r = t.run(
        [binary("hubctl"), "--hub", hub.url, "--token", hub.token,
         "--fingerprint", wrong, "agents"], timeout=20)
    check(r.rc == 3, "wrong fingerprint: rc %s, expected 3: %r" % (r.rc, r))
    check(hub.token not in r.out + r.err, "hubctl printed the token")
    r = t.run([binary("hubctl"), "--hub", "https://127.0.0.1:%d"
               % free_port(), "--token", hub.token, "--fingerprint",
               hub.fingerprint, "agents"], timeout=20)
    check(r.rc == 3, "unreachable hub: rc %s, expected 3: %r" % (r.rc, r))
    # an agent that said goodbye is not online: 4
    lst = [p for p in t.procs if getattr(p, "agent", None) == "pc-x"][0]
    lst.signal(signal.SIGTERM)
    lst.wait(10)
    hub.wait_status("pc-x", "offline", 5)
    r = t.hubctl(hub, "send", "pc-x", "shell", "--", "true")
    check(r.rc == 4, "send to offline agent: rc %s, expected 4: %r"
          % (r.rc, r))
    # the environment works as well as flags
    env = dict(t.env, MAESTRO_HUB=hub.url, MAESTRO_TOKEN=hub.token)
    r = t.run([binary("hubctl"), "--fingerprint", hub.fingerprint, "--json",
               "agents"], env=env, timeout=20)
    check(r.rc == 0, "hubctl with MAESTRO_HUB/MAESTRO_TOKEN: %r" % r)
    json.loads(r.out)


def test_enroll_key_uses(t):
    hub = t.hub()
    r = t.hubctl(hub, "enroll-key", "create", "--uses", "1")
    check(r.rc == 0, "enroll-key create: %r" % r)
    key = r.out.strip()
    check(re.fullmatch(r"[\w]+\.[0-9a-f]{32,}", key),
          "enroll-key create printed %r, not a key alone" % r.out)
    a = t.listener(hub, "pc-first", key=key)
    wait_until(lambda: t._lst_online(hub, a), 15, "pc-first online")
    b = t.listener(hub, "pc-second", key=key)
    wait_until(lambda: re.search(r"refused.*(used|enroll)", b.stderr_text(),
                                 re.I), 10, "pc-second's log to say why it is refused")
    check(hub.agent("pc-second") is None,
          "a one-use key enrolled a second agent")
    check(agent_online_pred(hub, "pc-first")(), "pc-first went away")


def test_enroll_key_leaves_the_config_file(t):
    hub = t.hub()
    key = hub.create_key(uses=5)
    conf = t.write("conf/listener.conf", "# my settings\nenroll_key = %s\n"
                   "tags = lab\n" % key, mode=0o640)
    p = t.listener(hub, "pc-forget", extra=["--config", conf],
                   wait_online=True)
    wait_until(lambda: "enroll_key removed" in p.stderr_text(), 10,
               "the listener to remove the key from its config")
    with open(conf) as f:
        text = f.read()
    check(key not in text and "enroll_key" not in text,
          "the key is still in the config: %r" % text)
    check("# my settings" in text and "tags = lab" in text,
          "other lines were lost: %r" % text)
    check(os.stat(conf).st_mode & 0o777 == 0o640, "mode changed: %o"
          % (os.stat(conf).st_mode & 0o777))
    check(key not in p.stderr_text(), "the key was logged")
    # the next start uses the credential alone
    p.stop()
    p2 = t.listener(hub, "pc-forget", extra=["--config", conf],
                    state_dir=p.state_dir, wait_online=True)
    check("using the stored credential" in p2.stderr_text(),
          "second start: %s" % p2.stderr_text()[-300:])


def test_enrollment_welcome_waits_for_commit(t):
    # A new agent's credential goes out only once its row is committed, so
    # a kill -9 of the hub just after can never lose it.  The test holds
    # hub.db's write lock, which keeps the hub's commit waiting (it waits
    # up to 5 s for a lock): no credential may reach the listener meanwhile.
    hub = t.hub(heartbeat=1.0)
    key = hub.create_key(uses=1)
    db = sqlite3.connect(os.path.join(hub.data, "hub.db"), timeout=5,
                         isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    lst = t.listener(hub, "pc-early", key=key)
    cred = os.path.join(lst.state_dir, "credential")
    try:
        wait_until(lambda: "enrolled new agent 'pc-early'" in hub.log(), 10,
                   "the hub to enroll pc-early")
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.0:
            check(not os.path.exists(cred), "the listener got its "
                  "credential before the hub committed the agent")
            time.sleep(0.01)
    finally:
        db.execute("ROLLBACK")
        db.close()
    wait_until(lambda: os.path.exists(cred), 10, "pc-early's credential")
    hub.kill9()
    hub.start()
    wait_until(lambda: t._lst_online(hub, lst), 15,
               "pc-early back online with its credential")
    check("unknown agent" not in lst.stderr_text(),
          "the credential was lost: %s" % lst.stderr_text()[-300:])


def test_enroll_key_defaults_are_limited(t):
    # a key made without --uses / --expires enrolls 10 machines in a day
    hub = t.hub()
    r = t.hubctl(hub, "enroll-key", "create")
    check(r.rc == 0, "enroll-key create: %r" % r)
    kid = r.out.strip().split(".")[0]
    keys = hub.api("GET", "/api/enroll-keys")["keys"]
    k = [k for k in keys if k["id"] == kid]
    check(len(k) == 1, "key %s not listed: %r" % (kid, keys))
    k = k[0]
    check(k.get("uses") == 10, "default uses: %r" % k)
    left = k.get("expires", 0) - time.time()
    check(86000 < left <= 86400, "default expiry in %.0f s: %r" % (left, k))
    r = t.hubctl(hub, "enroll-key", "create", "--uses", "0", "--expires",
                 "0")
    kid = r.out.strip().split(".")[0]
    k = [k for k in hub.api("GET", "/api/enroll-keys")["keys"]
         if k["id"] == kid][0]
    check(not k.get("uses") and not k.get("expires"),
          "--uses 0 --expires 0 is unlimited: %r" % k)
