/*
 * ctl.h - hubctl, the operator's command line: its one internal header.
 *
 * hubctl talks to the hub's REST API (docs/api.md) over libcurl and shares
 * only common/ with the daemon; nothing here includes hub/hub.h.  Only
 * ctl_http.c, ctl_raw.c and ctl_probe.c see curl.h; only ctl_http.c,
 * ctl_pin.c, ctl_ws.c (the SHA-1 of the WebSocket handshake) and the
 * signing keys' ctl_key.c and ctl_sign.c (ctl_key.h) see OpenSSL.
 *
 * Exit statuses are the contract's (shared/contract.md): the remote status
 * for a single-agent shell command, 0/1 for the others, 2 for usage, 3
 * when the hub cannot be reached or refuses the token, 4 when the agent is
 * unknown or not online; hubctl term adds 5 and 6.
 */
#ifndef CTL_H
#define CTL_H

#include <stddef.h>
#include <stdint.h>

#include "mc_buf.h"
#include "mc_json.h"
#include "mc_limits.h"
#include "mc_proto.h"
#include "mc_sign.h"

#define CTL_EXIT_OK		0
#define CTL_EXIT_FAIL		1
#define CTL_EXIT_USAGE		2
#define CTL_EXIT_HUB		3
#define CTL_EXIT_AGENT		4
/* hubctl term: the agent refused the terminal or could not start it */
#define CTL_EXIT_REFUSED	5
/* hubctl term: the session was cut (agent gone, idle, hub stopping) */
#define CTL_EXIT_CUT		6
#define CTL_EXIT_TIMEOUT	124	/* a shell command hit its timeout */

#define CTL_DEFAULT_HUB		"https://127.0.0.1:8443"
#define CTL_URL_MAX		1024
#define CTL_TOKEN_MAX		512
#define CTL_FP_TEXT_MAX		160	/* "sha256:" and 32 bytes with colons */
#define CTL_FP_LEN		32	/* SHA-256 */
/* the largest hub response hubctl buffers */
#define CTL_RESPONSE_MAX	(64 * 1024 * 1024)
/* the longest ndjson line of a command stream */
#define CTL_LINE_MAX		(1024 * 1024)
#define CTL_CONNECT_TIMEOUT	10	/* seconds */
/* asking the other scheme (ctl_probe.c) gives up after this, seconds */
#define CTL_PROBE_TIMEOUT	3
#define CTL_REQUEST_TIMEOUT	30	/* seconds, except command streams */
/* a reason hubctl words for one request */
#define CTL_WHY_MAX		(CTL_URL_MAX + 1024)
/* fan-out: command streams followed at once (the rest start as these
 * end), a partial output line kept per agent and stream before it is
 * printed anyway, and names listed per group of the summary */
#define CTL_FANOUT_OPEN		256
#define CTL_FANOUT_LINE		(64 * 1024)
#define CTL_FANOUT_NAMES	10
/* fan-out: final command records fetched at once (they hold output) */
#define CTL_FANOUT_RECORDS	32
/* a request the hub refuses for the token's rate (429) is made again
 * after its Retry-After (at most CTL_RETRY_WAIT_MAX s), this many times */
#define CTL_RETRY_MAX		100
#define CTL_RETRY_WAIT_MAX	30
/* a connection the hub closed before the request (admission control in a
 * reconnect storm) is tried again this many times, after 0.25, 0.5, 1, 2
 * and 4 s */
#define CTL_BUSY_TRIES		5
#define CTL_BUSY_WAIT_MS	250
/* a command stream the hub ends early is opened again; after this many
 * early ends in a row, each within a second, hubctl gives up on it */
#define CTL_REOPEN_QUICK	5
/* a hub that went away (a restart) is waited for this long, seconds,
 * by send, fan-out and watch; they then pick up where they were */
#define CTL_REATTACH_MAX	300
/* enroll-key create without --uses / --expires */
#define CTL_KEY_USES		10
#define CTL_KEY_EXPIRES		86400.0
/* --queue: the hub waits at most this long for an offline agent */
#define CTL_QUEUE_MAX		(30 * 86400)
/* history --limit, as the hub allows */
#define CTL_HISTORY_MAX		1000
/* history: the COMMAND column, in terminal columns */
#define CTL_HISTORY_CMD_WIDTH	40

/* Global settings: config file, then environment, then flags. */
struct ctl_opts {
	char	hub[CTL_URL_MAX];
	char	token[CTL_TOKEN_MAX];
	char	token_file[MC_PATH_MAX];
	char	fingerprint[CTL_FP_TEXT_MAX];
	char	ca[MC_PATH_MAX];
	int	insecure;
	char	key[MC_PATH_MAX];	/* signing key: NAME or FILE; "": none */
	char	passphrase_file[MC_PATH_MAX];
	int	json;
	int	help;
	int	version;
};

struct ctl {
	struct ctl_opts	o;
	char		base[CTL_URL_MAX];	/* hub URL, no trailing '/' */
	int		tls;
	int		pinned;
	unsigned char	pin[CTL_FP_LEN];	/* when pinned */
	int		lost;		/* the last request could not reach
					 * the hub (not a refusal) */
	int		patient;	/* retrying: such failures are not
					 * printed each time */
	int		probed;		/* ctl_probe_scheme() has asked */
	const char	*ctype;		/* a request body's "Content-Type: ..."
					 * header line; NULL: JSON */
};

/* A command's own flags, for ctl_flags_parse(). */
struct ctl_flag {
	const char	*name;		/* "--timeout", "-o" */
	int		 has_arg;
	const char	**val;		/* set to the value, or to "" */
};

/* Positional arguments left after a command's flags. */
struct ctl_args {
	int		 n;
	char		**v;
	int		 dashdash;	/* index in v where "--" was, or -1 */
};

/* ---- ctl_main.c ---- */

/* Print "hubctl: REASON; see 'hubctl [NOUN] --help'" on stderr and return
 * CTL_EXIT_USAGE.  noun may be NULL. */
int	ctl_usage(const char *noun, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* ---- ctl_opts.c ---- */

/*
 * Read the config file, the environment and the global flags from argv
 * into c; the remaining arguments stay in argv from index 1 in order and
 * their count is returned in *npos.  Returns 0, or CTL_EXIT_USAGE after
 * printing the reason.
 */
int	ctl_opts_load(struct ctl *c, int argc, char **argv, int *npos);
/* Check and derive what a request needs (URL, pin, token). 0 or an exit
 * status after printing why. */
int	ctl_opts_finish(struct ctl *c);
/* Parse a command's flags out of argv[0..argc-1]; positionals go to a.
 * Returns 0 or CTL_EXIT_USAGE after printing the reason. */
int	ctl_flags_parse(const char *noun, int argc, char **argv,
	    const struct ctl_flag *flags, struct ctl_args *a);
/* What every command does first: its flags (flags may be NULL), then
 * min..max positionals, then ctl_opts_finish().  0 or an exit status. */
int	ctl_begin(struct ctl *c, const char *noun, int argc, char **argv,
	    const struct ctl_flag *flags, struct ctl_args *a, int min, int max);
/* Forget the token (on exit). */
void	ctl_opts_clear(struct ctl *c);

/* A parsed "hubctl send": to one agent, or a fan-out to a tag or all. */
struct ctl_send {
	const char	*agent;		/* NULL for a fan-out */
	const char	*tag;		/* --tag TAG */
	int		 all;		/* --all */
	enum mc_kind	 kind;
	struct mc_buf	 cmd;		/* owned; shell: the command line */
	const char	*arg;		/* docker_restart: the container */
	const char	*out_file;	/* screenshot: -o FILE */
	char		 queue_text[32];	/* --queue for people, or "" */
	double		 queue;		/* --queue in seconds; 0: none */
	double		 timeout;	/* 0: the hub's default */
	int64_t		 cap;		/* 0: the hub's default */
	struct ctl_key	*key;		/* owned; NULL: sent unsigned */
};

/* ---- ctl_http.c ---- */

struct ctl_resp {
	long		 status;	/* HTTP status; 0 before an answer */
	struct mc_buf	 body;		/* owned */
	struct mc_jdoc	*doc;		/* owned; body as JSON, or NULL */
};

/* Called with each complete line of a stream (without its '\n').  Return
 * 0 to go on, -1 to stop the transfer (the callback says why). */
typedef int (*ctl_line_fn)(void *arg, const char *line, size_t len);

int	ctl_http_init(void);
void	ctl_http_cleanup(void);
void	ctl_resp_init(struct ctl_resp *r);
void	ctl_resp_free(struct ctl_resp *r);
/* 1 if status is a success (2xx), else 0. */
int	ctl_http_2xx(long status);
/*
 * One request; path starts with '/'.  body is NULL or JSON.  Returns 0
 * when the hub answered, whatever the status (r->status, r->body, r->doc
 * when the body is JSON), or CTL_EXIT_HUB after printing why it could not.
 * A refusal for the token's rate (429) is asked again after its
 * Retry-After, up to CTL_RETRY_MAX times (here and in the two below);
 * r->body keeps the limit the caller gave it.
 */
int	ctl_http(struct ctl *c, const char *method, const char *path,
	    const struct mc_buf *body, struct ctl_resp *r);
/*
 * GET a newline-delimited stream without a time limit: a 2xx body goes to
 * fn line by line as it arrives, another status's body to r->body.
 * Returns 0, CTL_EXIT_HUB after printing why, or CTL_EXIT_FAIL when fn
 * stopped it.
 */
int	ctl_http_stream(struct ctl *c, const char *path, ctl_line_fn fn,
	    void *arg, struct ctl_resp *r);
/* One request of ctl_http_multi(): a GET that follows a stream (fn set,
 * no time limit) or buffers its answer in r (fn NULL). */
struct ctl_mreq {
	const char	*path;		/* in; starts with '/' */
	ctl_line_fn	 fn;		/* in */
	void		*arg;		/* in */
	/* in, may be NULL: called as the request ends (ret, why and r
	 * set); 1 makes it again from the start (r emptied first) */
	int		(*again)(void *arg, const struct ctl_mreq *q);
	struct ctl_resp	 r;		/* out; the caller inits and frees it */
	int		 ret;		/* out: as ctl_http_stream() */
	int		 lost;		/* out: ret is the hub out of reach */
	char		 why[CTL_WHY_MAX];	/* out: ret's reason, or "" */
};
/*
 * Run n GETs concurrently, at most max_open at a time, starting the next
 * as one ends, and no faster than the hub's rate limit lets them (429s
 * slow the starts down; see ctl_http.c).  Prints nothing: each request's
 * ret says how it went and why (without "hubctl: ") says why not (empty
 * when fn stopped it; fn said why).  Returns 0, or -1 if libcurl itself
 * failed (the requests not run then say so).
 */
int	ctl_http_multi(struct ctl *c, struct ctl_mreq *q, size_t n,
	    size_t max_open);
/* Waiting for a hub that went away: zeroed before the first wait. */
struct ctl_reattach {
	double		 since;		/* when it was lost; 0: not lost */
	double		 pause;		/* the next wait, 0.5 s doubling to 5 */
	int		 tries;
};
/* The hub is out of reach (c->lost): say once what will happen ("what"
 * when it is back), wait the next pause and return 0 to try again, or -1
 * after CTL_REATTACH_MAX seconds.  Until ctl_hub_back(), a request that
 * cannot reach the hub says nothing (c->patient). */
int	ctl_hub_wait(struct ctl *c, struct ctl_reattach *ra, const char *what);
/* A request reached the hub again: say so if it had been lost. */
void	ctl_hub_back(struct ctl *c, struct ctl_reattach *ra);
/* Set up an easy handle's certificate checks as every request has them
 * (curl is a CURL *): --insecure, the pin, --ca.  0, or -1 if this
 * libcurl cannot pin. */
int	ctl_http_tls(const struct ctl *c, void *curl);
/* 1 if a failed TLS connection's libcurl error (errbuf) says the hub's
 * answer was no TLS at all, as a plain HTTP server's is. */
int	ctl_http_no_tls_answer(const struct ctl *c, const char *errbuf);
/* ctl_http() that also wants a 2xx JSON object: 0, or an exit status after
 * printing the hub's error (ctl_api_fail). */
int	ctl_api(struct ctl *c, const char *method, const char *path,
	    const struct mc_buf *body, struct ctl_resp *r);
/* Print the error of a non-2xx answer; returns its exit status (3 for 401
 * and 403, 1 otherwise). */
int	ctl_api_fail(const struct ctl *c, const struct ctl_resp *r);
/* The "error" text of an answer, or a stand-in; never NULL. */
const char *ctl_resp_error(const struct ctl_resp *r);

/* ---- ctl_raw.c ---- */

/*
 * A raw byte stream to the hub (TLS and pinning as for every request),
 * for the protocol curl does not speak itself: the WebSocket (ctl_ws.c).
 * ctl_raw_open: 0, or an exit status after printing why.
 * send_some: the bytes the connection took now, without waiting (0 when
 * it would block), or -1 on error; after a 0 the next call must offer
 * the same bytes at the same address again, and maybe more after them
 * (TLS sends the record it made from there).
 * recv: bytes (> 0), 0 at the end of the stream, -1 on error, -2 when
 * timeout_ms passed with nothing to read.
 * fd: the socket, for poll(2); bytes TLS has already decrypted do not
 * show there, so read until recv says -2 before polling for more.
 */
struct ctl_raw;
int	ctl_raw_open(struct ctl *c, struct ctl_raw **out);
long	ctl_raw_send_some(struct ctl_raw *r, const void *buf, size_t n);
long	ctl_raw_recv(struct ctl_raw *r, void *buf, size_t n, int timeout_ms);
int	ctl_raw_fd(const struct ctl_raw *r);
void	ctl_raw_close(struct ctl_raw *r);

/* ---- ctl_ws.c ---- */

/* WebSocket opcodes (RFC 6455) */
#define CTL_WS_CONT		0
#define CTL_WS_TEXT		1
#define CTL_WS_BINARY		2
#define CTL_WS_CLOSE		8
#define CTL_WS_PING		9
#define CTL_WS_PONG		10
/* bytes of frames waiting to be sent (control frames may use a little
 * more): what a client that stops reading its input holds at most */
#define CTL_WS_OUT_MAX		(64 * 1024)
/* the largest client frame header */
#define CTL_WS_FRAME_HEAD	14

/* A WebSocket to the hub. */
struct ctl_ws;
/* A message read: valid until the next ctl_ws_recv(). */
struct ctl_ws_msg {
	int			 op;	/* CTL_WS_TEXT or CTL_WS_BINARY */
	const unsigned char	*data;
	size_t			 len;
};
/* What ctl_ws_recv() got. */
enum ctl_ws_got {
	CTL_WS_ERR = -1,	/* the hub broke the protocol (said why) */
	CTL_WS_NONE = 0,	/* no whole message within the time */
	CTL_WS_MSG,		/* a message, in *m */
	CTL_WS_CLOSED,		/* the hub closed the WebSocket (answered) */
	CTL_WS_EOF		/* the connection ended without a close */
};

/*
 * Connect to the hub and upgrade to the WebSocket at path ("/ws/ui");
 * what names it in messages ("the live feed").  Messages of up to
 * msg_max bytes are accepted.  0 and *out, or an exit status after
 * printing why, with c->lost set when the hub may only be restarting.
 */
int	ctl_ws_open(struct ctl *c, const char *path, const char *what,
	    size_t msg_max, struct ctl_ws **out);
/* Drop the connection; w may be NULL. */
void	ctl_ws_close(struct ctl_ws *w);
/* Sign in with the first message, {"t":"auth","token":...}, with
 * "agent", "cols" and "rows" too when agent is not NULL (/ws/term) and
 * the operator's "signed" envelope when sig is not NULL; waits until it
 * is sent.  0 or -1. */
int	ctl_ws_auth(struct ctl_ws *w, const char *agent, int cols, int rows,
	    const struct mc_sig *sig);
/* Queue a frame of opcode op and send what the socket takes now without
 * waiting.  0, or -1 when the queue has no room for it (data frames:
 * ctl_ws_room()) or the connection broke. */
int	ctl_ws_queue(struct ctl_ws *w, int op, const void *data, size_t n);
/* Send what is queued as far as the socket takes it now.  0 or -1. */
int	ctl_ws_flush(struct ctl_ws *w);
/* Bytes still queued (poll the socket for POLLOUT while there are). */
size_t	ctl_ws_queued(const struct ctl_ws *w);
/* The payload a data frame queued now may have; 0 when the queue is
 * full: stop reading what is sent until it drains. */
size_t	ctl_ws_room(const struct ctl_ws *w);
/* The socket, for poll(2): see ctl_raw_fd(). */
int	ctl_ws_fd(const struct ctl_ws *w);
/*
 * The next message, waiting up to timeout_ms for bytes (0: not at all;
 * a caller that then polls ctl_ws_fd() has everything already read).
 * Pings are answered, pongs dropped, fragments joined.
 */
enum ctl_ws_got ctl_ws_recv(struct ctl_ws *w, struct ctl_ws_msg *m,
	    int timeout_ms);
/* The code of the hub's close frame (0 when it had none). */
int	ctl_ws_close_code(const struct ctl_ws *w);
/*
 * A quiet hub: once nothing has come for quiet_s seconds, queue a
 * {"t":"ping"} (/ws/ui and /ws/term answer it); quiet_s later still with
 * nothing, the hub is gone.  Returns the milliseconds until it should be
 * asked again, or -1 when the hub is gone.
 */
long	ctl_ws_idle(struct ctl_ws *w, double quiet_s);

/* ---- ctl_probe.c ---- */

/*
 * The hub closed the connection before answering (or, over https, gave an
 * answer that is no TLS): 1 if it speaks the other scheme than c->base -
 * the URL is wrong, and waiting for the hub would not mend it - with the
 * reason and the fix in why (without "hubctl: "); else 0.  Asks once per
 * process and sends no token.
 */
int	ctl_probe_scheme(struct ctl *c, char *why, size_t whylen);

/* ---- ctl_pin.c ---- */

/* Parse "sha256:HEX" (colons allowed, any case) into out. 0 or -1. */
int	ctl_pin_parse(const char *s, unsigned char out[CTL_FP_LEN]);
/*
 * Make an OpenSSL SSL_CTX (passed as void * so callers need no OpenSSL
 * header) accept exactly the server certificate whose DER has the SHA-256
 * pin, and nothing else.  The handshake fails, before any request byte is
 * sent, on a mismatch.  Returns 0 or -1.
 */
int	ctl_pin_install(void *ssl_ctx, const unsigned char pin[CTL_FP_LEN]);
/* After a failed handshake: 1 and the certificate that was seen as
 * "sha256:hex" in out if the pin rejected it, else 0. */
int	ctl_pin_mismatch(char *out, size_t outlen);

/* ---- ctl_out.c ---- */

/* Copy s to out with control characters and bad UTF-8 replaced by '?'.
 * Returns the display width (terminal columns) of what was written. */
size_t	ctl_safe(const char *s, char *out, size_t outlen);
/* ctl_safe() that keeps at most maxw columns (maxw >= 4), ending a text
 * it cut with "...". */
size_t	ctl_safe_cut(const char *s, size_t maxw, char *out, size_t outlen);
/* Print s safely to the stream (FILE *). */
void	ctl_put_safe(void *fp, const char *s);
/* "3s ago", "5m ago", "never" (ts <= 0). */
void	ctl_ago(double ts, char *out, size_t outlen);
/* A duration the way it is typed: "90s", "10m", "2h", "1d". */
void	ctl_duration(double secs, char *out, size_t outlen);
/* "4.0 GiB" */
void	ctl_bytes(double n, char *out, size_t outlen);
/* "2d 3h 4m" */
void	ctl_uptime(double secs, char *out, size_t outlen);
/* Local "2026-01-02 15:04" or "never" for ts <= 0. */
void	ctl_date(double ts, char *out, size_t outlen);
/* Percent-encode a path segment. 0, or -1 if it does not fit. */
int	ctl_urlenc(const char *s, char *out, size_t outlen);
/* The string member key of o, or dflt when missing or empty. */
const char *ctl_jstr(const struct mc_json *o, const char *key,
	    const char *dflt);
/* Print a response body as it came, ending with one newline. */
void	ctl_print_body(const struct ctl_resp *r);

/* A text table: the first row is the header. */
#define CTL_TABLE_COLS	10
struct ctl_table {
	int		 ncols;
	size_t		 width[CTL_TABLE_COLS];
	struct mc_buf	 cells;		/* owned; NUL-separated safe cells */
	int		 ncells;
	int		 err;
};

void	ctl_table_init(struct ctl_table *t, int ncols);
/* Add one cell (made safe); rows fill left to right. */
void	ctl_table_add(struct ctl_table *t, const char *cell);
/* Print aligned to stdout and free; 0, or -1 if a cell did not fit. */
int	ctl_table_print(struct ctl_table *t);
/* One table row from one object of a list. */
typedef void (*ctl_row_fn)(struct ctl_table *t, const struct mc_json *e);
/*
 * Print the array member key of the hub's answer r as a table with the
 * column heads head[ncols], a row per object by row().  CTL_EXIT_OK, or
 * CTL_EXIT_FAIL when the answer has no such array (said: "no WHAT list")
 * or a cell did not fit.  *count (if not NULL) gets the array's length.
 */
int	ctl_print_list(const struct ctl_resp *r, const char *key,
	    const char *what, const char *const *head, int ncols, ctl_row_fn row,
	    size_t *count);

/* ---- command handlers: argv holds the words after the noun (and verb) */

typedef int (*ctl_cmd_fn)(struct ctl *c, int argc, char **argv);

/* ctl_release.c */
int	ctl_cmd_release_publish(struct ctl *c, int argc, char **argv);
int	ctl_cmd_release_list(struct ctl *c, int argc, char **argv);
int	ctl_cmd_release_roll(struct ctl *c, int argc, char **argv);
int	ctl_cmd_release_status(struct ctl *c, int argc, char **argv);

/* ctl_agents.c */
/* "/api/agents/NAME" + suffix with NAME encoded; -1 (said) if too long. */
int	ctl_agent_path(const char *name, const char *suffix, char *out,
	    size_t outlen);
/* Say the agent is unknown; returns CTL_EXIT_AGENT. */
int	ctl_agent_unknown(const char *name);
int	ctl_cmd_agents(struct ctl *c, int argc, char **argv);
int	ctl_cmd_show(struct ctl *c, int argc, char **argv);
/* ctl_hw.c: does any agent of the API's list have a GPU (1 or 0); the
 * GPU cell of one ("87% 71°C" or "-"); an agent's GPUs and sensors as
 * "hubctl show" lines. */
/* ctl_containers.c */
int	ctl_cmd_containers(struct ctl *c, int argc, char **argv);
/* Any agent of the list reports containers; its CTR cell ("3/4!"). */
int	ctl_ctr_any(const struct mc_json *list);
void	ctl_ctr_cell(const struct mc_json *a, char *out, size_t outlen);
/* "hubctl show AGENT"'s containers table: 0 or an exit status. */
int	ctl_ctr_show(struct ctl *c, const char *agent);
int	ctl_hw_any_gpu(const struct mc_json *list);
void	ctl_hw_gpu_cell(const struct mc_json *a, char *out, size_t outlen);
void	ctl_hw_show(const struct mc_metrics *m);
/* ctl_send.c (with ctl_send_follow.c; what they share: ctl_send.h) */
int	ctl_cmd_send(struct ctl *c, int argc, char **argv);
/* Is id a command id hubctl may put into a path? 1 or 0. */
int	ctl_id_valid(const char *id);
/* ctl_send_args.c */
/* The JSON body of a command request (with "target" for a fan-out):
 * with nsig signatures (sig[nsig]) the command is theirs ("signed": one
 * envelope, or a fan-out's array) and the body adds only queue and cap.
 * 0, or -1 if it is over b's limit. */
int	ctl_send_body(const struct ctl_send *q, const struct mc_sig *sig,
	    size_t nsig, struct mc_buf *b);
/* ctl_fanout.c (with ctl_fanout_follow.c; what they share: ctl_fanout.h) */
/* send --tag TAG | --all: q parsed and the settings finished. */
int	ctl_fanout(struct ctl *c, const struct ctl_send *q);
/* ctl_docker.c */
/* Add a row per container of docker_ps output (JSON) to t, the agent's
 * name first when agent is not NULL.  0, or -1 (nothing added) if the
 * output is not a JSON array of containers. */
int	ctl_docker_rows(struct ctl_table *t, const char *agent,
	    const char *out, size_t len);
/* ctl_history.c */
int	ctl_cmd_history(struct ctl *c, int argc, char **argv);
/* ctl_update.c: update-containers, a rolling update on the hub */
int	ctl_cmd_update(struct ctl *c, int argc, char **argv);
/* ctl_watch.c */
int	ctl_cmd_watch(struct ctl *c, int argc, char **argv);
/* ctl_sessions.c: "sessions [AGENT]", "sessions play ID" */
int	ctl_cmd_sessions(struct ctl *c, int argc, char **argv);
/* ctl_term.c (with ctl_tty.c) */
int	ctl_cmd_term(struct ctl *c, int argc, char **argv);

/* ---- ctl_tty.c: the local terminal of hubctl term ---- */

/* Catch SIGWINCH, SIGTERM, SIGHUP, SIGINT and SIGQUIT as bytes on a pipe
 * and ignore SIGPIPE: the pipe's read end to poll, or -1 (errno). */
int	ctl_tty_signals(void);
/* Put back what ctl_tty_signals() changed. */
void	ctl_tty_signals_end(void);
/* The next signal caught, or 0 when none is waiting. */
int	ctl_tty_signal(void);
/* Non-zero once a signal that ends hubctl term was caught. */
int	ctl_tty_ending(void);
/* Put stdin (a terminal) in raw mode: 0, or -1 after printing why. */
int	ctl_tty_raw(void);
/* Undo ctl_tty_raw(), if it was done; safe to call more than once. */
void	ctl_tty_restore(void);
/* The window's size from the first of stdin, stdout, stderr that is a
 * terminal (at most MC_TERM_DIM_MAX), else 80 x 24. */
void	ctl_tty_size(int *cols, int *rows);
/* ctl_key.c: the operator's signing keys (ctl_key.h) */
struct ctl_key;
int	ctl_key_cmd_create(struct ctl *c, int argc, char **argv);
int	ctl_key_cmd_list(struct ctl *c, int argc, char **argv);
/* The key --key or "key =" names, loaded (asking for its passphrase when
 * it is encrypted): 0 and *out (owned by the caller: ctl_key_free), 0
 * and *out NULL when none is set, or an exit status after saying why. */
int	ctl_key_load(const struct ctl *c, struct ctl_key **out);
void	ctl_key_free(struct ctl_key *k);
/* ctl_sign.c */
/* Sign s for k: its nonce, iat and exp are set here, the rest is the
 * caller's.  0 with the envelope in out, or -1 after saying why. */
int	ctl_sign_make(const struct ctl_key *k, struct mc_sigcmd *s,
	    struct mc_sig *out);
/* Sign the domain line and then len bytes of text with k: 0 with the
 * raw signature in sig, or -1 after saying why.  (Commands and
 * releases: what follows the domain is each one's own.) */
int	ctl_sign_raw(const struct ctl_key *k, const char *domain,
	    const void *text, size_t len, unsigned char sig[MC_SIG_RAW]);
/* Sign q's command (its kind, cmd, arg, timeout) for agent: 0 or -1
 * after saying why. */
int	ctl_sign_send(const struct ctl_key *k, const struct ctl_send *q,
	    const char *agent, struct mc_sig *out);
/* An agent's error says it runs only signed commands: tell how to make
 * and trust a key (on stderr), once per process. */
void	ctl_sign_hint(const char *error);
/* ctl_admin.c */
int	ctl_cmd_key_create(struct ctl *c, int argc, char **argv);
int	ctl_cmd_key_list(struct ctl *c, int argc, char **argv);
int	ctl_cmd_key_revoke(struct ctl *c, int argc, char **argv);
int	ctl_cmd_token_create(struct ctl *c, int argc, char **argv);
int	ctl_cmd_token_list(struct ctl *c, int argc, char **argv);
int	ctl_cmd_token_revoke(struct ctl *c, int argc, char **argv);
/* ctl_hubs.c: "hubs" */
int	ctl_cmd_hubs(struct ctl *c, int argc, char **argv);

/* ctl_config.c: "config status|sync|log [-n N]|rollback COMMIT" */
int	ctl_cmd_config_status(struct ctl *c, int argc, char **argv);
int	ctl_cmd_config_sync(struct ctl *c, int argc, char **argv);
int	ctl_cmd_config_log(struct ctl *c, int argc, char **argv);
int	ctl_cmd_config_diff(struct ctl *c, int argc, char **argv);
int	ctl_cmd_config_rollback(struct ctl *c, int argc, char **argv);

/* ctl_alerts.c */
int	ctl_cmd_alerts_test(struct ctl *c, int argc, char **argv);
/* ctl_backup.c */
int	ctl_cmd_backup(struct ctl *c, int argc, char **argv);
/* "silence AGENT|--tag TAG --for D [--reason T]", "silence list|clear ID" */
int	ctl_cmd_silence(struct ctl *c, int argc, char **argv);
int	ctl_cmd_ack(struct ctl *c, int argc, char **argv);
/* ctl_agents.c: METHOD /api/agents/AGENT<suffix> for noun's one AGENT
 * argument: 0 with the 2xx answer in r (printed already with --json), or
 * the exit status, said; r is the caller's to free either way. */
int	ctl_agent_call(struct ctl *c, const char *noun, int argc, char **argv,
	    const char *method, const char *suffix, struct ctl_resp *r);

#endif
