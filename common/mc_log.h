/*
 * mc_log.h - one-line log records on stderr.
 *
 * Records go to stderr (journald under systemd adds the timestamp there;
 * on a terminal we add our own).  Any thread may log.  Secrets are never
 * passed to these functions: callers log token ids, never tokens.
 */
#ifndef MC_LOG_H
#define MC_LOG_H

enum mc_log_level { MC_LOG_DEBUG, MC_LOG_INFO, MC_LOG_WARN, MC_LOG_ERROR };

/* Set the lowest level printed and the program name in each record. */
void	mc_log_setup(const char *prog, enum mc_log_level min);
/* Parse "debug|info|warn|error"; -1 if unknown. */
int	mc_log_level_parse(const char *s, enum mc_log_level *out);
int	mc_log_enabled(enum mc_log_level l);
void	mc_log(enum mc_log_level l, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#define mc_debug(...)	mc_log(MC_LOG_DEBUG, __VA_ARGS__)
#define mc_info(...)	mc_log(MC_LOG_INFO, __VA_ARGS__)
#define mc_warn(...)	mc_log(MC_LOG_WARN, __VA_ARGS__)
#define mc_err(...)	mc_log(MC_LOG_ERROR, __VA_ARGS__)

#endif
