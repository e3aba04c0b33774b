/*
 * mc_ctr.h - containers on the wire: the heartbeat's "ctr" part, which
 * the listener fills from the Docker Engine's event stream.  The first
 * heartbeat of a connection carries every container ("full"), the others
 * only those that changed since the last one sent, plus counts by state,
 * so a machine with forty idle containers costs a few bytes a beat.
 * docs/protocol.md ("Containers") describes it for people; this header
 * and mc_proto_ctr.c define it.
 */
#ifndef MC_CTR_H
#define MC_CTR_H

#include <stddef.h>
#include <stdint.h>

#include "mc_json.h"
#include "mc_proto.h"

#define MC_CTR_MAX		256	/* containers one listener reports */
#define MC_CTR_ID_LEN		12	/* the short id: 12 hex digits */
#define MC_CTR_NAME_MAX		128
#define MC_CTR_IMAGE_MAX	MC_IMAGE_MAX
#define MC_CTR_DIGEST_MAX	80	/* "sha256:" and 64 hex digits */

/* The engine's State.Status words, in this order. */
enum mc_ctr_state {
	MC_CTR_CREATED, MC_CTR_RUNNING, MC_CTR_PAUSED, MC_CTR_RESTARTING,
	MC_CTR_REMOVING, MC_CTR_EXITED, MC_CTR_DEAD, MC_CTR_STATE_COUNT
};

/* State.Health.Status; NONE when the image has no HEALTHCHECK. */
enum mc_ctr_health {
	MC_CTR_HEALTH_NONE, MC_CTR_STARTING, MC_CTR_HEALTHY, MC_CTR_UNHEALTHY,
	MC_CTR_HEALTH_COUNT
};

/*
 * One container.  A figure not known is NAN (cpu, mem) or 0 (started,
 * finished: unix seconds); exit_code is -1 until it has exited once.
 */
struct mc_ctr {
	char		id[MC_CTR_ID_LEN + 1];
	int		gone;			/* removed: only id counts */
	char		name[MC_CTR_NAME_MAX];	/* without the leading '/' */
	char		image[MC_CTR_IMAGE_MAX];	/* as it was created with */
	char		image_id[MC_CTR_DIGEST_MAX];	/* the image it runs */
	char		digest[MC_CTR_DIGEST_MAX];	/* its registry digest, if
							 * it came from one */
	char		latest[MC_CTR_DIGEST_MAX];	/* what the registry has
							 * for image now, when
							 * checked; "" not yet */
	enum mc_ctr_state  state;
	enum mc_ctr_health health;
	char		health_log[MC_TEXT_MAX];	/* the last failed check */
	int		restarts;		/* RestartCount */
	double		started, finished;
	int		exit_code;
	int		oom;			/* the last exit: OOM-killed */
	int		stopped;		/* the last exit followed a stop
						 * request (docker stop, Maestro) */
	int		alert;			/* 0: label maestro.alert=false */
	int		auto_update;		/* label maestro.update=auto */
	double		cpu;			/* percent of one core */
	double		mem;			/* bytes */
};

/* The part's head: counts by state (every container, not only those
 * listed) and whether the list is the whole set. */
struct mc_ctr_head {
	int		full;
	int		n[MC_CTR_STATE_COUNT];
	int		unhealthy;
};

/* What a heartbeat carries: encode writes it when set (mc_hb.ctr). */
struct mc_ctr_part {
	struct mc_ctr_head	 head;
	int			 nlist;
	const struct mc_ctr	*const *list;	/* not owned: nlist of them */
};

const char	*mc_ctr_state_name(enum mc_ctr_state s);
const char	*mc_ctr_health_name(enum mc_ctr_health h);
int		 mc_ctr_state_parse(const char *s, enum mc_ctr_state *out);
int		 mc_ctr_health_parse(const char *s, enum mc_ctr_health *out);

/* A container with nothing known yet (exit -1, cpu and mem NAN). */
void	mc_ctr_init(struct mc_ctr *c);
/* A container's fields but gone and alert into w's open object (the
 * hub's API adds its own beside them). */
void	mc_ctr_fields(struct mc_jw *w, const struct mc_ctr *c);
/* One container as a JSON object (key NULL inside an array). */
void	mc_ctr_write(struct mc_jw *w, const char *key, const struct mc_ctr *c);
int	mc_ctr_read(const struct mc_json *o, struct mc_ctr *c, char *err,
	    size_t errlen);
/* The "ctr" part of a heartbeat into w's open object. */
void	mc_ctr_part_write(struct mc_jw *w, const struct mc_ctr_part *p);
/*
 * A decoded heartbeat's "ctr" part: 1 with its head and *list (the array
 * of containers, each read with mc_ctr_read), 0 when it has none (no
 * Docker on that machine, or a listener older than containers), -1 when
 * it is malformed (err).
 */
int	mc_hb_ctr(const struct mc_msg *m, struct mc_ctr_head *head,
	    const struct mc_json **list, char *err, size_t errlen);

#endif
