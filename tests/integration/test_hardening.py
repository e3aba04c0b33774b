"""The small promises of a careful server: a NUL inside a command is
refused, not cut short; the names "." and ".." are refused; TLS offers only
AEAD suites; an oversized body is refused at once."""

import shutil
import socket
import subprocess
import time

from mtest import binary, check, deadline, skip


def test_nul_in_a_command_is_refused(t):
    hub = t.hub()
    t.enrolled(hub, ["nul-a"])
    r = hub.request("POST", "/api/agents/nul-a/command",
                    raw=b'{"type":"shell","cmd":"echo safe\\u0000; rm -rf /"}',
                    headers={"Content-Type": "application/json"})
    check(r.status == 400 and "NUL" in r.json().get("error", ""),
          "a command with \\u0000: %r" % r)
    check(hub.api("GET", "/api/commands?agent=nul-a")["commands"] == [],
          "a command was made anyway")


def test_dot_names_are_refused(t):
    hub = t.hub()
    key = hub.create_key()
    for name in (".", ".."):
        p = t.listener(hub, name, key=key)
        rc = p.wait(10, "listener --name %s" % name)
        check(rc == 2 and "name" in p.stderr_text(),
              "--name %r: exit %r, %s" % (name, rc, p.stderr_text()[-300:]))
    check(set(hub.agents()) == set(), "an agent was made: %r"
          % list(hub.agents()))


def openssl_connects(hub, *args):
    r = subprocess.run(["openssl", "s_client", "-connect",
                        "127.0.0.1:%d" % hub.port] + list(args),
                       input=b"", capture_output=True, timeout=deadline(10))
    return r.returncode == 0 and b"BEGIN CERTIFICATE" in r.stdout


def test_tls_offers_only_aead_suites(t):
    if shutil.which("openssl") is None:
        skip("no openssl command")
    hub = t.hub()
    check(openssl_connects(hub, "-tls1_2", "-cipher",
                           "ECDHE-ECDSA-AES128-GCM-SHA256"),
          "TLS 1.2 with AES-GCM is refused")
    check(openssl_connects(hub, "-tls1_3"), "TLS 1.3 is refused")
    for suite in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384",
                  "AES128-SHA"):
        check(not openssl_connects(hub, "-tls1_2", "-cipher", suite),
              "a TLS 1.2 handshake with %s succeeded" % suite)
    check(not openssl_connects(hub, "-tls1_1"), "TLS 1.1 succeeded")


def test_oversized_body_is_refused_at_once(t):
    hub = t.hub(tls=False)
    s = socket.create_connection(("127.0.0.1", hub.port), timeout=5)
    t0 = time.monotonic()
    s.sendall(b"POST /api/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: "
              b"Bearer " + hub.token.encode() + b"\r\nContent-Type: "
              b"application/json\r\nContent-Length: 100000000\r\n\r\n{")
    data = s.recv(4096)
    took = time.monotonic() - t0
    s.close()
    check(data.startswith(b"HTTP/1.1 413"), "reply: %r" % data[:200])
    check(took < 2 * deadline(1), "413 after %.1fs" % took)


def test_wrong_tokens_are_limited_per_address(t):
    hub = t.hub(tls=False)
    t0 = time.monotonic()
    got = {}
    # as fast as one client can for 3 s (at most 20,000 guesses)
    for i in range(20000):
        r = hub.request("GET", "/api/agents", token="t%07d.guess" % i)
        got[r.status] = got.get(r.status, 0) + 1
        if time.monotonic() - t0 > 3:
            break
    took = time.monotonic() - t0
    passed = got.get(401, 0)
    # 10 at once, then 1 a second
    check(passed <= 10 + int(took) + 1 and got.get(429, 0) > 0,
          "wrong guesses in %.1fs: %r" % (took, got))
    # right after a guess that got through (the bucket is empty again,
    # and stays so for a second), the right token is refused too
    for i in range(20000):
        if hub.request("GET", "/api/agents",
                       token="t%07d.again" % i).status == 401:
            break
    r = hub.request("GET", "/api/agents")
    hdr = {k.lower(): v for k, v in r.headers.items()}
    check(r.status == 429 and int(hdr.get("retry-after", "0")) >= 1,
          "a valid token from the blocked address: %r %r" % (r, hdr))
    wait = int(hdr["retry-after"])
    time.sleep(wait + 0.1)
    check(hub.request("GET", "/api/agents").status == 200,
          "the valid token after Retry-After")
    check(hub.request("GET", "/healthz", token=None).status == 200,
          "healthz needs no token and is never blocked")
    t.note("wrong guesses: %d tried, %d got past the limit in %.1fs "
           "(%.1f/s after the burst of 10)" % (sum(got.values()), passed,
                                               took, (passed - 10) / took))


def guesses(hub, xff, n=15):
    """n wrong tokens with this X-Forwarded-For; the statuses seen."""
    got = {}
    for i in range(n):
        r = hub.request("GET", "/api/agents", token="t%07d.guess" % i,
                        headers={"X-Forwarded-For": xff(i)})
        got[r.status] = got.get(r.status, 0) + 1
    return got


def test_forwarded_for_counts_only_from_trusted_proxies(t):
    # Not trusted (the default): the header changes nothing, so a client
    # cannot escape the limit by writing it.
    hub = t.hub(tls=False)
    got = guesses(hub, lambda i: "10.0.0.%d" % (i + 1))
    check(got.get(429, 0) > 0, "X-Forwarded-For escaped the limit: %r"
          % got)

    # Behind a trusted proxy: the client is the last address the proxy
    # saw, so one bad client does not lock out the others, and what a
    # client writes on the left of the header changes nothing.
    conf = t.write("proxy.conf", "# nginx on this machine\n"
                   "trusted_proxies = 127.0.0.1, ::1, 192.168.0.0/16\n")
    hub2 = t.hub(tls=False, name="hub-proxied", extra=["--config", conf])
    got = guesses(hub2, lambda i: "1.1.1.%d, 10.0.0.66" % (i + 1))
    check(got.get(429, 0) > 0, "10.0.0.66 was not limited: %r" % got)
    got = guesses(hub2, lambda i: "10.0.0.66, 192.168.1.1")
    check(set(got) == {429}, "the client behind a second trusted proxy "
          "was not the same client: %r" % got)
    r = hub2.request("GET", "/api/agents",
                     headers={"X-Forwarded-For": "10.0.0.77"})
    check(r.status == 200, "another client behind the proxy: %r" % r)
    check("10.0.0.66" in hub2.log(), "the log does not name the client")

    bad = t.write("bad.conf", "\ntrusted_proxies = 10.0.0.0/33\n")
    r = t.run([binary("maestro-hub"), "--config", bad, "--data",
               t.mkdir("bad"), "--listen", "127.0.0.1:1"], timeout=10)
    check(r.rc == 2 and "%s:2" % bad in r.err and "10.0.0.0/33" in r.err,
          "bad trusted_proxies: %r" % r)
