"""The dashboard end to end, in Debian's headless Chromium (tests/browser).

A real hub (TLS) with real listeners, one of them named like HTML; the
browser signs in, sees the agents live, runs a shell command and watches
its output stream in, takes a screenshot (shown inline, or a clear "not
available" while the listener cannot take one), then one listener is
stopped with SIGSTOP and its card must turn critical within a second of
the hub deciding it.  A second browser context is a phone (390 x 844),
where nothing may stick out of the screen and tables scroll instead of
cutting words (tests/browser/phone.mjs); tests/browser/polish.mjs checks
the agent page and the event log say what is true.  The agent page's
Terminal tab opens a shell on a listener over /ws/term: `echo $((6*7))`
typed in it shows 42 in the xterm.js buffer, under the hub's CSP with no
violation, and the session's recording replays it (tests/browser/
terminal.mjs).  The page is saved as
tests/artifacts/dashboard.png (with dashboard-phone.png,
dashboard-phone-agent.png, dashboard-phone-events.png and
dashboard-agent.png), which git ignores.
"""

import json
import os
import shutil
import signal
import subprocess

import mtest
from mtest import check, fail

CHROMIUM = "/usr/bin/chromium"
XSS = "<img src=x onerror=alert(1)>"


def need_tools():
    if not os.access(CHROMIUM, os.X_OK):
        fail("%s is missing: run .dev/deps.sh test (Debian's chromium)"
             % CHROMIUM)
    if not os.path.isdir(os.path.join(mtest.ROOT, "node_modules",
                                      "playwright-core")):
        fail("node_modules/playwright-core is missing: run make (npm ci)")
    if shutil.which("node") is None:
        fail("node is missing: run .dev/deps.sh test")
    for f in ("uPlot.iife.min.js", "xterm.mjs", "addon-fit.mjs"):
        vendor = os.path.join(mtest.ROOT, "dashboard", "vendor", f)
        if not os.path.exists(vendor):
            fail("%s is missing: run make (it copies uPlot and xterm.js "
                 "from npm)" % vendor)


def start_xvfb(t):
    """An X display for the screenshot command, when Xvfb is there."""
    if shutil.which("Xvfb") is None:
        return None
    for n in range(90, 130):
        if not os.path.exists("/tmp/.X11-unix/X%d" % n) and \
                not os.path.exists("/tmp/.X%d-lock" % n):
            mtest.Proc(t, "xvfb", ["Xvfb", ":%d" % n, "-screen", "0",
                                   "1024x768x24", "-nolisten", "tcp"])
            mtest.wait_until(lambda n=n: os.path.exists(
                "/tmp/.X11-unix/X%d" % n), 10, "Xvfb :%d" % n)
            return ":%d" % n
    return None


def test_dashboard_in_chromium(t):
    need_tools()
    display = start_xvfb(t)
    if display:
        t.env["DISPLAY"] = display
    # alert_on_offline: a first connection is alerted too, and the event
    # log must not call it a return
    conf = t.write("hub.conf", "alert_on_offline = true\n")
    hub = t.hub(heartbeat=0.5, miss=3, extra=[
        "--config", conf,
        "--dashboard", os.path.join(mtest.ROOT, "dashboard")])
    names = ["pc-shell", XSS, "victim"]
    key = hub.create_key()
    procs = {n: t.listener(hub, n, key=key, tags=["lab"]) for n in names}
    for n in names:
        mtest.wait_until(mtest.agent_online_pred(hub, n), 15,
                         "%s online" % n)
    art = os.path.join(mtest.ROOT, "tests", "artifacts")
    os.makedirs(art, exist_ok=True)
    cfg = {
        "url": hub.url, "token": hub.token, "agents": names,
        "shell": "pc-shell", "xss": XSS, "victim": "victim",
        "victim_pid": procs["victim"].pid, "chromium": CHROMIUM,
        "viewer_token": hub.create_token("viewer", "browser-viewer"),
        "artifact": os.path.join(art, "dashboard.png"),
        "phone_artifact": os.path.join(art, "dashboard-phone.png"),
        "agent_artifact": os.path.join(art, "dashboard-agent.png"),
    }
    cfg_path = t.write("e2e.json", json.dumps(cfg), mode=0o600)
    script = os.path.join(mtest.ROOT, "tests", "browser", "e2e.mjs")
    r = t.run(["node", script, cfg_path], timeout=200)
    procs["victim"].signal(signal.SIGCONT)
    try:
        doc = json.loads(r.out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        fail("e2e.mjs printed no result (exit %s): %s" % (r.rc, r.err[-2000:]))
    for line in doc.get("checks", []):
        t.note(line)
    check(r.rc == 0 and doc.get("ok"), "the browser test failed: %s\n%s"
          % (doc.get("error"), "\n".join(doc.get("checks", []))))
    shot = doc.get("screenshot", "")
    t.note("screenshot: %s (display %s)" % (shot, display))
    print("    browser: screenshot %s; card critical %.3f s after the hub "
          "decided; artifact %s" % (shot, doc.get("critical_delay_s", -1),
                                    cfg["artifact"]), flush=True)
    check(os.path.getsize(cfg["artifact"]) > 10000,
          "the dashboard PNG is missing or empty")
    check(hub.token not in hub.log(), "the hub logged the token")


test_dashboard_in_chromium.time_limit = 250


def test_dashboard_files_are_served_with_csp(t):
    hub = t.hub(extra=["--dashboard", os.path.join(mtest.ROOT, "dashboard")])
    r = hub.request("GET", "/", token=None)
    check(r.status == 200, "GET /: %r" % r)
    csp = r.headers.get("content-security-policy", "")
    check("script-src 'self'" in csp and "unsafe-inline" not in csp,
          "the dashboard's CSP allows inline script: %r" % csp)
    body = r.body.decode()
    check("<script>" not in body and " style=" not in body and
          "onclick" not in body, "index.html has inline script or style")
    for path in ("/js/app.js", "/app.css", "/vendor/uPlot.iife.min.js",
                 "/vendor/uPlot.min.css", "/js/terminal.js",
                 "/vendor/xterm.mjs", "/vendor/xterm.css",
                 "/vendor/addon-fit.mjs", "/vendor/xterm.LICENSE.txt"):
        r = hub.request("GET", path, token=None)
        check(r.status == 200 and len(r.body) > 100, "GET %s: %r"
              % (path, r))
    # no file of the dashboard builds HTML from strings
    for dirpath, _, files in os.walk(os.path.join(mtest.ROOT, "dashboard",
                                                  "js")):
        for f in files:
            src = open(os.path.join(dirpath, f)).read()
            for bad in ("innerHTML", "outerHTML", "insertAdjacentHTML",
                        "document.write", "eval("):
                check(bad not in src, "%s uses %s" % (f, bad))


def test_node_script_syntax(t):
    if shutil.which("node") is None:
        fail("node is missing: run .dev/deps.sh test")
    js = os.path.join(mtest.ROOT, "dashboard", "js")
    for f in ["tests/browser/e2e.mjs", "tests/browser/phone.mjs",
              "tests/browser/polish.mjs", "tests/browser/terminal.mjs",
              "tests/browser/gpu.mjs", "tests/browser/signed.mjs",
              "tests/browser/containers.mjs", "tests/browser/push.mjs",
              "tests/browser/config.mjs", "tests/browser/common.mjs",
              "dashboard/sw.js"] + \
            ["dashboard/js/" + n for n in sorted(os.listdir(js))]:
        p = subprocess.run(["node", "--check", os.path.join(mtest.ROOT, f)],
                           capture_output=True, text=True)
        check(p.returncode == 0, "node --check %s: %s" % (f, p.stderr))
