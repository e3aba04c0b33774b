"""An Xvfb display of a test's own, with an MIT-MAGIC-COOKIE-1, and a PNG
decoder to check what a screenshot holds (stdlib only).

    x = Xvfb(t, "320x200x24").start()     # skips the test without Xvfb
    x.run("xsetroot", "-solid", "#3366cc")
    w, h, rows = png_decode(data)         # rows of RGB bytes

The display number is the lowest one no X server uses (no socket file,
no lock file, no abstract socket), so that a listener that looks for "the
lowest X display with a socket" finds this one when no other display with
a lower number exists (lower_displays() says which do).  The Xvfb is a
child of the test (mtest.Proc): it is stopped by its PID at cleanup, or
earlier by stop().
"""

import os
import shutil
import struct
import subprocess
import zlib

from mtest import Proc, check, fail, skip, wait_until

X_DIR = "/tmp/.X11-unix"


def _abstract_displays():
    """Display numbers with an abstract @/tmp/.X11-unix/XN socket."""
    found = set()
    try:
        with open("/proc/net/unix") as f:
            for line in f:
                i = line.find("@/tmp/.X11-unix/X")
                if i >= 0:
                    num = line[i + len("@/tmp/.X11-unix/X"):].strip()
                    if num.isdigit():
                        found.add(int(num))
    except OSError:
        pass
    return found


def used_displays():
    """Display numbers some X server has (or had: a stale socket or lock
    file counts, since a listener's search sees it too)."""
    used = _abstract_displays()
    try:
        for n in os.listdir(X_DIR):
            if n.startswith("X") and n[1:].isdigit():
                used.add(int(n[1:]))
    except OSError:
        pass
    for n in os.listdir("/tmp"):
        if n.startswith(".X") and n.endswith("-lock") and n[2:-5].isdigit():
            used.add(int(n[2:-5]))
    return used


class Xvfb:
    def __init__(self, t, screen="320x200x24"):
        self.t = t
        self.screen = screen
        self.num = None
        self.display = None
        self.auth = t.path("xvfb.auth")
        self.proc = None

    def start(self, timeout=10):
        for prog in ("Xvfb", "xauth", "xsetroot"):
            if shutil.which(prog) is None:
                skip("%s is not installed (.dev/deps.sh test installs "
                     "xvfb, xauth and x11-xserver-utils)" % prog)
        used = used_displays()
        self.num = next(n for n in range(0, 1000) if n not in used)
        self.display = ":%d" % self.num
        cookie = os.urandom(16).hex()
        open(self.auth, "wb").close()
        os.chmod(self.auth, 0o600)
        r = subprocess.run(["xauth", "-f", self.auth, "add", self.display,
                            ".", cookie], capture_output=True, text=True,
                           env=self.t.env, timeout=10, check=False)
        check(r.returncode == 0, "xauth add: %r" % (r,))
        self.proc = Proc(self.t, "xvfb-%d" % self.num,
                         ["Xvfb", self.display, "-screen", "0", self.screen,
                          "-noreset", "-auth", self.auth, "-nolisten",
                          "tcp"])

        def ready():
            if not self.proc.alive():
                fail("Xvfb %s exited with status %s: %s"
                     % (self.display, self.proc.returncode,
                        self.proc.stderr_text()[-2000:]))
            # a client with the cookie gets in: the server is up and
            # uses the -auth file
            return subprocess.run(
                ["xsetroot", "-name", "mtest"], env=self.env(),
                capture_output=True, timeout=5,
                check=False).returncode == 0

        wait_until(ready, timeout, "Xvfb %s to accept clients"
                   % self.display, interval=0.1)
        return self

    def env(self, base=None):
        e = dict(base if base is not None else self.t.env)
        e.pop("WAYLAND_DISPLAY", None)
        e["DISPLAY"] = self.display
        e["XAUTHORITY"] = self.auth
        return e

    def run(self, *argv):
        """Run an X client on this display; it must succeed."""
        r = subprocess.run(list(argv), env=self.env(), capture_output=True,
                           text=True, timeout=10, check=False)
        check(r.returncode == 0, "%s on %s: %r" % (argv[0], self.display,
                                                   r))
        return r

    def lower_displays(self):
        """Other displays with a lower number than ours (a listener's
        search for the lowest display would find them first)."""
        return sorted(n for n in used_displays() if n < self.num)

    def stop(self):
        if self.proc is not None:
            self.proc.stop()


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def png_decode(data):
    """(width, height, rows): rows are bytes of R, G, B per pixel.  Checks
    the signature, every chunk's CRC, IHDR first and IEND last; 8-bit RGB
    or RGBA (alpha dropped), not interlaced; filter types 0-4."""
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG (signature %r)"
          % data[:8])
    pos, idat, chunks, ihdr = 8, [], [], None
    while pos < len(data):
        check(pos + 12 <= len(data), "PNG chunk cut at byte %d" % pos)
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        crc = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]
        check(len(body) == n and zlib.crc32(typ + body) & 0xffffffff == crc,
              "PNG chunk %r at byte %d: bad length or CRC" % (typ, pos))
        chunks.append(typ)
        if typ == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat.append(body)
        pos += 12 + n
    check(chunks and chunks[0] == b"IHDR" and chunks[-1] == b"IEND",
          "PNG chunks %r" % chunks)
    w, h, depth, ctype, _, _, interlace = ihdr
    check(depth == 8 and ctype in (2, 6) and interlace == 0,
          "PNG bit depth %d, colour type %d, interlace %d: not 8-bit RGB"
          % (depth, ctype, interlace))
    bpp = 3 if ctype == 2 else 4
    stride = w * bpp
    raw = zlib.decompress(b"".join(idat))
    check(len(raw) == h * (stride + 1), "PNG data %d bytes, expected %d"
          % (len(raw), h * (stride + 1)))
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        check(f <= 4, "PNG row %d: filter type %d" % (y, f))
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif f == 4:
                line[i] = (line[i] + _paeth(a, b, c)) & 255
        prev = line
        if bpp == 4:
            line = bytearray(v for i, v in enumerate(line) if i % 4 != 3)
        rows.append(bytes(line))
    return w, h, rows
