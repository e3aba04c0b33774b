/*
 * hub_release.c - published releases of the listener: the files under
 * DATA/releases/VERSION/maestro-listener, their rows in the releases
 * table, and the tickets that let one listener download one of them.
 *
 * Rules kept here:
 * - Nothing of an upload touches the loop but its bookkeeping: the ELF
 *   check, the SHA-256 of up to MC_RELEASE_MAX bytes, the signature and
 *   the file's write (temp file, fsync, rename) run on the store's thread
 *   (hub_db_read), the row goes through the writer (hub_db_exec), and the
 *   upload is answered once that row is committed (hub_db_call).
 * - A version is published once: the same bytes again are answered 200
 *   and change nothing, other bytes under a published version are 409.
 *   A version being stored is held (storing) so two uploads of it race
 *   to one answer each, never to two files.
 * - A download ticket is random, bound to one command and one version,
 *   and good only while that command is unfinished (hub_cmd.c says):
 *   the download route needs no token, so the ticket is what admits it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "hub.h"
#include "hub_sql.h"
#include "mc_elf.h"
#include "mc_log.h"
#include "mc_sign.h"
#include "mc_util.h"

#define REL_FILE	"maestro-listener"

static struct hub_release *releases;	/* owned list, newest first */

struct ticket {
	char	hex[HUB_TICKET_HEX];	/* "": free */
	char	cmd[MC_ID_MAX];
	char	version[MC_VERSION_TEXT_MAX];
};

static struct ticket tickets[HUB_RELEASE_TICKETS];

/* An upload on its way: owned by the chain of callbacks, freed at the
 * end of it (publish_end). */
struct pub_job {
	struct mc_buf		 body;		/* owned: the file */
	struct hub_release_up	 up;
	struct hub_release	 rel;		/* what the checks found */
	char			 dir[MC_PATH_MAX + 64];
	char			 path[MC_PATH_MAX + 96];
	int			 status;	/* 0: good so far */
	char			 why[512];
	hub_release_done_fn	 done;
	void			*arg;
	struct hub_release	*held;		/* not owned: in the list */
};

struct hub_release *
hub_release_find(const char *version)
{
	struct hub_release *r;

	for (r = releases; r != NULL; r = r->next)
		if (strcmp(r->version, version) == 0)
			return r;
	return NULL;
}

const struct hub_release *
hub_release_first(void)
{
	return releases;
}

void
hub_release_write(struct mc_jw *w, const struct hub_release *r)
{
	mc_jw_obj(w, NULL);
	mc_jw_str(w, "version", r->version);
	mc_jw_str(w, "sha256", r->sha256);
	mc_jw_u64(w, "size", r->size);
	mc_jw_bool(w, "signed", r->key[0] != '\0');
	if (r->key[0] != '\0') {
		mc_jw_str(w, "key", r->key);
		mc_jw_str(w, "sig", r->sig);
		mc_jw_str(w, "signer", r->signer);
	}
	mc_jw_str(w, "published_by", r->by);
	mc_jw_dbl(w, "published", r->published);
	mc_jw_obj_end(w);
}

static void
list_add(struct hub_release *r)
{
	r->next = releases;
	releases = r;
}

static void
list_del(struct hub_release *r)
{
	struct hub_release **pp;

	for (pp = &releases; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			free(r);
			return;
		}
	}
}

static void
col_text(struct hub_sql_stmt *st, int i, char *out, size_t size)
{
	const char *t = hub_sql_text(st, i);

	mc_strlcpy(out, t != NULL ? (const char *)t : "", size);
}

int
hub_release_load(struct hub_sql *db)
{
	struct hub_release *r;
	struct hub_sql_stmt *st;
	int rc;

	if (hub_sql_prepare(db, "SELECT version, sha256, size, key, sig,"
	    " signer, published_by, published FROM releases ORDER BY"
	    " published", &st) != HUB_SQL_OK)
		return -1;
	while ((rc = hub_sql_step(st)) == HUB_SQL_ROW) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			break;
		col_text(st, 0, r->version, sizeof(r->version));
		col_text(st, 1, r->sha256, sizeof(r->sha256));
		r->size = (uint64_t)hub_sql_int64(st, 2);
		col_text(st, 3, r->key, sizeof(r->key));
		col_text(st, 4, r->sig, sizeof(r->sig));
		col_text(st, 5, r->signer, sizeof(r->signer));
		col_text(st, 6, r->by, sizeof(r->by));
		r->published = hub_sql_double(st, 7);
		list_add(r);
	}
	hub_sql_finalize(st);
	return rc == HUB_SQL_DONE ? 0 : -1;
}

/* ---- publishing ---- */

static void
b64_into(const unsigned char *raw, size_t n, char *out, size_t size)
{
	struct mc_buf b;

	mc_buf_init(&b, size - 1);
	out[0] = '\0';
	if (mc_b64_encode(&b, raw, n) == 0)
		snprintf(out, size, "%.*s", (int)b.len, b.data);
	mc_buf_free(&b);
}

/* Store's thread: is it a release, which, and signed by the key given? */
static int
check_run(struct hub_sql *db, void *arg)
{
	struct pub_job *j = arg;
	char msg[256];
	int n;

	(void)db;
	j->status = 400;
	if (mc_elf_check(j->body.data, j->body.len, j->why,
	    sizeof(j->why)) == -1)
		return 0;
	if (mc_elf_version(j->body.data, j->body.len, j->rel.version,
	    sizeof(j->rel.version)) == -1 ||
	    !mc_version_valid(j->rel.version)) {
		snprintf(j->why, sizeof(j->why), "the file names no listener "
		    "version (built without the version mark: not a "
		    "maestro-listener?)");
		return 0;
	}
	mc_sha256_hex(j->body.data, j->body.len, j->rel.sha256);
	j->rel.size = j->body.len;
	if (j->up.is_signed) {
		n = mc_release_msg(msg, sizeof(msg), j->rel.version,
		    j->rel.sha256, j->rel.size);
		if (n < 0 || mc_ed25519_verify(j->up.key,
		    MC_SIG_DOMAIN_RELEASE, msg, (size_t)n, j->up.sig) == -1) {
			snprintf(j->why, sizeof(j->why), "signature does not "
			    "match: the key given did not sign version %s "
			    "with sha256 %s and size %llu", j->rel.version,
			    j->rel.sha256, (unsigned long long)j->rel.size);
			return 0;
		}
		b64_into(j->up.key, MC_KEY_RAW, j->rel.key,
		    sizeof(j->rel.key));
		b64_into(j->up.sig, MC_SIG_RAW, j->rel.sig,
		    sizeof(j->rel.sig));
		mc_strlcpy(j->rel.signer, j->up.signer, sizeof(j->rel.signer));
	}
	j->status = 0;
	return 0;
}

/* Store's thread: the file, durably, under its final name. */
static int
write_run(struct hub_sql *db, void *arg)
{
	struct pub_job *j = arg;

	(void)db;
	if (mc_mkdir_p(j->dir, 0755) == -1 || mc_write_file(j->path,
	    j->body.data, j->body.len, 0644) == -1) {
		j->status = 500;
		snprintf(j->why, sizeof(j->why), "cannot write %.300s: %.100s",
		    j->path, strerror(errno));
	}
	return 0;
}

static void
publish_end(struct pub_job *j, int status, const struct hub_release *r)
{
	j->done(j->arg, status, r, j->why);
	mc_buf_free(&j->body);
	free(j);
}

static void
committed(void *arg, int stored)
{
	struct pub_job *j = arg;
	struct hub_release *r = j->held;
	char detail[MC_TEXT_MAX];

	if (!stored) {
		snprintf(j->why, sizeof(j->why), "the hub could not store the "
		    "release's row; publish it again");
		list_del(r);
		publish_end(j, 500, NULL);
		return;
	}
	r->storing = 0;
	snprintf(detail, sizeof(detail), "%s: %llu bytes, sha256 %.12s, %s%s",
	    r->version, (unsigned long long)r->size, r->sha256,
	    r->key[0] ? "signed by " : "unsigned", r->key[0] ? (r->signer[0] ?
	    r->signer : r->key) : "");
	mc_info("release published by %s: %s", r->by, detail);
	hub_event("release_published", "", r->by, r->version, detail);
	publish_end(j, 201, r);
}

static void
written(void *arg, int stored)
{
	struct pub_job *j = arg;
	struct hub_release *r = j->held;

	(void)stored;
	if (j->status != 0) {
		mc_warn("release %s: %s", r->version, j->why);
		list_del(r);
		publish_end(j, j->status, NULL);
		return;
	}
	hub_db_exec("INSERT INTO releases(version, sha256, size, key, sig,"
	    " signer, published_by, published) VALUES (?, ?, ?, ?, ?, ?, ?,"
	    " ?)", "ttittttd", r->version, r->sha256, (int64_t)r->size,
	    r->key, r->sig, r->signer, r->by, r->published);
	hub_db_call(NULL, committed, j);
}

/* Checked: hold the version, or say why not. */
static void
checked(void *arg, int stored)
{
	struct pub_job *j = arg;
	struct hub_release *old, *r;

	(void)stored;
	if (j->status != 0) {
		publish_end(j, j->status, NULL);
		return;
	}
	if ((old = hub_release_find(j->rel.version)) != NULL) {
		if (strcmp(old->sha256, j->rel.sha256) != 0 || old->storing) {
			snprintf(j->why, sizeof(j->why), "version %s is %s "
			    "with sha256 %s; this file's is %s (a new build "
			    "needs a new version: make VERSION=...)",
			    old->version, old->storing ? "being published" :
			    "already published", old->sha256, j->rel.sha256);
			publish_end(j, 409, NULL);
		} else
			publish_end(j, 200, old);
		return;
	}
	if ((r = malloc(sizeof(*r))) == NULL) {
		snprintf(j->why, sizeof(j->why), "out of memory");
		publish_end(j, 500, NULL);
		return;
	}
	*r = j->rel;
	mc_strlcpy(r->by, j->up.by, sizeof(r->by));
	r->published = mc_wall();
	r->storing = 1;
	list_add(r);
	j->held = r;
	snprintf(j->dir, sizeof(j->dir), "%s/releases/%s", hub.conf.data,
	    r->version);
	snprintf(j->path, sizeof(j->path), "%s/%s", j->dir, REL_FILE);
	hub_db_read(write_run, written, j);
}

void
hub_release_publish(struct mc_buf *body, const struct hub_release_up *up,
    hub_release_done_fn done, void *arg)
{
	struct pub_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		mc_buf_free(body);
		done(arg, 500, NULL, "out of memory");
		return;
	}
	j->body = *body;	/* takes the storage */
	mc_buf_init(body, body->limit);
	j->up = *up;
	j->done = done;
	j->arg = arg;
	hub_db_read(check_run, checked, j);
}

/* ---- downloads ---- */

static int
ticket_live(const struct ticket *t)
{
	const struct hub_cmd *c;

	if (t->hex[0] == '\0')
		return 0;
	c = hub_cmd_find(t->cmd);
	return c != NULL && !hub_cmd_finished(c);
}

int
hub_release_ticket(const char *cmd_id, const char *version, char *out)
{
	struct ticket *t;
	int i;

	for (i = 0; i < HUB_RELEASE_TICKETS; i++) {
		t = &tickets[i];
		if (ticket_live(t))
			continue;
		if (mc_random_hex(t->hex, (HUB_TICKET_HEX - 1) / 2) == -1) {
			t->hex[0] = '\0';
			return -1;
		}
		mc_strlcpy(t->cmd, cmd_id, sizeof(t->cmd));
		mc_strlcpy(t->version, version, sizeof(t->version));
		memcpy(out, t->hex, HUB_TICKET_HEX);
		return 0;
	}
	return -1;
}

void
hub_release_ticket_bind(const char *ticket, const char *cmd_id)
{
	int i;

	for (i = 0; i < HUB_RELEASE_TICKETS; i++)
		if (strcmp(tickets[i].hex, ticket) == 0)
			mc_strlcpy(tickets[i].cmd, cmd_id,
			    sizeof(tickets[i].cmd));
}

int
hub_release_ticket_ok(const char *version, const char *ticket)
{
	const struct ticket *t;
	int i;

	if (strlen(ticket) != HUB_TICKET_HEX - 1)
		return 0;
	for (i = 0; i < HUB_RELEASE_TICKETS; i++) {
		t = &tickets[i];
		if (t->hex[0] != '\0' && mc_secret_eq(t->hex, ticket))
			return strcmp(t->version, version) == 0 &&
			    ticket_live(t);
	}
	return 0;
}

struct open_job {
	char	 path[MC_PATH_MAX + 96];
	int	 fd;
	uint64_t size;
	void	(*done)(void *arg, int fd, uint64_t size);
	void	*arg;
};

static int
open_run(struct hub_sql *db, void *arg)
{
	struct open_job *j = arg;
	struct stat st;

	(void)db;
	j->fd = open(j->path, O_RDONLY | O_CLOEXEC);
	if (j->fd >= 0 && (fstat(j->fd, &st) == -1 || !S_ISREG(st.st_mode))) {
		close(j->fd);
		j->fd = -1;
	}
	if (j->fd >= 0)
		j->size = (uint64_t)st.st_size;
	return 0;
}

static void
open_done(void *arg, int stored)
{
	struct open_job *j = arg;

	(void)stored;
	j->done(j->arg, j->fd, j->size);
	free(j);
}

void
hub_release_open(const char *version,
    void (*done)(void *arg, int fd, uint64_t size), void *arg)
{
	struct open_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		done(arg, -1, 0);
		return;
	}
	snprintf(j->path, sizeof(j->path), "%s/releases/%s/%s", hub.conf.data,
	    version, REL_FILE);
	j->fd = -1;
	j->done = done;
	j->arg = arg;
	hub_db_read(open_run, open_done, j);
}

void
hub_release_free_all(void)
{
	struct hub_release *r, *next;

	for (r = releases; r != NULL; r = next) {
		next = r->next;
		free(r);
	}
	releases = NULL;
	memset(tickets, 0, sizeof(tickets));
}
