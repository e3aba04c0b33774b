/*
 * ctl_config.c - "hubctl config status|sync|log|diff|rollback": the git
 * repository of fleet configuration the hub follows (docs/config.md).
 *
 * sync and rollback wait for the hub to have fetched (and applied, or
 * refused) and print the same status as config status; they exit 1 when
 * the fetch failed or the commit was refused, so a script can gate on
 * them.  diff exits as "git diff --exit-code" does: 0 when nothing
 * differs, 1 when something does (or the target would be refused), and 2
 * when COMMIT names no commit the hub has.  With --json each prints the
 * API's JSON as it came (the exit status stays).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "mc_util.h"

static void
field(const char *label, const char *value)
{
	printf("%-15s ", label);
	ctl_put_safe(stdout, value);
	putchar('\n');
}

/* The backup repository's part, when the hub has one. */
static void
print_backup(const struct mc_json *b)
{
	const struct mc_json *c = mc_json_get(b, "last_commit");
	char when[64], line[MC_TEXT_MAX * 2];
	double t = 0;
	int64_t pending = 0;
	int on = 0, ok = 0;

	if (b == NULL || mc_json_bool(b, "enabled", &on) == -1 || !on)
		return;
	snprintf(line, sizeof(line), "%s (branch %s)", ctl_jstr(b, "repo", "?"),
	    ctl_jstr(b, "branch", "?"));
	field("backup", line);
	if (c != NULL && c->type == MC_JOBJ) {
		snprintf(line, sizeof(line), "%.12s %s", ctl_jstr(c, "id", "?"),
		    ctl_jstr(c, "subject", ""));
		field("  last commit", line);
	} else
		field("  last commit", "none yet");
	mc_json_num(b, "last_push", &t);
	ctl_ago(t, when, sizeof(when));
	field("  last push", when);
	mc_json_int(b, "pending", 0, INT64_MAX, &pending);
	snprintf(line, sizeof(line), "%lld change%s not pushed yet",
	    (long long)pending, pending == 1 ? "" : "s");
	field("  pending", line);
	mc_json_bool(b, "push_ok", &ok);
	if (!ok)
		field("  push error", ctl_jstr(b, "error", "-"));
}

/* The status object; CTL_EXIT_OK only when the last sync was good. */
static int
print_status(const struct mc_json *o)
{
	const struct mc_json *ap = mc_json_get(o, "applied");
	char when[64], line[MC_TEXT_MAX * 2];
	double t = 0;
	int ok = 0, fetch_ok = 0;

	field("repo", ctl_jstr(o, "repo", "-"));
	field("branch", ctl_jstr(o, "branch", "-"));
	if (ap != NULL && ap->type == MC_JOBJ) {
		mc_json_num(ap, "time", &t);
		ctl_date(t, when, sizeof(when));
		snprintf(line, sizeof(line), "%.12s %s", ctl_jstr(ap, "id",
		    "?"), ctl_jstr(ap, "subject", ""));
		field("applied", line);
		snprintf(line, sizeof(line), "%s, %s", ctl_jstr(ap, "author",
		    "?"), when);
		field("  by", line);
	} else
		field("applied", "none yet");
	t = 0;
	mc_json_num(o, "last_fetch", &t);
	ctl_ago(t, when, sizeof(when));
	mc_json_bool(o, "fetch_ok", &fetch_ok);
	field("last fetch", when);
	if (!fetch_ok)
		field("fetch error", ctl_jstr(o, "fetch_error", "-"));
	if (ctl_jstr(o, "refused_commit", NULL) != NULL) {
		snprintf(line, sizeof(line), "%.12s: %s", ctl_jstr(o,
		    "refused_commit", ""), ctl_jstr(o, "refused_error", ""));
		field("refused", line);
	}
	print_backup(mc_json_get(o, "backup"));
	mc_json_bool(o, "ok", &ok);
	return ok ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

/* One call whose answer is the status. */
static int
status_call(struct ctl *c, const char *method, const char *path,
    const struct mc_buf *body)
{
	struct ctl_resp r;
	int ret, ok = 0;

	ctl_resp_init(&r);
	ret = ctl_api(c, method, path, body, &r);
	if (ret == 0 && r.doc == NULL) {
		fprintf(stderr, "hubctl: the hub's answer is not JSON\n");
		ret = CTL_EXIT_FAIL;
	} else if (ret == 0 && c->o.json) {
		ctl_print_body(&r);
		mc_json_bool(mc_json_root(r.doc), "ok", &ok);
		ret = ok ? CTL_EXIT_OK : CTL_EXIT_FAIL;
	} else if (ret == 0)
		ret = print_status(mc_json_root(r.doc));
	ctl_resp_free(&r);
	return ret;
}

int
ctl_cmd_config_status(struct ctl *c, int argc, char **argv)
{
	struct ctl_args a;
	int ret = ctl_begin(c, "config", argc, argv, NULL, &a, 0, 0);

	return ret != 0 ? ret : status_call(c, "GET", "/api/config", NULL);
}

int
ctl_cmd_config_sync(struct ctl *c, int argc, char **argv)
{
	struct ctl_args a;
	int ret = ctl_begin(c, "config", argc, argv, NULL, &a, 0, 0);

	return ret != 0 ? ret : status_call(c, "POST", "/api/config/sync",
	    NULL);
}

int
ctl_cmd_config_rollback(struct ctl *c, int argc, char **argv)
{
	struct ctl_args a;
	struct mc_buf body;
	int ret = ctl_begin(c, "config", argc, argv, NULL, &a, 1, 1);

	if (ret != 0)
		return ret;
	if (strspn(a.v[0], "0123456789abcdef") != strlen(a.v[0]) ||
	    strlen(a.v[0]) < 4 || strlen(a.v[0]) > 40)
		return ctl_usage("config", "COMMIT is a commit id (4 to 40 "
		    "lowercase hex digits)");
	mc_buf_init(&body, 256);	/* owned: freed below */
	mc_buf_printf(&body, "{\"commit\":\"%s\"}", a.v[0]);
	ret = status_call(c, "POST", "/api/config/rollback", &body);
	mc_buf_free(&body);
	return ret;
}

static void
log_table(const struct mc_json *arr, const char *applied, int64_t n)
{
	const struct mc_json *e;
	struct ctl_table t;
	char when[64], id[16];
	double ts;

	ctl_table_init(&t, 5);
	ctl_table_add(&t, "");
	ctl_table_add(&t, "COMMIT");
	ctl_table_add(&t, "DATE");
	ctl_table_add(&t, "AUTHOR");
	ctl_table_add(&t, "SUBJECT");
	for (e = arr->child; e != NULL && n-- > 0; e = e->next) {
		ts = 0;
		mc_json_num(e, "time", &ts);
		ctl_date(ts, when, sizeof(when));
		snprintf(id, sizeof(id), "%.12s", ctl_jstr(e, "id", "?"));
		ctl_table_add(&t, strcmp(ctl_jstr(e, "id", ""), applied) == 0 ?
		    "*" : "");
		ctl_table_add(&t, id);
		ctl_table_add(&t, when);
		ctl_table_add(&t, ctl_jstr(e, "author", "-"));
		ctl_table_add(&t, ctl_jstr(e, "subject", "-"));
	}
	ctl_table_print(&t);
}

int
ctl_cmd_config_log(struct ctl *c, int argc, char **argv)
{
	const char *nval = NULL;
	const struct ctl_flag flags[] = { { "-n", 1, &nval },
	    { NULL, 0, NULL } };
	const struct mc_json *arr;
	struct ctl_resp r;
	struct ctl_args a;
	int64_t n = 20;
	int ret = ctl_begin(c, "config", argc, argv, flags, &a, 0, 0);

	if (ret != 0)
		return ret;
	if (nval != NULL && mc_parse_i64(nval, 1, 1000, &n) == -1)
		return ctl_usage("config", "-n takes 1 to 1000");
	ctl_resp_init(&r);
	ret = ctl_api(c, "GET", "/api/config/log", NULL, &r);
	arr = ret == 0 && r.doc ? mc_json_get(mc_json_root(r.doc), "commits") :
	    NULL;
	if (ret == 0 && (arr == NULL || arr->type != MC_JARR)) {
		fprintf(stderr, "hubctl: the hub's answer has no commits\n");
		ret = CTL_EXIT_FAIL;
	} else if (ret == 0 && c->o.json)
		ctl_print_body(&r);
	else if (ret == 0)
		log_table(arr, ctl_jstr(mc_json_root(r.doc), "applied", ""), n);
	ctl_resp_free(&r);
	return ret;
}

/* ---- config diff ---- */

/* Colours for a patch on a terminal (none when NO_COLOR is set). */
struct paint {
	int	on;
};

static const char *
line_colour(const char *line)
{
	if (strncmp(line, "diff --git ", 11) == 0 ||
	    strncmp(line, "--- ", 4) == 0 || strncmp(line, "+++ ", 4) == 0)
		return "\033[1m";
	if (line[0] == '@')
		return "\033[36m";
	if (line[0] == '+')
		return "\033[32m";
	if (line[0] == '-')
		return "\033[31m";
	return NULL;
}

/* One patch line, control characters but tabs shown as '?' (the text
 * is the repository's: it must not drive the terminal).  tmp holds at
 * least strlen(line) + 1 bytes. */
static void
patch_put(const struct paint *pt, char *line, char *tmp)
{
	const char *colour = pt->on ? line_colour(line) : NULL;
	char *seg = line, *tab;

	if (colour != NULL)
		fputs(colour, stdout);
	for (;;) {
		tab = strchr(seg, '\t');
		if (tab != NULL)
			*tab = '\0';
		ctl_safe(seg, tmp, strlen(seg) + 1);
		fputs(tmp, stdout);
		if (tab == NULL)
			break;
		putchar('\t');
		seg = tab + 1;
	}
	if (colour != NULL)
		fputs("\033[0m", stdout);
	putchar('\n');
}

static void
patch_print(const struct mc_json *patch)
{
	struct paint pt = { isatty(STDOUT_FILENO) && getenv("NO_COLOR") ==
	    NULL };
	char *text, *tmp, *line, *nl;

	if (patch == NULL || patch->type != MC_JSTR || patch->len == 0)
		return;
	text = strdup(patch->str);		/* owned: freed below */
	tmp = malloc(patch->len + 1);		/* owned: freed below */
	if (text == NULL || tmp == NULL) {
		fprintf(stderr, "hubctl: out of memory for the patch\n");
		goto done;
	}
	for (line = text; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		patch_put(&pt, line, tmp);
		if (nl == NULL)
			break;
	}
done:
	free(tmp);
	free(text);
}

/* The diff answer; 0 when nothing differs, else CTL_EXIT_FAIL. */
static int
print_diff(const struct mc_json *o)
{
	const struct mc_json *t = mc_json_get(o, "target");
	const struct mc_json *files = mc_json_get(o, "files");
	char line[MC_TEXT_MAX * 2];
	int refused = 0, cut = 0;
	double max = 0;

	mc_json_bool(o, "refused", &refused);
	mc_json_bool(o, "truncated", &cut);
	mc_json_num(o, "max_bytes", &max);
	snprintf(line, sizeof(line), "%.12s", ctl_jstr(o, "from",
	    "none yet"));
	field("applied", line);
	snprintf(line, sizeof(line), "%.12s %s", ctl_jstr(o, "to", "?"),
	    t != NULL ? ctl_jstr(t, "subject", "") : "");
	field("target", line);
	if (ctl_jstr(o, "fetch_error", NULL) != NULL)
		field("fetch error", ctl_jstr(o, "fetch_error", ""));
	if (refused)
		field("refused", ctl_jstr(o, "error", "?"));
	if (files == NULL || files->type != MC_JARR || files->len == 0) {
		printf("nothing differs\n");
		return refused ? CTL_EXIT_FAIL : CTL_EXIT_OK;
	}
	putchar('\n');
	patch_print(mc_json_get(o, "patch"));
	if (cut)
		printf("[the diff is cut here: it passed %.0f KiB]\n",
		    max / 1024);
	return CTL_EXIT_FAIL;
}

int
ctl_cmd_config_diff(struct ctl *c, int argc, char **argv)
{
	char path[128] = "/api/config/diff";
	const struct mc_json *o;
	struct ctl_resp r;
	struct ctl_args a;
	int ret = ctl_begin(c, "config", argc, argv, NULL, &a, 0, 1), differs;

	if (ret != 0)
		return ret;
	if (a.n == 1 && (strspn(a.v[0], "0123456789abcdef") !=
	    strlen(a.v[0]) || strlen(a.v[0]) < 4 || strlen(a.v[0]) > 40))
		return ctl_usage("config", "COMMIT is a commit id (4 to 40 "
		    "lowercase hex digits)");
	if (a.n == 1)
		snprintf(path, sizeof(path), "/api/config/diff?commit=%s",
		    a.v[0]);
	ctl_resp_init(&r);
	ret = ctl_http(c, "GET", path, NULL, &r);
	if (ret == 0 && !ctl_http_2xx(r.status)) {
		ret = ctl_api_fail(c, &r);
		if (r.status == 404 || r.status == 400)
			ret = CTL_EXIT_USAGE;	/* no such commit */
	} else if (ret == 0 && r.doc == NULL) {
		fprintf(stderr, "hubctl: the hub's answer is not JSON\n");
		ret = CTL_EXIT_HUB;
	} else if (ret == 0 && c->o.json) {
		o = mc_json_root(r.doc);
		ctl_print_body(&r);
		differs = 0;
		mc_json_bool(o, "refused", &differs);
		o = mc_json_get(o, "files");
		differs |= o != NULL && o->type == MC_JARR && o->len > 0;
		ret = differs ? CTL_EXIT_FAIL : CTL_EXIT_OK;
	} else if (ret == 0)
		ret = print_diff(mc_json_root(r.doc));
	ctl_resp_free(&r);
	return ret;
}
