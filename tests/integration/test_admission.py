"""Admission control: at most handshake_max (1024) connections between
accept and their first request (hub_admit.c); one over that is closed
before any TLS work, and hubctl asks again after a short wait.  The
per-address limits and the handshake deadline are off here (all of these
connections come from 127.0.0.1); test_flood.py tests them."""

import re
import socket
import subprocess
import time

from mtest import check, deadline, wait_until

LIMIT = 1024


def idle_connections(hub, n):
    """n TCP connections to the hub that never start TLS."""
    out = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", hub.port), timeout=5)
        out.append(s)
    return out


def closed_at_once(hub):
    """Is a new connection closed by the hub within a second?"""
    s = socket.create_connection(("127.0.0.1", hub.port), timeout=1)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True
    finally:
        s.close()


def metric(hub, name):
    r = hub.request("GET", "/metrics")
    m = re.search(r"^%s (\d+)$" % name, r.body.decode(), re.M)
    check(m, "%s not in /metrics" % name)
    return int(m.group(1))


def test_connections_past_the_limit_are_closed_and_hubctl_retries(t):
    hub = t.hub(extra=["--handshake-per-ip", "0", "--connections-per-ip",
                       "0", "--handshake-timeout", "0"])
    idle = idle_connections(hub, LIMIT)
    try:
        wait_until(lambda: closed_at_once(hub), 10,
                   "a connection past %d idle ones to be closed" % LIMIT)
        # hubctl now meets closed connections; it tries again, and gets in
        # once some of the idle connections are gone
        p = subprocess.Popen(t.hubctl_argv(hub, ["agents"]),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=t.env)
        time.sleep(0.4)
        check(p.poll() is None, "hubctl gave up while the hub was busy: "
              "rc %r" % p.returncode)
        for s in idle[:100]:
            s.close()
        out, err = p.communicate(timeout=deadline(15))
        check(p.returncode == 0, "hubctl agents after the storm: rc %d, %r"
              % (p.returncode, err))
    finally:
        for s in idle:
            s.close()
    wait_until(lambda: metric(hub, "maestro_connections_in_handshake") == 0,
               10, "the handshake count to return to 0")
    check(metric(hub, "maestro_connections_refused_busy_total") >= 1,
          "no refusal counted")
    # and the hub serves as before
    check(hub.request("GET", "/healthz").status == 200, "healthz after")
