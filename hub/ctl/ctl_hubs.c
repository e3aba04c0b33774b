/*
 * ctl_hubs.c - "hubctl hubs": the hubs of the cluster, as the hub asked
 * knows them (GET /api/hubs).
 *
 * One row per hub: name (* marks the hub asked), address, agents
 * connected to it, online agents, sessions watching its live feed, when
 * it last announced itself, version;
 * then one line on the bus.  A hub without a bus lists itself alone.
 * Exit 1 when the hub has a bus it cannot reach (the list is then the
 * last one it read), so a script can gate on it.  --json prints the
 * API's JSON as it came (the exit status stays).
 */
#include <stdint.h>
#include <stdio.h>

#include "ctl.h"
#include "mc_util.h"

#define HUBS_COLS	7

static void
count_cell(struct ctl_table *t, const struct mc_json *h, const char *key)
{
	char buf[24];
	int64_t n = 0;

	mc_json_int(h, key, 0, INT64_MAX, &n);
	snprintf(buf, sizeof(buf), "%lld", (long long)n);
	ctl_table_add(t, buf);
}

static void
hubs_row(struct ctl_table *t, const struct mc_json *h)
{
	char buf[128];
	double ts = 0;
	int self = 0, stopping = 0;

	mc_json_bool(h, "self", &self);
	mc_json_bool(h, "stopping", &stopping);
	snprintf(buf, sizeof(buf), "%s %s%s", self ? "*" : " ",
	    ctl_jstr(h, "name", "?"), stopping ? " (stopping)" : "");
	ctl_table_add(t, buf);
	ctl_table_add(t, ctl_jstr(h, "url", "-"));
	count_cell(t, h, "agents");
	count_cell(t, h, "online");
	count_cell(t, h, "watching");
	mc_json_num(h, "last_seen", &ts);
	ctl_ago(ts, buf, sizeof(buf));
	ctl_table_add(t, buf);
	ctl_table_add(t, ctl_jstr(h, "version", "-"));
}

/* The bus line; CTL_EXIT_FAIL when the hub cannot reach its bus. */
static int
bus_line(const struct mc_json *bus)
{
	int ok = 0;

	if (bus == NULL || bus->type != MC_JOBJ) {
		printf("bus: none (a single hub)\n");
		return CTL_EXIT_OK;
	}
	mc_json_bool(bus, "ok", &ok);
	fputs("bus: ", stdout);
	ctl_put_safe(stdout, ctl_jstr(bus, "url", "?"));
	fputs(ok ? " ok" : " UNREACHABLE: ", stdout);
	if (!ok)
		ctl_put_safe(stdout, ctl_jstr(bus, "error", "?"));
	else if (ctl_jstr(bus, "error", NULL) != NULL) {
		fputs(" (", stdout);
		ctl_put_safe(stdout, ctl_jstr(bus, "error", ""));
		fputs(")", stdout);
	}
	putchar('\n');
	return ok ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

int
ctl_cmd_hubs(struct ctl *c, int argc, char **argv)
{
	static const char *const head[HUBS_COLS] = { "  NAME", "ADDRESS",
	    "AGENTS", "ONLINE", "WATCHING", "LAST SEEN", "VERSION" };
	const struct mc_json *bus = NULL;
	struct ctl_resp r;
	struct ctl_args a;
	int ret, ok = 1;

	ret = ctl_begin(c, "hubs", argc, argv, NULL, &a, 0, 0);
	if (ret != 0)
		return ret;
	ctl_resp_init(&r);
	ret = ctl_api(c, "GET", "/api/hubs", NULL, &r);
	if (ret == 0 && r.doc != NULL)
		bus = mc_json_get(mc_json_root(r.doc), "bus");
	if (bus != NULL && bus->type == MC_JOBJ)
		mc_json_bool(bus, "ok", &ok);
	if (ret == 0 && c->o.json) {
		ctl_print_body(&r);
		ret = ok ? CTL_EXIT_OK : CTL_EXIT_FAIL;
	} else if (ret == 0) {
		ret = ctl_print_list(&r, "hubs", "hubs", head, HUBS_COLS,
		    hubs_row, NULL);
		if (bus_line(bus) != CTL_EXIT_OK)
			ret = CTL_EXIT_FAIL;
	}
	ctl_resp_free(&r);
	return ret;
}
