/*
 * hub_static.c - the dashboard's static files, served from memory.
 *
 * At start (and on SIGHUP) the files under the dashboard directory are
 * read into a table; a request is a lookup in that table, never a path
 * handed to the file system.  So serving never blocks the loop on disk,
 * and "/../", encoded dots and symlinks that lead out of the directory
 * cannot reach anything: only regular files found by walking the
 * directory (symlinks not followed) are in the table.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

#define STATIC_FILES_MAX	512
#define STATIC_FILE_MAX		(8 * 1024 * 1024)
#define STATIC_TOTAL_MAX	(64 * 1024 * 1024)
#define STATIC_DEPTH_MAX	4

struct static_file {
	char	*path;		/* owned: "/index.html" */
	char	*data;		/* owned */
	size_t	 len;
};

static struct {
	struct static_file	files[STATIC_FILES_MAX];
	size_t			nfiles;
	size_t			total;
} st;

static const struct { const char *ext, *type; } mime[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".sh", "text/plain; charset=utf-8" },
};

const char *
hub_static_type(const char *path)
{
	const char *dot = strrchr(path, '.');
	size_t i;

	for (i = 0; dot && i < sizeof(mime) / sizeof(mime[0]); i++)
		if (strcmp(dot, mime[i].ext) == 0)
			return mime[i].type;
	return "application/octet-stream";
}

static void
static_add(const char *full, const char *rel, const struct stat *sb)
{
	struct static_file *f;
	size_t len;
	char *data;

	if (st.nfiles == STATIC_FILES_MAX || sb->st_size > STATIC_FILE_MAX ||
	    st.total + (size_t)sb->st_size > STATIC_TOTAL_MAX) {
		mc_warn("dashboard: skipping %s (over the file limits)", full);
		return;
	}
	if ((data = mc_read_file(full, STATIC_FILE_MAX, &len)) == NULL) {
		mc_warn("dashboard: cannot read %s: %s", full, strerror(errno));
		return;
	}
	f = &st.files[st.nfiles];
	if ((f->path = strdup(rel)) == NULL) {
		free(data);
		return;
	}
	f->data = data;
	f->len = len;
	st.total += len;
	st.nfiles++;
}

static void
static_walk(const char *dir, const char *rel, int depth)
{
	char full[MC_PATH_MAX], sub[512];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if (depth > STATIC_DEPTH_MAX || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;	/* also skips . and .. */
		if (snprintf(full, sizeof(full), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(full) || snprintf(sub, sizeof(sub), "%s/%s",
		    rel, de->d_name) >= (int)sizeof(sub))
			continue;
		if (lstat(full, &sb) == -1)
			continue;
		if (S_ISDIR(sb.st_mode))
			static_walk(full, sub, depth + 1);
		else if (S_ISREG(sb.st_mode))
			static_add(full, sub, &sb);
	}
	closedir(d);
}

void
hub_static_free(void)
{
	size_t i;

	for (i = 0; i < st.nfiles; i++) {
		free(st.files[i].path);
		free(st.files[i].data);
	}
	memset(&st, 0, sizeof(st));
}

void
hub_static_load(const char *dir)
{
	hub_static_free();
	static_walk(dir, "", 0);
	if (st.nfiles == 0)
		mc_warn("dashboard: no files in %s (--dashboard DIR)", dir);
	else
		mc_info("dashboard: %zu files, %zu bytes from %s", st.nfiles,
		    st.total, dir);
}

int
hub_static_find(const char *path, const char **data, size_t *len)
{
	size_t i;

	if (strcmp(path, "/") == 0)
		path = "/index.html";
	for (i = 0; i < st.nfiles; i++) {
		if (strcmp(st.files[i].path, path) == 0) {
			*data = st.files[i].data;
			*len = st.files[i].len;
			return 0;
		}
	}
	return -1;
}
