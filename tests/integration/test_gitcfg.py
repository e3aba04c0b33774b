"""The hub follows a git repository of fleet configuration (issue 19):
real repositories made with the git CLI in the test's directory (a bare
repository as the remote, a work clone that commits and pushes), the hub
reading them with libgit2.  Covers a rule arriving by push + sync (and
firing), a bad commit refused with file:line while the last good stays, a
force push followed, polling, an unreachable repository, a file past the
size cap, agents.conf's tags, silences.conf's silences and alerts.conf's
routes."""
import os
import signal
import statistics
import subprocess
import time
from datetime import datetime, timedelta, timezone

import fakeapi
from fakeapi import DISCORD, TELEGRAM, WEBHOOK
from mtest import Proc, binary, check, wait_until
from test_alerts import alert_hub, wait_msgs

GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME="Ada Ops",
               GIT_AUTHOR_EMAIL="ada@example.org",
               GIT_COMMITTER_NAME="Ada Ops",
               GIT_COMMITTER_EMAIL="ada@example.org",
               GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")


def git(cwd, *args):
    r = subprocess.run(["git"] + list(args), cwd=cwd, env=GIT_ENV,
                       capture_output=True, text=True)
    check(r.returncode == 0, "git %s: %s" % (" ".join(args), r.stderr))
    return r.stdout.strip()


class Repo:
    """A bare remote and a work clone of it, branch main."""

    def __init__(self, t):
        self.bare = t.mkdir("fleet.git")
        git(self.bare, "init", "-q", "--bare", "-b", "main")
        self.work = t.mkdir("fleet-work")
        git(self.work, "init", "-q", "-b", "main")
        git(self.work, "remote", "add", "origin", self.bare)

    def commit(self, files, msg="change", push=True, force=False):
        """Write files ({name: text, None removes}), commit, push; the
        new commit's id."""
        for name, text in files.items():
            p = os.path.join(self.work, name)
            if text is None:
                if os.path.exists(p):
                    os.unlink(p)
                continue
            with open(p, "w") as f:
                f.write(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "--allow-empty", "-m", msg)
        if push:
            self.push(force)
        return self.head()

    def push(self, force=False):
        git(self.work, "push", "-q", "--force" if force else "-q",
            "origin", "main")

    def head(self):
        return git(self.work, "rev-parse", "HEAD")


def config_hub(t, repo_url, poll="60s", extra=""):
    path = t.write("hub.conf", "config_repo = %s\nconfig_poll = %s\n%s"
                   % (repo_url, poll, extra), mode=0o600)
    return t.hub(extra=["--config", path])


def status(hub):
    return hub.api("GET", "/api/config")


def sync(hub):
    return hub.api("POST", "/api/config/sync")


def applied(doc):
    return (doc.get("applied") or {}).get("id")


def test_rule_arrives_on_sync_and_fires(t):
    repo = Repo(t)
    first = repo.commit({"rules.conf": "# none yet\n"}, "start")
    fake = fakeapi.start(t)
    hub = alert_hub(t, fake, channels=(WEBHOOK,), extra=(
        "config_repo = %s\nconfig_poll = 60s\n" % repo.bare))
    wait_until(lambda: applied(status(hub)) == first, 10,
               "the first commit applied at start")
    (lst,) = t.enrolled(hub, ["pc-rule"])
    c = repo.commit({"rules.conf": "load1 >= 0 for 1s\n"},
                    "alert on any load")
    since = time.monotonic()
    doc = sync(hub)
    check(applied(doc) == c and doc["rules"] == 1 and doc["ok"],
          "sync did not apply the rule: %r" % doc)
    check(doc["applied"]["author"] == "Ada Ops" and
          doc["applied"]["subject"] == "alert on any load",
          "author/subject: %r" % doc["applied"])
    (w,) = wait_msgs(fake, WEBHOOK, 1, since, 10, "the git rule's alert")
    check(w["event"] == "rule" and "rule load1 >= 0 for 1s" in w["text"],
          "rule alert: %r" % w)
    ev = hub.api("GET", "/api/events?type=config")["events"]
    check(any(e["to"] == "applied" and c[:12] in e["detail"] for e in ev),
          "no config applied event: %r" % ev)
    # the figure: git push -> rule in force, with POST /api/config/sync
    took = []
    for i in range(5):
        repo.commit({"rules.conf": "load1 >= 0 for 1s\n"
                     "cpu_pct > 99 for %dm\n" % (i + 1)}, "figure %d" % i,
                     push=False)
        t0 = time.monotonic()
        repo.push()
        doc = sync(hub)
        took.append(time.monotonic() - t0)
        check(applied(doc) == repo.head() and doc["rules"] == 2,
              "figure round %d: %r" % (i, doc))
    t.note("git push -> rule in force with POST /api/config/sync: median "
           "%.0f ms of 5 (%s)" % (statistics.median(took) * 1000,
                                  ", ".join("%.0f" % (x * 1000)
                                            for x in took)))
    log = hub.api("GET", "/api/config/log")
    check(log["commits"][0]["id"] == repo.head() and
          len(log["commits"]) == 7, "config log: %r" % log)
    text = hub.request("GET", "/metrics").body.decode()
    check('maestro_config_commit_info{commit="%s"} 1' % repo.head() in text
          and "maestro_config_sync_ok 1" in text, "metrics: %s" % text[-800:])
    lst.stop()


def test_bad_commit_refused_last_good_stays(t):
    repo = Repo(t)
    good = repo.commit({"rules.conf": "disk_used_pct > 90 for 5m\n"}, "good")
    hub = config_hub(t, "file://" + repo.bare)
    wait_until(lambda: applied(status(hub)) == good, 10, "the good commit")
    bad = repo.commit({"rules.conf": "disk_used_pct > 90 for 5m\n"
                       "cpu > 95 for 10m\n"}, "typo")
    doc = sync(hub)
    check(applied(doc) == good and doc["refused_commit"] == bad and
          doc["refused_error"].startswith("rules.conf:2: ") and
          "unknown metric 'cpu'" in doc["refused_error"] and not doc["ok"],
          "bad commit not refused right: %r" % doc)
    ev = hub.api("GET", "/api/events?type=config")["events"]
    check(any(e["to"] == "refused" and bad[:12] in e["detail"] and
              "rules.conf:2:" in e["detail"] for e in ev),
          "no refused event: %r" % ev)
    check("maestro_config_sync_ok 0" in
          hub.request("GET", "/metrics").body.decode(), "sync_ok not 0")
    for files, want in (
            ({"agents.conf": "pc-a colour=red\n"},
             "agents.conf:1: unknown key 'colour'"),
            ({"silences.conf": "pc-a tomorrow +2h\n"},
             "silences.conf:1: start must be")):
        c = repo.commit(dict(files, **{"rules.conf": "load1 > 50 for 1m\n"}))
        doc = sync(hub)
        check(applied(doc) == good and doc["refused_commit"] == c and
              doc["refused_error"].startswith(want),
              "%s: %r" % (want, doc))
        repo.commit({k: None for k in files}, "revert")
    doc = sync(hub)
    check(applied(doc) == repo.head() and doc["ok"] and
          doc["refused_commit"] == "", "the fix not applied: %r" % doc)


def test_force_push_followed(t):
    repo = Repo(t)
    a = repo.commit({"rules.conf": "load1 > 10 for 1m\n"}, "a")
    hub = config_hub(t, repo.bare)
    wait_until(lambda: applied(status(hub)) == a, 10, "commit a")
    b = repo.commit({"rules.conf": "load1 > 20 for 1m\n"}, "b")
    check(applied(sync(hub)) == b, "commit b not applied")
    git(repo.work, "reset", "-q", "--hard", a)
    c = repo.commit({"rules.conf": "load1 > 30 for 1m\n"}, "rewritten",
                    force=True)
    doc = sync(hub)
    check(applied(doc) == c and doc["ok"], "force push not followed: %r"
          % doc)
    # rollback to b (still in the mirror) holds until a new commit
    doc = hub.api("POST", "/api/config/rollback", {"commit": b[:10]})
    check(applied(doc) == b and doc["rollback"], "rollback: %r" % doc)
    check(applied(sync(hub)) == b, "a sync without a new commit undid the "
          "rollback")
    d = repo.commit({"rules.conf": "load1 > 40 for 1m\n"}, "d")
    check(applied(sync(hub)) == d, "the new commit did not take over")
    # hubctl config ...
    e = repo.commit({"rules.conf": "load1 > 50 for 1m\n"}, "via hubctl")
    r = t.hubctl(hub, "config", "sync")
    check(r.rc == 0 and e[:12] in r.out and "via hubctl" in r.out and
          "Ada Ops" in r.out, "hubctl config sync: %r" % r)
    r = t.hubctl(hub, "config", "status")
    check(r.rc == 0 and hub_repo_line(r.out, repo.bare), "status: %r" % r)
    r = t.hubctl(hub, "config", "log", "-n", "2")
    lines = r.out.strip().splitlines()
    check(r.rc == 0 and len(lines) == 3 and lines[1].startswith("*") and
          e[:12] in lines[1] and d[:12] in lines[2], "log: %r" % r)
    r = t.hubctl(hub, "config", "rollback", d[:12])
    check(r.rc == 0 and d[:12] in r.out, "hubctl rollback: %r" % r)
    bad = repo.commit({"rules.conf": "nope\n"}, "bad")
    r = t.hubctl(hub, "config", "sync")
    check(r.rc == 1 and "rules.conf:1:" in r.out and bad[:12] in r.out,
          "hubctl sync of a bad commit: %r" % r)


def hub_repo_line(out, path):
    return any(ln.split()[:2] == ["repo", path] for ln in out.splitlines())


def test_poll_picks_up_a_commit(t):
    repo = Repo(t)
    a = repo.commit({"rules.conf": ""}, "a")
    hub = config_hub(t, repo.bare, poll="0.5s")
    wait_until(lambda: applied(status(hub)) == a, 10, "commit a")
    b = repo.commit({"rules.conf": "load1 > 20 for 1m\n"}, "b")
    t0 = time.monotonic()
    wait_until(lambda: applied(status(hub)) == b, 3,
               "the pushed commit applied by polling (config_poll 0.5s)")
    t.note("polling (0.5 s) applied a push after %.0f ms"
           % ((time.monotonic() - t0) * 1000))


def test_unreachable_repo_hub_runs_on(t):
    missing = t.path("no-such-repo.git")
    hub = config_hub(t, missing)
    doc = sync(hub)
    check(not doc["fetch_ok"] and "cannot fetch" in doc["fetch_error"] and
          missing in doc["fetch_error"] and applied(doc) is None and
          not doc["ok"], "unreachable repo status: %r" % doc)
    check(hub.request("GET", "/healthz", token=None).status == 200,
          "the hub is not healthy")
    ev = hub.api("GET", "/api/events?type=config")["events"]
    check(any(e["to"] == "fetch_failed" for e in ev), "no fetch_failed "
          "event: %r" % ev)
    # plain http is refused at start (test_gitcfg_remote.py: the rest)
    p = Proc(t, "hub-http", [binary("maestro-hub"), "--data",
                             t.mkdir("d2"), "--config-repo",
                             "http://example.org/fleet.git"])
    check(p.wait(10) == 2 and "use https://" in p.stderr_text(),
          "http not refused: %s" % p.stderr_text())


def test_file_past_size_cap_refused(t):
    repo = Repo(t)
    good = repo.commit({"rules.conf": ""}, "good")
    hub = config_hub(t, repo.bare)
    wait_until(lambda: applied(status(hub)) == good, 10, "good commit")
    big = repo.commit({"agents.conf": "# padding\n" * 110000}, "huge")
    doc = sync(hub)
    check(applied(doc) == good and doc["refused_commit"] == big and
          "agents.conf:" in doc["refused_error"] and
          "more than the 1048576 allowed" in doc["refused_error"],
          "huge file: %r" % doc)


def utc(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_agents_tags_and_silences(t):
    repo = Repo(t)
    now = datetime.now(timezone.utc)
    c = repo.commit({
        "agents.conf": 'pc-a tags=lab,gpu description="bench box, rack 2" '
                       'owner=ops\n# another\npc-zz tags=x\n',
        "silences.conf": "tag:lab %s +1h rack move\n"
                         "pc-b %s %s later\n"
                         % (utc(now - timedelta(minutes=1)),
                            utc(now + timedelta(hours=2)),
                            utc(now + timedelta(hours=3)))}, "agents")
    hub = config_hub(t, repo.bare)
    wait_until(lambda: applied(status(hub)) == c, 10, "the commit")
    (lst,) = t.enrolled(hub, ["pc-a"], tags=["desk"])
    a = hub.agent("pc-a")
    check(set(a["tags"]) == {"desk", "lab", "gpu"} and
          a["config_tags"] == ["lab", "gpu"] and
          a["description"] == "bench box, rack 2" and a["owner"] == "ops",
          "agent: %r" % a)
    api_s = hub.api("POST", "/api/silences", {"agent": "pc-a", "for": "1h",
                                              "reason": "by hand"},
                    expect=201)
    sil = hub.api("GET", "/api/silences")["silences"]
    check(sorted(s["source"] for s in sil) == ["api", "git", "git"],
          "silences: %r" % sil)
    repo.commit({"silences.conf": None, "agents.conf": "pc-a tags=lab\n"},
                "less")
    doc = sync(hub)
    check(doc["silences"] == 0 and doc["agents"] == 1, "status: %r" % doc)
    sil = hub.api("GET", "/api/silences")["silences"]
    check([s["source"] for s in sil] == ["api"] and
          sil[0]["id"] == api_s["id"], "the API's silence must stay: %r"
          % sil)
    check(set(hub.agent("pc-a")["tags"]) == {"desk", "lab"}, "tags after")
    lst.stop()


def test_docs_example_repository_applies(t):
    repo = Repo(t)
    ex = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                      "docs", "config-repo-example")
    files = {}
    for name in ("rules.conf", "silences.conf", "agents.conf", "README.md"):
        with open(os.path.join(ex, name)) as f:
            files[name] = f.read()
    c = repo.commit(files, "the docs' example")
    hub = config_hub(t, repo.bare)
    wait_until(lambda: applied(status(hub)) == c, 10, "the example applied")
    doc = status(hub)
    check(doc["ok"] and doc["rules"] == 3 and doc["agents"] == 2,
          "example: %r" % doc)


def said(fake, channel, since):
    """What each message of channel since said: title and text."""
    out = []
    for m in fake.messages(channel, since):
        if channel == TELEGRAM:
            out.append(m["text"])
        else:
            e = m["embeds"][0]
            out.append(e["title"] + "\n" + e.get("description", ""))
    return out


def test_alerts_conf_routes(t):
    repo = Repo(t)
    c = repo.commit({
        "agents.conf": "pc-gpu tags=gpu\n",
        "alerts.conf": "# the GPU boxes page the GPU team's Discord\n"
                       "tag:gpu discord\n"
                       "agent:pc-both telegram,discord\n"
                       "* telegram\n"}, "routes")
    fake = fakeapi.start(t)
    hub = alert_hub(t, fake, channels=(TELEGRAM, DISCORD), extra=(
        "config_repo = %s\nconfig_poll = 60s\n" % repo.bare))
    wait_until(lambda: applied(status(hub)) == c, 10, "the routes applied")
    check(status(hub)["alert_routes"] == 3, "routes: %r" % status(hub))
    lst = t.enrolled(hub, ["pc-gpu", "pc-b", "pc-both"])
    since = time.monotonic()
    for p in lst:
        p.signal(signal.SIGSTOP)

    def crit(channel, name):
        return [s for s in said(fake, channel, since)
                if s.split("\n")[0] in ("CRITICAL: " + name,
                                        "<b>CRITICAL: %s</b>" % name)]
    wait_until(lambda: crit(DISCORD, "pc-gpu") and crit(TELEGRAM, "pc-b") and
               crit(TELEGRAM, "pc-both") and crit(DISCORD, "pc-both"), 10,
               "each critical on its routed channels")
    # an absence shows only by watching: the same channels a while later
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        check(not crit(TELEGRAM, "pc-gpu") and not crit(DISCORD, "pc-b"),
              "an alert went where alerts.conf does not route it: %r"
              % fake.got(since=since))
        time.sleep(0.05)
    # a bad alerts.conf is refused with file:line; the hub's own alert
    # about it goes to every channel
    since = time.monotonic()
    for text, want in (
            ("tag:gpu pager\n", "alerts.conf:1: unknown channel 'pager'"),
            ("* telegram\n* webhook\n", "alerts.conf:2: channel 'webhook' "
             "is not configured in hub.conf"),
            ("tag:gpu\n", "alerts.conf:1: expected MATCH CHANNEL"),
            ("gpu discord\n", "alerts.conf:1: 'gpu' matches nothing")):
        bad = repo.commit({"alerts.conf": text}, "bad routes")
        doc = sync(hub)
        check(applied(doc) == c and doc["refused_commit"] == bad and
              doc["refused_error"].startswith(want), "%s: %r" % (want, doc))
    wait_until(lambda: all(any("config commit refused" in s for s in
                               said(fake, ch, since))
                           for ch in (TELEGRAM, DISCORD)), 10,
               "the refusal's alert on both channels")
    bad = repo.commit({"alerts.conf": "* telegram\n",
                       "schedules.conf": "0 3 * * * pc-a reboot\n"},
                      "schedules")
    doc = sync(hub)
    check(doc["refused_commit"] == bad and doc["refused_error"].startswith(
        "schedules.conf: the hub has no scheduled commands"),
        "schedules.conf: %r" % doc)
    for p in lst:
        p.signal(signal.SIGCONT)
        p.stop()
