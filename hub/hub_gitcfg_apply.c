/*
 * hub_gitcfg_apply.c - the service thread's side of the config
 * repository: apply what the git thread found, show it, answer syncs.
 *
 * A round of the git thread (hub_gitcfg.c) arrives whole on wake-up
 * (hub_gitcfg_drain()).  A good commit is applied in one step, here, with
 * no disk, network or libgit2 on the way: the repository's rules replace
 * its previous ones (hub_rules_install_git()), its silences replace its
 * previous ones (hub_silence_install_git()), and agents.conf's and
 * alerts.conf's tables replace the old ones.  A refused commit changes nothing: the last good
 * one stays in force, and the refusal is one event and one hub_fault
 * alert (once per commit).  POST /api/config/sync and rollback wait (a
 * deferred reply, at most HUB_GITCFG_WAITERS at once) for the round that
 * covers them and answer with the status, error included, as 200.
 * GET /api/config/diff is answered the same way, by hub_gitcfg_diff.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_api.h"
#include "hub_gitcfg.h"
#include "mc_log.h"
#include "mc_util.h"

struct waiter {
	uint64_t	 ticket;
	uint64_t	 seq;
};

static struct {
	struct hub_gitcfg_agent	*agents;	/* owned: in force, sorted */
	int			 nagents;
	struct hub_gitcfg_route	*routes;	/* owned: in force, in order */
	int			 nroutes;
	int			 applied;	/* a commit is in force */
	struct hub_gitcfg_commit commit;	/* ... this one */
	int			 rollback;	/* ... asked for by rollback */
	int			 nrules, nsilences;
	double			 apply_secs;	/* the last apply's run on
						 * this thread: its stall */
	double			 fetched;	/* wall clock; 0: never */
	int			 fetch_ok;
	char			 fetch_err[HUB_GITCFG_ERR_MAX];
	char			 refused_id[HUB_GITCFG_OID_HEX];
	char			 refused_err[HUB_GITCFG_ERR_MAX];
	int			 nlog;
	struct hub_gitcfg_commit log[HUB_GITCFG_LOG_MAX];
	uint64_t		 seq;		/* syncs asked */
	struct waiter		 w[HUB_GITCFG_WAITERS];
	int			 nw;
} ga;

/* ---- agents.conf in force ---- */

const struct hub_gitcfg_agent *
hub_gitcfg_agent_find(const char *name)
{
	int lo = 0, hi = ga.nagents - 1, mid, c;

	while (lo <= hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, ga.agents[mid].name);
		if (c == 0)
			return &ga.agents[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

int
hub_gitcfg_agents(const struct hub_gitcfg_agent **out)
{
	*out = ga.agents;
	return ga.nagents;
}

int
hub_gitcfg_has_tag(const char *agent, const char *tag)
{
	const struct hub_gitcfg_agent *g = hub_gitcfg_agent_find(agent);
	int i;

	for (i = 0; g != NULL && i < g->ntags; i++)
		if (strcmp(g->tags[i], tag) == 0)
			return 1;
	return 0;
}

void
hub_gitcfg_write_tags(struct mc_jw *w, const struct hub_agent *a)
{
	const struct hub_gitcfg_agent *g = hub_gitcfg_agent_find(a->name);
	int i, k, dup;

	for (i = 0; g != NULL && i < g->ntags; i++) {
		for (k = 0, dup = 0; k < a->ntags && !dup; k++)
			dup = strcmp(a->tags[k], g->tags[i]) == 0;
		if (!dup)
			mc_jw_str(w, NULL, g->tags[i]);
	}
}

void
hub_gitcfg_write_agent(struct mc_jw *w, const struct hub_agent *a)
{
	const struct hub_gitcfg_agent *g = hub_gitcfg_agent_find(a->name);
	int i;

	if (g == NULL)
		return;
	mc_jw_arr(w, "config_tags");
	for (i = 0; i < g->ntags; i++)
		mc_jw_str(w, NULL, g->tags[i]);
	mc_jw_arr_end(w);
	mc_jw_str(w, "description", g->description);
	mc_jw_str(w, "owner", g->owner);
}

/* ---- alerts.conf in force ---- */

static int
agent_tagged(const struct hub_agent *a, const char *name, const char *tag)
{
	int i;

	for (i = 0; a != NULL && i < a->ntags; i++)
		if (strcmp(a->tags[i], tag) == 0)
			return 1;
	return hub_gitcfg_has_tag(name, tag);
}

/* The first line that matches agent name: its channels; all without. */
static unsigned
route_of(const char *name)
{
	const struct hub_gitcfg_route *r;
	const struct hub_agent *a = hub_agent_find(name);
	int i;

	for (i = 0; i < ga.nroutes; i++) {
		r = &ga.routes[i];
		if (r->agent[0] != '\0' ? strcmp(r->agent, name) == 0 :
		    r->tag[0] != '\0' ? agent_tagged(a, name, r->tag) : 1)
			return r->chans;
	}
	return ~0u;
}

unsigned
hub_gitcfg_alert_chans(const struct hub_msg *m)
{
	unsigned to = 0;
	int i;

	if (ga.nroutes == 0 || m->test != 0)
		return ~0u;
	if (m->agent != NULL && m->agent[0] != '\0')
		return route_of(m->agent);
	for (i = 0; i < m->nagents; i++)
		to |= route_of(m->agents[i]);
	return m->nagents > 0 ? to : ~0u;
}

/* ---- applying ---- */

static void
apply(struct hub_gitcfg_result *r)
{
	struct hub_gitcfg_set *s = r->set;
	char text[MC_TEXT_MAX * 2];

	ga.nrules = hub_rules_count_of(s->rules);
	ga.nsilences = s->nsilences;
	hub_rules_install_git(s->rules);
	s->rules = NULL;
	hub_silence_install_git(s->silences, s->nsilences, r->commit.id);
	free(ga.agents);
	ga.agents = s->agents;
	ga.nagents = s->nagents;
	s->agents = NULL;
	free(ga.routes);
	ga.routes = s->routes;
	ga.nroutes = s->nroutes;
	s->routes = NULL;
	ga.applied = 1;
	ga.commit = r->commit;
	ga.rollback = r->rollback;
	snprintf(text, sizeof(text), "%s commit %.12s by %s: %s (%d rules, %d "
	    "silences, %d agents)", r->rollback ? "Rolled back to" : "Applied",
	    r->commit.id, r->commit.author, r->commit.subject, ga.nrules,
	    ga.nsilences, ga.nagents);
	mc_info("config repository: %s", text);
	hub_event("config", "", "", r->rollback ? "rollback" : "applied", text);
	hub_backup_note(HUB_BACKUP_ALL, r->commit.author, "%s config commit "
	    "%.12s: %s", r->rollback ? "rolled back to" : "applied",
	    r->commit.id, r->commit.subject);
	if (ga.refused_id[0] != '\0')
		hub_alert_notice("hub_ok", "", "HUB: config repository applies "
		    "again", text);
	ga.refused_id[0] = ga.refused_err[0] = '\0';
}

static void
refuse(const struct hub_gitcfg_result *r)
{
	char text[HUB_GITCFG_ERR_MAX + 256];

	if (strcmp(ga.refused_id, r->commit.id) == 0)
		return;
	mc_strlcpy(ga.refused_id, r->commit.id, sizeof(ga.refused_id));
	mc_strlcpy(ga.refused_err, r->err, sizeof(ga.refused_err));
	snprintf(text, sizeof(text), "Config commit %.12s refused: %s. %s",
	    r->commit.id, r->err, ga.applied ? "The last good commit stays in "
	    "force." : "No commit of the repository is in force yet.");
	mc_warn("config repository: %s", text);
	hub_event("config", "", "", "refused", text);
	hub_alert_notice("hub_fault", "", "HUB: config commit refused", text);
}

static void
fetched(const struct hub_gitcfg_result *r)
{
	if (!r->fetch_ok && (ga.fetch_ok || ga.fetched == 0)) {
		mc_warn("config repository: %s", r->fetch_err);
		hub_event("config", "", "ok", "fetch_failed", r->fetch_err);
	} else if (r->fetch_ok && !ga.fetch_ok && ga.fetched != 0)
		hub_event("config", "", "fetch_failed", "ok", "The config "
		    "repository can be fetched again.");
	ga.fetched = r->fetched;
	ga.fetch_ok = r->fetch_ok;
	mc_strlcpy(ga.fetch_err, r->fetch_ok ? "" : r->fetch_err,
	    sizeof(ga.fetch_err));
	if (r->nlog > 0) {
		ga.nlog = r->nlog;
		memcpy(ga.log, r->log, sizeof(ga.log[0]) * (size_t)r->nlog);
	}
}

/* ---- the status ---- */

static void
commit_write(struct mc_jw *w, const char *key,
    const struct hub_gitcfg_commit *c)
{
	mc_jw_obj(w, key);
	mc_jw_str(w, "id", c->id);
	mc_jw_str(w, "author", c->author);
	mc_jw_str(w, "subject", c->subject);
	mc_jw_dbl(w, "time", c->time);
	mc_jw_obj_end(w);
}

static void
status_write(struct mc_jw *w)
{
	mc_jw_obj(w, NULL);
	mc_jw_bool(w, "enabled", hub_gitcfg_enabled());
	mc_jw_str(w, "repo", hub.conf.config_repo);
	mc_jw_str(w, "branch", hub.conf.config_branch);
	mc_jw_dbl(w, "poll", hub.conf.config_poll);
	if (ga.applied)
		commit_write(w, "applied", &ga.commit);
	else
		mc_jw_null(w, "applied");
	mc_jw_bool(w, "rollback", ga.rollback);
	mc_jw_i64(w, "rules", ga.nrules);
	mc_jw_i64(w, "silences", ga.nsilences);
	mc_jw_i64(w, "agents", ga.nagents);
	mc_jw_dbl(w, "apply_ms", ga.apply_secs * 1000);
	mc_jw_i64(w, "alert_routes", ga.nroutes);
	if (ga.fetched > 0)
		mc_jw_dbl(w, "last_fetch", ga.fetched);
	else
		mc_jw_null(w, "last_fetch");
	mc_jw_bool(w, "fetch_ok", ga.fetch_ok);
	mc_jw_str(w, "fetch_error", ga.fetch_err);
	mc_jw_str(w, "refused_commit", ga.refused_id);
	mc_jw_str(w, "refused_error", ga.refused_err);
	mc_jw_bool(w, "ok", hub_gitcfg_sync_ok());
	hub_backup_write(w);
	mc_jw_obj_end(w);
}

int
hub_gitcfg_sync_ok(void)
{
	return ga.fetch_ok && ga.refused_id[0] == '\0';
}

static void
answer(uint64_t ticket)
{
	struct mc_buf b;
	struct mc_jw w;
	size_t len;
	char *data;

	hub_api_body_begin(&b, &w);
	status_write(&w);
	data = mc_jw_done(&w) == 0 ? mc_buf_take(&b, &len) : NULL;
	mc_buf_free(&b);
	hub_api_deferred_fail(ticket, data, data ? len : 0, NULL, 500,
	    "internal", "the config status did not fit its reply");
}

static void
waiters_answer(uint64_t seq)
{
	int i, k = 0;

	for (i = 0; i < ga.nw; i++) {
		if (ga.w[i].seq <= seq)
			answer(ga.w[i].ticket);
		else
			ga.w[k++] = ga.w[i];
	}
	ga.nw = k;
}

void
hub_gitcfg_drain(void)
{
	struct hub_gitcfg_result *r = hub_gitcfg_take();
	double t0 = mc_now();
	int applied;

	hub_gitcfg_diff_drain();
	if (r == NULL)
		return;
	fetched(r);
	if ((applied = r->has_commit && r->set != NULL))
		apply(r);
	else if (r->has_commit)
		refuse(r);
	waiters_answer(r->seq);
	hub_gitcfg_result_free(r);
	/* the one part of a sync that runs on the loop, timed whole: the
	 * loop's stall for a commit (bench/gitcfg_stall) */
	if (applied)
		ga.apply_secs = mc_now() - t0;
}

/* ---- the API ---- */

/* GET /api/config */
void
hub_api_config(struct hub_req *r)
{
	struct mc_buf b;
	struct mc_jw w;

	hub_api_body_begin(&b, &w);
	status_write(&w);
	hub_api_body_send(r, 200, &b, &w);
}

/* GET /api/config/log: the branch's newest commits, as last fetched. */
void
hub_api_config_log(struct hub_req *r)
{
	struct mc_buf b;
	struct mc_jw w;
	int i;

	hub_api_body_begin(&b, &w);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "applied", ga.applied ? ga.commit.id : "");
	mc_jw_arr(&w, "commits");
	for (i = 0; i < ga.nlog; i++)
		commit_write(&w, NULL, &ga.log[i]);
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	hub_api_body_send(r, 200, &b, &w);
}

const char *
hub_gitcfg_applied_id(void)
{
	return ga.applied ? ga.commit.id : "";
}

int
hub_gitcfg_refuse_off(struct hub_req *r)
{
	if (hub_gitcfg_enabled())
		return 0;
	hub_http_error(r, 409, "not_configured", "the hub follows no config "
	    "repository: set config_repo in hub.conf (see docs/config.md)");
	return 1;
}

/* Defer r until the next round; ask for it (rollback may be NULL). */
static void
sync_ask(struct hub_req *r, const char *rollback)
{
	uint64_t ticket;

	if (hub_gitcfg_refuse_off(r))
		return;
	if (ga.nw == HUB_GITCFG_WAITERS) {
		hub_http_error(r, 503, "busy", "%d syncs are waiting already; "
		    "try again in a moment", HUB_GITCFG_WAITERS);
		r->http->retry_after = 1;
		return;
	}
	if ((ticket = hub_http_defer(r)) == 0)
		return;
	ga.w[ga.nw].ticket = ticket;
	ga.w[ga.nw].seq = ++ga.seq;
	ga.nw++;
	hub_gitcfg_ask(ga.seq, rollback);
}

/* POST /api/config/sync */
void
hub_api_config_sync(struct hub_req *r)
{
	hub_api_audit(r, "config_sync", "config sync asked");
	sync_ask(r, NULL);
}

int
hub_gitcfg_hex_valid(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n >= 4 && n < HUB_GITCFG_OID_HEX && s[n] == '\0';
}

/* POST /api/config/rollback {"commit":"HEX"} */
void
hub_api_config_rollback(struct hub_req *r)
{
	struct mc_jdoc *d = hub_api_body_json(r);
	const char *c;

	if (d == NULL)
		return;
	c = mc_json_str(mc_json_root(d), "commit");
	if (c == NULL || !hub_gitcfg_hex_valid(c)) {
		hub_http_error(r, 400, "bad_request", "commit must be a commit "
		    "id (4 to 40 lowercase hex digits)");
		mc_json_free(d);
		return;
	}
	hub_api_audit(r, "config_rollback", "config rollback to %s asked", c);
	sync_ask(r, c);
	mc_json_free(d);
}

/* ---- /metrics ---- */

void
hub_gitcfg_prom(struct mc_buf *b)
{
	if (!hub_gitcfg_enabled())
		return;
	hub_prom_family(b, "maestro_config_commit_info", "gauge",
	    "The config repository's commit in force.");
	if (ga.applied)
		mc_buf_printf(b, "maestro_config_commit_info{commit=\"%s\"} 1\n",
		    ga.commit.id);
	hub_prom_family(b, "maestro_config_sync_ok", "gauge",
	    "1 when the last fetch worked and its commit was applied.");
	mc_buf_printf(b, "maestro_config_sync_ok %d\n", hub_gitcfg_sync_ok());
	hub_prom_family(b, "maestro_config_apply_seconds", "gauge",
	    "How long the event loop spent applying the last commit.");
	mc_buf_printf(b, "maestro_config_apply_seconds %.6f\n", ga.apply_secs);
}

void
hub_gitcfg_free_all(void)
{
	free(ga.agents);
	ga.agents = NULL;
	ga.nagents = 0;
	hub_gitcfg_diff_free_all();
	free(ga.routes);
	ga.routes = NULL;
	ga.nroutes = 0;
}
