/*
 * mc_proto_term.c - terminal sessions' messages: the term_* control
 * messages and the binary data frame (mc_term.h says how they fit).
 */
#include <stdio.h>
#include <string.h>

#include "mc_proto_field.h"
#include "mc_term.h"
#include "mc_util.h"

static const char *const reason_names[MC_TERM_REASON_COUNT] = {
	"exit", "closed", "idle", "refused", "failed"
};

const char *
mc_term_reason_name(enum mc_term_reason r)
{
	return r < MC_TERM_REASON_COUNT ? reason_names[r] : "?";
}

static int
reason_parse(const char *s, enum mc_term_reason *out)
{
	int i;

	for (i = 0; i < MC_TERM_REASON_COUNT; i++) {
		if (strcmp(s, reason_names[i]) == 0) {
			*out = (enum mc_term_reason)i;
			return 0;
		}
	}
	return -1;
}

int
mc_term_encode(struct mc_buf *b, enum mc_msg_type t, const struct mc_term *m)
{
	struct mc_jw w;

	mc_msg_begin(&w, b, t);
	mc_jw_u64(&w, "ch", m->ch);
	switch (t) {
	case MC_MSG_TERM_OPEN:
		if (m->sid[0])
			mc_jw_str(&w, "sid", m->sid);
		if (m->sig != NULL)
			mc_sig_write(&w, m->sig);
		/* FALLTHROUGH */
	case MC_MSG_TERM_RESIZE:
		mc_jw_i64(&w, "cols", m->cols);
		mc_jw_i64(&w, "rows", m->rows);
		break;
	case MC_MSG_TERM_ACK:
	case MC_MSG_TERM_INACK:
		mc_jw_u64(&w, "n", m->n);
		break;
	case MC_MSG_TERM_STARTED:
		mc_jw_i64(&w, "pid", m->pid);
		break;
	case MC_MSG_TERM_END:
		mc_jw_str(&w, "reason", mc_term_reason_name(m->reason));
		if (m->reason == MC_TERM_EXIT)
			mc_jw_i64(&w, "exit", m->exit_code);
		if (m->error[0])
			mc_jw_str(&w, "error", m->error);
		break;
	default:
		break;
	}
	return mc_msg_end(&w);
}

static int
decode_size(const struct mc_json *o, struct mc_term *m, char *err,
    size_t errlen)
{
	int64_t v;

	if (mc_field_int(o, "cols", 1, MC_TERM_DIM_MAX, 80, &v, err,
	    errlen) == -1)
		return -1;
	m->cols = (int)v;
	if (mc_field_int(o, "rows", 1, MC_TERM_DIM_MAX, 24, &v, err,
	    errlen) == -1)
		return -1;
	m->rows = (int)v;
	return 0;
}

static int
decode_end(const struct mc_json *o, struct mc_term *m, char *err,
    size_t errlen)
{
	const char *reason = mc_json_str(o, "reason");
	int64_t v;

	if (reason_parse(reason, &m->reason) == -1) {
		snprintf(err, errlen, "unknown term_end reason '%.32s'", reason);
		return -1;
	}
	if (mc_field_int(o, "exit", -1, 383, -1, &v, err, errlen) == -1)
		return -1;
	m->exit_code = (int)v;
	return mc_field_text(o, "error", m->error, sizeof(m->error), 0, err,
	    errlen);
}

int
mc_term_decode(const struct mc_msg *msg, struct mc_term *m, char *err,
    size_t errlen)
{
	const struct mc_json *o = msg->root;
	int64_t v;

	memset(m, 0, sizeof(*m));
	if (mc_field_int(o, "ch", 1, MC_TERM_CH_MAX, 0, &v, err, errlen) == -1)
		return -1;
	m->ch = (uint32_t)v;
	switch (msg->type) {
	case MC_MSG_TERM_OPEN:
		if (mc_field_text(o, "sid", m->sid, sizeof(m->sid), 0, err,
		    errlen) == -1)
			return -1;
		/* FALLTHROUGH */
	case MC_MSG_TERM_RESIZE:
		return decode_size(o, m, err, errlen);
	case MC_MSG_TERM_ACK:
	case MC_MSG_TERM_INACK:
		if (mc_field_int(o, "n", 0, MC_TERM_WINDOW, 0, &v, err,
		    errlen) == -1)
			return -1;
		m->n = (uint64_t)v;
		return 0;
	case MC_MSG_TERM_STARTED:
		if (mc_field_int(o, "pid", 0, INT32_MAX, 0, &v, err,
		    errlen) == -1)
			return -1;
		m->pid = (int)v;
		return 0;
	case MC_MSG_TERM_END:
		return decode_end(o, m, err, errlen);
	case MC_MSG_TERM_CLOSE:
		return 0;
	default:
		snprintf(err, errlen, "not a terminal message");
		return -1;
	}
}

void
mc_term_frame(unsigned char hdr[MC_TERM_HDR], uint32_t ch)
{
	hdr[0] = MC_TERM_DATA;
	hdr[1] = (unsigned char)(ch >> 24);
	hdr[2] = (unsigned char)(ch >> 16);
	hdr[3] = (unsigned char)(ch >> 8);
	hdr[4] = (unsigned char)ch;
}

int
mc_term_unframe(const unsigned char *p, size_t len, uint32_t *ch,
    const unsigned char **data, size_t *dlen)
{
	if (len < MC_TERM_HDR || len > MC_TERM_HDR + MC_TERM_CHUNK ||
	    p[0] != MC_TERM_DATA)
		return -1;
	*ch = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 8 | (uint32_t)p[4];
	if (*ch == 0 || *ch > MC_TERM_CH_MAX)
		return -1;
	*data = p + MC_TERM_HDR;
	*dlen = len - MC_TERM_HDR;
	return 0;
}
