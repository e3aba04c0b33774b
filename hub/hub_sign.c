/*
 * hub_sign.c - operator signatures as the hub relays them.
 *
 * The hub does not know which keys an agent trusts, so it cannot decide
 * whether a signed command will run; it only refuses what can never run
 * (a payload that does not parse, a signature that is not even its own
 * key's) and keeps the payload's fields for its records, so that history
 * shows what the listener will run.  The envelope itself travels on
 * verbatim (mc_cmd.sig, mc_term.sig) and is stored with the command as
 * {"signed":{...}} text so that a queued command survives a hub restart
 * with its signature.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "mc_util.h"

/* The envelope's signature checked against the envelope's own key. */
static int
sign_self_check(const struct mc_sig *s, char *err, size_t errlen)
{
	char line[MC_KEYLINE_MAX], kerr[128];
	const struct mc_pubkey *by;
	struct mc_pubkey k;

	snprintf(line, sizeof(line), "ed25519:%s", s->key);
	if (mc_pubkey_parse(line, &k, kerr, sizeof(kerr)) == -1) {
		snprintf(err, errlen, "bad signature: key: %s", kerr);
		return -1;
	}
	if (mc_sig_verify(s, MC_SIG_DOMAIN_CMD, &k, 1, &by, kerr,
	    sizeof(kerr)) == -1) {
		snprintf(err, errlen, "bad signature: it does not match its "
		    "payload");
		return -1;
	}
	return 0;
}

int
hub_sign_read(const struct mc_json *o, struct hub_signed *s, char *err,
    size_t errlen)
{
	int r = mc_sig_read(o, &s->sig, err, errlen);

	if (r != 1)
		return r;
	if (mc_sigcmd_read(s->sig.payload, s->sig.len, &s->sc, err,
	    errlen) == -1 || sign_self_check(&s->sig, err, errlen) == -1)
		return -1;
	return 1;
}

int
hub_sign_read_env(const struct mc_json *env, struct hub_signed *s,
    char *err, size_t errlen)
{
	struct mc_json member, wrap;

	/* mc_sig_read reads the member "signed" of a message: give the
	 * bare envelope (a fan-out array element) such a parent */
	member = *env;
	member.key = "signed";
	member.next = NULL;
	memset(&wrap, 0, sizeof(wrap));
	wrap.type = MC_JOBJ;
	wrap.child = &member;
	wrap.len = 1;
	if (hub_sign_read(&wrap, s, err, errlen) == 1)
		return 0;
	if (env->type != MC_JOBJ)
		snprintf(err, errlen, "each of \"signed\" must be an object "
		    "{\"payload\", \"key\", \"sig\"}");
	return -1;
}

int
hub_sign_req(const struct hub_signed *s, const char *agent,
    struct hub_cmd_req *q, char *err, size_t errlen)
{
	if (strcmp(s->sc.agent, agent) != 0) {
		snprintf(err, errlen, "signed for agent %s, not %s",
		    s->sc.agent, agent);
		return -1;
	}
	if (mc_kind_parse(s->sc.kind, &q->kind) == -1) {
		snprintf(err, errlen, "signed kind '%s' is no command",
		    s->sc.kind);
		return -1;
	}
	/* one text per command, as hub_cmd keeps it: container_update's
	 * image where a shell command keeps its line */
	q->cmd = q->kind == MC_KIND_CONTAINER_UPDATE ? s->sc.image :
	    s->sc.cmd;
	if (q->cmd[0] == '\0')
		q->cmd = NULL;
	q->arg = s->sc.arg;
	q->prune = s->sc.prune;
	q->timeout = s->sc.timeout > 0 ? s->sc.timeout :
	    q->kind == MC_KIND_CONTAINER_UPDATE ? HUB_UPDATE_TIMEOUT :
	    MC_TIMEOUT_DEFAULT;
	q->sig = &s->sig;
	return 0;
}

char *
hub_sign_text(const struct mc_sig *s)
{
	struct mc_buf b;
	struct mc_jw w;

	if (s == NULL)
		return NULL;
	mc_buf_init(&b, MC_SIG_PAYLOAD_MAX * 2 + 512);
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_sig_write(&w, s);
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == -1 || b.data == NULL) {
		mc_buf_free(&b);
		return NULL;
	}
	return b.data;	/* NUL-terminated, as every mc_buf */
}

struct mc_sig *
hub_sign_parse(const char *text)
{
	struct mc_jdoc *d;
	struct mc_sig *s;
	char err[128];

	if (text == NULL || *text == '\0' ||
	    (s = malloc(sizeof(*s))) == NULL)
		return NULL;
	if ((d = mc_json_parse(text, strlen(text), err, sizeof(err))) ==
	    NULL || mc_sig_read(mc_json_root(d), s, err, sizeof(err)) != 1) {
		free(s);
		s = NULL;
	}
	mc_json_free(d);
	return s;
}
