"""A listener given several hubs: `hub = wss://a, wss://b`.

Two real hubs on free loopback ports load the SAME certificate and key
(--tls-cert/--tls-key, one certificate naming 127.0.0.1, made here with
openssl as docs/operations.md says), so one --fingerprint pins both.

The credential: hubs do not share a store yet (issue 20's PostgreSQL store
comes later), and a listener keeps only the credential the hub issued (its
enroll key is dropped at the welcome), so a credential of hub A is unknown
to a hub B with its own database.  The test stands in for the shared store
honestly: the listener enrols on hub A alone, hub A is stopped cleanly
(SQLite checkpointed), and its data directory -- hub.db with the
credential's hash, and admin.token -- is copied to hub B's before B first
starts.  Both hubs then know the agent exactly as two hubs on one shared
store would.  Each runs on its own data directory from then on.

What is checked:
- the listener is welcomed by one hub; that hub is killed (SIGKILL, by
  PID) and the other welcomes it within the window the backoff rules give
  (the next hub is tried after --reconnect-min, jittered by at most 25 %,
  not after a doubled delay); the first hub is started again on its port,
  the second stopped (SIGTERM), and the listener goes back;
- the first hub is random: short runs against two closed ports pick both;
- with every hub down, each hub is tried once per round and the delay
  doubles per round only (no hammering);
- install.sh with two hubs (the first one closed) downloads from the one
  that answers, pinned, and writes both into listener.conf.
"""

import os
import re
import shutil
import time

from mtest import (Proc, binary, check, deadline, fail, free_port, skip,
                   wait_until)
import test_install

RECONNECT_MIN = 0.2


def shared_cert(t):
    """One self-signed certificate and key for every hub of the test."""
    if shutil.which("openssl") is None:
        skip("openssl is not installed")
    cert, key = t.path("cluster-cert.pem"), t.path("cluster-key.pem")
    r = t.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
               "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
               "-subj", "/CN=maestro-cluster", "-addext",
               "subjectAltName=IP:127.0.0.1,DNS:localhost",
               "-keyout", key, "-out", cert])
    check(r.rc == 0, "openssl req: %r" % r)
    os.chmod(key, 0o600)
    return ["--tls-cert", cert, "--tls-key", key]


def two_hubs_one_agent(t, name):
    """Hubs A and B sharing a certificate and (by a copy) a store, and the
    state dir of a listener enrolled as name on them."""
    tls = shared_cert(t)
    a = t.hub(name="hub-a", extra=tls)
    lst = t.listener(a, name, key=a.create_key(), wait_online=True)
    lst.stop()
    a.stop()
    b_data = t.path("hubdata-b")
    shutil.copytree(a.data, b_data)
    a.start()
    b = t.hub(name="hub-b", data=b_data, extra=tls)
    check(a.fingerprint == b.fingerprint, "the hubs' certificates differ")
    return a, b, lst.state_dir


def multi_listener(t, hubs, name, state_dir, fingerprint, extra=()):
    argv = [binary("maestro-listener"), "--hub",
            ", ".join(h.ws_url for h in hubs), "--name", name,
            "--state-dir", state_dir, "--reconnect-min", str(RECONNECT_MIN)]
    if fingerprint:
        argv += ["--fingerprint", fingerprint]
    p = Proc(t, "listener-" + name, list(argv) + list(extra))
    p.agent = name
    return p


def welcomed_by(p, hubs, since=0):
    """The hub whose welcome is the last in p's log after offset since."""
    found = re.findall(r"hub (\S+) welcomed us", p.log_since(since))
    if not found:
        return None
    for h in hubs:
        if h.ws_url == found[-1]:
            return h
    fail("welcomed by an unknown hub %r" % found[-1])
    return None


def move_window():
    """Seconds from a hub's death to the other's welcome: the next hub is
    tried after reconnect_min (+25 % jitter), then TCP, TLS, hello and
    welcome on loopback take well under a second (sanitizer builds are
    slower: deadline() scales)."""
    return deadline(RECONNECT_MIN * 1.25 + 2.0)


def check_moves(t, p, frm, to, stop):
    off = p.log_size()
    t0 = time.monotonic()
    stop()
    wait_until(lambda: welcomed_by(p, [frm, to], off) is to,
               move_window() / deadline(1), "the listener welcomed by %s "
               "after %s went" % (to.name, frm.name))
    took = time.monotonic() - t0
    check(took <= move_window(), "moved in %.2f s, over %.2f s"
          % (took, move_window()))
    m = re.search(r"hub %s: [^\n]*; trying hub %s in ([0-9.]+) s"
                  % (re.escape(frm.ws_url), re.escape(to.ws_url)),
                  p.log_since(off))
    check(m, "no 'trying hub %s' line:\n%s" % (to.ws_url, p.log_since(off)))
    check(float(m.group(1)) <= RECONNECT_MIN * 1.25 + 0.05,
          "the move waited %s s, not the first delay" % m.group(1))
    wait_until(lambda: to.agents().get(p.agent, {}).get("status") ==
               "online", 5, "%s online on %s" % (p.agent, to.name))
    t.note("%s -> %s: welcomed %.2f s after the stop" % (frm.name, to.name,
                                                          took))


def test_multihub_moves_and_back(t):
    a, b, sd = two_hubs_one_agent(t, "mh-1")
    p = multi_listener(t, [a, b], "mh-1", sd, a.fingerprint)
    first = wait_until(lambda: welcomed_by(p, [a, b]), 15,
                       "a welcome from either hub")
    other = b if first is a else a
    check("2 hubs; trying %s first" % first.ws_url in p.stderr_text(),
          "the start does not say which hub it tries:\n%s"
          % p.stderr_text())
    wait_until(lambda: first.agents().get("mh-1", {}).get("status") ==
               "online", 5, "mh-1 online on %s" % first.name)
    # sudden death of the hub in use: the other one takes the listener
    check_moves(t, p, first, other, first.kill9)
    # the first comes back on its port, the second stops: back again
    first.start()
    check_moves(t, p, other, first, other.stop)
    check(p.alive(), "the listener exited")


def first_pick(t, hubs, i):
    """Start a listener against hubs (closed ports), read which it tries
    first, stop it."""
    p = Proc(t, "pick-%d" % i, [
        binary("maestro-listener"), "--hub", ",".join(hubs), "--name",
        "pick", "--enroll-key", "k.unused", "--state-dir",
        t.mkdir("state-pick")])
    m = wait_until(lambda: re.search(r"2 hubs; trying (\S+) first",
                                     p.stderr_text()), 10,
                   "the first hub in run %d" % i)
    p.stop()
    return m.group(1)


def test_multihub_random_first_and_rounds(t):
    hubs = ["ws://127.0.0.1:%d" % free_port() for _ in range(2)]
    picks = {}
    # 16 runs all picking the same of 2 hubs: odds 2 in 65,536
    for i in range(16):
        h = first_pick(t, hubs, i)
        check(h in hubs, "picked %r" % h)
        picks[h] = picks.get(h, 0) + 1
        if len(picks) == 2:
            break
    check(len(picks) == 2, "every run started with the same hub: %r" % picks)
    t.note("first picks: %r" % picks)

    # every hub down: one attempt per hub per round; the delay between
    # hubs stays the first one, the one ending a round doubles
    p = Proc(t, "rounds", [binary("maestro-listener"), "--hub",
                           ", ".join(hubs), "--name", "rounds",
                           "--enroll-key", "k.unused", "--state-dir",
                           t.mkdir("state-rounds"), "--reconnect-min",
                           str(RECONNECT_MIN)])
    pat = r"hub (\S+): [^\n]*; trying hub (\S+) in ([0-9.]+) s"
    lines = wait_until(lambda: (lambda m: m if len(m) >= 8 else None)(
        re.findall(pat, p.stderr_text())), 20, "8 failed attempts")
    p.stop()
    for n, (frm, to, d) in enumerate(lines[:8]):
        check(frm != to and {frm, to} == set(hubs),
              "attempt %d: from %s to %s" % (n, frm, to))
        d = float(d)
        if n % 2 == 0:      # the round goes on: the first delay
            lo, hi = RECONNECT_MIN * 0.75, RECONNECT_MIN * 1.25
        else:               # the round ends: the backoff, doubled each time
            base = RECONNECT_MIN * 2 ** (n // 2)
            lo, hi = base * 0.75, base * 1.25
        check(lo - 0.05 <= d <= hi + 0.05, "attempt %d waited %.1f s, not "
              "%.2f-%.2f s:\n%s" % (n, d, lo, hi, p.stderr_text()))


def test_multihub_install(t):
    hub, script = test_install.served_hub(t)
    closed = "wss://127.0.0.1:%d" % free_port()
    root = t.mkdir("root")
    r = t.run(["sh", script, "--root", root, "--hub", closed, "--hub",
               hub.ws_url, "--fingerprint", hub.fingerprint,
               "--enroll-key", hub.create_key(), "--name", "mh-inst"],
              timeout=60)
    check(r.rc == 0, "install.sh with two hubs: %r" % r)
    check("cannot reach the hub at 127.0.0.1" in r.out and
          "trying the next hub" in r.out,
          "the closed hub was not tried first:\n%s" % r.out)
    check("downloading maestro-listener from %s" % hub.url in r.out,
          "not downloaded from the hub that answers:\n%s" % r.out)
    with open(os.path.join(root, "etc/maestro/listener.conf")) as f:
        conf = f.read()
    check("hub = %s, %s\n" % (closed, hub.ws_url) in conf,
          "listener.conf:\n%s" % conf)
    p = test_install.start_installed(t, hub, root, "mh-inst")
    check(p.alive(), "the installed listener exited")

    # a comma list works the same; a bad URL in it is named
    r = t.run(["sh", script, "--root", t.mkdir("root2"), "--hub",
               "%s,ftp://x:1" % hub.ws_url, "--fingerprint",
               hub.fingerprint], timeout=60)
    check(r.rc != 0 and "ftp://x:1" in r.err, "bad URL: %r" % r)
    r = t.run(["sh", script, "--root", t.mkdir("root3"), "--hub",
               "%s, ws://127.0.0.1:1" % hub.ws_url], timeout=60)
    check(r.rc != 0 and "every hub uses wss://" in r.err, "mixed: %r" % r)
