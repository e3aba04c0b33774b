/*
 * ctl_key.h - what the files of operator signing keys share: ctl_key.c
 * makes, lists and loads the Ed25519 keys under ~/.config/maestro/keys,
 * ctl_sign.c signs commands with a loaded one.  Only these two files and
 * the TLS ones (ctl.h) see OpenSSL.
 */
#ifndef CTL_KEY_H
#define CTL_KEY_H

#include <openssl/evp.h>

#include "ctl.h"
#include "mc_sign.h"

/* A private key file is PEM text of a few hundred bytes: more is not one. */
#define CTL_KEY_FILE_MAX	8192
/* The longest passphrase read from a file, the environment or the tty. */
#define CTL_PASS_MAX		1024

/* A loaded signing key. */
struct ctl_key {
	EVP_PKEY	*pk;		/* owned */
	struct mc_pubkey pub;		/* its public half, named */
	char		 path[MC_PATH_MAX];	/* the private key's file */
};

#endif
