/*
 * lst_cred.c - the state directory and the agent's credential.
 *
 * The credential the hub issues on enrollment is the agent's identity:
 * it is kept in STATE_DIR/credential with mode 0600 in a 0700 directory,
 * written (atomically, fsync'd) before it is used, and never logged.
 * Once it exists the enrollment key is no longer sent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lst.h"
#include "mc_buf.h"
#include "mc_log.h"
#include "mc_util.h"

/* $HOME, else /etc/passwd; NULL if neither knows. */
static const char *
home_dir(char *buf, size_t size)
{
	const char *h = getenv("HOME");

	if (h != NULL && h[0] == '/')
		return h;
	return lst_user_home(getuid(), buf, size) == 0 ? buf : NULL;
}

static int
state_dir_pick(struct lst *l, char *err, size_t errlen)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home;
	struct lst_conf *c = &l->conf;
	char buf[MC_PATH_MAX];
	int n;

	if (c->state_dir[0] != '\0')
		return 0;
	if (geteuid() == 0) {
		mc_strlcpy(c->state_dir, LST_STATE_ROOT, sizeof(c->state_dir));
		return 0;
	}
	home = home_dir(buf, sizeof(buf));
	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(c->state_dir, sizeof(c->state_dir),
		    "%s/maestro-listener", xdg);
	else if (home != NULL)
		n = snprintf(c->state_dir, sizeof(c->state_dir),
		    "%s/.local/state/maestro-listener", home);
	else {
		snprintf(err, errlen, "no state directory: set HOME or pass "
		    "--state-dir DIR");
		return -1;
	}
	if (n < 0 || (size_t)n >= sizeof(c->state_dir)) {
		snprintf(err, errlen, "state directory path too long");
		return -1;
	}
	return 0;
}

/* 1 loaded into the hello, 0 no credential yet, -1 error (in err). */
static int
cred_load(struct lst *l, char *err, size_t errlen)
{
	struct stat st;
	char *text, *t;
	int r = -1;

	if (stat(l->cred_path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", l->cred_path, strerror(errno));
		return -1;
	}
	if ((st.st_mode & 077) != 0)
		mc_warn("%s is readable by other users; chmod 600 it",
		    l->cred_path);
	text = mc_read_file(l->cred_path, MC_SECRET_MAX, NULL);
	if (text == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", l->cred_path,
		    errno == EFBIG ? "too long to be a credential" :
		    strerror(errno));
		return -1;
	}
	t = mc_trim(text);
	if (*t == '\0' || mc_strlcpy(l->hello.cred, t,
	    sizeof(l->hello.cred)) == -1)
		snprintf(err, errlen, "%s does not hold a credential; remove "
		    "it and enroll again with --enroll-key", l->cred_path);
	else
		r = 1;
	explicit_bzero(text, strlen(text));
	free(text);
	return r;
}

int
lst_cred_setup(struct lst *l, int *code, char *err, size_t errlen)
{
	int r;

	*code = 2;
	if (state_dir_pick(l, err, errlen) == -1)
		return -1;
	*code = 1;
	if (mc_mkdir_p(l->conf.state_dir, 0700) == -1) {
		snprintf(err, errlen, "cannot create state directory %s: %s",
		    l->conf.state_dir, strerror(errno));
		return -1;
	}
	r = snprintf(l->cred_path, sizeof(l->cred_path), "%s/%s",
	    l->conf.state_dir, LST_CRED_FILE);
	if (r < 0 || (size_t)r >= sizeof(l->cred_path)) {
		snprintf(err, errlen, "state directory path too long");
		return -1;
	}
	r = cred_load(l, err, errlen);
	if (r == -1)
		return -1;
	if (r == 1)
		return 0;
	if (l->conf.enroll_key[0] == '\0') {
		*code = 2;
		snprintf(err, errlen, "not enrolled: pass --enroll-key KEY "
		    "(from `hubctl enroll-key create`)");
		return -1;
	}
	mc_strlcpy(l->hello.enroll_key, l->conf.enroll_key,
	    sizeof(l->hello.enroll_key));
	return 0;
}

/* Is this config line "enroll_key = ..."? */
static int
is_key_line(const char *line, size_t n)
{
	static const char k[] = "enroll_key";

	while (n > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		n--;
	}
	if (n < sizeof(k) - 1 || memcmp(line, k, sizeof(k) - 1) != 0)
		return 0;
	line += sizeof(k) - 1;
	n -= sizeof(k) - 1;
	while (n > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		n--;
	}
	return n > 0 && *line == '=';
}

/*
 * Enrolled: the key has done its work, so it leaves the config file (a
 * multi-use key left on every disk could enroll impostors).  The file is
 * rewritten atomically with its mode and owner; a failure only warns,
 * since the credential is what counts from now on.
 */
static void
forget_key(const struct lst *l)
{
	char *text, *p, *nl;
	struct mc_buf out;
	struct stat st;
	size_t len, n;
	int found = 0;

	if (l->conf_path[0] == '\0' || stat(l->conf_path, &st) == -1 ||
	    (text = mc_read_file(l->conf_path, MC_CONF_FILE_MAX, &len)) ==
	    NULL)
		return;
	mc_buf_init(&out, MC_CONF_FILE_MAX);
	for (p = text; p < text + len; p += n) {
		nl = memchr(p, '\n', (size_t)(text + len - p));
		n = nl ? (size_t)(nl - p) + 1 : (size_t)(text + len - p);
		if (is_key_line(p, n))
			found = 1;
		else
			mc_buf_append(&out, p, n);
	}
	if (found && (mc_write_file(l->conf_path, out.data ? out.data : "",
	    out.len, st.st_mode & 07777) == -1 ||
	    chown(l->conf_path, st.st_uid, st.st_gid) == -1))
		mc_warn("enrolled, but cannot remove enroll_key from %s: %s; "
		    "remove it by hand", l->conf_path, strerror(errno));
	else if (found)
		mc_info("enroll_key removed from %s", l->conf_path);
	explicit_bzero(text, len);
	free(text);
	if (out.data)
		explicit_bzero(out.data, out.len);
	mc_buf_free(&out);
}

int
lst_cred_save(struct lst *l, const char *cred)
{
	char text[MC_SECRET_MAX + 1];
	int n = snprintf(text, sizeof(text), "%s\n", cred);

	if (n < 0 || (size_t)n >= sizeof(text) ||
	    mc_write_file(l->cred_path, text, (size_t)n, 0600) == -1) {
		mc_err("cannot store the credential the hub issued in %s: %s",
		    l->cred_path, n < 0 || (size_t)n >= sizeof(text) ?
		    "too long" : strerror(errno));
		explicit_bzero(text, sizeof(text));
		return -1;
	}
	explicit_bzero(text, sizeof(text));
	mc_strlcpy(l->hello.cred, cred, sizeof(l->hello.cred));
	explicit_bzero(l->hello.enroll_key, sizeof(l->hello.enroll_key));
	mc_info("enrolled: credential stored in %s; --enroll-key is no longer "
	    "needed", l->cred_path);
	forget_key(l);
	return 0;
}
