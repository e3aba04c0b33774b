/*
 * hub_idring.c - the ids of the last HUB_IDRING_MAX things this hub
 * removed, so that a read of a store shared with other hubs that began
 * before the removal was written does not bring one back (silences,
 * Web Push subscriptions).  A linear look: reads come every few seconds.
 */
#include <string.h>

#include "hub.h"
#include "mc_util.h"

void
hub_idring_add(struct hub_idring *r, const char *id)
{
	mc_strlcpy(r->ids[r->at], id, sizeof(r->ids[0]));
	r->at = (r->at + 1) % HUB_IDRING_MAX;
}

int
hub_idring_has(const struct hub_idring *r, const char *id)
{
	int i;

	for (i = 0; i < HUB_IDRING_MAX; i++)
		if (strcmp(r->ids[i], id) == 0)
			return 1;
	return 0;
}
