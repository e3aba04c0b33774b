/*
 * hub_chat.h - what the chat files share: hub_chat_tg.c is the bot's two
 * threads (getUpdates long polling, and the sender of answers),
 * hub_chat.c the service thread's side (the hand-over both ways, who may
 * use the bot, the audit), hub_chat_cmd.c the commands and the buttons,
 * hub_chat_run.c the /run commands waiting for their result.
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
/* "telegram:ID (@username)" */
#define HUB_CHAT_ACTOR_MAX	(MC_NAME_MAX + 1)

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

/* Who sent it, as the audit and silences name them. */
struct hub_chat_ctx {
	const struct hub_chat_in *in;
	int		 role;			/* ROLE_VIEWER or ROLE_OPERATOR */
	char		 actor[HUB_CHAT_ACTOR_MAX];	/* telegram:ID (@u) */
	char		 who[HUB_CHAT_USER_MAX + 2];	/* @u, or the ID */
};

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

/* ---- hub_chat_cmd.c (service thread) ---- */

/* An allowed user's message (a command) or button press. */
void	hub_chat_command(const struct hub_chat_ctx *x);
void	hub_chat_button(const struct hub_chat_ctx *x);

/* ---- hub_chat_run.c (service thread) ---- */

/* /run AGENT CMD...: submit it for x and answer when it finishes. */
void	hub_chat_run(const struct hub_chat_ctx *x, const char *agent,
	    const char *cmd);
/* Forget the /run commands still waiting (the hub stops). */
void	hub_chat_run_free_all(void);

#endif
