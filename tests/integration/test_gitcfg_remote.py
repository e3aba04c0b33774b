"""The config repository over https:// and ssh:// (issue 19, item 1), with
real servers on loopback (gitserve.py): git's own git-http-backend behind
an HTTPS server with a test CA that asks for basic auth, and a private
sshd with its own host key.  Credentials come only from files, read at
each fetch; a wrong token, an untrusted certificate and an unknown or
changed host key are refused with a clear fetch error, and the token
appears nowhere in the hub's log or API."""
import os
import subprocess

import gitserve
import mtest
from mtest import Proc, binary, check, wait_until
from test_gitcfg import GIT_ENV, Repo, applied, git, status, sync

TOKEN = "glpat-Sup3rS3cretT0ken-4711"


def remote_hub(t, url, lines):
    path = t.write("hub.conf", "config_repo = %s\nconfig_poll = 60s\n%s\n"
                   % (url, "\n".join(lines)), mode=0o600)
    return t.hub(extra=["--config", path])


def no_secret(t, hub, secret):
    """secret is in none of the hub's output, events or status."""
    texts = [hub.log(), str(status(hub)),
             str(hub.api("GET", "/api/events?type=config")),
             hub.request("GET", "/metrics").body.decode()]
    check(not any(secret in x for x in texts), "the token leaked")


def test_https_token_file(t):
    ca, cert, key = gitserve.pki(t)
    root = t.mkdir("srv")
    repo = Repo(t)
    first = repo.commit({"rules.conf": "load1 > 50 for 1m\n"}, "start")
    git(root, "clone", "-q", "--bare", repo.bare, "fleet.git")
    repo.bare = os.path.join(root, "fleet.git")
    git(repo.work, "remote", "set-url", "origin", repo.bare)
    srv = gitserve.https_git(t, root, cert, key, "x-access-token", TOKEN)
    tok = t.write("token", TOKEN + "\n", mode=0o600)
    url = srv.url + "/fleet.git"
    hub = remote_hub(t, url, ["config_token_file = " + tok,
                              "config_ca = " + ca])
    wait_until(lambda: applied(status(hub)) == first, 10,
               "the first commit fetched over https")
    c = repo.commit({"rules.conf": "load1 > 60 for 1m\n"}, "over https")
    doc = sync(hub)
    check(applied(doc) == c and doc["ok"] and doc["repo"] == url,
          "https sync: %r" % doc)
    check(any(a for _, _, a in srv.seen), "no request with credentials")
    # a wrong token (the file is read at each fetch): refused, said, and
    # neither token shows anywhere
    wrong = "glpat-WrongWrongWrong-0815"
    t.write("token", wrong + "\n", mode=0o600)
    repo.commit({"rules.conf": "load1 > 70 for 1m\n"}, "not fetched")
    doc = sync(hub)
    check(not doc["fetch_ok"] and applied(doc) == c and
          "authentication failed" in doc["fetch_error"] and
          "x-access-token" in doc["fetch_error"] and
          tok in doc["fetch_error"], "wrong token: %r" % doc)
    no_secret(t, hub, TOKEN)
    no_secret(t, hub, wrong)
    # the right one again: taken at the next fetch, no restart
    t.write("token", TOKEN + "\n", mode=0o600)
    doc = sync(hub)
    check(doc["fetch_ok"] and applied(doc) == repo.head(),
          "rotated token not used: %r" % doc)
    # a token file others can read is refused at the fetch too
    os.chmod(tok, 0o644)
    doc = sync(hub)
    check(not doc["fetch_ok"] and "chmod 600" in doc["fetch_error"],
          "token file 0644: %r" % doc)
    no_secret(t, hub, TOKEN)
    hub.stop()
    # without config_ca the test CA is not trusted
    os.chmod(tok, 0o600)
    hub2 = remote_hub(t, url, ["config_token_file = " + tok])
    doc = sync(hub2)
    check(not doc["fetch_ok"] and "not trusted" in doc["fetch_error"] and
          "config_ca" in doc["fetch_error"], "no config_ca: %r" % doc)


def test_backup_pushed_over_https(t):
    """backup_repo over https:// with backup_token_file: the hub's state
    arrives in the server's repository, a rejected token is the backup's
    error (naming backup_token_file, never the token), and the rotated
    token is pushed with at once."""
    ca, cert, key = gitserve.pki(t)
    root = t.mkdir("srv")
    git(root, "init", "-q", "--bare", "-b", "main", "backup.git")
    srv = gitserve.https_git(t, root, cert, key, "x-access-token", TOKEN)
    tok = t.write("token", TOKEN + "\n", mode=0o600)
    bare = os.path.join(root, "backup.git")
    conf = t.write("hub.conf", "backup_repo = %s/backup.git\n"
                   "backup_token_file = %s\nbackup_ca = %s\n"
                   "backup_retry_max = 1s\n" % (srv.url, tok, ca),
                   mode=0o600)
    hub = t.hub(extra=["--config", conf])

    def pushed(n):
        def pred():
            b = hub.api("GET", "/api/config")["backup"]
            if not (b["push_ok"] and b["pending"] == 0):
                return None
            r = subprocess.run(["git", "-C", bare, "rev-list", "--count",
                                "main"], capture_output=True, text=True)
            return r.returncode == 0 and int(r.stdout or 0) >= n
        return wait_until(pred, 15, "%d commit(s) pushed over https" % n)
    pushed(1)
    t.write("token", "glpat-WrongWrongWrong-0815\n", mode=0o600)
    hub.api("POST", "/api/silences", {"tag": "lab", "for": "1h",
                                      "reason": "over https"}, expect=201)
    b = wait_until(lambda: (lambda b: b if not b["push_ok"] else None)(
        hub.api("GET", "/api/config")["backup"]), 15, "the push refused")
    check("authentication failed" in b["error"] and tok in b["error"],
          "backup error: %r" % b)
    no_secret(t, hub, "glpat-WrongWrongWrong-0815")
    t.write("token", TOKEN + "\n", mode=0o600)
    pushed(2)
    check("over https" in git(bare, "show", "main:silences.conf"),
          "the silence is not in the pushed backup")
    no_secret(t, hub, TOKEN)


def hub_refuses(t, name, lines, want):
    conf = t.write(name + ".conf", "\n".join(lines) + "\n", mode=0o600)
    p = Proc(t, "hub-" + name, [binary("maestro-hub"), "--data",
                                t.mkdir("d-" + name), "--config", conf])
    err = p.stderr_text
    check(p.wait(10) == 2 and all(w in err() for w in want),
          "%s: %s" % (name, err()))
    return err()


def test_remote_settings_checked(t):
    tok = t.write("tok", TOKEN, mode=0o600)
    loose = t.write("loose", TOKEN, mode=0o644)
    key = t.write("key", "x", mode=0o600)
    err = hub_refuses(t, "pass", ["config_repo = https://bob:%s@git.example"
                                  ".org/fleet.git" % TOKEN],
                      [":1: config_repo: ", "config_token_file"])
    check(TOKEN not in err, "the password in the URL was echoed")
    hub_refuses(t, "http", ["config_repo = http://git.example.org/f.git"],
                [":1: config_repo: ", "use https://"])
    hub_refuses(t, "mode", ["config_repo = https://git.example.org/f.git",
                            "config_token_file = " + loose],
                [":2: config_token_file: ", "chmod 600", "0644"])
    hub_refuses(t, "missing", ["config_repo = https://git.example.org/f.git",
                               "config_token_file = " + t.path("nope")],
                [":2: config_token_file: ", "cannot read"])
    hub_refuses(t, "sshkh", ["config_repo = ssh://git@git.example.org/f.git",
                             "config_ssh_key = " + key],
                [":1: config_repo: ", "config_ssh_known_hosts"])
    hub_refuses(t, "misplaced", ["config_repo = /srv/fleet.git",
                                 "config_token_file = " + tok],
                [":2: config_token_file: ", "https://"])
    hub_refuses(t, "odd", ["config_repo = gopher://x/y"],
                [":1: config_repo: ", "not supported"])


# libgit2 1.5.1's ssh transport leaks libssh2's known-hosts list and a
# buffer at every ssh fetch (~870 bytes a test): not the hub's; suppressed
# for this test's processes only, so the hub's own leaks are still found
# everywhere else
SSH_LSAN = ("leak:libssh2_knownhost_init\n"
            "leak:libgit2.so.1.5\n")


def test_ssh_key_and_known_hosts(t):
    if mtest.ASAN:
        t.env = dict(t.env, LSAN_OPTIONS="suppressions=" + t.write(
            "lsan.supp", SSH_LSAN))
    ckey = t.path("deploy_key")
    gitserve.keygen(ckey)
    os.chmod(ckey, 0o600)
    with open(ckey + ".pub") as f:
        sd = gitserve.sshd(t, f.read())
    repo = Repo(t)
    first = repo.commit({"rules.conf": "load1 > 50 for 1m\n"}, "start")
    kh = t.write("known_hosts", "[127.0.0.1]:%d %s %s\n"
                 % (sd.port, sd.hostkey[0], sd.hostkey[1]))
    url = "ssh://%s@127.0.0.1:%d%s" % (sd.user, sd.port, repo.bare)
    hub = remote_hub(t, url, ["config_ssh_key = " + ckey,
                              "config_ssh_known_hosts = " + kh])
    wait_until(lambda: applied(status(hub)) == first, 15,
               "the first commit fetched over ssh: %r" % status(hub))
    c = repo.commit({"rules.conf": "load1 > 60 for 1m\n"}, "over ssh")
    doc = sync(hub)
    check(applied(doc) == c and doc["ok"], "ssh sync: %r" % doc)
    # hashed known_hosts (ssh-keygen -H) works the same
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", kh], check=True,
                   capture_output=True, env=GIT_ENV)
    with open(kh) as f:
        check(f.read().startswith("|1|"), "known_hosts not hashed")
    c = repo.commit({"rules.conf": "load1 > 61 for 1m\n"}, "hashed")
    check(applied(sync(hub)) == c, "hashed known_hosts not matched")
    # another key for this host: changed, refused
    other = gitserve.keygen(t.path("other_host"))
    t.write("known_hosts", "[127.0.0.1]:%d %s %s\n"
            % (sd.port, other[0], other[1]))
    repo.commit({"rules.conf": "load1 > 62 for 1m\n"}, "not fetched")
    doc = sync(hub)
    check(not doc["fetch_ok"] and "CHANGED" in doc["fetch_error"] and
          "SHA256:" in doc["fetch_error"], "changed host key: %r" % doc)
    # no line for this host: unknown, refused
    t.write("known_hosts", "# nothing yet\n")
    doc = sync(hub)
    check(not doc["fetch_ok"] and "unknown host key" in doc["fetch_error"]
          and "[127.0.0.1]:%d" % sd.port in doc["fetch_error"],
          "unknown host key: %r" % doc)
    check(applied(doc) == c, "a refused host changed what is applied")
