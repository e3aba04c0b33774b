/*
 * lst_orphans.c - what a killed listener's commands left running is
 * killed when the listener starts again.
 *
 * A command runs in a session of its own (lst_exec.c), and only its first
 * process is tied to the listener (PR_SET_PDEATHSIG): a listener killed
 * with SIGKILL leaves the rest of the session (the background jobs of a
 * sh -c, a pipeline's other processes) running with nobody to report or
 * stop them.  So the commands in flight are kept in STATE_DIR/running,
 * and the next start kills whatever is still in their sessions before it
 * connects.
 *
 * Rules kept here:
 * - The file is rewritten whole (a temp file, then rename) each time a
 *   command starts or ends, and removed when none runs: at most
 *   MC_LST_RUNNING_MAX lines of "PID STARTTIME ID" under the kernel's
 *   boot id.  It only has to survive the listener, not the machine (a
 *   reboot ends every session, and a file from another boot is ignored),
 *   so it is not fsync'd: the loop never waits for the disk.
 * - A session is the command's while its leader's PID still carries the
 *   start time recorded at fork (a recycled PID is someone else's), or,
 *   once the leader is gone, while some process still has it as session
 *   id: the kernel reuses no PID that is still a session id.
 * - Sessions, not process groups: a command's shell may make groups of
 *   its own (job control), but they stay in its session.  A process that
 *   left the session on purpose (setsid, a daemon) is beyond this, as
 *   under any supervisor.  Neither our own session nor we are touched.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lst.h"
#include "mc_log.h"

#define BOOT_ID_PATH	"/proc/sys/kernel/random/boot_id"
/* scans of /proc per session: a process that made a group of its own
 * between a scan and the kill is caught by the next */
#define KILL_ROUNDS	3

/* What lst_orphans needs of one /proc/PID/stat. */
struct proc_stat {
	char			state;	/* 'Z': a zombie, already dead */
	pid_t			pgrp, sid;
	unsigned long long	start;	/* clock ticks after boot */
};

/* One line of the file. */
struct orphan {
	pid_t			sid;	/* the command's first process */
	unsigned long long	start;
	char			id[MC_ID_MAX];
};

/* ---- /proc ---- */

/* Copy field k (0 = the first) of the space-separated s into out.
 * 0, or -1 if s has fewer fields or the field does not fit. */
static int
field_get(const char *s, int k, char *out, size_t size)
{
	size_t n;

	for (; k > 0; k--) {
		s = strchr(s, ' ');
		if (s == NULL)
			return -1;
		s++;
	}
	n = strcspn(s, " \n");
	if (n == 0 || n >= size)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static int
field_num(const char *s, int k, int64_t min, int64_t max, int64_t *v)
{
	char num[24];

	if (field_get(s, k, num, sizeof(num)) == -1)
		return -1;
	return mc_parse_i64(num, min, max, v);
}

/* Fields after the command name, which may hold spaces and ')': state is
 * field 3 of proc(5), pgrp 5, session 6, starttime 22. */
static int
stat_parse(const char *text, struct proc_stat *ps)
{
	const char *p = strrchr(text, ')');
	int64_t pgrp, sid, start;

	if (p == NULL || p[1] != ' ' || p[2] == '\0')
		return -1;
	p += 2;
	if (field_num(p, 2, 0, INT32_MAX, &pgrp) == -1 ||
	    field_num(p, 3, 0, INT32_MAX, &sid) == -1 ||
	    field_num(p, 19, 0, INT64_MAX, &start) == -1)
		return -1;
	ps->state = p[0];
	ps->pgrp = (pid_t)pgrp;
	ps->sid = (pid_t)sid;
	ps->start = (unsigned long long)start;
	return 0;
}

/* 0, or -1 if pid is gone (or its stat cannot be read). */
static int
stat_read(pid_t pid, struct proc_stat *ps)
{
	char path[40], text[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	/* starttime comes well within the first 1 KiB */
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	return stat_parse(text, ps);
}

unsigned long long
lst_orphans_start_time(pid_t pid)
{
	struct proc_stat ps;

	return stat_read(pid, &ps) == 0 ? ps.start : 0;
}

/* The PID a /proc entry names, or 0 for the entries that are no process. */
static pid_t
proc_pid(const char *name)
{
	int64_t v;

	return mc_parse_i64(name, 1, INT32_MAX, &v) == 0 ? (pid_t)v : 0;
}

/* SIGKILL the group of every live process of session sid.  Returns how
 * many processes were signalled.  Groups, so that a child forked between
 * the scan and the kill, which is in its parent's group, dies as well. */
static int
session_scan_kill(pid_t sid, pid_t self)
{
	struct proc_stat ps;
	struct dirent *e;
	DIR *d = opendir("/proc");
	pid_t pid;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		pid = proc_pid(e->d_name);
		if (pid == 0 || pid == self || stat_read(pid, &ps) == -1 ||
		    ps.sid != sid || ps.state == 'Z' || ps.pgrp <= 1)
			continue;
		if (kill(-ps.pgrp, SIGKILL) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* Kill what is left of o's session; the number of processes it had. */
static int
session_kill(const struct orphan *o)
{
	struct proc_stat ps;
	pid_t self = getpid();
	int i, n, first = 0;

	if (stat_read(o->sid, &ps) == 0 && ps.start != o->start)
		return 0;	/* the PID is someone else's now */
	if (o->sid == getsid(0))
		return 0;	/* we were started from that command */
	for (i = 0; i < KILL_ROUNDS; i++) {
		n = session_scan_kill(o->sid, self);
		if (i == 0)
			first = n;
		if (n == 0)
			break;
	}
	return first;
}

/* ---- the file ---- */

static int
file_path(const struct lst *l, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/%s", l->conf.state_dir,
	    LST_RUNNING_FILE);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The kernel's boot id into l->kernel_boot ("" if unknown). */
static void
kernel_boot_read(struct lst *l)
{
	char *text = mc_read_file(BOOT_ID_PATH, 64, NULL);

	l->kernel_boot[0] = '\0';
	if (text == NULL)
		return;
	if (mc_strlcpy(l->kernel_boot, mc_trim(text),
	    sizeof(l->kernel_boot)) == -1)
		l->kernel_boot[0] = '\0';
	free(text);
}

/* One "PID STARTTIME ID" line into o.  0, or -1 if it is not one. */
static int
line_parse(const char *line, struct orphan *o)
{
	int64_t sid, start;
	const char *id;

	if (field_num(line, 0, 2, INT32_MAX, &sid) == -1 ||
	    field_num(line, 1, 0, INT64_MAX, &start) == -1)
		return -1;
	/* two fields parsed: the line has a first space */
	id = strchr(strchr(line, ' ') + 1, ' ');
	if (id == NULL || mc_strlcpy(o->id, id + 1, sizeof(o->id)) == -1)
		return -1;
	o->sid = (pid_t)sid;
	o->start = (unsigned long long)start;
	return 0;
}

static void
orphan_kill(const struct orphan *o)
{
	int n = session_kill(o);

	if (n > 0)
		mc_warn("command %s: killed %d leftover process%s from before "
		    "the restart (session %d)", o->id, n, n == 1 ? "" : "es",
		    (int)o->sid);
}

/* Each line after the first ("boot ID"), if that is this boot's. */
static void
sweep_text(const struct lst *l, char *text)
{
	char *line = text, *nl;
	struct orphan o;
	int first = 1;

	for (; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			break;		/* cut short: not ours to trust */
		*nl = '\0';
		if (first) {
			first = 0;
			if (strncmp(line, "boot ", 5) != 0 ||
			    strcmp(line + 5, l->kernel_boot) != 0)
				return;	/* rebooted since: nothing left */
			continue;
		}
		if (line_parse(line, &o) == 0)
			orphan_kill(&o);
	}
}

void
lst_orphans_sweep(struct lst *l)
{
	char path[MC_PATH_MAX], *text;

	kernel_boot_read(l);
	if (file_path(l, path, sizeof(path)) == -1)
		return;
	text = mc_read_file(path, LST_RUNNING_FILE_MAX, NULL);
	if (text == NULL) {
		if (errno != ENOENT)
			mc_warn("cannot read %s: %s", path, strerror(errno));
		return;
	}
	sweep_text(l, text);
	free(text);
	if (unlink(path) == -1)
		mc_warn("cannot remove %s: %s", path, strerror(errno));
}

/* The id as one word: the hub's ids are, but the protocol only bounds
 * their length, and a line break would make two lines. */
static void
id_word(const char *id, char *out, size_t size)
{
	size_t i;

	for (i = 0; id[i] != '\0' && i + 1 < size; i++)
		out[i] = (unsigned char)id[i] <= ' ' || id[i] == 0x7f ? '_' :
		    id[i];
	out[i] = '\0';
}

/* The file's text for the jobs in l into buf.  Its length, or -1. */
static int
file_text(const struct lst *l, char *buf, size_t size)
{
	const struct lst_job *j;
	char id[MC_ID_MAX];
	size_t len;
	int i, n;

	n = snprintf(buf, size, "boot %s\n", l->kernel_boot);
	if (n < 0)
		return -1;
	len = (size_t)n;
	for (i = 0; i < MC_LST_RUNNING_MAX && len < size; i++) {
		j = &l->jobs[i];
		if (!j->used)
			continue;
		id_word(j->id, id, sizeof(id));
		n = snprintf(buf + len, size - len, "%d %llu %s\n",
		    (int)j->pid, j->start, id);
		if (n < 0)
			return -1;
		len += (size_t)n;
	}
	return len < size ? (int)len : -1;
}

static int
jobs_running(const struct lst *l)
{
	int i;

	for (i = 0; i < MC_LST_RUNNING_MAX; i++)
		if (l->jobs[i].used)
			return 1;
	return 0;
}

/* Write n bytes to path through path.tmp and a rename.  0 or -1. */
static int
file_replace(const char *path, const char *text, size_t n)
{
	char tmp[MC_PATH_MAX + 8];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (lst_write_all(fd, text, n) == -1) {
		close(fd);
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1)
		goto fail;
	return 0;
fail:
	unlink(tmp);
	return -1;
}

void
lst_orphans_save(struct lst *l)
{
	char path[MC_PATH_MAX], text[LST_RUNNING_FILE_MAX];
	int n;

	if (file_path(l, path, sizeof(path)) == -1)
		return;
	if (!jobs_running(l)) {
		if (unlink(path) == -1 && errno != ENOENT)
			mc_warn("cannot remove %s: %s", path, strerror(errno));
		return;
	}
	n = file_text(l, text, sizeof(text));
	if (n == -1 || file_replace(path, text, (size_t)n) == -1)
		mc_warn("cannot record the running commands in %s: %s; a "
		    "listener killed now leaves their processes running", path,
		    n == -1 ? "too long" : strerror(errno));
}
