"""The hub's side of containers (issue 17, items 2 and 4): the table each
agent's heartbeats fill (the "ctr" part, docs/protocol.md "Containers"),
container_down / container_up alerts and events, the container_restarts
rule, the API, hubctl containers and /metrics.

Scripted agents speak the protocol over a raw WebSocket, as in
test_gpu_hub.py: a thread beats every HB/2 with the containers the test
changed since the last beat, the first beat of a connection with all of
them ("full"), as the listener does.  A real local HTTP server (fakeapi)
stands in for Telegram, Discord and the webhook.
"""

import json
import re
import threading
import time

import fakeapi
from fakeapi import DISCORD, TELEGRAM, WEBHOOK
from mtest import check, deadline, fail, wait_until

HB = 0.2
NOW = int(time.time())
STATES = ("created", "running", "paused", "restarting", "removing",
          "exited", "dead")


def ctr(cid, name, image="127.0.0.1:5000/web:2", state="running", **kw):
    c = {"id": cid, "name": name, "image": image, "state": state,
         "restarts": 0, "started": NOW - 100, "cpu": 1.5, "mem": 12345678}
    c.update(kw)
    return c


def metrics():
    return {"cpu": {"user": 10, "system": 5, "iowait": 0},
            "load": [0.5, 0.4, 0.3],
            "mem": {"used": 4 << 30, "total": 16 << 30},
            "swap": {"used": 0, "total": 0},
            "fs": [{"mount": "/", "used": 10 << 30, "total": 100 << 30}],
            "net": [], "uptime": 1000, "procs": 100}


class Agent:
    """A raw agent: beats every HB/2 with its containers' changes."""

    def __init__(self, t, hub, name, containers=(), tags=(), docker=True):
        self.t, self.hub, self.name, self.tags = t, hub, name, list(tags)
        self.docker = docker
        self.ctrs = {c["id"]: dict(c) for c in containers}
        self.lock = threading.Lock()
        self.changed = []
        self.sent_beats = 0
        self.key = hub.create_key()
        self.cred = None
        self.ws = None
        self.connect()
        t.agents = getattr(t, "agents", []) + [self]

    def connect(self):
        self.ws = self.t.ws(self.hub)
        hello = {"t": "hello", "v": 1, "name": self.name, "hostname":
                 self.name, "os": "Linux", "cpus": 8, "tags": self.tags}
        if self.cred:
            hello["cred"] = self.cred
        else:
            hello["enroll_key"] = self.key
        self.ws.send_json(hello)
        w = self.ws.recv_json(5)
        check(w.get("t") == "welcome", "hello as %s: %r" % (self.name, w))
        self.cred = w.get("cred") or self.cred
        self.full = True
        self.stop = threading.Event()
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()
        wait_until(lambda: (self.hub.agent(self.name) or {}).get("metrics"),
                   5, "%s's first heartbeat" % self.name)

    def disconnect(self):
        self.stop.set()
        self.th.join(5)
        self.ws.close()

    def part(self):
        with self.lock:
            n = {}
            for c in self.ctrs.values():
                n[c["state"]] = n.get(c["state"], 0) + 1
                if c.get("health") == "unhealthy":
                    n["unhealthy"] = n.get("unhealthy", 0) + 1
            if self.full:
                lst = [dict(c) for c in self.ctrs.values()]
            else:
                lst = self.changed
            p = {"n": n, "list": lst}
            if self.full:
                p["full"] = True
            self.full, self.changed = False, []
            return p

    def run(self):
        seq = 0
        while not self.stop.is_set():
            seq += 1
            hb = {"t": "hb", "seq": seq, "m": metrics()}
            if self.docker:
                hb["ctr"] = self.part()
            try:
                self.ws.send_json(hb)
            except OSError:
                return
            self.sent_beats += 1
            self.stop.wait(HB / 2)

    def set(self, cid, **kw):
        """Change a container (the next beat lists it)."""
        with self.lock:
            c = self.ctrs[cid]
            c.update(kw)
            for k in [k for k, v in kw.items() if v is None]:
                del c[k]
            self.changed.append(dict(c))

    def add(self, c):
        with self.lock:
            self.ctrs[c["id"]] = dict(c)
            self.changed.append(dict(c))

    def remove(self, cid):
        with self.lock:
            del self.ctrs[cid]
            self.changed.append({"id": cid, "gone": True})

    def send_raw(self, ctr_part):
        """One heartbeat with this ctr part (the thread keeps beating)."""
        self.ws.send_json({"t": "hb", "seq": 999999, "m": metrics(),
                           "ctr": ctr_part})


def ctr_hub(t, extra="", fake=None):
    lines = ["log_level = info", "storm_window = 0.1"]
    if fake is not None:
        lines += ["telegram_bot_token = " + fake.token,
                  "telegram_chat_id = " + fake.chat_id,
                  "telegram_api = " + fake.telegram_api,
                  "discord_webhook_url = " + fake.discord_url,
                  "webhook_url = " + fake.webhook_url]
    conf = t.write("hub.conf", "\n".join(lines) + "\n" + extra, mode=0o600)
    hub = t.hub(heartbeat=HB, extra=["--config", conf])
    orig = t.cleanup

    def cleanup():
        for a in getattr(t, "agents", []):
            a.stop.set()
        orig()
    t.cleanup = cleanup
    return hub


def containers(hub, name):
    return {c["name"]: c for c in
            hub.api("GET", "/api/agents/%s/containers" % name)["containers"]}


def wait_msgs(fake, since, n, what, channel=WEBHOOK, timeout=5):
    return wait_until(lambda: (lambda m: m if len(m) >= n else None)(
        fake.messages(channel, since)), timeout, what)


def quiet(fake, since, secs, what):
    """No message reaches the webhook for secs seconds."""
    end = time.monotonic() + deadline(secs)
    while time.monotonic() < end:
        got = fake.messages(WEBHOOK, since)
        if got:
            fail("%s, yet a message went out: %r" % (what, got))
        time.sleep(0.05)


def events_of(hub, kind):
    return [e for e in hub.events() if e.get("type") == kind]


# ---- the table ----

def test_full_list_then_changes_and_gone(t):
    hub = ctr_hub(t)
    plain = Agent(t, hub, "no-docker", docker=False)
    a = Agent(t, hub, "pc-web", [
        ctr("aaaaaaaaaaa1", "web", health="healthy",
            digest="sha256:" + "1" * 64, latest="sha256:" + "2" * 64),
        ctr("aaaaaaaaaaa2", "db", image="postgres:16",
            digest="sha256:" + "3" * 64, latest="sha256:" + "3" * 64),
        ctr("aaaaaaaaaaa3", "job", image="busybox", state="exited",
            exit=0, finished=NOW - 50)])
    got = wait_until(lambda: (lambda c: c if len(c) == 3 else None)(
        containers(hub, "pc-web")), 5, "the full list")
    web = got["web"]
    check(web["id"] == "aaaaaaaaaaa1" and web["state"] == "running" and
          web["health"] == "healthy" and web["restarts"] == 0 and
          web["cpu"] == 1.5 and web["mem"] == 12345678 and
          web["behind"] is True and web["down"] is False and
          web["alert"] is True and web["stale"] is False and
          web["image"] == "127.0.0.1:5000/web:2",
          "web as the API shows it: %r" % web)
    check(got["db"]["behind"] is False and "behind" not in got["job"] and
          got["job"]["exit"] == 0, "behind and exit: %r" % got)
    ag = hub.agent("pc-web")
    check(ag["containers"]["total"] == 3 and
          ag["containers"]["running"] == 2 and
          ag["containers"]["exited"] == 1 and
          ag["containers"]["down"] == 0,
          "the agent's container counts: %r" % ag.get("containers"))
    check("containers" not in hub.agent("no-docker"),
          "an agent without Docker has container counts: %r"
          % hub.agent("no-docker"))
    check(plain.sent_beats > 0, "the plain agent beats")

    a.set("aaaaaaaaaaa2", cpu=55.25, restarts=1)
    a.remove("aaaaaaaaaaa3")
    a.add(ctr("aaaaaaaaaaa4", "cache", image="redis:7"))
    got = wait_until(lambda: (lambda c: c if "cache" in c and "job" not in c
                              and c["db"]["cpu"] == 55.25 else None)(
        containers(hub, "pc-web")), 5, "the changes applied")
    check(sorted(got) == ["cache", "db", "web"] and
          got["db"]["restarts"] == 1, "after changes: %r" % got)

    # offline: the table stays, stale; a reconnect's full list replaces it
    a.disconnect()
    wait_until(lambda: hub.api("GET", "/api/agents/pc-web/containers")
               ["stale"], 5, "the table to be stale")
    check(len(containers(hub, "pc-web")) == 3, "kept while offline")
    with a.lock:
        del a.ctrs["aaaaaaaaaaa4"]
    a.connect()
    got = wait_until(lambda: (lambda d: d if not d["stale"] and
                              len(d["containers"]) == 2 else None)(
        hub.api("GET", "/api/agents/pc-web/containers")), 5,
        "the reconnect's full list")
    check(sorted(c["name"] for c in got["containers"]) == ["db", "web"],
          "replaced by the full list: %r" % got)


def test_bad_ctr_part_keeps_the_connection_and_the_table(t):
    hub = ctr_hub(t)
    a = Agent(t, hub, "pc-bad", [ctr("bbbbbbbbbbb1", "web")])
    wait_until(lambda: containers(hub, "pc-bad"), 5, "the table")
    a.send_raw({"n": {"running": 1}, "list": [
        ctr("bbbbbbbbbbb1", "web", state="exited", exit=1),
        {"id": "NOT-HEX", "name": "x", "state": "running"}]})
    w = wait_until(lambda: (lambda m: m if m.get("t") == "error" else None)(
        a.ws.recv_json(5)), 5, "the warning")
    check(w.get("fatal") is False and "ctr: list[1]" in w.get("msg", ""),
          "the listener is warned without closing: %r" % w)
    time.sleep(deadline(HB * 2))
    check(containers(hub, "pc-bad")["web"]["state"] == "running",
          "nothing of a bad part is applied")
    check(hub.status("pc-bad") == "online", "the connection stays")


# ---- alerts ----

def test_container_dies_alerts_and_comes_back(t):
    fake = fakeapi.start(t)
    hub = ctr_hub(t, fake=fake)
    a = Agent(t, hub, "pc-gpu", [ctr("ccccccccccc1", "web"),
                                 ctr("ccccccccccc2", "db")])
    wait_until(lambda: len(containers(hub, "pc-gpu")) == 2, 5, "the table")
    since = time.monotonic()
    a.set("ccccccccccc1", state="exited", exit=137, oom=True,
          finished=NOW + 1)
    (w,) = wait_msgs(fake, since, 1, "the container_down alert")
    took = fake.got(WEBHOOK, since)[0].mono - since
    check(w["event"] == "container_down" and w["severity"] == "critical" and
          w["agent"] == "pc-gpu" and
          w["title"] == "CONTAINER DOWN: web on pc-gpu" and
          w["text"] == "web on pc-gpu died (exit 137, OOM-killed); docker "
          "logs web on pc-gpu.", "container_down webhook: %r" % w)
    check(took < deadline(HB + 0.1 + 0.5),
          "the alert took %.2f s (one heartbeat and the batch)" % took)
    for ch in (TELEGRAM, DISCORD):
        wait_msgs(fake, since, 1, "container_down on " + ch, channel=ch)
    ev = wait_until(lambda: events_of(hub, "container_down"), 5, "the event")
    check(ev[0]["agent"] == "pc-gpu" and ev[0]["from"] == "web" and
          ev[0]["to"] == "exited" and "exit 137" in ev[0]["detail"],
          "container_down event: %r" % ev[0])
    check(hub.agent("pc-gpu")["containers"]["down"] == 1, "down count")

    since = time.monotonic()
    a.set("ccccccccccc1", state="running", restarts=1, started=NOW + 2)
    (w,) = wait_msgs(fake, since, 1, "the container_up alert")
    check(w["event"] == "container_up" and w["severity"] == "recovery" and
          re.fullmatch(r"web on pc-gpu is running again after [0-9.ms ]+ "
                       r"down \(restarts: 1\)\.", w["text"]),
          "container_up: %r" % w)
    wait_until(lambda: events_of(hub, "container_up"), 5, "the up event")


def test_stopped_and_alert_false_and_clean_exit_raise_nothing(t):
    fake = fakeapi.start(t)
    hub = ctr_hub(t, fake=fake)
    a = Agent(t, hub, "pc-calm", [
        ctr("ddddddddddd1", "stopped-by-user"),
        ctr("ddddddddddd2", "unwatched", alert=False),
        ctr("ddddddddddd3", "clean")])
    wait_until(lambda: len(containers(hub, "pc-calm")) == 3, 5, "the table")
    since = time.monotonic()
    a.set("ddddddddddd1", state="exited", exit=143, stopped=True,
          finished=NOW + 1)
    a.set("ddddddddddd2", state="exited", exit=137, oom=True,
          finished=NOW + 1)
    a.set("ddddddddddd3", state="exited", exit=0, finished=NOW + 1)
    wait_until(lambda: all(c["state"] == "exited" for c in
                           containers(hub, "pc-calm").values()), 5,
               "the exits applied")
    quiet(fake, since, 1.0, "a stop, alert=false and exit 0")
    check(not events_of(hub, "container_down"),
          "container_down events: %r" % events_of(hub, "container_down"))


def test_unhealthy_for_longer_than_the_setting(t):
    fake = fakeapi.start(t)
    hub = ctr_hub(t, "container_unhealthy_for = 1s\n", fake=fake)
    a = Agent(t, hub, "pc-sick", [ctr("eeeeeeeeeee1", "api",
                                      health="healthy")])
    wait_until(lambda: containers(hub, "pc-sick"), 5, "the table")
    since = time.monotonic()
    a.set("eeeeeeeeeee1", health="unhealthy",
          health_log="wget: connection refused")
    (w,) = wait_msgs(fake, since, 1, "the unhealthy alert")
    took = fake.got(WEBHOOK, since)[0].mono - since
    check(deadline(1.0) >= took - HB - 0.7 and took >= 1.0,
          "alerted %.2f s after it went unhealthy (setting 1 s)" % took)
    check(w["event"] == "container_down" and re.fullmatch(
        r"api on pc-sick is unhealthy for [0-9.]+s: wget: connection "
        r"refused; docker inspect --format '\{\{json \.State\.Health\}\}' "
        r"api; docker logs api on pc-sick\.", w["text"]),
        "unhealthy alert: %r" % w)
    since = time.monotonic()
    a.set("eeeeeeeeeee1", health="healthy", health_log=None)
    (w,) = wait_msgs(fake, since, 1, "container_up")
    check(w["event"] == "container_up", "healthy again: %r" % w)


def test_unhealthy_briefly_raises_nothing(t):
    fake = fakeapi.start(t)
    hub = ctr_hub(t, "container_unhealthy_for = 2s\n", fake=fake)
    a = Agent(t, hub, "pc-blip", [ctr("fffffffffff1", "api",
                                      health="healthy")])
    wait_until(lambda: containers(hub, "pc-blip"), 5, "the table")
    since = time.monotonic()
    a.set("fffffffffff1", health="unhealthy")
    time.sleep(0.5)
    a.set("fffffffffff1", health="healthy")
    quiet(fake, since, 2.5, "unhealthy for 0.5 s of a 2 s setting")


def test_restart_rule_counts_within_its_window(t):
    fake = fakeapi.start(t)
    hub = ctr_hub(t, "rule = container_restarts > 2 for 3s\n", fake=fake)
    a = Agent(t, hub, "pc-loop", [ctr("abcabcabcab1", "worker")])
    wait_until(lambda: containers(hub, "pc-loop"), 5, "the table")
    since = time.monotonic()
    for n in (1, 2, 3):
        a.set("abcabcabcab1", restarts=n, started=NOW + n)
        time.sleep(HB)
    (w,) = wait_msgs(fake, since, 1, "the container_restarts rule")
    fired = fake.got(WEBHOOK, since)[0].mono
    check(w["event"] == "rule" and w["text"] == "pc-loop: container worker "
          "restarted 3 times in 3s, above 2 (rule container_restarts > 2 "
          "for 3s); docker logs worker on pc-loop.", "rule: %r" % w)
    check(not events_of(hub, "container_down"),
          "a restart by the policy is no container_down")
    (w,) = wait_msgs(fake, fired + 0.01, 1, "the rule clearing", timeout=8)
    cleared = fake.got(WEBHOOK, fired + 0.01)[0].mono
    check(w["event"] == "rule_clear" and cleared - since >= 3.0,
          "cleared %.2f s after the first restart (window 3 s): %r"
          % (cleared - since, w))


def test_rule_parser_knows_container_restarts(t):
    from mtest import binary
    path = t.write("bad.conf", "rule = container_restart > 3 for 10m\n")
    r = t.run([binary("maestro-hub"), "--config", path, "--insecure-no-tls"],
              timeout=10)
    check(r.rc == 2 and "gpu_temp_c, temp_c, container_restarts)" in r.err,
          "unknown metric error: %r" % r)
    path = t.write("bad.conf", "rule = container_restarts > 3 for 0s\n")
    r = t.run([binary("maestro-hub"), "--config", path, "--insecure-no-tls"],
              timeout=10)
    check(r.rc == 2 and "must be more than 0" in r.err, "for 0s: %r" % r)


def test_silence_suppresses_container_alerts(t):
    fake = fakeapi.start(t)
    hub = ctr_hub(t, fake=fake)
    a = Agent(t, hub, "pc-hush", [ctr("aaaabbbbccc1", "web")])
    wait_until(lambda: containers(hub, "pc-hush"), 5, "the table")
    r = t.hubctl(hub, "silence", "pc-hush", "--for", "10m", "--reason",
                 "maintenance")
    check(r.rc == 0, "hubctl silence: %r" % r)
    wait_msgs(fake, 0, 1, "the silence notice")
    since = time.monotonic()
    a.set("aaaabbbbccc1", state="exited", exit=1, finished=NOW + 1)
    ev = wait_until(lambda: [e for e in hub.events() if e.get("type") ==
                             "alert" and e.get("to") == "silenced"], 5,
                    "the silenced alert's event")
    check(ev[0]["from"] == "container_down", "silenced: %r" % ev[0])
    quiet(fake, since, 0.8, "a silenced agent's container died")
    check(events_of(hub, "container_down"), "the event is still recorded")


# ---- API, hubctl, /metrics ----

def fleet(t, hub):
    Agent(t, hub, "pc-a", [
        ctr("111111111111", "web", image="127.0.0.1:5000/web:2",
            digest="sha256:" + "1" * 64, latest="sha256:" + "2" * 64),
        ctr("111111111112", "db", image="postgres:16", state="exited",
            exit=0)], tags=["lab"])
    Agent(t, hub, "pc-b", [
        ctr("222222222221", "web", image="127.0.0.1:5000/web:3",
            health="unhealthy", restarts=4)], tags=["office"])
    Agent(t, hub, "pc-none", docker=False)
    wait_until(lambda: hub.api("GET", "/api/containers")["total"] == 3, 5,
               "three containers in the fleet")


def test_api_containers_filters_and_pages(t):
    hub = ctr_hub(t)
    fleet(t, hub)

    def names(q):
        d = hub.api("GET", "/api/containers" + q)
        return [(c["agent"], c["name"]) for c in d["containers"]]
    check(names("") == [("pc-a", "db"), ("pc-a", "web"), ("pc-b", "web")],
          "all, agents then names: %r" % names(""))
    check(names("?agent=pc-b") == [("pc-b", "web")], "agent=")
    check(names("?tag=lab") == [("pc-a", "db"), ("pc-a", "web")], "tag=")
    check(names("?image=127.0.0.1:5000/web") == [("pc-a", "web"),
                                                 ("pc-b", "web")], "image=")
    check(names("?image=127.0.0.1:5000/web:3") == [("pc-b", "web")],
          "image= with a tag")
    check(names("?state=exited") == [("pc-a", "db")], "state=")
    check(names("?state=unhealthy") == [("pc-b", "web")], "unhealthy")
    check(names("?state=behind") == [("pc-a", "web")], "behind")
    d = hub.api("GET", "/api/containers?limit=2")
    check(len(d["containers"]) == 2 and d["more"] is True and
          d["total"] == 3, "a page: %r" % d)
    d = hub.api("GET", "/api/containers?limit=2&offset=2")
    check(len(d["containers"]) == 1 and d["more"] is False, "page 2: %r" % d)
    hub.api("GET", "/api/containers?state=sleepy", expect=400)
    hub.api("GET", "/api/containers?agent=nobody", expect=404)
    hub.api("GET", "/api/agents/nobody/containers", expect=404)
    d = hub.api("GET", "/api/agents/pc-none/containers")
    check(d["containers"] == [] and d["stale"] is False, "none: %r" % d)


def test_hubctl_containers_agents_show(t):
    hub = ctr_hub(t)
    fleet(t, hub)
    r = t.hubctl(hub, "containers")
    check(r.rc == 0, "hubctl containers: %r" % r)
    rows = [re.split(r"\s{2,}", ln.strip()) for ln in r.out.splitlines()]
    check(rows[0][:6] == ["AGENT", "NAME", "IMAGE", "STATE", "HEALTH",
                          "RESTARTS"], "head: %r" % r.out)
    check(len(rows) == 4 and "BEHIND" in r.out.splitlines()[2] and
          "BEHIND" not in r.out.splitlines()[3],
          "rows, BEHIND on pc-a's web: %r" % r.out)
    r = t.hubctl(hub, "containers", "--tag", "office")
    check(r.rc == 0 and len(r.out.splitlines()) == 2 and "pc-b" in r.out,
          "--tag: %r" % r.out)
    r = t.hubctl(hub, "containers", "--image", "postgres", "--state",
                 "exited")
    check(r.rc == 0 and len(r.out.splitlines()) == 2 and "db" in r.out,
          "--image --state: %r" % r.out)
    r = t.hubctl(hub, "containers", "--agent", "pc-a")
    check(r.rc == 0 and len(r.out.splitlines()) == 3, "--agent: %r" % r.out)
    r = t.hubctl(hub, "--json", "containers", "--state", "unhealthy")
    d = json.loads(r.out)
    check(r.rc == 0 and [c["agent"] for c in d["containers"]] == ["pc-b"],
          "--json: %r" % r.out)
    r = t.hubctl(hub, "containers", "--state", "sleepy")
    check(r.rc == 2 or r.rc == 1, "a bad state: %r" % r)

    r = t.hubctl(hub, "agents")
    rows = [re.split(r"\s{2,}", ln.strip()) for ln in r.out.splitlines()]
    head = rows[0]
    check("CTR" in head, "agents: a CTR column: %r" % r.out)
    i = head.index("CTR")
    by = {row[0]: row for row in rows[1:]}
    check(by["pc-a"][i] == "1/2" and by["pc-b"][i] == "1/1!" and
          by["pc-none"][i] == "-", "CTR cells: %r" % rows)
    r = t.hubctl(hub, "show", "pc-a")
    check(r.rc == 0 and re.search(r"^containers:", r.out, re.M) and
          re.search(r"web +127\.0\.0\.1:5000/web:2 +running.*BEHIND",
                    r.out), "show: %r" % r.out)


def test_hubctl_agents_without_containers_has_no_ctr_column(t):
    hub = ctr_hub(t)
    Agent(t, hub, "pc-none", docker=False)
    r = t.hubctl(hub, "agents")
    check(r.rc == 0 and "CTR" not in r.out.splitlines()[0],
          "CTR column without containers: %r" % r.out)


def test_metrics_count_containers(t):
    hub = ctr_hub(t)
    fleet(t, hub)
    prom = hub.request("GET", "/metrics").body.decode()
    for line in ('maestro_containers{agent="pc-a",state="running"} 1',
                 'maestro_containers{agent="pc-a",state="exited"} 1',
                 'maestro_containers{agent="pc-b",state="running"} 1',
                 'maestro_containers_unhealthy{agent="pc-b"} 1',
                 'maestro_containers_behind{agent="pc-a"} 1',
                 'maestro_containers_down{agent="pc-a"} 0'):
        check(line in prom, "/metrics lacks %s:\n%s" % (line, "\n".join(
            ln for ln in prom.splitlines() if "container" in ln)))
    check("pc-none" not in "".join(ln for ln in prom.splitlines()
                                   if "maestro_containers" in ln),
          "an agent without Docker has container series")


# ---- the dashboard ----

def test_dashboard_containers_in_chromium(t):
    import os
    import mtest
    from test_browser import CHROMIUM, need_tools
    need_tools()
    conf = t.write("hub.conf", "log_level = info\n", mode=0o600)
    hub = t.hub(heartbeat=HB, extra=["--config", conf, "--dashboard",
                                     os.path.join(mtest.ROOT, "dashboard")])
    orig = t.cleanup

    def cleanup():
        for ag in getattr(t, "agents", []):
            ag.stop.set()
        orig()
    t.cleanup = cleanup
    a = Agent(t, hub, "pc-dock", [
        ctr("0123456789ab", "web", restarts=2,
            digest="sha256:" + "1" * 64, latest="sha256:" + "2" * 64),
        ctr("0123456789ac", "db", image="postgres:16", state="exited",
            exit=0)], tags=["lab"])
    Agent(t, hub, "pc-plain", docker=False, tags=["nothing-here"])
    go = t.path("go")
    cfg = {"url": hub.url, "token": hub.token, "chromium": CHROMIUM,
           "withCtr": "pc-dock", "plain": "pc-plain", "go": go}
    path = t.write("containers.json", json.dumps(cfg), mode=0o600)

    def killer():
        import os as _os
        end = time.monotonic() + 60
        while time.monotonic() < end and not _os.path.exists(go):
            time.sleep(0.05)
        a.set("0123456789ab", state="exited", exit=137, oom=True,
              finished=NOW + 1)
    threading.Thread(target=killer, daemon=True).start()
    r = t.run(["node", os.path.join(mtest.ROOT, "tests", "browser",
                                    "containers.mjs"), path], timeout=90)
    try:
        doc = json.loads(r.out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        fail("containers.mjs printed no result (exit %s): %s"
             % (r.rc, r.err[-2000:]))
    for line in doc.get("checks", []):
        t.note(line)
    check(r.rc == 0 and doc.get("ok"), "the browser test failed: %s\n%s"
          % (doc.get("error"), "\n".join(doc.get("checks", []))))


test_dashboard_containers_in_chromium.time_limit = 120
