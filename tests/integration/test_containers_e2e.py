"""Containers end to end (issue 17): a private dockerd, a real listener
following it, a real hub and the alert channels' stand-in: the hub's table
is what the engine has, and a container killed with SIGKILL is alerted
within two heartbeats; stopping one on purpose alerts nothing."""

import time

import fakeapi
from docker_env import Dockerd
from fakeapi import WEBHOOK
from mtest import check, deadline, wait_until

HB = 0.5


def e2e_hub(t, fake):
    conf = t.write("hub.conf", "\n".join([
        "log_level = info", "storm_window = 0.1",
        "webhook_url = " + fake.webhook_url]) + "\n", mode=0o600)
    return t.hub(heartbeat=HB, extra=["--config", conf])


def table(hub, name):
    r = hub.request("GET", "/api/agents/%s/containers" % name)
    if r.status != 200:
        return {}
    return {c["name"]: c for c in r.json()["containers"]}


def test_killed_container_is_alerted_within_two_heartbeats(t):
    d = Dockerd(t).start()
    try:
        image = d.import_busybox("mtest-bb:1")
        for name in ("web", "calm"):
            d.docker("run", "-d", "--name", name, "--network", "none",
                     "--stop-signal", "KILL", image, "/bin/sleep", "100000")
        fake = fakeapi.start(t)
        hub = e2e_hub(t, fake)
        path = t.write("conf/pc-ctr.conf", "docker_socket = %s\n" % d.sock,
                       0o600)
        t.listener(hub, "pc-ctr", key=hub.create_key(),
                   extra=["--config", path], wait_online=True)
        got = wait_until(lambda: (lambda c: c if set(c) == {"web", "calm"}
                                  and c["web"]["state"] == "running"
                                  else None)(table(hub, "pc-ctr")), 20,
                         "the hub's table to hold web and calm")
        check(got["web"]["image"] == image and not got["web"]["down"],
              "web in the hub: %r" % got["web"])

        since = time.monotonic()
        d.docker("kill", "web")
        (w,) = wait_until(lambda: fake.messages(WEBHOOK, since) or None, 10,
                          "the container_down alert")
        took = fake.got(WEBHOOK, since)[0].mono - since
        t.note("docker kill -> alert at the webhook: %.2f s (heartbeat "
               "%.1f s)" % (took, HB))
        check(w["event"] == "container_down" and w["agent"] == "pc-ctr" and
              "web on pc-ctr died (exit 137" in w["text"],
              "the alert: %r" % w)
        check(took < deadline(2 * HB + 1.0), "docker kill to alert took "
              "%.2f s: more than two heartbeats and the batch" % took)

        since = time.monotonic()
        d.docker("stop", "calm")
        wait_until(lambda: table(hub, "pc-ctr")["calm"]["state"] ==
                   "exited", 15, "calm exited in the hub's table")
        # an absence can only be shown by watching for a while
        end = time.monotonic() + deadline(3 * HB)
        while time.monotonic() < end:
            check(fake.messages(WEBHOOK, since) == [], "a stop was "
                  "alerted: %r" % fake.messages(WEBHOOK, since))
            time.sleep(0.05)
    finally:
        d.stop()


test_killed_container_is_alerted_within_two_heartbeats.time_limit = 180
