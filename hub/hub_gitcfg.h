/*
 * hub_gitcfg.h - what the config repository's three files share: the git
 * thread (hub_gitcfg.c), the parser it calls (hub_gitcfg_parse.c) and the
 * service thread's side that applies and shows the result
 * (hub_gitcfg_apply.c), and the diff against what is applied
 * (hub_gitcfg_diff.c).  A result is built in full on the git thread and
 * handed to the service thread whole; nothing in it is shared after.
 */
#ifndef HUB_GITCFG_H
#define HUB_GITCFG_H

#include <stdint.h>

#include "hub.h"

#define HUB_GITCFG_FILE_MAX	(1024 * 1024)	/* bytes of one file */
#define HUB_GITCFG_AGENTS_MAX	20000	/* agents.conf entries */
#define HUB_GITCFG_LOG_MAX	50	/* commits kept for config log */
#define HUB_GITCFG_ERR_MAX	512
#define HUB_GITCFG_OID_HEX	41	/* 40 hex digits and NUL */
#define HUB_GITCFG_WAITERS	64	/* syncs waiting for an answer */
#define HUB_GITCFG_DIFF_MAX	(256 * 1024)	/* bytes of a diff's patch */
#define HUB_GITCFG_DIFF_FILES	1000	/* files a diff lists */
#define HUB_GITCFG_ROUTES_MAX	256	/* alerts.conf lines */

/* One agents.conf line. */
struct hub_gitcfg_agent {
	char		 name[MC_NAME_MAX + 1];
	int		 ntags;
	char		 tags[MC_TAGS_MAX][MC_TAG_MAX + 1];
	char		 description[MC_TEXT_MAX];
	char		 owner[MC_NAME_MAX + 1];
};

/* One alerts.conf line: alerts about an agent it matches go to chans.
 * tag and agent both "": the line is "*", which matches every agent. */
struct hub_gitcfg_route {
	char		 tag[MC_TAG_MAX + 1];
	char		 agent[MC_NAME_MAX + 1];
	unsigned	 chans;		/* hub_notify_chan_bit()s */
};

/* One commit, as shown by config status and config log. */
struct hub_gitcfg_commit {
	char		 id[HUB_GITCFG_OID_HEX];
	char		 author[MC_NAME_MAX + 1];
	char		 subject[MC_TEXT_MAX];
	double		 time;		/* wall clock */
};

/* Everything one commit says, checked in full. */
struct hub_gitcfg_set {
	struct hub_rules	*rules;		/* owned; never NULL */
	struct hub_silence_plan	*silences;	/* owned: MC_SILENCES_MAX */
	int			 nsilences;
	struct hub_gitcfg_agent	*agents;	/* owned, sorted by name */
	int			 nagents;
	struct hub_gitcfg_route	*routes;	/* owned, in file order; NULL
						 * with no alerts.conf line */
	int			 nroutes;
};

/* What one round of the git thread found, handed to the service thread
 * (which owns it from hub_gitcfg_take() on). */
struct hub_gitcfg_result {
	uint64_t		 seq;		/* the last sync it answers */
	double			 fetched;	/* wall clock of the fetch */
	int			 fetch_ok;
	char			 fetch_err[HUB_GITCFG_ERR_MAX];
	int			 rollback;	/* the commit was asked for */
	int			 has_commit;	/* commit and set/err are set */
	struct hub_gitcfg_commit commit;
	struct hub_gitcfg_set	*set;		/* owned; NULL when refused */
	char			 err[HUB_GITCFG_ERR_MAX];	/* refused */
	int			 nlog;
	struct hub_gitcfg_commit log[HUB_GITCFG_LOG_MAX];	/* newest
								 * first */
};

/* ---- hub_gitcfg_parse.c (git thread; touches nothing shared) ---- */

struct hub_gitcfg_set *hub_gitcfg_set_new(void);
void	hub_gitcfg_set_free(struct hub_gitcfg_set *s);
/* Parse file name (one of the files the repository may hold: text of
 * len bytes, no NUL needed) into s.  0, or -1 with "name:line: why" in
 * err.  A name that is not one of them is refused too. */
int	hub_gitcfg_parse_file(struct hub_gitcfg_set *s, const char *name,
	    const char *text, size_t len, char *err, size_t errlen);
/* After every file: sort the agents and refuse one named twice.  0/-1. */
int	hub_gitcfg_parse_end(struct hub_gitcfg_set *s, char *err,
	    size_t errlen);
/* Every config file of commit (read from its tree, each capped at
 * HUB_GITCFG_FILE_MAX): a set owned by the caller, or NULL with
 * "file:line: why" in err. */
struct git_repository;
struct git_commit;
struct hub_gitcfg_set *hub_gitcfg_parse_commit(struct git_repository *repo,
	    struct git_commit *commit, char *err, size_t errlen);

/* ---- hub_gitcfg_apply.c (service thread) ---- */

/* agents.conf's entries in force, sorted by name (*out borrowed until the
 * next commit applied): how many. */
int	hub_gitcfg_agents(const struct hub_gitcfg_agent **out);
/* agents.conf's entry for name in force, or NULL. */
const struct hub_gitcfg_agent *hub_gitcfg_agent_find(const char *name);

/* ---- hub_gitcfg.c: the git thread ---- */

/* A finished round, or NULL: the service thread owns what it takes. */
struct hub_gitcfg_result *hub_gitcfg_take(void);
void	hub_gitcfg_result_free(struct hub_gitcfg_result *r);
/* Ask for a fetch now (seq: the sync's number, answered by the result
 * whose seq reaches it), or for commit hex to be applied (rollback). */
void	hub_gitcfg_ask(uint64_t seq, const char *rollback);
/* Wake the git thread for work other than a round (a diff); any thread. */
void	hub_gitcfg_poke(void);
/* Git thread: fetch now, then the remote branch's tip into oid: 0, or -1
 * when the mirror has none.  A failed fetch leaves its reason in err
 * (else "") and oid the tip fetched last. */
struct git_oid;
int	hub_gitcfg_fetch_tip(struct git_repository *repo, struct git_oid *oid,
	    char *err, size_t errlen);

/* ---- hub_gitcfg_apply.c (service thread) ---- */

/* The commit in force ("" when none yet). */
const char *hub_gitcfg_applied_id(void);
/* 1 when s is a commit id or a prefix of one (4 to 40 lowercase hex). */
int	hub_gitcfg_hex_valid(const char *s);
/* 1 after answering 409 when the hub follows no config repository. */
int	hub_gitcfg_refuse_off(struct hub_req *r);

/* ---- hub_gitcfg_diff.c ---- */

/* Git thread, after each wake-up: answer the diffs asked for. */
void	hub_gitcfg_diff_serve(struct git_repository *repo);
/* Service thread, on wake-up: send the diffs' answers. */
void	hub_gitcfg_diff_drain(void);
/* Shutdown, after the git thread is joined. */
void	hub_gitcfg_diff_free_all(void);

#endif
