"""What applying a config commit keeps: a rule's state across commits that
leave the rule alone, and quiet for planned silences a commit drops."""

import time
from datetime import datetime, timedelta, timezone

import fakeapi
from fakeapi import WEBHOOK
from mtest import check, deadline, wait_until
from test_alerts import alert_hub, wait_msgs
from test_gitcfg import Repo, applied, status, sync

HOLD = 6.0      # the rule's "for"


def utc(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_rule_state_kept_across_commits(t):
    """A rule holding for 4 of its 6 s is not started over by two commits
    that add other rules: it fires 6 s after it began to hold, not 6 s
    after the last commit (an agent's state is carried to the new rule
    set at its next heartbeat, through each commit in between)."""
    repo = Repo(t)
    first = repo.commit({"rules.conf": "# none yet\n"}, "start")
    fake = fakeapi.start(t)
    hub = alert_hub(t, fake, channels=(WEBHOOK,), extra=(
        "config_repo = %s\nconfig_poll = 60s\n" % repo.bare))
    wait_until(lambda: applied(status(hub)) == first, 10, "first commit")
    (lst,) = t.enrolled(hub, ["pc-keep"])
    rule = "load1 >= 0 for %ds" % HOLD
    repo.commit({"rules.conf": rule + "\n"}, "the rule")
    since = time.monotonic()
    check(sync(hub)["rules"] == 1, "the rule applied")
    for i, extra in enumerate(("cpu_pct > 99 for 1h",
                               "mem_used_pct > 99 for 1h")):
        time.sleep(1.5)     # let heartbeats carry the state between them
        repo.commit({"rules.conf": "%s\n%s\n" % (extra, rule)},
                    "another rule %d" % i)
        check(sync(hub)["rules"] == 2, "commit %d applied" % i)
    last = time.monotonic()
    (w,) = wait_msgs(fake, WEBHOOK, 1, since, 15, "the rule's alert")
    fired = time.monotonic()
    check(w["event"] == "rule" and rule in w["text"], "alert: %r" % w)
    # started over, it could not fire before last + HOLD
    check(fired - since >= HOLD - 0.5 and fired < last + HOLD - 1.0,
          "fired %.1f s after the rule began, %.1f s after the last commit"
          % (fired - since, fired - last))
    lst.stop()


def test_dropped_planned_silence_is_quiet(t):
    """A commit that drops planned silences that never started tells no
    channel; the event log says each was removed before it started."""
    repo = Repo(t)
    later = datetime.now(timezone.utc) + timedelta(hours=3)
    c = repo.commit({"silences.conf": "".join(
        "tag:t%d %s +1h planned %d\n" % (i, utc(later), i)
        for i in range(5))}, "five planned")
    fake = fakeapi.start(t)
    hub = alert_hub(t, fake, channels=(WEBHOOK,), extra=(
        "config_repo = %s\nconfig_poll = 60s\n" % repo.bare))
    wait_until(lambda: applied(status(hub)) == c, 10, "the commit")
    since = time.monotonic()
    repo.commit({"silences.conf": None}, "none")
    check(sync(hub)["silences"] == 0, "the silences are gone")
    ev = wait_until(lambda: (lambda e: e if len(e) >= 5 else None)(
        [e for e in hub.api("GET", "/api/events?type=silence")["events"]
         if e["from"] == "planned" and e["to"] == "removed"]), 10,
        "five removed events")
    check(all("before it started" in e["detail"] for e in ev),
          "events: %r" % ev)
    # an alert would leave within the batch window (a second here)
    end = time.monotonic() + deadline(2.0)
    while time.monotonic() < end:
        check(not fake.messages(WEBHOOK, since),
              "a channel was told: %r" % fake.messages(WEBHOOK, since))
        time.sleep(0.05)
