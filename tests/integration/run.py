#!/usr/bin/python3
"""Run Maestro's integration tests.

    tests/integration/run.py [SUBSTRING...]

Discovers tests/integration/test_*.py and runs every test_* function in
file order, each with a fresh mtest.T (temp dir, processes, cleanup).  With
arguments, only tests whose "module.function" name contains one of them
run.  Prints "PASS name (1.2s)" / "FAIL name: reason" (followed by the
children's stderr) / "SKIP name: reason", and at the end
"integration: N passed, N failed".  Exit status 1 if any test failed.

Environment: MAESTRO_BUILD (default "build"), MAESTRO_ASAN=1 (deadlines x3),
MAESTRO_KEEP=1 (keep every test's temp dir, not only failed ones),
MAESTRO_VERBOSE=1 (print what passing tests noted, e.g. measured times).
"""

import importlib.util
import inspect
import os
import shutil
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import mtest  # noqa: E402

DEFAULT_TIME_LIMIT = 120


class TimeLimit(Exception):
    pass


def on_alarm(signum, frame):
    raise TimeLimit()


def discover():
    tests = []
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        mod_name = fn[:-3]
        spec = importlib.util.spec_from_file_location(
            mod_name, os.path.join(HERE, fn))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        funcs = [(inspect.getsourcelines(f)[1], name, f)
                 for name, f in vars(mod).items()
                 if name.startswith("test_") and inspect.isfunction(f)
                 and f.__module__ == mod_name]
        for _, name, f in sorted(funcs, key=lambda x: x[0]):
            tests.append(("%s.%s" % (mod_name[5:], name[5:]), f))
    return tests


def reason_of(e):
    if isinstance(e, TimeLimit):
        return "test time limit reached"
    if isinstance(e, mtest.Failure):
        return str(e)
    tb = traceback.extract_tb(e.__traceback__)
    where = ""
    for fr in reversed(tb):
        if os.path.basename(fr.filename).startswith(("test_", "mtest")):
            where = " at %s:%d" % (os.path.basename(fr.filename), fr.lineno)
            break
    return "%s: %s%s" % (type(e).__name__, e, where)


def run_one(name, fn):
    t = mtest.T(name.replace(".", "-"))
    limit = getattr(fn, "time_limit", DEFAULT_TIME_LIMIT) * mtest.SLOW
    start = time.monotonic()
    outcome, reason = "PASS", ""
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(limit) + 1)
    try:
        fn(t)
    except mtest.Skip as e:
        outcome, reason = "SKIP", str(e)
    except (Exception, TimeLimit) as e:  # noqa: BLE001
        outcome, reason = "FAIL", reason_of(e)
        if not isinstance(e, (mtest.Failure, TimeLimit)):
            t.note(traceback.format_exc())
    finally:
        signal.alarm(0)
        try:
            t.cleanup()
        except Exception as e:  # noqa: BLE001
            if outcome == "PASS":
                outcome, reason = "FAIL", "cleanup: " + reason_of(e)
    # a memory error or leak in any child fails the test, even if what the
    # test checked looked right (the reports appear at exit, in cleanup)
    reports = t.sanitizer_reports()
    if reports and outcome != "FAIL":
        outcome, reason = "FAIL", "sanitizer report: " + "; ".join(reports)
    elif reports:
        reason += " (and sanitizer reports: %s)" % "; ".join(reports)
    took = time.monotonic() - start
    if outcome == "PASS":
        print("PASS %s (%.1fs)" % (name, took), flush=True)
        if os.environ.get("MAESTRO_VERBOSE") == "1" and t.notes:
            print(mtest.indent("\n".join(t.notes), "    "), flush=True)
    elif outcome == "SKIP":
        print("SKIP %s: %s" % (name, reason), flush=True)
    else:
        print("FAIL %s: %s" % (name, reason), flush=True)
        print(mtest.indent(t.report(), "    "), flush=True)
    if outcome != "FAIL" and os.environ.get("MAESTRO_KEEP") != "1":
        shutil.rmtree(t.dir, ignore_errors=True)
    return outcome


def main(argv):
    filters = argv[1:]
    try:
        tests = discover()
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        print("integration: 0 passed, 1 failed")
        return 1
    passed = failed = 0
    for name, fn in tests:
        if filters and not any(f in name for f in filters):
            continue
        outcome = run_one(name, fn)
        if outcome == "PASS":
            passed += 1
        elif outcome == "FAIL":
            failed += 1
    print("integration: %d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
