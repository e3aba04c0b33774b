"""The build as a newcomer sees it: a clean link prints nothing alarming.

glibc warns at every static link that calls its NSS functions or dlopen;
the listener's expected ones are dropped by .dev/ld-quiet.awk (why is in
the file), any other warning still shows.  The link runs in a copy of the
build's objects, so the test relinks without compiling.
"""

import os
import shutil
import subprocess

import mtest
from mtest import check


def test_static_link_prints_no_warnings(t):
    if mtest.ASAN:
        mtest.skip("the sanitizer build links the listener dynamically")
    src = os.path.join(mtest.ROOT, mtest.build_dir())
    build = t.path("build")
    shutil.copytree(src, build, symlinks=True)
    os.unlink(os.path.join(build, "maestro-listener"))
    r = subprocess.run(["make", "--no-print-directory", "BUILD=" + build,
                        os.path.join(build, "maestro-listener")],
                       cwd=mtest.ROOT, capture_output=True, text=True,
                       timeout=300, check=False)
    check(r.returncode == 0 and os.path.exists(
        os.path.join(build, "maestro-listener")),
          "the listener's link failed: %s" % r.stderr[-3000:])
    check(" CC " not in r.stdout,
          "the copy was not up to date, make compiled: %s" % r.stdout)
    check("warning:" not in (r.stdout + r.stderr).lower(),
          "the static link printed warnings:\n%s" % r.stderr[-3000:])
    t.note("link output: %r" % (r.stdout + r.stderr))


def test_bench_tools_build(t):
    # bench/ is built by its own makefile from common/; nothing else in
    # the suite compiles it, and its figures are the project's
    r = subprocess.run(["make", "--no-print-directory", "bench",
                        "BUILD=" + mtest.build_dir()], cwd=mtest.ROOT,
                       capture_output=True, text=True, timeout=600,
                       check=False)
    check(r.returncode == 0, "make bench failed:\n%s" % r.stderr[-3000:])
    for tool in ("swarm", "rtt", "jsonbench"):
        check(os.access(os.path.join(mtest.build_dir(), tool), os.X_OK),
              "make bench did not build %s" % tool)
