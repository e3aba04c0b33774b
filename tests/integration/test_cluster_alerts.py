"""Alerts on a cluster (issue 20): what one hub of a shared store is told
about alerting holds on every hub, since the hub that records an incident
is the one that alerts it.

A private PostgreSQL and Redis, hubs a and b on both (heartbeat 1 s, miss
3; b given a's admin token and DATA/vapid.pem), a fake webhook both send
to, and a real listener at b.  What is checked, for silences:
- a silence made through a is listed by b within a read (5 s), naming a
  as its hub; one SILENCED notice goes out (from a);
- the agent killed: whichever hub records it critical mutes the alert
  (an "alert ... silenced" event, no CRITICAL message);
- the silence cleared through b (which did not make it): one SILENCE
  ENDED notice and one "still CRITICAL" alert, and a no longer lists it;
- a silence whose time runs out on both hubs is told ended once (by the
  hub that made it);
- an incident acknowledged through a shows acknowledged on b too, and
  when the silence that muted it is cleared it is not alerted again,
  whichever hub recorded it.
For Web Push (a local push service, pushserve.py, and its subscriber):
- a subscription made through a is served by b within a read (5 s); the
  agent killed, one push reaches the browser, whichever hub records the
  incident, signed with the key it subscribed with; the hubs, sharing
  vapid.pem, do not warn of different keys;
- revoked through b, a drops it within a read;
- hubs with different keys (each its own vapid.pem) warn of it.
For the Telegram bot's commands (the fake Bot API answers a getUpdates
that meets a newer one with 409, as Telegram does):
- of two hubs on one bus with the same bot, one polls (the bus's lease)
  and the other waits: no 409 while both run, a command is answered;
- the poller killed, the other takes over within a lease and answers.
"""

import json
import time

import fakeapi
import pgserve
import pushserve
from cluster_env import Redis, bus_hub, pg_hub
from fakeapi import WEBHOOK
from mtest import check, wait_until
from test_alerts import stays, wait_msgs
from test_chat_telegram import ask, chat_conf
from test_cluster_live import HB, MISS, kill, pg_pair, wait_known
from test_multihub import shared_cert


def silence_ids(h):
    return [s["id"] for s in h.api("GET", "/api/silences")["silences"]]


def events_of(fake, since):
    return [m.get("event") for m in fake.messages(WEBHOOK, since)]


def pair_with_agent(t, name):
    """Hubs a and b on a private PostgreSQL and Redis, alerting to a fake
    webhook, and a listener at b known online to a: (fake, redis, a, b,
    the listener)."""
    fake = fakeapi.start(t)
    redis = Redis(t).start()
    a, start_b = pg_pair(t, fake, redis)
    b = start_b()
    lst = t.listener(b, name, key=b.create_key(), wait_online=True)
    wait_known(a, name, "online")
    return fake, redis, a, b, lst


def test_a_silence_holds_on_every_hub(t):
    fake, redis, a, b, lst = pair_with_agent(t, "cs-1")

    since = time.monotonic()
    sid = a.api("POST", "/api/silences", {"agent": "cs-1", "for": "10m",
                                           "reason": "disk swap"},
                expect=201)["id"]
    wait_until(lambda: silence_ids(b) == [sid], 10,
               "b to list the silence made through a")
    (doc,) = b.api("GET", "/api/silences")["silences"]
    check(doc["hub"] == "a" and doc["agent"] == "cs-1" and
          doc["reason"] == "disk swap", "b's copy: %r" % doc)
    wait_msgs(fake, WEBHOOK, 1, since, 5, "the SILENCED notice")

    kill(lst)
    wait_known(a, "cs-1", "critical")
    wait_known(b, "cs-1", "critical")
    wait_until(lambda: [e for h in (a, b) for e in h.events()
                        if e["type"] == "alert" and e["agent"] == "cs-1"
                        and e["to"] == "silenced"], 10,
               "the critical alert muted, on one hub or the other")
    stays(fake, since, 1, 2.0, "cs-1 critical under a silence")

    r = b.request("DELETE", "/api/silences/" + sid)
    check(r.status == 200, "clear through b: %r" % r)
    msgs = wait_msgs(fake, WEBHOOK, 3, since, 10, "end notice + critical")
    check([m["event"] for m in msgs] == ["silence", "silence_end",
                                         "critical"], "messages: %r" % msgs)
    check(msgs[2]["text"].startswith("cs-1 is still CRITICAL now that its "
                                     "silence has ended"),
          "the critical: %r" % msgs[2])
    wait_until(lambda: silence_ids(a) == [], 10,
               "a to drop the silence cleared through b")
    stays(fake, since, 3, 2.0, "after the clear")

    # ends by itself on both: told once, by a
    since = time.monotonic()
    sid = a.api("POST", "/api/silences", {"agent": "cs-1", "for": "8s"},
                expect=201)["id"]
    wait_until(lambda: silence_ids(b) == [sid], 10,
               "b to list the second silence")
    wait_until(lambda: silence_ids(a) == [] and silence_ids(b) == [], 15,
               "the second silence to end on both hubs")
    wait_msgs(fake, WEBHOOK, 2, since, 5, "its notices")
    stays(fake, since, 2, 2.0, "after the second silence's end")
    check(events_of(fake, since) == ["silence", "silence_end"],
          "second silence: %r" % events_of(fake, since))
    redis.kill()


def acked_by(h, agent):
    return ((h.agent(agent) or {}).get("incident") or {}).get("acked_by")


def test_an_ack_holds_on_every_hub(t):
    fake, redis, a, b, lst = pair_with_agent(t, "ck-1")
    since = time.monotonic()
    sid = a.api("POST", "/api/silences", {"agent": "ck-1", "for": "10m"},
                expect=201)["id"]
    wait_until(lambda: silence_ids(b) == [sid], 10,
               "b to list the silence made through a")
    kill(lst)
    wait_known(a, "ck-1", "critical")
    wait_known(b, "ck-1", "critical")
    doc = a.api("POST", "/api/agents/ck-1/ack", {})
    check(doc["incident"]["acked_by"] == "admin", "ack: %r" % doc)
    wait_until(lambda: acked_by(b, "ck-1") == "admin", 10,
               "b to show the acknowledgement given through a")
    r = a.request("DELETE", "/api/silences/" + sid)
    check(r.status == 200, "clear: %r" % r)
    msgs = wait_msgs(fake, WEBHOOK, 2, since, 10, "the silence's notices")
    check([m["event"] for m in msgs] == ["silence", "silence_end"],
          "messages: %r" % msgs)
    stays(fake, since, 2, 3.0, "an acknowledged incident alerted again")
    redis.kill()


PUSH_CONF = ("push_allow_insecure = yes\n"
             "push_subject = mailto:ops@example.com\n")


def push_subs(h):
    return [s["id"] for s in
            h.api("GET", "/api/push/subscriptions")["subscriptions"]]


def test_a_push_subscription_reaches_every_hub(t):
    svc = pushserve.start(t)
    redis = Redis(t).start()
    pg = pgserve.start(t)
    pg.createdb("fleet")
    tls = shared_cert(t)
    a = pg_hub(t, pg, redis, "a", tls, conf=PUSH_CONF, heartbeat=HB,
               miss=MISS)
    b = pg_hub(t, pg, redis, "b", tls, first=a, conf=PUSH_CONF,
               heartbeat=HB, miss=MISS)
    key = a.api("GET", "/api/push/key")["key"]
    check(b.api("GET", "/api/push/key")["key"] == key, "b's key is not a's")
    lst = t.listener(b, "cp-1", key=b.create_key(), wait_online=True)
    wait_known(a, "cp-1", "online")

    sub = pushserve.Subscriber(svc.endpoint("phone"))
    pid = a.api("POST", "/api/push/subscriptions", sub.json(),
                expect=201)["id"]
    wait_until(lambda: push_subs(b) == [pid], 10,
               "b to serve the subscription made through a")
    since = time.monotonic()
    kill(lst)
    reqs = wait_until(lambda: svc.got("phone", since), 15,
                      "the push of cp-1's incident")
    p = json.loads(sub.decrypt(reqs[0].body))
    check(p["title"] == "CRITICAL: cp-1", "payload: %r" % p)
    pushserve.vapid_check(reqs[0].headers, key, svc.origin)
    end = time.monotonic() + 2.0        # a second one would come by then
    while time.monotonic() < end:
        check(len(svc.got("phone", since)) == 1, "pushes: %d"
              % len(svc.got("phone", since)))
        time.sleep(0.05)
    for h in (a, b):
        check("another Web Push key" not in h.log(),
              "hub %s warned of keys it shares" % h.hub_name)

    r = b.request("DELETE", "/api/push/subscriptions/" + pid)
    check(r.status == 200, "revoke through b: %r" % r)
    wait_until(lambda: push_subs(a) == [], 10,
               "a to drop the subscription revoked through b")
    redis.kill()


def test_different_push_keys_are_told(t):
    redis = Redis(t).start()
    a, b = bus_hub(t, redis, "a"), bus_hub(t, redis, "b")
    for h, other in ((a, "b"), (b, "a")):
        wait_until(lambda h=h, other=other: "bus: hub %s has another Web "
                   "Push key than this hub" % other in h.log(), 15,
                   "%s's warning about %s's key" % (h.hub_name, other))


POLLS = "this hub polls Telegram now"


def test_one_hub_polls_telegram(t):
    fake = fakeapi.start(t)
    redis = Redis(t).start()
    a = bus_hub(t, redis, "a", extra=chat_conf(fake))
    b = bus_hub(t, redis, "b", extra=chat_conf(fake))
    poller = wait_until(lambda: [h for h in (a, b) if POLLS in h.log()],
                        15, "a hub to take the Telegram lease")
    check(len(poller) == 1, "both hubs poll")
    poller = poller[0]
    other = b if poller is a else a
    wait_until(lambda: fake.polls == 1, 10, "the poller's getUpdates")
    conflicts = fake.conflicts
    end = time.monotonic() + 4.0        # two bus rounds and more
    while time.monotonic() < end:
        check(fake.polls <= 1 and fake.conflicts == conflicts,
              "%d getUpdates held, %d ended by 409" %
              (fake.polls, fake.conflicts - conflicts))
        time.sleep(0.05)
    check(POLLS not in other.log(), "%s polls too" % other.hub_name)
    check("/status" in ask(fake, "/help"), "the answer to /help")

    poller.kill9()
    wait_until(lambda: POLLS in other.log(), 20,
               "%s to take the lease over" % other.hub_name)
    check("/status" in ask(fake, "/help"), "no answer after the takeover")
    redis.kill()
