/*
 * kpi_json.h - one JSON shape for grouped sums and their KPIs, shared by
 * `report --json` and the web API so that both print the same fields.
 */
#ifndef JOBADS_KPI_JSON_H
#define JOBADS_KPI_JSON_H

#include <jansson.h>

#include "jobads/kpi.h"

/*
 * Add records, impressions, clicks, applies, cost_micros, spend, ctr, cpc, cpa,
 * apply_rate, roi and avg_quality_score (null where a denominator is 0) to o.
 * Returns o; the caller keeps owning it.
 */
json_t *kpi_json_add(json_t *o, const struct kpi_sums *m);

#endif
