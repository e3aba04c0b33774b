/*
 * lst_cmd_stop.c - the "stop" command: report it done, say goodbye with
 * reason "stop" and exit 0.  The hub marks the agent offline, not
 * critical, because the goodbye came first.
 */
#include <string.h>

#include "lst.h"
#include "mc_log.h"

void
lst_cmd_stop(struct lst *l, const struct mc_cmd *c)
{
	struct mc_result r;

	memset(&r, 0, sizeof(r));
	mc_strlcpy(r.id, c->id, sizeof(r.id));
	r.outcome = MC_DONE;
	r.exit_code = 0;
	lst_cmd_result(l, &r);
	mc_info("stop requested by the hub; saying goodbye");
	lst_ws_leave(l, "stop", 0);
}
