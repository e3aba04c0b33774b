/*
 * ctl_fanout.c - "hubctl send --tag TAG | --all KIND ...": one command on
 * many agents.
 *
 * One POST /api/commands makes a command for every matching agent (the
 * hub answers which agents it could not reach), then every command's
 * stream is followed at once over libcurl's multi interface, at most
 * CTL_FANOUT_OPEN at a time.  Each output line is printed as it arrives
 * with "NAME: " before it, stdout lines on stdout and stderr lines on
 * stderr; a partial line waits in a buffer per agent and stream of at most
 * CTL_FANOUT_LINE bytes (a longer line is printed in pieces) and is
 * printed when the command ends.  A summary on stderr closes.  The exit
 * status is 0 only if every targeted agent ran the command and it exited
 * 0; 1 otherwise (an agent not reached counts as failed); 4 when no agent
 * matched; 3 when the hub went away before every outcome was known.
 * Names and hub texts are made safe; output is the operator's own and is
 * written as it is.  --json prints one object instead, {"commands":
 * [final records], "offline": [agents not reached]}; docker_ps prints one
 * table with an AGENT column; screenshots stay on the hub, their links
 * are printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "mc_util.h"

/* the summary's groups */
enum group { G_OK, G_FAILED, G_TIMEOUT, G_OFFLINE, G_COUNT };

/* One targeted agent and its command. */
struct target {
	char		 name[MC_NAME_MAX + 1];	/* as the hub has it */
	char		 safe[MC_NAME_MAX + 1];	/* printable */
	char		 id[MC_ID_MAX];		/* "": not reached */
	char		 path[MC_ID_MAX + 32];
	int		 print;		/* print output lines as they come */
	int		 notes;		/* say on stderr how it ended */
	struct mc_buf	 part[2];	/* owned; partial stdout, stderr line */
	size_t		 pos;		/* output bytes of this stream */
	size_t		 done;		/* output bytes printed (a stream
					   opened again replays them) */
	double		 opened;	/* when the stream was opened */
	int		 quick;		/* early ends in a row, each quick */
	int		 ended;		/* its end is known */
	int		 hub_err;	/* the hub was out of reach for it */
	int		 lost;		/* ... and may be back soon */
	char		 status[16];	/* not reached: the agent's status */
	int64_t		 exit_code;
	int		 truncated;
	char		 error[MC_TEXT_MAX];
};

struct fan {
	struct ctl		*c;
	const struct ctl_send	*q;
	struct target		*t;		/* owned */
	size_t			 n;
	int			 records;	/* fetch every final record */
	int			 hub_lost;	/* so outcomes are unknown */
	int			 json_more;	/* --json: a record printed */
	struct ctl_table	 docker;	/* docker_ps: every row */
	char			 said[CTL_WHY_MAX];	/* not said again */
};

/* ---- output lines ---- */

static void
emit(const struct target *t, int k, const char *p, size_t n)
{
	FILE *fp = k ? stderr : stdout;

	fprintf(fp, "%s: ", t->safe);
	fwrite(p, 1, n, fp);
	if (n == 0 || p[n - 1] != '\n')
		fputc('\n', fp);
}

static void
line_out(struct target *t, int k)
{
	if (t->part[k].len == 0)
		return;
	emit(t, k, t->part[k].data, t->part[k].len);
	mc_buf_reset(&t->part[k]);
}

/* Print every complete line of p with the name before it; keep the
 * rest, printing it anyway once the buffer is full. */
static void
put_lines(struct target *t, int k, const char *p, size_t n)
{
	struct mc_buf *b = &t->part[k];
	const char *nl;
	size_t seg;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		seg = nl != NULL ? (size_t)(nl - p) + 1 : n;
		if (seg > b->limit - b->len)
			seg = b->limit - b->len;
		if (mc_buf_append(b, p, seg) == -1) {
			/* no memory for the piece: a line of its own */
			line_out(t, k);
			emit(t, k, p, seg);
		} else if (b->data[b->len - 1] == '\n' || b->len == b->limit) {
			line_out(t, k);
		}
		p += seg;
		n -= seg;
	}
}

/* Output of stream k as it comes: only the bytes not printed before. */
static void
put_new(struct target *t, int k, const char *p, size_t n)
{
	size_t start = t->pos, skip;

	t->pos += n;
	if (t->pos <= t->done)
		return;
	skip = t->done > start ? t->done - start : 0;
	t->done = t->pos;
	if (!t->print)
		return;
	put_lines(t, k, p + skip, n - skip);
	fflush(stdout);
	fflush(stderr);
}

static void
flush_parts(struct target *t)
{
	line_out(t, 0);
	line_out(t, 1);
	fflush(stdout);
	fflush(stderr);
	mc_buf_free(&t->part[0]);
	mc_buf_free(&t->part[1]);
}

/* ---- the streams ---- */

static void
take_end(struct target *t, const struct mc_json *m)
{
	const char *s = mc_json_str(m, "status");
	const char *e = mc_json_str(m, "error");

	t->ended = 1;
	ctl_safe(s ? s : "?", t->status, sizeof(t->status));
	if (mc_json_int(m, "exit", INT32_MIN, INT32_MAX, &t->exit_code) == -1)
		t->exit_code = -1;
	if (mc_json_bool(m, "truncated", &t->truncated) == -1)
		t->truncated = 0;
	ctl_safe(e ? e : "", t->error, sizeof(t->error));
}

static int
is_final(const char *status)
{
	return strcmp(status, "queued") != 0 && strcmp(status, "sent") != 0 &&
	    strcmp(status, "running") != 0;
}

/* How the command ended, on stderr, when that was not plain success. */
static void
note_end(const struct target *t)
{
	const char *err = t->error[0] ? t->error : "no reason given";

	if (!t->notes)
		return;
	if (t->truncated)
		fprintf(stderr, "hubctl: %s: output truncated (cap)\n",
		    t->safe);
	if (strcmp(t->status, "done") == 0)
		return;
	if (strcmp(t->status, "timeout") == 0)
		fprintf(stderr, "hubctl: %s: timed out; its process group was "
		    "killed\n", t->safe);
	else
		fprintf(stderr, "hubctl: %s: %s: %s\n", t->safe, t->status,
		    err);
}

static int
on_line(void *arg, const char *line, size_t len)
{
	struct target *t = arg;
	const struct mc_json *m, *d;
	struct mc_jdoc *doc;
	const char *type, *stream;
	char err[128];

	if (len == 0)
		return 0;
	doc = mc_json_parse(line, len, err, sizeof(err));
	if (doc == NULL) {
		fprintf(stderr, "hubctl: %s: unreadable line in the hub's "
		    "stream: %s\n", t->safe, err);
		return -1;
	}
	m = mc_json_root(doc);
	type = mc_json_str(m, "t");
	d = mc_json_get(m, "data");
	stream = mc_json_str(m, "stream");
	if (type != NULL && strcmp(type, "out") == 0 && d != NULL &&
	    d->type == MC_JSTR) {
		put_new(t, stream && strcmp(stream, "stderr") == 0, d->str,
		    d->len);
	} else if (type != NULL && strcmp(type, "end") == 0) {
		take_end(t, m);
		flush_parts(t);
		note_end(t);
	}
	mc_json_free(doc);
	return 0;
}

/* The hub ended the stream: open it again if the command is not over
 * (the multi runner's "again"). */
static int
reopen(void *arg, const struct ctl_mreq *q)
{
	struct target *t = arg;
	double now = mc_now();

	if (t->ended || q->ret != 0 || !ctl_http_2xx(q->r.status))
		return 0;
	t->quick = now - t->opened < 1.0 ? t->quick + 1 : 0;
	if (t->quick >= CTL_REOPEN_QUICK)
		return 0;
	t->opened = now;
	t->pos = 0;
	return 1;
}

/* Say why something went wrong for t, unless it was just said. */
static void
say(struct fan *fan, const struct target *t, const char *why)
{
	if (strcmp(why, fan->said) == 0)
		return;
	mc_strlcpy(fan->said, why, sizeof(fan->said));
	fprintf(stderr, "hubctl: %s: %s\n", t->safe, why);
}

/* After a stream: what went wrong with it, if anything. */
static void
stream_done(struct fan *fan, struct ctl_mreq *q)
{
	struct target *t = q->arg;
	char why[CTL_WHY_MAX], text[512];

	flush_parts(t);
	t->hub_err = q->ret == CTL_EXIT_HUB;
	t->lost = q->lost;
	if (q->lost && fan->c->patient)
		return;		/* waiting for the hub, which said so */
	if (q->ret != 0 && q->why[0] != '\0') {
		say(fan, t, q->why);
	} else if (q->ret == 0 && !ctl_http_2xx(q->r.status)) {
		ctl_safe(ctl_resp_error(&q->r), text, sizeof(text));
		snprintf(why, sizeof(why), "cannot follow command %s: %s "
		    "(HTTP %ld)", t->id, text, q->r.status);
		say(fan, t, why);
	} else if (q->ret == 0 && !t->ended) {
		say(fan, t, "the hub keeps ending the output before the "
		    "command ends");
	}
}

static int
follow_all(struct fan *fan)
{
	struct ctl_mreq *q;
	size_t i, m = 0;
	int ret;

	if ((q = calloc(fan->n, sizeof(*q))) == NULL) {
		fprintf(stderr, "hubctl: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	for (i = 0; i < fan->n; i++) {
		if (fan->t[i].id[0] == '\0' || fan->t[i].ended)
			continue;
		snprintf(fan->t[i].path, sizeof(fan->t[i].path),
		    "/api/commands/%s/stream", fan->t[i].id);
		fan->t[i].pos = 0;	/* a stream starts from the start */
		q[m].path = fan->t[i].path;
		q[m].fn = on_line;
		q[m].arg = &fan->t[i];
		q[m].again = reopen;
		fan->t[i].opened = mc_now();
		ctl_resp_init(&q[m].r);
		m++;
	}
	ret = ctl_http_multi(fan->c, q, m, CTL_FANOUT_OPEN);
	for (i = 0; i < m; i++) {
		stream_done(fan, &q[i]);
		ctl_resp_free(&q[i].r);
	}
	free(q);
	if (ret == -1)
		fprintf(stderr, "hubctl: libcurl failed while following the "
		    "commands\n");
	return 0;
}

/* Is a command's end unknown because the hub went away? */
static int
any_lost(const struct fan *fan)
{
	size_t i;

	for (i = 0; i < fan->n; i++)
		if (fan->t[i].id[0] != '\0' && !fan->t[i].ended &&
		    fan->t[i].lost)
			return 1;
	return 0;
}

/* Follow every stream to its end; when the hub goes away (a restart),
 * wait for it and follow those not ended from where they were. */
static int
follow_known(struct fan *fan)
{
	struct ctl_reattach ra;
	int ret;

	memset(&ra, 0, sizeof(ra));
	ret = follow_all(fan);
	while (ret == 0 && any_lost(fan)) {
		if (ctl_hub_wait(fan->c, &ra, "following the commands "
		    "again") == -1)
			break;
		ret = follow_all(fan);
	}
	if (!any_lost(fan))
		ctl_hub_back(fan->c, &ra);
	return ret;
}

/* ---- final records ---- */

static void
json_record(struct fan *fan, const struct target *t, const struct ctl_resp *r)
{
	struct mc_buf b;
	struct mc_jw w;
	size_t n;

	fputs(fan->json_more ? ",\n" : "\n", stdout);
	fan->json_more = 1;
	if (r != NULL) {
		n = r->body.len;
		while (n > 0 && (r->body.data[n - 1] == '\n' ||
		    r->body.data[n - 1] == ' '))
			n--;
		fwrite(r->body.data, 1, n, stdout);
		return;
	}
	/* the hub could not give it: what hubctl knows */
	mc_buf_init(&b, 4096);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "id", t->id);
	mc_jw_str(&w, "agent", t->name);
	mc_jw_str(&w, "status", t->ended ? t->status : "unknown");
	mc_jw_str(&w, "error", "hubctl could not read the command's record");
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == 0)
		fwrite(b.data, 1, b.len, stdout);
	mc_buf_free(&b);
}

static void
docker_record(struct fan *fan, struct target *t, const struct mc_json *rec)
{
	const struct mc_json *out = mc_json_get(rec, "output");

	if (out == NULL || out->type != MC_JSTR || out->len == 0)
		return;
	if (ctl_docker_rows(&fan->docker, t->safe, out->str, out->len) == 0)
		return;
	/* not JSON: as it is, line by line */
	mc_buf_init(&t->part[0], CTL_FANOUT_LINE);
	put_lines(t, 0, out->str, out->len);
	flush_parts(t);
}

/* Where a screenshot is, in hubctl's terms: -o takes one agent only. */
static void
png_record(const struct target *t, const struct mc_json *rec)
{
	int64_t bytes;

	if (mc_json_str(rec, "png") == NULL)
		return;
	printf("%s: the screenshot stays on the hub with command %s", t->safe,
	    t->id);
	if (mc_json_int(rec, "png_bytes", 0, INT64_MAX, &bytes) == 0)
		printf(" (%lld bytes)", (long long)bytes);
	printf("; hubctl send %s screenshot -o FILE.png takes one here\n",
	    t->safe);
}

/* One final record (r NULL: none could be had). */
static void
take_record(struct fan *fan, struct target *t, const struct ctl_resp *r)
{
	const struct mc_json *rec = r && r->doc ? mc_json_root(r->doc) : NULL;
	const struct mc_json *out = rec ? mc_json_get(rec, "output") : NULL;
	const char *s = rec ? mc_json_str(rec, "status") : NULL;

	if (!t->ended && s != NULL && is_final(s)) {
		/* what the streams did not give, as stdout */
		if (out != NULL && out->type == MC_JSTR && out->len > t->done) {
			mc_buf_init(&t->part[0], CTL_FANOUT_LINE);
			t->pos = t->done;
			put_new(t, 0, out->str + t->done, out->len - t->done);
		}
		take_end(t, rec);
		flush_parts(t);
		note_end(t);
	}
	if (fan->c->o.json) {
		json_record(fan, t, rec != NULL ? r : NULL);
		return;
	}
	if (rec == NULL)
		return;
	if (fan->q->kind == MC_KIND_DOCKER_PS)
		docker_record(fan, t, rec);
	else if (fan->q->kind == MC_KIND_SCREENSHOT)
		png_record(t, rec);
}

/* Fetch the records of batch[0..m-1] at once and take them in order. */
static void
fetch_batch(struct fan *fan, struct target **batch, size_t m)
{
	struct ctl_mreq q[CTL_FANOUT_RECORDS];
	size_t i;
	int ok;

	memset(q, 0, sizeof(q));
	for (i = 0; i < m; i++) {
		snprintf(batch[i]->path, sizeof(batch[i]->path),
		    "/api/commands/%s", batch[i]->id);
		q[i].path = batch[i]->path;
		ctl_resp_init(&q[i].r);
	}
	if (ctl_http_multi(fan->c, q, m, CTL_FANOUT_RECORDS) == -1)
		fprintf(stderr, "hubctl: libcurl failed while reading the "
		    "commands\n");
	for (i = 0; i < m; i++) {
		ok = q[i].ret == 0 && ctl_http_2xx(q[i].r.status) &&
		    q[i].r.doc != NULL;
		if (ok || q[i].ret == CTL_EXIT_HUB)
			batch[i]->hub_err = !ok;
		if (!ok && !batch[i]->ended && q[i].why[0] != '\0')
			say(fan, batch[i], q[i].why);
		take_record(fan, batch[i], ok ? &q[i].r : NULL);
		ctl_resp_free(&q[i].r);
	}
}

/* Read the final records the output needs, and those of commands whose
 * stream ended without saying how the command ended. */
static void
fetch_records(struct fan *fan)
{
	struct target *batch[CTL_FANOUT_RECORDS];
	size_t i, m = 0;

	for (i = 0; i < fan->n; i++) {
		if (fan->t[i].id[0] == '\0' || (!fan->records &&
		    fan->t[i].ended))
			continue;
		batch[m++] = &fan->t[i];
		if (m == CTL_FANOUT_RECORDS) {
			fetch_batch(fan, batch, m);
			m = 0;
		}
	}
	if (m > 0)
		fetch_batch(fan, batch, m);
}

/* --json: the agents not reached, and the end of the object. */
static void
json_end(const struct fan *fan)
{
	const struct target *t;
	struct mc_buf b;
	struct mc_jw w;
	size_t i;
	int more = 0;

	fputs("\n],\"offline\":[", stdout);
	mc_buf_init(&b, 4096);
	for (i = 0; i < fan->n; i++) {
		t = &fan->t[i];
		if (t->id[0] != '\0')
			continue;
		mc_buf_reset(&b);
		mc_jw_init(&w, &b);
		mc_jw_obj(&w, NULL);
		mc_jw_str(&w, "agent", t->name);
		mc_jw_null(&w, "id");
		mc_jw_str(&w, "status", t->status);
		mc_jw_str(&w, "error", t->error);
		mc_jw_obj_end(&w);
		if (mc_jw_done(&w) == 0) {
			fputs(more ? ",\n" : "\n", stdout);
			fwrite(b.data, 1, b.len, stdout);
			more = 1;
		}
	}
	mc_buf_free(&b);
	fputs("\n]}\n", stdout);
}

/* ---- the summary ---- */

/* The group of t and how the summary names it. */
static enum group
classify(const struct target *t, char *what, size_t size)
{
	snprintf(what, size, "%s", t->safe);
	if (t->id[0] == '\0') {
		if (strcmp(t->status, "offline") != 0)
			snprintf(what, size, "%s: %s", t->safe, t->status);
		return G_OFFLINE;
	}
	if (!t->ended) {
		snprintf(what, size, "%s unknown", t->safe);
		return G_FAILED;
	}
	if (strcmp(t->status, "done") == 0 && t->exit_code == 0)
		return G_OK;
	if (strcmp(t->status, "timeout") == 0)
		return G_TIMEOUT;
	if (strcmp(t->status, "done") == 0)
		snprintf(what, size, "%s exit %lld", t->safe,
		    (long long)t->exit_code);
	else
		snprintf(what, size, "%s %s", t->safe, t->status);
	return G_FAILED;
}

/* Print the summary; returns the number of agents not ok. */
static size_t
summary(const struct fan *fan)
{
	static const char *const label[G_COUNT] = { "ok", "failed",
	    "timed out", "offline" };
	char what[MC_NAME_MAX + 64];
	struct mc_buf names[G_COUNT];
	size_t count[G_COUNT] = { 0 }, i;
	enum group g;
	int k;

	for (k = 0; k < G_COUNT; k++)
		mc_buf_init(&names[k], 64 * 1024);
	for (i = 0; i < fan->n; i++) {
		g = classify(&fan->t[i], what, sizeof(what));
		if (g != G_OK && count[g] < CTL_FANOUT_NAMES)
			mc_buf_printf(&names[g], "%s%s", count[g] ? ", " : "",
			    what);
		count[g]++;
	}
	fprintf(stderr, "summary: %zu ok", count[G_OK]);
	for (k = G_FAILED; k < G_COUNT; k++) {
		if (count[k] == 0)
			continue;
		fprintf(stderr, ", %zu %s (%s%s", count[k], label[k],
		    names[k].data ? names[k].data : "",
		    count[k] > CTL_FANOUT_NAMES ? ", ..." : "");
		fputc(')', stderr);
		mc_buf_free(&names[k]);
	}
	fputc('\n', stderr);
	mc_buf_free(&names[G_OK]);
	return fan->n - count[G_OK];
}

/* ---- the start ---- */

static int
post(struct fan *fan, struct ctl_resp *r)
{
	struct mc_buf body;
	int ret;

	mc_buf_init(&body, MC_BODY_MAX);
	if (ctl_send_body(fan->q, &body) == -1) {
		mc_buf_free(&body);
		return ctl_usage("send", "the request is over %d bytes",
		    MC_BODY_MAX);
	}
	ret = ctl_http(fan->c, "POST", "/api/commands", &body, r);
	mc_buf_free(&body);
	if (ret != 0)
		return ret;
	if (r->status == 404 || r->status == 405) {
		fprintf(stderr, "hubctl: this hub is older than hubctl and "
		    "cannot send to a tag or to all agents (HTTP %ld); upgrade "
		    "it, or send to each agent by name\n", r->status);
		return CTL_EXIT_FAIL;
	}
	if (!ctl_http_2xx(r->status))
		return ctl_api_fail(fan->c, r);
	return 0;
}

static int
no_match(const struct fan *fan)
{
	if (fan->q->all) {
		fprintf(stderr, "hubctl: the hub has no agents; start a "
		    "listener with a key from `hubctl enroll-key create`\n");
	} else {
		fputs("hubctl: no agent has the tag '", stderr);
		ctl_put_safe(stderr, fan->q->tag);
		fputs("' (see `hubctl agents`)\n", stderr);
	}
	return CTL_EXIT_AGENT;
}

static void
target_init(struct fan *fan, struct target *t, const struct mc_json *e)
{
	const char *id = mc_json_str(e, "id");
	int kind = fan->q->kind;

	mc_strlcpy(t->name, ctl_jstr(e, "agent", "?"), sizeof(t->name));
	ctl_safe(t->name, t->safe, sizeof(t->safe));
	mc_buf_init(&t->part[0], CTL_FANOUT_LINE);
	mc_buf_init(&t->part[1], CTL_FANOUT_LINE);
	t->exit_code = -1;
	t->notes = !fan->c->o.json;
	t->print = t->notes && kind != MC_KIND_DOCKER_PS &&
	    kind != MC_KIND_SCREENSHOT;
	if (id != NULL && ctl_id_valid(id)) {
		mc_strlcpy(t->id, id, sizeof(t->id));
		return;
	}
	ctl_safe(ctl_jstr(e, "status", "unknown"), t->status,
	    sizeof(t->status));
	ctl_safe(ctl_jstr(e, "error", id != NULL ? "the hub gave no usable "
	    "command id" : "not sent"), t->error, sizeof(t->error));
	if (t->notes)
		fprintf(stderr, "hubctl: %s: not sent: %s\n", t->safe,
		    t->error);
}

static int
take_targets(struct fan *fan, const struct ctl_resp *r)
{
	const struct mc_json *list = NULL, *e;

	if (r->doc != NULL)
		list = mc_json_get(mc_json_root(r->doc), "commands");
	if (list == NULL || list->type != MC_JARR) {
		fprintf(stderr, "hubctl: the hub's answer has no command "
		    "list\n");
		return CTL_EXIT_FAIL;
	}
	if (list->len == 0)
		return no_match(fan);
	if ((fan->t = calloc(list->len, sizeof(*fan->t))) == NULL) {
		fprintf(stderr, "hubctl: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	for (e = list->child; e != NULL && fan->n < list->len; e = e->next)
		if (e->type == MC_JOBJ)
			target_init(fan, &fan->t[fan->n++], e);
	return fan->n > 0 ? 0 : no_match(fan);
}

/* ---- --queue: which agents the commands wait for ---- */

static int
by_name(const void *a, const void *b)
{
	const struct target *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int
agent_offline(const struct mc_json *a)
{
	const char *s = mc_json_str(a, "status");
	int conn;

	return (mc_json_bool(a, "connected", &conn) == 0 && !conn) ||
	    (s != NULL && (strcmp(s, "offline") == 0 ||
	    strcmp(s, "restarting") == 0));
}

/* Say which commands wait on the hub for an agent that is not online. */
static void
announce_queued(struct fan *fan)
{
	const struct mc_json *list = NULL, *a;
	struct target **idx, key, *kp = &key, **hit;
	struct ctl_resp r;
	const char *name;
	size_t i;

	if (fan->q->queue <= 0 || fan->c->o.json ||
	    (idx = calloc(fan->n, sizeof(*idx))) == NULL)
		return;
	for (i = 0; i < fan->n; i++)
		idx[i] = &fan->t[i];
	qsort(idx, fan->n, sizeof(*idx), by_name);
	ctl_resp_init(&r);
	if (ctl_http(fan->c, "GET", "/api/agents", NULL, &r) == 0 &&
	    r.status == 200 && r.doc != NULL)
		list = mc_json_get(mc_json_root(r.doc), "agents");
	for (a = list && list->type == MC_JARR ? list->child : NULL; a;
	    a = a->next) {
		name = mc_json_str(a, "name");
		if (name == NULL || !agent_offline(a) ||
		    mc_strlcpy(key.name, name, sizeof(key.name)) == -1)
			continue;
		hit = bsearch(&kp, idx, fan->n, sizeof(*idx), by_name);
		if (hit == NULL || (*hit)->id[0] == '\0')
			continue;
		fprintf(stderr, "hubctl: %s is not online; queued for up to ",
		    (*hit)->safe);
		ctl_put_safe(stderr, fan->q->queue_text);
		fprintf(stderr, " (command %s)\n", (*hit)->id);
	}
	ctl_resp_free(&r);
	free(idx);
}

/* After the streams: records, tables, the summary; the exit status. */
static int
report(struct fan *fan)
{
	static const char *const head[] = { "AGENT", "NAME", "IMAGE",
	    "STATE", "STATUS", "PORTS" };
	int json = fan->c->o.json, docker = fan->q->kind == MC_KIND_DOCKER_PS;
	char what[MC_NAME_MAX + 64];
	size_t i, bad = 0;

	ctl_table_init(&fan->docker, 6);
	for (i = 0; docker && !json && i < 6; i++)
		ctl_table_add(&fan->docker, head[i]);
	if (json)
		fputs("{\"commands\":[", stdout);
	fetch_records(fan);
	if (json)
		json_end(fan);
	if (fan->docker.ncells > 6)
		ctl_table_print(&fan->docker);
	else
		mc_buf_free(&fan->docker.cells);
	if (!json)
		bad = summary(fan);
	for (i = 0; json && i < fan->n; i++)
		bad += classify(&fan->t[i], what, sizeof(what)) != G_OK;
	for (i = 0; i < fan->n; i++)
		fan->hub_lost |= !fan->t[i].ended && fan->t[i].hub_err;
	if (fan->hub_lost) {
		fprintf(stderr, "hubctl: lost the hub; some commands may still "
		    "be queued or running (see `hubctl history`)\n");
		return CTL_EXIT_HUB;
	}
	return bad == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

int
ctl_fanout(struct ctl *c, const struct ctl_send *q)
{
	struct fan fan;
	struct ctl_resp r;
	size_t i;
	int ret;

	memset(&fan, 0, sizeof(fan));
	fan.c = c;
	fan.q = q;
	fan.records = c->o.json || q->kind == MC_KIND_DOCKER_PS ||
	    q->kind == MC_KIND_SCREENSHOT;
	ctl_resp_init(&r);
	ret = post(&fan, &r);
	if (ret == 0)
		ret = take_targets(&fan, &r);
	ctl_resp_free(&r);
	if (ret == 0) {
		announce_queued(&fan);
		ret = follow_known(&fan);
	}
	if (ret == 0)
		ret = report(&fan);
	for (i = 0; i < fan.n; i++) {
		mc_buf_free(&fan.t[i].part[0]);
		mc_buf_free(&fan.t[i].part[1]);
	}
	free(fan.t);
	return ret;
}
