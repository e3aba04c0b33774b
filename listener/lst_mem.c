/*
 * lst_mem.c - give back the image pages that starting up touched.
 *
 * The listener is one static image of about 4.7 MiB.  Starting (OpenSSL's
 * initialisation, enrollment, the TLS handshake) runs code spread over
 * most of it, and the kernel maps the pages around every page fault
 * (fault-around, 64 KiB), so after a start nearly the whole image counts
 * as resident although a heartbeat needs a small part of it.
 *
 * Once the hub has welcomed us we drop our mappings of the read-only part
 * of the image, code and constants, with MADV_DONTNEED.  Those pages are
 * clean copies of the file, so nothing is lost: what the loop still runs
 * faults back in from the page cache.  The kernel does the same with its
 * own __init sections after boot.  The writable segment is left alone;
 * dropping a page there would throw away what the program wrote to it.
 */

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lst.h"
#include "mc_log.h"

/* from ld's default script: the image's first byte, and the start of its
 * writable segment (.tdata and .init_array open it) */
extern char __executable_start[];
extern char __init_array_start[];

void
lst_mem_trim(void)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = (uintptr_t)__executable_start & ~(page - 1);
	uintptr_t hi = (uintptr_t)__init_array_start & ~(page - 1);

	if (hi <= lo)
		return;
	if (madvise((void *)lo, hi - lo, MADV_DONTNEED) == -1)
		mc_debug("madvise(image): %m; start-up pages stay resident");
}
