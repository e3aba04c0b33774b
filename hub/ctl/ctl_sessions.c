/*
 * ctl_sessions.c - "hubctl sessions": the recorded terminal sessions, and
 * "hubctl sessions play ID": one of them replayed.
 *
 * The list is GET /api/sessions[?agent=NAME][&limit=N] as a table (or the
 * API's JSON with --json).  play downloads GET /api/sessions/ID/cast
 * (asciicast v2, docs/api.md) into a temporary file first, so a slow
 * replay holds no connection to the hub, then writes each output event to
 * stdout when its time comes: the recording's own gaps divided by
 * --speed, an idle gap longer than PLAY_IDLE_MAX shortened to it (as
 * asciinema's idle limit does), input and resize events skipped.  It
 * writes only what the session printed: no terminal mode is set, so there
 * is nothing to restore, and Ctrl-C simply stops it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "mc_util.h"

#define SESSIONS_COLS	7
#define PATH_LEN	(MC_PATH_MAX * 4)
/* sessions --limit, as the hub allows */
#define SESSIONS_MAX	1000
/* play: a pause longer than this (seconds, before --speed) is cut to it */
#define PLAY_IDLE_MAX	2.0
#define PLAY_SPEED_MIN	0.01
#define PLAY_SPEED_MAX	1000.0

/* ---- the list ---- */

/* "4.2s", "3m 12s", "2h 5m" */
static void
session_dur(double secs, char *out, size_t outlen)
{
	long s = (long)secs;

	if (secs < 60)
		snprintf(out, outlen, "%.1fs", secs < 0 ? 0 : secs);
	else if (s < 3600)
		snprintf(out, outlen, "%ldm %lds", s / 60, s % 60);
	else
		ctl_uptime(secs, out, outlen);
}

/* "exit 0", "closed", "agent_gone", or "open" while it runs. */
static void
session_end(const struct mc_json *s, char *out, size_t outlen)
{
	const char *reason = ctl_jstr(s, "reason", NULL);
	int64_t code;

	if (reason == NULL)
		snprintf(out, outlen, "open");
	else if (strcmp(reason, "exit") == 0 &&
	    mc_json_int(s, "exit", INT32_MIN, INT32_MAX, &code) == 0)
		snprintf(out, outlen, "exit %lld", (long long)code);
	else
		snprintf(out, outlen, "%s", reason);
}

static void
session_row(struct ctl_table *t, const struct mc_json *s)
{
	char buf[64];
	double v;
	int trunc = 0;

	ctl_table_add(t, ctl_jstr(s, "id", "?"));
	ctl_table_add(t, ctl_jstr(s, "agent", "?"));
	ctl_table_add(t, ctl_jstr(s, "user", "-"));
	if (mc_json_num(s, "opened", &v) == -1)
		v = 0;
	ctl_date(v, buf, sizeof(buf));
	ctl_table_add(t, buf);
	if (mc_json_num(s, "duration", &v) == 0)
		session_dur(v, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "-");
	ctl_table_add(t, buf);
	session_end(s, buf, sizeof(buf));
	ctl_table_add(t, buf);
	if (mc_json_num(s, "bytes_out", &v) == -1)
		v = 0;
	ctl_bytes(v, buf, sizeof(buf));
	/* the recording stopped short (record_max): say so beside it */
	if (mc_json_bool(s, "truncated", &trunc) == 0 && trunc)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		    " (cut)");
	ctl_table_add(t, buf);
}

static int
print_sessions(const struct ctl_resp *r, const char *agent)
{
	static const char *const head[SESSIONS_COLS] = { "ID", "AGENT",
	    "USER", "OPENED", "DURATION", "END", "OUTPUT" };
	size_t n;

	if (ctl_print_list(r, "sessions", "session", head, SESSIONS_COLS,
	    session_row, &n) != CTL_EXIT_OK)
		return CTL_EXIT_FAIL;
	if (n == 0) {
		fputs("hubctl: no terminal sessions recorded", stderr);
		if (agent != NULL) {
			fputs(" on ", stderr);
			ctl_put_safe(stderr, agent);
		}
		fputs(" yet; `hubctl term AGENT` opens one\n", stderr);
	}
	return CTL_EXIT_OK;
}

/* "/api/sessions?agent=NAME&limit=N"; -1 (said) if it does not fit. */
static int
list_path(const struct ctl_args *a, int64_t limit, char *path, size_t size)
{
	char enc[MC_PATH_MAX];
	int n;

	if (a->n == 1 && ctl_urlenc(a->v[0], enc, sizeof(enc)) == -1)
		return ctl_usage("sessions", "agent name too long");
	n = snprintf(path, size, "/api/sessions?%s%s%slimit=%lld",
	    a->n ? "agent=" : "", a->n ? enc : "", a->n ? "&" : "",
	    (long long)limit);
	if (n < 0 || (size_t)n >= size)
		return ctl_usage("sessions", "agent name too long");
	return 0;
}

static int
sessions_list(struct ctl *c, int argc, char **argv)
{
	const char *limit_text = NULL;
	const struct ctl_flag flags[] = { { "--limit", 1, &limit_text },
	    { NULL, 0, NULL } };
	char path[PATH_LEN];
	struct ctl_resp r;
	struct ctl_args a;
	int64_t limit = 100;
	int ret;

	ret = ctl_flags_parse("sessions", argc, argv, flags, &a);
	if (ret != 0)
		return ret;
	if (a.n > 1)
		return ctl_usage("sessions", "unexpected argument '%s'",
		    a.v[1]);
	if (limit_text != NULL && mc_parse_i64(limit_text, 1, SESSIONS_MAX,
	    &limit) == -1)
		return ctl_usage("sessions", "--limit: '%s' is not a whole "
		    "number from 1 to %d", limit_text, SESSIONS_MAX);
	ret = list_path(&a, limit, path, sizeof(path));
	if (ret == 0)
		ret = ctl_opts_finish(c);
	if (ret != 0)
		return ret;
	ctl_resp_init(&r);
	ret = ctl_http(c, "GET", path, NULL, &r);
	if (ret == 0 && (r.status == 404 || r.status == 405)) {
		fprintf(stderr, "hubctl: this hub is older than hubctl and "
		    "records no terminal sessions (HTTP %ld); upgrade it\n",
		    r.status);
		ret = CTL_EXIT_FAIL;
	} else if (ret == 0 && !ctl_http_2xx(r.status)) {
		ret = ctl_api_fail(c, &r);
	} else if (ret == 0 && c->o.json) {
		ctl_print_body(&r);
	} else if (ret == 0) {
		ret = print_sessions(&r, a.n ? a.v[0] : NULL);
	}
	ctl_resp_free(&r);
	return ret;
}

/* ---- play ---- */

static int
save_line(void *arg, const char *line, size_t len)
{
	FILE *f = arg;

	if (fwrite(line, 1, len, f) != len || fputc('\n', f) == EOF) {
		fprintf(stderr, "hubctl: cannot keep the recording in a "
		    "temporary file: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static void
pause_for(double secs)
{
	struct timespec ts;

	if (secs <= 0)
		return;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* One event line: [TIME, CODE, TEXT].  0, or -1 if it is not one. */
static int
event_parse(const struct mc_json *root, double *t, const char **code,
    const struct mc_json **text)
{
	const struct mc_json *e = root != NULL ? root->child : NULL;

	if (root == NULL || root->type != MC_JARR || root->len != 3 ||
	    e->type != MC_JNUM || e->next->type != MC_JSTR ||
	    e->next->next->type != MC_JSTR)
		return -1;
	*t = e->num;
	*code = e->next->str;
	*text = e->next->next;
	return 0;
}

/* The header: an object with "version": 2. */
static int
header_ok(const char *line, size_t len)
{
	struct mc_jdoc *d;
	char err[256];
	int64_t v = 0;
	int ok;

	if ((d = mc_json_parse(line, len, err, sizeof(err))) == NULL)
		return 0;
	ok = mc_json_int(mc_json_root(d), "version", 0, 100, &v) == 0 &&
	    v == 2;
	mc_json_free(d);
	return ok;
}

/* One line of the cast, after the header: print it when its time has
 * come.  *last is the time of the last output shown. */
static int
play_line(const char *line, size_t len, long lineno, double speed,
    double *last)
{
	const struct mc_json *text;
	struct mc_jdoc *d;
	const char *code;
	char err[256];
	double t, gap;

	d = mc_json_parse(line, len, err, sizeof(err));
	if (d == NULL || event_parse(mc_json_root(d), &t, &code, &text) ==
	    -1) {
		fprintf(stderr, "hubctl: line %ld of the recording is not an "
		    "asciicast event [TIME, CODE, TEXT]%s%s\n", lineno,
		    d == NULL ? ": " : "", d == NULL ? err : "");
		mc_json_free(d);
		return -1;
	}
	if (strcmp(code, "o") == 0) {
		gap = t - *last;
		if (gap > PLAY_IDLE_MAX)
			gap = PLAY_IDLE_MAX;
		pause_for(gap / speed);
		*last = t;
		if (fwrite(text->str, 1, text->len, stdout) != text->len ||
		    fflush(stdout) == EOF) {
			mc_json_free(d);
			return -1;	/* stdout closed (| head): stop */
		}
	}
	mc_json_free(d);
	return 0;
}

static int
replay(FILE *f, double speed)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	double last = 0;
	int ret = CTL_EXIT_OK;

	rewind(f);
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (lineno == 1 && !header_ok(line, (size_t)n)) {
			fprintf(stderr, "hubctl: the hub's answer is not an "
			    "asciicast v2 recording\n");
			ret = CTL_EXIT_FAIL;
			break;
		}
		if (lineno > 1 && n > 0 && play_line(line, (size_t)n, lineno,
		    speed, &last) == -1) {
			ret = CTL_EXIT_FAIL;
			break;
		}
	}
	free(line);
	if (lineno == 0) {
		fprintf(stderr, "hubctl: the recording is empty (the session "
		    "may have just opened)\n");
		ret = CTL_EXIT_FAIL;
	}
	return ret;
}

/* --json: the cast as it came, for asciinema or a file. */
static int
dump(FILE *f)
{
	char buf[64 * 1024];
	size_t n;

	rewind(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (fwrite(buf, 1, n, stdout) != n)
			return CTL_EXIT_FAIL;
	return ferror(f) ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

/* The answer was not the cast: say why in hubctl's words.  A 404 is no
 * such session, unless the hub says the session lost its file. */
static int
play_refused(struct ctl *c, struct ctl_resp *r, const char *id)
{
	if (r->status != 404 ||
	    strstr(ctl_resp_error(r), "has no recording") != NULL)
		return ctl_api_fail(c, r);
	fputs("hubctl: no terminal session '", stderr);
	ctl_put_safe(stderr, id);
	fputs("' (see `hubctl sessions`)\n", stderr);
	return CTL_EXIT_FAIL;
}

static int
sessions_play(struct ctl *c, int argc, char **argv)
{
	const char *speed_text = NULL;
	const struct ctl_flag flags[] = { { "--speed", 1, &speed_text },
	    { NULL, 0, NULL } };
	char path[PATH_LEN], enc[MC_PATH_MAX];
	struct ctl_resp r;
	struct ctl_args a;
	double speed = 1;
	FILE *tmp;
	int ret;

	ret = ctl_flags_parse("sessions", argc, argv, flags, &a);
	if (ret != 0)
		return ret;
	if (a.n != 1)
		return ctl_usage("sessions", a.n == 0 ? "play needs a session "
		    "ID (see `hubctl sessions`)" : "play takes one session ID");
	if (speed_text != NULL && mc_parse_dbl(speed_text, PLAY_SPEED_MIN,
	    PLAY_SPEED_MAX, &speed) == -1)
		return ctl_usage("sessions", "--speed: '%s' is not a number "
		    "from %g to %g", speed_text, PLAY_SPEED_MIN, PLAY_SPEED_MAX);
	if (ctl_urlenc(a.v[0], enc, sizeof(enc)) == -1)
		return ctl_usage("sessions", "session ID too long");
	snprintf(path, sizeof(path), "/api/sessions/%s/cast", enc);
	if ((ret = ctl_opts_finish(c)) != 0)
		return ret;
	if ((tmp = tmpfile()) == NULL) {
		fprintf(stderr, "hubctl: cannot make a temporary file for the "
		    "recording: %s\n", strerror(errno));
		return CTL_EXIT_FAIL;
	}
	ctl_resp_init(&r);
	ret = ctl_http_stream(c, path, save_line, tmp, &r);
	if (ret == 0 && !ctl_http_2xx(r.status))
		ret = play_refused(c, &r, a.v[0]);
	else if (ret == 0 && fflush(tmp) == EOF)
		ret = CTL_EXIT_FAIL;
	else if (ret == 0 && c->o.json)
		ret = dump(tmp);
	else if (ret == 0)
		ret = replay(tmp, speed);
	ctl_resp_free(&r);
	fclose(tmp);
	return ret;
}

int
ctl_cmd_sessions(struct ctl *c, int argc, char **argv)
{
	if (argc > 0 && strcmp(argv[0], "play") == 0)
		return sessions_play(c, argc - 1, argv + 1);
	return sessions_list(c, argc, argv);
}
