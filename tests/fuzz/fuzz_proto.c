/*
 * fuzz_proto.c - libFuzzer target: bytes from a peer through the whole
 * agent-message path of common/: parse, validate, decode every type, and
 * re-encode what decoded.  Any crash, leak or sanitizer report is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mc_proto.h"
#include "mc_term.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
decode_all(const struct mc_msg *m)
{
	char err[256];
	struct mc_buf b;
	union {
		struct mc_hello h;
		struct mc_welcome w;
		struct mc_hb hb;
		struct mc_cmd c;
		struct mc_started s;
		struct mc_out o;
		struct mc_result r;
		struct mc_ack a;
		struct mc_bye bye;
		struct mc_error e;
		struct mc_term term;
	} u;

	mc_buf_init(&b, MC_MSG_MAX * 2);
	switch (m->type) {
	case MC_MSG_HELLO:
		if (mc_hello_decode(m, &u.h, err, sizeof(err)) == 0)
			mc_hello_encode(&b, &u.h);
		break;
	case MC_MSG_WELCOME:
		if (mc_welcome_decode(m, &u.w, err, sizeof(err)) == 0)
			mc_welcome_encode(&b, &u.w);
		break;
	case MC_MSG_HB:
		if (mc_hb_decode(m, &u.hb, err, sizeof(err)) == 0)
			mc_hb_encode(&b, &u.hb);
		break;
	case MC_MSG_CMD:
		if (mc_cmd_decode(m, &u.c, err, sizeof(err)) == 0)
			mc_cmd_encode(&b, &u.c);
		break;
	case MC_MSG_STARTED:
		if (mc_started_decode(m, &u.s, err, sizeof(err)) == 0)
			mc_started_encode(&b, &u.s);
		break;
	case MC_MSG_OUT:
		if (mc_out_decode(m, &u.o, err, sizeof(err)) == 0)
			mc_out_encode(&b, &u.o);
		break;
	case MC_MSG_RESULT:
		if (mc_result_decode(m, &u.r, err, sizeof(err)) == 0)
			mc_result_encode(&b, &u.r);
		break;
	case MC_MSG_ACK:
		if (mc_ack_decode(m, &u.a, err, sizeof(err)) == 0)
			mc_ack_encode(&b, &u.a);
		break;
	case MC_MSG_BYE:
		if (mc_bye_decode(m, &u.bye, err, sizeof(err)) == 0)
			mc_bye_encode(&b, &u.bye);
		break;
	case MC_MSG_ERROR:
		if (mc_error_decode(m, &u.e, err, sizeof(err)) == 0)
			mc_error_encode(&b, &u.e);
		break;
	case MC_MSG_TERM_OPEN:
	case MC_MSG_TERM_RESIZE:
	case MC_MSG_TERM_CLOSE:
	case MC_MSG_TERM_ACK:
	case MC_MSG_TERM_STARTED:
	case MC_MSG_TERM_END:
	case MC_MSG_TERM_INACK:
		if (mc_term_decode(m, &u.term, err, sizeof(err)) == 0)
			mc_term_encode(&b, m->type, &u.term);
		break;
	default:
		break;
	}
	mc_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum mc_dir dirs[2] = { MC_TO_HUB, MC_TO_AGENT };
	const char *code;
	char err[256];
	struct mc_msg m;
	int i;

	for (i = 0; i < 2; i++) {
		if (mc_msg_parse(&m, dirs[i], (const char *)data, size, &code,
		    err, sizeof(err)) == 0) {
			decode_all(&m);
			mc_msg_free(&m);
		}
	}
	return 0;
}
