/*
 * kpi_csv.c - grouped sums and their KPIs as CSV cells and rows (kpi_csv.h).
 */
#include "jobads/kpi_csv.h"

#include <stdio.h>
#include <string.h>

#include "jobads/compare.h"

#include "jobads/banned.h"

const char *const kpi_csv_columns[] = {
    "records", "impressions", "clicks",	    "applies", "cost_micros",	    "spend", "ctr",
    "cpc",     "cpa",	      "apply_rate", "roi",     "avg_quality_score", NULL};

void kpi_csv_text(struct strbuf *sb, const char *s, size_t n)
{
	/* OWASP's list: what Excel, LibreOffice and Sheets start a formula (or DDE) with */
	int formula = n > 0 && memchr("=+-@\t\r", s[0], 6) != NULL;
	int quote = formula;
	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	if (!quote) {
		strbuf_add(sb, s, n);
		return;
	}
	strbuf_add(sb, "\"", 1);
	if (formula)
		strbuf_add(sb, "'", 1);
	for (size_t i = 0, j = 0; i <= n; i++) {
		if (i == n || s[i] == '"') {
			strbuf_add(sb, s + j, i - j + (i < n)); /* the quote itself, then again */
			j = i;
		}
	}
	strbuf_add(sb, "\"", 1);
}

void kpi_csv_int(struct strbuf *sb, kpi_int v)
{
	char buf[KPI_INT_BUF];
	kpi_int_format(v, buf);
	strbuf_add(sb, buf, strlen(buf));
}

void kpi_csv_micros(struct strbuf *sb, kpi_int micros)
{
	char buf[KPI_INT_BUF];
	/* the magnitude's digits as a negative number: the minimum has no positive twin */
	kpi_int whole = micros / 1000000, frac = micros % 1000000;
	if (frac < 0)
		frac = -frac;
	if (micros < 0)
		strbuf_add(sb, "-", 1);
	kpi_int_format(whole, buf);
	strbuf_add(sb, buf[0] == '-' ? buf + 1 : buf, strlen(buf) - (buf[0] == '-'));
	strbuf_addf(sb, ".%06d", (int)frac);
}

static void ratio(struct strbuf *sb, struct kpi_value v, int precision)
{
	if (v.has)
		strbuf_addf(sb, "%.*g", precision, v.v);
}

int kpi_csv_metric(struct strbuf *sb, const struct kpi_sums *m, const char *column, int precision)
{
	struct kpis k;
	const kpi_int *ints[] = {&m->records, &m->impressions, &m->clicks, &m->applies};
	for (size_t i = 0; i < 4; i++)
		if (strcmp(column, kpi_csv_columns[i]) == 0) {
			kpi_csv_int(sb, *ints[i]);
			return 0;
		}
	if (strcmp(column, "cost_micros") == 0) {
		kpi_csv_int(sb, m->cost_micros);
		return 0;
	}
	if (strcmp(column, "spend") == 0) {
		kpi_csv_micros(sb, m->cost_micros);
		return 0;
	}
	kpi_compute(m, &k);
	const struct kpi_value *v = strcmp(column, "ctr") == 0		       ? &k.ctr
				    : strcmp(column, "cpc") == 0	       ? &k.cpc
				    : strcmp(column, "cpa") == 0	       ? &k.cpa
				    : strcmp(column, "apply_rate") == 0	       ? &k.apply_rate
				    : strcmp(column, "roi") == 0	       ? &k.roi
				    : strcmp(column, "avg_quality_score") == 0 ? &k.avg_quality
									       : NULL;
	if (!v)
		return -1;
	ratio(sb, *v, precision);
	return 0;
}

void kpi_csv_metrics(struct strbuf *sb, const struct kpi_sums *m, int precision, int after_keys)
{
	for (size_t i = 0; kpi_csv_columns[i]; i++) {
		if (i || after_keys)
			strbuf_add(sb, ",", 1);
		kpi_csv_metric(sb, m, kpi_csv_columns[i], precision);
	}
}

void kpi_csv_header(struct strbuf *sb, const char *const *keys, size_t nkeys, int compare)
{
	for (size_t i = 0; i < nkeys; i++) {
		if (i)
			strbuf_add(sb, ",", 1);
		kpi_csv_text(sb, keys[i], strlen(keys[i]));
	}
	for (size_t i = 0; kpi_csv_columns[i]; i++) {
		if (i || nkeys)
			strbuf_add(sb, ",", 1);
		strbuf_add(sb, kpi_csv_columns[i], strlen(kpi_csv_columns[i]));
	}
	if (compare) {
		for (size_t i = 0; kpi_csv_columns[i]; i++)
			strbuf_addf(sb, ",previous_%s", kpi_csv_columns[i]);
		for (size_t i = 0; kpi_change_names[i]; i++)
			strbuf_addf(sb, ",change_pct_%s", kpi_change_names[i]);
	}
	kpi_csv_end_row(sb);
}

void kpi_csv_compare(struct strbuf *sb, const struct kpi_sums *cur, const struct kpi_sums *prev,
		     int precision)
{
	static const struct kpi_sums none; /* a group the earlier period does not have */
	for (size_t i = 0; kpi_csv_columns[i]; i++) {
		strbuf_add(sb, ",", 1);
		if (prev)
			kpi_csv_metric(sb, prev, kpi_csv_columns[i], precision);
	}
	for (size_t i = 0; kpi_change_names[i]; i++) {
		struct kpi_value v;
		kpi_change(cur, prev ? prev : &none, kpi_change_names[i], &v);
		strbuf_add(sb, ",", 1);
		ratio(sb, v, precision);
	}
}

void kpi_csv_end_row(struct strbuf *sb)
{
	strbuf_add(sb, "\r\n", 2);
}
