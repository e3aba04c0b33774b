"""The command lines of the three programs: --help, --version, bad flags
and bad config lines (contract: exit 2 with a one-line reason on stderr;
a config error names file:line)."""

import os

from mtest import MC_VERSION, binary, check, deadline, free_port

PROGRAMS = ("maestro-hub", "maestro-listener", "hubctl")


def lines(text):
    return [ln for ln in text.splitlines() if ln.strip()]


def check_usage_error(r, what, must_contain=()):
    check(r.rc == 2, "%s: exit status %s, expected 2 (%r)" % (what, r.rc, r))
    check(len(lines(r.err)) == 1,
          "%s: expected a one-line reason on stderr, got %r" % (what, r.err))
    for s in must_contain:
        check(s in r.err, "%s: stderr %r does not mention %r"
              % (what, r.err, s))


def test_help_exits_0(t):
    for prog in PROGRAMS:
        r = t.run([binary(prog), "--help"], timeout=10)
        check(r.rc == 0, "%s --help: exit %s: %r" % (prog, r.rc, r))
        check("usage" in r.out.lower(),
              "%s --help: no usage on stdout: %r" % (prog, r.out[:300]))
        check(r.err.strip() == "",
              "%s --help wrote to stderr: %r" % (prog, r.err))


def test_version(t):
    for prog in PROGRAMS:
        r = t.run([binary(prog), "--version"], timeout=10)
        check(r.rc == 0, "%s --version: exit %s: %r" % (prog, r.rc, r))
        check(MC_VERSION in r.out, "%s --version: %r lacks %s"
              % (prog, r.out, MC_VERSION))


def test_unknown_flag_exits_2(t):
    for prog in PROGRAMS:
        r = t.run([binary(prog), "--no-such-flag"], timeout=10)
        check_usage_error(r, prog + " --no-such-flag", ["--no-such-flag"])
    # hubctl: also after a command
    r = t.run([binary("hubctl"), "agents", "--no-such-flag"], timeout=10)
    check_usage_error(r, "hubctl agents --no-such-flag", ["--no-such-flag"])


def test_bad_flag_values_exit_2(t):
    data = t.mkdir("data")
    port = "127.0.0.1:%d" % free_port()
    hub = [binary("maestro-hub"), "--data", data, "--listen", port]
    cases = [
        (hub + ["--heartbeat", "soon"], "--heartbeat soon"),
        (hub + ["--miss", "many"], "--miss many"),
        (hub + ["--log-level", "loud"], "--log-level loud"),
        (hub + ["--heartbeat"], "--heartbeat without a value"),
        (hub + ["--listen", "nowhere"], "--listen nowhere"),
        ([binary("maestro-listener"), "--hub", "ftp://127.0.0.1:1",
          "--state-dir", t.mkdir("st")], "listener --hub ftp://"),
        ([binary("maestro-listener"), "--hub", "wss://127.0.0.1:1",
          "--state-dir", t.mkdir("st"), "--fingerprint", "sha256:zz"],
         "listener --fingerprint sha256:zz"),
        ([binary("maestro-listener"), "--hub", "wss://127.0.0.1:1",
          "--state-dir", t.mkdir("st"), "--name", "a/b"],
         "listener --name a/b"),
        ([binary("hubctl"), "--hub", "https://127.0.0.1:1", "--token",
          "x.y", "frobnicate"], "hubctl frobnicate (unknown command)"),
        ([binary("hubctl"), "--hub", "https://127.0.0.1:1", "--token",
          "x.y", "send"], "hubctl send without an agent"),
        ([binary("hubctl"), "--hub", "https://127.0.0.1:1", "--token",
          "x.y", "--fingerprint", "sha256:1234", "agents"],
         "hubctl --fingerprint sha256:1234"),
    ]
    for argv, what in cases:
        r = t.run(argv, timeout=10)
        check_usage_error(r, what)


def test_hub_bad_config_lines(t):
    port = free_port()
    data = t.mkdir("data")
    cases = [
        ("# the hub\nlisten = 127.0.0.1:%d\nno_such_key = 1\n" % port, 3),
        ("heartbeat = 0.2\n\n\nmiss = many\n", 4),
        ("# x\nheartbeat 5\n", 2),
        ("heartbeat = forever\n", 1),
        ("log_level = loud\n", 1),
    ]
    for i, (text, line) in enumerate(cases):
        conf = t.write("hub-%d.conf" % i, text)
        r = t.run([binary("maestro-hub"), "--config", conf, "--data", data,
                   "--listen", "127.0.0.1:%d" % port], timeout=10)
        check_usage_error(r, "hub config %r" % text,
                          ["%s:%d" % (conf, line)])


def test_listener_bad_config_lines(t):
    sd = t.mkdir("state")
    cases = [
        ("hub = wss://127.0.0.1:1\nname = x\nfrobnicate = yes\n", 3),
        ("# comment\n\nhub wss://127.0.0.1:1\n", 3),
        ("hub = wss://127.0.0.1:1\nstate_dir = %s\nlog_level = loud\n" % sd,
         3),
    ]
    for i, (text, line) in enumerate(cases):
        conf = t.write("listener-%d.conf" % i, text)
        r = t.run([binary("maestro-listener"), "--config", conf,
                   "--state-dir", sd], timeout=10)
        check_usage_error(r, "listener config %r" % text,
                          ["%s:%d" % (conf, line)])


def test_hub_bad_settings_name_where(t):
    """Every bad setting exits 2 with FILE:LINE (or the flag), the key and
    what is expected - also the checks that run once the file and the
    flags are both read."""
    port = free_port()
    data = t.mkdir("data")
    cases = [
        # (config text, its bad line, what stderr must also say)
        ("# hub\nlisten = 127.0.0.1:99999\n", 2,
         ["listen", "'127.0.0.1:99999'", "PORT from 1 to 65535"]),
        ("heartbeat = 1\nlisten = nowhere\n", 2,
         ["listen", "'nowhere'", "ADDR an IP address"]),
        ("\ntls_cert = %s\n" % t.write("c.pem", "x"), 2,
         ["tls_cert", "needs tls_key too"]),
        ("tls_key = %s\n" % t.write("k.pem", "x"), 1,
         ["tls_key", "needs tls_cert too"]),
        ("tls_cert = %s\ntls_key = %s\n" % (t.path("none.pem"),
                                          t.write("k2.pem", "x")), 1,
         ["tls_cert", "cannot read", "none.pem"]),
        ("tls_cert = %s\ntls_key = %s\ninsecure_no_tls = true\n"
         % (t.write("c3.pem", "x"), t.write("k3.pem", "x")), 3,
         ["insecure_no_tls", "contradicts tls_cert (", ":1)"]),
        ("# alerts\n\ntelegram_chat_id = 42\n", 3,
         ["telegram_chat_id", "needs telegram_bot_token"]),
    ]
    for i, (text, line, want) in enumerate(cases):
        conf = t.write("hub-where-%d.conf" % i, text)
        r = t.run([binary("maestro-hub"), "--config", conf, "--data", data,
                   "--listen", "127.0.0.1:%d" % port], timeout=10)
        check_usage_error(r, "hub config %r" % text,
                          ["%s:%d: " % (conf, line)] + want)
    # the same checks name the flag when a flag gave the value
    flags = [
        (["--listen", "127.0.0.1:99999"], ["--listen:", "1 to 65535"]),
        (["--listen", "127.0.0.1:%d" % port, "--tls-cert",
          t.path("c.pem")], ["--tls-cert:", "needs --tls-key too"]),
        (["--listen", "127.0.0.1:%d" % port, "--heartbeat", "soon"],
         ["--heartbeat:", "'soon'", "e.g. 30s"]),
    ]
    for args, want in flags:
        r = t.run([binary("maestro-hub"), "--data", data] + args,
                  timeout=10)
        check_usage_error(r, "hub %s" % " ".join(args), want)
        check(".conf" not in r.err, "a flag's error names a file: %r"
              % r.err)


def test_hub_sighup_with_a_bad_listen_keeps_serving(t):
    """SIGHUP with a bad listen line changes nothing: the hub serves on,
    logs FILE:LINE, and a good file afterwards is taken."""
    import signal
    from mtest import wait_until
    conf = t.write("hub.conf", "# hub\nmiss = 3\n")
    hub = t.hub(extra=["--config", conf])
    with open(conf, "w") as f:
        f.write("# hub\nmiss = 4\nlisten = 127.0.0.1:99999\n")
    mark = hub.proc.log_size()
    hub.proc.signal(signal.SIGHUP)
    log = wait_until(lambda: (lambda s: s if "SIGHUP" in s else None)(
        hub.proc.log_since(mark)), 5, "the hub's answer to SIGHUP")
    check("%s:3: listen: '127.0.0.1:99999'" % conf in log and
          "1 to 65535" in log and "previous settings" in log,
          "the SIGHUP error does not name the line and the fix: %r" % log)
    check("SIGHUP: reloaded" not in log, "a bad file was taken: %r" % log)
    check(hub.proc.alive(), "the hub exited on a bad SIGHUP")
    check(hub.request("GET", "/healthz", token=None).status == 200,
          "the hub stopped serving after a bad SIGHUP")
    with open(conf, "w") as f:
        f.write("# hub\nmiss = 4\n")
    mark = hub.proc.log_size()
    hub.proc.signal(signal.SIGHUP)
    wait_until(lambda: "SIGHUP: reloaded" in hub.proc.log_since(mark), 5,
               "the reload of the fixed file")
    check("miss 4" in hub.proc.log_since(mark), "the fixed file's miss: %r"
          % hub.proc.log_since(mark))
    # a setting that needs a restart is named with its line, and the rest
    # of the file applies (the self-signed certificate the hub made is no
    # tls_cert setting that insecure_no_tls would contradict)
    with open(conf, "w") as f:
        f.write("miss = 5\ninsecure_no_tls = true\n")
    mark = hub.proc.log_size()
    hub.proc.signal(signal.SIGHUP)
    log = wait_until(lambda: (lambda s: s if "SIGHUP: reloaded" in s
                              else None)(hub.proc.log_since(mark)), 5,
                     "the reload with a restart-only change")
    check("%s:2: insecure_no_tls changed, which takes effect only when the "
          "hub restarts" % conf in log and "miss 5" in log,
          "the restart-only change is not named with its line: %r" % log)
    check(hub.request("GET", "/healthz", token=None).status == 200,
          "the hub stopped serving TLS before a restart")


def test_listener_bad_settings_name_where(t):
    sd = t.mkdir("state")
    cases = [
        ("hub = wss://127.0.0.1:1\nrun_as = nosuchuser\n", 2,
         ["run_as", "'nosuchuser'", "local user"]),
        ("hub = wss://127.0.0.1:1\n# tags\ntags = a b\n", 3,
         ["tags", "'a b'", "comma list", "gpu,lab"]),
        ("hub = wss://127.0.0.1:1\nca = %s\n" % t.path("none.pem"), 2,
         ["ca", "cannot read"]),
        ("hub = wss://127.0.0.1:1\nfingerprint = sha256:%s\n"
         "insecure = true\n" % ("ab" * 32), 3,
         ["insecure", "fingerprint (", ":2)", "keep one"]),
    ]
    for i, (text, line, want) in enumerate(cases):
        conf = t.write("lst-where-%d.conf" % i, text)
        r = t.run([binary("maestro-listener"), "--config", conf,
                   "--state-dir", sd], timeout=10)
        check_usage_error(r, "listener config %r" % text,
                          ["%s:%d: " % (conf, line)] + want)
    for args, want in ((["--run-as", "nosuchuser"], ["--run-as:"]),
                       (["--tags", "a b"], ["--tags:", "comma list"])):
        r = t.run([binary("maestro-listener"), "--hub", "wss://127.0.0.1:1",
                   "--state-dir", sd] + args, timeout=10)
        check_usage_error(r, "listener %s" % " ".join(args), want)


def test_hubctl_bad_config_lines(t):
    # the default file, found through HOME
    conf = os.path.join(t.env["HOME"], ".config", "maestro", "hubctl.conf")
    os.makedirs(os.path.dirname(conf))
    with open(conf, "w") as f:
        f.write("hub = https://127.0.0.1:1\nbogus_key = 1\n")
    r = t.run([binary("hubctl"), "agents"], timeout=10)
    check_usage_error(r, "hubctl with a bad ~/.config/maestro/hubctl.conf",
                      ["hubctl.conf:2"])
    # an explicit --config FILE
    other = t.write("ctl.conf", "# settings\n\ntoken\n")
    r = t.run([binary("hubctl"), "--config", other, "agents"], timeout=10)
    check_usage_error(r, "hubctl --config with a line without '='",
                      ["%s:3" % other])


def test_hubctl_wrong_scheme_fails_at_once(t):
    """--hub http:// to a TLS hub (which closes on a plain request, as its
    admission control does in a reconnect storm) and https:// to a hub
    without TLS: exit 3 at once, saying which scheme the hub speaks - no
    retries, no waiting for a hub that is not gone."""
    tls = t.hub(name="hub-tls")
    plain = t.hub(tls=False, name="hub-plain")
    cases = [
        (tls, "http://%s" % tls.hostport, "speaks TLS",
         "--hub https://%s" % tls.hostport),
        (plain, "https://%s" % plain.hostport, "speaks plain HTTP",
         "--hub http://%s" % plain.hostport),
    ]
    for hub, url, says, fix in cases:
        for args in (["agents"], ["watch"],
                     ["send", "pc-x", "shell", "--", "true"],
                     ["send", "--all", "shell", "--", "true"]):
            r = t.run([binary("hubctl"), "--hub", url, "--token", hub.token]
                      + args, timeout=20)
            what = "hubctl --hub %s %s" % (url, " ".join(args))
            check(r.rc == 3, "%s: exit %s, expected 3 (%r)" % (what, r.rc, r))
            check(says in r.err and fix in r.err,
                  "%s: stderr does not say %r and %r: %r"
                  % (what, says, fix, r.err))
            check("storm" not in r.err and "lost the hub" not in r.err,
                  "%s: taken for a busy or restarting hub: %r" % (what, r.err))
            check(r.elapsed < deadline(3), "%s: took %.1f s"
                  % (what, r.elapsed))


def test_hubctl_messages_name_hubctl_commands(t):
    # the hub's API says "see GET /api/silences"; hubctl says what to type
    hub = t.hub()
    r = t.hubctl(hub, "silence", "clear", "no-such-silence")
    check(r.rc == 1 and "no running silence 'no-such-silence'" in r.err and
          "hubctl silence list" in r.err and "/api/" not in r.err,
          "silence clear of an unknown id: %r" % r)
    r = t.hubctl(hub, "show", "no-such-agent")
    check(r.rc == 4 and "hubctl agents" in r.err and "/api/" not in r.err,
          "show of an unknown agent: %r" % r)


def test_missing_config_file_exits_2(t):
    missing = t.path("no-such.conf")
    data = t.mkdir("data")
    for argv in (
            [binary("maestro-hub"), "--config", missing, "--data", data,
             "--listen", "127.0.0.1:%d" % free_port()],
            [binary("maestro-listener"), "--config", missing, "--hub",
             "wss://127.0.0.1:1", "--state-dir", t.mkdir("st")],
            [binary("hubctl"), "--config", missing, "agents"]):
        r = t.run(argv, timeout=10)
        check_usage_error(r, " ".join(os.path.basename(a) for a in argv[:3]),
                          [missing])
