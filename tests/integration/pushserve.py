"""pushserve - a local stand-in for a Web Push service (RFC 8030), and a
browser's side of a subscription, to check what the hub sends.

PushService is one threaded HTTP server on 127.0.0.1 and a random port,
started by a test and stopped in its cleanup.  POST /push/<NAME> is one
subscription's endpoint; every request is recorded (path, headers, body,
arrival time).  Answers can be scripted per endpoint with plan(name,
answers): "ok" (201 Created, as real push services answer), "410", "404",
"500", ("429", N) (with Retry-After: N) or "400"; after the plan, "ok".

Subscriber is the browser: a P-256 key pair and an auth secret, the
PushSubscription JSON the dashboard would post, and decrypt(), which opens
an "aes128gcm" message (RFC 8291 / RFC 8188) with its private key, written
here from the RFCs independently of the hub's C code, so the hub's
encryption is checked, not assumed.  vapid_check() verifies the
Authorization header (RFC 8292): the ES256 signature with the hub's public
key, the audience and the expiry.
"""

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import \
    encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mtest import check, fail


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hmac(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


class Subscriber:
    """One browser's subscription at endpoint."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.pub = self.key.public_key().public_bytes(
            serialization.Encoding.X962,
            serialization.PublicFormat.UncompressedPoint)
        self.auth = hashlib.sha256(self.pub).digest()[:16]

    def json(self):
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64u(self.pub), "auth": b64u(self.auth)}}

    def decrypt(self, body):
        """The plaintext of one aes128gcm record (RFC 8291 section 3.4)."""
        check(len(body) > 86 + 17, "push body of %d bytes" % len(body))
        salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), \
            body[20]
        check(idlen == 65 and rs >= 18, "header: rs %d idlen %d"
              % (rs, idlen))
        as_pub = body[21:86]
        ct = body[86:]
        check(len(ct) <= rs, "a single record: %d > rs %d" % (len(ct), rs))
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
                                                            as_pub)
        secret = self.key.exchange(ec.ECDH(), peer)
        prk_key = _hmac(self.auth, secret)
        ikm = _hmac(prk_key, b"WebPush: info\x00" + self.pub + as_pub +
                    b"\x01")
        prk = _hmac(salt, ikm)
        cek = _hmac(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
        nonce = _hmac(prk, b"Content-Encoding: nonce\x00\x01")[:12]
        pt = AESGCM(cek).decrypt(nonce, ct, None).rstrip(b"\x00")
        check(pt.endswith(b"\x02"), "the last record's delimiter 0x02")
        return pt[:-1]


def vapid_check(headers, hub_key, origin):
    """The claims of a valid Authorization: vapid t=JWT, k=KEY header."""
    auth = headers.get("Authorization", "")
    check(auth.startswith("vapid "), "Authorization: %r" % auth[:40])
    parts = dict(p.strip().split("=", 1) for p in auth[6:].split(","))
    check(parts.get("k") == hub_key, "k= is the hub's key: %r"
          % parts.get("k"))
    head, claims, sig = parts["t"].split(".")
    check(json.loads(unb64u(head)) == {"typ": "JWT", "alg": "ES256"},
          "JWT header %r" % unb64u(head))
    raw = unb64u(sig)
    check(len(raw) == 64, "ES256 signature of %d bytes" % len(raw))
    pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
                                                       unb64u(hub_key))
    try:
        pub.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                        int.from_bytes(raw[32:], "big")),
                   (head + "." + claims).encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        fail("the VAPID signature does not verify with the hub's key")
    c = json.loads(unb64u(claims))
    check(c.get("aud") == origin, "aud %r, expected %r"
          % (c.get("aud"), origin))
    now = time.time()
    check(now < c.get("exp", 0) <= now + 24 * 3600 + 60,
          "exp %r is not within 24 h" % c.get("exp"))
    check(str(c.get("sub", "")).startswith(("mailto:", "https:")),
          "sub %r" % c.get("sub"))
    return c


class Req:
    def __init__(self, name, headers, body):
        self.name = name
        self.headers = headers
        self.body = body
        self.mono = time.monotonic()


class PushService:
    def __init__(self):
        self.lock = threading.Lock()
        self.reqs = []
        self.plans = {}
        svc = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                name = self.path.rsplit("/", 1)[-1]
                with svc.lock:
                    svc.reqs.append(Req(name, dict(self.headers), body))
                    plan = svc.plans.get(name) or []
                    ans = plan.pop(0) if plan else "ok"
                self.answer(ans)

            def answer(self, ans):
                hdrs = {}
                if isinstance(ans, tuple):
                    code, hdrs = int(ans[0]), {"Retry-After": str(ans[1])}
                else:
                    code = 201 if ans == "ok" else int(ans)
                self.send_response(code)
                for k, v in hdrs.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.origin = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def endpoint(self, name):
        return "%s/push/%s" % (self.origin, name)

    def plan(self, name, answers):
        with self.lock:
            self.plans[name] = list(answers)

    def got(self, name=None, since=0):
        with self.lock:
            return [r for r in self.reqs if (name is None or r.name == name)
                    and r.mono >= since]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def start(t):
    """A PushService stopped when test t cleans up."""
    svc = PushService()
    orig = t.cleanup

    def cleanup():
        try:
            orig()
        finally:
            svc.stop()
    t.cleanup = cleanup
    return svc
