/*
 * mc_sd.c - sd_notify over the unix datagram socket named by NOTIFY_SOCKET
 * ('@' at the start means the abstract namespace).  One sendto() per call:
 * it never blocks (datagram, MSG_DONTWAIT), so the event loops may call it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mc_sd.h"
#include "mc_util.h"

int
mc_sd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t len;
	size_t n;
	int fd, r;

	if (path == NULL || path[0] == '\0')
		return 0;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	r = sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT,
	    (struct sockaddr *)&sa, len) < 0 ? -1 : 0;
	close(fd);
	return r;
}

double
mc_sd_watchdog_every(void)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	int64_t us, p;

	if (usec == NULL || mc_parse_i64(usec, 1, INT64_MAX, &us) == -1)
		return 0;
	if (pid != NULL && (mc_parse_i64(pid, 1, INT32_MAX, &p) == -1 ||
	    p != (int64_t)getpid()))
		return 0;
	return (double)us / 1e6 / 2;
}
