"""How a listener notices a hub that is gone without a word.

A hub whose machine lost power, or whose path was cut, answers nothing,
not even TCP.  The listener sets TCP_USER_TIMEOUT to 3 heartbeats (at
least 10 s): its unacknowledged heartbeats end the connection then,
where the kernel's retransmissions would take about 15 minutes, so it
needs no frequent pings (which cost the hub a pong each).  The path is
cut with iptables rules on loopback for the hub's port alone (tagged,
and removed at the end whatever happens).
"""

import os
import shutil
import subprocess
import time

from mtest import check, fail, wait_until


def iptables(*args):
    r = subprocess.run(["iptables", "-w", "5"] + list(args),
                       capture_output=True, text=True, timeout=20,
                       check=False)
    return r.returncode, r.stderr.strip()


class Cut:
    """Drop every packet to and from one port on lo, until undone."""

    def __init__(self, port):
        self.rules = [["INPUT", "-i", "lo", "-p", "tcp", "--dport",
                       str(port)],
                      ["INPUT", "-i", "lo", "-p", "tcp", "--sport",
                       str(port)]]
        self.tag = ["-m", "comment", "--comment",
                    "maestro-test-%d" % os.getpid(), "-j", "DROP"]
        self.on = []

    def __enter__(self):
        for r in self.rules:
            rc, err = iptables("-I", *(r + self.tag))
            if rc != 0:
                self.__exit__()
                fail("iptables -I %s: %s" % (" ".join(r), err))
            self.on.append(r)
        return self

    def __exit__(self, *exc):
        for r in self.on:
            iptables("-D", *(r + self.tag))
        self.on = []


def test_listener_notices_a_vanished_hub(t):
    if shutil.which("iptables") is None or os.geteuid() != 0:
        fail("iptables as root is needed: run .dev/deps.sh test as root")
    hub = t.hub(heartbeat=1, miss=30)
    (lst,) = t.enrolled(hub, ["pc-cut"])
    off = lst.log_size()
    port = int(hub.url.rsplit(":", 1)[1].rstrip("/"))
    with Cut(port):
        t0 = time.monotonic()
        wait_until(lambda: "retrying in" in lst.log_since(off), 40,
                   "the listener to give up on the unanswering hub")
        took = time.monotonic() - t0
    t.note("connection given up %.1f s after the cut: %s"
           % (took, lst.log_since(off).strip().splitlines()[-1]))
    # 3 unacknowledged heartbeats of 1 s, at least 10 s; not 15 minutes,
    # and not lws's ping (LST_HANGUP_SECS, 330 s)
    check(8 <= took <= 25, "gave up %.1f s after the cut, want 10-20 s"
          % took)
    wait_until(lambda: "welcomed us" in lst.log_since(off), 30,
               "the listener back once the path is whole")
    hub.wait_status("pc-cut", "online", 10)
