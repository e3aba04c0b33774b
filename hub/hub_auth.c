/*
 * hub_auth.c - admin/operator/viewer tokens and enrollment keys.
 *
 * Both are "ID.SECRET": the hub keeps only the SHA-256 of SECRET, finds
 * the record by ID and compares hashes in constant time.  The secrets are
 * 32 random bytes, so a fast hash is enough (nothing to brute-force) and
 * checking one costs microseconds on the service thread.  All records are
 * in memory; changes are queued to hub_db.  Secrets are never logged: logs
 * name the ID.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

static struct {
	struct hub_token	*tokens;	/* owned list */
	struct hub_key		*keys;		/* owned list */
	size_t			 ntokens;
} auth;

static const char *const role_names[] = { "", "viewer", "operator", "admin" };

const char *
hub_role_name(enum hub_role_level r)
{
	return r >= ROLE_VIEWER && r <= ROLE_ADMIN ? role_names[r] : "?";
}

int
hub_role_parse(const char *s, enum hub_role_level *out)
{
	int i;

	for (i = ROLE_VIEWER; i <= ROLE_ADMIN; i++) {
		if (strcmp(s, role_names[i]) == 0) {
			*out = (enum hub_role_level)i;
			return 0;
		}
	}
	return -1;
}

/* Split "ID.SECRET" and hash SECRET. -1 if malformed. */
static int
split_secret(const char *text, char *id, size_t idlen, char *hash)
{
	const char *dot = strchr(text, '.');
	size_t n;

	if (dot == NULL || (n = (size_t)(dot - text)) == 0 || n >= idlen ||
	    dot[1] == '\0' || strlen(dot + 1) > 256)
		return -1;
	memcpy(id, text, n);
	id[n] = '\0';
	mc_sha256_hex(dot + 1, strlen(dot + 1), hash);
	return 0;
}

const struct hub_token *
hub_auth_token(const char *text)
{
	char id[16], hash[MC_SHA256_HEX];
	struct hub_token *t;

	if (split_secret(text, id, sizeof(id), hash) == -1)
		return NULL;
	for (t = auth.tokens; t != NULL; t = t->next)
		if (strcmp(t->id, id) == 0)
			return !t->revoked && mc_secret_eq(hash, t->hash) ?
			    t : NULL;
	return NULL;
}

struct hub_key *
hub_auth_use_key(const char *text, char *why, size_t whylen)
{
	char id[16], hash[MC_SHA256_HEX];
	struct hub_key *k;

	if (split_secret(text, id, sizeof(id), hash) == -1) {
		snprintf(why, whylen, "malformed enrollment key");
		return NULL;
	}
	for (k = auth.keys; k != NULL; k = k->next)
		if (strcmp(k->id, id) == 0)
			break;
	if (k == NULL || !mc_secret_eq(hash, k->hash)) {
		snprintf(why, whylen, "unknown enrollment key");
		return NULL;
	}
	if (k->revoked) {
		snprintf(why, whylen, "enrollment key %s was revoked", k->id);
		return NULL;
	}
	if (k->expires > 0 && mc_wall() > k->expires) {
		snprintf(why, whylen, "enrollment key %s has expired", k->id);
		return NULL;
	}
	if (k->uses > 0 && k->used >= k->uses) {
		snprintf(why, whylen, "enrollment key %s is used up (%lld uses)",
		    k->id, (long long)k->uses);
		return NULL;
	}
	k->used++;
	/* counted in the store, not set: hubs sharing it add up */
	hub_db_exec("UPDATE enroll_keys SET used = used + 1 WHERE id = ?", "t",
	    k->id);
	return k;
}

/* A fresh "PREFIX<8 hex>" id and "<64 hex>" secret. */
static int
new_secret(char prefix, char *id, char *secret)
{
	id[0] = prefix;
	return mc_random_hex(id + 1, 4) == -1 || mc_random_hex(secret, 32) ==
	    -1 ? -1 : 0;
}

struct hub_token *
hub_auth_token_create(enum hub_role_level role, const char *name, char *out,
    size_t outlen)
{
	char secret[65];
	struct hub_token *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (new_secret('t', t->id, secret) == -1) {
		free(t);
		return NULL;
	}
	mc_sha256_hex(secret, strlen(secret), t->hash);
	t->role = role;
	mc_strlcpy(t->name, name, sizeof(t->name));
	t->created = mc_wall();
	t->next = auth.tokens;
	auth.tokens = t;
	auth.ntokens++;
	snprintf(out, outlen, "%s.%s", t->id, secret);
	hub_db_exec("INSERT INTO tokens(id, hash, role, name, created)"
	    " VALUES (?, ?, ?, ?, ?)", "ttitd", t->id, t->hash,
	    (int64_t)t->role, t->name, t->created);
	mc_info("token %s (%s, '%s') created", t->id, hub_role_name(role),
	    t->name);
	return t;
}

struct hub_key *
hub_auth_key_create(int64_t uses, double expires, char *out, size_t outlen)
{
	char secret[65];
	struct hub_key *k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if (new_secret('k', k->id, secret) == -1) {
		free(k);
		return NULL;
	}
	mc_sha256_hex(secret, strlen(secret), k->hash);
	k->uses = uses;
	k->expires = expires;
	k->created = mc_wall();
	k->next = auth.keys;
	auth.keys = k;
	snprintf(out, outlen, "%s.%s", k->id, secret);
	hub_db_exec("INSERT INTO enroll_keys(id, hash, uses, used, expires,"
	    " created) VALUES (?, ?, ?, 0, ?, ?)", "ttidd", k->id, k->hash,
	    k->uses, k->expires, k->created);
	mc_info("enrollment key %s created (uses %lld)", k->id,
	    (long long)uses);
	return k;
}

int
hub_auth_token_revoke(const char *id)
{
	struct hub_token *t;

	for (t = auth.tokens; t != NULL; t = t->next) {
		if (strcmp(t->id, id) == 0 && !t->revoked) {
			t->revoked = 1;
			hub_db_exec("UPDATE tokens SET revoked = 1 WHERE id = ?",
			    "t", t->id);
			mc_info("token %s revoked", t->id);
			return 0;
		}
	}
	return -1;
}

int
hub_auth_key_revoke(const char *id)
{
	struct hub_key *k;

	for (k = auth.keys; k != NULL; k = k->next) {
		if (strcmp(k->id, id) == 0 && !k->revoked) {
			k->revoked = 1;
			hub_db_exec("UPDATE enroll_keys SET revoked = 1 WHERE"
			    " id = ?", "t", k->id);
			mc_info("enrollment key %s revoked", k->id);
			return 0;
		}
	}
	return -1;
}

void
hub_auth_restore_token(const char *id, const char *hash, int role,
    const char *name, double created, int revoked)
{
	struct hub_token *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return;
	mc_strlcpy(t->id, id, sizeof(t->id));
	mc_strlcpy(t->hash, hash, sizeof(t->hash));
	t->role = role >= ROLE_VIEWER && role <= ROLE_ADMIN ?
	    (enum hub_role_level)role : ROLE_VIEWER;
	mc_strlcpy(t->name, name, sizeof(t->name));
	t->created = created;
	t->revoked = revoked;
	t->next = auth.tokens;
	auth.tokens = t;
	auth.ntokens++;
}

void
hub_auth_sync_token(const char *id, const char *hash, int role,
    const char *name, double created, int revoked)
{
	struct hub_token *t;

	for (t = auth.tokens; t != NULL; t = t->next)
		if (strcmp(t->id, id) == 0) {
			if (revoked && !t->revoked)
				mc_info("token %s revoked through another hub",
				    id);
			t->revoked |= revoked;
			return;
		}
	hub_auth_restore_token(id, hash, role, name, created, revoked);
}

void
hub_auth_sync_key(const struct hub_key *from)
{
	struct hub_key *k;

	for (k = auth.keys; k != NULL; k = k->next)
		if (strcmp(k->id, from->id) == 0) {
			if (from->revoked && !k->revoked)
				mc_info("enrollment key %s revoked through "
				    "another hub", k->id);
			k->revoked |= from->revoked;
			if (from->used > k->used)
				k->used = from->used;
			return;
		}
	hub_auth_restore_key(from->id, from->hash, from->uses, from->used,
	    from->expires, from->created, from->revoked);
}

void
hub_auth_restore_key(const char *id, const char *hash, int64_t uses,
    int64_t used, double expires, double created, int revoked)
{
	struct hub_key *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return;
	mc_strlcpy(k->id, id, sizeof(k->id));
	mc_strlcpy(k->hash, hash, sizeof(k->hash));
	k->uses = uses;
	k->used = used;
	k->expires = expires;
	k->created = created;
	k->revoked = revoked;
	k->next = auth.keys;
	auth.keys = k;
}

const struct hub_token *
hub_auth_tokens(void)
{
	return auth.tokens;
}

const struct hub_key *
hub_auth_keys(void)
{
	return auth.keys;
}

size_t
hub_auth_token_count(void)
{
	return auth.ntokens;
}

void
hub_auth_write_tokens(struct mc_jw *w)
{
	const struct hub_token *t;

	mc_jw_obj(w, NULL);
	mc_jw_arr(w, "tokens");
	for (t = auth.tokens; t != NULL; t = t->next) {
		mc_jw_obj(w, NULL);
		mc_jw_str(w, "id", t->id);
		mc_jw_str(w, "role", hub_role_name(t->role));
		mc_jw_str(w, "name", t->name);
		mc_jw_dbl(w, "created", t->created);
		mc_jw_bool(w, "revoked", t->revoked);
		mc_jw_obj_end(w);
	}
	mc_jw_arr_end(w);
	mc_jw_obj_end(w);
}

void
hub_auth_write_keys(struct mc_jw *w)
{
	const struct hub_key *k;

	mc_jw_obj(w, NULL);
	mc_jw_arr(w, "keys");
	for (k = auth.keys; k != NULL; k = k->next) {
		mc_jw_obj(w, NULL);
		mc_jw_str(w, "id", k->id);
		mc_jw_i64(w, "uses", k->uses);
		mc_jw_i64(w, "used", k->used);
		if (k->expires > 0)
			mc_jw_dbl(w, "expires", k->expires);
		else
			mc_jw_null(w, "expires");
		mc_jw_dbl(w, "created", k->created);
		mc_jw_bool(w, "revoked", k->revoked);
		mc_jw_obj_end(w);
	}
	mc_jw_arr_end(w);
	mc_jw_obj_end(w);
}

int
hub_auth_bootstrap(const char *datadir)
{
	char path[MC_PATH_MAX], token[128], line[130];

	if (auth.ntokens > 0)
		return 0;
	if (hub_auth_token_create(ROLE_ADMIN, "admin", token,
	    sizeof(token)) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/admin.token", datadir);
	snprintf(line, sizeof(line), "%s\n", token);
	if (mc_write_file(path, line, strlen(line), 0600) == -1) {
		mc_err("cannot write %s", path);
		return -1;
	}
	mc_info("first start: admin token written to %s (mode 0600)", path);
	return 0;
}

void
hub_auth_free_all(void)
{
	struct hub_token *t, *tn;
	struct hub_key *k, *kn;

	for (t = auth.tokens; t != NULL; t = tn) {
		tn = t->next;
		free(t);
	}
	for (k = auth.keys; k != NULL; k = kn) {
		kn = k->next;
		free(k);
	}
	memset(&auth, 0, sizeof(auth));
}
