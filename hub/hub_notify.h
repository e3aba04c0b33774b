/*
 * hub_notify.h - what the delivery files share: hub_notify.c runs the
 * channels (a worker thread and a queue each, outcomes back to the service
 * thread), hub_notify_render.c writes each service's request body and
 * hub_notify_http.c makes one request and says what its answer means.
 */
#ifndef HUB_NOTIFY_H
#define HUB_NOTIFY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <curl/curl.h>

#include "hub.h"

/* CH_PUSH has no channel here: Web Push (hub_push*.c) has a thread and
 * a queue of its own, and its bit only routes (alerts.conf). */
enum hub_notify_kind { CH_TELEGRAM, CH_DISCORD, CH_WEBHOOK, CH_PUSH };

/* One message for one channel. */
struct hub_notify_job {
	char		 id[MC_ID_MAX];		/* the alert's id */
	char		 agent[MC_NAME_MAX + 1];
	uint64_t	 test;
	char		*body;			/* owned: the request body */
	size_t		 len;
	struct hub_notify_job *next;
};

struct hub_notify_chan {
	enum hub_notify_kind kind;
	const char	*name;
	char		 url[2048];	/* secret: for libcurl only */
	const char	*method;	/* NULL: POST */
	char		 auth[320];	/* secret: an Authorization header
					 * line, or "" (Discord's bot) */
	char		 chat_id[128];	/* telegram */
	pthread_t	 thread;
	int		 running;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;		/* on CLOCK_MONOTONIC */
	struct hub_notify_job *head, *tail;	/* owned, under mu */
	size_t		 queued;	/* under mu */
	int		 stop;		/* under mu */
	atomic_int	 stopping;	/* read by the transfer's callback */
};

/* ---- hub_notify.c: what other worker threads use too ---- */

/* Wait secs on cv (made by hub_notify_cond_init()) under mu, or less when
 * *stop (under mu) is set: 0, or -1 when stopping. */
int	hub_notify_sleep(pthread_mutex_t *mu, pthread_cond_t *cv,
	    const int *stop, double secs);
/* A condition variable timed on CLOCK_MONOTONIC. */
void	hub_notify_cond_init(pthread_cond_t *cv);

/* ---- hub_notify_render.c (service thread) ---- */

/* The request body of m for ch, as a job (owned by the caller; free with
 * hub_notify_job_free()).  NULL if out of memory. */
struct hub_notify_job *hub_notify_job_new(const struct hub_notify_chan *ch,
	    const struct hub_msg *m);
void	hub_notify_job_free(struct hub_notify_job *j);

/* ---- hub_notify_http.c (the channel's worker thread) ---- */

enum hub_notify_verdict { V_SENT, V_RETRY, V_FAIL };

/* One answer from a service. */
struct hub_notify_answer {
	CURLcode	 rc;
	long		 status;	/* HTTP status; 0: none */
	struct mc_buf	 body;		/* owned; the caller sets its limit */
	int		 over;		/* the body went past that limit */
	double		 retry_after;	/* Retry-After header; -1: none */
};

/*
 * POST body (JSON, len bytes) to url through h, within timeout seconds
 * in all (5 to connect), aborted when *stopping is set; the answer in a
 * (the caller inits a->body with its limit, sets retry_after to -1 and
 * frees the body).  Any thread that owns h.
 */
void	hub_notify_post(CURL *h, const char *url, const char *body,
	    size_t len, long timeout, atomic_int *stopping,
	    struct hub_notify_answer *a);
/* The same with another method (NULL: POST) and a header line (NULL:
 * none), e.g. "Authorization: Bot TOKEN". */
void	hub_notify_request(CURL *h, const char *method, const char *header,
	    const char *url, const char *body, size_t len, long timeout,
	    atomic_int *stopping, struct hub_notify_answer *a);
/* The same with the request headers hdr (the caller's; Content-Type
 * among them) instead of JSON's. */
void	hub_notify_post_with(CURL *h, const char *url, struct curl_slist *hdr,
	    const char *body, size_t len, long timeout, atomic_int *stopping,
	    struct hub_notify_answer *a);
/* The retry_after an answer's JSON names (Telegram's in "parameters",
 * Discord's at the top), or -1; its error description, printable ASCII,
 * in desc. */
double	hub_notify_answer_parse(const struct hub_notify_answer *a,
	    char *desc, size_t desclen);
/* Seconds to wait before try number tries + 1: 1, 2, 4 ... up to 30. */
double	hub_notify_backoff(int tries);

/*
 * One try of j on ch with the handle h: sent, retry after *wait seconds,
 * or fail (retrying cannot help); detail says what happened.  *tries
 * counts network errors and 5xx answers, *limited 429 answers.
 */
enum hub_notify_verdict hub_notify_try(struct hub_notify_chan *ch, CURL *h,
	    const struct hub_notify_job *j, int *tries, int *limited,
	    double *wait, char *detail, size_t dlen);

#endif
