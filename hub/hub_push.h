/*
 * hub_push.h - what the Web Push files share: hub_push.c keeps the
 * subscriptions (the API, the store), hub_push_crypt.c holds the VAPID key
 * and does RFC 8291's encryption and RFC 8292's signed token, and
 * hub_push_send.c delivers on its own thread.
 */
#ifndef HUB_PUSH_H
#define HUB_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "hub.h"

#define PUSH_POINT_LEN		65	/* an uncompressed P-256 point */
#define PUSH_AUTH_LEN		16	/* the subscription's auth secret */
#define PUSH_ENDPOINT_MAX	1024	/* bytes of an endpoint URL */
#define PUSH_PAYLOAD_MAX	3000	/* plaintext bytes; a record is 4096 */
#define PUSH_KEY_B64		92	/* base64 of a point (88), and its NUL */
#define PUSH_AUTHZ_MAX		1024	/* the Authorization header */

/* One subscription: a browser on one device, for one token. */
struct hub_push_sub {
	char		 id[MC_ID_MAX];		/* "p-<hex>" */
	char		 token[16];		/* the token's id */
	char		 name[MC_NAME_MAX + 1];	/* the token's name */
	char		 endpoint[PUSH_ENDPOINT_MAX + 1];
	uint8_t		 p256dh[PUSH_POINT_LEN];
	uint8_t		 auth[PUSH_AUTH_LEN];
	double		 created;		/* wall clock */
	unsigned	 seen;		/* the last read of a shared store
					 * that found it; 0 none yet */
	struct hub_push_sub *next;
};

/* ---- hub_push_crypt.c ---- */

/* Load DATA/vapid.pem, or make it (0600) at the first start.  0 / -1.
 * Main thread, before the loop. */
int	hub_push_key_load(const char *datadir);
void	hub_push_key_free(void);
/* The public key, base64url of the uncompressed point ("" without one). */
const char *hub_push_key_b64(void);
/* base64url without padding of n bytes into out (NUL-terminated): 0, or
 * -1 when outlen is too small. */
int	hub_push_b64url(const void *in, size_t n, char *out, size_t outlen);
/* base64url (padding optional) into out: the bytes written, or -1. */
long	hub_push_unb64url(const char *in, void *out, size_t outsize);
/* 1 when p is a point on P-256 (uncompressed), else 0.  Any thread. */
int	hub_push_point_ok(const uint8_t p[PUSH_POINT_LEN]);
/* RFC 8291: pt (n bytes, at most PUSH_PAYLOAD_MAX) encrypted for s as one
 * aes128gcm record with its header, into out (init by the caller).
 * 0 / -1.  Any thread. */
int	hub_push_encrypt(const struct hub_push_sub *s, const void *pt,
	    size_t n, struct mc_buf *out);
/* RFC 8292: "vapid t=JWT, k=KEY" for endpoint's origin, valid until
 * now + 12 h, with subject as sub.  0 / -1.  The send thread only. */
int	hub_push_vapid(const char *endpoint, const char *subject, double now,
	    char *out, size_t outlen);

/* ---- hub_push_send.c ---- */

/* One subscription to deliver to (a copy: the list may change). */
struct hub_push_job {
	struct hub_push_sub	 sub;
	char			 alert[MC_ID_MAX];
	char			 agent[MC_NAME_MAX + 1];
	char			*payload;	/* owned: the JSON */
	size_t			 len;
	int			 urgent;	/* Urgency: high */
	int			 tries;		/* 5xx and network errors */
	int			 limited;	/* 429 answers */
	int			 attempt;
	double			 due;		/* monotonic: not before */
	struct hub_push_job	*next;
};

/* Start and stop the delivery thread.  0 / -1. */
int	hub_push_send_start(void);
void	hub_push_send_stop(void);
/* Queue j (taken).  0, or -1 (j freed) when the queue is full. */
int	hub_push_send_queue(struct hub_push_job *j);
void	hub_push_job_free(struct hub_push_job *j);

/* An outcome of one delivery, handed to the service thread. */
enum hub_push_out { PUSH_SENT, PUSH_RETRIED, PUSH_FAILED, PUSH_GONE };

/* Service thread: the outcomes the thread posted, each to fn. */
void	hub_push_send_drain(void (*fn)(const char *sub, const char *alert,
	    const char *agent, enum hub_push_out out, int attempt,
	    const char *detail));

#endif
