/*
 * hub_tls.c - the hub's certificate: made at first start, fingerprinted.
 *
 * Without --tls-cert the hub makes a self-signed P-256 certificate in
 * DATA/tls/ (key 0600) valid for ten years, with the names a loopback or
 * LAN deployment needs.  Listeners and hubctl pin it by the SHA-256 of its
 * DER encoding, printed as sha256:<hex>.  Runs before the event loop.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

static int
add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;
	int r;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ex == NULL)
		return -1;
	r = X509_add_ext(cert, ex, -1);
	X509_EXTENSION_free(ex);
	return r == 1 ? 0 : -1;
}

/* A random serial keeps clients from confusing a regenerated cert. */
static int
set_serial(X509 *cert)
{
	BIGNUM *bn = BN_new();
	int r = -1;

	if (bn != NULL && BN_rand(bn, 120, BN_RAND_TOP_ANY,
	    BN_RAND_BOTTOM_ANY) == 1 &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL)
		r = 0;
	BN_free(bn);
	return r;
}

static X509 *
make_cert(EVP_PKEY *pkey)
{
	char host[256], san[600];
	X509_NAME *name;
	X509 *cert;

	if ((cert = X509_new()) == NULL)
		return NULL;
	if (gethostname(host, sizeof(host)) == -1)
		mc_strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(san, sizeof(san),
	    "DNS:localhost,IP:127.0.0.1,IP:::1,DNS:%s", host);
	X509_set_version(cert, 2);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"maestro-hub", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"Maestro", -1, -1, 0);
	X509_set_issuer_name(cert, name);
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 24 * 3600);
	X509_set_pubkey(cert, pkey);
	if (set_serial(cert) == -1 ||
	    add_ext(cert, NID_subject_alt_name, san) == -1 ||
	    add_ext(cert, NID_basic_constraints, "critical,CA:FALSE") == -1 ||
	    add_ext(cert, NID_ext_key_usage, "serverAuth") == -1 ||
	    X509_sign(cert, pkey, EVP_sha256()) == 0) {
		X509_free(cert);
		return NULL;
	}
	return cert;
}

int
hub_tls_write_pem(const char *path, mode_t mode, EVP_PKEY *pkey, X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int r = -1;

	if (bio == NULL)
		return -1;
	if (pkey != NULL && !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL,
	    0, NULL, NULL))
		goto done;
	if (cert != NULL && !PEM_write_bio_X509(bio, cert))
		goto done;
	n = BIO_get_mem_data(bio, &data);
	r = mc_write_file(path, data, (size_t)n, mode);
done:
	BIO_free(bio);
	return r;
}

int
hub_tls_ensure(const char *dir, char *cert, size_t certlen, char *key,
    size_t keylen)
{
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	int r = -1;

	snprintf(cert, certlen, "%s/cert.pem", dir);
	snprintf(key, keylen, "%s/key.pem", dir);
	if (access(cert, R_OK) == 0 && access(key, R_OK) == 0)
		return 0;
	if (mc_mkdir_p(dir, 0700) == -1) {
		mc_err("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if ((pkey = EVP_EC_gen("P-256")) == NULL ||
	    (x = make_cert(pkey)) == NULL) {
		mc_err("cannot make a self-signed certificate (OpenSSL)");
		goto done;
	}
	if (hub_tls_write_pem(key, 0600, pkey, NULL) == -1 ||
	    hub_tls_write_pem(cert, 0644, NULL, x) == -1) {
		mc_err("cannot write %s: %s", dir, strerror(errno));
		goto done;
	}
	mc_info("made a self-signed certificate in %s", dir);
	r = 0;
done:
	X509_free(x);
	EVP_PKEY_free(pkey);
	return r;
}

int
hub_tls_fingerprint(const char *certfile, char *out, size_t outlen)
{
	unsigned char *der = NULL;
	char hex[MC_SHA256_HEX];
	X509 *x = NULL;
	FILE *f;
	int n;

	if ((f = fopen(certfile, "r")) == NULL)
		return -1;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		return -1;
	n = i2d_X509(x, &der);
	X509_free(x);
	if (n <= 0)
		return -1;
	mc_sha256_hex(der, (size_t)n, hex);
	OPENSSL_free(der);
	snprintf(out, outlen, "sha256:%s", hex);
	return 0;
}
