/*
 * campaign.h - a campaign's attributes (name, flight dates, budget per period)
 * as the analytics store keeps them in dim_campaign, and the parsers that every
 * way of setting them shares (jobads campaign set/load, PUT /api/campaigns/ID),
 * so that a bad value is refused with the same words whichever way it came.
 *
 * Dates are calendar days of the store's reporting time zone (tz.h); a budget
 * is exact micros of the cost currency, parsed by the cost parser.
 */
#ifndef JOBADS_CAMPAIGN_H
#define JOBADS_CAMPAIGN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "jobads/util.h"

#define CAMP_NAME_MAX 200
/* A budget of up to 1e12 units: its micros (1e18) and any sum of spend beside it fit int64. */
#define CAMP_BUDGET_MAX_UNITS 1000000000000LL

/* What a budget is per: the local day, the local month, or the whole flight. */
enum camp_period { CAMP_PER_NONE = 0, CAMP_PER_DAY, CAMP_PER_MONTH, CAMP_PER_FLIGHT };

struct campaign {
	int32_t id;
	char name[CAMP_NAME_MAX * 4 + 1]; /* "" when none; up to 200 characters of UTF-8 */
	int has_start, has_end;
	int64_t start_day, end_day; /* days since 1970-01-01 in the local calendar; end inclusive */
	int64_t budget_micros;	    /* -1: no budget */
	enum camp_period per;	    /* CAMP_PER_NONE exactly when there is no budget */
};

/* No name, no dates, no budget. */
void camp_init(struct campaign *c, int32_t id);

/* "day", "month", "flight"; NULL for CAMP_PER_NONE. */
const char *camp_period_name(enum camp_period p);

/*
 * The field parsers. Each takes n bytes of text and returns 0, or -1 with the
 * reason in why ("not a date: '2026-13-01'"), without the field's name, which
 * the caller adds. The text "none" (or "") clears a date or a budget.
 */
int camp_parse_id(const char *s, size_t n, int32_t *id, char *why, size_t whylen);
int camp_parse_name(const char *s, size_t n, char *out, char *why, size_t whylen);
int camp_parse_date(const char *s, size_t n, int *has, int64_t *day, char *why, size_t whylen);
int camp_parse_budget(const char *s, size_t n, int64_t *micros, char *why, size_t whylen);
int camp_parse_period(const char *s, size_t n, enum camp_period *p, char *why, size_t whylen);

/*
 * Set a field by its name (id, name, start, end, budget, per) from text, for
 * the CSV loader and the API. -1 with "FIELD: reason" in why, also for an
 * unknown field name.
 */
int camp_set_field(struct campaign *c, const char *field, const char *s, size_t n, char *why,
		   size_t whylen);

/*
 * The rules across fields: an end not before the start, a budget with a period
 * and a period with a budget, a flight budget with both dates. -1 with
 * "FIELD: reason" in why.
 */
int camp_check(const struct campaign *c, char *why, size_t whylen);

/*
 * A campaign from a dim_campaign row as a backend reads it: text columns NULL
 * when absent, budget_micros < 0 when NULL. -1 with why when a stored value is
 * not one this build writes (a hand-edited row).
 */
int camp_from_row(struct campaign *c, int32_t id, const char *name, const char *start,
		  const char *end, int64_t budget_micros, const char *per, char *why,
		  size_t whylen);

/* "YYYY-MM-DD" of a local day into buf (>= 11 bytes); returns buf. */
char *camp_date_format(int64_t day, char *buf, size_t len);

/*
 * One JSON shape for a campaign, for `campaign list --json` and the API:
 * campaign_id, campaign_name, start, end, budget (exact decimal text, as a PUT
 * takes it), budget_micros and per, null where unset. A new object.
 */
json_t *camp_json(const struct campaign *c);

/*
 * The attributes of a JSON object (a PUT body) over c: members campaign_name
 * (or name), start, end, budget, per; a member given as null clears it, one
 * left out keeps c's value. A budget is a string or an integer (a JSON number
 * with a fraction would reach us as a double: not exact). -1 with "FIELD:
 * reason" in why.
 */
int camp_from_json(struct campaign *c, json_t *o, char *why, size_t whylen);

/*
 * A CSV file of campaigns: a header row naming the columns (campaign_id is
 * required; name, start, end, budget, per are optional, in any order), then one
 * campaign per row. All or nothing: the first bad row fails the whole file with
 * "row N: FIELD: reason" in err (N counts data rows from 1, after the header).
 * On success *out holds *n campaigns (free it).
 */
int camp_csv_parse(const char *text, size_t len, struct campaign **out, size_t *n,
		   struct jerr *err);

#endif
