/*
 * fuzz_json.c - libFuzzer target: arbitrary bytes through mc_json_parse()
 * (the scan in front of cJSON, cJSON, the conversion), then the tree back
 * out through the mc_jw writer and in again.  A crash, a leak, a
 * sanitizer report, a tree deeper than MC_JSON_DEPTH_MAX, a string whose
 * length disagrees with its bytes, or writer output the reader refuses or
 * reads as another shape is a bug (abort).
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mc_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every value of j (inside depth containers) written with w; checks what
 * the reader promises. */
static void
write_tree(struct mc_jw *w, const struct mc_json *j, int depth)
{
	const struct mc_json *c;

	switch (j->type) {
	case MC_JNULL:
		mc_jw_null(w, j->key);
		break;
	case MC_JBOOL:
		mc_jw_bool(w, j->key, j->num != 0);
		break;
	case MC_JNUM:
		/* %.15g rounds a number near the ends of a double's range
		 * to one strtod calls out of range: not written here */
		mc_jw_dbl(w, j->key, fabs(j->num) < 1e300 &&
		    (j->num == 0 || fabs(j->num) > 1e-300) ? j->num : 0);
		break;
	case MC_JSTR:
		/* NUL-terminated after len bytes; NULs inside only from
		 * \u0000, which the writer sends back as \u0000 */
		if (j->str[j->len] != '\0')
			abort();
		mc_jw_strn(w, j->key, j->str, j->len);
		break;
	case MC_JARR:
	case MC_JOBJ:
		if (depth + 1 > MC_JSON_DEPTH_MAX)
			abort();
		if (j->type == MC_JARR)
			mc_jw_arr(w, j->key);
		else
			mc_jw_obj(w, j->key);
		for (c = j->child; c != NULL; c = c->next)
			write_tree(w, c, depth + 1);
		if (j->type == MC_JARR)
			mc_jw_arr_end(w);
		else
			mc_jw_obj_end(w);
		break;
	}
}

/* Same types and container sizes (strings may differ: the writer
 * replaces invalid UTF-8). */
static void
same_shape(const struct mc_json *a, const struct mc_json *b)
{
	const struct mc_json *x, *y;

	if (a->type != b->type)
		abort();
	if (a->type == MC_JARR || a->type == MC_JOBJ) {
		if (a->len != b->len)
			abort();
		for (x = a->child, y = b->child; x != NULL && y != NULL;
		    x = x->next, y = y->next)
			same_shape(x, y);
		if (x != NULL || y != NULL)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mc_jdoc *d, *again;
	struct mc_buf b;
	struct mc_jw w;
	char err[256];

	d = mc_json_parse((const char *)data, size, err, sizeof(err));
	if (d == NULL)
		return 0;
	mc_buf_init(&b, size * 8 + 64);
	mc_jw_init(&w, &b);
	write_tree(&w, mc_json_root(d), 0);
	if (mc_jw_done(&w) == 0) {
		again = mc_json_parse(b.data, b.len, err, sizeof(err));
		if (again == NULL)
			abort();
		same_shape(mc_json_root(d), mc_json_root(again));
		mc_json_free(again);
	}
	mc_buf_free(&b);
	mc_json_free(d);
	return 0;
}
