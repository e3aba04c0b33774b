/*
 * hub.h - maestro-hub's internal interface, grouped by file.
 *
 * One thread (the lws service thread) owns every structure declared here.
 * The other threads - the SQLite writer (hub_db.c), the recordings'
 * writer (hub_rec.c), the alert channels' and the deadman's workers - see
 * copies of the values they work on, and nothing else.  The logic files never
 * see struct lws: hub_ws.c adapts lws callbacks to hub_conn, and every
 * handler takes plain bytes, so tests and fuzzers can call them directly.
 */
#ifndef HUB_H
#define HUB_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "mc_buf.h"
#include "mc_json.h"
#include "mc_limits.h"
#include "mc_proto.h"

/* ---- hub_conf.c ---- */

/* telegram_allow and discord_allow entries (hub_chat.c) */
#define HUB_CHAT_ALLOW_MAX	64

struct hub_conf {
	char	config[MC_PATH_MAX];	/* the file read, "" if none */
	char	listen[128];		/* ADDR:PORT */
	char	data[MC_PATH_MAX];
	char	tls_cert[MC_PATH_MAX];
	char	tls_key[MC_PATH_MAX];
	int	insecure_no_tls;
	double	heartbeat;		/* seconds */
	int	miss;
	char	dashboard[MC_PATH_MAX];
	char	log_level[16];
	int	max_running;		/* commands running at once per agent */
	double	restart_grace;		/* no critical this soon after start */
	char	install_script[MC_PATH_MAX];	/* served as /install.sh */
	char	listener_binary[MC_PATH_MAX];	/* served for install.sh */
	double	history_retention;	/* seconds of metric history kept */
	double	events_retention;	/* events and alerts (hub_retain.c) */
	double	commands_retention;	/* finished commands and output */
	double	container_update_every;	/* periodic auto-update; 0: off */
	/* terminal recordings (hub_rec.c); a change applies to the sessions
	 * opened after it */
	int	record_input;		/* keep what was typed too */
	int64_t	record_max;		/* bytes of one session's cast */
	double	record_retention;	/* casts and their rows kept */
	int	metrics_public;		/* GET /metrics without a token */
	int	api_rate;		/* API requests per second per token */
	int	api_burst;		/* ... and the burst above that rate */
	/* admission (hub_admit.c); 0 turns a limit off */
	int	handshake_max;		/* accepted, no request yet */
	int	handshake_per_ip;	/* ... from one address */
	int	connections_per_ip;	/* open, from one address */
	double	handshake_timeout;	/* seconds to the first request */
	char	trusted_proxies[512];	/* whose X-Forwarded-For counts */
	double	channel_failing_after;	/* an alert channel's outage that
					 * is itself alerted, seconds */
	/* alerts (hub_alert.c, hub_notify.c).  The channel settings are
	 * config-only keys (or _file keys, or systemd credentials), never
	 * flags, so no secret is ever on a command line. */
	char	telegram_bot_token[256];	/* secret */
	char	telegram_chat_id[128];
	char	telegram_api[512];		/* https://api.telegram.org */
	char	discord_webhook_url[1024];	/* secret */
	/* Discord's bot (hub_chat_discord*.c): the interactions endpoint
	 * is on with the public key; alerts go through the bot (with
	 * buttons) with the token and the channel */
	char	discord_public_key[128];	/* 64 hex digits */
	char	discord_bot_token[256];		/* secret */
	char	discord_channel_id[64];
	char	discord_api[512];	/* https://discord.com/api/v10 */
	char	webhook_url[1024];		/* secret */
	char	deadman_url[1024];		/* secret (hub_deadman.c) */
	double	deadman_every;			/* seconds between its pings */
	int	alert_on_offline;	/* a goodbye is an info notice */
	int	flap_count;		/* more criticals than this ... */
	double	flap_window;		/* ... within this many seconds */
	int	storm_count;		/* this many at once: one summary */
	double	storm_window;		/* how long an alert may wait */
	double	container_unhealthy_for;	/* a container unhealthy this
						 * long is down (seconds) */
	/* Web Push (hub_push*.c); a change needs a restart */
	char	push_subject[256];	/* VAPID "sub": mailto: or https: */
	int	push_allow_insecure;	/* http:// endpoints on loopback */
	/* answering from Telegram (hub_chat*.c): polling starts on restart
	 * only; the users and chat_allow_run change on SIGHUP */
	int	telegram_commands;	/* poll getUpdates for commands */
	int	chat_allow_run;		/* /run is allowed (operators) */
	int	chat_nallow;
	struct hub_chat_user {
		int64_t	 id;		/* Telegram or Discord user id */
		int	 role;		/* ROLE_VIEWER or ROLE_OPERATOR */
	} chat_allow[HUB_CHAT_ALLOW_MAX];	/* telegram_allow lines */
	int	dc_nallow;
	struct hub_chat_user dc_allow[HUB_CHAT_ALLOW_MAX]; /* discord_allow */
	/* the config repository (hub_gitcfg.c); a change needs a restart */
	char	config_repo[MC_PATH_MAX];	/* path or URL; "" off */
	char	config_branch[128];
	double	config_poll;		/* seconds between fetches */
	/* ... how it is reached (hub_gitcred.c): files, never secrets */
	char	config_user[128];		/* https user */
	char	config_token_file[MC_PATH_MAX];	/* https token */
	char	config_ssh_key[MC_PATH_MAX];
	char	config_ssh_known_hosts[MC_PATH_MAX];
	char	config_ca[MC_PATH_MAX];		/* https private CA */
	/* the backup repository (hub_backup.c); a change needs a restart */
	char	backup_repo[MC_PATH_MAX];	/* path or file:// URL; "" off */
	char	backup_branch[128];
	double	backup_retry_max;	/* a failed push's longest wait */
	/* ... how it is reached, as the config_ ones above */
	char	backup_user[128];
	char	backup_token_file[MC_PATH_MAX];
	char	backup_ssh_key[MC_PATH_MAX];
	char	backup_ssh_known_hosts[MC_PATH_MAX];
	char	backup_ca[MC_PATH_MAX];
	/* the cluster (hub_bus.c); a change needs a restart */
	char	bus[512];		/* redis://HOST:PORT[/DB]; "" off */
	char	bus_password_file[MC_PATH_MAX];	/* Redis AUTH, from a file */
	char	hub_name[64];		/* this hub in the cluster */
	/* the store (hub_db_url.c); a change needs a restart */
	char	store[512];		/* sqlite:PATH, postgres://...; "" */
	char	store_password_file[MC_PATH_MAX];	/* PostgreSQL's */
};

/* the settings file read when no --config is given, if it is there */
#define HUB_DEFAULT_CONFIG	"/etc/maestro/hub.conf"
/* Defaults, then the config file, then flags.  0, or -1 with a one-line
 * reason in err (the caller exits 2). */
int	hub_conf_load(struct hub_conf *c, int argc, char **argv, char *err,
	    size_t errlen);
/* Re-read the config file on SIGHUP; applies what can change live. */
void	hub_conf_reload(void);
/* hub_conf_usage.c: the --help text, on stdout. */
void	hub_conf_usage(void);
/* The PREFIX the hub is installed under, found from where this program
 * is (PREFIX/bin/maestro-hub), so a hub installed under any PREFIX finds
 * its PREFIX/share/maestro/; /usr/local when that cannot be told. */
void	hub_conf_prefix(char *out, size_t outlen);

/* ---- hub_tls.c ---- */

/* Make DATA/tls/{cert,key}.pem if missing (self-signed, P-256). 0 / -1. */
int	hub_tls_ensure(const char *dir, char *cert, size_t certlen, char *key,
	    size_t keylen);
/* pkey and/or cert (either may be NULL) PEM-encoded into path with mode,
 * through mc_write_file().  0 / -1 (errno set). */
struct evp_pkey_st;
struct x509_st;
int	hub_tls_write_pem(const char *path, mode_t mode,
	    struct evp_pkey_st *pkey, struct x509_st *cert);
/* "sha256:<hex>" of a PEM certificate's DER encoding. 0 / -1. */
int	hub_tls_fingerprint(const char *certfile, char *out, size_t outlen);

/* ---- hub_db.c ---- */

/*
 * The store (SQLite or PostgreSQL behind hub_sql.h), owned by a writer
 * thread.  hub_db_exec() copies its
 * arguments into a job and returns at once; the thread runs the queued
 * jobs in one transaction per batch.  Argument types in fmt: 'i' int64_t,
 * 'd' double, 't' const char * (NULL is stored as NULL), 'b' const void *
 * plus size_t, 'n' a NULL.  sql must be a string literal: it keys the
 * prepared-statement cache.
 */
struct hub_sql;
/* Work on the writer thread: HUB_SQL_OK (0), or the code of a failure
 * (hub_sql.h); a failure of the store itself (hub_db_is_store_error())
 * makes the whole batch wait and be tried again. */
typedef int (*hub_db_run_fn)(struct hub_sql *db, void *arg);
/* On the service thread: stored is 1 once what came before is committed
 * (for a read: once it ran), 0 if it never will be (the queue was full,
 * or the hub stopped while the store was failing). */
typedef void (*hub_db_done_fn)(void *arg, int stored);

/* store: "sqlite:PATH" or "postgres://USER@HOST:PORT/DB[?sslmode=...]";
 * password for PostgreSQL, or NULL.  Connects and sets up the schema
 * (before the loop); 0, or -1 with the reason logged. */
int	hub_db_open(const char *store, const char *password);
void	hub_db_close(void);		/* drains the queue, joins, closes */
void	hub_db_exec(const char *sql, const char *fmt, ...);
/*
 * Run run(db, arg) on the writer thread after everything queued before it
 * (run may be NULL: a barrier), then done(arg, stored) on the service
 * thread once that batch is committed.  While the store fails, the batch
 * is held and retried (backoff 0.25 s to 5 s), and done waits with it.
 * arg is owned by the caller until done runs; done always runs, once.
 * Used to answer only after a write is durable (the result ack).
 */
void	hub_db_call(hub_db_run_fn run, hub_db_done_fn done, void *arg);
/* A read: run(db, arg) after everything queued before it, then done(arg,
 * 1) whether or not the writes around it could be committed. */
void	hub_db_read(hub_db_run_fn run, hub_db_done_fn done, void *arg);
/* Service thread, on wake-up: run the done callbacks that are due. */
void	hub_db_drain(void);
/* A failure of the store (disk full, I/O error, ...), not of a statement. */
int	hub_db_is_store_error(int rc);
/* hub_bus.c: 1 when the bus's last round answered and hub name was not
 * in it (or said goodbye); 0 without a bus or while Redis does not
 * answer: nobody can tell then. */
int	hub_bus_hub_gone(const char *name);
/* 1 when several hubs may share the store (PostgreSQL): commands are then
 * claimed before they are sent (hub_cmd_adopt.c). */
int	hub_db_shared(void);

struct hub_db_health {
	int		 failing;	/* the last commit failed */
	char		 reason[128];	/* SQLite's words for it */
	double		 failing_since;	/* wall clock */
	uint64_t	 failures;	/* failed commits, ever */
	uint64_t	 dropped;	/* writes dropped: queue full */
	size_t		 queued;	/* jobs waiting or held */
};
/* Any thread: a copy of the store's health. */
void	hub_db_health(struct hub_db_health *h);
/* hub_cron: an event and an alert when the store starts or stops
 * failing. */
void	hub_db_watch(void);

/* A read whose answer is bytes (JSON, a picture, a database copy): the
 * caller's job struct starts with this and is malloc'd. */
struct hub_db_answer {
	struct mc_buf	 out;	/* owned until handed to done */
	void		(*done)(void *arg, char *data, size_t len);
	void		*arg;
};
/* run(db, job) fills job->out on the writer thread; then done(arg, data,
 * len) runs on the service thread with data malloc'd (owned by done) or
 * NULL when run wrote nothing, and the job is freed. */
void	hub_db_ask(hub_db_run_fn run, struct hub_db_answer *job, size_t limit,
	    void (*done)(void *arg, char *data, size_t len), void *arg);
/* A consistent copy of the whole database, made on the writer thread
 * between transactions: done(arg, bytes, len) on the service thread
 * (bytes malloc'd, owned by done; NULL on failure). */
void	hub_db_backup(void (*done)(void *arg, char *bytes, size_t len),
	    void *arg);
/* NULL where hub_db_backup() copies the store, else the words that say
 * which tool does (the API's answer). */
const char *hub_db_backup_hint(void);
/* Startup only (before the event loop): load state into memory. */
int	hub_db_load(void);

/* ---- hub_db_find.c ---- */

struct mc_hello;
struct hub_conn;
/* Service thread: the hello of an agent this hub does not know, looked
 * up in the store (another hub may have enrolled it); then
 * hub_agent_hello_go(c, h) runs, unless c closed meanwhile.  0 when the
 * lookup is queued; -1 when the name was not found lately (answer now). */
int	hub_db_find_agent(struct hub_conn *c, const struct mc_hello *h);
/* c closes: a pending lookup forgets it. */
void	hub_db_find_forget(struct hub_conn *c);
/* Shared store: an agent another hub's feed names is unknown here; look
 * it up and, found, keep it like the others (watched, so that a survivor
 * records it critical if it dies with its hub).  Nothing when a lookup
 * for it waits, too many wait, or it was not found lately. */
void	hub_db_find_learn(const char *name);
/* Agents learnt that way since the start. */
uint64_t hub_db_find_learnt(void);
/* hub_cron: tokens made or revoked on other hubs, read every 5 s. */
void	hub_db_find_cron(double now);

/* ---- hub_db_url.c ---- */

/* store = and store_password_file = make sense together: 0, or -1 with
 * why in err (never the URL itself). */
int	hub_db_store_check(const char *store, const char *password_file,
	    char *err, size_t errlen);
/* Startup: hub_db_open() on the configured store (default
 * sqlite:DATA/hub.db) with the password file's content.  0 / -1. */
int	hub_db_store_open(void);

/* ---- hub_db_load.c ---- */

/* Startup, from hub_db_load(): the registry, auth, events and unfinished
 * commands read from db into memory.  0 / -1 (the reason in db). */
int	hub_db_load_state(struct hub_sql *db);

/* ---- hub_db_ids.c ---- */

/* Startup, from hub_db_load(): the first block of each kind of id. */
int	hub_db_ids_load(struct hub_sql *db);
/* Service thread: the next agent's or event's id (enum hub_sql_seq). */
int64_t	hub_db_next_id(int seq);
/* 1 when an id of seq can be handed out within a block the store gave;
 * 0 (and the next block asked for) when not yet. */
int	hub_db_id_ready(int seq);

/* ---- hub_conn.c: one peer connection, whatever its role ---- */

enum hub_role { CONN_NEW, CONN_AGENT, CONN_UI, CONN_HTTP, CONN_TERM };

struct hub_outq;
struct hub_agent;
struct hub_cmd;
struct hub_http;
struct hub_tclient;
struct hub_token;

struct hub_conn {
	enum hub_role	 role;
	void		*wsi;		/* struct lws *, opaque here */
	char		 peer[64];	/* address for logs */
	struct mc_buf	 rx;		/* owned: fragments being reassembled */
	struct hub_outq	*outq;		/* owned: queued messages */
	struct hub_outq	*outq_tail;
	size_t		 outq_bytes;
	int		 closing;	/* close after the queue drains */
	int		 close_code;
	double		 warned;	/* mc_now() of the last warning sent */
	struct hub_agent *agent;	/* set after a good hello */
	struct hub_http	*http;		/* owned, CONN_HTTP */
	struct hub_ui	*ui;		/* owned, CONN_UI */
	struct hub_tclient *tclient;	/* owned, CONN_TERM (hub_term_client.c) */
	int		 bus;		/* no socket: a terminal client that is
					 * another hub (hub_bus_term.c) */
};

/* Headroom kept before every queued message for the WebSocket framing
 * (hub_ws.c checks that it covers LWS_PRE). */
#define HUB_PRE		16

void	hub_conn_init(struct hub_conn *c, void *wsi, enum hub_role role);
/* Release what the connection owns and unlink it from agent/command. */
void	hub_conn_destroy(struct hub_conn *c);
/* Queue one WebSocket message (copied). -1 and the peer is dropped if
 * its queue is over MC_PEER_QUEUE_MAX. */
int	hub_conn_send(struct hub_conn *c, const char *buf, size_t len);
/* Queue one binary message: head (hlen bytes, may be 0) then data, copied
 * (a terminal's data frame).  -1 as hub_conn_send(). */
int	hub_conn_send_bin(struct hub_conn *c, const void *head, size_t hlen,
	    const void *data, size_t len);
/* Send an error message, log why, then close with close_code. */
void	hub_conn_fail(struct hub_conn *c, int close_code, const char *code,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Send an error message that closes nothing ("fatal": false) and log
 * it; at most one a minute per connection. */
void	hub_conn_warn(struct hub_conn *c, const char *code,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The oldest queued message (HUB_PRE bytes of headroom before *buf;
 * *binary says which kind), or -1 when the queue is empty.
 * hub_conn_pop() drops it once written (and tells a terminal client's
 * session its output went). */
int	hub_conn_peek(struct hub_conn *c, unsigned char **buf, size_t *len,
	    int *binary);
void	hub_conn_pop(struct hub_conn *c);
/* Append a received fragment; when the message is complete, dispatch it
 * (binary: an agent's terminal data frame). */
int	hub_conn_on_receive(struct hub_conn *c, const void *in, size_t len,
	    int final, int binary);

/* ---- hub_listen.c: the address served on ---- */

/* --listen as host (brackets removed) and port: 0, or -1 if malformed. */
int	hub_listen_split(const char *listen, char *host, size_t hostlen,
	    int *port);
/* host's family (AF_INET, AF_INET6) and whether it is every address; an
 * empty host or "localhost" is rewritten to its literal.  -1 and logged
 * if host is not an IP address. */
int	hub_listen_family(char *host, int *family, int *any);
/* The listening socket is bound to host:port and nothing wider: 0, or -1
 * and logged. */
int	hub_listen_verify(const char *host, int port);

/* ---- hub_ws.c: the lws adapter ---- */

int	hub_ws_start(void);
void	hub_ws_stop(void);
int	hub_ws_run(void);		/* the event loop; returns on stop */
void	hub_ws_want_write(void *wsi);
/* A deferred HTTP reply is ready: send its headers and body. */
void	hub_ws_http_ready(struct hub_conn *c);
/* Any thread: wake the service thread (lws_cancel_service). */
void	hub_ws_wake(void);
void	hub_ws_close_soon(void *wsi);
/* Stop (paused 1) or resume reading a connection (lws_rx_flow_control). */
void	hub_ws_rx_pause(void *wsi, int paused);
/* The peer closed its side (FIN or RST), as the kernel knows even of a
 * connection we do not read. */
int	hub_ws_peer_closed(void *wsi);

/* ---- hub_admit.c: admission control ---- */

struct hub_admit;
struct hub_admit_stats {
	int		 handshakes;	/* accepted, no request yet */
	uint64_t	 refused_busy;	/* over handshake_max */
	uint64_t	 refused_source;	/* over a per-address limit */
	uint64_t	 timeouts;	/* closed past handshake_timeout */
};

/* A connection was accepted on fd: 0 to keep it, -1 to close it now
 * (over a limit; counted, and logged per address at most every 10 s). */
int	hub_admit_accept(int fd);
/* Its wsi exists: track it (the record is owned by this module and
 * freed by hub_admit_end()); NULL when out of memory (not tracked). */
struct hub_admit *hub_admit_start(void *wsi, int fd);
/* Its first request arrived: the handshake is over. a may be NULL. */
void	hub_admit_request(struct hub_admit *a);
/* The connection is gone.  a may be NULL. */
void	hub_admit_end(struct hub_admit *a);
/* hub_cron: close connections past handshake_timeout. */
void	hub_admit_cron(double now);
void	hub_admit_stats(struct hub_admit_stats *st);
/* Shutdown, after the event loop is gone. */
void	hub_admit_free_all(void);

/* ---- hub_deadman.c: pings to a monitor outside the hub ---- */

/* After the loop's setup: the ping thread, if deadman_url is set. 0/-1. */
int	hub_deadman_start(void);
/* hub_cron: ask for a ping every deadman_every seconds. */
void	hub_deadman_cron(double now);
/* Shutdown: stop and join the thread (a ping in flight finishes). */
void	hub_deadman_stop(void);
/* Pings that reached the monitor and that failed; returns 1 if on. */
int	hub_deadman_stats(uint64_t *ok, uint64_t *failed);

/* ---- hub_retain.c: pruning the store ---- */

/* hub_cron: delete a batch of expired events, alerts and commands; read
 * the database's size. */
void	hub_retain_cron(double now);
/* Bytes the database uses (pages in use), as last read; 0 before. */
int64_t	hub_retain_db_bytes(void);

/* ---- hub_rec.c, hub_rec_store.c: terminal recordings (what the relay
 * calls is in hub_rec.h) ---- */

/* record_max's range (hub_conf.c); a cast is read whole to be served */
#define HUB_RECORD_MAX_MIN	(64.0 * 1024)
#define HUB_RECORD_MAX_MAX	(1024.0 * 1024 * 1024)

/* DATA/sessions, where the casts are (set by hub_rec_init(), read-only
 * after it: any thread). */
const char *hub_rec_dir(void);
/* A session id as hub_rec_new_sid() makes them: 1, else 0. */
int	hub_rec_sid_valid(const char *sid);
/* hub_rec_init(), before any session: rows a killed hub left open are
 * closed with reason "shutdown", their casts kept as they are. */
void	hub_rec_recover(void);
/* hub_retain_cron: a batch of the sessions closed before cutoff (wall
 * clock), casts and rows, deleted on the store's thread. */
void	hub_rec_retain(double cutoff);
/* GET /api/sessions: {"sessions":[...]}, newest first, agent "" for all;
 * done(arg, json, len) as hub_db_ask(). */
void	hub_rec_list(const char *agent, int limit,
	    void (*done)(void *arg, char *json, size_t len), void *arg);
/* GET /api/sessions/{id}/cast: done(arg, found, fd, size) on the service
 * thread; when found is REC_FOUND, fd is the cast opened (owned by done)
 * and size its length up to its last whole line. */
enum hub_rec_found { REC_FOUND, REC_NO_SESSION, REC_NO_CAST, REC_UNREADABLE };
void	hub_rec_cast_read(const char *sid,
	    void (*done)(void *arg, enum hub_rec_found found, int fd,
	    uint64_t size), void *arg);

/* ---- hub_guard.c: failed authentications per source address ---- */

/* Before a token is checked: -1 (and the seconds to wait) when the
 * client address addr failed too often lately; the caller answers 429. */
int	hub_guard_check(const char *addr, int *retry_after);
/* addr presented a wrong token. */
void	hub_guard_fail(const char *addr);

/* ---- hub_selfwatch.c: alert channels failing, the loop stalling ---- */

/* A delivery's outcome on chan (sent, or retried/failed with detail). */
void	hub_selfwatch_delivery(const char *chan, int sent, const char *detail);
/* hub_cron, first: a late tick is a stall; long channel outages. */
void	hub_selfwatch_tick(double now);
/* Right after a stall: no agent changes status (its heartbeats wait
 * unread in the sockets). */
int	hub_selfwatch_settling(double now);
uint64_t hub_selfwatch_stalls(void);

/* ---- hub_proxy.c: the client's address, also behind a proxy ---- */

/* Check a trusted_proxies list (addresses, ADDRESS/BITS; commas or
 * spaces); install it when install is set.  0, or -1 with err. */
int	hub_proxy_parse(const char *list, int install, char *err,
	    size_t errlen);
/* "ADDR:PORT" -> "ADDR". */
void	hub_peer_addr(const char *peer, char *out, size_t outlen);
/* The client's address: the peer's, or, when the peer is a trusted
 * proxy, the last address in X-Forwarded-For (xff, may be NULL) that is
 * not one. */
void	hub_proxy_client(const char *peer, const char *xff, char *out,
	    size_t outlen);
/* hub_cron: forget addresses that have calmed down. */
void	hub_guard_cron(double now);
/* Requests refused by the guard since the hub started. */
uint64_t hub_guard_blocked(void);
void	hub_guard_free_all(void);

/* ---- hub_agent.c: the agent registry and the agent protocol ---- */

/* ST_RESTARTING extends the contract's four: the agent said bye
 * "restart" and has miss x heartbeat to come back before it is critical. */
enum hub_status { ST_ONLINE, ST_LATE, ST_CRITICAL, ST_OFFLINE, ST_RESTARTING };
#define HUB_STATUS_COUNT	(ST_RESTARTING + 1)

/* The hardware summaries the hub keeps, charts and rules on (hub_hw.c):
 * the busiest GPU's util %, the highest GPU memory used %, the hottest GPU
 * and the hottest CPU sensor, in degrees Celsius. */
enum hub_hw { HUB_HW_GPU_UTIL, HUB_HW_GPU_MEM, HUB_HW_GPU_TEMP,
	HUB_HW_CPU_TEMP };
#define HUB_HW_COUNT	4

/* The metric sums of the minute being recorded (hub_series.c). */
struct hub_series_acc {
	int64_t		 minute;	/* wall-clock minute start, seconds */
	int		 n;		/* heartbeats summed; 0 = empty */
	int		 ncpu;		/* of those, the ones with a CPU figure */
	double		 cpu, mem, disk, rx, tx;
	/* the hardware figures (HUB_HW_*): each summed over the heartbeats
	 * that had it, so a minute without a GPU has none, not 0 */
	uint16_t	 nhw[HUB_HW_COUNT];
	float		 hw[HUB_HW_COUNT];
};

/* The figures the hub itself works with, taken from each heartbeat. */
struct hub_gauges {
	double		 cpu, mem, disk;	/* percent (mc_metrics_*_pct) */
	double		 rx, tx;	/* bytes/s over all interfaces */
	uint64_t	 uptime;	/* seconds */
	/* hardware summaries (hub_hw.c), NAN when not reported: indexed by
	 * HUB_HW_*, and the busiest GPU's temperature */
	float		 hw[HUB_HW_COUNT];
	float		 busy_temp;
	unsigned char	 ngpu, ntemp, nfan;	/* what the heartbeat held */
};

struct hub_agent {
	int64_t		 id;
	char		 name[MC_NAME_MAX + 1];
	char		 cred_hash[65];
	char		 hostname[MC_TEXT_MAX];
	char		 os[MC_TEXT_MAX];
	char		 kernel[MC_TEXT_MAX];
	char		 arch[32];
	char		 version[32];
	int		 cpus;
	uint64_t	 mem_total;
	int		 ntags;
	char		 tags[MC_TAGS_MAX][MC_TAG_MAX + 1];
	enum hub_status	 status;
	double		 last_hb;	/* monotonic, of the last sign of life */
	double		 last_seen;	/* wall clock, 0 = never */
	double		 since;		/* wall clock of the status change */
	double		 saved_seen;	/* last_seen as last written to disk */
	int		 heard;		/* a sign of life since the hub started
					 * (restart_grace no longer covers it) */
	int		 watched;	/* in hub_live.c's list, by last_hb */
	struct hub_agent *wnext, *wprev;
	int		 downlisted;	/* in hub_alert.c's list of agents
					 * critical or with a container down */
	struct hub_agent *dnext, *dprev;
	int		 have_metrics;
	struct hub_gauges g;		/* from the last heartbeat */
	unsigned char	*metrics;	/* owned: the last heartbeat, packed
					 * (hub_agent_metrics()) */
	size_t		 metrics_len;
	struct hub_conn	*conn;		/* not owned; NULL when disconnected */
	struct hub_conn	*enrolling;	/* not owned: the connection that
					 * enrolled it, until the new row is
					 * committed and it is welcomed */
	char		 boot[MC_ID_MAX];	/* the listener process's id */
	unsigned	 caps;		/* MC_CAP_* of its last hello */
	/* the operator keys it trusts and whether it runs only what they
	 * signed, from its last hello (shown, not checked: the listener
	 * checks) */
	int		 ntrust;
	char		 trust[MC_TRUST_MAX][MC_KEYLINE_MAX];
	int		 require_signed;
	int		 restarting;	/* said bye "restart"; back soon */
	int		 running;	/* commands sent and not finished */
	struct hub_cmd	*cmds;		/* unfinished commands, oldest first */
	struct hub_series_acc hist;	/* this minute's metrics (hub_series.c) */
	int		 ui_dirty;	/* metrics changed since the last push */
	struct hub_alert_state *alert;	/* owned by hub_alert.c; NULL until
					 * the agent's first incident */
	struct hub_rule_state *rules;	/* owned by hub_rules.c; NULL until
					 * a rule applies */
	struct hub_ctr_set *ctr;	/* owned by hub_ctr.c; NULL until it
					 * reports a container */
	double		 hold_at;	/* monotonic: its hold last written
					 * to the bus (hub_bus_hold.c); 0 */
	int		 feed_dirty;	/* in hub_bus_feed.c's next batch */
	double		 feed_at;	/* monotonic: its last line on the
					 * bus (hub_bus_feed.c); 0 never */
	double		 feed_full;	/* monotonic: its JSON last on the
					 * bus; 0 never */
	/* liveness in a cluster (hub_bus_live.c): who has it, as far as
	 * this hub knows (HUB_HELD_HERE, HUB_HELD_UNKNOWN, or a hub's
	 * number there), and whether the bus is being asked about it */
	uint8_t		 held_by;
	uint8_t		 live_asking;
	/* while critical: which hub recorded the incident, as held_by
	 * (HUB_HELD_HERE: this one; HUB_HELD_UNKNOWN: restored, or not
	 * told yet); that hub records its end (hub_live.c) */
	uint8_t		 incident_by;
	struct hub_agent *hnext;	/* hash chain */
	struct hub_agent *next, *prev;	/* all agents, in creation order */
};

struct hub_agent *hub_agent_find(const char *name);
/* Create (in memory and on disk).  Returns NULL if the name exists. */
struct hub_agent *hub_agent_create(const char *name, const char *cred_hash);
/* Used by hub_db_load() to rebuild the registry; no disk write. */
struct hub_agent *hub_agent_restore(int64_t id, const char *name,
	    const char *cred_hash);
struct hub_agent *hub_agent_first(void);
size_t	hub_agent_count(void);
/* Agents with a connection now, kept as they bind and detach: /healthz
 * answers without a walk of every agent (it needs no token). */
size_t	hub_agent_connected_count(void);
/* One complete message from an agent connection. */
void	hub_agent_handle(struct hub_conn *c, const char *buf, size_t len);
/* The connection went away. */
void	hub_agent_detach(struct hub_conn *c);
/* A decoded hello, version checked: log in or enroll (hub_db_find.c
 * calls it again once a lookup in the store is done). */
void	hub_agent_hello_go(struct hub_conn *c, const struct mc_hello *h);
int	hub_agent_has_tag(const struct hub_agent *a, const char *tag);
/* hub_agent_view.c: a heartbeat's metrics kept (packed) with the gauges
 * the views show: 0, or -1 out of memory (the previous ones stay). */
int	hub_agent_metrics_keep(struct hub_agent *a, const struct mc_metrics *m);
/* The agent's last heartbeat, unpacked into *m.  -1 when it sent none. */
int	hub_agent_metrics(const struct hub_agent *a, struct mc_metrics *m);
/* Write the agent's public view as a JSON object. */
void	hub_agent_write(struct mc_jw *w, const struct hub_agent *a,
	    int with_metrics);
void	hub_agent_free_all(void);

/* ---- hub_ctr.c: each agent's containers (what the container files
 * share is in hub_ctr.h) ---- */

struct hub_ctr_set;
/* A heartbeat's "ctr" part applied to a's table: 0 (also when it has
 * none), or -1 with err when malformed (nothing applied). */
int	hub_ctr_on_hb(struct hub_agent *a, const struct mc_msg *m, char *err,
	    size_t errlen);
/* The agent's connection went away: its table is kept, stale. */
void	hub_ctr_detach(struct hub_agent *a);
/* The containers of a labelled maestro.update=auto and behind (digest
 * differs from the registry's latest), as its heartbeats told: writes at
 * most max names (names may be NULL when max is 0) and returns how many
 * there are.  A stale table (the agent gone or without Docker) has none. */
int	hub_ctr_auto_behind(const struct hub_agent *a, char (*names)[MC_TEXT_MAX],
	    int max);
void	hub_ctr_free(struct hub_agent *a);
/* "containers": the counts by state, unhealthy, down, stale and rev,
 * into the agent's JSON object, when it has a table. */
void	hub_ctr_write_counts(struct mc_jw *w, const struct hub_agent *a);
/* The most restarts one of a's containers had within window seconds,
 * and that container's name (NULL: none). */
int	hub_ctr_restarts(const struct hub_agent *a, double window,
	    const char **name);
/* hub_alert_send.c: the alert of container id's incident went out. */
void	hub_ctr_alerted(struct hub_agent *a, const char *id);

/* ---- hub_hw.c: an agent's GPU and temperature summaries ---- */

/* The history and JSON key of a summary ("gpu_util", ...). */
const char *hub_hw_key(enum hub_hw k);
/* From a heartbeat's metrics into g; no allocation. */
void	hub_hw_keep(struct hub_gauges *g, const struct mc_metrics *m);
/* No hardware reported (a new agent). */
void	hub_hw_clear(struct hub_gauges *g);
/* The summaries into the agent's JSON object, each only when reported
 * (an agent with metrics). */
void	hub_hw_write(struct mc_jw *w, const struct hub_agent *a);
/* "gpus" (the array of the heartbeat) when m has any. */
void	hub_hw_write_gpus(struct mc_jw *w, const struct mc_metrics *m);

/* ---- hub_live.c: liveness and status events ---- */

/* The detail of the status event offline -> online that is an agent's
 * first connection ever (hub_alert.c words its notice from it). */
#define HUB_FIRST_CONNECTION	"first connection"

const char *hub_status_name(enum hub_status s);
/* "online" ... into *out: 0, or -1 for no status. */
int	hub_status_parse(const char *s, enum hub_status *out);
/* A sign of life arrived (hello or heartbeat). */
void	hub_live_seen(struct hub_agent *a);
/* The agent said goodbye. */
void	hub_live_bye(struct hub_agent *a, const char *reason);
/* Every agent overdue against the clock, re-evaluated (called by
 * hub_cron); then the last_seen writes due, in one job. */
void	hub_live_tick(double now);
/* Stopping: every agent's last_seen not saved yet goes to the store. */
void	hub_live_shutdown(void);
/* Agents whose status is online, kept at every change (as above). */
size_t	hub_live_online_count(void);
/* hub_agent.held_by: */
#define HUB_HELD_HERE		0	/* connected here, or alone */
#define HUB_HELD_UNKNOWN	255	/* restored in a cluster, not asked */
/* What the cluster says of an agent this hub found silent for miss x
 * heartbeat (hub_bus_live.c decides, hub_live.c records). */
enum hub_live_verdict {
	LIVE_HELD,		/* another hub has it: not ours to watch */
	LIVE_CRITICAL,		/* nobody heard it: this hub records it */
	LIVE_CRITICAL_ELSEWHERE,	/* ... and another hub records it */
	LIVE_AGAIN		/* ask again after a window from now */
};
void	hub_live_verdict(struct hub_agent *a, enum hub_live_verdict v,
	    const char *detail);
/* Hub hub_name says the agent it holds has status s and, when it has
 * the agent's connection, heard it at wall time heard (else 0): this
 * hub's view follows, with no event, alert or write (the holder made
 * those), except that a critical agent heard after its incident began
 * ends the incident (recorded once, see hub_live.c). */
void	hub_live_heard_of(struct hub_agent *a, const char *hub_name,
	    enum hub_status s, double heard);
/* This hub records the end of an incident it did not record in this run
 * (hub_bus_end()); the agent's status here changed already.  began: when
 * the incident began, as known here. */
void	hub_live_recovered(struct hub_agent *a, enum hub_status to,
	    const char *detail, double began);
/* After loading from disk: agents that were up start their clock now.
 * since: when the status began (0 when not stored: last_seen). */
void	hub_live_restore(struct hub_agent *a, const char *status,
	    double last_seen, double since);
/* ---- hub_update.c: rolling container updates ---- */

#define HUB_UPDATE_TIMEOUT	300	/* seconds a container_update may
					 * take unless told (pull included) */
#define HUB_UPDATES_MAX		64	/* rolls kept in memory */
#define HUB_AUTO_MAX		256	/* auto-updated containers an agent
					 * offers per periodic check */

enum hub_upd_state {
	UPD_WAITING, UPD_RUNNING, UPD_UPDATED, UPD_CURRENT, UPD_BACK,
	UPD_FAILED, UPD_SKIPPED
};

/* One agent of a roll (or one container of it: the periodic check). */
struct hub_upd_target {
	char			 agent[MC_NAME_MAX + 1];
	char			 container[MC_TEXT_MAX];	/* "": all of the
							 * image's */
	char			 cmd[MC_ID_MAX];	/* its command, or "" */
	enum hub_upd_state	 state;
	char			 detail[MC_TEXT_MAX];	/* summary or reason */
};

struct hub_update {
	char			 id[MC_ID_MAX];		/* "u-<16 hex>" */
	char			 image[MC_IMAGE_MAX];	/* "": each container's
							 * own (periodic) */
	char			 by[MC_NAME_MAX + 1];
	int			 batch, prune, go_on;
	double			 timeout;		/* per command */
	int			 ntargets;
	struct hub_upd_target	*targets;		/* owned */
	int			 next_target;		/* not started yet */
	int			 running;		/* in this batch */
	char			 stop_why[MC_TEXT_MAX];	/* "": not stopped */
	int			 ok;			/* when finished */
	double			 created, finished;	/* wall; 0 running */
	struct hub_update	*next;
};

/* What POST /api/updates asks for: agents by name, or a tag, or all. */
struct hub_update_req {
	const char		*image;
	const char *const	*agents;
	int			 nagents;
	const char		*tag;
	int			 all;
	int			 batch, prune, go_on;
	double			 timeout;
	const char		*by;
};

/* Start a roll (its first batch is sent at once).  NULL with an HTTP
 * status and a reason: an unknown agent or none matched (404), too many
 * rolls (503). */
struct hub_update *hub_update_start(const struct hub_update_req *q,
	    int *status, char *why, size_t whylen);
struct hub_update *hub_update_find(const char *id);
/* The rolls in memory, newest first (next). */
const struct hub_update *hub_update_first(void);
const char *hub_update_state_name(enum hub_upd_state s);
/* A command finished (hub_cmd.c): settle its target, go on with its
 * roll. */
void	hub_update_on_cmd(const struct hub_cmd *c);
/* hub_cron: the periodic check every container_update_every. */
void	hub_update_cron(double now);
void	hub_update_free_all(void);

/* ---- hub_api_update.c ---- */
void	hub_update_write(struct mc_jw *w, const struct hub_update *u);

/* ---- hub_release.c: published listener releases ---- */

#define HUB_RELEASE_TICKETS	4096	/* download tickets at once */
#define HUB_TICKET_HEX		33	/* 16 random bytes as hex, NUL */

/* A release as published (POST /api/releases): the file is
 * DATA/releases/VERSION/maestro-listener; the rest is its row. */
struct hub_release {
	char			 version[MC_VERSION_TEXT_MAX];
	char			 sha256[MC_SHA256_HEX];
	uint64_t		 size;
	char			 key[MC_KEY_B64];	/* "": unsigned */
	char			 sig[MC_SIG_B64];
	char			 signer[MC_NAME_MAX + 1];	/* the key's name */
	char			 by[MC_NAME_MAX + 1];	/* the token's name */
	double			 published;		/* wall */
	int			 storing;		/* not on disk yet */
	struct hub_release	*next;
};

/* What an upload asks (its body is taken from the request). */
struct hub_release_up {
	unsigned char		 key[MC_KEY_RAW];
	unsigned char		 sig[MC_SIG_RAW];
	int			 is_signed;
	char			 signer[MC_NAME_MAX + 1];
	char			 by[MC_NAME_MAX + 1];
};

/* Startup: the releases table into memory.  0 / -1. */
int	hub_release_load(struct hub_sql *db);
struct hub_release *hub_release_find(const char *version);
/* The releases, newest first (next). */
const struct hub_release *hub_release_first(void);
/* Publish body (taken; freed here) as a release: checked, hashed and
 * verified on the store's thread, then written there (fsync, rename),
 * then its row committed.  done(arg, status, rel, why) runs once on the
 * service thread: 201 (rel new), 200 (the same file again), or 400, 409,
 * 500 with why. */
typedef void (*hub_release_done_fn)(void *arg, int status,
	    const struct hub_release *rel, const char *why);
void	hub_release_publish(struct mc_buf *body,
	    const struct hub_release_up *up, hub_release_done_fn done,
	    void *arg);
/* A download ticket for command cmd_id and version into out
 * (HUB_TICKET_HEX): 0, or -1 when HUB_RELEASE_TICKETS are in use. */
int	hub_release_ticket(const char *cmd_id, const char *version,
	    char *out);
/* Bind a ticket made for no command yet ("") to cmd_id. */
void	hub_release_ticket_bind(const char *ticket, const char *cmd_id);
/* Is ticket good for version now (its command unfinished)?  1 / 0. */
int	hub_release_ticket_ok(const char *version, const char *ticket);
/* Open the release's file on the store's thread: done(arg, fd, size)
 * on the service thread, fd -1 when it cannot be read. */
void	hub_release_open(const char *version,
	    void (*done)(void *arg, int fd, uint64_t size), void *arg);
void	hub_release_write(struct mc_jw *w, const struct hub_release *r);
void	hub_release_free_all(void);

/* ---- hub_roll.c: rolling a release out to listeners ---- */

#define HUB_ROLLS_MAX		16	/* rolls kept in memory */
#define HUB_ROLL_CONFIRM	120	/* seconds from done to the new hello */

enum hub_roll_state {
	ROLL_PENDING, ROLL_SENT, ROLL_INSTALLED, ROLL_UPDATED, ROLL_SKIPPED,
	ROLL_FAILED, ROLL_ROLLED_BACK, ROLL_TIMED_OUT
};

struct hub_roll_agent {
	char			 agent[MC_NAME_MAX + 1];
	char			 cmd[MC_ID_MAX];
	enum hub_roll_state	 state;
	char			 before[MC_VERSION_TEXT_MAX];
	char			 after[MC_VERSION_TEXT_MAX];
	char			 error[MC_TEXT_MAX];
	double			 deadline;	/* monotonic: installed until */
};

struct hub_roll {
	char			 id[MC_ID_MAX];		/* "r-<16 hex>" */
	char			 version[MC_VERSION_TEXT_MAX];
	char			 by[MC_NAME_MAX + 1];
	int			 batch;
	double			 pause;
	int			 nagents;
	struct hub_roll_agent	*agents;		/* owned */
	int			 next;		/* first not started */
	int			 batch_start;	/* of the batch now */
	double			 resume;	/* monotonic: pausing until */
	char			 stop_why[MC_TEXT_MAX];	/* "": not stopped */
	double			 created, finished;	/* wall; 0 running */
	struct hub_roll		*nextr;
};

/* What POST /api/releases/{version}/roll asks for. */
struct hub_roll_req {
	const char		*version;
	const char *const	*agents;
	int			 nagents;
	const char		*tag;
	int			 all;
	int			 batch;
	double			 pause;
	const char		*by;
};

/* Start a roll (its first batch at once).  NULL with an HTTP status and
 * a reason: unknown release or agent (404), a roll running (409). */
struct hub_roll *hub_roll_start(const struct hub_roll_req *q, int *status,
	    char *why, size_t whylen);
struct hub_roll *hub_roll_find(const char *id);
const struct hub_roll *hub_roll_first(void);	/* newest first */
const char *hub_roll_state_name(enum hub_roll_state s);
const char *hub_roll_status(const struct hub_roll *r);
/* A command finished / an agent said hello (its version, and the
 * self-update it undid, if any): move its roll on. */
void	hub_roll_on_cmd(const struct hub_cmd *c);
void	hub_roll_on_hello(const struct hub_agent *a,
	    const char *upd_version, const char *upd_error);
/* hub_cron: confirmations that timed out, pauses that ended. */
void	hub_roll_cron(double now);
void	hub_roll_free_all(void);
/* Start-up, before the commands are loaded: end every unfinished
 * listener_update in the store as lost (its release was in memory
 * only).  0, or -1 (the store's error). */
int	hub_roll_load(struct hub_sql *db);
void	hub_roll_write(struct mc_jw *w, const struct hub_roll *r);


/* ---- hub_events.c: the event log ---- */

/* One event; the strings are borrowed.  cmd: a command event's text (the
 * shell line or docker_restart's container), NULL or "" for others. */
struct hub_event_rec {
	int64_t		 id;
	double		 ts;
	const char	*type, *agent, *from, *to, *detail;
	const char	*cmd;
};
/* What GET /api/events asks for: before > 0, after >= 0 and since > 0
 * are off at 0, -1 and 0; agent and type filter when not empty. */
struct hub_events_query {
	int		 limit;
	int64_t		 before, after;
	double		 since;
	char		 agent[MC_NAME_MAX + 1];
	char		 type[16];
};

/* Record an event (status change, command outcome, ...): numbered, sent
 * to the live feed and queued to the store. */
void	hub_event(const char *type, const char *agent, const char *from,
	    const char *to, const char *detail);
/* A command's outcome: hub_event("command", agent, by, to, detail) that
 * also carries the command's text, cut to MC_TEXT_MAX - 1 bytes ("…"
 * then ends it); text may be NULL. */
void	hub_event_command(const char *agent, const char *by, const char *to,
	    const char *detail, const char *text);
/* One event as the API and the live feed show it. */
void	hub_event_write(struct mc_jw *w, const struct hub_event_rec *e);
/* A page of the log as {"events":[...],"more":bool}, read from the store
 * off the loop; done(arg, json, len) as hub_db_ask(). */
void	hub_events_read(const struct hub_events_query *q,
	    void (*done)(void *arg, char *json, size_t len), void *arg);

/* ---- hub_term.c, hub_term_client.c: terminal sessions (the two halves
 * share hub_term.h) ---- */

/* An agent's term_started, term_end or term_ack. */
void	hub_term_agent_msg(struct hub_conn *c, const struct mc_msg *m);
/* An agent's binary message: a data frame of an open channel, or the
 * agent is refused (close 1003). */
void	hub_term_agent_data(struct hub_conn *c, const void *buf, size_t len);
/* The agent's connection is gone: its sessions end (agent_gone). */
void	hub_term_agent_gone(struct hub_conn *c);
/* A /ws/term connection opened; its first message must sign in. */
void	hub_term_client_open(struct hub_conn *c);
/* It closed (hub_conn_destroy): its session gets term_close. */
void	hub_term_client_close(struct hub_conn *c);
/* A fragment from a /ws/term client (joined here, with its own bounds). */
void	hub_term_client_receive(struct hub_conn *c, const void *in, size_t len,
	    int final, int binary);
/* len bytes of output were written to the client (hub_conn_pop). */
void	hub_term_client_wrote(struct hub_conn *c, size_t len);
/* Another hub's client (hub_bus_term.c): open the session o asks for
 * ("agent", "cols", "rows", "signed" as an auth message) as t, whose
 * role the other hub checked; t must outlive the connection. */
void	hub_term_client_bus_open(struct hub_conn *c, const struct hub_token *t,
	    const struct mc_json *o);
/* Refuse a client ({"t":"error"}, close 1008); close one after its
 * queue drained (a relayed session's end, hub_bus_term.c). */
void	hub_tclient_refuse(struct hub_conn *c, const char *code,
	    const char *msg);
void	hub_tclient_close(struct hub_conn *c, int code);
/* hub_cron: close clients that did not sign in, or whose token was
 * revoked. */
void	hub_term_cron(double now);
/* The hub is stopping: the first call ends every session (end
 * "shutdown" to each client, term_close to each agent); 1 once the
 * clients are gone or have had their time, when the loop may end. */
int	hub_term_stopped(double now);

/* ---- hub_cron.c ---- */

/* The hub's periodic jobs; hub_ws.c calls it every hub_cron_period(). */
void	hub_cron_tick(double now);
double	hub_cron_period(void);

/* ---- hub_auth.c: tokens and enrollment keys ---- */

enum hub_role_level { ROLE_VIEWER = 1, ROLE_OPERATOR = 2, ROLE_ADMIN = 3 };

struct hub_token {
	char		 id[16];
	char		 hash[65];
	enum hub_role_level role;
	char		 name[MC_NAME_MAX + 1];
	double		 created;
	int		 revoked;
	struct hub_token *next;
};

struct hub_key {
	char		 id[16];
	char		 hash[65];
	int64_t		 uses;		/* 0 = unlimited */
	int64_t		 used;
	double		 expires;	/* wall clock, 0 = never */
	double		 created;
	int		 revoked;
	struct hub_key	*next;
};

/* Check "ID.SECRET". Returns the token or NULL. */
const struct hub_token *hub_auth_token(const char *text);
/* Check and consume one use of an enrollment key.  NULL with a reason. */
struct hub_key *hub_auth_use_key(const char *text, char *why, size_t whylen);
/* Make a token/key; the full secret text goes to out (shown once). */
struct hub_token *hub_auth_token_create(enum hub_role_level role,
	    const char *name, char *out, size_t outlen);
struct hub_key *hub_auth_key_create(int64_t uses, double expires,
	    char *out, size_t outlen);
int	hub_auth_token_revoke(const char *id);
int	hub_auth_key_revoke(const char *id);
void	hub_auth_restore_token(const char *id, const char *hash, int role,
	    const char *name, double created, int revoked);
/* A token as the store holds it now (another hub may have made or
 * revoked it): added, or its revocation taken. */
void	hub_auth_sync_token(const char *id, const char *hash, int role,
	    const char *name, double created, int revoked);
/* An enrollment key as the store holds it now (another hub may have made,
 * used or revoked it): added, or its revocation and uses taken. */
void	hub_auth_sync_key(const struct hub_key *k);
void	hub_auth_restore_key(const char *id, const char *hash, int64_t uses,
	    int64_t used, double expires, double created, int revoked);
size_t	hub_auth_token_count(void);
/* Every token and enrollment key, revoked ones too (lists borrowed;
 * service thread). */
const struct hub_token *hub_auth_tokens(void);
const struct hub_key *hub_auth_keys(void);
const char *hub_role_name(enum hub_role_level r);
int	hub_role_parse(const char *s, enum hub_role_level *out);
void	hub_auth_write_tokens(struct mc_jw *w);
void	hub_auth_write_keys(struct mc_jw *w);
/* First start: create the admin token and write DATA/admin.token. */
int	hub_auth_bootstrap(const char *datadir);
void	hub_auth_free_all(void);

/* ---- hub_cmd.c: commands from request to result ---- */

enum hub_cmd_status {
	CMD_QUEUED, CMD_SENT, CMD_RUNNING, CMD_DONE, CMD_FAILED, CMD_TIMEOUT,
	CMD_LOST, CMD_EXPIRED
};

/* A subscriber waiting for a command's output (an HTTP stream). */
struct hub_cmd_sub {
	struct hub_conn		*conn;	/* not owned */
	struct hub_cmd_sub	*next;
};

struct hub_cmd {
	char			 id[MC_ID_MAX];
	char			 agent[MC_NAME_MAX + 1];
	enum mc_kind		 kind;
	char			*cmd;		/* owned, may be NULL; the
						 * image for container_update */
	char			 arg[MC_TEXT_MAX];
	int			 prune;		/* container_update */
	struct mc_release	*rel;		/* owned: listener_update's
						 * release; NULL otherwise */
	double			 timeout;
	uint64_t		 cap;
	enum hub_cmd_status	 status;
	int			 exit_code;	/* -1 unknown */
	int			 truncated;
	uint64_t		 out_bytes;
	uint64_t		 out_lost;	/* holes in what arrived */
	struct mc_buf		 out;		/* owned: output up to cap */
	size_t			 out_saved;	/* of it, in the store */
	double			 out_saved_at;	/* monotonic */
	struct hub_chunk	*chunks;	/* owned: stream boundaries */
	size_t			 nchunks, chunks_cap;
	char			 by[MC_NAME_MAX + 1];
	char			 error[MC_TEXT_MAX];
	double			 created, started, finished;	/* wall */
	double			 deadline;	/* monotonic: lost after; 0 */
	double			 expires;	/* monotonic: queued until; 0 */
	struct mc_buf		 blob;		/* owned: a screenshot's PNG */
	struct mc_sig		*sig;		/* owned: the operator's
						 * signature; NULL: unsigned */
	struct hub_cmd_sub	*subs;		/* owned list nodes */
	char			*fwd;		/* owned: the hub that asked for
						 * it over the bus, which gets its
						 * progress (hub_bus_cmd.c); NULL */
	size_t			 fwd_bytes;	/* of out, forwarded */
	size_t			 fwd_blob;	/* of blob, forwarded */
	int			 shadow;	/* runs at another hub: this is
						 * its copy, fed over the bus */
	int			 claiming;	/* its claim is in the store's
						 * queue (hub_cmd_claim()) */
	int			 asking;	/* past its deadline, its row is
						 * read (hub_cmd_overdue()) */
	struct hub_cmd		*anext;		/* agent's unfinished list */
	struct hub_cmd		*hnext;
	struct hub_cmd		*next, *prev;	/* creation order */
};

/* a command with no result this long after its timeout is lost */
#define HUB_CMD_LOST_GRACE	30.0

struct hub_chunk {
	enum mc_stream	stream;
	size_t		off, len;
};

struct hub_cmd_req {
	enum mc_kind	 kind;
	const char	*cmd;		/* shell's line; container_update's image */
	const char	*arg;
	int		 prune;		/* container_update */
	const struct mc_release *rel;	/* listener_update (copied) */
	double		 timeout;
	uint64_t	 cap;
	double		 queue;		/* wait this long for an offline agent */
	const char	*by;
	const struct mc_sig *sig;	/* copied; NULL: unsigned */
};

/* Send a command to an agent (or queue it: agent busy, or offline and
 * r->queue > 0).  NULL with an HTTP status and a reason when refused. */
struct hub_cmd *hub_cmd_submit(struct hub_agent *a,
	    const struct hub_cmd_req *r, int *status, char *why, size_t whylen);
/* A listener said hello: settle what it does not know (lost or resent),
 * then send what is queued.  pending: ids the listener still holds. */
void	hub_cmd_on_hello(struct hub_agent *a, const char *boot,
	    const char *const *pending, int npending);
/* The agent's connection is ready for queued commands. */
void	hub_cmd_dispatch(struct hub_agent *a);
struct hub_cmd *hub_cmd_find(const char *id);
int	hub_cmd_finished(const struct hub_cmd *c);
const char *hub_cmd_status_name(enum hub_cmd_status s);
/* Agent messages about commands. */
void	hub_cmd_on_started(struct hub_agent *a, const struct mc_started *s);
void	hub_cmd_on_out(struct hub_agent *a, const struct mc_out *o);
void	hub_cmd_on_result(struct hub_conn *c, const struct mc_result *r);
void	hub_cmd_on_blob(struct hub_agent *a, const struct mc_blob *b);
/* A piece of c's file (a screenshot) at off: appended in order, else
 * the file is dropped and c's error says so. */
void	hub_cmd_blob_add(struct hub_cmd *c, uint64_t off, const void *data,
	    size_t len);
/* Commands whose deadline passed become lost, queued ones whose queue
 * time passed become expired (hub_cron). */
void	hub_cmd_expire(double now);
/* Past commands, newest first, from memory and the store: done(arg, json)
 * runs on the service thread with {"commands":[...]} (json owned by the
 * callee). agent may be NULL for all. */
void	hub_cmd_history(const char *agent, int limit,
	    void (*done)(void *arg, char *json, size_t len), void *arg);
void	hub_cmd_write(struct mc_jw *w, const struct hub_cmd *c,
	    int with_output);
/* status, exit, truncated, out_bytes, error: into an open object. */
void	hub_cmd_write_outcome(struct mc_jw *w, const struct hub_cmd *c);
/* Wake c's streams (and forward its progress if it came over the bus). */
void	hub_cmd_notify(struct hub_cmd *c);
/* Output into c, up to its cap (the caller counts out_bytes). */
void	hub_cmd_out_add(struct hub_cmd *c, enum mc_stream stream,
	    const char *data, size_t len);
/* c ends with st: stored, an event, its agent's next command; a shadow
 * only wakes its streams. */
void	hub_cmd_finish(struct hub_cmd *c, enum hub_cmd_status st);
/* A shadow of command id run at another hub for agent (hub_bus_cmd.c):
 * NULL when the id is known or memory is full. */
struct hub_cmd *hub_cmd_shadow_new(const char *agent,
	    const struct hub_cmd_req *r, const char *id);
int	hub_cmd_status_parse(const char *s, enum hub_cmd_status *out);
void	hub_cmd_subscribe(struct hub_cmd *c, struct hub_conn *conn);
void	hub_cmd_unsubscribe(struct hub_cmd *c, struct hub_conn *conn);
void	hub_cmd_free_all(void);

/* An unfinished command as stored, for hub_db_load(). */
struct hub_cmd_row {
	const char	*id, *agent, *kind, *cmd, *arg, *by, *status;
	const char	*sig;		/* hub_sign_text(), or NULL */
	double		 created, started, timeout, expires;	/* wall */
	uint64_t	 cap;
	const void	*out;		/* the output stored so far */
	size_t		 out_len;
	uint64_t	 out_bytes;
};
/* Before the store closes: the output of unfinished commands. */
void	hub_cmd_shutdown(void);
/* hub_cmd.c's parts that hub_cmd_adopt.c uses. */
struct hub_cmd *hub_cmd_new(struct hub_agent *a, const char *agent,
	    const struct hub_cmd_req *r, const char *id);
int	hub_cmd_in_flight(const struct hub_cmd *c);
int	hub_cmd_agent_ready(const struct hub_agent *a);
void	hub_cmd_agent_add(struct hub_agent *a, struct hub_cmd *c);
void	hub_cmd_agent_del(struct hub_agent *a, struct hub_cmd *c);
/* Send c now (not stored: the caller records 'sent'): 0 / -1. */
int	hub_cmd_send(struct hub_agent *a, struct hub_cmd *c);
/* No result from c's agent within the grace after its timeout. */
void	hub_cmd_lost(struct hub_cmd *c);
/* Forget c's output (a shadow about to take the stored one). */
void	hub_cmd_out_clear(struct hub_cmd *c);
/* The live commands' output and files grew by delta bytes (or shrank):
 * hub_cmd_report.c tells the table that bounds them. */
void	hub_cmd_bytes(ptrdiff_t delta);

/* ---- hub_cmd_adopt.c: commands on a store several hubs share ---- */

/* Start-up: an unfinished command from the store rejoins its agent (and a
 * shadow of it becomes the command itself). */
void	hub_cmd_restore(const struct hub_cmd_row *r);
/* Shared store: claim c (queued, agent a) in the store, then send it if
 * this hub still owns it; a command another hub took over is dropped
 * here and followed in the store. */
void	hub_cmd_claim(struct hub_agent *a, struct hub_cmd *c);
/* Shared store, a listener's hello: take over the unfinished commands of
 * agent that it still holds (pending) or whose hub is gone, then
 * done(arg, 1).  0 when started (done runs later), -1 when there is
 * nothing to ask (done never runs). */
int	hub_cmd_adopt(const char *agent, const char *const *pending,
	    int npending, hub_db_done_fn done, void *arg);
/* Shadow c's runner is gone: follow the command in the store until it
 * ends there or its deadline passes. */
void	hub_cmd_follow(struct hub_cmd *c);
/* c is in flight past its deadline: lost (hub_cmd_lost()); on a shared
 * store only once its row says no other hub took it over (its listener
 * moved there while this hub ran): then it is followed in the store. */
void	hub_cmd_overdue(struct hub_cmd *c);
void	hub_cmd_adopt_cron(double now);
void	hub_cmd_adopt_free_all(void);

/* ---- hub_sign.c: operator signatures the hub relays ---- */

/* A signed envelope and its payload as read. */
struct hub_signed {
	struct mc_sig	 sig;
	struct mc_sigcmd sc;
};
/* The "signed" member of o: 0 absent, 1 read (a well-formed payload whose
 * signature is its envelope key's own), -1 with the reason in err. */
int	hub_sign_read(const struct mc_json *o, struct hub_signed *s,
	    char *err, size_t errlen);
/* The same for a bare envelope object: 0 or -1 (err). */
int	hub_sign_read_env(const struct mc_json *env, struct hub_signed *s,
	    char *err, size_t errlen);
/* Fill kind, cmd, arg, prune, timeout and sig of q from s (pointers into
 * s) when it is a command for agent: 0, or -1 (err). */
int	hub_sign_req(const struct hub_signed *s, const char *agent,
	    struct hub_cmd_req *q, char *err, size_t errlen);
/* s as stored ({"signed":{...}}, malloc'd, caller frees), or NULL when
 * s is NULL or memory is short; hub_sign_parse() reads it back (malloc'd,
 * NULL when text is NULL, empty or bad). */
char	*hub_sign_text(const struct mc_sig *s);
struct mc_sig *hub_sign_parse(const char *text);
/* A command that is no longer in memory, from the store: done(arg, data)
 * on the service thread with its JSON (or, png set, its picture); data
 * NULL if there is no such command (or picture). */
void	hub_cmd_read(const char *id, int png,
	    void (*done)(void *arg, char *data, size_t len), void *arg);

/* ---- hub_http.c: HTTP requests and replies ---- */

struct hub_http {
	char		 method[8];
	char		 path[512];	/* decoded path, no query */
	char		 query[512];
	char		 auth[256];	/* Authorization header */
	char		 host[256];	/* Host header */
	char		 client[64];	/* the client's address (hub_proxy) */
	/* POST /api/discord/interactions only: Discord's signature headers
	 * (hub_chat_discord.c) */
	char		 dc_sig[136];	/* X-Signature-Ed25519 */
	char		 dc_ts[24];	/* X-Signature-Timestamp */
	struct mc_buf	 body;		/* owned */
	int		 body_too_large;
	int		 status;	/* reply status, 0 until chosen */
	const char	*ctype;		/* reply type; NULL: JSON */
	int		 is_static;	/* a dashboard file: add the CSP */
	int		 retry_after;	/* seconds for Retry-After; 0: none */
	int		 dispatched;	/* routed once: lws also reports the
					 * end of an empty body */
	struct mc_buf	 resp;		/* owned: whole reply body */
	size_t		 resp_off;
	struct hub_cmd	*stream;	/* streaming this command's output */
	size_t		 stream_chunk;	/* next chunk to send */
	size_t		 stream_off;	/* bytes of that chunk already sent */
	int		 stream_done;
	int		 chunked;	/* HTTP/1.1: the stream goes in chunks */
	double		 stream_ka;	/* monotonic: next keep-alive line */
	char		 stream_id[MC_ID_MAX];
	struct hub_fbody *file;		/* owned: a body read from a file
					 * (hub_http_file.c); NULL */
};

struct hub_req {
	struct hub_conn		*conn;
	struct hub_http		*http;
	const struct hub_token	*token;		/* NULL for /healthz */
	int			 no_route;	/* answer here: the bus was
						 * asked already, or it came
						 * over the bus */
	struct hub_fan		*fan;		/* a fan-out across hubs
						 * (hub_bus_fan.c), or NULL */
	const char		*params[2];	/* path parameters */
	char			 pbuf[2][256];
};

/* ---- hub_http_file.c: a reply body read from a file off the loop ---- */

struct hub_fbody;
/* Answer c's request with the first size bytes of fd (owned from here, on
 * failure too) as ctype, status 200: 0, or -1 when out of memory. */
int	hub_http_file(struct hub_conn *c, int fd, uint64_t size,
	    const char *ctype);
uint64_t hub_http_file_size(const struct hub_http *h);
/* The bytes ready to send (1: *p, *n; *n 0 at the end), 0 while a piece
 * is being read (the connection is woken when it is), -1 when the file
 * came up short. */
int	hub_http_file_next(struct hub_http *h, const void **p, size_t *n);
/* n of them went out; 1 when that was the body's end. */
int	hub_http_file_sent(struct hub_http *h, size_t n);
void	hub_http_file_free(struct hub_fbody *f);

/* Prepare a JSON reply (status and body); the adapter sends it. */
void	hub_http_reply(struct hub_req *r, int status, struct mc_buf *body);
void	hub_http_error(struct hub_req *r, int status, const char *code,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Answer later: the reply is made by a callback (after a database read).
 * Returns a ticket; hub_http_resume(ticket) gives the connection back, or
 * NULL if it closed meanwhile. */
uint64_t hub_http_defer(struct hub_req *r);
struct hub_conn *hub_http_resume(uint64_t ticket);
void	hub_http_forget(struct hub_conn *c);
/* Start streaming a command's output as ndjson. */
void	hub_http_stream(struct hub_req *r, struct hub_cmd *c);
/* seconds of silence before a stream sends a {"t":"wait"} line */
#define HUB_STREAM_KEEPALIVE	15.0

/* Produce the next piece of a streaming reply into out. Returns 1 if
 * that was the last piece, 0 if more will come, -1 if nothing now. */
int	hub_http_stream_next(struct hub_http *h, struct mc_buf *out);
void	hub_http_free(struct hub_http *h);

/* ---- hub_api.c: routes ---- */

/* Route a complete request.  Fills the reply via hub_http_reply(). Returns
 * the HTTP status chosen. */
int	hub_api_dispatch(struct hub_conn *c);
/* The most body bytes this request may send, from its method, path and
 * token (POST /api/releases by an admin: MC_RELEASE_MAX; POST
 * /api/commands by an operator: MC_FANOUT_BODY_MAX; else MC_BODY_MAX). */
size_t	hub_api_body_max(const struct hub_http *h);

/* ---- hub_static.c: dashboard files, held in memory ---- */

/* (Re)load every regular file under dir (symlinks are not followed). */
void	hub_static_load(const char *dir);
void	hub_static_free(void);
/* The file for a request path ("/" is /index.html): 0, or -1. */
int	hub_static_find(const char *path, const char **data, size_t *len);
const char *hub_static_type(const char *path);

/* ---- hub_ui.c: the live feed of /ws/ui (dashboard, hubctl watch) ---- */

struct hub_ui;

/* A /ws/ui connection opened; it must sign in with its first message. */
void	hub_ui_open(struct hub_conn *c);
/* It closed (hub_conn_destroy): forget it. */
void	hub_ui_close(struct hub_conn *c);
/* One complete message from a UI connection. */
void	hub_ui_handle(struct hub_conn *c, const char *buf, size_t len);
/* Signed-in UI connections; every hook below costs nothing while 0. */
size_t	hub_ui_count(void);
/* An agent changed.  now: a status change, pushed at once; otherwise
 * (metrics, facts) batched and pushed at most once a second. */
void	hub_ui_agent(struct hub_agent *a, int now);
/* An event was recorded (hub_event()). */
void	hub_ui_event(const struct hub_event_rec *e);
/* A command changed status. */
void	hub_ui_command(const struct hub_cmd *c);
/* Queue an encoded message to every signed-in session (the other hubs'
 * feed, hub_bus_feed.c). */
void	hub_ui_raw(const char *msg, size_t len);
/* hub_cron: push batched agents, drop silent and revoked sessions. */
void	hub_ui_cron(double now);

/* ---- hub_prom.c: GET /metrics in the Prometheus text format ---- */

/* The whole exposition, appended to b (service thread). */
void	hub_prom_write(struct mc_buf *b);
/* Counters kept here: a command finished with this status; an alert
 * delivery to channel ended with outcome ("sent", "failed", ...). */
void	hub_prom_command(enum hub_cmd_status st);
void	hub_prom_alert(const char *channel, const char *outcome);
/* One API request refused with 429. */
void	hub_prom_rate_limited(void);
/* For the writers of the exposition: a label value, escaped; a family's
 * HELP and TYPE lines. */
void	hub_prom_label(struct mc_buf *b, const char *s);
void	hub_prom_family(struct mc_buf *b, const char *name, const char *type,
	    const char *help);

/* ---- hub_prom_hw.c: /metrics for each GPU, temperature sensor, fan ---- */

void	hub_prom_hw_write(struct mc_buf *b);

/* ---- hub_prom_ctr.c: /metrics for each agent's containers ---- */

void	hub_prom_ctr_write(struct mc_buf *b);

/* ---- hub_series.c: downsampled metric history in the store ---- */

/* A heartbeat's figures join the agent's current minute. */
void	hub_series_sample(struct hub_agent *a);
/* hub_cron: write finished minutes, roll up quarters, prune. */
void	hub_series_cron(double wall);
/* Shutdown, before the store closes: write what was recorded so far. */
void	hub_series_shutdown(void);
/* The history of one agent over range_s seconds (3600, 86400, 604800):
 * done(arg, json, len) on the service thread with {"points":[...]}
 * (json owned by the callee, NULL on failure). */
void	hub_series_read(struct hub_agent *a, int range_s,
	    void (*done)(void *arg, char *json, size_t len), void *arg);

/* ---- hub_install.c: install.sh and the listener, served ---- */

/* (Re)read install.sh and the listener binary into memory. */
void	hub_install_load(void);
void	hub_install_free(void);
/* install.sh with this hub's address (host:port as the client named it)
 * and fingerprint filled in, appended to out. 0, or -1 if unavailable. */
int	hub_install_script(const char *host, struct mc_buf *out);
int	hub_install_binary(const char **data, size_t *len);
const char *hub_install_sha256(void);

/* ---- hub_alert.c: events to messages, with noise control (the batch and
 * storms in hub_alert_storm.c, what they share in hub_alert.h) ---- */

struct hub_alert_state;

/* After the store is loaded, before the loop: the alerts table, the state
 * of agents already critical, silences, the channel threads.  0 / -1. */
int	hub_alert_start(void);
/* Shutdown, after the loop and before the store closes: stop the channel
 * threads, record their last outcomes, free every agent's state. */
void	hub_alert_shutdown(void);
/* hub_live.c: an agent's status changed (service thread). */
void	hub_alert_status(struct hub_agent *a, enum hub_status from,
	    enum hub_status to, const char *detail);
/* hub_live.c: this hub records the end of an incident that another hub
 * (gone, or restarted) recorded and alerted: its recovery is due.  began:
 * when the incident began, as far as this hub knows. */
void	hub_alert_adopt(struct hub_agent *a, double began);
/* hub_rules.c: rule number rule (its text in rule_text) started (fired 1)
 * or stopped (0) holding on a; text says so in words. */
void	hub_alert_rule(struct hub_agent *a, int rule, const char *rule_text,
	    int fired, const char *text);
/* hub_live.c, hub_alert_ctr.c, hub_ctr.c: a's status or its containers'
 * incidents changed: keep it in the list of agents an ended silence may
 * have muted (critical, or with a container down), which is all
 * hub_alert_unmuted() walks. */
void	hub_alert_down_track(struct hub_agent *a);
/* hub_agent_free_all(): the list is dropped, tracking stops. */
void	hub_alert_down_off(void);
/* hub_silence.c: silences ended (a list, linked by next); agents one of
 * them covered that are still critical and were never alerted are
 * alerted now.  One walk of the agents that are down, however many
 * ended. */
struct hub_silence;
void	hub_alert_unmuted(const struct hub_silence *ended);
/* hub_alert_ctr.c: the same for a's containers still down. */
void	hub_alert_ctr_unmuted(struct hub_agent *a);
/* hub_cron: flush the batch when due, close storms, settle flapping. */
void	hub_alert_tick(double now);

/* ---- hub_alert_send.c: an alert worded, recorded and sent ---- */

enum hub_sev { SEV_CRITICAL, SEV_WARNING, SEV_RECOVERY, SEV_INFO };

/* One message for every channel.  Built on the service thread; the
 * pointers are borrowed for the duration of hub_notify_send(). */
struct hub_msg {
	const char		*id;		/* "a-<hex>": the alert's id */
	const char		*event;		/* critical, recovered, ... */
	enum hub_sev		 sev;
	const char		*agent;		/* "": a summary, the hub */
	const char *const	*agents;	/* a summary's agents */
	int			 nagents;
	const char		*title;		/* "CRITICAL: pc-gpu" */
	const char		*text;		/* plain text, in words */
	double			 ts;		/* wall clock */
	uint64_t		 test;		/* a test's id, or 0 */
};

/* A message that is sent at once, never batched nor silenced (silences
 * starting and ending).  agent may be "". */
void	hub_alert_notice(const char *event, const char *agent,
	    const char *title, const char *text);
/* POST /api/alerts/test: a test message to every channel; the reply is
 * deferred until each channel has answered (hub_notify.c). */
void	hub_alert_test(struct hub_req *r);
const char *hub_sev_name(enum hub_sev s);
/* "31s", "5m 12s", "2h 3m", "3d 4h" */
void	hub_alert_dur(double secs, char *out, size_t outlen);
/* "12:00:01 UTC" (today) or "2026-01-02 12:00:01 UTC" */
void	hub_alert_time(double wall, char *out, size_t outlen);

/* ---- hub_chat*.c: answering alerts from Telegram and Discord (commands
 * and the buttons on alerts; what the files share is in hub_chat.h) ---- */

/* After hub_notify_start(): the bot's threads when telegram_commands is
 * on (0), -1 if they cannot start. */
int	hub_chat_start(void);
/* Stop the threads (a poll in flight is aborted) and free what waits. */
void	hub_chat_stop(void);
/* Service thread, on wake-up: act on the updates the bot thread read. */
void	hub_chat_drain(void);
/* Whether this hub polls Telegram: a cluster's hubs share one bot, and
 * the Bot API answers one getUpdates at a time (409 to the others), so
 * the hub holding the bus's lease polls (hub_bus.c).  Any thread. */
void	hub_chat_tg_lead(int lead);
/* A command finished (hub_cmd.c): a /run waiting for it is answered. */
void	hub_chat_on_cmd(const struct hub_cmd *c);
/* Alerts sent to Telegram carry buttons: telegram_commands is on. */
int	hub_chat_buttons(void);
/* hub_chat_cmd.c: "reply_markup" with the buttons (Acknowledge, Silence
 * 1 h, Show) into a Telegram message's open object, when m is a critical
 * or rule alert about one agent and the buttons are on. */
void	hub_chat_buttons_write(struct mc_jw *w, const struct hub_msg *m);
/* One telegram_allow or discord_allow value (key: which; "ID:ROLE", or
 * a comma list of them) into c->chat_allow or c->dc_allow: 0, or -1 with
 * the reason in err. */
int	hub_chat_allow_add(struct hub_conf *c, const char *key,
	    const char *val, char *err, size_t errlen);
/* hub_chat_discord.c: POST /api/discord/interactions, signed by Discord
 * (no token): the slash commands and the buttons. */
void	hub_chat_discord_interaction(struct hub_req *r);
/* Alerts to Discord go through the bot (discord_public_key,
 * discord_bot_token and discord_channel_id are set): 1 with the channel's
 * messages URL and the "Authorization: Bot TOKEN" header (secrets: for
 * libcurl only), or 0. */
int	hub_chat_dc_bot(char *url, size_t ulen, char *auth, size_t alen);
/* "components" with the buttons (Acknowledge, Silence 1 h, Show) into a
 * Discord message's open object, when m is a critical or rule alert about
 * one agent and the bot is on. */
void	hub_chat_dc_buttons_write(struct mc_jw *w, const struct hub_msg *m);
/* The chat settings together: 0, or -1 with the key at fault in key and
 * the reason in why. */
int	hub_chat_conf_check(const struct hub_conf *c, char *key,
	    size_t keylen, char *why, size_t whylen);

/* ---- hub_alert_ack.c: an open incident acknowledged ---- */

/* Acknowledge a's open incident (critical, or a rule holding) for by:
 * its alert is not repeated (a silence ending, flapping settling) until
 * the incident ends; an event says it.  0, or -1 with why (no incident,
 * or already acknowledged: *already set). */
int	hub_alert_ack(struct hub_agent *a, const char *by, int *already,
	    char *why, size_t whylen);
/* The same, given through hub from (the live feed): taken quietly (that
 * hub recorded the event) when a's incident is open here too. */
void	hub_alert_ack_elsewhere(struct hub_agent *a, const char *by,
	    double at, const char *from);
/* "incident": {...} into a's open object, when one is open. */
void	hub_alert_write_incident(struct mc_jw *w, const struct hub_agent *a);
/* Who acknowledged a's open incident, or NULL. */
const char *hub_alert_acked_by(const struct hub_agent *a);

/* ---- hub_notify.c: delivery to Telegram, Discord and a webhook (the
 * request bodies in hub_notify_render.c, one request and its answer in
 * hub_notify_http.c, what they share in hub_notify.h) ---- */

/* main(), before any thread exists: curl_global_init().  0 / -1. */
int	hub_notify_init(void);
/* After hub_notify_stop(): curl_global_cleanup(). */
void	hub_notify_cleanup(void);
/* One worker thread per configured channel.  0 / -1. */
int	hub_notify_start(void);
/* Stop and join the workers; what is still queued is dropped (logged). */
void	hub_notify_stop(void);
/* Channels configured. */
int	hub_notify_channels(void);
/* The bit of the channel called name (telegram, discord, webhook), 0 for
 * none; and the bits of the channels configured.  Any thread once
 * hub_notify_start() has run (the channels change only on restart). */
unsigned hub_notify_chan_bit(const char *name);
unsigned hub_notify_configured(void);
/* Render m for each channel and queue it there (service thread). */
void	hub_notify_send(const struct hub_msg *m);
/* Service thread, on wake-up: record the outcomes the workers posted. */
void	hub_notify_drain(void);
/* Send m (a test) to every channel and answer r when each has reported,
 * or after a deadline: {"channels":[{"channel","outcome","detail"}]}. */
void	hub_notify_test(struct hub_req *r, struct hub_msg *m);
/* hub_cron: answer test requests whose deadline passed. */
void	hub_notify_tick(double now);

/* ---- hub_push*.c: Web Push to the dashboard's browsers (what the files
 * share is in hub_push.h) ---- */

/* From hub_notify_start(): the VAPID key (made at the first start), the
 * stored subscriptions and the delivery thread.  Without a key Web Push
 * is off and the hub runs on.  0, or -1 when the thread cannot start. */
int	hub_push_start(void);
/* Stop and join the thread; what is still queued is dropped. */
void	hub_push_stop(void);
/* After hub_push_stop(): the subscriptions and the key freed. */
void	hub_push_free_all(void);
/* Service thread: m queued for every subscription (not a test). */
void	hub_push_alert(const struct hub_msg *m);
/* Service thread, on wake-up: record the outcomes of deliveries. */
void	hub_push_drain(void);
/* hub_cron: on a shared store, take the subscriptions made or removed
 * through other hubs (every few seconds). */
void	hub_push_sync_cron(double now);

/* ---- hub_rules.c: threshold rules on heartbeat metrics ---- */

struct hub_rules;
struct hub_rule_state;

struct hub_rules *hub_rules_new(void);
void	hub_rules_free(struct hub_rules *rs);
/* Parse "METRIC OP VALUE for DURATION [tag=TAG]" into rs.  0, or -1 with
 * a reason in err (the config loader adds file:line). */
int	hub_rules_add(struct hub_rules *rs, const char *text, char *err,
	    size_t errlen);
/* Make rs (taken; may be NULL for none) the rules in force; every
 * agent's rule state starts over. */
void	hub_rules_install(struct hub_rules *rs);
/* The config repository's rules (taken; NULL for none), in force after
 * hub.conf's; service thread. */
void	hub_rules_install_git(struct hub_rules *rs);
int	hub_rules_count(void);
/* The i-th rule in force as written ("load1 > 4 for 5m"), NULL past the
 * last; service thread. */
const char *hub_rules_text(int i);
/* How many rules rs holds (0 for NULL); any thread. */
int	hub_rules_count_of(const struct hub_rules *rs);
/* hub_agent.c, after each heartbeat m: O(rules). */
void	hub_rules_on_hb(struct hub_agent *a, const struct mc_metrics *m);
/* How many rules have fired on a and hold now. */
int	hub_rules_firing(const struct hub_agent *a);
/* Shutdown: free the rules and every agent's rule state. */
void	hub_rules_free_all(void);

/* ---- hub_silence.c: muting alerts for planned work ---- */

/* Start: the silences table, and the silences still running (read off
 * the loop; they apply once read). */
void	hub_silence_start(void);
/* A new silence of agent or tag (one of them "") for secs seconds.  NULL
 * with a reason when refused (too many). */
const struct hub_silence *hub_silence_add(const char *agent, const char *tag,
	    double secs, const char *reason, const char *by, char *why,
	    size_t whylen);
/* End silence id now.  0, or -1 if there is no such running silence. */
int	hub_silence_clear(const char *id, const char *by);
/* The running silence that covers a, or NULL. */
const struct hub_silence *hub_silence_match(const struct hub_agent *a);
int	hub_silence_covers(const struct hub_silence *s,
	    const struct hub_agent *a);
/* Does one of the silences of list (linked by next) cover a? */
int	hub_silence_any_covers(const struct hub_silence *list,
	    const struct hub_agent *a);
/* hub_cron: end the silences whose time is up. */
void	hub_silence_expire(double wall);
/* hub_idring.c: the ids of the last things removed here. */
#define HUB_IDRING_MAX	256
struct hub_idring {
	char		 ids[HUB_IDRING_MAX][MC_ID_MAX];
	int		 at;
};
void	hub_idring_add(struct hub_idring *r, const char *id);
int	hub_idring_has(const struct hub_idring *r, const char *id);

/* A silence as a store shared with other hubs has it. */
struct hub_silence_row {
	char		 id[16];
	char		 agent[MC_NAME_MAX + 1];
	char		 tag[MC_TAG_MAX + 1];
	double		 created, until;	/* wall clock */
	char		 reason[MC_TEXT_MAX];
	char		 by[MC_NAME_MAX + 1];
	char		 hub[64];		/* who made it; "" unknown */
	int		 ended;
};
/* The store's silences, read now (rows, n of them, borrowed): take those
 * another hub made, end here those ended through another hub. */
void	hub_silence_sync(const struct hub_silence_row *rows, int n);
/* hub_silence_sync.c: on a shared store, read its silences every few
 * seconds (hub_cron). */
void	hub_silence_sync_cron(double now);
/* {"silences":[...]}, running ones, oldest first; or one silence. */
void	hub_silence_write(struct mc_jw *w);
void	hub_silence_write_one(struct mc_jw *w, const struct hub_silence *s);
const char *hub_silence_id(const struct hub_silence *s);
void	hub_silence_free_all(void);
/* Each running or planned silence, oldest first: fn(plan, id, by, arg)
 * (all borrowed for the call).  Service thread. */
struct hub_silence_plan;
void	hub_silence_each(void (*fn)(const struct hub_silence_plan *,
	    const char *, const char *, void *), void *arg);
/* A planned silence of silences.conf (agent or tag, the other ""). */
struct hub_silence_plan {
	char		 agent[MC_NAME_MAX + 1];
	char		 tag[MC_TAG_MAX + 1];
	double		 start, until;	/* wall clock */
	char		 reason[MC_TEXT_MAX];
};
/* The config repository's silences are now plan (n of them, borrowed)
 * from commit: the ones it no longer holds end, the new ones start (in
 * memory only); silences made through the API stay.  Service thread. */
void	hub_silence_install_git(const struct hub_silence_plan *plan, int n,
	    const char *commit);

/* ---- hub_gitcfg*.c: the config repository the hub follows ---- */

/* config_repo's value is one the hub can follow: 0, or -1 with err. */
int	hub_gitcfg_url_check(const char *url, char *err, size_t errlen);
/* The config_ settings that reach config_repo (hub_gitcred.c) fit it.
 * 0, or -1 with the key at fault in key and why in err. */
int	hub_gitcfg_cred_check(const struct hub_conf *c, char *key,
	    size_t keylen, char *err, size_t errlen);
/* After the loop's setup: the git thread, if config_repo is set.  0/-1. */
int	hub_gitcfg_start(void);
/* Shutdown: stop and join the git thread (a fetch under way ends first). */
void	hub_gitcfg_stop(void);
int	hub_gitcfg_enabled(void);
/* Service thread, on wake-up: apply what the git thread found. */
void	hub_gitcfg_drain(void);
/* agents.conf's tags for agent: 1 when it lists tag. */
int	hub_gitcfg_has_tag(const char *agent, const char *tag);
/* The channels (hub_notify_chan_bit()) alerts.conf routes m to: every
 * channel without alerts.conf, for a test, for the hub's own alerts and
 * for an agent no line matches; a summary goes to the union of its
 * agents' channels. */
unsigned hub_gitcfg_alert_chans(const struct hub_msg *m);
/* In an agent's "tags" array: agents.conf's tags it does not report
 * itself; then its "config_tags", "description" and "owner" (none when
 * agents.conf does not name it). */
void	hub_gitcfg_write_tags(struct mc_jw *w, const struct hub_agent *a);
void	hub_gitcfg_write_agent(struct mc_jw *w, const struct hub_agent *a);
/* 1 when the last fetch worked and its commit was not refused. */
int	hub_gitcfg_sync_ok(void);
/* /metrics: maestro_config_commit_info, maestro_config_sync_ok. */
void	hub_gitcfg_prom(struct mc_buf *b);
void	hub_gitcfg_free_all(void);

/* ---- hub_backup*.c: the hub's state committed to a git repository ---- */

/* After the loop's setup: the git thread, if backup_repo is set; the
 * state at start is committed once the store's first reads are in.
 * 0/-1. */
int	hub_backup_start(void);
/* The backup_ settings that reach backup_repo fit it (as
 * hub_gitcfg_cred_check()).  0, or -1 with key and err. */
int	hub_backup_cred_check(const struct hub_conf *c, char *key,
	    size_t keylen, char *err, size_t errlen);
/* Shutdown: what was handed over is committed, a push under way ends,
 * then the thread is joined. */
void	hub_backup_stop(void);
int	hub_backup_enabled(void);
/* The backup's files a change touches (bit i: hub_backup_files[i]). */
#define HUB_BACKUP_RULES	0x01
#define HUB_BACKUP_SILENCES	0x02
#define HUB_BACKUP_AGENTS	0x04
#define HUB_BACKUP_TOKENS	0x08
#define HUB_BACKUP_KEYS		0x10
#define HUB_BACKUP_ALL		0x1f
/* A change made through the API by who (the acting token's name), said
 * in one line, touching files (HUB_BACKUP_*): committed with the other
 * changes of this tick.  Only the files touched are written again (a
 * silence does not rewrite 10,000 agents' lines on the loop).  Service
 * thread; never blocks. */
void	hub_backup_note(unsigned files, const char *who, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* hub_agent.c: an agent was enrolled or reports other tags: agents.conf
 * is written again (at most every 10 s for these). */
void	hub_backup_agents_changed(void);
/* hub_cron: hand the changes noted to the git thread; an event when the
 * pushes start or stop failing. */
void	hub_backup_cron(double now);
/* GET /api/config's "backup" object. */
void	hub_backup_write(struct mc_jw *w);
/* /metrics: maestro_backup_last_push_ok, maestro_backup_pending. */
void	hub_backup_prom(struct mc_buf *b);

/* ---- hub_bus*.c: the hubs of a cluster, known through Redis ---- */

#define HUB_BUS_PERIOD		2.0	/* seconds between announcements */
#define HUB_BUS_LEASE_MS	10000	/* an announcement's lifetime */
#define HUB_BUS_HUBS_MAX	64	/* hubs a round lists */
#define HUB_BUS_NAME_MAX	63	/* bytes of hub_name */

struct hub_bus_url {
	char	host[256];	/* a name, or an address without brackets */
	int	port;
	int	db;
};

/* bus's value: redis://HOST[:PORT][/DB] and nothing else (never a
 * password: that is bus_password_file's).  0, or -1 with why in err,
 * which never repeats the value (it may hold a password). */
int	hub_bus_url_parse(const char *url, struct hub_bus_url *u, char *err,
	    size_t errlen);
/* hub_name's value: 1..HUB_BUS_NAME_MAX of letters, digits, . _ - */
int	hub_bus_name_valid(const char *name);
/* After the loop's setup: the bus thread, if bus is set.  0/-1. */
int	hub_bus_start(void);
/* Shutdown: the goodbye, then the thread is joined. */
void	hub_bus_stop(void);
/* hub_cron: this hub's figures to the thread (every second); the newest
 * round taken, its changes recorded and alerted. */
void	hub_bus_cron(double now);
/* /healthz: "bus": "ok" or "unreachable: ..." (nothing without a bus). */
void	hub_bus_health(struct mc_jw *w);
/* /metrics: maestro_bus_up, maestro_cluster_hubs (with a bus). */
void	hub_bus_prom(struct mc_buf *b);
void	hub_bus_free_all(void);
/* The link thread's answers and messages (from the loop's wake-up). */
void	hub_bus_drain(void);
/* hub_bus_live.c: liveness in a cluster.  An agent silent here for the
 * window: 0 when the bus was asked (its answer decides, through
 * hub_live_verdict()), -1 to decide here (no bus, or it cannot ask). */
int	hub_bus_live_ask(struct hub_agent *a);
/* hub_bus_end.c: a critical agent is back (its status here is to
 * already); by is the hub that recorded the incident
 * (hub_agent.incident_by), began when it began.  Nothing when that hub
 * is up (it records the end); else the end is recorded once in the
 * cluster, through hub_live_recovered() where it is. */
void	hub_bus_end(struct hub_agent *a, uint8_t by, enum hub_status to,
	    const char *detail, double began);
/* hub_bus_hold.c: an agent connected here / left / beat (hub_agent.c). */
void	hub_bus_hold_attach(struct hub_agent *a);
void	hub_bus_hold_detach(struct hub_agent *a);
void	hub_bus_hold_seen(struct hub_agent *a);
/* hub_bus_route.c: a command request for an agent not connected here
 * goes to the hub that holds it: 1 when taken (answered later), 0 to
 * answer here.  kind is the path's, MC_KIND_COUNT for /command. */
int	hub_bus_route_command(struct hub_req *r, struct hub_agent *a,
	    enum mc_kind kind);
/* hub_bus_term.c: a /ws/term client's session on an agent another hub
 * holds.  route: its id (0: the agent is not elsewhere, or no bus), the
 * answer coming later; send: its input (binary) or a resize or close
 * message (text); gone: the client left. */
uint64_t hub_bus_term_route(struct hub_conn *c, const struct mc_json *o,
	    const char *user, int cols, int rows);
void	hub_bus_term_send(uint64_t rid, int binary, const void *p, size_t n);
void	hub_bus_term_gone(uint64_t rid);
/* hub_bus_fan.c: a fan-out in a cluster (hub_api_cmd.c).  begin: the
 * asker's part in *fp, whose answer is written through
 * hub_bus_fan_writer() (NULL: no other hub to ask, or r came over the
 * bus: answer alone), or -1 after answering 503;
 * here: whether this hub answers for agent a (else another hub holds
 * it); accepted: a command a runner's part accepted; send: defer r and
 * ask the other hubs (f is theirs then); drop: after a 400. */
struct hub_fan;
int	hub_bus_fan_begin(struct hub_req *r, struct hub_fan **fp);
struct mc_jw *hub_bus_fan_writer(struct hub_fan *f);
int	hub_bus_fan_here(struct hub_fan *f, const struct hub_agent *a);
void	hub_bus_fan_accepted(struct hub_fan *f, const struct hub_cmd *c);
void	hub_bus_fan_send(struct hub_req *r, struct hub_fan *f);
void	hub_bus_fan_drop(struct hub_fan *f);
/* hub_bus_cmd.c: a forwarded command changed (hub_cmd.c). */
void	hub_bus_cmd_changed(struct hub_cmd *c);
/* hub_bus_feed.c: what the live feed pushes, for the other hubs
 * (hub_ui.c calls these before its own work). */
void	hub_bus_feed_agent(struct hub_agent *a, int now);
void	hub_bus_feed_event(const struct hub_event_rec *e);
void	hub_bus_feed_command(const struct hub_cmd *c);
/* a's incident was acknowledged here by by (at: wall clock). */
void	hub_bus_feed_ack(const struct hub_agent *a, const char *by,
	    double at);
/* The snapshot and GET /api/agents: agent name's state as its holder
 * last sent it (1), or 0 when none did or this hub speaks for it (a, this
 * hub's record of it or NULL, is connected here or its incident is this
 * hub's); then the agents held elsewhere this hub does not know. */
int	hub_bus_feed_write_agent(struct mc_jw *w, const char *name,
	    const struct hub_agent *a);
void	hub_bus_feed_write_others(struct mc_jw *w);

/* ---- hub_main.c: the one hub ---- */

struct hub_stats {
	uint64_t	heartbeats;
	uint64_t	agent_msgs;
	uint64_t	refused;	/* peers refused and closed */
	uint64_t	hb_bad;		/* heartbeats with a bad metric */
	uint64_t	acks;	/* results acknowledged (after their commit) */
	uint64_t	results_unknown;	/* for commands not known here */
	uint64_t	hb_missed;	/* heartbeats that did not come */
};

struct hub {
	struct hub_conf		conf;
	double			started;	/* monotonic */
	char			fingerprint[80];
	struct hub_stats	stats;
	volatile sig_atomic_t	stop;
	volatile sig_atomic_t	reload;
};

extern struct hub hub;

#endif
