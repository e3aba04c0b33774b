/*
 * hub_backup.c - the backup's git thread: snapshots of the hub's state
 * (hub_backup_export.c) committed to a repository of its own and pushed
 * to backup_repo with libgit2.
 *
 * Every libgit2 call of the backup is made here, never on the service
 * thread, which only hands a snapshot over (hub_backup_give(): one slot,
 * so a burst of changes waiting for a slow push is one commit with their
 * messages joined).  The thread keeps a bare repository in
 * DATA/backup-repo, commits each snapshot there on backup_branch when its
 * tree differs from the branch's tip (never an empty commit), then pushes
 * the branch to backup_repo.  A plain path that does not exist is made a
 * bare repository first; a file:// URL must be one already.
 *
 * Before a push the remote branch is fetched: at the first start (no
 * local branch yet) the local branch starts from it, so a hub whose data
 * directory was wiped continues the same history; if someone else pushed
 * to it, the hub commits a merge that keeps its own state (the other
 * history stays as a parent) and pushes that.  A failed push is tried
 * again after HUB_BACKUP_RETRY_MIN seconds, doubling up to
 * backup_retry_max; a new commit is pushed at once.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "hub_backup.h"
#include "hub_gitcred.h"
#include "mc_log.h"
#include "mc_util.h"

#define COMMITTER	"maestro-hub"
/* git wants an e-mail address; the hub's tokens have none */
#define EMAIL		"maestro-hub"

static struct {
	pthread_t	 thread;
	int		 running;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct hub_backup_snap *next;	/* under mu; owned: not yet taken */
	int		 stop;		/* under mu */
	struct hub_backup_status st;	/* under mu */
	int		 own_pending;	/* under mu: held + unpushed */
	/* the git thread's own */
	char		 url[MC_PATH_MAX];
	struct hub_gitcred cred;	/* how url is reached */
	char		 refused[HUB_GITCFG_ERR_MAX];	/* a push's */
	char		 branch[128];
	char		 ref[160];	/* refs/heads/BRANCH */
	char		 dir[MC_PATH_MAX + 32];
	double		 retry_max;
	struct hub_backup_snap *held;	/* owned: not committed yet */
	int		 unpushed;	/* changes committed, not pushed */
	int		 need_push;
	double		 backoff, next_try;
} bk = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

/* ---- joining snapshots ---- */

void
hub_backup_authors_join(char *dst, size_t dstlen, const char *src)
{
	char name[MC_NAME_MAX + 1], *hay;
	const char *p = src, *e;
	size_t n;

	while (*p != '\0') {
		e = strstr(p, ", ");
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		p += n + (e != NULL ? 2 : 0);
		if (name[0] == '\0')
			continue;
		n = strlen(name);
		for (hay = dst; (hay = strstr(hay, name)) != NULL; hay++)
			if ((hay == dst || (hay - dst >= 2 && hay[-2] == ',')) &&
			    (hay[n] == '\0' || hay[n] == ','))
				break;
		if (hay == NULL && strlen(dst) + n + 3 < dstlen)
			snprintf(dst + strlen(dst), dstlen - strlen(dst), "%s%s",
			    dst[0] ? ", " : "", name);
	}
}

/* s's changes after old's: s keeps the newer files and takes old's where
 * it has none, old is freed. */
static struct hub_backup_snap *
snap_join(struct hub_backup_snap *old, struct hub_backup_snap *s)
{
	char msg[HUB_BACKUP_MSG_MAX], authors[HUB_BACKUP_AUTHOR_MAX];
	int i;

	if (old == NULL)
		return s;
	for (i = 0; i < HUB_BACKUP_NFILES; i++) {
		if (s->text[i] != NULL || old->text[i] == NULL)
			continue;
		s->text[i] = old->text[i];
		s->len[i] = old->len[i];
		old->text[i] = NULL;
	}
	mc_strlcpy(authors, old->author, sizeof(authors));
	hub_backup_authors_join(authors, sizeof(authors), s->author);
	mc_strlcpy(s->author, authors, sizeof(s->author));
	if (snprintf(msg, sizeof(msg), "%s%s%s", old->msg, old->msg[0] &&
	    s->msg[0] ? "\n" : "", s->msg) >= (int)sizeof(msg))
		memcpy(msg + sizeof(msg) - 5, "\n...", 5);
	mc_strlcpy(s->msg, msg, sizeof(s->msg));
	s->nchanges += old->nchanges;
	hub_backup_snap_free(old);
	return s;
}

/* ---- repositories ---- */

static git_repository *
repo_init(const char *path, char *err, size_t errlen)
{
	git_repository_init_options o;
	git_repository *repo = NULL;

	git_repository_init_options_init(&o, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	o.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
	o.initial_head = bk.branch;
	if (git_repository_init_ext(&repo, path, &o) != 0) {
		snprintf(err, errlen, "cannot make a repository at %.200s: "
		    "%.250s", path, hub_git_why());
		return NULL;
	}
	return repo;
}

static git_repository *
mirror_open(char *err, size_t errlen)
{
	git_repository *repo = NULL;

	if (git_repository_open_bare(&repo, bk.dir) == 0)
		return repo;
	return repo_init(bk.dir, err, errlen);
}

/* backup_repo as a plain path that is not there yet: a bare repository
 * there, so a fresh hub needs no git command to start backing up. */
static int
target_ensure(char *err, size_t errlen)
{
	git_repository *repo;

	if (hub_gitcred_url_kind(bk.url, err, errlen) != GITCRED_LOCAL ||
	    strncmp(bk.url, "file://", 7) == 0 || access(bk.url, F_OK) == 0)
		return 0;
	if ((repo = repo_init(bk.url, err, errlen)) == NULL)
		return -1;
	mc_info("backup: made the bare repository %s", bk.url);
	git_repository_free(repo);
	return 0;
}

/* ---- commits ---- */

static int
line_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

int
hub_backup_sort_lines(char *text, size_t len)
{
	size_t i, n = 0, first, last, k;
	char **v, *copy, *p;

	for (i = 0; i < len; i++)
		n += text[i] == '\n';
	if (n == 0 || text[len - 1] != '\n')
		return 0;	/* not lines: left as is */
	v = calloc(n, sizeof(*v));		/* owned: freed below */
	copy = malloc(len);			/* owned: freed below */
	if (v == NULL || copy == NULL) {
		free(v);
		free(copy);
		return -1;
	}
	memcpy(copy, text, len);
	for (p = copy, k = 0; k < n; k++) {
		v[k] = p;
		/* each line ends so (counted above); a NUL in one ends it */
		p = memchr(p, '\n', len - (size_t)(p - copy));
		*p++ = '\0';
	}
	for (first = 0; first < n && v[first][0] == '#'; first++)
		;
	for (last = n; last > first && v[last - 1][0] == '#'; last--)
		;
	qsort(v + first, last - first, sizeof(*v), line_cmp);
	for (p = text, k = 0; k < n; k++) {
		i = strlen(v[k]);
		memcpy(p, v[k], i);
		p[i] = '\n';
		p += i + 1;
	}
	free(v);
	free(copy);
	return 0;
}

/* s's files over the tip's tree (base; NULL: none), as a tree. */
static int
snap_tree(git_repository *repo, const struct hub_backup_snap *s,
    const git_tree *base, git_oid *tree)
{
	git_treebuilder *tb = NULL;
	git_oid blob;
	int i, r;

	if ((r = git_treebuilder_new(&tb, repo, base)) != 0)
		return r;
	for (i = 0; i < HUB_BACKUP_NFILES && r == 0; i++) {
		if (s->text[i] == NULL)
			continue;
		r = git_blob_create_from_buffer(&blob, repo, s->text[i],
		    s->len[i]);
		if (r == 0)
			r = git_treebuilder_insert(NULL, tb, hub_backup_files[i],
			    &blob, GIT_FILEMODE_BLOB);
	}
	if (r == 0)
		r = git_treebuilder_write(tree, tb);
	git_treebuilder_free(tb);
	return r;
}

/* The subject names the change, or counts them above their lines. */
static void
snap_message(const struct hub_backup_snap *s, char *out, size_t outlen)
{
	if (s->nchanges <= 1 && strchr(s->msg, '\n') == NULL)
		snprintf(out, outlen, "%s\n", s->msg[0] ? s->msg : "backup");
	else
		snprintf(out, outlen, "%d changes (by %s)\n\n%s\n", s->nchanges,
		    s->author, s->msg);
}

static int
commit_make(git_repository *repo, const git_oid *tree_id,
    const char *author, const char *msg, const git_commit **parents,
    size_t nparents, git_oid *out)
{
	git_signature *a = NULL, *c = NULL;
	git_tree *tree = NULL;
	int r;

	r = git_tree_lookup(&tree, repo, tree_id);
	/* a name git refuses (angle brackets) must not stop every commit */
	if (r == 0 && (author[0] == '\0' ||
	    git_signature_now(&a, author, EMAIL) != 0))
		r = git_signature_now(&a, COMMITTER, EMAIL);
	if (r == 0)
		r = git_signature_now(&c, COMMITTER, EMAIL);
	if (r == 0)
		r = git_commit_create(out, repo, bk.ref, a, c, NULL, msg, tree,
		    nparents, parents);
	git_signature_free(a);
	git_signature_free(c);
	git_tree_free(tree);
	return r;
}

/* Commit s unless its tree is the tip's: 1 made, 0 the same, -1. */
static int
snap_commit(git_repository *repo, const struct hub_backup_snap *s,
    char *err, size_t errlen)
{
	char msg[HUB_BACKUP_MSG_MAX + 256];
	const git_commit *parents[1];
	git_commit *tip = NULL;
	git_tree *base = NULL;
	git_oid tree, tip_id, id;
	int r;

	if (git_reference_name_to_id(&tip_id, repo, bk.ref) == 0 &&
	    git_commit_lookup(&tip, repo, &tip_id) == 0)
		git_commit_tree(&base, tip);
	r = snap_tree(repo, s, base, &tree);
	git_tree_free(base);
	if (r != 0) {
		snprintf(err, errlen, "cannot write the backup's files into "
		    "%.200s: %.250s", bk.dir, hub_git_why());
		git_commit_free(tip);
		return -1;
	}
	if (tip != NULL && git_oid_equal(git_commit_tree_id(tip), &tree)) {
		git_commit_free(tip);
		return 0;
	}
	parents[0] = tip;
	snap_message(s, msg, sizeof(msg));
	r = commit_make(repo, &tree, s->author, msg, parents, tip ? 1 : 0,
	    &id);
	git_commit_free(tip);
	if (r != 0) {
		snprintf(err, errlen, "cannot commit in %.200s: %.250s", bk.dir,
		    hub_git_why());
		return -1;
	}
	return 1;
}

/* ---- the remote ---- */

static int
fetch(git_repository *repo, char *err, size_t errlen)
{
	if (hub_git_fetch(repo, &bk.cred, bk.branch, "maestro-hub backup") == 0)
		return 0;
	snprintf(err, errlen, "cannot reach %.200s: %.280s", bk.url,
	    hub_git_why());
	return -1;
}

/* The remote branch (just fetched) into the history: the start of the
 * local branch when there is none, a merge keeping the hub's tree when
 * the two went apart.  0/-1. */
static int
follow_remote(git_repository *repo, char *err, size_t errlen)
{
	char rref[200];
	const git_commit *parents[2];
	git_commit *mine = NULL, *theirs = NULL;
	git_reference *ref = NULL;
	git_oid rid, lid, id;
	int r = 0;

	snprintf(rref, sizeof(rref), "refs/remotes/origin/%s", bk.branch);
	if (git_reference_name_to_id(&rid, repo, rref) != 0)
		return 0;	/* the remote has no such branch yet */
	if (git_reference_name_to_id(&lid, repo, bk.ref) != 0) {
		r = git_reference_create(&ref, repo, bk.ref, &rid, 0,
		    "maestro-hub backup: start from the remote");
		git_reference_free(ref);
	} else if (!git_oid_equal(&lid, &rid) &&
	    git_graph_descendant_of(repo, &lid, &rid) != 1) {
		r = git_commit_lookup(&mine, repo, &lid);
		if (r == 0)
			r = git_commit_lookup(&theirs, repo, &rid);
		parents[0] = mine;
		parents[1] = theirs;
		if (r == 0)
			r = commit_make(repo, git_commit_tree_id(mine), COMMITTER,
			    "Keep the hub's state over other commits of the "
			    "backup branch\n", parents, 2, &id);
		if (r == 0)
			mc_warn("backup: %s's branch %s had commits the hub did "
			    "not make; merged, keeping the hub's state",
			    bk.url, bk.branch);
	}
	git_commit_free(mine);
	git_commit_free(theirs);
	if (r != 0)
		snprintf(err, errlen, "cannot follow %.200s's branch %.60s: %.200s",
		    bk.url, bk.branch, hub_git_why());
	return r == 0 ? 0 : -1;
}

/* (the payload is the credentials' for hub_gitcred.c; bk.refused is this
 * thread's own) */
static int
push_ref_cb(const char *refname, const char *status, void *data)
{
	(void)data;
	if (status != NULL)
		snprintf(bk.refused, sizeof(bk.refused), "%.200s refused the "
		    "push of %.100s: %.150s", bk.url, refname, status);
	return 0;
}

static int
push(git_repository *repo, char *err, size_t errlen)
{
	git_push_options po;
	git_remote *remote = NULL;
	char spec[340];
	char *specs[1] = { spec };
	git_strarray refs = { specs, 1 };
	int r;

	if (target_ensure(err, errlen) == -1 ||
	    fetch(repo, err, errlen) == -1 ||
	    follow_remote(repo, err, errlen) == -1)
		return -1;
	snprintf(spec, sizeof(spec), "%s:%s", bk.ref, bk.ref);
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	hub_gitcred_callbacks(&bk.cred, &po.callbacks);
	po.callbacks.push_update_reference = push_ref_cb;
	bk.refused[0] = '\0';
	r = hub_git_remote(repo, bk.url, &remote);
	if (r == 0)
		r = git_remote_push(remote, &refs, &po);
	if (r != 0)
		snprintf(err, errlen, "cannot push to %.200s: %.280s", bk.url,
		    hub_git_why());
	else if (bk.refused[0] != '\0')
		mc_strlcpy(err, bk.refused, errlen);
	git_remote_free(remote);
	return r == 0 && bk.refused[0] == '\0' ? 0 : -1;
}

/* ---- the thread ---- */

static void
status_publish(git_repository *repo, const char *err)
{
	struct hub_backup_status *st = &bk.st;
	git_commit *c = NULL;
	git_oid id;

	pthread_mutex_lock(&bk.mu);
	if (repo != NULL && git_reference_name_to_id(&id, repo, bk.ref) == 0 &&
	    git_commit_lookup(&c, repo, &id) == 0) {
		git_oid_tostr(st->commit, sizeof(st->commit), &id);
		mc_strlcpy(st->subject, git_commit_summary(c) ?
		    git_commit_summary(c) : "", sizeof(st->subject));
		st->commit_time = (double)git_commit_time(c);
	}
	if (err != NULL)
		mc_strlcpy(st->err, err, sizeof(st->err));
	bk.own_pending = bk.unpushed + (bk.held ? bk.held->nchanges : 0);
	st->next_try = bk.need_push && !st->push_ok ? bk.next_try : 0;
	pthread_mutex_unlock(&bk.mu);
	git_commit_free(c);
}

static void
push_round(git_repository *repo)
{
	char err[HUB_GITCFG_ERR_MAX] = "";
	double now = mc_wall();
	int ok = push(repo, err, sizeof(err)) == 0;

	if (ok) {
		bk.unpushed = 0;
		bk.need_push = 0;
		bk.backoff = HUB_BACKUP_RETRY_MIN;
	} else {
		bk.next_try = now + bk.backoff;
		bk.backoff = fmin(bk.backoff * 2, bk.retry_max);
	}
	pthread_mutex_lock(&bk.mu);
	bk.st.last_try = now;
	bk.st.push_ok = ok;
	if (ok)
		bk.st.last_push = now;
	pthread_mutex_unlock(&bk.mu);
	status_publish(repo, ok ? "" : err);
}

/* Commit what is held; a push is due when a commit was made. */
static void
commit_round(git_repository *repo)
{
	char err[HUB_GITCFG_ERR_MAX] = "";
	char *agents = bk.held->text[HUB_BACKUP_AGENTS_FILE];
	int r;

	/* written in the agents' order, a step per tick: sorted here, off
	 * the loop (out of memory: committed unsorted) */
	if (agents != NULL && hub_backup_sort_lines(agents,
	    bk.held->len[HUB_BACKUP_AGENTS_FILE]) == -1)
		mc_warn("backup: out of memory; agents.conf left unsorted");
	r = snap_commit(repo, bk.held, err, sizeof(err));

	if (r == -1) {
		mc_warn("backup: %s", err);
		status_publish(repo, err);
		return;	/* kept in held: tried again with the next one */
	}
	if (r == 1) {
		bk.unpushed += bk.held->nchanges;
		bk.need_push = 1;
		bk.next_try = 0;
	}
	hub_backup_snap_free(bk.held);
	bk.held = NULL;
}

/* Wait for a snapshot, a retry due or stop; 1 when stopping. */
static int
wait_turn(void)
{
	struct timespec ts;
	int stop, r = 0;

	ts.tv_sec = (time_t)bk.next_try;
	ts.tv_nsec = (long)((bk.next_try - (double)ts.tv_sec) * 1e9);
	pthread_mutex_lock(&bk.mu);
	while (!bk.stop && bk.next == NULL && r != ETIMEDOUT) {
		if (bk.need_push)
			r = pthread_cond_timedwait(&bk.cv, &bk.mu, &ts);
		else
			pthread_cond_wait(&bk.cv, &bk.mu);
	}
	bk.held = snap_join(bk.held, bk.next);
	bk.next = NULL;
	/* still pending, now held: status never shows 0 while it is */
	bk.own_pending = bk.unpushed + (bk.held ? bk.held->nchanges : 0);
	stop = bk.stop;
	pthread_mutex_unlock(&bk.mu);
	return stop;
}

static void *
worker(void *arg)
{
	char err[HUB_GITCFG_ERR_MAX];
	git_repository *repo = NULL;
	git_oid id;
	int stop;

	(void)arg;
	git_libgit2_init();
	bk.backoff = HUB_BACKUP_RETRY_MIN;
	do {
		stop = wait_turn();
		if (repo == NULL && (repo = mirror_open(err,
		    sizeof(err))) == NULL) {
			mc_warn("backup: %s", err);
			pthread_mutex_lock(&bk.mu);
			bk.st.push_ok = 0;
			bk.st.last_try = mc_wall();
			pthread_mutex_unlock(&bk.mu);
			status_publish(NULL, err);
			bk.need_push = 1;
			bk.next_try = mc_wall() + bk.backoff;
			bk.backoff = fmin(bk.backoff * 2, bk.retry_max);
			continue;
		}
		/* a branch from an earlier run may be ahead of the remote */
		if (bk.st.last_try == 0 &&
		    git_reference_name_to_id(&id, repo, bk.ref) == 0)
			bk.need_push = 1;
		if (bk.held != NULL)
			commit_round(repo);
		if (bk.need_push && (stop || mc_wall() >= bk.next_try))
			push_round(repo);
		else
			status_publish(repo, NULL);
	} while (!stop);
	hub_backup_snap_free(bk.held);
	bk.held = NULL;
	git_repository_free(repo);
	git_libgit2_shutdown();
	return NULL;
}

/* backup_repo and the backup_ settings that reach it. */
static void
backup_cred(const struct hub_conf *c, struct hub_gitcred *g)
{
	hub_gitcred_set(g, "backup", c->backup_repo, c->backup_user,
	    c->backup_token_file, c->backup_ssh_key, c->backup_ssh_known_hosts,
	    c->backup_ca);
}

int
hub_backup_cred_check(const struct hub_conf *c, char *key, size_t keylen,
    char *err, size_t errlen)
{
	struct hub_gitcred g;

	backup_cred(c, &g);
	return hub_gitcred_check(&g, key, keylen, err, errlen);
}

int
hub_backup_thread_start(void)
{
	mc_strlcpy(bk.url, hub.conf.backup_repo, sizeof(bk.url));
	backup_cred(&hub.conf, &bk.cred);
	mc_strlcpy(bk.branch, hub.conf.backup_branch, sizeof(bk.branch));
	snprintf(bk.ref, sizeof(bk.ref), "refs/heads/%s", bk.branch);
	snprintf(bk.dir, sizeof(bk.dir), "%s/backup-repo", hub.conf.data);
	bk.retry_max = hub.conf.backup_retry_max;
	bk.st.push_ok = 1;
	if (pthread_create(&bk.thread, NULL, worker, NULL) != 0) {
		mc_err("backup: cannot start its thread");
		return -1;
	}
	bk.running = 1;
	return 0;
}

void
hub_backup_thread_stop(void)
{
	if (!bk.running)
		return;
	pthread_mutex_lock(&bk.mu);
	bk.stop = 1;
	pthread_cond_signal(&bk.cv);
	pthread_mutex_unlock(&bk.mu);
	pthread_join(bk.thread, NULL);
	bk.running = 0;
	hub_backup_snap_free(bk.next);
	bk.next = NULL;
}

void
hub_backup_give(struct hub_backup_snap *s)
{
	pthread_mutex_lock(&bk.mu);
	bk.next = snap_join(bk.next, s);
	pthread_cond_signal(&bk.cv);
	pthread_mutex_unlock(&bk.mu);
}

void
hub_backup_status_get(struct hub_backup_status *st)
{
	pthread_mutex_lock(&bk.mu);
	*st = bk.st;
	st->pending = bk.own_pending + (bk.next ? bk.next->nchanges : 0);
	pthread_mutex_unlock(&bk.mu);
}
