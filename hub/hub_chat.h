/*
 * hub_chat.h - what the chat files share: hub_chat_tg.c is the Telegram
 * bot's two threads (getUpdates long polling, and the sender of answers),
 * hub_chat.c the service thread's side (the hand-over both ways, who may
 * use the bot, the audit, the text of answers), hub_chat_cmd.c the
 * commands and the buttons for both front ends, hub_chat_run.c the /run
 * commands waiting for their result, hub_chat_send.c the thread that
 * sends a front end's answers; hub_chat_discord.c is Discord's
 * interactions endpoint.
 */
#ifndef HUB_CHAT_H
#define HUB_CHAT_H

#include <stdint.h>

#include "hub.h"

/* an update's text (a command) or callback data past this is skipped */
#define HUB_CHAT_TEXT_MAX	1024
/* the alert's text kept from a button's message, to edit it */
#define HUB_CHAT_ORIG_MAX	3800
/* a Telegram username is at most 32 characters */
#define HUB_CHAT_USER_MAX	48
/* "telegram:ID (@username)", "discord:ID (username)" */
#define HUB_CHAT_ACTOR_MAX	(MC_NAME_MAX + 1)
/* a Discord snowflake (up to 20 digits) as text */
#define HUB_CHAT_DC_ID_MAX	24
/* an interaction's token (about 200 characters today) */
#define HUB_CHAT_DC_TOKEN_MAX	512

/* Who a command came through: its answers are written for it. */
enum hub_chat_front { CHAT_TELEGRAM, CHAT_DISCORD };

enum hub_chat_kind { CHAT_MESSAGE, CHAT_CALLBACK };

/* One update as the poller read it; handed whole to the service thread. */
struct hub_chat_in {
	enum hub_chat_kind kind;
	int64_t		 update_id;
	int64_t		 user_id;	/* from.id */
	char		 username[HUB_CHAT_USER_MAX];	/* "" when none */
	int64_t		 chat_id;
	int		 chat_private;	/* a chat with the user alone */
	int64_t		 message_id;	/* the message, or the button's */
	char		 callback_id[96];	/* CHAT_CALLBACK */
	char		 text[HUB_CHAT_TEXT_MAX];	/* or callback data */
	char		*orig;		/* owned: the button's message text,
					 * or NULL */
	double		 got;		/* monotonic: read by the poller */
	struct hub_chat_in *next;
};

void	hub_chat_in_free(struct hub_chat_in *in);

/* ---- hub_chat_tg.c: the bot's threads ---- */

/* Start the poller and the sender for the bot at base (".../botTOKEN/",
 * secret): 0 or -1. */
int	hub_chat_tg_start(const char *base);
/* Stop both (the poll in flight is aborted) and free what waits. */
void	hub_chat_tg_stop(void);
/* Queue a Bot API call (method, a JSON body taken) for the sender; any
 * thread.  The body is freed when the queue is full (logged). */
void	hub_chat_tg_call(const char *method, char *body, size_t len);
/* Updates read and not handed over yet, oldest first (the caller owns
 * the list). */
struct hub_chat_in *hub_chat_tg_take(void);

/* ---- hub_chat.c (service thread) ---- */

/* Who sent it, as the audit and silences name them, and where an answer
 * that comes later goes. */
struct hub_chat_ctx {
	enum hub_chat_front front;
	const struct hub_chat_in *in;	/* Telegram's update; NULL for Discord */
	int		 role;			/* ROLE_VIEWER or ROLE_OPERATOR */
	char		 actor[HUB_CHAT_ACTOR_MAX];	/* telegram:ID (@u) */
	char		 who[HUB_CHAT_USER_MAX + 2];	/* @u, or the ID */
	/* Discord: the interaction's application and token, for the
	 * follow-up message (secret: it answers as the bot for 15 min) */
	char		 app_id[HUB_CHAT_DC_ID_MAX];
	char		 token[HUB_CHAT_DC_TOKEN_MAX];
};

/* An answer being written: Telegram HTML or Discord markdown, everything
 * put in escaped for it. */
struct hub_chat_text {
	struct mc_buf	 b;		/* owned */
	enum hub_chat_front front;
	int		 pre;		/* inside a code block */
};

void	hub_chat_text_init(struct hub_chat_text *t, enum hub_chat_front f);
/* The text (never NULL; "" when empty or out of memory). */
const char *hub_chat_text_str(const struct hub_chat_text *t);
/* s escaped; s in bold; a code block begun or ended. */
void	hub_chat_put(struct hub_chat_text *t, const char *s);
void	hub_chat_bold(struct hub_chat_text *t, const char *s);
void	hub_chat_pre(struct hub_chat_text *t, int on);
/* Words of the hub's own (numbers, status names: nothing to escape). */
void	hub_chat_printf(struct hub_chat_text *t, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Cut t to at most max bytes at a character boundary, closing a code
 * block left open. */
void	hub_chat_text_cut(struct hub_chat_text *t, size_t max);

/* Send text (HTML, escaped by the caller) to the chat of the update, as
 * an answer to its message. */
void	hub_chat_reply(const struct hub_chat_ctx *x, const char *html);
/* The same to chat_id, answering message_id (0: none). */
void	hub_chat_send(int64_t chat_id, int64_t message_id, const char *html);
/* A button press: answer its callback (a short notice for the presser),
 * and, when text is not NULL, edit its message to the alert's text and
 * this line (plain text) with the buttons removed. */
void	hub_chat_callback_done(const struct hub_chat_ctx *x, const char *notice,
	    const char *line);
/* An action done from the chat: an "audit" event and a log line, as an
 * API call with a token would make. */
void	hub_chat_audit(const struct hub_chat_ctx *x, const char *action,
	    const char *agent, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* Append s to b escaped for Telegram's HTML. */
void	hub_chat_esc(struct mc_buf *b, const char *s);
/* Someone not allowed tried (text says who and what): a "chat" event
 * from front, at most a few a minute for all fronts together. */
void	hub_chat_stranger(const char *front, const char *text);
/* hub_chat_discord.c: the endpoint on (discord_public_key) and its
 * sender thread started: 0, or -1; and stopped. */
int	hub_chat_dc_start(void);
void	hub_chat_dc_stop(void);
/* hub_chat_discord.c: Discord's settings together (as
 * hub_chat_conf_check()). */
int	hub_chat_dc_conf_check(const struct hub_conf *c, char *key,
	    size_t keylen, char *why, size_t whylen);
/* The role of user id in list (n entries), or 0: not allowed. */
int	hub_chat_role(const struct hub_chat_user *list, int n, int64_t id);

/* ---- hub_chat_cmd.c (service thread) ---- */

/* What a command or a press left to do. */
enum hub_chat_done {
	CHAT_ANSWERED,		/* the answer is in the text */
	CHAT_LATER,		/* /run: the answer follows when it ends */
	CHAT_IGNORED		/* not a command: no answer */
};

/* The command name (without the "/") with its arguments (cut in place)
 * from x: the answer written into out. */
enum hub_chat_done hub_chat_exec(const struct hub_chat_ctx *x,
	    const char *name, char *args, struct hub_chat_text *out);

/* What a button press did. */
enum hub_chat_press {
	PRESS_REFUSED,		/* nothing: notice says why */
	PRESS_DONE,		/* acknowledged or silenced: line says so */
	PRESS_SHOW		/* the agent's /show text is in out */
};

/* A press of the button with data ("a:ID", "s:ID", "v:ID") by x. */
enum hub_chat_press hub_chat_press(const struct hub_chat_ctx *x,
	    const char *data, char *notice, size_t nlen, char *line,
	    size_t llen, struct hub_chat_text *out);

/* ---- hub_chat.c: Telegram's side of them ---- */

/* An allowed user's message (a command) or button press. */
void	hub_chat_command(const struct hub_chat_ctx *x);
void	hub_chat_button(const struct hub_chat_ctx *x);

/* ---- hub_chat_run.c (service thread) ---- */

/* /run AGENT CMD...: submit it for x; CHAT_LATER (the answer follows when
 * it finishes, to where x came from), or CHAT_ANSWERED with why not in
 * out. */
enum hub_chat_done hub_chat_run(const struct hub_chat_ctx *x,
	    const char *agent, const char *cmd, struct hub_chat_text *out);
/* Forget the /run commands still waiting (the hub stops). */
void	hub_chat_run_free_all(void);

/* ---- hub_chat_send.c: a front end's sender thread ---- */

struct hub_chat_sender;

/* Start one (name for the log; a request waiting longer than max_age
 * seconds is given up): the sender (owned by the caller), or NULL. */
struct hub_chat_sender *hub_chat_sender_start(const char *name,
	    double max_age);
/* Stop it (the transfer in flight is aborted), drop what waits, free. */
void	hub_chat_sender_stop(struct hub_chat_sender *s);
/* Queue a request (method, url, a JSON body taken: freed on failure;
 * what names it in the log).  Any thread. */
void	hub_chat_sender_put(struct hub_chat_sender *s, const char *method,
	    const char *what, const char *url, char *body, size_t len);

/* ---- hub_chat_discord.c: Discord's later answers ---- */

/* The later answer of an interaction (app_id, token): its "thinking"
 * message becomes text (markdown, at most 2000 bytes). */
void	hub_chat_dc_followup(const char *app_id, const char *token,
	    const char *text);

#endif
