/*
 * hub_ctr_seam.c - the periodic update's question to the container
 * table, answered with "none" until the table exists.
 *
 * The hub's per-agent container table (built from the heartbeat's "ctr"
 * part, with each container's auto_update flag, digest and the registry's
 * latest) is another change; when it lands it defines
 * hub_ctr_auto_behind() and this file goes.  Until then the periodic
 * check (container_update_every) finds nothing to do.
 */
#include "hub.h"

int
hub_ctr_auto_behind(const struct hub_agent *a, char (*names)[MC_TEXT_MAX],
    int max)
{
	(void)a;
	(void)names;
	(void)max;
	return 0;
}
