"""A Docker engine of a test's own: a dockerd on a socket in a short temp
dir, with its own data and exec roots, no bridge and no iptables rules,
and a one-binary busybox image (stdlib only; needs root, dockerd, the
docker CLI and busybox-static).

    d = Dockerd(t).start()          # skips the test when it cannot run
    try:
        d.import_busybox("mtest-bb:1")
        d.docker("run", "-d", "--name", "web", "--network", "none", ...)
    finally:
        d.stop()                    # containers, dockerd, mounts, dir

Everything is stopped by PID: dockerd (a mtest.Proc, so also at cleanup),
then whatever it left that names the temp dir on its command line
(containerd, shims).
"""

import io
import os
import shutil
import signal
import struct
import subprocess
import tarfile
import tempfile
import time

from mtest import Proc, deadline, fail, procs_with_cmdline, skip, wait_until


def docker_cli():
    """The docker CLI of the docker.io package if there, else any."""
    if os.access("/usr/bin/docker", os.X_OK):
        return "/usr/bin/docker"
    return shutil.which("docker")


def is_static(path):
    """True if path is an executable ELF file with no program interpreter
    (statically linked)."""
    if not os.access(path, os.X_OK):
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:5] != b"\x7fELF\x02":
                return False
            end = "<" if head[5] == 1 else ">"
            phoff, = struct.unpack(end + "Q", head[32:40])
            phentsize, phnum = struct.unpack(end + "HH", head[54:58])
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except (OSError, struct.error):
        return False
    for i in range(phnum):
        ptype, = struct.unpack(end + "I", table[i * phentsize:
                                                  i * phentsize + 4])
        if ptype == 3:      # PT_INTERP
            return False
    return True


class Dockerd:
    def __init__(self, t):
        self.t = t
        self.dir = None
        self.sock = None
        self.proc = None
        self.cli = docker_cli()

    def start(self, timeout=30):
        if os.geteuid() != 0:
            skip("dockerd needs root (running as uid %d)" % os.geteuid())
        for prog, pkg in (("dockerd", "docker.io"), ("containerd",
                                                     "docker.io")):
            if shutil.which(prog) is None:
                skip("%s is not installed (Debian package %s; .dev/deps.sh "
                     "test)" % (prog, pkg))
        if self.cli is None:
            skip("the docker CLI is not installed (docker.io)")
        if not is_static("/bin/busybox"):
            skip("/bin/busybox is missing or not statically linked (the "
                 "image holds nothing else: install busybox-static)")
        # the exec root holds containerd's sockets: keep the path short
        self.dir = tempfile.mkdtemp(prefix="mdk-", dir="/tmp")
        self.sock = os.path.join(self.dir, "docker.sock")
        self.t.note("dockerd in %s" % self.dir)
        self.proc = Proc(self.t, "dockerd", [
            shutil.which("dockerd"), "--host", "unix://" + self.sock,
            "--data-root", os.path.join(self.dir, "root"),
            "--exec-root", os.path.join(self.dir, "exec"),
            "--pidfile", os.path.join(self.dir, "docker.pid"),
            "--bridge", "none", "--iptables=false", "--ip-masq=false"])

        def up():
            if not self.proc.alive():
                fail("dockerd exited with status %s:\n%s"
                     % (self.proc.returncode,
                        self.proc.stderr_text()[-3000:]))
            if not os.path.exists(self.sock):
                return False
            return self.docker("version", "--format", "{{.Server.Version}}",
                               check=False, note=False).rc == 0

        wait_until(up, timeout, "dockerd to answer on %s" % self.sock,
                   interval=0.1)
        return self

    def docker(self, *args, check=True, timeout=60, note=True):
        """Run the docker CLI against this engine; a Result."""
        argv = [self.cli, "-H", "unix://" + self.sock] + list(args)
        start = time.monotonic()
        try:
            p = subprocess.run(argv, capture_output=True, text=True,
                               env=self.t.env, timeout=deadline(timeout),
                               check=False)
        except subprocess.TimeoutExpired:
            fail("docker %s: no answer within %.0fs" % (" ".join(args),
                                                        deadline(timeout)))
        r = _Res(argv, p.returncode, p.stdout, p.stderr,
                 time.monotonic() - start)
        if note:
            self.t.note(repr(r))
        if check and r.rc != 0:
            fail("docker %s failed: %r" % (" ".join(args), r))
        return r

    def import_busybox(self, tag):
        """An image of one static busybox with sh and sleep links."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            d = tarfile.TarInfo("bin")
            d.type = tarfile.DIRTYPE
            d.mode = 0o755
            tar.addfile(d)
            tar.add("/bin/busybox", "bin/busybox")
            for name in ("sh", "sleep"):
                ln = tarfile.TarInfo("bin/" + name)
                ln.type = tarfile.SYMTYPE
                ln.linkname = "busybox"
                tar.addfile(ln)
        path = os.path.join(self.dir, "busybox.tar")
        with open(path, "wb") as f:
            f.write(buf.getvalue())
        self.docker("import", path, tag)
        return tag

    def inspect(self, name, fmt):
        return self.docker("inspect", "-f", fmt, name).out.strip()

    def stop(self):
        """Remove the containers, stop dockerd by its PID, kill what it
        left, unmount and remove the dir.  Never fails."""
        if self.dir is None:
            return
        try:
            self._stop()
        except Exception as e:  # noqa: BLE001 - cleanup goes on
            self.t.note("stopping dockerd: %s: %s" % (type(e).__name__, e))
        finally:
            self._unmount()
            shutil.rmtree(self.dir, ignore_errors=True)
            if os.path.exists(self.dir):
                self.t.note("could not remove %s" % self.dir)
            self.dir = None

    def _stop(self):
        if self.proc is not None and self.proc.alive():
            r = self.docker("ps", "-aq", check=False, timeout=15)
            ids = r.out.split() if r.rc == 0 else []
            if ids:
                self.docker("rm", "-f", *ids, check=False, timeout=30)
            self.proc.signal(signal.SIGTERM)
            try:
                self.proc.p.wait(timeout=deadline(20))
            except subprocess.TimeoutExpired:
                self.t.note("dockerd did not stop within 20s; SIGKILL")
            self.proc.stop(grace=1)
        # containerd and shims name the dir on their command lines
        for pid, _ in procs_with_cmdline(self.dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def _unmount(self):
        mounts = []
        try:
            with open("/proc/self/mountinfo") as f:
                for line in f:
                    mp = line.split()[4].replace("\\040", " ")
                    if mp == self.dir or mp.startswith(self.dir + "/"):
                        mounts.append(mp)
        except OSError:
            return
        for mp in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True,
                           timeout=10, check=False)
        if mounts:
            self.t.note("unmounted what dockerd left: %r" % mounts)


class _Res:
    def __init__(self, argv, rc, out, err, elapsed):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err
        self.elapsed = elapsed

    def __repr__(self):
        return "<docker %s: rc %s, %.2fs, stderr %r, stdout %r>" % (
            " ".join(self.argv[3:]), self.rc, self.elapsed, self.err[:300],
            self.out[:300])

