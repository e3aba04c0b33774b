/*
 * hub_backup_note.c - the service thread's side of the backup: changes
 * noted, snapshots handed to the git thread, the status shown.
 *
 * A change made through the API (a silence, a token, an enrollment key),
 * a config commit applied or hub.conf reloaded is noted in one line with
 * who made it (hub_backup_note()); the next cron tick builds one snapshot
 * of the hub's state for every change noted since (hub_backup_export.c)
 * and hands it to the git thread (hub_backup.c), so the loop only ever
 * formats text and takes a mutex.  The state at start is noted once the
 * store's first reads are in (the silences are read off the loop), so the
 * first snapshot holds them.  Pushes that start or stop failing are one
 * event each.
 *
 * Only the files a change touches are built again; the others stay as
 * the branch's tip has them.  agents.conf, 10,000 lines at 10,000 agents
 * (about 15 ms at once), is written HUB_BACKUP_AGENTS_STEP agents a tick,
 * its changes waiting until it is whole, and sorted on the git thread; it
 * is written for an agent enrolled or reporting other tags at most every
 * AGENTS_EVERY seconds: the first change at once, those after it together
 * when the interval is up.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hub_backup.h"
#include "mc_log.h"
#include "mc_util.h"

#define AGENTS_EVERY	10.0	/* seconds between agents.conf rebuilds
				 * for listeners' changes */

static struct {
	int			 enabled;
	int			 ready;		/* the store's reads are in */
	char			 msg[HUB_BACKUP_MSG_MAX];	/* lines */
	char			 author[HUB_BACKUP_AUTHOR_MAX];
	int			 nchanges;	/* noted, not handed over */
	int			 failing;	/* an event said so */
	struct hub_backup_status st;	/* as of the last tick */
	unsigned	 files;		/* HUB_BACKUP_*: touched since */
	double		 agents_built;	/* monotonic: agents.conf last built */
	int		 agents_dirty;	/* an agent changed since */
	int		 building;	/* agents is being written */
	int		 stopping;
	struct hub_backup_agents agents;
} bn;

void
hub_backup_agents_changed(void)
{
	bn.agents_dirty = bn.enabled;
}

/* Note the listeners' changes once the interval since the last build of
 * agents.conf is up. */
static void
agents_due(double now)
{
	if (!bn.agents_dirty || now - bn.agents_built < AGENTS_EVERY)
		return;
	bn.agents_dirty = 0;
	hub_backup_note(HUB_BACKUP_AGENTS, "maestro-hub", "agents enrolled or "
	    "reporting other tags");
}

int
hub_backup_enabled(void)
{
	return bn.enabled;
}

void
hub_backup_note(unsigned files, const char *who, const char *fmt, ...)
{
	char line[HUB_BACKUP_NOTE_MAX], *p;
	size_t n = strlen(bn.msg);
	va_list ap;
	int len;

	if (!bn.enabled)
		return;
	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (len >= 0 && (size_t)len < sizeof(line))
		snprintf(line + len, sizeof(line) - (size_t)len, " (by %s)",
		    who);
	/* a reason typed with a newline must not split the message */
	for (p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	if (n + strlen(line) + 6 < sizeof(bn.msg))
		snprintf(bn.msg + n, sizeof(bn.msg) - n, "%s%s", n ? "\n" : "",
		    line);
	else if (n + 5 < sizeof(bn.msg) && strstr(bn.msg, "\n...") == NULL)
		mc_strlcpy(bn.msg + n, "\n...", sizeof(bn.msg) - n);
	hub_backup_authors_join(bn.author, sizeof(bn.author), who);
	bn.nchanges++;
	bn.files |= files;
}

static void
ready_done(void *arg, int stored)
{
	(void)arg;
	(void)stored;
	bn.ready = 1;
	hub_backup_note(HUB_BACKUP_ALL, "maestro-hub", "State at hub start");
}

int
hub_backup_start(void)
{
	if (hub.conf.backup_repo[0] == '\0')
		return 0;
	if (hub_backup_thread_start() == -1)
		return -1;
	bn.enabled = 1;
	hub_backup_status_get(&bn.st);
	/* queued after the store's reads at start: done once they are */
	hub_db_read(NULL, ready_done, NULL);
	mc_info("backup: the hub's state goes to %s (branch %s) at every "
	    "change", hub.conf.backup_repo, hub.conf.backup_branch);
	return 0;
}

void
hub_backup_stop(void)
{
	bn.stopping = 1;
	hub_backup_cron(0);	/* what was noted last is committed too */
	mc_buf_free(&bn.agents.b);
	hub_backup_thread_stop();
	bn.enabled = 0;
}

/* agents.conf a step further (begun if need be): 1 once it is whole. */
static int
agents_step(void)
{
	if (!bn.building) {
		hub_backup_agents_begin(&bn.agents);
		bn.building = 1;
		bn.agents_built = mc_now();
		bn.agents_dirty = 0;
	}
	/* at shutdown the rest at once: nothing waits for a next tick */
	while (!hub_backup_agents_step(&bn.agents))
		if (!bn.stopping)
			return 0;
	bn.building = 0;
	return 1;
}

static void
hand_over(void)
{
	struct hub_backup_snap *s;
	int agents = (bn.files & HUB_BACKUP_AGENTS) != 0;

	if (agents && !agents_step())
		return;		/* the changes wait for the next tick */
	if ((s = hub_backup_snap_build(bn.files)) == NULL) {
		mc_warn("backup: out of memory; the changes are committed with "
		    "the next ones");
		mc_buf_free(&bn.agents.b);
		return;
	}
	if (agents)
		s->text[HUB_BACKUP_AGENTS_FILE] =
		    mc_buf_take(&bn.agents.b, &s->len[HUB_BACKUP_AGENTS_FILE]);
	mc_buf_free(&bn.agents.b);
	if (agents && s->text[HUB_BACKUP_AGENTS_FILE] == NULL) {
		mc_warn("backup: out of memory; the changes are committed with "
		    "the next ones");
		hub_backup_snap_free(s);
		return;
	}
	mc_strlcpy(s->author, bn.author, sizeof(s->author));
	mc_strlcpy(s->msg, bn.msg, sizeof(s->msg));
	s->nchanges = bn.nchanges;
	hub_backup_give(s);
	bn.msg[0] = bn.author[0] = '\0';
	bn.nchanges = 0;
	bn.files = 0;
}

static void
watch_push(void)
{
	char text[HUB_GITCFG_ERR_MAX + 128];

	hub_backup_status_get(&bn.st);
	if (!bn.st.push_ok && !bn.failing) {
		bn.failing = 1;
		mc_warn("backup: %s", bn.st.err);
		snprintf(text, sizeof(text), "Backup push failing: %s (tried "
		    "again with backoff)", bn.st.err);
		hub_event("backup", "", "ok", "push_failed", text);
	} else if (bn.st.push_ok && bn.failing) {
		bn.failing = 0;
		mc_info("backup: pushes to %s work again",
		    hub.conf.backup_repo);
		snprintf(text, sizeof(text), "Backup pushes to %.300s work "
		    "again.", hub.conf.backup_repo);
		hub_event("backup", "", "push_failed", "ok", text);
	}
}

void
hub_backup_cron(double now)
{
	(void)now;
	if (!bn.enabled)
		return;
	if (bn.ready)
		agents_due(mc_now());
	if (bn.ready && bn.nchanges > 0)
		hand_over();
	watch_push();
}

/* ---- the status ---- */

static void
time_or_null(struct mc_jw *w, const char *key, double t)
{
	if (t > 0)
		mc_jw_dbl(w, key, t);
	else
		mc_jw_null(w, key);
}

void
hub_backup_write(struct mc_jw *w)
{
	struct hub_backup_status now, *st = &now;

	/* the git thread's state now, not as of the last tick */
	hub_backup_status_get(&now);

	mc_jw_obj(w, "backup");
	mc_jw_bool(w, "enabled", bn.enabled);
	mc_jw_str(w, "repo", hub.conf.backup_repo);
	mc_jw_str(w, "branch", hub.conf.backup_branch);
	if (st->commit[0] != '\0') {
		mc_jw_obj(w, "last_commit");
		mc_jw_str(w, "id", st->commit);
		mc_jw_str(w, "subject", st->subject);
		mc_jw_dbl(w, "time", st->commit_time);
		mc_jw_obj_end(w);
	} else
		mc_jw_null(w, "last_commit");
	time_or_null(w, "last_push", st->last_push);
	time_or_null(w, "last_try", st->last_try);
	mc_jw_bool(w, "push_ok", st->push_ok);
	mc_jw_str(w, "error", st->push_ok ? "" : st->err);
	mc_jw_i64(w, "pending", st->pending + bn.nchanges);
	time_or_null(w, "next_try", st->next_try);
	mc_jw_obj_end(w);
}

void
hub_backup_prom(struct mc_buf *b)
{
	struct hub_backup_status st;

	if (!bn.enabled)
		return;
	hub_backup_status_get(&st);
	hub_prom_family(b, "maestro_backup_last_push_ok", "gauge",
	    "1 when the last push to backup_repo worked.");
	mc_buf_printf(b, "maestro_backup_last_push_ok %d\n", st.push_ok);
	hub_prom_family(b, "maestro_backup_pending", "gauge",
	    "Changes not yet pushed to backup_repo.");
	mc_buf_printf(b, "maestro_backup_pending %d\n",
	    st.pending + bn.nchanges);
	hub_prom_family(b, "maestro_backup_last_push_time_seconds", "gauge",
	    "When the last good push to backup_repo was (0: none yet).");
	mc_buf_printf(b, "maestro_backup_last_push_time_seconds %.3f\n",
	    st.last_push);
}
