/*
 * test_cron.c - five-field cron expressions: parsing (ranges, steps, lists,
 * names, shorthands, every error naming its field) and the next matching
 * minute across hour, day, month, year and leap-day boundaries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "jobads/cron.h"
#include "jobads/util.h"

static int64_t iso(const char *s)
{
	int64_t ms = 0;
	const char *why = NULL;
	if (ts_parse_iso(s, strlen(s), &ms, &why) != 0)
		fail_msg("bad test time %s: %s", s, why);
	return ms / 1000;
}

/* The next match of expr after `after`, as ISO text ("none" when there is none). */
static void expect_next(const char *expr, const char *after, const char *want)
{
	struct cron c;
	struct jerr err;
	char got[40];
	if (cron_parse(expr, &c, &err) != 0)
		fail_msg("cron_parse(\"%s\"): %s", expr, err.msg);
	int64_t t = cron_next(&c, iso(after));
	if (t < 0)
		strcpy(got, "none");
	else
		ts_format_iso(t * 1000, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("'%s' after %s: want %s, got %s", expr, after, want, got);
}

/* expr must be rejected with a message containing `part`. */
static void expect_error(const char *expr, const char *part)
{
	struct cron c;
	struct jerr err;
	err.msg[0] = '\0';
	if (cron_parse(expr, &c, &err) == 0)
		fail_msg("cron_parse(\"%s\") accepted a bad expression", expr);
	if (!strstr(err.msg, part))
		fail_msg("cron_parse(\"%s\"): message [%s] lacks [%s]", expr, err.msg, part);
}

static void test_every_minute_and_steps(void **state)
{
	(void)state;
	expect_next("* * * * *", "2026-11-29T07:37:12Z", "2026-11-29T07:38:00.000Z");
	expect_next("* * * * *", "2026-11-29T07:38:00Z", "2026-11-29T07:39:00.000Z");
	expect_next("*/5 * * * *", "2026-11-29T07:37:12Z", "2026-11-29T07:40:00.000Z");
	/* strictly after: a time on a match gives the next one */
	expect_next("*/5 * * * *", "2026-11-29T07:40:00Z", "2026-11-29T07:45:00.000Z");
	expect_next("*/5 * * * *", "2026-11-29T07:59:59Z", "2026-11-29T08:00:00.000Z");
	/* a single value with a step runs from it to the end of the range */
	expect_next("5/15 * * * *", "2026-11-29T07:37:00Z", "2026-11-29T07:50:00.000Z");
	expect_next("5/15 * * * *", "2026-11-29T07:51:00Z", "2026-11-29T08:05:00.000Z");
	expect_next("0 9-17/4 * * *", "2026-11-29T10:00:00Z", "2026-11-29T13:00:00.000Z");
	expect_next("0 9-17/4 * * *", "2026-11-29T17:00:00Z", "2026-11-30T09:00:00.000Z");
}

static void test_lists_and_ranges(void **state)
{
	(void)state;
	expect_next("15,45 * * * *", "2026-11-29T07:20:00Z", "2026-11-29T07:45:00.000Z");
	expect_next("15,45 * * * *", "2026-11-29T07:45:00Z", "2026-11-29T08:15:00.000Z");
	expect_next("0 0 * * *", "2026-11-29T07:37:12Z", "2026-11-30T00:00:00.000Z");
	expect_next("30 2 * * *", "2026-11-29T03:00:00Z", "2026-11-30T02:30:00.000Z");
	expect_next("0 22-23,1 * * *", "2026-11-29T23:30:00Z", "2026-11-30T01:00:00.000Z");
	expect_next("10-12 * * * *", "2026-11-29T07:11:00Z", "2026-11-29T07:12:00.000Z");
}

static void test_month_and_year_boundaries(void **state)
{
	(void)state;
	expect_next("0 0 1 * *", "2026-11-29T07:37:12Z", "2026-12-01T00:00:00.000Z");
	expect_next("0 0 1 1 *", "2026-11-29T07:37:12Z", "2027-01-01T00:00:00.000Z");
	expect_next("59 23 31 12 *", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00.000Z");
	/* the 31st skips the months without one */
	expect_next("0 0 31 * *", "2026-11-01T00:00:00Z", "2026-12-31T00:00:00.000Z");
	/* a leap day waits for the next leap year */
	expect_next("0 12 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T12:00:00.000Z");
	/* and a day that never comes gives none */
	expect_next("0 0 30 2 *", "2026-01-01T00:00:00Z", "none");
}

static void test_names_and_weekdays(void **state)
{
	(void)state;
	/* 2026-11-28 is a Saturday, 2026-11-29 a Sunday */
	expect_next("0 0 * * mon-fri", "2026-11-28T12:00:00Z", "2026-11-30T00:00:00.000Z");
	expect_next("0 0 * * MON-Fri", "2026-11-28T12:00:00Z", "2026-11-30T00:00:00.000Z");
	expect_next("0 0 * * 1-5", "2026-11-28T12:00:00Z", "2026-11-30T00:00:00.000Z");
	expect_next("0 0 * * 7", "2026-11-25T00:00:00Z", "2026-11-29T00:00:00.000Z");
	expect_next("0 0 * * sun", "2026-11-25T00:00:00Z", "2026-11-29T00:00:00.000Z");
	expect_next("0 0 * * 0", "2026-11-25T00:00:00Z", "2026-11-29T00:00:00.000Z");
	expect_next("0 0 * * sat,sun", "2026-11-28T00:00:00Z", "2026-11-29T00:00:00.000Z");
	/* month names; day of month '*' with a weekday: both must match (2027-01-04 is a Monday) */
	expect_next("0 0 * jan,jul mon", "2026-11-29T00:00:00Z", "2027-01-04T00:00:00.000Z");
	expect_next("0 6 1 dec *", "2026-11-29T00:00:00Z", "2026-12-01T06:00:00.000Z");
	/* both day fields restricted: either matches (Vixie cron); 2026-11-06 is a Friday */
	expect_next("0 0 13 * fri", "2026-11-01T00:00:00Z", "2026-11-06T00:00:00.000Z");
	expect_next("0 0 13 * fri", "2026-11-07T00:00:00Z", "2026-11-13T00:00:00.000Z");
	expect_next("0 0 14 * fri", "2026-11-13T00:00:00Z", "2026-11-14T00:00:00.000Z");
}

static void test_shorthands(void **state)
{
	(void)state;
	expect_next("@hourly", "2026-11-29T07:37:12Z", "2026-11-29T08:00:00.000Z");
	expect_next("@daily", "2026-11-29T07:37:12Z", "2026-11-30T00:00:00.000Z");
	expect_next("@weekly", "2026-11-29T07:37:12Z", "2026-12-06T00:00:00.000Z");
	expect_next("@monthly", "2026-11-29T07:37:12Z", "2026-12-01T00:00:00.000Z");
	expect_next("@yearly", "2026-11-29T07:37:12Z", "2027-01-01T00:00:00.000Z");
	expect_next("  */10   *  * * *  ", "2026-11-29T07:37:12Z", "2026-11-29T07:40:00.000Z");
}

static void test_parse_bits(void **state)
{
	(void)state;
	struct cron c;
	struct jerr err;
	assert_int_equal(cron_parse("0,30 */6 1-3 feb * ", &c, &err), 0);
	assert_true(c.minute == ((1ULL << 0) | (1ULL << 30)));
	assert_int_equal(c.hour, (1u << 0) | (1u << 6) | (1u << 12) | (1u << 18));
	assert_int_equal(c.dom, (1u << 1) | (1u << 2) | (1u << 3));
	assert_int_equal(c.month, 1u << 2);
	assert_int_equal(c.dow, 0x7f);
	assert_false(c.dom_any);
	assert_true(c.dow_any);
	assert_int_equal(cron_parse("* * * * 5-7", &c, &err), 0);
	assert_int_equal(c.dow, (1u << 5) | (1u << 6) | (1u << 0));
}

static void test_errors_name_the_field(void **state)
{
	(void)state;
	expect_error("61 * * * *", "field 1 (minute): 61 is out of range 0-59");
	expect_error("* 24 * * *", "field 2 (hour): 24 is out of range 0-23");
	expect_error("* * 0 * *", "field 3 (day of month): 0 is out of range 1-31");
	expect_error("* * 32 * *", "field 3 (day of month)");
	expect_error("* * * 13 *", "field 4 (month): 13 is out of range 1-12");
	expect_error("* * * * 8", "field 5 (day of week): 8 is out of range 0-7");
	expect_error("* * *", "3 fields, want five");
	expect_error("", "0 fields, want five");
	expect_error("* * * * * *", "more than five fields");
	expect_error("a * * * *", "field 1 (minute): 'a' is not a number");
	expect_error("* * * foo *", "field 4 (month): 'foo' is not a number or a name");
	expect_error("* * * * funday", "field 5 (day of week)");
	expect_error("5-1 * * * *", "range 5-1 goes backwards");
	expect_error("*/0 * * * *", "step 0 is out of range");
	expect_error("*/ * * * *", "a step wants a number");
	expect_error("1,,2 * * * *", "field 1 (minute)");
	expect_error("1-2-3 * * * *", "unexpected '-'");
	expect_error("@every", "unknown shorthand '@every'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_minute_and_steps),
	    cmocka_unit_test(test_lists_and_ranges),
	    cmocka_unit_test(test_month_and_year_boundaries),
	    cmocka_unit_test(test_names_and_weekdays),
	    cmocka_unit_test(test_shorthands),
	    cmocka_unit_test(test_parse_bits),
	    cmocka_unit_test(test_errors_name_the_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
