/*
 * lst.h - maestro-listener's internal interface, grouped by file.
 *
 * The listener is one process with one lws event loop: the hub
 * connection, heartbeat and command timers, child output pipes and the
 * signal descriptor are all serviced there, and nothing blocks it.  It
 * has no other thread: every function below runs on the service thread.
 * All
 * state lives in one struct lst that callbacks reach through
 * lws_context_user(); the logic functions take plain bytes and structs
 * so they can be driven without a network.
 */
#ifndef LST_H
#define LST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <libwebsockets.h>

#include "mc_buf.h"
#include "mc_limits.h"
#include "mc_proto.h"
#include "mc_util.h"

#define LST_PROG		"maestro-listener"
#define LST_CONF_DEFAULT	"/etc/maestro/listener.conf"
#define LST_STATE_ROOT		"/var/lib/maestro-listener"
#define LST_WS_PATH		"/ws/agent"
#define LST_CRED_FILE		"credential"
/* seconds a goodbye may take to be written before we leave anyway */
#define LST_BYE_WAIT		2.0
/* room past MC_PEER_QUEUE_MAX kept for control messages (result, bye) so
 * that output filling the queue can never push a result out */
#define LST_QUEUE_RESERVE	(64 * 1024)
/* seconds a TCP connect and each handshake step may take */
#define LST_CONNECT_TIMEOUT	20
/* idle seconds before lws pings the hub, and before it gives up on it */
#define LST_PING_SECS		30
#define LST_HANGUP_SECS		50

/* Settings from the config file and the flags (one table, lst_conf.c). */
struct lst_conf {
	char	hub[512];
	char	name[MC_NAME_MAX + 1];
	char	tags[MC_TAGS_MAX * (MC_TAG_MAX + 1) + 1];
	char	enroll_key[MC_SECRET_MAX];
	char	state_dir[MC_PATH_MAX];
	char	fingerprint[160];
	char	ca[MC_PATH_MAX];
	int	insecure;
	char	log_level[16];
	char	allow[256];
	char	run_as[64];		/* stored, not enforced yet */
	char	docker_socket[MC_PATH_MAX];	/* stored, not used yet */
	char	display[64];		/* stored, not used yet */
};

/* What a queued message is, which decides when it may go and whether it
 * survives a reconnect. */
enum lst_qclass {
	LST_Q_HELLO,	/* first on a connection; dropped when it closes */
	LST_Q_HB,	/* jumps the queue; dropped when the connection closes */
	LST_Q_CTRL,	/* started, result: kept across reconnects */
	LST_Q_OUT,	/* command output: kept, refused past the bound */
	LST_Q_BYE	/* the last message; the connection closes after it */
};

struct lst_qmsg {
	struct lst_qmsg	*next;
	enum lst_qclass	 cls;
	size_t		 len;
	unsigned char	 buf[];	/* LWS_PRE bytes of headroom, then len */
};

/* Messages towards the hub, bounded in bytes. */
struct lst_queue {
	struct lst_qmsg	*head;	/* owned, with every message after it */
	struct lst_qmsg	*tail;
	size_t		 bytes;	/* payload bytes queued */
	int		 nhb;	/* heartbeats queued */
};

enum lst_conn {
	LST_IDLE,	/* waiting for the reconnect timer */
	LST_CONNECTING,	/* TCP/TLS/WebSocket handshake under way */
	LST_OPEN,	/* upgraded; hello queued or sent, no welcome yet */
	LST_READY	/* welcomed: heartbeats run, queue flows */
};

struct lst_job;

/* One output pipe of a running command, adopted into the loop. */
struct lst_pipe {
	struct lst_job	*job;
	struct lws	*wsi;		/* NULL once lws closed it */
	enum mc_stream	 stream;
	size_t		 ncarry;	/* bytes of a split UTF-8 sequence */
	unsigned char	 carry[4];
};

/* One running shell command.  A slot stays used until its result is
 * queued and both of its pipes are closed. */
struct lst_job {
	struct lst	*l;
	int		 used;
	char		 id[MC_ID_MAX];
	pid_t		 pid;
	int		 reaped;	/* waitpid() collected it */
	int		 wstatus;
	int		 timed_out;
	double		 started;	/* mc_now() */
	double		 timeout;	/* seconds */
	uint64_t	 cap;
	uint64_t	 out_bytes;	/* produced, including dropped */
	uint64_t	 sent_bytes;	/* forwarded to the hub */
	int		 truncated;
	struct lst_pipe	 pipes[2];	/* stdout, stderr */
	lws_sorted_usec_list_t sul_timeout;
};

struct lst {
	struct lst_conf	 conf;
	struct mc_url	 url;
	char		 fp[MC_SHA256_HEX];	/* pinned cert, "" if none */
	unsigned	 allow;			/* bit per enum mc_kind */
	char		 cred_path[MC_PATH_MAX];
	char		 home[MC_PATH_MAX];	/* HOME for commands */
	struct mc_hello	 hello;			/* facts + cred or key */

	struct lws_context *ctx;		/* owned */
	struct lws_vhost *vh;
	struct lws	*wsi;			/* hub connection or NULL */
	enum lst_conn	 conn;
	double		 connect_t0;		/* mc_now() of the attempt */
	double		 hb_every;		/* seconds, from welcome */
	uint64_t	 seq;
	double		 backoff;		/* next delay, seconds */
	char		 why[2 * MC_TEXT_MAX];	/* why the connection ended */
	int		 rx_partial;		/* rx holds a partial message */
	struct mc_buf	 rx;			/* owned: reassembly */
	struct mc_buf	 scratch;		/* owned: encoding */
	struct lst_queue q;			/* owned */
	lws_sorted_usec_list_t sul_connect;
	lws_sorted_usec_list_t sul_hb;
	lws_sorted_usec_list_t sul_exit;

	struct lst_job	 jobs[MC_LST_RUNNING_MAX];
	struct mc_hb	 hb;			/* heartbeat scratch */
	double		 net_last;		/* mc_now() of last net sample */

	int		 leaving;	/* a bye is on its way; no new work */
	int		 done;		/* leave the event loop */
	int		 exit_code;
};

/* lst_conf.c */
/* Read the config file and flags into l->conf and derive l->url, l->fp,
 * l->allow and the hello's name and tags.  Returns 0, 1 when --help or
 * --version was answered (exit 0), or -1 with a one-line reason in err
 * (exit 2). */
int	lst_conf_read(struct lst *l, int argc, char **argv, char *err,
	    size_t errlen);

/* lst_cred.c */
/* Pick the state dir, create it 0700, and load STATE_DIR/credential into
 * the hello (else the enrollment key).  0, or -1 with a reason in err and
 * *code the exit status (2 usage, 1 system error). */
int	lst_cred_setup(struct lst *l, int *code, char *err, size_t errlen);
/* Store a credential the hub issued (mode 0600) and use it from now on.
 * 0, or -1 (logged) when it could not be written. */
int	lst_cred_save(struct lst *l, const char *cred);

/* lst_user.c */
/* The home directory of uid from /etc/passwd.  0, or -1 if unknown. */
int	lst_user_home(uid_t uid, char *out, size_t size);

/* lst_queue.c */
void	lst_queue_init(struct lst_queue *q);
void	lst_queue_free(struct lst_queue *q);
/* Copy len bytes into a new message of class cls at the tail (or the
 * head for LST_Q_HELLO and LST_Q_HB).  0, or -1 when the bound or memory
 * says no. */
int	lst_queue_push(struct lst_queue *q, enum lst_qclass cls,
	    const void *data, size_t len);
/* The oldest message, or NULL.  The queue still owns it. */
struct lst_qmsg *lst_queue_peek(const struct lst_queue *q);
/* Free the oldest message. */
void	lst_queue_pop(struct lst_queue *q);
/* Free every message of class cls. */
void	lst_queue_drop(struct lst_queue *q, enum lst_qclass cls);

/* lst_ws.c */
/* The lws protocol callback of the hub connection (a thin dispatcher). */
int	lst_ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
	    void *user, void *in, size_t len);
/* Connect now; from then on reconnect forever with backoff. */
void	lst_ws_start(struct lst *l);
/* Handle one whole message from the hub.  0, or -1 to close. */
int	lst_ws_handle(struct lst *l, const char *buf, size_t len);
/* A buffer to encode one message into before lst_ws_send(). */
struct mc_buf *lst_ws_buf(struct lst *l);
/* Queue what lst_ws_buf() holds and ask for a write.  0, or -1 when the
 * queue refused it. */
int	lst_ws_send(struct lst *l, enum lst_qclass cls);
/* Say goodbye with reason, then leave the loop with exit status code
 * once it is written (or after LST_BYE_WAIT, or at once if offline). */
void	lst_ws_leave(struct lst *l, const char *reason, int code);
/* Cancel the timers; called before the context is destroyed. */
void	lst_ws_stop(struct lst *l);

/* lst_metrics.c */
/* Start libstatgrab. 0 or -1 (logged). */
int	lst_metrics_init(void);
void	lst_metrics_shutdown(void);
/* Fill the hello's host facts: hostname, os, kernel, arch, cpus, mem. */
void	lst_metrics_facts(struct mc_hello *h);
/* Sample everything a heartbeat carries; last is the previous sample's
 * mc_now() (updated) for network rates. */
void	lst_metrics_collect(struct mc_metrics *m, double *last);

/* lst_exec.c */
/* The lws protocol callback of adopted output pipes. */
int	lst_exec_callback(struct lws *wsi, enum lws_callback_reasons reason,
	    void *user, void *in, size_t len);
/* Start cmd->cmd under /bin/sh -c in its own process group and send
 * started.  0, or -1 with the reason in err (nothing was started). */
int	lst_exec_start(struct lst *l, const struct mc_cmd *c, char *err,
	    size_t errlen);
/* Collect exited children (called on SIGCHLD). */
void	lst_exec_reap(struct lst *l);
/* Running commands, and whether id is one of them. */
int	lst_exec_count(const struct lst *l);
int	lst_exec_has(const struct lst *l, const char *id);
/* Kill every running process group (on exit). */
void	lst_exec_kill_all(struct lst *l);

/* lst_cmd.c */
/* Decode and run one cmd message; every outcome is answered. */
void	lst_cmd_handle(struct lst *l, const struct mc_msg *m);
/* Parse an allow list ("shell,metrics", "" or "all" for every kind). */
int	lst_cmd_allow_parse(const char *list, unsigned *mask, char *err,
	    size_t errlen);
/* Queue a result for id. */
void	lst_cmd_result(struct lst *l, const struct mc_result *r);
/* Queue a failed result for id with the reason. */
void	lst_cmd_fail(struct lst *l, const char *id, const char *why);

/* One module per command kind: run c and answer it. */
void	lst_cmd_shell(struct lst *l, const struct mc_cmd *c);
void	lst_cmd_stop(struct lst *l, const struct mc_cmd *c);
void	lst_cmd_metrics(struct lst *l, const struct mc_cmd *c);

#endif
