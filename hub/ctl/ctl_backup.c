/*
 * ctl_backup.c - "hubctl backup FILE": a consistent copy of the hub's
 * database, taken while the hub runs.
 *
 * The hub makes the copy on its database thread between two transactions
 * (GET /api/backup, admin); hubctl checks that it is an SQLite file and
 * writes it atomically (temp file, fsync, rename) with mode 0600, since
 * it holds the hashes of every credential and token.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "mc_util.h"

#define SQLITE_MAGIC	"SQLite format 3"
/* as large as the hub sends (its own bound is 1 GiB) */
#define BACKUP_MAX	((size_t)1 << 30)

int
ctl_cmd_backup(struct ctl *c, int argc, char **argv)
{
	struct ctl_resp r;
	struct ctl_args a;
	int ret;

	ret = ctl_begin(c, "backup", argc, argv, NULL, &a, 1, 1);
	if (ret != 0)
		return ret;
	ctl_resp_init(&r);
	mc_buf_init(&r.body, BACKUP_MAX);
	ret = ctl_api(c, "GET", "/api/backup", NULL, &r);
	if (ret == 0 && (r.body.len < sizeof(SQLITE_MAGIC) ||
	    memcmp(r.body.data, SQLITE_MAGIC, sizeof(SQLITE_MAGIC)) != 0)) {
		fprintf(stderr, "hubctl: the hub's answer is not an SQLite "
		    "database\n");
		ret = CTL_EXIT_FAIL;
	}
	if (ret == 0 && mc_write_file(a.v[0], r.body.data, r.body.len,
	    0600) == -1) {
		fputs("hubctl: cannot write ", stderr);
		ctl_put_safe(stderr, a.v[0]);
		fprintf(stderr, ": %s\n", strerror(errno));
		ret = CTL_EXIT_FAIL;
	} else if (ret == 0) {
		fputs("hubctl: wrote ", stderr);
		ctl_put_safe(stderr, a.v[0]);
		fprintf(stderr, " (%zu bytes; check it with sqlite3 FILE "
		    "'PRAGMA integrity_check')\n", r.body.len);
	}
	ctl_resp_free(&r);
	return ret;
}
