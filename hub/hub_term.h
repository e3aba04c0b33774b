/*
 * hub_term.h - what the two halves of the terminal relay share: the
 * session, relayed by hub_term.c on the agent's side, and its client,
 * served by hub_term_client.c on /ws/term.  Nothing else includes it;
 * the rest of the hub reaches them through hub.h.
 */
#ifndef HUB_TERM_H
#define HUB_TERM_H

#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "mc_term.h"

struct hub_rec;

/*
 * One terminal session: a channel on its agent's connection.  hub_term.c
 * owns it, from term_open until the agent's term_end or the end of the
 * agent's connection; the client may leave before (client NULL).
 */
struct hub_term {
	uint32_t	 ch;
	char		 sid[MC_ID_MAX];
	char		 agent[MC_NAME_MAX + 1];
	char		 user[MC_NAME_MAX + 1];	/* the token's name */
	struct hub_conn	*aconn;		/* the agent's; not owned */
	struct hub_conn	*client;	/* not owned; NULL once it left */
	struct hub_rec	*rec;		/* owned until hub_rec_close(); NULL
					 * before term_started and after */
	int		 cols, rows;
	int		 pid;		/* the shell, from term_started */
	int		 started;	/* term_started came */
	int		 closing;	/* term_close sent */
	uint64_t	 out_unacked;	/* output received, not acknowledged */
	uint64_t	 out_queued;	/* of it, queued to the client */
	uint64_t	 out_written;	/* of it, written, ack not sent yet */
	uint64_t	 in_unacked;	/* input sent, not acknowledged */
	struct mc_buf	 pend;		/* owned: input waiting for window
					 * room, at most MC_TERM_WINDOW */
	struct hub_term	*next, *prev;	/* every session */
};

/* ---- hub_term.c: the client's session towards the agent ---- */

/* Open a session on the agent connection ac (signed-in agent) for client
 * and user: a channel, a session id, term_open carrying sig (the
 * operator's signature, or NULL; copied into the message, not kept).
 * NULL when out of memory.
 * The session is hub_term.c's; the client keeps a pointer until
 * hub_tclient_end() or hub_term_detach(). */
struct hub_term *hub_term_open(struct hub_conn *ac, struct hub_conn *client,
	    const char *user, int cols, int rows, const struct mc_sig *sig);
/* Sessions on ac (open or being opened, or ending). */
int	hub_term_count(const struct hub_conn *ac);
/* Keystrokes from the client: recorded, sent inside the input window;
 * the rest waits and the client is paused (hub_tclient_pause). */
void	hub_term_input(struct hub_term *s, const void *p, size_t n);
void	hub_term_resize(struct hub_term *s, int cols, int rows);
/* End it: term_close to the agent, whose term_end then ends it. */
void	hub_term_close(struct hub_term *s);
/* The client is gone: close, and take no more output for it. */
void	hub_term_detach(struct hub_term *s);
/* n bytes of its output were written to the client. */
void	hub_term_written(struct hub_term *s, size_t n);
/* Stopping: every session ends (recording, client, term_close). */
void	hub_term_shutdown(void);

/* ---- hub_term_client.c: what a session tells its client ---- */

/* The shell runs: {"t":"open"}. */
void	hub_tclient_opened(struct hub_conn *c, const struct hub_term *s);
/* Queue n bytes of output.  0, or -1 if the client takes none (closing,
 * or dropped for not reading). */
int	hub_tclient_output(struct hub_conn *c, const void *p, size_t n);
/* The session is over: {"t":"end"}, then close 1000.  exit_code is for
 * reason "exit", else -1.  The client forgets its session. */
void	hub_tclient_end(struct hub_conn *c, const char *reason, int exit_code,
	    const char *msg);
/* Stop (1) or resume (0) reading the client. */
void	hub_tclient_pause(struct hub_conn *c, int paused);

#endif
