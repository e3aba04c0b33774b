/*
 * mc_limits.h - every size and count limit of Maestro, named in one place.
 *
 * Going over a limit closes or refuses the one peer that did it and is
 * logged; it never aborts a program.  Changing a limit that the other side
 * relies on (anything marked "protocol") means bumping MC_PROTO_VERSION.
 */
#ifndef MC_LIMITS_H
#define MC_LIMITS_H

/* protocol: one WebSocket message after reassembly of its fragments */
#define MC_MSG_MAX		(256 * 1024)
/* protocol: one chunk of command output inside an "out" message */
#define MC_OUT_CHUNK		(16 * 1024)
/* protocol: agent names, tags */
#define MC_NAME_MAX		64
#define MC_TAGS_MAX		16
#define MC_TAG_MAX		32
/* protocol: the command line of a shell command */
#define MC_CMD_MAX		8192
/* protocol: metrics entries per heartbeat */
#define MC_FS_MAX		32
#define MC_NET_MAX		32
#define MC_MOUNT_MAX		128
#define MC_IFACE_MAX		32
/* protocol: GPUs, temperature sensors and fans per heartbeat, and their
 * names (a GPU's uuid is 40 bytes on NVIDIA) */
#define MC_GPU_MAX		16
#define MC_TEMP_MAX		64
#define MC_FAN_MAX		32
#define MC_GPU_NAME_MAX		64
#define MC_GPU_UUID_MAX		64
#define MC_SENSOR_NAME_MAX	64
/* protocol: an image reference ("registry:5000/team/web:1.4") */
#define MC_IMAGE_MAX		256
/* protocol: the largest listener release, bytes */
#define MC_RELEASE_MAX		(64 * 1024 * 1024)
/* protocol: command ids a listener lists in hello as still held */
#define MC_PENDING_MAX		64
/* protocol: raw bytes of a file (screenshot) in one "blob" message; base64
 * makes it 4/3 larger, well inside MC_MSG_MAX */
#define MC_BLOB_CHUNK		(96 * 1024)
/* protocol: the largest file a command may return */
#define MC_BLOB_MAX		(32 * 1024 * 1024)
/* protocol: short descriptive strings (os, kernel, reason, error) */
#define MC_TEXT_MAX		256

/* HTTP request body accepted by the hub's API */
#define MC_BODY_MAX		(64 * 1024)
/* HTTP: a fan-out's body, which holds a signed envelope per agent (an
 * operator's POST /api/commands only) */
#define MC_FANOUT_BODY_MAX	(8 * 1024 * 1024)
/* command output kept per command unless the request asks for less */
#define MC_OUTPUT_CAP_DEFAULT	(1024 * 1024)
#define MC_OUTPUT_CAP_MAX	(16 * 1024 * 1024)
/* shell timeout, seconds */
#define MC_TIMEOUT_DEFAULT	60
#define MC_TIMEOUT_MAX		(7 * 24 * 3600)
/* bytes queued towards one peer before it is considered stuck and dropped */
#define MC_PEER_QUEUE_MAX	(4 * 1024 * 1024)
/* agents one hub holds in memory */
#define MC_AGENTS_MAX		200000
/* commands kept in the hub's memory (running plus recently finished) */
#define MC_CMDS_LIVE_MAX	65536
/* running commands per listener */
#define MC_LST_RUNNING_MAX	16
/* JSON nesting accepted by the parser */
#define MC_JSON_DEPTH_MAX	32
/* one configuration line */
#define MC_CONF_LINE_MAX	4096
/* a config file, whole */
#define MC_CONF_FILE_MAX	(1024 * 1024)
/* listener reconnect backoff cap, seconds */
#define MC_BACKOFF_CAP		60
/* path names we build */
#define MC_PATH_MAX		1024
/* alert messages waiting per channel (hub_notify.c); past it a new one
 * fails at once with "queue full" */
#define MC_ALERT_QUEUE_MAX	256
/* silences running at once, threshold rules in the hub config */
#define MC_SILENCES_MAX		1000
/* Web Push subscriptions (hub_push.c): per token (a few devices each),
 * and in all */
#define MC_PUSH_SUBS_PER_TOKEN	10
#define MC_PUSH_SUBS_MAX	1000
#define MC_RULES_MAX		64
/* the longest silence, seconds */
#define MC_SILENCE_MAX_SECS	(30 * 86400)

#endif
