/*
 * kpi.c - KPIs as ratios of sums; NULL (has = 0) when the denominator is 0.
 */
#include "jobads/kpi.h"

#include "jobads/banned.h"

char *kpi_int_format(kpi_int v, char buf[KPI_INT_BUF])
{
	char tmp[KPI_INT_BUF];
	size_t n = 0, o = 0;
	/* digits of the magnitude, taken from a negative value so that the minimum has one */
	kpi_int x = v < 0 ? v : -v;
	do {
		tmp[n++] = (char)('0' - (int)(x % 10));
		x /= 10;
	} while (x != 0);
	if (v < 0)
		buf[o++] = '-';
	while (n > 0)
		buf[o++] = tmp[--n];
	buf[o] = '\0';
	return buf;
}

int kpi_int_parse(const char *s, size_t n, kpi_int *v)
{
	/* accumulate negatively: the range of kpi_int is one wider below zero */
	const kpi_int min = -(((kpi_int)1 << 126) - 1) * 2 - 2;
	size_t i = 0;
	int neg = 0;
	kpi_int x = 0;
	if (n > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == n)
		return -1;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		int d = s[i] - '0';
		if (x < (min + d) / 10)
			return -1;
		x = x * 10 - d;
	}
	if (!neg) {
		if (x == min)
			return -1;
		x = -x;
	}
	*v = x;
	return 0;
}

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
