/*
 * hub_chat_cmd.c - what an allowed chat user can ask, from Telegram or
 * Discord alike: the commands (one table: name, role, handler, help) and
 * the buttons on alerts.  Each front end parses its own input into a
 * command name and its arguments (hub_chat_exec()) or a button's data
 * (hub_chat_press()) and gets the answer back as text written for it
 * (struct hub_chat_text), which it sends its own way.
 *
 * Every change goes through the objects the API uses: an acknowledgement
 * is hub_alert_ack(), a silence hub_silence_add() (so `hubctl silence
 * list` shows it, with the chat user as its author), a command
 * hub_cmd_submit() (hub_chat_run.c).  Each is audited (hub_chat_audit()).
 * Everything that comes from agents or users is escaped for the front
 * end's markup.  A button's data (Telegram's callback_data, Discord's
 * custom_id) is "a:ID" (acknowledge), "s:ID" (silence 1 h) or "v:ID"
 * (show), ID the agent's number: it asks for nothing its presser could
 * not type, and the presser's role is checked on every press.  Service
 * thread only.
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

typedef enum hub_chat_done (*cmd_fn)(const struct hub_chat_ctx *x,
    char *args, struct hub_chat_text *out);

struct cmd {
	const char	*name;
	int		 role;
	cmd_fn		 fn;
	const char	*usage;
};

/* A one-line answer, escaped here. */
static enum hub_chat_done
reply_text(struct hub_chat_text *out, const char *text)
{
	hub_chat_put(out, text);
	return CHAT_ANSWERED;
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

/* The agent named, or NULL after saying so in out. */
static struct hub_agent *
agent_arg(struct hub_chat_text *out, const char *name, const char *usage)
{
	struct hub_agent *a;
	char msg[MC_NAME_MAX + 96];

	if (name == NULL) {
		snprintf(msg, sizeof(msg), "Usage: %s", usage);
		reply_text(out, msg);
		return NULL;
	}
	if ((a = hub_agent_find(name)) == NULL) {
		snprintf(msg, sizeof(msg), "Unknown agent '%.64s' (/agents "
		    "lists them).", name);
		reply_text(out, msg);
	}
	return a;
}

/* ---- what an agent is now ---- */

/* "critical since 12:00:01 UTC, acknowledged by X" */
static void
status_words(struct hub_chat_text *b, const struct hub_agent *a)
{
	const char *ack = hub_alert_acked_by(a);
	const struct hub_silence *s = hub_silence_match(a);
	char since[48];

	hub_alert_time(a->since, since, sizeof(since));
	hub_chat_printf(b, "%s since %s", hub_status_name(a->status), since);
	if (ack != NULL) {
		hub_chat_printf(b, ", acknowledged by ");
		hub_chat_put(b, ack);
	}
	if (s != NULL)
		hub_chat_printf(b, ", silenced (%s)", hub_silence_id(s));
}

static void
metrics_line(struct hub_chat_text *b, const struct hub_agent *a)
{
	if (!a->have_metrics) {
		hub_chat_printf(b, "no metrics yet");
		return;
	}
	if (!isnan(a->g.cpu))
		hub_chat_printf(b, "cpu %.0f%%, ", a->g.cpu);
	hub_chat_printf(b, "mem %.0f%%, disk %.0f%%", a->g.mem, a->g.disk);
}

/* The /show text of a, also the Show button's. */
static void
show_text(struct hub_chat_text *b, const struct hub_agent *a)
{
	char seen[48];
	int i;

	hub_chat_bold(b, a->name);
	hub_chat_printf(b, ": ");
	status_words(b, a);
	hub_alert_time(a->last_seen, seen, sizeof(seen));
	hub_chat_printf(b, "\nlast seen: %s\n", a->last_seen > 0 ? seen :
	    "never");
	metrics_line(b, a);
	hub_chat_printf(b, "\nhost: ");
	hub_chat_put(b, a->hostname);
	hub_chat_printf(b, ", ");
	hub_chat_put(b, a->os);
	hub_chat_printf(b, ", listener ");
	hub_chat_put(b, a->version);
	hub_chat_printf(b, "\ntags: ");
	for (i = 0; i < a->ntags; i++) {
		hub_chat_printf(b, i ? ", " : "");
		hub_chat_put(b, a->tags[i]);
	}
	if (a->ntags == 0)
		hub_chat_printf(b, "none");
	if (hub_rules_firing(a) > 0)
		hub_chat_printf(b, "\nrules holding: %d", hub_rules_firing(a));
}

/* ---- viewer commands ---- */

static enum hub_chat_done
cmd_status(const struct hub_chat_ctx *x, char *args, struct hub_chat_text *b)
{
	size_t n[HUB_STATUS_COUNT] = { 0 }, total = 0, listed = 0;
	const struct hub_agent *a;
	char counts[512];
	size_t off = 0;
	int i;

	(void)x;
	(void)args;
	for (a = hub_agent_first(); a != NULL; a = a->next, total++)
		n[a->status]++;
	snprintf(counts, sizeof(counts), "%zu agent%s", total, total == 1 ?
	    "" : "s");
	hub_chat_bold(b, counts);
	hub_chat_printf(b, ":");
	counts[0] = '\0';
	for (i = 0; i < HUB_STATUS_COUNT; i++)
		if (n[i] > 0 && off < sizeof(counts))
			off += (size_t)snprintf(counts + off, sizeof(counts) -
			    off, "%s %zu %s", off ? "," : "", n[i],
			    hub_status_name((enum hub_status)i));
	hub_chat_printf(b, "%s", counts);
	for (a = hub_agent_first(); a != NULL; a = a->next) {
		if (a->status == ST_ONLINE)
			continue;
		if (listed++ == LIST_MAX) {
			hub_chat_printf(b, "\n... and more (/agents)");
			break;
		}
		hub_chat_printf(b, listed == 1 ? "\n\nNot online:\n" : "\n");
		hub_chat_printf(b, "- ");
		hub_chat_put(b, a->name);
		hub_chat_printf(b, ": ");
		status_words(b, a);
	}
	if (listed == 0 && total > 0)
		hub_chat_printf(b, "\nAll online.");
	return CHAT_ANSWERED;
}

static enum hub_chat_done
cmd_agents(const struct hub_chat_ctx *x, char *args, struct hub_chat_text *b)
{
	const char *tag = word(&args);
	const struct hub_agent *a;
	int n = 0;

	(void)x;
	hub_chat_pre(b, 1);
	for (a = hub_agent_first(); a != NULL; a = a->next) {
		if (tag != NULL && !hub_agent_has_tag(a, tag))
			continue;
		if (n++ == LIST_MAX) {
			hub_chat_printf(b, "... and more");
			break;
		}
		hub_chat_put(b, a->name);
		hub_chat_printf(b, "  %s  ", hub_status_name(a->status));
		metrics_line(b, a);
		hub_chat_printf(b, "\n");
	}
	if (n == 0)
		hub_chat_put(b, tag ? "no agent has this tag" : "no agents yet");
	hub_chat_pre(b, 0);
	return CHAT_ANSWERED;
}

static enum hub_chat_done
cmd_show(const struct hub_chat_ctx *x, char *args, struct hub_chat_text *b)
{
	struct hub_agent *a = agent_arg(b, word(&args), "/show AGENT");

	(void)x;
	if (a != NULL)
		show_text(b, a);
	return CHAT_ANSWERED;
}

static enum hub_chat_done cmd_help(const struct hub_chat_ctx *x, char *args,
    struct hub_chat_text *b);

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

static enum hub_chat_done
cmd_ack(const struct hub_chat_ctx *x, char *args, struct hub_chat_text *b)
{
	struct hub_agent *a = agent_arg(b, word(&args), "/ack AGENT");
	char line[MC_TEXT_MAX];

	if (a == NULL)
		return CHAT_ANSWERED;
	ack_do(x, a, line, sizeof(line));
	return reply_text(b, line);
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

static enum hub_chat_done
cmd_silence(const struct hub_chat_ctx *x, char *args, struct hub_chat_text *b)
{
	const char *target = word(&args), *d = word(&args), *tag = NULL;
	const char *agent = NULL, *reason = mc_trim(args);
	char line[MC_TEXT_MAX];
	double secs;

	if (target != NULL && strncmp(target, "tag:", 4) == 0) {
		tag = target + 4;
		if (strlen(tag) > MC_TAG_MAX || !mc_tag_valid(tag))
			return reply_text(b, "Not a tag name.");
	} else if (target != NULL) {
		if (agent_arg(b, target, "/silence AGENT DURATION") == NULL)
			return CHAT_ANSWERED;
		agent = target;
	}
	if (target == NULL || d == NULL || mc_parse_duration(d, &secs) == -1 ||
	    secs <= 0 || secs > MC_SILENCE_MAX_SECS)
		return reply_text(b, "Usage: /silence AGENT|tag:TAG DURATION "
		    "[reason], DURATION from 1s to 30d (e.g. 30m, 2h)");
	if (strlen(reason) >= MC_TEXT_MAX)
		return reply_text(b, "The reason is too long.");
	silence_do(x, agent, tag, secs, reason, line, sizeof(line));
	return reply_text(b, line);
}

static enum hub_chat_done
cmd_unsilence(const struct hub_chat_ctx *x, char *args,
    struct hub_chat_text *b)
{
	const char *id = word(&args);
	char line[128];

	if (id == NULL)
		return reply_text(b, "Usage: /unsilence ID (the id /silence "
		    "gave; hubctl silence list)");
	if (strlen(id) > 32 || hub_silence_clear(id, x->actor) == -1)
		return reply_text(b, "No running silence with this id.");
	hub_chat_audit(x, "unsilence", "", "silence %s cleared", id);
	hub_backup_note(HUB_BACKUP_SILENCES, x->actor, "silence %s cleared",
	    id);
	snprintf(line, sizeof(line), "Silence %s cleared by %s.", id, x->who);
	return reply_text(b, line);
}

static enum hub_chat_done
cmd_run(const struct hub_chat_ctx *x, char *args, struct hub_chat_text *b)
{
	const char *name = word(&args);
	const char *cmd = mc_trim(args);

	if (!hub.conf.chat_allow_run)
		return reply_text(b, "/run is off on this hub (chat_allow_run = "
		    "no in its config).");
	if (name == NULL || cmd[0] == '\0')
		return reply_text(b, "Usage: /run AGENT CMD...");
	if (agent_arg(b, name, "/run AGENT CMD...") == NULL)
		return CHAT_ANSWERED;
	return hub_chat_run(x, name, cmd, b);
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

static enum hub_chat_done
cmd_help(const struct hub_chat_ctx *x, char *args, struct hub_chat_text *b)
{
	size_t i;

	(void)args;
	hub_chat_printf(b, "Maestro hub; you are %s.\n",
	    hub_role_name((enum hub_role_level)x->role));
	for (i = 0; i < NCMDS; i++)
		if (cmds[i].usage != NULL && cmds[i].role <= x->role) {
			hub_chat_printf(b, "\n");
			hub_chat_put(b, cmds[i].usage);
		}
	return CHAT_ANSWERED;
}

enum hub_chat_done
hub_chat_exec(const struct hub_chat_ctx *x, const char *name, char *args,
    struct hub_chat_text *out)
{
	size_t i;

	for (i = 0; i < NCMDS; i++) {
		if (strcmp(cmds[i].name, name) != 0)
			continue;
		if (cmds[i].role > x->role)
			return reply_text(out, "This needs the operator role.");
		return cmds[i].fn(x, args, out);
	}
	return reply_text(out, "Unknown command; /help lists them.");
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

enum hub_chat_press
hub_chat_press(const struct hub_chat_ctx *x, const char *d, char *notice,
    size_t nlen, char *line, size_t llen, struct hub_chat_text *out)
{
	struct hub_agent *a;
	int64_t id;

	if (strlen(d) < 3 || d[1] != ':' || strchr("asv", d[0]) == NULL ||
	    mc_parse_i64(d + 2, 0, INT64_MAX, &id) == -1 ||
	    (a = agent_by_id(id)) == NULL) {
		snprintf(notice, nlen, "This button is for an agent this hub "
		    "no longer knows.");
		return PRESS_REFUSED;
	}
	if (d[0] == 'v') {
		show_text(out, a);
		return PRESS_SHOW;
	}
	if (x->role < ROLE_OPERATOR) {
		snprintf(notice, nlen, "This needs the operator role.");
		return PRESS_REFUSED;
	}
	if (d[0] == 'a' && ack_do(x, a, line, llen) == 0) {
		snprintf(notice, nlen, "Acknowledged");
		return PRESS_DONE;
	}
	if (d[0] == 's' && silence_do(x, a->name, NULL, BUTTON_SILENCE, "",
	    line, llen) != NULL) {
		snprintf(notice, nlen, "Silenced for 1h");
		return PRESS_DONE;
	}
	snprintf(notice, nlen, "%s", line);
	return PRESS_REFUSED;
}

/* Whether m gets buttons: a critical or rule alert about one agent, which
 * is a; NULL otherwise. */
static const struct hub_agent *
button_agent(const struct hub_msg *m)
{
	if (m->test || m->agent[0] == '\0' || (m->sev != SEV_CRITICAL &&
	    strcmp(m->event, "rule") != 0))
		return NULL;
	return hub_agent_find(m->agent);
}

static void
button(struct mc_jw *w, const char *text, char action, int64_t id, int dc)
{
	char data[32];

	snprintf(data, sizeof(data), "%c:%lld", action, (long long)id);
	mc_jw_obj(w, NULL);
	if (dc) {
		mc_jw_i64(w, "type", 2);	/* a button */
		mc_jw_i64(w, "style", action == 'v' ? 2 : 1);
		mc_jw_str(w, "label", text);
		mc_jw_str(w, "custom_id", data);
	} else {
		mc_jw_str(w, "text", text);
		mc_jw_str(w, "callback_data", data);
	}
	mc_jw_obj_end(w);
}

static void
buttons(struct mc_jw *w, int64_t id, int dc)
{
	button(w, "Acknowledge", 'a', id, dc);
	button(w, "Silence 1 h", 's', id, dc);
	button(w, "Show", 'v', id, dc);
}

void
hub_chat_buttons_write(struct mc_jw *w, const struct hub_msg *m)
{
	const struct hub_agent *a;

	if (!hub_chat_buttons() || (a = button_agent(m)) == NULL)
		return;
	mc_jw_obj(w, "reply_markup");
	mc_jw_arr(w, "inline_keyboard");
	mc_jw_arr(w, NULL);
	buttons(w, a->id, 0);
	mc_jw_arr_end(w);
	mc_jw_arr_end(w);
	mc_jw_obj_end(w);
}

void
hub_chat_dc_buttons_write(struct mc_jw *w, const struct hub_msg *m)
{
	const struct hub_agent *a;

	if (!hub_chat_dc_bot(NULL, 0, NULL, 0) || (a = button_agent(m)) ==
	    NULL)
		return;
	mc_jw_arr(w, "components");
	mc_jw_obj(w, NULL);
	mc_jw_i64(w, "type", 1);	/* an action row */
	mc_jw_arr(w, "components");
	buttons(w, a->id, 1);
	mc_jw_arr_end(w);
	mc_jw_obj_end(w);
	mc_jw_arr_end(w);
}
