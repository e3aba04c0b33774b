/*
 * hub_gitcred.c - reaching a git remote: the URLs the hub takes, and the
 * credentials and server checks of https:// and ssh:// remotes.
 *
 * Secrets come only from files named in hub.conf (never from the URL, a
 * flag's value or the environment): an https token file (the password of
 * HTTP basic auth, user config_user) or an ssh private key.  Each file is
 * read when the remote asks for it, at every fetch, so a rotated token or
 * key is used at once; a file others can read is refused, as ssh refuses
 * such a key.  A token is wiped from memory once libgit2 has its copy.
 * A URL with a password in it is refused at the config check, so the URLs
 * that libgit2's errors and the hub's log and status show hold no secret.
 *
 * The server is checked, never trusted blindly: an https certificate
 * libgit2 could not verify against the system's CAs is verified here
 * against config_ca (with OpenSSL: the chain from the server's
 * certificate to a certificate of that file, and the host name); an ssh
 * host key must be in config_ssh_known_hosts for the host (and port), in
 * OpenSSH's format, plain or hashed.  What is refused is said in
 * libgit2's last error, which the caller shows as the fetch's error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "hub_gitcred.h"
#include "mc_util.h"

#define KNOWN_HOSTS_MAX	(1024 * 1024)	/* bytes of a known_hosts file */
#define HOSTKEY_MAX	2048		/* bytes of one decoded host key */
#define DEFAULT_USER	"x-access-token"
#define SSH_USER	"git"

/* ---- URLs ---- */

/* The authority of a URL after its scheme: [user[:pass]@]host[:port]
 * into host and *port (0 when none), *userinfo the part before '@' (a
 * pointer into url, length *ulen; *ulen 0 when none).  -1 if empty. */
static int
authority(const char *after, char *host, size_t hostlen, int *port,
    const char **userinfo, size_t *ulen)
{
	size_t n = strcspn(after, "/"), h;
	const char *at = memchr(after, '@', n), *s = after, *colon;
	int64_t p;

	*userinfo = after;
	*ulen = at ? (size_t)(at - after) : 0;
	if (at != NULL) {
		n -= (size_t)(at + 1 - s);
		s = at + 1;
	}
	*port = 0;
	colon = s[0] == '[' ? memchr(s, ']', n) : s;
	colon = colon ? memchr(colon, ':', n - (size_t)(colon - s)) : NULL;
	h = colon ? (size_t)(colon - s) : n;
	if (colon != NULL) {
		char num[8];
		size_t pn = n - h - 1;

		if (pn == 0 || pn >= sizeof(num))
			return -1;
		memcpy(num, colon + 1, pn);
		num[pn] = '\0';
		if (mc_parse_i64(num, 1, 65535, &p) == -1)
			return -1;
		*port = (int)p;
	}
	if (h >= 2 && s[0] == '[' && s[h - 1] == ']') {
		s++;
		h -= 2;
	}
	if (h == 0 || h >= hostlen || s[n] != '/')
		return -1;
	memcpy(host, s, h);
	host[h] = '\0';
	return 0;
}

/* user@host:path, as git and ssh take it: no scheme, a ':' before any
 * '/'. */
static int
scp_like(const char *url)
{
	size_t colon = strcspn(url, ":");

	return url[colon] == ':' && colon > 0 && url[colon + 1] != '\0' &&
	    memchr(url, '/', colon) == NULL;
}

int
hub_gitcred_url_kind(const char *url, char *err, size_t errlen)
{
	const char *user, *scheme_end = strstr(url, "://");
	char host[256];
	size_t ulen, i;
	int port, kind;

	for (i = 0; url[i] != '\0'; i++) {
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f) {
			snprintf(err, errlen, "a URL or path without spaces or "
			    "control characters");
			return -1;
		}
	}
	if (url[0] == '\0' || url[0] == '/' || url[0] == '.' ||
	    strncmp(url, "file://", 7) == 0)
		return GITCRED_LOCAL;
	if (strncmp(url, "http://", 7) == 0) {
		snprintf(err, errlen, "plain http:// would send the token in "
		    "the clear: use https://");
		return -1;
	}
	if (strncmp(url, "https://", 8) == 0)
		kind = GITCRED_HTTPS;
	else if (strncmp(url, "ssh://", 6) == 0)
		kind = GITCRED_SSH;
	else if (scheme_end == NULL && scp_like(url))
		return GITCRED_SSH;
	else {
		snprintf(err, errlen, "'%.200s' is not supported: give a local "
		    "path (/srv/fleet-config.git), a file://, https:// or "
		    "ssh:// URL, or user@host:path", url);
		return -1;
	}
	if (authority(scheme_end + 3, host, sizeof(host), &port, &user,
	    &ulen) == -1) {
		snprintf(err, errlen, "'%.200s' is not SCHEME://[USER@]HOST"
		    "[:PORT]/PATH", url);
		return -1;
	}
	if (memchr(user, ':', ulen) != NULL) {
		snprintf(err, errlen, "the URL holds a password: put the token "
		    "in config_token_file (or the key in config_ssh_key) and "
		    "leave it out of the URL");
		return -1;
	}
	return kind;
}

/* The host and port of an ssh URL (port 22 when not given). */
static void
ssh_host_port(const char *url, char *host, size_t hostlen, int *port)
{
	const char *user, *s = strstr(url, "://"), *at;
	size_t ulen, n;

	*port = 22;
	host[0] = '\0';
	if (s != NULL) {
		if (authority(s + 3, host, hostlen, port, &user, &ulen) == -1)
			host[0] = '\0';
		if (*port == 0)
			*port = 22;
		return;
	}
	at = strchr(url, '@');
	s = at != NULL && at < strchr(url, ':') ? at + 1 : url;
	n = strcspn(s, ":");
	if (n < hostlen) {
		memcpy(host, s, n);
		host[n] = '\0';
	}
}

/* ---- files ---- */

/* path is a regular file the hub can read, and, when secret, that only
 * its owner can (mode 0600 or 0400).  0, or -1 with why in err. */
static int
file_check(const char *path, int secret, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == -1 || access(path, R_OK) == -1) {
		snprintf(err, errlen, "cannot read %.200s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%.200s is not a regular file", path);
		return -1;
	}
	if (secret && (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%.200s can be read by others (mode "
		    "%04o): a secret must be the hub user's alone; chmod 600 "
		    "it", path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* The token of path: one line, trimmed, into out.  0, or -1 with why. */
static int
token_read(const char *path, char *out, size_t outlen, char *err,
    size_t errlen)
{
	char *text, *t;
	size_t i;
	int r = -1;

	if (file_check(path, 1, err, errlen) == -1)
		return -1;
	if ((text = mc_read_file(path, outlen - 1, NULL)) == NULL) {
		snprintf(err, errlen, "cannot read %.200s: %s", path,
		    errno == EFBIG ? "longer than a token can be" :
		    strerror(errno));
		return -1;
	}
	t = mc_trim(text);
	for (i = 0; t[i] != '\0' && (unsigned char)t[i] >= ' ' &&
	    t[i] != 0x7f; i++)
		;
	if (t[0] == '\0')
		snprintf(err, errlen, "%.200s is empty", path);
	else if (t[i] != '\0')
		snprintf(err, errlen, "%.200s holds more than one line: the "
		    "token alone", path);
	else
		r = mc_strlcpy(out, t, outlen);
	explicit_bzero(text, strlen(text));
	free(text);
	return r;
}

int
hub_gitcred_check(const struct hub_gitcred *c, char *key, size_t keylen,
    char *err, size_t errlen)
{
	int kind = hub_gitcred_url_kind(c->url, err, errlen);
	const char *misplaced = NULL;

	snprintf(key, keylen, "%s_repo", c->what);
	if (kind == -1)
		return -1;
	if (kind != GITCRED_HTTPS && c->token_file[0] != '\0')
		misplaced = "token_file";
	else if (kind != GITCRED_HTTPS && c->ca[0] != '\0')
		misplaced = "ca";
	else if (kind != GITCRED_SSH && c->ssh_key[0] != '\0')
		misplaced = "ssh_key";
	else if (kind != GITCRED_SSH && c->known_hosts[0] != '\0')
		misplaced = "ssh_known_hosts";
	if (misplaced != NULL) {
		snprintf(key, keylen, "%s_%s", c->what, misplaced);
		snprintf(err, errlen, "is for %s remote, and %s_repo is not "
		    "one", strcmp(misplaced, "token_file") == 0 ||
		    strcmp(misplaced, "ca") == 0 ? "an https://" : "an ssh://",
		    c->what);
		return -1;
	}
	if (kind == GITCRED_SSH && c->ssh_key[0] == '\0') {
		snprintf(err, errlen, "an ssh remote needs %s_ssh_key (a "
		    "private key file, e.g. a deploy key) and %s_ssh_known_hosts "
		    "(docs/config.md)", c->what, c->what);
		return -1;
	}
	if (kind == GITCRED_SSH && c->known_hosts[0] == '\0') {
		snprintf(err, errlen, "an ssh remote needs %s_ssh_known_hosts: "
		    "the server's host key (ssh-keyscan HOST > FILE, checked); "
		    "the hub trusts no host key blindly", c->what);
		return -1;
	}
	if (strpbrk(c->user, ":@") != NULL) {
		snprintf(key, keylen, "%s_user", c->what);
		snprintf(err, errlen, "'%s' is not a user name (no ':' or '@')",
		    c->user);
		return -1;
	}
	if (c->token_file[0] != '\0' &&
	    file_check(c->token_file, 1, err, errlen) == -1)
		snprintf(key, keylen, "%s_token_file", c->what);
	else if (c->ssh_key[0] != '\0' &&
	    file_check(c->ssh_key, 1, err, errlen) == -1)
		snprintf(key, keylen, "%s_ssh_key", c->what);
	else if (c->known_hosts[0] != '\0' &&
	    file_check(c->known_hosts, 0, err, errlen) == -1)
		snprintf(key, keylen, "%s_ssh_known_hosts", c->what);
	else if (c->ca[0] != '\0' && file_check(c->ca, 0, err, errlen) == -1)
		snprintf(key, keylen, "%s_ca", c->what);
	else
		return 0;
	return -1;
}

/* ---- credentials ---- */

/* Say why in libgit2's last error; the callback's -1 then fails the
 * fetch with it. */
static int
refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
refuse(const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	git_error_set_str(GIT_ERROR_CALLBACK, why);
	return -1;
}

static int
cred_token(git_credential **out, struct hub_gitcred *c, const char *url_user)
{
	const char *user = url_user && *url_user ? url_user : c->user[0] ?
	    c->user : DEFAULT_USER;
	char token[HUB_GITCRED_TOKEN_MAX], why[300];
	int r;

	if (c->token_file[0] == '\0')
		return refuse("the remote asks for credentials: put a token in "
		    "a file and name it in %s_token_file (docs/config.md)",
		    c->what);
	if (c->asked++ > 0)
		return refuse("authentication failed: the remote refused user "
		    "'%s' with the token of %s (%s_token_file)", user,
		    c->token_file, c->what);
	if (token_read(c->token_file, token, sizeof(token), why,
	    sizeof(why)) == -1)
		return refuse("%s_token_file: %s", c->what, why);
	r = git_credential_userpass_plaintext_new(out, user, token);
	explicit_bzero(token, sizeof(token));
	return r;
}

static int
cred_ssh(git_credential **out, struct hub_gitcred *c, const char *user)
{
	char why[300];

	if (c->asked++ > 0)
		return refuse("authentication failed: the remote refused user "
		    "'%s' with the key %s (%s_ssh_key)", user, c->ssh_key,
		    c->what);
	if (file_check(c->ssh_key, 1, why, sizeof(why)) == -1)
		return refuse("%s_ssh_key: %s", c->what, why);
	return git_credential_ssh_key_new(out, user, NULL, c->ssh_key, NULL);
}

static int
cred_cb(git_credential **out, const char *url, const char *url_user,
    unsigned int allowed, void *payload)
{
	struct hub_gitcred *c = payload;
	const char *ssh_user = url_user && *url_user ? url_user : SSH_USER;

	(void)url;
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && c->ssh_key[0] != '\0')
		return cred_ssh(out, c, ssh_user);
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, ssh_user);
	if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)
		return cred_token(out, c, url_user);
	return refuse("the remote asks for a kind of credentials the hub "
	    "does not have (%s_ssh_key for ssh, %s_token_file for https)",
	    c->what, c->what);
}

/* ---- https: the server's certificate against config_ca ---- */

static int
x509_check(const struct hub_gitcred *c, const git_cert_x509 *cert,
    const char *host)
{
	const unsigned char *der = cert->data;
	X509 *x = d2i_X509(NULL, &der, (long)cert->len);
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *vp;
	char name[256];
	size_t n = strlen(host);
	int ok = 0, e = X509_V_ERR_UNSPECIFIED;

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
		snprintf(name, sizeof(name), "%.*s", (int)(n - 2), host + 1);
	else
		mc_strlcpy(name, host, sizeof(name));
	if (x != NULL && store != NULL && ctx != NULL &&
	    X509_STORE_load_file(store, c->ca) == 1 &&
	    X509_STORE_CTX_init(ctx, store, x, NULL) == 1) {
		vp = X509_STORE_CTX_get0_param(ctx);
		X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_PARTIAL_CHAIN);
		X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_SERVER);
		if (X509_VERIFY_PARAM_set1_ip_asc(vp, name) != 1)
			X509_VERIFY_PARAM_set1_host(vp, name, 0);
		ok = X509_verify_cert(ctx) == 1;
		e = X509_STORE_CTX_get_error(ctx);
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(x);
	if (ok)
		return 0;
	return refuse("the TLS certificate of %s is not trusted: %s (checked "
	    "against the system's CAs and %s_ca %s)", host,
	    X509_verify_cert_error_string(e), c->what, c->ca);
}

/* ---- ssh: the host key against config_ssh_known_hosts ---- */

/* Base64 text of n bytes into out: the length, or -1. */
static int
b64_decode(const char *in, size_t n, unsigned char *out, size_t outlen)
{
	int len, pad = 0;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > outlen || n > INT32_MAX)
		return -1;
	pad = (in[n - 1] == '=') + (in[n - 2] == '=');
	len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
	return len < 0 ? -1 : len - pad;
}

/* A hashed name |1|SALT|HASH of OpenSSH: HMAC-SHA1(SALT, name). */
static int
hashed_match(const char *pat, size_t n, const char *name)
{
	unsigned char salt[64], want[64], got[EVP_MAX_MD_SIZE];
	const char *bar = memchr(pat + 3, '|', n - 3);
	unsigned int glen = 0;
	int slen, wlen;

	if (bar == NULL)
		return 0;
	slen = b64_decode(pat + 3, (size_t)(bar - pat - 3), salt, sizeof(salt));
	wlen = b64_decode(bar + 1, n - (size_t)(bar + 1 - pat), want,
	    sizeof(want));
	if (slen <= 0 || wlen != 20 || HMAC(EVP_sha1(), salt, slen,
	    (const unsigned char *)name, strlen(name), got, &glen) == NULL)
		return 0;
	return glen == 20 && memcmp(got, want, 20) == 0;
}

/* The hosts field of a known_hosts line names host (as "host" on port
 * 22, "[host]:port" on another).  Wildcards are not followed. */
static int
hosts_match(const char *hosts, size_t len, const char *name)
{
	const char *p = hosts, *end = hosts + len, *comma;
	size_t n;
	int hit = 0, negated;

	while (p < end) {
		comma = memchr(p, ',', (size_t)(end - p));
		n = comma ? (size_t)(comma - p) : (size_t)(end - p);
		negated = n > 0 && p[0] == '!';
		if (n > 3 && strncmp(p, "|1|", 3) == 0 ?
		    hashed_match(p, n, name) :
		    (n - (size_t)negated == strlen(name) &&
		    strncasecmp(p + negated, name, strlen(name)) == 0)) {
			if (negated)
				return 0;
			hit = 1;
		}
		p += n + 1;
	}
	return hit;
}

/* "ssh-ed25519 SHA256:..." of a raw host key, as ssh shows it. */
static void
key_describe(const unsigned char *key, size_t len, char *out, size_t outlen)
{
	unsigned char md[32], b64[48];
	uint32_t tlen = len >= 4 ? (uint32_t)key[0] << 24 |
	    (uint32_t)key[1] << 16 | (uint32_t)key[2] << 8 | key[3] : 0;
	int n;

	if (tlen == 0 || tlen > 64 || 4 + (size_t)tlen > len)
		tlen = 0;
	EVP_Digest(key, len, md, NULL, EVP_sha256(), NULL);
	n = EVP_EncodeBlock(b64, md, 32);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	snprintf(out, outlen, "%.*s SHA256:%.*s", (int)tlen,
	    tlen ? (const char *)key + 4 : "", n, (const char *)b64);
}

enum kh { KH_NONE, KH_OTHER, KH_MATCH, KH_REVOKED };

/* One line of known_hosts against the host's name and key. */
static enum kh
kh_line(char *line, const char *name, const unsigned char *key, size_t len)
{
	char *f[4], *save = NULL;
	unsigned char got[HOSTKEY_MAX];
	int nf = 0, revoked = 0, k;

	for (char *w = strtok_r(line, " \t", &save); w != NULL && nf < 4;
	    w = strtok_r(NULL, " \t", &save))
		f[nf++] = w;
	if (nf > 0 && f[0][0] == '@') {
		if (strcmp(f[0], "@revoked") != 0)
			return KH_NONE;	/* @cert-authority: not followed */
		revoked = 1;
		memmove(f, f + 1, sizeof(f[0]) * (size_t)--nf);
	}
	if (nf < 3 || !hosts_match(f[0], strlen(f[0]), name))
		return KH_NONE;
	k = b64_decode(f[2], strlen(f[2]), got, sizeof(got));
	if (k < 0 || (size_t)k != len || memcmp(got, key, len) != 0)
		return revoked ? KH_NONE : KH_OTHER;
	return revoked ? KH_REVOKED : KH_MATCH;
}

static int
hostkey_check(const struct hub_gitcred *c, const git_cert_hostkey *hk)
{
	char host[256], name[300], desc[128], *text, *line, *save = NULL;
	enum kh v, best = KH_NONE;
	int port;

	ssh_host_port(c->url, host, sizeof(host), &port);
	if (port == 22)
		mc_strlcpy(name, host, sizeof(name));
	else
		snprintf(name, sizeof(name), "[%s]:%d", host, port);
	if (!(hk->type & GIT_CERT_SSH_RAW) || hk->hostkey_len > HOSTKEY_MAX)
		return refuse("ssh: %s's host key cannot be checked (libgit2 "
		    "gave no raw key)", name);
	key_describe((const unsigned char *)hk->hostkey, hk->hostkey_len, desc,
	    sizeof(desc));
	if ((text = mc_read_file(c->known_hosts, KNOWN_HOSTS_MAX, NULL)) ==
	    NULL)
		return refuse("%s_ssh_known_hosts: cannot read %s: %s",
		    c->what, c->known_hosts, strerror(errno));
	for (line = strtok_r(text, "\n", &save); line != NULL &&
	    best != KH_REVOKED; line = strtok_r(NULL, "\n", &save)) {
		if (*mc_trim(line) == '#' || *mc_trim(line) == '\0')
			continue;
		v = kh_line(mc_trim(line), name, (const unsigned char *)
		    hk->hostkey, hk->hostkey_len);
		if (v > best)
			best = v;
	}
	free(text);
	if (best == KH_MATCH)
		return 0;
	if (best == KH_REVOKED)
		return refuse("ssh: %s's host key %s is marked @revoked in %s",
		    name, desc, c->known_hosts);
	if (best == KH_OTHER)
		return refuse("ssh: the host key of %s CHANGED: it is %s, which "
		    "%s (%s_ssh_known_hosts) does not hold; refused (a new "
		    "server key, or someone in between: check before you "
		    "update the file)", name, desc, c->known_hosts, c->what);
	return refuse("ssh: unknown host key for %s: %s is not in %s "
	    "(%s_ssh_known_hosts); refused: check it, then add it "
	    "(ssh-keyscan -p %d %s)", name, desc, c->known_hosts, c->what,
	    port, host);
}

static int
cert_cb(git_cert *cert, int valid, const char *host, void *payload)
{
	struct hub_gitcred *c = payload;

	if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2)
		return hostkey_check(c, (const git_cert_hostkey *)cert);
	if (cert->cert_type != GIT_CERT_X509)
		return refuse("%s: a server certificate of a kind the hub "
		    "cannot check", host);
	if (valid)
		return 0;
	if (c->ca[0] == '\0')
		return refuse("the TLS certificate of %s is not trusted by the "
		    "system's CAs; for a private CA, name its certificate in "
		    "%s_ca", host, c->what);
	return x509_check(c, (const git_cert_x509 *)cert, host);
}

const char *
hub_git_why(void)
{
	const git_error *e = git_error_last();

	return e != NULL && e->message != NULL ? e->message : "unknown error";
}

int
hub_git_remote(git_repository *repo, const char *url, git_remote **out)
{
	git_remote_create_options o;

	git_remote_create_options_init(&o, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	o.repository = repo;
	o.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
	    GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	return git_remote_create_with_opts(out, url, &o);
}

int
hub_git_fetch(git_repository *repo, struct hub_gitcred *c,
    const char *branch, const char *reflog)
{
	git_fetch_options fo;
	git_remote *remote = NULL;
	char spec[300];
	char *specs[1] = { spec };
	git_strarray refs = { specs, 1 };
	int r;

	snprintf(spec, sizeof(spec), "+refs/heads/%s:refs/remotes/origin/%s",
	    branch, branch);
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	hub_gitcred_callbacks(c, &fo.callbacks);
	r = hub_git_remote(repo, c->url, &remote);
	if (r == 0)
		r = git_remote_fetch(remote, &refs, &fo, reflog);
	git_remote_free(remote);
	return r;
}

void
hub_gitcred_set(struct hub_gitcred *g, const char *what, const char *url,
    const char *user, const char *token_file, const char *ssh_key,
    const char *known_hosts, const char *ca)
{
	memset(g, 0, sizeof(*g));
	mc_strlcpy(g->what, what, sizeof(g->what));
	mc_strlcpy(g->url, url, sizeof(g->url));
	mc_strlcpy(g->user, user, sizeof(g->user));
	mc_strlcpy(g->token_file, token_file, sizeof(g->token_file));
	mc_strlcpy(g->ssh_key, ssh_key, sizeof(g->ssh_key));
	mc_strlcpy(g->known_hosts, known_hosts, sizeof(g->known_hosts));
	mc_strlcpy(g->ca, ca, sizeof(g->ca));
}

void
hub_gitcred_callbacks(struct hub_gitcred *c, git_remote_callbacks *cb)
{
	c->asked = 0;
	cb->credentials = cred_cb;
	cb->certificate_check = cert_cb;
	cb->payload = c;
}
