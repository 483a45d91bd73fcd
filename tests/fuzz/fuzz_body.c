/*
 * fuzz_body.c - libFuzzer target for the body of POST /api/events: the array
 * splitter and NDJSON reader (src/web/body.c), the JSON object decoder and every
 * ev_builder rule behind them. Checks that what is accepted is valid.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jobads/web.h"

static int on_event(void *arg, long index, const struct event *ev)
{
	(void)arg;
	assert(index >= 0);
	assert(strlen(ev->event_id) == EV_UUID_LEN);
	assert(ev->hour >= 0 && ev->hour <= 23);
	assert(ev->day_of_week >= 1 && ev->day_of_week <= 7);
	assert(ev->impressions >= 0 && ev->impressions <= EV_COUNT_MAX);
	assert(ev->clicks >= 0 && ev->apply_count >= 0 && ev->cost_micros >= 0);
	assert(ev->publisher_id > 0 && ev->campaign_id > 0 && ev->job_id > 0);
	assert(ev->industry.n > 0 && ev->device.n > 0 && ev->publisher_name.n > 0);
	assert(ev->ts_ms >= EV_MIN_TS_MS);
	return 0;
}

static void on_reject(void *arg, long index, long line, const char *why)
{
	(void)arg;
	(void)line;
	assert(index >= 0);
	assert(why && why[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[512];
	why[0] = '\0';
	int r = body_decode((const char *)data, size, 1767225600000LL /* 2026-01-01 */, on_event,
			    on_reject, NULL, why, sizeof(why));
	assert(r == 0 || (r == -1 && why[0]));
	return 0;
}
