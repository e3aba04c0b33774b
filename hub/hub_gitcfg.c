/*
 * hub_gitcfg.c - the git thread: the hub follows a repository of fleet
 * configuration (config_repo, config_branch) with libgit2.
 *
 * Every libgit2 call is made on this thread, never on the service thread
 * (here, and in the parser and the diff it calls).  The
 * thread keeps a bare mirror in DATA/config-repo (made on first use) and
 * fetches "+refs/heads/BRANCH:refs/remotes/origin/BRANCH" into it every
 * config_poll seconds, or at once when a sync is asked for.  The remote
 * branch's tip is what is applied: a force push moves the tip and the
 * next round follows it, as any new commit.  A tip not seen before is
 * read and checked in full (hub_gitcfg_parse.c); the result, good or
 * refused, goes to the service thread as one struct, which applies it in
 * one step (hub_gitcfg_apply.c).  Rollback asks for an older commit of
 * the mirror the same way; the tip seen stays, so the next new upstream
 * commit takes over again.  When a fetch fails at start, the mirror's
 * last fetched tip is applied, so a hub restarted while the remote is
 * unreachable still runs the configuration it had.  Between rounds the
 * thread answers diffs (hub_gitcfg_diff.c); a poke wakes it for those
 * without a round, and the poll keeps its time.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <git2.h>

#include "hub_gitcfg.h"
#include "hub_gitcred.h"
#include "mc_log.h"
#include "mc_util.h"

static struct {
	pthread_t	 thread;
	int		 running;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	uint64_t	 asked;		/* under mu: the newest sync asked */
	char		 rollback[HUB_GITCFG_OID_HEX];	/* under mu */
	int		 stop;		/* under mu */
	int		 poked;		/* under mu: hub_gitcfg_poke() */
	struct hub_gitcfg_result *done;	/* under mu; owned: not yet taken */
	/* the git thread's own */
	char		 url[MC_PATH_MAX];
	struct hub_gitcred cred;	/* how url is reached */
	char		 branch[128];
	char		 dir[MC_PATH_MAX + 32];
	double		 poll;
	git_oid		 seen;		/* the tip last read */
	int		 have_seen;
} gc = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

int
hub_gitcfg_url_check(const char *url, char *err, size_t errlen)
{
	return hub_gitcred_url_kind(url, err, errlen) == -1 ? -1 : 0;
}

/* config_repo and the config_ settings that reach it. */
static void
cred_fill(const struct hub_conf *c, struct hub_gitcred *g)
{
	hub_gitcred_set(g, "config", c->config_repo, c->config_user,
	    c->config_token_file, c->config_ssh_key, c->config_ssh_known_hosts,
	    c->config_ca);
}

int
hub_gitcfg_cred_check(const struct hub_conf *c, char *key, size_t keylen,
    char *err, size_t errlen)
{
	struct hub_gitcred g;

	cred_fill(c, &g);
	return hub_gitcred_check(&g, key, keylen, err, errlen);
}

/* ---- the mirror ---- */

static git_repository *
mirror_open(char *err, size_t errlen)
{
	git_repository *repo = NULL;

	if (git_repository_open_bare(&repo, gc.dir) == 0)
		return repo;
	if (mc_mkdir_p(gc.dir, 0700) == -1) {
		snprintf(err, errlen, "cannot create %.200s: %s", gc.dir,
		    strerror(errno));
		return NULL;
	}
	if (git_repository_init(&repo, gc.dir, 1) != 0) {
		snprintf(err, errlen, "cannot make the mirror %.200s: %.250s",
		    gc.dir,
		    hub_git_why());
		return NULL;
	}
	return repo;
}

static int
fetch(git_repository *repo, char *err, size_t errlen)
{
	if (hub_git_fetch(repo, &gc.cred, gc.branch, "maestro-hub fetch") == 0)
		return 0;
	snprintf(err, errlen, "cannot fetch %.200s: %.280s", gc.url,
	    hub_git_why());
	return -1;
}

static int
tip(git_repository *repo, git_oid *oid)
{
	char ref[200];

	snprintf(ref, sizeof(ref), "refs/remotes/origin/%s", gc.branch);
	return git_reference_name_to_id(oid, repo, ref) == 0 ? 0 : -1;
}

static void
commit_info(git_commit *c, struct hub_gitcfg_commit *out)
{
	const git_signature *a = git_commit_author(c);
	const char *subject = git_commit_summary(c);

	git_oid_tostr(out->id, sizeof(out->id), git_commit_id(c));
	mc_strlcpy(out->author, a && a->name ? a->name : "",
	    sizeof(out->author));
	mc_strlcpy(out->subject, subject ? subject : "", sizeof(out->subject));
	out->time = (double)git_commit_time(c);
}

/* Read and check commit oid into r. */
static void
read_commit(git_repository *repo, const git_oid *oid,
    struct hub_gitcfg_result *r)
{
	git_commit *c = NULL;

	r->has_commit = 1;
	git_oid_tostr(r->commit.id, sizeof(r->commit.id), oid);
	if (git_commit_lookup(&c, repo, oid) != 0) {
		snprintf(r->err, sizeof(r->err), "no commit %s in the mirror: "
		    "%.300s", r->commit.id, hub_git_why());
		return;
	}
	commit_info(c, &r->commit);
	r->set = hub_gitcfg_parse_commit(repo, c, r->err, sizeof(r->err));
	git_commit_free(c);
}

static void
read_log(git_repository *repo, const git_oid *from,
    struct hub_gitcfg_result *r)
{
	git_revwalk *walk = NULL;
	git_commit *c;
	git_oid oid;

	if (git_revwalk_new(&walk, repo) != 0 ||
	    git_revwalk_push(walk, from) != 0) {
		git_revwalk_free(walk);
		return;
	}
	git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
	while (r->nlog < HUB_GITCFG_LOG_MAX &&
	    git_revwalk_next(&oid, walk) == 0) {
		if (git_commit_lookup(&c, repo, &oid) != 0)
			break;
		commit_info(c, &r->log[r->nlog++]);
		git_commit_free(c);
	}
	git_revwalk_free(walk);
}

/* A rollback's commit: a full id, or a prefix of one, in the mirror. */
static int
rollback_oid(git_repository *repo, const char *hex, git_oid *oid,
    struct hub_gitcfg_result *r)
{
	git_object *o = NULL;

	if (git_revparse_single(&o, repo, hex) != 0 ||
	    git_object_type(o) != GIT_OBJECT_COMMIT) {
		r->has_commit = 1;
		mc_strlcpy(r->commit.id, hex, sizeof(r->commit.id));
		snprintf(r->err, sizeof(r->err), "rollback: %s is not a commit "
		    "of %.200s", hex, gc.url);
		git_object_free(o);
		return -1;
	}
	git_oid_cpy(oid, git_object_id(o));
	git_object_free(o);
	return 0;
}

/* One round: fetch, then the commit to apply if there is a new one. */
static struct hub_gitcfg_result *
round_run(git_repository *repo, uint64_t seq, const char *rollback)
{
	struct hub_gitcfg_result *r = calloc(1, sizeof(*r));
	git_oid oid;
	int have_tip;

	if (r == NULL)
		return NULL;
	r->seq = seq;
	r->fetched = mc_wall();
	r->fetch_ok = fetch(repo, r->fetch_err, sizeof(r->fetch_err)) == 0;
	have_tip = tip(repo, &oid) == 0;
	if (have_tip)
		read_log(repo, &oid, r);
	if (r->fetch_ok && !have_tip)
		snprintf(r->fetch_err, sizeof(r->fetch_err), "%.200s has no branch "
		    "'%s'", gc.url, gc.branch);
	r->fetch_ok = r->fetch_ok && have_tip;
	if (rollback[0] != '\0') {
		r->rollback = 1;
		if (rollback_oid(repo, rollback, &oid, r) == 0)
			read_commit(repo, &oid, r);
		return r;
	}
	if (have_tip && (!gc.have_seen || !git_oid_equal(&oid, &gc.seen))) {
		read_commit(repo, &oid, r);
		git_oid_cpy(&gc.seen, &oid);
		gc.have_seen = 1;
	}
	return r;
}

/* Hand r to the service thread.  An earlier round not yet taken gives r
 * its commit when r has none, so no commit is lost to a quicker round. */
static void
post(struct hub_gitcfg_result *r)
{
	struct hub_gitcfg_result *old;

	pthread_mutex_lock(&gc.mu);
	old = gc.done;
	if (old != NULL && !r->has_commit && old->has_commit) {
		r->has_commit = 1;
		r->rollback = old->rollback;
		r->commit = old->commit;
		r->set = old->set;
		old->set = NULL;
		memcpy(r->err, old->err, sizeof(r->err));
	}
	gc.done = r;
	pthread_mutex_unlock(&gc.mu);
	hub_gitcfg_result_free(old);
	hub_ws_wake();
}

/* Wait for the poll (until, wall clock), a sync, a poke or stop: 0 to run
 * a round, 1 for a poke alone (no round), -1 to stop. */
static int
wait_turn(uint64_t *seq, uint64_t seq_done, char *rollback, double until)
{
	struct timespec ts;
	int r = 0, round;

	ts.tv_sec = (time_t)until;
	ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
	pthread_mutex_lock(&gc.mu);
	while (!gc.stop && !gc.poked && gc.asked == seq_done &&
	    gc.rollback[0] == '\0' && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&gc.cv, &gc.mu, &ts);
	round = gc.asked != seq_done || gc.rollback[0] != '\0' ||
	    mc_wall() >= until;
	gc.poked = 0;
	*seq = gc.asked;
	mc_strlcpy(rollback, gc.rollback, HUB_GITCFG_OID_HEX);
	gc.rollback[0] = '\0';
	r = gc.stop ? -1 : round ? 0 : 1;
	pthread_mutex_unlock(&gc.mu);
	return r;
}

static void *
worker(void *arg)
{
	struct hub_gitcfg_result *r;
	char rollback[HUB_GITCFG_OID_HEX] = "", err[HUB_GITCFG_ERR_MAX];
	uint64_t seq = 0, seq_done = 0;
	git_repository *repo;
	double next = 0;
	int turn = 0;

	(void)arg;
	git_libgit2_init();
	repo = mirror_open(err, sizeof(err));
	do {
		if (repo == NULL)
			repo = mirror_open(err, sizeof(err));
		if (turn == 0) {
			if (repo != NULL)
				r = round_run(repo, seq, rollback);
			else if ((r = calloc(1, sizeof(*r))) != NULL) {
				r->seq = seq;
				r->fetched = mc_wall();
				mc_strlcpy(r->fetch_err, err,
				    sizeof(r->fetch_err));
			}
			if (r != NULL)
				post(r);
			seq_done = seq;
			next = mc_wall() + gc.poll;
		}
		if (repo != NULL)
			hub_gitcfg_diff_serve(repo);
	} while ((turn = wait_turn(&seq, seq_done, rollback, next)) >= 0);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return NULL;
}

int
hub_gitcfg_start(void)
{
	if (hub.conf.config_repo[0] == '\0')
		return 0;
	mc_strlcpy(gc.url, hub.conf.config_repo, sizeof(gc.url));
	cred_fill(&hub.conf, &gc.cred);
	mc_strlcpy(gc.branch, hub.conf.config_branch, sizeof(gc.branch));
	snprintf(gc.dir, sizeof(gc.dir), "%s/config-repo", hub.conf.data);
	gc.poll = hub.conf.config_poll;
	if (pthread_create(&gc.thread, NULL, worker, NULL) != 0) {
		mc_err("config repository: cannot start its thread");
		return -1;
	}
	gc.running = 1;
	mc_info("config repository: following %s (branch %s, every %gs)",
	    gc.url, gc.branch, gc.poll);
	return 0;
}

void
hub_gitcfg_stop(void)
{
	if (!gc.running)
		return;
	pthread_mutex_lock(&gc.mu);
	gc.stop = 1;
	pthread_cond_signal(&gc.cv);
	pthread_mutex_unlock(&gc.mu);
	pthread_join(gc.thread, NULL);
	gc.running = 0;
	hub_gitcfg_result_free(gc.done);
	gc.done = NULL;
}

int
hub_gitcfg_enabled(void)
{
	return gc.running;
}

void
hub_gitcfg_ask(uint64_t seq, const char *rollback)
{
	pthread_mutex_lock(&gc.mu);
	if (seq > gc.asked)
		gc.asked = seq;
	if (rollback != NULL)
		mc_strlcpy(gc.rollback, rollback, sizeof(gc.rollback));
	pthread_cond_signal(&gc.cv);
	pthread_mutex_unlock(&gc.mu);
}

void
hub_gitcfg_poke(void)
{
	pthread_mutex_lock(&gc.mu);
	gc.poked = 1;
	pthread_cond_signal(&gc.cv);
	pthread_mutex_unlock(&gc.mu);
}

int
hub_gitcfg_fetch_tip(git_repository *repo, git_oid *oid, char *err,
    size_t errlen)
{
	err[0] = '\0';
	fetch(repo, err, errlen);
	return tip(repo, oid);
}

struct hub_gitcfg_result *
hub_gitcfg_take(void)
{
	struct hub_gitcfg_result *r;

	pthread_mutex_lock(&gc.mu);
	r = gc.done;
	gc.done = NULL;
	pthread_mutex_unlock(&gc.mu);
	return r;
}

void
hub_gitcfg_result_free(struct hub_gitcfg_result *r)
{
	if (r == NULL)
		return;
	hub_gitcfg_set_free(r->set);
	free(r);
}
