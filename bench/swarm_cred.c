/*
 * swarm_cred.c - the agents array and their credentials.
 *
 * The creds file holds one "name credential" line per enrolled agent.  It
 * is read once at start (a later line for the same name wins) and each
 * credential the hub issues is appended as one write() on an O_APPEND
 * descriptor, so several swarm processes could even share a file without
 * tearing lines; one file per process is still the advice.  The file is
 * mode 0600 because it holds secrets.  There is no fsync: a line written
 * survives the process being killed, which is what a benchmark needs,
 * and the service thread never waits for the disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mc_log.h"
#include "swarm.h"

/* the creds file read at start; 2000 bytes a line would be absurd */
#define SW_CREDS_FILE_MAX	(64 * 1024 * 1024)

void
sw_agent_name(const struct sw *s, const struct sw_agent *a, char *buf,
    size_t size)
{
	snprintf(buf, size, "%s-%05u", s->conf.prefix, (unsigned)a->index);
}

/* The agent a line's name belongs to in this process, or NULL. */
static struct sw_agent *
agent_by_name(struct sw *s, const char *name, size_t n)
{
	size_t plen = strlen(s->conf.prefix);
	char digits[16];
	int64_t idx;

	if (n <= plen + 1 || n - plen - 1 >= sizeof(digits) ||
	    memcmp(name, s->conf.prefix, plen) != 0 || name[plen] != '-')
		return NULL;
	memcpy(digits, name + plen + 1, n - plen - 1);
	digits[n - plen - 1] = '\0';
	if (strlen(digits) < 5 || mc_parse_i64(digits, s->conf.first,
	    (int64_t)s->conf.first + s->n - 1, &idx) == -1)
		return NULL;
	return &s->agents[idx - s->conf.first];
}

/* One line: "name credential". */
static void
load_line(struct sw *s, char *line, int *found)
{
	char *sp = strchr(line, ' ');
	struct sw_agent *a;
	char *cred;

	if (sp == NULL)
		return;
	cred = mc_trim(sp + 1);
	if ((a = agent_by_name(s, line, (size_t)(sp - line))) == NULL ||
	    *cred == '\0' || strlen(cred) >= sizeof(a->cred))
		return;
	if (a->cred[0] == '\0')
		(*found)++;
	mc_strlcpy(a->cred, cred, sizeof(a->cred));
}

static int
load_file(struct sw *s, int *found, char *err, size_t errlen)
{
	char *text, *line, *nl;
	size_t len;

	*found = 0;
	if ((text = mc_read_file(s->conf.creds, SW_CREDS_FILE_MAX,
	    &len)) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", s->conf.creds,
		    strerror(errno));
		return -1;
	}
	for (line = text; line < text + len; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(text + len - line))) ==
		    NULL)
			nl = text + len;
		*nl = '\0';
		load_line(s, line, found);
	}
	explicit_bzero(text, len);
	free(text);
	return 0;
}

static int
open_file(struct sw *s, char *err, size_t errlen)
{
	s->creds_fd = open(s->conf.creds, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0600);
	if (s->creds_fd == -1 || fchmod(s->creds_fd, 0600) == -1) {
		snprintf(err, errlen, "%s: %s", s->conf.creds,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
sw_cred_setup(struct sw *s, char *err, size_t errlen)
{
	int i, found;

	s->creds_fd = -1;
	s->n = s->conf.agents;
	if ((s->agents = calloc((size_t)s->n, sizeof(*s->agents))) == NULL) {
		snprintf(err, errlen, "no memory for %d agents", s->n);
		return -1;
	}
	for (i = 0; i < s->n; i++) {
		s->agents[i].index = (uint32_t)(s->conf.first + i);
		s->agents[i].backoff = 1;
	}
	if (load_file(s, &found, err, errlen) == -1)
		return -1;
	if (found < s->n && s->conf.enroll_key[0] == '\0') {
		snprintf(err, errlen, "%d of %d agents have no credential in "
		    "%s and no --enroll-key was given", s->n - found, s->n,
		    s->conf.creds);
		return -1;
	}
	/* with a key, any agent may enroll (again) and need the file */
	if (s->conf.enroll_key[0] != '\0' && open_file(s, err, errlen) == -1)
		return -1;
	mc_info("%d agents %s-%05d..%s-%05d: %d with a credential from %s, "
	    "%d to enroll", s->n, s->conf.prefix, s->conf.first,
	    s->conf.prefix, s->conf.first + s->n - 1, found, s->conf.creds,
	    s->n - found);
	return 0;
}

int
sw_cred_save(struct sw *s, struct sw_agent *a, const char *cred)
{
	char name[MC_NAME_MAX + 1], line[MC_NAME_MAX + MC_SECRET_MAX + 4];
	int n;

	if (mc_strlcpy(a->cred, cred, sizeof(a->cred)) == -1) {
		a->cred[0] = '\0';
		sw_error(s, "credential issued to agent %u is too long",
		    (unsigned)a->index);
		return -1;
	}
	s->st.enrolled++;
	sw_agent_name(s, a, name, sizeof(name));
	n = snprintf(line, sizeof(line), "%s %s\n", name, cred);
	errno = EBADF;
	if (s->creds_fd == -1 || n < 0 || (size_t)n >= sizeof(line) ||
	    write(s->creds_fd, line, (size_t)n) != (ssize_t)n) {
		sw_error(s, "%s: cannot keep the credential of %s: %s",
		    s->conf.creds, name, strerror(errno));
		explicit_bzero(line, sizeof(line));
		return -1;
	}
	explicit_bzero(line, sizeof(line));
	return 0;
}

void
sw_cred_close(struct sw *s)
{
	if (s->creds_fd != -1)
		close(s->creds_fd);
	s->creds_fd = -1;
}
