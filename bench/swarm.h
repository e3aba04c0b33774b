/*
 * swarm.h - bench/swarm's internal interface, grouped by file.
 *
 * swarm is a load generator: one process, one lws event loop, N simulated
 * agents that speak the real hub <-> listener protocol (common/mc_proto).
 * All state lives in one struct sw that callbacks reach through
 * lws_context_user(); each agent is a small struct sw_agent in one array.
 * Nothing is allocated per heartbeat: every message is encoded at
 * WRITEABLE time into the one outgoing buffer (sw.tx) and written at once,
 * so an agent only remembers *what* it owes the hub (a few bits and up to
 * SW_CMD_SLOTS command ids), never the bytes.
 */
#ifndef SWARM_H
#define SWARM_H

#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "mc_buf.h"
#include "mc_limits.h"
#include "mc_proto.h"
#include "mc_util.h"

#define SW_PROG			"swarm"
#define SW_WS_PATH		"/ws/agent"
/* the tick: status line, --duration, goodbyes; with --timing wheel every
 * agent timer is rounded up to a multiple of it */
#define SW_TICK_MS		50
/* the shortest heartbeat interval we keep, whatever the welcome says */
#define SW_HB_MIN		0.05
/* commands one agent answers at the same time */
#define SW_CMD_SLOTS		4
/* loopback source addresses connections are spread over */
#define SW_SOURCES_MAX		256
/* lws receive buffer per connection; longer messages arrive in pieces
 * and are put together in a buffer that exists only while that lasts */
#define SW_RX_BUF		2048
/* the one outgoing buffer: the largest message we write (hello, a
 * heartbeat with the real payload, a result) is well under this */
#define SW_TX_MAX		(16 * 1024)
/* seconds without a pong before an agent pings the hub: a listener's lws
 * does so (LST_PING_SECS in listener/lst.h), and the hub answers each */
#define SW_PING_SECS		300
/* seconds from an agent's bye "restart" (its listener_update done) to
 * its next connection: a listener's re-exec and start */
#define SW_RESTART_SECS		0.1
/* listener_update downloads in flight at once (--downloads) */
#define SW_DOWNLOADS		16
/* seconds a TCP connect and each handshake step may take */
#define SW_CONNECT_TIMEOUT	20
/* goodbyes started per tick at exit (see sw_ws_leave_step), and the
 * seconds the last of them may take before we close anyway */
#define SW_BYE_PER_TICK		500
#define SW_BYE_WAIT		3.0
/* hub errors logged per second; the rest are counted */
#define SW_LOG_PER_SEC		5
/* agents per process: names use up to 8 digits */
#define SW_INDEX_MAX		99999999
#define SW_PREFIX_MAX		40
#define SW_HUBS_MAX		8	/* --hub a,b,...: as a listener's hub = */

/* Settings from the flags (one table, swarm_conf.c). */
struct sw_conf {
	char	hub[512];
	int	agents;
	char	enroll_key[MC_SECRET_MAX];
	char	creds[MC_PATH_MAX];
	char	prefix[SW_PREFIX_MAX + 1];
	char	fingerprint[160];
	int	insecure;
	char	sources[128];
	double	ramp;			/* new connections per second */
	double	duration;		/* seconds; 0 = until a signal */
	char	payload[16];		/* real or small */
	int	first;			/* index of the first agent */
	char	log_level[16];
	char	timing[16];		/* independent or wheel */
	int	downloads;		/* listener_update downloads at once */
	char	start[16];		/* random or first */
};

enum sw_state {
	SW_IDLE,	/* waiting for its (re)connect timer */
	SW_CONNECTING,	/* TCP/TLS/WebSocket handshake under way */
	SW_OPEN,	/* upgraded; hello owed or sent, no welcome yet */
	SW_READY,	/* welcomed: heartbeats run, commands answered */
	SW_GONE		/* closed at exit; never reconnects */
};

/* What an agent owes the hub (sw_agent.pending). */
#define SW_P_HELLO	0x01
#define SW_P_HB		0x02
#define SW_P_BYE	0x04
#define SW_P_PING	0x08
#define SW_P_RESTART	0x10	/* bye "restart": a listener_update is in */

/* Where a command's answer stands. */
enum sw_phase { SW_CMD_FREE, SW_CMD_STARTED, SW_CMD_OUT, SW_CMD_RESULT,
    SW_CMD_WAIT /* nothing owed: its download is on the worker */ };

struct sw_update_job;

struct sw_cmd {
	char		id[MC_ID_MAX];
	uint8_t		phase;		/* enum sw_phase: the next to send */
	/* owned: listener_update's download while the loop holds it (from
	 * the cmd to `started`, and from its end to the result); NULL for
	 * every other kind and while the worker has it */
	struct sw_update_job *job;
};

/* An agent's one timer, as the timing in use keeps it. */
union sw_tlink {
	struct {			/* swarm_timer_wheel.c */
		struct sw_agent	*next, *prev;	/* slot list */
		uint32_t	 due;		/* tick it fires at */
	} w;
	struct {			/* swarm_timer_heap.c */
		int64_t		 at;		/* due, microseconds */
		uint32_t	 pos;		/* heap slot + 1; 0: none */
		uint32_t	 ping;		/* its ping timer's, the same */
	} h;
};

/* One simulated agent.  Its name is prefix-index, built when needed. */
struct sw_agent {
	union sw_tlink	 t;		/* its timer */
	struct lws	*wsi;		/* its connection or NULL */
	struct mc_buf	*rx;		/* owned: a split message, or NULL */
	uint32_t	 index;
	uint32_t	 seq;		/* heartbeats on this connection */
	uint16_t	 backoff;	/* next reconnect delay, seconds */
	uint8_t		 state;		/* enum sw_state */
	uint8_t		 pending;	/* SW_P_* */
	uint8_t		 linked;	/* its timer is armed */
	uint8_t		 tried;		/* has tried to connect before */
	uint8_t		 restarted;	/* closed by its bye "restart" */
	uint8_t		 hub;		/* its hub: an index into s->urls */
	uint8_t		 hub_step;	/* and its next: + this, mod nurls (its
					 * own order of the list, as each
					 * listener shuffles its hubs) */
	uint8_t		 welcomed;	/* welcomed once, by any hub */
	char		 version[MC_VERSION_TEXT_MAX];	/* "": MC_VERSION */
	char		 cred[MC_SECRET_MAX];	/* "" until enrolled */
	struct sw_cmd	 cmds[SW_CMD_SLOTS];
};

/* Counters behind the status line. */
struct sw_stats {
	int		 connected;	/* agents welcomed right now */
	int		 live;		/* agents with a connection at all */
	uint64_t	 heartbeats;	/* written */
	uint64_t	 hb_last;	/* at the previous status line */
	double		 report_el;	/* seconds since start, at that */
	uint64_t	 commands;	/* cmd messages received */
	uint64_t	 results;	/* results written */
	uint64_t	 acks;
	uint64_t	 reconnects;	/* attempts after each agent's first */
	uint64_t	 errors;	/* failed connects, hub errors, ... */
	uint64_t	 enrolled;	/* credentials issued by the hub */
	uint64_t	 byes;		/* goodbyes written */
	uint64_t	 pings;		/* WebSocket pings written */
	uint64_t	 pongs;		/* and answers to them */
	uint64_t	 downloads;	/* releases downloaded and checked */
	int		 log_budget;	/* error lines left this second */
	uint64_t	 log_dropped;
};

/*
 * When agent timers fire and how heartbeats are spaced (--timing): one
 * implementation per file, chosen once from the flags, called only
 * through swarm_timer.c.  Each agent has one timer (reconnect while idle,
 * next heartbeat while ready); when it fires, sw_ws_due() runs.
 */
struct sw;

struct sw_timing {
	const char	*name;		/* --timing */
	const char	*about;		/* for the start's log line */
	/* allocate what it keeps in s->tdata; 0 or -1 */
	int	(*init)(struct sw *s);
	/* arm (or re-arm) a's timer secs from now */
	void	(*set)(struct sw *s, struct sw_agent *a, double secs);
	/* arm a's timer for its next heartbeat: after a welcome (welcome
	 * 1), or from sw_ws_due() for the one after a heartbeat (0) */
	void	(*hb)(struct sw *s, struct sw_agent *a, int welcome);
	void	(*cancel)(struct sw *s, struct sw_agent *a);
	/* arm (secs >= 0) or cancel (secs < 0) a's second timer, its next
	 * ping; when it fires, sw_ws_ping_due() runs.  NULL: no pings */
	void	(*ping)(struct sw *s, struct sw_agent *a, double secs);
	/* every SW_TICK_MS (may be NULL) */
	void	(*tick)(struct sw *s);
	/* cancel every timer (the loop is ending) */
	void	(*stop)(struct sw *s);
	/* free s->tdata; NULL is fine */
	void	(*free)(struct sw *s);
};

/* swarm_timer_heap.c: --timing independent (the default) */
extern const struct sw_timing sw_timer_heap;
/* swarm_timer_wheel.c: --timing wheel (batched; not a capacity figure) */
extern const struct sw_timing sw_timer_wheel;

struct sw {
	struct sw_conf	 conf;
	struct mc_url	 url;			/* the first hub */
	/* --hub's hubs (a comma list): an agent starts at a random one and
	 * moves to the next when its connection fails or closes */
	struct mc_url	 urls[SW_HUBS_MAX];
	int		 nurls;
	int		 start_first;		/* --start first */
	char		 path[256];		/* WebSocket path */
	char		 fp[MC_SHA256_HEX];	/* pinned cert, "" if none */
	int		 small;			/* --payload small */
	char		 src[SW_SOURCES_MAX][16];	/* IPv4, dotted */
	int		 nsrc;
	int		 creds_fd;		/* appended to; -1 if unused */
	char		 boot[MC_ID_MAX];	/* this process, in hellos */

	struct lws_context *ctx;		/* owned; NULL once gone */
	int		 evlib;			/* libev runs the loop (epoll) */
	struct lws_vhost *vh;
	struct sw_agent	*agents;		/* owned array of conf.agents */
	int		 n;
	double		 hb_every;		/* from the last welcome */

	struct mc_buf	 tx;			/* owned: the outgoing buffer */
	struct mc_hello	 hello;			/* scratch for encoding */
	struct mc_cmd	 cmd;			/* scratch for decoding */
	struct mc_hb	 hb;			/* scratch for encoding */
	uint64_t	 rng;			/* xorshift state */

	/* timers (swarm_timer*.c) */
	const struct sw_timing *timing;		/* --timing */
	void		*tdata;			/* owned by the timing */
	double		 t0;			/* mc_now() at start */
	double		 next_report;		/* seconds since t0 */
	lws_sorted_usec_list_t sul_tick;

	struct sw_update *upd;			/* owned: swarm_update.c */

	struct sw_stats	 st;
	int		 leaving;		/* goodbyes on their way */
	double		 leave_t;		/* mc_now() when it began */
	double		 leave_by;		/* mc_now() to give up, or 0 */
	int		 leave_next;		/* next agent to say bye */
	int		 leave_owed;		/* goodbyes not yet written */
	int		 done;			/* leave the event loop */
};

/* swarm_conf.c */
/* Read the flags into s->conf and derive s->url, s->path, s->fp, s->src
 * and s->small.  Returns 0, 1 when --help or --version was answered
 * (exit 0), or -1 with a one-line reason in err (exit 2). */
int	sw_conf_read(struct sw *s, int argc, char **argv, char *err,
	    size_t errlen);

/* swarm_cred.c */
/* Allocate the agents and give each the credential the creds file holds
 * for its name; open the file for appending (mode 0600).  0, or -1 with
 * a reason in err (an agent with neither a credential nor
 * --enroll-key is an error). */
int	sw_cred_setup(struct sw *s, char *err, size_t errlen);
/* Keep the credential the hub issued to a: in memory and as one line
 * "name credential" appended to the creds file.  0, or -1 (logged). */
int	sw_cred_save(struct sw *s, struct sw_agent *a, const char *cred);
/* Close the creds file. */
void	sw_cred_close(struct sw *s);
/* a's name, prefix-index, in buf. */
void	sw_agent_name(const struct sw *s, const struct sw_agent *a,
	    char *buf, size_t size);

/* swarm_main.c */
/* Close every connection (each agent is gone for good) and destroy the
 * context.  With poll() run() calls it after the loop; with libev
 * lws_service() runs until the context is gone, so the tick calls it
 * from inside the loop once s->done is set.  Service thread only. */
void	sw_main_close(struct sw *s);

/* swarm_payload.c */
/* The hello a's listener would send: host facts, tags ["swarm"], its
 * credential (or the enrollment key), this process's boot id and the
 * commands a is still answering. */
void	sw_payload_hello(struct sw *s, const struct sw_agent *a,
	    struct mc_hello *h);
/* Plausible metrics for a's heartbeat number seq: the size and shape of a
 * real listener's (3 filesystems, 2 interfaces), or the bare minimum with
 * --payload small. */
void	sw_payload_metrics(const struct sw *s, const struct sw_agent *a,
	    uint32_t seq, struct mc_metrics *m);

/* swarm_timer.c */
/* A uniform random number in [lo, hi). */
double	sw_rand(struct sw *s, double lo, double hi);
/* s->conf.timing's implementation, or NULL. */
const struct sw_timing *sw_timer_find(const char *name);
/* Allocate the timing's state (after the agents).  0, or -1. */
int	sw_timer_init(struct sw *s);
/* Start the tick: timers, the status line, --duration and exit. */
void	sw_timer_start(struct sw *s);
/* (Re)arm a's one timer to fire in secs; when it does, sw_ws_due() runs.
 * Arm it for the next heartbeat (welcome: the first timer after a
 * welcome).  Cancel it.  Cancel everything.  Free the timing's state.
 * Service thread only. */
void	sw_timer_set(struct sw *s, struct sw_agent *a, double secs);
void	sw_timer_hb(struct sw *s, struct sw_agent *a, int welcome);
void	sw_timer_cancel(struct sw *s, struct sw_agent *a);
/* (Re)arm a's ping timer secs from now, or cancel it (secs < 0); a no-op
 * with a timing that sends no pings.  Service thread only. */
void	sw_timer_ping(struct sw *s, struct sw_agent *a, double secs);
void	sw_timer_stop(struct sw *s);
void	sw_timer_free(struct sw *s);
/* Count an error and log it within the per-second budget. */
void	sw_error(struct sw *s, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* swarm_update.c */
/* Start the download worker (after the context: it wakes the loop with
 * lws_cancel_service).  0, or -1; sw_update_free() cleans up either way. */
int	sw_update_init(struct sw *s);
/* A job for listener_update c, answered by a's slot number slot, or NULL
 * (out of memory).  The caller owns it.  A release without path, size or
 * sha256 makes a job that fails at once.  Service thread only. */
struct sw_update_job *sw_update_job_new(struct sw *s, struct sw_agent *a,
	    int slot, const struct mc_cmd *c);
/* Hand j to the worker (it owns j from here); it comes back to its slot
 * at phase SW_CMD_RESULT, with the loop owning it again.  Service thread
 * only. */
void	sw_update_submit(struct sw *s, struct sw_update_job *j);
/* The lws protocol callback that takes finished downloads back
 * (LWS_CALLBACK_EVENT_WAIT_CANCELLED). */
int	sw_update_callback(struct lws *wsi, enum lws_callback_reasons reason,
	    void *user, void *in, size_t len);
/* Fill r's outcome (done exit 0, or failed with the reason). */
void	sw_update_result(const struct sw_update_job *j, struct mc_result *r);
/* The version j installed, or NULL if it failed. */
const char *sw_update_version(const struct sw_update_job *j);
/* Free one job; NULL is fine. */
void	sw_update_job_free(struct sw_update_job *j);
/* Stop the worker, join it and free every job it holds; NULL s->upd is
 * fine.  Service thread only. */
void	sw_update_free(struct sw *s);

/* swarm_ws.c */
/* Ask for WRITEABLE on a's connection, if it has one: something is owed. */
void	sw_ws_wake(struct sw_agent *a);
/* The lws protocol callback of agent connections (a thin dispatcher). */
int	sw_ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
	    void *user, void *in, size_t len);
/* a's timer fired: connect when idle, owe a heartbeat when ready. */
void	sw_ws_due(struct sw *s, struct sw_agent *a);
/* a's ping timer fired: owe the hub a ping. */
void	sw_ws_ping_due(struct sw *s, struct sw_agent *a);
/* Handle one whole message from the hub for a.  0, or -1 to close. */
int	sw_ws_handle(struct sw *s, struct sw_agent *a, const char *buf,
	    size_t len);
/* Stop reconnecting and start saying goodbye: sw_ws_leave_step(), once a
 * tick, has the next SW_BYE_PER_TICK ready agents send bye; the loop
 * ends once all are closed or SW_BYE_WAIT after the last was started. */
void	sw_ws_leave(struct sw *s);
void	sw_ws_leave_step(struct sw *s);

#endif
