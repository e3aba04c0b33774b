/*
 * ctl_fanout.h - what the files of a fan-out (send --tag TAG | --all)
 * share: ctl_fanout.c posts the commands and reports how they ended,
 * ctl_fanout_follow.c follows every command's output.
 */
#ifndef CTL_FANOUT_H
#define CTL_FANOUT_H

#include "ctl.h"

/* One targeted agent and its command. */
struct ctl_fan_target {
	char		 name[MC_NAME_MAX + 1];	/* as the hub has it */
	char		 safe[MC_NAME_MAX + 1];	/* printable */
	char		 id[MC_ID_MAX];		/* "": not reached */
	char		 path[MC_ID_MAX + 32];
	int		 print;		/* print output lines as they come */
	int		 notes;		/* say on stderr how it ended */
	struct mc_buf	 part[2];	/* owned; partial stdout, stderr line */
	size_t		 pos;		/* output bytes of this stream */
	size_t		 done;		/* output bytes printed (a stream
					   opened again replays them) */
	double		 opened;	/* when the stream was opened */
	int		 quick;		/* early ends in a row, each quick */
	int		 ended;		/* its end is known */
	int		 hub_err;	/* the hub was out of reach for it */
	int		 lost;		/* ... and may be back soon */
	char		 status[16];	/* not reached: the agent's status */
	int64_t		 exit_code;
	int		 truncated;
	char		 error[MC_TEXT_MAX];
};

struct ctl_fan {
	struct ctl		*c;
	const struct ctl_send	*q;
	struct ctl_fan_target	*t;		/* owned */
	size_t			 n;
	int			 records;	/* fetch every final record */
	int			 hub_lost;	/* so outcomes are unknown */
	int			 hubs_missing;	/* a cluster's hubs that did
						 * not take part */
	int			 json_more;	/* --json: a record printed */
	struct ctl_table	 docker;	/* docker_ps: every row */
	char			 said[CTL_WHY_MAX];	/* not said again */
};

/* ctl_fanout_follow.c */
/* Follow every reached agent's stream to its end, printing its lines as
 * they come; when the hub goes away, wait for it and follow again those
 * not ended.  0, or an exit status after saying why. */
int	ctl_fanout_follow(struct ctl_fan *fan);
/* Read the final records the output needs (--json, docker_ps,
 * screenshot) and those of commands whose stream did not say how they
 * ended, and print what they add. */
void	ctl_fanout_records(struct ctl_fan *fan);

#endif
