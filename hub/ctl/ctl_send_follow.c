/*
 * ctl_send_follow.c - following one command's output: GET
 * /api/commands/ID/stream, each output chunk written to stdout or stderr
 * the moment it arrives, until the stream's "end" line.
 *
 * A stream may end early (a proxy, an idle timeout) or the hub may go
 * away (a restart, a network drop): the stream is opened again, or hubctl
 * waits for the hub and asks how the command is.  A stream replays the
 * output from its first byte, so only bytes not written before are
 * written; the command and its output live in the hub's store, so nothing
 * is lost and nothing runs twice.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl_send.h"
#include "mc_util.h"

static void
take_end(struct ctl_follow *f, const struct mc_json *m)
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
put_bytes(struct ctl_follow *f, FILE *fp, const char *p, size_t n)
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
put_out(struct ctl_follow *f, const struct mc_json *m)
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
	struct ctl_follow *f = arg;
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
put_rest(struct ctl_follow *f, const struct mc_json *rec)
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
fetch_end(struct ctl *c, struct ctl_run *u)
{
	char path[CTL_SEND_PATH_LEN];
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
follow_once(struct ctl *c, struct ctl_run *u, const char *path)
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
reattach(struct ctl *c, struct ctl_run *u)
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

int
ctl_send_follow(struct ctl *c, struct ctl_run *u)
{
	char path[CTL_SEND_PATH_LEN];
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
