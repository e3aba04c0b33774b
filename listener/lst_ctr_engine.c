/*
 * lst_ctr_engine.c - the container tracker's requests to the Docker
 * Engine API and what it keeps of the answers: the container list, a
 * container's inspect, its image's registry digest, a stats sample and a
 * registry's current digest.  In the tracker's child (lst_ctr_child.c):
 * the requests block, under the child's alarm.
 *
 * Rules kept here:
 * - Only what struct mc_ctr carries is kept; the answer is freed at once.
 * - Texts are cut to their field's size on a UTF-8 boundary.
 * - A digest is the "sha256:..." part of a RepoDigest whose repository
 *   is the container's own ("docker.io/library/" spelled or not).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lst.h"

#define API		"/v1.41"

/* GET path; 200's body into body (initialised here; the caller frees).
 * The status, or -1 with err. */
static int
get(const char *sock, const char *path, struct mc_buf *body, char *err,
    size_t errlen)
{
	int st;

	mc_buf_init(body, LST_DOCKER_BODY_MAX);
	st = lst_docker_call(sock, "GET", path, body, err, errlen);
	if (st != -1 && st != 200 && st != 404)
		lst_docker_message(body, st, err, errlen);
	return st;
}

/* The body as a JSON document of type want, or NULL with err. */
static struct mc_jdoc *
parse(const struct mc_buf *body, enum mc_jtype want, char *err,
    size_t errlen)
{
	struct mc_jdoc *d;

	d = mc_json_parse(body->data, body->len, err, errlen);
	if (d != NULL && mc_json_root(d)->type != want) {
		snprintf(err, errlen, "Docker answered with unexpected JSON");
		mc_json_free(d);
		d = NULL;
	}
	return d;
}

/* Copy s into out (size bytes), cut on a UTF-8 boundary. */
static void
text_copy(char *out, size_t size, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	if (n > 0)
		memcpy(out, s, n);
	out[n] = '\0';
}

int
lst_ctr_engine_list(const char *sock, char ids[][65], int max, char *err,
    size_t errlen)
{
	const struct mc_json *e;
	struct mc_jdoc *d = NULL;
	struct mc_buf body;
	const char *id;
	int st, n = -1;

	st = get(sock, API "/containers/json?all=1", &body, err, errlen);
	if (st == 200)
		d = parse(&body, MC_JARR, err, errlen);
	else if (st == 404)
		snprintf(err, errlen, "Docker answered 404 to the list");
	if (d != NULL) {
		n = 0;
		for (e = mc_json_root(d)->child; e != NULL && n < max;
		    e = e->next) {
			id = mc_json_str(e, "Id");
			if (id != NULL && strlen(id) >= MC_CTR_ID_LEN)
				text_copy(ids[n++], 65, id);
		}
	}
	mc_json_free(d);
	mc_buf_free(&body);
	return n;
}

double
lst_ctr_time(const char *s)
{
	struct tm tm;
	int y, mo, da, h, mi, se, off = 0, oh, om, k = 0;
	const char *z;
	time_t t;

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &da,
	    &h, &mi, &se, &k) != 6 || y < 1970)
		return 0;
	z = s + k;
	while (*z == '.' || isdigit((unsigned char)*z))
		z++;
	if ((*z == '+' || *z == '-') && sscanf(z + 1, "%2d:%2d", &oh,
	    &om) == 2)
		off = (*z == '-' ? -1 : 1) * (oh * 3600 + om * 60);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = da;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	t = timegm(&tm);
	return t == (time_t)-1 ? 0 : (double)(t - off);
}

/* The output of the last failed health check, without its newline. */
static void
health_log(const struct mc_json *health, struct mc_ctr *c)
{
	const struct mc_json *log = mc_json_get(health, "Log"), *e;
	const char *out = NULL;
	int64_t code;
	size_t n;

	if (log == NULL || log->type != MC_JARR)
		return;
	for (e = log->child; e != NULL; e = e->next)
		if (mc_json_int(e, "ExitCode", INT32_MIN, INT32_MAX,
		    &code) == 0 && code != 0)
			out = mc_json_str(e, "Output");
	text_copy(c->health_log, sizeof(c->health_log), out);
	n = strlen(c->health_log);
	while (n > 0 && (c->health_log[n - 1] == '\n' ||
	    c->health_log[n - 1] == '\r'))
		c->health_log[--n] = '\0';
}

static void
inspect_state(const struct mc_json *st, struct mc_ctr *c)
{
	const struct mc_json *health = mc_json_get(st, "Health");
	const char *s = mc_json_str(st, "Status");
	int64_t code;

	if (s == NULL || mc_ctr_state_parse(s, &c->state) == -1)
		c->state = MC_CTR_DEAD;
	s = health != NULL ? mc_json_str(health, "Status") : NULL;
	if (s != NULL && mc_ctr_health_parse(s, &c->health) == 0)
		health_log(health, c);
	c->started = lst_ctr_time(mc_json_str(st, "StartedAt"));
	c->finished = lst_ctr_time(mc_json_str(st, "FinishedAt"));
	/* an exit status means something once it has exited */
	if (c->finished > 0 && mc_json_int(st, "ExitCode", 0, 255,
	    &code) == 0)
		c->exit_code = (int)code;
	mc_json_bool(st, "OOMKilled", &c->oom);
}

static void
inspect_labels(const struct mc_json *config, struct mc_ctr *c)
{
	const struct mc_json *labels = mc_json_get(config, "Labels");
	const char *v;

	if (labels == NULL || labels->type != MC_JOBJ)
		return;
	v = mc_json_str(labels, "maestro.alert");
	if (v != NULL && strcmp(v, "false") == 0)
		c->alert = 0;
	v = mc_json_str(labels, "maestro.update");
	if (v != NULL && strcmp(v, "auto") == 0)
		c->auto_update = 1;
}

static void
inspect_fill(const struct mc_json *o, struct mc_ctr *c)
{
	const struct mc_json *config = mc_json_get(o, "Config");
	const struct mc_json *st = mc_json_get(o, "State");
	const char *name = mc_json_str(o, "Name");
	int64_t restarts;

	text_copy(c->id, sizeof(c->id), mc_json_str(o, "Id"));
	if (name != NULL && name[0] == '/')
		name++;
	text_copy(c->name, sizeof(c->name), name);
	if (config != NULL) {
		text_copy(c->image, sizeof(c->image),
		    mc_json_str(config, "Image"));
		inspect_labels(config, c);
	}
	text_copy(c->image_id, sizeof(c->image_id), mc_json_str(o, "Image"));
	if (mc_json_int(o, "RestartCount", 0, INT32_MAX, &restarts) == 0)
		c->restarts = (int)restarts;
	if (st != NULL)
		inspect_state(st, c);
	else
		c->state = MC_CTR_DEAD;
}

int
lst_ctr_engine_inspect(const char *sock, const char *id, struct mc_ctr *c,
    char *err, size_t errlen)
{
	char path[128];
	struct mc_jdoc *d = NULL;
	struct mc_buf body;
	int st, r = -1;

	mc_ctr_init(c);
	snprintf(path, sizeof(path), API "/containers/%.64s/json", id);
	st = get(sock, path, &body, err, errlen);
	if (st == 404)
		r = 1;
	else if (st == 200)
		d = parse(&body, MC_JOBJ, err, errlen);
	if (d != NULL) {
		inspect_fill(mc_json_root(d), c);
		r = strlen(c->id) == MC_CTR_ID_LEN ? 0 : -1;
		if (r == -1)
			snprintf(err, errlen, "inspect of %.64s: no Id", id);
	}
	mc_json_free(d);
	mc_buf_free(&body);
	return r;
}

/* ref's repository: without a tag or digest, and without Docker Hub's
 * default "docker.io/" and "library/" (so "nginx" matches
 * "docker.io/library/nginx@sha256:..."). */
static void
repo_of(const char *ref, char *out, size_t size)
{
	const char *slash;
	char *p;

	mc_strlcpy(out, lst_docker_ref_short(ref), size);
	p = strchr(out, '@');
	if (p != NULL)
		*p = '\0';
	slash = strrchr(out, '/');
	p = strrchr(out, ':');
	if (p != NULL && (slash == NULL || p > slash))
		*p = '\0';
}

int
lst_ctr_engine_digest(const char *sock, const char *image_id,
    const char *ref, char *out, size_t size, char *err, size_t errlen)
{
	char path[160], want[MC_IMAGE_MAX], have[MC_IMAGE_MAX];
	const struct mc_json *rd = NULL, *e;
	struct mc_jdoc *d = NULL;
	struct mc_buf body;
	const char *at;
	int st;

	out[0] = '\0';
	snprintf(path, sizeof(path), API "/images/%.80s/json", image_id);
	st = get(sock, path, &body, err, errlen);
	if (st == 200)
		d = parse(&body, MC_JOBJ, err, errlen);
	if (d != NULL)
		rd = mc_json_get(mc_json_root(d), "RepoDigests");
	repo_of(ref, want, sizeof(want));
	for (e = rd != NULL && rd->type == MC_JARR ? rd->child : NULL;
	    e != NULL; e = e->next) {
		if (e->type != MC_JSTR || (at = strchr(e->str, '@')) == NULL)
			continue;
		repo_of(e->str, have, sizeof(have));
		if (strcmp(have, want) == 0) {
			text_copy(out, size, at + 1);
			break;
		}
	}
	mc_json_free(d);
	mc_buf_free(&body);
	return st == 200 || st == 404 ? 0 : -1;
}

/* A number inside o along a path of keys, or NAN. */
static double
num_at(const struct mc_json *o, const char *a, const char *b, const char *c)
{
	double v;

	o = o != NULL ? mc_json_get(o, a) : NULL;
	if (o != NULL && c != NULL)
		o = mc_json_get(o, b);
	if (o == NULL || mc_json_num(o, c != NULL ? c : b, &v) == -1)
		return NAN;
	return v;
}

static void
stats_fill(const struct mc_json *o, struct lst_ctr_stats *s)
{
	const struct mc_json *pc;
	double cpus, cache;

	s->total = num_at(o, "cpu_stats", "cpu_usage", "total_usage");
	s->system = num_at(o, "cpu_stats", "system_cpu_usage", NULL);
	cpus = num_at(o, "cpu_stats", "online_cpus", NULL);
	if (isnan(cpus) || cpus < 1) {
		pc = mc_json_get(o, "cpu_stats");
		pc = pc != NULL ? mc_json_get(pc, "cpu_usage") : NULL;
		pc = pc != NULL ? mc_json_get(pc, "percpu_usage") : NULL;
		cpus = pc != NULL && pc->type == MC_JARR ? (double)pc->len : 1;
	}
	s->cpus = cpus >= 1 ? (int)cpus : 1;
	s->mem = num_at(o, "memory_stats", "usage", NULL);
	/* what the docker CLI shows: less the reclaimable page cache */
	cache = num_at(o, "memory_stats", "stats", "inactive_file");
	if (isnan(cache))
		cache = num_at(o, "memory_stats", "stats",
		    "total_inactive_file");
	if (isnan(cache))
		cache = num_at(o, "memory_stats", "stats", "cache");
	if (!isnan(s->mem) && !isnan(cache) && cache <= s->mem)
		s->mem -= cache;
}

int
lst_ctr_engine_stats(const char *sock, const char *id,
    struct lst_ctr_stats *s, char *err, size_t errlen)
{
	char path[160];
	struct mc_jdoc *d = NULL;
	struct mc_buf body;
	int st;

	/* one-shot: the engine answers at once instead of waiting a second
	 * for a second sample; the CPU delta is taken between ours */
	snprintf(path, sizeof(path), API "/containers/%.64s/stats?stream=false"
	    "&one-shot=true", id);
	st = get(sock, path, &body, err, errlen);
	if (st == 200)
		d = parse(&body, MC_JOBJ, err, errlen);
	else if (st == 404)
		snprintf(err, errlen, "no such container");
	if (d != NULL)
		stats_fill(mc_json_root(d), s);
	mc_json_free(d);
	mc_buf_free(&body);
	return d != NULL ? 0 : -1;
}

int
lst_ctr_engine_latest(const char *sock, const char *ref, char *out,
    size_t size, char *err, size_t errlen)
{
	char path[3 * MC_IMAGE_MAX + 64], esc[3 * MC_IMAGE_MAX];
	const struct mc_json *desc;
	struct mc_jdoc *d = NULL;
	const char *dg = NULL;
	struct mc_buf body;
	int st, rc = -1;

	esc[0] = '\0';
	if (lst_docker_ref_path(ref, esc, sizeof(esc)) == -1) {
		snprintf(err, errlen, "image reference too long");
		return -1;
	}
	snprintf(path, sizeof(path), API "/distribution/%s/json", esc);
	st = get(sock, path, &body, err, errlen);
	if (st == 200)
		d = parse(&body, MC_JOBJ, err, errlen);
	else if (st == 404)
		lst_docker_message(&body, st, err, errlen);
	desc = d != NULL ? mc_json_get(mc_json_root(d), "Descriptor") : NULL;
	if (desc != NULL)
		dg = mc_json_str(desc, "digest");
	if (dg != NULL && strncmp(dg, "sha256:", 7) == 0) {
		text_copy(out, size, dg);
		rc = 0;
	} else if (d != NULL)
		snprintf(err, errlen, "the registry's answer has no digest");
	mc_json_free(d);	/* dg pointed into it */
	mc_buf_free(&body);
	return rc;
}
