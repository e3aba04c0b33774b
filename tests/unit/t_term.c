/*
 * t_term.c - terminal sessions' messages and data frames (mc_term.h).
 */
#include <stdio.h>
#include <string.h>

#include "mc_proto.h"
#include "mc_term.h"
#include "mc_util.h"
#include "unit.h"

/* Encode m as type t, parse it back in direction dir, decode it into d. */
static int
term_trip(enum mc_msg_type t, enum mc_dir dir, const struct mc_term *m,
    struct mc_term *d)
{
	struct mc_buf b;
	struct mc_msg msg;
	const char *code = "";
	char err[256] = "";
	int r = -1;

	mc_buf_init(&b, MC_MSG_MAX);
	if (mc_term_encode(&b, t, m) == -1 ||
	    mc_msg_parse(&msg, dir, b.data, b.len, &code, err,
	    sizeof(err)) == -1) {
		unit_fail(__FILE__, __LINE__, "%s: %s %s", mc_msg_name(t),
		    code, err);
		goto done;
	}
	CHECK_EQ_INT((int)msg.type, (int)t);
	r = mc_term_decode(&msg, d, err, sizeof(err));
	CHECK_MSG(r == 0, "%s: %s", mc_msg_name(t), err);
	mc_msg_free(&msg);
done:
	mc_buf_free(&b);
	return r;
}

void
t_term_round_trips(void)
{
	struct mc_term m, d;

	memset(&m, 0, sizeof(m));
	m.ch = MC_TERM_CH_MAX;
	mc_strlcpy(m.sid, "t-0123456789abcdef", sizeof(m.sid));
	m.cols = 132;
	m.rows = 43;
	REQUIRE(term_trip(MC_MSG_TERM_OPEN, MC_TO_AGENT, &m, &d) == 0);
	CHECK_EQ_U64(d.ch, m.ch);
	CHECK_EQ_STR(d.sid, m.sid);
	CHECK_EQ_INT(d.cols, 132);
	CHECK_EQ_INT(d.rows, 43);
	REQUIRE(term_trip(MC_MSG_TERM_RESIZE, MC_TO_AGENT, &m, &d) == 0);
	CHECK_EQ_STR(d.sid, "");
	CHECK_EQ_INT(d.cols, 132);

	m.n = MC_TERM_WINDOW;
	REQUIRE(term_trip(MC_MSG_TERM_ACK, MC_TO_AGENT, &m, &d) == 0);
	CHECK_EQ_U64(d.n, (uint64_t)MC_TERM_WINDOW);
	REQUIRE(term_trip(MC_MSG_TERM_INACK, MC_TO_HUB, &m, &d) == 0);
	CHECK_EQ_U64(d.n, (uint64_t)MC_TERM_WINDOW);
	REQUIRE(term_trip(MC_MSG_TERM_CLOSE, MC_TO_AGENT, &m, &d) == 0);
	CHECK_EQ_U64(d.ch, m.ch);

	m.pid = 4242;
	REQUIRE(term_trip(MC_MSG_TERM_STARTED, MC_TO_HUB, &m, &d) == 0);
	CHECK_EQ_INT(d.pid, 4242);

	m.reason = MC_TERM_EXIT;
	m.exit_code = 130;
	REQUIRE(term_trip(MC_MSG_TERM_END, MC_TO_HUB, &m, &d) == 0);
	CHECK_EQ_INT((int)d.reason, MC_TERM_EXIT);
	CHECK_EQ_INT(d.exit_code, 130);
	m.reason = MC_TERM_REFUSED;
	mc_strlcpy(m.error, "terminal is not allowed on this agent",
	    sizeof(m.error));
	REQUIRE(term_trip(MC_MSG_TERM_END, MC_TO_HUB, &m, &d) == 0);
	CHECK_EQ_INT((int)d.reason, MC_TERM_REFUSED);
	CHECK_EQ_INT(d.exit_code, -1);
	CHECK_EQ_STR(d.error, m.error);
}

/* 0 if json parses in direction dir and its decoder accepts it. */
static int
term_decodes(enum mc_dir dir, const char *json)
{
	struct mc_msg msg;
	struct mc_term d;
	const char *code;
	char err[256];
	int r;

	if (mc_msg_parse(&msg, dir, json, strlen(json), &code, err,
	    sizeof(err)) == -1)
		return -1;
	r = mc_term_decode(&msg, &d, err, sizeof(err));
	mc_msg_free(&msg);
	return r;
}

void
t_term_rejects(void)
{
	CHECK(term_decodes(MC_TO_AGENT,
	    "{\"t\":\"term_open\",\"ch\":1,\"cols\":80,\"rows\":24}") == 0);
	/* the direction is part of the type */
	CHECK(term_decodes(MC_TO_HUB,
	    "{\"t\":\"term_open\",\"ch\":1,\"cols\":80,\"rows\":24}") == -1);
	CHECK(term_decodes(MC_TO_AGENT,
	    "{\"t\":\"term_open\",\"ch\":0,\"cols\":80,\"rows\":24}") == -1);
	CHECK(term_decodes(MC_TO_AGENT,
	    "{\"t\":\"term_open\",\"ch\":2147483648,\"cols\":80,"
	    "\"rows\":24}") == -1);
	CHECK(term_decodes(MC_TO_AGENT,
	    "{\"t\":\"term_open\",\"ch\":1.5,\"cols\":80,\"rows\":24}") == -1);
	CHECK(term_decodes(MC_TO_AGENT,
	    "{\"t\":\"term_resize\",\"ch\":1,\"cols\":0,\"rows\":24}") == -1);
	CHECK(term_decodes(MC_TO_AGENT,
	    "{\"t\":\"term_resize\",\"ch\":1,\"cols\":80,\"rows\":1001}") == -1);
	CHECK(term_decodes(MC_TO_AGENT,
	    "{\"t\":\"term_ack\",\"ch\":1,\"n\":-1}") == -1);
	CHECK(term_decodes(MC_TO_AGENT,
	    "{\"t\":\"term_ack\",\"ch\":1,\"n\":262145}") == -1);
	CHECK(term_decodes(MC_TO_HUB,
	    "{\"t\":\"term_end\",\"ch\":1,\"reason\":\"bored\"}") == -1);
	CHECK(term_decodes(MC_TO_HUB,
	    "{\"t\":\"term_end\",\"ch\":1,\"reason\":\"exit\",\"exit\":384}")
	    == -1);
	CHECK(term_decodes(MC_TO_HUB, "{\"t\":\"term_end\",\"ch\":1}") == -1);
}

void
t_term_frames(void)
{
	unsigned char f[MC_TERM_HDR + MC_TERM_CHUNK + 1];
	const unsigned char *data;
	size_t dlen;
	uint32_t ch;

	mc_term_frame(f, 0x01020304);
	CHECK_EQ_INT(f[0], MC_TERM_DATA);
	memcpy(f + MC_TERM_HDR, "ls\r", 3);
	REQUIRE(mc_term_unframe(f, MC_TERM_HDR + 3, &ch, &data, &dlen) == 0);
	CHECK_EQ_U64(ch, 0x01020304);
	CHECK_EQ_MEM(data, dlen, "ls\r", 3);
	/* empty data is a frame; more than a chunk, channel 0, another type
	 * or a short header are not */
	CHECK(mc_term_unframe(f, MC_TERM_HDR, &ch, &data, &dlen) == 0);
	CHECK_EQ_U64(dlen, 0);
	CHECK(mc_term_unframe(f, MC_TERM_HDR + MC_TERM_CHUNK, &ch, &data,
	    &dlen) == 0);
	CHECK(mc_term_unframe(f, sizeof(f), &ch, &data, &dlen) == -1);
	CHECK(mc_term_unframe(f, MC_TERM_HDR - 1, &ch, &data, &dlen) == -1);
	mc_term_frame(f, 0);
	CHECK(mc_term_unframe(f, MC_TERM_HDR, &ch, &data, &dlen) == -1);
	mc_term_frame(f, 0x80000000u);
	CHECK(mc_term_unframe(f, MC_TERM_HDR, &ch, &data, &dlen) == -1);
	mc_term_frame(f, 7);
	f[0] = 0x02;
	CHECK(mc_term_unframe(f, MC_TERM_HDR, &ch, &data, &dlen) == -1);
}
