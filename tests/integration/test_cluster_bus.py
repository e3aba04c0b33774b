"""Hubs that know each other through Redis (issue 20, the bus and presence).

A real redis-server, started here on a free loopback port in the test's
directory (no persistence) and stopped by PID, and real hubs with
`bus = redis://127.0.0.1:PORT` and their own hub_name.  What is checked:
- every hub's GET /api/hubs and `hubctl hubs` list all of them, with the
  agents each holds (a listener enrolled on one shows on the others);
- a hub killed with SIGKILL disappears from the others' lists once its
  lease ran out (a window: not before the lease less one period, not
  long after it), each survivor records a hub_down event and exactly one
  HUB DOWN alert reaches the (fake) webhook both survivors send to; when
  it is started again it is back, with one HUB UP alert;
- a hub stopped cleanly (SIGTERM) says goodbye: an event, no alert;
- Redis killed: /healthz and /metrics say the bus is down while the hubs
  keep serving (status "ok"); Redis started again on its port: the bus is
  back within a bounded time, and no hub was taken for dead;
- a bad bus line fails the start with file:line, a password in the URL
  is refused and never repeated; a hub without a bus lists itself alone.
"""

import re
import socket
import time

import fakeapi
from cluster_env import Redis, bus_hub
from fakeapi import WEBHOOK
from mtest import Proc, binary, check, deadline, free_port, wait_until

LEASE = 10.0        # HUB_BUS_LEASE_MS
PERIOD = 2.0        # HUB_BUS_PERIOD


def hubs_doc(h):
    doc = h.api("GET", "/api/hubs")
    check(isinstance(doc.get("hubs"), list), "no hubs list: %r" % doc)
    return doc


def names(h):
    return sorted(x.get("name") for x in hubs_doc(h)["hubs"])


def sees(h, want):
    return names(h) == sorted(want)


def wait_sees(hubs, want, timeout, what):
    wait_until(lambda: all(sees(h, want) for h in hubs), timeout, what)


def hub_events(h, to):
    return [e for e in h.events() if e.get("type") == "hub" and
            e.get("to") == to]


def alerts(fake, event, since=0.0):
    return [m for m in fake.messages(WEBHOOK, since)
            if m and m.get("event") == event]


def metric(h, name):
    r = h.request("GET", "/metrics")
    check(r.status == 200, "/metrics: %r" % r)
    m = re.search(r"^%s (\S+)$" % name, r.body.decode(), re.M)
    return m.group(1) if m else None


def test_hubs_see_each_other_and_one_alert_for_a_dead_hub(t):
    fake = fakeapi.start(t)
    redis = Redis(t).start()
    a, b, c = (bus_hub(t, redis, n, fake) for n in "abc")
    all3 = ["a", "b", "c"]
    wait_sees([a, b, c], all3, 10, "every hub to list a, b and c")
    for h in (a, b, c):
        doc = hubs_doc(h)
        selfs = [x["name"] for x in doc["hubs"] if x.get("self")]
        check(selfs == [h.hub_name], "%s: self is %r" % (h.hub_name, selfs))
        check(doc["bus"] and doc["bus"].get("ok") is True and
              doc["bus"].get("url") == redis.url + "/0",
              "%s: bus %r" % (h.hub_name, doc["bus"]))
        check(h.api("GET", "/healthz", token=None).get("bus") == "ok",
              "healthz of %s" % h.hub_name)
        check(metric(h, "maestro_bus_up") == "1" and
              metric(h, "maestro_cluster_hubs") == "3",
              "%s: /metrics bus up, 3 hubs" % h.hub_name)

    # a listener on b: its count shows on a and c
    t.listener(b, "pc-1", key=b.create_key(), wait_online=True)

    def count_of_b(h):
        return [x.get("agents") for x in hubs_doc(h)["hubs"]
                if x.get("name") == "b"] == [1]
    wait_until(lambda: count_of_b(a) and count_of_b(c), 10,
               "a and c to see b holding 1 agent")
    for h in (a, b, c):
        r = t.hubctl(h, "hubs")
        check(r.rc == 0, "hubctl hubs on %s: %r" % (h.hub_name, r))
        rows = {ln.split()[1] if ln.startswith("*") else ln.split()[0]: ln
                for ln in r.out.splitlines()[1:] if ln.strip() and
                not ln.startswith("bus:")}
        check(sorted(rows) == all3, "hubctl hubs rows: %r" % r.out)
        check(rows[h.hub_name].startswith("* "), "self not marked: %r"
              % r.out)
        check(re.search(r"\b1\s+1\s", rows["b"]), "b's counts: %r" % r.out)
        check("bus: %s/0 ok" % redis.url in r.out, "bus line: %r" % r.out)
    r = t.hubctl(a, "--json", "hubs")
    check(r.rc == 0 and len(r.json()["hubs"]) == 3, "--json: %r" % r)

    # kill -9 c: dropped once its lease ran out, one alert in all
    since = time.monotonic()
    c.kill9()
    wait_sees([a, b], ["a", "b"], LEASE + PERIOD + 4,
              "a and b to drop c")
    took = time.monotonic() - since
    t.note("c dropped %.1fs after kill -9 (lease %gs, period %gs)"
           % (took, LEASE, PERIOD))
    check(took >= LEASE - PERIOD - 1, "c dropped after %.1fs: before its "
          "lease ran out" % took)
    for h in (a, b):
        wait_until(lambda h=h: hub_events(h, "hub_down"), 5,
                   "a hub_down event on " + h.hub_name)
        check(all("hub c " in e.get("detail", "")
                  for e in hub_events(h, "hub_down")),
              "event names c: %r" % hub_events(h, "hub_down"))
    wait_until(lambda: alerts(fake, "hub_down", since), 5, "HUB DOWN alert")
    time.sleep(deadline(PERIOD * 2))    # a second one would be here now
    down = alerts(fake, "hub_down", since)
    check(len(down) == 1 and down[0].get("title") == "HUB DOWN: c" and
          down[0].get("severity") == "critical",
          "exactly one HUB DOWN: c alert: %r" % down)

    # c again: back, one HUB UP
    since = time.monotonic()
    c.start()
    wait_sees([a, b, c], all3, 10, "c back on every hub")
    for h in (a, b):
        wait_until(lambda h=h: hub_events(h, "hub_back"), 5,
                   "a hub_back event on " + h.hub_name)
    wait_until(lambda: alerts(fake, "hub_ok", since), 5, "HUB UP alert")
    time.sleep(deadline(PERIOD * 2))
    up = alerts(fake, "hub_ok", since)
    check(len(up) == 1 and up[0].get("title") == "HUB UP: c",
          "exactly one HUB UP: c alert: %r" % up)

    # b stops cleanly: an event, no alert
    since = time.monotonic()
    check(b.stop() == 0, "b did not stop cleanly")
    wait_sees([a, c], ["a", "c"], LEASE + PERIOD + 6, "a and c to drop b")
    wait_until(lambda: hub_events(a, "hub_left"), 5, "hub_left on a")
    check(not alerts(fake, "hub_down", since),
          "a clean stop was alerted: %r" % alerts(fake, "hub_down", since))
    check(not [e for e in hub_events(a, "hub_down") if "hub b " in
               e.get("detail", "")], "a clean stop is no hub_down")


test_hubs_see_each_other_and_one_alert_for_a_dead_hub.time_limit = 150


def test_redis_down_and_back(t):
    fake = fakeapi.start(t)
    redis = Redis(t).start()
    a, b = bus_hub(t, redis, "a", fake), bus_hub(t, redis, "b", fake)
    wait_sees([a, b], ["a", "b"], 10, "a and b to list each other")
    since = time.monotonic()
    redis.kill()

    def bus_down(h):
        r = h.request("GET", "/healthz", token=None)
        doc = r.json()
        return r.status == 200 and doc.get("status") == "ok" and \
            str(doc.get("bus", "")).startswith("unreachable: ")
    wait_until(lambda: bus_down(a) and bus_down(b), PERIOD + 5,
               "/healthz to say the bus is unreachable (status ok)")
    for h in (a, b):
        check(metric(h, "maestro_bus_up") == "0", "maestro_bus_up 0")
        doc = hubs_doc(h)
        check(doc["bus"]["ok"] is False and doc["bus"].get("error"),
              "/api/hubs bus: %r" % doc["bus"])
        r = t.hubctl(h, "hubs")
        check(r.rc == 1 and "UNREACHABLE" in r.out, "hubctl hubs: %r" % r)
        h.agents()      # the hub serves on
    # the last list read stays while Redis is away
    check(sees(a, ["a", "b"]), "a forgot b while Redis was down")
    time.sleep(deadline(3))     # a few reconnect attempts (backoff)
    redis.start()
    back = time.monotonic()
    wait_until(lambda: all(hubs_doc(h)["bus"]["ok"] for h in (a, b)) and
               sees(a, ["a", "b"]) and sees(b, ["a", "b"]), 5 + 5 + PERIOD,
               "the bus back on a and b")
    t.note("bus back %.1fs after Redis restarted" % (time.monotonic() - back))
    for h in (a, b):
        check(metric(h, "maestro_bus_up") == "1", "maestro_bus_up 1")
        check(h.api("GET", "/healthz", token=None).get("bus") == "ok",
              "healthz bus ok")
        check([e for e in hub_events(h, "bus_unreachable")],
              "no bus_unreachable event on %s" % h.hub_name)
    # past the settling time after reconnecting (2 leases): nobody died
    end = back + deadline(2 * LEASE + PERIOD + 2)
    while time.monotonic() < end:
        check(not alerts(fake, "hub_down", since) and
              not hub_events(a, "hub_down") and not hub_events(b, "hub_down"),
              "a Redis restart was taken for a dead hub")
        time.sleep(0.5)


test_redis_down_and_back.time_limit = 120


def test_different_liveness_settings_are_told(t):
    """Hubs of a cluster must share heartbeat and miss: each shows the
    others' in /api/hubs, and one that differs is named in a warning,
    once per run of that hub."""
    redis = Redis(t).start()
    a = bus_hub(t, redis, "a")
    path = t.write("b.conf", "bus = %s\nhub_name = b\n" % redis.url,
                   mode=0o600)
    b = t.hub(name="hub-b", heartbeat=a.heartbeat * 2, miss=4,
              extra=["--config", path])
    b.hub_name = "b"
    wait_sees([a, b], ["a", "b"], 10, "a and b to list each other")
    want = "bus: hub b uses heartbeat %g s and miss 4, this hub heartbeat " \
        "%g s and miss %d" % (a.heartbeat * 2, a.heartbeat, a.miss)
    wait_until(lambda: want in a.log(), 10, "a's warning about b")
    wait_until(lambda: "bus: hub a uses heartbeat %g s" % a.heartbeat in
               b.log(), 10, "b's warning about a")
    time.sleep(3)                       # a round every 2 s: no repeat
    check(a.log().count("bus: hub b uses") == 1, "told %d times"
          % a.log().count("bus: hub b uses"))
    seen = {x["name"]: (x.get("heartbeat"), x.get("miss"))
            for x in hubs_doc(a)["hubs"]}
    check(seen == {"a": (a.heartbeat, a.miss), "b": (a.heartbeat * 2, 4)},
          "/api/hubs at a: %r" % seen)


def test_bad_bus_lines_and_a_hub_alone(t):
    cases = [
        ("bus = redis://:hunter2@127.0.0.1:6379",
         "bus: a user or password never goes in the URL"),
        ("bus = rediss://127.0.0.1:6379", "bus: rediss:// (TLS) is not "
         "supported"),
        ("bus = http://127.0.0.1:6379", "bus: must be redis://"),
        ("bus = redis://127.0.0.1:99999", "bus: the port is not a number"),
        ("bus = redis://127.0.0.1:6379/x", "bus: the database after '/'"),
        ("bus = redis://127.0.0.1:6379?db=2", "bus: must be redis://"),
        ("bus_password_file = /nonexistent", "bus_password_file: needs bus"),
        ("hub_name = no spaces", "hub_name: 'no spaces' is not"),
    ]
    for line, why in cases:
        path = t.write("bad.conf", "miss = 3\n# cluster\n" + line + "\n")
        r = t.run([binary("maestro-hub"), "--config", path, "--data",
                   t.path("data"), "--insecure-no-tls", "--listen",
                   "127.0.0.1:%d" % free_port()], timeout=10)
        check(r.rc == 2 and r.err.startswith(
            "maestro-hub: %s:3: %s" % (path, why)) and
            r.err.count("\n") == 1, "%r: %r" % (line, r))
        check("hunter2" not in r.err, "the password was repeated: %r" % r)
    path = t.write("bad.conf", "bus = redis://127.0.0.1:6379\n"
                   "bus_password_file = /nonexistent/pw\n")
    r = t.run([binary("maestro-hub"), "--config", path], timeout=10)
    check(r.rc == 2 and "%s:2: bus_password_file: cannot read" % path in
          r.err, "unreadable password file: %r" % r)

    # no bus: the hub alone, "bus": null, nothing about a bus elsewhere
    h = t.hub()
    doc = hubs_doc(h)
    check(doc["bus"] is None and len(doc["hubs"]) == 1 and
          doc["hubs"][0]["self"] is True and
          doc["hubs"][0]["name"] == socket.gethostname()[:63],
          "a hub alone: %r" % doc)
    check("bus" not in h.api("GET", "/healthz", token=None),
          "healthz without a bus")
    check(metric(h, "maestro_bus_up") is None, "no bus metric without a bus")
    r = t.hubctl(h, "hubs")
    check(r.rc == 0 and "bus: none" in r.out and "* " in r.out,
          "hubctl hubs alone: %r" % r)
    r = t.hubctl(h, "hubs", "--help")
    check(r.rc == 0 and "hubs" in r.out, "hubctl hubs --help: %r" % r)


def test_bus_with_a_password(t):
    redis = Redis(t)
    pw = t.write("redis.pw", "s3cret-bus-pass\n", mode=0o600)
    redis.starts += 1
    redis.proc = Proc(t, "redis-auth", [
        redis.exe, "--port", str(redis.port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no", "--dir", redis.dir,
        "--daemonize", "no", "--requirepass", "s3cret-bus-pass"])
    wait_until(redis.ping, 10, "redis-server")
    good = bus_hub(t, redis, "a", extra="bus_password_file = %s\n" % pw)
    wait_until(lambda: hubs_doc(good)["bus"]["ok"], 10, "a on the bus")
    bad = bus_hub(t, redis, "b")        # no password: refused by Redis
    wait_until(lambda: "NOAUTH" in str(hubs_doc(bad)["bus"].get("error")) or
               "AUTH" in str(hubs_doc(bad)["bus"].get("error")), 10,
               "b told Redis wants a password")
    check(names(good) == ["a"], "b is not on the bus")
    for p in t.procs:
        if p.name.startswith("hub-"):
            check("s3cret" not in p.stderr_text(), "password in a log")
