"""The store fails, nothing is lost: the hub's data directory on a real,
small tmpfs that the test fills to the last byte.

While the disk is full the hub must say so (/healthz 503 "degraded",
/metrics, one event, one alert), refuse writes through the API with 503,
acknowledge no command result (so the listener keeps its copy), survive a
restart, and, once space is back, write everything it held exactly once."""

import errno
import os
import re
import sqlite3
import subprocess

import fakeapi
from fakeapi import WEBHOOK
from mtest import check, skip, wait_until

TMPFS_SIZE = 24 * 1024 * 1024
# each result is about 1.2 MB: more than the WAL file can hold in the
# room it already has, so the commit must grow a file on the full disk
SEQ = 180000


def mount_tmpfs(t, name):
    path = t.mkdir(name)
    if os.geteuid() != 0:
        skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0700"
                        % TMPFS_SIZE, "maestro-test", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        skip("cannot mount a tmpfs here: %s" % r.stderr.strip())
    return path


def fill(path):
    """Write a file until the filesystem has no byte left; its path."""
    filler = os.path.join(path, "filler")
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as f:
        for _ in range(TMPFS_SIZE // len(chunk) + 16):
            try:
                f.write(chunk)
            except OSError as e:
                check(e.errno == errno.ENOSPC, "filling: %s" % e)
                break
        # the last partial block
        for _ in range(64):
            try:
                f.write(b"\0" * 512)
            except OSError:
                break
    return filler


def metric(hub, name):
    text = hub.request("GET", "/metrics").body.decode()
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    check(m, "/metrics has no %s" % name)
    return float(m.group(1))


def health(hub):
    r = hub.request("GET", "/healthz", token=None, pin=False)
    return r.status, r.json()


def degraded(hub):
    st, doc = health(hub)
    return st == 503 and doc.get("status") == "degraded" and doc


def test_full_disk_loses_nothing(t):
    data = mount_tmpfs(t, "hubdata-tmpfs")
    try:
        run_full_disk(t, data)
    finally:
        subprocess.run(["umount", "-l", data], capture_output=True)


def start_cmds(hub, n, cmd):
    ids = [hub.command("disk-a", {"type": "shell", "cmd": cmd,
                                  "timeout": 60}) for _ in range(n)]
    wait_until(lambda: all(hub.api("GET", "/api/commands/" + c)
                           .get("status") == "running" for c in ids),
               10, "%d commands running" % n)
    return ids


def results_in(hub, ids):
    wait_until(lambda: all(hub.api("GET", "/api/commands/" + c)
                           .get("status") == "done" for c in ids),
               20, "%d results received" % len(ids))


def stored(data, ids):
    """{id: (status, exit, output, error)} as in the database file."""
    db = sqlite3.connect(os.path.join(data, "hub.db"))
    try:
        rows = db.execute("SELECT id, status, exit_code, output, error FROM"
                          " commands WHERE id IN (%s)"
                          % ",".join("?" * len(ids)), ids).fetchall()
    finally:
        db.close()
    return {r[0]: (r[1], r[2], bytes(r[3] or b"").decode(), r[4] or "")
            for r in rows}


def empty_wal(data):
    """Checkpoint hub.db and cut its WAL file to nothing (another process
    may: SQLite's own locks keep the hub safe).  Phase 1's big results
    left a WAL of megabytes that small commits could reuse in place on a
    full disk, so whether they failed was a matter of timing; from an
    empty WAL the next commit must grow the file."""
    db = sqlite3.connect(os.path.join(data, "hub.db"), timeout=10)
    try:
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        db.close()
    check(busy == 0, "the WAL could not be checkpointed")
    check(os.path.getsize(os.path.join(data, "hub.db-wal")) == 0,
          "the WAL is not empty after the checkpoint")


def refused_writes(t, hub, key):
    """Writes through the API answer 503 with the reason; a new agent
    cannot enroll (its credential would not survive a restart)."""
    for method, path, body in (
            ("POST", "/api/agents/disk-a/command", {"type": "shell",
                                                    "cmd": "true"}),
            ("POST", "/api/tokens", {"role": "viewer"}),
            ("POST", "/api/enroll-keys", {"uses": 1}),
            ("POST", "/api/silences", {"agent": "disk-a", "for": "1m"})):
        r = hub.request(method, path, body=body)
        check(r.status == 503 and r.json().get("code") == "store_failing",
              "%s %s during the fault: %r" % (method, path, r))
        check("full" in r.json().get("error", ""), "no reason: %r" % r)
    # a backup would miss the writes held in memory: 5xx with the reason
    r = hub.request("GET", "/api/backup")
    check(r.status == 503 and r.json().get("code") == "store_failing"
          and "backup" in r.json().get("error", ""),
          "GET /api/backup during the fault: %r" % r)
    newbie = t.listener(hub, "disk-new", key=key)
    wait_until(lambda: "unavailable" in newbie.stderr_text(), 15,
               "the new listener to be told to try later")
    check(hub.agent("disk-new") is None, "disk-new enrolled on a full disk")
    newbie.stop()


def run_full_disk(t, data):
    fake = fakeapi.start(t)
    conf = t.write("hub.conf", "webhook_url = %s\n" % fake.webhook_url,
                   mode=0o600)
    hub = t.hub(data=data, extra=["--config", conf])
    key = hub.create_key()
    t.listener(hub, "disk-a", key=key, wait_online=True)

    # phase 1: results arrive on a full disk; held, never acknowledged
    ids = start_cmds(hub, 3, "sleep 1.5; seq 1 %d" % SEQ)
    filler = fill(data)
    doc = wait_until(lambda: degraded(hub), 20, "/healthz to say degraded")
    check("full" in doc.get("store", ""), "healthz store reason: %r" % doc)
    results_in(hub, ids)
    check(metric(hub, "maestro_store_failing") == 1, "store_failing not 1")
    check(metric(hub, "maestro_store_failures_total") >= 1,
          "no failure counted")
    check(metric(hub, "maestro_results_acked_total") == 0,
          "a result was acked while the store failed")
    refused_writes(t, hub, key)
    wait_until(lambda: [m for m in fake.messages(WEBHOOK)
                        if m.get("event") == "hub_fault"], 10,
               "the store alert")
    os.unlink(filler)
    wait_until(lambda: health(hub)[0] == 200, 30, "/healthz ok again")
    wait_until(lambda: metric(hub, "maestro_results_acked_total") >= 3, 20,
               "three acks after the store recovered")
    faults = [m for m in fake.messages(WEBHOOK)
              if m.get("event") == "hub_fault"]
    check(len(faults) == 1, "store alerts for one fault: %d" % len(faults))
    want = "".join("%d\n" % i for i in range(1, SEQ + 1))
    rows = stored(data, ids)
    for c in ids:
        status, code, out, _ = rows.get(c, (None, None, "", ""))
        check(status == "done" and code == 0 and want.startswith(out) and
              len(out) >= 1024 * 1024,
              "stored %s: %s exit %s, %d bytes of output"
              % (c, status, code, len(out)))
    tok = hub.create_token("viewer", "after-the-fault")
    check(hub.request("GET", "/api/agents", token=tok).status == 200,
          "a token made after recovery does not work")

    # phase 2: a restart during the fault.  The hub comes up degraded;
    # the listener kept its results, and the output it wrote, and sends
    # them again; they are stored once space returns, output included
    # (before 2026-12-07 the output died with the hub: "lost" in error).
    ids2 = start_cmds(hub, 2, "sleep 1.5; echo phase-two")
    empty_wal(data)
    filler = fill(data)
    wait_until(lambda: degraded(hub), 20, "degraded again")
    results_in(hub, ids2)
    hub.stop()
    hub.start()
    wait_until(lambda: degraded(hub), 30, "the restarted hub degraded")
    wait_until(lambda: hub.status("disk-a") == "online", 15,
               "disk-a back on the restarted hub")
    check(metric(hub, "maestro_results_acked_total") == 0,
          "the restarted hub acked a result it could not store")
    check(hub.request("POST", "/api/tokens", body={"role": "viewer"})
          .status == 503, "token created on a full disk")
    os.unlink(filler)
    wait_until(lambda: health(hub)[0] == 200, 30, "/healthz ok after restart")
    wait_until(lambda: metric(hub, "maestro_results_acked_total") >= 2, 20,
               "two acks after the restarted hub's store recovered")
    rows = stored(data, ids2)
    for c in ids2:
        status, code, out, err = rows.get(c, (None, None, "", ""))
        check(status == "done" and code == 0 and out == "phase-two\n" and
              not err, "stored %s: %s exit %s output %r error %r"
              % (c, status, code, out, err))
    events = sqlite3.connect(os.path.join(data, "hub.db")).execute(
        "SELECT count(*) FROM events WHERE type = 'hub' AND to_status ="
        " 'store_failing'").fetchone()[0]
    check(events >= 2, "store_failing events stored: %d" % events)
    t.note("results produced 5, stored after space returned %d, acks "
           "during the fault 0" % (len(stored(data, ids)) + len(rows)))
    hub.stop()


def test_retention_prunes_old_rows(t):
    # finished commands and events past their retention leave hub.db in
    # batches (every 10 s); the database's size is in /metrics
    hub = t.hub(extra=["--commands-retention", "1s",
                       "--events-retention", "1s"])
    t.enrolled(hub, ["pc-old"])
    cid = hub.command("pc-old", {"type": "shell", "cmd": "echo old"})
    hub.wait_command(cid)
    path = os.path.join(hub.data, "hub.db")

    def count(sql):
        db = sqlite3.connect(path)
        try:
            return db.execute(sql).fetchone()[0]
        finally:
            db.close()
    wait_until(lambda: count("SELECT count(*) FROM commands WHERE id = '%s'"
                             % cid) == 1, 10, "the command stored")
    wait_until(lambda: count("SELECT count(*) FROM commands WHERE id = '%s'"
                             % cid) == 0, 30, "the old command pruned")
    wait_until(lambda: count("SELECT count(*) FROM events WHERE ts < "
                             "strftime('%s','now') - 5") == 0, 30,
               "old events pruned")
    check(metric(hub, "maestro_db_bytes") > 0, "no database size")
