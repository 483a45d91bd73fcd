/*
 * kpi.h - KPIs as ad platforms define them: ratios of sums. A KPI whose
 * denominator is 0 is NULL (has == 0), never 0.
 */
#ifndef JOBADS_KPI_H
#define JOBADS_KPI_H

#include <stddef.h>
#include <stdint.h>

/*
 * A sum of int64 values: 128 bits, so that no total over any number of fact
 * rows (each at most INT64_MAX) can wrap. GCC and Clang have __int128;
 * __extension__ keeps -pedantic quiet about it.
 */
__extension__ typedef __int128 kpi_int;

/* Sums over some set of events or fact rows. */
struct kpi_sums {
	kpi_int records, impressions, clicks, applies, cost_micros, quality_sum;
	double ctr_sum, cpc_sum, cpa_sum, roi_sum;
};

/* Room for any kpi_int as decimal text: a sign, 39 digits and the NUL. */
#define KPI_INT_BUF 41

static inline int kpi_int_fits64(kpi_int v)
{
	return v >= INT64_MIN && v <= INT64_MAX;
}

/* v as decimal text in buf; returns buf. */
char *kpi_int_format(kpi_int v, char buf[KPI_INT_BUF]);
/* Decimal text (optional '-', then digits only) to *v: 0, or -1 when it is not
 * an integer or does not fit. */
int kpi_int_parse(const char *s, size_t n, kpi_int *v);

struct kpi_value {
	int has; /* 0: NULL (zero denominator) */
	double v;
};

struct kpis {
	double spend;		     /* cost_micros / 1e6 */
	struct kpi_value ctr;	     /* clicks / impressions */
	struct kpi_value cpc;	     /* cost / clicks */
	struct kpi_value cpa;	     /* cost / applies */
	struct kpi_value apply_rate; /* applies / clicks */
	struct kpi_value roi;	     /* applies / cost (the original's name) */
	struct kpi_value avg_quality;
	/* the original's plain means of per-record ratios, for the seed-compatible columns */
	struct kpi_value avg_ctr, avg_cpc, avg_cpa, avg_roi;
};

void kpi_compute(const struct kpi_sums *s, struct kpis *out);

#endif
