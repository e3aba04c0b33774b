/*
 * t_proto.c - mc_proto: every message survives encode -> parse -> decode
 * with all its fields, mc_msg_parse refuses bad shapes with the right
 * error code, and the decoders refuse bad values.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_proto.h"
#include "mc_term.h"
#include "mc_util.h"
#include "unit.h"

/* Parse b as a message of direction dir; it must be of type want. */
static int
reparse(const struct mc_buf *b, enum mc_dir dir, enum mc_msg_type want,
    struct mc_msg *m)
{
	const char *code = "";
	char err[256] = "";

	if (mc_msg_parse(m, dir, b->data, b->len, &code, err,
	    sizeof(err)) == -1) {
		unit_fail(__FILE__, __LINE__, "%s did not parse: %s: %s (%s)",
		    mc_msg_name(want), code, err, unit_show(b->data, b->len));
		return -1;
	}
	if (m->type != want) {
		unit_fail(__FILE__, __LINE__, "parsed as %s, not %s",
		    mc_msg_name(m->type), mc_msg_name(want));
		mc_msg_free(m);
		return -1;
	}
	return 0;
}

/* The error code mc_msg_parse gives for json, or NULL if it accepts. */
static const char *
parse_code(enum mc_dir dir, const char *json, size_t n, char *err,
    size_t errlen)
{
	struct mc_msg m;
	const char *code = NULL;

	err[0] = '\0';
	if (mc_msg_parse(&m, dir, json, n, &code, err, errlen) == 0) {
		mc_msg_free(&m);
		return NULL;
	}
	CHECK(m.doc == NULL);
	return code ? code : "(no code)";
}

/* Fill err with the reason json is refused. */
#define PARSE_REASON(dir, json, err)					\
	parse_code((dir), (json), strlen(json), (err), sizeof(err))

#define CHECK_PARSE_CODE(dir, json, want) do {				\
	char e_[256];							\
	const char *c_ = parse_code((dir), (json), strlen(json), e_,	\
	    sizeof(e_));						\
	CHECK_MSG(c_ != NULL && strcmp(c_, (want)) == 0,		\
	    "%s: got code %s, want %s", unit_show((json), strlen(json)), \
	    c_ ? c_ : "(accepted)", (want));				\
	CHECK_MSG(c_ == NULL || e_[0] != '\0', "%s: no reason given",	\
	    (json));							\
} while (0)

static struct mc_hello	 s_hello;
static struct mc_welcome s_welcome;
static struct mc_hb	 s_hb;
static struct mc_cmd	 s_cmd;
static struct mc_started s_started;
static struct mc_out	 s_out;
static struct mc_result	 s_result;
static struct mc_ack	 s_ack;
static struct mc_bye	 s_bye;
static struct mc_error	 s_error;
static struct mc_blob	 s_blob;
static char		 s_blob_buf[MC_BLOB_CHUNK];
static struct mc_term	 s_term;

/* Decode a parsed message with the decoder for its type. */
static int
decode_any(const struct mc_msg *m, char *err, size_t errlen)
{
	switch (m->type) {
	case MC_MSG_HELLO:
		return mc_hello_decode(m, &s_hello, err, errlen);
	case MC_MSG_WELCOME:
		return mc_welcome_decode(m, &s_welcome, err, errlen);
	case MC_MSG_HB:
		return mc_hb_decode(m, &s_hb, err, errlen);
	case MC_MSG_CMD:
		return mc_cmd_decode(m, &s_cmd, err, errlen);
	case MC_MSG_STARTED:
		return mc_started_decode(m, &s_started, err, errlen);
	case MC_MSG_OUT:
		return mc_out_decode(m, &s_out, err, errlen);
	case MC_MSG_RESULT:
		return mc_result_decode(m, &s_result, err, errlen);
	case MC_MSG_ACK:
		return mc_ack_decode(m, &s_ack, err, errlen);
	case MC_MSG_BYE:
		return mc_bye_decode(m, &s_bye, err, errlen);
	case MC_MSG_ERROR:
		return mc_error_decode(m, &s_error, err, errlen);
	case MC_MSG_BLOB:
		return mc_blob_decode(m, &s_blob, s_blob_buf, err, errlen);
	case MC_MSG_TERM_OPEN:
	case MC_MSG_TERM_RESIZE:
	case MC_MSG_TERM_CLOSE:
	case MC_MSG_TERM_ACK:
	case MC_MSG_TERM_STARTED:
	case MC_MSG_TERM_END:
	case MC_MSG_TERM_INACK:
		return mc_term_decode(m, &s_term, err, errlen);
	case MC_MSG_COUNT:
		break;
	}
	return -1;
}

/*
 * 1 if json parses (as dir) and decodes, 0 if it parses but the decoder
 * refuses it, -1 if it does not even parse.
 */
static int
decodes(enum mc_dir dir, const char *json, size_t n)
{
	struct mc_msg m;
	const char *code;
	char err[256] = "";
	int r;

	if (mc_msg_parse(&m, dir, json, n, &code, err, sizeof(err)) == -1)
		return -1;
	err[0] = '\0';
	r = decode_any(&m, err, sizeof(err));
	mc_msg_free(&m);
	if (r == -1 && err[0] == '\0')
		return -2;	/* refused without a reason */
	return r == 0 ? 1 : 0;
}

#define CHECK_DECODE_FAILS(dir, json) do {				\
	int r_ = decodes((dir), (json), strlen(json));			\
	CHECK_MSG(r_ == 0, "%s: %s", unit_show((json), strlen(json)),	\
	    r_ == 1 ? "decoded, should be refused" : r_ == -1 ?		\
	    "did not parse (test is wrong)" : "refused without reason");	\
} while (0)

#define CHECK_DECODE_OK(dir, json) do {					\
	int r_ = decodes((dir), (json), strlen(json));			\
	CHECK_MSG(r_ == 1, "%s: %s", unit_show((json), strlen(json)),	\
	    r_ == -1 ? "did not parse" : "decoder refused it");		\
} while (0)

/* A string of n copies of c. */
static char *
rep(char c, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* Build a message in a heap buffer: printf-style. Caller frees. */
static char *
msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
msg(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	s = malloc((size_t)n + 1);
	if (s == NULL)
		abort();
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

#define CHECK_DECODE_FAILS_F(dir, ...) do {				\
	char *j_ = msg(__VA_ARGS__);					\
	CHECK_DECODE_FAILS((dir), j_);					\
	free(j_);							\
} while (0)

#define CHECK_DECODE_OK_F(dir, ...) do {				\
	char *j_ = msg(__VA_ARGS__);					\
	CHECK_DECODE_OK((dir), j_);					\
	free(j_);							\
} while (0)

/* ---- round trips ---- */

static void
hello_round_trip(const struct mc_hello *h)
{
	struct mc_hello d;
	struct mc_buf b;
	struct mc_msg m;
	char err[256] = "";
	int i;

	mc_buf_init(&b, MC_MSG_MAX);
	REQUIRE(mc_hello_encode(&b, h) == 0);
	REQUIRE(reparse(&b, MC_TO_HUB, MC_MSG_HELLO, &m) == 0);
	CHECK_MSG(mc_hello_decode(&m, &d, err, sizeof(err)) == 0,
	    "decode: %s", err);
	CHECK_EQ_INT(d.v, h->v);
	CHECK_EQ_STR(d.name, h->name);
	CHECK_EQ_STR(d.cred, h->cred);
	CHECK_EQ_STR(d.enroll_key, h->enroll_key);
	CHECK_EQ_STR(d.hostname, h->hostname);
	CHECK_EQ_STR(d.os, h->os);
	CHECK_EQ_STR(d.kernel, h->kernel);
	CHECK_EQ_STR(d.arch, h->arch);
	CHECK_EQ_STR(d.version, h->version);
	CHECK_EQ_INT(d.cpus, h->cpus);
	CHECK_EQ_U64(d.mem_total, h->mem_total);
	CHECK_EQ_INT(d.ntags, h->ntags);
	for (i = 0; i < h->ntags && i < d.ntags; i++)
		CHECK_EQ_STR(d.tags[i], h->tags[i]);
	CHECK_EQ_STR(d.boot, h->boot);
	CHECK_EQ_INT((int)d.caps, (int)h->caps);
	CHECK_EQ_INT(d.npending, h->npending);
	for (i = 0; i < h->npending && i < d.npending; i++)
		CHECK_EQ_STR(d.pending[i], h->pending[i]);
	mc_msg_free(&m);
	mc_buf_free(&b);
}

void
t_proto_hello_round_trip(void)
{
	struct mc_hello h;
	char *s;
	int i;

	memset(&h, 0, sizeof(h));
	h.v = MC_PROTO_VERSION;
	mc_strlcpy(h.name, "pc-gpu <b>\"x\"<i> \xc3\xa9", sizeof(h.name));
	mc_strlcpy(h.cred, "a1b2c3d4.3f9c0011223344556677", sizeof(h.cred));
	mc_strlcpy(h.hostname, "pc-gpu.lab", sizeof(h.hostname));
	mc_strlcpy(h.os, "Debian GNU/Linux 12 (bookworm)", sizeof(h.os));
	mc_strlcpy(h.kernel, "6.1.0-18-amd64", sizeof(h.kernel));
	mc_strlcpy(h.arch, "x86_64", sizeof(h.arch));
	mc_strlcpy(h.version, MC_VERSION, sizeof(h.version));
	h.cpus = 16;
	h.mem_total = 67319595008ULL;
	h.ntags = 2;
	mc_strlcpy(h.tags[0], "gpu", sizeof(h.tags[0]));
	mc_strlcpy(h.tags[1], "lab \"two\"", sizeof(h.tags[1]));
	mc_strlcpy(h.boot, "b-1a2b3c", sizeof(h.boot));
	h.caps = MC_CAP_TERM;
	h.npending = 2;
	mc_strlcpy(h.pending[0], "c-0001", sizeof(h.pending[0]));
	mc_strlcpy(h.pending[1], "c-0002", sizeof(h.pending[1]));
	hello_round_trip(&h);

	/* every field at its maximum length, all tags */
	s = rep('n', MC_NAME_MAX);
	mc_strlcpy(h.name, s, sizeof(h.name));
	free(s);
	s = rep('h', MC_TEXT_MAX - 1);
	mc_strlcpy(h.hostname, s, sizeof(h.hostname));
	mc_strlcpy(h.os, s, sizeof(h.os));
	mc_strlcpy(h.kernel, s, sizeof(h.kernel));
	free(s);
	s = rep('c', MC_SECRET_MAX - 1);
	mc_strlcpy(h.cred, s, sizeof(h.cred));
	free(s);
	h.ntags = MC_TAGS_MAX;
	for (i = 0; i < MC_TAGS_MAX; i++) {
		memset(h.tags[i], 'a' + i, MC_TAG_MAX);
		h.tags[i][MC_TAG_MAX] = '\0';
	}
	h.cpus = 1 << 20;
	s = rep('b', MC_ID_MAX - 1);
	mc_strlcpy(h.boot, s, sizeof(h.boot));
	h.npending = MC_PENDING_MAX;
	for (i = 0; i < MC_PENDING_MAX; i++)
		snprintf(h.pending[i], sizeof(h.pending[i]), "%s", s);
	free(s);
	hello_round_trip(&h);

	/* no tags, no optional facts */
	memset(&h, 0, sizeof(h));
	h.v = MC_PROTO_VERSION;
	mc_strlcpy(h.name, "x", sizeof(h.name));
	mc_strlcpy(h.cred, "c", sizeof(h.cred));
	hello_round_trip(&h);
}

void
t_proto_hello_enroll_round_trip(void)
{
	struct mc_hello h;

	memset(&h, 0, sizeof(h));
	h.v = MC_PROTO_VERSION;
	mc_strlcpy(h.name, "new-box", sizeof(h.name));
	mc_strlcpy(h.enroll_key, "k1a2b3c4.9f00ff", sizeof(h.enroll_key));
	h.ntags = 1;
	mc_strlcpy(h.tags[0], "lab", sizeof(h.tags[0]));
	hello_round_trip(&h);
}

void
t_proto_welcome_round_trip(void)
{
	static const double hbs[] = { 0.2, 10, 0.01, 86400, 2.5 };
	struct mc_welcome w, d;
	struct mc_buf b;
	struct mc_msg m;
	char err[256] = "";
	size_t i;

	mc_buf_init(&b, MC_MSG_MAX);
	for (i = 0; i < sizeof(hbs) / sizeof(hbs[0]); i++) {
		memset(&w, 0, sizeof(w));
		w.v = MC_PROTO_VERSION;
		mc_strlcpy(w.name, "pc-gpu", sizeof(w.name));
		w.hb = hbs[i];
		if (i % 2 == 0)
			mc_strlcpy(w.cred, "a1b2.c3d4e5", sizeof(w.cred));
		w.out_at = i % 2;
		mc_buf_reset(&b);
		REQUIRE(mc_welcome_encode(&b, &w) == 0);
		REQUIRE(reparse(&b, MC_TO_AGENT, MC_MSG_WELCOME, &m) == 0);
		CHECK_MSG(mc_welcome_decode(&m, &d, err, sizeof(err)) == 0,
		    "decode: %s", err);
		CHECK_EQ_INT(d.v, w.v);
		CHECK_EQ_STR(d.name, w.name);
		CHECK_MSG(d.hb == w.hb, "hb %.17g came back as %.17g", w.hb,
		    d.hb);
		CHECK_EQ_STR(d.cred, w.cred);
		CHECK_EQ_INT(d.out_at, w.out_at);
		/* no cred on the wire when there is none */
		CHECK(i % 2 == 0 || strstr(b.data, "cred") == NULL);
		mc_msg_free(&m);
	}
	mc_buf_free(&b);
}

static void
fill_metrics(struct mc_metrics *mm, int nfs, int nnet)
{
	int i;

	memset(mm, 0, sizeof(*mm));
	mm->has_cpu = 1;
	mm->cpu_user = 3.25;
	mm->cpu_system = 1.5;
	mm->cpu_iowait = 0.125;
	mm->load[0] = 0.21;
	mm->load[1] = 0.3;
	mm->load[2] = 12.75;
	mm->mem_used = 4294967296ULL;
	mm->mem_total = 67319595008ULL;
	mm->swap_used = 1;
	mm->swap_total = 2147483648ULL;
	mm->nfs = nfs;
	for (i = 0; i < nfs; i++) {
		snprintf(mm->fs[i].mount, sizeof(mm->fs[i].mount),
		    "/mnt/disk %d \"q\"", i);
		mm->fs[i].used = 51539607552ULL + (uint64_t)i;
		mm->fs[i].total = 502468108288ULL;
	}
	mm->nnet = nnet;
	for (i = 0; i < nnet; i++) {
		snprintf(mm->net[i].iface, sizeof(mm->net[i].iface), "enp%ds0",
		    i);
		mm->net[i].rx_bps = 10240.5 + i;
		mm->net[i].tx_bps = 2048.0;
	}
	mm->uptime = 86400;
	mm->procs = 412;
}

/* v as it reads back after the writer gave it decimals digits. */
static double
written(double v, int decimals)
{
	char s[64];

	snprintf(s, sizeof(s), "%.*f", decimals, v);
	return strtod(s, NULL);
}

static void
check_metrics(const struct mc_metrics *a, const struct mc_metrics *e)
{
	int i;

	CHECK_EQ_INT(a->has_cpu, e->has_cpu);
	CHECK_EQ_DBL(a->cpu_user, written(e->cpu_user, 2));
	CHECK_EQ_DBL(a->cpu_system, written(e->cpu_system, 2));
	CHECK_EQ_DBL(a->cpu_iowait, written(e->cpu_iowait, 2));
	for (i = 0; i < 3; i++)
		CHECK_EQ_DBL(a->load[i], written(e->load[i], 2));
	CHECK_EQ_U64(a->mem_used, e->mem_used);
	CHECK_EQ_U64(a->mem_total, e->mem_total);
	CHECK_EQ_U64(a->swap_used, e->swap_used);
	CHECK_EQ_U64(a->swap_total, e->swap_total);
	CHECK_EQ_INT(a->nfs, e->nfs);
	for (i = 0; i < e->nfs && i < a->nfs; i++) {
		CHECK_EQ_STR(a->fs[i].mount, e->fs[i].mount);
		CHECK_EQ_U64(a->fs[i].used, e->fs[i].used);
		CHECK_EQ_U64(a->fs[i].total, e->fs[i].total);
	}
	CHECK_EQ_INT(a->nnet, e->nnet);
	for (i = 0; i < e->nnet && i < a->nnet; i++) {
		CHECK_EQ_STR(a->net[i].iface, e->net[i].iface);
		CHECK_EQ_DBL(a->net[i].rx_bps, written(e->net[i].rx_bps, 0));
		CHECK_EQ_DBL(a->net[i].tx_bps, written(e->net[i].tx_bps, 0));
	}
	CHECK_EQ_U64(a->uptime, e->uptime);
	CHECK_EQ_U64(a->procs, e->procs);
}

void
t_proto_hb_round_trip(void)
{
	static struct mc_hb hb, d;
	static const int sizes[][2] = { { 2, 2 }, { 0, 0 },
	    { MC_FS_MAX, MC_NET_MAX } };
	struct mc_buf b;
	struct mc_msg m;
	char err[256] = "";
	size_t i;

	mc_buf_init(&b, MC_MSG_MAX);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(&hb, 0, sizeof(hb));
		hb.seq = 42 + i;
		fill_metrics(&hb.m, sizes[i][0], sizes[i][1]);
		if (sizes[i][0] == 0) {
			/* the first heartbeat after a start: no CPU figure */
			hb.m.has_cpu = 0;
			hb.m.cpu_user = hb.m.cpu_system = hb.m.cpu_iowait = 0;
		}
		mc_buf_reset(&b);
		REQUIRE(mc_hb_encode(&b, &hb) == 0);
		REQUIRE(reparse(&b, MC_TO_HUB, MC_MSG_HB, &m) == 0);
		CHECK_MSG(mc_hb_decode(&m, &d, err, sizeof(err)) == 0,
		    "decode: %s", err);
		CHECK_EQ_U64(d.seq, hb.seq);
		check_metrics(&d.m, &hb.m);
		mc_msg_free(&m);
	}
	mc_buf_free(&b);
}

static void
cmd_round_trip(const struct mc_cmd *c)
{
	static struct mc_cmd d;
	struct mc_buf b;
	struct mc_msg m;
	char err[256] = "";

	mc_buf_init(&b, MC_MSG_MAX);
	REQUIRE(mc_cmd_encode(&b, c) == 0);
	REQUIRE(reparse(&b, MC_TO_AGENT, MC_MSG_CMD, &m) == 0);
	CHECK_MSG(mc_cmd_decode(&m, &d, err, sizeof(err)) == 0, "decode: %s",
	    err);
	CHECK_EQ_STR(d.id, c->id);
	CHECK_EQ_INT(d.kind, c->kind);
	CHECK_EQ_STR(d.cmd, c->cmd);
	CHECK_EQ_STR(d.arg, c->arg);
	CHECK_EQ_DBL(d.timeout, c->timeout);
	CHECK_EQ_U64(d.cap, c->cap);
	mc_msg_free(&m);
	mc_buf_free(&b);
}

void
t_proto_cmd_round_trip(void)
{
	static struct mc_cmd c;
	char *s;
	int k;

	memset(&c, 0, sizeof(c));
	mc_strlcpy(c.id, "c-0001a2b3c4d5e6f7", sizeof(c.id));
	c.kind = MC_KIND_SHELL;
	mc_strlcpy(c.cmd, "sh -c 'echo \"hi\\\\\"; exit 7'\n\ttab \xe2\x82\xac",
	    sizeof(c.cmd));
	c.timeout = 30;
	c.cap = MC_OUTPUT_CAP_DEFAULT;
	cmd_round_trip(&c);

	memset(&c, 0, sizeof(c));
	mc_strlcpy(c.id, "c-2", sizeof(c.id));
	c.kind = MC_KIND_DOCKER_RESTART;
	mc_strlcpy(c.arg, "web-1", sizeof(c.arg));
	c.timeout = 0.5;
	c.cap = 0;
	cmd_round_trip(&c);

	/* the longest command line and id, the largest cap and timeout */
	memset(&c, 0, sizeof(c));
	s = rep('i', MC_ID_MAX - 1);
	mc_strlcpy(c.id, s, sizeof(c.id));
	free(s);
	s = rep('x', MC_CMD_MAX);
	mc_strlcpy(c.cmd, s, sizeof(c.cmd));
	free(s);
	c.timeout = MC_TIMEOUT_MAX;
	c.cap = MC_OUTPUT_CAP_MAX;
	cmd_round_trip(&c);

	/* every kind */
	for (k = 0; k < MC_KIND_COUNT; k++) {
		memset(&c, 0, sizeof(c));
		mc_strlcpy(c.id, "c-k", sizeof(c.id));
		c.kind = (enum mc_kind)k;
		c.timeout = 60;
		c.cap = 1024;
		if (c.kind == MC_KIND_LISTENER_UPDATE) {
			mc_strlcpy(c.rel.version, "1.2.3",
			    sizeof(c.rel.version));
			mc_sha256_hex("", 0, c.rel.sha256);
			c.rel.size = 1;
			mc_strlcpy(c.rel.path, "/r", sizeof(c.rel.path));
		}
		cmd_round_trip(&c);
	}
}

void
t_proto_started_round_trip(void)
{
	static const int pids[] = { 31337, 0, 1, 2147483647 };
	struct mc_started s, d;
	struct mc_buf b;
	struct mc_msg m;
	char err[256] = "";
	size_t i;

	mc_buf_init(&b, MC_MSG_MAX);
	for (i = 0; i < sizeof(pids) / sizeof(pids[0]); i++) {
		memset(&s, 0, sizeof(s));
		mc_strlcpy(s.id, "c-5f2a", sizeof(s.id));
		s.pid = pids[i];
		mc_buf_reset(&b);
		REQUIRE(mc_started_encode(&b, &s) == 0);
		REQUIRE(reparse(&b, MC_TO_HUB, MC_MSG_STARTED, &m) == 0);
		CHECK_MSG(mc_started_decode(&m, &d, err, sizeof(err)) == 0,
		    "decode: %s", err);
		CHECK_EQ_STR(d.id, s.id);
		CHECK_EQ_INT(d.pid, s.pid);
		mc_msg_free(&m);
	}
	mc_buf_free(&b);
}

/* at: where the chunk starts, or -1 for none (an older listener) */
static void
out_round_trip(enum mc_stream st, const char *data, size_t n, int64_t at)
{
	struct mc_out o, d;
	struct mc_buf b;
	struct mc_msg m;
	char err[256] = "";

	memset(&o, 0, sizeof(o));
	mc_strlcpy(o.id, "c-5f2a", sizeof(o.id));
	o.stream = st;
	o.data = data;
	o.len = n;
	o.has_at = at >= 0;
	o.at = at >= 0 ? (uint64_t)at : 0;
	mc_buf_init(&b, MC_MSG_MAX);
	REQUIRE(mc_out_encode(&b, &o) == 0);
	REQUIRE(reparse(&b, MC_TO_HUB, MC_MSG_OUT, &m) == 0);
	CHECK_MSG(mc_out_decode(&m, &d, err, sizeof(err)) == 0, "decode: %s",
	    err);
	CHECK_EQ_STR(d.id, o.id);
	CHECK_EQ_INT(d.stream, st);
	CHECK_EQ_MEM(d.data, d.len, data, n);
	CHECK_EQ_INT(d.has_at, o.has_at);
	CHECK_MSG(d.at == o.at, "at %llu came back as %llu",
	    (unsigned long long)o.at, (unsigned long long)d.at);
	mc_msg_free(&m);
	mc_buf_free(&b);
}

void
t_proto_out_round_trip(void)
{
	static const char text[] = "line 1\n\x01\x1f \"q\" \\ \xc3\xa9\0tail\r\n";
	char *big;

	out_round_trip(MC_STDOUT, text, sizeof(text) - 1, 0);
	out_round_trip(MC_STDERR, "warning\n", 8, -1);
	out_round_trip(MC_STDOUT, "", 0, 16777216);
	/* a full chunk of the worst case for escaping still fits */
	big = rep('\x01', MC_OUT_CHUNK);
	out_round_trip(MC_STDERR, big, MC_OUT_CHUNK, 123456789);
	free(big);
}

static void
result_round_trip(const struct mc_result *r)
{
	struct mc_result d;
	struct mc_buf b;
	struct mc_msg m;
	char err[256] = "";

	mc_buf_init(&b, MC_MSG_MAX);
	REQUIRE(mc_result_encode(&b, r) == 0);
	REQUIRE(reparse(&b, MC_TO_HUB, MC_MSG_RESULT, &m) == 0);
	CHECK_MSG(mc_result_decode(&m, &d, err, sizeof(err)) == 0,
	    "decode: %s", err);
	CHECK_EQ_STR(d.id, r->id);
	CHECK_EQ_INT(d.outcome, r->outcome);
	CHECK_EQ_INT(d.exit_code, r->exit_code);
	CHECK_EQ_INT(d.truncated, r->truncated);
	CHECK_EQ_U64(d.out_bytes, r->out_bytes);
	CHECK_EQ_DBL(d.duration, r->duration);
	CHECK_EQ_STR(d.error, r->error);
	mc_msg_free(&m);
	mc_buf_free(&b);
}

void
t_proto_result_round_trip(void)
{
	struct mc_result r;

	memset(&r, 0, sizeof(r));
	mc_strlcpy(r.id, "c-5f2a", sizeof(r.id));
	r.outcome = MC_DONE;
	r.exit_code = 7;
	r.truncated = 1;
	r.out_bytes = 2000000;
	r.duration = 2.5;
	result_round_trip(&r);

	r.outcome = MC_DONE;
	r.exit_code = 0;
	r.truncated = 0;
	r.out_bytes = 0;
	r.duration = 0;
	result_round_trip(&r);

	r.outcome = MC_FAILED;
	r.exit_code = -1;
	mc_strlcpy(r.error, "kind 'screenshot' is not allowed here",
	    sizeof(r.error));
	result_round_trip(&r);

	r.outcome = MC_TIMEOUT;
	r.exit_code = 128 + 9;
	r.duration = 1.0625;
	r.out_bytes = 123456789012ULL;
	mc_strlcpy(r.error, "timed out after 1s", sizeof(r.error));
	result_round_trip(&r);

	r.outcome = MC_DONE;
	r.exit_code = 255 + 128;
	r.error[0] = '\0';
	result_round_trip(&r);
}

void
t_proto_ack_round_trip(void)
{
	struct mc_ack a, d;
	struct mc_buf b;
	struct mc_msg m;
	char err[256] = "";

	memset(&a, 0, sizeof(a));
	mc_strlcpy(a.id, "c-0001a2b3c4d5e6f7", sizeof(a.id));
	mc_buf_init(&b, MC_MSG_MAX);
	REQUIRE(mc_ack_encode(&b, &a) == 0);
	REQUIRE(reparse(&b, MC_TO_AGENT, MC_MSG_ACK, &m) == 0);
	CHECK_MSG(mc_ack_decode(&m, &d, err, sizeof(err)) == 0, "decode: %s",
	    err);
	CHECK_EQ_STR(d.id, a.id);
	mc_msg_free(&m);
	mc_buf_free(&b);
}

void
t_proto_bye_round_trip(void)
{
	static const char *const reasons[] = { "sigterm", "stop", "restart",
	    "shutdown", "" };
	struct mc_bye y, d;
	struct mc_buf b;
	struct mc_msg m;
	char err[256] = "";
	size_t i;

	mc_buf_init(&b, MC_MSG_MAX);
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		memset(&y, 0, sizeof(y));
		mc_strlcpy(y.reason, reasons[i], sizeof(y.reason));
		mc_buf_reset(&b);
		REQUIRE(mc_bye_encode(&b, &y) == 0);
		REQUIRE(reparse(&b, MC_TO_HUB, MC_MSG_BYE, &m) == 0);
		CHECK_MSG(mc_bye_decode(&m, &d, err, sizeof(err)) == 0,
		    "decode: %s", err);
		CHECK_EQ_STR(d.reason, y.reason);
		mc_msg_free(&m);
	}
	mc_buf_free(&b);
}

void
t_proto_error_round_trip(void)
{
	static const char *const codes[] = { MC_ERR_BAD_JSON,
	    MC_ERR_BAD_MESSAGE, MC_ERR_UNKNOWN_TYPE, MC_ERR_TOO_LARGE,
	    MC_ERR_NOT_HELLO, MC_ERR_VERSION, MC_ERR_AUTH, MC_ERR_ENROLL,
	    MC_ERR_NAME_TAKEN, MC_ERR_REPLACED, MC_ERR_SHUTDOWN };
	struct mc_error e, d;
	struct mc_buf b;
	struct mc_msg m;
	char err[256] = "";
	size_t i;

	mc_buf_init(&b, MC_MSG_MAX);
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		memset(&e, 0, sizeof(e));
		mc_strlcpy(e.code, codes[i], sizeof(e.code));
		mc_strlcpy(e.msg, "credential does not match agent 'pc-gpu'",
		    sizeof(e.msg));
		e.warning = i % 2;	/* "fatal": false, or absent */
		mc_buf_reset(&b);
		REQUIRE(mc_error_encode(&b, &e) == 0);
		CHECK(e.warning == (strstr(b.data, "\"fatal\":false") != NULL));
		REQUIRE(reparse(&b, MC_TO_AGENT, MC_MSG_ERROR, &m) == 0);
		CHECK_MSG(mc_error_decode(&m, &d, err, sizeof(err)) == 0,
		    "decode: %s", err);
		CHECK_EQ_STR(d.code, e.code);
		CHECK_EQ_STR(d.msg, e.msg);
		CHECK_EQ_INT(d.warning, e.warning);
		mc_msg_free(&m);
	}
	mc_buf_free(&b);
}

/* ---- mc_msg_parse refusals ---- */

void
t_proto_parse_wrong_direction(void)
{
	static const char *const to_hub[] = {
		"{\"t\":\"hello\",\"v\":1,\"name\":\"a\"}",
		"{\"t\":\"hb\",\"seq\":1,\"m\":{}}",
		"{\"t\":\"started\",\"id\":\"c\"}",
		"{\"t\":\"out\",\"id\":\"c\",\"stream\":\"stdout\",\"data\":\"\"}",
		"{\"t\":\"result\",\"id\":\"c\",\"status\":\"done\"}",
		"{\"t\":\"bye\",\"reason\":\"stop\"}",
	};
	static const char *const to_agent[] = {
		"{\"t\":\"welcome\",\"v\":1,\"name\":\"a\",\"hb\":1}",
		"{\"t\":\"cmd\",\"id\":\"c\",\"kind\":\"shell\"}",
		"{\"t\":\"ack\",\"id\":\"c\"}",
		"{\"t\":\"error\",\"code\":\"auth\",\"msg\":\"no\"}",
	};
	size_t i;

	for (i = 0; i < sizeof(to_hub) / sizeof(to_hub[0]); i++) {
		CHECK_DECODE_OK(MC_TO_HUB, to_hub[i]);
		CHECK_PARSE_CODE(MC_TO_AGENT, to_hub[i], MC_ERR_UNKNOWN_TYPE);
	}
	for (i = 0; i < sizeof(to_agent) / sizeof(to_agent[0]); i++) {
		CHECK_DECODE_OK(MC_TO_AGENT, to_agent[i]);
		CHECK_PARSE_CODE(MC_TO_HUB, to_agent[i], MC_ERR_UNKNOWN_TYPE);
	}
}

void
t_proto_parse_unknown_type(void)
{
	char err[256];

	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"frobnicate\"}",
	    MC_ERR_UNKNOWN_TYPE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"\"}", MC_ERR_UNKNOWN_TYPE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"HELLO\",\"v\":1,\"name\":\"a\"}",
	    MC_ERR_UNKNOWN_TYPE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"hello \",\"v\":1,\"name\":\"a\"}",
	    MC_ERR_UNKNOWN_TYPE);
	CHECK_PARSE_CODE(MC_TO_AGENT, "{\"t\":\"cmdx\",\"id\":\"c\","
	    "\"kind\":\"shell\"}", MC_ERR_UNKNOWN_TYPE);
	/* the reason names the type */
	PARSE_REASON(MC_TO_HUB, "{\"t\":\"frobnicate\"}", err);
	CHECK_CONTAINS(err, "frobnicate");
}

void
t_proto_parse_missing_t(void)
{
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"v\":1,\"name\":\"a\"}",
	    MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{}", MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":5}", MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":null}", MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":[\"hello\"]}", MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"T\":\"hello\",\"v\":1,\"name\":\"a\"}",
	    MC_ERR_BAD_MESSAGE);
}

void
t_proto_parse_missing_field(void)
{
	char err[256];

	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"hello\",\"v\":1}",
	    MC_ERR_BAD_MESSAGE);
	PARSE_REASON(MC_TO_HUB, "{\"t\":\"hello\",\"v\":1}", err);
	CHECK_CONTAINS(err, "name");
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"hello\",\"name\":\"a\"}",
	    MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"hb\",\"seq\":1}",
	    MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"hb\",\"m\":{}}",
	    MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"started\"}", MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"out\",\"id\":\"c\","
	    "\"stream\":\"stdout\"}", MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"result\",\"id\":\"c\"}",
	    MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"bye\"}", MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_AGENT, "{\"t\":\"welcome\",\"v\":1,"
	    "\"name\":\"a\"}", MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_AGENT, "{\"t\":\"cmd\",\"id\":\"c\"}",
	    MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_AGENT, "{\"t\":\"ack\"}", MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_AGENT, "{\"t\":\"error\",\"code\":\"auth\"}",
	    MC_ERR_BAD_MESSAGE);
}

void
t_proto_parse_wrong_field_type(void)
{
	char err[256];

	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"hello\",\"v\":\"1\","
	    "\"name\":\"a\"}", MC_ERR_BAD_MESSAGE);
	PARSE_REASON(MC_TO_HUB, "{\"t\":\"hello\",\"v\":\"1\",\"name\":\"a\"}",
	    err);
	CHECK_CONTAINS(err, "'v'");
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"hello\",\"v\":1,\"name\":5}",
	    MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"hello\",\"v\":1,\"name\":null}",
	    MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"hb\",\"seq\":1,\"m\":[]}",
	    MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"hb\",\"seq\":\"1\",\"m\":{}}",
	    MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"out\",\"id\":\"c\","
	    "\"stream\":\"stdout\",\"data\":5}", MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"result\",\"id\":1,"
	    "\"status\":\"done\"}", MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"bye\",\"reason\":true}",
	    MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_AGENT, "{\"t\":\"welcome\",\"v\":1,"
	    "\"name\":\"a\",\"hb\":\"10\"}", MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_AGENT, "{\"t\":\"cmd\",\"id\":\"c\","
	    "\"kind\":{}}", MC_ERR_BAD_MESSAGE);
}

void
t_proto_parse_size_limit(void)
{
	static const char head[] = "{\"t\":\"bye\",\"reason\":\"stop\","
	    "\"pad\":\"";
	char *buf, err[256];
	size_t n = MC_MSG_MAX + 1;

	/* a valid message one byte over the limit */
	buf = rep('p', n);
	memcpy(buf, head, sizeof(head) - 1);
	buf[n - 2] = '"';
	buf[n - 1] = '}';
	CHECK_EQ_STR(parse_code(MC_TO_HUB, buf, n, err, sizeof(err)),
	    MC_ERR_TOO_LARGE);
	/* the same shape exactly at the limit is accepted */
	n = MC_MSG_MAX;
	buf[n - 2] = '"';
	buf[n - 1] = '}';
	CHECK_MSG(parse_code(MC_TO_HUB, buf, n, err, sizeof(err)) == NULL,
	    "a message of exactly MC_MSG_MAX bytes was refused: %s", err);
	free(buf);
	/* far over: refused before parsing (no time spent on it) */
	buf = rep(' ', 4 * MC_MSG_MAX);
	CHECK_EQ_STR(parse_code(MC_TO_HUB, buf, 4 * MC_MSG_MAX, err,
	    sizeof(err)), MC_ERR_TOO_LARGE);
	free(buf);
}

void
t_proto_parse_non_object(void)
{
	CHECK_PARSE_CODE(MC_TO_HUB, "[]", MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "[{\"t\":\"bye\",\"reason\":\"x\"}]",
	    MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "\"hello\"", MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "1", MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "null", MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_AGENT, "true", MC_ERR_BAD_MESSAGE);
}

void
t_proto_parse_bad_json(void)
{
	char err[256];

	CHECK_PARSE_CODE(MC_TO_HUB, "", MC_ERR_BAD_JSON);
	CHECK_PARSE_CODE(MC_TO_HUB, "{", MC_ERR_BAD_JSON);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"hb\"", MC_ERR_BAD_JSON);
	CHECK_PARSE_CODE(MC_TO_HUB, "not json", MC_ERR_BAD_JSON);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"bye\",\"reason\":\"x\"} {}",
	    MC_ERR_BAD_JSON);
	PARSE_REASON(MC_TO_HUB, "{\"t\":", err);
	CHECK_CONTAINS(err, "byte");
}

/* ---- decoder refusals ---- */

#define HELLO_PRE	"{\"t\":\"hello\",\"v\":1,"

void
t_proto_hello_rejects_bad_names(void)
{
	char *s;

	CHECK_DECODE_OK(MC_TO_HUB, HELLO_PRE "\"name\":\"<img src=x "
	    "onerror=alert(1)>\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a/b\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\" lead\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"trail \"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\\nb\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\\u007fb\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\\u0000b\"}");
	s = rep('n', MC_NAME_MAX);
	CHECK_DECODE_OK_F(MC_TO_HUB, HELLO_PRE "\"name\":\"%s\"}", s);
	CHECK_DECODE_FAILS_F(MC_TO_HUB, HELLO_PRE "\"name\":\"%sn\"}", s);
	free(s);
	/* over-long optional text fields */
	s = rep('h', MC_TEXT_MAX);
	CHECK_DECODE_FAILS_F(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"hostname\":\"%s\"}", s);
	CHECK_DECODE_FAILS_F(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"os\":\"%s\"}", s);
	free(s);
	s = rep('c', MC_SECRET_MAX);
	CHECK_DECODE_FAILS_F(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"cred\":\"%s\"}", s);
	CHECK_DECODE_FAILS_F(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"enroll_key\":\"%s\"}", s);
	free(s);
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"cred\":5}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"arch\":\"0123456789012345678901234567890123\"}");
}

void
t_proto_hello_rejects_bad_tags(void)
{
	struct mc_buf b;
	char *s;
	int i;

	CHECK_DECODE_OK(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"tags\":[\"gpu\",\"lab x\"]}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"tags\":[\"a,b\"]}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"tags\":[\"\"]}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"tags\":[\"a/b\"]}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"tags\":[\"a\\tb\"]}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"tags\":[1]}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"tags\":\"gpu\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"tags\":{\"gpu\":1}}");
	s = rep('t', MC_TAG_MAX);
	CHECK_DECODE_OK_F(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"tags\":[\"%s\"]}", s);
	CHECK_DECODE_FAILS_F(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"tags\":[\"%st\"]}", s);
	free(s);
	/* MC_TAGS_MAX tags are fine, one more is not */
	mc_buf_init(&b, 4096);
	mc_buf_puts(&b, HELLO_PRE "\"name\":\"a\",\"tags\":[");
	for (i = 0; i < MC_TAGS_MAX; i++)
		mc_buf_printf(&b, "%s\"t%d\"", i ? "," : "", i);
	mc_buf_puts(&b, "]}");
	CHECK_DECODE_OK(MC_TO_HUB, b.data);
	b.len -= 2;
	b.data[b.len] = '\0';
	mc_buf_puts(&b, ",\"extra\"]}");
	CHECK_DECODE_FAILS(MC_TO_HUB, b.data);
	mc_buf_free(&b);
}

/*
 * A tag holding an escaped NUL: mc_tag_valid() sees only the bytes before
 * the NUL, so the decoder must check the real length itself (as get_text
 * does for other strings) before copying into tags[i][MC_TAG_MAX + 1].
 * The tag below is 202 bytes long; it must be refused, not copied.
 */
void
t_proto_hello_rejects_tag_with_nul(void)
{
	char *s;

	s = rep('x', 200);
	CHECK_DECODE_FAILS_F(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"tags\":[\"a\\u0000%s\"]}", s);
	free(s);
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"tags\":[\"a\\u0000\"]}");
}

void
t_proto_hello_rejects_bad_numbers(void)
{
	CHECK_DECODE_FAILS(MC_TO_HUB, "{\"t\":\"hello\",\"v\":-1,"
	    "\"name\":\"a\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, "{\"t\":\"hello\",\"v\":1.5,"
	    "\"name\":\"a\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\",\"cpus\":-1}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\",\"cpus\":1.5}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"cpus\":\"16\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"cpus\":1e12}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"mem_total\":-1}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"mem_total\":1e300}");
	/* a version the hub does not speak still decodes: the hub answers
	 * it with error "version", which needs the number */
	CHECK_DECODE_OK(MC_TO_HUB, "{\"t\":\"hello\",\"v\":2,\"name\":\"a\"}");
	CHECK_DECODE_OK(MC_TO_HUB, "{\"t\":\"hello\",\"v\":0,\"name\":\"a\"}");
}

void
t_proto_welcome_rejects(void)
{
	static const char pre[] = "{\"t\":\"welcome\",\"v\":1,\"name\":\"a\",";
	char *s;

	CHECK_DECODE_OK_F(MC_TO_AGENT, "%s\"hb\":0.2}", pre);
	CHECK_DECODE_FAILS_F(MC_TO_AGENT, "%s\"hb\":0}", pre);
	CHECK_DECODE_FAILS_F(MC_TO_AGENT, "%s\"hb\":-1}", pre);
	CHECK_DECODE_FAILS_F(MC_TO_AGENT, "%s\"hb\":0.001}", pre);
	CHECK_DECODE_FAILS_F(MC_TO_AGENT, "%s\"hb\":86401}", pre);
	CHECK_DECODE_FAILS(MC_TO_AGENT, "{\"t\":\"welcome\",\"v\":-1,"
	    "\"name\":\"a\",\"hb\":1}");
	s = rep('c', MC_SECRET_MAX);
	CHECK_DECODE_FAILS_F(MC_TO_AGENT, "%s\"hb\":1,\"cred\":\"%s\"}", pre,
	    s);
	free(s);
	s = rep('n', MC_NAME_MAX + 1);
	CHECK_DECODE_FAILS_F(MC_TO_AGENT, "{\"t\":\"welcome\",\"v\":1,"
	    "\"name\":\"%s\",\"hb\":1}", s);
	free(s);
}

#define HB_PRE	"{\"t\":\"hb\",\"seq\":1,\"m\":"

static void
hb_many(const char *key, const char *entry, int n, int ok)
{
	struct mc_buf b;
	int i;

	mc_buf_init(&b, MC_MSG_MAX);
	mc_buf_printf(&b, HB_PRE "{\"%s\":[", key);
	for (i = 0; i < n; i++)
		mc_buf_printf(&b, "%s%s", i ? "," : "", entry);
	mc_buf_puts(&b, "]}}");
	if (ok)
		CHECK_DECODE_OK(MC_TO_HUB, b.data);
	else
		CHECK_DECODE_FAILS(MC_TO_HUB, b.data);
	mc_buf_free(&b);
}

void
t_proto_hb_rejects(void)
{
	static const char fs[] = "{\"mount\":\"/\",\"used\":1,\"total\":2}";
	static const char net[] = "{\"iface\":\"e0\",\"rx_bps\":1,"
	    "\"tx_bps\":2}";
	char *s;

	CHECK_DECODE_OK(MC_TO_HUB, HB_PRE "{}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, "{\"t\":\"hb\",\"seq\":-1,\"m\":{}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, "{\"t\":\"hb\",\"seq\":1.5,\"m\":{}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"cpu\":{\"user\":101}}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"cpu\":5}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"cpu\":{\"system\":-1}}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"cpu\":{\"iowait\":\"x\"}}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"load\":[1,2]}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"load\":[1,2,3,4]}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"load\":[1,2,-1]}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"load\":[1,2,\"3\"]}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"load\":3}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"mem\":{\"used\":-1}}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"swap\":{\"total\":0.5}}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"uptime\":-5}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"procs\":1.5}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"fs\":{}}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"fs\":[{\"used\":1}]}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"fs\":[5]}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"fs\":[{\"mount\":\"/\","
	    "\"used\":-1}]}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"net\":[{\"iface\":\"e\","
	    "\"rx_bps\":-1}]}}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HB_PRE "{\"net\":[{\"rx_bps\":1}]}}");
	s = rep('m', MC_MOUNT_MAX);
	CHECK_DECODE_FAILS_F(MC_TO_HUB, HB_PRE "{\"fs\":[{\"mount\":\"%s\"}]}}",
	    s);
	free(s);
	s = rep('i', MC_IFACE_MAX);
	CHECK_DECODE_FAILS_F(MC_TO_HUB, HB_PRE "{\"net\":[{\"iface\":\"%s\"}]}}",
	    s);
	free(s);
	hb_many("fs", fs, MC_FS_MAX, 1);
	hb_many("fs", fs, MC_FS_MAX + 1, 0);
	hb_many("net", net, MC_NET_MAX, 1);
	hb_many("net", net, MC_NET_MAX + 1, 0);
}

#define CMD_PRE	"{\"t\":\"cmd\",\"id\":\"c-1\","

void
t_proto_cmd_rejects(void)
{
	char *s;

	CHECK_DECODE_OK(MC_TO_AGENT, CMD_PRE "\"kind\":\"shell\","
	    "\"cmd\":\"true\"}");
	/* defaults when absent */
	CHECK_EQ_DBL(s_cmd.timeout, MC_TIMEOUT_DEFAULT);
	CHECK_EQ_U64(s_cmd.cap, MC_OUTPUT_CAP_DEFAULT);
	CHECK_DECODE_FAILS(MC_TO_AGENT, CMD_PRE "\"kind\":\"rm\"}");
	CHECK_DECODE_FAILS(MC_TO_AGENT, CMD_PRE "\"kind\":\"\"}");
	CHECK_DECODE_FAILS(MC_TO_AGENT, CMD_PRE "\"kind\":\"SHELL\"}");
	CHECK_DECODE_FAILS_F(MC_TO_AGENT, CMD_PRE "\"kind\":\"shell\","
	    "\"cap\":%d}", MC_OUTPUT_CAP_MAX + 1);
	CHECK_DECODE_FAILS(MC_TO_AGENT, CMD_PRE "\"kind\":\"shell\","
	    "\"cap\":-1}");
	CHECK_DECODE_FAILS(MC_TO_AGENT, CMD_PRE "\"kind\":\"shell\","
	    "\"cap\":10.5}");
	CHECK_DECODE_FAILS(MC_TO_AGENT, CMD_PRE "\"kind\":\"shell\","
	    "\"timeout\":0}");
	CHECK_DECODE_FAILS(MC_TO_AGENT, CMD_PRE "\"kind\":\"shell\","
	    "\"timeout\":-1}");
	CHECK_DECODE_FAILS_F(MC_TO_AGENT, CMD_PRE "\"kind\":\"shell\","
	    "\"timeout\":%d}", MC_TIMEOUT_MAX + 1);
	CHECK_DECODE_FAILS(MC_TO_AGENT, CMD_PRE "\"kind\":\"shell\","
	    "\"timeout\":\"60\"}");
	CHECK_DECODE_FAILS(MC_TO_AGENT, CMD_PRE "\"kind\":\"shell\","
	    "\"cmd\":5}");
	CHECK_DECODE_FAILS(MC_TO_AGENT, "{\"t\":\"cmd\",\"id\":\"\","
	    "\"kind\":\"shell\"}");
	s = rep('i', MC_ID_MAX);
	CHECK_DECODE_FAILS_F(MC_TO_AGENT, "{\"t\":\"cmd\",\"id\":\"%s\","
	    "\"kind\":\"shell\"}", s);
	free(s);
	s = rep('x', MC_CMD_MAX + 1);
	CHECK_DECODE_FAILS_F(MC_TO_AGENT, CMD_PRE "\"kind\":\"shell\","
	    "\"cmd\":\"%s\"}", s);
	free(s);
	s = rep('a', MC_TEXT_MAX);
	CHECK_DECODE_FAILS_F(MC_TO_AGENT, CMD_PRE "\"kind\":\"docker_restart\","
	    "\"arg\":\"%s\"}", s);
	free(s);
}

void
t_proto_started_rejects(void)
{
	CHECK_DECODE_OK(MC_TO_HUB, "{\"t\":\"started\",\"id\":\"c\","
	    "\"pid\":5}");
	CHECK_DECODE_FAILS(MC_TO_HUB, "{\"t\":\"started\",\"id\":\"c\","
	    "\"pid\":-1}");
	CHECK_DECODE_FAILS(MC_TO_HUB, "{\"t\":\"started\",\"id\":\"c\","
	    "\"pid\":2147483648}");
	CHECK_DECODE_FAILS(MC_TO_HUB, "{\"t\":\"started\",\"id\":\"c\","
	    "\"pid\":1.5}");
	CHECK_DECODE_FAILS(MC_TO_HUB, "{\"t\":\"started\",\"id\":\"\","
	    "\"pid\":1}");
}

void
t_proto_out_rejects(void)
{
	struct mc_buf b;
	int i;

	CHECK_DECODE_FAILS(MC_TO_HUB, "{\"t\":\"out\",\"id\":\"c\","
	    "\"stream\":\"stdin\",\"data\":\"x\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, "{\"t\":\"out\",\"id\":\"c\","
	    "\"stream\":\"\",\"data\":\"x\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, "{\"t\":\"out\",\"id\":\"\","
	    "\"stream\":\"stdout\",\"data\":\"x\"}");
	/* "at" is a place in the output: a whole number from 0 */
	CHECK_DECODE_FAILS(MC_TO_HUB, "{\"t\":\"out\",\"id\":\"c\","
	    "\"stream\":\"stdout\",\"data\":\"x\",\"at\":-1}");
	CHECK_DECODE_FAILS(MC_TO_HUB, "{\"t\":\"out\",\"id\":\"c\","
	    "\"stream\":\"stdout\",\"data\":\"x\",\"at\":\"12\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, "{\"t\":\"out\",\"id\":\"c\","
	    "\"stream\":\"stdout\",\"data\":\"x\",\"at\":1.5}");
	/* a chunk far over MC_OUT_CHUNK that still fits in one message */
	mc_buf_init(&b, MC_MSG_MAX);
	mc_buf_puts(&b, "{\"t\":\"out\",\"id\":\"c\",\"stream\":\"stdout\","
	    "\"data\":\"");
	for (i = 0; i < MC_OUT_CHUNK * 6 + 1; i++)
		mc_buf_puts(&b, "x");
	mc_buf_puts(&b, "\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, b.data);
	mc_buf_free(&b);
}

#define RES_PRE	"{\"t\":\"result\",\"id\":\"c\","

void
t_proto_result_rejects(void)
{
	char *s;

	CHECK_DECODE_OK(MC_TO_HUB, RES_PRE "\"status\":\"done\"}");
	CHECK_EQ_INT(s_result.exit_code, -1);
	CHECK_DECODE_FAILS(MC_TO_HUB, RES_PRE "\"status\":\"bogus\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, RES_PRE "\"status\":\"DONE\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, RES_PRE "\"status\":\"done\","
	    "\"exit\":384}");
	CHECK_DECODE_FAILS(MC_TO_HUB, RES_PRE "\"status\":\"done\","
	    "\"exit\":-2}");
	CHECK_DECODE_FAILS(MC_TO_HUB, RES_PRE "\"status\":\"done\","
	    "\"exit\":1.5}");
	CHECK_DECODE_FAILS(MC_TO_HUB, RES_PRE "\"status\":\"done\","
	    "\"truncated\":\"yes\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, RES_PRE "\"status\":\"done\","
	    "\"truncated\":1}");
	CHECK_DECODE_FAILS(MC_TO_HUB, RES_PRE "\"status\":\"done\","
	    "\"out_bytes\":-1}");
	CHECK_DECODE_FAILS(MC_TO_HUB, RES_PRE "\"status\":\"done\","
	    "\"duration\":-1}");
	s = rep('e', MC_TEXT_MAX);
	CHECK_DECODE_FAILS_F(MC_TO_HUB, RES_PRE "\"status\":\"failed\","
	    "\"error\":\"%s\"}", s);
	free(s);
}

void
t_proto_bye_error_rejects(void)
{
	char *s;

	s = rep('r', 32);
	CHECK_DECODE_FAILS_F(MC_TO_HUB, "{\"t\":\"bye\",\"reason\":\"%s\"}", s);
	CHECK_DECODE_FAILS_F(MC_TO_AGENT, "{\"t\":\"error\",\"code\":\"%s\","
	    "\"msg\":\"m\"}", s);
	free(s);
	CHECK_DECODE_FAILS(MC_TO_AGENT, "{\"t\":\"ack\",\"id\":\"\"}");
	/* a long error message from a newer hub is cut, not refused */
	s = rep('m', 1000);
	CHECK_DECODE_OK_F(MC_TO_AGENT, "{\"t\":\"error\",\"code\":\"auth\","
	    "\"msg\":\"%s\"}", s);
	free(s);
	CHECK_EQ_INT(strlen(s_error.msg), MC_TEXT_MAX - 1);
	CHECK_EQ_STR(s_error.code, "auth");
}

void
t_proto_kind_and_outcome_names(void)
{
	static const char *const kinds[] = { "shell", "docker_ps",
	    "docker_restart", "restart", "stop", "screenshot", "metrics",
	    "container_update", "listener_update" };
	enum mc_kind k;
	enum mc_outcome o;
	int i;

	CHECK_EQ_INT(MC_KIND_COUNT, 9);
	for (i = 0; i < MC_KIND_COUNT; i++) {
		CHECK_EQ_STR(mc_kind_name((enum mc_kind)i), kinds[i]);
		CHECK_EQ_INT(mc_kind_parse(kinds[i], &k), 0);
		CHECK_EQ_INT(k, i);
	}
	CHECK_EQ_INT(mc_kind_parse("", &k), -1);
	CHECK_EQ_INT(mc_kind_parse("Shell", &k), -1);
	CHECK_EQ_INT(mc_kind_parse("shell ", &k), -1);
	CHECK_EQ_STR(mc_kind_name(MC_KIND_COUNT), "?");
	CHECK_EQ_STR(mc_outcome_name(MC_DONE), "done");
	CHECK_EQ_STR(mc_outcome_name(MC_FAILED), "failed");
	CHECK_EQ_STR(mc_outcome_name(MC_TIMEOUT), "timeout");
	CHECK_EQ_INT(mc_outcome_parse("timeout", &o), 0);
	CHECK_EQ_INT(o, MC_TIMEOUT);
	CHECK_EQ_INT(mc_outcome_parse("lost", &o), -1);
	for (i = 0; i < MC_MSG_COUNT; i++)
		CHECK(strcmp(mc_msg_name((enum mc_msg_type)i), "?") != 0);
	CHECK_EQ_STR(mc_msg_name(MC_MSG_COUNT), "?");
	CHECK_EQ_STR(mc_msg_name(MC_MSG_HB), "hb");
}

void
t_proto_metrics_summaries(void)
{
	static struct mc_metrics m;

	memset(&m, 0, sizeof(m));
	CHECK(isnan(mc_metrics_cpu_pct(&m)));	/* not measured is not 0 % */
	CHECK_EQ_DBL(mc_metrics_mem_pct(&m), 0);
	CHECK_EQ_DBL(mc_metrics_disk_pct(&m), 0);
	m.has_cpu = 1;
	m.cpu_user = 3;
	m.cpu_system = 1.5;
	m.cpu_iowait = 0.5;
	CHECK_EQ_DBL(mc_metrics_cpu_pct(&m), 5);
	m.mem_used = 1;
	m.mem_total = 4;
	CHECK_EQ_DBL(mc_metrics_mem_pct(&m), 25);
	m.nfs = 3;
	m.fs[0].used = 10;
	m.fs[0].total = 100;
	m.fs[1].used = 5;
	m.fs[1].total = 0;	/* skipped, no division by zero */
	m.fs[2].used = 3;
	m.fs[2].total = 4;
	CHECK_EQ_DBL(mc_metrics_disk_pct(&m), 75);
}

void
t_proto_hello_rejects_bad_pending(void)
{
	struct mc_buf b;
	char *s;
	int i;

	CHECK_DECODE_OK(MC_TO_HUB, HELLO_PRE "\"name\":\"a\",\"boot\":\"b-1\","
	    "\"pending\":[\"c-1\",\"c-2\"]}");
	CHECK_EQ_INT(s_hello.npending, 2);
	CHECK_EQ_STR(s_hello.pending[1], "c-2");
	CHECK_EQ_STR(s_hello.boot, "b-1");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"pending\":[\"\"]}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"pending\":[1]}");
	CHECK_DECODE_FAILS(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"pending\":\"c-1\"}");
	s = rep('p', MC_ID_MAX);
	CHECK_DECODE_FAILS_F(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"pending\":[\"%s\"]}", s);
	CHECK_DECODE_FAILS_F(MC_TO_HUB, HELLO_PRE "\"name\":\"a\","
	    "\"boot\":\"%s\"}", s);
	free(s);
	mc_buf_init(&b, 1 << 16);
	mc_buf_puts(&b, HELLO_PRE "\"name\":\"a\",\"pending\":[");
	for (i = 0; i < MC_PENDING_MAX; i++)
		mc_buf_printf(&b, "%s\"c-%d\"", i ? "," : "", i);
	mc_buf_puts(&b, "]}");
	CHECK_DECODE_OK(MC_TO_HUB, b.data);
	b.len -= 2;
	b.data[b.len] = '\0';
	mc_buf_puts(&b, ",\"c-extra\"]}");
	CHECK_DECODE_FAILS(MC_TO_HUB, b.data);
	mc_buf_free(&b);
}

void
t_proto_blob_round_trip(void)
{
	static unsigned char data[MC_BLOB_CHUNK];
	static char out[MC_BLOB_CHUNK];
	static const size_t sizes[] = { 0, 1, 2, 3, 4, 1000, MC_BLOB_CHUNK };
	struct mc_blob bl, d;
	struct mc_buf b;
	struct mc_msg m;
	char err[256] = "";
	size_t i, k;

	for (k = 0; k < sizeof(data); k++)
		data[k] = (unsigned char)(k * 7 + k / 256);
	mc_buf_init(&b, MC_MSG_MAX);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(&bl, 0, sizeof(bl));
		mc_strlcpy(bl.id, "c-shot", sizeof(bl.id));
		mc_strlcpy(bl.mime, "image/png", sizeof(bl.mime));
		bl.total = MC_BLOB_MAX;
		bl.off = MC_BLOB_MAX - sizes[i];
		bl.data = data;
		bl.len = sizes[i];
		mc_buf_reset(&b);
		REQUIRE(mc_blob_encode(&b, &bl) == 0);
		REQUIRE(reparse(&b, MC_TO_HUB, MC_MSG_BLOB, &m) == 0);
		memset(out, 0, sizeof(out));
		CHECK_MSG(mc_blob_decode(&m, &d, out, err, sizeof(err)) == 0,
		    "decode of %zu bytes: %s", sizes[i], err);
		CHECK_EQ_STR(d.id, bl.id);
		CHECK_EQ_STR(d.mime, bl.mime);
		CHECK_EQ_U64(d.total, bl.total);
		CHECK_EQ_U64(d.off, bl.off);
		CHECK(d.data == out);
		CHECK_EQ_MEM(d.data, d.len, data, sizes[i]);
		mc_msg_free(&m);
	}
	/* blobs travel only to the hub */
	memset(&bl, 0, sizeof(bl));
	mc_strlcpy(bl.id, "c-x", sizeof(bl.id));
	bl.data = data;
	bl.len = 3;
	bl.total = 3;
	mc_buf_reset(&b);
	REQUIRE(mc_blob_encode(&b, &bl) == 0);
	CHECK_PARSE_CODE(MC_TO_AGENT, b.data, MC_ERR_UNKNOWN_TYPE);
	mc_buf_free(&b);
}

#define BLOB_PRE	"{\"t\":\"blob\",\"id\":\"c-1\",\"mime\":\"image/png\","

void
t_proto_blob_rejects(void)
{
	struct mc_buf b;
	char *raw;

	CHECK_DECODE_OK(MC_TO_HUB, BLOB_PRE "\"total\":3,\"off\":0,"
	    "\"data\":\"QUJD\"}");
	CHECK_EQ_MEM(s_blob.data, s_blob.len, "ABC", 3);
	CHECK_DECODE_OK(MC_TO_HUB, BLOB_PRE "\"total\":10,\"off\":10,"
	    "\"data\":\"\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, BLOB_PRE "\"total\":3,\"off\":0,"
	    "\"data\":\"!!!!\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, BLOB_PRE "\"total\":3,\"off\":0,"
	    "\"data\":\"QUJ\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, BLOB_PRE "\"total\":3,\"off\":0,"
	    "\"data\":\"QQ==QQ==\"}");
	/* the piece does not fit in the file */
	CHECK_DECODE_FAILS(MC_TO_HUB, BLOB_PRE "\"total\":2,\"off\":0,"
	    "\"data\":\"QUJD\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, BLOB_PRE "\"total\":10,\"off\":8,"
	    "\"data\":\"QUJD\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, BLOB_PRE "\"total\":10,\"off\":11,"
	    "\"data\":\"\"}");
	CHECK_DECODE_FAILS_F(MC_TO_HUB, BLOB_PRE "\"total\":%d,\"off\":0,"
	    "\"data\":\"\"}", MC_BLOB_MAX + 1);
	CHECK_DECODE_FAILS(MC_TO_HUB, BLOB_PRE "\"total\":10,\"off\":-1,"
	    "\"data\":\"\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, BLOB_PRE "\"total\":1.5,\"off\":0,"
	    "\"data\":\"\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, "{\"t\":\"blob\",\"id\":\"\","
	    "\"total\":1,\"off\":0,\"data\":\"\"}");
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"blob\",\"id\":\"c\","
	    "\"total\":1,\"data\":\"\"}", MC_ERR_BAD_MESSAGE);
	CHECK_PARSE_CODE(MC_TO_HUB, "{\"t\":\"blob\",\"id\":\"c\","
	    "\"total\":1,\"off\":0,\"data\":5}", MC_ERR_BAD_MESSAGE);
	/* one byte more than a chunk: refused, not written past the buffer */
	raw = rep('\x5a', MC_BLOB_CHUNK + 3);
	mc_buf_init(&b, MC_MSG_MAX);
	mc_buf_printf(&b, BLOB_PRE "\"total\":%d,\"off\":0,\"data\":\"",
	    MC_BLOB_MAX);
	REQUIRE(mc_b64_encode(&b, raw, MC_BLOB_CHUNK + 3) == 0);
	mc_buf_puts(&b, "\"}");
	CHECK_DECODE_FAILS(MC_TO_HUB, b.data);
	free(raw);
	mc_buf_free(&b);
}
