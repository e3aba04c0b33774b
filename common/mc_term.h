/*
 * mc_term.h - terminal sessions on the wire: the limits, the binary data
 * frame and the JSON control messages (term_*) shared by the three
 * programs.  docs/protocol.md ("Terminal sessions") describes them for
 * people; this header and mc_proto_term.c define them.
 *
 * On the agent's one connection a session is a channel number the hub
 * picks.  Control travels as JSON text messages like every other message;
 * the bytes typed and printed travel in binary WebSocket messages, so
 * output costs neither base64 nor JSON escaping:
 *
 *	byte 0		MC_TERM_DATA
 *	bytes 1-4	the channel, big-endian
 *	bytes 5-	up to MC_TERM_CHUNK bytes of data
 *
 * Flow control is by window, as in SSH: a sender has at most
 * MC_TERM_WINDOW bytes of one session's data sent and not yet acknowledged
 * (term_ack), and stops reading its source (the PTY, the client) while it
 * has.  So no buffer anywhere grows past a window per session, whatever a
 * program prints or a user pastes.
 */
#ifndef MC_TERM_H
#define MC_TERM_H

#include <stddef.h>
#include <stdint.h>

#include "mc_buf.h"
#include "mc_proto.h"

#define MC_TERM_DATA		0x01	/* the binary frame's type byte */
#define MC_TERM_HDR		5	/* type + channel */
#define MC_TERM_CHUNK		(16 * 1024)	/* data bytes in one frame */
#define MC_TERM_WINDOW		(256 * 1024)	/* unacknowledged bytes */
#define MC_TERM_SESSIONS_MAX	4	/* per agent */
#define MC_TERM_DIM_MAX		1000	/* columns, rows */
#define MC_TERM_CH_MAX		0x7fffffff
#define MC_TERM_IDLE_DEFAULT	(30 * 60)	/* seconds without a byte */

/* Why a session ended (term_end's "reason"). */
enum mc_term_reason {
	MC_TERM_EXIT,		/* the shell exited; exit is its status */
	MC_TERM_CLOSED,		/* the hub closed it (the user left) */
	MC_TERM_IDLE,		/* no byte either way for terminal_idle */
	MC_TERM_REFUSED,	/* not allowed, too many, not supported */
	MC_TERM_FAILED,		/* could not start; error says why */
	MC_TERM_REASON_COUNT
};

/* Every term_* message in one struct; each type uses the fields its
 * documentation names and leaves the rest zero. */
struct mc_term {
	uint32_t		 ch;		/* all */
	char			 sid[MC_ID_MAX];	/* open: the hub's id */
	int			 cols, rows;	/* open, resize */
	int			 pid;		/* started */
	uint64_t		 n;		/* ack: bytes taken */
	enum mc_term_reason	 reason;	/* end */
	int			 exit_code;	/* end, MC_TERM_EXIT */
	char			 error[MC_TEXT_MAX];	/* end */
	/* open: the operator's signature, kind "terminal" (mc_sign.h);
	 * encode only, a decoder reads it with mc_sig_read */
	const struct mc_sig	*sig;
};

/* Append one term_* message of type t (MC_MSG_TERM_*) to b: 0, or -1
 * when b's limit is hit. */
int	mc_term_encode(struct mc_buf *b, enum mc_msg_type t,
	    const struct mc_term *m);
/* Fill m from a parsed term_* message: 0, or -1 with a reason in err. */
int	mc_term_decode(const struct mc_msg *msg, struct mc_term *m, char *err,
	    size_t errlen);

const char	*mc_term_reason_name(enum mc_term_reason r);

/* Write a data frame's header for channel ch into hdr (MC_TERM_HDR
 * bytes); the data follows it. */
void	mc_term_frame(unsigned char hdr[MC_TERM_HDR], uint32_t ch);
/* Read a binary message as a data frame: 0 with the channel and the data
 * (pointing into p), or -1 (not a data frame, a bad channel, or more than
 * MC_TERM_CHUNK bytes). */
int	mc_term_unframe(const unsigned char *p, size_t len, uint32_t *ch,
	    const unsigned char **data, size_t *dlen);

#endif
