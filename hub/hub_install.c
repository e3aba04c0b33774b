/*
 * hub_install.c - what a workstation needs to join: install.sh and the
 * static listener, served by the hub itself.
 *
 * Both files are read into memory at start (and on SIGHUP), with the
 * binary's SHA-256, so serving them never touches the disk.  GET
 * /install.sh fills in the hub's own address (from the request's Host)
 * and its certificate fingerprint; install.sh then downloads
 * /download/maestro-listener over TLS pinned to that fingerprint and
 * checks it against /download/maestro-listener.sha256.  None of this is
 * secret: the enrollment key is what admits a machine.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"
#include "mc_log.h"
#include "mc_util.h"

#define SCRIPT_MAX	(256 * 1024)
#define BINARY_MAX	(32 * 1024 * 1024)

static struct {
	char	*script;	/* owned */
	size_t	 script_len;
	char	*binary;	/* owned */
	size_t	 binary_len;
	char	 sha256[MC_SHA256_HEX];
} inst;

static const char *
first_readable(const char *const *paths)
{
	for (; *paths != NULL; paths++)
		if (access(*paths, R_OK) == 0)
			return *paths;
	return NULL;
}

void
hub_install_load(void)
{
	char prefix[MC_PATH_MAX], share_sh[MC_PATH_MAX + 32],
	    share_bin[MC_PATH_MAX + 32], bin[MC_PATH_MAX + 32];
	const char *const scripts[] = { "install.sh", share_sh, NULL };
	const char *const bins[] = { "build/maestro-listener", share_bin, bin,
	    NULL };
	const char *s, *b;

	/* the repository's files when run from it, else the installed ones */
	hub_conf_prefix(prefix, sizeof(prefix));
	snprintf(share_sh, sizeof(share_sh), "%s/share/maestro/install.sh",
	    prefix);
	snprintf(share_bin, sizeof(share_bin),
	    "%s/share/maestro/maestro-listener", prefix);
	snprintf(bin, sizeof(bin), "%s/bin/maestro-listener", prefix);
	s = hub.conf.install_script[0] ? hub.conf.install_script :
	    first_readable(scripts);
	b = hub.conf.listener_binary[0] ? hub.conf.listener_binary :
	    first_readable(bins);

	hub_install_free();
	if (s && (inst.script = mc_read_file(s, SCRIPT_MAX,
	    &inst.script_len)) == NULL)
		mc_warn("install.sh: cannot read %s: %s", s, strerror(errno));
	if (b && (inst.binary = mc_read_file(b, BINARY_MAX,
	    &inst.binary_len)) == NULL)
		mc_warn("listener binary: cannot read %s: %s", b,
		    strerror(errno));
	if (inst.binary) {
		mc_sha256_hex(inst.binary, inst.binary_len, inst.sha256);
		mc_info("serving the listener from %s (%zu bytes, sha256 %s) "
		    "and /install.sh", b, inst.binary_len, inst.sha256);
	} else
		mc_info("no listener binary to serve (listener_binary = "
		    "FILE); /install.sh will need --binary");
}

void
hub_install_free(void)
{
	free(inst.script);
	free(inst.binary);
	memset(&inst, 0, sizeof(inst));
}

/* Replace the line starting with key (e.g. "HUB_DEFAULT=") by key"value". */
static int
put_default(struct mc_buf *out, const char *line, size_t len,
    const char *key, const char *value)
{
	size_t kl = strlen(key);

	if (len < kl || memcmp(line, key, kl) != 0)
		return 0;
	mc_buf_printf(out, "%s\"%s\"\n", key, value);
	return 1;
}

int
hub_install_script(const char *host, struct mc_buf *out)
{
	char url[300];
	const char *p, *nl;
	size_t len;

	if (inst.script == NULL)
		return -1;
	/* the Host header is the name the operator reached us by; keep it
	 * to what a URL may hold */
	if (host[0] == '\0' || strpbrk(host, "\"'`$\\ ;&|<>") != NULL)
		return -1;
	snprintf(url, sizeof(url), "%s://%s", hub.conf.insecure_no_tls ?
	    "ws" : "wss", host);
	for (p = inst.script; p < inst.script + inst.script_len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(inst.script + inst.script_len -
		    p));
		if (nl == NULL)
			nl = inst.script + inst.script_len - 1;
		len = (size_t)(nl - p + 1);
		if (!put_default(out, p, len, "HUB_DEFAULT=", url) &&
		    !put_default(out, p, len, "FINGERPRINT_DEFAULT=",
		    hub.fingerprint))
			mc_buf_append(out, p, len);
	}
	return 0;
}

int
hub_install_binary(const char **data, size_t *len)
{
	if (inst.binary == NULL)
		return -1;
	*data = inst.binary;
	*len = inst.binary_len;
	return 0;
}

const char *
hub_install_sha256(void)
{
	return inst.binary ? inst.sha256 : NULL;
}
