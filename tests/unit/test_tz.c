/*
 * test_tz.c - the reporting time zone (include/jobads/tz.h): offsets at known
 * instants (values from Python's zoneinfo), the local-hour bucket rule for
 * zones whose offset is not whole hours, day starts on 23- and 25-hour days,
 * and refusal of names that are not IANA zones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "jobads/tz.h"

static struct tz *open_ok(const char *name)
{
	struct tz *z = NULL;
	struct jerr err;
	assert_int_equal(tz_open(name, &z, &err), J_OK);
	assert_non_null(z);
	assert_string_equal(tz_name(z), name);
	return z;
}

static void test_offsets(void **state)
{
	(void)state;
	struct tz *k = open_ok("Asia/Kolkata"), *n = open_ok("Asia/Kathmandu");
	struct tz *a = open_ok("Australia/Adelaide"), *h = open_ok("Asia/Ho_Chi_Minh");
	size_t hint = 0;
	assert_int_equal(tz_offset_at(k, 1780317296, &hint), 19800);
	hint = 0;
	assert_int_equal(tz_offset_at(n, 1780317296, &hint), 20700);
	assert_int_equal(tz_offset_at(h, 1780317296, NULL), 25200);
	/* Adelaide leaves DST at 2026-04-04T16:30Z and enters it at 2026-10-03T16:30Z */
	hint = 0;
	assert_int_equal(tz_offset_at(a, 1775320199, &hint), 37800);
	assert_int_equal(tz_offset_at(a, 1775320200, &hint), 34200);
	assert_int_equal(tz_offset_at(a, 1791044999, &hint), 34200);
	assert_int_equal(tz_offset_at(a, 1791045000, &hint), 37800);
	/* past 2037 only the TZif footer's rule knows: 2099-10-04T00:00Z is DST */
	assert_int_equal(tz_offset_at(a, 4094755200, NULL), 37800);
	assert_false(tz_is_utc(h));
	tz_close(k);
	tz_close(n);
	tz_close(a);
	tz_close(h);
}

static void test_hour_start(void **state)
{
	(void)state;
	struct tz *k = open_ok("Asia/Kolkata"), *n = open_ok("Asia/Kathmandu");
	struct tz *a = open_ok("Australia/Adelaide"), *u = open_ok("UTC");
	/* 2026-06-01T12:34:56Z: 18:04:56 in Kolkata, its hour from 12:30Z; 18:19:56 in
	 * Kathmandu, from 12:15Z */
	assert_int_equal(tz_hour_start(k, 1780317296, NULL), 1780317000);
	assert_int_equal(tz_hour_start(n, 1780317296, NULL), 1780316100);
	assert_int_equal(tz_hour_start(u, 1780317296, NULL), 1780315200);
	/* the last second of Adelaide's 02:xx DST hour (from 15:30Z), then the repeated
	 * 02:00 standard hour from 16:30Z */
	assert_int_equal(tz_hour_start(a, 1775320199, NULL), 1775316600);
	assert_int_equal(tz_hour_start(a, 1775320200, NULL), 1775320200);
	assert_true(tz_is_utc(u));
	tz_close(k);
	tz_close(n);
	tz_close(a);
	tz_close(u);
}

static void test_day_start(void **state)
{
	(void)state;
	struct tz *b = open_ok("Europe/Berlin");
	/* 2026-03-29 has 23 hours in Berlin: from 23:00Z the day before to 22:00Z */
	assert_int_equal(tz_day_start(b, 1774742400), 1774738800);
	assert_int_equal(tz_day_start(b, 1774742400 + 86400), 1774821600);
	/* 2026-10-25 has 25 hours: from 22:00Z to 23:00Z the next day */
	assert_int_equal(tz_day_start(b, 1792886400), 1792879200);
	assert_int_equal(tz_day_start(b, 1792886400 + 86400), 1792969200);
	size_t n;
	const struct tz_span *s = tz_spans(b, &n);
	assert_true(n > 100);
	assert_int_equal(s[0].from_s, TZ_MIN_S);
	assert_int_equal(s[n - 1].to_s, TZ_MAX_S);
	for (size_t i = 1; i < n; i++) {
		assert_int_equal(s[i].from_s, s[i - 1].to_s);
		assert_int_not_equal(s[i].offset_s, s[i - 1].offset_s);
	}
	tz_close(b);
}

static void test_unknown(void **state)
{
	(void)state;
	static const char *const bad[] = {"Mars/Olympus_Mons", "",	  "/etc/passwd",
					  "../zoneinfo/UTC",   "<+07>-7", "UTC+3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tz *z = (struct tz *)&z;
		struct jerr err;
		assert_int_equal(tz_open(bad[i], &z, &err), J_ERROR);
		assert_null(z);
		assert_non_null(strstr(err.msg, "not a zone of the system's tzdata"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_offsets),
	    cmocka_unit_test(test_hour_start),
	    cmocka_unit_test(test_day_start),
	    cmocka_unit_test(test_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
