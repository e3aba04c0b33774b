"""Every REST endpoint against every role, and every error status.

The contract's HTTP section and docs/api.md: viewer reads, operator also
sends commands, admin also manages tokens and keys; errors are
{"error","code"} with 400, 401, 403, 404, 405, 409, 413 and 429 where they
fit.  Also: the dashboard's static files cannot be used to leave the
dashboard directory (/../, encoded dots, symlinks), and no token appears
in the hub's log.
"""

import http.client
import os
import socket
import ssl
import time

import mtest
from mtest import check

ROLES = ("viewer", "operator", "admin")
LEVEL = {None: 0, "viewer": 1, "operator": 2, "admin": 3}


def check_error(r, status, code, what):
    check(r.status == status, "%s: HTTP %d, expected %d: %r"
          % (what, r.status, status, r.body[:300]))
    doc = r.json()
    check(isinstance(doc, dict) and doc.get("code") == code
          and isinstance(doc.get("error"), str) and doc["error"],
          "%s: error body %r, expected code %r" % (what, doc, code))


def world(t, **hub_kw):
    """A hub, one agent online with a finished command, and one token per
    role."""
    hub = t.hub(**hub_kw)
    t.enrolled(hub, ["pc-a"], tags=["lab"])
    cid = hub.command("pc-a", {"type": "shell", "cmd": "echo hi"})
    hub.wait_command(cid)
    toks = {r: hub.create_token(r, "t-" + r) for r in ROLES}
    return hub, cid, toks


def endpoints(hub, cid):
    """(method, path, body, role needed, status when allowed).  Bodies and
    ids that an allowed call uses up are made fresh by the callables."""
    a = "/api/agents/pc-a"

    def new_key():
        return "/api/enroll-keys/" + hub.create_key_doc()["id"]

    def new_token():
        doc = hub.api("POST", "/api/tokens", {"role": "viewer"}, expect=201)
        return "/api/tokens/" + doc["id"]

    shell = {"type": "shell", "cmd": "true"}
    queued = {"queue": "1h"}
    return [
        ("GET", "/healthz", None, None, 200),
        ("GET", "/metrics", None, "viewer", 200),
        ("GET", "/api/agents", None, "viewer", 200),
        ("GET", a, None, "viewer", 200),
        ("GET", a + "/history?range=1h", None, "viewer", 200),
        ("GET", a + "/history?range=24h", None, "viewer", 200),
        ("GET", a + "/history?range=7d", None, "viewer", 200),
        ("POST", a + "/command", shell, "operator", 202),
        # queued on a stopped agent, so they never run here
        ("POST", "/api/agents/pc-gone/restart", queued, "operator", 202),
        ("POST", "/api/agents/pc-gone/stop", queued, "operator", 202),
        ("POST", "/api/agents/pc-gone/screenshot", queued, "operator", 202),
        ("GET", "/api/commands", None, "viewer", 200),
        ("GET", "/api/commands?agent=pc-a&limit=5", None, "viewer", 200),
        ("POST", "/api/commands", dict(shell, target={"tag": "lab"}),
         "operator", 202),
        ("GET", "/api/commands/" + cid, None, "viewer", 200),
        ("GET", "/api/commands/%s/stream" % cid, None, "viewer", 200),
        ("GET", "/api/commands/%s/png" % cid, None, "viewer", 404),
        ("GET", "/api/events", None, "viewer", 200),
        ("POST", "/api/enroll-keys", {"uses": 1}, "admin", 201),
        ("GET", "/api/enroll-keys", None, "admin", 200),
        ("DELETE", new_key, None, "admin", 200),
        ("POST", "/api/tokens", {"role": "viewer"}, "admin", 201),
        ("GET", "/api/tokens", None, "admin", 200),
        ("DELETE", new_token, None, "admin", 200),
    ]


def test_every_endpoint_by_role(t):
    hub, cid, toks = world(t)
    # an agent that is gone (said goodbye): commands wait for it (queue)
    gone = t.listener(hub, "pc-gone", key=hub.create_key(), wait_online=True)
    gone.stop()
    hub.wait_status("pc-gone", "offline")
    rows = endpoints(hub, cid)
    for method, path, body, need, ok in rows:
        for who in (None,) + ROLES:
            p = path() if callable(path) else path
            tok = toks[who] if who else None
            r = hub.request(method, p, body=body, token=tok)
            what = "%s %s as %s" % (method, p, who or "nobody")
            if LEVEL[who] >= LEVEL[need]:
                check(r.status == ok, "%s: HTTP %d, expected %d: %r"
                      % (what, r.status, ok, r.body[:300]))
            elif who is None:
                check_error(r, 401, "unauthorized", what)
            else:
                check_error(r, 403, "forbidden", what)
    t.note("%d endpoints x %d callers" % (len(rows), 4))


def test_routes_of_other_modules_need_their_role(t):
    """Routes whose bodies belong to other modules (alerts, silences,
    backup, hubs): a token below the role is refused, a token with it is not."""
    hub, _, toks = world(t)
    rows = [("POST", "/api/alerts/test", {}, "admin"),
            ("GET", "/api/silences", None, "viewer"),
            ("POST", "/api/silences", {}, "operator"),
            ("DELETE", "/api/silences/nope", None, "operator"),
            ("GET", "/api/backup", None, "admin"),
            ("GET", "/api/hubs", None, "viewer")]
    for method, path, body, need in rows:
        r = hub.request(method, path, body=body, token=toks["admin"])
        if r.status == 404 and b"no such endpoint" in r.body:
            t.note("%s %s: not in this hub yet" % (method, path))
            continue
        for who in (None,) + ROLES:
            r = hub.request(method, path, body=body,
                            token=toks[who] if who else None)
            what = "%s %s as %s" % (method, path, who or "nobody")
            if who is None:
                check_error(r, 401, "unauthorized", what)
            elif LEVEL[who] < LEVEL[need]:
                check_error(r, 403, "forbidden", what)
            else:
                check(r.status not in (401, 403) and r.status < 500,
                      "%s: HTTP %d: %r" % (what, r.status, r.body[:200]))


def test_error_statuses(t):
    hub, cid, toks = world(t)
    op = toks["operator"]
    # 400: a body that is not JSON, not an object, a bad field
    for raw, what in ((b"{nope", "a body that is not JSON"),
                      (b"[1,2]", "a body that is not an object")):
        r = hub.request("POST", "/api/agents/pc-a/command", raw=raw, token=op,
                        headers={"Content-Type": "application/json"})
        check_error(r, 400, "bad_request", what)
    for body, what in (({"type": "nope"}, "an unknown command type"),
                       ({"type": "shell"}, "shell without cmd"),
                       ({"type": "shell", "cmd": "x", "timeout": -1},
                        "a negative timeout"),
                       ({"type": "docker_restart"}, "docker_restart without "
                        "arg")):
        check_error(hub.request("POST", "/api/agents/pc-a/command",
                                body=body, token=op), 400, "bad_request",
                    what)
    check_error(hub.request("GET", "/api/agents/pc-a/history?range=2d"),
                400, "bad_request", "an unknown history range")
    check_error(hub.request("GET", "/api/events?limit=0"), 400,
                "bad_request", "limit 0")
    check_error(hub.request("POST", "/api/tokens", body={"role": "root"}),
                400, "bad_request", "an unknown role")
    # 401 and 403
    check_error(hub.request("GET", "/api/agents", token="t0.nope"), 401,
                "unauthorized", "an unknown token")
    check_error(hub.request("POST", "/api/agents/pc-a/stop", body={},
                            token=toks["viewer"]), 403, "forbidden",
                "a viewer stopping an agent")
    # 404: unknown agent, command, key, token, path
    for method, path, body in (
            ("GET", "/api/agents/nobody", None),
            ("GET", "/api/agents/nobody/history", None),
            ("POST", "/api/agents/nobody/command",
             {"type": "shell", "cmd": "true"}),
            ("POST", "/api/agents/nobody/screenshot", {}),
            ("GET", "/api/commands/c-0000000000000000", None),
            ("GET", "/api/commands/c-0000000000000000/stream", None),
            ("DELETE", "/api/enroll-keys/knope", None),
            ("DELETE", "/api/tokens/tnope", None),
            ("GET", "/api/nothing-here", None)):
        check_error(hub.request(method, path, body=body), 404, "not_found",
                    "%s %s" % (method, path))
    # 405
    check_error(hub.request("PUT", "/api/agents", body={}), 405,
                "method_not_allowed", "PUT /api/agents")
    # 409: an agent that is not online
    lst = t.listener(hub, "pc-off", key=hub.create_key(), wait_online=True)
    lst.stop()
    hub.wait_status("pc-off", "offline")
    check_error(hub.request("POST", "/api/agents/pc-off/command",
                            body={"type": "shell", "cmd": "true"}, token=op),
                409, "not_online", "a command for an offline agent")
    check_error(hub.request("POST", "/api/agents/pc-off/restart", body={},
                            token=op), 409, "not_online",
                "restart of an offline agent")
    # 413: a body over 64 KiB, with or without a Content-Length
    big = b'{"type":"shell","cmd":"' + b"x" * (70 * 1024) + b'"}'
    check_error(hub.request("POST", "/api/agents/pc-a/command", raw=big,
                            token=op), 413, "too_large", "a 70 KiB body")
    check(hub.request("GET", "/healthz", token=None).status == 200,
          "the hub is not healthy after the refusals")
    check(hub.token.split(".")[1] not in hub.log(),
          "the hub logged the admin token")
    for tok in toks.values():
        check(tok.split(".")[1] not in hub.log(), "the hub logged a token")


def test_rate_limit_per_token(t):
    hub = t.hub(extra=["--api-rate", "2", "--api-burst", "5"])
    a = hub.create_token("viewer", "a")
    b = hub.create_token("viewer", "b")
    statuses = [hub.request("GET", "/api/agents", token=a).status
                for _ in range(8)]
    check(statuses[:4] == [200] * 4, "the first requests of a burst were "
          "refused: %r" % statuses)
    check(429 in statuses, "8 requests at once with burst 5 were all "
          "served: %r" % statuses)
    r = hub.request("GET", "/api/agents", token=a)
    check_error(r, 429, "rate_limited", "over the rate")
    retry = r.headers.get("retry-after") or r.headers.get("Retry-After")
    check(retry and retry.isdigit() and 1 <= int(retry) <= 5,
          "429 without a sensible Retry-After: %r" % r.headers)
    # another token has its own bucket
    check(hub.request("GET", "/api/agents", token=b).status == 200,
          "a second token was limited by the first one's requests")
    # the bucket refills at the rate
    time.sleep(int(retry) + 0.1)
    check(hub.request("GET", "/api/agents", token=a).status == 200,
          "the token is still limited after Retry-After")
    m = hub.request("GET", "/metrics").body.decode()
    check("maestro_api_rate_limited_total " in m and
          "maestro_api_rate_limited_total 0\n" not in m,
          "/metrics does not count the refusals")


# ---- the dashboard's files ----

def raw_get(hub, path):
    """GET path exactly as written (no client-side normalisation)."""
    s = socket.create_connection(("127.0.0.1", hub.port), timeout=5)
    if hub.tls:
        s = mtest.tls_client_context().wrap_socket(s)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
                   "close\r\n\r\n" % path).encode())
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ssl.SSLError, ConnectionError):
                break
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head = data.split(b"\r\n", 1)[0].decode("latin-1")
    status = int(head.split()[1]) if head.startswith("HTTP/") else 0
    return status, data


def test_static_files_stay_inside_the_dashboard(t):
    secret = "TOPSECRET-%d" % os.getpid()
    outside = t.mkdir("outside")
    with open(os.path.join(outside, "secret.txt"), "w") as f:
        f.write(secret)
    dash = t.mkdir("dash")
    os.makedirs(os.path.join(dash, "js"))
    with open(os.path.join(dash, "index.html"), "w") as f:
        f.write("<!doctype html><title>x</title>")
    with open(os.path.join(dash, "js", "a.js"), "w") as f:
        f.write("// a")
    os.symlink(os.path.join(outside, "secret.txt"),
               os.path.join(dash, "link.txt"))
    os.symlink(outside, os.path.join(dash, "linkdir"))
    hub = t.hub(extra=["--dashboard", dash])
    status, _ = raw_get(hub, "/js/a.js")
    check(status == 200, "GET /js/a.js: %d" % status)
    rel = os.path.relpath(os.path.join(outside, "secret.txt"), dash)
    tries = ["/link.txt", "/linkdir/secret.txt", "/" + rel,
             "/js/../" + rel, "/../outside/secret.txt",
             "/%2e%2e/outside/secret.txt", "/js/%2e%2e/%2e%2e/outside/"
             "secret.txt", "/..%2foutside%2fsecret.txt",
             "/%2E%2E%2F%2E%2E%2Foutside%2Fsecret.txt", "//etc/passwd",
             "/js/..%252f..%252foutside/secret.txt", "/../../../etc/passwd",
             "/js/./../../outside/secret.txt", "/.%2e/outside/secret.txt"]
    for p in tries:
        status, data = raw_get(hub, p)
        check(status != 200 and secret.encode() not in data and
              b"root:" not in data, "GET %s: HTTP %d served %r"
              % (p, status, data[:200]))
    check(hub.request("GET", "/healthz", token=None).status == 200,
          "the hub is not healthy after the traversal attempts")


def test_oversized_bodies_refused_everywhere(t):
    hub = t.hub()
    big = b"x" * (65 * 1024)
    for method, path in (("POST", "/api/tokens"),
                         ("POST", "/api/enroll-keys"),
                         ("POST", "/api/agents/x/command"),
                         ("DELETE", "/api/tokens/x")):
        check_error(hub.request(method, path, raw=big), 413, "too_large",
                    "%s %s with 65 KiB" % (method, path))
    # a fan-out carries a signed envelope per agent: an operator may send
    # 8 MiB, a viewer no more than anywhere else
    viewer = hub.create_token("viewer")
    check_error(hub.request("POST", "/api/commands", raw=big, token=viewer),
                413, "too_large", "a viewer's fan-out with 65 KiB")
    check_error(hub.request("POST", "/api/commands",
                            raw=b"x" * (8 * 1024 * 1024 + 1)),
                413, "too_large", "a fan-out over 8 MiB")
    r = hub.request("POST", "/api/commands", raw=big)
    check(r.status == 400, "an admin's 65 KiB fan-out is read (then found "
          "malformed): HTTP %d" % r.status)
    # a body that claims to be huge is refused before it is read
    conn = http.client.HTTPSConnection("127.0.0.1", hub.port, timeout=5,
                                       context=mtest.tls_client_context())
    try:
        conn.putrequest("POST", "/api/tokens")
        conn.putheader("Authorization", "Bearer " + hub.token)
        conn.putheader("Content-Length", str(1 << 40))
        conn.endheaders()
        resp = conn.getresponse()
        check(resp.status == 413, "a 1 TiB Content-Length: HTTP %d"
              % resp.status)
    finally:
        conn.close()
