/*
 * test_campaign.c - a campaign's field parsers, the all-or-nothing CSV reader
 * and the pacing rule on hand-made spend (include/jobads/campaign.h, pacing.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "jobads/campaign.h"
#include "jobads/pacing.h"

static void test_fields(void **state)
{
	struct campaign c;
	char why[400];
	(void)state;
	camp_init(&c, 101);
	assert_int_equal(camp_set_field(&c, "budget", "50000.5", 7, why, sizeof(why)), 0);
	assert_int_equal(c.budget_micros, 50000500000LL);
	/* the cost parser's exactness: 0.1 is 100000 micros, no float involved */
	assert_int_equal(camp_set_field(&c, "budget", "0.1", 3, why, sizeof(why)), 0);
	assert_int_equal(c.budget_micros, 100000);
	/* past the cost's per-record bound (1e6) but within a budget's */
	assert_int_equal(camp_set_field(&c, "budget", "2500000", 7, why, sizeof(why)), 0);
	assert_int_equal(c.budget_micros, 2500000000000LL);
	assert_int_equal(camp_set_field(&c, "budget", "-1", 2, why, sizeof(why)), -1);
	assert_string_equal(why, "budget: must be >= 0: '-1'");
	assert_int_equal(camp_set_field(&c, "budget", "1e13", 4, why, sizeof(why)), -1);
	assert_string_equal(why, "budget: out of range (at most 1000000000000): '1e13'");
	assert_int_equal(camp_set_field(&c, "budget", "ten", 3, why, sizeof(why)), -1);
	assert_string_equal(why, "budget: not a decimal number: 'ten'");
	assert_int_equal(camp_set_field(&c, "per", "week", 4, why, sizeof(why)), -1);
	assert_string_equal(why, "per: want day, month or flight, got 'week'");
	assert_int_equal(camp_set_field(&c, "start", "2026-02-29", 10, why, sizeof(why)), -1);
	assert_string_equal(why, "start: want a date YYYY-MM-DD, got '2026-02-29'");
	assert_int_equal(camp_set_field(&c, "start", "2028-02-29", 10, why, sizeof(why)), 0);
	assert_int_equal(camp_set_field(&c, "end", "2028-02-28", 10, why, sizeof(why)), 0);
	c.per = CAMP_PER_MONTH;
	assert_int_equal(camp_check(&c, why, sizeof(why)), -1);
	assert_string_equal(why, "end: 2028-02-28 is before the start 2028-02-29");
	assert_int_equal(camp_set_field(&c, "end", "none", 4, why, sizeof(why)), 0);
	assert_int_equal(camp_check(&c, why, sizeof(why)), 0);
	assert_int_equal(camp_set_field(&c, "name", "a\tb", 3, why, sizeof(why)), -1);
	assert_string_equal(why, "name: holds a control character");
	assert_int_equal(camp_set_field(&c, "colour", "red", 3, why, sizeof(why)), -1);
}

static void test_csv(void **state)
{
	struct campaign *cs;
	size_t n;
	struct jerr err;
	(void)state;
	const char *good = "per,campaign_id,budget,name\r\nmonth,101,50000,\"Senior Java, HCM\"\r\n"
			   ",102,,\"two, \"\"quoted\"\"\"\r\n\r\n";
	assert_int_equal(camp_csv_parse(good, strlen(good), &cs, &n, &err), J_OK);
	assert_int_equal(n, 2);
	assert_int_equal(cs[0].id, 101);
	assert_string_equal(cs[0].name, "Senior Java, HCM");
	assert_int_equal(cs[0].per, CAMP_PER_MONTH);
	assert_int_equal(cs[1].budget_micros, -1);
	assert_string_equal(cs[1].name, "two, \"quoted\"");
	free(cs);
	const char *bad[][2] = {
	    {"campaign_id,name,budget,per\n101,a,1,day\n102,b,5\n",
	     "row 2: per: missing (3 of 4 columns)"},
	    {"campaign_id,budget,per\n101,1,day\n101,2,day\n",
	     "row 2: campaign_id: 101 is also on an earlier row"},
	    {"campaign_id,budget\n101,1\n",
	     "row 1: per: a budget needs its period (day, month or flight)"},
	    {"name,budget\nx,1\n", "header: no campaign_id column"},
	    {"campaign_id,campaign_id\n1,1\n", "header: column 2: campaign_id given twice"},
	    {"campaign_id\n0\n", "row 1: campaign_id: want an id > 0, got '0'"},
	    {"", "no header row"},
	    /* a quoted field over two lines is one record (and a name holds no newline) */
	    {"campaign_id,name\n101,\"two\nlines\"\n102,x,y\n",
	     "row 1: name: holds a control character"},
	    {"campaign_id,name\n101,\"a\nb\"\n", "row 1: name: holds a control character"},
	    {"campaign_id,name\n101,a\n102,\"b\nc\"\n", "row 2: name: holds a control character"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(camp_csv_parse(bad[i][0], strlen(bad[i][0]), &cs, &n, &err),
				 J_ERROR);
		assert_string_equal(err.msg, bad[i][1]);
		assert_null(cs);
		assert_int_equal(n, 0);
	}
}

/* A day of a UTC campaign, 1000 per hour so far at 06:30: linear, on track. */
static void test_pacing_linear(void **state)
{
	struct tz *z;
	struct campaign c;
	struct pacing p;
	struct pacing_hour h[7];
	struct jerr err;
	char why[200];
	(void)state;
	assert_int_equal(tz_open("UTC", &z, &err), J_OK);
	camp_init(&c, 7);
	assert_int_equal(camp_set_field(&c, "budget", "24000", 5, why, sizeof(why)), 0);
	c.per = CAMP_PER_DAY;
	int64_t day = 1772323200; /* 2026-03-01T00:00:00Z */
	for (int i = 0; i < 7; i++)
		h[i] = (struct pacing_hour){day + i * 3600, 1000000000};
	assert_int_equal(pacing_period(&c, z, day + 6 * 3600 + 1800, &p), 0);
	assert_int_equal(p.from_s, day);
	assert_int_equal(p.to_s, day + 86400);
	pacing_compute(&p, z, day + 6 * 3600 + 1800, h, 7);
	assert_int_equal(p.shaped, 0);
	assert_int_equal(p.spent_micros, 7000000000LL); /* the hour begun counts whole */
	assert_int_equal(p.expected_micros, 6500000000LL);
	assert_int_equal(p.state, PACING_ON_TRACK);
	assert_int_equal(p.projected_micros, 25846153846LL);
	assert_int_equal(p.has_runs_out, 1); /* at this rate, 22:xx the same day */
	assert_int_equal(p.runs_out_day, day / 86400);
	tz_close(z);
}

/* The day Berlin springs forward has 23 hours; its month is 743 hours long. */
static void test_pacing_dst(void **state)
{
	struct tz *z;
	struct campaign c;
	struct pacing p;
	struct jerr err;
	(void)state;
	assert_int_equal(tz_open("Europe/Berlin", &z, &err), J_OK);
	camp_init(&c, 8);
	c.budget_micros = 23000000;
	c.per = CAMP_PER_DAY;
	int64_t now = 1774771200; /* 2026-03-29T08:00:00Z, 10:00 CEST */
	assert_int_equal(pacing_period(&c, z, now, &p), 0);
	assert_int_equal(p.to_s - p.from_s, 23 * 3600);
	pacing_compute(&p, z, now, NULL, 0);
	/* midnight CET is 23:00Z: 9 of the day's 23 hours have passed */
	assert_int_equal(p.expected_micros, 9000000);
	assert_int_equal(p.state, PACING_UNDER);
	assert_int_equal(p.has_projected, 1);
	c.per = CAMP_PER_MONTH;
	assert_int_equal(pacing_period(&c, z, now, &p), 0);
	assert_int_equal(p.to_s - p.from_s, 743 * 3600);
	tz_close(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_csv),
	    cmocka_unit_test(test_pacing_linear),
	    cmocka_unit_test(test_pacing_dst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
