"""One host cannot lock everybody out: 1,100 TCP connections that never
start TLS, from one address (127.0.0.2), opened again as soon as the hub
closes them, while well-behaved clients on 127.0.0.1 (fresh /healthz
requests, hubctl, a listener that restarts) must all still get in.

The hub listens on 127.0.0.1 only; both source addresses are loopback."""

import re
import resource
import signal
import socket
import threading
import time

from mtest import binary, check, deadline, wait_until

FLOOD = 1100
FLOOD_SRC = "127.0.0.2"


def metric(hub, name):
    r = hub.request("GET", "/metrics")
    m = re.search(r"^%s (\d+)$" % name, r.body.decode(), re.M)
    check(m, "%s not in /metrics" % name)
    return int(m.group(1))


class Flood:
    """Keeps up to FLOOD idle connections from FLOOD_SRC open: a socket
    the hub closed is opened again, for at most `seconds`."""

    def __init__(self, port, seconds):
        self.port = port
        self.end = time.monotonic() + seconds
        self.socks = []
        self.opened = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def connect(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((FLOOD_SRC, 0))
        s.settimeout(2)
        s.connect(("127.0.0.1", self.port))
        s.setblocking(False)
        self.opened += 1
        return s

    def closed(self, s):
        try:
            return s.recv(1) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def run(self):
        while not self.stop.is_set() and time.monotonic() < self.end:
            live = []
            for s in self.socks:
                if self.closed(s):
                    s.close()
                else:
                    live.append(s)
            self.socks = live
            while len(self.socks) < FLOOD and not self.stop.is_set():
                try:
                    self.socks.append(self.connect())
                except OSError:
                    break
            self.stop.wait(0.2)

    def start(self):
        self.thread.start()
        return self

    def close(self):
        self.stop.set()
        self.thread.join(10)
        for s in self.socks:
            s.close()


def test_one_address_cannot_lock_everybody_out(t):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < FLOOD + 512:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    hub = t.hub(extra=["--handshake-timeout", "2"])
    (lst,) = t.enrolled(hub, ["flood-ok"])
    flood = Flood(hub.port, deadline(40)).start()
    try:
        wait_until(lambda: metric(hub, "maestro_connections_refused_source_"
                                  "total") > 0, 10,
                   "the flood to meet the per-address limit")
        ok = 0
        for _ in range(20):
            r = hub.request("GET", "/healthz", token=None, timeout=5)
            ok += r.status == 200
        check(ok == 20, "fresh /healthz during the flood: %d of 20" % ok)
        r = t.hubctl(hub, "agents", timeout=20)
        check(r.rc == 0 and "flood-ok" in r.out,
              "hubctl agents during the flood: %r" % r)
        # a listener that restarts during the flood gets back in
        lst.signal(signal.SIGKILL)
        lst.wait(5)
        back = t.listener(hub, "flood-ok", state_dir=lst.state_dir)
        t0 = time.monotonic()
        wait_until(lambda: hub.status("flood-ok") == "online" and
                   hub.agent("flood-ok").get("connected", True), 15,
                   "the restarted listener online during the flood")
        wait_until(lambda: "welcomed" in back.stderr_text(), 15,
                   "the restarted listener welcomed")
        rejoin = time.monotonic() - t0
        # idle connections are closed at the handshake deadline
        wait_until(lambda: metric(hub, "maestro_handshake_timeouts_total")
                   > 0, 10, "idle connections closed past 2 s")
        check(flood.opened > FLOOD, "the flood re-opened nothing: %d"
              % flood.opened)
    finally:
        flood.close()
    t.note("during a %d-socket flood from one address: /healthz 20/20, "
           "hubctl ok, listener back in %.2fs; flood sockets opened %d"
           % (FLOOD, rejoin, flood.opened))
    wait_until(lambda: metric(hub, "maestro_connections_in_handshake") == 0,
               10, "no handshake left after the flood")


def test_admission_settings_are_checked(t):
    r = t.run([binary("maestro-hub"), "--handshake-per-ip", "-1"])
    check(r.rc == 2 and "handshake" in r.err,
          "a negative --handshake-per-ip: %r" % r)
