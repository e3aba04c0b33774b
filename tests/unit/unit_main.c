/*
 * unit_main.c - runs the unit tests listed in unit.h.
 *
 * Each test runs in its own forked child with its own scratch directory
 * and a time limit, so a crash, a hang or a sanitizer report fails that
 * one test and the others still run.  The child sends its first failure
 * back through a pipe.  Output, one line per test and a summary:
 *	ok NAME
 *	FAIL NAME: file:line: what
 *	unit: N passed, N failed
 * Arguments are substrings: only tests whose name contains one of them run.
 * The exit status is 1 if any test failed.
 */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#define TEST_TIME_LIMIT	20	/* seconds; ASan builds are slower */
#define REPORT_MAX	1024

struct unit_test {
	const char	*name;
	void		(*fn)(void);
};

#define UNIT_ENTRY(name)	{ #name, t_##name },
static const struct unit_test unit_tests[] = {
	UNIT_TESTS(UNIT_ENTRY)
};

static int	 report_fd = -1;	/* child: where failures go */
static int	 nfail_child;
static char	 tmpdir[256];

void
unit_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[REPORT_MAX];
	va_list ap;
	int n;

	/* the first failure is the one reported; later ones are counted */
	if (nfail_child++ > 0)
		return;
	n = snprintf(msg, sizeof(msg), "%s:%d: ", file, line);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (report_fd != -1 && write(report_fd, msg, strlen(msg)) < 0)
		return;
}

const char *
unit_tmpdir(void)
{
	return tmpdir;
}

const char *
unit_show(const char *s, size_t n)
{
	static char out[4][512];
	static int slot;
	char *o = out[slot++ % 4];
	size_t i, k = 0;

	for (i = 0; i < n && k + 8 < sizeof(out[0]); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			o[k++] = (char)c;
			continue;
		}
		k += (size_t)snprintf(o + k, sizeof(out[0]) - k, "\\x%02x", c);
	}
	if (i < n && k + 4 < sizeof(out[0])) {
		o[k++] = '.';
		o[k++] = '.';
		o[k++] = '.';
	}
	o[k] = '\0';
	return o;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
run_child(const struct unit_test *t, int fd)
{
	report_fd = fd;
	signal(SIGPIPE, SIG_IGN);
	alarm(TEST_TIME_LIMIT);
	t->fn();
	close(fd);
	/* exit(), not _exit(): LeakSanitizer runs at exit */
	exit(nfail_child ? 1 : 0);
}

/* Run one test; 0 if it passed.  Prints its line. */
static int
run_one(const struct unit_test *t)
{
	char report[REPORT_MAX + 1];
	size_t got = 0;
	ssize_t r;
	int fds[2], status;
	pid_t pid;

	snprintf(tmpdir, sizeof(tmpdir), "%s/maestro-unit-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL || pipe(fds) == -1) {
		printf("FAIL %s: unit_main.c: cannot set up: %s\n", t->name,
		    strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == -1) {
		printf("FAIL %s: unit_main.c: fork: %s\n", t->name,
		    strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		run_child(t, fds[1]);
	}
	close(fds[1]);
	for (;;) {
		r = read(fds[0], report + got, sizeof(report) - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == sizeof(report) - 1)
			break;
	}
	report[got] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (got > 0) {
		printf("FAIL %s: %s\n", t->name, report);
		return -1;
	}
	if (WIFSIGNALED(status)) {
		printf("FAIL %s: killed by signal %d (%s)\n", t->name,
		    WTERMSIG(status), WTERMSIG(status) == SIGALRM ?
		    "time limit" : strsignal(WTERMSIG(status)));
		return -1;
	}
	if (WEXITSTATUS(status) != 0) {
		printf("FAIL %s: exited with status %d (sanitizer report on "
		    "stderr?)\n", t->name, WEXITSTATUS(status));
		return -1;
	}
	printf("ok %s\n", t->name);
	return 0;
}

static int
selected(const char *name, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return 1;
	for (i = 1; i < argc; i++)
		if (strstr(name, argv[i]) != NULL)
			return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	size_t i;
	int passed = 0, failed = 0;

	for (i = 0; i < sizeof(unit_tests) / sizeof(unit_tests[0]); i++) {
		if (!selected(unit_tests[i].name, argc, argv))
			continue;
		if (run_one(&unit_tests[i]) == 0)
			passed++;
		else
			failed++;
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
