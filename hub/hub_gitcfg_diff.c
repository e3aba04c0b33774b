/*
 * hub_gitcfg_diff.c - GET /api/config/diff[?commit=HEX]: what would change
 * against the commit in force, and whether the target would be refused.
 *
 * Two threads meet here through one mutex and two lists.  The service
 * thread defers the request (at most HUB_GITCFG_WAITERS at once), queues
 * what it needs (the applied commit's id, the target asked for) and pokes
 * the git thread; it never waits.  The git thread (hub_gitcfg.c calls
 * hub_gitcfg_diff_serve() after each wake-up) fetches first when no commit
 * was named, since the remote's tip is what the next sync would apply,
 * diffs the two trees with libgit2, parses the target as a sync would,
 * and builds the whole JSON answer; the service thread, woken, only sends
 * it (hub_gitcfg_diff_drain()).  The patch is cut at HUB_GITCFG_DIFF_MAX
 * bytes (at a line's end, "truncated": true), the file list at
 * HUB_GITCFG_DIFF_FILES, and a blob past HUB_GITCFG_FILE_MAX is shown as
 * binary, so an answer's size has a bound whatever the repository holds.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "hub_api.h"
#include "hub_gitcfg.h"
#include "hub_gitcred.h"
#include "mc_util.h"

/* One diff, asked for and then answered. */
struct diff_job {
	uint64_t	 ticket;	/* hub_http_defer() */
	char		 from[HUB_GITCFG_OID_HEX];	/* applied; "" none */
	char		 to[HUB_GITCFG_OID_HEX];	/* asked; "" tip */
	/* the answer, set by the git thread */
	int		 status;	/* 200, or the error's */
	const char	*code;		/* static; status != 200 */
	char		 err[HUB_GITCFG_ERR_MAX];	/* status != 200 */
	char		*json;		/* owned; status 200 */
	size_t		 len;
	struct diff_job	*next;
};

static struct {
	pthread_mutex_t	 mu;
	struct diff_job	*asked;		/* under mu; owned, oldest first */
	struct diff_job	*done;		/* under mu; owned */
	int		 pending;	/* service thread's: unanswered */
} gd = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void
job_free(struct diff_job *j)
{
	if (j == NULL)
		return;
	free(j->json);
	free(j);
}

static void
list_free(struct diff_job *j)
{
	struct diff_job *next;

	for (; j != NULL; j = next) {
		next = j->next;
		job_free(j);
	}
}

/* ---- the git thread ---- */

static void
job_fail(struct diff_job *j, int status, const char *code, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static void
job_fail(struct diff_job *j, int status, const char *code, const char *fmt,
    ...)
{
	va_list ap;

	j->status = status;
	j->code = code;
	va_start(ap, fmt);
	vsnprintf(j->err, sizeof(j->err), fmt, ap);
	va_end(ap);
}

/* The commit j->to names (a full id or a prefix), or the remote's tip
 * after a fetch when it names none (fetch_err says why a fetch failed).
 * NULL after job_fail(). */
static git_commit *
target(git_repository *repo, struct diff_job *j, char *fetch_err,
    size_t errlen)
{
	git_object *o = NULL;
	git_commit *c = NULL;
	git_oid oid;
	int r;

	if (j->to[0] == '\0') {
		if (hub_gitcfg_fetch_tip(repo, &oid, fetch_err, errlen) == -1)
			job_fail(j, 404, "not_found", "no commit to compare "
			    "with: the branch was never fetched (%.300s)",
			    fetch_err[0] != '\0' ? fetch_err : "it has no tip");
		else if (git_commit_lookup(&c, repo, &oid) != 0)
			job_fail(j, 500, "internal", "cannot read the tip: "
			    "%.300s", hub_git_why());
		return c;
	}
	r = git_revparse_single(&o, repo, j->to);
	if (r == GIT_ENOTFOUND) {
		/* pushed since the last fetch, perhaps */
		hub_gitcfg_fetch_tip(repo, &oid, fetch_err, errlen);
		r = git_revparse_single(&o, repo, j->to);
	}
	if (r == GIT_EAMBIGUOUS)
		job_fail(j, 400, "bad_request", "%s names more than one commit: "
		    "give more of its digits", j->to);
	else if (r != 0 || git_object_type(o) != GIT_OBJECT_COMMIT)
		job_fail(j, 404, "not_found", "no commit %s in the config "
		    "repository (hubctl config log lists its commits)", j->to);
	else
		c = (git_commit *)o;
	if (c == NULL)
		git_object_free(o);
	return c;
}

static const char *
status_name(git_delta_t s)
{
	switch (s) {
	case GIT_DELTA_ADDED:
		return "added";
	case GIT_DELTA_DELETED:
		return "deleted";
	case GIT_DELTA_RENAMED:
		return "renamed";
	case GIT_DELTA_COPIED:
		return "copied";
	case GIT_DELTA_TYPECHANGE:
		return "typechange";
	default:
		return "modified";
	}
}

struct patch {
	struct mc_buf	 b;	/* owned; at most HUB_GITCFG_DIFF_MAX */
	int		 truncated;
};

/* git_diff_print()'s line callback: a line as "git diff" prints it, or
 * stop (1) when the next one would pass the bound. */
static int
patch_line(const git_diff_delta *delta, const git_diff_hunk *hunk,
    const git_diff_line *l, void *arg)
{
	struct patch *p = arg;
	int mark = l->origin == GIT_DIFF_LINE_CONTEXT ||
	    l->origin == GIT_DIFF_LINE_ADDITION ||
	    l->origin == GIT_DIFF_LINE_DELETION;
	char c = (char)l->origin;

	(void)delta;
	(void)hunk;
	if (p->b.len + l->content_len + 1 > HUB_GITCFG_DIFF_MAX ||
	    (mark && mc_buf_append(&p->b, &c, 1) == -1) ||
	    mc_buf_append(&p->b, l->content, l->content_len) == -1) {
		p->truncated = 1;
		return 1;
	}
	return 0;
}

static void
commit_write(struct mc_jw *w, git_commit *c)
{
	const git_signature *a = git_commit_author(c);
	const char *subject = git_commit_summary(c);
	char id[HUB_GITCFG_OID_HEX];

	git_oid_tostr(id, sizeof(id), git_commit_id(c));
	mc_jw_obj(w, "target");
	mc_jw_str(w, "id", id);
	mc_jw_str(w, "author", a != NULL && a->name != NULL ? a->name : "");
	mc_jw_str(w, "subject", subject != NULL ? subject : "");
	mc_jw_dbl(w, "time", (double)git_commit_time(c));
	mc_jw_obj_end(w);
}

/* The files a diff touches, at most HUB_GITCFG_DIFF_FILES of them. */
static void
files_write(struct mc_jw *w, git_diff *diff)
{
	size_t i, n = git_diff_num_deltas(diff);
	const git_diff_delta *d;

	mc_jw_arr(w, "files");
	for (i = 0; i < n && i < HUB_GITCFG_DIFF_FILES; i++) {
		d = git_diff_get_delta(diff, i);
		mc_jw_obj(w, NULL);
		mc_jw_str(w, "path", d->status == GIT_DELTA_DELETED ?
		    d->old_file.path : d->new_file.path);
		mc_jw_str(w, "status", status_name(d->status));
		mc_jw_obj_end(w);
	}
	mc_jw_arr_end(w);
	mc_jw_bool(w, "files_truncated", n > HUB_GITCFG_DIFF_FILES);
}

/* The answer: from, to, target, fetch_error, refused/error, files,
 * patch, truncated. */
static void
answer_build(git_repository *repo, struct diff_job *j, git_commit *to,
    git_diff *diff, const char *fetch_err)
{
	struct hub_gitcfg_set *set;
	char refused[HUB_GITCFG_ERR_MAX] = "", id[HUB_GITCFG_OID_HEX];
	struct patch p = { .truncated = 0 };
	struct mc_buf b;
	struct mc_jw w;

	set = hub_gitcfg_parse_commit(repo, to, refused, sizeof(refused));
	hub_gitcfg_set_free(set);
	mc_buf_init(&p.b, HUB_GITCFG_DIFF_MAX);	/* owned: freed below */
	git_diff_print(diff, GIT_DIFF_FORMAT_PATCH, patch_line, &p);
	git_oid_tostr(id, sizeof(id), git_commit_id(to));
	mc_buf_init(&b, HUB_API_RESP_MAX);	/* owned: taken or freed */
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "from", j->from);
	mc_jw_str(&w, "to", id);
	commit_write(&w, to);
	mc_jw_str(&w, "fetch_error", fetch_err);
	mc_jw_bool(&w, "refused", set == NULL);
	mc_jw_str(&w, "error", set == NULL ? refused : "");
	files_write(&w, diff);
	mc_jw_strn(&w, "patch", p.b.data != NULL ? p.b.data : "", p.b.len);
	mc_jw_bool(&w, "truncated", p.truncated);
	mc_jw_i64(&w, "max_bytes", HUB_GITCFG_DIFF_MAX);
	mc_jw_obj_end(&w);
	mc_buf_free(&p.b);
	if (mc_jw_done(&w) == -1 || mc_buf_puts(&b, "\n") == -1) {
		mc_buf_free(&b);
		job_fail(j, 500, "internal", "the diff did not fit its reply");
		return;
	}
	j->status = 200;
	j->json = mc_buf_take(&b, &j->len);
}

static void
job_run(git_repository *repo, struct diff_job *j)
{
	char fetch_err[HUB_GITCFG_ERR_MAX] = "";
	git_commit *from = NULL, *to;
	git_tree *ft = NULL, *tt = NULL;
	git_diff *diff = NULL;
	git_diff_options o;
	git_oid oid;

	if ((to = target(repo, j, fetch_err, sizeof(fetch_err))) == NULL)
		return;
	if (j->from[0] != '\0' && (git_oid_fromstr(&oid, j->from) != 0 ||
	    git_commit_lookup(&from, repo, &oid) != 0)) {
		job_fail(j, 500, "internal", "cannot read the applied commit "
		    "%s: %.300s", j->from, hub_git_why());
		goto done;
	}
	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	o.max_size = HUB_GITCFG_FILE_MAX;	/* bigger blobs: "binary" */
	if ((from != NULL && git_commit_tree(&ft, from) != 0) ||
	    git_commit_tree(&tt, to) != 0 ||
	    git_diff_tree_to_tree(&diff, repo, ft, tt, &o) != 0) {
		job_fail(j, 500, "internal", "cannot diff the commits: %.300s",
		    hub_git_why());
		goto done;
	}
	answer_build(repo, j, to, diff, fetch_err);
done:
	git_diff_free(diff);
	git_tree_free(tt);
	git_tree_free(ft);
	git_commit_free(from);
	git_commit_free(to);
}

void
hub_gitcfg_diff_serve(git_repository *repo)
{
	struct diff_job *done, **tail;

	pthread_mutex_lock(&gd.mu);
	done = gd.asked;
	gd.asked = NULL;
	pthread_mutex_unlock(&gd.mu);
	if (done == NULL)
		return;
	for (tail = &done; *tail != NULL; tail = &(*tail)->next)
		job_run(repo, *tail);
	pthread_mutex_lock(&gd.mu);
	*tail = gd.done;
	gd.done = done;
	pthread_mutex_unlock(&gd.mu);
	hub_ws_wake();
}

/* ---- the service thread ---- */

void
hub_gitcfg_diff_drain(void)
{
	struct diff_job *j, *next;

	pthread_mutex_lock(&gd.mu);
	j = gd.done;
	gd.done = NULL;
	pthread_mutex_unlock(&gd.mu);
	for (; j != NULL; j = next) {
		next = j->next;
		gd.pending--;
		hub_api_deferred_fail(j->ticket, j->json, j->len, NULL,
		    j->status, j->code, j->err);
		j->json = NULL;		/* taken */
		job_free(j);
	}
}

/* GET /api/config/diff[?commit=HEX] */
void
hub_api_config_diff(struct hub_req *r)
{
	struct diff_job *j, **pp;
	char hex[64];

	if (hub_gitcfg_refuse_off(r))
		return;
	hub_api_query_str(r, "commit", hex, sizeof(hex));
	if (hex[0] != '\0' && !hub_gitcfg_hex_valid(hex)) {
		hub_http_error(r, 400, "bad_request", "commit must be a commit "
		    "id (4 to 40 lowercase hex digits)");
		return;
	}
	if (gd.pending >= HUB_GITCFG_WAITERS) {
		hub_http_error(r, 503, "busy", "%d diffs are being made "
		    "already; try again in a moment", HUB_GITCFG_WAITERS);
		r->http->retry_after = 1;
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {	/* owned: the lists */
		hub_http_error(r, 503, "unavailable", "out of memory");
		return;
	}
	if ((j->ticket = hub_http_defer(r)) == 0) {
		free(j);
		return;
	}
	mc_strlcpy(j->from, hub_gitcfg_applied_id(), sizeof(j->from));
	mc_strlcpy(j->to, hex, sizeof(j->to));
	gd.pending++;
	pthread_mutex_lock(&gd.mu);
	for (pp = &gd.asked; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = j;
	pthread_mutex_unlock(&gd.mu);
	hub_gitcfg_poke();
}

void
hub_gitcfg_diff_free_all(void)
{
	list_free(gd.asked);
	list_free(gd.done);
	gd.asked = gd.done = NULL;
	gd.pending = 0;
}
