/*
 * lst_update.c - the "listener_update" command: download a release of
 * the listener from the hub, check it, put it in place of the running
 * executable, answer done and restart into it.
 *
 * The download and checks run in a forked child (lst_exec.c), bounded by
 * the command's timeout; each step is a line of output.  Rules kept here:
 * - The file is written beside the running executable (l->self_exe) as
 *   EXE.new.PID, so the final rename is atomic on that filesystem; space
 *   for it is reserved before the download, so a full disk fails at once.
 * - Nothing replaces EXE before every check passed: the size (the HTTP
 *   Content-Length and the bytes read), the sha256, a static x86-64 ELF
 *   executable naming the release's version (mc_elf.h), and, when this
 *   listener trusts operator keys, a trusted key's signature over the
 *   release (mc_sign.h).  A listener without trust keys takes the hub's
 *   sha256 and says so.  Any failure before the swap removes the
 *   temporary file and leaves the running listener and EXE untouched.
 * - The swap: fsync and 0755, the running binary kept as EXE.prev (a hard
 *   link renamed over any older one), the rollback marker written
 *   (lst_rollback.c), then rename(EXE.new.PID, EXE).
 * - After a "done", the restart path (lst_cmd_restart.c) waits for the
 *   hub's ack and starts the new file; lst_rollback.c puts EXE.prev back
 *   if the new one is not welcomed in time.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lst.h"
#include "mc_elf.h"
#include "mc_log.h"
#include "mc_sign.h"

/* Where the files of one update go. */
struct upd_paths {
	char	exe[MC_PATH_MAX];
	char	dir[MC_PATH_MAX];
	char	tmp[MC_PATH_MAX + 32];		/* EXE.new.PID */
	char	prev[MC_PATH_MAX + 8];		/* EXE.prev */
	char	prev_tmp[MC_PATH_MAX + 32];	/* EXE.prev.PID */
};

void
lst_update_errtext(int e, char *out, size_t size)
{
	mc_strlcpy(out, strerror(e), size);
	/* "Read-only file system" reads better mid-sentence in lower case */
	if (out[0] >= 'A' && out[0] <= 'Z' && out[1] >= 'a' && out[1] <= 'z')
		out[0] = (char)(out[0] - 'A' + 'a');
}

static int
paths_make(const struct lst *l, pid_t pid, struct upd_paths *p)
{
	char copy[MC_PATH_MAX];
	int a, b, c;

	if (l->self_exe[0] == '\0')
		return -1;
	mc_strlcpy(p->exe, l->self_exe, sizeof(p->exe));
	mc_strlcpy(copy, p->exe, sizeof(copy));
	mc_strlcpy(p->dir, dirname(copy), sizeof(p->dir));
	a = snprintf(p->tmp, sizeof(p->tmp), "%s.new.%d", p->exe, (int)pid);
	b = snprintf(p->prev, sizeof(p->prev), "%s.prev", p->exe);
	c = snprintf(p->prev_tmp, sizeof(p->prev_tmp), "%s.prev.%d", p->exe,
	    (int)pid);
	return a < 0 || b < 0 || c < 0 || (size_t)a >= sizeof(p->tmp) ||
	    (size_t)b >= sizeof(p->prev) ||
	    (size_t)c >= sizeof(p->prev_tmp) ? -1 : 0;
}

/* The errno text, then what was being done: "read-only file system:
 * /usr/local/bin", "no space left on device writing FILE". */
static void
sys_fail(char *err, size_t errlen, int e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
sys_fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	lst_update_errtext(e, err, errlen);
	n = strlen(err);
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

/* ---- checks ---- */

/* The operator's signature over the release, when we trust keys. */
static int
check_sig(const struct lst *l, const struct mc_release *rel,
    const char *hex, char *err, size_t errlen)
{
	const struct mc_pubkey *k = NULL;
	unsigned char key[MC_KEY_RAW + 16], sig[MC_SIG_RAW + 16];
	char msg[256];
	long nk, ns;
	int i, n;

	if (l->conf.ntrust == 0) {
		lst_child_say("accepting release %s on the hub's sha256 alone (no trust "
		    "keys)", rel->version);
		return 0;
	}
	if (rel->key[0] == '\0' || rel->sig[0] == '\0') {
		snprintf(err, errlen, "unsigned release: this agent trusts "
		    "operator keys and installs only releases they signed");
		return -1;
	}
	nk = mc_b64_decode(rel->key, strlen(rel->key), key, sizeof(key));
	for (i = 0; i < l->conf.ntrust && k == NULL; i++)
		if (nk == MC_KEY_RAW &&
		    memcmp(l->conf.trust[i].raw, key, MC_KEY_RAW) == 0)
			k = &l->conf.trust[i];
	if (k == NULL) {
		snprintf(err, errlen, "bad signature: signed by a key this "
		    "agent does not trust");
		return -1;
	}
	ns = mc_b64_decode(rel->sig, strlen(rel->sig), sig, sizeof(sig));
	n = mc_release_msg(msg, sizeof(msg), rel->version, hex, rel->size);
	if (ns != MC_SIG_RAW || n < 0 || mc_ed25519_verify(k->raw,
	    MC_SIG_DOMAIN_RELEASE, msg, (size_t)n, sig) == -1) {
		snprintf(err, errlen, "bad signature");
		return -1;
	}
	lst_child_say("signature by %s verified", k->name[0] ? k->name :
	    "a trusted key");
	return 0;
}

/* The bytes of the download: sha256 (into hex), a static x86-64
 * executable naming the release's version. */
static int
check_bytes(const void *data, const struct mc_release *rel, char *hex,
    char *err, size_t errlen)
{
	char ver[MC_VERSION_TEXT_MAX];

	mc_sha256_hex(data, (size_t)rel->size, hex);
	if (strcasecmp(hex, rel->sha256) != 0) {
		snprintf(err, errlen, "sha256 mismatch: the download has %s, "
		    "the release says %s", hex, rel->sha256);
		return -1;
	}
	if (mc_elf_check(data, (size_t)rel->size, err, errlen) == -1)
		return -1;
	if (mc_elf_version(data, (size_t)rel->size, ver, sizeof(ver)) == -1) {
		snprintf(err, errlen, "the file names no listener version");
		return -1;
	}
	if (strcmp(ver, rel->version) != 0) {
		snprintf(err, errlen, "the file is version %s, the release "
		    "says %s", ver, rel->version);
		return -1;
	}
	return 0;
}

static int
check_file(const struct lst *l, int fd, const struct mc_release *rel,
    char *err, size_t errlen)
{
	char hex[MC_SHA256_HEX];
	void *data;
	int r;

	data = mmap(NULL, (size_t)rel->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (data == MAP_FAILED) {
		snprintf(err, errlen, "cannot read the download back: %s",
		    strerror(errno));
		return -1;
	}
	r = check_bytes(data, rel, hex, err, errlen);
	munmap(data, (size_t)rel->size);
	if (r == -1 || check_sig(l, rel, hex, err, errlen) == -1)
		return -1;
	lst_child_say("verified %s: %" PRIu64 " bytes, sha256 %s, static x86-64",
	    rel->version, rel->size, hex);
	return 0;
}

/* ---- the swap ---- */

/* Keep the running binary as EXE.prev: a link under a temporary name,
 * renamed over an older .prev. */
static int
keep_prev(const struct upd_paths *p, char *err, size_t errlen)
{
	unlink(p->prev_tmp);
	if (link(p->exe, p->prev_tmp) == -1) {
		sys_fail(err, errlen, errno, " keeping the running listener "
		    "as %s", p->prev);
		return -1;
	}
	if (rename(p->prev_tmp, p->prev) == -1) {
		sys_fail(err, errlen, errno, " renaming to %s", p->prev);
		unlink(p->prev_tmp);
		return -1;
	}
	return 0;
}

static int
install(const struct lst *l, int fd, const struct upd_paths *p,
    const struct mc_release *rel, char *err, size_t errlen)
{
	int dfd;

	if (fsync(fd) == -1) {
		sys_fail(err, errlen, errno, " writing %s", p->tmp);
		return -1;
	}
	if (fchmod(fd, 0755) == -1) {
		sys_fail(err, errlen, errno, " making %s executable", p->tmp);
		return -1;
	}
	if (keep_prev(p, err, errlen) == -1 ||
	    lst_rollback_mark(l, rel->version, p->exe, p->prev, err,
	    errlen) == -1)
		return -1;
	if (rename(p->tmp, p->exe) == -1) {
		sys_fail(err, errlen, errno, " replacing %s", p->exe);
		lst_rollback_unmark(l);
		return -1;
	}
	dfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	lst_child_say("installed %s as %s; the previous listener (%s) is kept as %s",
	    rel->version, p->exe, MC_VERSION, p->prev);
	return 0;
}

/* Reserve the whole file: a full disk fails now, not mid-download. */
static int
reserve(int fd, const struct upd_paths *p, uint64_t size, char *err,
    size_t errlen)
{
	int e = posix_fallocate(fd, 0, (off_t)size);

	if (e == 0 || e == EOPNOTSUPP || e == EINVAL)
		return 0;
	sys_fail(err, errlen, e, " writing %s (%" PRIu64 " bytes)", p->tmp,
	    size);
	return -1;
}

static int
update_child(struct lst *l, const struct mc_cmd *c)
{
	const struct mc_release *rel = &c->rel;
	char err[MC_TEXT_MAX];
	struct upd_paths p;
	int fd;

	if (paths_make(l, getpid(), &p) == -1)
		return lst_child_fail("this listener's own path is unknown or "
		    "too long");
	fd = open(p.tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		sys_fail(err, sizeof(err), errno, ": %s", p.dir);
		return lst_child_fail("%s", err);
	}
	lst_child_say("downloading %s (%" PRIu64 " bytes) from the hub into %s",
	    rel->version, rel->size, p.tmp);
	if (reserve(fd, &p, rel->size, err, sizeof(err)) == -1 ||
	    lst_fetch(l, rel->path, fd, p.tmp, rel->size, err,
	    sizeof(err)) == -1 ||
	    check_file(l, fd, rel, err, sizeof(err)) == -1 ||
	    install(l, fd, &p, rel, err, sizeof(err)) == -1) {
		close(fd);
		unlink(p.tmp);
		return lst_child_fail("%s", err);
	}
	close(fd);
	return 0;
}

/* ---- on the loop ---- */

static void
update_finish(struct lst_job *j, struct mc_result *r)
{
	struct upd_paths p;

	lst_exec_child_failed(j, r);
	if (r->outcome == MC_DONE && r->exit_code == 0) {
		lst_cmd_result(j->l, r);
		mc_info("command %s: update installed; restarting into it once "
		    "the hub has the result", j->id);
		lst_restart_after_ack(j->l, j->id);
		return;
	}
	/* a child killed by the timeout leaves its file; while that file is
	 * there the swap did not happen, so no marker may stay either */
	if (paths_make(j->l, j->pid, &p) == 0 && unlink(p.tmp) == 0)
		lst_rollback_unmark(j->l);
	lst_cmd_result(j->l, r);
}

void
lst_update_cmd(struct lst *l, const struct mc_cmd *c)
{
	struct lst_spawn s;
	char err[MC_TEXT_MAX];

	if (c->rel.size == 0 || c->rel.path[0] != '/') {
		lst_cmd_fail(l, c->id, "listener_update needs a release with "
		    "a size and a path on the hub");
		return;
	}
	mc_info("command %s: updating this listener (%s) to %s", c->id,
	    MC_VERSION, c->rel.version);
	memset(&s, 0, sizeof(s));
	s.fn = update_child;
	s.sink = LST_SINK_STREAM;
	s.finish = update_finish;
	if (lst_exec_spawn(l, c, &s, err, sizeof(err)) == -1)
		lst_cmd_fail(l, c->id, err);
}
