/*
 * lst_rollback.c - a self-update is kept only once the hub welcomed the
 * new listener; otherwise the previous binary is put back.
 *
 * Two small files in the state directory carry it across exec:
 * - STATE_DIR/update-pending, written by the update just before its swap
 *   (lst_update.c): the new version, the previous one, the executable,
 *   its EXE.prev, the deadline (unix seconds: now + update_confirm) and
 *   how often the new version started.  Each start of a listener that
 *   finds it counts one more start; the hub's welcome removes it.  A start
 *   past the deadline, or the LST_UPDATE_STARTS_MAX + 1st (the new version
 *   keeps dying and systemd keeps starting it), rolls back at once, before
 *   the new code did anything else; a running one rolls back when the
 *   deadline passes without a welcome.
 * - STATE_DIR/update-failed, written by a rollback: the version tried and
 *   why it was undone.  The previous listener reads it at start, reports
 *   it in its hello's "update", and removes it once welcomed.
 * Rolling back renames EXE.prev over EXE (atomic), writes the record,
 * removes the marker, and starts EXE again: at start by exec in place,
 * while running through the restart path (bye, then exec or systemd).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lst.h"
#include "mc_log.h"

#define MARK_FILE	"update-pending"
#define RECORD_FILE	"update-failed"
#define LINE_MAX_	(MC_PATH_MAX + 32)

static int
state_path(const struct lst *l, const char *name, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/%s", l->conf.state_dir, name);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Write text to STATE_DIR/name whole or not at all (temp, fsync,
 * rename).  0, or -1 with errno set. */
static int
state_write(const struct lst *l, const char *name, const char *text)
{
	char path[MC_PATH_MAX], tmp[MC_PATH_MAX + 8];
	FILE *f;
	int bad;

	if (state_path(l, name, path, sizeof(path)) == -1 ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((f = fopen(tmp, "we")) == NULL)
		return -1;
	bad = fputs(text, f) == EOF || fflush(f) == EOF ||
	    fsync(fileno(f)) == -1;
	if (fclose(f) == EOF || bad || rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void
mark_text(const struct lst_upd_mark *m, char *out, size_t size)
{
	snprintf(out, size, "version %s\nprevious %s\nexe %s\nprev %s\n"
	    "confirm %.0f\ndeadline %" PRId64 "\nstarts %d\n", m->version,
	    m->previous, m->exe, m->prev, m->confirm, m->deadline, m->starts);
}

/* One "key value" line into m; unknown keys are skipped. */
static void
mark_line(struct lst_upd_mark *m, char *line)
{
	char *v = strchr(line, ' ');

	if (v == NULL)
		return;
	*v++ = '\0';
	v[strcspn(v, "\n")] = '\0';
	if (strcmp(line, "version") == 0)
		mc_strlcpy(m->version, v, sizeof(m->version));
	else if (strcmp(line, "previous") == 0)
		mc_strlcpy(m->previous, v, sizeof(m->previous));
	else if (strcmp(line, "exe") == 0)
		mc_strlcpy(m->exe, v, sizeof(m->exe));
	else if (strcmp(line, "prev") == 0)
		mc_strlcpy(m->prev, v, sizeof(m->prev));
	else if (strcmp(line, "confirm") == 0)
		m->confirm = strtod(v, NULL);
	else if (strcmp(line, "deadline") == 0)
		m->deadline = strtoll(v, NULL, 10);
	else if (strcmp(line, "starts") == 0)
		m->starts = (int)strtol(v, NULL, 10);
}

/* 1 with the marker in m, 0 when there is none, -1 when it is unusable. */
static int
mark_read(const struct lst *l, struct lst_upd_mark *m)
{
	char path[MC_PATH_MAX], line[LINE_MAX_];
	FILE *f;
	int n = 0;

	memset(m, 0, sizeof(*m));
	if (state_path(l, MARK_FILE, path, sizeof(path)) == -1)
		return -1;
	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (n++ < 16 && fgets(line, sizeof(line), f) != NULL)
		mark_line(m, line);
	fclose(f);
	return m->version[0] && m->exe[0] && m->prev[0] && m->deadline > 0 ?
	    1 : -1;
}

int
lst_rollback_mark(const struct lst *l, const char *version, const char *exe,
    const char *prev, char *err, size_t errlen)
{
	struct lst_upd_mark m;
	char text[3 * MC_PATH_MAX];

	memset(&m, 0, sizeof(m));
	mc_strlcpy(m.version, version, sizeof(m.version));
	mc_strlcpy(m.previous, MC_VERSION, sizeof(m.previous));
	mc_strlcpy(m.exe, exe, sizeof(m.exe));
	mc_strlcpy(m.prev, prev, sizeof(m.prev));
	m.confirm = l->conf.update_confirm;
	/* the restart waits up to LST_RESTART_ACK_WAIT for the hub's ack */
	m.deadline = (int64_t)time(NULL) + (int64_t)(m.confirm + 0.5) +
	    (int64_t)LST_RESTART_ACK_WAIT;
	mark_text(&m, text, sizeof(text));
	if (state_write(l, MARK_FILE, text) == -1) {
		snprintf(err, errlen, "cannot write %s/%s: %s",
		    l->conf.state_dir, MARK_FILE, strerror(errno));
		return -1;
	}
	return 0;
}

void
lst_rollback_unmark(const struct lst *l)
{
	char path[MC_PATH_MAX];

	if (state_path(l, MARK_FILE, path, sizeof(path)) == 0)
		unlink(path);
}

/* Put EXE.prev back over EXE and say why in the record.  0 or -1. */
static int
roll_back(struct lst *l, const struct lst_upd_mark *m, const char *why)
{
	char text[MC_VERSION_TEXT_MAX + MC_TEXT_MAX + 4];

	mc_err("update to %s undone: %s", m->version, why);
	if (rename(m->prev, m->exe) == -1) {
		mc_err("cannot put %s back as %s: %s; staying on %s", m->prev,
		    m->exe, strerror(errno), MC_VERSION);
		lst_rollback_unmark(l);
		return -1;
	}
	snprintf(text, sizeof(text), "%s\n%s\n", m->version, why);
	if (state_write(l, RECORD_FILE, text) == -1)
		mc_warn("cannot record the failed update in %s: %s",
		    l->conf.state_dir, strerror(errno));
	lst_rollback_unmark(l);
	return 0;
}

/* The record of an update undone, into the hello. */
static void
record_load(struct lst *l)
{
	char path[MC_PATH_MAX], ver[MC_VERSION_TEXT_MAX + 2];
	char why[MC_TEXT_MAX + 2];
	FILE *f;

	if (state_path(l, RECORD_FILE, path, sizeof(path)) == -1 ||
	    (f = fopen(path, "re")) == NULL)
		return;
	if (fgets(ver, sizeof(ver), f) != NULL &&
	    fgets(why, sizeof(why), f) != NULL) {
		ver[strcspn(ver, "\n")] = '\0';
		why[strcspn(why, "\n")] = '\0';
		mc_strlcpy(l->hello.update_version, ver,
		    sizeof(l->hello.update_version));
		mc_strlcpy(l->hello.update_error, why,
		    sizeof(l->hello.update_error));
		mc_warn("the update to %s was undone: %s", ver, why);
	}
	fclose(f);
}

void
lst_rollback_boot(struct lst *l, char **argv)
{
	struct lst_upd_mark *m = &l->upd;
	char why[MC_TEXT_MAX], text[3 * MC_PATH_MAX];
	int r = mark_read(l, m);

	record_load(l);
	if (r == -1)
		mc_warn("unreadable %s/%s ignored", l->conf.state_dir,
		    MARK_FILE);
	if (r != 1 || strcmp(m->version, MC_VERSION) != 0) {
		/* none, or not for us: the swap never happened */
		if (r != 0)
			lst_rollback_unmark(l);
		return;
	}
	if ((int64_t)time(NULL) >= m->deadline)
		snprintf(why, sizeof(why), "not welcomed by the hub within "
		    "%.0f s; back on %s", m->confirm, m->previous);
	else if (m->starts >= LST_UPDATE_STARTS_MAX)
		snprintf(why, sizeof(why), "the new version exited %d times "
		    "before being welcomed; back on %s", m->starts,
		    m->previous);
	else {
		m->starts++;
		mark_text(m, text, sizeof(text));
		if (state_write(l, MARK_FILE, text) == -1)
			mc_warn("cannot count this start in %s: %s",
			    MARK_FILE, strerror(errno));
		l->upd_pending = 1;
		mc_info("running update %s (start %d); it is kept once the hub "
		    "welcomes it", m->version, m->starts);
		return;
	}
	if (roll_back(l, m, why) == -1)
		return;
	fflush(NULL);
	execv(m->exe, argv);
	mc_err("cannot start %s again: %s", m->exe, strerror(errno));
}

static void
deadline_cb(lws_sorted_usec_list_t *sul)
{
	struct lst *l = lws_container_of(sul, struct lst, sul_update);
	char why[MC_TEXT_MAX];

	if (!l->upd_pending || l->leaving)
		return;
	l->upd_pending = 0;
	snprintf(why, sizeof(why), "not welcomed by the hub within %.0f s; "
	    "back on %s", l->upd.confirm, l->upd.previous);
	if (roll_back(l, &l->upd, why) == 0)
		lst_restart_now(l);
}

void
lst_rollback_arm(struct lst *l)
{
	int64_t left;

	if (!l->upd_pending)
		return;
	left = l->upd.deadline - (int64_t)time(NULL);
	lws_sul_schedule(l->ctx, 0, &l->sul_update, deadline_cb,
	    (lws_usec_t)(left > 0 ? left : 0) * LWS_USEC_PER_SEC);
}

void
lst_rollback_welcomed(struct lst *l)
{
	char path[MC_PATH_MAX];

	if (l->upd_pending) {
		l->upd_pending = 0;
		lws_sul_cancel(&l->sul_update);
		lst_rollback_unmark(l);
		mc_info("update to %s confirmed: the hub welcomed it (%s is "
		    "kept as %s)", l->upd.version, l->upd.previous,
		    l->upd.prev);
	}
	if (l->hello.update_version[0] != '\0') {
		/* the hub has had it in this connection's hello */
		if (state_path(l, RECORD_FILE, path, sizeof(path)) == 0)
			unlink(path);
		l->hello.update_version[0] = '\0';
		l->hello.update_error[0] = '\0';
	}
}
