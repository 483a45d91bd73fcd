/*
 * test_time.c - calendar math, ISO-8601 parsing/formatting, durations and
 * strict integer parsing (include/jobads/util.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobads/util.h"

/* 2026-03-01T10:00:00Z */
#define T_2026_03_01_10 1772359200000LL

static int64_t parse_ok(const char *s)
{
	int64_t ms = -12345;
	const char *why = "not set";
	int rc = ts_parse_iso(s, strlen(s), &ms, &why);
	if (rc != 0)
		print_error("ts_parse_iso(\"%s\") failed: %s\n", s, why ? why : "(null)");
	assert_int_equal(rc, 0);
	assert_null(why);
	return ms;
}

static const char *parse_bad(const char *s)
{
	int64_t ms = -12345;
	const char *why = NULL;
	int rc = ts_parse_iso(s, strlen(s), &ms, &why);
	if (rc != -1)
		print_error("ts_parse_iso(\"%s\") accepted: %lld\n", s, (long long)ms);
	assert_int_equal(rc, -1);
	assert_non_null(why);
	assert_true(strlen(why) > 0);
	return why;
}

/* ---- days_from_civil / civil_from_days ---- */

static void check_civil(int64_t y, unsigned m, unsigned d, int64_t days)
{
	int64_t yy = 0;
	unsigned mm = 0, dd = 0;
	assert_int_equal(days_from_civil(y, m, d), days);
	civil_from_days(days, &yy, &mm, &dd);
	assert_int_equal(yy, y);
	assert_int_equal(mm, m);
	assert_int_equal(dd, d);
}

static void test_civil_known_dates(void **state)
{
	(void)state;
	check_civil(1970, 1, 1, 0);
	check_civil(1969, 12, 31, -1);
	check_civil(2000, 1, 1, 10957);
	check_civil(2000, 2, 29, 11016); /* divisible by 400: leap */
	check_civil(2000, 3, 1, 11017);
	check_civil(2024, 2, 29, 19782);
	check_civil(1600, 2, 29, -135081);
}

static void test_civil_century_not_leap(void **state)
{
	(void)state;
	int64_t y;
	unsigned m, d;
	/* 1900 and 2100 are not leap years: Feb 28 is followed by Mar 1 */
	check_civil(1900, 2, 28, -25509);
	check_civil(1900, 3, 1, -25508);
	check_civil(2100, 2, 28, 47540);
	check_civil(2100, 3, 1, 47541);
	civil_from_days(-25509 + 1, &y, &m, &d);
	assert_int_equal(m, 3);
	assert_int_equal(d, 1);
	/* leap years do have a Feb 29 between */
	assert_int_equal(days_from_civil(2024, 3, 1) - days_from_civil(2024, 2, 28), 2);
	assert_int_equal(days_from_civil(2023, 3, 1) - days_from_civil(2023, 2, 28), 1);
	assert_int_equal(days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28), 2);
}

static void test_civil_round_trip_range(void **state)
{
	(void)state;
	/* every day from 1600 to 2500: round trip and consecutive dates */
	int64_t prev_y = 0;
	unsigned prev_m = 0, prev_d = 0;
	int64_t lo = days_from_civil(1600, 1, 1), hi = days_from_civil(2500, 12, 31);
	for (int64_t z = lo; z <= hi; z++) {
		int64_t y;
		unsigned m, d;
		civil_from_days(z, &y, &m, &d);
		assert_true(m >= 1 && m <= 12);
		assert_true(d >= 1 && d <= 31);
		assert_int_equal(days_from_civil(y, m, d), z);
		if (z > lo) {
			if (d == 1)
				assert_true(m == prev_m % 12 + 1);
			else
				assert_true(m == prev_m && d == prev_d + 1 && y == prev_y);
			if (m == 3 && d == 1) {
				int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
				assert_int_equal(prev_d, leap ? 29 : 28);
			}
		}
		prev_y = y;
		prev_m = m;
		prev_d = d;
	}
}

/* ---- ts_hour / ts_weekday ---- */

static void test_hour_weekday_boundaries(void **state)
{
	(void)state;
	/* 1970-01-01 was a Thursday */
	assert_int_equal(ts_hour(0), 0);
	assert_int_equal(ts_weekday(0), 4);
	/* the last millisecond of 2025 and the first of 2026 */
	assert_int_equal(ts_hour(1767225599999LL), 23);
	assert_int_equal(ts_weekday(1767225599999LL), 3);
	assert_int_equal(ts_hour(1767225600000LL), 0);
	assert_int_equal(ts_weekday(1767225600000LL), 4);
	/* 2024-02-29 is a Thursday; 2024-03-01 a Friday (month boundary after leap day) */
	int64_t feb29 = days_from_civil(2024, 2, 29) * 86400000LL;
	assert_int_equal(ts_weekday(feb29), 4);
	assert_int_equal(ts_weekday(feb29 + 86400000LL - 1), 4);
	assert_int_equal(ts_hour(feb29 + 86400000LL - 1), 23);
	assert_int_equal(ts_weekday(feb29 + 86400000LL), 5);
	assert_int_equal(ts_hour(feb29 + 86400000LL), 0);
	/* Sunday -> Monday: 2026-03-01 is a Sunday (7), 2026-03-02 a Monday (1) */
	int64_t mar1 = days_from_civil(2026, 3, 1) * 86400000LL;
	assert_int_equal(ts_weekday(mar1 + 86399999LL), 7);
	assert_int_equal(ts_weekday(mar1 + 86400000LL), 1);
	/* the hour changes exactly on the hour */
	assert_int_equal(ts_hour(T_2026_03_01_10 - 1), 9);
	assert_int_equal(ts_hour(T_2026_03_01_10), 10);
	/* before the epoch: 1969-12-31T23:59:59.999Z is a Wednesday, hour 23 */
	assert_int_equal(ts_hour(-1), 23);
	assert_int_equal(ts_weekday(-1), 3);
}

static void test_hour_weekday_every_hour(void **state)
{
	(void)state;
	/* a full leap-year week of hours, checked against civil dates */
	int64_t start = days_from_civil(2024, 2, 26) * 86400000LL; /* a Monday */
	for (int h = 0; h < 24 * 7; h++) {
		int64_t ms = start + (int64_t)h * 3600000LL + 1234;
		assert_int_equal(ts_hour(ms), h % 24);
		assert_int_equal(ts_weekday(ms), h / 24 + 1);
	}
}

/* ---- ts_parse_iso ---- */

static void test_parse_iso_zones(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2026-03-01T10:00:00Z"), T_2026_03_01_10);
	assert_int_equal(parse_ok("2026-03-01t10:00:00z"), T_2026_03_01_10);
	assert_int_equal(parse_ok("2026-03-01T17:00:00+07:00"), T_2026_03_01_10);
	assert_int_equal(parse_ok("2026-03-01T04:30:00-0530"), T_2026_03_01_10);
	assert_int_equal(parse_ok("2026-03-01T17:00:00+07"), T_2026_03_01_10);
	assert_int_equal(parse_ok("2026-03-01T10:00:00+00:00"), T_2026_03_01_10);
	assert_int_equal(parse_ok("2026-03-01T10:00Z"), T_2026_03_01_10); /* no seconds */
	/* an offset carries across the date line */
	assert_int_equal(parse_ok("2026-03-02T00:30:00+14:30"), T_2026_03_01_10);
	assert_int_equal(parse_ok("2000-01-01T00:00:00Z"), 946684800000LL);
}

static void test_parse_iso_fractions(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2026-03-01T10:00:00.123Z"), T_2026_03_01_10 + 123);
	assert_int_equal(parse_ok("2026-03-01T10:00:00.5Z"), T_2026_03_01_10 + 500);
	assert_int_equal(parse_ok("2026-03-01T10:00:00.05Z"), T_2026_03_01_10 + 50);
	/* beyond milliseconds: truncated, not rounded */
	assert_int_equal(parse_ok("2026-03-01T10:00:00.123999Z"), T_2026_03_01_10 + 123);
	assert_int_equal(parse_ok("2026-03-01T10:00:00.999999999Z"), T_2026_03_01_10 + 999);
	assert_int_equal(parse_ok("2025-12-31T23:59:59.999Z"), 1767225599999LL);
	/* fraction with an offset */
	assert_int_equal(parse_ok("2026-03-01T17:00:00.250+07:00"), T_2026_03_01_10 + 250);
	parse_bad("2026-03-01T10:00:00.Z");
}

static void test_parse_iso_space_separator(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2026-03-01 10:00:00Z"), T_2026_03_01_10);
	assert_int_equal(parse_ok("2026-03-01 10:00:00.123+07:00"),
			 T_2026_03_01_10 - 7 * 3600000LL + 123);
	parse_bad("2026-03-01X10:00:00Z");
}

static void test_parse_iso_missing_zone(void **state)
{
	(void)state;
	const char *why = parse_bad("2026-03-01T10:00:00");
	assert_non_null(strstr(why, "zone"));
	why = parse_bad("2026-03-01T10:00:00.123");
	assert_non_null(strstr(why, "zone"));
	parse_bad("2026-03-01 10:00");
}

static void test_parse_iso_invalid_dates(void **state)
{
	(void)state;
	parse_bad("2023-02-29T00:00:00Z"); /* 2023 is not leap */
	parse_bad("1900-02-29T00:00:00Z"); /* nor is 1900 */
	parse_bad("2100-02-29T00:00:00Z");
	parse_ok("2000-02-29T00:00:00Z");
	parse_ok("2024-02-29T00:00:00Z");
	parse_bad("2026-13-01T00:00:00Z"); /* month 13 */
	parse_bad("2026-00-01T00:00:00Z");
	parse_bad("2026-04-31T00:00:00Z");
	parse_bad("2026-01-00T00:00:00Z");
	parse_bad("2026-01-32T00:00:00Z");
	parse_bad("2026-03-01T24:00:00Z"); /* hour 24 */
	parse_bad("2026-03-01T23:60:00Z");
	parse_bad("2026-03-01T23:59:61Z");
	parse_bad("2026-03-01T10:00:00+24:00");
	parse_bad("2026-03-01T10:00:00+07:60");
}

/* The checks hold for every way a time is written: times, leap seconds, bare dates. */
static void test_parse_iso_impossible_times(void **state)
{
	(void)state;
	parse_bad("2026-03-01T25:00:00Z");
	parse_bad("2026-03-01T24:00Z");
	parse_bad("2026-03-01T10:60Z");
	parse_bad("2025-02-29T12:00:00+07:00");
	/* a leap second exists only at 23:59:60 UTC, and counts as 23:59:59 */
	assert_int_equal(parse_ok("2016-12-31T23:59:60Z"), parse_ok("2016-12-31T23:59:59Z"));
	assert_int_equal(parse_ok("2017-01-01T06:59:60+07:00"), parse_ok("2016-12-31T23:59:59Z"));
	parse_bad("2016-12-31T12:34:60Z");
	parse_bad("2016-12-31T23:59:60+07:00");
}

static int time_arg(const char *s, int64_t *secs)
{
	return time_arg_parse(s, strlen(s), T_2026_03_01_10, secs);
}

static void test_time_arg_dates(void **state)
{
	(void)state;
	int64_t secs = 0;
	assert_int_equal(time_arg("2024-02-29", &secs), 0);
	assert_int_equal(secs, days_from_civil(2024, 2, 29) * 86400);
	assert_int_equal(time_arg("2000-02-29", &secs), 0);
	assert_int_equal(time_arg("2024-12-31", &secs), 0);
	assert_int_equal(time_arg("2024-02-31", &secs), -1); /* was 2024-03-02 */
	assert_int_equal(time_arg("2023-02-29", &secs), -1);
	assert_int_equal(time_arg("1900-02-29", &secs), -1);
	assert_int_equal(time_arg("2024-04-31", &secs), -1);
	assert_int_equal(time_arg("2024-06-00", &secs), -1);
	assert_int_equal(time_arg("2024-13-01", &secs), -1);
	assert_int_equal(time_arg("2024-02-31T00:00:00Z", &secs), -1);
	assert_int_equal(time_arg("2024-03-01T24:00:00Z", &secs), -1);
	assert_int_equal(time_arg("2024-03-01T23:60:00Z", &secs), -1);
	assert_int_equal(time_arg("2024-03-01T10:00:00Z", &secs), 0);
	assert_int_equal(secs, days_from_civil(2024, 3, 1) * 86400 + 36000);
	assert_int_equal(time_arg("now-1d", &secs), 0);
	assert_int_equal(secs, T_2026_03_01_10 / 1000 - 86400);
}

static void test_civil_date_valid(void **state)
{
	(void)state;
	assert_true(civil_date_valid(2024, 2, 29));
	assert_false(civil_date_valid(2023, 2, 29));
	assert_false(civil_date_valid(2100, 2, 29));
	assert_true(civil_date_valid(2000, 2, 29));
	assert_true(civil_date_valid(2026, 1, 31));
	assert_false(civil_date_valid(2026, 4, 31));
	assert_false(civil_date_valid(2026, 0, 1));
	assert_false(civil_date_valid(2026, 13, 1));
	assert_false(civil_date_valid(2026, 1, 0));
	/* every day of 400 years: valid exactly when the calendar round trip keeps it */
	for (int64_t y = 2000; y < 2400; y++)
		for (int m = 1; m <= 12; m++)
			for (int d = 28; d <= 32; d++) {
				int64_t yy;
				unsigned mm, dd;
				civil_from_days(days_from_civil(y, (unsigned)m, (unsigned)d), &yy,
						&mm, &dd);
				int same = yy == y && mm == (unsigned)m && dd == (unsigned)d;
				assert_int_equal(civil_date_valid(y, m, d), same);
			}
}

static void test_parse_iso_malformed(void **state)
{
	(void)state;
	parse_bad("");
	parse_bad("2026");
	parse_bad("2026-03-01");
	parse_bad("2026/03/01T10:00:00Z");
	parse_bad("2026-3-01T10:00:00Z");
	parse_bad("2026-03-01T10:00:00ZZ");
	parse_bad("2026-03-01T10:00:00 Z");
	parse_bad("2026-03-01T10:00:00+7");
	parse_bad("2026-03-01T10:00:00+07:0");
	parse_bad("2026-03-01T10:00:00+07:000");
	parse_bad("2026-03-01T10:00:00+0a00");
	parse_bad("2026-03-01T1a:00:00Z");
	/* the length given is honoured: a valid prefix without its zone is rejected */
	int64_t ms;
	const char *why;
	assert_int_equal(ts_parse_iso("2026-03-01T10:00:00Z", 19, &ms, &why), -1);
}

/* ---- ts_format_iso ---- */

static void test_format_iso(void **state)
{
	(void)state;
	char buf[32];
	assert_string_equal(ts_format_iso(0, buf, sizeof(buf)), "1970-01-01T00:00:00.000Z");
	assert_string_equal(ts_format_iso(1767225599999LL, buf, sizeof(buf)),
			    "2025-12-31T23:59:59.999Z");
	assert_string_equal(ts_format_iso(1767225600000LL, buf, sizeof(buf)),
			    "2026-01-01T00:00:00.000Z");
	assert_string_equal(
	    ts_format_iso(days_from_civil(2024, 2, 29) * 86400000LL + 45296789, buf, sizeof(buf)),
	    "2024-02-29T12:34:56.789Z");
	assert_string_equal(ts_format_iso(-1, buf, sizeof(buf)), "1969-12-31T23:59:59.999Z");
	/* the returned pointer is the buffer */
	assert_ptr_equal(ts_format_iso(0, buf, sizeof(buf)), buf);
}

static void test_format_parse_round_trip(void **state)
{
	(void)state;
	char buf[32];
	struct rng r;
	rng_seed(&r, 42);
	for (int i = 0; i < 2000; i++) {
		int64_t ms = rng_range(&r, 946684800000LL, 4102444800000LL); /* 2000..2100 */
		int64_t back = -1;
		const char *why;
		ts_format_iso(ms, buf, sizeof(buf));
		assert_int_equal(strlen(buf), 24);
		assert_int_equal(ts_parse_iso(buf, strlen(buf), &back, &why), 0);
		assert_int_equal(back, ms);
	}
}

/* ---- parse_duration ---- */

static void test_parse_duration(void **state)
{
	(void)state;
	int64_t s = -1;
	assert_int_equal(parse_duration("30s", &s), 0);
	assert_int_equal(s, 30);
	assert_int_equal(parse_duration("5m", &s), 0);
	assert_int_equal(s, 300);
	assert_int_equal(parse_duration("1h", &s), 0);
	assert_int_equal(s, 3600);
	assert_int_equal(parse_duration("7d", &s), 0);
	assert_int_equal(s, 7 * 86400);
	assert_int_equal(parse_duration("0s", &s), 0);
	assert_int_equal(s, 0);
	assert_int_equal(parse_duration("45", &s), 0); /* bare number: seconds */
	assert_int_equal(s, 45);
}

static void test_parse_duration_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {"",	 "s",	 "m",  "5x",  "-5m", "5 m", " 5m",
					  "5m ", "1.5h", "h1", "abc", "5mm", "+",   "0x10s"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t s = 777;
		if (parse_duration(bad[i], &s) != -1)
			print_error("parse_duration(\"%s\") accepted\n", bad[i]);
		assert_int_equal(parse_duration(bad[i], &s), -1);
		assert_int_equal(s, 777); /* untouched on failure */
	}
	int64_t s;
	assert_int_equal(parse_duration("99999999999999999999d", &s), -1);
}

/* ---- parse_int64 ---- */

static int pi(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	return parse_int64(s, strlen(s), lo, hi, out);
}

static void test_parse_int64_basic(void **state)
{
	(void)state;
	int64_t v = 0;
	assert_int_equal(pi("0", INT64_MIN, INT64_MAX, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(pi("42", INT64_MIN, INT64_MAX, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(pi("-42", INT64_MIN, INT64_MAX, &v), 0);
	assert_int_equal(v, -42);
	assert_int_equal(pi("+7", INT64_MIN, INT64_MAX, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(pi("-0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(pi("007", 0, 10, &v), 0);
	assert_int_equal(v, 7);
	/* only n bytes are read */
	assert_int_equal(parse_int64("123456", 3, 0, 1000, &v), 0);
	assert_int_equal(v, 123);
}

static void test_parse_int64_range(void **state)
{
	(void)state;
	int64_t v = 99;
	assert_int_equal(pi("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(pi("11", 0, 10, &v), -1);
	assert_int_equal(pi("-1", 0, 10, &v), -1);
	assert_int_equal(pi("5", 6, 10, &v), -1);
	assert_int_equal(v, 10); /* untouched on failure */
}

static void test_parse_int64_max(void **state)
{
	(void)state;
	int64_t v = 0;
	assert_int_equal(pi("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
	assert_int_equal(v, INT64_MAX);
	assert_int_equal(pi("9223372036854775808", INT64_MIN, INT64_MAX, &v), -1);
	assert_int_equal(pi("18446744073709551615", INT64_MIN, INT64_MAX, &v), -1);
	assert_int_equal(pi("18446744073709551616", INT64_MIN, INT64_MAX, &v), -1);
	assert_int_equal(pi("99999999999999999999999", INT64_MIN, INT64_MAX, &v), -1);
	assert_int_equal(pi("-9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
	assert_int_equal(v, -INT64_MAX);
	assert_int_equal(pi("-9223372036854775809", INT64_MIN, INT64_MAX, &v), -1);
}

static void test_parse_int64_min(void **state)
{
	(void)state;
	int64_t v = 0;
	/* INT64_MIN is an integer within [INT64_MIN, INT64_MAX] */
	assert_int_equal(pi("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
	assert_true(v == INT64_MIN);
}

static void test_parse_int64_garbage(void **state)
{
	(void)state;
	static const char *const bad[] = {"",	 "-",	 "+",	  " 1",	 "1 ",
					  "1a",	 "a1",	 "1.0",	  "1e3", "--1",
					  "+-1", "0x10", "1,000", "\t1", "\xd9\xa1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v = 555;
		if (pi(bad[i], INT64_MIN, INT64_MAX, &v) != -1)
			print_error("parse_int64(\"%s\") accepted\n", bad[i]);
		assert_int_equal(pi(bad[i], INT64_MIN, INT64_MAX, &v), -1);
		assert_int_equal(v, 555);
	}
	int64_t v;
	/* an embedded NUL within n is not a digit */
	assert_int_equal(parse_int64("1\0002", 3, 0, 1000, &v), -1);
}

/* BUG() says where on stderr and aborts (run in a child, whose stderr is a pipe). */
static void test_bug_aborts_saying_where(void **state)
{
	int fd[2];
	(void)state;
	assert_int_equal(pipe(fd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fd[1], 2);
		BUG("op %s called out of order", "commit_wait");
	}
	close(fd[1]);
	char buf[512] = "";
	ssize_t n = read(fd[0], buf, sizeof(buf) - 1);
	close(fd[0]);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "jobads: BUG at "));
	assert_non_null(strstr(buf, "test_time.c:"));
	assert_non_null(strstr(buf, ": op commit_wait called out of order\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bug_aborts_saying_where),
	    cmocka_unit_test(test_civil_known_dates),
	    cmocka_unit_test(test_civil_century_not_leap),
	    cmocka_unit_test(test_civil_round_trip_range),
	    cmocka_unit_test(test_hour_weekday_boundaries),
	    cmocka_unit_test(test_hour_weekday_every_hour),
	    cmocka_unit_test(test_parse_iso_zones),
	    cmocka_unit_test(test_parse_iso_fractions),
	    cmocka_unit_test(test_parse_iso_space_separator),
	    cmocka_unit_test(test_parse_iso_missing_zone),
	    cmocka_unit_test(test_parse_iso_invalid_dates),
	    cmocka_unit_test(test_parse_iso_impossible_times),
	    cmocka_unit_test(test_time_arg_dates),
	    cmocka_unit_test(test_civil_date_valid),
	    cmocka_unit_test(test_parse_iso_malformed),
	    cmocka_unit_test(test_format_iso),
	    cmocka_unit_test(test_format_parse_round_trip),
	    cmocka_unit_test(test_parse_duration),
	    cmocka_unit_test(test_parse_duration_bad),
	    cmocka_unit_test(test_parse_int64_basic),
	    cmocka_unit_test(test_parse_int64_range),
	    cmocka_unit_test(test_parse_int64_max),
	    cmocka_unit_test(test_parse_int64_min),
	    cmocka_unit_test(test_parse_int64_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
