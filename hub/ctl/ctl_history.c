/*
 * ctl_history.c - "hubctl history [AGENT] [--limit N]": past commands.
 *
 * Reads GET /api/commands[?agent=NAME][&limit=N] (newest first, from the
 * hub's database) and prints a table, or the API's JSON as it came with
 * --json.  Commands are free text typed by any operator and may hold
 * newlines or escapes, so the COMMAND column is made safe and cut to
 * CTL_HISTORY_CMD_WIDTH columns; every other cell is made safe by the
 * table.  An agent the hub does not know simply has no history.
 */
#include <stdio.h>

#include "ctl.h"
#include "mc_util.h"

#define HISTORY_COLS	8
#define PATH_LEN	(MC_PATH_MAX * 4)

static void
history_row(struct ctl_table *t, const struct mc_json *cmd)
{
	char buf[CTL_HISTORY_CMD_WIDTH * 4 + 8];
	int64_t code;
	double ts = 0;

	ctl_table_add(t, ctl_jstr(cmd, "id", "?"));
	ctl_table_add(t, ctl_jstr(cmd, "agent", "?"));
	ctl_table_add(t, ctl_jstr(cmd, "type", "?"));
	ctl_table_add(t, ctl_jstr(cmd, "status", "?"));
	if (mc_json_int(cmd, "exit", INT32_MIN, INT32_MAX, &code) == 0)
		snprintf(buf, sizeof(buf), "%lld", (long long)code);
	else
		snprintf(buf, sizeof(buf), "-");
	ctl_table_add(t, buf);
	ctl_table_add(t, ctl_jstr(cmd, "requested_by", "-"));
	if (mc_json_num(cmd, "created", &ts) == -1)
		ts = 0;
	ctl_ago(ts, buf, sizeof(buf));
	ctl_table_add(t, buf);
	ctl_safe_cut(ctl_jstr(cmd, "cmd", ctl_jstr(cmd, "arg", "-")),
	    CTL_HISTORY_CMD_WIDTH, buf, sizeof(buf));
	ctl_table_add(t, buf);
}

static int
print_history(const struct ctl_resp *r)
{
	static const char *const head[HISTORY_COLS] = { "ID", "AGENT", "TYPE",
	    "STATUS", "EXIT", "BY", "WHEN", "COMMAND" };

	return ctl_print_list(r, "commands", "command", head, HISTORY_COLS,
	    history_row, NULL);
}

/* "/api/commands?agent=NAME&limit=N"; -1 (said) if it does not fit. */
static int
history_path(const struct ctl_args *a, int64_t limit, char *path,
    size_t size)
{
	char enc[MC_PATH_MAX];
	int n;

	if (a->n == 1 && ctl_urlenc(a->v[0], enc, sizeof(enc)) == -1)
		return ctl_usage("history", "agent name too long");
	n = snprintf(path, size, "/api/commands?%s%s%slimit=%lld",
	    a->n ? "agent=" : "", a->n ? enc : "", a->n ? "&" : "",
	    (long long)limit);
	if (n < 0 || (size_t)n >= size)
		return ctl_usage("history", "agent name too long");
	return 0;
}

int
ctl_cmd_history(struct ctl *c, int argc, char **argv)
{
	const char *limit_text = NULL;
	const struct ctl_flag flags[] = { { "--limit", 1, &limit_text },
	    { NULL, 0, NULL } };
	char path[PATH_LEN];
	struct ctl_resp r;
	struct ctl_args a;
	int64_t limit = 50;
	int ret;

	ret = ctl_flags_parse("history", argc, argv, flags, &a);
	if (ret != 0)
		return ret;
	if (a.n > 1)
		return ctl_usage("history", "unexpected argument '%s'",
		    a.v[1]);
	if (limit_text != NULL && mc_parse_i64(limit_text, 1,
	    CTL_HISTORY_MAX, &limit) == -1)
		return ctl_usage("history", "--limit: '%s' is not a whole "
		    "number from 1 to %d", limit_text, CTL_HISTORY_MAX);
	ret = history_path(&a, limit, path, sizeof(path));
	if (ret == 0)
		ret = ctl_opts_finish(c);
	if (ret != 0)
		return ret;
	ctl_resp_init(&r);
	ret = ctl_http(c, "GET", path, NULL, &r);
	/* an unknown agent is an empty list, so 404 means an older hub */
	if (ret == 0 && (r.status == 404 || r.status == 405)) {
		fprintf(stderr, "hubctl: this hub is older than hubctl and "
		    "keeps no command history it can read (HTTP %ld); upgrade "
		    "it\n", r.status);
		ret = CTL_EXIT_FAIL;
	} else if (ret == 0 && (r.status < 200 || r.status > 299)) {
		ret = ctl_api_fail(c, &r);
	} else if (ret == 0 && c->o.json) {
		ctl_print_body(&r);
	} else if (ret == 0) {
		ret = print_history(&r);
	}
	ctl_resp_free(&r);
	return ret;
}
