/*
 * kpi_json.c - grouped sums and their KPIs as JSON fields (kpi_json.h).
 */
#include "jobads/kpi_json.h"

#include "jobads/compare.h"

#include "jobads/banned.h"

static json_t *jv(struct kpi_value v)
{
	return v.has ? json_real(v.v) : json_null();
}

/*
 * A JSON number while the sum fits int64 (jansson's integer); past that, the
 * exact decimal as a string, since a JSON library (and JavaScript past 2^53)
 * would round a number: a total is never wrapped or rounded.
 */
json_t *kpi_json_int(kpi_int v)
{
	char buf[KPI_INT_BUF];
	if (kpi_int_fits64(v))
		return json_integer((json_int_t)v);
	return json_string(kpi_int_format(v, buf));
}

json_t *kpi_json_add(json_t *o, const struct kpi_sums *m)
{
	struct kpis k;
	kpi_compute(m, &k);
	json_object_set_new(o, "records", kpi_json_int(m->records));
	json_object_set_new(o, "impressions", kpi_json_int(m->impressions));
	json_object_set_new(o, "clicks", kpi_json_int(m->clicks));
	json_object_set_new(o, "applies", kpi_json_int(m->applies));
	json_object_set_new(o, "cost_micros", kpi_json_int(m->cost_micros));
	json_object_set_new(o, "spend", json_real(k.spend));
	json_object_set_new(o, "ctr", jv(k.ctr));
	json_object_set_new(o, "cpc", jv(k.cpc));
	json_object_set_new(o, "cpa", jv(k.cpa));
	json_object_set_new(o, "apply_rate", jv(k.apply_rate));
	json_object_set_new(o, "roi", jv(k.roi));
	json_object_set_new(o, "avg_quality_score", jv(k.avg_quality));
	return o;
}

json_t *kpi_json_change(const struct kpi_sums *cur, const struct kpi_sums *prev)
{
	json_t *o = json_object();
	for (size_t i = 0; kpi_change_names[i]; i++) {
		struct kpi_value v;
		kpi_change(cur, prev, kpi_change_names[i], &v);
		json_object_set_new(o, kpi_change_names[i], jv(v));
	}
	return o;
}
