/*
 * test_kpi_csv.c - the CSV cells of src/core/kpi_csv.c: RFC 4180 quoting, the
 * OWASP neutralisation of formula text, integer sums and money from micros
 * written exactly, ratios and their NULL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jobads/kpi_csv.h"

static char out[512];

static const char *text(const char *s, size_t n)
{
	struct strbuf sb = {0};
	kpi_csv_text(&sb, s, n);
	strbuf_add(&sb, "", 1);
	snprintf(out, sizeof(out), "%s", sb.buf);
	strbuf_release(&sb);
	return out;
}

#define T(s) text(s, strlen(s))

static const char *micros(kpi_int v)
{
	struct strbuf sb = {0};
	kpi_csv_micros(&sb, v);
	strbuf_add(&sb, "", 1);
	snprintf(out, sizeof(out), "%s", sb.buf);
	strbuf_release(&sb);
	return out;
}

static void quoting(void **state)
{
	(void)state;
	assert_string_equal(T("plain text"), "plain text");
	assert_string_equal(T(""), "");
	assert_string_equal(T("a,b"), "\"a,b\"");
	assert_string_equal(T("say \"hi\""), "\"say \"\"hi\"\"\"");
	assert_string_equal(T("\""), "\"\"\"\"");
	assert_string_equal(T("two\nlines"), "\"two\nlines\"");
	assert_string_equal(T("cr\r"), "\"cr\r\"");
	assert_string_equal(T("a,b \"c\"\nd"), "\"a,b \"\"c\"\"\nd\"");
	assert_string_equal(T("Hà Nội"), "Hà Nội");
}

static void formulas(void **state)
{
	(void)state;
	assert_string_equal(T("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
	assert_string_equal(T("+1"), "\"'+1\"");
	assert_string_equal(T("-1+2"), "\"'-1+2\"");
	assert_string_equal(T("@SUM(A1)"), "\"'@SUM(A1)\"");
	assert_string_equal(T("\t=1"), "\"'\t=1\"");
	assert_string_equal(T("\r=1"), "\"'\r=1\"");
	/* only the first character starts a formula */
	assert_string_equal(T("a=1"), "a=1");
	assert_string_equal(T(" =1"), " =1");
	assert_string_equal(T("'quoted"), "'quoted");
}

static void numbers(void **state)
{
	struct strbuf sb = {0};
	(void)state;
	assert_string_equal(micros(0), "0.000000");
	assert_string_equal(micros(1), "0.000001");
	assert_string_equal(micros(1234567890), "1234.567890");
	assert_string_equal(micros(-500000), "-0.500000");
	assert_string_equal(micros(-1250000), "-1.250000");
	assert_string_equal(micros(INT64_MAX), "9223372036854.775807");
	/* past int64: a total of many rows, still exact */
	assert_string_equal(micros((kpi_int)INT64_MAX * 1000), "9223372036854775.807000");
	assert_string_equal(micros((kpi_int)INT64_MIN * 3), "-27670116110564.327424");
	kpi_csv_int(&sb, (kpi_int)1234567);
	kpi_csv_int(&sb, (kpi_int)INT64_MAX * 4);
	strbuf_add(&sb, "", 1);
	assert_string_equal(sb.buf, "123456736893488147419103228");
	strbuf_release(&sb);
}

static void rows(void **state)
{
	struct strbuf sb = {0};
	struct kpi_sums m;
	const char *keys[] = {"publisher_id", "publisher_name"};
	(void)state;
	kpi_csv_header(&sb, keys, 2, 0);
	memset(&m, 0, sizeof(m));
	m.records = 2;
	m.impressions = 3;
	m.clicks = 1;
	m.cost_micros = 2500000;
	m.quality_sum = 101;
	kpi_csv_metrics(&sb, &m, 15, 1);
	kpi_csv_end_row(&sb);
	strbuf_add(&sb, "", 1);
	assert_string_equal(sb.buf,
			    "publisher_id,publisher_name,records,impressions,clicks,applies,"
			    "cost_micros,spend,ctr,cpc,cpa,apply_rate,roi,avg_quality_score\r\n"
			    ",2,3,1,0,2500000,2.500000,0.333333333333333,2.5,,0,0,50.5\r\n");
	strbuf_reset(&sb);
	kpi_csv_metrics(&sb, &m, 15, 0); /* a row without key cells (the totals) */
	strbuf_add(&sb, "", 1);
	assert_string_equal(sb.buf, "2,3,1,0,2500000,2.500000,0.333333333333333,2.5,,0,0,50.5");
	strbuf_reset(&sb);
	assert_int_equal(kpi_csv_metric(&sb, &m, "bogus", 15), -1);
	assert_int_equal(sb.len, 0);
	assert_int_equal(kpi_csv_metric(&sb, &m, "ctr", 17), 0);
	strbuf_add(&sb, "", 1);
	assert_string_equal(sb.buf, "0.33333333333333331");
	strbuf_release(&sb);
	/* the header names every column kpi_json_add writes, no more */
	size_t n = 0;
	while (kpi_csv_columns[n])
		n++;
	assert_int_equal(n, 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(quoting),
	    cmocka_unit_test(formulas),
	    cmocka_unit_test(numbers),
	    cmocka_unit_test(rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
