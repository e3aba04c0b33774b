/*
 * hub_cmd_view.c - a command in memory as the API and the live feed show
 * it (a command only in the store is written by hub_cmd_read.c): its
 * status's name, its JSON, and the streams that follow its output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"

static void
write_opt_time(struct mc_jw *w, const char *key, double t)
{
	if (t > 0)
		mc_jw_dbl(w, key, t);
	else
		mc_jw_null(w, key);
}

static const char *const status_names[] = {
	"queued", "sent", "running", "done", "failed", "timeout", "lost",
	"expired"
};

const char *
hub_cmd_status_name(enum hub_cmd_status s)
{
	return s <= CMD_EXPIRED ? status_names[s] : "?";
}

int
hub_cmd_status_parse(const char *s, enum hub_cmd_status *out)
{
	int i;

	for (i = 0; i <= CMD_EXPIRED; i++) {
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum hub_cmd_status)i;
			return 0;
		}
	}
	return -1;
}

void
hub_cmd_write_outcome(struct mc_jw *w, const struct hub_cmd *c)
{
	mc_jw_str(w, "status", hub_cmd_status_name(c->status));
	if (c->exit_code >= 0 && hub_cmd_finished(c))
		mc_jw_i64(w, "exit", c->exit_code);
	else
		mc_jw_null(w, "exit");
	mc_jw_bool(w, "truncated", c->truncated);
	mc_jw_u64(w, "out_bytes", c->out_bytes);
	mc_jw_str(w, "error", c->error[0] ? c->error : NULL);
}

void
hub_cmd_write(struct mc_jw *w, const struct hub_cmd *c, int with_output)
{
	char link[MC_ID_MAX + 32];

	mc_jw_obj(w, NULL);
	mc_jw_str(w, "id", c->id);
	mc_jw_str(w, "agent", c->agent);
	mc_jw_str(w, "type", mc_kind_name(c->kind));
	if (c->cmd)
		mc_jw_str(w, "cmd", c->cmd);
	if (c->arg[0])
		mc_jw_str(w, "arg", c->arg);
	if (c->kind == MC_KIND_CONTAINER_UPDATE) {
		mc_jw_str(w, "image", c->cmd != NULL ? c->cmd : "");
		mc_jw_bool(w, "prune", c->prune);
	}
	mc_jw_dbl(w, "timeout", c->timeout);
	hub_cmd_write_outcome(w, c);
	if (with_output)
		mc_jw_strn(w, "output", c->out.data ? c->out.data : "",
		    c->out.len);
	if (c->blob.len > 0 && hub_cmd_finished(c)) {
		snprintf(link, sizeof(link), "/api/commands/%s/png", c->id);
		mc_jw_str(w, "png", link);
		mc_jw_u64(w, "png_bytes", c->blob.len);
	}
	mc_jw_str(w, "requested_by", c->by);
	write_opt_time(w, "created", c->created);
	write_opt_time(w, "started", c->started);
	write_opt_time(w, "finished", c->finished);
	mc_jw_obj_end(w);
}

void
hub_cmd_subscribe(struct hub_cmd *c, struct hub_conn *conn)
{
	struct hub_cmd_sub *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return;
	s->conn = conn;
	s->next = c->subs;
	c->subs = s;
}

void
hub_cmd_unsubscribe(struct hub_cmd *c, struct hub_conn *conn)
{
	struct hub_cmd_sub **pp, *s;

	for (pp = &c->subs; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->conn == conn) {
			s = *pp;
			*pp = s->next;
			free(s);
			return;
		}
	}
}
