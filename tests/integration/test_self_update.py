"""listener_update end to end: a real hub publishes a release and rolls it
out to real listeners, each running from a copy of the listener in a
directory of the test's own (never build/maestro-listener itself).

A second listener version (9.9.9) and a broken one (9.9.8, built for
protocol 99, which the hub refuses) are built once per run with
`make BUILD=... VERSION=...`.  Cases: a good update (the listener comes
back as 9.9.9, EXE.prev is the old one); refusals before the swap, each a
failed command with its reason and the old listener running on (the hub's
file changed on disk, a signature by a key the listener does not trust, a
read-only directory, a full disk); a rollback (9.9.8 is never welcomed:
the old binary is put back and the hub hears why in the hello); a roll over
three listeners in batches of two that stops at the first batch's
failure."""

import atexit
import base64
import os
import shutil
import subprocess
import tempfile

from mtest import (ROOT, binary, check, fail, procs_with_cmdline, skip,
                   wait_until)
from test_liveness import parent_of

_BUILT = {}


def _build(version, extra=""):
    """A listener stamped with version (cached for the run): its path."""
    key = (version, extra)
    if key in _BUILT:
        return _BUILT[key]
    out = tempfile.mkdtemp(prefix="maestro-rel-%s-" % version,
                           dir=os.environ.get("TMPDIR", "/tmp"))
    atexit.register(shutil.rmtree, out, True)
    argv = ["make", "-C", ROOT, "-j2", "BUILD=" + out, "VERSION=" + version,
            os.path.join(out, "maestro-listener")]
    if extra:
        argv.append("EXTRA_CFLAGS=" + extra)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        fail("building listener %s: %s" % (version, r.stderr[-3000:]))
    _BUILT[key] = os.path.join(out, "maestro-listener")
    return _BUILT[key]


def good_build():
    return _build("9.9.9")


def bad_proto_build():
    return _build("9.9.8", "-DMC_PROTO_VERSION=99")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def copy_listener(t, where=None):
    """The listener under test: a copy in a directory of its own."""
    d = where or t.mkdir("bin")
    exe = os.path.join(d, "maestro-listener")
    shutil.copy2(binary("maestro-listener"), exe)
    os.chmod(exe, 0o755)
    return exe


def start(t, hub, name, key, exe, extra=()):
    saved = t.env
    # outside systemd: the restart forks and execs the new file
    t.env = {k: v for k, v in t.env.items() if k != "INVOCATION_ID"}
    try:
        p = t.listener(hub, name, key=key, program=exe, extra=list(extra),
                       wait_online=True)
    finally:
        t.env = saved
    p.exe = exe
    return p


def current_pids(t, lst):
    """The listener processes of lst's state dir now (adopted for cleanup),
    without the container tracker (a fork of the listener)."""
    found = [pid for pid, cmd in procs_with_cmdline(lst.state_dir)
             if "maestro-listener" in cmd]
    for pid in found:
        if pid != lst.pid and pid not in t.adopted:
            t.adopt(pid)
    return [pid for pid in found if parent_of(pid) not in found]


def hex_of(b):
    return b.hex()


def publish(hub, path, signer=None):
    """POST the file as a release; signer: an Ed25519 private key."""
    data = read(path)
    q = ""
    if signer is not None:
        from cryptography.hazmat.primitives import serialization
        import hashlib
        pub = signer.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        ver = version_of(path)
        msg = ("maestro-release-v1\n%s\n%s\n%d\n" % (
            ver, hashlib.sha256(data).hexdigest(), len(data))).encode()
        q = "?key=%s&sig=%s&signer=test" % (hex_of(pub),
                                           hex_of(signer.sign(msg)))
    r = hub.request("POST", "/api/releases" + q, raw=data,
                    headers={"Content-Type": "application/octet-stream"},
                    timeout=60)
    check(r.status in (200, 201), "publish: %r" % r)
    return r.json()


def version_of(path):
    data = read(path)
    mark = b"maestro-listener-version="
    i = data.index(mark) + len(mark)
    return data[i:data.index(b"\0", i)].decode()


def roll(hub, version, agents, batch=1):
    return hub.api("POST", "/api/releases/%s/roll" % version,
                   {"agents": agents, "batch": batch}, expect=202)


def roll_settled(hub, rid, timeout=60):
    def done():
        r = hub.api("GET", "/api/rolls/" + rid)
        return r if r.get("state") not in ("running", "paused") else None
    return wait_until(done, timeout, "roll %s to settle" % rid)


def agent_of(roll_doc, name):
    for a in roll_doc["agents"]:
        if a["agent"] == name:
            return a
    fail("agent %s not in roll %r" % (name, roll_doc))


def command_error(hub, cid):
    return hub.wait_command(cid, 60).get("error") or ""


def ed25519():
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519 as e
    except ImportError:
        skip("python3-cryptography is needed to sign releases")
    return e.Ed25519PrivateKey.generate()


def trust_line(key):
    from cryptography.hazmat.primitives import serialization
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    return "ed25519:%s alice" % base64.b64encode(raw).decode()


def mount_tmpfs(t, name, size):
    path = t.mkdir(name)
    if os.geteuid() != 0:
        skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0755"
                        % size, "maestro-test", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        skip("cannot mount a tmpfs here: %s" % r.stderr.strip())
    t.cleanup_mounts = getattr(t, "cleanup_mounts", []) + [path]
    return path


def umount_all(t):
    for p in getattr(t, "cleanup_mounts", []):
        subprocess.run(["umount", "-l", p], capture_output=True)


def refused(t, hub, lst, version, want):
    """A one-agent roll of version to lst fails with want in its error;
    the old listener runs on, its file untouched, no temp file left."""
    before = read(lst.exe)
    doc = roll(hub, version, [lst.agent])
    doc = roll_settled(hub, doc["id"])
    a = agent_of(doc, lst.agent)
    check(a["state"] == "failed", "roll agent state %r" % a)
    err = command_error(hub, a["command"]) if a.get("command") else ""
    check(want in err or want in a.get("error", ""),
          "want %r in the failure, got %r / %r" % (want, err, a))
    t.note("refused: %r / %r" % (err, a.get("error")))
    check(lst.alive(), "the old listener exited")
    check(hub.agent(lst.agent)["status"] == "online", "not online")
    check(read(lst.exe) == before, "the executable changed")
    left = [f for f in os.listdir(os.path.dirname(lst.exe))
            if ".new." in f]
    check(not left, "temporary files left: %r" % left)
    return err


# ---- the core ----

def test_update_good(t):
    new = good_build()
    hub = t.hub()
    key = hub.create_key()
    exe = copy_listener(t)
    old = read(exe)
    lst = start(t, hub, "upd-good", key, exe)
    publish(hub, new)
    doc = roll_settled(hub, roll(hub, "9.9.9", ["upd-good"])["id"])
    a = agent_of(doc, "upd-good")
    check(a["state"] == "updated", "roll agent %r" % a)
    check(lst.wait(10) == 0, "the old process exit %s" % lst.returncode)
    wait_until(lambda: current_pids(t, lst), 10, "the new listener")
    wait_until(lambda: hub.agent("upd-good").get("version") == "9.9.9" and
               hub.agent("upd-good")["status"] == "online", 20,
               "upd-good online as 9.9.9")
    check(read(exe) == read(new), "EXE is not the new release")
    check(read(exe + ".prev") == old, "EXE.prev is not the old listener")
    wait_until(lambda: not os.path.exists(
        os.path.join(lst.state_dir, "update-pending")), 10,
        "the update confirmed (marker removed)")
    check(len(current_pids(t, lst)) == 1, "one listener runs")
    out = hub.wait_command(a["command"], 10)
    check("accepting release 9.9.9 on the hub's sha256 alone" in
          (out.get("output") or str(out)), "no-trust-keys line: %r" % out)


def test_update_rollback(t):
    bad = bad_proto_build()
    hub = t.hub()
    key = hub.create_key()
    exe = copy_listener(t)
    old = read(exe)
    lst = start(t, hub, "upd-back", key, exe,
                extra=["--update-confirm", "3s"])
    publish(hub, bad)
    doc = roll_settled(hub, roll(hub, "9.9.8", ["upd-back"])["id"], 60)
    a = agent_of(doc, "upd-back")
    current_pids(t, lst)
    check(a["state"] == "rolled_back", "roll agent %r" % a)
    check("not welcomed by the hub within 3 s; back on" in
          a.get("error", ""), "the hello's reason: %r" % a)
    wait_until(lambda: hub.agent("upd-back")["status"] == "online", 20,
               "upd-back online again")
    check(hub.agent("upd-back")["version"] != "9.9.8", "still 9.9.8")
    check(read(exe) == old, "EXE is not the old listener again")
    check(not os.path.exists(os.path.join(lst.state_dir, "update-failed")),
          "the failure record was not cleared once welcomed")
    check(len(current_pids(t, lst)) == 1, "one listener runs")


# ---- refusals before the swap ----

def test_update_corrupt_download(t):
    new = good_build()
    hub = t.hub()
    lst = start(t, hub, "upd-corrupt", hub.create_key(), copy_listener(t))
    publish(hub, new)
    stored = os.path.join(hub.data, "releases", "9.9.9", "maestro-listener")
    data = bytearray(read(stored))
    data[len(data) // 2] ^= 0xff
    with open(stored, "wb") as f:
        f.write(data)
    refused(t, hub, lst, "9.9.9", "sha256 mismatch")


def test_update_truncated_download(t):
    new = good_build()
    hub = t.hub()
    lst = start(t, hub, "upd-short", hub.create_key(), copy_listener(t))
    publish(hub, new)
    stored = os.path.join(hub.data, "releases", "9.9.9", "maestro-listener")
    with open(stored, "r+b") as f:
        f.truncate(123)
    refused(t, hub, lst, "9.9.9", "the hub sends 123 bytes; the release is")


def test_update_untrusted_signature(t):
    new = good_build()
    alice, bob = ed25519(), ed25519()
    hub = t.hub()
    conf = t.write("conf/trust.conf", "trust = %s\n" % trust_line(alice))
    lst = start(t, hub, "upd-sig", hub.create_key(), copy_listener(t),
                extra=["--config", conf])
    publish(hub, new, signer=bob)
    refused(t, hub, lst, "9.9.9",
            "bad signature: signed by a key this agent does not trust")


def test_update_readonly_dir(t):
    good_build()
    hub = t.hub()
    d = mount_tmpfs(t, "ro-bin", 32 << 20)
    try:
        exe = copy_listener(t, d)
        r = subprocess.run(["mount", "-o", "remount,ro", d],
                           capture_output=True, text=True)
        if r.returncode != 0:
            skip("cannot remount read-only: %s" % r.stderr.strip())
        lst = start(t, hub, "upd-ro", hub.create_key(), exe)
        publish(hub, good_build())
        refused(t, hub, lst, "9.9.9", "read-only file system: " + d)
        lst.stop()
    finally:
        umount_all(t)


def test_update_disk_full(t):
    good_build()
    hub = t.hub()
    d = mount_tmpfs(t, "full-bin", 8 << 20)
    try:
        exe = copy_listener(t, d)
        lst = start(t, hub, "upd-full", hub.create_key(), exe)
        publish(hub, good_build())
        refused(t, hub, lst, "9.9.9", "no space left on device writing " +
                exe + ".new.")
        lst.stop()
    finally:
        umount_all(t)


# ---- a roll over several listeners ----

def test_update_roll_stops_on_failure(t):
    new = good_build()
    hub = t.hub()
    key = hub.create_key()
    ro = mount_tmpfs(t, "roll-ro", 32 << 20)
    try:
        exe_b = copy_listener(t, ro)
        r = subprocess.run(["mount", "-o", "remount,ro", ro],
                           capture_output=True, text=True)
        if r.returncode != 0:
            skip("cannot remount read-only: %s" % r.stderr.strip())
        la = start(t, hub, "roll-a", key, copy_listener(t))
        lb = start(t, hub, "roll-b", key, exe_b)
        lc = start(t, hub, "roll-c", key, copy_listener(t))
        publish(hub, new)
        doc = roll(hub, "9.9.9", ["roll-a", "roll-b", "roll-c"], batch=2)
        doc = roll_settled(hub, doc["id"], 90)
        wait_until(lambda: current_pids(t, la), 10, "roll-a's new process")
        check(doc["state"] == "stopped", "roll state %r" % doc)
        check(agent_of(doc, "roll-a")["state"] == "updated", "a: %r" % doc)
        check(agent_of(doc, "roll-b")["state"] == "failed", "b: %r" % doc)
        check(agent_of(doc, "roll-c")["state"] == "pending", "c: %r" % doc)
        check("read-only file system" in (
            command_error(hub, agent_of(doc, "roll-b")["command"])),
            "b's reason")
        check(hub.agent("roll-c")["version"] != "9.9.9", "c was updated")
        check(lb.alive() and lc.alive(), "b or c exited")
        r = t.hubctl(hub, "release", "status", doc["id"])
        if r.rc == 0:
            check("roll-b" in r.out, "hubctl release status: %r" % r)
        else:
            t.note("hubctl release status not available: %r" % r)
        lb.stop()
    finally:
        umount_all(t)
