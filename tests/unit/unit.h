/*
 * unit.h - the unit test harness: check macros and the list of tests.
 *
 * A test is a void function t_NAME(void) listed in UNIT_TESTS below;
 * unit_main.c turns the list into its table and runs every test in a
 * forked child, so a crash or a sanitizer report fails that test alone.
 * CHECK* record a failure (file:line and what) and go on; REQUIRE* record
 * it and return from the test, for when going on would crash.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Record one failure of the running test. */
void	unit_fail(const char *file, int line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* A scratch directory made for the running test (removed afterwards). */
const char *unit_tmpdir(void);
/* Printable, bounded form of a byte string for failure messages. */
const char *unit_show(const char *s, size_t n);
/* 1 if mc_json_parse() accepts the n bytes at s (t_json.c). */
int	unit_json_accepts(const char *s, size_t n);

#define CHECK(cond) do {						\
	if (!(cond))							\
		unit_fail(__FILE__, __LINE__, "%s", #cond);		\
} while (0)

#define REQUIRE(cond) do {						\
	if (!(cond)) {							\
		unit_fail(__FILE__, __LINE__, "%s", #cond);		\
		return;							\
	}								\
} while (0)

#define CHECK_MSG(cond, ...) do {					\
	if (!(cond))							\
		unit_fail(__FILE__, __LINE__, __VA_ARGS__);		\
} while (0)

#define CHECK_EQ_INT(a, b) do {						\
	long long uei_a_ = (long long)(a), uei_b_ = (long long)(b);	\
	if (uei_a_ != uei_b_)						\
		unit_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld",	\
		    #a, #b, uei_a_, uei_b_);				\
} while (0)

#define CHECK_EQ_U64(a, b) do {						\
	unsigned long long ueu_a_ = (a), ueu_b_ = (b);			\
	if (ueu_a_ != ueu_b_)						\
		unit_fail(__FILE__, __LINE__, "%s == %s: %llu != %llu",	\
		    #a, #b, ueu_a_, ueu_b_);				\
} while (0)

#define CHECK_EQ_DBL(a, b) do {						\
	double ued_a_ = (a), ued_b_ = (b);				\
	if (!(ued_a_ - ued_b_ < 1e-9 && ued_b_ - ued_a_ < 1e-9))	\
		unit_fail(__FILE__, __LINE__, "%s == %s: %.17g != %.17g", \
		    #a, #b, ued_a_, ued_b_);				\
} while (0)

#define CHECK_EQ_STR(a, b) do {						\
	const char *ues_a_ = (a), *ues_b_ = (b);			\
	if (ues_a_ == NULL || ues_b_ == NULL || strcmp(ues_a_, ues_b_) != 0) \
		unit_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", \
		    #a, #b, ues_a_ ? unit_show(ues_a_, strlen(ues_a_)) : "(null)", \
		    ues_b_ ? ues_b_ : "(null)");			\
} while (0)

#define REQUIRE_EQ_STR(a, b) do {					\
	const char *urs_a_ = (a), *urs_b_ = (b);			\
	if (urs_a_ == NULL || urs_b_ == NULL || strcmp(urs_a_, urs_b_) != 0) { \
		unit_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", \
		    #a, #b, urs_a_ ? unit_show(urs_a_, strlen(urs_a_)) : "(null)", \
		    urs_b_ ? urs_b_ : "(null)");			\
		return;							\
	}								\
} while (0)

/* n bytes at a equal n bytes at b */
#define CHECK_EQ_MEM(a, alen, b, blen) do {				\
	size_t uem_al_ = (alen), uem_bl_ = (blen);			\
	if (uem_al_ != uem_bl_ || memcmp((a), (b), uem_al_) != 0)	\
		unit_fail(__FILE__, __LINE__, "%s == %s: \"%s\" (%zu bytes)" \
		    " differs (expected %zu bytes)", #a, #b,		\
		    unit_show((const char *)(a), uem_al_), uem_al_, uem_bl_); \
} while (0)

/* s contains sub */
#define CHECK_CONTAINS(s, sub) do {					\
	const char *ucc_s_ = (s), *ucc_sub_ = (sub);			\
	if (ucc_s_ == NULL || strstr(ucc_s_, ucc_sub_) == NULL)		\
		unit_fail(__FILE__, __LINE__, "%s contains \"%s\": \"%s\"", \
		    #s, ucc_sub_, ucc_s_ ? ucc_s_ : "(null)");		\
} while (0)

/* s starts with prefix */
#define CHECK_PREFIX(s, prefix) do {					\
	const char *ucp_s_ = (s), *ucp_p_ = (prefix);			\
	if (ucp_s_ == NULL || strncmp(ucp_s_, ucp_p_, strlen(ucp_p_)) != 0) \
		unit_fail(__FILE__, __LINE__, "%s starts with \"%s\": \"%s\"", \
		    #s, ucp_p_, ucp_s_ ? ucp_s_ : "(null)");		\
} while (0)

/*
 * Every test, grouped by file.  X(name) expands to the test t_name.
 */
#define UNIT_TESTS(X)							\
	/* t_buf.c */							\
	X(buf_append_and_limit)						\
	X(buf_limit_zero)						\
	X(buf_grow_to_limit_exactly)					\
	X(buf_printf_limit)						\
	X(buf_binary)							\
	X(buf_consume)							\
	X(buf_take)							\
	X(buf_reset_and_free)						\
	X(buf_adopt)							\
	/* t_json.c */							\
	X(json_parse_valid_document)					\
	X(json_parse_scalars_and_whitespace)				\
	X(json_parse_length_delimited)					\
	X(json_simple_escapes)						\
	X(json_unicode_escapes)						\
	X(json_surrogate_pairs)						\
	X(json_raw_utf8_passes)						\
	X(json_reject_trailing_data)					\
	X(json_reject_bad_numbers)					\
	X(json_reject_number_without_fraction_digits)			\
	X(json_reject_nul_after_number)					\
	X(json_accept_good_numbers)					\
	X(json_reject_unterminated_strings)				\
	X(json_reject_control_chars)					\
	X(json_reject_bad_escapes)					\
	X(json_reject_lone_surrogates)					\
	X(json_reject_malformed_structure)				\
	X(json_depth_limit)						\
	X(json_error_names_offset)					\
	X(json_lookup_helpers)						\
	X(json_int_ranges)						\
	X(json_invalid_utf8_kept)					\
	X(json_nul_escapes)						\
	X(json_duplicate_keys)						\
	X(json_huge_numbers)						\
	X(json_reject_what_cjson_takes)					\
	X(json_error_reasons)						\
	/* t_jw.c */							\
	X(json_writer_structure)					\
	X(json_writer_fixed)						\
	X(json_writer_escaping)						\
	X(json_writer_invalid_utf8)					\
	X(json_writer_round_trip)					\
	X(json_writer_limit)						\
	X(json_writer_unbalanced)					\
	X(json_writer_depth)						\
	X(json_writer_nonfinite)					\
	X(json_writer_numbers_as_printf)				\
	/* t_proto.c */							\
	X(proto_hello_round_trip)					\
	X(proto_hello_enroll_round_trip)				\
	X(proto_welcome_round_trip)					\
	X(proto_hb_round_trip)						\
	X(proto_cmd_round_trip)						\
	X(proto_started_round_trip)					\
	X(proto_out_round_trip)						\
	X(proto_result_round_trip)					\
	X(proto_ack_round_trip)						\
	X(proto_bye_round_trip)						\
	X(proto_error_round_trip)					\
	X(proto_parse_wrong_direction)					\
	X(proto_parse_unknown_type)					\
	X(proto_parse_missing_t)					\
	X(proto_parse_missing_field)					\
	X(proto_parse_wrong_field_type)					\
	X(proto_parse_size_limit)					\
	X(proto_parse_non_object)					\
	X(proto_parse_bad_json)						\
	X(proto_hello_rejects_bad_names)				\
	X(proto_hello_rejects_bad_tags)					\
	X(proto_hello_rejects_tag_with_nul)				\
	X(proto_hello_rejects_bad_numbers)				\
	X(proto_hello_rejects_bad_pending)				\
	X(proto_blob_round_trip)					\
	X(proto_blob_rejects)						\
	X(proto_welcome_rejects)					\
	X(proto_hb_rejects)						\
	X(proto_cmd_rejects)						\
	X(proto_started_rejects)					\
	X(proto_out_rejects)						\
	X(proto_result_rejects)						\
	X(proto_bye_error_rejects)					\
	X(proto_kind_and_outcome_names)					\
	X(proto_metrics_summaries)					\
	/* t_sign.c */							\
	X(sign_keyline)							\
	X(sign_verify)							\
	X(sign_payload)							\
	X(sign_in_messages)						\
	X(sign_hello_and_release)					\
	X(sign_elf)							\
	/* t_seen.c (listener/lst_seen.c) */				\
	X(seen_once_and_across_reopen)					\
	X(seen_full_refuses)						\
	/* t_hubs.c (listener/lst_hubs.c) */				\
	X(hubs_parse_one_and_several)					\
	X(hubs_parse_refuses)						\
	X(hubs_shuffle_spreads)						\
	X(hubs_rounds)							\
	/* t_metrics_hw.c */						\
	X(metrics_hw_round_trip)					\
	X(metrics_hw_absent)						\
	X(metrics_hw_sparse_gpu)					\
	X(metrics_hw_rejects)						\
	X(metrics_hw_summaries)						\
	/* t_ctr.c */							\
	X(ctr_round_trip)						\
	X(ctr_absent)							\
	X(ctr_rejects)							\
	X(ctr_names)							\
	/* t_term.c */							\
	X(term_round_trips)						\
	X(term_rejects)							\
	X(term_frames)							\
	/* t_cast.c */							\
	X(cast_utf8_tail)						\
	X(cast_text_split)						\
	X(cast_text_limit)						\
	X(cast_time)							\
	X(cast_lines)							\
	X(cast_round_trip)						\
	X(cast_limit)							\
	/* t_config.c */						\
	X(conf_good_file)						\
	X(conf_error_unknown_key)					\
	X(conf_error_bad_int)						\
	X(conf_error_missing_equals)					\
	X(conf_error_value_too_long)					\
	X(conf_error_bad_duration)					\
	X(conf_error_bad_bool)						\
	X(conf_error_other)						\
	X(conf_line_too_long)						\
	X(conf_extra_callback)						\
	X(conf_load_file)						\
	X(args_values)							\
	X(args_bool_flags)						\
	X(args_errors)							\
	X(args_positional)						\
	X(args_config)							\
	X(args_error_names_the_flag)					\
	X(origin_file_and_flags)					\
	X(conf_size)							\
	/* t_util.c */							\
	X(util_parse_duration)						\
	X(util_parse_duration_rejects)					\
	X(util_parse_size)						\
	X(util_parse_i64)						\
	X(util_parse_dbl_and_bool)					\
	X(util_url_parse)						\
	X(util_url_parse_errors)					\
	X(util_name_valid)						\
	X(util_hash_fnv1a)						\
	X(util_tag_valid)						\
	X(util_sha256)							\
	X(util_base64)							\
	X(util_secret_eq)						\
	X(util_random_hex)						\
	X(util_write_file_mode)						\
	X(util_write_file_atomic)					\
	X(util_read_file)						\
	X(util_mkdir_p)							\
	X(util_trim_strlcpy)						\
	X(util_strlcpy_utf8)						\
	X(util_fp_parse)						\
	X(util_signal_fd)

#define UNIT_DECLARE(name)	void t_##name(void);
UNIT_TESTS(UNIT_DECLARE)

#endif
