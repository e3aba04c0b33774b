/*
 * hub_rec.c - terminal sessions recorded as asciicast v2 files, written
 * by a thread of their own (the relay's side of it is hub_rec.h).
 *
 * The service thread only copies what the session printed (and, with
 * record_input, what was typed) into an item on a queue and returns; the
 * writer thread turns items into cast lines (mc_cast.c) and appends them
 * to DATA/sessions/SID.cast (mode 0600, the directory 0700).  Why not the
 * store's writer thread (hub_db.c): a terminal prints tens of MB a second
 * in 16 KiB pieces, and each piece there would be a job in the queue the
 * heartbeats and result acks wait in, held with them while the store
 * fails; here the files cost the store nothing, and the queue is bounded
 * in bytes, not jobs.
 *
 * Rules kept:
 *  - nothing waits: past REC_QUEUE_MAX bytes queued (all sessions) the
 *    recording that would pass it stops, drops the rest and ends its cast
 *    with a marker saying so (truncated); past record_max the writer does
 *    the same with the record_max marker.  The session itself never waits
 *    for or ends by its recording;
 *  - a session's row in hub.db is inserted at open by the service thread
 *    and finished at close by the writer thread, after the cast's last
 *    byte is written, so a row that says closed has its whole cast (the
 *    rows go through hub_db_exec(), which any thread may call);
 *  - times are seconds since the session opened on the monotonic clock,
 *    taken when the relay hands the bytes over.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub.h"
#include "hub_rec.h"
#include "mc_cast.h"
#include "mc_log.h"
#include "mc_util.h"

/* Bytes waiting for the writer, all sessions together.  At 50 MB/s of
 * output this is 80 ms of it; the writer turns MB into cast lines much
 * faster than a PTY makes them, so only a stalled disk fills it. */
#define REC_QUEUE_MAX	(4 * 1024 * 1024)
/* Output bytes in one event line: the line stays under 100 KiB even when
 * every byte is escaped (\u001b is 6 bytes). */
#define REC_PIECE	(16 * 1024)
#define REC_LINE_MAX	(REC_PIECE * 6 + 256)
/* The longest time a line may carry ("99999999.999999", over 3 years),
 * for reserving room for the marker. */
#define REC_T_LONGEST	99999999.999999

enum rec_kind { REC_OPEN, REC_OUT, REC_IN, REC_RESIZE, REC_CLOSE };

/*
 * The writer's side of one recording.  hub_rec_open() makes it; from its
 * REC_OPEN item on only the writer thread touches it (but full, under
 * rq.mu), and its REC_CLOSE item frees it.
 */
struct rec_file {
	char			 sid[MC_ID_MAX];
	char			 agent[MC_NAME_MAX + 1];
	int			 fd;		/* -1 until open, or on failure */
	int64_t			 max;		/* record_max at open */
	int64_t			 bytes;		/* written to the cast */
	size_t			 reserve;	/* room kept for the marker */
	int			 stopped;	/* nothing more is written */
	int			 truncated;
	struct mc_cast_text	 out, in;	/* UTF-8 held back */
	int			 full;		/* under rq.mu: the writer
						 * wants no more data */
};

/* How a session ended, for the row. */
struct rec_end {
	char		 reason[16];
	int		 exit_code;	/* -1: none */
	uint64_t	 bytes_in, bytes_out;
	double		 closed;	/* wall clock */
	double		 dropped_at;	/* < 0, or when the queue was full */
};

struct rec_item {
	enum rec_kind	 kind;
	struct rec_file	*f;		/* REC_CLOSE frees it */
	double		 t;		/* seconds since the session opened */
	int		 cols, rows;	/* REC_OPEN, REC_RESIZE */
	double		 wall;		/* REC_OPEN */
	struct rec_end	 end;		/* REC_CLOSE */
	size_t		 cost;		/* counted in rq.queued */
	size_t		 n;
	struct rec_item	*next;
	unsigned char	 data[];	/* n bytes: REC_OUT, REC_IN */
};

/* The service thread's side of a session (hub_rec.h). */
struct hub_rec {
	char		 sid[MC_ID_MAX];
	char		 agent[MC_NAME_MAX + 1];
	char		 user[MC_NAME_MAX + 1];
	double		 opened;	/* monotonic */
	int		 input;		/* record_input when it opened */
	double		 dropped_at;	/* < 0; else the queue was full */
	int		 quiet;		/* nothing more is queued */
	uint64_t	 bytes_in, bytes_out;
	struct rec_file	*f;		/* the writer's; NULL: unrecorded */
	struct rec_item	*close;		/* owned: made at open, so that
					 * closing cannot fail */
};

static struct {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	pthread_t	 thread;
	int		 running;
	int		 stop;
	struct rec_item	*head, *tail;	/* owned: for the writer */
	size_t		 queued;	/* cost of the items not written */
	char		 dir[MC_PATH_MAX];	/* DATA/sessions */
	/* writer thread only */
	struct mc_buf	 line, text;
} rq = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static const char drop_marker[] = "\r\n[maestro: recording stopped: the hub "
    "could not write it as fast as it came]\r\n";

/* ---- the writer thread ---- */

/* "64 MiB", "1 GiB", "100000 bytes": record_max as the marker says it. */
static void
size_words(int64_t n, char *out, size_t outlen)
{
	static const char *const units[] = { "GiB", "MiB", "KiB" };
	int64_t mult = 1024 * 1024 * 1024;
	size_t i;

	for (i = 0; i < 3; i++, mult /= 1024)
		if (n >= mult && n % mult == 0) {
			snprintf(out, outlen, "%lld %s", (long long)(n / mult),
			    units[i]);
			return;
		}
	snprintf(out, outlen, "%lld bytes", (long long)n);
}

static void
max_marker(const struct rec_file *f, char *out, size_t outlen)
{
	char size[32];

	size_words(f->max, size, sizeof(size));
	snprintf(out, outlen, "\r\n[maestro: recording stopped at %s]\r\n",
	    size);
}

/* The writer takes no more data for f (read by the service thread). */
static void
set_full(struct rec_file *f)
{
	pthread_mutex_lock(&rq.mu);
	f->full = 1;
	pthread_mutex_unlock(&rq.mu);
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write line (len bytes) to the cast as it is. */
static void
put_raw(struct rec_file *f, const char *line, size_t len)
{
	if (f->stopped)
		return;
	if (write_all(f->fd, line, len) == -1) {
		mc_err("recording %s: cannot write %s/%s.cast: %s; the rest of "
		    "the session is not recorded", f->sid, rq.dir, f->sid,
		    strerror(errno));
		f->stopped = f->truncated = 1;
		set_full(f);
		return;
	}
	f->bytes += (int64_t)len;
}

/* The cast ends here with text as its last output (a marker). */
static void
put_marker(struct rec_file *f, double t, const char *text)
{
	struct mc_buf b;

	if (f->stopped)
		return;
	mc_buf_init(&b, 1024);
	if (mc_cast_event(&b, t, "o", text, strlen(text)) == 0)
		put_raw(f, b.data, b.len);
	mc_buf_free(&b);
	f->stopped = f->truncated = 1;
	set_full(f);
}

/* One line, unless it would leave no room for the marker: then the
 * marker instead, and the recording stops. */
static void
put_line(struct rec_file *f, double t, const struct mc_buf *line)
{
	char marker[96];

	if (f->stopped)
		return;
	if (f->bytes + (int64_t)line->len + (int64_t)f->reserve > f->max) {
		max_marker(f, marker, sizeof(marker));
		put_marker(f, t, marker);
		mc_info("recording %s reached record_max (%lld bytes); the "
		    "session goes on unrecorded", f->sid, (long long)f->max);
		return;
	}
	put_raw(f, line->data, line->len);
}

/* The room the longer marker takes at the latest time a line may have. */
static size_t
marker_reserve(const struct rec_file *f)
{
	char marker[96];
	struct mc_buf b;
	size_t n, m;

	max_marker(f, marker, sizeof(marker));
	mc_buf_init(&b, 1024);
	mc_cast_event(&b, REC_T_LONGEST, "o", marker, strlen(marker));
	n = b.len;
	mc_buf_reset(&b);
	mc_cast_event(&b, REC_T_LONGEST, "o", drop_marker,
	    sizeof(drop_marker) - 1);
	m = b.len;
	mc_buf_free(&b);
	return n > m ? n : m;
}

static void
do_open(struct rec_item *it)
{
	struct rec_file *f = it->f;
	char path[MC_PATH_MAX + MC_ID_MAX + 16];

	snprintf(path, sizeof(path), "%s/%s.cast", rq.dir, f->sid);
	f->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (f->fd == -1) {
		mc_err("recording %s: cannot create %s: %s; the session is not "
		    "recorded", f->sid, path, strerror(errno));
		f->stopped = f->truncated = 1;
		set_full(f);
		return;
	}
	f->reserve = marker_reserve(f);
	mc_buf_reset(&rq.line);
	if (mc_cast_header(&rq.line, it->cols, it->rows, (int64_t)it->wall,
	    f->agent) == 0)
		put_line(f, 0, &rq.line);
}

/* Output or input: event lines of at most REC_PIECE bytes each. */
static void
do_data(struct rec_item *it)
{
	struct rec_file *f = it->f;
	struct mc_cast_text *s = it->kind == REC_OUT ? &f->out : &f->in;
	const char *code = it->kind == REC_OUT ? "o" : "i";
	size_t off, n;

	for (off = 0; off < it->n && !f->stopped; off += n) {
		n = it->n - off < REC_PIECE ? it->n - off : REC_PIECE;
		mc_buf_reset(&rq.text);
		mc_buf_reset(&rq.line);
		if (mc_cast_text_add(s, it->data + off, n, &rq.text) == -1)
			continue;
		if (rq.text.len == 0)
			continue;	/* only the start of a character */
		if (mc_cast_event(&rq.line, it->t, code, rq.text.data,
		    rq.text.len) == 0)
			put_line(f, it->t, &rq.line);
	}
}

/* What was held back of a stream ends the cast as U+FFFD. */
static void
flush_held(struct rec_file *f, struct mc_cast_text *s, const char *code,
    double t)
{
	if (s->nheld == 0 || f->stopped)
		return;
	mc_buf_reset(&rq.text);
	mc_buf_reset(&rq.line);
	if (mc_cast_text_flush(s, &rq.text) == 0 &&
	    mc_cast_event(&rq.line, t, code, rq.text.data, rq.text.len) == 0)
		put_line(f, t, &rq.line);
}

static void
do_close(struct rec_item *it)
{
	struct rec_file *f = it->f;
	const struct rec_end *e = &it->end;

	flush_held(f, &f->out, "o", e->dropped_at >= 0 ? e->dropped_at :
	    it->t);
	flush_held(f, &f->in, "i", e->dropped_at >= 0 ? e->dropped_at :
	    it->t);
	if (e->dropped_at >= 0)
		put_marker(f, e->dropped_at, drop_marker);
	if (f->fd != -1) {
		/* the row will say the cast is complete: make it so */
		if (fdatasync(f->fd) == -1 && errno != EINVAL)
			mc_warn("recording %s: fdatasync: %s", f->sid,
			    strerror(errno));
		close(f->fd);
	}
	hub_db_exec("UPDATE sessions SET closed = ?, duration = ?, reason = ?,"
	    " exit = NULLIF(?, -1), bytes_in = ?, bytes_out = ?,"
	    " cast_bytes = ?, truncated = ? WHERE id = ?", "ddtiiiiit",
	    e->closed, it->t, e->reason, (int64_t)e->exit_code,
	    (int64_t)e->bytes_in, (int64_t)e->bytes_out, f->bytes,
	    (int64_t)f->truncated, f->sid);
	free(f);
}

static void
do_item(struct rec_item *it)
{
	switch (it->kind) {
	case REC_OPEN:
		do_open(it);
		break;
	case REC_OUT:
	case REC_IN:
		do_data(it);
		break;
	case REC_RESIZE:
		mc_buf_reset(&rq.line);
		if (!it->f->stopped && mc_cast_resize(&rq.line, it->t,
		    it->cols, it->rows) == 0)
			put_line(it->f, it->t, &rq.line);
		break;
	case REC_CLOSE:
		do_close(it);
		break;
	}
}

static void *
rec_main(void *arg)
{
	struct rec_item *list, *next;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&rq.mu);
		while (rq.head == NULL && !rq.stop)
			pthread_cond_wait(&rq.cv, &rq.mu);
		list = rq.head;
		rq.head = rq.tail = NULL;
		pthread_mutex_unlock(&rq.mu);
		if (list == NULL)
			return NULL;	/* stopping, and all is written */
		for (; list != NULL; list = next) {
			next = list->next;
			do_item(list);
			/* still counted while being written: the bound holds
			 * for what is in memory, not only what waits */
			pthread_mutex_lock(&rq.mu);
			rq.queued -= list->cost;
			pthread_mutex_unlock(&rq.mu);
			free(list);
		}
	}
}

/* ---- the service thread ---- */

static void
enqueue_locked(struct rec_item *it)
{
	it->next = NULL;
	if (rq.tail != NULL)
		rq.tail->next = it;
	else
		rq.head = it;
	rq.tail = it;
	rq.queued += it->cost;
	pthread_cond_signal(&rq.cv);
}

/* Queue an item that must not be lost (open, close): it costs nothing
 * against the bound, and there are two per session. */
static void
enqueue(struct rec_item *it)
{
	pthread_mutex_lock(&rq.mu);
	enqueue_locked(it);
	pthread_mutex_unlock(&rq.mu);
}

/* From now on r records nothing more; its cast ends with the marker. */
static void
drop_rest(struct hub_rec *r, double t)
{
	r->dropped_at = t;
	r->quiet = 1;
	mc_warn("recording %s: over %d bytes of recordings wait for the disk; "
	    "the rest of this session is not recorded (the session goes on)",
	    r->sid, REC_QUEUE_MAX);
}

/* Queue data (n may be 0: a resize) unless r's recording has stopped;
 * past the bound the recording stops instead. */
static void
push(struct hub_rec *r, enum rec_kind kind, const void *p, size_t n,
    int cols, int rows)
{
	double t = mc_now() - r->opened;
	struct rec_item *it;
	int full;

	if (r->f == NULL || r->quiet)
		return;
	if ((it = malloc(sizeof(*it) + n)) == NULL) {
		drop_rest(r, t);
		return;
	}
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->f = r->f;
	it->t = t;
	it->cols = cols;
	it->rows = rows;
	it->n = n;
	it->cost = sizeof(*it) + n;
	if (n > 0)
		memcpy(it->data, p, n);
	pthread_mutex_lock(&rq.mu);
	full = r->f->full;
	if (!full && rq.queued + it->cost <= REC_QUEUE_MAX) {
		enqueue_locked(it);
		it = NULL;
	}
	pthread_mutex_unlock(&rq.mu);
	if (it == NULL)
		return;
	free(it);
	if (full)
		r->quiet = 1;	/* the writer stopped and said why */
	else
		drop_rest(r, t);
}

int
hub_rec_init(const char *datadir)
{
	if (snprintf(rq.dir, sizeof(rq.dir), "%s/sessions", datadir) >=
	    (int)sizeof(rq.dir)) {
		mc_err("the data directory's path is too long: %s", datadir);
		return -1;
	}
	if (mc_mkdir_p(rq.dir, 0700) == -1 || chmod(rq.dir, 0700) == -1) {
		mc_err("cannot create %s for terminal recordings: %s", rq.dir,
		    strerror(errno));
		return -1;
	}
	mc_buf_init(&rq.line, REC_LINE_MAX);
	mc_buf_init(&rq.text, REC_PIECE + 8);
	hub_rec_recover();
	if (pthread_create(&rq.thread, NULL, rec_main, NULL) != 0) {
		mc_err("cannot start the recording thread");
		return -1;
	}
	rq.running = 1;
	return 0;
}

void
hub_rec_shutdown(void)
{
	if (!rq.running)
		return;
	pthread_mutex_lock(&rq.mu);
	rq.stop = 1;
	pthread_cond_signal(&rq.cv);
	pthread_mutex_unlock(&rq.mu);
	pthread_join(rq.thread, NULL);
	rq.running = 0;
	mc_buf_free(&rq.line);
	mc_buf_free(&rq.text);
}

const char *
hub_rec_dir(void)
{
	return rq.dir;
}

int
hub_rec_sid_valid(const char *sid)
{
	size_t i;

	if (strncmp(sid, "s-", 2) != 0 || strlen(sid) != 18)
		return 0;
	for (i = 2; i < 18; i++)
		if (!((sid[i] >= '0' && sid[i] <= '9') ||
		    (sid[i] >= 'a' && sid[i] <= 'f')))
			return 0;
	return 1;
}

void
hub_rec_new_sid(char *sid, size_t len)
{
	static uint64_t seq;
	char hex[17];

	if (mc_random_hex(hex, 8) == -1)
		snprintf(hex, sizeof(hex), "%08x%08llx",
		    (unsigned)mc_wall(), (unsigned long long)++seq & 0xffffffff);
	snprintf(sid, len, "s-%s", hex);
}

/* The writer's half, or NULL when nothing can be recorded now. */
static struct rec_file *
file_new(const struct hub_rec *r)
{
	struct rec_file *f;

	if (!rq.running || (f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	mc_strlcpy(f->sid, r->sid, sizeof(f->sid));
	mc_strlcpy(f->agent, r->agent, sizeof(f->agent));
	f->fd = -1;
	f->max = hub.conf.record_max;
	return f;
}

struct hub_rec *
hub_rec_open(const char *sid, const char *agent, const char *user, int cols,
    int rows)
{
	struct hub_rec *r = calloc(1, sizeof(*r));
	struct rec_item *open_it = NULL;
	char detail[MC_TEXT_MAX];
	double wall = mc_wall();

	if (r == NULL || (r->close = calloc(1, sizeof(*r->close))) == NULL ||
	    (open_it = calloc(1, sizeof(*open_it))) == NULL) {
		mc_err("recording %s: out of memory; the session is not "
		    "recorded", sid);
		if (r != NULL)
			free(r->close);
		free(r);
		return NULL;
	}
	mc_strlcpy(r->sid, sid, sizeof(r->sid));
	mc_strlcpy(r->agent, agent, sizeof(r->agent));
	mc_strlcpy(r->user, user, sizeof(r->user));
	r->opened = mc_now();
	r->input = hub.conf.record_input;
	r->dropped_at = -1;
	if ((r->f = file_new(r)) != NULL) {
		open_it->kind = REC_OPEN;
		open_it->f = r->f;
		open_it->cols = cols;
		open_it->rows = rows;
		open_it->wall = wall;
		enqueue(open_it);
	} else
		free(open_it);
	hub_db_exec("INSERT INTO sessions(id, agent, \"user\", opened, bytes_in,"
	    " bytes_out, cast_bytes, truncated) VALUES (?, ?, ?, ?, 0, 0, 0, 0)",
	    "tttd", sid, agent, user, wall);
	snprintf(detail, sizeof(detail), "%s %dx%d", sid, cols, rows);
	hub_event("terminal", agent, user, "opened", detail);
	return r;
}

void
hub_rec_output(struct hub_rec *r, const void *p, size_t n)
{
	r->bytes_out += n;
	if (n > 0)
		push(r, REC_OUT, p, n, 0, 0);
}

void
hub_rec_input(struct hub_rec *r, const void *p, size_t n)
{
	r->bytes_in += n;
	if (n > 0 && r->input)
		push(r, REC_IN, p, n, 0, 0);
}

void
hub_rec_resize(struct hub_rec *r, int cols, int rows)
{
	push(r, REC_RESIZE, NULL, 0, cols, rows);
}

void
hub_rec_close(struct hub_rec *r, const char *reason, int exit_code)
{
	struct rec_item *it = r->close;
	struct rec_end *e = &it->end;
	char detail[MC_TEXT_MAX];
	double t = mc_now() - r->opened;

	mc_strlcpy(e->reason, reason, sizeof(e->reason));
	e->exit_code = strcmp(reason, "exit") == 0 ? exit_code : -1;
	e->bytes_in = r->bytes_in;
	e->bytes_out = r->bytes_out;
	e->closed = mc_wall();
	e->dropped_at = r->dropped_at;
	it->kind = REC_CLOSE;
	it->f = r->f;
	it->t = t;
	if (r->f != NULL)
		enqueue(it);
	else {
		hub_db_exec("UPDATE sessions SET closed = ?, duration = ?,"
		    " reason = ?, exit = NULLIF(?, -1), bytes_in = ?,"
		    " bytes_out = ? WHERE id = ?", "ddtiiit", e->closed, t,
		    e->reason, (int64_t)e->exit_code, (int64_t)e->bytes_in,
		    (int64_t)e->bytes_out, r->sid);
		free(it);
	}
	snprintf(detail, sizeof(detail), "%s %.1f s, %llu bytes in, %llu "
	    "bytes out", r->sid, t, (unsigned long long)r->bytes_in,
	    (unsigned long long)r->bytes_out);
	hub_event("terminal", r->agent, r->user, reason, detail);
	free(r);
}
