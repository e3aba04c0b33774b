/*
 * ctl_release.c - "hubctl release publish|list|roll|status": listener
 * releases and their rolls (POST/GET /api/releases, POST
 * /api/releases/VERSION/roll, GET /api/rolls; hub_api_release.c).
 *
 * publish checks the file here first (a static x86-64 ELF naming its
 * version: mc_elf.h), so a wrong file is refused before 64 MiB travel,
 * and signs "maestro-release-v1\n" VERSION\nSHA256\nSIZE\n with the
 * operator's key; the hub checks it all again.  Without a key it
 * publishes only with --unsigned.  The roll runs on the hub: roll starts
 * it and prints its id, status shows it.
 * Exit status: 0; 1 refused, or a roll that stopped; 4 agent unknown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_key.h"
#include "mc_elf.h"
#include "mc_util.h"

#define REL_PATH_MAX	(MC_VERSION_TEXT_MAX * 3 + 400)

static void
hex(const unsigned char *raw, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

/* The query that carries k's signature of the release. */
static int
sign_query(const struct ctl_key *k, const char *version, const char *sha,
    uint64_t size, char *q, size_t qsize)
{
	char msg[256], khex[2 * MC_KEY_RAW + 1], shex[2 * MC_SIG_RAW + 1],
	    enc[MC_NAME_MAX * 3 + 1];
	unsigned char sig[MC_SIG_RAW];
	int n = mc_release_msg(msg, sizeof(msg), version, sha, size);

	if (n < 0) {
		fprintf(stderr, "hubctl: version too long\n");
		return -1;
	}
	if (ctl_sign_raw(k, MC_SIG_DOMAIN_RELEASE, msg, (size_t)n, sig) == -1)
		return -1;
	hex(k->pub.raw, sizeof(k->pub.raw), khex);
	hex(sig, sizeof(sig), shex);
	if (ctl_urlenc(k->pub.name, enc, sizeof(enc)) == -1)
		enc[0] = '\0';
	snprintf(q, qsize, "?key=%s&sig=%s&signer=%s", khex, shex, enc);
	return 0;
}

/* The file, checked as the hub will: its bytes (owned by the caller) or
 * NULL after saying why. */
static char *
file_load(const char *file, size_t *len, char *version, size_t vsize)
{
	char err[256];
	char *data = mc_read_file(file, MC_RELEASE_MAX, len);

	if (data == NULL) {
		fprintf(stderr, "hubctl: cannot read %s (at most %d MiB)\n",
		    file, MC_RELEASE_MAX >> 20);
		return NULL;
	}
	if (mc_elf_check(data, *len, err, sizeof(err)) == -1) {
		fprintf(stderr, "hubctl: %s: %s\n", file, err);
		free(data);
		return NULL;
	}
	if (mc_elf_version(data, *len, version, vsize) == -1) {
		fprintf(stderr, "hubctl: %s names no listener version (not a "
		    "maestro-listener?)\n", file);
		free(data);
		return NULL;
	}
	return data;
}

/* POST the file (data, taken and freed) with the signature's query. */
static int
upload(struct ctl *c, const char *query, char *data, size_t len)
{
	char path[REL_PATH_MAX];
	struct ctl_resp r;
	struct mc_buf body;
	const struct mc_json *o;
	int ret;

	snprintf(path, sizeof(path), "/api/releases%s", query);
	mc_buf_adopt(&body, data, len);
	c->ctype = "Content-Type: application/octet-stream";
	ctl_resp_init(&r);
	ret = ctl_api(c, "POST", path, &body, &r);
	c->ctype = NULL;
	mc_buf_free(&body);
	if (ret == 0 && c->o.json)
		ctl_print_body(&r);
	else if (ret == 0) {
		o = mc_json_root(r.doc);
		printf("release %s %s: sha256 %s, %s\n", ctl_jstr(o, "version",
		    "?"), r.status == 201 ? "published" : "was already "
		    "published (same file)", ctl_jstr(o, "sha256", "?"),
		    *ctl_jstr(o, "signer", "") ? ctl_jstr(o, "signer", "") :
		    "unsigned");
	}
	ctl_resp_free(&r);
	return ret;
}

int
ctl_cmd_release_publish(struct ctl *c, int argc, char **argv)
{
	const char *key = NULL, *unsig = NULL;
	const struct ctl_flag flags[] = { { "--key", 1, &key },
	    { "--unsigned", 0, &unsig }, { NULL, 0, NULL } };
	char version[MC_VERSION_TEXT_MAX] = "", sha[MC_SHA256_HEX],
	    query[512] = "";
	struct ctl_key *k = NULL;	/* owned */
	struct ctl_args a;
	size_t len;
	char *data;
	int ret;

	if ((ret = ctl_begin(c, "release", argc, argv, flags, &a, 1, 1)) != 0)
		return ret;
	if (key != NULL)
		mc_strlcpy(c->o.key, key, sizeof(c->o.key));
	if (c->o.key[0] == '\0' && unsig == NULL)
		return ctl_usage("release", "no signing key: give --key "
		    "NAME|FILE (or key = NAME in hubctl.conf), or --unsigned "
		    "to publish without a signature");
	if (key != NULL && unsig != NULL)
		return ctl_usage("release", "give --key or --unsigned, not "
		    "both");
	if (unsig != NULL)
		c->o.key[0] = '\0';
	if ((data = file_load(a.v[0], &len, version, sizeof(version))) ==
	    NULL)
		return CTL_EXIT_FAIL;
	mc_sha256_hex(data, len, sha);
	if (c->o.key[0] != '\0' && ((ret = ctl_key_load(c, &k)) != 0 ||
	    sign_query(k, version, sha, len, query, sizeof(query)) == -1)) {
		ctl_key_free(k);
		free(data);
		return ret != 0 ? ret : CTL_EXIT_FAIL;
	}
	ctl_key_free(k);
	if (unsig != NULL && !c->o.json)
		fprintf(stderr, "hubctl: publishing %s unsigned: listeners "
		    "that trust operator keys will refuse it; the others take "
		    "the sha256 the hub gives them\n", version);
	return upload(c, query, data, len);
}

static void
release_row(struct ctl_table *t, const struct mc_json *e)
{
	char size[32], when[64], sha[16];
	double n = 0, ts = 0;
	const struct mc_json *v;

	if ((v = mc_json_get(e, "size")) != NULL && v->type == MC_JNUM)
		n = v->num;
	if ((v = mc_json_get(e, "published")) != NULL && v->type == MC_JNUM)
		ts = v->num;
	ctl_bytes(n, size, sizeof(size));
	ctl_date(ts, when, sizeof(when));
	snprintf(sha, sizeof(sha), "%.12s", ctl_jstr(e, "sha256", "?"));
	ctl_table_add(t, ctl_jstr(e, "version", "?"));
	ctl_table_add(t, size);
	ctl_table_add(t, sha);
	ctl_table_add(t, mc_json_get(e, "key") == NULL ? "(unsigned)" :
	    ctl_jstr(e, "signer", "(unnamed key)"));
	ctl_table_add(t, when);
	ctl_table_add(t, ctl_jstr(e, "published_by", "-"));
}

int
ctl_cmd_release_list(struct ctl *c, int argc, char **argv)
{
	static const char *const head[6] = { "VERSION", "SIZE", "SHA256",
	    "SIGNED BY", "PUBLISHED", "BY" };
	struct ctl_args a;
	struct ctl_resp r;
	int ret;

	if ((ret = ctl_begin(c, "release", argc, argv, NULL, &a, 0, 0)) != 0)
		return ret;
	ctl_resp_init(&r);
	ret = ctl_api(c, "GET", "/api/releases", NULL, &r);
	if (ret == 0 && c->o.json)
		ctl_print_body(&r);
	else if (ret == 0)
		ret = ctl_print_list(&r, "releases", "release", head, 6,
		    release_row, NULL);
	ctl_resp_free(&r);
	return ret;
}

static int
roll_body(struct mc_buf *b, const struct ctl_args *a, const char *tag,
    int all, int64_t batch, double pause)
{
	struct mc_jw w;
	int i;

	mc_jw_init(&w, b);
	mc_jw_obj(&w, NULL);
	if (tag != NULL)
		mc_jw_str(&w, "tag", tag);
	if (all)
		mc_jw_bool(&w, "all", 1);
	if (a->n > 1) {
		mc_jw_arr(&w, "agents");
		for (i = 1; i < a->n; i++)
			mc_jw_str(&w, NULL, a->v[i]);
		mc_jw_arr_end(&w);
	}
	mc_jw_i64(&w, "batch", batch);
	mc_jw_dbl(&w, "pause", pause);
	mc_jw_obj_end(&w);
	return mc_jw_done(&w);
}

static int
roll_post(struct ctl *c, const char *version, const struct mc_buf *body)
{
	char enc[MC_VERSION_TEXT_MAX * 3], path[REL_PATH_MAX];
	const struct mc_json *o;
	struct ctl_resp r;
	int ret;

	if (ctl_urlenc(version, enc, sizeof(enc)) == -1)
		return ctl_usage("release", "version too long");
	snprintf(path, sizeof(path), "/api/releases/%s/roll", enc);
	ctl_resp_init(&r);
	ret = ctl_http(c, "POST", path, body, &r);
	if (ret == 0 && r.status == 404 && strstr(ctl_resp_error(&r),
	    "agent") != NULL) {
		fprintf(stderr, "hubctl: %s\n", ctl_resp_error(&r));
		ret = CTL_EXIT_AGENT;
	} else if (ret == 0 && !ctl_http_2xx(r.status))
		ret = ctl_api_fail(c, &r);
	else if (ret == 0 && c->o.json)
		ctl_print_body(&r);
	else if (ret == 0) {
		o = mc_json_root(r.doc);
		printf("%s\n", ctl_jstr(o, "id", "?"));
		fprintf(stderr, "roll %s: %s on %zu agent(s), %lld at a time; "
		    "it runs on the hub (hubctl release status %s)\n",
		    ctl_jstr(o, "id", "?"), version,
		    mc_json_get(o, "agents") != NULL ?
		    mc_json_get(o, "agents")->len : 0,
		    (long long)(mc_json_get(o, "batch") != NULL ?
		    mc_json_get(o, "batch")->num : 0), ctl_jstr(o, "id", "?"));
	}
	ctl_resp_free(&r);
	return ret;
}

int
ctl_cmd_release_roll(struct ctl *c, int argc, char **argv)
{
	const char *tag = NULL, *all = NULL, *batch_s = NULL, *pause_s = NULL;
	const struct ctl_flag flags[] = { { "--tag", 1, &tag },
	    { "--all", 0, &all }, { "--batch", 1, &batch_s },
	    { "--pause", 1, &pause_s }, { NULL, 0, NULL } };
	struct ctl_args a;
	struct mc_buf body;
	int64_t batch = 10;
	double pause = 0;
	int ret;

	if ((ret = ctl_flags_parse("release", argc, argv, flags, &a)) != 0)
		return ret;
	if (a.n < 1)
		return ctl_usage("release", "which VERSION?");
	if ((a.n > 1) + (tag != NULL) + (all != NULL) != 1)
		return ctl_usage("release", "give exactly one of --tag TAG, "
		    "--all and AGENT...");
	if (batch_s != NULL && mc_parse_i64(batch_s, 1, 1000, &batch) == -1)
		return ctl_usage("release", "--batch: '%s' is not a number "
		    "from 1 to 1000", batch_s);
	if (pause_s != NULL && (mc_parse_duration(pause_s, &pause) == -1 ||
	    pause < 0 || pause > 86400))
		return ctl_usage("release", "--pause: '%s' is not a duration "
		    "up to 1d (e.g. 30, 5m)", pause_s);
	if ((ret = ctl_opts_finish(c)) != 0)
		return ret;
	mc_buf_init(&body, 256 * 1024);
	if (roll_body(&body, &a, tag, all != NULL, batch, pause) == -1)
		ret = ctl_usage("release", "too many agents");
	else
		ret = roll_post(c, a.v[0], &body);
	mc_buf_free(&body);
	return ret;
}

static void
roll_row(struct ctl_table *t, const struct mc_json *e)
{
	ctl_table_add(t, ctl_jstr(e, "agent", "?"));
	ctl_table_add(t, ctl_jstr(e, "state", "?"));
	ctl_table_add(t, ctl_jstr(e, "before", "-"));
	ctl_table_add(t, ctl_jstr(e, "after", "-"));
	ctl_table_add(t, ctl_jstr(e, "error", ""));
}

/* The roll answered in r: a table and a line; 1 when it stopped. */
static int
roll_show(const struct ctl *c, const struct ctl_resp *r)
{
	const struct mc_json *roll = mc_json_root(r->doc);
	static const char *const head[5] = { "AGENT", "STATE", "BEFORE",
	    "AFTER", "ERROR" };
	const char *state = ctl_jstr(roll, "state", "?");

	if (c->o.json)
		ctl_print_body(r);
	else {
		ctl_print_list(r, "agents", "agent", head, 5, roll_row, NULL);
		printf("roll %s: %s to %s", ctl_jstr(roll, "id", "?"), state,
		    ctl_jstr(roll, "version", "?"));
		if (*ctl_jstr(roll, "stopped", ""))
			printf(" (stopped: %s)", ctl_jstr(roll, "stopped", ""));
		printf("\n");
	}
	return strcmp(state, "stopped") == 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

int
ctl_cmd_release_status(struct ctl *c, int argc, char **argv)
{
	char enc[MC_ID_MAX * 3], path[MC_ID_MAX * 3 + 32];
	const struct mc_json *list;
	struct ctl_args a;
	struct ctl_resp r;
	int ret;

	if ((ret = ctl_begin(c, "release", argc, argv, NULL, &a, 0, 1)) != 0)
		return ret;
	if (a.n == 0) {
		/* the newest roll's id, then that roll */
		ctl_resp_init(&r);
		if ((ret = ctl_api(c, "GET", "/api/rolls", NULL, &r)) != 0) {
			ctl_resp_free(&r);
			return ret;
		}
		list = mc_json_get(mc_json_root(r.doc), "rolls");
		if (list == NULL || list->child == NULL) {
			ctl_resp_free(&r);
			fprintf(stderr, "hubctl: no roll on the hub (they live "
			    "in its memory until it restarts)\n");
			return CTL_EXIT_FAIL;
		}
		snprintf(enc, sizeof(enc), "%s", ctl_jstr(list->child, "id",
		    "?"));
		ctl_resp_free(&r);
	} else if (ctl_urlenc(a.v[0], enc, sizeof(enc)) == -1)
		return ctl_usage("release", "roll id too long");
	snprintf(path, sizeof(path), "/api/rolls/%s", enc);
	ctl_resp_init(&r);
	if ((ret = ctl_api(c, "GET", path, NULL, &r)) == 0)
		ret = roll_show(c, &r);
	ctl_resp_free(&r);
	return ret;
}
