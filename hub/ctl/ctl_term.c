/*
 * ctl_term.c - hubctl term AGENT: an interactive shell on an agent in
 * this terminal, over the hub's WS /ws/term (docs/api.md).
 *
 * One poll loop watches three things: the signal pipe (ctl_tty.c), the
 * WebSocket (ctl_ws.c) and stdin.  Output goes to stdout as it comes, in
 * blocking writes: while stdout does not take it the socket is not read,
 * and so the hub, then the listener, then the remote program wait too
 * (docs/protocol.md, flow control).  Stdin is read only while the send
 * queue has room for what is read (the hub acknowledges nothing to a
 * client; its reading is the window), so a long paste waits in the
 * kernel, not here.
 *
 * With a terminal on stdin, it is raw from the hub's "open" to the end,
 * and "~." at the start of a line leaves as in ssh ("~~" sends one '~').
 * Without one, stdin goes as it comes and its end sends ^D, so a script
 * can drive the shell.  Whatever ends the session - the shell, the hub,
 * the agent, a signal, an error - comes back here, where the terminal is
 * restored, one line is printed on stderr and the exit status chosen.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "mc_term.h"
#include "mc_util.h"

/* the largest message taken from the hub */
#define TERM_MSG_MAX		(1024 * 1024)
/* a quiet hub is pinged after this long, and given up after twice it */
#define TERM_IDLE_S		30.0
/* after ~., how long the hub has to confirm the end */
#define TERM_LEAVE_S		3.0
/* after the end of a script's stdin, ^D again this often until the
 * session ends: a ^D that reaches the remote terminal while no program
 * reads it in canonical mode (a shell starting or busy) is lost when
 * readline then switches modes */
#define TERM_EOT_REPEAT_S	1.0
/* output written before stdin and signals are looked at again */
#define TERM_BURST		(256 * 1024)

struct term {
	struct ctl	*c;
	struct ctl_ws	*ws;		/* owned */
	const char	*agent;
	char		 name[4 * MC_NAME_MAX + 4];	/* agent, printable */
	int		 tty;		/* stdin is a terminal */
	int		 sigfd;		/* ctl_tty_signals()' pipe */
	int		 cols, rows;	/* the size the hub has */
	int		 opened;	/* the hub said "open" */
	int		 in_done;	/* stdin is not read any more */
	double		 eot_next;	/* when ^D goes again; 0: never */
	int		 leaving;	/* ~.: "close" sent, the end awaited */
	double		 leave_by;
	int		 line_start;	/* the next byte typed starts a line */
	int		 tilde;		/* a '~' at a line's start is held */
	int		 col0;		/* output ended with '\n' (or is none) */
	int		 closed;	/* the hub sent its close frame */
	int		 status;	/* the exit status; -1 while it runs */
	char		 why[1024];	/* the line printed at the end */
	char		 refusal[MC_TEXT_MAX];	/* the agent's, or "" */
};

/* The session is over with status; the first reason given is kept. */
static void
finish(struct term *t, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
finish(struct term *t, int status, const char *fmt, ...)
{
	va_list ap;

	if (t->status != -1)
		return;
	t->status = status;
	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
}

static void
closed_line(struct term *t)
{
	finish(t, CTL_EXIT_OK, "Connection to %s closed.", t->name);
}

/* ---- signals ---- */

static const char *
sig_name(int sig)
{
	switch (sig) {
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	case SIGINT:
		return "SIGINT";
	case SIGQUIT:
		return "SIGQUIT";
	}
	return "a signal";
}

static int
send_control(struct term *t, const char *type, int with_size)
{
	struct mc_buf b;
	struct mc_jw jw;
	int r = -1;

	mc_buf_init(&b, 128);
	mc_jw_init(&jw, &b);
	mc_jw_obj(&jw, NULL);
	mc_jw_str(&jw, "t", type);
	if (with_size) {
		mc_jw_i64(&jw, "cols", t->cols);
		mc_jw_i64(&jw, "rows", t->rows);
	}
	mc_jw_obj_end(&jw);
	if (mc_jw_done(&jw) == 0)
		r = ctl_ws_queue(t->ws, CTL_WS_TEXT, b.data, b.len);
	mc_buf_free(&b);
	return r;
}

/* Tell the hub the window's size if it changed. */
static void
follow_size(struct term *t)
{
	int cols, rows;

	ctl_tty_size(&cols, &rows);
	if (cols == t->cols && rows == t->rows)
		return;
	t->cols = cols;
	t->rows = rows;
	/* a full queue: the next SIGWINCH or nothing; never fatal */
	send_control(t, "resize", 1);
}

static void
on_signals(struct term *t)
{
	int sig;

	for (;;) {
		sig = ctl_tty_signal();
		if (sig == 0)
			break;
		if (sig == SIGWINCH) {
			if (t->opened)
				follow_size(t);
			continue;
		}
		finish(t, 128 + sig, "hubctl: got %s; the session on %s is "
		    "closed", sig_name(sig), t->name);
	}
}

/* ---- output ---- */

/* Write all of p to stdout, waiting as long as it takes; -1 when a
 * signal ends hubctl meanwhile or stdout broke (the session ends). */
static int
write_out(struct term *t, const unsigned char *p, size_t n)
{
	struct pollfd pf;
	ssize_t k;

	while (n > 0) {
		k = write(STDOUT_FILENO, p, n);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k == -1 && errno == EINTR) {
			if (!ctl_tty_ending())
				continue;
			on_signals(t);
			return -1;
		}
		if (k == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			pf.fd = STDOUT_FILENO;
			pf.events = POLLOUT;
			pf.revents = 0;
			poll(&pf, 1, -1);
			continue;
		}
		finish(t, CTL_EXIT_FAIL, "hubctl: cannot write the output: %s",
		    k == -1 ? strerror(errno) : "nothing written");
		return -1;
	}
	return 0;
}

static void
on_output(struct term *t, const unsigned char *p, size_t n)
{
	if (t->leaving || n == 0)
		return;
	if (write_out(t, p, n) == 0)
		t->col0 = p[n - 1] == '\n';
}

/* ---- what the hub says ---- */

static void
on_open(struct term *t)
{
	t->opened = 1;
	if (t->tty && ctl_tty_raw() == -1) {
		finish(t, CTL_EXIT_FAIL, "%s", "");	/* said why */
		return;
	}
	follow_size(t);		/* a SIGWINCH before the open */
}

static const struct {
	const char	*reason;
	int		 status;
	const char	*what;		/* when the hub's msg is empty */
} end_reasons[] = {
	{ "idle", CTL_EXIT_CUT, "nothing was typed or printed for too long" },
	{ "agent_gone", CTL_EXIT_CUT, "the agent disconnected" },
	{ "shutdown", CTL_EXIT_CUT, "the hub is stopping" },
	{ "refused", CTL_EXIT_REFUSED, "the agent refused the terminal" },
	{ "failed", CTL_EXIT_REFUSED, "the shell could not start" },
};

static void
on_end(struct term *t, const struct mc_json *o)
{
	const char *reason = ctl_jstr(o, "reason", "?");
	char msg[512];
	int64_t code;
	size_t i;

	if (t->leaving || strcmp(reason, "closed") == 0) {
		closed_line(t);
		return;
	}
	if (strcmp(reason, "exit") == 0) {
		if (mc_json_int(o, "exit", 0, INT64_MAX, &code) == -1)
			code = CTL_EXIT_FAIL;
		finish(t, code > 255 ? 255 : (int)code, "Connection to %s "
		    "closed.", t->name);
		return;
	}
	for (i = 0; i < sizeof(end_reasons) / sizeof(end_reasons[0]); i++)
		if (strcmp(reason, end_reasons[i].reason) == 0)
			break;
	ctl_safe(ctl_jstr(o, "msg", i < sizeof(end_reasons) /
	    sizeof(end_reasons[0]) ? end_reasons[i].what : "no reason given"),
	    msg, sizeof(msg));
	if (strcmp(reason, "refused") == 0)
		mc_strlcpy(t->refusal, msg, sizeof(t->refusal));
	finish(t, i < sizeof(end_reasons) / sizeof(end_reasons[0]) ?
	    end_reasons[i].status : CTL_EXIT_CUT, "hubctl: %s %s (%s): %s",
	    t->opened ? "the session ended on" : "no terminal on", t->name,
	    reason, msg);
}

static const struct {
	const char	*code;
	int		 status;
} error_codes[] = {
	{ "unauthorized", CTL_EXIT_HUB },
	{ "forbidden", CTL_EXIT_HUB },
	{ "not_found", CTL_EXIT_AGENT },
	{ "offline", CTL_EXIT_AGENT },
	{ "unsupported", CTL_EXIT_REFUSED },
	{ "busy", CTL_EXIT_REFUSED },
	{ "unavailable", CTL_EXIT_HUB },	/* the hub is stopping */
};

static void
on_error(struct term *t, const struct mc_json *o)
{
	const char *code = ctl_jstr(o, "code", "?");
	char msg[512];
	int status = CTL_EXIT_FAIL;
	size_t i;

	for (i = 0; i < sizeof(error_codes) / sizeof(error_codes[0]); i++)
		if (strcmp(code, error_codes[i].code) == 0)
			status = error_codes[i].status;
	ctl_safe(ctl_jstr(o, "error", "no reason given"), msg, sizeof(msg));
	if (t->opened)
		finish(t, status, "hubctl: the hub ended the session on %s "
		    "(%s): %s", t->name, code, msg);
	else
		finish(t, status, "hubctl: the hub refused a terminal on %s "
		    "(%s): %s", t->name, code, msg);
}

static void
on_text(struct term *t, const struct ctl_ws_msg *m)
{
	struct mc_jdoc *d;
	const struct mc_json *o;
	const char *type;
	char err[128];

	d = mc_json_parse((const char *)m->data, m->len, err, sizeof(err));
	if (d == NULL)
		return;		/* not ours to understand */
	o = mc_json_root(d);
	type = ctl_jstr(o, "t", "");
	if (strcmp(type, "open") == 0)
		on_open(t);
	else if (strcmp(type, "end") == 0)
		on_end(t, o);
	else if (strcmp(type, "error") == 0)
		on_error(t, o);
	mc_json_free(d);
}

/* The connection ended without an "end" or an "error". */
static void
on_gone(struct term *t, enum ctl_ws_got got)
{
	if (t->leaving) {
		closed_line(t);
	} else if (got == CTL_WS_CLOSED && t->opened) {
		finish(t, CTL_EXIT_CUT, "hubctl: the hub closed the session on "
		    "%s (WebSocket close %d)", t->name,
		    ctl_ws_close_code(t->ws));
	} else if (got == CTL_WS_CLOSED) {
		finish(t, CTL_EXIT_HUB, "hubctl: the hub closed the connection "
		    "(WebSocket close %d)", ctl_ws_close_code(t->ws));
	} else if (got == CTL_WS_EOF) {
		finish(t, CTL_EXIT_HUB, "hubctl: lost the hub at %s%s%s",
		    t->c->base, t->opened ? "; the session on " : "",
		    t->opened ? t->name : "");
	} else {
		finish(t, CTL_EXIT_FAIL, "%s", "");	/* ctl_ws.c said why */
	}
	t->closed = got == CTL_WS_CLOSED;
}

/* Take what the hub sent, up to TERM_BURST bytes of output.  1 when
 * more may be waiting. */
static int
drain(struct term *t)
{
	struct ctl_ws_msg m;
	enum ctl_ws_got got;
	size_t written = 0;

	while (t->status == -1) {
		if (written >= TERM_BURST)
			return 1;
		got = ctl_ws_recv(t->ws, &m, 0);
		if (got == CTL_WS_NONE)
			return 0;
		if (got != CTL_WS_MSG) {
			on_gone(t, got);
			return 0;
		}
		if (m.op == CTL_WS_TEXT) {
			on_text(t, &m);
		} else {
			on_output(t, m.data, m.len);
			written += m.len;
		}
	}
	return 0;
}

/* ---- input ---- */

/* ~.: ask the hub to end the session and wait a little for its "end". */
static void
leave(struct term *t)
{
	t->leaving = 1;
	t->in_done = 1;
	t->leave_by = mc_now() + TERM_LEAVE_S;
	if (send_control(t, "close", 0) == -1)
		closed_line(t);
}

/* Copy what was typed from in to out, acting on "~." and "~~" at the
 * start of a line; out has room for n + 1 bytes (a '~' held from the
 * read before).  Returns the bytes in out. */
static size_t
escapes(struct term *t, const unsigned char *in, size_t n,
    unsigned char *out)
{
	size_t i, o = 0;
	unsigned char ch;

	for (i = 0; i < n; i++) {
		ch = in[i];
		if (t->tilde) {
			t->tilde = 0;
			if (ch == '.') {
				leave(t);
				return o;
			}
			if (ch != '~')
				out[o++] = '~';
		} else if (t->line_start && ch == '~') {
			t->tilde = 1;
			continue;
		}
		out[o++] = ch;
		t->line_start = ch == '\r' || ch == '\n';
	}
	return o;
}

/* A script's stdin ended: ^D, the remote terminal's end of input. */
static void
send_eot(struct term *t)
{
	static const unsigned char eot = 0x04;

	t->eot_next = mc_now() + TERM_EOT_REPEAT_S;
	/* no room: the queue is still busy with the input before it */
	if (ctl_ws_room(t->ws) > 0)
		ctl_ws_queue(t->ws, CTL_WS_BINARY, &eot, 1);
}

/* Stdin ended (a script's input, or a terminal that hung up). */
static void
input_ended(struct term *t)
{
	t->in_done = 1;
	if (t->tty)
		leave(t);
	else
		send_eot(t);
}

static void
read_input(struct term *t)
{
	unsigned char in[MC_TERM_CHUNK], out[MC_TERM_CHUNK];
	size_t room = ctl_ws_room(t->ws), max = sizeof(in) - 1, n;
	ssize_t k;

	if (room < 2)
		return;
	if (room - 1 < max)
		max = room - 1;
	k = read(STDIN_FILENO, in, max);
	if (k == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (k <= 0) {
		input_ended(t);
		return;
	}
	if (t->tty) {
		n = escapes(t, in, (size_t)k, out);
	} else {
		memcpy(out, in, (size_t)k);
		n = (size_t)k;
	}
	if (n > 0 && ctl_ws_queue(t->ws, CTL_WS_BINARY, out, n) == -1)
		finish(t, CTL_EXIT_HUB, "hubctl: lost the hub at %s; the "
		    "session on %s", t->c->base, t->name);
}

/* ---- the loop ---- */

static int
poll_timeout(struct term *t, int more)
{
	long idle = ctl_ws_idle(t->ws, TERM_IDLE_S), ms;

	if (idle < 0) {
		finish(t, CTL_EXIT_HUB, "hubctl: the hub at %s has not "
		    "answered for %d s; giving up", t->c->base,
		    (int)TERM_IDLE_S * 2);
		return 0;
	}
	if (t->leaving) {
		ms = (long)((t->leave_by - mc_now()) * 1000);
		if (ms <= 0)
			closed_line(t);
		if (ms < idle)
			idle = ms;
	}
	if (t->eot_next > 0) {
		ms = (long)((t->eot_next - mc_now()) * 1000) + 1;
		if (ms < idle)
			idle = ms;
	}
	return more || idle < 0 ? 0 : (int)idle;
}

static void
run(struct term *t)
{
	struct pollfd p[3];
	int more, timeout;

	while (t->status == -1) {
		more = drain(t);
		timeout = poll_timeout(t, more);
		if (t->status != -1)
			break;
		memset(p, 0, sizeof(p));
		p[0].fd = t->sigfd;
		p[0].events = POLLIN;
		p[1].fd = ctl_ws_fd(t->ws);
		p[1].events = POLLIN | (ctl_ws_queued(t->ws) ? POLLOUT : 0);
		p[2].fd = t->opened && !t->in_done &&
		    ctl_ws_room(t->ws) >= 2 ? STDIN_FILENO : -1;
		p[2].events = POLLIN;
		if (poll(p, 3, timeout) == -1 && errno != EINTR) {
			finish(t, CTL_EXIT_FAIL, "hubctl: poll: %s",
			    strerror(errno));
			break;
		}
		on_signals(t);
		if ((p[1].revents & POLLOUT) && ctl_ws_flush(t->ws) == -1)
			on_gone(t, CTL_WS_EOF);
		if (t->status == -1 && t->eot_next > 0 &&
		    mc_now() >= t->eot_next)
			send_eot(t);
		if (t->status == -1 && p[2].revents)
			read_input(t);
	}
}

/* Say goodbye to the hub (a close frame, if it takes it now) and drop
 * the connection. */
static void
hang_up(struct term *t)
{
	static const unsigned char normal[2] = { 1000 >> 8, 1000 & 0xff };

	if (!t->closed)
		ctl_ws_queue(t->ws, CTL_WS_CLOSE, normal, sizeof(normal));
	ctl_ws_close(t->ws);
	t->ws = NULL;
}

/* The one line at the end, on a line of its own. */
static void
say_why(const struct term *t)
{
	if (t->why[0] == '\0')
		return;
	if (!t->col0 && isatty(STDOUT_FILENO) && isatty(STDERR_FILENO))
		fputc('\n', stderr);
	fprintf(stderr, "%s\n", t->why);
}

/* With a signing key, the session's signature (kind "terminal"): 0 and
 * *out (owned by the caller; NULL without a key), or an exit status. */
static int
term_sign(const struct ctl *c, const char *agent, struct mc_sig **out)
{
	struct mc_sigcmd *s = NULL;	/* owned */
	struct ctl_key *k = NULL;	/* owned */
	int r;

	*out = NULL;
	r = ctl_key_load(c, &k);
	if (r != 0 || k == NULL)
		return r;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (*out = malloc(sizeof(**out))) == NULL) {
		fprintf(stderr, "hubctl: out of memory\n");
		r = CTL_EXIT_FAIL;
	}
	if (r == 0) {
		mc_strlcpy(s->agent, agent, sizeof(s->agent));
		mc_strlcpy(s->kind, MC_SIG_KIND_TERMINAL, sizeof(s->kind));
		if (ctl_sign_make(k, s, *out) == -1)
			r = CTL_EXIT_FAIL;
	}
	if (r != 0) {
		free(*out);
		*out = NULL;
	}
	free(s);
	ctl_key_free(k);
	return r;
}

int
ctl_cmd_term(struct ctl *c, int argc, char **argv)
{
	struct mc_sig *sig;	/* owned; NULL: unsigned */
	struct ctl_args a;
	struct term t;
	int r;

	r = ctl_begin(c, "term", argc, argv, NULL, &a, 1, 1);
	if (r != 0)
		return r;
	if (!mc_name_valid(a.v[0]))
		return ctl_agent_unknown(a.v[0]);
	r = term_sign(c, a.v[0], &sig);
	if (r != 0)
		return r;
	memset(&t, 0, sizeof(t));
	t.c = c;
	t.agent = a.v[0];
	t.status = -1;
	t.line_start = 1;
	t.col0 = 1;
	t.tty = isatty(STDIN_FILENO);
	ctl_safe(t.agent, t.name, sizeof(t.name));
	ctl_tty_size(&t.cols, &t.rows);
	r = ctl_ws_open(c, "/ws/term", "the terminal", TERM_MSG_MAX, &t.ws);
	if (r == 0 && ctl_ws_auth(t.ws, t.agent, t.cols, t.rows, sig) == -1) {
		fprintf(stderr, "hubctl: the hub at %s closed the connection\n",
		    c->base);
		ctl_ws_close(t.ws);
		r = CTL_EXIT_HUB;
	}
	free(sig);
	if (r != 0)
		return r;
	t.sigfd = ctl_tty_signals();
	if (t.sigfd == -1)
		finish(&t, CTL_EXIT_FAIL, "hubctl: cannot make a pipe: %s",
		    strerror(errno));
	else
		run(&t);
	hang_up(&t);
	ctl_tty_restore();
	ctl_tty_signals_end();
	say_why(&t);
	ctl_sign_hint(t.refusal);
	return t.status;
}
