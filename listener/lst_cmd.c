/*
 * lst_cmd.c - commands from the hub: decode, drop repeats, check the
 * allow list, and dispatch through one table to the module of each kind.
 *
 * Every cmd is answered exactly once: a kind this listener does not
 * implement, a kind the allow list refuses and a cmd that cannot be
 * decoded all get a "failed" result with the reason, so nothing waits on
 * the hub forever; a cmd the hub sends again is never run again
 * (lst_hold.c).  An operator's signature is checked first (lst_signed.c):
 * a signed cmd runs its payload's command, so the allow list and the
 * rest see what will run.  The allow list is checked before anything
 * runs.
 */
#include <stdio.h>
#include <string.h>

#include "lst.h"
#include "mc_log.h"

/* The kinds this listener implements; any other is refused as not
 * supported. */
static const struct {
	enum mc_kind	 kind;
	void		(*run)(struct lst *, const struct mc_cmd *);
} kinds[] = {
	{ MC_KIND_SHELL, lst_cmd_shell },
	{ MC_KIND_DOCKER_PS, lst_cmd_docker_ps },
	{ MC_KIND_DOCKER_RESTART, lst_cmd_docker_restart },
	{ MC_KIND_RESTART, lst_cmd_restart },
	{ MC_KIND_STOP, lst_cmd_stop },
	{ MC_KIND_SCREENSHOT, lst_cmd_screenshot },
	{ MC_KIND_METRICS, lst_cmd_metrics },
	{ MC_KIND_CONTAINER_UPDATE, lst_cmd_ctr_update },
	{ MC_KIND_LISTENER_UPDATE, lst_update_cmd },
};

static void
fail_unsupported(struct lst *l, const char *id, const char *kind)
{
	char why[MC_TEXT_MAX];

	snprintf(why, sizeof(why), "command kind '%.64s' is not supported by "
	    "this listener version", kind);
	lst_cmd_fail(l, id, why);
}

/* A cmd that did not decode: answer it if it has a usable id. */
static void
cmd_bad(struct lst *l, const struct mc_msg *m, const char *err)
{
	const char *id = mc_json_str(m->root, "id");
	const char *kind = mc_json_str(m->root, "kind");
	enum mc_kind k;

	if (id == NULL || id[0] == '\0' || strlen(id) >= MC_ID_MAX) {
		mc_warn("command from hub without a usable id: %s", err);
		return;
	}
	if (lst_hold_begin(l, id) == 1)
		return;
	if (mc_kind_parse(kind, &k) == -1)
		fail_unsupported(l, id, kind);
	else
		lst_cmd_fail(l, id, err);
}

void
lst_cmd_handle(struct lst *l, const struct mc_msg *m)
{
	struct mc_cmd c;
	char err[256];
	size_t i;
	int r;

	if (mc_cmd_decode(m, &c, err, sizeof(err)) == -1) {
		cmd_bad(l, m, err);
		return;
	}
	r = lst_hold_begin(l, c.id);
	if (r == 1)
		return;
	if (r == -1) {
		lst_cmd_fail(l, c.id, "too many commands wait for the hub's "
		    "acknowledgement");
		return;
	}
	if (lst_signed_cmd(l, m, &c, err, sizeof(err)) == -1) {
		mc_warn("command %s refused: %s", c.id, err);
		lst_cmd_fail(l, c.id, err);
		return;
	}
	mc_info("command %s: %s", c.id, mc_kind_name(c.kind));
	if (c.cmd[0] != '\0')
		mc_debug("command %s line: %s", c.id, c.cmd);
	if ((l->allow & (1u << c.kind)) == 0) {
		lst_cmd_fail(l, c.id, "not allowed on this agent");
		return;
	}
	if (l->restart_id[0] != '\0') {
		lst_cmd_fail(l, c.id, "the listener is restarting");
		return;
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (kinds[i].kind == c.kind) {
			kinds[i].run(l, &c);
			return;
		}
	}
	fail_unsupported(l, c.id, mc_kind_name(c.kind));
}

int
lst_cmd_allow_parse(const char *list, unsigned *mask, char *err,
    size_t errlen)
{
	char copy[256], *p, *next, *t;
	enum mc_kind k;

	*mask = ((1u << MC_KIND_COUNT) - 1) | LST_ALLOW_TERMINAL;
	if (mc_strlcpy(copy, list, sizeof(copy)) == -1) {
		snprintf(err, errlen, "list too long");
		return -1;
	}
	if (*mc_trim(copy) == '\0' || strcmp(mc_trim(copy), "all") == 0)
		return 0;
	*mask = 0;
	for (p = copy; *p != '\0'; p = next) {
		next = p + strcspn(p, ",");
		if (*next == ',')
			*next++ = '\0';
		t = mc_trim(p);
		if (*t == '\0')
			continue;
		/* terminal sessions are no command kind, but allowed alike */
		if (strcmp(t, "terminal") == 0) {
			*mask |= LST_ALLOW_TERMINAL;
			continue;
		}
		if (mc_kind_parse(t, &k) == -1) {
			snprintf(err, errlen, "unknown command kind '%s' (shell, "
			    "docker_ps, docker_restart, restart, stop, "
			    "screenshot, metrics, container_update, "
			    "listener_update, terminal)", t);
			return -1;
		}
		*mask |= 1u << k;
	}
	return 0;
}

void
lst_cmd_result(struct lst *l, const struct mc_result *r)
{
	lst_hold_result(l, r);
}

void
lst_cmd_started(struct lst *l, const char *id, pid_t pid)
{
	struct mc_started s;

	memset(&s, 0, sizeof(s));
	mc_strlcpy(s.id, id, sizeof(s.id));
	s.pid = (int)pid;
	if (mc_started_encode(lst_ws_buf(l), &s) == -1 ||
	    lst_ws_send(l, LST_Q_CTRL) == -1)
		mc_warn("command %s: 'started' dropped: send queue full", id);
}

int
lst_cmd_output(struct lst *l, const char *id, const void *data, size_t len,
    uint64_t cap)
{
	struct mc_out o;
	size_t off;

	if (len > cap)
		len = (size_t)cap;
	memset(&o, 0, sizeof(o));
	mc_strlcpy(o.id, id, sizeof(o.id));
	o.stream = MC_STDOUT;
	o.has_at = 1;
	for (off = 0; off < len; off += o.len) {
		o.data = (const char *)data + off;
		o.len = len - off < MC_OUT_CHUNK ? len - off : MC_OUT_CHUNK;
		o.at = off;
		if (mc_out_encode(lst_ws_buf(l), &o) == -1 ||
		    lst_ws_send_out(l, LST_Q_CTRL, id) == -1)
			return -1;
	}
	return 0;
}

void
lst_cmd_fail(struct lst *l, const char *id, const char *why)
{
	struct mc_result r;

	memset(&r, 0, sizeof(r));
	mc_strlcpy(r.id, id, sizeof(r.id));
	r.outcome = MC_FAILED;
	r.exit_code = -1;
	mc_strlcpy(r.error, why, sizeof(r.error));
	mc_info("command %s failed: %s", id, why);
	lst_cmd_result(l, &r);
}
