"""A private redis-server and hubs joined to it by bus = redis://, for the
cluster tests (test_cluster_bus.py, test_cluster_route.py); pg_hub() puts one
on a private PostgreSQL too (test_cluster_adopt.py, test_cluster_live.py)."""

import os
import shutil
import signal
import socket

from mtest import Proc, fail, free_port, skip, wait_until


class Redis:
    """A private redis-server on 127.0.0.1:port, no persistence."""

    def __init__(self, t):
        self.exe = shutil.which("redis-server")
        if self.exe is None:
            skip("redis-server is not installed (.dev/deps.sh test)")
        self.t = t
        self.port = free_port()
        self.dir = t.mkdir("redis")
        self.proc = None
        self.starts = 0

    @property
    def url(self):
        return "redis://127.0.0.1:%d" % self.port

    def start(self):
        self.starts += 1
        self.proc = Proc(self.t, "redis-%d" % self.starts, [
            self.exe, "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", self.dir,
            "--daemonize", "no"])
        wait_until(self.ping, 10, "redis-server on port %d" % self.port)
        return self

    def ping(self):
        if not self.proc.alive():
            fail("redis-server exited: %s" % self.proc.stdout_text()[-2000:])
        try:
            with socket.create_connection(("127.0.0.1", self.port),
                                          timeout=1) as s:
                s.sendall(b"PING\r\n")
                # a server with requirepass answers -NOAUTH: it is up
                return s.recv(64).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False

    def kill(self):
        self.proc.signal(signal.SIGKILL)
        self.proc.wait(5)


def bus_hub(t, redis, name, fake=None, extra=""):
    text = "bus = %s\nhub_name = %s\n" % (redis.url, name)
    if fake is not None:
        text += "webhook_url = %s\n" % fake.webhook_url
    path = t.write("%s.conf" % name, text + extra, mode=0o600)
    h = t.hub(name="hub-" + name, extra=["--config", path])
    h.hub_name = name
    return h


def pg_hub(t, pg, redis, name, tls, first=None, conf="", **kw):
    """A hub on the private PostgreSQL pg's database "fleet" and the bus,
    loading the cluster's certificate (tls: shared_cert()'s flags); conf
    is more of its config file, kw goes to t.hub().  A hub after the first
    gets the first's admin token (the store knows its hash) and Web Push
    key, as docs/operations.md says to copy them."""
    data = None
    if first is not None:
        data = t.mkdir("hubdata-" + name)
        for f in ("admin.token", "vapid.pem"):
            shutil.copy(os.path.join(first.data, f), data)
    path = t.write("%s.conf" % name, "bus = %s\nhub_name = %s\n%s"
                   % (redis.url, name, conf), mode=0o600)
    h = t.hub(name="hub-" + name, data=data, extra=tls + [
        "--config", path, "--store", pg.url("fleet")], **kw)
    h.hub_name = name
    return h
