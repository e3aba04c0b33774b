/*
 * ctl_send.c - "hubctl send AGENT KIND ..." and "hubctl history".
 *
 * send posts the command (POST /api/agents/NAME/command), then follows
 * GET /api/commands/ID/stream, writing each output chunk to stdout or
 * stderr the moment it arrives, and ends on the stream's "end" line.  The
 * exit status is the contract's: a shell command's own status (124 when
 * it timed out), 0/1 for other kinds, 4 when the agent is unknown or not
 * online, 3 when the hub cannot be reached.  Output is the operator's own
 * data and is written byte for byte; hub texts (errors) are made safe.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "mc_proto.h"
#include "mc_util.h"

#define PATH_LEN	(MC_PATH_MAX * 4)

struct send_req {
	const char	*agent;
	enum mc_kind	 kind;
	struct mc_buf	 cmd;		/* shell: the command line */
	const char	*arg;		/* docker_restart: the container */
	const char	*out_file;	/* screenshot: -o FILE */
	double		 timeout;	/* 0: the hub's default */
	int64_t		 cap;		/* 0: the hub's default */
	char		 id[MC_ID_MAX];
};

/* What the stream said at its end. */
struct follow {
	int		 quiet;		/* --json: print no output */
	int		 ended;
	char		 status[16];
	int64_t		 exit_code;
	int		 truncated;
	char		 error[MC_TEXT_MAX];
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
parse_kind_args(struct send_req *q, const struct ctl_args *a)
{
	int extra = a->n - 2;

	if (a->dashdash != -1 && a->dashdash < 2)
		return ctl_usage("send", "'--' goes after AGENT and the kind");
	if (q->kind == MC_KIND_SHELL) {
		if (extra == 0)
			return ctl_usage("send", "shell needs a command: "
			    "send AGENT shell -- CMD [ARG...]");
		if (join_command(&q->cmd, extra, a->v + 2) == -1)
			return ctl_usage("send", "the command line is longer "
			    "than %d bytes", MC_CMD_MAX);
		return 0;
	}
	if (q->kind == MC_KIND_DOCKER_RESTART) {
		if (extra != 1)
			return ctl_usage("send", "docker_restart needs one "
			    "CONTAINER");
		q->arg = a->v[2];
		return 0;
	}
	if (extra > 0)
		return ctl_usage("send", "%s takes no arguments (got '%s')",
		    mc_kind_name(q->kind), a->v[2]);
	return 0;
}

static int
parse_numbers(struct send_req *q, const char *timeout, const char *cap)
{
	if (timeout != NULL && (mc_parse_duration(timeout, &q->timeout) == -1
	    || q->timeout <= 0 || q->timeout > MC_TIMEOUT_MAX))
		return ctl_usage("send", "--timeout: '%s' is not a duration "
		    "up to 7d (e.g. 30, 90s, 5m)", timeout);
	if (cap != NULL && mc_parse_i64(cap, 1, MC_OUTPUT_CAP_MAX,
	    &q->cap) == -1)
		return ctl_usage("send", "--cap: '%s' is not a byte count "
		    "from 1 to %d", cap, MC_OUTPUT_CAP_MAX);
	return 0;
}

static int
parse_send(struct ctl *c, struct send_req *q, int argc, char **argv)
{
	const char *timeout = NULL, *cap = NULL;
	const struct ctl_flag flags[] = { { "--timeout", 1, &timeout },
	    { "--cap", 1, &cap }, { "-o", 1, &q->out_file },
	    { "--output", 1, &q->out_file }, { NULL, 0, NULL } };
	struct ctl_args a;
	int r;

	r = ctl_flags_parse("send", argc, argv, flags, &a);
	if (r != 0)
		return r;
	if (a.n < 2 || (a.dashdash != -1 && a.dashdash < 2))
		return ctl_usage("send", "expected send AGENT KIND ...");
	q->agent = a.v[0];
	if (mc_kind_parse(a.v[1], &q->kind) == -1)
		return ctl_usage("send", "unknown kind '%s' (shell, metrics, "
		    "stop, restart, docker_ps, docker_restart, screenshot)",
		    a.v[1]);
	if (q->out_file != NULL && q->kind != MC_KIND_SCREENSHOT)
		return ctl_usage("send", "-o is for screenshot only");
	r = parse_kind_args(q, &a);
	if (r == 0)
		r = parse_numbers(q, timeout, cap);
	if (r == 0)
		r = ctl_opts_finish(c);
	return r;
}

static int
request_body(const struct send_req *q, struct mc_buf *b)
{
	struct mc_jw w;

	mc_jw_init(&w, b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "type", mc_kind_name(q->kind));
	if (q->kind == MC_KIND_SHELL)
		mc_jw_strn(&w, "cmd", q->cmd.data, q->cmd.len);
	if (q->arg != NULL)
		mc_jw_str(&w, "arg", q->arg);
	if (q->timeout > 0)
		mc_jw_dbl(&w, "timeout", q->timeout);
	if (q->cap > 0)
		mc_jw_i64(&w, "cap", q->cap);
	mc_jw_obj_end(&w);
	return mc_jw_done(&w);
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
	fprintf(stderr, "' is not online (status: %s)\n", status);
	return CTL_EXIT_AGENT;
}

static int
id_valid(const char *id)
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
take_id(struct send_req *q, const struct ctl_resp *r)
{
	const char *id = NULL;

	if (r->doc != NULL)
		id = mc_json_str(mc_json_root(r->doc), "id");
	if (id == NULL || !id_valid(id)) {
		fprintf(stderr, "hubctl: the hub accepted the command but "
		    "gave no usable id\n");
		return CTL_EXIT_FAIL;
	}
	mc_strlcpy(q->id, id, sizeof(q->id));
	return 0;
}

static int
submit(struct ctl *c, struct send_req *q)
{
	char path[PATH_LEN];
	struct ctl_resp r;
	struct mc_buf body;
	int ret;

	mc_buf_init(&body, MC_BODY_MAX);
	if (request_body(q, &body) == -1) {
		mc_buf_free(&body);
		return ctl_usage("send", "the request is over %d bytes",
		    MC_BODY_MAX);
	}
	if (ctl_agent_path(q->agent, "/command", path, sizeof(path)) == -1) {
		mc_buf_free(&body);
		return CTL_EXIT_USAGE;
	}
	ctl_resp_init(&r);
	ret = ctl_http(c, "POST", path, &body, &r);
	if (ret == 0 && r.status == 404)
		ret = ctl_agent_unknown(q->agent);
	else if (ret == 0 && r.status == 409)
		ret = not_online(c, q->agent);
	else if (ret == 0 && (r.status < 200 || r.status > 299))
		ret = ctl_api_fail(c, &r);
	else if (ret == 0)
		ret = take_id(q, &r);
	ctl_resp_free(&r);
	mc_buf_free(&body);
	return ret;
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

static void
put_out(const struct follow *f, const struct mc_json *m)
{
	const struct mc_json *d = mc_json_get(m, "data");
	const char *stream = mc_json_str(m, "stream");
	FILE *fp = stream && strcmp(stream, "stderr") == 0 ? stderr : stdout;

	if (f->quiet || d == NULL || d->type != MC_JSTR)
		return;
	fwrite(d->str, 1, d->len, fp);
	fflush(fp);
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

/* The stream closed early: ask for the command's record instead. */
static int
fetch_end(struct ctl *c, const struct send_req *q, struct follow *f)
{
	char path[PATH_LEN], status[64];
	struct ctl_resp r;
	const char *s = NULL;
	int ret;

	snprintf(path, sizeof(path), "/api/commands/%s", q->id);
	ctl_resp_init(&r);
	ret = ctl_api(c, "GET", path, NULL, &r);
	if (ret == 0 && r.doc != NULL)
		s = mc_json_str(mc_json_root(r.doc), "status");
	if (s != NULL && strcmp(s, "queued") != 0 && strcmp(s, "sent") != 0
	    && strcmp(s, "running") != 0)
		take_end(f, mc_json_root(r.doc));
	else if (ret == 0) {
		ctl_safe(s ? s : "unknown", status, sizeof(status));
		fprintf(stderr, "hubctl: the hub ended the output of command "
		    "%s before the command ended (status: %s)\n", q->id,
		    status);
		ret = CTL_EXIT_FAIL;
	}
	ctl_resp_free(&r);
	return ret;
}

static int
follow(struct ctl *c, const struct send_req *q, struct follow *f)
{
	char path[PATH_LEN];
	struct ctl_resp r;
	int ret;

	snprintf(path, sizeof(path), "/api/commands/%s/stream", q->id);
	ctl_resp_init(&r);
	ret = ctl_http_stream(c, path, on_line, f, &r);
	if (ret == 0 && (r.status < 200 || r.status > 299))
		ret = ctl_api_fail(c, &r);
	ctl_resp_free(&r);
	if (ret == 0 && !f->ended)
		ret = fetch_end(c, q, f);
	if (ret == CTL_EXIT_HUB)
		fprintf(stderr, "hubctl: command %s may still be running on "
		    "the agent\n", q->id);
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

/* The exit status for how the command ended, said on stderr. */
static int
conclude(const struct send_req *q, const struct follow *f)
{
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
		fprintf(stderr, "hubctl: command %s was lost: ", q->id);
		ctl_put_safe(stderr, q->agent);
		fprintf(stderr, " went away before it finished%s%s\n",
		    f->error[0] ? ": " : "", f->error);
		return CTL_EXIT_FAIL;
	}
	fprintf(stderr, "hubctl: command %s ended with status '%s'\n", q->id,
	    f->status);
	return CTL_EXIT_FAIL;
}

/* --json: the command's record as the hub has it. */
static int
print_record(struct ctl *c, const struct send_req *q)
{
	char path[PATH_LEN];
	struct ctl_resp r;
	int ret;

	snprintf(path, sizeof(path), "/api/commands/%s", q->id);
	ctl_resp_init(&r);
	ret = ctl_api(c, "GET", path, NULL, &r);
	if (ret == 0)
		ctl_print_body(&r);
	ctl_resp_free(&r);
	return ret;
}

/* screenshot -o FILE: fetch the PNG the command record links to. */
static int
save_png(struct ctl *c, const struct send_req *q)
{
	char path[PATH_LEN];
	struct ctl_resp r;
	const char *link = NULL;
	int ret;

	snprintf(path, sizeof(path), "/api/commands/%s", q->id);
	ctl_resp_init(&r);
	ret = ctl_api(c, "GET", path, NULL, &r);
	if (ret == 0 && r.doc != NULL)
		link = mc_json_str(mc_json_root(r.doc), "png");
	if (ret == 0 && (link == NULL || link[0] != '/' ||
	    mc_strlcpy(path, link, sizeof(path)) == -1)) {
		fprintf(stderr, "hubctl: the hub's record of command %s has "
		    "no screenshot link\n", q->id);
		ret = CTL_EXIT_FAIL;
	}
	ctl_resp_free(&r);
	if (ret == 0)
		ret = ctl_api(c, "GET", path, NULL, &r);
	if (ret == 0 && mc_write_file(q->out_file, r.body.data, r.body.len,
	    0644) == -1) {
		fprintf(stderr, "hubctl: cannot write %s: %s\n", q->out_file,
		    strerror(errno));
		ret = CTL_EXIT_FAIL;
	}
	ctl_resp_free(&r);
	return ret;
}

static int
after(struct ctl *c, const struct send_req *q, const struct follow *f)
{
	int ret = conclude(q, f), r;

	if (c->o.json) {
		r = print_record(c, q);
		return r != 0 ? r : ret;
	}
	if (ret == 0 && q->out_file != NULL)
		return save_png(c, q);
	return ret;
}

int
ctl_cmd_send(struct ctl *c, int argc, char **argv)
{
	struct send_req q;
	struct follow f;
	int ret;

	memset(&q, 0, sizeof(q));
	memset(&f, 0, sizeof(f));
	mc_buf_init(&q.cmd, MC_CMD_MAX);
	f.quiet = c->o.json;
	ret = parse_send(c, &q, argc, argv);
	if (ret == 0)
		ret = submit(c, &q);
	if (ret == 0)
		ret = follow(c, &q, &f);
	if (ret == 0)
		ret = after(c, &q, &f);
	mc_buf_free(&q.cmd);
	return ret;
}

/* ---- history ---- */

static void
history_row(struct ctl_table *t, const struct mc_json *cmd)
{
	char buf[64];
	int64_t code;
	double ts = 0;

	ctl_table_add(t, ctl_jstr(cmd, "id", "?"));
	ctl_table_add(t, ctl_jstr(cmd, "agent", "?"));
	ctl_table_add(t, ctl_jstr(cmd, "type", "?"));
	ctl_table_add(t, ctl_jstr(cmd, "status", "?"));
	if (mc_json_int(cmd, "exit", INT32_MIN, INT32_MAX, &code) == 0)
		snprintf(buf, sizeof(buf), "%lld", (long long)code);
	else
		snprintf(buf, sizeof(buf), "-");
	ctl_table_add(t, buf);
	if (mc_json_num(cmd, "created", &ts) == -1)
		ts = 0;
	ctl_date(ts, buf, sizeof(buf));
	ctl_table_add(t, buf);
	ctl_table_add(t, ctl_jstr(cmd, "cmd", ctl_jstr(cmd, "arg", "")));
}

static int
print_history(const struct ctl_resp *r)
{
	static const char *const head[] = { "ID", "AGENT", "TYPE", "STATUS",
	    "EXIT", "CREATED", "COMMAND" };
	const struct mc_json *list, *e;
	struct ctl_table t;
	size_t i;

	list = r->doc ? mc_json_get(mc_json_root(r->doc), "commands") : NULL;
	if (list == NULL || list->type != MC_JARR) {
		fprintf(stderr, "hubctl: the hub's answer has no command "
		    "list\n");
		return CTL_EXIT_FAIL;
	}
	ctl_table_init(&t, 7);
	for (i = 0; i < 7; i++)
		ctl_table_add(&t, head[i]);
	for (e = list->child; e != NULL; e = e->next)
		if (e->type == MC_JOBJ)
			history_row(&t, e);
	return ctl_table_print(&t) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

int
ctl_cmd_history(struct ctl *c, int argc, char **argv)
{
	char path[PATH_LEN], enc[MC_PATH_MAX];
	struct ctl_resp r;
	struct ctl_args a;
	int ret;

	ret = ctl_begin(c, "history", argc, argv, NULL, &a, 0, 1);
	if (ret != 0)
		return ret;
	if (a.n == 1 && ctl_urlenc(a.v[0], enc, sizeof(enc)) == -1)
		return ctl_usage("history", "agent name too long");
	snprintf(path, sizeof(path), "/api/commands%s%s", a.n ? "?agent=" :
	    "", a.n ? enc : "");
	ctl_resp_init(&r);
	ret = ctl_http(c, "GET", path, NULL, &r);
	if (ret == 0 && (r.status == 404 || r.status == 405)) {
		fprintf(stderr, "hubctl: command history is not supported by "
		    "this hub (GET /api/commands: HTTP %ld)\n", r.status);
		ret = CTL_EXIT_FAIL;
	} else if (ret == 0 && (r.status < 200 || r.status > 299)) {
		ret = ctl_api_fail(c, &r);
	} else if (ret == 0 && c->o.json) {
		ctl_print_body(&r);
	} else if (ret == 0) {
		ret = print_history(&r);
	}
	ctl_resp_free(&r);
	return ret;
}
