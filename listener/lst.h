/*
 * lst.h - maestro-listener's internal interface, grouped by file.
 *
 * The listener is one process with one lws event loop: the hub
 * connection, heartbeat and command timers, child output pipes and the
 * signal descriptor are all serviced there, and nothing blocks it.  It
 * has no other thread: every function below runs on the service thread,
 * except those marked "in a forked child" (Docker, X11, PNG, display
 * discovery), which run in a child process whose output comes back
 * through the same pipes as a shell command's.  All state lives in one
 * struct lst that callbacks reach through lws_context_user(); the logic
 * functions take plain bytes and structs so they can be driven without a
 * network.
 */
#ifndef LST_H
#define LST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <libwebsockets.h>

#include "mc_buf.h"
#include "mc_ctr.h"
#include "mc_limits.h"
#include "mc_proto.h"
#include "mc_term.h"
#include "mc_util.h"

#define LST_PROG		"maestro-listener"
#define LST_CONF_DEFAULT	"/etc/maestro/listener.conf"
#define LST_STATE_ROOT		"/var/lib/maestro-listener"
#define LST_WS_PATH		"/ws/agent"
#define LST_CRED_FILE		"credential"
/* the commands in flight, for the next start to kill what they leave
 * behind (lst_orphans.c) */
#define LST_RUNNING_FILE	"running"
/* its size: a boot id line and MC_LST_RUNNING_MAX lines of at most
 * 10 + 20 + MC_ID_MAX bytes */
#define LST_RUNNING_FILE_MAX	4096
/* seconds a goodbye may take to be written before we leave anyway */
#define LST_BYE_WAIT		2.0
/* room past MC_PEER_QUEUE_MAX kept for control messages (result, bye) so
 * that output filling the queue can never push a result out */
#define LST_QUEUE_RESERVE	(64 * 1024)
/* seconds a restart waits for the hub's ack of its result */
#define LST_RESTART_ACK_WAIT	2.0
/* exit status that asks systemd for a fresh copy (the unit has
 * RestartForceExitStatus=75); EX_TEMPFAIL */
#define LST_EXIT_RESTART	75
/* starts of a new version, not welcomed yet, after which the next start
 * puts the previous binary back (lst_rollback.c) */
#define LST_UPDATE_STARTS_MAX	3
/* seconds a new version has to be welcomed, unless update_confirm says */
#define LST_UPDATE_CONFIRM	60
#define LST_DOCKER_SOCKET	"/var/run/docker.sock"
/* commands held until the hub acknowledges their result; hello lists
 * them all in "pending" */
#define LST_HOLD_MAX		MC_PENDING_MAX
/* command ids remembered so that a repeated cmd never runs twice */
#define LST_SEEN_MAX		256
/* nonces of signed commands remembered until they expire, and the
 * state file that keeps them across a restart (lst_seen.c) */
#define LST_SEEN_NONCES		4096
#define LST_SEEN_FILE		"signed-seen"
/* bytes of a file (screenshot) allowed in the send queue at a time; the
 * rest waits in its held command until the queue drains */
#define LST_FILE_QUEUE		(1024 * 1024)
/* bytes of files held waiting to be sent, over every command */
#define LST_FILES_MAX		MC_BLOB_MAX
/* output messages already written, kept per command until its result's
 * ack to be written again after a reconnect (lst_tail.c): the newest
 * LST_TAIL_MAX bytes of a command's, LST_TAILS_MAX over every command */
#define LST_TAIL_MAX		(64 * 1024)
#define LST_TAILS_MAX		(1024 * 1024)
/* a child function's error text kept from its stderr */
#define LST_ERRTEXT_MAX		(MC_TEXT_MAX - 1)
/* supplementary groups of a run_as user */
#define LST_GROUPS_MAX		64
/* seconds a TCP connect and each handshake step may take */
#define LST_CONNECT_TIMEOUT	20
/* highest fd number the loop handles: hub, signals, 2 pipes a command, docker */
#define LST_FDS_MAX		256
/* idle seconds before lws pings the hub, and before it gives up on it: a
 * safety net only, for a hub whose kernel still answers TCP but whose
 * process does not; a hub that is gone is found by TCP_USER_TIMEOUT on
 * the heartbeats (LST_UNACKED_BEATS), and pings cost the hub a pong, a
 * write and two epoll changes each */
#define LST_PING_SECS		300
#define LST_HANGUP_SECS		330
/* heartbeats the hub's kernel may leave unacknowledged before the
 * connection is given up (at least LST_UNACKED_MIN seconds) */
#define LST_UNACKED_BEATS	3
#define LST_UNACKED_MIN		10
/* the allow bit of terminal sessions, past those of the command kinds */
#define LST_ALLOW_TERMINAL	(1u << MC_KIND_COUNT)
/* seconds from a terminal's SIGHUP to the SIGKILL of what is left */
#define LST_TERM_KILL_WAIT	2.0
/* seconds a shell that exited may leave its PTY busy (a background job
 * still writing) before its session ends anyway */
#define LST_TERM_LINGER		2.0
/* session slots: MC_TERM_SESSIONS_MAX open ones, and as many whose
 * term_end went while their process group waits for its SIGKILL */
#define LST_TERM_SLOTS		(2 * MC_TERM_SESSIONS_MAX)
/* send queue room for terminals past the control reserve: a window of
 * output and a few control messages per session */
#define LST_TERM_QUEUE		(MC_TERM_SESSIONS_MAX * \
				    (MC_TERM_WINDOW + MC_TERM_CHUNK))
/* hardware sampling (lst_gpu*.c, lst_sensors.c): seconds between two
 * searches for nvidia-smi, amdgpu cards and hwmon sensors (a driver
 * installed later is found); the shortest time between two nvidia-smi
 * calls, whatever the heartbeat; how long one call may take; the longest
 * back-off after failures; how old a sample may be, in sampling
 * intervals, to go in a heartbeat; how often a failure is logged as a
 * warning (the rest at debug level) */
#define LST_HW_RESCAN		600.0
#define LST_GPU_EVERY_MIN	1.0
#define LST_GPU_DEADLINE	5.0
#define LST_GPU_BACKOFF_MAX	600.0
#define LST_GPU_FRESH		3
#define LST_GPU_WARN_EVERY	3600.0
/* the sampling interval before the hub's welcome says the heartbeat's */
#define LST_GPU_EVERY_START	10.0
/* the metrics command's wait for nvidia-smi's list of processes */
#define LST_GPU_PROCS_DEADLINE	2.0
/* stdout kept from one nvidia-smi call (16 GPUs take about 3 KiB; a
 * busy machine's process list more) */
#define LST_GPU_OUT_MAX		(64 * 1024)
/* processes listed in the metrics command's gpu_procs */
#define LST_GPU_PROCS_MAX	128
/* metrics commands waiting at once for the process list; more are
 * answered without it */
#define LST_MWAIT_MAX		8
/* entries read from one sysfs directory while searching (a bound on a
 * strange tree, far above any real one) */
#define LST_SCAN_MAX		4096
/* a sysfs file's path kept between searches, sysfs_root included; a
 * longer one is skipped (real ones take under 80 bytes) */
#define LST_SYSPATH_MAX		256

/* hubs the hub setting may list (one cluster's), and the bytes of one
 * URL in it (a single hub had this bound before lists) */
#define LST_HUBS_MAX		8
#define LST_HUB_TEXT		512

/* The hubs to connect to (lst_hubs.c): the URLs as given, the order they
 * are tried in and the one in use. */
struct lst_hubs {
	int		 n;
	struct mc_url	 url[LST_HUBS_MAX];
	char		 text[LST_HUBS_MAX][LST_HUB_TEXT];	/* as written */
	int		 order[LST_HUBS_MAX];	/* a permutation of 0..n-1 */
	int		 pos;			/* in order: the hub in use */
	int		 failed;		/* attempts failed in a row in
						 * this round */
};

/* Settings from the config file and the flags (one table, lst_conf.c). */
struct lst_conf {
	char	hub[MC_CONF_LINE_MAX];	/* one URL or a list (lst_hubs.c) */
	char	name[MC_NAME_MAX + 1];
	char	tags[MC_TAGS_MAX * (MC_TAG_MAX + 1) + 1];
	char	enroll_key[MC_SECRET_MAX];
	char	state_dir[MC_PATH_MAX];
	char	fingerprint[160];
	char	ca[MC_PATH_MAX];
	int	insecure;
	char	log_level[16];
	char	allow[256];
	char	run_as[64];		/* user for shell commands, "" = ours */
	char	docker_socket[MC_PATH_MAX];	/* Docker Engine API */
	char	display[64];		/* X display, "" = found */
	double	reconnect_min;		/* first reconnect delay, seconds */
	double	terminal_idle;		/* seconds without a byte that end a
					 * terminal session */
	int	containers;		/* follow Docker's containers */
	double	container_check_every;	/* seconds between registry digest
					 * checks; 0 = never */
	char	sysfs_root[MC_PATH_MAX];	/* "/": where sys/class/hwmon and
					 * sys/class/drm are read (tests) */
	double	update_confirm;		/* seconds a self-update has to be
					 * welcomed before it is undone */
	int	ntrust;			/* operator keys ("trust" lines) */
	struct mc_pubkey trust[MC_TRUST_MAX];
	int	require_signed;		/* run only what they signed */
};

/* What a queued message is, which decides when it may go and whether it
 * survives a reconnect. */
enum lst_qclass {
	LST_Q_HELLO,	/* first on a connection; dropped when it closes */
	LST_Q_HB,	/* jumps the queue; dropped when the connection closes */
	LST_Q_CTRL,	/* started, blob: kept across reconnects */
	LST_Q_RESULT,	/* a result: kept; lst_hold learns when it is written */
	LST_Q_OUT,	/* command output: kept, refused past the bound */
	LST_Q_TERM,	/* terminal control: dropped when the connection
			 * closes (its sessions end with it) */
	LST_Q_TDATA,	/* a terminal's binary data frame: dropped likewise */
	LST_Q_BYE	/* the last message; the connection closes after it */
};

struct lst_qmsg {
	struct lst_qmsg	*next;
	enum lst_qclass	 cls;
	int		 out;		/* output of command id: kept once
					 * written (lst_tail.c) */
	char		 id[MC_ID_MAX];	/* LST_Q_RESULT: its command */
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
struct lst;
struct lst_ctr;

/* A local account, read from /etc/passwd and /etc/group (lst_user.c). */
struct lst_user {
	char	name[64];
	uid_t	uid;
	gid_t	gid;
	char	home[MC_PATH_MAX];
	char	shell[256];			/* login shell, "" if none */
	int	ngroups;			/* supplementary, with gid */
	gid_t	groups[LST_GROUPS_MAX];
};

/* Where a child's stdout goes. */
enum lst_sink {
	LST_SINK_STREAM,	/* "out" messages as it comes, within the cap */
	LST_SINK_FILE		/* kept whole (up to MC_BLOB_MAX) for a blob */
};

/*
 * What a command runs: a program (path, argv, envp) or a function in a
 * forked child (fn).  A program's stderr is streamed like its stdout; a
 * function's stderr is kept as the reason of a failure (it exits non-zero
 * to fail).  finish makes the result on the loop once the child is gone;
 * NULL means "done with the exit status" (a shell command).
 */
struct lst_spawn {
	const char	*path;
	char *const	*argv;
	char *const	*envp;
	const char	*cwd;
	const struct lst_user *user;	/* switch to it in the child, or NULL */
	int		(*fn)(struct lst *l, const struct mc_cmd *c);
	enum lst_sink	 sink;
	void		(*finish)(struct lst_job *j, struct mc_result *r);
};

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
	unsigned long long start;	/* pid's start time, /proc ticks */
	int		 reaped;	/* waitpid() collected it */
	int		 wstatus;
	int		 timed_out;
	double		 started;	/* mc_now() */
	double		 timeout;	/* seconds */
	uint64_t	 cap;
	uint64_t	 out_bytes;	/* produced, including dropped */
	uint64_t	 sent_bytes;	/* forwarded to the hub */
	int		 truncated;
	enum lst_sink	 sink;
	int		 err_kept;	/* stderr goes to errtext */
	int		 file_over;	/* the file went over MC_BLOB_MAX */
	void		(*finish)(struct lst_job *j, struct mc_result *r);
	struct mc_buf	 file;		/* owned: LST_SINK_FILE output */
	struct mc_buf	 errtext;	/* owned: a function's stderr */
	struct lst_pipe	 pipes[2];	/* stdout, stderr */
	lws_sorted_usec_list_t sul_timeout;
};

/* An output message written to the hub, as written ("at" in it). */
struct lst_kept {
	struct lst_kept	*next;
	size_t		 len;
	char		 msg[];
};

/* Where a held command is; see lst_hold.c. */
enum lst_hstate {
	LST_H_FREE,
	LST_H_RUNNING,		/* no result yet */
	LST_H_FILE,		/* its file is being queued; the result next */
	LST_H_UNQUEUED,		/* result waits for room in the send queue */
	LST_H_QUEUED,		/* result in the send queue */
	LST_H_SENT		/* result written; waiting for the hub's ack */
};

struct lst_held {
	enum lst_hstate	 state;
	char		 id[MC_ID_MAX];
	uint64_t	 age;		/* order of arrival */
	char		*result;	/* owned: the encoded result message */
	size_t		 rlen;
	char		*file;		/* owned while LST_H_FILE */
	size_t		 flen, foff;	/* size, bytes queued so far */
	char		 mime[32];
	struct lst_kept	*kept;		/* owned: output written, oldest
					 * first (lst_tail.c) */
	struct lst_kept	*kept_last;
	size_t		 kept_bytes;
};

/*
 * CPU use is a share of the ticks between two readings of the kernel's
 * cumulative counters (lst_metrics.c).  The window starts at the last
 * heartbeat's reading (the first at start).
 */
struct lst_cpu_window {
	unsigned long long user, kernel, iowait, total;	/* ticks at start */
	double		 start;		/* mc_now() at start; 0 = none yet */
	int		 have_last;
	double		 last[3];	/* user, system, iowait % of the last
					 * full window */
};

/* Commands not yet acknowledged, and the ids of recent ones. */
struct lst_hold {
	struct lst_held	 h[LST_HOLD_MAX];
	uint64_t	 next_age;
	size_t		 file_bytes;	/* held in files */
	size_t		 kept_bytes;	/* held in every kept tail */
	int		 nseen, seen_at;	/* ring of the last ids */
	char		 seen[LST_SEEN_MAX][MC_ID_MAX];
};

/* Nonces of the signed commands run, until they expire (lst_seen.c). */
struct lst_seen_ent {
	int64_t		 exp;		/* unix seconds */
	char		 nonce[MC_NONCE_MAX];
};

struct lst_seen {
	int		 n;
	struct lst_seen_ent e[LST_SEEN_NONCES];
	char		 path[MC_PATH_MAX + 16];	/* "" before open */
	int		 fd;		/* owned: appended to; -1 */
	int		 lines;		/* in the file */
};

/* Where a terminal session is; see lst_term.c. */
enum lst_tstate {
	LST_T_FREE,
	LST_T_RUNNING,		/* the shell runs, or exited and its PTY is
				 * being read to the end */
	LST_T_ENDING		/* ended: its PTY closed or closing, its
				 * process group hung up */
};

/* One terminal session: a login shell on a PTY, on channel ch. */
struct lst_tsess {
	struct lst	*l;
	enum lst_tstate	 state;
	uint32_t	 ch;
	char		 sid[MC_ID_MAX];	/* the hub's id, for the log */
	pid_t		 pid;		/* the shell: its session and group */
	int		 reaped;	/* waitpid() collected it */
	int		 wstatus;
	struct lws	*wsi;		/* the PTY master; NULL once closed */
	int		 sfd;		/* owned: the slave, held while the
					 * shell runs; -1 */
	int		 paused;	/* reading stopped: the window is full */
	int		 notify;	/* term_end still to be sent */
	enum mc_term_reason why;	/* LST_T_ENDING: the reason */
	uint64_t	 out_unacked;	/* output sent, not acknowledged */
	struct mc_buf	 in;		/* owned: input not written yet */
	double		 active;	/* mc_now() of the last byte */
	int		 kill_pending;	/* sul_kill is armed */
	lws_sorted_usec_list_t sul_idle;
	lws_sorted_usec_list_t sul_kill;	/* SIGKILL after the SIGHUP */
	lws_sorted_usec_list_t sul_linger;	/* the shell exited */
};

/*
 * A sampler child: a helper program (nvidia-smi) run off the heartbeat
 * path (lst_probe.c).  Its stdout is read from a non-blocking pipe in the
 * loop; past its deadline its process group is killed.  done is called
 * on the loop once it has exited and its pipe is closed, with why NULL
 * for exit status 0, else the reason, and its output (NUL-terminated,
 * the hook's to change, valid during the call).
 */
struct lst_probe {
	struct lst	*l;
	const char	*what;		/* for the log */
	pid_t		 pid;		/* 0: none running */
	int		 reaped;
	int		 wstatus;
	int		 killed;	/* past its deadline */
	int		 over;		/* its output went over the limit */
	double		 deadline;	/* seconds */
	struct lws	*wsi;		/* its stdout; NULL once closed */
	struct mc_buf	 out;		/* owned: stdout */
	void		(*done)(struct lst_probe *p, const char *why,
			    char *out, size_t len);
	lws_sorted_usec_list_t sul_deadline;
};

/* What the nvidia-smi source keeps between calls (lst_gpu_nvidia.c). */
struct lst_nvidia {
	char		 path[MC_PATH_MAX];	/* nvidia-smi, "" = none */
	double		 looked;		/* mc_now() of the last search */
	struct lst_probe query;			/* --query-gpu */
	struct lst_probe apps;			/* --query-compute-apps */
	double		 every;			/* sampling interval, s */
	double		 started;		/* mc_now() of the last call */
	int		 stuck;			/* said it outlives its kill */
	double		 next;			/* back-off: no call before */
	int		 fails;			/* failures in a row */
	double		 warned;		/* mc_now() of the last warning */
	int		 held;			/* failures not warned of since */
	char		*apps_out;		/* the process list, during
						 * lst_cmd_metrics_ready() */
	double		 at;			/* mc_now() of the sample */
	int		 ngpu;
	struct mc_gpu	 gpu[MC_GPU_MAX];	/* the last good sample */
};

/* An amdgpu card found under sys/class/drm (lst_gpu_amd.c). */
struct lst_amd_card {
	char	dev[LST_SYSPATH_MAX];	/* .../cardN/device */
	char	hwmon[LST_SYSPATH_MAX];	/* its hwmon dir, "" = none */
	char	name[MC_GPU_NAME_MAX];
	char	uuid[MC_GPU_UUID_MAX];
};

struct lst_amd {
	double		 looked;	/* mc_now() of the last search */
	int		 ncard;
	struct lst_amd_card card[MC_GPU_MAX];
};

/* A hwmon input file found under sys/class/hwmon (lst_sensors.c). */
struct lst_sensor {
	char	path[LST_SYSPATH_MAX];	/* .../hwmonN/temp1_input */
	char	name[MC_SENSOR_NAME_MAX];	/* "coretemp/Core 0" */
	enum mc_temp_kind kind;		/* temperatures */
	int	spun;			/* fans: read above 0 rpm once */
};

struct lst_sensors {
	double		 looked;	/* mc_now() of the last search */
	int		 ntemp, nfan;
	struct lst_sensor temp[MC_TEMP_MAX];
	struct lst_sensor fan[MC_FAN_MAX];
};

/* A metrics command waiting for the GPU process list (lst_cmd_metrics.c). */
struct lst_mwait {
	char		 id[MC_ID_MAX];
	uint64_t	 cap;
	double		 t0;		/* mc_now() it arrived */
};

/* A self-update waiting for the hub's welcome (lst_rollback.c). */
struct lst_upd_mark {
	char		 version[MC_VERSION_TEXT_MAX];	/* the new one */
	char		 previous[MC_VERSION_TEXT_MAX];
	char		 exe[MC_PATH_MAX];
	char		 prev[MC_PATH_MAX];		/* EXE.prev */
	double		 confirm;			/* seconds */
	int64_t		 deadline;			/* unix seconds */
	int		 starts;
};

struct lst {
	struct lst_conf	 conf;
	struct lst_hubs	 hubs;
	struct mc_url	 url;		/* the hub in use (or being tried):
					 * lst_hubs_cur() copied at each
					 * connect, for lst_fetch.c and TLS */
	char		 fp[MC_SHA256_HEX];	/* pinned cert, "" if none */
	unsigned	 allow;			/* bit per enum mc_kind, and
						 * LST_ALLOW_TERMINAL */
	char		 cred_path[MC_PATH_MAX];
	char		 conf_path[MC_PATH_MAX];	/* the file read, "" */
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
	struct lst_tsess term[LST_TERM_SLOTS];	/* lst_term.c */
	char		 kernel_boot[40];	/* /proc's boot_id, "" unknown */
	struct lst_hold	 hold;
	struct lst_seen	 seen;			/* lst_seen.c */
	struct mc_hb	 hb;			/* heartbeat scratch */
	double		 net_last;		/* mc_now() of last net sample */
	struct lst_cpu_window cpu;
	struct lst_ctr	*ctr;			/* owned: the container tracker,
						 * NULL when containers = no */
	struct lst_nvidia nv;			/* lst_gpu_nvidia.c */
	struct lst_amd	 amd;			/* lst_gpu_amd.c */
	struct lst_sensors sensors;		/* lst_sensors.c */
	int		 nmwait;		/* lst_cmd_metrics.c */
	struct lst_mwait mwait[LST_MWAIT_MAX];

	/* restart: our own executable and arguments, read at start */
	char		 self_exe[MC_PATH_MAX];
	char		**argv;
	char		 restart_id[MC_ID_MAX];	/* waiting for its ack */
	int		 restart;	/* start a fresh copy on the way out */
	lws_sorted_usec_list_t sul_restart;
	lws_sorted_usec_list_t sul_watchdog;	/* systemd's WatchdogSec */
	/* a self-update not confirmed yet (lst_rollback.c) */
	int		 upd_pending;
	struct lst_upd_mark upd;
	lws_sorted_usec_list_t sul_update;	/* its deadline */

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

/* lst_hubs.c (no lws: unit-tested) */
/* Parse the hub setting: URLs separated by commas and/or blanks, at most
 * LST_HUBS_MAX, each checked as --hub always was, all with TLS or none,
 * none twice.  The order is as listed until lst_hubs_shuffle().  0, or
 * -1 with a reason in err naming the bad URL. */
int	lst_hubs_parse(struct lst_hubs *h, const char *list, char *err,
	    size_t errlen);
/* Draw the order the hubs are tried in from seed (one per process) and
 * start at its first hub. */
void	lst_hubs_shuffle(struct lst_hubs *h, uint64_t seed);
/* The hub in use, and its URL as written (for logs). */
const struct mc_url *lst_hubs_cur(const struct lst_hubs *h);
const char *lst_hubs_name(const struct lst_hubs *h);
/* The connection to the hub in use failed or dropped: move to the next.
 * Returns 1 when every hub has now failed in a row (the round is over:
 * back off), 0 while the round goes on. */
int	lst_hubs_failed(struct lst_hubs *h);
/* A welcome: a new round starts with the next failure. */
void	lst_hubs_welcomed(struct lst_hubs *h);
/* Make the next failure end the round (a hub asked us to wait). */
void	lst_hubs_end_round(struct lst_hubs *h);

/* lst_cred.c */
/* Pick the state dir, create it 0700, and load STATE_DIR/credential into
 * the hello (else the enrollment key).  0, or -1 with a reason in err and
 * *code the exit status (2 usage, 1 system error). */
int	lst_cred_setup(struct lst *l, int *code, char *err, size_t errlen);
/* Store a credential the hub issued (mode 0600) and use it from now on.
 * 0, or -1 (logged) when it could not be written. */
int	lst_cred_save(struct lst *l, const char *cred);

/* lst_seen.c: the signed commands already run */
void	lst_seen_init(struct lst_seen *s);
/* Read STATE_DIR/signed-seen, dropping what expired before now, and keep
 * it for appending; a file that cannot be written is logged and the set
 * lives in memory only. */
void	lst_seen_open(struct lst_seen *s, const char *dir, int64_t now);
void	lst_seen_close(struct lst_seen *s);
/* 1 if nonce can be kept (printable ASCII, no blanks), else 0. */
int	lst_seen_nonce_ok(const char *nonce);
/* Note nonce, valid until exp, as run (in the file before it returns):
 * 0, or -1 with "replayed: ...", a full set or a bad nonce in err. */
int	lst_seen_add(struct lst_seen *s, const char *nonce, int64_t exp,
	    int64_t now, char *err, size_t errlen);

/* lst_signed.c: the operator signatures of commands and terminals */
/* The gate of a cmd (m its message, c decoded from it): 0 to run c, now
 * the signed payload's command when it carries one; -1 refused, with the
 * reason in err.  Without trust keys a signature is not checked. */
int	lst_signed_cmd(struct lst *l, const struct mc_msg *m,
	    struct mc_cmd *c, char *err, size_t errlen);
/* The same for a term_open message: 0 to open it, -1 with err. */
int	lst_signed_term(struct lst *l, const struct mc_msg *m, char *err,
	    size_t errlen);

/* lst_user.c */
/* The home directory of uid from /etc/passwd.  0, or -1 if unknown. */
int	lst_user_home(uid_t uid, char *out, size_t size);
/* The account called name (or with uid when name is NULL), with its
 * supplementary groups from /etc/group.  0, or -1 if unknown. */
int	lst_user_find(const char *name, uid_t uid, struct lst_user *u);

/* lst_main.c */
/* The machine's CA bundle (the first of the usual paths that exists),
 * or NULL. */
const char *lst_system_ca_bundle(void);

/* lst_mem.c */
/* Drop the mappings of the image's read-only pages; what is still used
 * faults back in.  Call once start-up work is done. */
void	lst_mem_trim(void);

/* lst_queue.c */
void	lst_queue_init(struct lst_queue *q);
void	lst_queue_free(struct lst_queue *q);
/* Copy len bytes into a new message of class cls at the tail (or the
 * head for LST_Q_HELLO and LST_Q_HB), tagged with id (may be NULL).  The
 * message (the queue owns it), or NULL when the bound or memory says
 * no. */
struct lst_qmsg *lst_queue_push(struct lst_queue *q, enum lst_qclass cls,
	    const char *id, const void *data, size_t len);
/* Move every message of front, in order, ahead of q's. */
void	lst_queue_prepend(struct lst_queue *q, struct lst_queue *front);
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
/* Queue len bytes of an encoded message (tagged with id) and ask for a
 * write.  0, or -1 when the queue refused it. */
int	lst_ws_push(struct lst *l, enum lst_qclass cls, const char *id,
	    const void *data, size_t len);
/* lst_ws_send() for an output message of command id ("at" in it), kept
 * once written (lst_tail.c). */
int	lst_ws_send_out(struct lst *l, enum lst_qclass cls, const char *id);
/* Say goodbye with reason, then leave the loop with exit status code
 * once it is written (or after LST_BYE_WAIT, or at once if offline). */
void	lst_ws_leave(struct lst *l, const char *reason, int code);
/* Cancel the timers; called before the context is destroyed. */
void	lst_ws_stop(struct lst *l);

/* lst_hold.c */
/* Make this process's boot id (hello "boot").  0 or -1. */
int	lst_hold_init(struct lst *l);
/* Free every held result and file (on exit). */
void	lst_hold_free(struct lst *l);
/* A cmd with this id arrived.  0: it is new and held from now on, run it;
 * 1: a repeat, already answered here (never run twice); -1: no room to
 * hold it (the caller fails it). */
int	lst_hold_begin(struct lst *l, const char *id);
/* Encode and queue r, and keep it until the hub's ack. */
void	lst_hold_result(struct lst *l, const struct mc_result *r);
/* Send file (len bytes, malloc'd, taken) as blob pieces of mime type as
 * the queue drains, then r; keep r until the ack. */
void	lst_hold_file(struct lst *l, const struct mc_result *r,
	    const char *mime, char *file, size_t len);
/* The queued result of id was written to the hub. */
void	lst_hold_sent(struct lst *l, const char *id);
/* The hub stored the result of id: forget it. */
void	lst_hold_ack(struct lst *l, const char *id);
/* Welcomed again: queue every result written on an earlier connection. */
void	lst_hold_welcome(struct lst *l);
/* Feed waiting file pieces and results into the queue as it has room. */
void	lst_hold_pump(struct lst *l);
/* Put the boot id and the held command ids into a hello. */
void	lst_hold_pending(struct lst *l, struct mc_hello *h);
/* An output message of id was written: keep it with its command. */
void	lst_hold_written(struct lst *l, const char *id, const void *msg,
	    size_t len);

/* lst_tail.c */
/* Keep a copy of msg, an output message of e written to the hub. */
void	lst_tail_keep(struct lst_hold *h, struct lst_held *e,
	    const void *msg, size_t len);
/* Forget e's kept messages. */
void	lst_tail_clear(struct lst_hold *h, struct lst_held *e);
/* Welcomed by a hub that places output by "at": queue every kept
 * message again ahead of everything queued. */
void	lst_tail_replay(struct lst *l);

/* lst_metrics.c */
/* Start libstatgrab and take the first CPU reading. 0 or -1 (logged). */
int	lst_metrics_init(struct lst_cpu_window *cw);
void	lst_metrics_shutdown(void);
/* Fill the hello's host facts: hostname, os, kernel, arch, cpus, mem. */
void	lst_metrics_facts(struct mc_hello *h);
/* Sample everything a heartbeat carries into m; l->net_last is the
 * previous sample's mc_now() (updated) for network rates.  A heartbeat
 * (LST_SAMPLE_HB) starts the next CPU window; the metrics command
 * (LST_SAMPLE_PEEK) reads up to now and leaves the window alone.  GPUs
 * come from the last good sample (lst_gpu.c), sensors from sysfs. */
enum lst_sample { LST_SAMPLE_HB, LST_SAMPLE_PEEK };
void	lst_metrics_collect(struct lst *l, struct mc_metrics *m,
	    enum lst_sample how);

/* lst_probe.c */
/* The lws protocol callback of sampler children's pipes. */
int	lst_probe_callback(struct lws *wsi, enum lws_callback_reasons reason,
	    void *user, void *in, size_t len);
/* Run path with argv (execv, our environment) for p, which must be idle
 * and have l, what and done set; keep at most max bytes of its stdout;
 * kill its process group after deadline seconds.  0, or -1 (errno) when
 * nothing was started. */
int	lst_probe_start(struct lst_probe *p, const char *path,
	    const char *const argv[], size_t max, double deadline);
/* Collect p's child if it exited (called on SIGCHLD). */
void	lst_probe_reap(struct lst_probe *p);
/* On exit: SIGKILL p's process group and reap it if it is gone (never
 * waiting); the hook is not called.  Then, after the context is gone,
 * free what p owns. */
void	lst_probe_kill(struct lst_probe *p);
void	lst_probe_free(struct lst_probe *p);

/* lst_hw.c */
/* sysfs_root as a prefix: "" for "/". */
const char *lst_hw_root(const struct lst *l);
/* printf into out.  0, or -1 if it does not fit. */
int	lst_hw_path(char *out, size_t size, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* The first line of a small file, trimmed, into buf.  0, or -1 if it
 * cannot be read or is empty. */
int	lst_hw_read(const char *path, char *buf, size_t size);
/* A file holding one number.  0 or -1. */
int	lst_hw_num(const char *path, double *out);
/* The N of dir's entries named prefix, N, suffix, in order, at most max
 * of them.  The count, or -1 if dir cannot be opened. */
int	lst_hw_list(const char *dir, const char *prefix, const char *suffix,
	    int *nums, int max);
/* src as printable ASCII (others become '?'), cut to fit size. */
void	lst_hw_name(char *dst, size_t size, const char *src);

/* lst_sensors.c */
/* Add the hwmon temperatures and fans to m (searching the tree again
 * when LST_HW_RESCAN has passed). */
void	lst_sensors_collect(struct lst *l, struct mc_metrics *m);

/*
 * lst_gpu.c: where GPU figures come from.  One source per back end, each
 * in a file of its own; the rest of the listener calls lst_gpu_*() and
 * never asks which sources a machine has (a machine may have both).
 */
struct lst_gpu_src {
	const char	*name;
	/* at start, before the loop runs */
	void		(*init)(struct lst *l);
	/* after each heartbeat (and once at start): start the next sample
	 * if one is due; every is the heartbeat interval, seconds */
	void		(*tick)(struct lst *l, double every);
	/* add this source's GPUs to m, if its sample is fresh */
	void		(*collect)(struct lst *l, struct mc_metrics *m);
	/* the processes using GPUs: start asking (0: lst_cmd_metrics_ready()
	 * follows, on the loop) or -1 (cannot tell now) */
	int		(*procs_start)(struct lst *l);
	/* inside lst_cmd_metrics_ready(): write "gpu_procs" (or nothing) */
	void		(*procs_write)(struct lst *l, struct mc_jw *w);
	/* SIGCHLD; exit (kill children); after the context is gone */
	void		(*reap)(struct lst *l);
	void		(*kill)(struct lst *l);
	void		(*free)(struct lst *l);
};
extern const struct lst_gpu_src lst_gpu_nvidia;	/* lst_gpu_nvidia.c */
extern const struct lst_gpu_src lst_gpu_amd;	/* lst_gpu_amd.c */
/* lst_gpu_nvidia_procs.c: nvidia-smi's procs_start and procs_write */
int	lst_gpu_nvidia_procs_start(struct lst *l);
void	lst_gpu_nvidia_procs_write(struct lst *l, struct mc_jw *w);

void	lst_gpu_init(struct lst *l);
void	lst_gpu_tick(struct lst *l);
void	lst_gpu_collect(struct lst *l, struct mc_metrics *m);
/* 0 when some source is asking for the GPU processes (the metrics
 * command waits for lst_cmd_metrics_ready()), -1 when none can. */
int	lst_gpu_procs_start(struct lst *l);
void	lst_gpu_procs_write(struct lst *l, struct mc_jw *w);
void	lst_gpu_reap(struct lst *l);
void	lst_gpu_kill_all(struct lst *l);
void	lst_gpu_free_all(struct lst *l);

/* lst_exec.c */
/* The lws protocol callback of adopted output pipes. */
int	lst_exec_callback(struct lws *wsi, enum lws_callback_reasons reason,
	    void *user, void *in, size_t len);
/* Run what s says for command c in its own process group, send started
 * and stream or keep its output.  0, or -1 with the reason in err
 * (nothing was started): also when MC_LST_RUNNING_MAX commands run,
 * which is the one place that limit is checked. */
int	lst_exec_spawn(struct lst *l, const struct mc_cmd *c,
	    const struct lst_spawn *s, char *err, size_t errlen);
/* For a finish hook: a function child that exited non-zero becomes
 * "failed" with the text it wrote to stderr.  1 if r now says failed. */
int	lst_exec_child_failed(struct lst_job *j, struct mc_result *r);
/* Collect exited children (called on SIGCHLD). */
void	lst_exec_reap(struct lst *l);
/* Kill every running process group (on exit). */
void	lst_exec_kill_all(struct lst *l);
/* Free what unfinished jobs still own (after the context is gone). */
void	lst_exec_free_all(struct lst *l);
/* In a forked child: one line of text (a newline added, cut to
 * 2 * MC_TEXT_MAX) written whole to fd. */
void	lst_child_vline(int fd, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
/* In a function child: one line of progress on stdout (the command's
 * output). */
void	lst_child_say(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* In a function child: write a one-line reason to stderr (the parent
 * makes it the failure's error).  Returns 1, the exit status to use. */
int	lst_child_fail(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* In a function child: write all of buf to fd.  0 or -1. */
int	lst_write_all(int fd, const void *buf, size_t n);
/* In a forked child, before exec (async-signal-safe): default signal
 * dispositions and an empty mask; become user u (NULL: stay) or write a
 * reason to stderr and return -1; die with the listener (parent is its
 * pid), or -1 if it is already gone. */
void	lst_child_signals(void);
int	lst_child_user(const struct lst_user *u);
int	lst_child_tied(pid_t parent);

/* lst_orphans.c */
/* Once at start, before connecting: kill what is left in the sessions of
 * the commands a killed listener had in flight (STATE_DIR/running, logged
 * per command), then forget them.  Reads the kernel's boot id first. */
void	lst_orphans_sweep(struct lst *l);
/* Record the jobs in l->jobs in STATE_DIR/running, or remove it when none
 * runs.  Call when a job starts or ends; a failure is logged. */
void	lst_orphans_save(struct lst *l);
/* The start time of pid (clock ticks after boot), or 0 if it is gone. */
unsigned long long lst_orphans_start_time(pid_t pid);

/* lst_cmd.c */
/* Decode and run one cmd message; every outcome is answered. */
void	lst_cmd_handle(struct lst *l, const struct mc_msg *m);
/* Parse an allow list ("shell,metrics,terminal", "" or "all" for every
 * kind and terminals) into a mask of kind bits and LST_ALLOW_TERMINAL. */
int	lst_cmd_allow_parse(const char *list, unsigned *mask, char *err,
	    size_t errlen);
/* Queue a result for id (held until the hub's ack). */
void	lst_cmd_result(struct lst *l, const struct mc_result *r);
/* Queue a failed result for id with the reason. */
void	lst_cmd_fail(struct lst *l, const char *id, const char *why);
/* Queue started {id, pid}. */
void	lst_cmd_started(struct lst *l, const char *id, pid_t pid);
/* Queue at most cap bytes of data as stdout "out" messages of at most
 * MC_OUT_CHUNK bytes, as control messages (never refused for output's
 * bound).  The command's whole output: "at" counts from 0.  0 or -1. */
int	lst_cmd_output(struct lst *l, const char *id, const void *data,
	    size_t len, uint64_t cap);

/* The user shell commands and terminals run as (run_as, else ours) into
 * u; *sw says whether the child must switch to it.  0, or -1 with the
 * reason in err (lst_cmd_shell.c). */
int	lst_shell_user(struct lst *l, struct lst_user *u, int *sw, char *err,
	    size_t errlen);

/* One module per command kind: run c and answer it. */
void	lst_cmd_shell(struct lst *l, const struct mc_cmd *c);
void	lst_cmd_stop(struct lst *l, const struct mc_cmd *c);
void	lst_cmd_metrics(struct lst *l, const struct mc_cmd *c);
/* lst_cmd_metrics.c: the GPU process list is in (or failed): answer the
 * metrics commands waiting for it. */
void	lst_cmd_metrics_ready(struct lst *l);
void	lst_cmd_docker_ps(struct lst *l, const struct mc_cmd *c);
void	lst_cmd_docker_restart(struct lst *l, const struct mc_cmd *c);
void	lst_cmd_ctr_update(struct lst *l, const struct mc_cmd *c);
void	lst_cmd_screenshot(struct lst *l, const struct mc_cmd *c);
void	lst_cmd_restart(struct lst *l, const struct mc_cmd *c);

/* lst_update.c */
/* listener_update: download, check and install a release, then restart
 * into it once the hub acknowledged the result. */
void	lst_update_cmd(struct lst *l, const struct mc_cmd *c);
/* strerror(e), starting in lower case, into out. */
void	lst_update_errtext(int e, char *out, size_t size);

/* lst_fetch.c (in a forked child: it blocks) */
/* GET path from the hub (its host and port, verified as the WebSocket
 * verifies it) and write the body, which must be exactly size bytes, to
 * fd (name is fd's file, for messages).  0, or -1 with the reason in
 * err. */
int	lst_fetch(const struct lst *l, const char *path, int fd,
	    const char *name, uint64_t size, char *err, size_t errlen);

/* lst_rollback.c */
/* Early at start, once the state dir is known: load the record of an
 * undone update into the hello; with an update pending, roll back now
 * (exec the previous binary with argv: returns only if that failed)
 * when its deadline passed or it started LST_UPDATE_STARTS_MAX times,
 * else count this start and set l->upd_pending. */
void	lst_rollback_boot(struct lst *l, char **argv);
/* Once the loop exists: roll back when the pending update's deadline
 * passes without a welcome. */
void	lst_rollback_arm(struct lst *l);
/* The hub welcomed us: confirm a pending update, forget a record the
 * hello carried. */
void	lst_rollback_welcomed(struct lst *l);
/* In the update's child, just before the swap: write the marker for
 * version installed as exe with the previous one kept as prev.  0, or
 * -1 with the reason in err. */
int	lst_rollback_mark(const struct lst *l, const char *version,
	    const char *exe, const char *prev, char *err, size_t errlen);
/* Remove the marker (the swap did not happen). */
void	lst_rollback_unmark(const struct lst *l);

/* lst_cmd_restart.c */
/* Remember argv and this program's path (/proc/self/exe) for a restart. */
void	lst_restart_init(struct lst *l, char **argv);
/* The hub acknowledged the result of id: go on with a restart waiting
 * for it. */
void	lst_restart_acked(struct lst *l, const char *id);
/* Restart once the hub acknowledged the result of id (at most
 * LST_RESTART_ACK_WAIT later). */
void	lst_restart_after_ack(struct lst *l, const char *id);
/* Say goodbye and restart now (unless already leaving). */
void	lst_restart_now(struct lst *l);
/* After teardown, when l->restart is set: start a fresh copy of this
 * program (systemd: exit LST_EXIT_RESTART; else fork and exec it with
 * the same arguments).  Returns the exit status for main. */
int	lst_restart_exec(struct lst *l);

/* lst_term.c */
/* The lws protocol callback of adopted PTY masters. */
int	lst_term_callback(struct lws *wsi, enum lws_callback_reasons reason,
	    void *user, void *in, size_t len);
/* One term_* message from the hub (term_open, term_resize, term_close,
 * term_ack); every term_open is answered with term_started or term_end. */
void	lst_term_handle(struct lst *l, const struct mc_msg *m);
/* One binary message from the hub: a data frame of input.  Frames of a
 * channel that is not open are skipped (they crossed its term_end). */
void	lst_term_data(struct lst *l, const void *buf, size_t len);
/* Collect exited shells (called on SIGCHLD, beside lst_exec_reap()). */
void	lst_term_reap(struct lst *l);
/* The hub connection is gone: end every session, saying nothing. */
void	lst_term_lost(struct lst *l);
/* On exit: SIGKILL every session's process group; then, after the
 * context is gone, free what the sessions own. */
void	lst_term_kill_all(struct lst *l);
void	lst_term_free_all(struct lst *l);

/* lst_term_pty.c */
/* Open a PTY of cols x rows and start the login shell of the run_as user
 * on it in a session of its own.  Sets s->pid and s->sfd (the slave, kept
 * by the caller) and returns the master (non-blocking, close-on-exec), or
 * -1 with the reason in err (nothing was started). */
int	lst_term_pty_start(struct lst *l, struct lst_tsess *s, int cols,
	    int rows, char *err, size_t errlen);
/* Set the window size of the PTY whose master is fd (the shell gets
 * SIGWINCH).  0 or -1. */
int	lst_term_pty_resize(int fd, int cols, int rows);

/* lst_docker.c (in a forked child: blocking I/O is fine there) */
/* One HTTP/1.1 request to the Docker Engine API on the unix socket at
 * sock; the response body (Content-Length or chunked, at most
 * LST_DOCKER_BODY_MAX bytes) goes into body, which must be initialised.
 * Returns the HTTP status, or -1 with a reason in err. */
int	lst_docker_call(const char *sock, const char *method,
	    const char *path, struct mc_buf *body, char *err, size_t errlen);
/* The same with a request body (json, jlen bytes; NULL: none).  The
 * response body may be at most body->limit bytes. */
int	lst_docker_send(const char *sock, const char *method,
	    const char *path, const char *json, size_t jlen,
	    struct mc_buf *body, char *err, size_t errlen);
/* Parse a whole HTTP/1.1 response (exported for tests).  Returns the
 * status, or -1 with a reason in err. */
int	lst_http_parse(const char *resp, size_t n, struct mc_buf *body,
	    char *err, size_t errlen);
/* The engine's reason from an error body ({"message": ...}), or a
 * generic one with the status, into out. */
void	lst_docker_message(const struct mc_buf *body, int status, char *out,
	    size_t size);
/* %-escape s for a URL path segment.  0, or -1 if it does not fit. */
int	lst_url_escape(const char *s, char *out, size_t size);
/* An image reference %-escaped for the engine's routes, its '/', ':' and
 * '@' kept.  0, or -1 if it does not fit. */
int	lst_docker_ref_path(const char *ref, char *out, size_t size);
/* ref without Docker Hub's default "docker.io/" and "library/" (so
 * "nginx" and "docker.io/library/nginx" compare equal); points into ref. */
const char *lst_docker_ref_short(const char *ref);

#define LST_DOCKER_BODY_MAX	(4 * 1024 * 1024)
/* Connect to the engine's unix socket at sock (blocking).  The descriptor
 * (close-on-exec), or -1 with a reason in err that says what to do. */
int	lst_docker_connect(const char *sock, char *err, size_t errlen);

/* ---- the container tracker (lst_ctr*.c) ----
 * A long-lived child process follows the engine (lst_ctr_child.c) and
 * writes one fixed-size record per change to a pipe; the loop reads them
 * into the table (lst_ctr.c) that heartbeats are built from. */

/* seconds between two stats samples of one container, and at most that
 * while its figures stay the same (an idle container) */
#define LST_CTR_STATS_EVERY	60
#define LST_CTR_STATS_IDLE	300
/* smaller changes of a container's figures are not worth a heartbeat */
#define LST_CTR_CPU_STEP	0.5		/* percent of one core */
#define LST_CTR_MEM_STEP	(1024.0 * 1024.0)	/* bytes */
/* seconds a die that followed a kill waits for the stop event that says
 * it was docker stop, not docker kill.  The engine logs "stop" as soon as
 * its stop call sees the exit (milliseconds after "die"); the wait is
 * paid by every crash's alert, whose target is a second plus a heartbeat. */
#define LST_CTR_STOP_WAIT	0.5
/* seconds one engine request may take before the child gives up (it
 * dies and the listener starts a fresh one) */
#define LST_CTR_CALL_WAIT	30
/* the first reconnect delay to the engine; it doubles to MC_BACKOFF_CAP */
#define LST_CTR_BACKOFF_MIN	1.0
/* seconds between two log lines about one failing registry check */
#define LST_CTR_CHECK_LOG_EVERY	3600
/* bytes of one event on the stream, and of the stream read at a time */
#define LST_CTR_EVENT_MAX	(64 * 1024)

/* What the child tells the loop. */
enum lst_ctr_rtype {
	LST_CTR_R_UP,		/* the engine answered: the list follows */
	LST_CTR_R_SYNCED,	/* every container was sent */
	LST_CTR_R_CTR,		/* one container, as it is now */
	LST_CTR_R_GONE,		/* removed: only c.id counts */
	LST_CTR_R_DOWN		/* the engine is gone: forget them all */
};

struct lst_ctr_rec {
	int		type;		/* enum lst_ctr_rtype */
	struct mc_ctr	c;
};

/* One container in the table: its version is the table's tick at its
 * last change. */
struct lst_ctr_ent {
	struct mc_ctr	c;
	uint64_t	ver;
};

/*
 * The table the heartbeats are built from.  A heartbeat lists the
 * containers whose version is past the one the last heartbeat *written*
 * carried, so one replaced in the queue before it went loses nothing.
 */
struct lst_ctr_tab {
	int		 live;		/* the engine is followed and synced */
	int		 n;
	struct lst_ctr_ent e[MC_CTR_MAX];	/* gone ones stay until sent */
	uint64_t	 tick;		/* the last version handed out */
	uint64_t	 sent;		/* versions written to the hub */
	int		 need_full;	/* the next heartbeat carries them all */
	int		 pending;	/* a heartbeat built from us is queued */
	uint64_t	 built;		/* ... with versions up to this */
	int		 built_full;	/* ... and was full */
	int		 over;		/* containers past MC_CTR_MAX, logged */
	const struct mc_ctr *list[MC_CTR_MAX];
	struct mc_ctr_part part;
};

struct lst_ctr {
	struct lst	*l;
	struct lst_ctr_tab tab;
	pid_t		 pid;		/* the child, 0 when none */
	struct lws	*wsi;		/* its pipe; NULL once lws closed it */
	size_t		 rlen;		/* bytes of a record read so far */
	struct lst_ctr_rec rec;
	double		 backoff;	/* seconds before the next child */
	lws_sorted_usec_list_t sul_spawn;
};

/* lst_ctr.c (the table; plain structs, no I/O) */
/* Apply one record from the child. */
void	lst_ctr_apply(struct lst_ctr_tab *t, const struct lst_ctr_rec *r);
/* The part for the heartbeat being built, or NULL when the engine is not
 * followed (no "ctr" at all).  Valid until the next call. */
const struct mc_ctr_part *lst_ctr_part(struct lst_ctr_tab *t);
/* The heartbeat built last was written to the hub. */
void	lst_ctr_sent(struct lst_ctr_tab *t);
/* A new hub connection: its first heartbeat carries every container. */
void	lst_ctr_full(struct lst_ctr_tab *t);
/* Debug: the part as one log line (only when debug logging is on). */
void	lst_ctr_log(uint64_t seq, const struct mc_ctr_part *p);

/* lst_ctr_proc.c (on the loop: the child, its pipe, restarts) */
/* The lws protocol callback of the child's pipe. */
int	lst_ctr_callback(struct lws *wsi, enum lws_callback_reasons reason,
	    void *user, void *in, size_t len);
/* Start the tracker when the config asks for it; a failure is logged and
 * retried.  0, or -1 when out of memory (containers are left out). */
int	lst_ctr_start(struct lst *l);
/* Collect the child if it exited (called on SIGCHLD). */
void	lst_ctr_reap(struct lst *l);
/* On exit: kill the child, cancel the timer; then, after the context is
 * gone, free the tracker. */
void	lst_ctr_stop(struct lst *l);
void	lst_ctr_free(struct lst *l);
/* For the heartbeat (NULL when the tracker is off); lst_ctr_sent() and
 * lst_ctr_full() on l, a no-op when it is off. */
const struct mc_ctr_part *lst_ctr_hb_part(struct lst *l);
void	lst_ctr_hb_sent(struct lst *l);
void	lst_ctr_hb_full(struct lst *l);

/* lst_ctr_child.c (in the forked child) */
/* Follow the engine at sock forever, writing records to fd out; checks
 * registry digests every check_every seconds (0: never).  Never returns. */
void	lst_ctr_child_run(const char *sock, int out, double check_every)
	    __attribute__((noreturn));

/* lst_ctr_events.c (in the child) */
/* The engine's event stream: one long GET /events, chunked, one JSON
 * object a line. */
struct lst_ctr_events {
	int		 fd;		/* -1 when closed */
	int		 chunked;
	int64_t		 left;		/* bytes of the chunk still to come */
	int		 crlf;		/* the chunk's CRLF still to come */
	struct mc_buf	 raw;		/* owned: read, not decoded */
	struct mc_buf	 body;		/* owned: decoded, up to a newline */
};
/* Connect, ask for container events and read the answer's head.  0, or
 * -1 with a reason in err (nothing is left open). */
int	lst_ctr_events_open(struct lst_ctr_events *ev, const char *sock,
	    char *err, size_t errlen);
/* Read once (the fd is readable) and call fn for each whole event line.
 * 0, or -1 when the stream ended or broke (err says how). */
int	lst_ctr_events_read(struct lst_ctr_events *ev,
	    void (*fn)(void *arg, const char *line, size_t n), void *arg,
	    char *err, size_t errlen);
void	lst_ctr_events_close(struct lst_ctr_events *ev);

/* lst_ctr_engine.c (in the child: blocking requests and their answers) */
/* CPU and memory counters of one stats sample. */
struct lst_ctr_stats {
	double		total;		/* ns of CPU the container used */
	double		system;		/* ns of CPU the host used */
	int		cpus;		/* online CPUs */
	double		mem;		/* bytes, less the page cache */
};
/* The ids of every container (all=1), full 64-digit ids, at most max.
 * The count, or -1 with err. */
int	lst_ctr_engine_list(const char *sock, char ids[][65], int max,
	    char *err, size_t errlen);
/* Inspect container id into c (a fresh one: figures, digest and latest
 * are the caller's).  0, 1 when it no longer exists, -1 with err. */
int	lst_ctr_engine_inspect(const char *sock, const char *id,
	    struct mc_ctr *c, char *err, size_t errlen);
/* The registry digest of image image_id for the repository of ref
 * ("" when it came from no registry) into out.  0 or -1. */
int	lst_ctr_engine_digest(const char *sock, const char *image_id,
	    const char *ref, char *out, size_t size, char *err, size_t errlen);
/* One stats sample of a running container (one-shot).  0 or -1. */
int	lst_ctr_engine_stats(const char *sock, const char *id,
	    struct lst_ctr_stats *s, char *err, size_t errlen);
/* What the registry has for ref now (GET /distribution).  0 or -1. */
int	lst_ctr_engine_latest(const char *sock, const char *ref, char *out,
	    size_t size, char *err, size_t errlen);
/* RFC 3339 ("2024-05-01T10:00:00.123456789Z") as unix seconds; 0 for
 * Docker's zero time or anything unreadable. */
double	lst_ctr_time(const char *s);

/* lst_ctr_spec.c (in a forked child) */
/* The body of POST /containers/create that recreates the inspected
 * container ctr from image, with old_img (the old image's inspect, may be
 * NULL) telling the image's defaults from the operator's settings, into
 * out (reset first).  0, or -1 with the reason in err. */
int	lst_ctr_spec(const struct mc_json *ctr, const struct mc_json *old_img,
	    const char *image, struct mc_buf *out, char *err, size_t errlen);
/* The network the container is created on (its NetworkMode; "default"
 * is "bridge"), or NULL. */
const char *lst_ctr_spec_primary(const struct mc_json *ctr);
/* One network's endpoint settings as key's object: aliases (without the
 * old short id), IPAM config, links, driver options. */
void	lst_ctr_spec_endpoint(struct mc_jw *w, const char *key,
	    const struct mc_json *ep, const char *old_id);

/* lst_png.c (in a forked child) */
/* A PNG written row by row to a descriptor: 8-bit RGB, filter 1 (Sub),
 * zlib deflate, IDAT chunks of at most LST_PNG_IDAT bytes. */
struct lst_png;
/* Write the signature and IHDR; returns the encoder or NULL. */
struct lst_png *lst_png_begin(int fd, uint32_t w, uint32_t h);
/* Add one row of 3 * w bytes (R, G, B).  0 or -1. */
int	lst_png_row(struct lst_png *p, const unsigned char *rgb);
/* Write the last IDAT and IEND and free p (also on error).  0 or -1. */
int	lst_png_end(struct lst_png *p);
/* Free p without finishing (after an error). */
void	lst_png_free(struct lst_png *p);

/* lst_x11.c (in a forked child) */
/* A MIT-MAGIC-COOKIE-1 for one display. */
struct lst_xauth {
	int		found;
	size_t		len;
	unsigned char	data[64];
};
/* The cookie for display number num in the Xauthority file at path
 * (family local or wild).  0 with a->found set or not; -1 if the file
 * cannot be read. */
int	lst_xauth_read(const char *path, int num, struct lst_xauth *a);
struct lst_x11;
/* Connect to display num (abstract socket first, then
 * /tmp/.X11-unix/X<num>), authenticate with a (may be NULL) and read the
 * setup of screen.  NULL with a reason in err. */
struct lst_x11 *lst_x11_open(int num, int screen, const struct lst_xauth *a,
	    char *err, size_t errlen);
void	lst_x11_close(struct lst_x11 *x);
void	lst_x11_size(const struct lst_x11 *x, uint32_t *w, uint32_t *h);
/* Rows per GetImage so that one reply stays within a few MiB. */
uint32_t lst_x11_strip_rows(const struct lst_x11 *x);
/* Rows y .. y+rows-1 of the root window as 8-bit RGB (3 * w per row)
 * into rgb, fetched with GetImage in strips.  0, or -1 with err. */
int	lst_x11_rows(struct lst_x11 *x, uint32_t y, uint32_t rows,
	    unsigned char *rgb, char *err, size_t errlen);

/* lst_display.c (in a forked child) */
/* Where a screenshot comes from. */
struct lst_display {
	int	wayland;		/* take it with grim */
	char	grim[MC_PATH_MAX];	/* grim's path when wayland */
	char	wl_env[2][MC_PATH_MAX + 32];	/* WAYLAND_DISPLAY, XDG_RUNTIME_DIR */
	int	num, screen;		/* X display :num.screen */
	char	xauth[MC_PATH_MAX];	/* file holding its cookie, or "" */
	char	how[160];		/* how it was found, for errors */
};
/* Find the display: config "display", the environment, then the X
 * sockets, Wayland sockets and X servers on this machine.  0, or -1
 * with a reason in err. */
int	lst_display_find(const struct lst *l, struct lst_display *d,
	    char *err, size_t errlen);

#endif
