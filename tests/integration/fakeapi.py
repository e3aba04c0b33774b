"""fakeapi - a local stand-in for api.telegram.org, a Discord webhook and a
generic JSON webhook (Python 3 stdlib only).

One threaded HTTP/1.1 server on 127.0.0.1 and a random port, started by a
test and stopped in its cleanup.  It speaks the services' request and
response shapes:

  POST /bot<TOKEN>/sendMessage      Telegram Bot API: 200 {"ok":true,
                                    "result":{...}}; 401 for another token
  POST /api/webhooks/<ID>/<TOKEN>   Discord webhook: 204; 404 otherwise
  POST /hook/<SECRET>               generic webhook: 200 {"ok":true}

Every request is recorded with its arrival time (wall clock, to compare
with the hub's event timestamps, and monotonic), its path, headers and
body.  Each channel can be scripted: plan(channel, answers) queues answers
for its next requests, mode(channel, answer) sets the answer for every
request after the plan runs out.  An answer is one of

  "ok"            the service's success answer
  ("429", N)      rate limited for N seconds, in the service's own shape
                  (Telegram: parameters.retry_after; Discord: retry_after
                  in the body and a Retry-After header)
  "500"           an internal error
  "hang"          read the request, never answer (a dead channel); the
                  connection is released when the fake stops
"""

import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TELEGRAM, DISCORD, WEBHOOK = "telegram", "discord", "webhook"
DEADMAN = "deadman"


class Req:
    """One request as the fake received it."""

    def __init__(self, channel, path, headers, body, wall, mono):
        self.channel = channel
        self.path = path
        self.headers = headers
        self.body = body
        self.wall = wall
        self.mono = mono
        self.answer = None      # what was answered: "ok", "429", ...
        try:
            self.json = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            self.json = None

    def __repr__(self):
        return "<%s %s %.3f -> %s: %r>" % (self.channel, self.path,
                                           self.wall, self.answer,
                                           self.body[:300])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # noqa: D401 - quiet
        pass

    def do_POST(self):  # noqa: N802 - http.server's name
        wall, mono = time.time(), time.monotonic()
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        fake = self.server.fake
        channel = fake.route(self.path)
        req = Req(channel, self.path, dict(self.headers), body, wall, mono)
        answer = fake.next_answer(channel) if channel else "404"
        req.answer = answer if isinstance(answer, str) else answer[0]
        fake.record(req)
        if answer == "hang":
            fake.released.wait(120)
            self.close_connection = True
            return
        status, headers, payload = fake.response(channel, answer, req)
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def do_GET(self):  # noqa: N802
        # a push monitor (Healthchecks.io, Uptime Kuma): GET /ping/ID
        if self.path.startswith("/ping/"):
            self.server.fake.record(Req(DEADMAN, self.path,
                                        dict(self.headers), b"",
                                        time.time(), time.monotonic()))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"OK")
            return
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()


class FakeAPI:
    """The fake services; see the module text."""

    def __init__(self, token="123456789:AAtest-SECRET-bot-token",
                 chat_id="-1001234567890", discord_id="1111222233334444",
                 discord_token="disc-SECRET-webhook-token",
                 hook_secret="hook-SECRET-path"):
        self.token = token
        self.chat_id = chat_id
        self.discord_id = discord_id
        self.discord_token = discord_token
        self.hook_secret = hook_secret
        self.requests = []
        self.lock = threading.Lock()
        self.plans = {TELEGRAM: [], DISCORD: [], WEBHOOK: []}
        self.modes = {TELEGRAM: "ok", DISCORD: "ok", WEBHOOK: "ok"}
        self.released = threading.Event()
        self.message_id = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.fake = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    # -- what the hub is configured with --

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def telegram_api(self):
        return self.base

    @property
    def discord_url(self):
        return "%s/api/webhooks/%s/%s" % (self.base, self.discord_id,
                                          self.discord_token)

    @property
    def webhook_url(self):
        return "%s/hook/%s" % (self.base, self.hook_secret)

    def secrets(self):
        """Strings that must never appear in a log."""
        return [self.token, self.token.split(":", 1)[1], self.discord_token,
                self.hook_secret]

    # -- scripting --

    def plan(self, channel, answers):
        with self.lock:
            self.plans[channel].extend(answers)

    def mode(self, channel, answer):
        with self.lock:
            self.modes[channel] = answer

    # -- server side --

    def route(self, path):
        if path == "/bot%s/sendMessage" % self.token or (
                path.startswith("/bot") and path.endswith("/sendMessage")):
            return TELEGRAM
        if path.startswith("/api/webhooks/"):
            return DISCORD
        if path.startswith("/hook/"):
            return WEBHOOK
        return None

    def next_answer(self, channel):
        with self.lock:
            if self.plans[channel]:
                return self.plans[channel].pop(0)
            return self.modes[channel]

    def record(self, req):
        with self.lock:
            self.requests.append(req)

    def response(self, channel, answer, req):
        """(status, headers, body bytes) for an answer."""
        js = [("Content-Type", "application/json")]
        if answer == "404":
            return 404, js, b'{"message":"not found"}'
        if channel == TELEGRAM:
            return self._telegram(answer, req, js)
        if channel == DISCORD:
            return self._discord(answer, req, js)
        if answer == "ok":
            return 200, js, b'{"ok":true}'
        if answer == "500":
            return 500, js, b'{"error":"internal"}'
        n = answer[1]
        return 429, js + [("Retry-After", str(int(math.ceil(n))))], \
            json.dumps({"retry_after": n}).encode()

    def _telegram(self, answer, req, js):
        if req.path != "/bot%s/sendMessage" % self.token:
            return 401, js, json.dumps({
                "ok": False, "error_code": 401,
                "description": "Unauthorized"}).encode()
        if answer == "ok":
            with self.lock:
                self.message_id += 1
                mid = self.message_id
            j = req.json or {}
            return 200, js, json.dumps({"ok": True, "result": {
                "message_id": mid, "date": int(time.time()),
                "chat": {"id": j.get("chat_id"), "type": "supergroup"},
                "text": j.get("text")}}).encode()
        if answer == "500":
            return 500, js, json.dumps({
                "ok": False, "error_code": 500,
                "description": "Internal Server Error"}).encode()
        n = answer[1]
        return 429, js, json.dumps({
            "ok": False, "error_code": 429,
            "description": "Too Many Requests: retry after %s" % n,
            "parameters": {"retry_after": n}}).encode()

    def _discord(self, answer, req, js):
        want = "/api/webhooks/%s/%s" % (self.discord_id, self.discord_token)
        if req.path.split("?")[0] != want:
            return 404, js, b'{"message":"Unknown Webhook","code":10015}'
        if answer == "ok":
            return 204, [], b""
        if answer == "500":
            return 500, js, b'{"message":"500: Internal Server Error",' \
                b'"code":0}'
        n = answer[1]
        return 429, js + [("Retry-After", str(int(math.ceil(n))))], \
            json.dumps({"message": "You are being rate limited.",
                        "retry_after": n, "global": False}).encode()

    # -- reading what arrived --

    def got(self, channel=None, since=0.0):
        """Requests (of a channel) that arrived after monotonic since."""
        with self.lock:
            return [r for r in self.requests
                    if (channel is None or r.channel == channel)
                    and r.mono >= since]

    def messages(self, channel, since=0.0):
        """The JSON bodies of a channel's requests, in arrival order."""
        return [r.json for r in self.got(channel, since)]

    def stop(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def start(t, **kw):
    """A FakeAPI stopped when test t cleans up."""
    fake = FakeAPI(**kw)
    t.fakes = getattr(t, "fakes", [])
    t.fakes.append(fake)
    orig = t.cleanup

    def cleanup():
        try:
            orig()
        finally:
            fake.stop()
    t.cleanup = cleanup
    return fake
