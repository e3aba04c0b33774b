/*
 * mc_proto.h - the hub <-> listener protocol: every message and its fields.
 *
 * This header and the table in mc_proto.c are the one place that defines
 * the protocol; docs/protocol.md describes it for people.  Every message is
 * one JSON object in one WebSocket text message, with its type in "t".
 *
 * Bump MC_PROTO_VERSION when a message, a field's meaning or a protocol
 * limit in mc_limits.h changes incompatibly.  Adding an optional field is
 * compatible: receivers ignore fields they do not know.
 */
#ifndef MC_PROTO_H
#define MC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "mc_buf.h"
#include "mc_json.h"
#include "mc_limits.h"
#include "mc_sign.h"
#include "mc_util.h"

/* tests build a listener of another protocol with -DMC_PROTO_VERSION= */
#ifndef MC_PROTO_VERSION
#define MC_PROTO_VERSION	1
#endif
/* `make VERSION=x.y.z` stamps another (mc_elf.h says what a version is) */
#ifndef MC_VERSION
#define MC_VERSION		"0.1.0"
#endif

#define MC_ID_MAX		40	/* command ids */
#define MC_SECRET_MAX		128	/* credentials and keys as text */

enum mc_msg_type {
	MC_MSG_HELLO,		/* agent -> hub: first message */
	MC_MSG_WELCOME,		/* hub -> agent: accepted, here is the interval */
	MC_MSG_HB,		/* agent -> hub: heartbeat with metrics */
	MC_MSG_CMD,		/* hub -> agent: run a command */
	MC_MSG_STARTED,		/* agent -> hub: the command is running */
	MC_MSG_OUT,		/* agent -> hub: a chunk of its output */
	MC_MSG_RESULT,		/* agent -> hub: it ended */
	MC_MSG_ACK,		/* hub -> agent: the result is stored */
	MC_MSG_BYE,		/* agent -> hub: going away on purpose */
	MC_MSG_BLOB,		/* agent -> hub: a piece of a file result */
	MC_MSG_ERROR,		/* hub -> agent: refused; the hub closes next */
	/* terminal sessions (mc_term.h) */
	MC_MSG_TERM_OPEN,	/* hub -> agent: start a shell on a PTY */
	MC_MSG_TERM_RESIZE,	/* hub -> agent: the window's new size */
	MC_MSG_TERM_CLOSE,	/* hub -> agent: end it */
	MC_MSG_TERM_ACK,	/* hub -> agent: output taken */
	MC_MSG_TERM_STARTED,	/* agent -> hub: the shell runs */
	MC_MSG_TERM_END,	/* agent -> hub: the session is over */
	MC_MSG_TERM_INACK,	/* agent -> hub: input written ("term_ack") */
	MC_MSG_COUNT
};

enum mc_dir { MC_TO_HUB, MC_TO_AGENT };

/* Command kinds.  The listener has one module per kind. */
enum mc_kind {
	MC_KIND_SHELL,
	MC_KIND_DOCKER_PS,
	MC_KIND_DOCKER_RESTART,
	MC_KIND_RESTART,
	MC_KIND_STOP,
	MC_KIND_SCREENSHOT,
	MC_KIND_METRICS,
	MC_KIND_CONTAINER_UPDATE,	/* pull, recreate, check, or roll back */
	MC_KIND_LISTENER_UPDATE,	/* install a release of the listener */
	MC_KIND_COUNT
};

/* How a command ended, as the listener reports it. */
enum mc_outcome {
	MC_DONE,		/* ran and exited (any exit status) */
	MC_FAILED,		/* could not run, or was refused */
	MC_TIMEOUT		/* killed after its timeout */
};

enum mc_stream { MC_STDOUT = 1, MC_STDERR = 2 };

/* Error codes the hub sends before closing an agent connection. */
#define MC_ERR_BAD_JSON		"bad_json"
#define MC_ERR_BAD_MESSAGE	"bad_message"
#define MC_ERR_UNKNOWN_TYPE	"unknown_type"
#define MC_ERR_TOO_LARGE	"too_large"
#define MC_ERR_NOT_HELLO	"hello_first"
#define MC_ERR_VERSION		"version"
#define MC_ERR_AUTH		"auth"
#define MC_ERR_ENROLL		"enroll"
#define MC_ERR_NAME_TAKEN	"name_taken"
#define MC_ERR_REPLACED		"replaced"
#define MC_ERR_SHUTDOWN		"shutdown"
#define MC_ERR_UNAVAILABLE	"unavailable"	/* try again later */

struct mc_hello {
	int		v;
	char		name[MC_NAME_MAX + 1];
	char		cred[MC_SECRET_MAX];	/* "" when enrolling */
	char		enroll_key[MC_SECRET_MAX];	/* "" when not */
	char		hostname[MC_TEXT_MAX];
	char		os[MC_TEXT_MAX];
	char		kernel[MC_TEXT_MAX];
	char		arch[32];
	char		version[32];
	int		cpus;
	uint64_t	mem_total;
	int		ntags;
	char		tags[MC_TAGS_MAX][MC_TAG_MAX + 1];
	char		boot[MC_ID_MAX];	/* this listener process */
	unsigned	caps;			/* MC_CAP_*: what it can do */
	int		npending;		/* commands it still holds */
	char		pending[MC_PENDING_MAX][MC_ID_MAX];
	/* operator keys it trusts, as key lines ("ed25519:B64 NAME",
	 * mc_sign.h), and whether it runs only what they signed */
	int		ntrust;
	char		trust[MC_TRUST_MAX][MC_KEYLINE_MAX];
	int		require_signed;
	/* the last self-update that failed after the swap: the version
	 * tried and why it was undone ("update"; "" when none) */
	char		update_version[MC_VERSION_TEXT_MAX];
	char		update_error[MC_TEXT_MAX];
};

/* Capabilities a listener announces in hello's "caps" (beyond commands,
 * which every listener has). */
#define MC_CAP_TERM	0x1	/* "term": terminal sessions */

struct mc_welcome {
	int		v;
	char		name[MC_NAME_MAX + 1];
	double		hb;			/* heartbeat interval, seconds */
	char		cred[MC_SECRET_MAX];	/* set only on enrollment */
	/* "out_at": the hub places output by its "at", so the listener may
	 * send again what it wrote before this connection (a repeat is
	 * skipped there, not shown twice) */
	int		out_at;
};

struct mc_fs {
	char		mount[MC_MOUNT_MAX];
	uint64_t	used, total;
};

struct mc_net {
	char		iface[MC_IFACE_MAX];
	double		rx_bps, tx_bps;
};

/*
 * A GPU as its driver reports it.  A figure the card does not report
 * ("[N/A]", "[Not Supported]", no sysfs file) is NAN, written as an absent
 * field, never as 0: a passively cooled card has no fan speed, not 0 %.
 */
struct mc_gpu {
	int		index;			/* the driver's numbering */
	char		vendor[8];		/* "nvidia", "amd" */
	char		name[MC_GPU_NAME_MAX];	/* "NVIDIA H200" */
	char		uuid[MC_GPU_UUID_MAX];	/* "" when unknown */
	double		util, mem_util;		/* percent busy (core, memory) */
	double		mem_used, mem_total;	/* bytes */
	double		temp;			/* degrees Celsius */
	double		power, power_limit;	/* watts */
	double		fan;			/* percent */
	double		sm_clock;		/* MHz */
};

/* What a temperature sensor measures; the hottest "cpu" one is the
 * machine's summary figure (mc_metrics_cpu_temp). */
enum mc_temp_kind { MC_TEMP_OTHER, MC_TEMP_CPU, MC_TEMP_DISK };

struct mc_temp {
	char		name[MC_SENSOR_NAME_MAX];	/* "coretemp/Package id 0" */
	enum mc_temp_kind kind;
	double		c;				/* degrees Celsius */
};

struct mc_fan {
	char		name[MC_SENSOR_NAME_MAX];	/* "nct6798/fan2" */
	double		rpm;
};

struct mc_metrics {
	int		has_cpu;	/* 0: not measured yet ("cpu" absent) */
	double		cpu_user, cpu_system, cpu_iowait;	/* percent */
	double		load[3];
	uint64_t	mem_used, mem_total, swap_used, swap_total;
	int		nfs;
	struct mc_fs	fs[MC_FS_MAX];
	int		nnet;
	struct mc_net	net[MC_NET_MAX];
	uint64_t	uptime;		/* seconds */
	uint32_t	procs;
	/* the machine's hardware (mc_metrics_hw.c); each array is absent
	 * from the heartbeat when it is empty */
	int		ngpu;
	struct mc_gpu	gpu[MC_GPU_MAX];
	int		ntemp;
	struct mc_temp	temp[MC_TEMP_MAX];
	int		nfan;
	struct mc_fan	fan[MC_FAN_MAX];
};

struct mc_ctr_part;	/* mc_ctr.h */

struct mc_hb {
	uint64_t	 seq;
	struct mc_metrics m;
	/* encode only: the containers part when set (a decoder reads it
	 * with mc_hb_ctr) */
	const struct mc_ctr_part *ctr;
};

/* listener_update: the release to install.  The listener downloads it
 * from path on the hub's own address, checks size and sha256, and the
 * operator's signature (key, sig over mc_release_msg) when it trusts
 * keys. */
struct mc_release {
	char		version[MC_VERSION_TEXT_MAX];
	char		sha256[MC_SHA256_HEX];	/* hex */
	uint64_t	size;
	char		key[MC_KEY_B64];	/* "" when unsigned */
	char		sig[MC_SIG_B64];
	char		path[MC_TEXT_MAX];	/* "/releases/V/...?ticket=" */
};

struct mc_cmd {
	char		id[MC_ID_MAX];
	enum mc_kind	kind;
	char		cmd[MC_CMD_MAX + 1];	/* shell: the command line */
	char		arg[MC_TEXT_MAX];	/* docker_restart,
						 * container_update: container */
	char		image[MC_IMAGE_MAX];	/* container_update: the image
						 * to run; "" its own reference,
						 * pulled again */
	int		prune;			/* container_update: remove the
						 * old image after */
	double		timeout;		/* seconds */
	uint64_t	cap;			/* output bytes kept */
	struct mc_release rel;			/* listener_update */
	/* the operator's signature ("signed"): encode reads it when set;
	 * a decoder reads it with mc_sig_read (mc_sign.h) */
	const struct mc_sig *sig;
};

struct mc_started {
	char		id[MC_ID_MAX];
	int		pid;
};

struct mc_out {
	char		id[MC_ID_MAX];
	enum mc_stream	stream;
	const char	*data;	/* decode: points into the message; encode: in */
	size_t		len;
	/* "at": where data starts in the command's output (the bytes sent
	 * before it); has_at 0 from a listener that does not number them */
	int		has_at;
	uint64_t	at;
};

struct mc_result {
	char		id[MC_ID_MAX];
	enum mc_outcome	outcome;
	int		exit_code;	/* MC_DONE: exit status, 128+N on signal */
	int		truncated;	/* output went over the cap */
	uint64_t	out_bytes;	/* output produced, including dropped */
	double		duration;	/* seconds */
	char		error[MC_TEXT_MAX];	/* MC_FAILED/MC_TIMEOUT reason */
};

struct mc_ack {
	char		id[MC_ID_MAX];
};

struct mc_bye {
	char		reason[32];	/* stop, sigterm, restart, shutdown */
};

struct mc_blob {
	char		id[MC_ID_MAX];
	char		mime[64];
	uint64_t	total;		/* size of the whole file */
	uint64_t	off;		/* where this piece goes */
	const void	*data;		/* decode: owned by the decoder's caller */
	size_t		len;
};

struct mc_error {
	char		code[32];
	char		msg[MC_TEXT_MAX];
	int		warning;	/* 1: the connection stays open
					 * ("fatal": false) */
};

/* A parsed, validated message.  Owns the JSON document. */
struct mc_msg {
	enum mc_msg_type	 type;
	struct mc_jdoc		*doc;	/* owned */
	const struct mc_json	*root;
};

/*
 * Parse and validate one message that should travel in direction dir:
 * well-formed JSON, an object, a known "t" for that direction, and every
 * required field present with the right type.  Returns 0 (release with
 * mc_msg_free), or -1 with the MC_ERR_* code in *code and a reason in err.
 */
int	mc_msg_parse(struct mc_msg *m, enum mc_dir dir, const char *buf,
	    size_t len, const char **code, char *err, size_t errlen);
void	mc_msg_free(struct mc_msg *m);
const char *mc_msg_name(enum mc_msg_type t);

/* Decoders fill the struct from a parsed message of that type: 0 or -1
 * with a reason (value out of range, too long) in err. */
int	mc_hello_decode(const struct mc_msg *m, struct mc_hello *h, char *err,
	    size_t errlen);
int	mc_welcome_decode(const struct mc_msg *m, struct mc_welcome *w,
	    char *err, size_t errlen);
int	mc_hb_decode(const struct mc_msg *m, struct mc_hb *hb, char *err,
	    size_t errlen);
int	mc_cmd_decode(const struct mc_msg *m, struct mc_cmd *c, char *err,
	    size_t errlen);
int	mc_started_decode(const struct mc_msg *m, struct mc_started *s,
	    char *err, size_t errlen);
int	mc_out_decode(const struct mc_msg *m, struct mc_out *o, char *err,
	    size_t errlen);
int	mc_result_decode(const struct mc_msg *m, struct mc_result *r,
	    char *err, size_t errlen);
int	mc_ack_decode(const struct mc_msg *m, struct mc_ack *a, char *err,
	    size_t errlen);
int	mc_bye_decode(const struct mc_msg *m, struct mc_bye *b, char *err,
	    size_t errlen);
int	mc_error_decode(const struct mc_msg *m, struct mc_error *e, char *err,
	    size_t errlen);
/* The piece is base64-decoded into buf (at least MC_BLOB_CHUNK bytes). */
int	mc_blob_decode(const struct mc_msg *m, struct mc_blob *b, void *buf,
	    char *err, size_t errlen);

/* Encoders append one whole message to b: 0, or -1 if b's limit is hit. */
int	mc_hello_encode(struct mc_buf *b, const struct mc_hello *h);
int	mc_welcome_encode(struct mc_buf *b, const struct mc_welcome *w);
int	mc_hb_encode(struct mc_buf *b, const struct mc_hb *hb);
int	mc_cmd_encode(struct mc_buf *b, const struct mc_cmd *c);
int	mc_started_encode(struct mc_buf *b, const struct mc_started *s);
int	mc_out_encode(struct mc_buf *b, const struct mc_out *o);
int	mc_result_encode(struct mc_buf *b, const struct mc_result *r);
int	mc_ack_encode(struct mc_buf *b, const struct mc_ack *a);
int	mc_bye_encode(struct mc_buf *b, const struct mc_bye *bye);
int	mc_error_encode(struct mc_buf *b, const struct mc_error *e);
int	mc_blob_encode(struct mc_buf *b, const struct mc_blob *blob);

/* Metrics as a JSON object value (shared by heartbeats and the API). */
void	mc_metrics_write(struct mc_jw *w, const char *key,
	    const struct mc_metrics *m);
int	mc_metrics_read(const struct mc_json *obj, struct mc_metrics *m,
	    char *err, size_t errlen);
/* Summary figures: CPU busy %, memory used %, fullest filesystem %. */
/* NAN when the sample has no CPU figure (has_cpu 0) */
double	mc_metrics_cpu_pct(const struct mc_metrics *m);
double	mc_metrics_mem_pct(const struct mc_metrics *m);
double	mc_metrics_disk_pct(const struct mc_metrics *m);
/* Hardware summaries, NAN when nothing reports them: the busiest GPU's
 * util %, the highest GPU memory used %, the hottest GPU and the hottest
 * CPU sensor in degrees Celsius. */
double	mc_metrics_gpu_util(const struct mc_metrics *m);
double	mc_metrics_gpu_mem_pct(const struct mc_metrics *m);
double	mc_metrics_gpu_temp(const struct mc_metrics *m);
double	mc_metrics_cpu_temp(const struct mc_metrics *m);
/* The busiest GPU (highest util, then hottest), or NULL when none. */
const struct mc_gpu *mc_metrics_busiest_gpu(const struct mc_metrics *m);
const char *mc_temp_kind_name(enum mc_temp_kind k);
/* m's GPUs as the array key, each as in a heartbeat (the hub repeats
 * them at the top of an agent's JSON). */
void	mc_metrics_gpus_write(struct mc_jw *w, const char *key,
	    const struct mc_metrics *m);

/* Command kinds by name ("shell", "docker_ps", ...). -1 if unknown. */
int		 mc_kind_parse(const char *s, enum mc_kind *out);
const char	*mc_kind_name(enum mc_kind k);
const char	*mc_outcome_name(enum mc_outcome o);
int		 mc_outcome_parse(const char *s, enum mc_outcome *out);

#endif
