/*
 * lst_hubs.c - the hubs a listener may connect to: the `hub` setting read
 * as a list ("wss://a:8443, wss://b:8443"), the order they are tried in,
 * and which one is in use.
 *
 * Rules kept here:
 * - Up to LST_HUBS_MAX URLs, separated by commas and/or blanks; each is
 *   checked as a single hub always was (wss:// or ws://, https:// and
 *   http:// meaning the same, the path defaulting to LST_WS_PATH).  One
 *   URL behaves exactly as before.  All of them use TLS or none: the
 *   trust settings (fingerprint, ca, insecure) apply to every hub, so a
 *   list that mixes them would leave one hub unverified by surprise.
 * - The order is a random permutation drawn once per process
 *   (lst_hubs_shuffle): the first hub spreads listeners over the hubs,
 *   and when one hub dies its listeners spread over the others, since
 *   the hub after it differs from one listener to the next.  A fixed
 *   order per process keeps a listener's round predictable in its log.
 * - Attempts count in rounds: a connection that fails or drops moves to
 *   the next hub; only when every hub has failed in a row (one round) does
 *   the caller back off (lst_ws.c doubles its delay per round, as it did
 *   per attempt with one hub).  A welcome starts a new round.
 * No lws here: the unit tests call it directly (tests/unit/t_hubs.c).
 */
#include <stdio.h>
#include <string.h>

#include "lst.h"

/* blanks and commas separate the URLs */
static const char hub_seps[] = ", \t";

/* One URL of the list, checked and normalised as --hub always was. */
static int
hub_one(const char *text, struct mc_url *u, char *err, size_t errlen)
{
	if (mc_url_parse(text, u, err, errlen) == -1)
		return -1;
	/* the address hubctl and the browser use names the same hub */
	if (strcmp(u->scheme, "https") == 0)
		mc_strlcpy(u->scheme, "wss", sizeof(u->scheme));
	else if (strcmp(u->scheme, "http") == 0)
		mc_strlcpy(u->scheme, "ws", sizeof(u->scheme));
	if (strcmp(u->scheme, "ws") != 0 && strcmp(u->scheme, "wss") != 0) {
		snprintf(err, errlen, "'%s' must start with wss:// (or ws:// "
		    "for a hub without TLS)", text);
		return -1;
	}
	if (strcmp(u->path, "/") == 0)
		mc_strlcpy(u->path, LST_WS_PATH, sizeof(u->path));
	return 0;
}

static int
hub_same(const struct mc_url *a, const struct mc_url *b)
{
	return strcmp(a->host, b->host) == 0 && a->port == b->port &&
	    strcmp(a->path, b->path) == 0;
}

/* Add the URL text (len bytes) as hub number h->n. */
static int
hub_add(struct lst_hubs *h, const char *text, size_t len, char *err,
    size_t errlen)
{
	char one[LST_HUB_TEXT];
	struct mc_url *u = &h->url[h->n];
	int i;

	if (h->n == LST_HUBS_MAX) {
		snprintf(err, errlen, "at most %d hubs", LST_HUBS_MAX);
		return -1;
	}
	if (len >= sizeof(one)) {
		snprintf(err, errlen, "'%.40s...' is longer than %d bytes",
		    text, LST_HUB_TEXT - 1);
		return -1;
	}
	memcpy(one, text, len);
	one[len] = '\0';
	if (hub_one(one, u, err, errlen) == -1)
		return -1;
	for (i = 0; i < h->n; i++) {
		if (hub_same(&h->url[i], u)) {
			snprintf(err, errlen, "'%s' is listed twice", one);
			return -1;
		}
		if (h->url[i].tls != u->tls) {
			snprintf(err, errlen, "'%s' and '%s': every hub uses "
			    "TLS (wss://) or none does (ws://); the trust "
			    "settings apply to all of them", h->text[i], one);
			return -1;
		}
	}
	mc_strlcpy(h->text[h->n], one, sizeof(h->text[h->n]));
	h->order[h->n] = h->n;
	h->n++;
	return 0;
}

int
lst_hubs_parse(struct lst_hubs *h, const char *list, char *err,
    size_t errlen)
{
	const char *p = list;
	size_t len;

	memset(h, 0, sizeof(*h));
	for (;;) {
		p += strspn(p, hub_seps);
		if (*p == '\0')
			break;
		len = strcspn(p, hub_seps);
		if (hub_add(h, p, len, err, errlen) == -1)
			return -1;
		p += len;
	}
	if (h->n == 0) {
		snprintf(err, errlen, "no hub URL in '%s'", list);
		return -1;
	}
	return 0;
}

/* splitmix64: a small, well-mixed generator, so one seed gives one order
 * (the unit tests replay seeds) */
static uint64_t
mix_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
lst_hubs_shuffle(struct lst_hubs *h, uint64_t seed)
{
	int i, j, t;

	/* Fisher-Yates; the modulo bias over at most 8 is negligible */
	for (i = 0; i < h->n; i++)
		h->order[i] = i;
	for (i = h->n - 1; i > 0; i--) {
		j = (int)(mix_next(&seed) % (uint64_t)(i + 1));
		t = h->order[i];
		h->order[i] = h->order[j];
		h->order[j] = t;
	}
	h->pos = 0;
	h->failed = 0;
}

const struct mc_url *
lst_hubs_cur(const struct lst_hubs *h)
{
	return &h->url[h->order[h->pos]];
}

const char *
lst_hubs_name(const struct lst_hubs *h)
{
	return h->text[h->order[h->pos]];
}

int
lst_hubs_failed(struct lst_hubs *h)
{
	h->pos = (h->pos + 1) % h->n;
	if (++h->failed < h->n)
		return 0;
	h->failed = 0;
	return 1;
}

void
lst_hubs_welcomed(struct lst_hubs *h)
{
	h->failed = 0;
}

void
lst_hubs_end_round(struct lst_hubs *h)
{
	h->failed = h->n - 1;
}
