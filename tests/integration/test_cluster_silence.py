"""Silences on a cluster (issue 20): a silence made through one hub is in
force on every hub of the shared store.

A private PostgreSQL and Redis, hubs a and b on both (heartbeat 1 s, miss
3), a fake webhook both send to, and a real listener at b.  What is
checked:
- a silence made through a is listed by b within a read (5 s), naming a
  as its hub; one SILENCED notice goes out (from a);
- the agent killed: whichever hub records it critical mutes the alert
  (an "alert ... silenced" event, no CRITICAL message);
- the silence cleared through b (which did not make it): one SILENCE
  ENDED notice and one "still CRITICAL" alert, and a no longer lists it;
- a silence whose time runs out on both hubs is told ended once (by the
  hub that made it).
"""

import time

import fakeapi
from cluster_env import Redis
from fakeapi import WEBHOOK
from mtest import check, wait_until
from test_alerts import stays, wait_msgs
from test_cluster_live import kill, pg_pair, wait_known


def silence_ids(h):
    return [s["id"] for s in h.api("GET", "/api/silences")["silences"]]


def events_of(fake, since):
    return [m.get("event") for m in fake.messages(WEBHOOK, since)]


def test_a_silence_holds_on_every_hub(t):
    fake = fakeapi.start(t)
    redis = Redis(t).start()
    a, start_b = pg_pair(t, fake, redis)
    b = start_b()
    lst = t.listener(b, "cs-1", key=b.create_key(), wait_online=True)
    wait_known(a, "cs-1", "online")

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
