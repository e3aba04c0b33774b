/*
 * ctl_docker.c - docker_ps output as table rows.
 *
 * The listener answers docker_ps with JSON text as the command's output:
 * [{"id","name","image","state","status","ports"}, ...].  Every field is
 * chosen by whoever runs the containers, so cells go through the table,
 * which makes them safe; a missing or non-text field prints as "-".  Output
 * that is not such an array (an older listener, a truncated answer) is left
 * to the caller to print as it is.
 */
#include <stdio.h>

#include "ctl.h"

static const char *const fields[] = { "name", "image", "state", "status",
    "ports" };

#define NFIELDS	(sizeof(fields) / sizeof(fields[0]))

static int
is_containers(const struct mc_json *arr)
{
	const struct mc_json *e;

	if (arr == NULL || arr->type != MC_JARR)
		return 0;
	for (e = arr->child; e != NULL; e = e->next)
		if (e->type != MC_JOBJ)
			return 0;
	return 1;
}

int
ctl_docker_rows(struct ctl_table *t, const char *agent, const char *out,
    size_t len)
{
	const struct mc_json *arr, *e;
	struct mc_jdoc *doc;
	char err[128];
	size_t i;

	doc = mc_json_parse(out, len, err, sizeof(err));
	arr = doc != NULL ? mc_json_root(doc) : NULL;
	if (!is_containers(arr)) {
		mc_json_free(doc);
		return -1;
	}
	for (e = arr->child; e != NULL; e = e->next) {
		if (agent != NULL)
			ctl_table_add(t, agent);
		for (i = 0; i < NFIELDS; i++)
			ctl_table_add(t, ctl_jstr(e, fields[i], "-"));
	}
	mc_json_free(doc);
	return 0;
}
