/*
 * hub_rules.c - threshold rules on the metrics of every heartbeat.
 *
 * A rule is one hub config line, "rule = METRIC OP VALUE for DURATION
 * [tag=TAG]", e.g. "rule = disk_used_pct > 90 for 5m".  It fires once when
 * its condition has held for the duration (measured between heartbeats)
 * and clears once when the condition stops holding; hub_alert.c turns both
 * into messages.  A figure the agent does not report (a GPU figure of a
 * machine without one, a temperature without a sensor) is NAN, which
 * neither starts nor ends a condition: such a rule never fires for it.
 * A line that does not parse fails config loading with file:line (the
 * loader adds them to the reason given here).
 *
 * container_restarts is counted over a window, not held: "container_restarts
 * > 3 for 10m" holds while one of the agent's containers was restarted by
 * its restart policy more than 3 times within the last 10 minutes (the hub
 * remembers HUB_CTR_RING restarts a container, so the threshold stays
 * below that); it fires at once and clears when the window has slid past
 * enough of them.
 *
 * Cost: O(rules) per heartbeat, no allocation after an agent's first.
 * Each agent's state is one array, hung on the agent and tagged with the
 * generation of the rule set it belongs to.  A SIGHUP that installs new
 * rules carries each agent's state over for every rule whose text did not
 * change (O(agents x rules) once), so a rule that fired does not fire
 * again; a rule that was removed ends without a message.
 *
 * The rules in force are hub.conf's followed by the config repository's
 * (hub_gitcfg_apply.c): each source replaces only its own part, so a
 * SIGHUP keeps the repository's rules and a new commit keeps hub.conf's.
 * Parsing (hub_rules_new/add/free) touches nothing shared and may run on
 * any thread; installing is the service thread's.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_ctr.h"
#include "mc_log.h"
#include "mc_util.h"

#define RULE_TEXT_MAX	96
#define RULE_DUR_MAX	(30.0 * 86400)

enum metric { M_CPU, M_MEM, M_DISK, M_SWAP, M_LOAD1, M_GPU_UTIL, M_GPU_MEM,
	M_GPU_TEMP, M_TEMP, M_CTR_RESTARTS };
enum op { OP_GT, OP_GE, OP_LT, OP_LE };

static const struct {
	const char	*name;
	const char	*words;		/* how a message names it */
	const char	*unit;		/* after a value: "%", "°C" or "" */
	double		 max;		/* the highest threshold */
} metrics[] = {
	[M_CPU] = { "cpu_pct", "cpu", "%", 100 },
	[M_MEM] = { "mem_used_pct", "memory used", "%", 100 },
	[M_DISK] = { "disk_used_pct", "disk used", "%", 100 },
	[M_SWAP] = { "swap_used_pct", "swap used", "%", 100 },
	[M_LOAD1] = { "load1", "load (1 min)", "", 1e6 },
	[M_GPU_UTIL] = { "gpu_util_pct", "GPU utilisation", "%", 100 },
	[M_GPU_MEM] = { "gpu_mem_used_pct", "GPU memory used", "%", 100 },
	[M_GPU_TEMP] = { "gpu_temp_c", "GPU temperature", "°C", 300 },
	[M_TEMP] = { "temp_c", "CPU temperature", "°C", 300 },
	[M_CTR_RESTARTS] = { "container_restarts", "restarts of one container",
	    "", HUB_CTR_RING - 1 },
};

#define NMETRICS	(sizeof(metrics) / sizeof(metrics[0]))

static const struct {
	const char	*sym;
	const char	*words;
} ops[] = {
	[OP_GT] = { ">", "above" },
	[OP_GE] = { ">=", "at or above" },
	[OP_LT] = { "<", "below" },
	[OP_LE] = { "<=", "at or below" },
};

struct rule {
	enum metric	 m;
	enum op		 op;
	double		 value;
	double		 dur;		/* seconds */
	char		 tag[MC_TAG_MAX + 1];	/* "" for every agent */
	char		 text[RULE_TEXT_MAX];	/* as written */
};

struct hub_rules {
	struct rule	 r[MC_RULES_MAX];
	int		 n;
};

struct rule_one {
	int		 holding;	/* the condition holds ... */
	double		 since;		/* ... since (monotonic) */
	int		 fired;
};

/* commits an agent's rule state is carried across; past them (an agent
 * silent through 8 commits) it starts anew */
#define RULE_MAPS	8

struct hub_rule_state {
	uint64_t	 gen;		/* the rule set this belongs to */
	int		 cap;		/* s[] has room for this many */
	struct rule_one	 s[];		/* one per rule */
};

static struct {
	struct hub_rules *set;		/* owned: the rules in force */
	struct hub_rules *conf;		/* owned: hub.conf's, or NULL */
	struct hub_rules *git;		/* owned: the config repository's */
	uint64_t	  gen;
	/* per generation g (at g % RULE_MAPS): its rule i was rule
	 * map[..][i] of generation g - 1 (-1: new), and it had map_n rules */
	int		  map[RULE_MAPS][MC_RULES_MAX];
	int		  map_n[RULE_MAPS];
} rl;

/* ---- parsing ---- */

struct hub_rules *
hub_rules_new(void)
{
	return calloc(1, sizeof(struct hub_rules));
}

void
hub_rules_free(struct hub_rules *rs)
{
	free(rs);
}

/* The next word of *p (spaces around it skipped) into out. */
static void
word(const char **p, char *out, size_t outlen)
{
	const char *s = *p;
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strcspn(s, " \t");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, s, n);
	out[n] = '\0';
	s += strcspn(s, " \t");
	while (*s == ' ' || *s == '\t')
		s++;
	*p = s;
}

/* METRIC then OP, with or without spaces between them. */
static int
parse_head(const char **p, struct rule *r, char *err, size_t errlen)
{
	const char *s = *p;
	char name[32], names[256];
	size_t n, i, len;

	n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_");
	snprintf(name, sizeof(name), "%.*s", (int)n, s);
	for (i = 0; i < NMETRICS; i++)
		if (strcmp(metrics[i].name, name) == 0)
			break;
	if (i == NMETRICS || n >= sizeof(name)) {
		/* the list comes from the table: a new metric is in it */
		for (i = 0, len = 0; i < NMETRICS && len < sizeof(names); i++)
			len += (size_t)snprintf(names + len, sizeof(names) - len,
			    "%s%s", i ? ", " : "", metrics[i].name);
		snprintf(err, errlen, "rule: unknown metric '%s' (one of %s)",
		    name, names);
		return -1;
	}
	r->m = (enum metric)i;
	for (s += n; *s == ' ' || *s == '\t'; s++)
		;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		n = strlen(ops[i].sym);
		if (strncmp(s, ops[i].sym, n) == 0 && s[n] != '<' &&
		    s[n] != '>' && s[n] != '=')
			break;
	}
	if (i == sizeof(ops) / sizeof(ops[0])) {
		snprintf(err, errlen, "rule: expected >, >=, < or <= after "
		    "%s", metrics[r->m].name);
		return -1;
	}
	r->op = (enum op)i;
	*p = s + strlen(ops[i].sym);
	return 0;
}

/* VALUE for DURATION [tag=TAG] */
static int
parse_tail(const char *p, struct rule *r, char *err, size_t errlen)
{
	char w[64];
	double hi = metrics[r->m].max;

	word(&p, w, sizeof(w));
	if (mc_parse_dbl(w, 0, hi, &r->value) == -1) {
		snprintf(err, errlen, "rule: '%s' is not a number from 0 to "
		    "%g", w, hi);
		return -1;
	}
	word(&p, w, sizeof(w));
	if (strcmp(w, "for") != 0) {
		snprintf(err, errlen, "rule: expected 'for DURATION' after "
		    "the value (e.g. for 5m)");
		return -1;
	}
	word(&p, w, sizeof(w));
	if (mc_parse_duration(w, &r->dur) == -1 || r->dur > RULE_DUR_MAX) {
		snprintf(err, errlen, "rule: '%s' is not a duration up to 30d "
		    "(e.g. 30s, 5m, 2h)", w);
		return -1;
	}
	if (r->m == M_CTR_RESTARTS && r->dur <= 0) {
		snprintf(err, errlen, "rule: container_restarts counts within "
		    "its duration, which must be more than 0 (e.g. for 10m)");
		return -1;
	}
	word(&p, w, sizeof(w));
	if (strncmp(w, "tag=", 4) == 0 && mc_tag_valid(w + 4) &&
	    strlen(w + 4) <= MC_TAG_MAX) {
		mc_strlcpy(r->tag, w + 4, sizeof(r->tag));
		word(&p, w, sizeof(w));
	} else if (strncmp(w, "tag=", 4) == 0) {
		snprintf(err, errlen, "rule: '%s' is not a valid tag", w + 4);
		return -1;
	}
	if (w[0] != '\0') {
		snprintf(err, errlen, "rule: unexpected '%s'; only tag=TAG may "
		    "follow the duration", w);
		return -1;
	}
	return 0;
}

int
hub_rules_add(struct hub_rules *rs, const char *text, char *err,
    size_t errlen)
{
	struct rule r;
	const char *p = text;

	memset(&r, 0, sizeof(r));
	if (rs->n >= MC_RULES_MAX) {
		snprintf(err, errlen, "rule: more than %d rules", MC_RULES_MAX);
		return -1;
	}
	if (mc_strlcpy(r.text, text, sizeof(r.text)) == -1) {
		snprintf(err, errlen, "rule: longer than %d bytes",
		    RULE_TEXT_MAX - 1);
		return -1;
	}
	if (parse_head(&p, &r, err, errlen) == -1 ||
	    parse_tail(p, &r, err, errlen) == -1)
		return -1;
	rs->r[rs->n++] = r;
	return 0;
}

/* Make rs (taken) the rules in force.  No agent is touched here: each
 * agent's state moves to the new rules at its next heartbeat
 * (state_get()), through the map kept for this generation, so a commit
 * that replaces 64 rules under 10,000 agents costs the loop a few
 * microseconds, not a walk of every agent (bench/gitcfg_stall). */
static void
install_set(struct hub_rules *rs)
{
	struct hub_rules *old = rl.set;
	int *from, i, k;

	rl.set = rs;
	rl.gen++;
	from = rl.map[rl.gen % RULE_MAPS];
	rl.map_n[rl.gen % RULE_MAPS] = rs != NULL ? rs->n : 0;
	for (i = 0; rs != NULL && i < rs->n; i++)
		for (from[i] = -1, k = 0; old != NULL && k < old->n &&
		    from[i] == -1; k++)
			if (strcmp(rs->r[i].text, old->r[k].text) == 0)
				from[i] = k;
	hub_rules_free(old);
}

/* hub.conf's rules, then the repository's, as one set; the repository's
 * past MC_RULES_MAX in all are left out (and said). */
static void
rebuild(void)
{
	struct hub_rules *rs;
	int i, nconf = rl.conf ? rl.conf->n : 0, ngit = rl.git ? rl.git->n : 0;

	if (nconf + ngit == 0) {
		install_set(NULL);
		return;
	}
	if ((rs = hub_rules_new()) == NULL) {
		mc_err("rules: out of memory; the rules in force stay");
		return;
	}
	for (i = 0; i < nconf; i++)
		rs->r[rs->n++] = rl.conf->r[i];
	for (i = 0; i < ngit && rs->n < MC_RULES_MAX; i++)
		rs->r[rs->n++] = rl.git->r[i];
	if (i < ngit)
		mc_warn("rules: hub.conf has %d rules and the config repository "
		    "%d: only %d are in force (MC_RULES_MAX)", nconf, ngit,
		    MC_RULES_MAX);
	install_set(rs);
}

void
hub_rules_install(struct hub_rules *rs)
{
	hub_rules_free(rl.conf);
	rl.conf = rs;
	rebuild();
}

void
hub_rules_install_git(struct hub_rules *rs)
{
	hub_rules_free(rl.git);
	rl.git = rs;
	rebuild();
}

int
hub_rules_count_of(const struct hub_rules *rs)
{
	return rs ? rs->n : 0;
}

int
hub_rules_count(void)
{
	return rl.set ? rl.set->n : 0;
}

const char *
hub_rules_text(int i)
{
	return rl.set != NULL && i >= 0 && i < rl.set->n ? rl.set->r[i].text :
	    NULL;
}

/* ---- evaluation ---- */

/* The metric's value; for disk, the fullest filesystem's mount point,
 * for container_restarts the container's name (in *mount). */
static double
metric_value(const struct hub_agent *a, const struct mc_metrics *x,
    const struct rule *r, const char **mount)
{
	double worst = -1, p;
	int i;

	*mount = NULL;
	switch (r->m) {
	case M_CTR_RESTARTS:
		return a->ctr == NULL ? NAN : hub_ctr_restarts(a, r->dur, mount);
	case M_CPU:
		return mc_metrics_cpu_pct(x);
	case M_MEM:
		return mc_metrics_mem_pct(x);
	case M_SWAP:
		return x->swap_total ? 100.0 * (double)x->swap_used /
		    (double)x->swap_total : 0;
	case M_LOAD1:
		return x->load[0];
	case M_GPU_UTIL:
		return mc_metrics_gpu_util(x);
	case M_GPU_MEM:
		return mc_metrics_gpu_mem_pct(x);
	case M_GPU_TEMP:
		return mc_metrics_gpu_temp(x);
	case M_TEMP:
		return mc_metrics_cpu_temp(x);
	case M_DISK:
		for (i = 0; i < x->nfs; i++) {
			if (x->fs[i].total == 0)
				continue;
			p = 100.0 * (double)x->fs[i].used /
			    (double)x->fs[i].total;
			if (p > worst) {
				worst = p;
				*mount = x->fs[i].mount;
			}
		}
		return worst < 0 ? 0 : worst;
	}
	return 0;
}

static int
holds(const struct rule *r, double v)
{
	switch (r->op) {
	case OP_GT: return v > r->value;
	case OP_GE: return v >= r->value;
	case OP_LT: return v < r->value;
	case OP_LE: return v <= r->value;
	}
	return 0;
}

/* "93%", "88°C" or "12.30", and " on /data" for a disk. */
static void
value_words(const struct rule *r, double v, const char *mount, char *out,
    size_t outlen)
{
	if (metrics[r->m].unit[0] != '\0')
		snprintf(out, outlen, "%.0f%s%s%s", v, metrics[r->m].unit,
		    mount ? " on " : "", mount ? mount : "");
	else
		snprintf(out, outlen, "%.2f", v);
}

/* "pc-gpu: container web restarted 4 times in 10m, more than 3 (rule
 * ...)." */
static void
restarts_text(struct hub_agent *a, const struct rule *r, double v,
    const char *name, int fired, char *out, size_t outlen)
{
	char dur[32];

	hub_alert_dur(r->dur, dur, sizeof(dur));
	if (fired)
		snprintf(out, outlen, "%s: container %s restarted %.0f times in "
		    "%s, %s %g (rule %s); docker logs %s on %s.", a->name,
		    name ? name : "?", v, dur, ops[r->op].words, r->value,
		    r->text, name ? name : "NAME", a->name);
	else
		snprintf(out, outlen, "%s: containers restarted at most %.0f "
		    "times in the last %s (rule %s no longer holds).", a->name,
		    v, dur, r->text);
}

static void
fire(struct hub_agent *a, int i, const struct rule *r, double v,
    const char *mount)
{
	char val[MC_MOUNT_MAX + 32], dur[32], text[512];

	if (r->m == M_CTR_RESTARTS) {
		restarts_text(a, r, v, mount, 1, text, sizeof(text));
		hub_alert_rule(a, i, r->text, 1, text);
		return;
	}
	value_words(r, v, mount, val, sizeof(val));
	hub_alert_dur(r->dur, dur, sizeof(dur));
	snprintf(text, sizeof(text), "%s: %s is %s, %s %g%s%s%s (rule %s).",
	    a->name, metrics[r->m].words, val, ops[r->op].words, r->value,
	    metrics[r->m].unit, r->dur > 0 ? " for " : "",
	    r->dur > 0 ? dur : "", r->text);
	hub_alert_rule(a, i, r->text, 1, text);
}

static void
clear(struct hub_agent *a, int i, const struct rule *r, double v,
    const char *mount, double held)
{
	char val[MC_MOUNT_MAX + 32], dur[32], text[512];

	if (r->m == M_CTR_RESTARTS) {
		restarts_text(a, r, v, mount, 0, text, sizeof(text));
		hub_alert_rule(a, i, r->text, 0, text);
		return;
	}
	value_words(r, v, mount, val, sizeof(val));
	hub_alert_dur(held, dur, sizeof(dur));
	snprintf(text, sizeof(text), "%s: %s is back to %s (rule %s held for "
	    "%s).", a->name, metrics[r->m].words, val, r->text, dur);
	hub_alert_rule(a, i, r->text, 0, text);
}

/* Rule i of the set in force, followed back through the maps to the
 * set of generation gen: its index there, or -1 (a rule added since). */
static int
rule_back(int i, uint64_t gen)
{
	uint64_t g;

	for (g = rl.gen; g > gen && i >= 0; g--)
		i = rl.map[g % RULE_MAPS][i];
	return i;
}

/* st (of generation st->gen, within RULE_MAPS of the set in force) moved
 * to the rules in force, in place where it fits; NULL when out of memory
 * (st freed). */
static struct hub_rule_state *
carry_over(struct hub_rule_state *st)
{
	struct rule_one was[MC_RULES_MAX];
	struct hub_rule_state *grown;
	int i, k, nold = rl.map_n[st->gen % RULE_MAPS];

	memcpy(was, st->s, (size_t)nold * sizeof(was[0]));
	if (st->cap < rl.set->n) {
		grown = realloc(st, sizeof(*st) + (size_t)rl.set->n *
		    sizeof(st->s[0]));
		if (grown == NULL) {
			free(st);
			return NULL;
		}
		st = grown;
		st->cap = rl.set->n;
	}
	for (i = 0; i < rl.set->n; i++) {
		k = rule_back(i, st->gen);
		if (k >= 0 && k < nold)
			st->s[i] = was[k];
		else
			memset(&st->s[i], 0, sizeof(st->s[i]));
	}
	st->gen = rl.gen;
	return st;
}

/* The agent's state for the rules in force: carried over from the rules
 * it last saw when they are recent enough (RULE_MAPS commits), else
 * made anew. */
static struct hub_rule_state *
state_get(struct hub_agent *a)
{
	struct hub_rule_state *st = a->rules;
	size_t size = sizeof(*st) + (size_t)rl.set->n * sizeof(st->s[0]);

	if (st != NULL && st->gen == rl.gen)
		return st;
	if (st != NULL && rl.gen - st->gen < RULE_MAPS)
		st = carry_over(st);
	else {
		free(st);
		if ((st = calloc(1, size)) != NULL) {
			st->gen = rl.gen;
			st->cap = rl.set->n;
		}
	}
	if ((a->rules = st) == NULL)
		mc_err("rules: out of memory for agent '%s'", a->name);
	return st;
}

static void
eval(struct hub_agent *a, const struct mc_metrics *m, int i,
    const struct rule *r, struct rule_one *s, double now)
{
	const char *mount;
	double v = metric_value(a, m, r, &mount);
	/* a count within its window holds at once */
	double hold = r->m == M_CTR_RESTARTS ? 0 : r->dur;

	if (isnan(v))		/* not measured (CPU in a first heartbeat) */
		return;
	if (!holds(r, v)) {
		if (s->fired)
			clear(a, i, r, v, mount, now - s->since);
		s->holding = s->fired = 0;
		return;
	}
	if (!s->holding) {
		s->holding = 1;
		s->since = now;
	}
	if (!s->fired && now - s->since >= hold) {
		s->fired = 1;
		fire(a, i, r, v, mount);
	}
}

void
hub_rules_on_hb(struct hub_agent *a, const struct mc_metrics *m)
{
	struct hub_rule_state *st;
	const struct rule *r;
	double now;
	int i;

	if (rl.set == NULL || rl.set->n == 0 || !a->have_metrics ||
	    (st = state_get(a)) == NULL)
		return;
	now = mc_now();
	for (i = 0; i < rl.set->n; i++) {
		r = &rl.set->r[i];
		if (r->tag[0] == '\0' || hub_agent_has_tag(a, r->tag))
			eval(a, m, i, r, &st->s[i], now);
	}
}

int
hub_rules_firing(const struct hub_agent *a)
{
	const struct hub_rule_state *st = a->rules;
	int i, n = 0;

	/* a state of an older rule set is carried over at the next
	 * heartbeat; until then its indexes mean other rules */
	if (st == NULL || rl.set == NULL || st->gen != rl.gen)
		return 0;
	for (i = 0; i < st->cap && i < rl.set->n; i++)
		n += st->s[i].fired;
	return n;
}

void
hub_rules_free_all(void)
{
	struct hub_agent *a;

	for (a = hub_agent_first(); a != NULL; a = a->next) {
		free(a->rules);
		a->rules = NULL;
	}
	hub_rules_free(rl.set);
	hub_rules_free(rl.conf);
	hub_rules_free(rl.git);
	rl.set = rl.conf = rl.git = NULL;
}
