"""Hostile or broken agents on /ws/agent, through a raw WebSocket client.

Each case must get an `error` message with the documented code and/or a
close (docs/protocol.md), the hub must log a clear reason, and a healthy
listener on the same hub must stay online and keep heartbeating."""

import re
import socket

from mtest import MSG_MAX, check, wait_until

HELLO = {"t": "hello", "v": 1}
FACTS = ("hostname", "os", "kernel", "arch", "version", "cpus", "mem_total",
         "tags")


class Setup:
    def __init__(self, t):
        self.t = t
        self.hub = t.hub()
        (self.good,) = t.enrolled(self.hub, ["good"], tags=["keep"])
        wait_until(lambda: self.hub.agent("good").get("metrics"), 5,
                   "good's first heartbeat")
        self.before = self.hub.agent("good")
        self.log_off = self.hub.proc.log_size()

    def probe(self, name="probe"):
        """Enroll a second agent over the raw client; returns its cred."""
        key = self.hub.create_key()
        ws = self.t.ws(self.hub)
        ws.send_json(dict(HELLO, name=name, enroll_key=key))
        m = ws.recv_json()
        check(m.get("t") == "welcome" and m.get("cred"),
              "raw enrollment of %s: %r" % (name, m))
        ws.close()
        return m["cred"]

    def session(self, name, cred):
        """A raw connection that said hello and got welcome."""
        ws = self.t.ws(self.hub)
        ws.send_json(dict(HELLO, name=name, cred=cred))
        m = ws.recv_json()
        check(m.get("t") == "welcome", "hello as %s: %r" % (name, m))
        return ws

    def expect_refusal(self, ws, code, close_code=None, timeout=5):
        """error {code} and/or a close; returns (messages, end)."""
        msgs, end = ws.messages_until_closed(timeout)
        errors = [m for m in msgs if m.get("t") == "error"]
        check(end[0] in ("close", "eof"),
              "connection not closed within %ds after a bad input (got "
              "%r, then %r)" % (timeout, msgs, end))
        if close_code is not None:
            check(end[0] == "close" and end[1] == close_code,
                  "expected close code %d, got %r (messages %r)"
                  % (close_code, end, msgs))
        if code is not None:
            check(errors, "no error message before the close (%r, %r)"
                  % (msgs, end))
            check(errors[0].get("code") == code,
                  "error code %r, expected %r: %r"
                  % (errors[0].get("code"), code, errors[0]))
            check(isinstance(errors[0].get("msg"), str)
                  and errors[0]["msg"], "error without msg: %r" % errors[0])
        return msgs, end

    def expect_log(self, pattern, what):
        wait_until(lambda: re.search(pattern, self.hub.proc.log_since(
            self.log_off), re.I), 3,
            "the hub to log %s (/%s/)" % (what, pattern))

    def still_healthy(self):
        """good is online, connected, unchanged and heartbeating."""
        check(self.good.alive(), "the good listener died: %s"
              % self.good.returncode)
        seen = self.hub.agent("good")["last_seen"]
        wait_until(lambda: (lambda a: a["status"] == "online" and
                            a.get("connected") and a["last_seen"] > seen)(
            self.hub.agent("good")), 3,
            "good's last_seen to advance after the bad input")
        now = self.hub.agent("good")
        for k in FACTS:
            check(now.get(k) == self.before.get(k),
                  "good's %s changed: %r -> %r"
                  % (k, self.before.get(k), now.get(k)))
        check("replaced" not in self.good.stderr_text(),
              "the good listener's session was replaced:\n%s"
              % self.good.stderr_text()[-800:])


def test_malformed_json(t):
    s = Setup(t)
    ws = s.session("probe", s.probe())
    ws.send_text('{"t":"hb","seq":1,"m":{')
    s.expect_refusal(ws, "bad_json", close_code=1007)
    s.expect_log(r"bad_json|malformed|json", "the malformed JSON")
    s.still_healthy()


def test_binary_frame(t):
    # messages are JSON text; a binary frame is refused with 1003
    s = Setup(t)
    ws = s.session("probe", s.probe())
    ws.send_frame(0x2, b'{"t":"hb","seq":1}')
    s.expect_refusal(ws, "bad_message", close_code=1003)
    s.still_healthy()


def test_not_an_object(t):
    s = Setup(t)
    ws = s.session("probe", s.probe())
    ws.send_text('[1,2,3]')
    s.expect_refusal(ws, "bad_message", close_code=1007)
    s.expect_log(r"object|bad_message", "the non-object message")
    s.still_healthy()


def test_unknown_message_type(t):
    s = Setup(t)
    ws = s.session("probe", s.probe())
    ws.send_json({"t": "frobnicate", "x": 1})
    s.expect_refusal(ws, "unknown_type", close_code=1007)
    s.expect_log(r"frobnicate|unknown", "the unknown type")
    s.still_healthy()


def test_hub_to_agent_type_from_agent(t):
    s = Setup(t)
    ws = s.session("probe", s.probe())
    ws.send_json({"t": "cmd", "id": "c-1", "kind": "shell"})
    s.expect_refusal(ws, "unknown_type")
    s.expect_log(r"unknown", "the misdirected type")
    s.still_healthy()


def test_message_before_hello(t):
    s = Setup(t)
    ws = t.ws(s.hub)
    ws.send_json({"t": "hb", "seq": 1, "m": {}})
    s.expect_refusal(ws, "hello_first", close_code=1008)
    s.expect_log(r"hello", "the missing hello")
    s.still_healthy()


def test_hello_missing_field(t):
    s = Setup(t)
    ws = t.ws(s.hub)
    ws.send_json({"t": "hello", "v": 1})
    s.expect_refusal(ws, "bad_message", close_code=1007)
    s.expect_log(r"name|missing|bad_message", "the missing field")
    s.still_healthy()


def test_oversized_frame(t):
    s = Setup(t)
    ws = s.session("probe", s.probe())
    big = '{"t":"hb","seq":1,"m":{},"pad":"' + "x" * (MSG_MAX + 4096) + '"}'
    ws.send_text(big)
    s.expect_refusal(ws, None, close_code=1009)
    s.expect_log(r"too.?large|limit|over", "the oversized message")
    s.still_healthy()


def test_oversized_fragmented_message(t):
    s = Setup(t)
    ws = s.session("probe", s.probe())
    big = '{"t":"hb","seq":1,"m":{},"pad":"' + "y" * (MSG_MAX + 4096) + '"}'
    ws.send_fragmented(big, [16 * 1024] * 20)
    s.expect_refusal(ws, None, close_code=1009)
    s.expect_log(r"too.?large|limit|over", "the oversized message")
    s.still_healthy()


def test_bad_metric_keeps_the_connection(t):
    # a heartbeat with a value out of range is still a sign of life: the
    # agent is told (fatal false), stays connected and online, and keeps
    # its previous metrics; a later good heartbeat is taken
    s = Setup(t)
    ws = s.session("probe", s.probe())
    ws.send_json({"t": "hb", "seq": 1, "m": {"uptime": 7}})
    wait_until(lambda: ((s.hub.agent("probe") or {}).get("metrics") or
                        {}).get("uptime") == 7, 3, "the good heartbeat")
    seen = s.hub.agent("probe")["last_seen"]
    ws.send_json({"t": "hb", "seq": 2, "m": {"cpu": {"user": 250},
                                             "uptime": 8}})
    m = ws.recv_json()
    check(m.get("t") == "error" and m.get("code") == "bad_message" and
          m.get("fatal") is False and "user" in m.get("msg", ""),
          "a bad heartbeat's answer: %r" % m)
    a = s.hub.agent("probe")
    check(a["status"] == "online" and a["connected"] and
          a["last_seen"] > seen and a["metrics"]["uptime"] == 7,
          "after a bad heartbeat: %r" % a)
    s.expect_log(r"probe: bad_message: hb: .*user", "the bad heartbeat")
    ws.send_json({"t": "hb", "seq": 3, "m": {"cpu": {"user": 250}}})
    ws.send_json({"t": "hb", "seq": 4, "m": {"uptime": 9}})
    wait_until(lambda: s.hub.agent("probe")["metrics"]["uptime"] == 9, 3,
               "the next good heartbeat")
    m = ws.recv(timeout=0.3)
    check(m[0] == "timeout", "a second bad heartbeat within a minute is "
          "answered again: %r" % (m,))
    text = s.hub.request("GET", "/metrics").body.decode()
    check(re.search(r"^maestro_heartbeats_bad_total 2$", text, re.M),
          "/metrics does not count the two bad heartbeats")
    s.still_healthy()


def test_fragmented_message_within_limit(t):
    # fragments are reassembled: a valid message in pieces is accepted
    s = Setup(t)
    ws = s.session("probe", s.probe())
    msg = '{"t":"hb","seq":1,"m":{"uptime":5},"pad":"' + "z" * 100000 + '"}'
    check(ws.send_fragmented(msg, [7, 5000, 60000]), "send failed: %r"
          % ws.send_error)
    wait_until(lambda: ((s.hub.agent("probe") or {}).get("metrics") or
                        {}).get("uptime") == 5, 3,
               "the hub to take the reassembled heartbeat (uptime 5)")
    # and the connection is still open: nothing comes back for a heartbeat
    m = ws.recv(timeout=0.3)
    check(m[0] == "timeout", "after a valid fragmented heartbeat: %r" % (m,))


def test_bad_credential_for_existing_name(t):
    s = Setup(t)
    ws = t.ws(s.hub)
    ws.send_json(dict(HELLO, name="good", cred="t0000.deadbeef" * 2))
    s.expect_refusal(ws, "auth")
    s.expect_log(r"auth|credential", "the bad credential")
    s.still_healthy()


def test_another_agents_credential(t):
    s = Setup(t)
    cred = s.probe()
    ws = t.ws(s.hub)
    ws.send_json(dict(HELLO, name="good", cred=cred, hostname="impostor",
                      tags=["evil"]))
    s.expect_refusal(ws, "auth")
    s.expect_log(r"auth|credential", "the borrowed credential")
    s.still_healthy()
    # and the probe itself can still log in with its own credential
    s.session("probe", cred).close()


def test_enroll_with_unknown_key(t):
    s = Setup(t)
    ws = t.ws(s.hub)
    ws.send_json(dict(HELLO, name="newbie", enroll_key="kdeadbeef." +
                      "00" * 32))
    s.expect_refusal(ws, "enroll")
    s.expect_log(r"enroll|key", "the unknown key")
    check(s.hub.agent("newbie") is None, "newbie was enrolled: %r"
          % s.hub.agent("newbie"))
    s.still_healthy()


def test_enroll_existing_name(t):
    s = Setup(t)
    key = s.hub.create_key()
    ws = t.ws(s.hub)
    ws.send_json(dict(HELLO, name="good", enroll_key=key,
                      hostname="impostor"))
    s.expect_refusal(ws, "name_taken")
    s.expect_log(r"taken|exists|name", "the taken name")
    s.still_healthy()


def test_wrong_protocol_version(t):
    s = Setup(t)
    cred = s.probe()
    for v in (2, 0, 999):
        ws = t.ws(s.hub)
        ws.send_json({"t": "hello", "v": v, "name": "probe", "cred": cred})
        s.expect_refusal(ws, "version")
    s.expect_log(r"version", "the version mismatch")
    s.still_healthy()


def test_garbage_then_healthy_reconnect(t):
    # a burst of broken connections does not disturb the hub
    s = Setup(t)
    for i in range(20):
        ws = t.ws(s.hub)
        ws.send_text("garbage %d" % i)
        ws.messages_until_closed(5)
    # plain TCP junk, not even TLS
    for _ in range(5):
        c = socket.create_connection(("127.0.0.1", s.hub.port), timeout=2)
        try:
            c.sendall(b"\x16\x03\x01\x00\x05hello-not-tls\r\n\r\n")
            c.recv(100)
        except OSError:
            pass
        c.close()
    r = s.hub.request("GET", "/healthz", token=None)
    check(r.status == 200, "/healthz after junk: %r" % r)
    s.still_healthy()
