/*
 * mc_proto_cmd.c - the messages of a command's life: cmd (hub to agent),
 * then started, out, blob and result (agent to hub).
 */
#include <stdio.h>
#include <string.h>

#include "mc_elf.h"
#include "mc_proto.h"
#include "mc_proto_field.h"
#include "mc_util.h"

/* ---- cmd ---- */

static void
release_write(struct mc_jw *w, const struct mc_release *r)
{
	mc_jw_obj(w, "release");
	mc_jw_str(w, "version", r->version);
	mc_jw_str(w, "sha256", r->sha256);
	mc_jw_u64(w, "size", r->size);
	if (r->key[0]) {
		mc_jw_str(w, "key", r->key);
		mc_jw_str(w, "sig", r->sig);
	}
	mc_jw_str(w, "path", r->path);
	mc_jw_obj_end(w);
}

static int
release_read(const struct mc_json *o, struct mc_release *r, char *err,
    size_t errlen)
{
	const struct mc_json *rel = mc_json_get(o, "release");
	int64_t size;

	if (rel == NULL || rel->type != MC_JOBJ) {
		snprintf(err, errlen, "listener_update needs a 'release' "
		    "object");
		return -1;
	}
	if (mc_field_text(rel, "version", r->version, sizeof(r->version), 1,
	    err, errlen) == -1 ||
	    mc_field_text(rel, "sha256", r->sha256, sizeof(r->sha256), 1,
	    err, errlen) == -1 ||
	    mc_field_int(rel, "size", 1, MC_RELEASE_MAX, 0, &size, err,
	    errlen) == -1 ||
	    mc_field_text(rel, "key", r->key, sizeof(r->key), 0, err,
	    errlen) == -1 ||
	    mc_field_text(rel, "sig", r->sig, sizeof(r->sig), 0, err,
	    errlen) == -1 ||
	    mc_field_text(rel, "path", r->path, sizeof(r->path), 1, err,
	    errlen) == -1)
		return -1;
	r->size = (uint64_t)size;
	if (!mc_version_valid(r->version) || strlen(r->sha256) != 64 ||
	    r->path[0] != '/' || size == 0) {
		snprintf(err, errlen, "release: needs a version, a sha256 of "
		    "64 hex digits, a size and a path");
		return -1;
	}
	return 0;
}

int
mc_cmd_encode(struct mc_buf *b, const struct mc_cmd *c)
{
	struct mc_jw w;

	mc_msg_begin(&w, b, MC_MSG_CMD);
	mc_jw_str(&w, "id", c->id);
	mc_jw_str(&w, "kind", mc_kind_name(c->kind));
	if (c->cmd[0])
		mc_jw_str(&w, "cmd", c->cmd);
	if (c->arg[0])
		mc_jw_str(&w, "arg", c->arg);
	if (c->image[0])
		mc_jw_str(&w, "image", c->image);
	if (c->prune)
		mc_jw_bool(&w, "prune", 1);
	mc_jw_dbl(&w, "timeout", c->timeout);
	mc_jw_u64(&w, "cap", c->cap);
	if (c->kind == MC_KIND_LISTENER_UPDATE)
		release_write(&w, &c->rel);
	if (c->sig != NULL)
		mc_sig_write(&w, c->sig);
	return mc_msg_end(&w);
}

int
mc_cmd_decode(const struct mc_msg *m, struct mc_cmd *c, char *err,
    size_t errlen)
{
	const char *kind = mc_json_str(m->root, "kind");
	int64_t cap;

	memset(c, 0, sizeof(*c));
	if (mc_field_id(m->root, c->id, err, errlen) == -1)
		return -1;
	if (mc_kind_parse(kind, &c->kind) == -1) {
		snprintf(err, errlen, "unknown command kind '%.32s'", kind);
		return -1;
	}
	if (mc_field_text(m->root, "cmd", c->cmd, sizeof(c->cmd), 0, err,
	    errlen) == -1 ||
	    mc_field_text(m->root, "arg", c->arg, sizeof(c->arg), 0, err,
	    errlen) == -1 ||
	    mc_field_text(m->root, "image", c->image, sizeof(c->image), 0,
	    err, errlen) == -1 ||
	    mc_field_dbl(m->root, "timeout", 0.01, MC_TIMEOUT_MAX,
	    MC_TIMEOUT_DEFAULT, &c->timeout, err, errlen) == -1 ||
	    mc_field_int(m->root, "cap", 0, MC_OUTPUT_CAP_MAX,
	    MC_OUTPUT_CAP_DEFAULT, &cap, err, errlen) == -1)
		return -1;
	c->cap = (uint64_t)cap;
	if (c->kind == MC_KIND_LISTENER_UPDATE &&
	    release_read(m->root, &c->rel, err, errlen) == -1)
		return -1;
	if (mc_json_get(m->root, "prune") != NULL &&
	    mc_json_bool(m->root, "prune", &c->prune) == -1) {
		snprintf(err, errlen, "field 'prune' must be true or false");
		return -1;
	}
	return 0;
}

/* ---- started ---- */

int
mc_started_encode(struct mc_buf *b, const struct mc_started *s)
{
	struct mc_jw w;

	mc_msg_begin(&w, b, MC_MSG_STARTED);
	mc_jw_str(&w, "id", s->id);
	mc_jw_i64(&w, "pid", s->pid);
	return mc_msg_end(&w);
}

int
mc_started_decode(const struct mc_msg *m, struct mc_started *s, char *err,
    size_t errlen)
{
	int64_t pid;

	memset(s, 0, sizeof(*s));
	if (mc_field_id(m->root, s->id, err, errlen) == -1 ||
	    mc_field_int(m->root, "pid", 0, INT32_MAX, 0, &pid, err, errlen) == -1)
		return -1;
	s->pid = (int)pid;
	return 0;
}

/* ---- out ---- */

int
mc_out_encode(struct mc_buf *b, const struct mc_out *o)
{
	struct mc_jw w;

	mc_msg_begin(&w, b, MC_MSG_OUT);
	mc_jw_str(&w, "id", o->id);
	mc_jw_str(&w, "stream", o->stream == MC_STDERR ? "stderr" : "stdout");
	mc_jw_strn(&w, "data", o->data, o->len);
	if (o->has_at)
		mc_jw_u64(&w, "at", o->at);
	return mc_msg_end(&w);
}

int
mc_out_decode(const struct mc_msg *m, struct mc_out *o, char *err,
    size_t errlen)
{
	const char *stream = mc_json_str(m->root, "stream");
	const struct mc_json *d = mc_json_get(m->root, "data");

	memset(o, 0, sizeof(*o));
	if (mc_field_id(m->root, o->id, err, errlen) == -1)
		return -1;
	if (strcmp(stream, "stdout") == 0)
		o->stream = MC_STDOUT;
	else if (strcmp(stream, "stderr") == 0)
		o->stream = MC_STDERR;
	else {
		snprintf(err, errlen, "stream must be stdout or stderr");
		return -1;
	}
	if (d->len > MC_OUT_CHUNK * 6) {
		snprintf(err, errlen, "output chunk over the limit");
		return -1;
	}
	o->data = d->str;
	o->len = d->len;
	o->has_at = mc_json_get(m->root, "at") != NULL;
	return mc_field_u64(m->root, "at", &o->at, err, errlen);
}

/* ---- result ---- */

int
mc_result_encode(struct mc_buf *b, const struct mc_result *r)
{
	struct mc_jw w;

	mc_msg_begin(&w, b, MC_MSG_RESULT);
	mc_jw_str(&w, "id", r->id);
	mc_jw_str(&w, "status", mc_outcome_name(r->outcome));
	mc_jw_i64(&w, "exit", r->exit_code);
	mc_jw_bool(&w, "truncated", r->truncated);
	mc_jw_u64(&w, "out_bytes", r->out_bytes);
	mc_jw_dbl(&w, "duration", r->duration);
	if (r->error[0])
		mc_jw_str(&w, "error", r->error);
	return mc_msg_end(&w);
}

int
mc_result_decode(const struct mc_msg *m, struct mc_result *r, char *err,
    size_t errlen)
{
	const char *st = mc_json_str(m->root, "status");
	int64_t v;

	memset(r, 0, sizeof(*r));
	if (mc_field_id(m->root, r->id, err, errlen) == -1)
		return -1;
	if (mc_outcome_parse(st, &r->outcome) == -1) {
		snprintf(err, errlen, "status must be done, failed or timeout");
		return -1;
	}
	if (mc_field_int(m->root, "exit", -1, 255 + 128, -1, &v, err,
	    errlen) == -1)
		return -1;
	r->exit_code = (int)v;
	if (mc_json_get(m->root, "truncated") != NULL &&
	    mc_json_bool(m->root, "truncated", &r->truncated) == -1) {
		snprintf(err, errlen, "truncated must be true or false");
		return -1;
	}
	if (mc_field_u64(m->root, "out_bytes", &r->out_bytes, err, errlen) == -1 ||
	    mc_field_dbl(m->root, "duration", 0, 1e9, 0, &r->duration, err,
	    errlen) == -1)
		return -1;
	return mc_field_text(m->root, "error", r->error, sizeof(r->error), 0, err,
	    errlen);
}

/* ---- blob ---- */

int
mc_blob_encode(struct mc_buf *b, const struct mc_blob *blob)
{
	struct mc_jw w;

	mc_msg_begin(&w, b, MC_MSG_BLOB);
	mc_jw_str(&w, "id", blob->id);
	mc_jw_str(&w, "mime", blob->mime);
	mc_jw_u64(&w, "total", blob->total);
	mc_jw_u64(&w, "off", blob->off);
	mc_jw_raw(&w, "data", "\"", 1);
	if (!w.err && mc_b64_encode(b, blob->data, blob->len) == -1)
		w.err = 1;
	if (!w.err && mc_buf_append(b, "\"", 1) == -1)
		w.err = 1;
	return mc_msg_end(&w);
}

int
mc_blob_decode(const struct mc_msg *m, struct mc_blob *b, void *buf,
    char *err, size_t errlen)
{
	const struct mc_json *d = mc_json_get(m->root, "data");
	long n;

	memset(b, 0, sizeof(*b));
	if (mc_field_id(m->root, b->id, err, errlen) == -1 ||
	    mc_field_text(m->root, "mime", b->mime, sizeof(b->mime), 0, err,
	    errlen) == -1 ||
	    mc_field_u64(m->root, "total", &b->total, err, errlen) == -1 ||
	    mc_field_u64(m->root, "off", &b->off, err, errlen) == -1)
		return -1;
	n = mc_b64_decode(d->str, d->len, buf, MC_BLOB_CHUNK);
	if (n < 0) {
		snprintf(err, errlen, "blob: data is not base64 of at most %d "
		    "bytes", MC_BLOB_CHUNK);
		return -1;
	}
	if (b->total > MC_BLOB_MAX || b->off > b->total ||
	    (uint64_t)n > b->total - b->off) {
		snprintf(err, errlen, "blob: piece outside the file (or file "
		    "over %d bytes)", MC_BLOB_MAX);
		return -1;
	}
	b->data = buf;
	b->len = (size_t)n;
	return 0;
}
