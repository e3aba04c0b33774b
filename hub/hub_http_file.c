/*
 * hub_http_file.c - a reply body read from a file in pieces, off the loop:
 * a terminal recording can be a gigabyte, which neither the hub's memory
 * nor its loop (which never waits on the disk) should take whole.
 *
 * Rules kept here:
 * - One piece (FILE_PIECE) is held per reply: the next is read on the
 *   store's thread (hub_db_read) once the last went out, so a slow client
 *   holds one piece, never the file.
 * - The body is exactly the size given at the start: a file that shrank
 *   meanwhile ends the connection short, which the client sees against
 *   Content-Length, rather than padding or a lie.
 * - A connection that closes while a piece is being read leaves the body
 *   to the read, which frees it when it comes back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"
#include "hub_sql.h"
#include "mc_log.h"

/* bytes read per trip to the store's thread */
#define FILE_PIECE	(256 * 1024)

struct hub_fbody {
	int		 fd;		/* owned */
	uint64_t	 size;		/* the body's length */
	uint64_t	 off;		/* bytes of it read so far */
	unsigned char	*piece;		/* owned: FILE_PIECE bytes */
	size_t		 len, sent;	/* read into piece; sent of those */
	int		 reading;	/* a read is on the store's thread */
	int		 failed;	/* a read failed or came up short */
	struct hub_conn	*conn;		/* not owned; NULL once it closed */
};

static void
fbody_free(struct hub_fbody *f)
{
	close(f->fd);
	free(f->piece);
	free(f);
}

int
hub_http_file(struct hub_conn *c, int fd, uint64_t size, const char *ctype)
{
	struct hub_fbody *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->piece = malloc(FILE_PIECE)) == NULL) {
		free(f);
		close(fd);
		return -1;
	}
	f->fd = fd;
	f->size = size;
	f->conn = c;
	c->http->file = f;
	c->http->ctype = ctype;
	c->http->status = 200;
	return 0;
}

uint64_t
hub_http_file_size(const struct hub_http *h)
{
	return h->file->size;
}

/* Store's thread: the next piece.  Only this touches piece meanwhile. */
static int
read_run(struct hub_sql *db, void *arg)
{
	struct hub_fbody *f = arg;
	uint64_t left = f->size - f->off;
	size_t want = left < FILE_PIECE ? (size_t)left : FILE_PIECE;
	ssize_t n;

	(void)db;
	f->len = 0;
	while (f->len < want) {
		n = pread(f->fd, f->piece + f->len, want - f->len,
		    (off_t)(f->off + f->len));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			f->failed = 1;
			break;
		}
		f->len += (size_t)n;
	}
	return 0;
}

static void
read_done(void *arg, int stored)
{
	struct hub_fbody *f = arg;

	(void)stored;
	f->reading = 0;
	if (f->conn == NULL) {
		fbody_free(f);
		return;
	}
	if (f->failed)
		mc_warn("%s: %s: the file came up short after %llu of %llu "
		    "bytes; closing", f->conn->peer, f->conn->http->path,
		    (unsigned long long)(f->off + f->len),
		    (unsigned long long)f->size);
	f->off += f->len;
	f->sent = 0;
	hub_ws_want_write(f->conn->wsi);
}

int
hub_http_file_next(struct hub_http *h, const void **p, size_t *n)
{
	struct hub_fbody *f = h->file;

	if (f->reading)
		return 0;
	if (f->sent < f->len) {
		*p = f->piece + f->sent;
		*n = f->len - f->sent;
		return 1;
	}
	if (f->failed)
		return -1;
	if (f->off == f->size) {
		*n = 0;
		return 1;
	}
	f->reading = 1;
	f->len = f->sent = 0;
	hub_db_read(read_run, read_done, f);
	return 0;
}

int
hub_http_file_sent(struct hub_http *h, size_t n)
{
	struct hub_fbody *f = h->file;

	f->sent += n;
	return f->sent == f->len && f->off == f->size && !f->failed;
}

void
hub_http_file_free(struct hub_fbody *f)
{
	if (f == NULL)
		return;
	if (f->reading)
		f->conn = NULL;	/* read_done frees it */
	else
		fbody_free(f);
}
