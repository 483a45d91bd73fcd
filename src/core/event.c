/*
 * event.c - field table and validation of one tracking record. Decoders (NDJSON,
 * CSV, HTTP) only split a record into (name, value, kind) pairs; every rule of
 * design.md lives here once, so all inputs are judged alike.
 */
#include "jobads/event.h"

#include <stdio.h>
#include <string.h>

#include "jobads/util.h"
#include "jobads/banned.h"

static const char *const field_names[EVF__COUNT] = {
    "event_id",		 "ts",		"publisher_id", "publisher_name", "publisher_traffic",
    "publisher_quality", "bid",		"job_id",	"campaign_id",	  "industry",
    "location",		 "impressions", "clicks",	"apply_count",	  "cost",
    "quality_score",	 "device",	"hour",		"day_of_week",
};

#define REQUIRED_MASK                                                                              \
	((1u << EVF_TS) | (1u << EVF_PUBLISHER_ID) | (1u << EVF_PUBLISHER_NAME) |                  \
	 (1u << EVF_JOB_ID) | (1u << EVF_CAMPAIGN_ID) | (1u << EVF_INDUSTRY) |                     \
	 (1u << EVF_LOCATION) | (1u << EVF_IMPRESSIONS) | (1u << EVF_CLICKS) |                     \
	 (1u << EVF_APPLY_COUNT) | (1u << EVF_COST) | (1u << EVF_QUALITY_SCORE) |                  \
	 (1u << EVF_DEVICE))

const char *ev_field_name(enum ev_field f)
{
	return (unsigned)f < EVF__COUNT ? field_names[f] : "?";
}

int ev_field_lookup(const char *name, size_t n)
{
	for (int i = 0; i < EVF__COUNT; i++)
		if (strlen(field_names[i]) == n && memcmp(field_names[i], name, n) == 0)
			return i;
	return -1;
}

long ev_utf8_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	long count = 0;
	size_t i = 0;
	while (i < n) {
		unsigned c = p[i];
		size_t need;
		unsigned cp;
		if (c == 0)
			return -1;
		if (c < 0x80) {
			i++;
			count++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			need = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3;
			cp = c & 0x07;
		} else {
			return -1;
		}
		for (size_t k = 1; k <= need; k++) {
			if (i + k >= n || (p[i + k] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		/* overlong forms, surrogates and values past U+10FFFF are not UTF-8 */
		if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
		    (need == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		i += need + 1;
		count++;
	}
	return count;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ev_parse_uuid(const char *s, size_t n, char out[EV_UUID_LEN + 1])
{
	if (n != EV_UUID_LEN)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			out[i] = '-';
			continue;
		}
		int v = hexval(s[i]);
		if (v < 0)
			return -1;
		out[i] = "0123456789abcdef"[v];
	}
	out[EV_UUID_LEN] = '\0';
	return 0;
}

void ev_uuid_v4(char out[EV_UUID_LEN + 1], struct rng *rng)
{
	unsigned char b[16];
	if (rng) {
		uint64_t a = rng_next(rng), c = rng_next(rng);
		memcpy(b, &a, 8);
		memcpy(b + 8, &c, 8);
	} else {
		random_bytes(b, sizeof(b));
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = "0123456789abcdef"[b[i] >> 4];
		out[o++] = "0123456789abcdef"[b[i] & 15];
	}
	out[o] = '\0';
}

int ev_parse_cost(const char *s, size_t n, int64_t *micros, const char **why)
{
	/*
	 * Exact decimal arithmetic on the text: collect up to 19 significant digits
	 * and a decimal exponent, then scale to micros. No double is involved, so
	 * "0.1" is 100000 micros exactly.
	 */
	size_t i = 0;
	uint64_t mant = 0;
	int exp10 = 0, nd = 0, any = 0, dropped_nonzero = 0;
	*why = "not a decimal number";
	if (n == 0)
		return -1;
	if (s[0] == '-') {
		*why = "must be >= 0";
		for (size_t k = 1; k < n; k++)
			if (s[k] >= '1' && s[k] <= '9')
				return -1;
		i = 1; /* "-0" is zero */
	} else if (s[0] == '+') {
		i = 1;
	}
	*why = "not a decimal number";
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		any = 1;
		if (mant == 0 && s[i] == '0')
			continue;
		if (nd < 19) {
			mant = mant * 10 + (uint64_t)(s[i] - '0');
			nd++;
		} else {
			exp10++;
			dropped_nonzero |= s[i] != '0';
		}
	}
	if (i < n && s[i] == '.') {
		i++;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			any = 1;
			if (mant == 0 && s[i] == '0') {
				exp10--;
				continue;
			}
			if (nd < 19) {
				mant = mant * 10 + (uint64_t)(s[i] - '0');
				nd++;
				exp10--;
			} else {
				dropped_nonzero |= s[i] != '0';
			}
		}
	}
	if (!any)
		return -1;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		int64_t e;
		size_t st = ++i;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (parse_int64(s + st, i - st, -400, 400, &e))
			return -1;
		exp10 += (int)e;
	}
	if (i != n)
		return -1;
	(void)dropped_nonzero; /* digits past the 19th are below a micro here or out of range */
	/* value = mant * 10^exp10; micros = value * 10^6 */
	int scale = exp10 + 6;
	if (mant == 0) {
		*micros = 0;
		*why = NULL;
		return 0;
	}
	if (scale >= 0) {
		uint64_t v = mant;
		for (int k = 0; k < scale; k++) {
			if (v > (uint64_t)EV_COST_MAX_UNITS * 1000000ULL / 10) {
				*why = "out of range (at most 1000000)";
				return -1;
			}
			v *= 10;
		}
		if (v > (uint64_t)EV_COST_MAX_UNITS * 1000000ULL) {
			*why = "out of range (at most 1000000)";
			return -1;
		}
		*micros = (int64_t)v;
	} else {
		/*
		 * Drop -scale digits; round half up on the first dropped one, which is
		 * the digit at position -scale from the right (0 when mant is shorter).
		 */
		uint64_t v = mant, round_digit;
		int drop = -scale;
		for (int k = 0; k < drop - 1 && v > 0; k++)
			v /= 10;
		round_digit = v % 10;
		v /= 10;
		if (round_digit >= 5)
			v++;
		if (v > (uint64_t)EV_COST_MAX_UNITS * 1000000ULL) {
			*why = "out of range (at most 1000000)";
			return -1;
		}
		*micros = (int64_t)v;
	}
	*why = NULL;
	return 0;
}

void ev_derive(struct event *ev)
{
	ev->hour = (int8_t)ts_hour(ev->ts_ms);
	ev->day_of_week = (int8_t)ts_weekday(ev->ts_ms);
}

void ev_builder_begin(struct ev_builder *b)
{
	memset(b, 0, sizeof(*b));
	b->ev.bid = -1;
}

static int set_int(const char *v, size_t n, enum ev_kind kind, int64_t lo, int64_t hi, int64_t *out,
		   const char *name, char *why, size_t whylen)
{
	if (kind != EVK_NUMBER && kind != EVK_RAW) {
		snprintf(why, whylen, "%s: expected an integer, got a %s", name,
			 kind == EVK_STRING ? "string"
			 : kind == EVK_BOOL ? "boolean"
					    : "null");
		return -1;
	}
	int64_t x;
	if (parse_int64(v, n, INT64_MIN, INT64_MAX, &x)) {
		snprintf(why, whylen, "%s: not an integer: '%.*s'", name, (int)(n > 40 ? 40 : n),
			 v);
		return -1;
	}
	if (x < lo || x > hi) {
		if (lo == 0 && x < 0)
			snprintf(why, whylen, "%s: must be >= 0, got %lld", name, (long long)x);
		else
			snprintf(why, whylen, "%s: out of range %lld..%lld, got %lld", name,
				 (long long)lo, (long long)hi, (long long)x);
		return -1;
	}
	*out = x;
	return 0;
}

static int set_text(const char *v, size_t n, enum ev_kind kind, long maxlen, struct ev_str *out,
		    const char *name, char *why, size_t whylen)
{
	if (kind != EVK_STRING && kind != EVK_RAW) {
		snprintf(why, whylen, "%s: expected a string", name);
		return -1;
	}
	long len = ev_utf8_len(v, n);
	if (len < 0) {
		snprintf(why, whylen, "%s: not valid UTF-8 text", name);
		return -1;
	}
	if (len < 1 || len > maxlen) {
		snprintf(why, whylen, "%s: length must be 1..%ld characters, got %ld", name, maxlen,
			 len);
		return -1;
	}
	out->s = v;
	out->n = (uint32_t)n;
	return 0;
}

static int set_level(const char *v, size_t n, enum ev_kind kind, struct ev_str *out,
		     const char *name, char *why, size_t whylen)
{
	static const char *const lv[] = {"HIGH", "MED", "LOW"};
	if (kind == EVK_NULL || (kind == EVK_RAW && n == 0))
		return 0; /* optional */
	if (kind != EVK_STRING && kind != EVK_RAW) {
		snprintf(why, whylen, "%s: expected a string", name);
		return -1;
	}
	for (int i = 0; i < 3; i++)
		if (strlen(lv[i]) == n && memcmp(lv[i], v, n) == 0) {
			out->s = lv[i];
			out->n = (uint32_t)n;
			return 0;
		}
	snprintf(why, whylen, "%s: must be HIGH, MED or LOW, got '%.*s'", name,
		 (int)(n > 20 ? 20 : n), v);
	return -1;
}

int ev_builder_set(struct ev_builder *b, int field, const char *v, size_t n, enum ev_kind kind,
		   char *why, size_t whylen)
{
	struct event *ev = &b->ev;
	const char *name = ev_field_name((enum ev_field)field);
	int64_t x;

	if (field < 0 || field >= EVF__COUNT)
		return 0; /* unknown names are ignored, like extra CSV columns */
	if (b->seen & (1u << field)) {
		snprintf(why, whylen, "%s: given twice", name);
		return -1;
	}
	/* hour and day_of_week are always derived from ts */
	if (field == EVF_HOUR || field == EVF_DAY_OF_WEEK)
		return 0;
	/* null, or an empty CSV cell, is the same as absent */
	if (kind == EVK_NULL || (kind == EVK_RAW && n == 0))
		return 0;
	b->seen |= 1u << field;

	switch ((enum ev_field)field) {
	case EVF_EVENT_ID:
		if (kind != EVK_STRING && kind != EVK_RAW) {
			snprintf(why, whylen, "event_id: expected a UUID string");
			return -1;
		}
		if (ev_parse_uuid(v, n, ev->event_id)) {
			snprintf(why, whylen, "event_id: not a UUID: '%.*s'",
				 (int)(n > 40 ? 40 : n), v);
			return -1;
		}
		return 0;
	case EVF_TS: {
		const char *reason = NULL;
		if (kind == EVK_NUMBER ||
		    (kind == EVK_RAW && n > 0 && v[0] >= '0' && v[0] <= '9' &&
		     memchr(v, '-', n) == NULL && memchr(v, ':', n) == NULL)) {
			if (parse_int64(v, n, 0, INT64_MAX, &x)) {
				snprintf(why, whylen,
					 "ts: epoch milliseconds must be a whole number");
				return -1;
			}
			ev->ts_ms = x;
			return 0;
		}
		if (kind != EVK_STRING && kind != EVK_RAW) {
			snprintf(why, whylen, "ts: expected a string or epoch milliseconds");
			return -1;
		}
		if (ts_parse_iso(v, n, &ev->ts_ms, &reason)) {
			snprintf(why, whylen, "ts: %s: '%.*s'", reason, (int)(n > 40 ? 40 : n), v);
			return -1;
		}
		return 0;
	}
	case EVF_PUBLISHER_ID:
		if (set_int(v, n, kind, 1, INT32_MAX, &x, name, why, whylen))
			return -1;
		ev->publisher_id = (int32_t)x;
		return 0;
	case EVF_JOB_ID:
		if (set_int(v, n, kind, 1, INT32_MAX, &x, name, why, whylen))
			return -1;
		ev->job_id = (int32_t)x;
		return 0;
	case EVF_CAMPAIGN_ID:
		if (set_int(v, n, kind, 1, INT32_MAX, &x, name, why, whylen))
			return -1;
		ev->campaign_id = (int32_t)x;
		return 0;
	case EVF_BID:
		return set_int(v, n, kind, 0, EV_BID_MAX, &ev->bid, name, why, whylen);
	case EVF_IMPRESSIONS:
		return set_int(v, n, kind, 0, EV_COUNT_MAX, &ev->impressions, name, why, whylen);
	case EVF_CLICKS:
		return set_int(v, n, kind, 0, EV_COUNT_MAX, &ev->clicks, name, why, whylen);
	case EVF_APPLY_COUNT:
		return set_int(v, n, kind, 0, EV_COUNT_MAX, &ev->apply_count, name, why, whylen);
	case EVF_QUALITY_SCORE:
		if (set_int(v, n, kind, 0, 100, &x, name, why, whylen))
			return -1;
		ev->quality_score = (int32_t)x;
		return 0;
	case EVF_COST: {
		const char *reason;
		if (kind != EVK_NUMBER && kind != EVK_RAW && kind != EVK_STRING) {
			snprintf(why, whylen, "cost: expected a decimal number");
			return -1;
		}
		if (ev_parse_cost(v, n, &ev->cost_micros, &reason)) {
			snprintf(why, whylen, "cost: %s: '%.*s'", reason, (int)(n > 40 ? 40 : n),
				 v);
			return -1;
		}
		return 0;
	}
	case EVF_PUBLISHER_NAME:
		return set_text(v, n, kind, 200, &ev->publisher_name, name, why, whylen);
	case EVF_INDUSTRY:
		return set_text(v, n, kind, 100, &ev->industry, name, why, whylen);
	case EVF_LOCATION:
		return set_text(v, n, kind, 100, &ev->location, name, why, whylen);
	case EVF_DEVICE:
		return set_text(v, n, kind, 50, &ev->device, name, why, whylen);
	case EVF_PUBLISHER_TRAFFIC:
		return set_level(v, n, kind, &ev->publisher_traffic, name, why, whylen);
	case EVF_PUBLISHER_QUALITY:
		return set_level(v, n, kind, &ev->publisher_quality, name, why, whylen);
	case EVF_HOUR:
	case EVF_DAY_OF_WEEK:
	case EVF__COUNT:
		break;
	}
	return 0;
}

int ev_builder_finish(struct ev_builder *b, int64_t now_ms, struct rng *rng, char *why,
		      size_t whylen)
{
	struct event *ev = &b->ev;
	uint32_t missing = REQUIRED_MASK & ~b->seen;
	if (missing) {
		for (int i = 0; i < EVF__COUNT; i++)
			if (missing & (1u << i)) {
				snprintf(why, whylen, "%s: missing", field_names[i]);
				return -1;
			}
	}
	if (ev->ts_ms < EV_MIN_TS_MS) {
		snprintf(why, whylen, "ts: before 2000-01-01");
		return -1;
	}
	if (ev->ts_ms > now_ms + EV_FUTURE_MS) {
		char buf[40];
		snprintf(why, whylen, "ts: more than 1 h in the future (%s)",
			 ts_format_iso(ev->ts_ms, buf, sizeof(buf)));
		return -1;
	}
	if (!(b->seen & (1u << EVF_EVENT_ID)))
		ev_uuid_v4(ev->event_id, rng);
	ev_derive(ev);
	return 0;
}
