/*
 * tz.c - the reporting time zone on GLib's GTimeZone. GLib reads the TZif files
 * of Debian's tzdata with their POSIX-TZ footer, so dates past the last listed
 * transition (2037 and later) follow the zone's rule; checked against Python's
 * zoneinfo for Europe/Berlin, America/New_York and Australia/Adelaide in 2027
 * and 2099 (docs/architecture.md). GLib has no call listing a zone's
 * transitions, so tz_open finds them once by stepping through 1900..2100 a day
 * at a time and narrowing each change down to the second; every lookup after
 * that is a binary search of the spans, without GLib.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

#include "jobads/tz.h"

#include "jobads/banned.h"

#define SCAN_FROM_S (-INT64_C(2208988800)) /* 1900-01-01 */
#define SCAN_TO_S   INT64_C(4102444800)	   /* 2100-01-01 */
#define SCAN_STEP_S INT64_C(86400)

struct tz {
	char *name;
	struct tz_span *spans;
	size_t n;
};

static int32_t glib_offset(GTimeZone *g, int64_t t)
{
	return g_time_zone_get_offset(g, g_time_zone_find_interval(g, G_TIME_TYPE_UNIVERSAL, t));
}

/* IANA names only: the file must be under the tzdata directory, so that a path
 * or a POSIX rule ("EST5EDT,M3.2.0") that GLib would also take is refused. */
static int iana_name_ok(const char *name)
{
	struct stat st;
	char path[512];
	const char *dir = getenv("TZDIR");
	size_t n = strlen(name);
	if (n == 0 || n > 200 || name[0] == '/' || strstr(name, ".."))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!(g_ascii_isalnum(c) || c == '/' || c == '_' || c == '-' || c == '+'))
			return 0;
	}
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int push(struct tz *z, size_t *cap, int64_t from, int32_t off)
{
	if (z->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct tz_span *p = realloc(z->spans, nc * sizeof(*p));
		if (!p)
			return -1;
		z->spans = p;
		*cap = nc;
	}
	if (z->n)
		z->spans[z->n - 1].to_s = from;
	z->spans[z->n].from_s = from;
	z->spans[z->n].to_s = TZ_MAX_S;
	z->spans[z->n].offset_s = off;
	z->n++;
	return 0;
}

enum jrc tz_open(const char *name, struct tz **out, struct jerr *err)
{
	GTimeZone *g;
	struct tz *z;
	size_t cap = 0;
	*out = NULL;
	if (!iana_name_ok(name) || !(g = g_time_zone_new_identifier(name))) {
		jerr_set(err,
			 "time zone %.200s: not a zone of the system's tzdata (an IANA name such"
			 " as UTC or Asia/Ho_Chi_Minh)",
			 name);
		return J_ERROR;
	}
	z = calloc(1, sizeof(*z));
	if (!z || !(z->name = strdup(name)))
		goto nomem;
	int32_t off = glib_offset(g, SCAN_FROM_S);
	if (push(z, &cap, TZ_MIN_S, off))
		goto nomem;
	for (int64_t t = SCAN_FROM_S; t < SCAN_TO_S; t += SCAN_STEP_S) {
		int32_t next = glib_offset(g, t + SCAN_STEP_S);
		if (next == off)
			continue;
		/* the first second of [t, t + step] whose offset differs */
		int64_t lo = t, hi = t + SCAN_STEP_S;
		while (hi - lo > 1) {
			int64_t mid = lo + (hi - lo) / 2;
			if (glib_offset(g, mid) == off)
				lo = mid;
			else
				hi = mid;
		}
		if (push(z, &cap, hi, next))
			goto nomem;
		off = next;
	}
	g_time_zone_unref(g);
	*out = z;
	return J_OK;
nomem:
	g_time_zone_unref(g);
	tz_close(z);
	jerr_set(err, "time zone %.200s: out of memory", name);
	return J_ERROR;
}

void tz_close(struct tz *z)
{
	if (!z)
		return;
	free(z->name);
	free(z->spans);
	free(z);
}

const char *tz_name(const struct tz *z)
{
	return z->name;
}

int tz_is_utc(const struct tz *z)
{
	return z->n == 1 && z->spans[0].offset_s == 0;
}

const struct tz_span *tz_spans(const struct tz *z, size_t *n)
{
	*n = z->n;
	return z->spans;
}

static size_t find(const struct tz *z, int64_t t, size_t *hint)
{
	size_t h = hint ? *hint : 0;
	if (h < z->n && z->spans[h].from_s <= t && t < z->spans[h].to_s)
		return h;
	size_t lo = 0, hi = z->n; /* the last span with from_s <= t */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->spans[mid].from_s <= t)
			lo = mid;
		else
			hi = mid;
	}
	if (hint)
		*hint = lo;
	return lo;
}

int32_t tz_offset_at(const struct tz *z, int64_t t, size_t *hint)
{
	return z->spans[find(z, t, hint)].offset_s;
}

int64_t tz_hour_start(const struct tz *z, int64_t t, size_t *hint)
{
	int64_t off = tz_offset_at(z, t, hint);
	return floor_div(t + off, 3600) * 3600 - off;
}

int64_t tz_day_start(const struct tz *z, int64_t local_day)
{
	/* In each span the local clock runs with UTC, so the span's first instant
	 * at or past local midnight is max(from_s, local_day - offset); the day starts
	 * at the least of those over the spans near it (two days either side reach
	 * past any offset). A span that holds none does not count. */
	size_t i = find(z, local_day - 86400 * 2, NULL);
	int64_t ans = TZ_MAX_S;
	for (; i < z->n && z->spans[i].from_s <= local_day + 86400 * 2; i++) {
		const struct tz_span *s = &z->spans[i];
		int64_t u = local_day - s->offset_s;
		if (u < s->from_s)
			u = s->from_s;
		if (u < s->to_s && u < ans)
			ans = u;
	}
	return ans;
}
