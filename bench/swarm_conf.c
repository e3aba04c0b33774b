/*
 * swarm_conf.c - swarm's flags: one mc_config table, then the checks that
 * turn the values into a hub URL, a certificate pin, the list of source
 * addresses, the payload shape and the timing.
 *
 * Every value is checked here, before anything connects: a bad flag
 * prints one line and swarm exits 2.  Source addresses are IPv4 only
 * (loopback aliases such as 127.0.0.2 need no setup on Linux: all of
 * 127/8 is on lo); when the hub is a 127.x address and --sources is not
 * given, connections are spread over 127.0.0.2-127.0.0.50 so the
 * ephemeral port range is no limit.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mc_config.h"
#include "mc_log.h"
#include "swarm.h"

#define OFF(f)		offsetof(struct sw_conf, f)
#define SZ(f)		sizeof(((struct sw_conf *)0)->f)
#define STR(k, f)	{ .key = k, .type = MC_OPT_STR, .off = OFF(f), \
			  .size = SZ(f) }
#define NUM(k, t, f, lo, hi) { .key = k, .type = t, .off = OFF(f), \
			  .size = SZ(f), .min = lo, .max = hi }

#define SW_SOURCES_LOOPBACK	"127.0.0.2-127.0.0.50"

static const struct mc_opt conf_tab[] = {
	STR("hub", hub),
	NUM("agents", MC_OPT_INT, agents, 1, MC_AGENTS_MAX),
	STR("enroll_key", enroll_key),
	STR("creds", creds),
	STR("prefix", prefix),
	STR("fingerprint", fingerprint),
	NUM("insecure", MC_OPT_FLAG, insecure, 0, 1),
	STR("sources", sources),
	NUM("ramp", MC_OPT_DBL, ramp, 0.1, 1e6),
	NUM("duration", MC_OPT_DUR, duration, 0, 1e9),
	STR("payload", payload),
	NUM("first", MC_OPT_INT, first, 0, SW_INDEX_MAX),
	STR("log_level", log_level),
	STR("timing", timing),
	NUM("downloads", MC_OPT_INT, downloads, 1, 1000),
	STR("start", start),
	{ .key = NULL }
};

static const char usage_text[] =
"usage: swarm --hub URL --agents N [options]\n"
"\n"
"Load generator: N simulated Maestro agents in one process, speaking the\n"
"real protocol (hello, heartbeats with a listener-sized payload, answers\n"
"to commands, reconnects with backoff).  One status line a second on\n"
"stdout; logs on stderr.\n"
"\n"
"  --hub URL[,URL...]   wss://HOST:PORT or ws://HOST:PORT (path defaults\n"
"                       to " SW_WS_PATH "); several, comma-separated, are\n"
"                       a cluster's hubs: each agent starts at a random\n"
"                       one and moves to the next when its connection\n"
"                       fails or closes (as a listener with hub = a, b)\n"
"  --start random|first where agents connect first: a random hub of\n"
"                       --hub (default, as listeners spread) or all at\n"
"                       the first, retried until it welcomes them (a\n"
"                       fleet gathered on one hub, as after the others\n"
"                       restarted one at a time); once welcomed, an agent\n"
"                       moves on through the others in a random order\n"
"  --agents N           simulated agents in this process\n"
"  --enroll-key KEY     enrollment key (POST /api/enroll-keys) for agents\n"
"                       the creds file has no credential for yet\n"
"  --creds FILE         'name credential' lines, read at start and\n"
"                       appended to on enrollment (mode 0600; default\n"
"                       swarm.creds); use one file per process\n"
"  --prefix NAME        agent names are NAME-00001, ... (default swarm)\n"
"  --first INDEX        index of this process's first agent (default 1),\n"
"                       so several processes take different names\n"
"  --fingerprint sha256:HEX\n"
"                       trust only the hub certificate with this SHA-256\n"
"  --insecure           do not verify the hub's certificate\n"
"  --sources A-B        bind connections round robin to the IPv4\n"
"                       addresses A..B (or one address; 'none' lets the\n"
"                       kernel choose); default " SW_SOURCES_LOOPBACK "\n"
"                       when the hub is on 127.x, else none\n"
"  --ramp PER_SECOND    new connections per second at start (default 500)\n"
"  --duration SECONDS   stop after this long (30s, 5m; default: run\n"
"                       until SIGINT or SIGTERM)\n"
"  --payload real|small heartbeat metrics of a real listener's size\n"
"                       (about 600 bytes, default) or the bare minimum\n"
"  --timing independent|wheel\n"
"                       independent (default): each agent on its own\n"
"                       timer, heartbeats exactly welcome.hb apart at a\n"
"                       random phase and a ping 30 s after each pong,\n"
"                       as real listeners do; wheel: the old 50 ms\n"
"                       tick, hb +-10 %, heartbeats sent in bursts, no\n"
"                       pings - batched: not a capacity figure\n"
"  --downloads N        listener_update downloads at once; the rest\n"
"                       wait their turn (default 16)\n"
"  --log-level LEVEL    debug, info, warn or error (default info)\n"
"  --help, --version\n"
"\n"
"Example: swarm --hub ws://127.0.0.1:8080 --agents 2000 --enroll-key K \\\n"
"             --duration 60s\n";

static void
conf_defaults(struct sw_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->agents = 0;
	mc_strlcpy(c->creds, "swarm.creds", sizeof(c->creds));
	mc_strlcpy(c->prefix, "swarm", sizeof(c->prefix));
	c->ramp = 500;
	mc_strlcpy(c->payload, "real", sizeof(c->payload));
	c->first = 1;
	mc_strlcpy(c->log_level, "info", sizeof(c->log_level));
	mc_strlcpy(c->timing, "independent", sizeof(c->timing));
	mc_strlcpy(c->start, "random", sizeof(c->start));
	c->downloads = SW_DOWNLOADS;
}

/* "sha256:AB:CD..." in any case -> 64 lowercase hex digits in s->fp. */
static int
check_fingerprint(struct sw *s, char *err, size_t errlen)
{
	s->fp[0] = '\0';
	if (s->conf.fingerprint[0] == '\0' ||
	    mc_fp_parse(s->conf.fingerprint, s->fp) == 0)
		return 0;
	snprintf(err, errlen, "--fingerprint: expected sha256: and 64 hex "
	    "digits (colons allowed)");
	return -1;
}

static int
parse_ipv4(const char *txt, size_t n, uint32_t *out)
{
	char buf[16];
	struct in_addr in;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, txt, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, &in) != 1)
		return -1;
	*out = ntohl(in.s_addr);
	return 0;
}

/* "A-B" or "A" -> s->src[], at most SW_SOURCES_MAX addresses. */
static int
parse_sources(struct sw *s, const char *spec, char *err, size_t errlen)
{
	const char *dash = strchr(spec, '-');
	uint32_t lo, hi, v;
	struct in_addr in;

	s->nsrc = 0;
	if (parse_ipv4(spec, dash ? (size_t)(dash - spec) : strlen(spec),
	    &lo) == -1 || parse_ipv4(dash ? dash + 1 : spec,
	    strlen(dash ? dash + 1 : spec), &hi) == -1 || hi < lo) {
		snprintf(err, errlen, "--sources: expected an IPv4 address or "
		    "a range such as %s", SW_SOURCES_LOOPBACK);
		return -1;
	}
	if (hi - lo >= SW_SOURCES_MAX) {
		snprintf(err, errlen, "--sources: at most %d addresses",
		    SW_SOURCES_MAX);
		return -1;
	}
	for (v = lo; v <= hi; v++) {
		in.s_addr = htonl(v);
		inet_ntop(AF_INET, &in, s->src[s->nsrc], sizeof(s->src[0]));
		s->nsrc++;
	}
	return 0;
}

static int
check_sources(struct sw *s, char *err, size_t errlen)
{
	const char *spec = s->conf.sources;

	if (strcmp(spec, "none") == 0) {
		s->nsrc = 0;
		return 0;
	}
	if (*spec == '\0') {
		if (strncmp(s->url.host, "127.", 4) != 0)
			return 0;
		spec = SW_SOURCES_LOOPBACK;
	}
	return parse_sources(s, spec, err, errlen);
}

/* --hub: one URL or a comma list of them (a cluster's hubs), one scheme. */
static int
parse_hubs(struct sw *s, char *err, size_t errlen)
{
	char list[sizeof(s->conf.hub)], why[256], *tok, *save = NULL;
	struct mc_url *u;

	mc_strlcpy(list, s->conf.hub, sizeof(list));
	for (tok = strtok_r(list, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		if (s->nurls == SW_HUBS_MAX) {
			snprintf(err, errlen, "--hub: at most %d hubs",
			    SW_HUBS_MAX);
			return -1;
		}
		u = &s->urls[s->nurls];
		if (mc_url_parse(tok, u, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "--hub %s: %s", tok, why);
			return -1;
		}
		if (strcmp(u->scheme, "ws") != 0 &&
		    strcmp(u->scheme, "wss") != 0) {
			snprintf(err, errlen, "--hub %s: use ws:// or wss://",
			    tok);
			return -1;
		}
		if (s->nurls > 0 && u->tls != s->urls[0].tls) {
			snprintf(err, errlen, "--hub: all ws:// or all wss://");
			return -1;
		}
		s->nurls++;
	}
	if (s->nurls == 0) {
		snprintf(err, errlen, "--hub is required (see --help)");
		return -1;
	}
	s->url = s->urls[0];
	return 0;
}

static int
check_hub(struct sw *s, char *err, size_t errlen)
{
	if (parse_hubs(s, err, errlen) == -1)
		return -1;
	mc_strlcpy(s->path, strcmp(s->url.path, "/") == 0 ? SW_WS_PATH :
	    s->url.path, sizeof(s->path));
	if (s->url.tls && s->conf.fingerprint[0] == '\0' && !s->conf.insecure) {
		snprintf(err, errlen, "wss:// needs --fingerprint sha256:HEX "
		    "or --insecure");
		return -1;
	}
	if (s->conf.fingerprint[0] != '\0' && s->conf.insecure) {
		snprintf(err, errlen, "--fingerprint and --insecure exclude "
		    "each other");
		return -1;
	}
	return 0;
}

/* Names are prefix-%05u; the longest must be a valid agent name. */
static int
check_names(struct sw *s, char *err, size_t errlen)
{
	char last[MC_NAME_MAX + 16];

	if (s->conf.agents < 1) {
		snprintf(err, errlen, "--agents N is required (see --help)");
		return -1;
	}
	if ((int64_t)s->conf.first + s->conf.agents - 1 > SW_INDEX_MAX) {
		snprintf(err, errlen, "--first + --agents go past index %d",
		    SW_INDEX_MAX);
		return -1;
	}
	snprintf(last, sizeof(last), "%s-%05d", s->conf.prefix,
	    s->conf.first + s->conf.agents - 1);
	if (!mc_name_valid(last) || strchr(s->conf.prefix, ' ') != NULL) {
		snprintf(err, errlen, "--prefix: '%s' does not make valid "
		    "agent names (no '/', spaces or control characters)",
		    s->conf.prefix);
		return -1;
	}
	return 0;
}

/* --payload, --log-level, --timing and --start: one of their words. */
static int
check_choices(struct sw *s, char *err, size_t errlen)
{
	enum mc_log_level lv;

	if (strcmp(s->conf.payload, "real") == 0)
		s->small = 0;
	else if (strcmp(s->conf.payload, "small") == 0)
		s->small = 1;
	else {
		snprintf(err, errlen, "--payload: real or small");
		return -1;
	}
	if (mc_log_level_parse(s->conf.log_level, &lv) == -1) {
		snprintf(err, errlen, "--log-level: debug, info, warn or "
		    "error");
		return -1;
	}
	if ((s->timing = sw_timer_find(s->conf.timing)) == NULL) {
		snprintf(err, errlen, "--timing: independent or wheel");
		return -1;
	}
	if (strcmp(s->conf.start, "random") != 0 &&
	    strcmp(s->conf.start, "first") != 0) {
		snprintf(err, errlen, "--start: random or first");
		return -1;
	}
	s->start_first = s->conf.start[0] == 'f';
	return 0;
}

static int
answer_info(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return 1;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s (protocol %d)\n", SW_PROG, MC_VERSION,
			    MC_PROTO_VERSION);
			return 1;
		}
	}
	return 0;
}

int
sw_conf_read(struct sw *s, int argc, char **argv, char *err, size_t errlen)
{
	int npos;

	if (answer_info(argc, argv))
		return 1;
	conf_defaults(&s->conf);
	if (mc_args_apply(argc, argv, conf_tab, &s->conf, &npos, NULL, err,
	    errlen) == -1)
		return -1;
	if (npos > 0) {
		snprintf(err, errlen, "unexpected argument '%s' (see --help)",
		    argv[1]);
		return -1;
	}
	if (check_hub(s, err, errlen) == -1 ||
	    check_fingerprint(s, err, errlen) == -1 ||
	    check_sources(s, err, errlen) == -1 ||
	    check_names(s, err, errlen) == -1 ||
	    check_choices(s, err, errlen) == -1)
		return -1;
	return 0;
}
