"""--listen binds exactly the address it is given: loopback stays
loopback, in TLS and in plain text, for IPv4 and IPv6.  The listening
socket is read from /proc/net/tcp and /proc/net/tcp6; no traffic is sent
anywhere but loopback."""

import socket

from mtest import binary, check, fail

LISTEN = "0A"


def listening(port):
    """[(family, address as text)] of the sockets listening on port."""
    out = []
    for path, fam in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 6)):
        try:
            with open(path) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            addr, p = cols[1].split(":")
            if cols[3] != LISTEN or int(p, 16) != port:
                continue
            raw = bytes.fromhex(addr)
            if fam == 4:
                text = socket.inet_ntop(socket.AF_INET, raw[::-1])
            else:
                # four host-order 32-bit words
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                text = socket.inet_ntop(socket.AF_INET6, words)
            out.append((fam, text))
    return out


def has_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def test_ipv4_loopback_tls_and_plain(t):
    for tls in (True, False):
        hub = t.hub(tls=tls)
        got = listening(hub.port)
        check(got == [(4, "127.0.0.1")], "--listen 127.0.0.1:%d (%s) "
              "listens on %r" % (hub.port, "TLS" if tls else "plain", got))
        check(hub.request("GET", "/healthz", token=None).status == 200,
              "healthz on 127.0.0.1")
        hub.stop()


def test_ipv6_loopback(t):
    if not has_ipv6_loopback():
        fail("no IPv6 loopback here (::1 cannot be bound)")
    hub = t.hub(tls=False, host="::1")
    got = listening(hub.port)
    check(got == [(6, "::1")], "--listen [::1]:%d listens on %r"
          % (hub.port, got))
    r = t.hubctl(hub, "agents")
    check(r.rc == 0, "hubctl over [::1]: %r" % r)


def test_listen_takes_only_addresses(t):
    r = t.run([binary("maestro-hub"), "--listen", "example.org:8443",
               "--data", t.mkdir("data")])
    check(r.rc == 2 and "IP address" in r.err, "--listen with a name: %r"
          % r)
