/*
 * hub_chat_discord.c - answering alerts from Discord: the interactions
 * endpoint, POST /api/discord/interactions, and the bot's settings.
 *
 * Discord sends every slash command and button press to the hub's public
 * HTTPS URL and signs it: X-Signature-Ed25519 is the Ed25519 signature,
 * with the application's key (discord_public_key), of the
 * X-Signature-Timestamp header's value followed by the raw body.  The
 * endpoint carries no token; a request that is not signed so gets 401, as
 * does one whose timestamp is more than SKEW_MAX seconds off the hub's
 * clock, or one whose signature was seen already (a replay: the last
 * SEEN_MAX signatures are kept, which covers the skew window at any rate
 * Discord sends).  Then:
 *  - PING (type 1) is answered {"type":1} (Discord checks the URL so);
 *  - APPLICATION_COMMAND (type 2): the same commands as Telegram's
 *    (hub_chat_exec()), the options joined into its argument text in
 *    OPTION_ORDER; answered at once (type 4), or, for /run, "thinking"
 *    (type 5) and the outcome later as a follow-up (hub_chat_run.c);
 *  - MESSAGE_COMPONENT (type 3): a button on an alert sent through the
 *    bot (custom_id "a:ID", "s:ID", "v:ID"), hub_chat_press(); an action
 *    done edits the message (type 7: its text says who did what, the
 *    buttons go); Show answers with the agent's text.
 * Who may: the user of the interaction (member.user in a server, user in
 * a DM) listed in discord_allow (USER_ID:ROLE).  Anyone else gets an
 * answer only they see (an ephemeral "not allowed": Discord shows an
 * error after 3 s without one) and nothing is done; the attempt is a
 * "chat" event, rate-limited with Telegram's (hub_chat_stranger()).
 * Everything is answered from memory on the service thread; what goes to
 * Discord later (/run's outcome, as the edit of the "thinking" answer:
 * PATCH /webhooks/APP_ID/TOKEN/messages/@original under discord_api)
 * leaves from a sender thread of its own (hub_chat_send.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_chat.h"
#include "mc_log.h"
#include "mc_sign.h"
#include "mc_util.h"

#define SKEW_MAX	300	/* seconds a timestamp may be off */
#define SEEN_MAX	1024	/* signatures remembered against replays */
#define DC_TEXT_MAX	1990	/* bytes of a message: Discord takes 2000
				 * characters */
#define DC_EPHEMERAL	64	/* message flag: only the user sees it */
#define TOKEN_LIFE	(15 * 60.0)	/* seconds an interaction answers */

enum { IT_PING = 1, IT_COMMAND = 2, IT_COMPONENT = 3 };
enum { RT_PONG = 1, RT_MESSAGE = 4, RT_DEFERRED = 5, RT_UPDATE = 7 };

/* the option names of the registered commands (docs/alerts.md), in the
 * order their values make the command's argument text */
static const char *const option_order[] = { "agent", "target", "tag",
	"duration", "id", "command", "reason" };

static struct {
	int		 on;		/* discord_public_key is set */
	struct hub_chat_sender *out;	/* owned: the follow-ups' sender */
	unsigned char	 pub[MC_KEY_RAW];
	unsigned char	 seen[SEEN_MAX][16];	/* signatures' heads */
	int		 nseen, next;
} dc;

/* ---- settings ---- */

/* 2n hex digits into n bytes: 0, or -1. */
static int
unhex(const char *s, unsigned char *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[2 * i]) ||
		    !isxdigit((unsigned char)s[2 * i + 1]))
			return -1;
		hi = isdigit((unsigned char)s[2 * i]) ? s[2 * i] - '0' :
		    tolower((unsigned char)s[2 * i]) - 'a' + 10;
		lo = isdigit((unsigned char)s[2 * i + 1]) ? s[2 * i + 1] -
		    '0' : tolower((unsigned char)s[2 * i + 1]) - 'a' + 10;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int
hub_chat_dc_conf_check(const struct hub_conf *c, char *key, size_t keylen,
    char *why, size_t whylen)
{
	unsigned char pub[MC_KEY_RAW];
	int bot = c->discord_bot_token[0] != '\0';

	if (c->discord_public_key[0] != '\0' &&
	    unhex(c->discord_public_key, pub, sizeof(pub)) == -1) {
		mc_strlcpy(key, "discord_public_key", keylen);
		snprintf(why, whylen, "is not 64 hex digits (the application's "
		    "Public Key, on its General Information page)");
		return -1;
	}
	if (c->discord_public_key[0] != '\0' && c->dc_nallow == 0) {
		mc_strlcpy(key, "discord_public_key", keylen);
		snprintf(why, whylen, "needs discord_allow = USER_ID:ROLE: "
		    "nobody else may use the commands");
		return -1;
	}
	if (bot != (c->discord_channel_id[0] != '\0')) {
		mc_strlcpy(key, bot ? "discord_bot_token" :
		    "discord_channel_id", keylen);
		snprintf(why, whylen, "needs %s too: alerts through the bot "
		    "take both", bot ? "discord_channel_id" :
		    "discord_bot_token");
		return -1;
	}
	if (bot && c->discord_public_key[0] == '\0') {
		mc_strlcpy(key, "discord_bot_token", keylen);
		snprintf(why, whylen, "needs discord_public_key: the buttons "
		    "on the bot's alerts answer through the interactions "
		    "endpoint (docs/alerts.md)");
		return -1;
	}
	if (strspn(c->discord_channel_id, "0123456789") !=
	    strlen(c->discord_channel_id)) {
		mc_strlcpy(key, "discord_channel_id", keylen);
		snprintf(why, whylen, "is not a channel id (a number)");
		return -1;
	}
	return 0;
}

int
hub_chat_dc_bot(char *url, size_t ulen, char *auth, size_t alen)
{
	const struct hub_conf *c = &hub.conf;
	size_t n = strlen(c->discord_api);

	if (c->discord_public_key[0] == '\0' ||
	    c->discord_bot_token[0] == '\0' || c->discord_channel_id[0] == '\0')
		return 0;
	while (n > 0 && c->discord_api[n - 1] == '/')
		n--;
	if (url != NULL)
		snprintf(url, ulen, "%.*s/channels/%s/messages", (int)n,
		    c->discord_api, c->discord_channel_id);
	if (auth != NULL)
		snprintf(auth, alen, "Authorization: Bot %s",
		    c->discord_bot_token);
	return 1;
}

int
hub_chat_dc_start(void)
{
	const struct hub_conf *c = &hub.conf;

	if (c->discord_public_key[0] == '\0')
		return 0;
	if (unhex(c->discord_public_key, dc.pub, sizeof(dc.pub)) == -1 ||
	    (dc.out = hub_chat_sender_start("discord", TOKEN_LIFE)) == NULL) {
		mc_err("chat: cannot start Discord's sender thread");
		return -1;
	}
	dc.on = 1;
	mc_info("chat: Discord interactions on at /api/discord/interactions "
	    "(%d user%s allowed, /run %s; alerts %s)", c->dc_nallow,
	    c->dc_nallow > 1 ? "s" : "", c->chat_allow_run ? "allowed" : "off",
	    hub_chat_dc_bot(NULL, 0, NULL, 0) ? "through the bot, with "
	    "buttons" : c->discord_webhook_url[0] ? "through the webhook" :
	    "not sent to Discord");
	if (hub_chat_dc_bot(NULL, 0, NULL, 0) && c->discord_webhook_url[0])
		mc_warn("chat: discord_webhook_url is not used: alerts go "
		    "through the bot (discord_bot_token)");
	return 0;
}

void
hub_chat_dc_stop(void)
{
	if (!dc.on)
		return;
	hub_chat_sender_stop(dc.out);
	dc.out = NULL;
	dc.on = 0;
}

/* ---- later answers ---- */

void
hub_chat_dc_followup(const char *app_id, const char *token,
    const char *text)
{
	const char *api = hub.conf.discord_api;
	char url[sizeof(hub.conf.discord_api) + HUB_CHAT_DC_ID_MAX +
	    HUB_CHAT_DC_TOKEN_MAX + 64];
	size_t n = strlen(api), len;
	struct mc_buf b;
	struct mc_jw w;
	char *body;

	if (!dc.on)
		return;
	while (n > 0 && api[n - 1] == '/')
		n--;
	snprintf(url, sizeof(url), "%.*s/webhooks/%s/%s/messages/@original",
	    (int)n, api, app_id, token);
	mc_buf_init(&b, 16 * 1024);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "content", text);
	mc_jw_obj(&w, "allowed_mentions");
	mc_jw_arr(&w, "parse");
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == -1 || b.data == NULL) {
		mc_warn("chat: a Discord follow-up was not sent: too large");
		mc_buf_free(&b);
	} else {
		body = mc_buf_take(&b, &len);	/* owned by the sender */
		hub_chat_sender_put(dc.out, "PATCH", "follow-up", url, body,
		    len);
	}
	explicit_bzero(url, sizeof(url));
}

/* ---- the signature ---- */

/* Seen already (a replay): 1; else remembered: 0. */
static int
replayed(const unsigned char *sig)
{
	int i;

	for (i = 0; i < dc.nseen; i++)
		if (memcmp(dc.seen[i], sig, sizeof(dc.seen[0])) == 0)
			return 1;
	memcpy(dc.seen[dc.next], sig, sizeof(dc.seen[0]));
	dc.next = (dc.next + 1) % SEEN_MAX;
	if (dc.nseen < SEEN_MAX)
		dc.nseen++;
	return 0;
}

/* Signed by Discord, now, once: 0, or -1 after answering 401. */
static int
verify(struct hub_req *r)
{
	const struct hub_http *h = r->http;
	unsigned char sig[MC_SIG_RAW];
	const char *why = NULL;
	int64_t ts;

	if (h->dc_sig[0] == '\0' || h->dc_ts[0] == '\0')
		why = "missing X-Signature-Ed25519 or X-Signature-Timestamp";
	else if (unhex(h->dc_sig, sig, sizeof(sig)) == -1)
		why = "X-Signature-Ed25519 is not 128 hex digits";
	else if (mc_parse_i64(h->dc_ts, 0, INT64_MAX, &ts) == -1)
		why = "X-Signature-Timestamp is not a number";
	else if (ts < (int64_t)mc_wall() - SKEW_MAX ||
	    ts > (int64_t)mc_wall() + SKEW_MAX)
		why = "the timestamp is more than 5 minutes off the hub's clock";
	else if (mc_ed25519_verify(dc.pub, h->dc_ts, h->body.data ?
	    h->body.data : "", h->body.len, sig) == -1)
		why = "the signature does not match (discord_public_key)";
	else if (replayed(sig))
		why = "this request was received already (a replay)";
	if (why == NULL)
		return 0;
	mc_info("%s: Discord interaction refused: %s", h->client, why);
	hub_http_error(r, 401, "bad_signature", "%s", why);
	return -1;
}

/* ---- answers ---- */

/* {"type":type} with data{content, flags} when content is not NULL. */
static void
answer(struct hub_req *r, int type, const char *content, int flags,
    int strip)
{
	struct mc_buf b;
	struct mc_jw w;

	mc_buf_init(&b, 16 * 1024);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_i64(&w, "type", type);
	if (content != NULL) {
		mc_jw_obj(&w, "data");
		mc_jw_str(&w, "content", content);
		if (flags)
			mc_jw_i64(&w, "flags", flags);
		if (strip) {		/* the buttons go */
			mc_jw_arr(&w, "components");
			mc_jw_arr_end(&w);
		}
		mc_jw_obj(&w, "allowed_mentions");
		mc_jw_arr(&w, "parse");
		mc_jw_arr_end(&w);
		mc_jw_obj_end(&w);
		mc_jw_obj_end(&w);
	}
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == -1 || b.data == NULL) {
		mc_buf_free(&b);
		hub_http_error(r, 500, "internal", "the answer is too large");
		return;
	}
	hub_http_reply(r, 200, &b);
	mc_buf_free(&b);
}

/* A text answer (type 4), cut to Discord's length. */
static void
answer_text(struct hub_req *r, struct hub_chat_text *t, int flags)
{
	hub_chat_text_cut(t, DC_TEXT_MAX);
	answer(r, RT_MESSAGE, hub_chat_text_str(t), flags, 0);
}

/* ---- who ---- */

/* The interaction's user: the context filled, 0; or -1 without one. */
static int
who(const struct mc_json *root, struct hub_chat_ctx *x, int64_t *uid)
{
	const struct mc_json *u = mc_json_get(mc_json_get(root, "member"),
	    "user");
	const char *id, *name, *app, *tok;

	if (u == NULL)
		u = mc_json_get(root, "user");
	id = mc_json_str(u, "id");
	name = mc_json_str(u, "username");
	app = mc_json_str(root, "application_id");
	tok = mc_json_str(root, "token");
	if (id == NULL || mc_parse_i64(id, 1, INT64_MAX, uid) == -1 ||
	    app == NULL || strlen(app) >= sizeof(x->app_id) ||
	    strspn(app, "0123456789") != strlen(app) || tok == NULL ||
	    strlen(tok) >= sizeof(x->token) || strspn(tok, "ABCDEFGHIJKLMNOP"
	    "QRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") !=
	    strlen(tok))
		return -1;
	/* Discord's usernames: [a-z0-9_.], 2 to 32 */
	if (name == NULL || strlen(name) > 32 || strspn(name, "ABCDEFGHIJKLM"
	    "NOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.") !=
	    strlen(name))
		name = "";
	x->front = CHAT_DISCORD;
	mc_strlcpy(x->app_id, app, sizeof(x->app_id));
	mc_strlcpy(x->token, tok, sizeof(x->token));
	snprintf(x->actor, sizeof(x->actor), "discord:%lld%s%s%s",
	    (long long)*uid, name[0] ? " (" : "", name, name[0] ? ")" : "");
	if (name[0] != '\0')
		mc_strlcpy(x->who, name, sizeof(x->who));
	else
		snprintf(x->who, sizeof(x->who), "%lld", (long long)*uid);
	return 0;
}

/* ---- commands and buttons ---- */

/* data.options' values, in option_order, as one line: 0, or -1 when
 * they do not fit (a command cut short must not run). */
static int
options_text(const struct mc_json *opts, char *out, size_t outlen)
{
	const struct mc_json *o, *v;
	const char *name;
	size_t i, off = 0;
	char num[32];

	out[0] = '\0';
	for (i = 0; i < sizeof(option_order) / sizeof(option_order[0]); i++)
		for (o = opts ? opts->child : NULL; o != NULL; o = o->next) {
			name = mc_json_str(o, "name");
			v = mc_json_get(o, "value");
			if (name == NULL || strcmp(name, option_order[i]) != 0 ||
			    v == NULL || off >= outlen)
				continue;
			if (v->type == MC_JNUM)
				snprintf(num, sizeof(num), "%g", v->num);
			if (v->type == MC_JSTR || v->type == MC_JNUM)
				off += (size_t)snprintf(out + off, outlen - off,
				    "%s%s", off ? " " : "", v->type == MC_JSTR ?
				    v->str : num);
		}
	return off < outlen ? 0 : -1;
}

static void
command(struct hub_req *r, const struct hub_chat_ctx *x,
    const struct mc_json *data)
{
	const char *name = mc_json_str(data, "name");
	char args[HUB_CHAT_TEXT_MAX];
	struct hub_chat_text out;

	if (name == NULL || strlen(name) > 32) {
		hub_http_error(r, 400, "bad_request", "an application command "
		    "without data.name");
		return;
	}
	hub_chat_text_init(&out, CHAT_DISCORD);
	if (options_text(mc_json_get(data, "options"), args,
	    sizeof(args)) == -1) {
		hub_chat_put(&out, "The command is too long.");
		answer_text(r, &out, DC_EPHEMERAL);
	} else if (hub_chat_exec(x, name, args, &out) == CHAT_LATER)
		answer(r, RT_DEFERRED, NULL, 0, 0);
	else
		answer_text(r, &out, 0);
	mc_buf_free(&out.b);
}

static void
press(struct hub_req *r, const struct hub_chat_ctx *x,
    const struct mc_json *data)
{
	const char *id = mc_json_str(data, "custom_id");
	char notice[MC_TEXT_MAX], line[MC_TEXT_MAX];
	struct hub_chat_text out;

	if (id == NULL || strlen(id) > 64) {
		hub_http_error(r, 400, "bad_request", "a component interaction "
		    "without data.custom_id");
		return;
	}
	hub_chat_text_init(&out, CHAT_DISCORD);
	switch (hub_chat_press(x, id, notice, sizeof(notice), line,
	    sizeof(line), &out)) {
	case PRESS_SHOW:
		answer_text(r, &out, 0);
		break;
	case PRESS_DONE:
		mc_buf_reset(&out.b);
		hub_chat_put(&out, line);
		hub_chat_text_cut(&out, DC_TEXT_MAX);
		answer(r, RT_UPDATE, hub_chat_text_str(&out), 0, 1);
		break;
	case PRESS_REFUSED:
		hub_chat_put(&out, notice);
		answer_text(r, &out, DC_EPHEMERAL);
		break;
	}
	mc_buf_free(&out.b);
}

/* Not in discord_allow: an answer only they see, and an event. */
static void
stranger(struct hub_req *r, const struct hub_chat_ctx *x, int64_t uid,
    int type)
{
	char text[MC_TEXT_MAX];

	snprintf(text, sizeof(text), "Discord user %lld%s%s %s; refused",
	    (long long)uid, strcmp(x->who, "") ? " " : "", x->who,
	    type == IT_COMPONENT ? "pressed a button" : "sent a command");
	hub_chat_stranger("discord", text);
	answer(r, RT_MESSAGE, "You are not allowed to use this hub "
	    "(discord_allow).", DC_EPHEMERAL, 0);
}

void
hub_chat_discord_interaction(struct hub_req *r)
{
	const struct mc_json *root;
	struct hub_chat_ctx x;
	struct mc_jdoc *d;
	char err[128];
	int64_t type, uid;

	if (!dc.on) {
		hub_http_error(r, 404, "not_found", "Discord interactions are "
		    "off on this hub (discord_public_key is not set)");
		return;
	}
	if (verify(r) == -1)
		return;
	if ((d = mc_json_parse(r->http->body.data, r->http->body.len, err,
	    sizeof(err))) == NULL) {
		hub_http_error(r, 400, "bad_json", "the body is not JSON: %s",
		    err);
		return;
	}
	root = mc_json_root(d);
	memset(&x, 0, sizeof(x));
	if (mc_json_int(root, "type", 1, 100, &type) == -1)
		hub_http_error(r, 400, "bad_request", "no interaction type");
	else if (type == IT_PING)
		answer(r, RT_PONG, NULL, 0, 0);
	else if (type != IT_COMMAND && type != IT_COMPONENT)
		hub_http_error(r, 400, "bad_request", "interaction type %lld "
		    "is not one the hub answers", (long long)type);
	else if (who(root, &x, &uid) == -1)
		hub_http_error(r, 400, "bad_request", "an interaction without "
		    "its user, application_id or token");
	else if ((x.role = hub_chat_role(hub.conf.dc_allow,
	    hub.conf.dc_nallow, uid)) == 0)
		stranger(r, &x, uid, (int)type);
	else if (type == IT_COMMAND)
		command(r, &x, mc_json_get(root, "data"));
	else
		press(r, &x, mc_json_get(root, "data"));
	explicit_bzero(x.token, sizeof(x.token));
	mc_json_free(d);
}
