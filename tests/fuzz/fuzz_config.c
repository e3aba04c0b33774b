/*
 * fuzz_config.c - libFuzzer target: arbitrary text as a config file
 * through mc_conf_parse() with a table of every option type.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mc_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct settings {
	char	s[64];
	int	i;
	double	d, dur;
	int	b;
};

static const struct mc_opt opts[] = {
	{ "s", MC_OPT_STR, offsetof(struct settings, s), 64, 0, 0, NULL },
	{ "i", MC_OPT_INT, offsetof(struct settings, i), 0, -5, 5000, NULL },
	{ "d", MC_OPT_DBL, offsetof(struct settings, d), 0, 0, 1e6, NULL },
	{ "dur", MC_OPT_DUR, offsetof(struct settings, dur), 0, 0, 1e6, NULL },
	{ "b", MC_OPT_BOOL, offsetof(struct settings, b), 0, 0, 1, NULL },
	MC_OPT_END
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct settings st;
	char err[512], *text;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&st, 0, sizeof(st));
	mc_conf_parse("fuzz.conf", text, opts, &st, NULL, NULL, NULL, err,
	    sizeof(err));
	free(text);
	return 0;
}
