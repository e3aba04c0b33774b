/*
 * hub_api_release.c - the REST API of listener releases and their rolls:
 * POST /api/releases (the file as the raw body, the signature in the
 * query), GET /api/releases, GET /releases/VERSION/maestro-listener
 * (a listener's download: no token, a command's ticket instead),
 * POST /api/releases/{version}/roll, GET /api/rolls[/{id}].
 * The store is hub_release.c, the rolls hub_roll.c.
 * Only an admin's upload may send a body past MC_BODY_MAX
 * (hub_api_body_max, hub_api.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"
#include "hub_api.h"
#include "mc_elf.h"
#include "mc_sign.h"
#include "mc_util.h"

#define ROLL_BATCH_MAX	1000
#define ROLL_AGENTS_MAX	4096
#define ROLL_PAUSE_MAX	86400.0

/* ---- publishing ---- */

/* hex (2n digits) into n bytes: 0 / -1. */
static int
hex_raw(const char *hex, unsigned char *out, size_t n)
{
	size_t i;
	unsigned int v;

	if (strlen(hex) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if (strspn(hex + 2 * i, "0123456789abcdefABCDEF") < 2 ||
		    sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

/* ?key=HEX&sig=HEX&signer=NAME into up; replies 400 itself. */
static int
up_parse(struct hub_req *r, struct hub_release_up *up)
{
	char key[2 * MC_KEY_RAW + 2], sig[2 * MC_SIG_RAW + 2];

	memset(up, 0, sizeof(*up));
	hub_api_query_str(r, "key", key, sizeof(key));
	hub_api_query_str(r, "sig", sig, sizeof(sig));
	hub_api_query_str(r, "signer", up->signer, sizeof(up->signer));
	mc_strlcpy(up->by, r->token->name, sizeof(up->by));
	if (key[0] == '\0' && sig[0] == '\0')
		return 0;
	if (hex_raw(key, up->key, MC_KEY_RAW) == -1 ||
	    hex_raw(sig, up->sig, MC_SIG_RAW) == -1) {
		hub_http_error(r, 400, "bad_request", "a signed release needs "
		    "key (the Ed25519 public key, %d hex digits) and sig (the "
		    "signature, %d hex digits) in the query", 2 * MC_KEY_RAW,
		    2 * MC_SIG_RAW);
		return -1;
	}
	up->is_signed = 1;
	return 0;
}

static void
published(void *arg, int status, const struct hub_release *rel,
    const char *why)
{
	struct hub_conn *c = hub_http_resume((uint64_t)(uintptr_t)arg);
	struct hub_req r;
	struct mc_buf b;
	struct mc_jw w;

	if (c == NULL)
		return;	/* the client left; the release stands */
	memset(&r, 0, sizeof(r));
	r.conn = c;
	r.http = c->http;
	if (rel == NULL)
		hub_http_error(&r, status, status == 409 ? "conflict" :
		    status == 400 ? "bad_release" : "internal", "%s", why);
	else {
		hub_api_body_begin(&b, &w);
		hub_release_write(&w, rel);
		hub_api_body_send(&r, status, &b, &w);
	}
	hub_ws_http_ready(c);
}

/* POST /api/releases[?key=HEX&sig=HEX&signer=NAME], the file as body */
void
hub_api_release_publish(struct hub_req *r)
{
	struct hub_release_up up;
	uint64_t ticket;

	if (up_parse(r, &up) == -1)
		return;
	if (r->http->body.len == 0) {
		hub_http_error(r, 400, "bad_request", "the body is the "
		    "listener binary (application/octet-stream); it is empty");
		return;
	}
	if ((ticket = hub_http_defer(r)) == 0)
		return;
	hub_api_audit(r, "release_publish", "release upload (%zu bytes%s)",
	    r->http->body.len, up.is_signed ? ", signed" : ", unsigned");
	hub_release_publish(&r->http->body, &up, published,
	    (void *)(uintptr_t)ticket);
}

void
hub_api_releases(struct hub_req *r)
{
	const struct hub_release *rel;
	struct mc_buf b;
	struct mc_jw w;

	hub_api_body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_arr(&w, "releases");
	for (rel = hub_release_first(); rel != NULL; rel = rel->next)
		if (!rel->storing)
			hub_release_write(&w, rel);
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	hub_api_body_send(r, 200, &b, &w);
}

/* ---- downloads ---- */

static void
download_open(void *arg, int fd, uint64_t size)
{
	uint64_t ticket = (uint64_t)(uintptr_t)arg;
	struct hub_conn *c;

	if (fd < 0) {
		hub_api_deferred_fail(ticket, NULL, 0, NULL, 500, "internal",
		    "the hub cannot read this release's file (see its data "
		    "directory)");
		return;
	}
	if ((c = hub_http_resume(ticket)) == NULL) {
		close(fd);
		return;
	}
	if (hub_http_file(c, fd, size, "application/octet-stream") == -1) {
		hub_ws_close_soon(c->wsi);
		return;
	}
	hub_ws_http_ready(c);
}

/* GET /releases/{version}/maestro-listener?ticket=T */
void
hub_api_release_download(struct hub_req *r)
{
	const struct hub_release *rel = hub_release_find(r->params[0]);
	char ticket[HUB_TICKET_HEX + 1];
	uint64_t t;

	hub_api_query_str(r, "ticket", ticket, sizeof(ticket));
	if (rel == NULL || rel->storing) {
		hub_http_error(r, 404, "not_found", "no release '%s'",
		    r->params[0]);
		return;
	}
	if (!hub_release_ticket_ok(rel->version, ticket)) {
		hub_http_error(r, 403, "forbidden", "this download needs the "
		    "ticket of an unfinished listener_update command for "
		    "release %s", rel->version);
		return;
	}
	if ((t = hub_http_defer(r)) != 0)
		hub_release_open(rel->version, download_open,
		    (void *)(uintptr_t)t);
}

/* ---- rolls ---- */

/* The body into q; replies 400 itself. */
static int
roll_parse(struct hub_req *r, const struct mc_json *o,
    struct hub_roll_req *q, const char **names)
{
	int64_t batch = 10;
	double pause = 0;

	memset(q, 0, sizeof(*q));
	q->version = r->params[0];
	q->tag = mc_json_str(o, "tag");
	if (hub_api_agents_parse(r, mc_json_get(o, "agents"), names,
	    ROLL_AGENTS_MAX, &q->nagents) == -1)
		return -1;
	q->agents = names;
	if ((mc_json_get(o, "all") && mc_json_bool(o, "all", &q->all) == -1) ||
	    (mc_json_get(o, "batch") && mc_json_int(o, "batch", 1,
	    ROLL_BATCH_MAX, &batch) == -1) ||
	    (mc_json_get(o, "pause") && (mc_json_num(o, "pause", &pause) ==
	    -1 || pause < 0 || pause > ROLL_PAUSE_MAX))) {
		hub_http_error(r, 400, "bad_request", "all is true or false, "
		    "batch 1 to %d, pause seconds 0 to %.0f", ROLL_BATCH_MAX,
		    ROLL_PAUSE_MAX);
		return -1;
	}
	if ((q->nagents > 0) + (q->tag != NULL && *q->tag) + (q->all != 0) !=
	    1) {
		hub_http_error(r, 400, "bad_request", "give exactly one of "
		    "agents, tag and all");
		return -1;
	}
	q->batch = (int)batch;
	q->pause = pause;
	q->by = r->token->name;
	return 0;
}

static void
roll_reply(struct hub_req *r, int status, const struct hub_roll *roll)
{
	struct mc_buf b;
	struct mc_jw w;

	hub_api_body_begin(&b, &w);
	hub_roll_write(&w, roll);
	hub_api_body_send(r, status, &b, &w);
}

/* POST /api/releases/{version}/roll {"agents"|"tag"|"all", "batch",
 * "pause"} -> 202 the roll */
void
hub_api_roll_start(struct hub_req *r)
{
	const char **names = calloc(ROLL_AGENTS_MAX, sizeof(*names));
	struct hub_roll_req q;
	struct hub_roll *roll;
	struct mc_jdoc *d = NULL;
	char why[256];
	int status;

	if (names == NULL) {
		hub_http_error(r, 503, "unavailable", "out of memory");
		return;
	}
	if ((d = hub_api_body_json(r)) != NULL &&
	    roll_parse(r, mc_json_root(d), &q, names) == 0) {
		if ((roll = hub_roll_start(&q, &status, why, sizeof(why))) ==
		    NULL)
			hub_http_error(r, status, status == 404 ? "not_found" :
			    status == 409 ? "conflict" : "unavailable", "%s",
			    why);
		else
			roll_reply(r, 202, roll);
	}
	mc_json_free(d);
	free(names);
}

void
hub_api_roll_get(struct hub_req *r)
{
	const struct hub_roll *roll = hub_roll_find(r->params[0]);

	if (roll == NULL) {
		hub_http_error(r, 404, "not_found", "unknown roll '%s' (the "
		    "hub keeps the last %d in memory, none across a restart)",
		    r->params[0], HUB_ROLLS_MAX);
		return;
	}
	roll_reply(r, 200, roll);
}

void
hub_api_rolls(struct hub_req *r)
{
	const struct hub_roll *roll;
	struct mc_buf b;
	struct mc_jw w;

	hub_api_body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_arr(&w, "rolls");
	for (roll = hub_roll_first(); roll != NULL; roll = roll->nextr)
		hub_roll_write(&w, roll);
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	hub_api_body_send(r, 200, &b, &w);
}
