/*
 * cron.c - parsing and matching five-field cron expressions (cron.h).
 * Written here because no Debian library offers a cron parser for C.
 */
#include "jobads/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "jobads/banned.h"

struct field_def {
	const char *name;
	int lo, hi;
	const char *const *names; /* names[i] is value lo + i, or NULL */
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
					  "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const struct field_def fields[5] = {
    {"minute", 0, 59, NULL},	      {"hour", 0, 23, NULL},
    {"day of month", 1, 31, NULL},    {"month", 1, 12, month_names},
    {"day of week", 0, 7, dow_names}, /* 7 is Sunday too */
};

/* A number or a name at *p; advances *p. Returns 0, or -1 with err set. */
static int parse_value(const char **p, const struct field_def *f, int idx, int *out,
		       struct jerr *err)
{
	const char *s = *p;
	if (isdigit((unsigned char)*s)) {
		long v = 0;
		while (isdigit((unsigned char)*s) && v < 1000)
			v = v * 10 + (*s++ - '0');
		if (v < f->lo || v > f->hi) {
			jerr_set(err, "field %d (%s): %ld is out of range %d-%d", idx + 1, f->name,
				 v, f->lo, f->hi);
			return -1;
		}
		*out = (int)v;
		*p = s;
		return 0;
	}
	if (f->names && isalpha((unsigned char)s[0])) {
		int n = f->names == dow_names ? 7 : 12;
		for (int i = 0; i < n; i++)
			if (strncasecmp(s, f->names[i], 3) == 0 && !isalpha((unsigned char)s[3])) {
				*out = f->names == dow_names ? i : i + 1;
				*p = s + 3;
				return 0;
			}
	}
	jerr_set(err, "field %d (%s): '%.*s' is not a %s", idx + 1, f->name, (int)strcspn(s, ",-/"),
		 s, f->names ? "number or a name" : "number");
	return -1;
}

/* One field: a comma list of '*', 'v', 'a-b', each with an optional '/step'. */
static int parse_field(const char *s, size_t n, int idx, uint64_t *bits, int *any, struct jerr *err)
{
	const struct field_def *f = &fields[idx];
	char buf[128];
	if (n == 0 || n >= sizeof(buf)) {
		jerr_set(err, "field %d (%s) is %s", idx + 1, f->name, n ? "too long" : "empty");
		return -1;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	*bits = 0;
	*any = 0;
	const char *p = buf;
	for (;;) {
		int lo, hi, step = 1, star = 0;
		if (*p == '*') {
			lo = f->lo;
			hi = f->hi == 7 ? 6 : f->hi;
			star = 1;
			p++;
		} else {
			if (parse_value(&p, f, idx, &lo, err))
				return -1;
			hi = lo;
			if (*p == '-') {
				p++;
				if (parse_value(&p, f, idx, &hi, err))
					return -1;
				if (hi < lo) {
					jerr_set(err, "field %d (%s): range %d-%d goes backwards",
						 idx + 1, f->name, lo, hi);
					return -1;
				}
			}
		}
		if (*p == '/') {
			long v = 0;
			p++;
			if (!isdigit((unsigned char)*p)) {
				jerr_set(err, "field %d (%s): a step wants a number after '/'",
					 idx + 1, f->name);
				return -1;
			}
			while (isdigit((unsigned char)*p) && v < 1000)
				v = v * 10 + (*p++ - '0');
			if (v < 1 || v > f->hi) {
				jerr_set(err, "field %d (%s): step %ld is out of range 1-%d",
					 idx + 1, f->name, v, f->hi);
				return -1;
			}
			step = (int)v;
			if (!star && hi == lo) /* "5/15": from 5 to the end */
				hi = f->hi;
		}
		if (star)
			*any = 1;
		for (int v = lo; v <= hi; v += step)
			*bits |= 1ULL << (idx == 4 && v == 7 ? 0 : v);
		if (*p == '\0')
			return 0;
		if (*p != ',') {
			jerr_set(err, "field %d (%s): unexpected '%c' in '%s'", idx + 1, f->name,
				 *p, buf);
			return -1;
		}
		p++;
	}
}

static const struct {
	const char *name, *expr;
} macros[] = {
    {"@hourly", "0 * * * *"},	{"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},	{"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
};

int cron_parse(const char *expr, struct cron *c, struct jerr *err)
{
	const char *p = expr;
	uint64_t bits[5];
	int any[5], n = 0;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '@') {
		size_t len = strcspn(p, " \t");
		for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
			if (strlen(macros[i].name) == len && strncmp(p, macros[i].name, len) == 0)
				return cron_parse(macros[i].expr, c, err);
		jerr_set(err,
			 "unknown shorthand '%.*s' (want @hourly, @daily, @weekly, @monthly"
			 " or @yearly)",
			 (int)len, p);
		return -1;
	}
	while (*p) {
		size_t len = strcspn(p, " \t");
		if (n == 5) {
			jerr_set(err, "more than five fields (minute hour day-of-month month"
				      " day-of-week)");
			return -1;
		}
		if (parse_field(p, len, n, &bits[n], &any[n], err))
			return -1;
		n++;
		p += len;
		while (isspace((unsigned char)*p))
			p++;
	}
	if (n != 5) {
		jerr_set(err, "%d field%s, want five (minute hour day-of-month month day-of-week)",
			 n, n == 1 ? "" : "s");
		return -1;
	}
	c->minute = bits[0];
	c->hour = (uint32_t)bits[1];
	c->dom = (uint32_t)bits[2];
	c->month = (uint32_t)bits[3];
	c->dow = (uint32_t)bits[4];
	c->dom_any = any[2];
	c->dow_any = any[4];
	return 0;
}

static int day_matches(const struct cron *c, unsigned d, int wday)
{
	int dom = (c->dom >> d) & 1, dow = (c->dow >> wday) & 1;
	if (c->dom_any || c->dow_any)
		return dom && dow;
	return dom || dow;
}

int64_t cron_next(const struct cron *c, int64_t after_s)
{
	if (after_s < 0)
		after_s = -1;
	int64_t t = (after_s + 1 + 59) / 60 * 60; /* the first whole minute after after_s */
	int64_t limit = t + (int64_t)5 * 366 * 86400;
	while (t < limit) {
		int64_t days = t / 86400;
		int64_t secs = t - days * 86400;
		int64_t y;
		unsigned m, d;
		civil_from_days(days, &y, &m, &d);
		int wday = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
		int hour = (int)(secs / 3600), minute = (int)(secs % 3600 / 60);
		if (!((c->month >> m) & 1)) { /* first day of next month */
			unsigned nm = m == 12 ? 1 : m + 1;
			int64_t ny = m == 12 ? y + 1 : y;
			t = days_from_civil(ny, nm, 1) * 86400;
			continue;
		}
		if (!day_matches(c, d, wday)) {
			t = (days + 1) * 86400;
			continue;
		}
		if (!((c->hour >> hour) & 1)) {
			t = days * 86400 + (int64_t)(hour + 1) * 3600;
			continue;
		}
		if (!((c->minute >> minute) & 1)) {
			t += 60;
			continue;
		}
		return t;
	}
	return -1;
}
