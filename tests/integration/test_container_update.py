"""Rolling container updates with real engines and a real registry:
hubctl update-containers -> the hub's roll -> container_update on each
listener -> pull, recreate with the old configuration, check, roll back.

Two private dockerds (docker_env.Dockerd), one listener each, and a
Debian docker-registry on a free loopback port (dockerd trusts a
127.0.0.0/8 registry without TLS).  The image is a busybox imported with
`docker import`; versions differ by a file and by their --change lines.
"""

import io
import json
import os
import shutil
import signal
import statistics
import tarfile
import urllib.request

from docker_env import Dockerd
from mtest import Proc, check, fail, free_port, skip, wait_until

REGISTRY = "/usr/bin/docker-registry"


class Registry:
    """docker-registry serving a temp dir on 127.0.0.1:PORT; stopped by
    PID (a mtest.Proc)."""

    def __init__(self, t):
        if not os.access(REGISTRY, os.X_OK):
            skip("docker-registry is not installed (Debian package "
                 "docker-registry; .dev/deps.sh test)")
        self.port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
        store = t.mkdir("registry")
        conf = t.write("registry.yml",
                       "version: 0.1\n"
                       "log:\n  level: warn\n"
                       "storage:\n  filesystem:\n    rootdirectory: %s\n"
                       "http:\n  addr: %s\n" % (store, self.addr))
        self.proc = Proc(t, "registry", [REGISTRY, "serve", conf])

        def up():
            if not self.proc.alive():
                fail("docker-registry exited:\n%s"
                     % self.proc.stderr_text()[-2000:])
            try:
                with urllib.request.urlopen("http://%s/v2/" % self.addr,
                                            timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False

        wait_until(up, 15, "docker-registry on %s" % self.addr)

    def stop(self):
        self.proc.signal(signal.SIGTERM)
        self.proc.stop(grace=3)


def app_tar(d, version):
    """A busybox root with /version holding version; its path."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in ("bin", "data"):
            ti = tarfile.TarInfo(name)
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            tar.addfile(ti)
        tar.add("/bin/busybox", "bin/busybox")
        for name in ("sh", "sleep", "false", "true", "cat"):
            ln = tarfile.TarInfo("bin/" + name)
            ln.type = tarfile.SYMTYPE
            ln.linkname = "busybox"
            tar.addfile(ln)
        data = ("%s\n" % version).encode()
        ti = tarfile.TarInfo("version")
        ti.size = len(data)
        tar.addfile(ti, io.BytesIO(data))
    path = os.path.join(d.dir, "app-%s.tar" % version)
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    return path


def push_version(d, ref, version, health=None):
    """Import version as ref in engine d and push it; its image id."""
    changes = ["CMD [\"/bin/sleep\", \"100000\"]",
               "ENV APP_VERSION=%s" % version]
    if health:
        changes.append(health)
    args = ["import"]
    for c in changes:
        args += ["--change", c]
    d.docker(*(args + [app_tar(d, version), ref]))
    d.docker("push", ref, timeout=60)
    return d.inspect(ref, "{{.Id}}")


def lst_conf(t, hub, name, key, sock, tags=None):
    conf = t.write("conf/%s.conf" % name, "docker_socket = %s\n" % sock,
                   0o600)
    p = t.listener(hub, name, key=key, tags=tags, extra=["--config", conf])
    wait_until(lambda: t._lst_online(hub, p), 15,
               "listener %s to be online" % name)
    return p


def run_app(d, ref, name, env, port):
    d.docker("pull", ref, timeout=60)
    d.docker("run", "-d", "--name", name, "--network", "none",
             "-e", "FOO=%s" % env, "-l", "team=blue", "-l",
             "maestro.update=auto", "--restart", "unless-stopped",
             # busybox sleep as PID 1 ignores SIGTERM (a 10 s stop)
             "--stop-signal", "KILL",
             "-v", "%s-data:/data" % name,
             "-p", "127.0.0.1:%d:80" % port, ref)


def facts(d, name):
    """What must survive an update, as the engine has it: env (the
    image's APP_VERSION aside), labels, restart policy, ports, mounts."""
    got = json.loads(d.docker(
        "inspect", "-f", "[{{json .Config.Env}}, {{json .Config.Labels}}, "
        "{{json .HostConfig.RestartPolicy}}, "
        "{{json .HostConfig.PortBindings}}, {{json .Mounts}}]",
        name).out)
    env = sorted(e for e in got[0] if not e.startswith("APP_VERSION="))
    mounts = sorted((m.get("Name"), m.get("Destination"), m.get("RW"))
                    for m in got[4])
    return env, got[1], got[2], got[3], mounts


def running_image(d, name):
    return d.inspect(name, "{{.Image}} {{.State.Status}}").split()


def names(d):
    return sorted(d.docker("ps", "-a", "--format", "{{.Names}}").out.split())


def update(t, hub, *args, timeout=180):
    r = t.hubctl(hub, "update-containers", *args, timeout=timeout)
    t.note("update-containers %s -> rc %s\n%s%s" % (" ".join(args), r.rc,
                                                     r.out, r.err))
    return r


def roll_of(hub, out):
    uid = out.split()[1].rstrip(":")
    return hub.api("GET", "/api/updates/" + uid)


def test_container_update_roll(t):
    if shutil.which("dockerd") is None:
        skip("dockerd is not installed")
    reg = Registry(t)
    d1 = d2 = None
    try:
        d1 = Dockerd(t).start()
        d2 = Dockerd(t).start()
        roll_checks(t, reg, d1, d2)
    finally:
        for d in (d2, d1):
            if d is not None:
                d.stop()
        reg.stop()


def roll_checks(t, reg, d1, d2):
    ref = "%s/app:stable" % reg.addr
    v1 = push_version(d1, ref, "v1")
    run_app(d1, ref, "web", "a", free_port())
    run_app(d1, ref, "worker", "b", free_port())
    run_app(d2, ref, "web", "c", free_port())
    before = {("a", n): facts(d1, n) for n in ("web", "worker")}
    before[("b", "web")] = facts(d2, "web")

    hub = t.hub()
    key = hub.create_key()
    lst_conf(t, hub, "pc-a", key, d1.sock, tags=["app"])
    lst_conf(t, hub, "pc-b", key, d2.sock, tags=["app"])
    lst_conf(t, hub, "pc-nodocker", key, os.path.join(d1.dir, "none.sock"))

    # no Docker socket: failed with the reason, and the roll is not ok
    r = update(t, hub, ref, "pc-nodocker")
    roll = roll_of(hub, r.out)
    tg = roll["targets"][0]
    check(r.rc == 1 and tg["status"] == "failed" and
          "no Docker socket" in tg.get("detail", ""),
          "no socket: rc %s, %r" % (r.rc, roll))

    # a new :stable: all three updated, one agent at a time, prune
    v2 = push_version(d1, ref, "v2")
    r = update(t, hub, ref, "--tag", "app", "--batch", "1", "--prune")
    roll = roll_of(hub, r.out)
    st = {x["agent"]: x["status"] for x in roll["targets"]}
    check(r.rc == 0 and st == {"pc-a": "updated", "pc-b": "updated"},
          "update --tag app: rc %s %r" % (r.rc, st))
    for d, who, n in ((d1, "a", "web"), (d1, "a", "worker"),
                      (d2, "b", "web")):
        img, state = running_image(d, n)
        check(img == v2 and state == "running",
              "%s/%s runs %s (%s), not v2 %s" % (who, n, img, state, v2))
        check(facts(d, n) == before[(who, n)],
              "%s/%s configuration changed:\n%r\n%r"
              % (who, n, before[(who, n)], facts(d, n)))
        check(d.inspect(n, "{{range .Config.Env}}{{println .}}{{end}}")
              .count("APP_VERSION=v2") == 1,
              "%s/%s: the new image's ENV does not apply" % (who, n))
    check(names(d1) == ["web", "worker"] and names(d2) == ["web"],
          "containers left over: %r %r" % (names(d1), names(d2)))
    cmd = hub.api("GET", "/api/commands/" + [
        x for x in roll["targets"] if x["agent"] == "pc-a"][0]["command"])
    out = cmd.get("output", "")
    check("kept the old image" in out and "removed the old image" in out,
          "prune on pc-a: the first old image is in use, the second "
          "goes: %r" % out)
    check(d1.docker("image", "inspect", v1, check=False).rc != 0,
          "prune: v1 %s is still in engine 1" % v1)

    # again: up to date, nothing recreated
    ids = d1.inspect("web", "{{.Id}}")
    r = update(t, hub, ref, "pc-a", "pc-b")
    roll = roll_of(hub, r.out)
    check(r.rc == 0 and all(x["status"] == "up_to_date"
                            for x in roll["targets"]) and
          d1.inspect("web", "{{.Id}}") == ids,
          "second run: rc %s %r" % (r.rc, roll))

    # a version whose health check fails: rolled back, the roll stops
    push_version(d1, ref, "v3", "HEALTHCHECK --interval=1s --timeout=1s "
                 "--retries=1 CMD [\"/bin/false\"]")
    r = update(t, hub, ref, "pc-a", "pc-b", "--batch", "1")
    roll = roll_of(hub, r.out)
    st = {x["agent"]: x for x in roll["targets"]}
    check(r.rc == 1 and st["pc-a"]["status"] == "rolled_back" and
          st["pc-b"]["status"] == "skipped" and
          "unhealthy" in st["pc-a"].get("detail", ""),
          "unhealthy v3: rc %s %r" % (r.rc, roll))
    for d, n in ((d1, "web"), (d1, "worker"), (d2, "web")):
        img, state = running_image(d, n)
        check(img == v2 and state == "running",
              "after the rollback %s runs %s (%s), not v2" % (n, img, state))
    check(names(d1) == ["web", "worker"],
          "rollback left containers: %r" % names(d1))
    ev = [e for e in hub.events() if e["type"].startswith("update_")]
    check(len([e for e in ev if e["type"] == "update_started"]) == 4 and
          len([e for e in ev if e["type"] == "update_done"]) == 4,
          "update events: %r" % ev)
    timing(t, hub, d1, ref)


def timing(t, hub, d, ref):
    """The figure: one container, image already pulled, command to
    running (engine-side steps only; no health check)."""
    local = [ref.replace(":stable", ":t%d" % i) for i in range(2)]
    # two local tags of two different images: the update flips between
    for i, r in enumerate(local):
        d.docker("import", "--change", "CMD [\"/bin/sleep\", \"100000\"]",
                 app_tar(d, "t%d" % i), r)
        d.docker("push", r, timeout=60)
    d.docker("run", "-d", "--name", "solo", "--network", "none",
             "--stop-signal", "KILL", local[0])
    times = []
    for i in range(6):
        target = local[(i + 1) % 2]
        c = hub.wait_command(hub.command("pc-a", {
            "type": "container_update", "arg": "solo", "image": target}),
            60)
        check(c.get("status") == "done" and c.get("exit") == 0,
              "timing run %d: %r" % (i, c))
        times.append(c["finished"] - c["created"])
    t.note("FIGURE container_update of one container (image pulled): "
           "median %.2fs over %d runs %r"
           % (statistics.median(times), len(times),
              [round(x, 2) for x in times]))
    print("FIGURE median %.2fs %r" % (statistics.median(times),
                                      [round(x, 2) for x in times]))
