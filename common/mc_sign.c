/*
 * mc_sign.c - Ed25519 keys and signatures (OpenSSL EVP), the signed
 * command's payload, and the text a release's signature covers.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "mc_proto.h"
#include "mc_proto_field.h"
#include "mc_sign.h"
#include "mc_util.h"

#define KEY_PREFIX	"ed25519:"

/* Decode exactly want bytes of base64 text: 0 or -1. */
static int
b64_exact(const char *text, void *out, size_t want)
{
	unsigned char tmp[MC_SIG_RAW + 3];
	size_t n = strlen(text);
	long got;

	if (want > MC_SIG_RAW)
		return -1;
	got = mc_b64_decode(text, n, tmp, sizeof(tmp));
	if (got != (long)want)
		return -1;
	memcpy(out, tmp, want);
	return 0;
}

int
mc_pubkey_parse(const char *line, struct mc_pubkey *k, char *err,
    size_t errlen)
{
	const char *p = line, *end;
	size_t n;

	memset(k, 0, sizeof(*k));
	while (isspace((unsigned char)*p))
		p++;
	if (strncmp(p, KEY_PREFIX, strlen(KEY_PREFIX)) != 0) {
		snprintf(err, errlen, "a key is written ed25519:BASE64 NAME "
		    "(as 'hubctl key create' prints it)");
		return -1;
	}
	p += strlen(KEY_PREFIX);
	end = p + strcspn(p, " \t");
	n = (size_t)(end - p);
	if (n >= sizeof(k->b64)) {
		snprintf(err, errlen, "the key is not a 32-byte Ed25519 key");
		return -1;
	}
	memcpy(k->b64, p, n);
	k->b64[n] = '\0';
	if (b64_exact(k->b64, k->raw, MC_KEY_RAW) == -1) {
		snprintf(err, errlen, "the key is not a 32-byte Ed25519 key "
		    "in base64");
		return -1;
	}
	while (*end == ' ' || *end == '\t')
		end++;
	n = strcspn(end, " \t\r\n");
	if (n > 0 && (n > MC_NAME_MAX || end[n] != '\0' ||
	    (memcpy(k->name, end, n), k->name[n] = '\0',
	    !mc_name_valid(k->name)))) {
		snprintf(err, errlen, "the key's name must be one word of "
		    "letters, digits, '.', '_' or '-' (at most %d)",
		    MC_NAME_MAX);
		return -1;
	}
	return 0;
}

void
mc_pubkey_line(const struct mc_pubkey *k, char *out, size_t size)
{
	snprintf(out, size, KEY_PREFIX "%s%s%s", k->b64,
	    k->name[0] ? " " : "", k->name);
}

int
mc_ed25519_verify(const unsigned char pub[MC_KEY_RAW], const char *domain,
    const void *msg, size_t len, const unsigned char sig[MC_SIG_RAW])
{
	size_t dlen = strlen(domain);
	EVP_PKEY *pk;
	EVP_MD_CTX *ctx = NULL;
	unsigned char *all;
	int ok = 0;

	/* Ed25519 signs in one pass: the domain line and the text as one
	 * buffer (owned here) */
	if ((all = malloc(dlen + len + 1)) == NULL)
		return -1;
	memcpy(all, domain, dlen);
	memcpy(all + dlen, msg, len);
	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	    MC_KEY_RAW);
	if (pk != NULL && (ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1)
		ok = EVP_DigestVerify(ctx, sig, MC_SIG_RAW, all,
		    dlen + len) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	free(all);
	return ok ? 0 : -1;
}

int
mc_sig_verify(const struct mc_sig *s, const char *domain,
    const struct mc_pubkey *trust, int ntrust,
    const struct mc_pubkey **by, char *err, size_t errlen)
{
	unsigned char sig[MC_SIG_RAW];
	int i;

	*by = NULL;
	for (i = 0; i < ntrust; i++)
		if (strcmp(trust[i].b64, s->key) == 0)
			break;
	if (i == ntrust) {
		snprintf(err, errlen, "bad signature: signed by a key this "
		    "agent does not trust (ed25519:%.44s)", s->key);
		return -1;
	}
	if (b64_exact(s->sig, sig, sizeof(sig)) == -1 ||
	    mc_ed25519_verify(trust[i].raw, domain, s->payload, s->len,
	    sig) == -1) {
		snprintf(err, errlen, "bad signature: it does not match the "
		    "command (key %s)", trust[i].name[0] ? trust[i].name :
		    trust[i].b64);
		return -1;
	}
	*by = &trust[i];
	return 0;
}

int
mc_sigcmd_write(struct mc_buf *b, const struct mc_sigcmd *s)
{
	struct mc_jw w;

	mc_jw_init(&w, b);
	mc_jw_obj(&w, NULL);
	mc_jw_i64(&w, "v", MC_SIG_V);
	mc_jw_str(&w, "agent", s->agent);
	mc_jw_str(&w, "kind", s->kind);
	mc_jw_str(&w, "id", s->nonce);
	mc_jw_i64(&w, "iat", s->iat);
	mc_jw_i64(&w, "exp", s->exp);
	if (s->cmd[0])
		mc_jw_str(&w, "cmd", s->cmd);
	if (s->arg[0])
		mc_jw_str(&w, "arg", s->arg);
	if (s->image[0])
		mc_jw_str(&w, "image", s->image);
	if (s->prune)
		mc_jw_bool(&w, "prune", 1);
	if (s->timeout > 0)
		mc_jw_dbl(&w, "timeout", s->timeout);
	mc_jw_obj_end(&w);
	return mc_jw_done(&w);
}

static int
sigcmd_fields(const struct mc_json *o, struct mc_sigcmd *s, char *err,
    size_t errlen)
{
	enum mc_kind k;
	int64_t v;

	if (mc_field_int(o, "v", MC_SIG_V, MC_SIG_V, 0, &v, err,
	    errlen) == -1 ||
	    mc_field_text(o, "agent", s->agent, sizeof(s->agent), 1, err,
	    errlen) == -1 ||
	    mc_field_text(o, "kind", s->kind, sizeof(s->kind), 1, err,
	    errlen) == -1 ||
	    mc_field_text(o, "id", s->nonce, sizeof(s->nonce), 1, err,
	    errlen) == -1 ||
	    mc_field_int(o, "iat", 0, INT64_MAX / 2, -1, &s->iat, err,
	    errlen) == -1 ||
	    mc_field_int(o, "exp", 0, INT64_MAX / 2, -1, &s->exp, err,
	    errlen) == -1 ||
	    mc_field_text(o, "cmd", s->cmd, sizeof(s->cmd), 0, err,
	    errlen) == -1 ||
	    mc_field_text(o, "arg", s->arg, sizeof(s->arg), 0, err,
	    errlen) == -1 ||
	    mc_field_text(o, "image", s->image, sizeof(s->image), 0, err,
	    errlen) == -1 ||
	    mc_field_dbl(o, "timeout", 0.01, MC_TIMEOUT_MAX, 0, &s->timeout,
	    err, errlen) == -1)
		return -1;
	if (mc_json_get(o, "prune") != NULL &&
	    mc_json_bool(o, "prune", &s->prune) == -1) {
		snprintf(err, errlen, "field 'prune' must be true or false");
		return -1;
	}
	if (strcmp(s->kind, MC_SIG_KIND_TERMINAL) != 0 &&
	    mc_kind_parse(s->kind, &k) == -1) {
		snprintf(err, errlen, "unknown kind '%s'", s->kind);
		return -1;
	}
	return 0;
}

int
mc_sigcmd_read(const char *text, size_t len, struct mc_sigcmd *s,
    char *err, size_t errlen)
{
	struct mc_jdoc *d;
	const struct mc_json *o;
	char jerr[128];
	int r = -1;

	memset(s, 0, sizeof(*s));
	if ((d = mc_json_parse(text, len, jerr, sizeof(jerr))) == NULL) {
		snprintf(err, errlen, "signed payload: %s", jerr);
		return -1;
	}
	o = mc_json_root(d);
	if (o->type != MC_JOBJ)
		snprintf(err, errlen, "signed payload: not a JSON object");
	else if (sigcmd_fields(o, s, jerr, sizeof(jerr)) == -1)
		snprintf(err, errlen, "signed payload: %s", jerr);
	else if (s->iat < 0 || s->exp < 0)
		snprintf(err, errlen, "signed payload: needs iat and exp");
	else if (s->exp <= s->iat || s->exp - s->iat > MC_SIG_WINDOW)
		snprintf(err, errlen, "signed payload: exp must come after "
		    "iat, at most %d s", MC_SIG_WINDOW);
	else if (!mc_name_valid(s->agent) || s->nonce[0] == '\0')
		snprintf(err, errlen, "signed payload: needs an agent name "
		    "and an id");
	else
		r = 0;
	mc_json_free(d);
	return r;
}

int
mc_sigcmd_current(const struct mc_sigcmd *s, int64_t now, char *err,
    size_t errlen)
{
	if (now >= s->exp) {
		snprintf(err, errlen, "expired: the signature was valid until "
		    "%" PRId64 " s ago", now - s->exp);
		return -1;
	}
	if (s->iat > now + MC_SIG_SKEW) {
		snprintf(err, errlen, "issued in the future (%" PRId64 " s "
		    "ahead of this agent's clock)", s->iat - now);
		return -1;
	}
	return 0;
}

void
mc_sig_write(struct mc_jw *w, const struct mc_sig *s)
{
	mc_jw_obj(w, "signed");
	mc_jw_strn(w, "payload", s->payload, s->len);
	mc_jw_str(w, "key", s->key);
	mc_jw_str(w, "sig", s->sig);
	mc_jw_obj_end(w);
}

int
mc_sig_read(const struct mc_json *o, struct mc_sig *s, char *err,
    size_t errlen)
{
	const struct mc_json *env = mc_json_get(o, "signed");
	const struct mc_json *p;

	memset(s, 0, sizeof(*s));
	if (env == NULL || env->type == MC_JNULL)
		return 0;
	p = mc_json_get(env, "payload");
	if (env->type != MC_JOBJ || p == NULL || p->type != MC_JSTR ||
	    p->len == 0 || p->len >= sizeof(s->payload)) {
		snprintf(err, errlen, "field 'signed' must be {\"payload\": "
		    "TEXT (under %d bytes), \"key\", \"sig\"}",
		    MC_SIG_PAYLOAD_MAX);
		return -1;
	}
	memcpy(s->payload, p->str, p->len);
	s->payload[p->len] = '\0';
	s->len = p->len;
	if (mc_field_text(env, "key", s->key, sizeof(s->key), 1, err,
	    errlen) == -1 ||
	    mc_field_text(env, "sig", s->sig, sizeof(s->sig), 1, err,
	    errlen) == -1)
		return -1;
	return 1;
}

int
mc_release_msg(char *out, size_t size, const char *version,
    const char *sha256hex, uint64_t bytes)
{
	int n = snprintf(out, size, "%s\n%s\n%" PRIu64 "\n", version,
	    sha256hex, bytes);

	return n < 0 || (size_t)n >= size ? -1 : n;
}
