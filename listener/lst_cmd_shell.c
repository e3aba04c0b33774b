/*
 * lst_cmd_shell.c - the "shell" command: run a command line with
 * /bin/sh -c in its own process group (the runner is lst_exec.c).
 */
#include "lst.h"

void
lst_cmd_shell(struct lst *l, const struct mc_cmd *c)
{
	char err[MC_TEXT_MAX];

	if (c->cmd[0] == '\0') {
		lst_cmd_fail(l, c->id, "shell command line is empty");
		return;
	}
	if (lst_exec_count(l) >= MC_LST_RUNNING_MAX) {
		lst_cmd_fail(l, c->id, "too many running commands");
		return;
	}
	if (lst_exec_start(l, c, err, sizeof(err)) == -1)
		lst_cmd_fail(l, c->id, err);
}
