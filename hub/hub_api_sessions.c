/*
 * hub_api_sessions.c - the REST API's terminal recordings: the list of
 * sessions and one session's cast (docs/api.md).
 *
 * Both are read off the loop (hub_rec_store.c) and answered when the
 * read is back; a cast, which can be a gigabyte, a piece at a time.  A cast is served as it was written, asciicast v2, to an
 * operator: it holds what the terminal showed, which a viewer may not see
 * (the role check is the route table's, hub_api.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hub.h"
#include "hub_api.h"
#include "mc_util.h"

/* GET /api/sessions?agent=NAME&limit=N */
void
hub_api_sessions(struct hub_req *r)
{
	char agent[MC_NAME_MAX + 1];
	int64_t limit = 100;
	uint64_t ticket;

	if (hub_api_query_int(r, "limit", 1, 1000, &limit) == -1)
		return;
	hub_api_query_str(r, "agent", agent, sizeof(agent));
	if ((ticket = hub_http_defer(r)) == 0)
		return;
	hub_rec_list(agent, (int)limit, hub_api_read_done,
	    (void *)(uintptr_t)ticket);
}

/* What the client asked for, kept until the read is back. */
struct cast_ask {
	uint64_t	 ticket;
	char		 sid[MC_ID_MAX];
};

/* The cast found: served in pieces from the file (hub_http_file.c). */
static void
cast_serve(uint64_t ticket, int fd, uint64_t size)
{
	struct hub_conn *c = hub_http_resume(ticket);

	if (c == NULL) {
		close(fd);	/* the client left meanwhile */
		return;
	}
	if (hub_http_file(c, fd, size, "application/x-asciicast") == -1) {
		hub_ws_close_soon(c->wsi);
		return;
	}
	hub_ws_http_ready(c);
}

static void
cast_done(void *arg, enum hub_rec_found found, int fd, uint64_t size)
{
	struct cast_ask *a = arg;
	char why[MC_ID_MAX + 160];

	switch (found) {
	case REC_FOUND:
		cast_serve(a->ticket, fd, size);
		break;
	case REC_NO_SESSION:
		snprintf(why, sizeof(why), "no terminal session '%s' (see GET "
		    "/api/sessions)", a->sid);
		hub_api_deferred_reply(a->ticket, NULL, 0, NULL, why);
		break;
	case REC_NO_CAST:
		snprintf(why, sizeof(why), "terminal session %s has no "
		    "recording: its file is gone from the hub's "
		    "sessions directory", a->sid);
		hub_api_deferred_reply(a->ticket, NULL, 0, NULL, why);
		break;
	case REC_UNREADABLE:
		hub_api_deferred_fail(a->ticket, NULL, 0, NULL, 500,
		    "internal", "the hub could not read the recording (see "
		    "its log)");
		break;
	}
	free(a);
}

/* GET /api/sessions/{id}/cast */
void
hub_api_session_cast(struct hub_req *r)
{
	struct cast_ask *a;
	const char *sid = r->params[0];

	if (!hub_rec_sid_valid(sid)) {
		hub_http_error(r, 404, "not_found", "no terminal session '%s': "
		    "session ids are s- and 16 hex digits (see GET "
		    "/api/sessions)", sid);
		return;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		hub_http_error(r, 503, "unavailable", "out of memory");
		return;
	}
	mc_strlcpy(a->sid, sid, sizeof(a->sid));
	if ((a->ticket = hub_http_defer(r)) == 0) {
		free(a);
		return;
	}
	hub_rec_cast_read(sid, cast_done, a);
}
