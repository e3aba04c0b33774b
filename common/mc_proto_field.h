/*
 * mc_proto_field.h - what the protocol's files share and nobody else
 * needs: reading one checked field of a message, and a message's frame.
 */
#ifndef MC_PROTO_FIELD_H
#define MC_PROTO_FIELD_H

#include <stddef.h>
#include <stdint.h>

#include "mc_json.h"
#include "mc_proto.h"

/* Each reads field key of o into *out (def when absent) and returns 0, or
 * -1 with "field 'key' must be ..." in err. */
int	mc_field_text(const struct mc_json *o, const char *key, char *dst,
	    size_t size, int required, char *err, size_t errlen);
int	mc_field_int(const struct mc_json *o, const char *key, int64_t min,
	    int64_t max, int64_t def, int64_t *out, char *err, size_t errlen);
int	mc_field_dbl(const struct mc_json *o, const char *key, double min,
	    double max, double def, double *out, char *err, size_t errlen);
int	mc_field_u64(const struct mc_json *o, const char *key, uint64_t *out,
	    char *err, size_t errlen);
/* A command id: required, at most MC_ID_MAX - 1 bytes. */
int	mc_field_id(const struct mc_json *o, char *id, char *err,
	    size_t errlen);

/* The hardware arrays of a metrics object (mc_metrics_hw.c): written
 * into the object w has open, read from the object o. */
void	mc_metrics_hw_write(struct mc_jw *w, const struct mc_metrics *m);
int	mc_metrics_hw_read(const struct mc_json *o, struct mc_metrics *m,
	    char *err, size_t errlen);

/* {"t":"NAME", ... : open a message of type t in b, then close it; 0 or
 * -1 when b's limit was hit. */
void	mc_msg_begin(struct mc_jw *w, struct mc_buf *b, enum mc_msg_type t);
int	mc_msg_end(struct mc_jw *w);

#endif
