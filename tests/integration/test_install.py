"""install.sh against a real hub, and the systemd units.

install.sh runs with --root into a temporary tree (it never touches / in a
test), downloads the listener from the hub over TLS pinned to the hub's
fingerprint, and the listener it installed is started from that tree.
"""

import hashlib
import os
import re
import shutil
import signal
import stat
import time

from mtest import (ROOT, binary, build_dir, check, deadline, skip,
                   wait_until)

SCRIPT = os.path.join(ROOT, "install.sh")


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def files_under(root):
    out = []
    for d, _, names in os.walk(root):
        out += [os.path.join(d, n) for n in names]
    return out


def served_hub(t):
    hub = t.hub(extra=["--listener-binary", binary("maestro-listener"),
                       "--install-script", SCRIPT])
    r = hub.request("GET", "/install.sh", token=None)
    check(r.status == 200, "GET /install.sh: %r" % r)
    script = t.write("served-install.sh", r.body.decode())
    return hub, script


def run_install(t, script, root, *args):
    return t.run(["sh", script, "--root", root] + list(args), timeout=60)


def start_installed(t, hub, root, name):
    argv = [os.path.join(root, "usr/local/bin/maestro-listener"), "--config",
            os.path.join(root, "etc/maestro/listener.conf")]
    from mtest import Proc
    p = Proc(t, "installed-" + name, argv)
    p.agent = name
    wait_until(lambda: t._lst_online(hub, p), 15, "%s online" % name)
    return p


def test_install_shellcheck(t):
    if shutil.which("shellcheck") is None:
        skip("shellcheck is not installed (make test installs it)")
    r = t.run(["shellcheck", "-s", "sh", SCRIPT])
    check(r.rc == 0, "shellcheck install.sh:\n%s" % r.out)


def unit_template(name, prefix):
    """systemd/NAME.in as make install writes it for PREFIX."""
    with open(os.path.join(ROOT, "systemd", name + ".in")) as f:
        return f.read().replace("@PREFIX@", prefix)


def test_systemd_units_verify(t):
    """systemd-analyze verify on both units; ExecStart is pointed at the
    built binaries, since verify insists that the program exists."""
    if shutil.which("systemd-analyze") is None:
        skip("systemd-analyze is not installed")
    units = []
    for u in ("maestro-hub.service", "maestro-listener.service"):
        text = unit_template(u, "/usr/local").replace(
            "/usr/local/bin/", os.path.dirname(binary("maestro-hub")) + "/")
        units.append(t.write(u, text))
    r = t.run(["systemd-analyze", "verify"] + units)
    check(r.rc == 0 and r.err.strip() == "",
          "systemd-analyze verify: rc %d\n%s" % (r.rc, r.err))


def test_unit_in_install_sh_matches_systemd_dir(t):
    # install.sh always installs under /usr/local
    with open(SCRIPT) as f:
        s = f.read()
    m = re.search(r"cat >\"\$unit\" <<'UNIT'\n(.*?)\nUNIT\n", s, re.S)
    check(m, "install.sh has no embedded unit")
    check(unit_template("maestro-listener.service", "/usr/local")
          .rstrip("\n") == m.group(1).rstrip("\n"),
          "systemd/maestro-listener.service.in (for /usr/local) differs "
          "from the unit install.sh writes")


# paths a unit may name outside PREFIX: the system's, and the state and
# config the hub and listener keep there whatever PREFIX is
SYSTEM_PATHS = ("/bin/kill", "/var/lib/maestro", "/etc/maestro/")


def unit_paths(text):
    """(key, path) for every absolute path in the unit's settings."""
    out = []
    for line in text.splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        key, val = line.split("=", 1)
        for word in val.split():
            if word.startswith("file://"):
                word = word[len("file://"):]
            if word.startswith("/"):
                out.append((key, word))
    return out


def test_make_install_paths_follow_prefix(t):
    """make install PREFIX=/opt/... DESTDIR=...: every path the installed
    units name (ExecStart=, Documentation=, ...) is under that PREFIX and
    was installed there, or is a system path; and the installed hub,
    started from there, finds its dashboard, install.sh and listener."""
    prefix = "/opt/maestro-test"
    dest = t.mkdir("destdir")
    # -o all: install what is built, never build (MAESTRO_BUILD may be
    # a sanitizer build made with other flags)
    r = t.run(["make", "--no-print-directory", "-C", ROOT, "-o", "all",
               "install", "PREFIX=" + prefix, "DESTDIR=" + dest,
               "BUILD=" + os.path.relpath(build_dir(), ROOT)], timeout=120)
    check(r.rc == 0, "make install: %r" % r)
    unitdir = os.path.join(dest + prefix, "lib/systemd/system")
    units = sorted(os.listdir(unitdir))
    check(units == ["maestro-hub.service", "maestro-listener.service"],
          "installed units: %r" % units)
    for u in units:
        with open(os.path.join(unitdir, u)) as f:
            text = f.read()
        check("@PREFIX@" not in text and "/usr/local" not in text,
              "%s still names a path that is not PREFIX's:\n%s" % (u, text))
        paths = unit_paths(text)
        check(any(k == "ExecStart" and p.startswith(prefix + "/")
                  for k, p in paths), "%s: no ExecStart under %s: %r"
              % (u, prefix, paths))
        for key, p in paths:
            if p.startswith(prefix + "/"):
                check(os.path.exists(dest + p), "%s: %s=%s was not "
                      "installed (no %s)" % (u, key, p, dest + p))
            else:
                check(p.startswith(SYSTEM_PATHS), "%s: %s=%s is neither "
                      "under %s nor a system path" % (u, key, p, prefix))
    with open(os.path.join(unitdir, "maestro-hub.service")) as f:
        docs = [p for k, p in unit_paths(f.read()) if k == "Documentation"]
    check(docs, "the hub unit has no Documentation=")
    # the hub finds what it serves under its own PREFIX, not the
    # repository's (it runs from elsewhere) nor /usr/local's
    hub = t.hub(start=False, tls=False)
    hub.exe = os.path.join(dest + prefix, "bin", "maestro-hub")
    hub.cwd = t.path()
    hub.start()
    for path, want in (("/", b"<html"), ("/install.sh", b"#!/bin/sh"),
                       ("/download/maestro-listener", b"\x7fELF")):
        r = hub.request("GET", path, token=None)
        check(r.status == 200 and want in r.body[:64],
              "the installed hub's %s: %r" % (path, r))
    log = hub.log()
    check(dest + prefix + "/share/maestro" in log,
          "the installed hub does not say it serves from its PREFIX:\n%s"
          % log[-2000:])


def test_install_key_file_errors(t):
    hub, script = served_hub(t)
    root = t.path("root")
    empty = t.write("empty.key", "\n")
    for args, want in ((["--enroll-key-file", t.path("nope.key")],
                        "cannot read the key file"),
                       (["--enroll-key-file", empty], "is empty")):
        r = run_install(t, script, root, *args)
        check(r.rc == 2 and want in r.err, "%r: %r" % (args, r))


def test_install_upgrade_uninstall(t):
    hub, script = served_hub(t)
    key = hub.create_key()
    root = t.path("root")
    # the key by file, so it is never on a command line (ps)
    keyfile = t.write("enroll.key", key + "\n", mode=0o600)
    r = run_install(t, script, root, "--enroll-key-file", keyfile, "--name",
                    "inst-1", "--tags", "lab")
    check(r.rc == 0, "install: %r" % r)
    check("checksum ok" in r.out, "no checksum line: %r" % r.out)
    bin_ = os.path.join(root, "usr/local/bin/maestro-listener")
    conf = os.path.join(root, "etc/maestro/listener.conf")
    state = os.path.join(root, "var/lib/maestro-listener")
    unit = os.path.join(root, "etc/systemd/system/maestro-listener.service")
    check(mode(bin_) == 0o755, "binary mode %o" % mode(bin_))
    check(mode(conf) == 0o640, "config mode %o" % mode(conf))
    check(mode(state) == 0o700, "state dir mode %o" % mode(state))
    check(os.path.exists(unit), "no unit written")
    with open(bin_, "rb") as f, open(binary("maestro-listener"), "rb") as g:
        check(f.read() == g.read(), "installed binary differs from the hub's")
    with open(conf) as f:
        text = f.read()
    for want in ("hub = %s" % hub.ws_url, "fingerprint = %s" % hub.fingerprint,
                 "name = inst-1", "tags = lab", "state_dir = %s" % state,
                 "enroll_key = %s" % key):
        check(want in text, "config lacks %r:\n%s" % (want, text))

    p = start_installed(t, hub, root, "inst-1")
    cred = os.path.join(state, "credential")
    wait_until(lambda: os.path.exists(cred), 5, "credential")
    with open(cred) as f:
        ident = f.read()
    p.signal(signal.SIGTERM)
    check(p.wait(10) == 0, "listener exit %s" % p.returncode)

    # again: an upgrade in place, same identity and config
    r = run_install(t, script, root)
    check(r.rc == 0 and "upgraded" in r.out, "second run: %r" % r)
    with open(cred) as f:
        check(f.read() == ident, "the credential changed on upgrade")
    with open(conf) as f:
        check("name = inst-1" in f.read(), "config lost the name")
    p = start_installed(t, hub, root, "inst-1")
    check(len(hub.agents()) == 1, "agents: %r" % hub.agents())
    p.signal(signal.SIGTERM)
    check(p.wait(10) == 0, "listener exit %s" % p.returncode)

    r = run_install(t, script, root, "--uninstall")
    check(r.rc == 0, "uninstall: %r" % r)
    check(files_under(root) == [cred],
          "uninstall left more than the identity: %r" % files_under(root))
    r = run_install(t, script, root, "--uninstall", "--purge")
    check(r.rc == 0 and files_under(root) == [],
          "uninstall --purge left files: %r" % files_under(root))


def test_install_refuses_tampered_binary(t):
    hub, script = served_hub(t)
    r = hub.request("GET", "/download/maestro-listener.sha256", token=None)
    check(r.status == 200, "sha256: %r" % r)
    good = r.body.decode().split()[0]
    with open(binary("maestro-listener"), "rb") as f:
        check(hashlib.sha256(f.read()).hexdigest() == good,
              "the hub publishes a wrong checksum")
    tampered = t.path("maestro-listener")
    shutil.copy(binary("maestro-listener"), tampered)
    with open(tampered, "ab") as f:
        f.write(b"\0")
    root = t.path("root")
    r = run_install(t, script, root, "--binary", tampered, "--sha256", good,
                    "--enroll-key", hub.create_key())
    check(r.rc != 0 and "checksum mismatch" in r.err, "tampered: %r" % r)
    check(not os.path.exists(root) or files_under(root) == [],
          "a refused install left files: %r" % files_under(root))
    # a download whose checksum is not the expected one
    r = run_install(t, script, root, "--sha256", "0" * 64)
    check(r.rc != 0 and "checksum mismatch" in r.err, "download: %r" % r)
    check(not os.path.exists(root) or files_under(root) == [],
          "a refused install left files: %r" % files_under(root))


def test_install_refuses_wrong_fingerprint(t):
    hub, script = served_hub(t)
    root = t.path("root")
    r = run_install(t, script, root, "--fingerprint", "sha256:" + "ab" * 32,
                    "--enroll-key", hub.create_key())
    check(r.rc != 0 and "fingerprint mismatch" in r.err, "%r" % r)
    check(not os.path.exists(root), "a refused install left %s" % root)


def test_backup_while_agents_heartbeat(t):
    if shutil.which("sqlite3") is None:
        skip("sqlite3 is not installed (make test installs it)")
    hub = t.hub()
    t.enrolled(hub, ["bk-1", "bk-2", "bk-3"])
    # a few commands too, so the copy holds more than the agents
    for name in ("bk-1", "bk-2"):
        r = t.hubctl(hub, "send", name, "shell", "--", "echo", "hi")
        check(r.rc == 0, "send: %r" % r)
    out = t.path("hub-backup.db")
    r = t.hubctl(hub, "backup", out)
    check(r.rc == 0, "hubctl backup: %r" % r)
    check(mode(out) == 0o600, "backup mode %o, expected 600" % mode(out))
    r = t.run(["sqlite3", out, "PRAGMA integrity_check"])
    check(r.rc == 0 and r.out.strip() == "ok", "integrity_check: %r" % r)
    r = t.run(["sqlite3", out, "SELECT name FROM agents ORDER BY name"])
    check(r.out.split() == ["bk-1", "bk-2", "bk-3"], "agents: %r" % r.out)
    r = t.run(["sqlite3", out, "SELECT count(*) FROM commands"])
    check(r.out.strip() == "2", "commands in the copy: %r" % r.out)
    # a viewer may not take the database
    tok = hub.create_token("viewer")
    r = t.hubctl(hub, "backup", t.path("nope.db"), token=tok)
    check(r.rc == 3 and not os.path.exists(t.path("nope.db")),
          "viewer backup: %r" % r)


def sd_socket(t, name):
    import socket
    path = t.path(name)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(0.2)
    return s, path


def sd_messages(s, want, timeout):
    got = []
    end = time.monotonic() + deadline(timeout)
    while time.monotonic() < end and not want(got):
        try:
            got.append(s.recv(4096).decode())
        except OSError:
            pass
    return got


def test_sd_notify_ready_and_watchdog(t):
    """Type=notify and WatchdogSec=: both daemons say READY=1 and then
    ping WATCHDOG=1 from their event loops, at half the interval."""
    s, path = sd_socket(t, "hub-notify.sock")
    env = dict(t.env, NOTIFY_SOCKET=path, WATCHDOG_USEC="400000")
    hub = t.hub(start=False)
    from mtest import Proc
    hub.proc = Proc(t, "hub-sd", hub.argv(), env=env)
    got = sd_messages(s, lambda g: sum("WATCHDOG=1" in m for m in g) >= 3,
                      10)
    check(any(m.startswith("READY=1") for m in got),
          "the hub sent no READY=1: %r" % got)
    check(sum("WATCHDOG=1" in m for m in got) >= 3,
          "the hub's watchdog pings: %r" % got)
    wait_until(hub._healthy, 10, "hub healthy")
    with open(os.path.join(hub.data, "admin.token")) as f:
        hub.token = f.read().strip()
    hub.fingerprint = None
    key = hub.request("POST", "/api/enroll-keys", body={}, pin=False).json()
    s2, path2 = sd_socket(t, "lst-notify.sock")
    argv = [binary("maestro-listener"), "--hub", hub.ws_url, "--name",
            "sd-1", "--enroll-key", key["key"], "--state-dir",
            t.mkdir("sd-state"), "--insecure"]
    lst = Proc(t, "listener-sd", argv, env=dict(t.env, NOTIFY_SOCKET=path2,
                                               WATCHDOG_USEC="400000"))
    got = sd_messages(s2, lambda g: sum("WATCHDOG=1" in m for m in g) >= 3,
                      10)
    check(got and got[0].startswith("READY=1"),
          "the listener sent no READY=1 first: %r" % got)
    check(sum("WATCHDOG=1" in m for m in got) >= 3,
          "the listener's watchdog pings: %r" % got)
    lst.signal(signal.SIGTERM)
    check(lst.wait(10) == 0, "listener exit %s" % lst.returncode)
    got = sd_messages(s2, lambda g: any("STOPPING=1" in m for m in g), 2)
    check(any("STOPPING=1" in m for m in got), "no STOPPING=1: %r" % got)
