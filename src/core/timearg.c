/*
 * timearg.c - the time arguments people type: `report --from`, the web API's
 * from/to. One parser, so that the terminal and the API read times alike.
 */
#include <stdint.h>
#include <string.h>

#include "jobads/util.h"

#include "jobads/banned.h"

/* Relative offsets beyond this are surely typos, and keep the arithmetic in range. */
#define TIMEARG_MAX_OFFSET_S (200LL * 366 * 86400)

static int bare_date(const char *s, size_t n, int64_t *secs)
{
	int64_t y, m, d;
	if (n != 10 || s[4] != '-' || s[7] != '-' || parse_int64(s, 4, 0, 9999, &y) ||
	    parse_int64(s + 5, 2, 1, 12, &m) || parse_int64(s + 8, 2, 1, 31, &d) ||
	    !civil_date_valid(y, m, d))
		return -1; /* 2024-02-31 is no date, not 2024-03-02 */
	*secs = days_from_civil(y, (unsigned)m, (unsigned)d) * 86400;
	return 0;
}

int time_arg_parse(const char *s, size_t n, int64_t now_ms, int64_t *secs)
{
	char buf[64];
	const char *why;
	int64_t ms, d;

	if (n == 0 || n >= sizeof(buf) || memchr(s, '\0', n))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (n >= 3 && memcmp(buf, "now", 3) == 0) {
		if (n == 3) {
			*secs = now_ms / 1000;
			return 0;
		}
		if ((buf[3] == '-' || buf[3] == '+') && parse_duration(buf + 4, &d) == 0 &&
		    d <= TIMEARG_MAX_OFFSET_S) {
			*secs = now_ms / 1000 + (buf[3] == '-' ? -d : d);
			return 0;
		}
		return -1;
	}
	if (parse_int64(buf, n, 0, INT64_MAX, &ms) == 0) {
		*secs = ms / 1000;
		return 0;
	}
	if (ts_parse_iso(buf, n, &ms, &why) == 0) {
		*secs = ms / 1000;
		return 0;
	}
	/* a bare date means its midnight UTC */
	return bare_date(buf, n, secs);
}
