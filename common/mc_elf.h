/*
 * mc_elf.h - what a listener release must be: a fully static x86-64 ELF
 * executable that names its version (MC_VERSION_MARK, mc_sign.h).  The
 * hub checks an upload, hubctl a file before it signs it, and the
 * listener a download before it runs it.
 */
#ifndef MC_ELF_H
#define MC_ELF_H

#include <stddef.h>

/* 0 when data is a static x86-64 ELF executable (no program interpreter,
 * no dynamic section); -1 with what it is instead in err. */
int	mc_elf_check(const void *data, size_t len, char *err, size_t errlen);
/* The version a listener binary carries, into out (at least
 * MC_VERSION_TEXT_MAX bytes): 0, or -1 when it names none. */
int	mc_elf_version(const void *data, size_t len, char *out, size_t size);
/* Is s a version as `make VERSION=` takes it (1 to 31 of
 * [0-9A-Za-z.+~-], starting with a letter or digit)? */
int	mc_version_valid(const char *s);

#endif
