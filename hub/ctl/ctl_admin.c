/*
 * ctl_admin.c - "hubctl enroll-key ..." and "hubctl token ...": access.
 *
 * create prints the new secret alone on one line of stdout, so a script
 * can capture it (KEY=$(hubctl enroll-key create)); the hub shows it only
 * once.  list prints a table, revoke a confirmation; --json prints the
 * API's JSON instead.  All of these need an admin token.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "mc_util.h"

/* POST body to path and print the secret field of the answer. */
static int
create(struct ctl *c, const char *path, const struct mc_buf *body,
    const char *field)
{
	struct ctl_resp r;
	const char *secret = NULL;
	int ret;

	ctl_resp_init(&r);
	ret = ctl_api(c, "POST", path, body, &r);
	if (ret == 0 && c->o.json) {
		ctl_print_body(&r);
	} else if (ret == 0) {
		if (r.doc != NULL)
			secret = mc_json_str(mc_json_root(r.doc), field);
		if (secret != NULL && *secret != '\0') {
			ctl_put_safe(stdout, secret);
			putchar('\n');
		} else {
			fprintf(stderr, "hubctl: the hub's answer has no "
			    "%s\n", field);
			ret = CTL_EXIT_FAIL;
		}
	}
	ctl_resp_free(&r);
	return ret;
}

/* DELETE collection/ID. */
static int
revoke(struct ctl *c, const char *noun, const char *collection,
    const char *what, int argc, char **argv)
{
	char path[MC_PATH_MAX * 4], enc[MC_PATH_MAX * 3];
	struct ctl_resp r;
	struct ctl_args a;
	int ret;

	ret = ctl_begin(c, noun, argc, argv, NULL, &a, 1, 1);
	if (ret != 0)
		return ret;
	if (ctl_urlenc(a.v[0], enc, sizeof(enc)) == -1)
		return ctl_usage(noun, "ID too long");
	snprintf(path, sizeof(path), "%s/%s", collection, enc);
	ctl_resp_init(&r);
	ret = ctl_api(c, "DELETE", path, NULL, &r);
	if (ret == 0 && c->o.json) {
		ctl_print_body(&r);
	} else if (ret == 0) {
		printf("revoked %s ", what);
		ctl_put_safe(stdout, a.v[0]);
		putchar('\n');
	}
	ctl_resp_free(&r);
	return ret;
}

/* GET path and print the array member key as a table. */
static int
list(struct ctl *c, const char *noun, const char *path, const char *key,
    const char *const *head, int ncols, ctl_row_fn row, int argc, char **argv)
{
	struct ctl_resp r;
	struct ctl_args a;
	int ret;

	ret = ctl_begin(c, noun, argc, argv, NULL, &a, 0, 0);
	if (ret != 0)
		return ret;
	ctl_resp_init(&r);
	ret = ctl_api(c, "GET", path, NULL, &r);
	if (ret == 0 && c->o.json)
		ctl_print_body(&r);
	else if (ret == 0)
		ret = ctl_print_list(&r, key, key, head, ncols, row, NULL);
	ctl_resp_free(&r);
	return ret;
}

static void
add_date(struct ctl_table *t, const struct mc_json *e, const char *key)
{
	char buf[64];
	double ts;

	if (mc_json_num(e, key, &ts) == -1)
		ts = 0;
	ctl_date(ts, buf, sizeof(buf));
	ctl_table_add(t, buf);
}

static void
add_revoked(struct ctl_table *t, const struct mc_json *e)
{
	int v = 0;

	if (mc_json_bool(e, "revoked", &v) == -1)
		v = 0;
	ctl_table_add(t, v ? "yes" : "no");
}

/* ---- enroll-key ---- */

int
ctl_cmd_key_create(struct ctl *c, int argc, char **argv)
{
	const char *uses = NULL, *expires = NULL;
	const struct ctl_flag flags[] = { { "--uses", 1, &uses },
	    { "--expires", 1, &expires }, { NULL, 0, NULL } };
	struct ctl_args a;
	struct mc_buf body;
	struct mc_jw w;
	/* a key pasted into a script or a ticket should not enroll the
	 * world forever: unless told otherwise, 10 machines within a day */
	int64_t n = CTL_KEY_USES;
	double secs = CTL_KEY_EXPIRES;
	int ret;

	ret = ctl_flags_parse("enroll-key", argc, argv, flags, &a);
	if (ret != 0)
		return ret;
	if (a.n > 0)
		return ctl_usage("enroll-key", "unexpected argument '%s'",
		    a.v[0]);
	if (uses != NULL && mc_parse_i64(uses, 0, INT32_MAX, &n) == -1)
		return ctl_usage("enroll-key", "--uses: '%s' is not a whole "
		    "number (0: unlimited)", uses);
	if (expires != NULL && mc_parse_duration(expires, &secs) == -1)
		return ctl_usage("enroll-key", "--expires: '%s' is not a "
		    "duration (e.g. 1h, 7d; 0: never)", expires);
	ret = ctl_opts_finish(c);
	if (ret != 0)
		return ret;
	mc_buf_init(&body, 256);
	mc_jw_init(&w, &body);
	mc_jw_obj(&w, NULL);
	mc_jw_i64(&w, "uses", n);
	mc_jw_i64(&w, "expires", (int64_t)(secs + 0.5));
	mc_jw_obj_end(&w);
	ret = create(c, "/api/enroll-keys", &body, "key");
	mc_buf_free(&body);
	return ret;
}

static void
key_row(struct ctl_table *t, const struct mc_json *e)
{
	char buf[32];
	int64_t v;

	ctl_table_add(t, ctl_jstr(e, "id", "?"));
	if (mc_json_int(e, "uses", 0, INT64_MAX, &v) == 0 && v > 0)
		snprintf(buf, sizeof(buf), "%lld", (long long)v);
	else
		snprintf(buf, sizeof(buf), "unlimited");
	ctl_table_add(t, buf);
	if (mc_json_int(e, "used", 0, INT64_MAX, &v) == 0)
		snprintf(buf, sizeof(buf), "%lld", (long long)v);
	else
		snprintf(buf, sizeof(buf), "-");
	ctl_table_add(t, buf);
	add_date(t, e, "expires");
	add_date(t, e, "created");
	add_revoked(t, e);
}

int
ctl_cmd_key_list(struct ctl *c, int argc, char **argv)
{
	static const char *const head[] = { "ID", "USES", "USED", "EXPIRES",
	    "CREATED", "REVOKED" };

	return list(c, "enroll-key", "/api/enroll-keys", "keys", head, 6,
	    key_row, argc, argv);
}

int
ctl_cmd_key_revoke(struct ctl *c, int argc, char **argv)
{
	return revoke(c, "enroll-key", "/api/enroll-keys", "enrollment key",
	    argc, argv);
}

/* ---- token ---- */

static int
role_valid(const char *role)
{
	return strcmp(role, "admin") == 0 || strcmp(role, "operator") == 0 ||
	    strcmp(role, "viewer") == 0;
}

int
ctl_cmd_token_create(struct ctl *c, int argc, char **argv)
{
	const char *name = NULL;
	const struct ctl_flag flags[] = { { "--name", 1, &name },
	    { NULL, 0, NULL } };
	struct ctl_args a;
	struct mc_buf body;
	struct mc_jw w;
	int ret;

	ret = ctl_flags_parse("token", argc, argv, flags, &a);
	if (ret != 0)
		return ret;
	if (a.n != 1 || !role_valid(a.v[0]))
		return ctl_usage("token", "expected token create "
		    "admin|operator|viewer [--name LABEL]");
	ret = ctl_opts_finish(c);
	if (ret != 0)
		return ret;
	mc_buf_init(&body, MC_BODY_MAX);
	mc_jw_init(&w, &body);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "role", a.v[0]);
	if (name != NULL)
		mc_jw_str(&w, "name", name);
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == -1)
		ret = ctl_usage("token", "--name is too long");
	else
		ret = create(c, "/api/tokens", &body, "token");
	mc_buf_free(&body);
	return ret;
}

static void
token_row(struct ctl_table *t, const struct mc_json *e)
{
	ctl_table_add(t, ctl_jstr(e, "id", "?"));
	ctl_table_add(t, ctl_jstr(e, "role", "?"));
	ctl_table_add(t, ctl_jstr(e, "name", "-"));
	add_date(t, e, "created");
	add_revoked(t, e);
}

int
ctl_cmd_token_list(struct ctl *c, int argc, char **argv)
{
	static const char *const head[] = { "ID", "ROLE", "NAME", "CREATED",
	    "REVOKED" };

	return list(c, "token", "/api/tokens", "tokens", head, 5, token_row,
	    argc, argv);
}

int
ctl_cmd_token_revoke(struct ctl *c, int argc, char **argv)
{
	return revoke(c, "token", "/api/tokens", "token", argc, argv);
}
