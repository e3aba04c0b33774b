"""The listener under valgrind for 30 s against a real hub (0.2 s
heartbeat), running commands meanwhile, then SIGTERM: exit status 0 means
no memory errors and no definite leaks.  Skipped under MAESTRO_ASAN=1
(the listener is built with sanitizers there).

Why the listener is relinked dynamically here: valgrind replaces malloc and
the string functions through a preloaded library, which a fully static
binary never loads.  Under valgrind the static maestro-listener therefore
reports "total heap usage: 0 allocs" (so no leak can ever be found) and
dozens of false "uninitialised value" errors inside glibc's own SSE/AVX
string functions and startup code.  Linking the very same object files
(BUILD/obj/listener/*.o and libmaestro-common.a) against the shared libc
gives valgrind the whole picture of the listener's own code."""

import glob
import os
import shutil
import signal
import subprocess
import time

from mtest import ASAN, binary, build_dir, check, fail, skip, tail, wait_until

LIBS = ["-lcjson", "-lwebsockets", "-lssl", "-lcrypto", "-lz", "-lcap",
        "-lstatgrab", "-lpthread", "-ldl", "-lm"]


def dynamic_listener(t):
    """The listener's objects linked against shared libraries."""
    binary("maestro-listener")
    objs = sorted(glob.glob(os.path.join(build_dir(), "obj", "listener",
                                         "*.o")))
    lib = os.path.join(build_dir(), "libmaestro-common.a")
    if not objs or not os.path.exists(lib):
        fail("no listener objects or %s in %s to link a dynamic listener "
             "for valgrind" % (lib, build_dir()))
    out = t.path("maestro-listener-dyn")
    cc = os.environ.get("CC", "cc")
    p = subprocess.run([cc, "-o", out] + objs + [lib] + LIBS,
                       capture_output=True, text=True, check=False)
    if p.returncode != 0:
        fail("linking a dynamic listener failed:\n%s" % p.stderr[-2000:])
    return out

RUN_SECONDS = 30


def test_listener_under_valgrind(t):
    if ASAN:
        skip("MAESTRO_ASAN=1: the sanitizers do this job")
    vg = shutil.which("valgrind")
    if vg is None:
        skip("valgrind is not installed (.dev/deps.sh test installs it)")
    hub = t.hub(heartbeat=0.2, miss=3)
    key = hub.create_key()
    vlog = t.path("valgrind.log")
    wrapper = [vg, "--leak-check=full", "--error-exitcode=99",
               "--errors-for-leak-kinds=definite", "--log-file=" + vlog]
    lst = t.listener(hub, "pc-vg", key=key, wrapper=wrapper,
                     program=dynamic_listener(t))
    start = time.monotonic()
    wait_until(lambda: t._lst_online(hub, lst), 60,
               "the listener under valgrind to be online")
    # exercise the command path a few times while it runs
    for i in range(3):
        r = t.hubctl(hub, "send", "pc-vg", "shell", "--", "sh", "-c",
                     "echo vg-%d; echo err >&2; exit %d" % (i, i), timeout=60)
        check(r.rc == i and "vg-%d" % i in r.out,
              "command %d under valgrind: %r" % (i, r))
    r = t.hubctl(hub, "send", "pc-vg", "shell", "--timeout", "1", "--",
                 "sleep", "20", timeout=60)
    check(r.rc == 124, "timeout under valgrind: %r" % r)
    r = t.hubctl(hub, "send", "pc-vg", "metrics", timeout=60)
    check(r.rc == 0, "metrics under valgrind: %r" % r)
    left = RUN_SECONDS - (time.monotonic() - start)
    while left > 0:
        check(lst.alive(), "listener died under valgrind:\n%s"
              % tail(vlog, 60))
        time.sleep(min(1.0, left))
        left = RUN_SECONDS - (time.monotonic() - start)
    st = hub.status("pc-vg")
    check(st == "online", "after %ds under valgrind the agent is %s"
          % (RUN_SECONDS, st))
    lst.signal(signal.SIGTERM)
    rc = lst.wait(60)
    check(rc == 0, "listener under valgrind exited %s (99 = valgrind "
          "errors or definite leaks):\n%s" % (rc, tail(vlog, 80)))
    log = open(vlog).read()
    check("ERROR SUMMARY: 0 errors" in log, "valgrind errors:\n%s"
          % tail(vlog, 80))
    check("total heap usage: 0 allocs" not in log,
          "valgrind did not see the heap (static binary?)")
    hub.wait_status("pc-vg", "offline", 5)


test_listener_under_valgrind.time_limit = 180
