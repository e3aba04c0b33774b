/*
 * ctl_send.h - what the files of "hubctl send AGENT" share: ctl_send.c
 * submits the command and says how it ended, ctl_send_args.c reads the
 * command line (also a fan-out's) and ctl_send_follow.c follows the
 * command's output to its end.
 */
#ifndef CTL_SEND_H
#define CTL_SEND_H

#include "ctl.h"

#define CTL_SEND_PATH_LEN	(MC_PATH_MAX * 4)

/* What the stream said at its end. */
struct ctl_follow {
	int		 quiet;		/* --json: print no output */
	struct mc_buf	*collect;	/* stdout kept here; NULL: printed */
	/* A stream replays the output from its first byte, so when one
	 * is opened again only what lies past "done" is new. */
	size_t		 pos;		/* output bytes of this stream */
	size_t		 done;		/* output bytes handled */
	int		 ended;
	char		 status[16];
	int64_t		 exit_code;
	int		 truncated;
	char		 error[MC_TEXT_MAX];
};

/* One agent's command as it goes. */
struct ctl_run {
	const struct ctl_send	*q;
	char			 id[MC_ID_MAX];
	struct ctl_follow	 f;
	struct mc_buf		 out;	/* owned; docker_ps: its stdout */
};

/* ctl_send_args.c */
/* "send"'s flags and words into q (its cmd initialised by the caller),
 * then ctl_opts_finish().  0, or an exit status after saying why. */
int	ctl_send_parse(struct ctl *c, struct ctl_send *q, int argc,
	    char **argv);

/* ctl_send_follow.c */
/* Follow u's output to the stream's end line, opening the stream again
 * when the hub ends it early or comes back; u->f says how it ended.  0,
 * or an exit status after saying why. */
int	ctl_send_follow(struct ctl *c, struct ctl_run *u);

#endif
