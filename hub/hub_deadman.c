/*
 * hub_deadman.c - who watches the hub: a push-style heartbeat to a
 * monitor outside it (Healthchecks.io, an Uptime Kuma push monitor, any
 * URL that alerts when its pings stop).
 *
 * Every deadman_every seconds the cron, on the service thread, asks for
 * one GET of deadman_url; a worker thread makes it with libcurl (10 s
 * timeout), so the loop never waits on the network.  The ping is asked
 * for by the loop itself: a hub that died, or whose loop stalled, asks for
 * none, and the monitor, missing them, alerts somebody.  A ping still in
 * flight when the next is due is not doubled.  Outcomes are counted for
 * /metrics; a failing monitor is logged when it starts and stops failing,
 * not at every ping.
 */
#include <pthread.h>
#include <string.h>

#include <curl/curl.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

#define PING_TIMEOUT	10L	/* seconds for one ping */

static struct {
	pthread_t	 thread;
	int		 running;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 due;		/* under mu: a ping is asked for */
	int		 stop;		/* under mu */
	uint64_t	 ok, failed;	/* under mu */
	double		 next;		/* service thread: monotonic */
	char		 url[1024];	/* secret: never logged */
} dm = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* One GET; 0 when the monitor took it (2xx or 3xx). */
static int
ping(CURL *h, char *err, size_t errlen)
{
	long code = 0;
	CURLcode rc;

	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 400) {
		snprintf(err, errlen, "HTTP %ld", code);
		return -1;
	}
	return 0;
}

static CURL *
handle_new(void)
{
	CURL *h = curl_easy_init();

	if (h == NULL)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, dm.url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, PING_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "maestro-hub/" MC_VERSION);
	return h;
}

static void *
worker(void *arg)
{
	char err[CURL_ERROR_SIZE];
	int failing = 0, r;
	CURL *h = handle_new();

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&dm.mu);
		while (!dm.due && !dm.stop)
			pthread_cond_wait(&dm.cv, &dm.mu);
		dm.due = 0;
		if (dm.stop) {
			pthread_mutex_unlock(&dm.mu);
			break;
		}
		pthread_mutex_unlock(&dm.mu);
		r = h != NULL ? ping(h, err, sizeof(err)) : -1;
		if (h == NULL)
			snprintf(err, sizeof(err), "no curl handle");
		pthread_mutex_lock(&dm.mu);
		if (r == 0)
			dm.ok++;
		else
			dm.failed++;
		pthread_mutex_unlock(&dm.mu);
		if (r == -1 && !failing)
			mc_warn("deadman: the ping to deadman_url failed (%s); "
			    "the monitor will think the hub is down", err);
		else if (r == 0 && failing)
			mc_info("deadman: pings reach the monitor again");
		failing = r == -1;
	}
	if (h != NULL)
		curl_easy_cleanup(h);
	return NULL;
}

int
hub_deadman_start(void)
{
	if (hub.conf.deadman_url[0] == '\0')
		return 0;
	mc_strlcpy(dm.url, hub.conf.deadman_url, sizeof(dm.url));
	if (pthread_create(&dm.thread, NULL, worker, NULL) != 0) {
		mc_err("deadman: cannot start its thread");
		return -1;
	}
	dm.running = 1;
	mc_info("deadman: pinging deadman_url every %gs",
	    hub.conf.deadman_every);
	return 0;
}

void
hub_deadman_cron(double now)
{
	if (!dm.running || now < dm.next)
		return;
	dm.next = now + hub.conf.deadman_every;
	pthread_mutex_lock(&dm.mu);
	dm.due = 1;
	pthread_cond_signal(&dm.cv);
	pthread_mutex_unlock(&dm.mu);
}

void
hub_deadman_stop(void)
{
	if (!dm.running)
		return;
	pthread_mutex_lock(&dm.mu);
	dm.stop = 1;
	pthread_cond_signal(&dm.cv);
	pthread_mutex_unlock(&dm.mu);
	pthread_join(dm.thread, NULL);
	dm.running = 0;
	explicit_bzero(dm.url, sizeof(dm.url));
}

int
hub_deadman_stats(uint64_t *ok, uint64_t *failed)
{
	pthread_mutex_lock(&dm.mu);
	*ok = dm.ok;
	*failed = dm.failed;
	pthread_mutex_unlock(&dm.mu);
	return dm.running;
}
