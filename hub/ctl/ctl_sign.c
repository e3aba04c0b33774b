/*
 * ctl_sign.c - signing a command or a terminal session with the
 * operator's key (ctl_key.c), as docs/protocol.md "Signed commands" says.
 *
 * The payload is written once (mc_sigcmd_write) and its exact text is
 * both what the signature covers, after the domain line, and what
 * travels: the hub relays it verbatim and the listener runs what it
 * says.  Each payload gets its own random nonce and is valid for
 * MC_SIG_WINDOW seconds from now, so a command queued on the hub must be
 * run within that time (ctl_send_args.c refuses a longer --queue).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl_key.h"
#include "mc_util.h"

/* 16 random bytes as hex: the listener runs each nonce once. */
#define NONCE_BYTES	16

int
ctl_sign_raw(const struct ctl_key *k, const char *domain, const void *text,
    size_t len, unsigned char sig[MC_SIG_RAW])
{
	size_t dl = strlen(domain), slen = MC_SIG_RAW;
	EVP_MD_CTX *ctx = NULL;
	struct mc_buf msg;
	int ret = -1;

	/* Ed25519 signs in one pass: the domain line and the text as one
	 * buffer (owned here) */
	mc_buf_init(&msg, dl + len);
	if (mc_buf_append(&msg, domain, dl) == 0 &&
	    mc_buf_append(&msg, text, len) == 0 &&
	    (ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pk) == 1 &&
	    EVP_DigestSign(ctx, sig, &slen, (unsigned char *)msg.data,
	    msg.len) == 1 && slen == MC_SIG_RAW)
		ret = 0;
	else
		fprintf(stderr, "hubctl: OpenSSL cannot sign with key %s\n",
		    k->path);
	EVP_MD_CTX_free(ctx);
	mc_buf_free(&msg);
	return ret;
}

int
ctl_sign_make(const struct ctl_key *k, struct mc_sigcmd *s,
    struct mc_sig *out)
{
	char hex[2 * NONCE_BYTES + 1];
	unsigned char sig[MC_SIG_RAW];
	struct mc_buf payload, b64;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (mc_random_hex(hex, NONCE_BYTES) == -1) {
		fprintf(stderr, "hubctl: no randomness for a nonce\n");
		return -1;
	}
	snprintf(s->nonce, sizeof(s->nonce), "n-%s", hex);
	s->iat = (int64_t)time(NULL);
	s->exp = s->iat + MC_SIG_WINDOW;
	mc_buf_init(&payload, sizeof(out->payload) - 1);
	mc_buf_init(&b64, MC_SIG_B64);
	if (mc_sigcmd_write(&payload, s) == -1) {
		fprintf(stderr, "hubctl: the command is too long to sign (at "
		    "most %d bytes of payload)\n", MC_SIG_PAYLOAD_MAX - 1);
		goto done;
	}
	if (ctl_sign_raw(k, MC_SIG_DOMAIN_CMD, payload.data, payload.len,
	    sig) == -1 || mc_b64_encode(&b64, sig, sizeof(sig)) == -1)
		goto done;
	memcpy(out->payload, payload.data, payload.len);
	out->len = payload.len;
	out->payload[out->len] = '\0';
	mc_strlcpy(out->key, k->pub.b64, sizeof(out->key));
	mc_strlcpy(out->sig, b64.data, sizeof(out->sig));
	ret = 0;
done:
	mc_buf_free(&payload);
	mc_buf_free(&b64);
	return ret;
}

int
ctl_sign_send(const struct ctl_key *k, const struct ctl_send *q,
    const char *agent, struct mc_sig *out)
{
	static struct mc_sigcmd s;	/* large; hubctl is one thread */

	memset(&s, 0, sizeof(s));
	if (mc_strlcpy(s.agent, agent, sizeof(s.agent)) == -1) {
		fprintf(stderr, "hubctl: agent name too long to sign for\n");
		return -1;
	}
	mc_strlcpy(s.kind, mc_kind_name(q->kind), sizeof(s.kind));
	if (q->kind == MC_KIND_SHELL && (q->cmd.len >= sizeof(s.cmd) ||
	    mc_strlcpy(s.cmd, q->cmd.data ? q->cmd.data : "",
	    sizeof(s.cmd)) == -1)) {
		fprintf(stderr, "hubctl: the command line is too long to "
		    "sign\n");
		return -1;
	}
	if (q->arg != NULL && mc_strlcpy(s.arg, q->arg, sizeof(s.arg)) == -1) {
		fprintf(stderr, "hubctl: the argument is too long to sign\n");
		return -1;
	}
	s.timeout = q->timeout;
	return ctl_sign_make(k, &s, out);
}

void
ctl_sign_hint(const char *error)
{
	static int said;

	if (said || error == NULL || strncmp(error, "unsigned", 8) != 0)
		return;
	said = 1;
	fprintf(stderr, "hubctl: this agent requires signed commands: create "
	    "a key with `hubctl key create` and add its public line to the "
	    "agent's trust, then sign with --key NAME (or key = NAME in "
	    "hubctl.conf)\n");
}
