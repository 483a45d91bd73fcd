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
 * The integer sums are numbers, or exact decimal strings past int64 (kpi_json_int).
 * Returns o; the caller keeps owning it.
 */
json_t *kpi_json_add(json_t *o, const struct kpi_sums *m);
/* A sum as a JSON number, or past int64 as a string of its exact digits (new reference). */
json_t *kpi_json_int(kpi_int v);

/*
 * The change from prev to cur of each KPI of kpi_change_names, in percent:
 * {"spend": 12.5, "ctr": null, ...}, null where there is no percentage
 * (kpi_change). A new object.
 */
json_t *kpi_json_change(const struct kpi_sums *cur, const struct kpi_sums *prev);

#endif
