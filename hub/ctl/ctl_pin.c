/*
 * ctl_pin.c - trust exactly one hub certificate: --fingerprint sha256:HEX.
 *
 * A hub's self-signed certificate cannot be checked against any CA, so the
 * operator pins the SHA-256 of its DER, as maestro-hub prints it at first
 * start.  The rule this file keeps: the token is never sent to a server
 * whose certificate does not match the pin.
 *
 * How: curl runs with its own peer and host checks off and hands us the
 * SSL_CTX before the connection is made.  We switch the context back to
 * SSL_VERIFY_PEER and replace OpenSSL's chain verification with
 * pin_verify() (SSL_CTX_set_cert_verify_callback).  OpenSSL calls it
 * exactly once per handshake, with the leaf certificate the server
 * presented, while it processes the server's Certificate message; a 0
 * there aborts the handshake with a fatal alert, before the client's
 * Finished and so before curl can write a single byte of the request.
 * Self-signed and otherwise "unverifiable" certificates are thus accepted
 * when, and only when, their fingerprint matches; there is no depth or
 * chain-building path by which the leaf escapes the comparison.  The
 * server still proves it holds the certificate's key (TLS CertificateVerify).
 * Session resumption, which would skip certificate processing, is turned
 * off by the caller (CURLOPT_SSL_SESSIONID_CACHE 0).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "ctl.h"

/* The certificate the pin last refused, for the error message. */
static char	pin_seen[CTL_FP_TEXT_MAX];
static int	pin_refused;

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

int
ctl_pin_parse(const char *s, unsigned char out[CTL_FP_LEN])
{
	size_t n = 0;
	int hi, lo;

	if (strncasecmp(s, "sha256:", 7) == 0)
		s += 7;
	while (*s != '\0') {
		if (*s == ':') {
			s++;
			continue;
		}
		hi = hexval((unsigned char)s[0]);
		lo = s[1] != '\0' ? hexval((unsigned char)s[1]) : -1;
		if (hi < 0 || lo < 0 || n == CTL_FP_LEN)
			return -1;
		out[n++] = (unsigned char)(hi << 4 | lo);
		s += 2;
	}
	return n == CTL_FP_LEN ? 0 : -1;
}

static void
remember_refused(const unsigned char *md)
{
	static const char digits[] = "0123456789abcdef";
	size_t i, o;

	o = (size_t)snprintf(pin_seen, sizeof(pin_seen), "sha256:");
	for (i = 0; i < CTL_FP_LEN && o + 2 < sizeof(pin_seen); i++) {
		pin_seen[o++] = digits[md[i] >> 4];
		pin_seen[o++] = digits[md[i] & 15];
	}
	pin_seen[o] = '\0';
	pin_refused = 1;
}

/* Replaces X509_verify_cert(): accept the leaf iff it is the pinned one. */
static int
pin_verify(X509_STORE_CTX *xs, void *arg)
{
	const unsigned char *pin = arg;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);

	if (leaf == NULL || X509_digest(leaf, EVP_sha256(), md, &n) != 1 ||
	    n != CTL_FP_LEN) {
		X509_STORE_CTX_set_error(xs,
		    X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	if (CRYPTO_memcmp(md, pin, CTL_FP_LEN) != 0) {
		remember_refused(md);
		X509_STORE_CTX_set_error(xs,
		    X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	X509_STORE_CTX_set_error(xs, X509_V_OK);
	return 1;
}

int
ctl_pin_install(void *ssl_ctx, const unsigned char pin[CTL_FP_LEN])
{
	SSL_CTX *ctx = ssl_ctx;

	if (ctx == NULL)
		return -1;
	pin_refused = 0;
	/* PEER makes a 0 from pin_verify() fatal to the handshake */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, pin_verify, (void *)pin);
	return 0;
}

int
ctl_pin_mismatch(char *out, size_t outlen)
{
	if (!pin_refused)
		return 0;
	snprintf(out, outlen, "%s", pin_seen);
	return 1;
}
