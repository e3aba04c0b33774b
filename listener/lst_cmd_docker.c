/*
 * lst_cmd_docker.c - the "docker_ps" and "docker_restart" commands,
 * through the Docker Engine API on docker_socket (lst_docker.c); no
 * docker CLI is needed.
 *
 * The exchange runs in a forked child (lst_exec.c), so a slow or stuck
 * engine never blocks the loop and the command's timeout always ends it.
 * The child writes the command's output to stdout (streamed as "out")
 * and exits 0, or writes the reason to stderr and exits 1: the result is
 * then "failed" with that reason - for an engine error, the engine's own
 * message ("No such container: nope").
 *
 * docker_ps prints one JSON array, one container per line
 * (docs/protocol.md):
 *   [{"id":"<12 hex>","name":"web","image":"busybox","state":"running",
 *     "status":"Up 3 minutes","ports":"0.0.0.0:8080->80/tcp"}]
 * docker_restart CONTAINER prints "restarted CONTAINER".
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lst.h"
#include "mc_log.h"

#define DOCKER_API		"/v1.41"
/* seconds the engine waits for the container to stop before killing it */
#define DOCKER_STOP_WAIT	10

static const char *
docker_socket(const struct lst *l)
{
	return l->conf.docker_socket[0] != '\0' ? l->conf.docker_socket :
	    LST_DOCKER_SOCKET;
}

/* ---- docker_ps (in the child) ---- */

/* "0.0.0.0:8080->80/tcp, 443/tcp" as the docker CLI shows it. */
static void
ports_text(const struct mc_json *ports, struct mc_buf *b)
{
	const struct mc_json *p;
	const char *ip, *type;
	int64_t priv, pub;

	if (ports == NULL || ports->type != MC_JARR)
		return;
	for (p = ports->child; p != NULL; p = p->next) {
		if (mc_json_int(p, "PrivatePort", 0, 65535, &priv) == -1)
			continue;
		type = mc_json_str(p, "Type");
		ip = mc_json_str(p, "IP");
		if (b->len > 0)
			mc_buf_puts(b, ", ");
		if (ip != NULL && mc_json_int(p, "PublicPort", 0, 65535,
		    &pub) == 0)
			mc_buf_printf(b, strchr(ip, ':') != NULL ?
			    "[%s]:%" PRId64 "->" : "%s:%" PRId64 "->", ip, pub);
		mc_buf_printf(b, "%" PRId64 "/%s", priv,
		    type != NULL ? type : "tcp");
	}
}

static const char *
text(const struct mc_json *o, const char *key)
{
	const char *s = mc_json_str(o, key);

	return s != NULL ? s : "";
}

/* One container as a JSON object line into out. */
static void
ps_entry(const struct mc_json *c, struct mc_buf *out)
{
	const struct mc_json *names = mc_json_get(c, "Names");
	const char *id = text(c, "Id"), *name = "";
	struct mc_buf ports;
	struct mc_jw w;

	if (names != NULL && names->type == MC_JARR && names->child != NULL &&
	    names->child->type == MC_JSTR)
		name = names->child->str;
	if (name[0] == '/')
		name++;
	mc_buf_init(&ports, 64 * 1024);
	ports_text(mc_json_get(c, "Ports"), &ports);
	mc_jw_init(&w, out);
	mc_jw_obj(&w, NULL);
	mc_jw_strn(&w, "id", id, strlen(id) > 12 ? 12 : strlen(id));
	mc_jw_str(&w, "name", name);
	mc_jw_str(&w, "image", text(c, "Image"));
	mc_jw_str(&w, "state", text(c, "State"));
	mc_jw_str(&w, "status", text(c, "Status"));
	mc_jw_str(&w, "ports", ports.data != NULL ? ports.data : "");
	mc_jw_obj_end(&w);
	mc_buf_free(&ports);
}

/* The engine's container list as our JSON lines into out.  0 or -1. */
static int
ps_format(const struct mc_buf *body, struct mc_buf *out)
{
	const struct mc_json *root, *e;
	struct mc_jdoc *d;
	char err[MC_TEXT_MAX];
	int r = -1;

	d = mc_json_parse(body->data, body->len, err, sizeof(err));
	root = d != NULL ? mc_json_root(d) : NULL;
	if (root == NULL || root->type != MC_JARR) {
		lst_child_fail("Docker's container list is not a JSON array");
		goto done;
	}
	mc_buf_puts(out, "[");
	for (e = root->child; e != NULL; e = e->next) {
		if (e->type != MC_JOBJ)
			continue;
		if (out->len > 1)
			mc_buf_puts(out, ",\n");
		ps_entry(e, out);
	}
	if (mc_buf_puts(out, "]\n") == -1)
		lst_child_fail("the container list is over %d bytes",
		    (int)out->limit);
	else
		r = 0;
done:
	mc_json_free(d);
	return r;
}

static int
ps_child(struct lst *l, const struct mc_cmd *c)
{
	struct mc_buf body, out;
	char err[MC_TEXT_MAX];
	int st, r = 1;

	(void)c;
	mc_buf_init(&body, LST_DOCKER_BODY_MAX);
	mc_buf_init(&out, 2 * LST_DOCKER_BODY_MAX);
	st = lst_docker_call(docker_socket(l), "GET", DOCKER_API
	    "/containers/json?all=1", &body, err, sizeof(err));
	if (st == -1)
		lst_child_fail("%s", err);
	else if (st != 200) {
		lst_docker_message(&body, st, err, sizeof(err));
		lst_child_fail("%s", err);
	} else if (ps_format(&body, &out) == 0)
		r = lst_write_all(1, out.data, out.len) == -1;
	mc_buf_free(&body);
	mc_buf_free(&out);
	return r;
}

/* ---- docker_restart (in the child) ---- */

static int
restart_child(struct lst *l, const struct mc_cmd *c)
{
	char name[3 * MC_TEXT_MAX], path[3 * MC_TEXT_MAX + 64];
	char err[MC_TEXT_MAX], line[MC_TEXT_MAX + 16];
	struct mc_buf body;
	int st, n;

	if (lst_url_escape(c->arg, name, sizeof(name)) == -1)
		return lst_child_fail("container name too long");
	snprintf(path, sizeof(path), DOCKER_API "/containers/%s/restart?t=%d",
	    name, DOCKER_STOP_WAIT);
	mc_buf_init(&body, LST_DOCKER_BODY_MAX);
	st = lst_docker_call(docker_socket(l), "POST", path, &body, err,
	    sizeof(err));
	if (st != -1 && st != 204 && st != 200)
		lst_docker_message(&body, st, err, sizeof(err));
	mc_buf_free(&body);
	if (st != 204 && st != 200)
		return lst_child_fail("%s", err);
	n = snprintf(line, sizeof(line), "restarted %s\n", c->arg);
	return lst_write_all(1, line, (size_t)n) == -1;
}

/* ---- on the loop ---- */

static void
docker_finish(struct lst_job *j, struct mc_result *r)
{
	lst_exec_child_failed(j, r);
	lst_cmd_result(j->l, r);
}

static void
docker_spawn(struct lst *l, const struct mc_cmd *c,
    int (*fn)(struct lst *, const struct mc_cmd *))
{
	struct lst_spawn s;
	char err[MC_TEXT_MAX];

	memset(&s, 0, sizeof(s));
	s.fn = fn;
	s.sink = LST_SINK_STREAM;
	s.finish = docker_finish;
	if (lst_exec_spawn(l, c, &s, err, sizeof(err)) == -1)
		lst_cmd_fail(l, c->id, err);
}

void
lst_cmd_docker_ps(struct lst *l, const struct mc_cmd *c)
{
	docker_spawn(l, c, ps_child);
}

void
lst_cmd_docker_restart(struct lst *l, const struct mc_cmd *c)
{
	if (c->arg[0] == '\0') {
		lst_cmd_fail(l, c->id, "docker_restart needs a container name "
		    "or id (arg)");
		return;
	}
	mc_info("command %s: restarting container '%s'", c->id, c->arg);
	docker_spawn(l, c, restart_child);
}
