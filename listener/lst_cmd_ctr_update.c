/*
 * lst_cmd_ctr_update.c - the "container_update" command: pull an image,
 * recreate containers from it with the configuration they had, check
 * them, and put the old container back when the new one does not come up.
 *
 * It runs in a forked child (lst_exec.c) through the Docker Engine API on
 * docker_socket (lst_docker.c), so it may block; the command's timeout
 * kills it, which is why the checks end UPD_RESERVE before that timeout:
 * a rollback must still have time to run.  Each step is a line of output.
 * Rules kept here:
 * - Targets: arg names one container; without arg, every container whose
 *   Config.Image is the image (image without arg: arg's own reference,
 *   pulled again).  One that already runs the pulled image id is "up to
 *   date" and left alone.
 * - The old container is renamed NAME-maestro-old-<short id>, never
 *   removed before the new one runs (and is healthy, when it has a
 *   health check); only then is it removed, and with prune its image.
 * - A failure after the rename stops and removes the new container,
 *   gives the old one its name back and starts it if it was running:
 *   "rolled back: REASON".  The first rollback ends the command; the
 *   containers after it are "skipped".
 * - Exit status: 0 every target updated or up to date; 1 something was
 *   rolled back or skipped; 2 it could not even try (no such container,
 *   the pull failed, no Docker socket) - the result is then "failed" with
 *   the reason.  The last line is the summary the hub reads
 *   (docs/protocol.md): "summary: N updated, N up to date, N rolled
 *   back, N skipped".
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lst.h"
#include "mc_log.h"

#define DOCKER_API		"/v1.41"
/* a pull's progress stream: one line per layer step */
#define UPD_PULL_MAX		(16 * 1024 * 1024)
#define UPD_POLL_NS		200000000L	/* between state checks */
/* a container with no health check must stay up this long */
#define UPD_SETTLE		1.0
/* time kept back from the command's timeout for a rollback */
#define UPD_RESERVE		15.0
#define UPD_EXIT_BACK		1
#define UPD_EXIT_FAILED		2
#define UPD_ID_MAX		80	/* "sha256:" and 64 hex digits */

struct upd {
	const char	*sock;
	char		 ref[MC_IMAGE_MAX];	/* the image to run */
	char		 new_id[UPD_ID_MAX];	/* what the pull left under ref */
	double		 deadline;		/* monotonic: checks end */
	int		 prune;
	int		 updated, current, back, skipped;
};

/* ---- the engine ---- */

/* A call whose status must be ok1 or ok2: 0, or -1 with the engine's
 * reason in err.  body (may be NULL) gets the answer. */
static int
call(const struct upd *u, const char *method, const char *path,
    const struct mc_buf *json, struct mc_buf *body, int ok1, int ok2,
    char *err, size_t errlen)
{
	struct mc_buf tmp;
	struct mc_buf *b = body != NULL ? body : &tmp;
	int st;

	if (body == NULL)
		mc_buf_init(&tmp, 64 * 1024);
	st = lst_docker_send(u->sock, method, path, json != NULL ?
	    json->data : NULL, json != NULL ? json->len : 0, b, err, errlen);
	if (st != -1 && st != ok1 && st != ok2)
		lst_docker_message(b, st, err, errlen);
	if (body == NULL)
		mc_buf_free(&tmp);
	return st != -1 && (st == ok1 || st == ok2) ? 0 : -1;
}

/* GET path as a JSON document, or NULL with the reason in err. */
static struct mc_jdoc *
inspect(const struct upd *u, const char *path, char *err, size_t errlen)
{
	struct mc_jdoc *d = NULL;
	struct mc_buf body;

	mc_buf_init(&body, LST_DOCKER_BODY_MAX);
	if (call(u, "GET", path, NULL, &body, 200, 200, err, errlen) == 0)
		d = mc_json_parse(body.data, body.len, err, errlen);
	mc_buf_free(&body);
	return d;
}

static struct mc_jdoc *
inspect_ctr(const struct upd *u, const char *name, char *err, size_t errlen)
{
	char esc[3 * MC_TEXT_MAX], path[3 * MC_TEXT_MAX + 64];

	if (lst_url_escape(name, esc, sizeof(esc)) == -1) {
		snprintf(err, errlen, "container name too long");
		return NULL;
	}
	snprintf(path, sizeof(path), DOCKER_API "/containers/%s/json", esc);
	return inspect(u, path, err, errlen);
}

/* POST /containers/ID/VERB[?QUERY]: 0 or -1 with err. */
static int
ctr_post(const struct upd *u, const char *id, const char *verb,
    const char *query, char *err, size_t errlen)
{
	char path[4 * MC_TEXT_MAX];

	snprintf(path, sizeof(path), DOCKER_API "/containers/%s/%s%s%s", id,
	    verb, query[0] != '\0' ? "?" : "", query);
	/* 304: already started / already stopped */
	return call(u, "POST", path, NULL, NULL, 204, 304, err, errlen);
}

static int
ctr_rename(const struct upd *u, const char *id, const char *name, char *err,
    size_t errlen)
{
	char esc[3 * MC_TEXT_MAX], q[3 * MC_TEXT_MAX + 8];

	if (lst_url_escape(name, esc, sizeof(esc)) == -1) {
		snprintf(err, errlen, "container name too long");
		return -1;
	}
	snprintf(q, sizeof(q), "name=%s", esc);
	return ctr_post(u, id, "rename", q, err, errlen);
}

/* ---- the pull ---- */

/* The first "error" of a pull's progress stream, or NULL. */
static const char *
pull_error(const struct mc_buf *body, char *err, size_t errlen)
{
	const char *p = body->data, *end = body->data + body->len, *e, *msg;
	struct mc_jdoc *d;
	char jerr[64];

	for (; p != NULL && p < end; p = e != NULL ? e + 1 : NULL) {
		e = memchr(p, '\n', (size_t)(end - p));
		d = mc_json_parse(p, (size_t)((e != NULL ? e : end) - p), jerr,
		    sizeof(jerr));
		msg = d != NULL ? mc_json_str(mc_json_root(d), "error") : NULL;
		if (msg != NULL)
			mc_strlcpy(err, msg, errlen);
		mc_json_free(d);
		if (msg != NULL)
			return err;
	}
	return NULL;
}

/* fromImage=REPO&tag=TAG for ref (a digest reference goes whole). */
static int
pull_query(const char *ref, char *out, size_t size)
{
	char repo[MC_IMAGE_MAX], erepo[3 * MC_IMAGE_MAX], etag[3 * MC_IMAGE_MAX];
	const char *slash = strrchr(ref, '/'), *colon = strrchr(ref, ':');
	const char *tag = "latest";

	mc_strlcpy(repo, ref, sizeof(repo));
	if (strchr(ref, '@') != NULL)
		tag = "";
	else if (colon != NULL && (slash == NULL || colon > slash)) {
		repo[colon - ref] = '\0';
		tag = colon + 1;
	}
	if (lst_url_escape(repo, erepo, sizeof(erepo)) == -1 ||
	    lst_url_escape(tag, etag, sizeof(etag)) == -1)
		return -1;
	snprintf(out, size, "fromImage=%s%s%s", erepo, tag[0] ? "&tag=" : "",
	    etag);
	return 0;
}

/* Pull u->ref and set u->new_id.  0, or -1 with the reason in err. */
static int
pull(struct upd *u, char *err, size_t errlen)
{
	char q[7 * MC_IMAGE_MAX], path[sizeof(q) + 64], esc[3 * MC_IMAGE_MAX];
	struct mc_jdoc *d;
	struct mc_buf body;
	const char *id;
	int r;

	if (pull_query(u->ref, q, sizeof(q)) == -1 ||
	    lst_docker_ref_path(u->ref, esc, sizeof(esc)) == -1) {
		snprintf(err, errlen, "image reference too long");
		return -1;
	}
	snprintf(path, sizeof(path), DOCKER_API "/images/create?%s", q);
	mc_buf_init(&body, UPD_PULL_MAX);
	r = call(u, "POST", path, NULL, &body, 200, 200, err, errlen);
	if (r == 0 && pull_error(&body, err, errlen) != NULL)
		r = -1;
	mc_buf_free(&body);
	if (r == -1)
		return -1;
	snprintf(path, sizeof(path), DOCKER_API "/images/%s/json", esc);
	if ((d = inspect(u, path, err, errlen)) == NULL)
		return -1;
	id = mc_json_str(mc_json_root(d), "Id");
	if (id != NULL)
		mc_strlcpy(u->new_id, id, sizeof(u->new_id));
	else
		snprintf(err, errlen, "the pulled image has no Id");
	mc_json_free(d);
	if (id == NULL)
		return -1;
	lst_child_say("pulled %s: %.19s", u->ref, u->new_id);
	return 0;
}

/* ---- one container ---- */

/* What one container's update knows. */
struct one {
	char	name[MC_TEXT_MAX];
	char	old_id[UPD_ID_MAX];
	char	old_img[UPD_ID_MAX];
	char	new_id[UPD_ID_MAX];		/* "" until created */
	int	running;			/* the old one was */
};

static void
nap(void)
{
	struct timespec ts = { 0, UPD_POLL_NS };

	nanosleep(&ts, NULL);
}

/* The new container's state once: 1 ready, 0 not yet, -1 never (why). */
static int
ready_once(const struct mc_json *s, double *up_since, char *why,
    size_t whylen)
{
	const struct mc_json *h = mc_json_get(s, "Health"), *log, *last;
	const char *st = mc_json_str(s, "Status"), *hs, *out;
	int running = 0, restarting = 0;
	int64_t code = 0;

	mc_json_bool(s, "Running", &running);
	mc_json_bool(s, "Restarting", &restarting);
	hs = mc_json_str(h, "Status");
	if (hs != NULL && strcmp(hs, "unhealthy") == 0) {
		log = mc_json_get(h, "Log");
		for (last = log != NULL ? log->child : NULL; last != NULL &&
		    last->next != NULL; last = last->next)
			;
		out = mc_json_str(last, "Output");
		snprintf(why, whylen, "unhealthy%s%.200s", out && *out ?
		    ": " : "", out ? out : "");
		return -1;
	}
	if (!running || restarting) {
		if (st != NULL && (strcmp(st, "exited") == 0 ||
		    strcmp(st, "dead") == 0 || restarting)) {
			mc_json_int(s, "ExitCode", -1, 255, &code);
			snprintf(why, whylen, "it exited with status %d",
			    (int)code);
			return -1;
		}
		*up_since = 0;
		return 0;
	}
	if (*up_since == 0)
		*up_since = mc_now();
	if (hs != NULL)
		return strcmp(hs, "healthy") == 0;
	return mc_now() - *up_since >= UPD_SETTLE;
}

/* Wait until the new container runs (and is healthy).  0 or -1 (why). */
static int
wait_ready(const struct upd *u, const struct one *o, char *why,
    size_t whylen)
{
	const struct mc_json *s;
	struct mc_jdoc *d;
	double up_since = 0;
	const char *hs;
	int r;

	for (;;) {
		if ((d = inspect_ctr(u, o->new_id, why, whylen)) == NULL)
			return -1;
		s = mc_json_get(mc_json_root(d), "State");
		r = ready_once(s, &up_since, why, whylen);
		hs = mc_json_str(mc_json_get(s, "Health"), "Status");
		if (r == 0 && mc_now() >= u->deadline)
			snprintf(why, whylen, "not %s within the command's "
			    "timeout", hs != NULL ? "healthy" : "running");
		mc_json_free(d);
		if (r == 1)
			return 0;
		if (r == -1 || mc_now() >= u->deadline)
			return -1;
		nap();
	}
}

/* Put the old container back; say what happened. */
static void
rollback(struct upd *u, const struct one *o, const char *reason)
{
	char path[256], err[MC_TEXT_MAX];
	int bad = 0;

	u->back++;
	if (o->new_id[0] != '\0') {
		snprintf(path, sizeof(path), DOCKER_API "/containers/%s?force=1",
		    o->new_id);
		if (call(u, "DELETE", path, NULL, NULL, 204, 204, err,
		    sizeof(err)) == -1 && (bad = 1))
			lst_child_say("%s: removing the new container: %s", o->name, err);
	}
	if (!bad && ctr_rename(u, o->old_id, o->name, err, sizeof(err)) == -1 &&
	    (bad = 1))
		lst_child_say("%s: renaming the old container back: %s", o->name, err);
	if (!bad && o->running && ctr_post(u, o->old_id, "start", "", err,
	    sizeof(err)) == -1 && (bad = 1))
		lst_child_say("%s: starting the old container: %s", o->name, err);
	if (bad)
		lst_child_say("%s: rollback incomplete (the old container is %.12s): %s",
		    o->name, o->old_id, reason);
	else
		lst_child_say("%s: rolled back: %s", o->name, reason);
}

/* Remove the old image (prune); "in use" is an answer, not a failure. */
static void
prune_old(const struct upd *u, const struct one *o)
{
	char path[256], err[MC_TEXT_MAX];
	struct mc_buf body;
	int st;

	snprintf(path, sizeof(path), DOCKER_API "/images/%s", o->old_img);
	mc_buf_init(&body, 64 * 1024);
	st = lst_docker_send(u->sock, "DELETE", path, NULL, 0, &body, err,
	    sizeof(err));
	if (st != -1 && st != 200)
		lst_docker_message(&body, st, err, sizeof(err));
	mc_buf_free(&body);
	if (st == 200)
		lst_child_say("%s: removed the old image %.19s", o->name, o->old_img);
	else if (st == 409)
		lst_child_say("%s: kept the old image %.19s: in use (%s)", o->name,
		    o->old_img, err);
	else
		lst_child_say("%s: could not remove the old image %.19s: %s", o->name,
		    o->old_img, err);
}

/* Connect the new container to the old one's other networks. */
static int
connect_rest(const struct upd *u, const struct mc_json *ctr,
    const struct one *o, char *err, size_t errlen)
{
	const struct mc_json *nets = mc_json_get(mc_json_get(ctr,
	    "NetworkSettings"), "Networks"), *n;
	const char *primary = lst_ctr_spec_primary(ctr);
	char esc[3 * MC_TEXT_MAX], path[3 * MC_TEXT_MAX + 64];
	struct mc_buf body;
	struct mc_jw w;
	int r = 0;

	mc_buf_init(&body, 64 * 1024);
	for (n = nets != NULL ? nets->child : NULL; n != NULL && r == 0;
	    n = n->next) {
		if (primary != NULL && strcmp(n->key, primary) == 0)
			continue;
		if (lst_url_escape(n->key, esc, sizeof(esc)) == -1)
			continue;
		mc_buf_reset(&body);
		mc_jw_init(&w, &body);
		mc_jw_obj(&w, NULL);
		mc_jw_str(&w, "Container", o->new_id);
		lst_ctr_spec_endpoint(&w, "EndpointConfig", n, o->old_id);
		mc_jw_obj_end(&w);
		snprintf(path, sizeof(path), DOCKER_API "/networks/%s/connect",
		    esc);
		r = call(u, "POST", path, &body, NULL, 200, 200, err, errlen);
	}
	mc_buf_free(&body);
	return r;
}

/* Create the new container from ctr's configuration (o->new_id). */
static int
create_new(const struct upd *u, const struct mc_json *ctr, struct one *o,
    char *err, size_t errlen)
{
	char esc[3 * MC_TEXT_MAX], path[3 * MC_TEXT_MAX + 64];
	struct mc_jdoc *img, *d = NULL;
	struct mc_buf spec, body;
	const char *id;
	int r = -1;

	/* the old image's own config tells its defaults from the operator's;
	 * without it (removed since) everything is copied */
	snprintf(path, sizeof(path), DOCKER_API "/images/%s/json", o->old_img);
	img = inspect(u, path, err, errlen);
	mc_buf_init(&spec, LST_DOCKER_BODY_MAX);
	mc_buf_init(&body, 64 * 1024);
	if (lst_ctr_spec(ctr, img != NULL ? mc_json_root(img) : NULL, u->ref,
	    &spec, err, errlen) == -1 ||
	    lst_url_escape(o->name, esc, sizeof(esc)) == -1)
		goto done;
	snprintf(path, sizeof(path), DOCKER_API "/containers/create?name=%s",
	    esc);
	if (call(u, "POST", path, &spec, &body, 201, 201, err, errlen) == -1 ||
	    (d = mc_json_parse(body.data, body.len, err, errlen)) == NULL)
		goto done;
	id = mc_json_str(mc_json_root(d), "Id");
	if (id == NULL) {
		snprintf(err, errlen, "the engine's create answer has no Id");
		goto done;
	}
	mc_strlcpy(o->new_id, id, sizeof(o->new_id));
	r = connect_rest(u, ctr, o, err, errlen);
done:
	mc_json_free(d);
	mc_json_free(img);
	mc_buf_free(&spec);
	mc_buf_free(&body);
	return r;
}

/* Rename, create, swap, check: 0 updated, or -1 with why (the caller
 * rolls back). */
static int
replace(struct upd *u, const struct mc_json *ctr, struct one *o, char *why,
    size_t whylen)
{
	char old_name[MC_TEXT_MAX + 64], err[MC_TEXT_MAX];

	snprintf(old_name, sizeof(old_name), "%s-maestro-old-%.12s", o->name,
	    o->old_id);
	if (ctr_rename(u, o->old_id, old_name, err, sizeof(err)) == -1) {
		snprintf(why, whylen, "rename: %s", err);
		return -1;
	}
	if (create_new(u, ctr, o, err, sizeof(err)) == -1) {
		snprintf(why, whylen, "create: %s", err);
		return -1;
	}
	lst_child_say("%s: created %.12s from %s", o->name, o->new_id, u->ref);
	if (!o->running)
		return 0;	/* it was not running: neither is the new one */
	if (ctr_post(u, o->old_id, "stop", "", err, sizeof(err)) == -1) {
		snprintf(why, whylen, "stopping the old container: %s", err);
		return -1;
	}
	if (ctr_post(u, o->new_id, "start", "", err, sizeof(err)) == -1) {
		snprintf(why, whylen, "start: %s", err);
		return -1;
	}
	return wait_ready(u, o, why, whylen);
}

/* Fill o from an inspect: 0, or -1 (err) when it lacks what we need. */
static int
one_fill(struct one *o, const struct mc_json *ctr, char *err, size_t errlen)
{
	const char *name = mc_json_str(ctr, "Name");
	const char *id = mc_json_str(ctr, "Id"), *img = mc_json_str(ctr,
	    "Image");

	memset(o, 0, sizeof(*o));
	if (name == NULL || id == NULL || img == NULL) {
		snprintf(err, errlen, "the engine's inspect has no Name, Id or "
		    "Image");
		return -1;
	}
	mc_strlcpy(o->name, name[0] == '/' ? name + 1 : name, sizeof(o->name));
	mc_strlcpy(o->old_id, id, sizeof(o->old_id));
	mc_strlcpy(o->old_img, img, sizeof(o->old_img));
	mc_json_bool(mc_json_get(ctr, "State"), "Running", &o->running);
	return 0;
}

/* Update one inspected container: 0 done (updated or up to date), -1
 * rolled back. */
static int
update_one(struct upd *u, const struct mc_json *ctr)
{
	char why[2 * MC_TEXT_MAX];
	struct one o;

	if (one_fill(&o, ctr, why, sizeof(why)) == -1) {
		lst_child_say("?: not updated: %s", why);
		u->back++;
		return -1;
	}
	if (strcmp(o.old_img, u->new_id) == 0) {
		lst_child_say("%s: up to date (%.19s)", o.name, o.old_img);
		u->current++;
		return 0;
	}
	if (replace(u, ctr, &o, why, sizeof(why)) == -1) {
		rollback(u, &o, why);
		return -1;
	}
	snprintf(why, sizeof(why), DOCKER_API "/containers/%s", o.old_id);
	if (call(u, "DELETE", why, NULL, NULL, 204, 204, why,
	    sizeof(why)) == -1)
		lst_child_say("%s: the old container %.12s stays: %s", o.name, o.old_id,
		    why);
	lst_child_say("%s: updated: %.12s %s from %.19s", o.name, o.new_id,
	    o.running ? "runs" : "created (the old one was not running)",
	    u->new_id);
	u->updated++;
	if (u->prune)
		prune_old(u, &o);
	return 0;
}

/* ---- targets ---- */

/* "busybox", "busybox:latest" and "docker.io/library/busybox:latest"
 * name the same image. */
static void
ref_norm(const char *ref, char *out, size_t size)
{
	const char *slash, *colon;

	ref = lst_docker_ref_short(ref);
	slash = strrchr(ref, '/');
	colon = strrchr(ref, ':');
	snprintf(out, size, "%s%s", ref, strchr(ref, '@') == NULL &&
	    (colon == NULL || (slash != NULL && colon < slash)) ?
	    ":latest" : "");
}

static int
ref_same(const char *a, const char *b)
{
	char x[MC_IMAGE_MAX + 16], y[MC_IMAGE_MAX + 16];

	ref_norm(a, x, sizeof(x));
	ref_norm(b, y, sizeof(y));
	return strcmp(x, y) == 0;
}

/* Every container created from u->ref, one after another; the first
 * rollback skips the rest.  0 or -1 (err: the list failed). */
static int
update_all(struct upd *u, char *err, size_t errlen)
{
	const struct mc_json *e;
	struct mc_jdoc *list, *d;
	const char *id, *image, *name;
	int found = 0, stop = 0;

	list = inspect(u, DOCKER_API "/containers/json?all=1", err, errlen);
	if (list == NULL)
		return -1;
	for (e = mc_json_root(list)->child; e != NULL; e = e->next) {
		if ((id = mc_json_str(e, "Id")) == NULL)
			continue;
		/* the list shows an image id once its tag moved on: ask the
		 * container what it was created from */
		if ((d = inspect_ctr(u, id, err, errlen)) == NULL)
			continue;
		image = mc_json_str(mc_json_get(mc_json_root(d), "Config"),
		    "Image");
		if (image != NULL && ref_same(image, u->ref)) {
			found++;
			name = mc_json_str(mc_json_root(d), "Name");
			if (stop) {
				lst_child_say("%s: skipped", name != NULL && name[0] ==
				    '/' ? name + 1 : id);
				u->skipped++;
			} else if (update_one(u, mc_json_root(d)) == -1)
				stop = 1;
		}
		mc_json_free(d);
	}
	mc_json_free(list);
	if (found == 0)
		lst_child_say("no container was created from %s", u->ref);
	return 0;
}

/* ---- in the child ---- */

static const char *
docker_socket(const struct lst *l)
{
	return l->conf.docker_socket[0] != '\0' ? l->conf.docker_socket :
	    LST_DOCKER_SOCKET;
}

static int
update_child(struct lst *l, const struct mc_cmd *c)
{
	char err[MC_TEXT_MAX];
	struct mc_jdoc *one = NULL;
	const char *image;
	struct upd u;
	double reserve;

	memset(&u, 0, sizeof(u));
	u.sock = docker_socket(l);
	u.prune = c->prune;
	reserve = c->timeout / 4 < UPD_RESERVE ? c->timeout / 4 : UPD_RESERVE;
	u.deadline = mc_now() + c->timeout - reserve;
	mc_strlcpy(u.ref, c->image, sizeof(u.ref));
	if (c->arg[0] != '\0') {
		if ((one = inspect_ctr(&u, c->arg, err, sizeof(err))) == NULL) {
			lst_child_fail("%s", err);
			return UPD_EXIT_FAILED;
		}
		image = mc_json_str(mc_json_get(mc_json_root(one), "Config"),
		    "Image");
		if (u.ref[0] == '\0' && image != NULL)
			mc_strlcpy(u.ref, image, sizeof(u.ref));
	}
	if (u.ref[0] == '\0' || pull(&u, err, sizeof(err)) == -1) {
		if (u.ref[0] == '\0')
			mc_strlcpy(err, "no image to run", sizeof(err));
		lst_child_fail("pull %s: %s", u.ref, err);
		mc_json_free(one);
		return UPD_EXIT_FAILED;
	}
	if (one != NULL)
		update_one(&u, mc_json_root(one));
	else if (update_all(&u, err, sizeof(err)) == -1) {
		lst_child_fail("%s", err);
		return UPD_EXIT_FAILED;
	}
	mc_json_free(one);
	lst_child_say("summary: %d updated, %d up to date, %d rolled back, %d skipped",
	    u.updated, u.current, u.back, u.skipped);
	return u.back + u.skipped > 0 ? UPD_EXIT_BACK : 0;
}

/* ---- on the loop ---- */

/* Exit 1 (rolled back) stays "done" with that status; any other
 * non-zero exit is "failed" with what the child wrote to stderr. */
static void
update_finish(struct lst_job *j, struct mc_result *r)
{
	if (!(r->outcome == MC_DONE && r->exit_code == UPD_EXIT_BACK))
		lst_exec_child_failed(j, r);
	lst_cmd_result(j->l, r);
}

void
lst_cmd_ctr_update(struct lst *l, const struct mc_cmd *c)
{
	struct lst_spawn s;
	char err[MC_TEXT_MAX];

	if (c->arg[0] == '\0' && c->image[0] == '\0') {
		lst_cmd_fail(l, c->id, "container_update needs a container "
		    "(arg), an image, or both");
		return;
	}
	mc_info("command %s: updating %s%s%s", c->id, c->arg[0] ? c->arg :
	    "the containers of ", c->arg[0] && c->image[0] ? " to " : "",
	    c->image);
	memset(&s, 0, sizeof(s));
	s.fn = update_child;
	s.sink = LST_SINK_STREAM;
	s.finish = update_finish;
	if (lst_exec_spawn(l, c, &s, err, sizeof(err)) == -1)
		lst_cmd_fail(l, c->id, err);
}
