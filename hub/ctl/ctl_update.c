/*
 * ctl_update.c - "hubctl update-containers IMAGE (--tag TAG|--all|
 * AGENT...) [--batch N] [--prune] [--timeout S]": a rolling update of
 * the containers created from IMAGE.
 *
 * The roll lives on the hub (POST /api/updates, hub_update.c): hubctl
 * only starts it and follows GET /api/updates/ID, printing each target
 * as it starts and ends, then a summary table.  Ctrl-C or a lost hubctl
 * leaves the roll running; a hub that goes away is waited for like
 * "hubctl send" does (the roll itself ends with a hub restart).
 * Exit status: 0 every target updated or up to date; 1 anything rolled
 * back, failed or skipped; 4 no agent matched or an agent is unknown.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "mc_util.h"

#define UPD_POLL_NS	300000000L	/* between two looks at the roll */
#define UPD_TARGETS_MAX	4096		/* targets whose changes we print */
#define UPD_PATH_LEN	(MC_ID_MAX * 3 + 32)

/* What was printed of each target, by index. */
struct follow {
	char	seen[UPD_TARGETS_MAX][16];	/* its last status shown */
};

static struct follow fw;

static int
body_build(struct mc_buf *b, const char *image, const struct ctl_args *a,
    const char *tag, int all, int64_t batch, int prune, double timeout)
{
	struct mc_jw w;
	int i;

	mc_jw_init(&w, b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "image", image);
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
	mc_jw_bool(&w, "prune", prune);
	if (timeout > 0)
		mc_jw_dbl(&w, "timeout", timeout);
	mc_jw_obj_end(&w);
	return mc_jw_done(&w);
}

/* Print the targets whose status changed since the last look. */
static void
show_changes(const struct mc_json *roll)
{
	const struct mc_json *t = mc_json_get(roll, "targets");
	const char *st, *agent, *ctr;
	int i = 0;

	for (t = t != NULL ? t->child : NULL; t != NULL &&
	    i < UPD_TARGETS_MAX; t = t->next, i++) {
		st = ctl_jstr(t, "status", "?");
		if (strcmp(st, "waiting") == 0 || strcmp(fw.seen[i], st) == 0)
			continue;
		mc_strlcpy(fw.seen[i], st, sizeof(fw.seen[i]));
		agent = ctl_jstr(t, "agent", "?");
		ctr = ctl_jstr(t, "container", "");
		printf("%s%s%s: %s%s%s\n", agent, *ctr ? "/" : "", ctr, st,
		    *ctl_jstr(t, "detail", "") ? " - " : "",
		    ctl_jstr(t, "detail", ""));
	}
	fflush(stdout);
}

static void
summary_row(struct ctl_table *tb, const struct mc_json *t)
{
	ctl_table_add(tb, ctl_jstr(t, "agent", "?"));
	ctl_table_add(tb, ctl_jstr(t, "status", "?"));
	ctl_table_add(tb, ctl_jstr(t, "command", "-"));
	ctl_table_add(tb, ctl_jstr(t, "detail", ""));
}

/* The finished roll: a table (or its JSON) and the exit status. */
static int
finish(const struct ctl *c, const struct ctl_resp *r)
{
	static const char *const head[4] = { "AGENT", "STATUS", "COMMAND",
	    "DETAIL" };
	const struct mc_json *roll = mc_json_root(r->doc);
	const char *state = ctl_jstr(roll, "state", "?");

	if (c->o.json)
		ctl_print_body(r);
	else {
		printf("\n");
		ctl_print_list(r, "targets", "target", head, 4, summary_row,
		    NULL);
		printf("update %s: %s", ctl_jstr(roll, "id", "?"), state);
		if (*ctl_jstr(roll, "stopped", ""))
			printf(" (stopped: %s)", ctl_jstr(roll, "stopped", ""));
		printf("\n");
	}
	return strcmp(state, "done") == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

static void
nap(void)
{
	struct timespec ts = { 0, UPD_POLL_NS };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Look at the roll until it is over. */
static int
follow(struct ctl *c, const char *id)
{
	char path[UPD_PATH_LEN], enc[MC_ID_MAX * 3], what[64];
	struct ctl_reattach ra;
	struct ctl_resp r;
	int ret;

	if (ctl_urlenc(id, enc, sizeof(enc)) == -1)
		return CTL_EXIT_FAIL;
	snprintf(path, sizeof(path), "/api/updates/%s", enc);
	snprintf(what, sizeof(what), "following update %s again", id);
	memset(&ra, 0, sizeof(ra));
	for (;;) {
		ctl_resp_init(&r);
		ret = ctl_api(c, "GET", path, NULL, &r);
		if (ret == CTL_EXIT_HUB && c->lost &&
		    ctl_hub_wait(c, &ra, what) == 0) {
			ctl_resp_free(&r);
			continue;
		}
		if (ret != 0) {
			ctl_resp_free(&r);
			return ret;
		}
		ctl_hub_back(c, &ra);
		if (!c->o.json)
			show_changes(mc_json_root(r.doc));
		if (strcmp(ctl_jstr(mc_json_root(r.doc), "state", "running"),
		    "running") != 0) {
			ret = finish(c, &r);
			ctl_resp_free(&r);
			return ret;
		}
		ctl_resp_free(&r);
		nap();
	}
}

/* POST the roll; its id into id.  0 or an exit status (said). */
static int
start(struct ctl *c, const struct mc_buf *body, char *id, size_t idlen)
{
	const struct mc_json *roll;
	struct ctl_resp r;
	int ret;

	ctl_resp_init(&r);
	ret = ctl_http(c, "POST", "/api/updates", body, &r);
	if (ret == 0 && r.status == 404) {
		fprintf(stderr, "hubctl: %s\n", ctl_resp_error(&r));
		ret = CTL_EXIT_AGENT;
	} else if (ret == 0 && !ctl_http_2xx(r.status))
		ret = ctl_api_fail(c, &r);
	else if (ret == 0 && (r.doc == NULL || mc_strlcpy(id,
	    ctl_jstr(mc_json_root(r.doc), "id", ""), idlen) == -1 || !*id)) {
		fprintf(stderr, "hubctl: the hub's answer has no update id\n");
		ret = CTL_EXIT_FAIL;
	}
	if (ret == 0 && !c->o.json) {
		roll = mc_json_root(r.doc);
		printf("update %s: %s on %d target(s), %lld at a time "
		    "(it goes on on the hub if hubctl stops)\n", id,
		    ctl_jstr(roll, "image", "?"),
		    (int)(mc_json_get(roll, "targets") != NULL ?
		    mc_json_get(roll, "targets")->len : 0),
		    (long long)(mc_json_get(roll, "batch") != NULL ?
		    mc_json_get(roll, "batch")->num : 1));
	}
	ctl_resp_free(&r);
	return ret;
}

int
ctl_cmd_update(struct ctl *c, int argc, char **argv)
{
	const char *tag = NULL, *all = NULL, *batch_s = NULL, *prune = NULL;
	const char *timeout_s = NULL;
	const struct ctl_flag flags[] = { { "--tag", 1, &tag },
	    { "--all", 0, &all }, { "--batch", 1, &batch_s },
	    { "--prune", 0, &prune }, { "--timeout", 1, &timeout_s },
	    { NULL, 0, NULL } };
	char id[MC_ID_MAX];
	struct ctl_args a;
	struct mc_buf body;
	int64_t batch = 1;
	double timeout = 0;
	int ret;

	ret = ctl_flags_parse("update-containers", argc, argv, flags, &a);
	if (ret != 0)
		return ret;
	if (a.n < 1)
		return ctl_usage("update-containers", "which IMAGE?");
	if ((a.n > 1) + (tag != NULL) + (all != NULL) != 1)
		return ctl_usage("update-containers", "give exactly one of "
		    "--tag TAG, --all and AGENT...");
	if (batch_s != NULL && mc_parse_i64(batch_s, 1, 1000, &batch) == -1)
		return ctl_usage("update-containers", "--batch: '%s' is not a "
		    "number from 1 to 1000", batch_s);
	if (timeout_s != NULL && (mc_parse_duration(timeout_s, &timeout) ==
	    -1 || timeout <= 0 || timeout > MC_TIMEOUT_MAX))
		return ctl_usage("update-containers", "--timeout: '%s' is not "
		    "a duration up to 7d (e.g. 300, 10m)", timeout_s);
	if ((ret = ctl_opts_finish(c)) != 0)
		return ret;
	mc_buf_init(&body, 256 * 1024);
	if (body_build(&body, a.v[0], &a, tag, all != NULL, batch,
	    prune != NULL, timeout) == -1) {
		mc_buf_free(&body);
		return ctl_usage("update-containers", "too many agents");
	}
	ret = start(c, &body, id, sizeof(id));
	mc_buf_free(&body);
	return ret != 0 ? ret : follow(c, id);
}
