/*
 * ctl_key.c - the operator's signing keys: "hubctl key create|list" and
 * loading the key "send" and "term" sign with (ctl_sign.c).
 *
 * A key is an Ed25519 pair in the keys directory ($XDG_CONFIG_HOME/maestro
 * /keys, else ~/.config/maestro/keys, mode 0700): NAME.key, the private
 * key as PKCS#8 PEM (mode 0600; AES-256 encrypted when a passphrase is
 * given), and NAME.pub, the one line "ed25519:BASE64 NAME" a listener's
 * "trust =" takes.  Rules kept here:
 * - A key is never overwritten: both files are made with link(2), which
 *   fails on an existing name, from a complete temporary file.
 * - A passphrase never comes from the command line (where ps would show
 *   it): MAESTRO_KEY_PASSPHRASE, --passphrase-file, else the terminal
 *   without echo; it is wiped after use.
 * - A private key readable by others is refused, as ssh does: it may
 *   already be someone else's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "ctl_key.h"
#include "mc_util.h"

#define PEM_ENCRYPTED	"-----BEGIN ENCRYPTED PRIVATE KEY-----"
#define PASS_ENV	"MAESTRO_KEY_PASSPHRASE"

/* Clear a secret in a way the compiler may not drop. */
static void
wipe(void *p, size_t n)
{
	volatile char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

/* A key name is also a file name: letters, digits, '.', '_', '-', not
 * starting with '.' or '-'. */
static int
name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > MC_NAME_MAX || s[0] == '.' || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || strchr("._-", s[i])))
			return 0;
	return 1;
}

/* The keys directory, as hubctl.conf's is found.  0 or -1 (said). */
static int
key_dir(char *out, size_t size)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;

	if (xdg != NULL && *xdg == '/')
		n = snprintf(out, size, "%s/maestro/keys", xdg);
	else if (home != NULL && *home != '\0')
		n = snprintf(out, size, "%s/.config/maestro/keys", home);
	else {
		fprintf(stderr, "hubctl: neither XDG_CONFIG_HOME nor HOME is "
		    "set, so there is no keys directory\n");
		return -1;
	}
	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "hubctl: the keys directory's path is too "
		    "long\n");
		return -1;
	}
	return 0;
}

/* DIR/NAME.EXT into out: 0, or -1 (said) if it does not fit. */
static int
key_file(char *out, size_t size, const char *dir, const char *name,
    const char *ext)
{
	int n = snprintf(out, size, "%s/%s.%s", dir, name, ext);

	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "hubctl: key path too long\n");
		return -1;
	}
	return 0;
}

/* ---- passphrases ---- */

/* Read a passphrase file into pass (its one line, without the line
 * end).  0, or -1 (said). */
static int
pass_from_file(const char *file, char *pass, size_t size)
{
	size_t len = 0;
	char *text = mc_read_file(file, size - 1, &len);

	if (text == NULL) {
		fprintf(stderr, "hubctl: cannot read passphrase file %s: "
		    "%s\n", file, errno == EFBIG ? "longer than a passphrase "
		    "may be" : strerror(errno));
		return -1;
	}
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	memcpy(pass, text, len);
	pass[len] = '\0';
	wipe(text, len);
	free(text);
	if (len == 0) {
		fprintf(stderr, "hubctl: passphrase file %s is empty\n", file);
		return -1;
	}
	return 0;
}

/* Ask on the terminal, without echo.  0, or -1 (said). */
static int
pass_from_tty(const char *name, char *pass, size_t size)
{
	struct termios t, quiet;
	ssize_t n = 0, r;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);

	if (fd == -1 || tcgetattr(fd, &t) == -1) {
		if (fd != -1)
			close(fd);
		fprintf(stderr, "hubctl: key %s is encrypted and there is no "
		    "terminal to ask its passphrase on: set " PASS_ENV " or "
		    "give --passphrase-file FILE\n", name);
		return -1;
	}
	dprintf(fd, "Passphrase for key %s: ", name);
	quiet = t;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	tcsetattr(fd, TCSAFLUSH, &quiet);
	while ((size_t)n < size - 1 && (r = read(fd, pass + n, 1)) == 1 &&
	    pass[n] != '\n')
		n++;
	tcsetattr(fd, TCSAFLUSH, &t);
	dprintf(fd, "\n");
	close(fd);
	pass[n] = '\0';
	if (n > 0 && pass[n - 1] == '\r')
		pass[--n] = '\0';
	if (n == 0) {
		fprintf(stderr, "hubctl: no passphrase given\n");
		return -1;
	}
	return 0;
}

/* The passphrase given without asking: 1 with it in pass, 0 when none
 * was given, -1 (said) when it cannot be read. */
static int
pass_given(const struct ctl *c, char *pass, size_t size)
{
	const char *env = getenv(PASS_ENV);

	if (env != NULL && *env != '\0') {
		if (mc_strlcpy(pass, env, size) == -1) {
			fprintf(stderr, "hubctl: " PASS_ENV " is longer than "
			    "%zu bytes\n", size - 1);
			return -1;
		}
		return 1;
	}
	if (c->o.passphrase_file[0] == '\0')
		return 0;
	return pass_from_file(c->o.passphrase_file, pass, size) == 0 ? 1 : -1;
}

/* ---- key create ---- */

/* A new Ed25519 pair (owned by the caller) and its public line, or NULL
 * (said). */
static EVP_PKEY *
key_generate(const char *name, struct mc_pubkey *pub)
{
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *k = NULL;
	struct mc_buf b;
	size_t n = sizeof(pub->raw);

	memset(pub, 0, sizeof(*pub));
	if (kc == NULL || EVP_PKEY_keygen_init(kc) != 1 ||
	    EVP_PKEY_keygen(kc, &k) != 1 ||
	    EVP_PKEY_get_raw_public_key(k, pub->raw, &n) != 1 ||
	    n != MC_KEY_RAW) {
		fprintf(stderr, "hubctl: OpenSSL cannot make an Ed25519 "
		    "key\n");
		EVP_PKEY_free(k);
		EVP_PKEY_CTX_free(kc);
		return NULL;
	}
	EVP_PKEY_CTX_free(kc);
	mc_buf_init(&b, MC_KEY_B64);
	if (mc_b64_encode(&b, pub->raw, n) == 0)
		mc_strlcpy(pub->b64, b.data, sizeof(pub->b64));
	mc_buf_free(&b);
	mc_strlcpy(pub->name, name, sizeof(pub->name));
	return k;
}

/* The private key as PKCS#8 PEM (encrypted with pass when not NULL)
 * into out, NUL-terminated.  Returns its length, or -1 (said). */
static long
key_pem(EVP_PKEY *k, const char *pass, char *out, size_t size)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n = -1;

	if (bio != NULL && PEM_write_bio_PKCS8PrivateKey(bio, k,
	    pass ? EVP_aes_256_cbc() : NULL, pass ? (char *)pass : NULL,
	    pass ? (int)strlen(pass) : 0, NULL, NULL) == 1)
		n = BIO_get_mem_data(bio, &data);
	if (n > 0 && (size_t)n < size) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
	} else {
		fprintf(stderr, "hubctl: OpenSSL cannot write the key\n");
		n = -1;
	}
	BIO_free(bio);
	return n;
}

/* Write path with mode only if no such file exists: 0, or -1 (said). */
static int
write_new(const char *path, const char *data, size_t n, mode_t mode)
{
	char tmp[MC_PATH_MAX];
	int r;

	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
		return -1;
	if (mc_write_file(tmp, data, n, mode) == -1) {
		fprintf(stderr, "hubctl: cannot write %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	r = link(tmp, path);
	if (r == -1)
		fprintf(stderr, "hubctl: cannot write %s: %s\n", path,
		    errno == EEXIST ? "it exists (keys are never overwritten)"
		    : strerror(errno));
	unlink(tmp);
	return r;
}

/* The default key name: the user's. */
static int
default_name(char *out, size_t size)
{
	struct passwd *pw = getpwuid(getuid());
	const char *user = pw != NULL ? pw->pw_name : getenv("USER");

	if (user == NULL || !name_ok(user) ||
	    mc_strlcpy(out, user, size) == -1)
		return ctl_usage("key", "no usable user name to call the key; "
		    "give --name NAME");
	return 0;
}

static int
refuse_existing(const char *keyf, const char *pubf, const char *name)
{
	const char *which = access(keyf, F_OK) == 0 ? keyf :
	    access(pubf, F_OK) == 0 ? pubf : NULL;

	if (which == NULL)
		return 0;
	fprintf(stderr, "hubctl: a key named '%s' exists already (%s); keys "
	    "are never overwritten: pick another --name, or remove the old "
	    "files first\n", name, which);
	return CTL_EXIT_FAIL;
}

/* Make the pair and write both files. */
static int
create_files(const struct ctl *c, const char *name, const char *dir)
{
	char keyf[MC_PATH_MAX], pubf[MC_PATH_MAX], line[MC_KEYLINE_MAX + 1];
	char pem[CTL_KEY_FILE_MAX], pass[CTL_PASS_MAX];
	struct mc_pubkey pub;
	EVP_PKEY *k = NULL;	/* owned */
	size_t len;
	long n;
	int have, ret = CTL_EXIT_FAIL;

	if (key_file(keyf, sizeof(keyf), dir, name, "key") == -1 ||
	    key_file(pubf, sizeof(pubf), dir, name, "pub") == -1)
		return CTL_EXIT_FAIL;
	if (refuse_existing(keyf, pubf, name) != 0)
		return CTL_EXIT_FAIL;
	if ((have = pass_given(c, pass, sizeof(pass))) == -1)
		return CTL_EXIT_USAGE;
	if ((k = key_generate(name, &pub)) == NULL)
		goto done;
	n = key_pem(k, have ? pass : NULL, pem, sizeof(pem));
	mc_pubkey_line(&pub, line, sizeof(line) - 1);
	len = strlen(line);
	line[len++] = '\n';
	line[len] = '\0';
	if (n < 0 || write_new(keyf, pem, (size_t)n, 0600) == -1)
		goto done;
	if (write_new(pubf, line, len, 0644) == -1) {
		unlink(keyf);
		goto done;
	}
	fputs(line, stdout);
	fprintf(stderr, "hubctl: wrote %s (%s) and %s; put the line above "
	    "into each listener's trust = (or install.sh --trust), and sign "
	    "with it: hubctl --key %s, or key = %s in hubctl.conf\n", keyf,
	    have ? "encrypted" : "not encrypted: set " PASS_ENV " or "
	    "--passphrase-file to encrypt one", pubf, name, name);
	ret = CTL_EXIT_OK;
done:
	wipe(pass, sizeof(pass));
	wipe(pem, sizeof(pem));
	EVP_PKEY_free(k);
	return ret;
}

int
ctl_key_cmd_create(struct ctl *c, int argc, char **argv)
{
	const char *name = NULL;
	const struct ctl_flag flags[] = { { "--name", 1, &name },
	    { NULL, 0, NULL } };
	char dir[MC_PATH_MAX], user[MC_NAME_MAX + 1];
	struct ctl_args a;
	int r;

	r = ctl_flags_parse("key", argc, argv, flags, &a);
	if (r != 0)
		return r;
	if (a.n > 0)
		return ctl_usage("key", "unexpected argument '%s' (the name "
		    "goes with --name)", a.v[0]);
	if (name != NULL && !name_ok(name))
		return ctl_usage("key", "--name: '%s' is not a key name "
		    "(letters, digits, '.', '_', '-'; at most %d)", name,
		    MC_NAME_MAX);
	if (name == NULL && (r = default_name(user, sizeof(user))) != 0)
		return r;
	if (key_dir(dir, sizeof(dir)) == -1)
		return CTL_EXIT_FAIL;
	if (mc_mkdir_p(dir, 0700) == -1) {
		fprintf(stderr, "hubctl: cannot make %s: %s\n", dir,
		    strerror(errno));
		return CTL_EXIT_FAIL;
	}
	return create_files(c, name ? name : user, dir);
}

/* ---- loading ---- */

/* Where spec (NAME or a file: it has a '/') is, and its name. */
static int
key_where(const char *spec, char *path, size_t size, char *name,
    size_t nsize)
{
	char dir[MC_PATH_MAX];
	const char *base = strrchr(spec, '/');
	size_t n;

	if (base == NULL) {
		if (!name_ok(spec))
			return ctl_usage(NULL, "--key: '%s' is neither a key "
			    "name (see hubctl key list) nor a file path "
			    "(give ./%s for a file here)", spec, spec);
		mc_strlcpy(name, spec, nsize);
		if (key_dir(dir, sizeof(dir)) == -1 ||
		    key_file(path, size, dir, spec, "key") == -1)
			return CTL_EXIT_FAIL;
		return 0;
	}
	if (mc_strlcpy(path, spec, size) == -1)
		return ctl_usage(NULL, "--key: path too long");
	mc_strlcpy(name, base + 1, nsize);
	n = strlen(name);
	if (n > 4 && strcmp(name + n - 4, ".key") == 0)
		name[n - 4] = '\0';
	if (!name_ok(name))
		name[0] = '\0';
	return 0;
}

/* Read the PEM text of a private key file: malloc'd (caller frees), or
 * NULL (said). */
static char *
key_read(const char *path, const char *spec)
{
	struct stat st;
	char *text;

	if (stat(path, &st) == -1) {
		if (errno == ENOENT && strchr(spec, '/') == NULL)
			fprintf(stderr, "hubctl: no key '%s' (%s); make one "
			    "with `hubctl key create --name %s`\n", spec, path,
			    spec);
		else
			fprintf(stderr, "hubctl: cannot read key %s: %s\n",
			    path, strerror(errno));
		return NULL;
	}
	if (st.st_mode & 077) {
		fprintf(stderr, "hubctl: key %s is readable by others (mode "
		    "%04o); chmod 600 it (and consider it leaked)\n", path,
		    (unsigned)(st.st_mode & 07777));
		return NULL;
	}
	text = mc_read_file(path, CTL_KEY_FILE_MAX, NULL);
	if (text == NULL)
		fprintf(stderr, "hubctl: cannot read key %s: %s\n", path,
		    errno == EFBIG ? "too large for a key" : strerror(errno));
	return text;
}

/* The PEM text as an Ed25519 private key (owned by the caller), asking
 * for the passphrase when it is encrypted; NULL (said). */
static EVP_PKEY *
key_parse(const struct ctl *c, const char *text, const char *path,
    const char *name)
{
	char pass[CTL_PASS_MAX];
	EVP_PKEY *k = NULL;
	BIO *bio;
	int enc = strstr(text, PEM_ENCRYPTED) != NULL, have = 0;

	pass[0] = '\0';
	if (enc && (have = pass_given(c, pass, sizeof(pass))) == -1)
		return NULL;
	if (enc && !have && pass_from_tty(name[0] ? name : path, pass,
	    sizeof(pass)) == -1)
		return NULL;
	bio = BIO_new_mem_buf(text, -1);
	if (bio != NULL)
		k = PEM_read_bio_PrivateKey(bio, NULL, NULL, pass);
	BIO_free(bio);
	wipe(pass, sizeof(pass));
	if (k == NULL)
		fprintf(stderr, "hubctl: cannot load key %s: %s\n", path, enc ?
		    "wrong passphrase" : "not a PEM private key");
	else if (EVP_PKEY_id(k) != EVP_PKEY_ED25519) {
		fprintf(stderr, "hubctl: key %s is not an Ed25519 key\n",
		    path);
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

/* k's public half into pub.  0 or -1. */
static int
key_public(EVP_PKEY *k, struct mc_pubkey *pub)
{
	struct mc_buf b;
	size_t n = sizeof(pub->raw);
	int r = -1;

	if (EVP_PKEY_get_raw_public_key(k, pub->raw, &n) != 1 ||
	    n != MC_KEY_RAW)
		return -1;
	mc_buf_init(&b, MC_KEY_B64);
	if (mc_b64_encode(&b, pub->raw, n) == 0 &&
	    mc_strlcpy(pub->b64, b.data, sizeof(pub->b64)) == 0)
		r = 0;
	mc_buf_free(&b);
	return r;
}

int
ctl_key_load(const struct ctl *c, struct ctl_key **out)
{
	char name[MC_NAME_MAX + 1];
	struct ctl_key *k;
	char *text;
	int r;

	*out = NULL;
	if (c->o.key[0] == '\0')
		return 0;
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		fprintf(stderr, "hubctl: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	r = key_where(c->o.key, k->path, sizeof(k->path), name, sizeof(name));
	if (r != 0 || (text = key_read(k->path, c->o.key)) == NULL) {
		free(k);
		return r != 0 ? r : CTL_EXIT_FAIL;
	}
	k->pk = key_parse(c, text, k->path, name);
	wipe(text, strlen(text));
	free(text);
	if (k->pk == NULL || key_public(k->pk, &k->pub) == -1) {
		ctl_key_free(k);
		return CTL_EXIT_FAIL;
	}
	mc_strlcpy(k->pub.name, name, sizeof(k->pub.name));
	*out = k;
	return 0;
}

void
ctl_key_free(struct ctl_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pk);
	free(k);
}

/* ---- key list ---- */

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of DIR's *.key files, sorted, malloc'd (caller frees each
 * and the array); *n their count.  NULL with *n 0 when there are none. */
static char **
key_names(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL, **nv;
	size_t len, cap = 0;

	*n = 0;
	while (d != NULL && (e = readdir(d)) != NULL) {
		len = strlen(e->d_name);
		if (len <= 4 || strcmp(e->d_name + len - 4, ".key") != 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		if ((v[*n] = strndup(e->d_name, len - 4)) != NULL)
			(*n)++;
	}
	if (d != NULL)
		closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), by_name);
	return v;
}

/* One key's facts: its public line ("" when NAME.pub is missing or bad)
 * and whether it is encrypted (-1: unreadable). */
static void
key_facts(const char *dir, const char *name, char *line, size_t size,
    int *enc)
{
	char path[MC_PATH_MAX], err[128];
	struct mc_pubkey pub;
	char *text;

	line[0] = '\0';
	*enc = -1;
	if (key_file(path, sizeof(path), dir, name, "key") == 0 &&
	    (text = mc_read_file(path, CTL_KEY_FILE_MAX, NULL)) != NULL) {
		*enc = strstr(text, PEM_ENCRYPTED) != NULL;
		wipe(text, strlen(text));
		free(text);
	}
	if (key_file(path, sizeof(path), dir, name, "pub") == 0 &&
	    (text = mc_read_file(path, MC_KEYLINE_MAX + 16, NULL)) != NULL) {
		if (mc_pubkey_parse(mc_trim(text), &pub, err,
		    sizeof(err)) == 0)
			mc_pubkey_line(&pub, line, size);
		free(text);
	}
}

static void
list_json(const char *dir, char **names, size_t n, const char *dflt)
{
	char line[MC_KEYLINE_MAX];
	struct mc_buf b;
	struct mc_jw w;
	size_t i;
	int enc;

	mc_buf_init(&b, (n + 1) * (MC_KEYLINE_MAX + 3 * MC_PATH_MAX));
	mc_jw_init(&w, &b);
	mc_jw_obj(&w, NULL);
	mc_jw_str(&w, "dir", dir);
	mc_jw_arr(&w, "keys");
	for (i = 0; i < n; i++) {
		key_facts(dir, names[i], line, sizeof(line), &enc);
		mc_jw_obj(&w, NULL);
		mc_jw_str(&w, "name", names[i]);
		if (line[0])
			mc_jw_str(&w, "public", line);
		else
			mc_jw_null(&w, "public");
		if (enc >= 0)
			mc_jw_bool(&w, "encrypted", enc);
		else
			mc_jw_null(&w, "encrypted");
		mc_jw_bool(&w, "default", strcmp(names[i], dflt) == 0);
		mc_jw_obj_end(&w);
	}
	mc_jw_arr_end(&w);
	mc_jw_obj_end(&w);
	if (mc_jw_done(&w) == 0)
		printf("%s\n", b.data);
	mc_buf_free(&b);
}

static int
list_table(const char *dir, char **names, size_t n, const char *dflt)
{
	static const char *const head[] = { "NAME", "DEFAULT", "ENCRYPTED",
	    "PUBLIC KEY" };
	char line[MC_KEYLINE_MAX];
	struct ctl_table t;
	size_t i;
	int enc;

	if (n == 0) {
		fprintf(stderr, "hubctl: no keys in %s; make one with `hubctl "
		    "key create`\n", dir);
		return CTL_EXIT_OK;
	}
	ctl_table_init(&t, 4);
	for (i = 0; i < 4; i++)
		ctl_table_add(&t, head[i]);
	for (i = 0; i < n; i++) {
		key_facts(dir, names[i], line, sizeof(line), &enc);
		ctl_table_add(&t, names[i]);
		ctl_table_add(&t, strcmp(names[i], dflt) == 0 ? "yes" : "-");
		ctl_table_add(&t, enc < 0 ? "unreadable" : enc ? "yes" : "no");
		ctl_table_add(&t, line[0] ? line : "(no valid .pub file)");
	}
	return ctl_table_print(&t) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

int
ctl_key_cmd_list(struct ctl *c, int argc, char **argv)
{
	char dir[MC_PATH_MAX];
	struct ctl_args a;
	char **names;
	size_t n, i;
	int r;

	r = ctl_flags_parse("key", argc, argv, (const struct ctl_flag[]){
	    { NULL, 0, NULL } }, &a);
	if (r != 0)
		return r;
	if (a.n > 0)
		return ctl_usage("key", "unexpected argument '%s'", a.v[0]);
	if (key_dir(dir, sizeof(dir)) == -1)
		return CTL_EXIT_FAIL;
	names = key_names(dir, &n);
	/* the default is the configured key when it is a name */
	if (c->o.json)
		list_json(dir, names, n, c->o.key);
	else
		r = list_table(dir, names, n, c->o.key);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}
