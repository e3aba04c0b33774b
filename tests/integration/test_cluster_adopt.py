"""kill -9 of a hub mid-command on a shared store (issue 20, item 6).

A private PostgreSQL (pgserve.py) and Redis (cluster_env.py), three real
hubs a, b and c on the same store and bus, loading one certificate; a
real listener with `hub = a, b` (it picks one at random: the holder; the
other of a and b is the survivor; c is never in its list).
What is checked:
- two long commands (`echo start; sleep 3; echo done; echo ran >> FILE`),
  one sent through the holder, one through c (routed to the holder over
  the bus); once both are running and their first line is stored, the
  holder is killed with SIGKILL: the listener moves to the survivor,
  which takes both commands over before its welcome; each ends "done"
  once, with its whole output, in one row of the store, GET
  /api/commands/ID shows that on the survivor and on c (c's shadow of
  the routed one follows the store once it sees the holder down), and
  each command ran once (one line in its file);
- the killed hub started again on the same store while a command runs
  at the survivor: it neither sends nor loses it (its log never names
  it) and the command ends done.
"""

import os
import re
import shutil

import pgserve
from cluster_env import Redis
from mtest import Proc, binary, check, wait_until
from test_multihub import RECONNECT_MIN, shared_cert, welcomed_by


def cluster_hub(t, pg, redis, name, tls, data=None):
    conf = t.write("%s.conf" % name, "bus = %s\nhub_name = %s\n"
                   % (redis.url, name), mode=0o600)
    h = t.hub(name="hub-" + name, data=data, extra=[
        "--config", conf, "--store", pg.url("fleet")] + tls)
    h.hub_name = name
    return h


def listener(t, hubs, name, state_dir, fingerprint):
    p = Proc(t, "listener-" + name, [
        binary("maestro-listener"), "--hub",
        ", ".join(h.ws_url for h in hubs), "--name", name,
        "--state-dir", state_dir, "--fingerprint", fingerprint,
        "--reconnect-min", str(RECONNECT_MIN)])
    p.agent = name
    return p


def long_cmd(mark):
    return "echo start; sleep 3; echo done; echo ran >> %s" % mark


def stored(pg, cid):
    """[[status, output with '|' for each newline, hub]]"""
    return pg.sql("fleet", "SELECT status, replace(convert_from(output,"
                  " 'UTF8'), E'\\n', '|'), hub FROM commands WHERE id = '%s'"
                  % cid)


def lines(path):
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return len(f.read().splitlines())


def test_adopt_after_kill9(t):
    pg = pgserve.start(t)
    pg.createdb("fleet")
    redis = Redis(t).start()
    tls = shared_cert(t)
    a = cluster_hub(t, pg, redis, "a", tls)
    hubs = [a]
    for n in "bc":
        data = t.mkdir("hubdata-" + n)
        # one admin token for the cluster: the store knows its hash
        shutil.copy(os.path.join(a.data, "admin.token"), data)
        hubs.append(cluster_hub(t, pg, redis, n, tls, data=data))
    b, c = hubs[1], hubs[2]

    # enrolled through a, then given both a and b
    first = t.listener(a, "pc-1", key=a.create_key(), wait_online=True)
    first.stop()
    lst = listener(t, [a, b], "pc-1", first.state_dir, a.fingerprint)
    wait_until(lambda: welcomed_by(lst, [a, b]), 15, "pc-1 welcomed")
    holder = welcomed_by(lst, [a, b])
    survivor = b if holder is a else a
    wait_until(lambda: holder.agents().get("pc-1", {}).get("status") ==
               "online", 10, "pc-1 online at its holder")
    wait_until(lambda: c.request("POST", "/api/agents/pc-1/command",
                                 {"type": "metrics"}).status == 202, 15,
               "c to reach pc-1 through the bus")

    m1, m2 = t.path("ran-direct"), t.path("ran-routed")
    direct = holder.command("pc-1", {"type": "shell",
                                     "cmd": long_cmd(m1), "timeout": 30})
    routed = c.command("pc-1", {"type": "shell", "cmd": long_cmd(m2),
                                "timeout": 30})
    for cid in (direct, routed):
        wait_until(lambda cid=cid: (stored(pg, cid) or [[""]])[0][0] ==
                   "running" and "start" in stored(pg, cid)[0][1], 10,
                   "command %s running, its first line stored" % cid)
    off = lst.log_size()
    holder.kill9()
    wait_until(lambda: welcomed_by(lst, [survivor], off) is survivor, 15,
               "pc-1 welcomed by the survivor")

    for cid, mark in ((direct, m1), (routed, m2)):
        doc = survivor.wait_command(cid, timeout=30)
        check(doc["status"] == "done" and doc["output"] ==
              "start\ndone\n" and doc["exit"] == 0,
              "command %s at the survivor: %r" % (cid, doc))
        rows = stored(pg, cid)
        check(rows == [["done", "start|done|", survivor.hub_name]],
              "command %s in the store: %r" % (cid, rows))
        # c follows its shadow in the store once it sees the holder down
        doc = c.wait_command(cid, timeout=40)
        check(doc["status"] == "done" and doc["output"] ==
              "start\ndone\n", "command %s at c: %r" % (cid, doc))
        check(lines(mark) == 1, "command %s ran %d times" % (cid,
                                                             lines(mark)))
        check(re.search(r"command %s \(\w+\) for 'pc-1' taken over from "
                        r"hub %s" % (cid, holder.hub_name),
                        survivor.log()), "no takeover of %s in the "
              "survivor's log" % cid)
    check("reported on unknown command" not in survivor.log(),
          "a result was ignored at the survivor")

    # the killed hub back on the store while a command runs elsewhere
    m3 = t.path("ran-later")
    later = survivor.command("pc-1", {"type": "shell",
                                      "cmd": long_cmd(m3), "timeout": 30})
    wait_until(lambda: (stored(pg, later) or [[""]])[0][0] == "running",
               10, "the later command running")
    holder.start()
    doc = survivor.wait_command(later, timeout=30)
    check(doc["status"] == "done" and lines(m3) == 1,
          "the later command: %r, ran %d times" % (doc, lines(m3)))
    check(later not in holder.log(), "the restarted hub touched %s:\n%s"
          % (later, holder.log()[-3000:]))
    doc = holder.wait_command(later)
    check(doc["status"] == "done", "the later command read at the "
          "restarted hub: %r" % doc)
    for cid in (direct, routed):
        check(stored(pg, cid)[0][0] == "done", "%s changed after the "
              "restart: %r" % (cid, stored(pg, cid)))
    redis.kill()
