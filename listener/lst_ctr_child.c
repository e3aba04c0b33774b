/*
 * lst_ctr_child.c - the container tracker's child process: it follows
 * the Docker engine and writes a record (struct lst_ctr_rec) to the
 * listener for every container that changed.  Why a child at all is in
 * lst_ctr_proc.c.
 *
 * Rules kept here:
 * - Subscribe to the event stream first, then list and inspect every
 *   container (UP, one CTR each, SYNCED): an event that happens during
 *   the list waits in the stream, and inspecting again is harmless.
 * - Re-inspect a container on each of its events (exec_* and the like,
 *   which health checks make every few seconds, change nothing and are
 *   skipped); destroy sends GONE.
 * - stopped: docker stop (and restart, and Maestro's restart) logs a
 *   "stop" event around the "die"; docker kill does not.  A die that
 *   followed a kill waits up to LST_CTR_STOP_WAIT for that stop before it
 *   is sent, so the hub never sees a meant stop as a crash.  Cleared at
 *   the next start.
 * - One stats sample per running container every LST_CTR_STATS_EVERY,
 *   doubling to LST_CTR_STATS_IDLE while its figures do not move (an
 *   event or a change brings it back to every minute), all on one grid (one wake-up a minute for all of them) but one per
 *   loop turn, so events are never late behind the batch; CPU is
 *   the share of the host's CPU time between two samples, times the
 *   online CPUs (percent of one core).  Registry digests ("latest") every
 *   check_every, for images that came from a registry.
 * - A record is written only when something changed (figures: by more
 *   than LST_CTR_CPU_STEP / LST_CTR_MEM_STEP).
 * - The engine gone: DOWN, one log line, and reconnect 1 s doubling to
 *   MC_BACKOFF_CAP; back: one line again.  Every blocking request runs
 *   under alarm(LST_CTR_CALL_WAIT): an engine that never answers kills
 *   this child, and the listener starts another.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lst.h"
#include "mc_log.h"

/* The child's view of one container. */
struct cc_ent {
	char		full[65];	/* the engine's 64-digit id */
	struct mc_ctr	cur;		/* as known now */
	struct mc_ctr	sent;		/* as last written */
	int		have_sent;
	int		kill_seen;	/* a kill since the last start */
	int		stop_seen;	/* a stop since the last start */
	double		hold_until;	/* a die waiting for its stop; 0 */
	double		next_stats;	/* mc_now(); 0 = not running */
	double		stats_every;	/* seconds: longer while idle */
	int		have_prev;
	struct lst_ctr_stats prev;
};

/* A registry digest of one image reference. */
struct cc_img {
	char		ref[MC_IMAGE_MAX];
	char		latest[MC_CTR_DIGEST_MAX];
	double		failed_log;	/* mc_now() of the last failure line */
	unsigned	round;		/* the check that asked last */
};

struct cc {
	const char	*sock;
	int		 out;
	double		 check_every;
	double		 next_check;
	int		 n;
	struct cc_ent	 e[MC_CTR_MAX];
	int		 nimg;
	struct cc_img	 img[MC_CTR_MAX];
	unsigned	 round;		/* registry checks so far */
	struct lst_ctr_events ev;
	int		 down_logged;	/* the engine's absence was said */
	int		 over;		/* past MC_CTR_MAX, said */
};

static void
put(struct cc *cc, int type, const struct mc_ctr *c)
{
	struct lst_ctr_rec r;

	memset(&r, 0, sizeof(r));
	r.type = type;
	if (c != NULL)
		r.c = *c;
	/* the listener is gone: PDEATHSIG follows, or this */
	if (lst_write_all(cc->out, &r, sizeof(r)) == -1)
		_exit(0);
}

static int
figure_moved(double a, double b, double step)
{
	if (isnan(a) || isnan(b))
		return isnan(a) != isnan(b);
	return fabs(a - b) > step;
}

/* Everything but the figures, compared field by field. */
static int
same(const struct mc_ctr *a, const struct mc_ctr *b)
{
	return strcmp(a->name, b->name) == 0 &&
	    strcmp(a->image, b->image) == 0 &&
	    strcmp(a->image_id, b->image_id) == 0 &&
	    strcmp(a->digest, b->digest) == 0 &&
	    strcmp(a->latest, b->latest) == 0 &&
	    strcmp(a->health_log, b->health_log) == 0 &&
	    a->state == b->state && a->health == b->health &&
	    a->restarts == b->restarts && a->started == b->started &&
	    a->finished == b->finished && a->exit_code == b->exit_code &&
	    a->oom == b->oom && a->stopped == b->stopped &&
	    a->alert == b->alert && a->auto_update == b->auto_update &&
	    !figure_moved(a->cpu, b->cpu, LST_CTR_CPU_STEP) &&
	    !figure_moved(a->mem, b->mem, LST_CTR_MEM_STEP);
}

/* Send e if it changed since it was last sent (and is not held). */
static void
flush(struct cc *cc, struct cc_ent *e)
{
	if (e->hold_until > 0)
		return;
	e->cur.stopped = e->stop_seen;
	if (e->have_sent && same(&e->cur, &e->sent))
		return;
	put(cc, LST_CTR_R_CTR, &e->cur);
	e->sent = e->cur;
	e->have_sent = 1;
}

static struct cc_ent *
find(struct cc *cc, const char *full)
{
	int i;

	for (i = 0; i < cc->n; i++)
		if (strcmp(cc->e[i].full, full) == 0)
			return &cc->e[i];
	return NULL;
}

static void
drop(struct cc *cc, struct cc_ent *e)
{
	put(cc, LST_CTR_R_GONE, &e->cur);
	*e = cc->e[--cc->n];
}

/* The registry digest already known for ref, or "". */
static const char *
latest_of(const struct cc *cc, const char *ref)
{
	int i;

	for (i = 0; i < cc->nimg; i++)
		if (strcmp(cc->img[i].ref, ref) == 0)
			return cc->img[i].latest;
	return "";
}

/* A blocking request may take at most LST_CTR_CALL_WAIT seconds. */
static void
timed(int on)
{
	alarm(on ? LST_CTR_CALL_WAIT : 0);
}

/* The next time on the stats grid after now: every container is
 * sampled at the same moments, one after the other, so the child wakes
 * once a minute for all of them instead of once per container. */
static double
stats_grid(double now, double every)
{
	return (floor((now + every - LST_CTR_STATS_EVERY) /
	    LST_CTR_STATS_EVERY) + 1) * LST_CTR_STATS_EVERY;
}

/* Inspect full again into its entry (made if new).  -1 on an engine
 * error (the stream decides whether it is gone). */
static int
refresh(struct cc *cc, const char *full)
{
	struct cc_ent *e = find(cc, full);
	struct mc_ctr c;
	char err[MC_TEXT_MAX];
	int r;

	timed(1);
	r = lst_ctr_engine_inspect(cc->sock, full, &c, err, sizeof(err));
	timed(0);
	if (r == 1) {
		if (e != NULL)
			drop(cc, e);
		return 0;
	}
	if (r == -1) {
		mc_debug("containers: inspect %.12s: %s", full, err);
		return -1;
	}
	if (e == NULL) {
		if (cc->n == MC_CTR_MAX) {
			if (!cc->over)
				mc_warn("containers: more than %d; the others "
				    "are left out of heartbeats", MC_CTR_MAX);
			cc->over = 1;
			return 0;
		}
		e = &cc->e[cc->n++];
		memset(e, 0, sizeof(*e));
		mc_ctr_init(&e->cur);
		mc_strlcpy(e->full, full, sizeof(e->full));
	}
	/* an image seen before keeps its digest: one request per image */
	if (strcmp(c.image_id, e->cur.image_id) == 0 && e->have_sent)
		mc_strlcpy(c.digest, e->cur.digest, sizeof(c.digest));
	else if (c.image_id[0] != '\0') {
		timed(1);
		lst_ctr_engine_digest(cc->sock, c.image_id, c.image, c.digest,
		    sizeof(c.digest), err, sizeof(err));
		timed(0);
	}
	if (c.digest[0] != '\0')
		mc_strlcpy(c.latest, latest_of(cc, c.image), sizeof(c.latest));
	c.cpu = e->cur.cpu;
	c.mem = e->cur.mem;
	if (c.state != MC_CTR_RUNNING) {
		c.cpu = c.mem = NAN;
		e->next_stats = 0;
		e->have_prev = 0;
	} else if (e->next_stats == 0 || e->stats_every > LST_CTR_STATS_EVERY) {
		/* started, or something happened to it: sample at the next
		 * minute again */
		e->stats_every = LST_CTR_STATS_EVERY;
		e->next_stats = stats_grid(mc_now(), LST_CTR_STATS_EVERY);
	}
	e->cur = c;
	return 0;
}

/* One event line: {"Action":"die","Actor":{"ID":"..."},...}. */
static void
on_event(void *arg, const char *line, size_t n)
{
	static const char *const skip[] = { "exec_", "attach", "detach",
	    "commit", "copy", "export", "top", "resize", "archive-path",
	    "extract-to-dir" };
	struct cc *cc = arg;
	const struct mc_json *actor;
	const char *action, *id = NULL;
	struct mc_jdoc *d;
	struct cc_ent *e;
	char err[128], full[65];
	size_t i;

	d = mc_json_parse(line, n, err, sizeof(err));
	if (d == NULL)
		return;
	action = mc_json_str(mc_json_root(d), "Action");
	actor = mc_json_get(mc_json_root(d), "Actor");
	if (actor != NULL)
		id = mc_json_str(actor, "ID");
	if (action == NULL || id == NULL || strlen(id) < MC_CTR_ID_LEN) {
		mc_json_free(d);
		return;
	}
	for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (strncmp(action, skip[i], strlen(skip[i])) == 0) {
			mc_json_free(d);
			return;
		}
	mc_strlcpy(full, id, sizeof(full));
	e = find(cc, full);
	if (strcmp(action, "destroy") == 0) {
		if (e != NULL)
			drop(cc, e);
		mc_json_free(d);
		return;
	}
	if (e != NULL && strcmp(action, "start") == 0) {
		e->kill_seen = e->stop_seen = 0;
		e->hold_until = 0;
	}
	if (e != NULL && strcmp(action, "kill") == 0)
		e->kill_seen = 1;
	if (e != NULL && strcmp(action, "stop") == 0) {
		e->stop_seen = 1;
		e->hold_until = 0;
	}
	if (e != NULL && strcmp(action, "die") == 0 && e->kill_seen &&
	    !e->stop_seen)
		e->hold_until = mc_now() + LST_CTR_STOP_WAIT;
	mc_json_free(d);
	if (refresh(cc, full) == 0 && (e = find(cc, full)) != NULL)
		flush(cc, e);
}

/* The engine answered: list and inspect everything. */
static int
sync_all(struct cc *cc, char *err, size_t errlen)
{
	static char ids[MC_CTR_MAX][65];
	int i, n;

	cc->n = 0;
	cc->over = 0;
	timed(1);
	n = lst_ctr_engine_list(cc->sock, ids, MC_CTR_MAX, err, errlen);
	timed(0);
	if (n == -1)
		return -1;
	put(cc, LST_CTR_R_UP, NULL);
	for (i = 0; i < n; i++) {
		if (refresh(cc, ids[i]) == -1)
			continue;	/* removed meanwhile, most likely */
		if (find(cc, ids[i]) != NULL)
			flush(cc, find(cc, ids[i]));
	}
	put(cc, LST_CTR_R_SYNCED, NULL);
	return cc->n;
}

/* One stats sample of e: memory now, CPU over the time since the last. */
static void
sample(struct cc *cc, struct cc_ent *e)
{
	struct lst_ctr_stats s;
	char err[MC_TEXT_MAX];
	double dt, ds;
	int r;

	timed(1);
	r = lst_ctr_engine_stats(cc->sock, e->full, &s, err, sizeof(err));
	timed(0);
	if (r == -1) {
		mc_debug("containers: stats of %.12s: %s", e->full, err);
		e->next_stats = stats_grid(mc_now(), LST_CTR_STATS_EVERY);
		return;
	}
	e->cur.mem = s.mem;
	dt = s.total - e->prev.total;
	ds = s.system - e->prev.system;
	if (e->have_prev && !isnan(dt) && ds > 0 && dt >= 0)
		e->cur.cpu = dt / ds * s.cpus * 100.0;
	e->prev = s;
	e->have_prev = !isnan(s.total) && !isnan(s.system);
	/* idle (nothing worth sending): ask half as often, down to
	 * LST_CTR_STATS_IDLE; any change, or an event, brings it back */
	if (e->have_sent && same(&e->cur, &e->sent) &&
	    e->stats_every >= LST_CTR_STATS_EVERY)
		e->stats_every = fmin(2 * e->stats_every, LST_CTR_STATS_IDLE);
	else
		e->stats_every = LST_CTR_STATS_EVERY;
	e->next_stats = stats_grid(mc_now(), e->stats_every);
	flush(cc, e);
}

/* The entry for ref, made if new; NULL when the table is full. */
static struct cc_img *
img_of(struct cc *cc, const char *ref)
{
	int j;

	for (j = 0; j < cc->nimg; j++)
		if (strcmp(cc->img[j].ref, ref) == 0)
			return &cc->img[j];
	if (cc->nimg == MC_CTR_MAX)
		return NULL;
	memset(&cc->img[j], 0, sizeof(cc->img[j]));
	mc_strlcpy(cc->img[j].ref, ref, sizeof(cc->img[j].ref));
	cc->nimg++;
	return &cc->img[j];
}

/* What the registry has for im->ref now; a failure keeps what it had
 * and is logged at most once an hour. */
static void
ask_registry(struct cc *cc, struct cc_img *im)
{
	char err[MC_TEXT_MAX], dg[MC_CTR_DIGEST_MAX];
	int r;

	im->round = cc->round;
	timed(1);
	r = lst_ctr_engine_latest(cc->sock, im->ref, dg, sizeof(dg), err,
	    sizeof(err));
	timed(0);
	if (r == 0)
		mc_strlcpy(im->latest, dg, sizeof(im->latest));
	else if (im->failed_log == 0 ||
	    mc_now() - im->failed_log >= LST_CTR_CHECK_LOG_EVERY) {
		mc_warn("containers: cannot check %s at its registry: %s",
		    im->ref, err);
		im->failed_log = mc_now();
	}
}

/* Ask the registry once for every distinct image that came from one. */
static void
check_latest(struct cc *cc)
{
	struct cc_img *im;
	int i;

	cc->next_check = mc_now() + cc->check_every;
	cc->round++;
	for (i = 0; i < cc->n; i++) {
		if (cc->e[i].cur.digest[0] == '\0')
			continue;
		im = img_of(cc, cc->e[i].cur.image);
		if (im != NULL && im->round != cc->round)
			ask_registry(cc, im);
	}
	for (i = 0; i < cc->n; i++)
		if (cc->e[i].cur.digest[0] != '\0') {
			mc_strlcpy(cc->e[i].cur.latest, latest_of(cc,
			    cc->e[i].cur.image), sizeof(cc->e[i].cur.latest));
			flush(cc, &cc->e[i]);
		}
}

/* The work that is due, at most one request; how long until the next
 * (milliseconds, for poll). */
static int
due(struct cc *cc)
{
	double now = mc_now(), next = now + 60;
	struct cc_ent *e;
	int i, did = 0;

	for (i = 0; i < cc->n; i++) {
		e = &cc->e[i];
		if (e->hold_until > 0 && e->hold_until <= now) {
			e->hold_until = 0;
			flush(cc, e);
		}
		if (e->hold_until > 0 && e->hold_until < next)
			next = e->hold_until;
		if (e->next_stats > 0 && e->next_stats <= now && !did) {
			sample(cc, e);
			did = 1;
		}
		if (e->next_stats > 0 && e->next_stats < next)
			next = e->next_stats;
	}
	if (cc->check_every > 0 && !did && cc->next_check <= now)
		check_latest(cc);
	if (cc->check_every > 0 && cc->next_check < next)
		next = cc->next_check;
	next -= mc_now();
	return next <= 0 ? 0 : (int)(next * 1000) + 1;
}

/* Follow the stream until it ends; the reason in err. */
static void
follow(struct cc *cc, char *err, size_t errlen)
{
	struct pollfd p;
	int ms;

	for (;;) {
		ms = due(cc);
		p.fd = cc->ev.fd;
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, ms) == -1 && errno != EINTR) {
			mc_strlcpy(err, strerror(errno), errlen);
			return;
		}
		if (p.revents != 0 && lst_ctr_events_read(&cc->ev, on_event,
		    cc, err, errlen) == -1)
			return;
	}
}

/* One connection to the engine, from the subscription to its end.  0
 * once it was followed (so the backoff starts over), -1 if it never
 * came up. */
static int
session(struct cc *cc)
{
	char err[MC_TEXT_MAX];
	int n;

	timed(1);
	n = lst_ctr_events_open(&cc->ev, cc->sock, err, sizeof(err));
	timed(0);
	if (n == 0 && (n = sync_all(cc, err, sizeof(err))) >= 0) {
		mc_info("containers: following the Docker engine at %s "
		    "(%d containers)", cc->sock, n);
		cc->down_logged = 0;
		follow(cc, err, sizeof(err));
		put(cc, LST_CTR_R_DOWN, NULL);
		lst_ctr_events_close(&cc->ev);
		mc_warn("containers: lost the Docker engine at %s (%s); left "
		    "out of heartbeats until it is back", cc->sock, err);
		cc->down_logged = 1;
		return 0;
	}
	lst_ctr_events_close(&cc->ev);
	/* a machine without Docker is normal, not a warning */
	if (!cc->down_logged && strncmp(err, "no Docker socket", 16) == 0)
		mc_info("containers: %s; left out of heartbeats until the "
		    "engine answers (containers = no turns this off)", err);
	else if (!cc->down_logged)
		mc_warn("containers: %s; left out of heartbeats until the "
		    "engine answers", err);
	cc->down_logged = 1;
	return -1;
}

static void
pause_for(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

void
lst_ctr_child_run(const char *sock, int out, double check_every)
{
	struct cc *cc = calloc(1, sizeof(*cc));
	double backoff = LST_CTR_BACKOFF_MIN;

	if (cc == NULL)
		_exit(1);
	cc->sock = sock;
	cc->out = out;
	cc->check_every = check_every;
	cc->ev.fd = -1;
	for (;;) {
		cc->next_check = mc_now() + 5;
		if (session(cc) == 0)
			backoff = LST_CTR_BACKOFF_MIN;
		pause_for(backoff);
		backoff *= 2;
		if (backoff > MC_BACKOFF_CAP)
			backoff = MC_BACKOFF_CAP;
	}
}
