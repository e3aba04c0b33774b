/*
 * ctl_main.c - hubctl's entry point: the command table, help and dispatch.
 *
 * Every command is one row of cmds[]: a noun, an optional verb
 * ("token create"), its handler, and the text --help shows for it, so the
 * help cannot forget a command.  Global options (ctl_opts.c) are taken out
 * of argv first, wherever they stand; the handler gets the words after
 * its noun and verb, parses its own flags and only then checks the
 * settings a request needs, so a usage error is reported as one (exit 2)
 * even when no token or hub is configured.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "mc_proto.h"

struct ctl_cmd {
	const char	*noun;
	const char	*verb;		/* NULL: the noun takes no verb */
	ctl_cmd_fn	 fn;
	const char	*synopsis;	/* after "hubctl "; may hold '\n' */
	const char	*about;
};

static const struct ctl_cmd cmds[] = {
	{ "agents", NULL, ctl_cmd_agents, "agents",
	  "list agents: name, status, last seen, cpu, mem, disk, tags, "
	  "version" },
	{ "show", NULL, ctl_cmd_show, "show AGENT",
	  "one agent's facts, status, last metrics and containers" },
	{ "containers", NULL, ctl_cmd_containers,
	  "containers [--agent NAME] [--tag TAG] [--image REPO] [--state S]",
	  "the fleet's containers: agent, name, image, state, health,\n"
	  "      restarts, cpu, mem, up since, BEHIND when the registry has a "
	  "newer\n      image; --state also takes unhealthy, down, behind" },
	{ "send", NULL, ctl_cmd_send,
	  "send AGENT shell [--timeout S] [--cap BYTES] -- CMD [ARG...]\n"
	  "send AGENT metrics|stop|restart|docker_ps\n"
	  "send AGENT docker_restart CONTAINER\n"
	  "send AGENT screenshot [-o FILE.png]\n"
	  "send --queue DURATION AGENT KIND ...\n"
	  "send --tag TAG|--all [--queue DURATION] KIND ...",
	  "run a command on an agent; a shell command's output is printed "
	  "as it\n      comes and hubctl exits with its status (124 on "
	  "timeout); --tag and\n      --all run it on many agents at once "
	  "and end with a summary" },
	{ "term", NULL, ctl_cmd_term, "term AGENT",
	  "an interactive shell on the agent in this terminal, like ssh "
	  "(operator);\n      ~. at the start of a line disconnects; exit "
	  "status: the shell's; recorded" },
	{ "update-containers", NULL, ctl_cmd_update,
	  "update-containers IMAGE (--tag TAG|--all|AGENT...) [--batch N] "
	  "[--prune]\n"
	  "update-containers ... [--timeout S]",
	  "pull IMAGE and recreate the containers created from it, N agents "
	  "at a\n      time (default 1); a container that does not come up "
	  "(healthy) is\n      rolled back and stops the roll; --prune "
	  "removes old images (operator)" },
	{ "release", "publish", ctl_cmd_release_publish,
	  "release publish FILE [--key NAME|FILE | --unsigned]",
	  "upload a listener build (static x86-64, made with make VERSION=)\n"
	  "      signed with the operator's key; --unsigned: listeners without "
	  "trust\n      keys then take the hub's sha256 (admin)" },
	{ "release", "list", ctl_cmd_release_list, "release list",
	  "published listener releases: version, size, sha256, signer, date" },
	{ "release", "roll", ctl_cmd_release_roll,
	  "release roll VERSION (--tag TAG|--all|AGENT...) [--batch N] "
	  "[--pause D]",
	  "update the listeners to VERSION, N at a time (default 10), "
	  "waiting D\n      between batches; a failure or rollback stops "
	  "the roll (admin)" },
	{ "release", "status", ctl_cmd_release_status, "release status [ROLL]",
	  "a roll's agents: state, version before and after, error; exit 1 "
	  "when\n      it stopped (default: the newest roll)" },
	{ "history", NULL, ctl_cmd_history, "history [AGENT] [--limit N]",
	  "past commands, newest first, with status and exit codes" },
	{ "watch", NULL, ctl_cmd_watch, "watch [--since ID|DURATION]",
	  "live stream of status changes, alerts and command events, one "
	  "line each\n      (time, kind, agent, text); --since 1h first shows "
	  "the stored ones; a hub\n      restart is waited for (5 min) and "
	  "nothing is lost or shown twice; Ctrl-C stops" },
	{ "sessions", NULL, ctl_cmd_sessions,
	  "sessions [AGENT] [--limit N]\n"
	  "sessions play ID [--speed N]",
	  "recorded terminal sessions, newest first; play one back in this\n"
	  "      terminal with its timing (pauses over 2 s cut to 2 s)" },
	{ "enroll-key", "create", ctl_cmd_key_create,
	  "enroll-key create [--uses N] [--expires DURATION]",
	  "make a key listeners enroll with; prints the key alone; by\n"
	  "      default it enrolls at most 10 machines within 1 day (0: no "
	  "limit)" },
	{ "enroll-key", "list", ctl_cmd_key_list, "enroll-key list",
	  "enrollment keys, their uses and expiry" },
	{ "enroll-key", "revoke", ctl_cmd_key_revoke, "enroll-key revoke ID",
	  "revoke an enrollment key" },
	{ "key", "create", ctl_key_cmd_create,
	  "key create [--name NAME] [--passphrase-file FILE]",
	  "make your Ed25519 signing key (default name: your user name);\n"
	  "      prints the public line for the listeners' trust =" },
	{ "key", "list", ctl_key_cmd_list, "key list",
	  "your signing keys: name, default, encrypted, public line" },
	{ "token", "create", ctl_cmd_token_create,
	  "token create admin|operator|viewer [--name LABEL]",
	  "make an API token; prints the token alone" },
	{ "token", "list", ctl_cmd_token_list, "token list",
	  "API tokens and their roles" },
	{ "token", "revoke", ctl_cmd_token_revoke, "token revoke ID",
	  "revoke an API token" },
	{ "backup", NULL, ctl_cmd_backup, "backup FILE",
	  "a consistent copy of the hub's database (admin); check it with\n"
	  "      sqlite3 FILE 'PRAGMA integrity_check'" },
	{ "alerts", "test", ctl_cmd_alerts_test, "alerts test",
	  "send a test message to every alert channel; prints each "
	  "channel's\n      outcome (exit 1 if any failed)" },
	{ "config", "status", ctl_cmd_config_status, "config status",
	  "the config repository the hub follows: the commit in force, its\n"
	  "      author and subject, the last fetch and any error; with\n"
	  "      backup_repo, the backup's last commit, last push, pending\n"
	  "      changes and push error" },
	{ "config", "sync", ctl_cmd_config_sync, "config sync",
	  "fetch the config repository now and wait until it is applied\n"
	  "      (exit 1 when the fetch failed or the commit was refused)" },
	{ "config", "log", ctl_cmd_config_log, "config log [-n N]",
	  "the branch's newest commits; * marks the one in force" },
	{ "config", "diff", ctl_cmd_config_diff, "config diff [COMMIT]",
	  "what would change against the commit in force: by default the\n"
	  "      branch's tip, fetched now (what a sync applies when it is\n"
	  "      new); says whether it would be refused (exit 0: nothing differs, 1: it\n"
	  "      differs or would be refused, 2: no such commit)" },
	{ "config", "rollback", ctl_cmd_config_rollback,
	  "config rollback COMMIT",
	  "apply an earlier commit until the next new one upstream" },
	{ "hubs", NULL, ctl_cmd_hubs, "hubs",
	  "the hubs of the cluster (bus = redis://... on the hubs): name (*\n"
	  "      marks the hub asked), address, agents connected to it, online\n"
	  "      agents, live feed sessions, last announcement, version; then\n"
	  "      the bus's state (exit 1 when the hub cannot reach it); a hub\n"
	  "      without a bus lists itself alone" },
	{ "silence", NULL, ctl_cmd_silence,
	  "silence AGENT|--tag TAG --for DURATION [--reason TEXT]\n"
	  "silence list\n"
	  "silence clear ID",
	  "mute an agent's (or a tag's) alerts for planned work; list or "
	  "end\n      the running silences (their start and end are "
	  "events)" },
	{ "ack", NULL, ctl_cmd_ack, "ack AGENT",
	  "acknowledge the agent's open incident (critical, or a rule "
	  "holding):\n      its alert is not repeated until it ends; an "
	  "event says who (operator)" },
};

#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static const char usage_options[] =
"Global options (before or after the command, not after --):\n"
"  --hub URL             the hub, https://HOST:PORT or http://HOST:PORT\n"
"                        (default " CTL_DEFAULT_HUB "; env MAESTRO_HUB)\n"
"  --token TOKEN         an API token (env MAESTRO_TOKEN)\n"
"  --token-file FILE     read the token from FILE, e.g. DATA/admin.token\n"
"                        (env MAESTRO_TOKEN_FILE)\n"
"  --fingerprint sha256:HEX\n"
"                        trust exactly the hub certificate with this\n"
"                        SHA-256, as maestro-hub prints it (env\n"
"                        MAESTRO_FINGERPRINT)\n"
"  --ca FILE             trust hub certificates signed by this CA\n"
"  --insecure            do not check the hub's certificate (warns)\n"
"  --key NAME|FILE       sign send and term with this key (a name from\n"
"                        'hubctl key list', or a PEM file); see\n"
"                        'hubctl key --help'\n"
"  --passphrase-file FILE\n"
"                        the key's passphrase (else env\n"
"                        MAESTRO_KEY_PASSPHRASE, else asked on the tty)\n"
"  --json                print the API's JSON instead of text\n"
"  --config FILE         settings file (default\n"
"                        ~/.config/maestro/hubctl.conf): hub, token,\n"
"                        token_file, fingerprint, insecure, ca, key,\n"
"                        passphrase_file\n"
"  --help, --version\n"
"Settings come from the config file, then the environment, then flags.\n"
"\n"
"Exit status: the remote status for a shell command (124: it timed out);\n"
"0 or 1 for the others (a fan-out: 0 only if every agent ran it and\n"
"exited 0); 2 usage; 3 cannot reach or authenticate to the hub (send and\n"
"watch wait up to 5 min for a hub that went away while they ran); 4 agent\n"
"unknown or not online, no agent matched, or a queued command expired;\n"
"term: the remote shell's status, and 5 and 6 (see 'hubctl term --help').\n";

static const char usage_examples[] =
"Examples:\n"
"  export MAESTRO_HUB=https://hub.lan:8443\n"
"  hubctl --fingerprint sha256:3f9c... --token-file admin.token agents\n"
"  hubctl send pc-gpu shell -- nvidia-smi\n"
"  hubctl send pc-gpu shell --timeout 5m -- 'apt-get -y upgrade 2>&1'\n"
"  hubctl send --tag lab shell -- uptime\n"
"  hubctl send --queue 1h pc-laptop shell -- 'apt-get -y update'\n"
"  hubctl send pc-gpu screenshot -o gpu.png\n"
"  hubctl term pc-gpu\n"
"  hubctl history pc-gpu --limit 20\n"
"  hubctl update-containers registry.lan/app:stable --tag lab --batch 2\n"
"  hubctl sessions play s-1a2b3c4d5e6f7a8b\n"
"  hubctl show pc-gpu\n"
"  KEY=$(hubctl enroll-key create --uses 10 --expires 1d)\n"
"  hubctl token create operator --name ci\n"
"  hubctl key create && hubctl --key \"$USER\" send pc-gpu shell -- uptime\n";

int
ctl_usage(const char *noun, const char *fmt, ...)
{
	va_list ap;

	fputs("hubctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see 'hubctl %s%s--help'\n", noun ? noun : "",
	    noun ? " " : "");
	return CTL_EXIT_USAGE;
}

static void
print_cmd(const struct ctl_cmd *cmd)
{
	const char *s = cmd->synopsis, *nl;

	while (*s != '\0') {
		nl = strchr(s, '\n');
		if (nl == NULL)
			nl = s + strlen(s);
		printf("  hubctl %.*s\n", (int)(nl - s), s);
		s = *nl ? nl + 1 : nl;
	}
	printf("      %s\n", cmd->about);
}

static int
usage(void)
{
	size_t i;

	printf("usage: hubctl [OPTIONS] COMMAND [ARGS]\n\n"
	    "Control a Maestro hub: see agents, run commands on them, "
	    "manage access.\n\nCommands:\n");
	for (i = 0; i < NCMDS; i++)
		print_cmd(&cmds[i]);
	printf("  hubctl COMMAND --help\n      help on one command\n\n");
	fputs(usage_options, stdout);
	putchar('\n');
	fputs(usage_examples, stdout);
	return CTL_EXIT_OK;
}

static const char send_notes[] =
"A shell command given as one argument is sent as it is (pipes and ';'\n"
"work: -- 'df -h | sort'); several arguments are joined with spaces, each\n"
"quoted for /bin/sh if it needs it (-- ls -l 'my dir').\n"
"  --timeout S        seconds, or 30s, 5m, 2h (default 60)\n"
"  --cap BYTES        output bytes the hub keeps (default 1 MiB, at most\n"
"                     16 MiB)\n"
"  --queue DURATION   if the agent is not online, the hub keeps the\n"
"                     command and runs it once when the agent is back;\n"
"                     after DURATION (e.g. 90s, 10m, 2h; at most 30d) it\n"
"                     expires instead (exit 4).  Without it a command for\n"
"                     an agent that is not online fails at once (exit 4)\n"
"  --tag TAG, --all   run on every agent with the tag, or on all agents,\n"
"                     instead of one AGENT: output lines come prefixed\n"
"                     'AGENT: ', then a summary on stderr; exit 0 only if\n"
"                     every agent ran it and it exited 0 (agents not\n"
"                     online count as failed), 4 if no agent matched\n"
"  -o FILE.png        screenshot: save the picture (else it stays on the\n"
"                     hub and hubctl prints where)\n"
"docker_ps prints its containers as a table.  At most a few commands run\n"
"at once per agent (4 by default); more wait their turn on the hub.\n"
"With --json hubctl waits for the command and prints its record (a\n"
"fan-out: {\"commands\":[records],\"offline\":[agents not reached]}).\n"
"With a signing key (--key NAME, or key = NAME in hubctl.conf) the command\n"
"is signed for each agent: the agent runs exactly what was signed, within\n"
"5 minutes (so --queue is at most 5m); see 'hubctl key --help'.\n"
"Examples:\n"
"  hubctl send pc-gpu shell -- nvidia-smi\n"
"  hubctl send --tag gpu shell --timeout 2m -- 'nvidia-smi -L'\n"
"  hubctl send --all --queue 1h shell -- 'apt-get -y update'\n"
"  hubctl send pc-gpu docker_ps\n"
"  hubctl send pc-gpu screenshot -o gpu.png\n";

static const char term_notes[] =
"Opens a shell on AGENT - the login shell of the listener's run_as user,\n"
"TERM=xterm-256color - and connects this terminal to it, as ssh does: the\n"
"terminal is raw while the session runs (every key goes to the remote\n"
"shell, Ctrl-C too), window size changes follow, and the terminal is\n"
"restored however the session ends.  Full-screen programs (top, vi) work.\n"
"  ~.   at the start of a line (after Enter): disconnect\n"
"  ~~   at the start of a line: send one ~\n"
"Without a terminal on stdin (a pipe, a file) there is no raw mode and no\n"
"~ escape: stdin is sent as it comes and its end sends ^D (again each\n"
"second until the session ends: a shell that was busy or starting may miss\n"
"one), so a script can drive the shell:\n"
"  printf 'uptime\\nexit\\n' | hubctl term pc-gpu\n"
"It needs a token with the operator role (a viewer token is refused), a\n"
"listener that allows `terminal` (allow = in its config), and at most 4\n"
"sessions open on the agent.  The hub records every session (its output;\n"
"what was typed too only with the hub's record_input = yes): 'hubctl\n"
"sessions' lists the recordings and plays them back.\n"
"With a signing key (--key NAME, or key = NAME in hubctl.conf) the session\n"
"is signed for AGENT; a listener with require_signed = yes opens none\n"
"without one (see 'hubctl key --help').\n"
"At the end one line on stderr says why (\"Connection to AGENT closed.\").\n"
"Exit status:\n"
"  the remote shell's (0 when it exits 0); 0 after ~.\n"
"  3  the hub cannot be reached, refused the token, or the token is not\n"
"     operator; or the hub is stopping or went away during the session\n"
"  4  the agent is unknown or not online\n"
"  5  the agent refused the terminal (no `terminal` in its allow =, 4\n"
"     sessions open, a listener older than terminals) or the shell could\n"
"     not start\n"
"  6  the session was cut: the agent went away, the listener's\n"
"     terminal_idle passed, or the hub is stopping\n"
"  128+N  hubctl got signal N (SIGTERM, SIGHUP, SIGINT, SIGQUIT)\n"
"  1  anything else (a broken stdout, a protocol error)\n"
"Examples:\n"
"  hubctl term pc-gpu\n"
"  printf 'df -h /\\nexit\\n' | hubctl term pc-gpu > df.txt\n";

static const char history_notes[] =
"  --limit N   how many commands, newest first (default 50, at most 1000)\n"
"With --json hubctl prints the API's answer.\n"
"Example: hubctl history pc-gpu --limit 20\n";

static const char sessions_notes[] =
"Every terminal session is recorded on the hub (asciicast v2: what the\n"
"shell printed, and what was typed only if the hub has record_input = yes).\n"
"  --limit N   how many sessions, newest first (default 100, at most 1000)\n"
"Columns: ID (for play), AGENT, USER (the token's name), OPENED (local\n"
"time), DURATION, END (exit STATUS, closed, idle, agent_gone, shutdown,\n"
"refused, failed; open while it runs), OUTPUT (bytes the shell printed;\n"
"'(cut)': the recording stopped at the hub's record_max).\n"
"play ID writes the session's output to stdout as it came: the pauses as\n"
"recorded, divided by --speed N (default 1; 2 is twice as fast, 0.5 half),\n"
"and a pause longer than 2 s shortened to 2 s (like asciinema's idle\n"
"limit).  It sets no terminal mode, so there is nothing to restore; a\n"
"full-screen program shows best in a terminal at least as large as the\n"
"recorded one.  Ctrl-C stops it.  Playing needs an operator token.\n"
"With --json, sessions prints the API's answer and play prints the\n"
"recording itself, at once (asciinema play FILE plays it too).\n"
"An agent called 'play': hubctl sessions -- play.\n"
"Examples:\n"
"  hubctl sessions pc-gpu\n"
"  hubctl sessions play s-1a2b3c4d5e6f7a8b --speed 4\n"
"  hubctl --json sessions play s-1a2b3c4d5e6f7a8b > session.cast\n";

static const char key_notes[] =
"  --uses N            how many listeners may enroll with it (default: 10;\n"
"                      0: unlimited)\n"
"  --expires DURATION  e.g. 1h, 7d (default: 1d; 0: never)\n"
"Example: KEY=$(hubctl enroll-key create --uses 1 --expires 1h)\n";

static const char signkey_notes[] =
"A signing key lets listeners check that a command comes from you and not\n"
"just from whoever controls the hub: a listener with trust = lines runs\n"
"only commands signed by one of those keys when it has require_signed =\n"
"yes, and refuses any signature by a key it does not trust.\n"
"key create makes an Ed25519 pair in ~/.config/maestro/keys (or\n"
"$XDG_CONFIG_HOME/maestro/keys): NAME.key, the private key (PKCS#8 PEM,\n"
"mode 0600) and NAME.pub, the public line it also prints:\n"
"  ed25519:BASE64 NAME\n"
"Put that line into each listener's config (trust = ed25519:... NAME, one a\n"
"line; or install.sh --trust 'ed25519:... NAME').  An existing key is never\n"
"overwritten.\n"
"  --name NAME             the key's name (default: your user name)\n"
"  --passphrase-file FILE  encrypt the private key (AES-256) with the\n"
"                          passphrase in FILE; env MAESTRO_KEY_PASSPHRASE\n"
"                          does the same.  Never on the command line.\n"
"Sign with it: hubctl --key NAME send ..., or key = NAME in hubctl.conf.\n"
"An encrypted key's passphrase comes from MAESTRO_KEY_PASSPHRASE,\n"
"--passphrase-file, else the terminal (not echoed).\n"
"key list shows each key, whether it is encrypted and which one is the\n"
"default (key = or --key).  For the dashboard, export a key unencrypted:\n"
"  openssl pkey -in ~/.config/maestro/keys/NAME.key -out NAME-plain.pem\n"
"Examples:\n"
"  hubctl key create\n"
"  MAESTRO_KEY_PASSPHRASE=... hubctl key create --name ops\n"
"  hubctl --key ops send pc-gpu shell -- uptime\n";

static const char token_notes[] =
"Roles: viewer (read), operator (read, commands), admin (everything).\n"
"Example: hubctl token create operator --name ci\n";

static const char config_notes[] =
"The hub follows a git repository of fleet configuration (config_repo in\n"
"hub.conf; docs/config.md).  COMMIT is a full id or 4+ of its first hex\n"
"digits.  diff prints the patch from the commit in force to COMMIT (in\n"
"colour on a terminal, unless NO_COLOR is set) and cuts it at 256 KiB.\n"
"Examples:\n"
"  hubctl config diff && echo 'nothing to apply'\n"
"  hubctl config diff 3f2a9c1e      # what a rollback to it would change\n";

static int
noun_help(const char *noun)
{
	size_t i;

	printf("usage:\n");
	for (i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].noun, noun) == 0)
			print_cmd(&cmds[i]);
	if (strcmp(noun, "send") == 0)
		fputs(send_notes, stdout);
	else if (strcmp(noun, "term") == 0)
		fputs(term_notes, stdout);
	else if (strcmp(noun, "history") == 0)
		fputs(history_notes, stdout);
	else if (strcmp(noun, "sessions") == 0)
		fputs(sessions_notes, stdout);
	else if (strcmp(noun, "enroll-key") == 0)
		fputs(key_notes, stdout);
	else if (strcmp(noun, "token") == 0)
		fputs(token_notes, stdout);
	else if (strcmp(noun, "key") == 0)
		fputs(signkey_notes, stdout);
	else if (strcmp(noun, "config") == 0)
		fputs(config_notes, stdout);
	printf("Global options: see 'hubctl --help'.\n");
	return CTL_EXIT_OK;
}

static const struct ctl_cmd *
find_noun(const char *noun)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].noun, noun) == 0)
			return &cmds[i];
	return NULL;
}

static const struct ctl_cmd *
find_verb(const char *noun, const char *verb)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].noun, noun) == 0 && cmds[i].verb != NULL &&
		    strcmp(cmds[i].verb, verb) == 0)
			return &cmds[i];
	return NULL;
}

/* argv[0] is the noun.  Run its command or its help. */
/* "create, list or revoke": the verbs the table has for noun. */
static const char *
verbs_of(const char *noun, char *buf, size_t len)
{
	size_t i, n = 0, k = 0, off = 0;

	for (i = 0; i < NCMDS; i++)
		n += strcmp(cmds[i].noun, noun) == 0 && cmds[i].verb != NULL;
	buf[0] = '\0';
	for (i = 0; i < NCMDS && off < len; i++) {
		if (strcmp(cmds[i].noun, noun) != 0 || cmds[i].verb == NULL)
			continue;
		k++;
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    k == 1 ? "" : k == n ? " or " : ", ", cmds[i].verb);
	}
	return buf;
}

static int
dispatch(struct ctl *c, int argc, char **argv)
{
	const struct ctl_cmd *cmd = find_noun(argv[0]);
	char verbs[128];

	if (cmd == NULL)
		return ctl_usage(NULL, "unknown command '%s'", argv[0]);
	if (c->o.help)
		return noun_help(cmd->noun);
	if (cmd->verb == NULL)
		return cmd->fn(c, argc - 1, argv + 1);
	if (argc < 2)
		return ctl_usage(cmd->noun, "'%s' needs a verb: %s", cmd->noun,
		    verbs_of(cmd->noun, verbs, sizeof(verbs)));
	cmd = find_verb(argv[0], argv[1]);
	if (cmd == NULL)
		return ctl_usage(argv[0], "unknown verb '%s %s'", argv[0],
		    argv[1]);
	return cmd->fn(c, argc - 2, argv + 2);
}

static int
run(struct ctl *c, int argc, char **argv)
{
	int npos, r;

	r = ctl_opts_load(c, argc, argv, &npos);
	if (r != 0)
		return r;
	if (c->o.version) {
		printf("hubctl %s\n", MC_VERSION);
		return CTL_EXIT_OK;
	}
	if (npos > 0 && strcmp(argv[1], "help") == 0) {
		if (npos == 1)
			return usage();
		c->o.help = 1;
		return dispatch(c, npos - 1, argv + 2);
	}
	if (npos == 0)
		return c->o.help ? usage() : ctl_usage(NULL, "no command");
	if (argv[1][0] == '-' && argv[1][1] != '\0')
		return ctl_usage(NULL, "unknown option '%s'", argv[1]);
	return dispatch(c, npos, argv + 1);
}

int
main(int argc, char **argv)
{
	struct ctl c;
	int r;

	if (ctl_http_init() == -1) {
		fprintf(stderr, "hubctl: cannot initialise libcurl\n");
		return CTL_EXIT_FAIL;
	}
	r = run(&c, argc, argv);
	ctl_opts_clear(&c);
	ctl_http_cleanup();
	if (fflush(stdout) == EOF && r == 0)
		r = CTL_EXIT_FAIL;
	return r;
}
