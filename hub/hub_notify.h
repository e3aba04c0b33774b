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

enum hub_notify_kind { CH_TELEGRAM, CH_DISCORD, CH_WEBHOOK };

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

/* ---- hub_notify_render.c (service thread) ---- */

/* The request body of m for ch, as a job (owned by the caller; free with
 * hub_notify_job_free()).  NULL if out of memory. */
struct hub_notify_job *hub_notify_job_new(const struct hub_notify_chan *ch,
	    const struct hub_msg *m);
void	hub_notify_job_free(struct hub_notify_job *j);

/* ---- hub_notify_http.c (the channel's worker thread) ---- */

enum hub_notify_verdict { V_SENT, V_RETRY, V_FAIL };

/*
 * One try of j on ch with the handle h: sent, retry after *wait seconds,
 * or fail (retrying cannot help); detail says what happened.  *tries
 * counts network errors and 5xx answers, *limited 429 answers.
 */
enum hub_notify_verdict hub_notify_try(struct hub_notify_chan *ch, CURL *h,
	    const struct hub_notify_job *j, int *tries, int *limited,
	    double *wait, char *detail, size_t dlen);

#endif
