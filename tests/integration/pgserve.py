"""A private PostgreSQL for a test: initdb into a temp dir, postgres on a
free loopback port, stopped by PID at the test's cleanup.

Debian's postgresql package puts the server in /usr/lib/postgresql/N/bin.
initdb and postgres refuse to run as root: as root the cluster belongs to
the `postgres` user the package creates, and both run under setpriv (which
execs, so the PID kept is the server's own)."""

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile

from mtest import Proc, check, fail, free_port, wait_until


def bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(d.split("/")[-2]))
    if not dirs:
        fail("PostgreSQL is not installed (the postgresql package; "
             ".dev/deps.sh test installs it)")
    return dirs[-1]


class PG:
    def __init__(self, t):
        self.t = t
        self.bin = bindir()
        self.port = free_port()
        self.user = "maestro"
        self.proc = None
        self.as_root = os.geteuid() == 0
        # not under the test's dir: that one is root's, mode 0700
        self.dir = tempfile.mkdtemp(prefix="maestro-pg-")
        self.data = os.path.join(self.dir, "data")
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        r = t.run(self.wrap([os.path.join(self.bin, "initdb"), "-D",
                             self.data, "-A", "trust", "-U", self.user,
                             "-E", "UTF8", "--no-sync"]), timeout=120)
        check(r.rc == 0, "initdb: %r" % r)

    def wrap(self, argv):
        if not self.as_root:
            return argv
        return ["setpriv", "--reuid=postgres", "--regid=postgres",
                "--init-groups", "--"] + argv

    def start(self):
        self.proc = Proc(self.t, "postgres", self.wrap([
            os.path.join(self.bin, "postgres"), "-D", self.data,
            "-p", str(self.port), "-k", self.dir,
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]))
        wait_until(self.ready, 30, "postgres to accept connections")
        return self

    def ready(self):
        if not self.proc.alive():
            fail("postgres exited:\n%s" % self.proc.stderr_text())
        r = subprocess.run([os.path.join(self.bin, "pg_isready"), "-h",
                            "127.0.0.1", "-p", str(self.port)],
                           capture_output=True)
        return r.returncode == 0

    def stop(self):
        """A fast shutdown (SIGINT), waited for."""
        if self.proc is not None and self.proc.alive():
            self.proc.signal(signal.SIGINT)
            self.proc.wait(30, "postgres to shut down")
        self.proc = None

    def createdb(self, name):
        r = self.t.run([os.path.join(self.bin, "createdb"), "-h",
                        "127.0.0.1", "-p", str(self.port), "-U", self.user,
                        name])
        check(r.rc == 0, "createdb: %r" % r)

    def url(self, db):
        return "postgres://%s@127.0.0.1:%d/%s" % (self.user, self.port, db)

    def sql(self, db, query):
        """Rows of query as lists of strings (psql, unaligned)."""
        r = self.t.run([os.path.join(self.bin, "psql"), "-h", "127.0.0.1",
                        "-p", str(self.port), "-U", self.user, "-d", db,
                        "-At", "-F", "\t", "-c", query])
        check(r.rc == 0, "psql %s: %r" % (query, r))
        return [line.split("\t") for line in r.out.splitlines() if line]

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def start(t):
    """A running PostgreSQL, stopped and removed when t cleans up."""
    pg = PG(t)
    orig = t.cleanup

    def cleanup():
        try:
            orig()
        finally:
            pg.cleanup()
    t.cleanup = cleanup
    return pg.start()
