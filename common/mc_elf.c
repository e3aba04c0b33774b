/*
 * mc_elf.c - check a listener release: a static x86-64 executable that
 * carries its version.  Reads the ELF headers by hand (elf.h's structs),
 * every offset checked against the file's length first.
 */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mc_elf.h"
#include "mc_sign.h"

static int
version_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || c == '.' || c == '+' || c == '~' ||
	    c == '-';
}

int
mc_version_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!version_char(s[i]) || i + 1 >= MC_VERSION_TEXT_MAX)
			return 0;
	return i > 0 && s[0] != '.' && s[0] != '-' && s[0] != '+' &&
	    s[0] != '~';
}

static const char *
machine_name(unsigned m)
{
	switch (m) {
	case EM_386:		return "i386";
	case EM_ARM:		return "arm";
	case EM_AARCH64:	return "aarch64";
	case EM_RISCV:		return "riscv";
	case EM_PPC64:		return "ppc64";
	default:		return "another architecture";
	}
}

/* Program headers: refuse an interpreter or a dynamic section. */
static int
check_phdrs(const unsigned char *p, size_t len, const Elf64_Ehdr *eh,
    char *err, size_t errlen)
{
	Elf64_Phdr ph;
	size_t i, off;

	if (eh->e_phentsize != sizeof(ph) || eh->e_phoff > len ||
	    (len - eh->e_phoff) / sizeof(ph) < eh->e_phnum) {
		snprintf(err, errlen, "truncated or corrupt ELF program "
		    "headers");
		return -1;
	}
	for (i = 0; i < eh->e_phnum; i++) {
		off = (size_t)eh->e_phoff + i * sizeof(ph);
		memcpy(&ph, p + off, sizeof(ph));
		if (ph.p_type == PT_INTERP || ph.p_type == PT_DYNAMIC) {
			snprintf(err, errlen, "a dynamically linked program "
			    "(the listener must be one static file)");
			return -1;
		}
	}
	return 0;
}

int
mc_elf_check(const void *data, size_t len, char *err, size_t errlen)
{
	const unsigned char *p = data;
	Elf64_Ehdr eh;

	if (len < EI_NIDENT || memcmp(p, ELFMAG, SELFMAG) != 0) {
		snprintf(err, errlen, "not an ELF executable");
		return -1;
	}
	if (p[EI_CLASS] != ELFCLASS64 || p[EI_DATA] != ELFDATA2LSB ||
	    len < sizeof(eh)) {
		snprintf(err, errlen, "not a 64-bit little-endian ELF file "
		    "(x86-64 needed)");
		return -1;
	}
	memcpy(&eh, p, sizeof(eh));
	if (eh.e_machine != EM_X86_64) {
		snprintf(err, errlen, "built for %s, not x86-64",
		    machine_name(eh.e_machine));
		return -1;
	}
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
		snprintf(err, errlen, "an ELF file that is not an executable");
		return -1;
	}
	return check_phdrs(p, len, &eh, err, errlen);
}

int
mc_elf_version(const void *data, size_t len, char *out, size_t size)
{
	static const char mark[] = MC_VERSION_MARK;
	const unsigned char *p = data, *end = p + len, *hit;
	size_t mlen = sizeof(mark) - 1, n;

	/* the mark also appears in the code that looks for it: only a mark
	 * followed by a valid version and its NUL counts */
	while ((size_t)(end - p) > mlen &&
	    (hit = memmem(p, (size_t)(end - p), mark, mlen)) != NULL) {
		p = hit + mlen;
		for (n = 0; p + n < end && n < MC_VERSION_TEXT_MAX &&
		    version_char((char)p[n]); n++)
			;
		if (n > 0 && p + n < end && p[n] == '\0' && n < size) {
			memcpy(out, p, n);
			out[n] = '\0';
			if (mc_version_valid(out))
				return 0;
		}
	}
	out[0] = '\0';
	return -1;
}
