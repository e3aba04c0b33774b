/*
 * lst_seen.c - the nonces of signed commands already run, so that a hub
 * cannot run one signed command twice (docs/protocol.md, "Signed
 * commands").
 *
 * A nonce is kept until its signature expires: after that the signature
 * is refused anyway.  The set lives in memory (it outlasts reconnects)
 * and in STATE_DIR/signed-seen, one "EXP NONCE" line each, appended
 * before the command runs, so that it also outlasts the restart command,
 * which starts a fresh copy of the listener.  The file is rewritten
 * without the expired lines at start and whenever it holds twice as many
 * lines as the set; a line that does not read (a crash mid-write) is
 * skipped.  The set is bounded: full of unexpired nonces, it refuses
 * more rather than forget one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lst.h"
#include "mc_log.h"

/* a line: a number, a blank, a nonce, a newline */
#define SEEN_LINE_MAX	(24 + MC_NONCE_MAX + 2)

void
lst_seen_init(struct lst_seen *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

int
lst_seen_nonce_ok(const char *nonce)
{
	const unsigned char *p;

	if (*nonce == '\0')
		return 0;
	for (p = (const unsigned char *)nonce; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return 0;
	return 1;
}

/* Drop the expired entries, keeping the order of the rest. */
static void
seen_purge(struct lst_seen *s, int64_t now)
{
	int i, n = 0;

	for (i = 0; i < s->n; i++)
		if (s->e[i].exp > now)
			s->e[n++] = s->e[i];
	s->n = n;
}

static int
seen_find(const struct lst_seen *s, const char *nonce)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->e[i].nonce, nonce) == 0)
			return i;
	return -1;
}

/* One line of the file into the set, if it reads and has not expired. */
static void
seen_line(struct lst_seen *s, char *line, int64_t now)
{
	char *end, *nonce;
	long long exp;

	line[strcspn(line, "\n")] = '\0';
	errno = 0;
	exp = strtoll(line, &end, 10);
	if (errno != 0 || end == line || *end != ' ' || exp <= now)
		return;
	nonce = end + 1;
	if (strlen(nonce) >= MC_NONCE_MAX || !lst_seen_nonce_ok(nonce) ||
	    seen_find(s, nonce) != -1 || s->n == LST_SEEN_NONCES)
		return;
	s->e[s->n].exp = exp;
	mc_strlcpy(s->e[s->n].nonce, nonce, sizeof(s->e[s->n].nonce));
	s->n++;
}

/* Read the file into the set: a missing file is an empty set. */
static void
seen_read(struct lst_seen *s, int64_t now)
{
	char line[SEEN_LINE_MAX + 1];
	size_t len;
	FILE *f;

	if ((f = fopen(s->path, "re")) == NULL) {
		if (errno != ENOENT)
			mc_warn("%s: %s; starting with no signed commands "
			    "seen", s->path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		len = strlen(line);
		/* a line without its newline was cut short (a crash while it
		 * was written) or is longer than any written: skipped */
		if (len == 0 || line[len - 1] != '\n') {
			while (len > 0 && line[len - 1] != '\n' &&
			    fgets(line, sizeof(line), f) != NULL)
				len = strlen(line);
			continue;
		}
		seen_line(s, line, now);
	}
	fclose(f);
}

/* Write the set as the whole file (a temporary, then renamed over it)
 * and open it for appending: 0, or -1 (logged). */
static int
seen_rewrite(struct lst_seen *s)
{
	char tmp[sizeof(s->path) + 8];
	FILE *f;
	int fd, i, bad;

	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		mc_warn("%s: %s", tmp, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	for (i = 0; i < s->n; i++)
		fprintf(f, "%" PRId64 " %s\n", s->e[i].exp, s->e[i].nonce);
	bad = fflush(f) != 0 || ferror(f);
	if (fclose(f) != 0 || bad || rename(tmp, s->path) == -1) {
		mc_warn("%s: cannot write: %s", s->path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	s->lines = s->n;
	s->fd = open(s->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (s->fd == -1) {
		mc_warn("%s: %s", s->path, strerror(errno));
		return -1;
	}
	return 0;
}

void
lst_seen_open(struct lst_seen *s, const char *dir, int64_t now)
{
	snprintf(s->path, sizeof(s->path), "%s/%s", dir, LST_SEEN_FILE);
	seen_read(s, now);
	if (seen_rewrite(s) == -1)
		mc_warn("signed commands seen are kept in memory only: a "
		    "restart forgets them");
}

void
lst_seen_close(struct lst_seen *s)
{
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
}

/* Append one line; a short write is left for the next start to skip. */
static void
seen_append(struct lst_seen *s, const struct lst_seen_ent *e)
{
	char line[SEEN_LINE_MAX];
	int n;

	if (s->lines >= 2 * LST_SEEN_NONCES) {
		seen_rewrite(s);
		return;
	}
	if (s->fd == -1)
		return;
	n = snprintf(line, sizeof(line), "%" PRId64 " %s\n", e->exp,
	    e->nonce);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    write(s->fd, line, (size_t)n) != n)
		mc_warn("%s: cannot append: %s", s->path, strerror(errno));
	else
		s->lines++;
}

int
lst_seen_add(struct lst_seen *s, const char *nonce, int64_t exp, int64_t now,
    char *err, size_t errlen)
{
	struct lst_seen_ent *e;

	if (!lst_seen_nonce_ok(nonce) || strlen(nonce) >= MC_NONCE_MAX) {
		snprintf(err, errlen, "signed payload: its id must be printable "
		    "ASCII without blanks, under %d bytes", MC_NONCE_MAX);
		return -1;
	}
	seen_purge(s, now);
	if (seen_find(s, nonce) != -1) {
		snprintf(err, errlen, "replayed: this signed command already "
		    "ran");
		return -1;
	}
	if (s->n == LST_SEEN_NONCES) {
		snprintf(err, errlen, "too many signed commands within %d "
		    "minutes (%d): try again when some expire",
		    MC_SIG_WINDOW / 60, LST_SEEN_NONCES);
		return -1;
	}
	e = &s->e[s->n++];
	e->exp = exp;
	mc_strlcpy(e->nonce, nonce, sizeof(e->nonce));
	seen_append(s, e);
	return 0;
}
