"""GET /api/config/diff and hubctl config diff (issue 19, item 4): what
would change against the commit in force, with real repositories (a bare
remote, a work clone; test_gitcfg.Repo).  Covers a commit pushed but not
synced (the diff fetches; nothing is applied by it), an earlier commit, a
commit that would be refused (file:line), an unknown commit (404; hubctl
exits 2), the exit statuses 0/1, a patch past its cap, a blob past the
file cap shown as binary, a rollback, and many diffs at once."""
import json
import os
import pty
import statistics
import subprocess
import threading
import time

from mtest import check, wait_until
from test_gitcfg import Repo, applied, config_hub, status, sync


def diff(hub, commit=None, expect=200, token=None):
    path = "/api/config/diff" + ("?commit=" + commit if commit else "")
    if token is None:
        return hub.api("GET", path, expect=expect)
    return hub.api("GET", path, expect=expect, token=token)


def on_tty(t, hub, args, env=None):
    """hubctl with its stdout on a pseudo-terminal: (rc, what it wrote).
    Read after it ends, so only for an output that fits the pty's buffer."""
    master, slave = pty.openpty()
    try:
        p = subprocess.run(t.hubctl_argv(hub, args), stdout=slave,
                           stderr=subprocess.PIPE, timeout=30,
                           env=dict(t.env, **(env or {})))
        os.close(slave)
        slave = -1
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:         # EIO: the writer is gone and all read
                break
            if not chunk:
                break
            out += chunk
        return p.returncode, out.decode("utf-8", "replace")
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)


def files(doc):
    return {f["path"]: f["status"] for f in doc["files"]}


def test_diff_shows_a_pushed_commit_before_sync(t):
    repo = Repo(t)
    a = repo.commit({"rules.conf": "load1 > 10 for 1m\n",
                     "README.md": "fleet\n"}, "start")
    hub = config_hub(t, repo.bare)
    wait_until(lambda: applied(status(hub)) == a, 10, "commit a applied")
    doc = diff(hub)
    check(doc["from"] == a and doc["to"] == a and doc["files"] == [] and
          doc["patch"] == "" and not doc["refused"] and
          not doc["truncated"], "nothing new must differ in nothing: %r"
          % doc)
    r = t.hubctl(hub, "config", "diff")
    check(r.rc == 0 and "nothing differs" in r.out, "hubctl diff, same: %r"
          % r)
    b = repo.commit({"rules.conf": "load1 > 20 for 1m\n",
                     "agents.conf": "pc-a tags=lab\n",
                     "README.md": None}, "raise the load rule")
    viewer = hub.create_token("viewer", "diff-viewer")
    took = []
    for _ in range(5):
        t0 = time.monotonic()
        doc = diff(hub, token=viewer)
        took.append(time.monotonic() - t0)
    check(doc["from"] == a and doc["to"] == b and
          doc["target"]["subject"] == "raise the load rule" and
          doc["target"]["author"] == "Ada Ops" and not doc["refused"] and
          doc["error"] == "" and doc["fetch_error"] == "",
          "diff to the pushed commit: %r" % doc)
    check(files(doc) == {"rules.conf": "modified", "agents.conf": "added",
                         "README.md": "deleted"}, "files: %r" % doc["files"])
    p = doc["patch"]
    check("diff --git a/rules.conf b/rules.conf\n" in p and
          "\n-load1 > 10 for 1m\n" in p and "\n+load1 > 20 for 1m\n" in p and
          "\n+pc-a tags=lab\n" in p and "\n-fleet\n" in p,
          "patch: %s" % p)
    t.note("GET /api/config/diff (with its fetch of a local bare repo): "
           "median %.0f ms of 5" % (statistics.median(took) * 1000))
    check(applied(status(hub)) == a, "a diff must not apply anything")
    r = t.hubctl(hub, "config", "diff")
    check(r.rc == 1 and "+load1 > 20 for 1m" in r.out and
          b[:12] in r.out and "raise the load rule" in r.out and
          "\033[" not in r.out, "hubctl diff, differs: %r" % r)
    rc, out = on_tty(t, hub, ["config", "diff"])
    check(rc == 1 and "\033[32m+load1 > 20 for 1m\033[0m" in out and
          "\033[31m-load1 > 10 for 1m\033[0m" in out, "colour on a tty: %r"
          % out[-400:])
    rc, out = on_tty(t, hub, ["config", "diff"], env={"NO_COLOR": "1"})
    check(rc == 1 and "+load1 > 20 for 1m" in out and "\033[" not in out,
          "NO_COLOR on a tty: %r" % out[-400:])
    r = t.hubctl(hub, "--json", "config", "diff")
    check(r.rc == 1 and json.loads(r.out)["to"] == b, "--json: %r" % r)
    # the next sync applies what the diff showed; then nothing differs
    check(applied(sync(hub)) == b, "sync after the diff")
    check(diff(hub)["files"] == [], "after the sync nothing differs")
    # an earlier commit: what a rollback to it would change
    doc = diff(hub, a[:8])
    check(doc["from"] == b and doc["to"] == a and
          "\n+load1 > 10 for 1m\n" in doc["patch"] and
          files(doc)["agents.conf"] == "deleted", "diff to a: %r" % doc)
    r = t.hubctl(hub, "config", "diff", a[:10])
    check(r.rc == 1 and "-load1 > 20 for 1m" in r.out, "hubctl diff a: %r"
          % r)
    # after a rollback, the default is the tip the rollback left
    hub.api("POST", "/api/config/rollback", {"commit": a})
    doc = diff(hub)
    check(doc["from"] == a and doc["to"] == b and
          "\n+load1 > 20 for 1m\n" in doc["patch"], "after rollback: %r"
          % doc)


def test_diff_of_a_bad_commit_says_the_refusal(t):
    repo = Repo(t)
    good = repo.commit({"rules.conf": "disk_used_pct > 90 for 5m\n"}, "good")
    hub = config_hub(t, repo.bare)
    wait_until(lambda: applied(status(hub)) == good, 10, "the good commit")
    bad = repo.commit({"rules.conf": "disk_used_pct > 90 for 5m\n"
                       "cpu > 95 for 10m\n",
                       "README.md": "owner\tops \033]0;pwned\007 \033[2J\n"},
                      "typo")
    doc = diff(hub)
    check(doc["to"] == bad and doc["refused"] and
          doc["error"].startswith("rules.conf:2: ") and
          "unknown metric 'cpu'" in doc["error"] and
          "\n+cpu > 95 for 10m\n" in doc["patch"],
          "the bad commit's diff: %r" % doc)
    r = t.hubctl(hub, "config", "diff", bad)
    check(r.rc == 1 and "refused" in r.out and "rules.conf:2:" in r.out and
          "+cpu > 95 for 10m" in r.out, "hubctl diff of the bad one: %r" % r)
    check("+owner\tops ?]0;pwned? ?[2J\n" in r.out and "\033" not in r.out,
          "the repository's control characters reached the terminal: %r"
          % r.out)
    check(status(hub)["refused_commit"] == "", "the diff refused nothing "
          "itself (only a sync does)")
    # the good commit against itself: no difference, not refused
    doc = diff(hub, good)
    check(doc["files"] == [] and not doc["refused"], "good: %r" % doc)


def test_diff_unknown_commit_and_no_repository(t):
    repo = Repo(t)
    a = repo.commit({"rules.conf": ""}, "a")
    hub = config_hub(t, repo.bare)
    wait_until(lambda: applied(status(hub)) == a, 10, "commit a")
    r = hub.request("GET", "/api/config/diff?commit=deadbeef")
    check(r.status == 404 and "no commit deadbeef" in r.json()["error"],
          "unknown commit: %r" % r)
    r = hub.request("GET", "/api/config/diff?commit=HEAD")
    check(r.status == 400 and "hex" in r.json()["error"], "HEAD: %r" % r)
    r = t.hubctl(hub, "config", "diff", "deadbeef")
    check(r.rc == 2 and "no commit deadbeef" in r.err, "hubctl unknown: %r"
          % r)
    r = t.hubctl(hub, "config", "diff", "main")
    check(r.rc == 2 and "hex" in r.err, "hubctl usage: %r" % r)
    # a commit pushed after the last fetch is found (the diff fetches)
    b = repo.commit({"rules.conf": "load1 > 5 for 1m\n"}, "b")
    check(diff(hub, b)["to"] == b, "a commit not yet fetched")
    # many at once: each is answered, none waits for another's client
    out = []

    def one():
        out.append(hub.request("GET", "/api/config/diff", timeout=20).status)
    threads = [threading.Thread(target=one) for _ in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    check(out == [200] * 16, "16 diffs at once: %r" % out)
    plain = t.hub()
    r = plain.request("GET", "/api/config/diff")
    check(r.status == 409 and "config_repo" in r.json()["error"],
          "no config repo: %r" % r)
    r = t.hubctl(plain, "config", "diff")
    check(r.rc == 1 and "config_repo" in r.err, "hubctl, no repo: %r" % r)


def test_diff_bounded(t):
    repo = Repo(t)
    a = repo.commit({"rules.conf": ""}, "a")
    hub = config_hub(t, repo.bare)
    wait_until(lambda: applied(status(hub)) == a, 10, "commit a")
    # 320 KiB of text: the patch stops at 256 KiB, at a line's end
    big = "".join("line %06d of the notes, padded to be long enough\n" % i
                  for i in range(6400))
    repo.commit({"NOTES.txt": big}, "notes")
    doc = diff(hub)
    p = doc["patch"]
    check(doc["truncated"] and doc["max_bytes"] == 256 * 1024 and
          200 * 1024 < len(p.encode()) <= 256 * 1024 and p.endswith("\n"),
          "truncated patch: truncated=%r, %d bytes" % (doc["truncated"],
                                                       len(p)))
    r = t.hubctl(hub, "config", "diff")
    check(r.rc == 1 and "[the diff is cut here: it passed 256 KiB]" in r.out,
          "hubctl on a cut diff: %r" % r.out[-300:])
    sync(hub)
    # a blob past the 1 MiB file cap: shown as binary, and refused
    repo.commit({"agents.conf": "# padding\n" * 110000}, "huge")
    doc = diff(hub)
    check(doc["refused"] and "more than the 1048576 allowed" in doc["error"]
          and "Binary files" in doc["patch"] and len(doc["patch"]) < 1000,
          "huge blob: %r" % {k: doc[k] for k in ("error", "truncated")})


def test_dashboard_config_page(t):
    import mtest
    from test_browser import CHROMIUM, XSS, need_tools
    need_tools()
    repo = Repo(t)
    a = repo.commit({"rules.conf": "load1 > 10 for 1m\n"}, "start")
    dash = os.path.join(mtest.ROOT, "dashboard")
    conf = t.write("hub.conf", "config_repo = %s\nconfig_poll = 600s\n"
                   % repo.bare, mode=0o600)
    hub = t.hub(extra=["--config", conf, "--dashboard", dash])
    wait_until(lambda: applied(status(hub)) == a, 10, "commit a applied")
    b = repo.commit({"rules.conf": "load1 > 20 for 1m\n"},
                    "raise %s the rule" % XSS)
    plain = t.hub(extra=["--dashboard", dash])
    art = os.path.join(mtest.ROOT, "tests", "artifacts")
    os.makedirs(art, exist_ok=True)
    cfg = {"url": hub.url, "token": hub.token, "chromium": CHROMIUM,
           "a": a, "b": b, "xss": XSS, "plain_url": plain.url,
           "plain_token": plain.token,
           "artifact": os.path.join(art, "dashboard-config.png")}
    path = t.write("config.json", json.dumps(cfg), mode=0o600)
    r = t.run(["node", os.path.join(mtest.ROOT, "tests", "browser",
                                    "config.mjs"), path], timeout=120)
    try:
        doc = json.loads(r.out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        doc = {"error": "no result (exit %s): %s" % (r.rc, r.err[-2000:])}
    for ln in doc.get("checks", []):
        t.note(ln)
    check(r.rc == 0 and doc.get("ok"), "the browser test failed: %s\n%s"
          % (doc.get("error"), "\n".join(doc.get("checks", []))))
    doc = status(hub)
    check(applied(doc) == a and doc["rollback"], "the hub after the page's "
          "rollback: %r" % doc)
    ev = hub.api("GET", "/api/events?type=audit")["events"]
    check(any(e["to"] == "config_rollback" for e in ev),
          "the page's rollback is audited: %r" % ev)


test_dashboard_config_page.time_limit = 180
