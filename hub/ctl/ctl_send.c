/*
 * ctl_send.c - "hubctl send AGENT KIND ...", and the parsing of a fan-out
 * (send --tag TAG | --all), which ctl_fanout.c runs.
 *
 * send posts the command (POST /api/agents/NAME/command), then follows
 * GET /api/commands/ID/stream, writing each output chunk to stdout or
 * stderr the moment it arrives, and ends on the stream's "end" line.  With
 * --queue the hub keeps the command for an offline agent until it is back;
 * hubctl says so on stderr and keeps following, however long that takes.
 * The exit status is the contract's: a shell command's own status (124
 * when it timed out), 0/1 for other kinds, 4 when the agent is unknown or
 * not online or a queued command expired, 3 when the hub cannot be
 * reached.  Output is the operator's own data and is written byte for
 * byte, except docker_ps's, which is JSON and printed as a table; texts
 * from the hub (errors, names, links) are made safe.  A screenshot stays
 * on the hub unless -o FILE fetches it (bounded by MC_BLOB_MAX, checked to
 * be a PNG, written atomically).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "mc_util.h"

#define PATH_LEN	(MC_PATH_MAX * 4)
#define PNG_MAGIC	"\x89PNG\r\n\x1a\n"

/* What the stream said at its end. */
struct follow {
	int		 quiet;		/* --json: print no output */
	struct mc_buf	*collect;	/* stdout kept here; NULL: printed */
	/* A stream replays the output from its first byte, so when one
	 * is opened again only what lies past "done" is new. */
	size_t		 pos;		/* output bytes of this stream */
	size_t		 done;		/* output bytes handled */
	int		 ended;
	char		 status[16];
	int64_t		 exit_code;
	int		 truncated;
	char		 error[MC_TEXT_MAX];
};

/* One agent's command as it goes. */
struct run {
	const struct ctl_send	*q;
	char			 id[MC_ID_MAX];
	struct follow		 f;
	struct mc_buf		 out;	/* owned; docker_ps: its stdout */
};

/* ---- building the request ---- */

static int
needs_quote(const char *s)
{
	if (*s == '\0')
		return 1;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) &&
		    strchr("@%+=:,./_-", *s) == NULL)
			return 1;
	return 0;
}

/* Append s as one /bin/sh word: 'it'\''s'. */
static int
append_word(struct mc_buf *b, const char *s)
{
	int r = 0;

	if (!needs_quote(s))
		return mc_buf_puts(b, s);
	r |= mc_buf_puts(b, "'");
	for (; *s && r == 0; s++)
		r |= *s == '\'' ? mc_buf_puts(b, "'\\''") :
		    mc_buf_append(b, s, 1);
	r |= mc_buf_puts(b, "'");
	return r;
}

/* One word is a command line as it is; several are quoted and joined. */
static int
join_command(struct mc_buf *b, int n, char **words)
{
	int i, r = 0;

	if (n == 1)
		return mc_buf_puts(b, words[0]);
	for (i = 0; i < n && r == 0; i++) {
		if (i > 0)
			r = mc_buf_puts(b, " ");
		if (r == 0)
			r = append_word(b, words[i]);
	}
	return r;
}

static int
parse_kind_args(struct ctl_send *q, const struct ctl_args *a, int first)
{
	int extra = a->n - first;

	if (q->kind == MC_KIND_SHELL) {
		if (extra == 0)
			return ctl_usage("send", "shell needs a command: "
			    "send %s shell -- CMD [ARG...]", q->agent ?
			    "AGENT" : "--tag TAG|--all");
		if (join_command(&q->cmd, extra, a->v + first) == -1)
			return ctl_usage("send", "the command line is longer "
			    "than %d bytes", MC_CMD_MAX);
		return 0;
	}
	if (q->kind == MC_KIND_DOCKER_RESTART) {
		if (extra != 1)
			return ctl_usage("send", "docker_restart needs one "
			    "CONTAINER");
		q->arg = a->v[first];
		return 0;
	}
	if (extra > 0)
		return ctl_usage("send", "%s takes no arguments (got '%s')",
		    mc_kind_name(q->kind), a->v[first]);
	return 0;
}

static int
parse_numbers(struct ctl_send *q, const char *timeout, const char *cap,
    const char *queue)
{
	if (timeout != NULL && (mc_parse_duration(timeout, &q->timeout) == -1
	    || q->timeout <= 0 || q->timeout > MC_TIMEOUT_MAX))
		return ctl_usage("send", "--timeout: '%s' is not a duration "
		    "up to 7d (e.g. 30, 90s, 5m)", timeout);
	if (cap != NULL && mc_parse_i64(cap, 1, MC_OUTPUT_CAP_MAX,
	    &q->cap) == -1)
		return ctl_usage("send", "--cap: '%s' is not a byte count "
		    "from 1 to %d", cap, MC_OUTPUT_CAP_MAX);
	if (queue != NULL && (mc_parse_duration(queue, &q->queue) == -1 ||
	    q->queue <= 0 || q->queue > CTL_QUEUE_MAX))
		return ctl_usage("send", "--queue: '%s' is not a duration "
		    "up to 30d (e.g. 90s, 10m, 2h)", queue);
	if (queue != NULL)
		ctl_duration(q->queue, q->queue_text, sizeof(q->queue_text));
	return 0;
}

/* Who the command is for: sets q->agent (none for a fan-out), q->kind
 * and *first, the index of the kind's first argument. */
static int
parse_target(struct ctl_send *q, const struct ctl_args *a, int *first)
{
	int fan = q->tag != NULL || q->all, base = fan ? 0 : 1;
	enum mc_kind k;

	if (q->tag != NULL && q->all)
		return ctl_usage("send", "give --tag TAG or --all, not both");
	if (q->tag != NULL && !mc_tag_valid(q->tag))
		return ctl_usage("send", "--tag: '%s' is not a tag", q->tag);
	if (fan && a->n >= 2 && mc_kind_parse(a->v[0], &k) == -1 &&
	    mc_kind_parse(a->v[1], &k) == 0)
		return ctl_usage("send", "--tag and --all pick the agents; "
		    "give no AGENT ('%s')", a->v[0]);
	if (a->n < base + 1 || (a->dashdash != -1 && a->dashdash < base + 1))
		return ctl_usage("send", fan ? "expected send --tag TAG|--all "
		    "KIND ..." : "expected send AGENT KIND ...");
	if (fan && a->dashdash != -1 && a->dashdash != base + 1)
		return ctl_usage("send", "with --tag or --all, '--' goes right "
		    "after the kind");
	q->agent = fan ? NULL : a->v[0];
	if (mc_kind_parse(a->v[base], &q->kind) == -1)
		return ctl_usage("send", "unknown kind '%s' (shell, metrics, "
		    "stop, restart, docker_ps, docker_restart, screenshot)",
		    a->v[base]);
	*first = base + 1;
	return 0;
}

static int
parse_send(struct ctl *c, struct ctl_send *q, int argc, char **argv)
{
	const char *timeout = NULL, *cap = NULL, *queue = NULL, *all = NULL;
	const struct ctl_flag flags[] = { { "--timeout", 1, &timeout },
	    { "--cap", 1, &cap }, { "-o", 1, &q->out_file },
	    { "--output", 1, &q->out_file }, { "--queue", 1, &queue },
	    { "--tag", 1, &q->tag }, { "--all", 0, &all },
	    { NULL, 0, NULL } };
	struct ctl_args a;
	int r, first = 0;

	r = ctl_flags_parse("send", argc, argv, flags, &a);
	if (r != 0)
		return r;
	q->all = all != NULL;
	r = parse_target(q, &a, &first);
	if (r != 0)
		return r;
	if (q->out_file != NULL && q->kind != MC_KIND_SCREENSHOT)
		return ctl_usage("send", "-o is for screenshot only");
	if (q->out_file != NULL && q->agent == NULL)
		return ctl_usage("send", "-o needs one AGENT; the screenshots "
		    "of a fan-out stay on the hub");
	if (q->out_file != NULL && q->out_file[0] == '\0')
		return ctl_usage("send", "-o needs a file name");
	r = parse_kind_args(q, &a, first);
	if (r == 0)
		r = parse_numbers(q, timeout, cap, queue);
	if (r == 0)
		r = ctl_opts_finish(c);
	return r;
}

int
ctl_send_body(const struct ctl_send *q, struct mc_buf *b)
{
	struct mc_jw w;

	mc_jw_init(&w, b);
	mc_jw_obj(&w, NULL);
	if (q->agent == NULL) {
		mc_jw_obj(&w, "target");
		if (q->all)
			mc_jw_bool(&w, "all", 1);
		else
			mc_jw_str(&w, "tag", q->tag);
		mc_jw_obj_end(&w);
	}
	mc_jw_str(&w, "type", mc_kind_name(q->kind));
	if (q->kind == MC_KIND_SHELL)
		mc_jw_strn(&w, "cmd", q->cmd.data, q->cmd.len);
	if (q->arg != NULL)
		mc_jw_str(&w, "arg", q->arg);
	if (q->timeout > 0)
		mc_jw_dbl(&w, "timeout", q->timeout);
	if (q->cap > 0)
		mc_jw_i64(&w, "cap", q->cap);
	if (q->queue > 0)
		mc_jw_dbl(&w, "queue", q->queue);
	mc_jw_obj_end(&w);
	return mc_jw_done(&w);
}

/* -o FILE: find out before the command runs whether FILE can be made. */
static int
out_dir_ok(const char *file)
{
	char dir[MC_PATH_MAX];
	char *slash;
	size_t n = strlen(file);

	if (n > 0 && file[n - 1] == '/')
		return ctl_usage("send", "-o wants a file name, not the "
		    "directory '%s'", file);
	if (mc_strlcpy(dir, file, sizeof(dir)) == -1)
		return ctl_usage("send", "-o: path too long");
	slash = strrchr(dir, '/');
	if (slash == NULL)
		mc_strlcpy(dir, ".", sizeof(dir));
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (access(dir, W_OK) == -1) {
		fputs("hubctl: cannot write ", stderr);
		ctl_put_safe(stderr, file);
		fprintf(stderr, ": %s; nothing was sent\n", strerror(errno));
		return CTL_EXIT_FAIL;
	}
	return 0;
}

/* ---- submitting ---- */

static int
not_online(struct ctl *c, const char *agent)
{
	char path[PATH_LEN], status[64];
	struct ctl_resp r;
	const char *s = NULL;

	ctl_resp_init(&r);
	if (ctl_agent_path(agent, "", path, sizeof(path)) == 0 &&
	    ctl_http(c, "GET", path, NULL, &r) == 0 && r.status == 200 &&
	    r.doc != NULL)
		s = mc_json_str(mc_json_root(r.doc), "status");
	ctl_safe(s ? s : "unknown", status, sizeof(status));
	ctl_resp_free(&r);
	fputs("hubctl: agent '", stderr);
	ctl_put_safe(stderr, agent);
	fprintf(stderr, "' is not online (status: %s); --queue DURATION runs "
	    "the command when it is back\n", status);
	return CTL_EXIT_AGENT;
}

int
ctl_id_valid(const char *id)
{
	size_t n = strlen(id), i;

	if (n == 0 || n >= MC_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '-' &&
		    id[i] != '_' && id[i] != '.')
			return 0;
	return 1;
}

static int
take_id(struct run *u, const struct ctl_resp *r)
{
	const char *id = NULL;

	if (r->doc != NULL)
		id = mc_json_str(mc_json_root(r->doc), "id");
	if (id == NULL || !ctl_id_valid(id)) {
		fprintf(stderr, "hubctl: the hub accepted the command but "
		    "gave no usable id\n");
		return CTL_EXIT_FAIL;
	}
	mc_strlcpy(u->id, id, sizeof(u->id));
	return 0;
}

static int
submit(struct ctl *c, struct run *u)
{
	char path[PATH_LEN];
	struct ctl_resp r;
	struct mc_buf body;
	int ret;

	mc_buf_init(&body, MC_BODY_MAX);
	if (ctl_send_body(u->q, &body) == -1) {
		mc_buf_free(&body);
		return ctl_usage("send", "the request is over %d bytes",
		    MC_BODY_MAX);
	}
	if (ctl_agent_path(u->q->agent, "/command", path, sizeof(path)) ==
	    -1) {
		mc_buf_free(&body);
		return CTL_EXIT_USAGE;
	}
	ctl_resp_init(&r);
	ret = ctl_http(c, "POST", path, &body, &r);
	if (ret == 0 && r.status == 404)
		ret = ctl_agent_unknown(u->q->agent);
	else if (ret == 0 && r.status == 409)
		ret = not_online(c, u->q->agent);
	else if (ret == 0 && (r.status < 200 || r.status > 299))
		ret = ctl_api_fail(c, &r);
	else if (ret == 0)
		ret = take_id(u, &r);
	ctl_resp_free(&r);
	mc_buf_free(&body);
	return ret;
}

/* Is the agent (as GET /api/agents/NAME has it) one the hub would send a
 * command to now?  Unknown counts as yes. */
static int
agent_online(struct ctl *c, const char *agent)
{
	char path[PATH_LEN];
	struct ctl_resp r;
	const struct mc_json *a;
	const char *s;
	int conn, online = 1;

	ctl_resp_init(&r);
	if (ctl_agent_path(agent, "", path, sizeof(path)) == 0 &&
	    ctl_http(c, "GET", path, NULL, &r) == 0 && r.status == 200 &&
	    r.doc != NULL) {
		a = mc_json_root(r.doc);
		s = mc_json_str(a, "status");
		if ((mc_json_bool(a, "connected", &conn) == 0 && !conn) ||
		    (s != NULL && (strcmp(s, "offline") == 0 ||
		    strcmp(s, "restarting") == 0)))
			online = 0;
	}
	ctl_resp_free(&r);
	return online;
}

/* The hub holds the command as "queued": say why, so that a quiet wait
 * is not taken for a hang. */
static void
announce(struct ctl *c, const struct run *u)
{
	char path[PATH_LEN];
	struct ctl_resp r;
	const char *s = NULL;
	int queued;

	snprintf(path, sizeof(path), "/api/commands/%s", u->id);
	ctl_resp_init(&r);
	if (ctl_http(c, "GET", path, NULL, &r) == 0 && r.status == 200 &&
	    r.doc != NULL)
		s = mc_json_str(mc_json_root(r.doc), "status");
	queued = s != NULL && strcmp(s, "queued") == 0;
	ctl_resp_free(&r);
	if (!queued)
		return;
	fputs("hubctl: ", stderr);
	ctl_put_safe(stderr, u->q->agent);
	if (agent_online(c, u->q->agent)) {
		fprintf(stderr, " already runs as many commands as the hub "
		    "allows at once; command %s waits for one to end\n", u->id);
		return;
	}
	fputs(" is not online; queued for up to ", stderr);
	ctl_put_safe(stderr, u->q->queue_text[0] ? u->q->queue_text : "?");
	fprintf(stderr, " (command %s)\n", u->id);
}

/* ---- following the output ---- */

static void
take_end(struct follow *f, const struct mc_json *m)
{
	const char *s = mc_json_str(m, "status");
	const char *e = mc_json_str(m, "error");

	f->ended = 1;
	ctl_safe(s ? s : "?", f->status, sizeof(f->status));
	if (mc_json_int(m, "exit", INT32_MIN, INT32_MAX, &f->exit_code) == -1)
		f->exit_code = -1;
	if (mc_json_bool(m, "truncated", &f->truncated) == -1)
		f->truncated = 0;
	ctl_safe(e ? e : "", f->error, sizeof(f->error));
}

/* Print (or keep) output bytes; the caller has skipped old ones. */
static void
put_bytes(struct follow *f, FILE *fp, const char *p, size_t n)
{
	if (f->quiet || n == 0)
		return;
	if (f->collect != NULL && fp == stdout) {
		if (mc_buf_append(f->collect, p, n) == 0)
			return;
		/* more than any cap: give up the table, print it all */
		fwrite(f->collect->data, 1, f->collect->len, stdout);
		mc_buf_reset(f->collect);
		f->collect = NULL;
	}
	fwrite(p, 1, n, fp);
	fflush(fp);
}

static void
put_out(struct follow *f, const struct mc_json *m)
{
	const struct mc_json *d = mc_json_get(m, "data");
	const char *stream = mc_json_str(m, "stream");
	FILE *fp = stream && strcmp(stream, "stderr") == 0 ? stderr : stdout;
	size_t start = f->pos, skip;

	if (d == NULL || d->type != MC_JSTR)
		return;
	f->pos += d->len;
	if (f->pos <= f->done)
		return;
	skip = f->done > start ? f->done - start : 0;
	f->done = f->pos;
	put_bytes(f, fp, d->str + skip, d->len - skip);
}

static int
on_line(void *arg, const char *line, size_t len)
{
	struct follow *f = arg;
	struct mc_jdoc *doc;
	const char *t;
	char err[128];

	if (len == 0)
		return 0;
	doc = mc_json_parse(line, len, err, sizeof(err));
	if (doc == NULL) {
		fprintf(stderr, "hubctl: unreadable line in the hub's "
		    "stream: %s\n", err);
		return -1;
	}
	t = mc_json_str(mc_json_root(doc), "t");
	if (t != NULL && strcmp(t, "out") == 0)
		put_out(f, mc_json_root(doc));
	else if (t != NULL && strcmp(t, "end") == 0)
		take_end(f, mc_json_root(doc));
	mc_json_free(doc);
	return 0;
}

/* The output in the record past what the streams gave (to stdout: the
 * record does not say which stream it came from). */
static void
put_rest(struct follow *f, const struct mc_json *rec)
{
	const struct mc_json *d = mc_json_get(rec, "output");

	if (d != NULL && d->type == MC_JSTR && d->len > f->done) {
		put_bytes(f, stdout, d->str + f->done, d->len - f->done);
		f->done = d->len;
	}
}

/* The stream closed before its end line: how is the command?  0 with
 * f->ended set when it has ended, 0 when it is still queued or running,
 * else an exit status after saying why. */
static int
fetch_end(struct ctl *c, struct run *u)
{
	char path[PATH_LEN];
	struct ctl_resp r;
	const struct mc_json *rec = NULL;
	const char *s = NULL;
	int ret;

	snprintf(path, sizeof(path), "/api/commands/%s", u->id);
	ctl_resp_init(&r);
	ret = ctl_api(c, "GET", path, NULL, &r);
	if (ret == 0 && r.doc != NULL) {
		rec = mc_json_root(r.doc);
		s = mc_json_str(rec, "status");
	}
	if (ret == 0 && s == NULL) {
		fprintf(stderr, "hubctl: the hub's record of command %s has "
		    "no status\n", u->id);
		ret = CTL_EXIT_FAIL;
	} else if (ret == 0 && strcmp(s, "queued") != 0 &&
	    strcmp(s, "sent") != 0 && strcmp(s, "running") != 0) {
		put_rest(&u->f, rec);
		take_end(&u->f, rec);
	}
	ctl_resp_free(&r);
	return ret;
}

/* One stream, from the start; 0 when the hub answered it. */
static int
follow_once(struct ctl *c, struct run *u, const char *path)
{
	struct ctl_resp r;
	int ret;

	u->f.pos = 0;
	ctl_resp_init(&r);
	ret = ctl_http_stream(c, path, on_line, &u->f, &r);
	if (ret == 0 && (r.status < 200 || r.status > 299))
		ret = ctl_api_fail(c, &r);
	ctl_resp_free(&r);
	return ret;
}

/* The hub went away (restarted, a network drop): wait for it, then ask
 * how the command is.  The command and its output live in the hub's
 * store, so nothing is lost and nothing runs twice. */
static int
reattach(struct ctl *c, struct run *u)
{
	struct ctl_reattach ra;
	char what[MC_ID_MAX + 32];
	int ret = CTL_EXIT_HUB;

	memset(&ra, 0, sizeof(ra));
	snprintf(what, sizeof(what), "following command %s again", u->id);
	while (ret == CTL_EXIT_HUB && c->lost &&
	    ctl_hub_wait(c, &ra, what) == 0)
		ret = fetch_end(c, u);
	if (ret != CTL_EXIT_HUB)
		ctl_hub_back(c, &ra);
	return ret;
}

/* Follow the output to the end line, opening the stream again when the
 * hub ends it early (a proxy or an idle timeout may) or comes back. */
static int
follow(struct ctl *c, struct run *u)
{
	char path[PATH_LEN];
	double t0;
	int ret, quick = 0;

	snprintf(path, sizeof(path), "/api/commands/%s/stream", u->id);
	for (;;) {
		t0 = mc_now();
		ret = follow_once(c, u, path);
		if (ret == 0 && !u->f.ended)
			ret = fetch_end(c, u);
		if (ret == CTL_EXIT_HUB && c->lost)
			ret = reattach(c, u);
		if (ret != 0 || u->f.ended)
			break;
		quick = mc_now() - t0 < 1.0 ? quick + 1 : 0;
		if (quick >= CTL_REOPEN_QUICK) {
			fprintf(stderr, "hubctl: the hub keeps ending the "
			    "output of command %s before the command ends; it "
			    "may still be queued or running\n", u->id);
			ret = CTL_EXIT_FAIL;
			break;
		}
		if (quick > 0)
			sleep(1);
	}
	if (ret == CTL_EXIT_HUB)
		fprintf(stderr, "hubctl: command %s may still be queued or "
		    "running on the agent\n", u->id);
	return ret;
}

/* ---- ending ---- */

static int
shell_status(int64_t code)
{
	if (code < 0 || code > 255)
		return CTL_EXIT_FAIL;
	return (int)code;
}

static int
expired(const struct run *u)
{
	fprintf(stderr, "hubctl: command %s expired: ", u->id);
	if (u->q->queue_text[0] != '\0') {
		ctl_put_safe(stderr, u->q->agent);
		fputs(" was not back within ", stderr);
		ctl_put_safe(stderr, u->q->queue_text);
		fputs("; it did not run\n", stderr);
	} else {
		fprintf(stderr, "%s; it did not run\n", u->f.error[0] ?
		    u->f.error : "it waited on the hub past its time");
	}
	return CTL_EXIT_AGENT;
}

/* The exit status for how the command ended, said on stderr. */
static int
conclude(const struct run *u)
{
	const struct ctl_send *q = u->q;
	const struct follow *f = &u->f;
	const char *kind = mc_kind_name(q->kind);
	int shell = q->kind == MC_KIND_SHELL;

	if (f->truncated)
		fprintf(stderr, "hubctl: output truncated at %lld bytes "
		    "(cap)\n", (long long)(q->cap > 0 ? q->cap :
		    MC_OUTPUT_CAP_DEFAULT));
	if (strcmp(f->status, "done") == 0)
		return shell ? shell_status(f->exit_code) :
		    f->exit_code == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
	if (strcmp(f->status, "timeout") == 0) {
		fprintf(stderr, "hubctl: command timed out after %gs on ",
		    q->timeout > 0 ? q->timeout : MC_TIMEOUT_DEFAULT);
		ctl_put_safe(stderr, q->agent);
		fputs("; its process group was killed\n", stderr);
		return shell ? CTL_EXIT_TIMEOUT : CTL_EXIT_FAIL;
	}
	if (strcmp(f->status, "failed") == 0) {
		fprintf(stderr, "hubctl: %s failed on ", kind);
		ctl_put_safe(stderr, q->agent);
		fprintf(stderr, ": %s\n", f->error[0] ? f->error :
		    "no reason given");
		return CTL_EXIT_FAIL;
	}
	if (strcmp(f->status, "lost") == 0) {
		fprintf(stderr, "hubctl: command %s was lost: ", u->id);
		ctl_put_safe(stderr, q->agent);
		fprintf(stderr, " went away before it finished%s%s\n",
		    f->error[0] ? ": " : "", f->error);
		return CTL_EXIT_FAIL;
	}
	if (strcmp(f->status, "expired") == 0)
		return expired(u);
	fprintf(stderr, "hubctl: command %s ended with status '%s'\n", u->id,
	    f->status);
	return CTL_EXIT_FAIL;
}

/* --json: the command's record as the hub has it. */
static int
print_record(struct ctl *c, const char *id)
{
	char path[PATH_LEN];
	struct ctl_resp r;
	int ret;

	snprintf(path, sizeof(path), "/api/commands/%s", id);
	ctl_resp_init(&r);
	ret = ctl_api(c, "GET", path, NULL, &r);
	if (ret == 0)
		ctl_print_body(&r);
	ctl_resp_free(&r);
	return ret;
}

/* docker_ps: its JSON as a table, or the output as it is. */
static int
show_docker(const struct run *u)
{
	static const char *const head[] = { "NAME", "IMAGE", "STATE",
	    "STATUS", "PORTS" };
	struct ctl_table t;
	size_t i;

	if (u->out.len == 0)
		return 0;
	ctl_table_init(&t, 5);
	for (i = 0; i < 5; i++)
		ctl_table_add(&t, head[i]);
	if (ctl_docker_rows(&t, NULL, u->out.data, u->out.len) == -1) {
		mc_buf_free(&t.cells);
		fwrite(u->out.data, 1, u->out.len, stdout);
		return 0;
	}
	if (t.ncells == 5) {
		mc_buf_free(&t.cells);
		fputs("hubctl: no containers on ", stderr);
		ctl_put_safe(stderr, u->q->agent);
		fputc('\n', stderr);
		return 0;
	}
	return ctl_table_print(&t);
}

/* Is s a hub path to a command's picture, safe to request and print? */
static int
png_link_valid(const char *s)
{
	if (strncmp(s, "/api/commands/", 14) != 0 || strstr(s, "..") != NULL)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr("/-_.", *s) == NULL)
			return 0;
	return 1;
}

/* The record's "png" link into link and its png_bytes into *bytes (-1
 * when not given).  0, or an exit status after saying why. */
static int
png_link(struct ctl *c, const char *id, char *link, size_t size,
    int64_t *bytes)
{
	char path[PATH_LEN];
	struct ctl_resp r;
	const char *s = NULL;
	int ret;

	snprintf(path, sizeof(path), "/api/commands/%s", id);
	ctl_resp_init(&r);
	ret = ctl_api(c, "GET", path, NULL, &r);
	if (ret == 0 && r.doc != NULL)
		s = mc_json_str(mc_json_root(r.doc), "png");
	if (ret == 0 && (s == NULL || !png_link_valid(s) ||
	    mc_strlcpy(link, s, size) == -1)) {
		fprintf(stderr, "hubctl: command %s ended without a picture "
		    "(the hub's record has no usable \"png\" link)\n", id);
		ret = CTL_EXIT_FAIL;
	}
	if (ret == 0 && mc_json_int(mc_json_root(r.doc), "png_bytes", 0,
	    INT64_MAX, bytes) == -1)
		*bytes = -1;
	ctl_resp_free(&r);
	return ret;
}

/* screenshot without -o: where the picture is. */
static int
where_png(struct ctl *c, const struct run *u)
{
	char link[PATH_LEN];
	int64_t bytes;
	int ret;

	ret = png_link(c, u->id, link, sizeof(link), &bytes);
	if (ret != 0)
		return ret;
	printf("the screenshot stays on the hub with command %s", u->id);
	if (bytes >= 0)
		printf(" (%lld bytes)", (long long)bytes);
	printf("; to have it here: hubctl send ");
	ctl_put_safe(stdout, u->q->agent);
	printf(" screenshot -o FILE.png\n");
	return CTL_EXIT_OK;
}

/* screenshot -o FILE: fetch the PNG the command's record links to. */
static int
save_png(struct ctl *c, const struct run *u)
{
	char link[PATH_LEN];
	struct ctl_resp r;
	int64_t bytes;
	int ret;

	ret = png_link(c, u->id, link, sizeof(link), &bytes);
	if (ret != 0)
		return ret;
	ctl_resp_init(&r);
	/* a picture, not JSON: at most what a command may return */
	mc_buf_init(&r.body, MC_BLOB_MAX);
	ret = ctl_api(c, "GET", link, NULL, &r);
	if (ret == 0 && (r.body.len < 8 || memcmp(r.body.data, PNG_MAGIC,
	    8) != 0)) {
		fprintf(stderr, "hubctl: the hub's picture for command %s is "
		    "not a PNG file; nothing was saved\n", u->id);
		ret = CTL_EXIT_FAIL;
	}
	if (ret == 0 && mc_write_file(u->q->out_file, r.body.data, r.body.len,
	    0644) == -1) {
		fputs("hubctl: cannot write ", stderr);
		ctl_put_safe(stderr, u->q->out_file);
		fprintf(stderr, ": %s\n", strerror(errno));
		ret = CTL_EXIT_FAIL;
	} else if (ret == 0) {
		fputs("hubctl: wrote ", stderr);
		ctl_put_safe(stderr, u->q->out_file);
		fprintf(stderr, " (%zu bytes)\n", r.body.len);
	}
	ctl_resp_free(&r);
	return ret;
}

static int
after(struct ctl *c, const struct run *u)
{
	const struct ctl_send *q = u->q;
	int shown = 0, ret, r;

	/* the output first, then how it ended */
	if (q->kind == MC_KIND_DOCKER_PS && !c->o.json)
		shown = show_docker(u);
	ret = conclude(u);
	if (ret == 0 && shown == -1)
		ret = CTL_EXIT_FAIL;
	if (c->o.json) {
		r = print_record(c, u->id);
		if (r != 0)
			return r;
	}
	if (ret != 0 || q->kind != MC_KIND_SCREENSHOT)
		return ret;
	if (q->out_file != NULL)
		return save_png(c, u);
	return c->o.json ? ret : where_png(c, u);
}

static int
send_one(struct ctl *c, const struct ctl_send *q)
{
	struct run u;
	int ret = 0;

	memset(&u, 0, sizeof(u));
	u.q = q;
	u.f.quiet = c->o.json;
	mc_buf_init(&u.out, MC_OUTPUT_CAP_MAX);
	if (q->kind == MC_KIND_DOCKER_PS)
		u.f.collect = &u.out;
	if (q->out_file != NULL)
		ret = out_dir_ok(q->out_file);
	if (ret == 0)
		ret = submit(c, &u);
	if (ret == 0) {
		announce(c, &u);
		ret = follow(c, &u);
	}
	if (ret == 0)
		ret = after(c, &u);
	mc_buf_free(&u.out);
	return ret;
}

int
ctl_cmd_send(struct ctl *c, int argc, char **argv)
{
	struct ctl_send q;
	int ret;

	memset(&q, 0, sizeof(q));
	mc_buf_init(&q.cmd, MC_CMD_MAX);
	ret = parse_send(c, &q, argc, argv);
	if (ret == 0 && q.agent == NULL)
		ret = ctl_fanout(c, &q);
	else if (ret == 0)
		ret = send_one(c, &q);
	mc_buf_free(&q.cmd);
	return ret;
}
