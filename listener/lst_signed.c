/*
 * lst_signed.c - the gate of operator signatures: a command or terminal
 * runs only as an operator key this agent trusts signed it, when it
 * trusts any (docs/protocol.md, "Signed commands").
 *
 * Rules kept here:
 * - No trust keys: nothing changes; a signature is relayed but not
 *   checked, and the command runs as the hub sent it.
 * - With trust keys, a signed command runs what its payload says, never
 *   the hub's own fields, and only after: the signature verifies against
 *   a trusted key, the payload names this agent, it is current by our
 *   clock, and its nonce has not run before (lst_seen.c notes it before
 *   it runs, so that a restart command cannot be replayed either).
 * - require_signed refuses what carries no signature, except a
 *   listener_update, whose release carries the operator's signature
 *   itself (checked where the update runs).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lst.h"
#include "mc_log.h"

#define UNSIGNED_WHY	"unsigned: this agent runs only commands signed by " \
			"a trusted operator key (hubctl --key)"

/* sig checked for kind (NULL: any command kind) and noted as run: 0
 * with the payload in sc, or -1 with err. */
static int
signed_check(struct lst *l, const struct mc_sig *sig, const char *kind,
    struct mc_sigcmd *sc, char *err, size_t errlen)
{
	const struct mc_pubkey *by;
	int64_t now = (int64_t)time(NULL);

	if (mc_sig_verify(sig, MC_SIG_DOMAIN_CMD, l->conf.trust,
	    l->conf.ntrust, &by, err, errlen) == -1 ||
	    mc_sigcmd_read(sig->payload, sig->len, sc, err, errlen) == -1)
		return -1;
	if (strcmp(sc->agent, l->hello.name) != 0) {
		snprintf(err, errlen, "signed for agent %s", sc->agent);
		return -1;
	}
	if (kind != NULL ? strcmp(sc->kind, kind) != 0 :
	    strcmp(sc->kind, MC_SIG_KIND_TERMINAL) == 0) {
		snprintf(err, errlen, "signed for %s, not %s", sc->kind,
		    kind != NULL ? kind : "a command");
		return -1;
	}
	if (mc_sigcmd_current(sc, now, err, errlen) == -1 ||
	    lst_seen_add(&l->seen, sc->nonce, sc->exp, now, err, errlen) ==
	    -1)
		return -1;
	mc_info("signed by %s: %s %s", by->name[0] ? by->name : by->b64,
	    sc->kind, sc->nonce);
	return 0;
}

/* The payload's command in place of the hub's; the hub's id and cap
 * stay (the cap bounds what the hub keeps). */
static int
signed_take(struct mc_cmd *c, const struct mc_sigcmd *sc, char *err,
    size_t errlen)
{
	if (mc_kind_parse(sc->kind, &c->kind) == -1) {
		snprintf(err, errlen, "signed kind '%s' is no command",
		    sc->kind);
		return -1;
	}
	mc_strlcpy(c->cmd, sc->cmd, sizeof(c->cmd));
	mc_strlcpy(c->arg, sc->arg, sizeof(c->arg));
	mc_strlcpy(c->image, sc->image, sizeof(c->image));
	c->prune = sc->prune;
	c->timeout = sc->timeout > 0 ? sc->timeout : MC_TIMEOUT_DEFAULT;
	return 0;
}

/*
 * The signature message m carries, into *sig: 1 read, 0 none and none is
 * needed (no trust keys: nothing is checked; or not required and
 * unsigned_ok), -1 refused with the reason in err.
 */
static int
signed_read(struct lst *l, const struct mc_msg *m, int unsigned_ok,
    struct mc_sig *sig, char *err, size_t errlen)
{
	int n;

	if (l->conf.ntrust == 0)
		return 0;
	if ((n = mc_sig_read(m->root, sig, err, errlen)) != 0)
		return n;
	if (!l->conf.require_signed || unsigned_ok)
		return 0;
	snprintf(err, errlen, "%s", UNSIGNED_WHY);
	return -1;
}

int
lst_signed_cmd(struct lst *l, const struct mc_msg *m, struct mc_cmd *c,
    char *err, size_t errlen)
{
	static struct mc_sig sig;	/* large; the loop is one thread */
	static struct mc_sigcmd sc;
	int n;

	/* a listener_update's release carries its own signature
	 * (lst_update.c) */
	n = signed_read(l, m, c->kind == MC_KIND_LISTENER_UPDATE, &sig, err,
	    errlen);
	if (n <= 0)
		return n;
	if (signed_check(l, &sig, NULL, &sc, err, errlen) == -1)
		return -1;
	return signed_take(c, &sc, err, errlen);
}

int
lst_signed_term(struct lst *l, const struct mc_msg *m, char *err,
    size_t errlen)
{
	static struct mc_sig sig;	/* large; the loop is one thread */
	static struct mc_sigcmd sc;
	int n;

	if ((n = signed_read(l, m, 0, &sig, err, errlen)) <= 0)
		return n;
	return signed_check(l, &sig, MC_SIG_KIND_TERMINAL, &sc, err, errlen);
}
