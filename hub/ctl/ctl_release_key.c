/*
 * ctl_release_key.c - the operator's Ed25519 key signing a release: the
 * PKCS#8 PEM that "hubctl key create" writes, read with OpenSSL, used
 * once and freed.  The private key never leaves this function.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "ctl.h"

#define SIGN_TEXT_MAX	512

int
ctl_release_sign(const char *path, const char *domain, const char *text,
    size_t len, unsigned char pub[MC_KEY_RAW], unsigned char sig[MC_SIG_RAW],
    char *err, size_t errlen)
{
	unsigned char msg[SIGN_TEXT_MAX];
	size_t dlen = strlen(domain), plen = MC_KEY_RAW, slen = MC_SIG_RAW;
	EVP_PKEY *pk = NULL;	/* owned */
	EVP_MD_CTX *md = NULL;	/* owned */
	FILE *f;
	int ret = -1;

	if (dlen + len > sizeof(msg)) {
		snprintf(err, errlen, "the text to sign is too long");
		return -1;
	}
	memcpy(msg, domain, dlen);
	memcpy(msg + dlen, text, len);
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "cannot read the key %s: %s", path,
		    strerror(errno));
		return -1;
	}
	pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (pk == NULL || EVP_PKEY_id(pk) != EVP_PKEY_ED25519) {
		snprintf(err, errlen, "%s is not an Ed25519 private key in PEM "
		    "(as hubctl key create writes it)", path);
		goto done;
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, NULL, NULL, pk) != 1 ||
	    EVP_DigestSign(md, sig, &slen, msg, dlen + len) != 1 ||
	    slen != MC_SIG_RAW ||
	    EVP_PKEY_get_raw_public_key(pk, pub, &plen) != 1 ||
	    plen != MC_KEY_RAW) {
		snprintf(err, errlen, "OpenSSL could not sign with %s", path);
		goto done;
	}
	ret = 0;
done:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return ret;
}
