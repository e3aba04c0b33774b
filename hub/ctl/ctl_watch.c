/*
 * ctl_watch.c - hubctl watch: the hub's live feed (/ws/ui) as lines.
 *
 * The feed is a WebSocket (ctl_ws.c: TLS and the pin as for every
 * request, the token in the first message, never in the URL) whose
 * messages of up to WATCH_MSG_MAX bytes are JSON.
 *
 * Each item prints as one line: local time, kind, agent, text.  Kinds are
 * the event types (status, alert, delivery, silence, ...) and "command"
 * for a command's status changes; metric updates are not printed.  Agent
 * names and texts come from whoever runs a listener, so they go through
 * ctl_safe().  With --json every message prints as the hub sent it.
 *
 * Events carry the hub's ids.  When the hub goes away (a restart), watch
 * connects again and first reads the events after the last id it showed
 * from GET /api/events, so none is lost and none shows twice; --since
 * starts with the stored events after an id or a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "mc_util.h"

/* the largest message accepted (a snapshot of many agents) */
#define WATCH_MSG_MAX		(16 * 1024 * 1024)
/* a ping after this long without a byte; twice: the hub is gone */
#define WATCH_IDLE_MS		30000
/* --since and a resume read at most this many pages of 1,000 events */
#define WATCH_PAGES		100

struct watch {
	struct ctl	*c;
	struct ctl_ws	*ws;		/* owned */
	int64_t		 last_id;	/* the newest event shown */
};

/* The next message into *m.  0, or -1 when the feed ended (said why). */
static int
read_message(struct watch *w, struct ctl_ws_msg *m)
{
	long wait;

	for (;;) {
		wait = ctl_ws_idle(w->ws, WATCH_IDLE_MS / 1000.0);
		if (wait < 0) {
			fprintf(stderr, "hubctl: the hub has not answered for "
			    "%d s; giving up\n", WATCH_IDLE_MS / 1000);
			return -1;
		}
		switch (ctl_ws_recv(w->ws, m, (int)wait)) {
		case CTL_WS_MSG:
			return 0;
		case CTL_WS_NONE:
			continue;
		case CTL_WS_CLOSED:
			fprintf(stderr, "hubctl: the hub closed the feed\n");
			return -1;
		case CTL_WS_EOF:
			fprintf(stderr, "hubctl: the hub at %s closed the "
			    "connection\n", w->c->base);
			return -1;
		case CTL_WS_ERR:
			break;
		}
		return -1;
	}
}

/* ---- printing ---- */

static void
when(double ts, char *out, size_t outlen)
{
	time_t t = (time_t)ts;
	struct tm tm;

	if (ts <= 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, outlen, "-");
}

/* One line: time, kind, agent, text (all made safe). */
static void
line(double ts, const char *kind, const char *agent, const char *text)
{
	char t[32], k[64], a[4 * MC_NAME_MAX + 4], x[2048];

	when(ts, t, sizeof(t));
	ctl_safe(kind, k, sizeof(k));
	ctl_safe(agent && *agent ? agent : "-", a, sizeof(a));
	ctl_safe(text, x, sizeof(x));
	printf("%s  %-8s  %-16s  %s\n", t, k, a, x);
	fflush(stdout);
}

static void
on_snapshot(const struct mc_json *o)
{
	static const char *const st[] = { "online", "late", "critical",
	    "restarting", "offline" };
	const struct mc_json *l = mc_json_get(o, "agents"), *a;
	size_t n[5] = { 0 }, total = 0, i;
	char text[256];
	size_t off;
	double now = 0;

	for (a = l ? l->child : NULL; a != NULL; a = a->next, total++)
		for (i = 0; i < 5; i++)
			if (strcmp(ctl_jstr(a, "status", ""), st[i]) == 0)
				n[i]++;
	off = (size_t)snprintf(text, sizeof(text), "%zu agent%s", total,
	    total == 1 ? "" : "s");
	for (i = 0; i < 5 && off < sizeof(text); i++)
		if (n[i])
			off += (size_t)snprintf(text + off, sizeof(text) - off,
			    ", %zu %s", n[i], st[i]);
	mc_json_num(o, "now", &now);
	line(now, "watching", NULL, text);
}

/* An event not shown yet?  Then it is the newest shown. */
static int
event_new(struct watch *w, const struct mc_json *e)
{
	int64_t id;

	if (mc_json_int(e, "id", 1, INT64_MAX, &id) == -1)
		return 1;
	if (id <= w->last_id)
		return 0;
	w->last_id = id;
	return 1;
}

/* A stored command event ("ID KIND exit N" or "ID KIND STATUS" in its
 * detail), worded like the live feed's command lines. */
static void
command_text(const struct mc_json *e, char *text, size_t size)
{
	const char *detail = ctl_jstr(e, "detail", "");
	const char *cmd = ctl_jstr(e, "cmd", "");
	const char *sp = strchr(detail, ' ');
	const char *rest = sp != NULL ? strchr(sp + 1, ' ') : NULL;
	int head = rest != NULL ? (int)(rest - detail) : (int)strlen(detail);

	snprintf(text, size, "%.*s%s%s by %s: %s%s", head, detail,
	    *cmd ? " " : "", cmd, ctl_jstr(e, "from", "?"),
	    ctl_jstr(e, "to", "?"), rest != NULL &&
	    strncmp(rest, " exit ", 6) == 0 ? rest : "");
}

/* live: the feed also sends a command message, which says more */
static void
on_event(const struct mc_json *e, int live)
{
	const char *type = ctl_jstr(e, "type", "?");
	const char *from = ctl_jstr(e, "from", ""), *to = ctl_jstr(e, "to", "");
	const char *detail = ctl_jstr(e, "detail", "");
	char text[1024];
	double ts = 0;

	if (live && strcmp(type, "command") == 0)
		return;
	mc_json_num(e, "ts", &ts);
	if (strcmp(type, "command") == 0)
		command_text(e, text, sizeof(text));
	else if (strcmp(type, "alert") == 0)	/* what, severity, message */
		snprintf(text, sizeof(text), "%s (%s)%s%s", from, to,
		    *detail ? ": " : "", detail);
	else if (strcmp(type, "delivery") == 0)	/* channel, outcome */
		snprintf(text, sizeof(text), "via %s: %s%s%s%s", from, to,
		    *detail ? " (" : "", detail, *detail ? ")" : "");
	else
		snprintf(text, sizeof(text), "%s%s%s%s%s%s", from, *from && *to ?
		    " -> " : "", to, *detail ? " (" : "", detail,
		    *detail ? ")" : "");
	line(ts, type, ctl_jstr(e, "agent", ""), text);
}

static void
on_command(const struct mc_json *c)
{
	const char *status = ctl_jstr(c, "status", "?");
	const char *what = ctl_jstr(c, "cmd", ctl_jstr(c, "arg", ""));
	const char *error = ctl_jstr(c, "error", "");
	char text[1024], ex[32] = "";
	double ts = 0, code;

	if (mc_json_num(c, "exit", &code) == 0)
		snprintf(ex, sizeof(ex), " exit %d", (int)code);
	if (mc_json_num(c, "finished", &ts) == -1 &&
	    mc_json_num(c, "started", &ts) == -1)
		mc_json_num(c, "created", &ts);
	snprintf(text, sizeof(text), "%s %s%s%s by %s: %s%s%s%s",
	    ctl_jstr(c, "id", "?"), ctl_jstr(c, "type", "?"), *what ? " " : "",
	    what, ctl_jstr(c, "requested_by", "?"), status, ex,
	    *error ? ": " : "", error);
	line(ts, "command", ctl_jstr(c, "agent", ""), text);
}

/* One message.  0 to go on, or an exit status. */
static int
on_message(struct watch *w, const struct ctl_ws_msg *m)
{
	const struct mc_json *o;
	struct mc_jdoc *d;
	const char *t;
	char err[128], why[512];
	int r = 0;

	if ((d = mc_json_parse((const char *)m->data, m->len, err,
	    sizeof(err))) == NULL)
		return 0;
	o = mc_json_root(d);
	t = ctl_jstr(o, "t", "");
	if (strcmp(t, "event") == 0 && !event_new(w, mc_json_get(o, "event"))) {
		mc_json_free(d);	/* shown while catching up */
		return 0;
	}
	if (w->c->o.json) {
		/* the hub's JSON escapes every control character */
		fwrite(m->data, 1, m->len, stdout);
		putchar('\n');
		fflush(stdout);
	}
	if (strcmp(t, "error") == 0) {
		ctl_safe(ctl_jstr(o, "error", "no reason"), why, sizeof(why));
		fprintf(stderr, "hubctl: the hub refused the live feed (%s): "
		    "%s\n", ctl_jstr(o, "code", "?"), why);
		r = CTL_EXIT_HUB;
	} else if (w->c->o.json) {
		r = 0;	/* printed above */
	} else if (strcmp(t, "snapshot") == 0) {
		on_snapshot(o);
	} else if (strcmp(t, "event") == 0) {
		on_event(mc_json_get(o, "event"), 1);
	} else if (strcmp(t, "command") == 0) {
		on_command(mc_json_get(o, "command"));
	}
	mc_json_free(d);
	return r;
}

/* ---- catching up from the store ---- */

/* A stored event as the feed would have sent it (--json). */
static void
event_json(const struct mc_json *e)
{
	static const char *const keys[] = { "type", "agent", "from", "to",
	    "detail", "cmd" };
	struct mc_buf b;
	struct mc_jw jw;
	double ts = 0;
	int64_t id = 0;
	size_t i;

	mc_buf_init(&b, 64 * 1024);
	mc_jw_init(&jw, &b);
	mc_jw_obj(&jw, NULL);
	mc_jw_str(&jw, "t", "event");
	mc_jw_obj(&jw, "event");
	mc_json_int(e, "id", 0, INT64_MAX, &id);
	mc_json_num(e, "ts", &ts);
	mc_jw_i64(&jw, "id", id);
	mc_jw_dbl(&jw, "ts", ts);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (mc_json_str(e, keys[i]) != NULL)
			mc_jw_str(&jw, keys[i], mc_json_str(e, keys[i]));
	mc_jw_obj_end(&jw);
	mc_jw_obj_end(&jw);
	if (mc_jw_done(&jw) == 0) {
		fwrite(b.data, 1, b.len, stdout);
		putchar('\n');
	}
	mc_buf_free(&b);
}

/*
 * Show the stored events from "query" on (after=ID or since=TIME), oldest
 * first, page by page; 0, or an exit status (c->lost: the hub is out of
 * reach).  At most WATCH_PAGES pages: what is older than that is history.
 */
static int
catch_up(struct watch *w, const char *query)
{
	const struct mc_json *l, *e;
	char path[128];
	struct ctl_resp r;
	int more = 1, page, ret = 0;

	snprintf(path, sizeof(path), "/api/events?limit=1000&%s", query);
	for (page = 0; ret == 0 && more && page < WATCH_PAGES; page++) {
		ctl_resp_init(&r);
		if ((ret = ctl_api(w->c, "GET", path, NULL, &r)) == 0) {
			l = mc_json_get(mc_json_root(r.doc), "events");
			for (e = l ? l->child : NULL; e != NULL; e = e->next) {
				if (!event_new(w, e))
					continue;
				if (w->c->o.json)
					event_json(e);
				else
					on_event(e, 0);
			}
			if (mc_json_bool(mc_json_root(r.doc), "more",
			    &more) == -1)
				more = 0;
		}
		ctl_resp_free(&r);
		snprintf(path, sizeof(path), "/api/events?limit=1000&after=%lld",
		    (long long)w->last_id);
	}
	fflush(stdout);
	return ret;
}

/* The newest stored event: where a watch that loses the hub resumes. */
static int
newest_id(struct watch *w)
{
	const struct mc_json *l;
	struct ctl_resp r;
	int ret;

	ctl_resp_init(&r);
	if ((ret = ctl_api(w->c, "GET", "/api/events?limit=1", NULL, &r)) ==
	    0 && (l = mc_json_get(mc_json_root(r.doc), "events")) != NULL &&
	    l->child != NULL)
		mc_json_int(l->child, "id", 0, INT64_MAX, &w->last_id);
	ctl_resp_free(&r);
	return ret;
}

/* ---- the feed ---- */

static void
feed_close(struct watch *w)
{
	ctl_ws_close(w->ws);
	w->ws = NULL;
}

/* 0, or an exit status (said why; c->lost: the hub may be restarting) */
static int
feed_open(struct watch *w)
{
	int r = ctl_ws_open(w->c, "/ws/ui", "the live feed", WATCH_MSG_MAX,
	    &w->ws);

	if (r == 0 && ctl_ws_auth(w->ws, NULL, 0, 0, NULL) == -1) {
		w->c->lost = 1;		/* a hub that is starting, or gone */
		r = CTL_EXIT_HUB;
	}
	return r;
}

/* The feed broke: connect again, then show what was missed.  The feed
 * is open before the store is read, so an event in between is in one of
 * the two, and the ids drop the one shown twice. */
static int
resume(struct watch *w)
{
	struct ctl_reattach ra;
	char what[96], query[48];
	int r;

	memset(&ra, 0, sizeof(ra));
	snprintf(what, sizeof(what), "resuming after event %lld",
	    (long long)w->last_id);
	w->c->lost = 1;
	while (ctl_hub_wait(w->c, &ra, what) == 0) {
		feed_close(w);
		snprintf(query, sizeof(query), "after=%lld",
		    (long long)w->last_id);
		if ((r = feed_open(w)) == 0 && (r = catch_up(w, query)) == 0) {
			ctl_hub_back(w->c, &ra);
			return 0;
		}
		if (!w->c->lost)
			return r;	/* refused, not gone */
	}
	return CTL_EXIT_HUB;
}

/* --since ID (an event id) or DURATION (e.g. 1h): the query to start. */
static int
since_query(const char *since, char *out, size_t outlen)
{
	double secs;
	int64_t id;

	if (mc_parse_i64(since, 0, INT64_MAX, &id) == 0)
		snprintf(out, outlen, "after=%lld", (long long)id);
	else if (mc_parse_duration(since, &secs) == 0 && secs > 0)
		snprintf(out, outlen, "since=%lld",
		    (long long)(mc_wall() - secs));
	else
		return ctl_usage("watch", "--since: '%s' is neither an event "
		    "id nor a duration (e.g. 1h, 7d)", since);
	return 0;
}

int
ctl_cmd_watch(struct ctl *c, int argc, char **argv)
{
	const char *since = NULL;
	const struct ctl_flag flags[] = { { "--since", 1, &since },
	    { NULL, 0, NULL } };
	char query[48];
	struct ctl_ws_msg m;
	struct ctl_args a;
	struct watch *w;
	int r;

	if ((r = ctl_begin(c, "watch", argc, argv, flags, &a, 0, 0)) != 0)
		return r;
	if (since != NULL && (r = since_query(since, query,
	    sizeof(query))) != 0)
		return r;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return CTL_EXIT_FAIL;
	w->c = c;
	r = feed_open(w);
	if (r == 0)
		r = since != NULL ? catch_up(w, query) : newest_id(w);
	while (r == 0) {
		if (read_message(w, &m) == -1)
			r = resume(w);
		else
			r = on_message(w, &m);
	}
	feed_close(w);
	free(w);
	return r;
}
