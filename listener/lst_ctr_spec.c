/*
 * lst_ctr_spec.c - the body that recreates a container from a new image
 * with the configuration it had (container_update, in a forked child).
 *
 * The engine's inspect of a container is what it was created with, merged
 * with what its image said.  Copying that back verbatim would pin the old
 * image's defaults onto the new one (its CMD, its ENV, its HEALTHCHECK),
 * so, as Watchtower does, a value equal to the old image's own is left
 * out and the new image's default applies; everything the operator gave
 * (env, mounts, ports, restart policy, labels, resources) is kept.
 * Rules kept here:
 * - HostConfig travels verbatim, plus a Binds entry for every volume the
 *   container has that no bind or mount names (anonymous volumes), so its
 *   data follows it rather than a fresh empty volume.
 * - A Hostname that is the engine's default (the old short id) is left
 *   out; the new container gets its own.
 * - The engine API (v1.41) creates with one network: the one its
 *   NetworkMode names.  The others are connected after the create, each
 *   with its aliases (the old short id left out), IPAM config and links.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lst.h"

/* ---- JSON trees back into text ---- */

static void
jcopy(struct mc_jw *w, const char *key, const struct mc_json *v)
{
	const struct mc_json *c;

	switch (v->type) {
	case MC_JNULL:
		mc_jw_null(w, key);
		break;
	case MC_JBOOL:
		mc_jw_bool(w, key, v->num != 0);
		break;
	case MC_JNUM:
		/* sizes and nanoseconds are integers: keep every digit */
		if (v->num == floor(v->num) && fabs(v->num) < 9007199254740992.0)
			mc_jw_i64(w, key, (int64_t)v->num);
		else
			mc_jw_dbl(w, key, v->num);
		break;
	case MC_JSTR:
		mc_jw_strn(w, key, v->str, v->len);
		break;
	case MC_JARR:
		mc_jw_arr(w, key);
		for (c = v->child; c != NULL; c = c->next)
			jcopy(w, NULL, c);
		mc_jw_arr_end(w);
		break;
	case MC_JOBJ:
		mc_jw_obj(w, key);
		for (c = v->child; c != NULL; c = c->next)
			jcopy(w, c->key, c);
		mc_jw_obj_end(w);
		break;
	}
}

/* Do two values hold the same JSON (members in the same order)? */
static int
jequal(const struct mc_json *a, const struct mc_json *b)
{
	struct mc_buf x, y;
	struct mc_jw w;
	int eq;

	if (a == NULL || b == NULL)
		return a == b;
	mc_buf_init(&x, LST_DOCKER_BODY_MAX);
	mc_buf_init(&y, LST_DOCKER_BODY_MAX);
	mc_jw_init(&w, &x);
	jcopy(&w, NULL, a);
	mc_jw_init(&w, &y);
	jcopy(&w, NULL, b);
	eq = x.len == y.len && (x.len == 0 || memcmp(x.data, y.data,
	    x.len) == 0);
	mc_buf_free(&x);
	mc_buf_free(&y);
	return eq;
}

/* Is s (n bytes) a string element of the array arr? */
static int
in_strings(const struct mc_json *arr, const char *s, size_t n)
{
	const struct mc_json *e;

	if (arr == NULL || arr->type != MC_JARR)
		return 0;
	for (e = arr->child; e != NULL; e = e->next)
		if (e->type == MC_JSTR && e->len == n &&
		    memcmp(e->str, s, n) == 0)
			return 1;
	return 0;
}

/* ---- Config ---- */

/* Members of obj whose value the image's object img has too are left
 * out (Labels: same value; ExposedPorts, Volumes: same key). */
static void
obj_minus(struct mc_jw *w, const char *key, const struct mc_json *obj,
    const struct mc_json *img, int by_value)
{
	const struct mc_json *m, *i;

	if (obj->type != MC_JOBJ) {
		jcopy(w, key, obj);
		return;
	}
	mc_jw_obj(w, key);
	for (m = obj->child; m != NULL; m = m->next) {
		i = img != NULL ? mc_json_get(img, m->key) : NULL;
		if (i != NULL && (!by_value || jequal(i, m)))
			continue;
		jcopy(w, m->key, m);
	}
	mc_jw_obj_end(w);
}

/* Env entries the image sets alike are the image's, not the operator's. */
static void
env_minus(struct mc_jw *w, const struct mc_json *env,
    const struct mc_json *img_env)
{
	const struct mc_json *e;

	if (env->type != MC_JARR) {
		jcopy(w, "Env", env);
		return;
	}
	mc_jw_arr(w, "Env");
	for (e = env->child; e != NULL; e = e->next)
		if (e->type != MC_JSTR || !in_strings(img_env, e->str, e->len))
			jcopy(w, NULL, e);
	mc_jw_arr_end(w);
}

/* Members copied only when they differ from the image's. */
static int
image_default(const char *key)
{
	static const char *const keys[] = { "Cmd", "Entrypoint", "WorkingDir",
	    "User", "Healthcheck", "StopSignal", "Shell", "OnBuild",
	    "ArgsEscaped" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(key, keys[i]) == 0)
			return 1;
	return 0;
}

/* The old container's Config members, as the new one's, into w's open
 * object. */
static void
config_write(struct mc_jw *w, const struct mc_json *cfg,
    const struct mc_json *img_cfg, const char *image, const char *old_id)
{
	const struct mc_json *m, *i;

	mc_jw_str(w, "Image", image);
	for (m = cfg->child; m != NULL; m = m->next) {
		i = img_cfg != NULL ? mc_json_get(img_cfg, m->key) : NULL;
		if (strcmp(m->key, "Image") == 0)
			continue;
		if (strcmp(m->key, "Hostname") == 0 && m->type == MC_JSTR &&
		    strncmp(m->str, old_id, 12) == 0 && m->len == 12)
			continue;
		if (strcmp(m->key, "Env") == 0)
			env_minus(w, m, img_cfg != NULL ? mc_json_get(img_cfg,
			    "Env") : NULL);
		else if (strcmp(m->key, "Labels") == 0)
			obj_minus(w, m->key, m, i, 1);
		else if (strcmp(m->key, "ExposedPorts") == 0 ||
		    strcmp(m->key, "Volumes") == 0)
			obj_minus(w, m->key, m, i, 0);
		else if (!image_default(m->key) || !jequal(m, i))
			jcopy(w, m->key, m);
	}
}

/* ---- HostConfig ---- */

/* Does a bind "SRC:DST[:OPTS]" or a mount already hold dst? */
static int
dest_taken(const struct mc_json *hc, const char *dst)
{
	const struct mc_json *e, *mounts = mc_json_get(hc, "Mounts");
	const char *p, *t;
	size_t n = strlen(dst);

	e = mc_json_get(hc, "Binds");
	for (e = e != NULL && e->type == MC_JARR ? e->child : NULL; e != NULL;
	    e = e->next) {
		if (e->type != MC_JSTR || (p = strchr(e->str, ':')) == NULL)
			continue;
		if (strncmp(p + 1, dst, n) == 0 && (p[1 + n] == '\0' ||
		    p[1 + n] == ':'))
			return 1;
	}
	for (e = mounts != NULL && mounts->type == MC_JARR ? mounts->child :
	    NULL; e != NULL; e = e->next)
		if ((t = mc_json_str(e, "Target")) != NULL &&
		    strcmp(t, dst) == 0)
			return 1;
	return 0;
}

/* Binds as they were, then "VOLUME:DST[:ro]" for volumes nothing names. */
static void
binds_write(struct mc_jw *w, const struct mc_json *hc,
    const struct mc_json *mounts)
{
	const struct mc_json *e = mc_json_get(hc, "Binds");
	const char *type, *name, *dst;
	char bind[2 * MC_PATH_MAX];
	int rw;

	mc_jw_arr(w, "Binds");
	for (e = e != NULL && e->type == MC_JARR ? e->child : NULL; e != NULL;
	    e = e->next)
		jcopy(w, NULL, e);
	for (e = mounts != NULL && mounts->type == MC_JARR ? mounts->child :
	    NULL; e != NULL; e = e->next) {
		type = mc_json_str(e, "Type");
		name = mc_json_str(e, "Name");
		dst = mc_json_str(e, "Destination");
		if (type == NULL || strcmp(type, "volume") != 0 ||
		    name == NULL || dst == NULL || dest_taken(hc, dst))
			continue;
		if (mc_json_bool(e, "RW", &rw) == -1)
			rw = 1;
		snprintf(bind, sizeof(bind), "%s:%s%s", name, dst,
		    rw ? "" : ":ro");
		mc_jw_str(w, NULL, bind);
	}
	mc_jw_arr_end(w);
}

static void
hostconfig_write(struct mc_jw *w, const struct mc_json *hc,
    const struct mc_json *mounts)
{
	const struct mc_json *m;

	mc_jw_obj(w, "HostConfig");
	for (m = hc->child; m != NULL; m = m->next)
		if (strcmp(m->key, "Binds") != 0)
			jcopy(w, m->key, m);
	binds_write(w, hc, mounts);
	mc_jw_obj_end(w);
}

/* ---- networks ---- */

const char *
lst_ctr_spec_primary(const struct mc_json *ctr)
{
	const char *mode = mc_json_str(mc_json_get(ctr, "HostConfig"),
	    "NetworkMode");

	if (mode == NULL || mode[0] == '\0')
		return NULL;
	return strcmp(mode, "default") == 0 ? "bridge" : mode;
}

void
lst_ctr_spec_endpoint(struct mc_jw *w, const char *key,
    const struct mc_json *ep, const char *old_id)
{
	static const char *const keys[] = { "IPAMConfig", "Links",
	    "DriverOpts" };
	const struct mc_json *al = mc_json_get(ep, "Aliases"), *m, *e;
	size_t i;

	mc_jw_obj(w, key);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((m = mc_json_get(ep, keys[i])) != NULL &&
		    m->type != MC_JNULL)
			jcopy(w, keys[i], m);
	if (al != NULL && al->type == MC_JARR) {
		mc_jw_arr(w, "Aliases");
		for (e = al->child; e != NULL; e = e->next)
			if (e->type == MC_JSTR && !(e->len == 12 &&
			    strncmp(e->str, old_id, 12) == 0))
				jcopy(w, NULL, e);
		mc_jw_arr_end(w);
	}
	mc_jw_obj_end(w);
}

static void
netconfig_write(struct mc_jw *w, const struct mc_json *ctr,
    const char *old_id)
{
	const struct mc_json *nets = mc_json_get(mc_json_get(ctr,
	    "NetworkSettings"), "Networks");
	const char *primary = lst_ctr_spec_primary(ctr);
	const struct mc_json *ep;

	if (primary == NULL || nets == NULL ||
	    (ep = mc_json_get(nets, primary)) == NULL)
		return;
	mc_jw_obj(w, "NetworkingConfig");
	mc_jw_obj(w, "EndpointsConfig");
	lst_ctr_spec_endpoint(w, primary, ep, old_id);
	mc_jw_obj_end(w);
	mc_jw_obj_end(w);
}

int
lst_ctr_spec(const struct mc_json *ctr, const struct mc_json *old_img,
    const char *image, struct mc_buf *out, char *err, size_t errlen)
{
	const struct mc_json *cfg = mc_json_get(ctr, "Config");
	const struct mc_json *hc = mc_json_get(ctr, "HostConfig");
	const char *id = mc_json_str(ctr, "Id");
	struct mc_jw w;

	if (cfg == NULL || cfg->type != MC_JOBJ || hc == NULL ||
	    hc->type != MC_JOBJ || id == NULL) {
		snprintf(err, errlen, "the engine's inspect has no Config, "
		    "HostConfig or Id");
		return -1;
	}
	mc_buf_reset(out);
	mc_jw_init(&w, out);
	mc_jw_obj(&w, NULL);
	config_write(&w, cfg, mc_json_get(old_img, "Config"), image, id);
	hostconfig_write(&w, hc, mc_json_get(ctr, "Mounts"));
	netconfig_write(&w, ctr, id);
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == -1) {
		snprintf(err, errlen, "the container's configuration is over "
		    "%zu bytes", out->limit);
		return -1;
	}
	return 0;
}
