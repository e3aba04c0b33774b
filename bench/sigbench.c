/*
 * sigbench.c - what checking an operator's signature costs the listener
 * per command, in µs.
 *
 * A listener that trusts keys runs mc_sig_verify() (base64 of the
 * signature, Ed25519 over the domain line and the payload) and
 * mc_sigcmd_read() (the payload's JSON) for every signed command
 * (listener/lst_signed.c); this times the two together over a shell
 * payload of the size hubctl makes, with four trusted keys and the
 * signer last among them (the key lookup's worst case).
 *
 *   sigbench [N [RUNS]]   N commands per run (20000), RUNS runs (5)
 *
 * The figure is the median over the runs of the mean µs per command in
 * one run, with the fastest and slowest run beside it.  Single-threaded;
 * run it on an idle machine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "mc_sign.h"
#include "mc_util.h"

#define RUNS_MAX	64
#define KEYS		4

static EVP_PKEY *
key_make(struct mc_pubkey *pub)
{
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *k = NULL;
	size_t n = MC_KEY_RAW;
	struct mc_buf b;

	if (kc == NULL || EVP_PKEY_keygen_init(kc) != 1 ||
	    EVP_PKEY_keygen(kc, &k) != 1 ||
	    EVP_PKEY_get_raw_public_key(k, pub->raw, &n) != 1) {
		fprintf(stderr, "sigbench: cannot make an Ed25519 key\n");
		exit(1);
	}
	EVP_PKEY_CTX_free(kc);
	mc_buf_init(&b, 64);
	if (mc_b64_encode(&b, pub->raw, n) == 0 && b.len < sizeof(pub->b64))
		memcpy(pub->b64, b.data, b.len + 1);
	mc_buf_free(&b);
	return k;
}

/* A payload as hubctl signs it, signed with k into s. */
static void
sign_payload(EVP_PKEY *k, const struct mc_pubkey *pub, struct mc_sig *s)
{
	static unsigned char msg[MC_SIG_PAYLOAD_MAX + 64];
	unsigned char sig[MC_SIG_RAW];
	size_t slen = sizeof(sig), dl = strlen(MC_SIG_DOMAIN_CMD);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	struct mc_buf b;
	int n;

	n = snprintf(s->payload, sizeof(s->payload), "{\"v\":1,\"agent\":"
	    "\"pc-gpu-017\",\"kind\":\"shell\",\"id\":\"n-7f3e9a01c2d4b5e6"
	    "f708192a3b4c5d6e\",\"iat\":%lld,\"exp\":%lld,\"cmd\":"
	    "\"nvidia-smi --query-gpu=index,utilization.gpu,memory.used "
	    "--format=csv\",\"timeout\":60}", (long long)time(NULL),
	    (long long)time(NULL) + 300);
	s->len = (size_t)n;
	memcpy(msg, MC_SIG_DOMAIN_CMD, dl);
	memcpy(msg + dl, s->payload, s->len);
	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) != 1 ||
	    EVP_DigestSign(ctx, sig, &slen, msg, dl + s->len) != 1) {
		fprintf(stderr, "sigbench: cannot sign\n");
		exit(1);
	}
	EVP_MD_CTX_free(ctx);
	mc_buf_init(&b, 128);
	if (mc_b64_encode(&b, sig, slen) == 0 && b.len < sizeof(s->sig))
		memcpy(s->sig, b.data, b.len + 1);
	mc_buf_free(&b);
	mc_strlcpy(s->key, pub->b64, sizeof(s->key));
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	static struct mc_pubkey trust[KEYS];
	static struct mc_sig s;
	static struct mc_sigcmd sc;
	const struct mc_pubkey *by;
	double us[RUNS_MAX], t0;
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
	long runs = argc > 2 ? strtol(argv[2], NULL, 10) : 5;
	EVP_PKEY *k[KEYS];
	char err[256];
	long i, r;

	if (n < 1 || runs < 1 || runs > RUNS_MAX) {
		fprintf(stderr, "usage: sigbench [N [RUNS (1-%d)]]\n",
		    RUNS_MAX);
		return 2;
	}
	for (i = 0; i < KEYS; i++)
		k[i] = key_make(&trust[i]);
	sign_payload(k[KEYS - 1], &trust[KEYS - 1], &s);
	for (r = 0; r < runs; r++) {
		t0 = mc_now();
		for (i = 0; i < n; i++)
			if (mc_sig_verify(&s, MC_SIG_DOMAIN_CMD, trust, KEYS,
			    &by, err, sizeof(err)) == -1 ||
			    mc_sigcmd_read(s.payload, s.len, &sc, err,
			    sizeof(err)) == -1) {
				fprintf(stderr, "sigbench: %s\n", err);
				return 1;
			}
		us[r] = (mc_now() - t0) * 1e6 / (double)n;
	}
	qsort(us, (size_t)runs, sizeof(us[0]), cmp_dbl);
	printf("mc_sig_verify + mc_sigcmd_read  %.2f us/command  (min %.2f, "
	    "max %.2f, %ld runs of %ld, %zu-byte payload)\n", us[runs / 2],
	    us[0], us[runs - 1], runs, n, s.len);
	for (i = 0; i < KEYS; i++)
		EVP_PKEY_free(k[i]);
	return 0;
}
