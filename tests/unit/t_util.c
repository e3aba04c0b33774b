/*
 * t_util.c - mc_util: checked parsing, durations, URLs, names, hashing,
 * secrets, randomness and the file helpers that keep secrets 0600.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mc_buf.h"
#include "mc_limits.h"
#include "mc_util.h"
#include "unit.h"

static int
dur(const char *s, double *out)
{
	*out = -12345;
	return mc_parse_duration(s, out);
}

void
t_util_parse_duration(void)
{
	static const struct {
		const char	*text;
		double		 secs;
	} ok[] = {
		{ "0.2s", 0.2 }, { "5m", 300 }, { "2h", 7200 }, { "1d", 86400 },
		{ "90", 90 }, { "90s", 90 }, { "0", 0 }, { "1.5h", 5400 },
		{ "0.5m", 30 }, { "10", 10 }, { "7d", 604800 },
	};
	size_t i;
	double d;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK_MSG(dur(ok[i].text, &d) == 0, "\"%s\" refused",
		    ok[i].text);
		CHECK_MSG(d > ok[i].secs - 1e-9 && d < ok[i].secs + 1e-9,
		    "\"%s\" = %g s, want %g", ok[i].text, d, ok[i].secs);
	}
}

void
t_util_parse_duration_rejects(void)
{
	static const char *const bad[] = {
		"", "s", "m", "5x", "-1s", "-1", "5 m", " 5", "5 ", "5ms",
		"abc", "1e999", "nan", "nans", "inf", "infs", "5mm", "1s1",
		"5M", "1w", "1e10",
	};
	size_t i;
	double d;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(dur(bad[i], &d) == -1, "\"%s\" accepted as %g s",
		    bad[i], d);
	CHECK_EQ_INT(mc_parse_duration(NULL, &d), -1);
}

void
t_util_parse_size(void)
{
	static const struct {
		const char	*text;
		int64_t		 bytes;
	} ok[] = {
		{ "0", 0 }, { "65536", 65536 }, { "64K", 65536 },
		{ "64k", 65536 }, { "64M", 67108864 }, { "1G", 1073741824 },
		{ "1.5K", 1536 }, { "2T", 2199023255552LL }, { "0.5m", 524288 },
	};
	static const char *const bad[] = {
		"", "K", "-1", "-64M", "64 M", " 64M", "64MB", "64KiB", "1e999",
		"nan", "inf", "abc", "64X", "9e15T",
	};
	int64_t v;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = -1;
		CHECK_MSG(mc_parse_size(ok[i].text, &v) == 0, "\"%s\" refused",
		    ok[i].text);
		CHECK_MSG(v == ok[i].bytes, "\"%s\" = %lld, want %lld",
		    ok[i].text, (long long)v, (long long)ok[i].bytes);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(mc_parse_size(bad[i], &v) == -1, "\"%s\" accepted "
		    "as %lld", bad[i], (long long)v);
	CHECK_EQ_INT(mc_parse_size(NULL, &v), -1);
}

void
t_util_parse_i64(void)
{
	int64_t v = 0;

	CHECK_EQ_INT(mc_parse_i64("42", 0, 100, &v), 0);
	CHECK_EQ_INT(v, 42);
	CHECK_EQ_INT(mc_parse_i64("0", 0, 100, &v), 0);
	CHECK_EQ_INT(mc_parse_i64("100", 0, 100, &v), 0);
	CHECK_EQ_INT(v, 100);
	CHECK_EQ_INT(mc_parse_i64("101", 0, 100, &v), -1);
	CHECK_EQ_INT(mc_parse_i64("-1", 0, 100, &v), -1);
	CHECK_EQ_INT(mc_parse_i64("-5", -10, 10, &v), 0);
	CHECK_EQ_INT(v, -5);
	CHECK_EQ_INT(mc_parse_i64("9223372036854775807", INT64_MIN, INT64_MAX,
	    &v), 0);
	CHECK_EQ_INT(v, INT64_MAX);
	CHECK_EQ_INT(mc_parse_i64("-9223372036854775808", INT64_MIN,
	    INT64_MAX, &v), 0);
	CHECK_EQ_INT(v, INT64_MIN);
	CHECK_EQ_INT(mc_parse_i64("9223372036854775808", INT64_MIN, INT64_MAX,
	    &v), -1);
	CHECK_EQ_INT(mc_parse_i64("-9223372036854775809", INT64_MIN,
	    INT64_MAX, &v), -1);
	/* not whole numbers */
	v = 7;
	CHECK_EQ_INT(mc_parse_i64("", 0, 100, &v), -1);
	CHECK_EQ_INT(mc_parse_i64(" 1", 0, 100, &v), -1);
	CHECK_EQ_INT(mc_parse_i64("1 ", 0, 100, &v), -1);
	CHECK_EQ_INT(mc_parse_i64("12a", 0, 100, &v), -1);
	CHECK_EQ_INT(mc_parse_i64("1.0", 0, 100, &v), -1);
	CHECK_EQ_INT(mc_parse_i64("0x10", 0, 100, &v), -1);
	CHECK_EQ_INT(mc_parse_i64("abc", 0, 100, &v), -1);
	CHECK_EQ_INT(mc_parse_i64("1e3", 0, 10000, &v), -1);
	CHECK_EQ_INT(mc_parse_i64(NULL, 0, 100, &v), -1);
	/* a refused value leaves the output alone */
	CHECK_EQ_INT(v, 7);
	/* leading zeros are decimal, not octal */
	CHECK_EQ_INT(mc_parse_i64("010", 0, 100, &v), 0);
	CHECK_EQ_INT(v, 10);
}

void
t_util_parse_dbl_and_bool(void)
{
	double d = 0;
	int b = -1;

	CHECK_EQ_INT(mc_parse_dbl("0.25", 0, 1, &d), 0);
	CHECK_EQ_DBL(d, 0.25);
	CHECK_EQ_INT(mc_parse_dbl("1.5", 0, 1, &d), -1);
	CHECK_EQ_INT(mc_parse_dbl("nan", -1e308, 1e308, &d), -1);
	CHECK_EQ_INT(mc_parse_dbl("inf", -1e308, 1e308, &d), -1);
	CHECK_EQ_INT(mc_parse_dbl("1e999", -1e308, 1e308, &d), -1);
	CHECK_EQ_INT(mc_parse_dbl("", 0, 1, &d), -1);
	CHECK_EQ_INT(mc_parse_dbl(" 1", 0, 1, &d), -1);
	CHECK_EQ_INT(mc_parse_dbl("1x", 0, 10, &d), -1);
	CHECK_EQ_INT(mc_parse_bool("true", &b), 0);
	CHECK_EQ_INT(b, 1);
	CHECK_EQ_INT(mc_parse_bool("yes", &b), 0);
	CHECK_EQ_INT(mc_parse_bool("on", &b), 0);
	CHECK_EQ_INT(mc_parse_bool("1", &b), 0);
	CHECK_EQ_INT(b, 1);
	CHECK_EQ_INT(mc_parse_bool("off", &b), 0);
	CHECK_EQ_INT(b, 0);
	CHECK_EQ_INT(mc_parse_bool("no", &b), 0);
	CHECK_EQ_INT(mc_parse_bool("false", &b), 0);
	CHECK_EQ_INT(mc_parse_bool("0", &b), 0);
	CHECK_EQ_INT(b, 0);
	CHECK_EQ_INT(mc_parse_bool("", &b), -1);
	CHECK_EQ_INT(mc_parse_bool("2", &b), -1);
	CHECK_EQ_INT(mc_parse_bool("truee", &b), -1);
}

#define CHECK_URL(text, sch, hst, prt, pth, istls) do {			\
	struct mc_url u_;						\
	char e_[256] = "";						\
	int r_ = mc_url_parse((text), &u_, e_, sizeof(e_));		\
	CHECK_MSG(r_ == 0, "%s refused: %s", (text), e_);		\
	if (r_ == 0) {							\
		CHECK_EQ_STR(u_.scheme, (sch));				\
		CHECK_EQ_STR(u_.host, (hst));				\
		CHECK_EQ_INT(u_.port, (prt));				\
		CHECK_EQ_STR(u_.path, (pth));				\
		CHECK_EQ_INT(u_.tls, (istls));				\
	}								\
} while (0)

void
t_util_url_parse(void)
{
	CHECK_URL("wss://127.0.0.1:8443", "wss", "127.0.0.1", 8443, "/", 1);
	CHECK_URL("wss://hub.example.com", "wss", "hub.example.com", 443, "/",
	    1);
	CHECK_URL("https://127.0.0.1:8443/", "https", "127.0.0.1", 8443, "/",
	    1);
	CHECK_URL("https://h", "https", "h", 443, "/", 1);
	CHECK_URL("http://h", "http", "h", 80, "/", 0);
	CHECK_URL("http://h:8080/api/agents", "http", "h", 8080,
	    "/api/agents", 0);
	CHECK_URL("ws://10.0.0.1:9000/ws/agent", "ws", "10.0.0.1", 9000,
	    "/ws/agent", 0);
	CHECK_URL("ws://h/ws/agent", "ws", "h", 80, "/ws/agent", 0);
	CHECK_URL("wss://[::1]:8443/ws/agent", "wss", "::1", 8443,
	    "/ws/agent", 1);
	CHECK_URL("https://[fe80::1%25eth0]", "https", "fe80::1%25eth0", 443,
	    "/", 1);
	CHECK_URL("http://[2001:db8::7]:1", "http", "2001:db8::7", 1, "/", 0);
	CHECK_URL("wss://h:65535", "wss", "h", 65535, "/", 1);
}

void
t_util_url_parse_errors(void)
{
	static const char *const bad[] = {
		"", "127.0.0.1:8443", "hub", "ftp://h", "file:///etc/passwd",
		"WSS://h", "wss:/h", "wss://", "wss://:80", "wss:///path",
		"wss://h:", "wss://h:0", "wss://h:65536", "wss://h:abc",
		"wss://h:80x", "wss://h:-1", "wss://h:99999999999",
		"wss://[::1", "wss://[::1]x", "wss://[]:80", "wss://[::1]:",
		"verylongscheme://h",
	};
	struct mc_url u;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_MSG(mc_url_parse(bad[i], &u, err, sizeof(err)) == -1,
		    "\"%s\" accepted (host \"%s\" port %d)", bad[i], u.host,
		    u.port);
		CHECK_MSG(err[0] != '\0', "\"%s\": no reason", bad[i]);
	}
	/* the reason quotes the URL */
	mc_url_parse("ftp://h", &u, err, sizeof(err));
	CHECK_CONTAINS(err, "ftp://h");
	/* a host longer than the field */
	{
		char url[400];
		int n;

		n = snprintf(url, sizeof(url), "wss://");
		memset(url + n, 'h', 300);
		url[n + 300] = '\0';
		CHECK_EQ_INT(mc_url_parse(url, &u, err, sizeof(err)), -1);
	}
}

void
t_util_hash_fnv1a(void)
{
	/* the published FNV-1a 32-bit vectors */
	CHECK(mc_hash("", 0) == 0x811c9dc5u);
	CHECK(mc_hash_str("a") == 0xe40c292cu);
	CHECK(mc_hash_str("foobar") == 0xbf9cf968u);
	CHECK(mc_hash("a\0b", 3) != mc_hash("a", 1));
}

void
t_util_name_valid(void)
{
	char s[MC_NAME_MAX + 2];

	CHECK(mc_name_valid("pc-gpu"));
	CHECK(mc_name_valid("<img src=x onerror=alert(1)>"));
	CHECK(mc_name_valid("<b>_x_*"));
	CHECK(mc_name_valid("a b"));
	CHECK(mc_name_valid("tags,allowed,in,names"));
	CHECK(mc_name_valid("\xc3\xa9t\xc3\xa9"));
	CHECK(mc_name_valid("x"));
	CHECK(!mc_name_valid(""));
	CHECK(!mc_name_valid("a/b"));
	CHECK(!mc_name_valid("/"));
	CHECK(!mc_name_valid("."));
	CHECK(!mc_name_valid(".."));
	CHECK(mc_name_valid("..."));
	CHECK(mc_name_valid(".hidden"));
	CHECK(!mc_name_valid("a\nb"));
	CHECK(!mc_name_valid("a\tb"));
	CHECK(!mc_name_valid("\x01"));
	CHECK(!mc_name_valid("a\x1f"));
	CHECK(!mc_name_valid("a\x7f"));
	CHECK(!mc_name_valid(" lead"));
	CHECK(!mc_name_valid("trail "));
	CHECK(!mc_name_valid(" "));
	memset(s, 'n', MC_NAME_MAX);
	s[MC_NAME_MAX] = '\0';
	CHECK(mc_name_valid(s));
	s[MC_NAME_MAX] = 'n';
	s[MC_NAME_MAX + 1] = '\0';
	CHECK_MSG(!mc_name_valid(s), "a %d byte name was accepted",
	    MC_NAME_MAX + 1);
}

void
t_util_tag_valid(void)
{
	char s[MC_TAG_MAX + 2];

	CHECK(mc_tag_valid("gpu"));
	CHECK(mc_tag_valid("lab x"));
	CHECK(!mc_tag_valid(""));
	CHECK(!mc_tag_valid("a,b"));
	CHECK(!mc_tag_valid("a/b"));
	CHECK(!mc_tag_valid("a\tb"));
	CHECK(!mc_tag_valid(" a"));
	memset(s, 't', MC_TAG_MAX);
	s[MC_TAG_MAX] = '\0';
	CHECK(mc_tag_valid(s));
	s[MC_TAG_MAX] = 't';
	s[MC_TAG_MAX + 1] = '\0';
	CHECK(!mc_tag_valid(s));
}

void
t_util_sha256(void)
{
	char out[MC_SHA256_HEX];
	char *big;

	mc_sha256_hex("abc", 3, out);
	CHECK_EQ_STR(out, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	mc_sha256_hex("", 0, out);
	CHECK_EQ_STR(out, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	mc_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    56, out);
	CHECK_EQ_STR(out, "248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1");
	/* one million 'a' (FIPS 180-2 test vector) */
	big = malloc(1000000);
	REQUIRE(big != NULL);
	memset(big, 'a', 1000000);
	mc_sha256_hex(big, 1000000, out);
	free(big);
	CHECK_EQ_STR(out, "cdc76e5c9914fb9281a1c7e284d73e67"
	    "f1809a48a497200e046d39ccc7112cd0");
	/* binary input with NULs is hashed by length */
	mc_sha256_hex("a\0b", 3, out);
	CHECK(strcmp(out, "ca978112ca1bbdcafac231b39a23dc4d"
	    "a786eff8147c4e72b9807785afee48bb") != 0);
	CHECK_EQ_INT(strlen(out), MC_SHA256_HEX - 1);
}

void
t_util_secret_eq(void)
{
	CHECK_EQ_INT(mc_secret_eq("k1.abcdef", "k1.abcdef"), 1);
	CHECK_EQ_INT(mc_secret_eq("", ""), 1);
	CHECK_EQ_INT(mc_secret_eq("k1.abcdef", "k1.abcdeg"), 0);
	CHECK_EQ_INT(mc_secret_eq("k1.abcdef", "x1.abcdef"), 0);
	/* different lengths, including a prefix */
	CHECK_EQ_INT(mc_secret_eq("k1.abcdef", "k1.abcde"), 0);
	CHECK_EQ_INT(mc_secret_eq("k1.abcde", "k1.abcdef"), 0);
	CHECK_EQ_INT(mc_secret_eq("", "a"), 0);
	CHECK_EQ_INT(mc_secret_eq("a", ""), 0);
}

void
t_util_random_hex(void)
{
	char a[65], b[65], small[3];
	size_t i;

	memset(a, '#', sizeof(a));
	REQUIRE(mc_random_hex(a, 32) == 0);
	REQUIRE(mc_random_hex(b, 32) == 0);
	CHECK_EQ_INT(strlen(a), 64);
	CHECK_EQ_INT(strlen(b), 64);
	for (i = 0; i < 64; i++)
		CHECK_MSG((a[i] >= '0' && a[i] <= '9') ||
		    (a[i] >= 'a' && a[i] <= 'f'), "not lowercase hex: %s", a);
	CHECK_MSG(strcmp(a, b) != 0, "two random values are equal: %s", a);
	CHECK_EQ_INT(mc_random_hex(small, 1), 0);
	CHECK_EQ_INT(strlen(small), 2);
	CHECK_EQ_INT(mc_random_hex(a, 65), -1);
	/* many draws, no repeats */
	{
		static char seen[200][17];
		size_t j;

		for (i = 0; i < 200; i++) {
			REQUIRE(mc_random_hex(seen[i], 8) == 0);
			for (j = 0; j < i; j++)
				CHECK(strcmp(seen[i], seen[j]) != 0);
		}
	}
}

static mode_t
file_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

void
t_util_write_file_mode(void)
{
	static const mode_t masks[] = { 0, 022, 077, 0277 };
	char path[512];
	mode_t old;
	size_t i;

	snprintf(path, sizeof(path), "%s/credential", unit_tmpdir());
	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		old = umask(masks[i]);
		unlink(path);
		CHECK_MSG(mc_write_file(path, "secret", 6, 0600) == 0,
		    "umask %03o: %s", (unsigned)masks[i], strerror(errno));
		umask(old);
		CHECK_MSG(file_mode(path) == 0600, "umask %03o: mode %03o",
		    (unsigned)masks[i], (unsigned)file_mode(path));
	}
	/* replacing a file that was world-readable yields 0600 too */
	unlink(path);
	REQUIRE(mc_write_file(path, "old", 3, 0644) == 0);
	CHECK_EQ_INT(file_mode(path), 0644);
	REQUIRE(mc_write_file(path, "new", 3, 0600) == 0);
	CHECK_MSG(file_mode(path) == 0600, "mode %03o after replacing",
	    (unsigned)file_mode(path));
}

void
t_util_write_file_atomic(void)
{
	char path[512], tmp[600], *got;
	size_t len = 0;
	struct stat st;

	snprintf(path, sizeof(path), "%s/admin.token", unit_tmpdir());
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	REQUIRE(mc_write_file(path, "first version", 13, 0600) == 0);
	REQUIRE(mc_write_file(path, "second", 6, 0600) == 0);
	got = mc_read_file(path, 1024, &len);
	REQUIRE(got != NULL);
	CHECK_EQ_MEM(got, len, "second", 6);
	free(got);
	/* no temporary file is left behind */
	CHECK_MSG(stat(tmp, &st) == -1 && errno == ENOENT,
	    "%s left behind", tmp);
	/* when the write cannot happen the old file is intact: here the
	 * temporary name is taken by a directory */
	REQUIRE(mkdir(tmp, 0700) == 0);
	CHECK_EQ_INT(mc_write_file(path, "third", 5, 0600), -1);
	got = mc_read_file(path, 1024, &len);
	REQUIRE(got != NULL);
	CHECK_EQ_MEM(got, len, "second", 6);
	free(got);
	rmdir(tmp);
	/* a missing directory fails without creating anything */
	snprintf(path, sizeof(path), "%s/no/such/dir/f", unit_tmpdir());
	CHECK_EQ_INT(mc_write_file(path, "x", 1, 0600), -1);
	/* empty content is a valid file */
	snprintf(path, sizeof(path), "%s/empty", unit_tmpdir());
	CHECK_EQ_INT(mc_write_file(path, "", 0, 0600), 0);
	got = mc_read_file(path, 10, &len);
	REQUIRE(got != NULL);
	CHECK_EQ_INT(len, 0);
	CHECK_EQ_STR(got, "");
	free(got);
}

void
t_util_read_file(void)
{
	char path[512], *got;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/data", unit_tmpdir());
	REQUIRE(mc_write_file(path, "0123456789", 10, 0644) == 0);
	got = mc_read_file(path, 10, &len);
	REQUIRE(got != NULL);
	CHECK_EQ_INT(len, 10);
	CHECK_EQ_STR(got, "0123456789");
	free(got);
	got = mc_read_file(path, 100, NULL);
	CHECK_EQ_STR(got, "0123456789");
	free(got);
	errno = 0;
	got = mc_read_file(path, 9, &len);
	CHECK(got == NULL);
	CHECK_MSG(errno == EFBIG, "errno %d (%s), want EFBIG", errno,
	    strerror(errno));
	free(got);
	errno = 0;
	got = mc_read_file(path, 0, &len);
	CHECK(got == NULL);
	CHECK_EQ_INT(errno, EFBIG);
	free(got);
	/* /proc files report size 0: the buffer grows as they are read */
	got = mc_read_file("/proc/self/smaps", 1024 * 1024, &len);
	REQUIRE(got != NULL);
	CHECK_MSG(len > 8192 && strlen(got) == len, "len %zu, strlen %zu",
	    len, strlen(got));
	free(got);
	errno = 0;
	got = mc_read_file("/proc/self/smaps", 5000, &len);
	CHECK(got == NULL);
	CHECK_EQ_INT(errno, EFBIG);
	free(got);
	snprintf(path, sizeof(path), "%s/missing", unit_tmpdir());
	errno = 0;
	got = mc_read_file(path, 10, &len);
	CHECK(got == NULL);
	CHECK_EQ_INT(errno, ENOENT);
	free(got);
	/* a directory is not a readable file */
	got = mc_read_file(unit_tmpdir(), 10, &len);
	CHECK(got == NULL);
	free(got);
}

void
t_util_mkdir_p(void)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/a/b/c", unit_tmpdir());
	CHECK_EQ_INT(mc_mkdir_p(path, 0700), 0);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	/* again: already there is fine */
	CHECK_EQ_INT(mc_mkdir_p(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/a/b/c/", unit_tmpdir());
	CHECK_EQ_INT(mc_mkdir_p(path, 0700), 0);
	/* a file in the way */
	snprintf(path, sizeof(path), "%s/file", unit_tmpdir());
	REQUIRE(mc_write_file(path, "x", 1, 0600) == 0);
	snprintf(path, sizeof(path), "%s/file/sub", unit_tmpdir());
	CHECK_EQ_INT(mc_mkdir_p(path, 0700), -1);
}

void
t_util_trim_strlcpy(void)
{
	char s[32], d[4];

	snprintf(s, sizeof(s), " \t x y \r\n");
	CHECK_EQ_STR(mc_trim(s), "x y");
	snprintf(s, sizeof(s), "   ");
	CHECK_EQ_STR(mc_trim(s), "");
	snprintf(s, sizeof(s), "abc");
	CHECK_EQ_STR(mc_trim(s), "abc");
	CHECK_EQ_INT(mc_strlcpy(d, "abc", sizeof(d)), 0);
	CHECK_EQ_STR(d, "abc");
	CHECK_EQ_INT(mc_strlcpy(d, "abcd", sizeof(d)), -1);
	CHECK_EQ_STR(d, "abc");
	CHECK_EQ_INT(mc_strlcpy(d, "", sizeof(d)), 0);
	CHECK_EQ_STR(d, "");
	CHECK_EQ_INT(mc_strlcpy(d, "x", 0), -1);
}

void
t_util_strlcpy_utf8(void)
{
	char d[4];

	/* "aé€": a cut inside a multi-byte character drops all of it */
	CHECK_EQ_INT(mc_strlcpy(d, "a\xc3\xa9\xe2\x82\xac", sizeof(d)), -1);
	CHECK_EQ_STR(d, "a\xc3\xa9");
	CHECK_EQ_INT(mc_strlcpy(d, "\xe2\x82\xac\xe2\x82\xac", sizeof(d)),
	    -1);
	CHECK_EQ_STR(d, "\xe2\x82\xac");
}

void
t_util_fp_parse(void)
{
	static const char hex[] =
	    "9b17aa00000000000000000000000000000000000000000000000000000000ff";
	char out[MC_SHA256_HEX];

	CHECK_EQ_INT(mc_fp_parse("sha256:9B:17:AA:00:00:00:00:00:00:00:00:00:"
	    "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:FF",
	    out), 0);
	CHECK_EQ_STR(out, hex);
	CHECK_EQ_INT(mc_fp_parse(hex, out), 0);
	CHECK_EQ_STR(out, hex);
	CHECK_EQ_INT(mc_fp_parse("sha256:9b17", out), -1);
	CHECK_EQ_STR(out, "");
	CHECK_EQ_INT(mc_fp_parse("sha256:9b17aa0000000000000000000000000000000"
	    "0000000000000000000000000000ff00", out), -1);
	CHECK_EQ_INT(mc_fp_parse("sha256:zz17aa00000000000000000000000000000000"
	    "000000000000000000000000ff", out), -1);
}

void
t_util_base64(void)
{
	/* RFC 4648 section 10 */
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	static const char *const bad[] = {
		"Zg=", "Z", "Zg==Zg==", "Z===", "====", "=Zg=", "Zm9v!A==",
		"Zm 9", "Zm9v\n", "Zg=a", "Zm9-", "Zm9_",
	};
	unsigned char all[256], back[300];
	char out[64];
	struct mc_buf b;
	size_t i;
	long n;

	mc_buf_init(&b, 1024);
	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		mc_buf_reset(&b);
		CHECK_EQ_INT(mc_b64_encode(&b, vec[i][0], strlen(vec[i][0])), 0);
		CHECK_EQ_MEM(b.data ? b.data : "", b.len, vec[i][1],
		    strlen(vec[i][1]));
		n = mc_b64_decode(vec[i][1], strlen(vec[i][1]), out,
		    sizeof(out));
		CHECK_MSG(n >= 0, "decode \"%s\" failed", vec[i][1]);
		if (n >= 0)
			CHECK_EQ_MEM(out, (size_t)n, vec[i][0],
			    strlen(vec[i][0]));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(mc_b64_decode(bad[i], strlen(bad[i]), out,
		    sizeof(out)) == -1, "\"%s\" decoded", bad[i]);
	/* every byte value survives */
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)(255 - i);
	mc_buf_reset(&b);
	REQUIRE(mc_b64_encode(&b, all, 256) == 0);
	n = mc_b64_decode(b.data, b.len, back, sizeof(back));
	CHECK_EQ_MEM(back, n < 0 ? 0 : (size_t)n, all, 256);
	/* the output size is enforced, exactly */
	CHECK_EQ_INT(mc_b64_decode("Zm9v", 4, out, 3), 3);
	CHECK_EQ_INT(mc_b64_decode("Zm9v", 4, out, 2), -1);
	CHECK_EQ_INT(mc_b64_decode("Zm8=", 4, out, 2), 2);
	CHECK_EQ_INT(mc_b64_decode("Zm9vYg==", 8, out, 3), -1);
	/* and the encoder's buffer limit */
	mc_buf_free(&b);
	mc_buf_init(&b, 3);
	CHECK_EQ_INT(mc_b64_encode(&b, "f", 1), -1);
	mc_buf_free(&b);
}

void
t_util_signal_fd(void)
{
	static const int sigs[] = { SIGUSR1 };
	struct signalfd_siginfo si;
	sigset_t set;
	int fd;

	fd = mc_signal_fd(sigs, 1);
	REQUIRE(fd >= 0);
	/* nothing pending: the read does not block */
	CHECK(read(fd, &si, sizeof(si)) == -1 && errno == EAGAIN);
	/* blocked, so raise() queues it for the descriptor */
	REQUIRE(raise(SIGUSR1) == 0);
	CHECK(read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si));
	CHECK_EQ_INT(si.ssi_signo, SIGUSR1);
	close(fd);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}
