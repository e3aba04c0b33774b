/*
 * hub_rec.h - terminal session recordings: an asciicast v2 file per
 * session in DATA/sessions/, a row per session in hub.db, and the events
 * "terminal" opened/closed.  This is all the relay (hub_term*.c) tells the
 * recorder; GET /api/sessions and /cast read what it stored.
 *
 * Every call returns at once: the files are written and the rows stored
 * off the event loop, through a bounded queue.  A recording that cannot
 * keep up, or passes record_max, stops growing and says so in the cast;
 * the session itself is never slowed or ended by its recording.
 */
#ifndef HUB_REC_H
#define HUB_REC_H

#include <stddef.h>

struct hub_rec;

/* Start and stop the recorder (hub_main.c): the directory, the writer. */
int	hub_rec_init(const char *datadir);
void	hub_rec_shutdown(void);	/* after every session was closed */

/*
 * A session opened on agent for user (the token's name), in a window of
 * cols x rows: its row, the "opened" event, and the cast's header.  sid is
 * the session's id ("s-" and 16 hex digits; hub_rec_new_sid makes one).
 * Returns the recording, owned by the caller until hub_rec_close(); NULL
 * only when out of memory (the session goes on unrecorded; logged).
 */
void	hub_rec_new_sid(char *sid, size_t len);
struct hub_rec *hub_rec_open(const char *sid, const char *agent,
	    const char *user, int cols, int rows);
/* What the shell printed, what was typed (kept only with record_input),
 * a new window size. */
void	hub_rec_output(struct hub_rec *r, const void *p, size_t n);
void	hub_rec_input(struct hub_rec *r, const void *p, size_t n);
void	hub_rec_resize(struct hub_rec *r, int cols, int rows);
/*
 * The session ended: reason is one of exit, closed, idle, agent_gone,
 * shutdown, refused, failed (docs/api.md); exit_code is the shell's
 * status for exit, else -1.  Finishes the row and the event and frees r.
 */
void	hub_rec_close(struct hub_rec *r, const char *reason, int exit_code);

#endif
