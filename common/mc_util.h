/*
 * mc_util.h - small utilities: clocks, checked number parsing, durations,
 * randomness, hashing, files, URLs.
 *
 * Every number that comes from a flag, a config line or a message goes
 * through mc_parse_*; nothing uses atoi.
 */
#ifndef MC_UTIL_H
#define MC_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MC_SHA256_HEX	65	/* 64 hex digits and NUL */

/* Monotonic seconds (for timers) and wall-clock seconds (for records). */
double	mc_now(void);
double	mc_wall(void);

/* Whole string must be a number within [min, max]. 0 or -1. */
int	mc_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
int	mc_parse_dbl(const char *s, double min, double max, double *out);
/* "90", "90s", "5m", "2h", "1d", "0.2s" -> seconds. 0 or -1. */
int	mc_parse_duration(const char *s, double *out);
/* "65536", "64K", "64M", "1.5G" (binary: K is 1024) -> bytes. 0 or -1. */
int	mc_parse_size(const char *s, int64_t *out);
/* "1", "true", "yes", "on" / "0", "false", "no", "off". 0 or -1. */
int	mc_parse_bool(const char *s, int *out);

/* n random bytes from the kernel as 2n lowercase hex digits + NUL. */
int	mc_random_hex(char *out, size_t nbytes);
/* SHA-256 of data as lowercase hex (out has MC_SHA256_HEX bytes). */
void	mc_sha256_hex(const void *data, size_t n, char *out);
/* A certificate fingerprint as people write it ("sha256:AB:CD:..." or
 * bare hex, any case, colons optional) as 64 lowercase hex digits (out
 * has MC_SHA256_HEX bytes).  0, or -1 if it is not one. */
int	mc_fp_parse(const char *text, char *out);
/* Constant-time equality of two NUL-terminated strings. 1 if equal. */
int	mc_secret_eq(const char *a, const char *b);

/* Base64 (RFC 4648, with padding).  encode appends to out (an mc_buf);
 * decode writes at most outsize bytes: length, or -1 if malformed. */
struct mc_buf;
int	mc_b64_encode(struct mc_buf *out, const void *in, size_t n);
long	mc_b64_decode(const char *in, size_t n, void *out, size_t outsize);

/* Create a directory and its parents with mode. 0 or -1 (errno set). */
int	mc_mkdir_p(const char *path, mode_t mode);
/* Write a file atomically (temp file, fsync, rename) with mode. 0 or -1. */
int	mc_write_file(const char *path, const void *data, size_t n,
	    mode_t mode);
/* Read at most max bytes of a file into a NUL-terminated malloc'd buffer
 * (caller frees). NULL on error (errno set; EFBIG if longer than max). */
char	*mc_read_file(const char *path, size_t max, size_t *lenp);
/* Strip leading and trailing white space in place; returns s. */
char	*mc_trim(char *s);
/* Bounded copy that always terminates; -1 if truncated (then cut at a
 * UTF-8 character boundary). */
int	mc_strlcpy(char *dst, const char *src, size_t size);

/* A hub URL: scheme://host[:port][/path] (IPv6 hosts in brackets). */
struct mc_url {
	char	scheme[8];	/* ws, wss, http, https */
	char	host[256];
	int	port;
	char	path[256];
	int	tls;
};
/* Parse url; -1 with a reason in err when it is not a usable URL. */
int	mc_url_parse(const char *url, struct mc_url *u, char *err,
	    size_t errlen);

/* Valid agent name: 1..MC_NAME_MAX bytes, no control characters, no '/'
 * (names are URL path segments) and no leading or trailing space.  Names
 * are otherwise free text: every consumer escapes them.  Tags follow the
 * same rules within MC_TAG_MAX bytes and may not contain ','. */
/* Block the n signals in sigs and return a non-blocking, close-on-exec
 * signalfd that reads them, or -1.  SIGPIPE is ignored as well: a peer gone
 * mid-write must be an error return, not death. */
int	mc_signal_fd(const int *sigs, int n);

int	mc_name_valid(const char *s);
/* FNV-1a of n bytes, or of a C string: the hub's hash tables. */
uint32_t mc_hash(const void *p, size_t n);
uint32_t mc_hash_str(const char *s);
int	mc_tag_valid(const char *s);

#endif
