/*
 * ctl_fanout_follow.c - a fan-out's output: every command's stream
 * followed at once, each line printed with its agent's name, and the final
 * records that finish what the streams did not give.
 *
 * The streams run over libcurl's multi interface, at most CTL_FANOUT_OPEN
 * at a time.  Each output line is printed as it arrives with "NAME: "
 * before it, stdout lines on stdout and stderr lines on stderr; a partial
 * line waits in a buffer per agent and stream of at most CTL_FANOUT_LINE
 * bytes (a longer line is printed in pieces) and is printed when the
 * command ends.  A stream the hub ends early is opened again, and when
 * the hub goes away (a restart) hubctl waits for it and follows again
 * from where it was: a stream replays the output from its first byte, so
 * only bytes not printed before are printed.  Output is the operator's
 * own and is written as it is; names and hub texts are made safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_fanout.h"
#include "mc_util.h"

/* ---- output lines ---- */

static void
emit(const struct ctl_fan_target *t, int k, const char *p, size_t n)
{
	FILE *fp = k ? stderr : stdout;

	fprintf(fp, "%s: ", t->safe);
	fwrite(p, 1, n, fp);
	if (n == 0 || p[n - 1] != '\n')
		fputc('\n', fp);
}

static void
line_out(struct ctl_fan_target *t, int k)
{
	if (t->part[k].len == 0)
		return;
	emit(t, k, t->part[k].data, t->part[k].len);
	mc_buf_reset(&t->part[k]);
}

/* Print every complete line of p with the name before it; keep the
 * rest, printing it anyway once the buffer is full. */
static void
put_lines(struct ctl_fan_target *t, int k, const char *p, size_t n)
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
put_new(struct ctl_fan_target *t, int k, const char *p, size_t n)
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
flush_parts(struct ctl_fan_target *t)
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
take_end(struct ctl_fan_target *t, const struct mc_json *m)
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
note_end(const struct ctl_fan_target *t)
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
	ctl_sign_hint(t->error);
}

static int
on_line(void *arg, const char *line, size_t len)
{
	struct ctl_fan_target *t = arg;
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
	struct ctl_fan_target *t = arg;
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
say(struct ctl_fan *fan, const struct ctl_fan_target *t, const char *why)
{
	if (strcmp(why, fan->said) == 0)
		return;
	mc_strlcpy(fan->said, why, sizeof(fan->said));
	fprintf(stderr, "hubctl: %s: %s\n", t->safe, why);
}

/* After a stream: what went wrong with it, if anything. */
static void
stream_done(struct ctl_fan *fan, struct ctl_mreq *q)
{
	struct ctl_fan_target *t = q->arg;
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
follow_all(struct ctl_fan *fan)
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
any_lost(const struct ctl_fan *fan)
{
	size_t i;

	for (i = 0; i < fan->n; i++)
		if (fan->t[i].id[0] != '\0' && !fan->t[i].ended &&
		    fan->t[i].lost)
			return 1;
	return 0;
}

int
ctl_fanout_follow(struct ctl_fan *fan)
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
json_record(struct ctl_fan *fan, const struct ctl_fan_target *t,
    const struct ctl_resp *r)
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
docker_record(struct ctl_fan *fan, struct ctl_fan_target *t,
    const struct mc_json *rec)
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
png_record(const struct ctl_fan_target *t, const struct mc_json *rec)
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
take_record(struct ctl_fan *fan, struct ctl_fan_target *t,
    const struct ctl_resp *r)
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
fetch_batch(struct ctl_fan *fan, struct ctl_fan_target **batch, size_t m)
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

void
ctl_fanout_records(struct ctl_fan *fan)
{
	struct ctl_fan_target *batch[CTL_FANOUT_RECORDS];
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
