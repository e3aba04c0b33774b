/*
 * t_hubs.c - the listener's hub list (listener/lst_hubs.c): one URL as
 * before, several separated by commas and/or blanks, each checked with a
 * reason naming it, the bound, no mixing of TLS and plain, no duplicate;
 * the order drawn from a seed is a permutation, both hubs come first for
 * some seeds, and the rounds end only after every hub failed in a row.
 */
#include <stdio.h>
#include <string.h>

#include "lst.h"
#include "unit.h"

static struct lst_hubs h;	/* large: not on the stack */

void
t_hubs_parse_one_and_several(void)
{
	char err[256];

	REQUIRE(lst_hubs_parse(&h, "wss://a.example:8443", err,
	    sizeof(err)) == 0);
	CHECK_EQ_INT(h.n, 1);
	CHECK_EQ_STR(lst_hubs_cur(&h)->host, "a.example");
	CHECK_EQ_INT(lst_hubs_cur(&h)->port, 8443);
	CHECK_EQ_STR(lst_hubs_cur(&h)->path, LST_WS_PATH);
	CHECK_EQ_INT(lst_hubs_cur(&h)->tls, 1);
	CHECK_EQ_STR(lst_hubs_name(&h), "wss://a.example:8443");

	/* commas, blanks, both, a trailing comma; https:// means wss:// */
	REQUIRE(lst_hubs_parse(&h, " wss://a:8443,wss://b:8443 ,\t"
	    "https://[::1]:9443  wss://c:1/x/, ", err, sizeof(err)) == 0);
	CHECK_EQ_INT(h.n, 4);
	CHECK_EQ_STR(h.url[0].host, "a");
	CHECK_EQ_STR(h.url[1].host, "b");
	CHECK_EQ_STR(h.url[2].host, "::1");
	CHECK_EQ_STR(h.url[2].scheme, "wss");
	CHECK_EQ_INT(h.url[2].port, 9443);
	CHECK_EQ_STR(h.url[3].path, "/x/");
	CHECK_EQ_STR(h.text[1], "wss://b:8443");
	/* as listed until shuffled */
	CHECK_EQ_STR(lst_hubs_name(&h), "wss://a:8443");

	REQUIRE(lst_hubs_parse(&h, "ws://a:80 http://b:81", err,
	    sizeof(err)) == 0);
	CHECK_EQ_INT(h.n, 2);
	CHECK_EQ_STR(h.url[1].scheme, "ws");
	CHECK_EQ_INT(h.url[1].tls, 0);
}

void
t_hubs_parse_refuses(void)
{
	char err[256], list[LST_HUBS_MAX * 32 + 64];
	int i, n = 0;

	CHECK(lst_hubs_parse(&h, "", err, sizeof(err)) == -1);
	CHECK_PREFIX(err, "no hub URL in ''");
	CHECK(lst_hubs_parse(&h, " , ", err, sizeof(err)) == -1);
	CHECK(lst_hubs_parse(&h, "wss://a:8443, ftp://b:21", err,
	    sizeof(err)) == -1);
	CHECK_CONTAINS(err, "ftp://b:21");
	CHECK(lst_hubs_parse(&h, "wss://a:8443, wss://b:99999", err,
	    sizeof(err)) == -1);
	CHECK_CONTAINS(err, "wss://b:99999");
	CHECK(lst_hubs_parse(&h, "wss://a:8443, b:8443", err,
	    sizeof(err)) == -1);
	CHECK(lst_hubs_parse(&h, "wss://a:8443, ws://b:8080", err,
	    sizeof(err)) == -1);
	CHECK_CONTAINS(err, "every hub uses TLS");
	CHECK(lst_hubs_parse(&h, "wss://a:8443, https://a:8443/", err,
	    sizeof(err)) == -1);
	CHECK_CONTAINS(err, "listed twice");

	/* the bound: LST_HUBS_MAX pass, one more is refused */
	list[0] = '\0';
	for (i = 0; i < LST_HUBS_MAX; i++)
		n += snprintf(list + n, sizeof(list) - (size_t)n,
		    "wss://h%d:8443,", i);
	REQUIRE(lst_hubs_parse(&h, list, err, sizeof(err)) == 0);
	CHECK_EQ_INT(h.n, LST_HUBS_MAX);
	snprintf(list + n, sizeof(list) - (size_t)n, "wss://one-more:1");
	CHECK(lst_hubs_parse(&h, list, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "at most");
}

void
t_hubs_shuffle_spreads(void)
{
	char err[256];
	int first[3] = { 0, 0, 0 }, seen, i, j;
	uint64_t seed;

	REQUIRE(lst_hubs_parse(&h, "wss://a:1, wss://b:2, wss://c:3", err,
	    sizeof(err)) == 0);
	for (seed = 1; seed <= 300; seed++) {
		lst_hubs_shuffle(&h, seed);
		seen = 0;
		for (i = 0; i < h.n; i++) {
			REQUIRE(h.order[i] >= 0 && h.order[i] < h.n);
			seen |= 1 << h.order[i];
		}
		CHECK_EQ_INT(seen, 7);	/* a permutation */
		first[h.order[0]]++;
	}
	/* each hub first for about a third of the seeds */
	for (j = 0; j < 3; j++)
		CHECK_MSG(first[j] > 60, "hub %d first for %d of 300 seeds",
		    j, first[j]);
	/* one seed, one order */
	lst_hubs_shuffle(&h, 42);
	i = h.order[0] * 100 + h.order[1] * 10 + h.order[2];
	lst_hubs_shuffle(&h, 42);
	CHECK_EQ_INT(h.order[0] * 100 + h.order[1] * 10 + h.order[2], i);
}

void
t_hubs_rounds(void)
{
	char err[256];
	const char *start;

	/* one hub: every failure ends a round (the backoff doubles) */
	REQUIRE(lst_hubs_parse(&h, "wss://a:1", err, sizeof(err)) == 0);
	lst_hubs_shuffle(&h, 7);
	CHECK_EQ_INT(lst_hubs_failed(&h), 1);
	CHECK_EQ_INT(lst_hubs_failed(&h), 1);
	CHECK_EQ_STR(lst_hubs_name(&h), "wss://a:1");

	/* three: the next hub, the next, then the round is over and the
	 * first comes again */
	REQUIRE(lst_hubs_parse(&h, "wss://a:1 wss://b:2 wss://c:3", err,
	    sizeof(err)) == 0);
	lst_hubs_shuffle(&h, 7);
	start = h.text[h.order[0]];
	CHECK_EQ_INT(lst_hubs_failed(&h), 0);
	CHECK(strcmp(lst_hubs_name(&h), start) != 0);
	CHECK_EQ_INT(lst_hubs_failed(&h), 0);
	CHECK_EQ_INT(lst_hubs_failed(&h), 1);
	CHECK_EQ_STR(lst_hubs_name(&h), start);
	/* a welcome starts a new round: the drop moves on, no back off */
	CHECK_EQ_INT(lst_hubs_failed(&h), 0);
	lst_hubs_welcomed(&h);
	CHECK_EQ_INT(lst_hubs_failed(&h), 0);
	CHECK_EQ_INT(lst_hubs_failed(&h), 0);
	CHECK_EQ_INT(lst_hubs_failed(&h), 1);
	/* a hub that says wait: the next failure ends the round */
	lst_hubs_end_round(&h);
	CHECK_EQ_INT(lst_hubs_failed(&h), 1);
}
