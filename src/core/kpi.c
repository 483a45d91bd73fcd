/*
 * kpi.c - KPIs as ratios of sums; NULL (has = 0) when the denominator is 0.
 */
#include "jobads/kpi.h"

#include "jobads/banned.h"

static struct kpi_value ratio(double num, double den)
{
	struct kpi_value v = {0, 0.0};
	if (den != 0.0) {
		v.has = 1;
		v.v = num / den;
	}
	return v;
}

void kpi_compute(const struct kpi_sums *s, struct kpis *o)
{
	double cost = (double)s->cost_micros / 1000000.0;
	o->spend = cost;
	o->ctr = ratio((double)s->clicks, (double)s->impressions);
	o->cpc = ratio(cost, (double)s->clicks);
	o->cpa = ratio(cost, (double)s->applies);
	o->apply_rate = ratio((double)s->applies, (double)s->clicks);
	o->roi = ratio((double)s->applies, cost);
	o->avg_quality = ratio((double)s->quality_sum, (double)s->records);
	o->avg_ctr = ratio(s->ctr_sum, (double)s->records);
	o->avg_cpc = ratio(s->cpc_sum, (double)s->records);
	o->avg_cpa = ratio(s->cpa_sum, (double)s->records);
	o->avg_roi = ratio(s->roi_sum, (double)s->records);
}
