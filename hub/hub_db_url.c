/*
 * hub_db_url.c - the `store =` setting: which engine, and where.
 *
 *   store = sqlite:PATH                      (default: sqlite:DATA/hub.db)
 *   store = postgres://USER@HOST:PORT/DB[?sslmode=...&sslrootcert=...]
 *   store_password_file = FILE               PostgreSQL's password
 *
 * A password never goes in the URL, where logs, `ps` and listings would
 * show it: it is refused with the line, and the file holds it.  Only the
 * TLS and timeout options of libpq's URL are taken, so the URL stays a
 * plain address that can be logged whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

/* the query options a store URL may carry */
static const char *const pg_options[] = {
	"sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl",
	"connect_timeout", NULL
};

static int
option_ok(const char *opt, size_t n)
{
	const char *eq = memchr(opt, '=', n);
	size_t k;
	int i;

	if (eq == NULL || eq == opt || (size_t)(eq - opt) + 1 == n)
		return 0;
	k = (size_t)(eq - opt);
	for (i = 0; pg_options[i] != NULL; i++)
		if (strlen(pg_options[i]) == k &&
		    strncmp(opt, pg_options[i], k) == 0)
			return 1;
	return 0;
}

static int
pg_check(const char *url, char *err, size_t errlen)
{
	const char *p = strstr(url, "://") + 3, *at, *q, *slash;
	size_t n;

	q = strchr(p, '?');
	at = memchr(p, '@', q ? (size_t)(q - p) : strlen(p));
	slash = strchr(p, '/');
	if (at != NULL && memchr(p, ':', (size_t)(at - p)) != NULL) {
		snprintf(err, errlen, "a password never goes in the URL (logs "
		    "and listings would show it): put it in a file named by "
		    "store_password_file = FILE (mode 0600)");
		return -1;
	}
	if (slash == NULL || slash[1] == '\0' || slash[1] == '?') {
		snprintf(err, errlen, "names no database: "
		    "postgres://USER@HOST:PORT/DB");
		return -1;
	}
	for (; q != NULL && q[1] != '\0'; q = p[n] ? p + n : NULL) {
		p = q + 1;
		n = strcspn(p, "&");
		if (!option_ok(p, n)) {
			snprintf(err, errlen, "option '%.*s' is not taken "
			    "(sslmode, sslrootcert, sslcert, sslkey, sslcrl, "
			    "connect_timeout are)", (int)(n < 40 ? n : 40), p);
			return -1;
		}
	}
	if (strchr(url, '#') != NULL || strstr(url, "password") != NULL) {
		snprintf(err, errlen, "a password never goes in the URL: put it "
		    "in a file named by store_password_file = FILE");
		return -1;
	}
	return 0;
}

int
hub_db_store_check(const char *store, const char *password_file, char *err,
    size_t errlen)
{
	int pg = strncmp(store, "postgres://", 11) == 0 ||
	    strncmp(store, "postgresql://", 13) == 0;

	if (store[0] == '\0' || strncmp(store, "sqlite:", 7) == 0) {
		if (store[0] != '\0' && store[7] == '\0') {
			snprintf(err, errlen, "sqlite: needs a file: "
			    "sqlite:PATH");
			return -1;
		}
		if (password_file[0] != '\0') {
			snprintf(err, errlen, "needs store "
			    "= postgres://USER@HOST:PORT/DB");
			return -1;
		}
		return 0;
	}
	if (!pg) {
		snprintf(err, errlen, "must be sqlite:PATH or "
		    "postgres://USER@HOST:PORT/DB");
		return -1;
	}
	return pg_check(store, err, errlen);
}

int
hub_db_store_open(void)
{
	char store[sizeof(hub.conf.store) + MC_PATH_MAX], pw[1024], *text;
	int rc, r;

	if (hub.conf.store[0] == '\0')
		snprintf(store, sizeof(store), "sqlite:%s/hub.db",
		    hub.conf.data);
	else
		mc_strlcpy(store, hub.conf.store, sizeof(store));
	pw[0] = '\0';
	if (hub.conf.store_password_file[0] != '\0') {
		/* owned here, wiped before it is freed */
		text = mc_read_file(hub.conf.store_password_file, 64 * 1024,
		    NULL);
		if (text == NULL) {
			mc_err("store_password_file: cannot read %s",
			    hub.conf.store_password_file);
			return -1;
		}
		r = mc_strlcpy(pw, mc_trim(text), sizeof(pw));
		explicit_bzero(text, strlen(text));
		free(text);
		if (r == -1) {
			mc_err("store_password_file: %s is too long",
			    hub.conf.store_password_file);
			return -1;
		}
	}
	rc = hub_db_open(store, pw[0] ? pw : NULL);
	explicit_bzero(pw, sizeof(pw));
	return rc;
}
