/*
 * hub_chat.c - answering alerts from chat: the service thread's side.
 *
 * With telegram_commands = yes the bot's threads (hub_chat_tg.c) read
 * updates by long polling and hand them here whole; this file decides
 * who may use the bot and hands each allowed update to hub_chat_cmd.c,
 * and turns answers into Bot API calls for the sender thread.  Discord's
 * interactions come in through hub_chat_discord.c and share the rest:
 * the allow lists, the stranger events, the audit and the answers' text
 * (struct hub_chat_text: Telegram HTML or Discord markdown).  Rules:
 *  - only users listed in telegram_allow (USER_ID:ROLE) are answered, and
 *    only in the alert chat (telegram_chat_id) or a private chat with the
 *    bot; a button press is checked against the presser, not the chat.
 *    Anyone else gets no answer at all (not even the button's spinner
 *    stopped), and the attempt is a "chat" event, at most STRANGER_BURST
 *    of them per STRANGER_WINDOW (the others counted into the next one),
 *    so a stranger cannot flood the event log;
 *  - every action is audited as an API call is: an "audit" event naming
 *    the actor "telegram:USER_ID (@username)" (or "discord:ID (name)");
 *  - the allow lists and chat_allow_run change on SIGHUP, at once;
 *    polling itself starts and stops with the hub.
 * Service thread only, except where a function says otherwise.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_chat.h"
#include "mc_log.h"
#include "mc_util.h"

#define STRANGER_WINDOW	60.0	/* seconds */
#define STRANGER_BURST	5	/* events per window */
#define TG_TEXT_MAX	4000	/* a message's text, under Telegram's 4096 */

static struct {
	int		 on;		/* the threads run */
	double		 window;	/* monotonic start of the window */
	int		 events;	/* stranger events in it */
	uint64_t	 quiet;		/* attempts not recorded since */
} ch;

/* ---- the settings ---- */

/* One ID:ROLE of key (telegram_allow or discord_allow, whose list is l
 * with *n entries). */
static int
allow_one(const char *key, struct hub_chat_user *l, int *n, const char *item,
    char *err, size_t errlen)
{
	int dc = strcmp(key, "discord_allow") == 0;
	char id[32];
	const char *colon = strchr(item, ':');
	enum hub_role_level role;
	int64_t uid;

	if (colon == NULL || (size_t)(colon - item) >= sizeof(id)) {
		snprintf(err, errlen, "%s: '%.60s' is not USER_ID:ROLE (e.g. "
		    "123456789:operator)", key, item);
		return -1;
	}
	memcpy(id, item, (size_t)(colon - item));
	id[colon - item] = '\0';
	/* Telegram's ids fit a JSON number exactly, Discord's snowflakes
	 * (sent as strings) an int64 */
	if (mc_parse_i64(id, 1, dc ? INT64_MAX : ((int64_t)1 << 53) - 1,
	    &uid) == -1) {
		snprintf(err, errlen, "%s: '%s' is not a %s user id (a number; "
		    "%s)", key, id, dc ? "Discord" : "Telegram", dc ?
		    "Copy User ID in Discord's developer mode" :
		    "ask @userinfobot");
		return -1;
	}
	if (hub_role_parse(colon + 1, &role) == -1 || role == ROLE_ADMIN) {
		snprintf(err, errlen, "%s: role '%.20s' is not viewer or "
		    "operator", key, colon + 1);
		return -1;
	}
	if (*n >= HUB_CHAT_ALLOW_MAX) {
		snprintf(err, errlen, "%s: more than %d users", key,
		    HUB_CHAT_ALLOW_MAX);
		return -1;
	}
	l[*n].id = uid;
	l[*n].role = role;
	++*n;
	return 0;
}

int
hub_chat_allow_add(struct hub_conf *c, const char *key, const char *val,
    char *err, size_t errlen)
{
	int dc = strcmp(key, "discord_allow") == 0;
	struct hub_chat_user *l = dc ? c->dc_allow : c->chat_allow;
	int *nl = dc ? &c->dc_nallow : &c->chat_nallow;
	char item[96];
	const char *p = val;
	size_t n;

	while (*p != '\0') {
		n = strcspn(p, ",");
		if (n >= sizeof(item)) {
			snprintf(err, errlen, "%s: an entry is longer than %zu "
			    "bytes", key, sizeof(item) - 1);
			return -1;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (mc_trim(item)[0] != '\0' && allow_one(key, l, nl,
		    mc_trim(item), err, errlen) == -1)
			return -1;
		p += n + (p[n] == ',');
	}
	return 0;
}

int
hub_chat_conf_check(const struct hub_conf *c, char *key, size_t keylen,
    char *why, size_t whylen)
{
	if (c->telegram_commands && c->telegram_bot_token[0] == '\0') {
		mc_strlcpy(key, "telegram_commands", keylen);
		snprintf(why, whylen, "needs telegram_bot_token and "
		    "telegram_chat_id: the bot polls for commands with that "
		    "token (docs/alerts.md)");
		return -1;
	}
	if (c->telegram_commands && c->chat_nallow == 0) {
		mc_strlcpy(key, "telegram_commands", keylen);
		snprintf(why, whylen, "needs telegram_allow = USER_ID:ROLE: "
		    "nobody else may use the bot");
		return -1;
	}
	return hub_chat_dc_conf_check(c, key, keylen, why, whylen);
}

int
hub_chat_buttons(void)
{
	return ch.on;
}

/* ---- start and stop ---- */

int
hub_chat_start(void)
{
	const struct hub_conf *c = &hub.conf;
	char base[2048];
	size_t n;

	if (hub_chat_dc_start() == -1)
		return -1;
	if (!c->telegram_commands)
		return 0;
	n = strlen(c->telegram_api);
	while (n > 0 && c->telegram_api[n - 1] == '/')
		n--;
	if ((size_t)snprintf(base, sizeof(base), "%.*s/bot%s/", (int)n,
	    c->telegram_api, c->telegram_bot_token) >= sizeof(base) ||
	    hub_chat_tg_start(base) == -1) {
		explicit_bzero(base, sizeof(base));
		mc_err("chat: cannot start the Telegram bot's threads");
		hub_chat_tg_stop();
		return -1;
	}
	explicit_bzero(base, sizeof(base));
	ch.on = 1;
	mc_info("chat: Telegram commands on (%d user%s allowed, /run %s)",
	    c->chat_nallow, c->chat_nallow > 1 ? "s" : "",
	    c->chat_allow_run ? "allowed" : "off");
	return 0;
}

void
hub_chat_stop(void)
{
	hub_chat_dc_stop();
	hub_chat_run_free_all();
	if (!ch.on)
		return;
	hub_chat_tg_stop();
	ch.on = 0;
}

void
hub_chat_esc(struct mc_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '&')
			mc_buf_puts(b, "&amp;");
		else if (*s == '<')
			mc_buf_puts(b, "&lt;");
		else if (*s == '>')
			mc_buf_puts(b, "&gt;");
		else
			mc_buf_append(b, s, 1);
	}
}

/* ---- the text of answers: Telegram HTML or Discord markdown ---- */

#define TEXT_MAX	(16 * 1024)	/* an answer being written */

void
hub_chat_text_init(struct hub_chat_text *t, enum hub_chat_front f)
{
	mc_buf_init(&t->b, TEXT_MAX);
	t->front = f;
	t->pre = 0;
}

const char *
hub_chat_text_str(const struct hub_chat_text *t)
{
	return t->b.data != NULL ? t->b.data : "";
}

/* Discord markdown: every character that can start formatting, a link, a
 * mention or a heading is shown literally; in a code block nothing is
 * markup but the fence, so a backtick there becomes a look-alike. */
static void
esc_md(struct mc_buf *b, const char *s, int pre)
{
	for (; *s != '\0'; s++) {
		if (pre && *s == '`')
			mc_buf_puts(b, "\xcb\x8b");	/* U+02CB */
		else if (!pre && strchr("\\*_~`|>#[]()<@", *s) != NULL) {
			mc_buf_append(b, "\\", 1);
			mc_buf_append(b, s, 1);
		} else
			mc_buf_append(b, s, 1);
	}
}

void
hub_chat_put(struct hub_chat_text *t, const char *s)
{
	if (t->front == CHAT_DISCORD)
		esc_md(&t->b, s, t->pre);
	else
		hub_chat_esc(&t->b, s);
}

void
hub_chat_bold(struct hub_chat_text *t, const char *s)
{
	mc_buf_puts(&t->b, t->front == CHAT_DISCORD ? "**" : "<b>");
	hub_chat_put(t, s);
	mc_buf_puts(&t->b, t->front == CHAT_DISCORD ? "**" : "</b>");
}

void
hub_chat_pre(struct hub_chat_text *t, int on)
{
	if (t->front == CHAT_DISCORD)
		mc_buf_puts(&t->b, on ? "```\n" : "```");
	else
		mc_buf_puts(&t->b, on ? "<pre>" : "</pre>");
	t->pre = on;
}

void
hub_chat_printf(struct hub_chat_text *t, const char *fmt, ...)
{
	char line[MC_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	mc_buf_puts(&t->b, line);
}

void
hub_chat_text_cut(struct hub_chat_text *t, size_t max)
{
	size_t n, fences = 0;
	const char *p;

	if (t->b.data == NULL || t->b.len <= max || max < 16)
		return;
	n = max - 16;	/* room for the mark and a closing fence */
	while (n > 0 && ((unsigned char)t->b.data[n] & 0xc0) == 0x80)
		n--;
	t->b.data[n] = '\0';
	t->b.len = n;
	for (p = t->b.data; (p = strstr(p, "```")) != NULL; p += 3)
		fences++;
	mc_buf_puts(&t->b, "\n...");
	if (t->front == CHAT_DISCORD && fences % 2 == 1)
		mc_buf_puts(&t->b, "\n```");
}

/* ---- answers: Bot API calls for the sender ---- */

/* The body w holds (begun by the caller) to the sender as method. */
static void
call_end(const char *method, struct mc_buf *b, struct mc_jw *w)
{
	char *body;
	size_t len;

	mc_jw_obj_end(w);
	if (mc_jw_done(w) == -1 || b->data == NULL) {
		mc_warn("chat: %s not sent: its body is too large", method);
		mc_buf_free(b);
		return;
	}
	body = mc_buf_take(b, &len);	/* owned by the sender from here */
	hub_chat_tg_call(method, body, len);
}

void
hub_chat_send(int64_t chat_id, int64_t message_id, const char *html)
{
	struct mc_buf b;
	struct mc_jw w;

	mc_buf_init(&b, 64 * 1024);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_i64(&w, "chat_id", chat_id);
	mc_jw_strn(&w, "text", html, strnlen(html, TG_TEXT_MAX));
	mc_jw_str(&w, "parse_mode", "HTML");
	mc_jw_bool(&w, "disable_web_page_preview", 1);
	if (message_id > 0) {
		mc_jw_obj(&w, "reply_parameters");
		mc_jw_i64(&w, "message_id", message_id);
		mc_jw_bool(&w, "allow_sending_without_reply", 1);
		mc_jw_obj_end(&w);
	}
	call_end("sendMessage", &b, &w);
}

void
hub_chat_reply(const struct hub_chat_ctx *x, const char *html)
{
	hub_chat_send(x->in->chat_id, x->in->message_id, html);
}

/* The button's message: its alert text and line, without the buttons. */
static void
edit_message(const struct hub_chat_in *in, const char *line)
{
	struct mc_buf b, t;
	struct mc_jw w;

	mc_buf_init(&t, TG_TEXT_MAX + 512);
	mc_buf_printf(&t, "%s\n\n%s", in->orig ? in->orig : "", line);
	mc_buf_init(&b, 64 * 1024);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_i64(&w, "chat_id", in->chat_id);
	mc_jw_i64(&w, "message_id", in->message_id);
	mc_jw_str(&w, "text", t.data ? t.data : line);
	call_end("editMessageText", &b, &w);
	mc_buf_free(&t);
}

void
hub_chat_callback_done(const struct hub_chat_ctx *x, const char *notice,
    const char *line)
{
	struct mc_buf b;
	struct mc_jw w;

	mc_buf_init(&b, 4096);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "callback_query_id", x->in->callback_id);
	mc_jw_strn(&w, "text", notice, strnlen(notice, 190));
	call_end("answerCallbackQuery", &b, &w);
	if (line != NULL)
		edit_message(x->in, line);
}

void
hub_chat_audit(const struct hub_chat_ctx *x, const char *action,
    const char *agent, const char *fmt, ...)
{
	char what[MC_TEXT_MAX / 2], text[MC_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(text, sizeof(text), "%s by %s", what, x->actor);
	mc_info("audit: %s", text);
	hub_event("audit", agent, x->front == CHAT_DISCORD ? "discord" :
	    "telegram", action, text);
}

/* ---- who may use the bot ---- */

int
hub_chat_role(const struct hub_chat_user *list, int n, int64_t id)
{
	int i;

	for (i = 0; i < n; i++)
		if (list[i].id == id)
			return list[i].role;
	return 0;
}

/* A message in the alert chat, or in a private chat with the bot. */
static int
chat_ok(const struct hub_chat_in *in)
{
	char id[32];

	snprintf(id, sizeof(id), "%lld", (long long)in->chat_id);
	return in->chat_private || strcmp(id, hub.conf.telegram_chat_id) == 0;
}

void
hub_chat_stranger(const char *front, const char *text)
{
	char all[MC_TEXT_MAX + 64];
	double now = mc_now();

	if (now - ch.window >= STRANGER_WINDOW) {
		ch.window = now;
		ch.events = 0;
	}
	if (ch.events >= STRANGER_BURST) {
		ch.quiet++;
		return;
	}
	ch.events++;
	snprintf(all, sizeof(all), "%s%s", text, ch.quiet ? " (and earlier "
	    "attempts not recorded: too many)" : "");
	ch.quiet = 0;
	mc_warn("chat: %s", all);
	hub_event("chat", "", front, "refused", all);
}

/* No answer; an event, unless strangers made STRANGER_BURST already in
 * this window. */
static void
stranger(const struct hub_chat_in *in, const char *why)
{
	char text[MC_TEXT_MAX];

	snprintf(text, sizeof(text), "Telegram user %lld%s%s (chat %lld) %s; "
	    "not answered", (long long)in->user_id, in->username[0] ? " @" :
	    "", in->username, (long long)in->chat_id, why);
	hub_chat_stranger("telegram", text);
}

/* ---- Telegram's commands and buttons ---- */

void
hub_chat_command(const struct hub_chat_ctx *x)
{
	char text[HUB_CHAT_TEXT_MAX], *p = text, *name;
	struct hub_chat_text out;

	mc_strlcpy(text, x->in->text, sizeof(text));
	if (text[0] != '/')
		return;		/* talk in the group, not for the bot */
	name = ++p;
	p += strcspn(p, " \t\n");
	if (*p != '\0')
		*p++ = '\0';
	name[strcspn(name, "@")] = '\0';	/* /status@SomeBot */
	hub_chat_text_init(&out, CHAT_TELEGRAM);
	if (hub_chat_exec(x, name, p, &out) == CHAT_ANSWERED)
		hub_chat_reply(x, hub_chat_text_str(&out));
	mc_buf_free(&out.b);
}

void
hub_chat_button(const struct hub_chat_ctx *x)
{
	char notice[MC_TEXT_MAX], line[MC_TEXT_MAX];
	struct hub_chat_text out;

	hub_chat_text_init(&out, CHAT_TELEGRAM);
	switch (hub_chat_press(x, x->in->text, notice, sizeof(notice), line,
	    sizeof(line), &out)) {
	case PRESS_SHOW:
		hub_chat_reply(x, hub_chat_text_str(&out));
		hub_chat_callback_done(x, "", NULL);
		break;
	case PRESS_DONE:
		hub_chat_callback_done(x, notice, line);
		break;
	case PRESS_REFUSED:
		hub_chat_callback_done(x, notice, NULL);
		break;
	}
	mc_buf_free(&out.b);
}

static void
handle(const struct hub_chat_in *in)
{
	struct hub_chat_ctx x;

	memset(&x, 0, sizeof(x));
	x.in = in;
	x.front = CHAT_TELEGRAM;
	if ((x.role = hub_chat_role(hub.conf.chat_allow, hub.conf.chat_nallow,
	    in->user_id)) == 0) {
		stranger(in, in->kind == CHAT_CALLBACK ? "pressed a button" :
		    "sent a command");
		return;
	}
	if (in->kind == CHAT_MESSAGE && !chat_ok(in)) {
		stranger(in, "wrote in a chat that is neither the alert chat "
		    "nor a private one");
		return;
	}
	snprintf(x.actor, sizeof(x.actor), "telegram:%lld%s%s%s",
	    (long long)in->user_id, in->username[0] ? " (@" : "",
	    in->username, in->username[0] ? ")" : "");
	if (in->username[0] != '\0')
		snprintf(x.who, sizeof(x.who), "@%s", in->username);
	else
		snprintf(x.who, sizeof(x.who), "%lld", (long long)in->user_id);
	if (in->kind == CHAT_CALLBACK)
		hub_chat_button(&x);
	else
		hub_chat_command(&x);
}

void
hub_chat_drain(void)
{
	struct hub_chat_in *in, *next;

	if (!ch.on)
		return;
	for (in = hub_chat_tg_take(); in != NULL; in = next) {
		next = in->next;
		mc_debug("chat: update %lld handed over after %.3f s",
		    (long long)in->update_id, mc_now() - in->got);
		handle(in);
		hub_chat_in_free(in);
	}
}
