/*
 * hub_gitcfg_parse.c - one commit of the config repository, read and
 * checked in full on the git thread before anything changes.
 *
 * The files are read straight from the commit's tree (no work tree, no
 * checkout on disk), each capped at HUB_GITCFG_FILE_MAX, so what is
 * applied is exactly the commit and a huge file costs one refusal.  The
 * repository holds rules.conf, silences.conf, agents.conf and
 * alerts.conf (see docs/config.md); any other file (a README) is not
 * read, but schedules.conf refuses the commit: the hub has no scheduled
 * commands, and a schedule silently not run would be worse.  Every line is
 * checked; the first bad one refuses the whole commit with
 * "file:line: why".  Nothing here touches the hub's state: rules are
 * parsed with hub_rules_add() into a set of their own.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <git2.h>

#include "hub_gitcfg.h"
#include "mc_util.h"

struct hub_gitcfg_set *
hub_gitcfg_set_new(void)
{
	struct hub_gitcfg_set *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->rules = hub_rules_new();
	s->silences = calloc(MC_SILENCES_MAX, sizeof(*s->silences));
	if (s->rules == NULL || s->silences == NULL) {
		hub_gitcfg_set_free(s);
		return NULL;
	}
	return s;
}

void
hub_gitcfg_set_free(struct hub_gitcfg_set *s)
{
	if (s == NULL)
		return;
	hub_rules_free(s->rules);
	free(s->silences);
	free(s->agents);
	free(s->routes);
	free(s);
}

/* ---- words ---- */

/* The next word of *p into out (spaces around it skipped); a value in
 * double quotes after key= keeps its spaces.  -1 when it does not fit or
 * a quote is not closed. */
static int
word(const char **p, char *out, size_t outlen)
{
	const char *s = *p, *e;
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s;
	while (*e != '\0' && *e != ' ' && *e != '\t') {
		if (*e == '"' && (e = strchr(e + 1, '"')) == NULL)
			return -1;
		e++;
	}
	n = (size_t)(e - s);
	if (n >= outlen)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	*p = e;
	return 0;
}

/* "key=value" or key="a value" -> value in place (quotes removed). */
static char *
kv_value(char *w)
{
	char *v = strchr(w, '=');
	size_t n;

	if (v == NULL)
		return NULL;
	*v++ = '\0';
	n = strlen(v);
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v[n - 1] = '\0';
		v++;
	}
	return v;
}

/* ---- rules.conf ---- */

static int
line_rule(struct hub_gitcfg_set *s, char *line, char *err, size_t errlen)
{
	return hub_rules_add(s->rules, line, err, errlen);
}

/* ---- silences.conf ---- */

/* YYYY-MM-DDTHH:MM[:SS]Z (UTC) -> wall clock.  0, or -1. */
static int
utc_parse(const char *w, double *out)
{
	struct tm tm;
	int n = 0, sec = 0;
	char z = 0;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(w, "%4d-%2d-%2dT%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &n) != 5)
		return -1;
	w += n;
	if (*w == ':' && sscanf(w, ":%2d%n", &sec, &n) == 1)
		w += n;
	z = *w++;
	if (z != 'Z' || *w != '\0' || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || sec < 0 || sec > 59 || tm.tm_year < 1970)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_sec = sec;
	*out = (double)timegm(&tm);
	return 0;
}

static int
silence_target(struct hub_silence_plan *p, const char *w, char *err,
    size_t errlen)
{
	if (strncmp(w, "tag:", 4) == 0) {
		if (!mc_tag_valid(w + 4) || mc_strlcpy(p->tag, w + 4,
		    sizeof(p->tag)) == -1) {
			snprintf(err, errlen, "'%s' is not a valid tag", w + 4);
			return -1;
		}
		return 0;
	}
	if (!mc_name_valid(w) || mc_strlcpy(p->agent, w,
	    sizeof(p->agent)) == -1) {
		snprintf(err, errlen, "'%s' is not an agent name or tag:TAG",
		    w);
		return -1;
	}
	return 0;
}

/* END: a time, or +DURATION after start. */
static int
silence_end(struct hub_silence_plan *p, const char *w, char *err,
    size_t errlen)
{
	double d;

	if (w[0] == '+') {
		if (mc_parse_duration(w + 1, &d) == -1 || d <= 0) {
			snprintf(err, errlen, "'%s' is not +DURATION (e.g. "
			    "+2h)", w);
			return -1;
		}
		p->until = p->start + d;
	} else if (utc_parse(w, &p->until) == -1) {
		snprintf(err, errlen, "end '%s' is neither "
		    "YYYY-MM-DDTHH:MM[:SS]Z nor +DURATION", w);
		return -1;
	}
	if (p->until <= p->start ||
	    p->until - p->start > MC_SILENCE_MAX_SECS) {
		snprintf(err, errlen, "a silence ends after it starts and lasts "
		    "at most %d days", MC_SILENCE_MAX_SECS / 86400);
		return -1;
	}
	return 0;
}

static int
line_silence(struct hub_gitcfg_set *s, char *line, char *err, size_t errlen)
{
	struct hub_silence_plan *p;
	char w[MC_NAME_MAX + 8];
	const char *rest = line;

	if (s->nsilences >= MC_SILENCES_MAX) {
		snprintf(err, errlen, "more than %d silences", MC_SILENCES_MAX);
		return -1;
	}
	p = &s->silences[s->nsilences];
	memset(p, 0, sizeof(*p));
	if (word(&rest, w, sizeof(w)) == -1 ||
	    silence_target(p, w, err, errlen) == -1)
		goto bad;
	if (word(&rest, w, sizeof(w)) == -1 || utc_parse(w, &p->start) == -1) {
		snprintf(err, errlen, "start must be YYYY-MM-DDTHH:MM[:SS]Z "
		    "(UTC)");
		return -1;
	}
	if (word(&rest, w, sizeof(w)) == -1 ||
	    silence_end(p, w, err, errlen) == -1)
		goto bad;
	while (*rest == ' ' || *rest == '\t')
		rest++;
	if (mc_strlcpy(p->reason, rest, sizeof(p->reason)) == -1) {
		snprintf(err, errlen, "the reason is longer than %d bytes",
		    MC_TEXT_MAX - 1);
		return -1;
	}
	s->nsilences++;
	return 0;
bad:
	if (err[0] == '\0')
		snprintf(err, errlen, "expected AGENT|tag:TAG START END|+DURATION"
		    " [REASON]");
	return -1;
}

/* ---- agents.conf ---- */

static int
agent_tags(struct hub_gitcfg_agent *a, char *v, char *err, size_t errlen)
{
	char *t, *next;

	for (t = v; t != NULL && *t != '\0'; t = next) {
		if ((next = strchr(t, ',')) != NULL)
			*next++ = '\0';
		if (a->ntags >= MC_TAGS_MAX) {
			snprintf(err, errlen, "more than %d tags", MC_TAGS_MAX);
			return -1;
		}
		if (!mc_tag_valid(t)) {
			snprintf(err, errlen, "'%.40s' is not a valid tag", t);
			return -1;
		}
		mc_strlcpy(a->tags[a->ntags++], t, sizeof(a->tags[0]));
	}
	return 0;
}

static int
agent_key(struct hub_gitcfg_agent *a, char *w, char *err, size_t errlen)
{
	char *v = kv_value(w);

	if (v == NULL) {
		snprintf(err, errlen, "'%.40s' is not KEY=VALUE", w);
		return -1;
	}
	if (strcmp(w, "tags") == 0)
		return agent_tags(a, v, err, errlen);
	if (strcmp(w, "description") == 0 &&
	    mc_strlcpy(a->description, v, sizeof(a->description)) == 0)
		return 0;
	if (strcmp(w, "owner") == 0 &&
	    mc_strlcpy(a->owner, v, sizeof(a->owner)) == 0)
		return 0;
	if (strcmp(w, "tags") != 0 && strcmp(w, "description") != 0 &&
	    strcmp(w, "owner") != 0)
		snprintf(err, errlen, "unknown key '%.40s' (tags, description, "
		    "owner)", w);
	else
		snprintf(err, errlen, "%s is too long", w);
	return -1;
}

static int
line_agent(struct hub_gitcfg_set *s, char *line, char *err, size_t errlen)
{
	struct hub_gitcfg_agent *a, *grown;
	char w[MC_TEXT_MAX + 32];
	const char *rest = line;

	if (s->nagents >= HUB_GITCFG_AGENTS_MAX) {
		snprintf(err, errlen, "more than %d agents",
		    HUB_GITCFG_AGENTS_MAX);
		return -1;
	}
	/* grows by doubling: owned by s */
	if ((s->nagents & (s->nagents - 1)) == 0) {
		grown = realloc(s->agents, (size_t)(s->nagents ? s->nagents * 2
		    : 16) * sizeof(*a));
		if (grown == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		s->agents = grown;
	}
	a = &s->agents[s->nagents];
	memset(a, 0, sizeof(*a));
	if (word(&rest, w, sizeof(w)) == -1 || !mc_name_valid(w) ||
	    mc_strlcpy(a->name, w, sizeof(a->name)) == -1) {
		snprintf(err, errlen, "a line starts with a valid agent name");
		return -1;
	}
	while (*rest != '\0') {
		if (word(&rest, w, sizeof(w)) == -1) {
			snprintf(err, errlen, "a value is too long or its quote "
			    "is not closed");
			return -1;
		}
		if (w[0] != '\0' && agent_key(a, w, err, errlen) == -1)
			return -1;
	}
	s->nagents++;
	return 0;
}

static int
agent_cmp(const void *x, const void *y)
{
	return strcmp(((const struct hub_gitcfg_agent *)x)->name,
	    ((const struct hub_gitcfg_agent *)y)->name);
}

int
hub_gitcfg_parse_end(struct hub_gitcfg_set *s, char *err, size_t errlen)
{
	int i;

	if (s->nagents > 1)
		qsort(s->agents, (size_t)s->nagents, sizeof(s->agents[0]),
		    agent_cmp);
	for (i = 1; i < s->nagents; i++) {
		if (strcmp(s->agents[i - 1].name, s->agents[i].name) == 0) {
			snprintf(err, errlen, "agents.conf: agent '%s' is "
			    "given twice", s->agents[i].name);
			return -1;
		}
	}
	return 0;
}

/* ---- alerts.conf ---- */

/* CHANNEL[,CHANNEL...]: each known and configured in hub.conf (a route
 * to a channel the hub lacks would lose its alerts). */
static int
route_chans(struct hub_gitcfg_route *r, char *w, char *err, size_t errlen)
{
	unsigned have = hub_notify_configured(), bit;
	char *c, *next;

	for (c = w; c != NULL; c = next) {
		if ((next = strchr(c, ',')) != NULL)
			*next++ = '\0';
		if ((bit = hub_notify_chan_bit(c)) == 0) {
			snprintf(err, errlen, "unknown channel '%.40s' (telegram, "
			    "discord, webhook, push)", c);
			return -1;
		}
		if (!(have & bit)) {
			snprintf(err, errlen, "channel '%s' is not configured in "
			    "hub.conf (docs/alerts.md): alerts routed to it would "
			    "be lost", c);
			return -1;
		}
		r->chans |= bit;
	}
	return 0;
}

static int
line_alert(struct hub_gitcfg_set *s, char *line, char *err, size_t errlen)
{
	struct hub_gitcfg_route *r;
	char match[MC_NAME_MAX + 16], chans[128], more[2];
	const char *rest = line;

	if (s->nroutes >= HUB_GITCFG_ROUTES_MAX) {
		snprintf(err, errlen, "more than %d routes",
		    HUB_GITCFG_ROUTES_MAX);
		return -1;
	}
	/* owned by s */
	if (s->routes == NULL && (s->routes = calloc(HUB_GITCFG_ROUTES_MAX,
	    sizeof(*s->routes))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r = &s->routes[s->nroutes];
	memset(r, 0, sizeof(*r));
	if (word(&rest, match, sizeof(match)) == -1 ||
	    word(&rest, chans, sizeof(chans)) == -1 || chans[0] == '\0' ||
	    word(&rest, more, sizeof(more)) == -1 || more[0] != '\0') {
		snprintf(err, errlen, "expected MATCH CHANNEL[,CHANNEL...] with "
		    "MATCH tag:TAG, agent:NAME or *");
		return -1;
	}
	if (strncmp(match, "tag:", 4) == 0 && (!mc_tag_valid(match + 4) ||
	    mc_strlcpy(r->tag, match + 4, sizeof(r->tag)) == -1)) {
		snprintf(err, errlen, "'%s' is not a valid tag", match + 4);
		return -1;
	}
	if (strncmp(match, "agent:", 6) == 0 && (!mc_name_valid(match + 6) ||
	    mc_strlcpy(r->agent, match + 6, sizeof(r->agent)) == -1)) {
		snprintf(err, errlen, "'%s' is not an agent name", match + 6);
		return -1;
	}
	if (r->tag[0] == '\0' && r->agent[0] == '\0' &&
	    strcmp(match, "*") != 0) {
		snprintf(err, errlen, "'%.40s' matches nothing: tag:TAG, "
		    "agent:NAME or *", match);
		return -1;
	}
	if (route_chans(r, chans, err, errlen) == -1)
		return -1;
	s->nroutes++;
	return 0;
}

/* ---- files ---- */

typedef int (*line_fn)(struct hub_gitcfg_set *, char *, char *, size_t);

static const struct {
	const char	*name;
	line_fn		 fn;
} files[] = {
	{ "rules.conf", line_rule },
	{ "silences.conf", line_silence },
	{ "agents.conf", line_agent },
	{ "alerts.conf", line_alert },
};

#define NFILES	(sizeof(files) / sizeof(files[0]))

int
hub_gitcfg_parse_file(struct hub_gitcfg_set *s, const char *name,
    const char *text, size_t len, char *err, size_t errlen)
{
	char line[MC_CONF_LINE_MAX], why[HUB_GITCFG_ERR_MAX];
	size_t i, at = 0, n;
	const char *nl;
	int lineno = 0;

	for (i = 0; i < NFILES && strcmp(files[i].name, name) != 0; i++)
		;
	if (i == NFILES) {
		snprintf(err, errlen, "%s: not a config file", name);
		return -1;
	}
	while (at < len) {
		lineno++;
		nl = memchr(text + at, '\n', len - at);
		n = nl ? (size_t)(nl - (text + at)) : len - at;
		if (n >= sizeof(line) || memchr(text + at, '\0', n) != NULL) {
			snprintf(err, errlen, "%s:%d: %s", name, lineno,
			    n >= sizeof(line) ? "line too long" : "NUL byte");
			return -1;
		}
		memcpy(line, text + at, n);
		line[n] = '\0';
		at += n + 1;
		if (*mc_trim(line) == '\0' || *mc_trim(line) == '#')
			continue;
		why[0] = '\0';
		if (files[i].fn(s, mc_trim(line), why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s:%d: %s", name, lineno, why);
			return -1;
		}
	}
	return 0;
}

/* ---- a commit's tree ---- */

/* The blob of name in tree into the set; a file absent is empty. */
static int
parse_blob(git_repository *repo, git_tree *tree, const char *name,
    struct hub_gitcfg_set *s, char *err, size_t errlen)
{
	const git_tree_entry *e = git_tree_entry_byname(tree, name);
	git_blob *blob = NULL;
	git_object_size_t size;
	int r;

	if (e == NULL)
		return 0;
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		snprintf(err, errlen, "%s: not a regular file", name);
		return -1;
	}
	if (git_blob_lookup(&blob, repo, git_tree_entry_id(e)) != 0) {
		snprintf(err, errlen, "%s: cannot read it: %s", name,
		    git_error_last() ? git_error_last()->message : "?");
		return -1;
	}
	size = git_blob_rawsize(blob);
	if (size > HUB_GITCFG_FILE_MAX) {
		snprintf(err, errlen, "%s: %llu bytes, more than the %d allowed "
		    "for one file", name, (unsigned long long)size,
		    HUB_GITCFG_FILE_MAX);
		git_blob_free(blob);
		return -1;
	}
	r = hub_gitcfg_parse_file(s, name, git_blob_rawcontent(blob),
	    (size_t)size, err, errlen);
	git_blob_free(blob);
	return r;
}

struct hub_gitcfg_set *
hub_gitcfg_parse_commit(struct git_repository *repo, struct git_commit *commit,
    char *err,
    size_t errlen)
{
	struct hub_gitcfg_set *s = hub_gitcfg_set_new();
	git_tree *tree = NULL;
	size_t i;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (git_commit_tree(&tree, commit) != 0) {
		snprintf(err, errlen, "cannot read the commit's tree: %s",
		    git_error_last() ? git_error_last()->message : "?");
		goto fail;
	}
	if (git_tree_entry_byname(tree, "schedules.conf") != NULL) {
		snprintf(err, errlen, "schedules.conf: the hub has no scheduled "
		    "commands, so nothing would run it; remove the file "
		    "(docs/config.md)");
		goto fail;
	}
	for (i = 0; i < NFILES; i++)
		if (parse_blob(repo, tree, files[i].name, s, err,
		    errlen) == -1)
			goto fail;
	if (hub_gitcfg_parse_end(s, err, errlen) == -1)
		goto fail;
	git_tree_free(tree);
	return s;
fail:
	git_tree_free(tree);
	hub_gitcfg_set_free(s);
	return NULL;
}
