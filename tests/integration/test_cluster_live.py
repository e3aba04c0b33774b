"""Liveness across hubs (issue 20, item 3): an agent is critical only when
no hub has heard it for miss x heartbeat, and one hub records it.

Real hubs joined through a private redis-server (cluster_env), sharing one
certificate, and a real listener.  The hubs stand in for one shared store
as test_multihub.py does: the agent enrols on hub a, whose data directory
is then copied to b's, so both know it.  Heartbeat 1 s, miss 3: a 3 s
window.  What is checked:
- an agent that moves between two live hubs within the window (its
  listener killed without a goodbye, a new one started against the other
  hub) raises nothing on either: the hub it left learns who holds it
  (that hub's feed, or the bus asked when the window ran out:
  maestro_cluster_liveness_total{verdict="held"}) and stops watching it
  for two windows; when it then goes silent for good, its holder
  records it critical once: one status event across both hubs and one
  CRITICAL alert;
- its hub killed (SIGKILL) with the agent: the survivor takes over the
  dead hub's agents once the hub's lease ran out, and records the agent
  critical once, not before its window after that (one alert);
- its hub killed while the agent lives: the agent moves and nothing is
  raised;
- its hub frozen (SIGSTOP: the network split as a test can make one, the
  agent's connection open to a hub that answers nothing): the survivor
  records the hub down and the agent critical once; when the hub resumes
  (SIGCONT) with the agent still connected, the survivor that recorded
  the incident records its end once, heard through the other hub, and the
  frozen hub raises nothing of its own;
- the end of an incident is recorded once across hubs: the agent back on
  the hub that did not record it (the recorder records it, heard through
  the other); the recorder restarted meanwhile (it records it from what
  it stored, RECOVERED alert included); the recorder killed (the hub the
  agent came back to records it, after the bus's lock, and alerts it);
  the hub that only followed it restarted before the agent comes back
  there (it reads who recorded it in Redis, maestro:incident:NAME, and
  leaves the end to that hub);
- on a shared store (a private PostgreSQL), an agent enrolled through one
  hub after the other started, and only ever connected to the first, is
  learnt by the other from the feed and recorded critical there when it
  dies together with its hub.
"""

import re
import shutil
import signal
import time

import fakeapi
import pgserve
from cluster_env import Redis, pg_hub
from fakeapi import WEBHOOK
from mtest import check, wait_until
from test_multihub import multi_listener, shared_cert, welcomed_by

HB, MISS = 1.0, 3
WINDOW = HB * MISS
LEASE, PERIOD = 10.0, 2.0       # HUB_BUS_LEASE_MS, HUB_BUS_PERIOD


def conf(t, redis, fake, name):
    return t.write("%s.conf" % name, "bus = %s\nhub_name = %s\n"
                   "webhook_url = %s\n" % (redis.url, name,
                                            fake.webhook_url), mode=0o600)


def cluster_pair(t, redis, fake, agent):
    """Hubs a and b on one bus, both knowing agent (a copied store)."""
    tls = shared_cert(t)
    a = t.hub(name="hub-a", heartbeat=HB, miss=MISS,
              extra=tls + ["--config", conf(t, redis, fake, "a")])
    lst = t.listener(a, agent, key=a.create_key(), wait_online=True)
    lst.stop()
    a.stop()
    b_data = t.path("hubdata-b")
    shutil.copytree(a.data, b_data)
    a.start()
    b = t.hub(name="hub-b", heartbeat=HB, miss=MISS, data=b_data,
              extra=tls + ["--config", conf(t, redis, fake, "b")])
    a.hub_name, b.hub_name = "a", "b"
    return a, b, lst.state_dir


def kill(p):
    p.signal(signal.SIGKILL)
    p.wait(5)


def status_on(h, agent):
    return h.agents().get(agent, {}).get("status")


def criticals(h, agent):
    return [e for e in h.events() if e.get("type") == "status" and
            e.get("agent") == agent and e.get("to") == "critical"]


def lates(h, agent):
    return [e for e in h.events() if e.get("type") == "status" and
            e.get("agent") == agent and e.get("to") == "late"]


def critical_alerts(fake, agent):
    return [m for m in fake.messages(WEBHOOK) if m and
            m.get("event") == "critical" and m.get("agent") == agent]


def liveness(h, verdict):
    r = h.request("GET", "/metrics")
    m = re.search(r'^maestro_cluster_liveness_total\{verdict="%s"\} (\d+)$'
                  % verdict, r.body.decode(), re.M)
    return int(m.group(1)) if m else 0


def wait_known(h, agent, status):
    wait_until(lambda: status_on(h, agent) == status, 10,
               "%s %s on hub %s" % (agent, status, h.hub_name))


def test_agent_moves_between_live_hubs(t):
    fake = fakeapi.start(t)
    redis = Redis(t).start()
    a, b, sd = cluster_pair(t, redis, fake, "cl-1")
    p = multi_listener(t, [a], "cl-1", sd, a.fingerprint)
    wait_known(a, "cl-1", "online")
    wait_known(b, "cl-1", "online")     # a's feed: a holds it

    # killed without a goodbye, back on b well within the window
    kill(p)
    p2 = multi_listener(t, [b], "cl-1", sd, b.fingerprint)
    wait_until(lambda: welcomed_by(p2, [b]) is b, WINDOW,
               "cl-1 welcomed by b within the window")
    end = time.monotonic() + WINDOW * 2     # a decided within one
    while time.monotonic() < end:
        check(not criticals(a, "cl-1") and not criticals(b, "cl-1"),
              "the move raised a critical: a %r, b %r"
              % (criticals(a, "cl-1"), criticals(b, "cl-1")))
        time.sleep(0.2)
    check(not lates(a, "cl-1"), "the hub it left recorded it late: %r"
          % lates(a, "cl-1"))
    check(status_on(a, "cl-1") == "online", "a shows cl-1 %s"
          % status_on(a, "cl-1"))

    # silent for good: critical once, from its holder
    t0 = time.monotonic()
    kill(p2)
    wait_until(lambda: criticals(b, "cl-1"), WINDOW * 3,
               "hub b to record cl-1 critical")
    took = time.monotonic() - t0
    # the window runs from its last heartbeat, at most one interval
    # before the kill
    check(took >= WINDOW - HB - 0.2, "critical %.2f s after the kill: "
          "inside the %g s window" % (took, WINDOW))
    wait_until(lambda: critical_alerts(fake, "cl-1"), 10,
               "the CRITICAL alert for cl-1")
    wait_known(a, "cl-1", "critical")   # a follows b's feed
    time.sleep(WINDOW)                  # a second decision would be in
    check(len(criticals(b, "cl-1")) == 1 and not criticals(a, "cl-1"),
          "critical events: a %r, b %r" % (criticals(a, "cl-1"),
                                          criticals(b, "cl-1")))
    check(len(critical_alerts(fake, "cl-1")) == 1, "alerts: %r"
          % critical_alerts(fake, "cl-1"))
    t.note("cl-1 critical %.2f s after its listener was killed "
           "(window %g s)" % (took, WINDOW))


def test_hub_dies_with_its_agent(t):
    fake = fakeapi.start(t)
    redis = Redis(t).start()
    a, b, sd = cluster_pair(t, redis, fake, "cl-2")
    p = multi_listener(t, [a], "cl-2", sd, a.fingerprint)
    wait_known(a, "cl-2", "online")
    wait_known(b, "cl-2", "online")

    t0 = time.monotonic()
    a.kill9()
    kill(p)
    wait_until(lambda: criticals(b, "cl-2"), LEASE + PERIOD + WINDOW + 8,
               "hub b to record cl-2 critical after a went down")
    took = time.monotonic() - t0
    # b learns a is down when a's lease runs out, then gives the agent
    # its window from there
    check(took >= LEASE - PERIOD + WINDOW - 0.5, "critical %.1f s after "
          "the kill: before a's lease and the window ran out" % took)
    check(liveness(b, "taken_over") >= 1, "b took nothing over")
    wait_until(lambda: critical_alerts(fake, "cl-2"), 10,
               "the CRITICAL alert for cl-2")
    time.sleep(WINDOW)
    check(len(criticals(b, "cl-2")) == 1 and
          len(critical_alerts(fake, "cl-2")) == 1,
          "one critical: events %r, alerts %r" % (
              criticals(b, "cl-2"), critical_alerts(fake, "cl-2")))
    t.note("cl-2 critical on b %.1f s after hub a and cl-2 were killed "
           "(lease %g s, window %g s)" % (took, LEASE, WINDOW))


def test_hub_dies_its_agent_moves(t):
    fake = fakeapi.start(t)
    redis = Redis(t).start()
    a, b, sd = cluster_pair(t, redis, fake, "cl-3")
    p = multi_listener(t, [a, b], "cl-3", sd, a.fingerprint)
    first = wait_until(lambda: welcomed_by(p, [a, b]), 15,
                       "a welcome from either hub")
    other = b if first is a else a
    wait_known(first, "cl-3", "online")
    wait_known(other, "cl-3", "online")
    off = p.log_size()
    first.kill9()
    wait_until(lambda: welcomed_by(p, [a, b], off) is other, WINDOW,
               "cl-3 welcomed by %s" % other.hub_name)
    # past the lease, the takeover and a window
    end = time.monotonic() + LEASE + PERIOD + WINDOW * 2
    while time.monotonic() < end:
        check(not criticals(other, "cl-3"), "the move raised a critical: "
              "%r" % criticals(other, "cl-3"))
        time.sleep(0.3)
    check(status_on(other, "cl-3") == "online", "cl-3 is %s"
          % status_on(other, "cl-3"))
    check(not critical_alerts(fake, "cl-3"), "alerts: %r"
          % critical_alerts(fake, "cl-3"))


def recoveries(h, agent):
    return [e for e in h.events() if e.get("type") == "status" and
            e.get("agent") == agent and e.get("from") == "critical"]


def bus_alerts(fake, event):
    return [m for m in fake.messages(WEBHOOK) if m and
            m.get("event") == event]


def test_frozen_hub_and_back(t):
    fake = fakeapi.start(t)
    redis = Redis(t).start()
    a, b, sd = cluster_pair(t, redis, fake, "cl-4")
    multi_listener(t, [a], "cl-4", sd, a.fingerprint)
    wait_known(a, "cl-4", "online")
    wait_known(b, "cl-4", "online")

    t0 = time.monotonic()
    a.proc.signal(signal.SIGSTOP)
    wait_until(lambda: criticals(b, "cl-4"), LEASE + PERIOD + WINDOW + 8,
               "hub b to record cl-4 critical while a is frozen")
    took = time.monotonic() - t0
    check(took >= LEASE - PERIOD + WINDOW - 0.5, "critical %.1f s after "
          "a froze: before a's lease and the window ran out" % took)
    wait_until(lambda: critical_alerts(fake, "cl-4"), 10,
               "the CRITICAL alert for cl-4")
    wait_until(lambda: bus_alerts(fake, "hub_down"), 10, "HUB DOWN: a")

    t1 = time.monotonic()
    a.proc.signal(signal.SIGCONT)
    wait_until(lambda: status_on(b, "cl-4") == "online", PERIOD + 10,
               "b to hear cl-4 again through a")
    back = time.monotonic() - t1
    rec = recoveries(b, "cl-4")
    check(len(rec) == 1 and rec[0].get("to") == "online" and
          "heard by hub a" in rec[0].get("detail", ""),
          "the end of the incident on b: %r" % rec)
    wait_until(lambda: bus_alerts(fake, "recovered"), 10,
               "the RECOVERED alert for cl-4")
    wait_until(lambda: bus_alerts(fake, "hub_ok"), 10, "HUB UP: a")
    time.sleep(WINDOW * 2)              # a second decision would be in
    check(status_on(a, "cl-4") == "online" and
          status_on(b, "cl-4") == "online",
          "after the split: a says %s, b says %s"
          % (status_on(a, "cl-4"), status_on(b, "cl-4")))
    check(len(criticals(b, "cl-4")) == 1 and not criticals(a, "cl-4") and
          not recoveries(a, "cl-4") and len(recoveries(b, "cl-4")) == 1,
          "status events: a %r, b %r" % (criticals(a, "cl-4") +
                                         recoveries(a, "cl-4"),
                                         criticals(b, "cl-4") +
                                         recoveries(b, "cl-4")))
    for ev in ("critical", "recovered", "hub_down", "hub_ok"):
        check(len(bus_alerts(fake, ev)) == 1, "%s alerts: %r"
              % (ev, bus_alerts(fake, ev)))
    t.note("a frozen: cl-4 critical on b after %.1f s; a resumed: online "
           "on b again after %.1f s" % (took, back))


test_agent_moves_between_live_hubs.time_limit = 120
test_hub_dies_with_its_agent.time_limit = 120
test_hub_dies_its_agent_moves.time_limit = 120
test_frozen_hub_and_back.time_limit = 120


def critical_at_a(t, agent):
    """Hubs a and b; agent held by a, killed: a records it critical (and
    alerts), b follows.  (fake, a, b, the agent's state directory)"""
    fake = fakeapi.start(t)
    redis = Redis(t).start()
    a, b, sd = cluster_pair(t, redis, fake, agent)
    p = multi_listener(t, [a], agent, sd, a.fingerprint)
    wait_known(a, agent, "online")
    wait_known(b, agent, "online")
    kill(p)
    wait_until(lambda: criticals(a, agent), WINDOW * 3,
               "hub a to record %s critical" % agent)
    wait_known(b, agent, "critical")
    wait_until(lambda: critical_alerts(fake, agent), 10,
               "the CRITICAL alert for %s" % agent)
    return fake, a, b, sd


def test_back_at_another_hub(t):
    """Critical on a (its holder), back on b: one recovery, one alert."""
    fake, a, b, sd = critical_at_a(t, "cl-5")
    multi_listener(t, [b], "cl-5", sd, b.fingerprint)
    wait_known(b, "cl-5", "online")
    wait_known(a, "cl-5", "online")
    wait_until(lambda: bus_alerts(fake, "recovered"), 10,
               "the RECOVERED alert for cl-5")
    time.sleep(WINDOW)                  # a second record would be in
    rec = recoveries(a, "cl-5") + recoveries(b, "cl-5")
    check(len(rec) == 1, "recoveries: a %r, b %r"
          % (recoveries(a, "cl-5"), recoveries(b, "cl-5")))
    check(len(bus_alerts(fake, "recovered")) == 1, "RECOVERED alerts: %r"
          % bus_alerts(fake, "recovered"))


def incident_ends(h, recorded):
    r = h.request("GET", "/metrics")
    m = re.search(r'^maestro_cluster_incident_ends_total\{recorded="%s"\} '
                  r'(\d+)$' % recorded, r.body.decode(), re.M)
    return int(m.group(1)) if m else 0


def test_recorder_restarted(t):
    """The hub that recorded the incident restarts before it ends: it
    records the end once, RECOVERED included, from what it stored."""
    fake = fakeapi.start(t)
    redis = Redis(t).start()
    a, b, sd = cluster_pair(t, redis, fake, "cl-6")
    multi_listener(t, [a], "cl-6", sd, a.fingerprint)
    wait_known(a, "cl-6", "online")
    wait_known(b, "cl-6", "online")
    a.proc.signal(signal.SIGSTOP)
    wait_until(lambda: criticals(b, "cl-6"), LEASE + PERIOD + WINDOW + 8,
               "hub b to record cl-6 critical while a is frozen")
    wait_until(lambda: critical_alerts(fake, "cl-6"), 10,
               "the CRITICAL alert for cl-6")

    b.stop()                            # its memory of the incident goes
    b.start()
    check(status_on(b, "cl-6") == "critical", "after its restart b shows "
          "cl-6 %s" % status_on(b, "cl-6"))
    a.proc.signal(signal.SIGCONT)
    wait_until(lambda: status_on(b, "cl-6") == "online", PERIOD + 10,
               "b to hear cl-6 again through a")
    wait_until(lambda: bus_alerts(fake, "recovered"), 10,
               "the RECOVERED alert for cl-6")
    time.sleep(WINDOW)                  # a second record would be in
    rec = recoveries(b, "cl-6")
    check(len(rec) == 1 and "heard by hub a" in rec[0].get("detail", "")
          and not recoveries(a, "cl-6"),
          "the end of the incident: a %r, b %r"
          % (recoveries(a, "cl-6"), rec))
    check(len(bus_alerts(fake, "recovered")) == 1, "RECOVERED alerts: %r"
          % bus_alerts(fake, "recovered"))
    check(incident_ends(b, "here") == 1, "b's incident_ends{here}: %d"
          % incident_ends(b, "here"))


def test_follower_restarted(t):
    """Shared store: the hub that only followed the incident restarts (it
    no longer knows who recorded it), then the agent comes back on it:
    the recorder, still up, records the end, once."""
    fake = fakeapi.start(t)
    redis = Redis(t).start()
    a, start_b = pg_pair(t, fake, redis)
    lst = t.listener(a, "cl-9", key=a.create_key(), wait_online=True)
    b = start_b()
    wait_known(b, "cl-9", "online")
    kill(lst)
    wait_until(lambda: criticals(a, "cl-9"), WINDOW * 3,
               "hub a to record cl-9 critical")
    wait_known(b, "cl-9", "critical")
    b.stop()
    b.start()
    check(status_on(b, "cl-9") == "critical", "after its restart b shows "
          "cl-9 %s" % status_on(b, "cl-9"))
    multi_listener(t, [b], "cl-9", lst.state_dir, b.fingerprint)
    wait_known(b, "cl-9", "online")
    wait_known(a, "cl-9", "online")
    wait_until(lambda: bus_alerts(fake, "recovered"), 10,
               "the RECOVERED alert for cl-9")
    time.sleep(WINDOW)                  # a second record would be in
    rec = recoveries(a, "cl-9")         # one store: both hubs' events
    check(len(rec) == 1 and rec[0].get("detail") == "heard by hub b",
          "recoveries: %r" % rec)
    check(len(bus_alerts(fake, "recovered")) == 1 and
          incident_ends(b, "elsewhere") == 1,
          "RECOVERED alerts %r; b's incident_ends{elsewhere} %d"
          % (bus_alerts(fake, "recovered"), incident_ends(b, "elsewhere")))


def test_recorder_gone(t):
    """The hub that recorded the incident is killed; the agent comes back
    on the survivor: the survivor records the end and alerts it."""
    fake, a, b, sd = critical_at_a(t, "cl-7")
    a.kill9()
    wait_until(lambda: bus_alerts(fake, "hub_down"), LEASE + PERIOD + 10,
               "HUB DOWN: a")

    multi_listener(t, [b], "cl-7", sd, b.fingerprint)
    wait_known(b, "cl-7", "online")
    wait_until(lambda: bus_alerts(fake, "recovered"), 10,
               "the RECOVERED alert for cl-7")
    rec = recoveries(b, "cl-7")
    check(len(rec) == 1, "b's recoveries: %r" % rec)
    check(incident_ends(b, "here") == 1, "b's incident_ends{here}: %d"
          % incident_ends(b, "here"))


def learnt(h):
    r = h.request("GET", "/metrics")
    m = re.search(r'^maestro_cluster_agents_learnt_total (\d+)$',
                  r.body.decode(), re.M)
    return int(m.group(1)) if m else 0


def pg_pair(t, fake, redis):
    """Hub a on a private PostgreSQL and the bus; and a function that
    starts hub b on both (when the test wants it)."""
    pg = pgserve.start(t)
    pg.createdb("fleet")
    tls = shared_cert(t)
    hook = "webhook_url = %s\n" % fake.webhook_url
    a = pg_hub(t, pg, redis, "a", tls, conf=hook, heartbeat=HB, miss=MISS)
    return a, lambda: pg_hub(t, pg, redis, "b", tls, first=a, conf=hook,
                             heartbeat=HB, miss=MISS)


def test_enrolled_elsewhere_dies_with_its_hub(t):
    """Shared store: an agent enrolled through a after b started, only
    ever connected to a, dies together with a: b records it critical."""
    fake = fakeapi.start(t)
    redis = Redis(t).start()
    a, start_b = pg_pair(t, fake, redis)
    b = start_b()
    lst = t.listener(a, "cl-8", key=a.create_key(), wait_online=True)
    wait_until(lambda: learnt(b) == 1, 10, "b to learn cl-8 from a's feed")
    check("agent 'cl-8' (enrolled through another hub) found in the store"
          in b.log(), "b's log does not say it learnt cl-8")
    wait_known(b, "cl-8", "online")

    t0 = time.monotonic()
    a.kill9()
    kill(lst)
    wait_until(lambda: criticals(b, "cl-8"), LEASE + PERIOD + WINDOW + 8,
               "hub b to record cl-8 critical after a went down")
    t.note("cl-8 critical on b %.1f s after a and cl-8 were killed"
           % (time.monotonic() - t0))
    wait_until(lambda: critical_alerts(fake, "cl-8"), 10,
               "the CRITICAL alert for cl-8")


test_back_at_another_hub.time_limit = 120
test_enrolled_elsewhere_dies_with_its_hub.time_limit = 120
test_recorder_restarted.time_limit = 120
test_recorder_gone.time_limit = 120
test_follower_restarted.time_limit = 120
