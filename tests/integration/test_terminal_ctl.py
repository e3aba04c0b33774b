"""hubctl term: a real terminal end to end, seen from the operator's side.

hubctl runs on a real PTY (os.openpty: its stdin and stdout are the slave,
the test types into and reads from the master) against a real hub and a
real listener, whose shell runs on a PTY of its own.  The test waits for
hubctl to put the slave in raw mode (ICANON off) before typing, reads the
remote output from the master, and after hubctl ends checks with termios
on the slave that the terminal is cooked again (ECHO, ICANON, ISIG, OPOST,
ICRNL back) however the session ended.  Resizing is TIOCSWINSZ on the
slave plus SIGWINCH to hubctl (the slave is not hubctl's controlling
terminal, so the kernel sends none).  Without a tty, hubctl is driven
through a pipe as a script would."""

import fcntl
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import termios
import threading
import time

import mtest
from mtest import check, deadline, fail, wait_until

AGENT = "pc-term"
# what the terminal must have again when hubctl is gone
COOKED_L = termios.ECHO | termios.ICANON | termios.ISIG
COOKED_O = termios.OPOST
COOKED_I = termios.ICRNL


def one_agent(t, name=AGENT, **hub_kw):
    hub = t.hub(**hub_kw)
    lst = t.enrolled(hub, [name])
    return hub, lst[0]


def set_size(fd, cols, rows):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols,
                                                    0, 0))


class PtyCtl(mtest.Proc):
    """hubctl term on a PTY: type(), wait_out(), then wait().  A Proc
    whose stdin and stdout are the slave; what it prints is read from the
    master into memory."""

    def __init__(self, t, hub, args, cols=100, rows=30, token=mtest.DEFAULT,
                 name="hubctl-term"):
        # what Proc's methods (wait, signal, stop, stderr_text) use
        self.t = t
        self.name = name
        self.argv = t.hubctl_argv(hub, args, token=token)
        self.out_path = t.path("%s.stdout" % name)
        self.err_path = t.path("%s.stderr" % name)
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.started = time.monotonic()
        self.master, self.slave = os.openpty()
        set_size(self.slave, cols, rows)
        self.before = termios.tcgetattr(self.slave)
        self.p = subprocess.Popen(self.argv, stdin=self.slave,
                                  stdout=self.slave, stderr=self._err,
                                  env=t.env, start_new_session=True)
        self.pid = self.p.pid
        self.out = b""
        self._lock = threading.Lock()
        self._stop = False
        self._th = threading.Thread(target=self._read, daemon=True)
        self._th.start()
        t.procs.append(self)    # stopped and reported by T

    def _read(self):
        while not self._stop:
            r, _, _ = select.select([self.master], [], [], 0.1)
            if not r:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.out += data

    def output(self):
        with self._lock:
            return self.out

    def text(self, start=0):
        return self.output()[start:].decode("utf-8", "replace")

    def type(self, data):
        if isinstance(data, str):
            data = data.encode()
        os.write(self.master, data)

    def wait_out(self, pattern, timeout=10, start=0, what=None):
        """Wait for the regex in the output after byte offset start."""
        rx = re.compile(pattern)

        def pred():
            m = rx.search(self.text(start))
            if not m and not self.alive():
                fail("hubctl exited (status %s) before %s; stderr %r, "
                     "output %r" % (self.p.returncode, what or pattern,
                                    self.stderr_text(),
                                    self.text(start)[-2000:]))
            return m
        return wait_until(pred, timeout, what or repr(pattern))

    def lflag(self):
        return termios.tcgetattr(self.slave)[3]

    def wait_raw(self, timeout=15):
        """hubctl has the session open: it turned ICANON and ECHO off."""
        def pred():
            if not self.alive():
                fail("hubctl exited (status %s) before the session opened:"
                     " %r" % (self.p.returncode, self.stderr_text()))
            return not self.lflag() & (termios.ICANON | termios.ECHO)
        wait_until(pred, timeout, "hubctl to put the terminal in raw mode")

    def run(self, cmd, marker_re, timeout=10, what=None):
        """Type a command line, wait for marker_re in what follows it."""
        start = len(self.output())
        self.type(cmd + "\r")
        return self.wait_out(marker_re, timeout, start, what or cmd)

    def exit_shell(self, cmd, want):
        """Type cmd (exit N): hubctl ends with status want, says
        "Connection to AGENT closed." and restores the terminal."""
        self.type(cmd + "\r")
        rc = self.wait(10, "after " + cmd)
        check(rc == want, "%s: hubctl exited %s, expected %s: %r"
              % (cmd, rc, want, self.stderr_text()))
        check(re.search(r"Connection to \S+ closed\.", self.stderr_text()),
              "%s: the last line: %r" % (cmd, self.stderr_text()))
        self.check_restored("after " + cmd)

    def check_restored(self, how):
        """The slave is cooked again, as it was before hubctl."""
        a = termios.tcgetattr(self.slave)
        check(a[3] & COOKED_L == COOKED_L and a[1] & COOKED_O and
              a[0] & COOKED_I,
              "%s: the terminal was not restored (iflag %#o oflag %#o "
              "lflag %#o)" % (how, a[0], a[1], a[3]))
        check(a[:4] == self.before[:4],
              "%s: the terminal's settings differ from before: %r, "
              "before %r" % (how, a[:4], self.before[:4]))

    def stop(self, grace=3.0):
        super().stop(grace)
        self._stop = True
        self._th.join(2)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def report(self):
        return "%s\n    terminal output (last 1500): %r" % (
            super().report(), self.text()[-1500:])


def test_term_help(t):
    r = t.run([mtest.binary("hubctl"), "term", "--help"], timeout=10)
    check(r.rc == 0 and "~." in r.out and "operator" in r.out and
          "Exit status" in r.out and "record" in r.out,
          "hubctl term --help: %r" % r)
    r = t.run([mtest.binary("hubctl"), "--help"], timeout=10)
    check("term AGENT" in r.out, "hubctl --help does not list term: %r" % r)
    r = t.run([mtest.binary("hubctl"), "--token", "x", "term"], timeout=10)
    check(r.rc == 2 and "missing argument" in r.err, "no agent: %r" % r)


def test_term_echo_size_and_resize(t):
    hub, _ = one_agent(t)
    c = PtyCtl(t, hub, ["term", AGENT], cols=100, rows=30)
    c.wait_raw()
    c.run("echo $((6*7))", r"[\r\n]42\r\n", what="42 from echo $((6*7))")
    c.run("stty size", r"[\r\n]30 100\r\n", what="stty size = 30 100")
    # the window grows: TIOCSWINSZ, then the SIGWINCH a controlling
    # terminal would have sent
    set_size(c.slave, 120, 40)
    c.signal(signal.SIGWINCH)
    end = time.monotonic() + deadline(10)
    while True:
        start = len(c.output())
        c.type("stty size\r")
        try:
            c.wait_out(r"[\r\n]\d+ \d+\r\n", 5, start, "stty size")
        except mtest.Failure:
            pass
        if re.search(r"[\r\n]40 120\r\n", c.text(start)):
            break
        check(time.monotonic() < end, "stty size after the resize: %r"
              % c.text(start))
    c.exit_shell("exit", 0)


def test_term_full_screen_programs(t):
    hub, _ = one_agent(t)
    c = PtyCtl(t, hub, ["term", AGENT], cols=120, rows=40)
    c.wait_raw()
    if shutil.which("top"):
        c.run("top -b -n1 | head -20; echo top-done-$((2+2))",
              r"top-done-4\r\n", 20, "top -b -n1 to finish")
        out = c.text()
        check("PID" in out and "%CPU" in out, "top's table: %r" % out[-3000:])
    else:
        t.note("no top here")
    if shutil.which("vi"):
        start = len(c.output())
        c.type("vi\r")
        # vi takes the alternate screen (xterm-256color), then :q leaves
        c.wait_out(r"\x1b\[\?1049h", 10, start, "vi to draw its screen")
        c.type(":q\r")
        c.wait_out(r"\x1b\[\?1049l", 10, start, "vi to leave its screen")
        c.run("echo after-vi-$((2*3))", r"[\r\n]after-vi-6\r\n", 10,
              "the shell after vi")
    else:
        t.note("no vi here")
    c.exit_shell("exit", 0)


def test_term_exit_status_is_the_shells(t):
    hub, _ = one_agent(t)
    c = PtyCtl(t, hub, ["term", AGENT])
    c.wait_raw()
    c.exit_shell("exit 3", 3)


def test_term_tilde_escapes(t):
    hub, _ = one_agent(t)
    c = PtyCtl(t, hub, ["term", AGENT])
    c.wait_raw()
    # ~~ at the start of a line sends one ~; the rest of the line follows
    c.run("~~-nope-$((3+4))", r"~-nope-7", what="the line with one ~")
    check("~~-nope" not in c.text(), "~~ went out as two: %r" % c.text())
    # ~ after other characters is an ordinary character
    c.run("echo a~.b", r"[\r\n]a~\.b\r\n", what="echo a~.b")
    # after Enter, ~. leaves
    c.run("echo before-leaving", r"[\r\n]before-leaving\r\n")
    c.type("~.")
    rc = c.wait(10, "after ~.")
    check(rc == 0, "~.: hubctl exited %s: %r" % (rc, c.stderr_text()))
    err = c.stderr_text()
    check("Connection to %s closed." % AGENT in err, "~.: stderr %r" % err)
    check(len(err.strip().splitlines()) == 1, "~.: more than one line: %r"
          % err)
    c.check_restored("after ~.")


def test_term_signals_restore_the_terminal(t):
    hub, _ = one_agent(t)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        c = PtyCtl(t, hub, ["term", AGENT], name="hubctl-%d" % sig)
        c.wait_raw()
        c.run("echo up-$((1+%d))" % sig, r"[\r\n]up-%d\r\n" % (1 + sig))
        c.signal(sig)
        rc = c.wait(10, "after signal %d" % sig)
        check(rc == 128 + sig, "signal %d: hubctl exited %s: %r"
              % (sig, rc, c.stderr_text()))
        c.check_restored("after signal %d" % sig)
        c.stop()


def test_term_hub_or_agent_going_away(t):
    hub, lst = one_agent(t)
    # the agent dies: the hub says so, hubctl ends with 6
    c = PtyCtl(t, hub, ["term", AGENT], name="hubctl-agent")
    c.wait_raw()
    c.run("echo alive", r"[\r\n]alive\r\n")
    lst.signal(signal.SIGKILL)
    rc = c.wait(20, "after the agent was killed")
    check(rc == 6, "agent killed: hubctl exited %s: %r"
          % (rc, c.stderr_text()))
    check("agent_gone" in c.stderr_text(), "agent killed: %r"
          % c.stderr_text())
    c.check_restored("after the agent went away")
    # the hub dies: hubctl notices the connection drop, ends with 3
    t.enrolled(hub, ["pc-term2"])
    c = PtyCtl(t, hub, ["term", "pc-term2"], name="hubctl-hub")
    c.wait_raw()
    c.run("echo alive2", r"[\r\n]alive2\r\n")
    hub.kill9()
    rc = c.wait(20, "after the hub was killed")
    check(rc == 3, "hub killed: hubctl exited %s: %r" % (rc, c.stderr_text()))
    check("lost the hub" in c.stderr_text(), "hub killed: %r"
          % c.stderr_text())
    c.check_restored("after the hub went away")


def pipe_term(t, hub, script, agent=AGENT, timeout=30, **kw):
    argv = t.hubctl_argv(hub, ["term", agent], **kw)
    return t.run(argv, timeout=timeout, stdin=script.encode())


def test_term_without_a_tty(t):
    hub, _ = one_agent(t)
    r = pipe_term(t, hub, "echo $((6*7))\nexit\n")
    check(r.rc == 0, "piped: rc %s: %r" % (r.rc, r))
    check(re.search(r"42\r?\n", r.out), "piped: no 42 line: %r" % r)
    # the end of stdin is ^D: the shell ends without an exit
    r = pipe_term(t, hub, "echo piped-$((5*5))\n")
    check(r.rc == 0 and re.search(r"piped-25\r?\n", r.out),
          "EOF as ^D: %r" % r)
    r = pipe_term(t, hub, "echo x\nexit 5\n")
    check(r.rc == 5, "piped exit 5: %r" % r)
    # input larger than the send queue (64 KiB) and the hub's window
    # (256 KiB) goes through whole and in order: head reads it line by
    # line from the remote terminal, wc counts it (the terminal's echo of
    # what came before stty -echo may run into the count's line)
    body = "".join("line-%05d\n" % i for i in range(30000))
    script = ("stty -echo; head -n 30000 | wc -l | sed 's/^/count=/'\n"
              "%sexit\n" % body)
    r = pipe_term(t, hub, script, timeout=60)
    check(r.rc == 0 and re.search(r"count=30000\r?\n", r.out),
          "330 KB of input: rc %s, tail %r, stderr %r"
          % (r.rc, r.out[-500:], r.err[-500:]))


def test_term_refusals(t):
    hub, _ = one_agent(t)
    viewer = hub.create_token("viewer")
    r = pipe_term(t, hub, "echo no\n", token=viewer)
    check(r.rc == 3 and "forbidden" in r.err, "viewer token: %r" % r)
    check(len(r.err.strip().splitlines()) == 1, "viewer: one line: %r" % r)
    r = pipe_term(t, hub, "echo no\n", token="t0.nope")
    check(r.rc == 3 and "unauthorized" in r.err, "bad token: %r" % r)
    r = pipe_term(t, hub, "echo no\n", agent="no-such-agent")
    check(r.rc == 4 and "not_found" in r.err, "unknown agent: %r" % r)
    # a viewer on a tty: refused before raw mode, the terminal untouched
    c = PtyCtl(t, hub, ["term", AGENT], token=viewer, name="hubctl-viewer")
    rc = c.wait(15, "a viewer's refusal")
    check(rc == 3 and "forbidden" in c.stderr_text(),
          "viewer on a tty: %s %r" % (rc, c.stderr_text()))
    c.check_restored("after a refusal")


def test_term_not_allowed_and_offline(t):
    hub = t.hub()
    conf = t.write("listener.conf", "allow = shell,metrics\n")
    key = hub.create_key()
    lst = t.listener(hub, "pc-noterm", key=key, extra=["--config", conf],
                     wait_online=True)
    r = pipe_term(t, hub, "echo no\n", agent="pc-noterm")
    check(r.rc == 5 and "refused" in r.err and "allow" in r.err,
          "allow without terminal: %r" % r)
    lst.signal(signal.SIGTERM)
    lst.wait(10)
    hub.wait_status("pc-noterm", "offline")
    r = pipe_term(t, hub, "echo no\n", agent="pc-noterm")
    check(r.rc == 4 and "offline" in r.err, "offline agent: %r" % r)
