/*
 * hub_backup.h - what the backup's three files share: the files built on
 * the service thread (hub_backup_export.c), the git thread that commits
 * and pushes them (hub_backup.c) and the service thread's notes, status
 * and metrics (hub_backup_note.c).  A snapshot is built whole on the
 * service thread and handed to the git thread, which owns it from then
 * on; the git thread's status is copied out under its mutex.
 */
#ifndef HUB_BACKUP_H
#define HUB_BACKUP_H

#include "hub_gitcfg.h"

#define HUB_BACKUP_NFILES	5
#define HUB_BACKUP_FILE_MAX	HUB_GITCFG_FILE_MAX	/* bytes of one file */
#define HUB_BACKUP_MSG_MAX	4096	/* a commit message */
#define HUB_BACKUP_NOTE_MAX	300	/* one change's line in it */
#define HUB_BACKUP_AUTHOR_MAX	128	/* names of who made the changes */
#define HUB_BACKUP_RETRY_MIN	1.0	/* first wait after a failed push */
#define HUB_BACKUP_AGENTS_STEP	1000	/* agents' lines written per tick */
#define HUB_BACKUP_AGENTS_FILE	2	/* agents.conf's index */

/* The files of a backup commit, in this order (rules.conf first). */
extern const char *const hub_backup_files[HUB_BACKUP_NFILES];

/* One state of the hub as files, and why it was taken. */
struct hub_backup_snap {
	char		*text[HUB_BACKUP_NFILES];	/* owned; NULL: as the
							 * tip has it */
	size_t		 len[HUB_BACKUP_NFILES];
	char		 author[HUB_BACKUP_AUTHOR_MAX];
	char		 msg[HUB_BACKUP_MSG_MAX];
	int		 nchanges;	/* changes the message names */
};

/* What the git thread did last; copied out whole. */
struct hub_backup_status {
	char		 commit[HUB_GITCFG_OID_HEX];	/* branch tip; "" */
	char		 subject[MC_TEXT_MAX];
	double		 commit_time;	/* wall clock; 0: none */
	double		 last_push;	/* wall clock of the last good push */
	double		 last_try;	/* ... of the last push tried */
	int		 push_ok;	/* the last push tried worked */
	int		 pending;	/* changes not pushed yet */
	double		 next_try;	/* wall clock of the next retry; 0 */
	char		 err[HUB_GITCFG_ERR_MAX];	/* the last failure */
};

/* agents.conf being written, a step per tick (10,000 agents' lines at
 * once would hold the loop for about 15 ms). */
struct hub_backup_agents {
	struct mc_buf		 b;	/* owned: the text so far */
	int			 full;	/* the size cap was reached */
	struct hub_agent	*next;	/* the next agent to write */
};

/* ---- hub_backup_export.c (service thread) ---- */

/* Start ab (its header); then steps until one says 1: the whole file is
 * in ab->b (unsorted: hub_backup_sort_lines() on the git thread). */
void	hub_backup_agents_begin(struct hub_backup_agents *ab);
int	hub_backup_agents_step(struct hub_backup_agents *ab);

/* The hub's state now as the backup's files of files (HUB_BACKUP_*,
 * but agents.conf, which is written in steps; text[i] NULL for the others,
 * which the commit takes from the branch's tip), each capped at HUB_BACKUP_FILE_MAX (past it the file ends with a
 * "# truncated" line): a snapshot owned by the caller, author and message
 * empty; NULL when out of memory. */
struct hub_backup_snap *hub_backup_snap_build(unsigned files);
void	hub_backup_snap_free(struct hub_backup_snap *s);
/* One silences.conf line (no newline), as hub_gitcfg_parse.c reads it:
 * whole seconds, start rounded down, the length kept (at least 1 s, at
 * most MC_SILENCE_MAX_SECS); control characters in the reason become
 * spaces.  Any thread. */
void	hub_backup_silence_line(struct mc_buf *b, const char *agent,
	    const char *tag, double start, double until, const char *reason);

/* ---- hub_backup.c: the git thread ---- */

/* text's lines that do not start with '#' sorted (agents.conf's by
 * name), in place: the '#' lines before them stay first, those after
 * last.  0, or -1 when out of memory (text unchanged).  Any thread. */
int	hub_backup_sort_lines(char *text, size_t len);

/* dst's names ("a, b"), then those of src that dst lacks, ", " between;
 * what does not fit dstlen is left out.  Any thread. */
void	hub_backup_authors_join(char *dst, size_t dstlen, const char *src);

/* Hand s (taken) to the git thread.  A snapshot not yet committed is
 * replaced by s, its changes' messages put before s's (bounded), so a
 * burst of changes is one commit.  Service thread; never blocks on git. */
void	hub_backup_give(struct hub_backup_snap *s);
void	hub_backup_status_get(struct hub_backup_status *st);
int	hub_backup_thread_start(void);
void	hub_backup_thread_stop(void);

#endif
