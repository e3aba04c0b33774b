/*
 * mc_sign.h - operator signatures: Ed25519 public keys as people write
 * them, the signed form of a command, and what a release's signature
 * covers.
 *
 * A listener that trusts operator keys runs a command only when it carries
 * an Ed25519 signature by one of them over the command as the operator
 * meant it.  The signed text (the payload) travels verbatim inside the
 * hub's message; the listener verifies those exact bytes and then runs
 * what they say, so a hub can relay a command but neither change nor forge
 * one (docs/security.md).  Every signature covers a domain line first, so
 * a command's signature is never a release's and the other way round.
 */
#ifndef MC_SIGN_H
#define MC_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "mc_buf.h"
#include "mc_json.h"
#include "mc_limits.h"

#define MC_SIG_V		1
#define MC_SIG_WINDOW		300	/* most seconds from iat to exp */
#define MC_SIG_SKEW		60	/* an iat this far ahead is accepted */
#define MC_KEY_RAW		32	/* an Ed25519 public key */
#define MC_SIG_RAW		64	/* an Ed25519 signature */
#define MC_KEY_B64		45	/* base64 of a key, and its NUL */
#define MC_SIG_B64		89	/* base64 of a signature, and its NUL */
#define MC_KEYLINE_MAX		(8 + MC_KEY_B64 + 1 + MC_NAME_MAX + 1)
#define MC_SIG_PAYLOAD_MAX	(2 * MC_CMD_MAX + 2048)	/* JSON escaping */
#define MC_TRUST_MAX		8	/* keys one listener trusts */
#define MC_NONCE_MAX		40	/* the payload's "id" */
#define MC_SIG_KIND_TERMINAL	"terminal"	/* a terminal session */

/* What each signature covers before its text. */
#define MC_SIG_DOMAIN_CMD	"maestro-cmd-v1\n"
#define MC_SIG_DOMAIN_RELEASE	"maestro-release-v1\n"

/* Marks a listener binary's version, followed by MC_VERSION and a NUL:
 * the hub and hubctl read a release's version from it (mc_elf.h). */
#define MC_VERSION_MARK		"maestro-listener-version="
#define MC_VERSION_TEXT_MAX	32

/* "ed25519:BASE64 NAME" as hubctl key create prints it. */
struct mc_pubkey {
	unsigned char	raw[MC_KEY_RAW];
	char		b64[MC_KEY_B64];
	char		name[MC_NAME_MAX + 1];	/* "" when the line has none */
};

/* A signature as it travels: the payload's exact text, the signer's
 * public key and the signature, both base64 (standard, padded). */
struct mc_sig {
	char		payload[MC_SIG_PAYLOAD_MAX];
	size_t		len;
	char		key[MC_KEY_B64];
	char		sig[MC_SIG_B64];
};

/* The payload of a signed command or terminal session: a JSON object with
 * "v", "agent", "kind", "id" (a nonce: the listener runs each id once),
 * "iat" and "exp" (unix seconds, exp - iat at most MC_SIG_WINDOW) and the
 * command's own fields, which are what the listener runs. */
struct mc_sigcmd {
	char		agent[MC_NAME_MAX + 1];
	char		kind[24];		/* a command kind or "terminal" */
	char		nonce[MC_NONCE_MAX];
	int64_t		iat, exp;
	char		cmd[MC_CMD_MAX + 1];
	char		arg[MC_TEXT_MAX];
	char		image[MC_IMAGE_MAX];
	int		prune;
	double		timeout;		/* 0: the kind's default */
};

/* Parse a key line ("ed25519:BASE64" and an optional name after blanks):
 * 0, or -1 with the reason in err. */
int	mc_pubkey_parse(const char *line, struct mc_pubkey *k, char *err,
	    size_t errlen);
/* k as one line, "ed25519:BASE64 NAME" (no name: no blank). */
void	mc_pubkey_line(const struct mc_pubkey *k, char *out, size_t size);

/* 0 when sig (MC_SIG_RAW bytes) is pub's Ed25519 signature over the
 * domain line followed by msg; -1 otherwise. */
int	mc_ed25519_verify(const unsigned char pub[MC_KEY_RAW],
	    const char *domain, const void *msg, size_t len,
	    const unsigned char sig[MC_SIG_RAW]);

/* Verify a travelling signature against the keys trusted: 0 with the key
 * that signed in *by, or -1 with "signed by a key this agent does not
 * trust" or "bad signature" in err. */
int	mc_sig_verify(const struct mc_sig *s, const char *domain,
	    const struct mc_pubkey *trust, int ntrust,
	    const struct mc_pubkey **by, char *err, size_t errlen);

/* Write the payload of s as JSON text into b: 0, or -1 on b's limit. */
int	mc_sigcmd_write(struct mc_buf *b, const struct mc_sigcmd *s);
/* Parse and check a payload's text: well-formed, a known kind, a nonce,
 * exp after iat and at most MC_SIG_WINDOW later.  0, or -1 with the
 * reason in err.  It says nothing about time: see mc_sigcmd_current. */
int	mc_sigcmd_read(const char *text, size_t len, struct mc_sigcmd *s,
	    char *err, size_t errlen);
/* Is s valid at unix time now?  0, or -1 with "expired ..." or "issued
 * in the future ..." in err. */
int	mc_sigcmd_current(const struct mc_sigcmd *s, int64_t now, char *err,
	    size_t errlen);

/* The "signed" member of a message: write s into the object w has open;
 * read it from message object o: 0 absent, 1 read, -1 malformed (err). */
void	mc_sig_write(struct mc_jw *w, const struct mc_sig *s);
int	mc_sig_read(const struct mc_json *o, struct mc_sig *s, char *err,
	    size_t errlen);

/* What a release's signature covers after MC_SIG_DOMAIN_RELEASE:
 * "VERSION\nSHA256HEX\nSIZE\n".  Returns the length, or -1 if it does
 * not fit. */
int	mc_release_msg(char *out, size_t size, const char *version,
	    const char *sha256hex, uint64_t bytes);

#endif
