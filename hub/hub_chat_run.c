/*
 * hub_chat_run.c - /run AGENT CMD... from Telegram: the command goes
 * through hub_cmd_submit() as the API's does (the same queue, limits,
 * history and events, "by" the Telegram user), and its outcome and the
 * tail of its output come back to the chat it was asked in when it
 * finishes (hub_chat_on_cmd(), from hub_cmd.c).
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
#define RUN_SHOWN	3000	/* output bytes shown in the chat */

struct run {
	char		 id[MC_ID_MAX];		/* the command's */
	int64_t		 chat_id;
	int64_t		 message_id;		/* the /run message */
	struct run	*next;
};

static struct {
	struct run	*head;		/* owned */
	int		 n;
} rn;

void
hub_chat_run(const struct hub_chat_ctx *x, const char *agent,
    const char *cmd)
{
	struct hub_agent *a = hub_agent_find(agent);
	struct hub_cmd_req q;
	struct hub_cmd *c;
	struct mc_buf b;
	struct run *r;
	char why[256];
	int status;

	mc_buf_init(&b, 8192);
	if (rn.n >= RUN_WAITING || (r = calloc(1, sizeof(*r))) == NULL) {
		mc_buf_printf(&b, "%d commands from the chat are running "
		    "already; wait for one to finish.", RUN_WAITING);
		hub_chat_reply(x, b.data);
		mc_buf_free(&b);
		return;
	}
	memset(&q, 0, sizeof(q));
	q.kind = MC_KIND_SHELL;
	q.cmd = cmd;
	q.timeout = RUN_TIMEOUT;
	q.cap = RUN_CAP;
	q.by = x->actor;
	if (a == NULL || (c = hub_cmd_submit(a, &q, &status, why,
	    sizeof(why))) == NULL) {
		hub_chat_esc(&b, a == NULL ? "unknown agent" : why);
		hub_chat_reply(x, b.data);
		mc_buf_free(&b);
		free(r);
		return;
	}
	hub_chat_audit(x, "command", agent, "command %s on %s: %.200s", c->id,
	    agent, cmd);
	mc_strlcpy(r->id, c->id, sizeof(r->id));
	r->chat_id = x->in->chat_id;
	r->message_id = x->in->message_id;
	r->next = rn.head;
	rn.head = r;
	rn.n++;
	mc_buf_free(&b);
}

/* The tail of the output, escaped, cut at a character boundary. */
static void
output_tail(struct mc_buf *b, const struct hub_cmd *c)
{
	const char *p = c->out.data;
	size_t len = c->out.len, off = len > RUN_SHOWN ? len - RUN_SHOWN : 0;
	char *copy;

	while (off < len && ((unsigned char)p[off] & 0xc0) == 0x80)
		off++;
	if (len == 0 || (copy = malloc(len - off + 1)) == NULL)
		return;
	memcpy(copy, p + off, len - off);
	copy[len - off] = '\0';
	mc_buf_printf(b, "\n<pre>%s", off > 0 ? "...\n" : "");
	hub_chat_esc(b, copy);
	mc_buf_puts(b, "</pre>");
	free(copy);
}

void
hub_chat_on_cmd(const struct hub_cmd *c)
{
	struct run **pp, *r;
	struct mc_buf b;

	for (pp = &rn.head; (r = *pp) != NULL; pp = &r->next)
		if (strcmp(r->id, c->id) == 0)
			break;
	if (r == NULL)
		return;
	*pp = r->next;
	rn.n--;
	mc_buf_init(&b, 16384);
	hub_chat_esc(&b, c->agent);
	if (c->status == CMD_DONE)
		mc_buf_printf(&b, ": exit %d", c->exit_code);
	else
		mc_buf_printf(&b, ": %s", hub_cmd_status_name(c->status));
	if (c->error[0] != '\0') {
		mc_buf_puts(&b, " (");
		hub_chat_esc(&b, c->error);
		mc_buf_puts(&b, ")");
	}
	output_tail(&b, c);
	hub_chat_send(r->chat_id, r->message_id, b.data ? b.data : "");
	mc_buf_free(&b);
	free(r);
}

void
hub_chat_run_free_all(void)
{
	struct run *r;

	while ((r = rn.head) != NULL) {
		rn.head = r->next;
		free(r);
	}
	rn.n = 0;
}
