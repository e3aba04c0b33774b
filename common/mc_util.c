/*
 * mc_util.c - clocks, checked parsing, randomness, hashing, files, URLs.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "mc_buf.h"
#include "mc_limits.h"
#include "mc_util.h"

double
mc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
mc_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
mc_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
mc_parse_dbl(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
mc_parse_duration(const char *s, double *out)
{
	char num[64];
	size_t n;
	double mult = 1;

	if (s == NULL || (n = strlen(s)) == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 's': mult = 1; num[n - 1] = '\0'; break;
	case 'm': mult = 60; num[n - 1] = '\0'; break;
	case 'h': mult = 3600; num[n - 1] = '\0'; break;
	case 'd': mult = 86400; num[n - 1] = '\0'; break;
	default: break;
	}
	if (mc_parse_dbl(num, 0, 1e9, out) == -1)
		return -1;
	*out *= mult;
	return 0;
}

int
mc_parse_size(const char *s, int64_t *out)
{
	char num[64];
	size_t n;
	double v, mult = 1;

	if (s == NULL || (n = strlen(s)) == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'K': case 'k': mult = 1024.0; break;
	case 'M': case 'm': mult = 1024.0 * 1024; break;
	case 'G': case 'g': mult = 1024.0 * 1024 * 1024; break;
	case 'T': case 't': mult = 1024.0 * 1024 * 1024 * 1024; break;
	default: break;
	}
	if (mult > 1)
		num[n - 1] = '\0';
	/* 2^53: every whole number of bytes below it is exact */
	if (mc_parse_dbl(num, 0, 9007199254740992.0 / mult, &v) == -1)
		return -1;
	*out = (int64_t)(v * mult + 0.5);
	return 0;
}

int
mc_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static void
to_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
mc_random_hex(char *out, size_t nbytes)
{
	unsigned char raw[64];
	size_t got = 0;
	ssize_t r;

	if (nbytes > sizeof(raw))
		return -1;
	while (got < nbytes) {
		r = getrandom(raw + got, nbytes - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	to_hex(raw, nbytes, out);
	return 0;
}

void
mc_sha256_hex(const void *data, size_t n, char *out)
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL);
	to_hex(md, 32, out);
}

int
mc_fp_parse(const char *s, char *out)
{
	size_t n = 0;

	out[0] = '\0';
	if (strncasecmp(s, "sha256:", 7) == 0)
		s += 7;
	for (; *s != '\0'; s++) {
		if (*s == ':')
			continue;
		if (!isxdigit((unsigned char)*s) || n == MC_SHA256_HEX - 1)
			return -1;
		out[n++] = (char)tolower((unsigned char)*s);
	}
	out[n] = '\0';
	if (n != MC_SHA256_HEX - 1) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int
mc_secret_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return 0;
	return CRYPTO_memcmp(a, b, la) == 0;
}

static const char b64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
mc_b64_encode(struct mc_buf *out, const void *in, size_t n)
{
	const unsigned char *p = in;
	char q[4];
	size_t i;
	uint32_t v;

	for (i = 0; i < n; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = b64_chars[(v >> 18) & 63];
		q[1] = b64_chars[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64_chars[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? b64_chars[v & 63] : '=';
		if (mc_buf_append(out, q, 4) == -1)
			return -1;
	}
	return 0;
}

static int
b64_val(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64_chars, c)) == NULL)
		return -1;
	return (int)(p - b64_chars);
}

long
mc_b64_decode(const char *in, size_t n, void *out, size_t outsize)
{
	unsigned char *o = out;
	size_t i, len = 0;
	int v[4], k, pad;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4) {
		pad = 0;
		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad || (v[k] = b64_val(in[i + k])) < 0)
				return -1;
		}
		if (len + 3 - (size_t)pad > outsize)
			return -1;
		o[len++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			o[len++] = (unsigned char)(v[1] << 4 | v[2] >> 2);
		if (pad < 1)
			o[len++] = (unsigned char)(v[2] << 6 | v[3]);
	}
	return (long)len;
}

int
mc_mkdir_p(const char *path, mode_t mode)
{
	char tmp[MC_PATH_MAX];
	char *p;

	if (mc_strlcpy(tmp, path, sizeof(tmp)) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int
mc_write_file(const char *path, const void *data, size_t n, mode_t mode)
{
	char tmp[MC_PATH_MAX];
	const char *p = data;
	ssize_t w;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd == -1)
		return -1;
	/* umask may have narrowed the mode; secrets rely on it being exact */
	if (fchmod(fd, mode) == -1)
		goto fail;
	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		n -= (size_t)w;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

/*
 * The buffer starts at the file's size (plus one byte, to see EOF in the
 * same read) and doubles only for files that grow or report no size, as
 * /proc files do: a limit of megabytes costs nothing for a small file.
 */
static size_t
read_first_cap(int fd, size_t max)
{
	struct stat st;
	size_t cap = 4096;

	if (fstat(fd, &st) == 0 && st.st_size > 0 &&
	    (uint64_t)st.st_size < (uint64_t)max)
		cap = (size_t)st.st_size + 1;
	return cap < max + 1 ? cap : max + 1;
}

char *
mc_read_file(const char *path, size_t max, size_t *lenp)
{
	char *buf = NULL, *nb;
	size_t len = 0, cap;
	ssize_t r;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	cap = read_first_cap(fd, max);
	if ((buf = malloc(cap)) == NULL)
		goto fail;
	for (;;) {
		if (len == cap) {
			if (cap == max + 1) {
				errno = EFBIG;
				goto fail;
			}
			cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL)
				goto fail;
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';	/* a read only starts with room left: len < cap */
	if (lenp)
		*lenp = len;
	return buf;
fail:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return NULL;
}

int
mc_signal_fd(const int *sigs, int n)
{
	sigset_t set;
	int i;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	for (i = 0; i < n; i++)
		sigaddset(&set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

char *
mc_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int
mc_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size == 0)
		return -1;
	if (n >= size) {
		/* cut at a character boundary: never half a UTF-8 sequence */
		n = size - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
		memcpy(dst, src, n);
		dst[n] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

static int
url_fail(char *err, size_t errlen, const char *url, const char *why)
{
	snprintf(err, errlen, "bad URL '%s': %s", url, why);
	return -1;
}

int
mc_url_parse(const char *url, struct mc_url *u, char *err, size_t errlen)
{
	const char *p, *hs, *he, *ps;
	int64_t port;
	char num[8];
	size_t n;

	memset(u, 0, sizeof(*u));
	if ((p = strstr(url, "://")) == NULL || (size_t)(p - url) >=
	    sizeof(u->scheme))
		return url_fail(err, errlen, url, "expected scheme://host:port");
	memcpy(u->scheme, url, (size_t)(p - url));
	if (strcmp(u->scheme, "wss") == 0 || strcmp(u->scheme, "https") == 0)
		u->tls = 1;
	else if (strcmp(u->scheme, "ws") != 0 && strcmp(u->scheme, "http") != 0)
		return url_fail(err, errlen, url,
		    "scheme must be ws, wss, http or https");
	hs = p + 3;
	if (*hs == '[') {
		if ((he = strchr(hs, ']')) == NULL)
			return url_fail(err, errlen, url, "unclosed '['");
		hs++;
		ps = he + 1;
	} else {
		he = hs + strcspn(hs, ":/");
		ps = he;
	}
	n = (size_t)(he - hs);
	if (n == 0 || n >= sizeof(u->host))
		return url_fail(err, errlen, url, "missing or long host");
	memcpy(u->host, hs, n);
	u->port = u->tls ? 443 : 80;
	if (*ps == ':') {
		ps++;
		n = strcspn(ps, "/");
		if (n == 0 || n >= sizeof(num))
			return url_fail(err, errlen, url, "bad port");
		memcpy(num, ps, n);
		num[n] = '\0';
		if (mc_parse_i64(num, 1, 65535, &port) == -1)
			return url_fail(err, errlen, url, "bad port");
		u->port = (int)port;
		ps += n;
	} else if (*ps != '/' && *ps != '\0') {
		return url_fail(err, errlen, url, "bad host");
	}
	if (mc_strlcpy(u->path, *ps ? ps : "/", sizeof(u->path)) == -1)
		return url_fail(err, errlen, url, "path too long");
	return 0;
}

static int
text_valid(const char *s, size_t max, int allow_comma)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > max || s[0] == ' ' || s[n - 1] == ' ')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '/' ||
		    (!allow_comma && c == ','))
			return 0;
	}
	return 1;
}

uint32_t
mc_hash(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t h = 2166136261u;

	while (n-- > 0)
		h = (h ^ *b++) * 16777619u;
	return h;
}

uint32_t
mc_hash_str(const char *s)
{
	return mc_hash(s, strlen(s));
}

int
mc_name_valid(const char *s)
{
	/* a name is a path segment in the API and in file names */
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	return text_valid(s, MC_NAME_MAX, 1);
}

int
mc_tag_valid(const char *s)
{
	return text_valid(s, MC_TAG_MAX, 0);
}
