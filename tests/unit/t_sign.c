/*
 * t_sign.c - operator keys and signatures (mc_sign.h), the signed parts of
 * the protocol, and what a listener release must be (mc_elf.h).  Keys are
 * real Ed25519 keys made here with OpenSSL.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "mc_elf.h"
#include "mc_proto.h"
#include "mc_sign.h"
#include "mc_term.h"
#include "mc_util.h"
#include "unit.h"

/* A fresh key pair: the private key (owned by the caller) and its
 * public half as a mc_pubkey named name.  A failure ends the test. */
static EVP_PKEY *
key_make(const char *name, struct mc_pubkey *pub)
{
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *k = NULL;
	size_t n = MC_KEY_RAW;
	struct mc_buf b;

	memset(pub, 0, sizeof(*pub));
	if (kc == NULL || EVP_PKEY_keygen_init(kc) != 1 ||
	    EVP_PKEY_keygen(kc, &k) != 1 ||
	    EVP_PKEY_get_raw_public_key(k, pub->raw, &n) != 1) {
		unit_fail(__FILE__, __LINE__, "Ed25519 key generation");
		exit(1);
	}
	EVP_PKEY_CTX_free(kc);
	mc_buf_init(&b, 64);
	if (mc_b64_encode(&b, pub->raw, n) == 0 && b.len < sizeof(pub->b64))
		memcpy(pub->b64, b.data, b.len);
	mc_buf_free(&b);
	mc_strlcpy(pub->name, name, sizeof(pub->name));
	return k;
}

/* Sign domain + s->payload with k into s->sig, naming pub as the key. */
static void
sign_with(EVP_PKEY *k, const struct mc_pubkey *pub, const char *domain,
    struct mc_sig *s)
{
	unsigned char sig[MC_SIG_RAW], msg[MC_SIG_PAYLOAD_MAX + 64];
	size_t slen = sizeof(sig), dl = strlen(domain);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	struct mc_buf b;

	memcpy(msg, domain, dl);
	memcpy(msg + dl, s->payload, s->len);
	REQUIRE(ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) ==
	    1 && EVP_DigestSign(ctx, sig, &slen, msg, dl + s->len) == 1);
	EVP_MD_CTX_free(ctx);
	mc_buf_init(&b, 128);
	REQUIRE(mc_b64_encode(&b, sig, slen) == 0 && b.len < sizeof(s->sig));
	memcpy(s->sig, b.data, b.len);
	s->sig[b.len] = '\0';
	mc_buf_free(&b);
	mc_strlcpy(s->key, pub->b64, sizeof(s->key));
}

static void
payload_set(struct mc_sig *s, const struct mc_sigcmd *c)
{
	struct mc_buf b;

	mc_buf_init(&b, sizeof(s->payload) - 1);
	REQUIRE(mc_sigcmd_write(&b, c) == 0);
	memcpy(s->payload, b.data, b.len);
	s->payload[b.len] = '\0';
	s->len = b.len;
	mc_buf_free(&b);
}

static void
sigcmd_fill(struct mc_sigcmd *c, const char *agent, const char *kind,
    const char *line)
{
	memset(c, 0, sizeof(*c));
	mc_strlcpy(c->agent, agent, sizeof(c->agent));
	mc_strlcpy(c->kind, kind, sizeof(c->kind));
	mc_strlcpy(c->nonce, "n-0123456789abcdef", sizeof(c->nonce));
	mc_strlcpy(c->cmd, line, sizeof(c->cmd));
	c->iat = 1700000000;
	c->exp = c->iat + MC_SIG_WINDOW;
	c->timeout = 30;
}

void
t_sign_keyline(void)
{
	struct mc_pubkey k, again;
	char line[MC_KEYLINE_MAX], err[128];
	EVP_PKEY *pk = key_make("alice", &k);

	mc_pubkey_line(&k, line, sizeof(line));
	CHECK_PREFIX(line, "ed25519:");
	CHECK(strstr(line, " alice") != NULL);
	REQUIRE(mc_pubkey_parse(line, &again, err, sizeof(err)) == 0);
	CHECK_EQ_MEM(again.raw, sizeof(again.raw), k.raw, sizeof(k.raw));
	CHECK_EQ_STR(again.name, "alice");
	/* no name is fine; blanks around it too */
	snprintf(line, sizeof(line), "  ed25519:%s\t", k.b64);
	CHECK(mc_pubkey_parse(line, &again, err, sizeof(err)) == 0);
	CHECK_EQ_STR(again.name, "");
	CHECK(mc_pubkey_parse("rsa:AAAA bob", &again, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "ed25519:BASE64");
	CHECK(mc_pubkey_parse("ed25519:AAAA bob", &again, err,
	    sizeof(err)) == -1);
	CHECK_CONTAINS(err, "32-byte");
	snprintf(line, sizeof(line), "ed25519:%s two words", k.b64);
	CHECK(mc_pubkey_parse(line, &again, err, sizeof(err)) == -1);
	snprintf(line, sizeof(line), "ed25519:%s a/b", k.b64);
	CHECK(mc_pubkey_parse(line, &again, err, sizeof(err)) == -1);
	EVP_PKEY_free(pk);
}

void
t_sign_verify(void)
{
	static struct mc_sig s;
	struct mc_pubkey trust[2], other;
	const struct mc_pubkey *by;
	struct mc_sigcmd c;
	EVP_PKEY *k1 = key_make("ops", &trust[0]);
	EVP_PKEY *k2 = key_make("backup", &trust[1]);
	EVP_PKEY *k3 = key_make("mallory", &other);
	char err[256];

	sigcmd_fill(&c, "pc-gpu", "shell", "nvidia-smi");
	payload_set(&s, &c);
	sign_with(k2, &trust[1], MC_SIG_DOMAIN_CMD, &s);
	REQUIRE(mc_sig_verify(&s, MC_SIG_DOMAIN_CMD, trust, 2, &by, err,
	    sizeof(err)) == 0);
	CHECK_EQ_STR(by->name, "backup");
	/* the same signature under another domain is no signature */
	CHECK(mc_sig_verify(&s, MC_SIG_DOMAIN_RELEASE, trust, 2, &by, err,
	    sizeof(err)) == -1);
	CHECK_CONTAINS(err, "bad signature");
	/* one byte of the payload changed */
	s.payload[s.len - 3] ^= 1;
	CHECK(mc_sig_verify(&s, MC_SIG_DOMAIN_CMD, trust, 2, &by, err,
	    sizeof(err)) == -1);
	CHECK_CONTAINS(err, "does not match");
	s.payload[s.len - 3] ^= 1;
	/* a key nobody trusts, and a trusted key's name on its signature */
	sign_with(k3, &other, MC_SIG_DOMAIN_CMD, &s);
	CHECK(mc_sig_verify(&s, MC_SIG_DOMAIN_CMD, trust, 2, &by, err,
	    sizeof(err)) == -1);
	CHECK_CONTAINS(err, "does not trust");
	mc_strlcpy(s.key, trust[0].b64, sizeof(s.key));
	CHECK(mc_sig_verify(&s, MC_SIG_DOMAIN_CMD, trust, 2, &by, err,
	    sizeof(err)) == -1);
	/* garbage where the signature goes */
	sign_with(k1, &trust[0], MC_SIG_DOMAIN_CMD, &s);
	mc_strlcpy(s.sig, "AAAA", sizeof(s.sig));
	CHECK(mc_sig_verify(&s, MC_SIG_DOMAIN_CMD, trust, 2, &by, err,
	    sizeof(err)) == -1);
	CHECK(mc_sig_verify(&s, MC_SIG_DOMAIN_CMD, trust, 0, &by, err,
	    sizeof(err)) == -1);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
}

void
t_sign_payload(void)
{
	static struct mc_sig s;
	static struct mc_sigcmd c, d;
	static const char *const bad[] = {
		"[]", "{", "{\"v\":2,\"agent\":\"a\",\"kind\":\"shell\","
		"\"id\":\"n\",\"iat\":1,\"exp\":2}",
		"{\"v\":1,\"agent\":\"a\",\"kind\":\"dance\",\"id\":\"n\","
		"\"iat\":1,\"exp\":2}",
		"{\"v\":1,\"agent\":\"a\",\"kind\":\"shell\",\"id\":\"n\","
		"\"iat\":1,\"exp\":302}",
		"{\"v\":1,\"agent\":\"a\",\"kind\":\"shell\",\"id\":\"n\","
		"\"iat\":5,\"exp\":5}",
		"{\"v\":1,\"agent\":\"a\",\"kind\":\"shell\",\"id\":\"n\","
		"\"iat\":5}",
		"{\"v\":1,\"agent\":\"a/b\",\"kind\":\"shell\",\"id\":\"n\","
		"\"iat\":1,\"exp\":2}",
		"{\"v\":1,\"agent\":\"a\",\"kind\":\"shell\",\"id\":\"\","
		"\"iat\":1,\"exp\":2}",
	};
	char err[256];
	size_t i;

	sigcmd_fill(&c, "pc-main", "container_update", "");
	mc_strlcpy(c.image, "registry:5000/web:1.4", sizeof(c.image));
	mc_strlcpy(c.arg, "web", sizeof(c.arg));
	c.prune = 1;
	payload_set(&s, &c);
	REQUIRE(mc_sigcmd_read(s.payload, s.len, &d, err, sizeof(err)) == 0);
	CHECK_EQ_STR(d.agent, "pc-main");
	CHECK_EQ_STR(d.kind, "container_update");
	CHECK_EQ_STR(d.nonce, c.nonce);
	CHECK_EQ_STR(d.image, c.image);
	CHECK_EQ_STR(d.arg, "web");
	CHECK_EQ_INT(d.prune, 1);
	CHECK_EQ_DBL(d.timeout, 30);
	CHECK(d.iat == c.iat && d.exp == c.exp);
	sigcmd_fill(&c, "pc-main", MC_SIG_KIND_TERMINAL, "");
	payload_set(&s, &c);
	CHECK(mc_sigcmd_read(s.payload, s.len, &d, err, sizeof(err)) == 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(mc_sigcmd_read(bad[i], strlen(bad[i]), &d, err,
		    sizeof(err)) == -1, "accepted %s", bad[i]);
	/* time: valid from iat - skew to exp */
	CHECK(mc_sigcmd_current(&c, c.iat, err, sizeof(err)) == 0);
	CHECK(mc_sigcmd_current(&c, c.exp - 1, err, sizeof(err)) == 0);
	CHECK(mc_sigcmd_current(&c, c.exp, err, sizeof(err)) == -1);
	CHECK_PREFIX(err, "expired");
	CHECK(mc_sigcmd_current(&c, c.iat - MC_SIG_SKEW, err,
	    sizeof(err)) == 0);
	CHECK(mc_sigcmd_current(&c, c.iat - MC_SIG_SKEW - 1, err,
	    sizeof(err)) == -1);
	CHECK_CONTAINS(err, "future");
}

/* A cmd and a term_open carry the signature verbatim. */
void
t_sign_in_messages(void)
{
	static struct mc_sig s, got;
	static struct mc_cmd c, d;
	struct mc_pubkey pub;
	struct mc_sigcmd sc;
	const char *code;
	char err[256];
	struct mc_term t;
	struct mc_buf b;
	struct mc_msg m;
	EVP_PKEY *k = key_make("ops", &pub);

	sigcmd_fill(&sc, "pc-gpu", "shell", "echo \"quoted\" \\ and \xe2\x82\xac");
	payload_set(&s, &sc);
	sign_with(k, &pub, MC_SIG_DOMAIN_CMD, &s);
	memset(&c, 0, sizeof(c));
	mc_strlcpy(c.id, "c-1", sizeof(c.id));
	c.kind = MC_KIND_SHELL;
	mc_strlcpy(c.cmd, "something else", sizeof(c.cmd));
	c.timeout = 30;
	c.sig = &s;
	mc_buf_init(&b, MC_MSG_MAX);
	REQUIRE(mc_cmd_encode(&b, &c) == 0);
	REQUIRE(mc_msg_parse(&m, MC_TO_AGENT, b.data, b.len, &code, err,
	    sizeof(err)) == 0);
	REQUIRE(mc_cmd_decode(&m, &d, err, sizeof(err)) == 0);
	CHECK(mc_sig_read(m.root, &got, err, sizeof(err)) == 1);
	CHECK_EQ_MEM(got.payload, got.len, s.payload, s.len);
	CHECK_EQ_STR(got.key, s.key);
	CHECK_EQ_STR(got.sig, s.sig);
	mc_msg_free(&m);
	mc_buf_reset(&b);
	/* unsigned: absent */
	c.sig = NULL;
	REQUIRE(mc_cmd_encode(&b, &c) == 0);
	REQUIRE(mc_msg_parse(&m, MC_TO_AGENT, b.data, b.len, &code, err,
	    sizeof(err)) == 0);
	CHECK(mc_sig_read(m.root, &got, err, sizeof(err)) == 0);
	mc_msg_free(&m);
	mc_buf_reset(&b);
	/* term_open */
	memset(&t, 0, sizeof(t));
	t.ch = 3;
	t.cols = 80;
	t.rows = 24;
	t.sig = &s;
	REQUIRE(mc_term_encode(&b, MC_MSG_TERM_OPEN, &t) == 0);
	REQUIRE(mc_msg_parse(&m, MC_TO_AGENT, b.data, b.len, &code, err,
	    sizeof(err)) == 0);
	CHECK(mc_sig_read(m.root, &got, err, sizeof(err)) == 1);
	CHECK_EQ_MEM(got.payload, got.len, s.payload, s.len);
	mc_msg_free(&m);
	mc_buf_free(&b);
	EVP_PKEY_free(k);
}

/* A hello's trust keys and failed update; a listener_update's release. */
void
t_sign_hello_and_release(void)
{
	static struct mc_hello h, d;
	static struct mc_cmd c, dc;
	struct mc_pubkey pub;
	const char *code;
	char err[256];
	struct mc_buf b;
	struct mc_msg m;
	EVP_PKEY *k = key_make("ops", &pub);

	memset(&h, 0, sizeof(h));
	h.v = MC_PROTO_VERSION;
	mc_strlcpy(h.name, "pc-gpu", sizeof(h.name));
	mc_pubkey_line(&pub, h.trust[0], sizeof(h.trust[0]));
	h.ntrust = 1;
	h.require_signed = 1;
	mc_strlcpy(h.update_version, "9.9.9", sizeof(h.update_version));
	mc_strlcpy(h.update_error, "not welcomed within 60 s",
	    sizeof(h.update_error));
	mc_buf_init(&b, MC_MSG_MAX);
	REQUIRE(mc_hello_encode(&b, &h) == 0);
	REQUIRE(mc_msg_parse(&m, MC_TO_HUB, b.data, b.len, &code, err,
	    sizeof(err)) == 0);
	REQUIRE(mc_hello_decode(&m, &d, err, sizeof(err)) == 0);
	CHECK_EQ_INT(d.ntrust, 1);
	CHECK_EQ_STR(d.trust[0], h.trust[0]);
	CHECK_EQ_INT(d.require_signed, 1);
	CHECK_EQ_STR(d.update_version, "9.9.9");
	CHECK_EQ_STR(d.update_error, h.update_error);
	mc_msg_free(&m);
	mc_buf_reset(&b);

	memset(&c, 0, sizeof(c));
	mc_strlcpy(c.id, "c-9", sizeof(c.id));
	c.kind = MC_KIND_LISTENER_UPDATE;
	c.timeout = 120;
	mc_strlcpy(c.rel.version, "9.9.9", sizeof(c.rel.version));
	mc_sha256_hex("x", 1, c.rel.sha256);
	c.rel.size = 6000000;
	mc_strlcpy(c.rel.key, pub.b64, sizeof(c.rel.key));
	mc_strlcpy(c.rel.sig, "c2ln", sizeof(c.rel.sig));
	mc_strlcpy(c.rel.path, "/releases/9.9.9/maestro-listener?ticket=ab",
	    sizeof(c.rel.path));
	REQUIRE(mc_cmd_encode(&b, &c) == 0);
	REQUIRE(mc_msg_parse(&m, MC_TO_AGENT, b.data, b.len, &code, err,
	    sizeof(err)) == 0);
	REQUIRE(mc_cmd_decode(&m, &dc, err, sizeof(err)) == 0);
	CHECK_EQ_STR(dc.rel.version, "9.9.9");
	CHECK_EQ_STR(dc.rel.sha256, c.rel.sha256);
	CHECK_EQ_U64(dc.rel.size, 6000000);
	CHECK_EQ_STR(dc.rel.key, pub.b64);
	CHECK_EQ_STR(dc.rel.path, c.rel.path);
	mc_msg_free(&m);
	mc_buf_reset(&b);
	/* a release without its version is refused */
	c.rel.version[0] = '\0';
	REQUIRE(mc_cmd_encode(&b, &c) == 0);
	REQUIRE(mc_msg_parse(&m, MC_TO_AGENT, b.data, b.len, &code, err,
	    sizeof(err)) == 0);
	CHECK(mc_cmd_decode(&m, &dc, err, sizeof(err)) == -1);
	mc_msg_free(&m);
	mc_buf_free(&b);
	CHECK(mc_release_msg(err, sizeof(err), "9.9.9", c.rel.sha256, 12) > 0);
	CHECK_PREFIX(err, "9.9.9\n");
	EVP_PKEY_free(k);
}

/* An ELF header and one program header of type pt, for machine mach. */
static size_t
elf_make(unsigned char *buf, unsigned mach, unsigned pt)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_type = ET_EXEC;
	eh.e_machine = (Elf64_Half)mach;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = 1;
	memset(&ph, 0, sizeof(ph));
	ph.p_type = pt;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), &ph, sizeof(ph));
	return sizeof(eh) + sizeof(ph);
}

void
t_sign_elf(void)
{
	static unsigned char buf[4096];
	static const char tail[] = "xx" MC_VERSION_MARK "\0junk"
	    MC_VERSION_MARK "9.9.9-rc1\0";
	char err[128], v[MC_VERSION_TEXT_MAX];
	size_t n;

	n = elf_make(buf, EM_X86_64, PT_LOAD);
	CHECK(mc_elf_check(buf, n, err, sizeof(err)) == 0);
	CHECK(mc_elf_version(buf, n, v, sizeof(v)) == -1);
	memcpy(buf + n, tail, sizeof(tail));
	CHECK(mc_elf_version(buf, n + sizeof(tail), v, sizeof(v)) == 0);
	CHECK_EQ_STR(v, "9.9.9-rc1");
	n = elf_make(buf, EM_X86_64, PT_INTERP);
	CHECK(mc_elf_check(buf, n, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "dynamically linked");
	n = elf_make(buf, EM_AARCH64, PT_LOAD);
	CHECK(mc_elf_check(buf, n, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "aarch64");
	n = elf_make(buf, EM_X86_64, PT_LOAD);
	CHECK(mc_elf_check(buf, n - 1, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "truncated");
	CHECK(mc_elf_check("#!/bin/sh\n", 10, err, sizeof(err)) == -1);
	CHECK(mc_version_valid("0.1.0") && mc_version_valid("9.9.9+b2"));
	CHECK(!mc_version_valid("") && !mc_version_valid("-1") &&
	    !mc_version_valid("1 2") && !mc_version_valid("1/2") &&
	    !mc_version_valid("0123456789012345678901234567890123"));
}
