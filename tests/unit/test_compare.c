/*
 * test_compare.c - src/core/compare.c: the earlier range of each mode and its
 * refusals, each KPI's change with its NULLs (an earlier 0, a NULL ratio), and
 * the matching of the earlier period's groups by key and label.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "jobads/compare.h"

#define DAY 86400LL

static void ranges(void **state)
{
	(void)state;
	int64_t f, t;
	char why[200];
	enum kpi_compare m;
	assert_int_equal(kpi_compare_parse("previous", 8, &m), 0);
	assert_int_equal(m, KPI_COMPARE_PREVIOUS);
	assert_int_equal(kpi_compare_parse("year", 4, &m), 0);
	assert_int_equal(m, KPI_COMPARE_YEAR);
	assert_int_equal(kpi_compare_parse("years", 5, &m), -1);
	assert_int_equal(kpi_compare_parse("prev", 4, &m), -1);

	/* a week before a week, and an open end counted to now */
	assert_int_equal(kpi_compare_range(KPI_COMPARE_PREVIOUS, 70 * DAY, 77 * DAY, 0, &f, &t, why,
					   sizeof(why)),
			 0);
	assert_true(f == 63 * DAY && t == 70 * DAY);
	assert_int_equal(kpi_compare_range(KPI_COMPARE_PREVIOUS, 70 * DAY, INT64_MAX, 71 * DAY, &f,
					   &t, why, sizeof(why)),
			 0);
	assert_true(f == 69 * DAY && t == 70 * DAY);
	/* no from: no length */
	assert_int_equal(kpi_compare_range(KPI_COMPARE_PREVIOUS, INT64_MIN, 77 * DAY, 0, &f, &t,
					   why, sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "needs a from"));
	/* a year is 52 weeks: the same weekday */
	assert_int_equal(
	    kpi_compare_range(KPI_COMPARE_YEAR, 400 * DAY, 407 * DAY, 0, &f, &t, why, sizeof(why)),
	    0);
	assert_true(f == 36 * DAY && t == 43 * DAY);
	assert_int_equal((f / DAY + 4) % 7, (400 * DAY / DAY + 4) % 7);
	/* open from stays open; a to near the bottom of the range does not wrap */
	assert_int_equal(kpi_compare_range(KPI_COMPARE_YEAR, INT64_MIN, INT64_MIN + 5, 0, &f, &t,
					   why, sizeof(why)),
			 0);
	assert_true(f == INT64_MIN && t == INT64_MIN);
}

static void changes(void **state)
{
	(void)state;
	struct kpi_sums cur = {0}, prev = {0};
	struct kpi_value v;
	cur.clicks = 150;
	cur.impressions = 1000;
	cur.cost_micros = 300000000; /* 300 */
	prev.clicks = 100;
	prev.impressions = 1000;
	prev.cost_micros = 400000000;
	assert_int_equal(kpi_change(&cur, &prev, "clicks", &v), 0);
	assert_true(v.has && v.v == 50.0);
	assert_int_equal(kpi_change(&cur, &prev, "spend", &v), 0);
	assert_true(v.has && v.v == -25.0);
	/* CPC 2 from 4: -50 % */
	assert_int_equal(kpi_change(&cur, &prev, "cpc", &v), 0);
	assert_true(v.has && v.v == -50.0);
	/* applies 0 then: no percentage, not infinity */
	cur.applies = 5;
	assert_int_equal(kpi_change(&cur, &prev, "applies", &v), 0);
	assert_false(v.has);
	/* CPA is NULL then (no applies): none */
	assert_int_equal(kpi_change(&cur, &prev, "cpa", &v), 0);
	assert_false(v.has);
	/* and NULL now: none either */
	assert_int_equal(kpi_change(&prev, &cur, "cpa", &v), 0);
	assert_false(v.has);
	/* down to 0: -100 % */
	assert_int_equal(kpi_change(&prev, &cur, "applies", &v), 0);
	assert_true(v.has && v.v == -100.0);
	assert_int_equal(kpi_change(&cur, &prev, "bogus", &v), -1);
	for (size_t i = 0; kpi_change_names[i]; i++)
		assert_int_equal(kpi_change(&cur, &prev, kpi_change_names[i], &v), 0);
}

static void groups(void **state)
{
	(void)state;
	struct kpi_groups gs = {0};
	struct kpi_sums a = {0}, b = {0}, c = {0};
	a.records = 1;
	b.records = 2;
	c.records = 3;
	kpi_groups_add(&gs, 0, "IT", &a);
	kpi_groups_add(&gs, 0, "Banking", &b);
	kpi_groups_add(&gs, 7, NULL, &c);
	assert_int_equal(kpi_groups_find(&gs, 0, "IT")->records, 1);
	assert_int_equal(kpi_groups_find(&gs, 0, "Banking")->records, 2);
	assert_int_equal(kpi_groups_find(&gs, 7, NULL)->records, 3);
	assert_null(kpi_groups_find(&gs, 0, "Sales"));
	assert_null(kpi_groups_find(&gs, 7, "x"));
	assert_null(kpi_groups_find(&gs, 8, NULL));
	/* added after a search: found too */
	kpi_groups_add(&gs, 8, NULL, &a);
	assert_int_equal(kpi_groups_find(&gs, 8, NULL)->records, 1);
	kpi_groups_free(&gs);
	assert_null(kpi_groups_find(&gs, 0, "IT"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ranges),
	    cmocka_unit_test(changes),
	    cmocka_unit_test(groups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
