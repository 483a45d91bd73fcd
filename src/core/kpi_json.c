/*
 * kpi_json.c - grouped sums and their KPIs as JSON fields (kpi_json.h).
 */
#include "jobads/kpi_json.h"

#include "jobads/banned.h"

static json_t *jv(struct kpi_value v)
{
	return v.has ? json_real(v.v) : json_null();
}

json_t *kpi_json_add(json_t *o, const struct kpi_sums *m)
{
	struct kpis k;
	kpi_compute(m, &k);
	json_object_set_new(o, "records", json_integer(m->records));
	json_object_set_new(o, "impressions", json_integer(m->impressions));
	json_object_set_new(o, "clicks", json_integer(m->clicks));
	json_object_set_new(o, "applies", json_integer(m->applies));
	json_object_set_new(o, "cost_micros", json_integer(m->cost_micros));
	json_object_set_new(o, "spend", json_real(k.spend));
	json_object_set_new(o, "ctr", jv(k.ctr));
	json_object_set_new(o, "cpc", jv(k.cpc));
	json_object_set_new(o, "cpa", jv(k.cpa));
	json_object_set_new(o, "apply_rate", jv(k.apply_rate));
	json_object_set_new(o, "roi", jv(k.roi));
	json_object_set_new(o, "avg_quality_score", jv(k.avg_quality));
	return o;
}
