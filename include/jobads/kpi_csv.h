/*
 * kpi_csv.h - grouped sums and their KPIs as CSV (RFC 4180), the columns of
 * kpi_json_add in its order, shared by `report --format csv` and the web API's
 * format=csv so that both write the same columns in the same formats.
 */
#ifndef JOBADS_KPI_CSV_H
#define JOBADS_KPI_CSV_H

#include <stddef.h>

#include "jobads/kpi.h"
#include "jobads/util.h"

/* The metric columns, named as in kpi_json_add, NULL-terminated. */
extern const char *const kpi_csv_columns[];

/*
 * One text cell. Text that a spreadsheet would run as a formula (first byte
 * = + - @, tab or CR) gets a leading ' as OWASP advises; a cell holding , " CR
 * or LF, or so prefixed, is quoted with its quotes doubled (RFC 4180).
 */
void kpi_csv_text(struct strbuf *sb, const char *s, size_t n);
/* An integer sum, plain digits: no thousands separators, never rounded. */
void kpi_csv_int(struct strbuf *sb, kpi_int v);
/* Micros as money with exactly six decimals ("-1.250000"), no floating point. */
void kpi_csv_micros(struct strbuf *sb, kpi_int micros);
/* One metric column's cell (a name of kpi_csv_columns); ratios with `precision`
 * significant digits as the JSON beside it prints them, empty for NULL.
 * Returns -1 for an unknown column, writing nothing. */
int kpi_csv_metric(struct strbuf *sb, const struct kpi_sums *m, const char *column, int precision);
/* Every metric column, comma-separated; after_keys: a comma before the first too,
 * after the row's key cells. */
void kpi_csv_metrics(struct strbuf *sb, const struct kpi_sums *m, int precision, int after_keys);
/* The header row: the key columns, then every metric column, then CRLF. With
 * compare, then previous_COLUMN for each metric column and change_pct_KPI for
 * each of kpi_change_names (kpi_csv_compare's cells). */
void kpi_csv_header(struct strbuf *sb, const char *const *keys, size_t nkeys, int compare);
/* A compared row's extra cells, each after a comma: the earlier period's metric
 * cells (empty when prev is NULL: a group it does not have), then the change of
 * each KPI in percent (empty where there is none, kpi_change). */
void kpi_csv_compare(struct strbuf *sb, const struct kpi_sums *cur, const struct kpi_sums *prev,
		     int precision);
/* The end of a row: CRLF, as RFC 4180 has it. */
void kpi_csv_end_row(struct strbuf *sb);

#endif
