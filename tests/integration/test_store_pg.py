"""The store on PostgreSQL (`store = postgres://...`): a real, private
PostgreSQL 15 started here (pgserve.py), stopped by PID.

- a hub on it enrolls an agent, runs a command, and keeps agents, tokens,
  commands, events and silences across a restart, in the database's rows;
- PostgreSQL stopped while the hub runs: /healthz and /metrics say the
  store fails, a result that arrives meanwhile is held (not acked), and is
  stored once PostgreSQL is back;
- two hubs on one database: an agent enrolled through hub A is admitted by
  hub B, a token made on A works on B, and their ids do not collide;
- bad store lines are refused with hub.conf:LINE, never echoing a
  password.
"""

import os
import re
import shutil

import pgserve
from mtest import binary, check, free_port, wait_until
from test_store import health, metric


def pg_hub(t, pg, db, name="hub", data=None, extra=()):
    return t.hub(name=name, data=data, extra=["--store", pg.url(db)] +
                 list(extra))


def test_pg_hub_keeps_everything(t):
    pg = pgserve.start(t)
    pg.createdb("fleet")
    hub = pg_hub(t, pg, "fleet")
    lst = t.listener(hub, "pg-a", key=hub.create_key(), wait_online=True)
    cid = hub.command("pg-a", {"type": "shell", "cmd": "echo stored-in-pg"})
    doc = hub.wait_command(cid)
    check(doc.get("status") == "done" and "stored-in-pg" in
          doc.get("output", ""), "the command: %r" % doc)
    tok = hub.create_token("viewer", "pg-viewer")
    hub.api("POST", "/api/silences", {"agent": "pg-a", "for": "1h",
                                      "reason": "pg test"}, expect=201)
    q = ("SELECT status, rtrim(convert_from(output, 'UTF8'), E'\\n')"
         " FROM commands WHERE id = '%s'" % cid)
    wait_until(lambda: pg.sql("fleet", q) == [["done", "stored-in-pg"]], 10,
               "the result in pg")
    check(pg.sql("fleet", "SELECT max(version) FROM schema_version") ==
          [["4"]], "schema version")
    r = hub.request("GET", "/api/backup")
    check(r.status == 501 and "pg_dump" in r.json().get("error", ""),
          "GET /api/backup on pg: %r" % r)
    check(metric(hub, "maestro_db_bytes") >= 0, "db bytes")
    lst.stop()
    hub.stop()
    hub.start()
    check("pg-a" in hub.agents(), "pg-a lost at the restart")
    check(hub.request("GET", "/api/agents", token=tok).status == 200,
          "the token lost at the restart")
    doc = hub.api("GET", "/api/commands/" + cid)
    check(doc.get("status") == "done" and "stored-in-pg" in
          doc.get("output", ""), "the command after the restart: %r" % doc)
    sil = hub.api("GET", "/api/silences")
    check(any(s.get("agent") == "pg-a" for s in sil.get("silences", [])),
          "the silence after the restart: %r" % sil)
    ev = hub.events()
    check(any(e.get("type") == "command" for e in ev), "events: %r" % ev[:5])
    # the listener comes back with its credential
    t.listener(hub, "pg-a", state_dir=lst.state_dir, wait_online=True)


def test_pg_down_while_the_hub_runs(t):
    pg = pgserve.start(t)
    pg.createdb("fleet")
    hub = pg_hub(t, pg, "fleet")
    t.listener(hub, "pg-b", key=hub.create_key(), wait_online=True)
    cid = hub.command("pg-b", {"type": "shell",
                               "cmd": "sleep 2; echo during-the-outage"})
    wait_until(lambda: hub.api("GET", "/api/commands/" + cid)
               .get("status") == "running", 10, "the command running")
    pg.stop()
    wait_until(lambda: health(hub)[0] == 503, 20, "/healthz 503")
    st, doc = health(hub)
    check(doc.get("status") == "degraded" and doc.get("store"),
          "healthz during the outage: %r" % doc)
    check(metric(hub, "maestro_store_failing") == 1, "store_failing")
    wait_until(lambda: hub.api("GET", "/api/commands/" + cid)
               .get("status") == "done", 20, "the result in memory")
    check(metric(hub, "maestro_results_acked_total") == 0,
          "a result was acked while PostgreSQL was down")
    r = hub.request("POST", "/api/tokens", body={"role": "viewer"})
    check(r.status == 503, "a token made while the store is down: %r" % r)
    pg.start()
    wait_until(lambda: health(hub)[0] == 200, 30, "/healthz ok again")
    wait_until(lambda: metric(hub, "maestro_results_acked_total") >= 1, 20,
               "the ack once PostgreSQL is back")
    rows = pg.sql("fleet", "SELECT status, rtrim(convert_from(output,"
                  " 'UTF8'), E'\\n')"
                  " FROM commands WHERE id = '%s'" % cid)
    check(rows == [["done", "during-the-outage"]],
          "the result stored after the outage: %r" % rows)
    # the "ok" event is queued when the store answers again and may be
    # written in a later batch than the result's ack
    def hub_events():
        return pg.sql("fleet",
                      "SELECT to_status FROM events WHERE type = 'hub'")
    wait_until(lambda: ["ok"] in hub_events(), 10,
               "the store's recovery event stored")
    ev = hub_events()
    check(["store_failing"] in ev, "the store's events: %r" % ev)


def test_pg_two_hubs_one_database(t):
    pg = pgserve.start(t)
    pg.createdb("fleet")
    a = pg_hub(t, pg, "fleet", name="hub-a")
    # hub B shares A's store; its admin token is the cluster's, copied
    b_data = t.mkdir("hubdata-b")
    shutil.copy(os.path.join(a.data, "admin.token"), b_data)
    b = pg_hub(t, pg, "fleet", name="hub-b", data=b_data)
    lst = t.listener(a, "pg-c", key=a.create_key(), wait_online=True)
    lst.stop()
    check("pg-c" not in b.agents(), "hub B knew pg-c before it came")
    t.listener(b, "pg-c", state_dir=lst.state_dir, wait_online=True)
    check(re.search(r"agent 'pg-c' found in the store", b.log()),
          "hub B did not look pg-c up")
    # a name neither hub knows is refused (and then not asked again)
    tok = a.create_token("operator", "made-on-a")
    wait_until(lambda: b.request("GET", "/api/agents", token=tok).status ==
               200, 15, "hub A's token accepted by hub B")
    # an enrollment key made on A enrols through B (B reads the keys
    # every 5 s), and its single use counts on A too
    kdoc = a.create_key_doc(uses=1)

    def b_has_key():
        keys = b.api("GET", "/api/enroll-keys").get("keys", [])
        return any(k.get("id") == kdoc["id"] for k in keys)
    wait_until(b_has_key, 15, "hub A's enrollment key known to hub B")
    t.listener(b, "pg-d", key=kdoc["key"], wait_online=True)

    def used_up_on_a():
        keys = a.api("GET", "/api/enroll-keys").get("keys", [])
        return any(k.get("id") == kdoc["id"] and k.get("used") == 1
                   for k in keys)
    wait_until(used_up_on_a, 15, "the key's use through B counted on A")
    used = pg.sql("fleet", "SELECT used FROM enroll_keys WHERE id = '%s'"
                  % kdoc["id"])
    check(used == [["1"]], "used in the store: %r" % used)
    # both number events from their own blocks: no id is used twice
    b.create_token("viewer", "made-on-b")
    a.create_key()
    wait_until(lambda: int(pg.sql("fleet", "SELECT count(*) FROM events")
                           [0][0]) >= 4, 10, "events from both hubs")
    dup = pg.sql("fleet", "SELECT id FROM events GROUP BY id HAVING"
                 " count(*) > 1")
    check(dup == [], "event ids used twice: %r" % dup)
    check("duplicate key" not in a.log() + b.log(),
          "a hub wrote an id the other had used")
    ids = pg.sql("fleet", "SELECT id FROM agents")
    check(len(ids) == 2, "agents rows: %r" % ids)


def test_pg_bad_store_lines(t):
    pw = t.write("pw", "hunter2\n", mode=0o600)
    cases = [
        ("store = postgres://u:hunter2@127.0.0.1/db",
         "store: a password never goes in the URL"),
        ("store = mysql://127.0.0.1/db", "store: must be sqlite:PATH or"),
        ("store = postgres://u@127.0.0.1", "store: names no database"),
        ("store = postgres://u@127.0.0.1/db?password=hunter2",
         "store: option 'password=hunter2' is not taken"[:30]),
        ("store = sqlite:", "store: sqlite: needs a file"),
        ("store_password_file = %s" % pw, "store_password_file: needs store ="),
    ]
    for line, why in cases:
        path = t.write("bad.conf", "miss = 3\n# the store\n" + line + "\n")
        r = t.run([binary("maestro-hub"), "--config", path, "--data",
                   t.path("data"), "--insecure-no-tls", "--listen",
                   "127.0.0.1:%d" % free_port()], timeout=10)
        check(r.rc == 2 and r.err.startswith(
            "maestro-hub: %s:3: %s" % (path, why)), "%r: %r" % (line, r))
    path = t.write("bad.conf", "store = postgres://u@127.0.0.1/db\n"
                   "store_password_file = /nonexistent/pw\n")
    r = t.run([binary("maestro-hub"), "--config", path], timeout=10)
    check(r.rc == 2 and "%s:2: store_password_file: cannot read" % path in
          r.err, "unreadable password file: %r" % r)
    # PostgreSQL not there at start: a clear message naming the URL
    url = "postgres://maestro@127.0.0.1:%d/fleet" % free_port()
    r = t.run([binary("maestro-hub"), "--store", url, "--data",
               t.path("data2"), "--insecure-no-tls", "--listen",
               "127.0.0.1:%d" % free_port()], timeout=20)
    check(r.rc != 0 and ("store %s:" % url) in r.err,
          "PostgreSQL down at start: %r" % r)
