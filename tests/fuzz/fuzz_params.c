/*
 * fuzz_params.c - libFuzzer target for the web API's query parameters
 * (src/web/params.c) and the time arguments behind from/to (time_arg_parse).
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "jobads/web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_params p;
	char why[400];
	int64_t secs;
	unsigned all = AP_RANGE | AP_FILTERS | AP_INTERVAL | AP_METRIC | AP_LIMIT;
	const int64_t now = 1767225600000LL;
	why[0] = '\0';
	if (api_params_parse((const char *)data, size, all, now, &p, why, sizeof(why)) == 0) {
		assert(p.f.from_s == INT64_MIN || p.f.to_s == INT64_MAX || p.f.from_s < p.f.to_s);
		assert(p.f.campaign_id >= 0 && p.f.publisher_id >= 0);
		assert(!p.f.industry || strlen(p.f.industry) < sizeof(p.industry));
		assert(!p.f.device || strlen(p.f.device) < sizeof(p.device));
		assert(p.limit >= 0 && p.limit <= 1000);
	} else {
		assert(why[0]);
	}
	(void)time_arg_parse((const char *)data, size, now, &secs);
	return 0;
}
