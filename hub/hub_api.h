/*
 * hub_api.h - what the REST API's files share (hub_api.c routes and
 * authenticates; hub_api_cmd.c, hub_api_admin.c and hub_api_sessions.c
 * hold handlers).
 */
#ifndef HUB_API_H
#define HUB_API_H

#include <stdint.h>

#include "hub.h"
#include "mc_json.h"

/* the largest reply body */
#define HUB_API_RESP_MAX	(64 * 1024 * 1024)

/* Start a JSON reply body; hub_api_body_send() sends and frees it. */
void	hub_api_body_begin(struct mc_buf *b, struct mc_jw *w);
void	hub_api_body_send(struct hub_req *r, int status, struct mc_buf *b,
	    struct mc_jw *w);
/* The request body as a JSON object (owned by the caller), or NULL after
 * answering 400. */
struct mc_jdoc *hub_api_body_json(struct hub_req *r);
/* An audit event with the acting token. */
void	hub_api_audit(const struct hub_req *r, const char *action,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Finish a deferred reply with data (taken), or without data with status,
 * code and the words in missing; hub_api_deferred_reply() is 404. */
void	hub_api_deferred_fail(uint64_t ticket, char *data, size_t len,
	    const char *ctype, int status, const char *code,
	    const char *missing);
void	hub_api_deferred_reply(uint64_t ticket, char *data, size_t len,
	    const char *ctype, const char *missing);
/* hub_db_ask()'s done for a list (JSON): 200, or 500 without data. */
void	hub_api_read_done(void *arg, char *json, size_t len);
/* Query parameters: 0 (out untouched when absent), or -1 after a 400. */
int	hub_api_query_int(struct hub_req *r, const char *name, int64_t min,
	    int64_t max, int64_t *out);
void	hub_api_query_str(struct hub_req *r, const char *name, char *out,
	    size_t outlen);
/* "agents": ["a", "b"] (arr may be NULL) into names, pointers into the
 * document: 0, or -1 after a 400. */
int	hub_api_agents_parse(struct hub_req *r, const struct mc_json *arr,
	    const char **names, int max, int *n);
/* 200 {"ok":true} */
void	hub_api_reply_ok(struct hub_req *r);

/* handlers (the route table is in hub_api.c) */
/* hub_push.c */
void	hub_api_push_key(struct hub_req *r);
void	hub_api_push_subscribe(struct hub_req *r);
void	hub_api_push_list(struct hub_req *r);
void	hub_api_push_revoke(struct hub_req *r);
void	hub_api_agent(struct hub_req *r);
/* hub_alert_ack.c */
void	hub_api_agent_ack(struct hub_req *r);
void	hub_api_agent_history(struct hub_req *r);
void	hub_api_agent_containers(struct hub_req *r);
void	hub_api_containers(struct hub_req *r);
void	hub_api_agents(struct hub_req *r);
void	hub_api_alerts_test(struct hub_req *r);
void	hub_api_backup(struct hub_req *r);
void	hub_api_cmd_get(struct hub_req *r);
void	hub_api_cmd_png(struct hub_req *r);
void	hub_api_cmd_stream(struct hub_req *r);
void	hub_api_command(struct hub_req *r);
/* hub_gitcfg_apply.c */
void	hub_api_config(struct hub_req *r);
void	hub_api_config_log(struct hub_req *r);
void	hub_api_config_sync(struct hub_req *r);
void	hub_api_config_rollback(struct hub_req *r);
/* hub_bus.c: {"hubs":[...],"bus":{...}|null} */
void	hub_api_hubs(struct hub_req *r);
/* hub_gitcfg_diff.c */
void	hub_api_config_diff(struct hub_req *r);
void	hub_api_events(struct hub_req *r);
void	hub_api_fanout(struct hub_req *r);
/* hub_api_update.c */
void	hub_api_update_start(struct hub_req *r);
void	hub_api_update_get(struct hub_req *r);
void	hub_api_updates(struct hub_req *r);
/* hub_api_release.c */
void	hub_api_release_publish(struct hub_req *r);
void	hub_api_releases(struct hub_req *r);
void	hub_api_release_download(struct hub_req *r);
void	hub_api_roll_start(struct hub_req *r);
void	hub_api_roll_get(struct hub_req *r);
void	hub_api_rolls(struct hub_req *r);
void	hub_api_history(struct hub_req *r);
void	hub_api_key_create(struct hub_req *r);
void	hub_api_key_revoke(struct hub_req *r);
void	hub_api_keys(struct hub_req *r);
void	hub_api_restart(struct hub_req *r);
void	hub_api_screenshot(struct hub_req *r);
void	hub_api_session_cast(struct hub_req *r);
void	hub_api_sessions(struct hub_req *r);
void	hub_api_silence_clear(struct hub_req *r);
void	hub_api_silence_create(struct hub_req *r);
void	hub_api_silences(struct hub_req *r);
void	hub_api_stop(struct hub_req *r);
void	hub_api_token_create(struct hub_req *r);
void	hub_api_token_revoke(struct hub_req *r);
void	hub_api_tokens(struct hub_req *r);

#endif
