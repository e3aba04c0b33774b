/*
 * hub_backup_export.c - the hub's state as the files of a backup commit,
 * built on the service thread from what it holds in memory (no disk, no
 * git: the git thread gets the text whole).
 *
 * rules.conf, silences.conf and agents.conf are written in the config
 * repository's formats (hub_gitcfg_parse.c reads them back: a backup
 * repository can be a config_repo), tokens.conf and enroll-keys.conf are
 * the backup's own (docs/config.md) and the config repository ignores
 * them.  Secrets never reach a file: a token or key is named by its id,
 * and neither the secret nor its hash is written.  Nothing time-varying
 * goes into a file's header, so the same state is the same tree and the
 * git thread commits only what changed.  Each file is bounded.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub_backup.h"
#include "mc_util.h"

const char *const hub_backup_files[HUB_BACKUP_NFILES] = {
	"rules.conf", "silences.conf", "agents.conf", "tokens.conf",
	"enroll-keys.conf",
};

enum { F_RULES, F_SILENCES, F_AGENTS, F_TOKENS, F_KEYS };

/* Room left for one more line: a line is never longer than this. */
#define LINE_ROOM	(MC_CONF_LINE_MAX + 128)

static const char *const headers[HUB_BACKUP_NFILES] = {
	"# The threshold rules in force (hub.conf's and the config "
	"repository's),\n# written by maestro-hub (backup_repo).\n",
	"# The silences running or planned: AGENT|tag:TAG START END [REASON] "
	"(UTC),\n# written by maestro-hub (backup_repo).\n",
	"# Every agent the hub knows: the tags it reports and those "
	"agents.conf adds,\n# its description and owner; written by "
	"maestro-hub (backup_repo).\n",
	"# API tokens: ID name=NAME role=ROLE created=TIME.  Never the token "
	"nor its hash;\n# written by maestro-hub (backup_repo), not read by "
	"a config repository.\n",
	"# Enrollment keys: ID uses=N used=N expires=TIME|never "
	"created=TIME.  Never the key\n# nor its hash; written by "
	"maestro-hub (backup_repo), not read by a config repository.\n",
};

/* One file being written; lines stop with a note when it is full. */
struct out {
	struct mc_buf	 b;
	int		 full;
};

static int
line_room(struct out *o)
{
	if (o->full)
		return 0;
	if (o->b.len + LINE_ROOM <= HUB_BACKUP_FILE_MAX)
		return 1;
	o->full = 1;
	mc_buf_puts(&o->b, "# truncated: the rest did not fit the backup's "
	    "size cap for one file\n");
	return 0;
}

static void
utc(double t, char *out, size_t outlen)
{
	time_t s = (time_t)floor(t);
	struct tm tm;

	if (gmtime_r(&s, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		mc_strlcpy(out, "1970-01-01T00:00:00Z", outlen);
}

/* v with what would break a line or a quoted value made harmless. */
static void
put_clean(struct mc_buf *b, const char *v, int quoted)
{
	char c;

	for (; *v != '\0'; v++) {
		c = *v;
		if ((unsigned char)c < 0x20 || c == 0x7f)
			c = ' ';
		else if (quoted && c == '"')
			c = '\'';
		mc_buf_append(b, &c, 1);
	}
}

void
hub_backup_silence_line(struct mc_buf *b, const char *agent, const char *tag,
    double start, double until, const char *reason)
{
	char from[32], to[32];
	double s = floor(start), len = floor(until - start + 0.5);

	if (len < 1)
		len = 1;
	if (len > MC_SILENCE_MAX_SECS)
		len = MC_SILENCE_MAX_SECS;
	utc(s, from, sizeof(from));
	utc(s + len, to, sizeof(to));
	if (agent != NULL && agent[0] != '\0')
		mc_buf_printf(b, "%s %s %s", agent, from, to);
	else
		mc_buf_printf(b, "tag:%s %s %s", tag, from, to);
	if (reason != NULL && reason[0] != '\0') {
		mc_buf_puts(b, " ");
		put_clean(b, reason, 0);
	}
}

/* ---- the files ---- */

static void
rules_file(struct out *o)
{
	const char *text;
	int i;

	for (i = 0; (text = hub_rules_text(i)) != NULL && line_room(o); i++)
		mc_buf_printf(&o->b, "%s\n", text);
}

static void
silence_one(const struct hub_silence_plan *p, const char *id, const char *by,
    void *arg)
{
	struct out *o = arg;

	if (!line_room(o))
		return;
	mc_buf_printf(&o->b, "# %s by %s\n", id, by);
	hub_backup_silence_line(&o->b, p->agent, p->tag, p->start, p->until,
	    p->reason);
	mc_buf_puts(&o->b, "\n");
}

static void
tag_add(char tags[][MC_TAG_MAX + 1], int *n, const char *t)
{
	int i;

	for (i = 0; i < *n; i++)
		if (strcmp(tags[i], t) == 0)
			return;
	if (*n < MC_TAGS_MAX)
		mc_strlcpy(tags[(*n)++], t, MC_TAG_MAX + 1);
}

/* One agents.conf line: a (NULL when only agents.conf names it) and g
 * (NULL when agents.conf does not name it). */
static void
agent_line(struct out *o, const struct hub_agent *a,
    const struct hub_gitcfg_agent *g)
{
	char tags[MC_TAGS_MAX][MC_TAG_MAX + 1];
	int i, n = 0;

	if (!line_room(o))
		return;
	for (i = 0; a != NULL && i < a->ntags; i++)
		tag_add(tags, &n, a->tags[i]);
	for (i = 0; g != NULL && i < g->ntags; i++)
		tag_add(tags, &n, g->tags[i]);
	mc_buf_puts(&o->b, a != NULL ? a->name : g->name);
	for (i = 0; i < n; i++)
		mc_buf_printf(&o->b, "%s%s", i ? "," : " tags=", tags[i]);
	if (g != NULL && g->description[0] != '\0') {
		mc_buf_puts(&o->b, " description=\"");
		put_clean(&o->b, g->description, 1);
		mc_buf_puts(&o->b, "\"");
	}
	if (g != NULL && g->owner[0] != '\0') {
		mc_buf_puts(&o->b, " owner=\"");
		put_clean(&o->b, g->owner, 1);
		mc_buf_puts(&o->b, "\"");
	}
	mc_buf_puts(&o->b, "\n");
}

void
hub_backup_agents_begin(struct hub_backup_agents *ab)
{
	memset(ab, 0, sizeof(*ab));
	mc_buf_init(&ab->b, HUB_BACKUP_FILE_MAX);
	mc_buf_puts(&ab->b, headers[F_AGENTS]);
	ab->next = hub_agent_first();
}

/*
 * The next HUB_BACKUP_AGENTS_STEP agents' lines (merged with their
 * agents.conf entries), then agents.conf's entries for agents the hub does
 * not know.  In creation order: the git thread sorts them
 * (hub_backup_sort_lines()).  Agents are never freed while the hub runs,
 * so the cursor stays good between ticks, and one enrolled meanwhile is
 * reached at the end of the list.
 */
int
hub_backup_agents_step(struct hub_backup_agents *ab)
{
	struct out o = { ab->b, ab->full };
	const struct hub_gitcfg_agent *g;
	int i, ng;

	for (i = 0; ab->next != NULL && i < HUB_BACKUP_AGENTS_STEP; i++) {
		agent_line(&o, ab->next, hub_gitcfg_agent_find(ab->next->name));
		ab->next = ab->next->next;
	}
	if (ab->next == NULL) {
		ng = hub_gitcfg_agents(&g);
		for (i = 0; i < ng; i++)
			if (hub_agent_find(g[i].name) == NULL)
				agent_line(&o, NULL, &g[i]);
	}
	ab->b = o.b;
	ab->full = o.full;
	return ab->next == NULL;
}

static void
tokens_file(struct out *o)
{
	const struct hub_token *t;
	char when[32];

	for (t = hub_auth_tokens(); t != NULL && line_room(o); t = t->next) {
		if (t->revoked)
			continue;
		utc(t->created, when, sizeof(when));
		mc_buf_printf(&o->b, "%s name=%s role=%s created=%s\n", t->id,
		    t->name, hub_role_name(t->role), when);
	}
}

static void
keys_file(struct out *o)
{
	const struct hub_key *k;
	char when[32], until[32];

	for (k = hub_auth_keys(); k != NULL && line_room(o); k = k->next) {
		if (k->revoked)
			continue;
		utc(k->created, when, sizeof(when));
		if (k->expires > 0)
			utc(k->expires, until, sizeof(until));
		else
			mc_strlcpy(until, "never", sizeof(until));
		mc_buf_printf(&o->b, "%s uses=%lld used=%lld expires=%s "
		    "created=%s\n", k->id, (long long)k->uses,
		    (long long)k->used, until, when);
	}
}

void
hub_backup_snap_free(struct hub_backup_snap *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < HUB_BACKUP_NFILES; i++)
		free(s->text[i]);
	free(s);
}

struct hub_backup_snap *
hub_backup_snap_build(unsigned files)
{
	struct hub_backup_snap *s = calloc(1, sizeof(*s));
	struct out o;
	int i, r = 0;

	if (s == NULL)
		return NULL;
	for (i = 0; i < HUB_BACKUP_NFILES && r == 0; i++) {
		if (!(files & (1u << i)) || i == F_AGENTS)
			continue;	/* the tip's stays; agents: in steps */
		memset(&o, 0, sizeof(o));
		mc_buf_init(&o.b, HUB_BACKUP_FILE_MAX);	/* taken below */
		mc_buf_puts(&o.b, headers[i]);
		if (i == F_RULES)
			rules_file(&o);
		else if (i == F_SILENCES)
			hub_silence_each(silence_one, &o);
		else if (i == F_TOKENS)
			tokens_file(&o);
		else
			keys_file(&o);
		s->text[i] = mc_buf_take(&o.b, &s->len[i]);
		if (s->text[i] == NULL)
			r = -1;
	}
	if (r == -1) {
		hub_backup_snap_free(s);
		return NULL;
	}
	return s;
}
