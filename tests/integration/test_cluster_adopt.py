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
  it) and the command ends done;
- a listener that moves mid-command while its hub keeps running (its
  connection cut by a TCP gate the test controls, as a network blip
  would): the other hub takes the command over at the hello and stores
  its result; the first hub, at the command's deadline, finds in the
  store that it was taken over and shows the stored result, not "lost";
- output the holder read but had not stored when it was killed (its
  stores are 2 s apart) reaches the survivor: the listener writes the
  output it kept again after the welcome, the survivor fills the hole.
"""

import os
import re
import select
import socket
import threading
import time

import pgserve
from cluster_env import Redis, pg_hub
from mtest import Proc, binary, check, free_port, sh_wait_for, wait_until
from test_multihub import RECONNECT_MIN, shared_cert, welcomed_by


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


def pg_cluster(t, names):
    """A private PostgreSQL and Redis, and one hub per name on both."""
    pg = pgserve.start(t)
    pg.createdb("fleet")
    redis = Redis(t).start()
    tls = shared_cert(t)
    hubs = [pg_hub(t, pg, redis, names[0], tls)]
    hubs += [pg_hub(t, pg, redis, n, tls, first=hubs[0]) for n in names[1:]]
    return pg, redis, hubs


def given_both(t, a, b, name):
    """An agent enrolled through a, then run with both a and b: (its
    listener, the hub it picked, the other)."""
    first = t.listener(a, name, key=a.create_key(), wait_online=True)
    first.stop()
    lst = listener(t, [a, b], name, first.state_dir, a.fingerprint)
    wait_until(lambda: welcomed_by(lst, [a, b]), 15, name + " welcomed")
    holder = welcomed_by(lst, [a, b])
    wait_until(lambda: holder.agents().get(name, {}).get("status") ==
               "online", 10, name + " online at its holder")
    return lst, holder, b if holder is a else a


def test_adopt_after_kill9(t):
    pg, redis, (a, b, c) = pg_cluster(t, "abc")

    lst, holder, survivor = given_both(t, a, b, "pc-1")
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


def test_output_not_stored_reaches_the_survivor(t):
    # what the holder read after its last store of the running command's
    # output (every 2 s) dies with it; the listener writes its tail again
    # to the survivor, which fills the hole from it
    pg, redis, (a, b) = pg_cluster(t, "ab")
    lst, holder, survivor = given_both(t, a, b, "pc-3")
    go, go2 = t.path("go"), t.path("go2")
    cid = holder.command("pc-3", {"type": "shell", "timeout": 60, "cmd":
                                  "echo one; %s; echo two; %s; echo three"
                                  % (sh_wait_for(go), sh_wait_for(go2))})
    # just stored: the next store is 2 s away
    wait_until(lambda: (stored(pg, cid) or [["", ""]])[0][1] == "one|", 10,
               "the first line in the store")
    open(go, "w").close()
    wait_until(lambda: holder.api("GET", "/api/commands/" + cid)
               .get("output") == "one\ntwo\n", 10,
               "the second line at the holder")
    off = lst.log_size()
    holder.kill9()
    check(stored(pg, cid)[0][1] == "one|", "the holder stored %r before "
          "the kill: no hole to fill" % stored(pg, cid))
    wait_until(lambda: welcomed_by(lst, [survivor], off) is survivor, 15,
               "pc-3 welcomed by the survivor")
    open(go2, "w").close()
    doc = survivor.wait_command(cid, timeout=30)
    check(doc["status"] == "done" and doc["output"] == "one\ntwo\nthree\n"
          and not doc.get("error"), "command %s at the survivor: %r"
          % (cid, doc))
    check(stored(pg, cid) == [["done", "one|two|three|",
                               survivor.hub_name]],
          "command %s in the store: %r" % (cid, stored(pg, cid)))
    redis.kill()


class Gate:
    """A TCP forwarder on 127.0.0.1 to a hub's port.  Open, it accepts and
    copies bytes both ways; shut, it drops every connection it carries and
    refuses new ones: the network between a listener and a hub that keeps
    running, broken.  TLS goes through untouched."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.port = free_port()
        self.lsock = None
        self.conns = []
        self.lock = threading.Lock()

    @property
    def ws_url(self):
        return "wss://127.0.0.1:%d" % self.port

    def open(self):
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", self.port))
        self.lsock.listen(8)
        threading.Thread(target=self._accept, args=(self.lsock,),
                         daemon=True).start()
        return self

    def _accept(self, lsock):
        while True:
            try:
                c, _ = lsock.accept()
            except OSError:
                return                  # shut
            try:
                u = socket.create_connection(self.target, timeout=5)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += [c, u]
            threading.Thread(target=self._pump, args=(c, u),
                             daemon=True).start()

    @staticmethod
    def _pump(a, b):
        peer = {a: b, b: a}
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1.0)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    peer[s].sendall(data)
        except OSError:
            return
        finally:
            a.close()
            b.close()

    def shut(self):
        if self.lsock is not None:
            self.lsock.close()
            self.lsock = None
        with self.lock:
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.conns = []

    def close(self):                    # at the test's cleanup
        self.shut()


def test_listener_moves_while_its_hub_runs(t):
    pg, redis, (a, b) = pg_cluster(t, "ab")
    first = t.listener(a, "pc-2", key=a.create_key(), wait_online=True)
    first.stop()

    # both hubs behind gates; b's shut until the command runs, so the
    # listener starts at a
    ga, gb = Gate(a.port).open(), Gate(b.port)
    t.sockets += [ga, gb]
    lst = listener(t, [ga, gb], "pc-2", first.state_dir, a.fingerprint)
    wait_until(lambda: a.agents().get("pc-2", {}).get("status") ==
               "online", 15, "pc-2 online at a")
    mark = t.path("ran-moved")
    timeout = 6
    cid = a.command("pc-2", {"type": "shell", "cmd": long_cmd(mark),
                             "timeout": timeout})
    sent = time.monotonic()
    wait_until(lambda: (stored(pg, cid) or [[""]])[0][0] == "running",
               10, "command %s running" % cid)
    off = lst.log_size()
    gb.open()
    ga.shut()
    wait_until(lambda: "welcomed us" in lst.log_since(off), 15,
               "pc-2 welcomed by b")
    doc = b.wait_command(cid, timeout=20)
    check(doc["status"] == "done" and doc["output"] == "start\ndone\n",
          "command %s at b: %r" % (cid, doc))
    check(stored(pg, cid) == [["done", "start|done|", "b"]],
          "command %s in the store: %r" % (cid, stored(pg, cid)))

    # a's deadline: the timeout and 30 s of grace after it was sent
    doc = a.wait_command(cid, timeout=timeout + 30 + 15 -
                         (time.monotonic() - sent))
    check(doc["status"] == "done" and doc["output"] == "start\ndone\n",
          "command %s at a after its deadline: %r" % (cid, doc))
    wait_until(lambda: re.search(r"command %s for 'pc-2' was taken over "
                                 r"by hub b" % cid, a.log()), 5,
               "a's log to say b took %s over" % cid)
    check("command %s on 'pc-2' is lost" % cid not in a.log(),
          "a recorded %s lost" % cid)
    check(stored(pg, cid)[0][0] == "done", "the row changed: %r"
          % stored(pg, cid))
    check(lines(mark) == 1, "the command ran %d times" % lines(mark))
    redis.kill()


test_listener_moves_while_its_hub_runs.time_limit = 150
