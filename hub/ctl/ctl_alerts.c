/*
 * ctl_alerts.c - "hubctl alerts test", "hubctl silence ..." and "hubctl
 * ack AGENT".
 *
 * alerts test asks the hub to send a test message to every configured
 * channel and prints each channel's outcome; it exits 0 only when every
 * channel got its message.  silence mutes an agent's (or every agent with
 * a tag's) alerts for planned work: "silence AGENT|--tag TAG --for
 * DURATION [--reason TEXT]", "silence list", "silence clear ID".  ack
 * acknowledges an agent's open incident (POST /api/agents/NAME/ack): its
 * alert is not repeated until it ends.  With --json each prints the API's
 * JSON as it came.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "mc_util.h"

/* ---- alerts test ---- */

/* The channels table; CTL_EXIT_OK only if every channel was sent to. */
static int
print_channels(const struct mc_json *arr)
{
	const struct mc_json *e;
	struct ctl_table t;
	int failed = 0, n = 0;
	const char *out;

	ctl_table_init(&t, 3);
	ctl_table_add(&t, "CHANNEL");
	ctl_table_add(&t, "OUTCOME");
	ctl_table_add(&t, "DETAIL");
	for (e = arr->child; e != NULL; e = e->next) {
		if (e->type != MC_JOBJ)
			continue;
		out = ctl_jstr(e, "outcome", "?");
		failed += strcmp(out, "sent") != 0;
		n++;
		ctl_table_add(&t, ctl_jstr(e, "channel", "?"));
		ctl_table_add(&t, out);
		ctl_table_add(&t, ctl_jstr(e, "detail", "-"));
	}
	if (n == 0) {
		ctl_table_print(&t);
		fprintf(stderr, "hubctl: the hub has no alert channel "
		    "configured (telegram_bot_token, discord_webhook_url, "
		    "webhook_url in its config; see docs/alerts.md)\n");
		return CTL_EXIT_FAIL;
	}
	if (ctl_table_print(&t) == -1)
		return CTL_EXIT_FAIL;
	return failed ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

int
ctl_cmd_alerts_test(struct ctl *c, int argc, char **argv)
{
	const struct mc_json *arr = NULL;
	struct ctl_resp r;
	struct ctl_args a;
	int ret, i;

	ret = ctl_begin(c, "alerts", argc, argv, NULL, &a, 0, 0);
	if (ret != 0)
		return ret;
	ctl_resp_init(&r);
	ret = ctl_api(c, "POST", "/api/alerts/test", NULL, &r);
	if (ret == 0 && r.doc != NULL)
		arr = mc_json_get(mc_json_root(r.doc), "channels");
	if (ret == 0 && (arr == NULL || arr->type != MC_JARR)) {
		fprintf(stderr, "hubctl: the hub's answer has no channels "
		    "list\n");
		ret = CTL_EXIT_FAIL;
	} else if (ret == 0 && c->o.json) {
		ctl_print_body(&r);
		for (i = 0, arr = arr->child; arr != NULL; arr = arr->next, i++)
			if (strcmp(ctl_jstr(arr, "outcome", "?"), "sent") != 0)
				ret = CTL_EXIT_FAIL;
		if (i == 0)
			ret = CTL_EXIT_FAIL;
	} else if (ret == 0) {
		ret = print_channels(arr);
	}
	ctl_resp_free(&r);
	return ret;
}

/* ---- silence ---- */

static void
print_silence(const struct mc_json *s)
{
	const char *agent = ctl_jstr(s, "agent", NULL);
	char until[64];
	double ts = 0;

	if (mc_json_num(s, "until", &ts) == -1)
		ts = 0;
	ctl_date(ts, until, sizeof(until));
	fputs("silenced ", stdout);
	if (agent != NULL) {
		ctl_put_safe(stdout, agent);
	} else {
		fputs("every agent tagged ", stdout);
		ctl_put_safe(stdout, ctl_jstr(s, "tag", "?"));
	}
	printf(" until %s (id ", until);
	ctl_put_safe(stdout, ctl_jstr(s, "id", "?"));
	fputs(")\n", stdout);
}

/* The request body; -1 (said) if a value does not fit. */
static int
silence_body(struct mc_buf *body, const char *agent, const char *tag,
    double secs, const char *reason)
{
	struct mc_jw w;

	mc_buf_init(body, MC_BODY_MAX);
	mc_jw_init(&w, body);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, agent ? "agent" : "tag", agent ? agent : tag);
	mc_jw_dbl(&w, "for", secs);
	if (reason != NULL)
		mc_jw_str(&w, "reason", reason);
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == -1) {
		mc_buf_free(body);
		return ctl_usage("silence", "--reason is too long");
	}
	return 0;
}

static int
silence_add(struct ctl *c, int argc, char **argv)
{
	const char *tag = NULL, *dur = NULL, *reason = NULL, *agent;
	const struct ctl_flag flags[] = { { "--tag", 1, &tag },
	    { "--for", 1, &dur }, { "--reason", 1, &reason },
	    { NULL, 0, NULL } };
	struct ctl_resp r;
	struct ctl_args a;
	struct mc_buf body;
	double secs;
	int ret;

	ret = ctl_flags_parse("silence", argc, argv, flags, &a);
	if (ret != 0)
		return ret;
	if ((a.n == 1) == (tag != NULL) || a.n > 1)
		return ctl_usage("silence", "name one AGENT or --tag TAG");
	agent = a.n == 1 ? a.v[0] : NULL;
	if (dur == NULL)
		return ctl_usage("silence", "--for DURATION is needed (e.g. "
		    "--for 2h)");
	if (mc_parse_duration(dur, &secs) == -1 || secs <= 0 ||
	    secs > MC_SILENCE_MAX_SECS)
		return ctl_usage("silence", "--for: '%s' is not a duration "
		    "from 1s to 30d (e.g. 30m, 2h)", dur);
	ret = ctl_opts_finish(c);
	if (ret != 0)
		return ret;
	if (silence_body(&body, agent, tag, secs, reason) != 0)
		return CTL_EXIT_USAGE;
	ctl_resp_init(&r);
	ret = ctl_http(c, "POST", "/api/silences", &body, &r);
	if (ret == 0 && r.status == 404 && agent != NULL)
		ret = ctl_agent_unknown(agent);
	else if (ret == 0 && (r.status < 200 || r.status > 299))
		ret = ctl_api_fail(c, &r);
	else if (ret == 0 && c->o.json)
		ctl_print_body(&r);
	else if (ret == 0 && r.doc != NULL)
		print_silence(mc_json_root(r.doc));
	ctl_resp_free(&r);
	mc_buf_free(&body);
	return ret;
}

static void
silence_row(struct ctl_table *t, const struct mc_json *s)
{
	const char *agent = ctl_jstr(s, "agent", NULL);
	char target[MC_TAG_MAX + 8], until[64];
	double ts = 0;

	ctl_table_add(t, ctl_jstr(s, "id", "?"));
	if (agent != NULL)
		ctl_table_add(t, agent);
	else {
		snprintf(target, sizeof(target), "tag:%s",
		    ctl_jstr(s, "tag", "?"));
		ctl_table_add(t, target);
	}
	if (mc_json_num(s, "until", &ts) == -1)
		ts = 0;
	ctl_date(ts, until, sizeof(until));
	ctl_table_add(t, until);
	ctl_table_add(t, ctl_jstr(s, "by", "-"));
	ctl_table_add(t, ctl_jstr(s, "reason", "-"));
}

static int
silence_list(struct ctl *c, int argc, char **argv)
{
	static const char *const head[] = { "ID", "TARGET", "UNTIL", "BY",
	    "REASON" };
	const struct mc_json *arr = NULL, *e;
	struct ctl_table t;
	struct ctl_resp r;
	struct ctl_args a;
	int ret, i;

	ret = ctl_begin(c, "silence", argc, argv, NULL, &a, 0, 0);
	if (ret != 0)
		return ret;
	ctl_resp_init(&r);
	ret = ctl_api(c, "GET", "/api/silences", NULL, &r);
	if (ret == 0 && r.doc != NULL)
		arr = mc_json_get(mc_json_root(r.doc), "silences");
	if (ret == 0 && c->o.json) {
		ctl_print_body(&r);
	} else if (ret == 0 && (arr == NULL || arr->type != MC_JARR)) {
		fprintf(stderr, "hubctl: the hub's answer has no silences "
		    "list\n");
		ret = CTL_EXIT_FAIL;
	} else if (ret == 0) {
		ctl_table_init(&t, 5);
		for (i = 0; i < 5; i++)
			ctl_table_add(&t, head[i]);
		for (e = arr->child; e != NULL; e = e->next)
			if (e->type == MC_JOBJ)
				silence_row(&t, e);
		ret = ctl_table_print(&t) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
	}
	ctl_resp_free(&r);
	return ret;
}

static int
silence_clear(struct ctl *c, int argc, char **argv)
{
	char path[MC_PATH_MAX * 4], enc[MC_PATH_MAX * 3];
	struct ctl_resp r;
	struct ctl_args a;
	int ret;

	ret = ctl_begin(c, "silence", argc, argv, NULL, &a, 1, 1);
	if (ret != 0)
		return ret;
	if (ctl_urlenc(a.v[0], enc, sizeof(enc)) == -1)
		return ctl_usage("silence", "ID too long");
	snprintf(path, sizeof(path), "/api/silences/%s", enc);
	ctl_resp_init(&r);
	ret = ctl_http(c, "DELETE", path, NULL, &r);
	if (ret == 0 && r.status == 404) {
		fputs("hubctl: no running silence '", stderr);
		ctl_put_safe(stderr, a.v[0]);
		fputs("' (see `hubctl silence list`)\n", stderr);
		ret = CTL_EXIT_FAIL;
	} else if (ret == 0 && (r.status < 200 || r.status > 299)) {
		ret = ctl_api_fail(c, &r);
	} else if (ret == 0 && c->o.json) {
		ctl_print_body(&r);
	} else if (ret == 0) {
		fputs("cleared silence ", stdout);
		ctl_put_safe(stdout, a.v[0]);
		putchar('\n');
	}
	ctl_resp_free(&r);
	return ret;
}

int
ctl_cmd_silence(struct ctl *c, int argc, char **argv)
{
	if (argc > 0 && strcmp(argv[0], "list") == 0)
		return silence_list(c, argc - 1, argv + 1);
	if (argc > 0 && strcmp(argv[0], "clear") == 0)
		return silence_clear(c, argc - 1, argv + 1);
	return silence_add(c, argc, argv);
}

/* ---- ack ---- */

int
ctl_cmd_ack(struct ctl *c, int argc, char **argv)
{
	struct ctl_resp r;
	int ret;

	ret = ctl_agent_call(c, "ack", argc, argv, "POST", "/ack", &r);
	if (ret == 0 && !c->o.json) {
		fputs("acknowledged the incident of ", stdout);
		ctl_put_safe(stdout, ctl_jstr(r.doc ? mc_json_root(r.doc) :
		    NULL, "agent", "?"));
		fputs(": its alert is not repeated until it ends\n", stdout);
	}
	ctl_resp_free(&r);
	return ret;
}
