/*
 * lst_hw.c - what the hardware samplers share: small sysfs files read
 * without allocating, numbered directory entries listed in order, and
 * names made safe to send.
 *
 * Rules kept here: a read is one open, one read and one close of at most
 * a small buffer (sysfs attributes are a line); a directory listing stops
 * after LST_SCAN_MAX entries, so a strange tree costs a bounded amount;
 * names are cut to printable ASCII, so that a name's length on the wire
 * is its length here and no reader refuses it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lst.h"

const char *
lst_hw_root(const struct lst *l)
{
	/* "/" reads as "" so that paths come out as /sys/..., not //sys */
	return strcmp(l->conf.sysfs_root, "/") == 0 ? "" : l->conf.sysfs_root;
}

int
lst_hw_path(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
lst_hw_read(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	do {
		n = read(fd, buf, size - 1);
	} while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	memmove(buf, mc_trim(buf), strlen(mc_trim(buf)) + 1);
	return buf[0] != '\0' ? 0 : -1;
}

int
lst_hw_num(const char *path, double *out)
{
	char buf[64];

	if (lst_hw_read(path, buf, sizeof(buf)) == -1)
		return -1;
	return mc_parse_dbl(buf, -1e18, 1e18, out);
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* N when name is prefix, decimal digits, suffix and nothing else. */
static int
entry_num(const char *name, const char *prefix, const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix), n = strlen(name), d;
	int64_t v;
	char digits[12];

	if (n <= pl + sl || strncmp(name, prefix, pl) != 0 ||
	    strcmp(name + n - sl, suffix) != 0)
		return -1;
	d = n - pl - sl;
	if (d >= sizeof(digits))
		return -1;
	memcpy(digits, name + pl, d);
	digits[d] = '\0';
	if (strspn(digits, "0123456789") != d ||
	    mc_parse_i64(digits, 0, 1000000, &v) == -1)
		return -1;
	return (int)v;
}

int
lst_hw_list(const char *dir, const char *prefix, const char *suffix,
    int *nums, int max)
{
	struct dirent *e;
	int n = 0, seen = 0, v;
	DIR *d;

	d = opendir(dir);
	if (d == NULL)
		return -1;
	for (e = readdir(d); e != NULL && n < max && seen < LST_SCAN_MAX;
	    e = readdir(d), seen++) {
		v = entry_num(e->d_name, prefix, suffix);
		if (v >= 0)
			nums[n++] = v;
	}
	closedir(d);
	qsort(nums, (size_t)n, sizeof(nums[0]), cmp_int);
	return n;
}

void
lst_hw_name(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < size; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}
