"""The hub backs its own state up to git (issue 19, item 5): real
repositories read with the git CLI.  Covers silences made through the API
and through hubctl committed with the acting token's name as author and a
message naming the change, tokens and enrollment keys backed up by name
and metadata with their secrets nowhere in the history, no empty commit
at a restart, an unreachable backup repository (status, event, metrics,
then the push going through once it is there) and a backup repository
applied as another hub's config_repo."""
import hashlib
import os
import statistics
import subprocess
import time

from mtest import check, wait_until
from test_gitcfg import GIT_ENV, applied, git

SEP = "\x1f"


def backup_hub(t, repo, extra=""):
    path = t.write(os.path.basename(t.mkdir("conf")) + "/hub.conf",
                   "backup_repo = %s\n%s" % (repo, extra), mode=0o600)
    return t.hub(extra=["--config", path])


def bstatus(hub):
    return hub.api("GET", "/api/config")["backup"]


def settled(hub):
    """Every change noted so far is pushed: the status."""
    def pred():
        b = bstatus(hub)
        return b if (b["push_ok"] and b["pending"] == 0 and
                     b["last_commit"] and b["last_push"]) else None
    return wait_until(pred, 15, "the backup pushed with nothing pending")


def backup_events(hub):
    return hub.api("GET", "/api/events?type=backup")["events"]


def commits(repo, rev="main"):
    """[(id, author, subject, body)], newest first."""
    out = git(repo, "log", "--format=%H" + SEP + "%an" + SEP + "%s" + SEP +
              "%b%x1e", rev)
    return [tuple(c.strip("\n").split(SEP)) for c in out.split("\x1e")
            if c.strip()]


def show(repo, name, rev="main"):
    return git(repo, "show", "%s:%s" % (rev, name))


def wait_commit(repo, pred, what, timeout=15):
    def find():
        try:
            return next((c for c in commits(repo) if pred(c)), None)
        except Exception:
            return None
    return wait_until(find, timeout, what)


def test_silences_committed_with_author_and_message(t):
    repo = t.path("backup.git")         # absent: the hub makes it
    hub = backup_hub(t, repo)
    settled(hub)
    start = commits(repo)
    check(len(start) == 1 and start[0][1] == "maestro-hub" and
          start[0][2].startswith("State at hub start"),
          "the state at start: %r" % start)
    alice = hub.create_token("operator", "alice")
    bob = hub.create_token("operator", "bob")
    settled(hub)
    s = hub.api("POST", "/api/silences", {"tag": "lab", "for": "1h",
                                          "reason": "rack move"},
                expect=201, token=alice)
    c = wait_commit(repo, lambda c: s["id"] in c[2], "alice's silence")
    check(c[1] == "alice" and c[2] == "silence %s on tag:lab for 1h: rack "
          "move (by alice)" % s["id"], "commit: %r" % (c,))
    sil = show(repo, "silences.conf")
    check("# %s by alice" % s["id"] in sil and any(
        ln.startswith("tag:lab ") and ln.endswith(" rack move")
        for ln in sil.splitlines()), "silences.conf: %s" % sil)
    r = t.hubctl(hub, "silence", "--tag", "gpu", "--for", "2h", "--reason",
                 "driver update", token=bob)
    check(r.rc == 0, "hubctl silence: %r" % r)
    c = wait_commit(repo, lambda c: c[1] == "bob", "bob's silence")
    check(c[2].startswith("silence s-") and "on tag:gpu for 2h: driver "
          "update (by bob)" in c[2], "hubctl's commit: %r" % (c,))
    check(any(ln.startswith("tag:gpu ") and ln.endswith(" driver update")
              for ln in show(repo, "silences.conf").splitlines()),
          "the hubctl silence is not in silences.conf")
    # the figure: an API change until its commit is in backup_repo
    took = []
    for i in range(5):
        t0 = time.monotonic()
        x = hub.api("POST", "/api/silences", {"tag": "fig%d" % i,
                                              "for": "1h"}, expect=201)
        wait_commit(repo, lambda c: x["id"] in c[2] + c[3], "figure %d" % i)
        took.append(time.monotonic() - t0)
    t.note("API silence -> commit pushed to backup_repo: median %.0f ms of "
           "5 (%s)" % (statistics.median(took) * 1000,
                       ", ".join("%.0f" % (x * 1000) for x in took)))
    hub.api("DELETE", "/api/silences/" + s["id"], token=alice)
    c = wait_commit(repo, lambda c: "cleared" in c[2], "the clear")
    check(c[1] == "alice" and c[2] == "silence %s cleared (by alice)"
          % s["id"] and "rack move" not in show(repo, "silences.conf"),
          "clear: %r" % (c,))
    # no empty commit: a restart with the same state commits nothing
    n = len(commits(repo))
    hub.stop()
    hub.start()
    wait_until(lambda: bstatus(hub)["last_try"], 15, "the push at restart")
    b = settled(hub)
    check(len(commits(repo)) == n and b["last_commit"]["id"] ==
          commits(repo)[0][0], "a restart made a commit: %r"
          % commits(repo)[:2])
    doc = hub.api("GET", "/api/config")
    r = t.hubctl(hub, "config", "status")
    check("backup" in r.out and repo in r.out and
          doc["backup"]["last_commit"]["id"][:12] in r.out,
          "hubctl config status: %r" % r)


def test_tokens_and_keys_without_secrets(t):
    repo = t.mkdir("backup.git")
    git(repo, "init", "-q", "--bare", "-b", "main")
    hub = backup_hub(t, "file://" + repo)
    settled(hub)
    ci = hub.api("POST", "/api/tokens", {"role": "viewer", "name": "ci"},
                 expect=201)
    key = hub.create_key_doc(uses=5, expires=3600)
    wait_commit(repo, lambda c: key["id"] in c[2] + c[3], "the key's commit")
    toks = show(repo, "tokens.conf")
    keys = show(repo, "enroll-keys.conf")
    check(any(ln.startswith(ci["id"] + " name=ci role=viewer created=")
              for ln in toks.splitlines()), "tokens.conf: %s" % toks)
    check(any(ln.startswith(key["id"] + " uses=5 used=0 expires=20")
              for ln in keys.splitlines()), "enroll-keys.conf: %s" % keys)
    hub.api("DELETE", "/api/tokens/" + ci["id"])
    hub.api("DELETE", "/api/enroll-keys/" + key["id"])
    c = wait_commit(repo, lambda c: "token %s revoked" % ci["id"] in
                    c[2] + c[3], "the revoke")
    check(c[1] == "admin", "the revoke's author: %r" % (c,))
    settled(hub)
    check(ci["id"] not in show(repo, "tokens.conf") and key["id"] not in
          show(repo, "enroll-keys.conf"), "revoked ones still listed")
    secrets = []
    for full in (ci["token"], key["key"], hub.token):
        secret = full.split(".", 1)[1]
        secrets += [full, secret, hashlib.sha256(secret.encode())
                    .hexdigest()]
    for where in (repo, os.path.join(hub.data, "backup-repo")):
        hist = subprocess.run(["git", "log", "-p", "--all"], cwd=where,
                              env=GIT_ENV, capture_output=True,
                              text=True).stdout
        check(ci["id"] in hist and key["id"] in hist,
              "the history lacks the ids: %s" % hist[-2000:])
        leaked = [s for s in secrets if s in hist]
        check(not leaked, "secrets in %s's history: %r" % (where, leaked))


def test_unreachable_backup_then_pushed(t):
    later = t.path("later.git")
    hub = backup_hub(t, "file://" + later, "backup_retry_max = 1s\n")
    b = wait_until(lambda: (lambda b: b if not b["push_ok"] and
                            b["pending"] >= 1 else None)(bstatus(hub)), 15,
                   "a failed push")
    check("cannot reach" in b["error"] and later in b["error"] and
          b["last_commit"] and b["last_push"] is None,
          "status: %r" % b)
    hub.api("POST", "/api/silences", {"tag": "lab", "for": "1h",
                                      "reason": "while away"}, expect=201)
    wait_until(lambda: bstatus(hub)["pending"] >= 2, 10, "2 pending")
    r = t.hubctl(hub, "config", "status")
    check("cannot reach" in r.out and "pending" in r.out,
          "hubctl config status: %r" % r)
    text = hub.request("GET", "/metrics").body.decode()
    check("maestro_backup_last_push_ok 0" in text and
          "maestro_backup_pending 2" in text, "metrics: %s" % text[-600:])
    ev = wait_until(lambda: backup_events(hub), 10, "the failing event")
    check([e["to"] for e in ev] == ["push_failed"] and
          "cannot reach" in ev[0]["detail"], "events: %r" % ev)
    os.makedirs(later)
    git(later, "init", "-q", "--bare", "-b", "main")
    b = settled(hub)
    check(b["error"] == "" and b["push_ok"], "after: %r" % b)
    log = commits(later)
    check(len(log) == 2 and "while away" in log[0][2] and
          "while away" in show(later, "silences.conf"), "log: %r" % log)
    wait_until(lambda: sorted(e["to"] for e in backup_events(hub)) ==
               ["ok", "push_failed"], 10, "the push_failed and ok events")
    text = hub.request("GET", "/metrics").body.decode()
    check("maestro_backup_last_push_ok 1" in text and
          "maestro_backup_pending 0" in text, "metrics: %s" % text[-600:])


def test_backup_applies_as_config_repo(t):
    repo = t.path("backup.git")
    a = backup_hub(t, repo, "rule = load1 > 50 for 5m\n"
                   "rule = disk_used_pct >= 90 for 10m tag=lab\n")
    (lst,) = t.enrolled(a, ["pc-a"], tags=["desk", "lab"])
    a.api("POST", "/api/silences", {"agent": "pc-a", "for": "2h",
                                    "reason": "new disk"}, expect=201)
    a.api("POST", "/api/silences", {"tag": "lab", "for": "30m"},
          expect=201)
    # an agent enrolled is written at most 10 s after the last agents.conf
    wait_until(lambda: show(repo, "agents.conf").splitlines()[-1] ==
               "pc-a tags=desk,lab", 20, "pc-a in agents.conf")
    settled(a)
    tip = commits(repo)[0][0]
    path = t.write("hub-b.conf", "config_repo = %s\n" % repo, mode=0o600)
    b = t.hub(name="hub-b", extra=["--config", path])
    doc = wait_until(lambda: (lambda d: d if applied(d) == tip else None)(
        b.api("GET", "/api/config")), 15, "hub B applies the backup")
    check(doc["ok"] and doc["rules"] == 2 and doc["silences"] == 2 and
          doc["agents"] == 1, "hub B: %r" % doc)
    sil = sorted(((s["agent"] or "tag:" + s["tag"]), s["reason"])
                 for s in b.api("GET", "/api/silences")["silences"])
    check(sil == [("pc-a", "new disk"), ("tag:lab", "")], "silences: %r"
          % sil)
    lst.stop()


def test_someone_elses_push_is_merged_not_lost(t):
    repo = t.path("backup.git")
    hub = backup_hub(t, repo)
    settled(hub)
    work = t.mkdir("work")
    git(work, "clone", "-q", repo, ".")
    with open(os.path.join(work, "README.md"), "w") as f:
        f.write("the hub's backup\n")
    git(work, "add", "README.md")
    git(work, "commit", "-q", "-m", "a readme by hand")
    git(work, "push", "-q", "origin", "main")
    theirs = git(work, "rev-parse", "HEAD")
    s = hub.api("POST", "/api/silences", {"tag": "lab", "for": "1h"},
                expect=201)
    b = settled(hub)
    tip = commits(repo)[0]
    check(tip[0] == b["last_commit"]["id"] and tip[1] == "maestro-hub" and
          tip[2].startswith("Keep the hub's state"), "tip: %r" % (tip,))
    parents = git(repo, "rev-list", "--parents", "-n", "1", "main").split()
    check(len(parents) == 3 and theirs in parents[1:],
          "the merge's parents: %r" % parents)
    check(s["id"] in show(repo, "silences.conf"), "the hub's state is "
          "not the tip's")
