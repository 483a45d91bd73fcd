/*
 * cron.h - five-field cron expressions (minute hour day-of-month month
 * day-of-week), in UTC, as crontab(5) defines them: '*', numbers, ranges a-b,
 * steps (star-slash-n, a-b/n), lists, month and weekday names (jan, mon), 7 for Sunday,
 * and the @hourly, @daily, @weekly, @monthly, @yearly shorthands. When both
 * day fields are restricted, a day matches if either does (as in Vixie cron).
 */
#ifndef JOBADS_CRON_H
#define JOBADS_CRON_H

#include <stdint.h>

#include "jobads/util.h"

struct cron {
	uint64_t minute;      /* bit m: minute m, 0..59 */
	uint32_t hour;	      /* bit h: 0..23 */
	uint32_t dom;	      /* bit d: day of month 1..31 */
	uint32_t month;	      /* bit m: 1..12 */
	uint32_t dow;	      /* bit d: 0 (Sunday) .. 6 */
	int dom_any, dow_any; /* the field was '*' (or '*' with a step) */
};

/* Parse expr: 0, or -1 with err naming the field and the reason. */
int cron_parse(const char *expr, struct cron *c, struct jerr *err);

/*
 * The first minute strictly after after_s (unix seconds, UTC) that c matches,
 * as unix seconds; -1 when none comes within five years (e.g. "0 0 30 2 *").
 */
int64_t cron_next(const struct cron *c, int64_t after_s);

#endif
