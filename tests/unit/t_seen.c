/*
 * t_seen.c - the listener's store of signed commands run (lst_seen.c):
 * a nonce runs once, also across a reopen (the restart command), expired
 * lines go at start, a torn or garbled line is skipped, the file is 0600,
 * and a full set refuses rather than forgets.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lst.h"
#include "unit.h"

static struct lst_seen s;	/* large: not on the stack */

static size_t
file_lines(const char *path)
{
	char buf[256];
	size_t n = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return 0;
	while (fgets(buf, sizeof(buf), f) != NULL)
		n++;
	fclose(f);
	return n;
}

void
t_seen_once_and_across_reopen(void)
{
	char err[256], path[MC_PATH_MAX + 32];
	struct stat st;

	lst_seen_init(&s);
	lst_seen_open(&s, unit_tmpdir(), 1000);
	CHECK(lst_seen_add(&s, "n-1", 1100, 1000, err, sizeof(err)) == 0);
	CHECK(lst_seen_add(&s, "n-2", 1010, 1000, err, sizeof(err)) == 0);
	CHECK(lst_seen_add(&s, "n-1", 1100, 1001, err, sizeof(err)) == -1);
	CHECK_PREFIX(err, "replayed: this signed command already ran");
	CHECK(lst_seen_add(&s, "bad nonce", 1100, 1000, err, sizeof(err)) ==
	    -1);
	lst_seen_close(&s);
	snprintf(path, sizeof(path), "%s/%s", unit_tmpdir(), LST_SEEN_FILE);
	REQUIRE(stat(path, &st) == 0);
	CHECK((st.st_mode & 0777) == 0600);
	/* a torn last line and garbage, as a crash or a person leaves them */
	{
		int fd = open(path, O_WRONLY | O_APPEND);

		REQUIRE(fd != -1);
		CHECK(write(fd, "x y\n\n99999999999999999999999 z\n1200 n-", 39) ==
		    39);
		close(fd);
	}
	/* restarted at 1050: n-2 expired, n-1 still refused */
	lst_seen_init(&s);
	lst_seen_open(&s, unit_tmpdir(), 1050);
	CHECK(s.n == 1);
	CHECK(file_lines(path) == 1);
	CHECK(lst_seen_add(&s, "n-1", 1100, 1050, err, sizeof(err)) == -1);
	CHECK(lst_seen_add(&s, "n-2", 1300, 1050, err, sizeof(err)) == 0);
	lst_seen_close(&s);
}

void
t_seen_full_refuses(void)
{
	char err[256], nonce[32];
	int i;

	lst_seen_init(&s);
	lst_seen_open(&s, unit_tmpdir(), 0);
	for (i = 0; i < LST_SEEN_NONCES; i++) {
		snprintf(nonce, sizeof(nonce), "n-%d", i);
		REQUIRE(lst_seen_add(&s, nonce, 300, 0, err, sizeof(err)) ==
		    0);
	}
	CHECK(lst_seen_add(&s, "one-more", 300, 1, err, sizeof(err)) == -1);
	CHECK_PREFIX(err, "too many signed commands within 5 minutes");
	/* once they expire there is room again, and the file was compacted
	 * on the way (it never holds more than twice the set) */
	CHECK(lst_seen_add(&s, "one-more", 600, 300, err, sizeof(err)) == 0);
	CHECK(s.n == 1);
	lst_seen_close(&s);
}
