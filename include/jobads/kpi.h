/*
 * kpi.h - KPIs as ad platforms define them: ratios of sums. A KPI whose
 * denominator is 0 is NULL (has == 0), never 0.
 */
#ifndef JOBADS_KPI_H
#define JOBADS_KPI_H

#include <stdint.h>

/* Sums over some set of fact rows. */
struct kpi_sums {
	int64_t records, impressions, clicks, applies, cost_micros, quality_sum;
	double ctr_sum, cpc_sum, cpa_sum, roi_sum;
};

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
