/*
 * mc_proto.c - the message table, validation, the field readers every
 * decoder uses, and the session's messages (hello, welcome, hb, ack, bye,
 * error).  Metrics are in mc_metrics.c, command messages in mc_proto_cmd.c.
 *
 * mc_msg_parse() checks shape (required fields and their JSON types, from
 * the table below) before any handler runs; the decoders then check values
 * (ranges, lengths).  Handlers therefore never see a message that lacks a
 * field they need.  Optional fields are listed in docs/protocol.md.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mc_ctr.h"
#include "mc_proto.h"
#include "mc_proto_field.h"
#include "mc_util.h"

struct field {
	const char	*name;
	enum mc_jtype	 type;
};

#define FIELDS_MAX	6

static const struct msg_def {
	const char	*name;
	enum mc_dir	 dir;
	struct field	 req[FIELDS_MAX];
} msg_defs[MC_MSG_COUNT] = {
	[MC_MSG_HELLO] = { "hello", MC_TO_HUB,
	    { { "v", MC_JNUM }, { "name", MC_JSTR } } },
	[MC_MSG_WELCOME] = { "welcome", MC_TO_AGENT,
	    { { "v", MC_JNUM }, { "name", MC_JSTR }, { "hb", MC_JNUM } } },
	[MC_MSG_HB] = { "hb", MC_TO_HUB,
	    { { "seq", MC_JNUM }, { "m", MC_JOBJ } } },
	[MC_MSG_CMD] = { "cmd", MC_TO_AGENT,
	    { { "id", MC_JSTR }, { "kind", MC_JSTR } } },
	[MC_MSG_STARTED] = { "started", MC_TO_HUB,
	    { { "id", MC_JSTR } } },
	[MC_MSG_OUT] = { "out", MC_TO_HUB,
	    { { "id", MC_JSTR }, { "stream", MC_JSTR }, { "data", MC_JSTR } } },
	[MC_MSG_RESULT] = { "result", MC_TO_HUB,
	    { { "id", MC_JSTR }, { "status", MC_JSTR } } },
	[MC_MSG_ACK] = { "ack", MC_TO_AGENT,
	    { { "id", MC_JSTR } } },
	[MC_MSG_BYE] = { "bye", MC_TO_HUB,
	    { { "reason", MC_JSTR } } },
	[MC_MSG_BLOB] = { "blob", MC_TO_HUB,
	    { { "id", MC_JSTR }, { "total", MC_JNUM }, { "off", MC_JNUM },
	    { "data", MC_JSTR } } },
	[MC_MSG_ERROR] = { "error", MC_TO_AGENT,
	    { { "code", MC_JSTR }, { "msg", MC_JSTR } } },
	[MC_MSG_TERM_OPEN] = { "term_open", MC_TO_AGENT,
	    { { "ch", MC_JNUM }, { "cols", MC_JNUM }, { "rows", MC_JNUM } } },
	[MC_MSG_TERM_RESIZE] = { "term_resize", MC_TO_AGENT,
	    { { "ch", MC_JNUM }, { "cols", MC_JNUM }, { "rows", MC_JNUM } } },
	[MC_MSG_TERM_CLOSE] = { "term_close", MC_TO_AGENT,
	    { { "ch", MC_JNUM } } },
	[MC_MSG_TERM_ACK] = { "term_ack", MC_TO_AGENT,
	    { { "ch", MC_JNUM }, { "n", MC_JNUM } } },
	[MC_MSG_TERM_STARTED] = { "term_started", MC_TO_HUB,
	    { { "ch", MC_JNUM } } },
	[MC_MSG_TERM_END] = { "term_end", MC_TO_HUB,
	    { { "ch", MC_JNUM }, { "reason", MC_JSTR } } },
	[MC_MSG_TERM_INACK] = { "term_ack", MC_TO_HUB,
	    { { "ch", MC_JNUM }, { "n", MC_JNUM } } },
};

static const char *const kind_names[MC_KIND_COUNT] = {
	"shell", "docker_ps", "docker_restart", "restart", "stop",
	"screenshot", "metrics", "container_update", "listener_update"
};

static const char *const outcome_names[] = { "done", "failed", "timeout" };

static const char *const jtype_names[] = {
	"null", "boolean", "number", "string", "array", "object"
};

const char *
mc_msg_name(enum mc_msg_type t)
{
	return t < MC_MSG_COUNT ? msg_defs[t].name : "?";
}

int
mc_kind_parse(const char *s, enum mc_kind *out)
{
	int i;

	for (i = 0; i < MC_KIND_COUNT; i++) {
		if (strcmp(s, kind_names[i]) == 0) {
			*out = (enum mc_kind)i;
			return 0;
		}
	}
	return -1;
}

const char *
mc_kind_name(enum mc_kind k)
{
	return k < MC_KIND_COUNT ? kind_names[k] : "?";
}

const char *
mc_outcome_name(enum mc_outcome o)
{
	return o <= MC_TIMEOUT ? outcome_names[o] : "?";
}

int
mc_outcome_parse(const char *s, enum mc_outcome *out)
{
	int i;

	for (i = 0; i <= MC_TIMEOUT; i++) {
		if (strcmp(s, outcome_names[i]) == 0) {
			*out = (enum mc_outcome)i;
			return 0;
		}
	}
	return -1;
}

static int
find_type(const char *t, enum mc_dir dir)
{
	int i;

	for (i = 0; i < MC_MSG_COUNT; i++)
		if (msg_defs[i].dir == dir && strcmp(msg_defs[i].name, t) == 0)
			return i;
	return -1;
}

static int
check_fields(const struct msg_def *d, const struct mc_json *root, char *err,
    size_t errlen)
{
	const struct mc_json *f;
	int i;

	for (i = 0; i < FIELDS_MAX && d->req[i].name != NULL; i++) {
		f = mc_json_get(root, d->req[i].name);
		if (f == NULL) {
			snprintf(err, errlen, "%s: missing field '%s'",
			    d->name, d->req[i].name);
			return -1;
		}
		if (f->type != d->req[i].type) {
			snprintf(err, errlen, "%s: field '%s' must be a %s",
			    d->name, d->req[i].name,
			    jtype_names[d->req[i].type]);
			return -1;
		}
	}
	return 0;
}

int
mc_msg_parse(struct mc_msg *m, enum mc_dir dir, const char *buf, size_t len,
    const char **code, char *err, size_t errlen)
{
	const char *t;
	int type;

	memset(m, 0, sizeof(*m));
	if (len > MC_MSG_MAX) {
		*code = MC_ERR_TOO_LARGE;
		snprintf(err, errlen, "message of %zu bytes is over the %d "
		    "byte limit", len, MC_MSG_MAX);
		return -1;
	}
	if ((m->doc = mc_json_parse(buf, len, err, errlen)) == NULL) {
		*code = MC_ERR_BAD_JSON;
		return -1;
	}
	m->root = mc_json_root(m->doc);
	*code = MC_ERR_BAD_MESSAGE;
	if (m->root->type != MC_JOBJ) {
		snprintf(err, errlen, "a message must be a JSON object");
		goto fail;
	}
	if ((t = mc_json_str(m->root, "t")) == NULL) {
		snprintf(err, errlen, "missing message type \"t\"");
		goto fail;
	}
	if ((type = find_type(t, dir)) == -1) {
		*code = MC_ERR_UNKNOWN_TYPE;
		snprintf(err, errlen, "unknown message type '%.64s'", t);
		goto fail;
	}
	m->type = (enum mc_msg_type)type;
	if (check_fields(&msg_defs[type], m->root, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	mc_msg_free(m);
	return -1;
}

void
mc_msg_free(struct mc_msg *m)
{
	mc_json_free(m->doc);
	m->doc = NULL;
	m->root = NULL;
}

/* ---- value helpers for decoders ---- */

/* Copy an optional string field; a required one was checked by parse. */
int
mc_field_text(const struct mc_json *o, const char *key, char *dst, size_t size,
    int required, char *err, size_t errlen)
{
	const struct mc_json *f = mc_json_get(o, key);

	dst[0] = '\0';
	if (f == NULL || f->type == MC_JNULL) {
		if (!required)
			return 0;
		snprintf(err, errlen, "missing field '%s'", key);
		return -1;
	}
	if (f->type != MC_JSTR) {
		snprintf(err, errlen, "field '%s' must be a string", key);
		return -1;
	}
	if (f->len >= size || strlen(f->str) != f->len) {
		snprintf(err, errlen, "field '%s' is longer than %zu bytes or "
		    "holds a NUL", key, size - 1);
		return -1;
	}
	memcpy(dst, f->str, f->len + 1);
	return 0;
}

int
mc_field_int(const struct mc_json *o, const char *key, int64_t min, int64_t max,
    int64_t def, int64_t *out, char *err, size_t errlen)
{
	if (mc_json_get(o, key) == NULL) {
		*out = def;
		return 0;
	}
	if (mc_json_int(o, key, min, max, out) == -1) {
		snprintf(err, errlen, "field '%s' must be a whole number from "
		    "%lld to %lld", key, (long long)min, (long long)max);
		return -1;
	}
	return 0;
}

int
mc_field_dbl(const struct mc_json *o, const char *key, double min, double max,
    double def, double *out, char *err, size_t errlen)
{
	if (mc_json_get(o, key) == NULL) {
		*out = def;
		return 0;
	}
	if (mc_json_num(o, key, out) == -1 || *out < min || *out > max) {
		snprintf(err, errlen, "field '%s' must be a number from %g to "
		    "%g", key, min, max);
		return -1;
	}
	return 0;
}

void
mc_msg_begin(struct mc_jw *w, struct mc_buf *b, enum mc_msg_type t)
{
	mc_jw_init(w, b);
	mc_jw_obj(w, NULL);
	mc_jw_str(w, "t", mc_msg_name(t));
}

int
mc_msg_end(struct mc_jw *w)
{
	mc_jw_obj_end(w);
	return mc_jw_done(w);
}

int
mc_field_u64(const struct mc_json *o, const char *key, uint64_t *out, char *err,
    size_t errlen)
{
	int64_t v;

	if (mc_field_int(o, key, 0, INT64_MAX / 2, 0, &v, err, errlen) == -1)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int
mc_field_id(const struct mc_json *o, char *id, char *err, size_t errlen)
{
	if (mc_field_text(o, "id", id, MC_ID_MAX, 1, err, errlen) == -1 ||
	    id[0] == '\0') {
		snprintf(err, errlen, "id must be 1-%d bytes", MC_ID_MAX - 1);
		return -1;
	}
	return 0;
}

/* ---- hello ---- */

/* "trust", "require_signed" and "update", each only when set. */
static void
hello_trust_write(struct mc_jw *w, const struct mc_hello *h)
{
	int i;

	if (h->ntrust > 0) {
		mc_jw_arr(w, "trust");
		for (i = 0; i < h->ntrust; i++)
			mc_jw_str(w, NULL, h->trust[i]);
		mc_jw_arr_end(w);
	}
	if (h->require_signed)
		mc_jw_bool(w, "require_signed", 1);
	if (h->update_version[0]) {
		mc_jw_obj(w, "update");
		mc_jw_str(w, "version", h->update_version);
		mc_jw_str(w, "error", h->update_error);
		mc_jw_obj_end(w);
	}
}

static int
hello_trust_read(const struct mc_json *o, struct mc_hello *h, char *err,
    size_t errlen)
{
	const struct mc_json *arr = mc_json_get(o, "trust"), *t;
	const struct mc_json *u = mc_json_get(o, "update");
	struct mc_pubkey k;
	char kerr[128];

	if (arr != NULL && (arr->type != MC_JARR || arr->len > MC_TRUST_MAX)) {
		snprintf(err, errlen, "trust must be an array of at most %d "
		    "key lines", MC_TRUST_MAX);
		return -1;
	}
	for (t = arr != NULL ? arr->child : NULL; t != NULL; t = t->next) {
		if (t->type != MC_JSTR || t->len >= MC_KEYLINE_MAX ||
		    mc_pubkey_parse(t->str, &k, kerr, sizeof(kerr)) == -1) {
			snprintf(err, errlen, "trust: bad key line");
			return -1;
		}
		mc_pubkey_line(&k, h->trust[h->ntrust++], MC_KEYLINE_MAX);
	}
	if (mc_json_get(o, "require_signed") != NULL &&
	    mc_json_bool(o, "require_signed", &h->require_signed) == -1) {
		snprintf(err, errlen, "require_signed must be true or false");
		return -1;
	}
	if (u != NULL && (mc_field_text(u, "version", h->update_version,
	    sizeof(h->update_version), 1, err, errlen) == -1 ||
	    mc_field_text(u, "error", h->update_error,
	    sizeof(h->update_error), 0, err, errlen) == -1))
		return -1;
	return 0;
}

int
mc_hello_encode(struct mc_buf *b, const struct mc_hello *h)
{
	struct mc_jw w;
	int i;

	mc_msg_begin(&w, b, MC_MSG_HELLO);
	mc_jw_i64(&w, "v", h->v);
	mc_jw_str(&w, "name", h->name);
	if (h->cred[0])
		mc_jw_str(&w, "cred", h->cred);
	if (h->enroll_key[0])
		mc_jw_str(&w, "enroll_key", h->enroll_key);
	mc_jw_str(&w, "hostname", h->hostname);
	mc_jw_str(&w, "os", h->os);
	mc_jw_str(&w, "kernel", h->kernel);
	mc_jw_str(&w, "arch", h->arch);
	mc_jw_str(&w, "version", h->version);
	mc_jw_i64(&w, "cpus", h->cpus);
	mc_jw_u64(&w, "mem_total", h->mem_total);
	mc_jw_arr(&w, "tags");
	for (i = 0; i < h->ntags; i++)
		mc_jw_str(&w, NULL, h->tags[i]);
	mc_jw_arr_end(&w);
	if (h->boot[0])
		mc_jw_str(&w, "boot", h->boot);
	mc_jw_arr(&w, "pending");
	for (i = 0; i < h->npending; i++)
		mc_jw_str(&w, NULL, h->pending[i]);
	mc_jw_arr_end(&w);
	mc_jw_arr(&w, "caps");
	if (h->caps & MC_CAP_TERM)
		mc_jw_str(&w, NULL, "term");
	mc_jw_arr_end(&w);
	hello_trust_write(&w, h);
	return mc_msg_end(&w);
}

static int
decode_pending(const struct mc_json *arr, struct mc_hello *h, char *err,
    size_t errlen)
{
	const struct mc_json *t;

	h->npending = 0;
	if (arr == NULL)
		return 0;
	if (arr->type != MC_JARR || arr->len > MC_PENDING_MAX) {
		snprintf(err, errlen, "pending must be an array of at most %d "
		    "command ids", MC_PENDING_MAX);
		return -1;
	}
	for (t = arr->child; t != NULL; t = t->next) {
		if (t->type != MC_JSTR || t->len == 0 || t->len >= MC_ID_MAX ||
		    strlen(t->str) != t->len) {
			snprintf(err, errlen, "pending: bad command id");
			return -1;
		}
		memcpy(h->pending[h->npending++], t->str, t->len + 1);
	}
	return 0;
}

static int
decode_tags(const struct mc_json *arr, struct mc_hello *h, char *err,
    size_t errlen)
{
	const struct mc_json *t;

	h->ntags = 0;
	if (arr == NULL)
		return 0;
	if (arr->type != MC_JARR || arr->len > MC_TAGS_MAX) {
		snprintf(err, errlen, "tags must be an array of at most %d "
		    "strings", MC_TAGS_MAX);
		return -1;
	}
	for (t = arr->child; t != NULL; t = t->next) {
		if (t->type != MC_JSTR || strlen(t->str) != t->len ||
		    !mc_tag_valid(t->str)) {
			snprintf(err, errlen, "bad tag (1-%d bytes, no ',', "
			    "'/' or control characters)", MC_TAG_MAX);
			return -1;
		}
		memcpy(h->tags[h->ntags++], t->str, t->len + 1);
	}
	return 0;
}

/* Capabilities this hub knows; the names of others are ignored, so a
 * newer listener can announce more. */
static int
decode_caps(const struct mc_json *arr, struct mc_hello *h, char *err,
    size_t errlen)
{
	const struct mc_json *c;

	h->caps = 0;
	if (arr == NULL)
		return 0;
	if (arr->type != MC_JARR || arr->len > 32) {
		snprintf(err, errlen, "caps must be an array of at most 32 "
		    "strings");
		return -1;
	}
	for (c = arr->child; c != NULL; c = c->next)
		if (c->type == MC_JSTR && strcmp(c->str, "term") == 0)
			h->caps |= MC_CAP_TERM;
	return 0;
}

int
mc_hello_decode(const struct mc_msg *m, struct mc_hello *h, char *err,
    size_t errlen)
{
	const struct mc_json *o = m->root;
	int64_t v;

	memset(h, 0, sizeof(*h));
	if (mc_field_int(o, "v", 0, 1000000, 0, &v, err, errlen) == -1)
		return -1;
	h->v = (int)v;
	if (mc_field_text(o, "name", h->name, sizeof(h->name), 1, err, errlen) ||
	    !mc_name_valid(h->name)) {
		snprintf(err, errlen, "bad agent name (1-%d bytes, no '/' or "
		    "control characters)", MC_NAME_MAX);
		return -1;
	}
	if (mc_field_text(o, "cred", h->cred, sizeof(h->cred), 0, err, errlen) ||
	    mc_field_text(o, "enroll_key", h->enroll_key, sizeof(h->enroll_key),
	    0, err, errlen) ||
	    mc_field_text(o, "hostname", h->hostname, sizeof(h->hostname), 0, err,
	    errlen) ||
	    mc_field_text(o, "os", h->os, sizeof(h->os), 0, err, errlen) ||
	    mc_field_text(o, "kernel", h->kernel, sizeof(h->kernel), 0, err,
	    errlen) ||
	    mc_field_text(o, "arch", h->arch, sizeof(h->arch), 0, err, errlen) ||
	    mc_field_text(o, "version", h->version, sizeof(h->version), 0, err,
	    errlen))
		return -1;
	if (mc_field_int(o, "cpus", 0, 1 << 20, 0, &v, err, errlen) == -1)
		return -1;
	h->cpus = (int)v;
	if (mc_field_int(o, "mem_total", 0, INT64_MAX / 2, 0, &v, err,
	    errlen) == -1)
		return -1;
	h->mem_total = (uint64_t)v;
	if (mc_field_text(o, "boot", h->boot, sizeof(h->boot), 0, err,
	    errlen) == -1 ||
	    decode_pending(mc_json_get(o, "pending"), h, err, errlen) == -1 ||
	    decode_caps(mc_json_get(o, "caps"), h, err, errlen) == -1 ||
	    hello_trust_read(o, h, err, errlen) == -1)
		return -1;
	return decode_tags(mc_json_get(o, "tags"), h, err, errlen);
}

/* ---- welcome ---- */

int
mc_welcome_encode(struct mc_buf *b, const struct mc_welcome *w)
{
	struct mc_jw j;

	mc_msg_begin(&j, b, MC_MSG_WELCOME);
	mc_jw_i64(&j, "v", w->v);
	mc_jw_str(&j, "name", w->name);
	mc_jw_dbl(&j, "hb", w->hb);
	if (w->cred[0])
		mc_jw_str(&j, "cred", w->cred);
	if (w->out_at)
		mc_jw_bool(&j, "out_at", 1);
	return mc_msg_end(&j);
}

int
mc_welcome_decode(const struct mc_msg *m, struct mc_welcome *w, char *err,
    size_t errlen)
{
	int64_t v;

	memset(w, 0, sizeof(*w));
	if (mc_field_int(m->root, "v", 0, 1000000, 0, &v, err, errlen) == -1 ||
	    mc_field_text(m->root, "name", w->name, sizeof(w->name), 1, err,
	    errlen) == -1 ||
	    mc_field_dbl(m->root, "hb", 0.01, 86400, 10, &w->hb, err,
	    errlen) == -1 ||
	    mc_field_text(m->root, "cred", w->cred, sizeof(w->cred), 0, err,
	    errlen) == -1)
		return -1;
	w->v = (int)v;
	/* absent (an older hub) or not true: output is only appended */
	if (mc_json_bool(m->root, "out_at", &w->out_at) == -1)
		w->out_at = 0;
	return 0;
}

/* ---- hb ---- */

int
mc_hb_encode(struct mc_buf *b, const struct mc_hb *hb)
{
	struct mc_jw w;

	mc_msg_begin(&w, b, MC_MSG_HB);
	mc_jw_u64(&w, "seq", hb->seq);
	mc_metrics_write(&w, "m", &hb->m);
	if (hb->ctr != NULL)
		mc_ctr_part_write(&w, hb->ctr);
	return mc_msg_end(&w);
}

int
mc_hb_decode(const struct mc_msg *m, struct mc_hb *hb, char *err,
    size_t errlen)
{
	/* no memset: 17 KiB at every heartbeat, and mc_metrics_read sets
	 * what it leaves valid */
	hb->ctr = NULL;
	if (mc_field_u64(m->root, "seq", &hb->seq, err, errlen) == -1)
		return -1;
	return mc_metrics_read(mc_json_get(m->root, "m"), &hb->m, err, errlen);
}

/* ---- ack, bye, error ---- */

int
mc_ack_encode(struct mc_buf *b, const struct mc_ack *a)
{
	struct mc_jw w;

	mc_msg_begin(&w, b, MC_MSG_ACK);
	mc_jw_str(&w, "id", a->id);
	return mc_msg_end(&w);
}

int
mc_ack_decode(const struct mc_msg *m, struct mc_ack *a, char *err,
    size_t errlen)
{
	memset(a, 0, sizeof(*a));
	return mc_field_id(m->root, a->id, err, errlen);
}

int
mc_bye_encode(struct mc_buf *b, const struct mc_bye *bye)
{
	struct mc_jw w;

	mc_msg_begin(&w, b, MC_MSG_BYE);
	mc_jw_str(&w, "reason", bye->reason);
	return mc_msg_end(&w);
}

int
mc_bye_decode(const struct mc_msg *m, struct mc_bye *b, char *err,
    size_t errlen)
{
	memset(b, 0, sizeof(*b));
	return mc_field_text(m->root, "reason", b->reason, sizeof(b->reason), 1,
	    err, errlen);
}

int
mc_error_encode(struct mc_buf *b, const struct mc_error *e)
{
	struct mc_jw w;

	mc_msg_begin(&w, b, MC_MSG_ERROR);
	mc_jw_str(&w, "code", e->code);
	mc_jw_str(&w, "msg", e->msg);
	if (e->warning)
		mc_jw_bool(&w, "fatal", 0);
	return mc_msg_end(&w);
}

int
mc_error_decode(const struct mc_msg *m, struct mc_error *e, char *err,
    size_t errlen)
{
	int fatal;

	memset(e, 0, sizeof(*e));
	if (mc_field_text(m->root, "code", e->code, sizeof(e->code), 1, err,
	    errlen) == -1)
		return -1;
	/* a long message from a newer hub is cut, not refused */
	mc_strlcpy(e->msg, mc_json_str(m->root, "msg"), sizeof(e->msg));
	if (mc_json_bool(m->root, "fatal", &fatal) == 0)
		e->warning = !fatal;
	return 0;
}
