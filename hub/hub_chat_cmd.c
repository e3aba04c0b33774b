/*
 * hub_chat_cmd.c - what an allowed Telegram user can ask: the commands
 * (one table: name, role, handler, help) and the buttons on alerts.
 *
 * Every change goes through the objects the API uses: an acknowledgement
 * is hub_alert_ack(), a silence hub_silence_add() (so `hubctl silence
 * list` shows it, with the Telegram user as its author), a command
 * hub_cmd_submit() (hub_chat_run.c).  Each is audited (hub_chat_audit()).
 * Answers are Telegram HTML: everything that comes from agents or users
 * is escaped.  A button's callback_data is "a:ID" (acknowledge), "s:ID"
 * (silence 1 h) or "v:ID" (show), ID the agent's number: it asks for
 * nothing its presser could not type, and the presser's role is checked
 * on every press.  Service thread only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_chat.h"
#include "mc_log.h"
#include "mc_util.h"

#define LIST_MAX	30	/* agents named in one answer: it stays
				 * within Telegram's 4096 characters */
#define BUTTON_SILENCE	3600.0	/* seconds: "Silence 1 h" */

typedef void (*cmd_fn)(const struct hub_chat_ctx *x, char *args);

struct cmd {
	const char	*name;
	int		 role;
	cmd_fn		 fn;
	const char	*usage;
};

/* Answer html (a buffer, freed here). */
static void
reply_buf(const struct hub_chat_ctx *x, struct mc_buf *b)
{
	hub_chat_reply(x, b->data ? b->data : "");
	mc_buf_free(b);
}

/* A one-line answer, escaped here. */
static void
reply_text(const struct hub_chat_ctx *x, const char *text)
{
	struct mc_buf b;

	mc_buf_init(&b, 8192);
	hub_chat_esc(&b, text);
	reply_buf(x, &b);
}

/* The next word of *p (cut in place), or NULL. */
static char *
word(char **p)
{
	char *w = *p + strspn(*p, " \t\n");

	if (*w == '\0')
		return NULL;
	*p = w + strcspn(w, " \t\n");
	if (**p != '\0')
		*(*p)++ = '\0';
	return w;
}

/* The agent named, or NULL after saying so. */
static struct hub_agent *
agent_arg(const struct hub_chat_ctx *x, const char *name, const char *usage)
{
	struct hub_agent *a;
	char msg[MC_NAME_MAX + 96];

	if (name == NULL) {
		snprintf(msg, sizeof(msg), "Usage: %s", usage);
		reply_text(x, msg);
		return NULL;
	}
	if ((a = hub_agent_find(name)) == NULL) {
		snprintf(msg, sizeof(msg), "Unknown agent '%.64s' (/agents "
		    "lists them).", name);
		reply_text(x, msg);
	}
	return a;
}

/* ---- what an agent is now ---- */

/* "critical since 12:00:01 UTC, acknowledged by X" */
static void
status_words(struct mc_buf *b, const struct hub_agent *a)
{
	const char *ack = hub_alert_acked_by(a);
	const struct hub_silence *s = hub_silence_match(a);
	char since[48];

	hub_alert_time(a->since, since, sizeof(since));
	mc_buf_printf(b, "%s since %s", hub_status_name(a->status), since);
	if (ack != NULL) {
		mc_buf_puts(b, ", acknowledged by ");
		hub_chat_esc(b, ack);
	}
	if (s != NULL)
		mc_buf_printf(b, ", silenced (%s)", hub_silence_id(s));
}

static void
metrics_line(struct mc_buf *b, const struct hub_agent *a)
{
	if (!a->have_metrics) {
		mc_buf_puts(b, "no metrics yet");
		return;
	}
	if (!isnan(a->g.cpu))
		mc_buf_printf(b, "cpu %.0f%%, ", a->g.cpu);
	mc_buf_printf(b, "mem %.0f%%, disk %.0f%%", a->g.mem, a->g.disk);
}

/* The /show text of a, also the Show button's. */
static void
show_text(struct mc_buf *b, const struct hub_agent *a)
{
	char seen[48];
	int i;

	mc_buf_puts(b, "<b>");
	hub_chat_esc(b, a->name);
	mc_buf_puts(b, "</b>: ");
	status_words(b, a);
	hub_alert_time(a->last_seen, seen, sizeof(seen));
	mc_buf_printf(b, "\nlast seen: %s\n", a->last_seen > 0 ? seen :
	    "never");
	metrics_line(b, a);
	mc_buf_puts(b, "\nhost: ");
	hub_chat_esc(b, a->hostname);
	mc_buf_puts(b, ", ");
	hub_chat_esc(b, a->os);
	mc_buf_puts(b, ", listener ");
	hub_chat_esc(b, a->version);
	mc_buf_puts(b, "\ntags: ");
	for (i = 0; i < a->ntags; i++) {
		mc_buf_puts(b, i ? ", " : "");
		hub_chat_esc(b, a->tags[i]);
	}
	if (a->ntags == 0)
		mc_buf_puts(b, "none");
	if (hub_rules_firing(a) > 0)
		mc_buf_printf(b, "\nrules holding: %d", hub_rules_firing(a));
}

/* ---- viewer commands ---- */

static void
cmd_status(const struct hub_chat_ctx *x, char *args)
{
	size_t n[HUB_STATUS_COUNT] = { 0 }, total = 0, listed = 0;
	const struct hub_agent *a;
	struct mc_buf b;
	int i;

	(void)args;
	for (a = hub_agent_first(); a != NULL; a = a->next, total++)
		n[a->status]++;
	mc_buf_init(&b, 16384);
	mc_buf_printf(&b, "<b>%zu agent%s</b>:", total, total == 1 ? "" : "s");
	for (i = 0; i < HUB_STATUS_COUNT; i++)
		if (n[i] > 0)
			mc_buf_printf(&b, " %zu %s,", n[i],
			    hub_status_name((enum hub_status)i));
	if (total > 0)
		b.data[--b.len] = '\0';		/* the last comma */
	for (a = hub_agent_first(); a != NULL; a = a->next) {
		if (a->status == ST_ONLINE)
			continue;
		if (listed++ == LIST_MAX) {
			mc_buf_puts(&b, "\n... and more (/agents)");
			break;
		}
		mc_buf_puts(&b, listed == 1 ? "\n\nNot online:\n" : "\n");
		mc_buf_puts(&b, "- ");
		hub_chat_esc(&b, a->name);
		mc_buf_puts(&b, ": ");
		status_words(&b, a);
	}
	if (listed == 0 && total > 0)
		mc_buf_puts(&b, "\nAll online.");
	reply_buf(x, &b);
}

static void
cmd_agents(const struct hub_chat_ctx *x, char *args)
{
	const char *tag = word(&args);
	const struct hub_agent *a;
	struct mc_buf b;
	int n = 0;

	mc_buf_init(&b, 16384);
	mc_buf_puts(&b, "<pre>");
	for (a = hub_agent_first(); a != NULL; a = a->next) {
		if (tag != NULL && !hub_agent_has_tag(a, tag))
			continue;
		if (n++ == LIST_MAX) {
			mc_buf_puts(&b, "... and more");
			break;
		}
		hub_chat_esc(&b, a->name);
		mc_buf_printf(&b, "  %s  ", hub_status_name(a->status));
		metrics_line(&b, a);
		mc_buf_puts(&b, "\n");
	}
	if (n == 0)
		mc_buf_puts(&b, tag ? "no agent has this tag" : "no agents yet");
	mc_buf_puts(&b, "</pre>");
	reply_buf(x, &b);
}

static void
cmd_show(const struct hub_chat_ctx *x, char *args)
{
	struct hub_agent *a = agent_arg(x, word(&args), "/show AGENT");
	struct mc_buf b;

	if (a == NULL)
		return;
	mc_buf_init(&b, 16384);
	show_text(&b, a);
	reply_buf(x, &b);
}

static void cmd_help(const struct hub_chat_ctx *x, char *args);

/* ---- operator commands ---- */

/* Acknowledge a's incident for x: the answer's line in out; 0 or -1. */
static int
ack_do(const struct hub_chat_ctx *x, struct hub_agent *a, char *out,
    size_t outlen)
{
	int already;

	if (hub_alert_ack(a, x->actor, &already, out, outlen) == -1)
		return -1;
	hub_chat_audit(x, "ack", a->name, "incident of %s acknowledged",
	    a->name);
	snprintf(out, outlen, "Acknowledged by %s: %s's alert is not "
	    "repeated until the incident ends.", x->who, a->name);
	return 0;
}

static void
cmd_ack(const struct hub_chat_ctx *x, char *args)
{
	struct hub_agent *a = agent_arg(x, word(&args), "/ack AGENT");
	char line[MC_TEXT_MAX];

	if (a == NULL)
		return;
	ack_do(x, a, line, sizeof(line));
	reply_text(x, line);
}

/* Silence agent or tag for secs for x: the answer's line in out; the
 * silence, or NULL with the reason in out. */
static const struct hub_silence *
silence_do(const struct hub_chat_ctx *x, const char *agent, const char *tag,
    double secs, const char *reason, char *out, size_t outlen)
{
	const struct hub_silence *s;
	char dur[32], until[48];

	s = hub_silence_add(agent, tag, secs, reason, x->actor, out, outlen);
	if (s == NULL)
		return NULL;
	hub_alert_dur(secs, dur, sizeof(dur));
	hub_alert_time(mc_wall() + secs, until, sizeof(until));
	hub_chat_audit(x, "silence", agent ? agent : "", "silence %s on "
	    "%s%s for %s", hub_silence_id(s), agent ? "" : "tag:",
	    agent ? agent : tag, dur);
	hub_backup_note(HUB_BACKUP_SILENCES, x->actor, "silence %s on %s%s "
	    "for %s%s%.200s", hub_silence_id(s), agent ? "" : "tag:",
	    agent ? agent : tag, dur, reason[0] ? ": " : "", reason);
	snprintf(out, outlen, "Silenced %s%s for %s (until %s) by %s; id %s.",
	    agent ? "" : "tag ", agent ? agent : tag, dur, until, x->who,
	    hub_silence_id(s));
	return s;
}

static void
cmd_silence(const struct hub_chat_ctx *x, char *args)
{
	const char *target = word(&args), *d = word(&args), *tag = NULL;
	const char *agent = NULL, *reason = mc_trim(args);
	char line[MC_TEXT_MAX];
	double secs;

	if (target != NULL && strncmp(target, "tag:", 4) == 0) {
		tag = target + 4;
		if (strlen(tag) > MC_TAG_MAX || !mc_tag_valid(tag)) {
			reply_text(x, "Not a tag name.");
			return;
		}
	} else if (target != NULL) {
		if (agent_arg(x, target, "/silence AGENT DURATION") == NULL)
			return;
		agent = target;
	}
	if (target == NULL || d == NULL || mc_parse_duration(d, &secs) == -1 ||
	    secs <= 0 || secs > MC_SILENCE_MAX_SECS) {
		reply_text(x, "Usage: /silence AGENT|tag:TAG DURATION [reason], "
		    "DURATION from 1s to 30d (e.g. 30m, 2h)");
		return;
	}
	if (strlen(reason) >= MC_TEXT_MAX) {
		reply_text(x, "The reason is too long.");
		return;
	}
	silence_do(x, agent, tag, secs, reason, line, sizeof(line));
	reply_text(x, line);
}

static void
cmd_unsilence(const struct hub_chat_ctx *x, char *args)
{
	const char *id = word(&args);
	char line[128];

	if (id == NULL) {
		reply_text(x, "Usage: /unsilence ID (the id /silence gave; "
		    "hubctl silence list)");
		return;
	}
	if (strlen(id) > 32 || hub_silence_clear(id, x->actor) == -1) {
		reply_text(x, "No running silence with this id.");
		return;
	}
	hub_chat_audit(x, "unsilence", "", "silence %s cleared", id);
	hub_backup_note(HUB_BACKUP_SILENCES, x->actor, "silence %s cleared",
	    id);
	snprintf(line, sizeof(line), "Silence %s cleared by %s.", id, x->who);
	reply_text(x, line);
}

static void
cmd_run(const struct hub_chat_ctx *x, char *args)
{
	const char *name = word(&args);
	const char *cmd = mc_trim(args);

	if (!hub.conf.chat_allow_run) {
		reply_text(x, "/run is off on this hub (chat_allow_run = no in "
		    "its config).");
		return;
	}
	if (name == NULL || cmd[0] == '\0') {
		reply_text(x, "Usage: /run AGENT CMD...");
		return;
	}
	if (agent_arg(x, name, "/run AGENT CMD...") != NULL)
		hub_chat_run(x, name, cmd);
}

static const struct cmd cmds[] = {
	{ "status", ROLE_VIEWER, cmd_status,
	  "/status - counts by status and the agents not online" },
	{ "agents", ROLE_VIEWER, cmd_agents,
	  "/agents [TAG] - every agent (with the tag): status and metrics" },
	{ "show", ROLE_VIEWER, cmd_show, "/show AGENT - one agent" },
	{ "ack", ROLE_OPERATOR, cmd_ack,
	  "/ack AGENT - acknowledge its open incident (no repeats)" },
	{ "silence", ROLE_OPERATOR, cmd_silence,
	  "/silence AGENT|tag:TAG DURATION [reason] - mute alerts" },
	{ "unsilence", ROLE_OPERATOR, cmd_unsilence,
	  "/unsilence ID - end a silence" },
	{ "run", ROLE_OPERATOR, cmd_run,
	  "/run AGENT CMD... - a shell command (chat_allow_run = yes)" },
	{ "help", ROLE_VIEWER, cmd_help, "/help - this list" },
	{ "start", ROLE_VIEWER, cmd_help, NULL },
};

#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static void
cmd_help(const struct hub_chat_ctx *x, char *args)
{
	struct mc_buf b;
	size_t i;

	(void)args;
	mc_buf_init(&b, 8192);
	mc_buf_printf(&b, "Maestro hub; you are %s.\n",
	    hub_role_name((enum hub_role_level)x->role));
	for (i = 0; i < NCMDS; i++)
		if (cmds[i].usage != NULL && cmds[i].role <= x->role)
			mc_buf_printf(&b, "\n%s", cmds[i].usage);
	reply_buf(x, &b);
}

void
hub_chat_command(const struct hub_chat_ctx *x)
{
	char text[HUB_CHAT_TEXT_MAX], *p = text, *name;
	size_t i;

	mc_strlcpy(text, x->in->text, sizeof(text));
	if (text[0] != '/')
		return;		/* talk in the group, not for the bot */
	name = word(&p) + 1;
	name[strcspn(name, "@")] = '\0';	/* /status@SomeBot */
	for (i = 0; i < NCMDS; i++) {
		if (strcmp(cmds[i].name, name) != 0)
			continue;
		if (cmds[i].role > x->role) {
			reply_text(x, "This needs the operator role.");
			return;
		}
		cmds[i].fn(x, p);
		return;
	}
	reply_text(x, "Unknown command; /help lists them.");
}

/* ---- buttons ---- */

static struct hub_agent *
agent_by_id(int64_t id)
{
	struct hub_agent *a;

	for (a = hub_agent_first(); a != NULL; a = a->next)
		if (a->id == id)
			return a;
	return NULL;
}

static void
press_show(const struct hub_chat_ctx *x, const struct hub_agent *a)
{
	struct mc_buf b;

	mc_buf_init(&b, 16384);
	show_text(&b, a);
	hub_chat_reply(x, b.data ? b.data : "");
	mc_buf_free(&b);
	hub_chat_callback_done(x, "", NULL);
}

void
hub_chat_button(const struct hub_chat_ctx *x)
{
	const char *d = x->in->text;
	char line[MC_TEXT_MAX];
	struct hub_agent *a;
	int64_t id;

	if (strlen(d) < 3 || d[1] != ':' || strchr("asv", d[0]) == NULL ||
	    mc_parse_i64(d + 2, 0, INT64_MAX, &id) == -1 ||
	    (a = agent_by_id(id)) == NULL) {
		hub_chat_callback_done(x, "This button is for an agent this "
		    "hub no longer knows.", NULL);
		return;
	}
	if (d[0] == 'v') {
		press_show(x, a);
		return;
	}
	if (x->role < ROLE_OPERATOR) {
		hub_chat_callback_done(x, "This needs the operator role.",
		    NULL);
		return;
	}
	if (d[0] == 'a' && ack_do(x, a, line, sizeof(line)) == 0)
		hub_chat_callback_done(x, "Acknowledged", line);
	else if (d[0] == 's' && silence_do(x, a->name, NULL, BUTTON_SILENCE,
	    "", line, sizeof(line)) != NULL)
		hub_chat_callback_done(x, "Silenced for 1h", line);
	else
		hub_chat_callback_done(x, line, NULL);
}

static void
button(struct mc_jw *w, const char *text, char action, int64_t id)
{
	char data[32];

	snprintf(data, sizeof(data), "%c:%lld", action, (long long)id);
	mc_jw_obj(w, NULL);
	mc_jw_str(w, "text", text);
	mc_jw_str(w, "callback_data", data);
	mc_jw_obj_end(w);
}

void
hub_chat_buttons_write(struct mc_jw *w, const struct hub_msg *m)
{
	const struct hub_agent *a;

	if (!hub_chat_buttons() || m->test || m->agent[0] == '\0' ||
	    (m->sev != SEV_CRITICAL && strcmp(m->event, "rule") != 0) ||
	    (a = hub_agent_find(m->agent)) == NULL)
		return;
	mc_jw_obj(w, "reply_markup");
	mc_jw_arr(w, "inline_keyboard");
	mc_jw_arr(w, NULL);
	button(w, "Acknowledge", 'a', a->id);
	button(w, "Silence 1 h", 's', a->id);
	button(w, "Show", 'v', a->id);
	mc_jw_arr_end(w);
	mc_jw_arr_end(w);
	mc_jw_obj_end(w);
}
