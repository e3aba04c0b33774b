/*
 * hub_chat_run.c - /run AGENT CMD... from Telegram or Discord: the command
 * goes through hub_cmd_submit() as the API's does (the same queue, limits,
 * history and events, "by" the chat user), and its outcome and the tail
 * of its output come back to where it was asked when it finishes
 * (hub_chat_on_cmd(), from hub_cmd.c): Telegram's chat, as an answer to
 * the /run message, or Discord's interaction, whose "thinking" answer
 * becomes the outcome (a follow-up through its webhook, hub_chat_dc_*).
 *
 * At most RUN_WAITING commands wait for their answer; past that /run is
 * refused until one finishes.  A waiting entry holds the command's id,
 * not a pointer: the command may be freed without this file being told.
 * Service thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_chat.h"
#include "mc_log.h"
#include "mc_util.h"

#define RUN_WAITING	32
#define RUN_TIMEOUT	60.0	/* seconds, the API's default */
#define RUN_CAP		(64 * 1024)	/* output kept by the hub */
#define RUN_SHOWN	3000	/* output bytes shown in Telegram */
#define RUN_SHOWN_DC	1500	/* ... in Discord, whose messages are
				 * 2000 characters at most */
#define DC_TEXT_MAX	1990	/* bytes of a Discord message */

struct run {
	char		 id[MC_ID_MAX];		/* the command's */
	enum hub_chat_front front;
	int64_t		 chat_id;		/* Telegram */
	int64_t		 message_id;		/* the /run message */
	char		 app_id[HUB_CHAT_DC_ID_MAX];	/* Discord */
	char		 token[HUB_CHAT_DC_TOKEN_MAX];	/* secret */
	struct run	*next;
};

static struct {
	struct run	*head;		/* owned */
	int		 n;
} rn;

static void
run_free(struct run *r)
{
	explicit_bzero(r->token, sizeof(r->token));
	free(r);
}

enum hub_chat_done
hub_chat_run(const struct hub_chat_ctx *x, const char *agent,
    const char *cmd, struct hub_chat_text *out)
{
	struct hub_agent *a = hub_agent_find(agent);
	struct hub_cmd_req q;
	struct hub_cmd *c;
	struct run *r;
	char why[256];
	int status;

	/* owned by rn once the command is submitted */
	if (rn.n >= RUN_WAITING || (r = calloc(1, sizeof(*r))) == NULL) {
		hub_chat_printf(out, "%d commands from the chat are running "
		    "already; wait for one to finish.", RUN_WAITING);
		return CHAT_ANSWERED;
	}
	memset(&q, 0, sizeof(q));
	q.kind = MC_KIND_SHELL;
	q.cmd = cmd;
	q.timeout = RUN_TIMEOUT;
	q.cap = RUN_CAP;
	q.by = x->actor;
	if (a == NULL || (c = hub_cmd_submit(a, &q, &status, why,
	    sizeof(why))) == NULL) {
		hub_chat_put(out, a == NULL ? "unknown agent" : why);
		free(r);
		return CHAT_ANSWERED;
	}
	hub_chat_audit(x, "command", agent, "command %s on %s: %.200s", c->id,
	    agent, cmd);
	mc_strlcpy(r->id, c->id, sizeof(r->id));
	r->front = x->front;
	if (x->front == CHAT_TELEGRAM) {
		r->chat_id = x->in->chat_id;
		r->message_id = x->in->message_id;
	} else {
		mc_strlcpy(r->app_id, x->app_id, sizeof(r->app_id));
		mc_strlcpy(r->token, x->token, sizeof(r->token));
	}
	r->next = rn.head;
	rn.head = r;
	rn.n++;
	return CHAT_LATER;
}

/* The tail of the output (its last shown bytes), escaped, cut at a
 * character boundary. */
static void
output_tail(struct hub_chat_text *b, const struct hub_cmd *c, size_t shown)
{
	const char *p = c->out.data;
	size_t len = c->out.len, off = len > shown ? len - shown : 0;
	char *copy;

	while (off < len && ((unsigned char)p[off] & 0xc0) == 0x80)
		off++;
	/* a NUL-terminated copy, owned here */
	if (len == 0 || (copy = malloc(len - off + 1)) == NULL)
		return;
	memcpy(copy, p + off, len - off);
	copy[len - off] = '\0';
	hub_chat_printf(b, "\n");
	hub_chat_pre(b, 1);
	hub_chat_printf(b, "%s", off > 0 ? "...\n" : "");
	hub_chat_put(b, copy);
	hub_chat_pre(b, 0);
	free(copy);
}

void
hub_chat_on_cmd(const struct hub_cmd *c)
{
	struct run **pp, *r;
	struct hub_chat_text b;

	for (pp = &rn.head; (r = *pp) != NULL; pp = &r->next)
		if (strcmp(r->id, c->id) == 0)
			break;
	if (r == NULL)
		return;
	*pp = r->next;
	rn.n--;
	hub_chat_text_init(&b, r->front);
	hub_chat_put(&b, c->agent);
	if (c->status == CMD_DONE)
		hub_chat_printf(&b, ": exit %d", c->exit_code);
	else
		hub_chat_printf(&b, ": %s", hub_cmd_status_name(c->status));
	if (c->error[0] != '\0') {
		hub_chat_printf(&b, " (");
		hub_chat_put(&b, c->error);
		hub_chat_printf(&b, ")");
	}
	output_tail(&b, c, r->front == CHAT_DISCORD ? RUN_SHOWN_DC :
	    RUN_SHOWN);
	if (r->front == CHAT_DISCORD) {
		hub_chat_text_cut(&b, DC_TEXT_MAX);
		hub_chat_dc_followup(r->app_id, r->token,
		    hub_chat_text_str(&b));
	} else
		hub_chat_send(r->chat_id, r->message_id,
		    hub_chat_text_str(&b));
	mc_buf_free(&b.b);
	run_free(r);
}

void
hub_chat_run_free_all(void)
{
	struct run *r;

	while ((r = rn.head) != NULL) {
		rn.head = r->next;
		run_free(r);
	}
	rn.n = 0;
}
