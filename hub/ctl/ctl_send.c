/*
 * ctl_send.c - "hubctl send AGENT KIND ...": the command from its request
 * to hubctl's exit status.  The words are read in ctl_send_args.c (a
 * fan-out, send --tag TAG | --all, goes on to ctl_fanout.c), and the
 * output is followed in ctl_send_follow.c.
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
 * be a PNG, written atomically).  With a signing key (--key, "key =")
 * the command goes signed for its agent (ctl_sign.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_send.h"
#include "mc_util.h"

#define PNG_MAGIC	"\x89PNG\r\n\x1a\n"

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
	char path[CTL_SEND_PATH_LEN], status[64];
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
take_id(struct ctl_run *u, const struct ctl_resp *r)
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

/* The request's body, signed when there is a key: 0, or an exit status
 * after saying why. */
static int
make_body(const struct ctl_send *q, struct mc_buf *body)
{
	struct mc_sig *sig = NULL;	/* owned: too large for the stack */
	int ret = 0;

	if (q->key != NULL && (sig = malloc(sizeof(*sig))) == NULL) {
		fprintf(stderr, "hubctl: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	if (sig != NULL && ctl_sign_send(q->key, q, q->agent, sig) == -1)
		ret = CTL_EXIT_FAIL;
	else if (ctl_send_body(q, sig, sig ? 1 : 0, body) == -1)
		ret = ctl_usage("send", "the request is over %d bytes",
		    MC_BODY_MAX);
	free(sig);
	return ret;
}

static int
submit(struct ctl *c, struct ctl_run *u)
{
	char path[CTL_SEND_PATH_LEN];
	struct ctl_resp r;
	struct mc_buf body;
	int ret;

	mc_buf_init(&body, MC_BODY_MAX);
	ret = make_body(u->q, &body);
	if (ret != 0) {
		mc_buf_free(&body);
		return ret;
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
	char path[CTL_SEND_PATH_LEN];
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
announce(struct ctl *c, const struct ctl_run *u)
{
	char path[CTL_SEND_PATH_LEN];
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

/* ---- ending ---- */

static int
shell_status(int64_t code)
{
	if (code < 0 || code > 255)
		return CTL_EXIT_FAIL;
	return (int)code;
}

static int
expired(const struct ctl_run *u)
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
conclude(const struct ctl_run *u)
{
	const struct ctl_send *q = u->q;
	const struct ctl_follow *f = &u->f;
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
		ctl_sign_hint(f->error);
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
	char path[CTL_SEND_PATH_LEN];
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
show_docker(const struct ctl_run *u)
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
	char path[CTL_SEND_PATH_LEN];
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
where_png(struct ctl *c, const struct ctl_run *u)
{
	char link[CTL_SEND_PATH_LEN];
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
save_png(struct ctl *c, const struct ctl_run *u)
{
	char link[CTL_SEND_PATH_LEN];
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
after(struct ctl *c, const struct ctl_run *u)
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
	struct ctl_run u;
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
		ret = ctl_send_follow(c, &u);
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
	ret = ctl_send_parse(c, &q, argc, argv);
	if (ret == 0)
		ret = ctl_key_load(c, &q.key);
	if (ret == 0 && q.agent == NULL)
		ret = ctl_fanout(c, &q);
	else if (ret == 0)
		ret = send_one(c, &q);
	ctl_key_free(q.key);
	mc_buf_free(&q.cmd);
	return ret;
}
