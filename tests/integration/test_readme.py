"""The README's tour, typed as printed, against `make run`'s hub.

`make run` runs for real (in a directory of the test's own, on a free
port: MAESTRO_DEMO_DIR and MAESTRO_PORT); the tour's code block is taken
from README.md's text and run by bash exactly as written, from a
directory where `.maestro` is that demo's.  bash -e stops at the first
command that fails, so reaching the last line (hubctl watch, which shows
the second agent of the tour coming online) means every line before it
worked.
"""

import os
import re
import signal
import socket

import mtest
from mtest import check, fail, wait_until


def tour_block():
    with open(os.path.join(mtest.ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^## A tour\n.*?^```sh\n(.*?)^```", text, re.M | re.S)
    check(m is not None, "README.md has no '## A tour' section with a sh "
          "block")
    return m.group(1)


def text_of(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def stop_group(p, sig, timeout):
    """Signal every process of p's session (its pid is the group's)."""
    if p.alive():
        os.killpg(p.pid, sig)
    return p.wait(timeout, "after %s" % signal.Signals(sig).name)


def start_demo(t, home, port):
    env = dict(t.env, MAESTRO_DEMO_DIR=os.path.join(home, ".maestro"),
               MAESTRO_PORT=str(port))
    demo = mtest.Proc(t, "make-run", [
        "make", "--no-print-directory", "-C", mtest.ROOT, "run",
        "BUILD=" + mtest.build_dir()], env=env)

    def running():
        check(demo.alive(), "make run exited %s:\n%s\n%s" % (
            demo.returncode, demo.stdout_text(), demo.stderr_text()))
        return "Maestro is running." in text_of(demo.out_path)
    wait_until(running, 120, "make run to say it is running")
    return demo


def test_readme_tour_runs_as_printed(t):
    home = t.mkdir("work")
    port = mtest.free_port()
    demo = start_demo(t, home, port)
    said = text_of(demo.out_path)
    t.note(said)
    env_file = os.path.join(home, ".maestro", "env")
    check(". %s" % env_file in said and os.path.exists(env_file),
          "make run does not say how to get hubctl going: %s" % said)
    check(re.search(r"sha256:[0-9a-f]{64}", said) and "admin.token" in said,
          "make run does not show the certificate's fingerprint and "
          "where the token is: %s" % said)

    block = tour_block()
    t.note("the tour:\n" + block)
    tour = mtest.Proc(t, "tour", ["bash", "-xec", block], cwd=home)

    def pc2_arrives():
        out = text_of(tour.out_path)
        if not tour.alive():
            fail("the tour stopped (status %s) at:\n%s\nits output:\n%s"
                 % (tour.returncode, mtest.tail(tour.err_path, 15), out))
        return re.search(r"\sstatus\s+pc-2\s+.*-> online\b", out, re.M)
    wait_until(pc2_arrives, 60, "hubctl watch to show pc-2 online")
    out = text_of(tour.out_path)
    stop_group(tour, signal.SIGTERM, 10)

    check(re.search(r"^demo\s+online\b", out, re.M),
          "hubctl agents does not list demo online:\n%s" % out)
    check(re.search(r"^name:\s+demo$", out, re.M) and "last heartbeat:" in out,
          "hubctl show demo:\n%s" % out)
    check(re.search(r"^Filesystem\s", out, re.M),
          "the shell command's output (df -h /):\n%s" % out)
    check(re.search(r'^\{.*"mem":\{"used":.*\}$', out, re.M),
          "hubctl send demo metrics, one line of JSON:\n%s" % out)
    # --since replays the stored events, commands worded as live ones
    check(re.search(r"\scommand\s+demo\s+c-[0-9a-f]+ shell df -h / by "
                    r"admin: done exit 0$", out, re.M),
          "hubctl watch --since does not show the shell command:\n%s" % out)
    check(re.search(r"^Linux \d", out, re.M),
          "hubctl term demo did not run uname -sr on demo:\n%s" % out)
    check(re.search(r"^s-[0-9a-f]{16}\s+demo\s", out, re.M),
          "hubctl sessions demo does not list the terminal session:\n%s"
          % out)
    check(re.search(r"^t[0-9a-f]+\.[0-9a-f]{32,}$", out, re.M),
          "hubctl token create printed no token:\n%s" % out)

    # Ctrl-C in a terminal reaches make, the script, the hub and the
    # listener; make itself exits "Interrupt", the script stops the others
    stop_group(demo, signal.SIGINT, 15)
    check("maestro: stopping" in text_of(demo.out_path),
          "make run did not say it stops:\n%s" % demo.stdout_text())

    def hub_gone():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return True
        return False
    wait_until(hub_gone, 10, "the demo hub to stop listening")
