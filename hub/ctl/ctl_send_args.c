/*
 * ctl_send_args.c - the words of "hubctl send" (to one AGENT, or a fan-out
 * with --tag TAG | --all) into a struct ctl_send, and the JSON body of its
 * request, which ctl_send.c and ctl_fanout.c post.
 *
 * The words are checked here, before anything is sent: the target, the
 * kind and its arguments, the numbers against their limits, and that -o
 * goes with one agent's screenshot.  A shell command given as several
 * words is quoted for /bin/sh and joined, so the agent runs exactly the
 * words the operator typed.  A signed command signs exactly that line
 * (ctl_sign.c); its body then carries the signature instead of the
 * command's own fields.
 */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include "ctl_send.h"
#include "mc_util.h"

static int
needs_quote(const char *s)
{
	if (*s == '\0')
		return 1;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) &&
		    strchr("@%+=:,./_-", *s) == NULL)
			return 1;
	return 0;
}

/* Append s as one /bin/sh word: 'it'\''s'. */
static int
append_word(struct mc_buf *b, const char *s)
{
	int r = 0;

	if (!needs_quote(s))
		return mc_buf_puts(b, s);
	r |= mc_buf_puts(b, "'");
	for (; *s && r == 0; s++)
		r |= *s == '\'' ? mc_buf_puts(b, "'\\''") :
		    mc_buf_append(b, s, 1);
	r |= mc_buf_puts(b, "'");
	return r;
}

/* One word is a command line as it is; several are quoted and joined. */
static int
join_command(struct mc_buf *b, int n, char **words)
{
	int i, r = 0;

	if (n == 1)
		return mc_buf_puts(b, words[0]);
	for (i = 0; i < n && r == 0; i++) {
		if (i > 0)
			r = mc_buf_puts(b, " ");
		if (r == 0)
			r = append_word(b, words[i]);
	}
	return r;
}

static int
parse_kind_args(struct ctl_send *q, const struct ctl_args *a, int first)
{
	int extra = a->n - first;

	if (q->kind == MC_KIND_SHELL) {
		if (extra == 0)
			return ctl_usage("send", "shell needs a command: "
			    "send %s shell -- CMD [ARG...]", q->agent ?
			    "AGENT" : "--tag TAG|--all");
		if (join_command(&q->cmd, extra, a->v + first) == -1)
			return ctl_usage("send", "the command line is longer "
			    "than %d bytes", MC_CMD_MAX);
		return 0;
	}
	if (q->kind == MC_KIND_DOCKER_RESTART) {
		if (extra != 1)
			return ctl_usage("send", "docker_restart needs one "
			    "CONTAINER");
		q->arg = a->v[first];
		return 0;
	}
	if (extra > 0)
		return ctl_usage("send", "%s takes no arguments (got '%s')",
		    mc_kind_name(q->kind), a->v[first]);
	return 0;
}

static int
parse_numbers(struct ctl_send *q, const char *timeout, const char *cap,
    const char *queue)
{
	if (timeout != NULL && (mc_parse_duration(timeout, &q->timeout) == -1
	    || q->timeout <= 0 || q->timeout > MC_TIMEOUT_MAX))
		return ctl_usage("send", "--timeout: '%s' is not a duration "
		    "up to 7d (e.g. 30, 90s, 5m)", timeout);
	if (cap != NULL && mc_parse_i64(cap, 1, MC_OUTPUT_CAP_MAX,
	    &q->cap) == -1)
		return ctl_usage("send", "--cap: '%s' is not a byte count "
		    "from 1 to %d", cap, MC_OUTPUT_CAP_MAX);
	if (queue != NULL && (mc_parse_duration(queue, &q->queue) == -1 ||
	    q->queue <= 0 || q->queue > CTL_QUEUE_MAX))
		return ctl_usage("send", "--queue: '%s' is not a duration "
		    "up to 30d (e.g. 90s, 10m, 2h)", queue);
	if (queue != NULL)
		ctl_duration(q->queue, q->queue_text, sizeof(q->queue_text));
	return 0;
}

/* Who the command is for: sets q->agent (none for a fan-out), q->kind
 * and *first, the index of the kind's first argument. */
static int
parse_target(struct ctl_send *q, const struct ctl_args *a, int *first)
{
	int fan = q->tag != NULL || q->all, base = fan ? 0 : 1;
	enum mc_kind k;

	if (q->tag != NULL && q->all)
		return ctl_usage("send", "give --tag TAG or --all, not both");
	if (q->tag != NULL && !mc_tag_valid(q->tag))
		return ctl_usage("send", "--tag: '%s' is not a tag", q->tag);
	if (fan && a->n >= 2 && mc_kind_parse(a->v[0], &k) == -1 &&
	    mc_kind_parse(a->v[1], &k) == 0)
		return ctl_usage("send", "--tag and --all pick the agents; "
		    "give no AGENT ('%s')", a->v[0]);
	if (a->n < base + 1 || (a->dashdash != -1 && a->dashdash < base + 1))
		return ctl_usage("send", fan ? "expected send --tag TAG|--all "
		    "KIND ..." : "expected send AGENT KIND ...");
	if (fan && a->dashdash != -1 && a->dashdash != base + 1)
		return ctl_usage("send", "with --tag or --all, '--' goes right "
		    "after the kind");
	q->agent = fan ? NULL : a->v[0];
	if (mc_kind_parse(a->v[base], &q->kind) == -1)
		return ctl_usage("send", "unknown kind '%s' (shell, metrics, "
		    "stop, restart, docker_ps, docker_restart, screenshot)",
		    a->v[base]);
	*first = base + 1;
	return 0;
}

int
ctl_send_parse(struct ctl *c, struct ctl_send *q, int argc, char **argv)
{
	const char *timeout = NULL, *cap = NULL, *queue = NULL, *all = NULL;
	const struct ctl_flag flags[] = { { "--timeout", 1, &timeout },
	    { "--cap", 1, &cap }, { "-o", 1, &q->out_file },
	    { "--output", 1, &q->out_file }, { "--queue", 1, &queue },
	    { "--tag", 1, &q->tag }, { "--all", 0, &all },
	    { NULL, 0, NULL } };
	struct ctl_args a;
	int r, first = 0;

	r = ctl_flags_parse("send", argc, argv, flags, &a);
	if (r != 0)
		return r;
	q->all = all != NULL;
	r = parse_target(q, &a, &first);
	if (r != 0)
		return r;
	if (q->out_file != NULL && q->kind != MC_KIND_SCREENSHOT)
		return ctl_usage("send", "-o is for screenshot only");
	if (q->out_file != NULL && q->agent == NULL)
		return ctl_usage("send", "-o needs one AGENT; the screenshots "
		    "of a fan-out stay on the hub");
	if (q->out_file != NULL && q->out_file[0] == '\0')
		return ctl_usage("send", "-o needs a file name");
	r = parse_kind_args(q, &a, first);
	if (r == 0)
		r = parse_numbers(q, timeout, cap, queue);
	if (r == 0 && c->o.key[0] != '\0' && q->queue > MC_SIG_WINDOW)
		r = ctl_usage("send", "--queue %s is too long with a signing "
		    "key: a signed command expires after 5 minutes (give "
		    "--queue 5m or less)", q->queue_text);
	if (r == 0)
		r = ctl_opts_finish(c);
	return r;
}

/* One envelope, as the member key of an object or (key NULL) an
 * element of an array. */
static void
put_envelope(struct mc_jw *w, const char *key, const struct mc_sig *s)
{
	mc_jw_obj(w, key);
	mc_jw_strn(w, "payload", s->payload, s->len);
	mc_jw_str(w, "key", s->key);
	mc_jw_str(w, "sig", s->sig);
	mc_jw_obj_end(w);
}

/* The hub refuses a queue that outlasts the signature; the seconds
 * between signing and the hub's clock would make --queue 5m just that,
 * so the queue sent is cut to the time the signature has left. */
static double
signed_queue(double queue, const struct mc_sig *sig, size_t nsig)
{
	struct mc_sigcmd s;	/* only for exp */
	char err[128];
	double left;

	if (queue <= 0 || nsig == 0 || mc_sigcmd_read(sig[0].payload,
	    sig[0].len, &s, err, sizeof(err)) == -1)
		return queue;
	left = (double)(s.exp - (int64_t)time(NULL) - 1);
	return left < queue ? (left > 1 ? left : 1) : queue;
}

int
ctl_send_body(const struct ctl_send *q, const struct mc_sig *sig,
    size_t nsig, struct mc_buf *b)
{
	struct mc_jw w;
	size_t i;

	mc_jw_init(&w, b);
	mc_jw_obj(&w, NULL);
	if (q->agent == NULL) {
		mc_jw_obj(&w, "target");
		if (q->all)
			mc_jw_bool(&w, "all", 1);
		else
			mc_jw_str(&w, "tag", q->tag);
		mc_jw_obj_end(&w);
	}
	if (nsig > 0 && q->agent != NULL) {
		put_envelope(&w, "signed", &sig[0]);
	} else if (nsig > 0) {
		mc_jw_arr(&w, "signed");
		for (i = 0; i < nsig; i++)
			put_envelope(&w, NULL, &sig[i]);
		mc_jw_arr_end(&w);
	} else {
		mc_jw_str(&w, "type", mc_kind_name(q->kind));
		if (q->kind == MC_KIND_SHELL)
			mc_jw_strn(&w, "cmd", q->cmd.data, q->cmd.len);
		if (q->arg != NULL)
			mc_jw_str(&w, "arg", q->arg);
		if (q->timeout > 0)
			mc_jw_dbl(&w, "timeout", q->timeout);
	}
	if (q->cap > 0)
		mc_jw_i64(&w, "cap", q->cap);
	if (q->queue > 0)
		mc_jw_dbl(&w, "queue", signed_queue(q->queue, sig, nsig));
	mc_jw_obj_end(&w);
	return mc_jw_done(&w);
}

