"""mtest - the integration test framework for Maestro (Python 3 stdlib only).

A test is a function test_NAME(t) in tests/integration/test_*.py; run.py
calls it with a T: the test's own temp dir, the processes it started and
what it noted.  Everything a test starts goes through T, so that cleanup
(by PID, in a finally) and failure reports (every child's stderr) are
never forgotten.

Rules kept here:
- a real hub on 127.0.0.1 with a free random port and a temp data dir;
- waiting is always wait_until(predicate, deadline), never sleep-and-hope;
- deadlines are multiplied by 3 under MAESTRO_ASAN=1 (sanitizers are slow);
- a process is stopped by its PID, never by its name.
"""

import base64
import hashlib
import http.client
import json
import os
import random
import re
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
ASAN = os.environ.get("MAESTRO_ASAN") == "1"
SLOW = 3.0 if ASAN else 1.0
MC_VERSION = "0.1.0"
MSG_MAX = 256 * 1024


class Failure(AssertionError):
    """A test assertion failed; the message says what and why."""


class Skip(Exception):
    """The test cannot run here; the message says why."""


def fail(msg):
    raise Failure(msg)


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def skip(msg):
    raise Skip(msg)


def build_dir():
    b = os.environ.get("MAESTRO_BUILD", "build")
    return b if os.path.isabs(b) else os.path.join(ROOT, b)


def binary(name):
    path = os.path.join(build_dir(), name)
    if not os.access(path, os.X_OK):
        fail("%s: not built (run make, or set MAESTRO_BUILD)" % path)
    return path


def deadline(seconds):
    """Seconds scaled for slow (sanitizer) builds."""
    return seconds * SLOW


def wait_until(pred, timeout, what, interval=0.05):
    """Poll pred() until it returns something true; return that.

    timeout is in seconds before the ASan factor.  pred may raise while the
    thing is not ready yet (connection refused...); the last value or error
    is shown if the deadline passes.
    """
    end = time.monotonic() + deadline(timeout)
    last = None
    while True:
        try:
            v = pred()
            if v:
                return v
            last = v
        except Failure:
            raise
        except Exception as e:  # noqa: BLE001 - anything means "not yet"
            last = "%s: %s" % (type(e).__name__, e)
        if time.monotonic() >= end:
            fail("timed out after %.1fs waiting for %s (last: %r)"
                 % (deadline(timeout), what, last))
        time.sleep(interval)


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = f.read().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999


def sh_wait_for(path):
    """A sh command that waits for path to exist (at most 15 s): a test
    lets a command go on by creating it."""
    return ("i=0; while [ ! -e %s ] && [ $i -lt 300 ]; do sleep 0.05; "
            "i=$((i+1)); done" % path)


def free_port():
    """A port on 127.0.0.1 that can be bound now, chosen at random below
    the kernel's ephemeral range: the clients of a test (listeners, hubctl)
    take their own ports from that range, so they cannot steal it."""
    lo, _ = _ephemeral_range()
    for _ in range(200):
        port = random.randrange(20000, max(20001, min(lo, 32768)))
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cert_fingerprint(pem_path):
    """sha256:HEX of a PEM certificate, computed by openssl(1)."""
    out = subprocess.run(
        ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in",
         pem_path], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        fail("openssl x509 %s: %s" % (pem_path, out.stderr.strip()))
    m = re.search(r"=([0-9A-Fa-f:]+)", out.stdout)
    check(m, "no fingerprint in openssl output %r" % out.stdout)
    return "sha256:" + m.group(1).replace(":", "").lower()


def tail(path, lines=60, limit=12000):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    text = "\n".join(text.splitlines()[-lines:])
    return text[-limit:]


def procs_with_cmdline(marker):
    """PIDs of processes whose command line contains marker (a /proc scan)."""
    found = []
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8",
                                                           "replace")
        except OSError:
            continue
        if marker in cmd:
            found.append((int(d), cmd.strip()))
    return found


# ---- processes ----

class Proc:
    """A child process with its output in files under the test's dir."""

    def __init__(self, t, name, argv, env=None, stdout_pipe=False,
                 cwd=None):
        self.t = t
        self.name = name
        self.argv = list(argv)
        self.out_path = t.path("%s.stdout" % name)
        self.err_path = t.path("%s.stderr" % name)
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.started = time.monotonic()
        self.p = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else self._out,
            stderr=self._err, env=env if env is not None else t.env,
            start_new_session=True, cwd=cwd)
        self.pid = self.p.pid
        t.procs.append(self)

    def alive(self):
        return self.p.poll() is None

    @property
    def returncode(self):
        return self.p.poll()

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def wait(self, timeout, what=None):
        """Wait for exit; return the status.  Fails at the deadline."""
        try:
            return self.p.wait(timeout=deadline(timeout))
        except subprocess.TimeoutExpired:
            fail("%s (pid %d) still running after %.1fs%s"
                 % (self.name, self.pid, deadline(timeout),
                    ": " + what if what else ""))
        return None

    def stop(self, grace=3.0):
        """SIGTERM, then SIGKILL after grace; never fails."""
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGCONT)
                os.kill(self.pid, signal.SIGTERM)
                self.p.wait(timeout=deadline(grace))
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._close_files()

    def _close_files(self):
        for f in (self._out, self._err):
            try:
                f.close()
            except OSError:
                pass
        if self.p.stdout is not None:
            try:
                self.p.stdout.close()
            except OSError:
                pass

    def stderr_text(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stdout_text(self):
        try:
            with open(self.out_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.err_path)
        except OSError:
            return 0

    def log_since(self, offset):
        """stderr written after byte offset (see log_size)."""
        try:
            with open(self.err_path, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def report(self):
        rc = self.p.poll()
        lines = ["--- %s (pid %d, %s): %s" % (
            self.name, self.pid,
            "running" if rc is None else "exit %d" % rc,
            " ".join(self.argv))]
        err = tail(self.err_path)
        out = tail(self.out_path, 20, 3000) if self.p.stdout is None else ""
        if err:
            lines.append("    stderr:\n" + indent(err))
        if out:
            lines.append("    stdout:\n" + indent(out))
        return "\n".join(lines)


def indent(text, prefix="      "):
    return "\n".join(prefix + ln for ln in text.splitlines())


def short_argv(argv):
    """A command line for messages: program basename, no secrets, no
    --hub/--fingerprint noise."""
    out = [os.path.basename(argv[0])]
    skip_next = None
    for a in argv[1:]:
        if skip_next:
            if skip_next == "--token":
                out += ["--token", "***"]
            skip_next = None
            continue
        if a in ("--token", "--hub", "--fingerprint"):
            skip_next = a
            continue
        out.append(a)
    return " ".join(out)


class Result:
    """What a finished program run produced."""

    def __init__(self, argv, rc, out, err, elapsed):
        self.argv = argv
        self.rc = rc
        self.out = out
        self.err = err
        self.elapsed = elapsed

    def __repr__(self):
        return "<%s: rc %s, %.2fs, stderr %r, stdout %r>" % (
            short_argv(self.argv), self.rc, self.elapsed, self.err[:400],
            self.out[:400])

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError as e:
            fail("hubctl output is not JSON (%s): %r" % (e, self.out[:500]))
        return None


# ---- HTTP ----

DEFAULT = object()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            fail("response %d is not JSON (%s): %r"
                 % (self.status, e, self.body[:500]))
        return None

    def __repr__(self):
        return "<HTTP %d %r>" % (self.status, self.body[:300])


def tls_client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def check_pin(sock, fingerprint):
    """The peer's certificate must match fingerprint (sha256:HEX)."""
    der = sock.getpeercert(binary_form=True)
    got = "sha256:" + hashlib.sha256(der).hexdigest()
    check(got == fingerprint, "hub certificate %s does not match pinned %s"
          % (got, fingerprint))


class Hub:
    """A maestro-hub on 127.0.0.1:port with its own data dir."""

    def __init__(self, t, tls=True, heartbeat=0.2, miss=3, port=None,
                 data=None, extra=(), name="hub", restart_grace=0,
                 host="127.0.0.1"):
        self.t = t
        self.host = host        # an IP literal; "::1" for IPv6
        # the hub's default (90 s, the listeners' backoff) would hide
        # every short-interval liveness rule after a restart
        self.restart_grace = restart_grace
        self.tls = tls
        self.heartbeat = heartbeat
        self.miss = miss
        self.fixed_port = port is not None
        self.port = port or free_port()
        self.data = data or t.mkdir("hubdata")
        self.extra = list(extra)
        self.name = name
        self.exe = binary("maestro-hub")
        self.cwd = None         # the runner's (the repository) if None
        self.proc = None
        self.starts = 0
        self.fingerprint = None
        self.token = None
        self.started_at = None

    @property
    def hostport(self):
        h = "[%s]" % self.host if ":" in self.host else self.host
        return "%s:%d" % (h, self.port)

    @property
    def url(self):
        return "%s://%s" % ("https" if self.tls else "http", self.hostport)

    @property
    def ws_url(self):
        return "%s://%s" % ("wss" if self.tls else "ws", self.hostport)

    def argv(self):
        a = [self.exe, "--listen", self.hostport,
             "--data", self.data, "--heartbeat", str(self.heartbeat),
             "--miss", str(self.miss),
             "--restart-grace", str(self.restart_grace),
             # tests poll the API fast; rate tests pass their own limits
             # in extra, which come later and win
             "--api-rate", "1000", "--api-burst", "10000"]
        if not self.tls:
            a.append("--insecure-no-tls")
        return a + self.extra

    def start(self, timeout=10):
        """Start the hub and wait for /healthz.  If another process took
        a port this test picked at random, try again on a new one."""
        for attempt in range(3):
            self.starts += 1
            self.proc = Proc(self.t, "%s-%d" % (self.name, self.starts),
                             self.argv(), cwd=self.cwd)
            self.started_at = time.monotonic()
            try:
                wait_until(self._healthy, timeout, "%s /healthz on port %d"
                           % (self.name, self.port))
                break
            except Failure:
                self.proc.wait(5)
                if self.fixed_port or attempt == 2 or not re.search(
                        r"address in use|binding", self.proc.stderr_text(),
                        re.I):
                    raise
                self.t.note("port %d was taken; trying another" % self.port)
                self.port = free_port()
        # a restart must come back where the listeners look for it
        self.fixed_port = True
        if self.tls:
            # a certificate given with --tls-cert (shared by the hubs of
            # test_multihub.py), else the one the hub made
            cert = os.path.join(self.data, "tls", "cert.pem")
            if "--tls-cert" in self.extra:
                cert = self.extra[self.extra.index("--tls-cert") + 1]
            self.fingerprint = cert_fingerprint(cert)
        tok = os.path.join(self.data, "admin.token")
        check(os.path.exists(tok), "hub wrote no %s" % tok)
        with open(tok) as f:
            self.token = f.read().strip()
        check(self.token, "%s is empty" % tok)
        return self

    def _healthy(self):
        if not self.proc.alive():
            fail("%s exited with status %s before answering /healthz:\n%s"
                 % (self.name, self.proc.returncode,
                    tail(self.proc.err_path, 30)))
        r = self.request("GET", "/healthz", token=None, pin=False,
                         timeout=2)
        # 503 is a hub that serves with a failing store (test_store.py)
        return r.status in (200, 503)

    def kill9(self):
        self.proc.signal(signal.SIGKILL)
        self.proc.wait(5)

    def stop(self):
        self.proc.signal(signal.SIGTERM)
        return self.proc.wait(10, "after SIGTERM")

    def log(self):
        return self.proc.stderr_text() + self.proc.stdout_text()

    # -- HTTP API --

    def request(self, method, path, body=None, token=DEFAULT, pin=True,
                timeout=10, headers=None, raw=None):
        if self.tls:
            conn = http.client.HTTPSConnection(
                self.host, self.port, timeout=deadline(timeout),
                context=tls_client_context())
        else:
            conn = http.client.HTTPConnection(self.host, self.port,
                                              timeout=deadline(timeout))
        try:
            conn.connect()
            if self.tls and pin:
                check_pin(conn.sock, self.fingerprint)
            hdrs = dict(headers or {})
            if token is DEFAULT:
                token = self.token
            if token is not None:
                hdrs["Authorization"] = "Bearer " + token
            data = raw
            if body is not None:
                data = json.dumps(body).encode()
                hdrs["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            return Response(resp.status, dict(resp.getheaders()),
                            resp.read())
        finally:
            conn.close()

    def api(self, method, path, body=None, expect=200, token=DEFAULT):
        """Call the API; the status must be expect; returns the JSON."""
        r = self.request(method, path, body=body, token=token)
        check(r.status == expect, "%s %s: HTTP %d, expected %d: %r"
              % (method, path, r.status, expect, r.body[:500]))
        return r.json()

    def agents(self):
        """{name: agent object} from GET /api/agents."""
        doc = self.api("GET", "/api/agents")
        check(isinstance(doc, dict) and isinstance(doc.get("agents"), list),
              "GET /api/agents: no agents list: %r" % doc)
        return {a.get("name"): a for a in doc["agents"]}

    def agent(self, name):
        """The agent object, or None if the hub does not know it."""
        r = self.request("GET", "/api/agents/" + quote(name))
        if r.status == 404:
            return None
        check(r.status == 200, "GET /api/agents/%s: %r" % (name, r))
        return r.json()

    def status(self, name):
        a = self.agents().get(name)
        return a.get("status") if a else None

    def wait_status(self, name, status, timeout=10):
        return wait_until(lambda: self.status(name) == status, timeout,
                          "agent %s to be %s" % (name, status))

    def create_key(self, uses=0, expires=0):
        doc = self.api("POST", "/api/enroll-keys",
                       {"uses": uses, "expires": expires}, expect=201)
        check(isinstance(doc.get("key"), str) and doc["key"],
              "POST /api/enroll-keys: no key in %r" % doc)
        return doc["key"]

    def create_key_doc(self, uses=0, expires=0):
        return self.api("POST", "/api/enroll-keys",
                        {"uses": uses, "expires": expires}, expect=201)

    def create_token(self, role, name=None):
        body = {"role": role}
        if name:
            body["name"] = name
        doc = self.api("POST", "/api/tokens", body, expect=201)
        check(isinstance(doc.get("token"), str),
              "POST /api/tokens: no token in %r" % doc)
        return doc["token"]

    def events(self, limit=1000):
        doc = self.api("GET", "/api/events?limit=%d" % limit)
        check(isinstance(doc.get("events"), list),
              "GET /api/events: no events list: %r" % doc)
        return doc["events"]

    def command(self, agent, body, expect=202):
        doc = self.api("POST", "/api/agents/%s/command" % quote(agent), body,
                       expect=expect)
        if expect == 202:
            check(isinstance(doc.get("id"), str), "no command id: %r" % doc)
            return doc["id"]
        return doc

    def wait_command(self, cid, timeout=15):
        """Poll GET /api/commands/ID until it has a final status."""
        final = ("done", "failed", "timeout", "lost")
        return wait_until(
            lambda: (lambda c: c if c.get("status") in final else None)(
                self.api("GET", "/api/commands/" + cid)),
            timeout, "command %s to finish" % cid)


def quote(s):
    from urllib.parse import quote as q
    return q(s, safe="")


def agent_online_pred(hub, name):
    def pred():
        a = hub.agents().get(name)
        return a if a and a.get("status") == "online" else None
    return pred


SANITIZER_RE = re.compile(
    r"(ERROR: (AddressSanitizer|LeakSanitizer)[^\n]*|"
    r"SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)[^\n]*|"
    r"[^\n]*runtime error:[^\n]*)")


# ---- the per-test context ----

class T:
    """One test's world: temp dir, processes, notes, cleanup."""

    def __init__(self, name):
        self.name = name
        base = os.environ.get("TMPDIR", "/tmp")
        self.dir = tempfile.mkdtemp(prefix="maestro-it-%s-" % name, dir=base)
        self.procs = []
        self.adopted = []       # PIDs a test found (a restarted listener)
        self.notes = []
        self.sockets = []
        self.env = self._clean_env()

    def _clean_env(self):
        env = dict(os.environ)
        for k in ("MAESTRO_HUB", "MAESTRO_TOKEN", "MAESTRO_TOKEN_FILE",
                  "MAESTRO_FINGERPRINT", "XDG_CONFIG_HOME",
                  "XDG_STATE_HOME", "XDG_DATA_HOME"):
            env.pop(k, None)
        home = os.path.join(self.dir, "home")
        os.makedirs(home, mode=0o700, exist_ok=True)
        env["HOME"] = home
        env["XDG_STATE_HOME"] = os.path.join(home, ".local", "state")
        env["XDG_DATA_HOME"] = os.path.join(home, ".local", "share")
        env["LC_ALL"] = "C.UTF-8"
        return env

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def mkdir(self, name):
        p = self.path(name)
        n = 1
        while os.path.exists(p):
            n += 1
            p = self.path("%s-%d" % (name, n))
        os.makedirs(p, mode=0o700)
        return p

    def note(self, msg):
        self.notes.append(msg)

    def write(self, name, text, mode=0o644):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    # -- programs --

    def hub(self, start=True, **kw):
        h = Hub(self, **kw)
        return h.start() if start else h

    def listener(self, hub, name, key=None, tags=None, state_dir=None,
                 extra=(), wrapper=(), pin=True, wait_online=False,
                 program=None):
        sd = state_dir or self.mkdir("state-" + re.sub(r"[^\w.-]", "_",
                                                       name))
        argv = list(wrapper) + [program or binary("maestro-listener"), "--hub",
                                hub.ws_url, "--name", name, "--state-dir",
                                sd]
        if key:
            argv += ["--enroll-key", key]
        if tags:
            argv += ["--tags", ",".join(tags)]
        if hub.tls and pin:
            argv += ["--fingerprint", hub.fingerprint]
        argv += list(extra)
        label = "listener-%s" % re.sub(r"[^\w.-]", "_", name)
        n = sum(1 for p in self.procs if p.name.startswith(label))
        p = Proc(self, label + ("-%d" % (n + 1) if n else ""), argv)
        p.state_dir = sd
        p.agent = name
        if wait_online:
            wait_until(lambda: self._lst_online(hub, p), 15,
                       "listener %s to be online" % name)
        return p

    def _lst_online(self, hub, p):
        if not p.alive():
            fail("listener %s exited with status %s:\n%s"
                 % (p.agent, p.returncode, tail(p.err_path, 30)))
        return agent_online_pred(hub, p.agent)()

    def enrolled(self, hub, names, tags=None):
        """Start one listener per name with a fresh key; all online."""
        key = hub.create_key()
        lst = [self.listener(hub, n, key=key, tags=tags) for n in names]
        for p in lst:
            wait_until(lambda p=p: self._lst_online(hub, p), 15,
                       "listener %s to be online" % p.agent)
        return lst

    def hubctl_argv(self, hub, args, token=DEFAULT, pin=True, global_=True):
        argv = [binary("hubctl")]
        if global_:
            argv += ["--hub", hub.url]
            tok = hub.token if token is DEFAULT else token
            if tok is not None:
                argv += ["--token", tok]
            if hub.tls and pin:
                argv += ["--fingerprint", hub.fingerprint]
        return argv + list(args)

    def hubctl(self, hub, *args, timeout=30, token=DEFAULT, pin=True,
               env=None, global_=True):
        argv = self.hubctl_argv(hub, args, token, pin, global_)
        return self.run(argv, timeout=timeout, env=env)

    def run(self, argv, timeout=30, env=None, stdin=None):
        """Run a program to completion; its output is kept in a Result."""
        start = time.monotonic()
        try:
            p = subprocess.run(argv, capture_output=True,
                               env=env if env is not None else self.env,
                               timeout=deadline(timeout), input=stdin,
                               start_new_session=True)
        except subprocess.TimeoutExpired as e:
            self.note("%s: timed out; stdout %r stderr %r"
                      % (" ".join(argv), e.stdout, e.stderr))
            fail("%s did not finish within %.1fs"
                 % (" ".join(argv), deadline(timeout)))
        r = Result(argv, p.returncode,
                   p.stdout.decode("utf-8", "replace"),
                   p.stderr.decode("utf-8", "replace"),
                   time.monotonic() - start)
        self.note(repr(r))
        return r

    def ws(self, hub, path="/ws/agent", timeout=5):
        c = WSClient("127.0.0.1", hub.port, path, tls=hub.tls,
                     fingerprint=hub.fingerprint if hub.tls else None,
                     timeout=timeout)
        self.sockets.append(c)
        return c

    # -- end of test --

    def adopt(self, pid):
        """Stop this PID at cleanup too (a process a program started,
        such as the fresh copy of a restarted listener)."""
        self.adopted.append(pid)

    def cleanup(self):
        for c in self.sockets:
            c.close()
        for pid in self.adopted:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                continue
            end = time.monotonic() + 5
            while time.monotonic() < end and os.path.exists(
                    "/proc/%d" % pid):
                time.sleep(0.05)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for p in reversed(self.procs):
            p.stop()

    def sanitizer_reports(self):
        """'name: first line' of every sanitizer report a child printed
        (ASan, LSan, UBSan); run after cleanup, when LSan has run."""
        found = []
        for p in self.procs:
            m = SANITIZER_RE.search(p.stderr_text())
            if m:
                found.append("%s: %s" % (p.name, m.group(0).strip()))
        return found

    def report(self):
        parts = [p.report() for p in self.procs]
        if self.notes:
            parts.append("--- notes:\n" + indent("\n".join(
                n[:2000] for n in self.notes[-15:])))
        parts.append("--- files kept in %s" % self.dir)
        return "\n".join(parts)


# ---- a raw WebSocket client (RFC 6455), for bad-input tests ----

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BIN, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class WSClosed(Exception):
    pass


class WSClient:
    """A deliberately simple client that can also misbehave.

    recv() returns one of:
      ("text", str) ("binary", bytes) ("close", code, reason) ("eof",)
      ("timeout",)
    """

    def __init__(self, host, port, path="/ws/agent", tls=False,
                 fingerprint=None, timeout=5, headers=None):
        self.timeout = deadline(timeout)
        raw = socket.create_connection((host, port), timeout=self.timeout)
        if tls:
            self.sock = tls_client_context().wrap_socket(
                raw, server_hostname=host)
            if fingerprint:
                check_pin(self.sock, fingerprint)
        else:
            self.sock = raw
        self.buf = b""
        self.closed = False
        self.send_error = None
        key = base64.b64encode(os.urandom(16)).decode()
        req = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (host, port),
               "Upgrade: websocket", "Connection: Upgrade",
               "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
        req += ["%s: %s" % kv for kv in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(req) + "\r\n\r\n").encode())
        head = self._read_until(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status_line = lines[0]
        check(re.match(r"HTTP/1\.1 101\b", lines[0]),
              "WebSocket handshake to %s refused: %r" % (path, head[:300]))
        hdrs = {}
        for ln in lines[1:]:
            if ":" in ln:
                k, v = ln.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        want = base64.b64encode(hashlib.sha1(
            (key + WS_GUID).encode()).digest()).decode()
        check(hdrs.get("sec-websocket-accept") == want,
              "bad Sec-WebSocket-Accept %r" % hdrs.get("sec-websocket-accept"))

    def _fill(self, deadline_at):
        left = deadline_at - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        if not data:
            raise WSClosed()
        self.buf += data

    def _read_until(self, sep):
        end = time.monotonic() + self.timeout
        while sep not in self.buf:
            self._fill(end)
        i = self.buf.index(sep) + len(sep)
        head, self.buf = self.buf[:i], self.buf[i:]
        return head

    def _read_n(self, n, end):
        while len(self.buf) < n:
            self._fill(end)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    # -- sending --

    def send_frame(self, opcode, payload, fin=True, mask=True, rsv=0):
        """Send one frame; False (and send_error set) if the peer is gone."""
        if isinstance(payload, str):
            payload = payload.encode()
        n = len(payload)
        b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
        mbit = 0x80 if mask else 0
        if n < 126:
            head = struct.pack("!BB", b0, mbit | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, mbit | 126, n)
        else:
            head = struct.pack("!BBQ", b0, mbit | 127, n)
        if mask:
            key = os.urandom(4)
            full = (key * (n // 4 + 1))[:n]
            payload = (int.from_bytes(payload, "big") ^ int.from_bytes(
                full, "big")).to_bytes(n, "big") if n else b""
            head += key
        try:
            self.sock.settimeout(self.timeout)
            self.sock.sendall(head + payload)
            return True
        except (OSError, ssl.SSLError) as e:
            self.send_error = e
            return False

    def send_text(self, text):
        return self.send_frame(OP_TEXT, text)

    def send_json(self, obj):
        return self.send_text(json.dumps(obj))

    def send_fragmented(self, payload, pieces, opcode=OP_TEXT):
        """Send payload as len(pieces) fragments of those sizes (the last
        takes the rest)."""
        if isinstance(payload, str):
            payload = payload.encode()
        off = 0
        for i, size in enumerate(pieces):
            last = i == len(pieces) - 1
            chunk = payload[off:] if last else payload[off:off + size]
            off += len(chunk)
            if not self.send_frame(opcode if i == 0 else OP_CONT, chunk,
                                   fin=last):
                return False
        return True

    # -- receiving --

    def recv_frame(self, timeout=None):
        """One raw frame: (fin, opcode, payload)."""
        return self._frame(time.monotonic() + deadline(
            timeout if timeout is not None else 5))

    def _frame(self, end):
        b0, b1 = self._read_n(2, end)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read_n(2, end))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_n(8, end))[0]
        key = self._read_n(4, end) if b1 & 0x80 else None
        data = self._read_n(n, end)
        if key:
            data = bytes(c ^ key[i % 4] for i, c in enumerate(data))
        return bool(b0 & 0x80), b0 & 0x0F, data

    def recv(self, timeout=5):
        return self._recv(time.monotonic() + deadline(timeout))

    def _recv(self, end):
        parts = []
        first_op = None
        try:
            while True:
                fin, op, data = self._frame(end)
                if op == OP_PING:
                    self.send_frame(OP_PONG, data)
                    continue
                if op == OP_PONG:
                    continue
                if op == OP_CLOSE:
                    self.closed = True
                    code = struct.unpack("!H", data[:2])[0] \
                        if len(data) >= 2 else None
                    return ("close", code, data[2:].decode("utf-8",
                                                           "replace"))
                if first_op is None:
                    first_op = op
                parts.append(data)
                if fin:
                    body = b"".join(parts)
                    if first_op == OP_TEXT:
                        return ("text", body.decode("utf-8", "replace"))
                    return ("binary", body)
        except socket.timeout:
            return ("timeout",)
        except (WSClosed, OSError, ssl.SSLError):
            self.closed = True
            return ("eof",)

    def recv_json(self, timeout=5):
        """The next text message as JSON; fails on anything else."""
        m = self.recv(timeout)
        check(m[0] == "text", "expected a text message, got %r" % (m,))
        try:
            return json.loads(m[1])
        except ValueError:
            fail("hub sent a text message that is not JSON: %r" % m[1][:300])
        return None

    def messages_until_closed(self, timeout=5):
        """Read until the connection ends.  Returns (messages, end) where
        messages are the JSON texts received and end is
        ("close", code, reason), ("eof",) or ("timeout",)."""
        msgs = []
        end = time.monotonic() + deadline(timeout)
        while True:
            m = self._recv(end)
            if m[0] == "text":
                try:
                    msgs.append(json.loads(m[1]))
                except ValueError:
                    msgs.append({"_raw": m[1]})
                continue
            if m[0] == "binary":
                msgs.append({"_binary": m[1][:100]})
                continue
            return msgs, m

    def close(self):
        try:
            if not self.closed:
                self.send_frame(OP_CLOSE, struct.pack("!H", 1000))
        except (OSError, ssl.SSLError):
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True


# ---- reading a child's stdout line by line with timestamps ----

class LineReader:
    """Reads a pipe in a thread, stamping each line with monotonic time."""

    def __init__(self, pipe):
        self.lines = []   # (time, bytes)
        self.done_at = None
        self._pipe = pipe
        self._th = threading.Thread(target=self._run, daemon=True)
        self._th.start()

    def _run(self):
        for line in iter(self._pipe.readline, b""):
            self.lines.append((time.monotonic(), line))
        self.done_at = time.monotonic()

    def join(self, timeout):
        self._th.join(deadline(timeout))

    def text(self):
        return b"".join(ln for _, ln in self.lines).decode("utf-8", "replace")
