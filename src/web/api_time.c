/*
 * api_time.c - the JSON API's time routes, /api/heatmap and /api/timeseries:
 * hours, weekdays and days, in the store's reporting time zone or, with tz=, in
 * another one (zone.c folds the store's hourly series into it). The answer
 * itself is written like every read route's (api.c).
 */
#include <string.h>

#include "internal.h"
#include "jobads/tz.h"

#include "jobads/banned.h"

/*
 * tz=: open the zone asked for, 400 when there is none of that name. One that is
 * the store's own is answered by the store (p->zone stays NULL). -1 when replied.
 */
static int open_zone(struct req *r, struct api_params *p, struct tz **z)
{
	struct jerr err;
	struct anstore *as = NULL;
	*z = NULL;
	if (!p->tz[0])
		return 0;
	if (tz_open(p->tz, z, &err) != J_OK) {
		reply_error(r, 400, "tz: %s", err.msg);
		return -1;
	}
	int q = pool_an_get(r->w, &as, &err);
	if (q == J_OK)
		q = as->ops->zone(as, p->store_zone, sizeof(p->store_zone), &err);
	pool_an_put(r->w, as, q != J_OK);
	if (q != J_OK) {
		tz_close(*z);
		*z = NULL;
		reply_error(r, 503, "analytics store: %s", err.msg);
		return -1;
	}
	if (strcmp(p->store_zone, tz_name(*z)) != 0)
		p->zone = *z;
	return 0;
}

/* The answer of a time route, in the zone tz= asked for. */
static int answer_in_zone(struct req *r, json_t *doc, enum an_dim dim, struct api_params *p,
			  int metric, const char *name)
{
	struct tz *z;
	if (open_zone(r, p, &z)) {
		json_decref(doc);
		return r->status;
	}
	if (z)
		json_object_set_new(doc, "tz", json_string(tz_name(z)));
	int st = api_answer(r, doc, dim, p, metric, name);
	tz_close(z);
	return st;
}

int api_heatmap(struct req *r)
{
	struct api_params p;
	if (api_query_params(r, AP_RANGE | AP_FILTERS | AP_FORMAT | AP_COMPARE | AP_TZ, &p))
		return r->status;
	json_t *doc = api_doc(&p);
	json_object_set_new(
	    doc, "note",
	    json_string("weekday is ISO (1 = Monday), weekday and hour are local to "
			"tz; cells without data are absent"));
	return answer_in_zone(r, doc, AN_WEEKDAY_HOUR, &p, -1, "cells");
}

int api_timeseries(struct req *r)
{
	struct api_params p;
	if (api_query_params(
		r, AP_RANGE | AP_FILTERS | AP_INTERVAL | AP_METRIC | AP_FORMAT | AP_COMPARE | AP_TZ,
		&p))
		return r->status;
	if (p.compare != KPI_COMPARE_NONE && p.format == API_CSV)
		return reply_error(r, 400,
				   "compare: a time series has no groups to put the earlier "
				   "period beside; download the earlier range as its own CSV");
	json_t *doc = api_doc(&p);
	json_object_set_new(doc, "interval", json_string(p.interval == API_DAY ? "day" : "hour"));
	json_object_set_new(doc, "metric",
			    p.metric >= 0 ? json_string(api_metric_names[p.metric]) : json_null());
	return answer_in_zone(r, doc, p.interval == API_DAY ? AN_DAY : AN_HOURLY, &p, p.metric,
			      "points");
}
