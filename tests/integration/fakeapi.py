"""fakeapi - a local stand-in for api.telegram.org, a Discord webhook and a
generic JSON webhook (Python 3 stdlib only).

One threaded HTTP/1.1 server on 127.0.0.1 and a random port, started by a
test and stopped in its cleanup.  It speaks the services' request and
response shapes:

  POST /bot<TOKEN>/sendMessage      Telegram Bot API: 200 {"ok":true,
                                    "result":{...}}; 401 for another token
  POST /api/webhooks/<ID>/<TOKEN>   Discord webhook: 204; 404 otherwise
  POST /hook/<SECRET>               generic webhook: 200 {"ok":true}

The bot side of the Telegram API, for the hub's commands (telegram_commands):

  POST /bot<TOKEN>/getUpdates       long polling: answers at once with the
                                    queued updates from "offset" on (those
                                    before it are confirmed and dropped),
                                    else holds the request until one is
                                    queued or its "timeout" passes
  POST /bot<TOKEN>/editMessageText  200 {"ok":true,"result":true}
  POST /bot<TOKEN>/answerCallbackQuery

Discord's API for its bot (discord_api = fake.discord_api, "/v10"):

  POST /v10/channels/<ID>/messages  a bot message ("Authorization: Bot
                                    <TOKEN>"): 200 with the message (its
                                    "id"); 401 for another token
  PATCH|POST /v10/webhooks/<APP>/<TOKEN>[/messages/@original]
                                    an interaction's follow-up: 200

A test queues updates with push_message(), push_callback() or push_raw()
(any JSON value, to send malformed ones); handed(update_id) is when an
update first left in an answer.  getUpdates can be scripted like the other
channels (plan(UPDATES, ...)): "ok", ("429", N), "500", or "notjson".  As
Telegram does, a getUpdates that arrives while another is held ends the
held one with 409 Conflict (counted in conflicts): one bot, one poller.

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
UPDATES = "updates"        # getUpdates
BOTCALL = "botcall"        # editMessageText, answerCallbackQuery
DCBOT = "dcbot"            # Discord: the bot's channel messages
DCHOOK = "dchook"          # Discord: interaction follow-ups
POLL_CAP = 30.0            # a long poll is never held longer


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
        self.message_id = None  # a sendMessage's, as answered
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
        if channel == UPDATES and answer == "ok":
            status, payload = fake.long_poll(req)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            try:
                self.wfile.write(payload)
            except OSError:     # the hub stopped during the poll
                self.close_connection = True
            return
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

    do_PATCH = do_POST      # Discord edits an interaction's answer

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
                 hook_secret="hook-SECRET-path",
                 discord_bot_token="dcbot-SECRET-bot-token"):
        self.token = token
        self.chat_id = chat_id
        self.discord_id = discord_id
        self.discord_token = discord_token
        self.hook_secret = hook_secret
        self.discord_bot_token = discord_bot_token
        self.requests = []
        self.lock = threading.Lock()
        self.plans = {TELEGRAM: [], DISCORD: [], WEBHOOK: [], UPDATES: [],
                      BOTCALL: [], DCBOT: [], DCHOOK: []}
        self.modes = {TELEGRAM: "ok", DISCORD: "ok", WEBHOOK: "ok",
                      UPDATES: "ok", BOTCALL: "ok", DCBOT: "ok",
                      DCHOOK: "ok"}
        self.released = threading.Event()
        self.message_id = 0
        self.updates = []       # queued (update_id, JSON bytes)
        self.next_update = 1000
        self.handed_at = {}     # update_id: monotonic, first answer
        self.polls = 0          # getUpdates requests held now
        self.poll_gen = 0       # getUpdates requests begun
        self.conflicts = 0      # held ones ended by a newer one (409)
        self.cond = threading.Condition(self.lock)
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
    def discord_api(self):
        return self.base + "/v10"

    @property
    def webhook_url(self):
        return "%s/hook/%s" % (self.base, self.hook_secret)

    def secrets(self):
        """Strings that must never appear in a log."""
        return [self.token, self.token.split(":", 1)[1], self.discord_token,
                self.hook_secret, self.discord_bot_token]

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
        if path == "/bot%s/getUpdates" % self.token:
            return UPDATES
        if path in ("/bot%s/editMessageText" % self.token,
                    "/bot%s/answerCallbackQuery" % self.token):
            return BOTCALL
        if path.startswith("/api/webhooks/"):
            return DISCORD
        if path.startswith("/hook/"):
            return WEBHOOK
        if path.startswith("/v10/channels/") and path.endswith("/messages"):
            return DCBOT
        if path.startswith("/v10/webhooks/"):
            return DCHOOK
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
        if channel in (UPDATES, BOTCALL):
            return self._bot(answer, js)
        if channel == DISCORD:
            return self._discord(answer, req, js)
        if channel in (DCBOT, DCHOOK):
            return self._discord_api(channel, answer, req, js)
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
            req.message_id = mid
            j = req.json or {}
            return 200, js, json.dumps({"ok": True, "result": {
                "message_id": mid, "date": int(time.time()),
                "chat": {"id": j.get("chat_id"), "type": "supergroup"},
                "text": j.get("text")}}).encode()
        return self._tg_error(answer, js)

    @staticmethod
    def _tg_error(answer, js):
        """A Bot API error answer: "500" or ("429", N)."""
        if answer == "500":
            return 500, js, json.dumps({
                "ok": False, "error_code": 500,
                "description": "Internal Server Error"}).encode()
        n = answer[1]
        return 429, js, json.dumps({
            "ok": False, "error_code": 429,
            "description": "Too Many Requests: retry after %s" % n,
            "parameters": {"retry_after": n}}).encode()

    def _bot(self, answer, js):
        if answer == "ok":
            return 200, js, b'{"ok":true,"result":true}'
        if answer == "notjson":
            return 200, [("Content-Type", "text/html")], b"<html>oops"
        return self._tg_error(answer, js)

    # -- the bot's updates (getUpdates) --

    def push_raw(self, value, update_id=None):
        """Queue one update as any JSON value; returns its update_id (a
        dict without "update_id" gets one unless update_id is False)."""
        with self.cond:
            uid = self.next_update if update_id is None else update_id
            self.next_update += 1
            if isinstance(value, dict) and update_id is not False and \
                    "update_id" not in value:
                value = dict(value, update_id=uid)
            self.updates.append((uid, json.dumps(value).encode()))
            self.cond.notify_all()
            return uid

    def user(self, user_id, username=None):
        u = {"id": user_id, "is_bot": False, "first_name": "U%d" % user_id}
        if username:
            u["username"] = username
        return u

    def push_message(self, user_id, text, username=None, chat_id=None,
                     private=False, date=None):
        """A text message from user_id in the alert chat (or a private
        chat with the bot); returns (update_id, message_id)."""
        with self.lock:
            self.message_id += 1
            mid = self.message_id
        if private:
            chat = {"id": user_id, "type": "private"}
        else:
            chat = {"id": int(chat_id or self.chat_id), "type": "supergroup"}
        msg = {"message_id": mid, "from": self.user(user_id, username),
               "chat": chat, "date": int(date or time.time()), "text": text}
        return self.push_raw({"message": msg}), mid

    def push_callback(self, user_id, data, message_id, text, username=None):
        """A press of a button on message message_id (text: its text)."""
        cb = {"id": "cb%d" % self.next_update,
              "from": self.user(user_id, username),
              "message": {"message_id": message_id,
                          "chat": {"id": int(self.chat_id),
                                   "type": "supergroup"},
                          "date": int(time.time()), "text": text},
              "chat_instance": "42", "data": data}
        return self.push_raw({"callback_query": cb}), cb["id"]

    def handed(self, update_id):
        with self.lock:
            return self.handed_at.get(update_id)

    def long_poll(self, req):
        """(status, body): the queued updates from the request's offset on,
        waiting up to its timeout (at most POLL_CAP) for one; 409 when a
        newer getUpdates came meanwhile."""
        j = req.json if isinstance(req.json, dict) else {}
        offset = int(j.get("offset") or 0)
        limit = int(j.get("limit") or 100)
        end = time.monotonic() + min(float(j.get("timeout") or 0), POLL_CAP)
        with self.cond:
            self.updates = [u for u in self.updates if u[0] >= offset]
            self.poll_gen += 1
            gen = self.poll_gen
            self.cond.notify_all()      # a held one ends: 409
            self.polls += 1
            while not self.updates and not self.released.is_set():
                left = end - time.monotonic()
                if left <= 0 or self.poll_gen != gen:
                    break
                self.cond.wait(left)
            self.polls -= 1
            if self.poll_gen != gen:
                self.conflicts += 1
                return 409, json.dumps({
                    "ok": False, "error_code": 409,
                    "description": "Conflict: terminated by other "
                    "getUpdates request; make sure that only one bot "
                    "instance is running"}).encode()
            out = self.updates[:limit]
            now = time.monotonic()
            for uid, _ in out:
                self.handed_at.setdefault(uid, now)
        return 200, b'{"ok":true,"result":[' + \
            b",".join(b for _, b in out) + b"]}"

    def _discord(self, answer, req, js):
        want = "/api/webhooks/%s/%s" % (self.discord_id, self.discord_token)
        if req.path.split("?")[0] != want:
            return 404, js, b'{"message":"Unknown Webhook","code":10015}'
        if answer == "ok":
            return 204, [], b""
        return self._discord_error(answer, js)

    @staticmethod
    def _discord_error(answer, js):
        """A Discord error answer: "500" or ("429", N)."""
        if answer == "500":
            return 500, js, b'{"message":"500: Internal Server Error",' \
                b'"code":0}'
        n = answer[1]
        return 429, js + [("Retry-After", str(int(math.ceil(n))))], \
            json.dumps({"message": "You are being rate limited.",
                        "retry_after": n, "global": False}).encode()

    def _discord_api(self, channel, answer, req, js):
        if channel == DCBOT and req.headers.get("Authorization") != \
                "Bot " + self.discord_bot_token:
            return 401, js, b'{"message":"401: Unauthorized","code":0}'
        if answer == "ok":
            with self.lock:
                self.message_id += 1
                mid = self.message_id
            req.message_id = mid
            j = req.json if isinstance(req.json, dict) else {}
            return 200, js, json.dumps(dict(j, id=str(mid))).encode()
        return self._discord_error(answer, js)

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
        with self.cond:
            self.cond.notify_all()
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
