"""Web Push to the dashboard's browsers (RFC 8030 delivery, RFC 8291
encryption, RFC 8292 VAPID).

A real local HTTP server (pushserve.py) stands in for the push service;
its Subscriber is the browser's side: it holds the subscription's private
key and auth secret, decrypts what the hub sent and verifies the VAPID
token with the hub's public key (GET /api/push/key).  The stand-in speaks
http:// on loopback, which the hub allows only with push_allow_insecure.
Listeners are real and are made silent with SIGSTOP, so the hub alone
decides when an agent is critical."""

import json
import os
import signal
import stat
import time

import mtest
import pushserve
from mtest import check, fail, wait_until

HB = 0.2
MISS = 3


def push_hub(t, insecure=True, extra=""):
    text = ("push_allow_insecure = yes\n" if insecure else "") + \
        "push_subject = mailto:ops@example.com\n" + extra
    path = t.write("hub.conf", text, mode=0o600)
    return t.hub(heartbeat=HB, miss=MISS, extra=["--config", path])


def subscribe(hub, sub, token=None, expect=201):
    kw = {} if token is None else {"token": token}
    return hub.api("POST", "/api/push/subscriptions", sub.json(),
                   expect=expect, **kw)


def subs(hub, token=None):
    kw = {} if token is None else {"token": token}
    doc = hub.api("GET", "/api/push/subscriptions", **kw)
    return doc["subscriptions"]


def payload_of(svc, sub, name, since, n=1, timeout=5):
    reqs = wait_until(lambda: (lambda r: r if len(r) >= n else None)(
        svc.got(name, since)), timeout, "%d push(es) to %s" % (n, name))
    return reqs, [json.loads(sub.decrypt(r.body)) for r in reqs]


def events_of(hub, type_, to=None):
    return [e for e in hub.events() if e["type"] == type_ and
            (to is None or e["to"] == to)]


def test_push_alert_decrypts_and_vapid_verifies(t):
    svc = pushserve.start(t)
    hub = push_hub(t)
    key = hub.api("GET", "/api/push/key")["key"]
    pem = os.path.join(hub.data, "vapid.pem")
    check(stat.S_IMODE(os.stat(pem).st_mode) == 0o600, "vapid.pem mode")
    viewer = hub.create_token("viewer", "phone")
    sub = pushserve.Subscriber(svc.endpoint("dev1"))
    doc = subscribe(hub, sub, token=viewer)
    check(doc["id"].startswith("p-") and doc["name"] == "phone" and
          doc["service"] == svc.origin, "subscription: %r" % doc)
    check("push/dev1" not in json.dumps(subs(hub)),
          "the endpoint (a capability) is listed whole")
    (lst,) = t.enrolled(hub, ["pc-push"])
    since = time.monotonic()
    lst.signal(signal.SIGSTOP)
    reqs, pls = payload_of(svc, sub, "dev1", since)
    p, h = pls[0], reqs[0].headers
    check(p["title"] == "CRITICAL: pc-push" and p["agent"] == "pc-push" and
          p["url"] == "/#/agent/pc-push" and p["severity"] == "critical" and
          "is CRITICAL" in p["body"], "payload: %r" % p)
    check(h.get("Content-Encoding") == "aes128gcm" and
          h.get("Urgency") == "high" and int(h.get("TTL", "0")) > 0,
          "headers: %r" % h)
    c = pushserve.vapid_check(h, key, svc.origin)
    check(c["sub"] == "mailto:ops@example.com", "sub: %r" % c)
    ev = wait_until(lambda: [e for e in events_of(hub, "delivery", "sent")
                             if e["from"] == "push"], 5, "a push event")
    check(doc["id"] in ev[0]["detail"], "event names the subscription")
    # the key and the subscription outlive a restart
    hub.stop()
    hub.start()
    check(hub.api("GET", "/api/push/key")["key"] == key, "a new VAPID key")
    wait_until(lambda: [s for s in subs(hub) if s["id"] == doc["id"]], 5,
               "the subscription restored from the store")
    since = time.monotonic()
    lst.signal(signal.SIGCONT)
    reqs, pls = payload_of(svc, sub, "dev1", since, timeout=10)
    check(pls[0]["title"] == "RECOVERED: pc-push" and
          reqs[0].headers.get("Urgency") == "normal", "recovery: %r" % pls)
    pushserve.vapid_check(reqs[0].headers, key, svc.origin)


def test_push_gone_removes_the_subscription(t):
    svc = pushserve.start(t)
    hub = push_hub(t)
    gone = pushserve.Subscriber(svc.endpoint("gone"))
    kept = pushserve.Subscriber(svc.endpoint("kept"))
    g = subscribe(hub, gone)
    subscribe(hub, kept)
    svc.plan("gone", ["410"])
    (lst,) = t.enrolled(hub, ["pc-gone"])
    since = time.monotonic()
    lst.signal(signal.SIGSTOP)
    payload_of(svc, kept, "kept", since)
    wait_until(lambda: g["id"] not in [s["id"] for s in subs(hub)], 5,
               "the gone subscription removed")
    ev = wait_until(lambda: events_of(hub, "push", "removed"), 5,
                    "a push removed event")
    check(g["id"] in ev[0]["detail"] and "410" in ev[0]["detail"],
          "event: %r" % ev[0])
    check(len(subs(hub)) == 1, "the other subscription is kept")
    since = time.monotonic()
    lst.signal(signal.SIGCONT)
    payload_of(svc, kept, "kept", since)
    check(not svc.got("gone", since), "a removed subscription got a push")


def test_push_429_and_500_are_retried(t):
    svc = pushserve.start(t)
    hub = push_hub(t)
    sub = pushserve.Subscriber(svc.endpoint("flaky"))
    subscribe(hub, sub)
    svc.plan("flaky", [("429", 1), "500", "ok"])
    (lst,) = t.enrolled(hub, ["pc-retry"])
    since = time.monotonic()
    lst.signal(signal.SIGSTOP)
    reqs, pls = payload_of(svc, sub, "flaky", since, n=3, timeout=10)
    check(all(p["title"] == "CRITICAL: pc-retry" for p in pls),
          "each try decrypts: %r" % pls)
    check(reqs[1].mono - reqs[0].mono >= 0.9, "Retry-After: 1 honoured")
    ev = wait_until(lambda: (lambda e: e if any(x["to"] == "sent" for x in e)
                             else None)([e for e in events_of(hub, "delivery")
                                         if e["from"] == "push"]), 5,
                    "push delivery events")
    check(sorted(e["to"] for e in ev) == ["retried", "retried", "sent"],
          "events: %r" % [e["to"] for e in ev])
    check(len(subs(hub)) == 1, "a retried subscription is kept")


def test_push_bad_subscriptions_are_refused(t):
    svc = pushserve.start(t)
    hub = push_hub(t, insecure=False)
    good = pushserve.Subscriber(svc.endpoint("x")).json()

    def refused(body, word):
        r = hub.request("POST", "/api/push/subscriptions", body=body)
        check(r.status == 400 and word in r.body.decode(),
              "%r: HTTP %d %r" % (body, r.status, r.body[:300]))

    refused(good, "https://")       # http:// without push_allow_insecure
    https = dict(good, endpoint="https://push.example.com/x")
    refused(dict(https, keys={"auth": good["keys"]["auth"]}), "p256dh")
    refused(dict(https, keys={"p256dh": "AAAA", "auth": good["keys"][
        "auth"]}), "P-256")
    bad_point = "BA" + "A" * 85    # 65 bytes, not on the curve
    refused(dict(https, keys={"p256dh": bad_point,
                              "auth": good["keys"]["auth"]}), "P-256")
    refused(dict(https, keys={"p256dh": good["keys"]["p256dh"],
                              "auth": "AAAA"}), "16 bytes")
    refused(dict(https, endpoint="ftp://x/y"), "https://")
    refused(dict(https, endpoint="https:///nohost"), "host")
    refused(dict(https, endpoint="https://a b/c"), "space")
    refused(dict(https, endpoint="https://x/" + "a" * 2000), "1024")
    refused({"keys": good["keys"]}, "endpoint")
    r = hub.request("POST", "/api/push/subscriptions", raw=b"{nope",
                    headers={"Content-Type": "application/json"})
    check(r.status == 400, "malformed JSON: HTTP %d" % r.status)
    check(subs(hub) == [], "nothing was stored")
    # https:// is taken (no push is made here); ten per token at most
    for i in range(10):
        sub = pushserve.Subscriber("https://push.example.com/%d" % i)
        subscribe(hub, sub)
    r = hub.request("POST", "/api/push/subscriptions",
                    body=pushserve.Subscriber("https://p.example/11").json())
    check(r.status == 409, "the 11th subscription: HTTP %d" % r.status)
    # the same browser again updates its subscription
    again = dict(pushserve.Subscriber("https://x").json(),
                 endpoint="https://push.example.com/3")
    doc = hub.api("POST", "/api/push/subscriptions", again)
    check(len(subs(hub)) == 10 and doc["id"] in [s["id"] for s in subs(hub)],
          "a resubscription is one subscription")


def test_push_subscriptions_are_per_token(t):
    svc = pushserve.start(t)
    hub = push_hub(t)
    a = hub.create_token("viewer", "alice")
    b = hub.create_token("viewer", "bob")
    sa = subscribe(hub, pushserve.Subscriber(svc.endpoint("a")), token=a)
    sb = subscribe(hub, pushserve.Subscriber(svc.endpoint("b")), token=b)
    check([s["id"] for s in subs(hub, a)] == [sa["id"]], "alice sees hers")
    check([s["id"] for s in subs(hub, b)] == [sb["id"]], "bob sees his")
    check(sorted(s["id"] for s in subs(hub)) == sorted([sa["id"], sb["id"]]),
          "the admin sees all")
    r = hub.request("DELETE", "/api/push/subscriptions/" + sa["id"], token=b)
    check(r.status == 404, "bob deletes alice's: HTTP %d" % r.status)
    check(len(subs(hub)) == 2, "still two")
    hub.api("DELETE", "/api/push/subscriptions/" + sa["id"], token=a)
    check(subs(hub, a) == [], "alice revoked hers")
    check(any(e["to"] == "push_revoke" for e in events_of(hub, "audit")),
          "the revocation is audited")
    # a revoked token's subscriptions get nothing more
    admin_sub = pushserve.Subscriber(svc.endpoint("c"))
    subscribe(hub, admin_sub)
    bid = b.split(".")[0]
    hub.api("DELETE", "/api/tokens/" + bid)
    (lst,) = t.enrolled(hub, ["pc-tok"])
    since = time.monotonic()
    lst.signal(signal.SIGSTOP)
    # the same alert goes to a device of a valid token: once it is there,
    # bob's had its turn
    payload_of(svc, admin_sub, "c", since)
    check(not svc.got("b", since), "a revoked token's device got a push")


def test_push_dashboard_control_in_chromium(t):
    import test_browser
    test_browser.need_tools()
    svc = pushserve.start(t)
    conf = t.write("hub.conf", "push_allow_insecure = yes\n")
    # plain HTTP on 127.0.0.1: a secure context, where a service worker
    # may register without a certificate the browser trusts
    hub = t.hub(tls=False, extra=["--config", conf, "--dashboard",
                                  os.path.join(mtest.ROOT, "dashboard")])
    viewer = hub.create_token("viewer", "browser")
    mine = [subscribe(hub, pushserve.Subscriber(svc.endpoint("m%d" % i)),
                      token=viewer)["id"] for i in range(2)]
    other = subscribe(hub, pushserve.Subscriber(svc.endpoint("o")))["id"]
    r = hub.request("GET", "/sw.js", token=None)
    check(r.status == 200 and r.headers.get("content-type", "").startswith(
        "text/javascript"), "GET /sw.js: %d %r" % (r.status, r.headers))
    cfg = {"url": "http://%s" % hub.hostport, "token": viewer,
           "chromium": test_browser.CHROMIUM, "mine": mine, "other": other}
    cfg_path = t.write("push.json", json.dumps(cfg), mode=0o600)
    r = t.run(["node", os.path.join(mtest.ROOT, "tests", "browser",
                                    "push.mjs"), cfg_path], timeout=100)
    try:
        doc = json.loads(r.out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        fail("push.mjs printed no result (exit %s): %s" % (r.rc, r.err[-2000:]))
    for line in doc.get("checks", []):
        t.note(line)
    check(r.rc == 0 and doc.get("ok"), "the browser test failed: %s\n%s"
          % (doc.get("error"), "\n".join(doc.get("checks", []))))
    left = [s["id"] for s in subs(hub)]
    check(mine[0] not in left and mine[1] in left and other in left,
          "the revoke reached the hub: %r" % left)
    print("    browser: subscribe in headless Chromium: %s (posted: %s)"
          % (doc.get("subscribe"), doc.get("posted")), flush=True)


test_push_dashboard_control_in_chromium.time_limit = 120
