/*
 * hub_push_crypt.c - the cryptography of Web Push, with OpenSSL 3: the
 * hub's VAPID key (RFC 8292), a message encrypted for one subscription
 * (RFC 8291, "aes128gcm" of RFC 8188) and the signed token that tells the
 * push service which server sends.
 *
 * The VAPID key is a P-256 key made at the first start in DATA/vapid.pem
 * (0600) and kept: browsers tie a subscription to the key it was made
 * with, so a new key would silently orphan every subscription.
 *
 * Encryption makes a fresh ephemeral key and salt per message; nothing
 * secret outlives the call.  A message is a single record: the payload is
 * capped below the record size, so no multi-record framing is needed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "hub_push.h"
#include "mc_log.h"
#include "mc_util.h"

#define RECORD_SIZE	4096
#define SALT_LEN	16
#define TAG_LEN		16
#define HEADER_LEN	(SALT_LEN + 4 + 1 + PUSH_POINT_LEN)	/* 86 */
#define VAPID_LIFE	(12 * 3600)	/* seconds; RFC 8292 allows 24 h */

static struct {
	EVP_PKEY	*key;			/* owned */
	char		 pub[PUSH_KEY_B64];	/* base64url */
} vk;

/* ---- base64url ---- */

int
hub_push_b64url(const void *in, size_t n, char *out, size_t outlen)
{
	size_t i, len = 4 * ((n + 2) / 3);

	if (len + 1 > outlen || n > 1024 * 1024)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	for (i = 0; i < len; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	return 0;
}

long
hub_push_unb64url(const char *in, void *out, size_t outsize)
{
	char std[512];
	size_t n = strlen(in), i;

	if (n == 0 || n + 3 >= sizeof(std))
		return -1;
	for (i = 0; i < n; i++) {
		if (in[i] == '-')
			std[i] = '+';
		else if (in[i] == '_')
			std[i] = '/';
		else if (in[i] == '+' || in[i] == '/')
			return -1;	/* plain base64 is not what browsers send */
		else
			std[i] = in[i];
	}
	while (n % 4 != 0)
		std[n++] = '=';
	return mc_b64_decode(std, n, out, outsize);
}

/* ---- the VAPID key ---- */

/* The uncompressed point of k into out.  0 / -1. */
static int
point_of(EVP_PKEY *k, uint8_t out[PUSH_POINT_LEN])
{
	size_t n = 0;

	if (EVP_PKEY_get_octet_string_param(k,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out, PUSH_POINT_LEN, &n) != 1 ||
	    n != PUSH_POINT_LEN || out[0] != 0x04)
		return -1;
	return 0;
}

static EVP_PKEY *
key_read(const char *path)
{
	EVP_PKEY *k;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

int
hub_push_key_load(const char *datadir)
{
	uint8_t pt[PUSH_POINT_LEN];
	char path[MC_PATH_MAX];

	snprintf(path, sizeof(path), "%s/vapid.pem", datadir);
	if (access(path, F_OK) == 0) {
		if ((vk.key = key_read(path)) == NULL) {
			mc_err("push: cannot read the VAPID key %s (a PEM "
			    "P-256 private key): remove it to make a new one; "
			    "every subscription must then be made again", path);
			return -1;
		}
	} else if ((vk.key = EVP_EC_gen("P-256")) == NULL ||
	    hub_tls_write_pem(path, 0600, vk.key, NULL) == -1) {
		mc_err("push: cannot make the VAPID key %s: %s", path,
		    strerror(errno));
		return -1;
	} else {
		mc_info("push: made the VAPID key %s", path);
	}
	if (point_of(vk.key, pt) == -1 ||
	    hub_push_b64url(pt, sizeof(pt), vk.pub, sizeof(vk.pub)) == -1) {
		mc_err("push: %s is not a P-256 key", path);
		hub_push_key_free();
		return -1;
	}
	return 0;
}

void
hub_push_key_free(void)
{
	EVP_PKEY_free(vk.key);
	vk.key = NULL;
	vk.pub[0] = '\0';
}

const char *
hub_push_key_b64(void)
{
	return vk.pub;
}

/* ---- points and ECDH ---- */

/* The public key p on P-256 (owned by the caller), or NULL. */
static EVP_PKEY *
peer_key(const uint8_t p[PUSH_POINT_LEN])
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;

	if (bld == NULL || OSSL_PARAM_BLD_push_utf8_string(bld,
	    OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, p,
	    PUSH_POINT_LEN) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return k;
}

int
hub_push_point_ok(const uint8_t p[PUSH_POINT_LEN])
{
	EVP_PKEY *k;
	EVP_PKEY_CTX *ctx;
	int ok = 0;

	if (p[0] != 0x04 || (k = peer_key(p)) == NULL)
		return 0;
	if ((ctx = EVP_PKEY_CTX_new(k, NULL)) != NULL)
		ok = EVP_PKEY_public_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(k);
	return ok;
}

/* The shared secret of mine and the peer's point: 32 bytes.  0 / -1. */
static int
ecdh(EVP_PKEY *mine, const uint8_t peer[PUSH_POINT_LEN], uint8_t out[32])
{
	EVP_PKEY *pk = peer_key(peer);
	EVP_PKEY_CTX *ctx = NULL;
	size_t n = 32;
	int r = -1;

	if (pk != NULL && (ctx = EVP_PKEY_CTX_new(mine, NULL)) != NULL &&
	    EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_derive_set_peer(ctx, pk) == 1 &&
	    EVP_PKEY_derive(ctx, out, &n) == 1 && n == 32)
		r = 0;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return r;
}

/* ---- RFC 8291 ---- */

/* HMAC-SHA-256(key, a || b) into out (32 bytes).  0 / -1. */
static int
hmac2(const uint8_t *key, size_t klen, const void *a, size_t alen,
    const void *b, size_t blen, uint8_t out[32])
{
	uint8_t msg[256];
	unsigned int n = 0;

	if (alen + blen > sizeof(msg))
		return -1;
	memcpy(msg, a, alen);
	if (blen > 0)
		memcpy(msg + alen, b, blen);
	if (HMAC(EVP_sha256(), key, (int)klen, msg, alen + blen, out, &n) ==
	    NULL || n != 32)
		return -1;
	return 0;
}

/* The content key (16 bytes) and nonce (12) of a message from the shared
 * secret, the two points, the auth secret and the salt.  0 / -1. */
static int
derive(const uint8_t secret[32], const struct hub_push_sub *s,
    const uint8_t as_pub[PUSH_POINT_LEN], const uint8_t salt[SALT_LEN],
    uint8_t cek[16], uint8_t nonce[12])
{
	static const char kinfo[] = "WebPush: info";	/* its NUL is used */
	static const char cinfo[] = "Content-Encoding: aes128gcm\0\1";
	static const char ninfo[] = "Content-Encoding: nonce\0\1";
	uint8_t info[sizeof(kinfo) + 2 * PUSH_POINT_LEN + 1], prk[32], ikm[32],
	    t[32];
	size_t n = 0;

	memcpy(info, kinfo, sizeof(kinfo));
	n += sizeof(kinfo);
	memcpy(info + n, s->p256dh, PUSH_POINT_LEN);
	n += PUSH_POINT_LEN;
	memcpy(info + n, as_pub, PUSH_POINT_LEN);
	n += PUSH_POINT_LEN;
	info[n++] = 0x01;
	if (hmac2(s->auth, PUSH_AUTH_LEN, secret, 32, NULL, 0, prk) == -1 ||
	    hmac2(prk, 32, info, n, NULL, 0, ikm) == -1 ||
	    hmac2(salt, SALT_LEN, ikm, 32, NULL, 0, prk) == -1 ||
	    hmac2(prk, 32, cinfo, sizeof(cinfo) - 1, NULL, 0, t) == -1)
		return -1;
	memcpy(cek, t, 16);
	if (hmac2(prk, 32, ninfo, sizeof(ninfo) - 1, NULL, 0, t) == -1)
		return -1;
	memcpy(nonce, t, 12);
	return 0;
}

/* AES-128-GCM of pt (n bytes) then the record delimiter 0x02 into ct,
 * which has room for n + 1 + TAG_LEN bytes.  0 / -1. */
static int
seal(const uint8_t cek[16], const uint8_t nonce[12], const void *pt,
    size_t n, uint8_t *ct)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	static const uint8_t delim = 0x02;
	int len, r = -1;
	size_t off = 0;

	if (c == NULL)
		return -1;
	if (EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, cek, nonce) != 1 ||
	    EVP_EncryptUpdate(c, ct, &len, pt, (int)n) != 1)
		goto done;
	off += (size_t)len;
	if (EVP_EncryptUpdate(c, ct + off, &len, &delim, 1) != 1)
		goto done;
	off += (size_t)len;
	if (EVP_EncryptFinal_ex(c, ct + off, &len) != 1)
		goto done;
	off += (size_t)len;
	if (off == n + 1 && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG,
	    TAG_LEN, ct + off) == 1)
		r = 0;
done:
	EVP_CIPHER_CTX_free(c);
	return r;
}

int
hub_push_encrypt(const struct hub_push_sub *s, const void *pt, size_t n,
    struct mc_buf *out)
{
	uint8_t hdr[HEADER_LEN], secret[32], cek[16], nonce[12],
	    ct[PUSH_PAYLOAD_MAX + 1 + TAG_LEN];
	EVP_PKEY *eph;
	int r = -1;

	if (n > PUSH_PAYLOAD_MAX || (eph = EVP_EC_gen("P-256")) == NULL)
		return -1;
	if (RAND_bytes(hdr, SALT_LEN) != 1 ||
	    point_of(eph, hdr + SALT_LEN + 5) == -1 ||
	    ecdh(eph, s->p256dh, secret) == -1 ||
	    derive(secret, s, hdr + SALT_LEN + 5, hdr, cek, nonce) == -1 ||
	    seal(cek, nonce, pt, n, ct) == -1)
		goto done;
	hdr[SALT_LEN] = (RECORD_SIZE >> 24) & 0xff;
	hdr[SALT_LEN + 1] = (RECORD_SIZE >> 16) & 0xff;
	hdr[SALT_LEN + 2] = (RECORD_SIZE >> 8) & 0xff;
	hdr[SALT_LEN + 3] = RECORD_SIZE & 0xff;
	hdr[SALT_LEN + 4] = PUSH_POINT_LEN;
	if (mc_buf_append(out, hdr, sizeof(hdr)) == 0 &&
	    mc_buf_append(out, ct, n + 1 + TAG_LEN) == 0)
		r = 0;
done:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(cek, sizeof(cek));
	EVP_PKEY_free(eph);
	return r;
}

/* ---- RFC 8292 ---- */

/* "scheme://host[:port]" of url into out.  0 / -1. */
static int
origin_of(const char *url, char *out, size_t outlen)
{
	const char *host = strstr(url, "://");
	size_t n;

	if (host == NULL)
		return -1;
	host += 3;
	n = (size_t)(host - url) + strcspn(host, "/?#");
	if (n >= outlen)
		return -1;
	memcpy(out, url, n);
	out[n] = '\0';
	return 0;
}

/* ES256 of msg: the raw r || s (64 bytes) into sig.  0 / -1. */
static int
es256(const char *msg, size_t n, uint8_t sig[64])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[80];
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *es = NULL;
	size_t dlen = sizeof(der);
	int rc = -1;

	if (md == NULL)
		return -1;
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, vk.key) != 1 ||
	    EVP_DigestSign(md, der, &dlen, (const unsigned char *)msg, n) != 1 ||
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)dlen)) == NULL)
		goto done;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) ==
	    32)
		rc = 0;
done:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	return rc;
}

int
hub_push_vapid(const char *endpoint, const char *subject, double now,
    char *out, size_t outlen)
{
	static const char head[] = "{\"typ\":\"JWT\",\"alg\":\"ES256\"}";
	char origin[PUSH_ENDPOINT_MAX + 1], claims[2 * PUSH_ENDPOINT_MAX],
	    jwt[4 * PUSH_ENDPOINT_MAX], sig64[100];
	struct mc_buf cb;
	struct mc_jw w;
	uint8_t sig[64];
	size_t n;

	if (vk.key == NULL || origin_of(endpoint, origin, sizeof(origin)) == -1)
		return -1;
	mc_buf_init(&cb, sizeof(claims) - 1);
	mc_jw_init(&w, &cb);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "aud", origin);
	mc_jw_i64(&w, "exp", (int64_t)now + VAPID_LIFE);
	mc_jw_str(&w, "sub", subject);
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == -1 || cb.data == NULL) {
		mc_buf_free(&cb);
		return -1;
	}
	mc_strlcpy(claims, cb.data, sizeof(claims));
	mc_buf_free(&cb);
	if (hub_push_b64url(head, sizeof(head) - 1, jwt, sizeof(jwt)) == -1)
		return -1;
	n = strlen(jwt);
	jwt[n++] = '.';
	if (hub_push_b64url(claims, strlen(claims), jwt + n, sizeof(jwt) - n) ==
	    -1 || es256(jwt, strlen(jwt), sig) == -1 ||
	    hub_push_b64url(sig, sizeof(sig), sig64, sizeof(sig64)) == -1)
		return -1;
	if ((size_t)snprintf(out, outlen, "vapid t=%s.%s, k=%s", jwt, sig64,
	    vk.pub) >= outlen)
		return -1;
	return 0;
}
