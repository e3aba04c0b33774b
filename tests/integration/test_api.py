"""The REST API's authentication, roles and error shapes (docs/api.md)."""

from mtest import check, wait_until


def check_error(r, status, code, what):
    check(r.status == status, "%s: HTTP %d, expected %d: %r"
          % (what, r.status, status, r.body[:300]))
    doc = r.json()
    check(isinstance(doc, dict) and doc.get("code") == code
          and isinstance(doc.get("error"), str) and doc["error"],
          "%s: error body %r, expected code %r" % (what, doc, code))


def test_api_requires_token(t):
    hub = t.hub()
    r = hub.request("GET", "/healthz", token=None)
    check(r.status == 200, "/healthz without a token: %r" % r)
    for path in ("/api/agents", "/api/events", "/api/enroll-keys",
                 "/api/tokens", "/api/agents/x", "/api/commands/c-1"):
        check_error(hub.request("GET", path, token=None), 401,
                    "unauthorized", "GET %s without a token" % path)
    check_error(hub.request("POST", "/api/enroll-keys", body={}, token=None),
                401, "unauthorized", "POST /api/enroll-keys without a token")
    tok_id, secret = hub.token.rsplit(".", 1)
    flipped = secret[:-1] + ("0" if secret[-1] != "0" else "1")
    for bad, what in (("tnope.0123456789abcdef", "an unknown token"),
                      ("garbage", "a token without a dot"),
                      ("", "an empty token"),
                      (tok_id + "." + flipped, "the admin token id with a "
                       "wrong secret"),
                      (tok_id + ".", "the admin token id alone"),
                      (tok_id, "the admin token id without a dot"),
                      (hub.token + "0", "the admin token with a byte more"),
                      (hub.token[:-1], "the admin token with a byte less")):
        check_error(hub.request("GET", "/api/agents", token=bad), 401,
                    "unauthorized", "GET /api/agents with %s" % what)
    r = hub.request("GET", "/api/agents", token=None,
                    headers={"Authorization": "Basic " + hub.token})
    check_error(r, 401, "unauthorized", "a Basic authorization header")
    r = hub.request("GET", "/api/agents")
    check(r.status == 200, "the admin token is refused: %r" % r)


def test_api_roles(t):
    hub = t.hub()
    viewer = hub.create_token("viewer", "v")
    operator = hub.create_token("operator", "o")
    check(hub.request("GET", "/api/agents", token=viewer).status == 200,
          "viewer cannot read agents")
    check_error(hub.request("POST", "/api/enroll-keys", body={},
                            token=viewer), 403, "forbidden",
                "viewer creating an enrollment key")
    check_error(hub.request("POST", "/api/agents/x/command",
                            body={"type": "shell", "cmd": "true"},
                            token=viewer), 403, "forbidden",
                "viewer sending a command")
    check_error(hub.request("POST", "/api/tokens", body={"role": "admin"},
                            token=operator), 403, "forbidden",
                "operator creating an admin token")
    check_error(hub.request("POST", "/api/enroll-keys", body={},
                            token=operator), 403, "forbidden",
                "operator creating an enrollment key")
    # a revoked token stops working
    doc = hub.api("GET", "/api/tokens")
    vid = [x["id"] for x in doc["tokens"] if x.get("name") == "v"]
    check(vid, "viewer token not listed: %r" % doc)
    hub.api("DELETE", "/api/tokens/" + vid[0])
    check_error(hub.request("GET", "/api/agents", token=viewer), 401,
                "unauthorized", "a revoked token")
    # no secret is listed
    listing = hub.request("GET", "/api/tokens").body.decode()
    for tok in (viewer, operator, hub.token):
        check(tok.rsplit(".", 1)[1] not in listing,
              "GET /api/tokens shows a token's secret")


def test_api_errors(t):
    hub = t.hub()
    check_error(hub.request("GET", "/api/no-such-thing"), 404, "not_found",
                "an unknown path")
    check_error(hub.request("GET", "/api/agents/nobody"), 404, "not_found",
                "an unknown agent")
    check_error(hub.request("DELETE", "/api/agents"), 405,
                "method_not_allowed", "DELETE /api/agents")
    check_error(hub.request("POST", "/api/enroll-keys", raw=b"{not json",
                            headers={"Content-Type": "application/json"}),
                400, "bad_request", "a body that is not JSON")
    check_error(hub.request("POST", "/api/tokens", body={"role": "king"}),
                400, "bad_request", "an unknown role")
    big = b'{"uses":1,"pad":"' + b"x" * (70 * 1024) + b'"}'
    check_error(hub.request("POST", "/api/enroll-keys", raw=big,
                            headers={"Content-Type": "application/json"}),
                413, "too_large", "a 70 KiB body")
    r = hub.request("GET", "/healthz", token=None)
    check(r.status == 200, "hub unwell after bad requests: %r" % r)


def test_changes_to_access_are_audited(t):
    import signal
    from mtest import wait_until
    conf = t.write("hub.conf", "api_rate = 1000\n")
    hub = t.hub(extra=["--config", conf])
    ops = hub.api("POST", "/api/tokens", {"role": "operator", "name": "ci"},
                  expect=201)
    hub.api("DELETE", "/api/tokens/" + ops["id"])
    key = hub.create_key_doc(uses=2)
    hub.api("DELETE", "/api/enroll-keys/" + key["id"])
    check(hub.request("GET", "/api/backup").status == 200, "backup")
    hub.proc.signal(signal.SIGHUP)

    def audits():
        return {e.get("to"): e.get("detail", "") for e in hub.events()
                if e.get("type") == "audit"}
    got = wait_until(lambda: (lambda a: a if len(a) >= 6 else None)(
        audits()), 10, "six audit events")
    for action, what in (("token_create", ops["id"]),
                         ("token_revoke", ops["id"]),
                         ("key_create", key["id"]),
                         ("key_revoke", key["id"]),
                         ("backup", "backup"),
                         ("config_reload", "SIGHUP")):
        check(what in got.get(action, ""), "audit %s: %r" % (action, got))
        if action != "config_reload":
            check("by admin" in got[action], "no actor in %r" % got[action])
    check(ops["token"] not in str(got) and key["key"] not in str(got),
          "a secret in the audit events")


def test_events_paged_from_the_store(t):
    # More events than the hub ever kept in memory, read back page by page
    # from the store, across a restart: ids only grow, no page repeats or
    # skips one, after=ID resumes exactly where a client left off.
    hub = t.hub(tls=False)
    made = 1100
    for i in range(made):
        hub.api("POST", "/api/enroll-keys", {"uses": 1}, expect=201)
    seen, before = [], None
    for _ in range(10):
        q = "/api/events?type=audit&limit=400" + (
            "&before=%d" % before if before else "")
        doc = hub.api("GET", q)
        page = doc["events"]
        seen += page
        if not doc.get("more"):
            break
        before = page[-1]["id"]
    ids = [e["id"] for e in seen]
    check(len(seen) == made and all(e["to"] == "key_create" for e in seen),
          "paged back %d audit events, expected %d key_create" %
          (len(seen), made))
    check(ids == sorted(ids, reverse=True) and len(set(ids)) == made,
          "ids not strictly newest first: %r..." % ids[:10])
    mark = ids[9]
    doc = hub.api("GET", "/api/events?after=%d&limit=1000" % mark)
    after = [e["id"] for e in doc["events"]]
    check(after == sorted(ids[:9]), "after=%d gave %r, expected %r"
          % (mark, after, sorted(ids[:9])))

    hub.stop()
    hub.start()
    hub.api("POST", "/api/enroll-keys", {"uses": 1}, expect=201)
    doc = hub.api("GET", "/api/events?after=%d" % ids[0])
    new = doc["events"]
    check(len(new) == 1 and new[0]["id"] > ids[0]
          and new[0]["to"] == "key_create",
          "after a restart, after=%d gave %r" % (ids[0], new))
    r = hub.request("GET", "/api/events?before=5&after=2")
    check_error(r, 400, "bad_request", "before and after together")
    r = hub.request("GET", "/api/events?before=x")
    check_error(r, 400, "bad_request", "before=x")


def test_healthz_counts_follow_the_fleet(t):
    """/healthz's online and connected counts are kept as agents change
    (it needs no token, so it never walks the agents): they follow
    connects, a listener leaving and a hub restart with agents restored."""
    hub = t.hub()

    def counts():
        r = hub.request("GET", "/healthz", token=None, pin=False)
        doc = r.json()
        return (doc["agents"], doc["online"], doc["connected"])

    a, b = t.enrolled(hub, ["pc-h1", "pc-h2"])
    wait_until(lambda: counts() == (2, 2, 2), 10, "2 online, 2 connected")
    a.stop()            # SIGTERM: bye, offline
    hub.wait_status("pc-h1", "offline", 10)
    wait_until(lambda: counts() == (2, 1, 1), 10, "1 online, 1 connected")
    hub.stop()
    hub.start()         # pc-h2 restored online, then back on its own
    wait_until(lambda: hub.agent("pc-h2")["connected"], 30, "pc-h2 back")
    wait_until(lambda: counts() == (2, 1, 1), 10, "after the restart")
    b.stop()
