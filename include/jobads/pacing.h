/*
 * pacing.h - spend against budget for a campaign's current period (issue 17):
 * spend so far, the spend expected by now following the campaign's own traffic
 * shape, the projection to the period's end, the budget left, a state, and the
 * day the budget runs out at the current rate. Pure arithmetic over an hourly
 * spend series, so that the command, the API and the tests share one rule
 * (docs/architecture.md, "Pacing").
 */
#ifndef JOBADS_PACING_H
#define JOBADS_PACING_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "jobads/campaign.h"
#include "jobads/tz.h"

/* On track while spend / expected is within [1 - PACING_BAND, 1 + PACING_BAND]. */
#define PACING_BAND 0.10
/* The traffic shape: spend by local hour of week over this many weeks before the period. */
#define PACING_HISTORY_WEEKS 4

enum pacing_state {
	PACING_ON_TRACK,
	PACING_OVER,
	PACING_UNDER,
	PACING_EXHAUSTED,
	PACING_INACTIVE /* now is outside the campaign's flight */
};

/* "on track", "over-pacing", "under-pacing", "exhausted", "inactive" */
const char *pacing_state_name(enum pacing_state s);

struct pacing {
	int32_t id;
	int64_t from_s, to_s;	  /* the period, clipped to the flight: UTC instants */
	int64_t from_day, to_day; /* the same as local days, to_day exclusive */
	int64_t hist_from_s;	  /* the shape's history starts here and ends at from_s */
	int64_t budget_micros;	  /* for the period */
	int64_t spent_micros;	  /* hours of the period that started before now */
	int64_t expected_micros;  /* rounded to the micro */
	int has_projected;	  /* 0 when no part of the period's shape has passed yet */
	int64_t projected_micros; /* at the period's end, at the current rate */
	int64_t left_micros;	  /* budget - spent, at least 0 */
	int shaped;		  /* 1: the history's shape; 0: linear in time */
	double elapsed_share;	  /* of the period's shape, 0..1 */
	int has_runs_out;	  /* the budget runs out within the period */
	int64_t runs_out_day;	  /* that local day (of the hour the spend reaches it) */
	enum pacing_state state;
};

/* One hour of spend: the UTC instant its local hour starts, as fact_hourly's hour_start. */
struct pacing_hour {
	int64_t hour_start;
	int64_t cost_micros;
};

/*
 * The period of c that holds now_s in zone z (c must have a budget): the local
 * day or month, or the flight, clipped to the flight's dates; and the span of
 * hours the computation needs, [p->hist_from_s, p->to_s). Sets p's id, period,
 * budget and hist_from_s. 0, or -1 when the period is empty (a flight that
 * ends before the day or month it would start: not possible after camp_check).
 */
int pacing_period(const struct campaign *c, const struct tz *z, int64_t now_s, struct pacing *p);

/*
 * The rest of p from the campaign's hourly spend h[0..n) over (at least)
 * [p->hist_from_s, min(now_s, p->to_s)), in any order; hours outside are
 * ignored. p must come from pacing_period.
 */
void pacing_compute(struct pacing *p, const struct tz *z, int64_t now_s,
		    const struct pacing_hour *h, size_t n);

/*
 * One campaign's pacing as JSON, for `pacing --json` and GET /api/pacing: money
 * as exact *_micros integers and as numbers beside them, dates as YYYY-MM-DD
 * (period_end the last day, inclusive), null where there is none. A new object.
 */
json_t *pacing_json(const struct pacing *p, const struct campaign *c);

/*
 * The campaigns' hourly spend as last read, for a process that asks for pacing
 * again and again (serve): good while the data version (anstore_data_version)
 * and every campaign's range stay the same, that is until an ETL run or the next
 * day or period. Thread-safe; one computation at a time uses it.
 */
struct pacing_cache;
struct pacing_cache *pacing_cache_new(void);
void pacing_cache_free(struct pacing_cache *pc);

/*
 * Pacing of every campaign with a budget in analytics store as, at now_s, in
 * the store's zone: *out holds *n of them in campaign id order, with their
 * attributes in (*camps)[i] (free both). The hours come from pc when it holds
 * them (NULL: no cache), else from one grouped query over the campaigns'
 * merged ranges (AN_CAMPAIGN_HOURLY), however many campaigns there are.
 */
struct anstore;
enum jrc pacing_read(struct anstore *as, int64_t now_s, struct pacing_cache *pc,
		     struct pacing **out, struct campaign **camps, size_t *n, struct jerr *err);

#endif
