"""bench/release_roll.py N B: a roll of the 9.9.9 release to N scripted
agents (Python threads over test_release_hub.FakeAgent, real
ticketed HTTPS downloads, sha256 checked), batches of B; prints the roll's
wall time and the hub's bytes written (/proc/PID/io wchar) during it."""
import hashlib, os, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import mtest
from test_release_hub import FakeAgent, release_bin, publish, roll_state, VERSION

N, B = int(sys.argv[1]), int(sys.argv[2])


def main(t):
    hub = t.hub(heartbeat=30)
    rel = release_bin()
    sha = hashlib.sha256(open(rel, "rb").read()).hexdigest()
    publish(t, hub, rel, "--unsigned")
    key = hub.create_key()
    agents = [FakeAgent(t, hub, "s%04d" % i, "0.1.0", key=key) for i in range(N)]
    def serve(a):
        c = a.next_cmd(timeout=600)
        r = hub.request("GET", c["release"]["path"], token=None, timeout=60)
        ok = r.status == 200 and hashlib.sha256(r.body).hexdigest() == sha
        a.result(c["id"], "done" if ok else "failed", "" if ok else "bad download")
        time.sleep(0.05)
        a.reconnect(VERSION)
    ths = [threading.Thread(target=serve, args=(a,), daemon=True) for a in agents]
    for th in ths: th.start()
    io0 = open("/proc/%d/io" % hub.proc.p.pid).read()
    w0 = int([l for l in io0.splitlines() if l.startswith("wchar")][0].split()[1])
    t0 = time.time()
    r = t.hubctl(hub, "release", "roll", VERSION, "--all", "--batch", str(B))
    rid = r.out.strip()
    while roll_state(hub, rid)["state"] in ("running", "pausing"):
        time.sleep(0.1)
    dt = time.time() - t0
    io1 = open("/proc/%d/io" % hub.proc.p.pid).read()
    w1 = int([l for l in io1.splitlines() if l.startswith("wchar")][0].split()[1])
    st = roll_state(hub, rid)
    print("RESULT agents=%d batch=%d state=%s updated=%s time=%.2fs hub_wchar=%.1fMiB release=%d" % (
        N, B, st["state"], st["counts"]["updated"], dt, (w1 - w0) / 1048576, os.path.getsize(rel)))

if __name__ == "__main__":
    t = mtest.T("relh-bench")
    try:
        main(t)
    finally:
        t.cleanup()
