/*
 * fuzz_params.c - libFuzzer target for the web API's query parameters
 * (src/web/params.c), the time arguments behind from/to (time_arg_parse) and
 * the Host / Origin / Content-Type checks.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jobads/web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_params p;
	char why[400];
	int64_t secs;
	unsigned all = AP_RANGE | AP_FILTERS | AP_INTERVAL | AP_METRIC | AP_PAGE | AP_FORMAT;
	const int64_t now = 1767225600000LL;
	why[0] = '\0';
	if (api_params_parse((const char *)data, size, all, now, &p, why, sizeof(why)) == 0) {
		assert(p.f.from_s == INT64_MIN || p.f.to_s == INT64_MAX || p.f.from_s < p.f.to_s);
		assert(p.f.campaign_id >= 0 && p.f.publisher_id >= 0);
		assert(!p.f.industry || strlen(p.f.industry) < sizeof(p.industry));
		assert(!p.f.device || strlen(p.f.device) < sizeof(p.device));
		assert(p.limit >= 0 && p.limit <= API_PAGE_MAX);
		assert(p.offset >= 0 && p.offset <= API_OFFSET_MAX);
		assert(p.format == API_JSON || p.format == API_CSV);
	} else {
		assert(why[0]);
	}
	(void)time_arg_parse((const char *)data, size, now, &secs);
	/* the header checks take C strings: the input up to its first NUL */
	char *text = malloc(size + 1);
	const char *const allowed[] = {"dash.example.com", NULL};
	memcpy(text, data, size);
	text[size] = '\0';
	(void)web_host_allowed(text, "127.0.0.1", allowed);
	(void)web_origin_allowed(text, "127.0.0.1:8080", allowed);
	(void)web_origin_allowed("http://127.0.0.1:8080", text, allowed);
	(void)web_body_type_ok(text);
	free(text);
	return 0;
}
