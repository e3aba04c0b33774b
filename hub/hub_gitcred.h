/*
 * hub_gitcred.h - how the hub reaches a git remote (hub_gitcred.c): which
 * URLs it takes, and the credentials and host checks of https:// and
 * ssh:// remotes, read from files.  Shared by every thread that talks to
 * a remote with libgit2 (the config repository's, the backup's): each
 * fills its own struct hub_gitcred and keeps it for its own fetches and
 * pushes; nothing here is shared between threads.
 */
#ifndef HUB_GITCRED_H
#define HUB_GITCRED_H

#include <git2.h>

#include "hub.h"

#define HUB_GITCRED_USER_MAX	128	/* config_user */
#define HUB_GITCRED_TOKEN_MAX	4096	/* bytes of a token file */

enum hub_gitcred_kind { GITCRED_LOCAL, GITCRED_HTTPS, GITCRED_SSH };

/* One remote and the files that open it ("" where not given). */
struct hub_gitcred {
	char	what[16];	/* the settings' prefix: "config", "backup" */
	char	url[MC_PATH_MAX];
	char	user[HUB_GITCRED_USER_MAX];	/* https; "" x-access-token */
	char	token_file[MC_PATH_MAX];	/* https: the password */
	char	ssh_key[MC_PATH_MAX];		/* ssh: the private key */
	char	known_hosts[MC_PATH_MAX];	/* ssh: the server's key */
	char	ca[MC_PATH_MAX];		/* https: a private CA */
	/* per fetch or push (hub_gitcred_callbacks() resets them) */
	int	asked;		/* times the remote asked for credentials */
};

/* g for one remote: its settings' prefix (what), URL and files (each
 * "" when not given). */
void	hub_gitcred_set(struct hub_gitcred *g, const char *what,
	    const char *url, const char *user, const char *token_file,
	    const char *ssh_key, const char *known_hosts, const char *ca);
/* What url is: a local path or file:// URL, https:// or ssh:// (or
 * scp-like user@host:path).  The kind, or -1 with why in err: http://,
 * a password in the URL ("put the token in config_token_file"), or
 * something else. */
int	hub_gitcred_url_kind(const char *url, char *err, size_t errlen);
/* The settings of c fit its URL, and their files can be read and are
 * not open to others.  0, or -1 with key the setting at fault (WHAT_repo
 * for the URL itself, WHAT_token_file, ...: c->what names the keys) and
 * why in err.  The files are read again at each fetch, so a rotated
 * token or key is used at once. */
int	hub_gitcred_check(const struct hub_gitcred *c, char *key, size_t keylen,
	    char *err, size_t errlen);
/* libgit2's last error, or "unknown error".  The calling thread's. */
const char *hub_git_why(void);
/* An unnamed remote of repo for url (*out owned by the caller:
 * git_remote_free).  url.*.insteadOf is not looked up: the URL is the
 * setting as written, and libgit2 1.5 leaks a pcre2 match block (about
 * 10 KiB) for every config entry that glob does not match (fixed in 1.6).
 * libgit2's 0 or error. */
int	hub_git_remote(git_repository *repo, const char *url,
	    git_remote **out);
/* Fetch branch of c->url into repo's refs/remotes/origin/BRANCH (forced,
 * no tags), through c's credentials; reflog names who fetched.
 * libgit2's 0 or error (hub_git_why() says why). */
int	hub_git_fetch(git_repository *repo, struct hub_gitcred *c,
	    const char *branch, const char *reflog);
/* Set cb's credentials and certificate_check callbacks (and payload) to
 * c's, for one fetch or push.  What they refuse is said in libgit2's
 * last error, without the secret. */
void	hub_gitcred_callbacks(struct hub_gitcred *c, git_remote_callbacks *cb);

#endif
